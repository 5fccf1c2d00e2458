/*
 * events.c - decode + enrich (see events.h).
 *
 * The process table is updated before sinks run (exec sets the new image,
 * fork copies the parent's image to the child) and pruned after them (exit),
 * so a sink always sees the process as it was at the event.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgroup.h"
#include "events.h"
#include "trust.h"

static const char *const type_names[VIGIL_EV__MAX] = {
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

static const size_t type_sizes[VIGIL_EV__MAX] = {
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

const char *event_type_name(uint32_t type)
{
	return type < VIGIL_EV__MAX ? type_names[type] : NULL;
}

bool event_user_space_only(uint32_t type)
{
	return type == VIGIL_EV_OOM_PRE_KILL || type == VIGIL_EV_LEAK_SUSPECTED ||
	       type == VIGIL_EV_LEAK_CLEARED;
}

int event_type_parse(const char *name)
{
	for (int t = 1; t < VIGIL_EV__MAX; t++)
		if (((VIGIL_OBS_ALL | VIGIL_OBS_OOM | VIGIL_OBS_LEAK) & VIGIL_OBS(t)) &&
		    !strcmp(name, type_names[t]))
			return t;
	return -1;
}

const char *signal_result_name(int32_t result)
{
	static const char *const names[] = {
		"delivered", "ignored", "already_pending", "overflow_fail", "lose_info",
	};

	if (result == VIGIL_SIG_DENIED)
		return "denied";
	return result >= 0 && result < (int32_t)(sizeof(names) / sizeof(names[0])) ?
	       names[result] : "unknown";
}

const char *signal_handler_name(uint32_t handler)
{
	switch (handler) {
	case VIGIL_SIG_HANDLER_DEFAULT: return "default";
	case VIGIL_SIG_HANDLER_IGNORE: return "ignore";
	case VIGIL_SIG_HANDLER_USER: return "user";
	}
	return "unknown";
}

const char *signal_name(int sig, char buf[16])
{
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;

	if (sig == 0)
		buf[0] = 0;
	else if (abbrev)
		snprintf(buf, 16, "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, 16, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, 16, "SIG%d", sig);
	return buf;
}

int enricher_init(struct vigil_enricher *e, const char *cgroup_mount)
{
	struct timespec rt, mono;
	int err;

	memset(e, 0, sizeof(*e));
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	e->mono_to_real_ns = (int64_t)(rt.tv_sec - mono.tv_sec) * 1000000000LL +
			     (rt.tv_nsec - mono.tv_nsec);
	err = proc_table_init(&e->procs, 1024);
	if (err)
		return err;
	err = ctr_cache_init(&e->ctrs, cgroup_mount);
	if (err)
		proc_table_free(&e->procs);
	return err;
}

void enricher_free(struct vigil_enricher *e)
{
	proc_table_free(&e->procs);
	ctr_cache_free(&e->ctrs);
}

/*
 * The iterator cannot read another task's memory, so the argv of processes
 * that predate the agent comes from /proc, once, at start-up.  Kernel
 * threads have an empty cmdline.
 */
static size_t read_cmdline(uint32_t pid, char *buf, size_t len, bool *truncated)
{
	char path[32];
	ssize_t n;
	int fd;

	*truncated = false;
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, len);
	if (n == (ssize_t)len) {
		char extra;

		*truncated = read(fd, &extra, 1) == 1;
	}
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

int enricher_seed(struct vigil_enricher *e, const struct vigil_seed_record *r)
{
	struct vigil_proc *p = proc_upsert(&e->procs, &r->task);
	char args[VIGIL_ARGS_LEN];
	bool truncated;
	size_t n;

	if (!p)
		return -ENOMEM;
	if (!r->path_len || r->path_len >= sizeof(r->path))
		return 0;
	n = read_cmdline(r->task.pid, args, sizeof(args), &truncated);
	return proc_set_image(p, r->path, r->path_len, args, n, truncated);
}

static int subject_of(struct vigil_enricher *e, const struct vigil_task *t,
		      struct vigil_subject *s)
{
	struct vigil_proc *p = proc_upsert(&e->procs, t);

	if (!p)
		return -ENOMEM;
	s->proc = p;
	s->ctr = ctr_lookup(&e->ctrs, t->cgroup_id);
	return 0;
}

/*
 * Signal events only look processes up, never insert them: an exiting
 * task sends SIGCHLD after its exit event has pruned it, and inserting it
 * back would leak one entry per process.  An end that is not in the table
 * is described from the event's own snapshot, in scratch space.
 */
static void lookup_of(struct vigil_enricher *e, const struct vigil_task *t,
		      struct vigil_subject *s, int slot)
{
	struct vigil_proc *p = proc_lookup(&e->procs, t->pid);

