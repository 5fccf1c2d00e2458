/*
 * trust_cli.c - `vigil trust`: install, add, import, remove, list, verify.
 *
 * Every change runs the same way: take the store's lock, load it (refusing
 * when neither generation loads), apply every change in memory, and save
 * only if each path succeeded - one bad path and the store stays as it
 * was.  After a save the kernel's trust map, if the agent pinned one, is
 * brought up to date at once.  Returns exit codes instead of exiting, so
 * tests can drive it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "trust.h"
#include "trust_cli.h"
#include "trustmap.h"
#include "truststore.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define DPKG_ADMINDIR_DEFAULT "/var/lib/dpkg"
#define COPY_BUF (256u * 1024)
#define RETRIES 3	/* a file that changes while hashed is tried this often */

static const char trust_usage[] =
	"Usage: vigil trust [--dir DIR] [--bpffs DIR] COMMAND [ARGS]\n"
	"\n"
	"Manage the trust store: the files trusted-binary enforcement lets run.\n"
	"Every change is saved atomically (the previous generation is kept as a\n"
	"spare) and, when the agent has pinned its trust map, reaches the kernel\n"
	"at once.  See docs/TRUST.md.\n"
	"\n"
	"Commands:\n"
	"  install SRC DEST [--mode MODE]\n"
	"                  copy SRC to DEST atomically and trust DEST: the approved\n"
	"                  way to put a new trusted binary in place\n"
	"  add PATH...     trust existing files (a symlink: its target and its name)\n"
	"  import dpkg [--admindir DIR]\n"
	"                  trust every installed package file whose content matches\n"
	"                  dpkg's md5sums; list the ones that do not\n"
	"  remove PATH...  stop trusting PATH (and symlink names that lead to it)\n"
	"  list [--json]   the trusted files\n"
	"  verify [--json] re-hash every trusted file; report tainted and missing ones\n"
	"  off             emergency switch: the pinned hooks allow everything, at\n"
	"                  once, whether or not the agent runs\n"
	"  on              undo `off`\n"
	"  status          whether enforcement is pinned and switched on\n"
	"\n"
	"Options:\n"
	"      --dir DIR       the trust store (default " VIGIL_TRUST_DIR_DEFAULT ")\n"
	"      --bpffs DIR     where the agent pins its maps (default " VIGIL_BPFFS_DEFAULT ")\n"
	"      --mode MODE     install: octal permission bits (default: SRC's)\n"
	"      --admindir DIR  import dpkg: dpkg's database (default " DPKG_ADMINDIR_DEFAULT ")\n"
	"      --json          list, verify: JSON instead of text\n"
	"  -h, --help          this help\n"
	"\n"
	"Relative paths are taken from the current directory.  A change is all or\n"
	"nothing: if any path fails, every error is printed and the store is left\n"
	"unchanged.  Only regular files on local filesystems can be trusted.\n"
	"\n"
	"Exit status: 0 ok; 1 failure, or (verify) a tainted or missing file;\n"
	"2 usage error.\n"
	"\n"
	"Examples:\n"
	"  sudo vigil trust install ./build/myapp /usr/local/bin/myapp --mode 0755\n"
	"  sudo vigil trust add /usr/bin/python3 /opt/tool/bin/tool\n"
	"  sudo vigil trust import dpkg\n"
	"  sudo vigil trust list\n"
	"  sudo vigil trust list --json | jq -r '.[].path'\n"
	"  sudo vigil trust verify\n"
	"  sudo vigil trust remove /opt/tool/bin/tool\n";

struct ctx {
	FILE *out, *err;
	const char *dir, *bpffs, *admindir, *mode;
	bool json;
	char **args;	/* the command's operands */
	size_t nargs;
};

static int cmd_switch(struct ctx *c, bool off);
static int cmd_status(struct ctx *c);

/* ---- printing -------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, c = p[0] & 0x1f, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, c = p[0] & 0x0f, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, c = p[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * Paths come from the file system and may hold anything but NUL: control
 * characters, backslashes, invalid UTF-8 and C1 controls are written as
 * escapes, so one record is one line and no name can drive the terminal.
 */
static void put_safe(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	while (*p) {
		size_t n = utf8_len(p, &cp);

		if (n == 0 || (cp >= 0x80 && cp <= 0x9f)) {
			n = n ? n : 1;
			for (size_t i = 0; i < n; i++)
				fprintf(f, "\\x%02x", p[i]);
		} else if (n > 1) {
			fwrite(p, 1, n, f);
		} else if (*p == '\\') {
			fputs("\\\\", f);
		} else if (*p == '\n') {
			fputs("\\n", f);
		} else if (*p == '\t') {
			fputs("\\t", f);
		} else if (*p == '\r') {
			fputs("\\r", f);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\x%02x", *p);
		} else {
			fputc(*p, f);
		}
		p += n;
	}
}

/* "vigil: trust: " + a message whose %s arguments may be paths, printed safely. */
static void say(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(FILE *f, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	fputs("vigil: trust: ", f);
	put_safe(f, msg ? msg : "(out of memory)");
	fputc('\n', f);
	free(msg);
}

static int usage_error(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(struct ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say(c->err, "%s", msg);
	fprintf(c->err, "%.*s", (int)(strchr(trust_usage, '\n') - trust_usage + 1), trust_usage);
	fputs("Try `vigil trust --help` for more.\n", c->err);
	return EXIT_USAGE;
}

/* JSON strings must be UTF-8: a path that is not gets "<key>_hex" with its exact bytes. */
static void json_add_path(struct json_object *o, const char *key, const char *path)
{
	const unsigned char *p = (const unsigned char *)path;
	char *lossy, *w, hexkey[64];
	bool valid = true;
	uint32_t cp;

	if (!path) {
		json_object_object_add(o, key, NULL);
		return;
	}
	lossy = w = malloc(strlen(path) * 3 + 1);
	if (!lossy)
		return;
	while (*p) {
		size_t n = utf8_len(p, &cp);

		if (n == 0) {
			memcpy(w, "\xef\xbf\xbd", 3);	/* U+FFFD */
			w += 3;
			p++;
			valid = false;
			continue;
		}
		memcpy(w, p, n);
		w += n;
		p += n;
	}
	*w = 0;
	json_object_object_add(o, key, json_object_new_string(lossy));
	if (!valid) {
		char *hex = malloc(strlen(path) * 2 + 1);

		if (hex) {
			for (size_t i = 0; path[i]; i++)
				sprintf(hex + 2 * i, "%02x", (unsigned char)path[i]);
			hex[strlen(path) * 2] = 0;
			snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
			json_object_object_add(o, hexkey, json_object_new_string(hex));
			free(hex);
		}
	}
	free(lossy);
}

static void json_print(FILE *f, struct json_object *o)
{
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE), f);
	fputc('\n', f);
}

