/* mpi_hello — an MPI rank for the Slurm tests (tests/integration/slurm.sh).
 *   mpi_hello        stdout: "rank R of N sum=S" (S: an MPI_Allreduce of every rank's
 *                    number, so the line proves the ranks were wired to each other, not
 *                    just handed PMI variables); stderr: "slurm R job=J step=T mpi=M"
 *                    (the job identity srun gives each rank, which differs run to run)
 *   mpi_hello wait   the same lines, "ready R" on stdout, then waits until a signal ends
 *                    it (the rank a test cancels with scancel).
 * Built by the test with mpicc. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v ? v : "-";
}

int main(int argc, char **argv) {
    int rank, size, sum = 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    printf("rank %d of %d sum=%d\n", rank, size, sum);
    fprintf(stderr, "slurm %d job=%s step=%s mpi=%s\n", rank, env("SLURM_JOB_ID"),
            env("SLURM_STEP_ID"), env("SLURM_MPI_TYPE"));
    if (argc > 1 && strcmp(argv[1], "wait") == 0) {
        printf("ready %d\n", rank);
        fflush(stdout);
        for (;;) pause();
    }
    fflush(stdout);
    MPI_Finalize();
    return 0;
}
