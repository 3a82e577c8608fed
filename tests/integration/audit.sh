#!/usr/bin/env bash
# audit.sh — collrun --audit and collrun report (collrun(1), AUDIT):
#  lines        text and jsonl lines for a program's trapped calls, with decoded arguments,
#               results and dispositions (filled on a file's 1st open, hit on its 2nd,
#               denied, hidden, redirected, passed with its result under ptrace, the
#               default for --audit, and "= ?" under user notification); every jsonl line parses,
#               also from many threads at once;
#  oracle       for every call collrun answers (not passed), name, path and result equal
#               what strace -f reports for the same program run natively (the diff probe,
#               dynamic and static, and python3 -c 'import json');
#  backtrace    --audit --backtrace names an open's calling chain (inner, middle, outer,
#               main) for a dynamic and a static build, and libpython frames for python3;
#  transparent  the program's output is the same with and without --audit;
#  errors       an audit path that is a folder, has no parent or may not be written, and
#               --backtrace without --audit: status 2 before the program runs;
#  report       a loader LD_LIBRARY_PATH storm is named with the missing file and its
#               folders; --plot writes a PNG; two audit files are both labelled; passed
#               look-ups give cache rules; the text format is refused with advice.
. "$(dirname "$0")/lib.sh"
need_collrun
cacheable_scratch                  # the storm's LD_LIBRARY_PATH trees must be cacheable
S=$(realpath "$S")
. "$SRC/tests/diff/fixture.sh"
FIX=$S/tests/diff/fixture
make_fixture "$FIX" || { fail setup "cannot create the probe fixture $FIX"; finish; }
PROBE=$BUILD/tests/diff/probe
settle_clock

# jsonl_ok NAME FILE — every line of FILE is a JSON object (and there is one at least).
jsonl_ok() {
  python3 -c 'import json,sys
n=0
for l in sys.stdin:
    assert isinstance(json.loads(l), dict); n+=1
assert n > 0' <"$2" 2>"$S/$1.jsonerr"
}

# ---------------------------------------------------------------------------------------
# lines: cat of one file twice (filled, then hit), a denied, a hidden, a redirected and a
# passed file, in the text format.
L=$S/lines; mkdir -p "$L/c" "$L/to" "$L/p"
echo one >"$L/c/f"; echo two >"$L/to/x"; echo three >"$L/p/f"; echo four >"$L/c/secret"; echo five >"$L/c/gone.txt"
cat >"$L/policy" <<P
deny $L/c/secret EACCES
hide gone.txt
redirect $L/from $L/to
pass $L/p
cache $L/c
cache $L/to
P
settle_clock
# With --audit the ptrace backend is chosen (auto): every result is known, passed ones too.
# The same run under user notification shows a passed call's result as "?".
(cd "$L" && "$COLLRUN" --no-default-policy -p "$L/policy" --data=memfd --audit="$L/audit.txt" -- \
  sh -c "cat c/f c/f; cat c/secret; cat $L/c/gone.txt; cat $L/from/x; cat p/f; exit 0" >"$L/out" 2>"$L/err")
rc=$?
(cd "$L" && "$COLLRUN" --backend=notify --no-default-policy -p "$L/policy" --data=memfd --audit="$L/audit-notify.txt" -- \
  sh -c "cat p/f; exit 0" >"$L/out-notify" 2>"$L/err-notify")
want() {  # want NAME REGEX — FILE audit.txt has a line matching REGEX
  if grep -Eq -- "$2" "$L/audit.txt"; then pass "$1"; else fail "$1" "no line like /$2/ in $L/audit.txt: $(grep -F "$L" "$L/audit.txt" | head -5)"; fi
}
N='[0-9]+'; TS='^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} '"$N"' '
if [ "$rc" = 0 ] && [ "$(tr '\n' ' ' <"$L/out")" = "one one two three " ]; then pass text-program-ran; else fail text-program-ran "rc=$rc out=$(cat "$L/out") err=$(head -3 "$L/err")"; fi
first=$(grep -nF "openat(AT_FDCWD, \"c/f\", O_RDONLY)" "$L/audit.txt" | head -2 | tr '\n' ' ')
if [[ $first =~ ^[0-9]+:.*' = '([0-9]+)' <filled '[0-9]+'us>'\ [0-9]+:.*' = '([0-9]+)' <hit '[0-9]+'us>' ]] && [ "${BASH_REMATCH[1]}" = 3 ]; then
  pass text-filled-then-hit
