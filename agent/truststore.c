/*
 * truststore.c - the trust store on disk and the records in it (see
 * truststore.h; docs/TRUST.md describes the format byte by byte).
 *
 * Nothing here prints: every failure returns -errno and leaves one line in
 * the caller's `why` buffer, naming the file or path concerned.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "truststore.h"

#define MAGIC "vigil-trust "
#define CKSUM "sha256 "
#define N_FIELDS 13
/* Large reads: hashing a big binary is then bound by the disk, not syscalls. */
#define HASH_BUF (256u * 1024)

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

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

uint64_t trust_kdev(dev_t st_dev)
{
	return ((uint64_t)major(st_dev) << 20) | minor(st_dev);
}

void trust_hex(const uint8_t sha[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[sha[i] >> 4];
		out[2 * i + 1] = hex[sha[i] & 15];
	}
	out[64] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- escaping ------------------------------------------------------- */

static bool must_escape(unsigned char c)
{
	return c <= 0x20 || c == '%' || c == 0x7f;
}

char *trust_path_escape(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 1;
	char *out, *o;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		n += must_escape(*p) ? 3 : 1;
	out = o = malloc(n);
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (must_escape(*p)) {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else {
			*o++ = (char)*p;
		}
	}
	*o = 0;
	return out;
}

char *trust_path_unescape(const char *esc)
{
	char *out = malloc(strlen(esc) + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)esc; *p; p++) {
		if (*p == '%') {
			int hi = hexval((char)p[1]), lo = hi < 0 ? -1 : hexval((char)p[2]);

			/* %00 would cut the string short: never valid. */
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				goto bad;
			*o++ = (char)(hi << 4 | lo);
			p += 2;
		} else if (must_escape(*p)) {
			goto bad;	/* a byte that should have been escaped */
		} else {
			*o++ = (char)*p;
		}
	}
	*o = 0;
	return out;
bad:
	free(out);
	return NULL;
}

/* ---- hashing -------------------------------------------------------- */

int trust_digest_fd(int fd, const EVP_MD *md, uint8_t *out, unsigned outlen,
		    uint64_t *bytes)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(HASH_BUF);
	uint64_t off = 0;
	unsigned len = 0;
	int err = 0;

	if (!ctx || !buf) {
		err = -ENOMEM;
		goto out;
	}
	if (!EVP_DigestInit_ex(ctx, md, NULL)) {
		err = -EIO;
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t r = pread(fd, buf, HASH_BUF, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)r)) {
			err = -EIO;
			goto out;
		}
		off += (uint64_t)r;
	}
	if (!EVP_DigestFinal_ex(ctx, out, &len) || len != outlen)
		err = -EIO;
	else if (bytes)
		*bytes = off;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return err;
}

int trust_sha256_fd(int fd, uint8_t out[32], uint64_t *bytes)
{
	return trust_digest_fd(fd, EVP_sha256(), out, 32, bytes);
}

static int sha256_buf(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 0;

	if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) || len != 32)
		return -EIO;
	return 0;
}

/* ---- records and the in-memory store -------------------------------- */

void trust_rec_free(struct trust_rec *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->link_target);
	r->path = r->link_target = NULL;
}

