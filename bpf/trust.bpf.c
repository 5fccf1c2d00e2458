// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * trust.bpf.c - trusted-binary enforcement (see bpf/trust.h, docs/TRUST.md).
 *
 * A file may run (exec), be mapped executable (shared libraries, LD_PRELOAD)
 * or be loaded as a kernel module only if its inode is in trust_inodes with
 * the ctime and size recorded when it was trusted.  Which processes are
 * judged, and how, comes from the TrustPolicy the agent compiled into
 * trust_cfg (host processes, containers not classified yet) and trust_scope
 * (one entry per container root cgroup).
 *
 * Two sets of programs; the agent loads one, chosen by its BPF LSM probe:
 *   - LSM: bprm_check_security, mmap_file, file_mprotect,
 *     kernel_read_file and kernel_load_data return -EPERM in enforce mode;
 *   - fallback: tp_btf/sched_process_exec and the mmap syscall tracepoint
 *     queue SIGKILL for the task (it dies before returning to user space,
 *     so the new image or library never runs an instruction); module loads
 *     are reported only.
 *
 * This object is separate from trace.bpf.c so that its maps and links can
 * be pinned: enforcement outlives the agent (kill -9 leaves it in force),
 * and a restarted agent adopts the pinned maps before replacing the links.
 * It shares the trace object's ring buffer, loss counters and container
 * roots (the agent hands it their fds).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "trust.h"
