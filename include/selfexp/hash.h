#ifndef SELFEXP_HASH_H
#define SELFEXP_HASH_H
/* SHA-256 and base64 (wraps libcrypto). */
#include <stddef.h>
#include <stdint.h>

#include "selfexp/err.h"

#define SX_SHA256_HEX_LEN 64
/* Bytes read at a time by sx_sha256_file_hex. */
#define SX_SHA256_FILE_CHUNK (1u << 20)

/* hex receives 64 lowercase hex digits and a NUL. */
void sx_sha256_hex(const void *data, size_t len, char hex[SX_SHA256_HEX_LEN + 1]);
void sx_sha256(const void *data, size_t len, unsigned char out[32]);
/* The SHA-256 of the file at path, read in chunks (any size); SX_EIO when it cannot be read. */
int sx_sha256_file_hex(const char *path, char hex[SX_SHA256_HEX_LEN + 1], struct sx_err *err);
/* First 8 bytes of SHA-256 as a big-endian integer: a stable 64-bit hash. */
uint64_t sx_hash64(const void *data, size_t len);
/* data as base64 (RFC 4648, with padding), NUL-terminated; the caller frees it. */
char *sx_base64(const void *data, size_t len);
/*
 * Decode base64 text (with padding) into a new NUL-terminated buffer, its
 * length in *len; NULL when text is not base64. The caller frees it.
 */
char *sx_base64_decode(const char *text, size_t *len);

#endif
