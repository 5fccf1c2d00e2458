/*
 * policy.c - load policy documents (YAML) into a struct policy_set, and say
 * everything that is wrong with them at once, each problem with its file,
 * line and column.  Never prints; `vigil policy check` and the reloader
 * decide what the user sees.
 *
 * Grammar (one or more documents per file, separated by "---"):
 *
 *   apiVersion: vigil.dev/v1alpha1          required, exactly this
 *   kind: SignalPolicy                      required
 *   metadata:                               required
 *     name: NAME                            required, DNS-1123 label
 *     labels: {KEY: VALUE}                  optional, strings; not acted on
 *     annotations: {KEY: VALUE}             optional, strings; not acted on
 *   spec:
 *     rules:                                required, at least one
 *       - name: NAME                        optional, unique; default rule-N
 *         sender: SELECTOR                  optional; absent = any process
 *         target: SELECTOR + relation       optional; absent = any process
 *         signals: [SIGKILL, TERM, 9, SIGRTMIN+2]   optional; absent = 1..64
 *         action: audit|deny|kill-sender    required
 *         fallback: audit|kill-sender       optional, only with deny
 *
 *   SELECTOR: scope (host|containers|any), containerIds, podUIDs,
 *   namespaces, pods, cgroups, binaries, comms (lists of strings; see
 *   selector.h); target also takes relation
 *   (same-container|other-container|host).
 *
 *   kind: TrustPolicy                       same envelope
 *   spec:
 *     rules:                                required, at least one; first match wins
 *       - name: NAME                        optional, unique; default rule-N
 *         selector: WORKLOAD SELECTOR       optional; absent = every process
 *         mode: off|audit|enforce           required
 *         libraries: true|false             optional, default true
 *         modules: true|false               optional, default false
 *
 *   WORKLOAD SELECTOR: a SELECTOR without binaries and comms (trust is
 *   decided per workload, and the program being judged is the subject).
 *
 *   kind: OomPolicy                         same envelope (policy.h has the contract)
 *   spec:
 *     scope: MEMCG SELECTOR                 optional; absent = the whole node
 *     detectors:                            1..8; absent only with handoff: true
 *       - usage: {percent: P, of: limit|node}
 *       - swap: {percent: P, of: limit|node}
 *       - psi: {type: some|full, avg10: P}  or  {type: .., stall: D, window: D}
 *     duration: D                           0s..10m, default 0s
 *     victim: {strategy: largest_rss|fastest_growth, oomScoreAdj: BOOL,
 *              prefer: SELECTOR, avoid: SELECTOR}
 *     kill: process|process_group|cgroup    default process
 *     dryRun: BOOL
 *     postActionDelay: D                    0s..10m, default 5s
 *     preKillHook: {command: STRING, timeout: D}     timeout 1ms..10m, default 5s
 *     handoff: BOOL                         needs scope
 *     handoffDeadline: D                    100ms..60s, default 1s
 *
 *   MEMCG SELECTOR: containerIds, podUIDs, namespaces, pods, cgroups only
 *   (memory is accounted per cgroup, not per process, and the selector's
 *   own scope field has nothing to add).  P is a number in (0, 100]; D is
 *   a duration with a unit: 250ms, 2s, 1.5s, 1m, 1m30s (us, ms, s, m).
 *
 *   kind: LeakPolicy                        same envelope (policy.h has the contract)
 *   spec:                                   required; {} = every default, every process
 *     scope: SELECTOR                       optional; absent = every process; {} is an error
 *     threshold: N                          score in (0, 1], default 0.8
 *     consecutive: N                        whole number 1..1000, default 6
 *     minGrowthPercent: N                   >= 0, default 20
 *     minGrowthMiB: N                       >= 0, default 64
 *     warmup: D                             0s..1440m (24 hours), default 1m
 *     window: D                             1s..1440m, default 10m
 *
 *   A LeakPolicy's scope takes every selector field, binaries and comms
 *   included: growth is scored per process.  The first LeakPolicy in load
 *   order whose scope matches a process decides for it.
 *
 * An empty document is skipped.  Every scalar is a string (YAML tags are
 * ignored); a null value counts as missing.  Anchors and aliases work.
 *
 * How it is built
 * ---------------
 * schema[] below is both the documentation table policy_schema() returns
 * and the grammar: a generic walker checks node types, unknown keys (with a
 * suggestion), duplicate keys, missing required keys and enum values from
 * it, and calls the row's hooks to store values and check what only the
 * rule as a whole can tell (selectors that can never match).  A key added
 * to the table is therefore parsed, documented and suggested at once.
 * Kinds share paths ("spec.rules[]" is a row of each); the document's kind
 * picks the row.  refused[] names keys one kind leaves out on purpose
 * (binaries in a TrustPolicy selector), so they get a reason instead of
 * "unknown key".
 *
 * libyaml's document API builds the tree; aliases share nodes there, so a
 * "billion laughs" file costs nothing to load but would cost the walk a
 * lot: the walk has a budget of nodes and bytes per file.  Deep nesting
 * makes libyaml's scanner quadratic, so an event pass refuses it first.
 * Diagnostics per file are capped, deduplicated (an aliased node is walked
 * once per reference) and sorted by position.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "policy.h"

#define MAX_DEPTH	32		/* the schema is 6 levels deep */
#define MAX_DIAGS	100		/* per file: past this it is the wrong file */
#define WALK_BUDGET	(4u * POLICY_MAX_FILE_BYTES)	/* nodes + scalar bytes per file */
#define SHOW_MAX	40		/* bytes of user text echoed in a message */
#define PATH_BUF	256		/* "spec.rules[12].target.containerIds[3]" */
/* TrustPolicy rules in the whole set: the agent keeps one answer per workload, not the rules. */
#define POLICY_MAX_TRUST_RULES 256
#define SIG_RTMIN	34
#define SIG_RTMAX	64

enum sel_field {
	SF_CONTAINER_IDS, SF_POD_UIDS, SF_NAMESPACES, SF_PODS, SF_CGROUPS, SF_BINARIES,
	SF_COMMS, SF_N,
};

/* Where the parts of one selector were, for messages about their combination. */
struct sel_marks {
	yaml_mark_t field_at[SF_N];	/* the key, for each list that is set */
	const char *field_key[SF_N];	/* its name, from the schema */
};

struct rule_marks {
	bool named, has_relation, has_fallback;
	yaml_mark_t at, relation_at, fallback_at, modules_at;
	struct sel_marks sender, target;	/* SignalPolicy */
	struct sel_marks selector;		/* TrustPolicy */
};

/* Which selector of the rule a selector row fills (the row's argument). */
enum sel_at {
	SEL_AT_SENDER, SEL_AT_TARGET, SEL_AT_TRUST, SEL_AT_OOM_SCOPE, SEL_AT_PREFER,
	SEL_AT_AVOID, SEL_AT_LEAK_SCOPE,
};

/* TrustPolicy's booleans (the row's argument). */
enum trust_flag {
	TF_LIBRARIES, TF_MODULES,
};

/* OomPolicy's booleans, durations and percents (the row's argument). */
enum oom_flag {
	OF_SCORE_ADJ, OF_DRY_RUN, OF_HANDOFF,
};

enum oom_dur {
	OD_DURATION, OD_POST_DELAY, OD_HOOK_TIMEOUT, OD_DEADLINE, OD_STALL, OD_WINDOW,
};

enum oom_pct {
	OP_PERCENT, OP_AVG10,
};

/* LeakPolicy's numbers and durations (the row's argument). */
enum leak_num {
	LN_THRESHOLD, LN_CONSECUTIVE, LN_MIN_PCT, LN_MIN_MIB,
};

enum leak_dur {
	LD_WARMUP, LD_WINDOW,
};

/* Where the parts of an OomPolicy were, for messages about their combination. */
struct oom_marks {
	bool has_kill, has_dry_run, has_deadline, has_timeout, has_duration, handoff_ok;
	yaml_mark_t handoff_at, dry_run_at, deadline_at, kill_at, timeout_at, duration_at;
	struct sel_marks scope, prefer, avoid;
	struct oom_detector *det;	/* the detector being built */
	struct oom_detector spare;	/* where one past the limit is built, to check it */
};

struct walk {
	struct policy_set *set;
	struct policy_diags *d;
	const char *file;
	const char *text;
	size_t len;
	yaml_document_t *doc;
	size_t first_diag;		/* this file's diagnostics start here in d->v */
	size_t n_docs;			/* non-empty documents seen */
	size_t diags;			/* diagnostics this file produced, kept or not */
	size_t budget;
	bool capped, stop, nomem;

	/* the document being built */
	enum policy_kind kind;
	struct policy_doc pd;
	size_t cap_rules;
	size_t doc_errors;
	/* the rule being built: rule (SignalPolicy) or trule (TrustPolicy) */
	struct signal_rule *rule;
	struct trust_rule *trule;
	struct oom_policy *oom;		/* OomPolicy: the spec being built (w->pd.oom) */
	struct oom_marks om;
	struct leak_policy *leak;	/* LeakPolicy: the spec being built (w->pd.leak) */
	struct sel_marks leak_scope;	/* where its scope's fields were */
	size_t cur;			/* its index in the document */
	char *cur_name;			/* its name buffer */
	struct rule_marks rm;
	struct selector *sel;
	struct sel_marks *sm;
};

/* ---------------------------------------------------------------- diagnostics */

static int vdiag_add(struct policy_diags *d, const char *file, int line, int column,
		     bool warning, const char *fmt, va_list ap)
{
	struct policy_diag *dg;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct policy_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	dg = &d->v[d->n++];
	memset(dg, 0, sizeof(*dg));
	snprintf(dg->file, sizeof(dg->file), "%s", file ? file : "<policy>");
	dg->line = line;
	dg->column = column;
	dg->warning = warning;
	vsnprintf(dg->msg, sizeof(dg->msg), fmt, ap);
	if (!warning)
		d->errors++;
	return 0;
}

int policy_diag_add(struct policy_diags *d, const char *file, int line, int column,
		    bool warning, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vdiag_add(d, file, line, column, warning, fmt, ap);
	va_end(ap);
	return err;
}

