// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * trace.bpf.c - process lifecycle and signal tracing.
 *
 * tp_btf tracepoints and a task iterator: both kernels this project
 * targets (the 6.18 dev host without kprobes/trampolines, and stock 6.1)
 * have them.  One kprobe, for exact OOM data where kprobes work
 * (lib/oom.h).  It observes, and carries out the signal policy
 * (lib/sigjudge.h): lsm/task_kill denies where BPF LSM works, and
 * signal_generate reports every judged signal and kills senders where a
 * rule says so.  Unused programs are switched off by the agent (autoload),
 * not by runtime checks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "trace.h"
#include "lib/ringbuf.h"
#include "lib/task.h"
#include "lib/sigjudge.h"
#include "lib/oom.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SEND_SIG_NOINFO_PTR 0UL
#define SEND_SIG_PRIV_PTR 1UL
#define SI_USER_CODE 0
#define SI_KERNEL_CODE 0x80

SEC("tp_btf/sched_process_fork")
int BPF_PROG(vigil_fork, struct task_struct *parent, struct task_struct *child)
{
	struct vigil_fork_event *e;

	/* New threads are not new processes. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	vigil_sig_cls_inherit(BPF_CORE_READ(parent, tgid), BPF_CORE_READ(child, tgid));
	e = vigil_reserve(sizeof(*e), VIGIL_EV_FORK);
	if (!e)
		return 0;
	vigil_fill_hdr(&e->hdr, VIGIL_EV_FORK);
	vigil_fill_task(&e->parent, parent);
	vigil_fill_task(&e->child, child);
	/* The child's leader start time is its own; group_leader may still be the parent's view. */
	e->child.start_ns = BPF_CORE_READ(child, start_time);
	vigil_submit(e);
	return 0;
}

/*
 * Richer exec paths where BPF LSM is usable: bpf_d_path() is allowed in
 * sleepable LSM hooks, and resolves the whole path without the dentry
 * walk's depth limit.  bprm_check_security runs in the exec'ing task just
 * before sched_process_exec, so the path is handed over keyed by tid.  The
 * agent enables this (rodata + autoload) only when its probe says BPF LSM
 * loads and attaches.
 */
const volatile bool vigil_exec_path_lsm = false;

struct vigil_exec_path {
	u32 len;
	u32 _pad;
	char path[VIGIL_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct vigil_exec_path);
} exec_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct vigil_exec_path);
} exec_path_scratch SEC(".maps");