/* ---- paths ----------------------------------------------------------- */

/*
 * The spelling records are kept under: absolute, "//" and "/./" collapsed,
 * no trailing "/" (as truststore.c does when it records).  ".." needs the
 * file system (the component before it may be a symlink): the directory
 * part is canonicalised when it exists, else ".." is applied as text.
 */
static char *clean_path(const char *arg)
{
	char *abs = NULL, *o, *w, *res;
	const char *p;
	bool dotdot = false;

	if (arg[0] == '/') {
		abs = strdup(arg);
	} else {
		char *cwd = getcwd(NULL, 0);

		if (!cwd || asprintf(&abs, "%s/%s", cwd, arg) < 0)
			abs = NULL;
		free(cwd);
	}
	if (!abs)
		return NULL;
	o = w = malloc(strlen(abs) + 2);
	if (!o) {
		free(abs);
		return NULL;
	}
	for (p = abs; *p;) {
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			dotdot = true;
		if (!(len == 1 && p[0] == '.')) {
			*w++ = '/';
			memcpy(w, p, len);
			w += len;
		}
		p += len;
	}
	if (w == o)
		*w++ = '/';
	*w = 0;
	free(abs);
	if (!dotdot)
		return o;
	{
		char *slash = strrchr(o, '/'), *dir;

		*slash = 0;
		dir = realpath(o[0] ? o : "/", NULL);
		*slash = '/';
		if (dir && strcmp(slash + 1, "..") &&
		    asprintf(&res, "%s/%s", strcmp(dir, "/") ? dir : "", slash + 1) >= 0) {
			free(dir);
			free(o);
			return res;
		}
		free(dir);
	}
	/* Nothing there to resolve against: apply ".." textually. */
	res = w = malloc(strlen(o) + 2);
	if (!res)
		return o;
	for (p = o; *p;) {
		size_t len;

		p++;
		len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (w > res && *--w != '/')
				;
		} else {
			*w++ = '/';
			memcpy(w, p, len);
			w += len;
		}
		p += len;
	}
	if (w == res)
		*w++ = '/';
	*w = 0;
	free(o);
	return res;
}

/* ---- the store ------------------------------------------------------- */

static void warn_spare(struct ctx *c, const struct trust_store *s, bool changing)
{
	if (!s->from_spare)
		return;
	say(c->err, "warning: %s/store is unusable (%s); using the previous generation, "
	    "%s/store.prev (generation %" PRIu64 ")%s", c->dir, s->spare_reason, c->dir,
	    s->generation, changing ? "; this change rewrites store from it" : "");
}

static void load_failed(struct ctx *c, int err, const char *why)
{
	say(c->err, "cannot load the trust store: %s", why);
	if (err == -EACCES || err == -EPERM)
		say(c->err, "%s needs root (or use --dir)", c->dir);
	else if (err == -EBADMSG)
		say(c->err, "both generations are unusable, so nothing is trusted from them; "
		    "keep both files for inspection, then restore %s/store from a backup, or "
		    "move %s/store and %s/store.prev aside and trust again from scratch "
		    "(`vigil trust import dpkg`, `vigil trust add ...`)", c->dir, c->dir, c->dir);
}

/* Read-only commands: no lock (a save renames a whole file in). */
static int open_ro(struct ctx *c, struct trust_store *s)
{
	char why[1024];
	int err = trust_store_load(s, c->dir, why, sizeof(why));

	if (err) {
		load_failed(c, err, why);
		return EXIT_FAIL;
	}
	warn_spare(c, s, false);
	return 0;
}

/* Changing commands: lock, then load.  *lockfd is held until the command ends. */
static int open_rw(struct ctx *c, struct trust_store *s, int *lockfd)
{
	char why[1024];
	int fd, err;

	fd = trust_store_lock(c->dir, why, sizeof(why));
	if (fd < 0) {
		say(c->err, "cannot lock the trust store: %s%s", why,
		    fd == -EACCES || fd == -EPERM ? " (run as root, or use --dir)" : "");
		return EXIT_FAIL;
	}
	err = trust_store_load(s, c->dir, why, sizeof(why));
	if (err) {
		close(fd);
		load_failed(c, err, why);
		return EXIT_FAIL;
	}
	warn_spare(c, s, true);
	*lockfd = fd;
	return 0;
}

/* Save, then bring the kernel's map up to date (if the agent pinned one). */
static int commit(struct ctx *c, struct trust_store *s)
{
	char why[1024];
	int n;

	if (trust_store_save(s, c->dir, why, sizeof(why))) {
		say(c->err, "saving the trust store: %s", why);
		return EXIT_FAIL;
	}
	why[0] = 0;
	n = trustmap_sync_pinned(c->bpffs, s, c->dir, why, sizeof(why));
	if (n >= 0)
		fprintf(c->err, "kernel: %d trusted inodes\n", n);
	else if (n != -ENOENT)
		say(c->err, "warning: the store is saved (generation %" PRIu64 "), but the kernel's "
		    "trust map was not updated: %s; the agent updates it when it next syncs",
		    s->generation, why[0] ? why : strerror(-n));
	return 0;
}

