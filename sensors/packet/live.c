/* live.c - live capture of one interface with N worker threads (live.h).
 *
 * Design note
 * -----------
 * Every worker owns one libpcap handle (TPACKET_V3 ring, 100 ms block
 * timeout, non-blocking) and one engine (engine.h), so the hot path shares
 * nothing: poll() the handle, pcap_dispatch() a batch into the engine, then
 * move the engine's clock to the wall clock (cs_pkt_engine_advance) so idle
 * flows end and stats events go out while the link is quiet. Once a second
 * the handle's pcap_stats go into the engine, so its stats events carry the
 * kernel's counters. A stop flag ends the loop at the next poll timeout.
 *
 * Several workers: the handles join one PACKET_FANOUT group in hash mode
 * with the defrag flag, the kernel's symmetric flow hash after IP
 * reassembly, so both directions of a flow reach the same worker. The
 * group id is one the kernel guarantees unused (PACKET_FANOUT_FLAG_UNIQUEID)
 * unless the caller names one: an id merely derived from our pid could be
 * another program's group (Suricata's cluster 99 uses the same mode), and
 * joining it would silently split the traffic between the two programs.
 *
 * Open and start are apart so that the caller can drop root in between.
 * Until start, a reject-everything filter keeps the rings empty (no
 * startup drops while the rest of the process comes up); a socket also
 * takes packets alone in the moment between its activation and the
 * reject filter (or the fanout join), so packets stamped before the end of
 * cs_packet_live_open() are left out: they may be duplicates of what
 * another worker got.
 *
 * Events: while reading, through the caller's non-blocking sink (a full
 * queue costs the event, counted); at stop, the flush of the open flows
 * goes through the blocking sink. Counters are published as relaxed
 * atomics after every batch for /health readers on other threads.
 */
#include "live.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../runtime/log.h"
#include "decode.h"
#include "engine.h"

#define READ_TIMEOUT_MS 100      /* kernel block timeout: the longest a packet waits in a ring */
#define POLL_MS 100              /* the longest a stop waits for the loop */
#define BATCH 256                /* packets per pcap_dispatch */
#define MAX_ROUNDS 16            /* batches before the clock and the stop flag are looked at again */
#define COUNTERS_EVERY_US 1000000   /* pcap_stats into the engine */
#define MIN_SNAPLEN 64
#define MAX_SNAPLEN 262144

typedef struct live_worker {
    cs_packet_live *l;
    unsigned index;
    pcap_t *pc;
    int fd;
    struct bpf_program prog;     /* the caller's filter, installed at start */
    bool prog_set;
    cs_pkt_engine *engine;
    int64_t skip_before_us;      /* packets stamped earlier came before the capture was ready */
    bool draining;               /* flushing at stop: the blocking sink */
    bool sink_failed;            /* the pipeline refused an event: no flush */
    cs_rc rc;                    /* first error of the packet callback */
    char err[512];               /* this worker's failure, for other threads once `failed` is set */
    atomic_int failed;           /* cs_rc, set (release) after err is written */
    atomic_bool running;
    atomic_ullong packets, bytes, flows, malformed, truncated;
    atomic_ullong krecv, kdrop, ifdrop, qdrops;
    pthread_t th;
} live_worker;

struct cs_packet_live {
    char iface[IFNAMSIZ];
    int linktype;
    unsigned n;
    live_worker *w;
    int64_t ready_us;            /* wall clock at the end of open */
    cs_packet_opts po;
    cs_event_sink sink, try_sink;
    void *ud;
    atomic_bool stop;
    unsigned nthreads;           /* workers whose thread was started */
    bool engines_made;
    bool stopped;
    cs_rc stop_rc;
    char stop_err[512];
};

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);   /* the clock the kernel stamps packets with */
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void cs_live_opts_init(cs_live_opts *o)
{
    memset(o, 0, sizeof *o);
    o->snaplen = CS_LIVE_DEFAULT_SNAPLEN;
    o->promisc = true;
    o->workers = 1;
    o->buffer_mb = CS_LIVE_DEFAULT_BUFFER_MB;
    o->fanout_group = -1;
}

