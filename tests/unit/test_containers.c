/*
 * test_containers.c - the cgroup-id cache's notion of a container's root
 * cgroup, which per-container metrics key on, and learning/forgetting
 * cgroups from mkdir/rmdir records.  The cache is given no mount and no
 * runtime state directories, so nothing here touches the system.
 * (test_podmeta.c covers pod names.)
 */
#include <criterion/criterion.h>
#include <string.h>

#include "containers.h"

#define ID "3f2a9c0b1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"

static struct vigil_ctr_cache c;

static void setup(void)
{
	cr_assert_eq(ctr_cache_init(&c, ""), 0);
	cr_assert_eq(ctr_cache_set_state_dirs(&c, NULL, 0), 0);
}

static void teardown(void)
{
	ctr_cache_free(&c);
}

TestSuite(containers, .init = setup, .fini = teardown);

static const struct vigil_ctr *learnt(uint64_t id, const char *path)
{
	cr_assert_eq(ctr_cache_learn(&c, id, path), 0);
	return ctr_lookup(&c, id);
}

Test(containers, the_cgroup_named_after_the_container_is_its_root)
{
	const struct vigil_ctr *e = learnt(10, "/kubepods/burstable/pod0b7c7d2e-1f3a-4c5d-8e9f-a0b1c2d3e4f5/" ID);
	char root[512];

	cr_assert(ctr_is_root(e));
	ctr_root_path(e, root, sizeof(root));
	cr_assert_str_eq(root, e->cgroup);
}

Test(containers, a_nested_cgroup_is_not_a_root_but_names_the_same_root)
{
	const struct vigil_ctr *e = learnt(11, "/system.slice/docker-" ID ".scope/init.scope");
	char root[512];

	cr_assert_str_eq(e->info.id, ID);
	cr_assert_not(ctr_is_root(e), "a nested cgroup counted as a container root");
	ctr_root_path(e, root, sizeof(root));
	cr_assert_str_eq(root, "/system.slice/docker-" ID ".scope");
}

Test(containers, host_and_pod_level_cgroups_are_never_roots)
{
	cr_assert_not(ctr_is_root(learnt(12, "/system.slice/sshd.service")));
	cr_assert_not(ctr_is_root(learnt(13, "/kubepods/besteffort/pod0b7c7d2e-1f3a-4c5d-8e9f-a0b1c2d3e4f5")));
	cr_assert_not(ctr_is_root(learnt(14, "/")));
}

Test(containers, tracked_containers_count_roots_not_cgroups)
{
	learnt(20, "/docker/" ID);
	learnt(21, "/docker/" ID "/init.scope");
	learnt(22, "/docker/" ID "/sub/deeper");
	learnt(23, "/system.slice/cron.service");
	cr_assert_eq(ctr_cache_containers(&c), 1);
	ctr_cache_forget(&c, 20);
	cr_assert_eq(ctr_cache_containers(&c), 0, "the root's rmdir must end the container");
}

Test(containers, an_unresolvable_id_is_unknown_and_not_cached)
{
	const struct vigil_ctr *e = ctr_lookup(&c, 999);

	cr_assert_not(e->resolved);
	cr_assert_eq(e->info.runtime, VIGIL_RT_UNKNOWN);
	cr_assert_not(ctr_is_root(e));
	cr_assert_eq(c.map.len, 0);
	cr_assert_eq(c.failures, 1);
}

Test(containers, relearning_an_id_replaces_its_path)
{
	learnt(30, "/docker/" ID);
	cr_assert_str_eq(learnt(30, "/system.slice/cron.service")->cgroup, "/system.slice/cron.service");
	cr_assert_eq(ctr_lookup(&c, 30)->info.runtime, VIGIL_RT_HOST);
	cr_assert_eq(c.map.len, 1);
}
