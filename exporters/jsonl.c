/*
 * jsonl.c - JSON-lines sink (see jsonl.h).
 *
 * Built on the streaming writer (jsonw.c): one reusable buffer per sink,
 * no allocation per event.  comm, args and paths are arbitrary bytes; the
 * writer repairs invalid UTF-8, so every line is valid JSON whatever a
 * process names itself.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "jsonl.h"
#include "output.h"

void jsonl_init(struct vigil_jsonl *j, FILE *out, const char *node)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	snprintf(j->node, sizeof(j->node), "%s", node ? node : "");
	jsonw_init(&j->w);
	j->ts_sec = UINT64_MAX;
}

void jsonl_init_output(struct vigil_jsonl *j, struct vigil_output *o, const char *node)
{
	jsonl_init(j, NULL, node);
	j->output = o;
}

void jsonl_free(struct vigil_jsonl *j)
{
	jsonw_free(&j->w);
}

char *format_rfc3339_ns(uint64_t ns, char *buf, size_t len)
{
	time_t sec = ns / 1000000000ull;
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09lluZ", (unsigned long long)(ns % 1000000000ull));
	return buf;
}

/* Events arrive in bursts within one second: format the date part once. */
static void put_time(struct vigil_jsonl *j, uint64_t ns)
{
	uint64_t sec = ns / 1000000000ull;
	char buf[48];
	time_t t = sec;
	struct tm tm;

	if (sec != j->ts_sec) {
		gmtime_r(&t, &tm);
		strftime(j->ts_prefix, sizeof(j->ts_prefix), "%Y-%m-%dT%H:%M:%S", &tm);
		j->ts_sec = sec;
	}
	snprintf(buf, sizeof(buf), "%s.%09lluZ", j->ts_prefix,
		 (unsigned long long)(ns % 1000000000ull));
	jsonw_string(&j->w, "time", buf);
}

static void put_args(struct jsonw *w, const struct vigil_proc *p)
{
	size_t i = 0, n;

	jsonw_array_begin(w, "args");
	while (p && p->args && i < p->args_len) {
		n = strnlen(p->args + i, p->args_len - i);
		jsonw_string_len(w, NULL, p->args + i, n);
		i += n + 1;
	}
	jsonw_array_end(w);
}

static void put_process(struct jsonw *w, const struct vigil_proc *p)
{
	jsonw_object_begin(w, "process");
	if (p) {
		jsonw_uint(w, "pid", p->pid);
		jsonw_uint(w, "ppid", p->ppid);
		jsonw_uint(w, "uid", p->uid);
		jsonw_string(w, "comm", p->comm);
		jsonw_string(w, "binary", p->binary);
		put_args(w, p);
	}
	jsonw_object_end(w);
}

static void put_container(struct jsonw *w, const struct vigil_ctr *c)
{
	jsonw_object_begin(w, "container");
	jsonw_string(w, "id", c ? c->info.id : "");
	jsonw_string(w, "runtime", cgroup_runtime_name(c ? c->info.runtime : VIGIL_RT_UNKNOWN));
	jsonw_string(w, "pod_uid", c ? c->info.pod_uid : "");
	jsonw_string(w, "qos", cgroup_qos_name(c ? c->info.qos : VIGIL_QOS_NONE));
	jsonw_string(w, "cgroup", c ? c->cgroup : "");
	jsonw_string(w, "pod_name", c && c->pod ? c->pod->pod_name : "");
	jsonw_string(w, "pod_namespace", c && c->pod ? c->pod->pod_namespace : "");
	jsonw_string(w, "container_name", c && c->pod ? c->pod->container_name : "");
	jsonw_string(w, "image", c && c->pod ? c->pod->image : "");
	jsonw_object_end(w);
}

static void begin(struct vigil_jsonl *j, uint64_t time_ns, const char *type)
{
	jsonw_reset(&j->w);
	jsonw_object_begin(&j->w, NULL);
	put_time(j, time_ns);
	jsonw_string(&j->w, "type", type);
	jsonw_string(&j->w, "node", j->node);
}

static void put_signal(struct jsonw *w, int sig)
{
	char buf[16];

	jsonw_int(w, "signal", sig);
	jsonw_string(w, "signal_name", signal_name(sig, buf));
}

