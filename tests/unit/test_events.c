/*
 * test_events.c - decoding and enrichment of raw ring-buffer records
 * (agent/events.c over the process table of agent/proc.c), the trace
 * filter, and the name tables.
 *
 * Records are built by hand from bpf/trace.h.  The container cache gets an
 * empty mount, so every cgroup id resolves to the cache's "unknown" entry
 * without touching this machine's cgroupfs; filter tests that need real
 * attribution build their views by hand.  Records handed to enrich_event()
 * are copied into heap buffers of exactly the stated length, so ASan
 * catches any read past the end.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "fixtures.h"
#include "trust.h"

static struct vigil_enricher e;

static void setup(void)
{
	cr_assert_eq(enricher_init(&e, ""), 0);
}

static void teardown(void)
{
	enricher_free(&e);
}

TestSuite(enrich, .init = setup, .fini = teardown);

/* Feed len bytes of rec from an exact-size heap copy; the copy is kept
 * alive (v->raw points at it) until the test frees it. */
static int feed(const void *rec, size_t len, struct vigil_event_view *v, void **keep)
{
	void *buf = malloc(len ? len : 1);
	int err;

	cr_assert_not_null(buf);
	memcpy(buf, rec, len);
	err = enrich_event(&e, buf, len, v);
	if (keep)
		*keep = buf;
	else
		free(buf);
	return err;
}

/* Feed a whole record and insist it is accepted. */
#define FEED_OK(rec, v) cr_assert_eq(feed(&(rec), sizeof(rec), (v), NULL), 0, "enrich_event failed")

static void exec_ls(uint32_t pid, uint64_t start_ns)
{
	struct vigil_exec_event x;
	struct vigil_event_view v;

	fx_exec(&x, fx_task(pid, 1, start_ns, "ls"), "/usr/bin/ls",
		FX_ARGS("ls\0-l\0/tmp"), 0);
	FEED_OK(x, &v);
}

/* Bring a process into the table without giving it an image. */
/*
 * Put pid in the table without touching its image (signal events never
 * insert): a fork event whose two ends are the same task upserts exactly
 * that one entry.
 */
static void touch(uint32_t pid, uint64_t start_ns, const char *comm)
{
	struct vigil_fork_event f;
	struct vigil_event_view v;

	fx_fork(&f, fx_task(pid, 1, start_ns, comm), fx_task(pid, 1, start_ns, comm));
	FEED_OK(f, &v);
}

/* ---- exec ------------------------------------------------------------------ */

Test(enrich, exec_sets_the_binary_and_nul_separated_args_on_the_process)
{
	static const char args[] = "ls\0-l\0/tmp";
	struct vigil_exec_event x;
	struct vigil_event_view v;
	const struct vigil_proc *p;
	void *raw;

	fx_exec(&x, fx_task(100, 1, 5, "ls"), "/usr/bin/ls", FX_ARGS("ls\0-l\0/tmp"), 0);
	cr_assert_eq(feed(&x, sizeof(x), &v, &raw), 0);
	cr_expect_eq(v.type, VIGIL_EV_EXEC);
	cr_expect_eq(v.raw, raw, "the view must point at the record it decoded");
	cr_expect_eq(v.time_ns, FX_TS + e.mono_to_real_ns, "monotonic stamp not moved to realtime");
	p = v.subject.proc;
	cr_assert_not_null(p);
	cr_expect_eq(p, proc_lookup(&e.procs, 100), "the view must show the table's entry");
	cr_expect_eq(p->pid, 100);
	cr_expect_eq(p->ppid, 1);
	cr_expect_eq(p->uid, FX_UID);
	cr_expect_eq(p->start_ns, 5);
	cr_expect_str_eq(p->comm, "ls");
	cr_assert_not_null(p->binary);
	cr_expect_str_eq(p->binary, "/usr/bin/ls");
	cr_expect_eq(p->args_len, sizeof(args));
	cr_assert_not_null(p->args);
	cr_expect_arr_eq(p->args, args, sizeof(args));
	cr_expect_not(p->args_truncated);
	free(raw);
}

Test(enrich, exec_records_the_args_truncated_flag)
{
	struct vigil_exec_event x;
	struct vigil_event_view v;

	fx_exec(&x, fx_task(100, 1, 5, "sh"), "/bin/sh", FX_ARGS("sh\0-c"),
		VIGIL_EXEC_ARGS_TRUNCATED);
	FEED_OK(x, &v);
	cr_expect(v.subject.proc->args_truncated);
}

Test(enrich, exec_replaces_the_previous_image_of_the_same_process)
{
	struct vigil_exec_event x;
	struct vigil_event_view v;
	const struct vigil_proc *p;

	exec_ls(100, 5);
	fx_exec(&x, fx_task(100, 1, 5, "true"), "/bin/true", "", 0, 0);
	FEED_OK(x, &v);
	p = proc_lookup(&e.procs, 100);
	cr_assert_not_null(p);
	cr_expect_str_eq(p->binary, "/bin/true");
	cr_expect_null(p->args, "an exec without argv bytes must not keep the old args");
	cr_expect_eq(p->args_len, 0);
	cr_expect_str_eq(p->comm, "true");
}

Test(enrich, exec_clamps_path_and_args_lengths_that_overrun_their_buffers)
{
	struct vigil_exec_event x;
	struct vigil_event_view v;
	const struct vigil_proc *p;

	fx_exec(&x, fx_task(100, 1, 5, "x"), "", "", 0, 0);
	memset(x.path, 'a', sizeof(x.path));	/* no NUL at all */
	memset(x.args, 'b', sizeof(x.args));
	x.path_len = 100000;
	x.args_len = 100000;
	FEED_OK(x, &v);
	p = v.subject.proc;
	cr_assert_not_null(p->binary);
	cr_expect_eq(strlen(p->binary), VIGIL_PATH_LEN - 1);
	cr_expect_eq(p->args_len, VIGIL_ARGS_LEN);
}

