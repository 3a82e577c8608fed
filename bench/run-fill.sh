#!/bin/bash
# bench/run-fill.sh — what a cache miss costs (issue 9: "Filling must save file-system work,
# never add to it" and "Measure"). Native and collrun in the same run; slowfs's operation
# counts are the primary numbers (deterministic), times are ratios against native.
#
#   1 storm   the loader's LD_LIBRARY_PATH storm: a program needing 12 libraries that live in
#             the last of 80 LD_LIBRARY_PATH entries, all on slowfs (bench/fill-trees.sh);
#             1 process, and NRANKS processes at once under ONE collrun (`collrun -- sh -c
#             'p & p & … wait'`, one supervisor)
#   2 spack   a Spack-style RUNPATH chain app -> liba -> libb on slowfs, run twice in one collrun
#   3 python  `python3 -c 'import json, email.parser'` (Debian's /usr/bin/python3): with the
#             stdlib copied onto slowfs (PYTHONHOME), 1 and NRANKS processes; and on the local
#             /usr/lib: distinct paths looked up (native strace) against collrun's fills,
#             file-system operations and the walks its supervisor made (strace of collrun)
#   4 calls   system calls collrun's own process (every thread, and any process it forks)
#             makes per trapped call: `strace -f -c` attached to collrun while bench/fillcalls
#             makes CALLS calls of one kind (a hit by absolute and by relative path, a served
#             open, a fill of a file, a fill of a missing name, an open that fills); the same
#             with 0 calls is subtracted (start and exit)
# Writes the "What a miss costs" section of OUT (bench/RESULTS.md), replaced in place or added
# at the end, beside the numbers in BASELINE (the "before" run, bench/fill-baseline.txt).
#
# Env: BUILD (./build), COLLRUN ($BUILD/collrun), OUT (bench/RESULTS.md; OUT=- prints only),
#   REPS (3: repetitions of parts 1–3, medians reported), NRANKS (4), CALLS (10000: calls per
#   loop in part 4), CALL_REPS (1: repetitions of part 4, whose counts are exact), DELAY (slowfs µs per
#   operation, 0), THREADS (slowfs max_threads, 1), PARTS ("storm spack python calls"),
#   BASELINE (bench/fill-baseline.txt), SAVE_BASELINE (1: also write this run to BASELINE —
#   only for the "before" run), KEEP (1: keep the test trees), LABEL (quick|full, for the text),
#   COLLRUN_COMMIT (the commit COLLRUN was built from, when it is not the work tree's HEAD),
#   CACHE_ARG (what tells collrun the trees: --cache=MNT; CACHE_ARG= measures the default
#   policy alone, as a user who sets nothing: issue 11's storm set inside the job).
# An existing COLLRUN is never rebuilt. The "before" run was made with a build of that commit:
#   git archive C | tar -x -C DIR/src && make -C DIR/src BUILD=DIR/build all
#   COLLRUN=DIR/build/collrun COLLRUN_COMMIT=C SAVE_BASELINE=1 bench/run-fill.sh
# Working folder: $BUILD/bench/fill (trees, slowfs mount, raw results, logs; never /tmp: the
# default policy passes /tmp). Needs fuse3 (parts 1–3), strace (parts 3–4), gcc, python3.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(mkdir -p "${BUILD:-$SRC/build}" && cd "${BUILD:-$SRC/build}" && pwd)
COLLRUN=${COLLRUN:-$BUILD/collrun}
OUT=${OUT:-$SRC/bench/RESULTS.md} REPS=${REPS:-3} NRANKS=${NRANKS:-4} CALLS=${CALLS:-10000} CALL_REPS=${CALL_REPS:-1}
DELAY=${DELAY:-0} THREADS=${THREADS:-1} PARTS=${PARTS:-storm spack python calls}
BASELINE=${BASELINE:-$SRC/bench/fill-baseline.txt} SAVE_BASELINE=${SAVE_BASELINE:-0}
KEEP=${KEEP:-0} LABEL=${LABEL:-}
PY=/usr/bin/python3
W=$BUILD/bench/fill MNT=$BUILD/bench/fill/mnt TREE=$BUILD/bench/fill/tree
CMDLINE="REPS=$REPS NRANKS=$NRANKS CALLS=$CALLS CALL_REPS=$CALL_REPS DELAY=$DELAY bench/run-fill.sh"
say() { printf '== %s\n' "$*" >&2; }
die() { echo "run-fill.sh: $*" >&2; exit 1; }
unset LD_LIBRARY_PATH PYTHONHOME PYTHONPATH   # only the commands below set them, per process

