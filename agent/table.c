/*
 * table.c - human columns for `vigil trace` (see table.h).  The fixed
 * columns take 68 characters so the detail column starts inside 80.
 */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"
#include "table.h"

void table_header(FILE *out)
{
	fprintf(out, "%-8s %-7s %-7s %-7s %-5s %-15s %-12s %s\n",
		"TIME", "EVENT", "PID", "PPID", "UID", "COMM", "CONTAINER", "DETAIL");
}

static const char *ctr_label(const struct vigil_ctr *c, char buf[16])
{
	if (!c || !c->resolved)
		return "?";
	if (c->info.id[0]) {
		snprintf(buf, 16, "%.12s", c->info.id);
		return buf;
	}
	if (c->info.pod_uid[0]) {
		snprintf(buf, 16, "pod:%.8s", c->info.pod_uid);
		return buf;
	}
	return cgroup_runtime_name(c->info.runtime);
}

/*
 * Printable copy: C0 and C1 controls (U+0080..U+009F include CSI) and
 * invalid UTF-8 become '?', so a hostile comm can't drive the terminal.
 */
static size_t put_safe(FILE *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, cols = 0;

	n = strnlen(s, n);
	/* Returns the columns printed (one per character), for padding. */
	for (; i < n; cols++) {
		if (u[i] < 0x80) {
			fputc(isprint(u[i]) ? u[i] : '?', out);
			i++;
			continue;
		}
		k = utf8_seq(u + i, n - i);
		if (!k || (k == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)) {
			fputc('?', out);
			i += k ? k : 1;
			continue;
		}
		fwrite(s + i, 1, k, out);
		i += k;
	}
	return cols;
}

static void put_args(FILE *out, const struct vigil_proc *p)
{
	size_t i = 0, n;

	if (!p || !p->args) {
		put_safe(out, p && p->binary ? p->binary : "", 4096);
		return;
	}
	while (i < p->args_len) {
		n = strnlen(p->args + i, p->args_len - i);
		if (i)
			fputc(' ', out);
		put_safe(out, p->args + i, n);
		i += n + 1;
	}
	if (p->args_truncated)
		fputs(" ...", out);
}

/* Bytes in MiB with one decimal: "31.9M". */
static void put_mib(FILE *out, uint64_t bytes)
{
	fprintf(out, "%.1fM", bytes / 1048576.0);
}

/* "by kernel, memcg /a/b 32.0M/32.0M, rss 30.1M, trigger 42 (hog)" and the like. */
static void put_oom(FILE *out, const struct vigil_event_view *v)
{
	const struct vigil_oom_event *o = v->raw;
	const struct vigil_oom_info *i = v->oom;
	bool by_vigil = (o->flags & VIGIL_OOM_BY_VIGIL) ||
			(i && i->source && !strcmp(i->source, "vigil"));
	const char *path = i && i->memcg_path ? i->memcg_path : "?";

	fprintf(out, "by %s", by_vigil ? "vigil" : "kernel");
	if (by_vigil && i && i->policy) {
		fputs(" policy=", out);
		put_safe(out, i->policy, 253);
	}
	if (o->flags & VIGIL_OOM_GLOBAL) {
		fputs(", global", out);
	} else {
		fputs(", memcg ", out);
		put_safe(out, path, 4096);
		fputc(' ', out);
		put_mib(out, o->memcg_usage);
		fputc('/', out);
		put_mib(out, o->memcg_limit);
	}
	if (o->flags & VIGIL_OOM_VICTIM_PID_ONLY) {
		fputs(", rss ?", out);
	} else {
		fputs(", rss ", out);
		put_mib(out, o->rss_anon + o->rss_file + o->rss_shmem);
	}
	if (!by_vigil && o->trigger.pid) {
		fprintf(out, ", trigger %u (", o->trigger.pid);
		put_safe(out, o->trigger.comm, sizeof(o->trigger.comm));
		fputc(')', out);
	}
	if (by_vigil && i && i->dry_run)
		fputs(", dry run", out);
}

