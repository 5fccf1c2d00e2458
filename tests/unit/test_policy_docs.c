/*
 * test_policy_docs.c - policies/README.md and the example policies must keep
 * up with the loader.
 *
 * The key table under "## Key reference" in policies/README.md is compared
 * with policy_schema() both ways: a key the loader accepts but the README
 * does not list fails, and so does a documented key the loader no longer
 * knows, or one whose kind, type, values or required flag differ.  A
 * whole policy (SignalPolicy, TrustPolicy, OomPolicy or LeakPolicy) shown
 * in a ```yaml block of the README must load.  Then every *.yaml in
 * policies/ is loaded the way the agent loads a policy directory: the
 * examples must load without a single diagnostic, and together they must
 * use every selector key, relation, scope, action and trust mode the
 * schema offers, every TrustPolicy key and every OomPolicy and LeakPolicy
 * key outside their selectors, so a key added to the grammar fails here
 * until an example shows it.
 *
 * Unit tests run from the repository root; VIGIL_SRCDIR, when set, names
 * the root instead.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static void src_path(char *buf, size_t len, const char *rel)
{
	const char *root = getenv("VIGIL_SRCDIR");

	snprintf(buf, len, "%s%s%s", root ? root : "", root ? "/" : "", rel);
}

/* ---- the README's key table ------------------------------------------------ */

struct row {
	char *path, *kind, *type, *values, *required, *desc;
	int line;
};

static char *readme;
static struct row *rows;
static size_t n_rows;

static char *trim(char *s)
{
	char *e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && e[-1] == ' ')
		*--e = 0;
	return s;
}

/*
 * "| `path` | kind | type | values | yes | description |": the first five
 * cells split on '|'; the description is the rest, so it may hold a '|'.
 */
static void parse_row(char *line, int lineno)
{
	char *cell[6], *p = line + 1;
	struct row *r;
	size_t plen;

	for (int i = 0; i < 5; i++) {
		char *bar = strchr(p, '|');

		cr_assert_not_null(bar, "policies/README.md:%d: a key row needs 6 cells: %s",
				   lineno, line);
		*bar = 0;
		cell[i] = trim(p);
		p = bar + 1;
	}
	plen = strlen(p);
	cr_assert(plen > 0 && p[plen - 1] == '|',
		  "policies/README.md:%d: the row does not end with '|'", lineno);
	p[plen - 1] = 0;
	cell[5] = trim(p);

	plen = strlen(cell[0]);
	cr_assert(plen > 2 && cell[0][0] == '`' && cell[0][plen - 1] == '`',
		  "policies/README.md:%d: the key cell must be `path`, is '%s'", lineno, cell[0]);
	cell[0][plen - 1] = 0;
	cell[0]++;

	rows = realloc(rows, (n_rows + 1) * sizeof(*rows));
	cr_assert_not_null(rows);
	r = &rows[n_rows++];
	r->path = cell[0];
	r->kind = cell[1];
	r->type = cell[2];
	r->values = cell[3];
	r->required = cell[4];
	r->desc = cell[5];
	r->line = lineno;
}

static void load_readme(void)
{
	char path[4096], *p, *next;
	bool in_section = false, in_fence = false;
	size_t len = 0;
	int lineno = 0;
	FILE *f;

	src_path(path, sizeof(path), "policies/README.md");
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s (run from the repository root or set VIGIL_SRCDIR)", path,
			   strerror(errno));
	cr_assert_gt(getdelim(&readme, &len, 0, f), 0, "%s is empty", path);
	fclose(f);

	for (p = readme; p && *p; p = next) {
		next = strchr(p, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		if (!strncmp(p, "```", 3))
			in_fence = !in_fence;
		if (in_fence)
			continue;
		if (!strncmp(p, "## ", 3) || !strncmp(p, "# ", 2)) {
			in_section = !strcmp(p, "## Key reference");
			continue;
		}
		if (in_section && !strncmp(p, "| `", 3))
			parse_row(p, lineno);
	}
}

static void unload_readme(void)
{
	free(rows);
	free(readme);
}

TestSuite(policy_readme, .init = load_readme, .fini = unload_readme);

