/* bench/micro: per-call cost of the look-ups collrun serves. Times N openat+close of FILE,
 * N stat of FILE and N stat of MISSING (a name absent from a cached folder), REPS times
 * each, and prints the median microseconds per call on one line that scripts parse:
 *   micro: n=N reps=R openat_close_us=X stat_us=Y stat_missing_us=Z
 * Usage: micro [-n N] [-r REPS] [-f DIR -k K] [FILE [MISSING]]  (default /usr/lib/os-release).
 * With -f, also the first stat of each of DIR/f00000 … f(K-1) (under collrun: a fill, the
 * name's first look-up) and then a second one (a hit), µs per call, added to the line as
 * stat_fill_us= and stat_refill_hit_us=. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "timing.h"

enum { OP_OPEN, OP_STAT, OP_MISSING };

/* One call of the operation; exits on an unexpected result so a broken run never times. */
static void once(int op, const char *path)
{
	struct stat st;
	if (op == OP_OPEN) {
		int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || close(fd) < 0)
			perror(path), exit(1);
	} else if (op == OP_STAT) {
		if (stat(path, &st) < 0)
			perror(path), exit(1);
	} else if (stat(path, &st) == 0 || errno != ENOENT) {
		fprintf(stderr, "micro: %s: expected ENOENT\n", path);
		exit(1);
	}
}

static double median_us(int op, const char *path, long n, int reps)
{
	double r[reps];
	once(op, path); /* warm: the first look-up fills collrun's cache */
	for (int k = 0; k < reps; k++) {
		double t0 = now_us();
		for (long i = 0; i < n; i++)
			once(op, path);
		r[k] = (now_us() - t0) / n;
	}
	return median(r, reps);
}

/* Each of DIR/f00000 … f(k-1) once: µs per stat. */
static double each_once_us(const char *dir, long k)
{
	char p[4096];
	struct stat st;
	double t0 = now_us();
	for (long i = 0; i < k; i++) {
		snprintf(p, sizeof p, "%s/f%05ld", dir, i);
		if (stat(p, &st) < 0)
			perror(p), exit(1);
	}
	return (now_us() - t0) / k;
}

int main(int argc, char **argv)
{
	long n = 100000, k = 0;
	int reps = 3, c;
	const char *fill_dir = NULL;
	while ((c = getopt(argc, argv, "n:r:f:k:")) != -1) {
		if (c == 'n')
			n = atol(optarg);
		else if (c == 'r')
			reps = atoi(optarg);
		else if (c == 'f')
			fill_dir = optarg;
		else if (c == 'k')
			k = atol(optarg);
		else
			return fprintf(stderr, "usage: micro [-n N] [-r REPS] [-f DIR -k K] [FILE [MISSING]]\n"), 2;
	}
	if (fill_dir && k < 1)
		return fprintf(stderr, "micro: -f needs -k K >= 1\n"), 2;
	if (n < 1 || reps < 1 || reps > 99)
		return fprintf(stderr, "micro: bad -n or -r\n"), 2;
	const char *file = optind < argc ? argv[optind] : "/usr/lib/os-release";
	const char *missing = optind + 1 < argc ? argv[optind + 1] : "/usr/lib/collrun-bench-missing";
	double o = median_us(OP_OPEN, file, n, reps);
	double s = median_us(OP_STAT, file, n, reps);
	double m = median_us(OP_MISSING, missing, n, reps);
	printf("micro: n=%ld reps=%d openat_close_us=%.3f stat_us=%.3f stat_missing_us=%.3f", n, reps, o, s, m);
	if (fill_dir) {
		double fill = each_once_us(fill_dir, k);
		printf(" stat_fill_us=%.3f stat_refill_hit_us=%.3f", fill, each_once_us(fill_dir, k));
	}
	printf("\n");
	return 0;
}
