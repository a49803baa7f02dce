#ifndef SELFEXP_ALLOC_H
#define SELFEXP_ALLOC_H
/*
 * Allocation that never returns NULL: out of memory prints a message and
 * aborts (git, redis). Size arithmetic goes through sx_size_mul/sx_size_add,
 * which abort on overflow instead of wrapping.
 */
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grow *arr (of *alloc elements of elem_size bytes) to hold at least need elements. */
void sx_grow(void **arr, size_t *alloc, size_t need, size_t elem_size);
size_t sx_size_mul(size_t a, size_t b);
size_t sx_size_add(size_t a, size_t b);

#define SX_GROW(arr, alloc, need) sx_grow((void **)&(arr), &(alloc), (need), sizeof(*(arr)))

#endif
