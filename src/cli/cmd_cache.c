#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "selfexp/buf.h"
#include "selfexp/cache.h"
#include "selfexp/rundir.h"
#include "selfexp/engine.h"
#include "selfexp/file.h"

static const char usage[] =
	"usage: selfexp cache stats  [--cache FILE] [--json]\n"
	"       selfexp cache export [--cache FILE] [-o FILE]\n"
	"       selfexp cache import [--cache FILE] [--base-url URL | --host HOST]\n"
	"                            [--keep-existing] FILE|-\n"
	"       selfexp cache vacuum [--cache FILE]\n"
	"       selfexp cache compact [--cache FILE | FILE]\n"
	"       selfexp cache merge OUT.sqlite IN.sqlite...\n"
	"\n"
	"Inspect and maintain the response cache: a SQLite file of every complete,\n"
	"well-formed HTTP 200 answer the API gave, keyed by the SHA-256 of the\n"
	"endpoint (the base URL's scheme, host, port and path, in lower case,\n"
	"without user info or query) and the canonical request body (model,\n"
	"messages, every generation parameter). Rows of caches written before\n"
	"(schema version 1) are keyed by the host alone; runs read them only with\n"
	"--cache-legacy-keys. Each row records whether its answer was fetched\n"
	"without TLS verification (--insecure). The API key is never stored.\n"
	"Each answer is stored compressed (zstd, with a dictionary trained on the\n"
	"file's own rows; the layout is in docs/cache.md); files of older versions\n"
	"are read as they are until compact converts them.\n"
	"stats and export only read the file, so a cache on read-only media works;\n"
	"import, vacuum and merge say when it cannot be written.\n"
	"\n"
	"  stats    rows (host-keyed ones and unverified ones among them; legacy_rows:\n"
	"           those in the layout of older versions), bytes of the requests and\n"
	"           responses, stored_bytes (compressed), dictionaries (zstd), file\n"
	"           size, tokens, oldest and newest answer\n"
	"  export   one JSON line per answer, oldest first, on stdout (or -o FILE):\n"
	"           {\"key\",\"host\",\"endpoint\",\"insecure\",\"request\":{..},\n"
	"            \"response\":{..},\"prompt_tokens\",\"completion_tokens\",\"latency_ms\",\n"
	"            \"created\"} (no \"endpoint\" for a host-keyed row)\n"
	"  import   read such lines (only \"request\" and \"response\" are required, so\n"
	"           answers recorded elsewhere can be replayed) from FILE or stdin; the\n"
	"           request is re-canonicalised and its key recomputed; the cache file\n"
	"           is created when missing (and removed again when the import fails\n"
	"           before its first row); a key the cache holds is replaced by the\n"
	"           line's answer (--keep-existing: kept); says how many rows were new,\n"
	"           replaced an existing answer or kept it; a response with no answer\n"
	"           (content filter, or cut before any text), which runs never cache,\n"
	"           is a bad line\n"
	"  vacuum   checkpoint the write-ahead log and rebuild the file\n"
	"  compact  rewrite the file in the compact layout (docs/cache.md): rows of\n"
	"           older versions moved over, every row compressed with one zstd\n"
	"           dictionary trained on the file's own rows; safe to kill: a new\n"
	"           file (of the same mode) is written beside it, synced and renamed\n"
	"           over it. Needs the file to itself (fails when another process has\n"
	"           it open)\n"
	"  merge    copy every row of the IN caches into OUT (created when missing,\n"
	"           and removed again when the merge fails before its first row);\n"
	"           a key OUT already holds with another answer (text, finish reason,\n"
	"           label logprobs; not the id or time) is a conflict: kept\n"
	"           as it is, reported, and the exit status is 1\n"
	"\n";
