#!/usr/bin/env bash
# policy.sh — the policy language with real programs (collrun-policy(5)):
#  deny      cat/stat/ls/readlink/test fail exactly as natively with that error;
#  redirect  python3 imports a module that exists only in the target tree, through the
#            FROM path (and sees the FROM path); ls of FROM lists the target; a -static
#            program sees it; writes land in the target; other credentials see the kernel;
#  library   a linked and a dlopen()ed libcrtest.so.1 come from another file;
#  hide      the loader and dlopen() fail byte for byte as with the library really absent;
#  options   --print-policy order and origins, --explain, --no-default-policy,
#            COLLRUN_POLICY, include, ${VAR};
#  errors    bad policy input: exit 2, one exact "collrun: FILE:LINE:COL: ..." line, the
#            program never ran; a missing file is named with its reason.
. "$(dirname "$0")/lib.sh"
need_collrun
S=$(realpath "$S") R=$S            # collrun names policy files and the cwd by canonical paths
UMASK=$(umask)

# capture PREFIX CMD... — run CMD (stdin /dev/null) into PREFIX.out, PREFIX.err, PREFIX.rc.
capture() {
  local p=$1; shift
  "$@" </dev/null >"$p.out" 2>"$p.err"; echo $? >"$p.rc"
}
# as_nobody CMD... — CMD as an unprivileged user: uid/gid 65534 when we are root, else us.
as_nobody() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; else "$@"; fi
}
CAN_DROP=yes
if [ "$(id -u)" = 0 ] && ! setpriv --reuid=65534 --regid=65534 --clear-groups -- test -x "$S" 2>/dev/null; then CAN_DROP=; fi
# native_ok NAME PREFIX RC [TEXT] — the native run exited RC and printed something (TEXT,
# if given, on stdout or stderr); otherwise FAIL NAME: a broken environment must not pass.
native_ok() {
  local name=$1 p=$2 rc=$3 text=${4:-}
  if [ "$(cat "$p.rc")" != "$rc" ]; then
    fail "$name" "native run exited $(cat "$p.rc"), expected $rc: $(head -c 300 "$p.err")"; return 1
  fi
  if [ ! -s "$p.out" ] && [ ! -s "$p.err" ]; then fail "$name" "native run printed nothing"; return 1; fi
  if [ -n "$text" ] && ! grep -qF -- "$text" "$p.out" "$p.err"; then
    fail "$name" "native run did not print '$text': $(head -c 300 "$p.out" "$p.err")"; return 1
  fi
}
# expect NAME PREFIX RC TEXT — PASS if PREFIX exited RC with stdout exactly TEXT (plus a newline)
# and nothing on stderr.
expect() {
  local name=$1 p=$2 rc=$3 text=$4
  if [ "$(cat "$p.rc")" = "$rc" ] && [ "$(cat "$p.out")" = "$text" ] && [ ! -s "$p.err" ]; then pass "$name"; return 0; fi
  fail "$name" "expected rc=$rc stdout '$text' and no stderr; got rc=$(cat "$p.rc") stdout '$(head -c 300 "$p.out")' stderr '$(head -c 300 "$p.err")'"
  return 1
}

# ---------------------------------------------------------------------------------------
# deny: EACCES. A 0000 file: natively an unprivileged cat fails; under collrun (even as
# root, who could read it) the deny rule makes cat fail with the same message and status.
D=$S/deny; mkdir -p "$D/closed"
echo secret >"$D/locked"; chmod 0000 "$D/locked"
echo secret >"$D/closed/file"; ln -s file "$D/closed/link"; chmod 0000 "$D/closed"
printf 'deny %s/locked EACCES\ndeny %s/closed EACCES\n' "$D" "$D" >"$D/eacces.policy"
if [ -z "$CAN_DROP" ]; then
  skip deny-cat-eacces "root, and setpriv cannot run an unprivileged user in $S: no native EACCES"
  skip deny-lookups-eacces "root, and setpriv cannot run an unprivileged user in $S"
else
  capture "$D/cat.native" as_nobody cat "$D/locked"
  capture "$D/cat.collrun" "$COLLRUN" -p "$D/eacces.policy" cat "$D/locked"
  if native_ok deny-cat-eacces "$D/cat.native" 1 "Permission denied"; then
    same_files deny-cat-eacces "$D/cat.native" "$D/cat.collrun"
  fi
  # stat (statx), ls, readlink, test -e/-r (stat, access) and cat below a denied folder,
  # against an unprivileged native run below a folder it may not search (mode 0000).
  script="cd $D; for p in closed/file closed/link closed/none; do cat \$p; echo cat=\$?; stat -c %s \$p; echo stat=\$?; ls \$p; echo ls=\$?; readlink -v \$p; echo readlink=\$?; test -e \$p; echo e=\$?; test -r \$p; echo r=\$?; done"
  capture "$D/lookups.native" as_nobody sh -c "$script"
  capture "$D/lookups.collrun" "$COLLRUN" -p "$D/eacces.policy" sh -c "$script"
  if native_ok deny-lookups-eacces "$D/lookups.native" 0 "cannot statx 'closed/link': Permission denied"; then
    same_files deny-lookups-eacces "$D/lookups.native" "$D/lookups.collrun"
  fi
