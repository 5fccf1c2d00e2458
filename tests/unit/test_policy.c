/*
 * test_policy.c - agent/policy.c and agent/policy_cli.c: what a valid policy
 * loads into, every kind of problem with its exact position (1-based, as
 * the user sees it), selectors that can never match, TrustPolicy (its
 * grammar, the process-level fields it refuses, its warnings), OomPolicy
 * and LeakPolicy (ranges, defaults, scopes), set-wide checks (duplicate
 * names, rule and document limits, hidden trust rules and LeakPolicies,
 * overlapping OomPolicies), directories,
 * the schema table against the parser for every kind, and `vigil policy
 * check`.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "policy_cli.h"

#define ALL_SIGNALS (~0ull)
#define BIT(sig) (1ull << ((sig) - 1))
#define CID "4f2a9c0d1e3b"
#define POD "17e6e95c-d075-470c-998c-7ec555c01cac"

/* Six lines; the first rule starts on line 7 at column 7 ("    - "). */
#define HEAD \
	"apiVersion: vigil.dev/v1alpha1\n" \
	"kind: SignalPolicy\n" \
	"metadata:\n" \
	"  name: p\n" \
	"spec:\n" \
	"  rules:\n"

static struct policy_set set;
static struct policy_diags diags;

static void reset(void)
{
	policy_set_free(&set);
	policy_diags_free(&diags);
}

TestSuite(policy, .fini = reset);
TestSuite(policy_schema, .fini = reset);
TestSuite(policy_set, .fini = reset);
TestSuite(policy_files, .fini = reset);
TestSuite(policy_cli, .fini = reset);

static void dump(void)
{
	char line[PATH_MAX + 512];

	for (size_t i = 0; i < diags.n; i++) {
		policy_diag_format(&diags.v[i], line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
}

static int load_as(const char *name, const char *text)
{
	return policy_load_buffer(&set, name, text, strlen(text), &diags);
}

static int load(const char *text)
{
	reset();
	return load_as("test.yaml", text);
}

static void expect_ok(const char *text)
{
	int ret = load(text);

	if (ret != 0 || diags.n)
		dump();
	cr_assert_eq(ret, 0, "load returned %d\ninput:\n%s", ret, text);
	cr_assert_eq(diags.n, 0, "%zu diagnostics (above)\ninput:\n%s", diags.n, text);
	cr_assert_gt(set.n_docs, 0);
}

static const struct policy_diag *find(int line, int column, const char *needle)
{
	for (size_t i = 0; i < diags.n; i++)
		if (diags.v[i].line == line && diags.v[i].column == column &&
		    strstr(diags.v[i].msg, needle))
			return &diags.v[i];
	return NULL;
}

/* Some error at exactly line:column saying `needle`; the document is not loaded. */
static void expect_error(const char *text, int line, int column, const char *needle)
{
	int ret = load(text);

	if (!find(line, column, needle))
		dump();
	cr_assert_gt(ret, 0, "expected errors\ninput:\n%s", text);
	cr_assert_eq((size_t)ret, diags.errors);
	cr_assert_not_null(find(line, column, needle), "no diagnostic at %d:%d with \"%s\" "
			   "(above)\ninput:\n%s", line, column, needle, text);
	cr_assert(!find(line, column, needle)->warning);
	cr_assert_str_eq(find(line, column, needle)->file, "test.yaml");
	cr_assert_eq(set.n_docs, 0, "a document with an error was loaded");
}

/* Exactly one diagnostic, an error, at line:column. */
static void expect_one_error(const char *text, int line, int column, const char *needle)
{
	expect_error(text, line, column, needle);
	if (diags.n != 1)
		dump();
	cr_assert_eq(diags.n, 1, "%zu diagnostics, want 1 (above)\ninput:\n%s", diags.n, text);
}

/* printf into one of a few static buffers, so two results can be arguments of one call. */
static char *fmt(const char *f, ...)
{
	static char bufs[4][8192];
	static int next;
	char *buf = bufs[next++ % 4];
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, sizeof(bufs[0]), f, ap);
	va_end(ap);
	return buf;
}

static const struct signal_rule *rule(size_t doc, size_t i)
{
	cr_assert_lt(doc, set.n_docs);
	cr_assert_lt(i, set.docs[doc].n_rules);
	return &set.docs[doc].rules[i];
}

/* ---- what a valid policy loads into --------------------------------------- */

Test(policy, a_minimal_policy_loads_with_every_default)
{
	const struct signal_rule *r;

	expect_ok(HEAD "    - action: deny\n");
	cr_assert_eq(set.n_docs, 1);
	cr_assert_eq(set.n_files, 1);
	cr_assert_eq(set.docs[0].kind, POLICY_KIND_SIGNAL);
	cr_assert_str_eq(set.docs[0].name, "p");
	cr_assert_str_eq(set.docs[0].file, "test.yaml");
	cr_assert_eq(set.docs[0].line, 1);
	cr_assert_eq(set.docs[0].column, 1);
	cr_assert_eq(set.docs[0].n_rules, 1);
	r = rule(0, 0);
	cr_assert_str_eq(r->name, "rule-1");
	cr_assert_eq(r->action, SIG_ACTION_DENY);
	cr_assert_eq(r->fallback, SIG_ACTION_AUDIT);
	cr_assert_eq(r->signals, ALL_SIGNALS);
	cr_assert_eq(r->relation, SIG_REL_NONE);
	cr_assert_eq(r->sender.scope, SEL_SCOPE_ANY);
	cr_assert_eq(r->target.scope, SEL_SCOPE_ANY);
	cr_assert(!selector_has_cgroup_fields(&r->sender) && !selector_has_process_fields(&r->sender));
	cr_assert(!selector_has_cgroup_fields(&r->target) && !selector_has_process_fields(&r->target));
	cr_assert_eq(r->line, 7);
	cr_assert_eq(r->column, 7);
}

static void expect_list(const struct strlist *l, size_t n, ...)
{
	va_list ap;

	cr_assert(l->set);
	cr_assert_eq(l->n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(l->v[i], va_arg(ap, const char *));
	va_end(ap);
}

Test(policy, every_key_of_a_full_rule_is_stored)
{
	const struct signal_rule *r;

	expect_ok(HEAD
		  "    - name: cross-container\n"
		  "      sender:\n"
		  "        scope: containers\n"
		  "        containerIds: [\"" CID "\", 97c3a7b1b1526c2c]\n"
		  "        podUIDs: [" POD "]\n"
		  "        namespaces: [\"prod-*\"]\n"
		  "        pods: [\"web-*\", api]\n"
		  "        cgroups: [\"/kubepods/*\"]\n"
		  "        binaries: [\"/usr/bin/*\"]\n"
		  "        comms: [sh, bash]\n"
		  "      target:\n"
		  "        relation: other-container\n"
		  "        scope: any\n"
		  "        comms: [nginx]\n"
		  "      signals: [SIGKILL, TERM, 2, sigrtmin+2]\n"
		  "      action: deny\n"
		  "      fallback: kill-sender\n");
	r = rule(0, 0);
	cr_assert_str_eq(r->name, "cross-container");
	cr_assert_eq(r->sender.scope, SEL_SCOPE_CONTAINERS);
	expect_list(&r->sender.container_ids, 2, CID, "97c3a7b1b1526c2c");
	expect_list(&r->sender.pod_uids, 1, POD);
	expect_list(&r->sender.namespaces, 1, "prod-*");
	expect_list(&r->sender.pods, 2, "web-*", "api");
	expect_list(&r->sender.cgroups, 1, "/kubepods/*");
	expect_list(&r->sender.binaries, 1, "/usr/bin/*");
	expect_list(&r->sender.comms, 2, "sh", "bash");
	cr_assert_eq(r->relation, SIG_REL_OTHER_CONTAINER);
	cr_assert_eq(r->target.scope, SEL_SCOPE_ANY);
	expect_list(&r->target.comms, 1, "nginx");
	cr_assert(!r->target.binaries.set);
	cr_assert_eq(r->signals, BIT(9) | BIT(15) | BIT(2) | BIT(36));
	cr_assert_eq(r->action, SIG_ACTION_DENY);
	cr_assert_eq(r->fallback, SIG_ACTION_KILL_SENDER);
}

Test(policy, flow_style_loads_the_same_as_block_style)
{
	expect_ok("{apiVersion: vigil.dev/v1alpha1, kind: SignalPolicy, metadata: {name: p},\n"
		  " spec: {rules: [{sender: {scope: host}, signals: [HUP], action: audit}]}}\n");
	cr_assert_eq(rule(0, 0)->sender.scope, SEL_SCOPE_HOST);
	cr_assert_eq(rule(0, 0)->signals, BIT(1));
	cr_assert_eq(set.docs[0].line, 1);
	cr_assert_eq(rule(0, 0)->line, 2);
	cr_assert_eq(rule(0, 0)->column, 17);
}

Test(policy, rules_without_a_name_are_called_rule_n_by_position)
{
	expect_ok(HEAD
		  "    - action: audit\n"
		  "    - name: second\n"
		  "      action: audit\n"
		  "    - action: audit\n");
	cr_assert_str_eq(rule(0, 0)->name, "rule-1");
	cr_assert_str_eq(rule(0, 1)->name, "second");
	cr_assert_str_eq(rule(0, 2)->name, "rule-3");
}

Test(policy, audit_and_kill_sender_rules_fall_back_to_themselves)
{
	expect_ok(HEAD "    - action: audit\n    - action: kill-sender\n");
	cr_assert_eq(rule(0, 0)->fallback, SIG_ACTION_AUDIT);
	cr_assert_eq(rule(0, 1)->fallback, SIG_ACTION_KILL_SENDER);
}

Test(policy, several_documents_load_in_order_and_empty_ones_are_skipped)
{
	expect_ok("---\n"
		  "# nothing in this one\n"
		  "---\n"
		  "apiVersion: vigil.dev/v1alpha1\n"
		  "kind: SignalPolicy\n"
		  "metadata: {name: one}\n"
		  "spec: {rules: [{action: audit}]}\n"
		  "---\n"
		  "apiVersion: vigil.dev/v1alpha1\n"
		  "kind: SignalPolicy\n"
		  "metadata: {name: two}\n"
		  "spec: {rules: [{action: deny}, {action: audit}]}\n"
		  "...\n");
	cr_assert_eq(set.n_docs, 2);
	cr_assert_str_eq(set.docs[0].name, "one");
	cr_assert_eq(set.docs[0].line, 4);
	cr_assert_str_eq(set.docs[1].name, "two");
	cr_assert_eq(set.docs[1].line, 9);
	cr_assert_eq(set.docs[1].n_rules, 2);
	cr_assert_eq(set.n_files, 1);
}

Test(policy, anchors_and_aliases_are_resolved)
{
	expect_ok(HEAD
		  "    - name: a\n"
		  "      sender: &ctr\n"
		  "        scope: containers\n"
		  "        comms: &shells [sh, bash]\n"
		  "      action: deny\n"
		  "    - name: b\n"
		  "      sender: *ctr\n"
		  "      target: {comms: *shells}\n"
		  "      action: audit\n");
	cr_assert_eq(rule(0, 1)->sender.scope, SEL_SCOPE_CONTAINERS);
	expect_list(&rule(0, 1)->sender.comms, 2, "sh", "bash");
	expect_list(&rule(0, 1)->target.comms, 2, "sh", "bash");
	/* Each rule owns its copy: freeing the set frees each once (ASan checks). */
	cr_assert_neq(rule(0, 0)->sender.comms.v[0], rule(0, 1)->sender.comms.v[0]);
}

Test(policy, labels_and_annotations_take_any_string_keys)
{
	expect_ok("apiVersion: vigil.dev/v1alpha1\n"
		  "kind: SignalPolicy\n"
		  "metadata:\n"
		  "  name: p\n"
		  "  labels: {app.kubernetes.io/name: vigil, team: \"\"}\n"
		  "  annotations:\n"
		  "    description: any text at all\n"
		  "spec: {rules: [{action: audit}]}\n");
}

Test(policy, a_signal_listed_twice_is_a_warning_and_the_policy_still_loads)
{
	int ret = load(HEAD "    - signals: [KILL, 9]\n      action: audit\n");

	cr_assert_eq(ret, 0);
	cr_assert_eq(diags.n, 1);
	cr_assert_eq(diags.errors, 0);
	cr_assert(diags.v[0].warning);
	cr_assert_not_null(find(7, 23, "signal 9 is already in the list"));
	cr_assert_eq(set.n_docs, 1);
	cr_assert_eq(rule(0, 0)->signals, BIT(9));
}

Test(policy, a_file_of_comments_has_no_documents_and_a_warning)
{
	cr_assert_eq(load("# nothing here yet\n"), 0);
	cr_assert_eq(set.n_docs, 0);
	cr_assert_eq(set.n_files, 1);
	cr_assert_eq(diags.n, 1);
	cr_assert(diags.v[0].warning);
	cr_assert_eq(diags.v[0].line, 0);
	cr_assert(strstr(diags.v[0].msg, "no policy documents"));
}

Test(policy, empty_text_and_a_null_text_are_empty_files)
{
	cr_assert_eq(load(""), 0);
	cr_assert_eq(set.n_docs, 0);
	cr_assert_eq(policy_load_buffer(&set, "x.yaml", NULL, 5, &diags), 0);
	cr_assert_eq(set.n_docs, 0);
	cr_assert_eq(diags.errors, 0);
}

Test(policy, a_utf16_file_with_a_byte_order_mark_loads)
{
	static const char text[] = HEAD "    - action: audit\n";
	char u16[2 * sizeof(text) + 2];
	size_t n = 0;

	u16[n++] = (char)0xff;
	u16[n++] = (char)0xfe;
	for (size_t i = 0; i + 1 < sizeof(text); i++) {
		u16[n++] = text[i];
		u16[n++] = 0;
	}
	reset();
	cr_assert_eq(policy_load_buffer(&set, "u16.yaml", u16, n, &diags), 0);
	cr_assert_eq(set.n_docs, 1);
}

/* ---- signals --------------------------------------------------------------- */

Test(policy, signal_parse_accepts_names_with_or_without_sig_in_any_case)
{
	cr_assert_eq(signal_parse("SIGKILL"), 9);
	cr_assert_eq(signal_parse("KILL"), 9);
	cr_assert_eq(signal_parse("kill"), 9);
	cr_assert_eq(signal_parse("SigTerm"), 15);
	cr_assert_eq(signal_parse("SIGHUP"), 1);
	cr_assert_eq(signal_parse("SIGSYS"), 31);
	cr_assert_eq(signal_parse("SIGCHLD"), 17);
	cr_assert_eq(signal_parse("SIGSTKFLT"), 16);
	cr_assert_eq(signal_parse("SIGIOT"), 6);
	cr_assert_eq(signal_parse("SIGCLD"), 17);
	cr_assert_eq(signal_parse("POLL"), 29);
	cr_assert_eq(signal_parse("IO"), 29);
}

Test(policy, signal_parse_accepts_numbers_1_to_64)
{
	cr_assert_eq(signal_parse("1"), 1);
	cr_assert_eq(signal_parse("9"), 9);
	cr_assert_eq(signal_parse("64"), 64);
	cr_assert_eq(signal_parse("09"), 9);
}

Test(policy, signal_parse_accepts_the_real_time_forms)
{
	cr_assert_eq(signal_parse("SIGRTMIN"), 34);
	cr_assert_eq(signal_parse("SIGRTMAX"), 64);
	cr_assert_eq(signal_parse("SIGRTMIN+2"), 36);
	cr_assert_eq(signal_parse("rtmin+30"), 64);
	cr_assert_eq(signal_parse("SIGRTMAX-1"), 63);
	cr_assert_eq(signal_parse("RTMAX-30"), 34);
	cr_assert_eq(signal_parse("SIGRTMIN+0"), 34);
}

Test(policy, signal_parse_rejects_everything_else)
{
	static const char *const bad[] = {
		"", "0", "65", "99999999999999999999", "-1", "+9", "9 ", " 9", "0x9", "1e3",
		"SIG", "SIGFOO", "SIGKILLX", "SIGRTMIN+31", "SIGRTMAX-31", "SIGRTMIN-1",
		"SIGRTMAX+1", "SIGRTMIN+", "SIGRTMIN+x", "RTMIN2", "SIGSIGKILL",
		"averyveryveryverylongsignalname",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(signal_parse(bad[i]), -EINVAL, "\"%s\" parsed", bad[i]);
	cr_expect_eq(signal_parse(NULL), -EINVAL);
}

Test(policy, a_signal_number_out_of_range_is_reported_at_the_item)
{
	expect_one_error(HEAD "    - signals: [9, 65]\n      action: audit\n", 7, 20,
			 "spec.rules[0].signals[1]: signal 65 is out of range (1 to 64)");
}

Test(policy, an_unknown_signal_name_is_reported_with_the_accepted_forms)
{
	expect_one_error(HEAD "    - signals: [SIGFOO]\n      action: audit\n", 7, 17,
			 "unknown signal \"SIGFOO\" (expected a name like SIGTERM");
}

Test(policy, signal_zero_is_not_a_signal)
{
	expect_one_error(HEAD "    - signals: [0]\n      action: audit\n", 7, 17,
			 "signal 0 is out of range");
}

/* ---- document-level errors --------------------------------------------------- */

Test(policy, a_wrong_api_version_is_reported_at_its_value)
{
	expect_one_error("apiVersion: v1\nkind: SignalPolicy\nmetadata: {name: p}\n"
			 "spec: {rules: [{action: audit}]}\n",
			 1, 13, "apiVersion: expected vigil.dev/v1alpha1, got \"v1\"");
}

Test(policy, a_missing_required_key_is_reported_at_the_mapping_that_lacks_it)
{
	expect_one_error("kind: SignalPolicy\nmetadata: {name: p}\n"
			 "spec: {rules: [{action: audit}]}\n",
			 1, 1, "missing required key \"apiVersion\"");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
			 "metadata:\n  labels: {a: b}\nspec: {rules: [{action: audit}]}\n",
			 4, 3, "metadata: missing required key \"name\"");
	expect_one_error(HEAD "    - name: x\n      signals: [KILL]\n", 7, 7,
			 "spec.rules[0]: missing required key \"action\"");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
			 "metadata: {name: p}\n", 1, 1, "missing required key \"spec\"");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
			 "metadata: {name: p}\nspec: {}\n", 4, 7,
			 "spec: missing required key \"rules\"");
}

Test(policy, an_unknown_kind_names_the_known_kinds_and_its_spec_is_not_checked)
{
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: QuotaPolicy\nmetadata: {name: p}\n"
			 "spec: {anything: [1, 2]}\n",
			 2, 7, "kind: unknown kind \"QuotaPolicy\" (known kinds: SignalPolicy, "
			 "TrustPolicy, OomPolicy, LeakPolicy)");
}

Test(policy, a_missing_kind_is_the_only_error_even_with_a_spec)
{
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nmetadata: {name: p}\n"
			 "spec: {rules: [{action: audit}]}\n", 1, 1,
			 "missing required key \"kind\"");
}

Test(policy, a_document_that_is_not_a_mapping_is_an_error)
{
	expect_one_error("- a\n- b\n", 1, 1, "expected a policy document");
	expect_one_error("just a string\n", 1, 1, "got a string");
}

Test(policy, metadata_name_must_be_a_dns_label)
{
	static const char *const bad[] = {
		"No_Escape", "-lead", "trail-", "\"\"", "a.b", "UPPER",
		"a123456789012345678901234567890123456789012345678901234567890123",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_one_error(fmt("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
				     "metadata: {name: %s}\nspec: {rules: [{action: audit}]}\n",
				     bad[i]),
				 3, 18, "metadata.name: ");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
			 "metadata: {name: Bad}\nspec: {rules: [{action: audit}]}\n",
			 3, 18, "\"Bad\" is not a valid name: use 1 to 63 lower-case letters");
}

Test(policy, a_63_character_name_fits)
{
	expect_ok("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
		  "metadata: {name: a12345678901234567890123456789012345678901234567890123456789012}\n"
		  "spec: {rules: [{action: audit}]}\n");
	cr_assert_eq(strlen(set.docs[0].name), 63);
}

Test(policy, label_values_must_be_strings)
{
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
			 "metadata:\n  name: p\n  labels:\n    team: [a, b]\n"
			 "spec: {rules: [{action: audit}]}\n",
			 6, 11, "metadata.labels.team: expected a string, got a list");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
			 "metadata:\n  name: p\n  labels: [a]\n"
			 "spec: {rules: [{action: audit}]}\n",
			 5, 11, "metadata.labels: expected a mapping, got a list");
}

/* ---- keys: unknown, duplicate, not strings ------------------------------------ */

Test(policy, a_misspelt_key_is_named_with_the_closest_valid_key)
{
	expect_one_error(HEAD "    - acton: deny\n      action: deny\n", 7, 7,
			 "spec.rules[0]: unknown key \"acton\" (did you mean \"action\"?)");
}

Test(policy, a_key_in_the_wrong_case_gets_a_suggestion)
{
	expect_one_error(HEAD "    - sender: {containerIDs: [" CID "]}\n      action: deny\n", 7, 16,
			 "spec.rules[0].sender: unknown key \"containerIDs\" (did you mean "
			 "\"containerIds\"?)");
}

Test(policy, an_unrelated_key_lists_the_valid_keys_instead_of_guessing)
{
	expect_one_error(HEAD "    - whatever: 1\n      action: deny\n", 7, 7,
			 "unknown key \"whatever\" (valid keys: name, sender, target, signals, "
			 "action, fallback)");
	expect_one_error("colour: blue\n" HEAD "    - action: deny\n", 1, 1,
			 "unknown key \"colour\" (valid keys: apiVersion, kind, metadata, spec)");
}

