#!/usr/bin/env bash
# slurm.sh — MPI ranks launched by a real Slurm (a one-node cluster this script starts and
# stops itself, tests/integration/slurm_lib.sh), natively and under collrun. Each collrun
# step's ranks share one node supervisor (job key slurm:JOB.STEP).
#   cluster-up           munged, slurmctld, slurmd come up and the node is idle
#   hello-native         srun -n 4 --overcommit mpi_hello: ranks 0..3, each of size 4, and an
#                        MPI_Allreduce over them (PMI2 wired the ranks to each other)
#   hello-collrun        srun -n 4 --overcommit collrun -- mpi_hello: the same sorted stdout
#   ids-native, ids-collrun   every rank of a step sees the same SLURM_JOB_ID and
#                        SLURM_STEP_ID (what node sharing will key on), and SLURM_MPI_TYPE=pmi2
#   shared-node-supervisor   the ranks of one step name one node supervisor, keyed slurm:JOB.0
#   batch                sbatch --wait of a script with two steps, both under collrun: both
#                        steps right, one job id, step ids 0 and 1
#   session-recipe       collrun(1)'s Slurm recipe for sessions, literally, in an sbatch script:
#                        `scontrol show hostnames` into a hostfile, ID=$(collrun --start-session
#                        -f HOSTFILE), steps `srun -n 4 --overcommit collrun --session=$ID`,
#                        collrun --end-session=$ID. Each step's ranks import a package from
#                        bench/slowfs: outputs right, every node supervisor joined the session;
#                        a step without it pays N slowfs operations, the first with it about N,
#                        the second at most N/10 (answered from what the session holds)
#   session-recipe-end   --end-session status 0; no member, mpiexec, collrun or job left, an
#                        empty rendezvous directory
#   scancel-step-*       scancel JOB.0 of ranks waiting under collrun (Slurm SIGKILLs the
#                        step): srun ends (-running), no collrun, keeper or rank is left
#   scancel-job-*        scancel JOB (SIGTERM; SIGKILL only after a KillWait longer than
#                        the test waits): SIGTERM alone ends collrun, keeper and ranks
#   cluster-down         the daemons stop on SIGTERM, with status 0, and nothing of the
#                        cluster (no slurmstepd) is left
# Exits 0 with a SKIP line where no cluster can run here (not root, packages missing).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_extra.sh"
source "$(dirname "$0")/slurm_lib.sh"
need_collrun
command -v mpicc >/dev/null || { skip all "no mpicc (apt-get install mpich)"; finish; }
t0=$SECONDS

HELLO=$S/bin/mpi_hello
mkdir -p "$S/bin"
if ! mpicc -O1 -Wall -Wextra -Werror -o "$HELLO" "$SRC/tests/integration/helpers/mpi_hello.c" >"$S/bin/mpi_hello.log" 2>&1; then
  fail build-mpi_hello "$(head -3 "$S/bin/mpi_hello.log")"; finish
fi
chmod 0755 "$S/bin" "$HELLO"

SLURM_EXTRA_CONF="KillWait=$((HANG * 3))"   # scancel-job: SIGTERM must be enough
slurm_up
pass cluster-up
echo "note: cluster $SLURM_NODE ($SLURM_CPUS CPUs) up in $((SECONDS - t0))s, SLURM_CONF=$SLURM_CONF"

N=4
want=$(for r in $(seq 0 $((N - 1))); do echo "rank $r of $N sum=$((N * (N - 1) / 2))"; done)

