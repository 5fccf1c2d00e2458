/*
 * agent.c - the event loop.
 *
 * One libevent base, one thread: the ring buffer's epoll fd, a signalfd
 * (SIGINT/SIGTERM), a timer polling the per-CPU loss counters, a 100 ms
 * drain timer, an optional --duration timer, and the HTTP server.  The BPF
 * side wakes us only once a batch has built up; every wakeup and every
 * drain tick consumes everything available and flushes the sink once, so
 * output is batched under load and at most VIGIL_DRAIN_MS late when idle.
 * Because everything runs here, the metrics registry needs no locks.  On
 * exit the ring is drained once more and losses read a final time, so
 * nothing that reached the buffer is dropped at shutdown.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "agent.h"
#include "features.h"

/* Longest an event waits in the ring when the BPF side skips the wakeup. */
#define VIGIL_DRAIN_MS 100

/* v1 controllers attribution can read ids from, in order of preference. */
static const struct {
	const char *name;
	enum vigil_cgroup_source src;
} v1[] = {
	{ "memory", VIGIL_CG_V1_MEMORY },
	{ "pids", VIGIL_CG_V1_PIDS },
	{ "cpu", VIGIL_CG_V1_CPU },
};

static const char *v1_controller(enum vigil_cgroup_source src)
{
	for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++)
		if (v1[i].src == src)
			return v1[i].name;
	return NULL;
}

int agent_pick_cgroup(const struct vigil_cgroup_layout *l, const char *want,
		      enum vigil_cgroup_source *src, char *mount, size_t mountlen,
		      char *why, size_t whylen)
{
	const char *m;

	if (!want || !strcmp(want, "auto")) {
		/* On v1 and hybrid nodes runtimes place containers in the v1
		 * controllers; the v2 tree may hold nothing at all. */
		if (l->mode == VIGIL_CGROUP_V1 || l->mode == VIGIL_CGROUP_HYBRID) {
			for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
				m = cgroup_layout_v1_mount(l, v1[i].name);
				if (m) {
					*src = v1[i].src;
					snprintf(mount, mountlen, "%s", m);
					return 0;
				}
			}
		}
		want = "v2";
	}
	if (!strcmp(want, "v2")) {
		if (!l->v2_mount[0]) {
			snprintf(why, whylen, "no cgroup2 hierarchy is mounted");
			return -ENOENT;
		}
		*src = VIGIL_CG_V2;
		snprintf(mount, mountlen, "%s", l->v2_mount);
		return 0;
	}
	for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
		if (strcmp(want, v1[i].name))
			continue;
		m = cgroup_layout_v1_mount(l, want);
		if (!m) {
			snprintf(why, whylen, "no cgroup v1 hierarchy with the %s controller is mounted", want);
			return -ENOENT;
		}
		*src = v1[i].src;
		snprintf(mount, mountlen, "%s", m);
		return 0;
	}
	snprintf(why, whylen, "unknown cgroup hierarchy '%s' (auto, v2, memory, pids, cpu)", want);
	return -EINVAL;
}

static int on_sample(void *ctx, void *data, size_t len)
{
	struct vigil_agent *a = ctx;
	struct vigil_event_view v;

	if (enrich_event(&a->en, data, len, &v) != 0)
		return 0;	/* internal record, or malformed (counted in en.malformed) */
	if (a->policy_on)
		sigpolicy_event(&a->sp, &v);
	if (a->trust_on)
		trust_engine_event(&a->trust, &v);
	agent_emit(a, &v);
	enrich_done(&a->en, &v);
	return 0;
}

static void engine_emit(void *ctx, const struct vigil_event_view *v)
{
	struct vigil_agent *a = ctx;

	agent_emit(a, v);
	if (a->o.sink.flush)
		a->o.sink.flush(a->o.sink.ctx);
}

static int leaks_http(void *ctx, const char *query, char **body, size_t *len)
{
	struct vigil_agent *a = ctx;
	struct evkeyvalq q;
	const char *v;
	unsigned long top = 10;

	if (evhttp_parse_query_str(query, &q) == 0) {
		v = evhttp_find_header(&q, "top");
		if (v)
			top = strtoul(v, NULL, 10);
		evhttp_clear_headers(&q);
	}
	if (!top || top > 1000)
		top = top ? 1000 : 10;
	return leak_engine_json(&a->leak, (unsigned)top, body, len);
}

static bool leak_slope(void *ctx, uint32_t pid, double *slope)
{
	struct vigil_agent *a = ctx;

	return a->leak_on && leak_engine_slope(&a->leak, pid, slope);
}

