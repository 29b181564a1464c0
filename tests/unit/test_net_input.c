/* Unit tests: syslog network inputs (net_input.h) over real loopback sockets.
 *
 * Every test starts an input on 127.0.0.1 (or ::1) with port 0, talks to it
 * with plain sockets (and OpenSSL for TLS), and checks both the lines the
 * sink saw and the counters. Sends are bounded in count; every wait has a
 * deadline. The TLS certificate is made here with the OpenSSL API.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "runtime/timeutil.h"
#include "sensors/logs/net_input.h"

/* ---------- a recording sink ---------- */

typedef struct got_line {
    char *data;
    size_t len;
    cs_line_meta meta;    /* its pointers are borrowed: the strings are copied below */
    char transport[8];
    char source[32];
} got_line;

typedef struct collector {
    pthread_mutex_t mu;
    got_line *v;
    size_t n, cap;
    bool store;              /* keep copies of the lines */
    uint64_t calls;
    uint64_t taken;
    uint64_t full_returned;
    int full_every;          /* > 0: every k-th call answers CS_ERR_FULL */
    int64_t full_until;      /* monotonic us: CS_ERR_FULL before this (0 = off) */
    bool always_full;
    int sleep_us;            /* per call */
    cs_rc fail_rc;           /* != CS_OK: answer this */
} collector;

static cs_rc collect_sink(const char *line, size_t len, const cs_line_meta *meta, void *ud)
{
    collector *c = ud;
    cs_rc rc = CS_OK;
    pthread_mutex_lock(&c->mu);
    c->calls++;
    if (c->fail_rc != CS_OK) {
        rc = c->fail_rc;
    } else if (c->always_full || (c->full_every > 0 && c->calls % (uint64_t)c->full_every == 0) ||
               (c->full_until != 0 && cs_monotonic_us() < c->full_until)) {
        c->full_returned++;
        rc = CS_ERR_FULL;
    } else {
        c->taken++;
        if (c->store) {
            if (c->n == c->cap) {
                size_t ncap = c->cap ? c->cap * 2 : 256;
                got_line *nv = realloc(c->v, ncap * sizeof *nv);
                assert_non_null(nv);
                c->v = nv;
                c->cap = ncap;
            }
            c->v[c->n].data = malloc(len + 1);
            assert_non_null(c->v[c->n].data);
            memcpy(c->v[c->n].data, line, len);
            c->v[c->n].data[len] = '\0';
            c->v[c->n].len = len;
            c->v[c->n].meta = *meta;
            snprintf(c->v[c->n].transport, sizeof c->v[c->n].transport, "%s", meta->transport);
            snprintf(c->v[c->n].source, sizeof c->v[c->n].source, "%s", meta->source);
            c->v[c->n].meta.transport = NULL;
            c->v[c->n].meta.source = NULL;
            c->n++;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (c->sleep_us > 0) {
        struct timespec ts = {0, (long)c->sleep_us * 1000};
        nanosleep(&ts, NULL);
    }
    return rc;
}

static void collector_init(collector *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->store = true;
}

static void collector_free(collector *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].data);
    }
    free(c->v);
    pthread_mutex_destroy(&c->mu);
}

static uint64_t collector_taken(collector *c)
{
    uint64_t n;
    pthread_mutex_lock(&c->mu);
    n = c->taken;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---------- helpers ---------- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static cs_net_input *start_input(const char *transport, const char *listen, cs_net_input_opts *extra, collector *c)
{
    cs_net_input_opts o;
    cs_net_input *in = NULL;
    if (extra != NULL) {
        o = *extra;
    } else {
        memset(&o, 0, sizeof o);
    }
    o.name = "test-in";
    o.transport = transport;
    o.listen = listen;
    if (cs_net_input_start(&o, collect_sink, c, &in) != CS_OK) {
        fail_msg("cs_net_input_start: %s", cs_err_msg());
    }
    assert_true(cs_net_input_port(in) > 0);
    return in;
}

typedef enum { ST_LINES, ST_OPEN, ST_REJECTED, ST_IDLE, ST_TLS_ERR, ST_UDP_TOTAL, ST_CONNS } stat_kind;

static uint64_t stat_of(cs_net_input *in, stat_kind k)
{
    cs_net_input_stats st;
    cs_net_input_stats_get(in, &st);
    switch (k) {
    case ST_LINES:
        return st.lines;
    case ST_OPEN:
        return (uint64_t)st.open_connections;
    case ST_REJECTED:
        return st.rejected_connections;
    case ST_IDLE:
        return st.idle_closed;
    case ST_TLS_ERR:
        return st.tls_errors;
    case ST_UDP_TOTAL:
        return st.lines + st.kernel_drops + st.sink_full_drops;
    case ST_CONNS:
        return st.connections;
    }
    return 0;
}

/* Wait until the counter reaches want (at most timeout_ms). */
static bool wait_stat(cs_net_input *in, stat_kind k, uint64_t want, int timeout_ms)
{
    int64_t end = cs_monotonic_us() + (int64_t)timeout_ms * 1000;
    while (cs_monotonic_us() < end) {
        if (stat_of(in, k) == want) {
            return true;
        }
        sleep_ms(2);
    }
    return stat_of(in, k) == want;
}

static int connect_to(int family, int port, int type)
{
    int fd = socket(family, type, 0);
    assert_true(fd >= 0);
    if (family == AF_INET) {
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    } else {
        struct sockaddr_in6 a;
        memset(&a, 0, sizeof a);
        a.sin6_family = AF_INET6;
        a.sin6_port = htons((uint16_t)port);
        a.sin6_addr = in6addr_loopback;
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    }
    return fd;
}

static int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)(void *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
}