else fail text-filled-then-hit "1st open of c/f not 'filled' with fd 3 and 2nd not 'hit': $first"; fi
want text-denied "${TS}openat\(AT_FDCWD, \"c/secret\", O_RDONLY\) = -1 EACCES \(Permission denied\) <denied ${N}us>$"
want text-hidden "${TS}openat\(AT_FDCWD, \"$L/c/gone.txt\", O_RDONLY\) = -1 ENOENT \(No such file or directory\) <hidden ${N}us>$"
want text-redirected "${TS}openat\(AT_FDCWD, \"$L/from/x\", O_RDONLY\) = 3 <redirected ${N}us>$"
want text-passed-result "${TS}openat\(AT_FDCWD, \"p/f\", O_RDONLY\) = 3 <passed ${N}us>$"
want text-execve-decoded "${TS}execve\(\"/usr/bin/cat\", 0x[0-9a-f]+, 0x[0-9a-f]+\) = 0 <passed ${N}us>$"
if grep -Eq -- "${TS}openat\(AT_FDCWD, \"p/f\", O_RDONLY\) = \? <passed ${N}us>$" "$L/audit-notify.txt"; then pass text-notify-passed-unknown
else fail text-notify-passed-unknown "no '= ?' passed line for p/f in $L/audit-notify.txt: $(grep -F 'p/f' "$L/audit-notify.txt" | head -2)"; fi

# jsonl: the probe's battery over the fixture (cached, copied: opens are answered).
J=$S/jsonl; mkdir -p "$J"
(cd "$J" && "$COLLRUN" -c "$FIX" --data=memfd --audit="$J/audit.jsonl" --audit-format=jsonl -- "$PROBE" basic "$FIX" >"$J/out" 2>"$J/err")
if jsonl_ok jsonl-parses "$J/audit.jsonl"; then pass jsonl-parses; else fail jsonl-parses "$(tail -2 "$S/jsonl-parses.jsonerr")"; fi
python3 - "$J/audit.jsonl" "$FIX" >"$J/check" 2>&1 <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
fix = sys.argv[2]
def find(**kw):
    for r in recs:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    print("missing:", kw); sys.exit(1)
s = fix + "/small.txt"
keys = {"ts", "pid", "syscall", "args", "path", "result", "errno", "disposition", "latency_us"}
for r in recs:
    assert keys <= set(r), r
    assert isinstance(r["latency_us"], int) and r["latency_us"] >= 0, r
    assert r["disposition"] in ("hit", "filled", "passed", "denied", "redirected", "hidden"), r
    assert r["result"] is not None or r["disposition"] == "passed", r   # (ptrace: passed ones too)
o = [r for r in recs if r["syscall"] == "open" and r["args"] == [s, "O_RDONLY"]]
assert len(o) >= 1 and o[0]["result"] == 3 and o[0]["disposition"] in ("filled", "hit"), o[:1]
find(syscall="openat", args=["AT_FDCWD", s, "O_RDONLY"], result=3, disposition="hit")
find(syscall="stat", path=s, result=0)
find(syscall="newfstatat", path=s, result=0, disposition="hit")
r = find(syscall="newfstatat", path=s)
assert r["args"][0] == "AT_FDCWD" and r["args"][2].startswith("0x") and r["args"][3] == "0", r
find(syscall="newfstatat", path=s, args=["AT_FDCWD", s, r["args"][2], "AT_SYMLINK_NOFOLLOW"])
r = find(syscall="statx", path=s)
assert r["args"][2:4] == ["AT_STATX_SYNC_AS_STAT", "STATX_BASIC_STATS"], r
r = [x for x in recs if x["syscall"] == "statx" and x["path"] == s and x["args"][2] == "AT_SYMLINK_NOFOLLOW"][0]
assert r["args"][3] == "STATX_BASIC_STATS|STATX_BTIME", r
find(syscall="access", args=[s, "F_OK"], result=0)
find(syscall="access", args=[s, "X_OK"], result=-1, errno="EACCES")
find(syscall="faccessat2", args=["AT_FDCWD", s, "R_OK", "AT_EACCESS"], result=0)
r = find(syscall="readlinkat", path=s)
assert r["args"][3] == 256 and r["result"] == -1 and r["errno"] == "EINVAL", r
find(syscall="openat", path=fix + "/missing", result=-1, errno="ENOENT")
r = find(syscall="openat2", path=s)
assert r["args"][2] == "{flags=O_RDONLY, resolve=0}" and r["args"][3] == 24, r
print("ok", len(recs))
PY
if [ "$(tail -1 "$J/check")" != "" ] && grep -q '^ok ' "$J/check"; then pass jsonl-decoded-args-results; else fail jsonl-decoded-args-results "$(tail -3 "$J/check")"; fi