# --- what is needed -------------------------------------------------------------------------
for t in gcc make "$PY"; do command -v "$t" >/dev/null || die "no $t (apt-get install ${t##*/})"; done
[[ $REPS =~ ^[1-9][0-9]*$ && $NRANKS =~ ^[1-9][0-9]*$ && $CALLS =~ ^[1-9][0-9]*$ && $CALL_REPS =~ ^[1-9][0-9]*$ && $DELAY =~ ^[0-9]+$ ]] \
	|| die "REPS, NRANKS, CALLS, CALL_REPS must be positive integers, DELAY a non-negative one"
[ "$CALLS" -le 99999 ] || die "CALLS must be at most 99999 (bench/fillcalls names files f00000 …)"
SKIPS=()    # "part: reason" for the report
want() { [[ " $PARTS " == *" $1 "* ]]; }
skip_part() { say "SKIP $1: $2"; SKIPS+=("$1: $2"); PARTS=" ${PARTS//$1/} "; }
if ! [ -c /dev/fuse ]; then for p in storm spack python; do skip_part $p "no /dev/fuse"; done
elif ! command -v fusermount3 >/dev/null; then for p in storm spack python; do skip_part $p "no fusermount3 (apt-get install fuse3)"; done; fi
command -v strace >/dev/null || { skip_part calls "no strace (apt-get install strace)"; SKIPS+=("python (local /usr/lib part): no strace"); }
# An existing collrun is used as it is (it may be an older build kept for a "before" run).
[ -x "$COLLRUN" ] || make -C "$SRC" --no-print-directory BUILD="$BUILD" "$COLLRUN" >&2 || die "no collrun at $COLLRUN and make cannot build it"
[ -x "$COLLRUN" ] || die "no collrun at $COLLRUN"
FILLCALLS=$BUILD/bench/fillcalls
[ "$FILLCALLS" -nt "$SRC/bench/fillcalls.c" ] || { mkdir -p "$BUILD/bench" && gcc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 \
	-o "$FILLCALLS" "$SRC/bench/fillcalls.c"; } || die "cannot build $FILLCALLS from bench/fillcalls.c"
if want storm || want spack || want python; then
	[ -x "$BUILD/bench/slowfs/slowfs" ] || make -C "$SRC" --no-print-directory BUILD="$BUILD" slowfs >&2 \
		|| die "cannot build slowfs (apt-get install libfuse3-dev fuse3)"
fi

# --- clean-up: unmount, stop what we started, remove the trees -------------------------------
MOUNTED= PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	[ -z "$MOUNTED" ] || "$SRC/bench/slowfs/umount.sh" "$MNT" >&2 || echo "run-fill.sh: could not unmount $MNT" >&2
	[ "$KEEP" = 1 ] || rm -rf "$TREE" "$TREE.gen" "$W/calls" "$W/fifo".* 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "run-fill.sh: interrupted" >&2; exit 130' INT TERM HUP

# A slowfs left mounted by an interrupted run would make rm -rf walk (and count) through it.
if grep -qs " $MNT fuse.slowfs " /proc/self/mounts; then "$SRC/bench/slowfs/umount.sh" "$MNT" >&2 || die "stale slowfs on $MNT"; fi
rm -rf "$W"; mkdir -p "$W/runs"
RAW=$W/raw.txt; : >"$RAW"
T0=$EPOCHREALTIME
secs() { awk "BEGIN{printf \"%.2f\", $EPOCHREALTIME - $1}"; }
kv() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"; }