/* "a|b|c" (schema) as the README writes it: "a, b, c". */
static void values_as_doc(const char *v, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (; *v && o + 3 < len; v++) {
		if (*v == '|') {
			buf[o++] = ',';
			buf[o++] = ' ';
		} else {
			buf[o++] = *v;
		}
	}
	buf[o] = 0;
}

static const struct row *find_row(const char *kind, const char *path)
{
	for (size_t i = 0; i < n_rows; i++)
		if (!strcmp(rows[i].path, path) && !strcmp(rows[i].kind, kind))
			return &rows[i];
	return NULL;
}

Test(policy_readme, has_a_key_reference_table)
{
	cr_assert_gt(n_rows, 10, "policies/README.md: %zu rows under \"## Key reference\"; the "
		     "table is missing or not in the form | `path` | kind | type | values | "
		     "required | description |", n_rows);
}

Test(policy_readme, every_schema_key_has_a_row_with_the_same_kind_type_values_and_required)
{
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k);

	cr_assert_gt(n, 10, "policy_schema() lists only %zu keys", n);
	for (size_t i = 0; i < n; i++) {
		const struct row *r = find_row(k[i].kind, k[i].path);
		char values[512];

		if (!r) {
			cr_expect_fail("policies/README.md has no row \"| `%s` | %s | ...\" under "
				       "## Key reference", k[i].path, k[i].kind);
			continue;
		}
		values_as_doc(k[i].values, values, sizeof(values));
		cr_expect_str_eq(r->type, k[i].type,
				 "policies/README.md:%d: `%s` has type \"%s\", the loader says \"%s\"",
				 r->line, k[i].path, r->type, k[i].type);
		cr_expect_str_eq(r->values, values,
				 "policies/README.md:%d: `%s` has values \"%s\", the loader says \"%s\"",
				 r->line, k[i].path, r->values, values);
		cr_expect_str_eq(r->required, k[i].required ? "yes" : "no",
				 "policies/README.md:%d: `%s` has required \"%s\", the loader says \"%s\"",
				 r->line, k[i].path, r->required, k[i].required ? "yes" : "no");
		cr_expect_neq(r->desc[0], 0, "policies/README.md:%d: `%s` has no description",
			      r->line, k[i].path);
	}
}

Test(policy_readme, every_documented_key_is_in_the_schema_once)
{
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k);

	for (size_t r = 0; r < n_rows; r++) {
		bool found = false;

		for (size_t i = 0; i < n && !found; i++)
			found = !strcmp(rows[r].path, k[i].path) && !strcmp(rows[r].kind, k[i].kind);
		cr_expect(found, "policies/README.md:%d: `%s` (%s) is documented but the loader "
			  "does not accept it", rows[r].line, rows[r].path, rows[r].kind);
		for (size_t s = 0; s < r; s++)
			cr_expect(strcmp(rows[r].path, rows[s].path) ||
				  strcmp(rows[r].kind, rows[s].kind),
				  "policies/README.md:%d: `%s` (%s) is listed twice (line %d)",
				  rows[r].line, rows[r].path, rows[r].kind, rows[s].line);
	}
}

/*
 * A ```yaml block that is a whole policy (a kind and rules) must load
 * cleanly; the other blocks are fragments (an envelope, a selector, a list
 * of rules).  The README text was split into lines by load_readme(), so
 * the blocks are read again from the file.
 */
