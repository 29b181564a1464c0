/* Unit tests: incident notifications (webhook, syslog, SMTP) against tiny
 * servers this program runs in its own threads on 127.0.0.1. */
#include "test_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "correlator/notify.h"
#include "runtime/timeutil.h"

/* "Brute-force SSH attack on the population database" */
#define VI_TITLE                                                                                   \
    "T\xe1\xba\xa5n c\xc3\xb4ng d\xc3\xb2 m\xe1\xba\xadt kh\xe1\xba\xa9u SSH v\xc3\xa0o CSDL d\xc3\xa2n c\xc6\xb0"
/* "Population database" */
#define VI_SYSTEM "C\xc6\xa1 s\xe1\xbb\x9f d\xe1\xbb\xaf li\xe1\xbb\x87u d\xc3\xa2n c\xc6\xb0"

/* ---- tiny servers ---- */

typedef enum srv_kind { SRV_HTTP, SRV_UDP, SRV_TCP, SRV_SMTP } srv_kind;

typedef struct srv {
    srv_kind kind;
    int fd;
    uint16_t port;
    pthread_t th;
    atomic_bool stop;
    atomic_bool hold;          /* http: keep the answer until cleared */
    atomic_int requests;       /* http requests, udp datagrams, smtp messages */
    int statuses[4];           /* http: answer to request i (the last repeats) */
    int nstatus;
    pthread_mutex_t mu;
    char req[16384];           /* http: the last request; smtp: the commands */
    size_t reqlen;
    char data[65536];          /* udp: datagrams, one a line; tcp: the stream; smtp: the last message */
    size_t len;
} srv;

static void srv_append(srv *s, char *dst, size_t *len, size_t cap, const char *p, size_t n)
{
    pthread_mutex_lock(&s->mu);
    if (*len + n < cap) {
        memcpy(dst + *len, p, n);
        *len += n;
        dst[*len] = '\0';
    }
    pthread_mutex_unlock(&s->mu);
}

/* Waits for fd to be readable, watching the stop flag. */
static bool srv_wait(srv *s, int fd)
{
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0) {
            return true;
        }
    }
    return false;
}

static ssize_t srv_recv(srv *s, int fd, char *buf, size_t cap)
{
    if (!srv_wait(s, fd)) {
        return -1;
    }
    return recv(fd, buf, cap, 0);
}

static void srv_send(int fd, const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t w = send(fd, text, len, MSG_NOSIGNAL);
        if (w <= 0) {
            return;
        }
        text += w;
        len -= (size_t)w;
    }
}

static void http_conn(srv *s, int fd)
{
    char buf[16384], resp[128];
    size_t len = 0, need = 0;
    char *hdr_end = NULL;
    int i, status;
    for (;;) {
        ssize_t r = srv_recv(s, fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0) {
            return;
        }
        len += (size_t)r;
        buf[len] = '\0';
        if (hdr_end == NULL && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "content-length:");
            need = (size_t)(hdr_end - buf) + 4 + (cl != NULL ? strtoul(cl + 15, NULL, 10) : 0);
        }
        if (hdr_end != NULL && len >= need) {
            break;
        }
    }
    pthread_mutex_lock(&s->mu);
    memcpy(s->req, buf, len + 1);
    s->reqlen = len;
    pthread_mutex_unlock(&s->mu);
    i = atomic_fetch_add(&s->requests, 1);
    while (atomic_load(&s->hold) && !atomic_load(&s->stop)) {
        usleep(5000);
    }
    status = s->statuses[i < s->nstatus ? i : s->nstatus - 1];
    snprintf(resp, sizeof resp, "HTTP/1.1 %d Test\r\nContent-Length: 6\r\nConnection: close\r\n\r\nstatus", status);
    srv_send(fd, resp);
}

/* Reads one CRLF line from fd into line (without the CRLF). */
static bool get_line(srv *s, int fd, char *rb, size_t *rlen, char *line, size_t cap)
{
    for (;;) {
        char *eol = memmem(rb, *rlen, "\r\n", 2);
        if (eol != NULL) {
            size_t n = (size_t)(eol - rb);
            size_t c = n < cap - 1 ? n : cap - 1;
            memcpy(line, rb, c);
            line[c] = '\0';
            memmove(rb, eol + 2, *rlen - n - 2);
            *rlen -= n + 2;
            return true;
        }
        if (*rlen >= 8192) {
            return false;
        }
        {
            ssize_t r = srv_recv(s, fd, rb + *rlen, 8192 - *rlen);
            if (r <= 0) {
                return false;
            }
            *rlen += (size_t)r;
        }
    }
}

