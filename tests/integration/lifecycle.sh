#!/usr/bin/env bash
# lifecycle.sh — the job lives and dies with collrun (issue 9). A `kill -9` of collrun must
# take every process of the job with it: the program after it changed credentials (which
# clears PR_SET_PDEATHSIG), and the program's own children. No process may be left running
# after the supervisor is gone, where every trapped call fails with ENOSYS.
# Each job tells the test its pid through a FIFO (no sleeps); after the kill the test waits
# for the process to disappear, with $HANG_TIMEOUT (default 120 s) as a failure detector.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_extra.sh"
need_collrun
TR=$S/tree; mkdir -p "$TR"; chmod 0755 "$S" "$TR"
printf 'cached contents\n' >"$TR/file"
PIDS=()                     # every pid a job reported: killed at exit if still one of ours
reap() {
  local p c
  kill_with "$S/"
  for p in "${PIDS[@]}"; do
    c=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
    [[ $c == "sleep 1000 " || $c == *"$S/"* ]] && kill -9 "$p" 2>/dev/null
  done
  return 0
}
trap reap EXIT

# killed_job NAME PROGRAM... — start `collrun --cache=TREE -- PROGRAM...`; PROGRAM writes the
# pid to watch into $S/NAME.fifo. Then kill -9 collrun; PASS NAME if that pid is gone too.
killed_job() {
  local name=$1 fifo=$S/$1.fifo cr pid; shift
  rm -f "$fifo"; mkfifo -m 0666 "$fifo"
  settle_clock
  "$COLLRUN" --cache="$TR" -- "$@" </dev/null >"$S/$name.out" 2>"$S/$name.err" &
  cr=$!
  pid=$(timeout "$HANG" cat "$fifo")
  PIDS+=("$pid")
  if [ -z "$pid" ] || ! alive "$pid"; then
    fail "$name" "the job never reported its pid (collrun: $(head -1 "$S/$name.err"))"; kill -9 "$cr" 2>/dev/null; return
  fi
  kill -9 "$cr"; wait "$cr" 2>/dev/null
  if gone "$pid"; then pass "$name"
  else
    local cmd; cmd=$(tr '\0\n' '  ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-60)
    fail "$name" "pid $pid ($cmd) still runs ${HANG}s after kill -9 of collrun$([ -s "$S/$name.log" ] && echo "; it logged: $(head -1 "$S/$name.log")")"
    kill -9 "$pid" 2>/dev/null
  fi
}

if need_root kill9-after-setpriv; then
  # root -> uid 65534, then sleep: the kernel cleared PR_SET_PDEATHSIG at the change
  killed_job kill9-after-setpriv "${NOBODY[@]}" sh -c "echo \$\$ >'$S/kill9-after-setpriv.fifo'; exec sleep 1000"
  # the same, busy opening a cached file: once the supervisor is gone every open fails
  # with ENOSYS; such a process must not go on running (the first failure is logged,
  # through a descriptor opened before: new opens fail too)
  log=$S/kill9-no-enosys-survivor.log; : >"$log"; chmod 0666 "$log"
  killed_job kill9-no-enosys-survivor "${NOBODY[@]}" bash -c "exec 3>>'$log'; echo \$\$ >'$S/kill9-no-enosys-survivor.fifo'
    while :; do
      if [ -z \"\${seen-}\" ]; then { read -r x <'$TR/file'; } 2>&3 || seen=1; else read -r x 2>/dev/null <'$TR/file'; fi
    done"
fi
# no credential change: a grandchild (the program's own child) must die too
killed_job kill9-takes-grandchildren sh -c "sleep 1000 & echo \$! >'$S/kill9-takes-grandchildren.fifo'; wait"
finish
