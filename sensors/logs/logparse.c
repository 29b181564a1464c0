/* logparse.c - format detection and dispatch (see logparse.h). */
#include "logparse.h"

#include <string.h>

static bool starts(const char *s, size_t n, const char *p)
{
    size_t pl = strlen(p);
    return n >= pl && memcmp(s, p, pl) == 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "1.2.3.4 - user [" or "::1 - - [": an address, a space, an ident, a user, '[' */
static bool looks_access(const char *s, size_t n)
{
    size_t i = 0, spaces = 0;
    while (i < n && i < 300 && s[i] != '[') {
        if (s[i] == ' ') {
            spaces++;
        }
        i++;
    }
    return i < n && spaces == 3 && s[i - 1] == ' ' && n > i + 20 && memchr(s + i, '"', n - i) != NULL &&
           (is_digit(s[0]) || s[0] == ':' || (s[0] >= 'a' && s[0] <= 'f'));
}

cs_log_format cs_log_detect(const char *s, size_t n)
{
    while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        n--;
    }
    if (n == 0) {
        return CS_LOGFMT_SYSLOG;
    }
    if (s[0] == '{') {
        return CS_LOGFMT_JSON;
    }
    if (starts(s, n, "type=") || starts(s, n, "node=")) {
        return CS_LOGFMT_AUDITD;
    }
    if (starts(s, n, "CEF:") || memmem(s, n < 256 ? n : 256, " CEF:", 5) != NULL) {
        return CS_LOGFMT_CEF;   /* bare, or behind a syslog header (the CEF parser skips it) */
    }
    if (s[0] == '[' && n > 28 && memmem(s, n < 64 ? n : 64, "] [", 3) != NULL) {
        return CS_LOGFMT_APACHE_ERROR;   /* [Sun Dec 04 04:47:44 2005] [error] ... */
    }
    if (n > 20 && is_digit(s[0]) && s[4] == '/' && s[7] == '/' && s[10] == ' ' && s[13] == ':') {
        return CS_LOGFMT_NGINX_ERROR;    /* 2026/03/12 08:00:00 [error] ... */
    }
    if (looks_access(s, n)) {
        return CS_LOGFMT_ACCESS;
    }
    return CS_LOGFMT_SYSLOG;   /* syslog also takes anything else, as a message */
}

/* CEF behind a syslog header: the header knows the time (unless the CEF
 * carries rt=) and the sending host. */
static cs_rc parse_cef_with_header(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out)
{
    const char *cef = memmem(line, len, "CEF:", 4);
    cs_event *hdr = NULL;
    cs_rc rc = cs_parse_cef(line, len, ctx, out);
    const char *host;
    size_t hl;
    if (rc != CS_OK || cef == NULL || cef == line) {
        return rc;
    }
    if (cs_syslog_parse(line, (size_t)(cef - line), ctx ? &ctx->time : NULL, &hdr) != CS_OK) {
        return CS_OK;   /* the CEF event stands on its own */
    }
    if (cs_event_find(hdr, CS_F_TAGS) == NULL && cs_event_find(*out, cs_field_intern("rt", 2)) == NULL) {
        (*out)->ts_us = hdr->ts_us;   /* no citysoc.no_timestamp tag: the header had a stamp */
    }
    if (cs_event_find(*out, CS_F_HOST_NAME) == NULL && cs_event_get_str(hdr, CS_F_HOST_NAME, &host, &hl)) {
        rc = cs_event_add_str(out, CS_F_HOST_NAME, host, hl);
    }
    cs_event_free(hdr);
    if (rc != CS_OK) {
        cs_event_free(*out);
        *out = NULL;
    }
    return rc;
}

cs_rc cs_log_parse_line(cs_log_format fmt, const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out)
{
    cs_rc rc;
    if (fmt == CS_LOGFMT_AUTO) {
        fmt = cs_log_detect(line, len);
    }
    switch (fmt) {
    case CS_LOGFMT_ACCESS:
        return cs_parse_access(line, len, ctx, out);
    case CS_LOGFMT_NGINX_ERROR:
        return cs_parse_nginx_error(line, len, ctx, out);
    case CS_LOGFMT_APACHE_ERROR:
        return cs_parse_apache_error(line, len, ctx, out);
    case CS_LOGFMT_AUDITD:
        return cs_parse_auditd(line, len, ctx, out);
    case CS_LOGFMT_JSON:
        return cs_parse_json_line(line, len, ctx, out);
    case CS_LOGFMT_CEF:
        return parse_cef_with_header(line, len, ctx, out);
    case CS_LOGFMT_KV:
        return cs_parse_kv(line, len, ctx, out);
    case CS_LOGFMT_SYSLOG:
    default:
        rc = cs_syslog_parse(line, len, ctx ? &ctx->time : NULL, out);
        if (rc == CS_OK) {
            rc = cs_log_common(out, line, len, ctx, CS_LOGFMT_SYSLOG, NULL, NULL, NULL);
        }
        if (rc == CS_OK) {
            rc = cs_log_normalize(out);
        }
        if (rc != CS_OK && *out != NULL) {
            cs_event_free(*out);
            *out = NULL;
        }
        return rc;
    }
}