static void smtp_conn(srv *s, int fd)
{
    char rb[8192], line[2048];
    size_t rlen = 0;
    srv_send(fd, "220 localhost test ESMTP\r\n");
    while (get_line(s, fd, rb, &rlen, line, sizeof line)) {
        srv_append(s, s->req, &s->reqlen, sizeof s->req, line, strlen(line));
        srv_append(s, s->req, &s->reqlen, sizeof s->req, "\n", 1);
        if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "HELO", 4) == 0) {
            srv_send(fd, "250-localhost\r\n250 8BITMIME\r\n");
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            srv_send(fd, "250 2.1.0 ok\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            srv_send(fd, strstr(line, "reject") != NULL ? "550 5.1.1 no such user\r\n" : "250 2.1.5 ok\r\n");
        } else if (strcasecmp(line, "DATA") == 0) {
            srv_send(fd, "354 go ahead\r\n");
            pthread_mutex_lock(&s->mu);
            s->len = 0;
            s->data[0] = '\0';
            pthread_mutex_unlock(&s->mu);
            while (get_line(s, fd, rb, &rlen, line, sizeof line) && strcmp(line, ".") != 0) {
                srv_append(s, s->data, &s->len, sizeof s->data, line, strlen(line));
                srv_append(s, s->data, &s->len, sizeof s->data, "\r\n", 2);
            }
            atomic_fetch_add(&s->requests, 1);
            srv_send(fd, "250 2.0.0 queued\r\n");
        } else if (strcasecmp(line, "QUIT") == 0) {
            srv_send(fd, "221 2.0.0 bye\r\n");
            return;
        } else if (strcasecmp(line, "RSET") == 0 || strcasecmp(line, "NOOP") == 0) {
            srv_send(fd, "250 ok\r\n");
        } else {
            srv_send(fd, "502 5.5.2 not here\r\n");
        }
    }
}

static void *srv_main(void *arg)
{
    srv *s = arg;
    char buf[8192];
    while (srv_wait(s, s->fd)) {
        if (s->kind == SRV_UDP) {
            ssize_t r = recv(s->fd, buf, sizeof buf, 0);
            if (r > 0) {
                srv_append(s, s->data, &s->len, sizeof s->data, buf, (size_t)r);
                srv_append(s, s->data, &s->len, sizeof s->data, "\n", 1);
                atomic_fetch_add(&s->requests, 1);
            }
            continue;
        }
        {
            int c = accept(s->fd, NULL, NULL);
            if (c < 0) {
                continue;
            }
            if (s->kind == SRV_HTTP) {
                http_conn(s, c);
            } else if (s->kind == SRV_SMTP) {
                smtp_conn(s, c);
            } else {
                ssize_t r;
                while ((r = srv_recv(s, c, buf, sizeof buf)) > 0) {
                    srv_append(s, s->data, &s->len, sizeof s->data, buf, (size_t)r);
                }
            }
            close(c);
        }
    }
    return NULL;
}

/* A socket bound to 127.0.0.1 on a free port. */
static int bind_local(int type, uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    int one = 1;
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static srv *srv_start(srv_kind kind)
{
    srv *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->kind = kind;
    s->statuses[0] = 200;
    s->nstatus = 1;
    pthread_mutex_init(&s->mu, NULL);
    s->fd = bind_local(kind == SRV_UDP ? SOCK_DGRAM : SOCK_STREAM, &s->port);
    if (kind != SRV_UDP) {
        assert_int_equal(listen(s->fd, 8), 0);
    }
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
    return s;
}

static void srv_stop(srv *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->th, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static bool wait_requests(srv *s, int n, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 5; i++) {
        if (atomic_load(&s->requests) >= n) {
            return true;
        }
        usleep(5000);
    }
    return atomic_load(&s->requests) >= n;
}

/* A port nobody listens on (bound, then closed). */
static uint16_t dead_port(void)
{
    uint16_t port;
    int fd = bind_local(SOCK_STREAM, &port);
    close(fd);
    return port;
}

/* ---- helpers ---- */

static cs_notification sample(cs_notify_kind kind, const char *id)
{
    cs_notification n = {
        .kind = kind,
        .incident_id = id,
        .title = VI_TITLE,
        .severity = "high",
        .state = "new",
        .system_id = "popdb",
        .system_name = VI_SYSTEM,
        .assignee = NULL,
        .sla_due_us = cs_time_from_civil(2026, 11, 22, 12, 0, 0) * 1000000,
        .ts_us = cs_time_from_civil(2026, 11, 22, 8, 0, 0) * 1000000,
        .url = "https://soc.city.example/incidents/7",
        .text = "200 failed SSH logins from 203.0.113.9 in 60 s",
    };
    return n;
}

static void webhook_opts(cs_notify_opts *o, char *url, size_t cap, uint16_t port)
{
    memset(o, 0, sizeof *o);
    snprintf(url, cap, "http://127.0.0.1:%u/hook", (unsigned)port);
    o->webhook.url = url;
    o->webhook.timeout_ms = 2000;
    o->backoff_ms = 10;
}

static int stderr_begin(char *path)
{
    int saved, fd;
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    fd = mkstemp(path);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    return saved;
}

static char *stderr_end(int saved, const char *path)
{
    FILE *f;
    char *text = calloc(1, 65536);
    size_t n;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(text);
    n = fread(text, 1, 65535, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    return text;
}

static size_t b64_decode(const char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = in[i] != '\0' ? strchr(tab, in[i]) : NULL;
        if (p == NULL) {
            continue;   /* '=', CR, LF */
        }
        acc = acc << 6 | (uint32_t)(p - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)(acc >> bits & 0xff);
        }
    }
    out[n] = '\0';
    return n;
}

