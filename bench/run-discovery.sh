#!/bin/bash
# bench/run-discovery.sh — issue 11 ("The default policy finds the job's software wherever it
# lives"), its Measure: the genlibs driver rebuilt as a cluster installs it (bench/discovery-
# trees.sh: K libraries in TREES Spack-style package prefixes found only through RUNPATH,
# M extension modules and P pure-Python modules in a venv on slowfs that is not activated, its
# base Python on slowfs too), run with nothing in the environment that names those trees:
#   native     sh -c SCRIPT
#   default    collrun -- sh -c SCRIPT                 the default policy, no options
#   explicit   collrun --cache=MNT -- sh -c SCRIPT     told where everything is
# SCRIPT is `MNT/venv/bin/python MNT/venv/bin/genlibs-driver.py` (1 process) and the same
# NRANKS times with `&` and `wait` (NRANKS processes under one collrun). slowfs's operation
# counts are the primary numbers (deterministic but for a few reads); wall times are given as
# ratios. One more run of each collrun mode with -v (1 process, not timed) counts the
# look-ups of paths under MNT it served and passed. Target (issue 11): the default policy
# costs slowfs within 5% of what the explicit --cache costs.
# Writes the "Finding the job's software" section of OUT (bench/RESULTS.md), replaced in
# place or added at the end, beside the numbers in BASELINE (the "before" run).
#
# Env: BUILD (./build), COLLRUN ($BUILD/collrun), OUT (bench/RESULTS.md; OUT=- prints only),
#   REPS (3: medians reported), NRANKS (4), K (40 libraries), M (20 extensions), TREES (K
#   package prefixes), FUNCS (400 functions per library), BODY (10), DELAY (slowfs µs per
#   operation, 0), THREADS (slowfs max_threads, 1), BASELINE (bench/discovery-baseline.txt),
#   SAVE_BASELINE (1: also write this run to BASELINE — only for the "before" run), KEEP (1:
#   keep the trees), LABEL (quick|full, for the text), COLLRUN_COMMIT (the commit COLLRUN was
#   built from, when it is not the work tree's HEAD).
# Working folder: $BUILD/bench/discovery (never /tmp: the default policy passes /tmp).
# Needs fuse3 + libfuse3-dev (slowfs), gcc, make, python3.11 with Python.h; without FUSE or
# Python.h it writes a section that says it was skipped.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(mkdir -p "${BUILD:-$SRC/build}" && cd "${BUILD:-$SRC/build}" && pwd)
COLLRUN=${COLLRUN:-$BUILD/collrun}
OUT=${OUT:-$SRC/bench/RESULTS.md} REPS=${REPS:-3} NRANKS=${NRANKS:-4} K=${K:-40} M=${M:-20} TREES=${TREES:-${K:-40}}
FUNCS=${FUNCS:-400} BODY=${BODY:-10} DELAY=${DELAY:-0} THREADS=${THREADS:-1}
BASELINE=${BASELINE:-$SRC/bench/discovery-baseline.txt} SAVE_BASELINE=${SAVE_BASELINE:-0}
KEEP=${KEEP:-0} LABEL=${LABEL:-}
PY=/usr/bin/python3.11
W=$BUILD/bench/discovery MNT=$BUILD/bench/discovery/mnt TREE=$BUILD/bench/discovery/tree
CMDLINE="REPS=$REPS NRANKS=$NRANKS K=$K M=$M TREES=$TREES FUNCS=$FUNCS BODY=$BODY DELAY=$DELAY bench/run-discovery.sh"
say() { printf '== %s\n' "$*" >&2; }
die() { echo "run-discovery.sh: $*" >&2; exit 1; }
# Nothing that names the trees: collrun's start-up must not already cover them. PATH without
# shims (a pyenv python3 would be another interpreter).
unset LD_LIBRARY_PATH LD_PRELOAD PYTHONHOME PYTHONPATH PYTHONUSERBASE PYTHONSTARTUP VIRTUAL_ENV CONDA_PREFIX \
	CONDA_DEFAULT_ENV PYENV_VERSION COLLRUN_POLICY
export PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C

[[ $REPS =~ ^[1-9][0-9]*$ && $NRANKS =~ ^[1-9][0-9]*$ && $DELAY =~ ^[0-9]+$ ]] ||
	die "REPS and NRANKS must be positive integers, DELAY a non-negative one"
