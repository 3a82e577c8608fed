#!/bin/sh
# mount.sh SRC MNT [DELAY_US] — mount slowfs mirroring SRC at MNT (each op waits DELAY_US µs,
# default 1000) and return once MNT/.slowfs-stats is readable. Binary: $SLOWFS, else
# build/bench/slowfs/slowfs (make -C bench/slowfs). Extra -o options: $SLOWFS_OPTS.
# Exit 77 (with a SKIP line) when FUSE cannot work here; 1 on any other failure.
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 SRC MNT [DELAY_US]" >&2; exit 2; }
src=$1 mnt=$2 delay=${3:-1000}
here=$(cd "$(dirname "$0")" && pwd)
bin=${SLOWFS:-$here/../../build/bench/slowfs/slowfs}
[ -c /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null 2>&1 || { echo "SKIP: no fusermount3 (apt-get install fuse3)"; exit 77; }
[ -x "$bin" ] || { echo "mount.sh: no slowfs binary at $bin (make -C bench/slowfs)" >&2; exit 1; }
[ -d "$src" ] || { echo "mount.sh: $src is not a directory" >&2; exit 1; }
mkdir -p "$mnt" || exit 1
if grep -qs " $(cd "$mnt" && pwd) fuse.slowfs " /proc/self/mounts; then
  echo "mount.sh: slowfs already mounted on $mnt" >&2; exit 1
fi
"$bin" -o "delay_us=$delay${SLOWFS_OPTS:+,$SLOWFS_OPTS}" "$src" "$mnt" || {
  echo "mount.sh: slowfs failed to mount $src on $mnt" >&2; exit 1; }
i=0                              # slowfs returns once mounted; still confirm, bounded
until [ -r "$mnt/.slowfs-stats" ]; do
  i=$((i + 1)); [ $i -le 200 ] || { echo "mount.sh: $mnt/.slowfs-stats never appeared" >&2; exit 1; }
  sleep 0.05
done
