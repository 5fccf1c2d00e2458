/*
 * main.c - the `vigil` command line: subcommand dispatch, option parsing,
 * privilege checks, and wiring the agent to a sink.  Everything the user
 * sees on stderr is decided here; modules return errors and reasons.
 *
 * Exit codes: 0 ok, 1 runtime failure (or bad config), 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent.h"
#include "config.h"
#include "features.h"
#include "jsonl.h"
#include "leaks_cli.h"
#include "output.h"
#include "policy_cli.h"
#include "prometheus.h"
#include "table.h"
#include "trust_cli.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "unknown"
#endif

#define EXIT_USAGE 2

static bool verbose;

static const char main_usage[] =
	"Usage: vigil COMMAND [OPTIONS]\n"
	"\n"
	"eBPF node agent: traces container process launches, exits and signals.\n"
	"\n"
	"Commands:\n"
	"  run        run the agent (JSON lines; built-in default config)\n"
	"  trace      live tracing of exec/exit/fork/signal events\n"
	"  features   what this kernel supports, and the mode each module runs in\n"
	"  policy     check policy documents (`vigil policy check DIR`)\n"
	"  trust      manage trusted binaries (`vigil trust add PATH`, `verify`)\n"
	"  leaks      leak scores from the running agent; `--trace PID`: leaking stacks\n"
	"  version    print the version\n"
	"\n"
	"Run `vigil COMMAND --help` for a command's options.\n"
	"\n"
	"Examples:\n"
	"  sudo vigil trace                      # exec, exit and signals, as columns\n"
	"  sudo vigil trace exec --json          # execs as JSON lines\n"
	"  sudo vigil run --output /var/log/vigil/events.jsonl\n"
	"  sudo vigil features\n";

static const char trace_usage[] =
	"Usage: vigil trace [exec|exit|fork|signal|oom_kill|all]... [OPTIONS]\n"
	"\n"
	"Print process, signal and OOM-kill events live.  Default: exec exit\n"
	"signal oom_kill.  `signal` covers signal generation (sender -> target)\n"
	"and delivery; `oom_kill` every kernel OOM kill.\n"
	"\n"
	"Options:\n"
	"  -c, --container ID     only events where either end is in container ID\n"
	"                         (a full id or a unique prefix)\n"
	"  -H, --host             only events where either end is a host process\n"
	"  -p, --pid PID          only events where either end is process PID\n"
	"  -j, --json             one JSON object per line instead of columns\n"
	"  -d, --duration SECS    stop after SECS seconds (fractions allowed)\n"
	"      --ringbuf-bytes N  ring buffer size (power of two; KiB/MiB/GiB suffixes)\n"
	"      --cgroup-hierarchy auto|v2|memory|pids|cpu\n"
	"                         where container attribution reads cgroups\n"
	"      --runtime-state-dir DIR\n"
	"                         where to look for containers' OCI bundles (pod\n"
	"                         names); repeatable; default: containerd's and\n"
	"                         CRI-O's (see runtime_state_dirs in docs/CONFIG.md)\n"
	"  -v, --verbose          show libbpf's messages\n"
	"  -h, --help             this help\n"
	"\n"
	"Ctrl-C or SIGTERM stops tracing and prints a summary on stderr; lost\n"
	"events (ring buffer full) are reported there too.\n"
	"\n"
	"Examples:\n"
	"  sudo vigil trace                            # all default events\n"
	"  sudo vigil trace exec --container 3f2a9c    # execs in one container\n"
	"  sudo vigil trace signal --json -d 10        # signals for 10 s, JSON\n"
	"  sudo vigil trace all --pid 1234             # everything about pid 1234\n";

static const char run_usage[] =
	"Usage: vigil run [OPTIONS]\n"
	"\n"
	"Run the agent.  Without --config it uses the built-in default: every\n"
	"observer this kernel supports, JSON lines to stdout, the policies in\n"
	"" VIGIL_POLICY_DIR_DEFAULT " if any (none: nothing is enforced).\n"
	"`vigil run --print-default-config` shows that default.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE         YAML config (see docs/CONFIG.md)\n"
	"  -P, --policy-dir DIR      policy documents (default " VIGIL_POLICY_DIR_DEFAULT ";\n"
	"                            see policies/README.md); reloaded on change\n"
	"  -o, --output FILE|-       where JSON lines go (overrides the config)\n"
	"      --output-max-bytes N  rotate the output file past N bytes (KiB/MiB/GiB)\n"
	"      --output-keep N       rotated files to keep (default 5)\n"
	"  -m, --metrics-addr HOST:PORT|off\n"
	"                            serve /metrics, /healthz, /readyz (default\n"
	"                            " VIGIL_METRICS_DEFAULT_ADDR "; see docs/metrics.md)\n"
	"      --bpf-stats           count time spent in each BPF program\n"
	"      --ringbuf-bytes N     ring buffer size (overrides the config)\n"
	"      --check-config        load and validate --config FILE, then exit\n"
	"      --print-default-config\n"
	"                            print the built-in config and exit\n"
	"  -v, --verbose             show libbpf's messages\n"
	"  -h, --help                this help\n"
	"\n"
	"SIGHUP reloads the policy directory and reopens (or rotates) the output\n"
	"file.  A policy set with any error is refused whole; the previous set\n"
	"stays active and a policy_reload event says why.\n"
	"\n"
	"A TrustPolicy turns on trusted-binary enforcement: files outside the trust\n"
	"store (`vigil trust`) are refused or reported, as trust_violation events.\n"
	"Its hooks are pinned under trust.bpffs and outlive the agent\n"
	"(trust.on_agent_loss); `vigil trust off` is the emergency switch.  See\n"
	"docs/TRUST.md.\n"
	"\n"
	"Examples:\n"
	"  sudo vigil run\n"
	"  sudo vigil run --policy-dir ./policies\n"
	"  sudo kill -HUP $(pidof vigil)             # reload policies now\n"
	"  sudo vigil run --config /etc/vigil/vigil.yaml\n"
	"  sudo vigil run --output /var/log/vigil/events.jsonl --output-max-bytes 100MiB\n"
	"  sudo vigil run --metrics-addr 0.0.0.0:9867 --bpf-stats\n"
	"  curl -s 127.0.0.1:9867/metrics | grep vigil_events_total\n";

static const char features_usage[] =
	"Usage: vigil features [--json]\n"
	"\n"
	"Probe the kernel by loading and attaching tiny BPF programs, then report\n"
	"what works and the mode each vigil module will run in, with the reason.\n"
	"Run as root: without privileges every BPF probe fails.\n"
	"\n"
	"Options:\n"
	"  -j, --json   one JSON object\n"
	"  -h, --help   this help\n"
	"\n"
	"Examples:\n"
	"  sudo vigil features\n"
	"  sudo vigil features --json | jq .modules\n";

static const char version_usage[] =
	"Usage: vigil version\n"
	"\n"
	"Print vigil's version and the kernel it runs on.\n"
	"\n"
	"Examples:\n"
	"  vigil version\n";

static void die_usage(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("vigil: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fprintf(stderr, "%.*s", (int)(strchr(usage, '\n') - usage + 1), usage);
	fputs("Try --help for more.\n", stderr);
	exit(EXIT_USAGE);
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* A size flag, in the config's syntax ("16777216", "16MiB"); 0 on error. */
static uint64_t parse_size(const char *s)
{
	uint64_t v;

	return config_parse_size(s, &v) ? 0 : v;
}

