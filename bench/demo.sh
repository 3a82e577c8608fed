#!/bin/bash
# bench/demo.sh — what `make demo` runs: one python3 start-up natively and under collrun,
# shows the outputs are identical and prints collrun's table of served look-ups.
# Usage: bench/demo.sh [PATH-TO-COLLRUN]   (default: build/collrun next to this folder)
set -eu
COLLRUN=${1:-$(dirname "$0")/../build/collrun}
PY=/usr/bin/python3
MODS="json, email, http.client"
if "$PY" -c 'import numpy' 2>/dev/null; then MODS="$MODS, numpy"; else echo "(numpy not installed: stdlib imports only)"; fi
PROG="import sys, $MODS
print('imported:', '$MODS', '| modules loaded:', len(sys.modules))"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

echo "\$ $PY -c \"import $MODS; ...\"     # natively"
"$PY" -c "$PROG" | tee "$W/native"
echo "\$ collrun --stats -- $PY -c \"import $MODS; ...\""
"$COLLRUN" --stats-file="$W/stats" -- "$PY" -c "$PROG" | tee "$W/collrun"
if cmp -s "$W/native" "$W/collrun"; then echo "=> identical output"; else echo "=> OUTPUT DIFFERS"; exit 1; fi
echo
sed '$d' "$W/stats"     # the table; its last line is the machine-readable copy
cat <<'TXT'

collrun ran python3 under a seccomp user-notify filter: every open/stat/access/readlink
stopped in the kernel and collrun answered it. "fills" read a file or name from disk once;
"hits" were answered from collrun's memory (opens get a descriptor to a sealed in-memory
copy); "passed" went to the kernel unchanged (/proc, /dev, /tmp, writes...).
TXT
