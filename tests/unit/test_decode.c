/* test_decode.c - cs_decode() tunnel decapsulation and malformed-header edge cases.
 *
 *   1. hand-built frames for each encapsulation (GRE v0 with every optional
 *      field, PPTP enhanced GRE, ERSPAN II/III, VXLAN, GTP-U with and without
 *      extension headers, Geneve, nesting, the depth limit): the INNER flow is
 *      reported, with the outer tunnel type, its id and the layer count;
 *   2. standards edge cases (IHL < 5, IPv6 extension header chains, MPLS
 *      without bottom of stack, PPPoE length lies): CS_DEC_ERROR or a correct
 *      decode;
 *   3. every frame cut at every byte offset, in an exact-size heap copy so
 *      ASan sees any overread: CS_DEC_ERROR or a consistent partial result;
 *   4. real captures from ${CS_SHARED_DATA:-/work/shared/data} that carry
 *      tunnels: inner flows now appear where the decoder used to stop at the
 *      outer header.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensors/packet/decode.h"

#define LT_ETH 1   /* DLT_EN10MB */
#define BUFSZ 2048

/* ---- frame builders: each wraps `in` (len n) into `out`, returns the new length ---- */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

static size_t tcp(uint8_t *out, uint16_t sp, uint16_t dp, const char *payload)
{
    size_t n = strlen(payload);
    memset(out, 0, 20);
    put16(out, sp);
    put16(out + 2, dp);
    out[12] = 5 << 4;
    out[13] = 0x18;   /* PSH ACK */
    memcpy(out + 20, payload, n);
    return 20 + n;
}

static size_t udp(uint8_t *out, uint16_t sp, uint16_t dp, const uint8_t *in, size_t n)
{
    put16(out, sp);
    put16(out + 2, dp);
    put16(out + 4, (uint32_t)(8 + n));
    put16(out + 6, 0);
    memmove(out + 8, in, n);
    return 8 + n;
}

static size_t ipv4(uint8_t *out, const char *src, const char *dst, uint8_t proto, const uint8_t *in, size_t n)
{
    memset(out, 0, 20);
    out[0] = 0x45;
    put16(out + 2, (uint32_t)(20 + n));
    put16(out + 4, 0x1234);
    out[8] = 64;
    out[9] = proto;
    assert_int_equal(inet_pton(AF_INET, src, out + 12), 1);
    assert_int_equal(inet_pton(AF_INET, dst, out + 16), 1);
    memmove(out + 20, in, n);
    return 20 + n;
}

static size_t ipv6(uint8_t *out, const char *src, const char *dst, uint8_t nh, const uint8_t *in, size_t n)
{
    memset(out, 0, 40);
    out[0] = 0x60;
    put16(out + 4, (uint32_t)n);
    out[6] = nh;
    out[7] = 64;
    assert_int_equal(inet_pton(AF_INET6, src, out + 8), 1);
    assert_int_equal(inet_pton(AF_INET6, dst, out + 24), 1);
    memmove(out + 40, in, n);
    return 40 + n;
}

static size_t eth(uint8_t *out, uint16_t type, const uint8_t *in, size_t n)
{
    for (int i = 0; i < 12; i++) {
        out[i] = (uint8_t)(0x10 + i);
    }
    put16(out + 12, type);
    memmove(out + 14, in, n);
    return 14 + n;
}

/* GRE version 0; flags0 picks C (0x80), K (0x20), S (0x10). */
static size_t gre(uint8_t *out, uint8_t flags0, uint16_t proto, uint32_t key, const uint8_t *in, size_t n)
{
    size_t h = 4;
    uint8_t hdr[16];
    memset(hdr, 0, sizeof hdr);
    hdr[0] = flags0;
    put16(hdr + 2, proto);
    if (flags0 & 0x80) {
        h += 4;   /* checksum + reserved (not verified by the decoder) */
    }
    if (flags0 & 0x20) {
        put32(hdr + h, key);
        h += 4;
    }
    if (flags0 & 0x10) {
        put32(hdr + h, 77);
        h += 4;
    }
    memmove(out + h, in, n);
    memcpy(out, hdr, h);
    return h + n;
}

static size_t vxlan(uint8_t *out, uint32_t vni, const uint8_t *in, size_t n)
{
    memmove(out + 8, in, n);
    memset(out, 0, 8);
    out[0] = 0x08;
    put32(out + 4, vni << 8);
    return 8 + n;
}

