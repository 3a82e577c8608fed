#!/usr/bin/env bash
# fuse_faults.sh — slow, odd and job-owned FUSE file systems inside a cached tree (issue 9),
# on bench/slowfs mounted with its test options (-o gate,zero_size_suffix=.gen,writable;
# see slowfs.c) and delay 0. Native vs collrun --cache=TREE each time:
#   zero-size-file-read-in-full   a file that reports st_size 0 but has bytes (like /proc)
#   sparse-900m-read-13-bytes     head -c 13 of a 900 MiB sparse file: same bytes, and collrun
#                                 must not read (much) more of it from slowfs than natively
#   torn-copy-not-kept            the file is rewritten in place while its first read is held
#                                 at the gate (after one read request): a later open must
#                                 give the new contents, not a torn copy
#   own-fuse-server               the job mounts its own slowfs inside the cached tree and
#                                 reads through it: it must finish (not deadlock)
#   slow-fs-does-not-stall-others A's open is held at the closed gate; B (stat of libc) must
#                                 be answered while A waits
#   handled-signal-waits-for-held-fill  a SIGUSR1 handler runs after the held open returns
#   sigterm-ends-held-fill        SIGTERM to collrun while its program's open is held at the
#                                 closed gate ends collrun and the program (gate never opened)
#   write-loop-fsops              300 cycles of write-open + stats + read-open: collrun must
#                                 cost slowfs no more operations than the job alone
# Gate waits block on .slowfs-gate-wait; nothing sleeps. $HANG_TIMEOUT (default 120 s)
# is only a failure detector. SKIPs (loudly) without /dev/fuse, fusermount3 or libfuse3.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_extra.sh"
need_collrun
TR=$S/tree M=$S/tree/m SD=$S/src CTL=$S/ctl
cleanup() {
  slowfs_umount "$M"
  fusermount3 -uz "$TR/own" 2>/dev/null
  kill_with "$S/"
}
for m in "$M" "$TR/own"; do fusermount3 -uz "$m" 2>/dev/null; done   # left by a killed run
trap cleanup EXIT
slowfs_ready
umask 022
mkdir -p "$TR" "$SD/gen" "$SD/r" "$SD/w" "$CTL" "$S/src2"; chmod 0777 "$CTL"
printf 'hello\n' >"$SD/a"
for i in 1 2 3; do printf 'generated line %d\n' "$i"; done >"$SD/gen/data.gen"
truncate -s 900M "$SD/big.sparse"; printf 'hello, world\n' | dd of="$SD/big.sparse" conv=notrunc status=none
for i in $(seq 0 19); do printf 'lib %d\n' "$i" >"$SD/r/lib$i.so"; done
printf 'key = value\n' >"$SD/r/conf"
printf 'served by the job'"'"'s own server\n' >"$S/src2/a"
slowfs_mount "$SD" "$M" gate,writable,zero_size_suffix=.gen,max_threads=64; rc=$?
[ $rc = 77 ] && { skip all "$(cat "$S/mount.log")"; finish; }
[ $rc = 0 ] || { fail mount "mount.sh exited $rc: $(tail -2 "$S/mount.log")"; finish; }
[ -e "$M/.slowfs-gate" ] || { fail mount "slowfs has no .slowfs-gate (built without -o gate?)"; finish; }
CR_OPTS=(--cache="$TR")
LIBC=/usr/lib/x86_64-linux-gnu/libc.so.6; [ -e "$LIBC" ] || LIBC=$(ldd /bin/true | awk '/libc.so/ {print $3}')

# --- a generated file: st_size 0, yet it has bytes --------------------------------------
pair zero-size-file-read-in-full sh -c "stat -c 'st_size %s' '$M/gen/data.gen'; cat '$M/gen/data.gen'; cat '$M/gen/data.gen' | wc -c"

