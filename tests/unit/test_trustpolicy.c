/*
 * test_trustpolicy.c - agent/trustpolicy.c: which TrustPolicy rule decides
 * for the host, for containers not classified yet, and for one container,
 * from policies loaded by the real loader.  First match in load order wins;
 * no match (or no TrustPolicy at all) is off.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <string.h>

#include "trustpolicy.h"

#define CID "4f2a9c0d1e3b5a6978695a4b3c2d1e0f4f2a9c0d1e3b5a6978695a4b3c2d1e0f"
#define CID2 "b1526c2c23f3f2f38251e57daf8c7f5041a869b5b1526c2c23f3f2f38251e57d"
#define POD "17e6e95c-d075-470c-998c-7ec555c01cac"
#define POD2 "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"

#define TP(name) "apiVersion: vigil.dev/v1alpha1\nkind: TrustPolicy\nmetadata: {name: " name "}\n"
#define SP(name) "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\nmetadata: {name: " name "}\n"

static struct policy_set set;
static struct policy_diags diags;

static void teardown(void)
{
	policy_set_free(&set);
	policy_diags_free(&diags);
}

TestSuite(trustpolicy, .fini = teardown);

/* Load one file's text and finish the set; errors fail the test (warnings are allowed). */
static void load_as(const char *file, const char *yaml)
{
	char line[1024];
	int n = policy_load_buffer(&set, file, yaml, strlen(yaml), &diags);

	for (size_t i = 0; i < diags.n; i++) {
		policy_diag_format(&diags.v[i], line, sizeof(line));
		cr_log_info("%s", line);
	}
	cr_assert_eq(n, 0, "the test policy should load:\n%s", yaml);
}

static void load(const char *yaml)
{
	load_as("t.yaml", yaml);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
}

/* A container as the agent knows it after classifying it. */
static struct sel_subject ctr(const char *id, const char *pod_uid, const char *ns,
			      const char *pod, const char *cgroup)
{
	return (struct sel_subject){
		.in_container = true, .container_id = id, .pod_uid = pod_uid,
		.pod_namespace = ns, .pod_name = pod, .cgroup = cgroup, .binary = "", .comm = "",
	};
}

static void expect(const struct trust_effective *e, enum trust_mode mode, const char *policy,
		   const char *rule)
{
	cr_expect_eq(e->mode, mode, "mode %s, want %s (policy \"%s\", rule \"%s\")",
		     trust_mode_name(e->mode), trust_mode_name(mode), e->policy, e->rule);
	cr_assert_not_null(e->policy);
	cr_assert_not_null(e->rule);
	cr_expect_str_eq(e->policy, policy);
	cr_expect_str_eq(e->rule, rule);
}

static void expect_none(const struct trust_effective *e)
{
	expect(e, TRUST_MODE_OFF, "", "");
	cr_expect(!e->libraries && !e->modules, "no rule: libraries and modules false");
}

Test(trustpolicy, no_trust_policy_is_off_everywhere)
{
	struct sel_subject x = ctr(CID, POD, "prod", "web-1", "/kubepods/pod" POD "/" CID);
	struct trust_effective e;

	trust_resolve_host(&set, &e);
	expect_none(&e);
	trust_resolve_container_default(&set, &e);
	expect_none(&e);
	trust_resolve_container(&set, &x, &e);
	expect_none(&e);
	cr_expect_eq(trust_policy_count(&set), 0);
	trust_resolve_host(NULL, &e);
	expect_none(&e);
	cr_expect_eq(trust_policy_count(NULL), 0);
}

Test(trustpolicy, signal_policies_are_ignored)
{
	struct sel_subject x = ctr(CID, "", "", "", "/docker/" CID);
	struct trust_effective e;

	load(SP("sig") "spec: {rules: [{sender: {scope: containers}, action: audit}]}\n");
	cr_assert_eq(set.n_docs, 1);
	cr_expect_eq(trust_policy_count(&set), 0);
	trust_resolve_host(&set, &e);
	expect_none(&e);
	trust_resolve_container_default(&set, &e);
	expect_none(&e);
	trust_resolve_container(&set, &x, &e);
	expect_none(&e);

	/* Among trust policies too: only the TrustPolicy counts and decides. */
	load_as("u.yaml", TP("trust") "spec: {rules: [{mode: audit}]}\n---\n"
		SP("sig2") "spec: {rules: [{action: deny}]}\n");
	cr_expect_eq(trust_policy_count(&set), 1);
	trust_resolve_container(&set, &x, &e);
	expect(&e, TRUST_MODE_AUDIT, "trust", "rule-1");
}

