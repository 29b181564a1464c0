/* community_id.c - Community ID v1 and the SHA-1 it needs (see community_id.h).
 *
 * Design: the hash input is at most 2+16+16+1+1+2+2 = 40 bytes, so it is built
 * in a stack buffer and hashed in one call; SHA-1 is a plain block-at-a-time
 * implementation written from FIPS 180-4 (no library dependency, so tests and
 * tools can compute IDs without initialising libgcrypt). The ICMP counterpart
 * table follows the spec's reference implementation (Zeek's ICMP4/6_counterpart).
 */
#include "community_id.h"

#include <string.h>

/* ---- SHA-1 ------------------------------------------------------------ */

static uint32_t rol32(uint32_t v, unsigned n)
{
    return (v << n) | (v >> (32u - n));
}

/* One 64-byte block. Four branch-free 20-round loops over a 16-word rolling
 * schedule: this runs once per emitted flow, so it is kept cheap. */
#define SHA1_W(i) (w[(i) & 15] = rol32(w[((i) + 13) & 15] ^ w[((i) + 8) & 15] ^ \
                                        w[((i) + 2) & 15] ^ w[(i) & 15], 1))
#define SHA1_STEP(fexpr, k, wv)                                  \
    do {                                                         \
        uint32_t t_ = rol32(a, 5) + (fexpr) + e + (k) + (wv);    \
        e = d;                                                   \
        d = c;                                                   \
        c = rol32(b, 30);                                        \
        b = a;                                                   \
        a = t_;                                                  \
    } while (0)

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[16];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    int i;

    for (i = 0; i < 16; i++) {
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) |
               ((uint32_t)p[4 * i + 2] << 8) | (uint32_t)p[4 * i + 3];
    }
    for (i = 0; i < 16; i++) {
        SHA1_STEP((b & c) | (~b & d), 0x5A827999u, w[i]);
    }
    for (; i < 20; i++) {
        SHA1_STEP((b & c) | (~b & d), 0x5A827999u, SHA1_W(i));
    }
    for (; i < 40; i++) {
        SHA1_STEP(b ^ c ^ d, 0x6ED9EBA1u, SHA1_W(i));
    }
    for (; i < 60; i++) {
        SHA1_STEP((b & c) | (b & d) | (c & d), 0x8F1BBCDCu, SHA1_W(i));
    }
    for (; i < 80; i++) {
        SHA1_STEP(b ^ c ^ d, 0xCA62C1D6u, SHA1_W(i));
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void cs_sha1(const void *data, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    const uint8_t *p = data;
    uint8_t tail[128];
    size_t rest = len % 64;
    size_t tail_len = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8u;

    for (size_t off = 0; off + 64 <= len; off += 64) {
        sha1_block(h, p + off);
    }
    /* Padding: 0x80, zeros, then the bit length big-endian in the last 8 bytes. */
    memset(tail, 0, sizeof tail);
    if (rest > 0) {
        memcpy(tail, p + (len - rest), rest);
    }
    tail[rest] = 0x80;
    for (int i = 0; i < 8; i++) {
        tail[tail_len - 1 - (size_t)i] = (uint8_t)(bits >> (8 * i));
    }
    sha1_block(h, tail);
    if (tail_len == 128) {
        sha1_block(h, tail + 64);
    }
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

/* ---- Community ID ----------------------------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t base64(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
        out[o++] = b64chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
        out[o++] = '=';
    }
    return o;
}

/* The spec's counterpart types; false when the message is one-way. */
static int icmp_counterpart(uint8_t proto, uint16_t type, uint16_t *peer)
{
    int t = -1;
    if (proto == 1) {
        switch (type) {
        case 8: t = 0; break;     /* echo request -> reply */
        case 0: t = 8; break;
        case 13: t = 14; break;   /* timestamp */
        case 14: t = 13; break;
        case 15: t = 16; break;   /* information */
        case 16: t = 15; break;
        case 10: t = 9; break;    /* router solicitation -> advertisement (one way in the table) */
        case 17: t = 18; break;   /* address mask */
        case 18: t = 17; break;
        default: break;
        }
    } else {
        switch (type) {
        case 128: t = 129; break; /* echo */
        case 129: t = 128; break;
        case 133: t = 134; break; /* router solicitation/advertisement */
        case 134: t = 133; break;
        case 135: t = 136; break; /* neighbour solicitation/advertisement */
        case 136: t = 135; break;
        case 130: t = 131; break; /* MLD query/report */
        case 131: t = 130; break;
        case 139: t = 140; break; /* node information query/reply */
        case 140: t = 139; break;
        case 144: t = 145; break; /* home agent address discovery */
        case 145: t = 144; break;
        default: break;
        }
    }
    if (t < 0) {
        return 0;
    }
    *peer = (uint16_t)t;
    return 1;
}

size_t cs_community_id_v1(uint16_t seed, const cs_ip *src, const cs_ip *dst, uint8_t proto,
                          uint16_t sport, uint16_t dport, char *out, size_t outsz)
{
    uint8_t buf[40];
    uint8_t digest[20];
    size_t alen;
    size_t n = 0;
    const uint8_t *a = src->addr;
    const uint8_t *b = dst->addr;
    uint16_t pa = sport;
    uint16_t pb = dport;
    int has_ports = proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
    int one_way = 0;
    int cmp;

    if (outsz < CS_COMMUNITY_ID_SIZE || src->family != dst->family ||
        (src->family != 4 && src->family != 6)) {
        return 0;
    }
    alen = src->family == 4 ? 4 : 16;
    if (proto == 1 || proto == 58) {
        uint16_t peer;
        if (icmp_counterpart(proto, sport, &peer)) {
            pb = peer;
        } else {
            one_way = 1;   /* keep type/code as they are, no reordering */
        }
    }
    cmp = memcmp(a, b, alen);
    if (!one_way && (cmp > 0 || (cmp == 0 && has_ports && pa > pb))) {
        const uint8_t *t = a;
        uint16_t tp = pa;
        a = b;
        b = t;
        pa = pb;
        pb = tp;
    }
    buf[n++] = (uint8_t)(seed >> 8);
    buf[n++] = (uint8_t)seed;
    memcpy(buf + n, a, alen);
    n += alen;
    memcpy(buf + n, b, alen);
    n += alen;
    buf[n++] = proto;
    buf[n++] = 0;
    if (has_ports) {
        buf[n++] = (uint8_t)(pa >> 8);
        buf[n++] = (uint8_t)pa;
        buf[n++] = (uint8_t)(pb >> 8);
        buf[n++] = (uint8_t)pb;
    }
    cs_sha1(buf, n, digest);
    out[0] = '1';
    out[1] = ':';
    n = 2 + base64(digest, sizeof digest, out + 2);
    out[n] = '\0';
    return n;
}