# --- 13 bytes of a 900 MiB sparse file ---------------------------------------------------
fs_reset "$M"; head -c 13 "$M/big.sparse" >"$S/sparse.native" 2>&1; nb=$(fs_field "$(fs_counts "$M")" bytes)
settle_clock
fs_reset "$M"
timeout -k 10 "$HANG" "$COLLRUN" "${CR_OPTS[@]}" --stats-file="$S/sparse.stats" -- head -c 13 "$M/big.sparse" >"$S/sparse.collrun" 2>&1
cb=$(fs_field "$(fs_counts "$M")" bytes)
limit=$((16 << 20)); [ "$((4 * ${nb:-0}))" -gt $limit ] && limit=$((4 * nb))
if [ "$(cat "$S/sparse.native")" != "hello, world" ]; then fail sparse-900m-read-13-bytes "native head -c 13 gave '$(cat "$S/sparse.native")'"
elif ! cmp -s "$S/sparse.native" "$S/sparse.collrun"; then fail sparse-900m-read-13-bytes "collrun printed '$(head -c 80 "$S/sparse.collrun")'"
elif [ "${cb:-0}" -gt "$limit" ]; then
  fail sparse-900m-read-13-bytes "slowfs returned $cb bytes under collrun, $nb natively (limit $limit): the whole file was copied ($(tail -n 1 "$S/sparse.stats"))"
else pass sparse-900m-read-13-bytes; fi

# --- a file rewritten in place while collrun (or cat, natively) reads it -----------------
# The gate lets one read request through and holds the next; outside the job, the source
# file is rewritten ('a's become 'b's, same inode and size) and the gate opened. The job's
# second open must read the new bytes, natively and under collrun.
NEWSUM=$(head -c 1048576 /dev/zero | tr '\0' b | md5sum | cut -d' ' -f1)
torn_side() {   # torn_side native|collrun
  local pre=() h
  head -c 1048576 /dev/zero | tr '\0' a >"$SD/torn"
  settle_clock
  [ "$1" = collrun ] && pre=("$COLLRUN" "${CR_OPTS[@]}" --stats-file="$S/torn.stats" --)
  gate "$M" "close-after read 1" || return 1
  ( gate_held "$M" && head -c 1048576 /dev/zero | tr '\0' b | dd of="$SD/torn" conv=notrunc status=none
    gate "$M" open ) >"$S/torn.$1.helper" 2>&1 &
  h=$!
  timeout -k 10 "$HANG" "${pre[@]}" sh -c "cat '$M/torn' >/dev/null; echo first read done; md5sum <'$M/torn'" \
    >"$S/torn.$1.out" 2>&1
  echo "rc=$?" >>"$S/torn.$1.out"
  wait "$h"; gate "$M" open
}
torn_side native; torn_side collrun
if ! grep -q "^$NEWSUM " "$S/torn.native.out"; then fail torn-copy-not-kept "natively the second read did not see the rewritten file: $(tr '\n' ' ' <"$S/torn.native.out")"
elif cmp -s "$S/torn.native.out" "$S/torn.collrun.out"; then pass torn-copy-not-kept
else fail torn-copy-not-kept "native: $(tr '\n' ' ' <"$S/torn.native.out"); collrun: $(tr '\n' ' ' <"$S/torn.collrun.out") (want md5 $NEWSUM: all new bytes)"; fi

# --- the job runs its own FUSE server inside the cached tree ----------------------------
own_setup() { fusermount3 -uz "$TR/own" 2>/dev/null; kill_with "$TR/own"; mkdir -p "$TR/own"; }
pair own-fuse-server -s own_setup sh -c \
  "'$SLOWFS' -o delay_us=0 '$S/src2' '$TR/own' && cat '$TR/own/a' && fusermount3 -u '$TR/own' && echo unmounted"
own_setup

