#!/usr/bin/env bash
# busybox.sh — the static /bin/busybox (no dynamic loader, raw syscalls) walking, hashing,
# listing and stat-ing real trees, including failing look-ups: same output as natively,
# and the stats show look-ups served from the cache.
. "$(dirname "$0")/lib.sh"
need_collrun
BB=/bin/busybox
[ -x $BB ] || { skip all "$BB missing (busybox-static)"; finish; }
P=/usr/lib/python3.11

both find-sort-head $BB sh -c "$BB find $P -name '*.py' | $BB sort | $BB head -n 25; $BB find $P -type d | $BB wc -l"
stats find-sort-head served\>0 files\>0

# every file of the tree (pyc caches excluded: a concurrent python may rewrite them)
both md5sum $BB sh -c "$BB find $P -type f ! -path '*/__pycache__/*' | $BB sort | $BB xargs $BB md5sum | $BB md5sum; $BB find $P -type f | $BB wc -l"
stats md5sum served\>0 files\>0 bytes\>1000000

both ls $BB sh -c "$BB ls -la /usr /usr/bin/python3* $P/json $P/lib-dynload | $BB head -n 80; $BB ls -lL /lib64 /bin/sh"
stats ls served\>0

# no st_ino/st_dev/atime: those are allowed to differ (man/collrun.1)
both stat $BB sh -c "cd $P && $BB stat -c '%n %s %b %a %A %u %g %F %h %Y %Z %N' . os.py json json/__init__.py /usr/bin/python3 /bin /lib64/ld-linux-x86-64.so.2"
stats stat served\>0

both readlink $BB sh -c "for p in /usr/bin/python3 /bin/sh /lib64/ld-linux-x86-64.so.2 /usr/lib/x86_64-linux-gnu/libc.so.6 $P/../../bin/./python3 /bin; do $BB readlink -f \$p; $BB readlink \$p; echo \"rc=\$?\"; done"

both tests $BB sh -c "for p in /usr/bin/python3 $P/os.py $P /nonexistent /usr/lib/nonexistent/x $P/os.py/x; do for o in e f d x r w L; do $BB test -\$o \$p && printf 1 || printf 0; done; echo \" \$p\"; done"

# failing look-ups print the same errors and statuses (and may be cached as negative)
both missing -e 1 $BB sh -c "$BB ls /usr/lib/nonexistent-x /usr/bin/python3; $BB cat /usr/share/nope/nope; $BB ls /usr/lib/nonexistent-x; echo cat=\$?; $BB stat -c %n /usr/nope; exit 1"
stats missing negative\>0
finish
