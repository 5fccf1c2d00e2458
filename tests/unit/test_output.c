/*
 * test_output.c - the output file: appending, batching, size-based rotation,
 * and the failures a user meets at start-up.  Every test works in its own
 * mkdtemp directory under /tmp, removed by the suite's teardown.
 *
 * The property that matters most is that rotation never splits a line: each
 * file must hold whole lines, and the files read oldest to newest must give
 * back exactly what was written, in order.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "output.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-output-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		chmod(path, 0700);	/* a test may have made it read-only */
	return remove(path);
}

static void remove_dir(void)
{
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(output, .init = make_dir, .fini = remove_dir);

/* ---- helpers --------------------------------------------------------------- */

/* dir/name, in one of a few rotating static buffers. */
static const char *in_dir(const char *name)
{
	static char bufs[4][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

/* dir/name.k, or dir/name for k == 0. */
static const char *rotated(const char *name, unsigned k)
{
	char n[NAME_MAX + 1];

	if (!k)
		return in_dir(name);
	snprintf(n, sizeof(n), "%s.%u", name, k);
	return in_dir(n);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The whole file, NUL-terminated; *len its size.  NULL if it does not exist. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0;
	FILE *m;
	int c;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &n);
	cr_assert_not_null(m);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	if (len)
		*len = n;
	return buf;
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(content, f);
	cr_assert_eq(fclose(f), 0);
}

static void expect_content(const char *path, const char *want)
{
	char *got = slurp(path, NULL);

	cr_assert_not_null(got, "%s does not exist", path);
	cr_expect_str_eq(got, want, "content of %s", path);
	free(got);
}

static off_t file_size(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_size;
}

static void must_open(struct vigil_output *o, const char *path, uint64_t max, unsigned keep)
{
	char why[512];
	int err = output_open(o, path, max, keep, why, sizeof(why));

	cr_assert_eq(err, 0, "output_open(%s): %s (%s)", path, strerror(-err), why);
}

static void put(struct vigil_output *o, const char *line)
{
	int err = output_write(o, line, strlen(line));

	cr_assert_eq(err, 0, "output_write(%s): %s", line, strerror(-err));
}

/* "rec%06u\n": every record is exactly 10 bytes. */
static const char *rec(unsigned i)
{
	static char b[16];

	snprintf(b, sizeof(b), "rec%06u\n", i);
	cr_assert_eq(strlen(b), 10);
	return b;
}

/* Records first..last (inclusive) concatenated, as a malloc'd string. */
static char *recs(unsigned first, unsigned last)
{
	char *s = calloc(1, (last - first + 1) * 10 + 1);

	cr_assert_not_null(s);
	for (unsigned i = first; i <= last; i++)
		strcat(s, rec(i));
	return s;
}

static void expect_recs(const char *path, unsigned first, unsigned last)
{
	char *want = recs(first, last);

	expect_content(path, want);
	free(want);
}

static size_t count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* ---- appending and batching ------------------------------------------------ */

Test(output, an_existing_file_is_appended_to_and_not_truncated)
{
	const char *path = in_dir("events.jsonl");
	struct vigil_output o;

	write_file(path, "{\"old\":1}\n");
	must_open(&o, path, 0, 0);
	cr_expect_eq(o.size, 10, "size starts at the existing file's length");
	cr_expect(o.is_file);
	put(&o, "{\"new\":2}\n");
	cr_assert_eq(output_close(&o), 0);
	expect_content(path, "{\"old\":1}\n{\"new\":2}\n");
}

Test(output, a_new_file_is_created_with_mode_0640)
{
	const char *path = in_dir("events.jsonl");
	struct vigil_output o;
	struct stat st;

	umask(0);
	must_open(&o, path, 0, 0);
	cr_assert_eq(output_close(&o), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
}

Test(output, records_stay_in_the_buffer_until_output_flush)
{
	const char *path = in_dir("events.jsonl");
	struct vigil_output o;

	must_open(&o, path, 0, 0);
	put(&o, rec(1));
	put(&o, rec(2));
	cr_expect_eq(file_size(path), 0, "written before the flush");
	cr_expect_eq(o.size, 20, "size counts buffered bytes");
	cr_assert_eq(output_flush(&o), 0);
	cr_expect_eq(o.len, 0);
	expect_recs(path, 1, 2);
	cr_assert_eq(output_close(&o), 0);
}

Test(output, the_buffer_writes_itself_out_once_it_holds_more_than_64_kib)
{
	const char *path = in_dir("events.jsonl");
	unsigned n = OUTPUT_BUF_FLUSH / 10;	/* 6553 records: 65530 bytes, just under */
	struct vigil_output o;

	must_open(&o, path, 0, 0);
	for (unsigned i = 0; i < n; i++)
		put(&o, rec(i));
	cr_expect_eq(file_size(path), 0, "flushed at %zu bytes, before the limit", o.len);
	cr_expect_eq(o.len, n * 10);
	put(&o, rec(n));
	cr_expect_eq(o.len, 0, "the buffer was not written out past the limit");
	cr_expect_eq(file_size(path), (off_t)(n + 1) * 10);
	cr_assert_eq(output_close(&o), 0);
	expect_recs(path, 0, n);
}

Test(output, closing_writes_out_what_is_still_buffered)
{
	const char *path = in_dir("events.jsonl");
	struct vigil_output o;

	must_open(&o, path, 0, 0);
	put(&o, rec(7));
	cr_assert_eq(output_close(&o), 0);
	expect_recs(path, 7, 7);
	cr_expect_eq(o.fd, -1);
	cr_expect_eq(output_close(&o), 0, "a second close is harmless");
}

/* ---- rotation -------------------------------------------------------------- */

Test(output, rotation_at_the_byte_limit_keeps_path_and_three_numbered_files)
{
	const char *path = in_dir("events.jsonl");
	struct vigil_output o;

	/* 10 records of 10 bytes fill 100 exactly: each file holds 10. */
	must_open(&o, path, 100, 3);
	for (unsigned i = 0; i < 50; i++)
		put(&o, rec(i));
	cr_assert_eq(output_close(&o), 0);
	cr_expect_eq(o.rotations, 4);
	expect_recs(rotated("events.jsonl", 0), 40, 49);
	expect_recs(rotated("events.jsonl", 1), 30, 39);
	expect_recs(rotated("events.jsonl", 2), 20, 29);
	expect_recs(rotated("events.jsonl", 3), 10, 19);
	cr_expect_not(exists(rotated("events.jsonl", 4)), "a fourth rotated file was kept");
	cr_expect_eq(count_entries(), 4, "records 0-9 should have been dropped with their file");
}

Test(output, an_existing_file_near_the_limit_rotates_before_the_first_record)
{
	const char *path = in_dir("events.jsonl");
	struct vigil_output o;

	write_file(path, "0123456789012345678901234567890123456789\n");	/* 41 bytes */
	must_open(&o, path, 50, 2);
	put(&o, rec(1));
	cr_assert_eq(output_close(&o), 0);
	cr_expect_eq(o.rotations, 1);
	expect_content(rotated("events.jsonl", 1), "0123456789012345678901234567890123456789\n");
	expect_recs(path, 1, 1);
}

/* Deterministic pseudo-random line lengths, 1 to 90 bytes with the '\n'. */
static size_t next_len(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return 1 + (*seed >> 16) % 90;
}

Test(output, no_record_is_ever_split_across_files)
{
	enum { N = 2000, MAX = 128 };
	const char *path = in_dir("ev");
	char *all = NULL, *joined = NULL;
	size_t all_len = 0, joined_len = 0;
	FILE *m = open_memstream(&all, &all_len);
	FILE *j = open_memstream(&joined, &joined_len);
	struct vigil_output o;
	uint32_t seed = 42;
	char line[128];

	cr_assert(m && j);
	must_open(&o, path, MAX, OUTPUT_KEEP_MAX);
	for (unsigned i = 0; i < N; i++) {
		size_t len = next_len(&seed);
		/* Each line unique and recognisable: its number, then filler. */
		size_t num = snprintf(line, sizeof(line), "%u-", i);

		if (len < num + 1)	/* the number alone is longer: keep it whole */
			len = num + 1;
		for (size_t k = num; k < len - 1; k++)
			line[k] = 'a' + (i + k) % 26;
		line[len - 1] = '\n';
		cr_assert_eq(output_write(&o, line, len), 0);
		fwrite(line, 1, len, m);
	}
	cr_assert_eq(output_close(&o), 0);
	fclose(m);
	cr_assert_gt(o.rotations, 10, "too few rotations to mean anything: %llu",
		     (unsigned long long)o.rotations);
	cr_assert_lt(o.rotations, OUTPUT_KEEP_MAX, "files were dropped; the check needs them all");

	/* Oldest (highest number) to newest (path itself). */
	for (unsigned k = o.rotations + 1; k-- > 0;) {
		size_t len;
		char *c = slurp(rotated("ev", k), &len);

		cr_assert_not_null(c, "ev.%u is missing", k);
		cr_expect_gt(len, 0, "ev.%u is empty", k);
		cr_expect_eq(c[len - 1], '\n', "ev.%u ends inside a line", k);
		cr_expect_leq(len, MAX, "ev.%u has %zu bytes, over the limit", k, len);
		fwrite(c, 1, len, j);
		free(c);
	}
	cr_expect_not(exists(rotated("ev", o.rotations + 1)));
	fclose(j);
	cr_expect_eq(joined_len, all_len);
	cr_expect(joined_len == all_len && !memcmp(joined, all, all_len),
		  "the files together differ from what was written");
	free(all);
	free(joined);
}

Test(output, a_record_larger_than_max_bytes_goes_alone_into_a_fresh_file)
{
	const char *path = in_dir("events.jsonl");
	struct vigil_output o;
	char big[201];

	memset(big, 'x', 199);
	big[199] = '\n';
	big[200] = 0;
	must_open(&o, path, 50, 5);
	put(&o, "small\n");
	put(&o, big);
	put(&o, "after\n");
	cr_assert_eq(output_close(&o), 0);
	cr_expect_eq(o.rotations, 2);
	expect_content(rotated("events.jsonl", 2), "small\n");
	expect_content(rotated("events.jsonl", 1), big);
	expect_content(path, "after\n");
}

Test(output, keep_is_honoured_after_many_rotations)
{
	const char *path = in_dir("events.jsonl");
	struct vigil_output o;

	must_open(&o, path, 10, 2);	/* one 10-byte record per file */
	for (unsigned i = 0; i < 300; i++)
		put(&o, rec(i));
	cr_assert_eq(output_close(&o), 0);
	cr_expect_eq(o.rotations, 299);
	cr_expect_eq(o.rotation_errors, 0);
	cr_expect_eq(count_entries(), 3, "want events.jsonl, .1 and .2 only");
	expect_recs(path, 299, 299);
	expect_recs(rotated("events.jsonl", 1), 298, 298);
	expect_recs(rotated("events.jsonl", 2), 297, 297);
}

Test(output, a_missing_intermediate_rotated_file_does_not_stop_rotation)
{
	const char *path = in_dir("events.jsonl");
	struct vigil_output o;

	must_open(&o, path, 10, 3);
	for (unsigned i = 0; i < 3; i++)
		put(&o, rec(i));	/* events.jsonl = 2, .1 = 1, .2 = 0 */
	cr_assert_eq(unlink(rotated("events.jsonl", 1)), 0);
	put(&o, rec(3));
	cr_assert_eq(output_close(&o), 0);
	cr_expect_eq(o.rotation_errors, 0);
	expect_recs(path, 3, 3);
	expect_recs(rotated("events.jsonl", 1), 2, 2);
	cr_expect_not(exists(rotated("events.jsonl", 2)), "nothing should have moved into .2");
	expect_recs(rotated("events.jsonl", 3), 0, 0);
}

Test(output, a_failed_rotation_is_reported_and_output_goes_on_in_the_open_file)
{
	const char *path = in_dir("events.jsonl");
	struct vigil_output o;
	unsigned failures = 0;

	/* A directory where events.jsonl.1 should go: rename(2) fails with EISDIR. */
	cr_assert_eq(mkdir(rotated("events.jsonl", 1), 0755), 0);
	must_open(&o, path, 30, 1);
	for (unsigned i = 0; i < 10; i++) {
		int err = output_write(&o, rec(i), 10);

		if (err) {
			cr_expect_eq(err, -EISDIR, "record %u: %s", i, strerror(-err));
			failures++;
		}
	}
	cr_expect_eq(failures, 3, "retried %u times; want once per max_bytes of growth",
		     failures);
	cr_expect_eq(o.rotation_errors, 3);
	cr_expect_eq(o.rotations, 0);
	cr_expect_eq(o.write_errors, 0);
	cr_assert_eq(output_flush(&o), 0);
	expect_recs(path, 0, 9);

	/* Once the obstacle is gone, the next attempt succeeds. */
	cr_assert_eq(rmdir(rotated("events.jsonl", 1)), 0);
	put(&o, rec(10));
	put(&o, rec(11));
	put(&o, rec(12));
	cr_assert_eq(output_close(&o), 0);
	cr_expect_eq(o.rotations, 1);
	expect_recs(rotated("events.jsonl", 1), 0, 11);
	expect_recs(path, 12, 12);
}

Test(output, explicit_rotation_needs_a_rotating_regular_file)
{
	struct vigil_output o;

	must_open(&o, in_dir("plain"), 0, 0);
	cr_expect_eq(output_rotate(&o), -EOPNOTSUPP);
	cr_assert_eq(output_close(&o), 0);
	cr_expect_eq(output_rotate(&o), -EBADF, "rotating a closed output");
}

/* ---- failures at open ------------------------------------------------------ */

static void expect_open_fails(const char *path, uint64_t max, unsigned keep, int want_err,
			      const char *want_in_why)
{
	struct vigil_output o;
	char why[512];
	int err = output_open(&o, path, max, keep, why, sizeof(why));

	cr_expect_eq(err, want_err, "%s: got %d (%s), want %d", path, err, why, want_err);
	cr_expect_neq(why[0], 0, "%s: no reason given", path);
	cr_expect(strstr(why, want_in_why), "%s: reason \"%s\" lacks \"%s\"", path, why,
		  want_in_why);
	cr_expect_eq(o.fd, -1);
	cr_expect_eq(output_close(&o), 0, "closing a failed output");
}

Test(output, a_file_in_a_missing_directory_fails_at_open_and_names_the_directory)
{
	char want[PATH_MAX];

	snprintf(want, sizeof(want), "directory %s/no/such does not exist", dir);
	expect_open_fails(in_dir("no/such/events.jsonl"), 0, 0, -ENOENT, want);
}

Test(output, a_directory_as_the_path_fails_at_open)
{
	expect_open_fails(dir, 0, 0, -EISDIR, "is a directory");
	expect_open_fails(in_dir(""), 1000, 2, -EISDIR, "is a directory");
}

Test(output, a_path_through_a_regular_file_fails_at_open)
{
	write_file(in_dir("file"), "");
	expect_open_fails(in_dir("file/events.jsonl"), 0, 0, -ENOTDIR, "not a directory");
}

Test(output, an_empty_path_or_a_bad_keep_fails_at_open)
{
	expect_open_fails("", 0, 0, -EINVAL, "empty");
	expect_open_fails(in_dir("a"), 100, 0, -EINVAL, "keeps 1 to");
	expect_open_fails(in_dir("a"), 100, OUTPUT_KEEP_MAX + 1, -EINVAL, "keeps 1 to");
	cr_expect_not(exists(in_dir("a")), "a refused open still created the file");
}

Test(output, a_name_too_long_for_its_rotation_suffix_fails_at_open)
{
	char name[NAME_MAX + 1];

	memset(name, 'n', NAME_MAX - 1);	/* fits; ".10" would not */
	name[NAME_MAX - 1] = 0;
	expect_open_fails(in_dir(name), 100, 10, -ENAMETOOLONG, "too long");
}

/*
 * Permission checks do not apply to root, so the open runs in a child that
 * drops to nobody when the test runs as root.  Reports err and why on a pipe.
 */
static int open_unprivileged(const char *path, uint64_t max, unsigned keep, char *why,
			     size_t whylen)
{
	struct {
		int err;
		char why[256];
	} r = { 0 };
	int p[2], status;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct vigil_output o;

		close(p[0]);
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(1);
		r.err = output_open(&o, path, max, keep, r.why, sizeof(r.why));
		output_close(&o);
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &r, sizeof(r)), sizeof(r), "the child reported nothing");
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	snprintf(why, whylen, "%s", r.why);
	return r.err;
}

Test(output, an_unwritable_directory_fails_at_open_with_a_reason)
{
	const char *ro = in_dir("ro");
	char path[PATH_MAX], why[256];
	int err;

	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(mkdir(ro, 0555), 0);
	cr_assert_eq(chmod(ro, 0555), 0);	/* whatever the umask */
	snprintf(path, sizeof(path), "%s/events.jsonl", ro);
	err = open_unprivileged(path, 0, 0, why, sizeof(why));
	cr_expect_eq(err, -EACCES, "got %d: %s", err, why);
	cr_expect(strstr(why, "permission denied"), "reason: %s", why);

	/* The file itself writable, the directory not: only rotation would fail. */
	cr_assert_eq(chmod(ro, 0755), 0);
	write_file(path, "");
	cr_assert_eq(chmod(path, 0666), 0);
	cr_assert_eq(chmod(ro, 0555), 0);
	err = open_unprivileged(path, 0, 0, why, sizeof(why));
	cr_expect_eq(err, 0, "no rotation, writable file: %s", why);
	err = open_unprivileged(path, 1000, 3, why, sizeof(why));
	cr_expect_eq(err, -EACCES, "got %d: %s", err, why);
	cr_expect(strstr(why, "is not writable"), "reason: %s", why);
}

/* ---- stdout, pipes, devices ------------------------------------------------ */

Test(output, stdout_mode_writes_to_fd_1_ignores_max_bytes_and_leaves_it_open)
{
	const char *path = in_dir("stdout");
	struct vigil_output o;
	int saved = dup(STDOUT_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert(saved >= 0 && fd >= 0);
	fflush(stdout);
	cr_assert_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);

	must_open(&o, "-", 10, 3);
	cr_expect(o.is_stdout);
	cr_expect_eq(o.max_bytes, 0);
	for (unsigned i = 0; i < 5; i++)
		put(&o, rec(i));
	cr_expect_eq(output_rotate(&o), -EOPNOTSUPP);
	cr_expect_eq(output_close(&o), 0);
	cr_expect_eq(o.rotations, 0);
	cr_expect_neq(fcntl(STDOUT_FILENO, F_GETFD), -1, "output_close closed stdout");

	cr_assert_eq(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	expect_recs(path, 0, 4);
	cr_expect_not(exists(rotated("stdout", 1)));
}

Test(output, a_fifo_without_a_reader_fails_at_open_instead_of_hanging)
{
	const char *path = in_dir("fifo");

	cr_assert_eq(mkfifo(path, 0600), 0);
	expect_open_fails(path, 0, 0, -ENXIO, "FIFO");
}

Test(output, a_fifo_is_written_to_but_never_rotated)
{
	const char *path = in_dir("fifo");
	struct vigil_output o;
	char got[64] = { 0 };
	int rd;

	cr_assert_eq(mkfifo(path, 0600), 0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(rd, 0);
	must_open(&o, path, 10, 3);
	cr_expect_not(o.is_file);
	cr_expect_eq(o.max_bytes, 0, "rotation stays on for a FIFO");
	put(&o, rec(1));
	put(&o, rec(2));
	cr_assert_eq(output_close(&o), 0);
	cr_expect_eq(read(rd, got, sizeof(got) - 1), 20);
	cr_expect_str_eq(got, "rec000001\nrec000002\n");
	close(rd);
	cr_expect_eq(count_entries(), 1, "a rotated file appeared next to the FIFO");
}

Test(output, every_record_lost_to_a_failed_write_is_counted)
{
	struct vigil_output o;

	if (access("/dev/full", W_OK))
		cr_skip_test("/dev/full is not available");
	must_open(&o, "/dev/full", 0, 0);
	put(&o, rec(1));
	put(&o, rec(2));
	put(&o, rec(3));
	cr_expect_eq(output_flush(&o), -ENOSPC);
	cr_expect_eq(o.write_errors, 3);
	cr_expect_eq(o.len, 0, "the failed records are still buffered");
	cr_expect_eq(output_close(&o), 0, "nothing left to write at close");
}

Test(output, writing_after_close_fails_and_is_counted)
{
	struct vigil_output o;

	must_open(&o, in_dir("events.jsonl"), 0, 0);
	cr_assert_eq(output_close(&o), 0);
	cr_expect_eq(output_write(&o, "x\n", 2), -EBADF);
	cr_expect_eq(o.write_errors, 1);
}