# --- one slow file system must not stall the others --------------------------------------
# A opens a file on the mount, held at the closed gate. The test (outside the job) waits
# until A is held, tells the job to start B (FIFO go), and waits for B's answer (FIFO done):
# B stats libc. Only then is the gate opened. Natively B never waits for A.
stall_side() {   # stall_side native|collrun: writes $S/stall.SIDE (verdicts + job output)
  local pre=() job v=$S/stall.$1 b
  rm -f "$CTL/go" "$CTL/done"; mkfifo -m 0666 "$CTL/go" "$CTL/done"
  settle_clock
  [ "$1" = collrun ] && pre=("$COLLRUN" "${CR_OPTS[@]}" --)
  gate "$M" close
  timeout -k 10 $((3 * HANG)) "${pre[@]}" sh -c \
    "cat '$M/a' & read _ <'$CTL/go'; stat -c 'B: libc %s bytes' '$LIBC' >'$CTL/done'; wait; echo A done" \
    >"$v.job" 2>&1 &
  job=$!
  { gate_held "$M" && echo "A held at the gate: yes" || echo "A held at the gate: no"
    if timeout "$HANG" sh -c "echo go >'$CTL/go'"; then
      b=$(timeout "$HANG" cat "$CTL/done")
      if [ -n "$b" ]; then echo "B answered while A was held: yes ($b)"; else echo "B answered while A was held: no"; fi
    else
      echo "B answered while A was held: no (the job could not even open the FIFO)"
    fi
  } >"$v"
  gate "$M" open
  if ! grep -q '^B answered while A was held: yes' "$v"; then
    kill_with "$CTL/"                          # verdict given; nothing more to wait for
  elif ! gone "$job" "$HANG"; then
    echo "job still running ${HANG}s after the gate opened" >>"$v"
  fi
  kill_with "$CTL/"
  cat "$v.job" >>"$v"
}
stall_side native; stall_side collrun
if ! grep -q '^B answered while A was held: yes' "$S/stall.native"; then
  fail slow-fs-does-not-stall-others "native run broken: $(tr '\n' ' ' <"$S/stall.native")"
elif cmp -s "$S/stall.native" "$S/stall.collrun"; then pass slow-fs-does-not-stall-others
else fail slow-fs-does-not-stall-others "native: $(tr '\n' ' ' <"$S/stall.native"); collrun: $(tr '\n' ' ' <"$S/stall.collrun")"; fi

# --- SIGTERM while a fill is held at the gate --------------------------------------------
term_side() {   # term_side native|collrun: SIGTERM the launcher (sh, or collrun)
  local pre=() top pid rc v=$S/term.$1
  rm -f "$CTL/pid"; mkfifo -m 0666 "$CTL/pid"
  settle_clock
  [ "$1" = collrun ] && pre=("$COLLRUN" "${CR_OPTS[@]}" --)
  gate "$M" close
  # SIGTERM at its default action whatever this script inherited
  env --default-signal=TERM "${pre[@]}" sh -c "echo \$\$ >'$CTL/pid'; exec cat '$M/a'" >"$v.out" 2>&1 &
  top=$!
  pid=$(timeout "$HANG" cat "$CTL/pid")
  { gate_held "$M" && echo "open held at the gate: yes" || echo "open held at the gate: no"
    kill -TERM "$top"
    if gone "$top" "$HANG"; then wait "$top"; rc=$?; echo "launcher ended: yes, status $rc"
    else echo "launcher ended: no (still running ${HANG}s after SIGTERM)"; fi
    if gone "$pid" 10; then echo "program ended: yes"; else echo "program ended: no"; fi
    grep -q 'state=closed' "$M/.slowfs-gate" && echo "gate still closed: yes" || echo "gate still closed: no"
  } >"$v"
  gate "$M" open; kill -9 "$top" "$pid" 2>/dev/null; wait "$top" 2>/dev/null
  kill_with "$CTL/"
}
term_side native; term_side collrun
if ! grep -q '^launcher ended: yes, status 143' "$S/term.native"; then
  fail sigterm-ends-held-fill "native run broken: $(tr '\n' ' ' <"$S/term.native")"
elif cmp -s "$S/term.native" "$S/term.collrun"; then pass sigterm-ends-held-fill
else fail sigterm-ends-held-fill "native: $(tr '\n' ' ' <"$S/term.native"); collrun: $(tr '\n' ' ' <"$S/term.collrun")"; fi

