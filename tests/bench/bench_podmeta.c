/*
 * bench_podmeta.c - what resolving one container's pod names costs
 * (tests/bench/micro.sh builds and runs it; agent/podmeta.h).
 *
 *   bench_podmeta [CALLS]     default: 2000 timed lookups per case
 *
 * A lookup happens once per new container (the result is cached with the
 * container's cgroup), so this is a per-container cost, never a per-event
 * one.  The state directories are built in a temp dir the way the runtimes
 * lay them out, with the agent's default order (containerd's first, then
 * CRI-O's), and a config.json of about 6 KiB: a runc-style spec with a
 * pod's annotations, mounts and environment, as a kubelet-made container
 * has.  Cases:
 *
 *   containerd   <tasks>/k8s.io/<id>/config.json, with a second namespace
 *                directory next to it: two misses, then the namespace scan
 *   crio         <overlay-containers>/<id>/userdata/config.json: the whole
 *                containerd directory misses first
 *   missing      an id in neither: every candidate path misses (what a
 *                container whose bundle is not written yet costs, before
 *                its retry back-off)
 *
 * Each lookup is timed on its own with CLOCK_MONOTONIC after 100 untimed
 * ones; the files stay in the page cache, as a running node's do.
 *
 * stdout: one line per case, key=value pairs, for micro.sh:
 *   bench_podmeta case=S calls=N file_bytes=N median_ns=X p90_ns=X min_ns=X
 * Exit status: 0, or 1 if setup fails or a lookup's result is wrong; it
 * never judges the timings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "podmeta.h"

#define WARMUP 100

static char root[] = "/tmp/bench_podmeta.XXXXXX";

static void die(const char *what)
{
	fprintf(stderr, "bench_podmeta: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

static void mkdirs(const char *path)
{
	char buf[512], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			die(buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		die(buf);
}

/* A runc-style spec with a pod's annotations; returns its size. */
static size_t write_spec(const char *dir, const char *ann_prefix_style)
{
	char path[512];
	size_t n;
	FILE *f;
	int i;

	mkdirs(dir);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	f = fopen(path, "w");
	if (!f)
		die(path);
	fprintf(f, "{\"ociVersion\":\"1.0.2\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},"
		   "\"args\":[\"/docker-entrypoint.sh\",\"nginx\",\"-g\",\"daemon off;\"],\"env\":[");
	for (i = 0; i < 24; i++)
		fprintf(f, "%s\"SERVICE_%02d_PORT=tcp://10.96.%d.%d:8080\"", i ? "," : "", i, i, 10 + i);
	fprintf(f, "],\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\","
		   "\"CAP_NET_BIND_SERVICE\"]},\"oomScoreAdj\":1000},\"root\":{\"path\":\"rootfs\"},"
		   "\"mounts\":[");
	for (i = 0; i < 20; i++)
		fprintf(f, "%s{\"destination\":\"/var/run/secrets/volume-%02d\",\"type\":\"bind\","
			   "\"source\":\"/var/lib/kubelet/pods/3f1c2a9e-0b7d-4c55-9a61-2f0e8d7c6b5a/"
			   "volumes/kubernetes.io~projected/kube-api-access-%02d\",\"options\":"
			   "[\"rbind\",\"rprivate\",\"ro\"]}", i ? "," : "", i, i);
	if (!strcmp(ann_prefix_style, "containerd"))
		fprintf(f, "],\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
			   "\"io.kubernetes.cri.container-name\":\"nginx\","
			   "\"io.kubernetes.cri.image-name\":\"docker.io/library/nginx:1.27\","
			   "\"io.kubernetes.cri.sandbox-id\":\"%064d\","
			   "\"io.kubernetes.cri.sandbox-name\":\"web-7d9f8b6c5-x2x9q\","
			   "\"io.kubernetes.cri.sandbox-namespace\":\"shop\","
			   "\"io.kubernetes.cri.sandbox-uid\":\"3f1c2a9e-0b7d-4c55-9a61-2f0e8d7c6b5a\"}", 7);
	else
		fprintf(f, "],\"annotations\":{\"io.kubernetes.container.name\":\"nginx\","
			   "\"io.kubernetes.cri-o.ImageName\":\"docker.io/library/nginx:1.27\","
			   "\"io.kubernetes.pod.name\":\"web-7d9f8b6c5-x2x9q\","
			   "\"io.kubernetes.pod.namespace\":\"shop\","
			   "\"io.kubernetes.pod.uid\":\"3f1c2a9e-0b7d-4c55-9a61-2f0e8d7c6b5a\"}");
	fprintf(f, ",\"linux\":{\"cgroupsPath\":\"/kubepods/burstable/pod3f1c2a9e/x\","
		   "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
		   "{\"type\":\"mount\"},{\"type\":\"network\"}],\"maskedPaths\":[\"/proc/acpi\","
		   "\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\",\"/proc/timer_list\"]}}\n");
	n = (size_t)ftell(f);
	if (fclose(f))
		die(path);
	return n;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void run(const char *name, const char *const *dirs, const char *id,
		enum podmeta_result want, size_t bytes, int calls)
{
	double *t = malloc(sizeof(*t) * (size_t)calls);
	struct vigil_pod_meta m;
	int i;

	if (!t)
		die("malloc");
	for (i = 0; i < WARMUP + calls; i++) {
		double t0 = now_ns();
		enum podmeta_result r = podmeta_lookup(dirs, 2, id, &m);
		double dt = now_ns() - t0;

		if (r != want || (want == PODMETA_FOUND && strcmp(m.pod_name, "web-7d9f8b6c5-x2x9q"))) {
			fprintf(stderr, "bench_podmeta: %s: lookup gave %s\n", name, podmeta_result_name(r));
			exit(1);
		}
		if (i >= WARMUP)
			t[i - WARMUP] = dt;
	}
	qsort(t, (size_t)calls, sizeof(*t), cmp);
	printf("bench_podmeta case=%s calls=%d file_bytes=%zu median_ns=%.0f p90_ns=%.0f min_ns=%.0f\n",
	       name, calls, bytes, t[calls / 2], t[calls * 9 / 10], t[0]);
	free(t);
}

int main(int argc, char **argv)
{
	const char *ctrd_id = "9a3c6f1e2b4d5a6978c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6";
	const char *crio_id = "1b2c3d4e5f60718293a4b5c6d7e8f9011223344556677889900aabbccddeeff0";
	const char *none_id = "ffffeeeeddddccccbbbbaaaa99998888777766665555444433332222111100000";
	char tasks[256], crio[256], dir[512];
	const char *dirs[2] = { tasks, crio };
	int calls = argc > 1 ? atoi(argv[1]) : 2000;
	size_t b1, b2;

	if (calls < 1)
		die("CALLS must be at least 1");
	if (!mkdtemp(root))
		die("mkdtemp");
	snprintf(tasks, sizeof(tasks), "%s/containerd/io.containerd.runtime.v2.task", root);
	snprintf(crio, sizeof(crio), "%s/containers/storage/overlay-containers", root);
	snprintf(dir, sizeof(dir), "%s/moby", tasks);	/* a second namespace */
	mkdirs(dir);
	snprintf(dir, sizeof(dir), "%s/k8s.io/%s", tasks, ctrd_id);
	b1 = write_spec(dir, "containerd");
	snprintf(dir, sizeof(dir), "%s/%s/userdata", crio, crio_id);
	b2 = write_spec(dir, "crio");

	run("containerd", dirs, ctrd_id, PODMETA_FOUND, b1, calls);
	run("crio", dirs, crio_id, PODMETA_FOUND, b2, calls);
	/* 65 hex digits is refused before any path is tried: use 64. */
	run("missing", dirs, none_id + 1, PODMETA_MISSING, 0, calls);

	snprintf(dir, sizeof(dir), "rm -rf '%s'", root);
	return system(dir) == 0 ? 0 : 1;
}