void policy_diags_free(struct policy_diags *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void policy_diag_format(const struct policy_diag *dg, char *buf, size_t len)
{
	const char *w = dg->warning ? "warning: " : "";

	if (!len)
		return;
	if (dg->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s%s", dg->file, dg->line, dg->column, w, dg->msg);
	else
		snprintf(buf, len, "%s: %s%s", dg->file, w, dg->msg);
}

/* A message without its leading "spec.rules[1].sender: " (paths hold no spaces). */
static const char *unpathed(const char *msg)
{
	const char *colon = strstr(msg, ": ");

	return colon && !memchr(msg, ' ', (size_t)(colon - msg)) ? colon + 2 : msg;
}

/*
 * One problem in the file being walked.  An aliased node is walked once per
 * reference, under a different path each time; the same message at the
 * same place is given once.
 */
__attribute__((format(printf, 4, 5)))
static void report(struct walk *w, const yaml_mark_t *at, bool warning, const char *fmt, ...)
{
	int line = at ? (int)at->line + 1 : 0, column = at ? (int)at->column + 1 : 0;
	char msg[sizeof(w->d->v[0].msg)];
	va_list ap;
	size_t i;

	if (w->nomem)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (i = w->first_diag; i < w->d->n; i++) {
		const struct policy_diag *dg = &w->d->v[i];

		if (dg->line == line && dg->column == column && dg->warning == warning &&
		    !strcmp(unpathed(dg->msg), unpathed(msg)))
			return;
	}
	if (!warning)
		w->doc_errors++;
	if (++w->diags > MAX_DIAGS) {
		/* Told once, after sorting (see finish_file()). */
		w->capped = w->stop = true;
		return;
	}
	if (policy_diag_add(w->d, w->file, line, column, warning, "%s", msg))
		w->nomem = w->stop = true;
}

#define error_at(w, at, ...) report((w), (at), false, __VA_ARGS__)

static int diag_order(const void *a, const void *b, void *base)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct policy_diag *x = (struct policy_diag *)base + i;
	const struct policy_diag *y = (struct policy_diag *)base + j;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* Top to bottom, so the first thing the user reads is the first thing to fix. */
static void finish_file(struct walk *w)
{
	struct policy_diags *d = w->d;
	size_t n = d->n - w->first_diag, i, *idx;
	struct policy_diag *tmp, *base;

	if (n > 1) {
		base = d->v + w->first_diag;	/* d->v is NULL while nothing was said */
		idx = malloc(n * sizeof(*idx));
		tmp = malloc(n * sizeof(*tmp));
		if (idx && tmp) {
			for (i = 0; i < n; i++)
				idx[i] = i;
			qsort_r(idx, n, sizeof(*idx), diag_order, base);
			for (i = 0; i < n; i++)
				tmp[i] = base[idx[i]];
			memcpy(base, tmp, n * sizeof(*tmp));
		}
		free(idx);
		free(tmp);
	}
	if (w->capped && !w->nomem &&
	    policy_diag_add(d, w->file, 0, 0, false,
			    "too many problems (more than %d); fix these and check again",
			    MAX_DIAGS))
		w->nomem = true;
}

/* ---------------------------------------------------------------- small helpers */

/* User text in a message: control bytes become '?', long text is cut at a character. */
static const char *show(const char *s, size_t n, char *buf, size_t size)
{
	size_t i, out = 0, keep = n < SHOW_MAX ? n : SHOW_MAX;

	while (keep < n && keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
		keep--;
	for (i = 0; i < keep && out + 4 < size; i++)
		buf[out++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (keep < n && out + 4 <= size) {
		memcpy(buf + out, "...", 3);
		out += 3;
	}
	buf[out] = '\0';
	return buf;
}

/* Case-blind optimal string alignment distance; SIZE_MAX for words too long to bother. */
static size_t distance(const char *a, size_t n, const char *b, size_t m)
{
	size_t rows[3][SHOW_MAX + 1], *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;
	size_t i, j;

	if (n > SHOW_MAX || m > SHOW_MAX)
		return SIZE_MAX;
	for (j = 0; j <= m; j++)
		prev[j] = j;
	for (i = 1; i <= n; i++) {
		int ca = tolower((unsigned char)a[i - 1]);

		cur[0] = i;
		for (j = 1; j <= m; j++) {
			int cb = tolower((unsigned char)b[j - 1]);
			size_t best = prev[j - 1] + (ca != cb);

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[m];
}

/* A typo is at most a third of the word away (one edit for short words). */
static bool near(const char *typo, size_t n, const char *word, size_t *best)
{
	size_t len = strlen(word), limit = len / 3 ? len / 3 : 1;
	size_t d = distance(typo, n, word, len);

	if (d > limit || d >= *best)
		return false;
	*best = d;
	return true;
}

static bool is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !n->data.scalar.length || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static const char *node_what(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return is_null(n) ? "nothing" : "a string";
	}
}

/* "path: " before a message, or nothing at the document's top. */
static const char *sep(const char *path)
{
	return *path ? ": " : "";
}

/*
 * Arrays without a capacity field (struct strlist, the set's documents)
 * grow to 4, then double whenever the count reaches a power of two.
 */
static bool grows(size_t n)
{
	return n == 0 || (n >= 4 && !(n & (n - 1)));
}

static bool dns_label(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > POLICY_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool container_id_ok(const char *s, size_t n)
{
	size_t i;

	if (n < 12 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!lower_hex(s[i]))
			return false;
	return true;
}

static bool uuid_ok(const char *s, size_t n)
{
	size_t i;

	if (n != 36)
		return false;
	for (i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !lower_hex(s[i]))
			return false;
	}
	return true;
}

/*
 * Offset of the '[' that opens a bracket expression fnmatch(3) would never
 * see closed, or -1.  Inside brackets a leading ']' (after '!' or '^') is a
 * member, and "[:alpha:]"-style classes hold ']' of their own.
 */
static long unclosed_bracket(const char *p)
{
	size_t i = 0, j;

	while (p[i]) {
		if (p[i] == '\\' && p[i + 1]) {
			i += 2;
			continue;
		}
		if (p[i] != '[') {
			i++;
			continue;
		}
		j = i + 1;
		if (p[j] == '!' || p[j] == '^')
			j++;
		if (p[j] == ']')
			j++;
		while (p[j] && p[j] != ']') {
			if (p[j] == '[' && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
				char end[3] = { p[j + 1], ']', 0 };
				const char *close = strstr(p + j + 2, end);

				if (close) {
					j = (size_t)(close - p) + 2;
					continue;
				}
			}
			j++;
		}
		if (!p[j])
			return (long)i;
		i = j + 1;
	}
	return -1;
}

#define US_PER_MS	1000ull
#define US_PER_S	1000000ull
#define US_PER_MIN	60000000ull
#define WHOLE_MAX	12		/* digits of a number's whole part */
#define FRAC_MAX	9		/* digits of its fraction: frac * US_PER_MIN fits */

/*
 * A decimal number: digits, optionally '.' and more digits, optionally
 * after a '-' (so that "-5" is out of range rather than not a number).
 * Returns the bytes read, 0 if there is no number at s.
 */
static size_t decimal(const char *s, size_t n, bool sign, uint64_t *whole, uint64_t *frac,
		      unsigned *frac_digits, bool *negative)
{
	size_t i = 0, d;

	*whole = *frac = 0;
	*frac_digits = 0;
	*negative = false;
	if (sign && i < n && s[i] == '-') {
		*negative = true;
		i++;
	}
	for (d = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, d++) {
		if (d >= WHOLE_MAX)
			return 0;
		*whole = *whole * 10 + (uint64_t)(s[i] - '0');
	}
	if (!d)
		return 0;
	if (i < n && s[i] == '.') {
		i++;
		for (d = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, d++) {
			if (d >= FRAC_MAX)
				return 0;
			*frac = *frac * 10 + (uint64_t)(s[i] - '0');
		}
		if (!d)
			return 0;
		*frac_digits = (unsigned)d;
	}
	return i;
}

static uint64_t pow10u(unsigned e)
{
	uint64_t p = 1;

	while (e--)
		p *= 10;
	return p;
}

/* "90", "12.5", "-3": true with the value; anything else false. */
static bool number_of(const char *s, size_t n, double *out)
{
	uint64_t whole, frac;
	unsigned fd;
	bool neg;

	if (decimal(s, n, true, &whole, &frac, &fd, &neg) != n)
		return false;
	*out = ((double)whole + (double)frac / (double)pow10u(fd)) * (neg ? -1 : 1);
	return true;
}

enum dur_err {
	DUR_OK, DUR_BAD, DUR_NO_UNIT, DUR_TOO_FINE, DUR_TOO_LONG,
};

/*
 * A duration: one or more NUMBER UNIT parts ("1.5s", "1m30s"), units us,
 * ms, s, m; or "0" alone.  Exact to the microsecond.
 */
static enum dur_err duration_of(const char *s, size_t n, uint64_t *us)
{
	static const struct { const char *name; uint64_t us; } units[] = {
		{ "us", 1 }, { "ms", US_PER_MS }, { "s", US_PER_S }, { "m", US_PER_MIN },
	};
	uint64_t whole, frac, part, total = 0;
	size_t i = 0, r, u, best;
	unsigned fd;
	bool neg;

	if (n == 1 && s[0] == '0') {
		*us = 0;
		return DUR_OK;
	}
	while (i < n) {
		r = decimal(s + i, n - i, false, &whole, &frac, &fd, &neg);
		if (!r)
			return DUR_BAD;
		i += r;
		if (i == n && i == r)
			return DUR_NO_UNIT;
		best = SIZE_MAX;
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			size_t len = strlen(units[u].name);

			if (n - i >= len && !memcmp(s + i, units[u].name, len) &&
			    (best == SIZE_MAX || len > strlen(units[best].name)))
				best = u;
		}
		if (best == SIZE_MAX)
			return DUR_BAD;
		i += strlen(units[best].name);
		if (frac && (frac * units[best].us) % pow10u(fd))
			return DUR_TOO_FINE;
		if (__builtin_mul_overflow(whole, units[best].us, &part) ||
		    __builtin_add_overflow(part, frac * units[best].us / pow10u(fd), &part) ||
		    __builtin_add_overflow(total, part, &total))
			return DUR_TOO_LONG;
	}
	*us = total;
	return DUR_OK;
}

/* A duration for messages, in the largest unit that states it exactly. */
static const char *show_us(uint64_t us, char *buf, size_t size)
{
	if (us && !(us % US_PER_MIN))
		snprintf(buf, size, "%llum", (unsigned long long)(us / US_PER_MIN));
	else if (us && !(us % US_PER_S))
		snprintf(buf, size, "%llus", (unsigned long long)(us / US_PER_S));
	else if (!(us % US_PER_MS))
		snprintf(buf, size, "%llums", (unsigned long long)(us / US_PER_MS));
	else
		snprintf(buf, size, "%lluus", (unsigned long long)us);
	return buf;
}

/* ---------------------------------------------------------------- names */

const char *policy_kind_name(enum policy_kind k)
{
	switch (k) {
	case POLICY_KIND_SIGNAL:
		return "SignalPolicy";
	case POLICY_KIND_TRUST:
		return "TrustPolicy";
	case POLICY_KIND_OOM:
		return "OomPolicy";
	case POLICY_KIND_LEAK:
		return "LeakPolicy";
	}
	return "";
}

void leak_policy_defaults(struct leak_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->all = true;
	p->threshold = LEAK_DEFAULT_THRESHOLD;
	p->consecutive = LEAK_DEFAULT_CONSECUTIVE;
	p->min_growth_pct = LEAK_DEFAULT_MIN_GROWTH_PCT;
	p->min_growth_mib = LEAK_DEFAULT_MIN_GROWTH_MIB;
	p->warmup_ms = LEAK_DEFAULT_WARMUP_MS;
	p->window_ms = LEAK_DEFAULT_WINDOW_MS;
}

const char *oom_detector_name(enum oom_detector_kind k)
{
	switch (k) {
	case OOM_DET_USAGE:
		return "usage";
	case OOM_DET_PSI:
		return "psi";
	case OOM_DET_SWAP:
		return "swap";
	}
	return "";
}

const char *oom_strategy_name(enum oom_strategy st)
{
	switch (st) {
	case OOM_VICTIM_LARGEST_RSS:
		return "largest_rss";
	case OOM_VICTIM_FASTEST_GROWTH:
		return "fastest_growth";
	}
	return "";
}

const char *oom_kill_scope_name(enum oom_kill_scope k)
{
	switch (k) {
	case OOM_KILL_PROCESS:
		return "process";
	case OOM_KILL_PROCESS_GROUP:
		return "process_group";
	case OOM_KILL_CGROUP:
		return "cgroup";
	}
	return "";
}

const char *trust_mode_name(enum trust_mode m)
{
	switch (m) {
	case TRUST_MODE_OFF:
		return "off";
	case TRUST_MODE_AUDIT:
		return "audit";
	case TRUST_MODE_ENFORCE:
		return "enforce";
	}
	return "";
}

const char *sig_action_name(enum sig_action a)
{
	switch (a) {
	case SIG_ACTION_AUDIT:
		return "audit";
	case SIG_ACTION_DENY:
		return "deny";
	case SIG_ACTION_KILL_SENDER:
		return "kill-sender";
	}
	return "";
}

const char *sig_relation_name(enum sig_relation r)
{
	switch (r) {
	case SIG_REL_SAME_CONTAINER:
		return "same-container";
	case SIG_REL_OTHER_CONTAINER:
		return "other-container";
	case SIG_REL_HOST:
		return "host";
	case SIG_REL_NONE:
		break;
	}
	return "";
}

static const char *scope_name(enum sel_scope s)
{
	switch (s) {
	case SEL_SCOPE_HOST:
		return "host";
	case SEL_SCOPE_CONTAINERS:
		return "containers";
	case SEL_SCOPE_ANY:
		break;
	}
	return "any";
}

/* Linux numbers, index = signal; 32 and 33 belong to the C library. */
static const char *const sig_names[32] = {
	NULL, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1",
	"SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP",
	"TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
};

static int small_number(const char *s, int max)
{
	int v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -EINVAL;
	}
	return v;
}

int signal_parse(const char *s)
{
	static const struct { const char *name; int sig; } aliases[] = {
		{ "IOT", 6 }, { "CLD", 17 }, { "POLL", 29 },
	};
	char up[16];
	size_t i, n;
	int v;

	if (!s || !*s)
		return -EINVAL;
	if (*s >= '0' && *s <= '9') {
		v = small_number(s, SIG_RTMAX);
		return v >= 1 ? v : -EINVAL;
	}
	if (!strncasecmp(s, "SIG", 3) && s[3])
		s += 3;
	n = strlen(s);
	if (n >= sizeof(up))
		return -EINVAL;
	for (i = 0; i <= n; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	for (i = 1; i < 32; i++)
		if (!strcmp(up, sig_names[i]))
			return (int)i;
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(up, aliases[i].name))
			return aliases[i].sig;
	if (!strncmp(up, "RTMIN", 5) || !strncmp(up, "RTMAX", 5)) {
		bool min = up[4] == 'N';

		if (!up[5])
			return min ? SIG_RTMIN : SIG_RTMAX;
		if (up[5] != (min ? '+' : '-'))
			return -EINVAL;
		v = small_number(up + 6, SIG_RTMAX - SIG_RTMIN);
		if (v < 0)
			return -EINVAL;
		return min ? SIG_RTMIN + v : SIG_RTMAX - v;
	}
	return -EINVAL;
}

/* ---------------------------------------------------------------- hooks */

/* One node of the document as the walker hands it to a row's hooks. */
struct visit {
	int key;			/* row in schema[] */
	yaml_node_t *node;
	const char *path;		/* "spec.rules[0].action" */
	const yaml_mark_t *at;		/* the key's position (the node's, for list items) */
	const char *s;			/* scalars: the value, NUL-terminated */
	size_t len;
	size_t index;			/* list items: 0-based */
	int arg;			/* the row's argument (enum sel_field, ...) */
	double num;			/* "number" rows: the value */
	uint64_t us;			/* "duration" rows: the value in microseconds */
};

typedef void (*hook_fn)(struct walk *w, const struct visit *v);

static const char *key_name(int key);

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static void on_doc_name(struct walk *w, const struct visit *v)
{
	char shown[64];

	if (!dns_label(v->s, v->len)) {
		error_at(w, &v->node->start_mark,
			 "%s: \"%s\" is not a valid name: use 1 to %d lower-case letters, digits "
			 "and '-', starting and ending with a letter or digit",
			 v->path, show(v->s, v->len, shown, sizeof(shown)), POLICY_NAME_MAX);
		return;
	}
	memcpy(w->pd.name, v->s, v->len + 1);
}

static void on_rules_done(struct walk *w, const struct visit *v)
{
	if (!seq_len(v->node))
		error_at(w, &v->node->start_mark, "%s: expected at least one rule", v->path);
}

static void on_rule(struct walk *w, const struct visit *v)
{
	struct signal_rule *r;

	if (w->pd.n_rules == w->cap_rules) {
		size_t cap = w->cap_rules ? w->cap_rules * 2 : 4;

		r = realloc(w->pd.rules, cap * sizeof(*r));
		if (!r) {
			w->nomem = w->stop = true;
			return;
		}
		w->pd.rules = r;
		w->cap_rules = cap;
	}
	r = &w->pd.rules[w->pd.n_rules++];
	memset(r, 0, sizeof(*r));
	r->signals = ~0ull;
	r->line = (int)v->node->start_mark.line + 1;
	r->column = (int)v->node->start_mark.column + 1;
	w->rule = r;
	w->cur = w->pd.n_rules - 1;
	w->cur_name = r->name;
	memset(&w->rm, 0, sizeof(w->rm));
	w->rm.at = v->node->start_mark;
	w->sel = NULL;
	w->sm = NULL;
}

static void on_trust_rule(struct walk *w, const struct visit *v)
{
	struct trust_rule *r;

	if (w->pd.n_trust_rules == w->cap_rules) {
		size_t cap = w->cap_rules ? w->cap_rules * 2 : 4;

		r = realloc(w->pd.trust_rules, cap * sizeof(*r));
		if (!r) {
			w->nomem = w->stop = true;
			return;
		}
		w->pd.trust_rules = r;
		w->cap_rules = cap;
	}
	r = &w->pd.trust_rules[w->pd.n_trust_rules++];
	memset(r, 0, sizeof(*r));
	r->libraries = true;
	r->line = (int)v->node->start_mark.line + 1;
	r->column = (int)v->node->start_mark.column + 1;
	w->trule = r;
	w->cur = w->pd.n_trust_rules - 1;
	w->cur_name = r->name;
	memset(&w->rm, 0, sizeof(w->rm));
	w->rm.at = v->node->start_mark;
	w->sel = NULL;
	w->sm = NULL;
}

/* The line of the rule before the current one that is called `name`, or 0. */
static int same_name(const struct walk *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->cur; i++) {
		if (w->kind == POLICY_KIND_TRUST) {
			if (!strcmp(w->pd.trust_rules[i].name, name))
				return w->pd.trust_rules[i].line;
		} else if (!strcmp(w->pd.rules[i].name, name)) {
			return w->pd.rules[i].line;
		}
	}
	return 0;
}

static void on_rule_name(struct walk *w, const struct visit *v)
{
	char shown[64];
	int other;

	w->rm.named = true;
	if (!dns_label(v->s, v->len)) {
		error_at(w, &v->node->start_mark,
			 "%s: \"%s\" is not a valid rule name: use 1 to %d lower-case letters, "
			 "digits and '-', starting and ending with a letter or digit",
			 v->path, show(v->s, v->len, shown, sizeof(shown)), POLICY_NAME_MAX);
		return;
	}
	memcpy(w->cur_name, v->s, v->len + 1);
	other = same_name(w, w->cur_name);
	if (other)
		error_at(w, &v->node->start_mark,
			 "%s: duplicate rule name \"%s\" (the rule at line %d has it)", v->path,
			 w->cur_name, other);
}

/* After the rule: "rule-N" unless it was named. */
static void default_name(struct walk *w, const struct visit *v)
{
	int other;

	if (w->rm.named)
		return;
	snprintf(w->cur_name, POLICY_NAME_MAX + 1, "rule-%zu", v->index + 1);
	other = same_name(w, w->cur_name);
	if (other)
		error_at(w, &w->rm.at, "%s: this rule's default name \"%s\" is taken by the "
			 "rule at line %d; give this rule a name", v->path, w->cur_name, other);
}

static void on_selector(struct walk *w, const struct visit *v)
{
	switch (v->arg) {
	case SEL_AT_TARGET:
		w->sel = &w->rule->target;
		w->sm = &w->rm.target;
		break;
	case SEL_AT_TRUST:
		w->sel = &w->trule->selector;
		w->sm = &w->rm.selector;
		break;
	case SEL_AT_OOM_SCOPE:
		w->sel = &w->oom->scope;
		w->sm = &w->om.scope;
		w->oom->node = false;
		break;
	case SEL_AT_PREFER:
		w->sel = &w->oom->prefer;
		w->sm = &w->om.prefer;
		w->oom->has_prefer = true;
		break;
	case SEL_AT_AVOID:
		w->sel = &w->oom->avoid;
		w->sm = &w->om.avoid;
		w->oom->has_avoid = true;
		break;
	case SEL_AT_LEAK_SCOPE:
		w->sel = &w->leak->scope;
		w->sm = &w->leak_scope;
		w->leak->all = false;
		break;
	default:
		w->sel = &w->rule->sender;
		w->sm = &w->rm.sender;
	}
}

static struct strlist *sel_list(struct selector *s, int f)
{
	switch (f) {
	case SF_CONTAINER_IDS:
		return &s->container_ids;
	case SF_POD_UIDS:
		return &s->pod_uids;
	case SF_NAMESPACES:
		return &s->namespaces;
	case SF_PODS:
		return &s->pods;
	case SF_CGROUPS:
		return &s->cgroups;
	case SF_BINARIES:
		return &s->binaries;
	default:
		return &s->comms;
	}
}

static void on_scope(struct walk *w, const struct visit *v)
{
	static const enum sel_scope all[] = { SEL_SCOPE_ANY, SEL_SCOPE_HOST, SEL_SCOPE_CONTAINERS };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(v->s, scope_name(all[i])))
			w->sel->scope = all[i];
}

static void on_sel_list(struct walk *w, const struct visit *v)
{
	sel_list(w->sel, v->arg)->set = true;
	w->sm->field_at[v->arg] = *v->at;
	w->sm->field_key[v->arg] = key_name(v->key);
}

static void on_sel_list_done(struct walk *w, const struct visit *v)
{
	if (!seq_len(v->node))
		error_at(w, &v->node->start_mark,
			 "%s: an empty list can never match; leave the key out to match all",
			 v->path);
}

static void on_sel_item(struct walk *w, const struct visit *v)
{
	struct strlist *l = sel_list(w->sel, v->arg);
	const yaml_mark_t *at = &v->node->start_mark;
	const char *why = NULL;
	char shown[64], kept[64], **grown;
	long bracket = -1;

	show(v->s, v->len, shown, sizeof(shown));
	if (!v->len) {
		error_at(w, at, "%s: an empty string can never match", v->path);
		return;
	}
	switch (v->arg) {
	case SF_CONTAINER_IDS:
		if (!container_id_ok(v->s, v->len))
			why = "a container id (or id prefix) is 12 to 64 lower-case hex digits";
		break;
	case SF_POD_UIDS:
		if (!uuid_ok(v->s, v->len))
			why = "a pod UID is a lower-case dashed UUID (8-4-4-4-12 hex digits)";
		break;
	case SF_CGROUPS:
		if (!strchr("/*?[", v->s[0]))
			why = "cgroup paths start with '/'";
		break;
	case SF_BINARIES:
		if (!strchr("/*?[", v->s[0]))
			why = "binary paths are absolute (start with '/')";
		break;
	case SF_COMMS:
		if (v->len > 15) {
			error_at(w, at, "%s: \"%s\" can never match: a comm holds at most 15 bytes "
				 "(the kernel keeps \"%s\")", v->path, shown,
				 show(v->s, 15, kept, sizeof(kept)));
			return;
		}
		break;
	}
	if (!why && v->arg != SF_CONTAINER_IDS && v->arg != SF_POD_UIDS && v->arg != SF_COMMS)
		bracket = unclosed_bracket(v->s);
	if (bracket >= 0) {
		error_at(w, at, "%s: \"%s\" can never match: the '[' at byte %ld is never closed "
			 "(write \\[ for a literal one)", v->path, shown, bracket + 1);
		return;
	}
	if (why) {
		error_at(w, at, "%s: \"%s\" can never match: %s", v->path, shown, why);
		return;
	}
	grown = l->v;
	if (grows(l->n))
		grown = realloc(l->v, (l->n ? l->n * 2 : 4) * sizeof(*l->v));
	if (grown)
		l->v = grown;
	if (!grown || !(l->v[l->n] = strndup(v->s, v->len))) {
		w->nomem = w->stop = true;
		return;
	}
	l->n++;
}

static void on_relation(struct walk *w, const struct visit *v)
{
	enum sig_relation r;

	for (r = SIG_REL_SAME_CONTAINER; r <= SIG_REL_HOST; r++)
		if (!strcmp(v->s, sig_relation_name(r)))
			w->rule->relation = r;
	w->rm.has_relation = true;
	w->rm.relation_at = v->node->start_mark;
}

static void on_signals(struct walk *w, const struct visit *v)
{
	w->rule->signals = 0;
}

static void on_signals_done(struct walk *w, const struct visit *v)
{
	if (!seq_len(v->node))
		error_at(w, &v->node->start_mark,
			 "%s: an empty list can never match; leave the key out to match every signal",
			 v->path);
}

static void on_signal(struct walk *w, const struct visit *v)
{
	int sig = signal_parse(v->s);
	char shown[64];
	uint64_t bit;

	show(v->s, v->len, shown, sizeof(shown));
	if (sig < 0) {
		if (v->s[0] >= '0' && v->s[0] <= '9' && strspn(v->s, "0123456789") == v->len)
			error_at(w, &v->node->start_mark,
				 "%s: signal %s is out of range (1 to 64)", v->path, shown);
		else
			error_at(w, &v->node->start_mark,
				 "%s: unknown signal \"%s\" (expected a name like SIGTERM or TERM, "
				 "SIGRTMIN+N, SIGRTMAX-N, or a number 1 to 64)", v->path, shown);
		return;
	}
	bit = 1ull << (sig - 1);
	if (w->rule->signals & bit)
		report(w, &v->node->start_mark, true, "%s: signal %d is already in the list",
		       v->path, sig);
	w->rule->signals |= bit;
}

static enum sig_action action_of(const char *s)
{
	enum sig_action a;

	for (a = SIG_ACTION_AUDIT; a <= SIG_ACTION_KILL_SENDER; a++)
		if (!strcmp(s, sig_action_name(a)))
			return a;
	return 0;
}

static void on_action(struct walk *w, const struct visit *v)
{
	w->rule->action = action_of(v->s);
}

static void on_fallback(struct walk *w, const struct visit *v)
{
	w->rule->fallback = action_of(v->s);
	w->rm.has_fallback = true;
	w->rm.fallback_at = *v->at;
}

/* The fields that only a process inside a container can match. */
static const enum sel_field container_fields[] = {
	SF_CONTAINER_IDS, SF_POD_UIDS, SF_NAMESPACES, SF_PODS,
};
#define N_CONTAINER_FIELDS (sizeof(container_fields) / sizeof(container_fields[0]))

static void check_host_scope(struct walk *w, struct selector *s, const struct sel_marks *m,
			     const char *rule, const char *side)
{
	size_t i;

	if (s->scope != SEL_SCOPE_HOST)
		return;
	for (i = 0; i < N_CONTAINER_FIELDS; i++)
		if (sel_list(s, container_fields[i])->set)
			error_at(w, &m->field_at[container_fields[i]],
				 "%s.%s.%s: can never match with scope host: host processes are "
				 "in no container", rule, side, m->field_key[container_fields[i]]);
}

static void check_relation(struct walk *w, struct signal_rule *r, const char *rule)
{
	const yaml_mark_t *at = &w->rm.relation_at;
	const char *name = sig_relation_name(r->relation);
	size_t i;

	if (r->relation == SIG_REL_HOST) {
		if (r->target.scope == SEL_SCOPE_CONTAINERS)
			error_at(w, at, "%s.target.relation: host can never match with target scope "
				 "containers", rule);
		for (i = 0; i < N_CONTAINER_FIELDS; i++)
			if (sel_list(&r->target, container_fields[i])->set)
				error_at(w, at, "%s.target.relation: host can never match with target "
					 "%s: host processes are in no container", rule,
					 w->rm.target.field_key[container_fields[i]]);
		return;
	}
	if (r->relation == SIG_REL_NONE)
		return;
	if (r->target.scope == SEL_SCOPE_HOST)
		error_at(w, at, "%s.target.relation: %s can never match with target scope host: "
			 "the target must be in a container", rule, name);
	if (r->relation == SIG_REL_SAME_CONTAINER && r->sender.scope == SEL_SCOPE_HOST)
		error_at(w, at, "%s.target.relation: same-container can never match with sender "
			 "scope host: the sender is in no container", rule);
}

static void on_rule_done(struct walk *w, const struct visit *v)
{
	struct signal_rule *r = w->rule;

	default_name(w, v);
	if (r->action == SIG_ACTION_DENY) {
		if (!r->fallback)
			r->fallback = SIG_ACTION_AUDIT;
	} else {
		if (w->rm.has_fallback && r->action)
			error_at(w, &w->rm.fallback_at, "%s.fallback: only applies to action deny "
				 "(this rule's action is %s)", v->path, sig_action_name(r->action));
		/* Without BPF LSM audit and kill-sender do what they always do. */
		r->fallback = r->action;
	}
	check_host_scope(w, &r->sender, &w->rm.sender, v->path, "sender");
	check_host_scope(w, &r->target, &w->rm.target, v->path, "target");
	if (w->rm.has_relation)
		check_relation(w, r, v->path);
}

static void on_mode(struct walk *w, const struct visit *v)
{
	enum trust_mode m;

	for (m = TRUST_MODE_OFF; m <= TRUST_MODE_ENFORCE; m++)
		if (!strcmp(v->s, trust_mode_name(m)))
			w->trule->mode = m;
}

/* "true" or "false" in the spellings YAML 1.2 has; -1 for anything else. */
static int bool_of(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return 0;
	return -1;
}

static void on_trust_flag(struct walk *w, const struct visit *v)
{
	bool on = bool_of(v->s) == 1;

	if (v->arg == TF_LIBRARIES) {
		w->trule->libraries = on;
		return;
	}
	w->trule->modules = on;
	w->rm.modules_at = *v->at;
}

static void on_trust_rule_done(struct walk *w, const struct visit *v)
{
	struct trust_rule *r = w->trule;
	const struct sel_marks *m = &w->rm.selector;

	default_name(w, v);
	check_host_scope(w, &r->selector, m, v->path, "selector");
	/*
	 * The kernel tells host processes from containers but not from each
	 * other, so one answer covers every host process: a rule that needs a
	 * cgroup to match is only ever asked about containers.
	 */
	if (r->selector.scope == SEL_SCOPE_HOST && r->selector.cgroups.set)
		error_at(w, &m->field_at[SF_CGROUPS], "%s.selector.%s: can never match with scope "
			 "host: a TrustPolicy judges all host processes alike (the kernel tells "
			 "them from containers, not from each other); leave it out to cover the "
			 "host", v->path, m->field_key[SF_CGROUPS]);
	else if (r->modules && (r->selector.scope == SEL_SCOPE_CONTAINERS ||
		 selector_has_cgroup_fields(&r->selector)))
		report(w, &w->rm.modules_at, true, "%s.modules: judges only module loads made by "
		       "processes inside containers (this rule %s); modules are normally loaded "
		       "by host processes (modprobe, udev), which only a rule covering the host "
		       "decides, and a module runs for the whole node whoever loads it", v->path,
		       r->selector.scope == SEL_SCOPE_CONTAINERS ? "has scope containers" :
		       "has cgroup-level selector fields, so it never covers the host");
}

/* ---------------------------------------------------------------- OomPolicy hooks */

/* The value of `key` in mapping n, whatever it is, or NULL; *at is the key's position. */
static yaml_node_t *map_get(struct walk *w, yaml_node_t *n, const char *key, yaml_mark_t *at)
{
	yaml_node_pair_t *p;

	if (n->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key)) {
			if (at)
				*at = k->start_mark;
			return yaml_document_get_node(w->doc, p->value);
		}
	}
	return NULL;
}

