#include <stddef.h>
#include <string.h>

#include "selfexp/alloc.h"

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

char *sx_utf8_repair(const char *s, size_t len)
{
	/* each bad byte becomes 3: at most 3 len + 1 */
	char *out = xmalloc(sx_size_add(sx_size_mul(len, 3), 1));
	size_t i = 0, o = 0, n;

	while (i < len) {
		n = sx_utf8_char_len(s + i, len - i);
		if (n) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}
