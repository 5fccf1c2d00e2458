/*
 * podmeta.h - a container's Kubernetes names (pod, namespace, container,
 * image), read from the container runtime's own state on the node.
 *
 * CRI runtimes hand the OCI runtime a bundle whose config.json carries the
 * pod's names as annotations; the bundle lives under the runtime's state
 * directory as long as the container does:
 *   containerd  <state>/io.containerd.runtime.v2.task/<namespace>/<id>/config.json
 *               (io.kubernetes.cri.sandbox-name, ...-namespace, ...)
 *   CRI-O       /run/containers/storage/overlay-containers/<id>/userdata/config.json
 *               (io.kubernetes.pod.name, io.kubernetes.pod.namespace, ...)
 * Nothing here talks to the runtime or to the API server; files are only
 * read, and a file past PODMETA_MAX_BYTES is not parsed.
 */
#ifndef VIGIL_PODMETA_H
#define VIGIL_PODMETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PODMETA_MAX_DIRS	8
#define PODMETA_DIR_LEN		256
#define PODMETA_MAX_BYTES	(1u << 20)	/* OCI specs are tens of KiB */

struct vigil_pod_meta {
	char pod_name[254];		/* DNS subdomain: at most 253 */
	char pod_namespace[64];		/* DNS label: at most 63 */
	char container_name[64];	/* "" for a pod sandbox */
	char image[512];
};

/* Outcome of one lookup; also the `result` label of vigil_pod_metadata_lookups_total. */
enum podmeta_result {
	PODMETA_FOUND = 0,	/* a config.json with Kubernetes annotations */
	PODMETA_NOT_KUBERNETES,	/* a config.json without them (plain containerd, docker, podman) */
	PODMETA_MISSING,	/* no config.json in any state directory (yet) */
	PODMETA_UNREADABLE,	/* found but could not be read */
	PODMETA_TOO_LARGE,	/* found but larger than PODMETA_MAX_BYTES */
	PODMETA_INVALID,	/* found but not a JSON object / garbled */
	PODMETA__N,
};

const char *podmeta_result_name(enum podmeta_result r);	/* "found", "not_kubernetes", ... */

/* The state directories the agent looks in by default. */
extern const char *const podmeta_default_dirs[];
extern const size_t podmeta_default_ndirs;

/*
 * Parse an OCI config.json's text.  PODMETA_FOUND when its annotations name
 * a pod (containerd's or CRI-O's keys), PODMETA_NOT_KUBERNETES when they do
 * not, PODMETA_INVALID when the text is not a JSON object.  *out is always
 * filled ("" for what is unknown); over-long values are cut.
 */
enum podmeta_result podmeta_parse(const char *json, size_t len, struct vigil_pod_meta *out);

/*
 * Look container `id` (lower-case hex) up in each directory, in order:
 * <dir>/<id>/config.json, <dir>/<id>/userdata/config.json and
 * <dir>/<any>/<id>/config.json.  The first config.json found decides.
 */
enum podmeta_result podmeta_lookup(const char *const *dirs, size_t ndirs, const char *id,
				   struct vigil_pod_meta *out);

#endif
