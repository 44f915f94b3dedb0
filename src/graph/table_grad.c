/* Gradients of tables: dense, or row-sparse when every reader of the whole
 * table gives a row-sparse gradient (nn.Embedding(sparse=True) tied to
 * another sparse reader). Several row-sparse contributions are merged with
 * embcl_rowsparse_add, shared rows summed in a fixed order. */
#include "core/error.h"
#include "graph/graph_impl.h"
#include "ops/rowsparse_impl.h"

embcl_status graph_table_grad(struct embcl_graph *g, gnode *n, int wi, int64_t max_rows, graph_table_grad_fn f)
{
    static const char *fn = "embcl_graph_step";
    if (!n->want_grad[wi])
        return EMBCL_OK;
    int p = graph_param_of(g, n->in[wi]);
    embcl_rowsparse_t acc = p >= 0 ? g->vals[p].sgrad : NULL;
    if (!acc) {
        struct embcl_tensor *gd;
        EMBCL_TRY(graph_in_grad(g, n, wi, 1, &gd));
        return f(g, n, gd, NULL);
    }
    if (!n->acc[wi])
        return f(g, n, NULL, acc);
    embcl_rowsparse_t tmp;
    EMBCL_TRY(embcl_rowsparse_create(acc->dev, acc->num_rows, acc->dim, max_rows, &tmp));
    embcl_status s = f(g, n, NULL, tmp);
    if (s == EMBCL_OK)
        s = embcl_rowsparse_add(acc, acc, tmp);
    embcl_rowsparse_free(tmp);
    return s != EMBCL_OK ? embcl_error_context(s, fn) : s;
}