/*
 * The leak scorer is optional: if its sampler cannot load here, the agent
 * runs without it and says why (startup line, `vigil features`).
 */
static void start_leak(struct vigil_agent *a)
{
	struct vigil_leak_settings ls = {
		.interval_ms = a->o.leak_interval_ms,
		.history = a->o.leak_history,
		.max_processes = a->o.leak_max_processes,
		.cg_source = a->cg_source,
		.cg_hierarchy_id = a->cg_hierarchy_id,
		.max_containers = a->o.metrics_max_containers,
	};

	if (leak_engine_init(&a->leak, a->base, &a->en, &a->metrics, &ls, engine_emit, a,
			     a->leak_why, sizeof(a->leak_why)) < 0) {
		fprintf(stderr, "vigil: leak scoring is off: %s\n", a->leak_why);
		return;
	}
	a->leak_on = true;
	if (a->oom_on) {
		a->oom.slope_of = leak_slope;
		a->oom.slope_ctx = a;
	}
	if (a->http_on && prometheus_route(&a->prom, "/leaks", "application/json", leaks_http, a))
		fprintf(stderr, "vigil: cannot serve /leaks: too many routes\n");
}

void agent_emit(struct vigil_agent *a, const struct vigil_event_view *v)
{
	telemetry_event(&a->tele, v);
	if (event_matches(&a->o.filter, v)) {
		a->emitted++;
		a->o.sink.event(a->o.sink.ctx, v);
	}
}

static int seed_one(const struct vigil_seed_record *r, void *ctx)
{
	return enricher_seed(ctx, r);
}

static void check_losses(struct vigil_agent *a);

static void drain(struct vigil_agent *a)
{
	ring_buffer__consume(a->rb);
	if (a->o.sink.flush)
		a->o.sink.flush(a->o.sink.ctx);
	clock_gettime(CLOCK_MONOTONIC, &a->last_turn);
}

static void on_ringbuf(evutil_socket_t fd, short what, void *arg)
{
	drain(arg);
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	drain(arg);
}

static void on_loss_tick(evutil_socket_t fd, short what, void *arg)
{
	check_losses(arg);
}

static void on_trust_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vigil_agent *a = arg;

	trust_engine_tick(&a->trust);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	struct vigil_agent *a = arg;
	struct signalfd_siginfo si;

	if (read(a->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		/* Events judged by the old set come first, then the new set is read. */
		drain(a);
		if (a->o.sink.reopen)
			a->o.sink.reopen(a->o.sink.ctx);
		if (a->policy_on)
			reloader_run(&a->rl, "sighup");
		return;
	}
	a->stop_signal = si.ssi_signo;
	event_base_loopbreak(a->base);
}

static void on_duration(evutil_socket_t fd, short what, void *arg)
{
	struct vigil_agent *a = arg;

	event_base_loopbreak(a->base);
}

static struct timeval tv_of(double seconds)
{
	struct timeval tv = { .tv_sec = (time_t)seconds };

	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return tv;
}

