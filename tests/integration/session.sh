#!/usr/bin/env bash
# session.sh — issue 10, sessions: node supervisors on several (virtual) nodes share one
# root's look-ups. A session of 4 virtual nodes (collrun --start-session -n 4: mpiexec -n 4
# collrun-session, member r serving COLLRUN_NODE_ID=r) on this host; 4 ranks of
# /usr/bin/python3, each on its own virtual node, import a package from bench/slowfs (a FUSE
# mirror that counts every operation): a FUSE mount is "shared", so every node supervisor's
# misses there are asked of the session, looked up once by the root and published to all.
# Checks:
#   start               --start-session prints an id and returns once every member listens
#   s4                  every rank's stdout, stderr and exit status equal native's
#   s4-flat             slowfs operations of 4 virtual nodes with the session equal those of 4
#                       ranks on ONE node supervisor (within 2%+5): every look-up, open and
#                       read is paid once per session, directory listings included (the
#                       root sends the file system's own records); each other node may add
#                       a few operations of its own (8 a node). Without the session the
#                       same 4 virtual nodes cost about 4 x one node (vnode-unshared, printed)
#   end / clean-end     --end-session: no collrun-session, mpiexec or node supervisor left,
#                       an empty rendezvous directory
#   root-killed         the ranks hold after their first imports; the session root is
#                       SIGKILLed (hydra ends every member); the ranks then import more:
#                       outputs equal native's, each node supervisor printed one warning
#                       line, and after --end-session nothing is left
#   driver              collrun -n 2 -- PROGRAM (start, mpiexec -n 2 collrun --session, end):
#                       outputs native, its status is mpiexec's, nothing left
# Nothing sleeps: FIFOs synchronise the test with the ranks; waits are bounded failure
# detectors ($HANG). SKIPs without mpiexec, collrun-session, /dev/fuse or libfuse3.
B=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
fusermount3 -uz "$B/tests/integration/session/mnt" 2>/dev/null   # left by a killed run
fusermount3 -uz "$B/tests/integration/session/decoy" 2>/dev/null   # left by a killed run
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_extra.sh"
need_collrun
need_session
slowfs_ready
TREE=$S/tree M=$S/mnt RD=$S/rd CTL=/dev/shm/collrun-session.$$ PY=/usr/bin/python3
export COLLRUN_RUNTIME_DIR=$RD
unset COLLRUN_JOB COLLRUN_NODE_ID COLLRUN_SESSION SLURM_JOB_ID PBS_JOBID FLUX_JOB_ID
IDS=   # the sessions this test started: only their processes are ours (others may run sessions)
cleanup() { local i; kill_with "--cache=$M"; for i in $IDS; do kill_with "--serve $i"; done; slowfs_umount "$M"; slowfs_umount "$S/decoy"; rm -rf "$CTL"; }
trap cleanup EXIT
umask 022
rm -rf "$RD"; mkdir -p "$TREE" "$CTL" "$RD" && chmod 700 "$RD" && session_pkg "$TREE" "$S/app.py" ||
  { fail setup "cannot create the trees"; finish; }
# A decoy mounted first: another slowfs (same type, same source "slowfs") over a tree
# without the package. The session must answer for the mount at the ranks' mount point,
# never for the first one of that type and source (an empty decoy once made every rank
# fail "No module named 'pkg'" when another slowfs ran beside the test).
DECOY=$S/decoy
mkdir -p "$S/decoy-tree/other" "$DECOY"
slowfs_mount_or_finish "$S/decoy-tree" "$DECOY"
slowfs_mount_or_finish "$TREE" "$M"
settle_clock
export PYTHONPATH=$M

# ours — processes of this test's collruns and sessions (not zombies)
ours() { local p i; for p in $(pids_with "--cache=$M") $(for i in $IDS; do pids_with "--serve $i"; done); do alive "$p" && echo "$p"; done | sort -u; }

# job NAME N MODE [COLLRUN-OPTS...] — lib_extra.sh's session_job: mpiexec -n N; rank r on
# virtual node r (MODE vnode) or all on one node (MODE node) or native
job() { session_job "$@"; }

job native1 1 native
job native4 4 native
job node4 4 node          # 4 ranks, one node supervisor: the target for a session of 4 nodes
job vnode4 4 vnode        # 4 virtual nodes without a session: each node pays in full
clean node