# Many threads answered by the loop and the workers at once: whole lines only.
(cd "$J" && "$COLLRUN" -c "$FIX" --audit="$J/threads.jsonl" --audit-format=jsonl -- "$PROBE" threads "$FIX" >"$J/threads.out" 2>&1)
if jsonl_ok jsonl-threads-whole-lines "$J/threads.jsonl" && [ "$(wc -l <"$J/threads.jsonl")" -gt 50 ]; then
  pass jsonl-threads-whole-lines
else fail jsonl-threads-whole-lines "$(wc -l <"$J/threads.jsonl") lines; $(tail -2 "$S/jsonl-threads-whole-lines.jsonerr")"; fi

# ---------------------------------------------------------------------------------------
# oracle: strace of the native run against the audit of the collrun run.
LOOKUPS=open,openat,openat2,stat,lstat,newfstatat,statx,access,faccessat,faccessat2,readlink,readlinkat
oracle() {  # oracle NAME DIR CMD...
  local name=$1 d=$2; shift 2
  mkdir -p "$d/work"
  if ! (cd "$d/work" && strace -f -qq -s 65536 -o "$d/strace.txt" -e trace=$LOOKUPS -e signal=none -- "$@" >"$d/native.out" 2>&1); then
    fail "$name" "native run under strace failed: $(head -3 "$d/native.out")"; return
  fi
  settle_clock
  (cd "$d/work" && "$COLLRUN" "${CR_OPTS[@]}" --audit="$d/audit.jsonl" --audit-format=jsonl -- "$@" >"$d/collrun.out" 2>&1)
  python3 - "$d/strace.txt" "$d/audit.jsonl" "${ORACLE_ALL:-0}" >"$d/oracle.txt" 2>&1 <<'PY'
import json, re, sys
def unesc(s):   # strace's C escapes -> bytes -> str (latin-1, as the audit's \u00XX)
    b = bytearray(); i = 0
    while i < len(s):
        c = s[i]
        if c != '\\': b += c.encode('latin-1'); i += 1; continue
        n = s[i+1]
        m = re.match(r'[0-7]{1,3}', s[i+1:])
        if m: b.append(int(m.group(), 8)); i += 1 + len(m.group()); continue
        if n == 'x': b.append(int(s[i+2:i+4], 16)); i += 4; continue
        b += {'n': b'\n', 't': b'\t', 'r': b'\r', 'v': b'\v', 'f': b'\f', '"': b'"', '\\': b'\\'}[n]; i += 2
    return b.decode('latin-1')
line_re = re.compile(r'^(?:\d+\s+)?(\w+)\((?:AT_FDCWD|-?\d+)?(?:, )?"((?:[^"\\]|\\.)*)".*\)\s+= (-?\d+)(?: (E\w+))?')
native = []
for l in open(sys.argv[1], encoding='latin-1'):
    m = line_re.match(l)
    if m:
        native.append((m.group(1), unesc(m.group(2)), int(m.group(3)), m.group(4), 'AT_EMPTY_PATH' in l))
answered = []
path_arg = {"open": 0, "stat": 0, "lstat": 0, "access": 0, "readlink": 0}
# Lines are written as calls are answered (collrun(1), AUDIT): in call order by ts.
every = sys.argv[3] == '1'   # ptrace backend: every trapped call's result is known
if every:   # the fstat form (empty path, AT_EMPTY_PATH) is never trapped
    native = [n for n in native if not (n[1] == '' and n[4])]
native = [n[:4] for n in native]
for r in sorted((json.loads(l) for l in open(sys.argv[2], encoding='latin-1')), key=lambda r: r["ts"]):
    if (r["disposition"] == "passed" and not every) or r["syscall"] not in "open,openat,openat2,stat,lstat,newfstatat,statx,access,faccessat,faccessat2,readlink,readlinkat".split(","):
        continue
    answered.append((r["syscall"], r["args"][path_arg.get(r["syscall"], 1)], r["result"], r["errno"]))
# In order: every answered call is the next native call of that name and path, with the same result.
i = 0; bad = 0
for a in answered:
    while i < len(native) and native[i][:2] != a[:2]:
        i += 1
    if i == len(native):
        print("not in strace (in order):", a); bad += 1; break
    if native[i][2:] != a[2:]:
        print("differs: strace", native[i], "audit", a); bad += 1
    i += 1
print("answered", len(answered), "native", len(native), "bad", bad)
if every and [a[:2] for a in answered] != [n[:2] for n in native]:
    print("ptrace: the audit's calls are not exactly strace's:", len(answered), "vs", len(native)); bad += 1
sys.exit(1 if bad or len(answered) < 10 else 0)
PY
  if [ $? = 0 ]; then pass "$name"; else fail "$name" "$(tail -3 "$d/oracle.txt" | tr '\n' ' ') (files in $d)"; fi
}
if ! strace -f -qq -o /dev/null true 2>/dev/null; then
  skip oracle "strace cannot trace here (ptrace not permitted?)"
