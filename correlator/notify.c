/* notify.c - see notify.h. Notifications for incidents: webhook, syslog, SMTP.
 *
 * Design. Whoever opens incidents (the incident policy, an analyst through
 * the API, the SLA watcher) must never wait for a chat server or a mail
 * relay, so cs_notify_send() only copies the notification into one
 * allocation and puts it in a fixed ring under a mutex; when the ring is full
 * the notification is dropped, counted and logged (at most one log line a
 * second, carrying the running count). One worker thread pops notifications
 * in order and delivers each to every configured channel. A channel that
 * fails for a transient reason (connection refused or timed out, HTTP 429 or
 * 5xx, SMTP 4xx) is tried again after backoff_ms, then 4x that, up to
 * max_attempts tries; the other channels are not held back by it (they are
 * done in the first round). A permanent failure (HTTP 4xx other than 429,
 * SMTP 5xx, a refused login, STARTTLS missing when required) is not retried.
 * Every failed try is logged with the channel, the incident and the reason.
 *
 * Notifications are rare (incidents, not events), so the simple choices
 * win: one thread, one curl easy handle per channel kept between
 * notifications (libcurl keeps the connection alive), one TCP connection for
 * syslog kept open and reopened when the peer went away, a UDP socket per
 * datagram. The channels run sequentially within a notification: a dead
 * webhook costs the others at most its timeout per round.
 *
 * Shutdown. cs_notify_close() stops intake and lets the worker drain until
 * a deadline; then it raises an abort flag that ends backoff waits at once,
 * makes libcurl abort through its progress callback, cuts socket waits
 * (polled in 100 ms slices) and makes the worker count what is left as
 * abandoned. While closing, every try is also given at most the time left.
 *
 * Formats. Webhook: one JSON object with ECS-like names (event.kind
 * "incident", event.action = the kind, citysoc.incident.*, citysoc.system.*)
 * plus "text" (the one-line summary), which chat servers with
 * Slack-compatible incoming webhooks show as is. Syslog: RFC 5424
 * `<PRI>1 TIMESTAMP HOST APP - MSGID - MSG`, MSGID = the kind, PRI from the
 * facility and the incident severity, MSG starting with a BOM when it is not
 * plain ASCII (RFC 5424 6.4). Email: RFC 5322 headers, the Subject and
 * non-ASCII display names as RFC 2047 UTF-8 "B" encoded words (never
 * splitting a character, at most 75 characters each, folded), the body
 * text/plain UTF-8, 7bit when it is short-lined ASCII, else base64. libcurl
 * does the SMTP dialogue and the dot-stuffing.
 */
#include "notify.h"

#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../runtime/json.h"
#include "../runtime/log.h"
#include "../runtime/timeutil.h"

#define COMP "notify"

enum { F_ID, F_TITLE, F_SEVERITY, F_STATE, F_SYSID, F_SYSNAME, F_ASSIGNEE, F_URL, F_TEXT, F__COUNT };

/* One queued notification: the strings live in data[], after the struct. */
typedef struct note {
    cs_notify_kind kind;
    int64_t sla_due_us;
    int64_t ts_us;
    uint64_t seq;
    const char *f[F__COUNT];
    char data[];
} note;

typedef enum outcome { OUT_OK = 0, OUT_RETRY, OUT_PERMANENT } outcome;

struct cs_notifier {
    /* options, owned copies */
    char *wh_url;
    char *wh_ca;
    bool wh_insecure;
    int wh_timeout_ms;
    struct curl_slist *wh_headers;
    char *sl_host;
    uint16_t sl_port;
    cs_syslog_transport sl_transport;
    int sl_facility;
    char sl_app[49];
    char sl_hostname[256];
    int sl_timeout_ms;
    char *sm_url;
    char *sm_from;          /* as configured, for the header */
    char *sm_from_addr;     /* "<addr>" for MAIL FROM */
    char **sm_to;           /* as configured, for the header */
    size_t sm_nto;
    struct curl_slist *sm_rcpt;   /* "<addr>" each */
    char *sm_user;
    char *sm_password;
    cs_smtp_starttls sm_starttls;
    char *sm_ca;
    bool sm_insecure;
    int sm_timeout_ms;
    int max_attempts;
    int backoff_ms;
    unsigned channels;      /* bit per cs_notify_channel */

    /* worker-only state */
    CURL *wh_curl;
    CURL *sm_curl;
    int sl_fd;              /* tcp connection, -1 when closed */
    char curl_err[CURL_ERROR_SIZE];

    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;    /* items, closing, abort, worker done: broadcast */
    note **ring;
    size_t cap, head, count;
    uint64_t seq;
    bool closing;
    bool closed;            /* cs_notify_close() has finished */
    bool worker_done;
    int64_t last_drop_log_us;
    cs_notify_stats st;
    pthread_t worker;
    bool worker_started;

    atomic_bool abort;
    _Atomic int64_t deadline_us;   /* monotonic; INT64_MAX while not closing */
};

static const char *const kind_names[] = {"incident_opened", "sla_breached", "test"};
static const char *const channel_names[] = {"webhook", "syslog", "smtp"};

const char *cs_notify_kind_str(cs_notify_kind kind)
{
    return (unsigned)kind < 3 ? kind_names[kind] : "unknown";
}

const char *cs_notify_channel_str(cs_notify_channel ch)
{
    return (unsigned)ch < CS_NOTIFY_CH__COUNT ? channel_names[ch] : "unknown";
}

int cs_notify_facility_parse(const char *name)
{
    static const struct {
        const char *name;
        int code;
    } tab[] = {{"kern", 0},     {"user", 1},     {"mail", 2},     {"daemon", 3},   {"auth", 4},
               {"syslog", 5},   {"lpr", 6},      {"news", 7},     {"uucp", 8},     {"cron", 9},
               {"authpriv", 10}, {"ftp", 11},    {"ntp", 12},     {"security", 13}, {"audit", 13},
               {"console", 14}, {"solaris-cron", 15}, {"local0", 16}, {"local1", 17}, {"local2", 18},
               {"local3", 19},  {"local4", 20},  {"local5", 21},  {"local6", 22},  {"local7", 23}};
    if (name == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (strcmp(name, tab[i].name) == 0) {
            return tab[i].code;
        }
    }
    return -1;
}

int cs_notify_syslog_severity(const char *severity)
{
    static const struct {
        const char *name;
        int sev;
    } tab[] = {{"critical", 2}, {"high", 3}, {"medium", 4}, {"low", 5}, {"informational", 6}, {"info", 6}};
    if (severity != NULL) {
        for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
            if (strcmp(severity, tab[i].name) == 0) {
                return tab[i].sev;
            }
        }
    }
    return 4;
}

