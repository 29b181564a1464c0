/* decode.c - frame decoding for the packet sensor (see decode.h).
 *
 * Design: one forward pass with an explicit (offset, limit) window. Every
 * header is read only after checking that it lies inside the window; IP
 * headers (and PPPoE, UDP, GTP-U and PPTP lengths) then narrow the window to
 * the length they announce, so an Ethernet trailer never becomes payload of
 * an inner packet. `caplen` stays the captured end of the frame (l3_caplen is
 * measured to it), `lim` is the end of the bytes the current layer owns.
 * Nothing here allocates or keeps state, so the hot loop pays only for the
 * bytes it looks at.
 *
 * Tunnels: the innermost packet is reported, as ndpiReader does. A tunnel
 * layer is entered only once its header is complete and valid (enter_tunnel,
 * which counts the layers and refuses more than CS_DEC_MAX_TUNNELS); until
 * then the outer packet stays a correct result, so GRE we do not follow, GTP
 * control messages or traffic that merely uses port 2152 are reported as the
 * outer flow. After entering, a malformed inner packet is CS_DEC_ERROR. The
 * recursion (IP -> GRE/UDP tunnel -> Ethernet/ethertype -> IP) is bounded by
 * that layer count; every other loop (VLAN tags, MPLS labels, IPv6 extension
 * headers, GTP-U extension headers) has a fixed iteration cap as well as the
 * byte bound, so no input can loop.
 *
 * Edge cases decided against the standards: IPv4 IHL < 5 or a total length
 * below the header is an error; IPv6 extension headers running past the
 * datagram are an error; MPLS without bottom-of-stack within 8 labels is an
 * error; PPPoE must be version/type 0x11, code 0, and its length (>= 2, the
 * PPP protocol field) bounds the frame when shorter than the capture; GRE
 * with routing/recursion bits (RFC 2784 receivers discard them) is not
 * followed; a zero-length GTP-U extension header stops decapsulation.
 */
#include "decode.h"

#include <pcap/pcap.h>
#include <string.h>

#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

#define MAX_VLAN_TAGS 4
#define MAX_MPLS_LABELS 8
#define MAX_V6_EXT 8        /* extension headers we skip before giving up */
#define MAX_GTP_EXT 8       /* GTP-U extension headers we skip before giving up */

#define PORT_VXLAN 4789
#define PORT_GTPU 2152
#define PORT_GENEVE 6081

