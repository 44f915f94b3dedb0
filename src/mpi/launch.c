/* Whether a launcher started this process, from its environment: a build
 * without MPI can then refuse instead of training N unconnected copies. */
#include <stdlib.h>

#include "embcl/mpi.h"

int embcl_mpi_launched_size(void)
{
    /* Open MPI's mpirun; MPICH's Hydra and PMI-1 launchers. */
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 0)
            return atoi(v);
    }
    return 1;
}