static void send_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* "LEN MSG" */
static void send_octet(int fd, const char *msg, size_t len)
{
    char hdr[32];
    int h = snprintf(hdr, sizeof hdr, "%zu ", len);
    send_all(fd, hdr, (size_t)h);
    send_all(fd, msg, len);
}

static bool ipv6_loopback_available(void)
{
    struct sockaddr_in6 a;
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    bool ok;
    if (fd < 0) {
        return false;
    }
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Wait for the peer to close (EOF or reset) within timeout_ms. */
static bool peer_closed(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char b[256];
    int64_t end = cs_monotonic_us() + (int64_t)timeout_ms * 1000;
    do {
        int left = (int)((end - cs_monotonic_us()) / 1000);
        if (poll(&p, 1, left > 0 ? left : 0) > 0) {
            ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                return true;
            }
        }
    } while (cs_monotonic_us() < end);
    return false;
}

static void expect_line(collector *c, size_t i, const char *want, size_t wlen, bool trunc)
{
    assert_true(i < c->n);
    if (c->v[i].len != wlen || memcmp(c->v[i].data, want, wlen) != 0) {
        fail_msg("line %zu: got %zu bytes \"%.80s\", want %zu bytes \"%.80s\"", i, c->v[i].len, c->v[i].data, wlen,
                 want);
    }
    assert_int_equal(c->v[i].meta.truncated, trunc);
}

/* ---------- options ---------- */

static void test_bad_options(void **state)
{
    cs_net_input_opts o;
    cs_net_input *in = NULL;
    collector c;
    (void)state;
    collector_init(&c);
    memset(&o, 0, sizeof o);
    o.transport = "sctp";
    assert_int_equal(cs_net_input_start(&o, collect_sink, &c, &in), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "sctp");
    assert_null(in);
    o.transport = "tcp";
    o.listen = "localhost";
    assert_int_equal(cs_net_input_start(&o, collect_sink, &c, &in), CS_ERR_CONFIG);
    o.listen = "127.0.0.1";
    o.port = 70000;
    assert_int_equal(cs_net_input_start(&o, collect_sink, &c, &in), CS_ERR_CONFIG);
    o.port = 0;
    o.transport = "tls";
    assert_int_equal(cs_net_input_start(&o, collect_sink, &c, &in), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "tls_cert");
    o.tls_cert = "/nonexistent/cert.pem";
    o.tls_key = "/nonexistent/key.pem";
    assert_int_equal(cs_net_input_start(&o, collect_sink, &c, &in), CS_ERR_IO);
    assert_contains(cs_err_msg(), "/nonexistent/cert.pem");
    /* a port in use */
    o.transport = "tcp";
    o.tls_cert = NULL;
    o.tls_key = NULL;
    assert_int_equal(cs_net_input_start(&o, collect_sink, &c, &in), CS_OK);
    {
        cs_net_input *in2 = NULL;
        o.port = cs_net_input_port(in);
        assert_int_equal(cs_net_input_start(&o, collect_sink, &c, &in2), CS_ERR_IO);
        assert_contains(cs_err_msg(), "bind");
        assert_null(in2);
    }
    cs_net_input_stop(in);
    cs_net_input_stop(NULL);
    collector_free(&c);
}

/* ---------- UDP ---------- */

static void test_udp_10k(void **state)
{
    collector c;
    cs_net_input *in;
    cs_net_input_stats st;
    int fd;
    char msg[128];
    int sent = 0;
    (void)state;
    collector_init(&c);
    in = start_input("udp", "127.0.0.1", NULL, &c);
    fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_DGRAM);
    /* paced in chunks so a slow (sanitized) reader keeps up: this test is
     * about counting; the overload test is about drops */
    while (sent < 10000) {
        for (int k = 0; k < 100; k++, sent++) {
            int n = snprintf(msg, sizeof msg, "<13>Mar 12 08:00:00 host prog[1]: datagram %05d\n", sent);
            assert_int_equal(send(fd, msg, (size_t)n, 0), n);
        }
        assert_true(wait_stat(in, ST_UDP_TOTAL, (uint64_t)sent, 5000));
    }
    /* one datagram, several lines; empty lines carry nothing */
    send_str(fd, "<13>one\n<13>two\r\n\n<13>three");
    assert_true(wait_stat(in, ST_UDP_TOTAL, 10003, 5000));
    cs_net_input_stats_get(in, &st);
    assert_int_equal(st.lines + st.kernel_drops, 10003);
    assert_int_equal(st.sink_full_drops, 0);
    cs_net_input_stop(in);
    /* every line intact, in order (UDP on loopback keeps order) */
    if (st.kernel_drops == 0) {
        assert_int_equal(c.n, 10003);
        for (int i = 0; i < 10000; i++) {
            int n = snprintf(msg, sizeof msg, "<13>Mar 12 08:00:00 host prog[1]: datagram %05d", i);
            expect_line(&c, (size_t)i, msg, (size_t)n, false);
        }
        expect_line(&c, 10000, "<13>one", 7, false);
        expect_line(&c, 10001, "<13>two", 7, false);
        expect_line(&c, 10002, "<13>three", 9, false);
    }
    assert_string_equal(c.v[0].transport, "udp");
    assert_string_equal(c.v[0].source, "test-in");
    assert_int_equal(c.v[0].meta.peer.family, 4);
    assert_int_equal(c.v[0].meta.peer.addr[0], 127);
    assert_int_equal(c.v[0].meta.peer_port, local_port(fd));
    assert_true(c.v[0].meta.received_us > 0);
    close(fd);
    collector_free(&c);
}

