/*
 * test_jsonl.c - the JSON-lines sink.  Every line is written to a memory
 * stream and parsed back with json-c in strict mode, with UTF-8 validation,
 * and additionally checked against this file's own strict UTF-8 validator
 * (Unicode table 3-7), because json-c's check is not meant to catch
 * overlong forms or encoded surrogates.
 *
 * Process names, argv and paths are arbitrary bytes chosen by whoever runs
 * the process, so the hostile-input tests matter as much as the field tests.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixtures.h"
#include "jsonl.h"
#include "utf8_oracle.h"

#define CID "97c3a7b1b1526c2c23f3f2f38251e57daf8c7f5041a869b5fa2ae2c9ac89736f"
#define POD "17e6e95c-d075-470c-998c-7ec555c01cac"
#define FFFD "\xef\xbf\xbd"
#define VIEW_TIME "2023-11-14T22:13:20.123456789Z"	/* fx_view()'s time_ns */

/* ---- capture and parse ----------------------------------------------------- */

/* Parse one line strictly; the whole line must be one JSON object. */
static struct json_object *parse_line(const char *line, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	cr_assert_not_null(tok);
	cr_assert(utf8_ok((const unsigned char *)line, len), "line is not valid UTF-8: %.*s",
		  (int)len, line);
	for (size_t i = 0; i < len; i++)
		cr_assert_geq((unsigned char)line[i], 0x20, "raw control byte 0x%02x at %zu",
			      (unsigned char)line[i], i);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	cr_assert_not_null(o, "json-c rejects the line (%s): %.*s",
			   json_tokener_error_desc(json_tokener_get_error(tok)), (int)len, line);
	cr_assert_eq(json_tokener_get_parse_end(tok), len, "trailing bytes after the object");
	cr_assert(json_object_is_type(o, json_type_object));
	json_tokener_free(tok);
	return o;
}

struct capture {
	char *buf;
	size_t len;
	FILE *f;
	struct vigil_jsonl j;
};

static void cap_open(struct capture *c, const char *node)
{
	memset(c, 0, sizeof(*c));
	c->f = open_memstream(&c->buf, &c->len);
	cr_assert_not_null(c->f);
	jsonl_init(&c->j, c->f, node);
}

static void cap_close(struct capture *c)
{
	cr_assert_eq(jsonl_flush(&c->j), 0);
	cr_assert_eq(fclose(c->f), 0);
	c->f = NULL;
	cr_expect_eq(c->j.write_errors, 0);
	jsonl_free(&c->j);
}

/* Split the capture into lines, each ending in '\n'; parse each. */
static size_t parse_lines(struct capture *c, struct json_object **out, size_t max)
{
	size_t n = 0, start = 0;

	cr_assert_gt(c->len, 0, "nothing was written");
	cr_assert_eq(c->buf[c->len - 1], '\n', "the last line is not terminated");
	for (size_t i = 0; i < c->len; i++) {
		if (c->buf[i] != '\n')
			continue;
		cr_assert_lt(n, max, "more lines than expected");
		out[n++] = parse_line(c->buf + start, i - start);
		start = i + 1;
	}
	return n;
}

/* Write one view and return its parsed line. */
static struct json_object *emit(const struct vigil_event_view *v)
{
	struct capture c;
	struct json_object *o;

	cap_open(&c, "node-1");
	cr_assert_eq(jsonl_write_event(&c.j, v), 0);
	cap_close(&c);
	cr_assert_eq(parse_lines(&c, &o, 1), 1);
	free(c.buf);
	return o;
}

/* ---- field access ---------------------------------------------------------- */

/* "a.b.c" -> the member, which must exist. */
static struct json_object *at(struct json_object *o, const char *path)
{
	char key[64];
	const char *p = path;

	while (*p) {
		size_t n = strcspn(p, ".");

		cr_assert_lt(n, sizeof(key));
		memcpy(key, p, n);
		key[n] = 0;
		cr_assert(json_object_is_type(o, json_type_object), "%s: not an object at '%s'",
			  path, key);
		cr_assert(json_object_object_get_ex(o, key, &o), "missing field %s", path);
		p += n + (p[n] == '.');
	}
	return o;
}

