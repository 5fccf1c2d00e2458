/*
 * trust_cli.h - `vigil trust`: the approved way to change what trusted-binary
 * enforcement lets run (install, add, import, remove) and to inspect it
 * (list, verify).  main.c dispatches "trust" here.  docs/TRUST.md has the
 * details.
 */
#ifndef VIGIL_TRUST_CLI_H
#define VIGIL_TRUST_CLI_H

#include <stdio.h>

/*
 * argv[0] is "trust".  Returns the exit code: 0 ok, 1 failure (for verify:
 * a tainted or missing file), 2 usage error.
 */
int trust_main(int argc, char **argv);

/* The same, writing to out and err instead of stdout and stderr (for tests). */
int trust_cli_run(int argc, char **argv, FILE *out, FILE *err);

#endif