# --- trees and the slowfs mount ----------------------------------------------------------------
if want storm || want spack || want python; then
	say "trees in $TREE (bench/fill-trees.sh), slowfs at $MNT (delay $DELAY µs, $THREADS thread(s))"
	"$SRC/bench/fill-trees.sh" "$TREE" "$MNT" || die "bench/fill-trees.sh failed"
	STDLIB=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')   # /usr/lib/python3.11
	mkdir -p "$TREE/py/lib"
	# The stdlib as it is, bytecode included, without what an import never reads
	tar -C "$(dirname "$STDLIB")" --exclude="${STDLIB##*/}/config-*" --exclude="${STDLIB##*/}/dist-packages" \
		--exclude="${STDLIB##*/}/test" --exclude="${STDLIB##*/}/idlelib" -cf - "${STDLIB##*/}" | tar -C "$TREE/py/lib" -xf - \
		|| die "cannot copy $STDLIB into $TREE/py"
	SLOWFS_OPTS=max_threads=$THREADS SLOWFS=$BUILD/bench/slowfs/slowfs \
		"$SRC/bench/slowfs/mount.sh" "$TREE" "$MNT" "$DELAY" >"$W/mount.log" 2>&1 || { cat "$W/mount.log" >&2; die "cannot mount slowfs"; }
	MOUNTED=1
	export STORM_LD_PATH; STORM_LD_PATH=$("$SRC/bench/fill-trees.sh" --ld-path "$MNT")
fi

# --- parts 1–3 on slowfs: one run = reset counters, run sh -c SCRIPT, read counters ------------
# Every run is `sh -c SCRIPT` natively and `collrun --cache=MNT -- sh -c SCRIPT` (sh, collrun and
# /usr/bin/python3 live outside the mount; only the programs, libraries and stdlib copy are on it).
# Raw line: part case mode rep wall_s, slowfs's counters, cr_* = collrun's statistics.
STORM="LD_LIBRARY_PATH=\$STORM_LD_PATH $MNT/storm/bin/storm"
APP=$MNT/spack/app-1/bin/app
PYCMD="PYTHONHOME=$MNT/py $PY -c 'import json, email.parser; print(\"python ok\")'"
ranks() { local s= i; for ((i = 0; i < NRANKS; i++)); do s+="$1 & "; done; echo "${s}wait"; }
declare -A SCRIPT EXPECT COUNT
SCRIPT[storm-1]=$STORM;            EXPECT[storm-1]='storm ok 12 662';  COUNT[storm-1]=1
SCRIPT[storm-N]=$(ranks "$STORM"); EXPECT[storm-N]='storm ok 12 662';  COUNT[storm-N]=$NRANKS
SCRIPT[spack-2]="$APP; $APP";      EXPECT[spack-2]='spack ok 18';      COUNT[spack-2]=2
SCRIPT[python-1]=$PYCMD;           EXPECT[python-1]='python ok';       COUNT[python-1]=1
SCRIPT[python-N]=$(ranks "$PYCMD"); EXPECT[python-N]='python ok';      COUNT[python-N]=$NRANKS
crstats() {   # the last "collrun-stats: k=v …" line of FILE, keys prefixed with cr_ (collrun may add keys)
	{ grep '^collrun-stats:' "$1" 2>/dev/null || true; } | tail -1 | sed 's/^collrun-stats: *//; s/\([a-z_]*\)=/cr_\1=/g'; }