static size_t map_len(const yaml_node_t *n)
{
	return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

static void on_oom_spec(struct walk *w, const struct visit *v)
{
	struct oom_policy *o = w->pd.oom;

	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o) {
			w->nomem = w->stop = true;
			return;
		}
		w->pd.oom = o;
	}
	o->node = true;
	o->strategy = OOM_VICTIM_LARGEST_RSS;
	o->oom_score_adj = true;
	o->kill = OOM_KILL_PROCESS;
	o->post_action_delay_ms = 5000;
	o->hook_timeout_ms = 5000;
	o->handoff_deadline_ms = 1000;
	o->line = (int)v->node->start_mark.line + 1;
	o->column = (int)v->node->start_mark.column + 1;
	w->oom = o;
	memset(&w->om, 0, sizeof(w->om));
}

static void on_oom_scope_done(struct walk *w, const struct visit *v)
{
	if (!map_len(v->node))
		error_at(w, &v->node->start_mark, "%s: an empty scope selects no memory cgroup; "
			 "leave scope out to cover the whole node, or name memory cgroups with "
			 "containerIds, podUIDs, namespaces, pods or cgroups", v->path);
}

/* prefer and avoid: an empty selector matches every process, so it tells nothing apart. */
static void on_victim_sel_done(struct walk *w, const struct visit *v)
{
	bool prefer = v->arg == SEL_AT_PREFER;

	if (!map_len(v->node))
		report(w, &v->node->start_mark, true, "%s: an empty selector matches every "
		       "process, so it %s; name processes or leave it out", v->path,
		       prefer ? "prefers none over another" : "leaves nothing else to choose");
	check_host_scope(w, prefer ? &w->oom->prefer : &w->oom->avoid,
			 prefer ? &w->om.prefer : &w->om.avoid, "spec.victim",
			 prefer ? "prefer" : "avoid");
}

