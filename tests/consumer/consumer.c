/* A program outside the tree: it uploads, fills and reads a tensor through
 * the installed headers and library only. */
#include <embcl.h>
#include <stdio.h>

int main(void)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "cpu";
    embcl_runtime_t rt;
    if (embcl_runtime_create(&o, &rt) != EMBCL_OK) {
        fprintf(stderr, "%s\n", embcl_last_error());
        return 1;
    }
    embcl_device_t dev;
    embcl_tensor_t t;
    int64_t shape[2] = {3, 5};
    float host[15];
    int rc = 1;
    if (embcl_runtime_device(rt, 0, &dev) == EMBCL_OK &&
        embcl_tensor_create(dev, EMBCL_F32, 2, shape, &t) == EMBCL_OK) {
        if (embcl_tensor_fill(t, 2.5) == EMBCL_OK && embcl_tensor_download(t, host, sizeof host) == EMBCL_OK)
            rc = host[0] == 2.5f && host[14] == 2.5f ? 0 : 2;
        embcl_tensor_free(t);
    }
    if (rc)
        fprintf(stderr, "consumer failed: %s\n", embcl_last_error());
    else
        printf("embcl %s ok\n", embcl_version());
    embcl_runtime_free(rt);
    return rc;
}