# 1. A session of 4 virtual nodes.
ID=$(timeout -k 10 "$HANG" "$COLLRUN" --start-session -n 4 2>"$S/start.err"); src=$?; IDS="$IDS $ID"
socks=$(ls "$RD/session-$ID" 2>/dev/null | grep -c '^node-[0-3]\.sock$')
if [ "$src" = 0 ] && [ -n "$ID" ] && [ "$socks" = 4 ] && [ -e "$RD/session-$ID/ready" ]; then pass start
else fail start "status $src, id [$ID], member sockets $socks: $(head -3 "$S/start.err")"; fi
job s4 4 vnode --session="$ID"
same_ranks s4 native4 4
n1=$(total native1) n4=$(total native4) o4=$(total node4) v4=$(total vnode4) s4=$(total s4)
echo "slowfs operations: native 1/4 ranks: $n1/$n4; collrun, 4 ranks on one node: $o4; 4 virtual nodes: $v4 without a session, $s4 with one"
# Each other node may make a few operations of its own (its statfs of the mount, a
# directory it lists before the session has): 8 a node, against the ~400 a node without
# the session pays.
lim=$(( o4 * 102 / 100 + 5 + 3 * 8 ))
if [ "$n4" -ge $((4 * n1 * 95 / 100)) ] && [ "$s4" -le "$lim" ] && [ "$v4" -gt $((s4 * 2)) ]; then pass s4-flat
else fail s4-flat "4 virtual nodes with the session: $s4 ops; 4 ranks on one node: $o4 (limit $lim); without the session: $v4; native 1/4: $n1/$n4"; fi
timeout -k 10 "$HANG" "$COLLRUN" --end-session "$ID" 2>"$S/end.err"; erc=$?
if [ "$erc" = 0 ]; then pass end; else fail end "status $erc: $(head -3 "$S/end.err")"; fi
clean end

# 2. The root killed while every rank holds after its first imports.
export NS_CTL=$CTL
fifos 4; NS_CTL= job native4h 4 native
{ cat "$S/native4h/out.0"; echo "late late-7"; } >"$S/rk.want"
ID=$(timeout -k 10 "$HANG" "$COLLRUN" --start-session -n 4 2>"$S/start2.err"); IDS="$IDS $ID"
fifos 4
job rk 4 vnode --session="$ID" &
JOB=$!
for r in 0 1 2 3; do timeout "$HANG" cat "$CTL/ready.$r" >/dev/null; done
root=; for p in $(pids_with "--serve $ID"); do
  [ "$(cat /proc/$p/comm 2>/dev/null)" = collrun-session ] && tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'PMI_RANK=0' && root=$p
done
[ -n "$root" ] && kill -9 "$root"
# Every member ends with the root (hydra); each node supervisor then warns once.
for p in $(pids_with "--serve $ID"); do gone "$p" 60; done
for r in 0 1 2 3; do timeout "$HANG" sh -c "echo go >'$CTL/go.$r'"; done
wait $JOB
bad=; warn=0
for r in 0 1 2 3; do
  cmp -s "$S/rk.want" "$S/rk/out.$r" && [ "$(cat "$S/rk/rc.$r")" = 0 ] || bad="$bad $r"
  warn=$((warn + $(grep -c "^collrun: warning: session $ID: .*reads the file system itself" "$S/rk/err.$r")))
done
if [ -n "$root" ] && [ -z "$bad" ] && [ "$warn" = 4 ]; then pass root-killed
else fail root-killed "root pid [$root]; ranks not as native:[$bad]; warnings $warn (want one a node: 4): $(head -2 "$S/rk/err.0")"; fi
timeout -k 10 "$HANG" "$COLLRUN" --end-session "$ID" 2>/dev/null
clean root-killed
unset NS_CTL

# 3. The driver: collrun -n 2 -- PROGRAM.
d=$S/driver; rm -rf "$d"; mkdir -p "$d"
timeout -k 10 "$HANG" "$COLLRUN" -n 2 --cache="$M" -- sh -c 'exec "$@" >"$0/out.$PMI_RANK" 2>"$0/err.$PMI_RANK"' "$d" "$PY" "$S/app.py" \
  >"$d/driver.out" 2>&1; drc=$?
bad=; for r in 0 1; do cmp -s "$S/native4/out.$r" "$d/out.$r" || bad="$bad $r"; done
if [ "$drc" = 0 ] && [ -z "$bad" ]; then pass driver; else fail driver "status $drc, ranks not as native:[$bad]: $(head -3 "$d/driver.out")"; fi
clean driver
finish
