#!/usr/bin/env bash
# slowfs.sh — bench/slowfs (FUSE mirror that counts operations) and bench/genlibs (library-
# heavy python workload): the mirror is byte-identical, each operation type is counted again
# on every repeat (kernel caches off), counts are exact under concurrency, the control file
# resets and never counts itself, the genlibs driver runs from the mount, and under
# collrun --cache=MNT a file read twice in one job reaches slowfs once.
# SKIPs (loudly) without /dev/fuse, fusermount3 or libfuse3-dev.
B=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
fusermount3 -uz "$B/tests/integration/slowfs/mnt" 2>/dev/null   # left by a killed run
. "$(dirname "$0")/lib.sh"
[ -c /dev/fuse ] || { skip all "no /dev/fuse on this machine"; finish; }
command -v fusermount3 >/dev/null || { skip all "no fusermount3 (apt-get install fuse3)"; finish; }
pkg-config --exists fuse3 2>/dev/null || { skip all "no libfuse3 (apt-get install libfuse3-dev pkg-config)"; finish; }
export SLOWFS=$S/bin/slowfs
make -s -C "$SRC/bench/slowfs" OUT="$S/bin" >"$S/build.log" 2>&1 || { fail build "$(tail -3 "$S/build.log")"; finish; }

# The tree to mirror: nested folders, a symlink, an empty, a big and an executable file,
# and a small genlibs workload (shared libraries that ld.so maps from the mount).
D=$S/src M=$S/mnt
mkdir -p "$D/d/e" "$D/empty-dir"
printf 'hello\n' >"$D/a"; : >"$D/d/empty"; ln -s ../a "$D/d/link"; cp /bin/true "$D/d/exe"
head -c 300000 /dev/zero | tr '\0' 'z' >"$D/d/e/big"
GL=1; [ -f "$(/usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ] ||
  { GL=0; skip genlibs "no Python.h (apt-get install python3-dev): genlibs checks not run"; }
if [ $GL = 1 ]; then
  /usr/bin/python3 "$SRC/bench/genlibs/genlibs.py" --out "$D/wl" --gen "$S/wl.gen" -K 3 -M 2 --funcs 40 --body 3 \
    >"$S/genlibs.log" 2>&1 && make -s -C "$S/wl.gen" -j2 >>"$S/genlibs.log" 2>&1 ||
    { fail genlibs-build "$(tail -3 "$S/genlibs.log")"; finish; }
fi

"$SRC/bench/slowfs/mount.sh" "$D" "$M" 100 >"$S/mount.log" 2>&1; rc=$?
[ $rc = 77 ] && { skip all "$(cat "$S/mount.log")"; finish; }
[ $rc = 0 ] || { fail mount "mount.sh exited $rc: $(tail -2 "$S/mount.log")"; finish; }
trap '"$SRC/bench/slowfs/umount.sh" "$M" || fusermount3 -uz "$M"' EXIT

C=$M/.slowfs-stats
field() { tr ' ' '\n' <"$C" | sed -n "s/^$1=//p"; }
reset() { : >"$C"; }

if diff -r --no-dereference "$D" "$M" >"$S/diff.out" 2>&1; then pass mirror-identical
else fail mirror-identical "diff -r: $(head -3 "$S/diff.out")"; fi

reset; a=$(cat "$C"); b=$(cat "$C")
if [ "$a" = "$b" ] && [ "$(field total)" = 0 ] && grep -q '^lookup=0 .*total=0 ' "$C"; then pass reset-and-uncounted
else fail reset-and-uncounted "after reset and two reads: '$b'"; fi
reset; cat "$D/a" >/dev/null; cat "$M/a" >/dev/null; echo x >"$C"
[ "$(field total)" = 0 ] && pass reset-by-write || fail reset-by-write "$(cat "$C")"

# op FIELD CMD — CMD run once makes FIELD > 0, run again makes it grow (nothing cached).
op() {
  local f=$1 v1 v2; shift; reset
  "$@" >/dev/null 2>&1; v1=$(field "$f"); "$@" >/dev/null 2>&1; v2=$(field "$f")
  if [ "${v1:-0}" -gt 0 ] && [ "${v2:-0}" -gt "$v1" ]; then pass "count-$f"
  else fail "count-$f" "'$*' once: $f=$v1, twice: $f=$v2"; fi
}
op lookup stat "$M/d/e/big"
op enoent test -e "$M/d/missing"
op getattr stat "$M/a"
op open cat "$M/a"
op read cat "$M/d/e/big"
op bytes cat "$M/d/e/big"
op release cat "$M/a"
op opendir ls "$M/d"
op readdir ls "$M/d"
op releasedir ls "$M/d"
op readlink readlink "$M/d/link"
op access /usr/bin/python3 -c "import os,sys; sys.exit(not os.access('$M/d/exe', os.X_OK))"
op statfs stat -f "$M"

reset                                      # 4 writers in parallel: atomic counters, exact
for _ in 1 2 3 4; do (for _ in $(seq 25); do cat "$M/a"; done >/dev/null) & done; wait
[ "$(field open)" = 100 ] && [ "$(field release)" = 100 ] && pass concurrent-exact ||
  fail concurrent-exact "100 cats in 4 processes: $(cat "$C")"

# ld.so maps the workload's libraries from the mount: same checksum as from the source.
genlibs_native() {
  /usr/bin/python3 "$D/wl/driver.py" >"$S/drv.src" 2>&1
  reset; /usr/bin/python3 "$M/wl/driver.py" >"$S/drv.mnt" 2>&1; o1=$(field open)
  /usr/bin/python3 "$M/wl/driver.py" >/dev/null 2>&1; o2=$(field open)
  if grep -q '^genlibs checksum=' "$S/drv.src" && cmp -s "$S/drv.src" "$S/drv.mnt"; then pass genlibs-from-mount
  else fail genlibs-from-mount "source: $(head -1 "$S/drv.src") mount: $(head -1 "$S/drv.mnt")"; fi
  [ "${o1:-0}" -gt 0 ] && [ "$o2" = $((2 * o1)) ] && pass genlibs-twice-native ||
    fail genlibs-twice-native "opens after one run $o1, after two $o2 (want twice)"
}
[ $GL = 1 ] && genlibs_native

# Under collrun --cache=MNT the second read of a file in the same job reaches slowfs no more.
"$COLLRUN" -- /bin/true >/dev/null 2>&1; rc=$?
if [ $rc = 123 ]; then skip collrun "kernel lacks seccomp user notification"; finish; fi
[ $rc = 0 ] || { fail collrun "collrun -- /bin/true exited $rc"; finish; }
counted() {   # counted NAME CMD... — reset, run CMD (stdout to $S/NAME.out), keep the counts
  local n=$1; shift
  reset; "$@" >"$S/$n.out" 2>"$S/$n.err"; echo $? >"$S/$n.rc"; cat "$C" >"$S/$n.fs"
}
get() { tr ' ' '\n' <"$S/$1.fs" | sed -n "s/^$2=//p"; }
CR=("$COLLRUN" --cache="$M")
counted n1 sh -c "cat '$M/a'"
counted n2 sh -c "cat '$M/a'; cat '$M/a'"
counted c1 "${CR[@]}" --stats-file="$S/c1.stats" -- sh -c "cat '$M/a'"
counted c2 "${CR[@]}" --stats-file="$S/c2.stats" -- sh -c "cat '$M/a'; cat '$M/a'"
if [ "$(get n1 open)" = 1 ] && [ "$(get n2 open)" = 2 ] && [ "$(get n2 read)" = 2 ] &&
   [ "$(get c2 open)" = "$(get c1 open)" ] && [ "$(get c2 read)" = "$(get c1 read)" ] &&
   [ "$(get c2 open)" -le 1 ] && cmp -s "$S/n2.out" "$S/c2.out"; then pass collrun-cat-twice
else fail collrun-cat-twice "native 1x/2x open=$(get n1 open)/$(get n2 open) read=$(get n1 read)/$(get n2 read); collrun 1x/2x open=$(get c1 open)/$(get c2 open) read=$(get c1 read)/$(get c2 read)"; fi

[ $GL = 1 ] || finish
counted d1 "${CR[@]}" --stats-file="$S/d1.stats" -- /usr/bin/python3 "$M/wl/driver.py"
counted d2 "${CR[@]}" --stats-file="$S/d2.stats" -- /usr/bin/python3 "$M/wl/driver.py" --rerun
want="$(cat "$S/drv.src")
rerun: $(cat "$S/drv.src")"
if cmp -s "$S/drv.src" "$S/d1.out" && [ "$(cat "$S/d2.out")" = "$want" ]; then pass genlibs-collrun-output
else fail genlibs-collrun-output "got '$(head -1 "$S/d1.out")' / '$(tail -1 "$S/d2.out")', rc $(cat "$S/d1.rc")/$(cat "$S/d2.rc")"; fi
r1=$(get d1 read) r2=$(get d2 read)
if [ "${r1:-0}" -gt 0 ] && [ "$(get d2 open)" = "$(get d1 open)" ] && [ "$r2" -le $((r1 + r1 / 4)) ]; then pass genlibs-collrun-rerun
else fail genlibs-collrun-rerun "driver alone open=$(get d1 open) read=$r1; with --rerun open=$(get d2 open) read=$r2"; fi
finish
