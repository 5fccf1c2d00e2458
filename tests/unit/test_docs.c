/*
 * test_docs.c - docs/events.md must keep up with the code: every event type
 * vigil can emit has a row there, and every field name the JSON-lines sink
 * writes appears in backticks.  The fields are not listed here by hand: real
 * lines are rendered with jsonl.c from fixture views, parsed back with
 * json-c, and every key path in them is checked, so a field added to
 * jsonl.c fails this test until it is documented.
 *
 * Unit tests run from the repository root; VIGIL_SRCDIR, when set, names
 * the root instead.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "trust.h"
#include "jsonl.h"

#define CID "97c3a7b1b1526c2c23f3f2f38251e57daf8c7f5041a869b5fa2ae2c9ac89736f"
#define POD "17e6e95c-d075-470c-998c-7ec555c01cac"

/* ---- the document ---------------------------------------------------------- */

static char *doc;
static char **spans;	/* the text between each pair of backticks */
static size_t n_spans;

static void read_doc(void)
{
	const char *root = getenv("VIGIL_SRCDIR");
	char path[4096];
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s%sdocs/events.md", root ? root : "", root ? "/" : "");
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s (run from the repository root or set VIGIL_SRCDIR)", path,
			   strerror(errno));
	cr_assert_eq(getdelim(&doc, &len, 0, f) > 0, 1, "%s is empty", path);
	fclose(f);
}

/* Inline code spans; fenced blocks (```) are skipped, they hold examples. */
static void collect_spans(void)
{
	const char *p = doc;

	while ((p = strchr(p, '`'))) {
		const char *end;

		if (!strncmp(p, "```", 3)) {
			end = strstr(p + 3, "```");
			p = end ? end + 3 : p + strlen(p);
			continue;
		}
		end = strchr(p + 1, '`');
		cr_assert_not_null(end, "unbalanced backtick in docs/events.md");
		spans = realloc(spans, (n_spans + 1) * sizeof(*spans));
		cr_assert_not_null(spans);
		spans[n_spans] = strndup(p + 1, end - p - 1);
		cr_assert_not_null(spans[n_spans]);
		n_spans++;
		p = end + 1;
	}
}

static void load(void)
{
	read_doc();
	collect_spans();
}

static void unload(void)
{
	for (size_t i = 0; i < n_spans; i++)
		free(spans[i]);
	free(spans);
	free(doc);
}

TestSuite(docs, .init = load, .fini = unload);

/*
 * Whether some span names key: as a whole (`pid`) or, when last_only, as the
 * last part of a dotted path (`process.pid`), else as any part of one
 * (`child.process`).
 */
static bool documented(const char *key, bool last_only)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < n_spans; i++) {
		const char *s = spans[i];

		while (s) {
			const char *dot = strchr(s, '.');
			size_t n = dot ? (size_t)(dot - s) : strlen(s);

			if (n == klen && !strncmp(s, key, n) && (!dot || !last_only))
				return true;
			s = dot ? dot + 1 : NULL;
		}
	}
	return false;
}

/* A table row whose first cell is `name`. */
static bool has_row(const char *name)
{
	char row[128];

	snprintf(row, sizeof(row), "\n| `%s` |", name);
	return strstr(doc, row) != NULL;
}

/* ---- real lines from the sink ---------------------------------------------- */

struct lines {
	char *buf;
	size_t len;
	FILE *f;
	struct vigil_jsonl j;
};

static void lines_open(struct lines *l)
{
	memset(l, 0, sizeof(*l));
	l->f = open_memstream(&l->buf, &l->len);
	cr_assert_not_null(l->f);
	jsonl_init(&l->j, l->f, "node-1");
}

static void lines_close(struct lines *l)
{
	cr_assert_eq(jsonl_flush(&l->j), 0);
	cr_assert_eq(fclose(l->f), 0);
	cr_assert_eq(l->j.write_errors, 0);
	jsonl_free(&l->j);
}

/*
 * One line of every kind the sink writes, with every optional field
 * present: an exec by a non-leader thread (old_tid), a fork, an exit by a
 * signal, a signal with its target in a pod container, a delivery, a
 * trust violation, OOM kills by the kernel and by vigil, and a loss report.
 */