static bool has(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static const char *str_at(struct json_object *o, const char *path)
{
	struct json_object *v = at(o, path);

	cr_assert(json_object_is_type(v, json_type_string), "%s is not a string", path);
	return json_object_get_string(v);
}

static int64_t int_at(struct json_object *o, const char *path)
{
	struct json_object *v = at(o, path);

	cr_assert(json_object_is_type(v, json_type_int), "%s is not an integer", path);
	return json_object_get_int64(v);
}

static bool bool_at(struct json_object *o, const char *path)
{
	struct json_object *v = at(o, path);

	cr_assert(json_object_is_type(v, json_type_boolean), "%s is not a boolean", path);
	return json_object_get_boolean(v);
}

/* The args array equals the n NUL-separated strings of want. */
static void expect_args(struct json_object *o, const char *path, const char *const *want,
			size_t n)
{
	struct json_object *a = at(o, path);

	cr_assert(json_object_is_type(a, json_type_array), "%s is not an array", path);
	cr_assert_eq(json_object_array_length(a), n, "%s has %zu elements, want %zu", path,
		     json_object_array_length(a), n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(a, i);

		cr_assert(json_object_is_type(s, json_type_string));
		cr_expect_str_eq(json_object_get_string(s), want[i], "%s[%zu]", path, i);
	}
}

/* ---- common fields --------------------------------------------------------- */

Test(jsonl, an_exec_line_carries_time_type_node_process_and_container)
{
	static const char *const argv[] = { "ls", "-l", "/tmp" };
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(4242, 1, "ls", "/usr/bin/ls", FX_ARGS("ls\0-l\0/tmp"));
	struct vigil_ctr c = fx_ctr(VIGIL_RT_DOCKER, CID, "", VIGIL_QOS_NONE, "/docker/" CID);
	struct vigil_event_view v;
	struct json_object *o;

	fx_exec(&x, fx_task(4242, 1, 1, "ls"), "/usr/bin/ls", FX_ARGS("ls\0-l\0/tmp"), 0);
	v = fx_view(VIGIL_EV_EXEC, &x, &p, &c, NULL, NULL);
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "time"), VIEW_TIME);
	cr_expect_str_eq(str_at(o, "type"), "exec");
	cr_expect_str_eq(str_at(o, "node"), "node-1");
	cr_expect_eq(int_at(o, "process.pid"), 4242);
	cr_expect_eq(int_at(o, "process.ppid"), 1);
	cr_expect_eq(int_at(o, "process.uid"), FX_UID);
	cr_expect_str_eq(str_at(o, "process.comm"), "ls");
	cr_expect_str_eq(str_at(o, "process.binary"), "/usr/bin/ls");
	expect_args(o, "process.args", argv, 3);
	cr_expect_str_eq(str_at(o, "container.id"), CID);
	cr_expect_str_eq(str_at(o, "container.runtime"), "docker");
	cr_expect_str_eq(str_at(o, "container.pod_uid"), "");
	cr_expect_str_eq(str_at(o, "container.qos"), "");
	cr_expect_str_eq(str_at(o, "container.cgroup"), "/docker/" CID);
	cr_expect_not(bool_at(o, "args_truncated"));
	cr_expect_not(bool_at(o, "binary_truncated"));
	cr_expect_not(has(o, "old_tid"), "old_tid written for a leader's exec");
	json_object_put(o);
}

Test(jsonl, an_exec_line_reports_truncation_flags_and_the_old_tid)
{
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(4242, 1, "sh", "/bin/sh", FX_ARGS("sh"));
	struct vigil_event_view v;
	struct json_object *o;

	fx_exec(&x, fx_task(4242, 1, 1, "sh"), "/bin/sh", FX_ARGS("sh"),
		VIGIL_EXEC_ARGS_TRUNCATED | VIGIL_EXEC_PATH_TRUNCATED);
	x.old_pid = 4250;
	v = fx_view(VIGIL_EV_EXEC, &x, &p, NULL, NULL, NULL);
	o = emit(&v);
	cr_expect(bool_at(o, "args_truncated"));
	cr_expect(bool_at(o, "binary_truncated"));
	cr_expect_eq(int_at(o, "old_tid"), 4250);
	json_object_put(o);
}

Test(jsonl, a_pod_container_has_its_runtime_pod_uid_and_qos)
{
	static const char cg[] = "/kubepods.slice/kubepods-burstable.slice/x/cri-containerd-" CID ".scope";
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(7, 1, "app", "/app", FX_ARGS("app"));
	struct vigil_ctr c = fx_ctr(VIGIL_RT_CONTAINERD, CID, POD, VIGIL_QOS_BURSTABLE, cg);
	struct vigil_event_view v;
	struct json_object *o;

	fx_exec(&x, fx_task(7, 1, 1, "app"), "/app", FX_ARGS("app"), 0);
	v = fx_view(VIGIL_EV_EXEC, &x, &p, &c, NULL, NULL);
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "container.runtime"), "containerd");
	cr_expect_str_eq(str_at(o, "container.id"), CID);
	cr_expect_str_eq(str_at(o, "container.pod_uid"), POD);
	cr_expect_str_eq(str_at(o, "container.qos"), "burstable");
	cr_expect_str_eq(str_at(o, "container.cgroup"), cg);
	cr_expect_str_eq(str_at(o, "container.pod_name"), "");
	cr_expect_str_eq(str_at(o, "container.image"), "");
	json_object_put(o);
}

Test(jsonl, a_container_with_known_pod_names_carries_them)
{
	static const char cg[] = "/kubepods/besteffort/pod" POD "/" CID;
	struct vigil_pod_meta m = { .pod_name = "web-0", .pod_namespace = "shop",
				    .container_name = "nginx", .image = "docker.io/library/nginx:1.27" };
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(7, 1, "app", "/app", FX_ARGS("app"));
	struct vigil_ctr c = fx_ctr(VIGIL_RT_KUBEPODS, CID, POD, VIGIL_QOS_BESTEFFORT, cg);
	struct vigil_event_view v;
	struct json_object *o;

	c.pod = &m;
	fx_exec(&x, fx_task(7, 1, 1, "app"), "/app", FX_ARGS("app"), 0);
	v = fx_view(VIGIL_EV_EXEC, &x, &p, &c, NULL, NULL);
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "container.pod_name"), "web-0");
	cr_expect_str_eq(str_at(o, "container.pod_namespace"), "shop");
	cr_expect_str_eq(str_at(o, "container.container_name"), "nginx");
	cr_expect_str_eq(str_at(o, "container.image"), "docker.io/library/nginx:1.27");
	cr_expect_str_eq(str_at(o, "container.id"), CID);
	json_object_put(o);
}

