/*
 * test_truststore.c - agent/truststore.c and agent/trust_cli.c: the text
 * format (round trip of hostile paths, every one-byte corruption caught,
 * each kind of malformed input named with its line), the store directory
 * (atomic save keeping the previous generation, falling back to the spare,
 * refusing when both are bad, locking), records made from real files
 * (hash vectors, symlinks, non-regular files, pseudo filesystems,
 * permission denied) and the `vigil trust` command line in-process.
 *
 * Files are made under a private temporary directory per test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "trust_cli.h"
#include "truststore.h"

#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static char tmp[64];
static struct trust_store st;
static char why[4096];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/vigil-ut-trust.XXXXXX");
	cr_assert_not_null(mkdtemp(tmp), "mkdtemp: %s", strerror(errno));
	chmod(tmp, 0755);	/* the permission test's unprivileged child walks in */
	memset(&st, 0, sizeof(st));
	why[0] = 0;
}

static void teardown(void)
{
	trust_store_free(&st);
	if (tmp[0])
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(trust_format, .init = setup, .fini = teardown);
TestSuite(trust_store, .init = setup, .fini = teardown);
TestSuite(trust_rec, .init = setup, .fini = teardown);
TestSuite(trust_cli, .init = setup, .fini = teardown);

/* printf into one of a few static buffers. */
static char *fmt(const char *f, ...)
{
	static char bufs[4][4096];
	static int next;
	char *buf = bufs[next++ % 4];
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, sizeof(bufs[0]), f, ap);
	va_end(ap);
	return buf;
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = getdelim(&buf, &cap, 0, f);
	fclose(f);
	cr_assert_geq(n, 0, "%s is empty", path);
	*len = (size_t)n;
	return buf;
}

static struct trust_rec mkrec(const char *path, const char *link, uint8_t seed)
{
	struct trust_rec r = { 0 };

	r.path = (char *)path;
	r.link_target = (char *)link;
	for (int i = 0; i < 32; i++)
		r.sha256[i] = (uint8_t)(seed * 31 + i);
	r.size = 1000u + seed;
	r.mode = S_IFREG | 0755;
	r.uid = 1000 + seed;
	r.gid = 4294967295u;
	r.dev = (259ull << 20) | 3;
	r.ino = 18446744073709551615ull - seed;
	r.ctime_ns = 1700000000123456789LL + seed;
	r.mtime_ns = -5;	/* before 1970: signed on purpose */
	r.added_ns = 1700000001000000000LL;
	snprintf(r.source, sizeof(r.source), "dpkg:pkg-%u", seed);
	return r;
}

/* Paths that would break a naive line format. */
static const char *const hostile[] = {
	"/usr/bin/plain",
	"/opt/with space/bin/tool",
	"/opt/new\nline",
	"/opt/100%/literal%20not-an-escape",
	"/opt/latin1-\xe9\xff\xfe-bytes",
	"/opt/tab\tcr\rdel\x7f" "esc\x1b",
	"/opt/utf8-caf\xc3\xa9",
};
#define N_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static void fill_hostile(struct trust_store *s)
{
	for (size_t i = 0; i < N_HOSTILE; i++) {
		struct trust_rec r = mkrec(hostile[i], NULL, (uint8_t)i);

		cr_assert_eq(trust_store_put(s, &r), 0);
	}
	{
		struct trust_rec l = mkrec("/usr/bin/link name", "/opt/with space/bin/tool", 1);

		cr_assert_eq(trust_store_put(s, &l), 0);
	}
	s->generation = 41;
}

static void expect_same_rec(const struct trust_rec *a, const struct trust_rec *b)
{
	cr_assert_str_eq(a->path, b->path);
	cr_assert_eq(!a->link_target, !b->link_target);
	if (a->link_target)
		cr_assert_str_eq(a->link_target, b->link_target);
	cr_assert_arr_eq(a->sha256, b->sha256, 32);
	cr_assert_eq(a->size, b->size);
	cr_assert_eq(a->mode, b->mode);
	cr_assert_eq(a->uid, b->uid);
	cr_assert_eq(a->gid, b->gid);
	cr_assert_eq(a->dev, b->dev);
	cr_assert_eq(a->ino, b->ino);
	cr_assert_eq(a->ctime_ns, b->ctime_ns);
	cr_assert_eq(a->mtime_ns, b->mtime_ns);
	cr_assert_eq(a->added_ns, b->added_ns);
	cr_assert_str_eq(a->source, b->source);
}

/* Replace the checksum line so hand-made damage gets past the checksum. */
static char *reseal(const char *text)
{
	const char *ck = strstr(text, "\nsha256 ");
	size_t body = ck ? (size_t)(ck - text) + 1 : strlen(text);
	uint8_t sum[32];
	unsigned len;
	char hex[65], *out;

	EVP_Digest(text, body, sum, &len, EVP_sha256(), NULL);
	trust_hex(sum, hex);
	out = malloc(body + 80);
	memcpy(out, text, body);
	sprintf(out + body, "sha256 %s\n", hex);
	return out;
}

