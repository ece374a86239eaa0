/* The gradient sum of data-parallel training, alone: how long summing a
 * float vector over the ranks takes, by the two methods src/mpi/mpi.c uses
 * (reduce-scatter then all-gather; MPI_Allreduce) and, as a floor for one
 * machine, through an MPI-3 shared-memory window (copy in, each rank adds
 * its block of every rank's copy, copy out), for sizes from a few bytes to
 * W1's 0.94 MB and beyond. Prints one JSON line per size (rank 0): median
 * microseconds of each method and the bus bandwidth 2 (N-1)/N x bytes /
 * time, the figure the cost model of docs/SCALING.md uses.
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
    double *t3 = malloc((size_t)reps * sizeof(double));
    /* The shared window: every rank's copy, then the result, on one node. */
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    int local, on_node;
    MPI_Comm_rank(node, &local);
    MPI_Comm_size(node, &on_node);
    int one_node = on_node == size;
    size_t cap = (4194304 + (size_t)size) * (size_t)(size + 1);
    float *base, *shm = NULL;
    MPI_Win win;
    MPI_Win_allocate_shared((MPI_Aint)(local == 0 ? cap * sizeof(float) : 0), sizeof(float),
                            MPI_INFO_NULL, node, &base, &win);
    MPI_Aint got;
    int unit;
    MPI_Win_shared_query(win, 0, &got, &unit, &shm);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, win);
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
            /* The window (one node only): copy in, sync, add my block of
             * every copy into the result, sync, copy the result out. */
            double e = 0, f = 0;
            if (one_node) {
                size_t slot = block * (size_t)size, lo = block * (size_t)rank;
                size_t hi = lo + block < n ? lo + block : n;
                float *res = shm + slot * (size_t)size;
                MPI_Barrier(MPI_COMM_WORLD);
                e = MPI_Wtime();
                memcpy(shm + slot * (size_t)rank, v, n * sizeof(float));
                MPI_Win_sync(win);
                MPI_Barrier(node);
                MPI_Win_sync(win);
                for (size_t i = lo; i < hi; i++) {
                    float acc = shm[i];
                    for (int q = 1; q < size; q++) acc += shm[slot * (size_t)q + i];
                    res[i] = acc;
                }
                MPI_Win_sync(win);
                MPI_Barrier(node);
                MPI_Win_sync(win);
                memcpy(v, res, n * sizeof(float));
                f = MPI_Wtime();
            }
            if (r >= 5) t1[r - 5] = b - a, t2[r - 5] = d - c0, t3[r - 5] = f - e;
        }
        double m1 = median(t1, reps), m2 = median(t2, reps), m3 = median(t3, reps);
        double bytes = (double)n * sizeof(float), moved = 2.0 * (size - 1) / size * bytes;
        if (rank == 0)
            printf("{\"ranks\": %d, \"floats\": %zu, \"bytes\": %.0f, \"rs_ag_us\": %.2f, "
                   "\"allreduce_us\": %.2f, \"shm_window_us\": %.2f, \"rs_ag_busbw_gbs\": %.3f}\n",
                   size, n, bytes, m1 * 1e6, m2 * 1e6, one_node ? m3 * 1e6 : -1.0,
                   m1 > 0 ? moved / m1 / 1e9 : 0.0);
        free(v);
    }
    free(t1);
    free(t2);
    free(t3);
    MPI_Win_unlock_all(win);
    MPI_Win_free(&win);
    MPI_Comm_free(&node);
    MPI_Finalize();
    return 0;
}
