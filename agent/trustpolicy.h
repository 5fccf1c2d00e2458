/*
 * trustpolicy.h - which trust mode applies to a workload, from the loaded
 * TrustPolicy documents.  Pure: no BPF, no I/O.
 *
 * Rules are considered in load order (files by name, documents in file
 * order, rules in document order) and the first rule whose selector matches
 * decides.  No match means off.  This lets a narrow exemption
 * (`mode: off` for one namespace) come before a broad `enforce`.
 *
 * The kernel keeps three kinds of answer, so the agent asks three questions:
 *   - host processes (outside any container): only rules with no
 *     cgroup-level selector fields can match them, since the kernel tells
 *     host processes apart from containers but not from each other;
 *   - containers the agent has not classified yet (the first instants of a
 *     new container): the first rule that would match any container
 *     without looking at cgroup-level fields;
 *   - one container, with its identity (sel_subject).
 */
#ifndef VIGIL_TRUSTPOLICY_H
#define VIGIL_TRUSTPOLICY_H

#include "policy.h"

struct trust_effective {
	enum trust_mode mode;
	bool libraries;
	bool modules;
	const char *policy;	/* metadata.name of the deciding document; "" when none */
	const char *rule;	/* rule name; "" when none */
};

void trust_resolve_host(const struct policy_set *s, struct trust_effective *out);
void trust_resolve_container_default(const struct policy_set *s, struct trust_effective *out);
void trust_resolve_container(const struct policy_set *s, const struct sel_subject *x,
			     struct trust_effective *out);

/* Number of TrustPolicy documents in the set. */
size_t trust_policy_count(const struct policy_set *s);

#endif