Test(policy, relation_is_a_key_of_target_only)
{
	expect_one_error(HEAD "    - sender: {relation: host}\n      action: deny\n", 7, 16,
			 "spec.rules[0].sender: unknown key \"relation\"");
}

Test(policy, a_merge_key_is_explained)
{
	expect_error(HEAD "    - <<: {action: deny}\n      name: x\n", 7, 7,
			 "merge keys (<<) are not supported");
}

Test(policy, a_duplicate_key_is_reported_at_the_second_naming_the_first)
{
	expect_one_error(HEAD "    - action: deny\n      action: audit\n", 8, 7,
			 "spec.rules[0]: duplicate key \"action\" (first at line 7, column 7)");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
			 "metadata: {name: p, labels: {a: b, a: c}}\n"
			 "spec: {rules: [{action: audit}]}\n",
			 3, 36, "metadata.labels: duplicate key \"a\" (first at line 3, column 30)");
}

Test(policy, a_key_that_is_not_a_string_is_an_error)
{
	expect_one_error(HEAD "    - action: deny\n      [a, b]: c\n", 8, 7,
			 "spec.rules[0]: a key must be a string, got a list");
}

/* ---- types and values ---------------------------------------------------------- */

Test(policy, a_list_where_a_mapping_belongs_is_reported_at_the_value)
{
	expect_one_error(HEAD "    - sender: [a]\n      action: deny\n", 7, 15,
			 "spec.rules[0].sender: expected a mapping, got a list");
}

Test(policy, a_string_where_a_list_of_strings_belongs_is_a_type_error)
{
	expect_one_error(HEAD "    - sender: {binaries: /usr/bin/x}\n      action: deny\n", 7, 26,
			 "spec.rules[0].sender.binaries: expected a list of strings, got a string");
	expect_one_error(HEAD "    - signals: {a: b}\n      action: deny\n", 7, 16,
			 "spec.rules[0].signals: expected a list of signals, got a mapping");
	expect_one_error(HEAD "    - action: deny\n  extra: 1\n", 8, 3,
			 "spec: unknown key \"extra\"");
}

Test(policy, rules_must_be_a_non_empty_list_of_mappings)
{
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\nmetadata: {name: p}\n"
			 "spec: {rules: []}\n", 4, 15, "spec.rules: expected at least one rule");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\nmetadata: {name: p}\n"
			 "spec: {rules: {action: deny}}\n", 4, 15,
			 "spec.rules: expected a list of mappings, got a mapping");
	expect_one_error(HEAD "    - deny\n", 7, 7,
			 "spec.rules[0]: expected a mapping, got a string");
}

Test(policy, a_key_without_a_value_is_reported_at_the_key)
{
	expect_one_error(HEAD "    - sender:\n      action: deny\n", 7, 7,
			 "spec.rules[0].sender: no value (expected a mapping)");
	expect_one_error(HEAD "    - action:\n", 7, 7,
			 "spec.rules[0].action: no value (expected one of audit, deny, kill-sender)");
	expect_one_error(HEAD "    - action: ~\n", 7, 7, "no value");
}

Test(policy, a_quoted_null_is_a_string)
{
	expect_one_error(HEAD "    - action: \"null\"\n", 7, 15,
			 "expected one of audit, deny, kill-sender, got \"null\"");
}

Test(policy, an_unknown_action_lists_the_actions)
{
	expect_one_error(HEAD "    - action: block\n", 7, 15,
			 "spec.rules[0].action: expected one of audit, deny, kill-sender, got \"block\"");
}

Test(policy, an_action_in_the_wrong_case_gets_a_suggestion)
{
	expect_one_error(HEAD "    - action: Deny\n", 7, 15, "(did you mean \"deny\"?)");
}

Test(policy, scope_relation_and_fallback_take_only_their_values)
{
	expect_one_error(HEAD "    - sender: {scope: pods}\n      action: deny\n", 7, 23,
			 "spec.rules[0].sender.scope: expected one of host, containers, any, "
			 "got \"pods\"");
	expect_one_error(HEAD "    - target: {relation: sibling}\n      action: deny\n", 7, 26,
			 "spec.rules[0].target.relation: expected one of same-container, "
			 "other-container, host, got \"sibling\"");
	expect_one_error(HEAD "    - action: deny\n      fallback: deny\n", 8, 17,
			 "spec.rules[0].fallback: expected one of audit, kill-sender, got \"deny\"");
}

Test(policy, fallback_applies_only_to_deny)
{
	expect_one_error(HEAD "    - action: audit\n      fallback: kill-sender\n", 8, 7,
			 "spec.rules[0].fallback: only applies to action deny (this rule's action "
			 "is audit)");
	expect_one_error(HEAD "    - action: kill-sender\n      fallback: audit\n", 8, 7,
			 "only applies to action deny");
}

Test(policy, a_nul_byte_in_a_string_is_refused)
{
	expect_one_error(HEAD "    - action: deny\n      name: \"a\\0b\"\n", 8, 13,
			 "spec.rules[0].name: must not contain a NUL byte");
}

Test(policy, rule_names_are_dns_labels_and_unique_within_the_policy)
{
	expect_one_error(HEAD "    - name: Bad_Name\n      action: deny\n", 7, 13,
			 "spec.rules[0].name: \"Bad_Name\" is not a valid rule name");
	expect_one_error(HEAD "    - name: a\n      action: deny\n    - name: a\n      action: audit\n",
			 9, 13, "spec.rules[1].name: duplicate rule name \"a\" (the rule at line 7 has it)");
}

Test(policy, a_default_rule_name_that_is_already_taken_is_an_error)
{
	expect_one_error(HEAD "    - name: rule-2\n      action: deny\n    - action: audit\n", 9, 7,
			 "spec.rules[1]: this rule's default name \"rule-2\" is taken by the rule at "
			 "line 7; give this rule a name");
	expect_one_error(HEAD "    - action: deny\n    - name: rule-1\n      action: audit\n", 8, 13,
			 "duplicate rule name \"rule-1\"");
}

/* ---- selectors that can never match -------------------------------------------- */

static const char *const list_keys[] = {
	"containerIds", "podUIDs", "namespaces", "pods", "cgroups", "binaries", "comms",
};

Test(policy, an_empty_list_can_never_match_for_every_selector_key_at_both_ends)
{
	for (size_t i = 0; i < sizeof(list_keys) / sizeof(list_keys[0]); i++) {
		const char *side[] = { "sender", "target" };

		for (int s = 0; s < 2; s++) {
			/* "    - sender: {KEY: []}": the '[' */
			int col = 7 + (int)strlen(side[s]) + 3 + (int)strlen(list_keys[i]) + 2;

			expect_one_error(fmt(HEAD "    - %s: {%s: []}\n      action: deny\n", side[s],
					     list_keys[i]),
					 7, col, fmt("spec.rules[0].%s.%s: an empty list can never match",
						     side[s], list_keys[i]));
		}
	}
}

Test(policy, an_empty_signal_list_can_never_match)
{
	expect_one_error(HEAD "    - signals: []\n      action: deny\n", 7, 16,
			 "spec.rules[0].signals: an empty list can never match");
}

Test(policy, scope_host_can_never_match_container_fields)
{
	static const char *const fields[][2] = {
		{ "containerIds", CID }, { "podUIDs", POD }, { "namespaces", "prod" },
		{ "pods", "web" },
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		expect_one_error(fmt(HEAD "    - sender:\n        scope: host\n        %s: [%s]\n"
				     "      action: deny\n", fields[i][0], fields[i][1]),
				 9, 9, fmt("spec.rules[0].sender.%s: can never match with scope host",
					   fields[i][0]));
		expect_one_error(fmt(HEAD "    - target:\n        %s: [%s]\n        scope: host\n"
				     "      action: deny\n", fields[i][0], fields[i][1]),
				 8, 9, fmt("spec.rules[0].target.%s: can never match with scope host",
					   fields[i][0]));
	}
}

Test(policy, scope_host_may_use_cgroups_binaries_and_comms)
{
	expect_ok(HEAD "    - sender:\n        scope: host\n        cgroups: [\"/system.slice/*\"]\n"
		  "        binaries: [/usr/sbin/sshd]\n        comms: [sshd]\n      action: deny\n");
}

Test(policy, a_binary_or_cgroup_glob_must_be_absolute_or_start_with_a_wildcard)
{
	expect_one_error(HEAD "    - sender: {binaries: [/bin/sh, bash]}\n      action: deny\n", 7, 36,
			 "spec.rules[0].sender.binaries[1]: \"bash\" can never match: binary paths "
			 "are absolute");
	expect_one_error(HEAD "    - target: {cgroups: [kubepods/*]}\n      action: deny\n", 7, 26,
			 "spec.rules[0].target.cgroups[0]: \"kubepods/*\" can never match: cgroup "
			 "paths start with '/'");
	expect_ok(HEAD "    - sender: {binaries: [\"*/sh\", \"?usr/bin/x\", \"[/]bin/sh\"],\n"
		  "               cgroups: [\"*docker*\"]}\n      action: deny\n");
}

Test(policy, a_comm_longer_than_15_bytes_can_never_match)
{
	expect_one_error(HEAD "    - sender: {comms: [kube-controller-manager]}\n      action: deny\n",
			 7, 24, "\"kube-controller-manager\" can never match: a comm holds at most "
			 "15 bytes (the kernel keeps \"kube-controller\")");
	expect_ok(HEAD "    - sender: {comms: [kube-controller]}\n      action: deny\n");
}

Test(policy, container_ids_must_be_12_to_64_lower_case_hex_digits)
{
	static const char *const bad[] = {
		"4F2A9C0D1E3B", "4f2a9c0d1e3", "4f2a9c0d1e3g",
		"4f2a9c0d1e3b4f2a9c0d1e3b4f2a9c0d1e3b4f2a9c0d1e3b4f2a9c0d1e3b4f2a9",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_one_error(fmt(HEAD "    - sender: {containerIds: [\"%s\"]}\n      action: deny\n",
				     bad[i]),
				 7, 31, "can never match: a container id (or id prefix) is 12 to 64 "
				 "lower-case hex digits");
	expect_ok(HEAD "    - sender: {containerIds: "
		  "[4f2a9c0d1e3b4f2a9c0d1e3b4f2a9c0d1e3b4f2a9c0d1e3b4f2a9c0d1e3b4f2a]}\n"
		  "      action: deny\n");
}

Test(policy, pod_uids_must_be_lower_case_dashed_uuids)
{
	static const char *const bad[] = {
		"17E6E95C-D075-470C-998C-7EC555C01CAC", "17e6e95cd075470c998c7ec555c01cac",
		"17e6e95c-d075-470c-998c-7ec555c01ca", "17e6e95c-d075-470c-998c-7ec555c01caz",
		"17e6e95c_d075_470c_998c_7ec555c01cac",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_one_error(fmt(HEAD "    - target: {podUIDs: [\"%s\"]}\n      action: deny\n",
				     bad[i]),
				 7, 26, "can never match: a pod UID is a lower-case dashed UUID");
}

Test(policy, an_unclosed_bracket_in_any_glob_can_never_match)
{
	static const char *const globs[][2] = {
		{ "namespaces", "prod-[ab" }, { "pods", "web-[" }, { "cgroups", "/kube[pods" },
		{ "binaries", "/usr/bin/[!a" },
	};

	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++)
		expect_one_error(fmt(HEAD "    - sender: {%s: [\"%s\"]}\n      action: deny\n",
				     globs[i][0], globs[i][1]),
				 7, 19 + (int)strlen(globs[i][0]),
				 "can never match: the '[' at byte");
	expect_one_error(HEAD "    - sender: {pods: [\"ab[cd\"]}\n      action: deny\n", 7, 23,
			 "the '[' at byte 3 is never closed");
}

Test(policy, bracket_expressions_that_close_are_fine)
{
	expect_ok(HEAD "    - sender:\n"
		  "        pods: [\"web-[0-9]\", \"[]]x\", \"[!]]x\", \"[[:alpha:]]*\", \"a\\\\[\", "
		  "\"[[.-.]]\"]\n"
		  "      action: deny\n");
	expect_list(&rule(0, 0)->sender.pods, 6, "web-[0-9]", "[]]x", "[!]]x", "[[:alpha:]]*",
		    "a\\[", "[[.-.]]");
}

Test(policy, an_empty_string_in_a_selector_list_can_never_match)
{
	expect_one_error(HEAD "    - sender: {comms: [\"\"]}\n      action: deny\n", 7, 24,
			 "spec.rules[0].sender.comms[0]: an empty string can never match");
}

Test(policy, relation_host_can_never_match_a_target_in_containers)
{
	expect_one_error(HEAD "    - target:\n        relation: host\n        scope: containers\n"
			 "      action: deny\n", 8, 19,
			 "spec.rules[0].target.relation: host can never match with target scope "
			 "containers");
	expect_one_error(HEAD "    - target:\n        relation: host\n        pods: [web]\n"
			 "      action: deny\n", 8, 19,
			 "spec.rules[0].target.relation: host can never match with target pods");
}

Test(policy, container_relations_can_never_match_a_host_target)
{
	expect_one_error(HEAD "    - target: {relation: same-container, scope: host}\n"
			 "      action: deny\n", 7, 26,
			 "same-container can never match with target scope host");
	expect_one_error(HEAD "    - target: {relation: other-container, scope: host}\n"
			 "      action: deny\n", 7, 26,
			 "other-container can never match with target scope host");
}

Test(policy, same_container_can_never_match_a_host_sender)
{
	expect_one_error(HEAD "    - sender: {scope: host}\n      target: {relation: same-container}\n"
			 "      action: deny\n", 8, 26,
			 "same-container can never match with sender scope host");
	expect_ok(HEAD "    - sender: {scope: host}\n      target: {relation: other-container}\n"
		  "      action: deny\n");
	expect_ok(HEAD "    - target: {relation: host, scope: host, cgroups: [\"/system.slice/*\"]}\n"
		  "      action: deny\n");
}

/* ---- every problem at once, in order ----------------------------------------- */

Test(policy, every_problem_in_a_document_is_reported_top_to_bottom)
{
	int ret = load("apiVersion: v2\n"
		       "kind: SignalPolicy\n"
		       "metadata: {name: X}\n"
		       "spec:\n"
		       "  rules:\n"
		       "    - sender: {scope: everywhere}\n"
		       "      signals: [KILL, 99]\n"
		       "    - action: deny\n"
		       "      fallback: maybe\n");

	cr_assert_eq(ret, 6);
	cr_assert_eq(diags.n, 6);
	cr_assert_eq(diags.v[0].line, 1);
	cr_assert_eq(diags.v[1].line, 3);
	cr_assert(strstr(diags.v[2].msg, "missing required key \"action\""), "%s", diags.v[2].msg);
	cr_assert_eq(diags.v[2].line, 6);
	cr_assert_eq(diags.v[2].column, 7);
	cr_assert_eq(diags.v[3].line, 6);
	cr_assert_eq(diags.v[3].column, 23);
	cr_assert_eq(diags.v[4].line, 7);
	cr_assert_eq(diags.v[5].line, 9);
	cr_assert_eq(set.n_docs, 0);
}

Test(policy, a_bad_document_does_not_stop_the_good_ones_in_the_same_file)
{
	int ret = load("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
		       "metadata: {name: good}\nspec: {rules: [{action: audit}]}\n"
		       "---\n"
		       "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
		       "metadata: {name: bad}\nspec: {rules: [{action: nope}]}\n"
		       "---\n"
		       "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
		       "metadata: {name: also-good}\nspec: {rules: [{action: deny}]}\n");

	cr_assert_eq(ret, 1);
	cr_assert_not_null(find(9, 25, "got \"nope\""));
	cr_assert_eq(set.n_docs, 2);
	cr_assert_str_eq(set.docs[0].name, "good");
	cr_assert_str_eq(set.docs[1].name, "also-good");
}

Test(policy, a_node_referenced_twice_is_reported_once)
{
	int ret = load(HEAD "    - sender: &bad {binaries: [relative]}\n      action: deny\n"
		       "    - sender: *bad\n      action: audit\n");

	cr_assert_eq(ret, 1);
	cr_assert_eq(diags.n, 1);
	cr_assert_not_null(find(7, 32, "binary paths are absolute"));
}

Test(policy, the_return_value_counts_errors_added_not_warnings)
{
	cr_assert_eq(load(HEAD "    - signals: [1, 1]\n      action: bad\n"), 1);
	cr_assert_eq(diags.n, 2);
	cr_assert_eq(diags.errors, 1);
	/* A second file adds to the same diagnostics; the count is this file's. */
	cr_assert_eq(load_as("b.yaml", HEAD "    - action: bad\n    - action: worse\n"), 2);
	cr_assert_eq(diags.errors, 3);
	cr_assert_str_eq(diags.v[diags.n - 1].file, "b.yaml");
}

/* ---- syntax and hostile input --------------------------------------------------- */

Test(policy, a_syntax_error_is_reported_at_libyamls_position_and_ends_the_file)
{
	int ret = load("apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
		       "metadata: {name: ok}\nspec: {rules: [{action: audit}]}\n"
		       "---\n"
		       "a: [b\n"
		       "---\n"
		       "also: [broken\n");

	cr_assert_eq(ret, 1);
	cr_assert_eq(diags.n, 1);
	cr_assert_not_null(find(7, 1, "syntax error: did not find expected ',' or ']' "
				"(while parsing a flow sequence at line 6, column 4)"));
	cr_assert_eq(set.n_docs, 1, "the document before the error still loads");
}

Test(policy, a_tab_in_the_indentation_gets_a_hint)
{
	expect_one_error(HEAD "    - action: deny\n\t  name: x\n", 8, 1,
			 "indent with spaces, not tabs");
}

Test(policy, invalid_utf8_is_reported_at_its_character)
{
	expect_one_error(HEAD "    - name: \"h\xc3\xa9llo\xff\"\n", 7, 19,
			 "invalid input: invalid leading UTF-8 octet (0xff)");
}

Test(policy, deep_nesting_is_refused_before_the_document_is_built)
{
	char text[4096] = "apiVersion: vigil.dev/v1alpha1\nx: ";

	for (int i = 0; i < 40; i++)
		strcat(text, "[");
	/* The document's mapping is level 1, so the 32nd '[' is one too many. */
	expect_one_error(text, 2, 4 + 31, "nested too deeply (more than 32 levels)");
}

Test(policy, an_alias_bomb_stops_at_the_walk_budget)
{
	size_t cap = 200000, n;
	char *text = malloc(cap);

	cr_assert_not_null(text);
	n = (size_t)snprintf(text, cap, "x: &x [");
	for (int i = 0; i < 40000; i++)
		n += (size_t)snprintf(text + n, cap - n, "%sa", i ? "," : "");
	n += (size_t)snprintf(text + n, cap - n, "]\nr: &r {sender: {comms: *x}, action: audit}\n"
			      "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
			      "metadata: {name: bomb}\nspec:\n  rules: [");
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(text + n, cap - n, "%s*r", i ? "," : "");
	snprintf(text + n, cap - n, "]\n");
	cr_assert_gt(load(text), 0);
	free(text);
	/* x and r are unknown keys too; the budget runs out inside the aliased list. */
	cr_assert_eq(diags.n, 3);
	cr_assert_eq(diags.v[1].line, 1);
	cr_assert_gt(diags.v[1].column, 8);
	cr_assert(strstr(diags.v[1].msg, "too large once its aliases are expanded"), "%s",
		  diags.v[1].msg);
	cr_assert_eq(set.n_docs, 0);
}

Test(policy, diagnostics_per_file_are_capped)
{
	char *text = malloc(65536);
	size_t n;
	int ret;

	cr_assert_not_null(text);
	n = (size_t)snprintf(text, 65536, "%s", HEAD);
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(text + n, 65536 - n, "    - action: nope\n");
	ret = load(text);
	free(text);
	cr_assert_eq(diags.n, 101);
	cr_assert_eq((size_t)ret, diags.errors);
	cr_assert_eq(diags.v[99].line, 7 + 99);
	cr_assert_eq(diags.v[100].line, 0);
	cr_assert(strstr(diags.v[100].msg, "too many problems"), "%s", diags.v[100].msg);
}

Test(policy, text_larger_than_the_limit_is_refused_unparsed)
{
	size_t len = POLICY_MAX_FILE_BYTES + 1;
	char *text = malloc(len);

	cr_assert_not_null(text);
	memset(text, ' ', len);
	reset();
	cr_assert_eq(policy_load_buffer(&set, "big.yaml", text, len, &diags), 1);
	free(text);
	cr_assert_eq(diags.v[0].line, 0);
	cr_assert(strstr(diags.v[0].msg, "file is too large"));
	cr_assert_eq(set.n_files, 0);
}

/* ---- TrustPolicy ---------------------------------------------------------------- */

/* Six lines, as HEAD; the first rule starts on line 7 at column 7. */
#define THEAD \
	"apiVersion: vigil.dev/v1alpha1\n" \
	"kind: TrustPolicy\n" \
	"metadata:\n" \
	"  name: t\n" \
	"spec:\n" \
	"  rules:\n"

static const struct trust_rule *trule(size_t doc, size_t i)
{
	cr_assert_lt(doc, set.n_docs);
	cr_assert_eq(set.docs[doc].kind, POLICY_KIND_TRUST);
	cr_assert_lt(i, set.docs[doc].n_trust_rules);
	return &set.docs[doc].trust_rules[i];
}

/* Exactly one diagnostic, a warning at line:column saying `needle`; everything loaded. */
static void expect_one_warning(int line, int column, const char *needle)
{
	if (diags.n != 1 || !find(line, column, needle))
		dump();
	cr_assert_eq(diags.n, 1, "%zu diagnostics, want 1 (above)", diags.n);
	cr_assert_eq(diags.errors, 0);
	cr_assert(diags.v[0].warning);
	cr_assert_not_null(find(line, column, needle), "no warning at %d:%d with \"%s\" (above)",
			   line, column, needle);
}

Test(policy, a_minimal_trust_policy_loads_with_every_default)
{
	const struct trust_rule *r;

	expect_ok(THEAD "    - mode: enforce\n");
	cr_assert_eq(set.n_docs, 1);
	cr_assert_eq(set.docs[0].kind, POLICY_KIND_TRUST);
	cr_assert_str_eq(set.docs[0].name, "t");
	cr_assert_eq(set.docs[0].n_rules, 0);
	cr_assert_null(set.docs[0].rules);
	cr_assert_eq(set.docs[0].n_trust_rules, 1);
	r = trule(0, 0);
	cr_assert_str_eq(r->name, "rule-1");
	cr_assert_eq(r->mode, TRUST_MODE_ENFORCE);
	cr_assert(r->libraries, "libraries defaults to true");
	cr_assert(!r->modules, "modules defaults to false");
	cr_assert_eq(r->selector.scope, SEL_SCOPE_ANY);
	cr_assert(!selector_has_cgroup_fields(&r->selector));
	cr_assert(!selector_has_process_fields(&r->selector));
	cr_assert_eq(r->line, 7);
	cr_assert_eq(r->column, 7);
}

Test(policy, every_key_of_a_trust_rule_is_stored)
{
	const struct trust_rule *r;

	expect_ok(THEAD
		  "    - name: tenants\n"
		  "      selector:\n"
		  "        scope: containers\n"
		  "        containerIds: [\"" CID "\"]\n"
		  "        podUIDs: [" POD "]\n"
		  "        namespaces: [\"tenant-*\"]\n"
		  "        pods: [\"web-*\", api]\n"
		  "        cgroups: [\"/kubepods*\"]\n"
		  "      mode: audit\n"
		  "      libraries: false\n"
		  "      modules: False\n"
		  "    - selector: {scope: host}\n"
		  "      mode: \"off\"\n"
		  "      libraries: TRUE\n"
		  "      modules: true\n");
	cr_assert_eq(set.docs[0].n_trust_rules, 2);
	r = trule(0, 0);
	cr_assert_str_eq(r->name, "tenants");
	cr_assert_eq(r->selector.scope, SEL_SCOPE_CONTAINERS);
	expect_list(&r->selector.container_ids, 1, CID);
	expect_list(&r->selector.pod_uids, 1, POD);
	expect_list(&r->selector.namespaces, 1, "tenant-*");
	expect_list(&r->selector.pods, 2, "web-*", "api");
	expect_list(&r->selector.cgroups, 1, "/kubepods*");
	cr_assert_eq(r->mode, TRUST_MODE_AUDIT);
	cr_assert(!r->libraries);
	cr_assert(!r->modules);
	r = trule(0, 1);
	cr_assert_str_eq(r->name, "rule-2");
	cr_assert_eq(r->selector.scope, SEL_SCOPE_HOST);
	cr_assert_eq(r->mode, TRUST_MODE_OFF);
	cr_assert(r->libraries);
	cr_assert(r->modules);
	cr_assert_eq(r->line, 18);
}

Test(policy, trust_and_signal_policies_load_side_by_side)
{
	expect_ok("apiVersion: vigil.dev/v1alpha1\nkind: TrustPolicy\nmetadata: {name: same}\n"
		  "spec: {rules: [{selector: {scope: host}, mode: enforce}, {mode: audit}]}\n"
		  "---\n"
		  "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\nmetadata: {name: same}\n"
		  "spec: {rules: [{action: audit}]}\n");
	cr_assert_eq(set.n_docs, 2);
	cr_assert_eq(set.docs[0].kind, POLICY_KIND_TRUST);
	cr_assert_eq(set.docs[0].n_trust_rules, 2);
	cr_assert_eq(set.docs[0].n_rules, 0);
	cr_assert_eq(set.docs[1].kind, POLICY_KIND_SIGNAL);
	cr_assert_eq(set.docs[1].n_rules, 1);
	cr_assert_eq(set.docs[1].n_trust_rules, 0);
	/* Names are unique per kind: a TrustPolicy and a SignalPolicy may share one. */
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	cr_assert_eq(diags.n, 0);
}

Test(policy, a_trust_rule_without_a_mode_is_an_error)
{
	expect_one_error(THEAD "    - name: x\n      libraries: false\n", 7, 7,
			 "spec.rules[0]: missing required key \"mode\"");
	expect_one_error(THEAD "    - mode:\n", 7, 7,
			 "spec.rules[0].mode: no value (expected one of off, audit, enforce)");
}

Test(policy, a_trust_mode_takes_only_off_audit_and_enforce)
{
	expect_one_error(THEAD "    - mode: block\n", 7, 13,
			 "spec.rules[0].mode: expected one of off, audit, enforce, got \"block\"");
	expect_one_error(THEAD "    - mode: Enforce\n", 7, 13,
			 "got \"Enforce\" (did you mean \"enforce\"?)");
	/* A SignalPolicy action is not a mode. */
	expect_one_error(THEAD "    - mode: deny\n", 7, 13,
			 "expected one of off, audit, enforce, got \"deny\"");
}

Test(policy, process_level_selector_fields_are_refused_in_a_trust_policy)
{
	expect_one_error(THEAD "    - selector:\n        scope: containers\n"
			 "        binaries: [/usr/bin/curl]\n      mode: enforce\n", 9, 9,
			 "spec.rules[0].selector.binaries: not allowed in a TrustPolicy: a "
			 "TrustPolicy selects workloads (the host, containers), not processes");
	expect_one_error(THEAD "    - selector: {comms: [sh]}\n      mode: audit\n", 7, 18,
			 "spec.rules[0].selector.comms: not allowed in a TrustPolicy");
	cr_assert(strstr(diags.v[0].msg, "circular"), "%s", diags.v[0].msg);
	cr_assert(strstr(diags.v[0].msg, "trust store"), "%s", diags.v[0].msg);
	/* Both, and with the rest of the rule fine: one error each, nothing else. */
	cr_assert_eq(load(THEAD "    - selector: {binaries: [\"/x\"], comms: [sh]}\n"
			  "      mode: audit\n"), 2);
	cr_assert_eq(diags.n, 2);
	cr_assert_not_null(find(7, 18, "selector.binaries: not allowed"));
	cr_assert_not_null(find(7, 36, "selector.comms: not allowed"));
}

Test(policy, a_trust_policy_needs_at_least_one_rule)
{
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: TrustPolicy\nmetadata: {name: t}\n"
			 "spec: {rules: []}\n", 4, 15, "spec.rules: expected at least one rule");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: TrustPolicy\nmetadata: {name: t}\n"
			 "spec: {}\n", 4, 7, "spec: missing required key \"rules\"");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: TrustPolicy\nmetadata: {name: t}\n",
			 1, 1, "missing required key \"spec\"");
}