/* ---- webhook ---- */

static void test_webhook_body(void **state)
{
    srv *s = srv_start(SRV_HTTP);
    const char *headers[] = {"Authorization: Bearer t0ken"};
    cs_notification note = sample(CS_NOTIFY_INCIDENT_OPENED, "INC-7");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char url[64];
    const char *body;
    json_t *root, *inc;
    json_error_t jerr;
    (void)state;

    webhook_opts(&o, url, sizeof url, s->port);
    o.webhook.headers = headers;
    o.webhook.nheaders = 1;
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    cs_notify_get_stats(n, &st);
    assert_true(st.ch[CS_NOTIFY_CH_WEBHOOK].enabled);
    assert_false(st.ch[CS_NOTIFY_CH_SMTP].enabled);
    assert_int_equal(st.queued, 1);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].sent, 1);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].failed, 0);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].attempts, 1);
    cs_notify_free(n);

    assert_int_equal(atomic_load(&s->requests), 1);
    assert_true(strncmp(s->req, "POST /hook HTTP/1.1\r\n", 21) == 0);
    assert_contains(s->req, "\r\nAuthorization: Bearer t0ken\r\n");
    assert_contains(s->req, "\r\nContent-Type: application/json\r\n");
    body = strstr(s->req, "\r\n\r\n");
    assert_non_null(body);
    root = json_loads(body + 4, 0, &jerr);
    if (root == NULL) {
        fail_msg("webhook body is not JSON: %s: %s", jerr.text, body + 4);
    }
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "event"), "kind")), "incident");
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "event"), "action")),
                        "incident_opened");
    assert_string_equal(json_string_value(json_object_get(root, "@timestamp")), "2026-11-22T08:00:00.000000Z");
    inc = json_object_get(json_object_get(root, "citysoc"), "incident");
    assert_string_equal(json_string_value(json_object_get(inc, "id")), "INC-7");
    assert_string_equal(json_string_value(json_object_get(inc, "title")), VI_TITLE);
    assert_string_equal(json_string_value(json_object_get(inc, "severity")), "high");
    assert_string_equal(json_string_value(json_object_get(inc, "state")), "new");
    assert_string_equal(json_string_value(json_object_get(inc, "sla_due")), "2026-11-22T12:00:00.000000Z");
    assert_string_equal(json_string_value(json_object_get(inc, "url")), "https://soc.city.example/incidents/7");
    assert_true(json_is_null(json_object_get(inc, "assignee")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_object_get(root, "citysoc"), "system"), "id")), "popdb");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_object_get(root, "citysoc"), "system"), "name")),
        VI_SYSTEM);
    assert_contains(json_string_value(json_object_get(root, "text")), "Incident INC-7 opened: " VI_TITLE);
    json_decref(root);
    srv_stop(s);
}

static void test_webhook_retry_then_ok(void **state)
{
    srv *s = srv_start(SRV_HTTP);
    cs_notification note = sample(CS_NOTIFY_SLA_BREACHED, "INC-8");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char url[64];
    (void)state;

    s->statuses[0] = 500;
    s->statuses[1] = 429;
    s->statuses[2] = 200;
    s->nstatus = 3;
    webhook_opts(&o, url, sizeof url, s->port);
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].sent, 1);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].failed, 0);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].attempts, 3);
    assert_contains(st.ch[CS_NOTIFY_CH_WEBHOOK].last_error, "HTTP 429");
    assert_int_equal(atomic_load(&s->requests), 3);
    cs_notify_free(n);
    srv_stop(s);
}

