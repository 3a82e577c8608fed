# slurm_lib.sh — sourced (after lib.sh and lib_extra.sh) by tests that run jobs under a real
# Slurm. Not executable: tests/run.sh runs only executable scripts.
#
# slurm_up starts a one-node cluster of this machine that belongs to the calling script
# alone: its own munged (own key, own socket), slurmctld and slurmd, as root, on two free
# TCP ports, with every file they write (slurm.conf, state, spool, pid and log files, the
# munge key and socket) in $SLURM_DIR (default $S/cluster, under $BUILD; never /tmp). It
# exports SLURM_CONF, so srun, sbatch, squeue and scancel talk to that cluster, and sets
# SLURM_NODE (the node's name) and SLURM_CPUS. slurm_down stops every daemon slurm_up
# started, by the pids it recorded; an EXIT trap runs it too, so no exit leaves one behind.
# Where the cluster cannot exist here (not root, Debian packages missing, socket paths too
# long) slurm_up prints "SKIP: integration/$T/cluster: why" and ends the script with 0.
# A daemon that has what it needs and still does not come up is a FAIL (its log is shown):
# that is a broken harness or a broken Slurm, never something to skip quietly.
#
# The configuration: SlurmUser=root, ProctrackType=proctrack/linuxproc (no cgroups, so no
# cgroup.conf), TaskPlugin=task/none, select/cons_tres with CR_CPU, MpiDefault=pmi2, one
# partition with OverSubscribe=FORCE:8 and the CPUs `slurmd -C` finds. Debian 12's MPICH
# 4.0.2 needs nothing more: its built-in PMI client speaks the PMI-1 wire protocol over the
# PMI_FD that Slurm's mpi/pmi2 plugin hands each task (and that plugin serves it); the
# libpmi2-0 package is not needed.

SLURM_DIR=${SLURM_DIR:-$S/cluster}
SLURM_EXTRA_CONF=${SLURM_EXTRA_CONF-}  # more slurm.conf lines (e.g. KillWait=300), set before slurm_up
SLURM_AT_EXIT=${SLURM_AT_EXIT-}        # a command the EXIT trap runs first (the script's own clean-up)
SLURM_WAIT=${SLURM_WAIT:-$HANG}     # seconds a daemon may take to come up or go (a bound only)
declare -A SLURM_PID=()              # daemon name -> pid of the process slurm_up started
SLURM_STRAYS=                         # what slurm_down had to kill (empty: everything stopped)

# slurm_poll SECONDS CMD... — run CMD until it succeeds; status 1 if it never does within
# SECONDS. The pause between tries only paces the loop; it is never what a test relies on.
slurm_poll() {
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.2
  done
}

# slurm_skip WHY — the cluster cannot exist here: one SKIP line, a banner on stderr, exit
slurm_skip() {
  skip cluster "$1"
  echo "*** integration/$T: SKIPPED, no Slurm cluster on this machine: $1 ***" >&2
  finish
}

# slurm_ours — pids of daemons (munged, slurmctld, slurmd, slurmstepd) that belong to the
# cluster in $SLURM_DIR: its configuration in their environment (the Slurm daemons and the
# slurmstepd processes slurmd starts inherit SLURM_CONF) or its socket on their command line
# (munged). Finds what a killed earlier run of the same script left, and stray step daemons.
slurm_ours() {
  local p c comm
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    case $comm in munged|slurmctld|slurmd|slurmstepd) ;; *) continue ;; esac
    c=$(tr '\0' '\n' 2>/dev/null <"/proc/$p/environ"; tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")
    case $c in *"SLURM_CONF=$SLURM_DIR/slurm.conf"*|*"--socket=$SLURM_DIR/munge.sock"*) echo "$p" ;; esac
  done
}

# slurm_free_port [NOT] — a TCP port no socket uses (and not NOT), below the ephemeral
# range so that no outgoing connection takes it before the daemon binds it
slurm_free_port() {
  local used p i lo
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
  [ "$lo" -gt 12000 ] || lo=32768
  used=" $(while read -r _ a _ _; do [[ $a == *:* ]] && echo $((16#${a##*:})); done \
           < <(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null) | tr '\n' ' ') "
  for i in $(seq 100); do
    p=$((lo - 10000 + RANDOM % 10000))
    [ "$p" != "${1-}" ] && [[ $used != *" $p "* ]] && { echo "$p"; return 0; }
  done
  return 1
}

