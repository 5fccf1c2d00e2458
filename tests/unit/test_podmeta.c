/*
 * test_podmeta.c - pod names from container runtime state (agent/podmeta.c)
 * and their life in the cgroup cache (agent/containers.c).
 *
 * Every test builds its own state directories, in the layouts containerd
 * and CRI-O use, under a fresh temporary directory that is removed after
 * it; the cache's clock is replaced so retries are driven by the test, not
 * by time passing.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containers.h"
#include "podmeta.h"
#include "selector.h"

#define ID  "3f2a9c0b1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
#define ID2 "aa2a9c0b1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7bb"
#define POD "0b7c7d2e-1f3a-4c5d-8e9f-a0b1c2d3e4f5"
#define CG(id) "/kubepods/besteffort/pod" POD "/" id

static const char containerd_json[] =
	"{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":[\"nginx\"]},\"annotations\":{"
	"\"io.kubernetes.cri.container-type\":\"container\","
	"\"io.kubernetes.cri.sandbox-name\":\"web-0\","
	"\"io.kubernetes.cri.sandbox-namespace\":\"shop\","
	"\"io.kubernetes.cri.sandbox-uid\":\"" POD "\","
	"\"io.kubernetes.cri.container-name\":\"nginx\","
	"\"io.kubernetes.cri.image-name\":\"docker.io/library/nginx:1.27\"}}\n";

static const char crio_json[] =
	"{\"ociVersion\":\"1.0.2\",\"annotations\":{"
	"\"io.container.manager\":\"cri-o\","
	"\"io.kubernetes.container.name\":\"coredns\","
	"\"io.kubernetes.cri-o.ContainerType\":\"container\","
	"\"io.kubernetes.cri-o.ImageName\":\"registry.k8s.io/coredns/coredns:v1.11.1\","
	"\"io.kubernetes.pod.name\":\"coredns-5d78c9869d-x2x7k\","
	"\"io.kubernetes.pod.namespace\":\"kube-system\","
	"\"io.kubernetes.pod.uid\":\"" POD "\"}}";

static const char plain_json[] =
	"{\"ociVersion\":\"1.1.0\",\"annotations\":{\"org.opencontainers.image.ref.name\":\"x\"}}";

static char root[64];

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/vigil-podmeta-XXXXXX");
	cr_assert_not_null(mkdtemp(root), "mkdtemp: %s", strerror(errno));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void teardown(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(podmeta, .init = setup, .fini = teardown);

/* root/rel, with every directory on the way made. */
static void path_of(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

static void mkdirs(const char *rel)
{
	char p[512], *s;

	path_of(p, sizeof(p), rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

static void put(const char *rel, const void *data, size_t len)
{
	char p[512], dir[512], *slash;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	slash = strrchr(dir, '/');
	cr_assert_not_null(slash);
	*slash = 0;
	mkdirs(dir);
	path_of(p, sizeof(p), rel);
	f = fopen(p, "w");
	cr_assert_not_null(f, "%s: %s", p, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void put_str(const char *rel, const char *text)
{
	put(rel, text, strlen(text));
}

static void drop(const char *rel)
{
	char p[512];

	path_of(p, sizeof(p), rel);
	cr_assert_eq(unlink(p), 0, "unlink %s: %s", p, strerror(errno));
}

static enum podmeta_result lookup(const char *dir_rel, const char *id, struct vigil_pod_meta *m)
{
	char d[512];
	const char *dirs[] = { d };

	path_of(d, sizeof(d), dir_rel);
	return podmeta_lookup(dirs, 1, id, m);
}

/* ---- parsing --------------------------------------------------------------- */

Test(podmeta, containerd_cri_annotations_name_the_pod_container_and_image)
{
	struct vigil_pod_meta m;

	cr_assert_eq(podmeta_parse(containerd_json, strlen(containerd_json), &m), PODMETA_FOUND);
	cr_expect_str_eq(m.pod_name, "web-0");
	cr_expect_str_eq(m.pod_namespace, "shop");
	cr_expect_str_eq(m.container_name, "nginx");
	cr_expect_str_eq(m.image, "docker.io/library/nginx:1.27");
}

Test(podmeta, crio_annotations_name_the_pod_container_and_image)
{
	struct vigil_pod_meta m;

	cr_assert_eq(podmeta_parse(crio_json, strlen(crio_json), &m), PODMETA_FOUND);
	cr_expect_str_eq(m.pod_name, "coredns-5d78c9869d-x2x7k");
	cr_expect_str_eq(m.pod_namespace, "kube-system");
	cr_expect_str_eq(m.container_name, "coredns");
	cr_expect_str_eq(m.image, "registry.k8s.io/coredns/coredns:v1.11.1");
}

Test(podmeta, a_sandbox_has_pod_names_but_no_container_name)
{
	static const char j[] = "{\"annotations\":{\"io.kubernetes.cri.container-type\":\"sandbox\","
				"\"io.kubernetes.cri.sandbox-name\":\"web-0\","
				"\"io.kubernetes.cri.sandbox-namespace\":\"shop\"}}";
	struct vigil_pod_meta m;

	cr_assert_eq(podmeta_parse(j, strlen(j), &m), PODMETA_FOUND);
	cr_expect_str_eq(m.pod_name, "web-0");
	cr_expect_str_eq(m.container_name, "");
	cr_expect_str_eq(m.image, "");
}

Test(podmeta, a_bundle_without_pod_annotations_is_not_kubernetes)
{
	static const char no_ann[] = "{\"ociVersion\":\"1.1.0\"}";
	static const char ann_not_object[] = "{\"annotations\":[\"io.kubernetes.cri.sandbox-name\"]}";
	static const char only_image[] = "{\"annotations\":{\"io.kubernetes.cri.image-name\":\"x\"}}";
	static const char not_strings[] = "{\"annotations\":{\"io.kubernetes.cri.sandbox-name\":7,"
					  "\"io.kubernetes.pod.namespace\":null}}";
	const char *cases[] = { plain_json, no_ann, ann_not_object, only_image, not_strings };
	struct vigil_pod_meta m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(podmeta_parse(cases[i], strlen(cases[i]), &m), PODMETA_NOT_KUBERNETES,
			     "case %zu: %s", i, cases[i]);
		cr_expect_str_eq(m.pod_name, "", "case %zu", i);
		cr_expect_str_eq(m.image, "", "case %zu", i);
	}
}

Test(podmeta, garbled_text_is_invalid)
{
	const char *cases[] = {
		"", "{", "not json", "[1,2]", "\"a string\"", "null",
		"{\"annotations\":{\"io.kubernetes.cri.sandbox-name\":\"web-0\"}} trailing",
		"{\"annotations\":{\"io.kubernetes.cri.sandbox-name\":\"web-0\"",
	};
	struct vigil_pod_meta m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(podmeta_parse(cases[i], strlen(cases[i]), &m), PODMETA_INVALID,
			     "case %zu: '%s'", i, cases[i]);
		cr_expect_str_eq(m.pod_name, "", "case %zu", i);
	}
}

Test(podmeta, over_long_values_are_cut_and_control_bytes_dropped)
{
	char j[2048], name[600];
	struct vigil_pod_meta m;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	snprintf(j, sizeof(j), "{\"annotations\":{\"io.kubernetes.pod.name\":\"%s\","
		 "\"io.kubernetes.pod.namespace\":\"a\\nb\\u0007c\"}}", name);
	cr_assert_eq(podmeta_parse(j, strlen(j), &m), PODMETA_FOUND);
	cr_expect_eq(strlen(m.pod_name), sizeof(m.pod_name) - 1);
	cr_expect_eq(strspn(m.pod_name, "n"), sizeof(m.pod_name) - 1);
	cr_expect_str_eq(m.pod_namespace, "abc");
}

/* ---- finding the bundle ---------------------------------------------------- */

Test(podmeta, containerd_bundles_are_found_under_any_namespace)
{
	struct vigil_pod_meta m;

	put_str("state/io.containerd.runtime.v2.task/moby/" ID2 "/config.json", plain_json);
	put_str("state/io.containerd.runtime.v2.task/k8s.io/" ID "/config.json", containerd_json);
	cr_assert_eq(lookup("state/io.containerd.runtime.v2.task", ID, &m), PODMETA_FOUND);
	cr_expect_str_eq(m.pod_name, "web-0");
	cr_expect_str_eq(m.container_name, "nginx");
	/* docker's containers live in the moby namespace, with no pod names. */
	cr_expect_eq(lookup("state/io.containerd.runtime.v2.task", ID2, &m), PODMETA_NOT_KUBERNETES);
}

Test(podmeta, crio_bundles_are_found_under_userdata)
{
	struct vigil_pod_meta m;

	put_str("overlay-containers/" ID "/userdata/config.json", crio_json);
	cr_assert_eq(lookup("overlay-containers", ID, &m), PODMETA_FOUND);
	cr_expect_str_eq(m.pod_namespace, "kube-system");
}

Test(podmeta, a_bundle_directly_under_the_directory_is_found)
{
	struct vigil_pod_meta m;

	put_str("k8s.io/" ID "/config.json", containerd_json);
	cr_assert_eq(lookup("k8s.io", ID, &m), PODMETA_FOUND);
	cr_expect_str_eq(m.image, "docker.io/library/nginx:1.27");
}

Test(podmeta, directories_are_tried_in_order_until_one_has_the_bundle)
{
	char a[512], b[512];
	const char *dirs[] = { "", a, b };
	struct vigil_pod_meta m;

	path_of(a, sizeof(a), "nothing-here");
	path_of(b, sizeof(b), "crio");
	put_str("crio/" ID "/userdata/config.json", crio_json);
	cr_assert_eq(podmeta_lookup(dirs, 3, ID, &m), PODMETA_FOUND);
	cr_expect_str_eq(m.container_name, "coredns");
}

Test(podmeta, no_bundle_is_missing)
{
	struct vigil_pod_meta m;

	mkdirs("state/k8s.io/" ID2);
	cr_expect_eq(lookup("state", ID, &m), PODMETA_MISSING);
	cr_expect_eq(lookup("no-such-dir", ID, &m), PODMETA_MISSING);
	cr_expect_eq(podmeta_lookup(NULL, 0, ID, &m), PODMETA_MISSING);
}

Test(podmeta, an_id_that_is_not_hex_is_never_looked_up)
{
	struct vigil_pod_meta m;

	put_str("state/x/config.json", containerd_json);
	put_str("state/k8s.io/x/config.json", containerd_json);
	cr_expect_eq(lookup("state/k8s.io", "../k8s.io/x", &m), PODMETA_MISSING);
	cr_expect_eq(lookup("state", "x", &m), PODMETA_MISSING);
	cr_expect_eq(lookup("state", "", &m), PODMETA_MISSING);
}

Test(podmeta, a_garbled_bundle_is_invalid)
{
	struct vigil_pod_meta m;

	put_str("state/k8s.io/" ID "/config.json", "{\"annotations\":{\"io.kubernetes.cri.sa");
	cr_expect_eq(lookup("state", ID, &m), PODMETA_INVALID);
	cr_expect_str_eq(m.pod_name, "");
}

Test(podmeta, a_bundle_over_the_cap_is_not_parsed)
{
	size_t n = PODMETA_MAX_BYTES + 1;
	struct vigil_pod_meta m;
	char *big = malloc(n);

	/* Valid JSON with the annotations up front: only the size stops it. */
	cr_assert_not_null(big);
	memset(big, ' ', n);
	memcpy(big, containerd_json, strlen(containerd_json));
	put("state/k8s.io/" ID "/config.json", big, n);
	free(big);
	cr_expect_eq(lookup("state", ID, &m), PODMETA_TOO_LARGE);
	cr_expect_str_eq(m.pod_name, "");
	/* At the cap exactly it is read. */
	{
		char p[512];

		path_of(p, sizeof(p), "state/k8s.io/" ID "/config.json");
		cr_assert_eq(truncate(p, PODMETA_MAX_BYTES), 0);
	}
	cr_expect_eq(lookup("state", ID, &m), PODMETA_FOUND);
}

Test(podmeta, a_config_json_that_is_not_a_file_is_unreadable)
{
	struct vigil_pod_meta m;

	mkdirs("state/" ID "/config.json");
	cr_expect_eq(lookup("state", ID, &m), PODMETA_UNREADABLE);
}

/* ---- in the cgroup cache --------------------------------------------------- */

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static struct vigil_ctr_cache c;

static void cache_on(const char *dir_rel)
{
	char d[512];
	const char *dirs[] = { d };

	path_of(d, sizeof(d), dir_rel);
	cr_assert_eq(ctr_cache_init(&c, ""), 0);
	cr_assert_eq(ctr_cache_set_state_dirs(&c, dirs, 1), 0);
	c.pods.now_ns = fake_clock;
	fake_now = 5000000000ull;
}

static uint64_t tries(void)
{
	uint64_t n = 0;

	for (int r = 0; r < PODMETA__N; r++)
		n += c.pods.results[r];
	return n;
}

Test(podmeta, a_learnt_container_cgroup_gets_its_pod_names_for_events_and_selectors)
{
	const struct vigil_ctr *e;
	struct sel_subject x;
	struct selector s = { 0 };
	char *pods[] = { "web-*" }, *nss[] = { "shop" }, *other[] = { "db-*" };

	put_str("state/k8s.io/" ID "/config.json", containerd_json);
	cache_on("state");
	cr_assert_eq(ctr_cache_learn(&c, 10, CG(ID)), 0);
	e = ctr_lookup(&c, 10);
	cr_assert_not_null(e->pod);
	cr_expect_str_eq(e->pod->pod_name, "web-0");
	cr_expect_eq(c.pods.results[PODMETA_FOUND], 1);

	ctr_subject(e, &x);
	cr_expect_str_eq(x.pod_name, "web-0");
	cr_expect_str_eq(x.pod_namespace, "shop");
	s.pods = (struct strlist){ .v = pods, .n = 1, .set = true };
	s.namespaces = (struct strlist){ .v = nss, .n = 1, .set = true };
	cr_expect(selector_match_cgroup(&s, &x), "pods: [web-*], namespaces: [shop] did not match");
	s.pods = (struct strlist){ .v = other, .n = 1, .set = true };
	cr_expect_not(selector_match_cgroup(&s, &x), "pods: [db-*] matched web-0");
	cr_expect_eq(ctr_cache_pod_of(&c, ID), e->pod);
	cr_expect_null(ctr_cache_pod_of(&c, ID2));

	/* Found is final: no more reads for this cgroup. */
	fake_now += 3600ull * 1000000000ull;
	ctr_lookup(&c, 10);
	cr_expect_eq(tries(), 1);
	ctr_cache_free(&c);
}

Test(podmeta, host_and_pod_level_cgroups_are_not_looked_up)
{
	put_str("state/k8s.io/" ID "/config.json", containerd_json);
	cache_on("state");
	cr_assert_eq(ctr_cache_learn(&c, 1, "/system.slice/sshd.service"), 0);
	cr_assert_eq(ctr_cache_learn(&c, 2, "/kubepods/besteffort/pod" POD), 0);
	cr_expect_null(ctr_lookup(&c, 1)->pod);
	cr_expect_null(ctr_lookup(&c, 2)->pod);
	cr_expect_eq(tries(), 0);
	ctr_cache_free(&c);
}

static struct vigil_pod_meta gone_pod;
static unsigned gone_calls;

static void on_gone(void *ctx, const struct vigil_ctr *e)
{
	gone_calls++;
	if (e->pod)
		gone_pod = *e->pod;
}

Test(podmeta, the_names_go_with_the_cgroup_and_a_new_container_reads_its_own)
{
	const struct vigil_ctr *e;

	put_str("state/k8s.io/" ID "/config.json", containerd_json);
	cache_on("state");
	cr_assert_eq(ctr_cache_hook(&c, NULL, on_gone, NULL), 0);
	cr_assert_eq(ctr_cache_learn(&c, 10, CG(ID)), 0);
	cr_assert_not_null(ctr_lookup(&c, 10)->pod);

	/* rmdir: the entry, names included, is dropped (ASan checks the free). */
	ctr_cache_forget(&c, 10);
	cr_expect_eq(gone_calls, 1);
	cr_expect_str_eq(gone_pod.pod_name, "web-0", "on_gone did not see the names");
	cr_expect_null(ctr_cache_pod_of(&c, ID));
	cr_expect_null(ctr_lookup(&c, 10)->pod, "a forgotten cgroup id kept its pod names");

	/* The same cgroup id reused by another container: its own bundle, read afresh. */
	drop("state/k8s.io/" ID "/config.json");
	put_str("state/k8s.io/" ID2 "/config.json", crio_json);
	cr_assert_eq(ctr_cache_learn(&c, 10, CG(ID2)), 0);
	e = ctr_lookup(&c, 10);
	cr_assert_not_null(e->pod);
	cr_expect_str_eq(e->pod->pod_name, "coredns-5d78c9869d-x2x7k");
	cr_expect_eq(c.pods.results[PODMETA_FOUND], 2);
	ctr_cache_free(&c);
}

Test(podmeta, a_miss_is_retried_later_not_on_every_event)
{
	const struct vigil_ctr *e;

	mkdirs("state/k8s.io");
	cache_on("state");
	cr_assert_eq(ctr_cache_learn(&c, 10, CG(ID)), 0);
	e = ctr_lookup(&c, 10);
	cr_expect_null(e->pod);
	cr_expect_eq(c.pods.results[PODMETA_MISSING], 1);

	/* The bundle appears; lookups before the retry time do not read. */
	put_str("state/k8s.io/" ID "/config.json", containerd_json);
	for (int i = 0; i < 100; i++)
		ctr_lookup(&c, 10);
	fake_now += CTR_POD_RETRY_NS - 1;
	e = ctr_lookup(&c, 10);
	cr_expect_null(e->pod);
	cr_expect_eq(tries(), 1, "looked up %llu times before the retry was due",
		     (unsigned long long)tries());

	fake_now += 1;
	e = ctr_lookup(&c, 10);
	cr_assert_not_null(e->pod, "the retry did not pick the bundle up");
	cr_expect_str_eq(e->pod->pod_namespace, "shop");
	cr_expect_eq(c.pods.results[PODMETA_FOUND], 1);
	cr_expect_eq(tries(), 2);
	ctr_cache_free(&c);
}

Test(podmeta, retries_back_off_up_to_a_minute)
{
	uint64_t start, expect_delay = CTR_POD_RETRY_NS;

	mkdirs("state");
	cache_on("state");
	start = fake_now;
	cr_assert_eq(ctr_cache_learn(&c, 10, CG(ID)), 0);
	for (unsigned n = 1; n <= 10; n++) {
		cr_assert_eq(tries(), n);
		fake_now = start + expect_delay - 1;
		ctr_lookup(&c, 10);
		cr_assert_eq(tries(), n, "retry %u came before %llu ns", n,
			     (unsigned long long)expect_delay);
		fake_now = start + expect_delay;
		ctr_lookup(&c, 10);
		start = fake_now;
		expect_delay *= 2;
		if (expect_delay > CTR_POD_RETRY_MAX_NS)
			expect_delay = CTR_POD_RETRY_MAX_NS;
	}
	cr_expect_eq(c.pods.results[PODMETA_MISSING], 11);
	ctr_cache_free(&c);
}

Test(podmeta, a_garbled_bundle_is_counted_and_retried_a_bundle_without_pods_is_final)
{
	put_str("state/k8s.io/" ID "/config.json", "{garbled");
	put_str("state/moby/" ID2 "/config.json", plain_json);
	cache_on("state");
	cr_assert_eq(ctr_cache_learn(&c, 10, CG(ID)), 0);
	cr_assert_eq(ctr_cache_learn(&c, 11, "/system.slice/docker-" ID2 ".scope"), 0);
	cr_expect_eq(c.pods.results[PODMETA_INVALID], 1);
	cr_expect_eq(c.pods.results[PODMETA_NOT_KUBERNETES], 1);

	put_str("state/k8s.io/" ID "/config.json", containerd_json);
	fake_now += CTR_POD_RETRY_NS;
	cr_expect_not_null(ctr_lookup(&c, 10)->pod, "a garbled bundle was not read again");
	cr_expect_null(ctr_lookup(&c, 11)->pod);
	cr_expect_eq(c.pods.results[PODMETA_NOT_KUBERNETES], 1, "a docker container was re-read");
	ctr_cache_free(&c);
}

Test(podmeta, no_state_dirs_means_no_lookups)
{
	put_str("state/k8s.io/" ID "/config.json", containerd_json);
	cr_assert_eq(ctr_cache_init(&c, ""), 0);
	cr_assert_eq(ctr_cache_set_state_dirs(&c, NULL, 0), 0);
	c.pods.now_ns = fake_clock;
	cr_assert_eq(ctr_cache_learn(&c, 10, CG(ID)), 0);
	fake_now += CTR_POD_RETRY_MAX_NS;
	cr_expect_null(ctr_lookup(&c, 10)->pod);
	cr_expect_eq(tries(), 0);
	ctr_cache_free(&c);
}

Test(podmeta, state_dirs_must_be_absolute_and_few)
{
	const char *rel[] = { "run/containerd" };
	const char *many[PODMETA_MAX_DIRS + 1];

	for (size_t i = 0; i < PODMETA_MAX_DIRS + 1; i++)
		many[i] = "/run";
	cr_assert_eq(ctr_cache_init(&c, ""), 0);
	cr_expect_eq(c.pods.ndirs, podmeta_default_ndirs);
	cr_expect_str_eq(c.pods.dirs[0], "/run/containerd/io.containerd.runtime.v2.task");
	cr_expect_eq(ctr_cache_set_state_dirs(&c, rel, 1), -EINVAL);
	cr_expect_eq(ctr_cache_set_state_dirs(&c, many, PODMETA_MAX_DIRS + 1), -EINVAL);
	cr_expect_eq(c.pods.ndirs, podmeta_default_ndirs, "a refused list changed the dirs");
	ctr_cache_free(&c);
}
