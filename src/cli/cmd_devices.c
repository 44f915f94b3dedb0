/* embcl devices: every platform and device, what EMBCL_DEVICE picks, and
 * the class EMBCL_DEVICE_CLASS makes each device take. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "embcl.h"

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_json(const embcl_device_info *list, size_t n, const int *selected, const char *selector)
{
    printf("{\"selector\": ");
    if (selector)
        json_str(selector);
    else
        printf("null");
    printf(", \"devices\": [");
    for (size_t i = 0; i < n; i++) {
        const embcl_device_info *d = &list[i];
        printf("%s\n  {\"id\": \"%d:%d\", \"platform\": ", i ? "," : "", d->platform_index, d->device_index);
        json_str(d->platform_name);
        printf(", \"platform_version\": ");
        json_str(d->platform_version);
        printf(", \"name\": ");
        json_str(d->name);
        printf(", \"vendor\": ");
        json_str(d->vendor);
        printf(", \"driver_version\": ");
        json_str(d->driver_version);
        printf(", \"opencl_c_version\": ");
        json_str(d->opencl_c_version);
        printf(", \"type\": \"%s\", \"device_class\": \"%s\", \"compute_units\": %u, \"max_clock_mhz\": %u, "
               "\"global_mem_bytes\": %llu, \"local_mem_bytes\": %llu, \"max_alloc_bytes\": %llu, \"max_work_group_size\": %zu, "
               "\"fp16\": %s, \"fp64\": %s, \"int64_atomics\": %s, \"command_buffers\": %s, \"selected\": %s}",
               embcl_device_type_name(d->type), embcl_device_type_name(d->device_class), d->compute_units,
               d->max_clock_mhz, (unsigned long long)d->global_mem_bytes, (unsigned long long)d->local_mem_bytes,
               (unsigned long long)d->max_alloc_bytes, d->max_work_group_size, d->has_fp16 ? "true" : "false",
               d->has_fp64 ? "true" : "false", d->has_int64_atomics ? "true" : "false",
               d->has_command_buffers ? "true" : "false", selected[i] ? "true" : "false");
    }
    printf("\n]}\n");
}

static void print_table(const embcl_device_info *list, size_t n, const int *selected, const char *selector,
                        const char *cls)
{
    int last_platform = -1;
    for (size_t i = 0; i < n; i++) {
        const embcl_device_info *d = &list[i];
        if (d->platform_index != last_platform) {
            printf("platform %d: %s (%s)\n", d->platform_index, d->platform_name, d->platform_version);
            last_platform = d->platform_index;
        }
        printf("  %c %d:%d  %s\n", selected[i] ? '*' : ' ', d->platform_index, d->device_index, d->name);
        printf("        type %-11s compute units %-4u clock %u MHz  vendor %s\n", embcl_device_type_name(d->type),
               d->compute_units, d->max_clock_mhz, d->vendor);
        /* Said only where it differs: a run whose times or numbers look like
         * another device's should show why. */
        if (d->device_class != d->type)
            printf("        treated as %s (EMBCL_DEVICE_CLASS=%s): embcl takes its %s code paths\n",
                   embcl_device_type_name(d->device_class), cls ? cls : "auto",
                   embcl_device_type_name(d->device_class));
        printf("        memory %.1f GiB  max alloc %.1f GiB  local %.0f KiB  max work-group %zu\n",
               (double)d->global_mem_bytes / (1 << 30), (double)d->max_alloc_bytes / (1 << 30),
               (double)d->local_mem_bytes / 1024, d->max_work_group_size);
        printf("        driver %s  %s  %s\n", d->driver_version, d->device_version, d->opencl_c_version);
        printf("        fp16 %s  fp64 %s  int64 atomics %s  command buffers %s\n", d->has_fp16 ? "yes" : "no",
               d->has_fp64 ? "yes" : "no", d->has_int64_atomics ? "yes" : "no",
               d->has_command_buffers ? "yes" : "no");
    }
    if (n == 0)
        printf("no OpenCL devices found (install an ICD, e.g. pocl-opencl-icd)\n");
    else
        printf("\n* selected by %s%s%s\n", selector ? "EMBCL_DEVICE='" : "default (first GPU, else first device)",
               selector ? selector : "", selector ? "'" : "");
}

int embcl_cmd_devices(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: embcl devices [--json]\n"
                   "Lists every OpenCL platform and device; '*' marks what EMBCL_DEVICE selects,\n"
                   "and EMBCL_DEVICE_CLASS=gpu|cpu shows each device as the type embcl treats it as.\n");
            return 0;
        } else {
            fprintf(stderr, "embcl devices: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    embcl_device_info *list = NULL;
    size_t n = 0;
    if (embcl_device_list(&list, &n) != EMBCL_OK) {
        fprintf(stderr, "embcl devices: %s\n", embcl_last_error());
        return 1;
    }
    const char *selector = getenv("EMBCL_DEVICE");
    if (selector && !*selector)
        selector = NULL;
    const char *cls = getenv("EMBCL_DEVICE_CLASS");
    if (cls && !*cls)
        cls = NULL;
    if (embcl_device_class_apply(cls, list, n) != EMBCL_OK) {
        fprintf(stderr, "embcl devices: EMBCL_DEVICE_CLASS: %s\n", embcl_last_error());
        embcl_device_list_free(list);
        return 1;
    }
    size_t *picked = calloc(n ? n : 1, sizeof *picked);
    int *selected = calloc(n ? n : 1, sizeof *selected);
    size_t np = 0;
    int rc = 0;
    if (!picked || !selected) {
        fprintf(stderr, "embcl devices: out of memory\n");
        rc = 1;
    } else if (n > 0 && embcl_device_select(selector, list, n, picked, n, &np) != EMBCL_OK) {
        fprintf(stderr, "embcl devices: EMBCL_DEVICE: %s\n", embcl_last_error());
        rc = 1;
    } else {
        for (size_t i = 0; i < np; i++)
            selected[picked[i]] = 1;
        if (json)
            print_json(list, n, selected, selector);
        else
            print_table(list, n, selected, selector, cls);
    }
    free(picked);
    free(selected);
    embcl_device_list_free(list);
    return rc;
}