/*
 * A symlink name's record carries its target's identity; when the target
 * is recorded anew, the names that lead to it follow.
 */
static void copy_identity(struct trust_rec *link, const struct trust_rec *t)
{
	memcpy(link->sha256, t->sha256, sizeof(link->sha256));
	link->size = t->size;
	link->mode = t->mode;
	link->uid = t->uid;
	link->gid = t->gid;
	link->dev = t->dev;
	link->ino = t->ino;
	link->ctime_ns = t->ctime_ns;
	link->mtime_ns = t->mtime_ns;
}

static void refresh_links(struct trust_store *s, const struct trust_rec *t)
{
	for (size_t i = 0; i < s->n; i++) {
		struct trust_rec *r = &s->v[i];

		if (r->link_target && !strcmp(r->link_target, t->path))
			copy_identity(r, t);
	}
}

static int put_rec(struct trust_store *s, const struct trust_rec *r)
{
	int err = trust_store_put(s, r);

	if (!err && !r->link_target)
		refresh_links(s, r);
	return err;
}

/* trust_rec_from_file, again while the file changes under it. */
static int record(const char *path, const char *source, struct trust_rec *rec,
		  struct trust_rec *link, char *why, size_t whylen)
{
	int err = -EAGAIN;

	for (int i = 0; i < RETRIES && err == -EAGAIN; i++)
		err = trust_rec_from_file(path, source, rec, link, why, whylen);
	return err;
}

struct ordered {
	struct trust_rec *r;
	size_t i;	/* position in the input: a later record for a path wins */
};

