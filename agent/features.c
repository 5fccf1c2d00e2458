/*
 * features.c - find out what this kernel lets vigil do, by trying it.
 *
 * Each probe loads the smallest program that exercises one capability
 * ("r0 = 0; exit"), attaches it, and closes it again at once, or reads the
 * file the kernel publishes.  Kernel version numbers are never consulted:
 * distribution kernels backport features, and hardened hosts (lockdown,
 * blocked trampolines, CONFIG_KPROBES unset) refuse things their version
 * would suggest they have.  A failure is recorded with the step that failed
 * and the kernel's errno text, because "no" alone does not tell an operator
 * what to fix.
 *
 * Nothing here prints except the two print functions.  The probes leave no
 * program or link behind; the only lasting side effect is mounting
 * securityfs when it is absent, which systemd would have done anyway.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/magic.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "features.h"
#include "memsample.h"
#include "trace.h"
#include "symbolize.h"

#define SECURITYFS_DIR	"/sys/kernel/security"
#define KPROBE_PMU_TYPE	VIGIL_KPROBE_PMU_TYPE

/* "r0 = 0; exit": valid for every hook we probe, and a no-op (LSM: allow). */
static const struct bpf_insn ret0_insns[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};
#define RET0_CNT (sizeof(ret0_insns) / sizeof(ret0_insns[0]))

/* vsnprintf keeps -Wformat-truncation quiet: a cut-off why is acceptable. */
static void __attribute__((format(printf, 3, 4)))
set_why(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

#define PROBE_SET(p, res, ...) do {					\
	(p)->ok = (res);						\
	set_why((p)->why, sizeof((p)->why), __VA_ARGS__);		\
} while (0)
#define PROBE_OK(p, ...)	PROBE_SET(p, true, __VA_ARGS__)
#define PROBE_FAIL(p, ...)	PROBE_SET(p, false, __VA_ARGS__)

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* Read a small text file into buf, NUL-terminated. 0 or -errno. */
static int read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		err = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return err;
}

/*
 * Load "r0 = 0; exit" as `type`, bound to a BTF id for the tracing family
 * (0 otherwise).  On a verifier rejection libbpf retries with a log, whose
 * last line the why can quote; EPERM (blocked trampolines, no CAP_BPF) comes
 * with no log.  Returns the fd or -errno.
 */
static int load_ret0(enum bpf_prog_type type, enum bpf_attach_type eat, int btf_id,
		     char *log, size_t log_len)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		.expected_attach_type = eat,
		.attach_btf_id = btf_id,
		.log_buf = log,
		.log_size = log_len,
	);
	int fd;

	if (log_len)
		log[0] = '\0';
	fd = bpf_prog_load(type, "vigil_probe", "GPL", ret0_insns, RET0_CNT, &opts);
	return fd < 0 ? -errno : fd;
}

/* Last non-empty line of a verifier log, in place; "" if none. */
static const char *last_line(char *log)
{
	char *end = log + strlen(log);
	char *p;

	while (end > log && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	p = strrchr(log, '\n');
	return p ? p + 1 : log;
}

static void fail_load(struct vigil_probe *p, int err, char *log)
{
	const char *line = last_line(log);

	if (*line)
		PROBE_FAIL(p, "load: %s (verifier: %s)", strerror(-err), line);
	else
		PROBE_FAIL(p, "load: %s", strerror(-err));
}

/*
 * Attach a tracing/LSM program.  BPF_LINK_CREATE is the modern path; kernels
 * that predate link_create for tracing programs answer EINVAL, and the
 * raw_tracepoint_open path attaches the same program there.
 */
static int attach_tracing(int prog_fd, enum bpf_attach_type type)
{
	int fd;

	/* tp_btf attaches through raw_tracepoint_open on every kernel that has it. */
	if (type == BPF_TRACE_RAW_TP) {
		fd = bpf_raw_tracepoint_open(NULL, prog_fd);
	} else {
		fd = bpf_link_create(prog_fd, 0, type, NULL);
		if (fd < 0 && errno == EINVAL && type != BPF_TRACE_ITER)
			fd = bpf_raw_tracepoint_open(NULL, prog_fd);
	}
	return fd < 0 ? -errno : fd;
}

/* Load + attach one tracing-family program and record which step failed. */
static bool try_hook(struct vigil_probe *p, enum bpf_prog_type type, enum bpf_attach_type eat,
		     int btf_id, enum bpf_attach_type link_type)
{
	char log[1024];
	int prog, link;

	prog = load_ret0(type, eat, btf_id, log, sizeof(log));
	if (prog < 0) {
		fail_load(p, prog, log);
		return false;
	}
	link = attach_tracing(prog, link_type);
	close(prog);
	if (link < 0) {
		PROBE_FAIL(p, "attach: %s", strerror(-link));
		return false;
	}
	close(link);
	p->ok = true;
	return true;
}

static int btf_id_of(const struct btf *btf, const char *name, int kind)
{
	return btf ? btf__find_by_name_kind(btf, name, kind) : -ENOENT;
}

static void probe_btf(struct vigil_features *f, struct btf **btf)
{
	*btf = btf__load_vmlinux_btf();
	if (!*btf) {
		PROBE_FAIL(&f->btf, "vmlinux BTF: %s", strerror(errno));
		return;
	}
	PROBE_OK(&f->btf, "%u types", btf__type_cnt(*btf) - 1);
}

static void probe_ringbuf(struct vigil_features *f)
{
	int r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	int fd;

	if (r == 1) {
		f->ringbuf.ok = true;
		return;
	}
	/*
	 * libbpf answers 0 for "not permitted" too; create the map ourselves so
	 * the why tells a missing feature from a missing privilege.
	 */
	fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, sysconf(_SC_PAGESIZE), NULL);
	if (fd >= 0) {
		close(fd);
		PROBE_FAIL(&f->ringbuf, "libbpf probe failed (%d) but a ring buffer was created", r);
	} else if (errno == EINVAL) {
		PROBE_FAIL(&f->ringbuf, "kernel has no BPF_MAP_TYPE_RINGBUF");
	} else {
		PROBE_FAIL(&f->ringbuf, "map create: %s", strerror(errno));
	}
}

