/* packet.h - the packet sensor's first stage: pcap/pcapng file -> flow events.
 *
 * Design note
 * -----------
 * cs_packet_replay_file() reads one capture offline (the calling thread reads,
 * worker threads do the rest; see workers below) and turns it into one
 * CS_KIND_FLOW event per flow. The pipeline per packet is
 *     libpcap (pcap_next_ex) -> decode (decode.c, bounds-checked, no alloc)
 *     -> flow table (flow.c: open addressing, LRU/age lists)
 *     -> nDPI 4.2 (ndpi_wrap.c, only until the flow is classified)
 * and a flow is emitted when it ends:
 *   - "fin"/"rst": TCP closed (FIN seen from both sides, or a RST). The flow
 *     lingers tcp_close_linger_us of packet time to absorb the last ACKs and
 *     retransmissions, then is emitted (a new SYN on the same tuple emits it
 *     at once and opens a new flow);
 *   - "idle": no packet for idle_timeout_us of packet time;
 *   - "active": open for active_timeout_us; the record is emitted and the flow
 *     restarts with fresh counters, keeping its citysoc.flow.id and its nDPI
 *     result;
 *   - "evicted": the table held max_flows flows; the least recently seen one
 *     makes room (counted in flows_evicted too);
 *   - "eof": still open at the end of the file (or when the file turns out to
 *     be truncated/corrupt), flushed in order of first packet.
 * Everything runs in packet time, which is forced to be non-decreasing (a
 * packet stamped earlier than its predecessor is treated as arriving at the
 * predecessor's time, as ndpiReader does), so the output is a deterministic
 * function of the file and the options.
 *
 * nDPI: one detection module per replay (ndpi_no_prefs, all protocols).
 * Every IP packet of a flow whose datagram was captured whole is passed to
 * ndpi_detection_process_packet() from the first one on, exactly like
 * ndpiReader (same 80 TCP / 24 UDP packet budget, same
 * ndpi_extra_dissection_possible() wait, ndpi_detection_giveup() with guessing
 * when still unknown). The nDPI flow state is released as soon as detection
 * completes; what the event needs is copied first. IPv4/IPv6 non-first
 * fragments are accounted to their flow through a small fragment cache when
 * the first fragment was seen (else counted in frag_orphans); nDPI does not
 * see them. ICMP/ICMPv6 flows are keyed by addresses only (like ndpiReader),
 * the Community ID uses the type/code of the flow's first packet.
 *
 * Cost: no allocation per packet (flows come from a growing pool, nDPI flow
 * structs are recycled, events are built once per flow), no string work per
 * packet, no syscalls beyond libpcap's buffered reads.
 *
 * Ownership and threads: the sink receives each event and owns it (must
 * cs_event_free() it, also when it returns an error). All state lives in the
 * call; concurrent replays on different threads are independent (each builds
 * its own nDPI module; nDPI's allocator hooks are left untouched).
 *
 * Event fields (ts_us = first packet): event.start/end, event.duration (ns),
 * source.* = initiator (the first packet's sender, or the sender of a bare SYN
 * when one is seen), destination.*, network.{transport,type,iana_number,
 * bytes,packets,community_id,vlan.id,protocol}, citysoc.ndpi.{protocol,
 * category,confidence,risks (one field per risk),risk_score,risk_severity},
 * citysoc.flow.{id,end_reason}, url.domain and citysoc.dhcp.{fingerprint,
 * class_ident} for the protocols that name a host but have no event kind of
 * their own (DHCP, NetBIOS, ...); observer.name when a sensor name is set.
 *
 * Protocol events: when nDPI's detection of a flow ends (mid-flow, or at its
 * end), what it extracted becomes one event of the protocol's kind, before
 * the flow ends, ts_us = first packet: CS_KIND_DNS (dns.question.name/type,
 * dns.response_code), CS_KIND_HTTP (http.request.method, url.original = the
 * request target with the host stripped, url.domain, user_agent.original,
 * http.response.status_code), CS_KIND_TLS (tls.client.server_name,
 * tls.client.ja3, tls.server.ja3s, tls.version, tls.server.{subject,issuer,
 * not_before,not_after}), CS_KIND_SSH (citysoc.ssh.{client_banner,
 * server_banner,hassh_client,hassh_server}); each with the flow's source.*,
 * destination.*, network.{transport,type,iana_number,community_id,vlan.id,
 * protocol}, citysoc.ndpi.protocol, citysoc.flow.id and observer.name. The
 * flow event does not repeat these fields. Bytes are the pcap records' wire
 * lengths (whole frames, link-layer headers included; ndpiReader counts the
 * captured length, which differs only on snaplen-cut captures).
 *
 * YARA (optional, yara_scan.c): per flow and direction, TCP/UDP payload bytes
 * are copied in order of arrival (no reordering; retransmitted segments are
 * copied again, as the decoder gives no sequence numbers) into a buffer
 * allocated at the first payload byte, up to yara_max_bytes. The buffer is
 * scanned once, when full (ts_us = that packet) or when the flow ends (ts_us
 * = its last packet, before the flow's own event), then freed. An active
 * timeout restart keeps the buffers (it is the same flow). Each matching
 * rule gives one CS_KIND_YARA event: event.module "yara",
 * citysoc.yara.{rule,namespace,tags (one field per tag),direction ("client"
 * = sent by the initiator, "server")}, source.* = initiator,
 * destination.*, network.{transport,type,community_id,vlan.id},
 * citysoc.flow.id, message, observer.name. The compiled rules are shared
 * read-only; each replay has its own scanner.
 */
#ifndef CS_PACKET_PACKET_H
#define CS_PACKET_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "../../runtime/event.h"