static int ordered_cmp(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;
	int c = strcmp(x->r->path, y->r->path);

	return c ? c : x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Many records at once (an import): one merge instead of an insertion
 * each, which would move the array once per record.  Takes the strings of
 * add[] in every case.
 */
static int merge(struct trust_store *s, struct trust_rec *add, size_t n)
{
	struct ordered *o = malloc((n ? n : 1) * sizeof(*o));
	struct trust_rec *v = malloc((s->n + n ? s->n + n : 1) * sizeof(*v));
	size_t i = 0, j = 0, k = 0, m = 0;

	if (!o || !v) {
		free(o);
		free(v);
		for (i = 0; i < n; i++)
			trust_rec_free(&add[i]);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		o[i] = (struct ordered){ &add[i], i };
	qsort(o, n, sizeof(*o), ordered_cmp);
	for (i = 0; i < n; i++) {
		if (i + 1 < n && !strcmp(o[i].r->path, o[i + 1].r->path))
			trust_rec_free(o[i].r);
		else
			o[m++] = o[i];
	}
	for (i = 0; i < s->n || j < m;) {
		int cmp = i == s->n ? 1 : j == m ? -1 : strcmp(s->v[i].path, o[j].r->path);

		if (cmp < 0) {
			v[k++] = s->v[i++];
		} else {
			if (cmp == 0)
				trust_rec_free(&s->v[i++]);
			v[k++] = *o[j++].r;
		}
	}
	free(s->v);
	s->v = v;
	s->cap = s->n + n ? s->n + n : 1;
	s->n = k;
	free(o);
	/* Links are few: look each one's target up rather than scan per record. */
	for (i = 0; i < s->n; i++) {
		const struct trust_rec *t;

		if (s->v[i].link_target && (t = trust_store_find(s, s->v[i].link_target)) &&
		    !t->link_target)
			copy_identity(&s->v[i], t);
	}
	return 0;
}

/* ---- install --------------------------------------------------------- */

/* Copy src to dst (both open) and hash what was written.  0 or -errno. */
static int copy_hashed(int src, int dst, uint8_t sha[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *buf = malloc(COPY_BUF);
	unsigned len = 0;
	int err = 0;

	if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(src, buf, COPY_BUF);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		if ((err = trust_write_all(dst, buf, (size_t)r)))
			break;
		if (!EVP_DigestUpdate(md, buf, (size_t)r)) {
			err = -EIO;
			break;
		}
	}
	if (!err && (!EVP_DigestFinal_ex(md, sha, &len) || len != 32))
		err = -EIO;
out:
	free(buf);
	EVP_MD_CTX_free(md);
	return err;
}

static bool stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int cmd_install(struct ctx *c)
{
	struct trust_store s = { 0 };
	struct trust_rec pre = { 0 }, rec = { 0 };
	struct stat sst, sst2, dst;
	char *dest = NULL, *dir = NULL, *tmp = NULL, why[PATH_MAX + 512], hex[65];
	const char *src, *base;
	uint8_t sha[32];
	unsigned long mode = 0;
	int lockfd = -1, sfd = -1, tfd = -1, ret = EXIT_FAIL, err;
	bool installed = false;

	if (c->nargs != 2)
		return usage_error(c, "install wants SRC and DEST, got %zu %s", c->nargs,
				   c->nargs == 1 ? "argument" : "arguments");
	if (c->mode) {
		char *end;

		errno = 0;
		mode = strtoul(c->mode, &end, 8);
		if (errno || *end || !c->mode[0] || c->mode[0] == '-' || mode > 07777)
			return usage_error(c, "--mode wants octal permission bits (e.g. 0755), got '%s'",
					   c->mode);
	}
	src = c->args[0];
	dest = clean_path(c->args[1]);
	if (!dest) {
		say(c->err, "install: %s: %s", c->args[1], strerror(errno ? errno : ENOMEM));
		return EXIT_FAIL;
	}
	if (open_rw(c, &s, &lockfd))
		goto out;

	sfd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (sfd < 0) {
		say(c->err, "install: %s: %s", src, strerror(errno));
		goto out;
	}
	if (fstat(sfd, &sst)) {
		say(c->err, "install: %s: %s", src, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sst.st_mode)) {
		say(c->err, "install: %s: %s, not a regular file", src,
		    S_ISDIR(sst.st_mode) ? "a directory" : "a special file");
		goto out;
	}
	if (!c->mode)
		mode = sst.st_mode & 07777;
	if (lstat(dest, &dst) == 0 && !S_ISREG(dst.st_mode) && !S_ISLNK(dst.st_mode)) {
		say(c->err, "install: %s: %s exists there; DEST must be the file's full path", dest,
		    S_ISDIR(dst.st_mode) ? "a directory" : "a special file");
		goto out;
	}
	base = strrchr(dest, '/') + 1;
	dir = strndup(dest, (size_t)(base - dest) > 1 ? (size_t)(base - dest) - 1 : 1);
	if (!dir || !*base || asprintf(&tmp, "%s/.%s.vigil-XXXXXX",
				       strcmp(dir, "/") ? dir : "", base) < 0) {
		tmp = NULL;
		say(c->err, "install: %s: bad destination", dest);
		goto out;
	}
	/* The temp file is in DEST's directory, so the final rename is atomic. */
	tfd = mkostemp(tmp, O_CLOEXEC);
	if (tfd < 0) {
		say(c->err, "install: creating a temporary file in %s: %s", dir, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	err = copy_hashed(sfd, tfd, sha);
	if (err) {
		say(c->err, "install: copying %s to %s: %s", src, tmp, strerror(-err));
		goto out;
	}
	if (fstat(sfd, &sst2) == 0 && !stat_same(&sst, &sst2)) {
		say(c->err, "install: %s changed while it was copied; try again", src);
		goto out;
	}
	if (fchmod(tfd, (mode_t)mode) || fsync(tfd)) {
		say(c->err, "install: %s: %s", tmp, strerror(errno));
		goto out;
	}
	err = close(tfd);
	tfd = -1;
	if (err) {
		say(c->err, "install: %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* Whatever cannot be trusted (the filesystem, say) fails before DEST is touched. */
	err = record(tmp, "install", &pre, NULL, why, sizeof(why));
	if (err) {
		say(c->err, "install: %s cannot be trusted: %s", dest, why);
		goto out;
	}
	if (memcmp(pre.sha256, sha, 32)) {
		say(c->err, "install: %s: what was written does not read back the same", tmp);
		goto out;
	}
	if (rename(tmp, dest)) {
		say(c->err, "install: renaming %s to %s: %s", tmp, dest, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	installed = true;
	if ((err = trust_fsync_dir(dir)))
		say(c->err, "warning: install: syncing %s: %s", dir, strerror(-err));

	/* The rename moved ctime: record DEST as it is now, and check it is what was copied. */
	err = record(dest, "install", &rec, NULL, why, sizeof(why));
	if (err) {
		say(c->err, "install: %s is installed but cannot be recorded: %s", dest, why);
		goto out;
	}
	if (memcmp(rec.sha256, sha, 32)) {
		say(c->err, "install: %s changed right after it was installed; it is not trusted",
		    dest);
		goto out;
	}
	if ((err = put_rec(&s, &rec))) {
		say(c->err, "install: %s: %s", dest, strerror(-err));
		goto out;
	}
	if (commit(c, &s))
		goto out;
	trust_hex(sha, hex);
	fputs("installed ", c->out);
	put_safe(c->out, dest);
	fprintf(c->out, " (mode %04lo, sha256 %s)\n", mode, hex);
	ret = 0;
out:
	if (ret && installed)
		say(c->err, "install: %s is in place but not trusted; run `vigil trust add` on it "
		    "once the problem is fixed", dest);
	if (tfd >= 0)
		close(tfd);
	if (tmp)
		unlink(tmp);
	if (sfd >= 0)
		close(sfd);
	if (lockfd >= 0)
		close(lockfd);
	trust_rec_free(&pre);
	trust_rec_free(&rec);
	trust_store_free(&s);
	free(tmp);
	free(dir);
	free(dest);
	return ret;
}

/* ---- add / remove ---------------------------------------------------- */

static int cmd_add(struct ctx *c)
{
	struct trust_store s = { 0 };
	struct trust_rec *recs, *links;
	char why[PATH_MAX + 512];
	size_t bad = 0, i;
	int lockfd = -1, ret = EXIT_FAIL, err;

	if (!c->nargs)
		return usage_error(c, "add wants at least one PATH");
	recs = calloc(c->nargs, sizeof(*recs));
	links = calloc(c->nargs, sizeof(*links));
	if (!recs || !links) {
		say(c->err, "add: out of memory");
		goto out;
	}
	if (open_rw(c, &s, &lockfd))
		goto out;
	for (i = 0; i < c->nargs; i++) {
		char *p = clean_path(c->args[i]);

		if (!p) {
			say(c->err, "add: %s: %s", c->args[i], strerror(errno ? errno : ENOMEM));
			bad++;
			continue;
		}
		err = record(p, "add", &recs[i], &links[i], why, sizeof(why));
		if (err) {
			say(c->err, "add: %s", why);
			bad++;
		}
		free(p);
	}
	if (bad) {
		say(c->err, "add: %zu of %zu %s failed; the trust store is unchanged", bad, c->nargs,
		    c->nargs == 1 ? "path" : "paths");
		goto out;
	}
	for (i = 0; i < c->nargs; i++) {
		if ((err = put_rec(&s, &recs[i])) ||
		    (links[i].path && (err = put_rec(&s, &links[i])))) {
			say(c->err, "add: %s", strerror(-err));
			goto out;
		}
	}
	if (commit(c, &s))
		goto out;
	for (i = 0; i < c->nargs; i++) {
		char hex[65];

		trust_hex(recs[i].sha256, hex);
		fputs("trusted ", c->out);
		put_safe(c->out, recs[i].path);
		fprintf(c->out, " (sha256 %s)\n", hex);
		if (links[i].path) {
			fputs("trusted ", c->out);
			put_safe(c->out, links[i].path);
			fputs(" -> ", c->out);
			put_safe(c->out, links[i].link_target);
			fputc('\n', c->out);
		}
	}
	ret = 0;
out:
	for (i = 0; recs && links && i < c->nargs; i++) {
		trust_rec_free(&recs[i]);
		trust_rec_free(&links[i]);
	}
	free(recs);
	free(links);
	if (lockfd >= 0)
		close(lockfd);
	trust_store_free(&s);
	return ret;
}

static int cmd_remove(struct ctx *c)
{
	struct trust_store s = { 0 };
	char **paths;
	size_t bad = 0, i;
	int lockfd = -1, ret = EXIT_FAIL;

	if (!c->nargs)
		return usage_error(c, "remove wants at least one PATH");
	paths = calloc(c->nargs, sizeof(*paths));
	if (!paths) {
		say(c->err, "remove: out of memory");
		return EXIT_FAIL;
	}
	if (open_rw(c, &s, &lockfd))
		goto out;
	for (i = 0; i < c->nargs; i++) {
		paths[i] = clean_path(c->args[i]);
		if (!paths[i]) {
			say(c->err, "remove: %s: %s", c->args[i], strerror(errno ? errno : ENOMEM));
			bad++;
		} else if (!trust_store_find(&s, paths[i])) {
			say(c->err, "remove: %s: not in the trust store", paths[i]);
			bad++;
		}
	}
	if (bad) {
		say(c->err, "remove: %zu of %zu %s failed; the trust store is unchanged", bad,
		    c->nargs, c->nargs == 1 ? "path" : "paths");
		goto out;
	}
	for (i = 0; i < c->nargs; i++) {
		if (!trust_store_del(&s, paths[i]))
			continue;	/* named twice, or a link already removed with its target */
		fputs("removed ", c->out);
		put_safe(c->out, paths[i]);
		fputc('\n', c->out);
		/* A name that leads to a file no longer trusted means nothing. */
		for (size_t j = 0; j < s.n;) {
			if (s.v[j].link_target && !strcmp(s.v[j].link_target, paths[i])) {
				fputs("removed ", c->out);
				put_safe(c->out, s.v[j].path);
				fputs(" (symlink to it)\n", c->out);
				trust_store_del(&s, s.v[j].path);
				continue;
			}
			j++;
		}
	}
	if (commit(c, &s))
		goto out;
	ret = 0;
out:
	for (i = 0; i < c->nargs; i++)
		free(paths[i]);
	free(paths);
	if (lockfd >= 0)
		close(lockfd);
	trust_store_free(&s);
	return ret;
}

/* ---- import dpkg ----------------------------------------------------- */

/* md5 of a regular file's content, with its stat before (and unchanged after). */
static int md5_file(const char *path, uint8_t out[16], struct stat *st)
{
	struct stat st2;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		err = -EINVAL;
		goto out;
	}
	err = trust_digest_fd(fd, EVP_md5(), out, 16, NULL);
	if (err)
		goto out;
	if (fstat(fd, &st2) || !stat_same(st, &st2))
		err = -EAGAIN;
out:
	close(fd);
	return err;
}

static bool parse_md5(const char *p, uint8_t out[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (!strchr("0123456789abcdefABCDEF", p[2 * i]) || !p[2 * i] ||
		    !strchr("0123456789abcdefABCDEF", p[2 * i + 1]) || !p[2 * i + 1] ||
		    sscanf(p + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct import {
	struct ctx *c;
	struct trust_rec *v;	/* records to merge in */
	size_t n, cap;
	size_t trusted, mismatched, missing, skipped, errors, packages;
};

static int import_push(struct import *im, struct trust_rec *r)
{
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 1024;
		struct trust_rec *v = realloc(im->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		im->v = v;
		im->cap = cap;
	}
	im->v[im->n++] = *r;
	return 0;
}

static void import_report(struct import *im, const char *what, const char *path, const char *pkg)
{
	fprintf(im->c->out, "%s ", what);
	put_safe(im->c->out, path);
	fputs(" (", im->c->out);
	put_safe(im->c->out, pkg);
	fputs(")\n", im->c->out);
}

/* One "md5  relative/path" line of PKG's md5sums. */
static void import_line(struct import *im, const char *file, size_t lineno, char *line,
			const char *pkg, const char *source)
{
	struct trust_rec rec;
	struct stat st, lst;
	uint8_t want[16], got[16];
	char *path = NULL, *rel, why[PATH_MAX + 512];
	int err;

	if (strlen(line) < 34 || !parse_md5(line, want) || line[32] != ' ') {
		say(im->c->err, "import dpkg: %s:%zu: not an \"md5sum  path\" line", file, lineno);
		im->errors++;
		return;
	}
	rel = line + 32;
	while (*rel == ' ')
		rel++;
	if (*rel == '*')	/* md5sum's binary-mode marker */
		rel++;
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	if (!*rel || asprintf(&path, "%s%s", *rel == '/' ? "" : "/", rel) < 0) {
		say(im->c->err, "import dpkg: %s:%zu: no path", file, lineno);
		im->errors++;
		return;
	}
	if (lstat(path, &lst)) {
		if (errno == ENOENT || errno == ENOTDIR) {
			import_report(im, "missing", path, pkg);
			im->missing++;
		} else {
			say(im->c->err, "import dpkg: %s: %s", path, strerror(errno));
			im->errors++;
		}
		goto out;
	}
	if (!S_ISREG(lst.st_mode)) {
		im->skipped++;	/* replaced by a link or a directory: not ours to judge */
		goto out;
	}
	for (int i = 0; i < RETRIES; i++) {
		err = md5_file(path, got, &st);
		if (err != -EAGAIN)
			break;
	}
	if (err == -EINVAL || err == -ELOOP) {
		im->skipped++;
		goto out;
	}
	if (err) {
		say(im->c->err, "import dpkg: %s: %s", path,
		    err == -EAGAIN ? "keeps changing; try again" : strerror(-err));
		im->errors++;
		goto out;
	}
	if (memcmp(got, want, 16)) {
		import_report(im, "mismatch", path, pkg);
		im->mismatched++;
		goto out;
	}
	err = record(path, source, &rec, NULL, why, sizeof(why));
	if (err) {
		say(im->c->err, "import dpkg: %s", why);
		im->errors++;
		goto out;
	}
	/* The file dpkg vouched for must be the one hashed for the record. */
	if (rec.ino != (uint64_t)st.st_ino || rec.size != (uint64_t)st.st_size ||
	    rec.ctime_ns != (int64_t)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec) {
		say(im->c->err, "import dpkg: %s: changed while it was imported; try again", path);
		trust_rec_free(&rec);
		im->errors++;
		goto out;
	}
	if (import_push(im, &rec)) {
		trust_rec_free(&rec);
		say(im->c->err, "import dpkg: out of memory");
		im->errors++;
		goto out;
	}
	im->trusted++;
out:
	free(path);
}

static void import_file(struct import *im, const char *info, const char *name)
{
	char *file = NULL, *pkg, *line = NULL, source[TRUST_SOURCE_MAX + 1];
	size_t cap = 0, lineno = 0;
	ssize_t len;
	FILE *f;

	pkg = strndup(name, strlen(name) - strlen(".md5sums"));
	if (!pkg || asprintf(&file, "%s/%s", info, name) < 0) {
		free(pkg);
		im->errors++;
		return;
	}
	pkg[strcspn(pkg, ":")] = 0;	/* "libc6:amd64" is package libc6 */
	/* Long package names are cut to fit: the source is a label. */
	if (snprintf(source, sizeof(source), "dpkg:%s", pkg) < 0)
		source[0] = 0;
	f = fopen(file, "re");
	if (!f) {
		say(im->c->err, "import dpkg: %s: %s", file, strerror(errno));
		im->errors++;
		goto out;
	}
	im->packages++;
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (!len)
			continue;
		import_line(im, file, lineno, line, pkg, source);
	}
	if (ferror(f)) {
		say(im->c->err, "import dpkg: reading %s: %s", file, strerror(errno));
		im->errors++;
	}
	fclose(f);
out:
	free(line);
	free(file);
	free(pkg);
}

static int cmd_import(struct ctx *c)
{
	struct trust_store s = { 0 };
	struct import im = { .c = c };
	struct dirent *de;
	char *info = NULL, **names = NULL;
	size_t n = 0, cap = 0, i;
	int lockfd = -1, ret = EXIT_FAIL, err;
	DIR *d = NULL;

	if (c->nargs != 1 || strcmp(c->args[0], "dpkg"))
		return usage_error(c, "import wants a source: `import dpkg`%s%s%s",
				   c->nargs ? " (got '" : "", c->nargs ? c->args[0] : "",
				   c->nargs ? "')" : "");
	if (asprintf(&info, "%s/info", c->admindir) < 0)
		return EXIT_FAIL;
	if (open_rw(c, &s, &lockfd))
		goto out;
	d = opendir(info);
	if (!d) {
		say(c->err, "import dpkg: %s: %s (is --admindir dpkg's database?)", info,
		    strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len <= 8 || strcmp(de->d_name + len - 8, ".md5sums"))
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? cap * 2 : 256) * sizeof(*v));

			if (!v) {
				say(c->err, "import dpkg: out of memory");
				goto out;
			}
			names = v;
		}
		if (!(names[n] = strdup(de->d_name))) {
			say(c->err, "import dpkg: out of memory");
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++)
		import_file(&im, info, names[i]);
	fprintf(c->out, "import dpkg: %zu %s: trusted %zu, mismatched %zu, missing %zu, "
		"skipped %zu (not regular files)\n", im.packages,
		im.packages == 1 ? "package" : "packages", im.trusted, im.mismatched, im.missing,
		im.skipped);
	if (im.errors) {
		say(c->err, "import dpkg: %zu %s; the trust store is unchanged", im.errors,
		    im.errors == 1 ? "error" : "errors");
		goto out;
	}
	if (!im.packages) {
		say(c->err, "import dpkg: no *.md5sums files in %s; the trust store is unchanged",
		    info);
		goto out;
	}
	err = merge(&s, im.v, im.n);
	im.n = 0;	/* merge took the records */
	if (err) {
		say(c->err, "import dpkg: %s", strerror(-err));
		goto out;
	}
	if (commit(c, &s))
		goto out;
	ret = 0;
out:
	for (i = 0; i < im.n; i++)
		trust_rec_free(&im.v[i]);
	free(im.v);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d)
		closedir(d);
	free(info);
	if (lockfd >= 0)
		close(lockfd);
	trust_store_free(&s);
	return ret;
}

/* ---- list / verify --------------------------------------------------- */

static struct json_object *rec_json(const struct trust_rec *r)
{
	struct json_object *o = json_object_new_object();
	char hex[65], mode[16];

	json_add_path(o, "path", r->path);
	json_add_path(o, "link_target", r->link_target);
	trust_hex(r->sha256, hex);
	json_object_object_add(o, "sha256", json_object_new_string(hex));
	json_object_object_add(o, "size", json_object_new_uint64(r->size));
	snprintf(mode, sizeof(mode), "%o", (unsigned)r->mode);
	json_object_object_add(o, "mode", json_object_new_string(mode));
	json_object_object_add(o, "uid", json_object_new_int64(r->uid));
	json_object_object_add(o, "gid", json_object_new_int64(r->gid));
	json_object_object_add(o, "dev", json_object_new_uint64(r->dev));
	json_object_object_add(o, "ino", json_object_new_uint64(r->ino));
	json_object_object_add(o, "ctime_ns", json_object_new_int64(r->ctime_ns));
	json_object_object_add(o, "mtime_ns", json_object_new_int64(r->mtime_ns));
	json_object_object_add(o, "added_ns", json_object_new_int64(r->added_ns));
	json_object_object_add(o, "source", json_object_new_string(r->source));
	return o;
}

static int cmd_list(struct ctx *c)
{
	struct trust_store s = { 0 };
	char hex[65];

	if (c->nargs)
		return usage_error(c, "list takes no arguments, got '%s'", c->args[0]);
	if (open_ro(c, &s))
		return EXIT_FAIL;
	if (c->json) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < s.n; i++)
			json_object_array_add(a, rec_json(&s.v[i]));
		json_print(c->out, a);
		json_object_put(a);
	} else {
		for (size_t i = 0; i < s.n; i++) {
			const struct trust_rec *r = &s.v[i];

			trust_hex(r->sha256, hex);
			fprintf(c->out, "%s %10" PRIu64 " ", hex, r->size);
			put_safe(c->out, r->source);
			fputc(' ', c->out);
			put_safe(c->out, r->path);
			if (r->link_target) {
				fputs(" -> ", c->out);
				put_safe(c->out, r->link_target);
			}
			fputc('\n', c->out);
		}
		if (!s.n)
			say(c->err, "no trusted files in %s", c->dir);
	}
	trust_store_free(&s);
	return 0;
}

enum verdict { V_OK, V_TAINTED, V_MISSING, V_ERROR };

/* Which recorded fields no longer hold; "" when none. */
static void diff_fields(const struct trust_rec *want, const struct trust_rec *now, char *buf,
			size_t len)
{
	size_t n = 0;

#define FIELD(cond, name) \
	do { \
		if ((cond) && n < len) \
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", name); \
	} while (0)
	buf[0] = 0;
	FIELD(memcmp(want->sha256, now->sha256, 32), "content");
	FIELD(want->size != now->size, "size");
	FIELD(want->mode != now->mode, "mode");
	FIELD(want->uid != now->uid, "uid");
	FIELD(want->gid != now->gid, "gid");
	FIELD(want->ctime_ns != now->ctime_ns, "ctime");
	FIELD(want->mtime_ns != now->mtime_ns, "mtime");
	FIELD(want->dev != now->dev || want->ino != now->ino, "inode");
#undef FIELD
}

static enum verdict verify_one(const struct trust_rec *r, char *fields, size_t flen,
			       char *why, size_t whylen)
{
	struct trust_rec now, link;
	enum verdict v;
	int err;

	fields[0] = why[0] = 0;
	err = record(r->path, r->source, &now, &link, why, whylen);
	if (err == -ENOENT)
		return V_MISSING;
	if (err == -EINVAL || err == -ELOOP) {
		/* Something else is there now: not the file that was trusted. */
		snprintf(fields, flen, "type");
		return V_TAINTED;
	}
	if (err)
		return V_ERROR;
	diff_fields(r, &now, fields, flen);
	if (r->link_target && (!link.path || strcmp(link.link_target, r->link_target))) {
		size_t n = strlen(fields);

		snprintf(fields + n, flen - n, "%slink", n ? ", " : "");
	} else if (!r->link_target && link.path) {
		size_t n = strlen(fields);

		snprintf(fields + n, flen - n, "%stype", n ? ", " : "");
	}
	v = fields[0] ? V_TAINTED : V_OK;
	trust_rec_free(&now);
	trust_rec_free(&link);
	return v;
}

static int cmd_verify(struct ctx *c)
{
	static const char *const names[] = { "ok", "tainted", "missing", "error" };
	struct trust_store s = { 0 };
	struct json_object *results = NULL, *top = NULL;
	size_t count[4] = { 0 };
	char fields[128], why[PATH_MAX + 512];
	int ret;

	if (c->nargs)
		return usage_error(c, "verify takes no arguments, got '%s'", c->args[0]);
	if (open_ro(c, &s))
		return EXIT_FAIL;
	if (c->json)
		results = json_object_new_array();
	for (size_t i = 0; i < s.n; i++) {
		const struct trust_rec *r = &s.v[i];
		enum verdict v = verify_one(r, fields, sizeof(fields), why, sizeof(why));

		count[v]++;
		if (c->json) {
			struct json_object *o = json_object_new_object(), *fa;

			json_add_path(o, "path", r->path);
			json_add_path(o, "link_target", r->link_target);
			json_object_object_add(o, "status", json_object_new_string(names[v]));
			fa = json_object_new_array();
			for (char *f = fields; *f;) {
				size_t l = strcspn(f, ",");

				json_object_array_add(fa, json_object_new_string_len(f, (int)l));
				f += l;
				while (*f == ',' || *f == ' ')
					f++;
			}
			json_object_object_add(o, "fields", fa);
			if (v == V_ERROR)
				json_object_object_add(o, "error", json_object_new_string(why));
			json_object_array_add(results, o);
			continue;
		}
		if (v == V_OK)
			continue;
		fprintf(c->out, "%s ", names[v]);
		put_safe(c->out, r->path);
		if (v == V_TAINTED)
			fprintf(c->out, ": %s", fields);
		if (v == V_ERROR) {
			fputs(": ", c->out);
			put_safe(c->out, why);
		}
		fputc('\n', c->out);
	}
	if (c->json) {
		top = json_object_new_object();
		json_object_object_add(top, "generation", json_object_new_uint64(s.generation));
		json_object_object_add(top, "from_spare", json_object_new_boolean(s.from_spare));
		json_object_object_add(top, "records", json_object_new_uint64(s.n));
		for (int k = 0; k < 4; k++)
			json_object_object_add(top, names[k], json_object_new_uint64(count[k]));
		json_object_object_add(top, "results", results);
		json_print(c->out, top);
		json_object_put(top);
	} else {
		fprintf(c->out, "verify: %zu %s: %zu ok, %zu tainted, %zu missing, %zu unreadable\n",
			s.n, s.n == 1 ? "record" : "records", count[V_OK], count[V_TAINTED],
			count[V_MISSING], count[V_ERROR]);
	}
	ret = count[V_OK] == s.n ? 0 : EXIT_FAIL;
	trust_store_free(&s);
	return ret;
}

/* ---- dispatch -------------------------------------------------------- */

/* "--name VALUE" or "--name=VALUE": 1 taken (advances *i), 0 not this option, -1 no value. */
static int opt_value(char **argv, int argc, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return **val ? 1 : -1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc || !argv[*i + 1][0])
		return -1;
	*val = argv[++*i];
	return 1;
}

int trust_cli_run(int argc, char **argv, FILE *out, FILE *err)
{
	static const char *const valued[] = { "--dir", "--bpffs", "--mode", "--admindir" };
	struct ctx c = {
		.out = out, .err = err, .dir = VIGIL_TRUST_DIR_DEFAULT,
		.bpffs = VIGIL_BPFFS_DEFAULT, .admindir = DPKG_ADMINDIR_DEFAULT,
	};
	const char *admindir = NULL, *cmd;
	bool options = true, help = false;
	char **pos;
	size_t np = 0;
	int ret;

	pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (!pos) {
		say(err, "out of memory");
		return EXIT_FAIL;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		int k = 0;
		size_t o;

		if (!options || a[0] != '-' || !a[1]) {
			pos[np++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			options = false;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help = true;
			continue;
		}
		if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
			c.json = true;
			continue;
		}
		for (o = 0; o < sizeof(valued) / sizeof(valued[0]); o++)
			if ((k = opt_value(argv, argc, &i, valued[o], &v)))
				break;
		if (k < 0) {
			ret = usage_error(&c, "%s wants a value", valued[o]);
			goto out;
		}
		if (k == 0) {
			ret = usage_error(&c, "unknown option '%s'", a);
			goto out;
		}
		switch (o) {
		case 0: c.dir = v; break;
		case 1: c.bpffs = v; break;
		case 2: c.mode = v; break;
		default: admindir = v; break;
		}
	}
	if (help || (np && !strcmp(pos[0], "help"))) {
		fputs(trust_usage, out);
		ret = 0;
		goto out;
	}
	if (!np) {
		ret = usage_error(&c, "no command given");
		goto out;
	}
	cmd = pos[0];
	c.args = pos + 1;
	c.nargs = np - 1;
	if (admindir)
		c.admindir = admindir;
	if (c.mode && strcmp(cmd, "install")) {
		ret = usage_error(&c, "--mode applies to install only");
		goto out;
	}
	if (admindir && strcmp(cmd, "import")) {
		ret = usage_error(&c, "--admindir applies to import only");
		goto out;
	}
	if (c.json && strcmp(cmd, "list") && strcmp(cmd, "verify")) {
		ret = usage_error(&c, "--json applies to list and verify only");
		goto out;
	}
	if (!strcmp(cmd, "install"))
		ret = cmd_install(&c);
	else if (!strcmp(cmd, "add"))
		ret = cmd_add(&c);
	else if (!strcmp(cmd, "import"))
		ret = cmd_import(&c);
	else if (!strcmp(cmd, "remove"))
		ret = cmd_remove(&c);
	else if (!strcmp(cmd, "list"))
		ret = cmd_list(&c);
	else if (!strcmp(cmd, "verify"))
		ret = cmd_verify(&c);
	else if (!strcmp(cmd, "off") || !strcmp(cmd, "on"))
		ret = cmd_switch(&c, !strcmp(cmd, "off"));
	else if (!strcmp(cmd, "status"))
		ret = cmd_status(&c);
	else
		ret = usage_error(&c, "unknown command '%s'", cmd);
out:
	free(pos);
	fflush(out);
	return ret;
}

/* ---- the emergency switch --------------------------------------------- */

static int cmd_switch(struct ctx *c, bool off)
{
	char why[512] = "";

	if (c->nargs) {
		say(c->err, "%s takes no arguments", off ? "off" : "on");
		return EXIT_USAGE;
	}
	if (trustmap_switch(c->bpffs, off, why, sizeof(why))) {
		say(c->err, "%s", why);
		return EXIT_FAIL;
	}
	fprintf(c->out, "trust enforcement switched %s\n", off ? "off: every file may run" :
		"on: the TrustPolicy applies again");
	return 0;
}

static const char *mode_word(uint8_t m)
{
	return m == VIGIL_TRUST_ENFORCE ? "enforce" : m == VIGIL_TRUST_AUDIT ? "audit" : "off";
}

static int cmd_status(struct ctx *c)
{
	struct trustmap_state st;
	int err;

	if (c->nargs) {
		say(c->err, "status takes no arguments");
		return EXIT_USAGE;
	}
	err = trustmap_state(c->bpffs, &st);
	if (err == -ENOENT) {
		fprintf(c->out, "enforcement: not pinned under %s/trust (no TrustPolicy has been "
			"loaded since boot, or it was removed)\n", c->bpffs);
		return 0;
	}
	if (err) {
		say(c->err, "reading the pinned trust maps under %s/trust: %s", c->bpffs,
		    strerror(-err));
		return EXIT_FAIL;
	}
	fprintf(c->out, "enforcement: pinned under %s/trust, switched %s\n", c->bpffs,
		st.switched_off ? "off (`vigil trust on` to resume)" : "on");
	fprintf(c->out, "policy generation %u: host processes %s; containers not classified "
		"yet %s; %u containers with a mode of their own\n", st.cfg.generation,
		mode_word(st.cfg.host.mode), mode_word(st.cfg.ctr_default.mode), st.scopes);
	fprintf(c->out, "trusted inodes in the kernel map: %u\n", st.inodes);
	return 0;
}

int trust_main(int argc, char **argv)
{
	return trust_cli_run(argc, argv, stdout, stderr);
}