/* Every BTF-bound probe needs the vmlinux BTF id of its target first. */
static bool need_id(struct vigil_probe *p, const struct btf *btf, const char *name, int kind,
		    int *id)
{
	if (!btf) {
		PROBE_FAIL(p, "needs vmlinux BTF");
		return false;
	}
	*id = btf_id_of(btf, name, kind);
	if (*id <= 0) {
		PROBE_FAIL(p, "%s not in vmlinux BTF", name);
		return false;
	}
	return true;
}

static void probe_tp_btf(struct vigil_features *f, const struct btf *btf)
{
	int id;

	if (!need_id(&f->tp_btf, btf, "btf_trace_sched_process_exec", BTF_KIND_TYPEDEF, &id))
		return;
	if (try_hook(&f->tp_btf, BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, id, BPF_TRACE_RAW_TP))
		set_why(f->tp_btf.why, sizeof(f->tp_btf.why), "sched_process_exec");
}

static void probe_iter_task(struct vigil_features *f, const struct btf *btf)
{
	int id;

	/* "bpf_iter_task" is also a STRUCT; the iterator target is the FUNC. */
	if (!need_id(&f->iter_task, btf, "bpf_iter_task", BTF_KIND_FUNC, &id))
		return;
	try_hook(&f->iter_task, BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, id, BPF_TRACE_ITER);
}

static void probe_fentry(struct vigil_features *f, const struct btf *btf)
{
	/* Long-lived, non-inlined functions; the first one in BTF is used. */
	static const char *const targets[] = {
		"security_bprm_check", "do_unlinkat", "vfs_read", "do_sys_openat2",
	};
	size_t i;
	int id = -ENOENT;

	if (!btf) {
		PROBE_FAIL(&f->fentry, "needs vmlinux BTF");
		return;
	}
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		id = btf_id_of(btf, targets[i], BTF_KIND_FUNC);
		if (id > 0)
			break;
	}
	if (id <= 0) {
		PROBE_FAIL(&f->fentry, "no fentry target (security_bprm_check, ...) in BTF");
		return;
	}
	if (try_hook(&f->fentry, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, id, BPF_TRACE_FENTRY))
		set_why(f->fentry.why, sizeof(f->fentry.why), "%s", targets[i]);
}

/*
 * Kprobes are attached the way libbpf does on modern kernels: a perf event
 * of the kprobe PMU with the BPF program set on it.  No PMU means the kernel
 * was built without CONFIG_KPROBES (or is older than the PMU, 4.17).
 */
/* Attach "r0 = 0" as a kprobe at the first of targets that exists. */
static void probe_kprobe_at(struct vigil_probe *p, const char *const *targets, size_t n)
{
	char buf[32], log[1024];
	int type, prog, pfd = -1, err = 0;
	size_t i;

	err = read_small(KPROBE_PMU_TYPE, buf, sizeof(buf));
	if (err == -ENOENT) {
		PROBE_FAIL(p, "no kprobe PMU (%s missing): kernel built without "
			   "CONFIG_KPROBES", KPROBE_PMU_TYPE);
		return;
	}
	if (err) {
		PROBE_FAIL(p, "%s: %s", KPROBE_PMU_TYPE, strerror(-err));
		return;
	}
	type = atoi(buf);

	prog = load_ret0(BPF_PROG_TYPE_KPROBE, 0, 0, log, sizeof(log));
	if (prog < 0) {
		fail_load(p, prog, log);
		return;
	}
	for (i = 0; i < n; i++) {
		struct perf_event_attr attr = {
			.size = sizeof(attr),
			.type = type,
			.config1 = (uint64_t)(uintptr_t)targets[i],	/* kprobe_func */
			.config2 = 0,					/* offset */
		};

		pfd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
		if (pfd >= 0)
			break;
		err = errno;
		/* Only a missing symbol is worth another target. */
		if (err != ENOENT && err != EINVAL)
			break;
	}
	if (pfd < 0) {
		PROBE_FAIL(p, "perf_event_open(kprobe %s): %s", n == 1 ? targets[0] : "",
			   strerror(err));
		goto out;
	}
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog) < 0) {
		PROBE_FAIL(p, "attach: %s", strerror(errno));
		goto out;
	}
	PROBE_OK(p, "%s", targets[i]);
