#ifndef SELFEXP_JSON_H
#define SELFEXP_JSON_H
/*
 * JSON values (wraps cJSON; its types never leave json.c). A struct sx_json
 * is either a root you own (from sx_json_parse or sx_json_new_*) and free with
 * sx_json_free, or a borrowed node inside a root (from sx_json_get, _at,
 * _child, _next), valid as long as the root is.
 *
 * Adding a node to an object or array hands its ownership to the container.
 * Output is deterministic: keys in insertion order, numbers printed so that
 * they read back to the same double.
 */
#include <stddef.h>

#include "selfexp/err.h"

struct sx_json;

enum sx_json_type {
	SX_JSON_INVALID = 0,
	SX_JSON_NULL,
	SX_JSON_BOOL,
	SX_JSON_NUMBER,
	SX_JSON_STRING,
	SX_JSON_ARRAY,
	SX_JSON_OBJECT
};

/* Inputs longer than this are refused by sx_json_parse. */
#define SX_JSON_MAX_INPUT (64u * 1024u * 1024u)

/* Parse exactly one value from text[0..len) (trailing whitespace allowed). NULL on error. */
struct sx_json *sx_json_parse(const char *text, size_t len, struct sx_err *err);
void sx_json_free(struct sx_json *j);

enum sx_json_type sx_json_type_of(const struct sx_json *j);
struct sx_json *sx_json_get(const struct sx_json *obj, const char *key); /* borrowed; NULL if absent */
size_t sx_json_len(const struct sx_json *j); /* array/object size, 0 otherwise */
struct sx_json *sx_json_at(const struct sx_json *arr, size_t i); /* borrowed */
struct sx_json *sx_json_child(const struct sx_json *j); /* first element/member, borrowed */
struct sx_json *sx_json_next(const struct sx_json *j);  /* next sibling, borrowed */
const char *sx_json_key(const struct sx_json *member);  /* key of an object member */

/* Accessors: NULL / -1 when the value is missing or of another type. */
const char *sx_json_str(const struct sx_json *j);
int sx_json_num(const struct sx_json *j, double *out);
int sx_json_bool(const struct sx_json *j, int *out);
const char *sx_json_get_str(const struct sx_json *obj, const char *key);
int sx_json_get_num(const struct sx_json *obj, const char *key, double *out);
/* Number that is an integer within [min, max]. */
int sx_json_get_long(const struct sx_json *obj, const char *key, long min, long max, long *out);
/* The number under key; NaN when obj is NULL or key is missing or not a number. */
double sx_json_num_or_nan(const struct sx_json *obj, const char *key);
/* The string under key (borrowed); dflt when obj is NULL or key is missing or not a string. */
const char *sx_json_str_or(const struct sx_json *obj, const char *key, const char *dflt);

/* Building. */
struct sx_json *sx_json_new_object(void);
struct sx_json *sx_json_new_array(void);
struct sx_json *sx_json_new_str(const char *s);
struct sx_json *sx_json_new_num(double v);
struct sx_json *sx_json_new_bool(int v);
struct sx_json *sx_json_new_null(void);
/* Deep copy; the copy is a new root. */
struct sx_json *sx_json_dup(const struct sx_json *j);
/* Takes ownership of item. Returns item (borrowed) for chaining. */
struct sx_json *sx_json_add(struct sx_json *obj, const char *key, struct sx_json *item);
struct sx_json *sx_json_push(struct sx_json *arr, struct sx_json *item);
void sx_json_add_str(struct sx_json *obj, const char *key, const char *s);
void sx_json_add_num(struct sx_json *obj, const char *key, double v);
void sx_json_add_bool(struct sx_json *obj, const char *key, int v);
/* Replace (or add) a member: obj keeps one member named key. */
void sx_json_set(struct sx_json *obj, const char *key, struct sx_json *item);
/* Remove (and free) the member key, when there is one. */
void sx_json_remove(struct sx_json *obj, const char *key);

/* Serialise; the caller frees the string. pretty = indented, else compact. */
char *sx_json_print(const struct sx_json *j, int pretty);

#endif
