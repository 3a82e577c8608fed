/* MPI_Abort test helper (node_share.sh): every rank reads ARGV[1] (a file the policy
 * caches, so the node supervisor serves it) and says so in the file ARGV[2].RANK (not on
 * stdout: hydra may drop what it has not forwarded yet when it ends the job), then rank 1
 * aborts the job with code 7 while the others wait in a barrier that never completes:
 * hydra must end them all. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int rank;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	FILE *f = argc > 2 ? fopen(argv[1], "r") : NULL;
	char name[4096];
	snprintf(name, sizeof name, "%s.%d", argc > 2 ? argv[2] : "mpi_abort", rank);
	FILE *out = fopen(name, "w");
	if (out) {
		fprintf(out, "rank %d read %s: %s\n", rank, argc > 1 ? argv[1] : "nothing", f ? "ok" : "failed");
		fclose(out);
	}
	if (f)
		fclose(f);
	if (rank == 1)
		MPI_Abort(MPI_COMM_WORLD, 7);
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_Finalize();
	return 0;
}
