/*
 * test_sigpolicy.c - agent/sigpolicy.c's pure half: compiling SignalPolicy
 * documents and the built-in rules into the kernel's rule table, and the
 * selector masks the agent writes for cgroups and processes.  The BPF half
 * is exercised by tests/integration/test_signal_policy.sh and the VM tier.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sigpolicy.h"

static struct policy_set set;
static struct policy_diags diags;
static struct sigpolicy_compiled comp;

static void load(const char *yaml)
{
	char line[1024];
	int n = policy_load_buffer(&set, "t.yaml", yaml, strlen(yaml), &diags);

	if (n == 0)
		n = policy_set_finish(&set, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		policy_diag_format(&diags.v[i], line, sizeof(line));
		cr_log_error("%s", line);
	}
	cr_assert_eq(n, 0, "the test policy should load cleanly");
}

static void teardown(void)
{
	policy_set_free(&set);
	policy_diags_free(&diags);
	memset(&set, 0, sizeof(set));
	memset(&diags, 0, sizeof(diags));
}

TestSuite(sigpolicy, .fini = teardown);

#define HDR "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"

static const char two_rules[] =
	HDR
	"metadata: {name: p1}\n"
	"spec:\n"
	"  rules:\n"
	"    - name: by-pod\n"
	"      sender: {scope: containers, podUIDs: [\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\"]}\n"
	"      target: {relation: host, binaries: [\"/usr/sbin/*\"]}\n"
	"      signals: [SIGKILL, TERM]\n"
	"      action: deny\n"
	"      fallback: kill-sender\n"
	"    - sender: {comms: [evil]}\n"
	"      target: {scope: containers, relation: other-container}\n"
	"      action: audit\n";

Test(sigpolicy, rules_keep_their_order_actions_scopes_relations_and_signals)
{
	char why[256] = "";

	load(two_rules);
	cr_assert_eq(sigpolicy_compile(&set, NULL, 4242, 7, &comp, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(comp.table.n_rules, 2);
	cr_assert_eq(comp.table.gen, 7);
	cr_assert_eq(comp.table.self_tgid, 4242);

	const struct vigil_sig_rule *r = &comp.table.rules[0];
	cr_assert_eq(r->signals, (1ULL << 8) | (1ULL << 14), "SIGKILL is bit 8, SIGTERM bit 14");
	cr_assert_eq(r->action, VIGIL_SIG_ACT_DENY);
	cr_assert_eq(r->fallback, VIGIL_SIG_ACT_KILL_SENDER);
	cr_assert_eq(r->sender_scope, VIGIL_SIG_SCOPE_CONTAINERS);
	cr_assert_eq(r->target_scope, VIGIL_SIG_SCOPE_ANY);
	cr_assert_eq(r->relation, VIGIL_SIG_REL_HOST);
	cr_assert_eq(r->flags, VIGIL_SIG_NEED_SENDER_CG | VIGIL_SIG_NEED_TARGET_PROC,
		     "pod UIDs are a cgroup-level field, binaries a process-level one (flags %#x)", r->flags);
	cr_assert_str_eq(comp.refs[0].policy, "p1");
	cr_assert_str_eq(comp.refs[0].rule, "by-pod");

	r = &comp.table.rules[1];
	cr_assert_eq(r->signals, ~0ULL, "no signals key means every signal");
	cr_assert_eq(r->action, VIGIL_SIG_ACT_AUDIT);
	cr_assert_eq(r->fallback, VIGIL_SIG_ACT_AUDIT, "fallback is deny's alone; others keep their action");
	cr_assert_eq(r->target_scope, VIGIL_SIG_SCOPE_CONTAINERS);
	cr_assert_eq(r->relation, VIGIL_SIG_REL_OTHER_CONTAINER);
	cr_assert_eq(r->flags, VIGIL_SIG_NEED_SENDER_PROC);
	cr_assert_str_eq(comp.refs[1].rule, "rule-2", "an unnamed rule is named by its position");
	cr_assert(comp.need_cgroup && comp.need_proc);
}

Test(sigpolicy, deny_without_a_fallback_degrades_to_audit)
{
	char why[256] = "";

	load(HDR "metadata: {name: p}\nspec:\n  rules:\n    - action: deny\n");
	cr_assert_eq(sigpolicy_compile(&set, NULL, 1, 1, &comp, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(comp.table.rules[0].fallback, VIGIL_SIG_ACT_AUDIT);
	cr_assert_eq(comp.table.rules[0].flags, 0, "scope-only selectors need no masks");
	cr_assert(!comp.need_cgroup && !comp.need_proc);
}

Test(sigpolicy, builtin_rules_follow_the_policy_rules)
{
	struct sig_guard g = { .container_escape = SIG_ACTION_KILL_SENDER, .protect_self = true };
	char why[256] = "";

	load(two_rules);
	cr_assert_eq(sigpolicy_compile(&set, &g, 99, 1, &comp, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(comp.table.n_rules, 4);

	const struct vigil_sig_rule *esc = &comp.table.rules[2], *self = &comp.table.rules[3];
	cr_assert_str_eq(comp.refs[2].policy, SIGPOLICY_BUILTIN);
	cr_assert_str_eq(comp.refs[2].rule, "container-escape");
	cr_assert_eq(esc->sender_scope, VIGIL_SIG_SCOPE_CONTAINERS);
	cr_assert_eq(esc->relation, VIGIL_SIG_REL_OUTSIDE);
	cr_assert_eq(esc->action, VIGIL_SIG_ACT_KILL_SENDER);
	cr_assert_eq(esc->signals, ~0ULL);

	cr_assert_str_eq(comp.refs[3].rule, "protect-self");
	cr_assert_eq(self->relation, VIGIL_SIG_REL_SELF);
	cr_assert_eq(self->signals, (1ULL << 8) | (1ULL << 18), "SIGKILL and SIGSTOP only");
	cr_assert_eq(self->action, VIGIL_SIG_ACT_DENY);
	cr_assert(self->flags & VIGIL_SIG_SENDER_NOT_INIT, "pid 1 may still stop the agent");
	cr_assert_eq(comp.table.self_tgid, 99);
}

Test(sigpolicy, no_policies_and_no_builtins_is_an_empty_table)
{
	char why[256] = "";

	cr_assert_eq(sigpolicy_compile(&set, NULL, 1, 3, &comp, why, sizeof(why)), 0);
	cr_assert_eq(comp.table.n_rules, 0);
	cr_assert_eq(comp.table.gen, 3);
}

Test(sigpolicy, a_table_past_the_kernel_limit_is_refused)
{
	struct sig_guard g = { .container_escape = SIG_ACTION_AUDIT, .protect_self = true };
	struct policy_doc *docs = calloc(1, sizeof(*docs));
	char why[256] = "";

	/* Built by hand: the loader itself refuses sets this large. */
	cr_assert_not_null(docs);
	docs[0].kind = POLICY_KIND_SIGNAL;
	strcpy(docs[0].name, "big");
	docs[0].n_rules = VIGIL_SIG_MAX_RULES - 1;
	docs[0].rules = calloc(docs[0].n_rules, sizeof(struct signal_rule));
	cr_assert_not_null(docs[0].rules);
	for (size_t i = 0; i < docs[0].n_rules; i++)
		docs[0].rules[i].action = SIG_ACTION_AUDIT;
	set.docs = docs;
	set.n_docs = 1;
	cr_assert_eq(sigpolicy_compile(&set, &g, 1, 1, &comp, why, sizeof(why)), -E2BIG);
	cr_assert(strstr(why, "holds 64"), "why: %s", why);
	g.protect_self = false;
	cr_assert_eq(sigpolicy_compile(&set, &g, 1, 1, &comp, why, sizeof(why)), 0,
		     "63 rules plus one built-in fit: %s", why);
}

