/*
 * test_fuzz_regressions.c - inputs that once broke the policy loader while
 * fuzzing (tests/fuzz/regressions/policy/, see the README there) go through
 * policy_load_buffer() and the set-wide checks again on every unit run,
 * under ASan and UBSan: each must come back without a crash, a leak or a
 * sanitizer report, with its return value matching the errors it added,
 * and with a message in every diagnostic.
 *
 * `make fuzz` replays the same files through the libFuzzer target; this
 * test keeps them covered by `make unit`, which needs no clang.
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

#define REGRESSIONS "tests/fuzz/regressions/policy"

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Inputs are every file but the README, dot files and directories. */
static int is_input(const struct dirent *e)
{
	return e->d_name[0] != '.' && strcmp(e->d_name, "README.md") && e->d_type != DT_DIR;
}

static void replay(const char *dir, const char *name)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct policy_set s = { 0 };
	struct policy_diags d = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f, *mem;
	char buf[4096];
	size_t got;
	int rc;

	cr_assert_lt((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name), sizeof(path));
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	/* The whole file, byte for byte: fuzz inputs hold NULs and any other byte. */
	mem = open_memstream(&text, &len);
	cr_assert_not_null(mem);
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		cr_assert_eq(fwrite(buf, 1, got, mem), got);
	cr_assert_eq(ferror(f), 0, "%s: read error", path);
	fclose(f);
	cr_assert_eq(fclose(mem), 0);

	/* Logged first: if the load crashes, the last line names the input. */
	cr_log_info("replaying %s (%zu bytes)", path, len);
	rc = policy_load_buffer(&s, name, text, len, &d);
	cr_assert_geq(rc, 0, "%s: policy_load_buffer: %s", path, strerror(-rc));
	cr_expect_eq((size_t)rc, d.errors, "%s: returned %d but added %zu errors", path, rc,
		     d.errors);
	cr_assert_geq(policy_set_finish(&s, &d), 0, "%s: policy_set_finish failed", path);
	for (size_t i = 0; i < d.n; i++) {
		char line[PATH_MAX + 512];

		cr_expect(memchr(d.v[i].msg, 0, sizeof(d.v[i].msg)) && d.v[i].msg[0],
			  "%s: diagnostic %zu (line %d) has no message", path, i, d.v[i].line);
		policy_diag_format(&d.v[i], line, sizeof(line));
		cr_expect_neq(line[0], 0, "%s: diagnostic %zu formats to nothing", path, i);
	}
	policy_set_free(&s);
	policy_diags_free(&d);
	free(text);
}

Test(fuzz_regressions, every_input_that_once_broke_the_loader_now_loads_cleanly)
{
	const char *root = getenv("VIGIL_SRCDIR");
	struct dirent **ents;
	char dir[PATH_MAX];
	int n;

	snprintf(dir, sizeof(dir), "%s%s" REGRESSIONS, root ? root : "", root ? "/" : "");
	n = scandir(dir, &ents, is_input, by_name);
	cr_assert_geq(n, 0, "%s: %s (run from the repository root or set VIGIL_SRCDIR; the "
		      "directory must exist even when it holds no inputs)", dir, strerror(errno));
	if (n == 0)
		cr_log_info("%s holds no regression inputs yet; nothing to replay", dir);
	for (int i = 0; i < n; i++) {
		replay(dir, ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
}
