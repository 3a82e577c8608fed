#!/bin/bash
# bench/run-all.sh [quick] — what `make bench` (full, ~26 min on 2 cores) and `make
# bench-quick` (~3 min, written under $BUILD/bench/) run: bench/run-micro.sh (per-call cost, python start-up, memory,
# idle CPU), bench/run-scaling.sh (N ranks on a slow FUSE file system), the gnuplot figures
# in bench/results/, then the whole of bench/RESULTS.md from those pieces; run-decide.sh,
# run-fill.sh (what a cache miss costs: slowfs operations, supervisor system calls per call)
# run-discovery.sh (the default policy vs an explicit --cache on a Spack layout and an
# unactivated venv), run-bcast.sh (the session broadcast stream vs MPI_Bcast, idle CPU) and
# run-backends.sh (user notification vs ptrace vs strace -f, and --audit) and run-fastpath.sh
# (issue 12: per-call cost by kind of answer, start-up against a bare launcher) then add their
# own sections to it.
# Env: BUILD (./build), COLLRUN ($BUILD/collrun), RESULTS (bench/RESULTS.md),
# FIGS (bench/results; for quick, $BUILD/bench/RESULTS.md and $BUILD/bench/results). Working files: $BUILD/bench/all and $BUILD/bench/scaling.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(mkdir -p "${BUILD:-$SRC/build}" && cd "${BUILD:-$SRC/build}" && pwd)
COLLRUN=${COLLRUN:-$BUILD/collrun}
case ${1:-full} in
	quick) FAST=(N=20000 REPS=1 RUNS=5 LABEL=quick) MICRO=(N=20000 REPS=1 RUNS=5) SCALING=(NS="1 2 4 8" DELAY=20 REPS=1 K=8 M=8) TARGET="make bench-quick"
	       FILL=(REPS=1 CALLS=2000 LABEL=quick) DISC=(REPS=1 K=8 M=4 FUNCS=100 LABEL=quick)
	       BCAST=(SIZE_MIB=64 REPS=1 CHUNKS=8 IDLE=10 LABEL=quick) BACK=(N=20000 REPS=1 LABEL=quick) ;;
	full)  FAST=(N=100000 REPS=3 RUNS=30 LABEL=full) MICRO=(N=100000 REPS=3 RUNS=20) SCALING=(NS="1 2 4 8 16 32" DELAY=200 REPS=3 K=40 M=20) TARGET="make bench"
	       FILL=(REPS=3 CALLS=10000 LABEL=full) DISC=(REPS=3 K=40 M=20 FUNCS=400 LABEL=full)
	       BCAST=(SIZE_MIB=256 REPS=3 IDLE=30 LABEL=full) BACK=(N=100000 REPS=3 LABEL=full) ;;
	*) echo "usage: $0 [quick|full]" >&2; exit 2 ;;
esac
# A smoke run (quick) writes under BUILD: the committed results are those of a full run.
if [ "${1:-full}" = quick ]; then
	RESULTS=${RESULTS:-$BUILD/bench/RESULTS.md} FIGS=${FIGS:-$BUILD/bench/results}
else
	RESULTS=${RESULTS:-$SRC/bench/RESULTS.md} FIGS=${FIGS:-$SRC/bench/results}
fi
W=$BUILD/bench/all; rm -rf "$W"; mkdir -p "$W" "$FIGS"
say() { printf '\n==== %s\n' "$*" >&2; }
T0=$EPOCHREALTIME
secs() { awk "BEGIN{printf \"%.0f\", $EPOCHREALTIME - $1}"; }
words() { local a out=; for a in "$@"; do [[ $a == *' '* ]] && a="${a%%=*}='${a#*=}'"; out+="$a "; done; echo "${out% }"; }
make -C "$SRC" --no-print-directory BUILD="$BUILD" "$COLLRUN" "$BUILD/bench/micro" >&2

say "1/3 bench/run-micro.sh ($(words "${MICRO[@]}"))"
t=$EPOCHREALTIME
env "${MICRO[@]}" BUILD="$BUILD" COLLRUN="$COLLRUN" OUT="$W/micro.md" "$SRC/bench/run-micro.sh" >"$W/micro.log"
MICRO_SECS=$(secs "$t")
# The medians behind micro.png, from run-micro.sh's raw lines (same median as its table).
/usr/bin/python3 - "$BUILD/bench/work/micro.txt" "$W/micro.dat" <<'EOF'
import re, sys
runs = {}
for l in open(sys.argv[1]):
    d = dict(re.findall(r'(\w+)=(\S+)', l)); runs.setdefault(d['mode'], []).append(d)