/* GTPv1-U G-PDU; seq adds the optional 4 bytes, ext adds a PDU session container. */
static size_t gtpu(uint8_t *out, uint32_t teid, int seq, int ext, const uint8_t *in, size_t n)
{
    uint8_t hdr[20];
    size_t h = 8;
    memset(hdr, 0, sizeof hdr);
    hdr[0] = 0x30;   /* version 1, PT 1 */
    hdr[1] = 0xff;
    put32(hdr + 4, teid);
    if (seq || ext) {
        hdr[0] |= (uint8_t)((seq ? 0x02 : 0) | (ext ? 0x04 : 0));
        put16(hdr + 8, 9);
        hdr[11] = ext ? 0x85 : 0;
        h += 4;
    }
    if (ext) {
        hdr[h] = 1;       /* 4 bytes: length, 2 content, next type 0 */
        hdr[h + 1] = 0x10;
        hdr[h + 2] = 0x05;
        hdr[h + 3] = 0;
        h += 4;
    }
    put16(hdr + 2, (uint32_t)(h - 8 + n));
    memmove(out + h, in, n);
    memcpy(out, hdr, h);
    return h + n;
}

static cs_dec_rc dec(const uint8_t *f, size_t n, cs_pkt *p)
{
    return cs_decode(LT_ETH, f, (uint32_t)n, p);
}

static void assert_addr4(const uint8_t *a, const char *s)
{
    uint8_t b[4];
    assert_int_equal(inet_pton(AF_INET, s, b), 1);
    assert_memory_equal(a, b, 4);
}

static void assert_addr6(const uint8_t *a, const char *s)
{
    uint8_t b[16];
    assert_int_equal(inet_pton(AF_INET6, s, b), 1);
    assert_memory_equal(a, b, 16);
}

/* Inner IPv4/TCP 10.0.0.1:1111 -> 10.0.0.2:80 "GET /", the usual tunnel payload. */
static size_t inner_v4_tcp(uint8_t *out)
{
    uint8_t t[BUFSZ];
    size_t n = tcp(t, 1111, 80, "GET /");
    return ipv4(out, "10.0.0.1", "10.0.0.2", 6, t, n);
}

static void assert_inner_v4_tcp(const cs_pkt *p)
{
    assert_int_equal(p->ipver, 4);
    assert_int_equal(p->proto, 6);
    assert_addr4(p->src, "10.0.0.1");
    assert_addr4(p->dst, "10.0.0.2");
    assert_int_equal(p->sport, 1111);
    assert_int_equal(p->dport, 80);
    assert_int_equal(p->payload_len, 5);
    assert_memory_equal(p->payload, "GET /", 5);
}

/* ---- every cut of a frame: no overread, ERROR or a consistent result ---- */

static void check_truncations(const uint8_t *f, size_t n)
{
    for (size_t cut = 0; cut <= n; cut++) {
        uint8_t *heap = malloc(cut ? cut : 1);
        cs_pkt p;
        cs_dec_rc rc;
        assert_non_null(heap);
        memcpy(heap, f, cut);
        rc = cs_decode(LT_ETH, heap, (uint32_t)cut, &p);
        if (rc == CS_DEC_OK || rc == CS_DEC_FRAG) {
            assert_true(p.ipver == 4 || p.ipver == 6);
            assert_true(p.l3 >= heap && p.l3 + p.l3_caplen == heap + cut);
            assert_true(p.tunnel_depth <= CS_DEC_MAX_TUNNELS);
            assert_true((p.tunnel == CS_TUN_NONE) == (p.tunnel_depth == 0));
        }
        if (rc == CS_DEC_OK && p.payload != NULL) {
            assert_true(p.payload >= heap && p.payload + p.payload_len <= heap + cut);
            assert_true(p.payload >= p.l3);
        }
        free(heap);
    }
}

/* ---- encapsulations ---- */

