#!/bin/bash
# bench/run-scaling.sh — N ranks (mpiexec -n N, one host, oversubscribed) start a python job
# whose files live on slowfs; records the wall time of the whole mpiexec and slowfs's
# operation counts (total and by type) in five modes:
#   native   mpiexec -n N CMD
#   perrank  mpiexec -n N collrun --no-share --cache=MNT -- CMD    one supervisor and cache
#            PER RANK: what every rank got before node sharing (issue 10)
#   collrun  mpiexec -n N collrun --cache=MNT -- CMD    the ranks share one node supervisor
#            and cache (the job is found from hydra's proxy)
#   vnodes   the same with COLLRUN_NODE_ID=PMI_RANK%VNODES: VNODES (4) "virtual nodes", each
#            its own node supervisor and cache, as VNODES hosts would have without broadcast
#   session  the vnodes mode joined to a fresh `collrun --start-session -n VNODES` (not run by
#            default: MODES=... session): misses asked of one root, published to every node
#   shared   collrun --cache=MNT -- mpiexec -n N CMD    ONE supervisor for every rank, around
#            mpiexec (possible only because all ranks run on this host)
# Two workloads: the genlibs driver (make workload K= M=) and `import numpy` from a copy of
# numpy on slowfs (PYTHONPATH). Writes data and a markdown fragment into OUT.
#
# slowfs serves one request at a time (max_threads=1) and sleeps DELAY µs per request: a
# metadata server with a fixed rate, which is what the scaling model (doc/SCALING.md) assumes.
#
# Env: BUILD (./build), COLLRUN ($BUILD/collrun), NS ("1 2 4 8 16 32"), DELAY (200 µs),
# REPS (3; medians are reported), K (40), M (20), THREADS (slowfs max_threads, 1),
# WORKLOADS ("driver numpy"), MODES ("native perrank collrun vnodes shared"), VNODES (4),
# OUT ($BUILD/bench/scaling).
# Exit 0 with "SKIP: …" (and a fragment saying so) when /dev/fuse or mpiexec is missing.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(mkdir -p "${BUILD:-$SRC/build}" && cd "${BUILD:-$SRC/build}" && pwd)
COLLRUN=${COLLRUN:-$BUILD/collrun}
NS=${NS:-1 2 4 8 16 32} DELAY=${DELAY:-200} REPS=${REPS:-3} K=${K:-40} M=${M:-20}
THREADS=${THREADS:-1} WORKLOADS=${WORKLOADS:-driver numpy} OUT=${OUT:-$BUILD/bench/scaling}
MODES=${MODES:-native perrank collrun vnodes shared} VNODES=${VNODES:-4}
PY=/usr/bin/python3
say() { printf '== %s\n' "$*" >&2; }
rm -rf "$OUT"; mkdir -p "$OUT"
CMDLINE="NS='$NS' DELAY=$DELAY REPS=$REPS K=$K M=$M THREADS=$THREADS VNODES=$VNODES bench/run-scaling.sh"
skip() {   # the reason goes to the terminal and into the fragment RESULTS.md includes
	echo "SKIP: $1"
	printf '**Skipped** on this machine: %s (`%s`).\n' "$1" "$CMDLINE" >"$OUT/scaling.md"
	exit 0; }
