# lib.sh — sourced by every tests/integration/*.sh script.
# Runs a command natively and under collrun in the same working directory, compares
# stdout, stderr and exit status byte for byte, and reads fields of the --stats-file line.
# Needs COLLRUN, BUILD (tests/run.sh sets them; standalone runs default to ./build).
set -u
# Signal checks rely on default actions: a script started in the background by a
# non-interactive shell gets SIGINT and SIGQUIT ignored, which no shell can undo itself.
# Then start it again with the defaults (tests/run.sh does the same for make check). What
# a child inherits is read in a child (sed's own status): bash itself always ignores SIGQUIT.
if (( 0x$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status) & 0x6 )); then
  exec env --default-signal=INT,QUIT "$0" "$@"
fi
SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
COLLRUN=${COLLRUN:-$BUILD/collrun}
T=$(basename "$0" .sh)                       # this script's name: integration/$T/<check>
S=$BUILD/tests/integration/$T                # scratch folder of this script (never /tmp)
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: integration/$T: cannot create $S"; exit 1; }
FAILED=0 CR_OPTS=()
ulimit -c 0                                   # signal tests must not leave core files
export LC_ALL=C PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0

pass() { echo "PASS: integration/$T/$1"; }
fail() { echo "FAIL: integration/$T/$1: $2"; FAILED=1; }
skip() { echo "SKIP: integration/$T/$1: $2"; }
finish() { exit "$FAILED"; }

# Stop the whole script (one FAIL or SKIP line) when collrun cannot run here at all.
need_collrun() {
  if [ ! -x "$COLLRUN" ]; then fail setup "no collrun binary at $COLLRUN"; finish; fi
  "$COLLRUN" -- /bin/true >"$S/.probe" 2>&1; local rc=$?
  if [ "$rc" = 123 ]; then skip all "kernel lacks seccomp user notification: $(head -1 "$S/.probe")"; exit 0; fi
  if [ "$rc" != 0 ]; then fail setup "collrun -- /bin/true exited $rc: $(head -1 "$S/.probe")"; finish; fi
}

# stat_field FILE FIELD — value of FIELD on the last line (collrun-stats: k=v ...) of FILE.
stat_field() {
  tail -n 1 "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=\([0-9][0-9]*\)\$/\1/p"
}

# both NAME [-e RC] CMD... — run CMD natively, then under `collrun --stats-file`, each time
# with stdin /dev/null in the fresh folder $S/NAME/work (same absolute path both times).
# Afterwards $S/NAME/{native,collrun}.{out,err,rc}, $S/NAME/{native,collrun}.work (what each
# run left in its folder) and $S/NAME/stats exist. PASS/FAIL NAME on identical out/err/rc.
# Extra collrun options go in the array CR_OPTS (e.g. CR_OPTS=(-c "$S/NAME/work")).
# The native run must exit RC (default 0) and print something (on stdout if RC is 0, else
# on stderr), so a broken environment can never make the comparison pass vacuously.
# collrun never caches what changed since its job began, judged on the kernel's coarse
# clock (ticks of a few ms): before a collrun run that should serve files just made, let
# that clock move on (touch a file until its ctime differs from a first one's). No sleep.
settle_clock() {
  local t=$BUILD/tests/integration/.tick a i
  mkdir -p "${t%/*}"; : >"$t.a"; a=$(stat -c %z "$t.a")
  for i in $(seq 10000); do : >"$t.b"; [ "$(stat -c %z "$t.b")" != "$a" ] && break; done
  rm -f "$t.a" "$t.b"
}

both() {
  local name=$1 want=0; shift
  if [ "$1" = -e ]; then want=$2; shift 2; fi
  local d=$S/$name; rm -rf "$d"; mkdir -p "$d/work"
  (cd "$d/work" && exec "$@" </dev/null >"$d/native.out" 2>"$d/native.err"); echo $? >"$d/native.rc"
  mv "$d/work" "$d/native.work"; mkdir "$d/work"; settle_clock
  (cd "$d/work" && exec "$COLLRUN" "${CR_OPTS[@]}" --stats-file="$d/stats" -- "$@" </dev/null >"$d/collrun.out" 2>"$d/collrun.err")
  echo $? >"$d/collrun.rc"
  mv "$d/work" "$d/collrun.work"
  if [ "$(cat "$d/native.rc")" != "$want" ]; then
    fail "$name" "native run exited $(cat "$d/native.rc"), expected $want (environment broken?)"; head -5 "$d/native.err" | sed 's/^/    /'; return 1
  fi
  local std=out; [ "$want" = 0 ] || std=err
  if [ ! -s "$d/native.$std" ]; then fail "$name" "native run printed nothing on std$std"; return 1; fi
  same_files "$name" "$d/native" "$d/collrun"
}

