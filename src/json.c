#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "selfexp/alloc.h"
#include "selfexp/json.h"
#include "selfexp/utf8.h"

#define C(j) ((cJSON *)(j))
#define J(c) ((struct sx_json *)(c))

static void *json_malloc(size_t n)
{
	return xmalloc(n);
}

static void json_init(void)
{
	static int done;
	if (!done) {
		cJSON_Hooks hooks = { json_malloc, free };
		cJSON_InitHooks(&hooks);
		done = 1;
	}
}

/* A \u0000 escape (the backslash itself not escaped) anywhere in text. */
static int has_nul_escape(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while ((p = memchr(p, '\\', (size_t)(end - p)))) {
		if (end - p >= 6 && p[1] == 'u' && !memcmp(p + 2, "0000", 4))
			return 1;
		p += 2; /* the escaped character, whatever it is */
		if (p >= end)
			break;
	}
	return 0;
}

struct sx_json *sx_json_parse(const char *text, size_t len, struct sx_err *err)
{
	const char *end = NULL;
	cJSON *c;

	json_init();
	if (len > SX_JSON_MAX_INPUT) {
		sx_err_set(err, SX_EINPUT, "json text of %zu bytes is over the %u byte cap", len,
			   SX_JSON_MAX_INPUT);
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		sx_err_set(err, SX_EINPUT, "json text contains a NUL byte");
		return NULL;
	}
	if (has_nul_escape(text, len)) {
		/* cJSON would end the string there, silently cutting what follows */
		sx_err_set(err, SX_EINPUT, "json string holds a NUL character (\\u0000)");
		return NULL;
	}
	c = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!c) {
		size_t off = end && end >= text ? (size_t)(end - text) : 0;
		sx_err_set(err, SX_EINPUT, "invalid json near byte %zu", off);
		return NULL;
	}
	if (end) {
		while ((size_t)(end - text) < len && strchr(" \t\r\n", *end))
			end++;
		if ((size_t)(end - text) < len) {
			sx_err_set(err, SX_EINPUT, "trailing characters after json value at byte %zu",
				   (size_t)(end - text));
			cJSON_Delete(c);
			return NULL;
		}
	}
	return J(c);
}

void sx_json_free(struct sx_json *j)
{
	if (j)
		cJSON_Delete(C(j));
}

enum sx_json_type sx_json_type_of(const struct sx_json *j)
{
	const cJSON *c = (const cJSON *)j;

	if (!c)
		return SX_JSON_INVALID;
	if (cJSON_IsNull(c))
		return SX_JSON_NULL;
	if (cJSON_IsBool(c))
		return SX_JSON_BOOL;
	if (cJSON_IsNumber(c))
		return SX_JSON_NUMBER;
	if (cJSON_IsString(c))
		return SX_JSON_STRING;
	if (cJSON_IsArray(c))
		return SX_JSON_ARRAY;
	if (cJSON_IsObject(c))
		return SX_JSON_OBJECT;
	return SX_JSON_INVALID;
}

struct sx_json *sx_json_get(const struct sx_json *obj, const char *key)
{
	if (!obj || !cJSON_IsObject((const cJSON *)obj))
		return NULL;
	return J(cJSON_GetObjectItemCaseSensitive((const cJSON *)obj, key));
}

size_t sx_json_len(const struct sx_json *j)
{
	const cJSON *c = (const cJSON *)j;
	size_t n = 0;

	if (!c || !(cJSON_IsArray(c) || cJSON_IsObject(c)))
		return 0;
	for (c = c->child; c; c = c->next)
		n++;
	return n;
}

struct sx_json *sx_json_at(const struct sx_json *arr, size_t i)
{
	const cJSON *c = (const cJSON *)arr;

	if (!c || !(cJSON_IsArray(c) || cJSON_IsObject(c)))
		return NULL;
	for (c = c->child; c && i; c = c->next)
		i--;
	return J((cJSON *)c);
}

struct sx_json *sx_json_child(const struct sx_json *j)
{
	const cJSON *c = (const cJSON *)j;

	if (!c || !(cJSON_IsArray(c) || cJSON_IsObject(c)))
		return NULL;
	return J(c->child);
}

struct sx_json *sx_json_next(const struct sx_json *j)
{
	return j ? J(((const cJSON *)j)->next) : NULL;
}

const char *sx_json_key(const struct sx_json *member)
{
	return member ? ((const cJSON *)member)->string : NULL;
}

const char *sx_json_str(const struct sx_json *j)
{
	const cJSON *c = (const cJSON *)j;

	return c && cJSON_IsString(c) ? c->valuestring : NULL;
}

int sx_json_num(const struct sx_json *j, double *out)
{
	const cJSON *c = (const cJSON *)j;

	if (!c || !cJSON_IsNumber(c))
		return -1;
	*out = c->valuedouble;
	return 0;
}

int sx_json_bool(const struct sx_json *j, int *out)
{
	const cJSON *c = (const cJSON *)j;

	if (!c || !cJSON_IsBool(c))
		return -1;
	*out = cJSON_IsTrue(c);
	return 0;
}

const char *sx_json_get_str(const struct sx_json *obj, const char *key)
{
	return sx_json_str(sx_json_get(obj, key));
}

int sx_json_get_num(const struct sx_json *obj, const char *key, double *out)
{
	return sx_json_num(sx_json_get(obj, key), out);
}

