/*
 * memsample.c - the memory sampler's lifecycle and one pass over its
 * iterator (see memsample.h).
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
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "memsample.h"
#include "mem.skel.h"

/* Big enough that a pass over thousands of processes is a few reads. */
#define MEMSAMPLE_BUF (256u << 10)

struct vigil_memsampler {
	struct mem_bpf *skel;
	struct bpf_link *link;
	char *buf;
	size_t cap;
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
	m->cap = MEMSAMPLE_BUF;
	m->buf = malloc(m->cap);
	if (!m->buf) {
		err = -ENOMEM;
		snprintf(why, whylen, "allocating the sampler's read buffer: %s", strerror(-err));
		goto fail;
	}
	m->skel = mem_bpf__open();
	if (!m->skel) {
		err = -errno;
		snprintf(why, whylen, "opening the memory sampler BPF object: %s", strerror(-err));
		goto fail;
	}
	m->skel->rodata->vigil_cg_source = cg_source;
	m->skel->rodata->vigil_cg_hierarchy_id = cg_hierarchy_id;
	m->skel->rodata->vigil_mem_ncpus = (uint32_t)ncpus;
	err = mem_bpf__load(m->skel);
	if (err) {
		load_why(why, whylen, err);
		goto fail;
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

/* fn may be NULL: the pass is only counted (memsampler_open's first pass). */
long memsampler_read(struct vigil_memsampler *m, memsample_fn fn, void *ctx)
{
	const size_t rec = sizeof(struct vigil_mem_sample);
	size_t have = 0, off;
	long count = 0;
	ssize_t n;
	int fd, err = 0;

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

void memsampler_close(struct vigil_memsampler *m)
{
	if (!m)
		return;
	bpf_link__destroy(m->link);
	mem_bpf__destroy(m->skel);
	free(m->buf);
	free(m);
}
