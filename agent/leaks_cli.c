/*
 * leaks_cli.c - `vigil leaks`: the running agent's leak scorer, as three
 * ranked lists with sparklines (or JSON); `--trace PID` hands over to
 * leaktrace.c.
 *
 * The lists come from the agent's /leaks endpoint on its metrics address:
 * the history lives in the agent, so a one-shot command asks it rather
 * than sampling for minutes itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "config.h"
#include "leaks_cli.h"
#include "leaktrace.h"
#include "prometheus.h"

#define EXIT_USAGE 2
#define SPARK_WIDTH 24

static const char leaks_usage[] =
	"Usage: vigil leaks [--top N] [--json] [--agent HOST:PORT | --config FILE]\n"
	"       vigil leaks --trace PID [--duration S] [--min-age S] [--sample N] [--top N] [--json]\n"
	"\n"
	"Without --trace: ask the running agent (`vigil run`) for its leak scores\n"
	"and print three ranked lists - by growth-pattern score, by memory in use,\n"
	"and by growth over each process's baseline - with a sparkline of each\n"
	"process's history.  Memory is the footprint: anon + shmem + swap.  A '!'\n"
	"marks a confirmed leak (a leak_suspected event was sent).\n"
	"\n"
	"With --trace: attach uprobes to the allocator of process PID and print\n"
	"the call stacks holding the most memory still outstanding\n"
	"(`vigil leaks --trace --help`).\n"
	"\n"
	"Options:\n"
	"  -n, --top N            processes per list (default 10, at most 1000)\n"
	"  -j, --json             the agent's answer as one JSON object\n"
	"  -a, --agent HOST:PORT  the agent's metrics address (default: the config's\n"
	"                         metrics_addr, else " VIGIL_METRICS_DEFAULT_ADDR ")\n"
	"  -c, --config FILE      read metrics_addr from this config\n"
	"  -h, --help             this help\n"
	"\n"
	"Examples:\n"
	"  vigil leaks                          # top 10 of each list\n"
	"  vigil leaks --top 3 --json | jq .by_score\n"
	"  vigil leaks --agent 127.0.0.1:9900\n"
	"  sudo vigil leaks --trace 4242 --duration 30\n";

struct fetch {
	struct event_base *base;
	int code;
	bool failed;
	char *body;
	size_t len;
};

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct fetch *f = arg;
	struct evbuffer *in;

	if (!req || !evhttp_request_get_response_code(req)) {
		f->failed = true;
	} else {
		f->code = evhttp_request_get_response_code(req);
		in = evhttp_request_get_input_buffer(req);
		f->len = evbuffer_get_length(in);
		f->body = malloc(f->len + 1);
		if (f->body) {
			evbuffer_remove(in, f->body, f->len);
			f->body[f->len] = 0;
		}
	}
	event_base_loopexit(f->base, NULL);
}

/* The address to connect to: a wildcard bind address means this host. */
static int connect_host(const char *addr, char *host, size_t hlen, unsigned *port, FILE *err)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char why[256];

	if (prometheus_parse_addr(addr, &ss, &sslen, why, sizeof(why)) < 0) {
		fprintf(err, "vigil leaks: bad agent address '%s': %s\n", addr, why);
		return -EINVAL;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			s6->sin6_addr = in6addr_loopback;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, hlen);
		*port = ntohs(s6->sin6_port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		inet_ntop(AF_INET, &s4->sin_addr, host, hlen);
		*port = ntohs(s4->sin_port);
	}
	return 0;
}

/* GET path from the agent; the body on success (malloc'd), NULL with a message on err. */
static char *fetch(const char *addr, const char *path, FILE *err)
{
	struct fetch f = { 0 };
	struct evhttp_connection *conn = NULL;
	struct evhttp_request *req;
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (connect_host(addr, host, sizeof(host), &port, err) < 0)
		return NULL;
	f.base = event_base_new();
	if (f.base)
		conn = evhttp_connection_base_new(f.base, NULL, host, (unsigned short)port);
	req = conn ? evhttp_request_new(on_reply, &f) : NULL;
	if (!req) {
		fprintf(err, "vigil leaks: out of memory\n");
		goto out;
	}
	evhttp_connection_set_timeout(conn, 10);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
	if (evhttp_make_request(conn, req, EVHTTP_REQ_GET, path) < 0) {
		f.failed = true;
	} else {
		event_base_dispatch(f.base);
	}
	if (f.failed) {
		fprintf(err, "vigil leaks: no agent answered at %s: is `vigil run` running there "
			"with metrics on?  Give its address with --agent HOST:PORT or --config FILE\n",
			addr);
	} else if (f.code == 404) {
		fprintf(err, "vigil leaks: the agent at %s does not score leaks (leak.enabled is "
			"false, or its sampler could not load: see its log or `vigil features`)\n",
			addr);
	} else if (f.code != 200) {
		fprintf(err, "vigil leaks: the agent at %s answered HTTP %d\n", addr, f.code);
	} else if (f.body) {
		goto out;
	}
	free(f.body);
	f.body = NULL;
out:
	if (conn)
		evhttp_connection_free(conn);
	if (f.base)
		event_base_free(f.base);
	return f.body;
}

