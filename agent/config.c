/*
 * config.c - parse the agent's YAML configuration into struct vigil_config.
 *
 * The input is walked with libyaml's event API rather than its document API:
 * the schema is two levels deep and fixed, so a small descent over events is
 * enough, nothing but the current event is ever held in memory, and hostile
 * input (deep nesting, alias bombs) cannot make us build a large tree.
 *
 * The text is parsed twice.  The first pass only checks YAML syntax, so a
 * syntax error is always the one reported even when a misplaced indent would
 * otherwise surface first as a confusing "unknown key" higher up.  The second
 * pass applies values to a copy of the caller's config, which is written back
 * only if the whole file is valid: a bad reload never leaves a half-applied
 * config behind.
 *
 * Must not print, exit, or touch anything but *cfg and *err.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "prometheus.h"
#include "trace.h"

/* Keep in step with config_defaults() and docs/CONFIG.md; a unit test checks the first. */
const char vigil_default_config_yaml[] =
	"node_name: \"\"                 # string; \"\" = the host name\n"
	"output: \"-\"                   # \"-\" = stdout, else a file path\n"
	"observe:                      # which event types to report\n"
	"  fork: true\n"
	"  exec: true\n"
	"  exit: true\n"
	"  signal: true                # both signal generation and signal delivery events\n"
	"ring_buffer_bytes: 16777216   # integer, power of two, 4096 .. 1073741824; suffixes \"4KiB\", \"16MiB\", \"1GiB\" also work\n"
	"cgroup_hierarchy: auto        # enum: auto | v2 | memory | pids | cpu\n"
	"loss_report_interval_ms: 1000 # integer 100 .. 3600000\n"
	"output_max_bytes: 0           # rotate the output file past this size (suffixes work); 0 = never\n"
	"output_keep: 5                # rotated files kept: output.1 .. output.N; 1 .. 1000\n"
	"metrics_addr: \"127.0.0.1:9867\" # /metrics, /healthz, /readyz; \"off\" = no HTTP server\n"
	"bpf_stats: false              # kernel run-time stats per BPF program (vigil_bpf_program_*)\n"
	"metrics_max_containers: 256   # containers with their own metric series; more share \"_overflow\"\n"
	"runtime_state_dirs:           # container runtimes' state: OCI bundles whose annotations name pods; [] = none\n"
	"  - /run/containerd/io.containerd.runtime.v2.task\n"
	"  - /run/containers/storage/overlay-containers\n"
	"policy_dir: /etc/vigil/policies.d # policy documents (*.yaml, *.yml); reloaded on change and SIGHUP\n"
	"policy_required: false        # true: refuse to start without a valid, non-empty policy dir\n"
	"signal_guard:                 # built-in signal rules\n"
	"  container_escape: off       # enum: off | audit | deny | kill-sender; containers signalling outside their own container\n"
	"  protect_self: false         # deny SIGKILL/SIGSTOP to vigil itself from anyone but pid 1\n"
	"trust:                        # trusted-binary enforcement; TrustPolicy documents turn it on\n"
	"  store_dir: /var/lib/vigil/trust # the trust store `vigil trust` writes\n"
	"  bpffs: /sys/fs/bpf/vigil    # where enforcement is pinned, so it outlives the agent\n"
	"  max_entries: 262144         # integer 1024 .. 16777216: trusted inodes the kernel map holds\n"
	"  on_agent_loss: closed       # enum: closed | open; open = stop enforcing once the agent is gone\n"
	"  fail_open_after_ms: 10000   # integer 1000 .. 3600000; with on_agent_loss: open\n"
	"  hash_cache_entries: 4096    # integer 8 .. 1048576: files whose sha256 the agent remembers\n"
	"oom:                          # the OOM policy engine; OomPolicy documents turn it on\n"
	"  interval_ms: 50             # integer 10 .. 10000: how often detectors read usage and pressure\n"
	"  rescan_ms: 2000             # integer 100 .. 600000: how often scopes are matched to memory cgroups\n"
	"leak:                         # memory growth sampling and leak scoring; LeakPolicy documents set the criteria\n"
	"  enabled: true               # sample and score every process's memory in `vigil run`\n"
	"  interval_ms: 10000          # integer 100 .. 3600000: how often memory is sampled\n"
	"  history: 360                # integer 16 .. 4096: samples kept per process\n"
	"  max_processes: 32768        # integer 16 .. 1048576: processes tracked; more are counted as dropped\n";

#define RINGBUF_MIN		4096u
#define RINGBUF_MAX		(1u << 30)
#define LOSS_INTERVAL_MIN	100u
#define LOSS_INTERVAL_MAX	3600000u

/* A config file is a few hundred bytes; the cap only stops `--config /dev/zero`. */
#define CONFIG_MAX_BYTES	(1u << 20)

/* Far deeper than the schema's two levels; see check_syntax(). */
#define MAX_DEPTH		32

/* How much of a user's key or value is echoed back in a message. */
#define SHOW_MAX		40

static const char *const cgroup_hierarchies[] = { "auto", "v2", "memory", "pids", "cpu" };