static void on_detectors_done(struct walk *w, const struct visit *v)
{
	if (!seq_len(v->node))
		error_at(w, &v->node->start_mark, "%s: expected at least one detector (leave "
			 "detectors out only for a handoff-only policy)", v->path);
}

static void on_detector(struct walk *w, const struct visit *v)
{
	struct oom_detector *d = &w->om.spare;

	if (v->index < POLICY_MAX_OOM_DETECTORS) {
		d = &w->oom->detectors[v->index];
		if (w->oom->n_detectors <= v->index)
			w->oom->n_detectors = v->index + 1;
	} else if (v->index == POLICY_MAX_OOM_DETECTORS) {
		error_at(w, &v->node->start_mark, "%s: too many detectors: a policy has at most "
			 "%d (any one firing is enough, so a few cover every case)", v->path,
			 POLICY_MAX_OOM_DETECTORS);
	}
	memset(d, 0, sizeof(*d));
	d->avg10 = -1;
	d->line = (int)v->node->start_mark.line + 1;
	d->column = (int)v->node->start_mark.column + 1;
	w->om.det = d;
}

static void on_detector_kind(struct walk *w, const struct visit *v)
{
	struct oom_detector *d = w->om.det;

	if (d->kind) {
		error_at(w, v->at, "%s: one kind per detector: this item is already a %s detector; "
			 "start another item (\"- %s: ...\") for this one", v->path,
			 oom_detector_name(d->kind), oom_detector_name((enum oom_detector_kind)v->arg));
		return;
	}
	d->kind = (enum oom_detector_kind)v->arg;
}

static void on_detector_done(struct walk *w, const struct visit *v)
{
	if (!map_get(w, v->node, "usage", NULL) && !map_get(w, v->node, "psi", NULL) &&
	    !map_get(w, v->node, "swap", NULL))
		error_at(w, &v->node->start_mark, "%s: a detector needs one of usage, psi or swap",
			 v->path);
}

static void on_percent(struct walk *w, const struct visit *v)
{
	char shown[64];

	if (!(v->num > 0 && v->num <= 100)) {
		error_at(w, &v->node->start_mark, "%s: %s is out of range: a percent above 0 and "
			 "at most 100", v->path, show(v->s, v->len, shown, sizeof(shown)));
		return;
	}
	if (v->arg == OP_AVG10)
		w->om.det->avg10 = v->num;
	else
		w->om.det->percent = v->num;
}

static void on_usage_of(struct walk *w, const struct visit *v)
{
	w->om.det->of = strcmp(v->s, "node") ? OOM_OF_LIMIT : OOM_OF_NODE;
}

static void on_psi_type(struct walk *w, const struct visit *v)
{
	w->om.det->psi_type = strcmp(v->s, "full") ? OOM_PSI_SOME : OOM_PSI_FULL;
}

/* Each duration row's range and resolution (microseconds). */
static const struct {
	uint64_t min, max, res;
	const char *why;
} oom_durs[] = {
	[OD_DURATION] = { 0, 10 * US_PER_MIN, US_PER_MS, "" },
	[OD_POST_DELAY] = { 0, 10 * US_PER_MIN, US_PER_MS, "" },
	[OD_HOOK_TIMEOUT] = { US_PER_MS, 10 * US_PER_MIN, US_PER_MS, "" },
	[OD_DEADLINE] = { 100 * US_PER_MS, 60 * US_PER_S, US_PER_MS, "" },
	[OD_STALL] = { 1, 10 * US_PER_S, 1, " (the kernel's PSI trigger limits)" },
	[OD_WINDOW] = { 500 * US_PER_MS, 10 * US_PER_S, 1, " (the kernel's PSI trigger limits)" },
};

/*
 * A duration row's value within [min, max] and a whole number of `res`
 * (1 us or 1 ms), all in microseconds; otherwise the error is said and the
 * answer is false.  `why` ends the range message.
 */
static bool duration_in_range(struct walk *w, const struct visit *v, uint64_t min, uint64_t max,
			      uint64_t res, const char *why)
{
	char shown[64], lo[32], hi[32];

	show(v->s, v->len, shown, sizeof(shown));
	if (v->us < min || v->us > max) {
		show_us(min, lo, sizeof(lo));
		show_us(max, hi, sizeof(hi));
		if (!min)
			error_at(w, &v->node->start_mark, "%s: %s is out of range: at most %s%s",
				 v->path, shown, hi, why);
		else if (min == res)
			error_at(w, &v->node->start_mark, "%s: %s is out of range: above 0 and at "
				 "most %s%s", v->path, shown, hi, why);
		else
			error_at(w, &v->node->start_mark, "%s: %s is out of range: %s to %s%s",
				 v->path, shown, lo, hi, why);
		return false;
	}
	if (v->us % res) {
		error_at(w, &v->node->start_mark, "%s: %s is not a whole number of milliseconds",
			 v->path, shown);
		return false;
	}
	return true;
}

static void on_oom_duration(struct walk *w, const struct visit *v)
{
	struct oom_policy *o = w->oom;
	uint64_t ms = v->us / US_PER_MS;

	if (!duration_in_range(w, v, oom_durs[v->arg].min, oom_durs[v->arg].max,
			       oom_durs[v->arg].res, oom_durs[v->arg].why))
		return;
	switch (v->arg) {
	case OD_DURATION:
		o->duration_ms = ms;
		w->om.has_duration = true;
		w->om.duration_at = *v->at;
		break;
	case OD_POST_DELAY:
		o->post_action_delay_ms = ms;
		break;
	case OD_HOOK_TIMEOUT:
		o->hook_timeout_ms = ms;
		w->om.has_timeout = true;
		w->om.timeout_at = *v->at;
		break;
	case OD_DEADLINE:
		o->handoff_deadline_ms = ms;
		w->om.has_deadline = true;
		w->om.deadline_at = *v->at;
		break;
	case OD_STALL:
		w->om.det->stall_us = v->us;
		break;
	case OD_WINDOW:
		w->om.det->window_us = v->us;
		break;
	}
}

/* avg10, or stall with window: the two ways PSI can be read. */
static void on_psi_done(struct walk *w, const struct visit *v)
{
	struct oom_detector *d = w->om.det;
	yaml_mark_t avg10_at, stall_at, window_at;
	bool avg10 = map_get(w, v->node, "avg10", &avg10_at) != NULL;
	bool stall = map_get(w, v->node, "stall", &stall_at) != NULL;
	bool window = map_get(w, v->node, "window", &window_at) != NULL;
	char a[32], b[32];

	if (avg10 && (stall || window)) {
		error_at(w, stall ? &stall_at : &window_at, "%s.%s: use avg10 or stall with window, "
			 "not both: avg10 reads the pressure average every interval, stall and "
			 "window arm a kernel PSI trigger", v->path, stall ? "stall" : "window");
		return;
	}
	if (!avg10 && !stall && !window) {
		error_at(w, &v->node->start_mark, "%s: needs avg10 (a pressure percent over the "
			 "last 10 seconds) or stall with window (a kernel PSI trigger: this much "
			 "stall time within each window)", v->path);
		return;
	}
	if (stall && !window) {
		error_at(w, &stall_at, "%s.stall: needs window, the time span the stall is "
			 "measured in (500ms to 10s)", v->path);
		return;
	}
	if (window && !stall) {
		error_at(w, &window_at, "%s.window: only applies with stall, the stall time "
			 "within the window that fires the detector", v->path);
		return;
	}
	if (avg10) {
		d->stall_us = d->window_us = 0;
		return;
	}
	d->avg10 = -1;
	if (d->stall_us && d->window_us && d->stall_us > d->window_us)
		error_at(w, &stall_at, "%s.stall: %s is longer than the window (%s): the stall "
			 "time is measured within the window, so it can be at most the window",
			 v->path, show_us(d->stall_us, a, sizeof(a)),
			 show_us(d->window_us, b, sizeof(b)));
}

static void on_strategy(struct walk *w, const struct visit *v)
{
	w->oom->strategy = strcmp(v->s, "fastest_growth") ? OOM_VICTIM_LARGEST_RSS :
							     OOM_VICTIM_FASTEST_GROWTH;
}

static void on_oom_kill(struct walk *w, const struct visit *v)
{
	enum oom_kill_scope k;

	for (k = OOM_KILL_PROCESS; k <= OOM_KILL_CGROUP; k++)
		if (!strcmp(v->s, oom_kill_scope_name(k)))
			w->oom->kill = k;
	w->om.has_kill = true;
	w->om.kill_at = *v->at;
}

static void on_oom_flag(struct walk *w, const struct visit *v)
{
	bool on = bool_of(v->s) == 1;

	switch (v->arg) {
	case OF_SCORE_ADJ:
		w->oom->oom_score_adj = on;
		break;
	case OF_DRY_RUN:
		w->oom->dry_run = on;
		w->om.has_dry_run = true;
		w->om.dry_run_at = *v->at;
		break;
	case OF_HANDOFF:
		w->oom->handoff = on;
		w->om.handoff_ok = true;
		w->om.handoff_at = *v->at;
		break;
	}
}

static void on_hook_command(struct walk *w, const struct visit *v)
{
	if (v->len >= POLICY_OOM_HOOK_MAX) {
		error_at(w, &v->node->start_mark, "%s: too long (%zu bytes; at most %d): put a "
			 "long command in a script and run that", v->path, v->len,
			 POLICY_OOM_HOOK_MAX - 1);
		return;
	}
	if (strspn(v->s, " \t\r\n") == v->len) {
		error_at(w, &v->node->start_mark, "%s: an empty command runs nothing; leave "
			 "preKillHook out for no hook", v->path);
		return;
	}
	memcpy(w->oom->hook, v->s, v->len + 1);
}

/* What only the spec as a whole can tell. */
static void on_oom_done(struct walk *w, const struct visit *v)
{
	struct oom_policy *o = w->oom;
	struct oom_marks *m = &w->om;
	bool detectors = map_get(w, v->node, "detectors", NULL) != NULL;
	bool handoff_key = map_get(w, v->node, "handoff", NULL) != NULL;
	char a[32], b[32];

	if (!detectors && !o->handoff && (!handoff_key || m->handoff_ok))
		error_at(w, &v->node->start_mark, "%s: missing key \"detectors\": a policy acts "
			 "when one of its detectors fires (usage, psi or swap); only a handoff "
			 "policy (handoff: true) may have none", v->path);
	if (o->handoff && o->node)
		error_at(w, &m->handoff_at, "%s.handoff: needs a scope: handoff sets "
			 "oom_kill_disable on memory cgroups (a cgroup v1 memcg setting; the node "
			 "as a whole has none), so name the cgroups to hand off in spec.scope",
			 v->path);
	if (o->kill == OOM_KILL_CGROUP && o->node && m->has_kill)
		error_at(w, &m->kill_at, "%s.kill: cgroup needs a scope: it kills every process "
			 "of the unit's memory cgroup, and with no scope the unit is the whole node; "
			 "use process or process_group, or name memory cgroups in spec.scope",
			 v->path);
	if (o->handoff && o->dry_run)
		report(w, &m->dry_run_at, true, "%s.dryRun: with handoff, a dry run resolves no "
		       "OOM: each one waits out handoffDeadline (%s) and then the kernel kills as "
		       "it would have", v->path, show_us(o->handoff_deadline_ms * US_PER_MS, a,
							  sizeof(a)));
	if (m->has_deadline && !o->handoff)
		report(w, &m->deadline_at, true, "%s.handoffDeadline: only applies with "
		       "handoff: true", v->path);
	if (m->has_duration && !detectors)
		report(w, &m->duration_at, true, "%s.duration: only applies to detectors, and "
		       "this policy has none", v->path);
	if (o->handoff && o->hook[0] && o->hook_timeout_ms >= o->handoff_deadline_ms)
		report(w, m->has_timeout ? &m->timeout_at : &m->handoff_at, true,
		       "%s.preKillHook.timeout: %s is not shorter than handoffDeadline (%s): "
		       "during a handed-off OOM a slow hook runs into the deadline and the "
		       "kernel resolves the OOM instead", v->path,
		       show_us(o->hook_timeout_ms * US_PER_MS, a, sizeof(a)),
		       show_us(o->handoff_deadline_ms * US_PER_MS, b, sizeof(b)));
}

/* ---------------------------------------------------------------- LeakPolicy hooks */

static void on_leak_spec(struct walk *w, const struct visit *v)
{
	struct leak_policy *p = w->pd.leak;

	if (p) {
		selector_free(&p->scope);
	} else {
		p = calloc(1, sizeof(*p));
		if (!p) {
			w->nomem = w->stop = true;
			return;
		}
		w->pd.leak = p;
	}
	leak_policy_defaults(p);
	p->line = (int)v->node->start_mark.line + 1;
	p->column = (int)v->node->start_mark.column + 1;
	w->leak = p;
	memset(&w->leak_scope, 0, sizeof(w->leak_scope));
}

static void on_leak_scope_done(struct walk *w, const struct visit *v)
{
	if (!map_len(v->node)) {
		error_at(w, &v->node->start_mark, "%s: an empty scope selects no process; leave "
			 "scope out to cover every process, or name processes with selector "
			 "fields (scope, containerIds, podUIDs, namespaces, pods, cgroups, "
			 "binaries, comms)", v->path);
		return;
	}
	check_host_scope(w, &w->leak->scope, &w->leak_scope, "spec", "scope");
}

/* The score's confirmation criteria: each number has its own range. */
static void on_leak_number(struct walk *w, const struct visit *v)
{
	struct leak_policy *p = w->leak;
	const yaml_mark_t *at = &v->node->start_mark;
	char shown[64];

	show(v->s, v->len, shown, sizeof(shown));
	switch (v->arg) {
	case LN_THRESHOLD:
		if (!(v->num > 0 && v->num <= 1)) {
			error_at(w, at, "%s: %s is out of range: a score above 0 and at most 1",
				 v->path, shown);
			return;
		}
		p->threshold = v->num;
		break;
	case LN_CONSECUTIVE:
		if (!(v->num >= 1 && v->num <= 1000)) {
			error_at(w, at, "%s: %s is out of range: 1 to 1000 evaluations", v->path,
				 shown);
			return;
		}
		if (v->num != (double)(uint32_t)v->num) {
			error_at(w, at, "%s: %s is not a whole number: it counts evaluations",
				 v->path, shown);
			return;
		}
		p->consecutive = (uint32_t)v->num;
		break;
	case LN_MIN_PCT:
	case LN_MIN_MIB:
		if (v->num < 0) {
			error_at(w, at, "%s: %s is out of range: at least 0 (0: no minimum)",
				 v->path, shown);
			return;
		}
		/* "-0" is 0, not a negative zero that would print as "-0". */
		*(v->arg == LN_MIN_PCT ? &p->min_growth_pct : &p->min_growth_mib) = v->num + 0.0;
		break;
	}
}

