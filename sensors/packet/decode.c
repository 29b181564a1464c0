/* decode.c - frame decoding for the packet sensor (see decode.h).
 *
 * Design: one forward pass with an explicit (offset, end) window. Every header
 * is read only after checking that it lies inside the captured bytes; IP
 * headers then narrow the window to the datagram length they announce, so an
 * Ethernet trailer never becomes payload. Nothing here allocates or keeps
 * state, so the hot loop pays only for the bytes it looks at. The link and
 * tunnel coverage mirrors what ndpiReader 4.2 decodes (minus GTP/TZSP/CAPWAP),
 * so flows line up with its results.
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
#define MAX_IP_NESTING 4    /* IP-in-IP depth we follow */
#define MAX_V6_EXT 8        /* extension headers we skip before giving up */

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

/* Decode an IP datagram starting at off (caplen = captured end of frame). */
static cs_dec_rc decode_ip(const uint8_t *d, uint32_t caplen, uint32_t off, int hint, cs_pkt *p)
{
    for (int depth = 0; depth < MAX_IP_NESTING; depth++) {
        uint32_t cap_avail;
        uint32_t end;
        int ver;

        if (off >= caplen) {
            return CS_DEC_ERROR;
        }
        cap_avail = caplen - off;
        ver = d[off] >> 4;
        if (hint != 0 && ver != hint) {
            return CS_DEC_ERROR;
        }
        hint = 0;
        p->l3 = d + off;
        p->l3_caplen = cap_avail;
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
                end = caplen;
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
            if ((p->proto == 4 || p->proto == 41) && !p->first_frag) {
                off += hl;
                hint = p->proto == 4 ? 4 : 6;
                continue;
            }
            return decode_l4(d, off + hl, end, p);
        }
        if (ver == 6) {
            const uint8_t *ip = d + off;
            uint32_t plen;
            uint32_t pos;
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
                end = caplen;
            } else {
                end = off + p->ip_len;
            }
            nh = ip[6];
            pos = off + 40;
            for (int i = 0; i < MAX_V6_EXT; i++) {
                uint32_t hlen;
                if (nh != 0 && nh != 43 && nh != 44 && nh != 60 && nh != 51) {
                    break;
                }
                if (pos + 8 > end) {
                    return CS_DEC_ERROR;
                }
                if (nh == 44) {
                    uint16_t fo = rd16(d + pos + 2);
                    p->frag_id = rd32(d + pos + 4);
                    if ((fo & 0xfff8) != 0) {
                        p->proto = d[pos];
                        return CS_DEC_FRAG;
                    }
                    if (fo & 1) {
                        p->first_frag = 1;
                    }
                    hlen = 8;
                } else if (nh == 51) {
                    hlen = ((uint32_t)d[pos + 1] + 2u) * 4u;
                } else {
                    hlen = ((uint32_t)d[pos + 1] + 1u) * 8u;
                }
                nh = d[pos];
                pos += hlen;
            }
            if (nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51) {
                return CS_DEC_ERROR;   /* too many extension headers */
            }
            p->proto = nh;
            if ((nh == 4 || nh == 41) && !p->first_frag) {
                off = pos;
                hint = nh == 4 ? 4 : 6;
                continue;
            }
            return decode_l4(d, pos, end, p);
        }
        return CS_DEC_ERROR;
    }
    return CS_DEC_ERROR;   /* nested deeper than we follow */
}

