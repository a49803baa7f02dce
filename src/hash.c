#include <openssl/evp.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "selfexp/alloc.h"
#include "selfexp/hash.h"

void sx_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != 32) {
		fprintf(stderr, "selfexp: sha256 failed\n");
		abort();
	}
}

void sx_sha256_hex(const void *data, size_t len, char hex[SX_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	int i;

	sx_sha256(data, len, md);
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

static void to_hex(const unsigned char md[32], char hex[SX_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

int sx_sha256_file_hex(const char *path, char hex[SX_SHA256_HEX_LEN + 1], struct sx_err *err)
{
	FILE *f = fopen(path, "rb");
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[32];
	unsigned int n = 0;
	char *buf = NULL;
	size_t got;
	int rc = 0;

	if (!f)
		return sx_err_set(err, SX_EIO, "cannot read '%s': %s", path, strerror(errno));
	buf = xmalloc(SX_SHA256_FILE_CHUNK);
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		fprintf(stderr, "selfexp: sha256 failed\n");
		abort();
	}
	while ((got = fread(buf, 1, SX_SHA256_FILE_CHUNK, f)) > 0)
		EVP_DigestUpdate(ctx, buf, got);
	if (ferror(f))
		rc = sx_err_set(err, SX_EIO, "cannot read '%s': %s", path, strerror(errno));
	else if (!EVP_DigestFinal_ex(ctx, md, &n) || n != 32)
		abort();
	else
		to_hex(md, hex);
	EVP_MD_CTX_free(ctx);
	free(buf);
	fclose(f);
	return rc;
}

uint64_t sx_hash64(const void *data, size_t len)
{
	unsigned char md[32];
	uint64_t v = 0;
	int i;

	sx_sha256(data, len, md);
	for (i = 0; i < 8; i++)
		v = (v << 8) | md[i];
	return v;
}

char *sx_base64(const void *data, size_t len)
{
	size_t n = sx_size_add(sx_size_mul(len / 3 + 1, 4), 1);
	char *out = xmalloc(n);
	size_t done = 0;

	/* EVP_EncodeBlock takes an int length: in pieces of a multiple of 3 */
	while (len - done > 0) {
		size_t piece = len - done > 3u << 20 ? 3u << 20 : len - done;
		int w = EVP_EncodeBlock((unsigned char *)out + done / 3 * 4,
					(const unsigned char *)data + done, (int)piece);
		(void)w;
		done += piece;
	}
	out[(len + 2) / 3 * 4] = '\0';
	return out;
}

char *sx_base64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text), pad = 0;
	char *out;
	int w;

	if (n % 4 || n > (size_t)INT_MAX)
		return NULL;
	out = xmalloc(n / 4 * 3 + 1);
	w = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)text, (int)n);
	if (w < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as data */
	while (pad < 2 && n > pad && text[n - 1 - pad] == '=')
		pad++;
	*len = (size_t)w - pad;
	out[*len] = '\0';
	return out;
}
