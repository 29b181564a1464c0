/* net_input.c - syslog listeners over UDP, TCP and TLS (see net_input.h).
 *
 * Design. Each input is one thread blocked in epoll_wait() on three kinds of
 * descriptors: the listening (or UDP) socket, an eventfd that stop() writes,
 * and the accepted connections. Epoll is level-triggered, so a handler may
 * stop early (read budget, paused sink) and the kernel reminds us later; the
 * one case the kernel cannot see - plaintext already decrypted inside an SSL
 * object - is kept on an "again" flag and revisited with a zero timeout.
 *
 * A connection owns one byte buffer [start, end) that grows from 32 KiB up to
 * max_line + 64 KiB and never further: every framing state consumes bytes as
 * soon as it can decide, and a message cut at max_line switches to a skip
 * state that throws the rest away as it arrives. The framing is a small state
 * machine (START -> LINE | OCTET -> START, with SKIP_LINE / SKIP_OCTET after
 * a cut) written so that a delivery refused with CS_ERR_FULL leaves the state
 * untouched: the same call later offers the very same line again. That is all
 * back-pressure needs: the connection is taken out of epoll, and a retry pass
 * every ~10 ms calls the parser again, then resumes reading.
 *
 * Time: monotonic microseconds for timeouts (last byte seen, start of the
 * message in progress), wall-clock microseconds for meta.received_us.
 *
 * UDP: recvmmsg() batches into a fixed array of 64 KiB slots (a datagram
 * cannot be larger). SO_RXQ_OVFL puts the socket's cumulative drop counter
 * (as it stood when the datagram was queued) in a control message;
 * SO_MEMINFO reads the live counter on each tick and at stop, which covers
 * drops after the last datagram. Both are the same 32-bit kernel counter, so
 * kernel_drops advances by the wrapped difference, never backwards.
 *
 * Stats are relaxed atomics written by the loop and read by anyone.
 * The thread blocks every signal: SIGPIPE from a TLS write to a vanished
 * client becomes EPIPE, and process signals go to other threads.
 */
#include "net_input.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../../runtime/log.h"
#include "../../runtime/timeutil.h"

#define LOG_COMP "net"
#define BUF_SLACK (64u * 1024u)          /* buffer cap = max_line + this */
#define BUF_INIT (32u * 1024u)
#define MIN_READ 4096u
#define READ_BUDGET (512u * 1024u)       /* bytes per connection per wakeup */
#define UDP_BATCH 32
#define UDP_SLOT 65536u
#define UDP_BATCHES_PER_WAKE 16
#define RETRY_US 1000                    /* back-pressure retry period: short, a queue drains fast */
#define ACCEPT_PAUSE_US 100000           /* after EMFILE and friends */
#define UDP_TICK_US 100000
#define STOP_DRAIN_US 1000000            /* stop(), UDP: read what the kernel holds */
#define STOP_RETRY_US 2000000            /* stop(), TCP/TLS: read, deliver, wait for a full sink */
#define MAX_EVENTS 64

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

typedef enum { TR_UDP, TR_TCP, TR_TLS } transport_kind;

typedef enum {
    FR_START,       /* between messages */
    FR_LINE,        /* newline-framed message in progress */
    FR_OCTET,       /* octet-counted body in progress: `remaining` bytes declared */
    FR_SKIP_LINE,   /* a cut line: discard up to the terminator */
    FR_SKIP_OCTET   /* a cut counted message: discard `remaining` bytes */
} frame_state;

typedef enum {
    RD_MORE,        /* stopped on the read budget: more may wait */
    RD_DRAINED,     /* nothing more to read for now; the connection lives */
    RD_PAUSED,      /* the sink is full: retry later */
    RD_CLOSED       /* the connection is gone (freed), or the input failed */
} read_result;

typedef struct conn {
    struct conn *prev, *next;
    int fd;
    uint32_t events;        /* epoll interest while registered */
    SSL *ssl;
    bool handshaking;
    bool registered;
    bool paused;            /* sink full: out of epoll until retry_at */
    bool eof;               /* peer closed or failed: deliver the rest, then close */
    bool again;             /* TLS: plaintext waits inside SSL */
    int64_t retry_at;
    int64_t last_rx;        /* monotonic: last byte read (or accept) */
    int64_t msg_t0;         /* monotonic: start of the message in progress, 0 = none */
    int64_t rx_us;          /* wall clock of the last read, for meta */
    cs_ip peer;
    uint16_t peer_port;
    char *buf;
    size_t cap, start, end;
    frame_state st;
    size_t scan;            /* FR_LINE: bytes already searched for a terminator */
    uint64_t remaining;     /* FR_OCTET / FR_SKIP_OCTET */
} conn;

typedef struct net_stats {
    _Atomic uint64_t lines, bytes, truncated, sink_full_drops, kernel_drops, connections,
        rejected_connections, idle_closed, framing_errors, tls_errors;
    _Atomic int open_connections;
} net_stats;

typedef union ctrl_slot {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(uint32_t)) + 64];
} ctrl_slot;

typedef struct udp_state {
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sockaddr_storage addr[UDP_BATCH];
    ctrl_slot ctrl[UDP_BATCH];
    char *data;              /* UDP_BATCH * UDP_SLOT */
    uint32_t drops_seen;     /* last value of the kernel's cumulative counter */
} udp_state;

