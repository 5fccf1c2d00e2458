/*
 * output.h - the file the JSON lines go to: a user-space buffer written out
 * once per event-loop turn, size-based rotation (path -> path.1 -> ... ->
 * path.N) and fsync at rotation and close.  It moves whole lines of bytes;
 * it does not format them (jsonl.c does) and never prints: errors come back
 * as -errno, with a sentence in `why` where the caller shows one to a user.
 * Durability contract: the essay at the top of output.c.
 */
#ifndef VIGIL_OUTPUT_H
#define VIGIL_OUTPUT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The buffer is written out automatically once it holds more than this. */
#define OUTPUT_BUF_FLUSH (64u * 1024)
/* Upper bound for `keep`: each rotation renames up to `keep` files. */
#define OUTPUT_KEEP_MAX 1000u

struct vigil_output {
	int fd;			/* -1 when closed */
	bool is_stdout;		/* path "-" */
	bool is_file;		/* a regular file: fsync and rotation apply (not a pipe, tty, /dev/null) */
	bool torn;		/* a failed write left a partial line: end it before the next record */
	char path[PATH_MAX];
	uint64_t max_bytes;	/* 0 = never rotate */
	unsigned keep;		/* rotated files kept: path.1 .. path.N (N >= 1 when max_bytes > 0) */
	uint64_t size;		/* bytes in the current file, including those still in buf */
	uint64_t rotate_at;	/* rotate before a record that takes size past this */
	uint64_t rotations;	/* how many times it rotated */
	uint64_t rotation_errors;	/* failed rotations; output went on in the open file */
	uint64_t write_errors;	/* records lost to failed writes */
	int dirfd;		/* path's directory, for renames and its fsync; -1 unless rotating */
	char name[NAME_MAX + 1];	/* path's last component, relative to dirfd */
	char *buf;
	size_t len, cap;	/* user-space buffer: writes are batched, output_flush() writes them out */
};

/*
 * Open for appending (O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC, mode 0640), or
 * stdout for "-" (max_bytes is then ignored).  A path that is not a regular
 * file (a FIFO, /dev/null) is written to but never rotated or fsynced.
 * Fails with a sentence in why for: an empty or too long path, a missing or
 * unwritable directory, an unwritable file, a directory, a FIFO without a
 * reader, keep 0 or above OUTPUT_KEEP_MAX while rotating.  0 or -errno.
 */
int output_open(struct vigil_output *o, const char *path, uint64_t max_bytes, unsigned keep,
		char *why, size_t whylen);
/*
 * Append one record: a complete line, '\n' included.  A record that would
 * take the file past max_bytes first rotates it, so a line is never split
 * across files; one larger than max_bytes goes alone into a fresh file.
 * 0, or -errno: a failed write (the lost records are counted in
 * write_errors) or a failed rotation (counted in rotation_errors; the
 * record still went into the open file, and rotation is retried once the
 * file has grown by another max_bytes).
 */
int output_write(struct vigil_output *o, const char *line, size_t len);
/* write(2) out the buffer, retrying short writes and EINTR.  0 or -errno. */
int output_flush(struct vigil_output *o);
/*
 * Rotate now (output_write calls this at the size limit; a caller may also,
 * e.g. on SIGHUP).  -EOPNOTSUPP unless rotation is on (max_bytes > 0 on a
 * regular file), -EBADF when closed.
 */
int output_rotate(struct vigil_output *o);
/*
 * SIGHUP: rotate when rotation is on; otherwise flush and reopen the path,
 * so an external log rotator's rename takes effect.  0 or -errno (the old
 * file stays open on failure).  A no-op for stdout.
 */
int output_reopen(struct vigil_output *o);
/* Flush, fsync (not stdout or pipes), close (not stdout), free.  Idempotent. */
int output_close(struct vigil_output *o);

#endif