void trust_store_free(struct trust_store *s)
{
	for (size_t i = 0; i < s->n; i++)
		trust_rec_free(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Index of path in s, or where it would go (*found false). */
static size_t store_lower(const struct trust_store *s, const char *path, bool *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->v[mid].path, path);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

struct trust_rec *trust_store_find(const struct trust_store *s, const char *path)
{
	bool found;
	size_t i = store_lower(s, path, &found);

	return found ? &s->v[i] : NULL;
}

static bool rec_valid(const struct trust_rec *r)
{
	return r->path && r->path[0] == '/' &&
	       (!r->link_target || r->link_target[0] == '/') &&
	       r->source[0] && memchr(r->source, 0, sizeof(r->source));
}

int trust_store_put(struct trust_store *s, const struct trust_rec *r)
{
	struct trust_rec c = *r;
	bool found;
	size_t i;

	if (!rec_valid(r))
		return -EINVAL;
	c.path = strdup(r->path);
	c.link_target = r->link_target ? strdup(r->link_target) : NULL;
	if (!c.path || (r->link_target && !c.link_target)) {
		trust_rec_free(&c);
		return -ENOMEM;
	}
	i = store_lower(s, c.path, &found);
	if (found) {
		trust_rec_free(&s->v[i]);
		s->v[i] = c;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct trust_rec *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			trust_rec_free(&c);
			return -ENOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
	s->v[i] = c;
	s->n++;
	return 0;
}

bool trust_store_del(struct trust_store *s, const char *path)
{
	bool found;
	size_t i = store_lower(s, path, &found);

	if (!found)
		return false;
	trust_rec_free(&s->v[i]);
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
	s->n--;
	return true;
}

/* ---- the text format ------------------------------------------------ */

int trust_store_format(const struct trust_store *s, char **out, size_t *outlen)
{
	char *buf = NULL, hex[65];
	size_t len = 0;
	uint8_t sum[32];
	FILE *f;
	int err = 0;

	*out = NULL;
	*outlen = 0;
	f = open_memstream(&buf, &len);
	if (!f)
		return -errno;
	fprintf(f, MAGIC "%d\ngeneration %" PRIu64 "\ncount %zu\n", TRUST_FORMAT_VERSION,
		s->generation, s->n);
	for (size_t i = 0; i < s->n && !err; i++) {
		const struct trust_rec *r = &s->v[i];
		char *path, *link = NULL, *src;

		if (!rec_valid(r)) {
			err = -EINVAL;
			break;
		}
		path = trust_path_escape(r->path);
		src = trust_path_escape(r->source);
		if (r->link_target)
			link = trust_path_escape(r->link_target);
		if (!path || !src || (r->link_target && !link)) {
			err = -ENOMEM;
		} else {
			trust_hex(r->sha256, hex);
			fprintf(f, "%s %" PRIu64 " %o %" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64
				" %" PRId64 " %" PRId64 " %" PRId64 " %s %s %s\n",
				hex, r->size, (unsigned)r->mode, r->uid, r->gid, r->dev, r->ino,
				r->ctime_ns, r->mtime_ns, r->added_ns, src, path, link ? link : "-");
		}
		free(path);
		free(link);
		free(src);
	}
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (!err) {
		/* The checksum line covers every byte before it. */
		char *grown = realloc(buf, len + sizeof(CKSUM) - 1 + 64 + 2);

		if (!grown) {
			err = -ENOMEM;
		} else {
			buf = grown;
			if (sha256_buf(buf, len, sum)) {
				err = -EIO;
			} else {
				trust_hex(sum, hex);
				len += (size_t)sprintf(buf + len, CKSUM "%s\n", hex);
			}
		}
	}
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* A field for a message: at most 40 bytes, anything unprintable as '?'. */
static const char *shown(const char *p, size_t n, char buf[48])
{
	size_t i, m = n > 40 ? 40 : n;

	for (i = 0; i < m; i++)
		buf[i] = (p[i] > 0x20 && p[i] < 0x7f) ? p[i] : '?';
	if (m < n) {
		memcpy(buf + m, "...", 3);
		m += 3;
	}
	buf[m] = 0;
	return buf;
}

/* Strict decimal: digits only, no sign, no blanks, no overflow. */
static bool parse_u64(const char *p, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*p)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_i64(const char *p, int64_t *out)
{
	bool neg = *p == '-';
	uint64_t v;

	if (!parse_u64(p + neg, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v))
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool parse_octal(const char *p, uint32_t *out)
{
	uint32_t v = 0;

	if (!*p || strlen(p) > 7)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '7')
			return false;
		v = v * 8 + (uint32_t)(*p - '0');
	}
	*out = v;
	return true;
}

static bool parse_sha(const char *p, uint8_t out[32])
{
	if (strlen(p) != 64)
		return false;
	for (int i = 0; i < 32; i++) {
		int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

		/* Lower case only: the format has one spelling of each hash. */
		if (hi < 0 || lo < 0 || (p[2 * i] >= 'A' && p[2 * i] <= 'F') ||
		    (p[2 * i + 1] >= 'A' && p[2 * i + 1] <= 'F'))
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* One record line (NUL-terminated, no newline), split in place. */
static int parse_record(char *line, size_t lineno, struct trust_rec *r, char *why, size_t whylen)
{
	static const char *const names[N_FIELDS] = {
		"sha256", "size", "mode", "uid", "gid", "dev", "ino", "ctime_ns", "mtime_ns",
		"added_ns", "source", "path", "link target",
	};
	char *f[N_FIELDS], *p = line, sb[48], *src;
	uint64_t uid = 0, gid = 0;
	int n = 0, bad = -1;

	memset(r, 0, sizeof(*r));
	for (;;) {
		char *sp = strchr(p, ' ');

		if (n == N_FIELDS)
			return fail(why, whylen, -EBADMSG, "line %zu: more than %d fields", lineno,
				    N_FIELDS);
		f[n++] = p;
		if (!sp)
			break;
		*sp = 0;
		p = sp + 1;
	}
	if (n != N_FIELDS)
		return fail(why, whylen, -EBADMSG, "line %zu: %d fields, expected %d", lineno, n,
			    N_FIELDS);
	for (int i = 0; i < N_FIELDS; i++)
		if (!f[i][0])
			return fail(why, whylen, -EBADMSG, "line %zu: empty %s field", lineno,
				    names[i]);
	if (!parse_sha(f[0], r->sha256))
		bad = 0;
	else if (!parse_u64(f[1], INT64_MAX, &r->size))
		bad = 1;
	else if (!parse_octal(f[2], &r->mode) || !S_ISREG(r->mode))
		bad = 2;
	else if (!parse_u64(f[3], UINT32_MAX, &uid))
		bad = 3;
	else if (!parse_u64(f[4], UINT32_MAX, &gid))
		bad = 4;
	else if (!parse_u64(f[5], UINT64_MAX, &r->dev))
		bad = 5;
	else if (!parse_u64(f[6], UINT64_MAX, &r->ino))
		bad = 6;
	else if (!parse_i64(f[7], &r->ctime_ns))
		bad = 7;
	else if (!parse_i64(f[8], &r->mtime_ns))
		bad = 8;
	else if (!parse_i64(f[9], &r->added_ns))
		bad = 9;
	if (bad >= 0)
		return fail(why, whylen, -EBADMSG, "line %zu: bad %s '%s'", lineno, names[bad],
			    shown(f[bad], strlen(f[bad]), sb));
	r->uid = (uint32_t)uid;
	r->gid = (uint32_t)gid;
	src = trust_path_unescape(f[10]);
	if (!src || strlen(src) > TRUST_SOURCE_MAX) {
		free(src);
		return fail(why, whylen, -EBADMSG, "line %zu: bad source '%s'", lineno,
			    shown(f[10], strlen(f[10]), sb));
	}
	strcpy(r->source, src);
	free(src);
	r->path = trust_path_unescape(f[11]);
	if (!r->path || r->path[0] != '/') {
		trust_rec_free(r);
		return fail(why, whylen, -EBADMSG, "line %zu: bad path '%s'", lineno,
			    shown(f[11], strlen(f[11]), sb));
	}
	if (strcmp(f[12], "-")) {
		r->link_target = trust_path_unescape(f[12]);
		if (!r->link_target || r->link_target[0] != '/') {
			trust_rec_free(r);
			return fail(why, whylen, -EBADMSG, "line %zu: bad link target '%s'", lineno,
				    shown(f[12], strlen(f[12]), sb));
		}
	}
	return 0;
}

struct parsed {
	struct trust_rec r;
	size_t lineno;
};

static int parsed_cmp(const void *a, const void *b)
{
	const struct parsed *x = a, *y = b;

	return strcmp(x->r.path, y->r.path);
}

/* "KEY N" on its own line. */
static bool header_line(const char *line, const char *key, uint64_t *v)
{
	size_t k = strlen(key);

	return !strncmp(line, key, k) && line[k] == ' ' && parse_u64(line + k + 1, UINT64_MAX, v);
}

int trust_store_parse(struct trust_store *s, const char *text, size_t len,
		      char *why, size_t whylen)
{
	struct parsed *recs = NULL;
	char *buf = NULL, *line, *ck = NULL, *nl, sb[48], hex[65];
	size_t ck_line = 0, lineno, nrec = 0, i, body;
	uint64_t generation, count;
	uint8_t sum[32];
	int err = 0;

	trust_store_free(s);
	if (len == 0)
		return fail(why, whylen, -EBADMSG, "empty file");
	if (len < strlen(MAGIC) || memcmp(text, MAGIC, strlen(MAGIC)))
		return fail(why, whylen, -EBADMSG,
			    "not a vigil trust store (it does not start with '" MAGIC "%d')",
			    TRUST_FORMAT_VERSION);
	/* The version before anything else: another version may differ in everything after it. */
	nl = memchr(text, '\n', len);
	{
		size_t vlen = (nl ? (size_t)(nl - text) : len) - strlen(MAGIC);
		const char *v = text + strlen(MAGIC);
		char vb[24];
		uint64_t ver;

		if (vlen == 0 || vlen >= sizeof(vb))
			return fail(why, whylen, -EBADMSG, "line 1: malformed format version '%s'",
				    shown(v, vlen, sb));
		memcpy(vb, v, vlen);
		vb[vlen] = 0;
		if (!parse_u64(vb, UINT64_MAX, &ver))
			return fail(why, whylen, -EBADMSG, "line 1: malformed format version '%s'",
				    shown(v, vlen, sb));
		if (ver != TRUST_FORMAT_VERSION)
			return fail(why, whylen, -EBADMSG,
				    "format version %s, but this vigil reads version %d only",
				    vb, TRUST_FORMAT_VERSION);
	}
	if (memchr(text, 0, len))
		return fail(why, whylen, -EBADMSG, "contains a NUL byte (damaged)");
	buf = malloc(len + 1);
	if (!buf)
		return fail(why, whylen, -ENOMEM, "out of memory");
	memcpy(buf, text, len);
	buf[len] = 0;

	/* Find the checksum line: the only line that starts with "sha256 ". */
	for (line = buf, lineno = 1; *line; lineno++) {
		if (!strncmp(line, CKSUM, strlen(CKSUM))) {
			ck = line;
			ck_line = lineno;
			break;
		}
		nl = strchr(line, '\n');
		if (!nl)
			break;
		line = nl + 1;
	}
	if (!ck) {
		err = fail(why, whylen, -EBADMSG, "no checksum line (%s)",
			   buf[len - 1] == '\n' ? "damaged" : "truncated");
		goto out;
	}
	nl = strchr(ck, '\n');
	if (!nl) {
		err = fail(why, whylen, -EBADMSG, "line %zu: checksum line is truncated", ck_line);
		goto out;
	}
	if (nl[1]) {
		err = fail(why, whylen, -EBADMSG, "line %zu: data after the checksum line",
			   ck_line + 1);
		goto out;
	}
	*nl = 0;
	if (!parse_sha(ck + strlen(CKSUM), sum)) {
		err = fail(why, whylen, -EBADMSG, "line %zu: malformed checksum '%s'", ck_line,
			   shown(ck + strlen(CKSUM), strlen(ck + strlen(CKSUM)), sb));
		goto out;
	}
	body = (size_t)(ck - buf);
	{
		uint8_t real[32];

		if (sha256_buf(text, body, real)) {
			err = fail(why, whylen, -EIO, "cannot compute sha256");
			goto out;
		}
		if (memcmp(real, sum, 32)) {
			trust_hex(real, hex);
			err = fail(why, whylen, -EBADMSG,
				   "checksum mismatch: the content hashes to %.12s..., line %zu "
				   "says %.12s... (damaged or edited by hand)", hex, ck_line,
				   ck + strlen(CKSUM));
			goto out;
		}
	}
	ck[0] = 0;	/* the records end here */

	/* Lines 2 and 3: generation and count. */
	line = strchr(buf, '\n') + 1;
	nl = strchr(line, '\n');
	if (!nl || (*nl = 0, !header_line(line, "generation", &generation))) {
		err = fail(why, whylen, -EBADMSG, "line 2: expected 'generation N', found '%s'",
			   shown(line, strlen(line), sb));
		goto out;
	}
	line = nl + 1;
	nl = strchr(line, '\n');
	if (!nl || (*nl = 0, !header_line(line, "count", &count))) {
		err = fail(why, whylen, -EBADMSG, "line 3: expected 'count N', found '%s'",
			   shown(line, strlen(line), sb));
		goto out;
	}
	if (count != ck_line - 4) {
		err = fail(why, whylen, -EBADMSG, "line 3: count says %" PRIu64 " records, but %zu "
			   "follow", count, ck_line - 4);
		goto out;
	}
	recs = calloc(count ? count : 1, sizeof(*recs));
	if (!recs) {
		err = fail(why, whylen, -ENOMEM, "out of memory");
		goto out;
	}
	for (line = nl + 1, lineno = 4; *line; lineno++) {
		nl = strchr(line, '\n');
		*nl = 0;
		err = parse_record(line, lineno, &recs[nrec].r, why, whylen);
		if (err)
			goto out;
		recs[nrec++].lineno = lineno;
		line = nl + 1;
	}
	qsort(recs, nrec, sizeof(*recs), parsed_cmp);
	for (i = 1; i < nrec; i++) {
		if (!strcmp(recs[i - 1].r.path, recs[i].r.path)) {
			size_t a = recs[i - 1].lineno, b = recs[i].lineno;

			err = fail(why, whylen, -EBADMSG, "line %zu: duplicate path (also on line %zu)",
				   a > b ? a : b, a > b ? b : a);
			goto out;
		}
	}
	s->v = calloc(nrec ? nrec : 1, sizeof(*s->v));
	if (!s->v) {
		err = fail(why, whylen, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nrec; i++) {
		s->v[i] = recs[i].r;
		recs[i].r.path = recs[i].r.link_target = NULL;
	}
	s->n = nrec;
	s->cap = nrec ? nrec : 1;
	s->generation = generation;
out:
	for (i = 0; recs && i < nrec; i++)
		trust_rec_free(&recs[i].r);
	free(recs);
	free(buf);
	return err;
}

/* ---- the store directory -------------------------------------------- */

/* mkdir -p: missing parents 0755 (like any /var/lib dir), dir itself 0700. */
static int make_dir(const char *dir, char *why, size_t whylen)
{
	char p[PATH_MAX];
	struct stat st;
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return fail(why, whylen, -EINVAL, "bad store directory '%s'", dir);
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return fail(why, whylen, -ENOTDIR, "%s: not a directory", dir);
		return 0;
	}
	memcpy(p, dir, n + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST)
			return fail(why, whylen, -errno, "creating %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0700) && errno != EEXIST)
		return fail(why, whylen, -errno, "creating %s: %s", p, strerror(errno));
	return 0;
}

static int join(char *out, size_t len, const char *dir, const char *name)
{
	return snprintf(out, len, "%s/%s", dir, name) >= (int)len ? -ENAMETOOLONG : 0;
}

int trust_store_lock(const char *dir, char *why, size_t whylen)
{
	char path[PATH_MAX];
	int fd, err;

	err = make_dir(dir, why, whylen);
	if (err)
		return err;
	if (join(path, sizeof(path), dir, "lock"))
		return fail(why, whylen, -ENAMETOOLONG, "%s/lock: path too long", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail(why, whylen, -errno, "opening %s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX)) {
		if (errno == EINTR)
			continue;
		err = -errno;
		close(fd);
		return fail(why, whylen, err, "locking %s: %s", path, strerror(-err));
	}
	return fd;
}

int trust_store_trylock(const char *dir)
{
	char path[PATH_MAX];
	int fd, err;

	if (join(path, sizeof(path), dir, "lock"))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int read_all(const char *path, char **out, size_t *outlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : (size_t)st.st_size + 4096;
			char *nb = realloc(buf, ncap);

			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
out:
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* Load one generation; -ENOENT when the file does not exist. */
static int load_one(struct trust_store *s, const char *dir, const char *name,
		    char *why, size_t whylen)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int err;

	if (join(path, sizeof(path), dir, name))
		return fail(why, whylen, -ENAMETOOLONG, "path too long");
	err = read_all(path, &text, &len);
	if (err == -ENOENT)
		return fail(why, whylen, err, "missing");
	if (err == -EINVAL)
		return fail(why, whylen, err, "not a regular file");
	if (err)
		return fail(why, whylen, err, "%s", strerror(-err));
	err = trust_store_parse(s, text, len, why, whylen);
	free(text);
	return err;
}

int trust_store_load(struct trust_store *s, const char *dir, char *why, size_t whylen)
{
	char pwhy[256], swhy[256];
	int p, q;

	trust_store_free(s);
	p = load_one(s, dir, "store", pwhy, sizeof(pwhy));
	if (p == 0)
		return 0;
	q = load_one(s, dir, "store.prev", swhy, sizeof(swhy));
	if (p == -ENOENT && q == -ENOENT)
		return 0;	/* nothing was ever saved here: an empty store */
	if (q == 0) {
		s->from_spare = true;
		/* A long reason is cut: it is for a message. */
		if (snprintf(s->spare_reason, sizeof(s->spare_reason), "%s", pwhy) < 0)
			s->spare_reason[0] = 0;
		return 0;
	}
	trust_store_free(s);
	fail(why, whylen, 0, "%s/store: %s; %s/store.prev: %s", dir, pwhy, dir, swhy);
	/* Both unreadable for one reason (permission, say) is no sign of damage: say which. */
	if (p == q && p != -EBADMSG && p != -ENOENT)
		return p;
	return -EBADMSG;
}

int trust_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int trust_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int trust_store_save(struct trust_store *s, const char *dir, char *why, size_t whylen)
{
	char store[PATH_MAX], tmp[PATH_MAX], prev[PATH_MAX], prevtmp[PATH_MAX], *text = NULL;
	size_t len = 0;
	struct stat st;
	int fd = -1, err;

	err = make_dir(dir, why, whylen);
	if (err)
		return err;
	if (join(store, sizeof(store), dir, "store") || join(tmp, sizeof(tmp), dir, "store.tmp") ||
	    join(prev, sizeof(prev), dir, "store.prev") ||
	    join(prevtmp, sizeof(prevtmp), dir, "store.prev.tmp"))
		return fail(why, whylen, -ENAMETOOLONG, "%s: path too long", dir);

	s->generation++;
	err = trust_store_format(s, &text, &len);
	if (err) {
		s->generation--;
		return fail(why, whylen, err, "formatting the trust store: %s", strerror(-err));
	}
	unlink(tmp);	/* a leftover of a crash; O_EXCL below refuses anything else */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = fail(why, whylen, -errno, "creating %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if ((err = trust_write_all(fd, text, len)) || (fchmod(fd, 0600) && (err = -errno)) ||
	    (fsync(fd) && (err = -errno))) {
		fail(why, whylen, err, "writing %s: %s", tmp, strerror(-err));
		goto fail_unlink;
	}
	if (close(fd)) {
		fd = -1;
		err = fail(why, whylen, -errno, "writing %s: %s", tmp, strerror(errno));
		goto fail_unlink;
	}
	fd = -1;
	/*
	 * Keep the current generation as the spare - unless the current one is
	 * the damaged primary this store was loaded around: then the spare is
	 * the good copy and must stay.
	 */
	if (!s->from_spare && lstat(store, &st) == 0 && S_ISREG(st.st_mode)) {
		unlink(prevtmp);
		if (link(store, prevtmp) || rename(prevtmp, prev)) {
			err = fail(why, whylen, -errno, "keeping %s as %s: %s", store, prev,
				   strerror(errno));
			unlink(prevtmp);
			goto fail_unlink;
		}
		trust_fsync_dir(dir);	/* the spare is durable before the primary moves */
	}
	if (rename(tmp, store)) {
		err = fail(why, whylen, -errno, "replacing %s: %s", store, strerror(errno));
		goto fail_unlink;
	}
	if ((err = trust_fsync_dir(dir))) {
		/* Renamed but maybe not durable: it is the store now, say so. */
		fail(why, whylen, err, "syncing %s: %s", dir, strerror(-err));
		s->from_spare = false;
		free(text);
		return err;
	}
	s->from_spare = false;
	s->spare_reason[0] = 0;
	free(text);
	return 0;
fail_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
fail:
	s->generation--;
	free(text);
	return err;
}

/* ---- records from files --------------------------------------------- */

static const struct {
	unsigned long magic;
	const char *name;
} unstable_fs[] = {
	/* network and cluster: the content can change on another machine */
	{ 0x6969, "nfs" },
	{ 0x517b, "smb" },
	{ 0xff534d42, "cifs" },
	{ 0xfe534d42, "smb2" },
	{ 0x01021997, "9p" },
	{ 0x00c36400, "ceph" },
	{ 0x5346414f, "afs" },
	{ 0x6b414653, "afs" },
	{ 0x73757245, "coda" },
	{ 0x564c, "ncpfs" },
	{ 0x786f4256, "vboxsf" },
	/* FUSE: inode numbers are whatever the daemon says */
	{ 0x65735546, "fuse" },
	/* pseudo filesystems: generated files, numbers not kept */
	{ 0x9fa0, "proc" },
	{ 0x62656572, "sysfs" },
	{ 0x64626720, "debugfs" },
	{ 0x74726163, "tracefs" },
	{ 0x73636673, "securityfs" },
	{ 0x27e0eb, "cgroup" },
	{ 0x63677270, "cgroup2" },
	{ 0x1cd1, "devpts" },
	{ 0xcafe4a11, "bpf" },
	{ 0x62656570, "configfs" },
	{ 0x6165676c, "pstore" },
	{ 0xde5e81e4, "efivarfs" },
	{ 0xf97cff8c, "selinuxfs" },
	{ 0x43415d53, "smackfs" },
	{ 0x6e736673, "nsfs" },
	{ 0x5a3c69f0, "apparmorfs" },
	/* FAT family: inode numbers are made up at each mount */
	{ 0x4d44, "vfat" },
	{ 0x2011bab0, "exfat" },
};

/*
 * mnt_id -> the superblock's dev, from /proc/self/mountinfo.  Cached
 * (single-threaded use): an import checks thousands of files on a few mounts.
 */
static struct {
	int mnt_id;
	dev_t dev;
} mnt_cache[32];
static unsigned mnt_cache_n;

static int fd_mnt_id(int fd)
{
	char path[64], line[128];
	int id = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %d", &id) == 1)
			break;
	fclose(f);
	return id;
}

/* 0 and *dev, or -ENOENT when it cannot be told (no /proc). */
static int mount_sb_dev(int fd, dev_t *dev)
{
	int id = fd_mnt_id(fd), mid, pid, found = -ENOENT;
	unsigned maj, min;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	if (id < 0)
		return -ENOENT;
	for (unsigned i = 0; i < mnt_cache_n && i < 32; i++) {
		if (mnt_cache[i].mnt_id == id) {
			*dev = mnt_cache[i].dev;
			return 0;
		}
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -ENOENT;
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%d %d %u:%u", &mid, &pid, &maj, &min) == 4 && mid == id) {
			*dev = makedev(maj, min);
			mnt_cache[mnt_cache_n % 32].mnt_id = id;
			mnt_cache[mnt_cache_n % 32].dev = *dev;
			mnt_cache_n++;
			found = 0;
			break;
		}
	}
	free(line);
	fclose(f);
	return found;
}

/* -EXDEV with a reason when (dev, ino) of this file cannot be what the kernel sees. */
static int check_fs(int fd, const struct stat *st, const char *path, char *why, size_t whylen)
{
	struct statfs sf;
	dev_t sb;

	if (fstatfs(fd, &sf))
		return fail(why, whylen, -errno, "%s: statfs: %s", path, strerror(errno));
	for (size_t i = 0; i < sizeof(unstable_fs) / sizeof(unstable_fs[0]); i++) {
		if ((unsigned long)(unsigned int)sf.f_type == unstable_fs[i].magic)
			return fail(why, whylen, -EXDEV,
				    "%s: on a %s filesystem, whose inode numbers or contents can "
				    "change without this kernel noticing; trust only files on local "
				    "disk filesystems", path, unstable_fs[i].name);
	}
	/*
	 * The kernel keys on inode->i_sb->s_dev, which mountinfo shows; stat's
	 * st_dev differs from it on some filesystems (btrfs subvolumes,
	 * overlayfs over several filesystems), and such a record never matches.
	 */
	if (mount_sb_dev(fd, &sb) == 0 && sb != st->st_dev)
		return fail(why, whylen, -EXDEV,
			    "%s: stat reports device %u:%u but the kernel identifies the file by "
			    "its filesystem's device %u:%u (btrfs subvolume or overlayfs?); its "
			    "inode cannot be trusted reliably", path, major(st->st_dev),
			    minor(st->st_dev), major(sb), minor(sb));
	return 0;
}

static const char *type_name(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISFIFO(m))
		return "a fifo";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISLNK(m))
		return "a symlink";
	return "not a regular file";
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/*
 * "as given, after normalising": "//" and "/./" collapse, a trailing "/"
 * goes.  ".." cannot be removed by text alone (the component before it may
 * be a symlink), so a path with ".." gets its directory canonicalised.
 */
static int normalise(const char *in, char **out)
{
	size_t n = strlen(in);
	char *o = malloc(n + 2), *w = o;
	bool dotdot = false;
	const char *p = in;

	if (!o)
		return -ENOMEM;
	while (*p) {
		const char *e;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		len = e ? (size_t)(e - p) : strlen(p);
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.')
			dotdot = true;
		*w++ = '/';
		memcpy(w, p, len);
		w += len;
		p += len;
	}
	if (w == o)
		*w++ = '/';
	*w = 0;
	if (dotdot) {
		char *slash = strrchr(o, '/'), *dir, *res;
		const char *base = slash + 1;

		if (!strcmp(base, "..")) {
			res = realpath(o, NULL);
		} else {
			*slash = 0;
			dir = realpath(o[0] ? o : "/", NULL);
			res = NULL;
			if (dir && asprintf(&res, "%s/%s", strcmp(dir, "/") ? dir : "", base) < 0)
				res = NULL;
			if (!dir) {
				int e = errno;

				free(o);
				return -e;
			}
			free(dir);
		}
		if (!res) {
			int e = errno ? errno : ENOMEM;

			free(o);
			return -e;
		}
		free(o);
		o = res;
	}
	*out = o;
	return 0;
}

static int lstat_error(int e, const char *path, char *why, size_t whylen)
{
	switch (e) {
	case ENOENT:
		return fail(why, whylen, -ENOENT, "%s: no such file", path);
	case ENOTDIR:
		return fail(why, whylen, -ENOENT, "%s: no such file (a component is not a directory)",
			    path);
	case EACCES:
	case EPERM:
		return fail(why, whylen, -EACCES, "%s: permission denied", path);
	case ELOOP:
		return fail(why, whylen, -ELOOP, "%s: too many levels of symbolic links", path);
	default:
		return fail(why, whylen, -e, "%s: %s", path, strerror(e));
	}
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       ts_ns(&a->st_ctim) == ts_ns(&b->st_ctim) && ts_ns(&a->st_mtim) == ts_ns(&b->st_mtim);
}

int trust_rec_from_file(const char *path, const char *source, struct trust_rec *rec,
			struct trust_rec *link_out, char *why, size_t whylen)
{
	char *given = NULL, *canon = NULL;
	struct stat lst, st1, st2;
	struct timespec now;
	uint64_t bytes = 0;
	uint8_t sha[32];
	bool is_link;
	int fd = -1, err;

	memset(rec, 0, sizeof(*rec));
	if (link_out)
		memset(link_out, 0, sizeof(*link_out));
	if (!path || path[0] != '/')
		return fail(why, whylen, -EINVAL, "%s: not an absolute path", path ? path : "(null)");
	if (!source || !source[0])
		return fail(why, whylen, -EINVAL, "%s: no source given", path);
	err = normalise(path, &given);
	if (err)
		return lstat_error(-err, path, why, whylen);
	if (lstat(given, &lst)) {
		err = lstat_error(errno, given, why, whylen);
		goto out;
	}
	is_link = S_ISLNK(lst.st_mode);
	if (is_link) {
		canon = realpath(given, NULL);
		if (!canon) {
			if (errno == ENOENT || errno == ENOTDIR)
				err = fail(why, whylen, -ENOENT, "%s: symlink to a missing file", given);
			else if (errno == ELOOP)
				err = fail(why, whylen, -ELOOP, "%s: symlink loop", given);
			else
				err = lstat_error(errno, given, why, whylen);
			goto out;
		}
		if (lstat(canon, &lst)) {
			err = lstat_error(errno, canon, why, whylen);
			goto out;
		}
		if (!S_ISREG(lst.st_mode)) {
			err = fail(why, whylen, -EINVAL, "%s: symlink to %s (%s), not a regular file",
				   given, type_name(lst.st_mode), canon);
			goto out;
		}
	} else {
		if (!S_ISREG(lst.st_mode)) {
			err = fail(why, whylen, -EINVAL, "%s: %s, not a regular file", given,
				   type_name(lst.st_mode));
			goto out;
		}
		canon = strdup(given);
		if (!canon) {
			err = fail(why, whylen, -ENOMEM, "out of memory");
			goto out;
		}
	}

	/* O_NONBLOCK: if a fifo was swapped in since lstat, open must not hang. */
	fd = open(canon, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			err = fail(why, whylen, -EAGAIN, "%s: replaced by a symlink while being "
				   "recorded; try again", canon);
		else
			err = lstat_error(errno, canon, why, whylen);
		goto out;
	}
	if (fstat(fd, &st1)) {
		err = fail(why, whylen, -errno, "%s: fstat: %s", canon, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st1.st_mode)) {
		err = fail(why, whylen, -EINVAL, "%s: %s, not a regular file", canon,
			   type_name(st1.st_mode));
		goto out;
	}
	if (st1.st_dev != lst.st_dev || st1.st_ino != lst.st_ino) {
		err = fail(why, whylen, -EAGAIN, "%s: replaced while being recorded; try again",
			   canon);
		goto out;
	}
	err = check_fs(fd, &st1, canon, why, whylen);
	if (err)
		goto out;
	err = trust_sha256_fd(fd, sha, &bytes);
	if (err) {
		if (err == -EACCES || err == -EPERM)
			err = fail(why, whylen, -EACCES, "%s: permission denied", canon);
		else
			fail(why, whylen, err, "%s: reading: %s", canon, strerror(-err));
		goto out;
	}
	if (fstat(fd, &st2)) {
		err = fail(why, whylen, -errno, "%s: fstat: %s", canon, strerror(errno));
		goto out;
	}
	if (!same_file(&st1, &st2) || bytes != (uint64_t)st2.st_size) {
		err = fail(why, whylen, -EAGAIN, "%s: changed while being hashed; try again", canon);
		goto out;
	}

	clock_gettime(CLOCK_REALTIME, &now);
	rec->path = canon;
	canon = NULL;
	memcpy(rec->sha256, sha, 32);
	rec->size = (uint64_t)st2.st_size;
	rec->mode = st2.st_mode;
	rec->uid = st2.st_uid;
	rec->gid = st2.st_gid;
	rec->dev = trust_kdev(st2.st_dev);
	rec->ino = st2.st_ino;
	rec->ctime_ns = ts_ns(&st2.st_ctim);
	rec->mtime_ns = ts_ns(&st2.st_mtim);
	rec->added_ns = ts_ns(&now);
	/* Longer sources (long package names) are cut: it is a label only. */
	snprintf(rec->source, sizeof(rec->source), "%s", source);
	if (is_link && link_out) {
		*link_out = *rec;
		link_out->path = given;
		given = NULL;
		link_out->link_target = strdup(rec->path);
		if (!link_out->link_target) {
			trust_rec_free(rec);
			trust_rec_free(link_out);
			err = fail(why, whylen, -ENOMEM, "out of memory");
			goto out;
		}
	}
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	free(given);
	free(canon);
	return err;
}
