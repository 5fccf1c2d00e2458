/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * leaktrace.h - what bpf/leaktrace.bpf.c keeps about one traced process's
 * outstanding allocations, shared with agent/leaktrace.c, which reads the
 * maps once at the end of a trace (`vigil leaks --trace PID`).
 *
 * Nothing here is an event: the BPF side aggregates in maps (allocations by
 * address, stacks by id, counters by reason) and the agent reads them.
 */
#ifndef VIGIL_BPF_LEAKTRACE_H
#define VIGIL_BPF_LEAKTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;
#endif

/*
 * Frames kept per user stack.  The stack map's value is this many 8-byte
 * addresses, preallocated for every entry: 64 frames x 16384 stacks is
 * 8 MiB of kernel memory, against 16 MiB at the kernel's limit of 127.
 * Leaking code is rarely more than 64 calls below main.
 */
#define LT_STACK_DEPTH 64
#define LT_MAX_STACKS 16384
/*
 * Outstanding sampled allocations tracked at once.  The map is not
 * preallocated: each live entry costs about 100 bytes of kernel memory
 * (8-byte key, 24-byte value, hash element header), so a full map is about
 * 50 MiB and an idle trace costs nothing.  Past it, new allocations are
 * counted in LT_CTR_MAP_FULL and not tracked; --sample N shrinks the need.
 */
#define LT_MAX_ALLOCS (512 * 1024)
/* Threads inside an allocator call at once (entry seen, return pending). */
#define LT_MAX_PENDING 16384

/* One outstanding allocation, keyed by its address. */
struct lt_alloc {
	u64 size;	/* bytes asked for (calloc: nmemb * size) */
	u64 ts_ns;	/* bpf_ktime_get_ns() at the allocator's return (CLOCK_MONOTONIC) */
	s64 stack_id;	/* id in the stacks map, or -errno from bpf_get_stackid */
};

/* Which allocator call a pending entry belongs to. */
enum lt_kind {
	LT_MALLOC = 1,
	LT_CALLOC,
	LT_REALLOC,
	LT_POSIX_MEMALIGN,
	LT_ALIGNED_ALLOC,	/* also memalign, valloc, pvalloc */
	LT_MMAP,
};

/*
 * Counters (per-CPU array, summed by the agent).  Every allocation that is
 * not tracked for a reason other than sampling lands in one of them, so the
 * report can say what it did not see.
 */
enum lt_counter {
	LT_CTR_CALLS,		/* allocator calls entered (before sampling) */
	LT_CTR_RECORDED,	/* sampled allocations stored in the allocs map */
	LT_CTR_FREED,		/* free/munmap/realloc that removed a stored allocation */
	LT_CTR_MAP_FULL,	/* not stored: allocs map full (or no memory) */
	LT_CTR_STACK_LOST,	/* stored, but no stack: the stack map is full or the walk failed */
	LT_CTR_STACK_COLLISION,	/* stored, but no stack: a different stack holds its hash slot */
	LT_CTR_PENDING_FULL,	/* not stored: no room to remember the call until it returned */
	LT_CTR_MISSED_RETURN,	/* a call on this thread never came back (longjmp out, thread killed) */
	LT_CTR_NESTED,		/* an allocator call made inside another one: the outer one is tracked */
	LT_CTR_RETURN_UNSEEN,	/* a return whose entry was never seen (only counted without sampling) */
	LT_CTR_FAILED,		/* the allocator returned NULL / MAP_FAILED: nothing to track */
	LT_CTR_MMAP_ALLOCATOR,	/* mmap called from inside the allocator's library: counted at malloc */
	LT_CTR_MMAP_FILE,	/* file-backed mmap: page cache, not an allocation */
	LT_CTR__COUNT,
};

#endif /* VIGIL_BPF_LEAKTRACE_H */