fsrun() {   # fsrun PART CASE MODE REP
	local part=$1 c=$2 mode=$3 rep=$4 st=$W/runs/$2-$3-$4 t0 t1 rc=0 good
	: >"$MNT/.slowfs-stats"
	t0=$EPOCHREALTIME
	if [ "$mode" = native ]; then (cd "$W" && exec sh -c "${SCRIPT[$c]}") >"$st.out" 2>"$st.err" || rc=$?
	else (cd "$W" && exec "$COLLRUN" ${CACHE_ARG-"--cache=$MNT"} --stats-file="$st.stats" -- sh -c "${SCRIPT[$c]}") >"$st.out" 2>"$st.err" || rc=$?; fi
	t1=$EPOCHREALTIME
	cp "$MNT/.slowfs-stats" "$st.ops"
	# counted as words: several processes' lines may interleave (python writes a line and
	# its newline apart when PYTHONUNBUFFERED is set)
	good=$(grep -oF "${EXPECT[$c]}" "$st.out" | wc -l)
	[ "$rc" = 0 ] && [ "$good" = "${COUNT[$c]}" ] || { cat "$st.out" "$st.err" >&2
		die "$c $mode: exit $rc, $good of ${COUNT[$c]} processes printed '${EXPECT[$c]}'"; }
	local cr=
	if [ "$mode" = collrun ]; then
		cr=$(crstats "$st.stats"); [ -n "$cr" ] || die "$c: collrun wrote no statistics to $st.stats"
	fi
	echo "part=$part case=$c mode=$mode rep=$rep procs=${COUNT[$c]} wall_s=$(awk "BEGIN{printf \"%.4f\", $t1 - $t0}") $(cat "$st.ops") $cr" >>"$RAW"
	say "$c $mode rep $rep: $(kv "$st.ops" total) slowfs ops, $(secs "$t0") s"
}
CASES=()
want storm && CASES+=(storm-1 storm-N)
want spack && CASES+=(spack-2)
want python && CASES+=(python-1 python-N)
for ((r = 1; r <= REPS; r++)); do
	for c in "${CASES[@]}"; do for mode in native collrun; do fsrun "${c%%-*}" "$c" "$mode" "$r"; done; done
done

# --- attach strace to collrun's own process(es) ------------------------------------------------
# collrun's processes: every process in collrun's process tree that runs the collrun binary
# (the launcher/supervisor and any copy it forks), never the program's processes; `strace -f
# -p PID` attaches every thread of each (and follows threads and processes created later).
# Raw line: sc_NAME = calls of each system call, sc_total; tasks = processes attached.
sup_procs() {   # sup_procs PID
	local exe p; exe=$(readlink -f "$COLLRUN")
	for p in $(ps -e -o pid=,ppid= | awk -v root="$1" '{ kids[$2] = kids[$2] " " $1 }
		END { q[1] = root; n = 1; for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], k, " "); for (j = 1; j <= m; j++) q[++n] = k[j] } }'); do
		[ "$(readlink -f "/proc/$p/exe" 2>/dev/null)" = "$exe" ] && echo "$p"
	done; true; }
wait_for() {   # wait_for FILE PATTERN COUNT SECONDS PID — until FILE has COUNT lines matching
	local i=0 lim=$(($4 * 20))
	until [ "$(grep -c -- "$2" "$1" 2>/dev/null || true)" -ge "$3" ]; do
		kill -0 "$5" 2>/dev/null || return 1
		i=$((i + 1)); [ $i -le $lim ] || return 1; sleep 0.05
	done; }
