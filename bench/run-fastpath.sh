#!/bin/bash
# bench/run-fastpath.sh — issue 12's targets, each against native in the same run:
#  1. µs per call by kind of answer: bench/micro's openat+close, stat and missing-name stat
#     natively, trapped and passed (--passthrough), served (default: a local file's open is
#     done by the kernel after a walk of the cache; stats answered from it), and with
#     --data=memfd (opens answered with a descriptor of the cache's copy, SECCOMP_IOCTL_NOTIF_ADDFD);
#     and the first stat of each of K new names (a fill: the name's first look-up);
#  1b. bench/inproc_floor: a stat answered by the program's own SIGSYS handler (the least an
#     in-process answer path costs), and what becomes of a program exec'd after its filter;
#  2. a program that makes no file calls (bench/nocalls: getpid storm, CPU loop) natively,
#     with an allow-all seccomp filter (the floor for any seccomp tool) and under collrun;
#  3. start-up (hyperfine -N): /bin/true natively, under bench/launch_floor (fork a keeper,
#     fork and exec: the least a launcher like collrun pays) and collrun; python3 -c pass
#     and -c 'import numpy' natively, under collrun and --passthrough.
# Writes the "Fast path" section of OUT (bench/RESULTS.md; OUT=- prints it) and
# FIGS/fastpath.png, with bench/fastpath-account.md (what was tried) appended.
# Env: BUILD (./build), COLLRUN, N (100000), REPS (3), RUNS (hyperfine runs, 30), LABEL,
# FIGS (bench/results), K (names of the fill tree, 20000).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(mkdir -p "${BUILD:-$SRC/build}" && cd "${BUILD:-$SRC/build}" && pwd)
COLLRUN=${COLLRUN:-$BUILD/collrun} OUT=${OUT:-$SRC/bench/RESULTS.md} FIGS=${FIGS:-$SRC/bench/results}
N=${N:-100000} REPS=${REPS:-3} RUNS=${RUNS:-30} LABEL=${LABEL:-} K=${K:-20000}
MICRO=$BUILD/bench/micro NOCALLS=$BUILD/bench/nocalls FLOOR=$BUILD/bench/launch_floor PY=/usr/bin/python3
INPROC=$BUILD/bench/inproc_floor
make -C "$SRC" --no-print-directory -s BUILD="$BUILD" "$COLLRUN" "$MICRO" "$NOCALLS" "$FLOOR" "$INPROC" >&2
W=$BUILD/bench/fastpath; rm -rf "$W"; mkdir -p "$W" "$FIGS"
RAW=$W/raw.txt; : >"$RAW"
T0=$SECONDS
say() { printf '== %s\n' "$*" >&2; }
# The fill tree: K empty files in one folder on the local disk (not /tmp, passed), cached
# with --cache; each micro process stats every name once (fills), then again (hits).
FILLS=$W/fills; mkdir -p "$FILLS"
"$PY" -c 'import sys; [open("%s/f%05d" % (sys.argv[1], i), "w").close() for i in range(int(sys.argv[2]))]' "$FILLS" "$K"
# The file micro opens and stats: in a cached tree, on the local disk (not /tmp, passed).
run() { local name=$1 reps=$2; shift 2; say "micro: $name"
	for ((i = 0; i < reps; i++)); do
		"$@" "$MICRO" -n "$N" -r 1 -f "$FILLS" -k "$K" | sed "s/^micro:/micro: mode=$name/" >>"$RAW"; done; }
run native "$REPS"
run passthrough "$REPS" "$COLLRUN" --cache="$FILLS" --passthrough --
run served "$REPS" "$COLLRUN" --cache="$FILLS" --
run memfd "$REPS" "$COLLRUN" --cache="$FILLS" --data=memfd --
# ADDFD's two wake-ups are plain ones the kernel places on an idle CPU: the same with the
# job and collrun on one CPU shows what they cost (taskset: the program's affinity changes,
# so only here, never by default).
run passthrough-cpu0 "$REPS" taskset -c 0 "$COLLRUN" --cache="$FILLS" --passthrough --
run memfd-cpu0 "$REPS" taskset -c 0 "$COLLRUN" --cache="$FILLS" --data=memfd --
say "inproc_floor"
for ((i = 0; i < REPS; i++)); do "$INPROC" -n "$N" >>"$RAW"; done
nocalls() { local name=$1; shift; say "nocalls: $name"
	for ((i = 0; i < REPS; i++)); do
		"$@" | sed "s/^nocalls:/nocalls: mode=$name/" >>"$RAW"; done; }
