/* tools/mpi/dist_mpi.c — the exchange of models/dist.h over MPI, for `make mpi`'s
 * build/mpi/probador (the only file of probador that includes mpi.h).
 *
 * Every exchange is a collective over MPI_COMM_WORLD that MPI may carry out in any
 * order: gathers copy values without arithmetic, and the reductions are a maximum of
 * int8 and a sum of whole numbers below 2^53 in doubles, where the order cannot change
 * the result. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/mpi/dist_mpi.h"

/* MPI counts are ints: large arrays go in pieces */
enum { PIECE = 1 << 30 };

static void gather(const model_dist *d, double *all, int blocks, size_t per)
{
    int *counts = malloc(2 * (size_t)d->ranks * sizeof *counts), *displs = counts + d->ranks;
    if (!counts) {
        fprintf(stderr, "probador: error: out of memory exchanging batch statistics\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (int r = 0; r < d->ranks; r++) {
        const model_dist other = { .rank = r, .ranks = d->ranks };
        int first, count;
        dist_share(&other, blocks, &first, &count);
        counts[r] = (int)((size_t)count * per), displs[r] = (int)((size_t)first * per);
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, counts, displs, MPI_DOUBLE, MPI_COMM_WORLD);
    free(counts);
}

static void max_i8(const model_dist *d, int8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i += PIECE)
        MPI_Allreduce(MPI_IN_PLACE, v + i, (int)(n - i < PIECE ? n - i : PIECE), MPI_INT8_T, MPI_MAX, MPI_COMM_WORLD);
}

static void sum_whole(const model_dist *d, double *v, size_t n)
{
    for (size_t i = 0; i < n; i += PIECE)
        MPI_Allreduce(MPI_IN_PLACE, v + i, (int)(n - i < PIECE ? n - i : PIECE), MPI_DOUBLE, MPI_SUM,
                      MPI_COMM_WORLD);
}

static model_dist world;

const model_dist *dist_mpi_start(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world.ranks);
    world.gather = gather, world.max_i8 = max_i8, world.sum_whole = sum_whole;
    return &world;
}

void dist_mpi_stop(int failed)
{
    if (failed && world.ranks > 1) /* the others may wait in a collective: end them too */
        MPI_Abort(MPI_COMM_WORLD, failed);
    MPI_Finalize();
}
