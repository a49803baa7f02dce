/*
 * The run's ledger: what every process of one run sent and spent.
 *
 * DIR/ledger.jsonl holds one line per process that sent requests for the
 * run directory DIR, each exactly RUN_LEDGER_LINE bytes (JSON padded with
 * spaces, then a newline), so that the process rewrites its own line in
 * place with one pwrite(2) as it goes: before the requests it starts reach
 * the network and after their answers come back. A process killed with
 * SIGKILL leaves its line as last written (the kernel holds the write; no
 * fsync is needed for that). A slot is taken at the end of the file under
 * flock(2), so processes of one run that start together get distinct ones.
 *
 * Each line names the configuration it belongs to (SHA-256 of the
 * configuration as runs compare it, run_check_existing): a run with
 * another configuration in the same directory (--force, or one killed
 * before it wrote run.json) starts a total of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "selfexp/alloc.h"
#include "selfexp/file.h"
#include "selfexp/hash.h"

/* Bytes of one ledger line, newline included. */
#define RUN_LEDGER_LINE 256
/* A ledger larger than this is not read (some 16,000 processes). */
#define RUN_LEDGER_MAX (4u * 1024u * 1024u)

static void ledger_line(const struct run_ledger *l, const struct sx_engine_stats *st,
			char line[RUN_LEDGER_LINE])
{
	int n = snprintf(line, RUN_LEDGER_LINE,
			 "{\"config\":\"%s\",\"pid\":%ld,\"started\":%lld,\"sent\":%ld,"
			 "\"attempts\":%ld,\"prompt_tokens\":%ld,\"completion_tokens\":%ld,"
			 "\"cost_usd\":%.9g}",
			 l->config, (long)getpid(), (long long)l->started, st->sent, st->attempts,
			 st->prompt_tokens, st->completion_tokens, st->cost);

	if (n < 0 || n >= RUN_LEDGER_LINE - 1)
		n = 0; /* cannot happen: the numbers fit; an empty line is skipped on reading */
	memset(line + n, ' ', (size_t)(RUN_LEDGER_LINE - 1 - n));
	line[RUN_LEDGER_LINE - 1] = '\n';
}

/* Add the lines of this configuration to l->before; the others are another run's. */
static void ledger_sum(struct run_ledger *l, const char *text, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		struct sx_json *j = sx_json_parse(text + pos, n, NULL);
		const char *cfg = sx_json_get_str(j, "config");
		double v;

		const char *seg = text + pos;

		pos += n + 1;
		if (!j || !cfg) {
			/* a padding line is blank; anything else was cut (a crash of the machine) */
			if (n && strspn(seg, " ") < n)
				l->unreadable++;
			sx_json_free(j);
			continue;
		}
		if (!strcmp(cfg, l->config)) {
			l->processes++;
			if (!sx_json_get_num(j, "sent", &v))
				l->before.sent += (long)v;
			if (!sx_json_get_num(j, "attempts", &v))
				l->before.attempts += (long)v;
			if (!sx_json_get_num(j, "prompt_tokens", &v))
				l->before.prompt_tokens += (long)v;
			if (!sx_json_get_num(j, "completion_tokens", &v))
				l->before.completion_tokens += (long)v;
			if (!sx_json_get_num(j, "cost_usd", &v))
				l->before.cost += v;
		}
		sx_json_free(j);
	}
}

int run_ledger_open(struct run_ledger *l, const struct run *run, struct sx_err *err)
{
	struct sx_buf text = SX_BUF_INIT;
	struct stat st;
	int rc = 0, fd;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->started = run->started;
	run_config_fingerprint(run, l->config);
	sx_buf_addf(&l->path, "%s/" RUN_LEDGER_FILE, run->cfg->out_dir);
	l->dir = run->cfg->out_dir;
	l->dir_existed = !access(l->dir, F_OK);
	fd = open(l->path.buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* the first process of the run */
		return sx_err_set(err, SX_EIO, "cannot read the run's ledger '%s': %s", l->path.buf,
				  strerror(errno));
	}
	l->file_existed = 1;
	if (flock(fd, LOCK_SH) || fstat(fd, &st)) {
		rc = sx_err_set(err, SX_EIO, "cannot lock the run's ledger '%s': %s", l->path.buf,
				strerror(errno));
	} else if ((size_t)st.st_size > RUN_LEDGER_MAX) {
		rc = sx_err_set(err, SX_EIO, "the run's ledger '%s' is over %u bytes; remove it (the "
				"totals of earlier processes are then lost) or choose another --out",
				l->path.buf, RUN_LEDGER_MAX);
	} else {
		sx_buf_grow(&text, (size_t)st.st_size + 1);
		if (pread(fd, text.buf, (size_t)st.st_size, 0) != (ssize_t)st.st_size)
			rc = sx_err_set(err, SX_EIO, "cannot read the run's ledger '%s': %s",
					l->path.buf, strerror(errno));
		else
			ledger_sum(l, text.buf, (size_t)st.st_size);
	}
	close(fd);
	sx_buf_release(&text);
	return rc;
}

/*
 * Take a line for this process at the end of the ledger (on a line boundary
 * even after a cut line), creating the directory and the file: at the first
 * requests sent, so that a run that sends nothing writes nothing.
 */
static int ledger_take_slot(struct run_ledger *l)
{
	struct sx_err err = SX_ERR_INIT;
	char pad[RUN_LEDGER_LINE];
	struct stat st;
	size_t n;
	int fd;

	if (sx_mkdir_p(l->dir, 0700, &err))
		return -1;
	fd = open(l->path.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) || fstat(fd, &st)) {
		close(fd);
		return -1;
	}
	l->offset = ((st.st_size + RUN_LEDGER_LINE - 1) / RUN_LEDGER_LINE) * RUN_LEDGER_LINE;
	memset(pad, ' ', sizeof(pad));
	pad[RUN_LEDGER_LINE - 1] = '\n';
	/* blanks from the end of the file to the end of our line: the slot is ours */
	n = (size_t)(l->offset + RUN_LEDGER_LINE - st.st_size);
	if (pwrite(fd, pad + RUN_LEDGER_LINE - n % RUN_LEDGER_LINE, n % RUN_LEDGER_LINE,
		   st.st_size) != (ssize_t)(n % RUN_LEDGER_LINE) ||
	    (n >= RUN_LEDGER_LINE &&
	     pwrite(fd, pad, RUN_LEDGER_LINE, l->offset) != (ssize_t)RUN_LEDGER_LINE)) {
		flock(fd, LOCK_UN);
		close(fd);
		return -1;
	}
	flock(fd, LOCK_UN);
	l->fd = fd;
	return 0;
}

void run_ledger_account(void *ctx, const struct sx_engine_stats *st)
{
	struct run_ledger *l = ctx;
	char line[RUN_LEDGER_LINE];

	if (l->fd < 0 && ledger_take_slot(l)) {
		l->write_failed++;
		return;
	}
	ledger_line(l, st, line);
	if (pwrite(l->fd, line, sizeof(line), l->offset) != (ssize_t)sizeof(line))
		l->write_failed++;
}

void run_ledger_discard(struct run_ledger *l)
{
	if (l->fd < 0 || l->file_existed)
		return;
	close(l->fd);
	l->fd = -1;
	unlink(l->path.buf);
	if (!l->dir_existed)
		rmdir(l->dir); /* only when empty */
}

void run_ledger_close(struct run_ledger *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	sx_buf_release(&l->path);
}
