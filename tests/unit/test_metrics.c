/*
 * test_metrics.c - the metrics registry (agent/metrics.c): family
 * registration against the Prometheus name grammar, series get-or-create
 * through the hash table (including growth), the per-family series cap and
 * its overflow series, removal from every position of the list, clearing,
 * and the collectors that run before each render.
 *
 * Every test walks the family's list itself rather than trusting nseries,
 * so a series lost from the hash table or the list shows up as a failure,
 * and ASan's leak check catches a series that is unlinked but never freed.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "prometheus.h"

static struct vigil_metrics m;

static void setup(void)
{
	metrics_init(&m);
}

static void teardown(void)
{
	metrics_free(&m);
}

TestSuite(metrics, .init = setup, .fini = teardown);

static const char *const one_label[] = { "container", NULL };
static const char *const two_labels[] = { "a", "b", NULL };

static struct vigil_metric_family *must_family(const char *name, const char *const *labels,
					       unsigned max_series)
{
	struct vigil_metric_family *f =
		metrics_family(&m, name, "help text", VIGIL_METRIC_COUNTER, labels, max_series);

	cr_assert_not_null(f, "registering %s failed", name);
	return f;
}

static struct vigil_metric_series *get1(struct vigil_metric_family *f, const char *v)
{
	const char *vals[] = { v };

	return metrics_series(f, vals);
}

static struct vigil_metric_series *get2(struct vigil_metric_family *f, const char *a,
					const char *b)
{
	const char *vals[] = { a, b };

	return metrics_series(f, vals);
}

/* Number of series on the list, checking series_tail is its last element. */
static unsigned list_len(const struct vigil_metric_family *f)
{
	const struct vigil_metric_series *s, *last = NULL;
	unsigned n = 0;

	for (s = f->series; s; s = s->next) {
		last = s;
		n++;
		cr_assert_leq(n, 1000000, "series list has a cycle");
	}
	cr_assert_eq(f->series_tail, last, "series_tail is not the last series on the list");
	return n;
}

/* The list holds exactly these series, in this order, and nseries agrees. */
static void expect_list(const struct vigil_metric_family *f,
			struct vigil_metric_series *const *want, unsigned n)
{
	const struct vigil_metric_series *s = f->series;

	for (unsigned i = 0; i < n; i++, s = s->next) {
		cr_assert_not_null(s, "list ends after %u series, want %u", i, n);
		cr_expect_eq(s, want[i], "series %u on the list is not the expected one", i);
	}
	cr_expect_null(s, "list has more than %u series", n);
	cr_expect_eq(f->nseries, n);
	cr_expect_eq(list_len(f), n);
}

/* ---- registration ---------------------------------------------------------- */