	if (!p || (t->start_ns && p->start_ns && p->start_ns != t->start_ns)) {
		p = &e->scratch[slot];
		memset(p, 0, sizeof(*p));
		p->pid = t->pid;
		p->ppid = t->ppid;
		p->uid = t->uid;
		p->start_ns = t->start_ns;
		p->cgroup_id = t->cgroup_id;
		memcpy(p->comm, t->comm, sizeof(p->comm));
		p->comm[sizeof(p->comm) - 1] = 0;
	}
	s->proc = p;
	s->ctr = ctr_lookup(&e->ctrs, t->cgroup_id);
}

/* The thread-group id of thread tid, from /proc; 0 if it is gone. */
static uint32_t tgid_of(uint32_t tid)
{
	char path[48], line[128];
	unsigned tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %u", &tgid) == 1)
			break;
	if (f)
		fclose(f);
	return tgid;
}

/*
 * An OOM event's victim (subject) and trigger (other).  Looked up, never
 * inserted, like a signal's ends: the victim is about to exit.  With only
 * the victim's tid known, the table's entry for its process stands in; a
 * victim vigil never saw is described from the record.
 */
static void oom_subjects(struct vigil_enricher *e, const struct vigil_oom_event *o,
			 struct vigil_event_view *v)
{
	if (o->flags & VIGIL_OOM_VICTIM_PID_ONLY) {
		struct vigil_task t = o->victim;
		struct vigil_proc *p = proc_lookup(&e->procs, t.pid);
		uint32_t tgid;

		if (!p && (tgid = tgid_of(t.tid ? t.tid : t.pid)) && tgid != t.pid)
			p = proc_lookup(&e->procs, tgid);
		if (p) {
			t.pid = p->pid;
			t.ppid = p->ppid;
			t.uid = p->uid;
			t.cgroup_id = p->cgroup_id;
			t.start_ns = 0;	/* trust the table's entry */
			memcpy(t.comm, p->comm, sizeof(t.comm));
		}
		lookup_of(e, &t, &v->subject, 0);
	} else {
		lookup_of(e, &o->victim, &v->subject, 0);
	}
	if (o->trigger.pid)
		lookup_of(e, &o->trigger, &v->other, 1);
}

/* source, scope and memcg path of a kernel OOM kill, into the enricher. */
static void oom_kernel_info(struct vigil_enricher *e, const struct vigil_oom_event *o)
{
	memset(&e->oom, 0, sizeof(e->oom));
	e->oom.source = "kernel";
	e->oom.scope = o->flags & VIGIL_OOM_GLOBAL ? "global" : "memcg";
	e->oom_path[0] = 0;
	if (o->flags & VIGIL_OOM_GLOBAL)
		e->oom.memcg_path = "";
	else if (o->memcg_id && e->mem_mount[0] &&
		 cgroup_path_from_id(e->mem_mount, o->memcg_id, e->oom_path,
				     sizeof(e->oom_path)) == 0)
		e->oom.memcg_path = e->oom_path;
	else
		e->oom.memcg_path = NULL;	/* unknown: gone already, or no mount */
}

int enrich_synthetic(struct vigil_enricher *e, uint32_t type, const struct vigil_oom_event *raw,
		     const struct vigil_oom_info *oom, struct vigil_event_view *out)
{
	memset(out, 0, sizeof(*out));
	if ((type != VIGIL_EV_OOM_KILL && type != VIGIL_EV_OOM_PRE_KILL) || !raw)
		return -EINVAL;
	out->type = type;
	out->time_ns = raw->hdr.ts_ns + e->mono_to_real_ns;
	out->raw = raw;
	out->oom = oom;
	oom_subjects(e, raw, out);
	return 0;
}

int enrich_leak(struct vigil_enricher *e, uint32_t type, const struct vigil_leak_event *raw,
		const struct vigil_leak_info *leak, struct vigil_event_view *out)
{
	memset(out, 0, sizeof(*out));
	if ((type != VIGIL_EV_LEAK_SUSPECTED && type != VIGIL_EV_LEAK_CLEARED) || !raw || !leak)
		return -EINVAL;
	out->type = type;
	out->time_ns = raw->hdr.ts_ns + e->mono_to_real_ns;
	out->raw = raw;
	out->leak = leak;
	lookup_of(e, &raw->task, &out->subject, 0);
	return 0;
}

int enrich_event(struct vigil_enricher *e, const void *data, size_t len,
		 struct vigil_event_view *v)
{
	const struct vigil_event_hdr *h = data;
	struct vigil_proc *child, *parent;
	int err = 0;

	memset(v, 0, sizeof(*v));
	if (len < sizeof(*h) || h->type == 0 || h->type >= VIGIL_EV__MAX ||
	    len < type_sizes[h->type]) {
		e->malformed++;
		return -EINVAL;
	}
	v->type = h->type;
	v->time_ns = h->ts_ns + e->mono_to_real_ns;
	v->raw = data;