static const char *const HEAD1 = "vigil-trust 1\ngeneration 7\n";
#define LINE_A SHA_ABC " 3 100755 0 0 8388609 42 1 2 3 add /bin/a -\n"
#define LINE_B SHA_ABC " 3 100755 0 0 8388609 43 1 2 3 add /bin/b -\n"

/* Parse text resealed; expect failure whose reason contains needle. */
static void expect_parse_error(const char *unsealed, const char *needle)
{
	char *text = reseal(unsealed);
	int err = trust_store_parse(&st, text, strlen(text), why, sizeof(why));

	cr_assert_eq(err, -EBADMSG, "parse returned %d for:\n%s", err, text);
	cr_assert(strstr(why, needle), "reason '%s' does not say '%s'", why, needle);
	cr_assert_eq(st.n, 0, "records survived a failed parse");
	free(text);
}

/* ---- escaping and the format ---------------------------------------------- */

Test(trust_format, escape_round_trips_every_byte)
{
	char all[256], *e, *u;

	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = 0;
	e = trust_path_escape(all);
	cr_assert_not_null(e);
	for (const unsigned char *p = (const unsigned char *)e; *p; p++)
		cr_assert(*p > 0x20 && *p != 0x7f, "escaped text holds byte 0x%02x", *p);
	cr_assert_not_null(strstr(e, "%20"));
	cr_assert_not_null(strstr(e, "%25"));
	cr_assert_not_null(strstr(e, "%0A"));
	cr_assert_not_null(strstr(e, "%7F"));
	u = trust_path_unescape(e);
	cr_assert_not_null(u);
	cr_assert_str_eq(u, all);
	free(e);
	free(u);
}

Test(trust_format, unescape_rejects_malformed_escapes)
{
	static const char *const bad[] = { "/a%", "/a%4", "/a%zz", "/a%00", "/a b", "/a\x7f" };
	char *u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_null(trust_path_unescape(bad[i]), "'%s' was accepted", bad[i]);
	u = trust_path_unescape("/x%41%2f");
	cr_assert_str_eq(u, "/xA/");
	free(u);
}

