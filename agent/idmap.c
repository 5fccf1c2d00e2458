/*
 * idmap.c - open addressing with linear probing, load factor kept at or
 * under 1/2, and deletion by backward shift: no tombstones, so a long-lived
 * agent on a node with heavy pid churn never sees lookups degrade.  Keys
 * are spread with Fibonacci hashing because pids and cgroup ids are dense
 * and sequential.  Every operation is O(1) expected; memory is two words
 * per slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

static size_t home_of(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

int idmap_init(struct vigil_idmap *m, size_t hint)
{
	size_t cap = 64;

	while (cap < hint * 2)
		cap <<= 1;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots)
		return -ENOMEM;
	m->cap = cap;
	m->len = 0;
	return 0;
}

void idmap_free(struct vigil_idmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static size_t find(const struct vigil_idmap *m, uint64_t key)
{
	size_t i = home_of(key, m->cap);

	while (m->slots[i].val && m->slots[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *idmap_get(const struct vigil_idmap *m, uint64_t key)
{
	return m->slots[find(m, key)].val;
}

static int grow(struct vigil_idmap *m)
{
	struct vigil_idmap n;

	if (idmap_init(&n, m->cap) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].val)
			n.slots[find(&n, m->slots[i].key)] = m->slots[i];
	n.len = m->len;
	free(m->slots);
	*m = n;
	return 0;
}

int idmap_put(struct vigil_idmap *m, uint64_t key, void *val)
{
	size_t i;

	if ((m->len + 1) * 2 > m->cap && grow(m) < 0)
		return -ENOMEM;
	i = find(m, key);
	if (!m->slots[i].val)
		m->len++;
	m->slots[i].key = key;
	m->slots[i].val = val;
	return 0;
}

void *idmap_del(struct vigil_idmap *m, uint64_t key)
{
	size_t i = find(m, key), j, home;
	void *val = m->slots[i].val;

	if (!val)
		return NULL;
	m->slots[i].val = NULL;
	m->len--;
	/* Pull later members of the probe run back over the hole. */
	for (j = (i + 1) & (m->cap - 1); m->slots[j].val; j = (j + 1) & (m->cap - 1)) {
		home = home_of(m->slots[j].key, m->cap);
		/* Slot j may move to i only if its home is not cyclically in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			m->slots[i] = m->slots[j];
			m->slots[j].val = NULL;
			i = j;
		}
	}
	return val;
}

void idmap_each(const struct vigil_idmap *m, void (*fn)(uint64_t key, void *val, void *ctx), void *ctx)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].val)
			fn(m->slots[i].key, m->slots[i].val, ctx);
}
