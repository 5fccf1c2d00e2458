/*
 * policy_cli.h - `vigil policy`: check policy documents before they are
 * deployed.  main.c dispatches "policy" here.
 */
#ifndef VIGIL_POLICY_CLI_H
#define VIGIL_POLICY_CLI_H

#include <stdio.h>

/* argv[0] is "policy".  Returns the exit code: 0 ok, 1 problems found, 2 usage error. */
int policy_main(int argc, char **argv);

/* The same, writing to out and err instead of stdout and stderr (for tests). */
int policy_cli_run(int argc, char **argv, FILE *out, FILE *err);

#endif
