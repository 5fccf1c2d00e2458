/*
 * test_selector.c - agent/selector.c: each field on its own, OR within a
 * list, AND across fields, absent = everything, empty = nothing, and an
 * unknown value never matching a field that is set.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

#define CID "4f2a9c0d1e3b5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
#define CID2 "97c3a7b1b1526c2c23f3f2f38251e57daf8c7f5041a869b5fa2ae2c9ac89736f"
#define POD "17e6e95c-d075-470c-998c-7ec555c01cac"
#define POD2 "0b6f4a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
#define POD_CGROUP "/kubepods/burstable/pod" POD "/" CID

/* A set list of literals; selector_match never writes through it. */
#define LIST(...) \
	((struct strlist){ .v = (char *[]){ __VA_ARGS__ }, \
			   .n = sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *), .set = true })
#define EMPTY_LIST ((struct strlist){ .v = NULL, .n = 0, .set = true })

static struct sel_subject host_sh(void)
{
	return (struct sel_subject){
		.in_container = false, .container_id = "", .pod_uid = "", .pod_namespace = "",
		.pod_name = "", .cgroup = "/system.slice/sshd.service", .binary = "/usr/bin/sh",
		.comm = "sh",
	};
}

static struct sel_subject pod_nginx(void)
{
	return (struct sel_subject){
		.in_container = true, .container_id = CID, .pod_uid = POD,
		.pod_namespace = "prod-web", .pod_name = "web-7f9c", .cgroup = POD_CGROUP,
		.binary = "/usr/sbin/nginx", .comm = "nginx",
	};
}

/* ---- absent and empty ------------------------------------------------------- */

Test(selector, an_empty_selector_matches_host_and_container_processes)
{
	struct selector s = { 0 };
	struct sel_subject h = host_sh(), c = pod_nginx();

	cr_assert(selector_match(&s, &h));
	cr_assert(selector_match(&s, &c));
	cr_assert(!selector_has_cgroup_fields(&s));
	cr_assert(!selector_has_process_fields(&s));
}

Test(selector, an_empty_list_matches_nothing_even_where_an_absent_field_matches_all)
{
	struct sel_subject c = pod_nginx();
	struct selector s = { .binaries = EMPTY_LIST };

	cr_assert(!selector_match(&s, &c));
	cr_assert(!selector_match_process(&s, &c));
	s = (struct selector){ .namespaces = EMPTY_LIST };
	cr_assert(!selector_match_cgroup(&s, &c));
}

Test(selector, an_empty_list_still_counts_as_a_field_that_is_set)
{
	struct selector s = { .comms = EMPTY_LIST };

	cr_assert(selector_has_process_fields(&s));
	cr_assert(!selector_has_cgroup_fields(&s));
	s = (struct selector){ .pod_uids = EMPTY_LIST };
	cr_assert(selector_has_cgroup_fields(&s));
	cr_assert(!selector_has_process_fields(&s));
}

Test(selector, scope_alone_is_neither_a_cgroup_nor_a_process_field)
{
	struct selector s = { .scope = SEL_SCOPE_CONTAINERS };

	cr_assert(!selector_has_cgroup_fields(&s));
	cr_assert(!selector_has_process_fields(&s));
}

Test(selector, each_list_field_is_sorted_into_the_right_group)
{
	struct selector s;

	s = (struct selector){ .container_ids = LIST("4f2a9c0d1e3b") };
	cr_assert(selector_has_cgroup_fields(&s) && !selector_has_process_fields(&s));
	s = (struct selector){ .pod_uids = LIST(POD) };
	cr_assert(selector_has_cgroup_fields(&s) && !selector_has_process_fields(&s));
	s = (struct selector){ .namespaces = LIST("prod-*") };
	cr_assert(selector_has_cgroup_fields(&s) && !selector_has_process_fields(&s));
	s = (struct selector){ .pods = LIST("web-*") };
	cr_assert(selector_has_cgroup_fields(&s) && !selector_has_process_fields(&s));
	s = (struct selector){ .cgroups = LIST("/kubepods/*") };
	cr_assert(selector_has_cgroup_fields(&s) && !selector_has_process_fields(&s));
	s = (struct selector){ .binaries = LIST("/usr/bin/*") };
	cr_assert(!selector_has_cgroup_fields(&s) && selector_has_process_fields(&s));
	s = (struct selector){ .comms = LIST("sh") };
	cr_assert(!selector_has_cgroup_fields(&s) && selector_has_process_fields(&s));
}

/* ---- scope ------------------------------------------------------------------ */

Test(selector, scope_any_matches_inside_and_outside_containers)
{
	struct selector s = { .scope = SEL_SCOPE_ANY };

	cr_assert(selector_match_scope(&s, false));
	cr_assert(selector_match_scope(&s, true));
}