fi
# Without the rule, collrun (as root) reads both: the rule, not the mode, made them fail.
if [ "$(id -u)" = 0 ]; then
  capture "$D/control" "$COLLRUN" sh -c "cat $D/locked $D/closed/link"
  expect deny-eacces-control "$D/control" 0 "$(printf 'secret\nsecret')"
fi

# deny: ENOENT on a file that exists, against the native run before it existed.
script="cd $D; cat maybe; echo cat=\$?; stat -c %s maybe; echo stat=\$?; ls maybe; echo ls=\$?; readlink -v maybe; echo readlink=\$?; test -e maybe; echo e=\$?"
capture "$D/enoent.native" sh -c "$script"
echo present >"$D/maybe"
printf 'deny %s/maybe ENOENT\n' "$D" >"$D/enoent.policy"
capture "$D/enoent.collrun" "$COLLRUN" -p "$D/enoent.policy" sh -c "$script"
if native_ok deny-enoent "$D/enoent.native" 0 "cat: maybe: No such file or directory"; then
  same_files deny-enoent "$D/enoent.native" "$D/enoent.collrun"
fi
capture "$D/enoent.control" "$COLLRUN" cat "$D/maybe"
expect deny-enoent-control "$D/enoent.control" 0 present

# deny with any errno name: cat reports that error.
printf 'deny %s/maybe EIO\n' "$D" >"$D/eio.policy"
capture "$D/eio" "$COLLRUN" -p "$D/eio.policy" cat "$D/maybe"
if [ "$(cat "$D/eio.rc")" = 1 ] && [ "$(cat "$D/eio.err")" = "cat: $D/maybe: Input/output error" ] && [ ! -s "$D/eio.out" ]; then
  pass deny-eio
else
  fail deny-eio "expected rc=1 and 'cat: $D/maybe: Input/output error'; got rc=$(cat "$D/eio.rc"): $(head -c 300 "$D/eio.err")"
fi

# ---------------------------------------------------------------------------------------
# redirect FROM TO: FROM exists with its own file; the module exists only in TO.
RD=$S/redirect FROM=$S/redirect/from TO=$S/redirect/target
mkdir -p "$FROM" "$TO/sub"
echo from-only >"$FROM/from-only.txt"
echo 'X = "from-target"' >"$TO/crmod.py"
echo target-only >"$TO/target-only.txt"; echo deep >"$TO/sub/deep.txt"
printf 'redirect %s %s\n' "$FROM" "$TO" >"$RD/redirect.policy"
PY=/usr/bin/python3
if [ ! -x $PY ]; then
  skip redirect-python "$PY missing"
else
  code="import sys; sys.path.insert(0, '$FROM'); import crmod; print(crmod.X); print(crmod.__file__)"
  capture "$RD/py.native" $PY -c "$code"
  if native_ok redirect-python "$RD/py.native" 1 "No module named 'crmod'"; then
    capture "$RD/py.collrun" "$COLLRUN" -p "$RD/redirect.policy" $PY -c "$code"
    expect redirect-python "$RD/py.collrun" 0 "$(printf 'from-target\n%s/crmod.py' "$FROM")"
    # the same with the target tree cached: served from the cache, still seen as FROM
    capture "$RD/py.cached" "$COLLRUN" -c "$TO" -p "$RD/redirect.policy" $PY -c "$code"
    expect redirect-python-cached "$RD/py.cached" 0 "$(printf 'from-target\n%s/crmod.py' "$FROM")"
  fi
fi
# listing FROM shows the target's files (natively: FROM's own)
capture "$RD/ls.native" ls -a "$TO" "$TO/sub"
capture "$RD/ls.from" ls -a "$FROM"
capture "$RD/ls.collrun" "$COLLRUN" -p "$RD/redirect.policy" ls -a "$FROM" "$FROM/sub"
sed -i "s|^$TO|$FROM|" "$RD/ls.native.out"     # the folder headers name what was asked
if native_ok redirect-ls "$RD/ls.native" 0 target-only.txt && native_ok redirect-ls "$RD/ls.from" 0 from-only.txt; then
  same_files redirect-ls "$RD/ls.native" "$RD/ls.collrun"
fi
# the long listing also stats (and reads the extended attributes of) every entry through FROM
capture "$RD/lsl.native" ls -l --time-style=+%s "$TO"
capture "$RD/lsl.collrun" "$COLLRUN" -p "$RD/redirect.policy" ls -l --time-style=+%s "$FROM"
if native_ok redirect-ls-l "$RD/lsl.native" 0 target-only.txt; then
  same_files redirect-ls-l "$RD/lsl.native" "$RD/lsl.collrun"