static void render_all(struct lines *l)
{
	static struct vigil_exec_event x;
	static struct vigil_exit_event ex;
	static struct vigil_fork_event fk;
	static struct vigil_signal_event sg, sd;
	static struct vigil_proc p, child;
	static struct vigil_ctr ctr;
	uint64_t lost[VIGIL_EV__MAX];
	struct vigil_event_view v;

	p = fx_proc(100, 1, "sh", "/bin/sh", FX_ARGS("sh\0-c\0true"));
	child = fx_proc(101, 100, "sh", "/bin/sh", FX_ARGS("sh"));
	ctr = fx_ctr(VIGIL_RT_CONTAINERD, CID, POD, VIGIL_QOS_BURSTABLE,
		     "/kubepods.slice/kubepods-burstable.slice/x/cri-containerd-" CID ".scope");

	lines_open(l);
	fx_exec(&x, fx_task(100, 1, 1, "sh"), "/bin/sh", FX_ARGS("sh\0-c\0true"),
		VIGIL_EXEC_ARGS_TRUNCATED);
	x.old_pid = 102;
	v = fx_view(VIGIL_EV_EXEC, &x, &p, &ctr, NULL, NULL);
	cr_assert_eq(jsonl_write_event(&l->j, &v), 0);

	fx_fork(&fk, fx_task(100, 1, 1, "sh"), fx_task(101, 100, 1, "sh"));
	v = fx_view(VIGIL_EV_FORK, &fk, &p, &ctr, &child, &ctr);
	cr_assert_eq(jsonl_write_event(&l->j, &v), 0);

	fx_exit(&ex, fx_task(101, 100, 1, "sh"), 0, SIGKILL);
	v = fx_view(VIGIL_EV_EXIT, &ex, &child, &ctr, NULL, NULL);
	cr_assert_eq(jsonl_write_event(&l->j, &v), 0);

	fx_signal(&sg, VIGIL_EV_SIGNAL_GENERATE, fx_task(100, 1, 1, "sh"),
		  fx_task(101, 100, 1, "sh"), SIGTERM);
	sg.group = 1;
	v = fx_view(VIGIL_EV_SIGNAL_GENERATE, &sg, &p, NULL, &child, &ctr);
	cr_assert_eq(jsonl_write_event(&l->j, &v), 0);

	{
		struct vigil_verdict vd = { .policy = "p", .rule = "r", .action = "deny",
					    .effect = "kill-sender", .generation = 3,
					    .sender_killed = true, .kill_failed = true };

		sg.result = VIGIL_SIG_DENIED;
		v = fx_view(VIGIL_EV_SIGNAL_GENERATE, &sg, &p, NULL, &child, &ctr);
		v.verdict = &vd;
		cr_assert_eq(jsonl_write_event(&l->j, &v), 0);
	}
	{
		struct policy_diag dg[2] = {
			{ .file = "a.yaml", .line = 3, .column = 5, .msg = "bad" },
			{ .file = "a.yaml", .line = 4, .column = 1, .warning = true, .msg = "meh" },
		};
		struct policy_diags ds = { .v = dg, .n = 2, .errors = 1 };
		struct vigil_reload_info ri = { .time_ns = 1700000000123456789ull, .trigger = "sighup",
						.dir = "/etc/vigil/policies.d", .dir_state = "ok",
						.generation = 2, .documents = 1, .rules = 2, .files = 1,
						.diags = &ds, .error = "why" };

		cr_assert_eq(jsonl_write_reload(&l->j, &ri), 0);
	}

	fx_signal(&sd, VIGIL_EV_SIGNAL_DELIVER, fx_task(0, 0, 0, ""), fx_task(101, 100, 1, "sh"),
		  SIGTERM);
	sd.handler = VIGIL_SIG_HANDLER_USER;
	v = fx_view(VIGIL_EV_SIGNAL_DELIVER, &sd, &child, &ctr, NULL, NULL);
	cr_assert_eq(jsonl_write_event(&l->j, &v), 0);

	{
		static struct vigil_trust_event te;
		struct vigil_trust_info ti = {
			.hook = "exec", .reason = "tainted", .action = "denied", .mode = "enforce",
			.enforcement = "lsm", .policy = "p", .rule = "r", .path = "/bin/x",
			.sha256_error = "gone", .recorded_path = "/bin/x", .dev = "8:1", .ino = 12,
			.generation = 2, .fail_open = true, .audit_only_hook = true,
		};

		te.hdr.type = VIGIL_EV_TRUST;
		te.task = fx_task(100, 1, 1, "sh");
		v = fx_view(VIGIL_EV_TRUST, &te, &p, &ctr, NULL, NULL);
		v.trust = &ti;
		cr_assert_eq(jsonl_write_event(&l->j, &v), 0);
	}

	{
		/* A kernel kill with the kprobe's data, and vigil's kill and pre-kill. */
		static struct vigil_oom_event ok, ov;
		struct vigil_oom_info ki = { .source = "kernel", .scope = "memcg",
					     .memcg_path = "/hogs" };
		struct vigil_oom_info vi = {
			.source = "vigil", .scope = "process", .memcg_path = "/hogs", .policy = "p",
			.detector = "usage", .detail = "usage >= 90% of limit for 2s", .value = 93.5,
			.threshold = 90, .strategy = "largest_rss", .growth_bytes_per_s = 1e6,
			.killed = 1, .hook = "ok", .hook_status = 0, .latency_ns = 1500000,
		};
		struct vigil_task none;

		fx_oom(&ok, fx_task(100, 1, 1, "sh"), fx_task(101, 100, 1, "sh"),
		       VIGIL_OOM_MEMCG_EXACT | VIGIL_OOM_FROM_KPROBE);
		v = fx_view(VIGIL_EV_OOM_KILL, &ok, &p, &ctr, &child, &ctr);
		v.oom = &ki;
		cr_assert_eq(jsonl_write_event(&l->j, &v), 0);

		memset(&none, 0, sizeof(none));
		fx_oom(&ov, fx_task(100, 1, 1, "sh"), none, VIGIL_OOM_BY_VIGIL);
		v = fx_view(VIGIL_EV_OOM_KILL, &ov, &p, &ctr, NULL, NULL);
		v.oom = &vi;
		cr_assert_eq(jsonl_write_event(&l->j, &v), 0);
		v.type = VIGIL_EV_OOM_PRE_KILL;
		vi.dry_run = true;
		cr_assert_eq(jsonl_write_event(&l->j, &v), 0);
	}

	{
		/* The leak scorer's: a confirmed leak, and its end. */
		static struct vigil_leak_event le;
		struct vigil_leak_info li = {
			.policy = "default", .score = 0.93, .slope = 1048576, .baseline = 4 << 20,
			.current = 40 << 20, .growth_pct = 900, .tte_s = 120, .limit = 1 << 30,
			.limit_scope = "cgroup", .evaluations = 6, .observed_s = 90,
			.rss_anon = 39 << 20, .rss_file = 2 << 20, .rss_shmem = 1 << 20,
		};

		le.hdr.type = VIGIL_EV_LEAK_SUSPECTED;
		le.task = fx_task(100, 1, 1, "sh");
		v = fx_view(VIGIL_EV_LEAK_SUSPECTED, &le, &p, &ctr, NULL, NULL);
		v.leak = &li;
		cr_assert_eq(jsonl_write_event(&l->j, &v), 0);
		v.type = VIGIL_EV_LEAK_CLEARED;
		li.reason = "growth stopped";
		li.tte_s = -1;
		cr_assert_eq(jsonl_write_event(&l->j, &v), 0);
	}

	for (int t = 0; t < VIGIL_EV__MAX; t++)
		lost[t] = t;
	cr_assert_eq(jsonl_write_lost(&l->j, 1700000000123456789ull, lost), 0);
	lines_close(l);
}