static void test_webhook_400_not_retried(void **state)
{
    srv *s = srv_start(SRV_HTTP);
    cs_notification note = sample(CS_NOTIFY_INCIDENT_OPENED, "INC-9");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char url[64], logpath[] = "/tmp/test_notify_log_XXXXXX", *log;
    int saved;
    (void)state;

    s->statuses[0] = 400;
    webhook_opts(&o, url, sizeof url, s->port);
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    saved = stderr_begin(logpath);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    log = stderr_end(saved, logpath);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].sent, 0);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].failed, 1);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].attempts, 1);
    assert_contains(st.ch[CS_NOTIFY_CH_WEBHOOK].last_error, "HTTP 400: status");
    assert_int_equal(atomic_load(&s->requests), 1);
    assert_contains(log, "webhook: incident INC-9 (incident_opened) not delivered: HTTP 400");
    free(log);
    cs_notify_free(n);
    srv_stop(s);
}

static void test_webhook_dead_port(void **state)
{
    cs_notification note = sample(CS_NOTIFY_INCIDENT_OPENED, "INC-10");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char url[64], logpath[] = "/tmp/test_notify_log_XXXXXX", *log;
    int saved;
    (void)state;

    webhook_opts(&o, url, sizeof url, dead_port());
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    saved = stderr_begin(logpath);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    log = stderr_end(saved, logpath);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].sent, 0);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].failed, 1);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].attempts, 3);
    assert_contains(st.ch[CS_NOTIFY_CH_WEBHOOK].last_error, "curl error 7");
    assert_contains(log, "webhook: incident INC-10 (incident_opened): attempt 1/3 failed: curl error 7");
    assert_contains(log, "retrying in 10 ms");
    assert_contains(log, "retrying in 40 ms");
    assert_contains(log, "webhook: incident INC-10 (incident_opened) not delivered after 3 attempts: curl error 7");
    free(log);
    cs_notify_free(n);
}

static void test_queue_full_drops(void **state)
{
    srv *s = srv_start(SRV_HTTP);
    cs_notification note = sample(CS_NOTIFY_INCIDENT_OPENED, "INC-11");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char url[64], logpath[] = "/tmp/test_notify_log_XXXXXX", *log;
    int saved;
    (void)state;

    atomic_store(&s->hold, true);
    webhook_opts(&o, url, sizeof url, s->port);
    o.queue_size = 2;
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_true(wait_requests(s, 1, 5000));   /* the worker is busy with the first */
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    saved = stderr_begin(logpath);
    assert_int_equal(cs_notify_send(n, &note), CS_ERR_FULL);
    log = stderr_end(saved, logpath);
    assert_contains(log, "incident INC-11 (incident_opened) dropped: the queue is full (1 dropped so far)");
    free(log);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.queued, 3);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.depth, 2);
    atomic_store(&s->hold, false);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].sent, 3);
    assert_int_equal(st.abandoned, 0);
    assert_int_equal(cs_notify_send(n, &note), CS_ERR_CLOSED);
    cs_notify_free(n);
    srv_stop(s);
}

static void test_close_deadline(void **state)
{
    srv *s = srv_start(SRV_HTTP);
    cs_notification note = sample(CS_NOTIFY_INCIDENT_OPENED, "INC-12");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char url[64], logpath[] = "/tmp/test_notify_log_XXXXXX", *log;
    int64_t t0;
    int saved;
    (void)state;

    atomic_store(&s->hold, true);   /* the server never answers in time */
    webhook_opts(&o, url, sizeof url, s->port);
    o.webhook.timeout_ms = 30000;
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_true(wait_requests(s, 1, 5000));
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    saved = stderr_begin(logpath);
    t0 = cs_monotonic_us();
    assert_int_equal(cs_notify_close(n, 200), CS_ERR_LIMIT);
    log = stderr_end(saved, logpath);
    assert_true(cs_monotonic_us() - t0 < 2000000);
    assert_contains(log, "abandoned at shutdown");
    free(log);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.abandoned, 1);
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].failed, 1);
    cs_notify_free(n);
    atomic_store(&s->hold, false);
    srv_stop(s);
}

/* ---- syslog ---- */

