/* plain_bcast.c — the yardstick for bench/run-bcast.sh: one plain MPI_Bcast of a file's
 * bytes from rank 0 to every rank, timed like collrun-session --bench times its stream
 * (barrier, broadcast into a freshly allocated buffer, slowest rank's time), one warm-up
 * then reps times.
 * usage: mpiexec -n K plain_bcast FILE [REPS] */
#include <fcntl.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	int rank;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	if (argc < 2) {
		if (!rank)
			fprintf(stderr, "usage: plain_bcast FILE [REPS]\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	int reps = argc > 2 ? atoi(argv[2]) : 3;
	uint64_t len = 0;
	char *src = NULL;
	if (!rank) {   /* the root's bytes are in memory before timing, as in the stream's bench */
		int fd = open(argv[1], O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			MPI_Abort(MPI_COMM_WORLD, 1);
		len = (uint64_t)st.st_size;
		src = malloc(len ? len : 1);
		for (uint64_t got = 0; got < len;) {
			ssize_t k = read(fd, src + got, len - got);
			if (k <= 0)
				MPI_Abort(MPI_COMM_WORLD, 1);
			got += (uint64_t)k;
		}
		close(fd);
	}
	MPI_Bcast(&len, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
	if (len > 0x7fffffff) {
		if (!rank)
			fprintf(stderr, "plain_bcast: %llu bytes do not fit one MPI count\n", (unsigned long long)len);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	for (int i = -1; i < reps; i++) {   /* rep -1 warms up, as collrun-session --bench does */
		/* A receiver gets fresh memory each time, as a stream receiver does for each file. */
		char *buf = rank ? malloc(len ? len : 1) : src;
		MPI_Barrier(MPI_COMM_WORLD);
		double t0 = now();
		MPI_Bcast(buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
		double dt = now() - t0, mx;
		MPI_Reduce(&dt, &mx, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
		if (!rank)
			printf("bench plain rep=%d bytes=%llu seconds=%.4f mib_s=%.1f\n", i, (unsigned long long)len,
			       mx, len / 1048576.0 / mx);
		if (rank)
			free(buf);
	}
	free(src);
	MPI_Finalize();
	return 0;
}
