/*
 * oomproc.h - what the OOM policy engine reads and does outside BPF:
 * memory cgroup and PSI readings, the processes of a memcg, choosing a
 * victim, killing it without pid races, and the pre-kill hook.
 *
 * Everything here is synchronous and short, except the hook, which is
 * spawned and then watched by the caller (its pidfd is pollable).  Nothing
 * here knows about policies' YAML or libevent; oomengine.c glues it.
 */
#ifndef VIGIL_OOMPROC_H
#define VIGIL_OOMPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"
#include "selector.h"

/* ------------------------------------------------------------ readings */

/* One memory cgroup's counters, in bytes.  limit/swap_limit: UINT64_MAX = none. */
struct oom_memcg_stat {
	uint64_t usage;
	uint64_t limit;
	uint64_t swap_usage;	/* v1: memsw.usage - usage; v2: memory.swap.current */
	uint64_t swap_limit;	/* v1: memsw.limit - limit; v2: memory.swap.max */
	uint64_t oom_kill;	/* v1: memory.oom_control oom_kill; v2: memory.events oom_kill */
	uint64_t oom;		/* v2: memory.events oom; v1: 0 */
	bool under_oom;		/* v1: memory.oom_control under_oom */
	bool oom_kill_disable;	/* v1 */
};

/*
 * Read the memcg at `dir` (absolute directory of the cgroup).  v1 selects
 * the file names (memory.usage_in_bytes... vs memory.current...).  Files a
 * kernel lacks (memsw without swap accounting) leave their fields at 0 /
 * UINT64_MAX.  -ENOENT when the cgroup is gone, other -errno on I/O errors.
 */
int oom_memcg_read(const char *dir, bool v1, struct oom_memcg_stat *out);

/* /proc/meminfo, bytes. */
struct oom_meminfo {
	uint64_t total, available, swap_total, swap_free;
};
int oom_meminfo_parse(const char *text, struct oom_meminfo *out);	/* 0 or -EINVAL */
int oom_meminfo_read(struct oom_meminfo *out);

/* A pressure file (/proc/pressure/memory or <cgroup>/memory.pressure). */
struct oom_psi {
	double some_avg10, full_avg10;	/* percent */
	uint64_t some_total_us, full_total_us;
	bool has_full;
};
int oom_psi_parse(const char *text, struct oom_psi *out);	/* 0 or -EINVAL */
int oom_psi_read(const char *path, struct oom_psi *out);	/* -ENOENT if missing */

/*
 * Arm a PSI trigger: open `path` O_RDWR|O_NONBLOCK and write
 * "some|full STALL_US WINDOW_US".  Returns the fd (poll it for POLLPRI;
 * POLLERR means the file went away), or -errno (-EINVAL: the kernel
 * refused the window, -EOPNOTSUPP/-ENOENT: no PSI there).
 */
int oom_psi_trigger_open(const char *path, enum oom_psi_type type, uint64_t stall_us,
			 uint64_t window_us);

/* ------------------------------------------------------------ candidates */

struct oom_candidate {
	pid_t pid;
	uint64_t start_ticks;	/* /proc/PID/stat field 22: who this pid was when read */
	pid_t pgid;
	int oom_score_adj;
	uint64_t rss_anon, rss_file, rss_shmem, swap;	/* bytes, /proc/PID/status */
	double growth;		/* bytes/s, set by the caller from its samples; 0 unknown */
	char comm[16];
	char binary[256];	/* readlink /proc/PID/exe; "" when unreadable */
	char cgroup[512];	/* memcg path relative to the hierarchy root ("/a/b") */
	/* set by oom_rank(): */
	int tier;		/* 0 preferred, 1 neutral, 2 avoided, -1 never (adj -1000, excluded) */
	double score;
};

/*
 * The processes (thread-group leaders) in the memcg `rel` and all its
 * descendants, under the hierarchy mounted at `mount`.  rel == NULL: every
 * process on the node (/proc).  Kernel threads and the pids in exclude[]
 * are left out.  Processes that exit while being read are skipped.
 * *out is malloc'd (free it).  0, -ENOENT (the cgroup is gone) or -errno.
 */
