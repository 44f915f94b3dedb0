/* Running the embcl tool from tests, as a user would. */
#ifndef EMBCL_TEST_CLI_RUN_H
#define EMBCL_TEST_CLI_RUN_H

/* Runs `cmd` through the shell; returns its exit status (-1 if it did not
 * exit) and its output (stdout and stderr) in a malloc'd string. */
int cli_run(const char *cmd, char **out);

/* The number after "\"key\": " in out (a JSON line), failing the test if absent. */
double cli_json_num(const char *out, const char *key);

#endif