[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3 (apt-get install fuse3)"
command -v mpiexec >/dev/null || skip "no mpiexec (apt-get install mpich)"

# Build what is missing: collrun, slowfs, the workload (its own folder per size, so the
# quick and full sizes and a hand-made build/workload do not rebuild each other).
[ -x "$COLLRUN" ] || make -C "$SRC" --no-print-directory BUILD="$BUILD" "$COLLRUN"
[ -x "$BUILD/bench/slowfs/slowfs" ] || make -C "$SRC" --no-print-directory BUILD="$BUILD" slowfs >&2
WLB=$BUILD/bench/wl-K$K-M$M
say "workload K=$K M=$M in $WLB/workload"
make -C "$SRC" --no-print-directory BUILD="$BUILD" WORKLOAD_BUILD="$WLB" workload K="$K" M="$M" >"$OUT/workload-build.log" 2>&1 \
	|| { cat "$OUT/workload-build.log" >&2; exit 1; }
NPSRC=$BUILD/bench/pyroot              # numpy copied as-is (its __pycache__ too)
NPDIR=$("$PY" -c 'import numpy, os; print(os.path.dirname(numpy.__file__))' 2>/dev/null) || NPDIR=
if [[ " $WORKLOADS " == *" numpy "* ]]; then
	if [ -z "$NPDIR" ]; then say "no numpy for $PY: numpy workload skipped"; WORKLOADS=${WORKLOADS//numpy/}
	elif [ ! -d "$NPSRC/numpy" ]; then rm -rf "$NPSRC"; mkdir -p "$NPSRC"; cp -a "$NPDIR" "$NPSRC/"; fi
fi

# Mount one slowfs per workload; unmount on any exit.
# Each timed command runs in a session of its own (setsid), waited for with `wait`, so that
# Ctrl-C or TERM reaches this script at once (MPICH's mpiexec catches SIGINT and exits 0, so
# bash would not act on it), which then ends that whole session and unmounts.
MNTS=() CHILD=
cleanup() { local m; for m in "${MNTS[@]}"; do "$SRC/bench/slowfs/umount.sh" "$m" >&2 || true; done; }
stop() { trap - INT TERM HUP; echo "run-scaling.sh: interrupted" >&2
	[ -z "$CHILD" ] || { kill -TERM -- "-$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; }; exit 130; }
trap cleanup EXIT
trap stop INT TERM HUP
timed() {   # timed ERRFILE CMD...
	local rc=0 err=$1; shift; setsid "$@" </dev/null 2>"$err" & CHILD=$!; wait "$CHILD" || rc=$?; CHILD=; return $rc; }
mnt() {   # mnt SRC MNT
	local rc=0
	SLOWFS_OPTS=max_threads=$THREADS SLOWFS=$BUILD/bench/slowfs/slowfs \
		"$SRC/bench/slowfs/mount.sh" "$1" "$2" "$DELAY" >"$OUT/mount.log" 2>&1 || rc=$?
	[ $rc = 77 ] && skip "$(sed -n 's/^SKIP: //p' "$OUT/mount.log")"
	[ $rc = 0 ] || { cat "$OUT/mount.log" >&2; exit 1; }
	MNTS+=("$2"); }
MNT_driver=$BUILD/bench/scaling-mnt/driver MNT_numpy=$BUILD/bench/scaling-mnt/numpy
for w in $WORKLOADS; do
	case $w in driver) mnt "$WLB/workload" "$MNT_driver" ;; numpy) mnt "$NPSRC" "$MNT_numpy" ;;
	*) echo "run-scaling.sh: unknown workload $w" >&2; exit 2 ;; esac
done

# One run: reset the counters, time the whole mpiexec, read the counters, check the output.
# Each rank starts as /bin/sh -c 'exec CMD >OUT.$PMI_RANK' (PMI_RANK is set by MPICH's hydra,
# whose merged stdout may split lines) in every mode, so all modes pay the same; collrun
# statistics go to $st.stats.RANK (one per rank; with node sharing each rank's file holds its
# node supervisor's counts when that rank ended) or $st.stats.0 (shared: one supervisor).
# (collrun writes the table only: its last line is "collrun-stats: trapped=N …".)
cmd_of() { case $1 in
	driver) echo "$PY $MNT_driver/driver.py" ;;
	numpy) echo "PYTHONPATH=$MNT_numpy $PY -c 'import numpy; print(numpy.__file__)'" ;; esac; }
