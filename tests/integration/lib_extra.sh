# lib_extra.sh — sourced (after lib.sh) by the issue-9 scripts: namespaces, faults,
# fuse_faults, lifecycle. Not executable: tests/run.sh runs only executable scripts.
# Adds to lib.sh: runs with a set-up step before each side and an optional wrapper (uid
# 65534), C helpers built once per script, waits that are failure detectors only, and
# ending exactly the processes a test started.

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
HANG=${HANG_TIMEOUT:-120}          # seconds before a test that should finish is called hung
none=()

# helper NAME [GCC-FLAGS...] — build tests/integration/helpers/NAME.c into $S/bin/NAME once
# and print its path; FAIL (and nothing printed) if it does not build.
helper() {
  local n=$1 out=$S/bin/$1; shift
  mkdir -p "$S/bin"
  if [ ! -x "$out" ] && ! gcc -O1 -Wall -Wextra -Werror -D_GNU_SOURCE "$@" -o "$out" \
        "$SRC/tests/integration/helpers/$n.c" >"$S/bin/$n.log" 2>&1; then
    fail "build-$n" "$(head -3 "$S/bin/$n.log")"; return 1
  fi
  chmod 0755 "$S/bin" "$out"; echo "$out"
}

# pair NAME [-e RC] [-s SETUP] [-w WRAP] [--] CMD... — like lib.sh's `both`, with two more
# knobs: SETUP (a function) runs before each side (it makes the state both sides must
# start from: mounts, files, background helpers), the kernel's coarse clock is then let
# move on (settle_clock), and WRAP (the name of an array, e.g. NOBODY) prefixes the native
# command and the whole collrun command (collrun itself then runs wrapped). Each side runs
# under `timeout $HANG` (a hang detector: a hung side exits 124 or 137 and differs).
# Leaves $S/NAME/{native,collrun}.{out,err,rc} and $S/NAME/stats; PASS/FAIL NAME.
pair() {
  local name=$1 want=0 setup=: wrapname=none; shift
  while :; do
    case ${1-} in
      -e) want=$2; shift 2 ;; -s) setup=$2; shift 2 ;; -w) wrapname=$2; shift 2 ;;
      --) shift; break ;; *) break ;;
    esac
  done
  local -n wrap=$wrapname
  local d=$S/$name; rm -rf "$d"; mkdir -p "$d/work"; chmod 0777 "$d" "$d/work"
  "$setup" native || { fail "$name" "set-up for the native run failed"; return 1; }
  settle_clock
  (cd "$d/work" && exec timeout -k 10 "$HANG" "${wrap[@]}" "$@" </dev/null >"$d/native.out" 2>"$d/native.err")
  echo $? >"$d/native.rc"
  "$setup" collrun || { fail "$name" "set-up for the collrun run failed"; return 1; }
  settle_clock
  (cd "$d/work" && exec timeout -k 10 "$HANG" "${wrap[@]}" "$COLLRUN" "${CR_OPTS[@]}" --stats-file="$d/stats" -- "$@" \
     </dev/null >"$d/collrun.out" 2>"$d/collrun.err")
  echo $? >"$d/collrun.rc"
  if [ "$(cat "$d/native.rc")" != "$want" ]; then
    fail "$name" "native run exited $(cat "$d/native.rc"), expected $want (environment broken?)"
    head -5 "$d/native.err" | sed 's/^/    /'; return 1
  fi
  local std=out; [ "$want" = 0 ] || std=err
  if [ ! -s "$d/native.$std" ]; then fail "$name" "native run printed nothing on std$std"; return 1; fi
  same_files "$name" "$d/native" "$d/collrun"
}

# stats_of NAME KEY — KEY=N from the collrun-stats line of `pair NAME` (empty if absent)
stats_of() { stat_field "$S/$1/stats" "$2"; }

# flushes_of FILE — cache flushes in a --stats-file: the flushes= field when the stats line
# has one, else the table's "cache flushes N"; empty when neither exists.
flushes_of() {
  local v; v=$(stat_field "$1" flushes)
  [ -n "$v" ] || v=$(sed -nE 's/.*cache flushes ([0-9]+).*/\1/p' "$1" | tail -n 1)
  echo "$v"
}

# gone PID [SECONDS] — wait (failure detector only) until process PID no longer exists;
# status 0 if it is gone within SECONDS (default $HANG).
gone() {
  local pid=$1 t=${2:-$HANG}
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  timeout "$t" tail --pid="$pid" -f /dev/null >/dev/null 2>&1
  ! kill -0 "$pid" 2>/dev/null
}

# alive PID — the process exists and is not a zombie
alive() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  local st; st=$(sed -E 's/^.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ]
}

# pids_with TEXT — pids (other than this shell's) whose command line contains TEXT, a path
# unique to this script's scratch folder: how a test finds the processes it started itself.
pids_with() {
  local p c
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
    c=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
    [[ $c == *"$1"* ]] && echo "$p"
  done
}

