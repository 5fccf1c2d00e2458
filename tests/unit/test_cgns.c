/*
 * test_cgns.c - agent/cgns.c: joining /proc/PID/cgroup paths to the
 * namespace root, the mountinfo root field and its depth, and the search
 * for the namespace root (on a directory tree this test makes under /tmp:
 * the search only reads directories and cgroup.procs files, so a plain
 * tree shows what it finds; test_oomproc's cgroupns test runs it on the
 * real cgroup v1 hierarchy).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgns.h"

TestSuite(cgns, .timeout = 30);

Test(cgns, join_table)
{
	static const struct {
		const char *base, *path, *want;
		int err;
	} t[] = {
		{ "/kubepods/pod1/c1", "/../../besteffort/x", "/kubepods/besteffort/x", 0 },
		{ "/kubepods/pod1/c1", "/../../..", "/", 0 },
		{ "/kubepods/pod1/c1", "/../../../kubepods.slice/a", "/kubepods.slice/a", 0 },
		{ "/a/b", "/", "/a/b", 0 },
		{ "/a/b", "/c/d", "/a/b/c/d", 0 },
		{ "/a/b", "/c/./d/", "/a/b/c/d", 0 },
		{ "/a/b", "//c//d", "/a/b/c/d", 0 },
		{ "/a/b", "/../b/c", "/a/b/c", 0 },
		{ "/", "/", "/", 0 },
		{ "/", "/x", "/x", 0 },
		{ "/a/b", "/x/../../y", "/a/y", 0 },
		{ "/a", "/../..", NULL, -ERANGE },	/* above the mount */
		{ "/", "/../x", NULL, -ERANGE },
		{ "a", "/x", NULL, -EINVAL },
		{ "/a", "x", NULL, -EINVAL },
	};
	char out[PATH_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int err = cgns_join(t[i].base, t[i].path, out, sizeof(out));

		cr_expect_eq(err, t[i].err, "join(%s, %s) = %d, want %d", t[i].base, t[i].path, err,
			     t[i].err);
		if (!err && t[i].want)
			cr_expect_str_eq(out, t[i].want, "join(%s, %s)", t[i].base, t[i].path);
	}
}