Test(enrich, exec_subjects_get_the_unknown_container_when_the_cache_has_no_mount)
{
	struct vigil_exec_event x;
	struct vigil_event_view v;

	fx_exec(&x, fx_task(100, 1, 5, "ls"), "/usr/bin/ls", FX_ARGS("ls"), 0);
	FEED_OK(x, &v);
	cr_assert_not_null(v.subject.ctr);
	cr_expect_not(v.subject.ctr->resolved);
	cr_expect_eq(v.subject.ctr->info.runtime, VIGIL_RT_UNKNOWN);
	cr_expect_str_eq(v.subject.ctr->info.id, "");
	cr_expect_eq(v.subject.ctr->cgroup_id, FX_CGROUP_ID);
	cr_expect_null(v.other.proc, "exec has no other side");
}

Test(enrich, a_non_leader_exec_removes_the_old_tid_entry)
{
	struct vigil_exec_event x;
	struct vigil_event_view v;

	touch(100, 5, "app");
	touch(103, 7, "worker");
	cr_assert_not_null(proc_lookup(&e.procs, 103));
	fx_exec(&x, fx_task(100, 1, 5, "sh"), "/bin/sh", FX_ARGS("sh"), 0);
	x.old_pid = 103;
	FEED_OK(x, &v);
	cr_expect_null(proc_lookup(&e.procs, 103), "the exec'ing thread's old entry survived");
	cr_assert_not_null(proc_lookup(&e.procs, 100));
	cr_expect_str_eq(proc_lookup(&e.procs, 100)->binary, "/bin/sh");
	cr_expect_eq(v.subject.proc, proc_lookup(&e.procs, 100));
}

Test(enrich, a_leader_exec_removes_no_other_entry)
{
	struct vigil_exec_event x;
	struct vigil_event_view v;
	size_t before;

	touch(100, 5, "app");
	touch(101, 6, "other");
	before = e.procs.map.len;
	fx_exec(&x, fx_task(100, 1, 5, "sh"), "/bin/sh", FX_ARGS("sh"), 0);
	FEED_OK(x, &v);
	cr_expect_eq(e.procs.map.len, before);
	cr_expect_not_null(proc_lookup(&e.procs, 101));
}

/* ---- fork ------------------------------------------------------------------ */

Test(enrich, fork_copies_the_parents_image_to_the_child)
{
	static const char args[] = "ls\0-l\0/tmp";
	struct vigil_fork_event f;
	struct vigil_event_view v;
	const struct vigil_proc *parent, *child;

	exec_ls(100, 5);
	fx_fork(&f, fx_task(100, 1, 5, "ls"), fx_task(101, 100, 9, "ls"));
	FEED_OK(f, &v);
	parent = v.subject.proc;
	child = v.other.proc;
	cr_assert_not_null(parent);
	cr_assert_not_null(child);
	cr_expect_eq(parent->pid, 100);
	cr_expect_eq(child->pid, 101);
	cr_expect_eq(child->ppid, 100);
	cr_expect_eq(child, proc_lookup(&e.procs, 101));
	cr_expect_eq(parent, proc_lookup(&e.procs, 100));
	cr_assert_not_null(child->binary);
	cr_expect_str_eq(child->binary, "/usr/bin/ls");
	cr_expect_eq(child->args_len, sizeof(args));
	cr_assert_not_null(child->args);
	cr_expect_arr_eq(child->args, args, sizeof(args));
	cr_expect_neq(child->binary, parent->binary, "the child must own a copy, not share it");
	cr_expect_neq(child->args, parent->args, "the child must own a copy, not share it");
	cr_assert_not_null(v.other.ctr);
}

Test(enrich, a_childs_exec_after_fork_leaves_the_parents_image_alone)
{
	struct vigil_fork_event f;
	struct vigil_exec_event x;
	struct vigil_event_view v;

	exec_ls(100, 5);
	fx_fork(&f, fx_task(100, 1, 5, "ls"), fx_task(101, 100, 9, "ls"));
	FEED_OK(f, &v);
	fx_exec(&x, fx_task(101, 100, 9, "cat"), "/bin/cat", FX_ARGS("cat\0f"), 0);
	FEED_OK(x, &v);
	cr_expect_str_eq(proc_lookup(&e.procs, 101)->binary, "/bin/cat");
	cr_expect_str_eq(proc_lookup(&e.procs, 100)->binary, "/usr/bin/ls");
}

Test(enrich, fork_from_a_parent_without_an_image_gives_a_child_without_one)
{
	struct vigil_fork_event f;
	struct vigil_event_view v;

	fx_fork(&f, fx_task(200, 1, 5, "init"), fx_task(201, 200, 9, "init"));
	FEED_OK(f, &v);
	cr_assert_not_null(v.other.proc);
	cr_expect_null(v.other.proc->binary);
	cr_expect_null(v.other.proc->args);
}

Test(enrich, fork_views_stay_valid_when_the_childs_insert_grows_the_table)
{
	struct vigil_fork_event f;
	struct vigil_event_view v;
	size_t cap;
	uint32_t pid = 1000;

	exec_ls(100, 5);
	/* Fill the table until the next insert has to grow it. */
	cap = e.procs.map.cap;
	while ((e.procs.map.len + 1) * 2 <= cap)
		touch(pid++, 1, "filler");
	cr_assert_eq(e.procs.map.cap, cap, "precondition: the fillers must not grow the table");
	fx_fork(&f, fx_task(100, 1, 5, "ls"), fx_task(pid, 100, 9, "ls"));
	FEED_OK(f, &v);
	cr_expect_gt(e.procs.map.cap, cap, "precondition: the fork's child insert grew the table");
	cr_assert_not_null(v.subject.proc);
	cr_expect_eq(v.subject.proc->pid, 100);
	cr_expect_str_eq(v.subject.proc->binary, "/usr/bin/ls");
	cr_expect_str_eq(v.other.proc->binary, "/usr/bin/ls");
	for (uint32_t p = 1000; p < pid; p++)
		cr_assert_not_null(proc_lookup(&e.procs, p), "filler %u lost in growth", p);
}

