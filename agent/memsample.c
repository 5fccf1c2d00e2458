/*
 * memsample.c - the memory sampler's lifecycle and one pass over its
 * iterator (see memsample.h).
 *
 * Where the kernel has the open-coded task iterator (6.7+), a pass is one
 * BPF_PROG_TEST_RUN of vigil_mem_walk, which walks the process list and
 * leaves the records in an array mapped here, read in place: no pid
 * lookups, no copies.  Otherwise, and for a pass that finds more processes
 * than that array holds, it reads iter/task as follows.
 *
 * The object is loaded and its iterator link attached once; every pass
 * opens a fresh iterator fd on that link and reads it to the end in large
 * reads into one buffer kept for the sampler's life, so a tick costs a
 * handful of syscalls whatever the number of processes.  The kernel fills
 * at most its own seq buffer per read and never splits a record there, but
 * nothing here relies on that: a record cut by a read is completed by the
 * next one.  Nothing here prints; failures come back as -errno and a why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "memsample.h"
#include "mem.skel.h"

/* Big enough that a pass over thousands of processes is a few reads. */
#define MEMSAMPLE_BUF (256u << 10)

/*
 * The task-list walk's record array (mem.bpf.c, vigil_mem_out): twice the
 * node's tasks at open (threads included, so an upper bound on processes
 * with room to grow), at least this many.  A pass that finds more
 * processes than it holds is re-read through iter/task.
 */
#define MEMSAMPLE_WALK_MIN 8192u
#define MEMSAMPLE_WALK_MAX (1u << 22)

struct vigil_memsampler {
	struct mem_bpf *skel;
	struct bpf_link *link;
	char *buf;
	size_t cap;
	/* The task-list walk, when the kernel has it: vigil_mem_walk's fd, its records mapped. */
	int walk_fd;
	const struct vigil_mem_sample *walk_recs;
	size_t walk_len;	/* bytes mapped */
	uint32_t walk_cap;	/* records */
};

/* Why the load failed, in terms an operator can act on (short: `vigil features` shows it). */
static void load_why(char *why, size_t whylen, int err)
{
	struct btf *btf;
	bool iter;

	if (!why || !whylen)
		return;
	if (err == -EPERM || err == -EACCES) {
		snprintf(why, whylen, "loading iter/task: %s (needs root, or CAP_BPF and "
			 "CAP_PERFMON)", strerror(-err));
		return;
	}
	btf = btf__load_vmlinux_btf();
	iter = btf && btf__find_by_name_kind(btf, "bpf_iter_task", BTF_KIND_FUNC) > 0;
	if (!btf)
		snprintf(why, whylen, "iter/task not supported by this kernel: no vmlinux BTF (%s)",
			 strerror(-err));
	else if (!iter)
		snprintf(why, whylen, "iter/task not supported by this kernel: no bpf_iter_task "
			 "in its BTF (%s)", strerror(-err));
	else
		snprintf(why, whylen, "the kernel refused iter/task program vigil_mem_sample: %s "
			 "(libbpf's debug log has the verifier's reason)", strerror(-err));
	btf__free(btf);
}

