/*
 * test_idmap.c - the id -> pointer hash map behind the process table and
 * the container cache.  The risky part is deletion by backward shift: a
 * wrong "may this entry move into the hole" test silently strands a key
 * behind an empty slot.  So besides the basics, these tests build probe
 * runs on purpose (keys sharing a home slot, runs that wrap past the last
 * slot) and run long randomized sequences against a plain array.
 *
 * Home slots are observed, not recomputed: a key inserted alone into an
 * empty table lands on its home slot, so the tests never copy the hash.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

/* Distinct non-NULL values: &vals[i]. */
static char vals[65536];

#define VAL(i)	((void *)&vals[(i) % sizeof(vals)])

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

static size_t slot_of(const struct vigil_idmap *m, uint64_t key)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].val && m->slots[i].key == key)
			return i;
	return SIZE_MAX;
}

/* The home slot of key in a table of cap slots (cap a power of two >= 64). */
static size_t home_slot(uint64_t key, size_t cap)
{
	struct vigil_idmap m;
	size_t s;

	cr_assert_eq(idmap_init(&m, cap / 2), 0);
	cr_assert_eq(m.cap, cap, "precondition: hint %zu gives %zu slots", cap / 2, m.cap);
	cr_assert_eq(idmap_put(&m, key, VAL(0)), 0);
	s = slot_of(&m, key);
	idmap_free(&m);
	return s;
}

/* Collect n keys (from 1 up) whose home slot in a 64-slot table is in want[]. */
static void keys_with_homes(const size_t *want, size_t nwant, uint64_t *out, size_t n)
{
	size_t got = 0;

	for (uint64_t k = 1; got < n; k++) {
		size_t h = home_slot(k, 64);

		cr_assert_lt(k, 1000000, "could not find %zu keys with the wanted homes", n);
		for (size_t i = 0; i < nwant; i++)
			if (h == want[i]) {
				out[got++] = k;
				break;
			}
	}
}

static size_t occupied(const struct vigil_idmap *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->cap; i++)
		n += m->slots[i].val != NULL;
	return n;
}

Test(idmap, a_fresh_map_is_empty_and_finds_nothing)
{
	struct vigil_idmap m;

	cr_assert_eq(idmap_init(&m, 0), 0);
	cr_expect_eq(m.len, 0);
	cr_expect_null(idmap_get(&m, 0));
	cr_expect_null(idmap_get(&m, 1));
	cr_expect_null(idmap_get(&m, UINT64_MAX));
	cr_expect_null(idmap_del(&m, 1));
	cr_expect_eq(m.len, 0);
	idmap_free(&m);
}

Test(idmap, init_makes_a_power_of_two_capacity_at_least_twice_the_hint)
{
	static const size_t hints[] = { 0, 1, 31, 32, 33, 100, 1024, 5000 };

	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		struct vigil_idmap m;

		cr_assert_eq(idmap_init(&m, hints[i]), 0);
		cr_expect_eq(m.cap & (m.cap - 1), 0, "hint %zu: cap %zu", hints[i], m.cap);
		cr_expect_geq(m.cap, hints[i] * 2, "hint %zu: cap %zu", hints[i], m.cap);
		idmap_free(&m);
	}
}

Test(idmap, free_leaves_an_empty_zeroed_map)
{
	struct vigil_idmap m;

	cr_assert_eq(idmap_init(&m, 10), 0);
	cr_assert_eq(idmap_put(&m, 7, VAL(7)), 0);
	idmap_free(&m);
	cr_expect_null(m.slots);
	cr_expect_eq(m.cap, 0);
	cr_expect_eq(m.len, 0);
}

Test(idmap, put_then_get_returns_the_value_for_every_key_including_0_and_max)
{
	static const uint64_t keys[] = { 0, 1, 2, 64, 4194304, UINT32_MAX, UINT64_MAX };
	struct vigil_idmap m;

	cr_assert_eq(idmap_init(&m, 0), 0);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_assert_eq(idmap_put(&m, keys[i], VAL(i)), 0);
	cr_expect_eq(m.len, sizeof(keys) / sizeof(keys[0]));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_expect_eq(idmap_get(&m, keys[i]), VAL(i), "key %llu",
			     (unsigned long long)keys[i]);
	cr_expect_null(idmap_get(&m, 3));
	idmap_free(&m);
}