Test(enrich, a_sigchld_from_an_exited_child_does_not_put_it_back_in_the_table)
{
	struct vigil_exit_event x;
	struct vigil_signal_event s;
	struct vigil_event_view v;
	size_t before;

	exec_ls(100, 5);
	touch(200, 7, "child");
	before = e.procs.map.len;
	fx_exit(&x, fx_task(200, 100, 7, "child"), 0, 0);
	FEED_OK(x, &v);
	enrich_done(&e, &v);
	/* The kernel sends SIGCHLD after the child's exit event. */
	fx_signal(&s, VIGIL_EV_SIGNAL_GENERATE, fx_task(200, 100, 7, "child"),
		  fx_task(100, 1, 5, "ls"), SIGCHLD);
	FEED_OK(s, &v);
	enrich_done(&e, &v);
	cr_expect_eq(v.subject.proc->pid, 200, "the view still names the sender");
	cr_expect_str_eq(v.subject.proc->comm, "child");
	cr_expect_null(proc_lookup(&e.procs, 200), "the exited sender was inserted again");
	cr_expect_eq(e.procs.map.len, before - 1);
}

/* ---- exit ------------------------------------------------------------------ */

Test(enrich, an_exit_view_has_the_process_and_enrich_done_forgets_it)
{
	struct vigil_exit_event x;
	struct vigil_event_view v;
	size_t before;

	exec_ls(100, 5);
	touch(101, 6, "other");
	before = e.procs.map.len;
	fx_exit(&x, fx_task(100, 1, 5, "ls"), 0, 0);
	FEED_OK(x, &v);
	cr_assert_not_null(v.subject.proc);
	cr_expect_eq(v.subject.proc->pid, 100);
	cr_expect_str_eq(v.subject.proc->binary, "/usr/bin/ls", "the sink must see the image");
	cr_expect_not_null(proc_lookup(&e.procs, 100), "removed before the sinks ran");
	enrich_done(&e, &v);
	cr_expect_null(proc_lookup(&e.procs, 100));
	cr_expect_eq(e.procs.map.len, before - 1);
	cr_expect_not_null(proc_lookup(&e.procs, 101), "another process was removed");
}

Test(enrich, an_exit_of_a_process_never_seen_is_reported_and_then_forgotten)
{
	struct vigil_exit_event x;
	struct vigil_event_view v;

	fx_exit(&x, fx_task(555, 1, 5, "ghost"), 1, 0);
	FEED_OK(x, &v);
	cr_assert_not_null(v.subject.proc);
	cr_expect_eq(v.subject.proc->pid, 555);
	cr_expect_str_eq(v.subject.proc->comm, "ghost");
	enrich_done(&e, &v);
	cr_expect_null(proc_lookup(&e.procs, 555));
	cr_expect_eq(e.procs.map.len, 0);
}

Test(enrich, enrich_done_keeps_processes_after_other_event_types)
{
	struct vigil_exec_event x;
	struct vigil_fork_event f;
	struct vigil_signal_event s;
	struct vigil_event_view v;

	fx_exec(&x, fx_task(100, 1, 5, "ls"), "/usr/bin/ls", FX_ARGS("ls"), 0);
	FEED_OK(x, &v);
	enrich_done(&e, &v);
	fx_fork(&f, fx_task(100, 1, 5, "ls"), fx_task(101, 100, 9, "ls"));
	FEED_OK(f, &v);
	enrich_done(&e, &v);
	fx_signal(&s, VIGIL_EV_SIGNAL_GENERATE, fx_task(100, 1, 5, "ls"),
		  fx_task(101, 100, 9, "ls"), SIGTERM);
	FEED_OK(s, &v);
	enrich_done(&e, &v);
	fx_signal(&s, VIGIL_EV_SIGNAL_DELIVER, fx_task(0, 0, 0, ""),
		  fx_task(101, 100, 9, "ls"), SIGTERM);
	FEED_OK(s, &v);
	enrich_done(&e, &v);
	cr_expect_not_null(proc_lookup(&e.procs, 100));
	cr_expect_not_null(proc_lookup(&e.procs, 101));
}

/* ---- pid reuse ------------------------------------------------------------- */

Test(enrich, a_reused_pid_with_a_different_start_time_drops_the_old_image)
{
	const struct vigil_proc *p;

	exec_ls(100, 5);
	touch(100, 77, "newcomer");
	p = proc_lookup(&e.procs, 100);
	cr_assert_not_null(p);
	cr_expect_null(p->binary, "the old process's binary leaked onto the new one");
	cr_expect_null(p->args);
	cr_expect_eq(p->args_len, 0);
	cr_expect_eq(p->start_ns, 77);
	cr_expect_str_eq(p->comm, "newcomer");
}

Test(enrich, a_fork_into_a_reused_pid_gives_the_child_the_parents_image)
{
	struct vigil_fork_event f;
	struct vigil_exec_event x;
	struct vigil_event_view v;

	exec_ls(101, 5);	/* an old process that used pid 101 */
	fx_exec(&x, fx_task(100, 1, 6, "sh"), "/bin/sh", FX_ARGS("sh"), 0);
	FEED_OK(x, &v);
	fx_fork(&f, fx_task(100, 1, 6, "sh"), fx_task(101, 100, 99, "sh"));
	FEED_OK(f, &v);
	cr_expect_str_eq(v.other.proc->binary, "/bin/sh");
	cr_expect_eq(v.other.proc->args_len, 3);
	cr_expect_eq(v.other.proc->start_ns, 99);
}

Test(enrich, the_same_or_an_unknown_start_time_keeps_the_image)
{
	exec_ls(100, 5);
	touch(100, 5, "ls");
	cr_expect_str_eq(proc_lookup(&e.procs, 100)->binary, "/usr/bin/ls", "same start_ns");
	touch(100, 0, "ls");
	cr_expect_str_eq(proc_lookup(&e.procs, 100)->binary, "/usr/bin/ls", "start_ns 0");
	cr_expect_eq(proc_lookup(&e.procs, 100)->start_ns, 5, "start_ns 0 overwrote the known one");
}

/* ---- signals --------------------------------------------------------------- */

Test(enrich, a_signal_view_has_the_sender_as_subject_and_the_target_as_other)
{
	struct vigil_signal_event s;
	struct vigil_event_view v;

	exec_ls(100, 5);
	fx_signal(&s, VIGIL_EV_SIGNAL_GENERATE, fx_task(300, 1, 3, "kill"),
		  fx_task(100, 1, 5, "ls"), SIGKILL);
	FEED_OK(s, &v);
	cr_expect_eq(v.type, VIGIL_EV_SIGNAL_GENERATE);
	cr_assert_not_null(v.subject.proc);
	cr_assert_not_null(v.other.proc);
	cr_expect_eq(v.subject.proc->pid, 300);
	cr_expect_eq(v.other.proc->pid, 100);
	cr_expect_str_eq(v.other.proc->binary, "/usr/bin/ls");
	cr_expect_not_null(v.subject.ctr);
	cr_expect_not_null(v.other.ctr);
}