/* UDP over ::1 when the machine has it: the peer comes out as IPv6. */
static void test_udp_ipv6(void **state)
{
    collector c;
    cs_net_input *in;
    int fd;
    (void)state;
    if (!ipv6_loopback_available()) {
        print_message("::1 not available: skipped\n");
        return;
    }
    collector_init(&c);
    in = start_input("udp", "::1", NULL, &c);
    fd = connect_to(AF_INET6, cs_net_input_port(in), SOCK_DGRAM);
    for (int i = 0; i < 10; i++) {
        send_str(fd, "<13>Mar 12 08:00:00 host prog: over ipv6\r\n");
    }
    assert_true(wait_stat(in, ST_UDP_TOTAL, 10, 5000));
    cs_net_input_stop(in);
    assert_int_equal(c.n, 10);
    expect_line(&c, 9, "<13>Mar 12 08:00:00 host prog: over ipv6", 40, false);
    assert_int_equal(c.v[0].meta.peer.family, 6);
    assert_int_equal(c.v[0].meta.peer.addr[15], 1);
    assert_int_equal(c.v[0].meta.peer_port, local_port(fd));
    close(fd);
    collector_free(&c);
}

/* Past capacity: a tiny socket buffer, a slow sink that is also full now
 * and then. Every datagram sent is delivered, dropped by the kernel or
 * dropped because the sink was full: exactly, no estimate. */
static void test_udp_overload_exact(void **state)
{
    collector c;
    cs_net_input *in;
    cs_net_input_opts o;
    cs_net_input_stats st;
    int fd;
    char msg[128];
    const int total = 20000;
    int sent = 0;
    int64_t end;
    (void)state;
    collector_init(&c);
    c.store = false;
    c.sleep_us = 20;       /* a slow consumer ... */
    c.full_every = 7;      /* ... that is also full now and then */
    memset(&o, 0, sizeof o);
    o.rcvbuf = 4096;       /* the kernel's minimum: a few dozen small datagrams */
    in = start_input("udp", "127.0.0.1", &o, &c);
    fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_DGRAM);
    end = cs_monotonic_us() + 10 * 1000000LL;
    for (int i = 0; i < total && cs_monotonic_us() < end; i++) {
        int n = snprintf(msg, sizeof msg, "<13>Mar 12 08:00:00 host prog: burst %05d", i);
        if (send(fd, msg, (size_t)n, 0) == n) {
            sent++;
        }
    }
    assert_true(wait_stat(in, ST_UDP_TOTAL, (uint64_t)sent, 10000));
    sleep_ms(300);   /* nothing more may appear */
    cs_net_input_stats_get(in, &st);
    print_message("udp burst: sent %d lines %llu kernel_drops %llu sink_full_drops %llu\n", sent,
                  (unsigned long long)st.lines, (unsigned long long)st.kernel_drops,
                  (unsigned long long)st.sink_full_drops);
    assert_int_equal(st.lines + st.kernel_drops + st.sink_full_drops, (uint64_t)sent);
    assert_true(st.kernel_drops > 0);
    assert_true(st.sink_full_drops > 0);
    assert_int_equal(st.lines, collector_taken(&c));
    assert_int_equal(st.sink_full_drops, c.full_returned);
    cs_net_input_stop_stats(in, &st);   /* the books after stop: unchanged, still exact */
    assert_int_equal(st.lines + st.kernel_drops + st.sink_full_drops, (uint64_t)sent);
    assert_int_equal(st.lines, collector_taken(&c));
    close(fd);
    collector_free(&c);
}

/* ---------- TCP framing ---------- */

static const char framing_expect[][48] = {
    "<13>line one", "<13>octet two", "<13>crlf three", "<14>octet four", "<13>nul five",
    "12345678901 <13>eleven digits", "42abc", "<13>utf8 \xff\xfe\xc3\x28 end", "<13>multi\nline",
    "<13>final without newline",
};

