/*
 * policy.h - policy documents: loading, validating and the in-memory set.
 *
 * Policies are Kubernetes-style YAML documents (apiVersion vigil.dev/v1alpha1,
 * kind, metadata.name, spec), any number per file, in a policy directory.
 * Loading never prints and never stops at the first problem: every problem
 * becomes a diagnostic with file, line and column, so `vigil policy check`
 * can show all of them at once.  A set with any error diagnostic must not be
 * used: the caller keeps its previous set.
 *
 * The set is plain data.  Compiling it into BPF maps is the engines' job
 * (sigpolicy.c for SignalPolicy); this module knows no BPF.
 */
#ifndef VIGIL_POLICY_H
#define VIGIL_POLICY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "selector.h"

#define POLICY_API_VERSION "vigil.dev/v1alpha1"
#define VIGIL_POLICY_DIR_DEFAULT "/etc/vigil/policies.d"
#define POLICY_NAME_MAX 63		/* metadata.name: a DNS-1123 label */
#define POLICY_MAX_FILE_BYTES (1u << 20)	/* larger files are refused */
/* Rules the kernel's signal table holds, built-in rules included. */
#define POLICY_MAX_SIGNAL_RULES 62

/* ---------------------------------------------------------------- diagnostics */

struct policy_diag {
	char file[PATH_MAX];
	int line;	/* 1-based; 0 when not tied to a position (e.g. I/O errors) */
	int column;	/* 1-based */
	bool warning;	/* warnings never make a set unusable */
	char msg[384];
};

struct policy_diags {
	struct policy_diag *v;
	size_t n, cap;
	size_t errors;	/* diagnostics with !warning */
};

