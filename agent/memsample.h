/*
 * memsample.h - one leak-scorer tick's worth of per-process memory, read from
 * the kernel through a task iterator (bpf/mem.bpf.c), without scanning /proc.
 */
#ifndef VIGIL_MEMSAMPLE_H
#define VIGIL_MEMSAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"

struct vigil_memsampler;	/* opaque: the loaded object, its iterator link, a read buffer */

/*
 * Load bpf/mem.bpf.c and attach its iterator.  cg_source/cg_hierarchy_id
 * select the attribution hierarchy exactly like the trace object's
 * vigil_cg_source / vigil_cg_hierarchy_id rodata (so cgroup_id matches the
 * ids the rest of the agent uses).  0 or -errno; on error *why says what and
 * what to do.
 */
int memsampler_open(struct vigil_memsampler **out, uint32_t cg_source, uint32_t cg_hierarchy_id,
		    char *why, size_t whylen);

typedef int (*memsample_fn)(const struct vigil_mem_sample *s, void *ctx);

/*
 * One pass: run the task-list walk, or create an iterator fd and read
 * every record (large reads, no per-process syscalls); call fn for each
 * (the record is valid only during the call).  A non-zero return from fn stops
 * the pass and is returned.  Returns the number of records (>= 0) or -errno.
 */
long memsampler_read(struct vigil_memsampler *m, memsample_fn fn, void *ctx);

/*
 * How a pass walks the tasks: "task-list" (a syscall program over the
 * process list with the open-coded task iterator, 6.7+) or "iter/task" (the
 * task iterator, which visits every thread by pid).
 */
const char *memsampler_walk(const struct vigil_memsampler *m);

void memsampler_close(struct vigil_memsampler *m);

#endif