Test(policy_readme, whole_policies_in_yaml_blocks_load_cleanly)
{
	char path[4096], *text = NULL, *p, *end;
	size_t len = 0, whole = 0, trust = 0, oom = 0, leak = 0;
	FILE *f;

	src_path(path, sizeof(path), "policies/README.md");
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_gt(getdelim(&text, &len, 0, f), 0);
	fclose(f);
	for (p = text; (p = strstr(p, "\n```yaml\n")); p = end + 4) {
		struct policy_set s = { 0 };
		struct policy_diags d = { 0 };
		int first = 1;	/* the block's first line in the README */

		p += strlen("\n```yaml\n");
		end = strstr(p, "\n```");
		cr_assert_not_null(end, "policies/README.md: unterminated ```yaml block");
		for (const char *c = text; c < p; c++)
			first += *c == '\n';
		if (memmem(p, (size_t)(end - p), "kind: OomPolicy", 15) &&
		    memmem(p, (size_t)(end - p), "spec:", 5)) {
			oom++;
		} else if (memmem(p, (size_t)(end - p), "kind: LeakPolicy", 16) &&
			   memmem(p, (size_t)(end - p), "spec:", 5)) {
			leak++;
		} else if ((!memmem(p, (size_t)(end - p), "kind: SignalPolicy", 18) &&
			    !memmem(p, (size_t)(end - p), "kind: TrustPolicy", 17)) ||
			   !memmem(p, (size_t)(end - p), "rules:", 6)) {
			continue;
		}
		whole++;
		trust += memmem(p, (size_t)(end - p), "kind: TrustPolicy", 17) != NULL;
		cr_expect_geq(policy_load_buffer(&s, "README.md", p, (size_t)(end - p) + 1, &d), 0);
		for (size_t i = 0; i < d.n; i++)
			cr_expect_fail("policies/README.md:%d: in a ```yaml example: %s",
				       first + d.v[i].line - 1, d.v[i].msg);
		policy_set_free(&s);
		policy_diags_free(&d);
	}
	free(text);
	cr_expect_gt(whole - trust - oom - leak, 0, "no whole SignalPolicy in a ```yaml block of "
		     "policies/README.md");
	cr_expect_gt(trust, 0, "no whole TrustPolicy in a ```yaml block of policies/README.md");
	cr_expect_gt(oom, 0, "no whole OomPolicy in a ```yaml block of policies/README.md");
	cr_expect_gt(leak, 0, "no whole LeakPolicy in a ```yaml block of policies/README.md");
}

/* ---- the example policies -------------------------------------------------- */

static struct policy_set set;
static struct policy_diags diags;

static void load_examples(void)
{
	char dir[4096];
	char *paths[] = { dir };
	int rc;

	src_path(dir, sizeof(dir), "policies");
	cr_assert_eq(policy_dir_state(dir), POLICY_DIR_OK, "%s: %s", dir,
		     policy_dir_state_name(policy_dir_state(dir)));
	rc = policy_load_paths(&set, paths, 1, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		char msg[PATH_MAX + 512];

		policy_diag_format(&diags.v[i], msg, sizeof(msg));
		cr_log_error("%s", msg);
	}
	cr_assert_geq(rc, 0, "policy_load_paths: %s", strerror(-rc));
}

static void unload_examples(void)
{
	policy_set_free(&set);
	policy_diags_free(&diags);
}

TestSuite(policy_examples, .init = load_examples, .fini = unload_examples);

Test(policy_examples, load_without_a_single_diagnostic)
{
	cr_expect_eq(diags.n, 0, "%zu diagnostics (%zu errors) from policies/ (logged above)",
		     diags.n, diags.errors);
	cr_expect_eq(diags.errors, 0);
}

/* Every *.yaml / *.yml in policies/ was read: a file the loader skips is not an example. */
Test(policy_examples, every_yaml_file_is_read)
{
	char dir[4096];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	src_path(dir, sizeof(dir), "policies");
	d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if ((len > 5 && !strcmp(e->d_name + len - 5, ".yaml")) ||
		    (len > 4 && !strcmp(e->d_name + len - 4, ".yml"))) {
			cr_expect(policy_file_name_ok(e->d_name),
				  "policies/%s is an example the loader would skip", e->d_name);
			n++;
		}
	}
	closedir(d);
	cr_assert_geq(n, 3, "only %zu example policies", n);
	cr_expect_eq(set.n_files, n, "%zu files read, %zu *.yaml/*.yml in policies/",
		     set.n_files, n);
	for (size_t i = 0; i < set.n_docs; i++) {
		if (set.docs[i].kind == POLICY_KIND_OOM) {
			cr_expect_not_null(set.docs[i].oom, "%s: %s has no spec", set.docs[i].file,
					   set.docs[i].name);
			continue;
		}
		if (set.docs[i].kind == POLICY_KIND_LEAK) {
			cr_expect_not_null(set.docs[i].leak, "%s: %s has no spec", set.docs[i].file,
					   set.docs[i].name);
			continue;
		}
		cr_expect_gt(set.docs[i].n_rules + set.docs[i].n_trust_rules, 0, "%s: %s has no rules",
			     set.docs[i].file, set.docs[i].name);
	}
}