/* --ringbuf-bytes: the same range the config's ring_buffer_bytes accepts. */
static uint32_t ringbuf_opt(const char *usage, const char *arg)
{
	uint64_t n = parse_size(arg);

	if (!n || n > (1u << 30) || (n & (n - 1)) || n < 4096)
		die_usage(usage, "--ringbuf-bytes wants a power of two from 4096 to 1GiB, got '%s'", arg);
	return n;
}

static bool cap_effective(int cap)
{
	char line[256];
	unsigned long long mask = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask & (1ull << cap);
}

/* One clear line and exit 1 when vigil cannot possibly work here. */
static void require_bpf_env(void)
{
	const int CAP_SYS_ADMIN_ = 21, CAP_BPF_ = 39, CAP_PERFMON_ = 38;

	if (geteuid() != 0 && !cap_effective(CAP_SYS_ADMIN_) &&
	    !(cap_effective(CAP_BPF_) && cap_effective(CAP_PERFMON_))) {
		fprintf(stderr, "vigil: needs root (or CAP_BPF, CAP_PERFMON and "
				"CAP_DAC_READ_SEARCH): run it with sudo\n");
		exit(1);
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(stderr, "vigil: this kernel exposes no BTF (/sys/kernel/btf/vmlinux: %s); "
				"vigil needs a kernel built with CONFIG_DEBUG_INFO_BTF=y\n",
			strerror(errno));
		exit(1);
	}
}