/* The rest of the help (one string literal would be longer than C11 guarantees). */
static const char usage_options[] =
	"options:\n"
	"  --cache FILE   the cache file (default: $SELFEXP_CACHE, else\n"
	"                 .selfexp/cache.sqlite, the default of runs written here)\n"
	"  --json         stats as one JSON object\n"
	"  -o, --output FILE  export to FILE (written atomically) instead of stdout;\n"
	"                 never the cache itself (or its -wal, -shm) nor a run's data file\n"
	"  --base-url URL import: key every line on the endpoint of URL; default: the\n"
	"                 line's \"endpoint\", else its \"host\" (a host-only key, as in\n"
	"                 the export of an older cache), else $OPENAI_BASE_URL\n"
	"  --keep-existing  import: leave the rows of keys the cache already holds as\n"
	"                 they are (default: the imported answer replaces them)\n"
	"  --host HOST    import: key every line on HOST alone, as older caches did\n"
	"                 (runs read such rows only with --cache-legacy-keys)\n"
	"                 A line's \"insecure\" is kept; without it a line keyed on an\n"
	"                 endpoint counts as fetched with TLS verification\n"
	"  -h, --help     show this help\n"
	"\n"
	"exit status: 0 ok, 1 failure (unreadable, corrupt or missing cache, bad\n"
	"import line), 2 usage error\n"
	"\n"
	"examples:\n"
	"  selfexp cache stats --cache run.db\n"
	"  selfexp cache compact run.db\n"
	"  selfexp cache export --cache run.db | gzip > answers.jsonl.gz\n"
	"  zcat answers.jsonl.gz | selfexp cache import --cache new.db -\n";

const char *sx_cli_default_cache(void)
{
	const char *s = getenv("SELFEXP_CACHE");

	return s && *s ? s : ".selfexp/cache.sqlite";
}

static void fmt_time(char *buf, size_t n, double t)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&s, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "-");
}

static int do_stats(struct sx_cache *c, const char *path, int json)
{
	struct sx_cache_stats st;
	struct sx_err err = SX_ERR_INIT;
	char oldest[32], newest[32];

	if (sx_cache_stats(c, &st, &err)) {
		sx_cli_error("%s", err.msg);
		return SX_EXIT_FAIL;
	}
	fmt_time(oldest, sizeof(oldest), st.oldest);
	fmt_time(newest, sizeof(newest), st.newest);
	if (json) {
		struct sx_buf b = SX_BUF_INIT;

		sx_buf_adds(&b, "{\"file\":");
		sx_buf_add_json_str(&b, path, strlen(path));
		sx_buf_addf(&b, ",\"rows\":%ld,\"host_keyed_rows\":%ld,\"insecure_rows\":%ld,"
			    "\"legacy_rows\":%ld,\"bytes\":%lld,\"stored_bytes\":%lld,"
			    "\"dictionaries\":%ld,\"file_bytes\":%lld,"
			    "\"prompt_tokens\":%lld,\"completion_tokens\":%lld,",
			    st.rows, st.host_keyed, st.insecure, st.legacy_rows, st.bytes,
			    st.stored_bytes, st.dictionaries, st.file_bytes,
			    st.prompt_tokens, st.completion_tokens);
		if (st.rows)
			sx_buf_addf(&b, "\"oldest\":\"%s\",\"newest\":\"%s\"}\n", oldest, newest);
		else
			sx_buf_adds(&b, "\"oldest\":null,\"newest\":null}\n");
		fputs(b.buf, stdout);
		sx_buf_release(&b);
	} else {
		printf("file               %s\n", path);
		printf("rows               %ld\n", st.rows);
		printf("host_keyed_rows    %ld\n", st.host_keyed);
		printf("insecure_rows      %ld\n", st.insecure);
		printf("legacy_rows        %ld\n", st.legacy_rows);
		printf("bytes              %lld\n", st.bytes);
		printf("stored_bytes       %lld\n", st.stored_bytes);
		printf("dictionaries       %ld\n", st.dictionaries);
		printf("file_bytes         %lld\n", st.file_bytes);
		printf("prompt_tokens      %lld\n", st.prompt_tokens);
		printf("completion_tokens  %lld\n", st.completion_tokens);
		printf("oldest             %s\n", oldest);
		printf("newest             %s\n", newest);
	}
	return SX_EXIT_OK;
}

/* 1 when a and b name one file (a link, another spelling); 0 when either does not exist. */
static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* 1 when out names the cache file or its write-ahead log, shared memory or journal. */
static int is_cache_file(const char *out, const char *cache)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	struct sx_buf b = SX_BUF_INIT;
	size_t i;
	int found = 0;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]) && !found; i++) {
		sx_buf_reset(&b);
		sx_buf_addf(&b, "%s%s", cache, suffix[i]);
		found = same_file(out, b.buf);
	}
	sx_buf_release(&b);
	return found;
}