/*
 * What a selector key from the schema looks like in a loaded rule.  A key in
 * the schema's sender/target selector that is missing here fails the test:
 * add it here and use it in an example.
 */
struct sel_key {
	const char *name;
	bool (*used)(const struct signal_rule *r, const struct selector *s);
};

static bool used_scope(const struct signal_rule *r, const struct selector *s)
{
	return s->scope != SEL_SCOPE_ANY;
}
#define LIST_KEY(fn, field) \
	static bool fn(const struct signal_rule *r, const struct selector *s) \
	{ \
		return s->field.set && s->field.n > 0; \
	}
LIST_KEY(used_container_ids, container_ids)
LIST_KEY(used_pod_uids, pod_uids)
LIST_KEY(used_namespaces, namespaces)
LIST_KEY(used_pods, pods)
LIST_KEY(used_cgroups, cgroups)
LIST_KEY(used_binaries, binaries)
LIST_KEY(used_comms, comms)
static bool used_relation(const struct signal_rule *r, const struct selector *s)
{
	return r->relation != SIG_REL_NONE;
}

static const struct sel_key sel_keys[] = {
	{ "scope", used_scope },
	{ "containerIds", used_container_ids },
	{ "podUIDs", used_pod_uids },
	{ "namespaces", used_namespaces },
	{ "pods", used_pods },
	{ "cgroups", used_cgroups },
	{ "binaries", used_binaries },
	{ "comms", used_comms },
	{ "relation", used_relation },
};

/* Rules of every loaded SignalPolicy, in load order. */
#define EACH_RULE(r) \
	for (size_t d_ = 0; d_ < set.n_docs; d_++) \
		if (set.docs[d_].kind == POLICY_KIND_SIGNAL) \
			for (const struct signal_rule *r = set.docs[d_].rules; \
			     r < set.docs[d_].rules + set.docs[d_].n_rules; r++)

static bool key_used(const struct sel_key *k, bool target)
{
	EACH_RULE(r) {
		if (k->used(r, target ? &r->target : &r->sender))
			return true;
	}
	return false;
}

static const struct sel_key *sel_key(const char *name)
{
	for (size_t i = 0; i < sizeof(sel_keys) / sizeof(sel_keys[0]); i++)
		if (!strcmp(sel_keys[i].name, name))
			return &sel_keys[i];
	return NULL;
}

Test(policy_examples, use_every_selector_key_of_the_schema)
{
	static const char *const ends[] = { "spec.rules[].sender.", "spec.rules[].target." };
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k), checked = 0;
	const char *done[64];

	cr_assert_gt(set.n_docs, 0, "no example documents loaded");
	for (size_t i = 0; i < n; i++) {
		for (int e = 0; e < 2; e++) {
			size_t plen = strlen(ends[e]);
			const char *name = k[i].path + plen;
			const struct sel_key *sk;
			bool seen = false;

			if (strcmp(k[i].kind, "SignalPolicy") || strncmp(k[i].path, ends[e], plen))
				continue;
			/* "binaries", not its items "binaries[]". */
			if (strpbrk(name, "[."))
				continue;
			for (size_t j = 0; j < checked; j++)
				seen |= !strcmp(done[j], name);
			if (seen)
				continue;
			sk = sel_key(name);
			if (!sk) {
				cr_expect_fail("schema key %s is new to this test: add it to "
					       "sel_keys[] and use it in an example policy",
					       k[i].path);
				continue;
			}
			cr_assert_lt(checked, sizeof(done) / sizeof(done[0]));
			done[checked++] = name;
			/* Every key is valid at both ends; one use at either is enough. */
			cr_expect(key_used(sk, false) || key_used(sk, true),
				  "no example policy uses the selector key %s (in sender or "
				  "target)", name);
		}
	}
	cr_expect_geq(checked, 9, "only %zu selector keys in the schema", checked);
}

