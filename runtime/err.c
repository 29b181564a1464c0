/* err.c - error codes and the per-thread error sentence (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CS_ERR_MSG_MAX 1024

static _Thread_local char tl_msg[CS_ERR_MSG_MAX];
static _Thread_local cs_rc tl_rc;

static const char *const names[CS_ERR__COUNT] = {
    [CS_OK] = "success",
    [CS_ERR_NOMEM] = "out of memory",
    [CS_ERR_IO] = "input/output error",
    [CS_ERR_PARSE] = "parse error",
    [CS_ERR_CONFIG] = "configuration error",
    [CS_ERR_INVAL] = "invalid argument",
    [CS_ERR_LIMIT] = "limit exceeded",
    [CS_ERR_FULL] = "full",
    [CS_ERR_CLOSED] = "closed",
    [CS_ERR_NOTFOUND] = "not found",
    [CS_ERR_ABI] = "plugin ABI mismatch",
    [CS_ERR_DB] = "store error",
    [CS_ERR_RULE] = "invalid rule",
    [CS_ERR_USAGE] = "usage error",
    [CS_ERR_INTERNAL] = "internal error",
};

const char *cs_rc_str(cs_rc rc)
{
    if ((unsigned)rc >= CS_ERR__COUNT) {
        return "unknown error";
    }
    return names[rc];
}

cs_rc cs_err_set(cs_rc rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_msg, sizeof tl_msg, fmt, ap);
    va_end(ap);
    tl_rc = rc;
    return rc;
}

cs_rc cs_err_wrap(cs_rc rc, const char *fmt, ...)
{
    char prefix[CS_ERR_MSG_MAX];
    char old[CS_ERR_MSG_MAX];
    va_list ap;

    snprintf(old, sizeof old, "%s", tl_msg[0] ? tl_msg : cs_rc_str(rc));
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    {
        size_t pl = strlen(prefix);
        size_t ol = strlen(old);
        if (pl > sizeof tl_msg - 3) {
            pl = sizeof tl_msg - 3;
        }
        memcpy(tl_msg, prefix, pl);
        memcpy(tl_msg + pl, ": ", 2);
        if (ol > sizeof tl_msg - pl - 3) {
            ol = sizeof tl_msg - pl - 3;
        }
        memcpy(tl_msg + pl + 2, old, ol);
        tl_msg[pl + 2 + ol] = '\0';
    }
    tl_rc = rc;
    return rc;
}

const char *cs_err_msg(void)
{
    if (tl_msg[0] == '\0') {
        return cs_rc_str(tl_rc);
    }
    return tl_msg;
}

void cs_err_clear(void)
{
    tl_msg[0] = '\0';
    tl_rc = CS_OK;
}
