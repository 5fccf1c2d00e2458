/*
 * test_hashcache.c - the bounded file-hash cache.  What matters beyond the
 * basics: memory stays at the bound whatever goes through, a one-pass scan
 * of distinct files cannot flush the working set, and on a trace that mixes
 * a hot set with scans it beats the plain LRU it replaces.  A plain LRU
 * (below, test-only) runs the same traces so the scan tests show what they
 * guard against, and a randomized run against a ground-truth array checks
 * that a hit never returns a stale or deleted value.
 *
 * Every "access" is what the agent does: hc_get, and on a miss hc_put.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashcache.h"

/* Deterministic xorshift so a failure reproduces. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
	return (double)(rng() >> 11) / (double)(1ull << 53);
}

/* A plausible file identity for trace id `id`: every field depends on it. */
static struct hc_key key_of(uint64_t id)
{
	struct hc_key k = {
		.dev = 0x803 + (id >> 40),
		.ino = id,
		.ctime_ns = 1700000000000000000ll + (int64_t)(id % 1000003) * 1000,
		.size = 4096 + id % 97,
	};

	return k;
}

/* A value that names its key and a generation, so staleness is visible. */
static struct hc_val val_of(uint64_t id, uint8_t gen)
{
	struct hc_val v;

	for (size_t i = 0; i < sizeof(v.sha256); i++)
		v.sha256[i] = (uint8_t)(id >> (8 * (i % 8))) ^ (uint8_t)i;
	v.verdict = gen;
	return v;
}

static bool val_eq(const struct hc_val *a, const struct hc_val *b)
{
	return !memcmp(a->sha256, b->sha256, sizeof(a->sha256)) && a->verdict == b->verdict;
}

static void put_id(struct hashcache *c, uint64_t id, uint8_t gen)
{
	struct hc_key k = key_of(id);
	struct hc_val v = val_of(id, gen);

	hc_put(c, &k, &v);
}

static bool get_id(struct hashcache *c, uint64_t id, struct hc_val *out)
{
	struct hc_key k = key_of(id);

	return hc_get(c, &k, out);
}

static void del_id(struct hashcache *c, uint64_t id)
{
	struct hc_key k = key_of(id);

	hc_del(c, &k);
}

/* Get, and on a miss put: returns whether it hit. */
static bool access_id(struct hashcache *c, uint64_t id)
{
	if (get_id(c, id, NULL))
		return true;
	put_id(c, id, 1);
	return false;
}

static struct hc_stats stats(const struct hashcache *c)
{
	struct hc_stats s;

	hc_get_stats(c, &s);
	return s;
}

static void assert_bounds(const struct hashcache *c, const char *when)
{
	struct hc_stats s = stats(c);
	size_t cold_min = s.capacity / 10 ? s.capacity / 10 : 1;

	cr_assert_leq(s.cold + s.hot, s.capacity, "%s: cold %zu + hot %zu > capacity %zu",
		      when, s.cold, s.hot, s.capacity);
	cr_assert_leq(s.ghost, s.capacity, "%s: ghost %zu > capacity %zu", when, s.ghost,
		      s.capacity);
	cr_assert_leq(s.hot, s.capacity - cold_min, "%s: hot %zu over its share of %zu", when,
		      s.hot, s.capacity);
}

/*
 * Reference LRU over trace ids, the policy hashcache must beat: chained
 * hash index plus a recency list, both over a fixed node array.
 */
struct lru {
	size_t cap, n;
	uint32_t *buckets, mask;
	struct lru_node {
		uint64_t id;
		uint32_t prev, next, chain;
	} *nodes;
	uint32_t head, tail;	/* head = most recent */
};

#define LNIL UINT32_MAX