Test(jsonl, an_unattributed_or_missing_container_is_written_as_unknown_with_empty_fields)
{
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "app", "/app", NULL, 0);
	struct vigil_ctr unknown = fx_ctr(VIGIL_RT_UNKNOWN, "", "", VIGIL_QOS_NONE, "");
	const struct vigil_ctr *ctrs[] = { &unknown, NULL };

	unknown.resolved = false;
	fx_exit(&x, fx_task(7, 1, 1, "app"), 0, 0);
	for (size_t i = 0; i < 2; i++) {
		struct vigil_event_view v = fx_view(VIGIL_EV_EXIT, &x, &p, ctrs[i], NULL, NULL);
		struct json_object *o = emit(&v);

		cr_expect_str_eq(str_at(o, "container.runtime"), "unknown", "case %zu", i);
		cr_expect_str_eq(str_at(o, "container.id"), "", "case %zu", i);
		cr_expect_str_eq(str_at(o, "container.pod_uid"), "", "case %zu", i);
		cr_expect_str_eq(str_at(o, "container.qos"), "", "case %zu", i);
		cr_expect_str_eq(str_at(o, "container.cgroup"), "", "case %zu", i);
		cr_expect_str_eq(str_at(o, "container.pod_name"), "", "case %zu", i);
		cr_expect_str_eq(str_at(o, "container.pod_namespace"), "", "case %zu", i);
		cr_expect_str_eq(str_at(o, "container.container_name"), "", "case %zu", i);
		cr_expect_str_eq(str_at(o, "container.image"), "", "case %zu", i);
		json_object_put(o);
	}
}

Test(jsonl, a_process_without_an_image_has_an_empty_binary_and_no_args)
{
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "kworker/0:1", NULL, NULL, 0);
	struct vigil_event_view v;
	struct json_object *o;

	fx_exit(&x, fx_task(7, 1, 1, "kworker/0:1"), 0, 0);
	v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "process.binary"), "");
	expect_args(o, "process.args", NULL, 0);
	cr_expect_str_eq(str_at(o, "process.comm"), "kworker/0:1");
	json_object_put(o);
}

Test(jsonl, a_null_node_name_is_written_empty_and_a_long_one_is_bounded)
{
	struct capture c;
	char node[400];
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "a", NULL, NULL, 0);
	struct vigil_event_view v;
	struct json_object *o;

	fx_exit(&x, fx_task(7, 1, 1, "a"), 0, 0);
	v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);

	cap_open(&c, NULL);
	cr_assert_eq(jsonl_write_event(&c.j, &v), 0);
	cap_close(&c);
	cr_assert_eq(parse_lines(&c, &o, 1), 1);
	cr_expect_str_eq(str_at(o, "node"), "");
	json_object_put(o);
	free(c.buf);

	memset(node, 'n', sizeof(node) - 1);
	node[sizeof(node) - 1] = 0;
	cap_open(&c, node);
	cr_assert_eq(jsonl_write_event(&c.j, &v), 0);
	cap_close(&c);
	cr_assert_eq(parse_lines(&c, &o, 1), 1);
	cr_expect_gt(strlen(str_at(o, "node")), 0);
	cr_expect_lt(strlen(str_at(o, "node")), sizeof(c.j.node));
	cr_expect_eq(strncmp(str_at(o, "node"), node, strlen(str_at(o, "node"))), 0);
	json_object_put(o);
	free(c.buf);
}

/* ---- per type -------------------------------------------------------------- */

Test(jsonl, an_exit_line_has_the_code_the_signal_and_the_lifetime)
{
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "app", "/app", NULL, 0);
	struct vigil_event_view v;
	struct json_object *o;

	fx_exit(&x, fx_task(7, 1, 1, "app"), 3, 0);
	v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "type"), "exit");
	cr_expect_eq(int_at(o, "exit_code"), 3);
	cr_expect_eq(int_at(o, "signal"), 0);
	cr_expect_str_eq(str_at(o, "signal_name"), "");
	cr_expect_not(bool_at(o, "core_dumped"));
	cr_expect(json_object_is_type(at(o, "lifetime_seconds"), json_type_double));
	cr_expect_float_eq(json_object_get_double(at(o, "lifetime_seconds")), 1.5, 1e-9);
	json_object_put(o);
}

Test(jsonl, an_exit_by_signal_names_the_signal_and_the_core_dump)
{
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "app", "/app", NULL, 0);
	struct vigil_event_view v;
	struct json_object *o;

	fx_exit(&x, fx_task(7, 1, 1, "app"), 0, SIGKILL);
	x.core_dumped = 1;
	v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);
	o = emit(&v);
	cr_expect_eq(int_at(o, "signal"), 9);
	cr_expect_str_eq(str_at(o, "signal_name"), "SIGKILL");
	cr_expect(bool_at(o, "core_dumped"));
	json_object_put(o);
}

Test(jsonl, a_fork_line_nests_the_child_process)
{
	static const char *const argv[] = { "sh", "-c", "x" };
	struct vigil_fork_event f;
	struct vigil_proc parent = fx_proc(100, 1, "sh", "/bin/sh", FX_ARGS("sh\0-c\0x"));
	struct vigil_proc child = fx_proc(101, 100, "sh", "/bin/sh", FX_ARGS("sh\0-c\0x"));
	struct vigil_event_view v;
	struct json_object *o;

	fx_fork(&f, fx_task(100, 1, 1, "sh"), fx_task(101, 100, 2, "sh"));
	v = fx_view(VIGIL_EV_FORK, &f, &parent, NULL, &child, NULL);
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "type"), "fork");
	cr_expect_eq(int_at(o, "process.pid"), 100);
	cr_expect_eq(int_at(o, "child.process.pid"), 101);
	cr_expect_eq(int_at(o, "child.process.ppid"), 100);
	cr_expect_str_eq(str_at(o, "child.process.binary"), "/bin/sh");
	expect_args(o, "child.process.args", argv, 3);
	json_object_put(o);
}

