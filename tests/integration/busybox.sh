#!/usr/bin/env bash
# busybox.sh — the static /bin/busybox (no dynamic loader, raw syscalls) walking, hashing
# (also in parallel and big files), listing and stat-ing real trees, failing look-ups, and
# writing inside a cached (-c) folder; plus GNU coreutils over the same tree. Same output as
# natively, and the stats show look-ups served from the cache.
. "$(dirname "$0")/lib.sh"
need_collrun
BB=/bin/busybox
[ -x $BB ] || { skip all "$BB missing (busybox-static)"; finish; }
P=/usr/lib/python3.11

both find-sort-head $BB sh -c "$BB find $P -name '*.py' | $BB sort | $BB head -n 25; $BB find $P -type d | $BB wc -l"
stats find-sort-head served\>0

# every file of the tree (pyc caches excluded: a concurrent python may rewrite them)
# --data=memfd: every file copied into the cache (the way a network file system is served)
CR_OPTS=(--data=memfd)
both md5sum $BB sh -c "$BB find $P -type f ! -path '*/__pycache__/*' | $BB sort | $BB xargs $BB md5sum | $BB md5sum; $BB find $P -type f ! -path '*/__pycache__/*' | $BB wc -l"
stats md5sum served\>0 files\>0 bytes\>1000000
CR_OPTS=()
# four md5sum processes at once, and a few big files (each copied whole into the cache)
both md5sum-parallel $BB sh -c "$BB find $P -type f ! -path '*/__pycache__/*' | $BB xargs -P 4 -n 40 $BB md5sum | $BB sort | $BB md5sum"
both bigfiles $BB sh -c "$BB find /usr/lib /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -size +20000k | $BB sort | $BB head -n 3 | $BB xargs $BB md5sum; echo done"

# GNU coreutils/findutils (dynamic; statx, newfstatat, faccessat2) over the same tree;
# realpath of /bin/../usr/bin/python3 must fail: ".." applies after /bin -> usr/bin
both coreutils sh -c "ls -la --time-style=+%s $P/json /usr/bin/python3; stat -c '%n %s %a %F %h %Y %N' $P/os.py /bin /usr/bin/python3 $P/json; find $P/email -printf '%p %s %y %m %l\\n' | sort; realpath -e /lib64/ld-linux-x86-64.so.2 /bin/../usr/bin/python3; du -s --apparent-size $P/json; test -x /usr/bin/python3 && test -r $P/os.py && ! test -e $P/no && echo tests-ok"
stats coreutils served\>0

# ls and stat run twice: the second process must be served from the cache the first filled
both ls $BB sh -c "for i in 1 2; do $BB ls -la /usr /usr/bin/python3* $P/json $P/lib-dynload | $BB head -n 80; $BB ls -lL /lib64 /bin/sh; done"
stats ls served\>0

# no st_ino/st_dev/atime: those are allowed to differ (man/collrun.1)
both stat $BB sh -c "cd $P && for i in 1 2; do $BB stat -c '%n %s %b %a %A %u %g %F %h %Y %Z %N' . os.py json json/__init__.py /usr/bin/python3 /bin /lib64/ld-linux-x86-64.so.2; done"
stats stat served\>0

both readlink $BB sh -c "for p in /usr/bin/python3 /bin/sh /lib64/ld-linux-x86-64.so.2 /usr/lib/x86_64-linux-gnu/libc.so.6 $P/../../bin/./python3 /bin; do $BB readlink -f \$p; $BB readlink \$p; echo \"rc=\$?\"; done"

both tests $BB sh -c "for p in /usr/bin/python3 $P/os.py $P /nonexistent /usr/lib/nonexistent/x $P/os.py/x; do for o in e f d x r w L; do $BB test -\$o \$p && printf 1 || printf 0; done; echo \" \$p\"; done"

# failing look-ups print the same errors and statuses (and may be cached as negative)
both missing -e 1 $BB sh -c "$BB ls /usr/lib/nonexistent-x /usr/bin/python3; $BB cat /usr/share/nope/nope; $BB ls /usr/lib/nonexistent-x; echo cat=\$?; $BB stat -c %n /usr/nope; exit 1"
stats missing negative\>0

# a cached folder (-c) the program itself writes, renames, links and removes in: every
# later look-up must see the change, exactly as natively
CR_OPTS=(-c "$S/cached-writes/work")
both cached-writes $BB sh -c 'set -e; export PATH=/nonexistent; b=/bin/busybox
$b mkdir -p d/e; echo one >f; $b cat f; echo two-longer >f; $b cat f; $b stat -c "%s %F %a" f
$b ln -s f l; $b readlink l; $b cat l; $b mv f g; $b cat f || echo "cat=$?"; $b cat g; $b rm g
$b cat l || echo "dangling=$?"; $b test -e l || echo "test=$?"; : >d/e/c; $b chmod 600 d/e/c
$b find d | $b sort; $b stat -c "%n %F %a %s" d/e/c d; $b rmdir d/e || echo "rmdir=$?"; $b rm -r d
echo three >g; $b cat g; $b cat g; $b ls -a; $b readlink -f l
cd /usr/lib/python3.11/json; $b md5sum ../abc.py encoder.py; $b ls; cd ..; $b test -d json && echo dir'
stats cached-writes served\>0
CR_OPTS=()
finish