/* Calls fn(line object) for each line of l. */
static void each_line(struct lines *l, void (*fn)(struct json_object *, void *), void *arg)
{
	size_t start = 0, n = 0;

	cr_assert_gt(l->len, 0, "the sink wrote nothing");
	for (size_t i = 0; i < l->len; i++) {
		struct json_object *o;

		if (l->buf[i] != '\n')
			continue;
		l->buf[i] = 0;
		o = json_tokener_parse(l->buf + start);
		cr_assert_not_null(o, "not JSON: %s", l->buf + start);
		cr_assert(json_object_is_type(o, json_type_object));
		fn(o, arg);
		json_object_put(o);
		start = i + 1;
		n++;
	}
	cr_assert_eq(start, l->len, "the last line is not terminated");
	cr_assert_gt(n, 0);
}

/* ---- event types ----------------------------------------------------------- */

Test(docs, every_event_type_vigil_can_emit_has_a_row_in_the_per_type_table)
{
	unsigned n = 0;

	for (uint32_t t = 0; t < VIGIL_EV__MAX; t++) {
		const char *name = event_type_name(t);

		if (!(VIGIL_OBS_ALL & VIGIL_OBS(t)))
			continue;
		cr_assert_not_null(name, "type %u has no name", t);
		cr_expect(has_row(name), "docs/events.md has no \"| `%s` |\" row", name);
		n++;
	}
	cr_expect_geq(n, 5, "only %u observable types: VIGIL_OBS_ALL changed?", n);
	cr_expect(has_row("events_lost"), "docs/events.md has no \"| `events_lost` |\" row");
	cr_expect(has_row("policy_reload"), "docs/events.md has no \"| `policy_reload` |\" row");
	cr_expect(has_row("trust_violation"), "docs/events.md has no \"| `trust_violation` |\" row");
	cr_expect(has_row("oom_kill"), "docs/events.md has no \"| `oom_kill` |\" row");
	cr_expect(has_row("oom_pre_kill"), "docs/events.md has no \"| `oom_pre_kill` |\" row");
	cr_expect(has_row("leak_suspected"), "docs/events.md has no \"| `leak_suspected` |\" row");
	cr_expect(has_row("leak_cleared"), "docs/events.md has no \"| `leak_cleared` |\" row");
}