# ids NAME FILE RANKS — the "slurm R job=J step=T mpi=M" lines of FILE: one per rank 0..RANKS-1,
# J and T set and the same on every line, M=pmi2. Sets IDS="J T" (empty on failure).
ids() {
  local name=$1 f=$2 n=$3 lines jobs steps
  IDS=
  lines=$(grep -E '^slurm [0-9]+ ' "$f" | sort -n -k2)
  echo "note: $name: $(tr '\n' ';' <<<"$lines")"
  jobs=$(sed -n 's/.* job=\([^ ]*\) .*/\1/p' <<<"$lines" | sort -u)
  steps=$(sed -n 's/.* step=\([^ ]*\) .*/\1/p' <<<"$lines" | sort -u)
  if [ "$(cut -d' ' -f2 <<<"$lines" | tr '\n' ' ')" != "$(seq 0 $((n - 1)) | tr '\n' ' ')" ]; then
    fail "$name" "not one line per rank 0..$((n - 1)) in $f"; return 1
  fi
  if [ "$(wc -l <<<"$jobs")" != 1 ] || [ "$(wc -l <<<"$steps")" != 1 ] ||
     ! [[ $jobs =~ ^[0-9]+$ && $steps =~ ^[0-9]+$ ]]; then
    fail "$name" "SLURM_JOB_ID ($(echo $jobs)) or SLURM_STEP_ID ($(echo $steps)) unset or not one value across ranks"; return 1
  fi
  if grep -E '^slurm ' "$f" | grep -vq ' mpi=pmi2$'; then
    fail "$name" "SLURM_MPI_TYPE is not pmi2 in every rank"; return 1
  fi
  pass "$name"; IDS="$jobs $steps"
}

# step NAME CMD... — run CMD (an srun) in $S/NAME with stdin /dev/null; NAME.{out,err,rc}
step() {
  local name=$1; shift
  mkdir -p "$S/$name"
  (cd "$S/$name" && exec timeout -k 10 "$HANG" "$@" </dev/null >"$S/$name.out" 2>"$S/$name.err")
  echo $? >"$S/$name.rc"
}

# hello-native / hello-collrun: 4 ranks on 2 CPUs, wired together over PMI2
step native srun -n "$N" --overcommit "$HELLO"
step collrun srun -n "$N" --overcommit "$COLLRUN" -- "$HELLO"
if [ "$(cat "$S/native.rc")" = 0 ] && [ "$(sort "$S/native.out")" = "$want" ]; then
  pass hello-native
else
  fail hello-native "rc=$(cat "$S/native.rc"), sorted stdout: $(sort "$S/native.out" | tr '\n' ';') $(grep -v '^slurm ' "$S/native.err" | head -2 | tr '\n' ' ')"
fi
if [ "$(cat "$S/collrun.rc")" = 0 ] && [ "$(sort "$S/collrun.out")" = "$(sort "$S/native.out")" ] && [ -s "$S/native.out" ]; then
  pass hello-collrun
else
  fail hello-collrun "rc=$(cat "$S/collrun.rc"), sorted stdout differs from native: $(sort "$S/collrun.out" | tr '\n' ';') $(grep -v '^slurm ' "$S/collrun.err" | head -2 | tr '\n' ' ')"
fi
ids ids-native "$S/native.err" "$N"
ids ids-collrun "$S/collrun.err" "$N"

# shared: the 4 ranks of one step are served by ONE node supervisor, keyed by the step
# (collrun -v names it in each rank's stderr: srun --error with %t gives one file per task)
step shared srun -n "$N" --overcommit --error="$S/shared.%t.err" "$COLLRUN" -v -- "$HELLO"
sh_lines=$(cat "$S"/shared.[0-9]*.err 2>/dev/null | grep 'node sharing: job .*, served by the node supervisor')
sh_pids=$(sed -n 's/.*served by the node supervisor (pid \([0-9]*\).*/\1/p' <<<"$sh_lines" | sort -u)
sh_keys=$(sed -n 's/.*node sharing: job \([^ ,]*\),.*/\1/p' <<<"$sh_lines" | sort -u)
if [ "$(cat "$S/shared.rc")" = 0 ] && [ "$(sort "$S/shared.out")" = "$want" ] &&
   [ "$(grep -c . <<<"$sh_lines")" = "$N" ] && [ "$(grep -c . <<<"$sh_pids")" = 1 ] &&
   [[ $sh_keys =~ ^slurm:[0-9]+\.0 ]]; then
  pass shared-node-supervisor
