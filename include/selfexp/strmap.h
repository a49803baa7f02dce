#ifndef SELFEXP_STRMAP_H
#define SELFEXP_STRMAP_H
/*
 * A string -> size_t hash map (open addressing, linear probing). Keys are
 * byte strings with a length (they may hold NUL bytes); the map owns copies.
 * Used to deduplicate request texts inside a stage.
 */
#include <stddef.h>

struct sx_strmap_slot {
	char *key; /* owned; NULL = empty */
	size_t len;
	size_t value;
	unsigned long hash;
};

struct sx_strmap {
	struct sx_strmap_slot *slots; /* owned */
	size_t cap, n;
};

#define SX_STRMAP_INIT { .slots = NULL, .cap = 0, .n = 0 }

/* Look key up; when absent, insert it with value and return 0; when present, return 1 and set *value. */
int sx_strmap_put(struct sx_strmap *m, const char *key, size_t len, size_t *value);
/* 1 and *value when present, 0 otherwise. */
int sx_strmap_get(const struct sx_strmap *m, const char *key, size_t len, size_t *value);
void sx_strmap_release(struct sx_strmap *m);

#endif
