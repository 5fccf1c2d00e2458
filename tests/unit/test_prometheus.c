/*
 * test_prometheus.c - the Prometheus exporter (exporters/prometheus.c):
 * the text exposition rendered from the registry, the listen-address
 * parser, and the HTTP endpoints served on a real libevent base.
 *
 * Label values come from cgroup paths and process names, which are
 * arbitrary bytes, so every render here is also run through this file's own
 * strict parser of the text format (0.0.4): a value that breaks out of its
 * quotes, an unescaped newline or a byte that is not UTF-8 fails the test
 * wherever it lands, not only where a test happens to look.
 *
 * The HTTP tests talk to the server over loopback with a plain socket and
 * drive the event loop by hand (EVLOOP_NONBLOCK) a bounded number of times.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "metrics.h"
#include "prometheus.h"
#include "utf8_oracle.h"

#define FFFD "\xef\xbf\xbd"
#define CTYPE "text/plain; version=0.0.4; charset=utf-8"

static struct vigil_metrics reg;

static void reg_setup(void)
{
	metrics_init(&reg);
}

static void reg_teardown(void)
{
	metrics_free(&reg);
}

TestSuite(render, .init = reg_setup, .fini = reg_teardown);
TestSuite(addr);

/* ---- a validating parser for the text format -------------------------------- */

struct pseries {
	char *family;
	unsigned nlabels;
	char *lname[VIGIL_METRIC_MAX_LABELS];
	char *lval[VIGIL_METRIC_MAX_LABELS];	/* unescaped */
	char *value;				/* as written */
};

struct parsed {
	struct pseries *s;
	unsigned n, cap;
	unsigned nfamilies;
	char *help[64];		/* unescaped, per family */
	char *fname[64];
	char *ftype[64];
	char err[512];
};

static void parsed_free(struct parsed *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		for (unsigned k = 0; k < p->s[i].nlabels; k++) {
			free(p->s[i].lname[k]);
			free(p->s[i].lval[k]);
		}
		free(p->s[i].family);
		free(p->s[i].value);
	}
	for (unsigned i = 0; i < p->nfamilies; i++) {
		free(p->help[i]);
		free(p->fname[i]);
		free(p->ftype[i]);
	}
	free(p->s);
	memset(p, 0, sizeof(*p));
}

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	cr_assert_not_null(d);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* Length of a metric (label=false) or label name at s; 0 if none. */
static size_t name_len(const char *s, const char *end, bool label)
{
	size_t n = 0;

	while (s + n < end) {
		char c = s[n];
		bool first = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (!label && c == ':');

		if (!first && (n == 0 || !(c >= '0' && c <= '9')))
			break;
		n++;
	}
	return n;
}

/* A sample value: NaN, +Inf, -Inf or a Go-parseable float, nothing else. */
static bool value_ok(const char *v, size_t n)
{
	char buf[64], *end;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, v, n);
	buf[n] = 0;
	if (!strcmp(buf, "NaN") || !strcmp(buf, "+Inf") || !strcmp(buf, "-Inf"))
		return true;
	if (strspn(buf, "0123456789.eE+-") != n)
		return false;	/* rejects "inf", "nan", hex floats, spaces */
	strtod(buf, &end);
	return *end == 0;
}

#define PFAIL(p, ...)                                                                      \
	do {                                                                               \
		snprintf((p)->err, sizeof((p)->err), __VA_ARGS__);                         \
		return false;                                                              \
	} while (0)

/*
 * Unescape text between s and end, allowing only the escapes in `allowed`
 * (besides "\\\\" and "\\n").  Stops at an unescaped `stop` (0 = none) and
 * returns a pointer to it, or NULL on a bad escape or a missing stop.
 */
static const char *unescape(const char *s, const char *end, char stop, bool quote_esc,
			    char **out)
{
	char *o = malloc(end - s + 1), *w = o;

	cr_assert_not_null(o);
	while (s < end && (!stop || *s != stop)) {
		if (*s == '\\') {
			if (s + 1 >= end)
				goto bad;
			if (s[1] == '\\')
				*w++ = '\\';
			else if (s[1] == 'n')
				*w++ = '\n';
			else if (quote_esc && s[1] == '"')
				*w++ = '"';
			else
				goto bad;
			s += 2;
			continue;
		}
		if (*s == '"' && quote_esc)
			goto bad;	/* can't happen: '"' is the stop */
		*w++ = *s++;
	}
	if (stop && s >= end)
		goto bad;
	*w = 0;
	*out = o;
	return s;
bad:
	free(o);
	*out = NULL;
	return NULL;
}

