#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run_opts.h"
#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/cache.h"
#include "selfexp/engine.h"
#include "selfexp/hash.h"
#include "selfexp/json.h"
#include "selfexp/rundir.h"

static const char usage[] =
	"usage: selfexp merge OUT SHARD_DIR... [--partial] [--cache FILE] [--force]\n"
	"\n"
	"Join the run directories of the shards of one run (`selfexp run --shard i/N`)\n"
	"into OUT, as if one run had done all the reviews: records.jsonl in the same\n"
	"order and summary.json (bootstrap and every statistic over all reviews) are\n"
	"byte for byte those of an unsharded run with the same seed.\n"
	"\n"
	"The shards must belong together: the same configuration (but the shard),\n"
	"the same endpoint (the cache keys name it), the same N, every shard\n"
	"0..N-1 exactly once, each complete (run.json \"complete\": true; one\n"
	"without the field is damaged, not known to be complete), and the same data\n"
	"(the SHA-256 of the data file each run.json records, which must also be\n"
	"that of the file now: OUT is computed from it). Their caches\n"
	"(as their run.json records them) are joined into OUT's cache, a key answered\n"
	"differently by two shards is an error, and OUT is then computed from that\n"
	"cache alone, without the network.\n"
	"\n"
	"options:\n"
	"  --partial      accept partial shards (OUT is recomputed from the joined\n"
	"                 cache: partial, exit 5, where answers are missing there)\n"
	"  --cache FILE   the joined cache (default OUT/cache.sqlite)\n"
	"  --force        replace a run of another configuration in OUT (without it\n"
	"                 such an OUT is refused before anything is written there)\n"
	"  -h, --help     show this help\n"
	"\n"
	"exit status: 0 ok, 1 the shards do not belong together or a cache conflict,\n"
	"  2 usage error, 5 an answer is missing (a partial shard)\n";

struct shard {
	const char *dir;
	struct sx_run_config cfg;
	int complete;          /* 1 complete, 0 partial, -1 not known (run.json has no "complete") */
	char data_sha256[65]; /* run.json data.sha256, "" when it has none (an older selfexp) */
};

/* The SHA-256 of the data file the shard in dir read, as its run.json records it. */
static void shard_data_hash(struct shard *sh)
{
	struct sx_rundir rd = SX_RUNDIR_INIT;
	const char *h = NULL;

	sh->data_sha256[0] = '\0';
	if (!sx_rundir_load(&rd, sh->dir, 0, NULL))
		h = sx_json_get_str(sx_json_get(rd.run, "data"), "sha256");
	if (h)
		snprintf(sh->data_sha256, sizeof(sh->data_sha256), "%s", h);
	sx_rundir_release(&rd);
}

/*
 * The shards read one data file, and the file is still what they read (OUT
 * is computed from it): the hashes their run.json records agree with each
 * other and with the file's now. Shards of a selfexp that did not record it
 * pass only when none records it.
 */
static int check_data(const struct shard *sh, size_t n)
{
	char now[65];
	struct sx_err err = SX_ERR_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!!sh[i].data_sha256[0] != !!sh[0].data_sha256[0]) {
			sx_cli_error("merge: '%s' records the hash of its data file and '%s' does not "
				     "(written by an older selfexp); run the shard again",
				     sh[sh[i].data_sha256[0] ? 0 : i].dir, sh[sh[i].data_sha256[0] ? i : 0].dir);
			return -1;
		}
		if (strcmp(sh[i].data_sha256, sh[0].data_sha256)) {
			sx_cli_error("merge: '%s' and '%s' read different data (SHA-256 %.12s... and "
				     "%.12s... of '%s'); run every shard on the same file",
				     sh[0].dir, sh[i].dir, sh[0].data_sha256, sh[i].data_sha256,
				     sh[0].cfg.data_path);
			return -1;
		}
	}
	if (!sh[0].data_sha256[0])
		return 0;
	if (sx_sha256_file_hex(sh[0].cfg.data_path, now, &err)) {
		sx_cli_error("merge: %s", err.msg);
		return -1;
	}
	if (strcmp(now, sh[0].data_sha256)) {
		sx_cli_error("merge: '%s' has changed since the shards read it (SHA-256 %.12s... now, "
			     "%.12s... then); restore it or run the shards again",
			     sh[0].cfg.data_path, now, sh[0].data_sha256);
		return -1;
	}
	return 0;
}

