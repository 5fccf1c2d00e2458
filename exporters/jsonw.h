/*
 * jsonw.h - a streaming JSON writer for the event hot path.
 *
 * Why not json-c here: every JSON library Debian ships (json-c, jansson,
 * cJSON) builds a tree of heap objects per document, and profiling showed
 * that tree, not the kernel, was 90% of the agent's CPU per event.  This
 * writer appends straight into one reusable buffer: no allocation per
 * event once the buffer has grown.  It only writes; parsing (config,
 * tests) stays with the libraries.
 *
 * Strings are arbitrary bytes: invalid UTF-8 becomes U+FFFD and control
 * characters are escaped, so the output is always valid JSON.
 */
#ifndef VIGIL_JSONW_H
#define VIGIL_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define JSONW_MAX_DEPTH 32

struct jsonw {
	struct strbuf b;	/* b.oom: an append failed, the document is incomplete */
	int depth;
	uint32_t first;		/* bit d: the container at depth d has no member yet */
	bool too_deep;
};

void jsonw_init(struct jsonw *w);
void jsonw_free(struct jsonw *w);
void jsonw_reset(struct jsonw *w);	/* empty the buffer, keep its memory */

/* key is NULL for array elements and for the top-level value. */
void jsonw_object_begin(struct jsonw *w, const char *key);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w, const char *key);
void jsonw_array_end(struct jsonw *w);
void jsonw_string(struct jsonw *w, const char *key, const char *s);
void jsonw_string_len(struct jsonw *w, const char *key, const char *s, size_t len);
void jsonw_int(struct jsonw *w, const char *key, int64_t v);
void jsonw_uint(struct jsonw *w, const char *key, uint64_t v);
void jsonw_double(struct jsonw *w, const char *key, double v);
/* A duration in ns as exact decimal seconds ("0.926093431"). */
void jsonw_seconds(struct jsonw *w, const char *key, uint64_t ns);
void jsonw_bool(struct jsonw *w, const char *key, bool v);
void jsonw_null(struct jsonw *w, const char *key);

/* The document so far, and whether it is complete (no allocation failure). */
static inline const char *jsonw_text(const struct jsonw *w, size_t *len)
{
	*len = w->b.len;
	return w->b.buf ? w->b.buf : "";
}

static inline bool jsonw_ok(const struct jsonw *w)
{
	return !w->b.oom && !w->too_deep;
}

#endif