run() {   # run WORKLOAD N MODE REP
	local w=$1 n=$2 mode=$3 rep=$4 mnt cmd t0 t1 st=$OUT/runs/$1-$2-$3-$4
	local v=MNT_$w; mnt=${!v}; mkdir -p "$OUT/runs"
	case $w in driver) cmd=("$PY" "$mnt/driver.py") ;;
		   numpy) cmd=(env PYTHONPATH="$mnt" "$PY" -c 'import numpy; print(numpy.__file__)') ;; esac
	local rank=(/bin/sh -c 'o=$0; exec "$@" >"$o.out.$PMI_RANK"' "$st")
	: >"$mnt/.slowfs-stats"
	t0=$EPOCHREALTIME
	case $mode in
	native) timed "$st.err" mpiexec -n "$n" "${rank[@]}" "${cmd[@]}" ;;
	perrank|collrun|vnodes|session)
		local opt=--share vn=0 sid=
		[ "$mode" = perrank ] && opt=--no-share
		[ "$mode" = vnodes ] && vn=$VNODES
		if [ "$mode" = session ]; then   # a fresh session per run: its members keep what they read
			sid=$("$COLLRUN" --start-session -n "$VNODES" 2>"$st.session.err") ||
				{ echo "run-scaling.sh: cannot start a session:" >&2; cat "$st.session.err" >&2; exit 1; }
			vn=$VNODES opt=--session=$sid
		fi
		timed "$st.err" mpiexec -n "$n" /bin/sh -c 'o=$0 c=$1 m=$2 opt=$3 vn=$4; shift 4
			[ "$vn" = 0 ] || export COLLRUN_NODE_ID=$((PMI_RANK % vn))
			[ "$opt" = --share ] && set -- "$@" || set -- "$opt" "$@"
			exec "$c" --cache="$m" --stats-file="$o.stats.$PMI_RANK" "$@" >"$o.out.$PMI_RANK"' \
			"$st" "$COLLRUN" "$mnt" "$opt" "$vn" -- "${cmd[@]}"
		local rc=$?
		[ -z "$sid" ] || "$COLLRUN" --end-session="$sid" 2>>"$st.session.err"
		(exit "$rc") ;;
	shared) timed "$st.err" "$COLLRUN" --cache="$mnt" --stats-file="$st.stats.0" -- mpiexec -n "$n" "${rank[@]}" "${cmd[@]}" ;;
	esac || { echo "run-scaling.sh: $w N=$n $mode failed:" >&2; cat "$st.err" >&2; exit 1; }
	t1=$EPOCHREALTIME
	cat "$st".out.* >"$st.out"
	local ops; ops=$(cat "$mnt/.slowfs-stats")
	# every rank must print the right thing: the driver's checksum, numpy's path on slowfs
	local good; good=$(case $w in driver) grep -c '^genlibs checksum=' "$st.out" ;;
		numpy) grep -c "^$mnt/numpy/__init__.py$" "$st.out" ;; esac) || true
	[ "$good" = "$n" ] || { echo "run-scaling.sh: $w N=$n $mode: $good of $n ranks gave the expected output" >&2; cat "$st.out" "$st.err" >&2; exit 1; }
	[ "$w" != driver ] || [ "$(sort -u "$st.out" | wc -l)" = 1 ] || { echo "run-scaling.sh: driver checksums differ" >&2; exit 1; }
	local cs=""
	if [ "$mode" != native ]; then
		local f; cs=$(for f in "$st".stats.*; do echo "rank=${f##*.} $(grep '^collrun-stats:' "$f")"; done | tr '\n' ' ')
		[ "$(grep -o 'collrun-stats:' <<<"$cs" | wc -l)" = "$([ "$mode" = shared ] && echo 1 || echo "$n")" ] \
			|| { echo "run-scaling.sh: $w N=$n $mode: missing collrun statistics" >&2; exit 1; }
	fi
	[ "$rep" = 0 ] || printf 'workload=%s n=%s mode=%s rep=%s wall_s=%s %s ranks_stats: %s\n' "$w" "$n" "$mode" "$rep" \
		"$(awk "BEGIN{printf \"%.3f\", $t1 - $t0}")" "$ops" "$cs" >>"$OUT/raw.txt"
	say "$w N=$n $mode rep $rep: $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s, $(sed 's/.*total=\([0-9]*\).*/\1/' <<<"$ops") slowfs ops"
}
T0=$EPOCHREALTIME
for w in $WORKLOADS; do
	for mode in $MODES; do run "$w" 1 "$mode" 0; done     # warm-up (rep 0: not recorded)
	for ((r = 1; r <= REPS; r++)); do
		for n in $NS; do for mode in $MODES; do run "$w" "$n" "$mode" "$r"; done; done
	done
done
SECS=$(awk "BEGIN{printf \"%.0f\", $EPOCHREALTIME - $T0}")

# Summary: one .dat per workload for gnuplot, a table file and the markdown fragment.
"$PY" - "$OUT" "$CMDLINE" "$DELAY" "$THREADS" "$K" "$M" "$REPS" "$SECS" "$(cmd_of driver)" "$(cmd_of numpy)" "$SRC" "$VNODES" <<'EOF'
import re, sys
OUT, CMDLINE, DELAY, THREADS, K, M, REPS, SECS, CMD_DRIVER, CMD_NUMPY, SRC, VNODES = sys.argv[1:]
VNODES = int(VNODES)
kv = lambda s: {k: v for k, v in re.findall(r'(\w+)=(\S+)', s)}
agg = {}
for line in open(OUT + '/raw.txt'):
    head, _, stats = line.partition(' ranks_stats: ')
    r = kv(head)
    r['sup'] = [kv(x) for x in re.split(r'(?=rank=)', stats) if 'trapped=' in x]
    agg.setdefault((r['workload'], int(r['n']), r['mode']), []).append(r)