Test(idmap, put_on_an_existing_key_replaces_the_value_and_keeps_the_length)
{
	struct vigil_idmap m;

	cr_assert_eq(idmap_init(&m, 0), 0);
	cr_assert_eq(idmap_put(&m, 42, VAL(1)), 0);
	cr_assert_eq(idmap_put(&m, 43, VAL(2)), 0);
	cr_assert_eq(idmap_put(&m, 42, VAL(3)), 0);
	cr_expect_eq(m.len, 2);
	cr_expect_eq(occupied(&m), 2, "a replaced key must not take a second slot");
	cr_expect_eq(idmap_get(&m, 42), VAL(3));
	cr_expect_eq(idmap_get(&m, 43), VAL(2));
	cr_expect_eq(idmap_del(&m, 42), VAL(3));
	cr_expect_null(idmap_get(&m, 42), "the old value must not reappear after a delete");
	idmap_free(&m);
}

Test(idmap, del_returns_the_value_once_and_then_null)
{
	struct vigil_idmap m;

	cr_assert_eq(idmap_init(&m, 0), 0);
	cr_assert_eq(idmap_put(&m, 5, VAL(5)), 0);
	cr_assert_eq(idmap_put(&m, 6, VAL(6)), 0);
	cr_expect_eq(idmap_del(&m, 5), VAL(5));
	cr_expect_eq(m.len, 1);
	cr_expect_null(idmap_get(&m, 5));
	cr_expect_null(idmap_del(&m, 5));
	cr_expect_null(idmap_del(&m, 999), "deleting an absent key");
	cr_expect_eq(m.len, 1, "failed deletes must not change the length");
	cr_expect_eq(idmap_get(&m, 6), VAL(6));
	idmap_free(&m);
}

Test(idmap, many_dense_and_sparse_keys_survive_growth_with_load_at_most_half)
{
	enum { N = 50000 };
	struct vigil_idmap m;
	uint64_t *sparse = malloc(N * sizeof(*sparse));

	cr_assert_not_null(sparse);
	rng_state = 0x9e3779b97f4a7c15ull;
	cr_assert_eq(idmap_init(&m, 0), 0);
	for (uint64_t k = 1; k <= N; k++) {
		cr_assert_eq(idmap_put(&m, k, VAL(k)), 0);
		cr_assert_leq(m.len * 2, m.cap, "load above 1/2 at %llu keys", (unsigned long long)k);
	}
	for (size_t i = 0; i < N; i++) {
		sparse[i] = rng() | (1ull << 63);	/* disjoint from the dense keys */
		cr_assert_eq(idmap_put(&m, sparse[i], VAL(i + 7)), 0);
	}
	cr_expect_eq(m.len, 2 * N);
	cr_expect_eq(occupied(&m), 2 * N);
	for (uint64_t k = 1; k <= N; k++)
		cr_assert_eq(idmap_get(&m, k), VAL(k), "dense key %llu", (unsigned long long)k);
	for (size_t i = 0; i < N; i++)
		cr_assert_eq(idmap_get(&m, sparse[i]), VAL(i + 7), "sparse key #%zu", i);

	/* Delete every other dense key; the rest must all still be there. */
	for (uint64_t k = 2; k <= N; k += 2)
		cr_assert_eq(idmap_del(&m, k), VAL(k));
	for (uint64_t k = 1; k <= N; k++)
		cr_assert_eq(idmap_get(&m, k), k % 2 ? VAL(k) : NULL, "key %llu",
			     (unsigned long long)k);
	for (size_t i = 0; i < N; i++)
		cr_assert_eq(idmap_get(&m, sparse[i]), VAL(i + 7), "sparse key #%zu", i);
	cr_expect_eq(m.len, N + N / 2);
	free(sparse);
	idmap_free(&m);
}

/*
 * For a cluster of keys sharing one home slot, delete each member in turn
 * (on a fresh table each time): the others must stay reachable, and the
 * deleted one must be gone even though its slot got refilled.
 */