Test(trustpolicy, a_rule_for_everything_decides_everywhere_with_its_flags)
{
	struct sel_subject x = ctr(CID, "", "", "", "/docker/" CID);
	struct trust_effective e;

	load(TP("all") "spec:\n  rules:\n    - name: every-process\n      mode: enforce\n"
	     "      modules: true\n");
	cr_expect_eq(trust_policy_count(&set), 1);
	trust_resolve_host(&set, &e);
	expect(&e, TRUST_MODE_ENFORCE, "all", "every-process");
	cr_expect(e.libraries && e.modules);
	trust_resolve_container_default(&set, &e);
	expect(&e, TRUST_MODE_ENFORCE, "all", "every-process");
	trust_resolve_container(&set, &x, &e);
	expect(&e, TRUST_MODE_ENFORCE, "all", "every-process");
	cr_expect(e.libraries && e.modules);
	/* The answer points into the set. */
	cr_expect_eq(e.policy, set.docs[0].name);
	cr_expect_eq(e.rule, set.docs[0].trust_rules[0].name);
}

Test(trustpolicy, the_first_matching_rule_wins_in_load_order)
{
	struct trust_effective e;

	load_as("10-a.yaml", TP("first") "spec:\n  rules:\n"
		"    - {name: host-audit, selector: {scope: host}, mode: audit, libraries: false}\n");
	load_as("20-b.yaml", TP("second") "spec:\n  rules:\n"
		"    - {name: host-enforce, selector: {scope: host}, mode: enforce}\n"
		"    - {name: rest, mode: enforce, modules: true}\n");
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	cr_expect_eq(trust_policy_count(&set), 2);
	trust_resolve_host(&set, &e);
	expect(&e, TRUST_MODE_AUDIT, "first", "host-audit");
	cr_expect(!e.libraries && !e.modules);
	trust_resolve_container_default(&set, &e);
	expect(&e, TRUST_MODE_ENFORCE, "second", "rest");
	cr_expect(e.libraries && e.modules);
}

Test(trustpolicy, an_exemption_before_a_broad_enforce_wins_for_its_workloads_only)
{
	struct sel_subject ci = ctr(CID, POD, "ci-runners", "build-7", "/kubepods/pod" POD "/" CID);
	struct sel_subject prod = ctr(CID2, POD2, "prod", "web-1", "/kubepods/pod" POD2 "/" CID2);
	struct trust_effective e;

	load(TP("exempt") "spec:\n  rules:\n"
	     "    - name: ci\n      selector: {namespaces: [\"ci-*\"]}\n      mode: \"off\"\n"
	     "    - name: everything\n      mode: enforce\n");
	trust_resolve_container(&set, &ci, &e);
	expect(&e, TRUST_MODE_OFF, "exempt", "ci");
	cr_expect(e.libraries, "an off rule's flags are reported as written");
	trust_resolve_container(&set, &prod, &e);
	expect(&e, TRUST_MODE_ENFORCE, "exempt", "everything");
	/* The exemption needs the namespace: the host and unclassified containers get enforce. */
	trust_resolve_host(&set, &e);
	expect(&e, TRUST_MODE_ENFORCE, "exempt", "everything");
	trust_resolve_container_default(&set, &e);
	expect(&e, TRUST_MODE_ENFORCE, "exempt", "everything");
}

Test(trustpolicy, host_rules_need_a_scope_that_admits_the_host_and_no_cgroup_fields)
{
	struct trust_effective e;

	load(TP("h") "spec:\n  rules:\n"
	     "    - {name: ctrs, selector: {scope: containers}, mode: enforce}\n"
	     "    - {name: by-pod, selector: {podUIDs: [\"" POD "\"]}, mode: enforce}\n"
	     "    - {name: by-cgroup, selector: {cgroups: [\"/*\"]}, mode: enforce}\n"
	     "    - {name: host, selector: {scope: host}, mode: audit}\n"
	     "    - {name: any, mode: enforce}\n");
	trust_resolve_host(&set, &e);
	expect(&e, TRUST_MODE_AUDIT, "h", "host");
}

Test(trustpolicy, scope_any_without_cgroup_fields_covers_the_host)
{
	struct trust_effective e;

	load(TP("h") "spec:\n  rules:\n"
	     "    - {name: ns, selector: {scope: any, namespaces: [x]}, mode: enforce}\n"
	     "    - {name: any, selector: {scope: any}, mode: audit}\n");
	trust_resolve_host(&set, &e);
	expect(&e, TRUST_MODE_AUDIT, "h", "any");
}

Test(trustpolicy, no_host_rule_is_off_for_the_host)
{
	struct trust_effective e;

	load(TP("c") "spec: {rules: [{selector: {scope: containers}, mode: enforce}]}\n");
	trust_resolve_host(&set, &e);
	expect_none(&e);
	trust_resolve_container_default(&set, &e);
	expect(&e, TRUST_MODE_ENFORCE, "c", "rule-1");
}

