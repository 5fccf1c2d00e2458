/*
 * output.c - the JSON-lines output file (see output.h).
 *
 * Durability contract
 *
 * output_write() only copies a record into a user-space buffer.  The data
 * reaches the kernel (write(2)) on every output_flush(), which the agent
 * calls once per event-loop turn, after each drain of the ring buffer: at
 * most about 100 ms after the event happened, since the loop drains the
 * ring at least every 100 ms.  The buffer also writes itself out as soon
 * as it holds more than 64 KiB, so a burst never piles up in memory.  If
 * vigil itself dies (SIGKILL, a crash), what is lost is at most the current
 * turn's buffer; everything flushed before sits in the page cache and
 * reaches the disk anyway.
 *
 * fsync happens at each rotation (the retired file before it is renamed,
 * then the directory once the renames and the new file are done) and at
 * output_close(), i.e. on a clean shutdown.  It does not happen per flush:
 * a disk flush every 100 ms on every node is a steep price for an event
 * trail.  So a crash of the machine (power loss, kernel panic) can lose what
 * the kernel had not yet written back since the last rotation, normally the
 * last few tens of seconds (vm.dirty_expire_centisecs), and the current
 * file may then end in a partial line.  Rotated files are always complete:
 * they were fsynced before they got their .N name.
 *
 * Invariants
 *
 * - A record is never split across files: rotation happens before a record
 *   that would take the file past max_bytes, never inside one.  A record
 *   larger than max_bytes therefore lands alone in a fresh file.
 * - `size` counts the bytes of the current file, buffered ones included, so
 *   the decision to rotate does not depend on when the buffer was flushed.
 * - path.1 is the newest rotated file, path.N the oldest.  Each step of a
 *   rotation is one rename(2), which replaces its target atomically: the
 *   rename onto path.N is what drops the oldest file, and at every instant
 *   each record is under exactly one name.  Files beyond .N left by an
 *   earlier, larger `keep` are not touched.
 * - Renames and the reopen are relative to a descriptor of the directory,
 *   opened at start, so a later chdir (or a relative path) cannot redirect
 *   them.
 *
 * Failures
 *
 * A failed write drops what the buffer held and counts those records in
 * write_errors: keeping them for a retry would turn a full disk into an
 * ever-growing buffer.  A failed rotation leaves output going into the file
 * that is open, and is retried only after the file has grown by another
 * max_bytes, so a read-only directory costs one error per max_bytes rather
 * than one per record.  Why rotate here rather than with logrotate: only
 * the writer knows where lines end (copytruncate loses or splits lines),
 * and nothing else has to signal vigil to reopen.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"

#define OPEN_FLAGS (O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC)
#define OPEN_MODE 0640
#define BUF_MIN 4096
/* After a huge record, give the memory back rather than keep it forever. */
#define BUF_KEEP_MAX (16 * OUTPUT_BUF_FLUSH)

__attribute__((format(printf, 4, 5)))
static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static void keep_first(int *err, int e)
{
	if (!*err)
		*err = e;
}

static unsigned digits(unsigned v)
{
	unsigned n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* path's directory ("." or "/" where it has none) and last component. */
static int split_path(const char *path, char *dir, size_t dirlen, char *name, size_t namelen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t n;

	if (!*base)
		return -EISDIR;
	if (strlen(base) >= namelen)
		return -ENAMETOOLONG;
	strcpy(name, base);
	if (!slash) {
		snprintf(dir, dirlen, ".");
		return 0;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= dirlen)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = 0;
	return 0;
}

static int open_error(const char *path, int err, char *why, size_t whylen)
{
	char dir[PATH_MAX], name[NAME_MAX + 1];

	switch (-err) {
	case ENOENT:
		if (split_path(path, dir, sizeof(dir), name, sizeof(name)) == 0)
			return fail(why, whylen, err,
				    "cannot open output %s: directory %s does not exist", path, dir);
		break;
	case ENOTDIR:
		return fail(why, whylen, err,
			    "cannot open output %s: a component of the path is not a directory", path);
	case EISDIR:
		return fail(why, whylen, err,
			    "cannot open output %s: it is a directory; give a file path", path);
	case EACCES:
	case EPERM:
		return fail(why, whylen, err,
			    "cannot open output %s: permission denied (the file, or its directory if the file does not exist yet, must be writable)",
			    path);
	case EROFS:
		return fail(why, whylen, err, "cannot open output %s: read-only file system", path);
	case ENXIO:
		return fail(why, whylen, err,
			    "cannot open output %s: it is a FIFO and nothing reads from it", path);
	}
	return fail(why, whylen, err, "cannot open output %s: %s", path, strerror(-err));
}

/* Rotation renames within path's directory: hold it open and check it is writable. */
static int open_dir(struct vigil_output *o, const char *dir, char *why, size_t whylen)
{
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
		return fail(why, whylen, -errno,
			    "cannot rotate output %s: directory %s is not writable (%s)", o->path,
			    dir, strerror(errno));
	o->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dirfd < 0)
		return fail(why, whylen, -errno, "cannot rotate output %s: cannot open %s: %s",
			    o->path, dir, strerror(errno));
	return 0;
}