else
  CR_OPTS=(-c "$FIX" --data=memfd --backend=notify)
  oracle oracle-probe-dynamic "$S/oracle-dyn" "$PROBE" basic "$FIX"
  oracle oracle-probe-static "$S/oracle-static" "$BUILD/tests/diff/probe-static" basic "$FIX"
  CR_OPTS=(--backend=notify)
  oracle oracle-python-import-json "$S/oracle-py" /usr/bin/python3 -c 'import json'
  # The ptrace backend knows every trapped call's result: all of them must equal strace's,
  # passed ones included, call for call.
  ORACLE_ALL=1
  CR_OPTS=(-c "$FIX" --data=memfd --backend=ptrace)
  oracle oracle-ptrace-every-call-probe-dynamic "$S/oracle-pt-dyn" "$PROBE" basic "$FIX"
  oracle oracle-ptrace-every-call-probe-static "$S/oracle-pt-static" "$BUILD/tests/diff/probe-static" basic "$FIX"
  CR_OPTS=(--backend=ptrace)
  oracle oracle-ptrace-every-call-python-import-json "$S/oracle-pt-py" /usr/bin/python3 -c 'import json'
  ORACLE_ALL=0
fi

# ---------------------------------------------------------------------------------------
# backtrace: --audit --backtrace (the ptrace backend) shows the calling chain of an open:
# bt_chain opens its argument from main -> outer -> middle -> inner; the audit line of that
# open must name inner, middle, outer, main in that order, innermost first; dynamic and
# static builds, and python3, whose frames are named from libpython's exported symbols.
bt_check() {  # bt_check NAME PATH-IN-ARGS PYTHON-EXPR CMD...
  local name=$1 path=$2 expr=$3; shift 3
  local d=$S/$name; mkdir -p "$d"
  "$COLLRUN" --audit="$d/audit.jsonl" --audit-format=jsonl --backtrace -- "$@" >"$d/out" 2>&1
  python3 - "$d/audit.jsonl" "$path" "$expr" >"$d/check.txt" 2>&1 <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding='latin-1')]
rec = next((r for r in recs if sys.argv[2] in r.get("args", []) and r["syscall"] in ("open", "openat")), None)
if rec is None:
    print("no audit line for", sys.argv[2]); sys.exit(1)
fns = [f["fn"] for f in rec.get("stack", [])]
objs = [f["obj"] for f in rec.get("stack", [])]
ok = eval(sys.argv[3])
print("stack:", fns, objs[:2]); sys.exit(0 if ok else 1)
PY
  if [ $? = 0 ]; then pass "$name"; else fail "$name" "$(tail -2 "$d/check.txt" | tr '\n' ' ') (files in $d)"; fi
}
BT_FILE=$S/bt-target; echo x >"$BT_FILE"
CHAIN="(lambda w: all(x in fns for x in w) and [fns.index(x) for x in w] == sorted(fns.index(x) for x in w))(['inner', 'middle', 'outer', 'main'])"
bt_check backtrace-chain-dynamic "$BT_FILE" "$CHAIN and fns.index('inner') + 1 == fns.index('middle')" "$BUILD/tests/helpers/bt_chain" "$BT_FILE"
bt_check backtrace-chain-static "$BT_FILE" "$CHAIN and fns.index('inner') + 1 == fns.index('middle')" "$BUILD/tests/helpers/bt_chain_static" "$BT_FILE"
bt_check backtrace-python "/nonexistent-bt-audit" "any('PyEval' in f or 'Py_RunMain' in f for f in fns)" /usr/bin/python3 -c 'open("/nonexistent-bt-audit")'

