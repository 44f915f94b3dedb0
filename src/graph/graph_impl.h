/* Private layout of a graph, and the node vtable every op kind fills in
 * (src/graph/node_<op>.c). The passes live in their own files: compile.c
 * (order, gradients, accumulation), place.c (devices and copies), plan.c
 * (memory by liveness), exec.c (the step), diag.c (diagnostics). */
#ifndef EMBCL_SRC_GRAPH_GRAPH_IMPL_H
#define EMBCL_SRC_GRAPH_GRAPH_IMPL_H

#include "embcl/graph.h"
#include "tensor/tensor_impl.h"

#define GNODE_MAX_IN 20
#define GNODE_MAX_OUT 2

typedef enum gval_kind {
    GVAL_PARAM = 0, /* a parameter: the caller's tensor */
    GVAL_INPUT,     /* filled from the host before each step */
    GVAL_NODE,      /* a node's result */
    GVAL_VIEW       /* columns of a parameter */
} gval_kind;

typedef struct grange {
    int64_t a, b;
} grange;

typedef struct gvalue {
    char *name;
    gval_kind kind;
    embcl_dtype dtype;
    int ndim;
    int64_t shape[EMBCL_MAX_DIMS];
    int node;                    /* producer (GVAL_NODE), else -1 */
    int base;                    /* GVAL_VIEW: the parameter; else -1 */
    int64_t c0, c1;              /* GVAL_VIEW: its columns */
    int keep;                    /* readable after a step */
    int is_loss;                 /* a loss the step seeds (the loss, or one replica's) */
    int split;                   /* data parallel: first of the replicas' inputs this input feeds, else -1 */
    struct embcl_device *pin;    /* GVAL_INPUT: where the user wants it (NULL: next to its reader) */

    /* parameters */
    int requires_grad;
    int64_t group;
    struct embcl_tensor *ext_grad; /* gradient buffer owned by an op object (LSTM), which adds into it */
    grange *frozen_rows, *frozen_cols;
    size_t n_frozen_rows, n_frozen_cols;

    /* derived by compile */
    struct embcl_device *dev;
    int live;                    /* read on the way to the loss or a kept value */
    int trainable_above;         /* a trainable parameter lies upstream */
    int reaches_loss;            /* a differentiable path leads to the loss */
    int needs_grad;
    int alias;                   /* shares the memory of this value (detach, in place), else -1 */
    int grad_zero_first;         /* gradient zeroed before backward, every contribution adds */
    int64_t optim_index;         /* index in its optimizer, -1 if none */
    int optim_slot;              /* which of the graph's optimizers */
    int sparse_grad;             /* gradient kept row-sparse (all contributions sparse, whole table) */
    int64_t sparse_cap;          /* its capacity in rows */

    struct embcl_tensor *tensor; /* parameter view, input buffer, or arena view */
    struct embcl_tensor *grad;   /* dense gradient: own buffer (parameters) or arena view */
    embcl_rowsparse_t sgrad;     /* row-sparse gradient (sparse_grad) */

    /* planning: byte offsets in the device arena, steps of first and last use */
    int64_t first, last, gfirst, glast;
    size_t off, goff;

    float *snapshot;             /* diagnostics: values before the first step */
} gvalue;

struct embcl_graph;

/* A device's arena (plan.c): one buffer, or, when the plan needs more than
 * the device allows in one allocation, chunks of `chunk` bytes (the last
 * shorter) that no value straddles; values larger than a chunk get buffers
 * of their own (split by rows when they exceed the limit). */
typedef struct graph_arena {
    struct embcl_tensor **part;  /* n of them; NULL entries if unused */
    size_t n;
    size_t chunk;                /* 0: one buffer */
} graph_arena;

/* gvalue.off / goff of a value with a buffer of its own */
#define GRAPH_OWN_BUFFER ((size_t)-1)

typedef struct gnode {
    const struct gnode_ops *ops;
    char *name;
    int in[GNODE_MAX_IN];
    int n_in;
    int out[GNODE_MAX_OUT];
    int n_out;
    void *attr;
    struct embcl_device *dev;
    int pinned;
    int live;
    int backward;                /* runs in the backward pass */
    int want_grad[GNODE_MAX_IN]; /* input i's gradient is needed */
    int acc[GNODE_MAX_IN];       /* 1: add to input i's gradient; 0: overwrite it */
    int64_t fwd_step, bwd_step;
    uint64_t idx_seen, idx_pad;  /* diagnostics: indices a training step read, of which padding */
    uint64_t pend_seen, pend_pad; /* the same of the indices set last, counted when a step reads them */
    int reported;                /* diagnostics: padding reported */
} gnode;

