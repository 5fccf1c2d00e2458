/*
 * plateau - warm-up, then a plateau: 16 MiB (x --scale) allocated over the
 * first 4 s in steps of 1/32 of it, then held, touching nothing new, until
 * the end.  Not a leak: the growth is bounded and over once the program has
 * warmed up (think of a service filling its pools at start).  A scorer must
 * take its baseline after the warm-up and then see a flat line.
 */
#include "workload.h"

#define STEPS 32

int main(int argc, char **argv)
{
	size_t step;
	void *keep[STEPS];
	long i;

	wl_init(argc, argv, "plateau");
	step = wl_bytes(16.0 * WL_MIB / STEPS);
	for (i = 0; i < STEPS; i++) {
		wl_at(i * 4.0 / STEPS);
		keep[i] = wl_alloc(step);
	}
	/* Hold everything; wl_at ends the program at --duration. */
	for (i = 4;; i++)
		wl_at((double)i);
	(void)keep;
}
