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
	char lockdown[32];		/* "none", "integrity", "confidentiality", "unknown" */
	struct vigil_cgroup_layout cgroups;
};

enum vigil_module_id {
	VIGIL_MOD_TRACE,	/* process/signal tracing */
	VIGIL_MOD_EXEC_ENFORCE,	/* trusted-binary enforcement */
	VIGIL_MOD_SIGNAL_POLICY,
	VIGIL_MOD_OOM,
	VIGIL_MOD_LEAK,
	VIGIL_MOD__COUNT,
};

struct vigil_module_mode {
	const char *module;	/* "trace", "exec-enforcement", ... */
	const char *mode;	/* e.g. "tp_btf", "lsm", "sigkill-fallback", "unavailable" */
	char why[200];
	bool implemented;	/* false: mode this kernel would give, module not built yet */
};

/* Fill *f. Never fails as a whole; each probe records its own result. */
void features_probe(struct vigil_features *f);
/* Only the BPF LSM probe (cheap; what the loader needs to pick hooks). */
bool features_probe_lsm(struct vigil_probe *out);
void features_modes(const struct vigil_features *f, struct vigil_module_mode out[VIGIL_MOD__COUNT]);
void features_print_text(FILE *out, const struct vigil_features *f);
void features_print_json(FILE *out, const struct vigil_features *f);

#endif
