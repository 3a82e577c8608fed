#!/usr/bin/env bash
# process.sh — collrun as a process: exit statuses and deaths by signal forwarded, signals
# sent to collrun reach the program, CLI errors (2/126/127), --help/--version, nesting,
# threads, inherited descriptors/environment/attributes untouched, nothing left behind,
# scripts without "#!", the small CLI messages (ambiguous options, missing /proc, a program
# in a passed tree), and the job's lifecycle: collrun -> keeper -> program, the whole job
# dies with collrun (setsid'd, setpriv'd and orphaned processes too), orphans are reaped,
# the keeper's death is reported, and the background copy serves and ends on SIGTERM.
# Synchronisation is by fifo handshakes only; `read -t 300` merely guards against a hang.
. "$(dirname "$0")/lib.sh"
need_collrun
PY=/usr/bin/python3

# run_to PREFIX CMD... — run CMD (stdin /dev/null unless redirected by the caller) into
# PREFIX.out, PREFIX.err, PREFIX.rc.
# (The outer 2>/dev/null only hides bash's own "Killed"/"Segmentation fault" notices.)
run_to() { local p=$1; shift; { "$@" >"$p.out" 2>"$p.err"; } 2>/dev/null; echo $? >"$p.rc"; }
# expect NAME WANT_RC PREFIX — PASS/FAIL on PREFIX.rc.
expect_rc() {
  if [ "$(cat "$3.rc")" = "$2" ]; then pass "$1"; else fail "$1" "exit status $(cat "$3.rc"), expected $2; stderr: $(head -c 300 "$3.err")"; fi
}
# one_line_error NAME PREFIX WORD — stderr is exactly one line "collrun: ..." naming WORD, stdout empty.
one_line_error() {
  if [ "$(wc -l <"$2.err")" = 1 ] && grep -q '^collrun: ' "$2.err" && grep -qF -- "$3" "$2.err" && [ ! -s "$2.out" ]; then
    pass "$1"
  else
    fail "$1" "want one stderr line 'collrun: ...$3...' and no stdout; got stderr: $(head -c 300 "$2.err" | tr '\n' '|')"
  fi
}
gone() { [ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]; }

mkdir -p "$S/cwd"; cd "$S/cwd" || exit 1
ls -A >"$S/cwd-before.lst"
MARK=collrun-leftover-$$-$RANDOM

# --- exit statuses, deaths by signal (the shell sees 128+N) --------------------------
for c in 0 3 255; do
  run_to "$S/exit$c" "$COLLRUN" -- /bin/sh -c "exit $c" "$MARK" </dev/null; expect_rc "exit-$c" "$c" "$S/exit$c"
done
for sig in TERM SEGV KILL HUP; do
  run_to "$S/sig$sig" "$COLLRUN" -- /bin/sh -c 'kill -'$sig' $$' "$MARK" </dev/null
  expect_rc "killed-by-SIG$sig" $((128 + $(kill -l $sig))) "$S/sig$sig"
done
run_to "$S/crash" "$COLLRUN" -- $PY -c 'import ctypes; ctypes.string_at(0)' </dev/null; expect_rc real-segfault 139 "$S/crash"
"$COLLRUN" -- /usr/bin/yes "$MARK" 2>"$S/pipe.err" | head -n 1 >"$S/pipe.out"; st=${PIPESTATUS[0]}
[ "$st" = 141 ] && [ "$(cat "$S/pipe.out")" = "$MARK" ] && pass sigpipe || fail sigpipe "yes | head: collrun status $st (want 141), out '$(cat "$S/pipe.out")'"
echo "line one" | "$COLLRUN" -- /bin/cat >"$S/stdin.out" 2>&1
[ "$(cat "$S/stdin.out")" = "line one" ] && pass stdin || fail stdin "cat got '$(cat "$S/stdin.out")'"

