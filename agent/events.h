/*
 * events.h - decoding raw ring-buffer records (bpf/trace.h) and enriching
 * them with the process table and container attribution, into a view the
 * sinks format.  Also the event filter used by `vigil trace`.
 *
 * Engines and sinks receive a const view; only this module mutates the
 * process table.
 */
#ifndef VIGIL_EVENTS_H
#define VIGIL_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "containers.h"
#include "proc.h"
#include "trace.h"

struct vigil_subject {
	const struct vigil_proc *proc;	/* NULL only for fork's/signal's other side when absent */
	const struct vigil_ctr *ctr;
};

/* A signal policy rule's verdict on a signal event, in names. */
struct vigil_verdict {
	const char *policy;	/* metadata.name, or "builtin" */
	const char *rule;	/* the rule's name */
	const char *action;	/* as configured: "audit", "deny", "kill-sender" */
	const char *effect;	/* what was done: "audit", "deny", "kill-sender" */
	uint32_t generation;	/* policy generation that judged it */
	bool denied;		/* kill(2) failed with EPERM */
	bool sender_killed;	/* SIGKILL was queued to the sender */
	bool kill_failed;	/* the rule said kill-sender, but bpf_send_signal() failed */
};

/* A trust violation (VIGIL_EV_TRUST), resolved by the trust engine, in names. */
struct vigil_trust_info {
	const char *hook;	/* "exec", "mmap", "module", "module_data" */
	const char *reason;	/* "untrusted", "tainted" */
	const char *action;	/* "audit", "denied", "killed", "kill_failed" */
	const char *mode;	/* "audit", "enforce" */
	const char *enforcement;	/* "lsm", "sigkill" */
	const char *policy;	/* deciding TrustPolicy's name, "" if unknown */
	const char *rule;
	const char *path;	/* as the process saw it */
	char sha256[65];	/* of the file now; "" when it could not be read */
	const char *sha256_error;	/* why sha256 is "", else NULL */
	const char *recorded_path;	/* the store's record for this inode, or NULL */
	char recorded_sha256[65];
	char dev[24];		/* "major:minor" */
	uint64_t ino;
	uint32_t generation;
	bool fail_open;		/* enforce was due, but the agent was gone too long */
	bool audit_only_hook;	/* enforce was due, but this hook can only report */
	bool path_truncated;
};

/*
 * An OOM kill or pre-kill (VIGIL_EV_OOM_KILL / VIGIL_EV_OOM_PRE_KILL), in
 * names.  Kernel kills: the enricher fills source, memcg_path and scope.
 * vigil's: the OOM policy engine fills all of it.
 */
struct vigil_oom_info {
	const char *source;	/* "kernel", "vigil" */
	const char *scope;	/* kernel: "memcg", "global"; vigil: "process", "process_group", "cgroup" */
	const char *memcg_path;	/* the OOM-ing (kernel) or watched (vigil) memcg; "" global; NULL unknown */
	/* vigil only (NULL / 0 for the kernel's kills): */
	const char *policy;	/* OomPolicy metadata.name */
	const char *detector;	/* "usage", "psi", "swap", "handoff" */
	const char *detail;	/* the detector as configured, e.g. "usage >= 90% of limit for 2s" */
	double value;		/* the detector's reading when it fired (percent) */
	double threshold;	/* its threshold (percent) */
	const char *strategy;	/* "largest_rss", "fastest_growth" */
	double growth_bytes_per_s;	/* the victim's recent RSS slope, when known */
	bool dry_run;		/* nothing was (or will be) killed */
	uint32_t killed;	/* oom_kill: processes signalled (cgroup/process_group scope: all of them) */
	const char *hook;	/* pre-kill hook outcome: "ok", "failed", "timeout", "none" */
	int hook_status;	/* the hook's exit status, when it exited */
	uint64_t latency_ns;	/* oom_kill by vigil: from the detector firing to SIGKILL sent */
};

/*
 * A leak the leak scorer confirmed (VIGIL_EV_LEAK_SUSPECTED) or let go
 * (VIGIL_EV_LEAK_CLEARED), in numbers.  Bytes are the process's footprint:
 * anon + shmem + swap.
 */
struct vigil_leak_info {
	const char *policy;		/* LeakPolicy metadata.name, or "default" */
	const char *reason;		/* cleared: "growth stopped", "exited"; NULL when suspected */
	double score;			/* [0, 1] */
	double slope;			/* bytes per second (Theil-Sen) */
	uint64_t baseline;		/* bytes, taken after the warm-up */
	uint64_t current;		/* bytes */
	double growth_pct;		/* (current - baseline) / baseline * 100 */
	double tte_s;			/* seconds to exhaustion; < 0: not growing */
	uint64_t limit;			/* what it would exhaust, bytes */
	const char *limit_scope;	/* "cgroup", "node" */
	uint32_t evaluations;		/* consecutive evaluations at or above the threshold */
	double observed_s;		/* since the scorer first saw the process */
	uint64_t rss_anon, rss_file, rss_shmem, swap;	/* bytes, now */
};