static uint32_t lru_bucket(const struct lru *l, uint64_t id)
{
	return (uint32_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & l->mask;
}

static void lru_init(struct lru *l, size_t cap)
{
	size_t nb = 1;

	while (nb < 2 * cap)
		nb <<= 1;
	memset(l, 0, sizeof(*l));
	l->cap = cap;
	l->mask = (uint32_t)nb - 1;
	l->buckets = malloc(nb * sizeof(*l->buckets));
	l->nodes = calloc(cap, sizeof(*l->nodes));
	cr_assert(l->buckets && l->nodes);
	memset(l->buckets, 0xff, nb * sizeof(*l->buckets));
	l->head = l->tail = LNIL;
}

static void lru_free(struct lru *l)
{
	free(l->buckets);
	free(l->nodes);
}

static void lru_unlink(struct lru *l, uint32_t i)
{
	struct lru_node *n = &l->nodes[i];

	if (n->prev != LNIL)
		l->nodes[n->prev].next = n->next;
	else
		l->head = n->next;
	if (n->next != LNIL)
		l->nodes[n->next].prev = n->prev;
	else
		l->tail = n->prev;
}

static void lru_push_front(struct lru *l, uint32_t i)
{
	l->nodes[i].prev = LNIL;
	l->nodes[i].next = l->head;
	if (l->head != LNIL)
		l->nodes[l->head].prev = i;
	else
		l->tail = i;
	l->head = i;
}

/* Get, and on a miss put (evicting the least recent): returns whether it hit. */
static bool lru_access(struct lru *l, uint64_t id)
{
	uint32_t *pp, i;

	for (i = l->buckets[lru_bucket(l, id)]; i != LNIL; i = l->nodes[i].chain)
		if (l->nodes[i].id == id) {
			lru_unlink(l, i);
			lru_push_front(l, i);
			return true;
		}
	if (l->n < l->cap) {
		i = (uint32_t)l->n++;
	} else {
		i = l->tail;
		lru_unlink(l, i);
		for (pp = &l->buckets[lru_bucket(l, l->nodes[i].id)]; *pp != i;
		     pp = &l->nodes[*pp].chain)
			;
		*pp = l->nodes[i].chain;
	}
	l->nodes[i].id = id;
	l->nodes[i].chain = l->buckets[lru_bucket(l, id)];
	l->buckets[lru_bucket(l, id)] = i;
	lru_push_front(l, i);
	return false;
}

/* Scan ids live far above the hot ids so the two never meet. */
#define SCAN_BASE	(1ull << 32)

/* ---- basics ---- */

Test(hashcache, a_new_cache_is_empty_and_misses)
{
	struct hashcache *c = hc_new(64);
	struct hc_stats s;

	cr_assert_not_null(c);
	cr_expect_not(get_id(c, 1, NULL));
	cr_expect_not(get_id(c, 0, NULL));
	s = stats(c);
	cr_expect_eq(s.capacity, 64);
	cr_expect_eq(s.hits, 0);
	cr_expect_eq(s.misses, 2);
	cr_expect_eq(s.inserts, 0);
	cr_expect_eq(s.cold + s.hot + s.ghost, 0);
	hc_free(c);
}

Test(hashcache, put_then_get_returns_the_value)
{
	struct hashcache *c = hc_new(64);
	struct hc_val got, want;

	cr_assert_not_null(c);
	for (uint64_t id = 1; id <= 20; id++)
		put_id(c, id, (uint8_t)id);
	for (uint64_t id = 1; id <= 20; id++) {
		memset(&got, 0, sizeof(got));
		want = val_of(id, (uint8_t)id);
		cr_assert(get_id(c, id, &got), "id %llu missing", (unsigned long long)id);
		cr_assert(val_eq(&got, &want), "id %llu: wrong value", (unsigned long long)id);
	}
	cr_expect(get_id(c, 7, NULL), "a NULL out must still be a hit");
	cr_expect_not(get_id(c, 21, NULL));
	hc_free(c);
}

Test(hashcache, keys_that_differ_in_any_one_field_are_distinct)
{
	struct hashcache *c = hc_new(64);
	struct hc_key k[6];
	struct hc_val v, got;

	cr_assert_not_null(c);
	k[0] = (struct hc_key){ .dev = 2049, .ino = 131, .ctime_ns = 5000, .size = 77 };
	for (int i = 1; i < 6; i++)
		k[i] = k[0];
	k[1].dev++;
	k[2].ino++;
	k[3].ctime_ns++;
	k[4].size++;
	k[5].ctime_ns = -5000;	/* pre-1970 ctimes are legal */
	for (int i = 0; i < 6; i++) {
		v = val_of(1000 + i, (uint8_t)i);
		hc_put(c, &k[i], &v);
	}
	cr_expect_eq(stats(c).cold, 6, "each variant must be its own entry");
	for (int i = 0; i < 6; i++) {
		v = val_of(1000 + i, (uint8_t)i);
		cr_assert(hc_get(c, &k[i], &got), "variant %d missing", i);
		cr_expect(val_eq(&got, &v), "variant %d got another key's value", i);
	}
	hc_free(c);
}

/*
 * Keys differing in one field usually hash to different buckets, which
 * hides a comparison that skips that field.  At capacity 8 there are 16
 * buckets, so 64 variants per field put several in the base key's bucket.
 */
Test(hashcache, keys_sharing_a_bucket_are_still_compared_on_every_field)
{
	const struct hc_key base = { .dev = 64768, .ino = 4242, .ctime_ns = 99, .size = 8192 };
	const struct hc_val vb = val_of(1, 1), vv = val_of(2, 2);

	for (int field = 0; field < 4; field++)
		for (uint64_t j = 1; j <= 64; j++) {
			struct hashcache *c = hc_new(8);
			struct hc_key k = base;
			struct hc_val got;

			cr_assert_not_null(c);
			switch (field) {
			case 0:
				k.dev += j;
				break;
			case 1:
				k.ino += j;
				break;
			case 2:
				k.ctime_ns += (int64_t)j;
				break;
			default:
				k.size += j;
			}
			hc_put(c, &base, &vb);
			hc_put(c, &k, &vv);
			cr_assert_eq(stats(c).cold, 2, "field %d, +%llu: merged with the base key",
				     field, (unsigned long long)j);
			cr_assert(hc_get(c, &base, &got));
			cr_assert(val_eq(&got, &vb), "field %d, +%llu", field,
				  (unsigned long long)j);
			cr_assert(hc_get(c, &k, &got));
			cr_assert(val_eq(&got, &vv), "field %d, +%llu", field,
				  (unsigned long long)j);
			hc_free(c);
		}
}

Test(hashcache, stats_count_hits_misses_and_inserts)
{
	struct hashcache *c = hc_new(100);
	struct hc_stats s;

	cr_assert_not_null(c);
	for (uint64_t id = 0; id < 30; id++)
		cr_assert_not(access_id(c, id));	/* 30 misses, 30 inserts */
	for (uint64_t id = 0; id < 10; id++)
		cr_assert(access_id(c, id));		/* 10 hits: cold -> hot */
	for (uint64_t id = 0; id < 10; id++)
		cr_assert(access_id(c, id));		/* 10 hits in hot */
	cr_assert_not(get_id(c, 500, NULL));		/* 1 miss, no put */
	s = stats(c);
	cr_expect_eq(s.hits, 20);
	cr_expect_eq(s.misses, 31);
	cr_expect_eq(s.inserts, 30);
	cr_expect_eq(s.evictions, 0);
	cr_expect_eq(s.ghost_hits, 0);
	cr_expect_eq(s.cold, 20);
	cr_expect_eq(s.hot, 10);
	cr_expect_eq(s.ghost, 0);
	hc_free(c);
}

Test(hashcache, put_of_an_existing_key_replaces_the_value_in_cold_and_in_hot)
{
	struct hashcache *c = hc_new(16);
	struct hc_val got, want;
	struct hc_stats s;

	cr_assert_not_null(c);
	put_id(c, 1, 1);
	put_id(c, 1, 2);	/* cold */
	s = stats(c);
	cr_expect_eq(s.cold, 1);
	cr_expect_eq(s.hot, 0, "replacing is not an access: no promotion");
	cr_expect_eq(s.inserts, 1, "a replace is not an insert");
	want = val_of(1, 2);
	cr_assert(get_id(c, 1, &got));	/* now hot */
	cr_expect(val_eq(&got, &want), "cold replace lost");

	put_id(c, 1, 3);	/* hot */
	want = val_of(1, 3);
	cr_assert(get_id(c, 1, &got));
	cr_expect(val_eq(&got, &want), "hot replace lost");
	s = stats(c);
	cr_expect_eq(s.cold + s.hot, 1, "a replaced key must not take a second entry");
	cr_expect_eq(s.hot, 1);
	cr_expect_eq(s.inserts, 1);
	hc_free(c);
}

/* ---- deletion ---- */

Test(hashcache, del_of_a_cold_key)
{
	struct hashcache *c = hc_new(16);

	cr_assert_not_null(c);
	put_id(c, 1, 1);
	put_id(c, 2, 1);
	del_id(c, 1);
	cr_expect_eq(stats(c).cold, 1);
	cr_expect_not(get_id(c, 1, NULL));
	cr_expect(get_id(c, 2, NULL), "deleting one key must not lose its neighbour");
	del_id(c, 1);	/* again: no-op */
	cr_expect_eq(stats(c).cold + stats(c).hot, 1);
	hc_free(c);
}

Test(hashcache, del_of_a_hot_key_and_it_comes_back_cold)
{
	struct hashcache *c = hc_new(16);
	struct hc_stats s;

	cr_assert_not_null(c);
	put_id(c, 1, 1);
	cr_assert(get_id(c, 1, NULL));
	cr_assert_eq(stats(c).hot, 1);
	del_id(c, 1);
	s = stats(c);
	cr_expect_eq(s.hot, 0);
	cr_expect_eq(s.ghost, 0, "a deleted key is forgotten, not ghosted");
	cr_expect_not(get_id(c, 1, NULL));
	put_id(c, 1, 2);
	s = stats(c);
	cr_expect_eq(s.cold, 1, "a forgotten key starts over in cold");
	cr_expect_eq(s.hot, 0);
	cr_expect_eq(s.ghost_hits, 0);
	hc_free(c);
}

Test(hashcache, del_of_a_ghost_key_forgets_it)
{
	struct hashcache *c = hc_new(8);
	struct hc_stats s;

	cr_assert_not_null(c);
	for (uint64_t id = 0; id < 9; id++)
		put_id(c, id, 1);	/* the 9th pushes id 0 into ghost */
	s = stats(c);
	cr_assert_eq(s.ghost, 1);
	cr_assert_eq(s.evictions, 1);
	del_id(c, 0);
	cr_expect_eq(stats(c).ghost, 0);
	put_id(c, 0, 2);
	s = stats(c);
	cr_expect_eq(s.ghost_hits, 0, "a deleted ghost must not send its key to hot");
	cr_expect_eq(s.hot, 0);
	cr_expect_eq(s.cold, 8);
	cr_expect_eq(s.ghost, 1, "id 1, the oldest cold entry, made room");
	cr_expect_not(get_id(c, 1, NULL));
	cr_expect(get_id(c, 0, NULL));
	hc_free(c);
}

Test(hashcache, del_of_an_absent_key_changes_nothing)
{
	struct hashcache *c = hc_new(8);
	struct hc_stats a, b;

	cr_assert_not_null(c);
	for (uint64_t id = 0; id < 12; id++)
		access_id(c, id);
	access_id(c, 11);
	a = stats(c);
	del_id(c, 999);
	b = stats(c);
	cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0);
	hc_free(c);
}

