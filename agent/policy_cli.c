/*
 * policy_cli.c - `vigil policy check`: load policy files and directories
 * exactly as the agent would, print every diagnostic as file:line:column,
 * and say whether the set is usable (with a line per OomPolicy and per
 * LeakPolicy, whose many defaults are worth seeing).  Runs unprivileged and touches no BPF,
 * so it fits in CI and in a pre-deploy hook.  Returns exit codes instead of
 * exiting, so tests can drive it.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "policy.h"
#include "policy_cli.h"

#define EXIT_PROBLEMS 1
#define EXIT_USAGE 2

static const char policy_usage[] =
	"Usage: vigil policy check [FILE|DIR]...\n"
	"\n"
	"Check policy documents before the agent loads them.  Every problem is\n"
	"printed on stderr as FILE:LINE:COLUMN: message, all of them at once.\n"
	"A directory is read as the agent reads it: its *.yaml and *.yml files,\n"
	"in name order.  With no path, checks " VIGIL_POLICY_DIR_DEFAULT ".\n"
	"Needs no privileges and loads nothing into the kernel.\n"
	"\n"
	"Commands:\n"
	"  check        load and validate; exit 0 if the set is usable\n"
	"\n"
	"Options:\n"
	"  -h, --help   this help\n"
	"\n"
	"Exit status: 0 valid, 1 problems found, 2 usage error.\n"
	"\n"
	"Examples:\n"
	"  vigil policy check                          # the agent's policy directory\n"
	"  vigil policy check policies/                # a directory in a repository\n"
	"  vigil policy check no-escape.yaml tenants.yaml\n";

static int usage_error(FILE *err, const char *what, const char *arg)
{
	fprintf(err, "vigil: policy: %s '%s'\n", what, arg);
	fprintf(err, "%.*s", (int)(strchr(policy_usage, '\n') - policy_usage + 1), policy_usage);
	fputs("Try `vigil policy --help` for more.\n", err);
	return EXIT_USAGE;
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/*
 * Paths that do not exist and directories with nothing to read are errors
 * here, though not to the loader: the agent treats them as "no policies",
 * but someone who asked to check them expected something there.
 */
static int check_paths(struct policy_diags *d, char **paths, size_t n, char **found,
		       size_t *n_found)
{
	struct stat st;
	size_t i;
	int err = 0;

	*n_found = 0;
	for (i = 0; i < n && !err; i++) {
		if (stat(paths[i], &st)) {
			if (errno == ENOENT)
				err = policy_diag_add(d, paths[i], 0, 0, false,
						      "no such file or directory");
			else
				found[(*n_found)++] = paths[i];	/* the loader says why */
			continue;
		}
		if (S_ISDIR(st.st_mode) && policy_dir_state(paths[i]) == POLICY_DIR_EMPTY)
			err = policy_diag_add(d, paths[i], 0, 0, false,
					      "no policy files (*.yaml, *.yml) in %s", paths[i]);
		found[(*n_found)++] = paths[i];
	}
	return err;
}

/*
 * "(5 SignalPolicy, 14 rules; 2 TrustPolicy, 4 rules; 1 OomPolicy; 2
 * LeakPolicy)": each kind the set has, with its rules for the kinds made
 * of rules.
 */
static void kinds(FILE *f, const struct policy_set *s)
{
	static const enum policy_kind all[] = { POLICY_KIND_SIGNAL, POLICY_KIND_TRUST,
						POLICY_KIND_OOM, POLICY_KIND_LEAK };
	const char *sep = " (";
	size_t i, k;

	for (k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
		size_t docs = 0, rules = 0;

		for (i = 0; i < s->n_docs; i++) {
			if (s->docs[i].kind != all[k])
				continue;
			docs++;
			rules += s->docs[i].n_rules + s->docs[i].n_trust_rules;
		}
		if (!docs)
			continue;
		fprintf(f, "%s%zu %s", sep, docs, policy_kind_name(all[k]));
		if (all[k] == POLICY_KIND_SIGNAL || all[k] == POLICY_KIND_TRUST)
			fprintf(f, ", %zu %s", rules, plural(rules, "rule", "rules"));
		sep = "; ";
	}
	if (*sep == ';')
		fputc(')', f);
}

#define SHOW_ENTRIES 3	/* of a selector list in a summary line; then "+N" */

/* User text on a terminal: control bytes become '?'. */
static void put_text(FILE *f, const char *t)
{
	for (; *t; t++)
		fputc((unsigned char)*t < 0x20 || *t == 0x7f ? '?' : *t, f);
}