#define US_PER_DAY (24 * 60 * US_PER_MIN)

static const struct {
	uint64_t min, max;
} leak_durs[] = {
	[LD_WARMUP] = { 0, US_PER_DAY },
	[LD_WINDOW] = { US_PER_S, US_PER_DAY },
};

static void on_leak_duration(struct walk *w, const struct visit *v)
{
	if (!duration_in_range(w, v, leak_durs[v->arg].min, leak_durs[v->arg].max, US_PER_MS,
			       " (24 hours)"))
		return;
	if (v->arg == LD_WARMUP)
		w->leak->warmup_ms = v->us / US_PER_MS;
	else
		w->leak->window_ms = v->us / US_PER_MS;
}

/* ---------------------------------------------------------------- the schema */

/*
 * Row: kind, path, type, values, required, hook on the node, hook after its
 * children, argument.  A "list" row is followed by its "[]" row, which says
 * what the items are; "*" is any key (labels, annotations).
 */
#define SP "SignalPolicy"
#define TP "TrustPolicy"
#define OP "OomPolicy"
#define LP "LeakPolicy"
#define SEL_LIST(X, K, P, N, F) \
	X(K, P "." N, "list", "", false, on_sel_list, on_sel_list_done, F) \
	X(K, P "." N "[]", "string", "", false, on_sel_item, NULL, F)
/* Which cgroup a process is in: the cgroup-level fields. */
#define CGROUP_SELECTOR(X, K, P) \
	SEL_LIST(X, K, P, "containerIds", SF_CONTAINER_IDS) \
	SEL_LIST(X, K, P, "podUIDs", SF_POD_UIDS) \
	SEL_LIST(X, K, P, "namespaces", SF_NAMESPACES) \
	SEL_LIST(X, K, P, "pods", SF_PODS) \
	SEL_LIST(X, K, P, "cgroups", SF_CGROUPS)
/* Where a process runs: scope and the cgroup-level fields. */
#define WORKLOAD_SELECTOR(X, K, P) \
	X(K, P ".scope", "enum", "host|containers|any", false, on_scope, NULL, 0) \
	CGROUP_SELECTOR(X, K, P)
/* An OomPolicy detector with a percent: usage, swap. */
#define OOM_PERCENT_DETECTOR(X, N, KIND) \
	X(OP, "spec.detectors[]." N, "object", "", false, on_detector_kind, NULL, KIND) \
	X(OP, "spec.detectors[]." N ".percent", "number", "", true, on_percent, NULL, OP_PERCENT) \
	X(OP, "spec.detectors[]." N ".of", "enum", "limit|node", false, on_usage_of, NULL, 0)
/* And what it runs: the process-level fields. */
#define SELECTOR(X, K, P) \
	WORKLOAD_SELECTOR(X, K, P) \
	SEL_LIST(X, K, P, "binaries", SF_BINARIES) \
	SEL_LIST(X, K, P, "comms", SF_COMMS)
#define SCHEMA(X) \
	X("*", "apiVersion", "enum", POLICY_API_VERSION, true, NULL, NULL, 0) \
	X("*", "kind", "enum", SP "|" TP "|" OP "|" LP, true, NULL, NULL, 0) \
	X("*", "metadata", "object", "", true, NULL, NULL, 0) \
	X("*", "metadata.name", "string", "", true, on_doc_name, NULL, 0) \
	X("*", "metadata.labels", "object", "", false, NULL, NULL, 0) \
	X("*", "metadata.labels.*", "string", "", false, NULL, NULL, 0) \
	X("*", "metadata.annotations", "object", "", false, NULL, NULL, 0) \
	X("*", "metadata.annotations.*", "string", "", false, NULL, NULL, 0) \
	X(SP, "spec", "object", "", true, NULL, NULL, 0) \
	X(SP, "spec.rules", "list", "", true, NULL, on_rules_done, 0) \
	X(SP, "spec.rules[]", "object", "", false, on_rule, on_rule_done, 0) \
	X(SP, "spec.rules[].name", "string", "", false, on_rule_name, NULL, 0) \
	X(SP, "spec.rules[].sender", "object", "", false, on_selector, NULL, SEL_AT_SENDER) \
	SELECTOR(X, SP, "spec.rules[].sender") \
	X(SP, "spec.rules[].target", "object", "", false, on_selector, NULL, SEL_AT_TARGET) \
	X(SP, "spec.rules[].target.relation", "enum", "same-container|other-container|host", \
	  false, on_relation, NULL, 0) \
	SELECTOR(X, SP, "spec.rules[].target") \
	X(SP, "spec.rules[].signals", "list", "", false, on_signals, on_signals_done, 0) \
	X(SP, "spec.rules[].signals[]", "signal", "", false, on_signal, NULL, 0) \
	X(SP, "spec.rules[].action", "enum", "audit|deny|kill-sender", true, on_action, NULL, 0) \
	X(SP, "spec.rules[].fallback", "enum", "audit|kill-sender", false, on_fallback, NULL, 0) \
	X(TP, "spec", "object", "", true, NULL, NULL, 0) \
	X(TP, "spec.rules", "list", "", true, NULL, on_rules_done, 0) \
	X(TP, "spec.rules[]", "object", "", false, on_trust_rule, on_trust_rule_done, 0) \
	X(TP, "spec.rules[].name", "string", "", false, on_rule_name, NULL, 0) \
	X(TP, "spec.rules[].selector", "object", "", false, on_selector, NULL, SEL_AT_TRUST) \
	WORKLOAD_SELECTOR(X, TP, "spec.rules[].selector") \
	X(TP, "spec.rules[].mode", "enum", "off|audit|enforce", true, on_mode, NULL, 0) \
	X(TP, "spec.rules[].libraries", "bool", "", false, on_trust_flag, NULL, TF_LIBRARIES) \
	X(TP, "spec.rules[].modules", "bool", "", false, on_trust_flag, NULL, TF_MODULES) \
	X(OP, "spec", "object", "", true, on_oom_spec, on_oom_done, 0) \
	X(OP, "spec.scope", "object", "", false, on_selector, on_oom_scope_done, SEL_AT_OOM_SCOPE) \
	CGROUP_SELECTOR(X, OP, "spec.scope") \
	X(OP, "spec.detectors", "list", "", false, NULL, on_detectors_done, 0) \
	X(OP, "spec.detectors[]", "object", "", false, on_detector, on_detector_done, 0) \
	OOM_PERCENT_DETECTOR(X, "usage", OOM_DET_USAGE) \
	X(OP, "spec.detectors[].psi", "object", "", false, on_detector_kind, on_psi_done, \
	  OOM_DET_PSI) \
	X(OP, "spec.detectors[].psi.type", "enum", "some|full", false, on_psi_type, NULL, 0) \
	X(OP, "spec.detectors[].psi.avg10", "number", "", false, on_percent, NULL, OP_AVG10) \
	X(OP, "spec.detectors[].psi.stall", "duration", "", false, on_oom_duration, NULL, \
	  OD_STALL) \
	X(OP, "spec.detectors[].psi.window", "duration", "", false, on_oom_duration, NULL, \
	  OD_WINDOW) \
	OOM_PERCENT_DETECTOR(X, "swap", OOM_DET_SWAP) \
	X(OP, "spec.duration", "duration", "", false, on_oom_duration, NULL, OD_DURATION) \
	X(OP, "spec.victim", "object", "", false, NULL, NULL, 0) \
	X(OP, "spec.victim.strategy", "enum", "largest_rss|fastest_growth", false, on_strategy, \
	  NULL, 0) \
	X(OP, "spec.victim.oomScoreAdj", "bool", "", false, on_oom_flag, NULL, OF_SCORE_ADJ) \
	X(OP, "spec.victim.prefer", "object", "", false, on_selector, on_victim_sel_done, \
	  SEL_AT_PREFER) \
	SELECTOR(X, OP, "spec.victim.prefer") \
	X(OP, "spec.victim.avoid", "object", "", false, on_selector, on_victim_sel_done, \
	  SEL_AT_AVOID) \
	SELECTOR(X, OP, "spec.victim.avoid") \
	X(OP, "spec.kill", "enum", "process|process_group|cgroup", false, on_oom_kill, NULL, 0) \
	X(OP, "spec.dryRun", "bool", "", false, on_oom_flag, NULL, OF_DRY_RUN) \
	X(OP, "spec.postActionDelay", "duration", "", false, on_oom_duration, NULL, \
	  OD_POST_DELAY) \
	X(OP, "spec.preKillHook", "object", "", false, NULL, NULL, 0) \
	X(OP, "spec.preKillHook.command", "string", "", true, on_hook_command, NULL, 0) \
	X(OP, "spec.preKillHook.timeout", "duration", "", false, on_oom_duration, NULL, \
	  OD_HOOK_TIMEOUT) \
	X(OP, "spec.handoff", "bool", "", false, on_oom_flag, NULL, OF_HANDOFF) \
	X(OP, "spec.handoffDeadline", "duration", "", false, on_oom_duration, NULL, OD_DEADLINE) \
	X(LP, "spec", "object", "", true, on_leak_spec, NULL, 0) \
	X(LP, "spec.scope", "object", "", false, on_selector, on_leak_scope_done, \
	  SEL_AT_LEAK_SCOPE) \
	SELECTOR(X, LP, "spec.scope") \
	X(LP, "spec.threshold", "number", "", false, on_leak_number, NULL, LN_THRESHOLD) \
	X(LP, "spec.consecutive", "number", "", false, on_leak_number, NULL, LN_CONSECUTIVE) \
	X(LP, "spec.minGrowthPercent", "number", "", false, on_leak_number, NULL, LN_MIN_PCT) \
	X(LP, "spec.minGrowthMiB", "number", "", false, on_leak_number, NULL, LN_MIN_MIB) \
	X(LP, "spec.warmup", "duration", "", false, on_leak_duration, NULL, LD_WARMUP) \
	X(LP, "spec.window", "duration", "", false, on_leak_duration, NULL, LD_WINDOW)

#define DOC_ROW(kind, path, type, values, req, on, done, arg) { kind, path, type, values, req },
#define HOOK_ROW(kind, path, type, values, req, on, done, arg) { on, done, arg },

static const struct policy_key_doc schema[] = { SCHEMA(DOC_ROW) };
static const struct {
	hook_fn on, done;
	int arg;
} hooks[] = { SCHEMA(HOOK_ROW) };

#define N_KEYS ((int)(sizeof(schema) / sizeof(schema[0])))

size_t policy_schema(const struct policy_key_doc **out)
{
	*out = schema;
	return (size_t)N_KEYS;
}

static const char *key_name(int key)
{
	const char *dot = strrchr(schema[key].path, '.');

	return dot ? dot + 1 : schema[key].path;
}

static bool kind_ok(const struct walk *w, int k)
{
	return !strcmp(schema[k].kind, "*") ||
	       (w->kind && !strcmp(schema[k].kind, policy_kind_name(w->kind)));
}

/*
 * Keys of the grammar that a kind leaves out on purpose, with the reason:
 * someone who knows them from another kind is told why, not "unknown key".
 */
#define TRUST_NOT_BY_PROCESS \
	"a TrustPolicy selects workloads (the host, containers), not processes: trust is " \
	"decided per workload, and the program being run is what is judged, so selecting " \
	"it would be circular; to let a program run, add it to the trust store (docs/TRUST.md)"
#define OOM_NOT_BY_PROCESS \
	"an OomPolicy's scope selects memory cgroups, not processes: usage, swap and " \
	"pressure are accounted per memory cgroup; to choose among the processes of a " \
	"cgroup, use spec.victim.prefer and spec.victim.avoid"
static const struct {
	const char *kind, *parent, *key, *why;
} refused[] = {
	{ TP, "spec.rules[].selector", "binaries", TRUST_NOT_BY_PROCESS },
	{ TP, "spec.rules[].selector", "comms", TRUST_NOT_BY_PROCESS },
	{ OP, "spec.scope", "binaries", OOM_NOT_BY_PROCESS },
	{ OP, "spec.scope", "comms", OOM_NOT_BY_PROCESS },
	{ OP, "spec.scope", "scope", "spec.scope names memory cgroups by containerIds, podUIDs, "
	  "namespaces, pods and cgroups; to cover the whole node, leave spec.scope out" },
};

/* Row k's key name if it is a key of the mapping at row `parent` (-1: the document). */
static const char *child_name(int parent, int k)
{
	const char *pp = parent < 0 ? "" : schema[parent].path, *name = schema[k].path;
	size_t n = strlen(pp);

	if (n) {
		if (strncmp(name, pp, n) || name[n] != '.')
			return NULL;
		name += n + 1;
	}
	return strpbrk(name, ".[") ? NULL : name;
}

/* The "[]" row describing the items of list row k (kinds share paths). */
static int item_row(int k)
{
	size_t n = strlen(schema[k].path);
	int i;

	for (i = 0; i < N_KEYS; i++)
		if (strlen(schema[i].path) == n + 2 && !strncmp(schema[i].path, schema[k].path, n) &&
		    !strcmp(schema[i].path + n, "[]") && !strcmp(schema[i].kind, schema[k].kind))
			return i;
	return -1;
}

/* ---------------------------------------------------------------- the walker */

/* What row k wants, for messages: "a mapping", "a list of strings", "one of a, b". */
static void expected(int k, char *buf, size_t len)
{
	const char *t = schema[k].type;
	size_t o;

	if (!strcmp(t, "object")) {
		snprintf(buf, len, "a mapping");
	} else if (!strcmp(t, "list")) {
		int item = item_row(k);
		const char *it = item < 0 ? "" : schema[item].type;

		snprintf(buf, len, "a list of %s", !strcmp(it, "object") ? "mappings" :
			 !strcmp(it, "signal") ? "signals" : "strings");
	} else if (!strcmp(t, "enum")) {
		o = (size_t)snprintf(buf, len, "%s", strchr(schema[k].values, '|') ? "one of " : "");
		for (t = schema[k].values; *t && o + 3 < len; t++) {
			if (*t == '|') {
				buf[o++] = ',';
				buf[o++] = ' ';
			} else {
				buf[o++] = *t;
			}
		}
		buf[o] = '\0';
	} else if (!strcmp(t, "signal")) {
		snprintf(buf, len, "a signal name or number");
	} else if (!strcmp(t, "bool")) {
		snprintf(buf, len, "true or false");
	} else if (!strcmp(t, "number")) {
		snprintf(buf, len, "a number");
	} else if (!strcmp(t, "duration")) {
		snprintf(buf, len, "a duration");
	} else {
		snprintf(buf, len, "a string");
	}
}