/* ---- capacity, memory ---- */

Test(hashcache, capacity_below_8_is_raised_to_8_and_absurd_ones_fail)
{
	struct hashcache *c0 = hc_new(0), *c7 = hc_new(7), *c8 = hc_new(8), *c9 = hc_new(9);

	cr_assert(c0 && c7 && c8 && c9);
	cr_expect_eq(stats(c0).capacity, 8);
	cr_expect_eq(stats(c7).capacity, 8);
	cr_expect_eq(stats(c8).capacity, 8);
	cr_expect_eq(stats(c9).capacity, 9);
	cr_expect_eq(hc_memory_bytes(c0), hc_memory_bytes(c8));
	cr_expect_eq(hc_memory_bytes(c7), hc_memory_bytes(c8));
	cr_expect_gt(hc_memory_bytes(c9), hc_memory_bytes(c8));
	hc_free(c0);
	hc_free(c7);
	hc_free(c8);
	hc_free(c9);
	hc_free(NULL);

	cr_expect_null(hc_new(SIZE_MAX));
	cr_expect_null(hc_new(((size_t)1 << 30) + 1));
}

Test(hashcache, capacity_8_holds_8_then_ghosts_the_oldest)
{
	struct hashcache *c = hc_new(0);
	struct hc_stats s;

	cr_assert_not_null(c);
	for (uint64_t id = 0; id < 8; id++)
		put_id(c, id, 1);
	s = stats(c);
	cr_expect_eq(s.cold, 8, "cold uses the room hot is not using");
	cr_expect_eq(s.evictions, 0);
	put_id(c, 8, 1);
	s = stats(c);
	cr_expect_eq(s.cold, 8);
	cr_expect_eq(s.ghost, 1);
	cr_expect_eq(s.evictions, 1);
	cr_expect_not(get_id(c, 0, NULL), "FIFO: the first in is the first out");
	put_id(c, 0, 2);	/* a ghost hit: straight to hot */
	s = stats(c);
	cr_expect_eq(s.ghost_hits, 1);
	cr_expect_eq(s.hot, 1);
	cr_expect_eq(s.cold, 7);
	cr_expect_eq(s.ghost, 1, "id 0 left ghost, id 1 entered it");
	cr_expect(get_id(c, 0, NULL));
	hc_free(c);
}

