/*
 * loader.c - the tracing object's lifecycle (see loader.h).
 *
 * Programs for event types the caller did not ask for are not loaded at all
 * (autoload off), which costs nothing at run time and keeps the verifier
 * from seeing code that will never run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

int vigil_bpf_load(struct vigil_bpf *b, const struct vigil_loader_opts *o,
		   char *why, size_t whylen)
{
	struct trace_bpf *skel;
	int err;

	memset(b, 0, sizeof(*b));
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0) {
		set_why(why, whylen, "counting CPUs", b->ncpus);
		return b->ncpus ? b->ncpus : -EINVAL;
	}

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

	err = trace_bpf__load(skel);
	if (err) {
		set_why(why, whylen, "loading BPF programs (run `vigil features` to see what this kernel supports)", err);
		goto fail;
	}
	err = trace_bpf__attach(skel);
	if (err) {
		set_why(why, whylen, "attaching BPF programs", err);
		goto fail;
	}
	b->skel = skel;
	b->exec_path_lsm = o->exec_path_lsm;
	b->signal_lsm = o->signal_policy && o->signal_lsm;
	return 0;
fail:
	trace_bpf__destroy(skel);
	return err;
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