static int finish(struct vigil_jsonl *j)
{
	const char *text;
	size_t len;

	jsonw_object_end(&j->w);
	strbuf_putc(&j->w.b, '\n');
	text = jsonw_text(&j->w, &len);
	if (!jsonw_ok(&j->w)) {
		j->write_errors++;
		return -ENOMEM;
	}
	if (j->output)
		return output_write(j->output, text, len);	/* it counts its own losses */
	if (fwrite(text, 1, len, j->out) != len) {
		j->write_errors++;
		return -EIO;
	}
	return 0;
}

static void put_str_or_null(struct jsonw *w, const char *key, const char *s)
{
	if (s)
		jsonw_string(w, key, s);
	else
		jsonw_null(w, key);
}

/*
 * leak_suspected / leak_cleared: the common process and container are the
 * leaking process's; "leak" holds the scorer's numbers (docs/LEAKS.md).
 */
static void put_leak(struct jsonw *w, const struct vigil_leak_info *l)
{
	jsonw_object_begin(w, "leak");
	jsonw_string(w, "policy", l->policy ? l->policy : "");
	if (l->reason)
		jsonw_string(w, "reason", l->reason);
	jsonw_double(w, "score", l->score);
	jsonw_double(w, "slope_bytes_per_second", l->slope);
	jsonw_uint(w, "baseline_bytes", l->baseline);
	jsonw_uint(w, "current_bytes", l->current);
	jsonw_int(w, "growth_bytes", (int64_t)l->current - (int64_t)l->baseline);
	jsonw_double(w, "growth_percent", l->growth_pct);
	if (l->tte_s >= 0)
		jsonw_double(w, "time_to_exhaustion_seconds", l->tte_s);
	else
		jsonw_null(w, "time_to_exhaustion_seconds");
	jsonw_uint(w, "limit_bytes", l->limit);
	jsonw_string(w, "limit_scope", l->limit_scope ? l->limit_scope : "node");
	jsonw_uint(w, "evaluations", l->evaluations);
	jsonw_double(w, "observed_seconds", l->observed_s);
	jsonw_object_begin(w, "memory");
	jsonw_uint(w, "rss_anon", l->rss_anon);
	jsonw_uint(w, "rss_file", l->rss_file);
	jsonw_uint(w, "rss_shmem", l->rss_shmem);
	jsonw_uint(w, "swap", l->swap);
	jsonw_object_end(w);
	jsonw_object_end(w);
}

/*
 * oom_kill / oom_pre_kill: the common process and container are the
 * victim's; "oom" holds the rest.  The kernel's and vigil's have the same
 * core (memcg, victim memory, flags); the kernel's add the trigger (and
 * with the kprobe the badness), vigil's the policy that acted.
 */