fi
# stat and readlink of /proc/self/fd/N: the program's own path looks up the target's file
capture "$RD/stat.native" stat -c '%s %F %a %Y' "$TO/crmod.py" "$TO/sub" "$TO/sub/deep.txt"
capture "$RD/stat.collrun" "$COLLRUN" -p "$RD/redirect.policy" stat -c '%s %F %a %Y' "$FROM/crmod.py" "$FROM/sub" "$FROM/sub/deep.txt"
native_ok redirect-stat "$RD/stat.native" 0 && same_files redirect-stat "$RD/stat.native" "$RD/stat.collrun"
capture "$RD/fd" "$COLLRUN" -p "$RD/redirect.policy" sh -c "readlink /proc/self/fd/3 3<$FROM/crmod.py"
expect redirect-fd-link "$RD/fd" 0 "$TO/crmod.py"
# a write through FROM creates the file in the target, with the caller's umask
capture "$RD/write" "$COLLRUN" -p "$RD/redirect.policy" sh -c "echo written >$FROM/new.txt && cat $FROM/new.txt"
(umask "$UMASK"; : >"$RD/mode-probe")
if [ "$(cat "$RD/write.out" 2>/dev/null)" = written ] && [ "$(cat "$TO/new.txt" 2>/dev/null)" = written ] &&
   [ ! -e "$FROM/new.txt" ] && [ "$(stat -c %a "$TO/new.txt")" = "$(stat -c %a "$RD/mode-probe")" ]; then
  pass redirect-write
else
  fail redirect-write "expected $TO/new.txt (mode $(stat -c %a "$RD/mode-probe")) holding 'written' and no $FROM/new.txt; got rc=$(cat "$RD/write.rc") out '$(cat "$RD/write.out")' err '$(head -c 200 "$RD/write.err")'; $(ls -l "$TO/new.txt" "$FROM/new.txt" 2>&1 | tr '\n' ' ')"
fi
# a caller that changed its credentials gets the kernel's answer for the path as written
if [ "$(id -u)" = 0 ] && [ -n "$CAN_DROP" ]; then
  capture "$RD/creds.native" as_nobody cat "$FROM/crmod.py"
  capture "$RD/creds.collrun" "$COLLRUN" -p "$RD/redirect.policy" setpriv --reuid=65534 --regid=65534 --clear-groups -- cat "$FROM/crmod.py"
  native_ok redirect-other-creds "$RD/creds.native" 1 "No such file or directory" &&
    same_files redirect-other-creds "$RD/creds.native" "$RD/creds.collrun"
else
  skip redirect-other-creds "needs root, and setpriv able to run an unprivileged user in $S"
fi

# a fully static program (raw system calls, no loader) opening and reading FROM paths
HAVE_GCC=yes; command -v gcc >/dev/null || HAVE_GCC=
cat >"$RD/sprobe.c" <<'EOF'
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat st;
		char buf[256];
		if (stat(argv[i], &st) < 0) {
			printf("stat: %s\n", strerror(errno));
			continue;
		}
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0) {
			printf("open: %s\n", strerror(errno));
			continue;
		}
		ssize_t n = read(fd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = '\0';
		printf("size=%lld read=%zd: %s", (long long)st.st_size, n, buf);
		close(fd);
	}
	return 0;
}
EOF
if [ -z "$HAVE_GCC" ]; then
  skip redirect-static "gcc missing"
elif ! gcc -static -O1 -o "$RD/sprobe" "$RD/sprobe.c" 2>"$RD/sprobe.log"; then
  skip redirect-static "gcc -static failed (no static libc?): $(head -1 "$RD/sprobe.log")"
elif readelf -l "$RD/sprobe" 2>/dev/null | grep -q INTERP; then
  fail redirect-static "gcc -static built a dynamic program"
else
  capture "$RD/static.native" "$RD/sprobe" "$TO/crmod.py" "$TO/sub/deep.txt"
  capture "$RD/static.from" "$RD/sprobe" "$FROM/crmod.py"
  capture "$RD/static.collrun" "$COLLRUN" -p "$RD/redirect.policy" "$RD/sprobe" "$FROM/crmod.py" "$FROM/sub/deep.txt"
  if native_ok redirect-static "$RD/static.native" 0 from-target && native_ok redirect-static "$RD/static.from" 0 "stat: No such file"; then
    same_files redirect-static "$RD/static.native" "$RD/static.collrun"
  fi
fi

# ---------------------------------------------------------------------------------------
# library NAME PATH: two builds of libcrtest.so.1; a program linked against v1 (found by
# its RUNPATH) and one that dlopen()s it (found by LD_LIBRARY_PATH).
LB=$S/library
mkdir -p "$LB/app/bin" "$LB/app/lib" "$LB/v2"
cat >"$LB/crtest.c" <<'EOF'
#include <stdio.h>
void crtest_hello(void) { puts(VERSION); }
EOF
cat >"$LB/main.c" <<'EOF'
void crtest_hello(void);
int main(void) { crtest_hello(); return 0; }
EOF
cat >"$LB/dl.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
	void *h = dlopen("libcrtest.so.1", RTLD_NOW);
	if (!h) {
		printf("dlopen failed: %s\n", dlerror());
		return 3;
	}
	void (*hello)(void) = (void (*)(void))dlsym(h, "crtest_hello");
	if (!hello) {
		printf("dlsym failed: %s\n", dlerror());
		return 4;
	}
	hello();
	return 0;
}
EOF
LIBS_OK=
if [ -z "$HAVE_GCC" ]; then
  :
