/*
 * hashcache.c - the bounded (dev, ino, ctime, size) -> sha256 cache.
 *
 * Layout: one allocation made by hc_new() holds everything:
 *
 *   nodes[0, cap)       entries with values (cold, hot or free)
 *   nodes[cap, 2*cap)   ghost keys (ghost or free)
 *   buckets[]           chained hash index over both halves
 *   vals[cap]           values, indexed like the entry nodes
 *
 * A node id is a uint32_t; ids below cap are entries, the rest ghosts, so
 * one lookup answers "resident, remembered or unknown".  Every queue
 * (cold, hot, ghost and the two free lists) is a doubly linked list
 * threaded through the nodes by id, so moving a node between queues is
 * O(1) and never allocates.  Values live apart from the nodes because a
 * ghost has none: a ghost costs a node, not a node plus 33 bytes.
 *
 * Sizing policy (see hashcache.h): hot may hold at most cap - cold_min
 * entries, so cold always has at least cold_min (a tenth of cap) to
 * itself and a brand-new key can always be made room for by evicting from
 * cold.  That is what makes a scan harmless: new keys only ever push out
 * cold entries.  When hot is smaller than its share, cold simply uses the
 * free room instead of leaving it empty.
 */
#include <stdlib.h>
#include <string.h>

#include "hashcache.h"

#define NIL		UINT32_MAX
/* Node ids are uint32_t over 2 * capacity nodes; keep well clear of NIL. */
#define HC_MAX_CAP	((size_t)1 << 30)
#define HC_MIN_CAP	8

enum { Q_FREE, Q_COLD, Q_HOT, Q_GHOST };

struct hc_node {
	struct hc_key key;
	uint32_t prev, next;	/* queue links */
	uint32_t chain;		/* next node in the same bucket */
	uint8_t where;		/* Q_* */
	uint8_t ref;		/* hot only: hit since the clock hand passed */
};

struct hc_list {
	uint32_t head, tail, n;
};

struct hashcache {
	size_t cap;
	size_t cold_min;	/* cold's reserved share; hot gets at most cap - cold_min */
	size_t bytes;		/* what hc_new() allocated */
	uint64_t mask;		/* bucket count - 1 */
	struct hc_node *nodes;
	uint32_t *buckets;
	struct hc_val *vals;
	struct hc_list cold, hot, ghost, free_ent, free_ghost;
	uint64_t hits, misses, inserts, evictions, ghost_hits;
};

/* Murmur3's finalizer: full avalanche, so low bits make a fine bucket index. */
static inline uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/*
 * Chain the fields through the mixer rather than XOR them together first:
 * inode numbers and sizes are small and dense, and a plain XOR would map
 * (ino=1, size=2) and (ino=2, size=1) to the same value.
 */
static uint64_t key_hash(const struct hc_key *k)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;

	h = fmix64(h ^ k->dev);
	h = fmix64(h ^ k->ino);
	h = fmix64(h ^ (uint64_t)k->ctime_ns);
	return fmix64(h ^ k->size);
}

static inline bool key_eq(const struct hc_key *a, const struct hc_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->ctime_ns == b->ctime_ns &&
	       a->size == b->size;
}

/* ---- queues ---- */

static void list_init(struct hc_list *l)
{
	l->head = l->tail = NIL;
	l->n = 0;
}

static void list_push_tail(struct hashcache *c, struct hc_list *l, uint32_t id, uint8_t where)
{
	struct hc_node *n = &c->nodes[id];

	n->where = where;
	n->next = NIL;
	n->prev = l->tail;
	if (l->tail != NIL)
		c->nodes[l->tail].next = id;
	else
		l->head = id;
	l->tail = id;
	l->n++;
}

static void list_unlink(struct hashcache *c, struct hc_list *l, uint32_t id)
{
	struct hc_node *n = &c->nodes[id];

	if (n->prev != NIL)
		c->nodes[n->prev].next = n->next;
	else
		l->head = n->next;
	if (n->next != NIL)
		c->nodes[n->next].prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NIL;
	l->n--;
}

static uint32_t list_pop_head(struct hashcache *c, struct hc_list *l)
{
	uint32_t id = l->head;

	if (id != NIL)
		list_unlink(c, l, id);
	return id;
}