/* Internal: "this is not a tunnel we follow, keep the outer result". */
#define NOT_TUNNEL (-1)

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(((uint16_t)p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int cs_decode_linktype_supported(int linktype)
{
    switch (linktype) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_PPP:
    case DLT_C_HDLC:
    case DLT_PPP_SERIAL:
        return 1;
    default:
        return 0;
    }
}

/* Map a PPP protocol number to an ethertype (0 if not IP). */
static uint16_t ppp_to_ethertype(uint16_t proto)
{
    switch (proto) {
    case 0x0021:
    case 0x0800:
        return 0x0800;
    case 0x0057:
    case 0x86dd:
        return 0x86dd;
    case 0x0281:   /* MPLS unicast */
        return 0x8847;
    case 0x0283:   /* MPLS multicast */
        return 0x8848;
    default:
        return 0;
    }
}

/* Commit to a tunnel layer: count it, remember the outermost one, and drop
 * the outer transport fields so the inner packet's replace them. Returns 0
 * when the nesting limit is reached. */
static int enter_tunnel(cs_pkt *p, uint8_t type, uint32_t id, int has_id)
{
    if (p->tunnel_depth >= CS_DEC_MAX_TUNNELS) {
        return 0;
    }
    if (p->tunnel_depth++ == 0) {
        p->tunnel = type;
        p->tunnel_id = id;
        p->has_tunnel_id = (uint8_t)(has_id != 0);
    }
    p->payload = NULL;
    p->payload_len = 0;
    p->sport = p->dport = 0;
    p->tcp_flags = 0;
    p->icmp_type = p->icmp_code = 0;
    p->frag_id = 0;
    return 1;
}

static cs_dec_rc decode_ip(const uint8_t *d, uint32_t caplen, uint32_t off, uint32_t lim, int hint,
                           cs_pkt *p);
static cs_dec_rc decode_ethertype(const uint8_t *d, uint32_t caplen, uint32_t off, uint32_t lim,
                                  uint16_t type, cs_pkt *p);

/* An Ethernet frame at off (outer link or the payload of VXLAN/Geneve/GRE). */
static cs_dec_rc decode_eth(const uint8_t *d, uint32_t caplen, uint32_t off, uint32_t lim, cs_pkt *p)
{
    uint16_t type;
    if (off > lim || lim - off < 14) {
        return CS_DEC_ERROR;
    }
    type = rd16(d + off + 12);
    if (type <= 1500) {
        /* 802.3 length: only LLC/SNAP can carry IP. */
        if (lim - off < 22) {
            return CS_DEC_NON_IP;
        }
        if (d[off + 14] == 0xaa && d[off + 15] == 0xaa && d[off + 16] == 0x03) {
            return decode_ethertype(d, caplen, off + 22, lim, rd16(d + off + 20), p);
        }
        return CS_DEC_NON_IP;
    }
    return decode_ethertype(d, caplen, off + 14, lim, type, p);
}

/* GRE (RFC 2784/2890) and PPTP's enhanced GRE (RFC 2637) at [off, lim). */
static int decode_gre(const uint8_t *d, uint32_t caplen, uint32_t off, uint32_t lim, cs_pkt *p)
{
    uint32_t pos = off + 4;
    uint8_t f0, f1;
    uint16_t proto;

    if (off > lim || lim - off < 4) {
        return NOT_TUNNEL;
    }
    f0 = d[off];
    f1 = d[off + 1];
    proto = rd16(d + off + 2);
    if ((f1 & 0x07) == 0) {
        uint32_t key = 0;
        int has_key = 0;
        /* Routing, strict source route, recursion or reserved0 bits: RFC 1701
         * only, which RFC 2784 receivers discard. */
        if ((f0 & 0x4f) != 0 || (f1 & 0xf8) != 0) {
            return NOT_TUNNEL;
        }
        if (f0 & 0x80) {
            pos += 4;   /* checksum + reserved1 */
        }
        if (f0 & 0x20) {
            if (pos + 4 > lim) {
                return NOT_TUNNEL;
            }
            key = rd32(d + pos);
            has_key = 1;
            pos += 4;
        }
        if (f0 & 0x10) {
            pos += 4;   /* sequence number */
        }
        if (pos > lim) {
            return NOT_TUNNEL;
        }
        switch (proto) {
        case 0x0800:
        case 0x86dd:
        case 0x8847:
        case 0x8848:
            if (!enter_tunnel(p, CS_TUN_GRE, key, has_key)) {
                return CS_DEC_ERROR;
            }
            return decode_ethertype(d, caplen, pos, lim, proto, p);
        case 0x6558:   /* transparent Ethernet bridging (NVGRE too) */
            if (!enter_tunnel(p, CS_TUN_GRE, key, has_key)) {
                return CS_DEC_ERROR;
            }
            return decode_eth(d, caplen, pos, lim, p);
        case 0x88be:   /* ERSPAN type II has a sequence number and an 8-byte header, type I neither */
            if (f0 & 0x10) {
                uint32_t session;
                if (lim - pos < 8 || (d[pos] >> 4) != 1) {
                    return NOT_TUNNEL;
                }
                session = rd16(d + pos + 2) & 0x3ffu;
                if (!enter_tunnel(p, CS_TUN_ERSPAN, session, 1)) {
                    return CS_DEC_ERROR;
                }
                return decode_eth(d, caplen, pos + 8, lim, p);
            }
            if (!enter_tunnel(p, CS_TUN_ERSPAN, key, has_key)) {
                return CS_DEC_ERROR;
            }
            return decode_eth(d, caplen, pos, lim, p);
        case 0x22eb: { /* ERSPAN type III: 12-byte header, optional 8-byte platform subheader */
            uint32_t session;
            uint32_t hlen = 12;
            if (lim - pos < 12 || (d[pos] >> 4) != 2) {
                return NOT_TUNNEL;
            }
            if (((d[pos + 10] >> 2) & 0x1f) != 0) {
                return NOT_TUNNEL;   /* frame type other than Ethernet */
            }
            if (d[pos + 11] & 0x01) {
                hlen += 8;
            }
            session = rd16(d + pos + 2) & 0x3ffu;
            if (lim - pos < hlen) {
                return NOT_TUNNEL;
            }
            if (!enter_tunnel(p, CS_TUN_ERSPAN, session, 1)) {
                return CS_DEC_ERROR;
            }
            return decode_eth(d, caplen, pos + hlen, lim, p);
        }
        default:
            return NOT_TUNNEL;
        }
    }
    if ((f1 & 0x07) == 1) {
        uint32_t plen;
        uint32_t call;
        uint16_t pp;
        uint16_t type;
        /* Enhanced GRE: key present (payload length + call id), sequence and
         * acknowledgment optional, nothing else; PPP inside. */
        if ((f0 & 0xef) != 0x20 || (f1 & 0x78) != 0 || proto != 0x880b) {
            return NOT_TUNNEL;
        }
        if (lim - off < 8) {
            return NOT_TUNNEL;
        }
        plen = rd16(d + pos);
        call = rd16(d + pos + 2);
        pos += 4;
        if (f0 & 0x10) {
            pos += 4;
        }
        if (f1 & 0x80) {
            pos += 4;
        }
        if (!(f0 & 0x10) || plen == 0 || pos > lim) {
            return NOT_TUNNEL;   /* an acknowledgment only, or cut short */
        }
        if (plen < lim - pos) {
            lim = pos + plen;
        }
        if (lim - pos >= 2 && d[pos] == 0xff && d[pos + 1] == 0x03) {
            pos += 2;   /* address/control, unless compressed away (ACFC) */
        }
        if (pos >= lim) {
            return NOT_TUNNEL;
        }
        if (d[pos] & 0x01) {   /* protocol field compression: one odd byte */
            pp = d[pos];
            pos += 1;
        } else {
            if (lim - pos < 2) {
                return NOT_TUNNEL;
            }
            pp = rd16(d + pos);
            pos += 2;
        }
        type = ppp_to_ethertype(pp);
        if (type == 0) {
            return NOT_TUNNEL;   /* LCP, CCP, MPPE-compressed data ... */
        }
        if (!enter_tunnel(p, CS_TUN_PPTP, call, 1)) {
            return CS_DEC_ERROR;
        }
        return decode_ethertype(d, caplen, pos, lim, type, p);
    }
    return NOT_TUNNEL;
}

/* UDP-carried tunnels; off is the UDP header, end the datagram end. */
static int decode_udp_tunnel(const uint8_t *d, uint32_t caplen, uint32_t off, uint32_t end, cs_pkt *p)
{
    uint32_t lim = end;
    uint32_t pos = off + 8;
    uint32_t ulen;

    if (end - off < 16) {
        return NOT_TUNNEL;   /* every tunnel header here is 8 bytes or more */
    }
    ulen = rd16(d + off + 4);
    if (ulen >= 8 && ulen < end - off) {
        lim = off + ulen;   /* IP padding is not tunnel payload */
    }
    if (lim - pos < 8) {
        return NOT_TUNNEL;
    }
    if (p->dport == PORT_VXLAN) {
        /* RFC 7348: flags with the I bit, 24 reserved bits, VNI, 8 reserved bits. */
        if (!(d[pos] & 0x08)) {
            return NOT_TUNNEL;
        }
        if (!enter_tunnel(p, CS_TUN_VXLAN, rd32(d + pos + 4) >> 8, 1)) {
            return CS_DEC_ERROR;
        }
        return decode_eth(d, caplen, pos + 8, lim, p);
    }
    if (p->dport == PORT_GENEVE) {
        /* RFC 8926: version 0, option length in 4-byte words, protocol type, VNI. */
        uint32_t hlen = 8u + (uint32_t)(d[pos] & 0x3f) * 4u;
        uint16_t ptype = rd16(d + pos + 2);
        uint32_t vni = rd32(d + pos + 4) >> 8;
        if ((d[pos] >> 6) != 0 || hlen > lim - pos) {
            return NOT_TUNNEL;
        }
        if (ptype != 0x6558 && ptype != 0x0800 && ptype != 0x86dd) {
            return NOT_TUNNEL;
        }
        if (!enter_tunnel(p, CS_TUN_GENEVE, vni, 1)) {
            return CS_DEC_ERROR;
        }
        if (ptype == 0x6558) {
            return decode_eth(d, caplen, pos + hlen, lim, p);
        }
        return decode_ethertype(d, caplen, pos + hlen, lim, ptype, p);
    }
    if (p->dport == PORT_GTPU || p->sport == PORT_GTPU) {
        /* 3GPP TS 29.281: version 1, PT 1, a G-PDU (type 255) carries user IP. */
        uint8_t fl = d[pos];
        uint32_t teid = rd32(d + pos + 4);
        uint32_t glen = rd16(d + pos + 2);
        uint32_t q = pos + 8;
        int ver;
        if ((fl >> 5) != 1 || !(fl & 0x10) || d[pos + 1] != 0xff) {
            return NOT_TUNNEL;
        }
        if (glen < lim - q) {
            lim = q + glen;   /* the length counts everything after the mandatory 8 bytes */
        }
        if (fl & 0x07) {   /* E, S or PN: sequence, N-PDU and next extension type follow */
            uint8_t next;
            if (lim - q < 4) {
                return NOT_TUNNEL;
            }
            next = d[q + 3];
            q += 4;
            for (int i = 0; (fl & 0x04) && next != 0; i++) {
                uint32_t n;
                if (i >= MAX_GTP_EXT || q >= lim) {
                    return NOT_TUNNEL;
                }
                n = (uint32_t)d[q] * 4u;   /* length in 4-octet units, content and next type included */
                if (n == 0 || n > lim - q) {
                    return NOT_TUNNEL;
                }
                next = d[q + n - 1];
                q += n;
            }
        }
        if (q >= lim) {
            return NOT_TUNNEL;
        }
        ver = d[q] >> 4;
        if (ver != 4 && ver != 6) {
            return NOT_TUNNEL;
        }
        if (!enter_tunnel(p, CS_TUN_GTPU, teid, 1)) {
            return CS_DEC_ERROR;
        }
        return decode_ip(d, caplen, q, lim, ver, p);
    }
    return NOT_TUNNEL;
}

/* Transport header at [off, end) of the datagram; cap = captured end. */
static cs_dec_rc decode_l4(const uint8_t *d, uint32_t off, uint32_t end, cs_pkt *p)
{
    uint32_t avail = end > off ? end - off : 0;
    const uint8_t *l4 = d + off;

    switch (p->proto) {
    case 6: {
        uint32_t hl;
        if (avail < 20) {
            return CS_DEC_ERROR;
        }
        p->sport = rd16(l4);
        p->dport = rd16(l4 + 2);
        p->tcp_flags = l4[13];
        hl = (uint32_t)(l4[12] >> 4) * 4u;
        if (hl < 20) {
            return CS_DEC_ERROR;
        }
        if (hl < avail) {
            p->payload = l4 + hl;
            p->payload_len = avail - hl;
        }
        return CS_DEC_OK;
    }
    case 17:
        if (avail < 8) {
            return CS_DEC_ERROR;
        }
        p->sport = rd16(l4);
        p->dport = rd16(l4 + 2);
        if (avail > 8) {
            p->payload = l4 + 8;
            p->payload_len = avail - 8;
        }
        return CS_DEC_OK;
    case 132:   /* SCTP: ports only, for flow keys and Community ID */
        if (avail < 12) {
            return CS_DEC_ERROR;
        }
        p->sport = rd16(l4);
        p->dport = rd16(l4 + 2);
        p->payload = avail > 12 ? l4 + 12 : NULL;
        p->payload_len = avail > 12 ? avail - 12 : 0;
        return CS_DEC_OK;
    case 1:
    case 58:
        if (avail < 2) {
            return CS_DEC_ERROR;
        }
        p->icmp_type = l4[0];
        p->icmp_code = l4[1];
        if (avail > 8) {
            p->payload = l4 + 8;
            p->payload_len = avail - 8;
        }
        return CS_DEC_OK;
    default:
        if (avail > 0) {
            p->payload = l4;
            p->payload_len = avail;
        }
        return CS_DEC_OK;
    }
}

/* Decode an IP datagram at off; its bytes end at lim (<= caplen, the
 * captured end of the frame). */
static cs_dec_rc decode_ip(const uint8_t *d, uint32_t caplen, uint32_t off, uint32_t lim, int hint,
                           cs_pkt *p)
{
    uint32_t cap_avail;
    uint32_t end;
    uint32_t l4;
    cs_dec_rc rc;
    int ver;

    if (off >= lim) {
        return CS_DEC_ERROR;
    }
    cap_avail = lim - off;
    ver = d[off] >> 4;
    if (hint != 0 && ver != hint) {
        return CS_DEC_ERROR;
    }
    p->l3 = d + off;
    p->l3_caplen = caplen - off;
    p->truncated = 0;
    p->first_frag = 0;

    if (ver == 4) {
        const uint8_t *ip = d + off;
        uint32_t hl;
        uint32_t tot;
        uint16_t frag;
        if (cap_avail < 20) {
            return CS_DEC_ERROR;
        }
        hl = (uint32_t)(ip[0] & 0x0f) * 4u;
        tot = rd16(ip + 2);
        if (hl < 20 || hl > cap_avail) {
            return CS_DEC_ERROR;
        }
        if (tot == 0) {
            tot = cap_avail;   /* TSO capture: length left to the NIC */
        }
        if (tot < hl) {
            return CS_DEC_ERROR;
        }
        p->ipver = 4;
        p->ip_len = tot;
        p->proto = ip[9];
        memset(p->src, 0, sizeof p->src);
        memset(p->dst, 0, sizeof p->dst);
        memcpy(p->src, ip + 12, 4);
        memcpy(p->dst, ip + 16, 4);
        if (tot > cap_avail) {
            p->truncated = 1;
            end = lim;
        } else {
            end = off + tot;
        }
        frag = rd16(ip + 6);
        if ((frag & 0x1fff) != 0) {
            p->frag_id = rd16(ip + 4);
            return CS_DEC_FRAG;
        }
        if (frag & 0x2000) {
            p->first_frag = 1;
            p->frag_id = rd16(ip + 4);
        }
        l4 = off + hl;
    } else if (ver == 6) {
        const uint8_t *ip = d + off;
        uint32_t plen;
        uint8_t nh;
        if (cap_avail < 40) {
            return CS_DEC_ERROR;
        }
        plen = rd16(ip + 4);
        p->ipver = 6;
        p->ip_len = plen == 0 ? cap_avail : 40u + plen;   /* 0: jumbogram or TSO */
        memcpy(p->src, ip + 8, 16);
        memcpy(p->dst, ip + 24, 16);
        if (p->ip_len > cap_avail) {
            p->truncated = 1;
            end = lim;
        } else {
            end = off + p->ip_len;
        }
        nh = ip[6];
        l4 = off + 40;
        for (int i = 0; i < MAX_V6_EXT; i++) {
            uint32_t hlen;
            if (nh != 0 && nh != 43 && nh != 44 && nh != 60 && nh != 51) {
                break;
            }
            if (l4 + 8 > end) {
                return CS_DEC_ERROR;
            }
            if (nh == 44) {
                uint16_t fo = rd16(d + l4 + 2);
                p->frag_id = rd32(d + l4 + 4);
                if ((fo & 0xfff8) != 0) {
                    p->proto = d[l4];
                    return CS_DEC_FRAG;
                }
                if (fo & 1) {
                    p->first_frag = 1;
                }
                hlen = 8;
            } else if (nh == 51) {
                hlen = ((uint32_t)d[l4 + 1] + 2u) * 4u;
            } else {
                hlen = ((uint32_t)d[l4 + 1] + 1u) * 8u;
            }
            nh = d[l4];
            l4 += hlen;
        }
        if (nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51) {
            return CS_DEC_ERROR;   /* too many extension headers */
        }
        if (l4 > end) {
            return CS_DEC_ERROR;   /* the last extension header runs past the datagram */
        }
        p->proto = nh;
    } else {
        return CS_DEC_ERROR;
    }

    /* A first fragment holds only part of any tunnelled packet: report the outer one. */
    if (!p->first_frag) {
        int t;
        switch (p->proto) {
        case 4:
        case 41:
            if (!enter_tunnel(p, CS_TUN_IPIP, 0, 0)) {
                return CS_DEC_ERROR;
            }
            return decode_ip(d, caplen, l4, end, p->proto == 4 ? 4 : 6, p);
        case 47:
            if ((t = decode_gre(d, caplen, l4, end, p)) != NOT_TUNNEL) {
                return (cs_dec_rc)t;
            }
            break;
        case 17:
            rc = decode_l4(d, l4, end, p);
            if (rc == CS_DEC_OK && (t = decode_udp_tunnel(d, caplen, l4, end, p)) != NOT_TUNNEL) {
                return (cs_dec_rc)t;
            }
            return rc;
        default:
            break;
        }
    }
    return decode_l4(d, l4, end, p);
}

/* Ethertype dispatch after the link header; off points at the ethertype's payload. */
static cs_dec_rc decode_ethertype(const uint8_t *d, uint32_t caplen, uint32_t off, uint32_t lim,
                                  uint16_t type, cs_pkt *p)
{
    int tags = 0;
    for (;;) {
        switch (type) {
        case 0x0800:
            return decode_ip(d, caplen, off, lim, 4, p);
        case 0x86dd:
            return decode_ip(d, caplen, off, lim, 6, p);
        case 0x8100:
        case 0x88a8:
        case 0x9100:
            if (off > lim || lim - off < 4 || tags >= MAX_VLAN_TAGS) {
                return CS_DEC_ERROR;
            }
            if (!p->has_vlan) {
                p->has_vlan = 1;
                p->vlan_id = rd16(d + off) & 0x0fff;   /* keep the outer tag */
            }
            type = rd16(d + off + 2);
            off += 4;
            tags++;
            break;
        case 0x8847:
        case 0x8848: {
            int n = 0;
            for (;;) {
                if (off > lim || lim - off < 4 || n >= MAX_MPLS_LABELS) {
                    return CS_DEC_ERROR;
                }
                n++;
                off += 4;
                if (d[off - 2] & 0x01) {   /* bottom of stack */
                    break;
                }
            }
            if (off >= lim) {
                return CS_DEC_ERROR;
            }
            /* No payload type in MPLS: look at the IP version nibble. */
            if ((d[off] >> 4) == 4) {
                return decode_ip(d, caplen, off, lim, 4, p);
            }
            if ((d[off] >> 4) == 6) {
                return decode_ip(d, caplen, off, lim, 6, p);
            }
            return CS_DEC_NON_IP;
        }
        case 0x8864: { /* PPPoE session (RFC 2516): ver/type, code, session, length, then PPP */
            uint32_t len;
            if (off > lim || lim - off < 8) {
                return CS_DEC_ERROR;
            }
            len = rd16(d + off + 4);
            if (d[off] != 0x11 || d[off + 1] != 0 || len < 2) {
                return CS_DEC_ERROR;
            }
            if (len < lim - off - 6) {
                lim = off + 6 + len;   /* the length covers the PPP frame: drop the trailer */
            }
            type = ppp_to_ethertype(rd16(d + off + 6));
            off += 8;
            if (type == 0) {
                return CS_DEC_NON_IP;
            }
            break;
        }
        default:
            return CS_DEC_NON_IP;
        }
    }
}

cs_dec_rc cs_decode(int linktype, const uint8_t *d, uint32_t caplen, cs_pkt *p)
{
    memset(p, 0, sizeof *p);
    switch (linktype) {
    case DLT_EN10MB:
        return decode_eth(d, caplen, 0, caplen, p);
    case DLT_LINUX_SLL:
        if (caplen < 16) {
            return CS_DEC_ERROR;
        }
        return decode_ethertype(d, caplen, 16, caplen, rd16(d + 14), p);
    case DLT_LINUX_SLL2:
        if (caplen < 20) {
            return CS_DEC_ERROR;
        }
        return decode_ethertype(d, caplen, 20, caplen, rd16(d), p);
    case DLT_RAW:
        if (caplen < 1) {
            return CS_DEC_ERROR;
        }
        if ((d[0] >> 4) == 4 || (d[0] >> 4) == 6) {
            return decode_ip(d, caplen, 0, caplen, 0, p);
        }
        return CS_DEC_ERROR;
    case DLT_IPV4:
        return decode_ip(d, caplen, 0, caplen, 4, p);
    case DLT_IPV6:
        return decode_ip(d, caplen, 0, caplen, 6, p);
    case DLT_NULL:
    case DLT_LOOP: {
        uint32_t fam;
        if (caplen < 5) {
            return CS_DEC_ERROR;
        }
        /* The family is in the capturing host's byte order (NULL) or big-endian (LOOP). */
        fam = rd32(d);
        if (fam > 0xffff) {
            fam = ((fam & 0xff) << 24) | ((fam & 0xff00) << 8) | ((fam >> 8) & 0xff00) | (fam >> 24);
        }
        if (fam == 2) {
            return decode_ip(d, caplen, 4, caplen, 4, p);
        }
        if (fam == 10 || fam == 23 || fam == 24 || fam == 28 || fam == 30) {
            return decode_ip(d, caplen, 4, caplen, 6, p);
        }
        /* Families differ per OS: otherwise trust the IP version nibble. */
        if ((d[4] >> 4) == 4 || (d[4] >> 4) == 6) {
            return decode_ip(d, caplen, 4, caplen, 0, p);
        }
        return CS_DEC_NON_IP;
    }
    case DLT_C_HDLC:   /* address, control, then an ethertype */
        if (caplen < 4) {
            return CS_DEC_ERROR;
        }
        return decode_ethertype(d, caplen, 4, caplen, rd16(d + 2), p);
    case DLT_PPP:
    case DLT_PPP_SERIAL: {
        uint32_t off;
        uint16_t type;
        if (caplen < 4) {
            return CS_DEC_ERROR;
        }
        if (d[0] == 0xff && d[1] == 0x03) {          /* address/control present */
            off = 4;
            type = rd16(d + 2);
        } else if (d[0] == 0x0f || d[0] == 0x8f) {   /* Cisco HDLC framing on a PPP link */
            return decode_ethertype(d, caplen, 4, caplen, rd16(d + 2), p);
        } else {
            off = 2;
            type = rd16(d);
        }
        type = ppp_to_ethertype(type);
        if (type == 0) {
            return CS_DEC_NON_IP;
        }
        return decode_ethertype(d, caplen, off, caplen, type, p);
    }
    default:
        return CS_DEC_NON_IP;
    }
}