struct cs_net_input {
    char *name;
    transport_kind kind;
    const char *tname;
    size_t max_line;
    size_t buf_max;
    int max_conns;
    int64_t idle_us;           /* <= 0: never */
    int64_t tick_us;
    cs_line_sink sink;
    void *ud;
    int lfd, epfd, evfd;
    int port;
    SSL_CTX *ssl_ctx;
    pthread_t thread;
    bool thread_started;
    atomic_bool stopping;
    /* loop thread only */
    bool failed;               /* the sink asked to stop */
    bool discarding;           /* stop(): the sink stayed full; count instead */
    bool final;                /* stop(): read until the kernel says EAGAIN */
    bool accept_paused;
    int64_t accept_retry_at;
    int64_t next_tick;
    conn *conns;
    int nconns, npaused, nagain;
    udp_state *udp;
    net_stats st;
};

/* Sentinels for epoll data.ptr. */
static char tag_listen, tag_event;

static void stat_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---------- small helpers ---------- */

static void peer_from(const struct sockaddr_storage *ss, cs_ip *ip, uint16_t *port)
{
    memset(ip, 0, sizeof *ip);
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
        ip->family = 4;
        memcpy(ip->addr, &a->sin_addr, 4);
        *port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            ip->family = 4;
            memcpy(ip->addr, &a->sin6_addr.s6_addr[12], 4);
        } else {
            ip->family = 6;
            memcpy(ip->addr, &a->sin6_addr, 16);
        }
        *port = ntohs(a->sin6_port);
    }
}

/* First '\n' or '\0' in p[from, lim), or lim. */
static size_t find_term(const char *p, size_t from, size_t lim)
{
    const char *nl = memchr(p + from, '\n', lim - from);
    size_t stop = nl != NULL ? (size_t)(nl - p) : lim;
    const char *z = memchr(p + from, '\0', stop - from);
    return z != NULL ? (size_t)(z - p) : stop;
}

/* Length without a trailing LF, CRLF or NULs. */
static size_t strip_trailer(const char *p, size_t len)
{
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == '\0')) {
        len--;
    }
    return len;
}

static const char *ssl_reason(char *buf, size_t sz)
{
    unsigned long e = ERR_get_error();
    if (e == 0) {
        snprintf(buf, sz, "%s", errno != 0 ? strerror(errno) : "unknown TLS error");
    } else {
        ERR_error_string_n(e, buf, sz);
    }
    ERR_clear_error();
    return buf;
}

/* Hand one line to the sink. CS_OK: taken (counted). CS_ERR_FULL: not taken,
 * nothing counted (the caller decides: drop for UDP, retry for TCP). Any other
 * code: the input stops. While discarding (stop() gave up on a full sink) the
 * line is counted as a sink-full drop and reported taken. */
static cs_rc deliver(cs_net_input *in, const cs_ip *peer, uint16_t port, int64_t rx_us, const char *p,
                     size_t len, bool trunc)
{
    cs_line_meta m;
    cs_rc rc;

    if (in->failed) {
        return CS_ERR_CLOSED;
    }
    if (in->discarding) {
        stat_add(&in->st.sink_full_drops, 1);
        return CS_OK;
    }
    memset(&m, 0, sizeof m);
    m.transport = in->tname;
    m.source = in->name;
    m.peer = *peer;
    m.peer_port = port;
    m.received_us = rx_us;
    m.truncated = trunc;
    rc = in->sink(p, len, &m, in->ud);
    if (rc == CS_OK) {
        stat_add(&in->st.lines, 1);
        if (trunc) {
            stat_add(&in->st.truncated, 1);
        }
    } else if (rc != CS_ERR_FULL) {
        CS_ERROR(LOG_COMP, "%s: the sink answered \"%s\": input stopped", in->name, cs_rc_str(rc));
        in->failed = true;
    }
    return rc;
}

/* ---------- TCP / TLS framing ---------- */

static cs_rc conn_deliver(cs_net_input *in, conn *c, const char *p, size_t len, bool trunc)
{
    return deliver(in, &c->peer, c->peer_port, c->rx_us, p, len, trunc);
}

static void msg_done(conn *c)
{
    c->st = FR_START;
    c->msg_t0 = 0;
}

/* Deliver every message the buffer holds; at eof also the partial one.
 * Returns CS_OK (needs more bytes, or all done), CS_ERR_FULL (stopped on this
 * very message, state untouched: call again later) or the sink's stop code. */
