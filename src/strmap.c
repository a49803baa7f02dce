#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/strmap.h"

/* FNV-1a, 64 bit. */
static unsigned long hash_bytes(const char *s, size_t len)
{
	unsigned long long h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (unsigned long)h;
}

static struct sx_strmap_slot *find(const struct sx_strmap *m, const char *key, size_t len,
				   unsigned long h)
{
	size_t i = h & (m->cap - 1);

	for (;;) {
		struct sx_strmap_slot *s = &m->slots[i];
		if (!s->key || (s->hash == h && s->len == len && !memcmp(s->key, key, len)))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

static void rehash(struct sx_strmap *m)
{
	struct sx_strmap_slot *old = m->slots;
	size_t oldcap = m->cap, i;

	m->cap = m->cap ? sx_size_mul(m->cap, 2) : 64;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (i = 0; i < oldcap; i++)
		if (old[i].key)
			*find(m, old[i].key, old[i].len, old[i].hash) = old[i];
	free(old);
}

int sx_strmap_put(struct sx_strmap *m, const char *key, size_t len, size_t *value)
{
	unsigned long h = hash_bytes(key, len);
	struct sx_strmap_slot *s;

	if ((m->n + 1) * 4 >= m->cap * 3)
		rehash(m);
	s = find(m, key, len, h);
	if (s->key) {
		*value = s->value;
		return 1;
	}
	s->key = xmalloc(sx_size_add(len, 1));
	memcpy(s->key, key, len);
	s->key[len] = '\0';
	s->len = len;
	s->hash = h;
	s->value = *value;
	m->n++;
	return 0;
}

int sx_strmap_get(const struct sx_strmap *m, const char *key, size_t len, size_t *value)
{
	struct sx_strmap_slot *s;

	if (!m->cap)
		return 0;
	s = find(m, key, len, hash_bytes(key, len));
	if (!s->key)
		return 0;
	*value = s->value;
	return 1;
}

void sx_strmap_release(struct sx_strmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
