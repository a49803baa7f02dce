#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/file.h"
#include "selfexp/prompt.h"

static const char *const cond_names[SX_COND_COUNT] = {
	[SX_COND_EP] = "ep",
	[SX_COND_PE] = "pe",
	[SX_COND_EP_TOPK] = "ep-topk",
	[SX_COND_PE_TOPK] = "pe-topk",
	[SX_COND_PRED] = "pred",
};

const char *sx_cond_name(enum sx_cond c)
{
	return (unsigned)c < SX_COND_COUNT ? cond_names[c] : "?";
}

int sx_cond_from_name(const char *name, enum sx_cond *out)
{
	int i;

	for (i = 0; i < SX_COND_COUNT; i++) {
		if (!strcmp(name, cond_names[i])) {
			*out = (enum sx_cond)i;
			return 0;
		}
	}
	return -1;
}

int sx_cond_has_importance(enum sx_cond c)
{
	return c == SX_COND_EP || c == SX_COND_PE;
}

int sx_cond_is_topk(enum sx_cond c)
{
	return c == SX_COND_EP_TOPK || c == SX_COND_PE_TOPK;
}

int sx_cond_explains_first(enum sx_cond c)
{
	return c == SX_COND_EP || c == SX_COND_EP_TOPK;
}

size_t sx_topk_k(size_t ntokens)
{
	size_t k = ntokens / 5;

	return k ? k : 1;
}

#define SYSTEM_MARK "=== system ==="
#define USER_MARK "=== user ==="

/* Return the start of the line after the marker line, or NULL. */
static const char *find_marker(const char *text, const char *end, const char *mark)
{
	size_t mlen = strlen(mark);
	const char *line = text;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		size_t ll = (size_t)(le - line);

		if (ll && line[ll - 1] == '\r')
			ll--;
		if (ll == mlen && !memcmp(line, mark, mlen))
			return nl ? nl + 1 : end;
		line = nl ? nl + 1 : end;
	}
	return NULL;
}

/* Copy [from, to) without the final newline (and a CR before it). */
static char *section(const char *from, const char *to)
{
	if (to > from && to[-1] == '\n')
		to--;
	if (to > from && to[-1] == '\r')
		to--;
	return xstrndup(from, (size_t)(to - from));
}

int sx_prompt_parse(struct sx_prompt *p, enum sx_cond cond, const char *name, const char *text,
		    size_t len, struct sx_err *err)
{
	const char *end = text + len;
	const char *sys, *usr, *line;

	if (len > SX_PROMPT_MAX_BYTES)
		return sx_err_set(err, SX_EINPUT, "prompt template '%s' is over the %u byte cap",
				  name, SX_PROMPT_MAX_BYTES);
	if (memchr(text, '\0', len))
		return sx_err_set(err, SX_EINPUT, "prompt template '%s' contains a NUL byte", name);
	sys = find_marker(text, end, SYSTEM_MARK);
	if (!sys)
		return sx_err_set(err, SX_EINPUT,
				  "prompt template '%s' has no '" SYSTEM_MARK "' line", name);
	for (line = text; line < sys;) {
		const char *nl = memchr(line, '\n', (size_t)(sys - line));
		size_t ll = (size_t)((nl ? nl : sys) - line);
		int blank = ll == 0 || (ll == 1 && line[0] == '\r');

		/* the marker line itself may end the text without a newline */
		if (!blank && line[0] != '#' && !find_marker(line, nl ? nl + 1 : sys, SYSTEM_MARK))
			return sx_err_set(err, SX_EINPUT,
					  "prompt template '%s': text before '" SYSTEM_MARK
					  "' must be '#' comments", name);
		line = nl ? nl + 1 : sys;
	}
	usr = find_marker(sys, end, USER_MARK);
	if (!usr)
		return sx_err_set(err, SX_EINPUT,
				  "prompt template '%s' has no '" USER_MARK "' line after the system part",
				  name);
	/* text need not be NUL-terminated: search only within it */
	if (!memmem(usr, (size_t)(end - usr), "{review}", 8))
		return sx_err_set(err, SX_EINPUT,
				  "prompt template '%s': the user part has no {review} placeholder", name);
	sx_prompt_release(p);
	p->cond = cond;
	/* the user marker line starts somewhere before usr: back up over it */
	{
		const char *mark = usr - 1;
		while (mark > sys && mark[-1] != '\n')
			mark--;
		p->system = section(sys, mark);
	}
	p->user = section(usr, end);
	sx_sha256_hex(text, len, p->hash);
	return 0;
}

int sx_prompt_load(struct sx_prompt *p, const char *dir, enum sx_cond cond, struct sx_err *err)
{
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT;
	int rc;

	sx_buf_addf(&path, "%s/%s", dir, sx_cond_name(cond));
	rc = sx_file_read(path.buf, SX_PROMPT_MAX_BYTES, &text, err);
	if (!rc)
		rc = sx_prompt_parse(p, cond, path.buf, text.buf, text.len, err);
	sx_buf_release(&path);
	sx_buf_release(&text);
	return rc;
}

void sx_prompt_release(struct sx_prompt *p)
{
	free(p->system);
	free(p->user);
	p->system = NULL;
	p->user = NULL;
	p->hash[0] = '\0';
}

static void render(const char *tmpl, const char *review, size_t ntokens, struct sx_buf *out)
{
	const char *s = tmpl;

	while (*s) {
		if (!strncmp(s, "{review}", 8)) {
			sx_buf_adds(out, review);
			s += 8;
		} else if (!strncmp(s, "{k}", 3)) {
			sx_buf_addf(out, "%zu", sx_topk_k(ntokens));
			s += 3;
		} else if (!strncmp(s, "{n}", 3)) {
			sx_buf_addf(out, "%zu", ntokens);
			s += 3;
		} else {
			const char *brace = strchr(s + 1, '{');
			size_t len = brace ? (size_t)(brace - s) : strlen(s);
			sx_buf_add(out, s, len);
			s += len;
		}
	}
}

void sx_prompt_render(const struct sx_prompt *p, const char *review, size_t ntokens,
		      struct sx_buf *system, struct sx_buf *user)
{
	render(p->system, review, ntokens, system);
	render(p->user, review, ntokens, user);
}