Test(policy_examples, use_every_action_relation_scope_and_fallback)
{
	static const enum sig_action actions[] = { SIG_ACTION_AUDIT, SIG_ACTION_DENY,
						    SIG_ACTION_KILL_SENDER };
	static const enum sig_relation rels[] = { SIG_REL_SAME_CONTAINER,
						  SIG_REL_OTHER_CONTAINER, SIG_REL_HOST };
	static const enum sel_scope scopes[] = { SEL_SCOPE_HOST, SEL_SCOPE_CONTAINERS };
	static const enum sig_action fallbacks[] = { SIG_ACTION_AUDIT, SIG_ACTION_KILL_SENDER };

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		bool seen = false;

		EACH_RULE(r) seen |= r->action == actions[i];
		cr_expect(seen, "no example policy uses action: %s", sig_action_name(actions[i]));
	}
	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
		bool seen = false;

		EACH_RULE(r) seen |= r->relation == rels[i];
		cr_expect(seen, "no example policy uses relation: %s", sig_relation_name(rels[i]));
	}
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		bool sender = false, target = false;

		EACH_RULE(r) {
			sender |= r->sender.scope == scopes[i];
			target |= r->target.scope == scopes[i];
		}
		cr_expect(sender || target, "no example policy uses scope value %d", scopes[i]);
	}
	for (size_t i = 0; i < sizeof(fallbacks) / sizeof(fallbacks[0]); i++) {
		bool seen = false;

		EACH_RULE(r) seen |= r->action == SIG_ACTION_DENY && r->fallback == fallbacks[i];
		cr_expect(seen, "no deny rule in the examples has fallback %s",
			  sig_action_name(fallbacks[i]));
	}
}

/* Signals by name, with and without SIG, by number and as SIGRTMIN+N; and "all". */
Test(policy_examples, use_every_way_of_naming_signals)
{
	bool all = false, some = false, rt = false;

	EACH_RULE(r) {
		all |= r->signals == ~0ull;
		some |= r->signals != ~0ull;
		rt |= (r->signals & ~0ull << 32) && r->signals != ~0ull;
	}
	cr_expect(all, "no example rule leaves signals out (= every signal)");
	cr_expect(some, "no example rule lists signals");
	cr_expect(rt, "no example rule names a real-time signal");
}

Test(policy_examples, include_a_file_with_several_documents)
{
	bool multi = false;

	for (size_t i = 1; i < set.n_docs; i++)
		multi |= !strcmp(set.docs[i].file, set.docs[i - 1].file);
	cr_expect(multi, "no example file holds more than one document (---)");
}

/* ---- TrustPolicy examples ------------------------------------------------------ */

/* Rules of every loaded TrustPolicy, in load order. */
#define EACH_TRUST_RULE(r) \
	for (size_t d_ = 0; d_ < set.n_docs; d_++) \
		if (set.docs[d_].kind == POLICY_KIND_TRUST) \
			for (const struct trust_rule *r = set.docs[d_].trust_rules; \
			     r < set.docs[d_].trust_rules + set.docs[d_].n_trust_rules; r++)

/* What a TrustPolicy rule key looks like once loaded; "selector.X" are selector keys. */
struct trust_key {
	const char *path;	/* below spec.rules[] */
	bool (*used)(const struct trust_rule *r);
};

static bool t_named(const struct trust_rule *r)
{
	return strncmp(r->name, "rule-", 5) != 0;
}
static bool t_selector(const struct trust_rule *r)
{
	return r->selector.scope != SEL_SCOPE_ANY || selector_has_cgroup_fields(&r->selector);
}
static bool t_scope(const struct trust_rule *r)
{
	return r->selector.scope != SEL_SCOPE_ANY;
}
static bool t_mode(const struct trust_rule *r)
{
	return true;	/* required */
}
static bool t_libraries(const struct trust_rule *r)
{
	return !r->libraries;	/* only false shows the key was read */
}
static bool t_modules(const struct trust_rule *r)
{
	return r->modules;
}
#define T_LIST(fn, field) \
	static bool fn(const struct trust_rule *r) \
	{ \
		return r->selector.field.set && r->selector.field.n > 0; \
	}
T_LIST(t_container_ids, container_ids)
T_LIST(t_pod_uids, pod_uids)
T_LIST(t_namespaces, namespaces)
T_LIST(t_pods, pods)
T_LIST(t_cgroups, cgroups)