def med(xs):
    xs = sorted(xs); h = len(xs) // 2
    return xs[h] if len(xs) % 2 else (xs[h - 1] + xs[h]) / 2
has = lambda w, n, mode: (w, n, mode) in agg
m = lambda w, n, mode, key: med([float(r[key]) for r in agg[(w, n, mode)]])
# collrun statistics summed over the run's supervisors, median over reps. With node sharing
# every rank's file holds its node supervisor's counts when that rank ended: the node's is the
# largest of them (nodes: 1 for collrun, rank % VNODES for vnodes); otherwise one per rank.
def supsum(mode, stats):
    if mode not in ('collrun', 'vnodes', 'session'):
        return lambda key: sum(int(x[key]) for x in stats)
    node = (lambda x: 0) if mode == 'collrun' else (lambda x: int(x['rank']) % VNODES)
    return lambda key: sum(max(int(x[key]) for x in stats if node(x) == k) for k in {node(x) for x in stats})
sup = lambda w, n, mode, key: med([supsum(mode, r['sup'])(key) for r in agg[(w, n, mode)]])
TYPES = ['lookup', 'getattr', 'open', 'read', 'readdir', 'opendir', 'release', 'releasedir', 'readlink', 'access', 'statfs']
works = [w for w in ('driver', 'numpy') if any(k[0] == w for k in agg)]
modes = [mo for mo in ('native', 'perrank', 'collrun', 'vnodes', 'session', 'shared') if any(k[2] == mo for k in agg)]
NS = sorted({k[1] for k in agg})
CMDS = {'driver': CMD_DRIVER.replace(SRC + '/', ''), 'numpy': CMD_NUMPY.replace(SRC + '/', '')}
TITLE = {'driver': 'genlibs driver (K=%s libraries, M=%s extensions, %s python modules)' % (K, M, 2 * int(M)),
         'numpy': '`import numpy` with numpy copied onto slowfs (PYTHONPATH)'}
LABEL = {'native': 'native', 'perrank': 'collrun per rank', 'collrun': 'node supervisor',
         'vnodes': f'{VNODES} virtual nodes', 'session': f'{VNODES} virtual nodes, session',
         'shared': 'one collrun for all'}