Test(jsonl, a_fork_without_a_known_child_writes_an_empty_child_process)
{
	struct vigil_fork_event f;
	struct vigil_proc parent = fx_proc(100, 1, "sh", "/bin/sh", NULL, 0);
	struct vigil_event_view v;
	struct json_object *o;

	fx_fork(&f, fx_task(100, 1, 1, "sh"), fx_task(101, 100, 2, "sh"));
	v = fx_view(VIGIL_EV_FORK, &f, &parent, NULL, NULL, NULL);
	o = emit(&v);
	cr_expect(json_object_is_type(at(o, "child.process"), json_type_object));
	cr_expect_eq(json_object_object_length(at(o, "child.process")), 0);
	json_object_put(o);
}

Test(jsonl, a_signal_line_has_the_signal_result_code_group_and_target)
{
	struct vigil_signal_event s;
	struct vigil_proc sender = fx_proc(300, 1, "kill", "/bin/kill", FX_ARGS("kill\0-15\0100"));
	struct vigil_proc target = fx_proc(100, 1, "app", "/app", NULL, 0);
	struct vigil_ctr host = fx_ctr(VIGIL_RT_HOST, "", "", VIGIL_QOS_NONE, "/user.slice");
	struct vigil_ctr ctr = fx_ctr(VIGIL_RT_DOCKER, CID, "", VIGIL_QOS_NONE, "/docker/" CID);
	struct vigil_event_view v;
	struct json_object *o;

	fx_signal(&s, VIGIL_EV_SIGNAL_GENERATE, fx_task(300, 1, 1, "kill"),
		  fx_task(100, 1, 1, "app"), SIGTERM);
	s.si_code = -6;	/* SI_TKILL */
	s.result = VIGIL_SIG_IGNORED;
	s.group = 1;
	v = fx_view(VIGIL_EV_SIGNAL_GENERATE, &s, &sender, &host, &target, &ctr);
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "type"), "signal");
	cr_expect_eq(int_at(o, "signal"), SIGTERM);
	cr_expect_str_eq(str_at(o, "signal_name"), "SIGTERM");
	cr_expect_str_eq(str_at(o, "result"), "ignored");
	cr_expect_eq(int_at(o, "code"), -6);
	cr_expect(bool_at(o, "group"));
	cr_expect_eq(int_at(o, "process.pid"), 300);
	cr_expect_str_eq(str_at(o, "container.runtime"), "host");
	cr_expect_eq(int_at(o, "target.process.pid"), 100);
	cr_expect_str_eq(str_at(o, "target.process.binary"), "/app");
	cr_expect_str_eq(str_at(o, "target.container.id"), CID);
	cr_expect_str_eq(str_at(o, "target.container.runtime"), "docker");
	json_object_put(o);
}

Test(jsonl, a_signal_deliver_line_has_the_signal_code_and_handler_but_no_target)
{
	struct vigil_signal_event s;
	struct vigil_proc target = fx_proc(100, 1, "app", "/app", NULL, 0);
	struct vigil_event_view v;
	struct json_object *o;

	fx_signal(&s, VIGIL_EV_SIGNAL_DELIVER, fx_task(0, 0, 0, ""), fx_task(100, 1, 1, "app"),
		  SIGUSR1);
	s.handler = VIGIL_SIG_HANDLER_USER;
	v = fx_view(VIGIL_EV_SIGNAL_DELIVER, &s, &target, NULL, NULL, NULL);
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "type"), "signal_deliver");
	cr_expect_eq(int_at(o, "signal"), SIGUSR1);
	cr_expect_str_eq(str_at(o, "signal_name"), "SIGUSR1");
	cr_expect_eq(int_at(o, "code"), 0);
	cr_expect_str_eq(str_at(o, "handler"), "user");
	cr_expect_eq(int_at(o, "process.pid"), 100);
	cr_expect_not(has(o, "target"));
	json_object_put(o);
}

Test(jsonl, several_events_make_one_parseable_line_each)
{
	struct vigil_exec_event x;
	struct vigil_exit_event ex;
	struct vigil_fork_event f;
	struct vigil_signal_event s;
	struct vigil_proc p = fx_proc(7, 1, "a\nb", "/x\ny", FX_ARGS("a\nb\0c"));
	struct vigil_event_view v[5];
	struct json_object *o[6];
	struct capture c;
	size_t n;

	fx_exec(&x, fx_task(7, 1, 1, "a"), "/x", FX_ARGS("a"), 0);
	fx_exit(&ex, fx_task(7, 1, 1, "a"), 0, 0);
	fx_fork(&f, fx_task(7, 1, 1, "a"), fx_task(8, 7, 1, "a"));
	fx_signal(&s, VIGIL_EV_SIGNAL_GENERATE, fx_task(7, 1, 1, "a"), fx_task(7, 1, 1, "a"), 1);
	v[0] = fx_view(VIGIL_EV_EXEC, &x, &p, NULL, NULL, NULL);
	v[1] = fx_view(VIGIL_EV_EXIT, &ex, &p, NULL, NULL, NULL);
	v[2] = fx_view(VIGIL_EV_FORK, &f, &p, NULL, &p, NULL);
	v[3] = fx_view(VIGIL_EV_SIGNAL_GENERATE, &s, &p, NULL, &p, NULL);
	v[4] = fx_view(VIGIL_EV_SIGNAL_DELIVER, &s, &p, NULL, NULL, NULL);
	cap_open(&c, "n");
	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(jsonl_write_event(&c.j, &v[i]), 0);
	cap_close(&c);
	n = parse_lines(&c, o, 6);
	cr_expect_eq(n, 5);
	for (size_t i = 0; i < n; i++) {
		cr_expect_str_eq(str_at(o[i], "type"), event_type_name(v[i].type));
		cr_expect_str_eq(str_at(o[i], "process.comm"), "a\nb");
		json_object_put(o[i]);
	}
	free(c.buf);
}

