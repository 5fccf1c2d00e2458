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
 * UINT64_MAX.  -ENOENT when the cgroup is gone (also when it vanishes
 * mid-read: *out is then untouched), -EOPNOTSUPP when the directory exists
 * but has no usage file (v2 without the memory controller enabled there,
 * the v2 root), other -errno on I/O errors.  v1's "no limit" (a value of
 * 2^62 or more) reads as UINT64_MAX.
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
 * Arm a PSI trigger: open `path` O_RDWR|O_NONBLOCK|O_CLOEXEC and write
 * "some|full STALL_US WINDOW_US" (with its NUL: the kernel overwrites the
 * last byte written with one).  Returns the fd (poll it for POLLPRI;
 * POLLERR means the file went away), or -errno (-EINVAL: the kernel
 * refused the window - outside 500ms..10s, stall 0 or above the window,
 * or not a multiple of 2s without CAP_SYS_RESOURCE; values above
 * UINT32_MAX are refused here - -EOPNOTSUPP/-ENOENT: no PSI there).
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

/* At most this many candidates per collection (see oom_candidates_collect). */
#define OOM_CANDIDATES_MAX 65536

/*
 * The processes (thread-group leaders) in the memcg `rel` and all its
 * descendants, under the hierarchy mounted at `mount`.  rel == NULL: every
 * process on the node (/proc; mount may then be NULL).  Kernel threads,
 * pid 1, processes without memory (zombies, exiting) and the pids in
 * exclude[] are left out.  Processes that exit while being read are
 * skipped; each is read through one /proc/PID directory fd, so its fields
 * never mix two processes that shared a pid.  Each candidate's cgroup is
 * its /proc/PID/cgroup line for `mount`'s hierarchy (v1: the memory line;
 * v2: the "0::" line; mount NULL: memory if present, else "0::"), as a
 * path from the mount's root also in a private cgroup namespace (below).
 * Beyond OOM_CANDIDATES_MAX processes (lowest pids first) the rest are
 * ignored: a bound on the agent's memory while the node is short of it.
 * *out is malloc'd (free it; NULL when *n == 0).  0, -ENOENT (the cgroup is
 * gone) or -errno.
 */
int oom_candidates_collect(const char *mount, const char *rel, const pid_t *exclude,
			   size_t n_exclude, struct oom_candidate **out, size_t *n);

/*
 * Re-read one candidate's memory, oom_score_adj, pgid, comm and binary
 * (growth, cgroup, tier and score are left as they are).  -ESRCH when it
 * has exited, is exiting or has a SIGKILL pending (memory on its way back),
 * or the pid was reused (start_ticks differ); *c is then untouched.
 */
int oom_candidate_refresh(struct oom_candidate *c);

/* pid is still the process that started at `start` (start_ticks), and not a zombie. */
bool oom_process_alive(pid_t pid, uint64_t start);

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
 * -1 when none may be killed.  Pure.  Rules (docs/OOM.md):
 *   - oom_score_adj -1000 is never chosen (tier -1);
 *   - tier: avoid match 2, else prefer match 0, else 1; lowest tier wins
 *     (a process both preferred and avoided is avoided);
 *   - largest_rss: score = rss_anon + rss_file + rss_shmem + swap,
 *     plus oom_score_adj * total_bytes / 1000 when oom_score_adj is on;
 *   - fastest_growth: score = growth (bytes/s), times (1 + adj/1000) when
 *     oom_score_adj is on; ties (and all-zero growth) fall back to rss:
 *     the largest_rss score above, adj weighting included;
 *   - then the highest score; ties go to the larger rss (the plain sum),
 *     then the lower pid.
 * The selector subject: `subject` (when set) fills a zeroed sel_subject
 * first; then binary, comm and cgroup it left NULL or "" are taken from
 * the candidate, and the other strings it left NULL become "" (unknown).
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
 * memcg `rel` (never outside it), each through its own pidfd, checked
 * after opening it: still in the group and in the subtree.  rel == NULL:
 * the whole node.  The victim is checked and signalled first as in
 * oom_kill_process(); when it is gone (-ESRCH) nothing else is killed -
 * the caller re-evaluates.  Pids in exclude[] are skipped, not refused.
 * mreleased is the victim's.
 */
int oom_kill_pgrp(const char *mount, const char *rel, const struct oom_candidate *v,
		  const pid_t *exclude, size_t n_exclude, struct oom_kill_result *r);

/*
 * Kill every process in the cgroup `rel` and below.  With a v2 directory
 * for the same cgroup (v2_dir != NULL, which has cgroup.kill), write "1"
 * there; otherwise SIGKILL each process through a pidfd, re-reading
 * cgroup.procs until it is empty (a bounded number of rounds).  Refuses
 * (-EPERM) if a pid in exclude[] (vigil itself) is inside.
 *
 * Details: with v2_dir, mount and rel may be NULL (then the pidfd loop, on
 * a kernel without cgroup.kill, runs on v2_dir); when given, the exclude
 * check covers both trees.  Nothing is killed before every check passed.
 * The hierarchy's root is refused (-EINVAL).  cgroup.kill returns at once
 * (signalled: the processes listed just before); the loop waits for the
 * processes to leave, 50 rounds 10 ms apart at most, and returns -EAGAIN
 * if the last listing still held a process it had not signalled before
 * (0 when only dying ones remained).  Each pid is checked to be in the
 * subtree after its pidfd is open.  No process_mrelease here.
 */
int oom_kill_cgroup(const char *mount, const char *rel, const char *v2_dir, const pid_t *exclude,
		    size_t n_exclude, struct oom_kill_result *r);

/*
 * Cgroup namespaces: in a private one, /proc/PID/cgroup shows paths relative
 * to the agent's namespace root, not to the hierarchy's mount.  Every
 * cgroup path this file reads from /proc (candidates' cgroup, the subtree
 * checks of process-group and cgroup kills) is translated back to the
 * mount (see cgns.h): the namespace root is found at the first read per
 * hierarchy, kept, and looked for again if its directory is replaced.
 * When it cannot be found the paths stay as read, the agent says so once
 * on stderr, and each failed attempt (at most one per 10 s per hierarchy)
 * is counted here: the count since the last call, then reset.
 */
unsigned long oom_cgns_take_errors(void);

/* ------------------------------------------------------------ pre-kill hook */

/*
 * Start `/bin/sh -c command` in a new process group with envp added to the
 * agent's environment (NULL-terminated "KEY=value" strings; a key given
 * there replaces the agent's), stdin from /dev/null, stdout to stderr,
 * every other fd closed, signal dispositions and mask reset.  *pidfd is
 * pollable (O_CLOEXEC): readable when the hook exits.  0 or -errno.
 * The pidfd is taken after fork(), which is safe because the child stays
 * unreaped until oom_hook_reap/kill: the agent must not ignore SIGCHLD
 * (SIG_IGN / SA_NOCLDWAIT) nor reap with waitpid(-1).
 */
int oom_hook_spawn(const char *command, char *const envp[], pid_t *pid, int *pidfd);
/*
 * The hook exited: reap it.  Returns the wait status, or -errno.  The
 * pidfd stays open: the caller closes it (after taking it out of its poll
 * set).  The hook's own children are left alone.
 */
int oom_hook_reap(pid_t pid, int pidfd);
/*
 * Timed out: SIGKILL its whole process group (children that did not leave
 * it included), then reap.  Returns the wait status or -errno.  The pidfd
 * (-1 allowed) stays open, as with oom_hook_reap().
 */
int oom_hook_kill(pid_t pid, int pidfd);

#endif
