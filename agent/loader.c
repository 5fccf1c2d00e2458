/*
 * loader.c - the tracing object's lifecycle (see loader.h).
 *
 * Programs for event types the caller did not ask for are not loaded at all
 * (autoload off), which costs nothing at run time and keeps the verifier
 * from seeing code that will never run.  The OOM programs are picked by
 * probing the kernel's BTF (which mark_victim signature, whether
 * oom_kill_process is there for a kprobe); a kprobe that still fails to
 * load or attach is dropped and the object loaded again without it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "features.h"
#include "loader.h"
#include "trace.skel.h"

static void set_why(char *why, size_t len, const char *step, int err)
{
	if (why && len)
		snprintf(why, len, "%s: %s", step, strerror(err < 0 ? -err : err));
}

static int ringbuf_size_ok(uint32_t n)
{
	long page = sysconf(_SC_PAGESIZE);

	return n >= (uint32_t)page && (n & (n - 1)) == 0;
}

/* Which OOM programs to load: probed from BTF, never from version numbers. */
struct oom_plan {
	int victim_args;	/* see vigil_bpf.oom_victim_args */
	bool kprobe;		/* try kprobe/oom_kill_process */
	bool counter;		/* the OOM_KILL counter tells kills (else signal state) */
	char why[160];		/* why not the kprobe, or why no capture at all */
};

static void oom_plan(struct oom_plan *p)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int n;

	memset(p, 0, sizeof(*p));
	n = btf ? features_mark_victim_args(btf) : -ENOENT;
	p->victim_args = n == 1 || n == 2 ? n : 0;
	p->counter = features_ksym_exists("vm_event_states");
	if (!p->victim_args) {
		snprintf(p->why, sizeof(p->why), !btf ? "no vmlinux BTF" :
			 n == -ENOENT ? "no oom:mark_victim tracepoint in BTF" :
			 "oom:mark_victim has an unknown signature (%d arguments)", n);
	} else if (access(VIGIL_KPROBE_PMU_TYPE, F_OK) != 0) {
		snprintf(p->why, sizeof(p->why), "no kprobes: %s missing", VIGIL_KPROBE_PMU_TYPE);
	} else if (btf__find_by_name_kind(btf, "oom_kill_process", BTF_KIND_FUNC) <= 0) {
		snprintf(p->why, sizeof(p->why), "no oom_kill_process function in BTF");
	} else {
		p->kprobe = true;
	}
	btf__free(btf);
}