nocalls native "$NOCALLS" -n $((N * 5))
nocalls filter "$NOCALLS" -f -n $((N * 5))
nocalls collrun "$COLLRUN" -- "$NOCALLS" -n $((N * 5))

q() { printf "'%s' " "$@"; }    # quote each word for hyperfine's word splitting
hf() { local case=$1; shift; say "hyperfine: $case"
	hyperfine -N --style basic --warmup 5 --runs "$RUNS" --export-json "$W/$case.json" "$@" >&2; }
hf true -n native "$(q /bin/true)" -n floor "$(q "$FLOOR" /bin/true)" -n collrun "$(q "$COLLRUN" -- /bin/true)"
hf pass -n native "$(q "$PY" -c pass)" -n collrun "$(q "$COLLRUN" -- "$PY" -c pass)" \
	-n passthrough "$(q "$COLLRUN" --passthrough -- "$PY" -c pass)"
if "$PY" -c 'import numpy' 2>/dev/null; then
	hf numpy -n native "$(q "$PY" -c 'import numpy')" -n collrun "$(q "$COLLRUN" -- "$PY" -c 'import numpy')" \
		-n passthrough "$(q "$COLLRUN" --passthrough -- "$PY" -c 'import numpy')"
fi

/usr/bin/python3 - "$W" "$N" "$REPS" "$RUNS" "$LABEL" "$((SECONDS - T0))" "$SRC" <<'PYEOF'
import json, os, re, statistics, sys
W, n, reps, runs, label, secs, SRC = sys.argv[1:]
rows = {}
for l in open(W + '/raw.txt'):
    d = dict(re.findall(r'(\w+)=(\S+)', l)); rows.setdefault((l.split(':')[0], d.get('mode', '')), []).append(d)