/* What the shard's cache keys name: the normalised endpoint, or the host for host keys. */
static void key_endpoint(const struct sx_run_config *cfg, struct sx_buf *out)
{
	if (cfg->engine.cache_keys == SX_ENGINE_KEYS_HOST)
		sx_buf_adds(out, cfg->endpoint_host ? cfg->endpoint_host : "");
	else if (!cfg->engine.base_url || sx_engine_endpoint_url(cfg->engine.base_url, out))
		sx_buf_adds(out, cfg->engine.base_url ? cfg->engine.base_url : "");
}

/*
 * The shards asked one endpoint: OUT is computed from the joined cache under
 * the first shard's, so the answers of a shard that asked another are keyed
 * where OUT never looks (the merge would be partial, every answer of that
 * shard "missing from the cache").
 */
static int check_endpoints(const struct shard *sh, size_t n)
{
	struct sx_buf a = SX_BUF_INIT, b = SX_BUF_INIT;
	size_t i;
	int rc = 0;

	key_endpoint(&sh[0].cfg, &a);
	for (i = 1; i < n && !rc; i++) {
		sx_buf_reset(&b);
		key_endpoint(&sh[i].cfg, &b);
		if (strcmp(a.buf, b.buf)) {
			sx_cli_error("merge: '%s' and '%s' asked different endpoints ('%s' and '%s'): "
				     "their answers are cached under different keys; run every shard "
				     "against one endpoint", sh[0].dir, sh[i].dir, a.buf, b.buf);
			rc = -1;
		}
	}
	sx_buf_release(&a);
	sx_buf_release(&b);
	return rc;
}

/* Every shard of one N exactly once, the same configuration, complete unless partial. */
static int check_shards(struct shard *sh, size_t n, int partial)
{
	long count = sh[0].cfg.shard_count;
	unsigned char *seen;
	size_t i;
	int rc = 0;

	if (count < 1) {
		sx_cli_error("merge: '%s' is not a shard (it was run without --shard)", sh[0].dir);
		return -1;
	}
	seen = xcalloc((size_t)count, 1);
	for (i = 0; i < n && !rc; i++) {
		struct sx_buf diff = SX_BUF_INIT;

		sx_run_config_diff(&sh[0].cfg, &sh[i].cfg, 1, &diff);
		if (sh[i].cfg.shard_count != count) {
			sx_cli_error("merge: '%s' is shard %ld of %ld, '%s' of %ld", sh[i].dir,
				     sh[i].cfg.shard_index, sh[i].cfg.shard_count, sh[0].dir, count);
			rc = -1;
		} else if (diff.len) {
			sx_cli_error("merge: '%s' and '%s' are not shards of one run (%s)", sh[0].dir,
				     sh[i].dir, diff.buf);
			rc = -1;
		} else if (seen[sh[i].cfg.shard_index]++) {
			sx_cli_error("merge: shard %ld is given twice ('%s')", sh[i].cfg.shard_index,
				     sh[i].dir);
			rc = -1;
		} else if (sh[i].complete < 0 && !partial) {
			sx_cli_error("merge: '%s/run.json' has no \"complete\" (every selfexp writes "
				     "it: the file is damaged), so the shard is not known to be "
				     "complete; run it again (or score it), or pass --partial",
				     sh[i].dir);
			rc = -1;
		} else if (!sh[i].complete && !partial) {
			sx_cli_error("merge: '%s' is partial; complete it (run it again) or pass "
				     "--partial", sh[i].dir);
			rc = -1;
		}
		sx_buf_release(&diff);
	}
	for (i = 0; !rc && i < (size_t)count; i++)
		if (!seen[i]) {
			sx_cli_error("merge: shard %zu of %ld is missing", i, count);
			rc = -1;
		}
	free(seen);
	return rc;
}

/* The shards' caches into path; a key two of them answer differently is an error. */
static int join_caches(struct shard *sh, size_t n, const char *path)
{
	struct sx_err err = SX_ERR_INIT;
	struct sx_cache *out = NULL;
	size_t i;
	int rc = 0;

	/* a shard's cache that cannot be read is found before OUT's is created */
	for (i = 0; i < n; i++) {
		const char *in = sh[i].cfg.engine.cache_path;

		if (in && strcmp(in, path) && access(in, R_OK)) {
			sx_cli_error("merge: the cache of '%s': cannot read '%s': %s", sh[i].dir, in,
				     strerror(errno));
			return -1;
		}
	}
	if (sx_cache_open(path, SX_CACHE_CREATE, &out, &err)) {
		sx_cli_error("merge: %s", err.msg);
		return -1;
	}
	for (i = 0; i < n && !rc; i++) {
		struct sx_cache_merge_stats ms;
		const char *in = sh[i].cfg.engine.cache_path;

		if (!in || !strcmp(in, path))
			continue;
		if (sx_cache_merge_from(out, in, &ms, &err)) {
			sx_cli_error("merge: the cache of '%s': %s", sh[i].dir, err.msg);
			rc = -1;
		} else if (ms.conflicts) {
			sx_cli_error("merge: the cache '%s' of '%s' answers %ld requests differently from "
				     "another shard's (the first key: %s)", in, sh[i].dir, ms.conflicts,
				     ms.first_conflict);
			rc = -1;
		}
	}
	sx_cache_close(out);
	return rc;
}