# --- a handled signal while a fill is held waits for the open's end ----------------------
# collrun(1), Interrupted calls: once collrun has a call, it waits for the answer and only a
# fatal signal ends it (as an open of a local file natively; this FUSE server, natively,
# fails the open with EINTR instead). So the handler must run after the open has returned,
# and see the marker made just before the gate opens. The test waits until the signal is
# pending or the handler has (wrongly) already run. Both backends.
SIGOPEN=$(helper signal_open) || finish
usr1_side() {   # usr1_side native|collrun
  local pre=() pid v=$S/usr1.$1 st i
  rm -f "$CTL/pid" "$CTL/marker" "$v".*; mkfifo -m 0666 "$CTL/pid"; : >"$v.handler"
  settle_clock
  [ "$1" = collrun ] && pre=("$COLLRUN" "${CR_OPTS[@]}" --)
  gate "$M" close
  "${pre[@]}" "$SIGOPEN" "$M/a" "$CTL/marker" "$CTL/pid" 3>"$v.handler" >"$v.out" 2>&1 &
  local top=$!
  pid=$(timeout "$HANG" cat "$CTL/pid")
  gate_held "$M"
  kill -USR1 "$pid"
  for i in $(seq 200000); do
    [ -s "$v.handler" ] && break
    st=$(sed -n 's/^\(SigPnd\|ShdPnd\):[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null | tr '\n' ' ')
    for x in $st; do [ $((16#$x & 0x200)) != 0 ] && break 2; done
  done
  : >"$CTL/marker"
  gate "$M" open
  wait "$top"; echo "status $?" >>"$v.out"
  cat "$v.handler" "$v.out" >"$v"
}
usr1_side collrun
want=$(printf 'handler: marker seen\nopen: ok, read 6 bytes: hello\nstatus 0')
if [ "$(cat "$S/usr1.collrun")" = "$want" ]; then pass handled-signal-waits-for-held-fill
else fail handled-signal-waits-for-held-fill "got: $(tr '\n' ' ' <"$S/usr1.collrun") (want: $(tr '\n' ' ' <<<"$want"))"; fi

# --- a job that writes in a loop: collrun must not cost slowfs more than the job -------
loop="for i in \$(seq 300); do k=\$((i % 10)); echo \$i >'$M/w/f'\$k
  [ -e '$M/w/f'\$k ] || echo missing f\$k; [ -e '$M/r/lib'\$((i % 20)).so ] || echo missing lib
  read -r x <'$M/r/conf'; done; echo \"done: \$x\"; cat '$M/w/f3'"
wl_side() {
  local pre=()
  # through the mount, not behind its back: slowfs would keep nodes for the removed inodes,
  # and a file created again (the inode number reused) is then not found, natively too
  rm -f "$M/w/"*; settle_clock
  [ "$1" = collrun ] && pre=(timeout -k 10 "$HANG" "$COLLRUN" "${CR_OPTS[@]}" --stats-file="$S/wloop.stats" --)
  fs_reset "$M"
  "${pre[@]}" bash -c "$loop" >"$S/wloop.$1.out" 2>&1; echo "rc=$?" >>"$S/wloop.$1.out"
  fs_counts "$M" >"$S/wloop.$1.fs"
}
wl_side native; wl_side collrun
nt=$(fs_field "$(cat "$S/wloop.native.fs")" total) ct=$(fs_field "$(cat "$S/wloop.collrun.fs")" total)
if ! grep -q '^done: key = value' "$S/wloop.native.out"; then fail write-loop "native loop broken: $(head -2 "$S/wloop.native.out")"
else
  if cmp -s "$S/wloop.native.out" "$S/wloop.collrun.out"; then pass write-loop-same-output
  else fail write-loop-same-output "$(diff "$S/wloop.native.out" "$S/wloop.collrun.out" | grep '^[<>]' | head -4 | tr '\n' ' ')"; fi
  if [ "${ct:-0}" -le "${nt:-0}" ]; then pass write-loop-fsops
  else fail write-loop-fsops "slowfs operations: job alone $nt, under collrun $ct — native: $(cat "$S/wloop.native.fs"); collrun: $(cat "$S/wloop.collrun.fs")"; fi
fi
finish