static cs_rc conn_parse(cs_net_input *in, conn *c)
{
    const size_t max = in->max_line;
    cs_rc rc;

    if (c->buf == NULL) {
        return CS_OK;
    }
    for (;;) {
        char *p = c->buf + c->start;
        size_t avail = c->end - c->start;

        switch (c->st) {
        case FR_START: {
            size_t i = 0;
            size_t d = 0;
            uint64_t n = 0;
            while (i < avail && (p[i] == '\n' || p[i] == '\r' || p[i] == '\0')) {
                i++;
            }
            c->start += i;
            p += i;
            avail -= i;
            if (avail == 0) {
                c->start = 0;
                c->end = 0;
                return CS_OK;
            }
            c->scan = 0;
            if (p[0] < '0' || p[0] > '9') {
                c->st = FR_LINE;
                break;
            }
            while (d < avail && d < 11 && p[d] >= '0' && p[d] <= '9') {
                n = n * 10 + (uint64_t)(p[d] - '0');
                d++;
            }
            if (d == avail && d <= 10) {
                if (!c->eof) {
                    return CS_OK;   /* the rest of the count is on its way */
                }
                c->st = FR_LINE;    /* a bare number at close: a line */
                break;
            }
            if (d <= 10 && p[d] == ' ' && n > 0) {
                c->start += d + 1;
                c->remaining = n;
                c->st = FR_OCTET;
                break;
            }
            stat_add(&in->st.framing_errors, 1);
            c->st = FR_LINE;
            break;
        }
        case FR_LINE: {
            size_t lim = avail < max + 2 ? avail : max + 2;
            size_t k = find_term(p, c->scan, lim);
            if (k < lim) {
                size_t len = k;
                bool trunc;
                if (p[k] == '\n' && len > 0 && p[len - 1] == '\r') {
                    len--;
                }
                trunc = len > max;
                if ((rc = conn_deliver(in, c, p, trunc ? max : len, trunc)) != CS_OK) {
                    return rc;
                }
                c->start += k + 1;
                msg_done(c);
                break;
            }
            c->scan = lim;
            if (avail >= max + 2) {
                if ((rc = conn_deliver(in, c, p, max, true)) != CS_OK) {
                    return rc;
                }
                c->start += max;
                c->st = FR_SKIP_LINE;
                break;
            }
            if (c->eof) {
                size_t len = strip_trailer(p, avail);
                if (len > 0 && (rc = conn_deliver(in, c, p, len, false)) != CS_OK) {
                    return rc;
                }
                c->start = c->end;
                msg_done(c);
                break;
            }
            return CS_OK;
        }
        case FR_SKIP_LINE: {
            size_t k = find_term(p, 0, avail);
            if (k < avail) {
                c->start += k + 1;
                msg_done(c);
                break;
            }
            c->start = c->end;
            if (c->eof) {
                msg_done(c);
                break;
            }
            return CS_OK;
        }
        case FR_OCTET: {
            size_t want = c->remaining < max ? (size_t)c->remaining : max;
            if (avail >= want) {
                if (c->remaining <= max) {
                    size_t len = strip_trailer(p, want);
                    if (len > 0 && (rc = conn_deliver(in, c, p, len, false)) != CS_OK) {
                        return rc;
                    }
                    c->start += want;
                    msg_done(c);
                    break;
                }
                if ((rc = conn_deliver(in, c, p, max, true)) != CS_OK) {
                    return rc;
                }
                c->start += max;
                c->remaining -= max;
                c->st = FR_SKIP_OCTET;
                break;
            }
            if (c->eof) {
                /* the sender closed inside a counted frame: deliver what came */
                size_t len = strip_trailer(p, avail);
                if (len > 0 && (rc = conn_deliver(in, c, p, len, true)) != CS_OK) {
                    return rc;
                }
                stat_add(&in->st.framing_errors, 1);
                c->start = c->end;
                msg_done(c);
                break;
            }
            return CS_OK;
        }
        case FR_SKIP_OCTET: {
            size_t n = avail < c->remaining ? avail : (size_t)c->remaining;
            c->start += n;
            c->remaining -= n;
            if (c->remaining == 0 || c->eof) {
                msg_done(c);
                break;
            }
            return CS_OK;
        }
        }
    }
}

/* Remember when the message in progress started (for the slow-sender rule). */
static void conn_mark(conn *c, int64_t mono)
{
    bool pending = c->st != FR_START || c->end > c->start;
    if (!pending) {
        c->msg_t0 = 0;
    } else if (c->msg_t0 == 0) {
        c->msg_t0 = mono;
    }
}

/* ---------- connections ---------- */

static void set_open(cs_net_input *in)
{
    atomic_store_explicit(&in->st.open_connections, in->nconns, memory_order_relaxed);
}

static void conn_close(cs_net_input *in, conn *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        in->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    if (c->paused) {
        in->npaused--;
    }
    if (c->again) {
        in->nagain--;
    }
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
    }
    close(c->fd);   /* also leaves the epoll set */
    free(c->buf);
    free(c);
    in->nconns--;
    set_open(in);
}