static void put_oom(struct jsonw *w, const struct vigil_event_view *v)
{
	const struct vigil_oom_event *o = v->raw;
	const struct vigil_oom_info *i = v->oom;
	bool global = o->flags & VIGIL_OOM_GLOBAL;
	bool by_vigil = (o->flags & VIGIL_OOM_BY_VIGIL) ||
			(i && i->source && !strcmp(i->source, "vigil"));

	jsonw_object_begin(w, "oom");
	jsonw_string(w, "source", i && i->source ? i->source : by_vigil ? "vigil" : "kernel");
	jsonw_string(w, "scope", i && i->scope ? i->scope : global ? "global" : "memcg");
	jsonw_object_begin(w, "memcg");
	put_str_or_null(w, "path", i ? i->memcg_path : global ? "" : NULL);
	jsonw_uint(w, "id", o->memcg_id);
	jsonw_uint(w, "usage", o->memcg_usage);
	if (global)
		jsonw_null(w, "limit");
	else
		jsonw_uint(w, "limit", o->memcg_limit);
	jsonw_object_end(w);
	jsonw_object_begin(w, "victim");
	jsonw_uint(w, "rss_anon", o->rss_anon);
	jsonw_uint(w, "rss_file", o->rss_file);
	jsonw_uint(w, "rss_shmem", o->rss_shmem);
	jsonw_uint(w, "swap", o->swap);
	jsonw_uint(w, "total_vm", o->total_vm);
	jsonw_int(w, "oom_score_adj", o->oom_score_adj);
	jsonw_uint(w, "memcg_id", o->victim_memcg_id);
	jsonw_object_end(w);
	if (!by_vigil) {
		jsonw_object_begin(w, "trigger");
		jsonw_uint(w, "pid", o->trigger.pid);
		jsonw_string_len(w, "comm", o->trigger.comm,
				 strnlen(o->trigger.comm, sizeof(o->trigger.comm)));
		jsonw_object_end(w);
	}
	if (o->flags & VIGIL_OOM_FROM_KPROBE) {
		jsonw_uint(w, "points", o->points);
		jsonw_uint(w, "totalpages", o->totalpages);
	}
	jsonw_bool(w, "global", global);
	jsonw_bool(w, "memcg_exact", o->flags & VIGIL_OOM_MEMCG_EXACT);
	jsonw_bool(w, "from_kprobe", o->flags & VIGIL_OOM_FROM_KPROBE);
	jsonw_bool(w, "victim_pid_only", o->flags & VIGIL_OOM_VICTIM_PID_ONLY);
	jsonw_bool(w, "no_mm", o->flags & VIGIL_OOM_NO_MM);
	if (by_vigil && i) {
		bool exited = i->hook && (!strcmp(i->hook, "ok") || !strcmp(i->hook, "failed"));

		put_str_or_null(w, "policy", i->policy);
		put_str_or_null(w, "detector", i->detector);
		put_str_or_null(w, "detail", i->detail);
		jsonw_double(w, "value", i->value);
		jsonw_double(w, "threshold", i->threshold);
		put_str_or_null(w, "strategy", i->strategy);
		jsonw_double(w, "growth_bytes_per_s", i->growth_bytes_per_s);
		jsonw_bool(w, "dry_run", i->dry_run);
		jsonw_uint(w, "killed", i->killed);
		put_str_or_null(w, "hook", i->hook);
		if (exited)
			jsonw_int(w, "hook_status", i->hook_status);
		else
			jsonw_null(w, "hook_status");
		jsonw_double(w, "latency_ms", i->latency_ns / 1e6);
	}
	jsonw_object_end(w);
}

int jsonl_write_event(struct vigil_jsonl *j, const struct vigil_event_view *v)
{
	struct jsonw *w = &j->w;

	begin(j, v->time_ns, event_type_name(v->type));
	put_process(w, v->subject.proc);
	put_container(w, v->subject.ctr);

	switch (v->type) {
	case VIGIL_EV_FORK:
		jsonw_object_begin(w, "child");
		put_process(w, v->other.proc);
		jsonw_object_end(w);
		break;
	case VIGIL_EV_EXEC: {
		const struct vigil_exec_event *x = v->raw;

		jsonw_bool(w, "args_truncated", x->flags & VIGIL_EXEC_ARGS_TRUNCATED);
		jsonw_bool(w, "binary_truncated", x->flags & VIGIL_EXEC_PATH_TRUNCATED);
		if (x->old_pid != x->task.pid)
			jsonw_uint(w, "old_tid", x->old_pid);
		break;
	}
	case VIGIL_EV_EXIT: {
		const struct vigil_exit_event *x = v->raw;

		jsonw_int(w, "exit_code", x->exit_code);
		put_signal(w, x->signal);
		jsonw_bool(w, "core_dumped", x->core_dumped);
		jsonw_seconds(w, "lifetime_seconds", x->lifetime_ns);
		break;
	}
	case VIGIL_EV_SIGNAL_GENERATE: {
		const struct vigil_signal_event *s = v->raw;

		put_signal(w, s->sig);
		jsonw_string(w, "result", signal_result_name(s->result));
		jsonw_int(w, "code", s->si_code);
		jsonw_bool(w, "group", s->group);
		jsonw_object_begin(w, "target");
		put_process(w, v->other.proc);
		put_container(w, v->other.ctr);
		jsonw_object_end(w);
		if (v->verdict) {
			const struct vigil_verdict *p = v->verdict;

			jsonw_object_begin(w, "policy");
			jsonw_string(w, "name", p->policy);
			jsonw_string(w, "rule", p->rule);
			jsonw_string(w, "action", p->action);
			jsonw_string(w, "effect", p->effect);
			jsonw_bool(w, "denied", p->denied);
			jsonw_bool(w, "sender_killed", p->sender_killed);
			if (p->kill_failed)
				jsonw_bool(w, "kill_failed", true);
			jsonw_uint(w, "generation", p->generation);
			jsonw_object_end(w);
		}
		break;
	}
	case VIGIL_EV_SIGNAL_DELIVER: {
		const struct vigil_signal_event *s = v->raw;

		put_signal(w, s->sig);
		jsonw_int(w, "code", s->si_code);
		jsonw_string(w, "handler", signal_handler_name(s->handler));
		break;
	}
	case VIGIL_EV_TRUST: {
		const struct vigil_trust_info *t = v->trust;

		if (!t)
			break;	/* no trust engine: nothing resolved it */
		jsonw_object_begin(w, "trust");
		jsonw_string(w, "path", t->path);
		jsonw_bool(w, "path_truncated", t->path_truncated);
		jsonw_string(w, "hook", t->hook);
		jsonw_string(w, "reason", t->reason);
		jsonw_string(w, "action", t->action);
		jsonw_string(w, "mode", t->mode);
		jsonw_string(w, "enforcement", t->enforcement);
		jsonw_string(w, "sha256", t->sha256);
		if (t->sha256_error)
			jsonw_string(w, "sha256_error", t->sha256_error);
		jsonw_string(w, "dev", t->dev);
		jsonw_uint(w, "ino", t->ino);
		if (t->recorded_path) {
			jsonw_object_begin(w, "recorded");
			jsonw_string(w, "path", t->recorded_path);
			jsonw_string(w, "sha256", t->recorded_sha256);
			jsonw_object_end(w);
		}
		jsonw_string(w, "policy", t->policy);
		jsonw_string(w, "rule", t->rule);
		jsonw_uint(w, "generation", t->generation);
		jsonw_bool(w, "fail_open", t->fail_open);
		jsonw_bool(w, "audit_only_hook", t->audit_only_hook);
		jsonw_object_end(w);
		break;
	}
	case VIGIL_EV_OOM_KILL:
	case VIGIL_EV_OOM_PRE_KILL:
		put_oom(w, v);
		break;
	case VIGIL_EV_LEAK_SUSPECTED:
	case VIGIL_EV_LEAK_CLEARED:
		if (v->leak)
			put_leak(w, v->leak);
		break;
	}
	return finish(j);
}