void policy_diags_free(struct policy_diags *d);
/* Append one diagnostic (line 0: not tied to a position).  0 or -ENOMEM. */
int policy_diag_add(struct policy_diags *d, const char *file, int line, int column,
		    bool warning, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* "file:line:column: message" ("warning: " after the position for warnings). */
void policy_diag_format(const struct policy_diag *dg, char *buf, size_t len);

/* ---------------------------------------------------------------- documents */

enum policy_kind {
	POLICY_KIND_SIGNAL = 1,		/* SignalPolicy */
	POLICY_KIND_TRUST = 2,		/* TrustPolicy */
	POLICY_KIND_OOM = 3,		/* OomPolicy */
	POLICY_KIND_LEAK = 4,		/* LeakPolicy */
};

const char *policy_kind_name(enum policy_kind k);	/* "SignalPolicy" */

enum sig_action {
	SIG_ACTION_AUDIT = 1,
	SIG_ACTION_DENY = 2,
	SIG_ACTION_KILL_SENDER = 3,
};

enum sig_relation {
	SIG_REL_NONE = 0,		/* no relation constraint */
	SIG_REL_SAME_CONTAINER = 1,	/* target is in the sender's container */
	SIG_REL_OTHER_CONTAINER = 2,	/* target is in a container, not the sender's */
	SIG_REL_HOST = 3,		/* target is a host process */
};

const char *sig_action_name(enum sig_action a);		/* "audit", "deny", "kill-sender" */
const char *sig_relation_name(enum sig_relation r);	/* "", "same-container", ... */

struct signal_rule {
	char name[POLICY_NAME_MAX + 1];	/* rules[].name, or "rule-N" (1-based) */
	struct selector sender;
	struct selector target;
	enum sig_relation relation;
	uint64_t signals;		/* bit (sig - 1) for sig 1..64 */
	enum sig_action action;
	enum sig_action fallback;	/* what deny does without BPF LSM: audit or kill-sender */
	int line;			/* where the rule starts, for messages */
	int column;			/* 1-based, with line */
};

/* TrustPolicy: what happens when a file outside the trust store runs. */
enum trust_mode {
	TRUST_MODE_OFF = 0,		/* not checked */
	TRUST_MODE_AUDIT = 1,		/* reported, allowed */
	TRUST_MODE_ENFORCE = 2,		/* refused (EPERM with BPF LSM; SIGKILL without) */
};

const char *trust_mode_name(enum trust_mode m);		/* "off", "audit", "enforce" */

struct trust_rule {
	char name[POLICY_NAME_MAX + 1];	/* rules[].name, or "rule-N" (1-based) */
	struct selector selector;	/* which workloads; no binaries/comms (process-level) */
	enum trust_mode mode;
	bool libraries;			/* also judge executable mmaps of files (default true) */
	bool modules;			/* also judge kernel module loads (default false) */
	int line;
	int column;
};

/*
 * OomPolicy: vigil's own OOM killer for a scope of memory cgroups (or the
 * node), acting before the kernel's must, or in its place (handoff).
 *
 *   spec:
 *     scope:                  # absent: the whole node
 *       cgroups: ["/batch*"]  # memcg paths; also containerIds, podUIDs,
 *                             # namespaces, pods (each container's memcg);
 *                             # binaries/comms are refused here
 *     detectors:              # any one holding for `duration` fires
 *       - usage: {percent: 90}            # of the memcg's limit (node: of MemTotal)
 *       - usage: {percent: 80, of: node}  # of the node's memory
 *       - psi: {type: some, avg10: 40}    # memory pressure avg10, percent
 *       - psi: {type: full, stall: 150ms, window: 1s}   # PSI trigger
 *       - swap: {percent: 50}             # swap used, of the memcg's swap limit or the node's
 *     duration: 2s            # default 0s: act on the first reading
 *     victim:
 *       strategy: largest_rss # or fastest_growth
 *       oomScoreAdj: true     # weigh oom_score_adj like the kernel (default true)
 *       prefer: {comms: [...]}   # selector: chosen first
 *       avoid: {binaries: [...]} # selector: chosen only if nothing else is left
 *     kill: process           # or process_group, cgroup
 *     dryRun: false
 *     postActionDelay: 10s    # quiet time per memcg after acting (default 5s)
 *     preKillHook: {command: "/usr/local/bin/dump", timeout: 5s}
 *     handoff: false          # cgroup v1: oom_kill_disable=1, every OOM resolved by policy
 *     handoffDeadline: 1s     # then the watchdog gives the OOM back to the kernel
 *
 * Durations are strings with a unit (us, ms, s, m; "1.5s", "1m30s"; "0"
 * alone needs none).  There is no `scope: node` spelling: leaving scope
 * out means the node.  What the loader guarantees of an accepted document:
 * n_detectors is 1..8, or 0..8 with handoff; each detector has exactly one
 * kind; percent and avg10 are in (0, 100]; a psi detector has either avg10
 * (stall_us == window_us == 0) or stall (avg10 < 0, 0 < stall_us <=
 * window_us, window_us in 500ms..10s); handoff implies !node; kill cgroup
 * implies !node (the node is no cgroup to kill); duration_ms and
 * post_action_delay_ms <= 10 min; hook_timeout_ms in 1 ms..10 min;
 * handoff_deadline_ms in 100..60000; hook holds no NUL and is "" or not
 * blank; scope has only cgroup-level fields and at least one of them
 * unless node.
 */
enum oom_detector_kind {
	OOM_DET_USAGE = 1,
	OOM_DET_PSI = 2,
	OOM_DET_SWAP = 3,
};

enum oom_usage_of {
	OOM_OF_LIMIT = 0,		/* the memcg's own limit (the node's memory when unlimited) */
	OOM_OF_NODE = 1,		/* the node's MemTotal (swap: SwapTotal) */
};

enum oom_psi_type {
	OOM_PSI_SOME = 0,
	OOM_PSI_FULL = 1,
};

struct oom_detector {
	enum oom_detector_kind kind;
	double percent;			/* usage, swap: threshold in percent, (0, 100] */
	enum oom_usage_of of;		/* usage, swap */
	enum oom_psi_type psi_type;	/* psi */
	double avg10;			/* psi: avg10 threshold in percent; < 0 when stall is used */
	uint64_t stall_us;		/* psi: stall time within window; 0 when avg10 is used */
	uint64_t window_us;		/* psi with stall: 500ms..10s (the kernel's trigger limits) */
	int line, column;
};

enum oom_strategy {
	OOM_VICTIM_LARGEST_RSS = 1,
	OOM_VICTIM_FASTEST_GROWTH = 2,
};

enum oom_kill_scope {
	OOM_KILL_PROCESS = 1,
	OOM_KILL_PROCESS_GROUP = 2,
	OOM_KILL_CGROUP = 3,
};

const char *oom_detector_name(enum oom_detector_kind k);	/* "usage", "psi", "swap" */
const char *oom_strategy_name(enum oom_strategy s);		/* "largest_rss", ... */
const char *oom_kill_scope_name(enum oom_kill_scope k);		/* "process", ... */

#define POLICY_MAX_OOM_DETECTORS 8
#define POLICY_OOM_HOOK_MAX 1024	/* preKillHook.command bytes */
#define POLICY_MAX_OOM_POLICIES 64	/* OomPolicy documents in a set */

struct oom_policy {
	bool node;			/* no scope key: the whole node is one unit */
	struct selector scope;		/* cgroup-level fields only */
	struct oom_detector detectors[POLICY_MAX_OOM_DETECTORS];
	size_t n_detectors;		/* >= 1, except a handoff policy may have none */
	uint64_t duration_ms;
	enum oom_strategy strategy;
	bool oom_score_adj;		/* default true */
	struct selector prefer;		/* unset (no key): nothing preferred */
	struct selector avoid;
	bool has_prefer, has_avoid;
	enum oom_kill_scope kill;	/* default process */
	bool dry_run;
	uint64_t post_action_delay_ms;	/* default 5000 */
	char hook[POLICY_OOM_HOOK_MAX];	/* "" = none; run with /bin/sh -c */
	uint64_t hook_timeout_ms;	/* default 5000 */
	bool handoff;
	uint64_t handoff_deadline_ms;	/* default 1000 */
	int line, column;		/* the spec */
};

/*
 * LeakPolicy: when a process's memory growth is confirmed as a leak.
 *
 *   spec:
 *     scope:                  # absent: every process; any selector field,
 *       namespaces: [batch]   # binaries and comms included
 *     threshold: 0.8          # score in (0, 1], default 0.8
 *     consecutive: 6          # K evaluations at or above threshold, 1..1000, default 6
 *     minGrowthPercent: 20    # X: usage at least X% over the baseline, >= 0, default 20
 *     minGrowthMiB: 64        # Y: and grown by at least Y MiB, >= 0, default 64
 *     warmup: 1m              # the baseline is taken after this much of a process's life
 *                             # under watch (default 1m, 0..24h)
 *     window: 10m             # samples analysed by the score (default 10m, 1s..24h)
 *
 * Processes no policy matches use these defaults (docs/LEAKS.md).  The first
 * matching policy in set order decides.  What the loader guarantees: every
 * field in range as above; scope has at least one field if present.
 */
#define POLICY_MAX_LEAK_POLICIES 64
#define LEAK_DEFAULT_THRESHOLD 0.8
#define LEAK_DEFAULT_CONSECUTIVE 6
#define LEAK_DEFAULT_MIN_GROWTH_PCT 20.0
#define LEAK_DEFAULT_MIN_GROWTH_MIB 64.0
#define LEAK_DEFAULT_WARMUP_MS 60000
#define LEAK_DEFAULT_WINDOW_MS 600000

struct leak_policy {
	bool all;			/* no scope key: every process */
	struct selector scope;
	double threshold;
	uint32_t consecutive;
	double min_growth_pct;
	double min_growth_mib;
	uint64_t warmup_ms;
	uint64_t window_ms;
	int line, column;		/* the spec */
};

/* The built-in defaults above, all = true. */
void leak_policy_defaults(struct leak_policy *p);

struct policy_doc {
	enum policy_kind kind;
	char name[POLICY_NAME_MAX + 1];
	char file[PATH_MAX];
	int line;			/* the document's first line */
	/* kind-specific */
	struct signal_rule *rules;	/* SignalPolicy */
	size_t n_rules;
	struct trust_rule *trust_rules;	/* TrustPolicy */
	size_t n_trust_rules;
	struct oom_policy *oom;		/* OomPolicy */
	struct leak_policy *leak;	/* LeakPolicy */
	int column;			/* with line: where the document's root starts */
};

struct policy_set {
	struct policy_doc *docs;
	size_t n_docs;
	size_t n_files;			/* files read (directories expanded) */
};

/*
 * Parse one file's text and append its documents to *s.  Problems are
 * appended to *d; documents with errors are not added.  Returns the number
 * of error diagnostics added (0 = the text was fine), or -ENOMEM.
 */
int policy_load_buffer(struct policy_set *s, const char *name, const char *text,
		       size_t len, struct policy_diags *d);

/*
 * Load each path: a file, or a directory whose *.yaml / *.yml entries are
 * read in name order (dot files, editor backups and other names are
 * skipped).  Then run the set-wide checks (duplicate names, the rule
 * limit).  Returns the number of errors in *d, or -ENOMEM.
 * A directory that is missing or empty is not an error here; the caller
 * decides (see policy_dir_state()).
 */
int policy_load_paths(struct policy_set *s, char *const *paths, size_t n,
		      struct policy_diags *d);

/*
 * Set-wide checks; policy_load_paths() calls it.  Errors: duplicate names
 * (per kind), more than 62 signal rules, 256 TrustPolicy rules, 64
 * OomPolicy or 64 LeakPolicy documents in the set.  Warnings: a
 * TrustPolicy rule that an earlier one (load order) hides; an OomPolicy
 * whose scope plainly overlaps an earlier one's (both the whole node, or a
 * shared entry in every cgroup-level field both set); a LeakPolicy that an
 * earlier one hides (the same scope, or the earlier one has none).
 * Returns errors added.
 */
int policy_set_finish(struct policy_set *s, struct policy_diags *d);

void policy_set_free(struct policy_set *s);

enum policy_dir_state {
	POLICY_DIR_OK = 0,		/* exists, readable, has policy files */
	POLICY_DIR_MISSING,
	POLICY_DIR_UNREADABLE,
	POLICY_DIR_EMPTY,		/* no *.yaml / *.yml files */
	POLICY_DIR_NOT_DIR,
};
enum policy_dir_state policy_dir_state(const char *dir);
const char *policy_dir_state_name(enum policy_dir_state st);	/* "missing", ... */

/* A directory entry the loader reads (*.yaml / *.yml, not hidden, not a backup). */
bool policy_file_name_ok(const char *name);

/* Parse a signal: "SIGKILL", "KILL", "kill", "9", "SIGRTMIN+2". 1..64, or -EINVAL. */
int signal_parse(const char *s);

/* ---------------------------------------------------------------- schema */

/*
 * Every key the loader accepts, for docs and the README sync test.  `path`
 * is dotted from the document root with "[]" for list items
 * ("spec.rules[].sender.binaries[]").  `type` is one of: string, bool,
 * integer, enum, list, object, signal.  `values` lists enum values
 * ("audit|deny|kill-sender") or is "" for other types.
 */
struct policy_key_doc {
	const char *kind;	/* "SignalPolicy", or "*" for keys every kind has */
	const char *path;
	const char *type;
	const char *values;
	bool required;
};

size_t policy_schema(const struct policy_key_doc **out);

#endif
