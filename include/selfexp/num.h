#ifndef SELFEXP_NUM_H
#define SELFEXP_NUM_H
/*
 * Strict number parsing (strtol/strtod with an end-pointer check): the whole
 * string must be the number, nothing before or after, no overflow.
 * Return 0 on success, -1 otherwise (the output is untouched).
 */
int sx_parse_long(const char *s, long min, long max, long *out);
int sx_parse_double(const char *s, double *out);

#endif