static void node_name(const char *configured, char *buf, size_t len)
{
	const char *env;

	if (configured && configured[0]) {
		snprintf(buf, len, "%s", configured);
		return;
	}
	/* In a Kubernetes pod the host name is the pod's: the manifest sets this from spec.nodeName. */
	env = getenv("VIGIL_NODE_NAME");
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	if (gethostname(buf, len) != 0)
		snprintf(buf, len, "unknown");
	buf[len - 1] = 0;
}

/* ---- sinks ---------------------------------------------------------- */

struct cli_sink {
	bool json;
	FILE *out;
	struct vigil_jsonl jsonl;
};

static void sink_event(void *ctx, const struct vigil_event_view *v)
{
	struct cli_sink *s = ctx;

	if (s->json)
		jsonl_write_event(&s->jsonl, v);
	else
		table_write_event(s->out, v);
}

static void print_lost_line(const uint64_t n[VIGIL_EV__MAX], const char *what)
{
	uint64_t total = 0;

	for (int t = 1; t < VIGIL_EV__MAX; t++)
		total += n[t];
	fprintf(stderr, "vigil: lost %llu events %s (ring buffer full):",
		(unsigned long long)total, what);
	for (int t = 1; t < VIGIL_EV__MAX; t++)
		if (n[t])
			fprintf(stderr, " %s=%llu", event_type_name(t), (unsigned long long)n[t]);
	fputs("; a larger --ringbuf-bytes helps\n", stderr);
}

