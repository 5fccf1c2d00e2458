/*
 * strbuf.h - a growable byte buffer and a UTF-8 validator, shared by the
 * text producers (JSON lines, Prometheus exposition).  Appends never fail
 * loudly: an allocation failure sets `oom` and later appends are ignored,
 * so a producer checks once at the end.
 */
#ifndef VIGIL_STRBUF_H
#define VIGIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;	/* NUL-terminated when non-NULL */
	size_t len, cap;
	bool oom;
};

bool strbuf_reserve(struct strbuf *b, size_t more);
void strbuf_put(struct strbuf *b, const char *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_putc(struct strbuf *b, char c);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_reset(struct strbuf *b);	/* empty, keep the memory */
void strbuf_free(struct strbuf *b);
/* Hand the buffer to the caller (who frees it); b is left empty. */
char *strbuf_detach(struct strbuf *b, size_t *len);

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
size_t utf8_seq(const unsigned char *s, size_t n);

#endif
