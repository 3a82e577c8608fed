#!/usr/bin/env bash
# run-diff.sh — differential tests. Every probe scenario (probe --list), dynamic and static,
# runs natively twice (proving the scenario itself is deterministic) and once under
# `collrun --cache=FIXTURE`; stdout, stderr and exit status must be byte-identical. The
# scenario's flags (probe --list; meaning at the top of probe.c) add checks on --stats-file:
#   s  something was served from the cache: served (hits) > 0, not only fills
#   f  fixture paths were looked up: served + filled > 0
# Every scenario runs twice over: as root, and (the whole run: probe natively, and collrun
# with the probe under it) as uid 65534 via setpriv — except those flagged r (root only).
# COLLRUN_DIFF_TRACED=1 (tests/run.sh's ptrace passes) leaves out the t scenarios, loudly.
# Prints PASS/FAIL/SKIP lines (see doc/TESTING.md); exits 1 if any FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
SRC=${SRC:-$(cd "$here/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
COLLRUN=${COLLRUN:-$BUILD/collrun}
. "$here/fixture.sh"
FIX=$BUILD/tests/diff/fixture
OUT=$BUILD/tests/diff/out
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
fails=0
rm -rf "$OUT"; mkdir -p "$OUT"

# run DIR CMD...: stdout, stderr, exit status of CMD into DIR (stdin empty, no `_` in env)
run() {
  local d=$1; shift
  mkdir -p "$d"
  { timeout -k 10 300 env -u _ "$@" </dev/null >"$d/out" 2>"$d/err"; } 2>/dev/null  # no "Killed by..." note
  echo $? >"$d/rc"
}

# compare A B: nothing when runs A and B match, else per differing part (rc, out, err) the
# first differing line of each side; the whole diff is left in B/PART.diff
compare() {
  local x o n what=""
  for x in rc out err; do
    cmp -s "$1/$x" "$2/$x" && continue
    diff -u "$1/$x" "$2/$x" >"$2/$x.diff"
    o=$(diff --old-line-format='%dn: %L' --new-line-format= --unchanged-line-format= "$1/$x" "$2/$x" | head -1 | cut -c1-150)
    n=$(diff --old-line-format= --new-line-format='%dn: %L' --unchanged-line-format= "$1/$x" "$2/$x" | head -1 | cut -c1-150)
    what+="[$x] want «${o:-nothing}» got «${n:-nothing}» "
  done
  printf '%s' "$what"
}

# stats DIR: "SERVED FILLED" from the last line of DIR/stats ("" if missing or malformed);
# fields are found by key (the line may gain fields)
stats() {
  local l
  l=$(tail -n 1 "$1/stats" 2>/dev/null)
  [[ $l =~ ^collrun-stats:\  && $l =~ \ served=([0-9]+)( |$) ]] || return
  local sv=${BASH_REMATCH[1]}
  [[ $l =~ \ filled=([0-9]+)( |$) ]] && echo "$sv ${BASH_REMATCH[1]}"
}

result() { # result STATUS NAME [WHY [DIFF-FILES...]]: the line, then a few diff lines for the log
  local f
  echo "$1: $2${3:+: $3}"
  for f in "${@:4}"; do [ -f "$f" ] && sed '1,2d' "$f" | grep -v '^ ' | head -8 | sed 's/^/    /'; done
  [ "$1" = FAIL ] && fails=$((fails + 1))
  return 0
}

# The comparator must be able to fail, or every PASS below means nothing.
mkdir -p "$OUT/self/a" "$OUT/self/b" "$OUT/self/c"
printf 'x = 0\ny = 1\n' >"$OUT/self/a/out"; printf 'x = 0\ny = -1 ENOENT\n' >"$OUT/self/b/out"
cp "$OUT/self/a/out" "$OUT/self/c/out"
for d in a b c; do : >"$OUT/self/$d/err"; echo 0 >"$OUT/self/$d/rc"; done
if [ -n "$(compare "$OUT/self/a" "$OUT/self/b")" ] && [ -z "$(compare "$OUT/self/a" "$OUT/self/c")" ]; then
  result PASS diff/comparator-detects-difference
else
  result FAIL diff/comparator-detects-difference "compare() cannot tell outputs apart"
fi

for p in probe probe-static; do
  [ -x "$BUILD/tests/diff/$p" ] || { result FAIL diff/build "$BUILD/tests/diff/$p not built (make test-bins)"; exit 1; }
done
if [ ! -x "$COLLRUN" ]; then
  result FAIL diff/collrun "$COLLRUN does not exist yet (make all)"
  exit 1
fi
make_fixture "$FIX" || { result FAIL diff/fixture "cannot create $FIX"; exit 1; }

# check NAME FLAGS DIR: compare native, native2, collrun runs in DIR and print the result
check() {
  local name=$1 flags=$2 d=$3 why n
  why=$(compare "$d/native" "$d/native2")
  if [ -n "$why" ]; then result FAIL "$name" "native runs differ (scenario not deterministic): $why"; return; fi
  if [[ $flags == *e* ]]; then
    # Documented difference (man/collrun.1): a trapped call interrupted by a handler
    # without SA_RESTART before collrun received it fails with EINTR. Fold EINTR-only
    # failures into "all ok"; any other error, or EINTR natively, still fails.
    cp "$d/collrun/out" "$d/collrun/out.raw"
    sed -E 's/: ok=[0-9]+ EINTR=[0-9]+ other=0$/: all ok/' "$d/collrun/out.raw" >"$d/collrun/out"
  fi
  why=$(compare "$d/native" "$d/collrun")
  if [ -n "$why" ]; then
    # k: a memfd copy differs by design (man/collrun.1); served as themselves (auto on a
    # local file system) the same scenarios must match.
    if [[ $flags == *k* && $name == */memfd ]]; then result SKIP "$name" "differs by design (man/collrun.1): $why"
    else result FAIL "$name" "$why" "$d"/collrun/{rc,out,err}.diff; fi
    return
  fi
  n=$(stats "$d/collrun")
  if [ -z "$n" ]; then result FAIL "$name" "no collrun-stats line in $d/collrun/stats"; return; fi
  local served=${n% *} filled=${n#* } kernel
  # --data=auto on this local file system: an open the cache walked to is performed by the
  # kernel (kernel=N), which is how those files are served there
  kernel=$(tail -n 1 "$d/collrun/stats" | sed -nE 's/.* kernel=([0-9]+).*/\1/p')
  [[ $name == */auto ]] && served=$((served + ${kernel:-0}))
  if [[ $flags == *s* ]] && [ "$served" = 0 ]; then
    result FAIL "$name" "served=0 (filled=$filled): the scenario repeats look-ups of unchanged paths, yet nothing was answered from the cache"; return
  fi
  if [[ $flags == *f* ]] && [ $((served + filled)) = 0 ]; then result FAIL "$name" "served+filled = 0: nothing came from the cache"; return; fi
  result PASS "$name"
}

# scenario NAME FLAGS WRAP-NATIVE WRAP-COLLRUN-OUTER WRAP-COLLRUN-INNER PROBE-SCENARIO
# (wrappers are names of arrays, "none" for no wrapper)
none=()
# Every scenario runs under both ways of serving file contents: --data=auto (here: the
# files themselves, the fixture being on a local file system) and --data=memfd (copies,
# as on a network file system).
scenario() {
  local name=$1 flags=$2 wn=$3 wo=$4 wi=$5 sc=$6 build probe d r data
  local -n wrapn=$wn wrapo=$wo wrapi=$wi
  for data in auto memfd; do
  for build in dynamic static; do
    probe=$BUILD/tests/diff/probe; [ $build = static ] && probe+=-static
    d=$OUT/$name/$build/$data
    mkdir -p "$d/collrun"; chmod 0777 "$d/collrun"  # writable for a collrun run as nobody
    if [[ $flags == *t* && ${COLLRUN_DIFF_TRACED:-} == 1 ]]; then
      result SKIP "diff/$name/$build/$data" "a signal every 100 us outpaces the ptrace backend's stop per signal (collrun(1), BACKENDS): minutes, not run in the traced passes"
      continue
    fi
    for r in native native2; do
      [[ $flags == *m* ]] && make_fixture "$FIX"
      run "$d/$r" "${wrapn[@]}" "$probe" "$sc" "$FIX"
    done
    [[ $flags == *m* ]] && make_fixture "$FIX"
    run "$d/collrun" "${wrapo[@]}" "$COLLRUN" --data=$data --stats-file="$d/collrun/stats" --cache="$FIX" -- \
      "${wrapi[@]}" "$probe" "$sc" "$FIX"
    check "diff/$name/$build/$data" "$flags" "$d"
  done
  done
}

while read -r sc flags; do
  [[ $flags == *h* ]] && continue
  scenario "$sc" "$flags" none none none "$sc"
done < <("$BUILD/tests/diff/probe" --list)

# The whole job as nobody: collrun started by setpriv, and collrun (root) starting setpriv.
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
  result SKIP diff/unpriv "needs root and setpriv to switch to uid 65534"
  result SKIP diff/nobody "needs root and setpriv to run every scenario as uid 65534"
else
  scenario unpriv-setpriv-outer m NOBODY NOBODY none unpriv
  scenario unpriv-setpriv-inner m NOBODY none NOBODY unpriv
  # Every scenario again as uid 65534: the probe natively, and collrun itself with the probe
  # under it (the fixture is world-readable; its mutable/ and perm/t trees are nobody's).
  # Flag r: means something only as root (mount, chroot, set*id) — not repeated here.
  while read -r sc flags; do
    [[ $flags == *h* || $flags == *r* ]] && continue
    scenario "nobody/$sc" "$flags" NOBODY NOBODY none "$sc"
  done < <("$BUILD/tests/diff/probe" --list)
fi

[ "$fails" = 0 ]