/* ------------------------------------------------------------------ open -- */

static cs_rc activate_error(const cs_packet_live *l, pcap_t *pc, int arc)
{
    const char *detail = pcap_geterr(pc);
    if (detail == NULL || detail[0] == '\0') {
        detail = pcap_statustostr(arc);
    }
    switch (arc) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
        return cs_err_set(CS_ERR_NOTFOUND, "capture on '%s': no such interface (inputs.capture interface; "
                          "`ip link` lists them)", l->iface);
    case PCAP_ERROR_PERM_DENIED:
        return cs_err_set(CS_ERR_IO, "capture on '%s': permission denied: capturing needs root or the CAP_NET_RAW "
                          "capability (%s)", l->iface, detail);
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        return cs_err_set(CS_ERR_IO, "capture on '%s': promiscuous mode is not permitted (promisc: false captures "
                          "without it) (%s)", l->iface, detail);
    case PCAP_ERROR_IFACE_NOT_UP:
        return cs_err_set(CS_ERR_IO, "capture on '%s': the interface is down", l->iface);
    default:
        return cs_err_set(CS_ERR_IO, "capture on '%s': cannot capture: %s", l->iface, detail);
    }
}

/* One handle: created, activated, closed to every packet until start, the
 * caller's filter compiled for later. */
static cs_rc open_handle(cs_packet_live *l, const cs_live_opts *o, live_worker *w)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    struct bpf_insn reject = BPF_STMT(BPF_RET | BPF_K, 0);
    struct bpf_program none = {1, &reject};
    int snaplen = o->snaplen > 0 ? o->snaplen : CS_LIVE_DEFAULT_SNAPLEN;
    unsigned mb = o->buffer_mb > 0 ? o->buffer_mb : CS_LIVE_DEFAULT_BUFFER_MB;
    int arc;

    if ((w->pc = pcap_create(l->iface, errbuf)) == NULL) {
        return cs_err_set(CS_ERR_IO, "capture on '%s': %s", l->iface, errbuf);
    }
    if (pcap_set_snaplen(w->pc, snaplen) != 0 || pcap_set_promisc(w->pc, o->promisc ? 1 : 0) != 0 ||
        pcap_set_timeout(w->pc, READ_TIMEOUT_MS) != 0 || pcap_set_buffer_size(w->pc, (int)(mb << 20)) != 0) {
        return cs_err_set(CS_ERR_INTERNAL, "capture on '%s': cannot set the capture options", l->iface);
    }
    arc = pcap_activate(w->pc);
    if (arc < 0) {
        return activate_error(l, w->pc, arc);
    }
    if (arc > 0 && w->index == 0) {
        CS_WARN("packet", "capture on '%s': %s", l->iface,
                arc == PCAP_WARNING ? pcap_geterr(w->pc) : pcap_statustostr(arc));
    }
    if (pcap_setfilter(w->pc, &none) != 0) {
        return cs_err_set(CS_ERR_IO, "capture on '%s': cannot install a filter: %s", l->iface, pcap_geterr(w->pc));
    }
    l->linktype = pcap_datalink(w->pc);
    if (!cs_decode_linktype_supported(l->linktype)) {
        const char *name = pcap_datalink_val_to_name(l->linktype);
        return cs_err_set(CS_ERR_CONFIG, "capture on '%s': link type %s (%d) is not one the packet decoder takes",
                          l->iface, name != NULL ? name : "unknown", l->linktype);
    }
    /* compiled against this handle's link type; an empty expression takes every packet */
    if (pcap_compile(w->pc, &w->prog, o->filter != NULL ? o->filter : "", 1, PCAP_NETMASK_UNKNOWN) != 0) {
        return cs_err_set(CS_ERR_CONFIG, "capture on '%s': the filter \"%s\" does not compile: %s", l->iface,
                          o->filter != NULL ? o->filter : "", pcap_geterr(w->pc));
    }
    w->prog_set = true;
    if (pcap_setnonblock(w->pc, 1, errbuf) != 0) {
        return cs_err_set(CS_ERR_IO, "capture on '%s': cannot read without blocking: %s", l->iface, errbuf);
    }
    if ((w->fd = pcap_get_selectable_fd(w->pc)) < 0) {
        return cs_err_set(CS_ERR_IO, "capture on '%s': the handle cannot be polled", l->iface);
    }
    return CS_OK;
}

