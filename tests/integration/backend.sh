#!/usr/bin/env bash
# backend.sh — the ptrace backend (issue 13): chosen by --backend=ptrace or COLLRUN_BACKEND,
# and by auto where a seccomp listener cannot be installed because another supervisor's is
# there already (simulated by outer_listener, which traps uname and answers CONTINUE).
# Each traced run must give the program exactly what it gets natively, and still serve
# from the cache. Checks:
#   ptrace-python-identical       python3 importing json/email: out, err, status as native
#   ptrace-python-identical-stats a traced run serves look-ups from the cache
#   ptrace-memfd-opens            --data=memfd opens (descriptor given by the caller's own
#                                 openat of our copy): bytes as native, copies made
#   ptrace-fork-exec-threads      sh -> subshell -> exec, and 4 threads opening files
#   ptrace-exit-status            the program's status and its death by SIGTERM, as native
#   ptrace-group-stop             SIGSTOP then SIGCONT of a traced process: it stops, goes on
#   ptrace-nobody-identical       uid 65534 under a root collrun (callers with other
#                                 credentials): results as native
#   outer-listener-auto-ptrace    auto under a foreign listener: one line, then traced
#   outer-listener-identical      ...and the program's results as native
#   outer-listener-notify-123     --backend=notify there: exit 123, program not run
#   bad-backend-usage             --backend=bogus and COLLRUN_BACKEND=bogus: exit 2
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_extra.sh"
need_collrun
cacheable_scratch
trap scratch_release EXIT
unset COLLRUN_BACKEND
OUTER=$(helper outer_listener) || finish
D=$S/tree; mkdir -p "$D/lib"
for i in 1 2 3 4 5 6; do printf 'file %s\n' "$i" >"$D/lib/f$i"; done
settle_clock

CR_OPTS=(--backend=ptrace -c "$D")
both ptrace-python-identical python3 -c 'import json, email.parser; print(json.dumps({"a": 1}))'
stats ptrace-python-identical served'>'0
CR_OPTS=(--backend=ptrace --data=memfd -c "$D")
both ptrace-memfd-opens sh -c "cat $D/lib/f1 $D/lib/f2 $D/lib/f1; od -c $D/lib/f3 | head -2"
stats ptrace-memfd-opens files'>'0

CR_OPTS=(--backend=ptrace -c "$D")
both ptrace-fork-exec-threads sh -c "(cat $D/lib/f4; sh -c 'exec cat $D/lib/f5'); python3 -c '
import threading
out = {}
def rd(i):
    with open(\"$D/lib/f%d\" % i) as f: out[i] = f.read()
ts = [threading.Thread(target=rd, args=(i,)) for i in (1, 2, 3, 6)]
[t.start() for t in ts]; [t.join() for t in ts]
print(sorted(out.items()))'"
both ptrace-exit-status -e 7 sh -c "cat $D/lib/f1 >&2; exit 7"
both ptrace-exit-status-signal -e 143 sh -c "cat $D/lib/f2 >&2; kill -TERM \$\$"

# A group-stop: the traced shell stops itself, the test sees it stopped (state T in
# /proc) and continues it; it must then finish normally.
G=$S/gstop; mkdir -p "$G"; rm -f "$G/pid"
timeout "$HANG" "$COLLRUN" --backend=ptrace -c "$D" -- sh -c "echo \$\$ >$G/pid.tmp; mv $G/pid.tmp $G/pid; kill -STOP \$\$; cat $D/lib/f1" >"$G/out" 2>"$G/err" &
CP=$!
for _ in $(seq 100000); do [ -s "$G/pid" ] && break; done
SP=$(cat "$G/pid" 2>/dev/null)
state=
for _ in $(seq 100000); do
  state=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "/proc/$SP/status" 2>/dev/null)
  [ "$state" = T ] || [ "$state" = t ] && break
done
kill -CONT "$SP" 2>/dev/null
wait "$CP"; rc=$?
if [ "$state" = T ] || [ "$state" = t ]; then
  if [ "$rc" = 0 ] && [ "$(cat "$G/out")" = "file 1" ]; then pass ptrace-group-stop
  else fail ptrace-group-stop "after SIGCONT: exit $rc, out '$(cat "$G/out")', err $(head -2 "$G/err")"; fi
else fail ptrace-group-stop "the traced shell never showed as stopped (state '$state'; exit $rc)"; fi