	switch (h->type) {
	case VIGIL_EV_FORK: {
		const struct vigil_fork_event *f = data;

		err = subject_of(e, &f->parent, &v->subject);
		if (!err)
			err = subject_of(e, &f->child, &v->other);
		if (!err) {
			/* Look the parent up again: the child's insert may have grown the table. */
			parent = proc_lookup(&e->procs, f->parent.pid);
			child = proc_lookup(&e->procs, f->child.pid);
			if (parent && child)
				err = proc_inherit_image(child, parent);
		}
		break;
	}
	case VIGIL_EV_EXEC: {
		const struct vigil_exec_event *x = data;
		size_t plen = x->path_len < VIGIL_PATH_LEN ? x->path_len : VIGIL_PATH_LEN - 1;
		size_t alen = x->args_len <= VIGIL_ARGS_LEN ? x->args_len : VIGIL_ARGS_LEN;

		/* A non-leader thread's exec takes over the leader's pid. */
		if (x->old_pid != x->task.pid)
			proc_remove(&e->procs, x->old_pid);
		err = subject_of(e, &x->task, &v->subject);
		if (!err)
			err = proc_set_image((struct vigil_proc *)v->subject.proc, x->path, plen,
					     x->args, alen,
					     x->flags & VIGIL_EXEC_ARGS_TRUNCATED);
		break;
	}
	case VIGIL_EV_EXIT: {
		const struct vigil_exit_event *x = data;

		err = subject_of(e, &x->task, &v->subject);
		break;
	}
	case VIGIL_EV_SIGNAL_GENERATE: {
		const struct vigil_signal_event *s = data;

		lookup_of(e, &s->sender, &v->subject, 0);
		lookup_of(e, &s->target, &v->other, 1);
		break;
	}
	case VIGIL_EV_SIGNAL_DELIVER: {
		const struct vigil_signal_event *s = data;

		lookup_of(e, &s->target, &v->subject, 0);
		break;
	}
	case VIGIL_EV_TRUST: {
		const struct vigil_trust_event *t = data;

		lookup_of(e, &t->task, &v->subject, 0);
		break;
	}
	case VIGIL_EV_OOM_KILL: {
		const struct vigil_oom_event *o = data;

		oom_subjects(e, o, v);
		oom_kernel_info(e, o);
		v->oom = &e->oom;
		break;
	}
	case VIGIL_EV_OOM_PRE_KILL:
	case VIGIL_EV_LEAK_SUSPECTED:
	case VIGIL_EV_LEAK_CLEARED:
		/* User space only (enrich_synthetic): not a record the kernel writes. */
		memset(v, 0, sizeof(*v));
		e->malformed++;
		return -EINVAL;
	case VIGIL_EV_CGROUP_MKDIR:
	case VIGIL_EV_CGROUP_RMDIR: {
		const struct vigil_cgroup_event *c = data;
		char path[VIGIL_CGROUP_PATH_LEN];

		if (h->type == VIGIL_EV_CGROUP_RMDIR) {
			const struct vigil_ctr *gone = idmap_get(&e->ctrs.map, c->cgroup_id);

			if (gone && ctr_is_root(gone) && e->container_gone)
				e->container_gone(e->container_gone_ctx, gone);
			ctr_cache_forget(&e->ctrs, c->cgroup_id);
			return 1;
		}
		snprintf(path, sizeof(path), "%.*s",
			 (int)(c->path_len < sizeof(path) ? c->path_len : sizeof(path) - 1), c->path);
		err = ctr_cache_learn(&e->ctrs, c->cgroup_id, path);
		return err < 0 ? err : 1;
	}
	}
	return err;
}

void enrich_done(struct vigil_enricher *e, const struct vigil_event_view *v)
{
	if (v->type == VIGIL_EV_EXIT && v->subject.proc)
		proc_remove(&e->procs, v->subject.proc->pid);
}

static bool subject_matches(const struct vigil_filter *f, const struct vigil_subject *s)
{
	if (!s->proc)
		return false;
	if (f->pid && s->proc->pid != f->pid)
		return false;
	if (f->host_only && s->ctr->info.runtime != VIGIL_RT_HOST)
		return false;
	if (f->container && (!s->ctr->info.id[0] ||
			     strncmp(s->ctr->info.id, f->container, strlen(f->container))))
		return false;
	return true;
}

bool event_matches(const struct vigil_filter *f, const struct vigil_event_view *v)
{
	if (!(f->types & VIGIL_OBS(v->type)))
		return false;
	/* An event matches if either end does: a signal into a container counts. */
	return subject_matches(f, &v->subject) || subject_matches(f, &v->other);
}