static void send_framing_stream(int fd, bool bytewise)
{
    static const char *const parts[] = {
        "<13>line one\n",
        "13 <13>octet two",
        "<13>crlf three\r\n",
        "15 <14>octet four\n",
        "<13>nul five",
        "\0",   /* NUL trailer, sent as one byte below */
        "\n\n\r\n",
        "12345678901 <13>eleven digits\n",
        "42abc\n",
        "<13>utf8 \xff\xfe\xc3\x28 end\n",
        "14 <13>multi\nline",
        "<13>final without newline",
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t n = i == 5 ? 1 : strlen(parts[i]);
        if (!bytewise) {
            send_all(fd, parts[i], n);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            send_all(fd, parts[i] + k, 1);
            if (k % 7 == 0) {
                sleep_ms(1);   /* let some bytes arrive alone */
            }
        }
    }
}

static void run_framing(int family, const char *listen, bool bytewise)
{
    collector c;
    cs_net_input *in;
    cs_net_input_stats st;
    int fd, one = 1;
    const size_t nexp = sizeof framing_expect / sizeof framing_expect[0];
    collector_init(&c);
    in = start_input("tcp", listen, NULL, &c);
    fd = connect_to(family, cs_net_input_port(in), SOCK_STREAM);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    send_framing_stream(fd, bytewise);
    assert_true(wait_stat(in, ST_LINES, nexp - 1, 5000));   /* all but the final one */
    assert_int_equal(stat_of(in, ST_LINES), nexp - 1);
    {
        int port = local_port(fd);
        close(fd);   /* the final line without newline comes out at close */
        assert_true(wait_stat(in, ST_LINES, nexp, 5000));
        assert_true(wait_stat(in, ST_OPEN, 0, 5000));
        cs_net_input_stats_get(in, &st);
        cs_net_input_stop(in);
        assert_int_equal(c.n, nexp);
        for (size_t i = 0; i < nexp; i++) {
            expect_line(&c, i, framing_expect[i], strlen(framing_expect[i]), false);
            assert_string_equal(c.v[i].transport, "tcp");
            assert_int_equal(c.v[i].meta.peer_port, port);
            assert_int_equal(c.v[i].meta.peer.family, family == AF_INET ? 4 : 6);
        }
    }
    assert_int_equal(st.framing_errors, 2);
    assert_int_equal(st.truncated, 0);
    assert_int_equal(st.connections, 1);
    collector_free(&c);
}

static void test_tcp_framing(void **state)
{
    (void)state;
    run_framing(AF_INET, "127.0.0.1", false);
    run_framing(AF_INET, "127.0.0.1", true);
    if (ipv6_loopback_available()) {
        run_framing(AF_INET6, "::1", false);
    } else {
        print_message("::1 not available: IPv6 part skipped\n");
    }
}

/* A random mix of newline-framed (LF, CRLF, NUL) and octet-counted messages,
 * some longer than max_line, sent in random slices: what comes out must be
 * what a plain model of RFC 6587 says, message for message. */
typedef struct model_msg {
    size_t off, len;   /* expected bytes inside the model buffer */
    bool trunc;
} model_msg;

static uint32_t xs32(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void test_tcp_framing_random(void **state)
{
    enum { MSGS = 1500, MAXLINE = 256, MAXLEN = 700 };
    const size_t cap = (size_t)MSGS * (MAXLEN + 16);
    char *wire = malloc(cap), *content = malloc(cap);
    model_msg *want = calloc(MSGS, sizeof *want);
    (void)state;
    assert_non_null(wire);
    assert_non_null(content);
    assert_non_null(want);
    for (uint32_t seed = 1; seed <= 3; seed++) {
        uint32_t x = 0x9e3779b9u * seed;
        size_t wl = 0, cl = 0;
        collector c;
        cs_net_input *in;
        cs_net_input_opts o;
        cs_net_input_stats st;
        int fd, one = 1;
        uint64_t ntrunc = 0;
        for (int m = 0; m < MSGS; m++) {
            size_t len = 1 + xs32(&x) % (xs32(&x) % 4 == 0 ? MAXLEN : 120);
            bool octet = xs32(&x) % 2 == 0;
            char *body = content + cl;
            for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)xs32(&x);
                if (!octet && (ch == '\n' || ch == '\0')) {
                    ch = 'x';
                }
                body[i] = (char)ch;
            }
            if (!octet && ((body[0] >= '0' && body[0] <= '9') || body[0] == '\r')) {
                body[0] = '<';
            }
            if (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == '\0') {
                body[len - 1] = '>';
            }
            if (octet) {
                wl += (size_t)snprintf(wire + wl, 16, "%zu ", len);
                memcpy(wire + wl, body, len);
                wl += len;
            } else {
                static const char *const term[] = {"\n", "\r\n", "\0"};
                uint32_t t = xs32(&x) % 3;
                memcpy(wire + wl, body, len);
                wl += len;
                memcpy(wire + wl, term[t], t == 1 ? 2 : 1);
                wl += t == 1 ? 2 : 1;
            }
            want[m].off = cl;
            want[m].len = len > MAXLINE ? MAXLINE : len;
            want[m].trunc = len > MAXLINE;
            ntrunc += want[m].trunc;
            cl += len;
        }
        collector_init(&c);
        memset(&o, 0, sizeof o);
        o.max_line = MAXLINE;
        in = start_input("tcp", "127.0.0.1", &o, &c);
        fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        for (size_t off = 0; off < wl;) {
            size_t n = 1 + xs32(&x) % 3000;
            if (n > wl - off) {
                n = wl - off;
            }
            send_all(fd, wire + off, n);
            off += n;
            if (xs32(&x) % 16 == 0) {
                sleep_ms(1);
            }
        }
        close(fd);
        assert_true(wait_stat(in, ST_LINES, MSGS, 10000));
        assert_true(wait_stat(in, ST_OPEN, 0, 5000));
        cs_net_input_stop_stats(in, &st);
        assert_int_equal(c.n, MSGS);
        for (int m = 0; m < MSGS; m++) {
            expect_line(&c, (size_t)m, content + want[m].off, want[m].len, want[m].trunc);
        }
        assert_int_equal(st.truncated, ntrunc);
        assert_int_equal(st.framing_errors, 0);
        assert_int_equal(st.bytes, wl);
        collector_free(&c);
    }
    free(wire);
    free(content);
    free(want);
}

