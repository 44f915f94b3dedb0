/* embcl: the command-line tool. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "embcl.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: embcl <command> [options]\n"
            "\n"
            "commands:\n"
            "  train [options]    train the tied language model and bag classifier (built-in data or\n"
            "                     --corpus); --help lists the options and their defaults\n"
            "  export CKPT OUT    write a checkpoint's word vectors as GloVe, word2vec or safetensors\n"
            "  neighbours CKPT WORD...  nearest words in a checkpoint's embedding\n"
            "  devices [--json]   list OpenCL platforms and devices, and which one EMBCL_DEVICE selects\n"
            "  bench [--filter NAME] [--quick] [--device SEL]\n"
            "                     quick throughput check of the main ops on the device (JSON lines)\n"
            "  tune FAMILY [--quick] [--device SEL]\n"
            "                     sweep a kernel family's tuning parameters on the device, check each\n"
            "                     variant, print the best as database rows; --show: what the device takes\n"
            "  version            print the version\n"
            "  help               this text\n"
            "\n"
            "environment:\n"
            "  EMBCL_DEVICE       device selector: gpu, cpu, all, P:D, a name substring; comma-separated\n"
            "  EMBCL_CACHE_DIR    where compiled kernels are cached (default ~/.cache/embcl)\n"
            "  EMBCL_CACHE=0      do not cache compiled kernels on disk\n"
            "  EMBCL_KERNEL_DIR   read kernels/*.cl from this directory instead of the built-in copy\n"
            "  EMBCL_TUNE         kernel tuning overrides, family.KEY=value,... (embcl tune --show lists the keys)\n"
            "  POCL_AFFINITY      1: PoCL pins its CPU worker i to CPU i; embcl sets it where it may run on\n"
            "                     every CPU and it is unset (0 keeps them unpinned)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    /* before any OpenCL call; unpinned only costs speed, so a failure is a note */
    if (embcl_pocl_pin_threads(NULL) != EMBCL_OK)
        fprintf(stderr, "embcl: note: %s\n", embcl_last_error());
    if (strcmp(cmd, "train") == 0)
        return embcl_cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return embcl_cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "neighbours") == 0 || strcmp(cmd, "neighbors") == 0)
        return embcl_cmd_neighbours(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return embcl_cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "tune") == 0)
        return embcl_cmd_tune(argc - 1, argv + 1);
    if (strcmp(cmd, "devices") == 0)
        return embcl_cmd_devices(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("embcl %s\n", embcl_version());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "embcl: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