static void test_gre_ipv4(void **state)
{
    uint8_t a[BUFSZ], b[BUFSZ];
    const uint8_t flag_sets[] = {0x00, 0x20, 0x10, 0x80, 0xb0};
    cs_pkt p;
    (void)state;

    for (size_t i = 0; i < sizeof flag_sets; i++) {
        size_t n = inner_v4_tcp(a);
        n = gre(b, flag_sets[i], 0x0800, 0xdeadbeef, a, n);
        n = ipv4(a, "192.0.2.1", "192.0.2.2", 47, b, n);
        n = eth(b, 0x0800, a, n);
        assert_int_equal(dec(b, n, &p), CS_DEC_OK);
        assert_inner_v4_tcp(&p);
        assert_int_equal(p.tunnel, CS_TUN_GRE);
        assert_int_equal(p.tunnel_depth, 1);
        assert_int_equal(p.has_tunnel_id, (flag_sets[i] & 0x20) != 0);
        assert_int_equal(p.tunnel_id, (flag_sets[i] & 0x20) ? 0xdeadbeefu : 0u);
        assert_ptr_equal(p.l3, b + n - 45);   /* the inner IP header */
        check_truncations(b, n);
    }

    /* GRE carrying IPv6, over IPv6, with an Ethernet trailer the window drops */
    {
        uint8_t t[BUFSZ];
        size_t n = tcp(t, 5, 6, "x");
        n = ipv6(a, "2001:db8::1", "2001:db8::2", 6, t, n);
        n = gre(b, 0x20, 0x86dd, 7, a, n);
        n = ipv6(a, "2001:db8:f::1", "2001:db8:f::2", 47, b, n);
        n = eth(b, 0x86dd, a, n);
        memset(b + n, 0xee, 6);
        assert_int_equal(dec(b, n + 6, &p), CS_DEC_OK);
        assert_int_equal(p.ipver, 6);
        assert_addr6(p.src, "2001:db8::1");
        assert_int_equal(p.payload_len, 1);
        assert_int_equal(p.tunnel_id, 7);
        check_truncations(b, n + 6);
    }

    /* Routing bit (RFC 1701 only) or an unknown protocol: the outer packet stands. */
    {
        size_t n = inner_v4_tcp(a);
        size_t g = gre(b, 0x00, 0x0800, 0, a, n);
        b[0] = 0x40;
        n = ipv4(a, "192.0.2.1", "192.0.2.2", 47, b, g);
        n = eth(b, 0x0800, a, n);
        assert_int_equal(dec(b, n, &p), CS_DEC_OK);
        assert_int_equal(p.tunnel, CS_TUN_NONE);
        assert_int_equal(p.proto, 47);
        assert_addr4(p.src, "192.0.2.1");
        assert_int_equal(p.payload_len, g);
        b[14 + 20] = 0;
        b[14 + 20 + 2] = 0x12;   /* protocol 0x1200 */
        assert_int_equal(dec(b, n, &p), CS_DEC_OK);
        assert_int_equal(p.tunnel, CS_TUN_NONE);
    }
}

/* PPTP: enhanced GRE version 1, key = payload length + call id, PPP inside. */
static size_t pptp(uint8_t *out, int ack, int acfc, int pfc, const uint8_t *in, size_t n)
{
    uint8_t h[24];
    size_t hl;
    size_t ppp = 0;
    uint8_t pp[4];
    if (!acfc) {
        pp[ppp++] = 0xff;
        pp[ppp++] = 0x03;
    }
    if (!pfc) {
        pp[ppp++] = 0x00;
    }
    pp[ppp++] = 0x21;
    memset(h, 0, sizeof h);
    h[0] = 0x30;   /* K, S */
    h[1] = (uint8_t)(0x01 | (ack ? 0x80 : 0));
    put16(h + 2, 0x880b);
    put16(h + 4, (uint32_t)(ppp + n));
    put16(h + 6, 0x4242);
    put32(h + 8, 1);
    hl = 12 + (ack ? 4 : 0);
    memmove(out + hl + ppp, in, n);
    memcpy(out, h, hl);
    memcpy(out + hl, pp, ppp);
    return hl + ppp + n;
}

static void test_pptp(void **state)
{
    uint8_t a[BUFSZ], b[BUFSZ];
    cs_pkt p;
    (void)state;

    for (int v = 0; v < 8; v++) {
        size_t n = inner_v4_tcp(a);
        n = pptp(b, v & 1, (v >> 1) & 1, (v >> 2) & 1, a, n);
        n = ipv4(a, "192.0.2.1", "192.0.2.2", 47, b, n);
        n = eth(b, 0x0800, a, n);
        assert_int_equal(dec(b, n, &p), CS_DEC_OK);
        assert_inner_v4_tcp(&p);
        assert_int_equal(p.tunnel, CS_TUN_PPTP);
        assert_int_equal(p.tunnel_id, 0x4242);
        check_truncations(b, n);
    }
    /* An acknowledgment-only packet (no S bit, no payload) stays the outer flow. */
    {
        uint8_t g[16] = {0x20, 0x81, 0x88, 0x0b, 0, 0, 0x42, 0x42, 0, 0, 0, 1};
        size_t n = ipv4(a, "192.0.2.1", "192.0.2.2", 47, g, 12);
        n = eth(b, 0x0800, a, n);
        assert_int_equal(dec(b, n, &p), CS_DEC_OK);
        assert_int_equal(p.tunnel, CS_TUN_NONE);
        assert_int_equal(p.proto, 47);
    }
}