static void test_tcp_huge_lines(void **state)
{
    const size_t big = 10u * 1024u * 1024u;
    collector c;
    cs_net_input *in;
    cs_net_input_stats st;
    char *a = malloc(big);
    int fd;
    (void)state;
    assert_non_null(a);
    collector_init(&c);
    in = start_input("tcp", "127.0.0.1", NULL, &c);
    fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    /* a 10 MB newline-framed line, then a normal one */
    memset(a, 'A', big);
    memcpy(a, "<13>", 4);
    send_all(fd, a, big);
    send_str(fd, "\n<13>after the big one\n");
    /* a 10 MB octet-counted message, then a normal one */
    memset(a, 'B', big);
    send_octet(fd, a, big);
    send_str(fd, "<13>after the big octet\n");
    assert_true(wait_stat(in, ST_LINES, 4, 10000));
    cs_net_input_stats_get(in, &st);
    close(fd);
    cs_net_input_stop(in);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.v[0].len, CS_LINE_MAX_DEFAULT);
    assert_true(c.v[0].meta.truncated);
    assert_memory_equal(c.v[0].data, "<13>AAAA", 8);
    expect_line(&c, 1, "<13>after the big one", 21, false);
    assert_int_equal(c.v[2].len, CS_LINE_MAX_DEFAULT);
    assert_true(c.v[2].meta.truncated);
    assert_memory_equal(c.v[2].data, "BBBB", 4);
    expect_line(&c, 3, "<13>after the big octet", 23, false);
    assert_int_equal(st.truncated, 2);
    assert_int_equal(st.bytes, 2 * big + 23 + 9 + 24);
    free(a);
    collector_free(&c);
}

static void test_tcp_garbage(void **state)
{
    const size_t n = 256u * 1024u;
    collector c;
    cs_net_input *in;
    cs_net_input_opts o;
    unsigned char *g = malloc(n);
    uint32_t x = 2463534242u;
    int fd;
    (void)state;
    assert_non_null(g);
    collector_init(&c);
    memset(&o, 0, sizeof o);
    o.max_line = 1024;
    in = start_input("tcp", "127.0.0.1", &o, &c);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        g[i] = (unsigned char)x;
    }
    /* 1: anything at all, digits included (counts may swallow the rest) */
    fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    send_all(fd, g, n);
    close(fd);
    assert_true(wait_stat(in, ST_CONNS, 1, 5000));
    assert_true(wait_stat(in, ST_OPEN, 0, 5000));   /* done with it: lines do not interleave */
    /* 2: garbage without digits, so no octet count: the next line survives */
    for (size_t i = 0; i < n; i++) {
        if (g[i] >= '0' && g[i] <= '9') {
            g[i] = 0xA0;
        }
    }
    fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    send_all(fd, g, n);
    send_str(fd, "\n<13>after garbage\n");
    close(fd);
    assert_true(wait_stat(in, ST_CONNS, 2, 5000));
    assert_true(wait_stat(in, ST_OPEN, 0, 5000));
    cs_net_input_stop(in);
    assert_true(c.n > 2);
    for (size_t i = 0; i < c.n; i++) {
        assert_true(c.v[i].len <= 1024);
        assert_true(c.v[i].len > 0);
    }
    expect_line(&c, c.n - 1, "<13>after garbage", 17, false);
    free(g);
    collector_free(&c);
}

/* ---------- limits ---------- */