static bool parse_series_line(struct parsed *p, const char *l, const char *end)
{
	struct pseries ps = { 0 };
	size_t n = name_len(l, end, false);
	const char *cur = p->nfamilies ? p->fname[p->nfamilies - 1] : NULL;
	bool ok = false;

	if (!n)
		PFAIL(p, "series line without a metric name: %.*s", (int)(end - l), l);
	if (!cur || strlen(cur) != n || strncmp(cur, l, n))
		PFAIL(p, "series outside its family's HELP/TYPE block: %.*s", (int)(end - l), l);
	ps.family = dupn(l, n);
	l += n;
	if (l < end && *l == '{') {
		l++;
		for (;;) {
			char *v;

			if (ps.nlabels == VIGIL_METRIC_MAX_LABELS) {
				snprintf(p->err, sizeof(p->err), "too many labels");
				goto out;
			}
			n = name_len(l, end, true);
			if (!n || l + n + 2 > end || l[n] != '=' || l[n + 1] != '"') {
				snprintf(p->err, sizeof(p->err), "bad label at: %.*s", (int)(end - l), l);
				goto out;
			}
			ps.lname[ps.nlabels] = dupn(l, n);
			for (unsigned k = 0; k < ps.nlabels; k++)
				if (!strcmp(ps.lname[k], ps.lname[ps.nlabels])) {
					ps.nlabels++;
					snprintf(p->err, sizeof(p->err), "label %s twice", ps.lname[k]);
					goto out;
				}
			l = unescape(l + n + 2, end, '"', true, &v);
			ps.lval[ps.nlabels++] = v;
			if (!l) {
				snprintf(p->err, sizeof(p->err), "bad escape or unterminated label value");
				goto out;
			}
			l++;	/* the closing quote */
			if (l < end && *l == ',') {
				l++;
				continue;
			}
			if (l < end && *l == '}') {
				l++;
				break;
			}
			snprintf(p->err, sizeof(p->err), "want , or } after a label value: %.*s",
				 (int)(end - l), l);
			goto out;
		}
	}
	if (l >= end || *l != ' ') {
		snprintf(p->err, sizeof(p->err), "want one space before the value: %.*s",
			 (int)(end - l), l);
		goto out;
	}
	l++;
	if (!value_ok(l, end - l)) {
		snprintf(p->err, sizeof(p->err), "bad sample value '%.*s'", (int)(end - l), l);
		goto out;
	}
	ps.value = dupn(l, end - l);
	/* One series per label set within a family. */
	for (unsigned i = 0; i < p->n; i++) {
		struct pseries *o = &p->s[i];
		bool same = !strcmp(o->family, ps.family) && o->nlabels == ps.nlabels;

		for (unsigned k = 0; same && k < ps.nlabels; k++)
			same = !strcmp(o->lname[k], ps.lname[k]) && !strcmp(o->lval[k], ps.lval[k]);
		if (same) {
			snprintf(p->err, sizeof(p->err), "series %u repeats series %u of %s (first label '%s')",
				 p->n, i, ps.family, ps.nlabels ? ps.lval[0] : "");
			goto out;
		}
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->s = realloc(p->s, p->cap * sizeof(*p->s));
		cr_assert_not_null(p->s);
	}
	p->s[p->n++] = ps;
	return true;
out:
	for (unsigned k = 0; k < ps.nlabels; k++) {
		free(ps.lname[k]);
		free(ps.lval[k]);
	}
	if (ps.nlabels < VIGIL_METRIC_MAX_LABELS)
		free(ps.lname[ps.nlabels]);
	free(ps.family);
	free(ps.value);
	return ok;
}

/* The whole exposition: HELP, TYPE, then that family's series, per family. */
static bool parse_exposition(const char *text, size_t len, struct parsed *p)
{
	const char *l = text, *end = text + len;
	bool want_type = false;

	memset(p, 0, sizeof(*p));
	if (strlen(text) != len)
		PFAIL(p, "length %zu but a NUL at %zu", len, strlen(text));
	if (!utf8_ok((const unsigned char *)text, len))
		PFAIL(p, "not valid UTF-8");
	if (len && text[len - 1] != '\n')
		PFAIL(p, "does not end in a newline");
	while (l < end) {
		const char *nl = memchr(l, '\n', end - l);
		size_t n;

		if (want_type) {
			const char *fam = p->fname[p->nfamilies - 1];
			size_t fl = strlen(fam);

			if ((size_t)(nl - l) < 7 + fl + 1 || strncmp(l, "# TYPE ", 7) ||
			    strncmp(l + 7, fam, fl) || l[7 + fl] != ' ')
				PFAIL(p, "HELP for %s not followed by its TYPE: %.*s", fam,
				      (int)(nl - l), l);
			p->ftype[p->nfamilies - 1] = dupn(l + 8 + fl, nl - (l + 8 + fl));
			if (strcmp(p->ftype[p->nfamilies - 1], "counter") &&
			    strcmp(p->ftype[p->nfamilies - 1], "gauge"))
				PFAIL(p, "TYPE %s is '%s'", fam, p->ftype[p->nfamilies - 1]);
			want_type = false;
		} else if (!strncmp(l, "# HELP ", 7)) {
			char *help;

			n = name_len(l + 7, nl, false);
			if (!n || l[7 + n] != ' ')
				PFAIL(p, "bad HELP line: %.*s", (int)(nl - l), l);
			if (p->nfamilies == 64)
				PFAIL(p, "too many families for this parser");
			for (unsigned i = 0; i < p->nfamilies; i++)
				if (strlen(p->fname[i]) == n && !strncmp(p->fname[i], l + 7, n))
					PFAIL(p, "family %.*s twice", (int)n, l + 7);
			if (!unescape(l + 8 + n, nl, 0, false, &help))
				PFAIL(p, "bad escape in HELP: %.*s", (int)(nl - l), l);
			p->fname[p->nfamilies] = dupn(l + 7, n);
			p->help[p->nfamilies] = help;
			p->nfamilies++;
			want_type = true;
		} else if (*l == '#' || l == nl) {
			PFAIL(p, "unexpected line: %.*s", (int)(nl - l), l);
		} else if (!parse_series_line(p, l, nl)) {
			return false;
		}
		l = nl + 1;
	}
	if (want_type)
		PFAIL(p, "last HELP has no TYPE");
	return true;
}

/* Render the registry, check it parses, and hand both back. */
static char *render_ok(struct parsed *p, size_t *lenp)
{
	char *text = NULL;
	size_t len = 0;

	cr_assert_eq(prometheus_render(&reg, &text, &len), 0);
	cr_assert_not_null(text);
	if (!parse_exposition(text, len, p)) {
		cr_expect_fail("render output is not valid: %s\n---\n%s---", p->err, text);
		parsed_free(p);
		free(text);
		cr_assert_fail("render output is not valid");
	}
	if (lenp)
		*lenp = len;
	return text;
}