static const struct trust_key trust_keys[] = {
	{ "name", t_named },
	{ "selector", t_selector },
	{ "selector.scope", t_scope },
	{ "selector.containerIds", t_container_ids },
	{ "selector.podUIDs", t_pod_uids },
	{ "selector.namespaces", t_namespaces },
	{ "selector.pods", t_pods },
	{ "selector.cgroups", t_cgroups },
	{ "mode", t_mode },
	{ "libraries", t_libraries },
	{ "modules", t_modules },
};

Test(policy_examples, use_every_trust_policy_key_of_the_schema)
{
	static const char prefix[] = "spec.rules[].";
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k), checked = 0;

	for (size_t i = 0; i < n; i++) {
		const char *name = k[i].path + strlen(prefix);
		const struct trust_key *tk = NULL;
		bool seen = false;

		if (strcmp(k[i].kind, "TrustPolicy") || strncmp(k[i].path, prefix, strlen(prefix)) ||
		    strchr(name, '['))
			continue;
		for (size_t j = 0; j < sizeof(trust_keys) / sizeof(trust_keys[0]); j++)
			if (!strcmp(trust_keys[j].path, name))
				tk = &trust_keys[j];
		if (!tk) {
			cr_expect_fail("TrustPolicy key %s is new to this test: add it to "
				       "trust_keys[] and use it in an example policy", k[i].path);
			continue;
		}
		checked++;
		EACH_TRUST_RULE(r) seen |= tk->used(r);
		cr_expect(seen, "no example TrustPolicy uses %s%s", prefix, name);
	}
	cr_expect_geq(checked, 11, "only %zu TrustPolicy rule keys in the schema", checked);
}

Test(policy_examples, use_every_trust_mode_and_scope)
{
	static const enum trust_mode modes[] = { TRUST_MODE_OFF, TRUST_MODE_AUDIT,
						 TRUST_MODE_ENFORCE };
	static const enum sel_scope scopes[] = { SEL_SCOPE_HOST, SEL_SCOPE_CONTAINERS };
	size_t docs = 0;

	for (size_t i = 0; i < set.n_docs; i++)
		docs += set.docs[i].kind == POLICY_KIND_TRUST;
	cr_assert_geq(docs, 2, "only %zu example TrustPolicy documents", docs);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		bool seen = false;

		EACH_TRUST_RULE(r) seen |= r->mode == modes[i];
		cr_expect(seen, "no example TrustPolicy uses mode: %s", trust_mode_name(modes[i]));
	}
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		bool seen = false;

		EACH_TRUST_RULE(r) seen |= r->selector.scope == scopes[i];
		cr_expect(seen, "no example TrustPolicy uses scope value %d", scopes[i]);
	}
}

/* ---- OomPolicy examples -------------------------------------------------------- */

#define EACH_OOM(o) \
	for (size_t d_ = 0; d_ < set.n_docs; d_++) \
		for (const struct oom_policy *o = set.docs[d_].kind == POLICY_KIND_OOM ? \
						  set.docs[d_].oom : NULL; o; o = NULL)

/* Some detector of o satisfies `cond` (about `d`). */
#define ANY_DET(o, d, cond) \
	({ \
		bool any_ = false; \
		for (size_t j_ = 0; j_ < (o)->n_detectors; j_++) { \
			const struct oom_detector *d = &(o)->detectors[j_]; \
			any_ |= (cond); \
		} \
		any_; \
	})

/* What an OomPolicy key looks like once loaded (a value other than its default). */
struct oom_key {
	const char *path;	/* below spec. */
	bool (*used)(const struct oom_policy *o);
};

#define OOM_KEY(fn, expr) \
	static bool fn(const struct oom_policy *o) \
	{ \
		return (expr); \
	}
OOM_KEY(o_scope, !o->node)
OOM_KEY(o_scope_cgroups, o->scope.cgroups.n > 0)
OOM_KEY(o_detectors, o->n_detectors > 0)
OOM_KEY(o_usage, ANY_DET(o, d, d->kind == OOM_DET_USAGE))
OOM_KEY(o_usage_of, ANY_DET(o, d, d->kind == OOM_DET_USAGE && d->of == OOM_OF_NODE) ||
	ANY_DET(o, d, d->kind == OOM_DET_SWAP && d->of == OOM_OF_NODE))
