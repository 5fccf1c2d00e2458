/*
 * telemetry.c - the agent's own metric families (see telemetry.h).
 *
 * Cardinality: every family has a fixed label set except
 * vigil_container_events_total.  There, at most max_containers containers
 * have series of their own (one per event type, labelled with the
 * container's root cgroup, so nested cgroups do not multiply series); the
 * events of any further container go to the "_overflow" series of their
 * type.  A slot is freed when the container's root cgroup is removed, so
 * churning pods keep getting their own series.  Nothing is labelled by pid.
 */
#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent.h"
#include "telemetry.h"
#include "trace.skel.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "unknown"
#endif

static const char *const type_label[] = { "type", NULL };

/* Seconds since the epoch at which this process started (from /proc/self/stat). */
static double process_start_time(void)
{
	char buf[1024], *p;
	unsigned long long start_ticks = 0;
	double btime = 0;
	FILE *f;

	f = fopen("/proc/stat", "r");
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %lf", &btime) == 1)
			break;
	if (f)
		fclose(f);
	f = fopen("/proc/self/stat", "r");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		       &start_ticks);
	if (f)
		fclose(f);
	return btime + (double)start_ticks / sysconf(_SC_CLK_TCK);
}

static void collect_process(struct vigil_telemetry *t)
{
	unsigned long long ut = 0, st = 0, vsz = 0;
	long rss = 0, nfds = 0;
	struct rlimit rl;
	char buf[1024], *p;
	struct dirent *de;
	FILE *f;
	DIR *d;

	f = fopen("/proc/self/stat", "r");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %*u %llu %ld",
		       &ut, &st, &vsz, &rss);
	if (f)
		fclose(f);
	metrics_set(t->cpu, (double)(ut + st) / sysconf(_SC_CLK_TCK));
	metrics_set(t->rss, (double)rss * sysconf(_SC_PAGESIZE));
	metrics_set(t->vms, (double)vsz);
	metrics_set(t->start, t->start_time);
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d)))
		nfds += de->d_name[0] != '.';
	if (d) {
		closedir(d);
		nfds--;	/* the directory's own fd */
	}
	metrics_set(t->fds, (double)nfds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		metrics_set(t->max_fds, (double)rl.rlim_cur);
}

/* Per-program run time from bpf_prog_info; non-zero only with BPF stats on. */
static void collect_programs(struct vigil_telemetry *t)
{
	struct vigil_agent *a = t->agent;
	struct bpf_program *prog;
	struct bpf_prog_info info;
	__u32 len;

	if (!a->bpf.skel)
		return;
	bpf_object__for_each_program(prog, a->bpf.skel->obj) {
		const char *name = bpf_program__name(prog);
		int fd = bpf_program__fd(prog);

		if (fd < 0)
			continue;	/* not loaded on this kernel */
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		metrics_set(metrics_series(t->prog_seconds, (const char *[]){ name }),
			    info.run_time_ns / 1e9);
		metrics_set(metrics_series(t->prog_runs, (const char *[]){ name }),
			    (double)info.run_cnt);
	}
}

static void collect(void *ctx)
{
	struct vigil_telemetry *t = ctx;
	struct vigil_agent *a = t->agent;

	for (int i = 1; i < VIGIL_EV__MAX; i++)
		metrics_set(t->lost_ringbuf[i], (double)a->lost[i]);
	if (t->output_errors)
		metrics_set(t->lost_output, (double)*t->output_errors);
	metrics_set(t->processes, (double)a->en.procs.map.len);
	metrics_set(t->containers, (double)ctr_cache_containers(&a->en.ctrs));
	for (int r = 0; r < PODMETA__N; r++)
		metrics_set(t->pod_lookups[r], (double)a->en.ctrs.pods.results[r]);
	collect_programs(t);
	collect_process(t);
}