# --- command line ---------------------------------------------------------------------
run_to "$S/help" "$COLLRUN" --help </dev/null; expect_rc help-status 0 "$S/help"
miss=; for o in -s --stats --stats-file -v -c --cache --help --version; do grep -qE -- "(^|[^-[:alnum:]])$o([^-[:alnum:]]|\$)" "$S/help.out" || miss="$miss $o"; done
[ -z "$miss" ] && [ ! -s "$S/help.err" ] && pass help-options || fail help-options "--help stdout lacks:${miss:- (stderr not empty)}"
run_to "$S/version" "$COLLRUN" --version </dev/null; expect_rc version-status 0 "$S/version"
[ "$(cat "$S/version.out")" = "collrun 0.1.0" ] && pass version-text || fail version-text "got '$(head -c 200 "$S/version.out")'"
run_to "$S/badopt" "$COLLRUN" --no-such-option -- /bin/true </dev/null; expect_rc unknown-option 2 "$S/badopt"
one_line_error unknown-option-message "$S/badopt" --no-such-option
run_to "$S/noprog" "$COLLRUN" </dev/null; expect_rc no-program 2 "$S/noprog"; one_line_error no-program-message "$S/noprog" collrun:
run_to "$S/noprog2" "$COLLRUN" -s -- </dev/null; expect_rc no-program-after-dashdash 2 "$S/noprog2"
run_to "$S/missing" "$COLLRUN" -- "$S/no-such-program" </dev/null; expect_rc missing-program 127 "$S/missing"
one_line_error missing-program-message "$S/missing" "$S/no-such-program: No such file or directory"
run_to "$S/missing2" "$COLLRUN" -- no-such-command-$MARK </dev/null; expect_rc missing-in-path 127 "$S/missing2"
one_line_error missing-in-path-message "$S/missing2" "no-such-command-$MARK: command not found"
# a relative path with a slash is a path, as in shells: "No such file or directory"
run_to "$S/missing3" "$COLLRUN" -- ./no-such-program </dev/null; expect_rc missing-relative-path 127 "$S/missing3"
one_line_error missing-relative-path-message "$S/missing3" "./no-such-program: No such file or directory"
printf '#!/bin/sh\necho should-not-run\n' >"$S/not-exec"; chmod 644 "$S/not-exec"
run_to "$S/noexec" "$COLLRUN" -- "$S/not-exec" </dev/null; expect_rc not-executable 126 "$S/noexec"
one_line_error not-executable-message "$S/noexec" "$S/not-exec"
run_to "$S/dir" "$COLLRUN" -- "$S/cwd" </dev/null; expect_rc directory-not-executable 126 "$S/dir"
# a script without "#!" runs with /bin/sh, as execvp(3), env and shells do, with execvp's
# argv (/bin/sh PATH ARGS...), by path and through PATH
mkdir -p "$S/bin"; printf 'echo "[$0]" "$@"; echo to-stderr >&2; exit 4\n' >"$S/bin/noshebang-$MARK"; chmod 755 "$S/bin/noshebang-$MARK"
run_to "$S/enoexec-native" env "$S/bin/noshebang-$MARK" a 'b c' </dev/null
run_to "$S/enoexec-collrun" "$COLLRUN" -- "$S/bin/noshebang-$MARK" a 'b c' </dev/null
grep -q "^\[$S/bin/noshebang-$MARK\] a b c\$" "$S/enoexec-native.out" || fail script-without-shebang "native env run printed '$(cat "$S/enoexec-native.out")'"
same_files script-without-shebang "$S/enoexec-native" "$S/enoexec-collrun"
run_to "$S/enoexec-path-native" env PATH="$S/bin:$PATH" env "noshebang-$MARK" x </dev/null
run_to "$S/enoexec-path-collrun" env PATH="$S/bin:$PATH" "$COLLRUN" -- "noshebang-$MARK" x </dev/null
same_files script-without-shebang-in-path "$S/enoexec-path-native" "$S/enoexec-path-collrun"
# an ambiguous prefix is called ambiguous, with the candidates (--stat: --stats, --stats-file)
run_to "$S/ambiguous" "$COLLRUN" --stat -- /bin/true </dev/null; expect_rc ambiguous-option 2 "$S/ambiguous"
one_line_error ambiguous-option-message "$S/ambiguous" "'--stat' is ambiguous"
grep -q -- '--stats --stats-file' "$S/ambiguous.err" && pass ambiguous-option-candidates ||
  fail ambiguous-option-candidates "want both --stats and --stats-file listed: $(cat "$S/ambiguous.err")"
# collrun needs /proc: missing (unmounted) or empty (another file system on it), it says so
for how in unmounted other-fs; do
  if [ "$how" = unmounted ]; then setup='umount -l /proc'; else setup='mount -t tmpfs none /proc'; fi
  if ! unshare -m --propagation private sh -c "$setup" 2>/dev/null; then
    skip "no-proc-$how" "cannot make a private mount namespace without /proc here (not root?)"; continue
  fi
  if grep -qa __asan_init "$COLLRUN"; then skip "no-proc-$how" "sanitized build: the sanitizer runtime itself needs /proc"; continue; fi
  run_to "$S/noproc-$how" unshare -m --propagation private sh -c "$setup && exec \"\$0\" -- /bin/true" "$COLLRUN" </dev/null
  expect_rc "no-proc-$how" 125 "$S/noproc-$how"; one_line_error "no-proc-$how-message" "$S/noproc-$how" "/proc is not mounted"
done
# a program in a passed tree (/tmp, or here a pass rule) has nothing of its own tree cached:
# -v says so once at start, --stats once in a note line, and the collrun-stats line stays last
RS=$(realpath "$S"); mkdir -p "$RS/passed/bin"; cp /bin/echo "$RS/passed/bin/echo"
printf 'pass %s/passed\n' "$RS" >"$S/passed.policy"
run_to "$S/note" "$COLLRUN" -v -p "$S/passed.policy" --stats-file="$S/note.stats" -- "$RS/passed/bin/echo" "$MARK" </dev/null
want="note: $RS/passed/bin/echo is passed to the kernel by rule 'pass $RS/passed'"
if [ "$(grep -c 'note:' "$S/note.err")" = 1 ] && grep -qF "collrun: $want" "$S/note.err" &&
   [ "$(grep -c 'note:' "$S/note.stats")" = 1 ] && grep -qF "collrun: $want" "$S/note.stats" &&
   tail -n 1 "$S/note.stats" | grep -q '^collrun-stats: ' && [ "$(cat "$S/note.out")" = "$MARK" ]; then
  pass passed-program-note