Test(metrics, valid_metric_names_follow_the_prometheus_grammar)
{
	const char *ok[] = { "a", "A", "_", ":", "vigil_events_total", "ns:sub_metric",
			     "_private", "x1", "a:b:c_9", "__double_is_fine_for_metrics" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_expect(metrics_valid_name(ok[i], false), "metric name '%s' rejected", ok[i]);
}

Test(metrics, invalid_metric_names_are_refused_by_the_validator)
{
	const char *bad[] = { "", "1abc", "9", "a-b", "a b", "a.b", "a/b", "caf\xc3\xa9",
			      "a\tb", "x{y}", "a\"b" };

	cr_expect_not(metrics_valid_name(NULL, false));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(metrics_valid_name(bad[i], false), "metric name '%s' accepted",
			      bad[i]);
}

Test(metrics, label_names_allow_no_colon_and_no_double_underscore_prefix)
{
	cr_expect(metrics_valid_name("container", true));
	cr_expect(metrics_valid_name("_x", true));
	cr_expect(metrics_valid_name("a__b", true));
	cr_expect(metrics_valid_name("L2", true));
	cr_expect_not(metrics_valid_name("a:b", true));
	cr_expect_not(metrics_valid_name(":", true));
	cr_expect_not(metrics_valid_name("__name__", true));
	cr_expect_not(metrics_valid_name("__", true));
	cr_expect_not(metrics_valid_name("1a", true));
	cr_expect_not(metrics_valid_name("", true));
	cr_expect_not(metrics_valid_name(NULL, true));
}

Test(metrics, a_family_with_valid_names_is_registered_with_its_fields)
{
	const char *const labels[] = { "container", "_reason", "L2", NULL };
	struct vigil_metric_family *f =
		metrics_family(&m, "vigil:events_total", "Events seen.", VIGIL_METRIC_GAUGE,
			       labels, 7);

	cr_assert_not_null(f);
	cr_expect_str_eq(f->name, "vigil:events_total");
	cr_expect_str_eq(f->help, "Events seen.");
	cr_expect_eq(f->type, VIGIL_METRIC_GAUGE);
	cr_expect_eq(f->nlabels, 3);
	cr_expect_str_eq(f->label_names[0], "container");
	cr_expect_str_eq(f->label_names[1], "_reason");
	cr_expect_str_eq(f->label_names[2], "L2");
	cr_expect_eq(f->max_series, 7);
	cr_expect_eq(f->nseries, 0);
	cr_expect_eq(m.nfamilies, 1);
	cr_expect_eq(m.families, f);
}

Test(metrics, a_null_help_becomes_an_empty_help)
{
	struct vigil_metric_family *f =
		metrics_family(&m, "x", NULL, VIGIL_METRIC_COUNTER, NULL, 0);

	cr_assert_not_null(f);
	cr_expect_str_eq(f->help, "");
}

Test(metrics, a_family_with_a_bad_metric_name_is_refused)
{
	const char *bad[] = { "", "1x", "a-b", "a b", "a.b" };

	cr_expect_null(metrics_family(&m, NULL, "h", VIGIL_METRIC_COUNTER, NULL, 0));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_null(metrics_family(&m, bad[i], "h", VIGIL_METRIC_COUNTER, NULL, 0),
			       "family '%s' registered", bad[i]);
	cr_expect_eq(m.nfamilies, 0);
	cr_expect_null(m.families);
}

Test(metrics, a_family_with_a_bad_label_name_is_refused)
{
	const char *const colon[] = { "ok", "a:b", NULL };
	const char *const reserved[] = { "__name__", NULL };
	const char *const digit[] = { "1a", NULL };
	const char *const empty[] = { "ok", "", NULL };
	const char *const dash[] = { "a-b", NULL };

	cr_expect_null(metrics_family(&m, "f1", "h", VIGIL_METRIC_COUNTER, colon, 0));
	cr_expect_null(metrics_family(&m, "f2", "h", VIGIL_METRIC_COUNTER, reserved, 0));
	cr_expect_null(metrics_family(&m, "f3", "h", VIGIL_METRIC_COUNTER, digit, 0));
	cr_expect_null(metrics_family(&m, "f4", "h", VIGIL_METRIC_COUNTER, empty, 0));
	cr_expect_null(metrics_family(&m, "f5", "h", VIGIL_METRIC_COUNTER, dash, 0));
	cr_expect_eq(m.nfamilies, 0);
}

Test(metrics, a_second_family_with_the_same_name_is_refused_and_the_first_is_kept)
{
	struct vigil_metric_family *f = must_family("dup_total", NULL, 0);

	cr_expect_null(metrics_family(&m, "dup_total", "other", VIGIL_METRIC_GAUGE, one_label, 0));
	cr_expect_eq(m.nfamilies, 1);
	cr_expect_eq(m.families, f);
	cr_expect_null(f->next);
	cr_expect_eq(f->type, VIGIL_METRIC_COUNTER);
	cr_expect_str_eq(f->help, "help text");
}

Test(metrics, exactly_eight_labels_are_accepted_and_nine_are_refused)
{
	const char *const eight[] = { "l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", NULL };
	const char *const nine[] = { "l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", NULL };
	struct vigil_metric_family *f;

	cr_expect_null(metrics_family(&m, "nine", "h", VIGIL_METRIC_COUNTER, nine, 0));
	f = metrics_family(&m, "eight", "h", VIGIL_METRIC_COUNTER, eight, 0);
	cr_assert_not_null(f);
	cr_expect_eq(f->nlabels, VIGIL_METRIC_MAX_LABELS);
	cr_expect_str_eq(f->label_names[7], "l7");
	cr_expect_eq(m.nfamilies, 1);
}

Test(metrics, families_are_kept_in_registration_order)
{
	struct vigil_metric_family *a = must_family("a", NULL, 0);
	struct vigil_metric_family *b = must_family("b", NULL, 0);
	struct vigil_metric_family *c = must_family("c", NULL, 0);

	cr_expect_eq(m.families, a);
	cr_expect_eq(a->next, b);
	cr_expect_eq(b->next, c);
	cr_expect_null(c->next);
	cr_expect_eq(m.families_tail, c);
	cr_expect_eq(m.nfamilies, 3);
}

Test(metrics, the_family_keeps_its_own_copies_of_the_names)
{
	char name[] = "copied_total", help[] = "original", label[] = "lbl";
	const char *const labels[] = { label, NULL };
	struct vigil_metric_family *f =
		metrics_family(&m, name, help, VIGIL_METRIC_COUNTER, labels, 0);

	cr_assert_not_null(f);
	memset(name, 'z', sizeof(name) - 1);
	memset(help, 'z', sizeof(help) - 1);
	memset(label, 'z', sizeof(label) - 1);
	cr_expect_str_eq(f->name, "copied_total");
	cr_expect_str_eq(f->help, "original");
	cr_expect_str_eq(f->label_names[0], "lbl");
}

/* ---- series get-or-create -------------------------------------------------- */

Test(metrics, the_same_label_values_return_the_same_series)
{
	struct vigil_metric_family *f = must_family("s_total", two_labels, 0);
	struct vigil_metric_series *s = get2(f, "x", "y");
	char x[] = "x", y[] = "y";

	cr_assert_not_null(s);
	cr_expect_eq(get2(f, x, y), s, "equal strings at other addresses must find the series");
	cr_expect_eq(get2(f, "x", "y"), s);
	cr_expect_eq(f->nseries, 1);
	cr_expect_eq(list_len(f), 1);
}

Test(metrics, a_b_and_ab_empty_are_different_series)
{
	struct vigil_metric_family *f = must_family("s_total", two_labels, 0);
	struct vigil_metric_series *ab = get2(f, "a", "b");
	struct vigil_metric_series *ab_ = get2(f, "ab", "");
	struct vigil_metric_series *_ab = get2(f, "", "ab");

	cr_assert_not_null(ab);
	cr_assert_not_null(ab_);
	cr_assert_not_null(_ab);
	cr_expect_neq(ab, ab_);
	cr_expect_neq(ab, _ab);
	cr_expect_neq(ab_, _ab);
	cr_expect_str_eq(ab_->labels[0], "ab");
	cr_expect_str_eq(ab_->labels[1], "");
	cr_expect_eq(get2(f, "a", "b"), ab);
	cr_expect_eq(get2(f, "ab", ""), ab_);
	cr_expect_eq(get2(f, "", "ab"), _ab);
	cr_expect_eq(f->nseries, 3);
}

Test(metrics, a_family_without_labels_has_one_series_for_null_values)
{
	struct vigil_metric_family *f = must_family("plain_total", NULL, 0);
	struct vigil_metric_series *s = metrics_series(f, NULL);

	cr_assert_not_null(s);
	cr_expect_eq(metrics_series(f, NULL), s);
	cr_expect_eq(f->nseries, 1);
	cr_expect_eq(s->value, 0.0);
}

Test(metrics, a_series_keeps_its_own_copies_of_the_label_values)
{
	struct vigil_metric_family *f = must_family("s_total", one_label, 0);
	char v[] = "web-1";
	struct vigil_metric_series *s = get1(f, v);

	cr_assert_not_null(s);
	memcpy(v, "db-22", sizeof(v));
	cr_expect_str_eq(s->labels[0], "web-1");
	cr_expect_eq(get1(f, "web-1"), s);
	cr_expect_neq(get1(f, "db-22"), s);
}

Test(metrics, a_new_series_starts_at_zero_and_add_and_set_update_it)
{
	struct vigil_metric_family *f = must_family("s_total", one_label, 0);
	struct vigil_metric_series *s = get1(f, "x");

	cr_assert_not_null(s);
	cr_expect_eq(s->value, 0.0);
	metrics_add(s, 2);
	metrics_add(s, 0.5);
	cr_expect_eq(s->value, 2.5);
	metrics_set(s, -7);
	cr_expect_eq(s->value, -7.0);
	cr_expect_eq(get1(f, "x")->value, -7.0);
}

Test(metrics, add_and_set_on_a_null_series_do_nothing)
{
	metrics_add(NULL, 1);
	metrics_set(NULL, 1);
	cr_expect_null(metrics_series(NULL, NULL));
	cr_expect_null(metrics_series(NULL, one_label));
}

Test(metrics, series_are_listed_in_creation_order)
{
	struct vigil_metric_family *f = must_family("s_total", one_label, 0);
	struct vigil_metric_series *want[4];

	want[0] = get1(f, "zeta");
	want[1] = get1(f, "alpha");
	want[2] = get1(f, "mid");
	get1(f, "alpha");	/* a lookup must not move a series */
	want[3] = get1(f, "beta");
	expect_list(f, want, 4);
}

Test(metrics, many_series_stay_reachable_and_ordered_as_the_table_grows)
{
	enum { N = 5000 };
	struct vigil_metric_family *f = must_family("many_total", two_labels, 0);
	struct vigil_metric_series **s = calloc(N, sizeof(*s));
	unsigned buckets0 = f->nbuckets;
	char a[32], b[32];

	cr_assert_not_null(s);
	for (unsigned i = 0; i < N; i++) {
		snprintf(a, sizeof(a), "c%u", i);
		snprintf(b, sizeof(b), "%u", i % 7);
		s[i] = get2(f, a, b);
		cr_assert_not_null(s[i]);
		metrics_set(s[i], i);
	}
	cr_expect_gt(f->nbuckets, buckets0, "the hash table never grew");
	cr_expect_eq(f->nbuckets & (f->nbuckets - 1), 0, "nbuckets is not a power of two");
	for (unsigned i = 0; i < N; i++) {
		snprintf(a, sizeof(a), "c%u", i);
		snprintf(b, sizeof(b), "%u", i % 7);
		cr_assert_eq(get2(f, a, b), s[i], "series %u not found after growth", i);
		cr_assert_eq(s[i]->value, (double)i);
	}
	expect_list(f, s, N);
	free(s);
}

/* ---- the series cap -------------------------------------------------------- */

Test(metrics, past_the_cap_a_new_label_set_gets_the_overflow_series)
{
	struct vigil_metric_family *f = must_family("capped_total", two_labels, 3);
	struct vigil_metric_series *s1 = get2(f, "1", "x");
	struct vigil_metric_series *s2 = get2(f, "2", "x");
	struct vigil_metric_series *s3 = get2(f, "3", "x");
	struct vigil_metric_series *o = get2(f, "4", "x");

	cr_assert_not_null(s1);
	cr_assert_not_null(s2);
	cr_assert_not_null(s3);
	cr_assert_not_null(o);
	cr_expect_neq(o, s1);
	cr_expect_neq(o, s2);
	cr_expect_neq(o, s3);
	cr_expect_eq(f->overflow, o);
	cr_expect_str_eq(o->labels[0], VIGIL_METRIC_OVERFLOW);
	cr_expect_str_eq(o->labels[1], VIGIL_METRIC_OVERFLOW);
	cr_expect_eq(f->overflowed, 1);
	cr_expect_eq(f->nseries, 4, "three ordinary series plus the overflow series");
	cr_expect_eq(f->series_tail, o);
}

Test(metrics, every_label_set_past_the_cap_shares_the_overflow_series_and_is_counted)
{
	struct vigil_metric_family *f = must_family("capped_total", one_label, 2);
	struct vigil_metric_series *o;

	get1(f, "a");
	get1(f, "b");
	o = get1(f, "c");
	cr_assert_not_null(o);
	metrics_add(o, 1);
	cr_expect_eq(get1(f, "d"), o);
	metrics_add(get1(f, "d"), 1);
	cr_expect_eq(get1(f, "c"), o, "an overflowed label set stays overflowed");
	cr_expect_eq(o->value, 2.0);
	cr_expect_eq(f->overflowed, 4);
	cr_expect_eq(f->nseries, 3);
	cr_expect_eq(list_len(f), 3);
}

Test(metrics, series_made_before_the_cap_was_reached_are_still_returned)
{
	struct vigil_metric_family *f = must_family("capped_total", one_label, 2);
	struct vigil_metric_series *a = get1(f, "a");
	struct vigil_metric_series *b = get1(f, "b");

	cr_assert_not_null(get1(f, "c"));
	cr_expect_eq(f->overflowed, 1);
	cr_expect_eq(get1(f, "a"), a);
	cr_expect_eq(get1(f, "b"), b);
	cr_expect_eq(f->overflowed, 1, "finding an existing series is not an overflow");
}

Test(metrics, a_cap_of_one_lets_exactly_one_ordinary_series_in)
{
	struct vigil_metric_family *f = must_family("capped_total", one_label, 1);
	struct vigil_metric_series *a = get1(f, "a");
	struct vigil_metric_series *o = get1(f, "b");

	cr_assert_not_null(a);
	cr_assert_not_null(o);
	cr_expect_neq(a, o);
	cr_expect_str_eq(a->labels[0], "a");
	cr_expect_eq(f->overflow, o);
}

Test(metrics, no_cap_means_no_overflow_series)
{
	struct vigil_metric_family *f = must_family("open_total", one_label, 0);
	char v[16];

	for (unsigned i = 0; i < 300; i++) {
		snprintf(v, sizeof(v), "%u", i);
		cr_assert_str_eq(get1(f, v)->labels[0], v);
	}
	cr_expect_null(f->overflow);
	cr_expect_eq(f->overflowed, 0);
	cr_expect_eq(f->nseries, 300);
}

Test(metrics, a_real_series_labelled_overflow_is_never_duplicated)
{
	/* A container may well be called "_overflow": the registry must still
	 * hold one series per label set, or the render has duplicate lines. */
	struct vigil_metric_family *f = must_family("capped_total", one_label, 2);
	unsigned same = 0;

	get1(f, VIGIL_METRIC_OVERFLOW);
	get1(f, "a");
	cr_assert_not_null(get1(f, "b"));
	for (struct vigil_metric_series *s = f->series; s; s = s->next)
		same += !strcmp(s->labels[0], VIGIL_METRIC_OVERFLOW);
	cr_expect_eq(same, 1, "%u series are labelled container=\"_overflow\"", same);
}

/* ---- removal --------------------------------------------------------------- */

/* Five series a..e, values 1..5. */
static struct vigil_metric_family *five(struct vigil_metric_series **s)
{
	struct vigil_metric_family *f = must_family("five_total", one_label, 0);
	const char *names[] = { "a", "b", "c", "d", "e" };

	for (unsigned i = 0; i < 5; i++) {
		s[i] = get1(f, names[i]);
		cr_assert_not_null(s[i]);
		metrics_set(s[i], i + 1);
	}
	return f;
}

/* Each of the given series is still found by its label value. */
static void expect_reachable(struct vigil_metric_family *f, struct vigil_metric_series *const *s,
			     const char *const *names, unsigned n)
{
	unsigned before = f->nseries;

	for (unsigned i = 0; i < n; i++)
		cr_expect_eq(get1(f, names[i]), s[i], "series '%s' is no longer found", names[i]);
	cr_expect_eq(f->nseries, before, "a lookup of a surviving series created a new one");
}

Test(metrics, removing_the_head_series_keeps_the_rest_reachable_and_in_order)
{
	struct vigil_metric_series *s[5];
	struct vigil_metric_family *f = five(s);
	struct vigil_metric_series *rest[] = { s[1], s[2], s[3], s[4] };
	const char *names[] = { "b", "c", "d", "e" };

	metrics_series_remove(f, s[0]);
	expect_list(f, rest, 4);
	expect_reachable(f, rest, names, 4);
}

Test(metrics, removing_a_middle_series_keeps_the_rest_reachable_and_in_order)
{
	struct vigil_metric_series *s[5];
	struct vigil_metric_family *f = five(s);
	struct vigil_metric_series *rest[] = { s[0], s[1], s[3], s[4] };
	const char *names[] = { "a", "b", "d", "e" };

	metrics_series_remove(f, s[2]);
	expect_list(f, rest, 4);
	expect_reachable(f, rest, names, 4);
}

Test(metrics, removing_the_tail_series_moves_the_tail_so_new_series_append_correctly)
{
	struct vigil_metric_series *s[5];
	struct vigil_metric_family *f = five(s);
	struct vigil_metric_series *after[5] = { s[0], s[1], s[2], s[3] };
	const char *names[] = { "a", "b", "c", "d" };

	metrics_series_remove(f, s[4]);
	cr_expect_eq(f->series_tail, s[3]);
	expect_list(f, after, 4);
	expect_reachable(f, after, names, 4);
	after[4] = get1(f, "f");
	cr_assert_not_null(after[4]);
	expect_list(f, after, 5);
}

Test(metrics, removing_every_series_leaves_an_empty_family_that_still_works)
{
	struct vigil_metric_series *s[5];
	struct vigil_metric_family *f = five(s);
	struct vigil_metric_series *x;

	for (unsigned i = 0; i < 5; i++)
		metrics_series_remove(f, s[i]);
	cr_expect_null(f->series);
	cr_expect_null(f->series_tail);
	cr_expect_eq(f->nseries, 0);
	x = get1(f, "c");
	cr_assert_not_null(x);
	expect_list(f, &x, 1);
	cr_expect_eq(x->value, 0.0);
}

Test(metrics, a_removed_label_set_comes_back_as_a_fresh_series_at_zero)
{
	struct vigil_metric_series *s[5];
	struct vigil_metric_family *f = five(s);
	struct vigil_metric_series *again;

	metrics_series_remove(f, s[1]);
	again = get1(f, "b");
	cr_assert_not_null(again);
	cr_expect_str_eq(again->labels[0], "b");
	cr_expect_eq(again->value, 0.0, "the removed series' value came back");
	cr_expect_eq(f->nseries, 5);
	cr_expect_eq(f->series_tail, again, "a re-created series goes to the end");
	cr_expect_eq(get1(f, "b"), again);
}

Test(metrics, removing_the_overflow_series_drops_it_and_a_later_overflow_makes_a_new_one)
{
	struct vigil_metric_family *f = must_family("capped_total", one_label, 2);
	struct vigil_metric_series *a = get1(f, "a");
	struct vigil_metric_series *b = get1(f, "b");
	struct vigil_metric_series *o = get1(f, "c");
	struct vigil_metric_series *ab[] = { a, b };
	struct vigil_metric_series *o2;

	cr_assert_not_null(o);
	metrics_add(o, 5);
	metrics_series_remove(f, o);
	cr_expect_null(f->overflow);
	expect_list(f, ab, 2);
	cr_expect_eq(get1(f, "a"), a);
	o2 = get1(f, "d");
	cr_assert_not_null(o2);
	cr_expect_eq(f->overflow, o2);
	cr_expect_str_eq(o2->labels[0], VIGIL_METRIC_OVERFLOW);
	cr_expect_eq(o2->value, 0.0);
	cr_expect_eq(f->nseries, 3);
}

Test(metrics, removing_an_ordinary_series_under_overflow_frees_a_slot_under_the_cap)
{
	struct vigil_metric_family *f = must_family("capped_total", one_label, 2);
	struct vigil_metric_series *a = get1(f, "a");
	struct vigil_metric_series *b = get1(f, "b");
	struct vigil_metric_series *o = get1(f, "c");
	struct vigil_metric_series *d;

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	metrics_series_remove(f, a);
	d = get1(f, "d");
	cr_assert_not_null(d);
	cr_expect_neq(d, o, "the freed slot should take a new ordinary series");
	cr_expect_str_eq(d->labels[0], "d");
	cr_expect_eq(get1(f, "e"), o, "the cap is full again");
	cr_expect_eq(f->overflow, o);
	cr_expect_eq(f->nseries, 3);
	cr_expect_eq(list_len(f), 3);
}

Test(metrics, removing_half_of_many_series_after_growth_keeps_the_other_half_reachable)
{
	enum { N = 1000 };
	struct vigil_metric_family *f = must_family("many_total", one_label, 0);
	struct vigil_metric_series *s[N];
	char v[16];

	for (unsigned i = 0; i < N; i++) {
		snprintf(v, sizeof(v), "k%u", i);
		s[i] = get1(f, v);
		cr_assert_not_null(s[i]);
		metrics_set(s[i], 1);
	}
	for (unsigned i = 0; i < N; i += 2)
		metrics_series_remove(f, s[i]);
	cr_expect_eq(f->nseries, N / 2);
	cr_expect_eq(list_len(f), N / 2);
	for (unsigned i = 1; i < N; i += 2) {
		snprintf(v, sizeof(v), "k%u", i);
		cr_assert_eq(get1(f, v), s[i], "series k%u lost", i);
	}
	cr_expect_eq(f->nseries, N / 2, "a removed series was still found");
	for (unsigned i = 0; i < N; i += 2) {
		struct vigil_metric_series *again;

		snprintf(v, sizeof(v), "k%u", i);
		again = get1(f, v);
		cr_assert_not_null(again);
		cr_assert_eq(again->value, 0.0, "k%u came back with its old value", i);
		cr_assert_eq(f->series_tail, again, "k%u was not re-created at the end", i);
	}
	cr_expect_eq(f->nseries, N, "every removed label set should have been re-created");
}

Test(metrics, removing_a_null_series_does_nothing)
{
	struct vigil_metric_series *s[5];
	struct vigil_metric_family *f = five(s);

	metrics_series_remove(f, NULL);
	expect_list(f, s, 5);
}

/* ---- clear ----------------------------------------------------------------- */

Test(metrics, clearing_a_family_drops_every_series_but_keeps_the_family)
{
	struct vigil_metric_family *f = must_family("capped_total", one_label, 2);
	struct vigil_metric_series *a;

	metrics_set(get1(f, "a"), 3);
	get1(f, "b");
	cr_assert_not_null(get1(f, "c"));
	metrics_family_clear(f);
	cr_expect_null(f->series);
	cr_expect_null(f->series_tail);
	cr_expect_null(f->overflow);
	cr_expect_eq(f->nseries, 0);
	cr_expect_eq(m.nfamilies, 1);
	cr_expect_eq(m.families, f);
	a = get1(f, "a");
	cr_assert_not_null(a);
	cr_expect_eq(a->value, 0.0);
	cr_expect_eq(f->series, a);
	cr_expect_eq(f->nseries, 1);
}

Test(metrics, after_a_clear_the_cap_admits_a_full_set_of_new_series)
{
	struct vigil_metric_family *f = must_family("capped_total", one_label, 2);
	struct vigil_metric_series *x, *y;

	get1(f, "a");
	get1(f, "b");
	get1(f, "c");
	metrics_family_clear(f);
	x = get1(f, "x");
	y = get1(f, "y");
	cr_assert_not_null(x);
	cr_assert_not_null(y);
	cr_expect_str_eq(x->labels[0], "x");
	cr_expect_str_eq(y->labels[0], "y");
	cr_expect_null(f->overflow);
	cr_expect_str_eq(get1(f, "z")->labels[0], VIGIL_METRIC_OVERFLOW);
}

Test(metrics, clearing_a_grown_family_leaves_no_stale_bucket)
{
	struct vigil_metric_family *f = must_family("many_total", one_label, 0);
	char v[16];

	for (unsigned i = 0; i < 200; i++) {
		snprintf(v, sizeof(v), "%u", i);
		get1(f, v);
	}
	metrics_family_clear(f);
	for (unsigned i = 0; i < f->nbuckets; i++)
		cr_assert_null(f->buckets[i], "bucket %u still points at a freed series", i);
	cr_expect_eq(get1(f, "7")->value, 0.0);
	cr_expect_eq(f->nseries, 1);
}

/* ---- collectors ------------------------------------------------------------ */

static char collect_log[64];

static void log_collect(void *ctx)
{
	size_t n = strlen(collect_log);

	if (n + 1 < sizeof(collect_log)) {
		collect_log[n] = (char)(uintptr_t)ctx;
		collect_log[n + 1] = 0;
	}
}

Test(metrics, collectors_run_in_registration_order)
{
	collect_log[0] = 0;
	cr_assert_eq(metrics_on_collect(&m, log_collect, (void *)(uintptr_t)'a'), 0);
	cr_assert_eq(metrics_on_collect(&m, log_collect, (void *)(uintptr_t)'b'), 0);
	cr_assert_eq(metrics_on_collect(&m, log_collect, (void *)(uintptr_t)'c'), 0);
	metrics_collect(&m);
	cr_expect_str_eq(collect_log, "abc");
	metrics_collect(&m);
	cr_expect_str_eq(collect_log, "abcabc");
}

Test(metrics, a_seventeenth_collector_is_refused_and_never_runs)
{
	collect_log[0] = 0;
	for (unsigned i = 0; i < 16; i++)
		cr_assert_eq(metrics_on_collect(&m, log_collect, (void *)(uintptr_t)('A' + i)), 0,
			     "collector %u refused", i);
	cr_expect_eq(metrics_on_collect(&m, log_collect, (void *)(uintptr_t)'!'), -ENOSPC);
	cr_expect_eq(m.ncollectors, 16);
	metrics_collect(&m);
	cr_expect_str_eq(collect_log, "ABCDEFGHIJKLMNOP");
}

struct gauge_ctx {
	struct vigil_metric_series *s;
	double next;
};

static void refresh_gauge(void *ctx)
{
	struct gauge_ctx *g = ctx;

	metrics_set(g->s, g->next);
	g->next += 1;
}

static void append_marker(void *ctx)
{
	struct gauge_ctx *g = ctx;

	metrics_set(g->s, g->s->value * 10);	/* only right if refresh_gauge ran first */
}

Test(metrics, collectors_run_in_order_before_each_render)
{
	struct vigil_metric_family *f =
		metrics_family(&m, "up_gauge", "h", VIGIL_METRIC_GAUGE, NULL, 0);
	struct gauge_ctx g;
	char *text;
	size_t len;

	cr_assert_not_null(f);
	g.s = metrics_series(f, NULL);
	g.next = 4;
	cr_assert_eq(metrics_on_collect(&m, refresh_gauge, &g), 0);
	cr_assert_eq(metrics_on_collect(&m, append_marker, &g), 0);
	cr_assert_eq(prometheus_render(&m, &text, &len), 0);
	cr_expect(strstr(text, "\nup_gauge 40\n"), "render did not see the collected value:\n%s",
		  text);
	free(text);
	cr_assert_eq(prometheus_render(&m, &text, &len), 0);
	cr_expect(strstr(text, "\nup_gauge 50\n"), "second render:\n%s", text);
	free(text);
}
