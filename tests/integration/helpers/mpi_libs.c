/* mpi_libs — an MPI rank whose six libraries (libnsa..libnsf, built by node_share_mpi.sh)
 * are found only through LD_LIBRARY_PATH on slowfs: prints "rank R of N sum=S libs=L",
 * where S is an MPI_Allreduce (the ranks were wired to each other) and L adds up a value
 * from every library (each was loaded and ran). */
#include <mpi.h>
#include <stdio.h>

int nsa(void), nsb(void), nsc(void), nsd(void), nse(void), nsf(void);

int main(int argc, char **argv)
{
	int rank, size, sum = 0;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	printf("rank %d of %d sum=%d libs=%d\n", rank, size, sum, nsa() + nsb() + nsc() + nsd() + nse() + nsf());
	MPI_Finalize();
	return 0;
}