/* ---- the parser itself: it must catch what it is here to catch ------------- */

Test(render, the_test_parser_refuses_broken_expositions)
{
	const char *bad[] = {
		"x 1\n",						/* no HELP/TYPE */
		"# HELP x h\nx 1\n",					/* no TYPE */
		"# HELP x h\n# TYPE x summary\n",			/* unknown type */
		"# HELP x h\n# TYPE x gauge\nx{a=\"q\"q\"} 1\n",	/* raw quote */
		"# HELP x h\n# TYPE x gauge\nx{a=\"q\\t\"} 1\n",	/* bad escape */
		"# HELP x h\n# TYPE x gauge\nx{a=\"q} 1\n",		/* unterminated */
		"# HELP x h\n# TYPE x gauge\nx{a=\"\xff\"} 1\n",	/* not UTF-8 */
		"# HELP x h\n# TYPE x gauge\nx{a=\"\xc0\xaf\"} 1\n",	/* overlong */
		"# HELP x h\n# TYPE x gauge\nx{a=\"\xed\xa0\x80\"} 1\n",	/* surrogate */
		"# HELP x h\n# TYPE x gauge\nx 1x\n",			/* bad value */
		"# HELP x h\n# TYPE x gauge\nx inf\n",			/* not +Inf */
		"# HELP x h\n# TYPE x gauge\nx  1\n",			/* two spaces */
		"# HELP x h\n# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",	/* label twice */
		"# HELP x h\n# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",	/* dup series */
		"# HELP x h\n# TYPE x gauge\ny 1\n",			/* wrong family */
		"# HELP x a\\b\n# TYPE x gauge\n",			/* bad HELP escape */
		"# HELP x h\n# TYPE x gauge\nx 1",			/* no final newline */
	};
	static const char good[] = "# HELP x a \"q\" \\\\ \\n\n# TYPE x gauge\n"
				   "x{a=\"\\\"\\\\\\n\",b=\"\xc3\xa9\"} -1.5e-07\nx{a=\"\"} NaN\n";
	struct parsed p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_not(parse_exposition(bad[i], strlen(bad[i]), &p),
			      "parser accepted case %zu: %s", i, bad[i]);
		parsed_free(&p);
	}
	cr_expect(parse_exposition(good, strlen(good), &p), "parser refused a valid exposition: %s",
		  p.err);
	parsed_free(&p);
}

/* ---- render: structure ---------------------------------------------------- */

static struct vigil_metric_family *fam(const char *name, const char *help,
				       enum vigil_metric_type type, const char *const *labels)
{
	struct vigil_metric_family *f = metrics_family(&reg, name, help, type, labels, 0);

	cr_assert_not_null(f, "registering %s failed", name);
	return f;
}

Test(render, an_empty_registry_renders_as_empty_text)
{
	char *text = NULL;
	size_t len = 99;

	cr_assert_eq(prometheus_render(&reg, &text, &len), 0);
	cr_assert_not_null(text);
	cr_expect_eq(len, 0);
	cr_expect_str_eq(text, "");
	free(text);
}

Test(render, every_family_gets_help_and_type_lines_even_without_series)
{
	struct parsed p;
	char *text;

	fam("a_total", "Things counted.", VIGIL_METRIC_COUNTER, NULL);
	fam("b", "Bees now.", VIGIL_METRIC_GAUGE, NULL);
	text = render_ok(&p, NULL);
	cr_expect_str_eq(text, "# HELP a_total Things counted.\n# TYPE a_total counter\n"
			       "# HELP b Bees now.\n# TYPE b gauge\n");
	cr_expect_eq(p.nfamilies, 2);
	cr_expect_eq(p.n, 0);
	free(text);
	parsed_free(&p);
}

Test(render, series_lines_carry_quoted_labels_and_label_less_families_have_no_braces)
{
	const char *const ab[] = { "a", "b", NULL };
	struct vigil_metric_family *req = fam("req_total", "Requests.", VIGIL_METRIC_COUNTER, ab);
	struct vigil_metric_family *temp = fam("temp", "Temperature.", VIGIL_METRIC_GAUGE, NULL);
	const char *xy[] = { "x", "y" }, *ez[] = { "", "z" };
	struct parsed p;
	size_t len;
	char *text;

	metrics_add(metrics_series(req, xy), 3);
	metrics_series(req, ez);
	metrics_set(metrics_series(temp, NULL), 0.5);
	text = render_ok(&p, &len);
	cr_expect_str_eq(text, "# HELP req_total Requests.\n"
			       "# TYPE req_total counter\n"
			       "req_total{a=\"x\",b=\"y\"} 3\n"
			       "req_total{a=\"\",b=\"z\"} 0\n"
			       "# HELP temp Temperature.\n"
			       "# TYPE temp gauge\n"
			       "temp 0.5\n");
	cr_expect_eq(len, strlen(text));
	cr_expect_eq(p.n, 3);
	free(text);
	parsed_free(&p);
}

Test(render, families_and_series_render_in_registration_and_creation_order)
{
	const char *const l[] = { "k", NULL };
	struct vigil_metric_family *z = fam("zz", "h", VIGIL_METRIC_GAUGE, l);
	struct vigil_metric_family *a = fam("aa", "h", VIGIL_METRIC_GAUGE, l);
	const char *v3[] = { "3" }, *v1[] = { "1" }, *v2[] = { "2" };
	struct parsed p;
	char *text;

	metrics_series(a, v1);
	metrics_series(z, v3);
	metrics_series(z, v1);
	metrics_series(z, v2);
	text = render_ok(&p, NULL);
	cr_assert_eq(p.n, 4);
	cr_expect_str_eq(p.fname[0], "zz");
	cr_expect_str_eq(p.fname[1], "aa");
	cr_expect_str_eq(p.s[0].lval[0], "3");
	cr_expect_str_eq(p.s[1].lval[0], "1");
	cr_expect_str_eq(p.s[2].lval[0], "2");
	cr_expect_str_eq(p.s[3].family, "aa");
	free(text);
	parsed_free(&p);
}