OOM_KEY(o_psi, ANY_DET(o, d, d->kind == OOM_DET_PSI))
OOM_KEY(o_psi_type, ANY_DET(o, d, d->kind == OOM_DET_PSI && d->psi_type == OOM_PSI_FULL))
OOM_KEY(o_avg10, ANY_DET(o, d, d->kind == OOM_DET_PSI && d->avg10 >= 0))
OOM_KEY(o_stall, ANY_DET(o, d, d->kind == OOM_DET_PSI && d->stall_us > 0 && d->window_us > 0))
OOM_KEY(o_swap, ANY_DET(o, d, d->kind == OOM_DET_SWAP))
OOM_KEY(o_duration, o->duration_ms > 0)
OOM_KEY(o_victim, o->strategy != OOM_VICTIM_LARGEST_RSS || !o->oom_score_adj ||
	o->has_prefer || o->has_avoid)
OOM_KEY(o_strategy, o->strategy == OOM_VICTIM_FASTEST_GROWTH)
OOM_KEY(o_score_adj, !o->oom_score_adj)
OOM_KEY(o_prefer, o->has_prefer)
OOM_KEY(o_avoid, o->has_avoid)
OOM_KEY(o_kill, o->kill != OOM_KILL_PROCESS)
OOM_KEY(o_dry_run, o->dry_run)
OOM_KEY(o_post_delay, o->post_action_delay_ms != 5000)
OOM_KEY(o_hook, o->hook[0] != 0)
OOM_KEY(o_hook_timeout, o->hook[0] && o->hook_timeout_ms != 5000)
OOM_KEY(o_handoff, o->handoff)
OOM_KEY(o_deadline, o->handoff && o->handoff_deadline_ms != 1000)

static const struct oom_key oom_keys[] = {
	{ "scope", o_scope },
	{ "scope.cgroups", o_scope_cgroups },
	{ "detectors", o_detectors },
	{ "detectors[].usage", o_usage },
	{ "detectors[].usage.percent", o_usage },
	{ "detectors[].usage.of", o_usage_of },
	{ "detectors[].psi", o_psi },
	{ "detectors[].psi.type", o_psi_type },
	{ "detectors[].psi.avg10", o_avg10 },
	{ "detectors[].psi.stall", o_stall },
	{ "detectors[].psi.window", o_stall },
	{ "detectors[].swap", o_swap },
	{ "detectors[].swap.percent", o_swap },
	{ "detectors[].swap.of", o_usage_of },
	{ "duration", o_duration },
	{ "victim", o_victim },
	{ "victim.strategy", o_strategy },
	{ "victim.oomScoreAdj", o_score_adj },
	{ "victim.prefer", o_prefer },
	{ "victim.avoid", o_avoid },
	{ "kill", o_kill },
	{ "dryRun", o_dry_run },
	{ "postActionDelay", o_post_delay },
	{ "preKillHook", o_hook },
	{ "preKillHook.command", o_hook },
	{ "preKillHook.timeout", o_hook_timeout },
	{ "handoff", o_handoff },
	{ "handoffDeadline", o_deadline },
};

/*
 * Every OomPolicy key has an example, except the fields of its selectors
 * (scope's other lists, prefer's and avoid's): those are the selector
 * grammar the SignalPolicy examples already show.
 */
Test(policy_examples, use_every_oom_policy_key_of_the_schema)
{
	static const char prefix[] = "spec.";
	static const char *const selectors[] = { "scope.", "victim.prefer.", "victim.avoid." };
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k), checked = 0, docs = 0;

	EACH_OOM(o) docs++;
	cr_assert_geq(docs, 3, "only %zu example OomPolicy documents", docs);
	for (size_t i = 0; i < n; i++) {
		const char *name = k[i].path + strlen(prefix);
		const struct oom_key *ok = NULL;
		bool seen = false, sel = false;

		if (strcmp(k[i].kind, "OomPolicy") || strncmp(k[i].path, prefix, strlen(prefix)) ||
		    (strchr(name, '[') && strncmp(name, "detectors[].", 12)))
			continue;
		for (size_t j = 0; j < sizeof(oom_keys) / sizeof(oom_keys[0]); j++)
			if (!strcmp(oom_keys[j].path, name))
				ok = &oom_keys[j];
		for (size_t j = 0; j < sizeof(selectors) / sizeof(selectors[0]); j++)
			sel |= !strncmp(name, selectors[j], strlen(selectors[j]));
		if (!ok && sel)
			continue;
		if (!ok) {
			cr_expect_fail("OomPolicy key %s is new to this test: add it to oom_keys[] "
				       "and use it in an example policy", k[i].path);
			continue;
		}
		checked++;
		EACH_OOM(o) seen |= ok->used(o);
		cr_expect(seen, "no example OomPolicy uses %s%s", prefix, name);
	}
	cr_expect_geq(checked, 28, "only %zu OomPolicy keys in the schema", checked);
}