/* ---------------------------------------------------------------- text */

static void human(char *buf, size_t len, double bytes)
{
	static const char *const unit[] = { "B", "K", "M", "G", "T" };
	double a = fabs(bytes);
	int u = 0;

	while (a >= 1024 && u < 4) {
		a /= 1024;
		bytes /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f%s" : "%.0f%s", bytes, unit[u]);
}

static void duration(char *buf, size_t len, double s)
{
	if (s < 0 || !isfinite(s))
		snprintf(buf, len, "-");
	else if (s < 10 && s != floor(s))
		snprintf(buf, len, "%.1fs", s);
	else if (s < 120)
		snprintf(buf, len, "%.0fs", s);
	else if (s < 7200)
		snprintf(buf, len, "%.0fm", s / 60);
	else if (s < 172800)
		snprintf(buf, len, "%.1fh", s / 3600);
	else
		snprintf(buf, len, "%.0fd", s / 86400);
}

/* A sparkline of the points, scaled between their own min and max. */
void leaks_sparkline(FILE *out, const double *v, size_t n, size_t width)
{
	static const char *const bars[] = { "\u2581", "\u2582", "\u2583", "\u2584",
					    "\u2585", "\u2586", "\u2587", "\u2588" };
	double lo = INFINITY, hi = -INFINITY;
	size_t i, from, to, j, cols = n < width ? n : width;

	for (i = 0; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	for (i = 0; i < cols; i++) {
		double sum = 0;
		int level;

		from = i * n / cols;
		to = (i + 1) * n / cols;
		for (j = from; j < to; j++)
			sum += v[j];
		sum /= (double)(to - from);
		level = hi > lo ? (int)((sum - lo) / (hi - lo) * 7.0 + 0.5) : 0;
		fputs(bars[level < 0 ? 0 : level > 7 ? 7 : level], out);
	}
}

static double num(json_object *o, const char *key, double dflt)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return dflt;
	return json_object_get_double(v);
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) : "";
}

static void print_list(FILE *out, json_object *root, const char *key, const char *title)
{
	json_object *list, *p, *hist, *sus;
	size_t n, i, k, nh;
	double *v;
	char now[16], base[16], slope[16], tte[16], grow[16];

	if (!json_object_object_get_ex(root, key, &list) ||
	    !json_object_is_type(list, json_type_array))
		return;
	n = json_object_array_length(list);
	fprintf(out, "\n%s\n", title);
	if (!n) {
		fputs("  (no processes yet)\n", out);
		return;
	}
	fprintf(out, "  %-7s %-15s %-12s %5s %9s %8s %8s %7s %6s  %s\n", "PID", "COMM", "CONTAINER",
		"SCORE", "SLOPE/s", "NOW", "BASE", "+%", "FULL", "HISTORY");
	for (i = 0; i < n; i++) {
		p = json_object_array_get_idx(list, i);
		human(now, sizeof(now), num(p, "current_bytes", 0));
		if (num(p, "baseline_bytes", -1) < 0) {
			snprintf(base, sizeof(base), "-");
			snprintf(grow, sizeof(grow), "-");
		} else {
			human(base, sizeof(base), num(p, "baseline_bytes", 0));
			snprintf(grow, sizeof(grow), "%+.0f%%", num(p, "growth_percent", 0));
		}
		human(slope, sizeof(slope), num(p, "slope_bytes_per_second", 0));
		duration(tte, sizeof(tte), num(p, "time_to_exhaustion_seconds", -1));
		sus = NULL;
		json_object_object_get_ex(p, "suspected", &sus);
		fprintf(out, "%c %-7.0f %-15.15s %-12.12s %5.2f %9s %8s %8s %7s %6s  ",
			sus && json_object_get_boolean(sus) ? '!' : ' ', num(p, "pid", 0),
			str(p, "comm"), str(p, "container")[0] ? str(p, "container") : "-",
			num(p, "score", 0), slope, now, base, grow, tte);
		if (json_object_object_get_ex(p, "history_bytes", &hist) &&
		    json_object_is_type(hist, json_type_array) &&
		    (nh = json_object_array_length(hist)) > 0 &&
		    (v = calloc(nh, sizeof(*v)))) {
			for (k = 0; k < nh; k++)
				v[k] = json_object_get_double(json_object_array_get_idx(hist, k));
			leaks_sparkline(out, v, nh, SPARK_WIDTH);
			free(v);
		}
		fputc('\n', out);
	}
}