# slurm_start NAME CMD... — start daemon NAME in the foreground of a background job, logging
# to $SLURM_DIR/NAME.out; record its pid
slurm_start() {
  local name=$1; shift
  "$@" </dev/null >>"$SLURM_DIR/$name.out" 2>&1 &
  SLURM_PID[$name]=$!
  echo "$name ${SLURM_PID[$name]}" >>"$SLURM_DIR/pids"
}

# slurm_wait_up NAME CHECK... — poll CHECK until it succeeds while daemon NAME lives; on
# failure a FAIL line with the end of NAME's log, and the script ends (the trap cleans up)
slurm_wait_up() {
  local name=$1 end=$((SECONDS + SLURM_WAIT)); shift
  until "$@" >/dev/null 2>&1; do
    if ! alive "${SLURM_PID[$name]}"; then
      fail cluster-up "$name exited at start: $(grep -hvE '^\s*$' "$SLURM_DIR/$name.log" "$SLURM_DIR/$name.out" 2>/dev/null | tail -n 3 | tr '\n' ' ')"
      finish
    fi
    if [ "$SECONDS" -ge "$end" ]; then
      fail cluster-up "$name not ready after ${SLURM_WAIT}s ($*): $(tail -n 3 "$SLURM_DIR/$name.log" 2>/dev/null | tr '\n' ' ')"
      finish
    fi
    sleep 0.2
  done
}

slurm_munge_ok() { munge -S "$SLURM_DIR/munge.sock" -n </dev/null | unmunge -S "$SLURM_DIR/munge.sock"; }
slurm_ctld_ok() { scontrol ping | grep -q 'is UP'; }
slurm_node_idle() { [ "$(sinfo -h -n "$SLURM_NODE" -o %t)" = idle ]; }

slurm_up() {
  local c missing= v
  [ "$(id -u)" = 0 ] || slurm_skip "needs root (SlurmUser=root; slurmd starts tasks as their user)"
  for c in munged munge unmunge slurmctld slurmd srun sbatch squeue sinfo scancel scontrol; do
    command -v "$c" >/dev/null || missing="$missing $c"
  done
  [ -z "$missing" ] || slurm_skip "missing$missing (apt-get install slurmctld slurmd slurm-client munge)"
  # Unix socket paths are at most 107 bytes: munged's, and slurmd's step sockets in its spool
  [ "${#SLURM_DIR}" -le 60 ] || slurm_skip "$SLURM_DIR is too long for the daemons' unix sockets (use a shorter BUILD)"

  # Nothing from a surrounding job may steer our clients: only our SLURM_CONF counts.
  for v in $(compgen -e); do
    case $v in SLURM_*|SBATCH_*|SRUN_*|SALLOC_*|SQUEUE_*|SINFO_*|SCANCEL_*|PMI_*|PMIX_*) unset "$v" ;; esac
  done
  # An earlier run of this script killed before its trap ran: end what it left
  for v in $(slurm_ours); do kill -9 "$v" 2>/dev/null && echo "note: killed leftover $(cat "/proc/$v/comm" 2>/dev/null) $v of an earlier run"; done

  rm -rf "$SLURM_DIR"
  mkdir -p "$SLURM_DIR/state" "$SLURM_DIR/spool" || { fail cluster-up "cannot create $SLURM_DIR"; finish; }
  chmod 0755 "$SLURM_DIR"            # munged: its socket's folder must be searchable by all
  trap 'eval "${SLURM_AT_EXIT:-:}"; slurm_down trap || exit 1' EXIT
  trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP

  # munge: a key of our own (made if there is none), a daemon of our own on our own socket
  if [ ! -s "$SLURM_DIR/munge.key" ]; then
    (umask 077 && head -c 1024 /dev/urandom >"$SLURM_DIR/munge.key") ||
      { fail cluster-up "cannot write a munge key"; finish; }
  fi
  chmod 0400 "$SLURM_DIR/munge.key"
  slurm_start munged munged -F --force --key-file="$SLURM_DIR/munge.key" --socket="$SLURM_DIR/munge.sock" \
    --pid-file="$SLURM_DIR/munged.pid" --log-file="$SLURM_DIR/munged.log" --seed-file="$SLURM_DIR/munged.seed"
  slurm_wait_up munged slurm_munge_ok

  SLURM_NODE=$(hostname -s)
  SLURM_CPUS=$(slurmd -C 2>/dev/null | sed -n 's/.* CPUs=\([0-9][0-9]*\).*/\1/p')
  [ -n "$SLURM_CPUS" ] || SLURM_CPUS=$(getconf _NPROCESSORS_ONLN)
  local ctld_port slurmd_port
  ctld_port=$(slurm_free_port) && slurmd_port=$(slurm_free_port "$ctld_port") ||
    { fail cluster-up "no free TCP port"; finish; }
  : >"$SLURM_DIR/plugstack.conf"
  cat >"$SLURM_DIR/slurm.conf" <<EOF