Test(jsonl, a_stream_that_fails_is_reported_and_counted)
{
	struct vigil_jsonl j;
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "a", NULL, NULL, 0);
	struct vigil_event_view v;
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		cr_skip_test("/dev/full is not available");
	setvbuf(f, NULL, _IONBF, 0);
	jsonl_init(&j, f, "n");
	fx_exit(&x, fx_task(7, 1, 1, "a"), 0, 0);
	v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);
	cr_expect_lt(jsonl_write_event(&j, &v), 0);
	cr_expect_eq(j.write_errors, 1);
	jsonl_free(&j);
	fclose(f);
}

/* ---- hostile bytes --------------------------------------------------------- */

Test(jsonl, quotes_backslashes_newlines_and_control_bytes_round_trip_exactly)
{
	static const char comm[] = "a\"b\\c\nd\te\x01\x1b[2J";
	static const char args[] = "say \"hi\"\0line1\nline2\0back\\slash\0\x7f\x1f\r";
	static const char *const argv[] = { "say \"hi\"", "line1\nline2", "back\\slash",
					     "\x7f\x1f\r" };
	static const char binary[] = "/tmp/a \"b\"\\\n/</script>";
	static const char cg[] = "/weird\n\"cg\"\\\x02";
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(7, 1, comm, binary, args, sizeof(args));
	struct vigil_ctr c = fx_ctr(VIGIL_RT_HOST, "", "", VIGIL_QOS_NONE, cg);
	struct vigil_event_view v;
	struct json_object *o;

	cr_assert_eq(strlen(comm), 14, "precondition: comm fits in 15 bytes");
	fx_exec(&x, fx_task(7, 1, 1, "x"), "/x", FX_ARGS("x"), 0);
	v = fx_view(VIGIL_EV_EXEC, &x, &p, &c, NULL, NULL);
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "process.comm"), comm);
	cr_expect_str_eq(str_at(o, "process.binary"), binary);
	expect_args(o, "process.args", argv, 4);
	cr_expect_str_eq(str_at(o, "container.cgroup"), cg);
	json_object_put(o);
}

struct bytes_case {
	const char *in;
	const char *out;
};

static const struct bytes_case invalid[] = {
	{ "\xff", FFFD },
	{ "\xfe", FFFD },
	{ "\x80", FFFD },				/* lone continuation */
	{ "a\xe2\x82", "a" FFFD FFFD },			/* truncated at the end */
	{ "a\xe2\x82z", "a" FFFD FFFD "z" },		/* truncated mid-string */
	{ "\xf0\x9d\x84", FFFD FFFD FFFD },
	{ "\xc0\xaf", FFFD FFFD },			/* overlong '/' */
	{ "\xe0\x80\xaf", FFFD FFFD FFFD },		/* overlong '/', 3 bytes */
	{ "\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD },	/* overlong '/', 4 bytes */
	{ "\xc1\xbf", FFFD FFFD },			/* overlong DEL */
	{ "\xed\xa0\x80", FFFD FFFD FFFD },		/* high surrogate D800 */
	{ "\xed\xbf\xbf", FFFD FFFD FFFD },		/* low surrogate DFFF */
	{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD },	/* above U+10FFFF */
	{ "\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD },	/* 5-byte form */
	{ "ok\xffok", "ok" FFFD "ok" },
};

static const char *const valid[] = {
	"caf\xc3\xa9",			/* é */
	"\xe2\x82\xac",			/* € */
	"\xf0\x9d\x84\x9e",		/* U+1D11E */
	"\xe6\x97\xa5\xe6\x9c\xac",	/* 日本 */
	"\xc2\x80",			/* U+0080, the lowest 2-byte */
	"\xed\x9f\xbf",			/* U+D7FF, just below the surrogates */
	"\xee\x80\x80",			/* U+E000, just above them */
	"\xef\xbf\xbf",			/* U+FFFF */
	"\xf4\x8f\xbf\xbf",		/* U+10FFFF, the highest */
	FFFD,				/* a real U+FFFD stays one */
};

/* The binary field of an exec line for process binary bin, as parsed back. */
static char *binary_written(const char *bin)
{
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(7, 1, "x", bin, NULL, 0);
	struct vigil_event_view v;
	struct json_object *o;
	char *out;

	fx_exec(&x, fx_task(7, 1, 1, "x"), "/x", FX_ARGS("x"), 0);
	v = fx_view(VIGIL_EV_EXEC, &x, &p, NULL, NULL, NULL);
	o = emit(&v);
	out = strdup(str_at(o, "process.binary"));
	cr_assert_not_null(out);
	json_object_put(o);
	return out;
}

Test(jsonl, each_invalid_utf8_byte_becomes_one_replacement_character)
{
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		char *got = binary_written(invalid[i].in);

		cr_expect_str_eq(got, invalid[i].out, "case %zu", i);
		free(got);
	}
}

Test(jsonl, valid_multibyte_utf8_is_kept_byte_for_byte)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		char *got = binary_written(valid[i]);

		cr_expect_str_eq(got, valid[i], "case %zu", i);
		free(got);
	}
}

