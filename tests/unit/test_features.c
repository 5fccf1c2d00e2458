/*
 * test_features.c - the mode decisions behind `vigil features`, its text and
 * JSON output, and (as root) what the probes find on this host.
 *
 * The decision tests use hand-built feature sets so they pin the logic, not
 * the machine.  The oom/leak modes also look up tracepoints in the running
 * kernel's BTF, so those tests need /sys/kernel/btf/vmlinux.
 */
#include <criterion/criterion.h>
#include <bpf/btf.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "features.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

static void ok(struct vigil_probe *p)
{
	p->ok = true;
	p->why[0] = '\0';
}

static void fail(struct vigil_probe *p, const char *why)
{
	p->ok = false;
	snprintf(p->why, sizeof(p->why), "%s", why);
}

/* A kernel that can do everything, with a v2-only cgroup layout. */
static struct vigil_features everything(void)
{
	struct vigil_features f;

	memset(&f, 0, sizeof(f));
	ok(&f.btf);
	ok(&f.ringbuf);
	ok(&f.tp_btf);
	ok(&f.iter_task);
	ok(&f.fentry);
	ok(&f.kprobes);
	ok(&f.send_signal);
	ok(&f.lsm_listed);
	ok(&f.lsm);
	ok(&f.psi);
	ok(&f.tp_mark_victim);
	ok(&f.tp_rss_stat);
	snprintf(f.lockdown, sizeof(f.lockdown), "none");
	f.cgroups.mode = VIGIL_CGROUP_V2;
	snprintf(f.cgroups.v2_mount, sizeof(f.cgroups.v2_mount), "/sys/fs/cgroup");
	snprintf(f.cgroups.v2_controllers, sizeof(f.cgroups.v2_controllers), "cpu memory pids");
	return f;
}

/* The development host of DESIGN.md section 1: trampolines blocked. */
static struct vigil_features like_this_host(void)
{
	struct vigil_features f = everything();

	fail(&f.fentry, "load: Operation not permitted");
	fail(&f.lsm, "load: Operation not permitted");
	fail(&f.kprobes, "no kprobe PMU");
	snprintf(f.lockdown, sizeof(f.lockdown), "integrity");
	f.cgroups.mode = VIGIL_CGROUP_HYBRID;
	snprintf(f.cgroups.v2_mount, sizeof(f.cgroups.v2_mount), "/sys/fs/cgroup/unified");
	f.cgroups.v2_controllers[0] = '\0';
	f.cgroups.n_v1 = 2;
	snprintf(f.cgroups.v1[0].controllers, sizeof(f.cgroups.v1[0].controllers), "cpu,cpuacct");
	snprintf(f.cgroups.v1[0].mount, sizeof(f.cgroups.v1[0].mount), "/sys/fs/cgroup/cpu,cpuacct");
	snprintf(f.cgroups.v1[1].controllers, sizeof(f.cgroups.v1[1].controllers), "memory");
	snprintf(f.cgroups.v1[1].mount, sizeof(f.cgroups.v1[1].mount), "/sys/fs/cgroup/memory");
	return f;
}

static struct vigil_features nothing(void)
{
	struct vigil_features f;

	memset(&f, 0, sizeof(f));
	fail(&f.btf, "vmlinux BTF: No such file or directory");
	fail(&f.ringbuf, "kernel has no BPF_MAP_TYPE_RINGBUF");
	fail(&f.tp_btf, "needs vmlinux BTF");
	fail(&f.iter_task, "needs vmlinux BTF");
	fail(&f.fentry, "needs vmlinux BTF");
	fail(&f.kprobes, "no kprobe PMU");
	fail(&f.send_signal, "helper probe: Operation not permitted");
	fail(&f.lsm_listed, "bpf not in active LSMs: capability");
	fail(&f.lsm, "needs vmlinux BTF");
	fail(&f.psi, "/proc/pressure/memory: No such file or directory");
	fail(&f.tp_mark_victim, "no vmlinux BTF");
	fail(&f.tp_rss_stat, "no vmlinux BTF");
	snprintf(f.lockdown, sizeof(f.lockdown), "unknown");
	return f;
}