med = lambda xs: sorted(xs)[len(xs) // 2]
with open(sys.argv[2], 'w') as f:
    f.write('# call native collrun passthrough strace (µs per call, median over processes)\n')
    for key, label in (('openat_close_us', 'openat+close'), ('stat_us', 'stat'), ('stat_missing_us', 'stat, missing name')):
        f.write('"%s" %s\n' % (label, ' '.join('%.2f' % med([float(r[key]) for r in runs[m]]) if m in runs else '-'
                                             for m in ('native', 'collrun', 'passthrough', 'strace'))))
    if 'collrun-cpu0' in runs:   # job and supervisor on one CPU: no cross-CPU wake-ups
        f.write('"openat+close, taskset -c 0" %s - -\n' % ' '.join('%.2f' % med([float(r['openat_close_us']) for r in runs[m]])
                                                               for m in ('native-cpu0', 'collrun-cpu0')))
EOF

say "2/3 bench/run-scaling.sh ($(words "${SCALING[@]}"))"
t=$EPOCHREALTIME
env "${SCALING[@]}" BUILD="$BUILD" COLLRUN="$COLLRUN" OUT="$BUILD/bench/scaling" "$SRC/bench/run-scaling.sh" >"$W/scaling.log" \
	|| { cat "$W/scaling.log"; echo "run-all.sh: bench/run-scaling.sh failed" >&2; exit 1; }
grep '^SKIP' "$W/scaling.log" || true
SCALING_SECS=$(secs "$t")

say "3/3 figures and $RESULTS"
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
SUB="$(uname -r), $(nproc) CPUs, ${CPU:-$(uname -m)}"
rm -f "$FIGS"/micro.png "$FIGS"/scaling-ops.png "$FIGS"/scaling-time.png
FIGCMDS=()
plot() {   # plot SCRIPT VARS — VARS as gnuplot -e text; records the exact command
	(cd "$SRC" && gnuplot -e "$2" "bench/plot/$1.gp") || { echo "run-all.sh: gnuplot failed on $1" >&2; return 1; }
	FIGCMDS+=("$1=gnuplot -e \"$2\" bench/plot/$1.gp"); }
if ! command -v gnuplot >/dev/null; then echo "SKIP: no gnuplot (apt-get install gnuplot-nox): no figures"
else
	plot micro "dat='$W/micro.dat'; out='$FIGS/micro.png'; sub='$SUB; ${MICRO[*]}'"
	if ls "$BUILD"/bench/scaling/scaling-*.dat >/dev/null 2>&1; then
		delay=$(sed -n 's/.*DELAY=\([0-9]*\).*/\1/p' <<<"${SCALING[*]}")
		for f in scaling-ops scaling-time; do
			plot $f "dir='$BUILD/bench/scaling'; out='$FIGS/$f.png'; sub='slowfs: $delay µs per request, one request at a time; $SUB'"
		done
	fi
fi

# RESULTS.md: a header of our own, run-micro.sh's report without its header, the scaling
# fragment, the figures with their commands, and all targets together at the end.
/usr/bin/python3 - "$SRC" "$W/micro.md" "$BUILD/bench/scaling/scaling.md" "$RESULTS" "$TARGET" \
	"$(words "${MICRO[@]}")" "$(words "${SCALING[@]}")" "$MICRO_SECS" "$SCALING_SECS" "$(secs "$T0")" \
	"$BUILD" "${FIGCMDS[@]}" <<'EOF'
import os, platform, re, subprocess, sys, time
SRC, MICRO_MD, SCAL_MD, OUT, TARGET, MENV, SENV, MSECS, SSECS, TSECS, BUILD, *figs = sys.argv[1:]
figs = dict(f.split('=', 1) for f in figs)
rel = lambda p: os.path.relpath(p, SRC)
figs = {k: v.replace(SRC + '/', '') for k, v in figs.items()}
def git(*a):
    return subprocess.run(['git', '-C', SRC, *a], capture_output=True, text=True).stdout.strip()
commit = git('rev-parse', '--short', 'HEAD') or 'unknown'
dirty = ' (with uncommitted changes)' if git('status', '--porcelain', '--untracked-files=no') else ''
cpu = re.search(r'model name\s*:\s*(.*)', open('/proc/cpuinfo').read())
def ver(cmd, pat, fmt):
    try: m = re.search(pat, subprocess.run(cmd, capture_output=True, text=True).stdout)
    except OSError: m = None
    return fmt % m.group(1) if m else None
vers = [v for v in (ver(['mpiexec', '--version'], r'Version:\s*(\S+)', 'MPICH hydra %s'), 'Python ' + platform.python_version(),
                    ver(['/usr/bin/python3', '-c', 'import numpy; print(numpy.__version__)'], r'(\S+)', 'numpy %s'),
                    ver(['gnuplot', '--version'], r'gnuplot (\S+ patchlevel \S+)', 'gnuplot %s'),
                    ver(['fusermount3', '--version'], r'version:\s*(\S+)', 'fuse3 %s')) if v]

micro = open(MICRO_MD).read().splitlines()
i = next((k for k, l in enumerate(micro) if l.startswith('- Machine:')), 2)
body = micro[i + 1:]
t = next((k for k, l in enumerate(body) if l.startswith('## Targets')), len(body))
micro_body, targets = '\n'.join(body[:t]).strip(), body[t + 1:]
try: scaling = open(SCAL_MD).read().strip()
except OSError: scaling = '**Not run**: bench/run-scaling.sh wrote no results (see its output).'
skipped = scaling.startswith('**Skipped**')

def fig(name, alt):
    if name not in figs: return '(no figure: gnuplot missing or no data)'
    return f'![{alt}](results/{name}.png)\n\nFigure: `{figs[name]}`'

# Scaling target (design §6): slowfs operations flat as N grows. From the driver's data:
# columns N native_ops collrun_ops native_s collrun_s shared_ops shared_s.
dat = os.path.join(BUILD, 'bench/scaling/scaling-driver.dat')
targets = [l for l in targets if l.strip()]
if os.path.exists(dat):
    rows = [[float(x) if x != '-' else None for x in l.split()] for l in open(dat) if not l.startswith('#')]
    a, b = rows[0], rows[-1]
    per = lambda c: (b[c] - a[c]) / (b[0] - a[0])       # operations each added rank costs
    span = f'N={a[0]:.0f}→{b[0]:.0f}'
    targets.append(f"| slowfs operations stay flat as ranks grow (design §6; genlibs driver, {span}), collrun per rank "
                   f"(`mpiexec -n N collrun -- CMD`: a multi-node job today) | {a[2]:.0f} → {b[2]:.0f} ops (×{b[2] / a[2]:.1f}; "
                   f"native ×{b[1] / a[1]:.1f}); each added rank costs {per(2):.0f} ops (native {per(1):.0f}) | "
                   f"**not met** (each rank has its own cache: needs the node-wide supervisor, a future issue) |")
    if a[5] is not None:
        ok = per(5) <= 0.1 * per(1)
        targets.append(f"| the same, one collrun for all ranks (`collrun -- mpiexec -n N CMD`: one host only) | "
                       f"{a[5]:.0f} → {b[5]:.0f} ops (×{b[5] / a[5]:.1f}); each added rank costs {per(5):.0f} ops "
                       f"({100 * per(5) / per(1):.0f}% of native's) | " + ('**met** on one host (≤ 10% of native per added rank)' if ok
                       else '**not met** (> 10% of native per added rank)') + ' |')
elif skipped:
    targets.append('| slowfs operations stay flat as ranks grow (design §6) | not measured: ' + scaling.split(': ', 1)[1].split(' (')[0] + ' | **skipped** |')

quick = ' — **quick sizes: a smoke test, not numbers to compare**' if 'quick' in TARGET else ''
md = f"""<!-- Generated by bench/run-all.sh (`make bench`, `make bench-quick`); rerun to refresh. Do not edit by hand. -->
# collrun benchmark results

- Command: `{TARGET}` (= `bench/run-all.sh{' quick' if 'quick' in TARGET else ''}`), {TSECS} s in all (micro {MSECS} s, scaling {SSECS} s, incl. builds){quick}
- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}; collrun commit {commit}{dirty}
- Machine: Linux {platform.release()} ({platform.machine()}), {os.cpu_count()} CPUs (`nproc`), {cpu.group(1) if cpu else '?'}
- Software: {', '.join(vers)}

Everything below is measured on this one machine, per process, with collrun as it is today
(one supervisor and cache per collrun process). What this means at 1k–1M ranks, with the
node-wide supervisor and broadcast that are not built yet, is modelled in doc/SCALING.md.

## 1. Per-call cost and python start-up

Command: `{MENV} bench/run-micro.sh` (run by `bench/run-all.sh`; writes its report, included here).

{micro_body}

{fig('micro', 'µs per call: native, collrun, passthrough, strace')}

## 2. Ranks on a slow file system: slowfs operations and wall time vs N

{scaling}
""" + ('' if skipped else f"""
{fig('scaling-ops', 'slowfs operations vs ranks: native, collrun per rank, one collrun for all (log-log)')}

{fig('scaling-time', 'wall time vs ranks: native, collrun per rank, one collrun for all (log-log)')}
""") + f"""
## 3. Targets

{chr(10).join(targets).strip()}
"""
open(OUT, 'w').write(md)
print(md)
EOF
# The policy matcher's cost: run-decide.sh adds its own section to the file just written.
BUILD=$BUILD OUT=$RESULTS "$SRC/bench/run-decide.sh" >/dev/null || say "run-decide.sh failed"
# What a cache miss costs (issue 9): run-fill.sh adds its section, beside bench/fill-baseline.txt.
say "bench/run-fill.sh ($(words "${FILL[@]}"))"
env "${FILL[@]}" BUILD="$BUILD" COLLRUN="$COLLRUN" OUT="$RESULTS" "$SRC/bench/run-fill.sh" >"$W/fill.log" 2>&1 \
	|| { tail -20 "$W/fill.log" >&2; say "run-fill.sh failed (log: $W/fill.log)"; }
# Finding the job's software (issue 11): run-discovery.sh adds its section, beside
# bench/discovery-baseline.txt.
say "bench/run-discovery.sh ($(words "${DISC[@]}"))"
env "${DISC[@]}" BUILD="$BUILD" COLLRUN="$COLLRUN" OUT="$RESULTS" "$SRC/bench/run-discovery.sh" >"$W/discovery.log" 2>&1 \
	|| { tail -20 "$W/discovery.log" >&2; say "run-discovery.sh failed (log: $W/discovery.log)"; }
# The session broadcast stream (issue 10): run-bcast.sh adds its section.
say "bench/run-bcast.sh ($(words "${BCAST[@]}"))"
env "${BCAST[@]}" BUILD="$BUILD" OUT="$RESULTS" "$SRC/bench/run-bcast.sh" >"$W/bcast.log" 2>&1 \
	|| { tail -20 "$W/bcast.log" >&2; say "run-bcast.sh failed (log: $W/bcast.log)"; }
# The two backends and --audit (issue 13): run-backends.sh adds its section.
say "bench/run-backends.sh ($(words "${BACK[@]}"))"
env "${BACK[@]}" BUILD="$BUILD" COLLRUN="$COLLRUN" OUT="$RESULTS" "$SRC/bench/run-backends.sh" >"$W/backends.log" 2>&1 \
	|| { tail -20 "$W/backends.log" >&2; say "run-backends.sh failed (log: $W/backends.log)"; }
# The fast path (issue 12): per-call cost by kind of answer, no-file-call programs, start-up
# against a bare launcher; run-fastpath.sh adds its section and fastpath.png.
say "bench/run-fastpath.sh ($(words "${FAST[@]}"))"
env "${FAST[@]}" BUILD="$BUILD" COLLRUN="$COLLRUN" OUT="$RESULTS" FIGS="$FIGS" "$SRC/bench/run-fastpath.sh" >"$W/fastpath.log" 2>&1 \
	|| { tail -20 "$W/fastpath.log" >&2; say "run-fastpath.sh failed (log: $W/fastpath.log)"; }
say "done in $(secs "$T0") s: $RESULTS, $FIGS/*.png"
