#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "selfexp/err.h"

int sx_err_set(struct sx_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void sx_err_prefix(struct sx_err *err, const char *fmt, ...)
{
	char prefix[SX_ERR_MSG_MAX / 2];
	char old[SX_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %.*s", prefix, (int)(sizeof(err->msg) - sizeof(prefix) - 3), old);
}
