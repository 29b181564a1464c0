/* Unit tests: live capture (sensors/packet/live.h).
 *
 * Option checks need no privilege. The captures themselves run in a
 * private network namespace this process enters (unshare(CLONE_NEWNET),
 * root only; else those tests are skipped): its loopback carries only the
 * datagrams the tests send, and nothing leaves the host. Every send is
 * bounded in count, every wait has a deadline.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/err.h"
#include "runtime/fields.h"
#include "sensors/packet/live.h"

static bool in_netns;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A private network namespace with its loopback up. */
static int group_setup(void **state)
{
    struct ifreq ifr;
    int fd;
    (void)state;
    if (unshare(CLONE_NEWNET) != 0) {
        return 0;   /* not root: the capture tests skip */
    }
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        in_netns = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    }
    if (fd >= 0) {
        close(fd);
    }
    return 0;
}

/* ---------- recording sinks ---------- */

typedef struct rec {
    pthread_mutex_t mu;
    int flows, stats, stats_with_kernel, other;
    int blocking_calls;
    bool try_full;           /* the non-blocking sink answers CS_ERR_FULL */
} rec;

static void note(rec *r, const cs_event *ev)
{
    pthread_mutex_lock(&r->mu);
    if (ev->kind == CS_KIND_FLOW) {
        r->flows++;
    } else if (ev->kind == CS_KIND_STATS) {
        r->stats++;
        r->stats_with_kernel += cs_event_find(ev, CS_F_CS_STATS_KERNEL_RECEIVED) != NULL;
    } else {
        r->other++;
    }
    pthread_mutex_unlock(&r->mu);
}

static cs_rc blocking_sink(cs_event *ev, void *ud)
{
    rec *r = ud;
    note(r, ev);
    pthread_mutex_lock(&r->mu);
    r->blocking_calls++;
    pthread_mutex_unlock(&r->mu);
    cs_event_free(ev);
    return CS_OK;
}

static cs_rc try_sink(cs_event *ev, void *ud)
{
    rec *r = ud;
    if (r->try_full) {
        return CS_ERR_FULL;   /* not taken */
    }
    note(r, ev);
    cs_event_free(ev);
    return CS_OK;
}

static int get(rec *r, const int *v)
{
    int x;
    pthread_mutex_lock(&r->mu);
    x = *v;
    pthread_mutex_unlock(&r->mu);
    return x;
}

/* n datagrams from n source ports to 127.0.0.1:port: n UDP flows. */
static void send_datagrams(int n, int port)
{
    struct sockaddr_in dst;
    int rx = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(rx >= 0);
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)port);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(rx, (struct sockaddr *)&dst, sizeof dst), 0);
    for (int i = 0; i < n; i++) {
        int tx = socket(AF_INET, SOCK_DGRAM, 0);
        assert_true(tx >= 0);
        assert_int_equal(sendto(tx, "citysoc", 7, 0, (struct sockaddr *)&dst, sizeof dst), 7);
        close(tx);
    }
    close(rx);
}

/* ---------- tests ---------- */

static void test_bad_options(void **state)
{
    cs_live_opts o;
    cs_packet_live *l = NULL;
    (void)state;
    cs_live_opts_init(&o);
    assert_int_equal(cs_packet_live_open(&o, &l), CS_ERR_INVAL);
    assert_null(l);
    assert_contains(cs_err_msg(), "needs an interface");
    o.interface = "an-interface-name-too-long";
    assert_int_equal(cs_packet_live_open(&o, &l), CS_ERR_INVAL);
    assert_contains(cs_err_msg(), "at most 15 characters");
    o.interface = "lo";
    o.snaplen = 10;
    assert_int_equal(cs_packet_live_open(&o, &l), CS_ERR_INVAL);
    assert_contains(cs_err_msg(), "capture on 'lo': snaplen 10");
    o.snaplen = 0;
    o.workers = CS_PACKET_MAX_WORKERS + 1;
    assert_int_equal(cs_packet_live_open(&o, &l), CS_ERR_INVAL);
    assert_contains(cs_err_msg(), "workers");
}

static void test_open_errors(void **state)
{
    cs_live_opts o;
    cs_packet_live *l = NULL;
    (void)state;
    if (!in_netns) {
        skip();
    }
    cs_live_opts_init(&o);
    o.interface = "nosuch0";
    assert_int_equal(cs_packet_live_open(&o, &l), CS_ERR_NOTFOUND);
    assert_contains(cs_err_msg(), "capture on 'nosuch0': no such interface");
    o.interface = "lo";
    o.filter = "udp and and";
    o.workers = 3;
    assert_int_equal(cs_packet_live_open(&o, &l), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "capture on 'lo': the filter \"udp and and\" does not compile: ");
    assert_null(l);
}

