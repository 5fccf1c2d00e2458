/*
 * bench_metrics.c - how long one /metrics render takes with a node-sized
 * registry (tests/bench/micro.sh builds and runs it; docs/BENCHMARKS.md).
 *
 *   bench_metrics [SERIES [RENDERS]]     defaults: 2000 series, 300 renders
 *
 * The registry holds the families the agent exports (agent/telemetry.c),
 * with the agent's label sets and label values of the shapes real nodes
 * produce (64-hex container ids, dashed pod UIDs, systemd-driver cgroup
 * paths of about 150 bytes), and enough containers in
 * vigil_container_events_total to reach SERIES series in all.  Each timed
 * render is prometheus_render() (collectors included) plus free() of its
 * buffer, i.e. the agent's cost per scrape before the bytes reach a socket.
 *
 * stdout: one line of key=value pairs, for micro.sh:
 *   bench_metrics series=N renders=N bytes=N samples=N median_ms=X p90_ms=X min_ms=X max_ms=X
 * Exit status: 0, or 1 if the registry cannot be built or a render fails or
 * yields fewer sample lines than series registered.  It never judges the
 * timings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "prometheus.h"

#define WARMUP 20

static const char *const event_types[] = { "exec", "exit", "fork", "signal", "signal_deliver" };
#define NTYPES (sizeof(event_types) / sizeof(event_types[0]))

/* As the agent names them (bpf/trace.bpf.c). */
static const char *const programs[] = {
	"vigil_fork", "vigil_exec", "vigil_exit", "vigil_signal_generate",
	"vigil_signal_deliver", "vigil_cgroup_mkdir", "vigil_cgroup_rmdir", "vigil_seed",
};
#define NPROGS (sizeof(programs) / sizeof(programs[0]))

/* Ring-buffer loss is counted for every record type, internal ones too. */
static const char *const record_types[] = {
	"fork", "exec", "exit", "signal", "signal_deliver", "cgroup_mkdir", "cgroup_rmdir",
};
#define NRECORDS (sizeof(record_types) / sizeof(record_types[0]))

static void die(const char *what)
{
	fprintf(stderr, "bench_metrics: %s\n", what);
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Deterministic pseudo-random hex, so every run renders the same bytes. */
static void hex(char *out, size_t n, unsigned long long *state)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*state = *state * 6364136223846793005ull + 1442695040888963407ull;
		out[i] = digits[(*state >> 33) & 15];
	}
	out[n] = '\0';
}

static struct vigil_metric_family *family(struct vigil_metrics *m, const char *name,
					  const char *help, enum vigil_metric_type type,
					  const char *const *labels)
{
	/* No cap: the benchmark sets exactly how many series there are. */
	struct vigil_metric_family *f = metrics_family(m, name, help, type, labels, 0);

	if (!f)
		die("metrics_family failed");
	return f;
}

static unsigned nmade;	/* series registered so far */

static void series(struct vigil_metric_family *f, const char *const *values, double v)
{
	struct vigil_metric_series *s = metrics_series(f, values);

	if (!s)
		die("metrics_series failed");
	metrics_set(s, v);
	nmade++;
}