else
  fail passed-program-note "want one '$want' line in -v output and in --stats before the last line; got $(grep note: "$S/note.err" "$S/note.stats" | head -3)"
fi
# -s adds the table on stderr only; -c DIR / --cache=DIR make an uncached folder cached
run_to "$S/dash-s" "$COLLRUN" -s -- /bin/echo "$MARK" </dev/null
[ "$(cat "$S/dash-s.out")" = "$MARK" ] && tail -n 1 "$S/dash-s.err" | grep -q '^collrun-stats: trapped=' && pass stats-on-stderr ||
  fail stats-on-stderr "stdout '$(head -c 100 "$S/dash-s.out")', stderr last line '$(tail -n 1 "$S/dash-s.err")'"
grep -q 'note:' "$S/dash-s.err" && fail cached-program-no-note "a cached program got a note: $(grep note: "$S/dash-s.err")" || pass cached-program-no-note
mkdir -p "$S/cdir"; echo data >"$S/cdir/a"; settle_clock; res= res2=
for o in "" -c --cache=; do
  if [ "$o" = -c ]; then set -- -c "$S/cdir"; elif [ -n "$o" ]; then set -- "$o$S/cdir"; else set --; fi
  "$COLLRUN" "$@" --data=memfd --stats-file="$S/cdir.stats" -- /bin/busybox cat "$S/cdir/a" "$S/cdir/a" >/dev/null 2>&1
  f=$(stat_field "$S/cdir.stats" files) v=$(stat_field "$S/cdir.stats" served)
  res="$res ${o:-none}:files=$f,served=$v"; [ -n "$o" ] && [ "${v:-0}" -ge 1 ] && v=some; res2="$res2 $f,$v"
done
[ "$res2" = " 0,0 1,some 1,some" ] && pass cache-option || fail cache-option "got$res (want files=0,served=0 without; files=1,served>0 with)"

# --- collrun inside collrun -------------------------------------------------------------
# (A sanitized inner collrun under the ptrace backend cannot exit cleanly: LeakSanitizer
# stops the world with ptrace, and the inner collrun is a tracee already.)
if [ "${COLLRUN_BACKEND:-}" = ptrace ] && grep -qa __asan_init "$COLLRUN"; then
  for n in nested-true nested-python; do
    skip $n "sanitized build under the ptrace backend: LeakSanitizer needs ptrace, and the inner collrun is traced"
  done
else
run_to "$S/nest" "$COLLRUN" -- "$COLLRUN" -- /bin/true </dev/null; expect_rc nested-true 0 "$S/nest"
nestpy='import json, decimal, email.message, sqlite3, sys; print(json.dumps(sorted(sys.modules)[:50]), decimal.Decimal(2).sqrt())'
run_to "$S/nestpy-collrun" "$COLLRUN" -- "$COLLRUN" -- $PY -c "$nestpy" "$MARK" </dev/null
run_to "$S/nestpy-native" $PY -c "$nestpy" "$MARK" </dev/null
same_files nested-python "$S/nestpy-native" "$S/nestpy-collrun"
fi

# --- threads: python (imports, reads, subprocesses) and C (raw look-ups) ----------------
cat >"$S/threads.py" <<'PYEOF'
import threading, importlib, hashlib, os, subprocess
mods = ["json", "csv", "decimal", "fractions", "statistics", "email.parser", "http.cookies", "xml.dom.minidom",
        "urllib.parse", "difflib", "textwrap", "shlex", "pprint", "calendar", "zipfile", "tarfile",
        "sqlite3", "ctypes", "uuid", "ipaddress", "configparser", "gettext", "heapq", "bisect"]
res = [None] * 8
def work(i):
    h = hashlib.sha256()
    for m in mods[i::8]:
        f = importlib.import_module(m).__file__
        h.update(m.encode()); h.update(open(f, "rb").read())
    d = "/usr/lib/python3.11/email"
    for n in sorted(os.listdir(d))[i::8]:
        p = os.path.join(d, n)
        h.update(n.encode()); h.update(open(p, "rb").read() if os.path.isfile(p) else b"dir")
    h.update(str(os.path.exists("/usr/lib/python3.11/missing%d.py" % i)).encode())
    r = subprocess.run(["/bin/busybox", "md5sum", os.path.join(d, sorted(os.listdir(d))[i])], capture_output=True)
    res[i] = "%d %s %s %d" % (i, h.hexdigest(), r.stdout.decode().strip(), r.returncode)
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print("\n".join(res))
PYEOF
both threads-python $PY "$S/threads.py"

