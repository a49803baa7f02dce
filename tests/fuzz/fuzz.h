#ifndef SELFEXP_FUZZ_H
#define SELFEXP_FUZZ_H
/*
 * Shared helpers of the libFuzzer targets (tests/fuzz/fuzz_*.c).
 *
 * FUZZ_CHECK is an invariant check that survives NDEBUG: a broken invariant
 * prints what was expected and aborts, which libFuzzer reports as a crash
 * and saves the input for.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An exact-size heap copy of data[0..size) with no terminating NUL, so that
 * AddressSanitizer catches any read past the end (libFuzzer's own buffer is
 * exact-size too, but a target may want to cut it in pieces).
 */
static inline char *fuzz_dup(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);

	if (!p)
		abort();
	if (size)
		memcpy(p, data, size);
	return p;
}

#endif
