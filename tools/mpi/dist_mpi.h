/* tools/mpi/dist_mpi.h — MPI_COMM_WORLD as a models/dist.h exchange (`make mpi`). */
#ifndef PROBADOR_TOOLS_MPI_DIST_MPI_H
#define PROBADOR_TOOLS_MPI_DIST_MPI_H

#include "models/dist.h"

/* MPI_Init, then this process's rank among all of them. */
const model_dist *dist_mpi_start(int *argc, char ***argv);
/* MPI_Finalize; after a failure (failed ≠ 0), MPI_Abort, so that no process waits
   forever for one that stopped. */
void dist_mpi_stop(int failed);

#endif