elif gcc -shared -fPIC -DVERSION='"v1"' -Wl,-soname,libcrtest.so.1 -o "$LB/app/lib/libcrtest.so.1" "$LB/crtest.c" 2>"$LB/gcc.log" &&
     gcc -shared -fPIC -DVERSION='"v2"' -Wl,-soname,libcrtest.so.1 -o "$LB/v2/libcrtest.so.1" "$LB/crtest.c" 2>>"$LB/gcc.log" &&
     gcc -o "$LB/app/bin/prog" "$LB/main.c" "$LB/app/lib/libcrtest.so.1" -Wl,-rpath,'$ORIGIN/../lib' 2>>"$LB/gcc.log" &&
     gcc -o "$LB/app/bin/dlprog" "$LB/dl.c" -ldl 2>>"$LB/gcc.log"; then
  LIBS_OK=yes
fi
if [ -z "$LIBS_OK" ]; then
  for n in library-linked library-dlopen hide-linked hide-dlopen; do skip $n "cannot build the test library with gcc: $(head -1 "$LB/gcc.log" 2>/dev/null)"; done
else
  printf 'library libcrtest.so.1 %s/v2/libcrtest.so.1\n' "$LB" >"$LB/library.policy"
  for prog in prog dlprog; do
    name=library-linked; [ $prog = dlprog ] && name=library-dlopen
    capture "$LB/$prog.native" env LD_LIBRARY_PATH="$LB/app/lib" "$LB/app/bin/$prog"
    capture "$LB/$prog.plain" "$COLLRUN" env LD_LIBRARY_PATH="$LB/app/lib" "$LB/app/bin/$prog"
    capture "$LB/$prog.collrun" "$COLLRUN" -p "$LB/library.policy" env LD_LIBRARY_PATH="$LB/app/lib" "$LB/app/bin/$prog"
    if expect "$name-native" "$LB/$prog.native" 0 v1 && expect "$name-control" "$LB/$prog.plain" 0 v1; then
      expect "$name" "$LB/$prog.collrun" 0 v2
    fi
  done

  # hide NAME: tree a has the library, tree b is a copy without it; the programs are run
  # by the same relative name, so the loader's message must be the same byte for byte.
  HD=$S/hide
  mkdir -p "$HD" && cp -a "$LB/app" "$HD/a" && cp -a "$LB/app" "$HD/b" && rm "$HD/b/lib/libcrtest.so.1"
  printf 'hide libcrtest.so.1\n' >"$HD/hide.policy"
  (cd "$HD/a" && capture "$HD/prog.present" bin/prog)
  expect hide-native-present "$HD/prog.present" 0 v1
  (cd "$HD/b" && capture "$HD/prog.native" bin/prog)
  (cd "$HD/a" && capture "$HD/prog.collrun" "$COLLRUN" -p "$HD/hide.policy" bin/prog)
  native_ok hide-linked "$HD/prog.native" 127 "libcrtest.so.1: cannot open shared object file" &&
    same_files hide-linked "$HD/prog.native" "$HD/prog.collrun"
  (cd "$HD/b" && capture "$HD/dlprog.native" env LD_LIBRARY_PATH=lib bin/dlprog)
  (cd "$HD/a" && capture "$HD/dlprog.collrun" "$COLLRUN" -p "$HD/hide.policy" env LD_LIBRARY_PATH=lib bin/dlprog)
  native_ok hide-dlopen "$HD/dlprog.native" 3 "dlopen failed: libcrtest.so.1: cannot open shared object file" &&
    same_files hide-dlopen "$HD/dlprog.native" "$HD/dlprog.collrun"
fi

# ---------------------------------------------------------------------------------------
# --print-policy: --cache first, then --policy files, then COLLRUN_POLICY, then the default,
# each rule with its FILE:LINE; include puts the included rules where the include stands.
P=$S/rules; mkdir -p "$P/sub" "$P/x/sub"
cat >"$P/a.policy" <<EOF
# first policy file
deny $P/x/secret EACCES

redirect "$P/from" $P/to   # a comment after a rule
EOF
printf 'pass %s/x/sub\ninclude sub/inc.policy\nhide libnope.so.3\n' "$P" >"$P/b.policy"
printf '\n\ndeny %s/x EPERM\ninclude ../c.policy\n' "$P" >"$P/sub/inc.policy"
printf 'library libz.so.1 %s/libz-other.so.1\ncache %s/*/cached/**/tree\n' "$P" "$P" >"$P/c.policy"
row() { printf '%-60s # %s\n' "$1" "$2"; }
capture "$P/default" env -u COLLRUN_POLICY "$COLLRUN" --print-policy
if [ "$(cat "$P/default.rc")" != 0 ] || ! head -1 "$P/default.out" | grep -q '^pass /proc  *# .*:8$'; then
  fail print-policy "collrun --print-policy alone: rc=$(cat "$P/default.rc"), first line '$(head -1 "$P/default.out")' (want pass /proc from the default's line 8)"