Test(enrich, a_signal_deliver_view_has_the_target_as_subject_and_no_other)
{
	struct vigil_signal_event s;
	struct vigil_event_view v;

	fx_signal(&s, VIGIL_EV_SIGNAL_DELIVER, fx_task(0, 0, 0, ""),
		  fx_task(100, 1, 5, "ls"), SIGTERM);
	FEED_OK(s, &v);
	cr_expect_eq(v.type, VIGIL_EV_SIGNAL_DELIVER);
	cr_assert_not_null(v.subject.proc);
	cr_expect_eq(v.subject.proc->pid, 100);
	cr_expect_null(v.other.proc);
	cr_expect_null(proc_lookup(&e.procs, 0), "the unused sender was added to the table");
}

/* ---- OOM kills ------------------------------------------------------------- */

Test(enrich, a_kernel_oom_kill_has_the_victim_as_subject_and_the_trigger_as_other)
{
	struct vigil_oom_event o;
	struct vigil_event_view v;
	void *raw;

	exec_ls(100, 5);
	fx_oom(&o, fx_task(100, 1, 5, "ls"), fx_task(200, 1, 7, "hog"), 0);
	cr_assert_eq(feed(&o, sizeof(o), &v, &raw), 0);
	cr_expect_eq(v.type, VIGIL_EV_OOM_KILL);
	cr_expect_eq(v.raw, raw);
	cr_expect_eq(v.time_ns, FX_TS + e.mono_to_real_ns);
	cr_assert_not_null(v.subject.proc);
	cr_expect_eq(v.subject.proc, proc_lookup(&e.procs, 100), "not the table's entry");
	cr_expect_str_eq(v.subject.proc->binary, "/usr/bin/ls");
	cr_assert_not_null(v.other.proc);
	cr_expect_eq(v.other.proc->pid, 200);
	cr_expect_str_eq(v.other.proc->comm, "hog");
	cr_expect_null(proc_lookup(&e.procs, 200), "the trigger was inserted into the table");
	cr_assert_not_null(v.oom);
	cr_expect_str_eq(v.oom->source, "kernel");
	cr_expect_str_eq(v.oom->scope, "memcg");
	cr_expect_null(v.oom->memcg_path, "no memory mount: the path is unknown, not \"\"");
	cr_expect_null(v.oom->policy);
	cr_expect_eq(v.oom->killed, 0);
	free(raw);
}

Test(enrich, a_global_oom_kill_has_global_scope_and_an_empty_memcg_path)
{
	struct vigil_oom_event o;
	struct vigil_event_view v;

	fx_oom(&o, fx_task(100, 1, 5, "ls"), fx_task(100, 1, 5, "ls"), VIGIL_OOM_GLOBAL);
	FEED_OK(o, &v);
	cr_assert_not_null(v.oom);
	cr_expect_str_eq(v.oom->scope, "global");
	cr_assert_not_null(v.oom->memcg_path);
	cr_expect_str_eq(v.oom->memcg_path, "");
}

Test(enrich, an_unknown_oom_victim_is_described_from_the_record_and_not_inserted)
{
	struct vigil_oom_event o;
	struct vigil_event_view v;

	fx_oom(&o, fx_task(4321, 1, 9, "ghost"), fx_task(4321, 1, 9, "ghost"), 0);
	FEED_OK(o, &v);
	cr_assert_not_null(v.subject.proc);
	cr_expect_eq(v.subject.proc->pid, 4321);
	cr_expect_str_eq(v.subject.proc->comm, "ghost");
	cr_expect_null(proc_lookup(&e.procs, 4321));
}

Test(enrich, a_pid_only_oom_victim_is_taken_from_the_table)
{
	struct vigil_oom_event o;
	struct vigil_event_view v;
	struct vigil_task t;

	exec_ls(100, 5);
	memset(&t, 0, sizeof(t));
	t.pid = t.tid = 100;
	fx_oom(&o, t, fx_task(200, 1, 7, "hog"), VIGIL_OOM_VICTIM_PID_ONLY);
	FEED_OK(o, &v);
	cr_assert_not_null(v.subject.proc);
	cr_expect_eq(v.subject.proc, proc_lookup(&e.procs, 100));
	cr_expect_str_eq(v.subject.proc->comm, "ls");
	cr_expect_str_eq(v.subject.proc->binary, "/usr/bin/ls");
}

Test(enrich, a_synthetic_oom_event_gets_a_view_like_a_kernel_one)
{
	struct vigil_oom_info info = { .source = "vigil", .scope = "process", .policy = "p",
				       .memcg_path = "/a" };
	struct vigil_oom_event o;
	struct vigil_event_view v;
	struct vigil_task none;

	exec_ls(100, 5);
	memset(&none, 0, sizeof(none));
	fx_oom(&o, fx_task(100, 1, 5, "ls"), none, VIGIL_OOM_BY_VIGIL);
	o.hdr.type = VIGIL_EV_OOM_PRE_KILL;
	cr_assert_eq(enrich_synthetic(&e, VIGIL_EV_OOM_PRE_KILL, &o, &info, &v), 0);
	cr_expect_eq(v.type, VIGIL_EV_OOM_PRE_KILL);
	cr_expect_eq(v.raw, &o);
	cr_expect_eq(v.oom, &info);
	cr_expect_eq(v.time_ns, FX_TS + e.mono_to_real_ns);
	cr_expect_eq(v.subject.proc, proc_lookup(&e.procs, 100));
	cr_expect_not_null(v.subject.ctr);
	cr_expect_null(v.other.proc, "vigil's kill has no trigger");
	cr_expect_eq(enrich_synthetic(&e, VIGIL_EV_OOM_KILL, &o, &info, &v), 0);
	cr_expect_eq(v.type, VIGIL_EV_OOM_KILL);
	cr_expect_eq(enrich_synthetic(&e, VIGIL_EV_EXEC, &o, &info, &v), -EINVAL);
	cr_expect_eq(enrich_synthetic(&e, VIGIL_EV_OOM_KILL, NULL, &info, &v), -EINVAL);
}

