/*
 * cache_cap - a cache that grows to a cap: 1 MiB per second (x --scale) of
 * new 128 KiB entries until it holds 12 MiB, then each new entry evicts the
 * least recently used one, so usage stays at the cap.  Every tick also looks
 * up one existing entry (a hit refreshes its recency), as a real cache
 * would.  Not a leak: the growth is bounded by the cap; after it, memory is
 * recycled, not accumulated.  Entries are above the mmap threshold
 * (workload.h), so an evicted entry's memory really goes back.
 */
#include "workload.h"

#define ENTRIES 96		/* 12 MiB / 128 KiB */
#define PER_SECOND 8		/* 8 x 128 KiB = 1 MiB/s */

struct entry {
	void *data;
	long used;		/* tick of the last insert or hit; LRU order */
};

static struct entry cache[ENTRIES];
static unsigned int seed = 12345;

static unsigned int next_rand(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 16;
}

/* The slot to fill: a free one while under the cap, else the LRU entry. */
static struct entry *victim(void)
{
	struct entry *lru = &cache[0];
	int i;

	for (i = 0; i < ENTRIES; i++) {
		if (!cache[i].data)
			return &cache[i];
		if (cache[i].used < lru->used)
			lru = &cache[i];
	}
	free(lru->data);	/* evict before insert: never above the cap */
	lru->data = NULL;
	return lru;
}

int main(int argc, char **argv)
{
	size_t entry_bytes;
	long tick, filled = 0;
	struct entry *e;

	wl_init(argc, argv, "cache_cap");
	entry_bytes = wl_bytes(12.0 * WL_MIB / ENTRIES);
	for (tick = 1;; tick++) {
		wl_at((double)tick / PER_SECOND);
		if (filled) {	/* a hit on some resident entry */
			e = &cache[next_rand() % (filled < ENTRIES ? filled : ENTRIES)];
			e->used = tick;
		}
		e = victim();
		e->data = wl_alloc(entry_bytes);
		e->used = tick;
		filled++;
	}
}