Test(features_modes, lsm_that_loads_and_attaches_enforces_exec_and_signals)
{
	struct vigil_features f = everything();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];

	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_EXEC_ENFORCE].module, "exec-enforcement");
	cr_assert_str_eq(m[VIGIL_MOD_EXEC_ENFORCE].mode, "lsm");
	cr_assert_str_eq(m[VIGIL_MOD_SIGNAL_POLICY].mode, "lsm");
	cr_assert(m[VIGIL_MOD_EXEC_ENFORCE].implemented);
}

Test(features_modes, blocked_lsm_falls_back_to_sigkill_from_tp_btf)
{
	struct vigil_features f = like_this_host();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];
	const char *why = m[VIGIL_MOD_EXEC_ENFORCE].why;

	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_EXEC_ENFORCE].mode, "sigkill-fallback");
	cr_assert(strstr(why, "BPF LSM not usable (load: Operation not permitted)"), "why: %s", why);
	cr_assert(strstr(why, "SIGKILL"), "why: %s", why);
}

Test(features_modes, lsm_not_in_active_list_is_named_as_the_reason)
{
	struct vigil_features f = like_this_host();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];
	const char *why = m[VIGIL_MOD_EXEC_ENFORCE].why;

	fail(&f.lsm_listed, "bpf not in active LSMs: capability,yama");
	fail(&f.lsm, "loads and attaches, but bpf is not an active LSM");
	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_EXEC_ENFORCE].mode, "sigkill-fallback");
	cr_assert(strstr(why, "BPF LSM not active (bpf not in active LSMs"), "why: %s", why);
}

Test(features_modes, no_send_signal_leaves_exec_enforcement_unavailable)
{
	struct vigil_features f = like_this_host();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];
	const char *why = m[VIGIL_MOD_EXEC_ENFORCE].why;

	fail(&f.send_signal, "helper bpf_send_signal not offered");
	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_EXEC_ENFORCE].mode, "unavailable");
	cr_assert(strstr(why, "bpf_send_signal not offered"), "why: %s", why);
}

Test(features_modes, without_lsm_deny_degrades_to_audit_and_kill_sender)
{
	struct vigil_features f = like_this_host();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];

	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_SIGNAL_POLICY].module, "signal-policy");
	cr_assert_str_eq(m[VIGIL_MOD_SIGNAL_POLICY].mode, "audit+kill-sender");
	cr_assert(strstr(m[VIGIL_MOD_SIGNAL_POLICY].why, "cannot be stopped after the fact"),
		  "why: %s", m[VIGIL_MOD_SIGNAL_POLICY].why);
}

Test(features_modes, without_lsm_or_send_signal_signals_are_audit_only)
{
	struct vigil_features f = like_this_host();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];

	fail(&f.send_signal, "helper bpf_send_signal not offered");
	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_SIGNAL_POLICY].mode, "audit-only");
	cr_assert(strstr(m[VIGIL_MOD_SIGNAL_POLICY].why, "bpf_send_signal not offered"),
		  "why: %s", m[VIGIL_MOD_SIGNAL_POLICY].why);
}

Test(features_modes, trace_needs_a_ring_buffer_and_says_so)
{
	struct vigil_features f = everything();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];

	fail(&f.ringbuf, "kernel has no BPF_MAP_TYPE_RINGBUF");
	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_TRACE].mode, "unavailable");
	cr_assert(strstr(m[VIGIL_MOD_TRACE].why, "no ring buffer"), "why: %s", m[VIGIL_MOD_TRACE].why);
	/* The LSM path does not depend on the ring buffer probe. */
	cr_assert_str_eq(m[VIGIL_MOD_EXEC_ENFORCE].mode, "lsm");
}