/* The agent's families; returns the number of series registered. */
static unsigned build(struct vigil_metrics *m, unsigned target)
{
	static const char *const l_build[] = { "version", "libbpf", NULL };
	static const char *const l_type[] = { "type", NULL };
	static const char *const l_lost[] = { "source", "type", NULL };
	static const char *const l_prog[] = { "program", NULL };
	static const char *const l_ctr[] = { "container", "pod_uid", "runtime", "cgroup", "type", NULL };
	static const struct {
		const char *name, *help;
		enum vigil_metric_type type;
		double value;
	} process[] = {
		{ "process_cpu_seconds_total", "Total user and system CPU time spent in seconds",
		  VIGIL_METRIC_COUNTER, 1234.56 },
		{ "process_resident_memory_bytes", "Resident memory size in bytes",
		  VIGIL_METRIC_GAUGE, 37101568 },
		{ "process_virtual_memory_bytes", "Virtual memory size in bytes",
		  VIGIL_METRIC_GAUGE, 37691392 },
		{ "process_start_time_seconds", "Start time of the process since unix epoch in seconds",
		  VIGIL_METRIC_GAUGE, 1795321408.84 },
		{ "process_open_fds", "Number of open file descriptors", VIGIL_METRIC_GAUGE, 37 },
		{ "process_max_fds", "Maximum number of open file descriptors", VIGIL_METRIC_GAUGE,
		  1048576 },
	};
	struct vigil_metric_family *f, *runs, *secs, *ctr;
	unsigned long long rng = 0x5eed;

	f = family(m, "vigil_build_info", "vigil version and the libbpf it runs with",
		   VIGIL_METRIC_GAUGE, l_build);
	series(f, (const char *const[]){ "v0.4.0-12-gabcdef0", "1.1.2" }, 1);

	f = family(m, "vigil_events_total", "Events read from the kernel, by type",
		   VIGIL_METRIC_COUNTER, l_type);
	for (size_t t = 0; t < NTYPES; t++)
		series(f, (const char *const[]){ event_types[t] }, 1234567.0 * (double)(t + 1));

	f = family(m, "vigil_events_lost_total",
		   "Events lost: ringbuf = BPF reserve failures, output = lines not written",
		   VIGIL_METRIC_COUNTER, l_lost);
	for (size_t t = 0; t < NRECORDS; t++)
		series(f, (const char *const[]){ "ringbuf", record_types[t] }, (double)t);
	series(f, (const char *const[]){ "output", "any" }, 0);

	f = family(m, "vigil_processes_tracked", "Processes in the agent's table",
		   VIGIL_METRIC_GAUGE, NULL);
	series(f, NULL, 812);

	runs = family(m, "vigil_bpf_program_runs_total", "BPF program runs (needs --bpf-stats)",
		      VIGIL_METRIC_COUNTER, l_prog);
	secs = family(m, "vigil_bpf_program_run_seconds_total",
		      "Time spent in BPF programs (needs --bpf-stats)", VIGIL_METRIC_COUNTER,
		      l_prog);
	for (size_t p = 0; p < NPROGS; p++) {
		series(runs, (const char *const[]){ programs[p] }, 98765432.0 + (double)p);
		series(secs, (const char *const[]){ programs[p] }, 12.345678901 * (double)(p + 1));
	}

	for (size_t p = 0; p < sizeof(process) / sizeof(process[0]); p++) {
		f = family(m, process[p].name, process[p].help, process[p].type, NULL);
		series(f, NULL, process[p].value);
	}

	f = family(m, "vigil_containers_tracked", "Containers the agent has seen and not forgotten",
		   VIGIL_METRIC_GAUGE, NULL);
	if (nmade >= target)
		die("SERIES is smaller than the fixed families");
	series(f, NULL, (double)((target - nmade) / NTYPES + 1));

	/* The open-ended family fills the rest: one container per NTYPES series. */
	ctr = family(m, "vigil_container_events_total", "Events per container, by type",
		     VIGIL_METRIC_COUNTER, l_ctr);
	for (unsigned c = 0; nmade < target; c++) {
		char id[65], uid[33], pod[37], pod_us[37], cgroup[256];

		hex(id, 64, &rng);
		hex(uid, 32, &rng);
		snprintf(pod, sizeof(pod), "%.8s-%.4s-%.4s-%.4s-%.12s", uid, uid + 8, uid + 12,
			 uid + 16, uid + 20);
		snprintf(pod_us, sizeof(pod_us), "%.8s_%.4s_%.4s_%.4s_%.12s", uid, uid + 8,
			 uid + 12, uid + 16, uid + 20);
		snprintf(cgroup, sizeof(cgroup),
			 "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/"
			 "cri-containerd-%s.scope", pod_us, id);
		for (size_t t = 0; t < NTYPES && nmade < target; t++)
			series(ctr, (const char *const[]){ id, pod, "containerd", cgroup,
							   event_types[t] },
			       (double)(c * 37 + t * 1001));
	}
	return nmade;
}

static unsigned count_samples(const char *buf, size_t len)
{
	unsigned n = 0;
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (*p != '#' && *p != '\n')
			n++;
		p = nl ? nl + 1 : end;
	}
	return n;
}

int main(int argc, char **argv)
{
	unsigned target = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000;
	unsigned renders = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 300;
	struct vigil_metrics m;
	double *t;
	size_t len = 0;
	unsigned nseries, samples = 0;

	if (argc > 3 || target < 100 || renders < 10) {
		fprintf(stderr, "usage: bench_metrics [SERIES>=100 [RENDERS>=10]]\n");
		return 2;
	}
	t = calloc(renders, sizeof(*t));
	if (!t)
		die("out of memory");
	metrics_init(&m);
	nseries = build(&m, target);

	for (unsigned i = 0; i < WARMUP + renders; i++) {
		char *buf = NULL;
		double t0 = now_ms(), t1;

		if (prometheus_render(&m, &buf, &len) != 0 || !buf)
			die("prometheus_render failed");
		if (i == 0)
			samples = count_samples(buf, len);
		free(buf);
		t1 = now_ms();
		if (i >= WARMUP)
			t[i - WARMUP] = t1 - t0;
	}
	if (samples < nseries) {
		fprintf(stderr, "bench_metrics: the render has %u sample lines, expected >= %u\n",
			samples, nseries);
		return 1;
	}
	qsort(t, renders, sizeof(*t), cmp_double);
	printf("bench_metrics series=%u renders=%u bytes=%zu samples=%u median_ms=%.3f "
	       "p90_ms=%.3f min_ms=%.3f max_ms=%.3f\n",
	       nseries, renders, len, samples,
	       renders % 2 ? t[renders / 2] : (t[renders / 2 - 1] + t[renders / 2]) / 2,
	       t[(renders * 9 + 9) / 10 - 1], t[0], t[renders - 1]);
	metrics_free(&m);
	free(t);
	return 0;
}
