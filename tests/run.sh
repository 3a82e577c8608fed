#!/usr/bin/env bash
# Runs every test make check knows: Criterion units, differential probes, integration
# scripts. Scripts print "PASS: name", "FAIL: name: why" or "SKIP: name: why" lines;
# this file counts them and ends with the one summary line CI reads.
set -u
# Tests send ^C-like SIGINTs and SIGQUITs to jobs: started in the background by a
# non-interactive shell (`make check &`, a CI wrapper) both arrive ignored, and a shell
# cannot undo that itself. Start again with the default actions (coreutils' env).
if [ -z "${COLLRUN_TESTS_SIGNALS_SET:-}" ]; then
  export COLLRUN_TESTS_SIGNALS_SET=1
  exec env --default-signal=INT,QUIT,TERM,HUP,TSTP,TTIN,TTOU,PIPE,USR1,USR2 "$0" "$@"
fi
: "${BUILD:?}" "${SRC:?}" "${COLLRUN:?}"
export BUILD SRC COLLRUN
pass=0 fail=0 skip=0
log=$BUILD/tests/log; mkdir -p "$log"

count_lines() {   # $1 = file with PASS/FAIL/SKIP lines
  local p f s
  p=$(grep -c '^PASS: ' "$1"); f=$(grep -c '^FAIL: ' "$1"); s=$(grep -c '^SKIP: ' "$1")
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  grep -E '^(FAIL|SKIP): ' "$1"
}

for t in "$BUILD"/tests/unit/*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  out=$log/unit-$name.txt
  "$t" --jobs 1 >"$out" 2>&1; rc=$?
  synth=$(grep -E 'Synthesis: Tested: [0-9]+' "$out" | tail -1)
  tested=$(sed -nE 's/.*Tested: ([0-9]+).*/\1/p' <<<"$synth")
  passing=$(sed -nE 's/.*Passing: ([0-9]+).*/\1/p' <<<"$synth")
  if [ -z "$tested" ] || [ "$tested" = 0 ]; then
    echo "FAIL: unit/$name: no Criterion synthesis (rc=$rc)"; fail=$((fail + 1)); continue
  fi
  pass=$((pass + passing)); fail=$((fail + tested - passing))
  [ "$rc" = 0 ] && [ "$tested" = "$passing" ] || { echo "FAIL: unit/$name"; grep -E '\[(FAIL|----)\]' "$out" | head -20; }
  echo "unit/$name: $synth"
done

# run_script PREFIX SCRIPT [VAR=VALUE...] — one test script, with those variables in its
# environment and its check names under PREFIX (ptrace/, outer-listener/ or none): its
# lines are counted, and a script that fails without a FAIL line counts as one.
run_script() {
  local prefix=$1 t=$2 name out rc before; shift 2
  name=$prefix$(basename "$(dirname "$t")")/$(basename "$t" .sh)
  out=$log/$(tr / - <<<"$name").txt
  env "$@" "$t" 2>&1 | sed -E "s#^(PASS|FAIL|SKIP): #\\1: $prefix#" >"$out"; rc=${PIPESTATUS[0]}
  before=$fail
  count_lines "$out"
  if [ "$rc" != 0 ] && [ "$fail" = "$before" ]; then
    echo "FAIL: $name: exited $rc without a FAIL line (see $out)"; fail=$((fail + 1))
  fi
  echo "$name: $(grep -c '^PASS: ' "$out") passed, $(grep -c '^FAIL: ' "$out") failed"
}

for t in "$SRC"/tests/diff/*.sh "$SRC"/tests/integration/*.sh; do
  [ -x "$t" ] && run_script "" "$t"
done

# The same differential and integration tests again under the ptrace backend (issue 13):
# every answer must be the same whichever backend traps the call. Not run again: what is
# about node supervisors and sessions (the ptrace backend serves its own program only: a
# tracer cannot hand its tracees over), and the scripts that choose backends themselves.
no_ptrace=" node_share node_share_mpi session session_hosts session_stream slurm kernel_support backend audit "
{
  echo "ptrace pass (COLLRUN_BACKEND=ptrace); not again:$no_ptrace"
  for t in "$SRC"/tests/diff/*.sh "$SRC"/tests/integration/*.sh; do
    [ -x "$t" ] || continue
    case $no_ptrace in *" $(basename "$t" .sh) "*) continue ;; esac
    run_script ptrace/ "$t" COLLRUN_BACKEND=ptrace COLLRUN_DIFF_TRACED=1
  done
}

# The differential tests once more under another supervisor's seccomp listener (a
# container runtime's, as outer_listener installs one): auto must fall back to the ptrace
# backend and still answer exactly as natively.
{
  echo "outer-listener pass: tests/diff under outer_listener, COLLRUN_BACKEND=auto"
  tmp=$BUILD/tests/outer-tmp; mkdir -p "$tmp"; chmod 1777 "$tmp"
  run_script outer-listener/ "$SRC/tests/diff/run-diff.sh" REAL_COLLRUN="$COLLRUN" \
    OUTER_LISTENER="$BUILD/tests/helpers/outer_listener" OUTER_TMP="$tmp" \
    COLLRUN="$SRC/tests/integration/helpers/under_outer_listener.sh" COLLRUN_BACKEND=auto COLLRUN_DIFF_TRACED=1
  rm -rf "$tmp"
}

[ "$skip" -gt 0 ] && echo "($skip skipped — see SKIP lines above)"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
