/*
 * cgns.c - translating /proc/PID/cgroup paths read in a private cgroup
 * namespace back to the hierarchy's mount (see cgns.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgns.h"

/* mountinfo escapes ' ', '\t', '\n' and '\\' as "\ooo". */
static int unescape_field(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = 0;
	return 0;
}

int cgns_mount_root(const char *mountinfo, const char *mount, char *root, size_t len)
{
	char mnt[PATH_MAX];
	int found = -ENOENT;

	if (!mountinfo || !mount || !root || !len)
		return -EINVAL;
	for (const char *line = mountinfo; *line;) {
		const char *eol = line + strcspn(line, "\n");
		const char *f[5];
		size_t fl[5];
		int nf = 0;

		/* id parent maj:min root mountpoint ... */
		for (const char *p = line; p < eol && nf < 5;) {
			while (p < eol && *p == ' ')
				p++;
			if (p == eol)
				break;
			f[nf] = p;
			while (p < eol && *p != ' ')
				p++;
			fl[nf] = (size_t)(p - f[nf]);
			nf++;
		}
		line = *eol ? eol + 1 : eol;
		if (nf < 5 || unescape_field(f[4], fl[4], mnt, sizeof(mnt)) < 0 || strcmp(mnt, mount))
			continue;
		/* The last line wins: a later mount on the same point covers the earlier. */
		found = unescape_field(f[3], fl[3], root, len);
		if (!found && root[0] != '/')
			found = -EINVAL;
	}
	return found;
}

int cgns_root_depth(const char *root)
{
	const char *p = root;
	int d = 0;

	if (!p || *p != '/')
		return -EINVAL;
	if (!strcmp(p, "/"))
		return 0;
	while (*p) {
		if (strncmp(p, "/..", 3) || (p[3] && p[3] != '/'))
			return -EINVAL;
		if (++d > CGNS_MAX_DEPTH)
			return -EINVAL;
		p += 3;
	}
	return d;
}

/* Append path's segments to out (length *o), resolving "." and "..". */
static int push_segments(const char *path, char *out, size_t *o, size_t len)
{
	const char *p = path;

	while (*p) {
		const char *s;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (n == 1 && s[0] == '.')
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (!*o)
				return -ERANGE;
			while (*o && out[*o - 1] != '/')
				(*o)--;
			(*o)--;	/* the '/' before the dropped segment */
			continue;
		}
		if (*o + 1 + n + 1 > len)
			return -ENAMETOOLONG;
		out[(*o)++] = '/';
		memcpy(out + *o, s, n);
		*o += n;
	}
	return 0;
}

int cgns_join(const char *base, const char *path, char *out, size_t len)
{
	size_t o = 0;
	int err;

	if (!base || !path || !out || *base != '/' || *path != '/')
		return -EINVAL;
	if (len < 2)
		return -ENAMETOOLONG;
	if ((err = push_segments(base, out, &o, len)) < 0 ||
	    (err = push_segments(path, out, &o, len)) < 0)
		return err;
	if (!o)
		out[o++] = '/';
	out[o] = 0;
	return 0;
}

/* Does the cgroup directory at `dir` list pid in its cgroup.procs? */
static bool lists_pid(const char *dir, pid_t pid)
{
	char path[PATH_MAX], line[32];
	bool hit = false;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return false;
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!hit && fgets(line, sizeof(line), f))
		hit = strtol(line, NULL, 10) == (long)pid;
	fclose(f);
	return hit;
}

struct search {
	const char *mount;
	const char *self_rel;
	pid_t pid;
	unsigned long budget;
	bool all;		/* self_rel climbs: look on for a second match */
	int hits;
	char first[PATH_MAX];
};

/* rel: a directory's path below the mount ("" for the mount); 1 found (rel holds it), 0, -errno. */
static int search_at(struct search *s, char *rel, size_t rlen, int left)
{
	char dir[PATH_MAX], joined[PATH_MAX];
	struct dirent *de;
	size_t l = strlen(rel);
	DIR *d;
	int err = 0;

	if (!left) {
		if (cgns_join(*rel ? rel : "/", s->self_rel, joined, sizeof(joined)) < 0)
			return 0;
		if (snprintf(dir, sizeof(dir), "%s%s", s->mount, strcmp(joined, "/") ? joined : "") >=
		    (int)sizeof(dir))
			return 0;
		return lists_pid(dir, s->pid) ? 1 : 0;
	}
	if (snprintf(dir, sizeof(dir), "%s%s", s->mount, rel) >= (int)sizeof(dir))
		return 0;
	d = opendir(dir);
	if (!d)
		return !*rel ? -errno : 0;	/* a vanished subdirectory: skip it */
	while (!err && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' && (n == 1 || (n == 2 && de->d_name[1] == '.')))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!s->budget) {
			err = -E2BIG;
			break;
		}
		s->budget--;
		if (l + 1 + n + 1 > rlen)
			continue;
		rel[l] = '/';
		memcpy(rel + l + 1, de->d_name, n + 1);
		err = search_at(s, rel, rlen, left - 1);
		if (err == 1 && s->all) {
			if (!s->hits++)
				snprintf(s->first, sizeof(s->first), "%s", rel);
			err = s->hits > 1 ? -ENOTUNIQ : 0;
		}
		if (err != 1)
			rel[l] = 0;
	}
	closedir(d);
	return err;
}

int cgns_find_root(const char *mount, int depth, const char *self_rel, pid_t pid, char *out,
		   size_t len)
{
	struct search s = { mount, self_rel, pid, CGNS_FIND_MAX_DIRS, false, 0, "" };
	char rel[PATH_MAX] = "";
	int err;

	if (!mount || !self_rel || *self_rel != '/' || depth < 0 || depth > CGNS_MAX_DEPTH || !out)
		return -EINVAL;
	/*
	 * An agent below its namespace root is in one cgroup, so one root at
	 * most leads to it; one outside ("/../x") could be reached from any
	 * sibling root: the search must then find exactly one.
	 */
	s.all = strstr(self_rel, "/..") != NULL;
	err = search_at(&s, rel, sizeof(rel), depth);
	if (err < 0)
		return err;
	if (s.all && s.hits == 1 && depth > 0) {
		snprintf(rel, sizeof(rel), "%s", s.first);
		err = 1;
	}
	if (!err)
		return -ENOENT;
	if (snprintf(out, len, "%s", *rel ? rel : "/") >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}
