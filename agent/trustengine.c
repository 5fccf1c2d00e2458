/*
 * trustengine.c - trusted-binary enforcement in the running agent (see
 * trustengine.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "containers.h"
#include "events.h"
#include "loader.h"
#include "trustengine.h"
#include "trustmap.h"
#include "trustpolicy.h"

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static const char *hook_name(uint32_t h)
{
	switch (h) {
	case VIGIL_TRUST_HOOK_EXEC: return "exec";
	case VIGIL_TRUST_HOOK_MMAP: return "mmap";
	case VIGIL_TRUST_HOOK_MODULE: return "module";
	case VIGIL_TRUST_HOOK_MODULE_DATA: return "module_data";
	default: return "unknown";
	}
}

static const char *action_name(uint32_t a)
{
	switch (a) {
	case VIGIL_TRUST_ACT_AUDIT: return "audit";
	case VIGIL_TRUST_ACT_DENIED: return "denied";
	case VIGIL_TRUST_ACT_KILLED: return "killed";
	case VIGIL_TRUST_ACT_KILL_FAILED: return "kill_failed";
	default: return "unknown";
	}
}

/* ---------------------------------------------------------------- scopes */

/* The index (+1) of a (policy, rule) pair in the names table; 0 when none. */
static uint32_t name_index(struct vigil_trust_engine *e, const struct trust_effective *t)
{
	struct trust_rule_name *n;

	if (!t->rule || !t->rule[0])
		return 0;
	for (size_t i = 0; i < e->nnames; i++)
		if (!strcmp(e->names[i].policy, t->policy) && !strcmp(e->names[i].rule, t->rule))
			return i + 1;
	n = realloc(e->names, (e->nnames + 1) * sizeof(*n));
	if (!n)
		return 0;
	e->names = n;
	snprintf(n[e->nnames].policy, sizeof(n->policy), "%s", t->policy);
	snprintf(n[e->nnames].rule, sizeof(n->rule), "%s", t->rule);
	return ++e->nnames;
}

static void scope_of(struct vigil_trust_engine *e, const struct trust_effective *t,
		     struct vigil_trust_scope *out)
{
	_Static_assert((int)TRUST_MODE_OFF == (int)VIGIL_TRUST_OFF &&
		       (int)TRUST_MODE_AUDIT == (int)VIGIL_TRUST_AUDIT &&
		       (int)TRUST_MODE_ENFORCE == (int)VIGIL_TRUST_ENFORCE,
		       "policy and kernel modes differ");
	memset(out, 0, sizeof(*out));
	out->mode = t->mode;
	out->libraries = t->libraries;
	out->modules = t->modules;
	out->rule = name_index(e, t);
}

static void write_scope(struct vigil_trust_engine *e, const struct vigil_ctr *c)
{
	struct trust_effective t;
	struct vigil_trust_scope sc;
	struct sel_subject x;
	uint64_t id = c->cgroup_id;

	if (!e->on || !e->set || !ctr_is_root(c))
		return;
	ctr_subject(c, &x);
	trust_resolve_container(e->set, &x, &t);
	scope_of(e, &t, &sc);
	if (bpf_map_update_elem(e->tb.scope_fd, &id, &sc, BPF_ANY))
		e->map_errors++;
}

static void on_new_cgroup(void *ctx, const struct vigil_ctr *c)
{
	write_scope(ctx, c);
}

static void on_gone_cgroup(void *ctx, const struct vigil_ctr *c)
{
	struct vigil_trust_engine *e = ctx;
	uint64_t id = c->cgroup_id;

	if (e->on)
		bpf_map_delete_elem(e->tb.scope_fd, &id);
}

static bool root_exists(const void *key, void *ctx)
{
	struct vigil_trust_engine *e = ctx;
	/* A miss resolves through the cgroup fs: only cgroups that are gone are dropped. */
	const struct vigil_ctr *c = ctr_lookup(&e->en->ctrs, *(const uint64_t *)key);

	return c->resolved && ctr_is_root(c);
}