Test(policy, an_unknown_trust_key_is_named_with_the_closest_valid_key)
{
	expect_one_error(THEAD "    - mode: audit\n      librarys: false\n", 8, 7,
			 "spec.rules[0]: unknown key \"librarys\" (did you mean \"libraries\"?)");
	expect_one_error(THEAD "    - selecter: {scope: host}\n      mode: audit\n", 7, 7,
			 "spec.rules[0]: unknown key \"selecter\" (did you mean \"selector\"?)");
	expect_one_error(THEAD "    - selector: {namespace: [prod]}\n      mode: audit\n", 7, 18,
			 "spec.rules[0].selector: unknown key \"namespace\" (did you mean "
			 "\"namespaces\"?)");
	/* SignalPolicy's keys are not TrustPolicy's. */
	expect_error(THEAD "    - action: deny\n", 7, 7,
		     "spec.rules[0]: unknown key \"action\" (valid keys: name, selector, mode, "
		     "libraries, modules)");
	expect_one_error(THEAD "    - sender: {scope: host}\n      mode: audit\n", 7, 7,
			 "unknown key \"sender\"");
	expect_one_error(THEAD "    - selector: {relation: host}\n      mode: audit\n", 7, 18,
			 "spec.rules[0].selector: unknown key \"relation\" (valid keys: scope, "
			 "containerIds, podUIDs, namespaces, pods, cgroups)");
}

Test(policy, libraries_and_modules_are_true_or_false)
{
	expect_one_error(THEAD "    - mode: audit\n      libraries: yes\n", 8, 18,
			 "spec.rules[0].libraries: expected true or false, got \"yes\" (write true: "
			 "only true and false are booleans here)");
	expect_one_error(THEAD "    - mode: audit\n      modules: off\n", 8, 16,
			 "got \"off\" (write false:");
	expect_one_error(THEAD "    - mode: audit\n      modules: ture\n", 8, 16,
			 "spec.rules[0].modules: expected true or false, got \"ture\" (did you mean "
			 "\"true\"?)");
	expect_one_error(THEAD "    - mode: audit\n      modules: 1\n", 8, 16,
			 "spec.rules[0].modules: expected true or false, got \"1\"");
	expect_one_error(THEAD "    - mode: audit\n      libraries: [true]\n", 8, 18,
			 "spec.rules[0].libraries: expected true or false, got a list");
	expect_one_error(THEAD "    - mode: audit\n      libraries:\n", 8, 7,
			 "spec.rules[0].libraries: no value (expected true or false)");
}

Test(policy, trust_selectors_that_can_never_match_are_errors)
{
	expect_one_error(THEAD "    - selector:\n        scope: host\n        pods: [web]\n"
			 "      mode: audit\n", 9, 9,
			 "spec.rules[0].selector.pods: can never match with scope host");
	/* The kernel judges host processes all alike: no cgroup can single some out. */
	expect_one_error(THEAD "    - selector:\n        scope: host\n"
			 "        cgroups: [\"/system.slice/*\"]\n      mode: audit\n", 9, 9,
			 "spec.rules[0].selector.cgroups: can never match with scope host: a "
			 "TrustPolicy judges all host processes alike");
	expect_one_error(THEAD "    - selector: {namespaces: []}\n      mode: audit\n", 7, 30,
			 "spec.rules[0].selector.namespaces: an empty list can never match");
	expect_one_error(THEAD "    - selector: {containerIds: [ABC]}\n      mode: audit\n", 7, 33,
			 "can never match: a container id");
}

Test(policy, trust_rule_names_are_unique_within_the_policy)
{
	expect_one_error(THEAD "    - name: a\n      mode: audit\n    - name: a\n      mode: off\n",
			 9, 13, "spec.rules[1].name: duplicate rule name \"a\" (the rule at line 7 "
			 "has it)");
	expect_one_error(THEAD "    - name: rule-2\n      mode: audit\n    - mode: off\n", 9, 7,
			 "spec.rules[1]: this rule's default name \"rule-2\" is taken by the rule at "
			 "line 7");
}

Test(policy, modules_on_a_containers_rule_is_a_warning_about_host_module_loads)
{
	cr_assert_eq(load(THEAD "    - selector: {scope: containers}\n      mode: enforce\n"
			  "      modules: true\n"), 0);
	expect_one_warning(9, 7, "spec.rules[0].modules: judges only module loads made by "
			   "processes inside containers (this rule has scope containers)");
	cr_assert(strstr(diags.v[0].msg, "node"), "%s", diags.v[0].msg);
	cr_assert_eq(set.n_docs, 1);
	cr_assert(trule(0, 0)->modules);
	/* Cgroup-level fields never cover the host either. */
	cr_assert_eq(load(THEAD "    - selector: {namespaces: [kube-system]}\n"
			  "      modules: true\n      mode: audit\n"), 0);
	expect_one_warning(8, 7, "has cgroup-level selector fields, so it never covers the host");
	/* Host, any, or modules: false: nothing to say. */
	expect_ok(THEAD "    - selector: {scope: host}\n      mode: enforce\n      modules: true\n"
		  "    - mode: audit\n      modules: true\n"
		  "    - selector: {scope: containers}\n      mode: audit\n      modules: false\n");
}

/* ---- OomPolicy ------------------------------------------------------------------ */

/* Five lines; spec's keys start on line 6 at column 3. */
#define OHEAD \
	"apiVersion: vigil.dev/v1alpha1\n" \
	"kind: OomPolicy\n" \
	"metadata:\n" \
	"  name: o\n" \
	"spec:\n"
/* One detector, on lines 6 and 7. */
#define ODET "  detectors:\n    - usage: {percent: 90}\n"

static const struct oom_policy *oom(size_t doc)
{
	cr_assert_lt(doc, set.n_docs);
	cr_assert_eq(set.docs[doc].kind, POLICY_KIND_OOM);
	cr_assert_not_null(set.docs[doc].oom);
	cr_assert_eq(set.docs[doc].n_rules + set.docs[doc].n_trust_rules, 0);
	return set.docs[doc].oom;
}

static void expect_selector_empty(const struct selector *s)
{
	cr_assert_eq(s->scope, SEL_SCOPE_ANY);
	cr_assert(!selector_has_cgroup_fields(s));
	cr_assert(!selector_has_process_fields(s));
}

Test(policy, a_minimal_oom_policy_loads_with_every_default)
{
	const struct oom_policy *o;
	const struct oom_detector *d;

	expect_ok(OHEAD ODET);
	cr_assert_eq(set.n_docs, 1);
	cr_assert_str_eq(set.docs[0].name, "o");
	o = oom(0);
	cr_assert(o->node, "no scope: the whole node");
	expect_selector_empty(&o->scope);
	cr_assert_eq(o->n_detectors, 1);
	d = &o->detectors[0];
	cr_assert_eq(d->kind, OOM_DET_USAGE);
	cr_assert_float_eq(d->percent, 90.0, 1e-9);
	cr_assert_eq(d->of, OOM_OF_LIMIT);
	cr_assert_eq(d->line, 7);
	cr_assert_eq(d->column, 7);
	cr_assert_eq(o->duration_ms, 0);
	cr_assert_eq(o->strategy, OOM_VICTIM_LARGEST_RSS);
	cr_assert(o->oom_score_adj);
	cr_assert(!o->has_prefer);
	cr_assert(!o->has_avoid);
	expect_selector_empty(&o->prefer);
	expect_selector_empty(&o->avoid);
	cr_assert_eq(o->kill, OOM_KILL_PROCESS);
	cr_assert(!o->dry_run);
	cr_assert_eq(o->post_action_delay_ms, 5000);
	cr_assert_str_eq(o->hook, "");
	cr_assert_eq(o->hook_timeout_ms, 5000);
	cr_assert(!o->handoff);
	cr_assert_eq(o->handoff_deadline_ms, 1000);
	cr_assert_eq(o->line, 6);
	cr_assert_eq(o->column, 3);
}

Test(policy, every_key_of_an_oom_policy_is_stored)
{
	const struct oom_policy *o;
	const struct oom_detector *d;

	expect_ok(OHEAD
		  "  scope:\n"
		  "    containerIds: [" CID "]\n"
		  "    podUIDs: [" POD "]\n"
		  "    namespaces: [batch-*]\n"
		  "    pods: [job-*]\n"
		  "    cgroups: [\"/batch.slice/*\", /jobs/x]\n"
		  "  detectors:\n"
		  "    - usage: {percent: 90, of: node}\n"
		  "    - swap: {percent: 12.5, of: limit}\n"
		  "    - psi: {type: full, avg10: 40}\n"
		  "    - psi: {stall: 150ms, window: 1s}\n"
		  "  duration: 1.5s\n"
		  "  victim:\n"
		  "    strategy: fastest_growth\n"
		  "    oomScoreAdj: false\n"
		  "    prefer: {scope: containers, comms: [worker], binaries: [\"/opt/*\"]}\n"
		  "    avoid: {cgroups: [/sys*], namespaces: [kube-system], pods: [a], podUIDs: [" POD "],"
		  " containerIds: [" CID "]}\n"
		  "  kill: process_group\n"
		  "  dryRun: true\n"
		  "  postActionDelay: 1m\n"
		  "  preKillHook: {command: \"/bin/dump --all\", timeout: 250ms}\n");
	o = oom(0);
	cr_assert(!o->node);
	cr_assert_eq(o->scope.scope, SEL_SCOPE_ANY);
	expect_list(&o->scope.container_ids, 1, CID);
	expect_list(&o->scope.pod_uids, 1, POD);
	expect_list(&o->scope.namespaces, 1, "batch-*");
	expect_list(&o->scope.pods, 1, "job-*");
	expect_list(&o->scope.cgroups, 2, "/batch.slice/*", "/jobs/x");
	cr_assert(!selector_has_process_fields(&o->scope));
	cr_assert_eq(o->n_detectors, 4);
	d = &o->detectors[0];
	cr_assert_eq(d->kind, OOM_DET_USAGE);
	cr_assert_float_eq(d->percent, 90.0, 1e-9);
	cr_assert_eq(d->of, OOM_OF_NODE);
	cr_assert_eq(d->line, 13);
	cr_assert_eq(d->column, 7);
	d = &o->detectors[1];
	cr_assert_eq(d->kind, OOM_DET_SWAP);
	cr_assert_float_eq(d->percent, 12.5, 1e-9);
	cr_assert_eq(d->of, OOM_OF_LIMIT);
	d = &o->detectors[2];
	cr_assert_eq(d->kind, OOM_DET_PSI);
	cr_assert_eq(d->psi_type, OOM_PSI_FULL);
	cr_assert_float_eq(d->avg10, 40.0, 1e-9);
	cr_assert_eq(d->stall_us, 0);
	cr_assert_eq(d->window_us, 0);
	d = &o->detectors[3];
	cr_assert_eq(d->kind, OOM_DET_PSI);
	cr_assert_eq(d->psi_type, OOM_PSI_SOME);
	cr_assert_lt(d->avg10, 0);
	cr_assert_eq(d->stall_us, 150000);
	cr_assert_eq(d->window_us, 1000000);
	cr_assert_eq(o->duration_ms, 1500);
	cr_assert_eq(o->strategy, OOM_VICTIM_FASTEST_GROWTH);
	cr_assert(!o->oom_score_adj);
	cr_assert(o->has_prefer);
	cr_assert_eq(o->prefer.scope, SEL_SCOPE_CONTAINERS);
	expect_list(&o->prefer.comms, 1, "worker");
	expect_list(&o->prefer.binaries, 1, "/opt/*");
	cr_assert(o->has_avoid);
	expect_list(&o->avoid.cgroups, 1, "/sys*");
	expect_list(&o->avoid.namespaces, 1, "kube-system");
	expect_list(&o->avoid.pods, 1, "a");
	expect_list(&o->avoid.pod_uids, 1, POD);
	expect_list(&o->avoid.container_ids, 1, CID);
	cr_assert_eq(o->kill, OOM_KILL_PROCESS_GROUP);
	cr_assert(o->dry_run);
	cr_assert_eq(o->post_action_delay_ms, 60000);
	cr_assert_str_eq(o->hook, "/bin/dump --all");
	cr_assert_eq(o->hook_timeout_ms, 250);
	cr_assert(!o->handoff);
}

Test(policy, a_handoff_policy_needs_a_scope_but_no_detectors)
{
	const struct oom_policy *o;

	expect_ok(OHEAD "  scope: {cgroups: [/legacy/*]}\n  handoff: true\n  handoffDeadline: 2s\n"
		  "  kill: cgroup\n");
	o = oom(0);
	cr_assert(!o->node);
	cr_assert(o->handoff);
	cr_assert_eq(o->n_detectors, 0);
	cr_assert_eq(o->handoff_deadline_ms, 2000);
	cr_assert_eq(o->kill, OOM_KILL_CGROUP);
	/* Detectors may come with it, to act before the OOM. */
	expect_ok(OHEAD "  scope: {pods: [web-*]}\n  handoff: true\n" ODET);
	cr_assert_eq(oom(0)->n_detectors, 1);
	cr_assert_eq(oom(0)->handoff_deadline_ms, 1000);
}

Test(policy, eight_detectors_fit)
{
	expect_ok(OHEAD "  detectors:\n"
		  "    - usage: {percent: 1}\n    - usage: {percent: 2}\n"
		  "    - usage: {percent: 3}\n    - usage: {percent: 4}\n"
		  "    - swap: {percent: 5}\n    - swap: {percent: 6}\n"
		  "    - psi: {avg10: 7}\n    - psi: {avg10: 100}\n");
	cr_assert_eq(oom(0)->n_detectors, POLICY_MAX_OOM_DETECTORS);
	cr_assert_float_eq(oom(0)->detectors[7].avg10, 100.0, 1e-9);
}

/* "duration: VALUE" on line 6 at column 13, in a policy with one detector. */
static uint64_t duration_ms_of(const char *value)
{
	expect_ok(fmt(OHEAD "  duration: %s\n" ODET, value));
	return oom(0)->duration_ms;
}

Test(policy, durations_take_a_unit_a_decimal_part_and_several_parts)
{
	cr_assert_eq(duration_ms_of("250ms"), 250);
	cr_assert_eq(duration_ms_of("2s"), 2000);
	cr_assert_eq(duration_ms_of("\"1.5s\""), 1500);
	cr_assert_eq(duration_ms_of("1m"), 60000);
	cr_assert_eq(duration_ms_of("1m30s"), 90000);
	cr_assert_eq(duration_ms_of("0.25s"), 250);
	cr_assert_eq(duration_ms_of("2000us"), 2);
	cr_assert_eq(duration_ms_of("0s"), 0);
	cr_assert_eq(duration_ms_of("0"), 0);
	cr_assert_eq(duration_ms_of("10m"), 600000);
	expect_ok(OHEAD "  detectors: [{psi: {stall: 500us, window: 0.5s}}]\n");
	cr_assert_eq(oom(0)->detectors[0].stall_us, 500);
	cr_assert_eq(oom(0)->detectors[0].window_us, 500000);
	expect_ok(OHEAD "  detectors: [{psi: {stall: 1.0005s, window: 10s}}]\n");
	cr_assert_eq(oom(0)->detectors[0].stall_us, 1000500);
	cr_assert_eq(oom(0)->detectors[0].window_us, 10000000);
}