static bool healthy(void *ctx, char *why, size_t len)
{
	struct vigil_agent *a = ctx;
	struct timespec now;
	double age;

	if (!a->bpf.skel) {
		snprintf(why, len, "BPF programs are not attached");
		return false;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	age = (now.tv_sec - a->last_turn.tv_sec) + (now.tv_nsec - a->last_turn.tv_nsec) / 1e9;
	if (age > 5) {
		snprintf(why, len, "event loop has not turned for %.1f s", age);
		return false;
	}
	return true;
}

static bool ready(void *ctx, char *why, size_t len)
{
	struct vigil_agent *a = ctx;

	if (!a->ready)
		snprintf(why, len, "starting: BPF programs not attached or process table not seeded");
	return a->ready;
}

int agent_open(struct vigil_agent *a, const struct vigil_agent_opts *o, char *why, size_t whylen)
{
	struct vigil_loader_opts lo = { 0 };
	uint64_t rb_bytes;
	sigset_t mask;
	int err;

	memset(a, 0, sizeof(*a));
	a->o = *o;
	a->sigfd = a->stats_fd = -1;
	metrics_init(&a->metrics);

	err = cgroup_layout_detect(&a->layout);
	if (err) {
		snprintf(why, whylen, "reading the cgroup layout: %s", strerror(-err));
		return err;
	}
	err = agent_pick_cgroup(&a->layout, o->cgroup_hierarchy, &a->cg_source,
				a->cg_mount, sizeof(a->cg_mount), why, whylen);
	if (err)
		return err;
	if (a->cg_source != VIGIL_CG_V2) {
		const char *ctl = v1_controller(a->cg_source);

		err = cgroup_v1_hierarchy_id(ctl);
		if (err < 0) {
			snprintf(why, whylen, "finding the %s hierarchy in /proc/cgroups: %s",
				 ctl, strerror(-err));
			return err;
		}
		a->cg_hierarchy_id = err;
	}
	err = enricher_init(&a->en, a->cg_mount);
	if (err) {
		snprintf(why, whylen, "allocating tables: %s", strerror(-err));
		return err;
	}
	if (o->state_dirs &&
	    (err = ctr_cache_set_state_dirs(&a->en.ctrs, o->state_dirs, o->n_state_dirs))) {
		snprintf(why, whylen, "runtime state directories: at most %d absolute paths "
			 "shorter than %d bytes", PODMETA_MAX_DIRS, PODMETA_DIR_LEN);
		return err;
	}
	/* OOM kills name memcgs by their id in the memory controller's hierarchy. */
	snprintf(a->en.mem_mount, sizeof(a->en.mem_mount), "%s",
		 cgroup_layout_v1_mount(&a->layout, "memory") ?: a->layout.v2_mount);
	/* `vigil run` reports OOM kills whatever `observe` says, like trust violations. */
	if (o->policies)
		a->o.filter.types |= VIGIL_OBS_OOM | VIGIL_OBS_LEAK;

	/*
	 * fork, exec and exit always run whatever the caller selected: they keep
	 * the process table true (exec gives binary and args, exit prunes), so
	 * `vigil trace exit` can still say what exited.  The filter decides what
	 * reaches the sink.
	 */
	lo.observe = o->observe | VIGIL_OBS(VIGIL_EV_FORK) | VIGIL_OBS(VIGIL_EV_EXEC) |
		     VIGIL_OBS(VIGIL_EV_EXIT);
	lo.ring_buffer_bytes = o->ring_buffer_bytes;
	lo.cg_source = a->cg_source;
	lo.cg_hierarchy_id = a->cg_hierarchy_id;
	/*
	 * Wake only when the ring is an eighth full (capped at 256 KiB); the
	 * loop's VIGIL_DRAIN_MS timeout picks up everything else.  Under load
	 * that turns one wakeup per event into one per batch.
	 */
	rb_bytes = o->ring_buffer_bytes ? o->ring_buffer_bytes : 16u << 20;
	lo.wakeup_bytes = rb_bytes / 8 < 256u << 10 ? rb_bytes / 8 : 256u << 10;
	/*
	 * Richer hooks by probe: with BPF LSM usable, exec paths come from
	 * bpf_d_path.  Should that program still fail to load, run without it
	 * rather than not at all, and say so.
	 */
	{
		struct vigil_probe lsm;

		lo.exec_path_lsm = features_probe_lsm(&lsm);
		lo.signal_policy = o->policies;
		lo.signal_lsm = lo.exec_path_lsm;
		err = vigil_bpf_load(&a->bpf, &lo, why, whylen);
		if (err && lo.exec_path_lsm) {
			snprintf(a->hooks, sizeof(a->hooks),
				 "exec paths: dentry walk; signal deny: audit/kill-sender only "
				 "(BPF LSM programs failed: %s)", why);
			lo.exec_path_lsm = lo.signal_lsm = false;
			err = vigil_bpf_load(&a->bpf, &lo, why, whylen);
		} else if (!err) {
			snprintf(a->hooks, sizeof(a->hooks), "exec paths: %s",
				 lo.exec_path_lsm ? "bpf_d_path in lsm.s/bprm_check_security" :
				 "dentry walk (BPF LSM out)");
			if (o->policies)
				snprintf(a->hooks + strlen(a->hooks), sizeof(a->hooks) - strlen(a->hooks),
					 "; signal deny: %s",
					 lo.signal_lsm ? "EPERM from lsm/task_kill" :
					 "audit/kill-sender only (BPF LSM out: "
					 "a signal cannot be stopped after the fact)");
		}
	}
	if (err)
		goto fail;
	snprintf(a->hooks + strlen(a->hooks), sizeof(a->hooks) - strlen(a->hooks),
		 "; oom capture: %s", a->bpf.oom_hooks);
	/* Seed after attaching: a process born in between shows up in both, harmlessly. */
	err = vigil_bpf_seed(&a->bpf, seed_one, &a->en);
	if (err) {
		snprintf(why, whylen, "seeding the process table (iter/task): %s", strerror(-err));
		goto fail;
	}
	if (o->policies) {
		err = sigpolicy_init(&a->sp, &a->bpf, &a->en, &a->metrics, &o->guard, a->cg_mount,
				     why, whylen);
		if (err)
			goto fail;
		a->policy_on = true;
		a->o.trust.lsm = lo.signal_lsm;
		a->o.trust.cg_source = a->cg_source;
		a->o.trust.cg_hierarchy_id = a->cg_hierarchy_id;
		if (a->o.trust.store_dir) {
			err = trust_engine_init(&a->trust, &a->bpf, &a->en, &a->metrics, &a->o.trust,
						why, whylen);
			if (err)
				goto fail;
			a->trust_on = true;
		}
	}
	a->rb = ring_buffer__new(vigil_bpf_ringbuf_fd(&a->bpf), on_sample, a, NULL);
	if (!a->rb) {
		err = -errno;
		snprintf(why, whylen, "opening the ring buffer: %s", strerror(-err));
		goto fail;
	}

	if (o->bpf_stats) {
		/* Held for the agent's lifetime; the kernel counts while any holder lives. */
		a->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (a->stats_fd < 0) {
			err = -errno;
			snprintf(why, whylen, "enabling BPF run-time stats: %s", strerror(errno));
			goto fail;
		}
	}
	err = telemetry_init(&a->tele, &a->metrics, a, o->metrics_max_containers ?
			     o->metrics_max_containers : 256, o->output_errors);
	a->en.container_gone = telemetry_container_gone;
	a->en.container_gone_ctx = &a->tele;
	if (err) {
		err = -ENOMEM;
		snprintf(why, whylen, "registering metrics: out of memory");
		goto fail;
	}

	/*
	 * A non-interactive shell starts background jobs with SIGINT ignored,
	 * and an ignored signal never reaches a signalfd.  Restore the default
	 * disposition; the signals are blocked, so it never runs.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (o->policies || o->sink.reopen)
		sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	a->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a->base = event_base_new();
	if (a->sigfd < 0 || !a->base) {
		err = a->sigfd < 0 ? -errno : -ENOMEM;
		snprintf(why, whylen, "setting up the event loop: %s", strerror(-err));
		goto fail;
	}
	{
		struct timeval loss = tv_of((o->loss_interval_ms ? o->loss_interval_ms : 1000) / 1000.0);
		struct timeval drain_tv = tv_of(VIGIL_DRAIN_MS / 1000.0);
		struct timeval dur = tv_of(o->duration_s);

		a->ev_rb = event_new(a->base, ring_buffer__epoll_fd(a->rb), EV_READ | EV_PERSIST,
				     on_ringbuf, a);
		a->ev_sig = event_new(a->base, a->sigfd, EV_READ | EV_PERSIST, on_signal, a);
		a->ev_tick = event_new(a->base, -1, EV_PERSIST, on_loss_tick, a);
		a->ev_drain = event_new(a->base, -1, EV_PERSIST, on_drain_tick, a);
		if (!a->ev_rb || !a->ev_sig || !a->ev_tick || !a->ev_drain ||
		    event_add(a->ev_rb, NULL) || event_add(a->ev_sig, NULL) ||
		    event_add(a->ev_tick, &loss) || event_add(a->ev_drain, &drain_tv)) {
			err = -ENOMEM;
			snprintf(why, whylen, "setting up the event loop: out of memory");
			goto fail;
		}
		if (o->duration_s > 0) {
			a->ev_dur = evtimer_new(a->base, on_duration, a);
			if (!a->ev_dur || evtimer_add(a->ev_dur, &dur)) {
				err = -ENOMEM;
				snprintf(why, whylen, "setting up --duration: out of memory");
				goto fail;
			}
		}
	}
	if (o->metrics_addr && o->metrics_addr[0] && strcmp(o->metrics_addr, "off")) {
		struct vigil_http_status st = { .healthy = healthy, .ready = ready, .ctx = a };

		err = prometheus_start(&a->prom, a->base, o->metrics_addr, &a->metrics, &st,
				       why, whylen);
		if (err)
			goto fail;
		a->http_on = true;
	}
	if (a->policy_on) {
		struct vigil_oom_settings os;
		const char *m1 = cgroup_layout_v1_mount(&a->layout, "memory");

		memset(&os, 0, sizeof(os));
		os.interval_ms = o->oom_interval_ms;
		os.rescan_ms = o->oom_rescan_ms;
		os.mem_v1 = m1 != NULL;
		snprintf(os.mem_mount, sizeof(os.mem_mount), "%s", m1 ? m1 : a->layout.v2_mount);
		snprintf(os.v2_mount, sizeof(os.v2_mount), "%s", a->layout.v2_mount);
		if (os.mem_mount[0]) {
			err = oom_engine_init(&a->oom, a->base, &a->en, &a->metrics, &os,
					      engine_emit, a, why, whylen);
			if (err)
				goto fail;
			a->oom_on = true;
		}
		err = reloader_init(&a->rl, a->base, o->policy_dir ? o->policy_dir :
				    VIGIL_POLICY_DIR_DEFAULT, o->policy_required, &a->sp, &a->metrics,
				    o->sink.policy_reload, o->sink.ctx, why, whylen);
		if (err)
			goto fail;
		if (a->trust_on) {
			struct timeval sec = { 1, 0 };

			a->rl.trust = &a->trust;
			a->ev_trust = event_new(a->base, -1, EV_PERSIST, on_trust_tick, a);
			if (!a->ev_trust || event_add(a->ev_trust, &sec)) {
				err = -ENOMEM;
				snprintf(why, whylen, "setting up the trust heartbeat: out of memory");
				goto fail;
			}
		}
		if (a->oom_on)
			a->rl.oom = &a->oom;
		if (o->leak_enabled)
			start_leak(a);
		if (a->leak_on)
			a->rl.leak = &a->leak;
		if (reloader_run(&a->rl, "start") && o->policy_required) {
			err = -EINVAL;
			snprintf(why, whylen, "policy_required is set and the policies in %s did not load",
				 a->rl.dir);
			goto fail;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &a->last_turn);
	a->ready = true;
	return 0;
fail:
	agent_close(a);
	return err;
}

static void check_losses(struct vigil_agent *a)
{
	uint64_t now[VIGIL_EV__MAX], delta[VIGIL_EV__MAX];
	bool grew = false;
	struct timespec ts;

	if (vigil_bpf_lost(&a->bpf, now) < 0)
		return;
	for (int t = 0; t < VIGIL_EV__MAX; t++) {
		delta[t] = now[t] - a->lost[t];
		grew |= delta[t] != 0;
		a->lost[t] = now[t];
	}
	if (grew && a->o.sink.lost) {
		clock_gettime(CLOCK_REALTIME, &ts);
		a->o.sink.lost(a->o.sink.ctx, ts.tv_sec * 1000000000ull + ts.tv_nsec, delta, a->lost);
	}
}


int agent_run(struct vigil_agent *a)
{
	int err = event_base_dispatch(a->base);

	a->ready = false;
	drain(a);
	check_losses(a);
	if (a->o.sink.flush)
		a->o.sink.flush(a->o.sink.ctx);
	return err < 0 ? -EIO : 0;
}

uint64_t agent_lost_total(const struct vigil_agent *a)
{
	uint64_t total = 0;

	for (int t = 0; t < VIGIL_EV__MAX; t++)
		total += a->lost[t];
	return total;
}

void agent_close(struct vigil_agent *a)
{
	if (a->http_on)
		prometheus_stop(&a->prom);
	a->http_on = false;
	if (a->trust_on)
		trust_engine_close(&a->trust);
	a->trust_on = false;
	if (a->oom_on)
		oom_engine_close(&a->oom);
	a->oom_on = false;
	if (a->leak_on)
		leak_engine_close(&a->leak);
	a->leak_on = false;
	if (a->policy_on) {
		reloader_free(&a->rl);
		sigpolicy_free(&a->sp);
	}
	a->policy_on = false;
	struct event **evs[] = { &a->ev_rb, &a->ev_sig, &a->ev_tick, &a->ev_drain, &a->ev_dur,
				 &a->ev_trust };

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (*evs[i])
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	if (a->base)
		event_base_free(a->base);
	a->base = NULL;
	ring_buffer__free(a->rb);
	a->rb = NULL;
	vigil_bpf_destroy(&a->bpf);
	enricher_free(&a->en);
	telemetry_free(&a->tele);
	metrics_free(&a->metrics);
	if (a->sigfd >= 0)
		close(a->sigfd);
	if (a->stats_fd >= 0)
		close(a->stats_fd);
	a->sigfd = a->stats_fd = -1;
}