static void test_syslog_udp(void **state)
{
    srv *s = srv_start(SRV_UDP);
    cs_notification note = sample(CS_NOTIFY_INCIDENT_OPENED, "INC-20");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    (void)state;

    memset(&o, 0, sizeof o);
    o.syslog.host = "127.0.0.1";
    o.syslog.port = s->port;
    o.syslog.hostname = "soc01";
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SYSLOG].sent, 1);
    assert_true(wait_requests(s, 1, 5000));
    /* local0 (16) x 8 + err (3, severity high) = 131; the MSG starts with a BOM (UTF-8) */
    pthread_mutex_lock(&s->mu);
    assert_true(strncmp(s->data,
                        "<131>1 2026-11-22T08:00:00.000000Z soc01 citysoc - incident_opened - "
                        "\xEF\xBB\xBFIncident INC-20 opened: " VI_TITLE " (severity high, system " VI_SYSTEM ")",
                        strlen("<131>1 2026-11-22T08:00:00.000000Z soc01 citysoc - incident_opened - "
                               "\xEF\xBB\xBFIncident INC-20 opened: " VI_TITLE " (severity high, system " VI_SYSTEM
                               ")")) == 0);
    assert_contains(s->data, " state=new system_id=popdb assignee=- sla_due=2026-11-22T12:00:00.000000Z");
    assert_int_equal(strchr(s->data, '\n') - s->data + 1, (long)s->len);   /* one datagram, one line */
    pthread_mutex_unlock(&s->mu);
    cs_notify_free(n);
    srv_stop(s);
}

/* Complete octet-counted frames received so far. */
static int count_frames(srv *s)
{
    int frames = 0;
    const char *p, *end;
    pthread_mutex_lock(&s->mu);
    p = s->data;
    end = s->data + s->len;
    while (p < end) {
        char *e;
        unsigned long len = strtoul(p, &e, 10);
        if (e == p || *e != ' ' || (size_t)(end - (e + 1)) < len) {
            break;
        }
        p = e + 1 + len;
        frames++;
    }
    pthread_mutex_unlock(&s->mu);
    return frames;
}

static void test_syslog_tcp_octet_counting(void **state)
{
    srv *s = srv_start(SRV_TCP);
    cs_notification a = sample(CS_NOTIFY_INCIDENT_OPENED, "INC-21");
    cs_notification b = sample(CS_NOTIFY_SLA_BREACHED, "INC-21");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    const char *p;
    int frames = 0;
    (void)state;

    b.severity = "critical";
    b.title = "plain ascii title";
    b.system_name = "popdb";
    memset(&o, 0, sizeof o);
    o.syslog.host = "127.0.0.1";
    o.syslog.port = s->port;
    o.syslog.transport = CS_SYSLOG_TCP;
    o.syslog.facility = cs_notify_facility_parse("auth");
    o.syslog.app_name = "citysoc-test";
    o.syslog.hostname = "soc01";
    assert_int_equal(o.syslog.facility, 4);
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    assert_int_equal(cs_notify_send(n, &a), CS_OK);
    assert_int_equal(cs_notify_send(n, &b), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SYSLOG].sent, 2);
    cs_notify_free(n);
    for (int i = 0; i < 400 && count_frames(s) < 2; i++) {
        usleep(5000);
    }
    pthread_mutex_lock(&s->mu);
    p = s->data;
    while (p < s->data + s->len) {
        char *end;
        unsigned long len = strtoul(p, &end, 10);
        assert_true(end > p && *end == ' ');
        p = end + 1;
        assert_true(p + len <= s->data + s->len);
        assert_true(p[0] == '<');
        if (frames == 0) {
            /* auth (4) x 8 + err (3) = 35 */
            assert_true(strncmp(p, "<35>1 2026-11-22T08:00:00.000000Z soc01 citysoc-test - incident_opened - ", 73) ==
                        0);
        } else {
            /* auth (4) x 8 + crit (2) = 34; ASCII: no BOM */
            assert_true(strncmp(p,
                                "<34>1 2026-11-22T08:00:00.000000Z soc01 citysoc-test - sla_breached - "
                                "Incident INC-21 breached its SLA: plain ascii title (severity critical, system popdb)",
                                strlen("<34>1 2026-11-22T08:00:00.000000Z soc01 citysoc-test - sla_breached - "
                                       "Incident INC-21 breached its SLA: plain ascii title (severity critical, "
                                       "system popdb)")) == 0);
            /* the frame ends exactly where the count says */
            assert_true(strncmp(p + len - 8, " in 60 s", 8) == 0);
        }
        p += len;
        frames++;
    }
    pthread_mutex_unlock(&s->mu);
    assert_int_equal(frames, 2);
    srv_stop(s);
}

