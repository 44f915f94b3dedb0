/* f32 <-> bf16: the host conversions and embcl_tensor_convert (kernels in
 * kernels/convert.cl, rounding as kernels/bf16.h). */
#include <string.h>

#include "core/error.h"
#include "device/program.h"
#include "embcl/bf16.h"
#include "tensor/bf16_host.h"
#include "tensor/tensor_impl.h"

embcl_status embcl_bf16_from_f32(const float *src, uint16_t *dst, size_t n)
{
    static const char *fn = "embcl_bf16_from_f32";
    EMBCL_CHECK_ARG(n == 0 || src != NULL, fn, "argument 'src' is NULL");
    EMBCL_CHECK_ARG(n == 0 || dst != NULL, fn, "argument 'dst' is NULL");
    for (size_t i = 0; i < n; i++)
        dst[i] = embcl_bf16_rne_host(src[i]);
    return EMBCL_OK;
}

embcl_status embcl_bf16_to_f32(const uint16_t *src, float *dst, size_t n)
{
    static const char *fn = "embcl_bf16_to_f32";
    EMBCL_CHECK_ARG(n == 0 || src != NULL, fn, "argument 'src' is NULL");
    EMBCL_CHECK_ARG(n == 0 || dst != NULL, fn, "argument 'dst' is NULL");
    for (size_t i = 0; i < n; i++)
        dst[i] = embcl_bf16_value_host(src[i]);
    return EMBCL_OK;
}

embcl_status embcl_tensor_convert(embcl_tensor_t dst, embcl_tensor_t src)
{
    static const char *fn = "embcl_tensor_convert";
    EMBCL_TRY(embcl_check_tensor(dst, fn, "dst"));
    EMBCL_TRY(embcl_check_tensor(src, fn, "src"));
    if (dst->dtype == src->dtype) {
        embcl_status s = embcl_tensor_copy(dst, src);
        return s == EMBCL_OK ? s : embcl_error_context(s, fn);
    }
    const char *kname = src->dtype == EMBCL_F32 && dst->dtype == EMBCL_BF16   ? "f32_to_bf16"
                        : src->dtype == EMBCL_BF16 && dst->dtype == EMBCL_F32 ? "bf16_to_f32"
                                                                              : NULL;
    if (!kname)
        return embcl_error(EMBCL_ERR_DTYPE, fn,
                           "cannot convert argument 'src' of dtype %s to 'dst' of dtype %s (f32 <-> bf16 only)",
                           embcl_dtype_name(src->dtype), embcl_dtype_name(dst->dtype));
    EMBCL_TRY(embcl_check_dst_shape(dst, src, fn));
    if (dst->dev != src->dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn, "argument 'dst' is on device '%s' but 'src' on '%s'",
                           dst->dev->info.name, src->dev->info.name);
    if (dst->rows * dst->cols == 0)
        return EMBCL_OK;
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(dst->dev, "convert", "", kname, &k));
    cl_ulong d_off = dst->offset, d_ld = dst->ld, s_off = src->offset, s_ld = src->ld, rows = dst->rows,
             cols = dst->cols;
    embcl_karg a[] = {EMBCL_KARG(dst->buf->mem), EMBCL_KARG(d_off), EMBCL_KARG(d_ld), EMBCL_KARG(src->buf->mem),
                      EMBCL_KARG(s_off),         EMBCL_KARG(s_ld),  EMBCL_KARG(rows), EMBCL_KARG(cols)};
    EMBCL_TRY(embcl_kernel_set_args(k, kname, 8, a));
    embcl_tensor_written(dst);
    size_t gws[2] = {embcl_round_up(dst->cols, 16), dst->rows};
    embcl_status s = embcl_kernel_launch(dst->dev, k, kname, 2, gws, NULL, NULL);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}