static int print_text(FILE *out, FILE *err, const char *addr, const char *body)
{
	json_object *root = json_tokener_parse(body);
	json_object *ctrs;
	char iv[16], hist[16];

	if (!root || !json_object_is_type(root, json_type_object)) {
		fprintf(err, "vigil leaks: the agent at %s sent something that is not JSON\n", addr);
		json_object_put(root);
		return 1;
	}
	duration(iv, sizeof(iv), num(root, "interval_seconds", 0));
	duration(hist, sizeof(hist), num(root, "interval_seconds", 0) * num(root, "history", 0));
	fprintf(out, "vigil leaks: %.0f processes scored every %s (history %s) by the agent at %s; "
		"%.0f confirmed leak%s",
		num(root, "tracked", 0), iv, hist, addr, num(root, "suspected", 0),
		num(root, "suspected", 0) == 1 ? "" : "s");
	if (num(root, "untracked", 0) > 0)
		fprintf(out, "; %.0f processes not tracked (leak.max_processes)",
			num(root, "untracked", 0));
	fputc('\n', out);
	print_list(out, root, "by_score", "By growth-pattern score");
	print_list(out, root, "by_usage", "By memory in use (anon + shmem + swap)");
	print_list(out, root, "by_growth", "By growth over baseline");
	if (json_object_object_get_ex(root, "containers", &ctrs) &&
	    json_object_is_type(ctrs, json_type_array) && json_object_array_length(ctrs)) {
		fputs("\nContainers\n", out);
		fprintf(out, "  %-12s %-9s %9s %9s %9s %9s\n", "CONTAINER", "RUNTIME", "ANON", "FILE",
			"SHMEM", "SWAP");
		for (size_t i = 0; i < json_object_array_length(ctrs); i++) {
			json_object *c = json_object_array_get_idx(ctrs, i);
			char a[16], f[16], s[16], w[16];

			human(a, sizeof(a), num(c, "rss_anon", 0));
			human(f, sizeof(f), num(c, "rss_file", 0));
			human(s, sizeof(s), num(c, "rss_shmem", 0));
			human(w, sizeof(w), num(c, "swap", 0));
			fprintf(out, "  %-12.12s %-9s %9s %9s %9s %9s\n", str(c, "id"), str(c, "runtime"),
				a, f, s, w);
		}
	}
	json_object_put(root);
	return 0;
}

/* ---------------------------------------------------------------- main */

int leaks_cli_run(int argc, char **argv, FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "top", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "agent", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *agent = NULL, *config = NULL;
	struct vigil_config cfg;
	struct vigil_config_error cerr;
	unsigned long top = 10;
	char path[64], msg[512], *end, *body;
	bool json = false;
	int c, rc;

	if (leaktrace_wanted(argc, argv))
		return leaktrace_cli(argc, argv, out, err);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:ja:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			errno = 0;
			top = strtoul(optarg, &end, 10);
			if (errno || *end || !top || top > 1000 || optarg[0] == '-') {
				fprintf(err, "vigil leaks: --top wants a number from 1 to 1000, not '%s'\n%s",
					optarg, leaks_usage);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'a':
			agent = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(leaks_usage, out);
			return 0;
		case ':':
			fprintf(err, "vigil leaks: %s needs a value\n%s", argv[optind - 1], leaks_usage);
			return EXIT_USAGE;
		default:
			fprintf(err, "vigil leaks: unknown option '%s'\n%s", argv[optind - 1], leaks_usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(err, "vigil leaks: unexpected argument '%s'\n%s", argv[optind], leaks_usage);
		return EXIT_USAGE;
	}
	config_defaults(&cfg);
	if (config && config_load_file(&cfg, config, &cerr) < 0) {
		config_error_format(&cerr, msg, sizeof(msg));
		fprintf(err, "vigil leaks: %s\n", msg);
		return 1;
	}
	if (!agent)
		agent = cfg.metrics_addr;
	if (!strcmp(agent, "off")) {
		fprintf(err, "vigil leaks: the config turns the agent's metrics address off, so there "
			"is nothing to ask; set metrics_addr, or give --agent HOST:PORT\n");
		return 1;
	}
	snprintf(path, sizeof(path), "/leaks?top=%lu", top);
	body = fetch(agent, path, err);
	if (!body)
		return 1;
	if (json) {
		fputs(body, out);
		fputc('\n', out);
		rc = 0;
	} else {
		rc = print_text(out, err, agent, body);
	}
	free(body);
	return rc;
}

int leaks_main(int argc, char **argv)
{
	return leaks_cli_run(argc, argv, stdout, stderr);
}