/* The kernel's oom_kill count (/proc/vmstat), or 0 if it cannot be read. */
static uint64_t vmstat_oom_kills(void)
{
	unsigned long long v = 0;
	char line[128];
	FILE *f = fopen("/proc/vmstat", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "oom_kill %llu", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static int load_once(struct vigil_bpf *b, const struct vigil_loader_opts *o,
		     const struct oom_plan *op, char *why, size_t whylen)
{
	struct trace_bpf *skel;
	int err;

	skel = trace_bpf__open();
	if (!skel) {
		err = -errno;
		set_why(why, whylen, "opening BPF object", err);
		return err;
	}
	skel->rodata->vigil_cg_source = o->cg_source;
	skel->rodata->vigil_wakeup_bytes = o->wakeup_bytes;
	skel->rodata->vigil_cg_hierarchy_id = o->cg_hierarchy_id;
	skel->rodata->vigil_exec_path_lsm = o->exec_path_lsm;
	skel->rodata->vigil_oom_ncpus = b->ncpus;
	bpf_program__set_autoload(skel->progs.vigil_exec_path, o->exec_path_lsm);

	if (o->ring_buffer_bytes) {
		if (!ringbuf_size_ok(o->ring_buffer_bytes)) {
			snprintf(why, whylen, "ring buffer size %u: must be a power of two, at least one page",
				 o->ring_buffer_bytes);
			err = -EINVAL;
			goto fail;
		}
		err = bpf_map__set_max_entries(skel->maps.events, o->ring_buffer_bytes);
		if (err) {
			set_why(why, whylen, "sizing ring buffer", err);
			goto fail;
		}
	}

	bpf_program__set_autoload(skel->progs.vigil_fork, !!(o->observe & VIGIL_OBS(VIGIL_EV_FORK)));
	bpf_program__set_autoload(skel->progs.vigil_exec, !!(o->observe & VIGIL_OBS(VIGIL_EV_EXEC)));
	bpf_program__set_autoload(skel->progs.vigil_exit, !!(o->observe & VIGIL_OBS(VIGIL_EV_EXIT)));
	skel->rodata->vigil_emit_signal_generate =
		!!(o->observe & VIGIL_OBS(VIGIL_EV_SIGNAL_GENERATE));
	bpf_program__set_autoload(skel->progs.vigil_signal_generate,
				  o->signal_policy ||
				  (o->observe & VIGIL_OBS(VIGIL_EV_SIGNAL_GENERATE)));
	skel->rodata->vigil_sig_lsm = o->signal_policy && o->signal_lsm;
	bpf_program__set_autoload(skel->progs.vigil_task_kill, o->signal_policy && o->signal_lsm);
	bpf_program__set_autoload(skel->progs.vigil_signal_deliver,
				  !!(o->observe & VIGIL_OBS(VIGIL_EV_SIGNAL_DELIVER)));
	/* OOM capture is always on: it is cheap, and OOM kills are rare. */
	bpf_program__set_autoload(skel->progs.vigil_oom_victim, op->victim_args == 2 && op->counter);
	bpf_program__set_autoload(skel->progs.vigil_oom_victim_sig,
				  op->victim_args == 2 && !op->counter);
	bpf_program__set_autoload(skel->progs.vigil_oom_victim_pid,
				  op->victim_args == 1 && op->counter);
	bpf_program__set_autoload(skel->progs.vigil_oom_victim_pid_sig,
				  op->victim_args == 1 && !op->counter);
	bpf_program__set_autoload(skel->progs.vigil_oom_kprobe, op->kprobe);

	err = trace_bpf__load(skel);
	if (err) {
		set_why(why, whylen, "loading BPF programs (run `vigil features` to see what this kernel supports)", err);
		goto fail;
	}
	/* Kills before this point are not ours to report: start counting from now. */
	skel->bss->vigil_oom_kills_seen = vmstat_oom_kills();
	err = trace_bpf__attach(skel);
	if (err) {
		set_why(why, whylen, "attaching BPF programs", err);
		goto fail;
	}
	b->skel = skel;
	return 0;
fail:
	trace_bpf__destroy(skel);
	return err;
}

int vigil_bpf_load(struct vigil_bpf *b, const struct vigil_loader_opts *o,
		   char *why, size_t whylen)
{
	struct oom_plan op;
	char kwhy[200] = "";
	int err;

	memset(b, 0, sizeof(*b));
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0) {
		set_why(why, whylen, "counting CPUs", b->ncpus);
		return b->ncpus ? b->ncpus : -EINVAL;
	}
	oom_plan(&op);
	err = load_once(b, o, &op, why, whylen);
	if (err && op.kprobe) {
		/* Listed in BTF is not attachable (inlined, blacklisted): do without. */
		snprintf(kwhy, sizeof(kwhy), "%s", why);
		op.kprobe = false;
		snprintf(op.why, sizeof(op.why), "kprobe/oom_kill_process failed: %.120s", kwhy);
		err = load_once(b, o, &op, why, whylen);
	}
	if (err)
		return err;
	b->exec_path_lsm = o->exec_path_lsm;
	b->signal_lsm = o->signal_policy && o->signal_lsm;
	b->oom_victim_args = op.victim_args;
	b->oom_kprobe = op.kprobe;
	b->oom_counter = op.counter;
	if (!op.victim_args)
		snprintf(b->oom_hooks, sizeof(b->oom_hooks), "off (%s)", op.why);
	else if (op.kprobe)
		snprintf(b->oom_hooks, sizeof(b->oom_hooks),
			 "kprobe/oom_kill_process + tp_btf/mark_victim%s (OOM-ing memcg exact; "
			 "kills told by %s)", op.victim_args == 1 ? "(pid)" : "",
			 op.counter ? "the OOM_KILL counter" : "signal state");
	else
		snprintf(b->oom_hooks, sizeof(b->oom_hooks),
			 "tp_btf/mark_victim%s (OOM-ing memcg inferred: %s; kills told by %s)",
			 op.victim_args == 1 ? "(pid): victim pid only" : "", op.why,
			 op.counter ? "the OOM_KILL counter" : "signal state");
	return 0;
}

int vigil_bpf_ringbuf_fd(const struct vigil_bpf *b)
{
	return bpf_map__fd(b->skel->maps.events);
}

int vigil_bpf_seed(struct vigil_bpf *b, vigil_seed_fn fn, void *ctx)
{
	struct vigil_seed_record rec;
	struct bpf_link *link;
	size_t have = 0;
	int fd, err = 0;
	ssize_t n;

	/* The iterator is attached on demand; it is not part of trace_bpf__attach(). */
	link = bpf_program__attach_iter(b->skel->progs.vigil_seed, NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		n = read(fd, (char *)&rec + have, sizeof(rec) - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		have += n;
		if (have == sizeof(rec)) {
			have = 0;
			err = fn(&rec, ctx);
			if (err)
				break;
		}
	}
	close(fd);
out:
	bpf_link__destroy(link);
	return err;
}

int vigil_bpf_percpu_sum(const struct vigil_bpf *b, int map_fd, uint32_t n, uint64_t *out)
{
	uint64_t *vals;
	uint32_t key;
	int err = 0, cpu;

	vals = calloc(b->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (key = 0; key < n; key++) {
		out[key] = 0;
		if (bpf_map_lookup_elem(map_fd, &key, vals)) {
			err = -errno;
			break;
		}
		for (cpu = 0; cpu < b->ncpus; cpu++)
			out[key] += vals[cpu];
	}
	free(vals);
	return err;
}

int vigil_bpf_lost(const struct vigil_bpf *b, uint64_t lost[VIGIL_EV__MAX])
{
	return vigil_bpf_percpu_sum(b, bpf_map__fd(b->skel->maps.lost), VIGIL_EV__MAX, lost);
}

void vigil_bpf_destroy(struct vigil_bpf *b)
{
	if (b->skel)
		trace_bpf__destroy(b->skel);
	b->skel = NULL;
}

int vigil_bpf_map_prune(int fd, size_t key_size, bool (*keep)(const void *key, void *ctx),
			void *ctx)
{
	unsigned char *dead = NULL, *prev = NULL, *next, *cur;
	size_t n = 0, cap = 0;
	int err = 0;

	next = malloc(2 * key_size);
	if (!next)
		return -ENOMEM;
	cur = next + key_size;
	/* Collect first: deleting while walking can restart the walk. */
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (!keep(next, ctx)) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				unsigned char *d = realloc(dead, ncap * key_size);

				if (!d) {
					err = -ENOMEM;
					break;
				}
				dead = d;
				cap = ncap;
			}
			memcpy(dead + n++ * key_size, next, key_size);
		}
		memcpy(cur, next, key_size);
		prev = cur;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, dead + i * key_size);
	free(dead);
	free(next);
	return err;
}