# kill_with TEXT — SIGKILL every process pids_with TEXT finds (clean-up only).
kill_with() {
  local p
  for p in $(pids_with "$1"); do kill -9 "$p" 2>/dev/null; done
  return 0
}

# need_root CHECK — SKIP CHECK (status 1) unless running as root
need_root() {
  [ "$(id -u)" = 0 ] && return 0
  skip "$1" "needs root"; return 1
}

# slowfs_ready — build bench/slowfs into $S/bin (once); SKIP all (and exit) where FUSE
# cannot work: no /dev/fuse, no fusermount3, no libfuse3.
slowfs_ready() {
  [ -c /dev/fuse ] || { skip all "no /dev/fuse on this machine"; finish; }
  command -v fusermount3 >/dev/null || { skip all "no fusermount3 (apt-get install fuse3)"; finish; }
  pkg-config --exists fuse3 2>/dev/null || { skip all "no libfuse3 (apt-get install libfuse3-dev pkg-config)"; finish; }
  SLOWFS=$S/bin/slowfs
  make -s -C "$SRC/bench/slowfs" OUT="$S/bin" >"$S/slowfs-build.log" 2>&1 ||
    { fail slowfs-build "$(tail -3 "$S/slowfs-build.log")"; finish; }
  chmod 0755 "$S/bin"
  export SLOWFS
}

# slowfs_mount SRC MNT OPTS — mount slowfs (delay 0, -o OPTS) and wait until it answers;
# status 77 with a SKIP line printed by mount.sh when FUSE cannot work.
slowfs_mount() {
  SLOWFS_OPTS=$3 "$SRC/bench/slowfs/mount.sh" "$1" "$2" 0 >"$S/mount.log" 2>&1
}

# slowfs_umount MNT — open its gate (if any), unmount, lazily if it must (clean-up).
slowfs_umount() {
  [ -e "$1/.slowfs-gate" ] && timeout 10 sh -c "echo open >'$1/.slowfs-gate'" 2>/dev/null
  timeout 30 "$SRC/bench/slowfs/umount.sh" "$1" >/dev/null 2>&1 || fusermount3 -uz "$1" 2>/dev/null
  return 0
}

# gate MNT COMMAND — write COMMAND (open | close | close-after OP K) to MNT's gate
gate() { timeout 10 sh -c "echo '$2' >'$1/.slowfs-gate'"; }

# gate_held MNT — block until an operation is held at MNT's closed gate (failure detector:
# status 1 if none is within $HANG seconds)
gate_held() { timeout "$HANG" cat "$1/.slowfs-gate-wait" >/dev/null 2>&1; }

# fs_counts MNT — the .slowfs-stats line; fs_reset MNT — zero it
fs_counts() { cat "$1/.slowfs-stats"; }
fs_reset() { : >"$1/.slowfs-stats"; }
fs_field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# ---- MPI jobs over slowfs (node_share.sh, node_share_mpi.sh, session.sh, session_hosts.sh,
# slurm.sh)

# need_mpiexec — SKIP all (and exit) without MPICH's mpiexec; need_session — and without
# collrun-session (built only where MPICH's pkg-config file is)
need_mpiexec() { command -v mpiexec >/dev/null || { skip all "no mpiexec (apt-get install mpich)"; finish; }; }
need_session() {
  need_mpiexec
  [ -x "$BUILD/collrun-session" ] || { skip all "no $BUILD/collrun-session (MPICH's pkg-config file missing at build)"; finish; }
}

# slowfs_mount_or_finish SRC MNT — slowfs_mount with no options; where FUSE cannot work,
# SKIP all (mount.sh's reason), where the mount fails, FAIL mount; either way the script ends.
slowfs_mount_or_finish() {
  slowfs_mount "$1" "$2" "" && return 0
  [ $? = 77 ] && { skip all "$(cat "$S/mount.log")"; finish; }
  fail mount "$(tail -2 "$S/mount.log")"; finish
}

# clean NAME — after a job: every process the script's `ours` names gone (bounded wait: a
# node supervisor leaves just after the last rank's collrun has), and nothing in the
# rendezvous directory $RD. PASS/FAIL clean-NAME.
clean() {
  local p left
  for p in $(ours); do gone "$p" 30; done
  left=$(ours | tr '\n' ' ')
  if [ -z "$left" ] && [ -z "$(ls -A "$RD" 2>/dev/null)" ]; then pass "clean-$1"
  else fail "clean-$1" "left: processes [$left] files [$(ls -A "$RD" 2>/dev/null | tr '\n' ' ')]"; fi
}