Test(render, the_overflow_series_renders_with_every_label_set_to_overflow)
{
	const char *const l[] = { "container", "reason", NULL };
	struct vigil_metric_family *f =
		metrics_family(&reg, "drops_total", "h", VIGIL_METRIC_COUNTER, l, 1);
	const char *a[] = { "a", "x" }, *b[] = { "b", "x" };
	struct parsed p;
	char *text;

	cr_assert_not_null(f);
	metrics_add(metrics_series(f, a), 1);
	metrics_add(metrics_series(f, b), 2);
	text = render_ok(&p, NULL);
	cr_expect(strstr(text, "\ndrops_total{container=\"_overflow\",reason=\"_overflow\"} 2\n"),
		  "%s", text);
	free(text);
	parsed_free(&p);
}

/* ---- render: values --------------------------------------------------------- */

/* The sample text for one gauge holding v. */
static char *render_value(double v)
{
	struct vigil_metric_family *f;
	struct parsed p;
	char *text, *out;

	metrics_free(&reg);
	metrics_init(&reg);
	f = fam("v", "h", VIGIL_METRIC_GAUGE, NULL);
	metrics_set(metrics_series(f, NULL), v);
	text = render_ok(&p, NULL);
	cr_assert_eq(p.n, 1);
	out = strdup(p.s[0].value);
	free(text);
	parsed_free(&p);
	return out;
}

static void expect_value(double v, const char *want)
{
	char *got = render_value(v);

	cr_expect_str_eq(got, want, "value %.17g rendered as '%s', want '%s'", v, got, want);
	free(got);
}

/* v renders as something that reads back as exactly v. */
static void expect_round_trip(double v)
{
	char *got = render_value(v);

	cr_expect_eq(strtod(got, NULL), v, "value %.17g rendered as '%s'", v, got);
	free(got);
}

Test(render, integral_values_render_without_exponent_or_decimal_point)
{
	expect_value(0, "0");
	expect_value(42, "42");
	expect_value(-3, "-3");
	expect_value(1e15, "1000000000000000");
	expect_value(-1e15, "-1000000000000000");
	expect_value(123456789012.0, "123456789012");
	expect_value(9007199254740991.0, "9007199254740991");
}

Test(render, fractional_values_render_exactly)
{
	expect_value(0.5, "0.5");
	expect_value(-2.25, "-2.25");
	expect_round_trip(0.1);
	expect_round_trip(1.0 / 3.0);
	expect_round_trip(1.5e-7);
	expect_round_trip(4.9e-324);
}

Test(render, values_beyond_the_int64_range_render_exactly)
{
	expect_round_trip(9007199254740992.0);
	expect_round_trip(1e19);
	expect_round_trip(-1e19);
	expect_round_trip(9223372036854775808.0);
	expect_round_trip(1e300);
	expect_round_trip(-1.7976931348623157e308);
}

Test(render, nan_and_infinities_use_the_prometheus_spelling)
{
	expect_value(NAN, "NaN");
	expect_value(INFINITY, "+Inf");
	expect_value(-INFINITY, "-Inf");
}

/* ---- render: escaping ------------------------------------------------------- */

/* The label value as rendered between its quotes, for one series. */
static char *rendered_label(const char *value)
{
	const char *const l[] = { "v", NULL };
	const char *vals[] = { value };
	struct vigil_metric_family *f;
	struct parsed p;
	char *text, *start, *end, *out;

	metrics_free(&reg);
	metrics_init(&reg);
	f = fam("x", "h", VIGIL_METRIC_GAUGE, l);
	metrics_set(metrics_series(f, vals), 1);
	text = render_ok(&p, NULL);
	start = strstr(text, "\nx{v=\"");
	cr_assert_not_null(start, "%s", text);
	start += 6;
	end = strstr(start, "\"} 1\n");
	cr_assert_not_null(end, "%s", text);
	cr_assert_null(strstr(end + 5, "\"} 1\n"), "more than one series line:\n%s", text);
	out = dupn(start, end - start);
	free(text);
	parsed_free(&p);
	return out;
}

static void expect_label(const char *value, const char *want)
{
	char *got = rendered_label(value);

	cr_expect_str_eq(got, want, "label value rendered as '%s', want '%s'", got, want);
	free(got);
}

/* Rendered as prefix, then one or more U+FFFD, then suffix. */
static void expect_replaced(const char *value, const char *prefix, const char *suffix)
{
	char *got = rendered_label(value);
	size_t pl = strlen(prefix), sl = strlen(suffix), gl = strlen(got);
	size_t mid = gl - pl - sl;
	bool ok = gl >= pl + sl + 3 && !strncmp(got, prefix, pl) &&
		  !strcmp(got + gl - sl, suffix) && mid % 3 == 0;

	for (size_t i = 0; ok && i < mid; i += 3)
		ok = !memcmp(got + pl + i, FFFD, 3);
	cr_expect(ok, "invalid UTF-8 rendered as '%s', want '%s' U+FFFD... '%s'", got, prefix,
		  suffix);
	free(got);
}

Test(render, backslash_quote_and_newline_in_label_values_are_escaped)
{
	expect_label("back\\slash", "back\\\\slash");
	expect_label("say \"hi\"", "say \\\"hi\\\"");
	expect_label("two\nlines", "two\\nlines");
	expect_label("\\\"", "\\\\\\\"");
	expect_label("trailing\\", "trailing\\\\");
	expect_label("\\n is not a newline", "\\\\n is not a newline");
}