for t in gcc make "$PY"; do command -v "$t" >/dev/null || die "no $t (apt-get install ${t##*/})"; done
[ -x "$COLLRUN" ] || make -C "$SRC" --no-print-directory BUILD="$BUILD" "$COLLRUN" >&2 || die "no collrun at $COLLRUN and make cannot build it"
SKIP=
if ! [ -c /dev/fuse ]; then SKIP="no /dev/fuse"
elif ! command -v fusermount3 >/dev/null; then SKIP="no fusermount3 (apt-get install fuse3)"
elif ! [ -f "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then
	SKIP="no Python.h (apt-get install python3-dev): the extension modules cannot be built"
elif ! [ -x "$BUILD/bench/slowfs/slowfs" ] && ! make -C "$SRC" --no-print-directory BUILD="$BUILD" slowfs >&2; then
	SKIP="cannot build slowfs (apt-get install libfuse3-dev fuse3)"
fi

MOUNTED= 
cleanup() {
	[ -z "$MOUNTED" ] || "$SRC/bench/slowfs/umount.sh" "$MNT" >&2 || echo "run-discovery.sh: could not unmount $MNT" >&2
	[ "$KEEP" = 1 ] || rm -rf "$TREE" "$TREE.gen" 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "run-discovery.sh: interrupted" >&2; exit 130' INT TERM HUP
if grep -qs " $MNT fuse.slowfs " /proc/self/mounts; then "$SRC/bench/slowfs/umount.sh" "$MNT" >&2 || die "stale slowfs on $MNT"; fi
rm -rf "$W"; mkdir -p "$W/runs"
RAW=$W/raw.txt; : >"$RAW"
T0=$EPOCHREALTIME
kv() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"; }
crstats() {   # the last "collrun-stats: k=v …" line of FILE, keys prefixed with cr_
	{ grep '^collrun-stats:' "$1" 2>/dev/null || true; } | tail -1 | sed 's/^collrun-stats: *//; s/\([a-z_]*\)=/cr_\1=/g'; }

if [ -z "$SKIP" ]; then
	say "trees in $TREE (bench/discovery-trees.sh K=$K M=$M TREES=$TREES FUNCS=$FUNCS BODY=$BODY)"
	"$SRC/bench/discovery-trees.sh" "$TREE" "$MNT" "$K" "$M" "$TREES" "$FUNCS" "$BODY" >"$W/trees.log" 2>&1 ||
		{ tail -20 "$W/trees.log" >&2; die "bench/discovery-trees.sh failed"; }
	RUNPATHS=$(awk '{ n = split($4, a, ":"); if (n > m) m = n } END { print m }' "$TREE.gen/layout.txt")
	PYMODS=$(find "$TREE/venv/lib/python3.11/site-packages/gpy" -name '*.py' ! -name '__init__.py' | wc -l)
	# the checksum the driver must print (genlibs' own driver, from its build folder)
	EXPECT=$("$PY" "$TREE.gen/out/driver.py") || die "the genlibs driver does not run"
	SLOWFS_OPTS=max_threads=$THREADS SLOWFS=$BUILD/bench/slowfs/slowfs \
		"$SRC/bench/slowfs/mount.sh" "$TREE" "$MNT" "$DELAY" >"$W/mount.log" 2>&1 || { cat "$W/mount.log" >&2; die "cannot mount slowfs"; }
	MOUNTED=1
	CMD="$MNT/venv/bin/python $MNT/venv/bin/genlibs-driver.py"
	ranks() { local s= i; for ((i = 0; i < NRANKS; i++)); do s+="$1 & "; done; echo "${s}wait"; }
	declare -A SCRIPT=([1]="$CMD" [N]="$(ranks "$CMD")") PROCS=([1]=1 [N]=$NRANKS)
	run() {   # run CASE MODE REP
		local c=$1 mode=$2 rep=$3 st=$W/runs/$1-$2-$3 t0 t1 rc=0 good pre=()
		case $mode in
			default) pre=("$COLLRUN" --stats-file="$st.stats" --) ;;
			explicit) pre=("$COLLRUN" --cache="$MNT" --stats-file="$st.stats" --) ;;
		esac
		: >"$MNT/.slowfs-stats"
		t0=$EPOCHREALTIME
		(cd "$W" && exec "${pre[@]}" sh -c "${SCRIPT[$c]}") >"$st.out" 2>"$st.err" || rc=$?
		t1=$EPOCHREALTIME
		cp "$MNT/.slowfs-stats" "$st.ops"
		# counted as words: several processes' lines may interleave
		good=$(grep -oF "$EXPECT" "$st.out" | wc -l)
		[ "$rc" = 0 ] && [ "$good" = "${PROCS[$c]}" ] || { head -5 "$st.out" "$st.err" >&2
			die "$c $mode: exit $rc, $good of ${PROCS[$c]} processes printed '$EXPECT'"; }
		local cr=
		if [ "$mode" != native ]; then cr=$(crstats "$st.stats"); [ -n "$cr" ] || die "$c $mode: no statistics in $st.stats"; fi
		echo "case=$c mode=$mode rep=$rep procs=${PROCS[$c]} wall_s=$(awk "BEGIN{printf \"%.4f\", $t1 - $t0}") $(cat "$st.ops") $cr" >>"$RAW"
		say "$c process(es), $mode, rep $rep: $(kv "$st.ops" total) slowfs ops, $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s"
	}
	# one untimed run first (the first exec of the base python from slowfs, the loader's and
	# python's first start on this machine), then the repetitions
	(cd "$W" && exec sh -c "$CMD") >"$W/runs/warm-up.out" 2>&1 || die "the warm-up run failed: $(head -3 "$W/runs/warm-up.out")"
	for ((r = 1; r <= REPS; r++)); do
		for c in 1 N; do for mode in native default explicit; do run "$c" "$mode" "$r"; done; done
	done
	# -v: look-ups of paths under MNT, served or passed, by tree (spack, base, venv)
	for mode in default explicit; do
		o=(); [ "$mode" = explicit ] && o=(--cache="$MNT")
		(cd "$W" && "$COLLRUN" -v "${o[@]}" --stats-file="$W/runs/v-$mode.stats" -- sh -c "$CMD") >"$W/runs/v-$mode.out" 2>"$W/runs/v-$mode.log" ||
			die "the -v run ($mode) failed"
		awk -v mnt="$MNT" -v mode="$mode" '
			/^collrun: \[[0-9]+\] [a-z0-9_]+ / {
				s = $0; sub(/^collrun: \[[0-9]+\] [a-z0-9_]+ /, "", s); k = index(s, " -> "); if (!k) next
				p = substr(s, 1, k - 1); res = substr(s, k + 4)
				if (index(p, mnt "/") != 1) next
				t = substr(p, length(mnt) + 2); sub(/\/.*/, "", t)
				how = res ~ /^pass/ ? "passed" : "served"; n[how "_" t]++; n[how]++ }
			END { printf "case=1 mode=%s-v", mode; for (x in n) printf " v_%s=%d", x, n[x]; printf "\n" }' \
			"$W/runs/v-$mode.log" >>"$RAW"
	done
