/*
 * sawtooth - GC-like allocate and free: 2 MiB (x --scale) every 0.5 s, six
 * times (12 MiB at the top), then at the 3 s mark everything is freed and
 * the next cycle starts.  Not a leak: usage rises inside every cycle but
 * always falls back to the same floor and never passes 12 MiB, so there is
 * no trend across cycles.  Each 2 MiB block is above the mmap threshold
 * (workload.h), so free() gives it back to the kernel and RSS really falls.
 */
#include "workload.h"

#define PER_CYCLE 6	/* allocations per 3 s cycle, one every 0.5 s */

int main(int argc, char **argv)
{
	void *live[PER_CYCLE] = { 0 };
	size_t block;
	long n;
	int i;

	wl_init(argc, argv, "sawtooth");
	block = wl_bytes(2.0 * WL_MIB);
	for (n = 0;; n++) {
		wl_at(n * 0.5);
		i = n % PER_CYCLE;
		if (i == 0) {	/* the collection: all of the last cycle goes */
			for (int j = 0; j < PER_CYCLE; j++) {
				free(live[j]);
				live[j] = NULL;
			}
		}
		live[i] = wl_alloc(block);
	}
}