/* ---- small helpers ---- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) {
        max--;
    }
    return max;
}

static bool is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] >= 0x80) {
            return false;
        }
    }
    return true;
}

static bool has_ctl(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return true;
        }
    }
    return false;
}

/* Append s with control characters (CR, LF, tabs, ...) turned into spaces. */
static void put_clean(cs_buf *b, const char *s)
{
    if (s == NULL) {
        cs_buf_putc(b, '-');
        return;
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        cs_buf_putc(b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
    }
}

/* snprintf for reasons: cutting a long reason is fine. */
static void say(char *dst, size_t dstsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *dst, size_t dstsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, dstsz, fmt, ap);
    va_end(ap);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void base64(cs_buf *b, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        cs_buf_putc(b, tab[v >> 18 & 63]);
        cs_buf_putc(b, tab[v >> 12 & 63]);
        cs_buf_putc(b, tab[v >> 6 & 63]);
        cs_buf_putc(b, tab[v & 63]);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        cs_buf_putc(b, tab[v >> 18 & 63]);
        cs_buf_putc(b, tab[v >> 12 & 63]);
        cs_buf_append(b, "==", 2);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        cs_buf_putc(b, tab[v >> 18 & 63]);
        cs_buf_putc(b, tab[v >> 12 & 63]);
        cs_buf_putc(b, tab[v >> 6 & 63]);
        cs_buf_putc(b, '=');
    }
}

/* The mailbox address of "addr" or "Name <addr>", as "<addr>" for the SMTP
 * envelope; NULL when it does not look like an address. */
static char *envelope_addr(const char *s)
{
    const char *lt = strrchr(s, '<');
    const char *a = s, *e;
    char *out;
    size_t len;
    if (lt != NULL) {
        a = lt + 1;
        e = strchr(a, '>');
        if (e == NULL || e[1] != '\0') {
            return NULL;
        }
    } else {
        while (*a == ' ') {
            a++;
        }
        e = a + strlen(a);
        while (e > a && e[-1] == ' ') {
            e--;
        }
    }
    len = (size_t)(e - a);
    if (len == 0 || len > 320 || memchr(a, '@', len) == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',') {
            return NULL;
        }
    }
    out = malloc(len + 3);
    if (out != NULL) {
        out[0] = '<';
        memcpy(out + 1, a, len);
        out[len + 1] = '>';
        out[len + 2] = '\0';
    }
    return out;
}

/* ---- formatting ---- */

static const char *fv(const note *nt, int i)
{
    return nt->f[i] != NULL ? nt->f[i] : "-";
}

/* One line for people: the first line of the email, syslog MSG, JSON text. */
static void put_summary(cs_buf *b, const note *nt)
{
    switch (nt->kind) {
    case CS_NOTIFY_INCIDENT_OPENED:
        cs_buf_append_cstr(b, "Incident ");
        put_clean(b, nt->f[F_ID]);
        cs_buf_append_cstr(b, " opened: ");
        break;
    case CS_NOTIFY_SLA_BREACHED:
        cs_buf_append_cstr(b, "Incident ");
        put_clean(b, nt->f[F_ID]);
        cs_buf_append_cstr(b, " breached its SLA: ");
        break;
    case CS_NOTIFY_TEST:
    default:
        cs_buf_append_cstr(b, "Test notification from citysoc: ");
        break;
    }
    put_clean(b, nt->f[F_TITLE]);
    cs_buf_append_cstr(b, " (severity ");
    put_clean(b, nt->f[F_SEVERITY]);
    cs_buf_append_cstr(b, ", system ");
    put_clean(b, nt->f[F_SYSNAME] != NULL ? nt->f[F_SYSNAME] : nt->f[F_SYSID]);
    cs_buf_putc(b, ')');
}

static void put_time(cs_buf *b, int64_t us)
{
    char t[40];
    if (us != 0 && cs_time_format(us, t, sizeof t) > 0) {
        cs_buf_append_cstr(b, t);
    } else {
        cs_buf_putc(b, '-');
    }
}

static void json_str(cs_buf *b, const char *s)
{
    if (s == NULL) {
        cs_buf_append_cstr(b, "null");
    } else {
        cs_buf_json_str(b, s, strlen(s));
    }
}

static void json_key(cs_buf *b, const char *key, const char *s)
{
    cs_buf_printf(b, "\"%s\":", key);
    json_str(b, s);
}

static void format_json(cs_buf *b, const note *nt)
{
    cs_buf sum;
    char t[40];
    cs_buf_init(&sum);
    put_summary(&sum, nt);
    cs_buf_append_cstr(b, "{\"@timestamp\":");
    json_str(b, cs_time_format(nt->ts_us, t, sizeof t) > 0 ? t : NULL);
    cs_buf_append_cstr(b, ",\"message\":");
    json_str(b, sum.data != NULL ? sum.data : "");
    cs_buf_append_cstr(b, ",\"text\":");
    json_str(b, sum.data != NULL ? sum.data : "");
    cs_buf_append_cstr(b, ",\"event\":{\"kind\":\"incident\",\"action\":");
    json_str(b, cs_notify_kind_str(nt->kind));
    cs_buf_append_cstr(b, "},\"citysoc\":{\"notification\":{");
    json_key(b, "kind", cs_notify_kind_str(nt->kind));
    cs_buf_append_cstr(b, "},\"incident\":{");
    json_key(b, "id", nt->f[F_ID]);
    cs_buf_putc(b, ',');
    json_key(b, "title", nt->f[F_TITLE]);
    cs_buf_putc(b, ',');
    json_key(b, "severity", nt->f[F_SEVERITY]);
    cs_buf_putc(b, ',');
    json_key(b, "state", nt->f[F_STATE]);
    cs_buf_putc(b, ',');
    json_key(b, "assignee", nt->f[F_ASSIGNEE]);
    cs_buf_putc(b, ',');
    json_key(b, "sla_due", nt->sla_due_us != 0 && cs_time_format(nt->sla_due_us, t, sizeof t) > 0 ? t : NULL);
    cs_buf_putc(b, ',');
    json_key(b, "url", nt->f[F_URL]);
    cs_buf_putc(b, ',');
    json_key(b, "text", nt->f[F_TEXT]);
    cs_buf_append_cstr(b, "},\"system\":{");
    json_key(b, "id", nt->f[F_SYSID]);
    cs_buf_putc(b, ',');
    json_key(b, "name", nt->f[F_SYSNAME]);
    cs_buf_append_cstr(b, "}}}");
    cs_buf_free(&sum);
}

/* RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG */
static void format_syslog(cs_buf *b, const cs_notifier *n, const note *nt)
{
    size_t msg_at;
    cs_buf_printf(b, "<%d>1 ", n->sl_facility * 8 + cs_notify_syslog_severity(nt->f[F_SEVERITY]));
    put_time(b, nt->ts_us);
    cs_buf_printf(b, " %s %s - %s - ", n->sl_hostname, n->sl_app, cs_notify_kind_str(nt->kind));
    msg_at = b->len;
    put_summary(b, nt);
    cs_buf_append_cstr(b, " state=");
    put_clean(b, nt->f[F_STATE]);
    cs_buf_append_cstr(b, " system_id=");
    put_clean(b, nt->f[F_SYSID]);
    cs_buf_append_cstr(b, " assignee=");
    put_clean(b, nt->f[F_ASSIGNEE]);
    cs_buf_append_cstr(b, " sla_due=");
    put_time(b, nt->sla_due_us);
    if (nt->f[F_URL] != NULL) {
        cs_buf_append_cstr(b, " url=");
        put_clean(b, nt->f[F_URL]);
    }
    if (nt->f[F_TEXT] != NULL) {
        cs_buf_append_cstr(b, " - ");
        put_clean(b, nt->f[F_TEXT]);
    }
    if (!b->failed && !is_ascii(b->data + msg_at, b->len - msg_at)) {
        /* MSG-UTF8 = BOM UTF-8-STRING: insert the BOM before the message */
        static const char bom[] = "\xEF\xBB\xBF";
        size_t tail = b->len - msg_at;
        if (cs_buf_grow(b, 3)) {
            memmove(b->data + msg_at + 3, b->data + msg_at, tail + 1);
            memcpy(b->data + msg_at, bom, 3);
            b->len += 3;
        }
    }
}

/* RFC 2047 encoded words for s, each at most 75 characters (45 bytes of
 * input, never splitting a UTF-8 sequence), separated by folding. */
static void put_encoded_words(cs_buf *b, const char *s, size_t len)
{
    size_t i = 0;
    bool first = true;
    while (i < len) {
        size_t take = utf8_cut(s + i, len - i, 45);
        if (take == 0) {
            take = len - i < 45 ? len - i : 45;   /* invalid UTF-8: cut anyway */
        }
        if (!first) {
            cs_buf_append_cstr(b, "\r\n ");
        }
        cs_buf_append_cstr(b, "=?UTF-8?B?");
        base64(b, (const unsigned char *)s + i, take);
        cs_buf_append_cstr(b, "?=");
        i += take;
        first = false;
    }
}

/* A header value: as is when short printable ASCII, else encoded words. */
static void put_header_text(cs_buf *b, const char *s, size_t len)
{
    if (is_ascii(s, len) && len <= 900) {
        cs_buf_append(b, s, len);
    } else {
        put_encoded_words(b, s, len);
    }
}

/* "addr" or "Name <addr>"; a non-ASCII display name is encoded. */
static void put_mailbox(cs_buf *b, const char *s)
{
    const char *lt = strrchr(s, '<');
    const char *name = s, *end;
    if (lt == NULL || is_ascii(s, strlen(s))) {
        cs_buf_append_cstr(b, s);
        return;
    }
    end = lt;
    while (*name == ' ' || *name == '"') {
        name++;
    }
    while (end > name && (end[-1] == ' ' || end[-1] == '"')) {
        end--;
    }
    put_encoded_words(b, name, (size_t)(end - name));
    cs_buf_putc(b, ' ');
    cs_buf_append_cstr(b, lt);
}

static void put_rfc5322_date(cs_buf *b, int64_t us)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    cs_buf_printf(b, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
                  months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void put_body_line(cs_buf *b, const char *label, const char *value)
{
    cs_buf_append_cstr(b, label);
    put_clean(b, value);
    cs_buf_append_cstr(b, "\r\n");
}

static void format_email(cs_buf *b, const cs_notifier *n, const note *nt)
{
    cs_buf subject, body;
    const char *domain = strchr(n->sm_from_addr, '@');
    bool plain = true;
    size_t line = 0;
    cs_buf_init(&subject);
    cs_buf_init(&body);

    cs_buf_append_cstr(&subject, "[citysoc] ");
    put_summary(&subject, nt);

    put_summary(&body, nt);
    cs_buf_append_cstr(&body, "\r\n\r\n");
    put_body_line(&body, "Incident:  ", nt->f[F_ID]);
    put_body_line(&body, "Title:     ", nt->f[F_TITLE]);
    put_body_line(&body, "Severity:  ", nt->f[F_SEVERITY]);
    put_body_line(&body, "State:     ", nt->f[F_STATE]);
    put_body_line(&body, "System:    ", nt->f[F_SYSID]);
    put_body_line(&body, "           ", nt->f[F_SYSNAME]);
    put_body_line(&body, "Assignee:  ", nt->f[F_ASSIGNEE] != NULL ? nt->f[F_ASSIGNEE] : "(unassigned)");
    cs_buf_append_cstr(&body, "SLA due:   ");
    put_time(&body, nt->sla_due_us);
    cs_buf_append_cstr(&body, "\r\n");
    if (nt->f[F_URL] != NULL) {
        put_body_line(&body, "Console:   ", nt->f[F_URL]);
    }
    if (nt->f[F_TEXT] != NULL) {
        cs_buf_append_cstr(&body, "\r\n");
        put_body_line(&body, "", nt->f[F_TEXT]);
    }
    cs_buf_append_cstr(&body, "\r\n-- \r\ncitysoc\r\n");

    for (size_t i = 0; i < body.len && !body.failed; i++) {
        unsigned char c = (unsigned char)body.data[i];
        line = c == '\n' ? 0 : line + 1;
        if (c >= 0x80 || line > 900) {
            plain = false;
            break;
        }
    }

    cs_buf_append_cstr(b, "Date: ");
    put_rfc5322_date(b, cs_now_us());
    cs_buf_append_cstr(b, "\r\nFrom: ");
    put_mailbox(b, n->sm_from);
    cs_buf_append_cstr(b, "\r\nTo: ");
    for (size_t i = 0; i < n->sm_nto; i++) {
        if (i > 0) {
            cs_buf_append_cstr(b, ",\r\n ");
        }
        put_mailbox(b, n->sm_to[i]);
    }
    cs_buf_append_cstr(b, "\r\nSubject: ");
    if (subject.data != NULL) {
        put_header_text(b, subject.data, subject.len);
    }
    cs_buf_printf(b, "\r\nMessage-ID: <citysoc.%lld.%llu.%ld@", (long long)nt->ts_us, (unsigned long long)nt->seq,
                  (long)getpid());
    if (domain != NULL) {
        cs_buf_append(b, domain + 1, strlen(domain + 1) - 1);   /* drop the closing '>' */
    } else {
        cs_buf_append_cstr(b, "citysoc.invalid");
    }
    cs_buf_append_cstr(b, ">\r\nMIME-Version: 1.0\r\n"
                          "Content-Type: text/plain; charset=UTF-8\r\n"
                          "Auto-Submitted: auto-generated\r\n");
    cs_buf_append_cstr(b, plain ? "Content-Transfer-Encoding: 7bit\r\n\r\n"
                                : "Content-Transfer-Encoding: base64\r\n\r\n");
    if (plain) {
        cs_buf_append(b, body.data, body.len);
    } else {
        for (size_t i = 0; i < body.len; i += 57) {
            base64(b, (const unsigned char *)body.data + i, body.len - i < 57 ? body.len - i : 57);
            cs_buf_append_cstr(b, "\r\n");
        }
    }
    if (subject.failed || body.failed) {
        b->failed = true;
    }
    cs_buf_free(&subject);
    cs_buf_free(&body);
}

/* ---- delivery ---- */

/* Time a try may take: the channel's timeout, or less while closing. */
static int try_timeout_ms(cs_notifier *n, int base_ms)
{
    int64_t deadline = atomic_load(&n->deadline_us);
    int64_t left;
    if (deadline == INT64_MAX) {
        return base_ms;
    }
    left = (deadline - mono_us()) / 1000;
    if (left < 1) {
        left = 1;
    }
    return left < base_ms ? (int)left : base_ms;
}

static int xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    cs_notifier *n = ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&n->abort) ? 1 : 0;
}