straced() {   # straced TAG PART KEYVALS CMD... — CMD (collrun …) prints "ready" and waits for a byte on stdin
	local tag=$1 part=$2 kvs=$3 st=$W/runs/$1; shift 3
	local fifo=$W/fifo.$tag go cr sp rc=0 procs
	rm -f "$fifo"; mkfifo "$fifo"; exec {go}<>"$fifo"
	(cd "$W" && exec "$@") <"$fifo" >"$st.out" 2>"$st.err" & cr=$!; PIDS+=("$cr")
	wait_for "$st.out" ready 1 60 "$cr" || { cat "$st.out" "$st.err" >&2; die "$tag: the program never said ready"; }
	procs=$(sup_procs "$cr"); [ -n "$procs" ] || die "$tag: no collrun process under pid $cr"
	strace -f -c -o "$st.strace" $(printf -- '-p %s ' $procs) 2>"$st.strace-err" & sp=$!; PIDS+=("$sp")
	wait_for "$st.strace-err" attached "$(wc -w <<<"$procs")" 30 "$sp" || { cat "$st.strace-err" >&2; die "$tag: strace did not attach to $procs"; }
	echo go >&"$go"
	wait "$cr" || rc=$?
	wait "$sp" || true
	PIDS=()     # both have exited: nothing of ours to stop any more
	exec {go}>&-; rm -f "$fifo"
	[ "$rc" = 0 ] || { cat "$st.out" "$st.err" >&2; die "$tag: exit $rc"; }
	local cr_kv sc
	cr_kv=$(crstats "$st.stats"); [ -n "$cr_kv" ] || die "$tag: collrun wrote no statistics"
	# strace -c: "% time seconds usecs/call calls [errors] syscall"; the total line is "total"
	sc=$(awk '$1 ~ /^[0-9.]+$/ && NF >= 5 { printf "sc_%s=%s ", $NF, $4 }' "$st.strace")
	[[ $sc == *sc_total=* ]] || { cat "$st.strace" >&2; die "$tag: no strace summary"; }
	echo "part=$part $kvs procs=$(wc -w <<<"$procs") $sc$cr_kv" >>"$RAW"
}

# --- part 3b: python on the local /usr/lib: paths looked up vs the supervisor's work ------------
PYARGS=(-c 'import json, email.parser')
if want python && command -v strace >/dev/null; then
	say "python3 ${PYARGS[*]} on the local stdlib: native strace, collrun -v -v, collrun under strace"
	(cd "$W" && strace -f -qq -s 4096 -o "$W/runs/pylocal-native.strace" -e trace=%file "$PY" "${PYARGS[@]}") \
		|| die "native python under strace failed"
	(cd "$W" && "$COLLRUN" -v -v --stats-file="$W/runs/pylocal-v.stats" -- "$PY" "${PYARGS[@]}") 2>"$W/runs/pylocal-v.log" \
		|| die "python under collrun -v -v failed"
	straced pylocal python "case=pylocal mode=collrun" "$COLLRUN" --stats-file="$W/runs/pylocal.stats" -- \
		sh -c 'echo ready; read x; exec "$0" "$@"' "$PY" "${PYARGS[@]}"
	"$PY" - "$W/runs/pylocal-native.strace" "$W/runs/pylocal-v.log" "$W/runs/pylocal-v.stats" >>"$RAW" <<'EOF'
import re, sys
native, vlog, vstats = sys.argv[1:]
looks, paths = 0, set()
for l in open(native):                   # PID call(args) = ret: look-ups that name a path
    m = re.match(r'\d+\s+(\w+)\((.*)', l)
    if not m or m.group(1) in ('execve', 'execveat', 'getcwd', 'chdir'):
        continue
    q = re.search(r'"((?:[^"\\]|\\.)*)"', m.group(2))
    if q and q.group(1):                 # "" = fstat through AT_EMPTY_PATH: no look-up
        looks += 1; paths.add(q.group(1))
dec = {}; fillpaths = set(); allp = set()  # collrun -v -v: "collrun: [PID] CALL PATH -> RESULT (hit|fill)" or "-> pass"
for l in open(vlog, errors='replace'):
    m = re.match(r'collrun: \[\d+\] (\w+) (.*) -> (\S+)(?: \((\w+)\))?\s*$', l)
    if not m:
        continue
    how = m.group(4) or m.group(3)
    dec[how] = dec.get(how, 0) + 1; allp.add(m.group(2))
    if how == 'fill':
        fillpaths.add(m.group(2))
st = open(vstats).read().split('collrun-stats:')[-1].split()
out = ['part=python case=pylocal mode=paths', f'native_lookups={looks}', f'native_paths={len(paths)}']
if dec:
    out += [f'v_{k}={v}' for k, v in sorted(dec.items())] + [f'v_paths={len(allp)}', f'v_fillpaths={len(fillpaths)}']
