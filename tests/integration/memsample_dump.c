/*
 * memsample_dump - print one pass of the agent's memory sampler, for
 * tests/integration/test_memsample.sh.
 *
 * Test tool: built by make (linked with the agent's objects) into
 * build/test-tools/memsample_dump; tests/integration/run.sh does not build it
 * as a standalone helper.
 *
 * Usage: memsample_dump [--hierarchy auto|v2|memory|pids|cpu] [--passes N] [PID...]
 *
 * The attribution hierarchy is chosen the way `vigil run` chooses it
 * (agent_pick_cgroup, default auto), so cgroup_id is the id the agent uses.
 * It opens the sampler once and reads N passes (default 1), each through a
 * fresh iterator fd; the records of the last pass are printed, one per
 * line, only those of the given pids if any are given:
 *
 *   pid=P start_ns=N cgroup_id=N memcg_id=N memcg_usage=B
 *   memcg_limit=B rss_anon=B rss_file=B rss_shmem=B swap=B flags=F comm=C
 *
 * (one line; memcg_limit "none" for ~0; comm last, as it may hold spaces).
 * On stderr: "memsample_dump: hierarchy MOUNT" and, per pass,
 * "memsample_dump: pass I: N records".  Exit 0, 1 on failure (the sampler's
 * why on stderr), 2 on usage errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cgroup.h"
#include "memsample.h"

struct dump {
	const unsigned long *pids;
	int npids;
	bool print;
};

static int on_sample(const struct vigil_mem_sample *s, void *ctx)
{
	const struct dump *d = ctx;
	char comm[VIGIL_MEM_COMM_LEN + 1];
	char limit[24];
	int i;

	if (!d->print)
		return 0;
	if (d->npids) {
		for (i = 0; i < d->npids; i++)
			if (d->pids[i] == s->pid)
				break;
		if (i == d->npids)
			return 0;
	}
	memcpy(comm, s->comm, VIGIL_MEM_COMM_LEN);
	comm[VIGIL_MEM_COMM_LEN] = '\0';
	if (s->memcg_limit == ~(uint64_t)0)
		snprintf(limit, sizeof(limit), "none");
	else
		snprintf(limit, sizeof(limit), "%" PRIu64, (uint64_t)s->memcg_limit);
	printf("pid=%u start_ns=%" PRIu64 " cgroup_id=%" PRIu64 " memcg_id=%" PRIu64
	       " memcg_usage=%" PRIu64 " memcg_limit=%s rss_anon=%" PRIu64 " rss_file=%" PRIu64
	       " rss_shmem=%" PRIu64 " swap=%" PRIu64 " flags=%u comm=%s\n",
	       s->pid, (uint64_t)s->start_ns, (uint64_t)s->cgroup_id,
	       (uint64_t)s->memcg_id, (uint64_t)s->memcg_usage, limit, (uint64_t)s->rss_anon,
	       (uint64_t)s->rss_file, (uint64_t)s->rss_shmem, (uint64_t)s->swap,
	       s->flags, comm);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: memsample_dump [--hierarchy auto|v2|memory|pids|cpu] "
		"[--passes N] [PID...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct vigil_cgroup_layout layout;
	enum vigil_cgroup_source src;
	struct vigil_memsampler *m;
	const char *want = "auto";
	unsigned long *pids;
	struct dump d = { 0 };
	char mount[256], why[512] = "", *end;
	long passes = 1, n;
	int i, err, hid = 0;

	pids = calloc(argc, sizeof(*pids));
	if (!pids)
		return 1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hierarchy") && i + 1 < argc) {
			want = argv[++i];
		} else if (!strcmp(argv[i], "--passes") && i + 1 < argc) {
			passes = strtol(argv[++i], &end, 10);
			if (*end || passes < 1)
				usage();
		} else {
			errno = 0;
			pids[d.npids] = strtoul(argv[i], &end, 10);
			if (errno || *end || !pids[d.npids])
				usage();
			d.npids++;
		}
	}
	d.pids = pids;

	err = cgroup_layout_detect(&layout);
	if (err) {
		fprintf(stderr, "memsample_dump: reading the cgroup layout: %s\n", strerror(-err));
		return 1;
	}
	if (agent_pick_cgroup(&layout, want, &src, mount, sizeof(mount), why, sizeof(why))) {
		fprintf(stderr, "memsample_dump: %s\n", why);
		return 1;
	}
	if (src != VIGIL_CG_V2) {
		static const char *const names[] = {
			[VIGIL_CG_V1_MEMORY] = "memory",
			[VIGIL_CG_V1_PIDS] = "pids",
			[VIGIL_CG_V1_CPU] = "cpu",
		};

		hid = cgroup_v1_hierarchy_id(names[src]);
		if (hid < 0) {
			fprintf(stderr, "memsample_dump: the %s hierarchy's id: %s\n", names[src],
				strerror(-hid));
			return 1;
		}
	}
	fprintf(stderr, "memsample_dump: hierarchy %s\n", mount);

	err = memsampler_open(&m, src, (uint32_t)hid, why, sizeof(why));
	if (err) {
		fprintf(stderr, "memsample_dump: %s\n", why);
		return 1;
	}
	for (i = 0; i < passes; i++) {
		d.print = i == passes - 1;
		n = memsampler_read(m, on_sample, &d);
		if (n < 0) {
			fprintf(stderr, "memsample_dump: pass %d: %s\n", i + 1, strerror((int)-n));
			memsampler_close(m);
			return 1;
		}
		fprintf(stderr, "memsample_dump: pass %d: %ld records\n", i + 1, n);
	}
	memsampler_close(m);
	free(pids);
	return fflush(stdout) ? 1 : 0;
}
