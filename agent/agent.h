/*
 * agent.h - the running agent: BPF object + enrichment + libevent loop, feeding
 * one sink.  Shared by `vigil run` and `vigil trace`, which differ only in
 * filter, sink and stop conditions.
 */
#ifndef VIGIL_AGENT_H
#define VIGIL_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "cgroup.h"
#include "events.h"
#include "loader.h"
#include "metrics.h"
#include "prometheus.h"
#include "reload.h"
#include "sigpolicy.h"
#include "telemetry.h"
#include "leak.h"
#include "oomengine.h"
#include "trustengine.h"

struct event_base;
struct event;

struct vigil_sink {
	void (*event)(void *ctx, const struct vigil_event_view *v);
	/* Called when loss counters grow: delta since the last call, and totals. */
	void (*lost)(void *ctx, uint64_t time_ns, const uint64_t delta[VIGIL_EV__MAX],
		     const uint64_t total[VIGIL_EV__MAX]);
	void (*flush)(void *ctx);
	/* A policy load attempt (optional). */
	void (*policy_reload)(void *ctx, const struct vigil_reload_info *r);
	/* SIGHUP: reopen the output file (optional). */
	void (*reopen)(void *ctx);
	void *ctx;
};

struct vigil_agent_opts {
	unsigned observe;		/* VIGIL_OBS bits: which programs load (fork/exec/exit always do) */
	uint32_t ring_buffer_bytes;
	const char *cgroup_hierarchy;	/* "auto", "v2", "memory", "pids", "cpu" */
	const char *const *state_dirs;	/* runtime state dirs for pod names; NULL: the defaults */
	size_t n_state_dirs;
	struct vigil_filter filter;
	double duration_s;		/* 0 = until a signal */
	uint32_t loss_interval_ms;
	struct vigil_sink sink;
	const char *metrics_addr;	/* NULL or "off": no HTTP server */
	bool bpf_stats;			/* enable kernel BPF run-time statistics */
	unsigned metrics_max_containers;
	const uint64_t *output_errors;	/* the sink's failed writes, exported as losses */
	bool policies;			/* run the policy engines (vigil run) */
	const char *policy_dir;
	bool policy_required;
	struct sig_guard guard;		/* built-in signal rules */
	struct vigil_trust_settings trust;	/* store_dir/bpffs/...; lsm and cg_* are filled in */
	uint32_t oom_interval_ms;	/* OOM engine: detector readings */
	uint32_t oom_rescan_ms;		/* OOM engine: scope rediscovery */
	bool leak_enabled;		/* run the leak scorer (with policies) */
	uint32_t leak_interval_ms;	/* leak scorer: sampling interval */
	uint32_t leak_history;		/* samples kept per process */
	uint32_t leak_max_processes;
};

struct vigil_agent {
	struct vigil_agent_opts o;
	struct vigil_bpf bpf;
	struct vigil_enricher en;
	struct ring_buffer *rb;
	struct vigil_cgroup_layout layout;
	enum vigil_cgroup_source cg_source;
	uint32_t cg_hierarchy_id;
	char cg_mount[256];
	int sigfd;
	int stats_fd;			/* BPF_ENABLE_STATS handle while --bpf-stats is on */
	struct event_base *base;
	struct event *ev_rb, *ev_sig, *ev_tick, *ev_drain, *ev_dur;
	struct vigil_metrics metrics;
	struct vigil_telemetry tele;
	struct vigil_prom prom;
	bool http_on;
	bool ready;			/* attached and seeded: /readyz answers 200 */
	struct timespec last_turn;	/* the loop's last drain, for /healthz */
	uint64_t emitted;		/* passed the filter, handed to the sink */
	uint64_t lost[VIGIL_EV__MAX];	/* last totals read from the BPF counters */
	int stop_signal;		/* the signal that ended the loop, or 0 */
	char hooks[512];		/* which optional hooks are in use, and why */
	bool policy_on;
	struct vigil_sigpolicy sp;
	struct vigil_reloader rl;
	bool trust_on;			/* the trust engine is initialised */
	struct vigil_trust_engine trust;
	struct event *ev_trust;		/* 1 s: the trust heartbeat */
	bool oom_on;			/* the OOM policy engine is initialised */
	struct vigil_oom_engine oom;
	bool leak_on;			/* the leak scorer runs */
	struct vigil_leak_engine leak;
	char leak_why[256];		/* why it does not, when enabled but off */
};

/* Choose the hierarchy cgroup ids are read from. 0 or -ENOENT (why filled). */
int agent_pick_cgroup(const struct vigil_cgroup_layout *l, const char *want,
		      enum vigil_cgroup_source *src, char *mount, size_t mountlen,
		      char *why, size_t whylen);

int agent_open(struct vigil_agent *a, const struct vigil_agent_opts *o, char *why, size_t whylen);
/* Runs until SIGINT/SIGTERM or the duration. 0 or -errno. */
int agent_run(struct vigil_agent *a);
void agent_close(struct vigil_agent *a);

uint64_t agent_lost_total(const struct vigil_agent *a);

/*
 * Hand one enriched view to the agent's outputs: the metrics (telemetry),
 * then, if it passes the filter, the sink.  For events the agent builds
 * itself (the OOM engine's, via enrich_synthetic()) as for the kernel's.
 */
void agent_emit(struct vigil_agent *a, const struct vigil_event_view *v);

#endif
