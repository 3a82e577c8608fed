#!/usr/bin/env bash
# process.sh — collrun as a process: exit statuses and deaths by signal forwarded, signals
# sent to collrun reach the program, CLI errors (2/126/127), --help/--version, nesting,
# threads, inherited descriptors/environment/attributes untouched, nothing left behind,
# and the program dies with collrun when collrun is SIGKILLed.
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
one_line_error missing-program-message "$S/missing" "$S/no-such-program"
run_to "$S/missing2" "$COLLRUN" -- no-such-command-$MARK </dev/null; expect_rc missing-in-path 127 "$S/missing2"
one_line_error missing-in-path-message "$S/missing2" "no-such-command-$MARK"
printf '#!/bin/sh\necho should-not-run\n' >"$S/not-exec"; chmod 644 "$S/not-exec"
run_to "$S/noexec" "$COLLRUN" -- "$S/not-exec" </dev/null; expect_rc not-executable 126 "$S/noexec"
one_line_error not-executable-message "$S/noexec" "$S/not-exec"
run_to "$S/dir" "$COLLRUN" -- "$S/cwd" </dev/null; expect_rc directory-not-executable 126 "$S/dir"
# -s adds the table on stderr only; -c DIR / --cache=DIR make an uncached folder cached
run_to "$S/dash-s" "$COLLRUN" -s -- /bin/echo "$MARK" </dev/null
[ "$(cat "$S/dash-s.out")" = "$MARK" ] && tail -n 1 "$S/dash-s.err" | grep -q '^collrun-stats: trapped=' && pass stats-on-stderr ||
  fail stats-on-stderr "stdout '$(head -c 100 "$S/dash-s.out")', stderr last line '$(tail -n 1 "$S/dash-s.err")'"
mkdir -p "$S/cdir"; echo data >"$S/cdir/a"; settle_clock; res= res2=
for o in "" -c --cache=; do
  if [ "$o" = -c ]; then set -- -c "$S/cdir"; elif [ -n "$o" ]; then set -- "$o$S/cdir"; else set --; fi
  "$COLLRUN" "$@" --stats-file="$S/cdir.stats" -- /bin/busybox cat "$S/cdir/a" "$S/cdir/a" >/dev/null 2>&1
  f=$(stat_field "$S/cdir.stats" files) v=$(stat_field "$S/cdir.stats" served)
  res="$res ${o:-none}:files=$f,served=$v"; [ -n "$o" ] && [ "${v:-0}" -ge 1 ] && v=some; res2="$res2 $f,$v"
done
[ "$res2" = " 0,0 1,some 1,some" ] && pass cache-option || fail cache-option "got$res (want files=0,served=0 without; files=1,served>0 with)"

# --- collrun inside collrun -------------------------------------------------------------
run_to "$S/nest" "$COLLRUN" -- "$COLLRUN" -- /bin/true </dev/null; expect_rc nested-true 0 "$S/nest"
nestpy='import json, decimal, email.message, sqlite3, sys; print(json.dumps(sorted(sys.modules)[:50]), decimal.Decimal(2).sqrt())'
run_to "$S/nestpy-collrun" "$COLLRUN" -- "$COLLRUN" -- $PY -c "$nestpy" "$MARK" </dev/null
run_to "$S/nestpy-native" $PY -c "$nestpy" "$MARK" </dev/null
same_files nested-python "$S/nestpy-native" "$S/nestpy-collrun"

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
stray=$(pgrep -af -- "$MARK")
[ -z "$stray" ] && pass no-leftover-after-signals || fail no-leftover-after-signals "still running: $(echo $stray | head -c 300)"
finish