Test(features_modes, a_kernel_with_nothing_gets_nothing_and_every_reason)
{
	struct vigil_features f = nothing();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];
	int i;

	features_modes(&f, m);
	for (i = 0; i < VIGIL_MOD__COUNT; i++) {
		cr_assert_str_eq(m[i].mode, "unavailable", "%s: %s", m[i].module, m[i].mode);
		cr_assert(m[i].why[0], "%s has no why", m[i].module);
	}
	cr_assert(strstr(m[VIGIL_MOD_TRACE].why, "no vmlinux BTF"), "why: %s", m[VIGIL_MOD_TRACE].why);
	cr_assert(m[VIGIL_MOD_TRACE].implemented);
	cr_assert(m[VIGIL_MOD_LEAK].implemented);
}

Test(features_modes, the_leak_scorer_runs_exactly_when_the_memory_sampler_loads)
{
	struct vigil_features f = nothing();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];

	ok(&f.iter_task);
	fail(&f.mem_sampler, "the verifier refused it");
	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_LEAK].module, "leak");
	cr_assert_str_eq(m[VIGIL_MOD_LEAK].mode, "unavailable");
	cr_assert(strstr(m[VIGIL_MOD_LEAK].why, "leak-sampling"), "why: %s", m[VIGIL_MOD_LEAK].why);

	ok(&f.mem_sampler);
	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_LEAK_SAMPLING].mode, "iter/task");
	cr_assert_str_eq(m[VIGIL_MOD_LEAK].mode, "scorer");

	f.mem_task_list = true;
	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_LEAK_SAMPLING].mode, "task-list");
	cr_assert_str_eq(m[VIGIL_MOD_LEAK].mode, "scorer");
}

Test(features_modes, oom_uses_mark_victim_and_mentions_fentry_only_when_it_works)
{
	struct vigil_features f = everything();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];

	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_OOM].mode, "tp_btf");
	cr_assert(strstr(m[VIGIL_MOD_OOM].why, "+ fentry"), "why: %s", m[VIGIL_MOD_OOM].why);

	f = like_this_host();
	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_OOM].mode, "tp_btf");
	cr_assert_null(strstr(m[VIGIL_MOD_OOM].why, "fentry"), "why: %s", m[VIGIL_MOD_OOM].why);
}

Test(features_modes, modes_follow_the_probed_tracepoints_not_the_running_kernel)
{
	struct vigil_features f = everything();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];

	fail(&f.tp_rss_stat, "rss_stat not in vmlinux BTF");
	fail(&f.tp_mark_victim, "mark_victim not in vmlinux BTF");
	features_modes(&f, m);
	cr_assert_str_neq(m[VIGIL_MOD_OOM].mode, "tp_btf", "oom: %s", m[VIGIL_MOD_OOM].why);
}

/* Run a print function into a string the caller frees. */
static char *capture(void (*print)(FILE *, const struct vigil_features *),
		     const struct vigil_features *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	cr_assert_not_null(mem);
	print(mem, f);
	cr_assert_eq(fclose(mem), 0);
	return buf;
}

static json_object *key(json_object *o, const char *k, json_type type)
{
	json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, k, &v), "missing key \"%s\"", k);
	cr_assert(json_object_is_type(v, type), "key \"%s\" has type %s", k,
		  json_type_to_name(json_object_get_type(v)));
	return v;
}

