/*
 * fixtures.h - hand-built tasks, raw ring-buffer records, processes,
 * containers and event views, shared by the enrichment and sink tests.
 *
 * Header-only on purpose: the Makefile builds every .c file in tests/unit
 * into its own test binary, so this must not be one.  Records are zeroed
 * first so padding and unused fields never carry stack garbage into a test.
 */
#ifndef VIGIL_TEST_FIXTURES_H
#define VIGIL_TEST_FIXTURES_H

#include <string.h>

#include "events.h"

#define FX_TS		1000000000ull	/* an arbitrary CLOCK_MONOTONIC stamp */
#define FX_UID		1000u
#define FX_CGROUP_ID	4242u

/* A NUL-separated argv literal and its length, final NUL included. */
#define FX_ARGS(lit)	(lit), sizeof(lit)

/* Bounded copy that always terminates; src may be longer than dst. */
static inline void fx_copy(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	while (n + 1 < cap && src[n])
		n++;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static inline struct vigil_task fx_task(uint32_t pid, uint32_t ppid, uint64_t start_ns,
					const char *comm)
{
	struct vigil_task t;

	memset(&t, 0, sizeof(t));
	t.pid = t.tid = pid;
	t.ppid = ppid;
	t.uid = t.gid = FX_UID;
	t.cgroup_id = FX_CGROUP_ID;
	t.start_ns = start_ns;
	fx_copy(t.comm, sizeof(t.comm), comm);
	return t;
}

static inline void fx_hdr(struct vigil_event_hdr *h, uint32_t type)
{
	h->type = type;
	h->cpu = 0;
	h->ts_ns = FX_TS;
}

static inline void fx_exec(struct vigil_exec_event *x, struct vigil_task task, const char *path,
			   const char *args, size_t args_len, uint32_t flags)
{
	memset(x, 0, sizeof(*x));
	fx_hdr(&x->hdr, VIGIL_EV_EXEC);
	x->task = task;
	x->old_pid = task.pid;
	x->flags = flags;
	fx_copy(x->path, sizeof(x->path), path);
	x->path_len = strlen(x->path);
	if (args_len > sizeof(x->args))
		args_len = sizeof(x->args);
	memcpy(x->args, args, args_len);
	x->args_len = args_len;
	for (size_t i = 0; i < args_len; i++)
		x->argc += !args[i];
}

static inline void fx_fork(struct vigil_fork_event *f, struct vigil_task parent,
			   struct vigil_task child)
{
	memset(f, 0, sizeof(*f));
	fx_hdr(&f->hdr, VIGIL_EV_FORK);
	f->parent = parent;
	f->child = child;
}

static inline void fx_exit(struct vigil_exit_event *x, struct vigil_task task,
			   uint32_t exit_code, uint32_t sig)
{
	memset(x, 0, sizeof(*x));
	fx_hdr(&x->hdr, VIGIL_EV_EXIT);
	x->task = task;
	x->exit_code = exit_code;
	x->signal = sig;
	x->lifetime_ns = 1500000000ull;
}

/* type is VIGIL_EV_SIGNAL_GENERATE or VIGIL_EV_SIGNAL_DELIVER. */
static inline void fx_signal(struct vigil_signal_event *s, uint32_t type,
			     struct vigil_task sender, struct vigil_task target, int sig)
{
	memset(s, 0, sizeof(*s));
	fx_hdr(&s->hdr, type);
	if (type == VIGIL_EV_SIGNAL_GENERATE)
		s->sender = sender;
	s->target = target;
	s->sig = sig;
}

/* A kernel OOM kill of victim, triggered by trigger, in memcg 777 at its 32 MiB limit. */
static inline void fx_oom(struct vigil_oom_event *o, struct vigil_task victim,
			  struct vigil_task trigger, uint32_t flags)
{
	memset(o, 0, sizeof(*o));
	fx_hdr(&o->hdr, VIGIL_EV_OOM_KILL);
	o->victim = victim;
	o->trigger = trigger;
	o->flags = flags;
	if (!(flags & VIGIL_OOM_GLOBAL)) {
		o->memcg_id = 777;
		o->memcg_usage = 32u << 20;
		o->memcg_limit = 32u << 20;
	}
	o->victim_memcg_id = 777;
	o->rss_anon = 30u << 20;
	o->rss_file = 1u << 20;
	o->rss_shmem = 4096;
	o->swap = 8192;
	o->total_vm = 40u << 20;
	o->oom_score_adj = 500;
	if (flags & VIGIL_OOM_FROM_KPROBE) {
		o->points = 7700;
		o->totalpages = 8192;
	}
}

/* A process as the table holds it; binary and args stay the caller's. */
static inline struct vigil_proc fx_proc(uint32_t pid, uint32_t ppid, const char *comm,
					const char *binary, const char *args, size_t args_len)
{
	struct vigil_proc p;

	memset(&p, 0, sizeof(p));
	p.pid = pid;
	p.ppid = ppid;
	p.uid = FX_UID;
	p.start_ns = 1;
	p.cgroup_id = FX_CGROUP_ID;
	fx_copy(p.comm, sizeof(p.comm), comm);
	p.binary = (char *)binary;
	p.args = (char *)args;
	p.args_len = args ? args_len : 0;
	return p;
}

static inline struct vigil_ctr fx_ctr(enum vigil_runtime rt, const char *id, const char *pod_uid,
				      enum vigil_qos qos, const char *cgroup)
{
	struct vigil_ctr c;

	memset(&c, 0, sizeof(c));
	c.cgroup_id = FX_CGROUP_ID;
	c.resolved = true;
	fx_copy(c.cgroup, sizeof(c.cgroup), cgroup);
	c.info.runtime = rt;
	c.info.qos = qos;
	fx_copy(c.info.id, sizeof(c.info.id), id);
	fx_copy(c.info.pod_uid, sizeof(c.info.pod_uid), pod_uid);
	return c;
}

static inline struct vigil_event_view fx_view(uint32_t type, const void *raw,
					      const struct vigil_proc *proc,
					      const struct vigil_ctr *ctr,
					      const struct vigil_proc *other,
					      const struct vigil_ctr *other_ctr)
{
	struct vigil_event_view v;

	memset(&v, 0, sizeof(v));
	v.type = type;
	v.time_ns = 1700000000123456789ull;	/* 2023-11-14T22:13:20.123456789Z */
	v.raw = raw;
	v.subject.proc = proc;
	v.subject.ctr = ctr;
	v.other.proc = other;
	v.other.ctr = other_ctr;
	return v;
}

#endif