# written by tests/integration/slurm_lib.sh: a one-node cluster for one test script
ClusterName=collrun
SlurmctldHost=$SLURM_NODE(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_DIR/munge.sock
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/slurmctld.log
SlurmdLogFile=$SLURM_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$SLURM_DIR/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmi2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MailProg=/bin/true
ReturnToService=2
NodeName=$SLURM_NODE NodeAddr=127.0.0.1 CPUs=$SLURM_CPUS State=UNKNOWN
PartitionName=test Nodes=$SLURM_NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
${SLURM_EXTRA_CONF-}
EOF
  export SLURM_CONF=$SLURM_DIR/slurm.conf

  slurm_start slurmctld slurmctld -D -c -f "$SLURM_CONF"
  slurm_wait_up slurmctld slurm_ctld_ok
  slurm_start slurmd slurmd -D -N "$SLURM_NODE" -f "$SLURM_CONF"
  slurm_wait_up slurmd slurm_node_idle
}

# slurm_stop NAME — TERM daemon NAME, wait (bounded) until it is gone, reap it; KILL it and
# say so in SLURM_STRAYS if it does not go, or if it exits with a status other than 0
slurm_stop() {
  local name=$1 pid=${SLURM_PID[$1]-} rc
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  if ! slurm_poll "$SLURM_WAIT" eval '! alive '"$pid"; then
    kill -KILL "$pid" 2>/dev/null
    SLURM_STRAYS="$SLURM_STRAYS $name($pid):killed"
  fi
  wait "$pid" 2>/dev/null; rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 143 ] || SLURM_STRAYS="$SLURM_STRAYS $name:exit-$rc"
  unset "SLURM_PID[$name]"
}

# slurm_down [trap] — end every job of the cluster, then stop slurmd, slurmctld, munged.
# Status 0 when all of it went on its own; else 1, what had to be killed in SLURM_STRAYS.
# From the EXIT trap ("trap"), a FAIL line says what did not go cleanly.
slurm_down() {
  local p jobs
  SLURM_STRAYS=
  [ "${#SLURM_PID[@]}" -gt 0 ] || return 0
  if [ -n "${SLURM_PID[slurmctld]-}" ] && alive "${SLURM_PID[slurmctld]}"; then
    jobs=$(squeue -h -o %A 2>/dev/null)
    [ -z "$jobs" ] || scancel $jobs 2>/dev/null
    slurm_poll "$SLURM_WAIT" eval '[ -z "$(squeue -h -o %A)" ] && [ -z "$(slurm_ours_steps)" ]' ||
      SLURM_STRAYS="$SLURM_STRAYS jobs:$(squeue -h -o %A | tr '\n' ,)"
  fi
  slurm_stop slurmd
  for p in $(slurm_ours_steps); do
    SLURM_STRAYS="$SLURM_STRAYS slurmstepd($p):killed-with-$(slurm_kill_tree "$p")-tasks"
  done
  slurm_stop slurmctld
  slurm_stop munged
  if [ -z "$SLURM_STRAYS" ]; then return 0; fi
  [ "${1-}" != trap ] || fail cluster-down "daemons did not stop cleanly:$SLURM_STRAYS"
  return 1
}

# slurm_kill_tree PID — SIGKILL PID and every process descended from it (what a step
# daemon killed without its job's end would leave: the tasks); prints how many descendants
slurm_kill_tree() {
  local p pp all=" $1 " n=0 grew=1
  while [ "$grew" = 1 ]; do
    grew=0
    for p in /proc/[0-9]*; do
      p=${p#/proc/}; [[ $all == *" $p "* ]] && continue
      pp=$(sed -E 's/^.*\) . ([0-9]+) .*/\1/' "/proc/$p/stat" 2>/dev/null) || continue
      [[ $all == *" $pp "* ]] && { all="$all$p "; grew=1; n=$((n + 1)); }
    done
  done
  for p in $all; do kill -KILL "$p" 2>/dev/null; done
  echo "$n"
}

# slurm_ours_steps — the slurmstepd processes of this cluster
slurm_ours_steps() {
  local p
  for p in $(slurm_ours); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = slurmstepd ] && echo "$p"; done
}
