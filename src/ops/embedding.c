/* Embedding (F.embedding): the gather, its backward, from_pretrained. The
 * gather is a pooling of bags of one index (bag.cl's bag_fwd), which keeps
 * one tuned kernel for both ops. */
#include <string.h>

#include "core/error.h"
#include "ops/embedding_impl.h"

embcl_status embcl_embedding(embcl_tensor_t weight, embcl_tensor_t indices, const embcl_embedding_options *opt,
                             embcl_tensor_t out)
{
    static const char *fn = "embcl_embedding";
    EMBCL_TRY(emb_check_table_or_bf16(weight, fn, "weight"));
    emb_opts o;
    EMBCL_TRY(emb_opts_resolve(opt, weight->shape[0], fn, &o));
    embcl_bags b = {indices, NULL, NULL};
    emb_bags eb;
    EMBCL_TRY(emb_bags_resolve(&b, &o, 1, fn, &eb));
    EMBCL_TRY(emb_check_same_device(weight, indices, fn, "indices"));
    EMBCL_TRY(emb_check_rows_parts(out, (size_t)eb.n, weight->cols, fn, "out"));
    EMBCL_TRY(emb_check_same_device(weight, out, fn, "out"));
    EMBCL_TRY(emb_validate(weight->dev, &eb, weight->shape[0], fn));
    EMBCL_TRY(emb_renorm(weight, &eb, &o, fn));
    /* The forward returns the padding row as it is: nothing is skipped. */
    emb_opts gather = o;
    gather.pad = -1;
    return emb_pool(weight, &eb, &gather, EMBCL_BAG_SUM, out, NULL, fn);
}

embcl_status embcl_embedding_backward(embcl_tensor_t grad_out, embcl_tensor_t indices, int64_t num_rows,
                                      const embcl_embedding_options *opt, embcl_tensor_t grad_weight,
                                      embcl_rowsparse_t grad_sparse)
{
    static const char *fn = "embcl_embedding_backward";
    EMBCL_TRY(embcl_check_dtype(grad_out, EMBCL_F32, fn, "grad_out"));
    if (num_rows < 0)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'num_rows' is %lld", (long long)num_rows);
    emb_opts o;
    EMBCL_TRY(emb_opts_resolve(opt, num_rows, fn, &o));
    embcl_bags b = {indices, NULL, NULL};
    emb_bags eb;
    EMBCL_TRY(emb_bags_resolve(&b, &o, 1, fn, &eb));
    EMBCL_TRY(emb_check_rows(grad_out, (size_t)eb.n, grad_out->cols, fn, "grad_out"));
    return emb_scatter(grad_out, &eb, &o, EMBCL_BAG_SUM, NULL, num_rows, grad_weight, grad_sparse, NULL, NULL, fn);
}

embcl_status embcl_embedding_from_pretrained(embcl_tensor_t weight, const float *data, int freeze, int *frozen)
{
    static const char *fn = "embcl_embedding_from_pretrained";
    EMBCL_TRY(emb_check_table_or_bf16(weight, fn, "weight"));
    EMBCL_CHECK_ARG(data != NULL || weight->rows * weight->cols == 0, fn, "argument 'data' is NULL");
    embcl_status s = weight->dtype == EMBCL_BF16
                         ? emb_upload_f32_as_bf16(weight, data, fn)
                         : embcl_tensor_upload(weight, data, weight->rows * weight->cols * sizeof(float));
    if (s != EMBCL_OK)
        return embcl_error_context(s, fn);
    if (frozen)
        *frozen = freeze != 0;
    return EMBCL_OK;
}