#include "lib/ringbuf.h"
#include "lib/task.h"
#include "lib/ctr.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EPERM 1
#define PROT_EXEC 0x4
#define MAP_ANONYMOUS 0x20
#define SIGKILL 9

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);	/* the agent sets trust.max_entries */
	__type(key, struct vigil_trust_key);
	__type(value, struct vigil_trust_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trust_inodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct vigil_trust_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trust_cfg SEC(".maps");

/* Container root cgroup id -> its scope.  Absent: cfg.ctr_default. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u64);
	__type(value, struct vigil_trust_scope);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trust_scope SEC(".maps");

/* The emergency switch: nonzero = judge nothing.  Only `vigil trust off/on` writes it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trust_switch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VIGIL_TRUST_STAT__MAX);
	__type(key, u32);
	__type(value, u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trust_stats SEC(".maps");

static __always_inline void count(u32 stat)
{
	u64 *n = bpf_map_lookup_elem(&trust_stats, &stat);

	if (n)
		*n += 1;
}

/*
 * inode ctime, across the field's renames: a struct timespec64 i_ctime up to
 * 6.5, __i_ctime in 6.6 - 6.10, split i_ctime_sec / i_ctime_nsec since
 * 6.11.  Since 6.13 the top bit of i_ctime_nsec flags a queried multigrain
 * timestamp; it is not part of the time (stat(2) never shows it).
 */
struct inode___v61 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

struct inode___v66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___v611 {
	time64_t i_ctime_sec;
	u32 i_ctime_nsec;
} __attribute__((preserve_access_index));

static __always_inline s64 inode_ctime_ns(struct inode *ino)
{
	s64 sec = 0, nsec = 0;

	if (bpf_core_field_exists(((struct inode___v611 *)ino)->i_ctime_sec)) {
		struct inode___v611 *i = (void *)ino;

		sec = BPF_CORE_READ(i, i_ctime_sec);
		nsec = BPF_CORE_READ(i, i_ctime_nsec) & 0x3fffffff;
	} else if (bpf_core_field_exists(((struct inode___v66 *)ino)->__i_ctime)) {
		struct inode___v66 *i = (void *)ino;

		sec = BPF_CORE_READ(i, __i_ctime.tv_sec);
		nsec = BPF_CORE_READ(i, __i_ctime.tv_nsec);
	} else {
		struct inode___v61 *i = (void *)ino;

		sec = BPF_CORE_READ(i, i_ctime.tv_sec);
		nsec = BPF_CORE_READ(i, i_ctime.tv_nsec);
	}
	return sec * 1000000000LL + nsec;
}

/* Where we are judging from, and what it makes of a violation. */
struct judge {
	struct vigil_trust_scope sc;
	u64 container;
	u32 generation;
	u32 flags;
};

/* The scope of the current task, or false when nothing is to be judged. */
static __always_inline bool scope_of(struct task_struct *t, struct judge *j)
{
	struct vigil_trust_scope *s;
	struct vigil_trust_cfg *cfg;
	u32 zero = 0, *off;

	off = bpf_map_lookup_elem(&trust_switch, &zero);
	if (off && *off) {
		count(VIGIL_TRUST_STAT_SWITCHED_OFF);
		return false;
	}
	cfg = bpf_map_lookup_elem(&trust_cfg, &zero);
	if (!cfg)
		return false;
	j->container = vigil_task_container(t);
	if (j->container) {
		s = bpf_map_lookup_elem(&trust_scope, &j->container);
		j->sc = s ? *s : cfg->ctr_default;
	} else {
		j->sc = cfg->host;
	}
	if (j->sc.mode == VIGIL_TRUST_OFF)
		return false;
	j->generation = cfg->generation;
	if (j->sc.mode == VIGIL_TRUST_ENFORCE && cfg->grace_ns &&
	    bpf_ktime_get_boot_ns() - cfg->heartbeat_ns > cfg->grace_ns)
		j->flags |= VIGIL_TRUST_F_FAIL_OPEN;
	return true;
}

/* 0: trusted and unchanged; else the violation's reason. */
static __always_inline u32 check_inode(struct inode *ino, s64 *ctime, u64 *size,
				       struct vigil_trust_key *k)
{
	struct vigil_trust_val *v;

	k->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	k->ino = BPF_CORE_READ(ino, i_ino);
	*ctime = inode_ctime_ns(ino);
	*size = BPF_CORE_READ(ino, i_size);
	count(VIGIL_TRUST_STAT_CHECKED);
	v = bpf_map_lookup_elem(&trust_inodes, k);
	if (!v)
		return VIGIL_TRUST_UNTRUSTED;
	if (v->ctime_ns != *ctime || v->size != *size)
		return VIGIL_TRUST_TAINTED;
	count(VIGIL_TRUST_STAT_ALLOWED);
	return 0;
}

static __always_inline void report(struct task_struct *t, struct file *file, struct judge *j,
				   const struct vigil_trust_key *k, s64 ctime, u64 size,
				   u32 hook, u32 reason, u32 action)
{
	struct vigil_trust_event *e;
	int len = -1;

	count(VIGIL_TRUST_STAT_VIOLATIONS);
	e = vigil_reserve(sizeof(*e), VIGIL_EV_TRUST);
	if (!e)
		return;
	vigil_fill_hdr(&e->hdr, VIGIL_EV_TRUST);
	vigil_fill_task(&e->task, t);
	e->container = j->container;
	e->dev = k->dev;
	e->ino = k->ino;
	e->ctime_ns = ctime;
	e->size = size;
	e->hook = hook;
	e->reason = reason;
	e->action = action;
	e->mode = j->sc.mode;
	e->rule = j->sc.rule;
	e->generation = j->generation;
	e->flags = j->flags;
	e->path[0] = 0;
	if (file) {
		u32 pf = 0;

		len = vigil_path_of(t, &file->f_path, e->path, &pf);
		if (pf & VIGIL_EXEC_PATH_TRUNCATED)
			e->flags |= VIGIL_TRUST_F_PATH_TRUNCATED;
	}
	e->path_len = len > 0 ? len : 0;
	/* The agent hashes the file while it is still there: wake it now. */
	vigil_submit_now(e);
}

/*
 * Judge one file.  Returns the action: 0 (allowed), or a VIGIL_TRUST_ACT_*.
 * lsm: the caller can refuse the operation; otherwise enforce means SIGKILL.
 * can_enforce: false for hooks that only report (module loads without LSM).
 */
static __always_inline u32 judge_file(struct file *file, u32 hook, bool lsm, bool can_enforce,
				      struct judge *j)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct vigil_trust_key k = {};
	struct inode *ino;
	u64 size = 0;
	s64 ctime = 0;
	u32 reason, action = VIGIL_TRUST_ACT_AUDIT;

	if (lsm)
		j->flags |= VIGIL_TRUST_F_LSM;
	if (file) {
		ino = BPF_CORE_READ(file, f_inode);
		if (!ino)
			return 0;
		reason = check_inode(ino, &ctime, &size, &k);
		if (!reason)
			return 0;
	} else {
		count(VIGIL_TRUST_STAT_CHECKED);
		reason = VIGIL_TRUST_UNTRUSTED;	/* a module from a buffer has no file to trust */
	}
	if (j->sc.mode == VIGIL_TRUST_ENFORCE && !(j->flags & VIGIL_TRUST_F_FAIL_OPEN)) {
		if (!can_enforce)
			j->flags |= VIGIL_TRUST_F_NO_ENFORCE;
		else if (lsm)
			action = VIGIL_TRUST_ACT_DENIED;
		else
			action = bpf_send_signal(SIGKILL) ? VIGIL_TRUST_ACT_KILL_FAILED :
							    VIGIL_TRUST_ACT_KILLED;
	}
	report(t, file, j, &k, ctime, size, hook, reason, action);
	return action;
}

