#!/bin/bash
# bench/run-micro.sh — what `make bench` runs. Times bench/micro (openat+close, stat, missing
# stat) and python3 start-up natively, under collrun, collrun --passthrough and strace
# --seccomp-bpf; samples the supervisor's memory and idle CPU; rewrites bench/RESULTS.md.
# Env: COLLRUN, BUILD (default ./build), N (100000), REPS (3), RUNS (hyperfine runs, 20),
# OUT (bench/RESULTS.md). Results are ratios against native measured in this same run.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
COLLRUN=${COLLRUN:-$BUILD/collrun}
N=${N:-100000} REPS=${REPS:-3} RUNS=${RUNS:-20} OUT=${OUT:-$SRC/bench/RESULTS.md}
PY=/usr/bin/python3 MICRO=$BUILD/bench/micro
[ -x "$COLLRUN" ] && [ -x "$MICRO" ] || make -C "$SRC" --no-print-directory BUILD="$BUILD" "$COLLRUN" "$MICRO"
W=$BUILD/bench/work; rm -rf "$W"; mkdir -p "$W"   # scratch (not /tmp: collrun passes /tmp)
STRACE=(strace -f --seccomp-bpf -e trace=openat,newfstatat,stat -o /dev/null)
if ! "${STRACE[@]}" true 2>/dev/null; then echo "SKIP: strace --seccomp-bpf unavailable"; STRACE=(); fi
say() { printf '== %s\n' "$*" >&2; }

# 1. micro: REPS separate processes per mode (the report takes the median), so one unlucky
#    CPU placement counts once; strace is slow (~25-80 µs a call), so one process there.
micro() { local name=$1 reps=$2; shift 2; say "micro: $name"
	for ((i = 0; i < reps; i++)); do
		"$@" "$MICRO" -n "$N" -r 1 | sed "s/^micro:/micro: mode=$name/" >>"$W/micro.txt"; done; }