Test(selector, scope_host_matches_only_processes_outside_containers)
{
	struct selector s = { .scope = SEL_SCOPE_HOST };
	struct sel_subject h = host_sh(), c = pod_nginx();

	cr_assert(selector_match_scope(&s, false));
	cr_assert(!selector_match_scope(&s, true));
	cr_assert(selector_match(&s, &h));
	cr_assert(!selector_match(&s, &c));
}

Test(selector, scope_containers_matches_only_processes_inside_containers)
{
	struct selector s = { .scope = SEL_SCOPE_CONTAINERS };
	struct sel_subject h = host_sh(), c = pod_nginx();

	cr_assert(!selector_match_scope(&s, false));
	cr_assert(selector_match_scope(&s, true));
	cr_assert(!selector_match(&s, &h));
	cr_assert(selector_match(&s, &c));
}

/* ---- cgroup-level fields ------------------------------------------------------ */

Test(selector, a_container_id_prefix_matches_the_full_id)
{
	struct selector s = { .container_ids = LIST("4f2a9c0d1e3b") };
	struct sel_subject c = pod_nginx();

	cr_assert(selector_match_cgroup(&s, &c));
	c.container_id = CID2;
	cr_assert(!selector_match_cgroup(&s, &c));
}

Test(selector, a_full_container_id_matches_itself_but_not_a_longer_or_shorter_id)
{
	struct selector s = { .container_ids = LIST(CID) };
	struct sel_subject c = pod_nginx();

	cr_assert(selector_match_cgroup(&s, &c));
	c.container_id = "4f2a9c0d1e3b";
	cr_assert(!selector_match_cgroup(&s, &c));
}

Test(selector, container_ids_never_match_a_host_process)
{
	struct selector s = { .container_ids = LIST("4f2a9c0d1e3b") };
	struct sel_subject h = host_sh();

	cr_assert(!selector_match_cgroup(&s, &h));
}

Test(selector, pod_uids_match_exactly_not_by_prefix)
{
	struct selector s = { .pod_uids = LIST(POD) };
	struct sel_subject c = pod_nginx();

	cr_assert(selector_match_cgroup(&s, &c));
	s.pod_uids = LIST("17e6e95c");
	cr_assert(!selector_match_cgroup(&s, &c));
	s.pod_uids = LIST(POD2);
	cr_assert(!selector_match_cgroup(&s, &c));
}

Test(selector, namespaces_are_globs_on_the_pod_namespace)
{
	struct selector s = { .namespaces = LIST("prod-*") };
	struct sel_subject c = pod_nginx();

	cr_assert(selector_match_cgroup(&s, &c));
	c.pod_namespace = "staging-web";
	cr_assert(!selector_match_cgroup(&s, &c));
	s.namespaces = LIST("staging-[a-z]??");
	cr_assert(selector_match_cgroup(&s, &c));
}

Test(selector, pods_are_globs_on_the_pod_name)
{
	struct selector s = { .pods = LIST("web-?f9c") };
	struct sel_subject c = pod_nginx();

	cr_assert(selector_match_cgroup(&s, &c));
	s.pods = LIST("db-*");
	cr_assert(!selector_match_cgroup(&s, &c));
}

Test(selector, an_unknown_namespace_or_pod_name_never_matches_even_a_star)
{
	struct selector s = { .namespaces = LIST("*") };
	struct sel_subject c = pod_nginx();

	c.pod_namespace = "";
	cr_assert(!selector_match_cgroup(&s, &c));
	s = (struct selector){ .pods = LIST("*") };
	c.pod_name = NULL;
	cr_assert(!selector_match_cgroup(&s, &c));
}

Test(selector, a_cgroup_star_crosses_slashes)
{
	struct selector s = { .cgroups = LIST("/kubepods/*") };
	struct sel_subject c = pod_nginx(), h = host_sh();

	cr_assert(selector_match_cgroup(&s, &c));
	cr_assert(!selector_match_cgroup(&s, &h));
	s.cgroups = LIST("*.service");
	cr_assert(selector_match_cgroup(&s, &h));
}

Test(selector, an_unknown_cgroup_never_matches)
{
	struct selector s = { .cgroups = LIST("*") };
	struct sel_subject h = host_sh();

	h.cgroup = "";
	cr_assert(!selector_match_cgroup(&s, &h));
}

/* ---- process-level fields ------------------------------------------------------ */

Test(selector, binaries_are_globs_on_the_binary_path)
{
	struct selector s = { .binaries = LIST("/usr/sbin/*") };
	struct sel_subject c = pod_nginx(), h = host_sh();

	cr_assert(selector_match_process(&s, &c));
	cr_assert(!selector_match_process(&s, &h));
	s.binaries = LIST("*/sh");
	cr_assert(selector_match_process(&s, &h));
}

