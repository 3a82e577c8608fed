#!/usr/bin/env bash
# session_hosts.sh — issue 10, sessions on named hosts: `collrun --start-session --hosts=H1,H2`
# and `-f HOSTFILE` (mpiexec -ppn 1 -hosts ... collrun-session --serve ID), on names of this
# machine that hydra launches locally without ssh (localhost, $(hostname), 127.0.0.1). One
# machine named twice gets two members (hydra starts one per entry): member 0 listens on
# node.sock, member 1 sees that its host has a member already and serves virtual node 1
# (node-1.sock). Ranks import a package from bench/slowfs (a FUSE mirror counting every
# operation; a FUSE mount is "shared", so the session answers for it).
# Checks:
#   hosts-start        --start-session --hosts=localhost,HOST: status 0, an id; `ready` says
#                      2 members; 2 collrun-session processes; node.sock and node-1.sock;
#                      mpiexec was run with -ppn 1 -hosts localhost HOST
#   hosts-served       2 ranks with --session=ID (rank 0 on the host's node supervisor, rank 1
#                      on virtual node 1): outputs equal native's; slowfs operations those of
#                      2 ranks on ONE node supervisor (within 2%+5, +8 for the other node),
#                      while the same 2 nodes without the session cost about twice that
#   hosts-end / clean-hosts   --end-session: status 0; no member, mpiexec or node
#                      supervisor left; an empty rendezvous directory
#   hostfile-start / hostfile-served / hostfile-end / clean-hostfile   the same with
#                      -f HOSTFILE (a comment, a blank line, `localhost`, `HOST:2`)
#   hosts-driver / clean-hosts-driver   collrun -n 2 --hosts=127.0.0.1,HOST -- PROGRAM: the
#                      session on those hosts, the program's mpiexec on them, outputs native
#   bad-*              bad input fails at once with a message naming the host or file and
#                      the documented status (2: empty host list or name, missing,
#                      unreadable or empty hostfile, a name that does not resolve; 125: a
#                      host the launcher cannot reach), and leaves no process and no file:
#                      bad-empty-list bad-empty-entry bad-missing-hostfile
#                      bad-unreadable-hostfile bad-unreadable-hostfile-perm
#                      bad-empty-hostfile bad-unresolvable-host bad-unresolvable-hostfile
#                      bad-unreachable-host (hydra's
#                      ssh launcher replaced by a script that fails as ssh does:
#                      HYDRA_LAUNCHER_EXEC; hydra 4.0 itself would wait forever)
# Nothing sleeps; waits are bounded failure detectors ($HANG). SKIPs without mpiexec,
# collrun-session, /dev/fuse or libfuse3.
B=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
fusermount3 -uz "$B/tests/integration/session_hosts/mnt" 2>/dev/null   # left by a killed run
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_extra.sh"
need_collrun
need_session
slowfs_ready
TREE=$S/tree M=$S/mnt RD=$S/rd PY=/usr/bin/python3 HOST=$(hostname)
export COLLRUN_RUNTIME_DIR=$RD
unset COLLRUN_JOB COLLRUN_NODE_ID COLLRUN_SESSION SLURM_JOB_ID PBS_JOBID FLUX_JOB_ID HYDRA_LAUNCHER HYDRA_LAUNCHER_EXEC HYDRA_HOST_FILE
IDS=   # the sessions this test started: only their processes are ours
SERVE="$BUILD/collrun-session --serve"   # on the command line of our members and their mpiexec
cleanup() { kill_with "--cache=$M"; kill_with "$SERVE"; slowfs_umount "$M"; }
trap cleanup EXIT
umask 022
rm -rf "$RD"; mkdir -p "$TREE" "$RD" && chmod 700 "$RD" && session_pkg "$TREE" "$S/app.py" ||
  { fail setup "cannot create the trees"; finish; }
slowfs_mount_or_finish "$TREE" "$M"
settle_clock
export PYTHONPATH=$M

# ours — processes of this test's collruns and sessions (not zombies)
ours() { local p; for p in $(pids_with "--cache=$M") $(pids_with "$SERVE"); do alive "$p" && echo "$p"; done | sort -u; }
members() { local p; for p in $(pids_with "$SERVE $1"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = collrun-session ] && alive "$p" && echo "$p"; done; }

session_job native2 2 native
session_job node2 2 node        # 2 ranks, one node supervisor: what a session of 2 nodes costs
session_job vnode2 2 hosts      # the same 2 nodes without a session: each pays in full
clean node