# ---------------------------------------------------------------------------------------
# transparent: the same output, status and errors with and without --audit.
for sc in basic statx symlinks; do
  d=$S/same-$sc; mkdir -p "$d"
  (cd "$d" && "$COLLRUN" -c "$FIX" -- "$PROBE" $sc "$FIX" >"$d/plain.out" 2>"$d/plain.err"; echo $? >"$d/plain.rc")
  (cd "$d" && "$COLLRUN" -c "$FIX" --audit="$d/a.jsonl" --audit-format=jsonl -- "$PROBE" $sc "$FIX" >"$d/audit.out" 2>"$d/audit.err"; echo $? >"$d/audit.rc")
  if [ -s "$d/plain.out" ]; then same_files "same-results-with-audit-$sc" "$d/plain" "$d/audit"; else fail "same-results-with-audit-$sc" "the probe printed nothing"; fi
done

# ---------------------------------------------------------------------------------------
# errors: a bad audit path, or --backtrace alone, stops collrun before the program runs.
E=$S/errors; mkdir -p "$E/ro"; chmod 0555 "$E/ro"
bad_path() {  # bad_path NAME AUDITPATH REASON [RUNNER...]
  local name=$1 path=$2 reason=$3; shift 3
  rm -f "$E/marker"
  "$@" "$COLLRUN" --audit="$path" -- sh -c "touch $E/marker" >"$E/$name.out" 2>"$E/$name.err"; local rc=$?
  if [ "$rc" = 2 ] && [ ! -e "$E/marker" ] && grep -qF -- "$path" "$E/$name.err" && grep -qF -- "$reason" "$E/$name.err"; then
    pass "$name"
  else fail "$name" "rc=$rc (want 2), marker $( [ -e "$E/marker" ] && echo made || echo absent), stderr: $(head -2 "$E/$name.err")"; fi
}
bad_path audit-path-directory "$E" "Is a directory"
bad_path audit-path-missing-parent "$E/nope/audit.txt" "No such file or directory"
if [ "$(id -u)" != 0 ]; then
  bad_path audit-path-unwritable "$E/ro/audit.txt" "Permission denied"
elif setpriv --reuid=65534 --regid=65534 --clear-groups -- test -x "$COLLRUN" 2>/dev/null &&
     setpriv --reuid=65534 --regid=65534 --clear-groups -- test -w "$E" 2>/dev/null; then
  bad_path audit-path-unwritable "$E/ro/audit.txt" "Permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups --
else
  chmod 0777 "$E"   # nobody must be able to make the marker, so that its absence means something
  if setpriv --reuid=65534 --regid=65534 --clear-groups -- test -x "$COLLRUN" 2>/dev/null &&
     setpriv --reuid=65534 --regid=65534 --clear-groups -- test -w "$E" 2>/dev/null; then
    bad_path audit-path-unwritable "$E/ro/audit.txt" "Permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups --
  else skip audit-path-unwritable "root, and uid 65534 cannot reach $COLLRUN or $E (a 0700 folder on the way)"; fi
fi
rm -f "$E/marker"
"$COLLRUN" --backtrace -- sh -c "touch $E/marker" >"$E/bt.out" 2>"$E/bt.err"; rc=$?
if [ "$rc" = 2 ] && [ ! -e "$E/marker" ] && grep -q -- "--backtrace.*--audit" "$E/bt.err"; then pass backtrace-needs-audit
else fail backtrace-needs-audit "rc=$rc (want 2), stderr: $(head -2 "$E/bt.err")"; fi

# ---------------------------------------------------------------------------------------
# report: a loader storm. prog needs libstorm.so (no rpath); LD_LIBRARY_PATH lists four
# empty folders before the real one, so the loader probes libstorm.so in each.
R=$S/storm; mkdir -p "$R/src" "$R/real" "$R/e1" "$R/e2" "$R/e3" "$R/e4"
printf 'int storm(void) { return 42; }\n' >"$R/src/storm.c"
printf '#include <stdio.h>\nint storm(void);\nint main(void) { printf("storm %%d\\n", storm()); return 0; }\n' >"$R/src/prog.c"
if ! gcc -shared -fPIC -o "$R/real/libstorm.so" "$R/src/storm.c" 2>"$R/gcc.err" ||
   ! gcc -o "$R/prog" "$R/src/prog.c" -L"$R/real" -lstorm 2>>"$R/gcc.err"; then
  fail report-setup "cannot build the storm program: $(head -3 "$R/gcc.err")"; finish