/* Keeps the start of the response body for the log (a 400 usually says why). */
typedef struct resp_snip {
    char text[161];
    size_t len;
} resp_snip;

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    resp_snip *r = ud;
    size_t n = size * nmemb;
    for (size_t i = 0; i < n && r->len < sizeof r->text - 1; i++) {
        unsigned char c = (unsigned char)p[i];
        r->text[r->len++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    r->text[r->len] = '\0';
    return n;
}

typedef struct read_src {
    const char *p;
    size_t left;
} read_src;

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
    read_src *src = ud;
    size_t n = size * nmemb;
    if (n > src->left) {
        n = src->left;
    }
    memcpy(buf, src->p, n);
    src->p += n;
    src->left -= n;
    return n;
}

static void curl_common(CURL *h, cs_notifier *n, int timeout_ms, const char *ca, bool insecure, char *errbuf)
{
    errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, n);
    if (ca != NULL) {
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    }
    if (insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

static void curl_reason(char *why, size_t whysz, CURLcode rc, const char *errbuf)
{
    say(why, whysz, "curl error %d: %s", (int)rc, errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
}

static bool curl_permanent(CURLcode rc)
{
    return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_LOGIN_DENIED ||
           rc == CURLE_USE_SSL_FAILED;
}

static outcome deliver_webhook(cs_notifier *n, const note *nt, char *why, size_t whysz)
{
    char *errbuf = n->curl_err;
    resp_snip snip = {.len = 0};
    cs_buf body;
    CURLcode rc;
    long status = 0;
    outcome out = OUT_RETRY;

    cs_buf_init(&body);
    format_json(&body, nt);
    if (body.failed || body.data == NULL) {
        say(why, whysz, "out of memory formatting the JSON body");
        goto done;
    }
    curl_easy_reset(n->wh_curl);
    curl_common(n->wh_curl, n, try_timeout_ms(n, n->wh_timeout_ms), n->wh_ca, n->wh_insecure, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(n->wh_curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(n->wh_curl, CURLOPT_URL, n->wh_url);
    curl_easy_setopt(n->wh_curl, CURLOPT_HTTPHEADER, n->wh_headers);
    curl_easy_setopt(n->wh_curl, CURLOPT_USERAGENT, "citysoc/" CS_VERSION);
    curl_easy_setopt(n->wh_curl, CURLOPT_POST, 1L);
    curl_easy_setopt(n->wh_curl, CURLOPT_POSTFIELDS, body.data);
    curl_easy_setopt(n->wh_curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    curl_easy_setopt(n->wh_curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(n->wh_curl, CURLOPT_WRITEDATA, &snip);
    rc = curl_easy_perform(n->wh_curl);
    if (rc != CURLE_OK) {
        curl_reason(why, whysz, rc, errbuf);
        out = curl_permanent(rc) ? OUT_PERMANENT : OUT_RETRY;
        goto done;
    }
    curl_easy_getinfo(n->wh_curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
        out = OUT_OK;
        goto done;
    }
    say(why, whysz, "HTTP %ld%s%s", status, snip.len > 0 ? ": " : "", snip.text);
    out = status == 429 || status >= 500 ? OUT_RETRY : OUT_PERMANENT;
done:
    curl_easy_reset(n->wh_curl);   /* forget pointers to this frame; keeps the connection */
    cs_buf_free(&body);
    return out;
}

static outcome deliver_smtp(cs_notifier *n, const note *nt, char *why, size_t whysz)
{
    static const long use_ssl[] = {CURLUSESSL_ALL, CURLUSESSL_TRY, CURLUSESSL_NONE};
    char *errbuf = n->curl_err;
    cs_buf msg;
    read_src src;
    CURLcode rc;
    long reply = 0;
    outcome out = OUT_RETRY;

    cs_buf_init(&msg);
    format_email(&msg, n, nt);
    if (msg.failed || msg.data == NULL) {
        say(why, whysz, "out of memory formatting the message");
        goto done;
    }
    src.p = msg.data;
    src.left = msg.len;
    curl_easy_reset(n->sm_curl);
    curl_common(n->sm_curl, n, try_timeout_ms(n, n->sm_timeout_ms), n->sm_ca, n->sm_insecure, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(n->sm_curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#endif
    curl_easy_setopt(n->sm_curl, CURLOPT_URL, n->sm_url);
    curl_easy_setopt(n->sm_curl, CURLOPT_MAIL_FROM, n->sm_from_addr);
    curl_easy_setopt(n->sm_curl, CURLOPT_MAIL_RCPT, n->sm_rcpt);
    curl_easy_setopt(n->sm_curl, CURLOPT_USE_SSL, use_ssl[n->sm_starttls]);
    if (n->sm_user != NULL) {
        curl_easy_setopt(n->sm_curl, CURLOPT_USERNAME, n->sm_user);
    }
    if (n->sm_password != NULL) {
        curl_easy_setopt(n->sm_curl, CURLOPT_PASSWORD, n->sm_password);
    }
    curl_easy_setopt(n->sm_curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(n->sm_curl, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(n->sm_curl, CURLOPT_READDATA, &src);
    rc = curl_easy_perform(n->sm_curl);
    if (rc == CURLE_OK) {
        out = OUT_OK;
        goto done;
    }
    curl_easy_getinfo(n->sm_curl, CURLINFO_RESPONSE_CODE, &reply);
    curl_reason(why, whysz, rc, errbuf);
    if (reply >= 400) {
        size_t used = strlen(why);
        snprintf(why + used, whysz - used, " (SMTP reply %ld)", reply);
    }
    if (reply >= 400 && reply < 500) {
        out = OUT_RETRY;
    } else if (reply >= 500 && reply < 600) {
        out = OUT_PERMANENT;
    } else {
        out = curl_permanent(rc) ? OUT_PERMANENT : OUT_RETRY;
    }
done:
    curl_easy_reset(n->sm_curl);   /* forget pointers to this frame */
    cs_buf_free(&msg);
    return out;
}

/* Wait for events on fd until the monotonic deadline, in slices so that an
 * abort is seen quickly. 1 ready, 0 timed out or aborted, -1 error. */
static int wait_fd(cs_notifier *n, int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int64_t left = (deadline - mono_us()) / 1000;
        int r;
        if (atomic_load(&n->abort) || left <= 0) {
            return 0;
        }
        r = poll(&p, 1, left < 100 ? (int)left : 100);
        if (r > 0) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
    }
}

static void sys_reason(char *why, size_t whysz, const char *what, int err)
{
    char eb[128];
    say(why, whysz, "%s: %s", what, strerror_r(err, eb, sizeof eb));
}

/* Connects the syslog TCP socket (non-blocking) unless it is still good. */
static bool syslog_tcp_connect(cs_notifier *n, int64_t deadline, char *why, size_t whysz)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[8];
    int gai, err = 0;
    bool ok = false;

    if (n->sl_fd >= 0) {
        /* a syslog receiver never talks: readable means closed or broken */
        struct pollfd p = {.fd = n->sl_fd, .events = POLLIN};
        if (poll(&p, 1, 0) == 0) {
            return true;
        }
        close(n->sl_fd);
        n->sl_fd = -1;
    }
    snprintf(port, sizeof port, "%u", (unsigned)n->sl_port);
    gai = getaddrinfo(n->sl_host, port, &hints, &res);
    if (gai != 0) {
        say(why, whysz, "cannot resolve %s: %s", n->sl_host, gai_strerror(gai));
        goto done;
    }
    for (struct addrinfo *a = res; a != NULL && !ok; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        socklen_t len = sizeof err;
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            err = 0;
        } else if (errno != EINPROGRESS) {
            err = errno;
        } else if (wait_fd(n, fd, POLLOUT, deadline) != 1) {
            err = ETIMEDOUT;
        } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
            err = errno;
        }
        if (err == 0) {
            n->sl_fd = fd;
            ok = true;
        } else {
            close(fd);
        }
    }
    if (!ok) {
        char what[300];
        snprintf(what, sizeof what, "tcp connect to %s port %u", n->sl_host, (unsigned)n->sl_port);
        sys_reason(why, whysz, what, err != 0 ? err : ECONNREFUSED);
    }
done:
    if (res != NULL) {
        freeaddrinfo(res);
    }
    return ok;
}

static bool send_all(cs_notifier *n, int fd, const char *p, size_t len, int64_t deadline, char *why, size_t whysz)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(n, fd, POLLOUT, deadline) == 1) {
                continue;
            }
            say(why, whysz, "tcp send timed out");
            return false;
        }
        sys_reason(why, whysz, "send", w < 0 ? errno : EPIPE);
        return false;
    }
    return true;
}

static bool syslog_udp_send(cs_notifier *n, const char *msg, size_t len, char *why, size_t whysz)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res = NULL;
    char port[8];
    int gai, fd = -1;
    bool ok = false;

    snprintf(port, sizeof port, "%u", (unsigned)n->sl_port);
    gai = getaddrinfo(n->sl_host, port, &hints, &res);
    if (gai != 0) {
        say(why, whysz, "cannot resolve %s: %s", n->sl_host, gai_strerror(gai));
        goto done;
    }
    fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0) {
        sys_reason(why, whysz, "udp socket", errno);
        goto done;
    }
    if (sendto(fd, msg, len, MSG_NOSIGNAL, res->ai_addr, res->ai_addrlen) != (ssize_t)len) {
        sys_reason(why, whysz, "udp sendto", errno);
        goto done;
    }
    ok = true;
done:
    if (fd >= 0) {
        close(fd);
    }
    if (res != NULL) {
        freeaddrinfo(res);
    }
    return ok;
}