static void test_syslog_tcp_dead_port(void **state)
{
    cs_notification note = sample(CS_NOTIFY_TEST, "INC-22");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char logpath[] = "/tmp/test_notify_log_XXXXXX", *log;
    int saved;
    (void)state;

    memset(&o, 0, sizeof o);
    o.syslog.host = "127.0.0.1";
    o.syslog.port = dead_port();
    o.syslog.transport = CS_SYSLOG_TCP;
    o.max_attempts = 2;
    o.backoff_ms = 5;
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    saved = stderr_begin(logpath);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    log = stderr_end(saved, logpath);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SYSLOG].failed, 1);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SYSLOG].attempts, 2);
    assert_contains(st.ch[CS_NOTIFY_CH_SYSLOG].last_error, "Connection refused");
    assert_contains(log, "syslog: incident INC-22 (test) not delivered after 2 attempts: tcp connect to 127.0.0.1");
    free(log);
    cs_notify_free(n);
}

/* ---- smtp ---- */

/* The Subject header of msg, unfolded and with its encoded words decoded. */
static void decoded_subject(const char *msg, char *out, size_t cap)
{
    const char *p = strstr(msg, "\r\nSubject: ");
    size_t n = 0;
    assert_non_null(p);
    p += 11;
    for (;;) {
        const char *w = strstr(p, "=?UTF-8?B?");
        const char *eol = strstr(p, "\r\n");
        const char *e;
        char dec[256];
        size_t len;
        if (w == NULL || w > eol) {
            if (eol[2] != ' ') {
                break;
            }
            p = eol + 3;
            continue;
        }
        e = strstr(w + 10, "?=");
        assert_non_null(e);
        assert_true(e + 2 - w <= 75);   /* RFC 2047: at most 75 characters a word */
        len = b64_decode(w + 10, (size_t)(e - w - 10), dec);
        assert_true(n + len < cap);
        memcpy(out + n, dec, len);
        n += len;
        p = e + 2;
    }
    out[n] = '\0';
}

static void smtp_opts(cs_notify_opts *o, char *url, size_t cap, uint16_t port, const char *const *to, size_t nto)
{
    memset(o, 0, sizeof *o);
    snprintf(url, cap, "smtp://127.0.0.1:%u", (unsigned)port);
    o->smtp.url = url;
    o->smtp.from = "citysoc <soc@city.example>";
    o->smtp.to = to;
    o->smtp.nto = nto;
    o->smtp.starttls = CS_SMTP_STARTTLS_OFF;
    o->smtp.timeout_ms = 3000;
    o->backoff_ms = 10;
}

static void test_smtp_message(void **state)
{
    srv *s = srv_start(SRV_SMTP);
    const char *to[] = {"oncall@city.example", "Tr\xc6\xb0\xe1\xbb\x9fng ca <ciso@city.example>"};
    cs_notification note = sample(CS_NOTIFY_INCIDENT_OPENED, "INC-30");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char url[64], subject[1024], *body, *hdr_end;
    (void)state;

    smtp_opts(&o, url, sizeof url, s->port, to, 2);
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SMTP].sent, 1);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SMTP].attempts, 1);
    cs_notify_free(n);
    assert_true(wait_requests(s, 1, 5000));

    pthread_mutex_lock(&s->mu);
    assert_contains(s->req, "\nMAIL FROM:<soc@city.example>");
    assert_contains(s->req, "\nRCPT TO:<oncall@city.example>\n");
    assert_contains(s->req, "\nRCPT TO:<ciso@city.example>\n");
    assert_contains(s->req, "\nDATA\n");
    assert_true(strncmp(s->data, "Date: ", 6) == 0);
    assert_contains(s->data, "\r\nFrom: citysoc <soc@city.example>\r\n");
    assert_contains(s->data, "\r\nTo: oncall@city.example,\r\n =?UTF-8?B?");
    assert_contains(s->data, "?= <ciso@city.example>\r\n");
    assert_contains(s->data, "\r\nSubject: =?UTF-8?B?");
    assert_contains(s->data, "\r\nMessage-ID: <citysoc.");
    assert_contains(s->data, "@city.example>\r\n");
    assert_contains(s->data, "\r\nMIME-Version: 1.0\r\n");
    assert_contains(s->data, "\r\nContent-Type: text/plain; charset=UTF-8\r\n");
    assert_contains(s->data, "\r\nContent-Transfer-Encoding: base64\r\n");
    decoded_subject(s->data, subject, sizeof subject);
    assert_string_equal(subject,
                        "[citysoc] Incident INC-30 opened: " VI_TITLE " (severity high, system " VI_SYSTEM ")");
    hdr_end = strstr(s->data, "\r\n\r\n");
    assert_non_null(hdr_end);
    body = calloc(1, strlen(hdr_end) + 1);
    assert_non_null(body);
    b64_decode(hdr_end + 4, strlen(hdr_end + 4), body);
    assert_contains(body, "Title:     " VI_TITLE "\r\n");
    assert_contains(body, "SLA due:   2026-11-22T12:00:00.000000Z\r\n");
    assert_contains(body, "Console:   https://soc.city.example/incidents/7\r\n");
    assert_contains(body, "Assignee:  (unassigned)\r\n");
    free(body);
    pthread_mutex_unlock(&s->mu);
    srv_stop(s);
}

