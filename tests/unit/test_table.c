/*
 * test_table.c - the human columns of `vigil trace`.  Rows are cut at the
 * header's column offsets, so a misaligned row fails the same checks as a
 * wrong value.  TZ is pinned to UTC because the time column is local time.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixtures.h"
#include "table.h"

#define CID "97c3a7b1b1526c2c23f3f2f38251e57daf8c7f5041a869b5fa2ae2c9ac89736f"
#define POD "17e6e95c-d075-470c-998c-7ec555c01cac"

static void utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

TestSuite(table, .init = utc);

enum col { C_TIME, C_EVENT, C_PID, C_PPID, C_UID, C_COMM, C_CTR, C_DETAIL, C__N };

static const char *const col_names[C__N] = {
	"TIME", "EVENT", "PID", "PPID", "UID", "COMM", "CONTAINER", "DETAIL",
};

static char *header(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	table_header(f);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

/* Offsets of the columns in the header. */
static void offsets(size_t off[C__N])
{
	char *h = header();

	for (int c = 0; c < C__N; c++) {
		char *p = strstr(h, col_names[c]);

		cr_assert_not_null(p, "header lacks %s: %s", col_names[c], h);
		off[c] = p - h;
		cr_assert(c == 0 || off[c] > off[c - 1], "%s out of order", col_names[c]);
	}
	free(h);
}

struct row {
	char *line;			/* without the '\n' */
	char col[C__N][600];		/* trimmed */
};

/* Write one event; it must be one line, every byte printable. */
static void row_of(const struct vigil_event_view *v, struct row *r)
{
	size_t off[C__N], len = 0;
	FILE *f;

	offsets(off);
	memset(r, 0, sizeof(*r));
	f = open_memstream(&r->line, &len);
	cr_assert_not_null(f);
	table_write_event(f, v);
	cr_assert_eq(fclose(f), 0);
	cr_assert_gt(len, 0);
	cr_assert_eq(r->line[len - 1], '\n', "the row is not terminated");
	r->line[--len] = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = r->line[i];

		cr_assert(ch >= 0x20 && ch != 0x7f, "raw control byte 0x%02x at %zu in: %s", ch, i,
			  r->line);
	}
	cr_assert_gt(len, off[C_DETAIL], "the row stops before DETAIL: %s", r->line);
	for (int c = 0; c < C__N; c++) {
		size_t a = off[c], b = c + 1 < C__N ? off[c + 1] : len, n;

		cr_assert(a == 0 || r->line[a - 1] == ' ', "no space before %s at %zu: %s",
			  col_names[c], a, r->line);
		while (b > a && r->line[b - 1] == ' ')
			b--;
		n = b - a;
		cr_assert_lt(n, sizeof(r->col[c]));
		memcpy(r->col[c], r->line + a, n);
		r->col[c][n] = 0;
	}
}

static void row_free(struct row *r)
{
	free(r->line);
}

/* ---- header ------------------------------------------------------------------ */

Test(table, the_header_names_every_column_on_one_line)
{
	char *h = header();

	cr_expect_eq(strchr(h, '\n'), h + strlen(h) - 1, "header is not exactly one line");
	for (int c = 0; c < C__N; c++)
		cr_expect_not_null(strstr(h, col_names[c]), "%s", col_names[c]);
	free(h);
}

Test(table, the_fixed_columns_of_the_header_fit_in_80_characters)
{
	size_t off[C__N];

	offsets(off);
	cr_expect_lt(off[C_DETAIL] + strlen("DETAIL"), 80, "DETAIL starts at %zu", off[C_DETAIL]);
}

/* ---- rows -------------------------------------------------------------------- */

Test(table, an_exec_row_shows_ids_comm_container_binary_and_args)
{
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(4242, 1, "ls", "/usr/bin/ls", FX_ARGS("ls\0-l\0/tmp"));
	struct vigil_ctr c = fx_ctr(VIGIL_RT_DOCKER, CID, "", VIGIL_QOS_NONE, "/docker/" CID);
	struct vigil_event_view v;
	struct row r;

	fx_exec(&x, fx_task(4242, 1, 1, "ls"), "/usr/bin/ls", FX_ARGS("ls\0-l\0/tmp"), 0);
	v = fx_view(VIGIL_EV_EXEC, &x, &p, &c, NULL, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_TIME], "22:13:20");
	cr_expect_str_eq(r.col[C_EVENT], "exec");
	cr_expect_str_eq(r.col[C_PID], "4242");
	cr_expect_str_eq(r.col[C_PPID], "1");
	cr_expect_str_eq(r.col[C_UID], "1000");
	cr_expect_str_eq(r.col[C_COMM], "ls");
	cr_expect_str_eq(r.col[C_CTR], "97c3a7b1b152", "the id shortened to 12");
	cr_expect_str_eq(r.col[C_DETAIL], "/usr/bin/ls [ls -l /tmp]");
	row_free(&r);
}