Test(features_print, json_is_one_line_that_parses_back_with_every_key)
{
	static const char *const probes[] = {
		"btf", "ringbuf", "tp_btf", "iter_task", "fentry", "kprobes",
		"send_signal", "lsm_listed", "lsm", "psi",
	};
	struct vigil_features f = like_this_host();
	json_object *root, *feat, *cg, *v1, *mods, *m;
	char *out;
	size_t i;

	/* Characters that must be escaped survive the round trip. */
	fail(&f.kprobes, "say \"no\"\\\n\ttab");
	out = capture(features_print_json, &f);
	cr_assert(strchr(out, '\n') == out + strlen(out) - 1, "not one line: %s", out);

	root = json_tokener_parse(out);
	cr_assert_not_null(root, "does not parse: %s", out);
	feat = key(root, "features", json_type_object);
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		json_object *p = key(feat, probes[i], json_type_object);

		key(p, "ok", json_type_boolean);
		key(p, "why", json_type_string);
	}
	cr_assert_str_eq(json_object_get_string(key(key(feat, "kprobes", json_type_object), "why",
						    json_type_string)), "say \"no\"\\\n\ttab");
	cr_assert(json_object_get_boolean(key(key(feat, "btf", json_type_object), "ok",
					      json_type_boolean)));
	cr_assert_not(json_object_get_boolean(key(key(feat, "lsm", json_type_object), "ok",
						  json_type_boolean)));
	cr_assert_str_eq(json_object_get_string(key(feat, "lockdown", json_type_string)), "integrity");

	cg = key(feat, "cgroups", json_type_object);
	cr_assert_str_eq(json_object_get_string(key(cg, "v2_mount", json_type_string)),
			 "/sys/fs/cgroup/unified");
	cr_assert_eq(json_object_array_length(key(cg, "v2_controllers", json_type_array)), 0);
	key(cg, "mode", json_type_string);
	v1 = key(cg, "v1", json_type_array);
	cr_assert_eq(json_object_array_length(v1), 2);
	m = key(json_object_array_get_idx(v1, 0), "controllers", json_type_array);
	cr_assert_eq(json_object_array_length(m), 2);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(m, 1)), "cpuacct");
	cr_assert_str_eq(json_object_get_string(key(json_object_array_get_idx(v1, 1), "mount",
						    json_type_string)), "/sys/fs/cgroup/memory");

	mods = key(root, "modules", json_type_array);
	cr_assert_eq(json_object_array_length(mods), VIGIL_MOD__COUNT);
	for (i = 0; i < VIGIL_MOD__COUNT; i++) {
		m = json_object_array_get_idx(mods, i);
		key(m, "module", json_type_string);
		key(m, "mode", json_type_string);
		key(m, "why", json_type_string);
		key(m, "implemented", json_type_boolean);
	}
	m = json_object_array_get_idx(mods, VIGIL_MOD_EXEC_ENFORCE);
	cr_assert_str_eq(json_object_get_string(key(m, "module", json_type_string)),
			 "exec-enforcement");
	cr_assert_str_eq(json_object_get_string(key(m, "mode", json_type_string)),
			 "sigkill-fallback");
	json_object_put(root);
	free(out);
}

Test(features_print, json_v2_mount_is_null_without_cgroup2)
{
	struct vigil_features f = nothing();
	json_object *root, *cg, *v;
	char *out = capture(features_print_json, &f);

	root = json_tokener_parse(out);
	cr_assert_not_null(root, "does not parse: %s", out);
	cg = key(key(root, "features", json_type_object), "cgroups", json_type_object);
	cr_assert(json_object_object_get_ex(cg, "v2_mount", &v));
	cr_assert_null(v, "v2_mount should be null, is %s", json_object_to_json_string(v));
	json_object_put(root);
	free(out);
}

