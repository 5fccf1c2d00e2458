/*
 * features.h - kernel capability probe behind `vigil features` and the
 * loader's choice of hooks.  Everything is probed by trying (loading a tiny
 * program, attaching it, reading a file), never by kernel version.
 */
#ifndef VIGIL_FEATURES_H
#define VIGIL_FEATURES_H

#include <stdbool.h>
#include <stdio.h>
#include "cgroup.h"

struct btf;

/* Present when the kernel has kprobes (the kprobe PMU). */
#define VIGIL_KPROBE_PMU_TYPE "/sys/bus/event_source/devices/kprobe/type"
/* Present when the kernel has uprobe events (the uprobe PMU). */
#define VIGIL_UPROBE_PMU_TYPE "/sys/bus/event_source/devices/uprobe/type"

struct vigil_probe {
	bool ok;
	char why[160];	/* on failure: what failed (e.g. "load: Operation not permitted"); on success may say how */
};

struct vigil_features {
	struct vigil_probe btf;		/* /sys/kernel/btf/vmlinux parses */
	struct vigil_probe ringbuf;	/* BPF_MAP_TYPE_RINGBUF creatable */
	struct vigil_probe tp_btf;	/* tp_btf program loads and attaches */
	struct vigil_probe iter_task;	/* iter/task loads and attaches */
	struct vigil_probe fentry;	/* fentry program loads and attaches */
	struct vigil_probe kprobes;	/* a kprobe attaches */
	struct vigil_probe send_signal;	/* bpf_send_signal helper available to tracing progs */
	struct vigil_probe lsm_listed;	/* "bpf" in /sys/kernel/security/lsm */
	struct vigil_probe lsm;		/* an lsm/ program loads AND attaches */
	struct vigil_probe psi;		/* /proc/pressure/memory readable */
	struct vigil_probe tp_mark_victim;	/* oom:mark_victim in BTF (OOM module) */
	struct vigil_probe tp_rss_stat;	/* kmem:rss_stat in BTF (leak module) */
	/* oom:mark_victim's arguments: 2 = (task, uid), 1 = (pid); 0 = not probed / none */
	int mark_victim_args;
	struct vigil_probe kp_oom_kill;	/* a kprobe attaches to oom_kill_process */
	struct vigil_probe oom_counter;	/* vm_event_states in kallsyms: kills told exactly */
	struct vigil_probe mem_sampler;	/* bpf/mem.bpf.c loads and one iterator pass reads */
	bool mem_task_list;		/* ... and walks the process list (memsampler_walk) */
	struct vigil_probe uprobes;	/* a uprobe on this binary attaches (leak trace) */
	char lockdown[32];		/* "none", "integrity", "confidentiality", "unknown" */
	struct vigil_cgroup_layout cgroups;
};

enum vigil_module_id {
	VIGIL_MOD_TRACE,	/* process/signal tracing */
	VIGIL_MOD_EXEC_ENFORCE,	/* trusted-binary enforcement */
	VIGIL_MOD_SIGNAL_POLICY,
	VIGIL_MOD_OOM,
	VIGIL_MOD_LEAK,
	VIGIL_MOD_OOM_CAPTURE,	/* kernel OOM kills as oom_kill events */
	VIGIL_MOD_LEAK_SAMPLING,	/* per-process memory samples for the leak scorer */
	VIGIL_MOD_LEAK_TRACE,	/* `vigil leaks --trace PID`: allocator uprobes */
	VIGIL_MOD__COUNT,
};

struct vigil_module_mode {
	const char *module;	/* "trace", "exec-enforcement", ... */
	const char *mode;	/* e.g. "tp_btf", "lsm", "sigkill-fallback", "unavailable" */
	char why[320];
	bool implemented;	/* false: mode this kernel would give, module not built yet */
};

/* Fill *f. Never fails as a whole; each probe records its own result. */
void features_probe(struct vigil_features *f);
/* Only the BPF LSM probe (cheap; what the loader needs to pick hooks). */
bool features_probe_lsm(struct vigil_probe *out);
/*
 * The oom:mark_victim tracepoint's arguments in this BTF, not counting the
 * hidden context pointer: 2 for (struct task_struct *, uid_t), 1 for the
 * old (int pid); -ENOENT if there is no such tracepoint, -EINVAL if its
 * typedef is not a function pointer.
 */
int features_mark_victim_args(const struct btf *btf);
/* Is `name` in /proc/kallsyms (what the verifier resolves a __ksym by)? */
bool features_ksym_exists(const char *name);
void features_modes(const struct vigil_features *f, struct vigil_module_mode out[VIGIL_MOD__COUNT]);
void features_print_text(FILE *out, const struct vigil_features *f);
void features_print_json(FILE *out, const struct vigil_features *f);

#endif