Test(jsonl, an_argument_cut_mid_sequence_by_args_len_is_repaired)
{
	static const char *const argv[] = { "abc" FFFD FFFD };
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(7, 1, "x", "/x", "abc\xe2\x82\xac", 5);
	struct vigil_event_view v;
	struct json_object *o;

	fx_exec(&x, fx_task(7, 1, 1, "x"), "/x", FX_ARGS("x"), 0);
	v = fx_view(VIGIL_EV_EXEC, &x, &p, NULL, NULL, NULL);
	o = emit(&v);
	expect_args(o, "process.args", argv, 1);
	json_object_put(o);
}

Test(jsonl, invalid_utf8_in_every_string_field_still_gives_a_valid_line)
{
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		char args[64];
		size_t in_len = strlen(invalid[i].in);
		struct vigil_exec_event x;
		struct vigil_proc p;
		struct vigil_ctr c = fx_ctr(VIGIL_RT_DOCKER, CID, "", VIGIL_QOS_NONE, invalid[i].in);
		struct vigil_event_view v;
		struct json_object *o;
		const char *argv[2];

		/* argv: the case, then "tail". */
		memcpy(args, invalid[i].in, in_len + 1);
		memcpy(args + in_len + 1, "tail", 5);
		p = fx_proc(7, 1, invalid[i].in, invalid[i].in, args, in_len + 6);
		fx_exec(&x, fx_task(7, 1, 1, "x"), "/x", FX_ARGS("x"), 0);
		v = fx_view(VIGIL_EV_EXEC, &x, &p, &c, NULL, NULL);
		o = emit(&v);
		cr_expect_str_eq(str_at(o, "process.comm"), invalid[i].out, "case %zu", i);
		cr_expect_str_eq(str_at(o, "process.binary"), invalid[i].out, "case %zu", i);
		cr_expect_str_eq(str_at(o, "container.cgroup"), invalid[i].out, "case %zu", i);
		argv[0] = invalid[i].out;
		argv[1] = "tail";
		expect_args(o, "process.args", argv, 2);
		json_object_put(o);
	}
}

Test(jsonl, valid_utf8_in_every_string_field_is_kept)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		struct vigil_exec_event x;
		struct vigil_proc p = fx_proc(7, 1, valid[i], valid[i], valid[i], strlen(valid[i]) + 1);
		struct vigil_ctr c = fx_ctr(VIGIL_RT_DOCKER, CID, "", VIGIL_QOS_NONE, valid[i]);
		struct vigil_event_view v;
		struct json_object *o;

		fx_exec(&x, fx_task(7, 1, 1, "x"), "/x", FX_ARGS("x"), 0);
		v = fx_view(VIGIL_EV_EXEC, &x, &p, &c, NULL, NULL);
		o = emit(&v);
		cr_expect_str_eq(str_at(o, "process.comm"), valid[i], "case %zu", i);
		cr_expect_str_eq(str_at(o, "process.binary"), valid[i], "case %zu", i);
		cr_expect_str_eq(str_at(o, "container.cgroup"), valid[i], "case %zu", i);
		expect_args(o, "process.args", &valid[i], 1);
		json_object_put(o);
	}
}

Test(jsonl, args_without_a_final_nul_still_give_the_last_argument)
{
	static const char *const argv[] = { "ls", "-l" };
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(7, 1, "ls", "/bin/ls", "ls\0-lXXXX", 5);	/* "ls\0-l" */
	struct vigil_event_view v;
	struct json_object *o;

	fx_exec(&x, fx_task(7, 1, 1, "ls"), "/bin/ls", FX_ARGS("ls"), 0);
	v = fx_view(VIGIL_EV_EXEC, &x, &p, NULL, NULL, NULL);
	o = emit(&v);
	expect_args(o, "process.args", argv, 2);
	json_object_put(o);
}

/* ---- time ------------------------------------------------------------------ */

static void expect_time(uint64_t ns, const char *want)
{
	char *buf = malloc(40);	/* the documented size, exact, so ASan sees overruns */

	cr_assert_not_null(buf);
	cr_expect_eq(format_rfc3339_ns(ns, buf, 40), buf);
	cr_expect_str_eq(buf, want, "%llu ns", (unsigned long long)ns);
	free(buf);
}

Test(jsonl, rfc3339_times_have_nine_fractional_digits_and_a_z)
{
	expect_time(0, "1970-01-01T00:00:00.000000000Z");
	expect_time(1, "1970-01-01T00:00:00.000000001Z");
	expect_time(999999999, "1970-01-01T00:00:00.999999999Z");
	expect_time(1000000000, "1970-01-01T00:00:01.000000000Z");
	expect_time(951782400000000000ull, "2000-02-29T00:00:00.000000000Z");
	expect_time(1700000000123456789ull, VIEW_TIME);
	expect_time(UINT64_MAX, "2554-07-21T23:34:33.709551615Z");
}

Test(jsonl, rfc3339_times_are_utc_whatever_the_local_time_zone)
{
	setenv("TZ", "America/New_York", 1);
	tzset();
	expect_time(0, "1970-01-01T00:00:00.000000000Z");
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	expect_time(1700000000123456789ull, VIEW_TIME);
}

