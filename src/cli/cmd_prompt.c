#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "selfexp/buf.h"
#include "selfexp/json.h"
#include "selfexp/prompt.h"

static const char usage[] =
	"usage: selfexp prompt show COND --review TEXT [--prompts DIR|SET] [--system-only]\n"
	"       selfexp prompt list [--prompts DIR|SET]\n"
	"\n"
	"Show the exact messages a prompt condition sends for a review.\n"
	"\n"
	"  show   prints one JSON object: the condition, the template file's SHA-256\n"
	"         (\"template_hash\", part of every cache key and of run.json) and the\n"
	"         chat messages, system and user, with {review}, {k} and {n} filled in.\n"
	"  list   prints one line per condition: name, hash, template path.\n"
	"\n"
	"conditions:\n"
	"  ep        explain (importance of every token), then predict\n"
	"  pe        predict, then explain\n"
	"  ep-topk   the k most important tokens, then predict; k = max(floor(0.2 n), 1)\n"
	"  pe-topk   predict, then the k most important tokens\n"
	"  pred      prediction only: (label, confidence)\n"
	"\n"
	"options:\n"
	"  --review TEXT     the review, tokens separated by spaces (required for show)\n"
	"  --prompts DIR|SET directory of templates (default: $SELFEXP_HOME/prompts),\n"
	"                    or a template set shipped in it by name: paper-llama3\n"
	"  --system-only     print only the rendered system message, as plain text\n"
	"  -h, --help        show this help\n"
	"\n"
	"exit status: 0 ok, 1 unreadable or malformed template, 2 usage error\n"
	"\n"
	"example:\n"
	"  selfexp prompt show ep --review 'a gorgeous , witty film .'\n";

static size_t count_tokens(const char *s)
{
	size_t n = 0;
	int in = 0;

	for (; *s; s++) {
		int space = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';
		if (!space && !in)
			n++;
		in = !space;
	}
	return n;
}

static char *default_prompts_dir(void)
{
	struct sx_buf b = SX_BUF_INIT;

	sx_buf_addf(&b, "%s/prompts", sx_cli_home());
	return sx_buf_detach(&b, NULL);
}

static int show(const char *dir, const char *cond_name, const char *review, int system_only)
{
	struct sx_prompt p = SX_PROMPT_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf sys = SX_BUF_INIT, usr = SX_BUF_INIT;
	struct sx_json *out = NULL, *msgs, *m;
	enum sx_cond cond;
	char *text;
	int rc = SX_EXIT_FAIL;

	if (sx_cond_from_name(cond_name, &cond)) {
		sx_cli_error("prompt: unknown condition '%s' (expected ep, pe, ep-topk, pe-topk or pred)",
			     cond_name);
		return SX_EXIT_USAGE;
	}
	if (sx_prompt_load(&p, dir, cond, &err)) {
		sx_cli_error("%s", err.msg);
		goto out;
	}
	sx_prompt_render(&p, review, count_tokens(review), &sys, &usr);
	if (system_only) {
		fwrite(sys.buf, 1, sys.len, stdout);
		putchar('\n');
		rc = SX_EXIT_OK;
		goto out;
	}
	out = sx_json_new_object();
	sx_json_add_str(out, "condition", sx_cond_name(cond));
	sx_json_add_str(out, "template_hash", p.hash);
	msgs = sx_json_add(out, "messages", sx_json_new_array());
	m = sx_json_push(msgs, sx_json_new_object());
	sx_json_add_str(m, "role", "system");
	sx_json_add_str(m, "content", sys.buf);
	m = sx_json_push(msgs, sx_json_new_object());
	sx_json_add_str(m, "role", "user");
	sx_json_add_str(m, "content", usr.buf);
	text = sx_json_print(out, 1);
	puts(text);
	free(text);
	rc = SX_EXIT_OK;
out:
	sx_json_free(out);
	sx_buf_release(&sys);
	sx_buf_release(&usr);
	sx_prompt_release(&p);
	return rc;
}

static int list(const char *dir)
{
	int i, rc = SX_EXIT_OK;

	for (i = 0; i < SX_COND_COUNT; i++) {
		struct sx_prompt p = SX_PROMPT_INIT;
		struct sx_err err = SX_ERR_INIT;

		if (sx_prompt_load(&p, dir, (enum sx_cond)i, &err)) {
			sx_cli_error("%s", err.msg);
			rc = SX_EXIT_FAIL;
			continue;
		}
		printf("%-8s %s %s/%s\n", sx_cond_name((enum sx_cond)i), p.hash, dir,
		       sx_cond_name((enum sx_cond)i));
		sx_prompt_release(&p);
	}
	return rc;
}

int cmd_prompt(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "review", required_argument, NULL, 'r' },
		{ "prompts", required_argument, NULL, 'p' },
		{ "system-only", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *review = NULL;
	char *dir = NULL;
	int system_only = 0, c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': review = optarg; break;
		case 'p': free(dir); dir = sx_cli_prompts_dir(optarg); break;
		case 's': system_only = 1; break;
		case 'h': fputs(usage, stdout); free(dir); return SX_EXIT_OK;
		default: free(dir); return sx_cli_usage_hint("prompt");
		}
	}
	if (!dir)
		dir = default_prompts_dir();
	if (optind < argc && !strcmp(argv[optind], "list") && optind + 1 == argc) {
		rc = list(dir);
	} else if (optind + 2 == argc && !strcmp(argv[optind], "show")) {
		if (!review) {
			sx_cli_error("prompt show: --review TEXT is required");
			rc = sx_cli_usage_hint("prompt");
		} else {
			rc = show(dir, argv[optind + 1], review, system_only);
		}
	} else {
		sx_cli_error("prompt: expected 'show COND --review TEXT' or 'list'");
		rc = sx_cli_usage_hint("prompt");
	}
	free(dir);
	return rc;
}