Test(policy, a_duration_without_a_unit_is_refused_with_a_suggestion)
{
	expect_one_error(OHEAD "  duration: 5\n" ODET, 6, 13,
			 "spec.duration: \"5\" has no unit: write 5s or 5ms (units: us, ms, s, m)");
	expect_one_error(OHEAD "  duration: \"2.5\"\n" ODET, 6, 13,
			 "spec.duration: \"2.5\" has no unit: write 2.5s or 2.5ms");
}

Test(policy, a_malformed_duration_says_what_a_duration_looks_like)
{
	static const char *const bad[] = {
		"5 s", "abc", "1h", "-1s", "1.s", ".5s", "s", "1m30", "1sec", "1S", "1e3ms",
		"99999999999999s",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_one_error(fmt(OHEAD "  duration: \"%s\"\n" ODET, bad[i]), 6, 13,
				 fmt("spec.duration: expected a duration such as 500ms, 2s, 1.5s or "
				     "1m (units: us, ms, s, m), got \"%s\"", bad[i]));
}

Test(policy, each_duration_has_its_range)
{
	expect_one_error(OHEAD "  duration: 10m1ms\n" ODET, 6, 13,
			 "spec.duration: 10m1ms is out of range: at most 10m");
	expect_one_error(OHEAD "  duration: 99999999m\n" ODET, 6, 13,
			 "spec.duration: 99999999m is out of range: at most 10m");
	expect_one_error(OHEAD "  postActionDelay: 11m\n" ODET, 6, 20,
			 "spec.postActionDelay: 11m is out of range: at most 10m");
	expect_one_error(OHEAD "  preKillHook: {command: x, timeout: 0s}\n" ODET, 6, 38,
			 "spec.preKillHook.timeout: 0s is out of range: above 0 and at most 10m");
	expect_one_error(OHEAD "  scope: {cgroups: [/a]}\n  handoff: true\n"
			 "  handoffDeadline: 99ms\n", 8, 20,
			 "spec.handoffDeadline: 99ms is out of range: 100ms to 1m");
	expect_one_error(OHEAD "  scope: {cgroups: [/a]}\n  handoff: true\n"
			 "  handoffDeadline: 61s\n", 8, 20,
			 "spec.handoffDeadline: 61s is out of range: 100ms to 1m");
	expect_one_error(OHEAD "  detectors: [{psi: {stall: 100ms, window: 499ms}}]\n", 6, 44,
			 "spec.detectors[0].psi.window: 499ms is out of range: 500ms to 10s "
			 "(the kernel's PSI trigger limits)");
	expect_one_error(OHEAD "  detectors: [{psi: {stall: 100ms, window: 10001ms}}]\n", 6, 44,
			 "spec.detectors[0].psi.window: 10001ms is out of range: 500ms to 10s");
	expect_one_error(OHEAD "  detectors: [{psi: {stall: 0s, window: 1s}}]\n", 6, 29,
			 "spec.detectors[0].psi.stall: 0s is out of range: above 0 and at most 10s "
			 "(the kernel's PSI trigger limits)");
	/* Durations kept in milliseconds take whole ones. */
	expect_one_error(OHEAD "  duration: 1.5ms\n" ODET, 6, 13,
			 "spec.duration: 1.5ms is not a whole number of milliseconds");
	expect_one_error(OHEAD "  duration: 0.5us\n" ODET, 6, 13,
			 "spec.duration: \"0.5us\" is finer than a microsecond");
}

Test(policy, percents_are_numbers_above_0_and_at_most_100)
{
	expect_ok(OHEAD "  detectors: [{usage: {percent: 100}}, {swap: {percent: 0.5}}, "
		  "{psi: {avg10: 0.01}}]\n");
	cr_assert_float_eq(oom(0)->detectors[1].percent, 0.5, 1e-9);
	cr_assert_float_eq(oom(0)->detectors[2].avg10, 0.01, 1e-9);
	expect_one_error(OHEAD "  detectors: [{usage: {percent: 0}}]\n", 6, 33,
			 "spec.detectors[0].usage.percent: 0 is out of range: a percent above 0 "
			 "and at most 100");
	expect_one_error(OHEAD "  detectors: [{swap: {percent: 100.5}}]\n", 6, 32,
			 "spec.detectors[0].swap.percent: 100.5 is out of range");
	expect_one_error(OHEAD "  detectors: [{psi: {avg10: -3}}]\n", 6, 29,
			 "spec.detectors[0].psi.avg10: -3 is out of range");
	expect_one_error(OHEAD "  detectors: [{usage: {percent: 90%}}]\n", 6, 33,
			 "spec.detectors[0].usage.percent: expected a number, got \"90%\" (write "
			 "90: the value is a percent already)");
	expect_one_error(OHEAD "  detectors: [{usage: {percent: ninety}}]\n", 6, 33,
			 "spec.detectors[0].usage.percent: expected a number such as 90 or 12.5, "
			 "got \"ninety\"");
	expect_one_error(OHEAD "  detectors: [{usage: {percent: 1e2}}]\n", 6, 33,
			 "expected a number such as 90 or 12.5, got \"1e2\"");
}

Test(policy, detectors_are_one_to_eight_items_of_one_kind_each)
{
	expect_one_error(OHEAD "  detectors: []\n", 6, 14,
			 "spec.detectors: expected at least one detector (leave detectors out only "
			 "for a handoff-only policy)");
	expect_one_error(OHEAD "  kill: process\n", 6, 3,
			 "spec: missing key \"detectors\": a policy acts when one of its detectors "
			 "fires (usage, psi or swap); only a handoff policy (handoff: true) may "
			 "have none");
	expect_one_error(OHEAD "  handoff: false\n", 6, 3, "spec: missing key \"detectors\"");
	expect_one_error(OHEAD "  detectors:\n"
			 "    - usage: {percent: 1}\n    - usage: {percent: 2}\n"
			 "    - usage: {percent: 3}\n    - usage: {percent: 4}\n"
			 "    - usage: {percent: 5}\n    - usage: {percent: 6}\n"
			 "    - usage: {percent: 7}\n    - usage: {percent: 8}\n"
			 "    - usage: {percent: 9}\n    - usage: {percent: 10}\n", 15, 7,
			 "spec.detectors[8]: too many detectors: a policy has at most 8");
	cr_assert_eq(diags.n, 1, "told once, at the first past the limit");
	expect_one_error(OHEAD "  detectors:\n    - usage: {percent: 90}\n      psi: {avg10: 5}\n",
			 8, 7, "spec.detectors[0].psi: one kind per detector: this item is already "
			 "a usage detector; start another item (\"- psi: ...\") for this one");
	expect_one_error(OHEAD "  detectors: [{}]\n", 6, 15,
			 "spec.detectors[0]: a detector needs one of usage, psi or swap");
	expect_one_error(OHEAD "  detectors: [{usage: {}}]\n", 6, 23,
			 "spec.detectors[0].usage: missing required key \"percent\"");
	expect_one_error(OHEAD "  detectors: [usage]\n", 6, 15,
			 "spec.detectors[0]: expected a mapping, got a string");
	expect_one_error(OHEAD "  detectors: {usage: {percent: 9}}\n", 6, 14,
			 "spec.detectors: expected a list of mappings, got a mapping");
	/* A wrong value under a kind is the only error: the item still has its kind. */
	expect_one_error(OHEAD "  detectors: [{usage: 90}]\n", 6, 23,
			 "spec.detectors[0].usage: expected a mapping, got a string");
}

Test(policy, a_psi_detector_reads_avg10_or_arms_a_trigger_with_stall_and_window)
{
	expect_one_error(OHEAD "  detectors: [{psi: {type: full}}]\n", 6, 21,
			 "spec.detectors[0].psi: needs avg10 (a pressure percent over the last 10 "
			 "seconds) or stall with window (a kernel PSI trigger: this much stall time "
			 "within each window)");
	expect_one_error(OHEAD "  detectors: [{psi: {avg10: 5, stall: 1s, window: 2s}}]\n", 6,
			 32, "spec.detectors[0].psi.stall: use avg10 or stall with window, not both");
	expect_one_error(OHEAD "  detectors: [{psi: {avg10: 5, window: 2s}}]\n", 6, 32,
			 "spec.detectors[0].psi.window: use avg10 or stall with window, not both");
	expect_one_error(OHEAD "  detectors: [{psi: {stall: 100ms}}]\n", 6, 22,
			 "spec.detectors[0].psi.stall: needs window, the time span the stall is "
			 "measured in (500ms to 10s)");
	expect_one_error(OHEAD "  detectors: [{psi: {window: 1s}}]\n", 6, 22,
			 "spec.detectors[0].psi.window: only applies with stall");
	expect_one_error(OHEAD "  detectors: [{psi: {stall: 2s, window: 1s}}]\n", 6, 22,
			 "spec.detectors[0].psi.stall: 2s is longer than the window (1s): the "
			 "stall time is measured within the window, so it can be at most the "
			 "window");
	expect_ok(OHEAD "  detectors: [{psi: {stall: 1s, window: 1s}}]\n");
	expect_one_error(OHEAD "  detectors: [{psi: {type: partial, avg10: 5}}]\n", 6, 28,
			 "spec.detectors[0].psi.type: expected one of some, full, got \"partial\"");
	expect_one_error(OHEAD "  detectors: [{usage: {percent: 5, of: nodes}}]\n", 6, 40,
			 "spec.detectors[0].usage.of: expected one of limit, node, got \"nodes\" "
			 "(did you mean \"node\"?)");
}

Test(policy, an_oom_scope_takes_only_cgroup_level_fields)
{
	expect_one_error(OHEAD "  scope:\n    comms: [java]\n" ODET, 7, 5,
			 "spec.scope.comms: not allowed in an OomPolicy: an OomPolicy's scope "
			 "selects memory cgroups, not processes: usage, swap and pressure are "
			 "accounted per memory cgroup; to choose among the processes of a cgroup, "
			 "use spec.victim.prefer and spec.victim.avoid");
	expect_one_error(OHEAD "  scope: {cgroups: [/a], binaries: [/usr/bin/java]}\n" ODET, 6,
			 26, "spec.scope.binaries: not allowed in an OomPolicy");
	expect_one_error(OHEAD "  scope: {scope: containers}\n" ODET, 6, 11,
			 "spec.scope.scope: not allowed in an OomPolicy: spec.scope names memory "
			 "cgroups by containerIds, podUIDs, namespaces, pods and cgroups; to cover "
			 "the whole node, leave spec.scope out");
	expect_one_error(OHEAD "  scope: {}\n" ODET, 6, 10,
			 "spec.scope: an empty scope selects no memory cgroup; leave scope out to "
			 "cover the whole node, or name memory cgroups with containerIds, podUIDs, "
			 "namespaces, pods or cgroups");
	expect_one_error(OHEAD "  scope: node\n" ODET, 6, 10,
			 "spec.scope: expected a mapping of memory cgroup selectors (containerIds, "
			 "podUIDs, namespaces, pods, cgroups), got a string; leave scope out to "
			 "cover the whole node");
	expect_one_error(OHEAD "  scope:\n" ODET, 6, 3,
			 "spec.scope: expected a mapping of memory cgroup selectors (containerIds, "
			 "podUIDs, namespaces, pods, cgroups), got nothing");
	expect_one_error(OHEAD "  scope: {cgroup: [/a]}\n" ODET, 6, 11,
			 "spec.scope: unknown key \"cgroup\" (did you mean \"cgroups\"?)");
	expect_one_error(OHEAD "  scope: {cgroups: [batch]}\n" ODET, 6, 21,
			 "spec.scope.cgroups[0]: \"batch\" can never match: cgroup paths start "
			 "with '/'");
	expect_one_error(OHEAD "  scope: {cgroups: []}\n" ODET, 6, 20,
			 "spec.scope.cgroups: an empty list can never match");
}

Test(policy, kill_cgroup_needs_a_scope)
{
	expect_one_error(OHEAD ODET "  kill: cgroup\n", 8, 3,
			 "spec.kill: cgroup needs a scope: it kills every process of the unit's "
			 "memory cgroup, and with no scope the unit is the whole node; use process "
			 "or process_group, or name memory cgroups in spec.scope");
	expect_one_error(OHEAD ODET "  kill: process-group\n", 8, 9,
			 "spec.kill: expected one of process, process_group, cgroup, got "
			 "\"process-group\" (did you mean \"process_group\"?)");
	expect_ok(OHEAD ODET "  kill: process_group\n");
	cr_assert_eq(oom(0)->kill, OOM_KILL_PROCESS_GROUP);
}

Test(policy, handoff_needs_a_scope_of_memory_cgroups)
{
	expect_one_error(OHEAD "  handoff: true\n", 6, 3,
			 "spec.handoff: needs a scope: handoff sets oom_kill_disable on memory "
			 "cgroups (a cgroup v1 memcg setting; the node as a whole has none), so "
			 "name the cgroups to hand off in spec.scope");
	/* A handoff value that is not a bool is the error; detectors are not asked for. */
	expect_one_error(OHEAD "  scope: {cgroups: [/a]}\n  handoff: yes\n", 7, 12,
			 "spec.handoff: expected true or false, got \"yes\" (write true: only true "
			 "and false are booleans here)");
}

Test(policy, a_handoff_dry_run_is_a_warning)
{
	load(OHEAD "  scope: {cgroups: [/a]}\n  handoff: true\n  dryRun: true\n");
	expect_one_warning(8, 3, "spec.dryRun: with handoff, a dry run resolves no OOM: each one "
			   "waits out handoffDeadline (1s) and then the kernel kills as it would "
			   "have");
	cr_assert(oom(0)->dry_run && oom(0)->handoff, "a warning does not refuse the policy");
}

Test(policy, settings_that_apply_to_nothing_are_warnings)
{
	load(OHEAD ODET "  handoffDeadline: 3s\n");
	expect_one_warning(8, 3, "spec.handoffDeadline: only applies with handoff: true");
	load(OHEAD "  scope: {cgroups: [/a]}\n  handoff: true\n  duration: 3s\n");
	expect_one_warning(8, 3, "spec.duration: only applies to detectors, and this policy has "
			   "none");
	load(OHEAD "  scope: {cgroups: [/a]}\n  handoff: true\n  handoffDeadline: 2s\n"
	     "  preKillHook: {command: dump, timeout: 2s}\n");
	expect_one_warning(9, 32, "spec.preKillHook.timeout: 2s is not shorter than "
			   "handoffDeadline (2s): during a handed-off OOM a slow hook runs into "
			   "the deadline and the kernel resolves the OOM instead");
	/* The default timeout (5s) against the default deadline (1s): said at handoff. */
	load(OHEAD "  scope: {cgroups: [/a]}\n  handoff: true\n  preKillHook: {command: dump}\n");
	expect_one_warning(7, 3, "spec.preKillHook.timeout: 5s is not shorter than "
			   "handoffDeadline (1s)");
	expect_ok(OHEAD "  scope: {cgroups: [/a]}\n  handoff: true\n"
		  "  preKillHook: {command: dump, timeout: 500ms}\n");
}

Test(policy, a_pre_kill_hook_needs_a_command_of_at_most_1023_bytes)
{
	static char big[POLICY_OOM_HOOK_MAX + 1];

	expect_one_error(OHEAD ODET "  preKillHook: {timeout: 1s}\n", 8, 16,
			 "spec.preKillHook: missing required key \"command\"");
	expect_one_error(OHEAD ODET "  preKillHook: {command: \"  \"}\n", 8, 26,
			 "spec.preKillHook.command: an empty command runs nothing; leave "
			 "preKillHook out for no hook");
	expect_one_error(OHEAD ODET "  preKillHook: {command: \"a\\0b\"}\n", 8, 26,
			 "spec.preKillHook.command: must not contain a NUL byte");
	memset(big, 'x', POLICY_OOM_HOOK_MAX - 1);
	big[POLICY_OOM_HOOK_MAX - 1] = 0;
	expect_ok(fmt(OHEAD ODET "  preKillHook: {command: %s}\n", big));
	cr_assert_eq(strlen(oom(0)->hook), POLICY_OOM_HOOK_MAX - 1);
	big[POLICY_OOM_HOOK_MAX - 1] = 'x';
	big[POLICY_OOM_HOOK_MAX] = 0;
	expect_one_error(fmt(OHEAD ODET "  preKillHook: {command: %s}\n", big), 8, 26,
			 "spec.preKillHook.command: too long (1024 bytes; at most 1023): put a "
			 "long command in a script and run that");
}

Test(policy, prefer_and_avoid_are_whole_selectors)
{
	load(OHEAD ODET "  victim: {prefer: {}}\n");
	expect_one_warning(8, 20, "spec.victim.prefer: an empty selector matches every process, "
			   "so it prefers none over another; name processes or leave it out");
	load(OHEAD ODET "  victim: {avoid: {}}\n");
	expect_one_warning(8, 19, "spec.victim.avoid: an empty selector matches every process, "
			   "so it leaves nothing else to choose; name processes or leave it out");
	expect_one_error(OHEAD ODET "  victim: {avoid: {scope: host, pods: [a]}}\n", 8, 33,
			 "spec.victim.avoid.pods: can never match with scope host: host processes "
			 "are in no container");
	expect_one_error(OHEAD ODET "  victim: {prefer: {comms: [averyveryverylongname]}}\n", 8,
			 29, "spec.victim.prefer.comms[0]: \"averyveryverylongname\" can never match");
	expect_one_error(OHEAD ODET "  victim: {prefer: {relation: host}}\n", 8, 21,
			 "spec.victim.prefer: unknown key \"relation\"");
	expect_one_error(OHEAD ODET "  victim: {strategy: largest}\n", 8, 22,
			 "spec.victim.strategy: expected one of largest_rss, fastest_growth, got "
			 "\"largest\"");
	expect_one_error(OHEAD ODET "  victim: {oomScoreAdj: 1}\n", 8, 25,
			 "spec.victim.oomScoreAdj: expected true or false, got \"1\"");
}

Test(policy, an_unknown_oom_key_is_named_with_the_closest_valid_key)
{
	expect_one_error(OHEAD ODET "  dryrun: true\n", 8, 3,
			 "spec: unknown key \"dryrun\" (did you mean \"dryRun\"?)");
	expect_error(OHEAD "  detector:\n    - usage: {percent: 90}\n", 6, 3,
		     "spec: unknown key \"detector\" (did you mean \"detectors\"?)");
	/* As with any required key misspelt, its absence is said too. */
	cr_assert_not_null(find(6, 3, "spec: missing key \"detectors\""));
	expect_one_error(OHEAD ODET "  rules: []\n", 8, 3,
			 "spec: unknown key \"rules\" (valid keys: scope, detectors, duration, "
			 "victim, kill, dryRun, postActionDelay, preKillHook, handoff, "
			 "handoffDeadline)");
	expect_one_error(OHEAD "  detectors: [{usage: {percent: 9, off: node}}]\n", 6, 36,
			 "spec.detectors[0].usage: unknown key \"off\" (did you mean \"of\"?)");
	/* A SignalPolicy's keys are not an OomPolicy's. */
	expect_error("apiVersion: vigil.dev/v1alpha1\nkind: OomPolicy\nmetadata: {name: o}\n"
		     "spec: {rules: [{action: audit}]}\n", 4, 7,
			 "spec: missing key \"detectors\"");
	cr_assert_not_null(find(4, 8, "spec: unknown key \"rules\""));
}

Test(policy, every_problem_of_an_oom_policy_is_reported_and_it_is_not_loaded)
{
	int ret = load(OHEAD
		       "  scope: {comms: [x]}\n"
		       "  detectors:\n"
		       "    - usage: {percent: 0}\n"
		       "    - psi: {stall: 5s, window: 1s}\n"
		       "  duration: 5\n"
		       "  kill: everything\n"
		       "  handoffDeadline: 1h\n");

	if (ret != 6)
		dump();
	cr_assert_eq(ret, 6);
	cr_assert_eq(set.n_docs, 0);
	cr_assert_not_null(find(6, 11, "spec.scope.comms: not allowed"));
	cr_assert_not_null(find(8, 24, "percent: 0 is out of range"));
	cr_assert_not_null(find(9, 13, "stall: 5s is longer than the window"));
	cr_assert_not_null(find(10, 13, "spec.duration: \"5\" has no unit"));
	cr_assert_not_null(find(11, 9, "spec.kill: expected one of"));
	cr_assert_not_null(find(12, 20, "spec.handoffDeadline: expected a duration"));
	for (size_t i = 1; i < diags.n; i++)
		cr_assert(diags.v[i - 1].line <= diags.v[i].line, "sorted top to bottom");
}

Test(policy, oom_and_other_policies_load_side_by_side_and_free_everything)
{
	expect_ok(HEAD "    - action: audit\n---\n" OHEAD
		  "  scope: {cgroups: [/a, /b], namespaces: [n]}\n" ODET
		  "  victim: {prefer: {comms: [a, b]}, avoid: {binaries: [/x]}}\n"
		  "---\n" THEAD "    - mode: audit\n");
	cr_assert_eq(set.n_docs, 3);
	cr_assert_eq(set.docs[0].kind, POLICY_KIND_SIGNAL);
	cr_assert_null(set.docs[0].oom);
	cr_assert_eq(set.docs[1].kind, POLICY_KIND_OOM);
	cr_assert_eq(set.docs[2].kind, POLICY_KIND_TRUST);
	cr_assert_null(set.docs[2].oom);
	cr_assert_eq(oom(1)->scope.cgroups.n, 2);
	/* reset() frees it all; ASan would see a leak. */
}

/* ---- LeakPolicy ----------------------------------------------------------------- */

/* Five lines; spec's keys start on line 6 at column 3. */
#define LHEAD \
	"apiVersion: vigil.dev/v1alpha1\n" \
	"kind: LeakPolicy\n" \
	"metadata:\n" \
	"  name: l\n" \
	"spec:\n"

static const struct leak_policy *leak(size_t doc)
{
	cr_assert_lt(doc, set.n_docs);
	cr_assert_eq(set.docs[doc].kind, POLICY_KIND_LEAK);
	cr_assert_not_null(set.docs[doc].leak);
	cr_assert_null(set.docs[doc].oom);
	cr_assert_eq(set.docs[doc].n_rules + set.docs[doc].n_trust_rules, 0);
	return set.docs[doc].leak;
}

/* p holds the LEAK_DEFAULT_* criteria of policy.h. */
static void expect_leak_defaults(const struct leak_policy *p)
{
	cr_assert_float_eq(p->threshold, LEAK_DEFAULT_THRESHOLD, 1e-12);
	cr_assert_eq(p->consecutive, LEAK_DEFAULT_CONSECUTIVE);
	cr_assert_float_eq(p->min_growth_pct, LEAK_DEFAULT_MIN_GROWTH_PCT, 1e-12);
	cr_assert_float_eq(p->min_growth_mib, LEAK_DEFAULT_MIN_GROWTH_MIB, 1e-12);
	cr_assert_eq(p->warmup_ms, LEAK_DEFAULT_WARMUP_MS);
	cr_assert_eq(p->window_ms, LEAK_DEFAULT_WINDOW_MS);
}

Test(policy, the_leak_defaults_are_the_documented_values)
{
	/* policy.h's comment and policies/README.md state these. */
	cr_assert_float_eq(LEAK_DEFAULT_THRESHOLD, 0.8, 1e-12);
	cr_assert_eq(LEAK_DEFAULT_CONSECUTIVE, 6);
	cr_assert_float_eq(LEAK_DEFAULT_MIN_GROWTH_PCT, 20.0, 1e-12);
	cr_assert_float_eq(LEAK_DEFAULT_MIN_GROWTH_MIB, 64.0, 1e-12);
	cr_assert_eq(LEAK_DEFAULT_WARMUP_MS, 60000);
	cr_assert_eq(LEAK_DEFAULT_WINDOW_MS, 600000);
}

Test(policy, leak_policy_defaults_fills_every_field_over_garbage)
{
	struct leak_policy p;

	memset(&p, 0xa5, sizeof(p));
	leak_policy_defaults(&p);
	cr_assert(p.all);
	expect_selector_empty(&p.scope);
	expect_leak_defaults(&p);
	cr_assert_eq(p.line, 0);
	cr_assert_eq(p.column, 0);
}

Test(policy, an_empty_leak_spec_loads_with_every_default_for_every_process)
{
	const struct leak_policy *p;

	expect_ok("apiVersion: vigil.dev/v1alpha1\nkind: LeakPolicy\nmetadata: {name: l}\n"
		  "spec: {}\n");
	cr_assert_eq(set.n_docs, 1);
	cr_assert_str_eq(set.docs[0].name, "l");
	p = leak(0);
	cr_assert(p->all, "no scope: every process");
	expect_selector_empty(&p->scope);
	expect_leak_defaults(p);
	cr_assert_eq(p->line, 4);
	cr_assert_eq(p->column, 7);
}

Test(policy, leak_keys_left_out_keep_their_defaults)
{
	const struct leak_policy *p;

	expect_ok(LHEAD "  threshold: 0.5\n  window: 20m\n");
	p = leak(0);
	cr_assert_float_eq(p->threshold, 0.5, 1e-12);
	cr_assert_eq(p->window_ms, 1200000);
	cr_assert_eq(p->consecutive, LEAK_DEFAULT_CONSECUTIVE);
	cr_assert_float_eq(p->min_growth_pct, LEAK_DEFAULT_MIN_GROWTH_PCT, 1e-12);
	cr_assert_float_eq(p->min_growth_mib, LEAK_DEFAULT_MIN_GROWTH_MIB, 1e-12);
	cr_assert_eq(p->warmup_ms, LEAK_DEFAULT_WARMUP_MS);
	cr_assert(p->all);
	cr_assert_eq(p->line, 6);
	cr_assert_eq(p->column, 3);
}

Test(policy, every_key_of_a_leak_policy_is_stored)
{
	const struct leak_policy *p;

	expect_ok(LHEAD
		  "  scope:\n"
		  "    scope: containers\n"
		  "    containerIds: [" CID "]\n"
		  "    podUIDs: [" POD "]\n"
		  "    namespaces: [batch-*]\n"
		  "    pods: [job-*]\n"
		  "    cgroups: [\"/kubepods/*\"]\n"
		  "    binaries: [\"/opt/*\", /usr/bin/java]\n"
		  "    comms: [java]\n"
		  "  threshold: 0.65\n"
		  "  consecutive: 12\n"
		  "  minGrowthPercent: 12.5\n"
		  "  minGrowthMiB: 256\n"
		  "  warmup: 2m30s\n"
		  "  window: 30m\n");
	p = leak(0);
	cr_assert(!p->all);
	cr_assert_eq(p->scope.scope, SEL_SCOPE_CONTAINERS);
	expect_list(&p->scope.container_ids, 1, CID);
	expect_list(&p->scope.pod_uids, 1, POD);
	expect_list(&p->scope.namespaces, 1, "batch-*");
	expect_list(&p->scope.pods, 1, "job-*");
	expect_list(&p->scope.cgroups, 1, "/kubepods/*");
	expect_list(&p->scope.binaries, 2, "/opt/*", "/usr/bin/java");
	expect_list(&p->scope.comms, 1, "java");
	cr_assert_float_eq(p->threshold, 0.65, 1e-12);
	cr_assert_eq(p->consecutive, 12);
	cr_assert_float_eq(p->min_growth_pct, 12.5, 1e-12);
	cr_assert_float_eq(p->min_growth_mib, 256.0, 1e-12);
	cr_assert_eq(p->warmup_ms, 150000);
	cr_assert_eq(p->window_ms, 1800000);
	cr_assert_eq(p->line, 6);
	cr_assert_eq(p->column, 3);
}

Test(policy, a_leak_scope_takes_process_level_fields_alone)
{
	expect_ok(LHEAD "  scope: {binaries: [\"/opt/app/*\"]}\n");
	cr_assert(!leak(0)->all);
	expect_list(&leak(0)->scope.binaries, 1, "/opt/app/*");
	cr_assert(!selector_has_cgroup_fields(&leak(0)->scope));
	expect_ok(LHEAD "  scope: {comms: [java, python3]}\n");
	expect_list(&leak(0)->scope.comms, 2, "java", "python3");
	expect_ok(LHEAD "  scope: {scope: host}\n");
	cr_assert(!leak(0)->all);
	cr_assert_eq(leak(0)->scope.scope, SEL_SCOPE_HOST);
	expect_ok(LHEAD "  scope: {scope: host, cgroups: [\"/system.slice/*\"], comms: [sshd]}\n");
}

Test(policy, leak_numbers_and_durations_take_both_ends_of_their_ranges)
{
	expect_ok(LHEAD "  threshold: 1\n  consecutive: 1\n  minGrowthPercent: 0\n"
		  "  minGrowthMiB: 0\n  warmup: 0\n  window: 1s\n");
	cr_assert_float_eq(leak(0)->threshold, 1.0, 1e-12);
	cr_assert_eq(leak(0)->consecutive, 1);
	cr_assert_float_eq(leak(0)->min_growth_pct, 0.0, 1e-12);
	cr_assert_float_eq(leak(0)->min_growth_mib, 0.0, 1e-12);
	cr_assert_eq(leak(0)->warmup_ms, 0);
	cr_assert_eq(leak(0)->window_ms, 1000);
	expect_ok(LHEAD "  threshold: 0.001\n  consecutive: 1000\n  warmup: 1440m\n"
		  "  window: 1440m\n  minGrowthMiB: \"0.5\"\n  minGrowthPercent: 1000\n");
	cr_assert_float_eq(leak(0)->threshold, 0.001, 1e-12);
	cr_assert_eq(leak(0)->consecutive, 1000);
	cr_assert_eq(leak(0)->warmup_ms, 86400000);
	cr_assert_eq(leak(0)->window_ms, 86400000);
	cr_assert_float_eq(leak(0)->min_growth_mib, 0.5, 1e-12);
	cr_assert_float_eq(leak(0)->min_growth_pct, 1000.0, 1e-12);
	/* A whole number written with a fraction is still whole; "-0" is plain 0. */
	expect_ok(LHEAD "  consecutive: 3.0\n  minGrowthMiB: -0\n  warmup: 1.5s\n");
	cr_assert_eq(leak(0)->consecutive, 3);
	cr_assert(!signbit(leak(0)->min_growth_mib), "-0 is stored as 0");
	cr_assert_eq(leak(0)->warmup_ms, 1500);
}

Test(policy, each_leak_number_has_its_range)
{
	expect_one_error(LHEAD "  threshold: 0\n", 6, 14,
			 "spec.threshold: 0 is out of range: a score above 0 and at most 1");
	expect_one_error(LHEAD "  threshold: 1.01\n", 6, 14,
			 "spec.threshold: 1.01 is out of range: a score above 0 and at most 1");
	expect_one_error(LHEAD "  threshold: -0.5\n", 6, 14, "spec.threshold: -0.5 is out of range");
	expect_one_error(LHEAD "  consecutive: 0\n", 6, 16,
			 "spec.consecutive: 0 is out of range: 1 to 1000 evaluations");
	expect_one_error(LHEAD "  consecutive: 1001\n", 6, 16,
			 "spec.consecutive: 1001 is out of range: 1 to 1000 evaluations");
	expect_one_error(LHEAD "  consecutive: 2.5\n", 6, 16,
			 "spec.consecutive: 2.5 is not a whole number: it counts evaluations");
	expect_one_error(LHEAD "  minGrowthPercent: -1\n", 6, 21,
			 "spec.minGrowthPercent: -1 is out of range: at least 0 (0: no minimum)");
	expect_one_error(LHEAD "  minGrowthMiB: -0.5\n", 6, 17,
			 "spec.minGrowthMiB: -0.5 is out of range: at least 0 (0: no minimum)");
}

Test(policy, each_leak_duration_has_its_range)
{
	expect_one_error(LHEAD "  warmup: 1441m\n", 6, 11,
			 "spec.warmup: 1441m is out of range: at most 1440m (24 hours)");
	expect_one_error(LHEAD "  warmup: 1440m1ms\n", 6, 11,
			 "spec.warmup: 1440m1ms is out of range: at most 1440m (24 hours)");
	expect_one_error(LHEAD "  window: 999ms\n", 6, 11,
			 "spec.window: 999ms is out of range: 1s to 1440m (24 hours)");
	expect_one_error(LHEAD "  window: 0\n", 6, 11,
			 "spec.window: 0 is out of range: 1s to 1440m (24 hours)");
	expect_one_error(LHEAD "  window: 99999999999m\n", 6, 11,
			 "spec.window: 99999999999m is out of range: 1s to 1440m (24 hours)");
	/* Both are kept in milliseconds, so they take whole ones. */
	expect_one_error(LHEAD "  warmup: 1.5ms\n", 6, 11,
			 "spec.warmup: 1.5ms is not a whole number of milliseconds");
	expect_one_error(LHEAD "  window: 1h\n", 6, 11,
			 "spec.window: expected a duration such as 500ms, 2s, 1.5s or 1m (units: "
			 "us, ms, s, m), got \"1h\"");
	expect_one_error(LHEAD "  warmup: 60\n", 6, 11,
			 "spec.warmup: \"60\" has no unit: write 60s or 60ms (units: us, ms, s, m)");
}

Test(policy, leak_values_of_the_wrong_type_say_what_is_expected)
{
	expect_one_error(LHEAD "  threshold: high\n", 6, 14,
			 "spec.threshold: expected a number such as 0.8 or 0.95, got \"high\"");
	/* A score is no percent: no "write 80" hint, which would be out of range. */
	expect_one_error(LHEAD "  threshold: 80%\n", 6, 14,
			 "spec.threshold: expected a number such as 0.8 or 0.95, got \"80%\"");
	expect_one_error(LHEAD "  consecutive: six\n", 6, 16,
			 "spec.consecutive: expected a number such as 6, got \"six\"");
	expect_one_error(LHEAD "  minGrowthPercent: 20%\n", 6, 21,
			 "spec.minGrowthPercent: expected a number, got \"20%\" (write 20: the "
			 "value is a percent already)");
	expect_one_error(LHEAD "  minGrowthMiB: 64MiB\n", 6, 17,
			 "spec.minGrowthMiB: expected a number, got \"64MiB\" (write 64: the value "
			 "is in MiB already)");
	expect_one_error(LHEAD "  minGrowthMiB: 64 MiB\n", 6, 17,
			 "(write 64: the value is in MiB already)");
	expect_one_error(LHEAD "  minGrowthMiB: 1GiB\n", 6, 17,
			 "spec.minGrowthMiB: expected a number such as 90 or 12.5, got \"1GiB\"");
	expect_one_error(LHEAD "  consecutive: [3]\n", 6, 16,
			 "spec.consecutive: expected a number, got a list");
	expect_one_error(LHEAD "  window: {m: 5}\n", 6, 11,
			 "spec.window: expected a duration, got a mapping");
	expect_one_error(LHEAD "  threshold:\n", 6, 3,
			 "spec.threshold: no value (expected a number)");
	expect_one_error(LHEAD "  scope: all\n", 6, 10,
			 "spec.scope: expected a mapping of selector fields (scope, containerIds, "
			 "podUIDs, namespaces, pods, cgroups, binaries, comms), got a string; leave "
			 "scope out to cover every process");
	expect_one_error(LHEAD "  scope:\n  threshold: 0.5\n", 6, 3,
			 "spec.scope: expected a mapping of selector fields");
	expect_one_error(LHEAD "  scope: [batch]\n", 6, 10,
			 "spec.scope: expected a mapping, got a list");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: LeakPolicy\nmetadata: {name: l}\n"
			 "spec: [threshold]\n", 4, 7, "spec: expected a mapping, got a list");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: LeakPolicy\nmetadata: {name: l}\n"
			 "spec:\n", 4, 1, "spec: no value (expected a mapping)");
	expect_one_error("apiVersion: vigil.dev/v1alpha1\nkind: LeakPolicy\nmetadata: {name: l}\n",
			 1, 1, "missing required key \"spec\"");
}

