#ifndef SELFEXP_BUF_H
#define SELFEXP_BUF_H
/*
 * A growable byte buffer (git strbuf). buf is always NUL-terminated, so it
 * can be used as a C string; it may also hold NUL bytes, len is the truth.
 *
 *	struct sx_buf b = SX_BUF_INIT;
 *	sx_buf_addf(&b, "%d", 42);
 *	... use b.buf, b.len ...
 *	sx_buf_release(&b);
 */
#include <stdarg.h>
#include <stddef.h>

struct sx_buf {
	char *buf; /* owned; never NULL after init (points at a static "" until first growth) */
	size_t len;
	size_t alloc;
};

extern char sx_buf_empty[];
#define SX_BUF_INIT { .buf = sx_buf_empty, .len = 0, .alloc = 0 }

void sx_buf_init(struct sx_buf *b, size_t hint);
void sx_buf_release(struct sx_buf *b);
void sx_buf_reset(struct sx_buf *b);
/* Hand the contents over to the caller (to free()); b is left empty. */
char *sx_buf_detach(struct sx_buf *b, size_t *len);
void sx_buf_grow(struct sx_buf *b, size_t extra);
void sx_buf_add(struct sx_buf *b, const void *data, size_t len);
void sx_buf_adds(struct sx_buf *b, const char *s);
void sx_buf_addch(struct sx_buf *b, int c);
__attribute__((format(printf, 2, 3)))
void sx_buf_addf(struct sx_buf *b, const char *fmt, ...);
__attribute__((format(printf, 2, 0)))
void sx_buf_vaddf(struct sx_buf *b, const char *fmt, va_list ap);
void sx_buf_setlen(struct sx_buf *b, size_t len);
/* Append s as a JSON string literal (quotes and escapes included). */
void sx_buf_add_json_str(struct sx_buf *b, const char *s, size_t len);
/*
 * Append s[0..len) HTML-escaped, fit for element text and quoted attribute
 * values (of XML too): & < > " ' become entities; a NUL, a control character
 * other than tab, newline and carriage return, and each byte that is not part
 * of well-formed UTF-8 (sx_utf8_char_len) become U+FFFD.
 */
void sx_buf_add_html(struct sx_buf *b, const char *s, size_t len);

#endif