/*
 * OUT holds a run of another configuration (or one that cannot be read
 * back): refused before anything is joined into OUT's cache, as the run
 * would refuse it after (run_check_existing), unless --force.
 */
static int check_out(const struct sx_run_config *first, const char *out, int force)
{
	struct sx_buf path = SX_BUF_INIT, diff = SX_BUF_INIT;
	struct sx_run_config merged = *first, old;
	int rc = 0;

	merged.shard_index = merged.shard_count = 0;
	sx_buf_addf(&path, "%s/run.json", out);
	if (force || access(path.buf, F_OK))
		goto out;
	if (sx_run_opts_load_config("merge", out, &old, NULL)) {
		sx_cli_error("merge: '%s' holds a run directory that cannot be read back; pass "
			     "--force to replace it, or choose another OUT", out);
		rc = -1;
		goto out;
	}
	sx_run_config_diff(&old, &merged, 0, &diff);
	if (diff.len) {
		sx_cli_error("merge: '%s' holds a run of another configuration (%s); pass --force "
			     "to replace it, or choose another OUT", out, diff.buf);
		rc = -1;
	}
	sx_run_config_release(&old);
out:
	sx_buf_release(&path);
	sx_buf_release(&diff);
	return rc;
}

/* OUT from the joined cache: the unsharded configuration, offline. */
static int merge_run(const struct sx_run_config *first, const char *out, const char *cache,
		     int force)
{
	struct sx_run_config cfg = *first;
	struct sx_run_outcome outcome;
	struct sx_err err = SX_ERR_INIT;
	int rc;

	cfg.owned = NULL;
	cfg.nowned = 0;
	cfg.owned_json = NULL;
	cfg.shard_index = cfg.shard_count = 0;
	cfg.out_dir = out;
	cfg.force = force;
	cfg.engine.cache_path = cache;
	cfg.engine.offline = 1;
	cfg.engine.progress = 0;
	cfg.engine.api_key = NULL;
	cfg.argv_line = "selfexp merge";
	cfg.argc = 0;
	cfg.argv = NULL;
	rc = sx_run(&cfg, &outcome, &err);
	return sx_run_report(&cfg, rc, &outcome, &err);
}

int cmd_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "partial", no_argument, NULL, 'p' },
		{ "cache", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sx_buf cache = SX_BUF_INIT;
	struct shard *sh = NULL;
	size_t n = 0, i;
	int c, partial = 0, force = 0, rc = SX_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': partial = 1; break;
		case 'f': force = 1; break;
		case 'c': sx_buf_reset(&cache); sx_buf_adds(&cache, optarg); break;
		case 'h': fputs(usage, stdout); sx_buf_release(&cache); return SX_EXIT_OK;
		default: sx_buf_release(&cache); return sx_cli_usage_hint("merge");
		}
	}
	if (argc - optind < 2) {
		sx_cli_error("merge: expected OUT and at least one SHARD_DIR");
		sx_buf_release(&cache);
		return sx_cli_usage_hint("merge");
	}
	if (!cache.len)
		sx_buf_addf(&cache, "%s/cache.sqlite", argv[optind]);
	sh = xcalloc((size_t)(argc - optind), sizeof(*sh));
	for (i = (size_t)optind + 1; i < (size_t)argc; i++, n++) {
		sh[n].dir = argv[i];
		if (sx_run_opts_load_config("merge", argv[i], &sh[n].cfg, &sh[n].complete))
			goto out;
		shard_data_hash(&sh[n]);
	}
	if (check_shards(sh, n, partial) || check_endpoints(sh, n) || check_data(sh, n) ||
	    check_out(&sh[0].cfg, argv[optind], force) || join_caches(sh, n, cache.buf))
		goto out;
	rc = merge_run(&sh[0].cfg, argv[optind], cache.buf, force);
out:
	for (i = 0; i < n; i++)
		sx_run_config_release(&sh[i].cfg);
	free(sh);
	sx_buf_release(&cache);
	return rc;
}