Test(table, an_exec_row_marks_truncated_args_and_falls_back_to_the_binary)
{
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(7, 1, "sh", "/bin/sh", FX_ARGS("sh\0-c"));
	struct vigil_proc bare = fx_proc(7, 1, "sh", "/bin/sh", NULL, 0);
	struct vigil_event_view v;
	struct row r;

	p.args_truncated = true;
	fx_exec(&x, fx_task(7, 1, 1, "sh"), "/bin/sh", FX_ARGS("sh\0-c"), VIGIL_EXEC_ARGS_TRUNCATED);
	v = fx_view(VIGIL_EV_EXEC, &x, &p, NULL, NULL, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_DETAIL], "/bin/sh [sh -c ...]");
	row_free(&r);

	v = fx_view(VIGIL_EV_EXEC, &x, &bare, NULL, NULL, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_DETAIL], "/bin/sh [/bin/sh]");
	row_free(&r);
}

Test(table, an_exit_row_shows_the_code_and_the_lifetime)
{
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "app", "/app", NULL, 0);
	struct vigil_event_view v;
	struct row r;

	fx_exit(&x, fx_task(7, 1, 1, "app"), 3, 0);
	v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_EVENT], "exit");
	cr_expect_str_eq(r.col[C_DETAIL], "code=3 after 1.500s");
	row_free(&r);
}

Test(table, an_exit_row_by_signal_names_the_signal_and_the_core_dump)
{
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "app", "/app", NULL, 0);
	struct vigil_event_view v;
	struct row r;

	fx_exit(&x, fx_task(7, 1, 1, "app"), 0, SIGSEGV);
	x.core_dumped = 1;
	v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_DETAIL], "killed by SIGSEGV (core dumped) after 1.500s");
	row_free(&r);
}

Test(table, a_fork_row_names_the_child)
{
	struct vigil_fork_event f;
	struct vigil_proc parent = fx_proc(100, 1, "sh", "/bin/sh", NULL, 0);
	struct vigil_proc child = fx_proc(101, 100, "sh", "/bin/sh", NULL, 0);
	struct vigil_event_view v;
	struct row r;

	fx_fork(&f, fx_task(100, 1, 1, "sh"), fx_task(101, 100, 1, "sh"));
	v = fx_view(VIGIL_EV_FORK, &f, &parent, NULL, &child, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_EVENT], "fork");
	cr_expect_str_eq(r.col[C_PID], "100");
	cr_expect_str_eq(r.col[C_DETAIL], "child=101");
	row_free(&r);
}

Test(table, a_signal_row_shows_the_signal_the_target_and_the_result)
{
	struct vigil_signal_event s;
	struct vigil_proc sender = fx_proc(300, 1, "kill", "/bin/kill", NULL, 0);
	struct vigil_proc target = fx_proc(100, 1, "app", "/app", NULL, 0);
	struct vigil_ctr host = fx_ctr(VIGIL_RT_HOST, "", "", VIGIL_QOS_NONE, "/user.slice");
	struct vigil_ctr pod = fx_ctr(VIGIL_RT_KUBEPODS, "", POD, VIGIL_QOS_BURSTABLE, "/kubepods");
	struct vigil_event_view v;
	struct row r;

	fx_signal(&s, VIGIL_EV_SIGNAL_GENERATE, fx_task(300, 1, 1, "kill"),
		  fx_task(100, 1, 1, "app"), SIGTERM);
	s.result = VIGIL_SIG_ALREADY_PENDING;
	v = fx_view(VIGIL_EV_SIGNAL_GENERATE, &s, &sender, &host, &target, &pod);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_EVENT], "signal");
	cr_expect_str_eq(r.col[C_PID], "300");
	cr_expect_str_eq(r.col[C_CTR], "host");
	cr_expect_str_eq(r.col[C_DETAIL], "SIGTERM -> 100 (app, pod:17e6e95c) already_pending");
	row_free(&r);
}