else
  { row "cache $P/cachedir" --cache
    row "deny $P/x/secret EACCES" "$R/rules/a.policy:2"
    row "redirect $P/from $P/to" "$R/rules/a.policy:4"
    row "pass $P/x/sub" "$R/rules/b.policy:1"
    row "deny $P/x EPERM" "$R/rules/sub/inc.policy:3"
    row "library libz.so.1 $P/libz-other.so.1" "$R/rules/c.policy:1"
    row "cache $P/*/cached/**/tree" "$R/rules/c.policy:2"
    row "hide libnope.so.3" "$R/rules/b.policy:3"
    cat "$P/default.out"; } >"$P/print.want"
  (cd "$P" && COLLRUN_POLICY=b.policy capture "$P/print" "$COLLRUN" --cache "$P/cachedir" -p a.policy --print-policy)
  if [ "$(cat "$P/print.rc")" = 0 ] && [ ! -s "$P/print.err" ] && cmp -s "$P/print.out" "$P/print.want"; then
    pass print-policy
  else
    fail print-policy "rc=$(cat "$P/print.rc") err '$(head -c 200 "$P/print.err")'; output differs from $P/print.want:"
    diff "$P/print.want" "$P/print.out" | head -12 | sed 's/^/    /'
  fi
fi
# --no-default-policy: only the given rules (and none at all without policy files)
(cd "$P" && capture "$P/nodef" env -u COLLRUN_POLICY "$COLLRUN" --no-default-policy -p sub/inc.policy --print-policy)
expect no-default-policy "$P/nodef" 0 "$(row "deny $P/x EPERM" "$R/rules/sub/inc.policy:3"; row "library libz.so.1 $P/libz-other.so.1" "$R/rules/c.policy:1"; row "cache $P/*/cached/**/tree" "$R/rules/c.policy:2")"
capture "$P/none" env -u COLLRUN_POLICY "$COLLRUN" --no-default-policy --print-policy
expect no-default-policy-empty "$P/none" 0 "# no rules: every path is passed to the kernel"
# ... and nothing is served then: /usr is no longer cached
capture "$P/nodef-run" env -u COLLRUN_POLICY "$COLLRUN" --data=memfd --no-default-policy --stats-file="$P/nodef.stats" md5sum /usr/bin/true
capture "$P/def-run" env -u COLLRUN_POLICY "$COLLRUN" --data=memfd --stats-file="$P/def.stats" md5sum /usr/bin/true
if [ "$(cat "$P/def-run.rc")" = 0 ] && [ "$(stat_field "$P/def.stats" filled)" -gt 0 ] 2>/dev/null &&
   [ "$(cat "$P/nodef-run.rc")" = 0 ] && [ "$(stat_field "$P/nodef.stats" filled)" = 0 ] &&
   [ "$(stat_field "$P/nodef.stats" served)" = 0 ] && cmp -s "$P/def-run.out" "$P/nodef-run.out"; then
  pass no-default-policy-serves-nothing
else
  fail no-default-policy-serves-nothing "want the same md5sum, filled>0 with the default and filled=served=0 without: rc=$(cat "$P/def-run.rc")/$(cat "$P/nodef-run.rc") $(tail -1 "$P/def.stats") / $(tail -1 "$P/nodef.stats")"
fi

# --explain names the deciding rule: first match wins, also across includes and globs
explain() {   # explain NAME PATH EXPECTED-LINES... (run in $P with COLLRUN_POLICY=b.policy -p a.policy)
  local name=$1 path=$2; shift 2
  (cd "$P" && COLLRUN_POLICY=b.policy capture "$P/explain-$name" "$COLLRUN" -p a.policy --explain "$path")
  expect "explain-$name" "$P/explain-$name" 0 "$(printf '%s\n' "$@")"
}
explain deny "$P/x/secret/f" "$P/x/secret/f: deny EACCES (every look-up fails with it)" "  by rule: deny $P/x/secret EACCES" "  from: $R/rules/a.policy:2"
explain first-match "$P/x/sub/f" "$P/x/sub/f: pass (the kernel answers)" "  by rule: pass $P/x/sub" "  from: $R/rules/b.policy:1"
explain include "x/other" "$P/x/other: deny EPERM (every look-up fails with it)" "  by rule: deny $P/x EPERM" "  from: $R/rules/sub/inc.policy:3"
explain redirect "$P/from/a/b.py" "$P/from/a/b.py: redirect to $P/to/a/b.py" "  by rule: redirect $P/from $P/to" "  from: $R/rules/a.policy:4"
explain library "/usr/lib/x86_64-linux-gnu/libz.so.1" "/usr/lib/x86_64-linux-gnu/libz.so.1: library to $P/libz-other.so.1" "  by rule: library libz.so.1 $P/libz-other.so.1" "  from: $R/rules/c.policy:1"
explain hide "/opt/any/libnope.so.3" "/opt/any/libnope.so.3: hide (looks as if it did not exist: ENOENT)" "  by rule: hide libnope.so.3" "  from: $R/rules/b.policy:3"
explain glob "$P/q/cached/1/2/tree/f.py" "$P/q/cached/1/2/tree/f.py: cache (answered from collrun's cache)" "  by rule: cache $P/*/cached/**/tree" "  from: $R/rules/c.policy:2"
explain default "/usr/share/x" "/usr/share/x: cache (answered from collrun's cache)" "  by rule: cache /usr" "  from: $(sed -n 's|^cache /usr  *# ||p' "$P/default.out")"
explain nothing "/nonexistent-top/f" "/nonexistent-top/f: pass (no rule covers it: the kernel answers)"