Test(trustpolicy, the_container_default_skips_host_rules_and_rules_with_cgroup_fields)
{
	struct trust_effective e;

	load(TP("d") "spec:\n  rules:\n"
	     "    - {name: host, selector: {scope: host}, mode: enforce}\n"
	     "    - {name: one, selector: {containerIds: [\"" CID "\"]}, mode: \"off\"}\n"
	     "    - {name: ns, selector: {scope: containers, namespaces: [prod]}, mode: \"off\"}\n"
	     "    - {name: glob, selector: {cgroups: [\"/kubepods*\"]}, mode: \"off\"}\n"
	     "    - {name: ctrs, selector: {scope: containers}, mode: audit, libraries: false}\n"
	     "    - {name: any, mode: enforce}\n");
	trust_resolve_container_default(&set, &e);
	expect(&e, TRUST_MODE_AUDIT, "d", "ctrs");
	cr_expect(!e.libraries);
	/* Without a subject a container is judged as an unclassified one. */
	trust_resolve_container(&set, NULL, &e);
	expect(&e, TRUST_MODE_AUDIT, "d", "ctrs");
}

Test(trustpolicy, no_container_default_rule_is_off_for_new_containers)
{
	struct trust_effective e;

	load(TP("n") "spec:\n  rules:\n"
	     "    - {selector: {scope: host}, mode: enforce}\n"
	     "    - {selector: {namespaces: [prod]}, mode: enforce}\n");
	trust_resolve_container_default(&set, &e);
	expect_none(&e);
}

Test(trustpolicy, a_container_is_matched_by_each_cgroup_level_field)
{
	struct sel_subject web = ctr(CID, POD, "prod", "web-1", "/kubepods/burstable/pod" POD "/" CID);
	struct sel_subject other = ctr(CID2, POD2, "dev", "api-1",
				       "/system.slice/docker-" CID2 ".scope");
	struct sel_subject unknown = ctr(CID2, "", "", "", "");
	struct trust_effective e;

	load(TP("fields") "spec:\n  rules:\n"
	     "    - {name: host, selector: {scope: host}, mode: enforce}\n"
	     "    - {name: by-id, selector: {containerIds: [\"4f2a9c0d1e3b\"]}, mode: audit}\n"
	     "    - {name: by-pod-uid, selector: {podUIDs: [\"" POD2 "\"]}, mode: \"off\"}\n"
	     "    - {name: rest, selector: {scope: containers}, mode: enforce}\n");
	trust_resolve_container(&set, &web, &e);
	expect(&e, TRUST_MODE_AUDIT, "fields", "by-id");	/* an id prefix */
	trust_resolve_container(&set, &other, &e);
	expect(&e, TRUST_MODE_OFF, "fields", "by-pod-uid");
	trust_resolve_container(&set, &unknown, &e);
	expect(&e, TRUST_MODE_ENFORCE, "fields", "rest");
	teardown();

	load(TP("globs") "spec:\n  rules:\n"
	     "    - {name: ns, selector: {namespaces: [\"prod*\"]}, mode: audit}\n"
	     "    - {name: pod, selector: {pods: [\"api-*\"]}, mode: \"off\"}\n"
	     "    - {name: docker, selector: {cgroups: [\"/system.slice/docker-*\"]}, "
	     "mode: enforce}\n");
	trust_resolve_container(&set, &web, &e);
	expect(&e, TRUST_MODE_AUDIT, "globs", "ns");
	trust_resolve_container(&set, &other, &e);
	expect(&e, TRUST_MODE_OFF, "globs", "pod");
	other.pod_name = "db-0";
	trust_resolve_container(&set, &other, &e);
	expect(&e, TRUST_MODE_ENFORCE, "globs", "docker");
	/* Unknown values never match a field that is set. */
	trust_resolve_container(&set, &unknown, &e);
	expect_none(&e);
}

Test(trustpolicy, fields_of_one_selector_must_all_match)
{
	struct sel_subject a = ctr(CID, POD, "prod", "web-1", "/kubepods/pod" POD "/" CID);
	struct sel_subject b = ctr(CID2, POD2, "prod", "api-1", "/kubepods/pod" POD2 "/" CID2);
	struct trust_effective e;

	load(TP("and") "spec:\n  rules:\n"
	     "    - {name: prod-web, selector: {namespaces: [prod], pods: [\"web-*\"]}, "
	     "mode: \"off\"}\n"
	     "    - {name: rest, mode: enforce}\n");
	trust_resolve_container(&set, &a, &e);
	expect(&e, TRUST_MODE_OFF, "and", "prod-web");
	trust_resolve_container(&set, &b, &e);
	expect(&e, TRUST_MODE_ENFORCE, "and", "rest");
}

Test(trustpolicy, a_host_rule_never_matches_a_container)
{
	struct sel_subject x = ctr(CID, "", "", "", "/docker/" CID);
	struct trust_effective e;

	load(TP("h") "spec:\n  rules:\n"
	     "    - {name: host, selector: {scope: host}, mode: enforce}\n");
	trust_resolve_container(&set, &x, &e);
	expect_none(&e);
	trust_resolve_host(&set, &e);
	expect(&e, TRUST_MODE_ENFORCE, "h", "host");
}
