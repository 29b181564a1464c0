/* decode.h - link, IP and transport decoding of one captured frame.
 *
 * cs_decode() is a pure function over (link type, bytes, caplen): no
 * allocation, no global state, every read bounded by caplen. It fills a
 * cs_pkt whose pointers point into the caller's frame (valid as long as the
 * frame is). Supported: Ethernet (802.1Q/802.1ad/QinQ tags, the OUTER VLAN id
 * is kept; LLC/SNAP; MPLS; PPPoE session), Linux cooked v1/v2, raw IPv4/IPv6,
 * BSD loopback (NULL/LOOP), PPP and Cisco HDLC; IPv4 (options, fragments),
 * IPv6 (hop-by-hop, routing, destination options, fragment and AH headers),
 * IP-in-IP / 6in4 / 4in6 / 6in6 (the innermost header is used, as ndpiReader
 * does), TCP, UDP, SCTP ports, ICMP and ICMPv6 type/code.
 */
#ifndef CS_PACKET_DECODE_H
#define CS_PACKET_DECODE_H

#include <stdint.h>

typedef enum cs_dec_rc {
    CS_DEC_OK = 0,   /* an IP packet; transport fields set when the protocol has them */
    CS_DEC_FRAG,     /* a non-first fragment: addresses, proto and frag_id only */
    CS_DEC_NON_IP,   /* not IP (ARP, STP, LLDP ...) or an unsupported link type */
    CS_DEC_ERROR     /* malformed or too short to decode */
} cs_dec_rc;

typedef struct cs_pkt {
    const uint8_t *l3;      /* innermost IP header (what nDPI wants) */
    uint32_t l3_caplen;     /* captured bytes from l3 to the end of the frame */
    uint32_t ip_len;        /* datagram length per the IP header (header + payload) */
    const uint8_t *payload; /* transport payload (captured part), NULL when none */
    uint32_t payload_len;   /* captured payload bytes, bounded by ip_len */
    uint32_t frag_id;       /* IPv4 id or IPv6 fragment id, for fragments */
    uint16_t vlan_id;       /* outer VLAN id when has_vlan */
    uint16_t sport, dport;  /* host order; 0 for protocols without ports */
    uint8_t has_vlan;
    uint8_t ipver;          /* 4 or 6 */
    uint8_t proto;          /* IANA protocol number of the transport */
    uint8_t tcp_flags;      /* TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10 ...) */
    uint8_t icmp_type, icmp_code;
    uint8_t first_frag;     /* first fragment of a fragmented datagram (MF set, offset 0) */
    uint8_t truncated;      /* fewer bytes captured than the IP header announces */
    uint8_t src[16], dst[16]; /* IPv4 uses the first 4 bytes, the rest is zero */
} cs_pkt;

#define CS_TCP_FIN 0x01u
#define CS_TCP_SYN 0x02u
#define CS_TCP_RST 0x04u
#define CS_TCP_PSH 0x08u
#define CS_TCP_ACK 0x10u

/* True when cs_decode() knows this pcap link type. */
int cs_decode_linktype_supported(int linktype);

cs_dec_rc cs_decode(int linktype, const uint8_t *data, uint32_t caplen, cs_pkt *p);

#endif