void config_defaults(struct vigil_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->output, "-");
	cfg->observe = VIGIL_OBS_ALL;
	cfg->ring_buffer_bytes = 16u << 20;
	strcpy(cfg->cgroup_hierarchy, "auto");
	cfg->loss_report_interval_ms = 1000;
	cfg->output_max_bytes = 0;
	cfg->output_keep = 5;
	strcpy(cfg->metrics_addr, VIGIL_METRICS_DEFAULT_ADDR);
	cfg->bpf_stats = false;
	cfg->metrics_max_containers = 256;
	for (size_t i = 0; i < podmeta_default_ndirs; i++)
		snprintf(cfg->runtime_state_dirs[i], sizeof(cfg->runtime_state_dirs[i]), "%s",
			 podmeta_default_dirs[i]);
	cfg->n_runtime_state_dirs = (uint32_t)podmeta_default_ndirs;
	strcpy(cfg->policy_dir, VIGIL_POLICY_DIR_DEFAULT);
	cfg->policy_required = false;
	cfg->guard_container_escape = 0;
	cfg->guard_protect_self = false;
	strcpy(cfg->trust_store_dir, "/var/lib/vigil/trust");
	strcpy(cfg->trust_bpffs, "/sys/fs/bpf/vigil");
	cfg->trust_max_entries = 262144;
	cfg->trust_fail_open = false;
	cfg->trust_fail_open_after_ms = 10000;
	cfg->trust_hash_cache_entries = 4096;
	cfg->oom_interval_ms = 50;
	cfg->oom_rescan_ms = 2000;
	cfg->leak_enabled = true;
	cfg->leak_interval_ms = 10000;
	cfg->leak_history = 360;
	cfg->leak_max_processes = 32768;
}

struct ctx {
	yaml_parser_t parser;
	yaml_event_t ev;	/* the current event; always safe to delete */
	const char *text;
	size_t len;
	struct vigil_config *cfg;
	struct vigil_config_error *err;
};

struct field;
typedef int (*field_parse_fn)(struct ctx *c, const struct field *f,
			      const char *path, const yaml_mark_t *key_mark);

struct field {
	const char *name;
	field_parse_fn parse;
	unsigned bits;		/* observe.*: the VIGIL_OBS bits this key controls; else which number */
};

__attribute__((format(printf, 4, 5)))
static int fail_at(struct ctx *c, int line, int column, const char *fmt, ...)
{
	va_list ap;

	c->err->line = line;
	c->err->column = column;
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* libyaml marks are 0-based; ours are 1-based. */
#define fail(c, mark, ...) \
	fail_at((c), (int)(mark)->line + 1, (int)(mark)->column + 1, __VA_ARGS__)

/*
 * Render user text for a message: control bytes become '?', and long text is
 * cut at a UTF-8 character boundary so the message stays valid UTF-8.
 */
static const char *show(const void *data, size_t n, char *buf, size_t size)
{
	const unsigned char *s = data;
	size_t i, out = 0, keep = n;

	if (keep > SHOW_MAX) {
		keep = SHOW_MAX;
		while (keep > 0 && (s[keep] & 0xc0) == 0x80)
			keep--;
	}
	for (i = 0; i < keep && out + 4 < size; i++)
		buf[out++] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
	if (keep < n && out + 4 <= size) {
		memcpy(buf + out, "...", 3);
		out += 3;
	}
	buf[out] = '\0';
	return buf;
}

/*
 * Reader errors (bad UTF-8, control characters) carry only a byte offset, so
 * derive the line and column from the text, counting characters like libyaml.
 */
static void offset_to_pos(const char *text, size_t len, size_t off, int *line, int *column)
{
	size_t i;
	int l = 1, col = 1;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\n' || (ch == '\r' && (i + 1 >= len || text[i + 1] != '\n'))) {
			l++;
			col = 1;
		} else if ((ch & 0xc0) != 0x80 && ch != '\r') {
			col++;
		}
	}
	*line = l;
	*column = col;
}

/* The byte that starts the character at a mark, or -1 past the end. */
static int char_at(const char *text, size_t len, const yaml_mark_t *m)
{
	size_t i = 0, line = 0, col = 0;

	while (i < len && line < m->line) {
		if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= len || text[i + 1] != '\n')))
			line++;
		i++;
	}
	while (i < len && col < m->column) {
		i++;
		while (i < len && ((unsigned char)text[i] & 0xc0) == 0x80)
			i++;
		col++;
	}
	return i < len ? (unsigned char)text[i] : -1;
}

static int syntax_error(struct ctx *c)
{
	yaml_parser_t *p = &c->parser;
	const char *problem = p->problem ? p->problem : "malformed YAML";
	int line, column;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		fail_at(c, 0, 0, "out of memory while parsing");
		return -ENOMEM;
	case YAML_READER_ERROR:
		offset_to_pos(c->text, c->len, p->problem_offset, &line, &column);
		if (p->problem_value >= 0)
			return fail_at(c, line, column, "invalid input: %s (byte 0x%02x)",
				       problem, (unsigned)p->problem_value & 0xff);
		return fail_at(c, line, column, "invalid input: %s", problem);
	default:
		/* Tabs are the classic YAML mistake and libyaml's wording hides it. */
		if (char_at(c->text, c->len, &p->problem_mark) == '\t' && !strstr(problem, "tab"))
			return fail(c, &p->problem_mark,
				    "syntax error: %s (a tab; indent YAML with spaces)", problem);
		/* `output: -` reads as a sequence entry; say what was probably meant. */
		if (char_at(c->text, c->len, &p->problem_mark) == '-' &&
		    strstr(problem, "block sequence entries"))
			return fail(c, &p->problem_mark,
				    "syntax error: %s (a lone - starts a list; write \"-\" in quotes for stdout)",
				    problem);
		if (p->context)
			return fail(c, &p->problem_mark,
				    "syntax error: %s (%s at line %zu, column %zu)",
				    problem, p->context, p->context_mark.line + 1,
				    p->context_mark.column + 1);
		return fail(c, &p->problem_mark, "syntax error: %s", problem);
	}
}

static int next(struct ctx *c)
{
	yaml_event_delete(&c->ev);
	if (!yaml_parser_parse(&c->parser, &c->ev))
		return syntax_error(c);
	return 0;
}