Test(render, other_bytes_in_label_values_pass_through_unchanged)
{
	expect_label("", "");
	expect_label("tab\there, cr\r, {brace} = #", "tab\there, cr\r, {brace} = #");
	expect_label("/sys/fs/cgroup/kubepods.slice", "/sys/fs/cgroup/kubepods.slice");
}

Test(render, valid_multibyte_utf8_in_label_values_is_kept)
{
	expect_label("caf\xc3\xa9", "caf\xc3\xa9");			/* U+00E9 */
	expect_label("\xe2\x82\xac" "5", "\xe2\x82\xac" "5");		/* U+20AC */
	expect_label("\xed\x9f\xbf", "\xed\x9f\xbf");			/* U+D7FF */
	expect_label("\xee\x80\x80", "\xee\x80\x80");			/* U+E000 */
	expect_label("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");		/* U+1F600 */
	expect_label("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");		/* U+10FFFF */
}

Test(render, invalid_utf8_in_label_values_becomes_the_replacement_character)
{
	expect_label("a\xff" "b", "a" FFFD "b");			/* lone 0xff */
	expect_label("\x80", FFFD);					/* lone continuation */
	expect_replaced("a\xe2\x82", "a", "");				/* truncated at the end */
	expect_replaced("a\xe2\x82" "b", "a", "b");			/* truncated mid-string */
	expect_replaced("a\xf0\x9f\x98", "a", "");			/* truncated 4-byte */
	expect_replaced("a\xc0\xaf" "b", "a", "b");			/* overlong '/' */
	expect_replaced("a\xe0\x80\xaf" "b", "a", "b");			/* overlong 3-byte */
	expect_replaced("a\xed\xa0\x80" "b", "a", "b");			/* surrogate U+D800 */
	expect_replaced("a\xed\xbf\xbf" "b", "a", "b");			/* surrogate U+DFFF */
	expect_replaced("a\xf4\x90\x80\x80" "b", "a", "b");		/* past U+10FFFF */
	expect_replaced("a\xf8\x88\x80\x80\x80" "b", "a", "b");		/* 5-byte form */
}

Test(render, an_invalid_byte_never_swallows_the_closing_quote)
{
	/* A lead byte right before the end of the value must not eat the '"'. */
	expect_replaced("\xe2", "", "");
	expect_replaced("\xf0", "", "");
	expect_replaced("x\xc3", "x", "");
}

Test(render, help_escapes_backslash_and_newline_but_not_quotes)
{
	struct parsed p;
	char *text;

	fam("h_total", "C:\\dir \"quoted\"\nsecond line", VIGIL_METRIC_COUNTER, NULL);
	text = render_ok(&p, NULL);
	cr_expect_str_eq(text, "# HELP h_total C:\\\\dir \"quoted\"\\nsecond line\n"
			       "# TYPE h_total counter\n");
	cr_expect_str_eq(p.help[0], "C:\\dir \"quoted\"\nsecond line");
	free(text);
	parsed_free(&p);
}

Test(render, help_with_invalid_utf8_renders_as_valid_utf8)
{
	struct parsed p;
	char *text;

	fam("h_total", "bad \xff byte", VIGIL_METRIC_COUNTER, NULL);
	text = render_ok(&p, NULL);
	cr_expect_str_eq(p.help[0], "bad " FFFD " byte");
	free(text);
	parsed_free(&p);
}

/* ---- render: hostile label values, through the parser ----------------------- */

static const char *const hostile[] = {
	"\"",
	"\\",
	"\n",
	"\"} 1\n# HELP evil x\n# TYPE evil counter\nevil 1\n",
	"x\",b=\"injected",
	"\\\"",
	"\\\\\"\\n\"",
	"end with backslash \\",
	"}",
	"{",
	"=",
	",",
	" ",
	"# not a comment",
	"\r\n",
	"\t",
	"\x01\x02\x7f",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	"",
	"_overflow_not",
};

Test(render, hostile_but_valid_utf8_label_values_parse_back_to_themselves)
{
	const char *const l[] = { "a", "b", NULL };
	struct vigil_metric_family *f = fam("hostile_total", "h", VIGIL_METRIC_COUNTER, l);
	const size_t n = sizeof(hostile) / sizeof(hostile[0]);
	struct parsed p;
	unsigned want = 0;
	char *text;

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k += 3) {
			const char *vals[] = { hostile[i], hostile[k] };

			metrics_set(metrics_series(f, vals), i * 100 + k);
			want++;
		}
	text = render_ok(&p, NULL);
	cr_assert_eq(p.n, want, "%u series rendered, want %u", p.n, want);
	for (unsigned j = 0; j < p.n; j++) {
		size_t i = j / ((n + 2) / 3), k = (j % ((n + 2) / 3)) * 3;

		cr_assert_eq(p.s[j].nlabels, 2);
		cr_expect_str_eq(p.s[j].lname[0], "a");
		cr_expect_str_eq(p.s[j].lname[1], "b");
		cr_expect_str_eq(p.s[j].lval[0], hostile[i], "series %u label a", j);
		cr_expect_str_eq(p.s[j].lval[1], hostile[k], "series %u label b", j);
		cr_expect_eq(strtod(p.s[j].value, NULL), (double)(i * 100 + k));
	}
	cr_expect_eq(p.nfamilies, 1, "a label value injected a family");
	free(text);
	parsed_free(&p);
}