/* `vigil run`: every policy load attempt, as an event and on stderr. */
static void sink_policy_reload(void *ctx, const struct vigil_reload_info *r)
{
	struct cli_sink *s = ctx;
	char line[PATH_MAX + 512];
	size_t shown = 0;

	jsonl_write_reload(&s->jsonl, r);
	jsonl_flush(&s->jsonl);
	if (r->ok) {
		fprintf(stderr, "vigil: policies (%s): generation %u active: %zu documents, %zu rules "
			"from %s%s%s\n", r->trigger, r->generation, r->documents, r->rules, r->dir,
			strcmp(r->dir_state, "ok") ? " - " : "",
			strcmp(r->dir_state, "ok") ? r->dir_state : "");
	} else {
		fprintf(stderr, "vigil: policies (%s): refused; generation %u stays active\n",
			r->trigger, r->generation);
	}
	for (size_t i = 0; r->diags && i < r->diags->n; i++) {
		if (++shown > 20) {
			fprintf(stderr, "  ... and %zu more (see the policy_reload event)\n",
				r->diags->n - 20);
			break;
		}
		policy_diag_format(&r->diags->v[i], line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
	if (r->error)
		fprintf(stderr, "  %s\n", r->error);
}

static void sink_reopen(void *ctx)
{
	struct cli_sink *s = ctx;
	int err;

	if (s->jsonl.output && (err = output_reopen(s->jsonl.output)) < 0)
		fprintf(stderr, "vigil: SIGHUP: reopening %s: %s; writing on to the old file\n",
			s->jsonl.output->path, strerror(-err));
}

/* `vigil run`: report losses as they happen, as events and on stderr. */
static void sink_lost_live(void *ctx, uint64_t time_ns, const uint64_t delta[VIGIL_EV__MAX],
			   const uint64_t total[VIGIL_EV__MAX])
{
	struct cli_sink *s = ctx;

	jsonl_write_lost(&s->jsonl, time_ns, total);
	print_lost_line(delta, "since the last report");
}

static void sink_flush(void *ctx)
{
	struct cli_sink *s = ctx;

	if (s->json)
		jsonl_flush(&s->jsonl);
	else
		fflush(s->out);
}

static void observe_list(unsigned observe, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int t = 1; t < VIGIL_EV__MAX && n < len; t++)
		if (observe & VIGIL_OBS(t))
			n += snprintf(buf + n, len - n, "%s%s", n ? "," : "", event_type_name(t));
}

static int run_agent(const char *cmd, struct vigil_agent_opts *o, struct cli_sink *sink,
		     const char *banner)
{
	struct vigil_agent a;
	struct timespec ts;
	char why[512];
	int err;

	err = agent_open(&a, o, why, sizeof(why));
	if (err) {
		fprintf(stderr, "vigil: %s\n", why);
		return 1;
	}
	fprintf(stderr, "%s\n", banner);
	if (verbose)
		fprintf(stderr, "vigil: %s\n", a.hooks);
	err = agent_run(&a);
	if (err)
		fprintf(stderr, "vigil: event loop failed: %s\n", strerror(-err));
	if (agent_lost_total(&a)) {
		print_lost_line(a.lost, "in total");
		/* `run` already wrote events_lost as losses happened. */
		if (sink->json && !o->sink.lost) {
			clock_gettime(CLOCK_REALTIME, &ts);
			jsonl_write_lost(&sink->jsonl, ts.tv_sec * 1000000000ull + ts.tv_nsec, a.lost);
			jsonl_flush(&sink->jsonl);
		}
	}
	if (sink->jsonl.write_errors)
		fprintf(stderr, "vigil: %llu events could not be written to the output\n",
			(unsigned long long)sink->jsonl.write_errors);
	fprintf(stderr, "vigil %s: %llu events, %llu lost\n", cmd,
		(unsigned long long)a.emitted, (unsigned long long)agent_lost_total(&a));
	agent_close(&a);
	jsonl_free(&sink->jsonl);
	return err ? 1 : 0;
}

/* ---- trace ---------------------------------------------------------- */

enum { OPT_RINGBUF = 0x100, OPT_CGH, OPT_PRINT_DEFAULT, OPT_MAXBYTES, OPT_KEEP, OPT_BPFSTATS,
       OPT_CHECK_CONFIG, OPT_STATE_DIR };

static int cmd_trace(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "container", required_argument, NULL, 'c' },
		{ "host", no_argument, NULL, 'H' },
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ringbuf-bytes", required_argument, NULL, OPT_RINGBUF },
		{ "cgroup-hierarchy", required_argument, NULL, OPT_CGH },
		{ "runtime-state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *state_dirs[PODMETA_MAX_DIRS];
	struct vigil_agent_opts o = { 0 };
	struct cli_sink sink = { .out = stdout };
	unsigned types = 0;
	char node[256], what[128], banner[256], *end;
	long pid;
	int c, t;

	o.cgroup_hierarchy = "auto";
	o.loss_interval_ms = 1000;
	o.ring_buffer_bytes = 16u << 20;
	while ((c = getopt_long(argc, argv, "c:Hp:jd:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!optarg[0] || strspn(optarg, "0123456789abcdef") != strlen(optarg))
				die_usage(trace_usage, "--container wants a hex container id (or prefix), got '%s'", optarg);
			o.filter.container = optarg;
			break;
		case 'H':
			o.filter.host_only = true;
			break;
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || *end || pid <= 0 || pid > INT32_MAX)
				die_usage(trace_usage, "--pid wants a positive process id, got '%s'", optarg);
			o.filter.pid = pid;
			break;
		case 'j':
			sink.json = true;
			break;
		case 'd':
			o.duration_s = strtod(optarg, &end);
			if (*end || o.duration_s <= 0)
				die_usage(trace_usage, "--duration wants seconds > 0, got '%s'", optarg);
			break;
		case OPT_RINGBUF:
			o.ring_buffer_bytes = ringbuf_opt(trace_usage, optarg);
			break;
		case OPT_CGH:
			o.cgroup_hierarchy = optarg;
			break;
		case OPT_STATE_DIR:
			if (optarg[0] != '/' || strlen(optarg) >= PODMETA_DIR_LEN)
				die_usage(trace_usage, "--runtime-state-dir wants an absolute path "
					  "shorter than %d bytes, got '%s'", PODMETA_DIR_LEN, optarg);
			if (o.n_state_dirs == PODMETA_MAX_DIRS)
				die_usage(trace_usage, "at most %d --runtime-state-dir options",
					  PODMETA_MAX_DIRS);
			state_dirs[o.n_state_dirs++] = optarg;
			o.state_dirs = state_dirs;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(trace_usage, stdout);
			return 0;
		default:
			die_usage(trace_usage, "bad option");
		}
	}
	if (o.filter.container && o.filter.host_only)
		die_usage(trace_usage, "--container and --host exclude each other");
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "all")) {
			types |= VIGIL_OBS_ALL | VIGIL_OBS(VIGIL_EV_OOM_KILL);
		} else if (!strcmp(argv[i], "signal")) {
			types |= VIGIL_OBS(VIGIL_EV_SIGNAL_GENERATE) | VIGIL_OBS(VIGIL_EV_SIGNAL_DELIVER);
		} else if ((t = event_type_parse(argv[i])) > 0 && event_user_space_only(t)) {
			die_usage(trace_usage, "'%s' events come from `vigil run`'s engines, not from "
				  "the kernel: run `vigil run` (and `vigil leaks` for leak scores)",
				  argv[i]);
		} else if (t > 0) {
			types |= VIGIL_OBS(t);
		} else {
			die_usage(trace_usage, "unknown event type '%s' (exec, exit, fork, signal, oom_kill, all)", argv[i]);
		}
	}
	if (!types)
		types = VIGIL_OBS(VIGIL_EV_EXEC) | VIGIL_OBS(VIGIL_EV_EXIT) |
			VIGIL_OBS(VIGIL_EV_SIGNAL_GENERATE) | VIGIL_OBS(VIGIL_EV_SIGNAL_DELIVER) |
			VIGIL_OBS(VIGIL_EV_OOM_KILL);
	o.observe = types;
	o.filter.types = types;

	require_bpf_env();
	node_name(NULL, node, sizeof(node));
	jsonl_init(&sink.jsonl, stdout, node);
	o.sink = (struct vigil_sink){ .event = sink_event, .flush = sink_flush, .ctx = &sink };
	observe_list(types, what, sizeof(what));
	snprintf(banner, sizeof(banner), "vigil: tracing %s (Ctrl-C to stop)", what);
	if (!sink.json)
		table_header(stdout);
	return run_agent("trace", &o, &sink, banner);
}