struct vigil_event_view {
	uint32_t type;		/* enum vigil_event_type */
	uint64_t time_ns;	/* CLOCK_REALTIME ns */
	const void *raw;	/* the struct from trace.h matching type */
	/*
	 * subject: exec -> the new image; exit -> the process; fork -> the
	 * parent; signal -> the sender; signal_deliver -> the target;
	 * oom_kill/oom_pre_kill -> the victim.
	 * other: fork -> the child; signal -> the target; a kernel oom_kill ->
	 * the trigger (the task whose allocation failed).
	 */
	struct vigil_subject subject;
	struct vigil_subject other;
	const struct vigil_verdict *verdict;	/* signal: set when a policy rule matched */
	const struct vigil_trust_info *trust;	/* trust: set by the trust engine */
	const struct vigil_oom_info *oom;	/* oom_kill / oom_pre_kill */
	const struct vigil_leak_info *leak;	/* leak_suspected / leak_cleared */
};

struct vigil_enricher {
	struct vigil_proc_table procs;
	struct vigil_ctr_cache ctrs;
	int64_t mono_to_real_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC at start */
	struct vigil_proc scratch[2];	/* signal ends that are not in the table */
	/* Called when a container's root cgroup is removed, before it is forgotten. */
	void (*container_gone)(void *ctx, const struct vigil_ctr *c);
	void *container_gone_ctx;
	uint64_t malformed;		/* records too short for their type */
	/*
	 * Mount point of the memory controller's hierarchy (the v1 memory
	 * mount, else cgroup2), where an oom_kill's memcg_id is resolved to a
	 * path.  "" = paths stay unknown.  Set by the caller after init.
	 */
	char mem_mount[256];
	struct vigil_oom_info oom;	/* the kernel oom_kill view's, until the next event */
	char oom_path[512];
};

int enricher_init(struct vigil_enricher *e, const char *cgroup_mount);
void enricher_free(struct vigil_enricher *e);
int enricher_seed(struct vigil_enricher *e, const struct vigil_seed_record *r);
/*
 * 0: *out is an event for the sinks.  1: an internal record (cgroup
 * mkdir/rmdir) was consumed; nothing to emit.  -EINVAL for a malformed
 * record, -ENOMEM.
 */
int enrich_event(struct vigil_enricher *e, const void *data, size_t len,
		 struct vigil_event_view *out);
/*
 * A view of an OOM event built in user space (the OOM policy engine's own
 * kills and pre-kills): type is VIGIL_EV_OOM_KILL or VIGIL_EV_OOM_PRE_KILL,
 * raw the event as the kernel would have sent it (VIGIL_OOM_BY_VIGIL in
 * flags, hdr.ts_ns CLOCK_MONOTONIC), oom the engine's names.  The subject
 * is raw->victim as found in the process table (a snapshot of raw->victim
 * if it is not there; raw->victim.pid alone with VIGIL_OOM_VICTIM_PID_ONLY),
 * the other side raw->trigger when its pid is not 0.  Nothing is inserted
 * into the process table.  raw and oom are not copied: they, and the view,
 * must stay valid until every sink has seen it, and the view only until the
 * enricher's next call.  0, or -EINVAL for another type.
 */
int enrich_synthetic(struct vigil_enricher *e, uint32_t type, const struct vigil_oom_event *raw,
		     const struct vigil_oom_info *oom, struct vigil_event_view *out);
/*
 * A view of a leak event (the leak scorer's): the subject is raw->task as
 * found in the process table (a snapshot of raw->task if absent).  Nothing
 * is copied; raw, leak and the view live until the enricher's next call.
 * 0, or -EINVAL for another type.
 */
int enrich_leak(struct vigil_enricher *e, uint32_t type, const struct vigil_leak_event *raw,
		const struct vigil_leak_info *leak, struct vigil_event_view *out);
/* Call after every sink has seen the view: forgets exited processes. */
void enrich_done(struct vigil_enricher *e, const struct vigil_event_view *v);

/* The OOM event types: not in VIGIL_OBS_ALL, as no `observe` switch turns them off. */
#define VIGIL_OBS_OOM (VIGIL_OBS(VIGIL_EV_OOM_KILL) | VIGIL_OBS(VIGIL_EV_OOM_PRE_KILL))
/* The leak scorer's event types: user space only, on whenever the scorer runs. */
#define VIGIL_OBS_LEAK (VIGIL_OBS(VIGIL_EV_LEAK_SUSPECTED) | VIGIL_OBS(VIGIL_EV_LEAK_CLEARED))

const char *event_type_name(uint32_t type);
/* Types only user space makes (pre-kills, leak events): never lost in the ring buffer. */
bool event_user_space_only(uint32_t type);	/* "exec", ...; NULL if unknown */
int event_type_parse(const char *name);		/* VIGIL_EV_* (VIGIL_OBS_ALL or OOM), or -1 */
const char *signal_result_name(int32_t result);	/* "delivered", ... */
const char *signal_handler_name(uint32_t handler);
/* "SIGKILL", "SIGRTMIN+3", "" for 0, "SIG99" past SIGRTMAX; buf holds 16 bytes. */
const char *signal_name(int sig, char buf[16]);

struct vigil_filter {
	unsigned types;		/* VIGIL_OBS bits */
	uint32_t pid;		/* 0 = any */
	const char *container;	/* id or id prefix; NULL = any */
	bool host_only;
};

bool event_matches(const struct vigil_filter *f, const struct vigil_event_view *v);

#endif