fi
SECS=$(awk "BEGIN{printf \"%.0f\", $EPOCHREALTIME - $T0}")

# --- the report ----------------------------------------------------------------------------
if [ -n "${COLLRUN_COMMIT:-}" ]; then COMMIT=$COLLRUN_COMMIT DIRTY=0
else COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
	DIRTY=$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo 1 || echo 0); fi
HEADER="# run-discovery.sh raw results: commit=$COMMIT dirty=$DIRTY date=$(date -u '+%Y-%m-%d_%H:%M_UTC') kernel=$(uname -r) cpus=$(nproc) settings=$(tr ' ' , <<<"$CMDLINE" | sed 's/,bench\/run-discovery.sh//') runpath_max=${RUNPATHS:-0} pymods=${PYMODS:-0}"
{ echo "$HEADER"; cat "$RAW"; } >"$W/results.txt"
if [ -z "$SKIP" ] && [ "$SAVE_BASELINE" = 1 ]; then cp "$W/results.txt" "$BASELINE"; say "baseline written to $BASELINE"; fi
"$PY" "$SRC/bench/discovery-report.py" --results "$W/results.txt" --baseline "$BASELINE" --mnt "$MNT" \
	--cmdline "$CMDLINE" --secs "$SECS" --label "$LABEL" ${SKIP:+--skip="$SKIP"} >"$W/discovery.md" || die "discovery-report.py failed"
[ -z "$SKIP" ] || echo "SKIP: run-discovery: $SKIP"
if [ "$OUT" = - ]; then cat "$W/discovery.md"; exit 0; fi
touch "$OUT"
awk -v f="$W/discovery.md" '
  function put() { while ((getline l < f) > 0) print l; close(f) }
  /^<!-- discovery: generated/ { skip = 1; if (!done) put(); done = 1; next }
  skip && /^<!-- discovery: end -->/ { skip = 0; next }
  !skip { print }
  END { if (!done) { print ""; put() } }' "$OUT" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
say "done in $SECS s: section \"Finding the job's software\" written to $OUT (raw: $W/results.txt)"