static void test_erspan(void **state)
{
    uint8_t a[BUFSZ], b[BUFSZ], c[BUFSZ];
    cs_pkt p;
    (void)state;

    /* type II: GRE with S, 8-byte ERSPAN header (version 1, session 0x155) */
    {
        size_t n = inner_v4_tcp(a);
        n = eth(b, 0x0800, a, n);
        memmove(c + 8, b, n);
        memset(c, 0, 8);
        c[0] = 0x10;
        put16(c + 2, 0x155);
        n = gre(a, 0x10, 0x88be, 0, c, n + 8);
        n = ipv4(b, "192.0.2.1", "192.0.2.2", 47, a, n);
        n = eth(a, 0x0800, b, n);
        assert_int_equal(dec(a, n, &p), CS_DEC_OK);
        assert_inner_v4_tcp(&p);
        assert_int_equal(p.tunnel, CS_TUN_ERSPAN);
        assert_int_equal(p.tunnel_id, 0x155);
        check_truncations(a, n);
    }
    /* type III with the optional platform subheader */
    {
        size_t n = inner_v4_tcp(a);
        n = eth(b, 0x0800, a, n);
        memmove(c + 20, b, n);
        memset(c, 0, 20);
        c[0] = 0x20;
        put16(c + 2, 0x2aa);
        c[11] = 0x01;   /* O: 8-byte platform-specific subheader follows */
        n = gre(a, 0x10, 0x22eb, 0, c, n + 20);
        n = ipv4(b, "192.0.2.1", "192.0.2.2", 47, a, n);
        n = eth(a, 0x0800, b, n);
        assert_int_equal(dec(a, n, &p), CS_DEC_OK);
        assert_inner_v4_tcp(&p);
        assert_int_equal(p.tunnel, CS_TUN_ERSPAN);
        assert_int_equal(p.tunnel_id, 0x2aa);
        check_truncations(a, n);
    }
    /* transparent Ethernet bridging 0x6558 */
    {
        size_t n = inner_v4_tcp(a);
        n = eth(b, 0x0800, a, n);
        n = gre(a, 0x20, 0x6558, 99, b, n);
        n = ipv4(b, "192.0.2.1", "192.0.2.2", 47, a, n);
        n = eth(a, 0x0800, b, n);
        assert_int_equal(dec(a, n, &p), CS_DEC_OK);
        assert_inner_v4_tcp(&p);
        assert_int_equal(p.tunnel, CS_TUN_GRE);
        assert_int_equal(p.tunnel_id, 99);
    }
}

static void test_vxlan_ipv6(void **state)
{
    uint8_t a[BUFSZ], b[BUFSZ];
    const uint8_t dns[12] = {0x12, 0x34, 1, 0};
    cs_pkt p;
    size_t n;
    (void)state;

    n = udp(a, 5353, 53, dns, sizeof dns);
    n = ipv6(b, "fd00::1", "fd00::53", 17, a, n);
    n = eth(a, 0x86dd, b, n);
    n = vxlan(b, 0xabcdef, a, n);
    n = udp(a, 40000, 4789, b, n);
    n = ipv4(b, "198.51.100.1", "198.51.100.2", 17, a, n);
    n = eth(a, 0x0800, b, n);
    assert_int_equal(dec(a, n, &p), CS_DEC_OK);
    assert_int_equal(p.ipver, 6);
    assert_int_equal(p.proto, 17);
    assert_addr6(p.src, "fd00::1");
    assert_addr6(p.dst, "fd00::53");
    assert_int_equal(p.sport, 5353);
    assert_int_equal(p.dport, 53);
    assert_int_equal(p.payload_len, sizeof dns);
    assert_int_equal(p.tunnel, CS_TUN_VXLAN);
    assert_int_equal(p.tunnel_id, 0xabcdef);
    assert_int_equal(p.tunnel_depth, 1);
    check_truncations(a, n);

    /* Without the I flag it is just UDP to 4789. */
    a[14 + 20 + 8] = 0;
    assert_int_equal(dec(a, n, &p), CS_DEC_OK);
    assert_int_equal(p.tunnel, CS_TUN_NONE);
    assert_int_equal(p.dport, 4789);
    assert_addr4(p.src, "198.51.100.1");
}