/* ---- run ------------------------------------------------------------ */

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "policy-dir", required_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ "ringbuf-bytes", required_argument, NULL, OPT_RINGBUF },
		{ "output-max-bytes", required_argument, NULL, OPT_MAXBYTES },
		{ "output-keep", required_argument, NULL, OPT_KEEP },
		{ "metrics-addr", required_argument, NULL, 'm' },
		{ "bpf-stats", no_argument, NULL, OPT_BPFSTATS },
		{ "print-default-config", no_argument, NULL, OPT_PRINT_DEFAULT },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config_path = NULL, *output = NULL, *metrics_addr = NULL, *policy_dir = NULL;
	long long max_bytes = -1, keep = -1;
	bool bpf_stats = false, check_only = false;
	struct vigil_config cfg;
	const char *state_dirs[PODMETA_MAX_DIRS];
	struct vigil_config_error cerr;
	struct vigil_agent_opts o = { 0 };
	struct cli_sink sink = { .json = true };
	uint64_t ringbuf = 0;
	char node[256], msg[PATH_MAX + 300], what[128], banner[PATH_MAX + 600];
	struct vigil_output out;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:o:m:P:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'P':
			if (!*optarg)
				die_usage(run_usage, "--policy-dir wants a directory");
			policy_dir = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_RINGBUF:
			ringbuf = ringbuf_opt(run_usage, optarg);
			break;
		case 'm': {
			struct sockaddr_storage ss;
			socklen_t sslen;
			char why[200];

			if (strcmp(optarg, "off") &&
			    prometheus_parse_addr(optarg, &ss, &sslen, why, sizeof(why)) < 0)
				die_usage(run_usage, "--metrics-addr %s", why);
			metrics_addr = optarg;
			break;
		}
		case OPT_BPFSTATS:
			bpf_stats = true;
			break;
		case OPT_MAXBYTES:
			max_bytes = strcmp(optarg, "0") ? (long long)parse_size(optarg) : 0;
			if (max_bytes <= 0 && strcmp(optarg, "0"))
				die_usage(run_usage, "--output-max-bytes wants a size (e.g. 100MiB) or 0, got '%s'", optarg);
			break;
		case OPT_KEEP: {
			char *end;

			keep = strtoll(optarg, &end, 10);
			if (*end || keep < 1 || keep > 1000)
				die_usage(run_usage, "--output-keep wants 1..1000, got '%s'", optarg);
			break;
		}
		case OPT_PRINT_DEFAULT:
			fputs(vigil_default_config_yaml, stdout);
			return 0;
		case OPT_CHECK_CONFIG:
			check_only = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 0;
		default:
			die_usage(run_usage, "bad option");
		}
	}
	if (optind < argc)
		die_usage(run_usage, "unexpected argument '%s'", argv[optind]);

	config_defaults(&cfg);
	if (config_path) {
		err = config_load_file(&cfg, config_path, &cerr);
		if (err) {
			config_error_format(&cerr, msg, sizeof(msg));
			fprintf(stderr, "%s\n", msg);
			return 1;
		}
	}
	if (check_only) {
		if (!config_path)
			die_usage(run_usage, "--check-config wants --config FILE");
		printf("%s: config OK\n", config_path);
		return 0;
	}
	if (output)
		snprintf(cfg.output, sizeof(cfg.output), "%s", output);
	if (ringbuf)
		cfg.ring_buffer_bytes = ringbuf;
	if (metrics_addr)
		snprintf(cfg.metrics_addr, sizeof(cfg.metrics_addr), "%s", metrics_addr);
	if (bpf_stats)
		cfg.bpf_stats = true;
	if (max_bytes >= 0)
		cfg.output_max_bytes = max_bytes;
	if (keep > 0)
		cfg.output_keep = keep;
	if (policy_dir)
		snprintf(cfg.policy_dir, sizeof(cfg.policy_dir), "%s", policy_dir);

	require_bpf_env();
	/* Opened before anything loads, so a bad path fails at once, clearly. */
	err = output_open(&out, cfg.output, cfg.output_max_bytes, cfg.output_keep, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "vigil: %s\n", msg);
		return 1;
	}
	node_name(cfg.node_name, node, sizeof(node));
	jsonl_init_output(&sink.jsonl, &out, node);
	sink.out = stdout;

	o.observe = cfg.observe;
	/* Trust violations are a policy's output, not an observed type: always reported. */
	o.filter.types = cfg.observe | VIGIL_OBS(VIGIL_EV_TRUST);
	o.ring_buffer_bytes = cfg.ring_buffer_bytes;
	o.trust = (struct vigil_trust_settings){
		.store_dir = cfg.trust_store_dir, .bpffs = cfg.trust_bpffs,
		.max_entries = cfg.trust_max_entries, .fail_open = cfg.trust_fail_open,
		.fail_open_after_ms = cfg.trust_fail_open_after_ms,
		.hash_cache_entries = cfg.trust_hash_cache_entries,
	};
	for (uint32_t i = 0; i < cfg.n_runtime_state_dirs; i++)
		state_dirs[i] = cfg.runtime_state_dirs[i];
	o.state_dirs = state_dirs;
	o.n_state_dirs = cfg.n_runtime_state_dirs;
	o.cgroup_hierarchy = cfg.cgroup_hierarchy;
	o.loss_interval_ms = cfg.loss_report_interval_ms;
	o.sink = (struct vigil_sink){ .event = sink_event, .lost = sink_lost_live,
				      .flush = sink_flush, .policy_reload = sink_policy_reload,
				      .reopen = sink_reopen, .ctx = &sink };
	o.policies = true;
	o.policy_dir = cfg.policy_dir;
	o.policy_required = cfg.policy_required;
	o.oom_interval_ms = cfg.oom_interval_ms;
	o.oom_rescan_ms = cfg.oom_rescan_ms;
	o.leak_enabled = cfg.leak_enabled;
	o.leak_interval_ms = cfg.leak_interval_ms;
	o.leak_history = cfg.leak_history;
	o.leak_max_processes = cfg.leak_max_processes;
	o.guard.container_escape = cfg.guard_container_escape;
	o.guard.protect_self = cfg.guard_protect_self;
	o.metrics_addr = cfg.metrics_addr;
	o.bpf_stats = cfg.bpf_stats;
	o.metrics_max_containers = cfg.metrics_max_containers;
	o.output_errors = &out.write_errors;
	observe_list(cfg.observe, what, sizeof(what));
	snprintf(banner, sizeof(banner), "vigil: running on %s: observing %s; JSON lines to %s; metrics %s%s%s",
		 node, what, strcmp(cfg.output, "-") ? cfg.output : "stdout",
		 strcmp(cfg.metrics_addr, "off") ? "on http://" : "off", strcmp(cfg.metrics_addr, "off") ? cfg.metrics_addr : "",
		 config_path ? "" : " (built-in default config)");
	err = run_agent("run", &o, &sink, banner);
	if (output_close(&out) < 0) {
		fprintf(stderr, "vigil: closing %s: %s\n", cfg.output, strerror(errno));
		err = 1;
	}
	if (out.write_errors || out.rotation_errors)
		fprintf(stderr, "vigil: output %s: %llu lines lost to write errors, %llu failed rotations\n",
			cfg.output, (unsigned long long)out.write_errors,
			(unsigned long long)out.rotation_errors);
	return err;
}

