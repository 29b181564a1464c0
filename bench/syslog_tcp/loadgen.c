/* loadgen.c - a syslog load generator for the citysoc / rsyslog benchmark.
 *
 * Design. It sends N realistic RFC 3164 lines (sshd, sudo, cron, as a Debian
 * host writes them) to a loopback address only, over one or more TCP
 * connections with newline framing, or as UDP datagrams (one line each).
 * The lines are made once into a pool (a few thousand distinct lines, about
 * 1 MB) and the pool is sent over and over, so the generator spends its CPU
 * in send() and not in formatting: the receiver is what is measured.
 *
 * Everything is bounded: the count (--lines), the time (--timeout; sends
 * carry SO_SNDTIMEO so a stuck receiver cannot hang it), and the target
 * (127.0.0.0/8 or ::1, anything else is refused).
 *
 * Output, one line on stdout: "sent=N bytes=B seconds=S lines_per_s=R".
 * Exit 0 when every line was sent, 1 otherwise, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POOL_LINES 8192
#define LINE_CAP 512
#define MAX_CONNS 64
#define UDP_BATCH 64

typedef struct lg_opts {
    const char *host;
    int port;
    uint64_t lines;
    int conns;
    bool udp;
    bool probe;
    double timeout_s;
    uint64_t rate;          /* UDP: lines per second, 0 = as fast as possible */
} lg_opts;

typedef struct lg_pool {
    char *data;              /* POOL_LINES lines, each ending in '\n' */
    size_t len;
    size_t off[POOL_LINES + 1];
} lg_pool;

typedef struct lg_worker {
    const lg_opts *o;
    const lg_pool *pool;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint64_t want;
    uint64_t sent;
    uint64_t bytes;
    double deadline;
    int err;
    pthread_t thread;
} lg_worker;

static double lg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift: deterministic, so every run sends the same lines */
static uint32_t lg_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static const char *const lg_hosts[] = {"popdb-01", "popdb-02", "portal-web-01", "portal-web-02", "cam-ctl-01",
                                       "hotline-pbx", "ehealth-app-03", "gw-core-01"};
static const char *const lg_users[] = {"root", "admin", "deploy", "alice", "bob", "oracle", "test", "ubuntu",
                                       "backup", "postgres"};
static const char *const lg_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const lg_cmds[] = {"/usr/bin/systemctl restart nginx", "/usr/bin/apt-get update",
                                      "/usr/bin/journalctl -u sshd", "/bin/cat /etc/shadow",
                                      "/usr/sbin/iptables -L -n"};

#define LG_N(a) (sizeof(a) / sizeof((a)[0]))

static int lg_line(char *b, size_t cap, uint32_t *s, unsigned i)
{
    const char *host = lg_hosts[lg_rand(s) % LG_N(lg_hosts)];
    const char *user = lg_users[lg_rand(s) % LG_N(lg_users)];
    unsigned mon = 2, day = 12 + i / 40000, hh = 8 + (i / 3600) % 12, mm = (i / 60) % 60, ss = i % 60;
    unsigned pid = 1000 + lg_rand(s) % 60000;
    unsigned a = 1 + lg_rand(s) % 223, bb = lg_rand(s) % 256, c = lg_rand(s) % 256, d = 1 + lg_rand(s) % 254;
    unsigned port = 1024 + lg_rand(s) % 64000;
    char stamp[32];
    snprintf(stamp, sizeof stamp, "%s %2u %02u:%02u:%02u", lg_months[mon], day % 28 + 1, hh, mm, ss);
    switch (lg_rand(s) % 8) {
    case 0:
    case 1:
        return snprintf(b, cap,
                        "<38>%s %s sshd[%u]: Failed password for invalid user %s from %u.%u.%u.%u port %u ssh2\n",
                        stamp, host, pid, user, a, bb, c, d, port);
    case 2:
        return snprintf(b, cap, "<38>%s %s sshd[%u]: Failed password for %s from %u.%u.%u.%u port %u ssh2\n", stamp,
                        host, pid, user, a, bb, c, d, port);
    case 3:
        return snprintf(b, cap,
                        "<38>%s %s sshd[%u]: Accepted publickey for %s from 10.20.%u.%u port %u ssh2: ED25519 "
                        "SHA256:q3Xv8Jk2mQ1Tn0rVb7yWc5Zs4Hd6Lp9Fg2Ae8Uo1Ri\n",
                        stamp, host, pid, user, c, d, port);
    case 4:
        return snprintf(b, cap, "<38>%s %s sshd[%u]: Connection closed by authenticating user %s %u.%u.%u.%u port %u "
                                "[preauth]\n",
                        stamp, host, pid, user, a, bb, c, d, port);
    case 5:
        return snprintf(b, cap,
                        "<85>%s %s sudo:    %s : TTY=pts/%u ; PWD=/home/%s ; USER=root ; COMMAND=%s\n", stamp, host,
                        user, pid % 8, user, lg_cmds[lg_rand(s) % LG_N(lg_cmds)]);
    case 6:
        return snprintf(b, cap,
                        "<86>%s %s sudo: pam_unix(sudo:session): session opened for user root(uid=0) by %s(uid=%u)\n",
                        stamp, host, user, 1000 + pid % 50);
    default:
        return snprintf(b, cap, "<78>%s %s CRON[%u]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)\n",
                        stamp, host, pid);
    }
}

