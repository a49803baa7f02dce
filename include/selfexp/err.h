#ifndef SELFEXP_ERR_H
#define SELFEXP_ERR_H
/*
 * Error reporting for library code (git's strbuf *err). A function that can
 * fail returns 0 on success or a negative SX_E* code, and, when the caller
 * passed a struct sx_err, leaves a message in it for the caller to print.
 * Messages follow STYLE.md: lowercase, no final period, the offending value
 * quoted, the way out when there is one.
 */

#define SX_ERR_MSG_MAX 1024

/* Negative return codes of library functions. */
enum sx_errcode {
	SX_OK = 0,
	SX_EFAIL = -1,    /* generic failure, see message */
	SX_EINPUT = -2,   /* bad input data (file, answer, option value) */
	SX_EIO = -3,      /* I/O error reading or writing a file */
	SX_ENET = -4,     /* network / API unreachable or refusing */
	SX_ELIMIT = -5,   /* a configured cap was reached */
	SX_ENOTFOUND = -6, /* a key, file or name does not exist */
	SX_EPENDING = -7  /* work handed to another party is not done yet (batches pending) */
};

/* Process exit codes of the CLI (STYLE.md). */
enum sx_exit {
	SX_EXIT_OK = 0,
	SX_EXIT_FAIL = 1,
	SX_EXIT_USAGE = 2,
	SX_EXIT_UNREACHABLE = 3,
	SX_EXIT_GATE = 4,
	SX_EXIT_PARTIAL = 5,
	SX_EXIT_PENDING = 6 /* batches submitted and not done: run the same command again */
};

struct sx_err {
	int code;
	char msg[SX_ERR_MSG_MAX];
};

#define SX_ERR_INIT { .code = 0, .msg = "" }

/* Record a message in err (may be NULL) and return code, for `return sx_err_set(...)`. */
__attribute__((format(printf, 3, 4)))
int sx_err_set(struct sx_err *err, int code, const char *fmt, ...);
/* Prefix the message already in err with "prefix: ". */
__attribute__((format(printf, 2, 3)))
void sx_err_prefix(struct sx_err *err, const char *fmt, ...);

#endif