typedef struct gnode_ops {
    const char *kind;
    unsigned diff_inputs;   /* bit i: a gradient can flow into input i */
    unsigned saved_inputs;  /* bit i: the backward reads input i */
    unsigned saved_outputs; /* bit j: the backward reads output j */
    int inplace;            /* output 0 may take input 0's memory when input 0 is dead after */
    int alias;              /* output 0 is input 0 (no forward work, no backward) */
    /* Check the inputs (node->in, resolved) and fill outputs' dtype, ndim,
     * shape; errors name `func` (the public builder). */
    embcl_status (*infer)(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func);
    embcl_status (*forward)(struct embcl_graph *g, gnode *n);
    embcl_status (*backward)(struct embcl_graph *g, gnode *n); /* NULL: no inputs differentiable */
    void (*free_attr)(void *attr);
    /* Optional: the most rows of a row-sparse gradient this node's backward
     * can give input i (0: it gives a dense one). */
    int64_t (*sparse_rows)(struct embcl_graph *g, const gnode *n, int i);
    /* Data parallel: the attr of replica r of K on dev (NULL when the node
     * has no attr; a node kind with an attr and no clone is not replicated). */
    embcl_status (*clone_attr)(struct embcl_graph *g, const gnode *n, int r, int K, struct embcl_device *dev,
                               void **out);
    /* Kind-specific constants for node files that serve several kinds with
     * one forward/backward (the op functions to call). */
    const void *impl;
    /* Optional: whether input i holds indices with a padding value (*pad). */
    int (*padding)(const gnode *n, int i, int64_t *pad);
    /* Optional: input i of n is being set from host memory (numel values,
     * the first at position `first` of the caller's array), so it can be
     * checked there rather than read back mid-step. commit 0: check only
     * (fail naming func, change nothing); 1: the upload is done, keep what
     * the step needs; host NULL: the upload failed, forget it. */
    embcl_status (*host_input)(struct embcl_graph *g, gnode *n, int i, const void *host, int64_t numel,
                               int64_t first, int commit, const char *func);
} gnode_ops;

typedef struct gdiag_entry {
    embcl_diag d;
    char *param, *node, *message;
} gdiag_entry;

struct embcl_graph {
    struct embcl_runtime *rt;
    gvalue *vals;
    size_t n_vals, cap_vals;
    gnode *nodes;
    size_t n_nodes, cap_nodes;
    int loss;                    /* as the user marked it */
    size_t n_losses;             /* values seeded by the step (one per replica) */
    int compiled;
    int broken;                  /* a compile failed half-way */
    embcl_graph_options opt;

    int *fwd;                    /* nodes in forward order (copies included) */
    size_t n_fwd;
    int *bwd;                    /* nodes whose backward runs, in order */
    size_t n_bwd;

    struct graph_arena *arena;   /* one per runtime device */
    embcl_graph_memory mem;

    embcl_optim_t *optims;       /* one per device that has parameters to update */
    embcl_grad **ograds;         /* per optimizer: one gradient per optimizer parameter */
    size_t *n_ograds;
    size_t n_optims;

    gdiag_entry *diags;
    size_t n_diags, cap_diags;
    int64_t steps;
    int training;                /* the pass running is a training step */
    int diag_done;               /* step-time checks made */
};

/* ---- Building (graph.c) ---- */

/* Add a node of `ops` reading in[0..n_in) with n_out results; attr is
 * owned by the node from here on (freed with ops->free_attr even on
 * failure). *out gets the first result. */
embcl_status graph_add_node(struct embcl_graph *g, const gnode_ops *ops, const int *in, int n_in, int n_out,
                            void *attr, const char *func, embcl_value *out);
