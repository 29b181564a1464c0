/* parse_web.c - web server logs: nginx/Apache access logs ("combined",
 * "common", with or without a virtual-host prefix), the nginx error log and
 * the Apache 2.2/2.4 error log (see logparse.h for the common contract).
 *
 * Design note.
 *
 * Each parser is two passes over the line: a scanner that only records spans
 * (pointer + length into the line; no copy, no allocation, no regex) and an
 * emitter that copies those spans into the one event. A line the scanner
 * refuses still becomes an event (message = the line, tags citysoc.unparsed),
 * so nothing is dropped; a line that stops early (no referer, no status) keeps
 * what was found.
 *
 * Values are stored as logged: URL-encoding is kept (SigmaHQ web rules match
 * `%2e`, `%252f` literally) and so are the servers' own log escapes (`\"`,
 * `\x22`), which Sigma rules also see in the raw line.
 *
 * Access events carry ECS names and the W3C/SigmaHQ webserver names (c-ip,
 * cs-method, cs-uri-stem, cs-uri-query = path PLUS query, cs-version,
 * sc-status and sc-bytes as integers, cs-referer, cs-user-agent, cs-username,
 * cs-host); logsource category "webserver". Their `message` is the whole line
 * so Sigma keyword lists (SQL injection strings, ...) search all of it.
 * Error logs are logsource service "nginx" / "apache", exactly as SigmaHQ's
 * rules/web/product/{nginx,apache} rules ask (no product).
 *
 * Stamps without a zone (both error logs) are local time in the zone of
 * ctx->time.tz_offset_s, like RFC 3164 syslog. Non-canonical field names are
 * interned once (pthread_once) and cached.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../runtime/timeutil.h"
#include "logbuild.h"
#include "logparse.h"

/* ------------------------------------------------------------ names -- */

enum {
    N_C_IP,
    N_CS_METHOD,
    N_CS_URI_STEM,
    N_CS_URI_QUERY,
    N_CS_VERSION,
    N_SC_STATUS,
    N_SC_BYTES,
    N_CS_REFERER,
    N_CS_USER_AGENT,
    N_CS_USERNAME,
    N_CS_HOST,
    N_THREAD_ID,
    N_NGINX_CONN,
    N_APACHE_MODULE,
    N__COUNT
};

static const char *const names[N__COUNT] = {
    [N_C_IP] = "c-ip",
    [N_CS_METHOD] = "cs-method",
    [N_CS_URI_STEM] = "cs-uri-stem",
    [N_CS_URI_QUERY] = "cs-uri-query",
    [N_CS_VERSION] = "cs-version",
    [N_SC_STATUS] = "sc-status",
    [N_SC_BYTES] = "sc-bytes",
    [N_CS_REFERER] = "cs-referer",
    [N_CS_USER_AGENT] = "cs-user-agent",
    [N_CS_USERNAME] = "cs-username",
    [N_CS_HOST] = "cs-host",
    [N_THREAD_ID] = "process.thread.id",
    [N_NGINX_CONN] = "nginx.error.connection_id",
    [N_APACHE_MODULE] = "apache.error.module",
};

static cs_fid fid[N__COUNT];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void intern_names(void)
{
    for (int i = 0; i < N__COUNT; i++) {
        fid[i] = cs_field_intern(names[i], strlen(names[i]));   /* CS_F_NONE if the registry is full */
    }
}

/* ---------------------------------------------------------- helpers -- */

/* The event under construction and the first error; adders do nothing
 * once rc is set, so each parser has a single exit path. */