Test(jsonl, lines_in_different_seconds_each_get_their_own_time)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} t[] = {
		{ 1700000000123456789ull, VIEW_TIME },
		{ 1700000000999999999ull, "2023-11-14T22:13:20.999999999Z" },
		{ 1700000001000000000ull, "2023-11-14T22:13:21.000000000Z" },
		{ 0, "1970-01-01T00:00:00.000000000Z" },
		{ 1700000000000000001ull, "2023-11-14T22:13:20.000000001Z" },
		{ 86400000000000ull, "1970-01-02T00:00:00.000000000Z" },
	};
	enum { N = sizeof(t) / sizeof(t[0]) };
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "a", NULL, NULL, 0);
	struct json_object *o[N + 1];
	struct capture c;

	fx_exit(&x, fx_task(7, 1, 1, "a"), 0, 0);
	cap_open(&c, "n");
	for (size_t i = 0; i < N; i++) {
		struct vigil_event_view v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);

		v.time_ns = t[i].ns;
		cr_assert_eq(jsonl_write_event(&c.j, &v), 0);
	}
	cap_close(&c);
	cr_assert_eq(parse_lines(&c, o, N + 1), N);
	for (size_t i = 0; i < N; i++) {
		cr_expect_str_eq(str_at(o[i], "time"), t[i].want, "line %zu", i);
		json_object_put(o[i]);
	}
	free(c.buf);
}

/* ---- losses ---------------------------------------------------------------- */

Test(jsonl, a_lost_line_has_each_types_count_and_their_total)
{
	uint64_t lost[VIGIL_EV__MAX] = { 0 };
	struct json_object *o;
	struct capture c;

	lost[VIGIL_EV_FORK] = 1;
	lost[VIGIL_EV_EXEC] = 20;
	lost[VIGIL_EV_EXIT] = 300;
	lost[VIGIL_EV_SIGNAL_GENERATE] = 4000;
	lost[VIGIL_EV_SIGNAL_DELIVER] = 50000;
	cap_open(&c, "node-1");
	cr_assert_eq(jsonl_write_lost(&c.j, 1700000000123456789ull, lost), 0);
	cap_close(&c);
	cr_assert_eq(parse_lines(&c, &o, 1), 1);
	cr_expect_str_eq(str_at(o, "type"), "events_lost");
	cr_expect_str_eq(str_at(o, "time"), VIEW_TIME);
	cr_expect_str_eq(str_at(o, "node"), "node-1");
	cr_expect_eq(int_at(o, "lost.fork"), 1);
	cr_expect_eq(int_at(o, "lost.exec"), 20);
	cr_expect_eq(int_at(o, "lost.exit"), 300);
	cr_expect_eq(int_at(o, "lost.signal"), 4000);
	cr_expect_eq(int_at(o, "lost.signal_deliver"), 50000);
	cr_expect_eq(int_at(o, "lost.total"), 54321);
	json_object_put(o);
	free(c.buf);
}

Test(jsonl, a_lost_line_with_nothing_lost_reports_zeros)
{
	uint64_t lost[VIGIL_EV__MAX] = { 0 };
	struct json_object *o;
	struct capture c;

	cap_open(&c, "n");
	cr_assert_eq(jsonl_write_lost(&c.j, 0, lost), 0);
	cap_close(&c);
	cr_assert_eq(parse_lines(&c, &o, 1), 1);
	cr_expect_eq(int_at(o, "lost.total"), 0);
	cr_expect_eq(int_at(o, "lost.exec"), 0);
	cr_expect_str_eq(str_at(o, "time"), "1970-01-01T00:00:00.000000000Z");
	json_object_put(o);
	free(c.buf);
}

/* ---- OOM ------------------------------------------------------------------- */

static bool is_null_at(struct json_object *o, const char *path)
{
	return at(o, path) == NULL;
}

Test(jsonl, a_kernel_oom_kill_has_the_victim_as_process_and_an_oom_object)
{
	struct vigil_oom_event ev;
	struct vigil_oom_info info = { .source = "kernel", .scope = "memcg", .memcg_path = "/hogs" };
	struct vigil_proc victim = fx_proc(100, 1, "memhog", "/memhog", FX_ARGS("memhog\0" "200"));
	struct vigil_proc trig = fx_proc(101, 1, "sh", "/bin/sh", NULL, 0);
	struct vigil_event_view v;
	struct json_object *o;

	fx_oom(&ev, fx_task(100, 1, 1, "memhog"), fx_task(101, 1, 1, "sh"), 0);
	v = fx_view(VIGIL_EV_OOM_KILL, &ev, &victim, NULL, &trig, NULL);
	v.oom = &info;
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "type"), "oom_kill");
	cr_expect_eq(int_at(o, "process.pid"), 100);
	cr_expect_str_eq(str_at(o, "process.binary"), "/memhog");
	cr_expect_str_eq(str_at(o, "oom.source"), "kernel");
	cr_expect_str_eq(str_at(o, "oom.scope"), "memcg");
	cr_expect_str_eq(str_at(o, "oom.memcg.path"), "/hogs");
	cr_expect_eq(int_at(o, "oom.memcg.id"), 777);
	cr_expect_eq(int_at(o, "oom.memcg.usage"), 32 << 20);
	cr_expect_eq(int_at(o, "oom.memcg.limit"), 32 << 20);
	cr_expect_eq(int_at(o, "oom.victim.rss_anon"), 30 << 20);
	cr_expect_eq(int_at(o, "oom.victim.rss_file"), 1 << 20);
	cr_expect_eq(int_at(o, "oom.victim.rss_shmem"), 4096);
	cr_expect_eq(int_at(o, "oom.victim.swap"), 8192);
	cr_expect_eq(int_at(o, "oom.victim.total_vm"), 40 << 20);
	cr_expect_eq(int_at(o, "oom.victim.oom_score_adj"), 500);
	cr_expect_eq(int_at(o, "oom.victim.memcg_id"), 777);
	cr_expect_eq(int_at(o, "oom.trigger.pid"), 101);
	cr_expect_str_eq(str_at(o, "oom.trigger.comm"), "sh");
	cr_expect_not(bool_at(o, "oom.global"));
	cr_expect_not(bool_at(o, "oom.memcg_exact"));
	cr_expect_not(bool_at(o, "oom.from_kprobe"));
	cr_expect_not(bool_at(o, "oom.victim_pid_only"));
	cr_expect_not(bool_at(o, "oom.no_mm"));
	cr_expect_not(has(at(o, "oom"), "points"), "points without the kprobe");
	cr_expect_not(has(at(o, "oom"), "policy"), "vigil's fields on a kernel kill");
	json_object_put(o);
}