static struct hc_list *queue_of(struct hashcache *c, uint32_t id)
{
	switch (c->nodes[id].where) {
	case Q_COLD:
		return &c->cold;
	case Q_HOT:
		return &c->hot;
	case Q_GHOST:
		return &c->ghost;
	default:
		return id < c->cap ? &c->free_ent : &c->free_ghost;
	}
}

/* ---- index ---- */

static uint32_t find(const struct hashcache *c, const struct hc_key *k, uint64_t h)
{
	uint32_t id;

	for (id = c->buckets[h & c->mask]; id != NIL; id = c->nodes[id].chain)
		if (key_eq(&c->nodes[id].key, k))
			return id;
	return NIL;
}

static void index_add(struct hashcache *c, uint32_t id, uint64_t h)
{
	uint32_t *b = &c->buckets[h & c->mask];

	c->nodes[id].chain = *b;
	*b = id;
}

static void index_del(struct hashcache *c, uint32_t id)
{
	uint32_t *pp = &c->buckets[key_hash(&c->nodes[id].key) & c->mask];

	while (*pp != id)
		pp = &c->nodes[*pp].chain;	/* id is indexed: the walk ends on it */
	*pp = c->nodes[id].chain;
	c->nodes[id].chain = NIL;
}

/* Drop a node from the index and its queue onto the matching free list. */
static void release(struct hashcache *c, uint32_t id)
{
	index_del(c, id);
	list_unlink(c, queue_of(c, id), id);
	if (id < c->cap)
		list_push_tail(c, &c->free_ent, id, Q_FREE);
	else
		list_push_tail(c, &c->free_ghost, id, Q_FREE);
}

/* ---- eviction ---- */

/* Remember a key evicted from cold; the oldest ghost makes way if needed. */
static void ghost_add(struct hashcache *c, const struct hc_key *k)
{
	uint32_t g;

	if (!c->free_ghost.n)
		release(c, c->ghost.head);
	g = list_pop_head(c, &c->free_ghost);
	c->nodes[g].key = *k;
	c->nodes[g].ref = 0;
	index_add(c, g, key_hash(k));
	list_push_tail(c, &c->ghost, g, Q_GHOST);
}

static void evict_cold(struct hashcache *c)
{
	uint32_t id = c->cold.head;
	struct hc_key k = c->nodes[id].key;

	release(c, id);
	ghost_add(c, &k);
	c->evictions++;
}

/*
 * CLOCK over the hot list: the head is under the hand.  A referenced entry
 * has its bit cleared and goes to the tail (its second chance); the first
 * unreferenced one goes.  Each entry is passed at most once per call, so
 * this ends within hot.n + 1 steps.  Hot evictions are not remembered in
 * ghost: the key already proved itself once, and ghost is for cold's
 * one-timers.
 */
static void evict_hot(struct hashcache *c)
{
	uint32_t id;

	while (c->nodes[id = c->hot.head].ref) {
		c->nodes[id].ref = 0;
		list_unlink(c, &c->hot, id);
		list_push_tail(c, &c->hot, id, Q_HOT);
	}
	release(c, id);
	c->evictions++;
}

/* Make hot able to take one more entry without passing its share. */
static void hot_make_room(struct hashcache *c)
{
	if (c->hot.n >= c->cap - c->cold_min)
		evict_hot(c);
}

/*
 * Free one entry node.  Cold is the victim: hot_make_room() keeps hot at
 * or under cap - cold_min, so a full cache has at least cold_min >= 1 cold
 * entries.  The hot fallback only guards that invariant.
 */
static void make_room(struct hashcache *c)
{
	if (c->free_ent.n)
		return;
	if (c->cold.n)
		evict_cold(c);
	else
		evict_hot(c);
}

/* ---- API ---- */

struct hashcache *hc_new(size_t capacity)
{
	struct hashcache *c;
	size_t nbuckets = 1, off_nodes, off_buckets, off_vals, total;
	void *mem;

	if (capacity < HC_MIN_CAP)
		capacity = HC_MIN_CAP;
	/* ~150 bytes an entry; the second test only matters where size_t is 32 bits. */
	if (capacity > HC_MAX_CAP || capacity > SIZE_MAX / 256)
		return NULL;
	/* Up to 2 * capacity keys are indexed (entries + ghosts): load <= 1. */
	while (nbuckets < 2 * capacity)
		nbuckets <<= 1;

