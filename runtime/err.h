/* err.h - the one error-code type of citysoc.
 *
 * Every fallible function returns a cs_rc; CS_OK is zero so `if (rc) goto fail;`
 * reads naturally. The human sentence (file, line, field, reason) is kept in a
 * thread-local buffer set by cs_err_set(), so the code travels cheaply and the
 * message is formatted once, where the facts are known. The buffer belongs to
 * the thread; cs_err_msg() returns a pointer valid until the next cs_err_set()
 * on the same thread.
 */
#ifndef CS_ERR_H
#define CS_ERR_H

#include <stddef.h>

typedef enum cs_rc {
    CS_OK = 0,
    CS_ERR_NOMEM,     /* allocation failed */
    CS_ERR_IO,        /* a file or socket could not be read or written */
    CS_ERR_PARSE,     /* input is not in the expected format */
    CS_ERR_CONFIG,    /* configuration is invalid (unknown key, bad type) */
    CS_ERR_INVAL,     /* a caller passed an invalid argument */
    CS_ERR_LIMIT,     /* a size or count limit was exceeded */
    CS_ERR_FULL,      /* a bounded queue or table is full */
    CS_ERR_CLOSED,    /* a queue or stream was closed */
    CS_ERR_NOTFOUND,  /* a named thing does not exist */
    CS_ERR_ABI,       /* a plugin was built for another ABI */
    CS_ERR_DB,        /* the store failed */
    CS_ERR_RULE,      /* a detection rule is invalid */
    CS_ERR_USAGE,     /* command-line usage error */
    CS_ERR_INTERNAL,  /* an invariant broke: a bug */
    CS_ERR__COUNT
} cs_rc;

/* Short fixed name of a code ("parse error"). Never NULL. */
const char *cs_rc_str(cs_rc rc);

/* Record a printf-style sentence for this thread and return rc unchanged, so
 * callers can write `return cs_err_set(CS_ERR_PARSE, "%s:%d: ...", f, l);`. */
cs_rc cs_err_set(cs_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with more context ("while loading rules: ..."). */
cs_rc cs_err_wrap(cs_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last sentence recorded on this thread, or cs_rc_str() of the last code
 * if none was recorded. Owned by the thread; do not free. */
const char *cs_err_msg(void);

/* Forget the last message (used by tests and long-running loops). */
void cs_err_clear(void);

#endif