# started NAME ID STATUS ERRFILE ARGS — PASS/FAIL NAME-start: a session of 2 members is up
started() {
  local name=$1 id=$2 rc=$3 err=$4 d=$RD/session-$2 m socks mp; shift 4
  m=$(members "$id" | wc -l)
  socks=$(ls "$d" 2>/dev/null | grep -cE '^node(-1)?\.sock$')
  mp=$(for p in $(pids_with "$SERVE $id"); do case $(cat "/proc/$p/comm" 2>/dev/null) in mpiexec*) tr '\0' ' ' <"/proc/$p/cmdline" ;; esac; done)
  if [ "$rc" = 0 ] && [ -n "$id" ] && [ "$(cat "$d/ready" 2>/dev/null)" = 2 ] && [ "$m" = 2 ] && [ "$socks" = 2 ] &&
     [[ $mp == "mpiexec -ppn 1 $* -n 2 "* ]]; then pass "$name-start"
  else fail "$name-start" "status $rc, id [$id], ready [$(cat "$d/ready" 2>/dev/null)] (want 2), members $m, sockets [$(ls "$d" 2>/dev/null | tr '\n' ' ')], mpiexec [$mp]: $(head -3 "$err")"; fi
}
# served NAME ID — PASS/FAIL NAME-served: 2 ranks under session ID, outputs and counts
served() {
  local name=$1 s o2 v2 lim
  session_job "$name" 2 hosts --session="$2"
  s=$(total "$name") o2=$(total node2) v2=$(total vnode2) lim=$(( $(total node2) * 102 / 100 + 5 + 8 ))
  echo "slowfs operations: native 2 ranks: $(total native2); collrun, 2 ranks on one node: $o2; 2 nodes: $v2 without a session, $s with session $name"
  local bad=; for r in 0 1; do for x in out err rc; do cmp -s "$S/native2/$x.$r" "$S/$name/$x.$r" || bad="$bad $x.$r"; done; done
  [ -s "$S/native2/out.0" ] || bad="$bad (native printed nothing)"
  if [ -z "$bad" ] && [ "$s" -le "$lim" ] && [ "$v2" -gt $((s * 3 / 2)) ]; then pass "$name-served"
  else fail "$name-served" "ranks differing from native:[$bad]; slowfs ops with the session $s (limit $lim), 2 nodes without it $v2 (want > $((s * 3 / 2)))"; fi
}
# ended NAME ID — --end-session ID; PASS/FAIL NAME-end and clean-NAME
ended() {
  timeout -k 10 "$HANG" "$COLLRUN" --end-session="$2" 2>"$S/$1.end.err"; local rc=$?
  if [ "$rc" = 0 ]; then pass "$1-end"; else fail "$1-end" "status $rc: $(head -3 "$S/$1.end.err")"; fi
  clean "$1"
}

# 1. --hosts: this machine under two names.
ID=$(timeout -k 10 "$HANG" "$COLLRUN" --start-session --hosts="localhost,$HOST" 2>"$S/hosts.err"); rc=$?; IDS="$IDS $ID"
started hosts "$ID" "$rc" "$S/hosts.err" -hosts localhost "$HOST"
served hosts "$ID"
ended hosts "$ID"

# 2. -f HOSTFILE, in hydra's format.
printf '# the session'"'"'s hosts\nlocalhost\n\n%s:2\n' "$HOST" >"$S/hostfile"
ID=$(timeout -k 10 "$HANG" "$COLLRUN" --start-session -f "$S/hostfile" 2>"$S/hostfile.err"); rc=$?; IDS="$IDS $ID"
started hostfile "$ID" "$rc" "$S/hostfile.err" -f "$S/hostfile"
served hostfile "$ID"
ended hostfile "$ID"

# 3. The driver on hosts: both ranks on this host's node supervisor, its member serving.
d=$S/hosts-driver; rm -rf "$d"; mkdir -p "$d"; fs_reset "$M"
timeout -k 10 "$HANG" "$COLLRUN" -n 2 --hosts="127.0.0.1,$HOST" --cache="$M" -- sh -c 'exec "$@" >"$0/out.$PMI_RANK" 2>"$0/err.$PMI_RANK"' "$d" "$PY" "$S/app.py" \
  >"$d/driver.out" 2>&1; drc=$?
bad=; for r in 0 1; do cmp -s "$S/native2/out.$r" "$d/out.$r" || bad="$bad $r"; done
if [ "$drc" = 0 ] && [ -z "$bad" ]; then pass hosts-driver; else fail hosts-driver "status $drc, ranks not as native:[$bad]: $(head -3 "$d/driver.out")"; fi
clean hosts-driver