static void test_smtp_rcpt_rejected(void **state)
{
    srv *s = srv_start(SRV_SMTP);
    const char *to[] = {"reject@city.example"};
    cs_notification note = sample(CS_NOTIFY_SLA_BREACHED, "INC-31");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char url[64];
    (void)state;

    smtp_opts(&o, url, sizeof url, s->port, to, 1);
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SMTP].sent, 0);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SMTP].failed, 1);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SMTP].attempts, 1);   /* 5xx: permanent */
    assert_contains(st.ch[CS_NOTIFY_CH_SMTP].last_error, "SMTP reply 550");
    cs_notify_free(n);
    assert_int_equal(atomic_load(&s->requests), 0);
    srv_stop(s);
}

static void test_smtp_starttls_required(void **state)
{
    srv *s = srv_start(SRV_SMTP);   /* does not offer STARTTLS */
    const char *to[] = {"oncall@city.example"};
    cs_notification note = sample(CS_NOTIFY_TEST, NULL);
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char url[64];
    (void)state;

    smtp_opts(&o, url, sizeof url, s->port, to, 1);
    o.smtp.starttls = CS_SMTP_STARTTLS_REQUIRED;
    o.smtp.user = "soc";
    o.smtp.password = "secret";
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    cs_notify_get_stats(n, &st);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SMTP].failed, 1);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SMTP].attempts, 1);
    assert_contains(st.ch[CS_NOTIFY_CH_SMTP].last_error, "STARTTLS");
    cs_notify_free(n);
    pthread_mutex_lock(&s->mu);
    assert_null(strstr(s->req, "AUTH"));   /* no password over plain text */
    assert_null(strstr(s->req, "MAIL FROM"));
    pthread_mutex_unlock(&s->mu);
    srv_stop(s);
}

/* ---- every channel at once, options, names ---- */

static void test_all_channels(void **state)
{
    srv *h = srv_start(SRV_HTTP), *u = srv_start(SRV_UDP), *m = srv_start(SRV_SMTP);
    const char *to[] = {"oncall@city.example"};
    cs_notification note = sample(CS_NOTIFY_INCIDENT_OPENED, "INC-40");
    cs_notify_opts o;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    char url[64], surl[64];
    (void)state;

    smtp_opts(&o, surl, sizeof surl, m->port, to, 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)h->port);
    o.webhook.url = url;
    o.syslog.host = "127.0.0.1";
    o.syslog.port = u->port;
    h->statuses[0] = 503;
    h->statuses[1] = 204;
    h->nstatus = 2;
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    assert_int_equal(cs_notify_send(n, &note), CS_OK);
    assert_int_equal(cs_notify_close(n, 5000), CS_OK);
    cs_notify_get_stats(n, &st);
    for (int ch = 0; ch < CS_NOTIFY_CH__COUNT; ch++) {
        assert_true(st.ch[ch].enabled);
        assert_int_equal(st.ch[ch].sent, 1);
        assert_int_equal(st.ch[ch].failed, 0);
    }
    assert_int_equal(st.ch[CS_NOTIFY_CH_WEBHOOK].attempts, 2);
    assert_int_equal(st.ch[CS_NOTIFY_CH_SYSLOG].attempts, 1);   /* not sent twice for the webhook's retry */
    assert_int_equal(st.ch[CS_NOTIFY_CH_SMTP].attempts, 1);
    cs_notify_free(n);
    assert_true(wait_requests(u, 1, 5000));
    usleep(20000);
    assert_int_equal(atomic_load(&u->requests), 1);
    srv_stop(h);
    srv_stop(u);
    srv_stop(m);
}