out += ['vcr_' + kv for kv in st]
print(' '.join(out))
EOF
fi

# --- part 4: system calls per trapped call -----------------------------------------------------
SCMODES="stat-abs stat-rel open stat-fill stat-miss open-fill"
if want calls; then
	CD=$W/calls; mkdir -p "$CD"
	"$FILLCALLS" -m "$CALLS" "$CD" || die "fillcalls -m failed"
	for ((r = 1; r <= CALL_REPS; r++)); do
		for m in $SCMODES; do for n in 0 "$CALLS"; do
			straced "calls-$m-$n-$r" calls "case=$m n=$n rep=$r" "$COLLRUN" --cache="$CD" --stats-file="$W/runs/calls-$m-$n-$r.stats" -- \
				"$FILLCALLS" "$m" "$n" "$CD"
			grep -q "^fillcalls: done $m $n\$" "$W/runs/calls-$m-$n-$r.out" || die "fillcalls $m $n did not finish"
		done; say "calls $m rep $r: $(tail -1 "$RAW" | grep -o 'sc_total=[0-9]*') supervisor syscalls for $CALLS calls"; done
	done
	# the served open of a file on FUSE (a memfd copy: --data=auto copies from network and FUSE file systems)
	if [ -n "$MOUNTED" ]; then
		mkdir -p "$TREE/calls" && printf 'fillcalls\n' >"$TREE/calls/file"
		for ((r = 1; r <= CALL_REPS; r++)); do for n in 0 "$CALLS"; do
			straced "calls-fuse-$n-$r" calls "case=open-fuse n=$n rep=$r" "$COLLRUN" --cache="$MNT" --stats-file="$W/runs/calls-fuse-$n-$r.stats" -- \
				"$FILLCALLS" open "$n" "$MNT/calls"
		done; done
	fi
fi
SECS=$(awk "BEGIN{printf \"%.0f\", $EPOCHREALTIME - $T0}")

# --- the report ------------------------------------------------------------------------------
if [ -n "${COLLRUN_COMMIT:-}" ]; then COMMIT=$COLLRUN_COMMIT DIRTY=0   # a binary built elsewhere (git archive COMMIT)
else COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
	DIRTY=$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo 1 || echo 0); fi
HEADER="# run-fill.sh raw results: commit=$COMMIT dirty=$DIRTY date=$(date -u '+%Y-%m-%d_%H:%M_UTC') kernel=$(uname -r) cpus=$(nproc) settings=$(tr ' ' , <<<"$CMDLINE" | sed 's/,bench\/run-fill.sh//')"
{ echo "$HEADER"; cat "$RAW"; } >"$W/results.txt"
if [ "$SAVE_BASELINE" = 1 ]; then cp "$W/results.txt" "$BASELINE"; say "baseline written to $BASELINE"; fi
"$PY" "$SRC/bench/fill-report.py" --results "$W/results.txt" --baseline "$BASELINE" --src "$SRC" --mnt "$MNT" \
	--cmdline "$CMDLINE" --secs "$SECS" --label "$LABEL" ${SKIPS[@]+"${SKIPS[@]/#/--skip=}"} >"$W/fill.md" || die "fill-report.py failed"
if [ "$OUT" = - ]; then cat "$W/fill.md"; exit 0; fi
touch "$OUT"
awk -v f="$W/fill.md" '
  function put() { while ((getline l < f) > 0) print l; close(f) }
  /^<!-- fill-cost: generated/ { skip = 1; if (!done) put(); done = 1; next }
  skip && /^<!-- fill-cost: end -->/ { skip = 0; next }
  !skip { print }
  END { if (!done) { print ""; put() } }' "$OUT" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
say "done in $SECS s: section \"What a miss costs\" written to $OUT (raw: $W/results.txt)"