Test(cgns, join_refuses_what_does_not_fit)
{
	char out[8];

	cr_expect_eq(cgns_join("/abc", "/defgh", out, sizeof(out)), -ENAMETOOLONG);
	cr_expect_eq(cgns_join("/abc", "/de", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/abc/de");
	cr_expect_eq(cgns_join("/", "/", out, 1), -ENAMETOOLONG);
}

Test(cgns, root_depth_table)
{
	static const struct {
		const char *root;
		int want;
	} t[] = {
		{ "/", 0 },
		{ "/..", 1 },
		{ "/../..", 2 },
		{ "/../../..", 3 },
		{ "/x", -EINVAL },		/* a subdirectory of the namespace root */
		{ "/../x", -EINVAL },		/* beside it */
		{ "/..x", -EINVAL },
		{ "/../", -EINVAL },
		{ "..", -EINVAL },
		{ "", -EINVAL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(cgns_root_depth(t[i].root), t[i].want, "depth(\"%s\") = %d, want %d",
			     t[i].root, cgns_root_depth(t[i].root), t[i].want);
	cr_expect_eq(cgns_root_depth(NULL), -EINVAL);
}

Test(cgns, root_depth_is_bounded)
{
	char root[3 * (CGNS_MAX_DEPTH + 1) + 1] = "";

	for (int i = 0; i < CGNS_MAX_DEPTH; i++)
		strcat(root, "/..");
	cr_expect_eq(cgns_root_depth(root), CGNS_MAX_DEPTH);
	strcat(root, "/..");
	cr_expect_eq(cgns_root_depth(root), -EINVAL);
}

/* As an unprivileged pod's agent reads it: the host's tree bound in, 3 levels above its root. */
static const char MOUNTINFO[] =
	"1510 1490 0:27 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
	"1511 1510 0:32 /../../.. /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"1512 1510 0:38 /../../.. /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	"1513 1510 0:33 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"1514 1490 0:40 /a\\040b /mnt/with\\040space rw - cgroup2 cgroup2 rw\n"
	"1515 1490 0:41 /first /mnt/twice rw - cgroup2 cgroup2 rw\n"
	"1516 1490 0:41 /.. /mnt/twice rw - cgroup2 cgroup2 rw\n"
	"1517 1490 0:42 relative /mnt/odd rw - cgroup2 cgroup2 rw\n"
	"garbage\n"
	"1518 1490\n";

Test(cgns, mount_root_from_mountinfo)
{
	char root[PATH_MAX], small[4];

	cr_expect_eq(cgns_mount_root(MOUNTINFO, "/sys/fs/cgroup/memory", root, sizeof(root)), 0);
	cr_expect_str_eq(root, "/../../..");
	cr_expect_eq(cgns_root_depth(root), 3);
	cr_expect_eq(cgns_mount_root(MOUNTINFO, "/sys/fs/cgroup/cpu", root, sizeof(root)), 0);
	cr_expect_str_eq(root, "/");
	/* escapes undone, in the mount point and the root */
	cr_expect_eq(cgns_mount_root(MOUNTINFO, "/mnt/with space", root, sizeof(root)), 0);
	cr_expect_str_eq(root, "/a b");
	/* the last mount on a point covers the earlier ones */
	cr_expect_eq(cgns_mount_root(MOUNTINFO, "/mnt/twice", root, sizeof(root)), 0);
	cr_expect_str_eq(root, "/..");
	cr_expect_eq(cgns_mount_root(MOUNTINFO, "/mnt/odd", root, sizeof(root)), -EINVAL);
	cr_expect_eq(cgns_mount_root(MOUNTINFO, "/sys/fs/cgroup/mem", root, sizeof(root)), -ENOENT);
	cr_expect_eq(cgns_mount_root(MOUNTINFO, "/sys/fs/cgroup/memory", small, sizeof(small)),
		     -ENAMETOOLONG);
	cr_expect_eq(cgns_mount_root("", "/", root, sizeof(root)), -ENOENT);
	cr_expect_eq(cgns_mount_root(NULL, "/", root, sizeof(root)), -EINVAL);
}

/* ---- the search, on a tree under /tmp ------------------------------------------ */

static char tree[128];

static void mkd(const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s%s", tree, rel);
	cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s: %s", p, strerror(errno));
}

static void procs(const char *rel, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s/cgroup.procs", tree, rel);
	f = fopen(p, "we");
	cr_assert_not_null(f, "%s: %s", p, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void rm_tree(void)
{
	if (tree[0])
		nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_tree(void)
{
	snprintf(tree, sizeof(tree), "/tmp/vigil-test-cgns-%d", (int)getpid());
	rm_tree();
	cr_assert_eq(mkdir(tree, 0755), 0, "mkdir %s: %s", tree, strerror(errno));
	/* Two candidates at depth 2 have the agent's subdirectory; one lists pid 4242. */
	mkd("/kubepods");
	mkd("/kubepods/podA");
	mkd("/kubepods/podA/agent");
	procs("/kubepods/podA/agent", "17\n4241\n");
	mkd("/kubepods/podB");
	mkd("/kubepods/podB/agent");
	procs("/kubepods/podB/agent", "100\n4242\n");
	mkd("/system");
	mkd("/system/x");
	procs("/system/x", "4242\n");	/* at depth 2, but not where the agent's cgroup is */
	mkd("/solo");
	mkd("/solo/one");
	mkd("/solo/one/inner");
	procs("/solo/one/inner", "6666\n");
	procs("", "1\n");
}

TestSuite(cgns_find, .fini = rm_tree, .timeout = 30);

Test(cgns_find, finds_the_root_that_holds_the_agent)
{
	char out[PATH_MAX];

	make_tree();
	cr_expect_eq(cgns_find_root(tree, 2, "/agent", 4242, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/kubepods/podB");
	cr_expect_eq(cgns_find_root(tree, 2, "/agent", 4241, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/kubepods/podA");
	/* the agent at its namespace root itself */
	cr_expect_eq(cgns_find_root(tree, 2, "/", 4242, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/system/x");
	/* an agent outside its namespace root, reached from one root only */
	cr_expect_eq(cgns_find_root(tree, 2, "/../one/inner", 6666, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/solo/one");
	/* "/../podB/agent" is as true from podA as from podB: no guess */
	cr_expect_eq(cgns_find_root(tree, 2, "/../podB/agent", 4242, out, sizeof(out)), -ENOTUNIQ);
	/* depth 0: the mount itself */
	cr_expect_eq(cgns_find_root(tree, 0, "/", 1, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/");
}

Test(cgns_find, not_found_and_bad_arguments)
{
	char out[PATH_MAX];

	make_tree();
	cr_expect_eq(cgns_find_root(tree, 2, "/agent", 9999, out, sizeof(out)), -ENOENT);
	cr_expect_eq(cgns_find_root(tree, 1, "/agent", 4242, out, sizeof(out)), -ENOENT);
	cr_expect_eq(cgns_find_root(tree, 3, "/agent", 4242, out, sizeof(out)), -ENOENT);
	cr_expect_eq(cgns_find_root(tree, 2, "agent", 4242, out, sizeof(out)), -EINVAL);
	cr_expect_eq(cgns_find_root(tree, -1, "/", 4242, out, sizeof(out)), -EINVAL);
	cr_expect_eq(cgns_find_root("/nonexistent/vigil-test-cgns", 1, "/", 1, out, sizeof(out)),
		     -ENOENT);
	cr_expect_eq(cgns_find_root(tree, 2, "/agent", 4242, out, 4), -ENAMETOOLONG);
}