static cs_rc fanout_add(const cs_packet_live *l, int fd, uint32_t arg, uint32_t id)
{
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
        return cs_err_set(CS_ERR_IO, "capture on '%s': cannot join packet fanout group %" PRIu32 ": %s", l->iface,
                          id, strerror(errno));
    }
    return CS_OK;
}

/* Every handle into one fanout group, before anything is read. */
static cs_rc join_fanout(cs_packet_live *l, int group)
{
    const uint32_t mode = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG;
    uint32_t id = 0;
    unsigned first = 0;
    cs_rc rc;

    if (group >= 0) {
        id = (uint32_t)group;
    } else {
        uint32_t arg = (mode | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
        if (setsockopt(l->w[0].fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) == 0) {
            uint32_t got = 0;
            socklen_t len = sizeof got;
            if (getsockopt(l->w[0].fd, SOL_PACKET, PACKET_FANOUT, &got, &len) != 0) {
                return cs_err_set(CS_ERR_IO, "capture on '%s': cannot read the packet fanout group: %s", l->iface,
                                  strerror(errno));
            }
            id = got & 0xffffu;
            first = 1;
        } else if (errno == EINVAL) {
            /* a kernel before 4.5 picks no id: derive one from the pid and the interface */
            id = ((uint32_t)getpid() ^ ((uint32_t)if_nametoindex(l->iface) << 11)) & 0xffffu;
        } else {
            return cs_err_set(CS_ERR_IO, "capture on '%s': cannot create a packet fanout group: %s", l->iface,
                              strerror(errno));
        }
    }
    for (unsigned i = first; i < l->n; i++) {
        if ((rc = fanout_add(l, l->w[i].fd, id | (mode << 16), id)) != CS_OK) {
            return rc;
        }
    }
    CS_DEBUG("packet", "capture on '%s': %u workers in packet fanout group %" PRIu32, l->iface, l->n, id);
    return CS_OK;
}

cs_rc cs_packet_live_open(const cs_live_opts *o, cs_packet_live **out)
{
    cs_packet_live *l = NULL;
    size_t len;
    cs_rc rc = CS_OK;

    *out = NULL;
    if (o == NULL || o->interface == NULL || (len = strlen(o->interface)) == 0) {
        return cs_err_set(CS_ERR_INVAL, "a live capture needs an interface");
    }
    if (len >= IFNAMSIZ) {
        return cs_err_set(CS_ERR_INVAL, "capture on '%s': an interface name has at most %d characters",
                          o->interface, IFNAMSIZ - 1);
    }
    if (o->snaplen > 0 && (o->snaplen < MIN_SNAPLEN || o->snaplen > MAX_SNAPLEN)) {
        return cs_err_set(CS_ERR_INVAL, "capture on '%s': snaplen %d is not in %d..%d", o->interface, o->snaplen,
                          MIN_SNAPLEN, MAX_SNAPLEN);
    }
    if (o->workers > CS_PACKET_MAX_WORKERS) {
        return cs_err_set(CS_ERR_INVAL, "capture on '%s': %u workers, at most %d", o->interface, o->workers,
                          CS_PACKET_MAX_WORKERS);
    }
    if (o->buffer_mb > CS_LIVE_MAX_BUFFER_MB || o->fanout_group > 0xffff) {
        return cs_err_set(CS_ERR_INVAL, "capture on '%s': buffer_mb is at most %d and the fanout group at most 65535",
                          o->interface, CS_LIVE_MAX_BUFFER_MB);
    }
    if ((l = calloc(1, sizeof *l)) == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory opening a capture");
    }
    memcpy(l->iface, o->interface, len + 1);
    l->n = o->workers == 0 ? 1 : o->workers;
    atomic_init(&l->stop, false);
    if ((l->w = calloc(l->n, sizeof *l->w)) == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory opening a capture");
        goto fail;
    }
    for (unsigned i = 0; i < l->n; i++) {
        live_worker *w = &l->w[i];
        w->l = l;
        w->index = i;
        w->fd = -1;
        atomic_init(&w->failed, CS_OK);
        atomic_init(&w->running, false);
        if ((rc = open_handle(l, o, w)) != CS_OK) {
            goto fail;
        }
    }
    if (l->n > 1 && (rc = join_fanout(l, o->fanout_group)) != CS_OK) {
        goto fail;
    }
    l->ready_us = wall_us();
    *out = l;
    return CS_OK;
fail:
    cs_packet_live_free(l);
    return rc;
}

/* ---------------------------------------------------------------- workers -- */

/* The engines' sink: the caller's non-blocking one while reading. */
static cs_rc live_sink(cs_event *ev, void *ud)
{
    live_worker *w = ud;
    cs_packet_live *l = w->l;
    cs_rc rc;
    if (w->draining) {
        rc = l->sink(ev, l->ud);   /* takes ev whatever it returns */
    } else if ((rc = l->try_sink(ev, l->ud)) != CS_OK) {
        cs_event_free(ev);   /* not taken */
        if (rc == CS_ERR_FULL) {
            atomic_fetch_add_explicit(&w->qdrops, 1, memory_order_relaxed);
            return CS_OK;    /* a live input cannot wait: counted, and on */
        }
    }
    if (rc != CS_OK) {
        w->sink_failed = true;
    }
    return rc;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    live_worker *w = (live_worker *)(void *)user;
    if (w->rc != CS_OK) {
        return;
    }
    if (w->skip_before_us != 0) {
        int64_t ts = (int64_t)h->ts.tv_sec * 1000000 + (int64_t)h->ts.tv_usec;
        if (ts < w->skip_before_us) {
            return;
        }
        w->skip_before_us = 0;   /* a ring is in arrival order: the rest is ours */
    }
    if ((w->rc = cs_pkt_engine_packet(w->engine, w->l->linktype, h, data)) != CS_OK) {
        pcap_breakloop(w->pc);
    }
}

/* Whatever the ring holds, in batches, a bounded number of them. */
static cs_rc read_ready(live_worker *w)
{
    for (int round = 0; round < MAX_ROUNDS; round++) {
        int n = pcap_dispatch(w->pc, BATCH, on_packet, (u_char *)(void *)w);
        if (w->rc != CS_OK) {
            return w->rc;   /* the sentence is set on this thread */
        }
        if (n < 0) {
            return cs_err_set(CS_ERR_IO, "capture on '%s': %s", w->l->iface, pcap_geterr(w->pc));
        }
        if (n < BATCH) {
            break;
        }
    }
    return CS_OK;
}

static void capture_counters(live_worker *w)
{
    struct pcap_stat ps;
    if (pcap_stats(w->pc, &ps) != 0) {
        return;   /* the interface went away: the last counters stay */
    }
    cs_pkt_engine_set_capture_counters(w->engine, ps.ps_recv, ps.ps_drop, ps.ps_ifdrop);
    atomic_store_explicit(&w->krecv, ps.ps_recv, memory_order_relaxed);
    atomic_store_explicit(&w->kdrop, ps.ps_drop, memory_order_relaxed);
    atomic_store_explicit(&w->ifdrop, ps.ps_ifdrop, memory_order_relaxed);
}

static void publish(live_worker *w)
{
    const cs_packet_stats *st = cs_pkt_engine_stats(w->engine);
    atomic_store_explicit(&w->packets, st->packets, memory_order_relaxed);
    atomic_store_explicit(&w->bytes, st->bytes, memory_order_relaxed);
    atomic_store_explicit(&w->flows, st->flows_emitted, memory_order_relaxed);
    atomic_store_explicit(&w->malformed, st->decode_errors, memory_order_relaxed);
    atomic_store_explicit(&w->truncated, st->truncated, memory_order_relaxed);
}

static void *worker_main(void *arg)
{
    live_worker *w = arg;
    cs_packet_live *l = w->l;
    struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
    int64_t next_counters = 0;
    cs_rc rc = CS_OK, frc;

    pthread_setname_np(pthread_self(), "cs-capture");   /* top -H, perf */
    while (!atomic_load(&l->stop)) {
        int64_t now;
        if (poll(&pfd, 1, POLL_MS) < 0 && errno != EINTR) {
            rc = cs_err_set(CS_ERR_IO, "capture on '%s': poll: %s", l->iface, strerror(errno));
            break;
        }
        if ((rc = read_ready(w)) != CS_OK) {
            break;
        }
        now = wall_us();
        if (now >= next_counters) {
            capture_counters(w);
            next_counters = now + COUNTERS_EVERY_US;
        }
        if ((rc = cs_pkt_engine_advance(w->engine, now)) != CS_OK) {
            break;
        }
        publish(w);
    }
    if (rc == CS_OK) {
        /* packets that arrived before the stop belong to this capture: the
         * open ring block is handed over within one block timeout */
        (void)poll(&pfd, 1, POLL_MS);
        rc = read_ready(w);
    }
    capture_counters(w);   /* into the last stats event */
    w->draining = true;
    if (!w->sink_failed) {
        frc = cs_pkt_engine_finish(w->engine);
        rc = rc != CS_OK ? rc : frc;
    }
    publish(w);
    if (rc != CS_OK) {
        snprintf(w->err, sizeof w->err, "%s", cs_err_msg());   /* the message is thread-local */
        if (!atomic_load(&l->stop)) {
            CS_ERROR("packet", "%s; worker %u of the capture stopped", w->err, w->index);
        }
        atomic_store_explicit(&w->failed, (int)rc, memory_order_release);
    }
    atomic_store(&w->running, false);
    return NULL;
}

/* Join the started threads; the first failure is kept for stop(). */
static void join_all(cs_packet_live *l)
{
    atomic_store(&l->stop, true);
    for (unsigned i = 0; i < l->nthreads; i++) {
        pthread_join(l->w[i].th, NULL);
    }
    for (unsigned i = 0; i < l->nthreads && l->stop_rc == CS_OK; i++) {
        int f = atomic_load_explicit(&l->w[i].failed, memory_order_acquire);
        if (f != CS_OK) {
            l->stop_rc = (cs_rc)f;
            snprintf(l->stop_err, sizeof l->stop_err, "%s", l->w[i].err);
        }
    }
    l->stopped = true;
}

cs_rc cs_packet_live_start(cs_packet_live *l, const cs_packet_opts *po, cs_event_sink sink, cs_event_sink try_sink,
                           void *ud)
{
    cs_rc rc = CS_OK;

    if (l == NULL || sink == NULL || try_sink == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_packet_live_start: a capture and both sinks are required");
    }
    if (l->engines_made) {
        return cs_err_set(CS_ERR_INVAL, "capture on '%s': already started", l->iface);
    }
    if (po != NULL) {
        l->po = *po;
    }
    l->po.workers = 0;   /* the workers are ours */
    l->sink = sink;
    l->try_sink = try_sink;
    l->ud = ud;
    l->engines_made = true;
    for (unsigned i = 0; i < l->n; i++) {
        if ((rc = cs_pkt_engine_new(l->iface, &l->po, live_sink, &l->w[i], i, l->n, &l->w[i].engine)) != CS_OK) {
            return rc;   /* free() releases the engines made */
        }
    }
    for (unsigned i = 0; i < l->n; i++) {
        live_worker *w = &l->w[i];
        w->skip_before_us = l->ready_us;
        if (pcap_setfilter(w->pc, &w->prog) != 0) {
            return cs_err_set(CS_ERR_IO, "capture on '%s': cannot install the filter: %s", l->iface,
                              pcap_geterr(w->pc));
        }
    }
    for (unsigned i = 0; i < l->n; i++) {
        atomic_store(&l->w[i].running, true);
        if (pthread_create(&l->w[i].th, NULL, worker_main, &l->w[i]) != 0) {
            atomic_store(&l->w[i].running, false);
            join_all(l);
            return cs_err_set(CS_ERR_INTERNAL, "capture on '%s': cannot start worker %u", l->iface, i);
        }
        l->nthreads++;
    }
    CS_DEBUG("packet", "capturing on '%s' with %u worker%s", l->iface, l->n, l->n == 1 ? "" : "s");
    return CS_OK;
}

cs_rc cs_packet_live_stop(cs_packet_live *l)
{
    if (l == NULL) {
        return CS_OK;
    }
    if (!l->stopped) {
        join_all(l);
    }
    return l->stop_rc != CS_OK ? cs_err_set(l->stop_rc, "%s", l->stop_err) : CS_OK;
}

void cs_packet_live_stats(const cs_packet_live *l, cs_live_stats *st)
{
    memset(st, 0, sizeof *st);
    st->workers = l->n;
    for (unsigned i = 0; i < l->n; i++) {
        live_worker *w = &l->w[i];
        uint64_t ifd = atomic_load_explicit(&w->ifdrop, memory_order_relaxed);
        st->packets += atomic_load_explicit(&w->packets, memory_order_relaxed);
        st->bytes += atomic_load_explicit(&w->bytes, memory_order_relaxed);
        st->flows += atomic_load_explicit(&w->flows, memory_order_relaxed);
        st->malformed += atomic_load_explicit(&w->malformed, memory_order_relaxed);
        st->truncated += atomic_load_explicit(&w->truncated, memory_order_relaxed);
        st->kernel_received += atomic_load_explicit(&w->krecv, memory_order_relaxed);
        st->kernel_drops += atomic_load_explicit(&w->kdrop, memory_order_relaxed);
        st->queue_drops += atomic_load_explicit(&w->qdrops, memory_order_relaxed);
        /* every handle reports the same interface's drops */
        st->if_drops = ifd > st->if_drops ? ifd : st->if_drops;
        st->running += atomic_load(&w->running) ? 1u : 0u;
    }
}

void cs_packet_live_stats_json(const cs_packet_live *l, cs_buf *b)
{
    cs_live_stats st;
    cs_packet_live_stats(l, &st);
    cs_buf_append_cstr(b, "{\"interface\":");
    cs_buf_json_str(b, l->iface, strlen(l->iface));
    cs_buf_printf(b, ",\"workers\":%u,\"running\":%u,\"packets\":%llu,\"bytes\":%llu,\"flows\":%llu,"
                     "\"malformed\":%llu,\"truncated\":%llu,\"kernel_received\":%llu,\"kernel_drops\":%llu,"
                     "\"if_drops\":%llu,\"queue_drops\":%llu",
                  st.workers, st.running, (unsigned long long)st.packets, (unsigned long long)st.bytes,
                  (unsigned long long)st.flows, (unsigned long long)st.malformed, (unsigned long long)st.truncated,
                  (unsigned long long)st.kernel_received, (unsigned long long)st.kernel_drops,
                  (unsigned long long)st.if_drops, (unsigned long long)st.queue_drops);
    for (unsigned i = 0; i < l->n; i++) {
        if (atomic_load_explicit(&l->w[i].failed, memory_order_acquire) != CS_OK) {
            cs_buf_append_cstr(b, ",\"error\":");
            cs_buf_json_str(b, l->w[i].err, strlen(l->w[i].err));
            break;
        }
    }
    cs_buf_putc(b, '}');
}

const char *cs_packet_live_interface(const cs_packet_live *l)
{
    return l->iface;
}

void cs_packet_live_free(cs_packet_live *l)
{
    if (l == NULL) {
        return;
    }
    if (l->nthreads > 0 && !l->stopped) {
        join_all(l);
    }
    for (unsigned i = 0; l->w != NULL && i < l->n; i++) {
        live_worker *w = &l->w[i];
        cs_pkt_engine_free(w->engine);
        if (w->prog_set) {
            pcap_freecode(&w->prog);
        }
        if (w->pc != NULL) {
            pcap_close(w->pc);
        }
    }
    free(l->w);
    free(l);
}
