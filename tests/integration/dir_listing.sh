#!/usr/bin/env bash
# dir_listing.sh — directory opens and listings of a cached tree on bench/slowfs (a FUSE
# mirror that counts operations) are served from the cache: a replica descriptor for the
# open, the file system's own records for getdents64. helpers/dirprobe.py runs natively and
# under collrun (and under collrun --no-dir-replica), each from the same fresh tree; stdout,
# stderr and status must be identical. It covers listdir and scandir (names, order, inode,
# type), getdents64 with buffers too small (EINVAL) and fitting one or two records, d_off,
# telldir/seekdir/rewinddir, openat and fstatat relative to the descriptor, fchdir then
# getcwd and a relative open, fchmod of a directory descriptor, a listing after a file was
# made in a listed directory, and a directory the job writes and lists.
# Checks:
#   probe, probe-no-replica   outputs equal native's
#   served                    getdents64 hits > 0 in --stats (the listings were served)
#   second-listing-free       a directory listed twice in one job: the second listing costs
#                             slowfs no opendir/readdir/releasedir
#   clean                     no replicas-* folder left in the rendezvous directory
#   stale-removed             a replicas folder of a SIGKILLed supervisor is removed by the next
# SKIPs without /dev/fuse or libfuse3.
B=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
fusermount3 -uz "$B/tests/integration/dir_listing/mnt" 2>/dev/null   # left by a killed run
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_extra.sh"
need_collrun
slowfs_ready
TREE=$S/tree M=$S/mnt RD=$S/rd PY=/usr/bin/python3 PROBE=$SRC/tests/integration/helpers/dirprobe.py
export COLLRUN_RUNTIME_DIR=$RD
unset COLLRUN_JOB COLLRUN_NODE_ID
umask 022
mkdir -p "$TREE/pkg/sub" "$RD" && chmod 700 "$RD" || { fail setup "cannot create the tree"; finish; }
for i in $(seq 1 12); do echo "V = $i" >"$TREE/pkg/m$i.py"; done
: >"$TREE/pkg/__init__.py"; ln -s m1.py "$TREE/pkg/link.py"
# The writable part, made again before each run: through the mount once it is there, never
# behind slowfs's back (slowfs keeps nodes for removed inodes: a folder made again with a
# reused inode number is then not found, natively too).
W_ROOT=$TREE
fresh() { rm -rf "$W_ROOT/w"; mkdir -p "$W_ROOT/w/perm" "$W_ROOT/w/grow" "$W_ROOT/w/scratch"; : >"$W_ROOT/w/grow/old.txt"; }
fresh
slowfs_mount "$TREE" "$M" writable || { [ $? = 77 ] && { skip all "$(cat "$S/mount.log")"; finish; }
  fail mount "$(tail -2 "$S/mount.log")"; finish; }
trap 'slowfs_umount "$M"' EXIT
W_ROOT=$M

# run NAME [COLLRUN-OPTS...] — the probe natively (NAME=native) or under collrun
run() {
  local name=$1; shift
  fresh
  if [ "$name" = native ]; then (cd "$S" && "$PY" "$PROBE" "$M") >"$S/$name.out" 2>"$S/$name.err" </dev/null
  else (cd "$S" && "$COLLRUN" --cache="$M" --no-share --stats-file="$S/$name.stats" "$@" -- "$PY" "$PROBE" "$M") \
         >"$S/$name.out" 2>"$S/$name.err" </dev/null; fi
  echo $? >"$S/$name.rc"
}
same() {
  local x bad=
  for x in out err rc; do cmp -s "$S/native.$x" "$S/$1.$x" || bad="$bad $x"; done
  [ -s "$S/native.out" ] && [ "$(cat "$S/native.rc")" = 0 ] || bad="$bad (native failed: $(tail -1 "$S/native.err"))"
  if [ -z "$bad" ]; then pass "$1"; else fail "$1" "differs in:$bad"; diff "$S/native.out" "$S/$1.out" | head -6 | sed 's/^/    /'; fi
}
run native
run probe
same probe
run probe-no-replica --no-dir-replica
same probe-no-replica
h=$(awk '{ for (i = 1; i < NF; i++) if ($i == "getdents64") { print $(i + 2); exit } }' "$S/probe.stats" 2>/dev/null)
if [ "${h:-0}" -gt 0 ] 2>/dev/null; then pass served; else fail served "no getdents64 hits in --stats: $(grep getdents64 "$S/probe.stats")"; fi

# The second listing of a directory in one job costs the file system nothing.
fs_reset "$M"
"$COLLRUN" --cache="$M" --no-share -- "$PY" -c "import os; os.listdir('$M/pkg')" </dev/null >/dev/null 2>&1
one=$(fs_counts "$M")
fs_reset "$M"
"$COLLRUN" --cache="$M" --no-share -- "$PY" -c "import os; [os.listdir('$M/pkg') for _ in range(5)]" </dev/null >/dev/null 2>&1
five=$(fs_counts "$M")
bad=; for k in opendir readdir releasedir; do [ "$(fs_field "$one" $k)" = "$(fs_field "$five" $k)" ] || bad="$bad $k"; done
if [ "${COLLRUN_BACKEND:-}" = ptrace ]; then
  echo "SKIP: integration/dir_listing/second-listing-free: the ptrace backend opens directories from the file system (replica directories need SECCOMP_ADDFD_FLAG_SETFD; collrun(1), BACKENDS)"
elif [ -z "$bad" ]; then pass second-listing-free; else fail second-listing-free "1 listing: $one; 5 listings: $five"; fi

left=$(ls -A "$RD" | grep '^replicas-')
[ -z "$left" ] && pass clean || fail clean "left in $RD: $left"

# A supervisor killed with SIGKILL leaves its folder; the next one removes it.
mkdir -p "$RD/replicas-999999/1"
"$COLLRUN" --cache="$M" --no-share -- "$PY" -c "import os; os.listdir('$M/pkg')" </dev/null >/dev/null 2>&1
left=$(ls -A "$RD" | grep '^replicas-')
[ -z "$left" ] && pass stale-removed || fail stale-removed "left in $RD: $left"
finish
