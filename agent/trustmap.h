/*
 * trustmap.h - the kernel side of the trust store: the pinned BPF map
 * (dev, ino) -> (ctime ns, size) that the trust hooks consult.
 *
 * The agent creates and pins the map when a TrustPolicy is loaded (and keeps
 * it pinned across restarts).  `vigil trust` commands call
 * trustmap_sync_pinned() after every save, so a change reaches the kernel at
 * once whether or not the agent is alive.  vigil's own binary, the shared
 * libraries it maps and the trust store's files are always in the map
 * ("self" entries), so enforcement can never lock vigil out.
 */
#ifndef VIGIL_TRUSTMAP_H
#define VIGIL_TRUSTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trust.h"
#include "truststore.h"

#define VIGIL_BPFFS_DEFAULT "/sys/fs/bpf/vigil"

/*
 * Make the map pinned under bpffs_dir (NULL = VIGIL_BPFFS_DEFAULT) hold
 * exactly the store's regular-file records plus vigil's self entries.
 * Returns the number of entries now in the map (>= 0) , -ENOENT when no map
 * is pinned (the agent never enforced on this boot), or another -errno with
 * a reason in why.
 */
int trustmap_sync_pinned(const char *bpffs_dir, const struct trust_store *s,
			 const char *store_dir, char *why, size_t whylen);

/* The same on an open map fd (the agent's).  Returns the entries now in the map or -errno. */
int trustmap_sync_fd(int fd, const struct trust_store *s, const char *store_dir,
		     char *why, size_t whylen);

/* bpf_obj_get() of bpffs_dir/trust/NAME.  An fd, or -errno (-ENOENT: not pinned). */
int trustmap_open_pinned(const char *bpffs_dir, const char *name);

/*
 * The emergency switch (`vigil trust off` / `on`): while off, the pinned
 * programs judge nothing, whether or not the agent runs.  0 or -errno.
 */
int trustmap_switch(const char *bpffs_dir, bool off, char *why, size_t whylen);
/* 1 switched off, 0 on, -ENOENT nothing pinned. */
int trustmap_switch_get(const char *bpffs_dir);

/* What the pinned maps hold, for `vigil trust status`. */
struct trustmap_state {
	struct vigil_trust_cfg cfg;
	unsigned inodes;	/* entries in trust_inodes */
	unsigned scopes;	/* containers with a mode of their own */
	bool switched_off;
};
/* 0, or -errno (-ENOENT: nothing pinned). */
int trustmap_state(const char *bpffs_dir, struct trustmap_state *st);

#endif
