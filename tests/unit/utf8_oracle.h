/*
 * utf8_oracle.h - a strict UTF-8 check for tests (Unicode 15, table 3-7).
 * Written independently of exporters/strbuf.c's utf8_seq() on purpose: the
 * tests judge the writers' output with a second opinion, not with the code
 * under test.
 */
#ifndef VIGIL_TEST_UTF8_ORACLE_H
#define VIGIL_TEST_UTF8_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

static inline bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t need;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3;
		else
			return false;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (i + need >= n)	/* continuation bytes are s[i+1..i+need] */
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += need + 1;
	}
	return true;
}

#endif