Test(selector, a_binary_star_crosses_slashes_as_fnmatch_with_no_flags_does)
{
	struct selector s = { .binaries = LIST("/usr/*") };
	struct sel_subject c = pod_nginx();

	cr_assert(selector_match_process(&s, &c));
}

Test(selector, an_unknown_binary_never_matches)
{
	struct selector s = { .binaries = LIST("*") };
	struct sel_subject c = pod_nginx();

	c.binary = "";
	cr_assert(!selector_match_process(&s, &c));
}

Test(selector, comms_match_exactly_and_are_not_globs)
{
	struct selector s = { .comms = LIST("sh") };
	struct sel_subject h = host_sh();

	cr_assert(selector_match_process(&s, &h));
	h.comm = "bash";
	cr_assert(!selector_match_process(&s, &h));
	s.comms = LIST("ba*");
	cr_assert(!selector_match_process(&s, &h));
	h.comm = "s";
	s.comms = LIST("sh");
	cr_assert(!selector_match_process(&s, &h));
}

/* ---- OR within a list, AND across fields ------------------------------------- */

Test(selector, any_entry_of_a_list_may_match)
{
	struct selector s = { .comms = LIST("bash", "sh", "zsh") };
	struct sel_subject h = host_sh();

	cr_assert(selector_match_process(&s, &h));
	s.container_ids = LIST(CID2, "4f2a9c0d1e3b");
	h = pod_nginx();
	cr_assert(selector_match_cgroup(&s, &h));
}

Test(selector, every_field_that_is_set_must_match)
{
	struct selector s = {
		.scope = SEL_SCOPE_CONTAINERS,
		.namespaces = LIST("prod-*"),
		.pods = LIST("web-*"),
		.binaries = LIST("/usr/sbin/nginx"),
		.comms = LIST("nginx"),
	};
	struct sel_subject c = pod_nginx();

	cr_assert(selector_match(&s, &c));
	c.comm = "worker";
	cr_assert(!selector_match(&s, &c), "a process field that fails must fail the whole");
	c = pod_nginx();
	c.pod_name = "api-1";
	cr_assert(!selector_match(&s, &c), "a cgroup field that fails must fail the whole");
	c = pod_nginx();
	c.in_container = false;
	cr_assert(!selector_match(&s, &c), "a scope that fails must fail the whole");
}

Test(selector, match_cgroup_ignores_scope_and_process_fields)
{
	struct selector s = {
		.scope = SEL_SCOPE_HOST,
		.pod_uids = LIST(POD),
		.comms = LIST("not-nginx"),
	};
	struct sel_subject c = pod_nginx();

	cr_assert(selector_match_cgroup(&s, &c));
	cr_assert(!selector_match(&s, &c));
}

Test(selector, match_process_ignores_scope_and_cgroup_fields)
{
	struct selector s = {
		.scope = SEL_SCOPE_HOST,
		.pod_uids = LIST(POD2),
		.comms = LIST("nginx"),
	};
	struct sel_subject c = pod_nginx();

	cr_assert(selector_match_process(&s, &c));
	cr_assert(!selector_match(&s, &c));
}

Test(selector, missing_subject_strings_count_as_unknown)
{
	struct selector s = { .container_ids = LIST("4f2a9c0d1e3b") };
	struct sel_subject x = { .in_container = true };

	cr_assert(!selector_match_cgroup(&s, &x));
	cr_assert(selector_match_process(&s, &x), "no process field is set");
}

/* ---- freeing ---------------------------------------------------------------- */

static void heap_list(struct strlist *l, const char *a, const char *b)
{
	l->v = malloc(2 * sizeof(*l->v));
	cr_assert_not_null(l->v);
	l->v[0] = strdup(a);
	l->v[1] = strdup(b);
	l->n = 2;
	l->set = true;
}

Test(selector, selector_free_releases_every_list_and_resets_the_selector)
{
	struct selector s = { .scope = SEL_SCOPE_HOST };

	heap_list(&s.container_ids, "4f2a9c0d1e3b", CID2);
	heap_list(&s.pod_uids, POD, POD2);
	heap_list(&s.namespaces, "a", "b");
	heap_list(&s.pods, "a", "b");
	heap_list(&s.cgroups, "/a", "/b");
	heap_list(&s.binaries, "/a", "/b");
	heap_list(&s.comms, "a", "b");
	selector_free(&s);	/* LeakSanitizer checks the rest */
	cr_assert_eq(s.scope, SEL_SCOPE_ANY);
	cr_assert(!s.comms.set && s.comms.n == 0 && s.comms.v == NULL);
	cr_assert(!selector_has_cgroup_fields(&s) && !selector_has_process_fields(&s));
	selector_free(&s);	/* twice is harmless */
}

Test(selector, strlist_free_of_an_empty_list_is_harmless)
{
	struct strlist l = { 0 };

	strlist_free(&l);
	cr_assert_eq(l.n, 0);
}
