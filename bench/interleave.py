#!/usr/bin/env python3
"""bench/interleave.py ROUNDS CMD [CMD...] — A/B timing on a noisy machine: the commands
are started in turn, one round after another (never all runs of one and then the next, so
drift of the machine hits each alike), after 3 rounds of warm-up; prints each command's
median and 25th percentile wall time in ms and its ratio to the first command.
Each CMD is one string, split like a shell would (shlex); standard output goes to /dev/null.
Example: bench/interleave.py 40 '/usr/bin/python3 -c pass' 'build/collrun -- /usr/bin/python3 -c pass'"""
import os, shlex, statistics, sys, time


def run(argv, devnull):
    t = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f'interleave: {shlex.join(argv)} failed ({os.waitstatus_to_exitcode(status)})')
    return (time.perf_counter() - t) * 1e3


def main():
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        sys.exit(__doc__)
    rounds, cmds = int(sys.argv[1]), [shlex.split(c) for c in sys.argv[2:]]
    devnull = os.open(os.devnull, os.O_WRONLY)
    for _ in range(3):
        for c in cmds:
            run(c, devnull)
    times = [[] for _ in cmds]
    for _ in range(rounds):
        for i, c in enumerate(cmds):
            times[i].append(run(c, devnull))
    base = statistics.median(times[0])
    for c, t in zip(sys.argv[2:], times):
        t.sort()
        m = statistics.median(t)
        print(f'{c[:70]:70} median {m:9.3f} ms  p25 {t[len(t) // 4]:9.3f}  x{m / base:.3f}')


main()