static int do_export(struct sx_cache *c, const char *path, const char *out_path)
{
	struct sx_err err = SX_ERR_INIT;
	char *data = NULL;
	size_t size = 0;
	FILE *f = out_path ? open_memstream(&data, &size) : stdout;
	long rows = 0;
	int rc = SX_EXIT_OK;

	if (out_path && sx_rundir_is_data_file(out_path)) {
		sx_cli_error("cache export: '%s' is a data file of a run directory; export elsewhere",
			     out_path);
		if (f)
			fclose(f);
		free(data);
		return SX_EXIT_FAIL;
	}
	if (out_path && is_cache_file(out_path, path)) {
		sx_cli_error("cache export: '%s' is the cache being exported; export elsewhere",
			     out_path);
		if (f)
			fclose(f);
		free(data);
		return SX_EXIT_FAIL;
	}
	if (!f) {
		sx_cli_error("cache export: %s", strerror(errno));
		return SX_EXIT_FAIL;
	}
	if (sx_cache_export(c, f, &rows, &err)) {
		sx_cli_error("%s", err.msg);
		rc = SX_EXIT_FAIL;
	}
	if (out_path) {
		fclose(f);
		if (!rc && sx_file_write_atomic(out_path, data, size, 0600, &err)) {
			sx_cli_error("%s", err.msg);
			rc = SX_EXIT_FAIL;
		}
		free(data);
	} else if (fflush(stdout)) {
		sx_cli_error("cache export: cannot write to stdout: %s", strerror(errno));
		rc = SX_EXIT_FAIL;
	}
	if (!rc)
		fprintf(stderr, "selfexp: exported %ld rows\n", rows);
	return rc;
}

/* sx_cache_import_opts.normalise: a base URL's endpoint and host. */
static int normalise(const char *base_url, struct sx_buf *endpoint, struct sx_buf *host)
{
	size_t start = endpoint->len;

	/* the host of the normalised URL, so that the two agree ("[::1]" for "[0::1]") */
	return sx_engine_endpoint_url(base_url, endpoint) ||
		       sx_engine_endpoint_host(endpoint->buf + start, host)
		       ? SX_EINPUT
		       : 0;
}

static int do_import(struct sx_cache *c, const char *file, const char *base_url, const char *host,
		     int keep)
{
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf ep = SX_BUF_INIT, ep_host = SX_BUF_INIT;
	struct sx_buf env_ep = SX_BUF_INIT, env_host = SX_BUF_INIT;
	struct sx_cache_import_counts n = { 0, 0, 0 };
	struct sx_cache_import_opts opts = { .host = host, .normalise = normalise,
					     .keep_existing = keep, .counts = &n };
	const char *env = getenv("OPENAI_BASE_URL");
	long rows = 0;
	int rc = SX_EXIT_OK;

	if (base_url && !normalise(base_url, &ep, &ep_host)) { /* checked by cmd_cache */
		opts.endpoint = ep.buf;
		opts.endpoint_host = ep_host.buf;
	}
	if (env && *env && !normalise(env, &env_ep, &env_host)) {
		opts.fallback_endpoint = env_ep.buf;
		opts.fallback_host = env_host.buf;
	}
	if (sx_cache_import(c, file, &opts, &rows, &err)) {
		sx_cli_error("%s", err.msg);
		rc = SX_EXIT_FAIL;
	}
	/* rows counts lines read; the three counts say what each did to the cache */
	fprintf(stderr, "selfexp: imported %ld rows%s: %ld new, %ld replaced an existing answer, "
		"%ld kept the existing answer%s\n", n.added + n.replaced + n.kept,
		rc ? " before the error" : "", n.added, n.replaced, n.kept,
		!keep && n.replaced ? " (--keep-existing keeps them)" : "");
	sx_buf_release(&ep);
	sx_buf_release(&ep_host);
	sx_buf_release(&env_ep);
	sx_buf_release(&env_host);
	return rc;
}