Test(hashcache, ten_times_capacity_distinct_keys_stay_within_bounds)
{
	static const size_t caps[] = { 8, 9, 10, 100, 1000 };

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct hashcache *c = hc_new(caps[i]);
		size_t cap = caps[i], bytes;
		struct hc_stats s;

		cr_assert_not_null(c);
		bytes = hc_memory_bytes(c);
		for (uint64_t id = 0; id < 10 * cap; id++) {
			cr_assert_not(access_id(c, id));
			assert_bounds(c, "distinct keys");
		}
		s = stats(c);
		cr_expect_eq(s.cold + s.hot, cap, "cap %zu: a full cache stays full", cap);
		cr_expect_eq(s.ghost, cap, "cap %zu", cap);
		cr_expect_eq(s.inserts, 10 * cap, "cap %zu", cap);
		cr_expect_eq(s.evictions, 9 * cap, "cap %zu", cap);
		cr_expect_eq(hc_memory_bytes(c), bytes, "the bound must not move");
		/* Generous: about 150 bytes per entry plus the struct. */
		cr_expect_lt(bytes, 256 * cap + 1024, "cap %zu: %zu bytes", cap, bytes);
		cr_expect_gt(bytes, 2 * cap * sizeof(struct hc_key) + cap * sizeof(struct hc_val),
			     "cap %zu: %zu bytes cannot hold cap entries and cap ghosts", cap,
			     bytes);
		hc_free(c);
	}
}