else
  fail shared-node-supervisor "rc=$(cat "$S/shared.rc"); want $N ranks naming one node supervisor and job slurm:J.0, got pids [$(echo $sh_pids)] keys [$(echo $sh_keys)]: $(head -c 300 <<<"$sh_lines" | tr '\n' ';')"
fi

# batch: one job, two steps, both under collrun
B=$S/batch; mkdir -p "$B"
cat >"$B/job.sh" <<EOF
#!/bin/sh
echo "batch SLURM_JOB_ID=\$SLURM_JOB_ID SLURM_STEP_ID=\${SLURM_STEP_ID-unset}"
srun -n $N --overcommit "$COLLRUN" -- "$HELLO" >"$B/step0.out" 2>"$B/step0.err" || exit 10
srun -n $N --overcommit "$COLLRUN" -- "$HELLO" >"$B/step1.out" 2>"$B/step1.err" || exit 11
EOF
chmod 0755 "$B/job.sh"
timeout -k 10 "$HANG" sbatch --wait -n "$N" --overcommit -J collrun-batch -D "$B" -o "$B/job.log" "$B/job.sh" \
  </dev/null >"$B/sbatch.out" 2>"$B/sbatch.err"
rc=$?
echo "note: batch: $(cat "$B/job.log" 2>/dev/null | tr '\n' ' ')"
ids batch-step0-ids "$B/step0.err" "$N"; s0=$IDS
ids batch-step1-ids "$B/step1.err" "$N"; s1=$IDS
if [ "$rc" != 0 ]; then
  fail batch "sbatch --wait exited $rc: $(cat "$B/sbatch.err" "$B/job.log" 2>/dev/null | head -3 | tr '\n' ' ')"
elif [ "$(sort "$B/step0.out")" != "$want" ] || [ "$(sort "$B/step1.out")" != "$want" ]; then
  fail batch "a step printed the wrong ranks: $(sort "$B/step0.out" | tr '\n' ';') / $(sort "$B/step1.out" | tr '\n' ';')"
elif [ -z "$s0" ] || [ "${s0% *}" != "${s1% *}" ] || [ "${s0#* }" = "${s1#* }" ]; then
  fail batch "steps are not two steps of one job: (job step) = ($s0) and ($s1)"
else
  pass batch
fi

# session-recipe: collrun(1)'s Slurm recipe for sessions, literally, in a batch script:
# the hosts of the allocation in a hostfile, ID=$(collrun --start-session -f HOSTFILE)
# (mpiexec then starts the members through srun, as a step of the job), then job steps
# `srun collrun --session=$ID -- ...`, then collrun --end-session=$ID. The ranks import a
# package from bench/slowfs (a FUSE mirror counting operations; FUSE is "shared", so the
# session answers for it). A step without the session pays in full; the first step with it
# pays about as much (the root reads for it); the second step's new node supervisor is
# answered from what the session already holds: it costs the file system (almost) nothing.
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null && pkg-config --exists fuse3 2>/dev/null; then
  slowfs_ready
  SR=$S/session-recipe M=$S/session-recipe/mnt RD=$S/rd PY=/usr/bin/python3
  mkdir -p "$SR/tree" "$RD" && chmod 700 "$RD" && session_pkg "$SR/tree" "$S/app.py" || fail session-recipe "cannot create the trees"
  SLURM_AT_EXIT='kill_with "--cache=$M"; kill_with "$BUILD/collrun-session --serve"; slowfs_umount "$M"'
  slowfs_mount_or_finish "$SR/tree" "$M"
  settle_clock
  cat >"$SR/job.sh" <<EOF