med = lambda xs: sorted(xs)[len(xs) // 2]
def m(kind, mode, key): return med([float(r[key]) for r in rows[(kind, mode)]])
def hf(case):
    try: return {r['command']: statistics.median(r['times']) * 1e3 for r in json.load(open(f'{W}/{case}.json'))['results']}
    except OSError: return {}
keys = (('openat_close_us', 'openat+close'), ('stat_us', 'stat'), ('stat_missing_us', 'stat, missing name'),
        ('stat_fill_us', 'stat, first look-up of a name (fill)'))
modes = (('native', 'native'), ('passthrough', 'trapped, passed (`--passthrough`: trap + CONTINUE)'),
         ('served', 'served (default; local file opened by the kernel after a walk, stats answered)'),
         ('memfd', '`--data=memfd` (opens answered with ADDFD of the cached copy)'),
         ('passthrough-cpu0', 'trapped, passed, job and collrun on CPU 0 (`taskset -c 0`)'),
         ('memfd-cpu0', '`--data=memfd`, job and collrun on CPU 0 (`taskset -c 0`)'))
L = ['<!-- fastpath: generated by bench/run-fastpath.sh; rerun to refresh -->',
     '## Fast path: per-call cost and start-up (issue 12)', '',
     f'`N={n} REPS={reps} RUNS={runs} bench/run-fastpath.sh`{" (" + label + ")" if label else ""}, {secs} s, '
     'unpinned. bench/micro on /usr/lib/os-release (a cached tree on the local disk): median of REPS processes per mode, µs per call, '
     'and × native in the same run; the fill column: the first stat of each of K names in one cached folder on the local disk '
     '(natively already in the kernel\'s dentry cache). Start-up: `hyperfine -N`, median of RUNS runs.', '',
     '### µs per call by kind of answer', '',
     '| mode | ' + ' | '.join(lbl for _, lbl in keys) + ' |', '|---|' + '---:|' * len(keys)]
us = {mo: {k: m('micro', mo, k) for k, _ in keys} for mo, _ in modes}
for mo, name in modes:
    L.append(f'| {name} | ' + ' | '.join(f'{us[mo][k]:.2f} (×{us[mo][k] / us["native"][k]:.1f})' for k, _ in keys) + ' |')
kinds = [('native open+close', us['native']['openat_close_us']), ('trap + CONTINUE (open)', us['passthrough']['openat_close_us']),
         ('walk, kernel opens (local)', us['served']['openat_close_us']), ('ADDFD of the copy (memfd)', us['memfd']['openat_close_us']),
         ('native stat', us['native']['stat_us']), ('trap + CONTINUE (stat)', us['passthrough']['stat_us']),
         ('stat answered (RETURN)', us['served']['stat_us']), ('native missing stat', us['native']['stat_missing_us']),
         ('trap + CONTINUE (missing)', us['passthrough']['stat_missing_us']), ('ENOENT answered (RETURN)', us['served']['stat_missing_us']),
         ('stat filled (first look-up)', us['served']['stat_fill_us'])]
ip = rows.get(('inproc', ''), [])
ipv = {key: med([float(r[key]) for r in ip]) for key in ('stat_native_us', 'stat_sigsys_us')} if ip and 'stat_sigsys_us' in ip[0] else None
if ipv: kinds.append(('stat answered in-process (SIGSYS handler)', ipv['stat_sigsys_us']))
with open(W + '/kinds.dat', 'w') as f:
    for lbl, v in kinds: f.write(f'"{lbl}" {v:.3f}\n')
L += ['', '![µs per call by kind of answer](results/fastpath.png)', '',
      'Figure: `gnuplot -e "dat=\'build/bench/fastpath/kinds.dat\'; out=\'bench/results/fastpath.png\'" bench/plot/fastpath.gp`', '']
if ipv:
    ex = ip[0]['exec_after_trap']
    L += ['### The least an in-process answer costs (bench/inproc_floor)', '',
          f'A stat trapped by a `SECCOMP_RET_TRAP` filter and answered by the program\'s own `SIGSYS` handler from memory (no look-up): '
          f'{ipv["stat_sigsys_us"]:.2f} µs per call, against {ipv["stat_native_us"]:.2f} natively and {us["served"]["stat_us"]:.2f} served by collrun. '
          f'A program exec\'d after such a filter is installed (/bin/true): **{ex}** — the filter outlives `execve`, the handler does not, '
          'so every program the job starts without the handler (a static binary, or any program whose environment drops the preload) '
          'dies at its first stat. collrun therefore answers only through user notification.', '']
g = {mo: m('nocalls', mo, 'getpid_ns') for mo in ('native', 'filter', 'collrun')}
c = {mo: m('nocalls', mo, 'cpu_loop_ms') for mo in ('native', 'filter', 'collrun')}
L += ['### A program that makes no file calls (bench/nocalls)', '',
      '| | native | allow-all seccomp filter | collrun |', '|---|---:|---:|---:|',
      f'| `getpid()` storm, ns per call | {g["native"]:.1f} | {g["filter"]:.1f} (×{g["filter"]/g["native"]:.2f}) | {g["collrun"]:.1f} (×{g["collrun"]/g["native"]:.2f}) |',
      f'| CPU loop, ms | {c["native"]:.2f} | {c["filter"]:.2f} (×{c["filter"]/c["native"]:.2f}) | {c["collrun"]:.2f} (×{c["collrun"]/c["native"]:.2f}) |', '']
t, p, npy = hf('true'), hf('pass'), hf('numpy')
L += ['### Start-up (median ms)', '', '| program | native | collrun | other | |', '|---|---:|---:|---:|---|']
if t: L.append(f'| `/bin/true` | {t["native"]:.2f} | {t["collrun"]:.2f} (+{t["collrun"]-t["native"]:.2f}) | {t["floor"]:.2f} (+{t["floor"]-t["native"]:.2f}) | bench/launch_floor: fork a keeper, fork, exec, wait |')
if p: L.append(f'| `python3 -c pass` | {p["native"]:.2f} | {p["collrun"]:.2f} (×{p["collrun"]/p["native"]:.2f}) | {p["passthrough"]:.2f} (×{p["passthrough"]/p["native"]:.2f}) | `--passthrough` |')
if npy: L.append(f'| `python3 -c \'import numpy\'` | {npy["native"]:.2f} | {npy["collrun"]:.2f} (×{npy["collrun"]/npy["native"]:.2f}) | {npy["passthrough"]:.2f} (×{npy["passthrough"]/npy["native"]:.2f}) | `--passthrough` |')
L.append('')
def verdict(ok): return '**met**' if ok else '**not met**'
tg = [f'| served `openat` of a local file ≤ passthrough + 1 µs | +{us["served"]["openat_close_us"]-us["passthrough"]["openat_close_us"]:.2f} µs | {verdict(us["served"]["openat_close_us"]-us["passthrough"]["openat_close_us"] <= 1)} |',
      f'| served `openat` of a memfd copy ≤ 2× passthrough | ×{us["memfd"]["openat_close_us"]/us["passthrough"]["openat_close_us"]:.2f} '
      f'(on one CPU: ×{us["memfd-cpu0"]["openat_close_us"]/us["passthrough-cpu0"]["openat_close_us"]:.2f}) | '
      + ('**met**' if us["memfd"]["openat_close_us"] <= 2 * us["passthrough"]["openat_close_us"] else
         '**not met** unpinned: the kernel wakes the caller and then collrun with plain wake-ups that land on the idle CPU; '
         + ('met' if us["memfd-cpu0"]["openat_close_us"] <= 2 * us["passthrough-cpu0"]["openat_close_us"] else 'not met') + ' on one CPU') + ' |']
if p: tg.append(f'| `python3 -c pass` ≤ 1.20× native | ×{p["collrun"]/p["native"]:.2f} | {verdict(p["collrun"] <= 1.2 * p["native"])} |')
if npy: tg.append(f'| `python3 -c \'import numpy\'` ≤ 1.10× native | ×{npy["collrun"]/npy["native"]:.2f} | {verdict(npy["collrun"] <= 1.1 * npy["native"])} |')
if t: tg.append(f'| `collrun -- /bin/true` ≤ 1.5 ms over native | +{t["collrun"]-t["native"]:.2f} ms (a bare launcher: +{t["floor"]-t["native"]:.2f} ms) | {verdict(t["collrun"]-t["native"] <= 1.5)} |')
tg.append(f'| no file calls: native speed | getpid ×{g["collrun"]/g["native"]:.2f} (any seccomp filter: ×{g["filter"]/g["native"]:.2f}), CPU loop ×{c["collrun"]/c["native"]:.2f} | '
          + ('**met** for the loop; the getpid storm pays what any seccomp filter costs' if g["collrun"] <= g["filter"] * 1.1 and c["collrun"] <= c["native"] * 1.05 else '**not met**') + ' |')
L += ['### Targets', '', '| target | measured | |', '|---|---|---|'] + tg + ['']
acct = os.path.join(SRC, 'bench', 'fastpath-account.md')
if os.path.exists(acct): L += [open(acct).read().rstrip(), '']
L.append('<!-- fastpath: end -->')
open(W + '/section.md', 'w').write('\n'.join(L) + '\n')
PYEOF
if command -v gnuplot >/dev/null; then
	gnuplot -e "dat='$W/kinds.dat'; out='$FIGS/fastpath.png'; sub='$(uname -r), $(nproc) CPUs; N=$N REPS=$REPS'" "$SRC/bench/plot/fastpath.gp"
fi
if [ "$OUT" = - ]; then cat "$W/section.md"; exit 0; fi
"$SRC/bench/put-section.sh" fastpath "$W/section.md" "$OUT"
echo "run-fastpath: section written to $OUT" >&2