md = [f"""Command: `{CMDLINE}` ({SECS} s). Ways to start N ranks of CMD, all on this one host:

| mode | command | supervisors and caches |
|---|---|---|
| native | `mpiexec -n N CMD` | none |
| collrun per rank | `mpiexec -n N collrun --no-share --cache=MNT --stats-file=… -- CMD` | N: one per rank — what every rank got before node sharing |
| node supervisor | `mpiexec -n N collrun --cache=MNT --stats-file=… -- CMD` | 1: the ranks of the job on this node share one node supervisor (issue 10) |
| {VNODES} virtual nodes | the same with `COLLRUN_NODE_ID=$((PMI_RANK % {VNODES}))` | {VNODES}: one node supervisor per virtual node — what {VNODES} hosts get without broadcast between them |
| one collrun for all | `collrun --cache=MNT --stats-file=… -- mpiexec -n N CMD` | 1 around mpiexec — possible only because every rank runs on this host |

In every mode each rank starts as `/bin/sh -c 'exec CMD >OUT.$PMI_RANK'` (its own output file;
every rank's output is checked). slowfs delays each request {DELAY} µs and serves {THREADS} request(s)
at a time, with the kernel's dentry/attribute/page caches off, so it behaves like one metadata
server with a fixed rate that every rank pays. Ops are slowfs's own counts (reset before, read after
each mpiexec); time is the wall time of the whole command. Medians of {REPS} repetition(s), after one
unrecorded warm-up at N=1 per mode. `ops/s` = native slowfs operations ÷ native wall time: the
rate this one-request-at-a-time "server" really delivers ({DELAY} µs of sleep plus the FUSE round trip).

With one supervisor per rank the counts fall only by what one process repeats and still grow
linearly with N. The node supervisor makes them flat with N on one node; with {VNODES} virtual nodes
each node pays once, so the job pays about {VNODES}× one rank until the broadcast between nodes
(planned, doc/SCALING.md models it) makes every node but one read nothing.
"""]
for w in works:
    md.append(f"### {TITLE[w]}\n\nCMD: `{CMDS[w]}`\n")
    hdr = ['N', 'native ops', 'ops/rank'] + sum(([f'{LABEL[mo]}: ops', '×native'] for mo in modes[1:]), []) \
        + [f'{LABEL[mo]}: s' for mo in modes] + ['ops/s']
    md.append('| ' + ' | '.join(hdr) + ' |')
    md.append('|' + '---:|' * len(hdr))
    with open(f'{OUT}/scaling-{w}.dat', 'w') as f:
        f.write('# N native_ops collrun_ops native_s collrun_s shared_ops shared_s perrank_ops perrank_s vnodes_ops vnodes_s ("-": mode not run)\n')
        for n in NS:
            get = lambda mo, key: m(w, n, mo, key) if has(w, n, mo) else None
            no, ns = get('native', 'total'), get('native', 'wall_s')
            cells = [n, '%.0f' % no, '%.0f' % (no / n)]
            for mo in modes[1:]:
                cells += ['%.0f' % get(mo, 'total'), '%.2f' % (get(mo, 'total') / no)]
            cells += ['%.2f' % get(mo, 'wall_s') for mo in modes] + ['%.0f' % (no / ns)]
            md.append('| ' + ' | '.join(map(str, cells)) + ' |')
            fmt = lambda v, p: '-' if v is None else p % v
            f.write(' '.join([str(n), fmt(no, '%.0f'), fmt(get('collrun', 'total'), '%.0f'), fmt(ns, '%.3f'),
                              fmt(get('collrun', 'wall_s'), '%.3f'), fmt(get('shared', 'total'), '%.0f'),
                              fmt(get('shared', 'wall_s'), '%.3f'), fmt(get('perrank', 'total'), '%.0f'),
                              fmt(get('perrank', 'wall_s'), '%.3f'), fmt(get('vnodes', 'total'), '%.0f'),
                              fmt(get('vnodes', 'wall_s'), '%.3f')]) + '\n')
    nmax = NS[-1]
    for mo in ('collrun', 'vnodes', 'session'):
        if has(w, NS[0], mo) and has(w, nmax, mo):
            r = m(w, nmax, mo, 'total') / m(w, NS[0], mo, 'total')
            md.append(f'\n{LABEL[mo]}: N={nmax} costs {r:.2f}× the slowfs operations of N={NS[0]} '
                      f'(issue 10\'s target for a job on one node, and with broadcast on many: ≤ 1.1×): '
                      f'**{"met" if r <= 1.1 else "not met"}**' + ('' if mo != 'vnodes' else
                      f' — without broadcast each of the {VNODES} virtual nodes reads for itself'))
    md.append(f'\nslowfs operations by type at N={nmax} (median; `enoent` = look-ups of missing names; `MiB` = file '
              f'data read: collrun reads more because on FUSE it copies each whole file it opens into a memfd, once '
              f'per supervisor, where the native loader reads only the pages it maps):\n')
    types = [t for t in TYPES if any(m(w, nmax, mo, t) for mo in modes)]
    md.append('| mode | ' + ' | '.join(types) + ' | enoent | total | MiB |')
    md.append('|---|' + '---:|' * (len(types) + 3))
    for mo in modes:
        md.append(f'| {LABEL[mo]} | ' + ' | '.join('%.0f' % m(w, nmax, mo, t) for t in types) +
                  ' | %.0f | %.0f | %.1f |' % (m(w, nmax, mo, 'enoent'), m(w, nmax, mo, 'total'), m(w, nmax, mo, 'bytes') / 2**20))
    KEYS = ('trapped', 'served', 'filled', 'passed', 'negative', 'files', 'fsops')
    md.append('\ncollrun\'s own statistics (summed over the supervisors of a run, then per rank):\n')
    md.append('| mode | N | ' + ' | '.join(KEYS) + ' | trapped/rank | served/rank |')
    md.append('|---|---:|' + '---:|' * (len(KEYS) + 2))
    for mo in modes[1:]:
        for n in (NS[0], nmax):
            md.append(f'| {LABEL[mo]} | {n} | ' + ' | '.join('%.0f' % sup(w, n, mo, k) for k in KEYS) +
                      ' | %.0f | %.0f |' % (sup(w, n, mo, 'trapped') / n, sup(w, n, mo, 'served') / n))
    md.append('')
open(OUT + '/scaling.md', 'w').write('\n'.join(md) + '\n')
print('\n'.join(md))
EOF