Test(policy, an_empty_leak_scope_is_an_error)
{
	expect_one_error(LHEAD "  scope: {}\n", 6, 10,
			 "spec.scope: an empty scope selects no process; leave scope out to cover "
			 "every process, or name processes with selector fields (scope, "
			 "containerIds, podUIDs, namespaces, pods, cgroups, binaries, comms)");
}

Test(policy, leak_scopes_that_can_never_match_are_errors)
{
	expect_one_error(LHEAD "  scope: {scope: host, namespaces: [batch]}\n", 6, 24,
			 "spec.scope.namespaces: can never match with scope host: host processes "
			 "are in no container");
	expect_one_error(LHEAD "  scope: {comms: []}\n", 6, 18,
			 "spec.scope.comms: an empty list can never match");
	expect_one_error(LHEAD "  scope: {comms: [averyveryverylongname]}\n", 6, 19,
			 "spec.scope.comms[0]: \"averyveryverylongname\" can never match: a comm "
			 "holds at most 15 bytes");
	expect_one_error(LHEAD "  scope: {binaries: [java]}\n", 6, 22,
			 "spec.scope.binaries[0]: \"java\" can never match: binary paths are "
			 "absolute (start with '/')");
	expect_one_error(LHEAD "  scope: {scope: everywhere}\n", 6, 18,
			 "spec.scope.scope: expected one of host, containers, any, got "
			 "\"everywhere\"");
}

Test(policy, an_unknown_or_repeated_leak_key_is_an_error)
{
	expect_one_error(LHEAD "  treshold: 0.5\n", 6, 3,
			 "spec: unknown key \"treshold\" (did you mean \"threshold\"?)");
	expect_one_error(LHEAD "  minGrowthMib: 5\n", 6, 3,
			 "spec: unknown key \"minGrowthMib\" (did you mean \"minGrowthMiB\"?)");
	expect_one_error(LHEAD "  detectors: []\n", 6, 3,
			 "spec: unknown key \"detectors\" (valid keys: scope, threshold, "
			 "consecutive, minGrowthPercent, minGrowthMiB, warmup, window)");
	expect_one_error(LHEAD "  scope: {namespace: [x]}\n", 6, 11,
			 "spec.scope: unknown key \"namespace\" (did you mean \"namespaces\"?)");
	expect_one_error(LHEAD "  scope: {relation: host}\n", 6, 11,
			 "spec.scope: unknown key \"relation\"");
	expect_one_error(LHEAD "  threshold: 0.5\n  threshold: 0.6\n", 7, 3,
			 "spec: duplicate key \"threshold\" (first at line 6, column 3)");
	/* An OomPolicy's keys are not a LeakPolicy's, nor the other way round. */
	expect_one_error(OHEAD ODET "  threshold: 0.5\n", 8, 3,
			 "spec: unknown key \"threshold\"");
}

Test(policy, every_problem_of_a_leak_policy_is_reported_and_it_is_not_loaded)
{
	int ret = load(LHEAD
		       "  scope: {scope: host, pods: [a], comms: [\"\"]}\n"
		       "  threshold: 2\n"
		       "  consecutive: 0.5\n"
		       "  minGrowthMiB: lots\n"
		       "  warmup: 5\n"
		       "  window: 1441m\n");

	if (ret != 7)
		dump();
	cr_assert_eq(ret, 7);
	cr_assert_eq(set.n_docs, 0);
	cr_assert_not_null(find(6, 24, "spec.scope.pods: can never match with scope host"));
	cr_assert_not_null(find(6, 43, "spec.scope.comms[0]: an empty string can never match"));
	cr_assert_not_null(find(7, 14, "spec.threshold: 2 is out of range"));
	cr_assert_not_null(find(8, 16, "spec.consecutive: 0.5 is out of range"));
	cr_assert_not_null(find(9, 17, "spec.minGrowthMiB: expected a number"));
	cr_assert_not_null(find(10, 11, "spec.warmup: \"5\" has no unit"));
	cr_assert_not_null(find(11, 11, "spec.window: 1441m is out of range"));
	for (size_t i = 1; i < diags.n; i++)
		cr_assert(diags.v[i - 1].line <= diags.v[i].line, "sorted top to bottom");
}

Test(policy, leak_and_other_policies_load_side_by_side_and_free_everything)
{
	expect_ok(HEAD "    - action: audit\n---\n" OHEAD ODET "---\n" LHEAD
		  "  scope: {cgroups: [/a, /b], binaries: [/x], comms: [c]}\n---\n"
		  THEAD "    - mode: audit\n");
	cr_assert_eq(set.n_docs, 4);
	cr_assert_null(set.docs[0].leak);
	cr_assert_null(set.docs[1].leak);
	cr_assert_not_null(set.docs[1].oom);
	cr_assert_eq(leak(2)->scope.cgroups.n, 2);
	cr_assert_null(set.docs[3].leak);
	/* reset() frees it all; ASan would see a leak. */
}

/* ---- set-wide checks ------------------------------------------------------------ */

Test(policy_set, the_same_policy_name_twice_is_reported_at_the_second_naming_the_first)
{
	cr_assert_eq(load_as("a.yaml", "# a\n" HEAD "    - action: deny\n"), 0);
	cr_assert_eq(load_as("b.yaml", HEAD "    - action: audit\n"), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 1);
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, "b.yaml");
	cr_assert_eq(diags.v[0].line, 1);
	cr_assert_eq(diags.v[0].column, 1);
	cr_assert_str_eq(diags.v[0].msg,
			 "duplicate SignalPolicy \"p\" (first defined at a.yaml:2)");
}

Test(policy_set, three_policies_with_one_name_give_two_errors_naming_the_first)
{
	for (int i = 0; i < 3; i++)
		cr_assert_eq(load_as(fmt("%d.yaml", i), HEAD "    - action: deny\n"), 0);
	cr_assert_eq(load_as("other.yaml", "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
			     "metadata: {name: q}\nspec: {rules: [{action: audit}]}\n"), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 2);
	cr_assert_str_eq(diags.v[0].file, "1.yaml");
	cr_assert(strstr(diags.v[0].msg, "first defined at 0.yaml:1"));
	cr_assert_str_eq(diags.v[1].file, "2.yaml");
	cr_assert(strstr(diags.v[1].msg, "first defined at 0.yaml:1"));
}

static char *rules_text(const char *name, int n)
{
	size_t cap = 64 + (size_t)n * 32, o;
	char *t = malloc(cap);

	cr_assert_not_null(t);
	o = (size_t)snprintf(t, cap, "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
			     "metadata: {name: %s}\nspec:\n  rules:\n", name);
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(t + o, cap - o, "    - action: audit\n");
	return t;
}

Test(policy_set, up_to_the_rule_limit_is_fine)
{
	char *t = rules_text("a", POLICY_MAX_SIGNAL_RULES);

	cr_assert_eq(load(t), 0);
	free(t);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	cr_assert_eq(set.docs[0].n_rules, POLICY_MAX_SIGNAL_RULES);
}

Test(policy_set, the_first_rule_past_the_limit_across_policies_is_the_error)
{
	char *a = rules_text("a", 60), *b = rules_text("b", 5);

	cr_assert_eq(load_as("a.yaml", a), 0);
	cr_assert_eq(load_as("b.yaml", b), 0);
	free(a);
	free(b);
	cr_assert_eq(policy_set_finish(&set, &diags), 1);
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, "b.yaml");
	cr_assert_eq(diags.v[0].line, 6 + 2);	/* the third rule of b is rule 63 */
	cr_assert_eq(diags.v[0].column, 7);
	cr_assert(strstr(diags.v[0].msg, "too many signal rules: this is rule 63"),
		  "%s", diags.v[0].msg);
}