static int lg_pool_make(lg_pool *p)
{
    uint32_t s = 2463534242u;
    p->data = malloc((size_t)POOL_LINES * LINE_CAP);
    if (p->data == NULL) {
        return -1;
    }
    p->len = 0;
    for (unsigned i = 0; i < POOL_LINES; i++) {
        int n = lg_line(p->data + p->len, LINE_CAP, &s, i * 7);
        if (n <= 0 || n >= LINE_CAP) {
            return -1;
        }
        p->off[i] = p->len;
        p->len += (size_t)n;
    }
    p->off[POOL_LINES] = p->len;
    return 0;
}

static bool lg_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return false;
}

static int lg_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(host, ':') == NULL) {
        struct sockaddr_in *a = (struct sockaddr_in *)(void *)ss;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
            return -1;
        }
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        *sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)(void *)ss;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
            return -1;
        }
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *sl = sizeof *a;
    }
    return lg_loopback(ss) ? 0 : -1;
}

static int lg_socket(lg_worker *w, int type)
{
    struct timeval tv = {1, 0};
    int fd = socket(w->addr.ss_family, type, 0);
    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&w->addr, w->addrlen) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* TCP: send `want` lines from the pool, whole pool chunks then a tail. */
static void *lg_tcp_worker(void *arg)
{
    lg_worker *w = arg;
    const lg_pool *p = w->pool;
    int fd = lg_socket(w, SOCK_STREAM);
    uint64_t line = 0;
    if (fd < 0) {
        w->err = errno;
        return NULL;
    }
    while (w->sent < w->want && lg_now() < w->deadline) {
        uint64_t left = w->want - w->sent;
        size_t first = (size_t)(line % POOL_LINES);
        size_t count = POOL_LINES - first < left ? POOL_LINES - first : (size_t)left;
        const char *q = p->data + p->off[first];
        size_t n = p->off[first + count] - p->off[first];
        while (n > 0 && lg_now() < w->deadline) {
            ssize_t r = send(fd, q, n, MSG_NOSIGNAL);
            if (r < 0) {
                if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                    continue;
                }
                w->err = errno;
                close(fd);
                return NULL;
            }
            q += r;
            n -= (size_t)r;
            w->bytes += (uint64_t)r;
        }
        if (n > 0) {
            break;   /* out of time inside a chunk */
        }
        w->sent += count;
        line += count;
    }
    close(fd);
    return NULL;
}

/* UDP: one line per datagram, in sendmmsg batches; only datagrams the
 * kernel accepted count as sent. */
static void *lg_udp_worker(void *arg)
{
    lg_worker *w = arg;
    const lg_pool *p = w->pool;
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    int fd = lg_socket(w, SOCK_DGRAM);
    memset(iov, 0, sizeof iov);
    uint64_t line = 0;
    double t0 = lg_now();
    if (fd < 0) {
        w->err = errno;
        return NULL;
    }
    while (w->sent < w->want && lg_now() < w->deadline) {
        uint64_t left = w->want - w->sent;
        int n = left < UDP_BATCH ? (int)left : UDP_BATCH;
        int r;
        if (w->o->rate > 0) {
            double due = t0 + (double)w->sent / (double)w->o->rate;
            while (lg_now() < due) {
                struct timespec ts = {0, 50000};
                nanosleep(&ts, NULL);
            }
        }
        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < n; i++) {
            size_t k = (size_t)((line + (uint64_t)i) % POOL_LINES);
            iov[i].iov_base = p->data + p->off[k];
            iov[i].iov_len = p->off[k + 1] - p->off[k] - 1;   /* without the '\n' */
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        r = sendmmsg(fd, msgs, (unsigned)n, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED) {
                continue;
            }
            w->err = errno;
            break;
        }
        for (int i = 0; i < r; i++) {
            w->bytes += iov[i].iov_len;
        }
        w->sent += (uint64_t)r;
        line += (uint64_t)r;
    }
    close(fd);
    return NULL;
}

