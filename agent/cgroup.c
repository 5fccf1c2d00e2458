/*
 * cgroup.c - cgroup layout discovery, cgroup id -> path resolution, and
 * container attribution from a cgroup path.  Nothing here prints or talks to
 * a container runtime; callers decide what to do with the answers.
 *
 * How attribution works, and why it is path-based
 * ------------------------------------------------
 * The BPF side can only hand us a cgroup id cheaply, and every runtime
 * already encodes who owns a cgroup in its path: docker names its cgroups
 * after the container id, the kubelet names pod cgroups after the pod UID and
 * puts them under a QoS-class parent.  Reading the path is free, works for
 * processes that have already exited, needs no runtime socket (which the
 * agent may not be allowed to reach and which would make it depend on the
 * runtime's health), and is a pure function we can pin down with tables of
 * real layouts.  The price is that we only learn what the path says: the id
 * and pod UID, never names or labels.
 *
 * The path is read one segment at a time, left to right:
 *
 *   - A "kubepods" segment (cgroupfs) or a "kubepods" token inside a systemd
 *     "*.slice" name opens the Kubernetes context.  After it, "burstable" or
 *     "besteffort" sets the QoS class (no such segment means guaranteed), and
 *     "pod<uid>" names the pod.  systemd escapes the UID's dashes as
 *     underscores in slice names; we turn them back into dashes.  Static pods
 *     have a 32-hex UID (a hash of their manifest) and are accepted too.
 *   - A container segment is either a runtime-prefixed name ("docker-<id>.scope",
 *     "cri-containerd-<id>.scope", "crio-<id>[.scope]", "libpod-<id>[.scope]")
 *     or a bare 64-hex id, whose runtime is told by its context: after
 *     "docker" it is docker's cgroupfs driver, inside a pod it is a CRI
 *     runtime we cannot name (VIGIL_RT_KUBEPODS).  "crio-conmon-" and
 *     "libpod-conmon-" are the runtime's monitor process, not a container, so
 *     they keep the runtime but leave the id empty.
 *   - The first runtime-specific match ends the scan, so anything nested below
 *     a container (systemd inside the container, docker-in-docker, init.scope)
 *     belongs to the outermost container - which is what a node agent owns
 *     and can act on.  A bare id with no context, or an unknown
 *     "<x>-<id>.scope", is only a tentative VIGIL_RT_UNKNOWN that a later,
 *     specific match replaces (podman's "/libpod_parent/<pod id>/libpod-<id>").
 *
 * Ids must be exactly 64 lower-case hex digits and pod UIDs exactly the
 * UUID shape; anything else is treated as an ordinary directory name, so a
 * look-alike degrades to "host" or "pod-level", never to a wrong container.
 * The invariants callers may rely on: the return value is
 * (runtime != VIGIL_RT_HOST), and qos != VIGIL_QOS_NONE exactly when pod_uid
 * is set.  The scan is O(length of path) and allocates nothing.
 *
 * The path has the same shape in every hierarchy, so this works the same for
 * v1, v2 and hybrid hosts; cgroup_path_from_id() produces such paths.
 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- path attribution ---------------------------------------------------- */

struct seg {
	const char *s;
	size_t n;
};

static bool seg_is(struct seg g, const char *lit)
{
	size_t n = strlen(lit);

	return g.n == n && memcmp(g.s, lit, n) == 0;
}

static bool seg_eat_prefix(struct seg *g, const char *lit)
{
	size_t n = strlen(lit);

	if (g->n < n || memcmp(g->s, lit, n) != 0)
		return false;
	g->s += n;
	g->n -= n;
	return true;
}

static bool seg_eat_suffix(struct seg *g, const char *lit)
{
	size_t n = strlen(lit);

	if (g->n < n || memcmp(g->s + g->n - n, lit, n) != 0)
		return false;
	g->n -= n;
	return true;
}

static bool is_lhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_id64(struct seg g)
{
	if (g.n != VIGIL_CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < g.n; i++)
		if (!is_lhex(g.s[i]))
			return false;
	return true;
}