/* Drop scope entries of container roots that no longer exist. */
static void prune_scopes(struct vigil_trust_engine *e)
{
	if (vigil_bpf_map_prune(e->tb.scope_fd, sizeof(uint64_t), root_exists, e))
		e->map_errors++;
}

static int write_cfg(struct vigil_trust_engine *e)
{
	uint32_t zero = 0;

	e->cfg.heartbeat_ns = boot_ns();
	e->cfg.grace_ns = e->s.fail_open ? (uint64_t)e->s.fail_open_after_ms * 1000000ull : 0;
	if (bpf_map_update_elem(e->tb.cfg_fd, &zero, &e->cfg, BPF_ANY)) {
		e->map_errors++;
		return -errno;
	}
	return 0;
}

/* ---------------------------------------------------------------- store */

static int rec_inode_cmp(const void *a, const void *b)
{
	const struct trust_rec *x = *(const struct trust_rec *const *)a;
	const struct trust_rec *y = *(const struct trust_rec *const *)b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/*
 * Sort the regular-file records by inode once per load: a flood of
 * violations (audit mode on a busy node) must not scan the whole store
 * for each one.
 */
static void index_store(struct vigil_trust_engine *e)
{
	const struct trust_rec **v = realloc(e->by_inode, (e->store.n + 1) * sizeof(*v));
	size_t n = 0;

	if (!v) {
		e->n_by_inode = 0;	/* no index: events go without the store's record */
		return;
	}
	for (size_t i = 0; i < e->store.n; i++)
		if (!e->store.v[i].link_target)
			v[n++] = &e->store.v[i];
	qsort(v, n, sizeof(*v), rec_inode_cmp);
	e->by_inode = v;
	e->n_by_inode = n;
}

static int load_store(struct vigil_trust_engine *e, char *why, size_t whylen)
{
	struct trust_store s = { 0 };
	char path[PATH_MAX + 8], msg[512];
	struct stat st;
	int err;

	err = trust_store_load(&s, e->store_dir, msg, sizeof(msg));
	if (err) {
		e->store_errors++;
		snprintf(why, whylen, "trust store %s unusable, refusing to enforce from it: %s",
			 e->store_dir, msg);
		trust_store_free(&s);
		return err;
	}
	if (s.from_spare) {
		e->store_errors++;
		fprintf(stderr, "vigil: trust store %s: primary unusable (%s); using the previous "
			"generation %llu\n", e->store_dir, s.spare_reason,
			(unsigned long long)s.generation);
	}
	trust_store_free(&e->store);
	e->store = s;
	index_store(e);
	/*
	 * The file's text (freed by now) was as big as the records: give it
	 * back, or a 50,000-record store costs twice its size in RSS.
	 */
	malloc_trim(0);
	snprintf(path, sizeof(path), "%s/store", e->store_dir);
	if (stat(path, &st) == 0) {
		e->store_mtime = st.st_mtim;
		e->store_ino = st.st_ino;
	} else {
		e->store_ino = 0;
	}
	return 0;
}

static bool store_changed(struct vigil_trust_engine *e)
{
	char path[PATH_MAX + 8];
	struct stat st;

	snprintf(path, sizeof(path), "%s/store", e->store_dir);
	if (stat(path, &st))
		return e->store_ino != 0;
	return st.st_ino != e->store_ino || st.st_mtim.tv_sec != e->store_mtime.tv_sec ||
	       st.st_mtim.tv_nsec != e->store_mtime.tv_nsec;
}

static int sync_map(struct vigil_trust_engine *e, char *why, size_t whylen);

/*
 * Load the store and sync the kernel map under the store's lock.  Without
 * it, a `vigil trust` command could save and sync between our load and our
 * sync, and our older view would take its new file out of the map again.
 * wait_ms: how long to wait for a busy lock; then -EBUSY (the caller
 * retries later: the command syncs the map itself meanwhile).
 */
static int refresh(struct vigil_trust_engine *e, int wait_ms, char *why, size_t whylen)
{
	int fd, err;

	for (int waited = 0;; waited += 20) {
		fd = trust_store_trylock(e->store_dir);
		if (fd != -EWOULDBLOCK || waited >= wait_ms)
			break;
		usleep(20000);
	}
	if (fd == -EWOULDBLOCK) {
		snprintf(why, whylen, "trust store %s is locked by a `vigil trust` command",
			 e->store_dir);
		return -EBUSY;
	}
	err = load_store(e, why, whylen);
	if (!err)
		err = sync_map(e, why, whylen);
	if (fd >= 0)
		close(fd);
	return err;
}

static int sync_map(struct vigil_trust_engine *e, char *why, size_t whylen)
{
	int n = trustmap_sync_fd(e->tb.inodes_fd, &e->store, e->store_dir, why, whylen);

	if (n < 0) {
		e->map_errors++;
		return n;
	}
	metrics_set(e->m_entries, n);
	metrics_set(e->m_records, (double)e->store.n);
	metrics_set(e->m_store_gen, (double)e->store.generation);
	metrics_set(e->m_store_spare, e->store.from_spare);
	if (!e->store.n)
		fprintf(stderr, "vigil: warning: the trust store %s is empty; in enforce mode only "
			"vigil itself may run (add files with `vigil trust add` or `vigil trust "
			"import dpkg`)\n", e->store_dir);
	return 0;
}

/* ---------------------------------------------------------------- lifecycle */

static void collect(void *ctx)
{
	struct vigil_trust_engine *e = ctx;
	struct hc_stats hs;
	uint64_t n[VIGIL_TRUST_STAT__MAX];

	metrics_set(e->m_on, e->on);
	metrics_set(e->m_lsm, e->on && e->tb.lsm);
	if (e->on && !vigil_bpf_percpu_sum(e->trace, e->tb.stats_fd, VIGIL_TRUST_STAT__MAX, n)) {
		metrics_set(e->m_checked, (double)n[VIGIL_TRUST_STAT_CHECKED]);
		metrics_set(e->m_allowed, (double)n[VIGIL_TRUST_STAT_ALLOWED]);
		metrics_set(e->m_switched_off, (double)n[VIGIL_TRUST_STAT_SWITCHED_OFF]);
	}
	if (e->hc) {
		hc_get_stats(e->hc, &hs);
		metrics_set(e->m_hc_hits, (double)hs.hits);
		metrics_set(e->m_hc_misses, (double)hs.misses);
	}
	metrics_set(e->m_store_errors, (double)e->store_errors);
	metrics_set(e->m_map_errors, (double)e->map_errors);
}

int trust_engine_init(struct vigil_trust_engine *e, const struct vigil_bpf *trace,
		      struct vigil_enricher *en, struct vigil_metrics *m,
		      const struct vigil_trust_settings *s, char *why, size_t whylen)
{
	static const char *const vlabels[] = { "hook", "reason", "action", NULL };

	memset(e, 0, sizeof(*e));
	e->s = *s;
	snprintf(e->store_dir, sizeof(e->store_dir), "%s", s->store_dir);
	snprintf(e->bpffs, sizeof(e->bpffs), "%s", s->bpffs);
	e->s.store_dir = e->store_dir;
	e->s.bpffs = e->bpffs;
	e->trace = trace;
	e->en = en;
	e->hc = hc_new(s->hash_cache_entries ? s->hash_cache_entries : 4096);
	e->violations = metrics_family(m, "vigil_trust_violations_total",
				       "Files outside the trust store that ran, were mapped "
				       "executable or loaded as modules, by hook, reason and action",
				       VIGIL_METRIC_COUNTER, vlabels, 0);
#define SINGLE(field, name, help, type) \
	e->field = metrics_single(m, name, help, VIGIL_METRIC_##type)
	SINGLE(m_on, "vigil_trust_enforcement_loaded",
	       "1 while the trust hooks are loaded (some TrustPolicy exists)", GAUGE);
	SINGLE(m_lsm, "vigil_trust_enforcement_lsm",
	       "1 when the trust hooks are BPF LSM (EPERM), 0 for the SIGKILL fallback", GAUGE);
	SINGLE(m_entries, "vigil_trust_kernel_entries",
	       "Trusted inodes in the kernel map, vigil's own files included", GAUGE);
	SINGLE(m_records, "vigil_trust_store_records", "Records in the trust store", GAUGE);
	SINGLE(m_store_gen, "vigil_trust_store_generation", "Generation of the loaded trust store",
	       GAUGE);
	SINGLE(m_store_spare, "vigil_trust_store_from_spare",
	       "1 when the primary store was unusable and the previous generation was loaded",
	       GAUGE);
	SINGLE(m_store_errors, "vigil_trust_store_errors_total",
	       "Trust store loads that failed or fell back to the spare", COUNTER);
	SINGLE(m_checked, "vigil_trust_checks_total",
	       "Files the kernel judged against the trust map", COUNTER);
	SINGLE(m_allowed, "vigil_trust_allowed_total",
	       "Files the kernel found trusted and unchanged", COUNTER);
	SINGLE(m_switched_off, "vigil_trust_switched_off_total",
	       "Checks skipped because the emergency switch (`vigil trust off`) is on", COUNTER);
	SINGLE(m_hc_hits, "vigil_trust_hash_cache_hits_total",
	       "Violations whose sha256 came from the hash cache", COUNTER);
	SINGLE(m_hc_misses, "vigil_trust_hash_cache_misses_total",
	       "Violations whose file had to be hashed", COUNTER);
	SINGLE(m_map_errors, "vigil_trust_map_errors_total",
	       "Failed writes to the trust maps", COUNTER);
#undef SINGLE
	if (!e->hc || !e->violations || !e->m_map_errors || metrics_on_collect(m, collect, e)) {
		snprintf(why, whylen, "trust engine: out of memory");
		return -ENOMEM;
	}
	if (ctr_cache_hook(&en->ctrs, on_new_cgroup, on_gone_cgroup, e)) {
		snprintf(why, whylen, "trust engine: no room for a container hook");
		return -ENOSPC;
	}
	return 0;
}

/* Some rule that is not off judges executable mmaps. */
static bool judges_libraries(const struct policy_set *set)
{
	for (size_t i = 0; i < set->n_docs; i++)
		for (size_t r = 0; r < set->docs[i].n_trust_rules; r++)
			if (set->docs[i].trust_rules[r].mode != TRUST_MODE_OFF &&
			    set->docs[i].trust_rules[r].libraries)
				return true;
	return false;
}

static void stop(struct vigil_trust_engine *e)
{
	char why[256];

	if (e->on) {
		struct vigil_trust_cfg off = { 0 };
		uint32_t zero = 0;

		/* Off at once, then let the links go (ours close with the object). */
		bpf_map_update_elem(e->tb.cfg_fd, &zero, &off, BPF_ANY);
		trust_bpf_close(&e->tb);
		e->on = false;
	}
	/* Ours, or an earlier agent's that no policy asks for now. */
	trust_bpf_unpin_dir(e->bpffs, why, sizeof(why));
}

int trust_engine_apply(struct vigil_trust_engine *e, const struct policy_set *set, uint32_t gen,
		       char *why, size_t whylen)
{
	struct trust_effective t;
	int err;

	if (!trust_policy_count(set)) {
		e->set = set;
		stop(e);
		return 0;
	}
	if (!e->on) {
		struct vigil_trust_bpf_opts o = {
			.bpffs = e->bpffs, .lsm = e->s.lsm, .max_entries = e->s.max_entries,
			.cg_source = e->s.cg_source, .cg_hierarchy_id = e->s.cg_hierarchy_id,
		};

		err = trust_bpf_load(&e->tb, e->trace, &o, why, whylen);
		if (err)
			return err;
		e->on = true;
	}
	/*
	 * Trusted files first, modes second: nothing trusted is refused in
	 * between.  A store that cannot be loaded leaves the modes as they
	 * were (off for a fresh load): never enforce a set we could not read.
	 */
	err = refresh(e, 2000, why, whylen);
	if (err == -EBUSY) {
		/* A long import holds it: go ahead; the next tick syncs again. */
		fprintf(stderr, "vigil: %s; loading it anyway\n", why);
		err = load_store(e, why, whylen);
		if (!err)
			err = sync_map(e, why, whylen);
		e->store_ino = 0;
	}
	if (err)
		return err;
	e->set = set;
	e->generation = gen;
	e->nnames = 0;
	trust_resolve_host(set, &t);
	scope_of(e, &t, &e->cfg.host);
	trust_resolve_container_default(set, &t);
	scope_of(e, &t, &e->cfg.ctr_default);
	e->cfg.generation = gen;
	err = trust_bpf_mmap_hook(&e->tb, judges_libraries(set), why, whylen);
	if (err)
		return err;
	ctr_cache_each(&e->en->ctrs, on_new_cgroup, e);
	prune_scopes(e);
	err = write_cfg(e);
	if (err)
		snprintf(why, whylen, "writing the trust configuration map: %s", strerror(-err));
	return err;
}

void trust_engine_rebind(struct vigil_trust_engine *e, const struct policy_set *set)
{
	e->set = set;
}

void trust_engine_tick(struct vigil_trust_engine *e)
{
	char why[512];

	if (!e->on)
		return;
	write_cfg(e);
	if (store_changed(e)) {
		int err = refresh(e, 0, why, sizeof(why));

		if (err && err != -EBUSY)
			fprintf(stderr, "vigil: %s\n", why);
	}
}

void trust_engine_close(struct vigil_trust_engine *e)
{
	if (e->on && e->s.fail_open) {
		stop(e);
	} else if (e->on) {
		/* Closed: the pinned links and maps keep enforcing without us. */
		trust_bpf_close(&e->tb);
		e->on = false;
	}
	trust_store_free(&e->store);
	free(e->by_inode);
	e->by_inode = NULL;
	e->n_by_inode = 0;
	hc_free(e->hc);
	e->hc = NULL;
	free(e->names);
	e->names = NULL;
	if (e->en)
		ctr_cache_hook(&e->en->ctrs, NULL, NULL, e);
}

/* ---------------------------------------------------------------- events */

/* Open root + path if it is the event's inode.  An fd, or -1. */
static int open_as(const struct vigil_trust_event *t, const char *root, const char *path)
{
	char buf[PATH_MAX + 64];
	struct stat st;
	int fd;

	snprintf(buf, sizeof(buf), "%s%s", root, path);
	fd = open(buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && trust_kdev(st.st_dev) == t->dev && st.st_ino == t->ino)
		return fd;
	close(fd);
	return -1;
}

/*
 * Open the file the event names, as the process saw it.  A process killed
 * at exec is usually gone by now, so try its parent, then any process
 * still in its container (same mount namespace, most likely), then the
 * host's view.
 */
static int open_subject(const struct vigil_trust_engine *e, const struct vigil_trust_event *t,
			const struct vigil_ctr *c, const char *path)
{
	uint32_t pids[2] = { t->task.pid, t->task.ppid };
	char root[64], procs[PATH_MAX + 1024], rel[512];
	unsigned pid;
	FILE *f;
	int fd;

	for (int i = 0; i < 2; i++) {
		snprintf(root, sizeof(root), "/proc/%u/root", pids[i]);
		if ((fd = open_as(t, root, path)) >= 0)
			return fd;
	}
	if (c && c->resolved && c->info.id[0] && e->en->ctrs.mount[0]) {
		ctr_root_path(c, rel, sizeof(rel));
		snprintf(procs, sizeof(procs), "%s%s/cgroup.procs", e->en->ctrs.mount, rel);
		f = fopen(procs, "re");
		for (int n = 0; f && n < 8 && fscanf(f, "%u", &pid) == 1; n++) {
			snprintf(root, sizeof(root), "/proc/%u/root", pid);
			if ((fd = open_as(t, root, path)) >= 0) {
				fclose(f);
				return fd;
			}
		}
		if (f)
			fclose(f);
	}
	fd = open_as(t, "", path);
	return fd >= 0 ? fd : -ENOENT;
}

static const struct trust_rec *record_of(const struct vigil_trust_engine *e, uint64_t dev,
					 uint64_t ino)
{
	const struct trust_rec key = { .dev = dev, .ino = ino }, *kp = &key, **r;

	r = bsearch(&kp, e->by_inode, e->n_by_inode, sizeof(*e->by_inode), rec_inode_cmp);
	return r ? *r : NULL;
}

void trust_engine_event(struct vigil_trust_engine *e, struct vigil_event_view *v)
{
	const struct vigil_trust_event *t;
	struct vigil_trust_info *i = &e->info;
	const struct trust_rec *rec;
	struct hc_key k;
	struct hc_val hv;
	size_t plen;
	int fd;

	if (v->type != VIGIL_EV_TRUST)
		return;
	t = v->raw;
	memset(i, 0, sizeof(*i));
	plen = t->path_len < VIGIL_PATH_LEN ? t->path_len : VIGIL_PATH_LEN - 1;
	memcpy(e->ev_path, t->path, plen);
	e->ev_path[plen] = 0;
	i->path = e->ev_path;
	i->hook = hook_name(t->hook);
	i->reason = t->reason == VIGIL_TRUST_TAINTED ? "tainted" : "untrusted";
	i->action = action_name(t->action);
	i->mode = t->mode == VIGIL_TRUST_ENFORCE ? "enforce" : "audit";
	i->enforcement = (t->flags & VIGIL_TRUST_F_LSM) ? "lsm" : "sigkill";
	i->policy = i->rule = "";
	if (t->rule && t->generation == e->generation && t->rule <= e->nnames) {
		i->policy = e->names[t->rule - 1].policy;
		i->rule = e->names[t->rule - 1].rule;
	}
	snprintf(i->dev, sizeof(i->dev), "%u:%u", (unsigned)(t->dev >> 20),
		 (unsigned)(t->dev & 0xfffff));
	i->ino = t->ino;
	i->generation = t->generation;
	i->fail_open = t->flags & VIGIL_TRUST_F_FAIL_OPEN;
	i->audit_only_hook = t->flags & VIGIL_TRUST_F_NO_ENFORCE;
	i->path_truncated = t->flags & VIGIL_TRUST_F_PATH_TRUNCATED;
	/* `vigil trust` may have saved a new store since the last tick: read it first. */
	if (store_changed(e)) {
		char why[512];
		int err = refresh(e, 0, why, sizeof(why));

		if (err && err != -EBUSY)
			fprintf(stderr, "vigil: %s\n", why);
	}
	rec = t->hook == VIGIL_TRUST_HOOK_MODULE_DATA ? NULL : record_of(e, t->dev, t->ino);
	if (rec) {
		i->recorded_path = rec->path;
		trust_hex(rec->sha256, i->recorded_sha256);
	}

	if (t->hook == VIGIL_TRUST_HOOK_MODULE_DATA) {
		i->sha256_error = "module loaded from memory: no file";
	} else if (!plen) {
		i->sha256_error = "no path";
	} else {
		k = (struct hc_key){ .dev = t->dev, .ino = t->ino, .ctime_ns = t->ctime_ns,
				     .size = t->size };
		if (hc_get(e->hc, &k, &hv)) {
			trust_hex(hv.sha256, i->sha256);
		} else if ((fd = open_subject(e, t, v->subject.ctr, e->ev_path)) < 0) {
			i->sha256_error = "the file is gone or was replaced before it could be read";
		} else {
			uint64_t n = 0;

			if (trust_sha256_fd(fd, hv.sha256, &n) == 0) {
				hv.verdict = rec && !memcmp(rec->sha256, hv.sha256, 32);
				hc_put(e->hc, &k, &hv);
				trust_hex(hv.sha256, i->sha256);
			} else {
				i->sha256_error = "reading the file failed";
			}
			close(fd);
		}
	}
	{
		const char *labels[] = { i->hook, i->reason, i->action, NULL };

		metrics_add(metrics_series(e->violations, labels), 1);
	}
	v->trust = i;
}
