/*
 * slow_leak - a slow leak: 64 KiB per second (x --scale), never freed, from
 * one function, leak_slow_grow().  A leak: it grows for as long as it runs,
 * just sixteen times more slowly than steady_leak.
 *
 * The 64 KiB of each second go in eight 8 KiB pieces, one every 1/8 s, not
 * as one 64 KiB chunk: a scorer sampling every 250 ms (the evaluation
 * test's interval) must see growth in every interval, as it would for a
 * real slow leak sampled every 10 s.  One chunk a second would leave three
 * intervals in four flat, which is a staircase, not the smooth slow growth
 * this program stands for.  The pieces are below the mmap threshold, so
 * they come from the heap; they are never freed, so that does not matter.
 */
#include "workload.h"

struct node {
	struct node *next;
	char buf[];
};

static struct node *kept;

/* Allocates n bytes (header included) and keeps them on a list nothing frees. */
__attribute__((noinline)) void leak_slow_grow(size_t n)
{
	struct node *x = wl_alloc(n < sizeof(*x) ? sizeof(*x) : n);

	x->next = kept;
	kept = x;
}

int main(int argc, char **argv)
{
	double piece = 8.0 * WL_KIB;
	size_t step;
	long i;

	wl_init(argc, argv, "slow_leak");
	/* Not wl_bytes(): its one-chunk floor would make this 512 KiB/s. */
	step = (size_t)(piece * wl_scale);
	if (step < 4096)
		step = 4096;
	for (i = 0;; i++) {
		wl_at(i / 8.0);
		leak_slow_grow(step);
	}
}