static const char *node_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_ALIAS_EVENT:
		return "an alias";
	default:
		return "a scalar";
	}
}

static bool scalar_is(const yaml_event_t *ev, const char *s)
{
	return ev->data.scalar.length == strlen(s) &&
	       !memcmp(ev->data.scalar.value, s, ev->data.scalar.length);
}

/* YAML's null: an empty plain value, "~" or "null" (in the spec's three spellings). */
static bool scalar_is_null(const yaml_event_t *ev)
{
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return ev->data.scalar.length == 0 || scalar_is(ev, "~") || scalar_is(ev, "null") ||
	       scalar_is(ev, "Null") || scalar_is(ev, "NULL");
}

/*
 * Check that the current event is a scalar with a value.  Aliases are refused
 * outright: they buy nothing in a file this small and would need a resolver.
 */
static int expect_scalar(struct ctx *c, const char *path, const char *what,
			 const yaml_mark_t *key_mark, bool allow_null)
{
	if (c->ev.type == YAML_ALIAS_EVENT)
		return fail(c, &c->ev.start_mark,
			    "'%s': aliases are not supported in the config", path);
	if (c->ev.type != YAML_SCALAR_EVENT)
		return fail(c, &c->ev.start_mark, "'%s' must be %s, found %s",
			    path, what, node_kind(&c->ev));
	if (!allow_null && scalar_is_null(&c->ev))
		return fail(c, key_mark, "'%s' has no value (expected %s)", path, what);
	return 0;
}

static int parse_string(struct ctx *c, const char *path, const yaml_mark_t *key_mark,
			char *dst, size_t size, const char **value)
{
	const yaml_event_t *ev = &c->ev;
	size_t n;
	int err;

	err = expect_scalar(c, path, "a string", key_mark, true);
	if (err)
		return err;
	if (scalar_is_null(ev)) {
		dst[0] = '\0';
		*value = dst;
		return 0;
	}
	n = ev->data.scalar.length;
	if (memchr(ev->data.scalar.value, '\0', n))
		return fail(c, &ev->start_mark, "'%s' must not contain a NUL byte", path);
	if (n >= size)
		return fail(c, &ev->start_mark, "'%s' is too long (%zu bytes, at most %zu)",
			    path, n, size - 1);
	memcpy(dst, ev->data.scalar.value, n);
	dst[n] = '\0';
	*value = dst;
	return 0;
}

static int parse_node_name(struct ctx *c, const struct field *f, const char *path,
			   const yaml_mark_t *key_mark)
{
	char buf[sizeof(c->cfg->node_name)];
	const char *s;
	int err;

	err = parse_string(c, path, key_mark, buf, sizeof(buf), &s);
	if (err)
		return err;
	/* It lands in every JSON event and metric label; keep it one clean line. */
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return fail(c, &c->ev.start_mark,
				    "'%s' must not contain control characters", path);
	strcpy(c->cfg->node_name, buf);
	return 0;
}

/* A string that must not be empty, into dst (size bytes); hint ends the error. */
static int parse_nonempty(struct ctx *c, const char *path, const yaml_mark_t *key_mark,
			  char *dst, size_t size, const char *hint)
{
	char buf[PATH_MAX];
	const char *s;
	int err;

	err = parse_string(c, path, key_mark, buf, size < sizeof(buf) ? size : sizeof(buf), &s);
	if (err)
		return err;
	if (!*s)
		return fail(c, scalar_is_null(&c->ev) ? key_mark : &c->ev.start_mark,
			    "'%s' must not be empty%s", path, hint);
	strcpy(dst, buf);
	return 0;
}

static int parse_output(struct ctx *c, const struct field *f, const char *path,
			const yaml_mark_t *key_mark)
{
	return parse_nonempty(c, path, key_mark, c->cfg->output, sizeof(c->cfg->output),
			      " (use \"-\" for stdout)");
}