/* ---------------------------------------------------------------- BPF LSM */

SEC("lsm/bprm_check_security")
int BPF_PROG(vigil_trust_bprm, struct linux_binprm *bprm, int ret)
{
	struct judge j = {};

	if (ret)
		return ret;
	if (!scope_of(bpf_get_current_task_btf(), &j))
		return 0;
	return judge_file(BPF_CORE_READ(bprm, file), VIGIL_TRUST_HOOK_EXEC, true, true, &j) ==
	       VIGIL_TRUST_ACT_DENIED ? -EPERM : 0;
}

SEC("lsm/mmap_file")
int BPF_PROG(vigil_trust_mmap, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	struct judge j = {};

	if (ret)
		return ret;
	if (!file || !(prot & PROT_EXEC))
		return 0;
	if (!scope_of(bpf_get_current_task_btf(), &j) || !j.sc.libraries)
		return 0;
	return judge_file(file, VIGIL_TRUST_HOOK_MMAP, true, true, &j) ==
	       VIGIL_TRUST_ACT_DENIED ? -EPERM : 0;
}

/* mprotect(PROT_EXEC) of a file mapping made without it: the same judgement as mmap. */
SEC("lsm/file_mprotect")
int BPF_PROG(vigil_trust_mprotect, struct vm_area_struct *vma, unsigned long reqprot,
	     unsigned long prot, int ret)
{
	struct judge j = {};
	struct file *file;

	if (ret)
		return ret;
	if (!(prot & PROT_EXEC))
		return 0;
	file = BPF_CORE_READ(vma, vm_file);
	if (!file)
		return 0;
	if (!scope_of(bpf_get_current_task_btf(), &j) || !j.sc.libraries)
		return 0;
	return judge_file(file, VIGIL_TRUST_HOOK_MMAP, true, true, &j) ==
	       VIGIL_TRUST_ACT_DENIED ? -EPERM : 0;
}

SEC("lsm/kernel_read_file")
int BPF_PROG(vigil_trust_kread, struct file *file, enum kernel_read_file_id id, bool contents,
	     int ret)
{
	struct judge j = {};

	if (ret)
		return ret;
	if (id != bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE))
		return 0;
	if (!scope_of(bpf_get_current_task_btf(), &j) || !j.sc.modules)
		return 0;
	return judge_file(file, VIGIL_TRUST_HOOK_MODULE, true, true, &j) ==
	       VIGIL_TRUST_ACT_DENIED ? -EPERM : 0;
}