/* ASan's allocator counts live bytes; weak so a plain build still links. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

Test(hashcache, only_hc_new_allocates_and_exactly_memory_bytes)
{
	struct hashcache *c;
	size_t before, after_new, after_ops;

	if (!__sanitizer_get_current_allocated_bytes)
		cr_skip_test("not an ASan build");
	before = __sanitizer_get_current_allocated_bytes();
	c = hc_new(500);
	after_new = __sanitizer_get_current_allocated_bytes();
	cr_assert_not_null(c);
	rng_state = 0x1234567887654321ull;
	for (int i = 0; i < 50000; i++) {
		uint64_t id = rng() % 3000;

		switch (rng() % 8) {
		case 0:
			del_id(c, id);
			break;
		case 1:
			put_id(c, id, 9);
			break;
		default:
			access_id(c, id);
		}
	}
	after_ops = __sanitizer_get_current_allocated_bytes();
	cr_expect_eq(after_new - before, hc_memory_bytes(c));
	cr_expect_eq(after_ops, after_new, "%zd bytes allocated after hc_new",
		     (ssize_t)(after_ops - after_new));
	hc_free(c);
}

/* ---- promotion, CLOCK, ghost ---- */

Test(hashcache, a_full_hot_gives_a_referenced_entry_a_second_chance)
{
	struct hashcache *c = hc_new(10);	/* cold keeps 1, hot at most 9 */
	struct hc_stats s;

	cr_assert_not_null(c);
	for (uint64_t id = 0; id < 9; id++)
		put_id(c, id, 1);
	for (uint64_t id = 0; id < 9; id++)
		cr_assert(get_id(c, id, NULL));	/* hot in order 0..8 */
	cr_assert_eq(stats(c).hot, 9);
	cr_assert(get_id(c, 0, NULL));		/* 0 is referenced */
	put_id(c, 9, 1);
	cr_assert(get_id(c, 9, NULL));		/* promotion into a full hot */
	s = stats(c);
	cr_expect_eq(s.hot, 9);
	cr_expect_eq(s.cold, 0);
	cr_expect_eq(s.evictions, 1);
	cr_expect_eq(s.ghost, 0, "hot evictions are not ghosted");
	cr_expect_not(get_id(c, 1, NULL), "the hand passes 0 (referenced) and takes 1");
	put_id(c, 1, 1);
	cr_expect_eq(stats(c).ghost_hits, 0);
	cr_expect_eq(stats(c).cold, 1);
	for (uint64_t id = 2; id < 10; id++)
		cr_expect(get_id(c, id, NULL), "id %llu", (unsigned long long)id);
	cr_expect(get_id(c, 0, NULL), "0 had its second chance");
	hc_free(c);
}