static outcome deliver_syslog(cs_notifier *n, const note *nt, char *why, size_t whysz)
{
    cs_buf line;
    outcome out = OUT_RETRY;
    int64_t deadline = mono_us() + (int64_t)try_timeout_ms(n, n->sl_timeout_ms) * 1000;

    cs_buf_init(&line);
    format_syslog(&line, n, nt);
    if (line.failed || line.data == NULL) {
        say(why, whysz, "out of memory formatting the line");
        goto done;
    }
    if (n->sl_transport == CS_SYSLOG_UDP) {
        size_t len = utf8_cut(line.data, line.len, CS_NOTIFY_MAX_UDP);
        if (syslog_udp_send(n, line.data, len, why, whysz)) {
            out = OUT_OK;
        }
    } else {
        /* RFC 6587 octet counting: MSG-LEN SP SYSLOG-MSG */
        char head[24];
        int hl = snprintf(head, sizeof head, "%zu ", line.len);
        if (syslog_tcp_connect(n, deadline, why, whysz) &&
            send_all(n, n->sl_fd, head, (size_t)hl, deadline, why, whysz) &&
            send_all(n, n->sl_fd, line.data, line.len, deadline, why, whysz)) {
            out = OUT_OK;
        } else if (n->sl_fd >= 0) {
            close(n->sl_fd);   /* a frame may be half sent: start clean */
            n->sl_fd = -1;
        }
    }
done:
    cs_buf_free(&line);
    return out;
}

static outcome deliver_one(cs_notifier *n, cs_notify_channel ch, const note *nt, char *why, size_t whysz)
{
    why[0] = '\0';
    switch (ch) {
    case CS_NOTIFY_CH_WEBHOOK:
        return deliver_webhook(n, nt, why, whysz);
    case CS_NOTIFY_CH_SYSLOG:
        return deliver_syslog(n, nt, why, whysz);
    case CS_NOTIFY_CH_SMTP:
        return deliver_smtp(n, nt, why, whysz);
    case CS_NOTIFY_CH__COUNT:
    default:
        break;
    }
    say(why, whysz, "unknown channel");
    return OUT_PERMANENT;
}