static void test_gtpu(void **state)
{
    uint8_t a[BUFSZ], b[BUFSZ];
    cs_pkt p;
    (void)state;

    for (int v = 0; v < 3; v++) {
        size_t n = inner_v4_tcp(a);
        n = gtpu(b, 0x01020304, v == 1, v == 2, a, n);
        n = udp(a, 2152, 2152, b, n);
        n = ipv4(b, "203.0.113.1", "203.0.113.2", 17, a, n);
        n = eth(a, 0x0800, b, n);
        assert_int_equal(dec(a, n, &p), CS_DEC_OK);
        assert_inner_v4_tcp(&p);
        assert_int_equal(p.tunnel, CS_TUN_GTPU);
        assert_int_equal(p.tunnel_id, 0x01020304);
        check_truncations(a, n);
        if (v == 2) {
            /* a zero-length extension header: not followed, the outer UDP stands */
            a[14 + 20 + 8 + 12] = 0;
            assert_int_equal(dec(a, n, &p), CS_DEC_OK);
            assert_int_equal(p.tunnel, CS_TUN_NONE);
            assert_int_equal(p.dport, 2152);
            check_truncations(a, n);
        }
    }
    /* inner IPv6, only the source port is GTP-U */
    {
        uint8_t t[BUFSZ];
        size_t n = tcp(t, 443, 50000, "hello");
        n = ipv6(a, "2001:db8::a", "2001:db8::b", 6, t, n);
        n = gtpu(b, 9, 0, 1, a, n);
        n = udp(a, 2152, 33333, b, n);
        n = ipv4(b, "203.0.113.1", "203.0.113.2", 17, a, n);
        n = eth(a, 0x0800, b, n);
        assert_int_equal(dec(a, n, &p), CS_DEC_OK);
        assert_int_equal(p.ipver, 6);
        assert_int_equal(p.sport, 443);
        assert_int_equal(p.payload_len, 5);
        assert_int_equal(p.tunnel_id, 9);
    }
    /* An echo request (type 1) is GTP signalling, not user data. */
    {
        uint8_t e[12] = {0x32, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0, 1, 0, 0};
        size_t n = udp(a, 2152, 2152, e, sizeof e);
        n = ipv4(b, "203.0.113.1", "203.0.113.2", 17, a, n);
        n = eth(a, 0x0800, b, n);
        assert_int_equal(dec(a, n, &p), CS_DEC_OK);
        assert_int_equal(p.tunnel, CS_TUN_NONE);
        assert_int_equal(p.payload_len, sizeof e);
    }
}

static void test_geneve(void **state)
{
    uint8_t a[BUFSZ], b[BUFSZ];
    cs_pkt p;
    size_t n = inner_v4_tcp(a);
    (void)state;

    n = eth(b, 0x0800, a, n);
    memmove(a + 16, b, n);
    memset(a, 0, 16);
    a[0] = 0x02;   /* one option of 8 bytes */
    put16(a + 2, 0x6558);
    put32(a + 4, 0x00777700);
    n = udp(b, 1000, 6081, a, n + 16);
    n = ipv4(a, "192.0.2.1", "192.0.2.2", 17, b, n);
    n = eth(b, 0x0800, a, n);
    assert_int_equal(dec(b, n, &p), CS_DEC_OK);
    assert_inner_v4_tcp(&p);
    assert_int_equal(p.tunnel, CS_TUN_GENEVE);
    assert_int_equal(p.tunnel_id, 0x7777);
    check_truncations(b, n);
}

/* GRE inside VXLAN: two layers, the outer one reported as the tunnel type. */
static void test_nested(void **state)
{
    uint8_t a[BUFSZ], b[BUFSZ];
    cs_pkt p;
    size_t n = inner_v4_tcp(a);
    (void)state;

    n = gre(b, 0x20, 0x0800, 5, a, n);
    n = ipv4(a, "172.16.0.1", "172.16.0.2", 47, b, n);
    n = eth(b, 0x0800, a, n);
    n = vxlan(a, 42, b, n);
    n = udp(b, 40000, 4789, a, n);
    n = ipv4(a, "198.51.100.1", "198.51.100.2", 17, b, n);
    n = eth(b, 0x0800, a, n);
    assert_int_equal(dec(b, n, &p), CS_DEC_OK);
    assert_inner_v4_tcp(&p);
    assert_int_equal(p.tunnel, CS_TUN_VXLAN);
    assert_int_equal(p.tunnel_id, 42);
    assert_int_equal(p.tunnel_depth, 2);
    check_truncations(b, n);
}

