/*
 * fuzz_policy.c - libFuzzer target for the policy loader.
 *
 * Each input is one policy file's text: it goes through policy_load_buffer()
 * and the set-wide checks, every diagnostic is formatted, and everything is
 * freed, so ASan sees leaks and out-of-bounds reads on every path the
 * loader has, error paths included.  The loader must never crash, hang or
 * leak, whatever the bytes.  A few contract invariants from policy.h are
 * checked too (they trap, so libFuzzer keeps the input): the return value
 * counts the errors added, every diagnostic has a message, and a document
 * that was accepted holds only rules with a valid action and some signal
 * (SignalPolicy) or a valid mode and no process-level selector (TrustPolicy).
 * What the messages say is the unit tests' business.
 *
 * Built and run by `make fuzz`; seeds are tests/fuzz/corpus/policy/, and
 * inputs that once broke the loader are kept in tests/fuzz/regressions/policy/.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
	do { \
		if (!(cond)) \
			__builtin_trap(); \
	} while (0)

static void check_set(const struct policy_set *s)
{
	for (size_t i = 0; i < s->n_docs; i++) {
		const struct policy_doc *doc = &s->docs[i];

		CHECK(doc->name[0] && memchr(doc->name, 0, sizeof(doc->name)));
		if (doc->kind == POLICY_KIND_TRUST) {
			CHECK(doc->n_trust_rules > 0 && doc->n_rules == 0);
			for (size_t r = 0; r < doc->n_trust_rules; r++) {
				const struct trust_rule *rule = &doc->trust_rules[r];

				CHECK(rule->name[0] && memchr(rule->name, 0, sizeof(rule->name)));
				CHECK(rule->mode >= TRUST_MODE_OFF && rule->mode <= TRUST_MODE_ENFORCE);
				/* Process-level fields are refused in a TrustPolicy. */
				CHECK(!selector_has_process_fields(&rule->selector));
			}
			continue;
		}
		if (doc->kind != POLICY_KIND_SIGNAL)
			continue;
		CHECK(doc->n_rules > 0);
		for (size_t r = 0; r < doc->n_rules; r++) {
			const struct signal_rule *rule = &doc->rules[r];

			CHECK(rule->name[0] && memchr(rule->name, 0, sizeof(rule->name)));
			CHECK(rule->action >= SIG_ACTION_AUDIT &&
			      rule->action <= SIG_ACTION_KILL_SENDER);
			CHECK(rule->signals != 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_set s;
	struct policy_diags d;
	char line[PATH_MAX + 512];
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	rc = policy_load_buffer(&s, "fuzz.yaml", (const char *)data, size, &d);
	CHECK(rc == -ENOMEM || (rc >= 0 && (size_t)rc == d.errors));
	if (rc >= 0)
		policy_set_finish(&s, &d);
	CHECK(d.errors <= d.n);
	for (size_t i = 0; i < d.n; i++) {
		CHECK(memchr(d.v[i].msg, 0, sizeof(d.v[i].msg)) && d.v[i].msg[0]);
		CHECK(d.v[i].line >= 0 && d.v[i].column >= 0);
		policy_diag_format(&d.v[i], line, sizeof(line));
		CHECK(memchr(line, 0, sizeof(line)));
	}
	check_set(&s);	/* documents with errors are never added */
	policy_set_free(&s);
	policy_diags_free(&d);
	return 0;
}