# the same rules at work: first match wins (pass before deny), includes, COLLRUN_POLICY
echo open >"$P/x/sub/f"; echo other >"$P/x/other"
script="cat $P/x/sub/f; echo rc=\$?; cat $P/x/other; echo rc=\$?"
(cd "$P" && COLLRUN_POLICY=b.policy capture "$P/rules-run" "$COLLRUN" sh -c "$script")
(cd "$P" && COLLRUN_POLICY="$P/nothing-here:b.policy" capture "$P/rules-missing" "$COLLRUN" sh -c "$script")
if [ "$(cat "$P/rules-run.rc")" = 0 ] && [ "$(cat "$P/rules-run.out")" = "$(printf 'open\nrc=0\nrc=1')" ] &&
   [ "$(cat "$P/rules-run.err")" = "cat: $P/x/other: Operation not permitted" ]; then
  pass collrun-policy-env
else
  fail collrun-policy-env "want 'open rc=0 rc=1' and 'cat: $P/x/other: Operation not permitted'; got rc=$(cat "$P/rules-run.rc") out '$(tr '\n' ' ' <"$P/rules-run.out")' err '$(head -c 300 "$P/rules-run.err")'"
fi
(cd "$P" && COLLRUN_POLICY="$P/sub/inc.policy:a.policy" capture "$P/rules-two" "$COLLRUN" --no-default-policy --print-policy)
expect collrun-policy-list "$P/rules-two" 0 "$(row "deny $P/x EPERM" "$R/rules/sub/inc.policy:3"; row "library libz.so.1 $P/libz-other.so.1" "$R/rules/c.policy:1"; row "cache $P/*/cached/**/tree" "$R/rules/c.policy:2"; row "deny $P/x/secret EACCES" "$R/rules/a.policy:2"; row "redirect $P/from $P/to" "$R/rules/a.policy:4")"
# a missing COLLRUN_POLICY file is an error like a missing --policy file
if [ "$(cat "$P/rules-missing.rc")" = 2 ] && [ "$(cat "$P/rules-missing.err")" = "collrun: $P/nothing-here: No such file or directory" ] && [ ! -s "$P/rules-missing.out" ]; then
  pass collrun-policy-missing
else
  fail collrun-policy-missing "want rc=2 and 'collrun: $P/nothing-here: No such file or directory'; got rc=$(cat "$P/rules-missing.rc") '$(head -c 300 "$P/rules-missing.err")'"
fi
# --print-policy lists a rule once when two sources give the same one (PYENV_ROOT=~/.pyenv
# makes the default's ${PYENV_ROOT}/versions and ${HOME}/.pyenv/versions one rule), with the
# first origin; a --cache DIR repeated by a policy file is listed once, as --cache.
H=$S/home; mkdir -p "$H"; printf 'cache %s/dup
cache %s/dup/other
' "$P" "$P" >"$P/dup.policy"
capture "$P/dedupe" env -u COLLRUN_POLICY HOME="$H" PYENV_ROOT="$H/.pyenv" "$COLLRUN" --cache "$P/dup" -p "$P/dup.policy" --print-policy
n_pyenv=$(grep -c "^cache $H/.pyenv/versions " "$P/dedupe.out"); n_dup=$(grep -c "^cache $P/dup " "$P/dedupe.out")
if [ "$(cat "$P/dedupe.rc")" = 0 ] && [ "$n_pyenv" = 1 ] && [ "$n_dup" = 1 ] && grep -q "^cache $P/dup  *# --cache$" "$P/dedupe.out" &&
   grep -q "^cache $P/dup/other  *# " "$P/dedupe.out" &&
   grep "^cache $H/.pyenv/versions " "$P/dedupe.out" | grep -q ":$(grep -n '^cache ${PYENV_ROOT' "$SRC/policy/default.policy" | cut -d: -f1)\$"; then
  pass print-policy-each-rule-once