/* CS_DEC_MAX_TUNNELS layers decode, one more is refused. */
static void test_depth_limit(void **state)
{
    uint8_t a[BUFSZ], b[BUFSZ];
    cs_pkt p;
    (void)state;

    for (int layers = 1; layers <= CS_DEC_MAX_TUNNELS + 1; layers++) {
        size_t n = inner_v4_tcp(a);
        for (int i = 0; i < layers; i++) {
            n = gre(b, 0x20, 0x0800, (uint32_t)i, a, n);
            n = ipv4(a, "192.0.2.1", "192.0.2.2", 47, b, n);
        }
        n = eth(b, 0x0800, a, n);
        if (layers <= CS_DEC_MAX_TUNNELS) {
            assert_int_equal(dec(b, n, &p), CS_DEC_OK);
            assert_inner_v4_tcp(&p);
            assert_int_equal(p.tunnel_depth, layers);
            assert_int_equal(p.tunnel_id, (uint32_t)(layers - 1));   /* the outermost key */
        } else {
            assert_int_equal(dec(b, n, &p), CS_DEC_ERROR);
        }
        check_truncations(b, n);
    }
    /* IP-in-IP counts the same way */
    {
        size_t n = inner_v4_tcp(a);
        for (int i = 0; i <= CS_DEC_MAX_TUNNELS; i++) {
            n = ipv4(b, "192.0.2.1", "192.0.2.2", 4, a, n);
            memcpy(a, b, n);
        }
        n = eth(b, 0x0800, a, n);
        assert_int_equal(dec(b, n, &p), CS_DEC_ERROR);
        memmove(b + 14, b + 34, n - 34);
        assert_int_equal(dec(b, n - 20, &p), CS_DEC_OK);
        assert_int_equal(p.tunnel, CS_TUN_IPIP);
        assert_int_equal(p.tunnel_depth, CS_DEC_MAX_TUNNELS);
    }
}

/* ---- standards edge cases on the pre-existing paths ---- */

