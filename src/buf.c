#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/utf8.h"

char sx_buf_empty[1];

void sx_buf_init(struct sx_buf *b, size_t hint)
{
	b->buf = sx_buf_empty;
	b->len = 0;
	b->alloc = 0;
	if (hint)
		sx_buf_grow(b, hint);
}

void sx_buf_release(struct sx_buf *b)
{
	if (b->alloc)
		free(b->buf);
	sx_buf_init(b, 0);
}

void sx_buf_reset(struct sx_buf *b)
{
	sx_buf_setlen(b, 0);
}

char *sx_buf_detach(struct sx_buf *b, size_t *len)
{
	char *res;

	sx_buf_grow(b, 0);
	res = b->buf;
	if (len)
		*len = b->len;
	sx_buf_init(b, 0);
	return res;
}

void sx_buf_grow(struct sx_buf *b, size_t extra)
{
	size_t need = sx_size_add(sx_size_add(b->len, extra), 1);
	int fresh = !b->alloc;

	if (need <= b->alloc)
		return;
	if (fresh)
		b->buf = NULL;
	SX_GROW(b->buf, b->alloc, need);
	if (fresh)
		b->buf[0] = '\0';
}

void sx_buf_setlen(struct sx_buf *b, size_t len)
{
	if (!b->alloc) {
		if (len)
			abort();
		return;
	}
	if (len >= b->alloc)
		abort();
	b->len = len;
	b->buf[len] = '\0';
}

void sx_buf_add(struct sx_buf *b, const void *data, size_t len)
{
	if (!len)
		return;
	sx_buf_grow(b, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void sx_buf_adds(struct sx_buf *b, const char *s)
{
	sx_buf_add(b, s, strlen(s));
}

void sx_buf_addch(struct sx_buf *b, int c)
{
	sx_buf_grow(b, 1);
	b->buf[b->len++] = (char)c;
	b->buf[b->len] = '\0';
}

void sx_buf_vaddf(struct sx_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	sx_buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		abort();
	if ((size_t)n >= b->alloc - b->len) {
		sx_buf_grow(b, (size_t)n);
		n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
		if (n < 0)
			abort();
	}
	b->len += (size_t)n;
}

void sx_buf_addf(struct sx_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sx_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void sx_buf_add_json_str(struct sx_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	sx_buf_grow(b, sx_size_add(len, 2));
	sx_buf_addch(b, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue; /* copied with the rest of its run */
		sx_buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': sx_buf_add(b, "\\\"", 2); break;
		case '\\': sx_buf_add(b, "\\\\", 2); break;
		case '\n': sx_buf_add(b, "\\n", 2); break;
		case '\r': sx_buf_add(b, "\\r", 2); break;
		case '\t': sx_buf_add(b, "\\t", 2); break;
		case '\b': sx_buf_add(b, "\\b", 2); break;
		case '\f': sx_buf_add(b, "\\f", 2); break;
		default: {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			sx_buf_add(b, esc, 6);
		}
		}
	}
	sx_buf_add(b, s + run, len - run);
	sx_buf_addch(b, '"');
}

void sx_buf_add_html(struct sx_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		switch (p[i]) {
		case '&': sx_buf_adds(b, "&amp;"); i++; continue;
		case '<': sx_buf_adds(b, "&lt;"); i++; continue;
		case '>': sx_buf_adds(b, "&gt;"); i++; continue;
		case '"': sx_buf_adds(b, "&quot;"); i++; continue;
		case '\'': sx_buf_adds(b, "&#39;"); i++; continue;
		case '\0': sx_buf_adds(b, "\xef\xbf\xbd"); i++; continue;
		default: break;
		}
		if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\t' && p[i] != '\r') {
			sx_buf_adds(b, "\xef\xbf\xbd");
			i++;
			continue;
		}
		n = sx_utf8_char_len(s + i, len - i);
		if (!n) {
			sx_buf_adds(b, "\xef\xbf\xbd");
			i++;
			continue;
		}
		sx_buf_add(b, p + i, n);
		i += n;
	}
}