static void conn_interest(cs_net_input *in, conn *c, uint32_t events)
{
    struct epoll_event ev;
    if (c->registered && c->events == events) {
        return;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.ptr = c;
    if (epoll_ctl(in->epfd, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0) {
        c->registered = true;
        c->events = events;
    } else {
        CS_WARN(LOG_COMP, "%s: epoll_ctl: %s", in->name, strerror(errno));
    }
}

static void conn_pause(cs_net_input *in, conn *c, int64_t mono)
{
    if (!c->paused) {
        c->paused = true;
        in->npaused++;
        if (c->registered) {
            epoll_ctl(in->epfd, EPOLL_CTL_DEL, c->fd, NULL);
            c->registered = false;
        }
    }
    c->retry_at = mono + RETRY_US;
}

static void conn_unpause(cs_net_input *in, conn *c)
{
    if (c->paused) {
        c->paused = false;
        in->npaused--;
    }
}

static void conn_set_again(cs_net_input *in, conn *c, bool on)
{
    if (c->again != on) {
        c->again = on;
        in->nagain += on ? 1 : -1;
    }
}

/* Room to read at least MIN_READ bytes (or whatever is left below the cap). */
static bool conn_space(cs_net_input *in, conn *c)
{
    if (c->buf == NULL) {
        c->cap = BUF_INIT < in->buf_max ? BUF_INIT : in->buf_max;
        c->buf = malloc(c->cap);
        if (c->buf == NULL) {
            return false;
        }
    }
    if (c->start == c->end) {
        c->start = 0;
        c->end = 0;
    }
    if (c->cap - c->end >= MIN_READ) {
        return true;
    }
    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->cap - c->end < MIN_READ && c->cap < in->buf_max) {
        size_t ncap = c->cap * 2 < in->buf_max ? c->cap * 2 : in->buf_max;
        char *nb = realloc(c->buf, ncap);
        if (nb == NULL) {
            return c->cap > c->end;
        }
        c->buf = nb;
        c->cap = ncap;
    }
    return c->cap > c->end;
}

/* Parse after new bytes or at eof; pause on a full sink, close when done. */
static read_result conn_after_read(cs_net_input *in, conn *c, int64_t mono)
{
    cs_rc rc = conn_parse(in, c);
    if (rc == CS_ERR_FULL) {
        conn_mark(c, mono);
        conn_pause(in, c, mono);
        return RD_PAUSED;
    }
    if (rc != CS_OK) {
        return RD_CLOSED;   /* in->failed: the loop ends and closes everything */
    }
    conn_mark(c, mono);
    if (c->eof) {
        conn_close(in, c);
        return RD_CLOSED;
    }
    return RD_DRAINED;
}

/* Read up to budget bytes, parsing as it goes. */
static read_result conn_read(cs_net_input *in, conn *c, size_t budget)
{
    char why[256];
    read_result res = RD_DRAINED;
    read_result rr;

    conn_set_again(in, c, false);
    while (!c->eof && !in->failed) {
        ssize_t n;
        size_t room;
        if (budget == 0) {
            res = RD_MORE;
            break;
        }
        if (!conn_space(in, c)) {
            CS_WARN(LOG_COMP, "%s: out of memory for a connection buffer: closing it", in->name);
            c->eof = true;
            break;
        }
        room = c->cap - c->end;
        if (c->ssl == NULL) {
            n = recv(c->fd, c->buf + c->end, room, 0);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    c->eof = true;   /* reset: deliver what we have */
                }
                break;
            }
            if (n == 0) {
                c->eof = true;
                break;
            }
        } else {
            int r;
            ERR_clear_error();
            r = SSL_read(c->ssl, c->buf + c->end, room > INT32_MAX ? INT32_MAX : (int)room);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ) {
                    conn_interest(in, c, EPOLLIN);
                } else if (e == SSL_ERROR_WANT_WRITE) {
                    conn_interest(in, c, EPOLLIN | EPOLLOUT);
                } else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
                    ERR_clear_error();
                    c->eof = true;
                } else {
                    stat_add(&in->st.tls_errors, 1);
                    CS_DEBUG(LOG_COMP, "%s: TLS read: %s", in->name, ssl_reason(why, sizeof why));
                    c->eof = true;
                }
                break;
            }
            n = r;
            if (c->registered && c->events != EPOLLIN) {
                conn_interest(in, c, EPOLLIN);
            }
        }
        stat_add(&in->st.bytes, (uint64_t)n);
        c->end += (size_t)n;
        c->last_rx = cs_monotonic_us();
        c->rx_us = cs_now_us();
        budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
        if ((rr = conn_after_read(in, c, c->last_rx)) != RD_DRAINED) {
            return rr;
        }
        if (c->ssl == NULL && (size_t)n < room && !in->final) {
            break;   /* the socket is most likely drained; epoll says if not */
        }
    }
    if (in->failed) {
        return RD_CLOSED;
    }
    if (c->eof) {
        return conn_after_read(in, c, cs_monotonic_us());   /* the partial message, then close */
    }
    if (res == RD_MORE && c->ssl != NULL && SSL_pending(c->ssl) > 0) {
        conn_set_again(in, c, true);
    }
    return res;
}

static void conn_handshake(cs_net_input *in, conn *c)
{
    char why[256];
    int r;
    ERR_clear_error();
    r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->handshaking = false;
        c->msg_t0 = 0;
        c->last_rx = cs_monotonic_us();
        conn_interest(in, c, EPOLLIN);
        (void)conn_read(in, c, READ_BUDGET);   /* data may have come with the last flight */
        return;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        conn_interest(in, c, EPOLLIN);
        return;
    case SSL_ERROR_WANT_WRITE:
        conn_interest(in, c, EPOLLOUT);
        return;
    default:
        stat_add(&in->st.tls_errors, 1);
        CS_DEBUG(LOG_COMP, "%s: TLS handshake failed: %s", in->name, ssl_reason(why, sizeof why));
        conn_close(in, c);
        return;
    }
}

static void on_conn_event(cs_net_input *in, conn *c)
{
    if (c->paused) {
        return;
    }
    if (c->handshaking) {
        conn_handshake(in, c);
    } else {
        (void)conn_read(in, c, READ_BUDGET);
    }
}

static void reject(int fd)
{
    struct linger lg;
    lg.l_onoff = 1;
    lg.l_linger = 0;   /* reset, so the client knows at once */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void on_accept(cs_net_input *in)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        conn *c;
        int fd;
        memset(&ss, 0, sizeof ss);
        fd = accept4(in->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                struct epoll_event ev;
                CS_WARN(LOG_COMP, "%s: accept: %s (pausing accepts for 100 ms)", in->name, strerror(errno));
                memset(&ev, 0, sizeof ev);
                ev.data.ptr = &tag_listen;
                epoll_ctl(in->epfd, EPOLL_CTL_MOD, in->lfd, &ev);
                in->accept_paused = true;
                in->accept_retry_at = cs_monotonic_us() + ACCEPT_PAUSE_US;
            }
            return;
        }
        if (in->nconns >= in->max_conns) {
            reject(fd);
            stat_add(&in->st.rejected_connections, 1);
            continue;
        }
        c = calloc(1, sizeof *c);
        if (c == NULL) {
            reject(fd);
            stat_add(&in->st.rejected_connections, 1);
            continue;
        }
        c->fd = fd;
        peer_from(&ss, &c->peer, &c->peer_port);
        c->last_rx = cs_monotonic_us();
        c->rx_us = cs_now_us();
        if (in->kind == TR_TLS) {
            c->ssl = SSL_new(in->ssl_ctx);
            if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
                if (c->ssl != NULL) {
                    SSL_free(c->ssl);
                }
                free(c);
                reject(fd);
                stat_add(&in->st.rejected_connections, 1);
                ERR_clear_error();
                continue;
            }
            SSL_set_accept_state(c->ssl);
            c->handshaking = true;
            c->msg_t0 = c->last_rx;   /* a handshake is a message in progress */
        }
        c->next = in->conns;
        if (in->conns != NULL) {
            in->conns->prev = c;
        }
        in->conns = c;
        in->nconns++;
        set_open(in);
        stat_add(&in->st.connections, 1);
        conn_interest(in, c, EPOLLIN);
        if (!c->registered) {
            conn_close(in, c);
        }
    }
}