/*
 * "pod" + UID.  `sep` is '-' for cgroupfs and '_' inside systemd slice names.
 * A 32-hex UID is what the kubelet gives static pods (manifest hash).
 */
static bool parse_pod_uid(struct seg g, char sep, char out[VIGIL_POD_UID_LEN + 1])
{
	if (!seg_eat_prefix(&g, "pod"))
		return false;
	if (g.n != 32 && g.n != VIGIL_POD_UID_LEN)
		return false;
	for (size_t i = 0; i < g.n; i++) {
		bool dash = g.n == VIGIL_POD_UID_LEN &&
			    (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? g.s[i] != sep : !is_lhex(g.s[i]))
			return false;
	}
	memcpy(out, g.s, g.n);
	out[g.n] = '\0';
	if (sep != '-')
		for (char *p = out; (p = strchr(p, sep));)
			*p = '-';
	return true;
}

static const struct {
	const char *prefix;
	enum vigil_runtime rt;
	bool conmon;		/* runtime monitor: attribute to the pod only */
	bool scope_only;	/* the prefix only exists as a systemd scope */
} prefixed[] = {
	{ "docker-",		VIGIL_RT_DOCKER,	false, true  },
	{ "cri-containerd-",	VIGIL_RT_CONTAINERD,	false, true  },
	{ "crio-conmon-",	VIGIL_RT_CRIO,		true,  false },
	{ "crio-",		VIGIL_RT_CRIO,		false, false },
	{ "libpod-conmon-",	VIGIL_RT_PODMAN,	true,  false },
	{ "libpod-",		VIGIL_RT_PODMAN,	false, false },
};

/* A runtime-prefixed container segment; *id is left pointing at the hex. */
static bool match_prefixed(struct seg g, enum vigil_runtime *rt, bool *conmon,
			   struct seg *id)
{
	bool scope = seg_eat_suffix(&g, ".scope");

	for (size_t i = 0; i < sizeof(prefixed) / sizeof(prefixed[0]); i++) {
		struct seg rest = g;

		if (!seg_eat_prefix(&rest, prefixed[i].prefix))
			continue;
		if (!is_id64(rest) || (prefixed[i].scope_only && !scope))
			continue;
		*rt = prefixed[i].rt;
		*conmon = prefixed[i].conmon;
		*id = rest;
		return true;
	}
	return false;
}

/* "<anything>-<id>.scope" from a runtime we do not know by name. */
static bool match_unknown_scope(struct seg g, struct seg *id)
{
	if (!seg_eat_suffix(&g, ".scope") || g.n < VIGIL_CONTAINER_ID_LEN + 2)
		return false;
	id->s = g.s + g.n - VIGIL_CONTAINER_ID_LEN;
	id->n = VIGIL_CONTAINER_ID_LEN;
	return id->s[-1] == '-' && is_id64(*id);
}

struct kube_state {
	bool in_kube;
	bool have_pod;
	enum vigil_qos qos;
	char pod_uid[VIGIL_POD_UID_LEN + 1];
};

static void qos_token(struct kube_state *k, struct seg t)
{
	if (seg_is(t, "burstable"))
		k->qos = VIGIL_QOS_BURSTABLE;
	else if (seg_is(t, "besteffort"))
		k->qos = VIGIL_QOS_BESTEFFORT;
}

/*
 * systemd spells the whole ancestry into each slice name, e.g.
 * "kubepods-burstable-pod<uid_with_underscores>.slice", so one segment can
 * open the context, set the class and name the pod at once.
 */
static void kube_slice(struct kube_state *k, struct seg g)
{
	const char *end = g.s + g.n;

	for (const char *p = g.s; p < end;) {
		const char *q = memchr(p, '-', (size_t)(end - p));
		struct seg t = { p, (size_t)((q ? q : end) - p) };

		if (seg_is(t, "kubepods")) {
			k->in_kube = true;
			k->qos = VIGIL_QOS_GUARANTEED;
		} else if (k->in_kube && !k->have_pod) {
			qos_token(k, t);
			if (!q && parse_pod_uid(t, '_', k->pod_uid))
				k->have_pod = true;
		}
		p = q ? q + 1 : end;
	}
}

