/*
 * mem.h - per-process memory samples, shared by bpf/mem.bpf.c and the agent.
 *
 * The leak scorer never scans /proc: on each tick the agent runs the
 * syscall program vigil_mem_walk (a walk of the process list with the
 * open-coded task iterator, 6.7+, into the mmap-able array vigil_mem_out)
 * or, on older kernels, reads the task iterator vigil_mem_sample
 * (iter/task); either writes one struct vigil_mem_sample per live
 * thread-group leader that has an mm.
 * The counters are the kernel's own mm counters (MM_ANONPAGES, MM_FILEPAGES,
 * MM_SHMEMPAGES, MM_SWAPENTS), read with CO-RE from both layouts (6.1's
 * atomic array, 6.2+'s percpu_counters, summed over CPUs where they are
 * percpu so the value is exact, not the batched approximation).
 *
 * No ppid or uid: following real_parent and real_cred for every task on
 * every tick costs two cache misses each; the agent's process table has
 * both.  The memcg fields are read once per memcg per pass and shared by
 * that memcg's tasks (mem.bpf.c, vigil_memcg_cache).
 */
#ifndef VIGIL_BPF_MEM_H
#define VIGIL_BPF_MEM_H

#ifndef __VMLINUX_H__
/* The same types as trace.h's, so the agent may include both headers. */
#include <linux/types.h>
typedef __u32 u32;
typedef __u64 u64;
#endif

#define VIGIL_MEM_COMM_LEN 16

struct vigil_mem_sample {
	u32 pid;		/* tgid */
	u32 flags;		/* VIGIL_MEM_* */
	u64 start_ns;		/* task->start_time, CLOCK_MONOTONIC ns (as vigil_task.start_ns): with pid, one process */
	u64 cgroup_id;		/* attribution hierarchy cgroup id, as vigil_task_cgroup_id() */
	u64 memcg_id;		/* the task's memory cgroup id (vigil_memcg_id); 0 if none */
	u64 memcg_usage;	/* bytes charged to that memcg (0 if none), read once per memcg per pass */
	u64 memcg_limit;	/* bytes: the tightest limit on the path to the root; ~0 = none */
	u64 rss_anon;		/* bytes */
	u64 rss_file;		/* bytes */
	u64 rss_shmem;		/* bytes */
	u64 swap;		/* bytes of swap entries */
	char comm[VIGIL_MEM_COMM_LEN];
};

#define VIGIL_MEM_KTHREAD 0x1	/* never emitted: kernel threads have no mm */

#endif /* VIGIL_BPF_MEM_H */