	/* One block: struct, nodes, buckets, values (alignment descends). */
	off_nodes = (sizeof(*c) + _Alignof(struct hc_node) - 1) &
		    ~(_Alignof(struct hc_node) - 1);
	off_buckets = off_nodes + 2 * capacity * sizeof(struct hc_node);
	off_vals = off_buckets + nbuckets * sizeof(uint32_t);
	total = off_vals + capacity * sizeof(struct hc_val);

	mem = calloc(1, total);
	if (!mem)
		return NULL;
	c = mem;
	c->cap = capacity;
	c->cold_min = capacity / 10 ? capacity / 10 : 1;
	c->bytes = total;
	c->mask = nbuckets - 1;
	c->nodes = (struct hc_node *)((char *)mem + off_nodes);
	c->buckets = (uint32_t *)((char *)mem + off_buckets);
	c->vals = (struct hc_val *)((char *)mem + off_vals);
	memset(c->buckets, 0xff, nbuckets * sizeof(uint32_t));	/* all NIL */

	list_init(&c->cold);
	list_init(&c->hot);
	list_init(&c->ghost);
	list_init(&c->free_ent);
	list_init(&c->free_ghost);
	for (uint32_t id = 0; id < 2 * capacity; id++) {
		c->nodes[id].chain = NIL;
		list_push_tail(c, id < capacity ? &c->free_ent : &c->free_ghost, id, Q_FREE);
	}
	return c;
}

void hc_free(struct hashcache *c)
{
	free(c);
}

bool hc_get(struct hashcache *c, const struct hc_key *k, struct hc_val *out)
{
	uint32_t id = find(c, k, key_hash(k));
	struct hc_node *n;

	/* A ghost has no value: for the caller that is a miss like any other. */
	if (id == NIL || id >= c->cap) {
		c->misses++;
		return false;
	}
	c->hits++;
	if (out)
		*out = c->vals[id];

	n = &c->nodes[id];
	if (n->where == Q_HOT) {
		n->ref = 1;
		return true;
	}
	/*
	 * Second access while in cold: promote now rather than when it reaches
	 * cold's tail.  It enters hot at the tail, unreferenced - the move
	 * itself is its reward, and a full lap of the hand is its grace.
	 * Unlink first so that, if hot is at its share, the entry evicted to
	 * make room is a hot one and not this one.
	 */
	list_unlink(c, &c->cold, id);
	hot_make_room(c);
	n->ref = 0;
	list_push_tail(c, &c->hot, id, Q_HOT);
	return true;
}

void hc_put(struct hashcache *c, const struct hc_key *k, const struct hc_val *v)
{
	uint64_t h = key_hash(k);
	uint32_t id = find(c, k, h);
	uint8_t dest = Q_COLD;

	if (id != NIL && id < c->cap) {
		/* Replacing a value is an update, not an access: no promotion. */
		c->vals[id] = *v;
		return;
	}
	if (id != NIL) {
		/* Seen, evicted unhit, and wanted again: it earned hot. */
		release(c, id);
		c->ghost_hits++;
		dest = Q_HOT;
		hot_make_room(c);
	}
	make_room(c);

	id = list_pop_head(c, &c->free_ent);
	c->nodes[id].key = *k;
	c->nodes[id].ref = 0;
	c->vals[id] = *v;
	index_add(c, id, h);
	list_push_tail(c, dest == Q_HOT ? &c->hot : &c->cold, id, dest);
	c->inserts++;
}

void hc_del(struct hashcache *c, const struct hc_key *k)
{
	uint32_t id = find(c, k, key_hash(k));

	if (id != NIL)
		release(c, id);
}

void hc_get_stats(const struct hashcache *c, struct hc_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->hits = c->hits;
	out->misses = c->misses;
	out->inserts = c->inserts;
	out->evictions = c->evictions;
	out->ghost_hits = c->ghost_hits;
	out->cold = c->cold.n;
	out->hot = c->hot.n;
	out->ghost = c->ghost.n;
	out->capacity = c->cap;
}

size_t hc_memory_bytes(const struct hashcache *c)
{
	return c->bytes;
}
