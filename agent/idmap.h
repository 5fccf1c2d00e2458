/*
 * idmap.h - a hash map from 64-bit ids (pids, cgroup ids) to pointers.
 * Shared by the process table and the container cache.
 */
#ifndef VIGIL_IDMAP_H
#define VIGIL_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct vigil_idmap_slot {
	uint64_t key;
	void *val;	/* NULL = empty slot */
};

struct vigil_idmap {
	struct vigil_idmap_slot *slots;
	size_t cap;	/* power of two */
	size_t len;
};

int idmap_init(struct vigil_idmap *m, size_t hint);
/* Frees the table, not the values; call idmap_each() first to free those. */
void idmap_free(struct vigil_idmap *m);
void *idmap_get(const struct vigil_idmap *m, uint64_t key);
/* Insert or replace; val must be non-NULL. 0 or -ENOMEM. */
int idmap_put(struct vigil_idmap *m, uint64_t key, void *val);
/* Remove and return the value (NULL if absent). */
void *idmap_del(struct vigil_idmap *m, uint64_t key);
void idmap_each(const struct vigil_idmap *m, void (*fn)(uint64_t key, void *val, void *ctx), void *ctx);

#endif
