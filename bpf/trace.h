/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * trace.h - the process/signal tracing events, shared by bpf/trace.bpf.c and
 * the agent.  Each event type has exactly one struct, defined here and
 * nowhere else.  Keep the layout free of implicit padding surprises: both
 * sides are compiled for the same 64-bit little-endian target, but the BPF
 * side is built by clang -target bpf, so stick to fixed-width types.
 */
#ifndef VIGIL_BPF_TRACE_H
#define VIGIL_BPF_TRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
#endif

#define VIGIL_COMM_LEN 16
/* Binary path as resolved from the exec'd file's dentry chain. */
#define VIGIL_PATH_LEN 256
/* argv bytes copied from the new image's stack, NUL-separated. */
#define VIGIL_ARGS_LEN 512

enum vigil_event_type {
	VIGIL_EV_FORK = 1,
	VIGIL_EV_EXEC = 2,
	VIGIL_EV_EXIT = 3,
	VIGIL_EV_SIGNAL_GENERATE = 4,
	VIGIL_EV_SIGNAL_DELIVER = 5,
	/*
	 * Internal: cgroup creation/removal in the attribution hierarchy.  They
	 * let the agent learn a cgroup's path while it exists; sinks never
	 * see them.
	 */
	VIGIL_EV_CGROUP_MKDIR = 6,
	VIGIL_EV_CGROUP_RMDIR = 7,
	/* A file outside the trust store ran or was mapped (bpf/trust.h). */
	VIGIL_EV_TRUST = 8,
	/* The kernel's OOM killer chose a victim, or vigil's OOM policy killed one. */
	VIGIL_EV_OOM_KILL = 9,
	/*
	 * User space only: vigil's OOM policy is about to act (or, with
	 * dry_run, would have acted).  Never written by BPF.
	 */
	VIGIL_EV_OOM_PRE_KILL = 10,
	/*
	 * User space only: the leak scorer (agent/leak.c) confirmed a leak, or
	 * a confirmed leak stopped growing or exited.  Never written by BPF.
	 */
	VIGIL_EV_LEAK_SUSPECTED = 11,
	VIGIL_EV_LEAK_CLEARED = 12,
	VIGIL_EV__MAX,
};

/* Which cgroup hierarchy a task's cgroup id is read from. */
enum vigil_cgroup_source {
	VIGIL_CG_V2 = 0,	/* the default (unified) hierarchy */
	VIGIL_CG_V1_MEMORY = 1,
	VIGIL_CG_V1_PIDS = 2,
	VIGIL_CG_V1_CPU = 3,
};

/* cgroup path as the cgroup:cgroup_mkdir tracepoint gives it. */
#define VIGIL_CGROUP_PATH_LEN 512

/* Event-type bits for the `observe` config mask. */
#define VIGIL_OBS(type) (1u << (type))
#define VIGIL_OBS_ALL                                                          \
	(VIGIL_OBS(VIGIL_EV_FORK) | VIGIL_OBS(VIGIL_EV_EXEC) |                 \
	 VIGIL_OBS(VIGIL_EV_EXIT) | VIGIL_OBS(VIGIL_EV_SIGNAL_GENERATE) |      \
	 VIGIL_OBS(VIGIL_EV_SIGNAL_DELIVER))

/* vigil_exec_event.flags */
#define VIGIL_EXEC_ARGS_TRUNCATED (1u << 0)
#define VIGIL_EXEC_PATH_TRUNCATED (1u << 1)
#define VIGIL_EXEC_PATH_FROM_FILENAME (1u << 2) /* dentry walk failed */
#define VIGIL_EXEC_PATH_FROM_LSM (1u << 3) /* bpf_d_path in lsm.s/bprm_check_security */

/* Identity of one task, as seen at the moment of the event. */
struct vigil_task {
	u32 pid;	/* thread-group id: what user space calls the pid */
	u32 tid;
	u32 ppid;	/* real parent's tgid */
	u32 uid;
	u32 gid;
	u32 _pad;
	u64 cgroup_id;	/* kernfs id of the cgroup, in the hierarchy of cgroup_source */
	u64 start_ns;	/* group leader's start, CLOCK_MONOTONIC ns */
	char comm[VIGIL_COMM_LEN];
};

struct vigil_event_hdr {
	u32 type;	/* enum vigil_event_type */
	u32 cpu;
	u64 ts_ns;	/* CLOCK_MONOTONIC ns */
};

struct vigil_fork_event {
	struct vigil_event_hdr hdr;
	struct vigil_task parent;
	struct vigil_task child;
};

struct vigil_exec_event {
	struct vigil_event_hdr hdr;
	struct vigil_task task;
	u32 old_pid;	/* tid that called execve (differs if a non-leader thread exec'd) */
	u32 flags;	/* VIGIL_EXEC_* */
	u32 path_len;	/* bytes in path, without the NUL */
	u32 args_len;	/* bytes in args, NUL separators included */
	u32 argc;	/* from mm; may exceed what fits in args */
	u32 _pad;
	char path[VIGIL_PATH_LEN];
	char args[VIGIL_ARGS_LEN];
};

struct vigil_exit_event {
	struct vigil_event_hdr hdr;
	struct vigil_task task;
	u32 exit_code;	/* valid when signal == 0 */
	u32 signal;	/* terminating signal, 0 if exited normally */
	u32 core_dumped;
	u32 _pad;
	u64 lifetime_ns;
};