/* ---------- UDP ---------- */

static void udp_drops(cs_net_input *in, uint32_t now_count)
{
    uint32_t d = now_count - in->udp->drops_seen;
    if (d != 0 && d < 0x80000000u) {   /* never backwards: an older reading is ignored */
        in->udp->drops_seen = now_count;
        stat_add(&in->st.kernel_drops, d);
    }
}

static void udp_meminfo(cs_net_input *in)
{
    uint32_t mi[SK_MEMINFO_VARS];
    socklen_t l = sizeof mi;
    memset(mi, 0, sizeof mi);
    if (getsockopt(in->lfd, SOL_SOCKET, SO_MEMINFO, mi, &l) == 0 && l > SK_MEMINFO_DROPS * sizeof(uint32_t)) {
        udp_drops(in, mi[SK_MEMINFO_DROPS]);
    }
}

static void udp_datagram(cs_net_input *in, const char *p, size_t len, bool cut, const cs_ip *peer, uint16_t port,
                         int64_t rx_us)
{
    size_t off = 0;
    while (off < len && !in->failed) {
        const char *nl = memchr(p + off, '\n', len - off);
        size_t k = nl != NULL ? (size_t)(nl - p) : len;
        size_t n = strip_trailer(p + off, k - off);
        if (n > 0) {
            bool trunc = n > in->max_line || (k == len && cut);
            cs_rc rc = deliver(in, peer, port, rx_us, p + off, n > in->max_line ? in->max_line : n, trunc);
            if (rc == CS_ERR_FULL) {
                stat_add(&in->st.sink_full_drops, 1);
            }
        }
        off = k + 1;
    }
}

/* Returns true when a full budget of batches was read (more may wait). */
static bool udp_read(cs_net_input *in, int batches)
{
    udp_state *u = in->udp;
    for (int b = 0; b < batches && !in->failed; b++) {
        int n;
        int64_t rx_us;
        for (int i = 0; i < UDP_BATCH; i++) {
            struct msghdr *h = &u->msgs[i].msg_hdr;
            u->iov[i].iov_base = u->data + (size_t)i * UDP_SLOT;
            u->iov[i].iov_len = UDP_SLOT;
            h->msg_name = &u->addr[i];
            h->msg_namelen = sizeof u->addr[i];
            h->msg_iov = &u->iov[i];
            h->msg_iovlen = 1;
            h->msg_control = u->ctrl[i].buf;
            h->msg_controllen = sizeof u->ctrl[i].buf;
            h->msg_flags = 0;
            u->msgs[i].msg_len = 0;
        }
        n = recvmmsg(in->lfd, u->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                CS_WARN(LOG_COMP, "%s: recvmmsg: %s", in->name, strerror(errno));
            }
            return false;
        }
        rx_us = cs_now_us();
        for (int i = 0; i < n; i++) {
            struct msghdr *h = &u->msgs[i].msg_hdr;
            cs_ip peer;
            uint16_t port;
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm != NULL; cm = CMSG_NXTHDR(h, cm)) {
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL &&
                    cm->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
                    uint32_t v;
                    memcpy(&v, CMSG_DATA(cm), sizeof v);
                    udp_drops(in, v);
                }
            }
            peer_from(&u->addr[i], &peer, &port);
            stat_add(&in->st.bytes, u->msgs[i].msg_len);
            udp_datagram(in, (const char *)u->iov[i].iov_base, u->msgs[i].msg_len, (h->msg_flags & MSG_TRUNC) != 0,
                         &peer, port, rx_us);
        }
        if (n < UDP_BATCH) {
            return false;
        }
    }
    return true;
}

/* ---------- the loop ---------- */

/* Offer the refused line again; once the buffer is delivered, read on. */
static void retry_paused(cs_net_input *in, int64_t mono)
{
    conn *next;
    for (conn *c = in->conns; c != NULL && !in->failed; c = next) {
        cs_rc rc;
        next = c->next;
        if (!c->paused || mono < c->retry_at) {
            continue;
        }
        rc = conn_parse(in, c);
        if (rc == CS_ERR_FULL) {
            c->retry_at = mono + RETRY_US;
            continue;
        }
        if (rc != CS_OK) {
            return;
        }
        conn_unpause(in, c);
        conn_mark(c, mono);
        if (c->eof) {
            conn_close(in, c);
            continue;
        }
        c->last_rx = mono;   /* the wait was ours, not the client's */
        if (c->msg_t0 != 0) {
            c->msg_t0 = mono;
        }
        conn_interest(in, c, c->events != 0 ? c->events : EPOLLIN);
        (void)conn_read(in, c, READ_BUDGET);   /* TLS may hold plaintext epoll cannot see */
    }
}

static void run_again(cs_net_input *in)
{
    conn *next;
    for (conn *c = in->conns; c != NULL && in->nagain > 0 && !in->failed; c = next) {
        next = c->next;
        if (c->again) {
            (void)conn_read(in, c, READ_BUDGET);
        }
    }
}