#!/bin/sh
# the recipe of collrun(1), SESSIONS, Slurm
scontrol show hostnames "\$SLURM_JOB_NODELIST" >"$SR/hosts"
ID=\$("$COLLRUN" --start-session -f "$SR/hosts" 2>"$SR/start.err") || exit 20
echo "\$ID" >"$SR/id"
ls "$RD/session-\$ID" >"$SR/members"
step() {   # step NAME COLLRUN-OPTS...: N tasks importing the package; slowfs counts after
  name=\$1; shift
  : >"$M/.slowfs-stats"
  srun -n $N --overcommit --error="$SR/\$name.%t.err" "$COLLRUN" --cache="$M" "\$@" -- $PY "$S/app.py" >"$SR/\$name.out"
  echo \$? >"$SR/\$name.rc"
  cat "$M/.slowfs-stats" >"$SR/\$name.fs"
}
step alone -v
step first -v --session="\$ID"
step second -v --session="\$ID"
"$COLLRUN" --end-session="\$ID" 2>"$SR/end.err"; echo \$? >"$SR/end.rc"
EOF
  chmod 0755 "$SR/job.sh"
  COLLRUN_RUNTIME_DIR=$RD PYTHONPATH=$M timeout -k 10 "$HANG" sbatch --wait -n "$N" --overcommit -J collrun-session -D "$SR" -o "$SR/job.log" "$SR/job.sh" \
    </dev/null >"$SR/sbatch.out" 2>"$SR/sbatch.err"
  rc=$?
  ID=$(cat "$SR/id" 2>/dev/null)
  want_out=$(for r in $(seq 1 $N); do PYTHONPATH=$SR/tree "$PY" "$S/app.py"; done)
  fsa=$(fs_field "$(cat "$SR/alone.fs" 2>/dev/null)" total) fs1=$(fs_field "$(cat "$SR/first.fs" 2>/dev/null)" total) fs2=$(fs_field "$(cat "$SR/second.fs" 2>/dev/null)" total)
  echo "note: session-recipe: sbatch $rc, session [$ID] members [$(tr '\n' ' ' <"$SR/members" 2>/dev/null)]; slowfs operations of $N tasks: $fsa without the session, $fs1 in its first step, $fs2 in its second"
  bad=
  for x in alone first second; do
    [ "$(cat "$SR/$x.rc" 2>/dev/null)" = 0 ] && [ "$(sort "$SR/$x.out" 2>/dev/null)" = "$(sort <<<"$want_out")" ] || bad="$bad $x-output"
  done
  for x in first second; do
    [ "$(cat "$SR/$x".[0-9]*.err 2>/dev/null | grep -c "^collrun: session $ID: this node supervisor asks the session for shared file systems\$")" -ge 1 ] || bad="$bad $x-not-joined"
    grep -qs "warning: session" "$SR/$x".[0-9]*.err && bad="$bad $x-warned"
  done
  if [ "$rc" != 0 ] || [ -z "$ID" ]; then
    fail session-recipe "sbatch --wait exited $rc, session id [$ID]: $(cat "$SR/sbatch.err" "$SR/job.log" "$SR/start.err" 2>/dev/null | head -4 | tr '\n' ' ')"
  elif [ -n "$bad" ] || ! [ "${fsa:-0}" -gt 0 ] || [ "$fs1" -gt $((fsa * 102 / 100 + 5)) ] || [ "$fs2" -gt $((fsa / 10)) ]; then
    fail session-recipe "wrong:$bad; slowfs operations alone/first/second: $fsa/$fs1/$fs2 (want first <= alone, second <= alone/10): $(grep -hv '^collrun: \(node sharing\|session\)' "$SR"/*.err 2>/dev/null | head -3 | tr '\n' ' ')"
  else
    pass session-recipe
  fi
  left=$(for p in $(pids_with "--cache=$M") $(pids_with "$BUILD/collrun-session --serve"); do alive "$p" && echo "$p"; done | tr '\n' ' ')
  if [ "$(cat "$SR/end.rc" 2>/dev/null)" = 0 ] && [ -z "$left" ] && [ -z "$(ls -A "$RD")" ] && [ -z "$(squeue -h -o %A)" ]; then
    pass session-recipe-end
  else
    fail session-recipe-end "--end-session status $(cat "$SR/end.rc" 2>/dev/null): $(head -2 "$SR/end.err" 2>/dev/null | tr '\n' ' '); left: processes [$left] files [$(ls -A "$RD" | tr '\n' ' ')] jobs [$(squeue -h -o %A | tr '\n' ' ')]"
  fi
  slowfs_umount "$M"
