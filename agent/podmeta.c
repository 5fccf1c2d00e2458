/*
 * podmeta.c - Kubernetes names from a container runtime's bundle (see podmeta.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "podmeta.h"

const char *const podmeta_default_dirs[] = {
	"/run/containerd/io.containerd.runtime.v2.task",
	"/run/containers/storage/overlay-containers",
};
const size_t podmeta_default_ndirs = sizeof(podmeta_default_dirs) / sizeof(podmeta_default_dirs[0]);

static const char *const result_names[PODMETA__N] = {
	[PODMETA_FOUND] = "found",
	[PODMETA_NOT_KUBERNETES] = "not_kubernetes",
	[PODMETA_MISSING] = "missing",
	[PODMETA_UNREADABLE] = "unreadable",
	[PODMETA_TOO_LARGE] = "too_large",
	[PODMETA_INVALID] = "invalid",
};

const char *podmeta_result_name(enum podmeta_result r)
{
	return (unsigned)r < PODMETA__N ? result_names[r] : "invalid";
}

/*
 * Each field's annotation keys, first match wins: containerd's CRI plugin,
 * then CRI-O's.
 */
static const char *const pod_name_keys[] = {
	"io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name", NULL,
};
static const char *const pod_namespace_keys[] = {
	"io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace", NULL,
};
static const char *const container_name_keys[] = {
	"io.kubernetes.cri.container-name", "io.kubernetes.container.name", NULL,
};
static const char *const image_keys[] = {
	"io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName", NULL,
};

/* The first string annotation of keys into dst (cut to size, control bytes dropped). */
static bool take(json_object *ann, const char *const *keys, char *dst, size_t size)
{
	json_object *v;
	const char *s;
	size_t n = 0;

	dst[0] = 0;
	for (; *keys; keys++) {
		if (!json_object_object_get_ex(ann, *keys, &v) || !json_object_is_type(v, json_type_string))
			continue;
		s = json_object_get_string(v);
		for (; *s && n + 1 < size; s++)
			if ((unsigned char)*s >= 0x20 && *s != 0x7f)
				dst[n++] = *s;
		dst[n] = 0;
		return true;
	}
	return false;
}

enum podmeta_result podmeta_parse(const char *json, size_t len, struct vigil_pod_meta *out)
{
	struct json_tokener *tok;
	json_object *root, *ann;
	enum podmeta_result r = PODMETA_INVALID;
	bool named;

	memset(out, 0, sizeof(*out));
	if (len > PODMETA_MAX_BYTES)
		return PODMETA_TOO_LARGE;
	tok = json_tokener_new();
	if (!tok)
		return PODMETA_INVALID;
	root = json_tokener_parse_ex(tok, json, (int)len);
	/* The whole text must be one value (trailing blanks allowed). */
	if (root && json_tokener_get_error(tok) == json_tokener_success) {
		size_t at = json_tokener_get_parse_end(tok);

		while (at < len && strchr(" \t\r\n", json[at]))
			at++;
		if (at < len) {
			json_object_put(root);
			root = NULL;
		}
	} else if (root) {
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	if (!root || !json_object_is_type(root, json_type_object))
		goto out;
	r = PODMETA_NOT_KUBERNETES;
	if (!json_object_object_get_ex(root, "annotations", &ann) ||
	    !json_object_is_type(ann, json_type_object))
		goto out;
	named = take(ann, pod_name_keys, out->pod_name, sizeof(out->pod_name));
	named |= take(ann, pod_namespace_keys, out->pod_namespace, sizeof(out->pod_namespace));
	take(ann, container_name_keys, out->container_name, sizeof(out->container_name));
	take(ann, image_keys, out->image, sizeof(out->image));
	if (named && (out->pod_name[0] || out->pod_namespace[0]))
		r = PODMETA_FOUND;
	else
		memset(out, 0, sizeof(*out));
out:
	if (root)
		json_object_put(root);
	return r;
}

/* Read and parse one config.json; PODMETA_MISSING if there is none at path. */
static enum podmeta_result read_one(const char *path, struct vigil_pod_meta *out)
{
	enum podmeta_result r;
	struct stat st;
	size_t got = 0;
	char *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? PODMETA_MISSING : PODMETA_UNREADABLE;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return PODMETA_UNREADABLE;
	}
	if (st.st_size > PODMETA_MAX_BYTES) {
		close(fd);
		return PODMETA_TOO_LARGE;
	}
	/* One byte over the cap tells a file that grew since fstat. */
	buf = malloc(PODMETA_MAX_BYTES + 1);
	if (!buf) {
		close(fd);
		return PODMETA_UNREADABLE;
	}
	while (got <= PODMETA_MAX_BYTES) {
		n = read(fd, buf + got, PODMETA_MAX_BYTES + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			got = SIZE_MAX;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got == SIZE_MAX)
		r = PODMETA_UNREADABLE;
	else if (got > PODMETA_MAX_BYTES)
		r = PODMETA_TOO_LARGE;
	else
		r = podmeta_parse(buf, got, out);
	free(buf);
	return r;
}

/* <dir>/<ns>/<id>/config.json for every subdirectory <ns> (containerd's namespaces). */
static enum podmeta_result in_namespaces(const char *dir, const char *id,
					 struct vigil_pod_meta *out)
{
	enum podmeta_result r = PODMETA_MISSING;
	char path[PODMETA_DIR_LEN + 2 * 256 + 96];
	struct dirent *d;
	DIR *dp;

	dp = opendir(dir);
	if (!dp)
		return PODMETA_MISSING;
	while (r == PODMETA_MISSING && (d = readdir(dp))) {
		if (d->d_name[0] == '.' || (d->d_type != DT_DIR && d->d_type != DT_UNKNOWN))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s/config.json", dir, d->d_name, id);
		r = read_one(path, out);
	}
	closedir(dp);
	return r;
}

enum podmeta_result podmeta_lookup(const char *const *dirs, size_t ndirs, const char *id,
				   struct vigil_pod_meta *out)
{
	char path[PODMETA_DIR_LEN + 256 + 64];
	enum podmeta_result r = PODMETA_MISSING;

	memset(out, 0, sizeof(*out));
	/* Ids come from cgroup paths as hex; anything else could walk the tree. */
	if (!id[0] || strspn(id, "0123456789abcdef") != strlen(id) || strlen(id) > 64)
		return PODMETA_MISSING;
	for (size_t i = 0; i < ndirs && r == PODMETA_MISSING; i++) {
		if (!dirs[i] || !dirs[i][0])
			continue;
		snprintf(path, sizeof(path), "%s/%s/config.json", dirs[i], id);
		r = read_one(path, out);
		if (r != PODMETA_MISSING)
			break;
		snprintf(path, sizeof(path), "%s/%s/userdata/config.json", dirs[i], id);
		r = read_one(path, out);
		if (r != PODMETA_MISSING)
			break;
		r = in_namespaces(dirs[i], id, out);
	}
	if (r != PODMETA_FOUND)
		memset(out, 0, sizeof(*out));
	return r;
}