/* "scope=host cgroups=/batch.slice/x,/batch/y": what a selector sets. */
static void selector_line(FILE *f, const struct selector *sel)
{
	static const struct {
		const char *key;
		size_t off;
	} lists[] = {
		{ "containerIds", offsetof(struct selector, container_ids) },
		{ "podUIDs", offsetof(struct selector, pod_uids) },
		{ "namespaces", offsetof(struct selector, namespaces) },
		{ "pods", offsetof(struct selector, pods) },
		{ "cgroups", offsetof(struct selector, cgroups) },
		{ "binaries", offsetof(struct selector, binaries) },
		{ "comms", offsetof(struct selector, comms) },
	};
	const char *sep = "";
	size_t i, j;

	if (sel->scope == SEL_SCOPE_HOST || sel->scope == SEL_SCOPE_CONTAINERS) {
		fprintf(f, "scope=%s", sel->scope == SEL_SCOPE_HOST ? "host" : "containers");
		sep = " ";
	}
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		const struct strlist *l = (const void *)((const char *)sel + lists[i].off);

		if (!l->set)
			continue;
		fprintf(f, "%s%s=", sep, lists[i].key);
		for (j = 0; j < l->n && j < SHOW_ENTRIES; j++) {
			fputs(j ? "," : "", f);
			put_text(f, l->v[j]);
		}
		if (l->n > SHOW_ENTRIES)
			fprintf(f, ",+%zu more", l->n - SHOW_ENTRIES);
		sep = " ";
	}
	if (!*sep)
		fputs("any process", f);
}

static const char *duration(uint64_t ms, char *buf, size_t len)
{
	if (ms && !(ms % 60000))
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms && !(ms % 1000))
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	return buf;
}

static void detector_line(FILE *f, const struct oom_detector *det)
{
	char a[32], b[32];

	fprintf(f, "%s ", oom_detector_name(det->kind));
	if (det->kind != OOM_DET_PSI) {
		fprintf(f, "%g%% of %s", det->percent, det->of == OOM_OF_NODE ? "node" : "limit");
		return;
	}
	fprintf(f, "%s ", det->psi_type == OOM_PSI_FULL ? "full" : "some");
	if (det->avg10 >= 0)
		fprintf(f, "avg10 %g%%", det->avg10);
	else if (det->stall_us % 1000 || det->window_us % 1000)
		fprintf(f, "stall %lluus per %lluus", (unsigned long long)det->stall_us,
			(unsigned long long)det->window_us);
	else
		fprintf(f, "stall %s per %s", duration(det->stall_us / 1000, a, sizeof(a)),
			duration(det->window_us / 1000, b, sizeof(b)));
}

/*
 * One line per OomPolicy, since it is one unit with many defaults:
 * "OomPolicy batch: cgroups=/batch/x; usage 90% of limit for 2s; victim
 * largest_rss; kill process after a pre-kill hook (5s); dry run: ...".
 */
static void oom_lines(FILE *f, const struct policy_set *s)
{
	char a[32];
	size_t i, j;

	for (i = 0; i < s->n_docs; i++) {
		const struct oom_policy *o = s->docs[i].oom;

		if (s->docs[i].kind != POLICY_KIND_OOM || !o)
			continue;
		fprintf(f, "OomPolicy %s: ", s->docs[i].name);
		if (o->node)
			fputs("the whole node", f);
		else
			selector_line(f, &o->scope);
		fputs("; ", f);
		for (j = 0; j < o->n_detectors; j++) {
			fputs(j ? " or " : "", f);
			detector_line(f, &o->detectors[j]);
		}
		if (!o->n_detectors)
			fputs("no detectors", f);
		else if (o->duration_ms)
			fprintf(f, " for %s", duration(o->duration_ms, a, sizeof(a)));
		fprintf(f, "; victim %s", oom_strategy_name(o->strategy));
		if (!o->oom_score_adj)
			fputs(" ignoring oom_score_adj", f);
		if (o->has_prefer) {
			fputs(", prefer (", f);
			selector_line(f, &o->prefer);
			fputc(')', f);
		}
		if (o->has_avoid) {
			fputs(", avoid (", f);
			selector_line(f, &o->avoid);
			fputc(')', f);
		}
		fprintf(f, "; kill %s", oom_kill_scope_name(o->kill));
		if (o->hook[0])
			fprintf(f, " after a pre-kill hook (%s)",
				duration(o->hook_timeout_ms, a, sizeof(a)));
		if (o->handoff)
			fprintf(f, "; handoff, deadline %s",
				duration(o->handoff_deadline_ms, a, sizeof(a)));
		if (o->dry_run)
			fputs("; dry run: reports, kills nothing", f);
		fputc('\n', f);
	}
}