#define MAX_TRUST_RULES 256	/* policy.c's limit on TrustPolicy rules in a set */

/* A TrustPolicy of n rules, each for one container (so none hides another). */
static char *trust_rules_text(const char *name, int n, int first_id)
{
	size_t cap = 128 + (size_t)n * 64, o;
	char *t = malloc(cap);

	cr_assert_not_null(t);
	o = (size_t)snprintf(t, cap, "apiVersion: vigil.dev/v1alpha1\nkind: TrustPolicy\n"
			     "metadata: {name: %s}\nspec:\n  rules:\n", name);
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(t + o, cap - o, "    - {selector: {containerIds: [%012x]}, "
				      "mode: audit}\n", first_id + i);
	return t;
}

Test(policy_set, up_to_the_trust_rule_limit_is_fine_and_apart_from_signal_rules)
{
	char *t = trust_rules_text("a", MAX_TRUST_RULES, 0), *sig = rules_text("s", 62);

	cr_assert_eq(load_as("a.yaml", t), 0);
	cr_assert_eq(load_as("s.yaml", sig), 0);
	free(t);
	free(sig);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	if (diags.n)
		dump();
	cr_assert_eq(diags.n, 0);
	cr_assert_eq(set.docs[0].n_trust_rules, MAX_TRUST_RULES);
}

Test(policy_set, the_first_trust_rule_past_the_limit_across_policies_is_the_error)
{
	char *a = trust_rules_text("a", 250, 0), *b = trust_rules_text("b", 10, 1000);

	cr_assert_eq(load_as("a.yaml", a), 0);
	cr_assert_eq(load_as("b.yaml", b), 0);
	free(a);
	free(b);
	cr_assert_eq(policy_set_finish(&set, &diags), 1);
	if (diags.n != 1)
		dump();
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, "b.yaml");
	cr_assert_eq(diags.v[0].line, 5 + 7);	/* b's seventh rule is rule 257 */
	cr_assert_eq(diags.v[0].column, 7);
	cr_assert_str_eq(diags.v[0].msg, "too many trust rules: this is rule 257 of all "
			 "TrustPolicy documents, the limit is 256");
}

Test(policy_set, the_same_trust_policy_name_twice_is_reported_at_the_second)
{
	cr_assert_eq(load_as("a.yaml", THEAD "    - {selector: {scope: host}, mode: audit}\n"), 0);
	cr_assert_eq(load_as("b.yaml", "\n" THEAD "    - {selector: {scope: containers}, "
			     "mode: enforce}\n"), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 1);
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, "b.yaml");
	cr_assert_eq(diags.v[0].line, 2);
	cr_assert_str_eq(diags.v[0].msg, "duplicate TrustPolicy \"t\" (first defined at a.yaml:1)");
}

/* Load `text` as one file, run the set-wide checks; no errors allowed. */
static void load_finished(const char *text)
{
	cr_assert_eq(load(text), 0, "input:\n%s", text);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	cr_assert_eq(diags.errors, 0);
}

Test(policy_set, a_trust_rule_after_one_with_the_same_selector_never_applies)
{
	load_finished(THEAD
		      "    - name: first\n"
		      "      selector: {scope: containers, namespaces: [a, b]}\n"
		      "      mode: enforce\n"
		      "    - name: second\n"
		      "      selector: {namespaces: [b, a], scope: containers}\n"
		      "      mode: \"off\"\n");
	expect_one_warning(10, 7, "spec.rules[1]: rule \"second\" never applies: rule \"first\" "
			   "(line 7) comes first and matches every workload this one matches, "
			   "and the first matching rule decides; put the narrower rule first");
	cr_assert_eq(set.n_docs, 1, "a warning does not refuse the policy");
}

Test(policy_set, an_exemption_after_a_broad_rule_never_applies)
{
	/* The mistake the first-match rule invites: the exemption must come first. */
	load_finished(THEAD
		      "    - name: everything\n"
		      "      mode: enforce\n"
		      "    - name: ci\n"
		      "      selector: {namespaces: [\"ci-*\"]}\n"
		      "      mode: \"off\"\n"
		      "    - name: host\n"
		      "      selector: {scope: host}\n"
		      "      mode: audit\n");
	cr_assert_eq(diags.n, 2);
	cr_assert_not_null(find(9, 7, "rule \"ci\" never applies: rule \"everything\" (line 7)"));
	cr_assert_not_null(find(12, 7, "rule \"host\" never applies: rule \"everything\""));
	/* The other way round is the right way. */
	load_finished(THEAD
		      "    - {name: ci, selector: {namespaces: [\"ci-*\"]}, mode: \"off\"}\n"
		      "    - {name: host, selector: {scope: host}, mode: audit}\n"
		      "    - {name: everything, mode: enforce}\n");
	cr_assert_eq(diags.n, 0);
}

Test(policy_set, a_rule_that_covers_more_hides_the_later_narrower_one)
{
	static const char *const hidden[][2] = {
		/* earlier, later */
		{ "{scope: containers}", "{namespaces: [x]}" },		/* cgroup fields: containers only */
		{ "{scope: containers}", "{scope: containers, pods: [web]}" },
		{ "{namespaces: [a, b]}", "{namespaces: [a]}" },
		{ "{namespaces: [a]}", "{namespaces: [a], pods: [p]}" },
		{ "{}", "{scope: host}" },
		{ "{scope: host}", "{scope: host}" },
		{ "{containerIds: [" CID "]}", "{scope: containers, containerIds: [" CID "]}" },
	};
	static const char *const visible[][2] = {
		{ "{scope: host}", "{}" },			/* the later one covers containers too */
		{ "{scope: containers}", "{}" },		/* ... and the host */
		{ "{namespaces: [a]}", "{namespaces: [a, b]}" },
		{ "{namespaces: [a], pods: [p]}", "{namespaces: [a]}" },
		{ "{namespaces: [a]}", "{pods: [a]}" },
		{ "{namespaces: [\"*\"]}", "{namespaces: [a]}" },	/* globs are not compared */
		{ "{namespaces: [a]}", "{scope: containers}" },
		{ "{scope: containers, namespaces: [a]}", "{namespaces: [a]}" },	/* the same */
	};

	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		load_finished(fmt(THEAD "    - {selector: %s, mode: audit}\n"
				  "    - {selector: %s, mode: enforce}\n", hidden[i][0], hidden[i][1]));
		cr_expect_eq(diags.n, 1, "%s then %s: %zu diagnostics", hidden[i][0], hidden[i][1],
			     diags.n);
		cr_expect_not_null(find(8, 7, "rule \"rule-2\" never applies"), "%s then %s",
				   hidden[i][0], hidden[i][1]);
	}
	for (size_t i = 0; i < sizeof(visible) / sizeof(visible[0]); i++) {
		load_finished(fmt(THEAD "    - {selector: %s, mode: audit}\n"
				  "    - {selector: %s, mode: enforce}\n", visible[i][0],
				  visible[i][1]));
		if (i == sizeof(visible) / sizeof(visible[0]) - 1) {
			/* Scope any with cgroup fields is containers only: the same selector. */
			cr_expect_eq(diags.n, 1);
			continue;
		}
		if (diags.n)
			dump();
		cr_expect_eq(diags.n, 0, "%s then %s: %zu diagnostics", visible[i][0],
			     visible[i][1], diags.n);
	}
}