Test(jsonl, a_kprobe_oom_kill_has_points_and_a_global_one_a_null_limit)
{
	struct vigil_oom_event ev;
	struct vigil_oom_info info = { .source = "kernel", .scope = "global", .memcg_path = "" };
	struct vigil_proc victim = fx_proc(100, 1, "memhog", "/memhog", NULL, 0);
	struct vigil_event_view v;
	struct json_object *o;

	fx_oom(&ev, fx_task(100, 1, 1, "memhog"), fx_task(100, 1, 1, "memhog"),
	       VIGIL_OOM_GLOBAL | VIGIL_OOM_MEMCG_EXACT | VIGIL_OOM_FROM_KPROBE);
	v = fx_view(VIGIL_EV_OOM_KILL, &ev, &victim, NULL, &victim, NULL);
	v.oom = &info;
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "oom.scope"), "global");
	cr_expect_str_eq(str_at(o, "oom.memcg.path"), "");
	cr_expect(is_null_at(o, "oom.memcg.limit"));
	cr_expect(bool_at(o, "oom.global"));
	cr_expect(bool_at(o, "oom.memcg_exact"));
	cr_expect(bool_at(o, "oom.from_kprobe"));
	cr_expect_eq(int_at(o, "oom.points"), 7700);
	cr_expect_eq(int_at(o, "oom.totalpages"), 8192);
	json_object_put(o);

	/* Unknown path (the cgroup was gone): null, not "". */
	info.scope = "memcg";
	info.memcg_path = NULL;
	ev.flags = 0;
	o = emit(&v);
	cr_expect(is_null_at(o, "oom.memcg.path"));
	json_object_put(o);
}

Test(jsonl, vigils_oom_kill_has_the_policy_fields_and_no_trigger)
{
	struct vigil_oom_event ev;
	struct vigil_oom_info info = {
		.source = "vigil", .scope = "cgroup", .memcg_path = "/hogs", .policy = "batch",
		.detector = "usage", .detail = "usage >= 90% of limit for 2s", .value = 93.5,
		.threshold = 90, .strategy = "largest_rss", .growth_bytes_per_s = NAN,
		.killed = 3, .hook = "timeout", .latency_ns = 2500000,
	};
	struct vigil_proc victim = fx_proc(100, 1, "memhog", "/memhog", NULL, 0);
	struct vigil_task none;
	struct vigil_event_view v;
	struct json_object *o;

	memset(&none, 0, sizeof(none));
	fx_oom(&ev, fx_task(100, 1, 1, "memhog"), none, VIGIL_OOM_BY_VIGIL);
	v = fx_view(VIGIL_EV_OOM_KILL, &ev, &victim, NULL, NULL, NULL);
	v.oom = &info;
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "oom.source"), "vigil");
	cr_expect_str_eq(str_at(o, "oom.scope"), "cgroup");
	cr_expect_not(has(at(o, "oom"), "trigger"));
	cr_expect_str_eq(str_at(o, "oom.policy"), "batch");
	cr_expect_str_eq(str_at(o, "oom.detector"), "usage");
	cr_expect_str_eq(str_at(o, "oom.detail"), "usage >= 90% of limit for 2s");
	cr_expect_float_eq(json_object_get_double(at(o, "oom.value")), 93.5, 1e-9);
	cr_expect_float_eq(json_object_get_double(at(o, "oom.threshold")), 90, 1e-9);
	cr_expect_str_eq(str_at(o, "oom.strategy"), "largest_rss");
	cr_expect(is_null_at(o, "oom.growth_bytes_per_s"), "NaN must be null");
	cr_expect_not(bool_at(o, "oom.dry_run"));
	cr_expect_eq(int_at(o, "oom.killed"), 3);
	cr_expect_str_eq(str_at(o, "oom.hook"), "timeout");
	cr_expect(is_null_at(o, "oom.hook_status"), "a hook that timed out has no status");
	cr_expect_float_eq(json_object_get_double(at(o, "oom.latency_ms")), 2.5, 1e-9);
	json_object_put(o);

	v.type = VIGIL_EV_OOM_PRE_KILL;
	info.hook = "failed";
	info.hook_status = 3;
	o = emit(&v);
	cr_expect_str_eq(str_at(o, "type"), "oom_pre_kill");
	cr_expect_eq(int_at(o, "oom.hook_status"), 3);
	json_object_put(o);
}

Test(jsonl, a_lost_line_counts_oom_kills_but_not_pre_kills)
{
	uint64_t lost[VIGIL_EV__MAX] = { 0 };
	struct json_object *o;
	struct capture c;

	lost[VIGIL_EV_OOM_KILL] = 2;
	cap_open(&c, "n");
	cr_assert_eq(jsonl_write_lost(&c.j, 0, lost), 0);
	cap_close(&c);
	cr_assert_eq(parse_lines(&c, &o, 1), 1);
	cr_expect_eq(int_at(o, "lost.oom_kill"), 2);
	cr_expect_eq(int_at(o, "lost.total"), 2);
	cr_expect_not(has(at(o, "lost"), "oom_pre_kill"));
	json_object_put(o);
	free(c.buf);
}