/* ---- features / version --------------------------------------------- */

static int cmd_features(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vigil_features f;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(features_usage, stdout);
			return 0;
		default:
			die_usage(features_usage, "bad option");
		}
	}
	if (optind < argc)
		die_usage(features_usage, "unexpected argument '%s'", argv[optind]);
	if (geteuid() != 0)
		fprintf(stderr, "vigil: not running as root: BPF probes will report "
				"'Operation not permitted'; run with sudo for the real answer\n");
	features_probe(&f);
	if (json)
		features_print_json(stdout, &f);
	else
		features_print_text(stdout, &f);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	struct utsname u;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(version_usage, stdout);
		return 0;
	}
	if (argc > 1)
		die_usage(version_usage, "unexpected argument '%s'", argv[1]);
	uname(&u);
	printf("vigil %s (libbpf %s; kernel %s %s)\n", VIGIL_VERSION, libbpf_version_string(),
	       u.release, u.machine);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "run", cmd_run },
		{ "trace", cmd_trace },
		{ "features", cmd_features },
		{ "version", cmd_version },
		{ "policy", policy_main },
		{ "trust", trust_main },
		{ "leaks", leaks_main },
	};

	libbpf_set_print(libbpf_log);
	/* A closed pipe (`vigil trace | head`) ends output; write errors are counted. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		die_usage(main_usage, "no command given");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv + 1);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	die_usage(main_usage, "unknown command '%s'", argv[1]);
	return EXIT_USAGE;
}
