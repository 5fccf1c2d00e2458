/*
 * test_trustmap.c - keeping a real BPF hash map equal to a trust store
 * (agent/trustmap.c): what is written, what is pruned, what is never
 * absent, and that vigil's own files are always there.  Needs root (a real
 * map in the kernel); without it every test says why and is skipped.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "trust.h"
#include "trustmap.h"
#include "truststore.h"

static int map_fd = -1;

static void setup(void)
{
	map_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_trust", sizeof(struct vigil_trust_key),
				sizeof(struct vigil_trust_val), 4096, NULL);
	if (map_fd < 0)
		cr_skip_test("cannot create a BPF hash map here (%s): these tests need root and "
			     "a kernel with BPF", strerror(errno));
}

static void teardown(void)
{
	if (map_fd >= 0)
		close(map_fd);
	map_fd = -1;
}

TestSuite(trustmap, .init = setup, .fini = teardown);

static struct trust_rec rec(const char *path, uint64_t dev, uint64_t ino, int64_t ctime,
			    uint64_t size)
{
	struct trust_rec r = { .path = (char *)path, .mode = S_IFREG | 0755, .dev = dev,
			       .ino = ino, .ctime_ns = ctime, .size = size };

	strcpy(r.source, "add");
	return r;
}

static bool has(uint64_t dev, uint64_t ino, struct vigil_trust_val *out)
{
	struct vigil_trust_key k = { .dev = dev, .ino = ino };

	return bpf_map_lookup_elem(map_fd, &k, out) == 0;
}

static unsigned count(void)
{
	struct vigil_trust_key k, next;
	void *prev = NULL;
	unsigned n = 0;

	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		n++;
		k = next;
		prev = &k;
	}
	return n;
}

Test(trustmap, a_sync_writes_every_regular_record_and_vigils_own_binary)
{
	struct trust_rec v[3] = { rec("/a", 5, 10, 111, 1), rec("/b", 5, 11, 222, 2),
				  rec("/l", 5, 10, 111, 1) };
	struct trust_store s = { .v = v, .n = 3 };
	struct vigil_trust_val got;
	struct stat self;
	char why[256] = "";
	int n;

	v[2].link_target = "/a";	/* a link name: same inode as /a, no entry of its own */
	n = trustmap_sync_fd(map_fd, &s, NULL, why, sizeof(why));
	cr_assert_geq(n, 3, "sync: %d (%s)", n, why);
	cr_assert_eq((unsigned)n, count(), "the count returned is the map's");
	cr_assert(has(5, 10, &got));
	cr_assert_eq(got.ctime_ns, 111);
	cr_assert_eq(got.size, 1);
	cr_assert(has(5, 11, &got));
	cr_assert_eq(got.ctime_ns, 222);
	cr_assert_eq(stat("/proc/self/exe", &self), 0);
	cr_assert(has(trust_kdev(self.st_dev), self.st_ino, &got),
		  "this binary (vigil's self entry) is not in the map");
	cr_assert_eq(got.size, (uint64_t)self.st_size);
}

Test(trustmap, a_second_sync_prunes_what_left_the_store_and_updates_what_changed)
{
	struct trust_rec v1[2] = { rec("/a", 5, 10, 111, 1), rec("/b", 5, 11, 222, 2) };
	struct trust_rec v2[2] = { rec("/b", 5, 11, 333, 3), rec("/c", 5, 12, 444, 4) };
	struct trust_store s1 = { .v = v1, .n = 2 }, s2 = { .v = v2, .n = 2 };
	struct vigil_trust_key stray = { .dev = 9, .ino = 9 };
	struct vigil_trust_val got, junk = { 1, 1 };
	char why[256] = "";
	unsigned before;

	cr_assert_geq(trustmap_sync_fd(map_fd, &s1, NULL, why, sizeof(why)), 2, "%s", why);
	cr_assert_eq(bpf_map_update_elem(map_fd, &stray, &junk, BPF_ANY), 0);
	before = count();
	cr_assert_geq(trustmap_sync_fd(map_fd, &s2, NULL, why, sizeof(why)), 2, "%s", why);
	cr_assert_not(has(5, 10, &got), "/a left the store but is still trusted");
	cr_assert_not(has(9, 9, &got), "an entry no store has was not pruned");
	cr_assert(has(5, 11, &got));
	cr_assert_eq(got.ctime_ns, 333, "a re-trusted file keeps its old ctime");
	cr_assert(has(5, 12, &got));
	cr_assert_eq(count(), before - 1, "two gone, one new");
}

Test(trustmap, the_store_files_themselves_are_self_entries)
{
	char dir[] = "/tmp/vigil-trustmap-XXXXXX", path[64], why[256] = "";
	struct trust_store s = { 0 };
	struct vigil_trust_val got;
	struct stat st;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("x", f);
	fclose(f);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_geq(trustmap_sync_fd(map_fd, &s, dir, why, sizeof(why)), 2, "%s", why);
	cr_assert(has(trust_kdev(st.st_dev), st.st_ino, &got), "the store file is not trusted");
	unlink(path);
	rmdir(dir);
}

Test(trustmap, a_map_too_small_is_an_error_that_says_so)
{
	struct trust_rec v[8];
	struct trust_store s = { .v = v, .n = 8 };
	char why[256] = "";
	int small, n;

	for (int i = 0; i < 8; i++)
		v[i] = rec("/x", 5, 100 + i, 1, 1);
	small = bpf_map_create(BPF_MAP_TYPE_HASH, "t_small", sizeof(struct vigil_trust_key),
			       sizeof(struct vigil_trust_val), 4, NULL);
	cr_assert_geq(small, 0);
	n = trustmap_sync_fd(small, &s, NULL, why, sizeof(why));
	close(small);
	cr_assert_lt(n, 0);
	cr_assert(strstr(why, "max_entries"), "%s", why);
}