static void test_max_connections(void **state)
{
    enum { N = CS_NET_MAX_CONNECTIONS_DEFAULT };
    collector c;
    cs_net_input *in;
    int fds[N];
    int extra;
    char msg[64];
    (void)state;
    collector_init(&c);
    in = start_input("tcp", "127.0.0.1", NULL, &c);
    for (int i = 0; i < N; i++) {
        fds[i] = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    }
    assert_true(wait_stat(in, ST_OPEN, N, 10000));
    extra = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    assert_true(wait_stat(in, ST_REJECTED, 1, 5000));
    assert_true(peer_closed(extra, 5000));
    close(extra);
    assert_int_equal(stat_of(in, ST_OPEN), N);
    for (int i = 0; i < N; i++) {
        int k = snprintf(msg, sizeof msg, "<13>from connection %03d\n", i);
        send_all(fds[i], msg, (size_t)k);
    }
    assert_true(wait_stat(in, ST_LINES, N, 10000));
    for (int i = 0; i < N; i++) {
        close(fds[i]);
    }
    assert_true(wait_stat(in, ST_OPEN, 0, 5000));
    {
        bool seen[N];
        memset(seen, 0, sizeof seen);
        cs_net_input_stop(in);
        for (size_t i = 0; i < c.n; i++) {
            long k = strtol(c.v[i].data + strlen("<13>from connection "), NULL, 10);
            assert_true(k >= 0 && k < N);
            seen[k] = true;
        }
        for (int i = 0; i < N; i++) {
            assert_true(seen[i]);
        }
    }
    assert_int_equal(c.n, N);
    collector_free(&c);
}

static void test_idle_and_slowloris(void **state)
{
    collector c;
    cs_net_input *in;
    cs_net_input_opts o;
    cs_net_input_stats st;
    int slow, good, silent;
    int64_t t0, slow_closed_at = 0, silent_closed_at = 0;
    const char *drip = "<13>slowloris never ends";
    int good_lines = 0;
    (void)state;
    collector_init(&c);
    memset(&o, 0, sizeof o);
    o.idle_timeout_s = 1;
    in = start_input("tcp", "127.0.0.1", &o, &c);
    slow = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    good = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    silent = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    assert_true(wait_stat(in, ST_OPEN, 3, 5000));
    t0 = cs_monotonic_us();
    for (int step = 0; step < 9; step++) {   /* 9 x 300 ms */
        char msg[64];
        int k = snprintf(msg, sizeof msg, "<13>good %d\n", step);
        if (slow_closed_at == 0) {
            send(slow, drip + step, 1, MSG_NOSIGNAL);
        }
        send_all(good, msg, (size_t)k);
        good_lines++;
        for (int w = 0; w < 30; w++) {
            sleep_ms(10);
            if (slow_closed_at == 0 && peer_closed(slow, 0)) {
                slow_closed_at = cs_monotonic_us();
            }
            if (silent_closed_at == 0 && peer_closed(silent, 0)) {
                silent_closed_at = cs_monotonic_us();
            }
        }
    }
    assert_true(slow_closed_at != 0);
    assert_true(silent_closed_at != 0);
    print_message("slowloris closed after %lld ms, silent after %lld ms\n", (long long)(slow_closed_at - t0) / 1000,
                  (long long)(silent_closed_at - t0) / 1000);
    assert_true(slow_closed_at - t0 >= 900000 && slow_closed_at - t0 < 2500000);
    assert_true(silent_closed_at - t0 >= 900000 && silent_closed_at - t0 < 2500000);
    cs_net_input_stats_get(in, &st);
    assert_int_equal(st.idle_closed, 2);
    assert_int_equal(st.open_connections, 1);   /* the good one lives on */
    assert_true(wait_stat(in, ST_LINES, (uint64_t)good_lines + 1, 5000));
    close(good);
    close(slow);
    close(silent);
    cs_net_input_stop(in);
    /* the slow sender's partial line was delivered at close: nothing accepted is lost */
    {
        int found = 0, goods = 0;
        for (size_t i = 0; i < c.n; i++) {
            if (c.v[i].len >= 2 && c.v[i].len < strlen(drip) && memcmp(c.v[i].data, drip, c.v[i].len) == 0) {
                found++;   /* a prefix of what the slow sender dripped */
            } else if (strncmp(c.v[i].data, "<13>good ", 9) == 0) {
                goods++;
            }
        }
        assert_int_equal(found, 1);
        assert_int_equal(goods, good_lines);
    }
    collector_free(&c);
}

/* ---------- back-pressure ---------- */

static void test_backpressure_no_loss(void **state)
{
    enum { LINES = 200000 };
    collector c;
    cs_net_input *in;
    cs_net_input_stats st;
    int fd;
    char *blob;
    size_t len = 0;
    (void)state;
    collector_init(&c);
    c.full_every = 997;                                 /* refuse a line now and then ... */
    c.full_until = cs_monotonic_us() + 300000;          /* ... and everything for 300 ms */
    in = start_input("tcp", "127.0.0.1", NULL, &c);
    blob = malloc((size_t)LINES * 24);
    assert_non_null(blob);
    for (int i = 0; i < LINES; i++) {
        if (i % 2 == 0) {
            len += (size_t)snprintf(blob + len, 24, "<13>bp %07d\n", i);
        } else {
            len += (size_t)snprintf(blob + len, 24, "14 <13>bp %07d", i);
        }
    }
    fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    send_all(fd, blob, len);   /* blocks while the input is paused: TCP flow control */
    close(fd);
    assert_true(wait_stat(in, ST_LINES, LINES, 20000));
    assert_true(wait_stat(in, ST_OPEN, 0, 5000));
    cs_net_input_stats_get(in, &st);
    cs_net_input_stop(in);
    assert_int_equal(st.sink_full_drops, 0);
    assert_true(c.full_returned > 10);
    assert_int_equal(c.n, LINES);
    for (int i = 0; i < LINES; i++) {
        char want[24];
        int k = snprintf(want, sizeof want, "<13>bp %07d", i);
        expect_line(&c, (size_t)i, want, (size_t)k, false);
    }
    free(blob);
    collector_free(&c);
}