fi
LLP=$R/e1:$R/e2:$R/e3:$R/e4:$R/real
settle_clock
storm_run() {  # storm_run AUDIT [OPTIONS...]
  local a=$1; shift
  (cd "$R" && LD_LIBRARY_PATH=$LLP "$COLLRUN" "$@" --audit="$a" --audit-format=jsonl -- "$R/prog" >"$a.out" 2>&1)
}
storm_run "$R/a.jsonl" --data=memfd
storm_run "$R/b.jsonl" --data=memfd
if [ "$(cat "$R/a.jsonl.out")" = "storm 42" ]; then pass report-storm-program-ran; else fail report-storm-program-ran "$(head -3 "$R/a.jsonl.out")"; fi
"$COLLRUN" report "$R/a.jsonl" >"$R/report.txt" 2>"$R/report.err"; rc=$?
if [ "$rc" = 0 ] && grep -q "loader storm: libstorm.so missing in [0-9]* folders" "$R/report.txt" &&
   grep -qx "      $R/e1" "$R/report.txt" && grep -qx "      $R/e4" "$R/report.txt" &&
   grep -qx "    found at $R/real/libstorm.so" "$R/report.txt"; then
  pass report-names-loader-storm
else fail report-names-loader-storm "rc=$rc; $(grep -A8 'ENOENT storms' "$R/report.txt" | head -10 | tr '\n' '|') $(head -2 "$R/report.err")"; fi
if ! command -v gnuplot >/dev/null; then
  skip report-plot-png "gnuplot is not installed (Debian: gnuplot-nox)"
else
  rm -f "$R/plot.png"
  "$COLLRUN" report --plot "$R/plot.png" "$R/a.jsonl" >"$R/plot.txt" 2>&1; rc=$?
  if [ "$rc" = 0 ] && [ "$(head -c 8 "$R/plot.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
    pass report-plot-png
  else fail report-plot-png "rc=$rc, $(head -c 8 "$R/plot.png" 2>/dev/null | od -An -c) $(tail -2 "$R/plot.txt")"; fi
fi
"$COLLRUN" report "$R/a.jsonl" "$R/b.jsonl" >"$R/multi.txt" 2>&1; rc=$?
pa=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["pid"])' "$R/a.jsonl")
pb=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["pid"])' "$R/b.jsonl")
if [ "$rc" = 0 ] && grep -q "in 2 files" "$R/multi.txt" && grep -Eq " $R/a.jsonl:$pa\$" "$R/multi.txt" &&
   grep -Eq " $R/b.jsonl:$pb\$" "$R/multi.txt"; then
  pass report-multi-file-labels
else fail report-multi-file-labels "rc=$rc; $(grep -A4 'per process' "$R/multi.txt" | tr '\n' '|')"; fi
# Passed look-ups (no policy at all) give a cache rule for the storm's tree.
storm_run "$R/passed.jsonl" --no-default-policy
"$COLLRUN" report "$R/passed.jsonl" >"$R/passed.txt" 2>&1
if grep -Eq "^  cache $R   # [0-9]+ passed look-ups\$" "$R/passed.txt"; then pass report-suggests-cache-rule
else fail report-suggests-cache-rule "$(grep -A5 'Cache rules' "$R/passed.txt" | tr '\n' '|')"; fi
# The text format cannot be read back: refused with the advice to record jsonl.
(cd "$R" && LD_LIBRARY_PATH=$LLP "$COLLRUN" --audit="$R/text.jsonl" -- "$R/prog" >/dev/null 2>&1)
"$COLLRUN" report "$R/text.jsonl" >"$R/text.out" 2>"$R/text.err"; rc=$?
if [ "$rc" = 1 ] && grep -q -- "--audit-format=jsonl" "$R/text.err"; then pass report-refuses-text-format
else fail report-refuses-text-format "rc=$rc: $(head -2 "$R/text.err")"; fi
"$COLLRUN" report >"$R/usage.out" 2>"$R/usage.err"; rc=$?
if [ "$rc" = 2 ] && grep -q "no audit file" "$R/usage.err"; then pass report-usage-error; else fail report-usage-error "rc=$rc: $(head -2 "$R/usage.err")"; fi

chmod -R u+w "$S" 2>/dev/null
scratch_release
finish