static int parse_bool(struct ctx *c, const char *path, const yaml_mark_t *key_mark, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const yaml_event_t *ev = &c->ev;
	const char *v;
	char shown[64];
	size_t i;
	int err;

	err = expect_scalar(c, path, "a boolean", key_mark, false);
	if (err)
		return err;
	v = (const char *)ev->data.scalar.value;
	/* strcasecmp stops at an embedded NUL, so require the length to match too. */
	for (i = 0; i < 3; i++) {
		if (ev->data.scalar.length == strlen(yes[i]) && !strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (ev->data.scalar.length == strlen(no[i]) && !strcasecmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return fail(c, &ev->start_mark,
		    "'%s' must be a boolean (true/false, yes/no, on/off), got '%s'", path,
		    show(v, ev->data.scalar.length, shown, sizeof(shown)));
}

static int parse_observe_flag(struct ctx *c, const struct field *f, const char *path,
			      const yaml_mark_t *key_mark)
{
	bool on;
	int err = parse_bool(c, path, key_mark, &on);

	if (err)
		return err;
	if (on)
		c->cfg->observe |= f->bits;
	else
		c->cfg->observe &= ~f->bits;
	return 0;
}

static int parse_bpf_stats(struct ctx *c, const struct field *f, const char *path,
			   const yaml_mark_t *key_mark)
{
	return parse_bool(c, path, key_mark, &c->cfg->bpf_stats);
}

/*
 * Unsigned decimal with an optional binary-unit suffix.  0 on success,
 * -ERANGE if it does not fit in 64 bits, -EINVAL if it is not a number at all.
 * A leading '-' followed by digits reports -ERANGE: the number is well formed,
 * it is just below every range this file uses.
 */
static int parse_uint(const char *s, size_t n, bool allow_suffix, uint64_t *out)
{
	static const struct { const char *name; unsigned shift; } units[] = {
		{ "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 },
	};
	uint64_t v = 0;
	size_t i = 0, u;
	bool negative = false, overflow = false;

	if (n > 0 && s[0] == '-') {
		negative = true;
		i++;
	}
	if (i >= n || s[i] < '0' || s[i] > '9')
		return -EINVAL;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	if (i < n) {
		if (!allow_suffix)
			return -EINVAL;
		while (i < n && s[i] == ' ')
			i++;
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (n - i == 3 && !memcmp(s + i, units[u].name, 3))
				break;
		if (u == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		if (v > (UINT64_MAX >> units[u].shift))
			overflow = true;
		v <<= units[u].shift;
	}
	if (negative && v != 0)
		return -ERANGE;
	if (overflow)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_ring_buffer_bytes(struct ctx *c, const struct field *f, const char *path,
				   const yaml_mark_t *key_mark)
{
	const yaml_event_t *ev = &c->ev;
	const char *v;
	char shown[64];
	uint64_t bytes = 0, lo;
	int err;

	err = expect_scalar(c, path, "a size in bytes", key_mark, false);
	if (err)
		return err;
	v = (const char *)ev->data.scalar.value;
	show(v, ev->data.scalar.length, shown, sizeof(shown));
	err = parse_uint(v, ev->data.scalar.length, true, &bytes);
	if (err == -EINVAL)
		return fail(c, &ev->start_mark,
			    "'%s' must be a size in bytes, optionally with a KiB, MiB or GiB suffix, got '%s'",
			    path, shown);
	if (err || bytes < RINGBUF_MIN || bytes > RINGBUF_MAX)
		return fail(c, &ev->start_mark,
			    "'%s' must be between %u (4KiB) and %u (1GiB), got '%s'",
			    path, RINGBUF_MIN, RINGBUF_MAX, shown);
	if (bytes & (bytes - 1)) {
		/* The BPF ring buffer map refuses any other size; name the neighbours. */
		lo = 1ull << (63 - __builtin_clzll(bytes));
		return fail(c, &ev->start_mark,
			    "'%s' must be a power of two, got '%s' (nearest: %llu or %llu)",
			    path, shown, (unsigned long long)lo, (unsigned long long)lo * 2);
	}
	c->cfg->ring_buffer_bytes = (uint32_t)bytes;
	return 0;
}

/* An integer in [lo, hi]; `what` names it in messages ("an integer (milliseconds)"). */
static int parse_bounded(struct ctx *c, const char *path, const yaml_mark_t *key_mark,
			 const char *what, bool allow_suffix, uint64_t lo, uint64_t hi,
			 uint64_t *out)
{
	const yaml_event_t *ev = &c->ev;
	const char *v;
	char shown[64];
	uint64_t n = 0;
	int err;

	err = expect_scalar(c, path, what, key_mark, false);
	if (err)
		return err;
	v = (const char *)ev->data.scalar.value;
	show(v, ev->data.scalar.length, shown, sizeof(shown));
	err = parse_uint(v, ev->data.scalar.length, allow_suffix, &n);
	if (err == -EINVAL)
		return fail(c, &ev->start_mark, "'%s' must be %s, got '%s'", path, what, shown);
	if (err || n < lo || n > hi)
		return fail(c, &ev->start_mark, "'%s' must be between %llu and %llu, got '%s'",
			    path, (unsigned long long)lo, (unsigned long long)hi, shown);
	*out = n;
	return 0;
}

static int parse_loss_interval(struct ctx *c, const struct field *f, const char *path,
			       const yaml_mark_t *key_mark)
{
	uint64_t ms;
	int err = parse_bounded(c, path, key_mark, "an integer (milliseconds)", false,
				LOSS_INTERVAL_MIN, LOSS_INTERVAL_MAX, &ms);

	if (!err)
		c->cfg->loss_report_interval_ms = (uint32_t)ms;
	return err;
}

static int parse_output_max_bytes(struct ctx *c, const struct field *f, const char *path,
				  const yaml_mark_t *key_mark)
{
	return parse_bounded(c, path, key_mark,
			     "a size in bytes, optionally with a KiB, MiB or GiB suffix", true,
			     0, 1ull << 40, &c->cfg->output_max_bytes);
}

static int parse_output_keep(struct ctx *c, const struct field *f, const char *path,
			     const yaml_mark_t *key_mark)
{
	uint64_t n;
	int err = parse_bounded(c, path, key_mark, "an integer", false, 1, 1000, &n);

	if (!err)
		c->cfg->output_keep = (uint32_t)n;
	return err;
}

static int parse_max_containers(struct ctx *c, const struct field *f, const char *path,
				const yaml_mark_t *key_mark)
{
	uint64_t n;
	int err = parse_bounded(c, path, key_mark, "an integer", false, 1, 65536, &n);

	if (!err)
		c->cfg->metrics_max_containers = (uint32_t)n;
	return err;
}

static int parse_metrics_addr(struct ctx *c, const struct field *f, const char *path,
			      const yaml_mark_t *key_mark)
{
	char buf[sizeof(c->cfg->metrics_addr)], why[160];
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *s;
	int err;

	err = parse_string(c, path, key_mark, buf, sizeof(buf), &s);
	if (err)
		return err;
	if (*s && strcmp(s, "off") &&
	    prometheus_parse_addr(s, &ss, &sslen, why, sizeof(why)) < 0)
		return fail(c, &c->ev.start_mark, "'%s': %s", path, why);
	strcpy(c->cfg->metrics_addr, *s ? buf : "off");
	return 0;
}

static int parse_cgroup_hierarchy(struct ctx *c, const struct field *f, const char *path,
				  const yaml_mark_t *key_mark)
{
	const yaml_event_t *ev = &c->ev;
	char shown[64];
	size_t i;
	int err;

	err = expect_scalar(c, path, "one of auto, v2, memory, pids, cpu", key_mark, false);
	if (err)
		return err;
	for (i = 0; i < sizeof(cgroup_hierarchies) / sizeof(cgroup_hierarchies[0]); i++) {
		if (scalar_is(ev, cgroup_hierarchies[i])) {
			strcpy(c->cfg->cgroup_hierarchy, cgroup_hierarchies[i]);
			return 0;
		}
	}
	return fail(c, &ev->start_mark,
		    "'%s' must be one of auto, v2, memory, pids, cpu; got '%s'", path,
		    show(ev->data.scalar.value, ev->data.scalar.length, shown, sizeof(shown)));
}

/* A list of absolute directory paths, at most PODMETA_MAX_DIRS, no repeats. */
static int parse_runtime_state_dirs(struct ctx *c, const struct field *f, const char *path,
				    const yaml_mark_t *key_mark)
{
	char dirs[PODMETA_MAX_DIRS][PODMETA_DIR_LEN], item[80], shown[64];
	const char *s;
	size_t n = 0;
	int err;

	memset(dirs, 0, sizeof(dirs));
	if (c->ev.type == YAML_ALIAS_EVENT)
		return fail(c, &c->ev.start_mark,
			    "'%s': aliases are not supported in the config", path);
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(c, &c->ev.start_mark,
			    "'%s' must be a list of directories (use [] for none), found %s",
			    path, node_kind(&c->ev));
	for (;;) {
		err = next(c);
		if (err)
			return err;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		snprintf(item, sizeof(item), "%s[%zu]", path, n);
		if (n == PODMETA_MAX_DIRS)
			return fail(c, &c->ev.start_mark, "'%s' has more than %d directories",
				    path, PODMETA_MAX_DIRS);
		err = parse_string(c, item, &c->ev.start_mark, dirs[n], sizeof(dirs[n]), &s);
		if (err)
			return err;
		if (!*s)
			return fail(c, &c->ev.start_mark, "'%s' must not be empty", item);
		if (*s != '/')
			return fail(c, &c->ev.start_mark, "'%s' must be an absolute path, got '%s'",
				    item, show(s, strlen(s), shown, sizeof(shown)));
		for (size_t i = 0; i < n; i++)
			if (!strcmp(dirs[i], s))
				return fail(c, &c->ev.start_mark, "'%s' repeats '%s' (entry %zu)",
					    item, show(s, strlen(s), shown, sizeof(shown)), i);
		n++;
	}
	memcpy(c->cfg->runtime_state_dirs, dirs, sizeof(dirs));
	c->cfg->n_runtime_state_dirs = (uint32_t)n;
	return 0;
}

static int parse_policy_dir(struct ctx *c, const struct field *f, const char *path,
			    const yaml_mark_t *key_mark)
{
	return parse_nonempty(c, path, key_mark, c->cfg->policy_dir, sizeof(c->cfg->policy_dir), "");
}

static int parse_policy_required(struct ctx *c, const struct field *f, const char *path,
				 const yaml_mark_t *key_mark)
{
	return parse_bool(c, path, key_mark, &c->cfg->policy_required);
}

static int parse_guard_escape(struct ctx *c, const struct field *f, const char *path,
			      const yaml_mark_t *key_mark)
{
	static const enum sig_action actions[] = { SIG_ACTION_AUDIT, SIG_ACTION_DENY,
						   SIG_ACTION_KILL_SENDER };
	const yaml_event_t *ev = &c->ev;
	char shown[64];
	int err;

	err = expect_scalar(c, path, "one of off, audit, deny, kill-sender", key_mark, false);
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (scalar_is(ev, sig_action_name(actions[i]))) {
			c->cfg->guard_container_escape = actions[i];
			return 0;
		}
	}
	/* YAML 1.1 readers see `off` as false; accept what they would write for it too. */
	if (scalar_is(ev, "off") || scalar_is(ev, "false") || scalar_is(ev, "no")) {
		c->cfg->guard_container_escape = 0;
		return 0;
	}
	return fail(c, &ev->start_mark,
		    "'%s' must be one of off, audit, deny, kill-sender; got '%s'", path,
		    show(ev->data.scalar.value, ev->data.scalar.length, shown, sizeof(shown)));
}

static int parse_guard_self(struct ctx *c, const struct field *f, const char *path,
			    const yaml_mark_t *key_mark)
{
	return parse_bool(c, path, key_mark, &c->cfg->guard_protect_self);
}

static int parse_mapping(struct ctx *c, const struct field *fields, size_t nfields,
			 const char *path);

static int parse_trust_store_dir(struct ctx *c, const struct field *f, const char *path,
				 const yaml_mark_t *key_mark)
{
	return parse_nonempty(c, path, key_mark, c->cfg->trust_store_dir,
			      sizeof(c->cfg->trust_store_dir), "");
}

static int parse_trust_bpffs(struct ctx *c, const struct field *f, const char *path,
			     const yaml_mark_t *key_mark)
{
	return parse_nonempty(c, path, key_mark, c->cfg->trust_bpffs,
			      sizeof(c->cfg->trust_bpffs), "");
}

static int parse_trust_u32(struct ctx *c, const struct field *f, const char *path,
			   const yaml_mark_t *key_mark)
{
	static const struct { uint64_t lo, hi; } bounds[] = {
		{ 1024, 16u << 20 }, { 1000, 3600000 }, { 8, 1u << 20 },
	};
	uint32_t *dst[] = { &c->cfg->trust_max_entries, &c->cfg->trust_fail_open_after_ms,
			    &c->cfg->trust_hash_cache_entries };
	uint64_t n;
	int err = parse_bounded(c, path, key_mark, "an integer", false, bounds[f->bits].lo,
				bounds[f->bits].hi, &n);

	if (!err)
		*dst[f->bits] = (uint32_t)n;
	return err;
}

static int parse_trust_loss(struct ctx *c, const struct field *f, const char *path,
			    const yaml_mark_t *key_mark)
{
	const yaml_event_t *ev = &c->ev;
	char shown[64];
	int err;

	err = expect_scalar(c, path, "one of closed, open", key_mark, false);
	if (err)
		return err;
	if (scalar_is(ev, "closed") || scalar_is(ev, "open")) {
		c->cfg->trust_fail_open = scalar_is(ev, "open");
		return 0;
	}
	return fail(c, &ev->start_mark, "'%s' must be one of closed, open; got '%s'", path,
		    show(ev->data.scalar.value, ev->data.scalar.length, shown, sizeof(shown)));
}

static const struct field trust_fields[] = {
	{ "store_dir", parse_trust_store_dir, 0 },
	{ "bpffs", parse_trust_bpffs, 0 },
	{ "max_entries", parse_trust_u32, 0 },
	{ "on_agent_loss", parse_trust_loss, 0 },
	{ "fail_open_after_ms", parse_trust_u32, 1 },
	{ "hash_cache_entries", parse_trust_u32, 2 },
};

static int parse_oom_u32(struct ctx *c, const struct field *f, const char *path,
			 const yaml_mark_t *key_mark)
{
	static const struct { uint64_t lo, hi; } bounds[] = { { 10, 10000 }, { 100, 600000 } };
	uint32_t *dst[] = { &c->cfg->oom_interval_ms, &c->cfg->oom_rescan_ms };
	uint64_t n;
	int err = parse_bounded(c, path, key_mark, "an integer", false, bounds[f->bits].lo,
				bounds[f->bits].hi, &n);

	if (!err)
		*dst[f->bits] = (uint32_t)n;
	return err;
}

static const struct field oom_fields[] = {
	{ "interval_ms", parse_oom_u32, 0 },
	{ "rescan_ms", parse_oom_u32, 1 },
};

static int parse_leak_enabled(struct ctx *c, const struct field *f, const char *path,
			      const yaml_mark_t *key_mark)
{
	return parse_bool(c, path, key_mark, &c->cfg->leak_enabled);
}

static int parse_leak_u32(struct ctx *c, const struct field *f, const char *path,
			  const yaml_mark_t *key_mark)
{
	static const struct { uint64_t lo, hi; } bounds[] = {
		{ 100, 3600000 }, { 16, 4096 }, { 16, 1u << 20 },
	};
	uint32_t *dst[] = { &c->cfg->leak_interval_ms, &c->cfg->leak_history,
			    &c->cfg->leak_max_processes };
	uint64_t n;
	int err = parse_bounded(c, path, key_mark, "an integer", false, bounds[f->bits].lo,
				bounds[f->bits].hi, &n);

	if (!err)
		*dst[f->bits] = (uint32_t)n;
	return err;
}

static const struct field leak_fields[] = {
	{ "enabled", parse_leak_enabled, 0 },
	{ "interval_ms", parse_leak_u32, 0 },
	{ "history", parse_leak_u32, 1 },
	{ "max_processes", parse_leak_u32, 2 },
};

static const struct field guard_fields[] = {
	{ "container_escape", parse_guard_escape, 0 },
	{ "protect_self", parse_guard_self, 0 },
};

static int parse_submapping(struct ctx *c, const char *path, const yaml_mark_t *key_mark,
			    const struct field *fields, size_t nfields, const char *what)
{
	if (c->ev.type == YAML_ALIAS_EVENT)
		return fail(c, &c->ev.start_mark,
			    "'%s': aliases are not supported in the config", path);
	if (c->ev.type == YAML_SCALAR_EVENT && scalar_is_null(&c->ev))
		return fail(c, key_mark, "'%s' has no value (expected a mapping of %s)", path, what);
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, &c->ev.start_mark, "'%s' must be a mapping of %s, found %s",
			    path, what, node_kind(&c->ev));
	return parse_mapping(c, fields, nfields, path);
}

static int parse_signal_guard(struct ctx *c, const struct field *f, const char *path,
			      const yaml_mark_t *key_mark)
{
	return parse_submapping(c, path, key_mark, guard_fields,
				sizeof(guard_fields) / sizeof(guard_fields[0]), "built-in rules");
}

static int parse_trust(struct ctx *c, const struct field *f, const char *path,
		       const yaml_mark_t *key_mark)
{
	return parse_submapping(c, path, key_mark, trust_fields,
				sizeof(trust_fields) / sizeof(trust_fields[0]), "trust settings");
}

static int parse_oom(struct ctx *c, const struct field *f, const char *path,
		     const yaml_mark_t *key_mark)
{
	return parse_submapping(c, path, key_mark, oom_fields,
				sizeof(oom_fields) / sizeof(oom_fields[0]), "OOM engine settings");
}

static int parse_leak(struct ctx *c, const struct field *f, const char *path,
		      const yaml_mark_t *key_mark)
{
	return parse_submapping(c, path, key_mark, leak_fields,
				sizeof(leak_fields) / sizeof(leak_fields[0]),
				"leak sampling settings");
}

static const struct field observe_fields[] = {
	{ "fork", parse_observe_flag, VIGIL_OBS(VIGIL_EV_FORK) },
	{ "exec", parse_observe_flag, VIGIL_OBS(VIGIL_EV_EXEC) },
	{ "exit", parse_observe_flag, VIGIL_OBS(VIGIL_EV_EXIT) },
	{ "signal", parse_observe_flag,
	  VIGIL_OBS(VIGIL_EV_SIGNAL_GENERATE) | VIGIL_OBS(VIGIL_EV_SIGNAL_DELIVER) },
};

static int parse_observe(struct ctx *c, const struct field *f, const char *path,
			 const yaml_mark_t *key_mark)
{
	return parse_submapping(c, path, key_mark, observe_fields,
				sizeof(observe_fields) / sizeof(observe_fields[0]),
				"event types to booleans");
}

static const struct field top_fields[] = {
	{ "node_name", parse_node_name, 0 },
	{ "output", parse_output, 0 },
	{ "observe", parse_observe, 0 },
	{ "ring_buffer_bytes", parse_ring_buffer_bytes, 0 },
	{ "cgroup_hierarchy", parse_cgroup_hierarchy, 0 },
	{ "loss_report_interval_ms", parse_loss_interval, 0 },
	{ "output_max_bytes", parse_output_max_bytes, 0 },
	{ "output_keep", parse_output_keep, 0 },
	{ "metrics_addr", parse_metrics_addr, 0 },
	{ "bpf_stats", parse_bpf_stats, 0 },
	{ "metrics_max_containers", parse_max_containers, 0 },
	{ "runtime_state_dirs", parse_runtime_state_dirs, 0 },
	{ "policy_dir", parse_policy_dir, 0 },
	{ "policy_required", parse_policy_required, 0 },
	{ "signal_guard", parse_signal_guard, 0 },
	{ "trust", parse_trust, 0 },
	{ "oom", parse_oom, 0 },
	{ "leak", parse_leak, 0 },
};

#define MAX_FIELDS 32	/* parse_mapping() tracks duplicates in a fixed array and a bitmask */
_Static_assert(sizeof(top_fields) / sizeof(top_fields[0]) <= MAX_FIELDS, "too many keys");
_Static_assert(sizeof(observe_fields) / sizeof(observe_fields[0]) <= MAX_FIELDS, "too many keys");

/*
 * Optimal string alignment distance (edits plus adjacent transpositions),
 * ignoring case so that 'FORK' still points at 'fork'.
 */
static size_t edit_distance(const char *a, size_t n, const char *b, size_t m)
{
	size_t d[SHOW_MAX + 1][SHOW_MAX + 1];
	size_t i, j, best;

	if (n > SHOW_MAX || m > SHOW_MAX)
		return SIZE_MAX;
	for (i = 0; i <= n; i++)
		d[i][0] = i;
	for (j = 0; j <= m; j++)
		d[0][j] = j;
	for (i = 1; i <= n; i++) {
		for (j = 1; j <= m; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);

			best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 &&
			    tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[n][m];
}

/*
 * The closest valid key, if the typo is small next to the key's length: a
 * third of it, at least one edit.  Anything further is a different word, and
 * a confident wrong guess is worse than the list of valid keys.
 */
static const char *suggest(const char *key, size_t n, const struct field *fields,
			   size_t nfields)
{
	const char *best = NULL;
	size_t i, d, best_d = SIZE_MAX;

	for (i = 0; i < nfields; i++) {
		size_t len = strlen(fields[i].name), limit = len / 3 ? len / 3 : 1;

		d = edit_distance(key, n, fields[i].name, len);
		if (d <= limit && d < best_d) {
			best = fields[i].name;
			best_d = d;
		}
	}
	return best;
}

static int unknown_key(struct ctx *c, const char *path, const struct field *fields,
		       size_t nfields)
{
	const yaml_event_t *ev = &c->ev;
	const char *key = (const char *)ev->data.scalar.value, *hint;
	char shown[64], in[80] = "", valid[400];
	size_t i, off = 0;

	show(key, ev->data.scalar.length, shown, sizeof(shown));
	if (path)
		snprintf(in, sizeof(in), " in '%s'", path);
	hint = suggest(key, ev->data.scalar.length, fields, nfields);
	if (hint)
		return fail(c, &ev->start_mark, "unknown key '%s'%s (did you mean '%s'?)",
			    shown, in, hint);
	for (i = 0; i < nfields && off < sizeof(valid); i++)
		off += snprintf(valid + off, sizeof(valid) - off, "%s%s", i ? ", " : "",
				fields[i].name);
	return fail(c, &ev->start_mark, "unknown key '%s'%s (valid keys: %s)", shown, in, valid);
}

/* Entered on MAPPING-START; returns having consumed the matching MAPPING-END. */
static int parse_mapping(struct ctx *c, const struct field *fields, size_t nfields,
			 const char *path)
{
	yaml_mark_t seen_at[MAX_FIELDS];
	unsigned seen = 0;
	char full[64];
	size_t i;
	int err;

	for (;;) {
		yaml_mark_t key_mark;

		err = next(c);
		if (err)
			return err;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		key_mark = c->ev.start_mark;
		if (c->ev.type == YAML_ALIAS_EVENT)
			return fail(c, &key_mark, "aliases are not supported in the config");
		if (c->ev.type != YAML_SCALAR_EVENT)
			return fail(c, &key_mark, "a key must be a plain name, found %s",
				    node_kind(&c->ev));
		for (i = 0; i < nfields; i++)
			if (scalar_is(&c->ev, fields[i].name))
				break;
		if (i == nfields)
			return unknown_key(c, path, fields, nfields);
		if (seen & (1u << i))
			return fail(c, &key_mark, "duplicate key '%s' (first set at line %zu, column %zu)",
				    fields[i].name, seen_at[i].line + 1, seen_at[i].column + 1);
		seen |= 1u << i;
		seen_at[i] = key_mark;

		if (path)
			snprintf(full, sizeof(full), "%s.%s", path, fields[i].name);
		else
			snprintf(full, sizeof(full), "%s", fields[i].name);
		err = next(c);
		if (err)
			return err;
		err = fields[i].parse(c, &fields[i], full, &key_mark);
		if (err)
			return err;
	}
}

/* The top of the stream: at most one document, and it must be a mapping. */
static int parse_stream(struct ctx *c)
{
	yaml_mark_t doc_mark;
	int err;

	err = next(c);				/* STREAM-START */
	if (err)
		return err;
	err = next(c);
	if (err)
		return err;
	if (c->ev.type == YAML_STREAM_END_EVENT)
		return 0;			/* no document at all: keep what we have */

	doc_mark = c->ev.start_mark;
	err = next(c);				/* past DOCUMENT-START, to the root node */
	if (err)
		return err;
	/* A lone "---" has a null root whose mark lies past the marker; point at the marker. */
	if (c->ev.type == YAML_SCALAR_EVENT && scalar_is_null(&c->ev))
		return fail(c, &doc_mark,
			    "the document is empty; expected a mapping of config keys");
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, &c->ev.start_mark,
			    "expected a mapping of config keys at the top level, found %s",
			    node_kind(&c->ev));
	err = parse_mapping(c, top_fields, sizeof(top_fields) / sizeof(top_fields[0]), NULL);
	if (err)
		return err;

	err = next(c);				/* DOCUMENT-END */
	if (err)
		return err;
	err = next(c);
	if (err)
		return err;
	if (c->ev.type == YAML_DOCUMENT_START_EVENT)
		return fail(c, &c->ev.start_mark,
			    "more than one document; put every key in a single document");
	return 0;
}

/*
 * libyaml's scanner rechecks every open flow level for each token, so deep
 * flow nesting costs quadratic time (200k '[' take minutes).  The schema is
 * two levels deep; stop long before that cost shows.
 */
static int check_syntax(struct ctx *c)
{
	unsigned depth = 0;
	int err;

	do {
		err = next(c);
		if (err)
			return err;
		switch (c->ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > MAX_DEPTH)
				return fail(c, &c->ev.start_mark,
					    "nested too deeply (more than %u levels)", MAX_DEPTH);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
	} while (c->ev.type != YAML_STREAM_END_EVENT);
	return 0;
}

static int run_pass(struct ctx *c, int (*pass)(struct ctx *c))
{
	int err;

	if (!yaml_parser_initialize(&c->parser)) {
		fail_at(c, 0, 0, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&c->parser, (const unsigned char *)c->text, c->len);
	memset(&c->ev, 0, sizeof(c->ev));
	err = pass(c);
	yaml_event_delete(&c->ev);
	yaml_parser_delete(&c->parser);
	return err;
}

static void set_file(struct vigil_config_error *err, const char *name)
{
	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", name ? name : "<config>");
}

static int load_text(struct vigil_config *cfg, const char *text, size_t len,
		     struct vigil_config_error *err)
{
	struct vigil_config tmp = *cfg;
	struct ctx c = { .text = text, .len = len, .cfg = &tmp, .err = err };
	int ret;

	ret = run_pass(&c, check_syntax);
	if (ret)
		return ret;
	ret = run_pass(&c, parse_stream);
	if (ret)
		return ret;
	*cfg = tmp;
	return 0;
}

int config_load_string(struct vigil_config *cfg, const char *text, size_t len,
		       const char *name, struct vigil_config_error *err)
{
	struct vigil_config_error scratch;

	if (!err)
		err = &scratch;
	set_file(err, name);
	if (!text)
		len = 0;
	return load_text(cfg, text ? text : "", len, err);
}

static int read_all(int fd, char **out, size_t *out_len, struct vigil_config_error *err)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	if (!buf)
		goto nomem;
	for (;;) {
		if (len == cap) {
			if (cap > CONFIG_MAX_BYTES) {
				free(buf);
				snprintf(err->msg, sizeof(err->msg),
					 "file is too large (more than %u bytes)", CONFIG_MAX_BYTES);
				return -EFBIG;
			}
			grown = realloc(buf, cap * 2);
			if (!grown)
				goto nomem;
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			snprintf(err->msg, sizeof(err->msg), "cannot read: %s", strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_MAX_BYTES) {
		free(buf);
		snprintf(err->msg, sizeof(err->msg), "file is too large (more than %u bytes)",
			 CONFIG_MAX_BYTES);
		return -EFBIG;
	}
	*out = buf;
	*out_len = len;
	return 0;
nomem:
	free(buf);
	snprintf(err->msg, sizeof(err->msg), "out of memory");
	return -ENOMEM;
}

int config_load_file(struct vigil_config *cfg, const char *path,
		     struct vigil_config_error *err)
{
	struct vigil_config_error scratch;
	char *text = NULL;
	size_t len = 0;
	int fd, ret;

	if (!err)
		err = &scratch;
	set_file(err, path);
	if (!path) {
		snprintf(err->msg, sizeof(err->msg), "no file name given");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(-ret));
		return ret;
	}
	ret = read_all(fd, &text, &len, err);
	close(fd);
	if (ret)
		return ret;
	ret = load_text(cfg, text, len, err);
	free(text);
	return ret;
}

int config_parse_size(const char *s, uint64_t *out)
{
	return parse_uint(s, strlen(s), true, out);
}

void config_error_format(const struct vigil_config_error *err, char *buf, size_t len)
{
	if (!len)
		return;
	if (err->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s", err->file, err->line, err->column, err->msg);
	else
		snprintf(buf, len, "%s: %s", err->file, err->msg);
}
