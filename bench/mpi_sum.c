/* The gradient sum of data-parallel training, alone: how long summing a
 * float vector over the ranks takes, by the method src/mpi/mpi.c uses
 * (reduce-scatter, then all-gather) and by MPI_Allreduce, for sizes from a
 * few bytes to W1's 0.94 MB and beyond. Prints one JSON line per size
 * (rank 0): median microseconds of each method and the bus bandwidth
 * 2 (N-1)/N x bytes / time, the figure the cost model of docs/SCALING.md
 * uses.
 *
 *   mpiexec -n N mpi_sum [REPS]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp);
    return t[n / 2];
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size, reps = argc > 1 ? atoi(argv[1]) : 200;
    if (reps < 1) reps = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    static const size_t counts[] = {1, 256, 4096, 65536, 235146, 1048576, 4194304};
    double *t1 = malloc((size_t)reps * sizeof(double)), *t2 = malloc((size_t)reps * sizeof(double));
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        size_t n = counts[c], block = (n + (size_t)size - 1) / (size_t)size;
        float *v = calloc(block * (size_t)size, sizeof(float));
        for (int r = 0; r < reps + 5; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double a = MPI_Wtime();
            MPI_Reduce_scatter_block(MPI_IN_PLACE, v, (int)block, MPI_FLOAT, MPI_SUM,
                                     MPI_COMM_WORLD);
            if (rank) memmove(v + block * (size_t)rank, v, block * sizeof(float));
            MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, v, (int)block, MPI_FLOAT,
                          MPI_COMM_WORLD);
            double b = MPI_Wtime();
            MPI_Barrier(MPI_COMM_WORLD);
            double c0 = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double d = MPI_Wtime();
            if (r >= 5) t1[r - 5] = b - a, t2[r - 5] = d - c0;
        }
        double m1 = median(t1, reps), m2 = median(t2, reps);
        double bytes = (double)n * sizeof(float), moved = 2.0 * (size - 1) / size * bytes;
        if (rank == 0)
            printf("{\"ranks\": %d, \"floats\": %zu, \"bytes\": %.0f, \"rs_ag_us\": %.2f, "
                   "\"allreduce_us\": %.2f, \"rs_ag_busbw_gbs\": %.3f}\n",
                   size, n, bytes, m1 * 1e6, m2 * 1e6, m1 > 0 ? moved / m1 / 1e9 : 0.0);
        free(v);
    }
    free(t1);
    free(t2);
    MPI_Finalize();
    return 0;
}