/*
 * Aliases let a small file name the same big node many times; the walk
 * pays for what it visits (nodes, keys, bytes) and gives up past a budget
 * that no alias-free file can reach.
 */
static bool charge(struct walk *w, yaml_node_t *n)
{
	size_t cost = 1;
	yaml_node_pair_t *p;

	if (n->type == YAML_SCALAR_NODE)
		cost += n->data.scalar.length;
	else if (n->type == YAML_SEQUENCE_NODE)
		cost += seq_len(n);
	else if (n->type == YAML_MAPPING_NODE)
		for (p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top && cost <= w->budget; p++) {
			yaml_node_t *k = yaml_document_get_node(w->doc, p->key);

			cost += 1 + (k && k->type == YAML_SCALAR_NODE ? k->data.scalar.length : 0);
		}
	if (cost > w->budget) {
		error_at(w, &n->start_mark, "the document is too large once its aliases are expanded "
			 "(more than %u nodes and bytes); use fewer aliases", WALK_BUDGET);
		w->stop = true;
		return false;
	}
	w->budget -= cost;
	return true;
}

static void wrong_type(struct walk *w, const struct visit *v, const char *want)
{
	bool scope = !strcmp(schema[v->key].path, "spec.scope") &&
		     v->node->type == YAML_SCALAR_NODE;

	if (w->kind == POLICY_KIND_OOM && scope)
		error_at(w, is_null(v->node) ? v->at : &v->node->start_mark, "%s: expected a "
			 "mapping of memory cgroup selectors (containerIds, podUIDs, namespaces, "
			 "pods, cgroups), got %s; leave scope out to cover the whole node", v->path,
			 node_what(v->node));
	else if (w->kind == POLICY_KIND_LEAK && scope)
		error_at(w, is_null(v->node) ? v->at : &v->node->start_mark, "%s: expected a "
			 "mapping of selector fields (scope, containerIds, podUIDs, namespaces, "
			 "pods, cgroups, binaries, comms), got %s; leave scope out to cover every "
			 "process", v->path, node_what(v->node));
	else if (is_null(v->node))
		error_at(w, v->at, "%s: no value (expected %s)", v->path, want);
	else
		error_at(w, &v->node->start_mark, "%s: expected %s, got %s", v->path, want,
			 node_what(v->node));
}

static bool enum_ok(struct walk *w, const struct visit *v, const char *want)
{
	const char *p = schema[v->key].values, *bar, *hint = NULL;
	char word[64], hint_buf[64], shown[64];
	size_t n, best = SIZE_MAX;

	for (;; p = bar + 1) {
		bar = strchr(p, '|');
		n = bar ? (size_t)(bar - p) : strlen(p);
		if (n == v->len && !memcmp(p, v->s, n))
			return true;
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		if (near(v->s, v->len, word, &best)) {
			memcpy(hint_buf, word, sizeof(word));
			hint = hint_buf;
		}
		if (!bar)
			break;
	}
	show(v->s, v->len, shown, sizeof(shown));
	if (!strcmp(schema[v->key].path, "kind"))
		error_at(w, &v->node->start_mark, "kind: unknown kind \"%s\" (known kinds: %s)",
			 shown, strncmp(want, "one of ", 7) ? want : want + 7);
	else if (hint && strchr(schema[v->key].values, '|'))
		error_at(w, &v->node->start_mark, "%s: expected %s, got \"%s\" (did you mean \"%s\"?)",
			 v->path, want, shown, hint);
	else
		error_at(w, &v->node->start_mark, "%s: expected %s, got \"%s\"", v->path, want, shown);
	return false;
}

/*
 * "90%" for a percent and "64MiB" for a size in MiB repeat what the key
 * says: the number before the unit, or 0 bytes when there is no such unit.
 */
static size_t without_unit(const struct visit *v, const char **unit)
{
	const char *key = key_name(v->key);
	size_t n = v->len, ul;

	*unit = strstr(key, "ercent") || !strcmp(key, "avg10") ? "%" :
		strstr(key, "MiB") ? "MiB" : NULL;
	if (!*unit)
		return 0;
	ul = strlen(*unit);
	if (n <= ul || memcmp(v->s + n - ul, *unit, ul))
		return 0;
	for (n -= ul; n && v->s[n - 1] == ' '; n--)
		;
	return n;
}

static bool number_ok(struct walk *w, const struct visit *v, double *out)
{
	const char *key = key_name(v->key), *unit, *example = "90 or 12.5";
	char shown[64];
	size_t n;

	if (number_of(v->s, v->len, out))
		return true;
	show(v->s, v->len, shown, sizeof(shown));
	n = without_unit(v, &unit);
	if (!strcmp(key, "threshold"))
		example = "0.8 or 0.95";
	else if (!strcmp(key, "consecutive"))
		example = "6";
	if (n && number_of(v->s, n, out))
		error_at(w, &v->node->start_mark, "%s: expected a number, got \"%s\" (write %.*s: "
			 "the value is %s already)", v->path, shown, (int)n, v->s,
			 strcmp(unit, "%") ? "in MiB" : "a percent");
	else
		error_at(w, &v->node->start_mark, "%s: expected a number such as %s, got \"%s\"",
			 v->path, example, shown);
	return false;
}

static bool duration_ok(struct walk *w, const struct visit *v, uint64_t *us)
{
	char shown[64];

	show(v->s, v->len, shown, sizeof(shown));
	switch (duration_of(v->s, v->len, us)) {
	case DUR_OK:
		return true;
	case DUR_NO_UNIT:
		error_at(w, &v->node->start_mark, "%s: \"%s\" has no unit: write %ss or %sms "
			 "(units: us, ms, s, m)", v->path, shown, shown, shown);
		break;
	case DUR_TOO_FINE:
		error_at(w, &v->node->start_mark, "%s: \"%s\" is finer than a microsecond",
			 v->path, shown);
		break;
	case DUR_TOO_LONG:
		*us = UINT64_MAX;	/* the row's hook says what the range is */
		return true;
	default:
		error_at(w, &v->node->start_mark, "%s: expected a duration such as 500ms, 2s, "
			 "1.5s or 1m (units: us, ms, s, m), got \"%s\"", v->path, shown);
	}
	return false;
}

/* YAML 1.1 read yes/no/on/off as booleans too; here they are a mistake worth explaining. */
static void bool_error(struct walk *w, const struct visit *v, const char *want)
{
	static const char *const yaml11[] = { "yes", "no", "on", "off", "y", "n" };
	char shown[64];
	size_t i, best = SIZE_MAX;
	const char *hint = NULL;

	show(v->s, v->len, shown, sizeof(shown));
	for (i = 0; i < sizeof(yaml11) / sizeof(yaml11[0]); i++)
		if (!strcasecmp(v->s, yaml11[i])) {
			error_at(w, &v->node->start_mark, "%s: expected %s, got \"%s\" (write %s: "
				 "only true and false are booleans here)", v->path, want, shown,
				 i % 2 ? "false" : "true");
			return;
		}
	if (near(v->s, v->len, "true", &best))
		hint = "true";
	if (near(v->s, v->len, "false", &best))
		hint = "false";
	if (hint)
		error_at(w, &v->node->start_mark, "%s: expected %s, got \"%s\" (did you mean "
			 "\"%s\"?)", v->path, want, shown, hint);
	else
		error_at(w, &v->node->start_mark, "%s: expected %s, got \"%s\"", v->path, want,
			 shown);
}

static void walk_mapping(struct walk *w, int parent, yaml_node_t *n, const char *path);
static void walk_node(struct walk *w, int k, yaml_node_t *n, const char *path,
		      const yaml_mark_t *at, size_t index);

static void walk_items(struct walk *w, int k, yaml_node_t *n, const char *path)
{
	int item = item_row(k);
	yaml_node_item_t *it;
	char p[PATH_BUF];
	size_t i = 0;

	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top && !w->stop;
	     it++, i++) {
		yaml_node_t *c = yaml_document_get_node(w->doc, *it);

		if (!c || item < 0)
			continue;
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		walk_node(w, item, c, p, &c->start_mark, i);
	}
}

static void walk_node(struct walk *w, int k, yaml_node_t *n, const char *path,
		      const yaml_mark_t *at, size_t index)
{
	const char *type = schema[k].type;
	struct visit v = {
		.key = k, .node = n, .path = path, .at = at, .index = index, .arg = hooks[k].arg,
	};
	char want[128];
	bool map;

	if (w->stop || !charge(w, n))
		return;
	expected(k, want, sizeof(want));
	map = !strcmp(type, "object");
	if (map || !strcmp(type, "list")) {
		if (n->type != (map ? YAML_MAPPING_NODE : YAML_SEQUENCE_NODE)) {
			wrong_type(w, &v, want);
			return;
		}
		if (hooks[k].on)
			hooks[k].on(w, &v);
		if (map)
			walk_mapping(w, k, n, path);
		else
			walk_items(w, k, n, path);
		if (hooks[k].done && !w->stop)
			hooks[k].done(w, &v);
		return;
	}
	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		wrong_type(w, &v, want);
		return;
	}
	v.s = (const char *)n->data.scalar.value;
	v.len = n->data.scalar.length;
	if (memchr(v.s, '\0', v.len)) {
		error_at(w, &n->start_mark, "%s: must not contain a NUL byte", path);
		return;
	}
	if (!strcmp(type, "enum") && !enum_ok(w, &v, want))
		return;
	if (!strcmp(type, "bool") && bool_of(v.s) < 0) {
		bool_error(w, &v, want);
		return;
	}
	if (!strcmp(type, "number") && !number_ok(w, &v, &v.num))
		return;
	if (!strcmp(type, "duration") && !duration_ok(w, &v, &v.us))
		return;
	if (hooks[k].on && !w->stop)
		hooks[k].on(w, &v);
}

struct key_ref {
	const char *s;
	size_t len, pair;
};

static int key_ref_order(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	c = memcmp(x->s, y->s, x->len);
	if (c)
		return c;
	return x->pair < y->pair ? -1 : x->pair > y->pair;
}

/*
 * Report every key that repeats an earlier one in the same mapping, and
 * return which pairs to skip (NULL when there is nothing to skip).  Sorting
 * keeps a mapping of many labels from costing n^2.
 */
static bool *duplicates(struct walk *w, yaml_node_t *n, const char *path)
{
	yaml_node_pair_t *pairs = n->data.mapping.pairs.start;
	size_t np = (size_t)(n->data.mapping.pairs.top - pairs), m = 0, a, b;
	struct key_ref *refs;
	bool *dup;
	char shown[64];

	if (np < 2)
		return NULL;
	refs = malloc(np * sizeof(*refs));
	dup = calloc(np, sizeof(*dup));
	if (!refs || !dup) {
		free(refs);
		free(dup);
		w->nomem = w->stop = true;
		return NULL;
	}
	for (a = 0; a < np; a++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, pairs[a].key);

		if (k && k->type == YAML_SCALAR_NODE && !is_null(k))
			refs[m++] = (struct key_ref){ (const char *)k->data.scalar.value,
						      k->data.scalar.length, a };
	}
	qsort(refs, m, sizeof(*refs), key_ref_order);
	for (a = 0; a < m; a = b) {
		yaml_node_t *first = yaml_document_get_node(w->doc, pairs[refs[a].pair].key);

		for (b = a + 1; b < m && refs[b].len == refs[a].len &&
				!memcmp(refs[b].s, refs[a].s, refs[a].len); b++) {
			yaml_node_t *again = yaml_document_get_node(w->doc, pairs[refs[b].pair].key);

			dup[refs[b].pair] = true;
			error_at(w, &again->start_mark,
				 "%s%sduplicate key \"%s\" (first at line %zu, column %zu)", path,
				 sep(path), show(refs[b].s, refs[b].len, shown, sizeof(shown)),
				 first->start_mark.line + 1, first->start_mark.column + 1);
		}
	}
	free(refs);
	return dup;
}

/*
 * The row for `key` in the mapping at row `parent`.  Keys of another kind
 * are skipped silently (*other) while the kind is unknown: the wrong kind is
 * the one error to report then, not every key of the right one.
 */
static int find_child(const struct walk *w, int parent, const char *key, size_t len, bool *other)
{
	int k, any = -1;

	*other = false;
	for (k = 0; k < N_KEYS; k++) {
		const char *name = child_name(parent, k);

		if (!name)
			continue;
		if (!strcmp(name, "*")) {
			if (kind_ok(w, k))
				any = k;
			continue;
		}
		if (strlen(name) != len || memcmp(name, key, len))
			continue;
		if (kind_ok(w, k))
			return k;
		if (!w->kind)
			*other = true;
	}
	return any;
}

static void unknown_key(struct walk *w, int parent, const yaml_node_t *kn, const char *path)
{
	const char *key = (const char *)kn->data.scalar.value, *hint = NULL;
	size_t len = kn->data.scalar.length, best = SIZE_MAX, o = 0;
	char valid[256] = "", shown[64];
	int k;

	for (k = 0; k < N_KEYS; k++) {
		const char *name = child_name(parent, k);

		if (!name || !kind_ok(w, k) || !strcmp(name, "*"))
			continue;
		if (near(key, len, name, &best))
			hint = name;
		if (o < sizeof(valid))
			o += (size_t)snprintf(valid + o, sizeof(valid) - o, "%s%s", o ? ", " : "", name);
	}
	show(key, len, shown, sizeof(shown));
	if (len == 2 && !memcmp(key, "<<", 2))
		error_at(w, &kn->start_mark, "%s%smerge keys (<<) are not supported; alias a whole "
			 "mapping or repeat its keys", path, sep(path));
	else if (hint)
		error_at(w, &kn->start_mark, "%s%sunknown key \"%s\" (did you mean \"%s\"?)", path,
			 sep(path), shown, hint);
	else
		error_at(w, &kn->start_mark, "%s%sunknown key \"%s\" (valid keys: %s)", path,
			 sep(path), shown, valid);
}

/* A key this kind leaves out on purpose (refused[]): say why.  False for other keys. */
static bool refused_key(struct walk *w, int parent, const yaml_node_t *kn, const char *path)
{
	const char *key = (const char *)kn->data.scalar.value;
	size_t i;

	if (parent < 0 || !w->kind)
		return false;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (!strcmp(refused[i].kind, policy_kind_name(w->kind)) &&
		    !strcmp(refused[i].parent, schema[parent].path) &&
		    strlen(refused[i].key) == kn->data.scalar.length &&
		    !memcmp(refused[i].key, key, kn->data.scalar.length)) {
			error_at(w, &kn->start_mark, "%s%s%s: not allowed in %s %s: %s", path,
				 *path ? "." : "", refused[i].key,
				 strchr("AEIOU", refused[i].kind[0]) ? "an" : "a", refused[i].kind,
				 refused[i].why);
			return true;
		}
	return false;
}