static int do_vacuum(struct sx_cache *c, const char *path)
{
	struct sx_err err = SX_ERR_INIT;
	long long before = 0, after = 0;

	if (sx_cache_vacuum(c, &before, &after, &err)) {
		sx_cli_error("%s", err.msg);
		return SX_EXIT_FAIL;
	}
	printf("%s: %lld -> %lld bytes\n", path, before, after);
	return SX_EXIT_OK;
}

static int do_compact(const char *path)
{
	struct sx_cache_compact_stats cs;
	struct sx_err err = SX_ERR_INIT;

	if (sx_cache_compact(path, &cs, &err)) {
		sx_cli_error("cache compact: %s", err.msg);
		return SX_EXIT_FAIL;
	}
	printf("%s: %ld rows (%ld of them in the old layout), %lld -> %lld bytes, %.0f bytes per "
	       "row, dictionary %ld bytes\n", path, cs.rows, cs.legacy_rows, cs.file_before,
	       cs.file_after, cs.rows ? (double)cs.file_after / (double)cs.rows : 0.0,
	       cs.dictionary_bytes);
	return SX_EXIT_OK;
}

/* `cache merge OUT IN...`: rows copied, the same ones skipped, conflicts reported. */
/*
 * A cache file import or merge created (it did not exist before) and then
 * failed to put any row in: closed and removed, with its SQLite sidecars, so
 * that a failed command leaves nothing behind.
 */
static void drop_new_empty(struct sx_cache **c, const char *path, int existed)
{
	static const char *const sidecars[] = { "", "-wal", "-shm" };
	struct sx_cache_stats st;
	struct sx_buf p = SX_BUF_INIT;
	size_t i;

	if (existed || !*c || sx_cache_stats(*c, &st, NULL) || st.rows)
		return;
	sx_cache_close(*c);
	*c = NULL;
	for (i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
		sx_buf_reset(&p);
		sx_buf_addf(&p, "%s%s", path, sidecars[i]);
		unlink(p.buf);
	}
	sx_buf_release(&p);
}

static int do_merge(int n, char **paths)
{
	struct sx_err err = SX_ERR_INIT;
	struct sx_cache *out = NULL;
	long conflicts = 0;
	int i, rc = SX_EXIT_OK, existed;

	if (n < 2) {
		sx_cli_error("cache merge: expected OUT.sqlite and at least one IN.sqlite");
		return sx_cli_usage_hint("cache");
	}
	existed = !access(paths[0], F_OK);
	if (sx_cache_open(paths[0], SX_CACHE_CREATE, &out, &err)) {
		sx_cli_error("%s", err.msg);
		return SX_EXIT_FAIL;
	}
	for (i = 1; i < n && rc == SX_EXIT_OK; i++) {
		struct sx_cache_merge_stats ms;

		if (sx_cache_merge_from(out, paths[i], &ms, &err)) {
			sx_cli_error("cache merge: %s", err.msg);
			rc = SX_EXIT_FAIL;
			break;
		}
		fprintf(stderr, "selfexp: %s: %ld rows added, %ld already there, %ld conflicts\n",
			paths[i], ms.added, ms.same, ms.conflicts);
		if (ms.conflicts)
			sx_cli_error("cache merge: '%s' answers %ld keys differently from '%s' (the "
				     "first: %s); the rows of '%s' were kept", paths[i], ms.conflicts,
				     paths[0], ms.first_conflict, paths[0]);
		conflicts += ms.conflicts;
	}
	if (rc != SX_EXIT_OK)
		drop_new_empty(&out, paths[0], existed);
	sx_cache_close(out);
	return rc == SX_EXIT_OK && conflicts ? SX_EXIT_FAIL : rc;
}

struct cache_args {
	const char *path, *host, *base_url, *out_path;
	int json, keep;
};