else
  skip session-recipe "no FUSE here (/dev/fuse, fusermount3, libfuse3): the recipe's proof counts operations on bench/slowfs"
fi

# scancel: ranks waiting under collrun, then cancelled; nothing of them may stay.
ours() {   # the collrun, keeper and rank processes of a cancel case, as "pid:comm"
  local p comm
  for p in $(pids_with "$HELLO wait"); do
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    case $comm in collrun|collrun-keeper|mpi_hello) echo "$p:$comm" ;; esac
  done
}
# cancel NAME WHAT — start N ranks under collrun that wait, scancel WHAT ("step": the job
# step, which Slurm ends with SIGKILL to each of its processes; "job": the whole job, which
# Slurm ends with SIGTERM, SIGKILL only after KillWait, here far beyond $HANG, so SIGTERM
# alone must end collrun, its keeper and the rank). PASS/FAIL NAME-running (srun ends) and
# NAME-leaves-nothing.
cancel() {
  local name=$1 what=$2 d=$S/$1 pid before job c rc
  mkdir -p "$d"
  (cd "$d" && exec srun -n "$N" --overcommit -J "collrun-$name" "$COLLRUN" -- "$HELLO" wait </dev/null >"$d/out" 2>"$d/err") &
  pid=$!
  if ! slurm_poll "$HANG" eval '[ "$(grep -c "^ready " "$d/out")" = '"$N"' ]'; then
    fail "$name-running" "the ranks never all said ready: $(head -3 "$d/err" | tr '\n' ' ')"; kill_with "$HELLO wait"; return 1
  fi
  before=$(ours | sort)
  job=$(squeue -h -n "collrun-$name" -o %A)
  echo "note: $name: job $job, before: $(cut -d: -f2 <<<"$before" | sort | uniq -c | tr -s ' \n' ' ')"
  for c in collrun collrun-keeper mpi_hello; do   # per rank: collrun, its keeper, the rank
    [ "$(grep -c ":$c\$" <<<"$before")" = "$N" ] || fail "$name-running" "expected $N $c processes before scancel, saw: $(echo $before)"
  done
  case $what in step) scancel "$job.0" ;; job) scancel "$job" ;; esac
  if slurm_poll "$HANG" eval '! alive '"$pid"; then
    wait "$pid"; rc=$?
    echo "note: $name: srun exited $rc: $(grep -v '^slurm ' "$d/err" | tr '\n' ' ')"
    if [ "$rc" != 0 ]; then pass "$name-running"; else fail "$name-running" "srun of a cancelled step exited 0"; fi
  else
    fail "$name-running" "srun still running ${HANG}s after scancel"
  fi
  if slurm_poll "$HANG" eval '[ -z "$(ours)" ] && [ -z "$(squeue -h -o %A)" ] && [ -z "$(slurm_ours_steps)" ]'; then
    pass "$name-leaves-nothing"
  else
    fail "$name-leaves-nothing" "left ${HANG}s after scancel: $(echo $(ours)) jobs: $(squeue -h -o %A | tr '\n' ' ') slurmstepd: $(echo $(slurm_ours_steps))"
  fi
  kill_with "$HELLO wait"
}
cancel scancel-step step
cancel scancel-job job

# cluster-down: every daemon goes on SIGTERM, and nothing of the cluster remains
t1=$SECONDS
if slurm_down && [ -z "$(slurm_ours)" ]; then pass cluster-down; else fail cluster-down "did not stop cleanly:$SLURM_STRAYS $(slurm_ours)"; fi
echo "note: cluster down in $((SECONDS - t1))s; whole script $((SECONDS - t0))s"
finish