static void walk_mapping(struct walk *w, int parent, yaml_node_t *n, const char *path)
{
	yaml_node_pair_t *pairs = n->data.mapping.pairs.start;
	size_t np = (size_t)(n->data.mapping.pairs.top - pairs), i;
	bool seen[N_KEYS], *dup, other;
	char p[PATH_BUF], shown[64];
	int k;

	memset(seen, 0, sizeof(seen));
	dup = duplicates(w, n, path);
	for (i = 0; i < np && !w->stop; i++) {
		yaml_node_t *kn = yaml_document_get_node(w->doc, pairs[i].key);
		yaml_node_t *vn = yaml_document_get_node(w->doc, pairs[i].value);
		const char *key;
		size_t len;

		if (!kn || !vn || (dup && dup[i]))
			continue;
		if (kn->type != YAML_SCALAR_NODE || is_null(kn)) {
			error_at(w, &kn->start_mark, "%s%sa key must be a string, got %s", path,
				 sep(path), node_what(kn));
			continue;
		}
		key = (const char *)kn->data.scalar.value;
		len = kn->data.scalar.length;
		k = find_child(w, parent, key, len, &other);
		if (k < 0) {
			if (!other && !refused_key(w, parent, kn, path))
				unknown_key(w, parent, kn, path);
			continue;
		}
		seen[k] = true;
		snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "",
			 strcmp(key_name(k), "*") ? key_name(k) : show(key, len, shown, sizeof(shown)));
		walk_node(w, k, vn, p, &kn->start_mark, 0);
	}
	free(dup);
	if (w->stop)
		return;
	for (k = 0; k < N_KEYS; k++) {
		const char *name = child_name(parent, k);

		if (name && schema[k].required && !seen[k] && kind_ok(w, k))
			error_at(w, &n->start_mark, "%s%smissing required key \"%s\"", path, sep(path),
				 name);
	}
}

/* ---------------------------------------------------------------- documents */

static void free_rules(struct policy_doc *pd)
{
	size_t i;

	for (i = 0; i < pd->n_rules; i++) {
		selector_free(&pd->rules[i].sender);
		selector_free(&pd->rules[i].target);
	}
	free(pd->rules);
	pd->rules = NULL;
	pd->n_rules = 0;
	for (i = 0; i < pd->n_trust_rules; i++)
		selector_free(&pd->trust_rules[i].selector);
	free(pd->trust_rules);
	pd->trust_rules = NULL;
	pd->n_trust_rules = 0;
	if (pd->oom) {
		selector_free(&pd->oom->scope);
		selector_free(&pd->oom->prefer);
		selector_free(&pd->oom->avoid);
		free(pd->oom);
		pd->oom = NULL;
	}
	if (pd->leak) {
		selector_free(&pd->leak->scope);
		free(pd->leak);
		pd->leak = NULL;
	}
}

/* The kind, read first: it decides which keys the rest may use. */
static enum policy_kind detect_kind(struct walk *w, yaml_node_t *root)
{
	yaml_node_pair_t *p;

	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);

		if (!k || k->type != YAML_SCALAR_NODE || strcmp((char *)k->data.scalar.value, "kind"))
			continue;
		if (v && v->type == YAML_SCALAR_NODE) {
			if (!strcmp((char *)v->data.scalar.value, policy_kind_name(POLICY_KIND_SIGNAL)))
				return POLICY_KIND_SIGNAL;
			if (!strcmp((char *)v->data.scalar.value, policy_kind_name(POLICY_KIND_TRUST)))
				return POLICY_KIND_TRUST;
			if (!strcmp((char *)v->data.scalar.value, policy_kind_name(POLICY_KIND_OOM)))
				return POLICY_KIND_OOM;
			if (!strcmp((char *)v->data.scalar.value,
				    policy_kind_name(POLICY_KIND_LEAK)))
				return POLICY_KIND_LEAK;
		}
		return 0;
	}
	return 0;
}

static int add_doc(struct policy_set *s, const struct policy_doc *pd)
{
	size_t n = s->n_docs;

	if (grows(n)) {
		struct policy_doc *v = realloc(s->docs, (n ? n * 2 : 4) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->docs = v;
	}
	s->docs[s->n_docs++] = *pd;
	return 0;
}

static void load_document(struct walk *w, yaml_node_t *root)
{
	if (is_null(root))
		return;			/* an empty document: "---" with nothing after */
	memset(&w->pd, 0, sizeof(w->pd));
	w->cap_rules = 0;
	w->doc_errors = 0;
	w->rule = NULL;
	w->trule = NULL;
	w->oom = NULL;
	memset(&w->om, 0, sizeof(w->om));
	w->leak = NULL;
	memset(&w->leak_scope, 0, sizeof(w->leak_scope));
	w->cur_name = NULL;
	w->sel = NULL;
	w->sm = NULL;
	snprintf(w->pd.file, sizeof(w->pd.file), "%s", w->file);
	w->pd.line = (int)root->start_mark.line + 1;
	w->pd.column = (int)root->start_mark.column + 1;
	w->n_docs++;
	if (root->type != YAML_MAPPING_NODE) {
		error_at(w, &root->start_mark, "expected a policy document (a mapping with "
			 "apiVersion, kind, metadata and spec), got %s", node_what(root));
	} else if (charge(w, root)) {
		w->kind = detect_kind(w, root);
		w->pd.kind = w->kind;
		walk_mapping(w, -1, root, "");
	}
	if (w->doc_errors || w->stop || add_doc(w->set, &w->pd)) {
		if (!w->doc_errors && !w->stop)
			w->nomem = w->stop = true;
		free_rules(&w->pd);
	}
	memset(&w->pd, 0, sizeof(w->pd));
}

/* libyaml's reader reports a byte offset; turn it into a line and a column in characters. */
static yaml_mark_t offset_mark(const char *t, size_t len, size_t off)
{
	yaml_mark_t m = { 0 };
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		if (t[i] == '\n' || (t[i] == '\r' && (i + 1 >= len || t[i + 1] != '\n'))) {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)t[i] & 0xc0) != 0x80 && t[i] != '\r') {
			m.column++;
		}
	}
	return m;
}

/* The byte that starts the character at a mark, or -1 past the end. */
static int byte_at(const char *t, size_t len, const yaml_mark_t *m)
{
	size_t i = 0, line = 0, col = 0;

	while (i < len && line < m->line) {
		if (t[i] == '\n' || (t[i] == '\r' && (i + 1 >= len || t[i + 1] != '\n')))
			line++;
		i++;
	}
	while (i < len && col < m->column) {
		i++;
		while (i < len && ((unsigned char)t[i] & 0xc0) == 0x80)
			i++;
		col++;
	}
	return i < len ? (unsigned char)t[i] : -1;
}

static void syntax_error(struct walk *w, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "malformed YAML";
	yaml_mark_t at = p->problem_mark;
	char ctx[128] = "";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		w->nomem = w->stop = true;
		return;
	case YAML_READER_ERROR:
		at = offset_mark(w->text, w->len, p->problem_offset);
		if (p->problem_value >= 0)
			error_at(w, &at, "invalid input: %s (0x%02x)", problem,
				 (unsigned)p->problem_value);
		else
			error_at(w, &at, "invalid input: %s", problem);
		return;
	default:
		if (p->context)
			snprintf(ctx, sizeof(ctx), " (%s at line %zu, column %zu)", p->context,
				 p->context_mark.line + 1, p->context_mark.column + 1);
		error_at(w, &at, "syntax error: %s%s%s", problem, ctx,
			 byte_at(w->text, w->len, &at) == '\t' ? "; indent with spaces, not tabs" : "");
	}
}

/*
 * libyaml's scanner rechecks every open flow level for each token, so deep
 * nesting costs quadratic time; an event pass stops at MAX_DEPTH before the
 * loader builds anything.  Syntax errors are left to the loader, which
 * reports them with the documents before them.
 */
static bool depth_ok(struct walk *w)
{
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned depth = 0;
	bool ok = true, done = false;

	if (!yaml_parser_initialize(&p)) {
		w->nomem = w->stop = true;
		return false;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)w->text, w->len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			if (p.error == YAML_MEMORY_ERROR) {
				w->nomem = w->stop = true;
				ok = false;
			}
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > MAX_DEPTH) {
				error_at(w, &ev.start_mark, "nested too deeply (more than %d levels)",
					 MAX_DEPTH);
				ok = false;
				done = true;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return ok;
}

int policy_load_buffer(struct policy_set *s, const char *name, const char *text, size_t len,
		       struct policy_diags *d)
{
	struct walk w = {
		.set = s, .d = d, .file = name ? name : "<policy>", .text = text ? text : "",
		.len = text ? len : 0, .first_diag = d->n, .budget = WALK_BUDGET,
	};
	size_t errors = d->errors;
	yaml_parser_t p;

	if (w.len > POLICY_MAX_FILE_BYTES) {
		error_at(&w, NULL, "file is too large (%zu bytes; at most %u)", w.len,
			 POLICY_MAX_FILE_BYTES);
		goto out;
	}
	s->n_files++;
	if (!depth_ok(&w))
		goto out;
	if (!yaml_parser_initialize(&p)) {
		w.nomem = true;
		goto out;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)w.text, w.len);
	while (!w.stop) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&p, &doc)) {
			syntax_error(&w, &p);
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (root) {
			w.doc = &doc;
			load_document(&w, root);
			w.doc = NULL;
		}
		yaml_document_delete(&doc);
		if (!root)
			break;
	}
	yaml_parser_delete(&p);
	if (!w.n_docs && d->n == w.first_diag)
		report(&w, NULL, true, "no policy documents in this file");
out:
	finish_file(&w);
	if (w.nomem)
		return -ENOMEM;
	return (int)(d->errors - errors);
}

/* ---------------------------------------------------------------- files and sets */

/* strerror, lower-cased to read as the rest of the messages. */
static int io_error(struct policy_diags *d, const char *file, const char *what, int err)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s", strerror(err));
	msg[0] = (char)tolower((unsigned char)msg[0]);
	return policy_diag_add(d, file, 0, 0, false, "%s%s", what, msg);
}

/*
 * Read a whole file and load it, unless it changed while we read it (an
 * editor or `kubectl cp` halfway through): then it is an error for now, and
 * the reloader's next look reads the finished file.
 */
static int load_file(struct policy_set *s, const char *path, struct policy_diags *d)
{
	struct stat before, after;
	size_t len = 0, cap;
	char *buf = NULL, *grown;
	int fd, err = 0;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return io_error(d, path, "", errno);
	if (fstat(fd, &before)) {
		err = io_error(d, path, "", errno);
		goto out;
	}
	if (S_ISREG(before.st_mode) && before.st_size > (off_t)POLICY_MAX_FILE_BYTES)
		goto too_large;
	cap = S_ISREG(before.st_mode) ? (size_t)before.st_size + 1 : 16384;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap > POLICY_MAX_FILE_BYTES)
				goto too_large;
			cap = cap * 2 > POLICY_MAX_FILE_BYTES + 1 ? POLICY_MAX_FILE_BYTES + 1 : cap * 2;
			grown = realloc(buf, cap);
			if (!grown) {
				err = -ENOMEM;
				goto out;
			}
			buf = grown;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = io_error(d, path, "read error: ", errno);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (fstat(fd, &after)) {
		err = io_error(d, path, "", errno);
		goto out;
	}
	if (S_ISREG(before.st_mode) &&
	    (after.st_size != before.st_size || (off_t)len != before.st_size ||
	     after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	     after.st_mtim.tv_nsec != before.st_mtim.tv_nsec)) {
		err = policy_diag_add(d, path, 0, 0, false, "file changed while being read");
		goto out;
	}
	err = policy_load_buffer(s, path, buf, len, d);
	if (err > 0)
		err = 0;
	goto out;
too_large:
	err = policy_diag_add(d, path, 0, 0, false, "file is too large (more than %u bytes)",
			      POLICY_MAX_FILE_BYTES);
out:
	free(buf);
	close(fd);
	return err;
}

static int name_filter(const struct dirent *e)
{
	return policy_file_name_ok(e->d_name);
}

static int name_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static bool join(char *buf, size_t len, const char *dir, const char *name)
{
	size_t n = strlen(dir);

	return (size_t)snprintf(buf, len, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/",
				name) < len;
}

static int load_dir(struct policy_set *s, const char *dir, struct policy_diags *d)
{
	struct dirent **names = NULL;
	char path[PATH_MAX];
	struct stat st;
	int n, i, err = 0;

	n = scandir(dir, &names, name_filter, name_order);
	if (n < 0)
		return io_error(d, dir, "", errno);
	for (i = 0; i < n; i++) {
		if (err >= 0) {
			if (!join(path, sizeof(path), dir, names[i]->d_name))
				err = io_error(d, dir, "", ENAMETOOLONG);
			else if (stat(path, &st))
				/* Gone since the listing, or a dangling link: nothing to read. */
				err = errno == ENOENT ? 0 : io_error(d, path, "", errno);
			else if (S_ISREG(st.st_mode))
				err = load_file(s, path, d);
		}
		free(names[i]);
	}
	free(names);
	return err;
}

int policy_load_paths(struct policy_set *s, char *const *paths, size_t n,
		      struct policy_diags *d)
{
	struct stat st;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		if (stat(paths[i], &st))
			err = errno == ENOENT ? 0 : io_error(d, paths[i], "", errno);
		else if (S_ISDIR(st.st_mode))
			err = load_dir(s, paths[i], d);
		else
			err = load_file(s, paths[i], d);
		if (err < 0)
			return err;
	}
	err = policy_set_finish(s, d);
	if (err < 0)
		return err;
	return (int)d->errors;
}