Test(names, the_oom_types_can_be_selected_by_name)
{
	cr_expect_eq(event_type_parse("oom_kill"), VIGIL_EV_OOM_KILL);
	cr_expect_eq(event_type_parse("oom_pre_kill"), VIGIL_EV_OOM_PRE_KILL);
}

/* ---- malformed records ----------------------------------------------------- */

static const size_t type_size[VIGIL_EV__MAX] = {
	[VIGIL_EV_FORK] = sizeof(struct vigil_fork_event),
	[VIGIL_EV_EXEC] = sizeof(struct vigil_exec_event),
	[VIGIL_EV_EXIT] = sizeof(struct vigil_exit_event),
	[VIGIL_EV_SIGNAL_GENERATE] = sizeof(struct vigil_signal_event),
	[VIGIL_EV_SIGNAL_DELIVER] = sizeof(struct vigil_signal_event),
	[VIGIL_EV_CGROUP_MKDIR] = sizeof(struct vigil_cgroup_event),
	[VIGIL_EV_CGROUP_RMDIR] = sizeof(struct vigil_cgroup_event),
	[VIGIL_EV_TRUST] = sizeof(struct vigil_trust_event),
	[VIGIL_EV_OOM_KILL] = sizeof(struct vigil_oom_event),
	[VIGIL_EV_OOM_PRE_KILL] = sizeof(struct vigil_oom_event),
	[VIGIL_EV_LEAK_SUSPECTED] = sizeof(struct vigil_leak_event),
	[VIGIL_EV_LEAK_CLEARED] = sizeof(struct vigil_leak_event),
};

Test(enrich, a_record_shorter_than_its_type_is_rejected_and_counted)
{
	union {
		struct vigil_exec_event x;
		struct vigil_cgroup_event c;
		struct vigil_trust_event tr;
		struct vigil_oom_event oom;
	} big;
	struct vigil_event_view v;
	uint64_t before;

	for (uint32_t t = 1; t < VIGIL_EV__MAX; t++) {
		/* Internal records (cgroup mkdir/rmdir) are consumed (1); the rest are views (0). */
		int want = t == VIGIL_EV_CGROUP_MKDIR || t == VIGIL_EV_CGROUP_RMDIR ? 1 : 0;

		cr_assert_gt(type_size[t], sizeof(struct vigil_event_hdr), "type %u unknown here", t);
		cr_assert_leq(type_size[t], sizeof(big));
		memset(&big, 0, sizeof(big));
		fx_hdr(&big.x.hdr, t);
		big.x.task = fx_task(100, 1, 5, "ls");
		before = e.malformed;
		cr_expect_eq(feed(&big, type_size[t] - 1, &v, NULL), -EINVAL, "type %u", t);
		cr_expect_eq(e.malformed, before + 1, "type %u not counted", t);
		if (event_user_space_only(t)) {
			/* Made in user space only: the kernel never sends one. */
			cr_expect_eq(feed(&big, type_size[t], &v, NULL), -EINVAL, "%s",
				     event_type_name(t));
			cr_expect_eq(e.malformed, before + 2, "a %s record is not counted",
				     event_type_name(t));
			continue;
		}
		cr_expect_eq(feed(&big, type_size[t], &v, NULL), want, "type %u at full size", t);
		cr_expect_eq(e.malformed, before + 1, "type %u counted at full size", t);
	}
}

Test(enrich, a_record_shorter_than_the_header_is_rejected_and_counted)
{
	struct vigil_event_hdr h;
	struct vigil_event_view v;

	fx_hdr(&h, VIGIL_EV_EXIT);
	cr_expect_eq(feed(&h, 0, &v, NULL), -EINVAL);
	cr_expect_eq(feed(&h, 4, &v, NULL), -EINVAL);
	cr_expect_eq(feed(&h, sizeof(h) - 1, &v, NULL), -EINVAL);
	cr_expect_eq(e.malformed, 3);
}

Test(enrich, a_record_of_an_unknown_type_is_rejected_and_counted)
{
	static const uint32_t bad[] = { 0, VIGIL_EV__MAX, 0x7fffffff, UINT32_MAX };
	struct vigil_exec_event big;
	struct vigil_event_view v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&big, 0, sizeof(big));
		fx_hdr(&big.hdr, bad[i]);
		cr_expect_eq(feed(&big, sizeof(big), &v, NULL), -EINVAL, "type %u", bad[i]);
	}
	cr_expect_eq(e.malformed, sizeof(bad) / sizeof(bad[0]));
}

Test(enrich, a_rejected_record_leaves_the_process_table_alone)
{
	struct vigil_exit_event x;
	struct vigil_event_view v;

	exec_ls(100, 5);
	fx_exit(&x, fx_task(100, 1, 5, "ls"), 0, 0);
	cr_expect_eq(feed(&x, sizeof(x) - 1, &v, NULL), -EINVAL);
	cr_expect_eq(v.type, 0, "a rejected record left a view behind");
	cr_expect_null(v.subject.proc);
	enrich_done(&e, &v);	/* what a careless caller might do */
	cr_expect_not_null(proc_lookup(&e.procs, 100));
	cr_expect_eq(e.procs.map.len, 1);
}

/* ---- cgroup records -------------------------------------------------------- */

#define CID_L "97c3a7b1b1526c2c23f3f2f38251e57daf8c7f5041a869b5fa2ae2c9ac89736f"

static int cgroup_rec(uint32_t type, uint64_t id, const char *path)
{
	struct vigil_cgroup_event c;
	struct vigil_event_view v;

	memset(&c, 0, sizeof(c));
	fx_hdr(&c.hdr, type);
	c.cgroup_id = id;
	fx_copy(c.path, sizeof(c.path), path);
	c.path_len = strlen(c.path);
	return feed(&c, sizeof(c), &v, NULL);
}

/* The container an exec in cgroup id sees. */
static const struct vigil_ctr *ctr_of_exec_in(uint64_t id)
{
	struct vigil_exec_event x;
	struct vigil_event_view v;

	fx_exec(&x, fx_task(100, 1, 5, "sh"), "/bin/sh", FX_ARGS("sh"), 0);
	x.task.cgroup_id = id;
	FEED_OK(x, &v);
	cr_assert_not_null(v.subject.ctr);
	return v.subject.ctr;
}