int telemetry_init(struct vigil_telemetry *t, struct vigil_metrics *m, struct vigil_agent *a,
		   unsigned max_containers, const uint64_t *output_errors)
{
	static const char *const lost_labels[] = { "source", "type", NULL };
	static const char *const ctr_labels[] = { "container", "pod_uid", "runtime", "cgroup", "type", NULL };
	static const char *const prog_label[] = { "program", NULL };
	struct vigil_metric_family *f, *events, *lost;
	char libbpf[32];

	memset(t, 0, sizeof(*t));
	t->m = m;
	t->agent = a;
	t->output_errors = output_errors;
	t->start_time = process_start_time();

	f = metrics_family(m, "vigil_build_info", "vigil build and library versions (always 1)",
			   VIGIL_METRIC_GAUGE, (const char *[]){ "version", "libbpf", NULL }, 0);
	snprintf(libbpf, sizeof(libbpf), "%s", libbpf_version_string());
	metrics_set(metrics_series(f, (const char *[]){ VIGIL_VERSION, libbpf }), 1);

	events = metrics_family(m, "vigil_events_total",
				"Events decoded from the kernel, by type (before trace filters)",
				VIGIL_METRIC_COUNTER, type_label, 0);
	lost = metrics_family(m, "vigil_events_lost_total",
			      "Events lost: source=ringbuf are BPF ring-buffer reserve failures, "
			      "source=output are lines the output could not take",
			      VIGIL_METRIC_COUNTER, lost_labels, 0);
	for (int i = 1; i < VIGIL_EV__MAX; i++) {
		const char *name = event_type_name(i);

		if ((VIGIL_OBS_ALL | VIGIL_OBS_OOM | VIGIL_OBS_LEAK) & VIGIL_OBS(i))
			t->events[i] = metrics_series(events, (const char *[]){ name });
		/* Pre-kills and leak events are made in user space: never in the ring buffer. */
		if (!event_user_space_only(i))
			t->lost_ringbuf[i] = metrics_series(lost, (const char *[]){ "ringbuf", name });
	}
	t->lost_output = metrics_series(lost, (const char *[]){ "output", "any" });
	t->processes = metrics_single(m, "vigil_processes_tracked",
				 "Processes in the agent's process table", VIGIL_METRIC_GAUGE);
	t->containers = metrics_single(m, "vigil_containers_tracked",
				 "Containers among the cgroups the agent knows", VIGIL_METRIC_GAUGE);
	t->container_events = metrics_family(m, "vigil_container_events_total",
					     "Events by container (at most metrics_max_containers "
					     "containers at once; the rest count in the _overflow series)",
					     VIGIL_METRIC_COUNTER, ctr_labels, 0);
	t->max_containers = max_containers;
	if (idmap_init(&t->ctr_slots, max_containers) < 0)
		return -1;
	t->prog_seconds = metrics_family(m, "vigil_bpf_program_run_seconds_total",
					 "Time spent in each BPF program (needs bpf_stats: true)",
					 VIGIL_METRIC_COUNTER, prog_label, 0);
	t->prog_runs = metrics_family(m, "vigil_bpf_program_runs_total",
				      "Runs of each BPF program (needs bpf_stats: true)",
				      VIGIL_METRIC_COUNTER, prog_label, 0);
	/* Bounded: source kernel|vigil, scope memcg|global|process|process_group|cgroup. */
	t->oom_kills = metrics_family(m, "vigil_oom_kills_total",
				      "Processes killed for lack of memory: source=kernel by the "
				      "kernel's OOM killer (scope memcg or global), source=vigil by "
				      "an OomPolicy (scope process, process_group or cgroup)",
				      VIGIL_METRIC_COUNTER, (const char *[]){ "source", "scope", NULL }, 16);
	metrics_series(t->oom_kills, (const char *[]){ "kernel", "memcg" });
	metrics_series(t->oom_kills, (const char *[]){ "kernel", "global" });
	f = metrics_family(m, "vigil_pod_metadata_lookups_total",
			   "Lookups of a container's pod names in the runtime state directories, "
			   "by result: found, not_kubernetes (no pod annotations), missing (no "
			   "config.json yet; retried), unreadable, too_large, invalid (garbled)",
			   VIGIL_METRIC_COUNTER, (const char *[]){ "result", NULL }, PODMETA__N);
	for (int r = 0; f && r < PODMETA__N; r++)
		t->pod_lookups[r] = metrics_series(f, (const char *[]){ podmeta_result_name(r) });
	if (!f)
		return -1;
	t->cpu = metrics_single(m, "process_cpu_seconds_total",
				 "Total user and system CPU time spent in seconds", VIGIL_METRIC_COUNTER);
	t->rss = metrics_single(m, "process_resident_memory_bytes",
				 "Resident memory size in bytes", VIGIL_METRIC_GAUGE);
	t->vms = metrics_single(m, "process_virtual_memory_bytes",
				 "Virtual memory size in bytes", VIGIL_METRIC_GAUGE);
	t->start = metrics_single(m, "process_start_time_seconds",
				 "Start time of the process since unix epoch in seconds", VIGIL_METRIC_GAUGE);
	t->fds = metrics_single(m, "process_open_fds",
				 "Number of open file descriptors", VIGIL_METRIC_GAUGE);
	t->max_fds = metrics_single(m, "process_max_fds",
				 "Maximum number of open file descriptors", VIGIL_METRIC_GAUGE);
	if (!events || !lost || !t->processes || !t->container_events || !t->prog_runs ||
	    !t->oom_kills || !t->cpu || !t->max_fds)
		return -1;
	return metrics_on_collect(m, collect, t);
}