static void kube_cgroupfs(struct kube_state *k, struct seg g, struct seg prev)
{
	if (seg_is(g, "kubepods")) {
		k->in_kube = true;
		k->qos = VIGIL_QOS_GUARANTEED;
	} else if (k->in_kube && !k->have_pod) {
		if (seg_is(prev, "kubepods"))
			qos_token(k, g);
		if (parse_pod_uid(g, '-', k->pod_uid))
			k->have_pod = true;
	}
}

bool cgroup_parse_path(const char *path, struct vigil_container *out)
{
	struct kube_state k = { 0 };
	struct seg prev = { "", 0 }, id = { "", 0 }, tentative = { "", 0 };
	enum vigil_runtime rt = VIGIL_RT_HOST;
	bool found = false;

	memset(out, 0, sizeof(*out));
	for (const char *p = path ? path : ""; *p && !found;) {
		struct seg g, slice, cand;
		bool conmon = false;

		while (*p == '/')
			p++;
		g.s = p;
		p += strcspn(p, "/");
		g.n = (size_t)(p - g.s);
		if (!g.n)
			break;

		slice = g;
		if (seg_eat_suffix(&slice, ".slice")) {
			kube_slice(&k, slice);
		} else if (match_prefixed(g, &rt, &conmon, &id)) {
			if (conmon)
				id.n = 0;
			found = true;
		} else if (is_id64(g) && (seg_is(prev, "docker") || k.have_pod)) {
			rt = k.have_pod ? VIGIL_RT_KUBEPODS : VIGIL_RT_DOCKER;
			id = g;
			found = true;
		} else if (is_id64(g) || match_unknown_scope(g, &cand)) {
			if (!tentative.n)
				tentative = is_id64(g) ? g : cand;
		} else {
			kube_cgroupfs(&k, g, prev);
		}
		prev = g;
	}

	if (!found) {
		id = tentative;
		rt = tentative.n ? VIGIL_RT_UNKNOWN :
		     k.have_pod ? VIGIL_RT_KUBEPODS : VIGIL_RT_HOST;
	}
	/*
	 * A docker id inside a pod (dockershim, cri-dockerd) still belongs to
	 * the pod; a bare /kubepods/burstable without a pod is not a pod.
	 */
	if (k.have_pod && rt != VIGIL_RT_HOST) {
		memcpy(out->pod_uid, k.pod_uid, sizeof(out->pod_uid));
		out->qos = k.qos;
	}
	out->runtime = rt;
	memcpy(out->id, id.s, id.n);
	out->id[id.n] = '\0';
	return rt != VIGIL_RT_HOST;
}