cat >"$S/threads.c" <<'CEOF'
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
static char **paths; static int n;
struct r { unsigned long sum; long err, files; };
static void *work(void *arg) {
  long t = (long)arg; struct r *r = calloc(1, sizeof *r); char buf[4096], l[256]; struct stat st;
  for (int k = 0; k < n; k++) {
    const char *p = paths[(k + t * 7) % n];
    if (stat(p, &st) == 0) r->sum += st.st_size + st.st_mode; else r->err += errno;
    if (lstat(p, &st) == 0) r->sum += st.st_mode; else r->err += errno;
    if (access(p, R_OK) != 0) r->err += 1000 + errno;
    ssize_t m = readlink(p, l, sizeof l); r->sum += m > 0 ? (unsigned long)m : 0;
    int fd = openat(AT_FDCWD, p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { r->err += errno; continue; }
    for (ssize_t got; (got = read(fd, buf, sizeof buf)) > 0;)
      for (ssize_t i = 0; i < got; i++) r->sum = r->sum * 31 + (unsigned char)buf[i];
    if (fstat(fd, &st) == 0) r->sum += st.st_size;
    close(fd); r->files++;
  }
  return r;
}
int main(int argc, char **argv) {
  pthread_t th[8]; paths = argv + 1; n = argc - 1;
  for (long t = 0; t < 8; t++) pthread_create(&th[t], NULL, work, (void *)t);
  for (int t = 0; t < 8; t++) { struct r *r; pthread_join(th[t], (void **)&r); printf("%d %lu %ld %ld\n", t, r->sum, r->err, r->files); }
  return 0;
}
CEOF
if gcc -O1 -pthread -o "$S/threads" "$S/threads.c" 2>"$S/threads.cc.err"; then
  mapfile -t files < <(ls -d /usr/lib/python3.11/*.py /usr/lib/python3.11/json/* | head -n 150)
  both threads-c "$S/threads" "${files[@]}" /usr/bin/python3 /lib64/ld-linux-x86-64.so.2 /usr/lib /nonexistent/x /usr/lib/nope.so
  stats threads-c served\>0
else
  skip threads-c "cannot compile: $(head -1 "$S/threads.cc.err")"
fi

# --- descriptors, environment, arguments, process attributes pass untouched -----------
printf 'first\nsecond\nthird\n' >"$S/fd.in"
fdtest() {  # TAG [PREFIX...]: fd 4 shares an offset, fd 5 is written, the program lists its fds
  local tag=$1; shift
  exec 4<"$S/fd.in"; read -r _ <&4
  "$@" sh -c 'cat <&4; echo hi >&5; ls /proc/$$/fd' 5>"$S/fd5.$tag" </dev/null
  exec 4<&-
}
run_to "$S/fd-native" fdtest native; run_to "$S/fd-collrun" fdtest collrun "$COLLRUN" --
grep -q third "$S/fd-native.out" || fail fds-native "native fd test did not read fd 4"
same_files fds "$S/fd-native" "$S/fd-collrun"
[ "$(cat "$S/fd5.collrun" 2>/dev/null)" = hi ] && pass fd5-written || fail fd5-written "fd 5 file holds '$(cat "$S/fd5.collrun" 2>/dev/null)'"
export COLLRUN_TEST_WEIRD=$'a b\nc=d\t"e"' COLLRUN_TEST_EMPTY=
run_to "$S/env-native" env -u _ /usr/bin/env -0 </dev/null
run_to "$S/env-collrun" env -u _ "$COLLRUN" -- /usr/bin/env -0 </dev/null
for w in native collrun; do sort -z "$S/env-$w.out" >"$S/env-$w.sorted"; mv "$S/env-$w.sorted" "$S/env-$w.out"; done
grep -qa COLLRUN_TEST_WEIRD "$S/env-native.out" || fail env-native "native env lacks the test variable"
same_files environment "$S/env-native" "$S/env-collrun"
args=(printf '[%s]' 'a b' '' '*' $'x\ny' -- --help -v)
run_to "$S/argv-native" "${args[@]}" </dev/null; run_to "$S/argv-collrun" "$COLLRUN" -- "${args[@]}" </dev/null
same_files argv "$S/argv-native" "$S/argv-collrun"
# the program's own signal mask/ignored set, umask, limits, cwd, process group and session
attrs='grep -E "^(Sig(Blk|Ign)|Cpus_allowed_list|Cap(Eff|Bnd))" /proc/self/status; umask; ulimit -a; pwd; nice; cut -d" " -f5,6 /proc/self/stat'
(umask 027; ulimit -n 512; trap '' USR2
 run_to "$S/attr-native" /bin/sh -c "$attrs" </dev/null; run_to "$S/attr-collrun" "$COLLRUN" -- /bin/sh -c "$attrs" </dev/null
 run_to "$S/sigs-native" /bin/grep -E "^Sig(Pnd|Blk|Ign|Cgt)" /proc/self/status </dev/null; run_to "$S/sigs-collrun" "$COLLRUN" -- /bin/grep -E "^Sig(Pnd|Blk|Ign|Cgt)" /proc/self/status </dev/null)
same_files attributes "$S/attr-native" "$S/attr-collrun"
same_files signal-dispositions "$S/sigs-native" "$S/sigs-collrun"

# --- nothing left behind ----------------------------------------------------------------
stray=$(pgrep -af -- "$MARK")
[ -z "$stray" ] && pass no-leftover-processes || fail no-leftover-processes "still running: $(echo $stray | head -c 300)"
ls -A | cmp -s - "$S/cwd-before.lst" && pass no-files-in-cwd || fail no-files-in-cwd "new in $S/cwd: $(ls -A | tr '\n' ' ')"
# ordinary jobs must leave nothing in /tmp or /dev/shm: in a private mount namespace with
# empty tmpfs there (so other users of the machine cannot interfere), else on the real ones
cat >"$S/leftover.sh" <<'SHEOF'
C=$1 PY=$2 S=$3
if [ "$4" = private ]; then mount -t tmpfs t /tmp && mount -t tmpfs t /dev/shm || exit 99; fi
ls -A /tmp /dev/shm >"$S/tmp-before.lst" 2>&1
{ "$C" -- /bin/true; "$C" -s -- $PY -c 'import json, sqlite3, ssl, subprocess; subprocess.run(["/bin/true"])'
  "$C" -- /bin/sh -c 'kill -TERM $$'; "$C" -- "$C" -- /bin/true; "$C" --no-such-option
  "$C" --stats-file="$S/leftover.stats" -- /bin/busybox md5sum /usr/lib/python3.11/os.py; } >/dev/null 2>&1
ls -A /tmp /dev/shm 2>&1 | comm -13 "$S/tmp-before.lst" -
SHEOF
new=$(unshare -m --propagation private bash "$S/leftover.sh" "$COLLRUN" $PY "$S" private 2>/dev/null); rc=$?
where="private /tmp and /dev/shm"
if [ "$rc" != 0 ]; then new=$(bash "$S/leftover.sh" "$COLLRUN" $PY "$S"); where="/tmp and /dev/shm (no private mounts: other users may interfere)"; fi
[ -z "$new" ] && pass no-files-in-tmp || fail no-files-in-tmp "new entries in $where: $(echo $new)"

# --- signals sent to collrun, and collrun killed ----------------------------------------
cat >"$S/sig.py" <<'PYEOF'
import os, signal, sys
def handler(sig, frame):
    with open(sys.argv[2], "w") as f: f.write("got %d\n" % sig)
    os._exit(7)
signal.signal(signal.SIGTERM, handler); signal.signal(signal.SIGINT, handler)
os.write(3, b"ready %d\n" % os.getpid())
if sys.argv[1] == "pause":
    while True: signal.pause()
while True:  # keep making trapped look-ups until killed
    os.stat("/usr/lib/python3.11/os.py"); os.path.exists("/usr/lib/nope"); open("/usr/lib/python3.11/abc.py").close()
PYEOF
# launch MODE MARKER — start collrun with the program in the background; fifo on fd 3
# carries "pid <collrun>", "ready <program>" then "exit <collrun status>".
launch() {
  rm -f "$S/fifo"; mkfifo "$S/fifo"; exec 3<>"$S/fifo"; CPID= PPID_= st=
  set -m
  ( { sh -c 'echo "pid $$" >&3; exec "$@"' sh "$COLLRUN" -- $PY "$S/sig.py" "$1" "$2" "$MARK" \
        </dev/null 2>>"$S/launch.err"; } 2>/dev/null; echo "exit $?" >&3 ) &
  set +m
  read -r -t 300 _ CPID <&3 && read -r -t 300 what PPID_ <&3 || what=timeout
}
for sig in TERM INT; do
  rm -f "$S/marker"; launch pause "$S/marker"
  if [ "$what" != ready ]; then fail "forward-SIG$sig" "program never got ready ($what $PPID_)"; kill -9 $CPID 2>/dev/null; else
    kill -$sig "$CPID"
    if read -r -t 300 _ st <&3 && [ "$st" = 7 ] && [ "$(cat "$S/marker" 2>/dev/null)" = "got $(kill -l $sig)" ]; then
      pass "forward-SIG$sig"
    else
      fail "forward-SIG$sig" "collrun status '${st:-none}' (want 7), marker '$(cat "$S/marker" 2>/dev/null)'"; kill -9 "$CPID" "$PPID_" 2>/dev/null
    fi
  fi
  wait; exec 3<&-
done

launch loop "$S/marker"
if [ "$what" != ready ]; then fail collrun-killed "program never got ready ($what $PPID_)"; kill -9 $CPID 2>/dev/null; else
  kill -KILL "$CPID"; read -r -t 300 _ st <&3
  for _ in $(seq 200); do gone "$PPID_" && break; sleep 0.05; done
  if gone "$PPID_"; then pass collrun-killed-program-dies; else
    fail collrun-killed-program-dies "program $PPID_ still alive 10 s after SIGKILL of collrun (status ${st:-none})"; kill -9 "$PPID_"
  fi
fi
wait; exec 3<&-

# --- the job lives and dies as one: collrun -> keeper -> program --------------------------
# The program's parent is collrun's keeper (a child subreaper in its own session); it reaps
# every orphan, and when collrun is gone it kills whatever is left of the job, even
# processes that changed credentials (which clears PR_SET_PDEATHSIG) or left the session.
# Waiting loops below only detect hangs: each waits for a state the code must reach.
field() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$2"; }   # 1 state 2 ppid 3 pgrp 4 session
vanished() { local p; for p in "$@"; do [ ! -e "/proc/$p" ] || return 1; done; }      # not even a zombie
all_gone() { local p; for p in "$@"; do gone "$p" || return 1; done; }
wait_for() { local i; for i in $(seq 600); do "$@" && return 0; sleep 0.05; done; "$@"; }
CAN_SETPRIV=; [ "$(id -u)" = 0 ] && setpriv --reuid=65534 --regid=65534 --clear-groups -- true 2>/dev/null && CAN_SETPRIV=yes
# start_job PREFIX COLLRUN-ARGS... — collrun in the background in its own process group (as
# a shell with job control runs it), stdin /dev/null, stdout/stderr to PREFIX.out/.err.
# fd 3 is a fifo: "pid <collrun>" first (into CPID), then the job's own "NAME PID" lines
# (job_lines N reads them into JP[NAME]), and "exit <status>" when collrun has exited.
declare -A JP
start_job() {
  local p=$1; shift
  rm -f "$S/jfifo"; mkfifo "$S/jfifo"; exec 3<>"$S/jfifo"; CPID=; JP=()
  set -m
  # (the trap keeps this wrapper, in the same group, alive through a ^C to report the status;
  # exec restores the default for collrun)
  ( trap : INT; { sh -c 'echo "pid $$" >&3; exec "$@"' sh "$COLLRUN" "$@" </dev/null >"$p.out" 2>"$p.err"; } 2>/dev/null; echo "exit $?" >&3 ) &
  set +m
  read -r -t 300 _ CPID <&3
}
job_lines() { local i n p; for i in $(seq "$1"); do read -r -t 300 n p <&3 || return 1; JP[$n]=$p; done; }
job_exit() { local w st; read -r -t 300 w st <&3 && [ "$w" = exit ] && echo "$st"; }
end_job() { kill -9 "$CPID" "${JP[@]}" 2>/dev/null; wait; exec 3<&-; }

# process structure: program in collrun's process group and session (terminal signals and
# job control reach it as natively), its parent the keeper, the keeper in its own session
rm -f "$S/never-$MARK"; mkfifo "$S/never-$MARK"
start_job "$S/tree" -- sh -c 'echo "prog $$" >&3; read x <"$1"' sh "$S/never-$MARK"
if ! job_lines 1; then fail process-structure "program never reported"; else
  K=$(field "${JP[prog]}" 2)
  got="keeper-parent=$(field "$K" 2) keeper-name=$(cat /proc/$K/comm) prog-pgrp=$(field "${JP[prog]}" 3) prog-sid=$(field "${JP[prog]}" 4) keeper-sid=$(field "$K" 4)"
  want="keeper-parent=$CPID keeper-name=collrun-keeper prog-pgrp=$(field "$CPID" 3) prog-sid=$(field "$CPID" 4) keeper-sid=$K"
  [ "$got" = "$want" ] && pass process-structure || fail process-structure "got $got; want $want"
  # a terminal's ^Z stops the foreground group (collrun and the program), fg continues it;
  # the keeper, outside the group, is not stopped
  # (a stopped process under the ptrace backend is in a ptrace stop: state t, not T)
  PG=$(field "$CPID" 3)
  stopped() { case $(field "$1" 1) in T) true ;; t) [ "${COLLRUN_BACKEND:-}" = ptrace ] ;; *) false ;; esac; }
  kill -TSTP -- "-$PG"
  if wait_for eval 'stopped "${JP[prog]}" && [ "$(field "$CPID" 1)" = T ]' && [ "$(field "$K" 1)" != T ]; then
    kill -CONT -- "-$PG"
    if wait_for eval '! stopped "${JP[prog]}" && [ "$(field "$CPID" 1)" != T ]'; then pass job-control-stop-continue
    else fail job-control-stop-continue "not continued: program $(field "${JP[prog]}" 1), collrun $(field "$CPID" 1)"; fi
  else
    fail job-control-stop-continue "after SIGTSTP to the group: program $(field "${JP[prog]}" 1), collrun $(field "$CPID" 1), keeper $(field "$K" 1) (want T T and keeper not T)"
  fi
  # a terminal's ^C (SIGINT to the group) ends the program; collrun dies like it; the
  # keeper is not hit and leaves no trace
  kill -INT -- "-$PG"; st=$(job_exit)
  if [ "$st" = 130 ] && wait_for vanished "$K" "${JP[prog]}"; then pass group-interrupt
  else fail group-interrupt "collrun status '${st:-none}' (want 130); keeper $K $(field "$K" 1), program $(field "${JP[prog]}" 1)"; fi
fi
end_job

# kill -9 of collrun ends the whole job: a setsid'd grandchild, one that changed its uid with
# setpriv, an orphan and the program itself; all are reaped (no zombie), none left running.
script='setsid sh -c "echo setsid \$\$ >&3; exec sleep 1000" &
(sh -c "echo orphan \$\$ >&3; exec sleep 1000" &)
if [ -n "$1" ]; then setpriv --reuid=65534 --regid=65534 --clear-groups -- sh -c "echo setpriv \$\$ >&3; exec sleep 1000" & fi
echo "prog $$" >&3; exec sleep 1000'
start_job "$S/kill9" -- sh -c "$script" "$MARK" "$CAN_SETPRIV"
if ! job_lines $((3 + ${#CAN_SETPRIV} / 3)); then fail collrun-killed-whole-job "the job never reported its processes (got ${!JP[*]})"; else
  K=$(field "${JP[prog]}" 2)
  kill -KILL "$CPID"; st=$(job_exit)
  if wait_for vanished "${JP[@]}"; then pass collrun-killed-whole-job
  else fail collrun-killed-whole-job "collrun status ${st:-none}; left: $(for n in "${!JP[@]}"; do [ -e /proc/${JP[$n]} ] && echo "$n=${JP[$n]}($(field ${JP[$n]} 1))"; done)"; fi
  wait_for all_gone "$K" && pass keeper-ends-after-kill || fail keeper-ends-after-kill "keeper $K still $(field "$K" 1)"
  [ -n "$CAN_SETPRIV" ] || skip collrun-killed-setpriv "not root: no setpriv'd grandchild in the job above"
fi
end_job

# the program itself changes credentials (setpriv, as gosu does: PR_SET_PDEATHSIG cleared)
if [ -z "$CAN_SETPRIV" ]; then skip collrun-killed-setpriv-program "not root: setpriv cannot change the uid"; else
  start_job "$S/kill9p" -- setpriv --reuid=65534 --regid=65534 --clear-groups -- sh -c 'sh -c "echo child \$\$ >&3; exec sleep 1000" & echo "prog $$" >&3; exec sleep 1000' "$MARK"
  if ! job_lines 2; then fail collrun-killed-setpriv-program "the job never reported"; else
    uid=$(awk '/^Uid:/ {print $2}' "/proc/${JP[prog]}/status")
    kill -KILL "$CPID"; job_exit >/dev/null
    if [ "$uid" = 65534 ] && wait_for vanished "${JP[@]}"; then pass collrun-killed-setpriv-program
    else fail collrun-killed-setpriv-program "program uid $uid (want 65534); left: $(for p in "${JP[@]}"; do [ -e /proc/$p ] && echo "$p($(field $p 1))"; done)"; fi
  fi
  end_job
fi

# the keeper killed: collrun (also a subreaper) takes the orphans, kills the job, says why
# in one line, and exits 125
start_job "$S/keeperkill" -- sh -c 'sh -c "echo child \$\$ >&3; exec sleep 1000" & echo "prog $$" >&3; exec sleep 1000' "$MARK"
if ! job_lines 2; then fail keeper-killed "the job never reported"; else
  K=$(field "${JP[prog]}" 2); kill -KILL "$K"; st=$(job_exit)
  if [ "$st" = 125 ] && [ "$(wc -l <"$S/keeperkill.err")" = 1 ] && grep -q "^collrun: the job's keeper process (pid $K) was killed by signal 9" "$S/keeperkill.err" &&
     wait_for vanished "${JP[@]}"; then pass keeper-killed
  else fail keeper-killed "status ${st:-none} (want 125), stderr '$(cat "$S/keeperkill.err")', left: $(for p in "${JP[@]}"; do [ -e /proc/$p ] && echo "$p($(field $p 1))"; done)"; fi
fi
end_job

# orphans of the job are adopted and reaped by the keeper at once: no zombie waits for init
O=$S/orphan; mkdir -p "$O"; rm -f "$O/go" "$O/end"; mkfifo "$O/go" "$O/end"
start_job "$S/orphan" -- sh -c '(sh -c "echo orphan \$\$ >&3; read x <\"\$1/go\"" sh "$1" &); echo "prog $$" >&3; read x <"$1/end"' sh "$O" "$MARK"
if ! job_lines 2; then fail orphan-reaped "the job never reported"; else
  K=$(field "${JP[prog]}" 2)
  if wait_for eval '[ "$(field "${JP[orphan]}" 2)" = "$K" ]'; then
    exec 5<>"$O/go"; echo go >&5
    wait_for vanished "${JP[orphan]}" && pass orphan-reaped || fail orphan-reaped "orphan ${JP[orphan]} left as $(field "${JP[orphan]}" 1) (parent $(field "${JP[orphan]}" 2))"
    exec 5<&-
  else
    fail orphan-reaped "orphan ${JP[orphan]}'s parent is $(field "${JP[orphan]}" 2), not the keeper $K"
  fi
  exec 5<>"$O/end"; echo end >&5; st=$(job_exit); exec 5<&-
  [ "$st" = 0 ] && wait_for vanished "$K" && pass keeper-waited-for || fail keeper-waited-for "collrun status ${st:-none}; keeper $K $(field "$K" 1) after collrun exited"
fi
end_job

# the background copy: a process that outlives the program is served by it (it reads a
# cached file after collrun has exited; -v of the copy goes on to a standard error that is
# a regular file), and SIGTERM ends the copy, after which the keeper kills what is left
G=$S/linger; mkdir -p "$G/data" "$G/ctl"; rm -f "$G/ctl/"*; mkfifo "$G/ctl/go" "$G/ctl/end"
echo "lingering-$MARK" >"$G/data/file"; settle_clock
cat >"$G/bg.sh" <<'SHEOF'
echo "bg $$" >&3
read x <"$1/ctl/go"
cat "$1/data/file" >"$1/out"
echo "read $$" >&3
read x <"$1/ctl/end"
SHEOF
if [ "${COLLRUN_BACKEND:-}" = ptrace ]; then
# Under the ptrace backend there is no background copy (a tracer cannot hand its tracees
# on): like strace -f, collrun itself serves the processes that outlive the program and
# exits when the last of them has, with the program's status.
rm -f "$S/jfifo"; mkfifo "$S/jfifo"; exec 3<>"$S/jfifo"; JP=()
( "$COLLRUN" -v --data=memfd -c "$G/data" -- sh -c 'sh "$1/bg.sh" "$1" "$2" & echo "prog $$" >&3; exit 3' sh "$G" "$MARK" \
    </dev/null >"$G/run.out" 2>"$G/run.err"; echo $? >"$G/run.rc" ) &
RUNNER=$!
if ! job_lines 2; then
  fail ptrace-serves-past-program "the program or its background process never reported"
else
  wait_for vanished "${JP[prog]}"
  if [ -s "$G/run.rc" ]; then fail ptrace-serves-past-program "collrun exited (status $(cat "$G/run.rc")) while a process of the job still ran"
  else
    exec 5<>"$G/ctl/go"; echo go >&5
    if job_lines 1 && [ "$(cat "$G/out")" = "lingering-$MARK" ]; then
      exec 6<>"$G/ctl/end"; echo end >&6
      wait "$RUNNER"
      if [ "$(cat "$G/run.rc")" = 3 ] && grep -q "openat $G/data/file -> fd " "$G/run.err"; then pass ptrace-serves-past-program
      else fail ptrace-serves-past-program "collrun status $(cat "$G/run.rc") (want 3, the program's); trace: $(grep -F "$G/data/file" "$G/run.err" | tail -2)"; fi
      exec 6<&-
    else
      fail ptrace-serves-past-program "the background process read '$(cat "$G/out" 2>/dev/null)'"
    fi
    exec 5<&-
  fi
fi
kill -9 "${JP[@]}" 2>/dev/null; wait; exec 3<&-
else
rm -f "$S/jfifo"; mkfifo "$S/jfifo"; exec 3<>"$S/jfifo"; JP=()
# --data=memfd: the copy hands out a descriptor of its own (local files are otherwise opened
# by the kernel), so the trace shows it served the open
run_to "$G/run" "$COLLRUN" -v --data=memfd -c "$G/data" -- sh -c 'sh "$1/bg.sh" "$1" "$2" & echo "prog $$" >&3' sh "$G" "$MARK" </dev/null
LP=$(sed -n 's/.*a background copy (pid \([0-9]*\)) serves them.*/\1/p' "$G/run.err")
if [ "$(cat "$G/run.rc")" != 0 ] || ! job_lines 2 || [ -z "$LP" ]; then
  fail linger-serves "collrun status $(cat "$G/run.rc") (want 0), background copy '${LP:-none}', job ${!JP[*]}: $(grep -v '\] ' "$G/run.err" | head -3)"
else
  K=$(field "${JP[bg]}" 2)
  exec 5<>"$G/ctl/go"; echo go >&5
  if job_lines 1 && [ "$(cat "$G/out")" = "lingering-$MARK" ] && grep -q "openat $G/data/file -> fd (" "$G/run.err"; then
    pass linger-serves
  else
    fail linger-serves "out '$(cat "$G/out" 2>/dev/null)'; copy's trace: $(grep -F "$G/data/file" "$G/run.err" | tail -2)"
  fi
  kill -TERM "$LP"
  if wait_for vanished "${JP[bg]}" && wait_for all_gone "$LP" "$K" && grep -q 'background copy: ending on signal 15' "$G/run.err"; then
    pass linger-ends-on-sigterm
  else
    fail linger-ends-on-sigterm "after SIGTERM to $LP: copy $(field "$LP" 1), keeper $K $(field "$K" 1), bg ${JP[bg]} $(field "${JP[bg]}" 1)"
  fi
  exec 5<&-
fi
kill -9 "${JP[@]}" 2>/dev/null; exec 3<&-

# ... and the copy and the keeper end by themselves when the last process does
rm -f "$S/jfifo"; mkfifo "$S/jfifo"; exec 3<>"$S/jfifo"; JP=()
run_to "$G/run2" "$COLLRUN" -v -- sh -c 'sh -c "echo bg \$\$ >&3; read x <\"\$1/ctl/go\"" sh "$1" "$2" & echo "prog $$" >&3' sh "$G" "$MARK" </dev/null
LP=$(sed -n 's/.*a background copy (pid \([0-9]*\)) serves them.*/\1/p' "$G/run2.err")
if job_lines 2 && [ -n "$LP" ]; then
  K=$(field "${JP[bg]}" 2)
  exec 5<>"$G/ctl/go"; echo go >&5
  if wait_for vanished "${JP[bg]}" && wait_for all_gone "$LP" "$K" && grep -q 'background copy: the last process of the job has exited' "$G/run2.err"; then
    pass linger-ends-with-job
  else
    fail linger-ends-with-job "copy $LP $(field "$LP" 1), keeper $K $(field "$K" 1), bg ${JP[bg]} $(field "${JP[bg]}" 1)"
  fi
  exec 5<&-
else
  fail linger-ends-with-job "no background copy reported: $(grep -v '\] ' "$G/run2.err" | head -3)"
fi
kill -9 "${JP[@]}" 2>/dev/null; exec 3<&-

fi

stray=$(pgrep -af -- "$MARK")
[ -z "$stray" ] && pass no-leftover-after-signals || fail no-leftover-after-signals "still running: $(echo $stray | head -c 300)"
finish