/* Lines read but not yet delivered when stop() is called come out before it
 * returns, partial last line included. */
static void test_stop_delivers_buffered(void **state)
{
    collector c;
    cs_net_input *in;
    cs_net_input_stats st;
    int fd;
    char msg[64];
    (void)state;
    collector_init(&c);
    c.full_until = cs_monotonic_us() + 400000;   /* nothing is taken at first */
    in = start_input("tcp", "127.0.0.1", NULL, &c);
    fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    for (int i = 0; i < 1000; i++) {
        int k = snprintf(msg, sizeof msg, "<13>pending %04d\n", i);
        send_all(fd, msg, (size_t)k);
    }
    send_str(fd, "<13>partial at stop");
    sleep_ms(100);
    cs_net_input_stop_stats(in, &st);   /* waits for the sink (up to 2 s), then delivers all */
    assert_int_equal(c.n, 1001);
    assert_int_equal(st.lines, 1001);
    assert_int_equal(st.sink_full_drops, 0);
    assert_int_equal(st.open_connections, 0);
    expect_line(&c, 1000, "<13>partial at stop", 19, false);
    close(fd);
    collector_free(&c);
}

/* A sink that never takes anything: stop() still returns, and counts. */
static void test_stop_full_sink_bounded(void **state)
{
    collector c;
    cs_net_input *in;
    cs_net_input_stats st;
    int fd;
    int64_t t0;
    (void)state;
    collector_init(&c);
    c.always_full = true;
    in = start_input("tcp", "127.0.0.1", NULL, &c);
    fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    send_str(fd, "<13>a\n<13>b\n<13>c\n<13>d");
    sleep_ms(100);
    assert_int_equal(stat_of(in, ST_LINES), 0);
    t0 = cs_monotonic_us();
    cs_net_input_stop_stats(in, &st);   /* retries for 2 s, then counts the 4 lines as dropped */
    assert_true(cs_monotonic_us() - t0 < 4000000);
    assert_int_equal(st.sink_full_drops, 4);
    assert_int_equal(st.lines, 0);
    assert_int_equal(c.n, 0);
    assert_true(c.full_returned >= 4);
    close(fd);
    collector_free(&c);
}

/* A sink answering another code stops the input; stop() stays safe. */
static void test_sink_error_stops(void **state)
{
    collector c;
    cs_net_input *in;
    int fd;
    (void)state;
    collector_init(&c);
    c.fail_rc = CS_ERR_CLOSED;
    in = start_input("tcp", "127.0.0.1", NULL, &c);
    fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    send_str(fd, "<13>x\n<13>y\n");
    assert_true(peer_closed(fd, 5000));   /* the input closed everything */
    assert_int_equal(stat_of(in, ST_LINES), 0);
    cs_net_input_stop(in);
    close(fd);
    collector_free(&c);
}

/* ---------- TLS ---------- */

typedef struct tls_files {
    char dir[64];
    char cert[128];
    char key[128];
} tls_files;

static void make_cert(tls_files *t)
{
    EVP_PKEY *pk;
    X509 *x;
    X509_NAME *nm;
    FILE *f;
    snprintf(t->dir, sizeof t->dir, "/tmp/cs_net_tls_XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->cert, sizeof t->cert, "%s/cert.pem", t->dir);
    snprintf(t->key, sizeof t->key, "%s/key.pem", t->dir);
    pk = EVP_EC_gen("P-256");
    assert_non_null(pk);
    x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, nm);
    assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
    f = fopen(t->key, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    f = fopen(t->cert, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
}

static void drop_cert(tls_files *t)
{
    unlink(t->cert);
    unlink(t->key);
    rmdir(t->dir);
}

/* A blocking TLS client; with_cert presents the same self-signed pair. */
static SSL *tls_connect(SSL_CTX **ctxp, const tls_files *t, int port, bool with_cert, int *fdp)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *s;
    int fd;
    assert_non_null(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, t->cert, NULL), 1);
    if (with_cert) {
        assert_int_equal(SSL_CTX_use_certificate_file(ctx, t->cert, SSL_FILETYPE_PEM), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM), 1);
    }
    fd = connect_to(AF_INET, port, SOCK_STREAM);
    s = SSL_new(ctx);
    assert_non_null(s);
    SSL_set_fd(s, fd);
    SSL_set_tlsext_host_name(s, "localhost");
    SSL_set1_host(s, "localhost");
    *ctxp = ctx;
    *fdp = fd;
    return s;
}

static void tls_close(SSL_CTX *ctx, SSL *s, int fd)
{
    SSL_shutdown(s);
    SSL_free(s);
    SSL_CTX_free(ctx);
    close(fd);
}

