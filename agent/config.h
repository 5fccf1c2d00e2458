/*
 * config.h - the agent's YAML configuration (`vigil run --config FILE`).
 *
 * Parsing never prints: errors come back in struct vigil_config_error with
 * file, line and column (1-based) so the caller decides what the user sees.
 */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "podmeta.h"
#include "policy.h"

struct vigil_config {
	char node_name[256];		/* "" = use the host name */
	char output[PATH_MAX];		/* "-" = stdout, else a file path (appended to) */
	unsigned observe;		/* VIGIL_OBS(...) bits from bpf/trace.h */
	uint32_t ring_buffer_bytes;	/* power of two, 4096..1 GiB */
	char cgroup_hierarchy[16];	/* "auto", "v2", "memory", "pids", "cpu" */
	uint32_t loss_report_interval_ms;	/* how often lost-event counters are checked */
	uint64_t output_max_bytes;	/* rotate the output file past this; 0 = never */
	uint32_t output_keep;		/* rotated files kept (output.1 .. output.N) */
	char metrics_addr[64];		/* HOST:PORT of /metrics, /healthz, /readyz; "off" = none */
	bool bpf_stats;			/* kernel BPF run-time stats (small cost per program run) */
	uint32_t metrics_max_containers;	/* per-container metric cap before the overflow series */
	/* Where container runtimes keep OCI bundles, for pod names (podmeta.h); 0 = none. */
	char runtime_state_dirs[PODMETA_MAX_DIRS][PODMETA_DIR_LEN];
	uint32_t n_runtime_state_dirs;
	char policy_dir[PATH_MAX];	/* where policy documents live */
	bool policy_required;		/* a missing/empty/unloadable policy dir is fatal */
	/* Built-in signal rules: 0 = off, else enum sig_action (policy.h). */
	int guard_container_escape;
	bool guard_protect_self;
	/* Trusted-binary enforcement (TrustPolicy does the choosing; these are the mechanics). */
	char trust_store_dir[PATH_MAX];	/* the trust store */
	char trust_bpffs[PATH_MAX];	/* pin root on a bpf filesystem */
	uint32_t trust_max_entries;	/* kernel trust map size */
	bool trust_fail_open;		/* on_agent_loss: open (true) or closed */
	uint32_t trust_fail_open_after_ms;	/* heartbeat age that counts as lost */
	uint32_t trust_hash_cache_entries;
	uint32_t oom_interval_ms;	/* OOM detectors' reading interval */
	uint32_t oom_rescan_ms;		/* OOM scopes matched to memcgs again */
	/* Memory growth sampling and leak scoring (LeakPolicy sets the criteria). */
	bool leak_enabled;		/* sample and score process memory in `vigil run` */
	uint32_t leak_interval_ms;	/* sampling interval */
	uint32_t leak_history;		/* samples kept per process */
	uint32_t leak_max_processes;	/* processes tracked; more are counted as dropped */
};

struct vigil_config_error {
	char file[PATH_MAX];
	int line;	/* 1-based; 0 if not tied to a position */
	int column;	/* 1-based */
	char msg[512];
};

/* The YAML text compiled into the binary; `vigil run` uses it without --config. */
extern const char vigil_default_config_yaml[];

void config_defaults(struct vigil_config *cfg);
/* Parse YAML text on top of the current contents of *cfg. 0, or -EINVAL with *err filled. */
int config_load_string(struct vigil_config *cfg, const char *text, size_t len,
		       const char *name, struct vigil_config_error *err);
/* Same, from a file; -errno for I/O errors (err->msg says what). */
int config_load_file(struct vigil_config *cfg, const char *path,
		     struct vigil_config_error *err);
/* A size as the config writes it: digits, optionally " KiB"/"MiB"/"GiB". 0 or -EINVAL/-ERANGE. */
int config_parse_size(const char *s, uint64_t *out);
/* "file:line:column: msg" (or "file: msg" when line is 0). */
void config_error_format(const struct vigil_config_error *err, char *buf, size_t len);

#endif
