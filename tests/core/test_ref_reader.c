/* The reference-file reader every parity test relies on. */
#include <string.h>

#include "ref.h"
#include "test_util.h"

Test(ref_reader, reads_cases_attrs_and_exact_values)
{
    ref_file *f = ref_load(ref_path("core/selftest.ref"));
    cr_assert_eq(f->n_cases, 2);
    const ref_case *c = ref_case_get(f, "mixed");
    cr_assert_not_null(c);
    cr_assert_str_eq(ref_attr_str(c, "mode"), "sum");
    cr_assert_eq(ref_attr_int(c, "n"), 3);
    cr_assert_eq(ref_attr_f(c, "eps"), 1e-7);
    cr_assert_not(ref_has_attr(c, "missing"));
    const ref_tensor *x = ref_tensor_need(c, "x");
    cr_assert_eq(x->ndim, 2);
    cr_assert_eq(x->shape[1], 3);
    cr_assert_eq(x->f32[0], 0.1f);
    cr_assert_eq(x->f32[2], 3e-20f);
    cr_assert_eq(x->f32[3], 1.0f / 3.0f);
    const ref_tensor *idx = ref_tensor_need(c, "idx");
    cr_assert_eq(idx->dtype, EMBCL_I64);
    cr_assert_eq(idx->i64[19], 19LL << 33);
    cr_assert_eq(ref_tensor_need(c, "small")->i32[1], -6);
    const ref_case *e = ref_case_get(f, "empty");
    cr_assert_eq(ref_tensor_need(e, "none")->numel, 0);
    cr_assert_null(ref_case_get(f, "nosuch"));
    ref_free(f);
}
