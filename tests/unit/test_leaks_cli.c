/*
 * test_leaks_cli.c - `vigil leaks` pieces that need no agent: the
 * sparkline, and option errors (which exit 2 before any connection).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leaks_cli.h"

static const char *const bars[] = { "\u2581", "\u2582", "\u2583", "\u2584",
				    "\u2585", "\u2586", "\u2587", "\u2588" };

static char *spark(const double *v, size_t n, size_t width)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	leaks_sparkline(f, v, n, width);
	fclose(f);
	return buf;
}

/* How many block characters, and which level each is (0..7). */
static size_t levels(const char *s, int *out, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		int k;

		for (k = 0; k < 8; k++)
			if (!strncmp(s, bars[k], strlen(bars[k])))
				break;
		cr_assert_lt(k, 8, "not a block character at '%s'", s);
		out[n++] = k;
		s += strlen(bars[k]);
	}
	return n;
}

Test(sparkline, a_ramp_goes_from_the_lowest_to_the_highest_block)
{
	double v[8];
	int lv[16];
	char *s;

	for (int i = 0; i < 8; i++)
		v[i] = 1000.0 + i * 10.0;
	s = spark(v, 8, 24);
	cr_assert_eq(levels(s, lv, 16), 8);
	for (int i = 0; i < 8; i++)
		cr_expect_eq(lv[i], i, "point %d is level %d", i, lv[i]);
	free(s);
}

Test(sparkline, a_flat_series_is_all_lowest_blocks)
{
	double v[5] = { 7, 7, 7, 7, 7 };
	int lv[8];
	char *s = spark(v, 5, 24);

	cr_assert_eq(levels(s, lv, 8), 5);
	for (int i = 0; i < 5; i++)
		cr_expect_eq(lv[i], 0);
	free(s);
}

Test(sparkline, a_long_history_is_averaged_down_to_the_width)
{
	double v[100];
	int lv[64];
	char *s;

	for (int i = 0; i < 100; i++)
		v[i] = i < 50 ? 0 : 100;
	s = spark(v, 100, 10);
	cr_assert_eq(levels(s, lv, 64), 10);
	cr_expect_eq(lv[0], 0);
	cr_expect_eq(lv[4], 0);
	cr_expect_eq(lv[5], 7);
	cr_expect_eq(lv[9], 7);
	free(s);
}

static int run(char **argv, int argc, char **err_text)
{
	char *ob = NULL, *eb = NULL;
	size_t ol = 0, el = 0;
	FILE *out = open_memstream(&ob, &ol), *err = open_memstream(&eb, &el);
	int rc = leaks_cli_run(argc, argv, out, err);

	fclose(out);
	fclose(err);
	free(ob);
	*err_text = eb;
	return rc;
}

Test(leaks_cli, bad_options_are_usage_errors_with_the_usage)
{
	char *e;
	char *a1[] = { "leaks", "--top", "0", NULL };
	char *a2[] = { "leaks", "--top", "12x", NULL };
	char *a3[] = { "leaks", "--nope", NULL };
	char *a4[] = { "leaks", "extra", NULL };

	cr_expect_eq(run(a1, 3, &e), 2);
	cr_expect(strstr(e, "--top wants a number"), "%s", e);
	cr_expect(strstr(e, "Usage: vigil leaks"), "%s", e);
	free(e);
	cr_expect_eq(run(a2, 3, &e), 2);
	free(e);
	cr_expect_eq(run(a3, 2, &e), 2);
	cr_expect(strstr(e, "unknown option"), "%s", e);
	free(e);
	cr_expect_eq(run(a4, 2, &e), 2);
	cr_expect(strstr(e, "unexpected argument 'extra'"), "%s", e);
	free(e);
}

Test(leaks_cli, a_bad_agent_address_is_refused_before_connecting)
{
	char *e;
	char *a[] = { "leaks", "--agent", "not-an-address", NULL };

	cr_expect_eq(run(a, 3, &e), 1);
	cr_expect(strstr(e, "bad agent address 'not-an-address'"), "%s", e);
	free(e);
}
