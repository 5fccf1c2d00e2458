/*
 * bench_json.c - how many exec events per second the JSON-lines sink
 * formats and writes on one core (tests/bench/micro.sh builds and runs it;
 * docs/BENCHMARKS.md).
 *
 *   bench_json [EVENTS [RUNS]]      defaults: 200000 events, 9 runs
 *   bench_json --sample             print the line being timed, once
 *
 * Events are built the way tests/unit/fixtures.h builds them: a raw exec
 * record plus the enriched view (process from the table, container from
 * the cache) that jsonl_write_event() gets in the agent.  They look like a
 * Kubernetes node's: containerd container, pod UID, systemd-driver cgroup
 * path, a 5-argument argv, a 25-byte binary path.  The pid changes every
 * event and the clock advances 10 us per event, as at 100,000 events/s, so
 * the sink's per-second timestamp cache misses as often as it would then.
 *
 * The sink writes to /dev/null and is flushed every 64 events, as the agent
 * flushes after each ring-buffer batch, so the write(2) calls are part of
 * the cost.  It goes the way `vigil run --output FILE` goes: through a
 * struct vigil_output (exporters/output.h) when the sink has one, else
 * through stdio.  micro.sh picks from exporters/jsonl.h:
 *   -DBENCH_JSONL_INIT_OUTPUT  jsonl_init_output(j, struct vigil_output *, node)
 *   -DBENCH_JSONL_OUTPUT       jsonl_init(j, struct vigil_output *, node)
 *   (neither)                  jsonl_init(j, FILE *, node)
 *
 * stdout: one line of key=value pairs, for micro.sh:
 *   bench_json sink=output|stdio events=N runs=N bytes_per_event=N median_eps=X min_eps=X max_eps=X
 * Exit status: 0; 1 if the sink cannot be set up or reports an error; 2 for
 * usage errors.  It never judges the timings.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixtures.h"
#include "jsonl.h"

#if defined(BENCH_JSONL_INIT_OUTPUT)
#define BENCH_JSONL_OUTPUT 1
#define jsonl_init_sink(j, o, node) jsonl_init_output(j, o, node)
#elif defined(BENCH_JSONL_OUTPUT)
#define jsonl_init_sink(j, o, node) jsonl_init(j, o, node)
#endif
#ifdef BENCH_JSONL_OUTPUT
#include "output.h"
#define SINK_KIND "output"
#else
#define SINK_KIND "stdio"
#endif

#define FLUSH_EVERY 64
#define NODE "node-a.example.internal"

#define CID "3f2a9c0b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a"
#define POD "17e6e95c-d075-470c-998c-7ec555c01cac"
#define CGROUP                                                                       \
	"/kubepods.slice/kubepods-burstable.slice/"                                  \
	"kubepods-burstable-pod17e6e95c_d075_470c_998c_7ec555c01cac.slice/"         \
	"cri-containerd-" CID ".scope"
#define BINARY "/usr/local/bin/python3.11"
#define ARGS "python3\0-m\0gunicorn\0--workers=4\0app:server"

static void die(const char *what)
{
	fprintf(stderr, "bench_json: %s\n", what);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ---- the event ---------------------------------------------------------- */

static const char args[] = ARGS;

struct event {
	struct vigil_exec_event raw;
	struct vigil_proc proc;
	struct vigil_ctr ctr;
	struct vigil_event_view view;
};

/* The view points into *e, so e must not move afterwards. */
static void event_init(struct event *e)
{
	fx_exec(&e->raw, fx_task(4242, 4200, FX_TS, "python3"), BINARY, FX_ARGS(ARGS), 0);
	e->proc = fx_proc(4242, 4200, "python3", BINARY, args, sizeof(args));
	e->ctr = fx_ctr(VIGIL_RT_CONTAINERD, CID, POD, VIGIL_QOS_BURSTABLE, CGROUP);
	e->view = fx_view(VIGIL_EV_EXEC, &e->raw, &e->proc, &e->ctr, NULL, NULL);
}

/* ---- the sink ----------------------------------------------------------- */

enum sink_to {
	TO_NULL,	/* /dev/null: the timed runs */
	TO_COUNT,	/* somewhere the byte count can be read back */
	TO_STDOUT,	/* --sample */
};