static void add_span(bld *b, cs_fid id, span v)
{
    if (v.p != NULL) {
        add_str(b, id, v.p, v.n);
    }
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Unsigned decimal of the whole span, at most 18 digits (no overflow). */
/* Digits at s[*i..]; at most maxd of them, at least one. */
static bool read_num(const char *s, size_t n, size_t *i, size_t maxd, int *out)
{
    size_t k = 0;
    int x = 0;
    while (*i < n && k < maxd && is_digit(s[*i])) {
        x = x * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    *out = x;
    return k > 0;
}

static int month_of(const char *s, size_t n)
{
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (n < 3) {
        return 0;
    }
    for (int m = 0; m < 12; m++) {
        if (memcmp(s, months[m], 3) == 0) {
            return m + 1;
        }
    }
    return 0;
}

static int64_t received(const cs_log_ctx *ctx)
{
    return ctx != NULL && ctx->received_us != 0 ? ctx->received_us : cs_now_us();
}

static int local_offset(const cs_log_ctx *ctx)
{
    return ctx != NULL ? ctx->time.tz_offset_s : 0;
}

/* Address, typed when it is one; "1.2.3.4:80" and 2.4's "[::1]:80" style
 * trailing ports are tried as a second reading when port_hint is set. */
static bool parse_addr(span v, bool port_hint, cs_ip *ip, int64_t *port)
{
    const char *colon = NULL;
    *port = -1;
    if (v.p == NULL || v.n == 0) {
        return false;
    }
    for (size_t i = v.n; i > 0; i--) {
        if (v.p[i - 1] == ':') {
            colon = v.p + i - 1;
            break;
        }
    }
    if (!port_hint && cs_ip_parse(v.p, v.n, ip)) {
        return true;
    }
    if (colon != NULL) {
        span h = {v.p, (size_t)(colon - v.p)};
        span pt = {colon + 1, v.n - h.n - 1};
        int64_t pn;
        if (h.n > 2 && h.p[0] == '[' && h.p[h.n - 1] == ']') {
            h.p++;
            h.n -= 2;
        }
        if (span_uint(pt, &pn) && pn <= 65535 && cs_ip_parse(h.p, h.n, ip)) {
            *port = pn;
            return true;
        }
    }
    return port_hint && cs_ip_parse(v.p, v.n, ip);
}

/* A quoted field starting after its opening quote at s[i]: ends at the
 * first unescaped '"' followed by a space or the end of the line; failing
 * that, at the first unescaped '"'; failing that (unterminated), at the end.
 * Returns the index just past the closing quote (or n). */
static size_t quoted(const char *s, size_t n, size_t i, span *out)
{
    size_t first = SIZE_MAX;
    size_t j = i;
    while (j < n) {
        if (s[j] == '\\') {
            j += 2;   /* Apache writes \" and \\ */
            continue;
        }
        if (s[j] == '"') {
            if (j + 1 == n || s[j + 1] == ' ') {
                break;
            }
            if (first == SIZE_MAX) {
                first = j;
            }
        }
        j++;
    }
    if (j >= n) {
        j = first != SIZE_MAX ? first : n;
    }
    out->p = s + i;
    out->n = (j < n ? j : n) - i;
    return j < n ? j + 1 : n;
}

/* The request field of an access line: the closing quote is the one
 * followed by " <status>" (a digit or '-'), so a request carrying raw quotes
 * (scanners send them; old servers log them unescaped) stays whole. */
static size_t quoted_request(const char *s, size_t n, size_t i, span *out)
{
    for (size_t j = i; j < n; j++) {
        if (s[j] == '\\') {
            j++;
            continue;
        }
        if (s[j] == '"' &&
            (j + 1 == n || (j + 2 < n && s[j + 1] == ' ' && (is_digit(s[j + 2]) || s[j + 2] == '-')))) {
            out->p = s + i;
            out->n = j - i;
            return j + 1;
        }
    }
    return quoted(s, n, i, out);
}

static size_t skip_spaces(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    return i;
}

/* Unparsed line: the message is the line. */
static void add_unparsed(bld *b, const char *line, size_t len)
{
    add_str(b, CS_F_MESSAGE, line, len);
    add_cstr(b, CS_F_TAGS, "citysoc.unparsed");
}

/* Common tail of every parser: logsource + common fields, one exit. */
static cs_rc finish(bld *b, const char *line, size_t len, const cs_log_ctx *ctx, cs_log_format fmt,
                    const char *category, const char *service, cs_event **out)
{
    if (b->rc == CS_OK) {
        b->rc = cs_log_common(&b->ev, line, len, ctx, fmt, NULL, category, service);
    }
    if (b->rc != CS_OK) {
        cs_event_free(b->ev);
        *out = NULL;
        return b->rc;
    }
    *out = b->ev;
    return CS_OK;
}

static cs_rc start(bld *b, const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out)
{
    pthread_once(&names_once, intern_names);
    *out = NULL;
    b->rc = CS_OK;
    b->msg_lo = b->msg_hi = NULL;
    if (line == NULL) {
        return cs_err_set(CS_ERR_INVAL, "NULL log line");
    }
    /* the line ends up in several fields (original, message, url.*, cs-*) */
    b->ev = cs_event_new_sized(CS_KIND_LOG, received(ctx), 40,
                               len <= (CS_EVENT_MAX_BYTES - 512) / 4 ? 4 * len + 512 : CS_EVENT_MAX_BYTES);
    if (b->ev == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory parsing a log line");
    }
    return CS_OK;
}

/* ----------------------------------------------------- request line -- */

typedef struct request {
    span method, target, version;   /* version: "HTTP/1.1" */
    span domain;                    /* authority of an absolute-form target */
    span pathq, path, query;        /* pathq: target without scheme://authority */
} request;

static bool method_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_';
}

/* "METHOD target[ HTTP/x.y]"; the target may contain spaces (scanners). */
static bool split_request(span r, request *q)
{
    size_t i = 0, sp;
    size_t end = r.n;
    memset(q, 0, sizeof *q);
    while (i < r.n && i <= 32 && method_char(r.p[i])) {
        i++;
    }
    if (i == 0 || i > 32 || i >= r.n || r.p[i] != ' ') {
        return false;
    }
    q->method = (span){r.p, i};
    for (sp = r.n; sp > i + 1; sp--) {
        if (r.p[sp - 1] == ' ') {
            break;
        }
    }
    if (sp > i + 1 && r.n - sp >= 5 && memcmp(r.p + sp, "HTTP/", 5) == 0) {
        q->version = (span){r.p + sp, r.n - sp};
        end = sp - 1;
    }
    i++;
    if (i >= end) {
        return true;   /* "GET  HTTP/1.1": a method and nothing else */
    }
    q->target = (span){r.p + i, end - i};
    q->pathq = q->target;
    {
        /* absolute form "http://host:port/path?q": the path part is what
         * cs-uri-stem/-query hold, as for an origin-form target */
        const char *t = q->target.p;
        size_t tn = q->target.n, k = 0;
        while (k < tn && k < 16 && ((t[k] >= 'a' && t[k] <= 'z') || (t[k] >= 'A' && t[k] <= 'Z'))) {
            k++;
        }
        if (k > 0 && k + 3 <= tn && memcmp(t + k, "://", 3) == 0) {
            size_t a = k + 3, e = a;
            while (e < tn && t[e] != '/' && t[e] != '?' && t[e] != '#') {
                e++;
            }
            for (size_t c = e; c > a; c--) {
                if (t[c - 1] == '@') {   /* user:pass@host */
                    a = c;
                    break;
                }
            }
            q->domain = (span){t + a, e - a};
            for (size_t c = 0; c < q->domain.n; c++) {
                if (q->domain.p[c] == ':' && q->domain.p[0] != '[') {
                    q->domain.n = c;
                    break;
                }
            }
            q->pathq = (span){t + e, tn - e};
        }
    }
    {
        const char *qm = q->pathq.n > 0 ? memchr(q->pathq.p, '?', q->pathq.n) : NULL;
        if (qm != NULL) {
            q->path = (span){q->pathq.p, (size_t)(qm - q->pathq.p)};
            q->query = (span){qm + 1, q->pathq.n - q->path.n - 1};
        } else {
            q->path = q->pathq;
        }
    }
    return true;
}

static void emit_request(bld *b, const request *q, bool sigma_names)
{
    add_span(b, CS_F_HTTP_REQUEST_METHOD, q->method);
    add_span(b, CS_F_URL_ORIGINAL, q->target);
    if (q->path.n > 0) {
        add_span(b, CS_F_URL_PATH, q->path);
    }
    if (q->query.n > 0) {
        add_span(b, CS_F_URL_QUERY, q->query);
    }
    if (q->domain.n > 0) {
        add_span(b, CS_F_URL_DOMAIN, q->domain);
    }
    if (q->version.p != NULL) {
        add_str(b, CS_F_HTTP_VERSION, q->version.p + 5, q->version.n - 5);
    }
    if (!sigma_names) {
        return;
    }
    add_span(b, fid[N_CS_METHOD], q->method);
    if (q->path.n > 0) {
        add_span(b, fid[N_CS_URI_STEM], q->path);
    }
    if (q->pathq.n > 0) {
        add_span(b, fid[N_CS_URI_QUERY], q->pathq);   /* SigmaHQ matches paths here */
    }
    add_span(b, fid[N_CS_VERSION], q->version);
}

/* ------------------------------------------------------ access logs -- */

typedef struct access_rec {
    span vhost, client, user, time, request, status, bytes, referer, agent;
} access_rec;

/* "12/Mar/2026:08:14:03 +0000" (day may have one digit). */
static bool clf_time(span t, int64_t *us)
{
    size_t i = 0;
    int d, mo, y, h, mi, se, oh, om, sign;
    if (!read_num(t.p, t.n, &i, 2, &d) || i + 4 >= t.n || t.p[i] != '/') {
        return false;
    }
    mo = month_of(t.p + i + 1, t.n - i - 1);
    i += 4;
    if (mo == 0 || t.p[i] != '/') {
        return false;
    }
    i++;
    if (!read_num(t.p, t.n, &i, 4, &y) || i >= t.n || t.p[i++] != ':' || !read_num(t.p, t.n, &i, 2, &h) ||
        i >= t.n || t.p[i++] != ':' || !read_num(t.p, t.n, &i, 2, &mi) || i >= t.n || t.p[i++] != ':' ||
        !read_num(t.p, t.n, &i, 2, &se)) {
        return false;
    }
    if (d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    *us = cs_time_from_civil(y, mo, d, h, mi, se) * 1000000;
    if (i < t.n && (t.p[i] == '.' || t.p[i] == ',')) {   /* optional fraction */
        int64_t scale = 100000;
        for (i++; i < t.n && is_digit(t.p[i]); i++) {
            *us += (t.p[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (i == t.n) {
        return true;   /* no zone: UTC */
    }
    if (t.p[i] != ' ' || i + 6 > t.n || (t.p[i + 1] != '+' && t.p[i + 1] != '-')) {
        return false;
    }
    sign = t.p[i + 1] == '-' ? -1 : 1;
    i += 2;
    if (!read_num(t.p, t.n, &i, 2, &oh) || !read_num(t.p, t.n, &i, 2, &om) || i != t.n) {
        return false;
    }
    *us -= (int64_t)sign * (oh * 3600 + om * 60) * 1000000;
    return true;
}

static bool scan_access(const char *s, size_t n, access_rec *r)
{
    span tok[8];
    size_t nt = 0, i = skip_spaces(s, n, 0);
    size_t c = 0;

    memset(r, 0, sizeof *r);
    /* [vhost] client ident user, then "[time]" */
    while (i < n && s[i] != '[') {
        size_t j = i;
        if (nt == sizeof tok / sizeof tok[0]) {
            return false;
        }
        while (j < n && s[j] != ' ') {
            j++;
        }
        tok[nt++] = (span){s + i, j - i};
        i = skip_spaces(s, n, j);
    }
    if (i >= n || nt < 3) {
        return false;
    }
    if (nt >= 4) {
        cs_ip ip;
        int64_t port;
        /* "vhost client - user" (the ident is nearly always "-") or
         * "vhost 1.2.3.4 ...", else "client ident user with spaces" */
        if ((span_is(tok[2], "-") && !span_is(tok[1], "-")) ||
            (!parse_addr(tok[0], false, &ip, &port) && parse_addr(tok[1], false, &ip, &port))) {
            r->vhost = tok[0];
            c = 1;
        }
    }
    r->client = tok[c];
    r->user = (span){tok[c + 2].p, (size_t)(tok[nt - 1].p + tok[nt - 1].n - tok[c + 2].p)};
    {
        const char *rb = memchr(s + i, ']', n - i);
        if (rb == NULL) {
            return false;
        }
        r->time = (span){s + i + 1, (size_t)(rb - s - i - 1)};
        i = (size_t)(rb - s) + 1;
    }
    /* from here every field is optional: a cut line keeps what it has */
    i = skip_spaces(s, n, i);
    if (i >= n) {
        return true;
    }
    if (s[i] == '"') {
        i = quoted_request(s, n, i + 1, &r->request);
    } else {
        return true;   /* not a request: keep client and time only */
    }
    i = skip_spaces(s, n, i);
    for (size_t k = 0; k < 2 && i < n && s[i] != '"'; k++) {
        size_t j = i;
        while (j < n && s[j] != ' ') {
            j++;
        }
        if (k == 0) {
            r->status = (span){s + i, j - i};
        } else {
            r->bytes = (span){s + i, j - i};
        }
        i = skip_spaces(s, n, j);
    }
    if (i < n && s[i] == '"') {
        i = skip_spaces(s, n, quoted(s, n, i + 1, &r->referer));
    }
    if (i < n && s[i] == '"') {
        quoted(s, n, i + 1, &r->agent);
    }
    return true;
}

cs_rc cs_parse_access(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out)
{
    bld b;
    access_rec r;
    cs_rc rc = start(&b, line, len, ctx, out);
    if (rc != CS_OK) {
        return rc;
    }
    b.msg_lo = line;   /* the message is the whole line (added last, below) */
    b.msg_hi = line + len;
    if (!scan_access(line, len, &r)) {
        add_unparsed(&b, line, len);
        return finish(&b, line, len, ctx, CS_LOGFMT_ACCESS, "webserver", NULL, out);
    }
    {
        int64_t us, v, port;
        cs_ip ip;
        request q;
        if (clf_time(r.time, &us)) {
            b.ev->ts_us = us;
        }
        if (parse_addr(r.client, false, &ip, &port)) {
            add_ip(&b, CS_F_SOURCE_IP, &ip);
            add_ip(&b, fid[N_C_IP], &ip);
        } else {
            add_span(&b, CS_F_SOURCE_DOMAIN, r.client);   /* HostnameLookups On */
            add_span(&b, fid[N_C_IP], r.client);
        }
        if (r.user.n > 0 && !span_is(r.user, "-")) {
            add_span(&b, CS_F_USER_NAME, r.user);
            add_span(&b, fid[N_CS_USERNAME], r.user);
        }
        if (r.request.p != NULL && split_request(r.request, &q)) {
            if (q.domain.n == 0 && r.vhost.n > 0) {
                const char *colon = memchr(r.vhost.p, ':', r.vhost.n);
                q.domain = (span){r.vhost.p, colon != NULL ? (size_t)(colon - r.vhost.p) : r.vhost.n};
            }
            emit_request(&b, &q, true);
            if (q.domain.n > 0) {
                add_span(&b, fid[N_CS_HOST], q.domain);
            }
        } else if (r.vhost.n > 0) {
            add_span(&b, fid[N_CS_HOST], r.vhost);
        }
        if (span_uint(r.status, &v) && r.status.n == 3) {
            add_int(&b, CS_F_HTTP_RESPONSE_STATUS_CODE, v);
            add_int(&b, fid[N_SC_STATUS], v);
            add_cstr(&b, CS_F_EVENT_OUTCOME, v < 400 ? "success" : "failure");
        }
        if (span_uint(r.bytes, &v) || span_is(r.bytes, "-")) {
            if (span_is(r.bytes, "-")) {
                v = 0;   /* Apache %b writes "-" for an empty body */
            }
            add_int(&b, CS_F_HTTP_RESPONSE_BYTES, v);
            add_int(&b, fid[N_SC_BYTES], v);
        }
        if (r.referer.n > 0 && !span_is(r.referer, "-")) {
            add_span(&b, CS_F_HTTP_REQUEST_REFERRER, r.referer);
            add_span(&b, fid[N_CS_REFERER], r.referer);
        }
        if (r.agent.n > 0 && !span_is(r.agent, "-")) {
            add_span(&b, CS_F_USER_AGENT_ORIGINAL, r.agent);
            add_span(&b, fid[N_CS_USER_AGENT], r.agent);
        }
        add_cstr(&b, CS_F_EVENT_CATEGORY, "web");
        add_cstr(&b, CS_F_EVENT_TYPE, "access");
        add_str(&b, CS_F_MESSAGE, line, len);   /* keyword rules search the whole request line */
    }
    return finish(&b, line, len, ctx, CS_LOGFMT_ACCESS, "webserver", NULL, out);
}

/* ------------------------------------------------- nginx error log -- */

typedef struct ngx_rec {
    int64_t ts;
    span level, pid, tid, conn, message;
    span client, request, host, referrer;
} ngx_rec;

/* ", client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", host: "h"" */
static void ngx_tail(span m, ngx_rec *r)
{
    static const char key0[] = ", client: ";
    const char *s = m.p;
    size_t n = m.n, i;
    const char *k = m.n >= sizeof key0 - 1 ? memmem(s, n, key0, sizeof key0 - 1) : NULL;
    if (k == NULL) {
        return;
    }
    i = (size_t)(k - s) + 2;
    while (i < n) {
        size_t ks = i, ke;
        span v;
        while (i < n && s[i] != ':' && s[i] != ',' && i - ks < 32) {
            i++;
        }
        if (i + 1 >= n || s[i] != ':' || s[i + 1] != ' ') {
            return;
        }
        ke = i;
        i += 2;
        if (i < n && s[i] == '"') {
            size_t j = i + 1;
            /* the closing quote is followed by ", " or the end */
            while (j < n && !(s[j] == '"' && (j + 1 == n || (j + 2 < n && s[j + 1] == ',' && s[j + 2] == ' ')))) {
                j += s[j] == '\\' ? 2 : 1;
            }
            v = (span){s + i + 1, (j < n ? j : n) - i - 1};
            i = j < n ? j + 1 : n;
        } else {
            const char *c = memmem(s + i, n - i, ", ", 2);
            size_t e = c != NULL ? (size_t)(c - s) : n;
            v = (span){s + i, e - i};
            i = e;
        }
        {
            span key = {s + ks, ke - ks};
            if (span_is(key, "client")) {
                r->client = v;
            } else if (span_is(key, "request")) {
                r->request = v;
            } else if (span_is(key, "host")) {
                r->host = v;
            } else if (span_is(key, "referrer")) {
                r->referrer = v;
            }
        }
        if (i + 2 > n || s[i] != ',' || s[i + 1] != ' ') {
            return;
        }
        i += 2;
    }
}

/* "2026/03/12 08:00:00 [error] 1234#1234: *5 message" */
static bool scan_nginx_error(const char *s, size_t n, const cs_log_ctx *ctx, ngx_rec *r)
{
    size_t i = 0;
    int y, mo, d, h, mi, se;
    memset(r, 0, sizeof *r);
    if (!read_num(s, n, &i, 4, &y) || i != 4 || i >= n || s[i++] != '/' || !read_num(s, n, &i, 2, &mo) ||
        i >= n || s[i++] != '/' || !read_num(s, n, &i, 2, &d) || i >= n || s[i++] != ' ' ||
        !read_num(s, n, &i, 2, &h) || i >= n || s[i++] != ':' || !read_num(s, n, &i, 2, &mi) || i >= n ||
        s[i++] != ':' || !read_num(s, n, &i, 2, &se)) {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    r->ts = (cs_time_from_civil(y, mo, d, h, mi, se) - local_offset(ctx)) * 1000000;
    if (i + 1 >= n || s[i] != ' ' || s[i + 1] != '[') {
        return false;
    }
    {
        const char *rb = memchr(s + i + 2, ']', n - i - 2);
        if (rb == NULL || rb - (s + i + 2) > 16) {
            return false;
        }
        r->level = (span){s + i + 2, (size_t)(rb - s - i - 2)};
        i = skip_spaces(s, n, (size_t)(rb - s) + 1);
    }
    {
        /* "pid#tid: " and "*connection " are optional */
        size_t j = i;
        int64_t v;
        while (j < n && is_digit(s[j])) {
            j++;
        }
        if (j > i && j < n && s[j] == '#') {
            size_t t = ++j;
            while (j < n && is_digit(s[j])) {
                j++;
            }
            if (j > t && j + 1 < n && s[j] == ':' && s[j + 1] == ' ') {
                r->pid = (span){s + i, t - 1 - i};
                r->tid = (span){s + t, j - t};
                i = j + 2;
            }
        }
        if (i < n && s[i] == '*') {
            j = i + 1;
            while (j < n && is_digit(s[j])) {
                j++;
            }
            if (j > i + 1 && (j == n || s[j] == ' ') && span_uint((span){s + i + 1, j - i - 1}, &v)) {
                r->conn = (span){s + i + 1, j - i - 1};
                i = skip_spaces(s, n, j);
            }
        }
    }
    r->message = (span){s + i, n - i};
    ngx_tail(r->message, r);
    return true;
}

cs_rc cs_parse_nginx_error(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out)
{
    bld b;
    ngx_rec r;
    cs_rc rc = start(&b, line, len, ctx, out);
    if (rc != CS_OK) {
        return rc;
    }
    if (!scan_nginx_error(line, len, ctx, &r)) {
        add_unparsed(&b, line, len);
        return finish(&b, line, len, ctx, CS_LOGFMT_NGINX_ERROR, NULL, "nginx", out);
    }
    {
        int64_t v, port;
        cs_ip ip;
        request q;
        b.ev->ts_us = r.ts;
        add_span(&b, CS_F_LOG_LEVEL, r.level);
        if (span_uint(r.pid, &v)) {
            add_int(&b, CS_F_PROCESS_PID, v);
        }
        if (span_uint(r.tid, &v)) {
            add_int(&b, fid[N_THREAD_ID], v);
        }
        if (span_uint(r.conn, &v)) {
            add_int(&b, fid[N_NGINX_CONN], v);
        }
        add_span(&b, CS_F_MESSAGE, r.message);
        if (parse_addr(r.client, false, &ip, &port)) {
            add_ip(&b, CS_F_SOURCE_IP, &ip);
        }
        if (r.request.p != NULL && split_request(r.request, &q)) {
            if (q.domain.n == 0 && r.host.n > 0) {
                q.domain = r.host;
            }
            emit_request(&b, &q, false);
        } else if (r.host.n > 0) {
            add_span(&b, CS_F_URL_DOMAIN, r.host);
        }
        if (r.referrer.n > 0) {
            add_span(&b, CS_F_HTTP_REQUEST_REFERRER, r.referrer);
        }
        add_cstr(&b, CS_F_EVENT_CATEGORY, "web");
        add_cstr(&b, CS_F_EVENT_TYPE, "error");
    }
    return finish(&b, line, len, ctx, CS_LOGFMT_NGINX_ERROR, NULL, "nginx", out);
}

/* ------------------------------------------------ Apache error log -- */

typedef struct apache_rec {
    bool has_time;
    bool v24;   /* 2.4 layout: fractional stamp or "[module:level]"; clients carry a port */
    int64_t ts;
    span module, level, pid, tid, client, message;
} apache_rec;

/* "Sun Dec 04 04:47:44 2005" or "Thu Mar 12 08:00:00.123456 2026" */
static bool apache_time(span t, const cs_log_ctx *ctx, int64_t *us, bool *frac)
{
    size_t i = 4;
    int mo, d, h, mi, se, y;
    int64_t f = 0, scale = 100000;
    if (t.n < 20 || t.p[3] != ' ') {
        return false;
    }
    mo = month_of(t.p + i, t.n - i);
    i += 3;
    if (mo == 0 || t.p[i] != ' ') {
        return false;
    }
    i = skip_spaces(t.p, t.n, i);
    if (!read_num(t.p, t.n, &i, 2, &d) || i >= t.n || t.p[i++] != ' ' || !read_num(t.p, t.n, &i, 2, &h) ||
        i >= t.n || t.p[i++] != ':' || !read_num(t.p, t.n, &i, 2, &mi) || i >= t.n || t.p[i++] != ':' ||
        !read_num(t.p, t.n, &i, 2, &se)) {
        return false;
    }
    *frac = i < t.n && t.p[i] == '.';
    if (*frac) {
        for (i++; i < t.n && is_digit(t.p[i]); i++) {
            f += (t.p[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (i >= t.n || t.p[i++] != ' ' || !read_num(t.p, t.n, &i, 4, &y) || i != t.n) {
        return false;
    }
    if (d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    *us = (cs_time_from_civil(y, mo, d, h, mi, se) - local_offset(ctx)) * 1000000 + f;
    return true;
}

/* "[...]" at s[i]; returns the inside, or p == NULL. */
static span bracket(const char *s, size_t n, size_t i)
{
    span v = {NULL, 0};
    if (i < n && s[i] == '[') {
        const char *rb = memchr(s + i + 1, ']', n - i - 1);
        if (rb != NULL) {
            v = (span){s + i + 1, (size_t)(rb - s - i - 1)};
        }
    }
    return v;
}

static bool level_word(span v)
{
    if (v.n == 0 || v.n > 16) {
        return false;
    }
    for (size_t i = 0; i < v.n; i++) {
        if (!((v.p[i] >= 'a' && v.p[i] <= 'z') || is_digit(v.p[i]))) {
            return false;
        }
    }
    return true;
}

static bool scan_apache_error(const char *s, size_t n, const cs_log_ctx *ctx, apache_rec *r)
{
    size_t i = skip_spaces(s, n, 0);
    span g = bracket(s, n, i);
    memset(r, 0, sizeof *r);
    if (g.p == NULL) {
        return false;
    }
    if (apache_time(g, ctx, &r->ts, &r->v24)) {
        r->has_time = true;
        i = skip_spaces(s, n, (size_t)(g.p - s) + g.n + 1);
        g = bracket(s, n, i);
        if (g.p == NULL) {
            return false;
        }
    }
    {
        /* "[level]" or "[module:level]" (module may be empty: "[:error]") */
        const char *colon = memchr(g.p, ':', g.n);
        span lv = g;
        if (colon != NULL) {
            r->module = (span){g.p, (size_t)(colon - g.p)};
            lv = (span){colon + 1, g.n - r->module.n - 1};
            r->v24 = true;
        }
        if (!level_word(lv)) {
            return false;
        }
        r->level = lv;
        i = skip_spaces(s, n, (size_t)(g.p - s) + g.n + 1);
    }
    /* then any of "[pid N:tid M]", "[client a:p]", "[remote a:p]" */
    for (g = bracket(s, n, i); g.p != NULL; g = bracket(s, n, i)) {
        if (g.n > 4 && memcmp(g.p, "pid ", 4) == 0) {
            const char *colon = memchr(g.p, ':', g.n);
            r->pid = (span){g.p + 4, (colon != NULL ? (size_t)(colon - g.p) : g.n) - 4};
            if (colon != NULL && (size_t)(colon - g.p) + 5 <= g.n && memcmp(colon + 1, "tid ", 4) == 0) {
                r->tid = (span){colon + 5, g.n - (size_t)(colon - g.p) - 5};
            }
            r->v24 = true;
        } else if (g.n > 7 && memcmp(g.p, "client ", 7) == 0) {
            r->client = (span){g.p + 7, g.n - 7};
        } else if (!(g.n > 7 && memcmp(g.p, "remote ", 7) == 0)) {
            break;   /* a bracket that belongs to the message */
        }
        i = skip_spaces(s, n, (size_t)(g.p - s) + g.n + 1);
    }
    r->message = (span){s + i, n - i};
    if (r->client.p == NULL && r->message.n > 8) {
        /* "(13)Permission denied: [client ::1:49934] AH00132: ..." */
        const char *c = memmem(r->message.p, r->message.n, "[client ", 8);
        if (c != NULL) {
            span in = bracket(s, n, (size_t)(c - s));
            if (in.p != NULL) {
                r->client = (span){in.p + 7, in.n - 7};
            }
        }
    }
    return true;
}

cs_rc cs_parse_apache_error(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out)
{
    bld b;
    apache_rec r;
    cs_rc rc = start(&b, line, len, ctx, out);
    if (rc != CS_OK) {
        return rc;
    }
    if (!scan_apache_error(line, len, ctx, &r)) {
        add_unparsed(&b, line, len);
        return finish(&b, line, len, ctx, CS_LOGFMT_APACHE_ERROR, NULL, "apache", out);
    }
    {
        int64_t v, port;
        cs_ip ip;
        if (r.has_time) {
            b.ev->ts_us = r.ts;
        }
        add_span(&b, CS_F_LOG_LEVEL, r.level);
        if (r.module.n > 0) {
            add_span(&b, fid[N_APACHE_MODULE], r.module);
        }
        if (span_uint(r.pid, &v)) {
            add_int(&b, CS_F_PROCESS_PID, v);
        }
        if (span_uint(r.tid, &v)) {
            add_int(&b, fid[N_THREAD_ID], v);
        }
        if (parse_addr(r.client, r.v24, &ip, &port)) {
            add_ip(&b, CS_F_SOURCE_IP, &ip);
            if (port >= 0) {
                add_int(&b, CS_F_SOURCE_PORT, port);
            }
        } else if (r.client.n > 0) {
            add_span(&b, CS_F_SOURCE_DOMAIN, r.client);
        }
        add_span(&b, CS_F_MESSAGE, r.message);
        add_cstr(&b, CS_F_EVENT_CATEGORY, "web");
        add_cstr(&b, CS_F_EVENT_TYPE, "error");
    }
    return finish(&b, line, len, ctx, CS_LOGFMT_APACHE_ERROR, NULL, "apache", out);
}
