/*
 * test_agent_cgroup.c - agent_pick_cgroup(): which hierarchy cgroup ids
 * are read from, for each `cgroup_hierarchy` setting, on hand-built layouts
 * of v1-only, hybrid and unified nodes.  Nothing here reads this machine.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static struct vigil_cgroup_layout layout(enum vigil_cgroup_mode mode, const char *v2)
{
	struct vigil_cgroup_layout l;

	memset(&l, 0, sizeof(l));
	l.mode = mode;
	snprintf(l.v2_mount, sizeof(l.v2_mount), "%s", v2);
	return l;
}

static void add_v1(struct vigil_cgroup_layout *l, const char *controllers, const char *mount)
{
	cr_assert_lt(l->n_v1, VIGIL_CG_MAX_V1);
	snprintf(l->v1[l->n_v1].controllers, sizeof(l->v1[0].controllers), "%s", controllers);
	snprintf(l->v1[l->n_v1].mount, sizeof(l->v1[0].mount), "%s", mount);
	l->n_v1++;
}

/* A systemd hybrid node: every v1 controller plus the unified tree. */
static struct vigil_cgroup_layout hybrid(void)
{
	struct vigil_cgroup_layout l = layout(VIGIL_CGROUP_HYBRID, "/sys/fs/cgroup/unified");

	add_v1(&l, "name=systemd", "/sys/fs/cgroup/systemd");
	add_v1(&l, "cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct");
	add_v1(&l, "pids", "/sys/fs/cgroup/pids");
	add_v1(&l, "memory", "/sys/fs/cgroup/memory");
	add_v1(&l, "net_cls,net_prio", "/sys/fs/cgroup/net_cls,net_prio");
	return l;
}

struct pick {
	int err;
	enum vigil_cgroup_source src;
	char mount[256];
	char why[256];
};

/* Outputs are poisoned first, so "left alone" and "filled" both show. */
static struct pick pick(const struct vigil_cgroup_layout *l, const char *want)
{
	struct pick p;

	memset(&p, 0, sizeof(p));
	p.src = (enum vigil_cgroup_source)-1;
	strcpy(p.mount, "untouched");
	p.err = agent_pick_cgroup(l, want, &p.src, p.mount, sizeof(p.mount), p.why, sizeof(p.why));
	return p;
}

Test(agent_cgroup, auto_on_a_hybrid_node_with_memory_picks_the_v1_memory_hierarchy)
{
	struct vigil_cgroup_layout l = hybrid();
	const char *wants[] = { "auto", NULL };

	for (size_t i = 0; i < 2; i++) {
		struct pick p = pick(&l, wants[i]);

		cr_expect_eq(p.err, 0, "want %s: %s", wants[i] ? wants[i] : "NULL", p.why);
		cr_expect_eq(p.src, VIGIL_CG_V1_MEMORY);
		cr_expect_str_eq(p.mount, "/sys/fs/cgroup/memory");
	}
}

Test(agent_cgroup, auto_on_a_pure_v2_node_picks_the_unified_hierarchy)
{
	struct vigil_cgroup_layout l = layout(VIGIL_CGROUP_V2, "/sys/fs/cgroup");
	struct pick p = pick(&l, "auto");

	cr_expect_eq(p.err, 0, "%s", p.why);
	cr_expect_eq(p.src, VIGIL_CG_V2);
	cr_expect_str_eq(p.mount, "/sys/fs/cgroup");
}

Test(agent_cgroup, v2_requested_on_a_hybrid_node_picks_the_unified_mount)
{
	struct vigil_cgroup_layout l = hybrid();
	struct pick p = pick(&l, "v2");

	cr_expect_eq(p.err, 0, "%s", p.why);
	cr_expect_eq(p.src, VIGIL_CG_V2);
	cr_expect_str_eq(p.mount, "/sys/fs/cgroup/unified");
}

Test(agent_cgroup, v2_requested_without_a_v2_mount_fails_with_enoent_and_a_reason)
{
	struct vigil_cgroup_layout l = layout(VIGIL_CGROUP_V1, "");
	struct pick p;

	add_v1(&l, "memory", "/sys/fs/cgroup/memory");
	p = pick(&l, "v2");
	cr_expect_eq(p.err, -ENOENT);
	cr_expect_neq(p.why[0], '\0', "no reason given");
	cr_expect_not_null(strstr(p.why, "cgroup2"), "reason: %s", p.why);
}