struct vigil_signal_event {
	struct vigil_event_hdr hdr;
	struct vigil_task sender;	/* generate: current; deliver: unused (zero) */
	struct vigil_task target;
	s32 sig;
	s32 si_code;	/* SI_USER (0), SI_KERNEL (0x80), SI_TKILL (-6), ... */
	s32 result;	/* generate: enum trace_sig_result; deliver: 0 */
	u32 group;	/* generate: sent to the whole thread group */
	u32 handler;	/* deliver: enum vigil_sig_handler */
	/*
	 * Signal policy (generate only): the generation and rule index whose
	 * verdict applied, or policy_rule == -1 when no rule matched.
	 */
	u32 policy_gen;
	s32 policy_rule;
	u8 policy_action;	/* enum vigil_sig_act (bpf/sigtables.h) as configured */
	u8 policy_outcome;	/* VIGIL_SIG_OUT_* */
	u16 _pad;
};

/* vigil_signal_event.policy_outcome */
#define VIGIL_SIG_OUT_DENIED (1u << 0)		/* the LSM hook returned -EPERM */
#define VIGIL_SIG_OUT_SENDER_KILLED (1u << 1)	/* SIGKILL queued to the sender */
#define VIGIL_SIG_OUT_KILL_FAILED (1u << 2)	/* bpf_send_signal() failed */

struct vigil_cgroup_event {
	struct vigil_event_hdr hdr;
	u64 cgroup_id;		/* kernfs id, as in vigil_task.cgroup_id */
	u32 hierarchy_id;	/* 0 = the v2 hierarchy */
	u32 path_len;		/* bytes in path, without the NUL */
	char path[VIGIL_CGROUP_PATH_LEN];	/* relative to the hierarchy root */
};

enum vigil_sig_handler {
	VIGIL_SIG_HANDLER_DEFAULT = 0,
	VIGIL_SIG_HANDLER_IGNORE = 1,
	VIGIL_SIG_HANDLER_USER = 2,
};

/* Mirrors the kernel's enum trace_sig_result (include/trace/events/signal.h). */
enum vigil_sig_result {
	VIGIL_SIG_DELIVERED = 0,
	VIGIL_SIG_IGNORED = 1,
	VIGIL_SIG_ALREADY_PENDING = 2,
	VIGIL_SIG_OVERFLOW_FAIL = 3,
	VIGIL_SIG_LOSE_INFO = 4,
	/* Not the kernel's: the signal policy made kill(2) fail with EPERM. */
	VIGIL_SIG_DENIED = 100,
};

/* vigil_oom_event.flags */
#define VIGIL_OOM_GLOBAL (1u << 0)	/* no memcg limit was hit: the node (or a cpuset/mempolicy) ran out */
#define VIGIL_OOM_MEMCG_EXACT (1u << 1)	/* memcg_id is struct oom_control's (kprobe); else inferred */
#define VIGIL_OOM_BY_VIGIL (1u << 2)	/* built in user space by the OOM policy engine */
#define VIGIL_OOM_NO_MM (1u << 3)	/* the victim had no mm left: rss fields are 0 */
#define VIGIL_OOM_FROM_KPROBE (1u << 4)	/* kprobe/oom_kill_process; else tp_btf/mark_victim */
#define VIGIL_OOM_VICTIM_PID_ONLY (1u << 5)	/* old mark_victim(int pid): only victim.pid is valid */

/*
 * One OOM kill.  Kernel kills come from tp_btf/mark_victim or
 * kprobe/oom_kill_process (bpf/trace.bpf.c); vigil's own kills are built by
 * the OOM policy engine with VIGIL_OOM_BY_VIGIL and the same layout, so
 * both go through one decoder and one formatter.
 */
struct vigil_oom_event {
	struct vigil_event_hdr hdr;
	struct vigil_task victim;
	struct vigil_task trigger;	/* the task whose allocation failed (current); zero for vigil */
	u64 memcg_id;		/* kernfs id of the OOM-ing memcg's cgroup, in the memory
				 * controller's hierarchy; 0 = global or unknown */
	u64 memcg_usage;	/* bytes charged to that memcg at the kill */
	u64 memcg_limit;	/* bytes; 0 for a global OOM */
	u64 victim_memcg_id;	/* the victim's own memcg (same hierarchy) */
	u64 rss_anon;		/* bytes */
	u64 rss_file;		/* bytes */
	u64 rss_shmem;		/* bytes */
	u64 swap;		/* bytes in swap entries */
	u64 total_vm;		/* bytes */
	u64 points;		/* kprobe only: the kernel's badness of the victim (pages) */
	u64 totalpages;		/* kprobe only: the OOM's memory size, pages */
	s32 oom_score_adj;
	u32 flags;		/* VIGIL_OOM_* */
};

/*
 * Seed record written by the iter/task program, one per thread-group leader
 * alive when the agent starts.  Not a ring-buffer event: it is read from the
 * iterator's seq_file.
 */
struct vigil_seed_record {
	struct vigil_task task;
	u32 path_len;
	u32 flags;	/* VIGIL_EXEC_PATH_* */
	char path[VIGIL_PATH_LEN];
};

/* The leak scorer's events (user space only): who; the rest is in vigil_leak_info. */
struct vigil_leak_event {
	struct vigil_event_hdr hdr;
	struct vigil_task task;
};

#endif /* VIGIL_BPF_TRACE_H */
