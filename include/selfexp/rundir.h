#ifndef SELFEXP_RUNDIR_H
#define SELFEXP_RUNDIR_H
/*
 * A run directory read back (DESIGN.md section 10): run.json, summary.json
 * and records.jsonl, as written by `selfexp run`. The readers of a run
 * (table, report, compare) go through this module and never touch the
 * network. Every file is length-capped; a malformed line of records.jsonl is
 * an error naming the line, never skipped.
 */
#include <stddef.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"
#include "selfexp/strmap.h"

struct sx_json;

/* The files of a run directory. */
#define SX_RUNDIR_RUN_JSON "run.json"
#define SX_RUNDIR_SUMMARY_JSON "summary.json"
#define SX_RUNDIR_RECORDS_JSONL "records.jsonl"

/* Size caps of the files of a run directory. */
#define SX_RUNDIR_JSON_MAX (64u * 1024u * 1024u)
#define SX_RUNDIR_RECORDS_MAX (2048ul * 1024ul * 1024ul)

/* What to load besides run.json (always loaded). */
enum sx_rundir_part {
	SX_RUNDIR_SUMMARY = 1 << 0,
	SX_RUNDIR_RECORDS = 1 << 1
};

struct sx_rundir {
	char *dir;               /* owned */
	struct sx_json *run;     /* owned root: run.json */
	struct sx_json *summary; /* owned root: summary.json, or NULL when not loaded */
	struct sx_json **records;/* owned roots, one per line of records.jsonl, in file order */
	size_t nrecords;
	struct sx_strmap index;  /* (id, condition, method), length-prefixed -> record index */
};

#define SX_RUNDIR_INIT { \
	.dir = NULL, .run = NULL, .summary = NULL, .records = NULL, .nrecords = 0, \
	.index = SX_STRMAP_INIT, \
}

/* Load dir's run.json and the parts asked for. On error rd is left released. */
int sx_rundir_load(struct sx_rundir *rd, const char *dir, unsigned parts, struct sx_err *err);
void sx_rundir_release(struct sx_rundir *rd);

/* The record of (id, condition, method) (borrowed), or NULL. */
const struct sx_json *sx_rundir_record(const struct sx_rundir *rd, const char *id,
				       const char *condition, const char *method);
/*
 * The record of (id, condition) that carries the condition's own answer:
 * method self, topk or prediction (borrowed), or NULL.
 */
const struct sx_json *sx_rundir_answer_record(const struct sx_rundir *rd, const char *id,
					      const char *condition);

/*
 * The usual display names: "ep" -> "E-P", "pe" -> "P-E", "ep-topk" ->
 * "E-P top-k", "pe-topk" -> "P-E top-k", "pred" -> "prediction only";
 * other names are returned unchanged.
 */
const char *sx_rundir_condition_label(const char *condition);
/*
 * 1 when path names a data file of a run directory (run.json, summary.json,
 * records.jsonl, misses.jsonl, ledger.jsonl in a directory that holds a
 * run.json), by its name or through a symbolic link: what no command other
 * than run and score may write over (table -o, report -o, compare
 * --markdown/--junit and cache export -o refuse it).
 */
int sx_rundir_is_data_file(const char *path);
/*
 * The methods of a run's summary that are not built in (from --explanations
 * files), in the order the summary first lists them: at most max names
 * (borrowed from summary) into out; returns how many it put there (a run
 * has at most SX_RUNDIR_FILE_METHODS_MAX of them).
 */
#define SX_RUNDIR_FILE_METHODS_MAX 32
size_t sx_rundir_file_methods(const struct sx_json *summary, const char **out, size_t max);
/* "X.Y.Z" as X * 1000000 + Y * 1000 + Z (0.2.0 is 2000), -1 when v is not a version. */
long sx_rundir_version_number(const char *v);
/*
 * What run.json (the root, rd->run) says of the run: 1 complete, 0 partial
 * ("complete": false), -1 not known: every version of selfexp writes a
 * boolean "complete", so a run.json without one is damaged, and its run is
 * never read as complete (table and report say so, compare does not gate it).
 */
int sx_rundir_run_complete(const struct sx_json *run);
/* Parse status names that yield a usable prediction (ok, ok_with_repairs, no_explanation). */
int sx_rundir_status_usable_prediction(const char *status);

/* ---- writing ------------------------------------------------------------ */

/*
 * A run directory being written: records are streamed to a staged
 * records.jsonl, then sx_rundir_writer_commit() stages summary.json and
 * run.json and renames all of them into place together, so a failure at any
 * point (a full disk, a kill) leaves the old run directory as it was.
 */
struct sx_rundir_writer {
	char *dir;            /* owned */
	char *records_path;   /* owned */
	int fd;               /* staged records.jsonl, -1 when closed */
	int error;            /* errno of the first failed write */
	struct sx_buf pending;/* records not yet written to fd */
};

#define SX_RUNDIR_WRITER_INIT { .dir = NULL, .records_path = NULL, .fd = -1, .error = 0, \
				.pending = SX_BUF_INIT }

/* Create dir (mode 0700) if needed and stage its records.jsonl. */
int sx_rundir_writer_open(struct sx_rundir_writer *w, const char *dir, struct sx_err *err);
/* Append one record (one line of records.jsonl); takes and frees rec. */
void sx_rundir_writer_record(struct sx_rundir_writer *w, struct sx_json *rec);
/*
 * Close the records, stage summary.json and run.json (run may be NULL: the
 * old run.json is kept) and commit all files. On error nothing replaces the
 * old files.
 */
int sx_rundir_writer_commit(struct sx_rundir_writer *w, const struct sx_json *summary,
			    const struct sx_json *run, struct sx_err *err);
/* Free the writer; when not committed, the staged files are removed. */
void sx_rundir_writer_release(struct sx_rundir_writer *w);

#endif