Test(features_print, text_fits_80_columns_even_with_long_reasons)
{
	struct vigil_features f = like_this_host();
	char *out, *line, *save;
	int lines = 0;

	memset(f.fentry.why, 'x', sizeof(f.fentry.why) - 1);	/* one unbreakable word */
	f.fentry.why[sizeof(f.fentry.why) - 1] = '\0';
	memcpy(f.fentry.why, "load: ", 6);
	fail(&f.lsm, "load: Operation not permitted because the host blocks BPF trampolines "
		     "for every program type that would need one, including LSM and fentry");
	out = capture(features_print_text, &f);
	cr_assert(strstr(out, "Kernel features\n"), "%s", out);
	cr_assert(strstr(out, "\nModules\n"), "%s", out);
	cr_assert(strstr(out, "sigkill-fallback"), "%s", out);
	/* Every module is built now: the marker must not appear. */
	cr_assert_null(strstr(out, "[not implemented yet]"), "%s", out);
	cr_assert(strstr(out, "  lockdown       integrity\n"), "%s", out);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lines++;
		cr_assert_neq(line[strlen(line) - 1], ' ', "trailing space: \"%s\"", line);
		/* Only the deliberately unbreakable word may overflow. */
		if (strstr(line, "xxxxxxxx"))
			continue;
		cr_assert_leq(strlen(line), 80, "%zu columns: \"%s\"", strlen(line), line);
	}
	cr_assert_gt(lines, 15);
	free(out);
}

Test(features_probe, this_host_matches_design_section_1)
{
	struct vigil_features f;
	struct vigil_module_mode m[VIGIL_MOD__COUNT];

	if (geteuid() != 0)
		cr_skip_test("needs root: features_probe loads BPF programs; "
			     "run the unit tests as root to check this host");
	features_probe(&f);
	cr_assert(f.btf.ok, "btf: %s", f.btf.why);
	cr_assert(f.ringbuf.ok, "ringbuf: %s", f.ringbuf.why);
	cr_assert(f.tp_btf.ok, "tp_btf: %s", f.tp_btf.why);
	cr_assert(f.iter_task.ok, "iter_task: %s", f.iter_task.why);
	cr_assert(f.send_signal.ok, "send_signal: %s", f.send_signal.why);
	cr_assert(f.psi.ok, "psi: %s", f.psi.why);
	/* DESIGN.md section 1: trampolines are blocked here, so both fail at load. */
	cr_assert_not(f.fentry.ok, "fentry unexpectedly works: %s", f.fentry.why);
	cr_assert(strstr(f.fentry.why, "Operation not permitted"), "fentry: %s", f.fentry.why);
	cr_assert_not(f.lsm.ok, "lsm unexpectedly works: %s", f.lsm.why);
	cr_assert(f.lsm_listed.ok, "lsm_listed: %s", f.lsm_listed.why);
	cr_assert_not(f.kprobes.ok, "kprobes unexpectedly work: %s", f.kprobes.why);
	cr_assert_str_eq(f.lockdown, "integrity");
	cr_assert_eq(f.cgroups.mode, VIGIL_CGROUP_HYBRID);

	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_TRACE].mode, "tp_btf");
	cr_assert_str_eq(m[VIGIL_MOD_EXEC_ENFORCE].mode, "sigkill-fallback");
}

Test(modes, trace_takes_the_lsm_exec_path_hook_only_when_bpf_lsm_works)
{
	struct vigil_module_mode m[VIGIL_MOD__COUNT];
	struct vigil_features f = everything();

	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_TRACE].mode, "tp_btf+lsm");
	cr_assert(strstr(m[VIGIL_MOD_TRACE].why, "bpf_d_path"), "why: %s", m[VIGIL_MOD_TRACE].why);

	f = like_this_host();
	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_TRACE].mode, "tp_btf");
	cr_assert(strstr(m[VIGIL_MOD_TRACE].why, "dentry walk"), "why: %s", m[VIGIL_MOD_TRACE].why);
}

/* ---- OOM capture ----------------------------------------------------------- */

/* A BTF with btf_trace_mark_victim taking nargs arguments after the context. */
static struct btf *mark_victim_btf(int nargs)
{
	struct btf *btf = btf__new_empty();
	int i32, vptr, task, tptr, proto, ptr;