out:
	if (pfd >= 0)
		close(pfd);
	close(prog);
}

/*
 * A uprobe, attached the way libbpf attaches one: a perf event of the uprobe
 * PMU on a file offset, with the program set on it.  The target is this
 * binary's ELF entry point, which never runs again, and the event is for
 * this process only, so no other process gets a breakpoint.
 */
static void probe_uprobes(struct vigil_features *f)
{
	const char *self = "/proc/self/exe";
	struct vigil_probe *p = &f->uprobes;
	struct perf_event_attr attr = { .size = sizeof(attr) };
	char buf[32], log[1024];
	uint64_t off;
	int type, prog, pfd, err;

	err = read_small(VIGIL_UPROBE_PMU_TYPE, buf, sizeof(buf));
	if (err) {
		PROBE_FAIL(p, err == -ENOENT ? "no uprobe PMU (%s missing): kernel built without "
			   "CONFIG_UPROBE_EVENTS" : "%s: %s", VIGIL_UPROBE_PMU_TYPE, strerror(-err));
		return;
	}
	type = atoi(buf);
	err = symbolize_entry_offset(self, &off);
	if (err) {
		PROBE_FAIL(p, "entry point of %s: %s", self, strerror(-err));
		return;
	}
	prog = load_ret0(BPF_PROG_TYPE_KPROBE, 0, 0, log, sizeof(log));
	if (prog < 0) {
		fail_load(p, prog, log);
		return;
	}
	attr.type = type;
	attr.config1 = (uint64_t)(uintptr_t)self;	/* uprobe_path */
	attr.config2 = off;				/* probe_offset */
	pfd = syscall(SYS_perf_event_open, &attr, getpid(), -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		PROBE_FAIL(p, "perf_event_open(uprobe): %s", strerror(errno));
	else if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog) < 0)
		PROBE_FAIL(p, "attach: %s", strerror(errno));
	else
		PROBE_OK(p, "uprobe PMU");
	if (pfd >= 0)
		close(pfd);
	close(prog);
}

static void probe_kprobes(struct vigil_features *f)
{
	static const char *const targets[] = { "do_sys_openat2", "do_sys_open", "vfs_read" };

	probe_kprobe_at(&f->kprobes, targets, sizeof(targets) / sizeof(targets[0]));
}

int features_mark_victim_args(const struct btf *btf)
{
	const struct btf_type *t;
	int id;

	if (!btf)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, "btf_trace_mark_victim", BTF_KIND_TYPEDEF);
	if (id <= 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	/* typedef -> pointer -> func proto (void *__data, args...) */
	while (t && (btf_is_typedef(t) || btf_is_ptr(t) || btf_is_mod(t)))
		t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 1)
		return -EINVAL;
	return btf_vlen(t) - 1;
}

bool features_ksym_exists(const char *name)
{
	char line[512], sym[256];
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %255s", sym) == 1 && !strcmp(sym, name);
	if (f)
		fclose(f);
	return found;
}

/* What OOM capture will use: the tracepoint's signature and the kprobe. */
static void probe_oom_capture(struct vigil_features *f, const struct btf *btf)
{
	static const char *const target[] = { "oom_kill_process" };
	int n = features_mark_victim_args(btf);

	f->mark_victim_args = n == 1 || n == 2 ? n : 0;
	if (f->tp_mark_victim.ok && n == 2)
		PROBE_OK(&f->tp_mark_victim, "mark_victim(struct task_struct *, uid_t)");
	else if (f->tp_mark_victim.ok && n == 1)
		PROBE_OK(&f->tp_mark_victim, "mark_victim(int pid)");
	else if (f->tp_mark_victim.ok)
		PROBE_OK(&f->tp_mark_victim, "mark_victim: unknown signature (%d arguments)", n);
	if (features_ksym_exists("vm_event_states"))
		PROBE_OK(&f->oom_counter, "vm_event_states in kallsyms");
	else
		PROBE_FAIL(&f->oom_counter, "vm_event_states not in kallsyms (CONFIG_KALLSYMS_ALL off)");
	if (!f->kprobes.ok)
		PROBE_FAIL(&f->kp_oom_kill, "%s", f->kprobes.why[0] ? f->kprobes.why : "no kprobes");
	else if (btf && btf__find_by_name_kind(btf, "oom_kill_process", BTF_KIND_FUNC) <= 0)
		PROBE_FAIL(&f->kp_oom_kill, "oom_kill_process not in vmlinux BTF");
	else
		probe_kprobe_at(&f->kp_oom_kill, target, 1);
}

/*
 * libbpf 1.1 cannot probe helpers for TRACING programs; the helper is
 * offered to kprobe, tracepoint and tracing programs alike, so a
 * tracepoint answer holds for tp_btf too.  KPROBE is the second try for
 * kernels where tracepoint programs are unavailable.
 */