SEC("lsm.s/bprm_check_security")
int BPF_PROG(vigil_exec_path, struct linux_binprm *bprm, int ret)
{
	struct vigil_exec_path *p;
	u32 zero = 0, tid = (u32)bpf_get_current_pid_tgid();
	long n;

	if (ret)
		return ret;	/* an earlier LSM already denied: keep its verdict */
	p = bpf_map_lookup_elem(&exec_path_scratch, &zero);
	if (!p)
		return 0;
	n = bpf_d_path((struct path *)&bprm->file->f_path, p->path, sizeof(p->path));
	if (n <= 1)
		return 0;
	p->len = n - 1;
	bpf_map_update_elem(&exec_paths, &tid, p, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(vigil_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct vigil_exec_event *e;
	unsigned long arg_start, arg_end, n;
	struct file *file;
	int len;

	/* The new image's masks are the agent's to compute, from this event. */
	vigil_sig_cls_drop(BPF_CORE_READ(p, tgid));
	e = vigil_reserve(sizeof(*e), VIGIL_EV_EXEC);
	if (!e)
		return 0;
	vigil_fill_hdr(&e->hdr, VIGIL_EV_EXEC);
	vigil_fill_task(&e->task, p);
	e->old_pid = old_pid;
	e->flags = 0;
	e->argc = BPF_CORE_READ(bprm, argc);
	e->_pad = 0;

	len = 0;
	if (vigil_exec_path_lsm) {
		u32 tid = old_pid;
		struct vigil_exec_path *lp = bpf_map_lookup_elem(&exec_paths, &tid);

		if (lp) {
			bpf_probe_read_kernel(e->path, sizeof(e->path), lp->path);
			len = lp->len < VIGIL_PATH_LEN ? lp->len : VIGIL_PATH_LEN - 1;
			e->flags |= VIGIL_EXEC_PATH_FROM_LSM;
			bpf_map_delete_elem(&exec_paths, &tid);
		}
	}
	file = BPF_CORE_READ(bprm, file);
	if (len <= 0)
		len = vigil_path_of(p, &file->f_path, e->path, &e->flags);
	if (len <= 0) {
		/* Fall back to the name execve() was given (may be relative). */
		len = bpf_probe_read_kernel_str(e->path, sizeof(e->path),
						BPF_CORE_READ(bprm, filename));
		e->flags |= VIGIL_EXEC_PATH_FROM_FILENAME;
		len = len > 0 ? len - 1 : 0;
	}
	e->path_len = len;

	/* argv of the new image, NUL separated, straight from its stack. */
	arg_start = BPF_CORE_READ(p, mm, arg_start);
	arg_end = BPF_CORE_READ(p, mm, arg_end);
	n = arg_end > arg_start ? arg_end - arg_start : 0;
	if (n > VIGIL_ARGS_LEN) {
		n = VIGIL_ARGS_LEN;
		e->flags |= VIGIL_EXEC_ARGS_TRUNCATED;
	}
	e->args_len = 0;
	if (n && bpf_probe_read_user(e->args, n, (void *)arg_start) == 0)
		e->args_len = n;
	vigil_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(vigil_exit, struct task_struct *p)
{
	struct vigil_exit_event *e;
	u32 code;

	/* Report the process, not each thread: only the last thread to exit. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	vigil_sig_cls_drop(BPF_CORE_READ(p, tgid));
	e = vigil_reserve(sizeof(*e), VIGIL_EV_EXIT);
	if (!e)
		return 0;
	vigil_fill_hdr(&e->hdr, VIGIL_EV_EXIT);
	vigil_fill_task(&e->task, p);
	code = BPF_CORE_READ(p, exit_code);
	e->signal = code & 0x7f;
	e->core_dumped = !!(code & 0x80);
	e->exit_code = (code >> 8) & 0xff;
	e->_pad = 0;
	e->lifetime_ns = e->hdr.ts_ns - e->task.start_ns;
	vigil_submit(e);
	return 0;
}

/* Emit signal events that no rule judged (the `observe` config). */
const volatile bool vigil_emit_signal_generate = true;

/* The kernel's SI_FROMUSER(): only these reach the LSM hook, and only for
 * these is `current` the sender. */
static __always_inline bool from_user(struct kernel_siginfo *info, s32 *code)
{
	if ((unsigned long)info == SEND_SIG_NOINFO_PTR) {
		*code = SI_USER_CODE;
		return true;
	}
	if ((unsigned long)info == SEND_SIG_PRIV_PTR) {
		*code = SI_KERNEL_CODE;
		return false;
	}
	*code = BPF_CORE_READ(info, si_code);
	return *code <= 0;
}

static __always_inline void emit_signal(struct task_struct *target, int sig, s32 code,
					int group, int result,
					const struct vigil_sig_verdict *v, u8 outcome)
{
	struct vigil_signal_event *e;

	e = vigil_reserve(sizeof(*e), VIGIL_EV_SIGNAL_GENERATE);
	if (!e)
		return;
	vigil_fill_hdr(&e->hdr, VIGIL_EV_SIGNAL_GENERATE);
	vigil_fill_task(&e->sender, bpf_get_current_task_btf());
	vigil_fill_task(&e->target, target);
	e->sig = sig;
	e->si_code = code;
	e->result = result;
	e->group = group;
	e->handler = 0;
	e->policy_gen = v->gen;
	e->policy_rule = v->rule;
	e->policy_action = v->action;
	e->policy_outcome = outcome;
	e->_pad = 0;
	vigil_submit(e);
}

SEC("tp_btf/signal_generate")
int BPF_PROG(vigil_signal_generate, int sig, struct kernel_siginfo *info,
	     struct task_struct *task, int group, int result)
{
	struct vigil_sig_verdict v = { .rule = -1 };
	u8 outcome = 0;
	s32 code;

	if (from_user(info, &code) &&
	    vigil_sig_judge(bpf_get_current_task_btf(), task, sig, vigil_sig_lsm, &v)) {
		/* With BPF LSM, kill-sender already fired in task_kill. */
		if (!vigil_sig_lsm)
			outcome = vigil_sig_enforce_sender(&v);
	} else if (!vigil_emit_signal_generate) {
		return 0;
	}
	emit_signal(task, sig, code, group, result, &v, outcome);
	return 0;
}

/*
 * Where BPF LSM works, kill(2), tkill(2), sigqueue(2) and pidfd_send_signal(2)
 * are judged before the signal exists, so deny is a real EPERM.  Allowed
 * signals are reported by signal_generate as usual; a denied one never
 * gets there, so it is reported here, with result "denied".
 */
SEC("lsm/task_kill")
int BPF_PROG(vigil_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	struct vigil_sig_verdict v = { .rule = -1 };
	u8 outcome;
	s32 code;

	if (ret)
		return ret;
	if (!from_user(info, &code) || cred)
		return 0;	/* kernel-internal, or USB async I/O on the sender's behalf */
	if (!vigil_sig_judge(bpf_get_current_task_btf(), p, sig, true, &v))
		return 0;
	if (v.effect < VIGIL_SIG_ACT_DENY)
		return 0;
	outcome = VIGIL_SIG_OUT_DENIED | vigil_sig_enforce_sender(&v);
	emit_signal(p, sig, code, 0, VIGIL_SIG_DENIED, &v, outcome);
	return -1;	/* -EPERM */
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(vigil_signal_deliver, int sig, struct kernel_siginfo *info,
	     struct k_sigaction *ka)
{
	struct vigil_signal_event *e;
	unsigned long handler;

	e = vigil_reserve(sizeof(*e), VIGIL_EV_SIGNAL_DELIVER);
	if (!e)
		return 0;
	vigil_fill_hdr(&e->hdr, VIGIL_EV_SIGNAL_DELIVER);
	__builtin_memset(&e->sender, 0, sizeof(e->sender));
	vigil_fill_task(&e->target, bpf_get_current_task_btf());
	e->sig = sig;
	e->si_code = info ? BPF_CORE_READ(info, si_code) : 0;
	e->result = 0;
	e->group = 0;
	handler = (unsigned long)BPF_CORE_READ(ka, sa.sa_handler);
	e->handler = handler == 0 ? VIGIL_SIG_HANDLER_DEFAULT :
		     handler == 1 ? VIGIL_SIG_HANDLER_IGNORE : VIGIL_SIG_HANDLER_USER;
	e->_pad = 0;
	vigil_submit(e);
	return 0;
}

static __always_inline int cgroup_event(struct cgroup *cgrp, const char *path, u32 type)
{
	struct vigil_cgroup_event *e;
	int len;

	if ((u32)BPF_CORE_READ(cgrp, root, hierarchy_id) != vigil_cg_hierarchy_id)
		return 0;
	e = vigil_reserve(sizeof(*e), type);
	if (!e)
		return 0;
	vigil_fill_hdr(&e->hdr, type);
	e->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
	e->hierarchy_id = vigil_cg_hierarchy_id;
	len = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	e->path_len = len > 0 ? len - 1 : 0;
	/*
	 * A new cgroup gets its signal-policy masks when the agent reads this,
	 * so don't let it wait for a batch: a container starts in milliseconds.
	 */
	if (type == VIGIL_EV_CGROUP_MKDIR)
		vigil_submit_now(e);
	else
		vigil_submit(e);
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(vigil_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	if ((u32)BPF_CORE_READ(cgrp, root, hierarchy_id) == vigil_cg_hierarchy_id)
		vigil_mark_ctr_root(cgrp);
	return cgroup_event(cgrp, path, VIGIL_EV_CGROUP_MKDIR);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(vigil_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	u64 id = BPF_CORE_READ(cgrp, kn, id);

	if ((u32)BPF_CORE_READ(cgrp, root, hierarchy_id) == vigil_cg_hierarchy_id)
		bpf_map_delete_elem(&ctr_roots, &id);
	return cgroup_event(cgrp, path, VIGIL_EV_CGROUP_RMDIR);
}

/*
 * Kernel OOM kills (lib/oom.h).  The agent loads one of the two mark_victim
 * programs, whichever matches the kernel's tracepoint, and the kprobe where
 * kprobes attach.
 */
SEC("kprobe/oom_kill_process")
int BPF_KPROBE(vigil_oom_kprobe, struct oom_control *oc)
{
	vigil_oom_stash_oc(oc);
	return 0;
}

/*
 * 6.8+ (and backports): mark_victim(struct task_struct *, uid_t).  The _sig
 * variants tell kills by signal state, for kernels whose kallsyms lack the
 * OOM_KILL counter (lib/oom.h).
 */
SEC("tp_btf/mark_victim")
int BPF_PROG(vigil_oom_victim, struct task_struct *victim, u32 uid)
{
	vigil_oom_emit(victim, 0, true);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(vigil_oom_victim_sig, struct task_struct *victim, u32 uid)
{
	vigil_oom_emit(victim, 0, false);
	return 0;
}

/* Older kernels: mark_victim(int pid), the victim's tid only. */
SEC("tp_btf/mark_victim")
int BPF_PROG(vigil_oom_victim_pid, int pid)
{
	vigil_oom_emit(NULL, (u32)pid, true);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(vigil_oom_victim_pid_sig, int pid)
{
	vigil_oom_emit(NULL, (u32)pid, false);
	return 0;
}

/* Seed the agent's process table: one record per live thread-group leader. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct vigil_seed_record);
} seed_scratch SEC(".maps");

SEC("iter/task")
int vigil_seed(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct vigil_seed_record *r;
	struct file *exe;
	u32 zero = 0;
	int len;

	if (!task || task->pid != task->tgid)
		return 0;
	r = bpf_map_lookup_elem(&seed_scratch, &zero);
	if (!r)
		return 0;
	vigil_fill_task(&r->task, task);
	r->flags = 0;
	r->path_len = 0;
	r->path[0] = 0;
	exe = BPF_CORE_READ(task, mm, exe_file);
	if (exe) {
		len = vigil_path_of(task, &exe->f_path, r->path, &r->flags);
		r->path_len = len > 0 ? len : 0;
	}
	bpf_seq_write(ctx->meta->seq, r, sizeof(*r));
	return 0;
}