# uid 65534 under a root collrun: results as native.
# (When the scratch folder moved under $HOME, which uid 65534 may not enter, the files are
# copied into the build folder, as the diff suite's fixture lies there.)
if [ "$(id -u)" = 0 ]; then
  chmod -R a+rX "$D"; chmod a+x "$S" "$(dirname "$S")" 2>/dev/null
  ND=$D
  if ! "${NOBODY[@]}" test -r "$ND/lib/f1"; then
    ND=$BUILD/tests/integration/backend-nobody; rm -rf "$ND"; mkdir -p "$ND"; cp -r "$D/lib" "$ND/"; chmod -R a+rX "$ND"
  fi
  N=$S/nobody; rm -rf "$N"; mkdir -p "$N"
  (cd / && "${NOBODY[@]}" sh -c "cat $ND/lib/f1 $ND/lib/f2" >"$N/native.out" 2>"$N/native.err"; echo $? >"$N/native.rc")
  (cd / && "$COLLRUN" --backend=ptrace --data=memfd -c "$ND" -- "${NOBODY[@]}" sh -c "cat $ND/lib/f1 $ND/lib/f2" >"$N/collrun.out" 2>"$N/collrun.err"; echo $? >"$N/collrun.rc")
  if ! "${NOBODY[@]}" test -r "$ND/lib/f1"; then skip ptrace-nobody-identical "uid 65534 cannot read $ND (a parent folder is closed to it)"
  elif [ "$(cat "$N/native.out")" = "$(printf 'file 1\nfile 2')" ]; then same_files ptrace-nobody-identical "$N/native" "$N/collrun"
  else fail ptrace-nobody-identical "native run as 65534 printed '$(cat "$N/native.out")' (environment broken?)"; fi
  [ "$ND" = "$D" ] || rm -rf "$ND"
else
  skip ptrace-nobody-identical "needs root to run a program as uid 65534"
fi

# auto under another supervisor's listener.
O=$S/outer; rm -rf "$O"; mkdir -p "$O"
(cd "$O" && "$OUTER" python3 -c 'import json; print(open("'"$D/lib/f3"'").read().strip())' >native.out 2>native.err; echo $? >native.rc)
(cd "$O" && "$OUTER" "$COLLRUN" -c "$D" --stats-file="$O/stats" -- python3 -c 'import json; print(open("'"$D/lib/f3"'").read().strip())' >collrun.out 2>collrun.err; echo $? >collrun.rc)
want="collrun: a seccomp listener is already installed for this process tree (another supervisor or a container runtime): using the ptrace backend"
if [ "$(cat "$O/collrun.err")" = "$want" ] && [ "$(stat_field "$O/stats" served)" -gt 0 ] 2>/dev/null; then pass outer-listener-auto-ptrace
else fail outer-listener-auto-ptrace "stderr '$(head -2 "$O/collrun.err")', stats: $(tail -1 "$O/stats" 2>/dev/null)"; fi
sed "/^$want\$/d" "$O/collrun.err" >"$O/collrun.err.rest"
mkdir -p "$O/cmp"; cp "$O/native.out" "$O/cmp/n.out"; cp "$O/native.err" "$O/cmp/n.err"; cp "$O/native.rc" "$O/cmp/n.rc"
cp "$O/collrun.out" "$O/cmp/c.out"; cp "$O/collrun.err.rest" "$O/cmp/c.err"; cp "$O/collrun.rc" "$O/cmp/c.rc"
if [ "$(cat "$O/native.out")" = "file 3" ]; then same_files outer-listener-identical "$O/cmp/n" "$O/cmp/c"
else fail outer-listener-identical "native run under the outer listener printed '$(cat "$O/native.out")'"; fi
rm -f "$O/ran"
"$OUTER" "$COLLRUN" --backend=notify -- sh -c "touch $O/ran" >"$O/n.out" 2>"$O/n.err"; rc=$?
if [ "$rc" = 123 ] && [ ! -e "$O/ran" ] && grep -q 'use --backend=ptrace or auto' "$O/n.err"; then pass outer-listener-notify-123
else fail outer-listener-notify-123 "exit $rc, ran=$([ -e "$O/ran" ] && echo yes || echo no), stderr: $(head -2 "$O/n.err")"; fi

"$COLLRUN" --backend=bogus -- /bin/true >"$S/b.out" 2>"$S/b.err"; r1=$?
COLLRUN_BACKEND=bogus "$COLLRUN" -- /bin/true >"$S/b2.out" 2>"$S/b2.err"; r2=$?
if [ "$r1" = 2 ] && [ "$r2" = 2 ] && grep -q 'expected auto, notify or ptrace' "$S/b.err" "$S/b2.err"; then pass bad-backend-usage
else fail bad-backend-usage "exits $r1, $r2: $(cat "$S/b.err" "$S/b2.err" | head -2)"; fi
finish
