/*
 * step - a one-off step: 1 MiB (x --scale) for the first 3 s, then 24 MiB
 * (x --scale) more in one allocation, then flat until the end.  Not a
 * leak: a single jump (a cache loaded at once, a bigger buffer) followed by
 * no growth at all.  A scorer must treat the jump as a change point and
 * judge only what follows it, which is flat.
 */
#include "workload.h"

int main(int argc, char **argv)
{
	void *small, *big;
	long i;

	wl_init(argc, argv, "step");
	small = wl_alloc(wl_bytes(1.0 * WL_MIB));
	wl_at(3.0);
	big = wl_alloc(wl_bytes(24.0 * WL_MIB));
	for (i = 4;; i++)
		wl_at((double)i);
	(void)small;
	(void)big;
}