Test(docs, the_type_field_lists_every_event_type)
{
	const char *row = strstr(doc, "\n| `type` |");
	char *line;

	cr_assert_not_null(row, "no row for the `type` field");
	line = strndup(row + 1, strcspn(row + 1, "\n"));
	cr_assert_not_null(line);
	for (uint32_t t = 0; t < VIGIL_EV__MAX; t++) {
		char want[64];

		if (!(VIGIL_OBS_ALL & VIGIL_OBS(t)))
			continue;
		snprintf(want, sizeof(want), "`%s`", event_type_name(t));
		cr_expect(strstr(line, want), "the `type` row lacks %s: %s", want, line);
	}
	cr_expect(strstr(line, "`events_lost`"), "the `type` row lacks `events_lost`: %s", line);
	cr_expect(strstr(line, "`policy_reload`"), "the `type` row lacks `policy_reload`: %s", line);
	cr_expect(strstr(line, "`trust_violation`"), "the `type` row lacks `trust_violation`: %s", line);
	cr_expect(strstr(line, "`oom_kill`"), "the `type` row lacks `oom_kill`: %s", line);
	cr_expect(strstr(line, "`oom_pre_kill`"), "the `type` row lacks `oom_pre_kill`: %s", line);
	cr_expect(strstr(line, "`leak_suspected`"), "the `type` row lacks `leak_suspected`: %s", line);
	cr_expect(strstr(line, "`leak_cleared`"), "the `type` row lacks `leak_cleared`: %s", line);
	free(line);
}

/* ---- fields ---------------------------------------------------------------- */

struct walk {
	unsigned keys;		/* key paths seen */
	unsigned missing;
	char types[32][32];	/* "type" values seen */
	unsigned n_types;
};

static void walk_object(struct json_object *o, const char *prefix, struct walk *w)
{
	json_object_object_foreach(o, key, val) {
		char path[256];
		bool is_object = json_object_is_type(val, json_type_object);

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key);
		w->keys++;
		/* A leaf is documented by name; a nested object's key may also lead a path. */
		if (!documented(key, !is_object)) {
			w->missing++;
			cr_expect_fail("field %s is written but `%s` is not in docs/events.md", path,
				       key);
		}
		if (is_object)
			walk_object(val, path, w);
	}
}

static void walk_line(struct json_object *o, void *arg)
{
	struct walk *w = arg;
	struct json_object *type;

	cr_assert(json_object_object_get_ex(o, "type", &type));
	cr_assert_lt(w->n_types, 32);
	snprintf(w->types[w->n_types++], sizeof(w->types[0]), "%s", json_object_get_string(type));
	walk_object(o, "", w);
}

static bool seen_type(const struct walk *w, const char *name)
{
	for (unsigned i = 0; i < w->n_types; i++)
		if (!strcmp(w->types[i], name))
			return true;
	return false;
}

Test(docs, every_field_name_the_jsonl_sink_writes_is_in_backticks_in_the_doc)
{
	struct lines l;
	struct walk w = { 0 };

	render_all(&l);
	each_line(&l, walk_line, &w);
	free(l.buf);

	/* The rendering must cover every type, or a new type's fields go unchecked. */
	for (uint32_t t = 0; t < VIGIL_EV__MAX; t++)
		if (VIGIL_OBS_ALL & VIGIL_OBS(t))
			cr_expect(seen_type(&w, event_type_name(t)),
				  "render_all() writes no %s line: add one", event_type_name(t));
	cr_expect(seen_type(&w, "events_lost"), "render_all() writes no events_lost line");
	cr_expect(seen_type(&w, "policy_reload"), "render_all() writes no policy_reload line");
	cr_expect(seen_type(&w, "trust_violation"), "render_all() writes no trust_violation line");
	cr_expect(seen_type(&w, "oom_kill"), "render_all() writes no oom_kill line");
	cr_expect(seen_type(&w, "oom_pre_kill"), "render_all() writes no oom_pre_kill line");
	cr_expect(seen_type(&w, "leak_suspected"), "render_all() writes no leak_suspected line");
	cr_expect(seen_type(&w, "leak_cleared"), "render_all() writes no leak_cleared line");
	cr_expect_gt(w.keys, 50, "only %u key paths: did the walk stop early?", w.keys);
	cr_expect_eq(w.missing, 0, "%u field names are missing from docs/events.md", w.missing);
}

/* The check itself: a name that is in no span is not taken as documented. */
Test(docs, a_field_name_only_in_prose_does_not_count_as_documented)
{
	cr_expect(documented("pid", true), "`process.pid` documents pid");
	cr_expect(documented("process", false), "`child.process` documents process");
	cr_expect_not(documented("meaning", true), "\"meaning\" is a table header, not code");
	cr_expect_not(documented("no_such_field", false));
}