static struct sel_subject subject(const char *ctr, const char *pod, const char *cg,
				  const char *bin, const char *comm)
{
	return (struct sel_subject){ .in_container = ctr[0] != 0, .container_id = ctr,
				     .pod_uid = pod, .pod_namespace = "", .pod_name = "",
				     .cgroup = cg, .binary = bin, .comm = comm };
}

Test(sigpolicy, cgroup_masks_carry_only_rules_with_cgroup_fields)
{
	struct vigil_sig_cls cls;
	char why[256] = "";
	struct sel_subject in_pod = subject("aa", "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
					    "/kubepods/x", "/usr/sbin/sshd", "evil");
	struct sel_subject other_pod = subject("bb", "11111111-2222-3333-4444-555555555555",
					       "/kubepods/y", "/bin/sh", "sh");

	load(two_rules);
	cr_assert_eq(sigpolicy_compile(&set, NULL, 1, 1, &comp, why, sizeof(why)), 0);
	sigpolicy_classify(&comp, &in_pod, VIGIL_SIG_CLS_CGROUP, &cls);
	cr_assert_eq(cls.sender, 1ULL << 0, "rule 0's sender pod matches (sender %#llx)",
		     (unsigned long long)cls.sender);
	cr_assert_eq(cls.target, 0, "no rule has cgroup-level target fields");
	sigpolicy_classify(&comp, &other_pod, VIGIL_SIG_CLS_CGROUP, &cls);
	cr_assert_eq(cls.sender, 0);
}

Test(sigpolicy, process_masks_carry_binary_and_comm_matches)
{
	struct vigil_sig_cls cls;
	char why[256] = "";
	struct sel_subject sshd = subject("", "", "/system.slice", "/usr/sbin/sshd", "evil");
	struct sel_subject sh = subject("", "", "/", "/bin/sh", "sh");

	load(two_rules);
	cr_assert_eq(sigpolicy_compile(&set, NULL, 1, 1, &comp, why, sizeof(why)), 0);
	sigpolicy_classify(&comp, &sshd, VIGIL_SIG_CLS_PROC, &cls);
	cr_assert_eq(cls.target, 1ULL << 0, "rule 0's target binary glob matches sshd");
	cr_assert_eq(cls.sender, 1ULL << 1, "rule 1's sender comm matches 'evil'");
	sigpolicy_classify(&comp, &sh, VIGIL_SIG_CLS_PROC, &cls);
	cr_assert_eq(cls.sender | cls.target, 0);
}

Test(sigpolicy, the_effect_is_named_from_what_the_kernel_did)
{
	cr_assert_str_eq(sigpolicy_effect_name(VIGIL_SIG_ACT_DENY, 0), "audit",
			 "deny without LSM and without kill-sender was only reported");
	cr_assert_str_eq(sigpolicy_effect_name(VIGIL_SIG_ACT_DENY, VIGIL_SIG_OUT_DENIED), "deny");
	cr_assert_str_eq(sigpolicy_effect_name(VIGIL_SIG_ACT_DENY, VIGIL_SIG_OUT_SENDER_KILLED),
			 "kill-sender");
	cr_assert_str_eq(sigpolicy_effect_name(VIGIL_SIG_ACT_KILL_SENDER,
					       VIGIL_SIG_OUT_DENIED | VIGIL_SIG_OUT_KILL_FAILED),
			 "kill-sender");
	cr_assert_str_eq(sigpolicy_effect_name(VIGIL_SIG_ACT_AUDIT, 0), "audit");
}