Test(hashcache, a_key_back_from_ghost_enters_hot)
{
	struct hashcache *c = hc_new(1000);
	struct hc_stats s;
	uint64_t hits = 0;

	cr_assert_not_null(c);
	for (uint64_t id = 0; id < 500; id++)
		access_id(c, id);
	/* 500 more fill the cache; the last 300 push ids 0..299 into ghost. */
	for (uint64_t i = 0; i < 800; i++)
		cr_assert_not(access_id(c, SCAN_BASE + i));
	s = stats(c);
	cr_assert_eq(s.cold, 1000);
	cr_assert_eq(s.ghost, 300);

	for (uint64_t id = 300; id < 500; id++)	/* still cold: hit, promoted */
		hits += access_id(c, id);
	for (uint64_t id = 0; id < 300; id++)	/* ghosts: miss, put into hot */
		hits += access_id(c, id);
	s = stats(c);
	cr_expect_eq(hits, 200);
	cr_expect_eq(s.ghost_hits, 300);
	cr_expect_eq(s.hot, 500);
	cr_expect_eq(s.cold, 500, "each ghost hit took the oldest scan entry's place");
	cr_expect_eq(s.ghost, 300);
	assert_bounds(c, "after ghost hits");

	for (uint64_t i = 0; i < 100000; i++)
		access_id(c, 2 * SCAN_BASE + i);
	for (uint64_t id = 0; id < 500; id++)
		cr_assert(get_id(c, id, NULL), "hot id %llu lost to the scan",
			  (unsigned long long)id);
	hc_free(c);
}

Test(hashcache, a_full_ghost_forgets_its_oldest_key_first)
{
	struct hashcache *c = hc_new(8);
	struct hc_stats s;

	cr_assert_not_null(c);
	for (uint64_t id = 0; id < 16; id++)
		put_id(c, id, 1);	/* cold 8..15, ghost 0..7 */
	cr_assert_eq(stats(c).ghost, 8);
	put_id(c, 16, 1);		/* 8 into ghost, 0 out */
	cr_assert_eq(stats(c).ghost, 8);
	put_id(c, 7, 1);		/* the newest ghost before: remembered */
	s = stats(c);
	cr_expect_eq(s.ghost_hits, 1, "id 7 was dropped instead of id 0");
	cr_expect_eq(s.hot, 1);
	put_id(c, 0, 1);		/* the oldest: forgotten */
	s = stats(c);
	cr_expect_eq(s.ghost_hits, 1, "id 0 should have been the one forgotten");
	cr_expect_eq(s.hot, 1);
	cr_expect_eq(s.cold, 7);
	hc_free(c);
}

/* ---- the reasons it exists ---- */

Test(hashcache, a_hot_working_set_survives_a_one_pass_scan_of_100000_distinct_files)
{
	enum { CAP = 1000, HOT = 500, SCAN = 100000 };
	struct hashcache *c = hc_new(CAP);
	struct lru l;
	struct hc_stats s;
	size_t lru_hits = 0;

	cr_assert_not_null(c);
	lru_init(&l, CAP);
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t id = 0; id < HOT; id++) {
			access_id(c, id);
			lru_access(&l, id);
		}
	s = stats(c);
	cr_assert_eq(s.hot, HOT, "precondition: two accesses make an entry hot");
	cr_assert_eq(s.hits, HOT);

	for (uint64_t i = 0; i < SCAN; i++) {
		cr_assert_not(access_id(c, SCAN_BASE + i));
		lru_access(&l, SCAN_BASE + i);
	}
	s = stats(c);
	cr_expect_eq(s.hot, HOT, "the scan must not evict from hot");
	cr_expect_eq(s.cold, CAP - HOT);
	cr_expect_eq(s.ghost, CAP);
	cr_expect_eq(s.evictions, SCAN - (CAP - HOT), "only the scan's own entries went");
	assert_bounds(c, "after the scan");

	for (uint64_t id = 0; id < HOT; id++) {
		cr_assert(get_id(c, id, NULL), "hot id %llu lost to the scan",
			  (unsigned long long)id);
		lru_hits += lru_access(&l, id);
	}
	cr_expect_eq(lru_hits, 0, "a plain LRU loses the whole set (what this test guards)");
	lru_free(&l);
	hc_free(c);
}