/* Ethertype dispatch after the link header; off points at the ethertype's payload. */
static cs_dec_rc decode_ethertype(const uint8_t *d, uint32_t caplen, uint32_t off, uint16_t type,
                                  cs_pkt *p)
{
    int tags = 0;
    for (;;) {
        switch (type) {
        case 0x0800:
            return decode_ip(d, caplen, off, 4, p);
        case 0x86dd:
            return decode_ip(d, caplen, off, 6, p);
        case 0x8100:
        case 0x88a8:
        case 0x9100:
            if (off + 4 > caplen || tags >= MAX_VLAN_TAGS) {
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
                if (off + 4 > caplen || n >= MAX_MPLS_LABELS) {
                    return CS_DEC_ERROR;
                }
                n++;
                off += 4;
                if (d[off - 2] & 0x01) {   /* bottom of stack */
                    break;
                }
            }
            if (off >= caplen) {
                return CS_DEC_ERROR;
            }
            /* No payload type in MPLS: look at the IP version nibble. */
            if ((d[off] >> 4) == 4) {
                return decode_ip(d, caplen, off, 4, p);
            }
            if ((d[off] >> 4) == 6) {
                return decode_ip(d, caplen, off, 6, p);
            }
            return CS_DEC_NON_IP;
        }
        case 0x8864:   /* PPPoE session: 6-byte header, then the PPP protocol */
            if (off + 8 > caplen) {
                return CS_DEC_ERROR;
            }
            type = ppp_to_ethertype(rd16(d + off + 6));
            off += 8;
            if (type == 0) {
                return CS_DEC_NON_IP;
            }
            break;
        default:
            return CS_DEC_NON_IP;
        }
    }
}

cs_dec_rc cs_decode(int linktype, const uint8_t *d, uint32_t caplen, cs_pkt *p)
{
    memset(p, 0, sizeof *p);
    switch (linktype) {
    case DLT_EN10MB: {
        uint16_t type;
        if (caplen < 14) {
            return CS_DEC_ERROR;
        }
        type = rd16(d + 12);
        if (type <= 1500) {
            /* 802.3 length: only LLC/SNAP can carry IP. */
            if (caplen < 22) {
                return CS_DEC_NON_IP;
            }
            if (d[14] == 0xaa && d[15] == 0xaa && d[16] == 0x03) {
                return decode_ethertype(d, caplen, 22, rd16(d + 20), p);
            }
            return CS_DEC_NON_IP;
        }
        return decode_ethertype(d, caplen, 14, type, p);
    }
    case DLT_LINUX_SLL:
        if (caplen < 16) {
            return CS_DEC_ERROR;
        }
        return decode_ethertype(d, caplen, 16, rd16(d + 14), p);
    case DLT_LINUX_SLL2:
        if (caplen < 20) {
            return CS_DEC_ERROR;
        }
        return decode_ethertype(d, caplen, 20, rd16(d), p);
    case DLT_RAW:
        if (caplen < 1) {
            return CS_DEC_ERROR;
        }
        if ((d[0] >> 4) == 4 || (d[0] >> 4) == 6) {
            return decode_ip(d, caplen, 0, 0, p);
        }
        return CS_DEC_ERROR;
    case DLT_IPV4:
        return decode_ip(d, caplen, 0, 4, p);
    case DLT_IPV6:
        return decode_ip(d, caplen, 0, 6, p);
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
            return decode_ip(d, caplen, 4, 4, p);
        }
        if (fam == 10 || fam == 23 || fam == 24 || fam == 28 || fam == 30) {
            return decode_ip(d, caplen, 4, 6, p);
        }
        /* Families differ per OS: otherwise trust the IP version nibble. */
        if ((d[4] >> 4) == 4 || (d[4] >> 4) == 6) {
            return decode_ip(d, caplen, 4, 0, p);
        }
        return CS_DEC_NON_IP;
    }
    case DLT_C_HDLC:   /* address, control, then an ethertype */
        if (caplen < 4) {
            return CS_DEC_ERROR;
        }
        return decode_ethertype(d, caplen, 4, rd16(d + 2), p);
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
            return decode_ethertype(d, caplen, 4, rd16(d + 2), p);
        } else {
            off = 2;
            type = rd16(d);
        }
        type = ppp_to_ethertype(type);
        if (type == 0) {
            return CS_DEC_NON_IP;
        }
        return decode_ethertype(d, caplen, off, type, p);
    }
    default:
        return CS_DEC_NON_IP;
    }
}