int oom_candidates_collect(const char *mount, const char *rel, const pid_t *exclude,
			   size_t n_exclude, struct oom_candidate **out, size_t *n);

/* Re-read one candidate's memory and identity.  -ESRCH when it has exited or the pid was reused. */
int oom_candidate_refresh(struct oom_candidate *c);

struct oom_rank_opts {
	enum oom_strategy strategy;
	bool oom_score_adj;		/* weigh oom_score_adj */
	uint64_t total_bytes;		/* the memcg's limit, or node memory: scales oom_score_adj */
	const struct selector *prefer;	/* NULL: none */
	const struct selector *avoid;	/* NULL: none */
	/* Fill the selector subject for a candidate (container, pod...); NULL: binary, comm, cgroup only. */
	void (*subject)(void *ctx, const struct oom_candidate *c, struct sel_subject *x);
	void *ctx;
};

/*
 * Score and tier every candidate, and return the index of the victim, or
 * -1 when none may be killed.  Rules (docs/OOM.md):
 *   - oom_score_adj -1000 is never chosen (tier -1);
 *   - tier: avoid match 2, else prefer match 0, else 1; lowest tier wins;
 *   - largest_rss: score = rss_anon + rss_file + rss_shmem + swap,
 *     plus oom_score_adj * total_bytes / 1000 when oom_score_adj is on;
 *   - fastest_growth: score = growth (bytes/s), times (1 + adj/1000) when
 *     oom_score_adj is on; ties (and all-zero growth) fall back to rss;
 *   - then the highest score; ties go to the larger rss, then the lower pid.
 */
int oom_rank(struct oom_candidate *c, size_t n, const struct oom_rank_opts *o);

/* ------------------------------------------------------------ kills */

struct oom_kill_result {
	uint32_t signalled;	/* processes SIGKILL was sent to */
	bool mreleased;		/* process_mrelease() freed the victim's memory */
	int err;		/* 0, -ESRCH (victim gone first), -ENOENT (cgroup gone), -errno */
};

/*
 * SIGKILL one process race-free: pidfd_open(), check start_ticks still
 * matches (else -ESRCH: the pid was reused), pidfd_send_signal(), then
 * process_mrelease() where the kernel has it (ENOSYS is not an error).
 */
int oom_kill_process(const struct oom_candidate *v, struct oom_kill_result *r);

/*
 * SIGKILL every process of the victim's process group that is inside the
 * memcg `rel` (never outside it), each through its own pidfd.
 */
int oom_kill_pgrp(const char *mount, const char *rel, const struct oom_candidate *v,
		  const pid_t *exclude, size_t n_exclude, struct oom_kill_result *r);

/*
 * Kill every process in the cgroup `rel` and below.  With a v2 directory
 * for the same cgroup (v2_dir != NULL, which has cgroup.kill), write "1"
 * there; otherwise SIGKILL each process through a pidfd, re-reading
 * cgroup.procs until it is empty (a bounded number of rounds).  Refuses
 * (-EPERM) if a pid in exclude[] (vigil itself) is inside.
 */
int oom_kill_cgroup(const char *mount, const char *rel, const char *v2_dir, const pid_t *exclude,
		    size_t n_exclude, struct oom_kill_result *r);

/* ------------------------------------------------------------ pre-kill hook */

/*
 * Start `/bin/sh -c command` in a new process group with envp added to the
 * agent's environment (NULL-terminated "KEY=value" strings), stdin from
 * /dev/null, stdout to stderr.  *pidfd is pollable: readable when the hook
 * exits.  0 or -errno.
 */
int oom_hook_spawn(const char *command, char *const envp[], pid_t *pid, int *pidfd);
/* The hook exited: reap it.  Returns the wait status, or -errno. */
int oom_hook_reap(pid_t pid, int pidfd);
/* Timed out: SIGKILL its whole process group, then reap.  Returns the wait status or -errno. */
int oom_hook_kill(pid_t pid, int pidfd);

#endif
