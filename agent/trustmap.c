/*
 * trustmap.c - keeping the kernel's trust map equal to the trust store
 * (see trustmap.h).
 *
 * A sync never empties the map on the way: it writes every wanted entry
 * first (an update of one element is atomic), then deletes the entries no
 * longer wanted.  A file that stays trusted is never absent, even for an
 * instant, so a sync under enforcement cannot make a trusted exec fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "loader.h"
#include "trust.h"
#include "trustmap.h"

struct kv {
	struct vigil_trust_key k;
	struct vigil_trust_val v;
};

struct kvs {
	struct kv *v;
	size_t n, cap;
};

static int kvs_add(struct kvs *a, uint64_t dev, uint64_t ino, int64_t ctime_ns, uint64_t size)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		struct kv *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = (struct kv){ .k = { .dev = dev, .ino = ino },
				    .v = { .ctime_ns = ctime_ns, .size = size } };
	return 0;
}

static int kvs_add_stat(struct kvs *a, const struct stat *st)
{
	return kvs_add(a, trust_kdev(st->st_dev), st->st_ino,
		       (int64_t)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec,
		       st->st_size);
}

static int key_cmp(const void *a, const void *b)
{
	const struct vigil_trust_key *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

/* vigil's own files: never judged untrusted, whatever the store says. */
static int self_entries(struct kvs *a, const char *store_dir)
{
	char line[PATH_MAX + 256], path[PATH_MAX];
	struct stat st;
	FILE *f;
	int err = 0;

	if (stat("/proc/self/exe", &st) == 0 && (err = kvs_add_stat(a, &st)))
		return err;
	/* Every file vigil maps executable: its shared libraries and ld.so. */
	f = fopen("/proc/self/maps", "re");
	if (f) {
		while (!err && fgets(line, sizeof(line), f)) {
			char perms[8];
			const char *p;

			if (sscanf(line, "%*s %7s", perms) != 1 || perms[2] != 'x')
				continue;
			p = strchr(line, '/');
			if (!p)
				continue;
			snprintf(path, sizeof(path), "%s", p);
			path[strcspn(path, "\n")] = 0;
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
				err = kvs_add_stat(a, &st);
		}
		fclose(f);
	}
	if (!err && store_dir) {
		static const char *const names[] = { "store", "store.prev" };

		for (size_t i = 0; !err && i < 2; i++) {
			snprintf(path, sizeof(path), "%s/%s", store_dir, names[i]);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
				err = kvs_add_stat(a, &st);
		}
	}
	return err;
}

static bool wanted(const void *key, void *ctx)
{
	const struct kvs *want = ctx;

	return bsearch(key, want->v, want->n, sizeof(*want->v), key_cmp) != NULL;
}

int trustmap_sync_fd(int fd, const struct trust_store *s, const char *store_dir,
		     char *why, size_t whylen)
{
	struct kvs want = { 0 };
	int err;

	err = self_entries(&want, store_dir);
	for (size_t i = 0; !err && s && i < s->n; i++) {
		const struct trust_rec *r = &s->v[i];

		if (r->link_target || !S_ISREG(r->mode))
			continue;	/* a link name: its target has a record of its own */
		err = kvs_add(&want, r->dev, r->ino, r->ctime_ns, r->size);
	}
	if (err) {
		snprintf(why, whylen, "building the trust map: %s", strerror(-err));
		goto out;
	}
	qsort(want.v, want.n, sizeof(*want.v), key_cmp);
	/* Hard links and self entries the store also has: one inode, one entry. */
	{
		size_t j = 0;

		for (size_t i = 0; i < want.n; i++)
			if (!j || key_cmp(&want.v[i], &want.v[j - 1]))
				want.v[j++] = want.v[i];
		want.n = j;
	}
	for (size_t i = 0; i < want.n; i++) {
		if (bpf_map_update_elem(fd, &want.v[i].k, &want.v[i].v, BPF_ANY)) {
			err = -errno;
			snprintf(why, whylen, "writing the trust map (%zu entries; trust.max_entries "
				 "too small?): %s", want.n, strerror(errno));
			goto out;
		}
	}
	err = vigil_bpf_map_prune(fd, sizeof(struct vigil_trust_key), wanted, &want);
	if (err) {
		snprintf(why, whylen, "pruning the trust map: out of memory");
		goto out;
	}
	err = (int)want.n;
out:
	free(want.v);
	return err;
}

int trustmap_open_pinned(const char *bpffs_dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/trust/%s", bpffs_dir ? bpffs_dir : VIGIL_BPFFS_DEFAULT,
		 name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int trustmap_sync_pinned(const char *bpffs_dir, const struct trust_store *s,
			 const char *store_dir, char *why, size_t whylen)
{
	int fd = trustmap_open_pinned(bpffs_dir, "trust_inodes"), err;

	if (fd < 0) {
		if (fd != -ENOENT)
			snprintf(why, whylen, "opening the pinned trust map: %s", strerror(-fd));
		return fd;
	}
	err = trustmap_sync_fd(fd, s, store_dir, why, whylen);
	close(fd);
	return err;
}

int trustmap_switch(const char *bpffs_dir, bool off, char *why, size_t whylen)
{
	int fd = trustmap_open_pinned(bpffs_dir, "trust_switch");
	uint32_t zero = 0, v = off;

	if (fd < 0) {
		snprintf(why, whylen, "no trust enforcement is pinned under %s/trust (%s)",
			 bpffs_dir ? bpffs_dir : VIGIL_BPFFS_DEFAULT, strerror(-fd));
		return fd;
	}
	if (bpf_map_update_elem(fd, &zero, &v, BPF_ANY)) {
		int err = -errno;

		snprintf(why, whylen, "writing the trust switch: %s", strerror(errno));
		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

int trustmap_switch_get(const char *bpffs_dir)
{
	int fd = trustmap_open_pinned(bpffs_dir, "trust_switch");
	uint32_t zero = 0, v = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, &v))
		v = 0;
	close(fd);
	return v ? 1 : 0;
}

static unsigned map_count(int fd, size_t key_size)
{
	unsigned char k[32], next[32];
	void *prev = NULL;
	unsigned n = 0;

	while (key_size <= sizeof(k) && bpf_map_get_next_key(fd, prev, next) == 0) {
		n++;
		memcpy(k, next, key_size);
		prev = k;
	}
	return n;
}

int trustmap_state(const char *bpffs_dir, struct trustmap_state *st)
{
	int cfg = trustmap_open_pinned(bpffs_dir, "trust_cfg");
	int ino = trustmap_open_pinned(bpffs_dir, "trust_inodes");
	int scope = trustmap_open_pinned(bpffs_dir, "trust_scope");
	uint32_t zero = 0;
	int err = 0;

	memset(st, 0, sizeof(*st));
	if (cfg < 0 || ino < 0 || scope < 0)
		err = cfg < 0 ? cfg : ino < 0 ? ino : scope;
	else if (bpf_map_lookup_elem(cfg, &zero, &st->cfg))
		err = -errno;
	if (!err) {
		st->inodes = map_count(ino, sizeof(struct vigil_trust_key));
		st->scopes = map_count(scope, sizeof(uint64_t));
		st->switched_off = trustmap_switch_get(bpffs_dir) == 1;
	}
	for (int i = 0, fds[3] = { cfg, ino, scope }; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return err;
}