static void probe_send_signal(struct vigil_features *f)
{
	char log[256];
	int r;

	/*
	 * libbpf reports a helper as present whenever the verifier does not
	 * name it as unknown, including when the load is refused outright, so
	 * first make sure a plain tracepoint program loads at all.
	 */
	r = load_ret0(BPF_PROG_TYPE_TRACEPOINT, 0, 0, log, sizeof(log));
	if (r < 0)
		r = load_ret0(BPF_PROG_TYPE_KPROBE, 0, 0, log, sizeof(log));
	if (r < 0) {
		fail_load(&f->send_signal, r, log);
		return;
	}
	close(r);
	r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_send_signal, NULL);
	if (r < 0)
		r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_send_signal, NULL);
	if (r == 1)
		f->send_signal.ok = true;
	else if (r == 0)
		PROBE_FAIL(&f->send_signal, "helper bpf_send_signal not offered");
	else
		PROBE_FAIL(&f->send_signal, "helper probe: %s", strerror(-r));
}

/*
 * The LSM list and lockdown state live in securityfs.  Mount it only when
 * nothing is there; returns "" or a note for the why strings.
 */
static const char *ensure_securityfs(char *note, size_t len)
{
	struct statfs st;

	note[0] = '\0';
	if (statfs(SECURITYFS_DIR, &st) == 0 && (unsigned long)st.f_type == SECURITYFS_MAGIC)
		return note;
	if (mount("securityfs", SECURITYFS_DIR, "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		set_why(note, len, "securityfs not mounted and mount failed: %s", strerror(errno));
	else
		set_why(note, len, "mounted securityfs at " SECURITYFS_DIR);
	return note;
}

static void probe_lsm_listed(struct vigil_features *f, const char *mount_note)
{
	char buf[256], *tok, *save;
	char list[256];
	int err;

	err = read_small(SECURITYFS_DIR "/lsm", buf, sizeof(buf));
	if (err) {
		PROBE_FAIL(&f->lsm_listed, "%s/lsm: %s%s%s", SECURITYFS_DIR, strerror(-err),
			   *mount_note ? "; " : "", mount_note);
		return;
	}
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(list, sizeof(list), "%s", buf);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "bpf") == 0) {
			PROBE_OK(&f->lsm_listed, "%s", list);
			return;
		}
	}
	PROBE_FAIL(&f->lsm_listed, "bpf not in active LSMs: %s", list);
}

static void probe_lsm(struct vigil_features *f, const struct btf *btf)
{
	int id;

	if (!need_id(&f->lsm, btf, "bpf_lsm_bprm_check_security", BTF_KIND_FUNC, &id))
		return;
	/* Returning 0 allows every exec, so the brief attach is harmless. */
	if (!try_hook(&f->lsm, BPF_PROG_TYPE_LSM, BPF_LSM_MAC, id, BPF_LSM_MAC))
		return;
	/* A hook that attaches but is never called enforces nothing. */
	if (!f->lsm_listed.ok)
		PROBE_FAIL(&f->lsm, "loads and attaches, but bpf is not an active LSM");
	else
		PROBE_OK(&f->lsm, "bprm_check_security");
}

/* A tracepoint later modules attach with tp_btf: present in vmlinux BTF? */
static void probe_tracepoint(struct vigil_probe *p, const struct btf *btf, const char *name)
{
	if (!btf)
		PROBE_FAIL(p, "no vmlinux BTF");
	else if (btf_id_of(btf, name, BTF_KIND_TYPEDEF) > 0)
		PROBE_OK(p, "%s", name + strlen("btf_trace_"));
	else
		PROBE_FAIL(p, "%s not in vmlinux BTF", name + strlen("btf_trace_"));
}

static void probe_psi(struct vigil_features *f)
{
	char buf[256];
	int err = read_small("/proc/pressure/memory", buf, sizeof(buf));

	if (err)
		PROBE_FAIL(&f->psi, "/proc/pressure/memory: %s", strerror(-err));
	else
		f->psi.ok = true;
}

static void probe_lockdown(struct vigil_features *f)
{
	char buf[128], *open_b, *close_b;

	snprintf(f->lockdown, sizeof(f->lockdown), "unknown");
	if (read_small(SECURITYFS_DIR "/lockdown", buf, sizeof(buf)))
		return;
	open_b = strchr(buf, '[');
	close_b = open_b ? strchr(open_b, ']') : NULL;
	if (!close_b)
		return;
	*close_b = '\0';
	snprintf(f->lockdown, sizeof(f->lockdown), "%s", open_b + 1);
}

static int count_sample(const struct vigil_mem_sample *s, void *ctx)
{
	(*(long *)ctx)++;
	return 0;
}

/*
 * The memory sampler itself, not a stand-in: its object is what has to get
 * past this kernel's verifier, with its CO-RE relocations and per-CPU reads.
 * One pass proves the iterator reads too.
 */
static void probe_mem_sampler(struct vigil_features *f)
{
	struct vigil_memsampler *m;
	char why[sizeof(f->mem_sampler.why)];
	long n = 0, got;

	if (memsampler_open(&m, VIGIL_CG_V2, 0, why, sizeof(why))) {
		PROBE_FAIL(&f->mem_sampler, "%s", why);
		return;
	}
	got = memsampler_read(m, count_sample, &n);
	f->mem_task_list = !strcmp(memsampler_walk(m), "task-list");
	memsampler_close(m);
	if (got < 0)
		PROBE_FAIL(&f->mem_sampler, "reading the task iterator: %s", strerror((int)-got));
	else
		PROBE_OK(&f->mem_sampler, "a pass read %ld processes", n);
}

