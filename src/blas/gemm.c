#include <clblast_c.h>

#include "blas/gemm.h"
#include "core/error.h"

static const char *clblast_name(CLBlastStatusCode s)
{
    switch (s) {
    case CLBlastNotImplemented: return "CLBlastNotImplemented";
    case CLBlastInvalidMatrixA: return "CLBlastInvalidMatrixA";
    case CLBlastInvalidMatrixB: return "CLBlastInvalidMatrixB";
    case CLBlastInvalidMatrixC: return "CLBlastInvalidMatrixC";
    case CLBlastInsufficientMemoryA: return "CLBlastInsufficientMemoryA";
    case CLBlastInsufficientMemoryB: return "CLBlastInsufficientMemoryB";
    case CLBlastInsufficientMemoryC: return "CLBlastInsufficientMemoryC";
    case CLBlastInvalidLocalMemUsage: return "CLBlastInvalidLocalMemUsage";
    case CLBlastNoHalfPrecision: return "CLBlastNoHalfPrecision";
    case CLBlastNoDoublePrecision: return "CLBlastNoDoublePrecision";
    case CLBlastInvalidDimension: return "CLBlastInvalidDimension";
    case CLBlastInvalidLeadDimA: return "CLBlastInvalidLeadDimA";
    case CLBlastInvalidLeadDimB: return "CLBlastInvalidLeadDimB";
    case CLBlastInvalidLeadDimC: return "CLBlastInvalidLeadDimC";
    case CLBlastDatabaseError: return "CLBlastDatabaseError";
    case CLBlastUnknownError: return "CLBlastUnknownError";
    case CLBlastUnexpectedError: return "CLBlastUnexpectedError";
    default: return NULL;
    }
}

embcl_status embcl_sgemm(int trans_a, int trans_b, float alpha, struct embcl_tensor *a, struct embcl_tensor *b,
                         float beta, struct embcl_tensor *c, const char *func)
{
    EMBCL_TRY(embcl_check_dtype(a, EMBCL_F32, func, "a"));
    EMBCL_TRY(embcl_check_dtype(b, EMBCL_F32, func, "b"));
    EMBCL_TRY(embcl_check_dtype(c, EMBCL_F32, func, "c"));
    if (a->ndim != 2 || b->ndim != 2 || c->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, func, "GEMM operands must be 2-D (got %d, %d, %d dimensions)", a->ndim,
                           b->ndim, c->ndim);
    if (a->dev != b->dev || a->dev != c->dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, func, "GEMM operands live on different devices");
    size_t m = trans_a ? a->cols : a->rows, k = trans_a ? a->rows : a->cols;
    size_t kb = trans_b ? b->cols : b->rows, n = trans_b ? b->rows : b->cols;
    if (k != kb || c->rows != m || c->cols != n)
        return embcl_error(EMBCL_ERR_SHAPE, func,
                           "GEMM shapes do not fit: op(a) is %zux%zu, op(b) is %zux%zu, c is %zux%zu", m, k, kb, n,
                           c->rows, c->cols);
    if (m == 0 || n == 0)
        return EMBCL_OK;
    if (k == 0) { /* CLBlast rejects k = 0; the product is empty */
        if (beta == 0.0f)
            return embcl_tensor_fill(c, 0.0);
        if (beta == 1.0f)
            return EMBCL_OK;
        return embcl_error(EMBCL_ERR_UNSUPPORTED, func, "GEMM with k = 0 and beta = %g", (double)beta);
    }
    cl_command_queue q = c->dev->queue;
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
                                       a->buf->mem, a->offset, a->ld, b->buf->mem, b->offset, b->ld, beta,
                                       c->buf->mem, c->offset, c->ld, &q, NULL);
    if (s == CLBlastSuccess)
        return EMBCL_OK;
    if ((int)s < 0 && (int)s > -1000)
        return embcl_cl_fail((cl_int)s, func, "CLBlastSgemm");
    const char *name = clblast_name(s);
    return embcl_error(EMBCL_ERR_UNSUPPORTED, func, "CLBlastSgemm failed with %s (%d) for m=%zu n=%zu k=%zu",
                       name ? name : "an unknown CLBlast status", (int)s, m, n, k);
}