/* xorshift: the same "random" bytes every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned next_byte(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 32) & 0xff;
}

Test(render, random_byte_label_values_always_render_as_valid_text)
{
	enum { N = 500 };
	const char *const l[] = { "v", NULL };
	struct vigil_metric_family *f = fam("fuzz", "h", VIGIL_METRIC_GAUGE, l);
	static char vals[N][40];
	struct parsed p;
	unsigned created, valid_checked = 0;
	char *text;

	for (unsigned i = 0; i < N; i++) {
		/* A unique ASCII prefix: values that differ only in invalid bytes
		 * are the business of the test after this one. */
		size_t len = (size_t)snprintf(vals[i], sizeof(vals[i]), "%03u:", i) + next_byte() % 34;
		const char *v[1] = { vals[i] };

		for (size_t j = 4; j < len; j++) {
			unsigned c = next_byte();

			/* bias towards the bytes that matter */
			if (c < 0x40)
				c = "\"\\\n\xc0\xed\xe2\xf0\xff\x80\xbf\xa0"[c % 12];
			vals[i][j] = c ? (char)c : 'z';
		}
		vals[i][len] = 0;
		metrics_set(metrics_series(f, v), i);
	}
	created = f->nseries;
	text = render_ok(&p, NULL);
	cr_expect_eq(p.n, created);
	for (unsigned j = 0; j < p.n; j++) {
		unsigned i = (unsigned)strtod(p.s[j].value, NULL);

		cr_assert_lt(i, N);
		if (utf8_ok((const unsigned char *)vals[i], strlen(vals[i]))) {
			cr_expect_str_eq(p.s[j].lval[0], vals[i]);
			valid_checked++;
		}
	}
	cr_expect_gt(valid_checked, 0, "no valid value was round-tripped");
	free(text);
	parsed_free(&p);
}

Test(render, label_values_differing_only_in_invalid_bytes_never_render_as_duplicate_series)
{
	/* Two containers named "\xff" and "\xfe" are two series in the registry;
	 * if both print as U+FFFD the scrape carries the same series twice. */
	const char *const l[] = { "container", NULL };
	struct vigil_metric_family *f = fam("dup_total", "h", VIGIL_METRIC_COUNTER, l);
	const char *a[] = { "c\xff" }, *b[] = { "c\xfe" }, *c[] = { "c" FFFD };
	struct parsed p;
	char *text;

	metrics_add(metrics_series(f, a), 1);
	metrics_add(metrics_series(f, b), 2);
	metrics_add(metrics_series(f, c), 4);
	text = render_ok(&p, NULL);
	free(text);
	parsed_free(&p);
}

/* ---- prometheus_parse_addr -------------------------------------------------- */

static void expect_addr(const char *s, int family, const char *ip, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	char why[256] = "", got[INET6_ADDRSTRLEN] = "";
	int rc = prometheus_parse_addr(s, &ss, &sslen, why, sizeof(why));

	cr_assert_eq(rc, 0, "'%s' refused: %s", s, why);
	cr_expect_eq(ss.ss_family, family, "'%s': wrong family", s);
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		cr_expect_eq(sslen, sizeof(*in));
		cr_expect_eq(ntohs(in->sin_port), port, "'%s': wrong port", s);
		inet_ntop(AF_INET, &in->sin_addr, got, sizeof(got));
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		cr_expect_eq(sslen, sizeof(*in6));
		cr_expect_eq(ntohs(in6->sin6_port), port, "'%s': wrong port", s);
		inet_ntop(AF_INET6, &in6->sin6_addr, got, sizeof(got));
	}
	cr_expect_str_eq(got, ip, "'%s': address %s, want %s", s, got, ip);
}

Test(addr, numeric_ipv4_and_bracketed_ipv6_addresses_are_accepted)
{
	expect_addr("127.0.0.1:9867", AF_INET, "127.0.0.1", 9867);
	expect_addr("0.0.0.0:1", AF_INET, "0.0.0.0", 1);
	expect_addr("10.1.2.3:65535", AF_INET, "10.1.2.3", 65535);
	expect_addr("[::1]:9867", AF_INET6, "::1", 9867);
	expect_addr("[::]:80", AF_INET6, "::", 80);
	expect_addr("[fe80::1:2]:443", AF_INET6, "fe80::1:2", 443);
}

Test(addr, a_bare_port_means_every_interface_over_ipv6)
{
	expect_addr(":9867", AF_INET6, "::", 9867);
}

Test(addr, the_default_address_parses)
{
	expect_addr(VIGIL_METRICS_DEFAULT_ADDR, AF_INET, "127.0.0.1", 9867);
}

static void expect_refused(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	char why[256];
	int rc;

	memset(why, 0, sizeof(why));
	rc = prometheus_parse_addr(s, &ss, &sslen, why, sizeof(why));
	cr_expect_eq(rc, -EINVAL, "'%s' accepted (rc %d)", s, rc);
	if (rc)
		cr_expect_neq(why[0], 0, "'%s' refused without a reason", s);
}

Test(addr, malformed_addresses_are_refused_with_a_reason)
{
	expect_refused("127.0.0.1");		/* no port */
	expect_refused("abc:xyz");
	expect_refused("1.2.3.4:99999");
	expect_refused("1.2.3.4:65536");
	expect_refused("1.2.3.4:0");
	expect_refused("1.2.3.4:-1");
	expect_refused("1.2.3.4:");
	expect_refused("1.2.3.4:80x");
	expect_refused("1.2.3.4.5:80");
	expect_refused("localhost:9867");	/* numeric only */
	expect_refused("[::1:80");
	expect_refused("[::1]");
	expect_refused("");
	expect_refused(":");
}

Test(addr, an_unbracketed_ipv6_host_is_refused)
{
	/* "::1:80" is itself a valid IPv6 address: the port is ambiguous. */
	expect_refused("::1:80");
	expect_refused("fe80::1:443");
}

Test(addr, an_overlong_host_is_refused_without_overrunning)
{
	char s[300];

	memset(s, '1', sizeof(s));
	memcpy(s + sizeof(s) - 6, ":9867", 6);
	expect_refused(s);
}

/* ---- the HTTP server -------------------------------------------------------- */