Test(trust_format, round_trip_keeps_every_field_of_hostile_paths)
{
	struct trust_store a = { 0 }, b = { 0 };
	char *t1, *t2;
	size_t l1, l2;

	fill_hostile(&a);
	cr_assert_eq(trust_store_format(&a, &t1, &l1), 0);
	/* One record per line: count + 3 header lines + checksum line. */
	{
		size_t lines = 0;

		for (size_t i = 0; i < l1; i++)
			lines += t1[i] == '\n';
		cr_assert_eq(lines, a.n + 4, "%zu lines for %zu records:\n%s", lines, a.n, t1);
	}
	cr_assert_eq(trust_store_parse(&b, t1, l1, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(b.n, a.n);
	cr_assert_eq(b.generation, 41);
	for (size_t i = 0; i < a.n; i++)
		expect_same_rec(&a.v[i], &b.v[i]);
	cr_assert_eq(trust_store_format(&b, &t2, &l2), 0);
	cr_assert_eq(l1, l2);
	cr_assert_arr_eq(t1, t2, l1, "formatting a parsed store changed the bytes");
	cr_assert_not_null(strstr(t1, "/opt/with%20space/bin/tool"));
	cr_assert_not_null(strstr(t1, "/opt/new%0Aline"));
	cr_assert_not_null(strstr(t1, "/opt/100%25/literal%2520not-an-escape"));
	cr_assert_not_null(strstr(t1, "/opt/latin1-\xe9\xff\xfe-bytes"));
	cr_assert_not_null(strstr(t1, " /usr/bin/link%20name /opt/with%20space/bin/tool\n"));
	cr_assert_eq(strncmp(t1, "vigil-trust 1\ngeneration 41\ncount 8\n", 36), 0, "%s", t1);
	free(t1);
	free(t2);
	trust_store_free(&a);
	trust_store_free(&b);
}

Test(trust_format, empty_store_round_trips)
{
	struct trust_store a = { 0 };
	char *t;
	size_t l;

	cr_assert_eq(trust_store_format(&a, &t, &l), 0);
	cr_assert_eq(strncmp(t, "vigil-trust 1\ngeneration 0\ncount 0\nsha256 ", 42), 0, "%s", t);
	cr_assert_eq(l, 42 + 64 + 1);
	cr_assert_eq(trust_store_parse(&st, t, l, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(st.n, 0);
	free(t);
}

/* Every single-byte change anywhere in a store is refused. */
Test(trust_format, any_flipped_byte_is_detected)
{
	struct trust_store a = { 0 };
	static const unsigned char flips[] = { 0x01, 0x20, 0x80 };
	char *t;
	size_t l;

	fill_hostile(&a);
	cr_assert_eq(trust_store_format(&a, &t, &l), 0);
	for (size_t f = 0; f < sizeof(flips); f++) {
		for (size_t i = 0; i < l; i++) {
			char save = t[i];
			int err;

			t[i] = (char)(t[i] ^ flips[f]);
			err = trust_store_parse(&st, t, l, why, sizeof(why));
			cr_assert_neq(err, 0, "byte %zu ^ 0x%02x was not detected", i, flips[f]);
			cr_assert_eq(st.n, 0);
			t[i] = save;
		}
	}
	/* Dropping or adding a byte too. */
	cr_assert_neq(trust_store_parse(&st, t, l - 1, why, sizeof(why)), 0);
	cr_assert_neq(trust_store_parse(&st, t + 1, l - 1, why, sizeof(why)), 0);
	cr_assert_eq(trust_store_parse(&st, t, l, why, sizeof(why)), 0, "%s", why);
	free(t);
	trust_store_free(&a);
}

Test(trust_format, checksum_mismatch_says_so)
{
	struct trust_store a = { 0 };
	char *t, *p;
	size_t l;

	fill_hostile(&a);
	cr_assert_eq(trust_store_format(&a, &t, &l), 0);
	p = strstr(t, " 1000 ");
	cr_assert_not_null(p);
	p[1] = '2';	/* a size, still well-formed */
	cr_assert_eq(trust_store_parse(&st, t, l, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "checksum mismatch"), "%s", why);
	free(t);
	trust_store_free(&a);
}

Test(trust_format, another_version_is_named)
{
	const char *t = "vigil-trust 2\nwhatever comes in version 2\n";

	cr_assert_eq(trust_store_parse(&st, t, strlen(t), why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "version 2"), "%s", why);
	cr_assert(strstr(why, "reads version 1"), "%s", why);
	t = "vigil-trust 1x\n";
	cr_assert_eq(trust_store_parse(&st, t, strlen(t), why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "line 1: malformed format version"), "%s", why);
}

Test(trust_format, foreign_files_are_not_stores)
{
	const char *t = "#!/bin/sh\necho hello\n";

	cr_assert_eq(trust_store_parse(&st, t, strlen(t), why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "not a vigil trust store"), "%s", why);
	cr_assert_eq(trust_store_parse(&st, "", 0, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "empty"), "%s", why);
}

Test(trust_format, malformed_input_names_the_line)
{
	expect_parse_error(fmt("%scount 2\n" LINE_A LINE_A, HEAD1),
			   "line 5: duplicate path (also on line 4)");
	expect_parse_error(fmt("%scount 3\n" LINE_A LINE_B, HEAD1), "count says 3 records, but 2 follow");
	expect_parse_error(fmt("%scount 1\n" LINE_A LINE_B, HEAD1), "count says 1 records, but 2 follow");
	expect_parse_error(fmt("%scount 2\n" LINE_A
			       SHA_ABC " 3x 100755 0 0 8388609 43 1 2 3 add /bin/b -\n", HEAD1),
			   "line 5: bad size '3x'");
	expect_parse_error(fmt("%scount 1\n"
			       SHA_ABC " 3 40755 0 0 8388609 43 1 2 3 add /bin/b -\n", HEAD1),
			   "line 4: bad mode");
	expect_parse_error(fmt("%scount 1\n"
			       SHA_ABC " 3 100755 4294967296 0 8388609 43 1 2 3 add /bin/b -\n", HEAD1),
			   "line 4: bad uid");
	expect_parse_error(fmt("%scount 1\n"
			       "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
			       " 3 100755 0 0 8388609 43 1 2 3 add /bin/b -\n", HEAD1),
			   "line 4: bad sha256");
	expect_parse_error(fmt("%scount 1\n"
			       SHA_ABC " 3 100755 0 0 8388609 43 1 2 3 add bin/b -\n", HEAD1),
			   "line 4: bad path");
	expect_parse_error(fmt("%scount 1\n"
			       SHA_ABC " 3 100755 0 0 8388609 43 1 2 3 add /bin/%%zz -\n", HEAD1),
			   "line 4: bad path");
	expect_parse_error(fmt("%scount 1\n"
			       SHA_ABC " 3 100755 0 0 8388609 43 1 2 3 add /bin/b rel\n", HEAD1),
			   "line 4: bad link target");
	expect_parse_error(fmt("%scount 1\n"
			       SHA_ABC " 3 100755 0 0 8388609 43 1 2 3 add /bin/b\n", HEAD1),
			   "line 4: 12 fields, expected 13");
	expect_parse_error(fmt("%scount 1\n"
			       SHA_ABC " 3 100755 0 0 8388609 43 1 2 3 add /bin/b - x\n", HEAD1),
			   "line 4: more than 13 fields");
	expect_parse_error(fmt("%scount 1\n"
			       SHA_ABC " 3 100755 0 0 8388609 43 1  3 add /bin/b -\n", HEAD1),
			   "line 4: empty mtime_ns field");
	expect_parse_error(fmt("%scount 1\n"
			       SHA_ABC " 3 100755 0 0 8388609 43 1 2 3 "
			       "a-source-label-that-is-far-too-long /bin/b -\n", HEAD1),
			   "line 4: bad source");
	expect_parse_error("vigil-trust 1\ngen 7\ncount 0\n", "line 2: expected 'generation N'");
	expect_parse_error("vigil-trust 1\ngeneration 7\ncount -1\n", "line 3: expected 'count N'");
}

Test(trust_format, trailing_and_truncated_data_are_refused)
{
	char *good = reseal(fmt("%scount 1\n" LINE_A, HEAD1)), *bad;
	size_t l = strlen(good);

	cr_assert_eq(trust_store_parse(&st, good, l, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(st.n, 1);
	cr_assert_str_eq(st.v[0].path, "/bin/a");
	cr_assert_eq(st.generation, 7);

	bad = fmt("%sgarbage\n", good);
	cr_assert_eq(trust_store_parse(&st, bad, strlen(bad), why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "line 6: data after the checksum line"), "%s", why);
	cr_assert_eq(trust_store_parse(&st, good, l - 1, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "checksum line is truncated"), "%s", why);
	cr_assert_eq(trust_store_parse(&st, good, l - 40, why, sizeof(why)), -EBADMSG);
	cr_assert_eq(trust_store_parse(&st, good, strlen(HEAD1) + 4, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "no checksum line (truncated)"), "%s", why);
	free(good);
}

/* The example in docs/TRUST.md is a real store: it parses, and formats back to itself. */
Test(trust_format, the_documented_example_is_a_valid_store)
{
	const char *root = getenv("VIGIL_SRCDIR");
	char path[4096], *doc, *start, *end, *t;
	size_t len, l;

	snprintf(path, sizeof(path), "%s%sdocs/TRUST.md", root ? root : "", root ? "/" : "");
	doc = read_text(path, &len);
	start = strstr(doc, "### The format, byte by byte");
	cr_assert_not_null(start, "%s has no \"### The format, byte by byte\" section", path);
	start = strstr(start, "```\n");
	cr_assert_not_null(start, "no example block in the format section of %s", path);
	start += 4;
	end = strstr(start, "```");
	cr_assert_not_null(end);
	cr_assert_eq(trust_store_parse(&st, start, (size_t)(end - start), why, sizeof(why)), 0,
		     "the example in %s does not parse: %s", path, why);
	cr_assert_eq(st.n, 2);
	cr_assert_eq(st.generation, 12);
	cr_assert_str_eq(st.v[1].path, "/usr/local/bin/tool link");
	cr_assert_str_eq(st.v[1].link_target, "/usr/local/bin/tool");
	cr_assert_eq(st.v[0].dev, trust_kdev(makedev(254, 0)), "the doc says device 254:0");
	cr_assert_eq(trust_store_format(&st, &t, &l), 0);
	cr_assert(l == (size_t)(end - start) && !memcmp(t, start, l),
		  "the example is not byte-for-byte what vigil writes");
	free(t);
	free(doc);
}

/* ---- the in-memory store -------------------------------------------------- */

Test(trust_store, put_keeps_paths_sorted_and_unique)
{
	static const char *const paths[] = { "/m", "/a", "/z", "/b", "/a" };
	struct trust_rec r;

	for (size_t i = 0; i < 5; i++) {
		r = mkrec(paths[i], NULL, (uint8_t)i);
		cr_assert_eq(trust_store_put(&st, &r), 0);
	}
	cr_assert_eq(st.n, 4);
	for (size_t i = 1; i < st.n; i++)
		cr_assert_lt(strcmp(st.v[i - 1].path, st.v[i].path), 0);
	cr_assert_eq(trust_store_find(&st, "/a")->size, 1004, "the later /a did not replace");
	cr_assert_null(trust_store_find(&st, "/nope"));
	cr_assert(trust_store_del(&st, "/m"));
	cr_assert_not(trust_store_del(&st, "/m"));
	cr_assert_eq(st.n, 3);
	r = mkrec("relative", NULL, 0);
	cr_assert_eq(trust_store_put(&st, &r), -EINVAL);
	r = mkrec("/x", NULL, 0);
	r.source[0] = 0;
	cr_assert_eq(trust_store_put(&st, &r), -EINVAL);
}

/* ---- the store directory -------------------------------------------------- */

static char *sdir(void)
{
	return fmt("%s/var/lib/vigil/trust", tmp);
}

static uint64_t generation_of(const char *file)
{
	struct trust_store s = { 0 };
	size_t len;
	char *text = read_text(file, &len);
	uint64_t g;

	cr_assert_eq(trust_store_parse(&s, text, len, why, sizeof(why)), 0, "%s: %s", file, why);
	g = s.generation;
	free(text);
	trust_store_free(&s);
	return g;
}

static void save_one(const char *path)
{
	struct trust_rec r = mkrec(path, NULL, 1);

	cr_assert_eq(trust_store_put(&st, &r), 0);
	cr_assert_eq(trust_store_save(&st, sdir(), why, sizeof(why)), 0, "%s", why);
}

Test(trust_store, missing_directory_is_an_empty_store)
{
	st.generation = 99;
	cr_assert_eq(trust_store_load(&st, sdir(), why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(st.n, 0);
	cr_assert_eq(st.generation, 0);
	cr_assert_not(st.from_spare);
	cr_assert_eq(access(sdir(), F_OK), -1, "loading created the directory");
}

Test(trust_store, save_is_atomic_and_keeps_the_previous_generation)
{
	struct stat sb;
	char *dir = strdup(sdir());

	save_one("/one");
	cr_assert_eq(st.generation, 1);
	cr_assert_eq(stat(dir, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0700, "store dir mode %o", sb.st_mode & 07777);
	cr_assert_eq(stat(fmt("%s/store", dir), &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0600, "store mode %o", sb.st_mode & 07777);
	cr_assert_eq(access(fmt("%s/store.prev", dir), F_OK), -1, "a first save has no spare");

	save_one("/two");
	cr_assert_eq(st.generation, 2);
	cr_assert_eq(generation_of(fmt("%s/store", dir)), 2);
	cr_assert_eq(generation_of(fmt("%s/store.prev", dir)), 1);
	cr_assert_eq(stat(fmt("%s/store.prev", dir), &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0600);

	save_one("/three");
	cr_assert_eq(generation_of(fmt("%s/store", dir)), 3);
	cr_assert_eq(generation_of(fmt("%s/store.prev", dir)), 2);
	cr_assert_eq(access(fmt("%s/store.tmp", dir), F_OK), -1, "store.tmp left behind");
	cr_assert_eq(access(fmt("%s/store.prev.tmp", dir), F_OK), -1, "store.prev.tmp left behind");

	trust_store_free(&st);
	cr_assert_eq(trust_store_load(&st, dir, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(st.generation, 3);
	cr_assert_eq(st.n, 3);
	cr_assert_not(st.from_spare);
	free(dir);
}

static void damage(const char *file)
{
	int fd = open(file, O_RDWR);
	char c;

	cr_assert_geq(fd, 0, "%s: %s", file, strerror(errno));
	cr_assert_eq(pread(fd, &c, 1, 50), 1);
	c ^= 0x04;
	cr_assert_eq(pwrite(fd, &c, 1, 50), 1);
	close(fd);
}

Test(trust_store, damaged_primary_loads_the_spare_and_save_keeps_it)
{
	char *dir = strdup(sdir());
	size_t l1, l2;
	char *before, *after;

	save_one("/one");
	save_one("/two");
	damage(fmt("%s/store", dir));
	trust_store_free(&st);
	cr_assert_eq(trust_store_load(&st, dir, why, sizeof(why)), 0, "%s", why);
	cr_assert(st.from_spare);
	cr_assert(strstr(st.spare_reason, "checksum mismatch"), "reason: %s", st.spare_reason);
	cr_assert_eq(st.generation, 1);
	cr_assert_eq(st.n, 1);
	cr_assert_not_null(trust_store_find(&st, "/one"));

	/* The next save rewrites the primary from the spare, and the spare stays. */
	before = read_text(fmt("%s/store.prev", dir), &l1);
	save_one("/three");
	after = read_text(fmt("%s/store.prev", dir), &l2);
	cr_assert_eq(l1, l2);
	cr_assert_arr_eq(before, after, l1, "the good spare was replaced by the damaged primary");
	cr_assert_not(st.from_spare);
	cr_assert_eq(generation_of(fmt("%s/store", dir)), 2);
	trust_store_free(&st);
	cr_assert_eq(trust_store_load(&st, dir, why, sizeof(why)), 0, "%s", why);
	cr_assert_not(st.from_spare);
	cr_assert_not_null(trust_store_find(&st, "/three"));
	cr_assert_null(trust_store_find(&st, "/two"), "/two was only in the damaged generation");
	free(before);
	free(after);
	free(dir);
}

Test(trust_store, missing_primary_with_a_spare_loads_the_spare)
{
	char *dir = strdup(sdir());

	save_one("/one");
	save_one("/two");
	cr_assert_eq(unlink(fmt("%s/store", dir)), 0);
	trust_store_free(&st);
	cr_assert_eq(trust_store_load(&st, dir, why, sizeof(why)), 0, "%s", why);
	cr_assert(st.from_spare);
	cr_assert(strstr(st.spare_reason, "missing"), "%s", st.spare_reason);
	cr_assert_eq(st.generation, 1);
	free(dir);
}

Test(trust_store, both_generations_bad_refuses_and_loads_nothing)
{
	char *dir = strdup(sdir());

	save_one("/one");
	save_one("/two");
	damage(fmt("%s/store", dir));
	write_file(fmt("%s/store.prev", dir), "vigil-trust 9\n", 14);
	trust_store_free(&st);
	cr_assert_eq(trust_store_load(&st, dir, why, sizeof(why)), -EBADMSG);
	cr_assert_eq(st.n, 0, "records were loaded from a store that failed");
	cr_assert_not(st.from_spare);
	cr_assert(strstr(why, fmt("%s/store: checksum mismatch", dir)), "%s", why);
	cr_assert(strstr(why, fmt("%s/store.prev: format version 9", dir)), "%s", why);

	/* Damaged primary and no spare at all: bad too, not "empty". */
	cr_assert_eq(unlink(fmt("%s/store.prev", dir)), 0);
	cr_assert_eq(trust_store_load(&st, dir, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "store.prev: missing"), "%s", why);
	free(dir);
}

Test(trust_store, lock_excludes_a_second_writer)
{
	char *dir = strdup(sdir());
	int fd = trust_store_lock(dir, why, sizeof(why)), status;
	pid_t pid;

	cr_assert_geq(fd, 0, "%s", why);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int f = open(fmt("%s/lock", dir), O_RDWR);

		_exit(f >= 0 && flock(f, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a second lock was granted");
	close(fd);
	fd = trust_store_lock(dir, why, sizeof(why));
	cr_assert_geq(fd, 0, "the lock was not released: %s", why);
	close(fd);
	free(dir);
}

/* ---- records from files --------------------------------------------------- */

static char hexbuf[65];

static const char *hex(const uint8_t sha[32])
{
	trust_hex(sha, hexbuf);
	return hexbuf;
}

Test(trust_rec, sha256_known_vectors)
{
	char *p = fmt("%s/million", tmp);
	char *big = malloc(1000000);
	uint8_t sha[32];
	uint64_t n = 0;
	int fd;

	memset(big, 'a', 1000000);
	write_file(p, big, 1000000);	/* several reads of the 256 KiB buffer */
	fd = open(p, O_RDONLY);
	lseek(fd, 12345, SEEK_SET);	/* from offset 0 whatever the position */
	cr_assert_eq(trust_sha256_fd(fd, sha, &n), 0);
	cr_assert_str_eq(hex(sha), SHA_MILLION_A);
	cr_assert_eq(n, 1000000);
	close(fd);
	write_file(p, "", 0);
	fd = open(p, O_RDONLY);
	cr_assert_eq(trust_sha256_fd(fd, sha, &n), 0);
	cr_assert_str_eq(hex(sha), SHA_EMPTY);
	cr_assert_eq(n, 0);
	close(fd);
	free(big);
}

Test(trust_rec, kdev_is_the_kernel_encoding)
{
	cr_assert_eq(trust_kdev(makedev(8, 1)), (8ull << 20) | 1);
	cr_assert_eq(trust_kdev(makedev(259, 0x12345)), (259ull << 20) | 0x12345);
	cr_assert_eq(trust_kdev(makedev(0, 42)), 42);
}

Test(trust_rec, regular_file)
{
	struct trust_rec r, l;
	struct stat sb;
	struct timespec now;
	char *p = fmt("%s/abc", tmp);

	write_file(p, "abc", 3);
	chmod(p, 0750);
	cr_assert_eq(stat(p, &sb), 0);
	clock_gettime(CLOCK_REALTIME, &now);
	cr_assert_eq(trust_rec_from_file(fmt("/%s//./abc/", tmp), "add", &r, &l, why, sizeof(why)),
		     0, "%s", why);
	cr_assert_str_eq(r.path, p, "the path is not normalised");
	cr_assert_null(r.link_target);
	cr_assert_null(l.path, "a regular file got a link record");
	cr_assert_str_eq(hex(r.sha256), SHA_ABC);
	cr_assert_eq(r.size, 3);
	cr_assert_eq(r.mode, S_IFREG | 0750);
	cr_assert_eq(r.uid, sb.st_uid);
	cr_assert_eq(r.gid, sb.st_gid);
	cr_assert_eq(r.dev, trust_kdev(sb.st_dev));
	cr_assert_eq(r.ino, sb.st_ino);
	cr_assert_eq(r.ctime_ns, sb.st_ctim.tv_sec * 1000000000LL + sb.st_ctim.tv_nsec);
	cr_assert_eq(r.mtime_ns, sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec);
	cr_assert_geq(r.added_ns, now.tv_sec * 1000000000LL + now.tv_nsec);
	cr_assert_str_eq(r.source, "add");
	trust_rec_free(&r);

	/* ".." is resolved against the real directory */
	mkdir(fmt("%s/sub", tmp), 0755);
	cr_assert_eq(trust_rec_from_file(fmt("%s/sub/../abc", tmp), "x", &r, NULL, why, sizeof(why)),
		     0, "%s", why);
	cr_assert_str_eq(r.path, p);
	trust_rec_free(&r);

	/* a long source is cut to fit, not refused */
	cr_assert_eq(trust_rec_from_file(p, "dpkg:a-package-with-a-really-long-name", &r, NULL,
					 why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(strlen(r.source), TRUST_SOURCE_MAX);
	trust_rec_free(&r);
}

Test(trust_rec, symlink_gives_two_records)
{
	struct trust_rec r, l;
	char *target = strdup(fmt("%s/real bin", tmp)), *mid = strdup(fmt("%s/mid", tmp));
	char *link = strdup(fmt("%s/link", tmp));

	write_file(target, "abc", 3);
	cr_assert_eq(symlink("real bin", mid), 0);
	cr_assert_eq(symlink(mid, link), 0);	/* a chain: the end is what counts */
	cr_assert_eq(trust_rec_from_file(link, "add", &r, &l, why, sizeof(why)), 0, "%s", why);
	cr_assert_str_eq(r.path, target);
	cr_assert_null(r.link_target);
	cr_assert_str_eq(hex(r.sha256), SHA_ABC);
	cr_assert_not_null(l.path);
	cr_assert_str_eq(l.path, link);
	cr_assert_str_eq(l.link_target, target);
	cr_assert_arr_eq(l.sha256, r.sha256, 32);
	cr_assert_eq(l.ino, r.ino);
	cr_assert_eq(l.mode, r.mode);
	trust_rec_free(&r);
	trust_rec_free(&l);
	/* Without link_out: the target only. */
	cr_assert_eq(trust_rec_from_file(link, "add", &r, NULL, why, sizeof(why)), 0, "%s", why);
	cr_assert_str_eq(r.path, target);
	trust_rec_free(&r);
	free(target);
	free(mid);
	free(link);
}

static void expect_rec_error(const char *path, int want, const char *needle)
{
	struct trust_rec r, l;
	int err = trust_rec_from_file(path, "add", &r, &l, why, sizeof(why));

	cr_assert_eq(err, want, "%s: got %d (%s), want %d", path, err, why, want);
	cr_assert(strstr(why, needle), "%s: reason '%s' does not say '%s'", path, why, needle);
	cr_assert_null(r.path);
	cr_assert_null(l.path);
}

Test(trust_rec, what_cannot_be_trusted_is_refused)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	mkdir(fmt("%s/dir", tmp), 0755);
	expect_rec_error(fmt("%s/dir", tmp), -EINVAL, "a directory, not a regular file");
	cr_assert_eq(mkfifo(fmt("%s/fifo", tmp), 0644), 0);
	expect_rec_error(fmt("%s/fifo", tmp), -EINVAL, "a fifo");	/* and does not hang */
	expect_rec_error("/dev/null", -EINVAL, "a character device");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", tmp);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	expect_rec_error(sa.sun_path, -EINVAL, "a socket");
	close(s);
	cr_assert_eq(symlink("dir", fmt("%s/to-dir", tmp)), 0);
	expect_rec_error(fmt("%s/to-dir", tmp), -EINVAL, "symlink to a directory");

	expect_rec_error(fmt("%s/missing", tmp), -ENOENT, "no such file");
	expect_rec_error(fmt("%s/missing/x", tmp), -ENOENT, "no such file");
	write_file(fmt("%s/file", tmp), "x", 1);
	expect_rec_error(fmt("%s/file/x", tmp), -ENOENT, "not a directory");
	cr_assert_eq(symlink("nowhere", fmt("%s/dangling", tmp)), 0);
	expect_rec_error(fmt("%s/dangling", tmp), -ENOENT, "symlink to a missing file");
	cr_assert_eq(symlink("loop2", fmt("%s/loop1", tmp)), 0);
	cr_assert_eq(symlink("loop1", fmt("%s/loop2", tmp)), 0);
	expect_rec_error(fmt("%s/loop1", tmp), -ELOOP, "symlink loop");
	expect_rec_error("relative/path", -EINVAL, "not an absolute path");
}

Test(trust_rec, pseudo_filesystems_are_refused)
{
	/* Regular files by stat, but generated: their inode numbers mean nothing. */
	expect_rec_error("/proc/self/status", -EXDEV, "proc filesystem");
	expect_rec_error("/proc/self/mem", -EXDEV, "proc filesystem");
	if (access("/sys/kernel/uevent_seqnum", R_OK) == 0)
		expect_rec_error("/sys/kernel/uevent_seqnum", -EXDEV, "sysfs filesystem");
	else
		cr_log_warn("/sys/kernel/uevent_seqnum is not readable here: sysfs case not run");
}

/*
 * Permission denied, for real: root bypasses file permissions, so as root
 * the check runs in a child that has given up root (uid/gid nobody); as
 * any other user it runs as that user.
 */
static int errno_as_nobody(const char *path)
{
	int pipefd[2], status, got = 0;
	pid_t pid;

	if (geteuid() != 0) {
		struct trust_rec r;
		int err = trust_rec_from_file(path, "add", &r, NULL, why, sizeof(why));

		trust_rec_free(&r);
		return err;
	}
	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct trust_rec r;
		int err;

		close(pipefd[0]);
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(3);
		err = trust_rec_from_file(path, "add", &r, NULL, why, sizeof(why));
		if (write(pipefd[1], &err, sizeof(err)) != sizeof(err))
			_exit(4);
		_exit(0);
	}
	close(pipefd[1]);
	cr_assert_eq(read(pipefd[0], &got, sizeof(got)), (ssize_t)sizeof(got),
		     "the unprivileged child failed");
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return got;
}

Test(trust_rec, permission_denied_is_eacces)
{
	char *locked = strdup(fmt("%s/locked", tmp)), *inside = strdup(fmt("%s/locked/f", tmp));
	char *unreadable = strdup(fmt("%s/unreadable", tmp));

	cr_assert_eq(mkdir(locked, 0700), 0);
	write_file(inside, "abc", 3);
	write_file(unreadable, "abc", 3);
	chmod(unreadable, 0);
	if (geteuid() != 0)
		chmod(locked, 0);
	cr_assert_eq(errno_as_nobody(inside), -EACCES, "a file in a directory it cannot search");
	cr_assert_eq(errno_as_nobody(unreadable), -EACCES, "a file it cannot read");
	chmod(locked, 0700);
	free(locked);
	free(inside);
	free(unreadable);
}

/* ---- `vigil trust` in-process --------------------------------------------- */

static char *out_buf, *err_buf;

static int cli(const char *first, ...)
{
	char *argv[32];
	int argc = 0, rc;
	size_t ol = 0, el = 0;
	FILE *out, *err;
	va_list ap;

	argv[argc++] = "trust";
	argv[argc++] = "--dir";
	argv[argc++] = sdir();
	argv[argc++] = "--bpffs";
	argv[argc++] = strdup(fmt("%s/no-bpffs", tmp));
	argv[2] = strdup(argv[2]);
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	free(out_buf);
	free(err_buf);
	out = open_memstream(&out_buf, &ol);
	err = open_memstream(&err_buf, &el);
	rc = trust_cli_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
	free(argv[2]);
	free(argv[4]);
	return rc;
}

Test(trust_cli, usage_errors_exit_2)
{
	cr_assert_eq(cli(NULL), 2);
	cr_assert(strstr(err_buf, "no command given"), "%s", err_buf);
	cr_assert(strstr(err_buf, "Usage: vigil trust"), "%s", err_buf);
	cr_assert_eq(cli("frobnicate", NULL), 2);
	cr_assert(strstr(err_buf, "unknown command 'frobnicate'"), "%s", err_buf);
	cr_assert_eq(cli("add", NULL), 2);
	cr_assert_eq(cli("add", "--json", "/bin/sh", NULL), 2);
	cr_assert(strstr(err_buf, "--json applies to list and verify only"), "%s", err_buf);
	cr_assert_eq(cli("list", "--mode", "0755", NULL), 2);
	cr_assert_eq(cli("install", "a", NULL), 2);
	cr_assert_eq(cli("install", "a", "b", "--mode", "999", NULL), 2);
	cr_assert(strstr(err_buf, "--mode wants octal"), "%s", err_buf);
	cr_assert_eq(cli("import", "rpm", NULL), 2);
	cr_assert_eq(cli("list", "--bogus", NULL), 2);
	cr_assert(strstr(err_buf, "unknown option '--bogus'"), "%s", err_buf);
	cr_assert_eq(cli("verify", "extra", NULL), 2);
	cr_assert_eq(access(sdir(), F_OK), -1, "a usage error touched the store");
}

Test(trust_cli, help_has_examples)
{
	cr_assert_eq(cli("--help", NULL), 0);
	cr_assert(strstr(out_buf, "Examples:"));
	cr_assert(strstr(out_buf, "vigil trust install"));
	cr_assert_eq(err_buf[0], 0);
	cr_assert_eq(cli("add", "-h", NULL), 0);
	cr_assert(strstr(out_buf, "Usage: vigil trust"));
}

Test(trust_cli, add_list_verify_remove)
{
	char *a = strdup(fmt("%s/a b", tmp)), *n = strdup(fmt("%s/n\nl", tmp));

	write_file(a, "abc", 3);
	write_file(n, "abc", 3);
	cr_assert_eq(cli("add", a, n, NULL), 0, "%s", err_buf);
	cr_assert(strstr(out_buf, fmt("trusted %s/n\\nl", tmp)), "%s", out_buf);
	cr_assert_eq(cli("list", NULL), 0, "%s", err_buf);
	cr_assert(strstr(out_buf, fmt(SHA_ABC "          3 add %s/a b\n", tmp)), "%s", out_buf);
	cr_assert(strstr(out_buf, fmt("%s/n\\nl\n", tmp)), "a newline in a path was printed raw:\n%s",
		  out_buf);
	cr_assert_eq(cli("verify", NULL), 0, "%s%s", out_buf, err_buf);
	cr_assert(strstr(out_buf, "verify: 2 records: 2 ok, 0 tainted, 0 missing"), "%s", out_buf);
	chmod(a, 0600);
	cr_assert_eq(cli("verify", NULL), 1);
	cr_assert(strstr(out_buf, fmt("tainted %s/a b: mode, ctime\n", tmp)), "%s", out_buf);
	cr_assert_eq(cli("remove", a, fmt("%s/never-added", tmp), NULL), 1);
	cr_assert(strstr(err_buf, "never-added: not in the trust store"), "%s", err_buf);
	cr_assert_eq(cli("remove", a, NULL), 0, "%s", err_buf);
	cr_assert_eq(cli("verify", NULL), 0, "%s", out_buf);
	free(a);
	free(n);
}

Test(trust_cli, changes_are_refused_when_both_generations_are_bad)
{
	char *a = strdup(fmt("%s/a", tmp)), *dir = strdup(sdir()), *before, *after;
	size_t l1, l2;

	write_file(a, "abc", 3);
	cr_assert_eq(cli("add", a, NULL), 0, "%s", err_buf);
	cr_assert_eq(cli("add", a, NULL), 0, "%s", err_buf);
	damage(fmt("%s/store", dir));
	damage(fmt("%s/store.prev", dir));
	before = read_text(fmt("%s/store", dir), &l1);
	cr_assert_eq(cli("add", a, NULL), 1);
	cr_assert(strstr(err_buf, "both generations are unusable"), "%s", err_buf);
	cr_assert(strstr(err_buf, "move"), "no recovery hint: %s", err_buf);
	after = read_text(fmt("%s/store", dir), &l2);
	cr_assert(l1 == l2 && !memcmp(before, after, l1), "a refused change rewrote the store");
	cr_assert_eq(cli("list", NULL), 1);
	cr_assert_eq(cli("verify", NULL), 1);
	free(before);
	free(after);
	free(a);
	free(dir);
}