/* ---- LeakPolicy examples ------------------------------------------------------- */

#define EACH_LEAK(l) \
	for (size_t d_ = 0; d_ < set.n_docs; d_++) \
		for (const struct leak_policy *l = set.docs[d_].kind == POLICY_KIND_LEAK ? \
						   set.docs[d_].leak : NULL; l; l = NULL)

/* What a LeakPolicy key looks like once loaded (a value other than its default). */
struct leak_key {
	const char *path;	/* below spec. */
	bool (*used)(const struct leak_policy *l);
};

#define LEAK_KEY(fn, expr) \
	static bool fn(const struct leak_policy *l) \
	{ \
		return (expr); \
	}
LEAK_KEY(l_scope, !l->all)
LEAK_KEY(l_threshold, l->threshold != LEAK_DEFAULT_THRESHOLD)
LEAK_KEY(l_consecutive, l->consecutive != LEAK_DEFAULT_CONSECUTIVE)
LEAK_KEY(l_min_pct, l->min_growth_pct != LEAK_DEFAULT_MIN_GROWTH_PCT)
LEAK_KEY(l_min_mib, l->min_growth_mib != LEAK_DEFAULT_MIN_GROWTH_MIB)
LEAK_KEY(l_warmup, l->warmup_ms != LEAK_DEFAULT_WARMUP_MS)
LEAK_KEY(l_window, l->window_ms != LEAK_DEFAULT_WINDOW_MS)
LEAK_KEY(l_process_fields, selector_has_process_fields(&l->scope))

static const struct leak_key leak_keys[] = {
	{ "scope", l_scope },
	{ "threshold", l_threshold },
	{ "consecutive", l_consecutive },
	{ "minGrowthPercent", l_min_pct },
	{ "minGrowthMiB", l_min_mib },
	{ "warmup", l_warmup },
	{ "window", l_window },
};

/*
 * Every LeakPolicy key has an example with a value other than its default,
 * except the fields of its scope (the selector grammar the SignalPolicy
 * examples show); one example scope uses a process-level field, since a
 * LeakPolicy is where those are allowed in a scope.
 */
Test(policy_examples, use_every_leak_policy_key_of_the_schema)
{
	static const char prefix[] = "spec.";
	const struct policy_key_doc *k;
	size_t n = policy_schema(&k), checked = 0, docs = 0;
	bool process = false, all = false;

	EACH_LEAK(l) {
		docs++;
		all |= l->all;
		process |= l_process_fields(l);
	}
	cr_assert_geq(docs, 2, "only %zu example LeakPolicy documents", docs);
	cr_expect(all, "no example LeakPolicy covers every process (no scope)");
	cr_expect(process, "no example LeakPolicy scope uses binaries or comms");
	for (size_t i = 0; i < n; i++) {
		const char *name = k[i].path + strlen(prefix);
		const struct leak_key *lk = NULL;
		bool seen = false;

		if (strcmp(k[i].kind, "LeakPolicy") || strncmp(k[i].path, prefix, strlen(prefix)) ||
		    !strncmp(name, "scope.", 6))
			continue;
		for (size_t j = 0; j < sizeof(leak_keys) / sizeof(leak_keys[0]); j++)
			if (!strcmp(leak_keys[j].path, name))
				lk = &leak_keys[j];
		if (!lk) {
			cr_expect_fail("LeakPolicy key %s is new to this test: add it to "
				       "leak_keys[] and use it in an example policy", k[i].path);
			continue;
		}
		checked++;
		EACH_LEAK(l) seen |= lk->used(l);
		cr_expect(seen, "no example LeakPolicy uses %s%s", prefix, name);
	}
	cr_expect_geq(checked, 7, "only %zu LeakPolicy keys in the schema", checked);
}