static struct event_base *base;
static struct vigil_prom prom;
static char srv_addr[64];
static unsigned short srv_port;

/* A port nobody listens on right now: bind to 0 and read what we got. */
static unsigned short free_port(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&in, &len), 0);
	close(fd);
	return ntohs(in.sin_port);
}

static void http_setup(void)
{
	metrics_init(&reg);
	memset(&prom, 0, sizeof(prom));
	prom.fd = -1;
	base = event_base_new();
	cr_assert_not_null(base);
}

static void http_teardown(void)
{
	prometheus_stop(&prom);
	event_base_free(base);
	metrics_free(&reg);
}

TestSuite(http, .init = http_setup, .fini = http_teardown);

static void start(const struct vigil_http_status *st)
{
	char why[256] = "";
	int rc;

	srv_port = free_port();
	snprintf(srv_addr, sizeof(srv_addr), "127.0.0.1:%u", srv_port);
	rc = prometheus_start(&prom, base, srv_addr, &reg, st, why, sizeof(why));
	cr_assert_eq(rc, 0, "prometheus_start(%s): %d %s", srv_addr, rc, why);
	cr_assert_neq(prom.fd, -1);
}

struct reply {
	int code;
	char *raw;		/* whole response, NUL-terminated */
	size_t len;
	char *body;		/* into raw */
	size_t body_len;
};

/* Send one request and read until the server closes (HTTP/1.0). */
static struct reply exchange(const char *request)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(srv_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct reply r = { 0 };
	size_t cap = 4096, sent = 0, want = strlen(request);
	bool closed = false;
	char *hdr_end;
	int fd;

	r.raw = malloc(cap);
	cr_assert_not_null(r.raw);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	/* The listen backlog completes the handshake before the loop runs. */
	cr_assert_eq(connect(fd, (struct sockaddr *)&in, sizeof(in)), 0, "connect: %s",
		     strerror(errno));
	cr_assert_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	for (unsigned iter = 0; iter < 2000 && !closed; iter++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (sent < want) {
			n = send(fd, request + sent, want - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += n;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&pfd, 1, 5) <= 0)
			continue;
		if (r.len + 1024 > cap) {
			cap *= 2;
			r.raw = realloc(r.raw, cap);
			cr_assert_not_null(r.raw);
		}
		n = recv(fd, r.raw + r.len, cap - r.len - 1, 0);
		if (n > 0)
			r.len += n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			closed = true;
	}
	close(fd);
	r.raw[r.len] = 0;
	cr_assert(closed, "the server never finished its reply; got so far:\n%s", r.raw);
	cr_assert(sscanf(r.raw, "HTTP/1.%*d %d ", &r.code) == 1, "no status line:\n%s", r.raw);
	hdr_end = strstr(r.raw, "\r\n\r\n");
	cr_assert_not_null(hdr_end, "no end of headers:\n%s", r.raw);
	r.body = hdr_end + 4;
	r.body_len = r.len - (r.body - r.raw);
	return r;
}

/* The value of a header, case-insensitively by name; NULL if absent. */
static char *header(const struct reply *r, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = strstr(r->raw, "\r\n"); l && l + 2 < r->body; l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2;

		if (!strncasecmp(h, name, n) && h[n] == ':') {
			const char *v = h + n + 1, *e;

			v += strspn(v, " ");
			e = strstr(v, "\r\n");
			return dupn(v, e - v);
		}
	}
	return NULL;
}

static void expect_header(const struct reply *r, const char *name, const char *want)
{
	char *got = header(r, name);

	cr_expect_not_null(got, "no %s header:\n%s", name, r->raw);
	if (got)
		cr_expect_str_eq(got, want);
	free(got);
}

Test(http, metrics_are_served_as_the_text_format_with_its_content_type)
{
	const char *const l[] = { "container", NULL };
	struct vigil_metric_family *f =
		metrics_family(&reg, "vigil_events_total", "Events.", VIGIL_METRIC_COUNTER, l, 0);
	const char *vals[] = { "web \"1\"\n\xff" };
	struct parsed p;
	struct reply r;
	char *want;
	size_t want_len;

	cr_assert_not_null(f);
	metrics_add(metrics_series(f, vals), 7);
	start(NULL);
	r = exchange("GET /metrics HTTP/1.0\r\n\r\n");
	cr_expect_eq(r.code, 200, "%s", r.raw);
	expect_header(&r, "Content-Type", CTYPE);
	cr_assert_eq(prometheus_render(&reg, &want, &want_len), 0);
	cr_expect_eq(r.body_len, want_len);
	cr_expect_str_eq(r.body, want);
	cr_expect(strstr(r.body, "vigil_events_total{container=\"web \\\"1\\\"\\n" FFFD "\"} 7\n"),
		  "%s", r.body);
	cr_expect(parse_exposition(r.body, r.body_len, &p), "served text is invalid: %s", p.err);
	cr_expect_eq(prom.scrapes, 1);
	parsed_free(&p);
	free(want);
	free(r.raw);
}

static void count_up(void *ctx)
{
	metrics_add(ctx, 1);
}

Test(http, every_scrape_runs_the_collectors_first)
{
	struct vigil_metric_family *f =
		metrics_family(&reg, "collections", "h", VIGIL_METRIC_GAUGE, NULL, 0);
	struct reply r;

	cr_assert_not_null(f);
	cr_assert_eq(metrics_on_collect(&reg, count_up, metrics_series(f, NULL)), 0);
	start(NULL);
	r = exchange("GET /metrics HTTP/1.0\r\n\r\n");
	cr_expect(strstr(r.body, "\ncollections 1\n"), "%s", r.body);
	free(r.raw);
	r = exchange("GET /metrics HTTP/1.0\r\n\r\n");
	cr_expect(strstr(r.body, "\ncollections 2\n"), "%s", r.body);
	cr_expect_eq(prom.scrapes, 2);
	free(r.raw);
}