void features_probe(struct vigil_features *f)
{
	libbpf_print_fn_t prev = libbpf_set_print(quiet_print);
	struct btf *btf = NULL;
	char note[160];

	memset(f, 0, sizeof(*f));
	probe_btf(f, &btf);
	probe_ringbuf(f);
	probe_tp_btf(f, btf);
	probe_iter_task(f, btf);
	probe_fentry(f, btf);
	probe_kprobes(f);
	probe_uprobes(f);
	probe_send_signal(f);
	ensure_securityfs(note, sizeof(note));
	probe_lsm_listed(f, note);
	probe_lsm(f, btf);
	probe_tracepoint(&f->tp_mark_victim, btf, "btf_trace_mark_victim");
	probe_tracepoint(&f->tp_rss_stat, btf, "btf_trace_rss_stat");
	probe_oom_capture(f, btf);
	probe_psi(f);
	probe_mem_sampler(f);
	probe_lockdown(f);
	if (cgroup_layout_detect(&f->cgroups) < 0)
		memset(&f->cgroups, 0, sizeof(f->cgroups));
	btf__free(btf);
	libbpf_set_print(prev);
}

bool features_probe_lsm(struct vigil_probe *out)
{
	libbpf_print_fn_t prev = libbpf_set_print(quiet_print);
	struct vigil_features f;
	struct btf *btf = NULL;
	char note[160];

	memset(&f, 0, sizeof(f));
	probe_btf(&f, &btf);
	ensure_securityfs(note, sizeof(note));
	probe_lsm_listed(&f, note);
	if (f.lsm_listed.ok)
		probe_lsm(&f, btf);
	else
		f.lsm = f.lsm_listed;
	btf__free(btf);
	libbpf_set_print(prev);
	*out = f.lsm;
	return f.lsm.ok;
}

/* Why BPF LSM is out, in the words an operator needs. */
static void lsm_reason(const struct vigil_features *f, char *buf, size_t len)
{
	if (!f->lsm_listed.ok)
		set_why(buf, len, "BPF LSM not active (%s)", f->lsm_listed.why);
	else
		set_why(buf, len, "BPF LSM not usable (%s)", f->lsm.why);
}

/* Why tp_btf tracing is out: the first missing prerequisite. */
static void trace_reason(const struct vigil_features *f, char *buf, size_t len)
{
	if (!f->btf.ok)
		set_why(buf, len, "no vmlinux BTF (%s)", f->btf.why);
	else if (!f->ringbuf.ok)
		set_why(buf, len, "no ring buffer (%s)", f->ringbuf.why);
	else
		set_why(buf, len, "tp_btf unusable (%s)", f->tp_btf.why);
}

