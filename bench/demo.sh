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
# The closing text is built from that last line, so it says what this run's table shows.
f() { tail -n 1 "$W/stats" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
trapped=$(f trapped) served=$(f served) filled=$(f filled) passed=$(f passed) negative=$(f negative)
files=$(f files) bytes=$(f bytes) fsops=$(f fsops) kernel=$(f kernel)
echo
echo "What the table shows: python3 made $trapped look-ups that collrun's seccomp filter"
echo "stopped (open, stat, access, readlink). collrun answered $served of them from its"
echo "cache (\"hits\": asked before by this job) and $filled by looking the path up itself, once,"
echo "and keeping the answer (\"fills\"); $passed went to the kernel. Of those, ${kernel:-0} were opens"
echo "of files the cache had walked to on a local file system: the kernel opened the file"
echo "itself (its page cache already is the node's copy); the rest were paths it does not"
echo "cache (/proc, /dev, /tmp...) and opens for writing. $negative answers were errors such as"
echo "ENOENT, which are cached too."
if [ "$bytes" != 0 ]; then
  echo "$files files were served from $bytes bytes of in-memory copies (network or FUSE file"
  echo "systems, or --data=memfd)."
fi
served_total=$((served + filled))
if [ "$fsops" -ge "$served_total" ]; then
  echo "To fill its cache collrun made $fsops file-system operations, more than the $served_total"
  echo "look-ups it answered: one process alone gains nothing. A job gains when many of its"
  echo "processes make the same look-ups, which then cost one fill and many hits (see"
  echo "make bench and bench/RESULTS.md)."
else
  echo "To fill its cache collrun made $fsops file-system operations for the $served_total"
  echo "look-ups it answered; a job with many processes making the same look-ups gains"
  echo "more, since each costs one fill and then only hits (see make bench)."
fi
