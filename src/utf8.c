#include <stddef.h>

#include "selfexp/utf8.h"

size_t sx_utf8_char_len(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
	size_t need, i;

	if (!len)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 2;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 3;
	else
		return 0; /* a continuation byte, an overlong lead (c0, c1) or above U+10FFFF (f5..ff) */
	/* The second byte's range excludes the overlong forms (e0, f0), the
	 * surrogates (ed) and what lies above U+10FFFF (f4). */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (len < need + 1)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i <= need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need + 1;
}

size_t sx_utf8_valid_prefix(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = sx_utf8_char_len(s + i, len - i);

		if (!n)
			break;
		i += n;
	}
	return i;
}

int sx_utf8_valid(const char *s, size_t len)
{
	return sx_utf8_valid_prefix(s, len) == len;
}
