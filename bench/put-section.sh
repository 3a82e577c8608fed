#!/bin/bash
# bench/put-section.sh NAME SECTION OUT — put SECTION (a file, or - for standard input) into
# OUT (bench/RESULTS.md): in place of what stands between "<!-- NAME: generated" and
# "<!-- NAME: end -->", or at the end if OUT has no such section yet. Each bench/run-*.sh
# that writes its own section of RESULTS.md calls this; SECTION carries both markers.
set -euo pipefail
[ $# = 3 ] || { echo "usage: $0 NAME SECTION OUT" >&2; exit 2; }
name=$1 out=$3
section=$(cat "$2")
touch "$out"
awk -v section="$section" -v start="<!-- $name: generated" -v end="<!-- $name: end -->" '
  index($0, start) == 1 { skip = 1; if (!done) print section; done = 1; next }
  skip && index($0, end) == 1 { skip = 0; next }
  !skip { print }
  END { if (!done) { print ""; print section } }' "$out" >"$out.tmp" && mv "$out.tmp" "$out"