int sx_json_get_long(const struct sx_json *obj, const char *key, long min, long max, long *out)
{
	double v;

	if (sx_json_get_num(obj, key, &v) || v != floor(v) || v < (double)min || v > (double)max)
		return -1;
	*out = (long)v;
	return 0;
}

double sx_json_num_or_nan(const struct sx_json *obj, const char *key)
{
	double v;

	return !sx_json_get_num(obj, key, &v) ? v : NAN;
}

const char *sx_json_str_or(const struct sx_json *obj, const char *key, const char *dflt)
{
	const char *s = sx_json_get_str(obj, key);

	return s ? s : dflt;
}

struct sx_json *sx_json_new_object(void)
{
	json_init();
	return J(cJSON_CreateObject());
}

struct sx_json *sx_json_new_array(void)
{
	json_init();
	return J(cJSON_CreateArray());
}

/* Everything selfexp writes is valid UTF-8: a bad byte becomes U+FFFD. */
struct sx_json *sx_json_new_str(const char *s)
{
	size_t len = strlen(s);
	struct sx_json *j;
	char *fixed;

	json_init();
	if (sx_utf8_valid(s, len))
		return J(cJSON_CreateString(s));
	fixed = sx_utf8_repair(s, len);
	j = J(cJSON_CreateString(fixed));
	free(fixed);
	return j;
}

struct sx_json *sx_json_new_num(double v)
{
	json_init();
	if (!isfinite(v))
		return J(cJSON_CreateNull());
	return J(cJSON_CreateNumber(v));
}

struct sx_json *sx_json_new_bool(int v)
{
	json_init();
	return J(cJSON_CreateBool(v ? 1 : 0));
}

struct sx_json *sx_json_new_null(void)
{
	json_init();
	return J(cJSON_CreateNull());
}

struct sx_json *sx_json_dup(const struct sx_json *j)
{
	json_init();
	return J(cJSON_Duplicate((const cJSON *)j, 1));
}

struct sx_json *sx_json_add(struct sx_json *obj, const char *key, struct sx_json *item)
{
	cJSON_AddItemToObject(C(obj), key, C(item));
	return item;
}

struct sx_json *sx_json_push(struct sx_json *arr, struct sx_json *item)
{
	cJSON_AddItemToArray(C(arr), C(item));
	return item;
}

void sx_json_add_str(struct sx_json *obj, const char *key, const char *s)
{
	sx_json_add(obj, key, s ? sx_json_new_str(s) : sx_json_new_null());
}

void sx_json_add_num(struct sx_json *obj, const char *key, double v)
{
	sx_json_add(obj, key, sx_json_new_num(v));
}

void sx_json_add_bool(struct sx_json *obj, const char *key, int v)
{
	sx_json_add(obj, key, sx_json_new_bool(v));
}

void sx_json_remove(struct sx_json *obj, const char *key)
{
	cJSON_DeleteItemFromObjectCaseSensitive(C(obj), key);
}

void sx_json_set(struct sx_json *obj, const char *key, struct sx_json *item)
{
	if (cJSON_GetObjectItemCaseSensitive(C(obj), key))
		cJSON_ReplaceItemInObjectCaseSensitive(C(obj), key, C(item));
	else
		cJSON_AddItemToObject(C(obj), key, C(item));
}

/*
 * cJSON prints a number with "%1.15g" unless that reads back more than one
 * DBL_EPSILON (relative) away, so some doubles do not survive a round trip
 * (1 ulp off), and DBL_MAX prints as 1.79769313486232e+308, which reads back
 * as infinity (found by tests/fuzz/fuzz_json). Where "%1.15g" is not exact,
 * sx_json_print prints "%1.17g" instead, which always is; everything else
 * prints as cJSON prints it.
 */
static int inexact_in_cjson(double d)
{
	char buf[64];

	if (!isfinite(d) || (d >= -2147483648.0 && d <= 2147483647.0 && d == (double)(int)d))
		return 0; /* "null" or "%d" */
	snprintf(buf, sizeof(buf), "%1.15g", d);
	return strtod(buf, NULL) != d;
}

/* 1 when c or a value inside it is a number that cJSON would not print exactly. */
static int needs_exact_numbers(const cJSON *c)
{
	const cJSON *e;

	if (cJSON_IsNumber(c))
		return inexact_in_cjson(c->valuedouble);
	for (e = c->child; e; e = e->next)
		if (needs_exact_numbers(e))
			return 1;
	return 0;
}

/* Turn the numbers of c (a private copy) that cJSON would not print exactly into raw text. */
static void exact_numbers(cJSON *c)
{
	cJSON *e;
	char buf[64];

	if (cJSON_IsNumber(c) && inexact_in_cjson(c->valuedouble)) {
		snprintf(buf, sizeof(buf), "%1.17g", c->valuedouble);
		c->type = cJSON_Raw;
		c->valuestring = xstrdup(buf);
	}
	for (e = c->child; e; e = e->next)
		exact_numbers(e);
}

char *sx_json_print(const struct sx_json *j, int pretty)
{
	const cJSON *c = (const cJSON *)j;
	cJSON *copy = NULL;
	char *s;

	json_init();
	if (c && needs_exact_numbers(c)) {
		copy = cJSON_Duplicate(c, 1);
		if (copy) {
			exact_numbers(copy);
			c = copy;
		}
	}
	s = pretty ? cJSON_Print(c) : cJSON_PrintUnformatted(c);
	cJSON_Delete(copy);
	if (!s) {
		s = xstrdup("null");
	}
	return s;
}