Test(policy_set, a_trust_rule_hidden_by_another_file_names_it)
{
	cr_assert_eq(load_as("10-all.yaml", "apiVersion: vigil.dev/v1alpha1\nkind: TrustPolicy\n"
			     "metadata: {name: all}\nspec: {rules: [{mode: audit}]}\n"), 0);
	cr_assert_eq(load_as("20-host.yaml", THEAD "    - selector: {scope: host}\n"
			     "      mode: enforce\n"), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	cr_assert_eq(diags.n, 1);
	cr_assert(diags.v[0].warning);
	cr_assert_str_eq(diags.v[0].file, "20-host.yaml");
	cr_assert_eq(diags.v[0].line, 7);
	cr_assert(strstr(diags.v[0].msg, "rule \"rule-1\" never applies: rule \"rule-1\" "
			 "(TrustPolicy \"all\", 10-all.yaml:4) comes first"), "%s", diags.v[0].msg);
}

Test(policy_set, signal_rules_never_hide_trust_rules)
{
	cr_assert_eq(load_as("a.yaml", HEAD "    - action: audit\n"), 0);
	cr_assert_eq(load_as("b.yaml", THEAD "    - mode: audit\n"), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	cr_assert_eq(diags.n, 0);
}

Test(policy_set, a_fresh_set_has_nothing_to_report)
{
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	cr_assert_eq(diags.n, 0);
}

/* ---- diagnostics and names ------------------------------------------------------- */

/* ---- OomPolicy, set-wide -------------------------------------------------------- */

/* An OomPolicy called `name` whose scope is `scope` (a flow mapping, or "" for the node). */
static char *oom_doc(const char *name, const char *scope)
{
	return fmt("apiVersion: vigil.dev/v1alpha1\nkind: OomPolicy\nmetadata: {name: %s}\n"
		   "spec: {%s%s%sdetectors: [{usage: {percent: 90}}]}\n", name,
		   *scope ? "scope: " : "", scope, *scope ? ", " : "");
}

Test(policy_set, two_oom_policies_for_the_whole_node_are_a_warning)
{
	cr_assert_eq(load_as("a.yaml", oom_doc("a", "")), 0);
	cr_assert_eq(load_as("b.yaml", fmt("# b\n%s", oom_doc("b", ""))), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	expect_one_warning(2, 1, "OomPolicy \"b\" can act on the same memory as OomPolicy \"a\" "
			   "(a.yaml:1): both cover the whole node; each would pick a victim of its "
			   "own for one shortage, so merge them or make their scopes disjoint");
	cr_assert_str_eq(diags.v[0].file, "b.yaml");
	cr_assert_eq(set.n_docs, 2, "a warning refuses nothing");
}

Test(policy_set, oom_scopes_sharing_an_entry_in_every_common_field_are_a_warning)
{
	cr_assert_eq(load_as("a.yaml", oom_doc("a", "{cgroups: [/x, \"/batch/*\"]}")), 0);
	cr_assert_eq(load_as("b.yaml", oom_doc("b", "{cgroups: [\"/batch/*\"], pods: [p]}")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	expect_one_warning(1, 1, "OomPolicy \"b\" can act on the same memory as OomPolicy \"a\" "
			   "(a.yaml:1): both select cgroups \"/batch/*\"");
}

Test(policy_set, oom_scopes_that_differ_somewhere_or_a_node_policy_are_no_warning)
{
	/* Different cgroups; one field in common with different entries; node and scoped. */
	cr_assert_eq(load_as("a.yaml", oom_doc("a", "{cgroups: [\"/batch/*\"]}")), 0);
	cr_assert_eq(load_as("b.yaml", oom_doc("b", "{cgroups: [\"/web/*\"]}")), 0);
	cr_assert_eq(load_as("c.yaml", oom_doc("c", "{cgroups: [\"/batch/*\"], pods: [x]}")), 0);
	cr_assert_eq(load_as("d.yaml", oom_doc("d", "{cgroups: [\"/web/*\"], pods: [y]}")), 0);
	cr_assert_eq(load_as("e.yaml", oom_doc("e", "")), 0);
	cr_assert_eq(load_as("f.yaml", oom_doc("f", "{namespaces: [n]}")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	/* c is within a (same cgroups, narrower): that one is said. */
	if (diags.n != 2)
		dump();
	cr_assert_eq(diags.n, 2);
	cr_assert_str_eq(diags.v[0].file, "c.yaml");
	cr_assert(strstr(diags.v[0].msg, "as OomPolicy \"a\""), "%s", diags.v[0].msg);
	cr_assert_str_eq(diags.v[1].file, "d.yaml");
	cr_assert(strstr(diags.v[1].msg, "as OomPolicy \"b\""), "%s", diags.v[1].msg);
}

Test(policy_set, up_to_64_oom_policies_and_the_65th_is_the_error)
{
	for (int i = 0; i < POLICY_MAX_OOM_POLICIES; i++)
		cr_assert_eq(load_as(fmt("%02d.yaml", i), oom_doc(fmt("o%d", i),
								fmt("{cgroups: [/c%d]}", i))), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	cr_assert_eq(diags.n, 0);
	cr_assert_eq(load_as("65.yaml", oom_doc("last", "{cgroups: [/last]}")), 0);
	policy_diags_free(&diags);
	cr_assert_eq(policy_set_finish(&set, &diags), 1);
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, "65.yaml");
	cr_assert_eq(diags.v[0].line, 1);
	cr_assert_str_eq(diags.v[0].msg, "too many OomPolicy documents: this is the 65th of the "
			 "set, the limit is 64");
}

Test(policy_set, oom_policy_names_are_unique_per_kind)
{
	cr_assert_eq(load_as("a.yaml", oom_doc("p", "{cgroups: [/a]}")), 0);
	cr_assert_eq(load_as("s.yaml", HEAD "    - action: audit\n"), 0);	/* a SignalPolicy "p" */
	cr_assert_eq(load_as("b.yaml", oom_doc("p", "{cgroups: [/b]}")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 1);
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, "b.yaml");
	cr_assert_str_eq(diags.v[0].msg, "duplicate OomPolicy \"p\" (first defined at a.yaml:1)");
}

/* ---- LeakPolicy, set-wide ------------------------------------------------------- */

/* A LeakPolicy called `name` whose scope is `scope` (a flow mapping, or "" for every process). */
static char *leak_doc(const char *name, const char *scope)
{
	return fmt("apiVersion: vigil.dev/v1alpha1\nkind: LeakPolicy\nmetadata: {name: %s}\n"
		   "spec: {%s%s}\n", name, *scope ? "scope: " : "", scope);
}

Test(policy_set, up_to_64_leak_policies_and_the_65th_is_the_error)
{
	for (int i = 0; i < POLICY_MAX_LEAK_POLICIES; i++)
		cr_assert_eq(load_as(fmt("%02d.yaml", i), leak_doc(fmt("l%d", i),
								 fmt("{comms: [c%d]}", i))), 0);
	/* OomPolicies have a limit of their own. */
	cr_assert_eq(load_as("oom.yaml", oom_doc("o", "")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	cr_assert_eq(diags.n, 0);
	cr_assert_eq(load_as("65.yaml", fmt("# 65\n%s", leak_doc("last", "{comms: [last]}"))), 0);
	policy_diags_free(&diags);
	cr_assert_eq(policy_set_finish(&set, &diags), 1);
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, "65.yaml");
	cr_assert_eq(diags.v[0].line, 2);
	cr_assert_eq(diags.v[0].column, 1);
	cr_assert(!diags.v[0].warning);
	cr_assert_str_eq(diags.v[0].msg, "too many LeakPolicy documents: this is the 65th of the "
			 "set, the limit is 64");
}

Test(policy_set, a_leak_policy_with_the_same_scope_as_an_earlier_one_never_applies)
{
	cr_assert_eq(load_as("a.yaml", leak_doc("a", "{namespaces: [x, y], comms: [java]}")), 0);
	cr_assert_eq(load_as("b.yaml", fmt("# b\n%s", leak_doc("b", "{comms: [java], "
								 "namespaces: [y, x]}"))), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	expect_one_warning(2, 1, "LeakPolicy \"b\" never applies: LeakPolicy \"a\" (a.yaml:1) "
			   "comes first and has the same scope, and the first matching LeakPolicy "
			   "decides; merge them, or put the narrower one first (files load in name "
			   "order)");
	cr_assert_str_eq(diags.v[0].file, "b.yaml");
	cr_assert_eq(set.n_docs, 2, "a warning refuses nothing");
}

Test(policy_set, two_leak_policies_without_a_scope_are_a_warning)
{
	cr_assert_eq(load_as("a.yaml", leak_doc("a", "")), 0);
	cr_assert_eq(load_as("b.yaml", leak_doc("b", "")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	expect_one_warning(1, 1, "LeakPolicy \"b\" never applies: LeakPolicy \"a\" (a.yaml:1) "
			   "comes first and has no scope either, so it covers every process");
}

Test(policy_set, a_leak_policy_after_one_without_a_scope_never_applies)
{
	cr_assert_eq(load_as("00-all.yaml", leak_doc("all", "")), 0);
	cr_assert_eq(load_as("10-batch.yaml", leak_doc("batch", "{namespaces: [batch]}")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	expect_one_warning(1, 1, "LeakPolicy \"batch\" never applies: LeakPolicy \"all\" "
			   "(00-all.yaml:1) comes first and has no scope, so it covers every "
			   "process");
	cr_assert_str_eq(diags.v[0].file, "10-batch.yaml");
}

Test(policy_set, a_leak_policy_within_an_earlier_broader_scope_never_applies)
{
	/* Every field a sets, c sets with no other entry; c adds a field of its own. */
	cr_assert_eq(load_as("a.yaml", leak_doc("a", "{namespaces: [x, y]}")), 0);
	cr_assert_eq(load_as("c.yaml", leak_doc("c", "{namespaces: [x], comms: [java]}")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	expect_one_warning(1, 1, "LeakPolicy \"c\" never applies: LeakPolicy \"a\" (a.yaml:1) "
			   "comes first and covers every process this one's scope matches");
	/* Scope containers covers a selector that needs a container anyway. */
	reset();
	cr_assert_eq(load_as("a.yaml", leak_doc("a", "{scope: containers}")), 0);
	cr_assert_eq(load_as("b.yaml", leak_doc("b", "{podUIDs: [" POD "]}")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	expect_one_warning(1, 1, "LeakPolicy \"b\" never applies: LeakPolicy \"a\"");
	/* {scope: any} is a scope that matches every process. */
	reset();
	cr_assert_eq(load_as("a.yaml", leak_doc("a", "{scope: any}")), 0);
	cr_assert_eq(load_as("b.yaml", leak_doc("b", "")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	expect_one_warning(1, 1, "LeakPolicy \"b\" never applies: LeakPolicy \"a\" (a.yaml:1) "
			   "comes first and covers every process, and");
}

Test(policy_set, leak_policies_that_each_match_something_of_their_own_are_no_warning)
{
	/* Narrower first: the order the first-match rule wants. */
	cr_assert_eq(load_as("a.yaml", leak_doc("a", "{namespaces: [batch], comms: [java]}")), 0);
	cr_assert_eq(load_as("b.yaml", leak_doc("b", "{namespaces: [batch]}")), 0);
	/* Disjoint entries; a field the earlier one sets and this one does not. */
	cr_assert_eq(load_as("c.yaml", leak_doc("c", "{namespaces: [web]}")), 0);
	cr_assert_eq(load_as("d.yaml", leak_doc("d", "{comms: [java]}")), 0);
	/* Scope host against scope containers and a cgroup glob (host processes have cgroups). */
	cr_assert_eq(load_as("e.yaml", leak_doc("e", "{scope: host}")), 0);
	cr_assert_eq(load_as("f.yaml", leak_doc("f", "{scope: containers}")), 0);
	cr_assert_eq(load_as("g.yaml", leak_doc("g", "{cgroups: [\"/system.slice/*\"]}")), 0);
	/* Globs are compared as text, not matched: a glob is not known to cover a path. */
	cr_assert_eq(load_as("h.yaml", leak_doc("h", "{binaries: [\"/opt/*\"]}")), 0);
	cr_assert_eq(load_as("i.yaml", leak_doc("i", "{binaries: [/opt/app]}")), 0);
	/* Every process last. */
	cr_assert_eq(load_as("z.yaml", leak_doc("z", "")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 0);
	if (diags.n)
		dump();
	cr_assert_eq(diags.n, 0);
}

Test(policy_set, leak_policy_names_are_unique_per_kind)
{
	cr_assert_eq(load_as("a.yaml", leak_doc("p", "{comms: [a]}")), 0);
	cr_assert_eq(load_as("o.yaml", oom_doc("p", "")), 0);	/* an OomPolicy "p" */
	cr_assert_eq(load_as("b.yaml", leak_doc("p", "{comms: [b]}")), 0);
	cr_assert_eq(policy_set_finish(&set, &diags), 1);
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, "b.yaml");
	cr_assert_str_eq(diags.v[0].msg, "duplicate LeakPolicy \"p\" (first defined at a.yaml:1)");
}

Test(policy, a_diagnostic_formats_as_file_line_column_message)
{
	struct policy_diag dg = { .file = "a.yaml", .line = 3, .column = 9, .msg = "bad" };
	char buf[PATH_MAX + 512];

	policy_diag_format(&dg, buf, sizeof(buf));
	cr_assert_str_eq(buf, "a.yaml:3:9: bad");
	dg.warning = true;
	policy_diag_format(&dg, buf, sizeof(buf));
	cr_assert_str_eq(buf, "a.yaml:3:9: warning: bad");
	dg.line = 0;
	policy_diag_format(&dg, buf, sizeof(buf));
	cr_assert_str_eq(buf, "a.yaml: warning: bad");
	dg.warning = false;
	policy_diag_format(&dg, buf, sizeof(buf));
	cr_assert_str_eq(buf, "a.yaml: bad");
	policy_diag_format(&dg, buf, 4);
	cr_assert_str_eq(buf, "a.y");
}

Test(policy, policy_diag_add_counts_errors_but_not_warnings)
{
	cr_assert_eq(policy_diag_add(&diags, "f", 1, 2, false, "e %d", 1), 0);
	cr_assert_eq(policy_diag_add(&diags, "f", 0, 0, true, "w"), 0);
	cr_assert_eq(diags.n, 2);
	cr_assert_eq(diags.errors, 1);
	cr_assert_str_eq(diags.v[0].msg, "e 1");
}

Test(policy, names_of_kinds_actions_and_relations)
{
	cr_assert_str_eq(policy_kind_name(POLICY_KIND_SIGNAL), "SignalPolicy");
	cr_assert_str_eq(policy_kind_name(POLICY_KIND_TRUST), "TrustPolicy");
	cr_assert_str_eq(policy_kind_name(POLICY_KIND_OOM), "OomPolicy");
	cr_assert_str_eq(policy_kind_name(POLICY_KIND_LEAK), "LeakPolicy");
	cr_assert_str_eq(policy_kind_name(0), "");
	cr_assert_str_eq(oom_detector_name(OOM_DET_USAGE), "usage");
	cr_assert_str_eq(oom_detector_name(OOM_DET_PSI), "psi");
	cr_assert_str_eq(oom_detector_name(OOM_DET_SWAP), "swap");
	cr_assert_str_eq(oom_detector_name(0), "");
	cr_assert_str_eq(oom_strategy_name(OOM_VICTIM_LARGEST_RSS), "largest_rss");
	cr_assert_str_eq(oom_strategy_name(OOM_VICTIM_FASTEST_GROWTH), "fastest_growth");
	cr_assert_str_eq(oom_strategy_name(0), "");
	cr_assert_str_eq(oom_kill_scope_name(OOM_KILL_PROCESS), "process");
	cr_assert_str_eq(oom_kill_scope_name(OOM_KILL_PROCESS_GROUP), "process_group");
	cr_assert_str_eq(oom_kill_scope_name(OOM_KILL_CGROUP), "cgroup");
	cr_assert_str_eq(oom_kill_scope_name(0), "");
	cr_assert_str_eq(trust_mode_name(TRUST_MODE_OFF), "off");
	cr_assert_str_eq(trust_mode_name(TRUST_MODE_AUDIT), "audit");
	cr_assert_str_eq(trust_mode_name(TRUST_MODE_ENFORCE), "enforce");
	cr_assert_str_eq(trust_mode_name(7), "");
	cr_assert_str_eq(sig_action_name(SIG_ACTION_AUDIT), "audit");
	cr_assert_str_eq(sig_action_name(SIG_ACTION_DENY), "deny");
	cr_assert_str_eq(sig_action_name(SIG_ACTION_KILL_SENDER), "kill-sender");
	cr_assert_str_eq(sig_relation_name(SIG_REL_NONE), "");
	cr_assert_str_eq(sig_relation_name(SIG_REL_SAME_CONTAINER), "same-container");
	cr_assert_str_eq(sig_relation_name(SIG_REL_OTHER_CONTAINER), "other-container");
	cr_assert_str_eq(sig_relation_name(SIG_REL_HOST), "host");
	cr_assert_str_eq(policy_dir_state_name(POLICY_DIR_OK), "ok");
	cr_assert_str_eq(policy_dir_state_name(POLICY_DIR_MISSING), "missing");
	cr_assert_str_eq(policy_dir_state_name(POLICY_DIR_UNREADABLE), "unreadable");
	cr_assert_str_eq(policy_dir_state_name(POLICY_DIR_EMPTY), "empty");
	cr_assert_str_eq(policy_dir_state_name(POLICY_DIR_NOT_DIR), "not a directory");
}

/* ---- the schema table against the parser --------------------------------------- */

/*
 * A tiny document tree, emitted as flow YAML, so that any key path from the
 * table can be grafted onto a minimal valid policy.
 */
struct tnode {
	char key[64];			/* "" for list items */
	char value[96];			/* scalars */
	bool list, scalar;
	struct tnode *kid[16];
	int n;
};

static struct tnode *tn_new(const char *key)
{
	struct tnode *t = calloc(1, sizeof(*t));

	cr_assert_not_null(t);
	snprintf(t->key, sizeof(t->key), "%s", key);
	return t;
}

static void tn_free(struct tnode *t)
{
	for (int i = 0; i < t->n; i++)
		tn_free(t->kid[i]);
	free(t);
}

static struct tnode *tn_child(struct tnode *t, const char *key)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->kid[i]->key, key))
			return t->kid[i];
	cr_assert_lt(t->n, 16);
	t->kid[t->n] = tn_new(key);
	return t->kid[t->n++];
}

static struct tnode *tn_item(struct tnode *t)
{
	t->list = true;
	if (t->n)
		return t->kid[0];
	t->kid[0] = tn_new("");
	t->n = 1;
	return t->kid[0];
}

static void tn_set(struct tnode *t, const char *value)
{
	t->scalar = true;
	t->n = 0;
	snprintf(t->value, sizeof(t->value), "%s", value);
}

static void tn_emit(const struct tnode *t, FILE *f)
{
	if (t->scalar) {
		fprintf(f, "\"%s\"", t->value);
		return;
	}
	fputc(t->list ? '[' : '{', f);
	for (int i = 0; i < t->n; i++) {
		if (i)
			fputs(", ", f);
		if (!t->list)
			fprintf(f, "%s: ", t->kid[i]->key);
		tn_emit(t->kid[i], f);
	}
	fputc(t->list ? ']' : '}', f);
}

static char *tn_text(const struct tnode *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	tn_emit(t, f);
	fputc('\n', f);
	fclose(f);
	return buf;
}

/* The kinds the schema has, for rows of kind "*". */
static const char *const kinds[] = { "SignalPolicy", "TrustPolicy", "OomPolicy", "LeakPolicy" };
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/*
 * apiVersion, kind, metadata.name and one rule: the least a policy of the
 * kind needs (a deny rule; an enforce rule; one usage detector; for a
 * LeakPolicy an empty spec).
 */
static struct tnode *base_tree(const char *kind)
{
	struct tnode *root = tn_new("");
	bool trust = !strcmp(kind, "TrustPolicy");
	struct tnode *rule;

	tn_set(tn_child(root, "apiVersion"), POLICY_API_VERSION);
	tn_set(tn_child(root, "kind"), kind);
	tn_set(tn_child(tn_child(root, "metadata"), "name"), "base");
	if (!strcmp(kind, "LeakPolicy")) {
		tn_child(root, "spec");
		return root;
	}
	if (!strcmp(kind, "OomPolicy")) {
		rule = tn_item(tn_child(tn_child(root, "spec"), "detectors"));
		tn_set(tn_child(tn_child(rule, "usage"), "percent"), "90");
		return root;
	}
	rule = tn_item(tn_child(tn_child(root, "spec"), "rules"));
	tn_set(tn_child(rule, trust ? "mode" : "action"), trust ? "enforce" : "deny");
	return root;
}

/* The child `key` of t, or NULL (tn_child() would add it). */
static struct tnode *tn_find(struct tnode *t, const char *key)
{
	for (int i = 0; t && i < t->n; i++)
		if (!strcmp(t->kid[i]->key, key))
			return t->kid[i];
	return NULL;
}

static void tn_drop(struct tnode *t, const char *key)
{
	for (int i = 0; t && i < t->n; i++)
		if (!strcmp(t->kid[i]->key, key)) {
			tn_free(t->kid[i]);
			t->kid[i] = t->kid[--t->n];
			return;
		}
}

/*
 * An OomPolicy's keys depend on each other more than rules' do: one kind
 * per detector, avg10 or stall with window, handoff and kill: cgroup need
 * a scope, an empty scope or victim selector is an error or a warning, a
 * pre-kill hook needs its command.
 * Complete a tree that a graft left half-said, so that each key is tested
 * alone.  `path` is what was grafted.
 */
static void oom_complete(struct tnode *root, const char *path)
{
	struct tnode *spec = tn_find(root, "spec"), *det, *psi, *t;
	static const char *const sels[] = { "prefer", "avoid" };

	if (!spec)
		return;
	det = tn_find(spec, "detectors");
	det = det && det->list && det->n ? det->kid[0] : NULL;
	/* The base detector is a usage one: make room for the grafted kind. */
	if (det && (!strncmp(path, "spec.detectors[].psi", 20) ||
		    !strncmp(path, "spec.detectors[].swap", 21)))
		tn_drop(det, "usage");
	if (det && !det->n)
		tn_set(tn_child(tn_child(det, "usage"), "percent"), "90");
	psi = det ? tn_find(det, "psi") : NULL;
	if (psi && !psi->scalar) {
		if (tn_find(psi, "stall") && !tn_find(psi, "window"))
			tn_set(tn_child(psi, "window"), "1s");
		else if (tn_find(psi, "window") && !tn_find(psi, "stall"))
			tn_set(tn_child(psi, "stall"), "100ms");
		else if (!tn_find(psi, "avg10") && !tn_find(psi, "stall"))
			tn_set(tn_child(psi, "avg10"), "40");
	}
	if (det && (t = tn_find(det, "swap")) && !t->scalar && !tn_find(t, "percent"))
		tn_set(tn_child(t, "percent"), "50");
	if ((t = tn_find(spec, "preKillHook")) && !t->scalar && !tn_find(t, "command"))
		tn_set(tn_child(t, "command"), "/usr/local/bin/dump");
	if (tn_find(spec, "handoffDeadline"))
		tn_set(tn_child(spec, "handoff"), "true");
	t = tn_find(spec, "kill");
	if (tn_find(spec, "handoff") || (t && t->scalar && !strcmp(t->value, "cgroup"))) {
		t = tn_child(spec, "scope");
		if (!t->scalar && !t->n)
			tn_set(tn_item(tn_child(t, "cgroups")), "/batch/*");
	}
	t = tn_find(spec, "scope");
	if (t && !t->scalar && !t->n)
		tn_set(tn_item(tn_child(t, "cgroups")), "/batch/*");
	for (size_t i = 0; i < 2; i++) {
		t = tn_find(tn_find(spec, "victim"), sels[i]);
		if (t && !t->scalar && !t->n)
			tn_set(tn_item(tn_child(t, "comms")), "sh");
	}
}

/* A LeakPolicy's scope, grafted alone, is empty, which is an error: give it a field. */
static void leak_complete(struct tnode *root)
{
	struct tnode *t = tn_find(tn_find(root, "spec"), "scope");

	if (t && !t->scalar && !t->n)
		tn_set(tn_item(tn_child(t, "comms")), "java");
}

/* A value the loader accepts for a string, signal, number or duration key; a new key needs one here. */
static const char *sample(const char *key)
{
	static const char *const samples[][2] = {
		{ "name", "valid-name" }, { "*", "v" }, { "containerIds", CID },
		{ "podUIDs", POD }, { "namespaces", "prod-*" }, { "pods", "web-*" },
		{ "cgroups", "/kubepods/*" }, { "binaries", "/usr/bin/*" }, { "comms", "sh" },
		{ "signals", "SIGTERM" }, { "percent", "90" }, { "avg10", "12.5" },
		{ "stall", "150ms" }, { "window", "1s" }, { "duration", "2s" },
		{ "postActionDelay", "10s" }, { "command", "/usr/local/bin/dump" },
		{ "timeout", "500ms" }, { "handoffDeadline", "2s" }, { "threshold", "0.7" },
		{ "consecutive", "3" }, { "minGrowthPercent", "10" }, { "minGrowthMiB", "16" },
		{ "warmup", "30s" },
	};

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		if (!strcmp(samples[i][0], key))
			return samples[i][0 + 1];
	return NULL;
}

/* The row for `path` in a policy of `kind`: the kind's own, or one every kind has. */
static const struct policy_key_doc *row(const char *kind, const char *path)
{
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(k[i].path, path) && (!strcmp(k[i].kind, kind) || !strcmp(k[i].kind, "*")))
			return &k[i];
	return NULL;
}

/* Graft `path` onto the tree of a `kind` policy, with `value` (or a sample) at its end. */
static void graft(struct tnode *root, const char *kind, const char *path, const char *value)
{
	char buf[256], *seg, *save = NULL, last[64] = "";
	const struct policy_key_doc *k = row(kind, path);
	struct tnode *t = root;

	cr_assert_not_null(k, "%s is not in the %s schema", path, kind);
	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, ".", &save); seg; seg = strtok_r(NULL, ".", &save)) {
		size_t n = strlen(seg);
		bool item = n > 2 && !strcmp(seg + n - 2, "[]");

		if (item)
			seg[n - 2] = 0;
		snprintf(last, sizeof(last), "%s", seg);
		t = tn_child(t, !strcmp(seg, "*") ? "app" : seg);
		if (item)
			t = tn_item(t);
	}
	if (!strcmp(k->type, "list")) {
		char item_path[256];
		const struct policy_key_doc *it;

		snprintf(item_path, sizeof(item_path), "%s[]", path);
		it = row(kind, item_path);
		cr_assert_not_null(it, "list %s has no %s row", path, item_path);
		if (strcmp(it->type, "object"))
			graft(root, kind, item_path, NULL);
		else
			tn_item(t);
	} else if (!strcmp(k->type, "bool")) {
		tn_set(t, value ? value : "true");
	} else if (!strcmp(k->type, "enum")) {
		char first[64];

		snprintf(first, sizeof(first), "%.*s", (int)strcspn(k->values, "|"), k->values);
		tn_set(t, value ? value : first);
	} else if (strcmp(k->type, "object")) {
		const char *v = value ? value : sample(last);

		cr_assert_not_null(v, "no sample value for %s (%s): add one to sample()", path,
				   k->type);
		tn_set(t, v);
	}
	if (!strcmp(kind, "OomPolicy"))
		oom_complete(root, path);
	if (!strcmp(kind, "LeakPolicy"))
		leak_complete(root);
}

static void expect_tree_ok(struct tnode *root, const char *why)
{
	char *text = tn_text(root);
	int ret = load(text);

	if (ret || diags.n)
		dump();
	cr_expect_eq(ret, 0, "%s: the loader refused:\n%s", why, text);
	cr_expect_eq(diags.n, 0, "%s: diagnostics (above) for:\n%s", why, text);
	cr_expect_eq(set.n_docs, 1, "%s: not loaded:\n%s", why, text);
	free(text);
}

Test(policy_schema, rows_are_well_formed)
{
	static const char *const types[] = {
		"string", "bool", "integer", "enum", "list", "object", "signal", "number",
		"duration",
	};
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k);

	cr_assert_gt(n, 20);
	for (size_t i = 0; i < n; i++) {
		bool type_ok = false;
		size_t plen = strlen(k[i].path);

		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			type_ok |= !strcmp(k[i].type, types[t]);
		cr_expect(type_ok, "%s: type %s", k[i].path, k[i].type);
		cr_expect(!strcmp(k[i].kind, "*") || !strcmp(k[i].kind, "SignalPolicy") ||
			  !strcmp(k[i].kind, "TrustPolicy") || !strcmp(k[i].kind, "OomPolicy") ||
			  !strcmp(k[i].kind, "LeakPolicy"), "%s: kind %s", k[i].path, k[i].kind);
		cr_expect_eq(!strcmp(k[i].type, "enum"), k[i].values[0] != 0,
			     "%s: values only for enums", k[i].path);
		if (plen > 2 && !strcmp(k[i].path + plen - 2, "[]")) {
			char list[256];

			cr_expect(!k[i].required, "%s: an item row is never required", k[i].path);
			snprintf(list, sizeof(list), "%.*s", (int)plen - 2, k[i].path);
			cr_expect(row(k[i].kind, list) && !strcmp(row(k[i].kind, list)->type, "list"),
				  "%s: no list row %s", k[i].path, list);
		} else if (strrchr(k[i].path, '.')) {
			char parent[256];

			snprintf(parent, sizeof(parent), "%.*s",
				 (int)(strrchr(k[i].path, '.') - k[i].path), k[i].path);
			cr_expect(row(k[i].kind, parent) &&
				  !strcmp(row(k[i].kind, parent)->type, "object"),
				  "%s: parent %s is not an object row", k[i].path, parent);
		}
		for (size_t j = 0; j < i; j++)
			cr_expect(strcmp(k[i].path, k[j].path) ||
				  (strcmp(k[i].kind, k[j].kind) && strcmp(k[i].kind, "*") &&
				   strcmp(k[j].kind, "*")),
				  "%s (%s) listed twice", k[i].path, k[i].kind);
	}
}

/* Row k belongs in a policy of kind kinds[j]. */
static bool in_kind(const struct policy_key_doc *k, size_t j)
{
	return !strcmp(k->kind, "*") || !strcmp(k->kind, kinds[j]);
}

Test(policy_schema, every_path_in_the_table_is_accepted_by_the_loader)
{
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k), checked = 0;

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < N_KINDS; j++) {
			struct tnode *root;
			char why[320];

			if (!in_kind(&k[i], j))
				continue;
			root = base_tree(kinds[j]);
			snprintf(why, sizeof(why), "%s: %s", kinds[j], k[i].path);
			graft(root, kinds[j], k[i].path, strcmp(k[i].path, "kind") ? NULL : kinds[j]);
			expect_tree_ok(root, why);
			tn_free(root);
			checked++;
		}
	}
	cr_assert_gt(checked, n);
}

Test(policy_schema, every_value_of_every_enum_is_accepted)
{
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k), checked = 0;

	for (size_t i = 0; i < n; i++) {
		const char *v = k[i].values;

		if (strcmp(k[i].type, "enum"))
			continue;
		while (*v) {
			char value[64], why[320];
			size_t len = strcspn(v, "|");

			snprintf(value, sizeof(value), "%.*s", (int)len, v);
			for (size_t j = 0; j < N_KINDS; j++) {
				struct tnode *root;

				/* A kind's value is its own base tree; other rows, every kind's. */
				if (!strcmp(k[i].path, "kind") ? strcmp(value, kinds[j]) : !in_kind(&k[i], j))
					continue;
				root = base_tree(kinds[j]);
				snprintf(why, sizeof(why), "%s: %s: %s", kinds[j], k[i].path, value);
				graft(root, kinds[j], k[i].path, value);
				expect_tree_ok(root, why);
				tn_free(root);
				checked++;
			}
			v += len + (v[len] == '|');
		}
	}
	cr_assert_geq(checked, 22);
}

Test(policy_schema, a_key_not_in_the_table_is_rejected_in_every_mapping)
{
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k), checked = 0;
	char any[256];

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < N_KINDS; j++) {
			struct tnode *root;
			char path[256], *text;

			if (strcmp(k[i].type, "object") || !in_kind(&k[i], j))
				continue;
			snprintf(any, sizeof(any), "%s.*", k[i].path);
			if (row(kinds[j], any))
				continue;	/* labels and annotations take any key */
			root = base_tree(kinds[j]);
			graft(root, kinds[j], k[i].path, NULL);
			snprintf(path, sizeof(path), "%s.bogusKey", k[i].path);
			/* graft() refuses paths outside the table; add the leaf by hand. */
			{
				char buf[256], *seg, *save = NULL;
				struct tnode *t = root;

				snprintf(buf, sizeof(buf), "%s", path);
				for (seg = strtok_r(buf, ".", &save); seg;
				     seg = strtok_r(NULL, ".", &save)) {
					size_t sl = strlen(seg);
					bool item = sl > 2 && !strcmp(seg + sl - 2, "[]");

					if (item)
						seg[sl - 2] = 0;
					t = tn_child(t, seg);
					if (item)
						t = tn_item(t);
				}
				tn_set(t, "x");
			}
			text = tn_text(root);
			cr_expect_gt(load(text), 0, "%s: %s accepted:\n%s", kinds[j], path, text);
			cr_expect_not_null(strstr(diags.n ? diags.v[0].msg : "",
						  "unknown key \"bogusKey\""), "%s: %s: %s", kinds[j],
					   path, diags.n ? diags.v[0].msg : "(no diagnostic)");
			free(text);
			tn_free(root);
			checked++;
		}
	}
	cr_assert_geq(checked, 9);
	expect_one_error("bogusKey: 1\n" HEAD "    - action: deny\n", 1, 1,
			 "unknown key \"bogusKey\"");
}

static bool tn_remove(struct tnode *t, const char *path)
{
	char buf[256], *dot;
	struct tnode *c = t;

	snprintf(buf, sizeof(buf), "%s", path);
	dot = strrchr(buf, '.');
	if (dot) {
		*dot = 0;
		for (char *seg = strtok(buf, "."); seg; seg = strtok(NULL, ".")) {
			size_t sl = strlen(seg);
			bool item = sl > 2 && !strcmp(seg + sl - 2, "[]");

			if (item)
				seg[sl - 2] = 0;
			c = tn_child(c, seg);
			if (item)
				c = tn_item(c);
		}
		path = strrchr(path, '.') + 1;
	}
	for (int i = 0; i < c->n; i++) {
		if (!strcmp(c->kid[i]->key, path)) {
			tn_free(c->kid[i]);
			c->kid[i] = c->kid[--c->n];
			return true;
		}
	}
	return false;
}

/* `path` (dotted, "[]" for the first item) is in the tree. */
static bool tn_has(struct tnode *t, const char *path)
{
	char buf[256], *seg, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, ".", &save); seg && t; seg = strtok_r(NULL, ".", &save)) {
		size_t sl = strlen(seg);
		bool item = sl > 2 && !strcmp(seg + sl - 2, "[]");

		if (item)
			seg[sl - 2] = 0;
		t = tn_find(t, seg);
		if (item)
			t = t && t->list && t->n ? t->kid[0] : NULL;
	}
	return t != NULL;
}

Test(policy_schema, every_required_key_left_out_is_reported_missing)
{
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k), checked = 0;

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < N_KINDS; j++) {
			struct tnode *root;
			char *text, want[128];

			if (!k[i].required || !in_kind(&k[i], j))
				continue;
			root = base_tree(kinds[j]);
			/* Required in an optional parent (preKillHook.command): add the parent. */
			if (!tn_has(root, k[i].path) && strrchr(k[i].path, '.')) {
				char parent[256];

				snprintf(parent, sizeof(parent), "%.*s",
					 (int)(strrchr(k[i].path, '.') - k[i].path), k[i].path);
				graft(root, kinds[j], parent, NULL);
			}
			cr_assert(tn_remove(root, k[i].path), "%s: %s is required but not in the "
				  "base tree", kinds[j], k[i].path);
			text = tn_text(root);
			snprintf(want, sizeof(want), "missing required key \"%s\"",
				 strrchr(k[i].path, '.') ? strrchr(k[i].path, '.') + 1 : k[i].path);
			cr_expect_gt(load(text), 0, "%s without %s:\n%s", kinds[j], k[i].path, text);
			cr_expect(diags.n && strstr(diags.v[0].msg, want), "%s without %s: %s",
				  kinds[j], k[i].path, diags.n ? diags.v[0].msg : "(nothing)");
			free(text);
			tn_free(root);
			checked++;
		}
	}
	cr_assert_geq(checked, 14);
}