/*
 * One line per LeakPolicy, the three confirmation criteria and the two
 * spans spelt out: "LeakPolicy batch: namespaces=batch; score at least 0.7
 * in 3 evaluations in a row, 20% and 16 MiB over the baseline; baseline
 * after 1m, window 10m".
 */
static void leak_lines(FILE *f, const struct policy_set *s)
{
	char a[32], b[32];
	size_t i;

	for (i = 0; i < s->n_docs; i++) {
		const struct leak_policy *l = s->docs[i].leak;

		if (s->docs[i].kind != POLICY_KIND_LEAK || !l)
			continue;
		fprintf(f, "LeakPolicy %s: ", s->docs[i].name);
		if (l->all)
			fputs("every process", f);
		else
			selector_line(f, &l->scope);
		fprintf(f, "; score at least %g in %u %s, %g%% and %g MiB over the baseline; "
			"baseline after %s, window %s\n", l->threshold, l->consecutive,
			plural(l->consecutive, "evaluation", "evaluations in a row"),
			l->min_growth_pct, l->min_growth_mib, duration(l->warmup_ms, a, sizeof(a)),
			duration(l->window_ms, b, sizeof(b)));
	}
}

static void summary(FILE *f, const struct policy_set *s, const struct policy_diags *d)
{
	size_t warnings = d->n - d->errors;

	if (d->errors) {
		fprintf(f, "policy check: %zu %s", d->errors, plural(d->errors, "error", "errors"));
		if (warnings)
			fprintf(f, ", %zu %s", warnings, plural(warnings, "warning", "warnings"));
		fprintf(f, " in %zu %s\n", s->n_files, plural(s->n_files, "file", "files"));
		return;
	}
	oom_lines(f, s);
	leak_lines(f, s);
	fprintf(f, "policy check: %zu %s", s->n_docs, plural(s->n_docs, "document", "documents"));
	kinds(f, s);
	fprintf(f, " in %zu %s: ok", s->n_files, plural(s->n_files, "file", "files"));
	if (warnings)
		fprintf(f, ", %zu %s", warnings, plural(warnings, "warning", "warnings"));
	fputc('\n', f);
}

static int cmd_check(int argc, char **argv, FILE *out, FILE *err)
{
	static char default_dir[] = VIGIL_POLICY_DIR_DEFAULT;
	struct policy_set s = { 0 };
	struct policy_diags d = { 0 };
	char **paths, **found, line[PATH_MAX + 512];
	bool options = true;
	size_t n = 0, n_found = 0, i;
	int rc, ret = EXIT_PROBLEMS;

	paths = calloc((size_t)argc + 1, sizeof(*paths));
	found = calloc((size_t)argc + 1, sizeof(*found));
	if (!paths || !found) {
		fputs("vigil: policy check: out of memory\n", err);
		goto out;
	}
	for (i = 1; i < (size_t)argc; i++) {
		const char *a = argv[i];

		if (options && !strcmp(a, "--")) {
			options = false;
		} else if (options && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			fputs(policy_usage, out);
			ret = 0;
			goto out;
		} else if (options && a[0] == '-' && a[1]) {
			ret = usage_error(err, "unknown option", a);
			goto out;
		} else {
			paths[n++] = argv[i];
		}
	}
	if (!n)
		paths[n++] = default_dir;

	rc = check_paths(&d, paths, n, found, &n_found);
	if (!rc)
		rc = policy_load_paths(&s, found, n_found, &d);
	if (rc < 0) {
		fprintf(err, "vigil: policy check: %s\n", strerror(-rc));
		goto out;
	}
	for (i = 0; i < d.n; i++) {
		policy_diag_format(&d.v[i], line, sizeof(line));
		fprintf(err, "%s\n", line);
	}
	summary(d.errors ? err : out, &s, &d);
	ret = d.errors ? EXIT_PROBLEMS : 0;
out:
	policy_set_free(&s);
	policy_diags_free(&d);
	free(paths);
	free(found);
	return ret;
}

int policy_cli_run(int argc, char **argv, FILE *out, FILE *err)
{
	if (argc < 2) {
		fprintf(err, "vigil: policy: no command given\n");
		fprintf(err, "%.*s", (int)(strchr(policy_usage, '\n') - policy_usage + 1),
			policy_usage);
		fputs("Try `vigil policy --help` for more.\n", err);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(policy_usage, out);
		return 0;
	}
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1, out, err);
	if (argv[1][0] == '-')
		return usage_error(err, "unknown option", argv[1]);
	return usage_error(err, "unknown command", argv[1]);
}

int policy_main(int argc, char **argv)
{
	return policy_cli_run(argc, argv, stdout, stderr);
}
