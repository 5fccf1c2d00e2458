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
 * (SignalPolicy), a valid mode and no process-level selector (TrustPolicy),
 * or an OomPolicy within what policy.h promises (detector count and kinds,
 * percents, PSI trigger limits, durations, handoff and kill: cgroup only
 * with a scope, a scope of cgroup-level fields only), or a LeakPolicy with
 * every criterion in its range and a scope that sets something unless it
 * covers every process.  What the messages say is the unit tests' business.
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

#define US_PER_MS 1000ull

static void check_oom(const struct policy_doc *doc)
{
	const struct oom_policy *o = doc->oom;

	CHECK(o && doc->n_rules == 0 && doc->n_trust_rules == 0);
	CHECK(o->n_detectors <= POLICY_MAX_OOM_DETECTORS);
	CHECK(o->n_detectors > 0 || o->handoff);
	for (size_t i = 0; i < o->n_detectors; i++) {
		const struct oom_detector *d = &o->detectors[i];

		switch (d->kind) {
		case OOM_DET_USAGE:
		case OOM_DET_SWAP:
			CHECK(d->percent > 0 && d->percent <= 100);
			CHECK(d->of == OOM_OF_LIMIT || d->of == OOM_OF_NODE);
			break;
		case OOM_DET_PSI:
			CHECK(d->psi_type == OOM_PSI_SOME || d->psi_type == OOM_PSI_FULL);
			if (d->avg10 >= 0) {
				CHECK(d->avg10 > 0 && d->avg10 <= 100);
				CHECK(d->stall_us == 0 && d->window_us == 0);
			} else {
				CHECK(d->window_us >= 500 * US_PER_MS && d->window_us <= 10000 * US_PER_MS);
				CHECK(d->stall_us > 0 && d->stall_us <= d->window_us);
			}
			break;
		default:
			CHECK(0);	/* every detector has a kind */
		}
		CHECK(d->line > 0 && d->column > 0);
	}
	/* Handoff and killing the unit's cgroup need memory cgroups, not the node. */
	CHECK(!(o->handoff && o->node));
	CHECK(!(o->kill == OOM_KILL_CGROUP && o->node));
	CHECK(o->node ? !selector_has_cgroup_fields(&o->scope) :
			selector_has_cgroup_fields(&o->scope));
	CHECK(!selector_has_process_fields(&o->scope) && o->scope.scope == SEL_SCOPE_ANY);
	CHECK(o->strategy == OOM_VICTIM_LARGEST_RSS || o->strategy == OOM_VICTIM_FASTEST_GROWTH);
	CHECK(o->kill >= OOM_KILL_PROCESS && o->kill <= OOM_KILL_CGROUP);
	CHECK(o->duration_ms <= 600000 && o->post_action_delay_ms <= 600000);
	CHECK(o->hook_timeout_ms >= 1 && o->hook_timeout_ms <= 600000);
	CHECK(o->handoff_deadline_ms >= 100 && o->handoff_deadline_ms <= 60000);
	CHECK(memchr(o->hook, 0, sizeof(o->hook)));
	CHECK(!o->hook[0] || strspn(o->hook, " \t\r\n") < strlen(o->hook));
	CHECK(o->has_prefer || !selector_has_cgroup_fields(&o->prefer));
	CHECK(o->has_avoid || !selector_has_process_fields(&o->avoid));
}

static void check_leak(const struct policy_doc *doc)
{
	const struct leak_policy *l = doc->leak;
	const struct selector *sc;

	CHECK(l && !doc->oom && doc->n_rules == 0 && doc->n_trust_rules == 0);
	sc = &l->scope;
	CHECK(l->threshold > 0 && l->threshold <= 1);
	CHECK(l->consecutive >= 1 && l->consecutive <= 1000);
	CHECK(l->min_growth_pct >= 0 && l->min_growth_mib >= 0);
	CHECK(l->warmup_ms <= 86400000);
	CHECK(l->window_ms >= 1000 && l->window_ms <= 86400000);
	/* No scope key: nothing set (`scope: {scope: any}` looks the same, and is allowed). */
	CHECK(!l->all || (sc->scope == SEL_SCOPE_ANY && !selector_has_cgroup_fields(sc) &&
			  !selector_has_process_fields(sc)));
	/* A scope with a container-only field never says host (that can never match). */
	CHECK(sc->scope != SEL_SCOPE_HOST || (!sc->container_ids.set && !sc->pod_uids.set &&
					      !sc->namespaces.set && !sc->pods.set));
	CHECK(l->line > 0 && l->column > 0);
}

static void check_set(const struct policy_set *s)
{

	for (size_t i = 0; i < s->n_docs; i++) {
		const struct policy_doc *doc = &s->docs[i];

		CHECK(doc->name[0] && memchr(doc->name, 0, sizeof(doc->name)));
		if (doc->kind == POLICY_KIND_OOM) {
			CHECK(!doc->leak);
			check_oom(doc);
			continue;
		}
		if (doc->kind == POLICY_KIND_LEAK) {
			check_leak(doc);
			continue;
		}
		CHECK(!doc->oom && !doc->leak);
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