void features_modes(const struct vigil_features *f, struct vigil_module_mode out[VIGIL_MOD__COUNT])
{
	bool trace_ok = f->btf.ok && f->ringbuf.ok && f->tp_btf.ok;
	char lsm_why[200], trace_why[200];
	struct vigil_module_mode *m;

	lsm_reason(f, lsm_why, sizeof(lsm_why));
	trace_reason(f, trace_why, sizeof(trace_why));

	m = &out[VIGIL_MOD_TRACE];
	*m = (struct vigil_module_mode){ .module = "trace", .implemented = true };
	if (trace_ok && f->lsm.ok) {
		m->mode = "tp_btf+lsm";
		set_why(m->why, sizeof(m->why), "sched_process_exec/exit/fork, signal_generate/deliver; "
			"exec paths by bpf_d_path in lsm.s/bprm_check_security");
	} else if (trace_ok) {
		m->mode = "tp_btf";
		set_why(m->why, sizeof(m->why), "sched_process_exec/exit/fork, signal_generate/deliver; "
			"exec paths by a dentry walk (64 levels), as BPF LSM is out");
	} else {
		m->mode = "unavailable";
		set_why(m->why, sizeof(m->why), "%s", trace_why);
	}

	m = &out[VIGIL_MOD_EXEC_ENFORCE];
	*m = (struct vigil_module_mode){ .module = "exec-enforcement", .implemented = true };
	if (f->lsm.ok) {
		m->mode = "lsm";
		set_why(m->why, sizeof(m->why),
			"TrustPolicy: an untrusted or changed file fails with EPERM at exec "
			"(bprm_check_security), executable mmap (mmap_file) and module load "
			"(kernel_read_file, kernel_load_data)");
	} else if (trace_ok && f->send_signal.ok) {
		m->mode = "sigkill-fallback";
		set_why(m->why, sizeof(m->why), "%s; TrustPolicy: an untrusted exec is killed with "
			"SIGKILL from tp_btf/sched_process_exec before the new image runs, an "
			"executable mmap at the mmap syscall's entry; module loads are only reported",
			lsm_why);
	} else {
		m->mode = "unavailable";
		set_why(m->why, sizeof(m->why), "%s; fallback needs tp_btf and bpf_send_signal: %s",
			lsm_why, !trace_ok ? trace_why : f->send_signal.why);
	}

	m = &out[VIGIL_MOD_SIGNAL_POLICY];
	*m = (struct vigil_module_mode){ .module = "signal-policy", .implemented = true };
	if (f->lsm.ok) {
		m->mode = "lsm";
		set_why(m->why, sizeof(m->why), "lsm/task_kill denies a forbidden signal with EPERM");
	} else if (trace_ok && f->send_signal.ok) {
		m->mode = "audit+kill-sender";
		set_why(m->why, sizeof(m->why), "%s; a signal cannot be stopped after the fact, so "
			"deny degrades to audit (tp_btf/signal_generate reports it), plus SIGKILL to "
			"the sender where a rule's fallback is kill-sender", lsm_why);
	} else if (trace_ok) {
		m->mode = "audit-only";
		set_why(m->why, sizeof(m->why), "%s; tp_btf/signal_generate reports signals, and "
			"bpf_send_signal does not work for kill-sender: %s", lsm_why, f->send_signal.why);
	} else {
		m->mode = "unavailable";
		set_why(m->why, sizeof(m->why), "%s; %s", lsm_why, trace_why);
	}

	m = &out[VIGIL_MOD_OOM];
	*m = (struct vigil_module_mode){ .module = "oom", .implemented = true };
	if (trace_ok && f->tp_mark_victim.ok) {
		m->mode = "tp_btf";
		set_why(m->why, sizeof(m->why), "oom:mark_victim names each kernel OOM victim%s; %s",
			f->fentry.ok ? " + fentry" : "",
			f->psi.ok ? "PSI memory triggers drive the policy"
				  : "no PSI, policy polls memory usage");
	} else {
		m->mode = "unavailable";
		if (!trace_ok)
			set_why(m->why, sizeof(m->why), "%s", trace_why);
		else
			set_why(m->why, sizeof(m->why), "tracepoint oom:mark_victim not in vmlinux BTF");
	}

	/* Kernel OOM kills as events: the same choice as agent/loader.c makes. */
	m = &out[VIGIL_MOD_OOM_CAPTURE];
	*m = (struct vigil_module_mode){ .module = "oom-capture", .implemented = true };
	if (!trace_ok || !f->tp_mark_victim.ok) {
		m->mode = "unavailable";
		set_why(m->why, sizeof(m->why), "%s", !trace_ok ? trace_why : f->tp_mark_victim.why);
	} else if (f->mark_victim_args == 1 && f->kp_oom_kill.ok) {
		m->mode = "kprobe+tp_btf";
		set_why(m->why, sizeof(m->why), "kprobe/oom_kill_process reads the OOM-ing memcg, "
			"the victim and its badness; tp_btf/mark_victim (old form: a pid) sends the event");
	} else if (f->mark_victim_args == 1) {
		m->mode = "tp_btf-pid-only";
		set_why(m->why, sizeof(m->why), "tp_btf/mark_victim gives only the victim's pid "
			"(its memory is not read) and the OOM-ing memcg is inferred, as "
			"kprobe/oom_kill_process is out (see oom kprobe)");
	} else if (f->kp_oom_kill.ok) {
		m->mode = "kprobe+tp_btf";
		set_why(m->why, sizeof(m->why), "tp_btf/mark_victim names the victim and its memory; "
			"kprobe/oom_kill_process gives the OOM-ing memcg and the victim's badness exactly");
	} else {
		m->mode = "tp_btf";
		set_why(m->why, sizeof(m->why), "tp_btf/mark_victim names the victim and its memory; "
			"the OOM-ing memcg is inferred from usage at its limit, as "
			"kprobe/oom_kill_process is out (see oom kprobe)");
	}

	if (strcmp(m->mode, "unavailable")) {
		size_t used = strlen(m->why);

		set_why(m->why + used, sizeof(m->why) - used, "; kills told from marks of exiting "
			"tasks by %s", f->oom_counter.ok ? "the OOM_KILL counter" : "signal state");
	}

	/* What the leak scorer samples with: the sampler's own object, probed by loading it. */
	m = &out[VIGIL_MOD_LEAK_SAMPLING];
	*m = (struct vigil_module_mode){ .module = "leak-sampling", .implemented = true };
	if (f->mem_sampler.ok && f->mem_task_list) {
		m->mode = "task-list";
		set_why(m->why, sizeof(m->why), "one walk of the process list per tick (open-coded "
			"task iterator, 6.7+; iter/task if it overflows) reads every process's mm "
			"counters (anon, file, shmem, swap; per-CPU parts summed) and memcg usage and "
			"limit, without /proc; %s", f->mem_sampler.why);
	} else if (f->mem_sampler.ok) {
		m->mode = "iter/task";
		set_why(m->why, sizeof(m->why), "one task iterator pass per tick reads every "
			"process's mm counters (anon, file, shmem, swap; per-CPU parts summed) and "
			"memcg usage and limit, without /proc; %s", f->mem_sampler.why);
	} else {
		m->mode = "unavailable";
		set_why(m->why, sizeof(m->why), "%s", f->mem_sampler.why[0] ? f->mem_sampler.why :
			f->iter_task.why[0] ? f->iter_task.why : "the memory sampler was not probed");
	}

	m = &out[VIGIL_MOD_LEAK];
	*m = (struct vigil_module_mode){ .module = "leak", .implemented = true };
	if (f->mem_sampler.ok) {
		/*
		 * Sampled, not traced: the rss_stat tracepoint would run a program
		 * on every page fault; a timer pass over the tasks costs the node
		 * nothing between ticks.
		 */
		m->mode = "scorer";
		set_why(m->why, sizeof(m->why), "vigil run scores every process's memory growth "
			"from the leak-sampling pass each leak.interval_ms; leak_suspected events, "
			"vigil leaks");
	} else {
		m->mode = "unavailable";
		set_why(m->why, sizeof(m->why), "no memory samples (see leak-sampling): vigil run "
			"runs without leak scoring");
	}

	m = &out[VIGIL_MOD_LEAK_TRACE];
	*m = (struct vigil_module_mode){ .module = "leak-trace", .implemented = true };
	if (f->uprobes.ok) {
		m->mode = "uprobes";
		set_why(m->why, sizeof(m->why), "vigil leaks --trace PID: uprobes on the allocator "
			"of the process's libc, user stacks by frame pointer");
	} else {
		m->mode = "unavailable";
		set_why(m->why, sizeof(m->why), "vigil leaks --trace needs uprobes: %s",
			f->uprobes.why[0] ? f->uprobes.why : "not probed");
	}
}

