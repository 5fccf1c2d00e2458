/*
 * leaks_cli.h - `vigil leaks`: ranked leak lists from the running agent,
 * or (--trace PID) the allocation stacks of one process.  main.c
 * dispatches "leaks" here.
 */
#ifndef VIGIL_LEAKS_CLI_H
#define VIGIL_LEAKS_CLI_H

#include <stddef.h>
#include <stdio.h>

/* argv[0] is "leaks".  Returns the exit code: 0 ok, 1 failure, 2 usage error. */
int leaks_main(int argc, char **argv);
/* The same, writing to out and err (for tests). */
int leaks_cli_run(int argc, char **argv, FILE *out, FILE *err);

/* v[0..n-1] as at most width UTF-8 block characters, scaled to their own range. */
void leaks_sparkline(FILE *out, const double *v, size_t n, size_t width);

#endif
