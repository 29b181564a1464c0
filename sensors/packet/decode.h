/* decode.h - link, IP and transport decoding of one captured frame.
 *
 * cs_decode() is a pure function over (link type, bytes, caplen): no
 * allocation, no global state, every read bounded by caplen. It fills a
 * cs_pkt whose pointers point into the caller's frame (valid as long as the
 * frame is). Supported: Ethernet (802.1Q/802.1ad/QinQ tags, the OUTER VLAN id
 * is kept; LLC/SNAP; MPLS; PPPoE session), Linux cooked v1/v2, raw IPv4/IPv6,
 * BSD loopback (NULL/LOOP), PPP and Cisco HDLC; IPv4 (options, fragments),
 * IPv6 (hop-by-hop, routing, destination options, fragment and AH headers),
 * TCP, UDP, SCTP ports, ICMP and ICMPv6 type/code.
 *
 * Tunnels are decapsulated and the INNERMOST packet is reported (as
 * ndpiReader does): IP-in-IP / 6in4 / 4in6 / 6in6; GRE version 0 (checksum,
 * key and sequence fields; IPv4, IPv6, MPLS, transparent Ethernet bridging
 * 0x6558, ERSPAN type I/II 0x88BE and type III 0x22EB) and the PPTP enhanced
 * GRE version 1 carrying PPP; VXLAN (UDP port 4789); GTP-U G-PDUs (UDP port
 * 2152, with sequence/N-PDU/extension headers); Geneve (UDP port 6081, with
 * options). At most CS_DEC_MAX_TUNNELS layers are stripped, deeper nesting is
 * CS_DEC_ERROR. A tunnel header we do not follow (GRE routing, GTP-U control
 * messages, VXLAN without the I flag, an outer first fragment ...) leaves the
 * outer packet as the result, with tunnel == CS_TUN_NONE. Once a tunnel is
 * entered, a malformed inner packet is CS_DEC_ERROR.
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
    /* Encapsulation (all zero when the packet was not tunnelled). */
    uint8_t tunnel;         /* OUTERMOST tunnel stripped: CS_TUN_* */
    uint8_t tunnel_depth;   /* encapsulation layers stripped, 0..CS_DEC_MAX_TUNNELS */
    uint8_t has_tunnel_id;  /* tunnel_id is set (a GRE key may be 0) */
    uint32_t tunnel_id;     /* of the outermost tunnel: VXLAN/Geneve VNI, GTP-U TEID,
                             * GRE key, PPTP call id, ERSPAN session id */
} cs_pkt;

/* Tunnel types (cs_pkt.tunnel). */
#define CS_TUN_NONE 0u
#define CS_TUN_IPIP 1u     /* IPv4/IPv6 directly in IPv4/IPv6 (protocols 4 and 41) */
#define CS_TUN_GRE 2u      /* GRE version 0 */
#define CS_TUN_PPTP 3u     /* enhanced GRE version 1 carrying PPP */
#define CS_TUN_ERSPAN 4u   /* GRE 0x88BE / 0x22EB */
#define CS_TUN_VXLAN 5u
#define CS_TUN_GTPU 6u
#define CS_TUN_GENEVE 7u

#define CS_DEC_MAX_TUNNELS 4   /* encapsulation layers followed; deeper is CS_DEC_ERROR */

#define CS_TCP_FIN 0x01u
#define CS_TCP_SYN 0x02u
#define CS_TCP_RST 0x04u
#define CS_TCP_PSH 0x08u
#define CS_TCP_ACK 0x10u

/* True when cs_decode() knows this pcap link type. */
int cs_decode_linktype_supported(int linktype);

cs_dec_rc cs_decode(int linktype, const uint8_t *data, uint32_t caplen, cs_pkt *p);

#endif