static void test_tls(void **state)
{
    tls_files t;
    collector c;
    cs_net_input *in;
    cs_net_input_opts o;
    cs_net_input_stats st;
    SSL_CTX *ctx;
    SSL *s;
    int fd;
    char msg[128], frame[160];
    char *big;
    const size_t bigsz = 100000;
    (void)state;
    make_cert(&t);
    collector_init(&c);
    memset(&o, 0, sizeof o);
    o.tls_cert = t.cert;
    o.tls_key = t.key;
    in = start_input("tls", "127.0.0.1", &o, &c);

    s = tls_connect(&ctx, &t, cs_net_input_port(in), false, &fd);
    if (SSL_connect(s) != 1) {
        char e[256];
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        fail_msg("SSL_connect: %s", e);
    }
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(msg, sizeof msg, "<13>Mar 12 08:00:00 host sshd[7]: tls message %04d \xff", i);
        int f = snprintf(frame, sizeof frame, "%d %s", n, msg);
        assert_int_equal(SSL_write(s, frame, f), f);
    }
    /* one message above max_line, cut and counted; the next one intact */
    big = malloc(bigsz);
    assert_non_null(big);
    memset(big, 'T', bigsz);
    {
        int f = snprintf(frame, sizeof frame, "%zu ", bigsz);
        assert_int_equal(SSL_write(s, frame, f), f);
        assert_int_equal(SSL_write(s, big, (int)bigsz), (int)bigsz);
        f = snprintf(frame, sizeof frame, "13 <13>after big");
        assert_int_equal(SSL_write(s, frame, f), f);
    }
    assert_true(wait_stat(in, ST_LINES, 1002, 10000));
    tls_close(ctx, s, fd);
    assert_true(wait_stat(in, ST_OPEN, 0, 5000));

    /* plain TCP to the TLS port: refused, counted, nothing delivered */
    fd = connect_to(AF_INET, cs_net_input_port(in), SOCK_STREAM);
    send_str(fd, "<13>Mar 12 08:00:00 host prog: plain text to a TLS port\n");
    assert_true(wait_stat(in, ST_TLS_ERR, 1, 5000));
    assert_true(peer_closed(fd, 5000));
    close(fd);
    cs_net_input_stats_get(in, &st);
    cs_net_input_stop(in);

    assert_int_equal(st.lines, 1002);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.tls_errors, 1);
    assert_int_equal(c.n, 1002);
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(msg, sizeof msg, "<13>Mar 12 08:00:00 host sshd[7]: tls message %04d \xff", i);
        expect_line(&c, (size_t)i, msg, (size_t)n, false);
        assert_string_equal(c.v[i].transport, "tls");
    }
    assert_int_equal(c.v[1000].len, CS_LINE_MAX_DEFAULT);
    assert_true(c.v[1000].meta.truncated);
    expect_line(&c, 1001, "<13>after big", 13, false);
    free(big);
    collector_free(&c);
    drop_cert(&t);
}

static void test_tls_client_cert_required(void **state)
{
    tls_files t;
    collector c;
    cs_net_input *in;
    cs_net_input_opts o;
    SSL_CTX *ctx;
    SSL *s;
    int fd;
    (void)state;
    make_cert(&t);
    collector_init(&c);
    memset(&o, 0, sizeof o);
    o.tls_cert = t.cert;
    o.tls_key = t.key;
    o.tls_ca = t.cert;   /* the self-signed certificate is its own CA */
    in = start_input("tls", "127.0.0.1", &o, &c);

    /* without a certificate: the handshake fails on the server */
    s = tls_connect(&ctx, &t, cs_net_input_port(in), false, &fd);
    if (SSL_connect(s) == 1) {
        /* TLS 1.3: the client finishes first; its first read sees the alert */
        char b[16];
        SSL_write(s, "7 <13>no\n", 9);
        assert_true(SSL_read(s, b, sizeof b) <= 0);
    }
    ERR_clear_error();
    SSL_free(s);
    SSL_CTX_free(ctx);
    close(fd);
    assert_true(wait_stat(in, ST_TLS_ERR, 1, 5000));

    /* with it: accepted */
    s = tls_connect(&ctx, &t, cs_net_input_port(in), true, &fd);
    assert_int_equal(SSL_connect(s), 1);
    assert_int_equal(SSL_write(s, "9 <13>hello", 11), 11);
    assert_true(wait_stat(in, ST_LINES, 1, 5000));
    tls_close(ctx, s, fd);
    cs_net_input_stop(in);
    assert_int_equal(c.n, 1);
    expect_line(&c, 0, "<13>hello", 9, false);
    collector_free(&c);
    drop_cert(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_udp_10k),
        cmocka_unit_test(test_udp_ipv6),
        cmocka_unit_test(test_udp_overload_exact),
        cmocka_unit_test(test_tcp_framing),
        cmocka_unit_test(test_tcp_framing_random),
        cmocka_unit_test(test_tcp_huge_lines),
        cmocka_unit_test(test_tcp_garbage),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_idle_and_slowloris),
        cmocka_unit_test(test_backpressure_no_loss),
        cmocka_unit_test(test_stop_delivers_buffered),
        cmocka_unit_test(test_stop_full_sink_bounded),
        cmocka_unit_test(test_sink_error_stops),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_tls_client_cert_required),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
