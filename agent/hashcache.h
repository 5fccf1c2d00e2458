/*
 * hashcache.h - (dev, ino, ctime, size) -> sha256 + verdict, bounded.
 *
 * Hashing a file is the expensive part of reporting a violation and of
 * `vigil trust verify`, and the same few binaries come back again and again
 * while a directory walk or a package upgrade touches thousands once.  The
 * cache keeps the first kind and lets the second pass through: a
 * two-phase design with three queues:
 *
 *   cold   - FIFO of entries seen once.  New entries enter here.
 *   hot    - entries hit again (in cold, or while remembered in ghost).
 *            Evicted in CLOCK order: an entry hit since the hand last
 *            passed gets a second chance.
 *   ghost  - keys only (no value) of entries evicted from cold without a
 *            hit, oldest dropped first.  A miss whose key is in ghost
 *            enters hot directly when the caller then hc_put()s it.
 *
 * A hit in cold promotes the entry to hot at once (it is not merely
 * marked for later).  Hot is held to at most capacity - capacity/10
 * entries (a promotion into a full hot evicts from hot), so cold always
 * has a tenth to itself; while hot is smaller, cold also uses the room
 * hot leaves free rather than leaving it empty.  A new key therefore only
 * ever evicts from cold: a one-pass scan of distinct files fills cold,
 * spills into ghost and never touches hot - it cannot flush the working
 * set.
 *
 * Memory is bounded by the capacity given at creation: at most `capacity`
 * entries with values (cold + hot) and at most `capacity` ghost keys.
 * Nothing here allocates after hc_new(): everything comes from one block
 * allocated then.
 *
 * Not thread-safe; the agent uses it from its one event-loop thread.
 */
#ifndef VIGIL_HASHCACHE_H
#define VIGIL_HASHCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hc_key {
	uint64_t dev, ino;
	int64_t ctime_ns;
	uint64_t size;
};

struct hc_val {
	uint8_t sha256[32];
	uint8_t verdict;	/* caller-defined (enum trust_verdict in trust.h) */
};

struct hc_stats {
	uint64_t hits, misses;	/* hc_get() outcomes; a ghost key is a miss */
	uint64_t inserts;	/* hc_put() of a key without a value (replacing is not one) */
	uint64_t evictions;	/* values dropped for room (cold -> ghost, or out of hot) */
	uint64_t ghost_hits;	/* hc_put()s that found their key in ghost (entered hot) */
	size_t cold, hot, ghost;	/* current sizes */
	size_t capacity;
};

struct hashcache;

/*
 * capacity >= 8 entries with values: smaller values (0 included) are
 * raised to 8.  NULL on allocation failure or capacity above 2^30.
 */
struct hashcache *hc_new(size_t capacity);
void hc_free(struct hashcache *c);	/* NULL is a no-op */

/* A hit copies the value out (if out != NULL) and counts for promotion. */
bool hc_get(struct hashcache *c, const struct hc_key *k, struct hc_val *out);
/*
 * Insert or replace.  A key remembered in ghost goes straight to hot.
 * Replacing a resident key's value is not an access: it neither promotes
 * nor moves the entry.
 */
void hc_put(struct hashcache *c, const struct hc_key *k, const struct hc_val *v);
/* Forget one key, value or ghost (e.g. trust removed); no-op if absent. */
void hc_del(struct hashcache *c, const struct hc_key *k);
void hc_get_stats(const struct hashcache *c, struct hc_stats *out);
/* Bytes allocated by hc_new() for this capacity (the bound, not the use). */
size_t hc_memory_bytes(const struct hashcache *c);

#endif
