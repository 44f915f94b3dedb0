/* The embcl command's subcommands. Each returns the process exit status. */
#ifndef EMBCL_CLI_H
#define EMBCL_CLI_H

int embcl_cmd_devices(int argc, char **argv);
int embcl_cmd_train(int argc, char **argv);
int embcl_cmd_export(int argc, char **argv);
int embcl_cmd_neighbours(int argc, char **argv);
int embcl_cmd_bench(int argc, char **argv);
int embcl_cmd_tune(int argc, char **argv);

#endif