static void check_cluster_deletions(const uint64_t *keys, size_t n)
{
	for (size_t victim = 0; victim < n; victim++) {
		struct vigil_idmap m;

		cr_assert_eq(idmap_init(&m, 0), 0);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(idmap_put(&m, keys[i], VAL(i + 1)), 0);
		cr_assert_eq(m.cap, 64, "precondition: the homes were computed for 64 slots");
		cr_expect_eq(idmap_del(&m, keys[victim]), VAL(victim + 1));
		for (size_t i = 0; i < n; i++)
			cr_expect_eq(idmap_get(&m, keys[i]), i == victim ? NULL : VAL(i + 1),
				     "after deleting member %zu, member %zu (key %llu)", victim, i,
				     (unsigned long long)keys[i]);
		cr_expect_eq(occupied(&m), n - 1);
		/* And the hole can be refilled by the same key. */
		cr_expect_eq(idmap_put(&m, keys[victim], VAL(victim + 100)), 0);
		cr_expect_eq(idmap_get(&m, keys[victim]), VAL(victim + 100));
		cr_expect_eq(m.len, n);
		idmap_free(&m);
	}
}

Test(idmap, deleting_any_key_of_a_shared_home_slot_keeps_the_others_reachable)
{
	static const size_t homes[] = { 20 };
	uint64_t keys[6];

	keys_with_homes(homes, 1, keys, 6);
	for (size_t i = 1; i < 6; i++)
		cr_assert_eq(home_slot(keys[i], 64), home_slot(keys[0], 64));
	check_cluster_deletions(keys, 6);
}

Test(idmap, a_probe_run_that_wraps_past_the_last_slot_survives_every_deletion)
{
	static const size_t last[] = { 63 }, first[] = { 0 }, second[] = { 1 };
	uint64_t keys[9];

	/* Three keys homed at 63 spill into 0 and 1; then keys homed at 0 and 1. */
	keys_with_homes(last, 1, keys, 3);
	keys_with_homes(first, 1, keys + 3, 3);
	keys_with_homes(second, 1, keys + 6, 3);
	check_cluster_deletions(keys, 9);
}

Test(idmap, an_entry_displaced_past_its_home_is_pulled_back_but_one_at_home_stays)
{
	static const size_t h10[] = { 10 }, h11[] = { 11 };
	struct vigil_idmap m;
	uint64_t a[2], b[1];

	keys_with_homes(h10, 1, a, 2);
	keys_with_homes(h11, 1, b, 1);
	cr_assert_eq(idmap_init(&m, 0), 0);
	/* a0 at 10, b0 at its home 11, a1 displaced to 12. */
	cr_assert_eq(idmap_put(&m, a[0], VAL(1)), 0);
	cr_assert_eq(idmap_put(&m, b[0], VAL(2)), 0);
	cr_assert_eq(idmap_put(&m, a[1], VAL(3)), 0);
	cr_assert_eq(slot_of(&m, a[1]), 12, "precondition: a1 displaced to slot 12");
	cr_expect_eq(idmap_del(&m, a[0]), VAL(1));
	cr_expect_eq(slot_of(&m, b[0]), 11, "b0 is at home and must not move back");
	cr_expect_eq(slot_of(&m, a[1]), 10, "a1 must fill the hole at its home");
	cr_expect_eq(idmap_get(&m, b[0]), VAL(2));
	cr_expect_eq(idmap_get(&m, a[1]), VAL(3));
	idmap_free(&m);
}

/*
 * A randomized run against a plain array.  After every step every key of
 * the universe is looked up, so a key lost by a bad shift shows at once.
 */