static void test_edge_cases(void **state)
{
    uint8_t a[BUFSZ], b[BUFSZ];
    cs_pkt p;
    size_t n;
    (void)state;

    /* IPv4 IHL 0..4 and an IHL past the capture */
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        n = inner_v4_tcp(a);
        n = eth(b, 0x0800, a, n);
        b[14] = (uint8_t)(0x40 | ihl);
        assert_int_equal(dec(b, n, &p), CS_DEC_ERROR);
    }
    n = eth(b, 0x0800, a, ipv4(a, "1.1.1.1", "2.2.2.2", 6, (const uint8_t *)"", 0));
    b[14] = 0x4f;
    assert_int_equal(dec(b, n, &p), CS_DEC_ERROR);
    /* total length below the header */
    n = eth(b, 0x0800, a, inner_v4_tcp(a));
    put16(b + 16, 19);
    assert_int_equal(dec(b, n, &p), CS_DEC_ERROR);

    /* IPv6: a chain of hop-by-hop headers longer than we follow, an extension
     * header that runs past the datagram, and a zero-length destination option */
    memset(a, 0, 80);
    for (int i = 0; i < 10; i++) {
        a[i * 8] = 0;   /* next: hop-by-hop again, length 0 (8 bytes) */
    }
    n = ipv6(b, "::1", "::2", 0, a, 80);
    n = eth(a, 0x86dd, b, n);
    assert_int_equal(dec(a, n, &p), CS_DEC_ERROR);
    memset(b, 0, 16);
    b[0] = 17;
    b[1] = 200;   /* (200 + 1) * 8 bytes: far past the 16-byte payload */
    n = ipv6(a, "::1", "::2", 60, b, 16);
    n = eth(b, 0x86dd, a, n);
    assert_int_equal(dec(b, n, &p), CS_DEC_ERROR);
    {
        uint8_t t[64];
        size_t tl = udp(t + 8, 1, 2, (const uint8_t *)"z", 1);
        memset(t, 0, 8);
        t[0] = 17;   /* destination options, hdr ext len 0: the minimal 8 bytes */
        n = ipv6(a, "::1", "::2", 60, t, tl + 8);
        n = eth(b, 0x86dd, a, n);
        assert_int_equal(dec(b, n, &p), CS_DEC_OK);
        assert_int_equal(p.proto, 17);
        assert_int_equal(p.dport, 2);
        assert_int_equal(p.payload_len, 1);
    }

    /* MPLS: nine labels without bottom of stack, then a valid stack */
    n = inner_v4_tcp(a);
    memmove(a + 36, a, n);
    memset(a, 0, 36);
    n = eth(b, 0x8847, a, n + 36);
    assert_int_equal(dec(b, n, &p), CS_DEC_ERROR);
    b[14 + 4 * 7 + 2] = 0x01;   /* bottom of stack on the 8th label: the 9th "label" is IP garbage */
    assert_int_equal(dec(b, n, &p), CS_DEC_NON_IP);
    n = inner_v4_tcp(a);
    memmove(a + 8, a, n);
    memset(a, 0, 8);
    a[6] = 0x01;
    n = eth(b, 0x8847, a, n + 8);
    assert_int_equal(dec(b, n, &p), CS_DEC_OK);
    assert_inner_v4_tcp(&p);

    /* PPPoE: the length may not lie below the PPP protocol field, and a
     * shorter length cuts the trailer off the inner datagram */
    {
        size_t in = inner_v4_tcp(a);
        size_t m;
        memmove(a + 8, a, in);
        a[0] = 0x11;
        a[1] = 0;
        put16(a + 2, 1);
        put16(a + 4, (uint32_t)(in + 2));
        put16(a + 6, 0x0021);
        m = eth(b, 0x8864, a, in + 8);
        assert_int_equal(dec(b, m, &p), CS_DEC_OK);
        assert_inner_v4_tcp(&p);
        memset(b + m, 0xaa, 10);   /* Ethernet padding after the session data */
        assert_int_equal(dec(b, m + 10, &p), CS_DEC_OK);
        assert_int_equal(p.payload_len, 5);
        put16(b + 18, (uint32_t)(in + 1));   /* lies short: the IP datagram does not fit */
        assert_int_equal(dec(b, m, &p), CS_DEC_OK);
        assert_int_equal(p.truncated, 1);
        assert_int_equal(p.payload_len, 4);
        put16(b + 18, 60000);   /* lies long: bounded by the capture */
        assert_int_equal(dec(b, m, &p), CS_DEC_OK);
        assert_int_equal(p.payload_len, 5);
        put16(b + 18, 1);
        assert_int_equal(dec(b, m, &p), CS_DEC_ERROR);
        put16(b + 18, (uint32_t)(in + 2));
        b[14] = 0x12;   /* version/type other than 1/1 */
        assert_int_equal(dec(b, m, &p), CS_DEC_ERROR);
        b[14] = 0x11;
        b[15] = 0x09;   /* a discovery code on a session frame */
        assert_int_equal(dec(b, m, &p), CS_DEC_ERROR);
    }
}

/* ---- real captures ---- */

static const char *data_dir(void)
{
    const char *d = getenv("CS_SHARED_DATA");
    return d != NULL && d[0] != '\0' ? d : "/work/shared/data";
}

typedef struct cap_count {
    long packets, ok, tunnelled;
    long by_type[8];
} cap_count;

static int count_capture(const char *rel, cap_count *c)
{
    char path[1024];
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    pcap_t *pc;
    int lt;

    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/%s", data_dir(), rel);
    if ((pc = pcap_open_offline(path, err)) == NULL) {
        return -1;
    }
    lt = pcap_datalink(pc);
    while (pcap_next_ex(pc, &h, &data) == 1) {
        cs_pkt p;
        c->packets++;
        if (cs_decode(lt, data, h->caplen, &p) == CS_DEC_OK) {
            c->ok++;
            if (p.tunnel != CS_TUN_NONE) {
                c->tunnelled++;
                c->by_type[p.tunnel & 7]++;
            }
        }
    }
    pcap_close(pc);
    return 0;
}

/* Counts measured with this decoder; "before" is what the decoder without
 * GRE/UDP tunnel support gave (CS_DEC_OK packets, all of them outer flows
 * except IP-in-IP). Any decode of these packets as the outer flow again, or
 * of fewer of them, fails here. */