struct sink {
	struct vigil_jsonl j;
#ifdef BENCH_JSONL_OUTPUT
	struct vigil_output out;	/* counts bytes itself (out.size) */
#else
	FILE *out;
	char *mem;			/* open_memstream() buffer for TO_COUNT */
	size_t memlen;
#endif
};

static void sink_open(struct sink *s, enum sink_to to)
{
	memset(s, 0, sizeof(*s));
#ifdef BENCH_JSONL_OUTPUT
	char why[256] = "";
	const char *path = to == TO_STDOUT ? "-" : "/dev/null";

	if (output_open(&s->out, path, 0, 0, why, sizeof(why)) != 0) {
		fprintf(stderr, "bench_json: cannot open %s: %s\n", path, why);
		exit(1);
	}
	jsonl_init_sink(&s->j, &s->out, NODE);
#else
	/* ftell() on /dev/null is always 0, so counting needs a memory stream. */
	s->out = to == TO_STDOUT ? stdout :
		 to == TO_COUNT ? open_memstream(&s->mem, &s->memlen) : fopen("/dev/null", "w");
	if (!s->out)
		die("cannot open the output stream");
	jsonl_init(&s->j, s->out, NODE);
#endif
}

/* Bytes written so far (after a flush); -1 if unknown. */
static long sink_bytes(struct sink *s)
{
#ifdef BENCH_JSONL_OUTPUT
	return (long)s->out.size;
#else
	return s->mem || s->out == stdout ? ftell(s->out) : -1;
#endif
}

static void sink_close(struct sink *s)
{
	jsonl_free(&s->j);
#ifdef BENCH_JSONL_OUTPUT
	output_close(&s->out);
#else
	if (s->out != stdout)
		fclose(s->out);
	free(s->mem);
#endif
}

/* ---- runs --------------------------------------------------------------- */

/*
 * n events into a sink; returns events per second.  With *bytes_per_event
 * non-NULL, the run goes to a counting sink instead (not a timed run).
 */
static double run(unsigned n, double *bytes_per_event)
{
	struct event e;
	struct sink s;
	double t0, t1;

	event_init(&e);
	sink_open(&s, bytes_per_event ? TO_COUNT : TO_NULL);
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		e.raw.task.pid = e.raw.task.tid = e.proc.pid = 10000 + (i & 0xffff);
		e.view.time_ns += 10000;
		if (jsonl_write_event(&s.j, &e.view) != 0)
			die("jsonl_write_event failed");
		if ((i + 1) % FLUSH_EVERY == 0 && jsonl_flush(&s.j) != 0)
			die("jsonl_flush failed");
	}
	if (jsonl_flush(&s.j) != 0)
		die("jsonl_flush failed");
	t1 = now_s();
	if (bytes_per_event) {
		long b = sink_bytes(&s);

		*bytes_per_event = b > 0 ? (double)b / n : 0;
	}
	sink_close(&s);
	return n / (t1 - t0);
}

static int sample(void)
{
	struct event e;
	struct sink s;
	int rc;

	event_init(&e);
	sink_open(&s, TO_STDOUT);
	rc = jsonl_write_event(&s.j, &e.view) || jsonl_flush(&s.j);
	sink_close(&s);
	fflush(stdout);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200000;
	unsigned runs = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 9;
	double *eps, bpe = 0;

	if (argc == 2 && !strcmp(argv[1], "--sample"))
		return sample();
	if (argc > 3 || n < 1000 || runs < 1) {
		fprintf(stderr, "usage: bench_json [EVENTS>=1000 [RUNS>=1]] | --sample\n");
		return 2;
	}
	eps = calloc(runs, sizeof(*eps));
	if (!eps)
		die("out of memory");
	run(n / 10, &bpe);	/* untimed: warms caches and the line buffer, counts bytes */
	for (unsigned r = 0; r < runs; r++)
		eps[r] = run(n, NULL);
	qsort(eps, runs, sizeof(*eps), cmp_double);
	printf("bench_json sink=%s events=%u runs=%u bytes_per_event=%.0f median_eps=%.0f "
	       "min_eps=%.0f max_eps=%.0f\n",
	       SINK_KIND, n, runs, bpe,
	       runs % 2 ? eps[runs / 2] : (eps[runs / 2 - 1] + eps[runs / 2]) / 2, eps[0],
	       eps[runs - 1]);
	free(eps);
	return 0;
}