Test(agent_cgroup, an_unknown_hierarchy_name_fails_with_einval_naming_it)
{
	struct vigil_cgroup_layout l = hybrid();
	static const char *const bad[] = { "v3", "", "Memory", "cpuacct", "memory " };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pick p = pick(&l, bad[i]);

		cr_expect_eq(p.err, -EINVAL, "'%s' gave %d", bad[i], p.err);
		cr_expect_not_null(strstr(p.why, "unknown"), "'%s': %s", bad[i], p.why);
	}
	cr_expect_not_null(strstr(pick(&l, "v3").why, "'v3'"), "the reason should quote the name");
}

Test(agent_cgroup, auto_on_v1_without_memory_falls_back_to_pids)
{
	struct vigil_cgroup_layout l = layout(VIGIL_CGROUP_V1, "");
	struct pick p;

	add_v1(&l, "cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct");
	add_v1(&l, "pids", "/sys/fs/cgroup/pids");
	p = pick(&l, "auto");
	cr_expect_eq(p.err, 0, "%s", p.why);
	cr_expect_eq(p.src, VIGIL_CG_V1_PIDS);
	cr_expect_str_eq(p.mount, "/sys/fs/cgroup/pids");
}

Test(agent_cgroup, auto_on_v1_with_only_cpu_picks_the_comounted_cpu_hierarchy)
{
	struct vigil_cgroup_layout l = layout(VIGIL_CGROUP_HYBRID, "/sys/fs/cgroup/unified");
	struct pick p;

	add_v1(&l, "name=systemd", "/sys/fs/cgroup/systemd");
	add_v1(&l, "cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct");
	p = pick(&l, "auto");
	cr_expect_eq(p.err, 0, "%s", p.why);
	cr_expect_eq(p.src, VIGIL_CG_V1_CPU);
	cr_expect_str_eq(p.mount, "/sys/fs/cgroup/cpu,cpuacct");
}

Test(agent_cgroup, auto_on_a_hybrid_node_without_usable_v1_controllers_uses_v2)
{
	struct vigil_cgroup_layout l = layout(VIGIL_CGROUP_HYBRID, "/sys/fs/cgroup/unified");
	struct pick p;

	add_v1(&l, "name=systemd", "/sys/fs/cgroup/systemd");
	p = pick(&l, "auto");
	cr_expect_eq(p.err, 0, "%s", p.why);
	cr_expect_eq(p.src, VIGIL_CG_V2);
	cr_expect_str_eq(p.mount, "/sys/fs/cgroup/unified");
}

Test(agent_cgroup, auto_with_no_cgroups_at_all_fails_with_enoent)
{
	struct vigil_cgroup_layout l = layout(VIGIL_CGROUP_NONE, "");
	struct pick p = pick(&l, "auto");

	cr_expect_eq(p.err, -ENOENT);
	cr_expect_neq(p.why[0], '\0');
}

Test(agent_cgroup, each_v1_controller_can_be_requested_by_name)
{
	struct vigil_cgroup_layout l = hybrid();
	static const struct {
		const char *want;
		enum vigil_cgroup_source src;
		const char *mount;
	} t[] = {
		{ "memory", VIGIL_CG_V1_MEMORY, "/sys/fs/cgroup/memory" },
		{ "pids", VIGIL_CG_V1_PIDS, "/sys/fs/cgroup/pids" },
		{ "cpu", VIGIL_CG_V1_CPU, "/sys/fs/cgroup/cpu,cpuacct" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pick p = pick(&l, t[i].want);

		cr_expect_eq(p.err, 0, "%s: %s", t[i].want, p.why);
		cr_expect_eq(p.src, t[i].src, "%s", t[i].want);
		cr_expect_str_eq(p.mount, t[i].mount, "%s", t[i].want);
	}
}

Test(agent_cgroup, a_v1_controller_that_is_not_mounted_fails_with_enoent_naming_it)
{
	struct vigil_cgroup_layout l = layout(VIGIL_CGROUP_V2, "/sys/fs/cgroup");
	struct pick p = pick(&l, "memory");

	cr_expect_eq(p.err, -ENOENT);
	cr_expect_not_null(strstr(p.why, "memory"), "reason: %s", p.why);
}

Test(agent_cgroup, a_small_mount_buffer_is_never_overrun)
{
	struct vigil_cgroup_layout l = layout(VIGIL_CGROUP_V2, "/sys/fs/cgroup");
	enum vigil_cgroup_source src;
	char *mount = malloc(8), why[64];	/* exact size: ASan sees overruns */

	cr_assert_not_null(mount);
	agent_pick_cgroup(&l, "v2", &src, mount, 8, why, sizeof(why));
	cr_expect_lt(strnlen(mount, 8), 8, "the mount is not terminated inside its buffer");
	free(mount);
}
