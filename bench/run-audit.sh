#!/bin/bash
# bench/run-audit.sh — what --audit costs (issue 13): N openat+close of a cached file (bench/micro)
# natively, under strace -f, collrun, collrun --audit=/dev/null (text and jsonl), each REPS
# times in separate processes (median), and the ratios against native measured in this run.
# Env: COLLRUN, BUILD (default ./build), N (100000), REPS (3). Prints a Markdown table.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
COLLRUN=${COLLRUN:-$BUILD/collrun}
N=${N:-100000} REPS=${REPS:-3}
MICRO=$BUILD/bench/micro
[ -x "$COLLRUN" ] && [ -x "$MICRO" ] || make -C "$SRC" --no-print-directory BUILD="$BUILD" "$COLLRUN" "$MICRO"
W=$BUILD/bench/audit; rm -rf "$W"; mkdir -p "$W"   # not /tmp: collrun passes /tmp
FILE=$W/cached.txt; printf 'cached\n' >"$FILE"
# micro NAME REPS CMD... — median openat_close_us of REPS runs of micro under CMD
micro() {
	local name=$1 reps=$2 i; shift 2
	for ((i = 0; i < reps; i++)); do
		"$@" "$MICRO" -n "$N" -r 1 "$FILE" "$W/missing" | sed -n 's/.*openat_close_us=\([0-9.]*\).*/\1/p'
	done | sort -g | awk -v n="$name" '{ v[NR] = $1 } END { printf "%s %s\n", n, v[int((NR + 1) / 2)] }'
}
{
	micro native "$REPS"
	micro "strace -f" 1 strace -f -qq -e trace=openat -o /dev/null
	micro collrun "$REPS" "$COLLRUN" -c "$W" --
	micro "collrun --audit (text)" "$REPS" "$COLLRUN" -c "$W" --audit=/dev/null --
	micro "collrun --audit (jsonl)" "$REPS" "$COLLRUN" -c "$W" --audit=/dev/null --audit-format=jsonl --
} >"$W/results.txt"
awk 'NR == 1 { base = $NF } { t = $NF; $NF = ""; sub(/ $/, ""); rows[NR] = sprintf("| %s | %.2f | %.1fx |", $0, t, t / base) }
     END { print "| mode | openat+close µs | vs native |"; print "|---|---|---|"; for (i = 1; i <= NR; i++) print rows[i] }' "$W/results.txt"
