#!/bin/bash
# bench/run-backtrace.sh — the cost of one stack walk at a seccomp stop (bench/backtrace.c):
# bt_collect cold / in a new process / cached, against libunwind's _UPT accessors, for the
# dynamic and the static probe. Prints the numbers; writes nothing else.
# Env: BUILD (default ./build), ROUNDS (walks per cached measurement; 200).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build} ROUNDS=${ROUNDS:-200}
make -s -C "$SRC" BUILD="$BUILD" "$BUILD/bench/backtrace" >&2
for h in bt_chain bt_chain_static; do
  echo "== $h"
  "$BUILD/bench/backtrace" "$BUILD/tests/helpers/$h" "$ROUNDS"
done
