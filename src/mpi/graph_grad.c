/* A graph parameter's gradient as the graph keeps it (row-sparse tables
 * stay row-sparse), for the cross-rank reduction. Needs no MPI. */
#include "core/error.h"
#include "embcl/mpi.h"
#include "graph/graph_impl.h"

embcl_status embcl_mpi_graph_grad(embcl_graph_t g, embcl_value param, embcl_grad *out)
{
    static const char *fn = "embcl_mpi_graph_grad";
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    out->dense = NULL;
    out->sparse = NULL;
    if (!g->compiled)
        return embcl_error(EMBCL_ERR_STATE, fn, "the graph is not compiled (embcl_graph_compile)");
    EMBCL_TRY(graph_check_value(g, param, fn, "param"));
    const gvalue *p = &g->vals[param];
    if (p->kind != GVAL_PARAM)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'param' is '%s', not a parameter",
                           p->name ? p->name : "unnamed");
    if (p->sgrad) {
        out->sparse = p->sgrad;
        return EMBCL_OK;
    }
    return embcl_graph_grad(g, param, &out->dense);
}