static void tick(cs_net_input *in, int64_t mono)
{
    conn *next;
    if (in->kind == TR_UDP) {
        udp_meminfo(in);
    }
    if (in->accept_paused && mono >= in->accept_retry_at) {
        struct epoll_event ev;
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        ev.data.ptr = &tag_listen;
        epoll_ctl(in->epfd, EPOLL_CTL_MOD, in->lfd, &ev);
        in->accept_paused = false;
    }
    if (in->idle_us <= 0) {
        return;
    }
    for (conn *c = in->conns; c != NULL && !in->failed; c = next) {
        bool quiet, slow;
        next = c->next;
        if (c->paused) {
            continue;
        }
        quiet = mono - c->last_rx > in->idle_us;
        slow = c->msg_t0 != 0 && mono - c->msg_t0 > in->idle_us;
        if (!quiet && !slow) {
            continue;
        }
        stat_add(&in->st.idle_closed, 1);
        CS_DEBUG(LOG_COMP, "%s: closing a connection: %s", in->name,
                 quiet ? "idle" : "message incomplete for too long");
        if (c->handshaking) {
            conn_close(in, c);
            continue;
        }
        c->eof = true;
        (void)conn_after_read(in, c, mono);   /* delivers the partial message, then closes */
    }
}

static int loop_timeout(cs_net_input *in, int64_t mono)
{
    int64_t t = in->next_tick - mono;
    if (in->nagain > 0) {
        return 0;
    }
    if (in->npaused > 0 && t > RETRY_US) {
        t = RETRY_US;
    }
    if (t < 0) {
        t = 0;
    }
    return (int)((t + 999) / 1000);
}

/* stop() for TCP/TLS: read what the kernel holds, deliver everything (the
 * partial last messages too), wait a bounded time for a full sink, close.
 * Lines a sink still refuses at the deadline are counted as dropped. */
static void final_stream(cs_net_input *in)
{
    int64_t deadline = cs_monotonic_us() + STOP_RETRY_US;
    conn *next;

    in->final = true;
    while (in->conns != NULL && !in->failed && cs_monotonic_us() < deadline) {
        bool waiting = false;
        for (conn *c = in->conns; c != NULL && !in->failed; c = next) {
            int64_t mono = cs_monotonic_us();
            read_result r;
            next = c->next;
            if (c->handshaking) {
                conn_close(in, c);
                continue;
            }
            if (c->paused) {
                cs_rc rc;
                if (mono < c->retry_at) {
                    waiting = true;
                    continue;
                }
                rc = conn_parse(in, c);
                if (rc == CS_ERR_FULL) {
                    c->retry_at = mono + RETRY_US;
                    waiting = true;
                    continue;
                }
                if (rc != CS_OK) {
                    return;
                }
                conn_unpause(in, c);
            }
            r = c->eof ? conn_after_read(in, c, mono) : conn_read(in, c, READ_BUDGET);
            if (r == RD_DRAINED) {
                c->eof = true;   /* nothing more in the kernel: the partial message goes too */
                r = conn_after_read(in, c, mono);
            }
            if (r == RD_PAUSED) {
                waiting = true;
            }
        }
        if (waiting) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
    }
    if (in->conns != NULL && !in->failed) {
        CS_WARN(LOG_COMP, "%s: stop: the sink stayed full; buffered lines are counted as dropped", in->name);
        in->discarding = true;
        for (conn *c = in->conns; c != NULL; c = c->next) {
            c->eof = true;
            (void)conn_parse(in, c);
        }
    }
}

static void final_phase(cs_net_input *in)
{
    if (in->kind == TR_UDP) {
        int64_t deadline = cs_monotonic_us() + STOP_DRAIN_US;
        while (!in->failed && cs_monotonic_us() < deadline && udp_read(in, UDP_BATCHES_PER_WAKE)) {
        }
        udp_meminfo(in);
        return;
    }
    final_stream(in);
}

static void *loop_main(void *arg)
{
    cs_net_input *in = arg;
    struct epoll_event evs[MAX_EVENTS];

    in->next_tick = cs_monotonic_us() + in->tick_us;
    while (!atomic_load(&in->stopping) && !in->failed) {
        int64_t mono = cs_monotonic_us();
        int n = epoll_wait(in->epfd, evs, MAX_EVENTS, loop_timeout(in, mono));
        if (n < 0 && errno != EINTR) {
            CS_ERROR(LOG_COMP, "%s: epoll_wait: %s", in->name, strerror(errno));
            break;
        }
        for (int i = 0; i < n && !in->failed; i++) {
            void *p = evs[i].data.ptr;
            if (p == &tag_event) {
                uint64_t v;
                ssize_t r = read(in->evfd, &v, sizeof v);
                (void)r;
            } else if (p == &tag_listen) {
                if (in->kind == TR_UDP) {
                    udp_read(in, UDP_BATCHES_PER_WAKE);
                } else {
                    on_accept(in);
                }
            } else {
                on_conn_event(in, p);
            }
        }
        mono = cs_monotonic_us();
        if (in->npaused > 0 && !in->failed) {
            retry_paused(in, mono);
        }
        if (in->nagain > 0 && !in->failed) {
            run_again(in);
        }
        if (mono >= in->next_tick && !in->failed) {
            tick(in, mono);
            in->next_tick = mono + in->tick_us;
        }
    }
    if (!in->failed) {
        final_phase(in);
    }
    while (in->conns != NULL) {
        conn_close(in, in->conns);
    }
    return NULL;
}

/* ---------- start / stop ---------- */

static void input_free(cs_net_input *in)
{
    while (in->conns != NULL) {
        conn_close(in, in->conns);
    }
    if (in->lfd >= 0) {
        close(in->lfd);
    }
    if (in->evfd >= 0) {
        close(in->evfd);
    }
    if (in->epfd >= 0) {
        close(in->epfd);
    }
    if (in->ssl_ctx != NULL) {
        SSL_CTX_free(in->ssl_ctx);
    }
    if (in->udp != NULL) {
        free(in->udp->data);
        free(in->udp);
    }
    free(in->name);
    free(in);
}

