/* bench/nocalls: what collrun costs a program that makes no file calls. Times N getpid()
 * calls (never trapped: the kernel's seccomp cache allows them without running the filter)
 * and a pure CPU loop, REPS times each, and prints the medians on one line:
 *   nocalls: n=N getpid_ns=X cpu_loop_ms=Y
 * -f first installs a seccomp filter that allows everything: the least any seccomp-based
 * tool adds to each system call (the kernel's entry path with a filter attached).
 * Usage: nocalls [-f] [-n N] [-r REPS] */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "timing.h"

int main(int argc, char **argv)
{
	long n = 1000000;
	int reps = 5, c;
	while ((c = getopt(argc, argv, "fn:r:")) != -1) {
		if (c == 'f') {
			struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
			struct sock_fprog prog = { 1, &allow };
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
			    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
				return perror("nocalls: seccomp"), 1;
		} else if (c == 'n')
			n = atol(optarg);
		else if (c == 'r')
			reps = atoi(optarg);
		else
			return fprintf(stderr, "usage: nocalls [-f] [-n N] [-r REPS]\n"), 2;
	}
	if (n < 1 || reps < 1 || reps > 99)
		return fprintf(stderr, "nocalls: bad -n or -r\n"), 2;
	double g[reps], l[reps];
	volatile uint64_t sink = 0;
	for (int k = 0; k < reps; k++) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++)
			sink += syscall(SYS_getpid);   /* not glibc's: it may not enter the kernel */
		g[k] = (now_ns() - t0) / n;
		t0 = now_ns();
		uint64_t x = 88172645463325252ull;
		for (long i = 0; i < 20 * n; i++) {   /* xorshift: no memory, no calls */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		sink += x;
		l[k] = (now_ns() - t0) / 1e6;
	}
	printf("nocalls: n=%ld getpid_ns=%.1f cpu_loop_ms=%.3f\n", n, median(g, reps), median(l, reps));
	return sink == 42;   /* keeps the loops */
}