else
  fail print-policy-each-rule-once "want one 'cache $H/.pyenv/versions' (first origin) and one 'cache $P/dup' (# --cache); got $n_pyenv and $n_dup: $(head -c 600 "$P/dedupe.out")"
fi

# variables: ${VAR}, ${VAR:-default}, and COLLRUN_EXE_TREE (the program's installed tree)
V=$S/vars; mkdir -p "$V/app/bin"; cp /bin/true "$V/app/bin/prog"
cat >"$V/vars.policy" <<'EOF'
cache ${COLLRUN_EXE_TREE}
deny ${CR_TEST_DIR}/denied EACCES
pass ${CR_TEST_UNSET:-}/never
cache ${CR_TEST_UNSET:-/fallback}/dir
cache ${CR_TEST_LIST}
EOF
capture "$V/print" env -u CR_TEST_UNSET CR_TEST_DIR="$V" CR_TEST_LIST="rel:$V/one::/:$V/two" "$COLLRUN" --no-default-policy -p "$V/vars.policy" --print-policy "$V/app/bin/prog"
expect variables "$V/print" 0 "$(row "cache $V/app" "$R/vars/vars.policy:1"; row "deny $V/denied EACCES" "$R/vars/vars.policy:2"; row "cache /fallback/dir" "$R/vars/vars.policy:4"; row "cache $V/one" "$R/vars/vars.policy:5"; row "cache $V/two" "$R/vars/vars.policy:5")"

# ---------------------------------------------------------------------------------------
# Bad policy input: exit 2, exactly one line "collrun: FILE:LINE:COL: message" on stderr
# (every line collrun prints starts with "collrun: "), nothing on stdout, and the program
# never ran (it would have created the marker). EXPECTED-MESSAGE below omits the prefix.
B=$S/bad; mkdir -p "$B"
chmod 0777 "$B"                      # an unprivileged collrun must be able to leave a marker
printf 'pass /tmp\n' >"$B/good.policy"
bad() {   # bad NAME POLICY-FILE EXPECTED-MESSAGE [RUNNER...]
  local name=$1 file=$2 want=$3; shift 3
  rm -f "$B/marker"
  capture "$B/$name" "$@" "$COLLRUN" -p "$file" touch "$B/marker"
  local rc got; rc=$(cat "$B/$name.rc"); got=$(cat "$B/$name.err"); want="collrun: $want"
  if [ "$rc" = 2 ] && [ "$got" = "$want" ] && [ "$(wc -l <"$B/$name.err")" = 1 ] && [ ! -s "$B/$name.out" ] && [ ! -e "$B/marker" ]; then
    pass "bad-$name"
  else
    fail "bad-$name" "want rc=2, no marker, stderr '$want'; got rc=$rc, marker $([ -e "$B/marker" ] && echo present || echo absent), stderr '$(head -c 400 "$B/$name.err")'"
  fi
}
# the marker check itself: with a good policy the program runs and leaves it
rm -f "$B/marker"; capture "$B/good" "$COLLRUN" -p "$B/good.policy" touch "$B/marker"
if [ "$(cat "$B/good.rc")" = 0 ] && [ -e "$B/marker" ]; then pass bad-control; else fail bad-control "a good policy did not run the program: rc=$(cat "$B/good.rc") $(head -c 200 "$B/good.err")"; fi

