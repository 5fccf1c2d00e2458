/*
 * truststore.h - the trust store: which files may run, as recorded by the
 * approved install path (`vigil trust ...`).
 *
 * On disk, in one directory (default /var/lib/vigil/trust):
 *   store      the current generation
 *   store.prev the previous generation (the spare)
 *   lock       flock(2)ed by every writer, so `vigil trust` commands serialize
 *
 * The format is text, one record per line, versioned and checksummed
 * (docs/TRUST.md describes it byte by byte).  Every save is atomic: write
 * store.tmp, fsync it, hard-link the current store to store.prev (via a
 * temporary name and rename), rename store.tmp over store, fsync the
 * directory.  A crash at any point leaves a loadable primary or spare.
 *
 * Loading: a primary that is missing, unreadable or fails its checksum or
 * parse is reported, and the spare is loaded instead; if both fail the load
 * fails (the caller must then refuse to enforce; it never enforces an empty
 * set it did not mean).  A store directory with neither file is a valid,
 * empty store (nothing was ever trusted).
 *
 * This module knows no BPF and never prints: every failure leaves a
 * one-line reason in the caller's buffer.
 */
#ifndef VIGIL_TRUSTSTORE_H
#define VIGIL_TRUSTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VIGIL_TRUST_DIR_DEFAULT "/var/lib/vigil/trust"
#define TRUST_FORMAT_VERSION 1
#define TRUST_SOURCE_MAX 31

struct trust_rec {
	char *path;		/* absolute, as given (after normalising "//" and "/./") */
	char *link_target;	/* for a symlink record: the file it names; NULL otherwise */
	uint8_t sha256[32];
	uint64_t size;
	uint32_t mode;		/* st_mode, type bits included */
	uint32_t uid, gid;
	uint64_t dev;		/* the kernel's dev_t encoding: major << 20 | minor */
	uint64_t ino;
	int64_t ctime_ns;	/* st_ctim as nanoseconds since the epoch */
	int64_t mtime_ns;
	char source[TRUST_SOURCE_MAX + 1];	/* "install", "add", "dpkg:<package>", "self" */
	int64_t added_ns;	/* CLOCK_REALTIME when recorded */
};

struct trust_store {
	struct trust_rec *v;	/* sorted by path, paths unique */
	size_t n, cap;
	uint64_t generation;	/* +1 on every save; 0 for a store never saved */
	bool from_spare;	/* load fell back to store.prev */
	char spare_reason[256];	/* why dir/store was not used, when from_spare (no file name) */
};

/* Encode a user-space st_dev the way the kernel's inode->i_sb->s_dev holds it. */
uint64_t trust_kdev(dev_t st_dev);

/*
 * Load dir's store into s (zeroed or a store; its old content is freed).
 * 0, or -errno with a reason naming both files in why: both generations
 * bad -EBADMSG; both unreadable for the same reason (e.g. -EACCES, not
 * root) that -errno.  On failure s is empty.
 */
int trust_store_load(struct trust_store *s, const char *dir, char *why, size_t whylen);
/*
 * Atomic save as described above; bumps s->generation.  Creates dir (0700)
 * if needed.  When s came from the spare, the damaged primary is not kept
 * as store.prev (the good spare stays); a successful save clears from_spare.
 */
int trust_store_save(struct trust_store *s, const char *dir, char *why, size_t whylen);
void trust_store_free(struct trust_store *s);

/*
 * Serialize / parse (what load and save use), for tests and the fuzzer.
 * format: *out is malloc()ed.  parse: s as for load; on failure s is empty.
 */
int trust_store_format(const struct trust_store *s, char **out, size_t *outlen);
int trust_store_parse(struct trust_store *s, const char *text, size_t len,
		      char *why, size_t whylen);

/* Exclusive lock on dir/lock (creating dir).  Returns an fd to close, or -errno. */
int trust_store_lock(const char *dir, char *why, size_t whylen);

/*
 * The same lock without waiting and without creating anything: an fd,
 * -EWOULDBLOCK while a writer holds it, -ENOENT if there is no lock file
 * (no writer ever ran), or another -errno.
 */
int trust_store_trylock(const char *dir);

/* Lookup by path (NULL if absent).  Insert replaces a record with the same path. */
struct trust_rec *trust_store_find(const struct trust_store *s, const char *path);
int trust_store_put(struct trust_store *s, const struct trust_rec *r);	/* deep copy */
bool trust_store_del(struct trust_store *s, const char *path);
void trust_rec_free(struct trust_rec *r);

/*
 * Build a record for a file: stat it, refuse what cannot be trusted, hash
 * it.  path must be absolute.  A symlink is followed: the record describes
 * the target, rec->path is the target's canonical path and *link_out (if
 * not NULL) receives a second record for the link name with link_target
 * set and the target's identity (hash, size, mode, owner, dev, ino, times);
 * link_out->path stays NULL when path is no symlink.  source is cut to
 * TRUST_SOURCE_MAX bytes.  Errors (-errno, reason in why, naming the path):
 *   -ENOENT missing (or a dangling symlink), -EACCES permission (EPERM
 *   too), -EINVAL not a regular file (directory, device, fifo, socket),
 *   -ELOOP symlink loop, -EXDEV the file's identity is not stable: a
 *   network, FUSE, pseudo or FAT filesystem, or stat's st_dev is not the
 *   superblock's device that the kernel keys on (see docs/TRUST.md).
 * The file is hashed through an fd opened O_NOFOLLOW on the canonical path
 * and fstat()ed before and after: a file that changes while hashed is
 * refused with -EAGAIN.
 */
int trust_rec_from_file(const char *path, const char *source, struct trust_rec *rec,
			struct trust_rec *link_out, char *why, size_t whylen);

/*
 * Digest (EVP_sha256(), EVP_md5(), ...) of an open fd's content from
 * offset 0 (pread: its offset stays).  outlen is the digest's size.  0 or -errno.
 */
struct evp_md_st;
int trust_digest_fd(int fd, const struct evp_md_st *md, uint8_t *out, unsigned outlen,
		    uint64_t *bytes);
/* sha256 of an open fd's content from offset 0 (pread: its offset stays).  0 or -errno. */
int trust_sha256_fd(int fd, uint8_t out[32], uint64_t *bytes);
void trust_hex(const uint8_t sha[32], char out[65]);

/* write(2) all of buf, retrying on EINTR and short writes.  0 or -errno. */
int trust_write_all(int fd, const void *buf, size_t n);
/* fsync(2) a directory, so a rename in it is durable.  0 or -errno. */
int trust_fsync_dir(const char *dir);

/* Escape a path for one line of the store (%XX for bytes <= 0x20, '%', 0x7f). */
char *trust_path_escape(const char *path);
char *trust_path_unescape(const char *esc);	/* NULL on a malformed escape */

#endif
