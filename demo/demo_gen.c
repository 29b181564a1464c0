/* demo_gen.c - writes citysoc's own synthetic demo data set (see demo_gen.h).
 *
 * Design: the scenario is a script of small generators (DNS pair, HTTP
 * exchange, TLS session, SSH login, port scan ...), each started at an offset
 * from start_us. They never touch files: every packet and log line becomes a
 * record {time, creation order, kind, bytes} in one fixed arena, sorted by
 * (time, order) and streamed out at the end. So conversations overlap as real
 * traffic does, the pcap stays monotonic, each log stays in order, and a log
 * line carries the very instant of the packet it describes. emit_ip() is the
 * one place that frames packets and computes checksums; a tcp_conv keeps both
 * sides' next sequence numbers so every ACK is right. All randomness is one
 * xorshift64* with a constant seed, and nothing reads the clock, locale or
 * environment: equal start_us, equal bytes. Build errors are sticky (the
 * first is kept in g->rc, later adds are no-ops) so the scenario reads as a
 * straight script; the writer checks g->rc before touching the disk.
 */
#define _DEFAULT_SOURCE /* gmtime_r, mkdir, and the BSD types pcap.h needs */

#include "demo_gen.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define US 1000000LL
#define SEC(s) ((int64_t)(s) * US)
#define MSEC(ms) ((int64_t)(ms) * 1000LL)
#define MAX_START_US (((int64_t)UINT32_MAX - 7200) * US) /* pcap seconds are 32-bit */

#define IP4(a, b, c, d) \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define PORTAL IP4(10, 10, 1, 10)
#define POPDB IP4(10, 10, 2, 20)
#define CAMCTL IP4(10, 10, 3, 15)
#define HOTLINE IP4(10, 10, 4, 30)
#define EHEALTH IP4(10, 10, 5, 40)
#define SCHOOL IP4(10, 10, 6, 50)
#define OPENDATA IP4(10, 10, 7, 60)
#define RESOLVER IP4(10, 10, 0, 53)
#define SSH_ATTACKER IP4(203, 0, 113, 45)
#define SCANNER IP4(198, 51, 100, 77)
#define WEB_ATTACKER IP4(198, 51, 100, 23)
#define PORTAL_HOST "dichvucong.city.example"
#define OPENDATA_HOST "opendata.city.example"

enum { P_ICMP = 1, P_TCP = 6, P_UDP = 17 };
enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10 };
#define MSS 1460         /* 1500-byte Ethernet MTU minus IPv4 and TCP headers */
#define MAX_RECS 16384   /* the scenario makes about 2,400 records ... */
#define ARENA (4u << 20) /* ... of about 450 kB: both limits leave ample room */

enum { K_PKT, K_AUTH, K_SYSLOG, K_NGINX, K_COUNT };
static const char *const out_names[K_COUNT] = {
    "demo.pcap", "auth.log", "syslog", "nginx-access.log"
};

typedef struct rec {
    int64_t ts;     /* microseconds after start_us */
    uint32_t order; /* creation order: makes the sort stable */
    uint32_t kind;  /* K_* */
    size_t off, len;
} rec;

typedef struct gen {
    int64_t t0;
    uint64_t rng;
    cs_rc rc;
    rec *recs;      /* MAX_RECS */
    uint8_t *arena; /* ARENA bytes */
    size_t nrecs, narena;
} gen;

/* A bounded byte builder; overflow is remembered and reported once. */
typedef struct wbuf {
    uint8_t b[8192];
    size_t n;
    int over;
} wbuf;

typedef struct tcp_conv {
    uint32_t ip[2]; /* [0] client, [1] server */
    uint16_t port[2];
    uint32_t seq[2]; /* next sequence number each side sends */
    uint16_t win[2]; /* window field after the handshake (scaled) */
    uint16_t id[2];  /* next IPv4 identification: Linux counts per socket */
    int64_t t;       /* time of the last packet */
    int64_t hop;     /* typical gap between a packet and its answer */
    int scan;        /* nmap-style SYN: MSS option only, window 1024 */
} tcp_conv;