static void test_real_tunnel_captures(void **state)
{
    static const struct {
        const char *file;
        long packets, ok_before, ok, tunnelled;
        unsigned type;
    } caps[] = {
        {"ndpi/pcap/ipv6_in_gtp.pcap", 2, 2, 2, 2, CS_TUN_GTPU},
        {"ndpi/pcap/tls_invalid_reads.pcap", 12, 12, 12, 3, CS_TUN_GTPU},
        {"ndpi/pcap/ja3_lots_of_cipher_suites_2_anon.pcap", 27, 27, 27, 27, CS_TUN_GTPU},
        {"ndpi/pcap/reasm_segv_anon.pcapng", 82, 82, 82, 82, CS_TUN_GTPU},
        {"suricata-verify/vxlan-decoder-02/vxlan.pcap", 10, 10, 8, 8, CS_TUN_VXLAN},   /* +2 ARP inside */
        {"zeek/core.tunnels.vxlan/vxlan.pcap", 10, 10, 8, 8, CS_TUN_VXLAN},
        {"suricata-verify/bug-6402-01/input.pcap", 12, 12, 12, 12, CS_TUN_GENEVE},   /* Geneve, GRE */
        {"attack-pcaps/stopddos/amp.dns.RRSIG.fragmented.pcap", 4412, 3686, 3686, 1, CS_TUN_GRE},
        {"ndpi/pcap/4in4tunnel.pcap", 5, 5, 5, 5, CS_TUN_IPIP},
        {"ndpi/pcap/6in4tunnel.pcap", 127, 127, 127, 127, CS_TUN_IPIP},
        {"ndpi/pcap/gtp_false_positive.pcapng", 7, 7, 7, 0, CS_TUN_NONE},   /* GTP-C and look-alikes */
    };
    int seen = 0;
    (void)state;

    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        cap_count c;
        if (count_capture(caps[i].file, &c) != 0) {
            print_message("  %s: absent, skipped\n", caps[i].file);
            continue;
        }
        seen++;
        print_message("  %-52s packets %5ld ok %5ld (before %5ld) inner via tunnel %5ld\n", caps[i].file,
                      c.packets, c.ok, caps[i].ok_before, c.tunnelled);
        assert_int_equal(c.packets, caps[i].packets);
        assert_int_equal(c.ok, caps[i].ok);
        assert_int_equal(c.tunnelled, caps[i].tunnelled);
        if (caps[i].type != CS_TUN_NONE) {
            assert_int_equal(c.by_type[caps[i].type], caps[i].tunnelled);
        }
    }
    if (seen == 0) {
        print_message("skipped: no tunnel captures under %s (set CS_SHARED_DATA)\n", data_dir());
        skip();
    }

    /* The inner addresses are the ones ndpiReader reports for these captures. */
    {
        char path[1024];
        char err[PCAP_ERRBUF_SIZE];
        struct pcap_pkthdr *h;
        const u_char *data;
        pcap_t *pc;
        cs_pkt p;
        snprintf(path, sizeof path, "%s/ndpi/pcap/ipv6_in_gtp.pcap", data_dir());
        if ((pc = pcap_open_offline(path, err)) != NULL) {
            assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
            assert_int_equal(cs_decode(pcap_datalink(pc), data, h->caplen, &p), CS_DEC_OK);
            assert_addr6(p.src, "2607:fc20:4052:39e:490a:ea4d:17fe:e09c");
            assert_int_equal(p.sport, 49120);
            assert_int_equal(p.dport, 25658);
            pcap_close(pc);
        }
        snprintf(path, sizeof path, "%s/suricata-verify/bug-6402-01/input.pcap", data_dir());
        if ((pc = pcap_open_offline(path, err)) != NULL) {
            assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
            assert_int_equal(cs_decode(pcap_datalink(pc), data, h->caplen, &p), CS_DEC_OK);
            assert_int_equal(p.tunnel_depth, 2);
            assert_addr4(p.src, "10.2.0.1");
            assert_int_equal(p.dport, 1234);
            check_truncations(data, h->caplen);
            pcap_close(pc);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gre_ipv4),
        cmocka_unit_test(test_pptp),
        cmocka_unit_test(test_erspan),
        cmocka_unit_test(test_vxlan_ipv6),
        cmocka_unit_test(test_gtpu),
        cmocka_unit_test(test_geneve),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_real_tunnel_captures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