static void differential(const uint64_t *universe, size_t n, size_t max_live, size_t steps,
			 uint64_t seed, bool fixed_cap)
{
	struct vigil_idmap m;
	void **ref = calloc(n, sizeof(*ref));
	size_t live = 0, cap0;

	cr_assert_not_null(ref);
	rng_state = seed;
	cr_assert_eq(idmap_init(&m, 0), 0);
	cap0 = m.cap;
	for (size_t step = 0; step < steps; step++) {
		size_t i = rng() % n;
		bool insert = live < max_live && (rng() % 100 < 55 || !live);

		if (insert) {
			void *v = VAL(step);

			cr_assert_eq(idmap_put(&m, universe[i], v), 0);
			live += !ref[i];
			ref[i] = v;
		} else {
			void *got = idmap_del(&m, universe[i]);

			cr_assert_eq(got, ref[i], "step %zu: del(%llu) returned the wrong value",
				     step, (unsigned long long)universe[i]);
			live -= ref[i] != NULL;
			ref[i] = NULL;
		}
		cr_assert_eq(m.len, live, "step %zu: len %zu, expected %zu", step, m.len, live);
		for (size_t k = 0; k < n; k++)
			cr_assert_eq(idmap_get(&m, universe[k]), ref[k],
				     "step %zu (%s %llu): key %llu is wrong", step,
				     insert ? "put" : "del", (unsigned long long)universe[i],
				     (unsigned long long)universe[k]);
		if (fixed_cap)
			cr_assert_eq(m.cap, cap0, "precondition: the table must not grow");
	}
	cr_expect_eq(occupied(&m), live);
	idmap_free(&m);
	free(ref);
}

Test(idmap, random_puts_and_deletes_of_dense_keys_match_a_plain_array)
{
	enum { N = 400 };
	uint64_t u[N];

	for (size_t i = 0; i < N; i++)
		u[i] = i;	/* pids: small and sequential */
	differential(u, N, N, 40000, 0x1234567ull, false);
}

Test(idmap, random_puts_and_deletes_in_one_crowded_wrapping_region_match_a_plain_array)
{
	/* 48 keys homed in slots 60..63 and 0..3 of a 64-slot table, up to 24
	 * live at once: runs up to 24 long, wrapping past slot 63. */
	static const size_t homes[] = { 60, 61, 62, 63, 0, 1, 2, 3 };
	uint64_t u[48];

	keys_with_homes(homes, 8, u, 48);
	differential(u, 48, 24, 30000, 0xfeedfaceull, true);
}

Test(idmap, random_puts_and_deletes_of_keys_sharing_two_homes_match_a_plain_array)
{
	static const size_t homes[] = { 31, 32 };
	uint64_t u[30];

	keys_with_homes(homes, 2, u, 30);
	differential(u, 30, 20, 20000, 0xabcdefull, true);
}

struct visits {
	unsigned *count;
	size_t n;
	bool bad_val;
	bool out_of_range;
};

static void visit(uint64_t key, void *val, void *ctx)
{
	struct visits *v = ctx;

	if (key >= v->n) {
		v->out_of_range = true;
		return;
	}
	v->count[key]++;
	v->bad_val |= val != VAL(key);
}

Test(idmap, each_visits_every_live_key_exactly_once_with_its_value)
{
	enum { N = 3000 };
	struct vigil_idmap m;
	struct visits v = { .count = calloc(N, sizeof(unsigned)), .n = N };

	cr_assert_not_null(v.count);
	cr_assert_eq(idmap_init(&m, 0), 0);
	for (uint64_t k = 0; k < N; k++)
		cr_assert_eq(idmap_put(&m, k, VAL(k)), 0);
	for (uint64_t k = 0; k < N; k += 3)
		cr_assert_eq(idmap_del(&m, k), VAL(k));
	idmap_each(&m, visit, &v);
	cr_expect_not(v.out_of_range, "visited a key that was never inserted");
	cr_expect_not(v.bad_val, "visited a key with another key's value");
	for (uint64_t k = 0; k < N; k++)
		cr_expect_eq(v.count[k], k % 3 ? 1u : 0u, "key %llu visited %u times",
			     (unsigned long long)k, v.count[k]);
	free(v.count);
	idmap_free(&m);
}

Test(idmap, each_on_an_empty_map_calls_nothing)
{
	struct vigil_idmap m;
	unsigned count[1] = { 0 };
	struct visits v = { .count = count, .n = 1 };

	cr_assert_eq(idmap_init(&m, 0), 0);
	cr_assert_eq(idmap_put(&m, 0, VAL(0)), 0);
	cr_assert_eq(idmap_del(&m, 0), VAL(0));
	idmap_each(&m, visit, &v);
	cr_expect_eq(count[0], 0);
	cr_expect_not(v.out_of_range);
	idmap_free(&m);
}