static const uint32_t ws[6] = {
    IP4(10, 20, 1, 11), IP4(10, 20, 1, 12), IP4(10, 20, 2, 21),
    IP4(10, 20, 2, 22), IP4(10, 20, 3, 31), IP4(10, 20, 3, 32)
};
static const uint32_t citizen[8] = {
    IP4(192, 0, 2, 14), IP4(192, 0, 2, 17), IP4(192, 0, 2, 21), IP4(192, 0, 2, 25),
    IP4(192, 0, 2, 30), IP4(192, 0, 2, 33), IP4(192, 0, 2, 38), IP4(192, 0, 2, 40)
};
static const char *const browsers[4] = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1"
};
static const char mon_name[12][4] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};
static const char day_name[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* ---- plumbing: errors, randomness, records, byte builder ---------------- */

static void set_err(gen *g, cs_rc rc, const char *what)
{
    if (g->rc == CS_OK) {
        g->rc = cs_err_set(rc, "demo data: %s", what);
    }
}

static uint32_t rnd32(gen *g)
{
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return (uint32_t)((g->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint32_t rnd_in(gen *g, uint32_t lo, uint32_t hi)
{
    return lo + rnd32(g) % (hi - lo + 1u);
}

static void add_rec(gen *g, uint32_t kind, int64_t ts, const void *data, size_t len)
{
    if (g->rc == CS_OK && (g->nrecs == MAX_RECS || len > ARENA - g->narena)) {
        set_err(g, CS_ERR_LIMIT, "the scenario outgrew its fixed buffers");
    }
    if (g->rc != CS_OK) {
        return;
    }
    memcpy(g->arena + g->narena, data, len);
    g->recs[g->nrecs] = (rec){ ts, (uint32_t)g->nrecs, kind, g->narena, len };
    g->nrecs++;
    g->narena += len;
}

static void wb_reset(wbuf *w)
{
    w->n = 0;
    w->over = 0;
}

static void put(wbuf *w, const void *p, size_t n)
{
    if (w->over || n > sizeof w->b - w->n) {
        w->over = 1;
    } else if (n > 0) {
        memcpy(w->b + w->n, p, n);
        w->n += n;
    }
}

static void put_be(wbuf *w, uint32_t v, size_t width)
{
    uint8_t b[4];
    size_t i;

    for (i = 0; i < width; i++) {
        b[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
    }
    put(w, b, width);
}

/* Big-endian fields: each digit of `widths` (1-4 bytes) takes the next value,
 * spaces only group. The values pass through a uint32_t compound literal, so
 * they are converted with type checking; a count mismatch marks the buffer
 * overflowed, so a typo is reported instead of writing a wrong packet. Keep
 * side effects out of the values: their evaluation order is unspecified. */
#define PACK(w, widths, ...)                               \
    pack((w), (widths), (const uint32_t[]){ __VA_ARGS__ }, \
         sizeof((const uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t))

static void pack(wbuf *w, const char *widths, const uint32_t *v, size_t n)
{
    size_t i = 0;

    for (; *widths; widths++) {
        if (*widths >= '1' && *widths <= '4' && i < n) {
            put_be(w, v[i++], (size_t)(*widths - '0'));
        } else if (*widths != ' ') {
            w->over = 1;
        }
    }
    w->over |= i != n;
}

static void put_str(wbuf *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_rnd(gen *g, wbuf *w, size_t n)
{
    while (n-- > 0) {
        put_be(w, rnd32(g), 1);
    }
}

static void vput_fmt(wbuf *w, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void vput_fmt(wbuf *w, const char *fmt, va_list ap)
{
    int n = w->over ? 0 : vsnprintf((char *)w->b + w->n, sizeof w->b - w->n, fmt, ap);

    w->over = w->over || n < 0 || (size_t)n >= sizeof w->b - w->n;
    w->n += w->over ? 0 : (size_t)n;
}

__attribute__((format(printf, 2, 3))) static void put_fmt(wbuf *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vput_fmt(w, fmt, ap);
    va_end(ap);
}

/* Length fields are reserved first and patched once the body is known. */
static size_t mark(wbuf *w, size_t width)
{
    put_be(w, 0, width);
    return w->n - width;
}

static void patch(wbuf *w, size_t at, size_t width)
{
    size_t v = w->n - at - width, i;

    for (i = 0; !w->over && i < width; i++) {
        w->b[at + i] = (uint8_t)(v >> (8 * (width - 1 - i)));
    }
}

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* ---- time and log lines ------------------------------------------------- */

static int utc(gen *g, int64_t t, struct tm *tm)
{
    time_t s = (time_t)((g->t0 + t) / US);

    if (gmtime_r(&s, tm) == NULL) {
        set_err(g, CS_ERR_INVAL, "start time cannot be converted to a calendar date");
        return -1;
    }
    return 0;
}

/* One RFC 3164 line as Debian's rsyslog writes it: "Mar  2 08:14:03 host msg". */
__attribute__((format(printf, 5, 6))) static void log_line(gen *g, uint32_t kind, int64_t t,
                                                            const char *hostname,
                                                            const char *fmt, ...)
{
    struct tm tm;
    va_list ap;
    wbuf w;

    if (g->rc != CS_OK || utc(g, t, &tm) != 0) {
        return;
    }
    wb_reset(&w);
    put_fmt(&w, "%s %2d %02d:%02d:%02d %s ", mon_name[tm.tm_mon], tm.tm_mday, tm.tm_hour,
            tm.tm_min, tm.tm_sec, hostname);
    va_start(ap, fmt);
    vput_fmt(&w, fmt, ap);
    va_end(ap);
    if (w.over) {
        set_err(g, CS_ERR_INTERNAL, "log line too long");
        return;
    }
    add_rec(g, kind, t, w.b, w.n);
}

/* ---- packets ------------------------------------------------------------ */

/* Windows workstations start at 128, Linux servers at 64; outsiders arrive
 * after ~13 hops from either kind of stack (picked by address parity). */
static uint8_t ttl_of(uint32_t ip)
{
    return (ip >> 16) == 0x0a14u ? 128 : (ip >> 24) == 10u ? 64 : (ip & 1u) ? 51 : 115;
}

/* Locally administered MACs: city hosts get one derived from their address;
 * everything beyond the city edge is seen behind the router (10.0.0.1). */
static void put_mac(wbuf *f, uint32_t ip)
{
    PACK(f, "11 4", 0x02, 0xca, (ip >> 24) == 10u ? ip : IP4(10, 0, 0, 1));
}

static uint32_t csum_add(uint32_t acc, const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i + 1 < n; i += 2) {
        acc += ((uint32_t)p[i] << 8) | p[i + 1];
    }
    return acc + ((n & 1u) ? (uint32_t)p[n - 1] << 8 : 0u);
}

static uint16_t csum_fold(uint32_t acc)
{
    while (acc >> 16) {
        acc = (acc & 0xffffu) + (acc >> 16);
    }
    return (uint16_t)~acc;
}

/* Frames one L4 segment (built with a zero checksum field) in Ethernet II +
 * IPv4 and fills in the IPv4 header checksum and the TCP/UDP checksum over
 * the pseudo-header, or the plain ICMP checksum. */
static void emit_ip(gen *g, int64_t ts, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
                    const wbuf *l4)
{
    size_t ck = 34 + (proto == P_TCP ? 16 : proto == P_UDP ? 6 : 2);
    uint32_t acc = 0;
    uint16_t sum;
    wbuf f;

    if (g->rc != CS_OK) {
        return;
    }
    if (l4->over || l4->n > 1480 || 34 + l4->n < ck + 2) {
        set_err(g, CS_ERR_INTERNAL, "a packet does not fit an Ethernet frame");
        return;
    }
    wb_reset(&f);
    put_mac(&f, dst);
    put_mac(&f, src);
    /* EtherType, then IPv4 without options; TCP stacks set DF for PMTU discovery */
    PACK(&f, "2 11222 112 44", 0x0800, 0x45, 0, 20 + l4->n, id, proto == P_TCP ? 0x4000 : 0,
         ttl_of(src), proto, 0, src, dst);
    wr16(f.b + 24, csum_fold(csum_add(0, f.b + 14, 20)));
    put(&f, l4->b, l4->n);
    if (proto != P_ICMP) {
        acc = csum_add(0, f.b + 26, 8) + proto + (uint32_t)l4->n;
    }
    sum = csum_fold(csum_add(acc, f.b + 34, l4->n));
    wr16(f.b + ck, proto == P_UDP && sum == 0 ? 0xffff : sum); /* UDP 0 means "none" */
    add_rec(g, K_PKT, ts, f.b, f.n);
}

static void udp_send(gen *g, int64_t ts, uint32_t src, uint16_t sport, uint32_t dst,
                     uint16_t dport, const wbuf *w)
{
    wbuf u;

    wb_reset(&u);
    PACK(&u, "2222", sport, dport, 8 + w->n, 0);
    put(&u, w->b, w->n);
    u.over |= w->over;
    emit_ip(g, ts, src, dst, P_UDP, (uint16_t)rnd32(g), &u);
}

/* Windows and Linux draw ephemeral ports from different ranges. */
static uint16_t eph_port(gen *g, uint32_t ip)
{
    return (uint16_t)((ip >> 16) == 0x0a14u ? rnd_in(g, 49152, 65535) : rnd_in(g, 32768, 60999));
}

static void tcp_init(gen *g, tcp_conv *c, int64_t t, uint32_t cip, uint16_t cport, uint32_t sip,
                     uint16_t sport)
{
    *c = (tcp_conv){ { cip, sip }, { cport, sport }, { 0, 0 }, { 502, 509 }, { 0, 0 }, t, 0, 0 };
    c->seq[0] = rnd32(g);
    c->seq[1] = rnd32(g);
    c->id[0] = (uint16_t)rnd32(g);
    c->id[1] = (uint16_t)rnd32(g);
    /* Inside the city a round trip is sub-millisecond; from outside, tens. */
    c->hop = (cip >> 24) == 10u ? (int64_t)rnd_in(g, 150, 400) : (int64_t)rnd_in(g, 9000, 22000);
}

/* One TCP segment `gap` us (plus jitter) after the conversation's previous
 * packet. ACK carries the peer's next sequence number; SYN and FIN use one. */
static void tcp_seg(gen *g, tcp_conv *c, int64_t gap, int from, uint32_t flags,
                    const uint8_t *data, size_t len)
{
    /* MSS 1460, NOP, window scale 7, NOP, NOP, SACK permitted */
    static const uint8_t syn_opts[12] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2 };
    size_t opts = (flags & TCP_SYN) ? (c->scan ? 4 : 12) : 0;
    uint32_t win = (flags & TCP_SYN) ? (c->scan ? 1024 : from ? 65160 : 64240)
                 : (flags & TCP_RST) ? 0 : c->win[from];
    wbuf s;

    c->t += gap + (int64_t)(rnd32(g) % (uint32_t)(gap / 4 + 1));
    wb_reset(&s);
    PACK(&s, "22 44 11 22 2", c->port[from], c->port[!from], c->seq[from],
         (flags & TCP_ACK) ? c->seq[!from] : 0, ((20 + opts) / 4) << 4, flags, win, 0, 0);
    put(&s, syn_opts, opts);
    put(&s, data, len);
    c->seq[from] += (uint32_t)len + ((flags & TCP_SYN) ? 1u : 0u) + ((flags & TCP_FIN) ? 1u : 0u);
    emit_ip(g, c->t, c->ip[from], c->ip[!from], P_TCP, c->id[from]++, &s);
}

static void tcp_open(gen *g, tcp_conv *c)
{
    tcp_seg(g, c, 0, 0, TCP_SYN, NULL, 0);
    tcp_seg(g, c, c->hop, 1, TCP_SYN | TCP_ACK, NULL, 0);
    tcp_seg(g, c, c->hop, 0, TCP_ACK, NULL, 0);
}

/* Sends w in MSS-sized segments (PSH on the last), lets the peer ACK, and
 * empties w for the next message. Returns the first data segment's time. */
static int64_t tcp_send(gen *g, tcp_conv *c, int64_t gap, int from, wbuf *w)
{
    int64_t first = c->t + gap;
    size_t off, n;

    if (w->over) {
        set_err(g, CS_ERR_INTERNAL, "payload buffer overflow");
    }
    for (off = 0; off < w->n; off += n) {
        n = w->n - off > MSS ? MSS : w->n - off;
        tcp_seg(g, c, off == 0 ? gap : 40, from, TCP_ACK | (off + n == w->n ? TCP_PSH : 0u),
                w->b + off, n);
        first = off == 0 ? c->t : first;
    }
    tcp_seg(g, c, c->hop, !from, TCP_ACK, NULL, 0);
    wb_reset(w);
    return first;
}

/* Orderly teardown started by side `from`; the peer combines ACK and FIN.
 * Returns the time of the first FIN. */
static int64_t tcp_close(gen *g, tcp_conv *c, int64_t gap, int from)
{
    int64_t at;

    tcp_seg(g, c, gap, from, TCP_FIN | TCP_ACK, NULL, 0);
    at = c->t;
    tcp_seg(g, c, c->hop, !from, TCP_FIN | TCP_ACK, NULL, 0);
    tcp_seg(g, c, c->hop, from, TCP_ACK, NULL, 0);
    return at;
}

/* ---- DNS, NTP, ICMP ----------------------------------------------------- */

static void dns_pair(gen *g, int64_t t, uint32_t cli, const char *name, uint32_t addr)
{
    uint16_t id = (uint16_t)rnd32(g), port = eph_port(g, cli);
    /* City names come from the resolver's own zone; others need recursion. */
    int64_t delay = strstr(name, ".city.example") ? rnd_in(g, 200, 600) : rnd_in(g, 18000, 45000);
    const char *p;
    size_t n;
    wbuf w;

    wb_reset(&w);
    PACK(&w, "22 2222", id, 0x0100, 1, 0, 0, 0); /* query, recursion desired */
    for (p = name; *p; p += n + (p[n] == '.')) { /* the name as length-prefixed labels */
        n = strcspn(p, ".");
        PACK(&w, "1", n);
        put(&w, p, n);
    }
    PACK(&w, "1 22", 0, 1, 1); /* root label; A, IN */
    udp_send(g, t, cli, port, RESOLVER, 53, &w);
    /* The response repeats the question and answers with a pointer to it. */
    wr16(w.b + 2, 0x8180); /* response, RD, RA, no error */
    wr16(w.b + 6, 1);      /* one answer */
    PACK(&w, "222 4 2 4", 0xc00c, 1, 1, 300, 4, addr);
    udp_send(g, t + delay, RESOLVER, 53, cli, port, &w);
}

static void put_ntp_time(gen *g, wbuf *w, int64_t t)
{
    int64_t us = g->t0 + t;

    /* NTP era 0 counts seconds from 1900; the fraction is in 2^-32 s. */
    PACK(w, "44", (uint32_t)(us / US + 2208988800LL),
         (uint32_t)(((uint64_t)(us % US) << 32) / (uint64_t)US));
}

static void ntp_pair(gen *g, int64_t t, uint32_t cli)
{
    int64_t recv = t + rnd_in(g, 150, 350);
    wbuf w;

    wb_reset(&w);
    /* client: LI 0, v4, mode 3, poll 6, precision -23; only transmit time set */
    PACK(&w, "4444 44 44 44", 0x230600e9u, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    put_ntp_time(g, &w, t);
    udp_send(g, t, cli, 123, RESOLVER, 123, &w);
    wb_reset(&w);
    /* server: mode 4, stratum 2 behind 192.0.2.123; origin echoes the client */
    PACK(&w, "4444", 0x240206e7u, 0x212, 0x435, IP4(192, 0, 2, 123));
    put_ntp_time(g, &w, t - SEC(412));
    put_ntp_time(g, &w, t);
    put_ntp_time(g, &w, recv);
    put_ntp_time(g, &w, recv + 25);
    udp_send(g, recv + 30, RESOLVER, 123, cli, 123, &w);
}

/* Windows `ping`: identifier 1, the 32-byte alphabet payload, one a second. */
static void ping(gen *g, int64_t t, uint32_t src, uint32_t dst, uint16_t first_seq)
{
    uint16_t id = (uint16_t)rnd32(g); /* Windows: one IPv4 id counter per host */
    wbuf m;
    int i;

    for (i = 0; i < 4; i++, t += SEC(1) + rnd_in(g, 0, 3000)) {
        wb_reset(&m);
        PACK(&m, "11 2 22", 8, 0, 0, 1, first_seq + i);
        put_str(&m, "abcdefghijklmnopqrstuvwabcdefghi");
        emit_ip(g, t, src, dst, P_ICMP, (uint16_t)(id + 7 * i), &m);
        m.b[0] = 0; /* the echo reply returns id, sequence and data unchanged */
        emit_ip(g, t + rnd_in(g, 180, 450), dst, src, P_ICMP, (uint16_t)rnd32(g), &m);
    }
}

/* ---- HTTP --------------------------------------------------------------- */

typedef struct http_ex {
    uint32_t cli, srv;
    const char *host, *path, *ua;
    int status;
} http_ex;

static const char *status_text(int status)
{
    return status == 200 ? "OK" : status == 400 ? "Bad Request"
         : status == 404 ? "Not Found" : "Internal Server Error";
}

static void html_body(gen *g, wbuf *b, const http_ex *x)
{
    static const char *const para[4] = {
        "Cong dich vu cong truc tuyen cua thanh pho: nop ho so, tra cuu ket qua va thanh toan "
        "le phi moi luc, moi noi.",
        "Citizens can submit applications, follow their case and pay fees online; offices are "
        "open Monday to Friday, 7:30 to 17:00.",
        "Du lieu mo duoc cap nhat hang ngay theo giay phep CC BY 4.0; vui long ghi nguon.",
        "For help call the citizen hotline 1022 or visit the one-stop office at the city hall."
    };
    int i, n;

    if (x->status != 200) { /* nginx's stock error page, CRLF and all */
        put_fmt(b, "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s"
                   "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
                x->status, status_text(x->status), x->status, status_text(x->status));
        return;
    }
    put_fmt(b, "<!DOCTYPE html>\n<html lang=\"vi\">\n<head><meta charset=\"utf-8\"><title>%s%s"
               "</title></head>\n<body>\n<h1>%s</h1>\n", x->host, x->path, x->host);
    for (i = 0, n = (int)rnd_in(g, 3, 40); i < n; i++) {
        put_fmt(b, "<p>%s</p>\n", para[rnd32(g) % 4]);
    }
    put_str(b, "</body>\n</html>\n");
}

/* A whole HTTP/1.1 exchange on its own connection; the portal also writes
 * its access log line, stamped with the first response packet's time. */
static void http_conv(gen *g, int64_t t, const http_ex *x)
{
    wbuf w, body;
    struct tm tm;
    tcp_conv c;
    int64_t at;

    tcp_init(g, &c, t, x->cli, eph_port(g, x->cli), x->srv, 80);
    tcp_open(g, &c);
    wb_reset(&w);
    put_fmt(&w, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n\r\n", x->path,
            x->host, x->ua);
    tcp_send(g, &c, rnd_in(g, 100, 2000), 0, &w);
    at = c.t += rnd_in(g, 1500, 40000); /* the application thinks */
    wb_reset(&body);
    html_body(g, &body, x);
    if (utc(g, at, &tm) != 0) {
        return;
    }
    put_fmt(&w, "HTTP/1.1 %d %s\r\nServer: nginx\r\nDate: %s, %02d %s %d %02d:%02d:%02d GMT\r\n"
                "Content-Type: text/html\r\nContent-Length: %zu\r\nConnection: keep-alive\r\n\r\n",
            x->status, status_text(x->status), day_name[tm.tm_wday], tm.tm_mday,
            mon_name[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, body.n);
    put(&w, body.b, body.n);
    tcp_send(g, &c, 0, 1, &w);
    tcp_close(g, &c, rnd_in(g, 50000, 400000), 0);
    if (x->srv != PORTAL) {
        return;
    }
    put_fmt(&w, "%u.%u.%u.%u - - [%02d/%s/%d:%02d:%02d:%02d +0000] \"GET %s HTTP/1.1\" %d %zu "
                "\"-\" \"%s\"", x->cli >> 24, (x->cli >> 16) & 255u, (x->cli >> 8) & 255u,
            x->cli & 255u, tm.tm_mday, mon_name[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
            tm.tm_min, tm.tm_sec, x->path, x->status, body.n, x->ua);
    if (w.over) {
        set_err(g, CS_ERR_INTERNAL, "nginx log line too long");
        return;
    }
    add_rec(g, K_NGINX, at, w.b, w.n);
}

/* ---- TLS ---------------------------------------------------------------- */

/* A 16-bit length and the 16-bit values (cipher suites, groups, sigalgs). */
static void put_u16_list(wbuf *w, const uint16_t *v, size_t n)
{
    size_t i;

    PACK(w, "2", 2 * n);
    for (i = 0; i < n; i++) {
        PACK(w, "2", v[i]);
    }
}

static void tls_client_hello(gen *g, wbuf *w, const char *sni)
{
    static const uint16_t suites[12] = { 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                                         0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035 };
    static const uint16_t groups[4] = { 0x001d, 0x0017, 0x0018, 0x0019 };
    static const uint16_t sigalgs[9] = { 0x0403, 0x0503, 0x0603, 0x0804, 0x0805,
                                         0x0806, 0x0401, 0x0501, 0x0601 };
    size_t rec_at, hs, exts, n = strlen(sni);

    PACK(w, "12", 0x16, 0x0301); /* the record layer says TLS 1.0 for compatibility */
    rec_at = mark(w, 2);
    PACK(w, "1", 1); /* ClientHello */
    hs = mark(w, 3);
    PACK(w, "2", 0x0303);
    put_rnd(g, w, 32);
    PACK(w, "1", 32); /* a cached session id: resumption is offered */
    put_rnd(g, w, 32);
    put_u16_list(w, suites, 12);
    PACK(w, "11", 1, 0); /* null compression only */
    exts = mark(w, 2);
    PACK(w, "222 12", 0x0000, n + 5, n + 3, 0, n); /* server_name: one host_name */
    put_str(w, sni);
    PACK(w, "22 221", 0x0017, 0, 0xff01, 1, 0); /* extended_master_secret, reneg_info */
    PACK(w, "22", 0x000a, 2 + sizeof groups);   /* supported_groups */
    put_u16_list(w, groups, 4);
    PACK(w, "22 11 22", 0x000b, 2, 1, 0, 0x0023, 0); /* ec_point_formats, session_ticket */
    PACK(w, "22 21", 0x0010, 11, 9, 8);              /* ALPN */
    put_str(w, "http/1.1");
    PACK(w, "22", 0x000d, 2 + sizeof sigalgs); /* signature_algorithms */
    put_u16_list(w, sigalgs, 9);
    patch(w, exts, 2);
    patch(w, hs, 3);
    patch(w, rec_at, 2);
}

static void tls_server_hello(gen *g, wbuf *w, const uint8_t *sid)
{
    size_t rec_at, hs, exts;

    PACK(w, "12", 0x16, 0x0303);
    rec_at = mark(w, 2);
    PACK(w, "1", 2); /* ServerHello */
    hs = mark(w, 3);
    PACK(w, "2", 0x0303);
    put_rnd(g, w, 32);
    PACK(w, "1", 32);
    put(w, sid, 32); /* the client's session id back: resumption accepted */
    PACK(w, "21", 0xc02f, 0); /* ECDHE-RSA-AES128-GCM-SHA256, no compression */
    exts = mark(w, 2);
    PACK(w, "221 22 22 11", 0xff01, 1, 0, 0x0017, 0, 0x000b, 2, 1, 0);
    PACK(w, "22 21", 0x0010, 11, 9, 8);
    put_str(w, "http/1.1");
    patch(w, exts, 2);
    patch(w, hs, 3);
    patch(w, rec_at, 2);
}

/* A record whose body is opaque (encrypted) bytes. */
static void tls_opaque(gen *g, wbuf *w, uint32_t type, size_t len)
{
    PACK(w, "122", type, 0x0303, len);
    put_rnd(g, w, len);
}

/* ChangeCipherSpec followed by the (encrypted, so opaque) Finished. */
static void tls_change_cipher(gen *g, wbuf *w)
{
    PACK(w, "1221", 0x14, 0x0303, 1, 1);
    tls_opaque(g, w, 0x16, 40);
}

/* An abbreviated (resumed) TLS 1.2 handshake: ClientHello with a cached
 * session id; ServerHello + ChangeCipherSpec + Finished; the client's
 * ChangeCipherSpec + Finished; application data; close_notify and FIN.
 * Resumption needs no certificate, so every record is well formed. */
static void tls_session(gen *g, int64_t t, uint32_t cli, uint32_t srv, const char *sni)
{
    int i, rounds = (int)rnd_in(g, 1, 3);
    uint8_t sid[32];
    tcp_conv c;
    wbuf w;

    tcp_init(g, &c, t, cli, eph_port(g, cli), srv, 443);
    tcp_open(g, &c);
    wb_reset(&w);
    tls_client_hello(g, &w, sni);
    memcpy(sid, w.b + 44, sizeof sid); /* after record 5, handshake 4, version 2, random 32, len 1 */
    tcp_send(g, &c, rnd_in(g, 100, 1000), 0, &w);
    tls_server_hello(g, &w, sid);
    tls_change_cipher(g, &w);
    tcp_send(g, &c, rnd_in(g, 300, 1500), 1, &w);
    tls_change_cipher(g, &w);
    tcp_send(g, &c, 300, 0, &w);
    for (i = 0; i < rounds; i++) {
        tls_opaque(g, &w, 0x17, rnd_in(g, 280, 620));
        tcp_send(g, &c, i == 0 ? 200 : (int64_t)rnd_in(g, 500000, 9000000), 0, &w);
        tls_opaque(g, &w, 0x17, rnd_in(g, 700, 5200));
        tcp_send(g, &c, rnd_in(g, 2000, 30000), 1, &w);
    }
    tls_opaque(g, &w, 0x15, 26); /* encrypted close_notify alert */
    tcp_send(g, &c, rnd_in(g, 1000000, 5000000), 0, &w);
    tcp_close(g, &c, 100, 0);
}

/* ---- SSH ---------------------------------------------------------------- */

#define SSH_SERVER_BANNER "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
#define SSH_CIPHERS "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes256-gcm@openssh.com"
#define SSH_MACS "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256"
#define SSH_COMP "none,zlib@openssh.com"

static void put_sshstr(wbuf *w, const char *s)
{
    PACK(w, "4", strlen(s));
    put_str(w, s);
}

/* Wraps a payload in the binary packet framing (RFC 4253, 6) with block
 * size 8, as the cleartext phase uses, and sends it. */
static void ssh_send(gen *g, tcp_conv *c, int64_t gap, int from, wbuf *pl)
{
    size_t pad = 8 - (5 + pl->n) % 8;
    wbuf w;

    pad += pad < 4 ? 8 : 0;
    wb_reset(&w);
    PACK(&w, "41", 1 + pl->n + pad, pad);
    put(&w, pl->b, pl->n);
    put_rnd(g, &w, pad);
    w.over |= pl->over;
    wb_reset(pl);
    tcp_send(g, c, gap, from, &w);
}

static void ssh_kexinit(gen *g, wbuf *pl, int server)
{
    static const char *const lists[2][10] = {
        { "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
          "diffie-hellman-group14-sha256,ext-info-c",
          "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
          SSH_CIPHERS, SSH_CIPHERS, SSH_MACS, SSH_MACS, SSH_COMP, SSH_COMP, "", "" },
        { "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
          "diffie-hellman-group16-sha512,diffie-hellman-group14-sha256",
          "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519",
          SSH_CIPHERS, SSH_CIPHERS, SSH_MACS, SSH_MACS, SSH_COMP, SSH_COMP, "", "" }
    };
    int i;

    PACK(pl, "1", 20); /* SSH_MSG_KEXINIT, then a random cookie */
    put_rnd(g, pl, 16);
    for (i = 0; i < 10; i++) {
        put_sshstr(pl, lists[server][i]);
    }
    PACK(pl, "14", 0, 0); /* first_kex_packet_follows, reserved */
}

/* Everything sshd exchanges in clear: banners, KEXINITs, the curve25519
 * key exchange (keys and signature are random bytes) and NEWKEYS. */
static void ssh_handshake(gen *g, tcp_conv *c, const char *cli_banner)
{
    wbuf w;

    wb_reset(&w);
    put_str(&w, SSH_SERVER_BANNER); /* the server speaks first */
    tcp_send(g, c, rnd_in(g, 1500, 4000), 1, &w);
    put_str(&w, cli_banner);
    tcp_send(g, c, 200, 0, &w);
    ssh_kexinit(g, &w, 0);
    ssh_send(g, c, 100, 0, &w);
    ssh_kexinit(g, &w, 1);
    ssh_send(g, c, 150, 1, &w);
    PACK(&w, "14", 30, 32); /* KEX_ECDH_INIT: the client's ephemeral key */
    put_rnd(g, &w, 32);
    ssh_send(g, c, 300, 0, &w);
    PACK(&w, "14", 31, 51); /* KEX_ECDH_REPLY: ed25519 host key, ... */
    put_sshstr(&w, "ssh-ed25519");
    PACK(&w, "4", 32);
    put_rnd(g, &w, 32);
    PACK(&w, "4", 32); /* ... the server's ephemeral key, and the signature */
    put_rnd(g, &w, 32);
    PACK(&w, "4", 83);
    put_sshstr(&w, "ssh-ed25519");
    PACK(&w, "4", 64);
    put_rnd(g, &w, 64);
    ssh_send(g, c, rnd_in(g, 800, 2500), 1, &w);
    PACK(&w, "1", 21); /* NEWKEYS both ways; everything after is encrypted */
    ssh_send(g, c, 200, 1, &w);
    PACK(&w, "1", 21);
    ssh_send(g, c, 400, 0, &w);
}

/* Encrypted packets: sizes[i] > 0 from the client, < 0 from the server,
 * `gap` before the first. Returns the time of the last one. */
static int64_t ssh_enc(gen *g, tcp_conv *c, int64_t gap, const int *sizes, size_t n)
{
    int64_t at = c->t;
    size_t i;
    wbuf w;

    wb_reset(&w);
    for (i = 0; i < n; i++, gap = rnd_in(g, 200, 3000)) {
        put_rnd(g, &w, (size_t)abs(sizes[i]));
        at = tcp_send(g, c, gap, sizes[i] < 0, &w);
    }
    return at;
}

/* 30 connections, one every ~2 s, one password each, as libssh tools do. */
static void ssh_brute_force(gen *g, int64_t t0)
{
    static const int service[2] = { 52, -52 }, attempt[1] = { 100 }, verdict[1] = { -52 };
    static const char *const users[3] = { "admin", "root", "oracle" };
    const char *H = "popdb01", *rhost = "203.0.113.45", *user, *inv;
    unsigned pid;
    uint16_t port;
    int64_t at;
    tcp_conv c;
    int i;

    for (i = 0; i < 30; i++) {
        user = users[i % 3];
        inv = i % 3 == 1 ? "" : "invalid user ";
        pid = 2411u + 3u * (unsigned)i;
        port = eph_port(g, SSH_ATTACKER);
        tcp_init(g, &c, t0 + SEC(2 * i) + rnd_in(g, 0, 400000), SSH_ATTACKER, port, POPDB, 22);
        tcp_open(g, &c);
        ssh_handshake(g, &c, "SSH-2.0-libssh_0.9.6\r\n");
        ssh_enc(g, &c, 200, service, 2);
        at = ssh_enc(g, &c, 200, attempt, 1);
        if (*inv) {
            log_line(g, K_AUTH, at, H, "sshd[%u]: Invalid user %s from %s port %u", pid, user,
                     rhost, port);
        } else {
            log_line(g, K_AUTH, at, H, "sshd[%u]: pam_unix(sshd:auth): authentication failure; "
                     "logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s", pid, rhost, user);
        }
        /* pam_faildelay holds the answer back about two seconds */
        at = ssh_enc(g, &c, rnd_in(g, 1900000, 2300000), verdict, 1);
        log_line(g, K_AUTH, at, H, "sshd[%u]: Failed password for %s%s from %s port %u ssh2", pid,
                 inv, user, rhost, port);
        if (i % 5 == 4) { /* now and then the tool just resets */
            tcp_seg(g, &c, rnd_in(g, 100, 2000), 0, TCP_RST | TCP_ACK, NULL, 0);
            at = c.t;
        } else {
            at = tcp_close(g, &c, rnd_in(g, 100, 2000), 0);
        }
        log_line(g, K_AUTH, at, H, "sshd[%u]: Connection %s by %s %s %s port %u [preauth]", pid,
                 i % 5 == 4 ? "reset" : "closed", *inv ? "invalid user" : "authenticating user",
                 user, rhost, port);
    }
}

/* Three password guesses against the population database from abroad:
 * 45.33.32.156 is scanme.nmap.org (United States), the address the Nmap
 * project offers for such tests; with GeoIP (tools/citysoc-setup demo
 * fetches a CC0 country database) the rule on population-database access
 * from outside the country fires on it. Log lines only, and no randomness,
 * so the rest of the scenario keeps its bytes. */
static void ssh_probe_abroad(gen *g, int64_t t0)
{
    static const char *const users[3] = { "postgres", "root", "admin" };
    int i;
    for (i = 0; i < 3; i++) {
        log_line(g, K_AUTH, t0 + SEC(7 * i), "popdb01",
                 "sshd[%u]: Failed password for %s from 45.33.32.156 port %u ssh2", 3101u + (unsigned)i,
                 users[i], 51514u + 3u * (unsigned)i);
    }
}

/* The administrator hanh logs into popdb01 with a key and checks postgres
 * with sudo twice; each command is typed (echoed keystrokes), then runs. */
static void ssh_admin_session(gen *g, int64_t t)
{
    static const int login[10] = { 52, -52, 84, -68, 340, -36, 116, -52, 180, -900 };
    static const int keys[2] = { 36, -36 }, out[1] = { -3000 }, bye[1] = { 68 };
    static const char *const cmds[2] = {
        "/usr/bin/systemctl status postgresql", "/usr/bin/journalctl -u postgresql --since today"
    };
    const char *H = "popdb01";
    int64_t at;
    tcp_conv c;
    size_t i, k;

    tcp_init(g, &c, t, ws[0], 50122, POPDB, 22);
    tcp_open(g, &c);
    ssh_handshake(g, &c, SSH_SERVER_BANNER);
    at = ssh_enc(g, &c, 200, login, 6); /* publickey query, signed request, success */
    log_line(g, K_AUTH, at, H, "sshd[2398]: Accepted publickey for hanh from 10.20.1.11 port 50122 "
             "ssh2: ED25519 SHA256:q3Jw0cVvO2kE7mZb9XlYt4Rr8sHfN1uC6pDgAaB5eKo");
    log_line(g, K_AUTH, at, H, "sshd[2398]: pam_unix(sshd:session): session opened for user "
             "hanh(uid=1001) by (uid=0)");
    log_line(g, K_AUTH, at, H, "systemd-logind[512]: New session 41 of user hanh.");
    ssh_enc(g, &c, 200, login + 6, 4); /* channel, pty, shell, motd */
    for (k = 0; k < 2; k++) {
        c.t += SEC(30 + 120 * k);
        for (i = 0; i < strlen(cmds[k]) + 5; i++) {
            ssh_enc(g, &c, rnd_in(g, 80000, 260000), keys, 2);
        }
        log_line(g, K_AUTH, c.t, H, "sudo:     hanh : TTY=pts/0 ; PWD=/home/hanh ; USER=root ; "
                 "COMMAND=%s", cmds[k]);
        log_line(g, K_AUTH, c.t, H, "sudo: pam_unix(sudo:session): session opened for user "
                 "root(uid=0) by hanh(uid=1001)");
        at = ssh_enc(g, &c, rnd_in(g, 20000, 200000), out, 1);
        log_line(g, K_AUTH, at, H, "sudo: pam_unix(sudo:session): session closed for user root");
    }
    at = ssh_enc(g, &c, SEC(180), bye, 1);
    log_line(g, K_AUTH, at, H, "sshd[2398]: Received disconnect from 10.20.1.11 port 50122:11: "
             "disconnected by user");
    log_line(g, K_AUTH, at, H, "sshd[2398]: Disconnected from user hanh 10.20.1.11 port 50122");
    log_line(g, K_AUTH, at, H, "sshd[2398]: pam_unix(sshd:session): session closed for user hanh");
    log_line(g, K_AUTH, at, H, "systemd-logind[512]: Session 41 logged out. Waiting for processes "
             "to exit.");
    at = tcp_close(g, &c, 1000, 0);
    log_line(g, K_AUTH, at + MSEC(30), H, "systemd-logind[512]: Removed session 41.");
}

/* ---- attacks that are not SSH ------------------------------------------- */

/* A SYN scan of 200 ports of the camera controller, nmap style: one source
 * port, RST|ACK from closed ports, SYN-ACK from open ones torn down by RST. */
static void port_scan(gen *g, int64_t t)
{
    static const uint16_t must[8] = { 21, 22, 23, 25, 80, 443, 554, 8080 };
    uint16_t ports[200], p, sport = (uint16_t)rnd_in(g, 40000, 65000);
    size_t n, i, j;
    tcp_conv c;

    for (n = 0; n < 8; n++) {
        ports[n] = must[n];
    }
    while (n < 200) { /* fill with distinct ports below 1025 */
        for (p = (uint16_t)rnd_in(g, 1, 1024), j = 0; j < n && ports[j] != p; j++) {
        }
        if (j == n) {
            ports[n++] = p;
        }
    }
    for (i = n - 1; i > 0; i--) { /* Fisher-Yates: scanners randomise the order */
        j = rnd32(g) % (i + 1);
        p = ports[i];
        ports[i] = ports[j];
        ports[j] = p;
    }
    for (i = 0; i < n; i++) {
        tcp_init(g, &c, t + MSEC(100) * (int64_t)i + rnd_in(g, 0, 30000), SCANNER, sport, CAMCTL,
                 ports[i]);
        c.scan = 1;
        tcp_seg(g, &c, 0, 0, TCP_SYN, NULL, 0);
        if (ports[i] == 80 || ports[i] == 554) {
            tcp_seg(g, &c, c.hop, 1, TCP_SYN | TCP_ACK, NULL, 0);
            tcp_seg(g, &c, c.hop, 0, TCP_RST, NULL, 0);
        } else {
            c.seq[1] = 0; /* Linux answers a SYN to a closed port with seq 0 */
            tcp_seg(g, &c, c.hop, 1, TCP_RST | TCP_ACK, NULL, 0);
        }
    }
}

static void web_attack(gen *g, int64_t t)
{
    static const http_ex reqs[3] = {
        { WEB_ATTACKER, PORTAL, PORTAL_HOST,
          "/tra-cuu?ma_ho_so=1%27%20UNION%20SELECT%20username,password%20FROM%20users--",
          "sqlmap/1.7.2#stable (https://sqlmap.org)", 500 },
        { WEB_ATTACKER, PORTAL, PORTAL_HOST, "/../../../../etc/passwd", "curl/7.88.1", 400 },
        { WEB_ATTACKER, PORTAL, PORTAL_HOST, "/index.php?page=../../../../etc/passwd",
          "curl/7.88.1", 404 },
    };
    int i;

    for (i = 0; i < 3; i++) {
        http_conv(g, t + SEC(7 * i) + rnd_in(g, 0, 900000), &reqs[i]);
    }
}

/* ---- ordinary traffic and host logs ------------------------------------- */

static void ordinary_traffic(gen *g)
{
    static const char *const names[6] = {
        PORTAL_HOST, OPENDATA_HOST, "www.example.com", "updates.example.org",
        "ehealth.city.example", "tuyensinh.city.example"
    };
    static const uint32_t addrs[6] = {
        PORTAL, OPENDATA, IP4(192, 0, 2, 80), IP4(192, 0, 2, 81), EHEALTH, SCHOOL
    };
    static const char *const paths[12] = { /* every third one is an open-data page */
        "/", "/thu-tuc", "/", "/tra-cuu?ma_ho_so=HS-2026-004512", "/tin-tuc/lich-tiep-cong-dan",
        "/datasets/chat-luong-khong-khi", "/thu-tuc/cap-giay-phep-xay-dung", "/lien-he",
        "/datasets", "/thu-tuc/dang-ky-khai-sinh", "/huong-dan", "/api-docs"
    };
    static const uint32_t ping_dst[4] = { PORTAL, POPDB, EHEALTH, HOTLINE };
    http_ex x;
    int i, tls;

    for (i = 0; i < 24; i++) { /* the very first packet sits exactly at start_us */
        dns_pair(g, SEC(74 * i) + (i ? rnd_in(g, 0, 3000000) : 0), ws[(i + i / 6) % 6],
                 names[i % 6], addrs[i % 6]);
    }
    for (i = 0; i < 12; i++) { /* names[0] is the portal, names[1] open data */
        x = (http_ex){ citizen[(i * 5) % 8], i % 3 == 2 ? OPENDATA : PORTAL,
                       names[i % 3 == 2], paths[i], browsers[i % 4], 200 };
        http_conv(g, SEC(40 + 145 * i) + rnd_in(g, 0, 3000000), &x);
    }
    for (i = 0; i < 10; i++) { /* staff and citizens take turns; portal, e-health, school */
        tls = (i % 3) ? 3 + i % 3 : 0;
        tls_session(g, SEC(70 + 171 * i) + rnd_in(g, 0, 3000000),
                    i % 2 ? citizen[(i * 3) % 8] : ws[(i / 2) % 6], addrs[tls], names[tls]);
    }
    for (i = 0; i < 4; i++) {
        ping(g, SEC(200 + 430 * i) + rnd_in(g, 0, 3000000), ws[(2 * i) % 6], ping_dst[i],
             (uint16_t)(1 + 4 * i));
        ntp_pair(g, SEC(15 + 590 * i) + rnd_in(g, 0, 1000000), ws[(i + 1) % 6]);
    }
}

/* Cron on popdb01 every five minutes, on the minute like the real daemon. */
static void cron_logs(gen *g)
{
    int64_t first = (SEC(60) - g->t0 % SEC(60)) % SEC(60), t;
    unsigned pid;
    int k;

    for (k = 0; first + SEC(300) * k < SEC(1800); k++) {
        t = first + SEC(300) * k + rnd_in(g, 200000, 900000);
        pid = 3120u + 37u * (unsigned)k;
        log_line(g, K_AUTH, t, "popdb01", "CRON[%u]: pam_unix(cron:session): session opened for "
                 "user root(uid=0) by (uid=0)", pid);
        log_line(g, K_SYSLOG, t, "popdb01",
                 "CRON[%u]: (root) CMD (/usr/local/sbin/pg-backup-check --quiet)", pid);
        log_line(g, K_AUTH, t + rnd_in(g, 900000, 1600000), "popdb01",
                 "CRON[%u]: pam_unix(cron:session): session closed for user root", pid);
    }
}

/* Ordinary host chatter: systemd timers (start, deactivate, finish),
 * services, and kernel messages with their uptime stamp. */
static void syslog_lines(gen *g)
{
    static const struct {
        int s;
        const char *host, *unit, *what;
    } timers[6] = {
        { 5, "portal-web01", "logrotate", "Rotate log files" },
        { 130, "ehealth01", "apt-daily", "Daily apt download activities" },
        { 410, "school01", "systemd-tmpfiles-clean", "Cleanup of Temporary Directories" },
        { 1000, "portal-web01", "phpsessionclean", "Clean php session files" },
        { 1100, "hotline01", "man-db", "Daily man-db regeneration" },
        { 1300, "opendata01", "certbot", "Certbot" },
    };
    static const struct {
        int s;
        const char *host, *msg;
    } other[12] = {
        { 7, "portal-web01", "nginx[1187]: signal process started" },
        { 48, "cam-ctl01", "kernel: e1000e 0000:00:1f.6 eno1: NIC Link is Up 1000 Mbps Full Duplex" },
        { 50, "cam-ctl01", "camctl[733]: stream check: 48/48 cameras online" },
        { 240, "popdb01", "postgres[1022]: [5-1] LOG:  checkpoint starting: time" },
        { 262, "popdb01", "postgres[1022]: [6-1] LOG:  checkpoint complete: wrote 213 buffers" },
        { 520, "hotline01", "asterisk[1544]: NOTICE[1602]: Endpoint 1021 is now Reachable" },
        { 700, "opendata01", "chronyd[611]: Selected source 10.10.0.53" },
        { 760, "cam-ctl01", "camctl[733]: camera 17 (Nguyen Trai / Le Loi) reconnected after 4 s" },
        { 840, "ehealth01", "kernel: EXT4-fs (dm-2): re-mounted. Quota mode: none." },
        { 1450, "school01", "kernel: perf: interrupt took too long (2511 > 2500), lowering "
                            "kernel.perf_event_max_sample_rate to 79500" },
        { 1600, "cam-ctl01", "camctl[733]: stream check: 48/48 cameras online" },
        { 1700, "ehealth01", "postgres[988]: [9-1] LOG:  checkpoint starting: time" },
    };
    int64_t t, up;
    size_t i;

    for (i = 0; i < 6; i++) {
        t = SEC(timers[i].s) + rnd_in(g, 0, 600000);
        log_line(g, K_SYSLOG, t, timers[i].host, "systemd[1]: Starting %s.service - %s...",
                 timers[i].unit, timers[i].what);
        t += rnd_in(g, 200000, 3000000);
        log_line(g, K_SYSLOG, t, timers[i].host, "systemd[1]: %s.service: Deactivated "
                 "successfully.", timers[i].unit);
        log_line(g, K_SYSLOG, t + 20, timers[i].host, "systemd[1]: Finished %s.service - %s.",
                 timers[i].unit, timers[i].what);
    }
    for (i = 0; i < 12; i++) {
        t = SEC(other[i].s) + rnd_in(g, 0, 999999);
        up = SEC(812345) + t; /* the kernel stamps uptime: booted about nine days earlier */
        if (strncmp(other[i].msg, "kernel: ", 8) == 0) {
            log_line(g, K_SYSLOG, t, other[i].host, "kernel: [%6lld.%06lld] %s",
                     (long long)(up / US), (long long)(up % US), other[i].msg + 8);
        } else {
            log_line(g, K_SYSLOG, t, other[i].host, "%s", other[i].msg);
        }
    }
}

/* ---- output ------------------------------------------------------------- */

static int cmp_rec(const void *a, const void *b)
{
    const rec *x = a, *y = b;

    if (x->ts != y->ts) {
        return x->ts < y->ts ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

static cs_rc write_files(gen *g, const char *dir)
{
    char path[K_COUNT][4096];
    FILE *f[K_COUNT] = { NULL };
    pcap_t *pd = NULL;
    pcap_dumper_t *dump = NULL;
    struct pcap_pkthdr ph;
    int64_t last = -1, us;
    cs_rc rc = CS_OK;
    const rec *r;
    size_t i;
    int k, n;

    for (k = 0; k < K_COUNT; k++) {
        n = snprintf(path[k], sizeof path[k], "%s/%s", dir, out_names[k]);
        if (n < 0 || (size_t)n >= sizeof path[k]) {
            rc = cs_err_set(CS_ERR_INVAL, "demo data: output directory name too long: %s", dir);
            goto fail;
        }
    }
    if ((pd = pcap_open_dead(DLT_EN10MB, 65535)) == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "%s: pcap_open_dead failed", path[K_PKT]);
        goto fail;
    }
    if ((dump = pcap_dump_open(pd, path[K_PKT])) == NULL) {
        rc = cs_err_set(CS_ERR_IO, "%s: cannot create: %s", path[K_PKT], pcap_geterr(pd));
        goto fail;
    }
    for (k = K_AUTH; k < K_COUNT; k++) {
        if ((f[k] = fopen(path[k], "w")) == NULL) {
            rc = cs_err_set(CS_ERR_IO, "%s: cannot create: %s", path[k], strerror(errno));
            goto fail;
        }
    }
    qsort(g->recs, g->nrecs, sizeof *g->recs, cmp_rec);
    for (i = 0; i < g->nrecs; i++) {
        r = &g->recs[i];
        if (r->kind != K_PKT) {
            if (fwrite(g->arena + r->off, 1, r->len, f[r->kind]) != r->len
                || fputc('\n', f[r->kind]) == EOF) {
                rc = cs_err_set(CS_ERR_IO, "%s: write failed: %s", path[r->kind], strerror(errno));
                goto fail;
            }
            continue;
        }
        /* Two conversations may meet on one microsecond; keep stamps rising. */
        us = g->t0 + r->ts;
        last = us = us <= last ? last + 1 : us;
        memset(&ph, 0, sizeof ph);
        ph.ts.tv_sec = (time_t)(us / US);
        ph.ts.tv_usec = (suseconds_t)(us % US);
        ph.caplen = ph.len = (bpf_u_int32)r->len;
        pcap_dump((u_char *)dump, &ph, g->arena + r->off);
    }
    /* pcap_dump() and pcap_dump_close() report nothing: flush and ask first. */
    if (pcap_dump_flush(dump) != 0 || ferror(pcap_dump_file(dump))) {
        rc = cs_err_set(CS_ERR_IO, "%s: write failed: %s", path[K_PKT], strerror(errno));
        goto fail;
    }
    for (k = K_AUTH; k < K_COUNT; k++) {
        FILE *fp = f[k];

        f[k] = NULL;
        if (fclose(fp) != 0) {
            rc = cs_err_set(CS_ERR_IO, "%s: write failed: %s", path[k], strerror(errno));
            goto fail;
        }
    }
fail:
    for (k = K_AUTH; k < K_COUNT; k++) {
        if (f[k] != NULL) {
            (void)fclose(f[k]); /* already failing; the first error is the one reported */
        }
    }
    if (dump != NULL) {
        pcap_dump_close(dump);
    }
    if (pd != NULL) {
        pcap_close(pd);
    }
    return rc;
}

cs_rc cs_demo_generate(const char *dir, int64_t start_us)
{
    struct stat st;
    cs_rc rc;
    gen g;

    memset(&g, 0, sizeof g);
    if (dir == NULL || dir[0] == '\0') {
        rc = cs_err_set(CS_ERR_INVAL, "demo data: no output directory given");
        goto fail;
    }
    if (start_us < 0 || start_us > MAX_START_US) {
        rc = cs_err_set(CS_ERR_INVAL, "demo data: start time %lld us is outside what pcap can "
                        "store (1970 to 2106)", (long long)start_us);
        goto fail;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        rc = cs_err_set(CS_ERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
        goto fail;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = cs_err_set(CS_ERR_IO, "%s: exists but is not a directory", dir);
        goto fail;
    }
    g.recs = malloc(MAX_RECS * sizeof *g.recs);
    g.arena = malloc(ARENA);
    if (g.recs == NULL || g.arena == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "demo data: out of memory");
        goto fail;
    }
    g.t0 = start_us;
    g.rng = 0x9e3779b97f4a7c15ULL; /* constant seed: same start, same bytes */
    ordinary_traffic(&g);
    ssh_admin_session(&g, SEC(300));
    ssh_brute_force(&g, SEC(600));
    port_scan(&g, SEC(900));
    web_attack(&g, SEC(1200));
    cron_logs(&g);
    syslog_lines(&g);
    ssh_probe_abroad(&g, SEC(1500));
    if ((rc = g.rc) == CS_OK) {
        rc = write_files(&g, dir);
    }
fail:
    free(g.recs);
    free(g.arena);
    return rc;
}
