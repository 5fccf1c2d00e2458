/*
 * leaktrace.h - `vigil leaks --trace PID`: which call stacks hold the memory.
 *
 * Uprobes (and uretprobes) on the allocator of whatever libc the process
 * maps - malloc, calloc, realloc, free, posix_memalign, aligned_alloc, mmap,
 * munmap - feed bpf/leaktrace.bpf.c, which keeps every sampled allocation
 * still outstanding (address -> size, time, user stack id in a BPF stack
 * map).  At the end, allocations older than min_age are grouped by stack,
 * the stacks are symbolized with elfutils' libdwfl, and the top stacks by
 * outstanding bytes are printed.
 *
 * Bad input gets a message on err and a non-zero exit, never a crash:
 * a pid that does not exist or is a thread id (2), a process with no
 * allocator to probe - a static binary without libc and without malloc
 * symbols (1), a process that exits mid-trace (the allocations seen until
 * then are reported, with a note; exit 0), stripped binaries (frames
 * printed as module+0xoffset).
 */
#ifndef VIGIL_LEAKTRACE_H
#define VIGIL_LEAKTRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct leaktrace_opts {
	pid_t pid;
	double duration_s;	/* default 10 */
	double min_age_s;	/* report allocations at least this old at the end; default (< 0) 1/2 of duration, at most 5 s */
	uint32_t sample_every;	/* 1 = every allocation; N = about one in N (bytes scaled by N in the report) */
	uint32_t top;		/* stacks printed; default 10 */
	bool json;		/* one JSON object (the whole report) instead of text */
	FILE *out, *err;
};

/* Run the trace; returns the process exit code (0 ok, 1 failure, 2 usage). */
int leaktrace_run(const struct leaktrace_opts *o);

/*
 * `vigil leaks ... --trace PID ...`: argv[0] is "leaks"; parses the trace's
 * options (--trace PID, --duration, --min-age, --sample, --top, --json,
 * --help) and runs leaktrace_run.  Returns the exit code (2: usage error).
 */
int leaktrace_cli(int argc, char **argv, FILE *out, FILE *err);

/* Does this `vigil leaks` command line ask for --trace (before any "--")? */
bool leaktrace_wanted(int argc, char **argv);

#endif
