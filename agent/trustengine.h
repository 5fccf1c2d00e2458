/*
 * trustengine.h - trusted-binary enforcement in the running agent.
 *
 * Ties the pieces together: the TrustPolicy set decides the mode per scope
 * (trustpolicy.h), the trust store says which files are trusted
 * (truststore.h), the kernel map mirrors it (trustmap.h) and the pinned
 * BPF programs judge (trustbpf.h).  The engine
 *   - loads (or adopts) the trust object once a TrustPolicy exists, and
 *     unpins it when the last one goes;
 *   - writes the host / container-default / per-container modes, and keeps
 *     the per-container ones current as containers come and go;
 *   - re-reads the store when `vigil trust` saves it (the CLI updates the
 *     kernel map itself; this is the safety net);
 *   - beats the heartbeat the kernel checks when on_agent_loss is open;
 *   - turns violation records into events with the file's sha256 (hashed
 *     here, through a bounded cache) and the store's record for the inode.
 */
#ifndef VIGIL_TRUSTENGINE_H
#define VIGIL_TRUSTENGINE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "events.h"
#include "hashcache.h"
#include "metrics.h"
#include "policy.h"
#include "trust.h"
#include "trustbpf.h"
#include "truststore.h"

struct vigil_bpf;
struct vigil_enricher;

struct vigil_trust_settings {
	const char *store_dir;
	const char *bpffs;
	uint32_t max_entries;
	bool fail_open;
	uint32_t fail_open_after_ms;
	uint32_t hash_cache_entries;
	bool lsm;			/* BPF LSM usable (probe) */
	uint32_t cg_source, cg_hierarchy_id;	/* the trace object's attribution hierarchy */
};

struct trust_rule_name {
	char policy[POLICY_NAME_MAX + 1];
	char rule[POLICY_NAME_MAX + 1];
};

struct vigil_trust_engine {
	struct vigil_trust_settings s;
	char store_dir[PATH_MAX], bpffs[PATH_MAX];
	const struct vigil_bpf *trace;
	struct vigil_enricher *en;
	bool on;			/* the trust object is loaded and pinned */
	struct vigil_trust_bpf tb;
	const struct policy_set *set;	/* the active set (owned by the signal engine) */
	uint32_t generation;
	struct vigil_trust_cfg cfg;
	struct trust_rule_name *names;	/* vigil_trust_scope.rule - 1 indexes this */
	size_t nnames;
	struct trust_store store;
	/* The store's regular-file records by (dev, ino), for violation lookups. */
	const struct trust_rec **by_inode;
	size_t n_by_inode;
	struct timespec store_mtime;	/* of the store file last read */
	ino_t store_ino;
	struct hashcache *hc;
	struct vigil_trust_info info;	/* the last resolved event (views point here) */
	char ev_path[VIGIL_PATH_LEN];
	/* metrics */
	struct vigil_metric_family *violations;
	struct vigil_metric_series *m_on, *m_entries, *m_records, *m_store_gen, *m_store_spare,
		*m_store_errors, *m_checked, *m_allowed, *m_switched_off, *m_hc_hits, *m_hc_misses,
		*m_map_errors, *m_lsm;
	uint64_t store_errors, map_errors;
};

int trust_engine_init(struct vigil_trust_engine *e, const struct vigil_bpf *trace,
		      struct vigil_enricher *en, struct vigil_metrics *m,
		      const struct vigil_trust_settings *s, char *why, size_t whylen);

/*
 * Apply a new active policy set (pointer kept until the next apply).  With
 * TrustPolicy documents: load/adopt, sync the store, write modes.  Without:
 * stop enforcing and unpin.  0, or -errno with why (the store cannot be
 * loaded: nothing changes in the kernel, enforcement stays as it was).
 */
int trust_engine_apply(struct vigil_trust_engine *e, const struct policy_set *set, uint32_t gen,
		       char *why, size_t whylen);

/* The same set moved (the signal engine took ownership of it): point at its new home. */
void trust_engine_rebind(struct vigil_trust_engine *e, const struct policy_set *set);

/* Once a second: heartbeat, store changes, counters. */
void trust_engine_tick(struct vigil_trust_engine *e);

/* Per event, before the sinks: resolves trust violations into v->trust. */
void trust_engine_event(struct vigil_trust_engine *e, struct vigil_event_view *v);

/*
 * The agent is stopping.  Enforcement stays pinned (on_agent_loss: closed)
 * or is removed (open).
 */
void trust_engine_close(struct vigil_trust_engine *e);

#endif
