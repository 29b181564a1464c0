/* live.h - live capture of one network interface into flow events.
 *
 * A capture is opened and started in two steps so that the process can
 * drop its privileges in between (DESIGN, Security): cs_packet_live_open()
 * needs root or CAP_NET_RAW, opens one libpcap handle per worker and joins
 * them in one PACKET_FANOUT group, but lets no packet in yet;
 * cs_packet_live_start() needs no privilege: it builds one packet engine
 * (flow table, nDPI, YARA; engine.h) per worker and starts the threads.
 * Each worker reads its own handle; the kernel deals packets to them by a
 * symmetric flow hash (IP fragments reassembled first), so a flow is seen,
 * in order, by one worker.
 *
 * Events go to try_sink while the capture runs: a live input cannot wait,
 * so an event the queue has no room for is freed and counted (queue_drops);
 * the kernel's own drops are counted too (pcap_stats). When the capture
 * stops, the flows still open are emitted through the blocking sink: no
 * packet is waiting any more, so nothing needs to be lost.
 *
 * Ownership and threads: the capture keeps no pointer into cs_live_opts; it
 * copies cs_packet_opts but not what that points to (sensor name, nDPI list
 * files, compiled YARA rules), which must outlive it. `sink` takes every event it is given
 * (cs_event_sink); `try_sink` takes an event only when it returns CS_OK
 * (as cs_pipeline_try_submit). Both are called from the worker threads.
 * open/start/stop/free are called from one thread; stats and stats_json
 * from any thread, at any time between open and free.
 */
#ifndef CS_PACKET_LIVE_H
#define CS_PACKET_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../runtime/json.h"
#include "packet.h"

typedef struct cs_live_opts {
    const char *interface;   /* required, e.g. "eth0" */
    const char *filter;      /* BPF expression (pcap-filter(7)); NULL: every packet */
    int snaplen;             /* bytes kept per packet; <= 0: 65535 */
    bool promisc;            /* promiscuous mode */
    unsigned workers;        /* threads, each with its own handle and engine; 0: 1; at most CS_PACKET_MAX_WORKERS */
    unsigned buffer_mb;      /* kernel ring per worker, MiB; 0: CS_LIVE_DEFAULT_BUFFER_MB */
    int fanout_group;        /* PACKET_FANOUT group id 0..65535 with workers > 1; < 0: one the kernel
                              * guarantees unused (else derived from the pid and the interface index) */
} cs_live_opts;

#define CS_LIVE_DEFAULT_SNAPLEN 65535
#define CS_LIVE_DEFAULT_BUFFER_MB 16
#define CS_LIVE_MAX_BUFFER_MB 1024

/* The defaults: snaplen 65535, promiscuous, 1 worker, default ring, kernel-chosen group. */
void cs_live_opts_init(cs_live_opts *o);

typedef struct cs_packet_live cs_packet_live;

/* Counters of a capture, summed over its workers. */
typedef struct cs_live_stats {
    uint64_t packets;          /* handed to the engines */
    uint64_t bytes;            /* their wire lengths */
    uint64_t flows;            /* flow events emitted */
    uint64_t malformed;        /* could not be decoded */
    uint64_t truncated;        /* cut by the snaplen */
    uint64_t kernel_received;  /* pcap_stats ps_recv: passed the filter, dropped or not (on lo twice
                                * per packet: libpcap skips the outgoing copy, the kernel counts it) */
    uint64_t kernel_drops;     /* ps_drop: the ring was full */
    uint64_t if_drops;         /* ps_ifdrop: dropped by the interface (counted once, not per worker) */
    uint64_t queue_drops;      /* events the pipeline had no room for */
    unsigned workers;
    unsigned running;          /* workers still reading */
} cs_live_stats;

/* Open the interface: one handle per worker (snaplen, promisc, ring size,
 * a 100 ms block timeout, non-blocking), the filter compiled, the link type
 * checked, the fanout group joined. Errors are sentences naming the
 * interface and the option: unknown interface, no permission, a filter that
 * does not compile, a link type the decoder does not take. No packet is
 * kept before cs_packet_live_start(). The caller frees *out. */
cs_rc cs_packet_live_open(const cs_live_opts *o, cs_packet_live **out);

/* Build the engines (po as cs_packet_replay_file takes it; po->workers is
 * ignored) and start reading. Called once. On error nothing runs. */
cs_rc cs_packet_live_start(cs_packet_live *l, const cs_packet_opts *po, cs_event_sink sink, cs_event_sink try_sink,
                           void *ud);

/* Stop the workers (within about 0.3 s), emit every open flow and a last
 * stats event per worker through the blocking sink. Returns the first error
 * of the capture (a worker that failed while running, or the flush).
 * Calling it again returns the same code. */
cs_rc cs_packet_live_stop(cs_packet_live *l);

void cs_packet_live_stats(const cs_packet_live *l, cs_live_stats *st);

/* One JSON object with the interface and the counters, for /health:
 * {"interface":"eth0","workers":2,"running":2,"packets":...,"error":"..."}
 * (error only when a worker failed). */
void cs_packet_live_stats_json(const cs_packet_live *l, cs_buf *b);

const char *cs_packet_live_interface(const cs_packet_live *l);

/* Stops the capture if it runs, then frees it (NULL is fine). */
void cs_packet_live_free(cs_packet_live *l);

#endif