/* The diagnostics of one kind (errors or warnings) as "file:line:column: msg" strings. */
static void put_diags(struct jsonw *w, const char *key, const struct policy_diags *d,
		      bool warnings, const char *extra)
{
	char line[PATH_MAX + 512];

	jsonw_array_begin(w, key);
	for (size_t i = 0; d && i < d->n; i++) {
		if (d->v[i].warning != warnings)
			continue;
		policy_diag_format(&d->v[i], line, sizeof(line));
		jsonw_string(w, NULL, line);
	}
	if (extra)
		jsonw_string(w, NULL, extra);
	jsonw_array_end(w);
}

int jsonl_write_reload(struct vigil_jsonl *j, const struct vigil_reload_info *r)
{
	struct jsonw *w = &j->w;

	begin(j, r->time_ns, "policy_reload");
	jsonw_string(w, "trigger", r->trigger);
	jsonw_string(w, "result", r->ok ? "ok" : "error");
	jsonw_string(w, "dir", r->dir);
	jsonw_string(w, "dir_state", r->dir_state);
	jsonw_uint(w, "generation", r->generation);
	jsonw_uint(w, "documents", r->documents);
	jsonw_uint(w, "rules", r->rules);
	jsonw_uint(w, "files", r->files);
	put_diags(w, "errors", r->diags, false, r->error);
	put_diags(w, "warnings", r->diags, true, NULL);
	return finish(j);
}

int jsonl_write_lost(struct vigil_jsonl *j, uint64_t time_ns, const uint64_t lost[VIGIL_EV__MAX])
{
	struct jsonw *w = &j->w;
	uint64_t total = 0;

	begin(j, time_ns, "events_lost");
	jsonw_object_begin(w, "lost");
	for (int t = 1; t < VIGIL_EV__MAX; t++) {
		if (event_user_space_only(t))
			continue;	/* made in user space: never in the ring buffer */
		total += lost[t];
		jsonw_uint(w, event_type_name(t), lost[t]);
	}
	jsonw_uint(w, "total", total);
	jsonw_object_end(w);
	return finish(j);
}

int jsonl_flush(struct vigil_jsonl *j)
{
	if (j->output)
		return output_flush(j->output);
	if (fflush(j->out) == EOF) {
		j->write_errors++;
		return -errno;
	}
	return 0;
}