/* Whether vmlinux BTF has the open-coded task iterator and the RCU kfuncs the walk needs. */
static bool have_task_walk(void)
{
	static const char *const need[] = {
		"bpf_iter_task_new", "bpf_iter_task_next", "bpf_iter_task_destroy",
		"bpf_rcu_read_lock", "bpf_rcu_read_unlock",
	};
	struct btf *btf = btf__load_vmlinux_btf();
	bool ok = btf != NULL;

	for (size_t i = 0; ok && i < sizeof(need) / sizeof(need[0]); i++)
		ok = btf__find_by_name_kind(btf, need[i], BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return ok;
}

static uint32_t walk_capacity(void)
{
	struct sysinfo si;
	uint32_t cap = MEMSAMPLE_WALK_MIN;

	if (!sysinfo(&si))
		while (cap < MEMSAMPLE_WALK_MAX && cap < 2u * si.procs)
			cap <<= 1;
	return cap;
}

/*
 * Open and load the object, with the task-list walk or without it.  0 or
 * -errno (the skeleton is destroyed on failure).
 */
static int load_skel(struct vigil_memsampler *m, bool walk, uint32_t cg_source,
		     uint32_t cg_hierarchy_id, int ncpus, char *why, size_t whylen)
{
	int err;

	m->skel = mem_bpf__open();
	if (!m->skel) {
		err = -errno;
		snprintf(why, whylen, "opening the memory sampler BPF object: %s", strerror(-err));
		return err;
	}
	m->skel->rodata->vigil_cg_source = cg_source;
	m->skel->rodata->vigil_cg_hierarchy_id = cg_hierarchy_id;
	m->skel->rodata->vigil_mem_ncpus = (uint32_t)ncpus;
	if (walk) {
		m->walk_cap = walk_capacity();
		err = bpf_map__set_max_entries(m->skel->maps.vigil_mem_out, m->walk_cap);
	} else {
		m->walk_cap = 0;
		err = bpf_program__set_autoload(m->skel->progs.vigil_mem_walk, false);
	}
	if (!err)
		err = mem_bpf__load(m->skel);
	if (err) {
		load_why(why, whylen, err);
		mem_bpf__destroy(m->skel);
		m->skel = NULL;
	}
	return err;
}

/* Load load_skel()'s way (the task-list walk where there is one), and attach iter/task. */
int memsampler_open(struct vigil_memsampler **out, uint32_t cg_source, uint32_t cg_hierarchy_id,
		    char *why, size_t whylen)
{
	struct vigil_memsampler *m;
	int ncpus, err;
	long n;

	*out = NULL;
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		snprintf(why, whylen, "counting possible CPUs: %s", strerror(ncpus ? -ncpus : EINVAL));
		return ncpus ? ncpus : -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(why, whylen, "allocating the memory sampler: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	m->walk_fd = -1;
	m->cap = MEMSAMPLE_BUF;
	m->buf = malloc(m->cap);
	if (!m->buf) {
		err = -ENOMEM;
		snprintf(why, whylen, "allocating the sampler's read buffer: %s", strerror(-err));
		goto fail;
	}
	/*
	 * The task-list walk where the kernel has its kfuncs; should the
	 * verifier still refuse it, the object loads again without it.
	 */
	err = -ENOENT;
	if (have_task_walk())
		err = load_skel(m, true, cg_source, cg_hierarchy_id, ncpus, why, whylen);
	if (err)
		err = load_skel(m, false, cg_source, cg_hierarchy_id, ncpus, why, whylen);
	if (err)
		goto fail;
	if (m->walk_cap) {
		m->walk_len = (size_t)m->walk_cap * sizeof(struct vigil_mem_sample);
		m->walk_recs = mmap(NULL, m->walk_len, PROT_READ, MAP_SHARED,
				    bpf_map__fd(m->skel->maps.vigil_mem_out), 0);
		if (m->walk_recs == MAP_FAILED) {
			/* Not fatal: iter/task is still there. */
			m->walk_recs = NULL;
			m->walk_cap = 0;
		} else {
			m->walk_fd = bpf_program__fd(m->skel->progs.vigil_mem_walk);
		}
	}
	m->link = bpf_program__attach_iter(m->skel->progs.vigil_mem_sample, NULL);
	if (!m->link) {
		err = -errno;
		snprintf(why, whylen, "iter/task not supported by this kernel: attaching the "
			 "task iterator: %s", strerror(-err));
		goto fail;
	}
	/*
	 * One pass now: the first one measures the per-CPU offsets the RSS
	 * sums need (mem.bpf.c), so no caller's pass races it, and a kernel
	 * that loads the iterator but cannot run it fails here, not at a tick.
	 */
	n = memsampler_read(m, NULL, NULL);
	if (n < 0) {
		err = (int)n;
		snprintf(why, whylen, "reading the task iterator: %s", strerror(-err));
		goto fail;
	}
	*out = m;
	return 0;
fail:
	memsampler_close(m);
	return err;
}

/*
 * One pass by the task-list walk.  Records count, -errno, or -ENOSPC when
 * the array was too small for the node's processes (the caller re-reads
 * through iter/task).
 */
static long walk_read(struct vigil_memsampler *m, memsample_fn fn, void *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	uint32_t n;
	int err;

	m->skel->bss->vigil_mem_pass++;
	err = bpf_prog_test_run_opts(m->walk_fd, &opts);
	if (err)
		return -errno;
	n = m->skel->bss->vigil_mem_found;
	if (n > m->walk_cap)
		return -ENOSPC;
	if (fn)
		for (uint32_t i = 0; i < n; i++) {
			err = fn(&m->walk_recs[i], ctx);
			if (err)
				return err;
		}
	return n;
}

/* fn may be NULL: the pass is only counted (memsampler_open's first pass). */
long memsampler_read(struct vigil_memsampler *m, memsample_fn fn, void *ctx)
{
	const size_t rec = sizeof(struct vigil_mem_sample);
	size_t have = 0, off;
	long count = 0;
	ssize_t n;
	int fd, err = 0;

	if (m->walk_fd >= 0) {
		count = walk_read(m, fn, ctx);
		if (count != -ENOSPC)
			return count;
		count = 0;
	}
	fd = bpf_iter_create(bpf_link__fd(m->link));
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, m->buf + have, m->cap - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0) {
			/* The kernel writes whole records: a stub at the end is a broken pass. */
			if (have)
				err = -EPROTO;
			break;
		}
		have += (size_t)n;
		/* The buffer is malloc'd and rec a multiple of 8: records are aligned. */
		for (off = 0; off + rec <= have; off += rec) {
			count++;
			if (fn) {
				err = fn((const struct vigil_mem_sample *)(m->buf + off), ctx);
				if (err)
					goto out;
			}
		}
		have -= off;
		if (have)
			memmove(m->buf, m->buf + off, have);
	}
out:
	close(fd);
	return err ? err : count;
}

const char *memsampler_walk(const struct vigil_memsampler *m)
{
	return m->walk_fd >= 0 ? "task-list" : "iter/task";
}

void memsampler_close(struct vigil_memsampler *m)
{
	if (!m)
		return;
	if (m->walk_recs)
		munmap((void *)m->walk_recs, m->walk_len);
	bpf_link__destroy(m->link);
	mem_bpf__destroy(m->skel);
	free(m->buf);
	free(m);
}