/* ---- output ---------------------------------------------------------- */

#define TEXT_WIDTH 80

/*
 * Print `text` starting at column `col` (already reached), wrapping at word
 * boundaries so no line passes TEXT_WIDTH; continuation lines start at `col`.
 * `tail`, if any, follows after two spaces and is never split, so a marker
 * like "[not implemented yet]" stays readable.  A single word longer than
 * the room left is printed whole.
 */
static void print_wrapped(FILE *out, int col, const char *text, const char *tail)
{
	int pos = col;
	bool first = true;

	for (;;) {
		const char *word;
		size_t wlen;
		int sep;

		while (*text == ' ')
			text++;
		if (*text) {
			word = text;
			wlen = strcspn(text, " ");
			text += wlen;
			sep = 1;
		} else if (tail && *tail) {
			word = tail;
			wlen = strlen(tail);
			tail = NULL;
			sep = 2;
		} else {
			break;
		}
		if (!first && pos + sep + (int)wlen > TEXT_WIDTH) {
			fprintf(out, "\n%*s", col, "");
			pos = col;
			first = true;
		}
		if (!first)
			pos += fprintf(out, "%*s", sep, "");
		fwrite(word, 1, wlen, out);
		pos += wlen;
		first = false;
	}
	fputc('\n', out);
}

static void print_probe(FILE *out, const char *name, const struct vigil_probe *p)
{
	const char *yes = p->ok ? "yes" : "no";

	if (p->why[0])
		print_wrapped(out, fprintf(out, "  %-14s %-4s ", name, yes), p->why, NULL);
	else
		fprintf(out, "  %-14s %s\n", name, yes);
}

/* "cpu,cpuacct" -> "cpu, cpuacct" appended to buf. */
static void append(char *buf, size_t len, const char *s)
{
	size_t used = strlen(buf);

	if (used < len)
		snprintf(buf + used, len - used, "%s", s);
}

static void cgroup_summary(const struct vigil_cgroup_layout *l, char *buf, size_t len)
{
	int i;

	buf[0] = '\0';
	if (l->v2_mount[0]) {
		append(buf, len, "v2 at ");
		append(buf, len, l->v2_mount);
		append(buf, len, " (controllers: ");
		append(buf, len, l->v2_controllers[0] ? l->v2_controllers : "none");
		append(buf, len, ")");
	}
	if (l->n_v1 > 0)
		append(buf, len, buf[0] ? "; v1: " : "v1: ");
	for (i = 0; i < l->n_v1 && i < VIGIL_CG_MAX_V1; i++) {
		const char *c;

		if (i)
			append(buf, len, ", ");
		/* Commas inside one hierarchy become "+" so the list stays readable. */
		for (c = l->v1[i].controllers; *c; c++) {
			char ch[2] = { *c == ',' ? '+' : *c, '\0' };

			append(buf, len, ch);
		}
	}
	if (!buf[0])
		append(buf, len, "no cgroup hierarchy mounted");
}

