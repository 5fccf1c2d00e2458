/*
 * loader.h - lifecycle of the tracing BPF object: open, configure rodata and
 * map sizes, load, attach, and tear down in reverse.  Returns 0 or -errno and
 * leaves a one-line reason in the caller's buffer; never prints.
 */
#ifndef VIGIL_LOADER_H
#define VIGIL_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "trace.h"

struct trace_bpf;
struct ring_buffer;

struct vigil_loader_opts {
	unsigned observe;		/* VIGIL_OBS(...) bits */
	uint32_t ring_buffer_bytes;	/* 0 = the object's default */
	enum vigil_cgroup_source cg_source;
	uint32_t cg_hierarchy_id;	/* of cg_source's hierarchy; 0 for v2 */
	uint64_t wakeup_bytes;		/* see vigil_wakeup_bytes in bpf/lib/ringbuf.h */
	bool exec_path_lsm;		/* resolve exec paths in lsm.s/bprm_check_security */
	bool signal_policy;		/* judge signals (signal_generate loads even if not observed) */
	bool signal_lsm;		/* and deny them in lsm/task_kill */
};

struct vigil_bpf {
	struct trace_bpf *skel;
	int ncpus;
	bool exec_path_lsm;	/* the LSM path hook is loaded and attached */
	bool signal_lsm;	/* lsm/task_kill is loaded and attached */
	/*
	 * OOM capture, always on where the kernel has oom:mark_victim:
	 * oom_victim_args is that tracepoint's argument count as probed from
	 * BTF (2: task + uid, 1: the victim's tid only, 0: no tracepoint, so
	 * no capture); oom_kprobe says kprobe/oom_kill_process is attached too.
	 */
	int oom_victim_args;
	bool oom_kprobe;
	bool oom_counter;	/* kills told from exiting tasks' marks by the OOM_KILL counter */
	char oom_hooks[384];	/* the above in words, for the agent's hooks line */
};

int vigil_bpf_load(struct vigil_bpf *b, const struct vigil_loader_opts *o,
		   char *why, size_t whylen);
int vigil_bpf_ringbuf_fd(const struct vigil_bpf *b);

typedef int (*vigil_seed_fn)(const struct vigil_seed_record *r, void *ctx);
/* Run the task iterator once; calls fn for every live process. */
int vigil_bpf_seed(struct vigil_bpf *b, vigil_seed_fn fn, void *ctx);

/* Sum over CPUs of entries 0..n-1 of a per-CPU array of u64 counters. 0 or -errno. */
int vigil_bpf_percpu_sum(const struct vigil_bpf *b, int map_fd, uint32_t n, uint64_t *out);
/* Sum of per-CPU reserve failures, indexed by enum vigil_event_type. */
int vigil_bpf_lost(const struct vigil_bpf *b, uint64_t lost[VIGIL_EV__MAX]);

/* Delete every key of a BPF hash map for which keep() is false.  0 or -ENOMEM. */
int vigil_bpf_map_prune(int fd, size_t key_size, bool (*keep)(const void *key, void *ctx),
			void *ctx);

void vigil_bpf_destroy(struct vigil_bpf *b);

#endif