Test(enrich, a_cgroup_mkdir_teaches_the_cache_the_path_and_emits_nothing)
{
	const struct vigil_ctr *c;

	cr_expect_eq(cgroup_rec(VIGIL_EV_CGROUP_MKDIR, 777, "/docker/" CID_L), 1,
		     "an internal record must not reach the sinks");
	cr_expect_eq(e.procs.map.len, 0, "a cgroup record touched the process table");
	cr_expect_eq(e.malformed, 0);
	c = ctr_of_exec_in(777);
	cr_expect(c->resolved);
	cr_expect_eq(c->cgroup_id, 777);
	cr_expect_str_eq(c->cgroup, "/docker/" CID_L);
	cr_expect_eq(c->info.runtime, VIGIL_RT_DOCKER);
	cr_expect_str_eq(c->info.id, CID_L);
}

Test(enrich, a_cgroup_rmdir_makes_the_cache_forget_the_path)
{
	cr_assert_eq(cgroup_rec(VIGIL_EV_CGROUP_MKDIR, 777, "/docker/" CID_L), 1);
	cr_expect_eq(cgroup_rec(VIGIL_EV_CGROUP_RMDIR, 777, "/docker/" CID_L), 1);
	cr_expect_not(ctr_of_exec_in(777)->resolved);
	cr_expect_eq(cgroup_rec(VIGIL_EV_CGROUP_RMDIR, 778, "/never/made"), 1,
		     "removing an unknown cgroup is harmless");
}

Test(enrich, a_second_mkdir_for_the_same_id_replaces_the_path)
{
	cr_assert_eq(cgroup_rec(VIGIL_EV_CGROUP_MKDIR, 777, "/system.slice/a.service"), 1);
	cr_assert_eq(cgroup_rec(VIGIL_EV_CGROUP_MKDIR, 777, "/docker/" CID_L), 1);
	cr_expect_str_eq(ctr_of_exec_in(777)->cgroup, "/docker/" CID_L);
	cr_expect_eq(e.ctrs.map.len, 1);
}

Test(enrich, a_cgroup_mkdir_with_an_empty_path_is_the_root)
{
	cr_assert_eq(cgroup_rec(VIGIL_EV_CGROUP_MKDIR, 1, ""), 1);
	cr_expect_str_eq(ctr_of_exec_in(1)->cgroup, "/");
	cr_expect_eq(ctr_of_exec_in(1)->info.runtime, VIGIL_RT_HOST);
}

Test(enrich, a_cgroup_mkdir_path_without_a_nul_or_with_a_huge_length_is_bounded)
{
	struct vigil_cgroup_event c;
	struct vigil_event_view v;
	const struct vigil_ctr *ctr;

	memset(&c, 0, sizeof(c));
	fx_hdr(&c.hdr, VIGIL_EV_CGROUP_MKDIR);
	c.cgroup_id = 777;
	memset(c.path, 'a', sizeof(c.path));
	c.path[0] = '/';
	c.path_len = UINT32_MAX;
	cr_assert_eq(feed(&c, sizeof(c), &v, NULL), 1);
	ctr = ctr_of_exec_in(777);
	cr_expect_eq(strlen(ctr->cgroup), VIGIL_CGROUP_PATH_LEN - 1);
	c.path_len = 3;		/* "/aa": the length wins over the bytes */
	cr_assert_eq(feed(&c, sizeof(c), &v, NULL), 1);
	cr_expect_str_eq(ctr_of_exec_in(777)->cgroup, "/aa");
}

/*
 * The cache is cleared wholesale at its size cap.  Re-learning an id right
 * at the cap must neither free the old entry twice nor keep a freed one.
 * The cap is private to containers.c, so every step re-learns the id it
 * just added: one of those steps is the one at the cap.
 */
Test(enrich, relearning_cgroups_as_the_cache_reaches_its_cap_frees_each_entry_once)
{
	char path[64];

	for (uint64_t id = 1; id <= 40000; id++) {
		snprintf(path, sizeof(path), "/c/%llu", (unsigned long long)id);
		cr_assert_eq(cgroup_rec(VIGIL_EV_CGROUP_MKDIR, id, path), 1);
		cr_assert_eq(cgroup_rec(VIGIL_EV_CGROUP_MKDIR, id, path), 1);
	}
	cr_expect_str_eq(ctr_of_exec_in(40000)->cgroup, "/c/40000");
	cr_expect_leq(e.ctrs.map.len, 40000);
}

/* ---- the filter ------------------------------------------------------------ */

#define CID_A "97c3a7b1b1526c2c23f3f2f38251e57daf8c7f5041a869b5fa2ae2c9ac89736f"
#define CID_B "2d04790776b9513f7c77faddfc80736c4a8281f7440a0fbdddd7d48056bcc551"

struct world {
	struct vigil_proc host_proc, ctr_a_proc, ctr_b_proc;
	struct vigil_ctr host, ctr_a, ctr_b;
};

static struct world world(void)
{
	struct world w;

	w.host_proc = fx_proc(10, 1, "sshd", "/usr/sbin/sshd", NULL, 0);
	w.ctr_a_proc = fx_proc(20, 19, "nginx", "/usr/sbin/nginx", NULL, 0);
	w.ctr_b_proc = fx_proc(30, 29, "redis", "/usr/bin/redis-server", NULL, 0);
	w.host = fx_ctr(VIGIL_RT_HOST, "", "", VIGIL_QOS_NONE, "/system.slice/sshd.service");
	w.ctr_a = fx_ctr(VIGIL_RT_DOCKER, CID_A, "", VIGIL_QOS_NONE, "/docker/" CID_A);
	w.ctr_b = fx_ctr(VIGIL_RT_CONTAINERD, CID_B, "", VIGIL_QOS_NONE, "/x/" CID_B);
	return w;
}

Test(filter, an_empty_filter_with_every_type_matches_every_event)
{
	struct world w = world();
	struct vigil_filter f = { .types = VIGIL_OBS_ALL };

	for (uint32_t t = 1; t < VIGIL_EV__MAX; t++) {
		struct vigil_event_view v = fx_view(t, NULL, &w.ctr_a_proc, &w.ctr_a, NULL, NULL);

		if (VIGIL_OBS_ALL & VIGIL_OBS(t))
			cr_expect(event_matches(&f, &v), "type %u", t);
	}
}

