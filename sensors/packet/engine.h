/* engine.h - the packet sensor's per-worker engine, for the capture front
 * ends inside sensors/packet (pcap_reader.c for files, live.c for
 * interfaces). Not part of the public API: callers outside the sensor use
 * packet.h.
 *
 * One engine = one flow table, one nDPI module, one YARA scanner; it is fed
 * packets in order on one thread and calls the sink from that thread. Time
 * is packet time, never going backwards; a live front end moves it on with
 * cs_pkt_engine_advance() while no packet comes, so idle flows still end.
 * Ownership: the engine keeps pointers to opts' strings and compiled rules
 * (they must outlive it); cs_pkt_engine_free() drops unflushed flows.
 */
#ifndef CS_PACKET_ENGINE_H
#define CS_PACKET_ENGINE_H

#include <pcap/pcap.h>

#include "packet.h"

typedef struct cs_pkt_engine cs_pkt_engine;

/* label names the input in messages (a file or an interface). Worker
 * `index` of `n` numbers its flows index+1, index+1+n, ... so the ids of
 * several engines never collide. */
cs_rc cs_pkt_engine_new(const char *label, const cs_packet_opts *opts, cs_event_sink sink, void *ud,
                        unsigned index, unsigned n, cs_pkt_engine **out);

/* One captured frame of link type linktype; malformed ones are counted. A
 * non-zero return is the sink's (or an out of memory): stop feeding. */
cs_rc cs_pkt_engine_packet(cs_pkt_engine *e, int linktype, const struct pcap_pkthdr *h, const uint8_t *data);

/* Time moved on to now_us with no packet for this engine: end the flows it
 * ends and emit a due stats event. Ignored before the first packet. */
cs_rc cs_pkt_engine_advance(cs_pkt_engine *e, int64_t now_us);

/* The capture's own counters (kernel received, dropped by the kernel,
 * dropped by the interface), reported in the next stats events. */
void cs_pkt_engine_set_capture_counters(cs_pkt_engine *e, uint64_t received, uint64_t kernel_drops,
                                        uint64_t if_drops);

/* Emit every open flow (end reason eof, or fin/rst when closed) and a last
 * stats event. */
cs_rc cs_pkt_engine_finish(cs_pkt_engine *e);

const cs_packet_stats *cs_pkt_engine_stats(const cs_pkt_engine *e);
int64_t cs_pkt_engine_now(const cs_pkt_engine *e);   /* packet time, 0 before the first packet */

void cs_pkt_engine_free(cs_pkt_engine *e);

/* Adds every counter of from to to (the peak is a max). */
void cs_pkt_stats_add(cs_packet_stats *to, const cs_packet_stats *from);

#endif