static void test_bad_options(void **state)
{
    const char *bad_to[] = {"not an address"};
    const char *good_to[] = {"a@b.example"};
    const char *bad_hdr[] = {"no colon here"};
    cs_notify_opts o;
    cs_notifier *n = NULL;
    (void)state;

    memset(&o, 0, sizeof o);
    o.webhook.url = "ftp://example/";
    assert_int_equal(cs_notify_new(&o, &n), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "notify.webhook.url");
    o.webhook.url = "http://example/";
    o.webhook.headers = bad_hdr;
    o.webhook.nheaders = 1;
    assert_int_equal(cs_notify_new(&o, &n), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "notify.webhook.headers");

    memset(&o, 0, sizeof o);
    o.syslog.host = "127.0.0.1";
    o.syslog.facility = 24;
    assert_int_equal(cs_notify_new(&o, &n), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "notify.syslog.facility");

    memset(&o, 0, sizeof o);
    o.smtp.url = "smtp://127.0.0.1";
    o.smtp.from = "soc@city.example";
    assert_int_equal(cs_notify_new(&o, &n), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "notify.smtp.to");
    o.smtp.to = bad_to;
    o.smtp.nto = 1;
    assert_int_equal(cs_notify_new(&o, &n), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "not an address");
    o.smtp.to = good_to;
    o.smtp.from = "Nobody <>";
    assert_int_equal(cs_notify_new(&o, &n), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "notify.smtp.from");
    o.smtp.from = "Bad\r\nBcc: x@y <soc@city.example>";
    assert_int_equal(cs_notify_new(&o, &n), CS_ERR_CONFIG);

    memset(&o, 0, sizeof o);
    o.max_attempts = 11;
    assert_int_equal(cs_notify_new(&o, &n), CS_ERR_CONFIG);
    assert_null(n);

    /* no channel at all: valid, counts only */
    memset(&o, 0, sizeof o);
    assert_int_equal(cs_notify_new(&o, &n), CS_OK);
    {
        cs_notification note = sample(CS_NOTIFY_TEST, NULL);
        cs_notify_stats st;
        assert_int_equal(cs_notify_send(n, &note), CS_OK);
        assert_int_equal(cs_notify_send(n, NULL), CS_ERR_INVAL);
        note.kind = (cs_notify_kind)7;
        assert_int_equal(cs_notify_send(n, &note), CS_ERR_INVAL);
        assert_int_equal(cs_notify_close(n, 1000), CS_OK);
        cs_notify_get_stats(n, &st);
        assert_int_equal(st.queued, 1);
    }
    cs_notify_free(n);
    cs_notify_free(NULL);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(cs_notify_kind_str(CS_NOTIFY_INCIDENT_OPENED), "incident_opened");
    assert_string_equal(cs_notify_kind_str(CS_NOTIFY_SLA_BREACHED), "sla_breached");
    assert_string_equal(cs_notify_kind_str(CS_NOTIFY_TEST), "test");
    assert_string_equal(cs_notify_channel_str(CS_NOTIFY_CH_SMTP), "smtp");
    assert_int_equal(cs_notify_facility_parse("local0"), 16);
    assert_int_equal(cs_notify_facility_parse("local7"), 23);
    assert_int_equal(cs_notify_facility_parse("authpriv"), 10);
    assert_int_equal(cs_notify_facility_parse("nope"), -1);
    assert_int_equal(cs_notify_syslog_severity("critical"), 2);
    assert_int_equal(cs_notify_syslog_severity("high"), 3);
    assert_int_equal(cs_notify_syslog_severity("medium"), 4);
    assert_int_equal(cs_notify_syslog_severity("low"), 5);
    assert_int_equal(cs_notify_syslog_severity("informational"), 6);
    assert_int_equal(cs_notify_syslog_severity(NULL), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_webhook_body),
        cmocka_unit_test(test_webhook_retry_then_ok),
        cmocka_unit_test(test_webhook_400_not_retried),
        cmocka_unit_test(test_webhook_dead_port),
        cmocka_unit_test(test_queue_full_drops),
        cmocka_unit_test(test_close_deadline),
        cmocka_unit_test(test_syslog_udp),
        cmocka_unit_test(test_syslog_tcp_octet_counting),
        cmocka_unit_test(test_syslog_tcp_dead_port),
        cmocka_unit_test(test_smtp_message),
        cmocka_unit_test(test_smtp_rcpt_rejected),
        cmocka_unit_test(test_smtp_starttls_required),
        cmocka_unit_test(test_all_channels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
