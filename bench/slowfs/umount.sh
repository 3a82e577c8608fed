#!/bin/sh
# umount.sh MNT — unmount the slowfs at MNT (fusermount3 -u) and wait, bounded, for its
# process (pid from MNT/.slowfs-info) to exit. Exit 1 if busy or if it does not exit.
[ $# = 1 ] || { echo "usage: $0 MNT" >&2; exit 2; }
mnt=$1
pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$mnt/.slowfs-info" 2>/dev/null)
[ -n "$pid" ] || { echo "umount.sh: no slowfs mounted on $mnt" >&2; exit 1; }
fusermount3 -u "$mnt" || exit 1
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i + 1)); [ $i -le 200 ] || { echo "umount.sh: slowfs (pid $pid) still running" >&2; exit 1; }
  sleep 0.05
done