/* "score 0.93, +1.0 MiB/s, 12.0M -> 40.0M (+233%), exhausts cgroup in 5m" and the like. */
static void put_leak(FILE *out, const struct vigil_leak_info *l)
{
	fprintf(out, "score %.2f, ", l->score);
	put_mib(out, l->slope > 0 ? (uint64_t)l->slope : 0);
	fputs("/s, ", out);
	put_mib(out, l->baseline);
	fputs(" -> ", out);
	put_mib(out, l->current);
	fprintf(out, " (%+.0f%%)", l->growth_pct);
	if (l->tte_s >= 0)
		fprintf(out, ", exhausts %s in %.0fs", l->limit_scope ? l->limit_scope : "node",
			l->tte_s);
	if (l->reason)
		fprintf(out, ", cleared: %s", l->reason);
	if (l->policy) {
		fputs(" policy=", out);
		put_safe(out, l->policy, 253);
	}
}

void table_write_event(FILE *out, const struct vigil_event_view *v)
{
	const struct vigil_proc *p = v->subject.proc;
	time_t sec = v->time_ns / 1000000000ull;
	char ts[16], cbuf[16], sbuf[16];
	struct tm tm;
	size_t cols;

	localtime_r(&sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	fprintf(out, "%-8s %-7.7s %-7u %-7u %-5u ", ts,
		v->type == VIGIL_EV_SIGNAL_DELIVER ? "deliver" :
		v->type == VIGIL_EV_OOM_KILL ? "oomkill" :
		v->type == VIGIL_EV_OOM_PRE_KILL ? "prekill" :
		v->type == VIGIL_EV_LEAK_SUSPECTED ? "leak" :
		v->type == VIGIL_EV_LEAK_CLEARED ? "leakend" : event_type_name(v->type),
		p ? p->pid : 0, p ? p->ppid : 0, p ? p->uid : 0);
	cols = put_safe(out, p ? p->comm : "", 15);
	fprintf(out, "%*s %-12s ", (int)(15 - cols), "", ctr_label(v->subject.ctr, cbuf));

	switch (v->type) {
	case VIGIL_EV_FORK:
		fprintf(out, "child=%u", v->other.proc ? v->other.proc->pid : 0);
		break;
	case VIGIL_EV_EXEC: {
		const struct vigil_exec_event *x = v->raw;

		put_safe(out, x->path, VIGIL_PATH_LEN);
		fputs(" [", out);
		put_args(out, p);
		fputc(']', out);
		break;
	}
	case VIGIL_EV_EXIT: {
		const struct vigil_exit_event *x = v->raw;

		if (x->signal)
			fprintf(out, "killed by %s%s", signal_name(x->signal, sbuf),
				x->core_dumped ? " (core dumped)" : "");
		else
			fprintf(out, "code=%u", x->exit_code);
		fprintf(out, " after %.3fs", x->lifetime_ns / 1e9);
		break;
	}
	case VIGIL_EV_SIGNAL_GENERATE: {
		const struct vigil_signal_event *s = v->raw;
		const struct vigil_proc *t = v->other.proc;

		fprintf(out, "%s -> %u (", signal_name(s->sig, sbuf), t ? t->pid : 0);
		put_safe(out, t ? t->comm : "", 15);
		fprintf(out, ", %s) %s", ctr_label(v->other.ctr, cbuf), signal_result_name(s->result));
		break;
	}
	case VIGIL_EV_SIGNAL_DELIVER: {
		const struct vigil_signal_event *s = v->raw;

		fprintf(out, "%s handler=%s", signal_name(s->sig, sbuf),
			signal_handler_name(s->handler));
		break;
	}
	case VIGIL_EV_OOM_KILL:
	case VIGIL_EV_OOM_PRE_KILL:
		put_oom(out, v);
		break;
	case VIGIL_EV_LEAK_SUSPECTED:
	case VIGIL_EV_LEAK_CLEARED:
		if (v->leak)
			put_leak(out, v->leak);
		break;
	}
	fputc('\n', out);
}