static int doc_order(const void *a, const void *b, void *set)
{
	const struct policy_doc *x = &((struct policy_set *)set)->docs[*(const size_t *)a];
	const struct policy_doc *y = &((struct policy_set *)set)->docs[*(const size_t *)b];
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	c = strcmp(x->name, y->name);
	if (c)
		return c;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* The first TrustPolicy rule past POLICY_MAX_TRUST_RULES, in load order, is the error. */
static int trust_rule_limit(const struct policy_set *s, struct policy_diags *d)
{
	size_t i, total = 0;

	for (i = 0; i < s->n_docs; i++) {
		const struct policy_doc *a = &s->docs[i];
		const struct trust_rule *r;

		if (a->kind != POLICY_KIND_TRUST)
			continue;
		if (total + a->n_trust_rules <= POLICY_MAX_TRUST_RULES) {
			total += a->n_trust_rules;
			continue;
		}
		r = &a->trust_rules[POLICY_MAX_TRUST_RULES - total];
		return policy_diag_add(d, a->file, r->line, r->column, false,
				       "too many trust rules: this is rule %d of all TrustPolicy "
				       "documents, the limit is %d", POLICY_MAX_TRUST_RULES + 1,
				       POLICY_MAX_TRUST_RULES);
	}
	return 0;
}

/* Every entry of `in` is an entry of `of`; *budget pays for the comparisons. */
static bool entries_within(const struct strlist *in, const struct strlist *of, size_t *budget)
{
	size_t i, j;

	if (in->n * of->n > *budget)
		return false;
	*budget -= in->n * of->n;
	for (i = 0; i < in->n; i++) {
		for (j = 0; j < of->n && strcmp(in->v[i], of->v[j]); j++)
			;
		if (j == of->n)
			return false;
	}
	return true;
}

/*
 * Rule e, earlier in load order, matches every workload rule l matches, so
 * l never decides anything (trustpolicy.h: the first match wins).  Exact
 * but not complete: e's cgroup-level fields must each hold all of l's
 * entries, so differently written globs that happen to cover the same
 * containers are not noticed.
 */
static bool trust_covers(struct selector *e, struct selector *l, size_t *budget)
{
	static const enum sel_field fields[] = {
		SF_CONTAINER_IDS, SF_POD_UIDS, SF_NAMESPACES, SF_PODS, SF_CGROUPS,
	};
	size_t i;

	/* The host: only rules without cgroup-level fields are asked about it. */
	if (selector_match_scope(l, false) && !selector_has_cgroup_fields(l) &&
	    !(selector_match_scope(e, false) && !selector_has_cgroup_fields(e)))
		return false;
	if (!selector_match_scope(l, true))
		return true;
	if (!selector_match_scope(e, true))
		return false;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct strlist *ef = sel_list(e, fields[i]), *lf = sel_list(l, fields[i]);

		if (ef->set && (!lf->set || !entries_within(lf, ef, budget)))
			return false;
	}
	return true;
}

/*
 * Warn about each TrustPolicy rule that an earlier one makes unreachable.
 * Pairs cost n^2, so only a set within the rule limit is looked at (past
 * it the set is refused anyway), and list comparisons have a budget.
 */
static int trust_shadowed(struct policy_set *s, struct policy_diags *d)
{
	size_t budget = 1u << 22, total = 0, li, lj, ei, ej;
	int err = 0;

	for (li = 0; li < s->n_docs; li++)
		if (s->docs[li].kind == POLICY_KIND_TRUST)
			total += s->docs[li].n_trust_rules;
	if (total > POLICY_MAX_TRUST_RULES)
		return 0;
	for (li = 0; li < s->n_docs && !err; li++) {
		const struct policy_doc *ld = &s->docs[li];

		if (ld->kind != POLICY_KIND_TRUST)
			continue;
		for (lj = 0; lj < ld->n_trust_rules && !err; lj++) {
			struct trust_rule *l = &ld->trust_rules[lj], *e = NULL;
			const struct policy_doc *ed = NULL;
			char where[PATH_MAX + 128];

			for (ei = 0; ei <= li && !e; ei++) {
				if (s->docs[ei].kind != POLICY_KIND_TRUST)
					continue;
				for (ej = 0; ej < (ei == li ? lj : s->docs[ei].n_trust_rules); ej++)
					if (trust_covers(&s->docs[ei].trust_rules[ej].selector,
							 &l->selector, &budget)) {
						ed = &s->docs[ei];
						e = &ed->trust_rules[ej];
						break;
					}
			}
			if (!e)
				continue;
			if (ed == ld)
				snprintf(where, sizeof(where), "line %d", e->line);
			else
				snprintf(where, sizeof(where), "TrustPolicy \"%s\", %s:%d", ed->name,
					 ed->file, e->line);
			err = policy_diag_add(d, ld->file, l->line, l->column, true,
					      "spec.rules[%zu]: rule \"%s\" never applies: rule \"%s\" "
					      "(%s) comes first and matches every workload this one "
					      "matches, and the first matching rule decides; put the "
					      "narrower rule first", lj, l->name, e->name, where);
		}
	}
	return err;
}

/*
 * The first document of `kind` past `max`, in load order, is the error.
 * *n is how many of the kind the set has (counted up to the error).
 */
static int doc_limit(const struct policy_set *s, struct policy_diags *d, enum policy_kind kind,
		     size_t max, size_t *n)
{
	size_t i;

	*n = 0;
	for (i = 0; i < s->n_docs; i++) {
		const struct policy_doc *a = &s->docs[i];

		if (a->kind != kind || ++*n <= max)
			continue;
		return policy_diag_add(d, a->file, a->line, a->column, false,
				       "too many %s documents: this is the %zuth of the set, "
				       "the limit is %zu", policy_kind_name(kind), *n, max);
	}
	return 0;
}

static const char *const sel_field_keys[SF_N] = {
	[SF_CONTAINER_IDS] = "containerIds", [SF_POD_UIDS] = "podUIDs",
	[SF_NAMESPACES] = "namespaces", [SF_PODS] = "pods", [SF_CGROUPS] = "cgroups",
	[SF_BINARIES] = "binaries", [SF_COMMS] = "comms",
};

/* An entry of `a` that is also an entry of `b`, or NULL; *budget pays for the comparisons. */
static const char *common_entry(const struct strlist *a, const struct strlist *b, size_t *budget)
{
	size_t i, j;

	if (a->n * b->n > *budget)
		return NULL;
	*budget -= a->n * b->n;
	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++)
			if (!strcmp(a->v[i], b->v[j]))
				return a->v[i];
	return NULL;
}

/*
 * Two OomPolicies plainly cover the same memory: both the whole node, or
 * scopes that share an entry in every cgroup-level field both set (and set
 * at least one field in common).  Globs are not compared, so "/batch*" and
 * "/batch/a*" go unnoticed.  *why says which.
 */
static bool oom_overlap(struct oom_policy *a, struct oom_policy *b, size_t *budget, char *why,
			size_t len)
{
	static const enum sel_field fields[] = {
		SF_CONTAINER_IDS, SF_POD_UIDS, SF_NAMESPACES, SF_PODS, SF_CGROUPS,
	};
	const char *entry, *first = NULL;
	char shown[64];
	size_t i;
	int f = 0;

	if (a->node || b->node) {
		snprintf(why, len, "both cover the whole node");
		return a->node && b->node;
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct strlist *la = sel_list(&a->scope, fields[i]);
		const struct strlist *lb = sel_list(&b->scope, fields[i]);

		if (!la->set || !lb->set)
			continue;
		entry = common_entry(la, lb, budget);
		if (!entry)
			return false;
		if (!first) {
			first = entry;
			f = fields[i];
		}
	}
	if (!first)
		return false;
	snprintf(why, len, "both select %s \"%s\"", sel_field_keys[f],
		 show(first, strlen(first), shown, sizeof(shown)));
	return true;
}

/*
 * Warn about each OomPolicy whose scope plainly overlaps an earlier one's:
 * both would act on one shortage, each with its own victim.
 */
static int oom_overlaps(struct policy_set *s, struct policy_diags *d)
{
	size_t budget = 1u << 20, i, j;
	char why[128];
	int err = 0;

	for (j = 1; j < s->n_docs && !err; j++) {
		struct policy_doc *b = &s->docs[j];

		if (b->kind != POLICY_KIND_OOM || !b->oom)
			continue;
		for (i = 0; i < j; i++) {
			struct policy_doc *a = &s->docs[i];

			if (a->kind != POLICY_KIND_OOM || !a->oom ||
			    !oom_overlap(a->oom, b->oom, &budget, why, sizeof(why)))
				continue;
			err = policy_diag_add(d, b->file, b->line, b->column, true,
					      "OomPolicy \"%s\" can act on the same memory as "
					      "OomPolicy \"%s\" (%s:%d): %s; each would pick a victim "
					      "of its own for one shortage, so merge them or make their "
					      "scopes disjoint", b->name, a->name, a->file, a->line,
					      why);
			break;
		}
	}
	return err;
}

/*
 * LeakPolicy e, earlier in load order, matches every process l matches, so
 * l never decides (policy.h: the first match does).  Exact but not
 * complete, as trust_covers(): each field e sets must be set in l with no
 * entry e lacks, and e's scope must allow wherever l's processes run.
 * Every field matches host processes too (a cgroup glob can name a
 * systemd unit), except the four that need a container.
 */
static bool leak_covers(struct leak_policy *e, struct leak_policy *l, size_t *budget)
{
	bool l_host = l->scope.scope != SEL_SCOPE_CONTAINERS;
	size_t i;
	int f;

	for (i = 0; i < N_CONTAINER_FIELDS; i++)
		l_host &= !sel_list(&l->scope, container_fields[i])->set;
	if (e->scope.scope == SEL_SCOPE_HOST && l->scope.scope != SEL_SCOPE_HOST)
		return false;
	if (e->scope.scope == SEL_SCOPE_CONTAINERS && l_host)
		return false;
	for (f = 0; f < SF_N; f++) {
		const struct strlist *ef = sel_list(&e->scope, f), *lf = sel_list(&l->scope, f);

		if (ef->set && (!lf->set || !entries_within(lf, ef, budget)))
			return false;
	}
	return true;
}

/*
 * Warn about each LeakPolicy that an earlier one makes unreachable: one
 * with the same scope, or any after one without a scope.  Pairs cost n^2,
 * so only a set within the document limit is looked at.
 */
static int leak_shadowed(struct policy_set *s, struct policy_diags *d)
{
	size_t budget = 1u << 20, i, j;
	const char *why;
	int err = 0;

	for (j = 1; j < s->n_docs && !err; j++) {
		struct policy_doc *b = &s->docs[j];

		if (b->kind != POLICY_KIND_LEAK || !b->leak)
			continue;
		for (i = 0; i < j; i++) {
			struct policy_doc *a = &s->docs[i];

			if (a->kind != POLICY_KIND_LEAK || !a->leak ||
			    !leak_covers(a->leak, b->leak, &budget))
				continue;
			if (a->leak->all && b->leak->all)
				why = "has no scope either, so it covers every process";
			else if (a->leak->all)
				why = "has no scope, so it covers every process";
			else if (b->leak->all)
				why = "covers every process";
			else if (leak_covers(b->leak, a->leak, &budget))
				why = "has the same scope";
			else
				why = "covers every process this one's scope matches";
			err = policy_diag_add(d, b->file, b->line, b->column, true,
					      "LeakPolicy \"%s\" never applies: LeakPolicy \"%s\" "
					      "(%s:%d) comes first and %s, and the first "
					      "matching LeakPolicy decides; merge them, or put the "
					      "narrower one first (files load in name order)",
					      b->name, a->name, a->file, a->line, why);
			break;
		}
	}
	return err;
}

int policy_set_finish(struct policy_set *s, struct policy_diags *d)
{
	size_t before = d->errors, i, j, total = 0, *idx, *first;
	int err = 0;

	/* Same kind and name: sorted, so thousands of documents do not cost n^2. */
	idx = malloc((s->n_docs + 1) * sizeof(*idx));
	first = malloc((s->n_docs + 1) * sizeof(*first));
	if (!idx || !first) {
		free(idx);
		free(first);
		return -ENOMEM;
	}
	for (i = 0; i < s->n_docs; i++) {
		idx[i] = i;
		first[i] = i;
	}
	qsort_r(idx, s->n_docs, sizeof(*idx), doc_order, s);
	for (i = 1; i < s->n_docs; i++) {
		const struct policy_doc *a = &s->docs[idx[i]], *b = &s->docs[idx[i - 1]];

		if (a->kind == b->kind && !strcmp(a->name, b->name))
			first[idx[i]] = first[idx[i - 1]];
	}
	for (i = 0; i < s->n_docs && !err; i++) {
		const struct policy_doc *a = &s->docs[i], *b = &s->docs[first[i]];

		if (first[i] != i)
			err = policy_diag_add(d, a->file, a->line, a->column, false,
					      "duplicate %s \"%s\" (first defined at %s:%d)",
					      policy_kind_name(a->kind), a->name, b->file, b->line);
	}
	free(idx);
	free(first);

	for (i = 0; i < s->n_docs && !err; i++) {
		const struct policy_doc *a = &s->docs[i];

		if (a->kind != POLICY_KIND_SIGNAL)
			continue;
		for (j = 0; j < a->n_rules; j++) {
			if (++total <= POLICY_MAX_SIGNAL_RULES)
				continue;
			err = policy_diag_add(d, a->file, a->rules[j].line, a->rules[j].column, false,
					      "too many signal rules: this is rule %zu of all "
					      "policies, the limit is %d", total,
					      POLICY_MAX_SIGNAL_RULES);
			goto out;
		}
	}
out:
	if (!err)
		err = trust_rule_limit(s, d);
	if (!err)
		err = trust_shadowed(s, d);
	if (!err)
		err = doc_limit(s, d, POLICY_KIND_OOM, POLICY_MAX_OOM_POLICIES, &total);
	if (!err && total <= POLICY_MAX_OOM_POLICIES)
		err = oom_overlaps(s, d);
	if (!err)
		err = doc_limit(s, d, POLICY_KIND_LEAK, POLICY_MAX_LEAK_POLICIES, &total);
	if (!err && total <= POLICY_MAX_LEAK_POLICIES)
		err = leak_shadowed(s, d);
	if (err < 0)
		return err;
	return (int)(d->errors - before);
}

void policy_set_free(struct policy_set *s)
{
	size_t i;

	for (i = 0; i < s->n_docs; i++)
		free_rules(&s->docs[i]);
	free(s->docs);
	memset(s, 0, sizeof(*s));
}

bool policy_file_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || name[0] == '.' || name[0] == '#' || name[n - 1] == '~')
		return false;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

enum policy_dir_state policy_dir_state(const char *dir)
{
	enum policy_dir_state st = POLICY_DIR_EMPTY;
	char path[PATH_MAX];
	struct dirent *e;
	struct stat sb;
	DIR *dh;

	if (stat(dir, &sb))
		return errno == ENOENT || errno == ENOTDIR ? POLICY_DIR_MISSING :
							     POLICY_DIR_UNREADABLE;
	if (!S_ISDIR(sb.st_mode))
		return POLICY_DIR_NOT_DIR;
	dh = opendir(dir);
	if (!dh)
		return POLICY_DIR_UNREADABLE;
	while (st == POLICY_DIR_EMPTY && (e = readdir(dh)))
		if (policy_file_name_ok(e->d_name) && join(path, sizeof(path), dir, e->d_name) &&
		    !stat(path, &sb) && S_ISREG(sb.st_mode))
			st = POLICY_DIR_OK;
	closedir(dh);
	return st;
}

const char *policy_dir_state_name(enum policy_dir_state st)
{
	switch (st) {
	case POLICY_DIR_OK:
		return "ok";
	case POLICY_DIR_MISSING:
		return "missing";
	case POLICY_DIR_UNREADABLE:
		return "unreadable";
	case POLICY_DIR_EMPTY:
		return "empty";
	case POLICY_DIR_NOT_DIR:
		return "not a directory";
	}
	return "unknown";
}