/* getopt_long over argv from optind; -1 to go on, else the exit code. */
static int cache_options(int argc, char **argv, const char *optstring, struct cache_args *a)
{
	static const struct option opts[] = {
		{ "cache", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "keep-existing", no_argument, NULL, 'k' },
		{ "host", required_argument, NULL, 'H' },
		{ "base-url", required_argument, NULL, 'B' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->path = optarg; break;
		case 'j': a->json = 1; break;
		case 'k': a->keep = 1; break;
		case 'H': a->host = optarg; break;
		case 'B': a->base_url = optarg; break;
		case 'o': a->out_path = optarg; break;
		case 'h': fputs(usage, stdout); fputs(usage_options, stdout); return SX_EXIT_OK;
		default: return sx_cli_usage_hint("cache");
		}
	}
	return -1;
}

int cmd_cache(int argc, char **argv)
{
	struct cache_args a = { NULL, NULL, NULL, NULL, 0, 0 };
	const char *verb;
	struct sx_cache *c = NULL;
	struct sx_err err = SX_ERR_INIT;
	int rc, creating, existed;

	optind = 1;
	if ((rc = cache_options(argc, argv, "+ho:", &a)) >= 0)
		return rc;
	if (optind >= argc) {
		sx_cli_error("cache: missing subcommand (stats, export, import, vacuum, compact or "
			     "merge)");
		return sx_cli_usage_hint("cache");
	}
	verb = argv[optind++];
	/* options may follow the subcommand too */
	if ((rc = cache_options(argc, argv, "ho:", &a)) >= 0)
		return rc;
	if (!strcmp(verb, "merge"))
		return do_merge(argc - optind, argv + optind);
	if (!strcmp(verb, "compact")) {
		if (argc - optind > 1 || (argc - optind == 1 && a.path)) {
			sx_cli_error("cache compact: expected one FILE (or --cache FILE)");
			return sx_cli_usage_hint("cache");
		}
		return do_compact(argc - optind == 1 ? argv[optind]
				  : a.path ? a.path : sx_cli_default_cache());
	}
	if (strcmp(verb, "stats") && strcmp(verb, "export") && strcmp(verb, "import") &&
	    strcmp(verb, "vacuum")) {
		sx_cli_error("cache: unknown subcommand '%s' (expected stats, export, import, vacuum, "
			     "compact or merge)", verb);
		return sx_cli_usage_hint("cache");
	}
	creating = !strcmp(verb, "import");
	if (creating && argc - optind != 1) {
		sx_cli_error("cache import: expected one FILE (or - for stdin)");
		return sx_cli_usage_hint("cache");
	}
	if (!creating && argc - optind != 0) {
		sx_cli_error("cache %s: unexpected argument '%s'", verb, argv[optind]);
		return sx_cli_usage_hint("cache");
	}
	if (a.keep && !creating) {
		sx_cli_error("cache %s: --keep-existing is an option of cache import", verb);
		return sx_cli_usage_hint("cache");
	}
	if (a.host && !*a.host)
		return sx_cli_bad_value("cache", "--host", a.host, "a host name");
	if (a.host && a.base_url) {
		sx_cli_error("cache import: --base-url and --host exclude each other");
		return sx_cli_usage_hint("cache");
	}
	if (a.base_url) {
		struct sx_buf ep = SX_BUF_INIT;

		rc = sx_engine_endpoint_url(a.base_url, &ep);
		sx_buf_release(&ep);
		if (rc)
			return sx_cli_bad_value("cache", "--base-url", a.base_url, "an http(s) URL");
	}
	if (!a.path)
		a.path = sx_cli_default_cache();
	existed = !access(a.path, F_OK);
	/* stats and export write nothing: a cache on read-only media can be read */
	if ((rc = sx_cache_open(a.path,
				creating ? SX_CACHE_CREATE
				: strcmp(verb, "vacuum") ? SX_CACHE_READONLY : 0,
				&c, &err))) {
		sx_cli_error("%s", err.msg);
		return SX_EXIT_FAIL;
	}
	if (!strcmp(verb, "stats"))
		rc = do_stats(c, a.path, a.json);
	else if (!strcmp(verb, "export"))
		rc = do_export(c, a.path, a.out_path);
	else if (!strcmp(verb, "import")) {
		rc = do_import(c, argv[optind], a.base_url, a.host, a.keep);
		if (rc != SX_EXIT_OK)
			drop_new_empty(&c, a.path, existed);
	}
	else
		rc = do_vacuum(c, a.path);
	sx_cache_close(c);
	return rc;
}