struct cs_yara_rules;

/* Sink takes ownership of ev (frees it); non-zero return stops the replay. */
typedef cs_rc (*cs_event_sink)(cs_event *ev, void *ud);

typedef struct cs_packet_opts {
    int64_t idle_timeout_us;     /* flow idle timeout in packet time; default 60 s when 0 (TCP/UDP/ICMP) */
    int64_t active_timeout_us;   /* emit and restart long flows; default 1800 s when 0 */
    size_t max_flows;            /* flow table cap; default 262144 when 0; on overflow evict the oldest idle flow and count it */
    const char *sensor_name;     /* observer.name on events, may be NULL */
    /* Additions (all optional; zero/NULL = default): */
    int64_t tcp_close_linger_us; /* keep a closed TCP flow this long for its last ACKs; default 5 s when 0, <0 = emit at once */
    uint16_t community_id_seed;  /* Community ID seed, default 0 */
    /* nDPI list files as ndpiReader's -p/-c/-r/-j/-S take them; a file that
     * cannot be loaded fails the replay with CS_ERR_CONFIG. */
    const char *ndpi_protos_file;
    const char *ndpi_categories_file;
    const char *ndpi_risky_domains_file;
    const char *ndpi_ja3_file;
    const char *ndpi_sha1_file;
    /* YARA payload scanning (yara_scan.h), off when no rules are given: the
     * first yara_max_bytes of each direction of each TCP/UDP flow, in order
     * of arrival, are scanned once (when that many have arrived, or when
     * the flow ends). Rules that do not compile fail the replay with
     * CS_ERR_CONFIG naming the file and line. */
    const char *const *yara_rules;   /* rule files or directories (every .yar/.yara below) */
    size_t nyara_rules;
    const struct cs_yara_rules *yara_compiled;   /* already compiled (shared, read-only); wins over yara_rules */
    /* One CS_KIND_RISK event per nDPI risk of a flow, before the flow event,
     * once detection is final (event.module ndpi, citysoc.ndpi.risk, the
     * flow's endpoints and ids). The CLI and `citysoc run` turn it on. */
    int risk_events;
    /* Worker threads (default 1): the calling thread reads the file and
     * deals packets to the workers by a symmetric hash of the addresses,
     * protocol and ports; each worker has its own flow table, nDPI module
     * and YARA scanner, and calls the sink from its own thread (with more
     * than one the sink must be thread-safe and event order across flows is
     * no longer fixed; with one it is the file's, as documented above). */
    unsigned workers;
    /* Every this much packet time, each worker emits a CS_KIND_STATS event
     * with its counters so far (citysoc.stats.*: packets, bytes, malformed,
     * non_ip, truncated, flows_active/created/evicted, frag_orphans, worker);
     * 0: none (the CLI and `citysoc run` use 60 s). */
    int64_t stats_interval_us;
    size_t yara_max_bytes;           /* default 4096 when 0 */
    int yara_timeout_s;              /* per scan; default 10 s when 0, < 0 = none */
} cs_packet_opts;

#define CS_PACKET_MAX_WORKERS 64

typedef struct cs_packet_stats {
    uint64_t packets;          /* records read from the file */
    uint64_t bytes;            /* sum of their wire lengths */
    uint64_t decode_errors;    /* malformed or too short to decode (never read out of bounds) */
    uint64_t non_ip;           /* not IP, or a link type we do not decode */
    uint64_t truncated;        /* IP packets captured shorter than their IP length (snaplen); still counted in flows */
    uint64_t flows_created;
    uint64_t flows_emitted;    /* events handed to the sink (all end reasons) */
    uint64_t flows_evicted;    /* of which ended by table overflow */
    /* Additions: */
    uint64_t fragments;        /* non-first IP fragments */
    uint64_t frag_orphans;     /* of which no flow could be found for */
    uint64_t dpi_packets;      /* packets given to nDPI */
    uint64_t yara_scans;       /* payload buffers scanned (one per flow direction with payload) */
    uint64_t yara_matches;     /* YARA events emitted (one per matching rule and scan) */
    uint64_t yara_timeouts;    /* scans abandoned after yara_timeout_s */
    uint64_t yara_bytes;       /* payload bytes scanned */
    uint64_t yara_buffers;     /* payload buffers allocated (lazily, at a direction's first payload byte) */
    uint64_t yara_peak_bytes;  /* most buffer memory held at once */
    uint64_t risk_events;      /* nDPI risk events emitted (one per risk of a flow) */
    uint64_t stats_events;     /* periodic stats events emitted */
    uint64_t app_events;       /* dns/http/tls/ssh events emitted (one per flow with such metadata) */
    uint64_t yara_ns;          /* time spent in YARA scans (monotonic clock) */
} cs_packet_stats;

/* Reads a pcap or pcapng file offline and emits one CS_KIND_FLOW event per flow when it ends (idle timeout measured in
 * packet time, TCP FIN/RST completion, active timeout, or end of file), in a deterministic order (for flows flushed at
 * end of file: in order of first packet). On a truncated or corrupt file it flushes every flow seen so far to the sink
 * first, then returns CS_ERR_PARSE with a sentence naming the file and the packet number; a non-pcap file gives
 * CS_ERR_PARSE "<file>: not a pcap or pcapng capture (...)"; unreadable gives CS_ERR_IO.
 * opts may be NULL (all defaults); stats may be NULL. When the sink returns non-zero the replay stops, the flows not
 * yet emitted are dropped, and that code is returned (with the sink's error sentence). */
cs_rc cs_packet_replay_file(const char *path, const cs_packet_opts *opts, cs_event_sink sink, void *ud,
                            cs_packet_stats *stats);

#endif
