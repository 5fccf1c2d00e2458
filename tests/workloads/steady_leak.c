/*
 * steady_leak - a steady leak: 1 MiB per second (x --scale), never freed,
 * from one function, leak_steady_grow(), that `vigil leaks --trace` must name.
 */
#include "workload.h"

struct node {
	struct node *next;
	char *buf;
};

static struct node *kept;

/* Allocates n bytes and keeps them on a list nothing ever frees. */
__attribute__((noinline)) void leak_steady_grow(size_t n)
{
	struct node *x = malloc(sizeof(*x));

	if (!x)
		exit(1);
	x->buf = wl_alloc(n);
	x->next = kept;
	kept = x;
}

int main(int argc, char **argv)
{
	size_t step = wl_bytes(WL_MIB / 8);	/* eight steps a second */
	long i;

	wl_init(argc, argv, "steady_leak");
	for (i = 0;; i++) {
		wl_at(i / 8.0);
		leak_steady_grow(step);
	}
}
