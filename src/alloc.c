#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"

static void die_oom(size_t size)
{
	fprintf(stderr, "selfexp: out of memory allocating %zu bytes\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		die_oom(size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_oom(sx_size_mul(n, size));
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		die_oom(size);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(sx_size_add(len, 1));
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

size_t sx_size_mul(size_t a, size_t b)
{
	if (b && a > SIZE_MAX / b) {
		fprintf(stderr, "selfexp: size overflow (%zu x %zu)\n", a, b);
		abort();
	}
	return a * b;
}

size_t sx_size_add(size_t a, size_t b)
{
	if (a > SIZE_MAX - b) {
		fprintf(stderr, "selfexp: size overflow (%zu + %zu)\n", a, b);
		abort();
	}
	return a + b;
}

void sx_grow(void **arr, size_t *alloc, size_t need, size_t elem_size)
{
	size_t n;

	if (need <= *alloc)
		return;
	n = *alloc < 8 ? 8 : *alloc;
	while (n < need)
		n = sx_size_mul(n, 2);
	*arr = xrealloc(*arr, sx_size_mul(n, elem_size));
	*alloc = n;
}
