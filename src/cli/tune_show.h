/* embcl tune: --show, and the helpers the sweep shares with it. */
#ifndef EMBCL_CLI_TUNE_SHOW_H
#define EMBCL_CLI_TUNE_SHOW_H

#include <stdio.h>

#include "embcl.h"

/* Prints every key of `family` (NULL: all), the value the device `device`
 * selects (NULL: EMBCL_DEVICE) takes and its source; a JSON line each with
 * json. Returns the exit status. */
int tune_show(const char *device, const char *family, int json);

/* A runtime on `device` with tuning overrides `tuning` (NULL: EMBCL_TUNE)
 * and its first device. */
embcl_status tune_open_device(const char *device, const char *tuning, embcl_runtime_t *rt, embcl_device_t *dev);

/* s as a JSON string. */
void tune_json_str(FILE *f, const char *s);

#endif
