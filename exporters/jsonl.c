/*
 * jsonl.c - JSON-lines sink (see jsonl.h).
 *
 * json-c does the escaping; it does not validate UTF-8, and comm, args and
 * paths are arbitrary bytes, so strings pass through json_string_from_bytes()
 * first.  That keeps every line valid JSON whatever a process names itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "jsonl.h"

void jsonl_init(struct vigil_jsonl *j, FILE *out, const char *node)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	snprintf(j->node, sizeof(j->node), "%s", node ? node : "");
}

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t need, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and out-of-range code points. */
	if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

struct json_object *json_string_from_bytes(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	struct json_object *o;
	size_t i = 0, o_len = 0, k;
	char *buf;

	buf = malloc(len * 3 + 1);	/* worst case: every byte becomes U+FFFD */
	if (!buf)
		return NULL;
	while (i < len) {
		k = utf8_seq(u + i, len - i);
		if (k == 0) {
			memcpy(buf + o_len, "\xef\xbf\xbd", 3);
			o_len += 3;
			i++;
			continue;
		}
		memcpy(buf + o_len, s + i, k);
		o_len += k;
		i += k;
	}
	buf[o_len] = 0;
	o = json_object_new_string_len(buf, (int)o_len);
	free(buf);
	return o;
}

static struct json_object *jstr(const char *s)
{
	return json_string_from_bytes(s ? s : "", s ? strlen(s) : 0);
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

static struct json_object *args_array(const struct vigil_proc *p)
{
	struct json_object *a = json_object_new_array();
	size_t i = 0, n;

	while (p && p->args && i < p->args_len) {
		n = strnlen(p->args + i, p->args_len - i);
		json_object_array_add(a, json_string_from_bytes(p->args + i, n));
		i += n + 1;
	}
	return a;
}

static struct json_object *process_obj(const struct vigil_proc *p)
{
	struct json_object *o = json_object_new_object();

	if (!p)
		return o;
	json_object_object_add(o, "pid", json_object_new_int64(p->pid));
	json_object_object_add(o, "ppid", json_object_new_int64(p->ppid));
	json_object_object_add(o, "uid", json_object_new_int64(p->uid));
	json_object_object_add(o, "comm", jstr(p->comm));
	json_object_object_add(o, "binary", jstr(p->binary));
	json_object_object_add(o, "args", args_array(p));
	return o;
}

static struct json_object *container_obj(const struct vigil_ctr *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", jstr(c ? c->info.id : ""));
	json_object_object_add(o, "runtime",
			       jstr(cgroup_runtime_name(c ? c->info.runtime : VIGIL_RT_UNKNOWN)));
	json_object_object_add(o, "pod_uid", jstr(c ? c->info.pod_uid : ""));
	json_object_object_add(o, "qos", jstr(cgroup_qos_name(c ? c->info.qos : VIGIL_QOS_NONE)));
	json_object_object_add(o, "cgroup", jstr(c ? c->cgroup : ""));
	return o;
}

static struct json_object *base_obj(struct vigil_jsonl *j, uint64_t time_ns, const char *type)
{
	struct json_object *o = json_object_new_object();
	char ts[48];

	json_object_object_add(o, "time", jstr(format_rfc3339_ns(time_ns, ts, sizeof(ts))));
	json_object_object_add(o, "type", jstr(type));
	json_object_object_add(o, "node", jstr(j->node));
	return o;
}

static void add_signal_fields(struct json_object *o, int sig)
{
	char buf[16];

	json_object_object_add(o, "signal", json_object_new_int(sig));
	json_object_object_add(o, "signal_name", jstr(signal_name(sig, buf)));
}

static int emit(struct vigil_jsonl *j, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
	int err = 0;

	if (!s || fputs(s, j->out) == EOF || fputc('\n', j->out) == EOF) {
		j->write_errors++;
		err = -EIO;
	}
	json_object_put(o);
	return err;
}

int jsonl_write_event(struct vigil_jsonl *j, const struct vigil_event_view *v)
{
	struct json_object *o = base_obj(j, v->time_ns, event_type_name(v->type));

	json_object_object_add(o, "process", process_obj(v->subject.proc));
	json_object_object_add(o, "container", container_obj(v->subject.ctr));

	switch (v->type) {
	case VIGIL_EV_FORK: {
		struct json_object *child = json_object_new_object();

		json_object_object_add(child, "process", process_obj(v->other.proc));
		json_object_object_add(o, "child", child);
		break;
	}
	case VIGIL_EV_EXEC: {
		const struct vigil_exec_event *x = v->raw;

		json_object_object_add(o, "args_truncated",
				       json_object_new_boolean(!!(x->flags & VIGIL_EXEC_ARGS_TRUNCATED)));
		json_object_object_add(o, "binary_truncated",
				       json_object_new_boolean(!!(x->flags & VIGIL_EXEC_PATH_TRUNCATED)));
		if (x->old_pid != x->task.pid)
			json_object_object_add(o, "old_tid", json_object_new_int64(x->old_pid));
		break;
	}
	case VIGIL_EV_EXIT: {
		const struct vigil_exit_event *x = v->raw;

		json_object_object_add(o, "exit_code", json_object_new_int(x->exit_code));
		add_signal_fields(o, x->signal);
		json_object_object_add(o, "core_dumped", json_object_new_boolean(x->core_dumped));
		json_object_object_add(o, "lifetime_seconds",
				       json_object_new_double(x->lifetime_ns / 1e9));
		break;
	}
	case VIGIL_EV_SIGNAL_GENERATE: {
		const struct vigil_signal_event *s = v->raw;
		struct json_object *t = json_object_new_object();

		add_signal_fields(o, s->sig);
		json_object_object_add(o, "result", jstr(signal_result_name(s->result)));
		json_object_object_add(o, "code", json_object_new_int(s->si_code));
		json_object_object_add(o, "group", json_object_new_boolean(s->group));
		json_object_object_add(t, "process", process_obj(v->other.proc));
		json_object_object_add(t, "container", container_obj(v->other.ctr));
		json_object_object_add(o, "target", t);
		break;
	}
	case VIGIL_EV_SIGNAL_DELIVER: {
		const struct vigil_signal_event *s = v->raw;

		add_signal_fields(o, s->sig);
		json_object_object_add(o, "code", json_object_new_int(s->si_code));
		json_object_object_add(o, "handler", jstr(signal_handler_name(s->handler)));
		break;
	}
	}
	return emit(j, o);
}

int jsonl_write_lost(struct vigil_jsonl *j, uint64_t time_ns, const uint64_t lost[VIGIL_EV__MAX])
{
	struct json_object *o = base_obj(j, time_ns, "events_lost");
	struct json_object *l = json_object_new_object();
	uint64_t total = 0;

	for (int t = 1; t < VIGIL_EV__MAX; t++) {
		total += lost[t];
		json_object_object_add(l, event_type_name(t), json_object_new_int64(lost[t]));
	}
	json_object_object_add(l, "total", json_object_new_int64(total));
	json_object_object_add(o, "lost", l);
	return emit(j, o);
}

int jsonl_flush(struct vigil_jsonl *j)
{
	if (fflush(j->out) == EOF) {
		j->write_errors++;
		return -errno;
	}
	return 0;
}