printf 'cache /usr\nredirect /a\n' >"$B/missing-arg.policy"
bad missing-arg "$B/missing-arg.policy" "$R/bad/missing-arg.policy:2:12: missing argument: the form is 'redirect FROM TO'"
printf '# a typo\n  cahce /usr\n' >"$B/unknown-rule.policy"
bad unknown-rule "$B/unknown-rule.policy" "$R/bad/unknown-rule.policy:2:3: unknown rule 'cahce' (expected cache, pass, deny, redirect, library, hide, discovered or include)"
printf 'pass "/opt/a b\n' >"$B/quote.policy"
bad unterminated-quote "$B/quote.policy" "$R/bad/quote.policy:1:15: unterminated quote"
printf 'deny /opt relative EACCES\n' >"$B/extra.policy"
bad extra-word "$B/extra.policy" "$R/bad/extra.policy:1:20: unexpected 'EACCES': the form is 'deny PATTERN ERRNO'"
printf 'cache usr/lib\n' >"$B/relative.policy"
bad relative "$B/relative.policy" "$R/bad/relative.policy:1:7: 'usr/lib' is not an absolute path"
printf 'redirect /opt/*/x /y\n' >"$B/redirect-glob.policy"
bad redirect-glob "$B/redirect-glob.policy" "$R/bad/redirect-glob.policy:1:10: redirect FROM must be an absolute path without * ? [ \\"
printf 'hide /usr/lib/libz.so.1\n' >"$B/hide-path.policy"
bad hide-path "$B/hide-path.policy" "$R/bad/hide-path.policy:1:6: '/usr/lib/libz.so.1' must be a file name such as libfoo.so.1, not a path"
printf 'pass ${CR_TEST_UNSET}/x\n' >"$B/undefined.policy"
bad undefined-variable "$B/undefined.policy" "$R/bad/undefined.policy:1:6: undefined variable CR_TEST_UNSET (write \${CR_TEST_UNSET:-} to allow it unset)" env -u CR_TEST_UNSET
printf 'pass /x\ndeny /opt/bad EWHAT\n' >"$B/errno.policy"
bad unknown-errno "$B/errno.policy" "$R/bad/errno.policy:2:15: unknown errno name 'EWHAT' (e.g. EACCES, ENOENT, EPERM)"
printf 'pass /x\ninclude nothere.policy\n' >"$B/include-missing.policy"
bad include-missing "$B/include-missing.policy" "$R/bad/include-missing.policy:2:9: cannot read '$R/bad/nothere.policy': No such file or directory"
mkdir -p "$B/adir"; printf 'include adir\n' >"$B/include-dir.policy"
bad include-dir "$B/include-dir.policy" "$R/bad/include-dir.policy:1:9: cannot read '$R/bad/adir': Is a directory"
# unreadable include: collrun runs unprivileged, so a mode 0000 file is unreadable to it
printf 'pass /x\n' >"$B/secret.policy"; chmod 0000 "$B/secret.policy"
printf '\ninclude "secret.policy"\n' >"$B/include-unreadable.policy"
if [ -n "$CAN_DROP" ]; then
  rm -f "$B/marker"; capture "$B/good-nobody" as_nobody "$COLLRUN" -p "$B/good.policy" touch "$B/marker"
  if [ "$(cat "$B/good-nobody.rc")" = 0 ] && [ -e "$B/marker" ]; then
    bad include-unreadable "$B/include-unreadable.policy" "$R/bad/include-unreadable.policy:2:9: cannot read '$R/bad/secret.policy': Permission denied" as_nobody
  else
    fail bad-include-unreadable "the unprivileged control run failed: rc=$(cat "$B/good-nobody.rc") $(head -c 200 "$B/good-nobody.err")"
  fi
else
  skip bad-include-unreadable "root, and setpriv cannot run an unprivileged user in $S: root reads every file"
fi
printf 'include cycle-b.policy\n' >"$B/cycle-a.policy"; printf 'pass /x\ninclude ./cycle-a.policy\n' >"$B/cycle-b.policy"
bad include-cycle "$B/cycle-a.policy" "$R/bad/cycle-b.policy:2:9: include cycle: '$R/bad/cycle-a.policy' includes itself"
printf 'include self.policy\n' >"$B/self.policy"
bad include-self "$B/self.policy" "$R/bad/self.policy:1:9: include cycle: '$R/bad/self.policy' includes itself"
{ printf 'pass /'; head -c 4993 /dev/zero | tr '\0' a; printf '\n'; } >"$B/long.policy"
if [ "$(wc -c <"$B/long.policy")" != 5000 ]; then fail bad-long-line "could not write a 5000-byte line"; else
  bad long-line "$B/long.policy" "$R/bad/long.policy:1:4097: line longer than 4096 bytes"
fi
head -c 300 /bin/true >"$B/binary.policy"
bad binary "$B/binary.policy" "$R/bad/binary.policy:1:1: unexpected byte 0x7f (not a text file?)"
printf 'pass /x\n\x01\n' >"$B/control-char.policy"
bad control-char "$B/control-char.policy" "$R/bad/control-char.policy:2:1: unexpected byte 0x01 (not a text file?)"
# an error inside an included file names that file and its line
printf 'deny /x EACCES\n\tlibrary libz.so.1 relative/libz.so\n' >"$B/inner.policy"; printf 'pass /y\ninclude inner.policy\n' >"$B/outer.policy"
bad in-include "$B/outer.policy" "$R/bad/inner.policy:2:20: library PATH must be an absolute path"
# a missing --policy file: "collrun: FILE: reason"
bad missing-file "$B/no-such.policy" "$B/no-such.policy: No such file or directory"
# the same errors stop --print-policy and --explain
capture "$B/print-bad" "$COLLRUN" -p "$B/errno.policy" --print-policy
capture "$B/explain-bad" "$COLLRUN" -p "$B/errno.policy" --explain /usr
if [ "$(cat "$B/print-bad.rc")" = 2 ] && [ ! -s "$B/print-bad.out" ] && [ "$(cat "$B/explain-bad.rc")" = 2 ] && [ ! -s "$B/explain-bad.out" ] &&
   cmp -s "$B/print-bad.err" "$B/unknown-errno.err" && cmp -s "$B/explain-bad.err" "$B/unknown-errno.err"; then
  pass bad-print-explain
else
  fail bad-print-explain "want rc=2 and the unknown-errno line from --print-policy and --explain; got rc=$(cat "$B/print-bad.rc")/$(cat "$B/explain-bad.rc") '$(head -c 200 "$B/print-bad.err")'"
fi
chmod 0644 "$B/secret.policy"; chmod 0755 "$D/closed"    # let a later rm -rf of $S work unprivileged too
finish