SEC("lsm/kernel_load_data")
int BPF_PROG(vigil_trust_kload, enum kernel_load_data_id id, bool contents, int ret)
{
	struct judge j = {};

	if (ret)
		return ret;
	if (id != bpf_core_enum_value(enum kernel_load_data_id, LOADING_MODULE))
		return 0;
	if (!scope_of(bpf_get_current_task_btf(), &j) || !j.sc.modules)
		return 0;
	return judge_file(NULL, VIGIL_TRUST_HOOK_MODULE_DATA, true, true, &j) ==
	       VIGIL_TRUST_ACT_DENIED ? -EPERM : 0;
}

/* ---------------------------------------------------------------- fallback */

/*
 * sched_process_exec fires after the new image is set up and before the
 * task returns to user space; a SIGKILL queued here is acted on at that
 * return, so the image never runs.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(vigil_trust_exec_kill, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct judge j = {};

	if (!scope_of(p, &j))
		return 0;
	judge_file(BPF_CORE_READ(bprm, file), VIGIL_TRUST_HOOK_EXEC, false, true, &j);
	return 0;
}

/* The file behind fd in the current task, or NULL. */
static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	struct file **fds;
	struct file *f = NULL;
	struct fdtable *fdt;
	unsigned int max;

	if (fd < 0)
		return NULL;
	fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_core_read(&f, sizeof(f), &fds[fd]);
	return f;
}

struct mmap_args {
	unsigned long long _common;
	long _nr;
	unsigned long addr, len, prot, flags, fd, off;
};

/*
 * Without LSM there is no hook that can refuse the mapping, so the mapper
 * dies at syscall entry, before the mapping exists.  ld.so maps each
 * library's code segment with PROT_EXEC from the library's fd, so this
 * catches LD_PRELOAD and every DT_NEEDED library.
 */
SEC("tracepoint/syscalls/sys_enter_mmap")
int vigil_trust_mmap_kill(struct mmap_args *a)
{
	struct task_struct *t;
	struct judge j = {};
	struct file *f;

	if (!(a->prot & PROT_EXEC) || (a->flags & MAP_ANONYMOUS))
		return 0;
	t = bpf_get_current_task_btf();
	if (!scope_of(t, &j) || !j.sc.libraries)
		return 0;
	f = fd_file(t, (long)a->fd);
	if (f)
		judge_file(f, VIGIL_TRUST_HOOK_MMAP, false, true, &j);
	return 0;
}

struct finit_args {
	unsigned long long _common;
	long _nr;
	long fd;
	const char *uargs;
	long flags;
};

/* Module loads without LSM: reported, never stopped (docs/TRUST.md says why). */
SEC("tracepoint/syscalls/sys_enter_finit_module")
int vigil_trust_finit_audit(struct finit_args *a)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct judge j = {};
	struct file *f;

	if (!scope_of(t, &j) || !j.sc.modules)
		return 0;
	f = fd_file(t, a->fd);
	if (f)
		judge_file(f, VIGIL_TRUST_HOOK_MODULE, false, false, &j);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_init_module")
int vigil_trust_init_audit(void *a)
{
	struct judge j = {};

	if (!scope_of(bpf_get_current_task_btf(), &j) || !j.sc.modules)
		return 0;
	judge_file(NULL, VIGIL_TRUST_HOOK_MODULE_DATA, false, false, &j);
	return 0;
}

/*
 * Mark new container roots (as trace.bpf.c does): this link is pinned with
 * the others, so while no agent runs a new container is still judged as a
 * container, not as a host process.
 */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(vigil_trust_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	if ((u32)BPF_CORE_READ(cgrp, root, hierarchy_id) == vigil_cg_hierarchy_id)
		vigil_mark_ctr_root(cgrp);
	return 0;
}
