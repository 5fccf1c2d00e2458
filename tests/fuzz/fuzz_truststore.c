/*
 * fuzz_truststore.c - libFuzzer target for the trust store's parser.
 *
 * Each input is a store file's bytes.  trust_store_parse() must never
 * crash, hang or leak, and a store it accepts must survive a round trip:
 * formatting it and parsing the result gives the same records (the
 * checksum, escaping and field parsing agree with each other).  Built and
 * run by `make fuzz`; seeds are tests/fuzz/corpus/truststore/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "truststore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
	do { \
		if (!(cond)) \
			__builtin_trap(); \
	} while (0)

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trust_store s = { 0 }, t = { 0 };
	char why[512] = "", *text = NULL;
	size_t len = 0;

	if (trust_store_parse(&s, (const char *)data, size, why, sizeof(why)) == 0) {
		CHECK(trust_store_format(&s, &text, &len) == 0);
		CHECK(trust_store_parse(&t, text, len, why, sizeof(why)) == 0);
		CHECK(t.n == s.n && t.generation == s.generation);
		for (size_t i = 0; i < s.n; i++) {
			CHECK(same(s.v[i].path, t.v[i].path));
			CHECK(same(s.v[i].link_target, t.v[i].link_target));
			CHECK(!memcmp(s.v[i].sha256, t.v[i].sha256, 32));
			CHECK(s.v[i].ino == t.v[i].ino && s.v[i].ctime_ns == t.v[i].ctime_ns);
		}
	} else {
		CHECK(why[0] && memchr(why, 0, sizeof(why)));
	}
	free(text);
	trust_store_free(&s);
	trust_store_free(&t);
	return 0;
}