/* ---- files and directories --------------------------------------------------------- */

static char tmpdir[64];

static void mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vigil-test-policy-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static const char *in_tmp(const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", tmpdir, name);
	return p;
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(in_tmp(name), "w");

	cr_assert_not_null(f, "%s: %s", in_tmp(name), strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void rm_tmpdir(void)
{
	char cmd[128];

	reset();
	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_expect_eq(system(cmd), 0);
	tmpdir[0] = 0;
}

TestSuite(policy_dir, .init = mk_tmpdir, .fini = rm_tmpdir);

static char *doc_named(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\n"
		 "metadata: {name: %s}\nspec: {rules: [{action: audit}]}\n", name);
	return buf;
}

Test(policy, policy_file_names_the_loader_reads)
{
	static const char *const ok[] = { "a.yaml", "a.yml", "10-x.yaml", "x.y.yaml" };
	static const char *const skip[] = {
		".a.yaml", "#a.yaml#", "a.yaml~", "a.yaml.swp", "a.json", "yaml", ".yaml", ".yml",
		"a.YAML", "a.yaml.bak", "",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_expect(policy_file_name_ok(ok[i]), "%s", ok[i]);
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		cr_expect(!policy_file_name_ok(skip[i]), "%s", skip[i]);
}

Test(policy_dir, a_directory_is_read_in_strcmp_order_skipping_other_names)
{
	char *paths[] = { tmpdir };

	put("b.yml", doc_named("bee"));
	put("a.yaml", doc_named("ay"));
	put("B.yaml", doc_named("big-bee"));
	put(".hidden.yaml", "not: [valid");
	put("c.yaml~", "not: [valid");
	put("#c.yaml#", "not: [valid");
	put("notes.txt", "not: [valid");
	cr_assert_eq(mkdir(in_tmp("dir.yaml"), 0755), 0);
	cr_assert_eq(symlink(in_tmp("a.yaml"), in_tmp("link.yaml")), 0);
	cr_assert_eq(symlink(in_tmp("gone"), in_tmp("dangling.yaml")), 0);
	put("link-target-elsewhere", doc_named("via-link"));
	cr_assert_eq(unlink(in_tmp("link.yaml")), 0);
	cr_assert_eq(symlink(in_tmp("link-target-elsewhere"), in_tmp("link.yaml")), 0);

	cr_assert_eq(policy_load_paths(&set, paths, 1, &diags), 0);
	if (diags.n)
		dump();
	cr_assert_eq(diags.n, 0);
	cr_assert_eq(set.n_files, 4);
	cr_assert_eq(set.n_docs, 4);
	cr_assert_str_eq(set.docs[0].name, "big-bee");
	cr_assert_str_eq(set.docs[1].name, "ay");
	cr_assert_str_eq(set.docs[2].name, "bee");
	cr_assert_str_eq(set.docs[3].name, "via-link");
	cr_assert_str_eq(set.docs[1].file, in_tmp("a.yaml"));
	cr_assert_eq(policy_dir_state(tmpdir), POLICY_DIR_OK);
}

Test(policy_dir, an_explicit_file_is_read_whatever_its_name)
{
	char *paths[] = { (char *)in_tmp("policy.txt") };

	put("policy.txt", doc_named("plain"));
	cr_assert_eq(policy_load_paths(&set, paths, 1, &diags), 0);
	cr_assert_eq(set.n_docs, 1);
	cr_assert_str_eq(set.docs[0].file, in_tmp("policy.txt"));
}

Test(policy_dir, several_paths_are_checked_as_one_set)
{
	char dir2[PATH_MAX], *paths[2];

	put("one.yaml", doc_named("same"));
	snprintf(dir2, sizeof(dir2), "%s", in_tmp("sub"));
	cr_assert_eq(mkdir(dir2, 0755), 0);
	put("sub/two.yaml", doc_named("same"));
	paths[0] = tmpdir;
	paths[1] = dir2;
	cr_assert_eq(policy_load_paths(&set, paths, 2, &diags), 1);
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, in_tmp("sub/two.yaml"));
	cr_assert(strstr(diags.v[0].msg, fmt("duplicate SignalPolicy \"same\" (first defined "
					     "at %s:1)", in_tmp("one.yaml"))),
		  "%s", diags.v[0].msg);
}

Test(policy_dir, a_missing_path_is_not_an_error_for_the_loader)
{
	char *paths[] = { (char *)in_tmp("nope") };

	cr_assert_eq(policy_load_paths(&set, paths, 1, &diags), 0);
	cr_assert_eq(diags.n, 0);
	cr_assert_eq(set.n_files, 0);
}

Test(policy_dir, a_path_that_cannot_be_read_is_a_positionless_error)
{
	char long_name[PATH_MAX + 16], *paths[] = { long_name };

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	cr_assert_eq(policy_load_paths(&set, paths, 1, &diags), 1);
	cr_assert_eq(diags.v[0].line, 0);
	cr_assert_str_eq(diags.v[0].msg, "file name too long");
}

Test(policy_dir, errors_in_a_file_carry_the_files_path)
{
	char *paths[] = { tmpdir };

	put("bad.yaml", HEAD "    - action: nope\n");
	cr_assert_eq(policy_load_paths(&set, paths, 1, &diags), 1);
	cr_assert_str_eq(diags.v[0].file, in_tmp("bad.yaml"));
	cr_assert_eq(diags.v[0].line, 7);
	cr_assert_eq(diags.v[0].column, 15);
}

Test(policy_dir, a_file_over_the_size_limit_is_refused)
{
	char *paths[] = { (char *)in_tmp("big.yaml") };

	put("big.yaml", "");
	cr_assert_eq(truncate(in_tmp("big.yaml"), POLICY_MAX_FILE_BYTES + 1), 0);
	cr_assert_eq(policy_load_paths(&set, paths, 1, &diags), 1);
	cr_assert_eq(diags.v[0].line, 0);
	cr_assert(strstr(diags.v[0].msg, "file is too large"), "%s", diags.v[0].msg);
	cr_assert_eq(set.n_files, 0);
}

Test(policy_dir, a_file_exactly_at_the_size_limit_is_read)
{
	char *paths[] = { (char *)in_tmp("edge.yaml") };
	FILE *f;

	put("edge.yaml", doc_named("edge"));
	f = fopen(in_tmp("edge.yaml"), "a");
	cr_assert_not_null(f);
	for (long n = (long)strlen(doc_named("edge")); n < (long)POLICY_MAX_FILE_BYTES; n++)
		fputc(n % 64 ? ' ' : '\n', f);
	fclose(f);
	cr_assert_eq(policy_load_paths(&set, paths, 1, &diags), 0);
	cr_assert_eq(set.n_docs, 1);
}

/* /proc files claim size 0 and then have content: the same as one being written. */
Test(policy_dir, a_file_whose_length_disagrees_with_its_stat_counts_as_changed_while_read)
{
	char *paths[] = { "/proc/self/status" };

	cr_assert_eq(policy_load_paths(&set, paths, 1, &diags), 1);
	cr_assert_eq(diags.v[0].line, 0);
	cr_assert_str_eq(diags.v[0].msg, "file changed while being read");
	cr_assert_eq(set.n_files, 0);
}

Test(policy_dir, directory_states)
{
	cr_assert_eq(policy_dir_state(in_tmp("missing")), POLICY_DIR_MISSING);
	cr_assert_eq(policy_dir_state(tmpdir), POLICY_DIR_EMPTY);
	put("README.md", "# not a policy\n");
	cr_assert_eq(mkdir(in_tmp("sub.yaml"), 0755), 0);
	cr_assert_eq(policy_dir_state(tmpdir), POLICY_DIR_EMPTY);
	cr_assert_eq(policy_dir_state(in_tmp("README.md")), POLICY_DIR_NOT_DIR);
	cr_assert_eq(policy_dir_state(in_tmp("README.md/x")), POLICY_DIR_MISSING);
	put("p.yaml", doc_named("p"));
	cr_assert_eq(policy_dir_state(tmpdir), POLICY_DIR_OK);
}

/* ---- vigil policy check --------------------------------------------------------------- */

static char *out_buf, *err_buf;

static int run_cli(int argc, char **argv)
{
	size_t ol = 0, el = 0;
	FILE *out, *err;
	int rc;

	free(out_buf);
	free(err_buf);
	out = open_memstream(&out_buf, &ol);
	err = open_memstream(&err_buf, &el);
	cr_assert(out && err);
	rc = policy_cli_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
	return rc;
}

static void cli_fini(void)
{
	rm_tmpdir();
	free(out_buf);
	free(err_buf);
	out_buf = err_buf = NULL;
}

TestSuite(policy_check, .init = mk_tmpdir, .fini = cli_fini);

#define RUN(...) \
	run_cli(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *), (char *[]){ __VA_ARGS__ })

Test(policy_check, a_valid_set_prints_a_summary_on_stdout_and_exits_0)
{
	put("a.yaml", doc_named("a"));
	put("b.yaml", "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\nmetadata: {name: b}\n"
	    "spec: {rules: [{action: audit}, {action: deny}]}\n---\n"
	    "apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\nmetadata: {name: c}\n"
	    "spec: {rules: [{action: audit}, {action: deny}]}\n");
	cr_assert_eq(RUN("policy", "check", tmpdir), 0);
	cr_assert_str_eq(out_buf, "policy check: 3 documents (3 SignalPolicy, 5 rules) in 2 files: ok\n");
	cr_assert_str_eq(err_buf, "");
}

Test(policy_check, the_summary_counts_each_kind_with_its_rules)
{
	put("a.yaml", doc_named("a"));
	put("t.yaml", "apiVersion: vigil.dev/v1alpha1\nkind: TrustPolicy\nmetadata: {name: t}\n"
	    "spec: {rules: [{selector: {scope: host}, mode: enforce}, {mode: audit}]}\n");
	cr_assert_eq(RUN("policy", "check", tmpdir), 0);
	cr_assert_str_eq(out_buf, "policy check: 2 documents (1 SignalPolicy, 1 rule; "
			 "1 TrustPolicy, 2 rules) in 2 files: ok\n");
	cr_assert_eq(RUN("policy", "check", (char *)in_tmp("t.yaml")), 0);
	cr_assert_str_eq(out_buf, "policy check: 1 document (1 TrustPolicy, 2 rules) in 1 file: "
			 "ok\n");
}

Test(policy_check, a_hidden_trust_rule_is_a_warning_of_the_check)
{
	put("t.yaml", "apiVersion: vigil.dev/v1alpha1\nkind: TrustPolicy\nmetadata: {name: t}\n"
	    "spec: {rules: [{mode: audit}, {selector: {scope: host}, mode: enforce}]}\n");
	cr_assert_eq(RUN("policy", "check", (char *)in_tmp("t.yaml")), 0);
	cr_assert(strstr(err_buf, ":4:31: warning: spec.rules[1]: rule \"rule-2\" never applies"),
		  "%s", err_buf);
	cr_assert(strstr(out_buf, "(1 TrustPolicy, 2 rules) in 1 file: ok, 1 warning\n"), "%s",
		  out_buf);
}

Test(policy_check, one_of_each_is_singular)
{
	put("a.yaml", doc_named("a"));
	cr_assert_eq(RUN("policy", "check", (char *)in_tmp("a.yaml")), 0);
	cr_assert_str_eq(out_buf, "policy check: 1 document (1 SignalPolicy, 1 rule) in 1 file: ok\n");
}

Test(policy_check, problems_go_to_stderr_as_file_line_column_and_exit_1)
{
	put("bad.yaml", HEAD "    - action: nope\n      fallback: audit\n");
	cr_assert_eq(RUN("policy", "check", (char *)in_tmp("bad.yaml")), 1);
	cr_assert_str_eq(out_buf, "");
	cr_assert_str_eq(err_buf, fmt("%s:7:15: spec.rules[0].action: expected one of audit, "
				      "deny, kill-sender, got \"nope\"\n"
				      "policy check: 1 error in 1 file\n", in_tmp("bad.yaml")));
}

Test(policy_check, warnings_are_printed_but_do_not_fail_the_check)
{
	put("w.yaml", HEAD "    - signals: [HUP, 1]\n      action: audit\n");
	cr_assert_eq(RUN("policy", "check", (char *)in_tmp("w.yaml")), 0);
	cr_assert(strstr(err_buf, ":7:22: warning: spec.rules[0].signals[1]: signal 1 is already"),
		  "%s", err_buf);
	cr_assert(strstr(out_buf, "in 1 file: ok, 1 warning\n"), "%s", out_buf);
}

Test(policy_check, a_path_that_does_not_exist_is_an_error)
{
	const char *missing = in_tmp("nope.yaml");

	put("a.yaml", doc_named("a"));
	cr_assert_eq(RUN("policy", "check", (char *)missing, (char *)in_tmp("a.yaml")), 1);
	cr_assert_str_eq(err_buf, fmt("%s: no such file or directory\n"
				      "policy check: 1 error in 1 file\n", missing));
}

Test(policy_check, a_directory_without_policy_files_is_an_error)
{
	put("notes.txt", "hello\n");
	cr_assert_eq(RUN("policy", "check", tmpdir), 1);
	cr_assert(strstr(err_buf, fmt("%s: no policy files (*.yaml, *.yml) in %s\n", tmpdir,
				      tmpdir)), "%s", err_buf);
}

Test(policy_check, double_dash_ends_the_options)
{
	cr_assert_eq(RUN("policy", "check", "--", "-x.yaml"), 1);
	cr_assert(strstr(err_buf, "-x.yaml: no such file or directory"), "%s", err_buf);
}

Test(policy_check, no_path_checks_the_default_directory)
{
	struct stat st;

	if (!stat(VIGIL_POLICY_DIR_DEFAULT, &st))
		cr_skip_test("%s exists on this machine", VIGIL_POLICY_DIR_DEFAULT);
	cr_assert_eq(RUN("policy", "check"), 1);
	cr_assert(strstr(err_buf, VIGIL_POLICY_DIR_DEFAULT ": no such file or directory"), "%s",
		  err_buf);
}

Test(policy_check, help_prints_usage_with_examples_and_exits_0)
{
	cr_assert_eq(RUN("policy", "--help"), 0);
	cr_assert(strstr(out_buf, "Usage: vigil policy check"), "%s", out_buf);
	cr_assert(strstr(out_buf, "Examples:"));
	cr_assert_eq(RUN("policy", "check", "-h"), 0);
	cr_assert(strstr(out_buf, "Examples:"));
	cr_assert_str_eq(err_buf, "");
}

Test(policy_check, usage_errors_exit_2)
{
	cr_assert_eq(RUN("policy"), 2);
	cr_assert(strstr(err_buf, "no command given"), "%s", err_buf);
	cr_assert_eq(RUN("policy", "lint"), 2);
	cr_assert(strstr(err_buf, "vigil: policy: unknown command 'lint'"), "%s", err_buf);
	cr_assert(strstr(err_buf, "Usage: vigil policy check"));
	cr_assert_eq(RUN("policy", "check", "--strict", tmpdir), 2);
	cr_assert(strstr(err_buf, "unknown option '--strict'"), "%s", err_buf);
	cr_assert_str_eq(out_buf, "");
}

Test(policy_check, an_oom_policy_gets_a_line_of_its_own_and_counts_in_the_summary)
{
	put("a.yaml", doc_named("a"));
	put("o.yaml", "apiVersion: vigil.dev/v1alpha1\nkind: OomPolicy\nmetadata: {name: batch}\n"
	    "spec:\n  scope: {cgroups: [\"/batch/*\", /jobs/a, /jobs/b, /jobs/c]}\n"
	    "  detectors: [{usage: {percent: 90}}, {psi: {type: full, stall: 150ms, window: 1s}}]\n"
	    "  duration: 2s\n"
	    "  victim: {oomScoreAdj: false, avoid: {scope: host, comms: [sshd]}}\n"
	    "  preKillHook: {command: dump}\n"
	    "---\n"
	    "apiVersion: vigil.dev/v1alpha1\nkind: OomPolicy\nmetadata: {name: node}\n"
	    "spec: {detectors: [{swap: {percent: 12.5, of: node}}, {psi: {avg10: 40}}],"
	    " victim: {strategy: fastest_growth, prefer: {binaries: [/opt/x]}}, dryRun: true}\n"
	    "---\n"
	    "apiVersion: vigil.dev/v1alpha1\nkind: OomPolicy\nmetadata: {name: legacy}\n"
	    "spec: {scope: {podUIDs: [" POD "]}, handoff: true, handoffDeadline: 1500ms,"
	    " kill: process_group}\n");
	cr_assert_eq(RUN("policy", "check", tmpdir), 0);
	cr_assert_str_eq(err_buf, "");
	cr_assert_str_eq(out_buf,
			 "OomPolicy batch: cgroups=/batch/*,/jobs/a,/jobs/b,+1 more; usage 90% of "
			 "limit or psi full stall 150ms per 1s for 2s; victim largest_rss ignoring "
			 "oom_score_adj, avoid (scope=host comms=sshd); kill process after a "
			 "pre-kill hook (5s)\n"
			 "OomPolicy node: the whole node; swap 12.5% of node or psi some avg10 40%; "
			 "victim fastest_growth, prefer (binaries=/opt/x); kill process; dry run: "
			 "reports, kills nothing\n"
			 "OomPolicy legacy: podUIDs=" POD "; no detectors; victim largest_rss; kill "
			 "process_group; handoff, deadline 1500ms\n"
			 "policy check: 4 documents (1 SignalPolicy, 1 rule; 3 OomPolicy) in 2 "
			 "files: ok\n");
}

Test(policy_check, a_set_with_errors_prints_no_oom_lines)
{
	put("o.yaml", "apiVersion: vigil.dev/v1alpha1\nkind: OomPolicy\nmetadata: {name: ok}\n"
	    "spec: {detectors: [{usage: {percent: 90}}]}\n---\n"
	    "apiVersion: vigil.dev/v1alpha1\nkind: OomPolicy\nmetadata: {name: bad}\n"
	    "spec: {detectors: [{usage: {percent: 190}}]}\n");
	cr_assert_eq(RUN("policy", "check", (char *)in_tmp("o.yaml")), 1);
	cr_assert_str_eq(out_buf, "");
	cr_assert_str_eq(err_buf, fmt("%s:9:38: spec.detectors[0].usage.percent: 190 is out of "
				      "range: a percent above 0 and at most 100\n"
				      "policy check: 1 error in 1 file\n", in_tmp("o.yaml")));
}

Test(policy_check, a_leak_policy_gets_a_line_of_its_own_and_counts_in_the_summary)
{
	put("a.yaml", doc_named("a"));
	put("l.yaml", "apiVersion: vigil.dev/v1alpha1\nkind: LeakPolicy\nmetadata: {name: batch}\n"
	    "spec:\n  scope: {namespaces: [batch], comms: [a, b, c, d]}\n"
	    "  threshold: 0.7\n  consecutive: 3\n  minGrowthPercent: 12.5\n  minGrowthMiB: 16\n"
	    "  warmup: 30s\n  window: 1500ms\n"
	    "---\n"
	    "apiVersion: vigil.dev/v1alpha1\nkind: LeakPolicy\nmetadata: {name: one}\n"
	    "spec: {scope: {scope: host}, consecutive: 1, minGrowthPercent: 0}\n"
	    "---\n"
	    "apiVersion: vigil.dev/v1alpha1\nkind: LeakPolicy\nmetadata: {name: rest}\n"
	    "spec: {}\n");
	cr_assert_eq(RUN("policy", "check", tmpdir), 0);
	cr_assert_str_eq(err_buf, "");
	cr_assert_str_eq(out_buf,
			 "LeakPolicy batch: namespaces=batch comms=a,b,c,+1 more; score at least "
			 "0.7 in 3 evaluations in a row, 12.5% and 16 MiB over the baseline; "
			 "baseline after 30s, window 1500ms\n"
			 "LeakPolicy one: scope=host; score at least 0.8 in 1 evaluation, 0% and "
			 "64 MiB over the baseline; baseline after 1m, window 10m\n"
			 "LeakPolicy rest: every process; score at least 0.8 in 6 evaluations in a "
			 "row, 20% and 64 MiB over the baseline; baseline after 1m, window 10m\n"
			 "policy check: 4 documents (1 SignalPolicy, 1 rule; 3 LeakPolicy) in 2 "
			 "files: ok\n");
}

Test(policy_check, a_hidden_leak_policy_is_a_warning_of_the_check)
{
	put("a.yaml", "apiVersion: vigil.dev/v1alpha1\nkind: LeakPolicy\nmetadata: {name: all}\n"
	    "spec: {}\n");
	put("b.yaml", "apiVersion: vigil.dev/v1alpha1\nkind: LeakPolicy\nmetadata: {name: web}\n"
	    "spec: {scope: {comms: [nginx]}}\n");
	cr_assert_eq(RUN("policy", "check", tmpdir), 0);
	cr_assert(strstr(err_buf, "b.yaml:1:1: warning: LeakPolicy \"web\" never applies"), "%s",
		  err_buf);
	cr_assert(strstr(out_buf, "(2 LeakPolicy) in 2 files: ok, 1 warning\n"), "%s", out_buf);
}