const char *cgroup_runtime_name(enum vigil_runtime rt)
{
	static const char *const names[] = {
		[VIGIL_RT_HOST] = "host",
		[VIGIL_RT_DOCKER] = "docker",
		[VIGIL_RT_CONTAINERD] = "containerd",
		[VIGIL_RT_CRIO] = "crio",
		[VIGIL_RT_PODMAN] = "podman",
		[VIGIL_RT_KUBEPODS] = "kubepods",
		[VIGIL_RT_UNKNOWN] = "unknown",
	};

	if ((unsigned)rt >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[rt];
}

const char *cgroup_qos_name(enum vigil_qos qos)
{
	static const char *const names[] = {
		[VIGIL_QOS_NONE] = "",
		[VIGIL_QOS_GUARANTEED] = "guaranteed",
		[VIGIL_QOS_BURSTABLE] = "burstable",
		[VIGIL_QOS_BESTEFFORT] = "besteffort",
	};

	if ((unsigned)qos >= sizeof(names) / sizeof(names[0]))
		return "";
	return names[qos];
}

const char *cgroup_mode_name(enum vigil_cgroup_mode mode)
{
	static const char *const names[] = {
		[VIGIL_CGROUP_NONE] = "none",
		[VIGIL_CGROUP_V1] = "v1",
		[VIGIL_CGROUP_V2] = "v2",
		[VIGIL_CGROUP_HYBRID] = "hybrid",
	};

	if ((unsigned)mode >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[mode];
}

/* ---- layout discovery ---------------------------------------------------- */

/*
 * mountinfo escapes ' ', '\t', '\n' and '\\' in paths as "\ooo".  Returns
 * false if the result does not fit: a truncated mount point is useless.
 */
static bool unescape(struct seg g, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < g.n; i++) {
		char c = g.s[i];

		if (c == '\\' && i + 3 < g.n &&
		    g.s[i + 1] >= '0' && g.s[i + 1] <= '3' &&
		    g.s[i + 2] >= '0' && g.s[i + 2] <= '7' &&
		    g.s[i + 3] >= '0' && g.s[i + 3] <= '7') {
			c = (char)((g.s[i + 1] - '0') << 6 |
				   (g.s[i + 2] - '0') << 3 | (g.s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= len)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

/*
 * The v1 super options mix controllers with hierarchy flags; keep only what
 * names the hierarchy ("memory", "cpu", "name=systemd") so that lookups by
 * controller are exact.
 */
static bool v1_controllers(struct seg opts, char *out, size_t len)
{
	static const char *const flags[] = {
		"rw", "ro", "none", "noprefix", "clone_children", "xattr",
		"cpuset_v2_mode", "favordynmods",
	};
	const char *end = opts.s + opts.n;
	size_t o = 0;

	for (const char *p = opts.s; p < end;) {
		const char *q = memchr(p, ',', (size_t)(end - p));
		struct seg t = { p, (size_t)((q ? q : end) - p) };
		bool keep = t.n > 0;

		p = q ? q + 1 : end;
		for (size_t i = 0; keep && i < sizeof(flags) / sizeof(flags[0]); i++)
			keep = !seg_is(t, flags[i]);
		if (keep && memchr(t.s, '=', t.n)) {
			struct seg name = t;

			keep = seg_eat_prefix(&name, "name=");
		}
		if (!keep)
			continue;
		if (o + (o ? 1 : 0) + t.n + 1 > len)
			return false;
		if (o)
			out[o++] = ',';
		memcpy(out + o, t.s, t.n);
		o += t.n;
	}
	out[o] = '\0';
	return o > 0;
}

static int v2_rank(const char *mnt)
{
	if (!strcmp(mnt, "/sys/fs/cgroup"))
		return 3;
	if (!strcmp(mnt, "/sys/fs/cgroup/unified"))
		return 2;
	return 1;
}

#define MI_MAX_FIELDS 64

/*
 * Line format (proc(5)):
 *   id parent maj:min root mountpoint opts [optional...] - fstype source super
 * Lines we cannot make sense of are skipped rather than failing the whole
 * parse: a future kernel adding a field must not blind the agent.
 */
int cgroup_layout_parse(const char *text, struct vigil_cgroup_layout *out)
{
	int best_v2 = 0;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!text)
		return -EINVAL;

	for (const char *line = text; *line;) {
		const char *eol = line + strcspn(line, "\n");
		struct seg f[MI_MAX_FIELDS];
		int nf = 0, dash = -1;
		char mnt[sizeof(out->v2_mount)];

		for (const char *p = line; p < eol && nf < MI_MAX_FIELDS;) {
			while (p < eol && *p == ' ')
				p++;
			if (p == eol)
				break;
			f[nf].s = p;
			while (p < eol && *p != ' ')
				p++;
			f[nf].n = (size_t)(p - f[nf].s);
			if (dash < 0 && nf >= 6 && seg_is(f[nf], "-"))
				dash = nf;
			nf++;
		}
		line = *eol ? eol + 1 : eol;
		if (dash < 0 || dash + 3 >= nf || !unescape(f[4], mnt, sizeof(mnt)))
			continue;

		if (seg_is(f[dash + 1], "cgroup2")) {
			int rank = v2_rank(mnt);

			if (rank > best_v2) {
				best_v2 = rank;
				strcpy(out->v2_mount, mnt);
			}
		} else if (seg_is(f[dash + 1], "cgroup") && out->n_v1 < VIGIL_CG_MAX_V1) {
			char ctl[sizeof(out->v1[0].controllers)];
			bool dup = false;

			if (!v1_controllers(f[dash + 3], ctl, sizeof(ctl)))
				continue;
			/* A hierarchy bind-mounted twice: the first mount wins. */
			for (int i = 0; i < out->n_v1 && !dup; i++)
				dup = !strcmp(out->v1[i].controllers, ctl);
			if (dup)
				continue;
			strcpy(out->v1[out->n_v1].controllers, ctl);
			strcpy(out->v1[out->n_v1].mount, mnt);
			out->n_v1++;
		}
	}

	if (out->v2_mount[0] && out->n_v1)
		out->mode = VIGIL_CGROUP_HYBRID;
	else if (out->v2_mount[0])
		out->mode = VIGIL_CGROUP_V2;
	else if (out->n_v1)
		out->mode = VIGIL_CGROUP_V1;
	else
		out->mode = VIGIL_CGROUP_NONE;
	return 0;
}

/* Whole file into a NUL-terminated heap buffer; procfs sizes are unknown. */
static int read_all(const char *path, char **res)
{
	size_t cap = 16384, len = 0;
	char *buf = malloc(cap), *nbuf;
	int fd, err = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 2) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				err = -ENOMEM;
				goto out;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
out:
	if (fd >= 0)
		close(fd);
	if (err)
		free(buf);
	else
		*res = buf;
	return err;
}

int cgroup_layout_detect(struct vigil_cgroup_layout *out)
{
	char path[sizeof(out->v2_mount) + 32], *text = NULL, *ctl = NULL;
	size_t a, b;
	int err;

	err = read_all("/proc/self/mountinfo", &text);
	if (err) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	err = cgroup_layout_parse(text, out);
	free(text);
	if (err || !out->v2_mount[0])
		return err;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", out->v2_mount);
	err = read_all(path, &ctl);
	if (err)
		return err;
	a = strspn(ctl, " \t\n");
	b = strlen(ctl);
	while (b > a && strchr(" \t\n", ctl[b - 1]))
		b--;
	if (b - a >= sizeof(out->v2_controllers)) {
		err = -ENAMETOOLONG;
	} else {
		memcpy(out->v2_controllers, ctl + a, b - a);
		out->v2_controllers[b - a] = '\0';
	}
	free(ctl);
	return err;
}

const char *cgroup_layout_v1_mount(const struct vigil_cgroup_layout *l, const char *controller)
{
	struct seg want;

	if (!l || !controller || !*controller)
		return NULL;
	want.s = controller;
	want.n = strlen(controller);
	for (int i = 0; i < l->n_v1 && i < VIGIL_CG_MAX_V1; i++) {
		const char *p = l->v1[i].controllers;

		for (;;) {
			struct seg t = { p, strcspn(p, ",") };

			if (t.n == want.n && !memcmp(t.s, want.s, t.n))
				return l->v1[i].mount;
			if (!p[t.n])
				break;
			p += t.n + 1;
		}
	}
	return NULL;
}

/* ---- id -> path ---------------------------------------------------------- */

#define FILEID_KERNFS 0xfe

/*
 * Fallback when open_by_handle_at() is refused: without CAP_DAC_READ_SEARCH,
 * under a seccomp profile that blocks it (docker's default one does), or on
 * a filesystem without export support.  kernfs reports the node id as d_ino
 * in readdir, so a walk finds the directory without a stat per entry.  It is
 * bounded in depth and in entries visited so that a huge tree costs a known
 * worst case instead of stalling the caller.
 */
#define WALK_MAX_DEPTH 32
#define WALK_MAX_ENTRIES 200000

static int walk_find(int fd, uint64_t id, char *path, size_t len, size_t at,
		     int depth, unsigned *budget)
{
	DIR *d;
	struct dirent *de;
	int err = -ENOENT;

	if (depth > WALK_MAX_DEPTH) {
		close(fd);
		return -ENOENT;
	}
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		return err;
	}
	while (err == -ENOENT && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		int sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") ||
		    !strcmp(de->d_name, ".."))
			continue;
		if (!(*budget)--) {
			err = -E2BIG;
			break;
		}
		if (at + 1 + n + 1 > len)
			continue;	/* deeper than PATH_MAX: unreachable by path */
		path[at] = '/';
		memcpy(path + at + 1, de->d_name, n + 1);
		if ((uint64_t)de->d_ino == id) {
			err = 0;
			break;
		}
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue;	/* removed meanwhile, or not ours to read */
		err = walk_find(sub, id, path, len, at + 1 + n, depth + 1, budget);
	}
	closedir(d);
	return err;
}

/* Fills `path` (PATH_MAX bytes) with the path relative to the mount. */
static int path_by_walk(int mfd, uint64_t id, char *path)
{
	struct stat st;
	unsigned budget = WALK_MAX_ENTRIES;
	int dfd;

	if (fstat(mfd, &st))
		return -errno;
	if ((uint64_t)st.st_ino == id) {
		strcpy(path, "/");
		return 0;
	}
	dfd = openat(mfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	return walk_find(dfd, id, path, PATH_MAX, 0, 0, &budget);
}

static int fd_path(int fd, char *buf, size_t len)
{
	char proc[32];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, len);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

/*
 * The path of the handle's fd relative to the mount, computed from the
 * kernel's own d_path() of both, so the caller's spelling of `mount` (a
 * trailing slash, a symlink) does not matter.
 */
static int path_of_fd(int mfd, int fd, char *full, const char **rel)
{
	char root[PATH_MAX];
	size_t n;
	int err;

	err = fd_path(mfd, root, sizeof(root));
	if (!err)
		err = fd_path(fd, full, PATH_MAX);
	if (err)
		return err;
	/*
	 * Removed after the lookup: d_path() then appends " (deleted)".  A
	 * directory really named so still resolves to our inode.
	 */
	n = strlen(full);
	if (n > 10 && !strcmp(full + n - 10, " (deleted)")) {
		struct stat a, b;

		if (fstat(fd, &a) || stat(full, &b) || a.st_ino != b.st_ino ||
		    a.st_dev != b.st_dev)
			return -ENOENT;
	}
	n = strcmp(root, "/") ? strlen(root) : 0;
	if (strncmp(full, root, n) || (full[n] && full[n] != '/'))
		return -EXDEV;	/* outside this mount's root (a bind-mounted subtree) */
	*rel = full[n] ? full + n : "/";
	return 0;
}

int cgroup_path_from_id(const char *mount, uint64_t id, char *buf, size_t len)
{
	union {
		struct file_handle fh;
		char raw[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	const char *rel = NULL;
	char *full;
	int mfd, fd, err;

	if (!mount || !buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	mfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	full = malloc(PATH_MAX);
	if (!full) {
		close(mfd);
		return -ENOMEM;
	}

	h.fh.handle_bytes = sizeof(uint64_t);
	h.fh.handle_type = FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mfd, &h.fh, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		err = path_of_fd(mfd, fd, full, &rel);
		close(fd);
	} else if (errno == EPERM || errno == EACCES || errno == ENOSYS ||
		   errno == EOPNOTSUPP) {
		err = path_by_walk(mfd, id, full);
		rel = full;
	} else {
		/* ESTALE: kernfs has no live node with this id. */
		err = errno == ESTALE ? -ENOENT : -errno;
	}

	if (!err && strlen(rel) >= len)
		err = -ENAMETOOLONG;
	if (!err)
		strcpy(buf, rel);
	free(full);
	close(mfd);
	return err;
}

int cgroup_v1_hierarchy_id_parse(const char *text, const char *controller)
{
	const char *line = text;
	char name[64];
	int id, n;

	while (line && *line) {
		if (*line != '#' && sscanf(line, "%63s %d%n", name, &id, &n) == 2 &&
		    !strcmp(name, controller))
			return id > 0 ? id : -ENOENT;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

int cgroup_v1_hierarchy_id(const char *controller)
{
	char buf[4096];
	ssize_t n;
	int fd = open("/proc/cgroups", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return cgroup_v1_hierarchy_id_parse(buf, controller);
}