static cs_rc tls_setup(cs_net_input *in, const cs_net_input_opts *o)
{
    char why[256];
    static const unsigned char sid[] = "citysoc";
    SSL_CTX *ctx;

    if (o->tls_cert == NULL || o->tls_key == NULL) {
        return cs_err_set(CS_ERR_CONFIG, "%s: tls needs tls_cert and tls_key", in->name);
    }
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        return cs_err_set(CS_ERR_IO, "%s: TLS context: %s", in->name, ssl_reason(why, sizeof why));
    }
    in->ssl_ctx = ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1) {
        return cs_err_set(CS_ERR_IO, "%s: TLS certificate %s: %s", in->name, o->tls_cert, ssl_reason(why, sizeof why));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1) {
        return cs_err_set(CS_ERR_IO, "%s: TLS key %s: %s", in->name, o->tls_key, ssl_reason(why, sizeof why));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        return cs_err_set(CS_ERR_CONFIG, "%s: TLS key %s does not match certificate %s", in->name, o->tls_key,
                          o->tls_cert);
    }
    if (o->tls_ca != NULL) {
        STACK_OF(X509_NAME) *names;
        if (SSL_CTX_load_verify_locations(ctx, o->tls_ca, NULL) != 1) {
            return cs_err_set(CS_ERR_IO, "%s: TLS CA %s: %s", in->name, o->tls_ca, ssl_reason(why, sizeof why));
        }
        names = SSL_load_client_CA_file(o->tls_ca);
        if (names != NULL) {
            SSL_CTX_set_client_CA_list(ctx, names);
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    ERR_clear_error();
    return CS_OK;
}

static cs_rc parse_listen(const cs_net_input_opts *o, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
    const char *a = o->listen != NULL ? o->listen : "127.0.0.1";
    char tmp[64];
    size_t n = strlen(a);
    memset(ss, 0, sizeof *ss);
    if (n >= 2 && a[0] == '[' && a[n - 1] == ']' && n - 2 < sizeof tmp) {
        memcpy(tmp, a + 1, n - 2);
        tmp[n - 2] = '\0';
        a = tmp;
    }
    if (strchr(a, ':') == NULL) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
        if (inet_pton(AF_INET, a, &s4->sin_addr) != 1) {
            return cs_err_set(CS_ERR_CONFIG, "listen address \"%s\" is not an IPv4 or IPv6 literal", o->listen);
        }
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *sl = sizeof *s4;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;
        if (inet_pton(AF_INET6, a, &s6->sin6_addr) != 1) {
            return cs_err_set(CS_ERR_CONFIG, "listen address \"%s\" is not an IPv4 or IPv6 literal", o->listen);
        }
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *sl = sizeof *s6;
    }
    return CS_OK;
}