/* Sleeps ms unless the notifier aborts; false when it aborted. */
static bool backoff_wait(cs_notifier *n, int64_t ms)
{
    int64_t until = mono_us() + ms * 1000;
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000), .tv_nsec = (long)(until % 1000000) * 1000};
    bool aborted;
    pthread_mutex_lock(&n->mu);
    while (!atomic_load(&n->abort) && mono_us() < until) {
        if (pthread_cond_timedwait(&n->cond, &n->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    aborted = atomic_load(&n->abort);
    pthread_mutex_unlock(&n->mu);
    return !aborted;
}

static void record(cs_notifier *n, cs_notify_channel ch, outcome out, bool final, const char *why)
{
    cs_notify_channel_stats *cs = &n->st.ch[ch];
    pthread_mutex_lock(&n->mu);
    cs->attempts++;
    if (out == OUT_OK) {
        cs->sent++;
    } else {
        say(cs->last_error, sizeof cs->last_error, "%s", why);
        if (final) {
            cs->failed++;
        }
    }
    pthread_mutex_unlock(&n->mu);
}

static void deliver(cs_notifier *n, const note *nt)
{
    char why[CS_NOTIFY_CH__COUNT][CS_NOTIFY_MAX_ERROR];
    unsigned pending = n->channels;
    int64_t wait_ms = n->backoff_ms;
    int attempt;
    const char *id = fv(nt, F_ID), *kind = cs_notify_kind_str(nt->kind);

    memset(why, 0, sizeof why);
    for (attempt = 1; pending != 0 && attempt <= n->max_attempts; attempt++) {
        for (int ch = 0; ch < CS_NOTIFY_CH__COUNT; ch++) {
            outcome out;
            if (!(pending & 1u << ch) || atomic_load(&n->abort)) {
                continue;
            }
            out = deliver_one(n, (cs_notify_channel)ch, nt, why[ch], sizeof why[ch]);
            if (out == OUT_OK) {
                pending &= ~(1u << ch);
                record(n, (cs_notify_channel)ch, out, true, "");
                CS_DEBUG(COMP, "%s: incident %s (%s) delivered", channel_names[ch], id, kind);
            } else if (out == OUT_PERMANENT) {
                pending &= ~(1u << ch);
                record(n, (cs_notify_channel)ch, out, true, why[ch]);
                CS_ERROR(COMP, "%s: incident %s (%s) not delivered: %s (permanent, not retried)", channel_names[ch],
                         id, kind, why[ch]);
            } else if (attempt < n->max_attempts && !atomic_load(&n->abort)) {
                record(n, (cs_notify_channel)ch, out, false, why[ch]);
                CS_WARN(COMP, "%s: incident %s (%s): attempt %d/%d failed: %s; retrying in %lld ms",
                        channel_names[ch], id, kind, attempt, n->max_attempts, why[ch], (long long)wait_ms);
            } else {
                record(n, (cs_notify_channel)ch, out, false, why[ch]);
            }
        }
        if (pending == 0 || attempt == n->max_attempts || !backoff_wait(n, wait_ms)) {
            break;
        }
        wait_ms *= 4;
    }
    for (int ch = 0; ch < CS_NOTIFY_CH__COUNT; ch++) {
        if (!(pending & 1u << ch)) {
            continue;
        }
        pthread_mutex_lock(&n->mu);
        n->st.ch[ch].failed++;
        pthread_mutex_unlock(&n->mu);
        if (atomic_load(&n->abort)) {
            CS_ERROR(COMP, "%s: incident %s (%s) abandoned at shutdown%s%s", channel_names[ch], id, kind,
                     why[ch][0] != '\0' ? ": " : "", why[ch]);
        } else {
            CS_ERROR(COMP, "%s: incident %s (%s) not delivered after %d attempts: %s", channel_names[ch], id, kind,
                     n->max_attempts, why[ch]);
        }
    }
}

static void *worker_main(void *arg)
{
    cs_notifier *n = arg;
    note *nt;
    for (;;) {
        pthread_mutex_lock(&n->mu);
        while (n->count == 0 && !n->closing) {
            pthread_cond_wait(&n->cond, &n->mu);
        }
        if (n->count == 0 || atomic_load(&n->abort)) {
            break;   /* leaves the mutex held */
        }
        nt = n->ring[n->head];
        n->head = (n->head + 1) % n->cap;
        n->count--;
        pthread_mutex_unlock(&n->mu);
        deliver(n, nt);
        free(nt);
    }
    while (n->count > 0) {
        free(n->ring[n->head]);
        n->head = (n->head + 1) % n->cap;
        n->count--;
        n->st.abandoned++;
    }
    n->worker_done = true;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
    if (n->sl_fd >= 0) {
        close(n->sl_fd);
        n->sl_fd = -1;
    }
    return NULL;
}

/* ---- life cycle ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static cs_rc bad(const char *key, const char *why)
{
    return cs_err_set(CS_ERR_CONFIG, "notify.%s: %s", key, why);
}

static cs_rc check_opts(const cs_notify_opts *o)
{
    if (o->max_attempts < 0 || o->max_attempts > 10) {
        return bad("attempts", "must be between 1 and 10");
    }
    if (o->backoff_ms < 0 || o->backoff_ms > 600000) {
        return bad("backoff", "must be between 0 and 10 minutes");
    }
    if (o->queue_size > 1000000) {
        return bad("queue", "must be at most 1000000");
    }
    if (o->webhook.url != NULL) {
        if (!starts_with(o->webhook.url, "http://") && !starts_with(o->webhook.url, "https://")) {
            return bad("webhook.url", "must start with http:// or https://");
        }
        if (has_ctl(o->webhook.url)) {
            return bad("webhook.url", "contains control characters");
        }
        for (size_t i = 0; i < o->webhook.nheaders; i++) {
            const char *h = o->webhook.headers[i];
            if (h == NULL || strchr(h, ':') == NULL || h[0] == ':' || has_ctl(h)) {
                return bad("webhook.headers", "each must be \"Name: value\" on one line");
            }
        }
        if (o->webhook.timeout_ms < 0) {
            return bad("webhook.timeout", "must not be negative");
        }
    }
    if (o->syslog.host != NULL) {
        if (o->syslog.host[0] == '\0' || has_ctl(o->syslog.host)) {
            return bad("syslog.host", "must be a host name or address");
        }
        if (o->syslog.transport != CS_SYSLOG_UDP && o->syslog.transport != CS_SYSLOG_TCP) {
            return bad("syslog.transport", "must be udp or tcp");
        }
        if (o->syslog.facility < 0 || o->syslog.facility > 23) {
            return bad("syslog.facility", "must be a facility from 1 to 23 (kern is the kernel's)");
        }
        if (o->syslog.app_name != NULL && (o->syslog.app_name[0] == '\0' || strlen(o->syslog.app_name) > 48)) {
            return bad("syslog.app_name", "must be 1 to 48 characters");
        }
        if (o->syslog.timeout_ms < 0) {
            return bad("syslog.timeout", "must not be negative");
        }
    }
    if (o->smtp.url != NULL) {
        if (!starts_with(o->smtp.url, "smtp://") && !starts_with(o->smtp.url, "smtps://")) {
            return bad("smtp.url", "must start with smtp:// or smtps://");
        }
        if (has_ctl(o->smtp.url)) {
            return bad("smtp.url", "contains control characters");
        }
        if (o->smtp.from == NULL || has_ctl(o->smtp.from)) {
            return bad("smtp.from", "is required: an address, or \"Name <address>\"");
        }
        if (o->smtp.nto == 0 || o->smtp.to == NULL) {
            return bad("smtp.to", "needs at least one recipient");
        }
        for (size_t i = 0; i < o->smtp.nto; i++) {
            if (o->smtp.to[i] == NULL || has_ctl(o->smtp.to[i])) {
                return bad("smtp.to", "each must be an address, or \"Name <address>\"");
            }
        }
        if ((unsigned)o->smtp.starttls > CS_SMTP_STARTTLS_OFF) {
            return bad("smtp.starttls", "must be required, optional or off");
        }
        if (o->smtp.timeout_ms < 0) {
            return bad("smtp.timeout", "must not be negative");
        }
    }
    return CS_OK;
}

static void sanitize_token(char *dst, size_t dstsz, const char *src)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < dstsz; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c > 32 && c < 127 ? (char)c : '_';
    }
    dst[i] = '\0';
    if (i == 0 && dstsz > 1) {
        dst[0] = '-';
        dst[1] = '\0';
    }
}

static cs_rc setup_channels(cs_notifier *n, const cs_notify_opts *o)
{
    if (o->webhook.url != NULL) {
        struct curl_slist *l;
        n->wh_url = strdup(o->webhook.url);
        n->wh_ca = dup_or_null(o->webhook.ca_file);
        n->wh_insecure = o->webhook.insecure;
        n->wh_timeout_ms = o->webhook.timeout_ms > 0 ? o->webhook.timeout_ms : 5000;
        n->wh_curl = curl_easy_init();
        l = curl_slist_append(NULL, "Content-Type: application/json");
        n->wh_headers = l;
        l = l != NULL ? curl_slist_append(n->wh_headers, "Expect:") : NULL;
        for (size_t i = 0; l != NULL && i < o->webhook.nheaders; i++) {
            l = curl_slist_append(n->wh_headers, o->webhook.headers[i]);
        }
        if (n->wh_url == NULL || (o->webhook.ca_file != NULL && n->wh_ca == NULL) || n->wh_curl == NULL ||
            l == NULL) {
            return cs_err_set(CS_ERR_NOMEM, "notify: out of memory setting up the webhook");
        }
        n->channels |= 1u << CS_NOTIFY_CH_WEBHOOK;
        n->st.ch[CS_NOTIFY_CH_WEBHOOK].enabled = true;
    }
    if (o->syslog.host != NULL) {
        char host[256];
        n->sl_host = strdup(o->syslog.host);
        n->sl_port = o->syslog.port != 0 ? o->syslog.port : 514;
        n->sl_transport = o->syslog.transport;
        n->sl_facility = o->syslog.facility != 0 ? o->syslog.facility : 16;
        n->sl_timeout_ms = o->syslog.timeout_ms > 0 ? o->syslog.timeout_ms : 5000;
        sanitize_token(n->sl_app, sizeof n->sl_app, o->syslog.app_name != NULL ? o->syslog.app_name : "citysoc");
        if (o->syslog.hostname != NULL) {
            snprintf(host, sizeof host, "%s", o->syslog.hostname);
        } else if (gethostname(host, sizeof host) != 0) {
            host[0] = '\0';
        }
        host[sizeof host - 1] = '\0';
        sanitize_token(n->sl_hostname, sizeof n->sl_hostname, host);
        if (n->sl_host == NULL) {
            return cs_err_set(CS_ERR_NOMEM, "notify: out of memory setting up syslog");
        }
        n->channels |= 1u << CS_NOTIFY_CH_SYSLOG;
        n->st.ch[CS_NOTIFY_CH_SYSLOG].enabled = true;
    }
    if (o->smtp.url != NULL) {
        n->sm_url = strdup(o->smtp.url);
        n->sm_from = strdup(o->smtp.from);
        n->sm_from_addr = envelope_addr(o->smtp.from);
        n->sm_user = dup_or_null(o->smtp.user);
        n->sm_password = dup_or_null(o->smtp.password);
        n->sm_ca = dup_or_null(o->smtp.ca_file);
        n->sm_insecure = o->smtp.insecure;
        n->sm_starttls = o->smtp.starttls;
        n->sm_timeout_ms = o->smtp.timeout_ms > 0 ? o->smtp.timeout_ms : 15000;
        n->sm_curl = curl_easy_init();
        n->sm_to = calloc(o->smtp.nto, sizeof *n->sm_to);
        if (n->sm_url == NULL || n->sm_from == NULL || n->sm_curl == NULL || n->sm_to == NULL ||
            (o->smtp.user != NULL && n->sm_user == NULL) || (o->smtp.password != NULL && n->sm_password == NULL) ||
            (o->smtp.ca_file != NULL && n->sm_ca == NULL)) {
            return cs_err_set(CS_ERR_NOMEM, "notify: out of memory setting up smtp");
        }
        if (n->sm_from_addr == NULL) {
            return bad("smtp.from", "is not an address, or \"Name <address>\"");
        }
        for (size_t i = 0; i < o->smtp.nto; i++) {
            char *addr = envelope_addr(o->smtp.to[i]);
            struct curl_slist *l;
            if (addr == NULL) {
                return cs_err_set(CS_ERR_CONFIG, "notify.smtp.to: \"%s\" is not an address, or \"Name <address>\"",
                                  o->smtp.to[i]);
            }
            l = curl_slist_append(n->sm_rcpt, addr);
            free(addr);
            n->sm_to[i] = strdup(o->smtp.to[i]);
            if (l == NULL || n->sm_to[i] == NULL) {
                return cs_err_set(CS_ERR_NOMEM, "notify: out of memory setting up smtp");
            }
            n->sm_rcpt = l;
            n->sm_nto = i + 1;
        }
        n->channels |= 1u << CS_NOTIFY_CH_SMTP;
        n->st.ch[CS_NOTIFY_CH_SMTP].enabled = true;
    }
    return CS_OK;
}

static void release(cs_notifier *n)
{
    if (n->wh_curl != NULL) {
        curl_easy_cleanup(n->wh_curl);
    }
    if (n->sm_curl != NULL) {
        curl_easy_cleanup(n->sm_curl);
    }
    curl_slist_free_all(n->wh_headers);
    curl_slist_free_all(n->sm_rcpt);
    for (size_t i = 0; n->sm_to != NULL && i < n->sm_nto; i++) {
        free(n->sm_to[i]);
    }
    free(n->sm_to);
    free(n->wh_url);
    free(n->wh_ca);
    free(n->sl_host);
    free(n->sm_url);
    free(n->sm_from);
    free(n->sm_from_addr);
    free(n->sm_user);
    if (n->sm_password != NULL) {
        explicit_bzero(n->sm_password, strlen(n->sm_password));
        free(n->sm_password);
    }
    free(n->sm_ca);
    free(n->ring);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

cs_rc cs_notify_new(const cs_notify_opts *opts, cs_notifier **out)
{
    cs_notifier *n = NULL;
    pthread_condattr_t ca;
    cs_rc rc;

    if (opts == NULL || out == NULL) {
        return cs_err_set(CS_ERR_INVAL, "notify: no options");
    }
    *out = NULL;
    rc = check_opts(opts);
    if (rc != CS_OK) {
        return rc;
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        return cs_err_set(CS_ERR_INTERNAL, "notify: libcurl did not initialise: %s", curl_easy_strerror(curl_init_rc));
    }
    n = calloc(1, sizeof *n);
    if (n == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "notify: out of memory");
    }
    n->sl_fd = -1;
    atomic_init(&n->abort, false);
    atomic_init(&n->deadline_us, INT64_MAX);
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cond, &ca);
    pthread_condattr_destroy(&ca);
    n->max_attempts = opts->max_attempts > 0 ? opts->max_attempts : 3;
    n->backoff_ms = opts->backoff_ms > 0 ? opts->backoff_ms : 500;
    n->cap = opts->queue_size > 0 ? opts->queue_size : 256;
    n->ring = calloc(n->cap, sizeof *n->ring);
    if (n->ring == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "notify: out of memory for a queue of %zu", n->cap);
        goto fail;
    }
    rc = setup_channels(n, opts);
    if (rc != CS_OK) {
        goto fail;
    }
    if (pthread_create(&n->worker, NULL, worker_main, n) != 0) {
        rc = cs_err_set(CS_ERR_INTERNAL, "notify: cannot start the worker thread");
        goto fail;
    }
    n->worker_started = true;
    pthread_setname_np(n->worker, "cs-notify");
    *out = n;
    return CS_OK;
fail:
    release(n);
    return rc;
}

/* Copy a field, cut at max bytes on a character boundary; returns bytes used. */
static size_t copy_field(char *dst, const char *src, size_t max)
{
    size_t len = utf8_cut(src, strlen(src), max);
    memcpy(dst, src, len);
    dst[len] = '\0';
    return len + 1;
}

static note *note_copy(const cs_notification *in)
{
    const char *src[F__COUNT] = {in->incident_id, in->title,    in->severity, in->state, in->system_id,
                                 in->system_name, in->assignee, in->url,      in->text};
    size_t max[F__COUNT];
    size_t total = 0, at = 0;
    note *nt;
    for (int i = 0; i < F__COUNT; i++) {
        max[i] = i == F_URL ? CS_NOTIFY_MAX_URL : i == F_TEXT ? CS_NOTIFY_MAX_TEXT : CS_NOTIFY_MAX_FIELD;
        if (src[i] != NULL) {
            size_t len = strlen(src[i]);
            total += (len < max[i] ? len : max[i]) + 1;
        }
    }
    nt = malloc(sizeof *nt + total);
    if (nt == NULL) {
        return NULL;
    }
    nt->kind = in->kind;
    nt->sla_due_us = in->sla_due_us;
    nt->ts_us = in->ts_us != 0 ? in->ts_us : cs_now_us();
    nt->seq = 0;
    for (int i = 0; i < F__COUNT; i++) {
        nt->f[i] = NULL;
        if (src[i] != NULL) {
            nt->f[i] = nt->data + at;
            at += copy_field(nt->data + at, src[i], max[i]);
        }
    }
    return nt;
}

cs_rc cs_notify_send(cs_notifier *n, const cs_notification *note_in)
{
    note *nt;
    cs_rc rc = CS_OK;
    bool log_drop = false;
    uint64_t dropped = 0;

    if (n == NULL || note_in == NULL || (unsigned)note_in->kind > CS_NOTIFY_TEST) {
        return cs_err_set(CS_ERR_INVAL, "notify: no notification, or an unknown kind");
    }
    nt = note_copy(note_in);

    pthread_mutex_lock(&n->mu);
    if (nt == NULL || n->closing || n->count == n->cap) {
        int64_t now = mono_us();
        n->st.dropped++;
        dropped = n->st.dropped;
        rc = nt == NULL ? CS_ERR_NOMEM : n->closing ? CS_ERR_CLOSED : CS_ERR_FULL;
        if (n->last_drop_log_us == 0 || now - n->last_drop_log_us >= 1000000) {
            n->last_drop_log_us = now;
            log_drop = true;
        }
    } else {
        nt->seq = ++n->seq;
        n->ring[(n->head + n->count) % n->cap] = nt;
        n->count++;
        n->st.queued++;
        nt = NULL;
        pthread_cond_broadcast(&n->cond);
    }
    pthread_mutex_unlock(&n->mu);

    if (rc != CS_OK) {
        const char *id = note_in->incident_id != NULL ? note_in->incident_id : "-";
        const char *why = rc == CS_ERR_FULL ? "the queue is full" : rc == CS_ERR_CLOSED ? "closing" : "out of memory";
        free(nt);
        if (log_drop) {
            CS_ERROR(COMP, "incident %s (%s) dropped: %s (%llu dropped so far)", id,
                     cs_notify_kind_str(note_in->kind), why, (unsigned long long)dropped);
        }
        return cs_err_set(rc, "notify: incident %s (%s) dropped: %s", id, cs_notify_kind_str(note_in->kind), why);
    }
    return CS_OK;
}

void cs_notify_get_stats(cs_notifier *n, cs_notify_stats *st)
{
    pthread_mutex_lock(&n->mu);
    *st = n->st;
    st->depth = n->count;
    pthread_mutex_unlock(&n->mu);
}

cs_rc cs_notify_close(cs_notifier *n, int timeout_ms)
{
    int64_t deadline = mono_us() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000;
    struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000), .tv_nsec = (long)(deadline % 1000000) * 1000};
    uint64_t abandoned;

    if (n == NULL) {
        return CS_OK;
    }
    pthread_mutex_lock(&n->mu);
    if (n->closed || n->closing) {
        pthread_mutex_unlock(&n->mu);
        return CS_OK;
    }
    n->closing = true;
    atomic_store(&n->deadline_us, deadline);
    pthread_cond_broadcast(&n->cond);
    while (!n->worker_done) {
        if (pthread_cond_timedwait(&n->cond, &n->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    if (!n->worker_done) {
        atomic_store(&n->abort, true);
        pthread_cond_broadcast(&n->cond);
    }
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->worker, NULL);
    n->worker_started = false;

    pthread_mutex_lock(&n->mu);
    n->closed = true;
    abandoned = n->st.abandoned;
    pthread_mutex_unlock(&n->mu);
    if (abandoned > 0) {
        CS_ERROR(COMP, "%llu notifications abandoned: not delivered within %d ms of shutdown",
                 (unsigned long long)abandoned, timeout_ms);
        return cs_err_set(CS_ERR_LIMIT, "notify: %llu notifications abandoned at shutdown",
                          (unsigned long long)abandoned);
    }
    return CS_OK;
}

void cs_notify_free(cs_notifier *n)
{
    if (n == NULL) {
        return;
    }
    if (n->worker_started) {
        cs_notify_close(n, 0);
    }
    release(n);
}