void features_print_text(FILE *out, const struct vigil_features *f)
{
	struct vigil_module_mode m[VIGIL_MOD__COUNT];
	char cg[2048];
	int i, col;

	fprintf(out, "Kernel features\n");
	print_probe(out, "btf", &f->btf);
	print_probe(out, "ring buffer", &f->ringbuf);
	print_probe(out, "tp_btf", &f->tp_btf);
	print_probe(out, "iter/task", &f->iter_task);
	print_probe(out, "fentry", &f->fentry);
	print_probe(out, "kprobes", &f->kprobes);
	print_probe(out, "uprobes", &f->uprobes);
	print_probe(out, "send_signal", &f->send_signal);
	print_probe(out, "lsm listed", &f->lsm_listed);
	print_probe(out, "lsm", &f->lsm);
	print_probe(out, "psi", &f->psi);
	print_probe(out, "mark_victim", &f->tp_mark_victim);
	print_probe(out, "rss_stat", &f->tp_rss_stat);
	print_probe(out, "oom kprobe", &f->kp_oom_kill);
	print_probe(out, "oom counter", &f->oom_counter);
	fprintf(out, "  %-14s %s\n", "lockdown", f->lockdown[0] ? f->lockdown : "unknown");
	cgroup_summary(&f->cgroups, cg, sizeof(cg));
	col = fprintf(out, "  %-14s %-7s ", "cgroups", cgroup_mode_name(f->cgroups.mode));
	print_wrapped(out, col, cg, NULL);

	features_modes(f, m);
	fprintf(out, "Modules\n");
	for (i = 0; i < VIGIL_MOD__COUNT; i++) {
		col = fprintf(out, "  %-17s %-17s ", m[i].module, m[i].mode);
		print_wrapped(out, col, m[i].why, m[i].implemented ? NULL : "[not implemented yet]");
	}
}

static json_object *json_probe(const struct vigil_probe *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(p->ok));
	json_object_object_add(o, "why", json_object_new_string(p->why));
	return o;
}

/* Split "a b" or "a,b" into a JSON array of strings. */
static json_object *json_split(const char *s, const char *seps)
{
	json_object *a = json_object_new_array();

	while (*s) {
		size_t n;

		s += strspn(s, seps);
		n = strcspn(s, seps);
		if (n)
			json_object_array_add(a, json_object_new_string_len(s, (int)n));
		s += n;
	}
	return a;
}

static json_object *json_cgroups(const struct vigil_cgroup_layout *l)
{
	json_object *o = json_object_new_object();
	json_object *v1 = json_object_new_array();
	int i;

	json_object_object_add(o, "mode", json_object_new_string(cgroup_mode_name(l->mode)));
	json_object_object_add(o, "v2_mount",
			       l->v2_mount[0] ? json_object_new_string(l->v2_mount) : NULL);
	json_object_object_add(o, "v2_controllers", json_split(l->v2_controllers, " \n"));
	for (i = 0; i < l->n_v1 && i < VIGIL_CG_MAX_V1; i++) {
		json_object *h = json_object_new_object();

		json_object_object_add(h, "controllers", json_split(l->v1[i].controllers, ","));
		json_object_object_add(h, "mount", json_object_new_string(l->v1[i].mount));
		json_object_array_add(v1, h);
	}
	json_object_object_add(o, "v1", v1);
	return o;
}

void features_print_json(FILE *out, const struct vigil_features *f)
{
	struct vigil_module_mode m[VIGIL_MOD__COUNT];
	json_object *root = json_object_new_object();
	json_object *feat = json_object_new_object();
	json_object *mods = json_object_new_array();
	int i;

	json_object_object_add(feat, "btf", json_probe(&f->btf));
	json_object_object_add(feat, "ringbuf", json_probe(&f->ringbuf));
	json_object_object_add(feat, "tp_btf", json_probe(&f->tp_btf));
	json_object_object_add(feat, "iter_task", json_probe(&f->iter_task));
	json_object_object_add(feat, "fentry", json_probe(&f->fentry));
	json_object_object_add(feat, "kprobes", json_probe(&f->kprobes));
	json_object_object_add(feat, "uprobes", json_probe(&f->uprobes));
	json_object_object_add(feat, "send_signal", json_probe(&f->send_signal));
	json_object_object_add(feat, "lsm_listed", json_probe(&f->lsm_listed));
	json_object_object_add(feat, "lsm", json_probe(&f->lsm));
	json_object_object_add(feat, "psi", json_probe(&f->psi));
	json_object_object_add(feat, "tp_mark_victim", json_probe(&f->tp_mark_victim));
	json_object_object_add(feat, "tp_rss_stat", json_probe(&f->tp_rss_stat));
	json_object_object_add(feat, "kprobe_oom_kill_process", json_probe(&f->kp_oom_kill));
	json_object_object_add(feat, "oom_kill_counter", json_probe(&f->oom_counter));
	json_object_object_add(feat, "mem_sampler", json_probe(&f->mem_sampler));
	json_object_object_add(feat, "mark_victim_args", json_object_new_int(f->mark_victim_args));
	json_object_object_add(feat, "lockdown",
			       json_object_new_string(f->lockdown[0] ? f->lockdown : "unknown"));
	json_object_object_add(feat, "cgroups", json_cgroups(&f->cgroups));
	json_object_object_add(root, "features", feat);

	features_modes(f, m);
	for (i = 0; i < VIGIL_MOD__COUNT; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "module", json_object_new_string(m[i].module));
		json_object_object_add(o, "mode", json_object_new_string(m[i].mode));
		json_object_object_add(o, "why", json_object_new_string(m[i].why));
		json_object_object_add(o, "implemented", json_object_new_boolean(m[i].implemented));
		json_object_array_add(mods, o);
	}
	json_object_object_add(root, "modules", mods);

	fprintf(out, "%s\n", json_object_to_json_string_ext(root,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}