Test(table, a_signal_deliver_row_shows_the_signal_and_the_handler)
{
	struct vigil_signal_event s;
	struct vigil_proc target = fx_proc(100, 1, "app", "/app", NULL, 0);
	struct vigil_event_view v;
	struct row r;

	fx_signal(&s, VIGIL_EV_SIGNAL_DELIVER, fx_task(0, 0, 0, ""), fx_task(100, 1, 1, "app"),
		  SIGUSR1);
	s.handler = VIGIL_SIG_HANDLER_USER;
	v = fx_view(VIGIL_EV_SIGNAL_DELIVER, &s, &target, NULL, NULL, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_EVENT], "deliver", "a delivery row must not read like a generate row");
	cr_expect_str_eq(r.col[C_PID], "100");
	cr_expect_str_eq(r.col[C_DETAIL], "SIGUSR1 handler=user");
	row_free(&r);
}

Test(table, unattributed_host_and_pod_level_containers_get_short_labels)
{
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "app", "/app", NULL, 0);
	struct vigil_ctr unknown = fx_ctr(VIGIL_RT_UNKNOWN, "", "", VIGIL_QOS_NONE, "");
	struct vigil_ctr host = fx_ctr(VIGIL_RT_HOST, "", "", VIGIL_QOS_NONE, "/");
	struct vigil_ctr pod = fx_ctr(VIGIL_RT_KUBEPODS, "", POD, VIGIL_QOS_BESTEFFORT, "/kubepods");
	const struct vigil_ctr *ctrs[] = { &unknown, NULL, &host, &pod };
	static const char *const want[] = { "?", "?", "host", "pod:17e6e95c" };
	struct vigil_event_view v;
	struct row r;

	unknown.resolved = false;
	fx_exit(&x, fx_task(7, 1, 1, "app"), 0, 0);
	for (size_t i = 0; i < 4; i++) {
		v = fx_view(VIGIL_EV_EXIT, &x, &p, ctrs[i], NULL, NULL);
		row_of(&v, &r);
		cr_expect_str_eq(r.col[C_CTR], want[i], "case %zu", i);
		row_free(&r);
	}
}

Test(table, a_full_15_byte_comm_keeps_the_columns_aligned)
{
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(4194304, 4194303, "abcdefghijklmno", "/x", NULL, 0);
	struct vigil_event_view v;
	struct row r;

	p.uid = 65534;
	fx_exit(&x, fx_task(7, 1, 1, "x"), 0, 0);
	v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_PID], "4194304");
	cr_expect_str_eq(r.col[C_PPID], "4194303");
	cr_expect_str_eq(r.col[C_UID], "65534");
	cr_expect_str_eq(r.col[C_COMM], "abcdefghijklmno");
	cr_expect_str_eq(r.col[C_CTR], "?");
	cr_expect_str_eq(r.col[C_DETAIL], "code=0 after 1.500s");
	row_free(&r);
}

/* ---- hostile bytes ----------------------------------------------------------- */

Test(table, control_bytes_in_comm_args_and_binary_are_replaced)
{
	static const char comm[] = "a\nb\x1b[2J\t\r\x7f";
	static const char args[] = "x\ny\0\x1b]0;pwned\x07\0ok";
	struct vigil_exec_event x;
	struct vigil_proc p = fx_proc(7, 1, comm, "/bin/x", args, sizeof(args));
	struct vigil_event_view v;
	struct row r;

	fx_exec(&x, fx_task(7, 1, 1, "x"), "/tmp/\x1b[31mred\n", FX_ARGS("x"), 0);
	v = fx_view(VIGIL_EV_EXEC, &x, &p, NULL, NULL, NULL);
	row_of(&v, &r);	/* asserts: one line, no control byte anywhere */
	cr_expect_str_eq(r.col[C_COMM], "a?b?[2J???");
	cr_expect_str_eq(r.col[C_DETAIL], "/tmp/?[31mred? [x?y ?]0;pwned? ok]");
	row_free(&r);
}