static cs_rc open_socket(cs_net_input *in, const cs_net_input_opts *o)
{
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    int one = 1;
    cs_rc rc;
    const char *where = o->listen != NULL ? o->listen : "127.0.0.1";

    if ((rc = parse_listen(o, o->port, &ss, &sl)) != CS_OK) {
        return cs_err_wrap(rc, "%s", in->name);
    }
    in->lfd = socket(ss.ss_family, (in->kind == TR_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (in->lfd < 0) {
        return cs_err_set(CS_ERR_IO, "%s: socket: %s", in->name, strerror(errno));
    }
    if (in->kind != TR_UDP) {
        setsockopt(in->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (o->rcvbuf > 0 && setsockopt(in->lfd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof o->rcvbuf) != 0) {
        CS_WARN(LOG_COMP, "%s: SO_RCVBUF %d: %s", in->name, o->rcvbuf, strerror(errno));
    }
    if (in->kind == TR_UDP && setsockopt(in->lfd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) != 0) {
        return cs_err_set(CS_ERR_IO, "%s: SO_RXQ_OVFL: %s", in->name, strerror(errno));
    }
    if (bind(in->lfd, (struct sockaddr *)&ss, sl) != 0) {
        return cs_err_set(CS_ERR_IO, "%s: cannot bind %s port %d: %s", in->name, where, o->port, strerror(errno));
    }
    if (in->kind != TR_UDP && listen(in->lfd, SOMAXCONN) != 0) {
        return cs_err_set(CS_ERR_IO, "%s: listen on %s port %d: %s", in->name, where, o->port, strerror(errno));
    }
    sl = sizeof ss;
    if (getsockname(in->lfd, (struct sockaddr *)&ss, &sl) != 0) {
        return cs_err_set(CS_ERR_IO, "%s: getsockname: %s", in->name, strerror(errno));
    }
    in->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)(void *)&ss)->sin_port
                                             : ((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
    return CS_OK;
}

static cs_rc check_opts(const cs_net_input_opts *o, transport_kind *kind)
{
    const char *t = o->transport != NULL ? o->transport : "";
    if (strcmp(t, "udp") == 0) {
        *kind = TR_UDP;
    } else if (strcmp(t, "tcp") == 0) {
        *kind = TR_TCP;
    } else if (strcmp(t, "tls") == 0) {
        *kind = TR_TLS;
    } else {
        return cs_err_set(CS_ERR_CONFIG, "transport \"%s\" is not one of udp, tcp, tls", t);
    }
    if (o->port < 0 || o->port > 65535) {
        return cs_err_set(CS_ERR_CONFIG, "port %d is out of range 0-65535", o->port);
    }
    if (o->max_line > CS_NET_LINE_MAX_LIMIT) {
        return cs_err_set(CS_ERR_CONFIG, "max_line %zu is above %u", o->max_line, CS_NET_LINE_MAX_LIMIT);
    }
    if (o->max_connections < 0 || o->max_connections > 1000000) {
        return cs_err_set(CS_ERR_CONFIG, "max_connections %d is out of range 1-1000000", o->max_connections);
    }
    if (o->rcvbuf < 0) {
        return cs_err_set(CS_ERR_CONFIG, "rcvbuf %d is negative", o->rcvbuf);
    }
    return CS_OK;
}

cs_rc cs_net_input_start(const cs_net_input_opts *o, cs_line_sink sink, void *ud, cs_net_input **out)
{
    cs_net_input *in = NULL;
    transport_kind kind = TR_TCP;
    struct epoll_event ev;
    sigset_t all, old;
    cs_rc rc;
    int err;

    if (out != NULL) {
        *out = NULL;
    }
    if (o == NULL || sink == NULL || out == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_net_input_start: NULL argument");
    }
    if ((rc = check_opts(o, &kind)) != CS_OK) {
        return cs_err_wrap(rc, "%s", o->name != NULL ? o->name : "network input");
    }
    in = calloc(1, sizeof *in);
    if (in == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "network input: out of memory");
    }
    in->lfd = -1;
    in->epfd = -1;
    in->evfd = -1;
    in->kind = kind;
    in->tname = kind == TR_UDP ? "udp" : kind == TR_TCP ? "tcp" : "tls";
    in->name = strdup(o->name != NULL ? o->name : in->tname);
    if (in->name == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "network input: out of memory");
        goto fail;
    }
    in->max_line = o->max_line != 0 ? o->max_line : CS_LINE_MAX_DEFAULT;
    in->buf_max = in->max_line + BUF_SLACK;
    in->max_conns = o->max_connections != 0 ? o->max_connections : CS_NET_MAX_CONNECTIONS_DEFAULT;
    in->idle_us = o->idle_timeout_s == 0 ? (int64_t)CS_NET_IDLE_TIMEOUT_DEFAULT * 1000000
                                         : (int64_t)o->idle_timeout_s * 1000000;
    if (kind == TR_UDP) {
        in->tick_us = UDP_TICK_US;
    } else {
        in->tick_us = in->idle_us > 0 ? in->idle_us / 10 : 1000000;
        in->tick_us = in->tick_us < 50000 ? 50000 : in->tick_us > 1000000 ? 1000000 : in->tick_us;
    }
    in->sink = sink;
    in->ud = ud;
    atomic_init(&in->stopping, false);

    if (kind == TR_TLS && (rc = tls_setup(in, o)) != CS_OK) {
        goto fail;
    }
    if (kind == TR_UDP) {
        in->udp = calloc(1, sizeof *in->udp);
        if (in->udp == NULL || (in->udp->data = malloc((size_t)UDP_BATCH * UDP_SLOT)) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory", in->name);
            goto fail;
        }
    }
    if ((rc = open_socket(in, o)) != CS_OK) {
        goto fail;
    }
    in->epfd = epoll_create1(EPOLL_CLOEXEC);
    in->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (in->epfd < 0 || in->evfd < 0) {
        rc = cs_err_set(CS_ERR_IO, "%s: epoll/eventfd: %s", in->name, strerror(errno));
        goto fail;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = &tag_listen;
    if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, in->lfd, &ev) != 0) {
        rc = cs_err_set(CS_ERR_IO, "%s: epoll_ctl: %s", in->name, strerror(errno));
        goto fail;
    }
    ev.data.ptr = &tag_event;
    if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, in->evfd, &ev) != 0) {
        rc = cs_err_set(CS_ERR_IO, "%s: epoll_ctl: %s", in->name, strerror(errno));
        goto fail;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    err = pthread_create(&in->thread, NULL, loop_main, in);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        rc = cs_err_set(CS_ERR_IO, "%s: cannot start its thread: %s", in->name, strerror(err));
        goto fail;
    }
    in->thread_started = true;
    *out = in;
    return CS_OK;

fail:
    input_free(in);
    return rc;
}

int cs_net_input_port(const cs_net_input *in)
{
    return in != NULL ? in->port : -1;
}

void cs_net_input_stats_get(cs_net_input *in, cs_net_input_stats *st)
{
    memset(st, 0, sizeof *st);
    if (in == NULL) {
        return;
    }
    st->lines = atomic_load_explicit(&in->st.lines, memory_order_relaxed);
    st->bytes = atomic_load_explicit(&in->st.bytes, memory_order_relaxed);
    st->truncated = atomic_load_explicit(&in->st.truncated, memory_order_relaxed);
    st->sink_full_drops = atomic_load_explicit(&in->st.sink_full_drops, memory_order_relaxed);
    st->kernel_drops = atomic_load_explicit(&in->st.kernel_drops, memory_order_relaxed);
    st->connections = atomic_load_explicit(&in->st.connections, memory_order_relaxed);
    st->rejected_connections = atomic_load_explicit(&in->st.rejected_connections, memory_order_relaxed);
    st->idle_closed = atomic_load_explicit(&in->st.idle_closed, memory_order_relaxed);
    st->framing_errors = atomic_load_explicit(&in->st.framing_errors, memory_order_relaxed);
    st->tls_errors = atomic_load_explicit(&in->st.tls_errors, memory_order_relaxed);
    st->open_connections = atomic_load_explicit(&in->st.open_connections, memory_order_relaxed);
}

void cs_net_input_stop_stats(cs_net_input *in, cs_net_input_stats *final)
{
    uint64_t one = 1;
    ssize_t w;
    if (final != NULL) {
        memset(final, 0, sizeof *final);
    }
    if (in == NULL) {
        return;
    }
    atomic_store(&in->stopping, true);
    w = write(in->evfd, &one, sizeof one);
    (void)w;
    if (in->thread_started) {
        pthread_join(in->thread, NULL);
    }
    if (final != NULL) {
        cs_net_input_stats_get(in, final);
    }
    input_free(in);
}

void cs_net_input_stop(cs_net_input *in)
{
    cs_net_input_stop_stats(in, NULL);
}