	cr_assert_not_null(btf);
	i32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	vptr = btf__add_ptr(btf, 0);
	task = btf__add_struct(btf, "task_struct", 0);
	tptr = btf__add_ptr(btf, task);
	proto = btf__add_func_proto(btf, 0);
	cr_assert_gt(proto, 0);
	cr_assert_eq(btf__add_func_param(btf, "__data", vptr), 0);
	if (nargs == 1) {
		cr_assert_eq(btf__add_func_param(btf, "pid", i32), 0);
	} else {
		cr_assert_eq(btf__add_func_param(btf, "task", tptr), 0);
		cr_assert_eq(btf__add_func_param(btf, "uid", i32), 0);
	}
	ptr = btf__add_ptr(btf, proto);
	cr_assert_gt(btf__add_typedef(btf, "btf_trace_mark_victim", ptr), 0);
	return btf;
}

Test(oom_capture, the_mark_victim_signature_is_read_from_btf)
{
	struct btf *btf = mark_victim_btf(2);

	cr_expect_eq(features_mark_victim_args(btf), 2, "(task, uid)");
	btf__free(btf);
	btf = mark_victim_btf(1);
	cr_expect_eq(features_mark_victim_args(btf), 1, "(pid)");
	btf__free(btf);
	btf = btf__new_empty();
	cr_expect_eq(features_mark_victim_args(btf), -ENOENT);
	btf__free(btf);
	cr_expect_eq(features_mark_victim_args(NULL), -ENOENT);
}

Test(oom_capture, this_kernel_passes_the_victim_task)
{
	struct btf *btf = btf__load_vmlinux_btf();

	if (!btf)
		cr_skip_test("no " VMLINUX_BTF);
	/* 6.8+, and Debian's 6.1 backport: (struct task_struct *, uid_t). */
	cr_expect_eq(features_mark_victim_args(btf), 2);
	btf__free(btf);
}

Test(oom_capture, the_mode_follows_the_tracepoint_and_the_kprobe)
{
	struct vigil_features f = everything();
	struct vigil_module_mode m[VIGIL_MOD__COUNT];

	f.mark_victim_args = 2;
	ok(&f.kp_oom_kill);
	ok(&f.oom_counter);
	features_modes(&f, m);
	cr_assert_str_eq(m[VIGIL_MOD_OOM_CAPTURE].module, "oom-capture");
	cr_expect_str_eq(m[VIGIL_MOD_OOM_CAPTURE].mode, "kprobe+tp_btf");
	cr_expect(strstr(m[VIGIL_MOD_OOM_CAPTURE].why, "OOM_KILL counter"), "%s",
		  m[VIGIL_MOD_OOM_CAPTURE].why);

	f = like_this_host();
	f.mark_victim_args = 2;
	fail(&f.kp_oom_kill, "no kprobe PMU");
	fail(&f.oom_counter, "vm_event_states not in kallsyms");
	features_modes(&f, m);
	cr_expect_str_eq(m[VIGIL_MOD_OOM_CAPTURE].mode, "tp_btf");
	cr_expect(strstr(m[VIGIL_MOD_OOM_CAPTURE].why, "inferred"), "%s", m[VIGIL_MOD_OOM_CAPTURE].why);
	cr_expect(strstr(m[VIGIL_MOD_OOM_CAPTURE].why, "signal state"), "%s",
		  m[VIGIL_MOD_OOM_CAPTURE].why);

	f.mark_victim_args = 1;
	features_modes(&f, m);
	cr_expect_str_eq(m[VIGIL_MOD_OOM_CAPTURE].mode, "tp_btf-pid-only");
	ok(&f.kp_oom_kill);
	features_modes(&f, m);
	cr_expect_str_eq(m[VIGIL_MOD_OOM_CAPTURE].mode, "kprobe+tp_btf");

	fail(&f.tp_mark_victim, "mark_victim not in vmlinux BTF");
	features_modes(&f, m);
	cr_expect_str_eq(m[VIGIL_MOD_OOM_CAPTURE].mode, "unavailable");
	cr_expect(strstr(m[VIGIL_MOD_OOM_CAPTURE].why, "mark_victim"), "%s",
		  m[VIGIL_MOD_OOM_CAPTURE].why);
}
