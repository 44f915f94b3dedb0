/* libFuzzer target: EMBCL_DEVICE selectors against a fixed made-up device
 * list. Any input must give EMBCL_OK or EMBCL_ERR_NO_DEVICE, with picks in
 * range and no repeats. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embcl.h"

static embcl_device_info devs[3];

static void init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    const char *names[3] = {"pthread-haswell", "NVIDIA H100 80GB", "gfx1100"};
    const char *plats[3] = {"Portable Computing Language", "NVIDIA CUDA", "AMD Accelerated Parallel Processing"};
    embcl_device_type types[3] = {EMBCL_DEVICE_CPU, EMBCL_DEVICE_GPU, EMBCL_DEVICE_GPU};
    for (int i = 0; i < 3; i++) {
        strcpy(devs[i].name, names[i]);
        strcpy(devs[i].platform_name, plats[i]);
        devs[i].platform_index = i;
        devs[i].type = types[i];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    char *sel = malloc(size + 1);
    memcpy(sel, data, size);
    sel[size] = '\0';
    size_t picked[3], n = 0;
    embcl_status s = embcl_device_select(sel, devs, 3, picked, 3, &n);
    if (s != EMBCL_OK && s != EMBCL_ERR_NO_DEVICE)
        abort();
    if (s == EMBCL_OK) {
        if (n == 0 || n > 3)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (picked[i] >= 3)
                abort();
            for (size_t j = 0; j < i; j++)
                if (picked[i] == picked[j])
                    abort();
        }
    }
    free(sel);
    return 0;
}