static int lg_probe(const lg_opts *o)
{
    lg_worker w;
    memset(&w, 0, sizeof w);
    if (lg_addr(o->host, o->port, &w.addr, &w.addrlen) != 0) {
        return 2;
    }
    w.deadline = lg_now() + o->timeout_s;
    while (lg_now() < w.deadline) {
        int fd = lg_socket(&w, SOCK_STREAM);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        {
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
    }
    return 1;
}

static void lg_usage(void)
{
    fprintf(stderr, "usage: loadgen --port P [--host 127.0.0.1|::1] [--lines N] [--conns C] [--udp [--rate R]]\n"
                    "               [--timeout S] | loadgen --probe --port P [--timeout S]\n");
}

static bool lg_num(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
    char *end;
    unsigned long long x;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || x < lo || x > hi) {
        return false;
    }
    *v = x;
    return true;
}

int main(int argc, char **argv)
{
    lg_opts o = {"127.0.0.1", 0, 1000000, 1, false, false, 120.0, 0};
    lg_pool pool;
    lg_worker *ws = NULL;
    uint64_t sent = 0, bytes = 0;
    double t0, dt;
    int err = 0;
    int started = 0;
    int rc = 1;

    memset(&pool, 0, sizeof pool);
    for (int i = 1; i < argc; i++) {
        uint64_t v;
        bool has = i + 1 < argc;
        if (strcmp(argv[i], "--udp") == 0) {
            o.udp = true;
        } else if (strcmp(argv[i], "--probe") == 0) {
            o.probe = true;
        } else if (strcmp(argv[i], "--host") == 0 && has) {
            o.host = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && has && lg_num(argv[i + 1], 1, 65535, &v)) {
            o.port = (int)v;
            i++;
        } else if (strcmp(argv[i], "--lines") == 0 && has && lg_num(argv[i + 1], 1, 1000000000, &v)) {
            o.lines = v;
            i++;
        } else if (strcmp(argv[i], "--conns") == 0 && has && lg_num(argv[i + 1], 1, MAX_CONNS, &v)) {
            o.conns = (int)v;
            i++;
        } else if (strcmp(argv[i], "--timeout") == 0 && has && lg_num(argv[i + 1], 1, 3600, &v)) {
            o.timeout_s = (double)v;
            i++;
        } else if (strcmp(argv[i], "--rate") == 0 && has && lg_num(argv[i + 1], 0, 100000000, &v)) {
            o.rate = v;
            i++;
        } else {
            lg_usage();
            return 2;
        }
    }
    if (o.port == 0) {
        lg_usage();
        return 2;
    }
    if (o.probe) {
        return lg_probe(&o);
    }
    {
        struct sockaddr_storage ss;
        socklen_t sl;
        if (lg_addr(o.host, o.port, &ss, &sl) != 0) {
            fprintf(stderr, "loadgen: %s is not a loopback address literal\n", o.host);
            return 2;
        }
    }
    ws = calloc((size_t)o.conns, sizeof *ws);
    if (ws == NULL || lg_pool_make(&pool) != 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto done;
    }
    t0 = lg_now();
    for (int i = 0; i < o.conns; i++) {
        ws[i].o = &o;
        ws[i].pool = &pool;
        ws[i].want = o.lines / (uint64_t)o.conns + (i == 0 ? o.lines % (uint64_t)o.conns : 0);
        ws[i].deadline = t0 + o.timeout_s;
        (void)lg_addr(o.host, o.port, &ws[i].addr, &ws[i].addrlen);
        if (pthread_create(&ws[i].thread, NULL, o.udp ? lg_udp_worker : lg_tcp_worker, &ws[i]) != 0) {
            fprintf(stderr, "loadgen: cannot start a thread\n");
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(ws[i].thread, NULL);
        sent += ws[i].sent;
        bytes += ws[i].bytes;
        if (ws[i].err != 0) {
            err = ws[i].err;
        }
    }
    dt = lg_now() - t0;
    if (err != 0) {
        fprintf(stderr, "loadgen: %s\n", strerror(err));
    }
    printf("sent=%llu bytes=%llu seconds=%.3f lines_per_s=%.0f\n", (unsigned long long)sent,
           (unsigned long long)bytes, dt, dt > 0 ? (double)sent / dt : 0.0);
    rc = sent == o.lines ? 0 : 1;

done:
    free(ws);
    free(pool.data);
    return rc;
}