/* Check a value id for a builder: "argument 'x' is value 7, not in this graph". */
embcl_status graph_check_value(struct embcl_graph *g, embcl_value v, const char *func, const char *arg);
embcl_status graph_check_building(struct embcl_graph *g, const char *func);
embcl_status graph_add_value(struct embcl_graph *g, gval_kind kind, const char *name, const char *func, int *out);
/* "[3, 4]" */
const char *graph_shape_str(const gvalue *v, char *buf, size_t cap);
int64_t graph_numel(const gvalue *v);
/* Drop values added after the first n (a builder that failed half-way). */
void graph_truncate_values(struct embcl_graph *g, size_t n);
/* The parameter behind v (itself, or a view's base), else -1. */
int graph_param_of(struct embcl_graph *g, int v);

/* A copy of an attr of `bytes` bytes (for clone_attr of plain-data attrs). */
embcl_status graph_clone_bytes(const void *src, size_t bytes, void **out);

/* ---- For nodes at run time ---- */

/* v's tensor on its device. */
static inline struct embcl_tensor *graph_t(struct embcl_graph *g, int v)
{
    return g->vals[v].tensor;
}
/* The gradient of input i of n for its backward to write (NULL if not
 * wanted). With `zeroed`, an overwriting slot is zero-filled first, for ops
 * that can only add. */
embcl_status graph_in_grad(struct embcl_graph *g, gnode *n, int i, int zeroed, struct embcl_tensor **out);
/* The gradient of output j of n (read by its backward). */
static inline struct embcl_tensor *graph_out_grad(struct embcl_graph *g, gnode *n, int j)
{
    return g->vals[n->out[j]].grad;
}
/* A 2-D [rows, cols] / 1-D [numel] view on the stack of any tensor (same
 * memory, no reference taken: for arguments of calls made right away). */
struct embcl_tensor graph_as_2d(const struct embcl_tensor *t);
struct embcl_tensor graph_as_1d(const struct embcl_tensor *t);

/* The gradient of a table read by an embedding-family node (input wi):
 * calls f with the dense gradient to add to (zeroed first when this is the
 * first contribution) or with a row-sparse gradient to overwrite, and
 * merges that into the parameter's row-sparse gradient when others wrote
 * to it first. max_rows bounds f's row-sparse result. */
typedef embcl_status (*graph_table_grad_fn)(struct embcl_graph *g, gnode *n, struct embcl_tensor *dense,
                                            embcl_rowsparse_t sparse);
embcl_status graph_table_grad(struct embcl_graph *g, gnode *n, int wi, int64_t max_rows, graph_table_grad_fn f);

/* Embedding-family nodes (node_embedding.c): options copied for a node,
 * padding_idx counted from the end made non-negative; the padding hook. */
embcl_status graph_emb_options(struct embcl_graph *g, int weight, const embcl_embedding_options *opt,
                               const char *fn, embcl_embedding_options **out);
int graph_emb_padding(const gnode *n, int i, int64_t *pad);

/* ---- Passes ---- */
embcl_status graph_derive(struct embcl_graph *g);       /* compile.c: liveness of nodes, gradients, accumulation */
embcl_status graph_replicate(struct embcl_graph *g);    /* replicate.c: data parallel */
embcl_status graph_place(struct embcl_graph *g);        /* place.c: devices, copies */
embcl_status graph_plan(struct embcl_graph *g);         /* plan.c: memory */
embcl_status graph_alloc(struct embcl_graph *g);        /* plan.c: arenas, views, gradients */
void graph_release_memory(struct embcl_graph *g);       /* plan.c */
embcl_status graph_optim_attach(struct embcl_graph *g); /* graph_optim.c: parameters into optimizers */
embcl_status graph_optim_step(struct embcl_graph *g);   /* graph_optim.c */
void graph_optim_free(struct embcl_graph *g);

/* Node kinds the passes insert. */
extern const gnode_ops graph_copy_ops;
/* Insert a copy of value v onto dev as a new node; *out the copy's value. */
embcl_status graph_insert_copy(struct embcl_graph *g, int v, struct embcl_device *dev, int *out);

/* ---- Diagnostics (diag.c) ---- */
embcl_status graph_diag_compile(struct embcl_graph *g);
embcl_status graph_diag_input(struct embcl_graph *g, int v, const void *host, size_t n);
embcl_status graph_diag_before_step(struct embcl_graph *g);
embcl_status graph_diag_after_step(struct embcl_graph *g);
void graph_diag_free(struct embcl_graph *g);

#endif
