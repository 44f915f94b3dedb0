/* bf16 tables in the Embedding / EmbeddingBag host code: which checks let
 * them through, and the kernel variant that reads them (kernels/bf16.h).
 * The ops themselves are the f32 ones; only the table's loads differ. */
#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "ops/embedding_impl.h"
#include "tensor/bf16_host.h"

embcl_status emb_check_table_or_bf16(struct embcl_tensor *w, const char *fn, const char *arg)
{
    if (w && w->dtype != EMBCL_BF16)
        return emb_check_table(w, fn, arg);
    /* bf16 tables are not split over buffers (yet): one buffer each */
    EMBCL_TRY(embcl_check_tensor(w, fn, arg));
    if (w->ndim != 2) {
        char s[96];
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument '%s' has shape %s; a table is 2-D [num_embeddings, dim]",
                           arg, embcl_shape_str(w, s, sizeof s));
    }
    return EMBCL_OK;
}

emb_bags emb_bags_for_table(const emb_bags *eb, const struct embcl_tensor *w)
{
    emb_bags e = *eb;
    e.table_bf16 = w && w->dtype == EMBCL_BF16;
    return e;
}

/* from_pretrained into a bf16 table: the f32 data rounded to nearest even
 * on the host (what torch's .to(torch.bfloat16) gives), then uploaded. */
embcl_status emb_upload_f32_as_bf16(struct embcl_tensor *w, const float *data, const char *fn)
{
    size_t n = w->rows * w->cols;
    uint16_t *h = embcl_malloc(n ? n * sizeof *h : 1, fn);
    if (!h)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < n; i++)
        h[i] = embcl_bf16_rne_host(data[i]);
    embcl_status s = embcl_tensor_upload(w, h, n * sizeof *h);
    free(h);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}