Test(table, control_bytes_in_a_signal_targets_comm_are_replaced)
{
	struct vigil_signal_event s;
	struct vigil_proc sender = fx_proc(300, 1, "kill", "/bin/kill", NULL, 0);
	struct vigil_proc target = fx_proc(100, 1, "ev\x1bil\n", "/app", NULL, 0);
	struct vigil_event_view v;
	struct row r;

	fx_signal(&s, VIGIL_EV_SIGNAL_GENERATE, fx_task(300, 1, 1, "kill"),
		  fx_task(100, 1, 1, "x"), SIGKILL);
	v = fx_view(VIGIL_EV_SIGNAL_GENERATE, &s, &sender, NULL, &target, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_DETAIL], "SIGKILL -> 100 (ev?il?, ?) delivered");
	row_free(&r);
}

Test(table, c1_controls_and_invalid_utf8_are_replaced_too)
{
	/* U+009B (CSI as UTF-8), a raw 0x9b, and a lone continuation byte. */
	static const char comm[] = "a\xc2\x9b" "2Jb\x9b" "c\x80";
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, comm, "/x", NULL, 0);
	struct vigil_event_view v;
	struct row r;

	fx_exit(&x, fx_task(7, 1, 1, "x"), 0, 0);
	v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_COMM], "a?2Jb?c?");
	row_free(&r);
}

Test(table, utf8_names_pass_through_unchanged)
{
	struct vigil_exit_event x;
	struct vigil_proc p = fx_proc(7, 1, "caf\xc3\xa9", "/x", NULL, 0);
	struct vigil_event_view v;
	struct row r;

	fx_exit(&x, fx_task(7, 1, 1, "x"), 0, 0);
	v = fx_view(VIGIL_EV_EXIT, &x, &p, NULL, NULL, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_COMM], "caf\xc3\xa9");
	row_free(&r);
}

/* ---- OOM ----------------------------------------------------------------------- */

Test(table, a_kernel_oom_kill_row_shows_the_memcg_its_usage_the_rss_and_the_trigger)
{
	struct vigil_oom_event o;
	struct vigil_oom_info info = { .source = "kernel", .scope = "memcg", .memcg_path = "/hogs" };
	struct vigil_proc victim = fx_proc(100, 1, "memhog", "/memhog", NULL, 0);
	struct vigil_event_view v;
	struct row r;

	fx_oom(&o, fx_task(100, 1, 1, "memhog"), fx_task(100, 1, 1, "memhog"), 0);
	v = fx_view(VIGIL_EV_OOM_KILL, &o, &victim, NULL, &victim, NULL);
	v.oom = &info;
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_EVENT], "oomkill");
	cr_expect_str_eq(r.col[C_PID], "100");
	cr_expect_str_eq(r.col[C_DETAIL],
			 "by kernel, memcg /hogs 32.0M/32.0M, rss 31.0M, trigger 100 (memhog)");
	row_free(&r);
}

Test(table, a_global_oom_and_a_vigil_dry_run_read_as_such)
{
	struct vigil_oom_event o;
	struct vigil_oom_info info = { .source = "vigil", .scope = "process", .memcg_path = "/hogs",
				       .policy = "batch", .dry_run = true };
	struct vigil_proc victim = fx_proc(100, 1, "memhog", "/memhog", NULL, 0);
	struct vigil_task none;
	struct vigil_event_view v;
	struct row r;

	fx_oom(&o, fx_task(100, 1, 1, "memhog"), fx_task(7, 1, 1, "x"), VIGIL_OOM_GLOBAL);
	v = fx_view(VIGIL_EV_OOM_KILL, &o, &victim, NULL, NULL, NULL);
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_DETAIL], "by kernel, global, rss 31.0M, trigger 7 (x)");
	row_free(&r);

	memset(&none, 0, sizeof(none));
	fx_oom(&o, fx_task(100, 1, 1, "memhog"), none, VIGIL_OOM_BY_VIGIL);
	v = fx_view(VIGIL_EV_OOM_PRE_KILL, &o, &victim, NULL, NULL, NULL);
	v.oom = &info;
	row_of(&v, &r);
	cr_expect_str_eq(r.col[C_EVENT], "prekill");
	cr_expect_str_eq(r.col[C_DETAIL],
			 "by vigil policy=batch, memcg /hogs 32.0M/32.0M, rss 31.0M, dry run");
	row_free(&r);
}