struct ctr_slot {
	char id[VIGIL_CONTAINER_ID_LEN + 1];
	char pod_uid[VIGIL_POD_UID_LEN + 1];
	const char *runtime;
	char root[512];
	struct vigil_metric_series *series[VIGIL_EV__MAX];
};

static uint64_t id_key(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*id)
		h = (h ^ (unsigned char)*id++) * 0x100000001b3ull;
	return h;
}

static struct ctr_slot *slot_for(struct vigil_telemetry *t, const struct vigil_ctr *c)
{
	struct ctr_slot *s = idmap_get(&t->ctr_slots, id_key(c->info.id));

	if (s && !strcmp(s->id, c->info.id))
		return s;
	if (s || t->ctr_slots.len >= t->max_containers)
		return NULL;	/* over the cap (or a hash collision): overflow */
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	snprintf(s->id, sizeof(s->id), "%s", c->info.id);
	snprintf(s->pod_uid, sizeof(s->pod_uid), "%s", c->info.pod_uid);
	s->runtime = cgroup_runtime_name(c->info.runtime);
	ctr_root_path(c, s->root, sizeof(s->root));
	if (idmap_put(&t->ctr_slots, id_key(c->info.id), s) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void telemetry_event(struct vigil_telemetry *t, const struct vigil_event_view *v)
{
	const struct vigil_ctr *c = v->subject.ctr;
	const char *type = event_type_name(v->type);
	struct ctr_slot *s;

	metrics_add(t->events[v->type], 1);
	if (v->type == VIGIL_EV_OOM_KILL && v->oom && v->oom->source && v->oom->scope) {
		/* The kernel's event is one process; vigil's says how many it signalled. */
		double n = strcmp(v->oom->source, "vigil") ? 1 :
			   v->oom->dry_run ? 0 : v->oom->killed;

		if (n > 0)
			metrics_add(metrics_series(t->oom_kills, (const char *[]){ v->oom->source,
										  v->oom->scope }), n);
	}
	if (!c || c->info.runtime == VIGIL_RT_HOST || !c->info.id[0])
		return;
	s = slot_for(t, c);
	if (!s) {
		if (!t->ctr_overflow[v->type]) {
			const char *vals[] = { VIGIL_METRIC_OVERFLOW, VIGIL_METRIC_OVERFLOW,
					       VIGIL_METRIC_OVERFLOW, VIGIL_METRIC_OVERFLOW, type };

			t->ctr_overflow[v->type] = metrics_series(t->container_events, vals);
		}
		metrics_add(t->ctr_overflow[v->type], 1);
		return;
	}
	if (!s->series[v->type]) {
		const char *vals[] = { s->id, s->pod_uid, s->runtime, s->root, type };

		s->series[v->type] = metrics_series(t->container_events, vals);
	}
	metrics_add(s->series[v->type], 1);
}

void telemetry_container_gone(void *ctx, const struct vigil_ctr *c)
{
	struct vigil_telemetry *t = ctx;
	struct ctr_slot *s = idmap_get(&t->ctr_slots, id_key(c->info.id));

	if (!s || strcmp(s->id, c->info.id))
		return;
	for (int i = 0; i < VIGIL_EV__MAX; i++)
		metrics_series_remove(t->container_events, s->series[i]);
	free(idmap_del(&t->ctr_slots, id_key(c->info.id)));
}

static void free_slot(uint64_t key, void *val, void *ctx)
{
	free(val);
}

void telemetry_free(struct vigil_telemetry *t)
{
	idmap_each(&t->ctr_slots, free_slot, NULL);
	idmap_free(&t->ctr_slots);
}
