#include <math.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/occlusion.h"

unsigned char *sx_occlusion_masks(size_t n)
{
	unsigned char *m;
	size_t i;

	if (!n)
		return NULL;
	m = xmalloc(sx_size_mul(n, n));
	memset(m, 1, n * n);
	for (i = 0; i < n; i++)
		m[i * n + i] = 0;
	return m;
}

int sx_occlusion_values(double p_x, const double *p, size_t n, double *value)
{
	int ok = isfinite(p_x);
	size_t i;

	for (i = 0; i < n; i++) {
		value[i] = p_x - p[i];
		if (!isfinite(value[i]))
			ok = 0;
	}
	return ok ? 0 : -1;
}
