/* pcap_fast.h - a faster reader for classic pcap files (see pcap_fast.c).
 *
 * libpcap stays the reader of record: it opens every capture and checks its
 * header; this reader then takes over the records of a classic pcap file
 * (either byte order, micro- or nanosecond stamps, version 2.4) of a link
 * type without byte-order-dependent pseudo-headers, and gives the same
 * headers, bytes and error sentences as pcap_next_ex() would, with one
 * read(2) per MiB instead of two fread(3) calls per packet. Anything else
 * (pcapng, old versions, other link types, a pipe) stays with libpcap.
 *
 * Ownership: the reader owns its descriptor and buffer; the data pointer
 * it returns is valid until the next call. pc is only read at open.
 */
#ifndef CS_PACKET_PCAP_FAST_H
#define CS_PACKET_PCAP_FAST_H

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cs_pcap_fast cs_pcap_fast;

/* NULL when the file is not one this reader takes (not an error). */
cs_pcap_fast *cs_pcap_fast_open(const char *path, pcap_t *pc);

/* 1: a packet in *h and *data; 0: end of file; -1: the file is truncated
 * or corrupt here, err holds libpcap's sentence for it. */
int cs_pcap_fast_next(cs_pcap_fast *r, struct pcap_pkthdr *h, const uint8_t **data, char *err, size_t errcap);

void cs_pcap_fast_close(cs_pcap_fast *r);

#endif