int output_open(struct vigil_output *o, const char *path, uint64_t max_bytes, unsigned keep,
		char *why, size_t whylen)
{
	char dir[PATH_MAX];
	struct stat st;
	int fd, fl, err;

	memset(o, 0, sizeof(*o));
	o->fd = o->dirfd = -1;
	if (why && whylen)
		why[0] = 0;
	if (!path || !*path)
		return fail(why, whylen, -EINVAL, "the output path is empty");
	if (strlen(path) >= sizeof(o->path))
		return fail(why, whylen, -ENAMETOOLONG, "the output path is longer than %d bytes",
			    PATH_MAX - 1);
	strcpy(o->path, path);
	if (!strcmp(path, "-")) {
		o->fd = STDOUT_FILENO;
		o->is_stdout = true;
		return 0;
	}
	if (max_bytes && (keep < 1 || keep > OUTPUT_KEEP_MAX))
		return fail(why, whylen, -EINVAL,
			    "output rotation keeps 1 to %u files, not %u", OUTPUT_KEEP_MAX, keep);

	if (max_bytes) {
		/* Before the open, so a refused path leaves no file behind. */
		err = split_path(path, dir, sizeof(dir), o->name, sizeof(o->name));
		if (err == -EISDIR)	/* "dir/" */
			return open_error(path, err, why, whylen);
		if (err || strlen(o->name) + 1 + digits(keep) > NAME_MAX)
			return fail(why, whylen, -ENAMETOOLONG,
				    "cannot rotate output %s: the name is too long for a .%u suffix",
				    path, keep);
	}

	/* O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of hanging start-up. */
	fd = open(path, OPEN_FLAGS | O_NONBLOCK, OPEN_MODE);
	if (fd < 0)
		return open_error(path, -errno, why, whylen);
	if (fstat(fd, &st) < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		err = fail(why, whylen, -errno, "cannot open output %s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	o->fd = fd;
	o->is_file = S_ISREG(st.st_mode);
	if (!o->is_file)
		return 0;	/* a pipe or device: nothing to rotate, nothing to fsync */
	o->size = st.st_size;
	if (max_bytes) {
		o->max_bytes = max_bytes;
		o->keep = keep;
		o->rotate_at = max_bytes;
		err = open_dir(o, dir, why, whylen);
		if (err) {
			output_close(o);
			return err;
		}
	}
	return 0;
}

/* 0 or -errno; *done is how much of buf reached the kernel either way. */
static int write_all(int fd, const char *buf, size_t len, size_t *done)
{
	ssize_t n;

	*done = 0;
	while (*done < len) {
		n = write(fd, buf + *done, len - *done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		*done += n;
	}
	return 0;
}

int output_flush(struct vigil_output *o)
{
	size_t done = 0, lost = 0;
	int err;

	if (!o->len)
		return 0;
	err = o->fd < 0 ? -EBADF : write_all(o->fd, o->buf, o->len, &done);
	if (err) {
		for (size_t i = done; i < o->len; i++)
			lost += o->buf[i] == '\n';
		o->write_errors += lost ? lost : 1;
		o->size -= o->len - done;
		/* The file now ends mid-line: the next record first ends it. */
		if (done && o->buf[done - 1] != '\n')
			o->torn = true;
	}
	o->len = 0;
	if (o->cap > BUF_KEEP_MAX) {
		free(o->buf);
		o->buf = NULL;
		o->cap = 0;
	}
	return err;
}

int output_rotate(struct vigil_output *o)
{
	char from[NAME_MAX + 16], to[NAME_MAX + 16];
	struct stat st;
	int err, fd, rerr = 0;

	if (o->fd < 0)
		return -EBADF;
	if (o->dirfd < 0)
		return -EOPNOTSUPP;
	err = output_flush(o);	/* its losses are counted in write_errors */
	if (fsync(o->fd) < 0)
		rerr = -errno;
	for (unsigned i = o->keep; i-- > 1;) {
		snprintf(from, sizeof(from), "%s.%u", o->name, i);
		snprintf(to, sizeof(to), "%s.%u", o->name, i + 1);
		if (renameat(o->dirfd, from, o->dirfd, to) < 0 && errno != ENOENT)
			goto failed;
	}
	snprintf(to, sizeof(to), "%s.1", o->name);
	if (renameat(o->dirfd, o->name, o->dirfd, to) < 0 && errno != ENOENT)
		goto failed;
	fd = openat(o->dirfd, o->name, OPEN_FLAGS, OPEN_MODE);
	if (fd < 0)
		goto failed;
	close(o->fd);
	o->fd = fd;
	/* Normally 0; someone else may have created the file in between. */
	o->size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	o->torn = false;
	o->rotate_at = o->max_bytes;
	o->rotations++;
	if (fsync(o->dirfd) < 0 && !rerr)
		rerr = -errno;
	goto out;

failed:
	/* Output goes on into the open file; try again after another max_bytes. */
	rerr = -errno;
	o->rotate_at = o->size + o->max_bytes;
out:
	if (rerr) {
		o->rotation_errors++;
		keep_first(&err, rerr);
	}
	return err;
}

/* Room for more bytes in the buffer; -ENOMEM. */
static int reserve(struct vigil_output *o, size_t more)
{
	size_t need = o->len + more, cap = o->cap ? o->cap : BUF_MIN;
	char *p;

	if (need < o->len)
		return -ENOMEM;
	if (need <= o->cap)
		return 0;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(o->buf, cap);
	if (!p)
		return -ENOMEM;
	o->buf = p;
	o->cap = cap;
	return 0;
}

int output_write(struct vigil_output *o, const char *line, size_t len)
{
	int err = 0, r;

	if (o->fd < 0) {
		o->write_errors++;
		return -EBADF;
	}
	if (o->max_bytes && o->size && o->size + len > o->rotate_at)
		err = output_rotate(o);
	if (reserve(o, len + o->torn) < 0) {
		/* Make room by writing the buffer out; the record may still not fit. */
		r = output_flush(o);
		keep_first(&err, r);
		if (reserve(o, len + o->torn) < 0) {
			o->write_errors++;
			return -ENOMEM;
		}
	}
	if (o->torn) {
		o->buf[o->len++] = '\n';
		o->size++;
		o->torn = false;
	}
	memcpy(o->buf + o->len, line, len);
	o->len += len;
	o->size += len;
	if (o->len > OUTPUT_BUF_FLUSH) {
		r = output_flush(o);
		if (r)
			err = r;	/* lost records matter more than a late rotation */
	}
	return err;
}

int output_reopen(struct vigil_output *o)
{
	struct stat st;
	int err, fd;

	if (o->fd < 0)
		return -EBADF;
	if (o->is_stdout)
		return 0;
	if (o->dirfd >= 0)
		return output_rotate(o);
	err = output_flush(o);
	if (o->is_file && fsync(o->fd) < 0 && !err)
		err = -errno;
	fd = open(o->path, OPEN_FLAGS | O_NONBLOCK, OPEN_MODE);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0)
		o->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	close(o->fd);
	o->fd = fd;
	return err;
}

int output_close(struct vigil_output *o)
{
	int err = 0;

	if (o->fd >= 0) {
		err = output_flush(o);
		if (o->is_file && fsync(o->fd) < 0)
			keep_first(&err, -errno);
		if (!o->is_stdout && close(o->fd) < 0)
			keep_first(&err, -errno);
	}
	if (o->dirfd >= 0)
		close(o->dirfd);
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
	o->fd = o->dirfd = -1;
	return err;
}
