#!/usr/bin/env bash
# Stands in for collrun in the diff suite's last pass (tests/run.sh): runs
# `collrun ARGS...` under another supervisor's seccomp listener (outer_listener: a container
# runtime's, say), where collrun's auto backend must fall back to ptrace and still answer
# exactly as natively. collrun's one line saying so is taken out of standard error, so the
# rest compares byte for byte with the native run; if that line is missing, a line saying
# so is left in its place, and the comparison fails.
# Env: REAL_COLLRUN, OUTER_LISTENER, OUTER_TMP (a folder any user may write: the suite also
# runs as uid 65534).
set -u
note="collrun: a seccomp listener is already installed for this process tree (another supervisor or a container runtime): using the ptrace backend"
err=$(mktemp "$OUTER_TMP/err.XXXXXX") || exit 125
# What this shell changed in the environment goes back: its SHLVL increment, and the "_"
# it exports to the commands it runs (the suite runs collrun with no "_").
export SHLVL=$((SHLVL - 1))
env -u _ "$OUTER_LISTENER" "$REAL_COLLRUN" "$@" 2>"$err"; rc=$?
if grep -q -x -F "$note" "$err"; then grep -v -x -F "$note" "$err" >&2
else cat "$err" >&2; echo "under-outer-listener: collrun did not say it fell back to ptrace" >&2; fi
rm -f "$err"
exit $rc
