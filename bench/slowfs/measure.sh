#!/bin/bash
# measure.sh WORKLOAD [DELAY_US] — mount slowfs over a genlibs tree (make workload) and print
# the slowfs operation counts and wall time of driver.py: natively once and twice, and under
# collrun --cache=MNT once and with --rerun (a second python in the same job).
# Env: BUILD (default build/), COLLRUN (default $BUILD/collrun), SLOWFS (see mount.sh).
set -u
[ $# -ge 1 ] || { echo "usage: $0 WORKLOAD [DELAY_US]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${BUILD:-$here/../../build}" && pwd) wl=$(cd "$1" && pwd) delay=${2:-1000}
COLLRUN=${COLLRUN:-$BUILD/collrun}
mnt=$BUILD/bench/slowfs-mnt out=$BUILD/bench/slowfs-measure
mkdir -p "$out"
"$here/mount.sh" "$wl" "$mnt" "$delay" || exit $?
trap '"$here/umount.sh" "$mnt"' EXIT
field() { tr ' ' '\n' <"$mnt/.slowfs-stats" | sed -n "s/^$1=//p"; }
row() {   # row LABEL CMD... — reset the counters, run CMD, print one line of counts
  local t0 t1
  : >"$mnt/.slowfs-stats"
  t0=$(date +%s.%N); "${@:2}" >"$out/last.out" 2>"$out/last.err" || { echo "$1: failed"; cat "$out/last.err"; }
  t1=$(date +%s.%N)
  printf '%-16s %7s %7s %7s %6s %6s %7s %7s %7s %6.2f s  %s\n' "$1" "$(field lookup)" "$(field enoent)" \
    "$(field getattr)" "$(field open)" "$(field read)" "$(field readdir)" "$(field total)" \
    "$(($(field bytes) / 1048576))" \
    "$(awk "BEGIN{print $t1 - $t0}")" "$(head -1 "$out/last.out" | cut -c1-25)"
}
twice() { "$@" && "$@"; }
echo "slowfs delay ${delay} µs over $wl ($(du -sh "$wl" | cut -f1), $(find "$wl" -type f | wc -l) files)"
printf '%-16s %7s %7s %7s %6s %6s %7s %7s %7s %8s\n' run lookup enoent getattr open read readdir total MiB time
row "native x1" /usr/bin/python3 "$mnt/driver.py"
row "native x2" twice /usr/bin/python3 "$mnt/driver.py"
row "native --rerun" /usr/bin/python3 "$mnt/driver.py" --rerun
row "collrun x1" "$COLLRUN" --cache="$mnt" --stats-file="$out/cr1" -- /usr/bin/python3 "$mnt/driver.py"
row "collrun --rerun" "$COLLRUN" --cache="$mnt" --stats-file="$out/cr2" -- /usr/bin/python3 "$mnt/driver.py" --rerun
echo "collrun x1:      $(tail -1 "$out/cr1")"
echo "collrun --rerun: $(tail -1 "$out/cr2")"