# same_files NAME A B — PASS/FAIL NAME on A.out/A.err/A.rc equal to B.out/B.err/B.rc.
same_files() {
  local name=$1 a=$2 b=$3 x bad=
  for x in rc out err; do
    cmp -s "$a.$x" "$b.$x" || bad="$bad $x"
  done
  if [ -z "$bad" ]; then pass "$name"; return 0; fi
  fail "$name" "differs from native in:$bad (native rc=$(cat "$a.rc"), collrun rc=$(cat "$b.rc"); files in $(dirname "$a"))"
  for x in $bad; do diff "$a.$x" "$b.$x" | head -8 | sed "s/^/    $x: /"; done
  return 1
}

# stats NAME EXPR... — check the stats of `both NAME`: last line well formed, and every
# EXPR (like served>0, files>0) holds. One PASS/FAIL line named NAME-stats.
stats() {
  local name=$1 f=$S/$1/stats e k op v got bad=; shift
  if ! tail -n 1 "$f" 2>/dev/null | grep -Eq '^collrun-stats: trapped=[0-9]+ served=[0-9]+ filled=[0-9]+ passed=[0-9]+ negative=[0-9]+ files=[0-9]+ bytes=[0-9]+ fsops=[0-9]+( [a-z_]+=[0-9]+)*$'; then
    fail "$name-stats" "no well-formed collrun-stats line at the end of $f"; return 1
  fi
  for e in "$@"; do
    k=${e%%[<>=]*}; op=${e#"$k"}; v=${op#?}; op=${op%"$v"}
    got=$(stat_field "$f" "$k")
    case $op in
      '>') [ "$got" -gt "$v" ] ;; '<') [ "$got" -lt "$v" ] ;; '=') [ "$got" -eq "$v" ] ;;
    esac || bad="$bad $k=$got(want $e)"
  done
  if [ -z "$bad" ]; then pass "$name-stats"; else fail "$name-stats" "$(echo $bad): $(tail -n 1 "$f")"; fi
}

# cacheable_scratch — for scripts whose trees the DEFAULT policy must be able to cache
# (discovery): the default policy passes /tmp, /var/tmp, /dev and /run, so when the build
# folder lies under one of them (a clone in /tmp) the scratch folder S moves to
# $COLLRUN_TEST_SCRATCH, else $HOME/collrun-test-scratch.UID/T (a plain folder under
# $HOME, which the policy's `discovered` rule may cache). SKIPs all, loudly, when there is no
# such place. scratch_release (last in the script's clean-up, after its unmounts) removes
# the moved folder, unless something is still mounted in it.
SCRATCH_MOVED=
cacheable_scratch() {
  case "$S/" in /tmp/*|/var/tmp/*|/dev/*|/run/*) ;; *) return 0 ;; esac
  local root=${COLLRUN_TEST_SCRATCH:-${HOME:+$HOME/collrun-test-scratch.$(id -u)}}
  case "$root/" in ""|/|/tmp/*|/var/tmp/*|/dev/*|/run/*)
    skip all "the build folder $S is under a folder the default policy passes, and no other place (HOME, COLLRUN_TEST_SCRATCH) is usable"; exit 0 ;;
  esac
  rm -rf "$root/$T" && mkdir -p "$root/$T" ||
    { skip all "the build folder is under a passed folder and $root/$T cannot be made"; exit 0; }
  echo "note: scratch moved from $S to $root/$T (the default policy passes the build folder's place)"
  S=$root/$T SCRATCH_MOVED=$root
}
scratch_release() {
  [ -n "$SCRATCH_MOVED" ] || return 0
  if grep -q " $S/" /proc/self/mounts; then echo "note: $S kept: something is still mounted in it"; return 0; fi
  rm -rf "$S"; rmdir "$SCRATCH_MOVED" 2>/dev/null
  return 0
}