Test(http, a_query_string_on_metrics_is_ignored)
{
	struct reply r;

	start(NULL);
	r = exchange("GET /metrics?name[]=x HTTP/1.0\r\n\r\n");
	cr_expect_eq(r.code, 200, "%s", r.raw);
	expect_header(&r, "Content-Type", CTYPE);
	free(r.raw);
}

static bool say_no(void *ctx, char *why, size_t len)
{
	snprintf(why, len, "%s", (const char *)ctx);
	return false;
}

static bool say_yes(void *ctx, char *why, size_t len)
{
	return true;
}

Test(http, an_unhealthy_agent_answers_healthz_with_503_and_the_reason)
{
	struct vigil_http_status st = { .healthy = say_no, .ready = say_yes,
					.ctx = "exec tracepoint detached" };
	struct reply r;

	start(&st);
	r = exchange("GET /healthz HTTP/1.0\r\n\r\n");
	cr_expect_eq(r.code, 503, "%s", r.raw);
	cr_expect(strstr(r.body, "exec tracepoint detached"), "no reason in the body:\n%s", r.raw);
	free(r.raw);
}

Test(http, a_ready_agent_answers_readyz_with_200_ok)
{
	struct vigil_http_status st = { .healthy = say_no, .ready = say_yes, .ctx = "unhealthy" };
	struct reply r;

	start(&st);
	r = exchange("GET /readyz HTTP/1.0\r\n\r\n");
	cr_expect_eq(r.code, 200, "%s", r.raw);
	cr_expect_str_eq(r.body, "ok\n");
	free(r.raw);
}

Test(http, readyz_asks_the_ready_callback_and_healthz_the_healthy_one)
{
	struct vigil_http_status st = { .healthy = say_yes, .ready = say_no, .ctx = "still loading" };
	struct reply r;

	start(&st);
	r = exchange("GET /readyz HTTP/1.0\r\n\r\n");
	cr_expect_eq(r.code, 503, "%s", r.raw);
	cr_expect_str_eq(r.body, "still loading\n");
	free(r.raw);
	r = exchange("GET /healthz HTTP/1.0\r\n\r\n");
	cr_expect_eq(r.code, 200, "%s", r.raw);
	cr_expect_str_eq(r.body, "ok\n");
	free(r.raw);
}

Test(http, without_callbacks_healthz_and_readyz_answer_ok)
{
	struct reply r;

	start(NULL);
	r = exchange("GET /healthz HTTP/1.0\r\n\r\n");
	cr_expect_eq(r.code, 200, "%s", r.raw);
	cr_expect_str_eq(r.body, "ok\n");
	free(r.raw);
	r = exchange("GET /readyz HTTP/1.0\r\n\r\n");
	cr_expect_eq(r.code, 200, "%s", r.raw);
	free(r.raw);
}

Test(http, an_unknown_path_is_404)
{
	const char *paths[] = { "/", "/nope", "/metricsx", "/metrics/", "/healthzz", "/ready" };
	struct reply r;
	char req[128];

	start(NULL);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", paths[i]);
		r = exchange(req);
		cr_expect_eq(r.code, 404, "%s: %s", paths[i], r.raw);
		free(r.raw);
	}
	cr_expect_eq(prom.scrapes, 0, "a 404 counted as a scrape");
}

Test(http, post_is_refused_with_405)
{
	struct reply r;

	start(NULL);
	r = exchange("POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
	cr_expect_eq(r.code, 405, "%s", r.raw);
	cr_expect_eq(prom.scrapes, 0);
	free(r.raw);
	r = exchange("DELETE /healthz HTTP/1.0\r\n\r\n");
	cr_expect_eq(r.code, 405, "%s", r.raw);
	free(r.raw);
}

Test(http, head_on_metrics_answers_200_without_a_body)
{
	struct reply r;

	metrics_family(&reg, "x", "h", VIGIL_METRIC_GAUGE, NULL, 0);
	start(NULL);
	r = exchange("HEAD /metrics HTTP/1.0\r\n\r\n");
	cr_expect_eq(r.code, 200, "%s", r.raw);
	cr_expect_eq(r.body_len, 0, "HEAD got a body:\n%s", r.raw);
	free(r.raw);
}

Test(http, a_port_already_in_use_fails_with_eaddrinuse_and_says_so)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(in);
	char addr[64], why[256] = "";
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&in, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(in.sin_port));
	rc = prometheus_start(&prom, base, addr, &reg, NULL, why, sizeof(why));
	close(fd);
	cr_expect_eq(rc, -EADDRINUSE, "rc %d (%s)", rc, why);
	cr_expect(strstr(why, "in use") || strstr(why, "another process"),
		  "the reason does not say the address is in use: '%s'", why);
	cr_expect(strstr(why, addr), "the reason does not name %s: '%s'", addr, why);
	cr_expect_null(prom.http);
	cr_expect_eq(prom.fd, -1, "the failed socket was kept");
}

Test(http, a_malformed_address_fails_before_any_socket_is_made)
{
	char why[256] = "";
	int rc = prometheus_start(&prom, base, "localhost:9867", &reg, NULL, why, sizeof(why));

	cr_expect_eq(rc, -EINVAL);
	cr_expect_neq(why[0], 0);
	cr_expect_null(prom.http);
	cr_expect_eq(prom.fd, -1);
}

Test(http, stopping_twice_is_harmless)
{
	start(NULL);
	prometheus_stop(&prom);
	cr_expect_null(prom.http);
	cr_expect_eq(prom.fd, -1);
	prometheus_stop(&prom);
	cr_expect_eq(prom.fd, -1);
}