# fifos N — the FIFOs $CTL/ready.R and $CTL/go.R of ranks 0..N-1 (nothing else in $CTL):
# a holding rank writes its pid to ready.R, then waits until go.R is written
fifos() { rm -f "$CTL"/*; for r in $(seq 0 $(($1 - 1))); do mkfifo "$CTL/ready.$r" "$CTL/go.$r"; done; }

# total NAME — slowfs operations of job NAME ($S/NAME/fs, written by the job functions)
total() { fs_field "$(cat "$S/$1/fs")" total; }

# same_ranks NAME NATIVE N [RANKS] — PASS/FAIL NAME: out/err/rc of the ranks (default
# 0..N-1) of job NAME equal those of job NATIVE, and native rank 0 printed something
# (matching the regular expression NATIVE_WANT when it is set)
same_ranks() {
  local name=$1 nat=$2 n=$3 r x bad=
  for r in ${4:-$(seq 0 $((n - 1)))}; do
    for x in out err rc; do cmp -s "$S/$nat/$x.$r" "$S/$name/$x.$r" || bad="$bad $x.$r"; done
  done
  if [ -n "${NATIVE_WANT-}" ]; then
    grep -q "$NATIVE_WANT" "$S/$nat/out.0" 2>/dev/null || bad="$bad (native rank 0 printed $(head -c 80 "$S/$nat/out.0" 2>/dev/null))"
  else
    [ -s "$S/$nat/out.0" ] || bad="$bad (native printed nothing)"
  fi
  if [ -z "$bad" ]; then pass "$name"; else fail "$name" "differs from native in:$bad (see $S/$name)"
    for x in $bad; do diff "$S/$nat/$x" "$S/$name/$x" 2>/dev/null | head -4 | sed "s/^/    $x: /"; done; fi
}

# session_pkg TREE APP — the package session.sh and session_hosts.sh import from slowfs:
# TREE/pkg (40 modules imported at once, a symlink alias.py, pkg.late imported after the
# rank is told to go on) and APP, the rank's program (holds on $NS_CTL's FIFOs when set)
session_pkg() {
  mkdir -p "$1/pkg/late" || return 1
  { echo 'from . import ' "$(seq -s ', ' -f 'm%g' 0 39)"
    echo 'def total(): return sum(getattr(globals()["m%d" % i], "V") for i in range(40))'; } >"$1/pkg/__init__.py"
  for i in $(seq 0 39); do printf 'import json, os.path\nV = %d\nT = json.dumps({"m": V})\n' "$i" >"$1/pkg/m$i.py"; done
  echo 'def value(): return "late-%d" % 7' >"$1/pkg/late/__init__.py"
  ln -sf m1.py "$1/pkg/alias.py"
  cat >"$2" <<'PYEOF'
import os, sys
rank = os.environ.get("PMI_RANK", "0")
import pkg, pkg.alias
print("total", pkg.total(), pkg.m3.T, pkg.alias.V, os.path.exists(os.path.join(pkg.__path__[0], "nothing")))
ctl = os.environ.get("NS_CTL")
if ctl:
    with open("%s/ready.%s" % (ctl, rank), "w") as f:
        f.write(str(os.getpid()))
    with open("%s/go.%s" % (ctl, rank)) as f:
        f.read()
    import pkg.late
    print("late", pkg.late.value())
PYEOF
}

# session_job NAME N MODE [COLLRUN-OPTS...] — mpiexec -n N of $PY $S/app.py reading from
# the slowfs at $M: natively (MODE native), under `collrun --cache=$M OPTS` with all ranks
# on one node supervisor (node), rank r on virtual node r (vnode), or rank 0 on the host's
# node supervisor and rank r > 0 on virtual node r (hosts: a session of one host named N
# times, whose member r > 0 serves virtual node r). Each rank writes $S/NAME/{out,err,rc}.R;
# its wrapper exits 0 so hydra never ends the others for one rank. slowfs counts: $S/NAME/fs.
session_job() {
  local name=$1 n=$2 mode=$3 d=$S/$1; shift 3
  rm -rf "$d"; mkdir -p "$d"
  local pre=(); [ "$mode" != native ] && pre=("$COLLRUN" --cache="$M" "$@" --)
  fs_reset "$M"
  timeout -k 10 "$HANG" mpiexec -n "$n" sh -c 'd=$1 mode=$2; shift 2; r=$PMI_RANK
      [ "$mode" = vnode ] && export COLLRUN_NODE_ID=$r
      [ "$mode" = hosts ] && [ "$r" != 0 ] && export COLLRUN_NODE_ID=$r
      "$@" </dev/null >"$d/out.$r" 2>"$d/err.$r"; echo $? >"$d/rc.$r"; exit 0' sh "$d" "$mode" "${pre[@]}" "$PY" "$S/app.py" \
      >"$d/mpiexec.out" 2>&1
  echo $? >"$d/mpiexec.rc"
  fs_counts "$M" >"$d/fs"
}