/* Flows end by the idle timeout and stats events go out on the wall clock
 * while no packet comes; the stop is prompt. */
static void test_idle_flows_and_periodic_stats(void **state)
{
    cs_live_opts o;
    cs_packet_opts po;
    cs_packet_live *l = NULL;
    cs_live_stats st;
    rec r;
    int64_t t0, deadline;
    (void)state;
    if (!in_netns) {
        skip();
    }
    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.mu, NULL);
    cs_live_opts_init(&o);
    o.interface = "lo";
    o.filter = "udp port 7200";
    o.workers = 2;
    o.buffer_mb = 2;
    memset(&po, 0, sizeof po);
    po.idle_timeout_us = 300000;
    po.stats_interval_us = 200000;
    assert_int_equal(cs_packet_live_open(&o, &l), CS_OK);
    send_datagrams(3, 7201);   /* before start, and filtered out anyway: never seen */
    assert_int_equal(cs_packet_live_start(l, &po, blocking_sink, try_sink, &r), CS_OK);
    assert_int_equal(cs_packet_live_start(l, &po, blocking_sink, try_sink, &r), CS_ERR_INVAL);
    send_datagrams(20, 7200);
    deadline = mono_us() + 5000000;
    while ((get(&r, &r.flows) < 20 || get(&r, &r.stats_with_kernel) < 2) && mono_us() < deadline) {
        sleep_ms(20);
    }
    assert_int_equal(get(&r, &r.flows), 20);   /* by the idle timeout, with no packet after them */
    assert_true(get(&r, &r.stats_with_kernel) >= 2);
    cs_packet_live_stats(l, &st);
    assert_int_equal(st.workers, 2);
    assert_int_equal(st.running, 2);
    assert_int_equal(st.flows, 20);
    assert_int_equal(st.queue_drops, 0);
    t0 = mono_us();
    assert_int_equal(cs_packet_live_stop(l), CS_OK);
    assert_true(mono_us() - t0 < 1000000);   /* ~0.2 s; slack for sanitizers */
    cs_packet_live_stats(l, &st);
    assert_int_equal(st.packets, 20);
    assert_int_equal(st.running, 0);
    assert_true(st.kernel_received >= 20);
    assert_int_equal(cs_packet_live_stop(l), CS_OK);   /* again: same answer */
    cs_packet_live_free(l);
    assert_int_equal(get(&r, &r.other), 0);
    pthread_mutex_destroy(&r.mu);
}

/* A full queue costs the event, counted; the flush at stop waits instead. */
static void test_full_queue_counted(void **state)
{
    cs_live_opts o;
    cs_packet_opts po;
    cs_packet_live *l = NULL;
    cs_live_stats st;
    cs_buf b;
    rec r;
    int64_t deadline;
    (void)state;
    if (!in_netns) {
        skip();
    }
    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.mu, NULL);
    r.try_full = true;
    cs_live_opts_init(&o);
    o.interface = "lo";
    o.filter = "udp port 7300";
    memset(&po, 0, sizeof po);
    po.idle_timeout_us = 200000;
    po.stats_interval_us = 60 * 1000000LL;
    assert_int_equal(cs_packet_live_open(&o, &l), CS_OK);
    assert_int_equal(cs_packet_live_start(l, &po, blocking_sink, try_sink, &r), CS_OK);
    send_datagrams(10, 7300);
    deadline = mono_us() + 5000000;
    do {
        sleep_ms(20);
        cs_packet_live_stats(l, &st);
    } while (st.queue_drops < 10 && mono_us() < deadline);
    assert_int_equal(st.queue_drops, 10);   /* the 10 flows, ended idle while the queue was full */
    assert_int_equal(get(&r, &r.flows), 0);
    send_datagrams(1, 7300);                 /* one more, still open at stop */
    sleep_ms(150);
    assert_int_equal(cs_packet_live_stop(l), CS_OK);
    assert_int_equal(get(&r, &r.flows), 1);  /* flushed through the blocking sink */
    assert_int_equal(get(&r, &r.stats), 1);  /* and the last stats event */
    cs_buf_init(&b);
    cs_packet_live_stats_json(l, &b);
    assert_contains(b.data, "{\"interface\":\"lo\",\"workers\":1,\"running\":0,\"packets\":11,");
    assert_contains(b.data, "\"queue_drops\":10}");
    cs_buf_free(&b);
    cs_packet_live_free(l);
    pthread_mutex_destroy(&r.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_idle_flows_and_periodic_stats),
        cmocka_unit_test(test_full_queue_counted),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