micro native "$REPS"
micro collrun "$REPS" "$COLLRUN" --stats-file="$W/micro-stats.txt" --
micro passthrough "$REPS" "$COLLRUN" --passthrough --
[ ${#STRACE[@]} -gt 0 ] && micro strace 1 "${STRACE[@]}"
# Job and supervisor on one CPU: no cross-CPU wake-ups (costly in a VM) in the round trips.
micro native-cpu0 "$REPS" taskset -c 0
micro collrun-cpu0 "$REPS" taskset -c 0 "$COLLRUN" --

# 2. python3 start-up with hyperfine -N (no shell in between).
q() { printf "'%s' " "$@"; }    # quote each word for hyperfine's word splitting
startup() { local case=$1; shift; say "hyperfine: $case"
	local args=(-n native "$(q "$@")" -n collrun "$(q "$COLLRUN" -- "$@")"
		    -n passthrough "$(q "$COLLRUN" --passthrough -- "$@")")
	[ ${#STRACE[@]} -gt 0 ] && args+=(-n strace "$(q "${STRACE[@]}" "$@")")
	hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$W/$case.json" "${args[@]}" >&2; }
startup true /bin/true
startup pass "$PY" -c pass
HAVE_NUMPY=0; "$PY" -c 'import numpy' 2>/dev/null && HAVE_NUMPY=1
[ $HAVE_NUMPY = 1 ] && startup numpy "$PY" -c 'import numpy'

# 3. Supervisor memory after `import numpy` (or the stdlib) and its CPU while the job idles:
#    the child reads its parent's (collrun's) /proc files itself.
say "memory and idle CPU"
MOD=json; [ $HAVE_NUMPY = 1 ] && MOD=numpy
"$COLLRUN" --stats-file="$W/mem-stats.txt" -- "$PY" -c "import os, time, $MOD
p = os.getppid(); d = '/proc/%d/fd' % p; memfd = 0
for f in os.listdir(d):
    try:
        if os.readlink(d + '/' + f).startswith('/memfd:'): memfd += os.stat(d + '/' + f).st_blocks * 512
    except OSError: pass
st = dict(l.split(':\t') for l in open('/proc/%d/status' % p).read().splitlines() if ':\t' in l)
print('mem:', 'memfd_bytes=%d' % memfd, *('%s=%d' % (k, int(st[k].split()[0]) * 1024) for k in ('VmRSS', 'VmHWM', 'RssShmem')))
fds = [os.open('/proc/%d/%s' % (p, n), os.O_RDONLY) for n in ('stat', 'schedstat', 'status')]
def sample():
    s, ns, status = (os.pread(fd, 8192, 0).decode() for fd in fds)
    f = s.rsplit(')', 1)[1].split()   # fields after the command name; utime, stime = 14, 15
    return int(f[11]) + int(f[12]), int(ns.split()[0]), sum(int(l.split()[1]) for l in status.splitlines() if 'ctxt_switches' in l)
a = sample(); time.sleep(2); b = sample()
print('idle: seconds=2 ticks=%d cpu_ns=%d ctxt_switches=%d' % tuple(y - x for x, y in zip(a, b)))
" >"$W/mem.txt"

# 4. RESULTS.md
"$PY" - "$W" "$OUT" "$MOD" <<'EOF'
import json, os, platform, re, subprocess, sys, time
W, OUT, MOD = sys.argv[1:4]
kv = lambda line: dict(re.findall(r'(\w+)=(\S+)', line))
runs = {}
for l in open(W + '/micro.txt'): runs.setdefault(kv(l)['mode'], []).append(kv(l))
med = lambda xs: sorted(xs)[len(xs) // 2]
micro = {m: {k: med([float(r[k]) for r in rs]) for k in rs[0] if k.endswith('_us')} for m, rs in runs.items()}
mstats = kv(open(W + '/micro-stats.txt').read().splitlines()[-1])
mem = {}
for l in open(W + '/mem.txt'): mem[l.split(':')[0]] = {k: int(v) for k, v in kv(l).items()}
cached = int(kv(open(W + '/mem-stats.txt').read().splitlines()[-1])['bytes'])
def hf(case):
    try: return {r['command']: r for r in json.load(open(W + '/%s.json' % case))['results']}
    except OSError: return {}
MODES = ('collrun', 'passthrough', 'strace')
rows = []
for key, label in (('openat_close_us', 'openat+close of /usr/lib/os-release, µs/call'),
                   ('stat_us', 'stat of /usr/lib/os-release, µs/call'),
                   ('stat_missing_us', 'stat of a missing /usr/lib name, µs/call')):
    rows.append((label, micro['native'][key], [micro[m].get(key) if m in micro else None for m in MODES]))
c0 = lambda m: micro[m]['openat_close_us']
spread = lambda m: '%.1f–%.1f' % (min(float(r['openat_close_us']) for r in runs[m]), max(float(r['openat_close_us']) for r in runs[m]))
rows.append(('openat+close, job and collrun pinned to CPU 0 (`taskset -c 0`), µs/call', c0('native-cpu0'), [c0('collrun-cpu0'), None, None]))
for case, label in (('true', "start-up of /bin/true (collrun's own cost), ms"), ('pass', "`python3 -c pass`, ms"), ('numpy', "`python3 -c 'import numpy'`, ms")):
    r = hf(case)
    if r: rows.append((label, r['native']['mean'] * 1e3, [r[m]['mean'] * 1e3 if m in r else None for m in MODES]))
fmt = lambda v, nat: '—' if v is None else '%.2f (%.2f×)' % (v, v / nat)
table = ['| case | native | collrun | ratio | passthrough | strace |', '|---|---:|---:|---:|---:|---:|']
for label, nat, (c, p, s) in rows:
    table.append('| %s | %.2f | %.2f | %.2f× | %s | %s |' % (label, nat, c, c / nat, fmt(p, nat), fmt(s, nat)))
open_over = c0('collrun') - c0('native')
ratios = [c / nat for label, nat, (c, p, s) in rows if label.startswith('`')]
true_over = [c - nat for label, nat, (c, p, s) in rows if label.startswith('start-up of /bin/true')]
m, idle = mem['mem'], mem['idle']
resident = m['VmHWM'] - m['RssShmem'] + m['memfd_bytes']   # memfd pages counted once
limit = cached + 16 * 2**20
ok = lambda b: '**met**' if b else '**not met**'
MiB = lambda b: '%.1f MiB' % (b / 2**20)
cpu = open('/proc/cpuinfo').read(); model = re.search(r'model name\s*:\s*(.*)', cpu)
commit = subprocess.run(['git', '-C', os.path.dirname(OUT), 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
md = f"""<!-- Generated by bench/run-micro.sh (`make bench`); rerun to refresh. Do not edit by hand. -->
# collrun benchmark results

- Command: `make bench` (= `bench/run-micro.sh`; env `N`, `REPS`, `RUNS` change the sizes below)
- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}; collrun commit {commit or 'unknown'}
- Machine: Linux {platform.release()}, {os.cpu_count()} CPUs, {model.group(1) if model else platform.machine()}

micro (`build/bench/micro`): {runs['native'][0]['n']} calls per case, median of {len(runs['native'])} processes (strace: 1).
Start-up: `hyperfine -N`, 3 warm-up runs, mean of {len(hf('pass').get('native', {}).get('times', []))} runs. Ratios are against native,
measured in the same run. strace is `strace -f --seccomp-bpf -e trace=openat,newfstatat,stat -o /dev/null`.
In the micro run collrun served {mstats['served']} of {mstats['trapped']} trapped calls; its openat+close
ranged {spread('collrun')} µs/call across processes (pinned: {spread('collrun-cpu0')} µs).

{chr(10).join(table)}

## Targets

| target | measured | verdict |
|---|---|---|
| served open ≤ 5 µs over native | +{open_over:.2f} µs per openat+close (pinned to one CPU: +{c0('collrun-cpu0') - c0('native-cpu0'):.2f} µs) | {ok(open_over <= 5)} |
| python3 start-up ≤ 1.15× native | {', '.join('%.2f×' % r for r in ratios)} (pass{', numpy' if len(ratios) > 1 else ''}) | {ok(ratios and max(ratios) <= 1.15)} |
| `collrun -- /bin/true` ≤ 1.5 ms over native (issue 12) | {'+%.2f ms' % true_over[0] if true_over else 'not measured'} | {ok(true_over and true_over[0] <= 1.5)} |
| supervisor resident ≤ cached bytes + 16 MiB (after `import {MOD}`) | {MiB(resident)} (peak RSS {MiB(m['VmHWM'])} + memfd {MiB(m['memfd_bytes'])}) vs {MiB(cached)} + 16 MiB | {ok(resident <= limit)} |
| idle supervisor uses no CPU (job sleeps 2 s) | {idle['ticks']} ticks, {idle['cpu_ns'] / 1e3:.0f} µs CPU, {idle['ctxt_switches']} wake-up(s) | {ok(idle['ticks'] == 0)} |
"""
open(OUT, 'w').write(md)
print(md)
EOF