/*
 * The trace: rounds of (a) accesses to a hot set of 60% of capacity, skewed
 * toward its low ids, with one-off files sprinkled in, then (b) a long
 * sequential scan of files never seen again - a package upgrade or a
 * `find -exec sha256sum` between bursts of the same binaries running.
 */
Test(hashcache, on_a_scan_plus_hot_set_trace_its_hit_ratio_beats_a_plain_lru)
{
	enum { CAP = 1000, HOTSET = 600, ROUNDS = 40, BURST = 4000, SCAN = 3000 };
	struct hashcache *c = hc_new(CAP);
	uint64_t next_fresh = SCAN_BASE, accesses = 0, hc_hits = 0, lru_hits = 0;
	double hc_ratio, lru_ratio;
	struct lru l;

	cr_assert_not_null(c);
	lru_init(&l, CAP);
	rng_state = 0x2545f4914f6cdd1dull;
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < BURST + SCAN; i++) {
			uint64_t id;

			if (i >= BURST || rng() % 10 == 0) {
				id = next_fresh++;	/* scan, or a one-off */
			} else {
				double u = rng_unit();

				id = (uint64_t)(HOTSET * u * u);	/* skewed to low ids */
			}
			hc_hits += access_id(c, id);
			lru_hits += lru_access(&l, id);
			accesses++;
		}
		assert_bounds(c, "trace");
	}
	hc_ratio = (double)hc_hits / (double)accesses;
	lru_ratio = (double)lru_hits / (double)accesses;
	printf("hashcache hit ratio %.3f vs LRU %.3f (%llu accesses, capacity %d)\n", hc_ratio,
	       lru_ratio, (unsigned long long)accesses, CAP);
	fflush(stdout);
	cr_expect_eq(stats(c).hits, hc_hits);
	cr_expect_gt(hc_ratio, lru_ratio, "hashcache %.3f must beat LRU %.3f", hc_ratio,
		     lru_ratio);
	lru_free(&l);
	hc_free(c);
}

/* ---- randomized, against the truth ---- */

/*
 * Random gets, puts (with fresh generations) and deletes over a key space a
 * few times the capacity.  A hit must return the latest value put for that
 * key, a deleted key must miss until put again, a key just put must hit,
 * and the bounds hold after every step.  Small capacities make long bucket
 * chains, so unlinking from the middle of a chain gets exercised.
 */
static void run_against_truth(size_t cap, uint64_t nkeys, int steps, uint64_t seed)
{
	struct hashcache *c = hc_new(cap);
	uint8_t *gen = calloc(nkeys, 1);	/* 0: absent, else latest generation */
	uint64_t gets = 0, hits = 0;
	struct hc_val got, want;

	cr_assert(c && gen);
	rng_state = seed;
	for (int step = 0; step < steps; step++) {
		uint64_t id = rng() % nkeys;
		unsigned op = rng() % 10;

		if (op < 6) {
			bool hit = get_id(c, id, &got);

			gets++;
			hits += hit;
			if (hit) {
				want = val_of(id, gen[id]);
				cr_assert_neq(gen[id], 0, "step %d: hit on absent id %llu", step,
					      (unsigned long long)id);
				cr_assert(val_eq(&got, &want), "step %d: stale value for id %llu",
					  step, (unsigned long long)id);
			}
		} else if (op < 9) {
			gen[id] = (uint8_t)(gen[id] % 255 + 1);
			put_id(c, id, gen[id]);
			cr_assert(get_id(c, id, &got), "step %d: id just put is missing", step);
			want = val_of(id, gen[id]);
			cr_assert(val_eq(&got, &want), "step %d: put did not replace", step);
			gets++;
			hits++;
		} else {
			del_id(c, id);
			gen[id] = 0;
			cr_assert_not(get_id(c, id, NULL), "step %d: deleted id still hits", step);
			gets++;
		}
		assert_bounds(c, "random");
	}
	cr_expect_eq(stats(c).hits, hits);
	cr_expect_eq(stats(c).hits + stats(c).misses, gets);
	free(gen);
	hc_free(c);
}

Test(hashcache, random_operations_agree_with_the_truth_at_capacity_8)
{
	run_against_truth(8, 40, 200000, 0x9e3779b97f4a7c15ull);
}

Test(hashcache, random_operations_agree_with_the_truth_at_capacity_300)
{
	run_against_truth(300, 1000, 200000, 0xdeadbeefcafef00dull);
}