# 4. Bad input. bad NAME STATUS REGEX [ENV=V...] -- ARGS...: collrun --start-session ARGS
# exits STATUS at once, its message matches REGEX, and nothing is left.
bad() {
  local name=$1 want=$2 re=$3 env=(); shift 3
  while [ "$1" != -- ]; do env+=("$1"); shift; done; shift
  local before; before=$(ls -A "$RD")
  env "${env[@]}" timeout -k 10 "$HANG" "$COLLRUN" --start-session "$@" </dev/null >"$S/$name.out" 2>"$S/$name.err"
  local rc=$? left
  left=$(ours | tr '\n' ' ')
  if [ "$rc" = "$want" ] && grep -Eq "$re" "$S/$name.err" && [ ! -s "$S/$name.out" ] && [ -z "$left" ] &&
     [ "$(ls -A "$RD")" = "$before" ]; then pass "$name"
  else fail "$name" "status $rc (want $want), message [$(head -2 "$S/$name.err" | tr '\n' ' ')] (want /$re/), stdout [$(head -c 60 "$S/$name.out")], left: processes [$left] files [$(ls -A "$RD" | tr '\n' ' ')]"; fi
}
bad bad-empty-list 2 '^collrun: session: entry 1 of --hosts=: an empty host name$' -- --hosts=
bad bad-empty-entry 2 "^collrun: session: entry 2 of --hosts=localhost,,$HOST: an empty host name\$" -- --hosts="localhost,,$HOST"
bad bad-missing-hostfile 2 "^collrun: session: hostfile $S/no-such-hostfile: No such file or directory\$" -- -f "$S/no-such-hostfile"
bad bad-unreadable-hostfile 2 "^collrun: session: hostfile $S: Is a directory\$" -- -f "$S"
printf 'localhost\n' >"$S/hostfile-000"; chmod 000 "$S/hostfile-000"
if need_root bad-unreadable-hostfile-perm; then
  if "${NOBODY[@]}" test -x "$S"; then
    "${NOBODY[@]}" env COLLRUN_RUNTIME_DIR="$S/rd-nobody" timeout -k 10 "$HANG" "$COLLRUN" --start-session -f "$S/hostfile-000" \
      </dev/null >"$S/perm.out" 2>"$S/perm.err"; rc=$?
    if [ "$rc" = 2 ] && grep -qx "collrun: session: hostfile $S/hostfile-000: Permission denied" "$S/perm.err" && [ -z "$(ours)" ] && [ ! -e "$S/rd-nobody" ]; then
      pass bad-unreadable-hostfile-perm
    else fail bad-unreadable-hostfile-perm "status $rc (want 2): $(head -2 "$S/perm.err" | tr '\n' ' ')"; fi
  else skip bad-unreadable-hostfile-perm "uid 65534 cannot reach $S at all (a parent folder is closed)"; fi
fi
printf '# no host here\n\n   \n' >"$S/hostfile-empty"
bad bad-empty-hostfile 2 "^collrun: session: hostfile $S/hostfile-empty names no host\$" -- -f "$S/hostfile-empty"
bad bad-unresolvable-host 2 '^collrun: session: host collrun-no-such-host\.invalid \(entry 2 of --hosts=localhost,collrun-no-such-host\.invalid\) cannot be resolved' -- --hosts=localhost,collrun-no-such-host.invalid
printf '# a hostfile with a name that does not resolve\nlocalhost\ncollrun-no-such-host.invalid:4\n' >"$S/hostfile-unresolvable"
bad bad-unresolvable-hostfile 2 "^collrun: session: host collrun-no-such-host\.invalid \($S/hostfile-unresolvable line 3\) cannot be resolved" -- -f "$S/hostfile-unresolvable"
# 127.0.0.2 is this machine, but hydra does not know it as local: it runs its launcher.
mkdir -p "$S/bin"; printf '#!/bin/sh\n# as ssh does when a host refuses: a message naming it, status 255\necho "ssh: connect to host $2 port 22: Connection refused" >&2\nexit 255\n' >"$S/bin/unreachable"
chmod 0755 "$S/bin" "$S/bin/unreachable"
bad bad-unreachable-host 125 '^collrun: session: a host cannot be reached: unreachable \(pid [0-9]+\), which mpiexec started to reach it, exited before the session was up: ssh: connect to host 127\.0\.0\.2 port 22: Connection refused' \
  HYDRA_LAUNCHER=ssh HYDRA_LAUNCHER_EXEC="$S/bin/unreachable" -- --hosts="$HOST,127.0.0.2"
finish
