/*
 * jsonw.c - streaming JSON writer (see jsonw.h for why it exists).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
	w->first = 1;
}

void jsonw_free(struct jsonw *w)
{
	strbuf_free(&w->b);
	jsonw_init(w);
}

void jsonw_reset(struct jsonw *w)
{
	strbuf_reset(&w->b);
	w->depth = 0;
	w->first = 1;
	w->too_deep = false;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	strbuf_put(&w->b, s, n);
}

static void putc_(struct jsonw *w, char c)
{
	strbuf_putc(&w->b, c);
}

static void put_escaped(struct jsonw *w, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, k;
	char esc[8];

	/* Worst case every byte becomes 6 ("\u00XX"); reserve once. */
	if (!strbuf_reserve(&w->b, len * 6 + 2))
		return;
	putc_(w, '"');
	while (i < len) {
		unsigned char c = u[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			run++;
			i++;
			continue;
		}
		put(w, s + i - run, run);
		run = 0;
		if (c >= 0x80) {
			k = utf8_seq(u + i, len - i);
			if (k) {
				put(w, s + i, k);
				i += k;
			} else {
				put(w, "\xef\xbf\xbd", 3);
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': put(w, "\\\"", 2); break;
		case '\\': put(w, "\\\\", 2); break;
		case '\n': put(w, "\\n", 2); break;
		case '\r': put(w, "\\r", 2); break;
		case '\t': put(w, "\\t", 2); break;
		case '\b': put(w, "\\b", 2); break;
		case '\f': put(w, "\\f", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(w, esc, 6);
		}
		i++;
	}
	put(w, s + i - run, run);
	putc_(w, '"');
}

/* Comma and key before a value. */
static void member(struct jsonw *w, const char *key)
{
	uint32_t bit = 1u << w->depth;

	if (w->depth > 0 && !(w->first & bit))
		putc_(w, ',');
	w->first &= ~bit;
	if (key) {
		put_escaped(w, key, strlen(key));
		putc_(w, ':');
	}
}

static void open_(struct jsonw *w, const char *key, char c)
{
	member(w, key);
	putc_(w, c);
	if (w->depth + 1 < JSONW_MAX_DEPTH) {
		w->depth++;
		w->first |= 1u << w->depth;
	} else {
		w->too_deep = true;	/* mark the document broken */
	}
}

static void close_(struct jsonw *w, char c)
{
	putc_(w, c);
	if (w->depth > 0)
		w->depth--;
}

void jsonw_object_begin(struct jsonw *w, const char *key) { open_(w, key, '{'); }
void jsonw_object_end(struct jsonw *w) { close_(w, '}'); }
void jsonw_array_begin(struct jsonw *w, const char *key) { open_(w, key, '['); }
void jsonw_array_end(struct jsonw *w) { close_(w, ']'); }

void jsonw_string_len(struct jsonw *w, const char *key, const char *s, size_t len)
{
	member(w, key);
	put_escaped(w, s ? s : "", s ? len : 0);
}

void jsonw_string(struct jsonw *w, const char *key, const char *s)
{
	jsonw_string_len(w, key, s, s ? strlen(s) : 0);
}

void jsonw_int(struct jsonw *w, const char *key, int64_t v)
{
	char b[24];

	member(w, key);
	put(w, b, snprintf(b, sizeof(b), "%" PRId64, v));
}

void jsonw_uint(struct jsonw *w, const char *key, uint64_t v)
{
	char b[24];

	member(w, key);
	put(w, b, snprintf(b, sizeof(b), "%" PRIu64, v));
}

void jsonw_double(struct jsonw *w, const char *key, double v)
{
	char b[40];

	member(w, key);
	if (!isfinite(v)) {
		put(w, "null", 4);	/* JSON has no NaN or Infinity */
		return;
	}
	put(w, b, snprintf(b, sizeof(b), "%.9g", v));
}

void jsonw_seconds(struct jsonw *w, const char *key, uint64_t ns)
{
	char b[32];

	member(w, key);
	put(w, b, snprintf(b, sizeof(b), "%" PRIu64 ".%09" PRIu64, ns / 1000000000u,
			   ns % 1000000000u));
}

void jsonw_bool(struct jsonw *w, const char *key, bool v)
{
	member(w, key);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(struct jsonw *w, const char *key)
{
	member(w, key);
	put(w, "null", 4);
}