Test(filter, the_type_mask_drops_unselected_types_whatever_else_matches)
{
	struct world w = world();
	struct vigil_filter f = { .types = VIGIL_OBS(VIGIL_EV_EXEC), .pid = 20 };
	struct vigil_event_view exec = fx_view(VIGIL_EV_EXEC, NULL, &w.ctr_a_proc, &w.ctr_a, NULL, NULL);
	struct vigil_event_view exit_ = fx_view(VIGIL_EV_EXIT, NULL, &w.ctr_a_proc, &w.ctr_a, NULL, NULL);
	struct vigil_event_view sig = fx_view(VIGIL_EV_SIGNAL_GENERATE, NULL, &w.host_proc, &w.host,
					      &w.ctr_a_proc, &w.ctr_a);

	cr_expect(event_matches(&f, &exec));
	cr_expect_not(event_matches(&f, &exit_));
	cr_expect_not(event_matches(&f, &sig));
	f.types = 0;
	cr_expect_not(event_matches(&f, &exec), "an empty type mask matched");
}

Test(filter, a_pid_matches_either_the_subject_or_the_other_side)
{
	struct world w = world();
	struct vigil_filter f = { .types = VIGIL_OBS_ALL, .pid = 30 };
	struct vigil_event_view fork_as_parent = fx_view(VIGIL_EV_FORK, NULL, &w.ctr_b_proc, &w.ctr_b,
							 &w.ctr_a_proc, &w.ctr_a);
	struct vigil_event_view fork_as_child = fx_view(VIGIL_EV_FORK, NULL, &w.host_proc, &w.host,
							&w.ctr_b_proc, &w.ctr_b);
	struct vigil_event_view neither = fx_view(VIGIL_EV_FORK, NULL, &w.host_proc, &w.host,
						  &w.ctr_a_proc, &w.ctr_a);
	struct vigil_event_view no_other = fx_view(VIGIL_EV_EXEC, NULL, &w.host_proc, &w.host,
						   NULL, NULL);

	cr_expect(event_matches(&f, &fork_as_parent));
	cr_expect(event_matches(&f, &fork_as_child));
	cr_expect_not(event_matches(&f, &neither));
	cr_expect_not(event_matches(&f, &no_other));
	f.pid = 10;
	cr_expect(event_matches(&f, &no_other));
}

Test(filter, host_only_matches_when_either_side_is_on_the_host)
{
	struct world w = world();
	struct vigil_filter f = { .types = VIGIL_OBS_ALL, .host_only = true };
	struct vigil_event_view host = fx_view(VIGIL_EV_EXEC, NULL, &w.host_proc, &w.host, NULL, NULL);
	struct vigil_event_view ctr = fx_view(VIGIL_EV_EXEC, NULL, &w.ctr_a_proc, &w.ctr_a, NULL, NULL);
	struct vigil_event_view into_host = fx_view(VIGIL_EV_SIGNAL_GENERATE, NULL, &w.ctr_a_proc,
						    &w.ctr_a, &w.host_proc, &w.host);
	struct vigil_event_view ctr_to_ctr = fx_view(VIGIL_EV_SIGNAL_GENERATE, NULL, &w.ctr_a_proc,
						     &w.ctr_a, &w.ctr_b_proc, &w.ctr_b);
	struct vigil_ctr unknown = fx_ctr(VIGIL_RT_UNKNOWN, "", "", VIGIL_QOS_NONE, "");
	struct vigil_event_view unresolved = fx_view(VIGIL_EV_EXEC, NULL, &w.host_proc, &unknown,
						     NULL, NULL);

	unknown.resolved = false;
	cr_expect(event_matches(&f, &host));
	cr_expect_not(event_matches(&f, &ctr));
	cr_expect(event_matches(&f, &into_host));
	cr_expect_not(event_matches(&f, &ctr_to_ctr));
	cr_expect_not(event_matches(&f, &unresolved), "an unattributed process counted as host");
}

Test(filter, a_container_prefix_matches_either_side_and_never_the_host)
{
	struct world w = world();
	struct vigil_filter f = { .types = VIGIL_OBS_ALL, .container = "97c3a7" };
	struct vigil_event_view in_a = fx_view(VIGIL_EV_EXEC, NULL, &w.ctr_a_proc, &w.ctr_a, NULL, NULL);
	struct vigil_event_view in_b = fx_view(VIGIL_EV_EXEC, NULL, &w.ctr_b_proc, &w.ctr_b, NULL, NULL);
	struct vigil_event_view host = fx_view(VIGIL_EV_EXEC, NULL, &w.host_proc, &w.host, NULL, NULL);
	struct vigil_event_view into_a = fx_view(VIGIL_EV_SIGNAL_GENERATE, NULL, &w.host_proc, &w.host,
						 &w.ctr_a_proc, &w.ctr_a);

	cr_expect(event_matches(&f, &in_a));
	cr_expect_not(event_matches(&f, &in_b));
	cr_expect_not(event_matches(&f, &host));
	cr_expect(event_matches(&f, &into_a), "a signal into the container must match");
	f.container = CID_A;
	cr_expect(event_matches(&f, &in_a), "the full id");
	f.container = CID_A "0";
	cr_expect_not(event_matches(&f, &in_a), "a longer id than the container's");
	f.container = "97C3A7";
	cr_expect_not(event_matches(&f, &in_a), "ids are lower-case hex; no case folding");
}

Test(filter, every_condition_must_hold_on_the_same_side)
{
	struct world w = world();
	struct vigil_filter f = { .types = VIGIL_OBS_ALL, .pid = 10, .container = "97c3" };
	/* pid 10 is the host sender; container A is the target. */
	struct vigil_event_view v = fx_view(VIGIL_EV_SIGNAL_GENERATE, NULL, &w.host_proc, &w.host,
					    &w.ctr_a_proc, &w.ctr_a);

	cr_expect_not(event_matches(&f, &v));
	f.pid = 20;
	cr_expect(event_matches(&f, &v));
}

/* ---- names ----------------------------------------------------------------- */

