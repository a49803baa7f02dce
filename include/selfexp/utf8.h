#ifndef SELFEXP_UTF8_H
#define SELFEXP_UTF8_H
/*
 * UTF-8 validation. Well-formed means what Unicode (Table 3-7) and RFC 3629
 * mean: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF, no sequence cut short by the end of the input. A NUL byte is a
 * valid one-byte sequence (U+0000); callers that refuse NULs look for them
 * themselves.
 */
#include <stddef.h>

/* Length (1 to 4) of the well-formed sequence at s[0..len), 0 when there is none there (or len is 0). */
size_t sx_utf8_char_len(const char *s, size_t len);
/* Length of the longest well-formed prefix of s[0..len): the offset of the
 * first byte that is not part of a well-formed sequence, len when all are. */
size_t sx_utf8_valid_prefix(const char *s, size_t len);
/* 1 when all of s[0..len) is well-formed UTF-8, 0 otherwise. */
int sx_utf8_valid(const char *s, size_t len);
/*
 * A copy of s[0..len) with every byte that is not part of a well-formed
 * sequence replaced by U+FFFD, NUL-terminated; the caller frees it.
 */
char *sx_utf8_repair(const char *s, size_t len);

#endif