Test(names, every_event_type_name_parses_back_to_its_type)
{
	static const char *const want[VIGIL_EV__MAX] = {
		[VIGIL_EV_FORK] = "fork",
		[VIGIL_EV_EXEC] = "exec",
		[VIGIL_EV_EXIT] = "exit",
		[VIGIL_EV_SIGNAL_GENERATE] = "signal",
		[VIGIL_EV_SIGNAL_DELIVER] = "signal_deliver",
		[VIGIL_EV_CGROUP_MKDIR] = "cgroup_mkdir",
		[VIGIL_EV_CGROUP_RMDIR] = "cgroup_rmdir",
		[VIGIL_EV_TRUST] = "trust_violation",
		[VIGIL_EV_OOM_KILL] = "oom_kill",
		[VIGIL_EV_OOM_PRE_KILL] = "oom_pre_kill",
		[VIGIL_EV_LEAK_SUSPECTED] = "leak_suspected",
		[VIGIL_EV_LEAK_CLEARED] = "leak_cleared",
	};

	for (uint32_t t = 1; t < VIGIL_EV__MAX; t++) {
		const char *name = event_type_name(t);

		cr_assert_not_null(name, "type %u has no name", t);
		cr_assert_not_null(want[t], "type %u is new to this test", t);
		cr_expect_str_eq(name, want[t]);
		if (VIGIL_OBS_ALL & VIGIL_OBS(t))
			cr_expect_eq(event_type_parse(name), (int)t, "%s", name);
	}
}

Test(names, user_space_types_are_the_pre_kill_and_the_leak_events)
{
	for (uint32_t t = 1; t < VIGIL_EV__MAX; t++)
		cr_expect_eq(event_user_space_only(t),
			     t == VIGIL_EV_OOM_PRE_KILL || t == VIGIL_EV_LEAK_SUSPECTED ||
				     t == VIGIL_EV_LEAK_CLEARED, "%s", event_type_name(t));
	cr_expect_eq(event_type_parse("leak_suspected"), VIGIL_EV_LEAK_SUSPECTED);
	cr_expect_eq(event_type_parse("leak_cleared"), VIGIL_EV_LEAK_CLEARED);
}

Test(names, internal_record_types_are_named_but_cannot_be_selected)
{
	cr_expect_eq(event_type_parse("cgroup_mkdir"), -1);
	cr_expect_eq(event_type_parse("cgroup_rmdir"), -1);
	cr_expect_eq(VIGIL_OBS_ALL & VIGIL_OBS(VIGIL_EV_CGROUP_MKDIR), 0);
	cr_expect_eq(VIGIL_OBS_ALL & VIGIL_OBS(VIGIL_EV_CGROUP_RMDIR), 0);
}

Test(names, unknown_event_types_have_no_name_and_unknown_names_no_type)
{
	cr_expect_null(event_type_name(0));
	cr_expect_null(event_type_name(VIGIL_EV__MAX));
	cr_expect_null(event_type_name(UINT32_MAX));
	cr_expect_eq(event_type_parse(""), -1);
	cr_expect_eq(event_type_parse("bogus"), -1);
	cr_expect_eq(event_type_parse("EXEC"), -1);
	cr_expect_eq(event_type_parse("signal_"), -1);
	cr_expect_eq(event_type_parse("exec "), -1);
}

Test(names, signal_names_use_the_sig_prefix_and_0_is_empty)
{
	char buf[16];

	cr_expect_str_eq(signal_name(SIGKILL, buf), "SIGKILL");
	cr_expect_str_eq(signal_name(SIGTERM, buf), "SIGTERM");
	cr_expect_str_eq(signal_name(SIGSEGV, buf), "SIGSEGV");
	cr_expect_str_eq(signal_name(SIGCHLD, buf), "SIGCHLD");
	cr_expect_eq(signal_name(SIGINT, buf), buf, "must return the caller's buffer");
	memset(buf, 'x', sizeof(buf));
	cr_expect_str_eq(signal_name(0, buf), "");
}

Test(names, real_time_signals_are_named_relative_to_sigrtmin)
{
	char buf[16];

	cr_expect_eq(strncmp(signal_name(34, buf), "SIGRTMIN", 8), 0, "34 gave '%s'", buf);
	cr_expect_eq(strncmp(signal_name(SIGRTMIN, buf), "SIGRTMIN", 8), 0, "gave '%s'", buf);
	cr_expect_str_eq(signal_name(SIGRTMIN + 3, buf), "SIGRTMIN+3");
	cr_expect_eq(strncmp(signal_name(SIGRTMAX, buf), "SIGRT", 5), 0, "gave '%s'", buf);
}

Test(names, out_of_range_signal_numbers_still_get_a_bounded_name)
{
	char *buf = malloc(16);	/* exact size: ASan sees any overrun */

	cr_assert_not_null(buf);
	cr_expect_str_eq(signal_name(SIGRTMAX + 1, buf), "SIG65");
	cr_expect_str_eq(signal_name(-1, buf), "SIG-1");
	signal_name(-2147483647 - 1, buf);
	cr_expect_eq(strncmp(buf, "SIG", 3), 0, "gave '%s'", buf);
	free(buf);
}

Test(names, signal_results_and_handlers_have_names_and_unknown_is_the_fallback)
{
	cr_expect_str_eq(signal_result_name(VIGIL_SIG_DELIVERED), "delivered");
	cr_expect_str_eq(signal_result_name(VIGIL_SIG_IGNORED), "ignored");
	cr_expect_str_eq(signal_result_name(VIGIL_SIG_ALREADY_PENDING), "already_pending");
	cr_expect_str_eq(signal_result_name(VIGIL_SIG_OVERFLOW_FAIL), "overflow_fail");
	cr_expect_str_eq(signal_result_name(VIGIL_SIG_LOSE_INFO), "lose_info");
	cr_expect_str_eq(signal_result_name(5), "unknown");
	cr_expect_str_eq(signal_result_name(-1), "unknown");
	cr_expect_str_eq(signal_handler_name(VIGIL_SIG_HANDLER_DEFAULT), "default");
	cr_expect_str_eq(signal_handler_name(VIGIL_SIG_HANDLER_IGNORE), "ignore");
	cr_expect_str_eq(signal_handler_name(VIGIL_SIG_HANDLER_USER), "user");
	cr_expect_str_eq(signal_handler_name(3), "unknown");
}
