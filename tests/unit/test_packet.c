/* test_packet.c - the packet sensor's first stage: decode, flows, nDPI, Community ID.
 *
 * Three layers of tests:
 *   1. pure functions: SHA-1 and Community ID against published vectors;
 *      cs_decode() over truncations and mutations of valid frames (ASan
 *      catches any out-of-bounds read);
 *   2. synthetic captures written to /tmp with exactly known content (TCP
 *      life cycle, QinQ, fragments, ICMP, DNS, timeouts, eviction, sink stop);
 *   3. real captures from ${CS_SHARED_DATA:-/work/shared/data}: flow counts and
 *      nDPI protocol names against ndpiReader's result/<pcap>.out, error
 *      handling on broken files, and a no-crash replay of every capture.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sensors/packet/community_id.h"
#include "sensors/packet/decode.h"
#include "sensors/packet/flow.h"
#include "sensors/packet/packet.h"

/* ---- helpers ------------------------------------------------------------ */

static const char *data_dir(void)
{
    const char *d = getenv("CS_SHARED_DATA");
    return d != NULL && d[0] != '\0' ? d : "/work/shared/data";
}

static int have_ndpi_data(void)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/ndpi/pcap", data_dir());
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

#define NEED_DATA()                                                                                \
    do {                                                                                           \
        if (!have_ndpi_data()) {                                                                   \
            print_message("skipped: %s/ndpi/pcap is absent (set CS_SHARED_DATA)\n", data_dir());   \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

#include "collect.h"

/* Protocol events (dns/http/tls/ssh) are kept apart from the flows the
 * tests count; app_event() finds the one of a flow by flow id and
 * Community ID (the latest first: ids restart with every replay). */
static collect g_app;

static cs_rc flow_sink(cs_event *ev, void *ud)
{
    if (ev->kind == CS_KIND_DNS || ev->kind == CS_KIND_HTTP || ev->kind == CS_KIND_TLS || ev->kind == CS_KIND_SSH) {
        return collect_sink(ev, &g_app);
    }
    return collect_sink(ev, ud);
}

static const cs_event *app_event(const cs_event *flow, cs_kind kind)
{
    const char *cid = ev_str(flow, CS_F_NETWORK_COMMUNITY_ID);
    for (size_t i = g_app.n; i-- > 0;) {
        const cs_event *a = g_app.ev[i];
        const char *acid = ev_str(a, CS_F_NETWORK_COMMUNITY_ID);
        if (a->kind == kind && ev_int(a, CS_F_CS_FLOW_ID) == ev_int(flow, CS_F_CS_FLOW_ID) && cid != NULL &&
            acid != NULL && strcmp(cid, acid) == 0) {
            assert_int_equal(a->ts_us, flow->ts_us);
            assert_string_equal(ev_str(a, CS_F_CS_NDPI_PROTOCOL), ev_str(flow, CS_F_CS_NDPI_PROTOCOL));
            return a;
        }
    }
    fail_msg("no %s event for flow %lld", cs_kind_name(kind), (long long)ev_int(flow, CS_F_CS_FLOW_ID));
    return NULL;
}


/* ---- 1. SHA-1 and Community ID -------------------------------------------- */

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
}

static void test_sha1_vectors(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } v[] = {
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {"The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"},
    };
    uint8_t d[20];
    char h[41];
    char *mil;
    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cs_sha1(v[i].in, strlen(v[i].in), d);
        hex(d, 20, h);
        assert_string_equal(h, v[i].out);
    }
    mil = malloc(1000000);
    assert_non_null(mil);
    memset(mil, 'a', 1000000);
    cs_sha1(mil, 1000000, d);
    hex(d, 20, h);
    assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(mil);
}

static cs_ip ip(const char *s)
{
    cs_ip a;
    assert_true(cs_ip_parse(s, strlen(s), &a));
    return a;
}

static void check_cid(uint16_t seed, const char *s, const char *d, uint8_t proto, uint16_t sp, uint16_t dp,
                      const char *want)
{
    cs_ip a = ip(s);
    cs_ip b = ip(d);
    char out[CS_COMMUNITY_ID_SIZE];
    assert_int_equal(cs_community_id_v1(seed, &a, &b, proto, sp, dp, out, sizeof out), strlen(want));
    assert_string_equal(out, want);
}

static void test_community_id_vectors(void **state)
{
    char small[8];
    cs_ip a = ip("1.2.3.4");
    cs_ip b = ip("::1");
    (void)state;
    /* corelight/community-id-spec baseline_deflt.json */
    check_cid(0, "128.232.110.120", "66.35.250.204", 6, 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    check_cid(0, "66.35.250.204", "128.232.110.120", 6, 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    check_cid(0, "192.168.1.52", "8.8.8.8", 17, 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    check_cid(0, "8.8.8.8", "192.168.1.52", 17, 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    /* ICMP echo request and its reply hash alike; time exceeded is one-way. */
    check_cid(0, "192.168.0.89", "192.168.0.1", 1, 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    check_cid(0, "192.168.0.1", "192.168.0.89", 1, 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    check_cid(0, "10.0.0.1", "10.0.0.2", 1, 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=");
    /* ICMPv6 neighbour solicitation/advertisement, echo, destination unreachable. */
    check_cid(0, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 58, 135, 0,
              "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
    check_cid(0, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 58, 136, 0,
              "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
    check_cid(0, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 58, 128, 0,
              "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=");
    check_cid(0, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 58, 3, 0,
              "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=");
    /* TCP over IPv6, SCTP, and a protocol without ports (RSVP). */
    check_cid(0, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 6, 63943, 25,
              "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
    check_cid(0, "192.168.170.8", "192.168.170.56", 132, 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=");
    check_cid(0, "10.1.12.2", "10.1.12.1", 46, 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=");
    /* baseline_seed1.json */
    check_cid(1, "128.232.110.120", "66.35.250.204", 6, 34855, 80, "1:3V71V58M3Ksw/yuFALMcW0LAHvc=");
    check_cid(1, "192.168.1.52", "8.8.8.8", 17, 54585, 53, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=");
    check_cid(1, "192.168.0.89", "192.168.0.1", 1, 8, 0, "1:03g6IloqVBdcZlPyX8r0hgoE7kA=");
    /* Refusals: mixed families, short buffer. */
    assert_int_equal(cs_community_id_v1(0, &a, &b, 6, 1, 2, small, sizeof small), 0);
    b = ip("5.6.7.8");
    assert_int_equal(cs_community_id_v1(0, &a, &b, 6, 1, 2, small, sizeof small), 0);
}

/* ---- synthetic frames ------------------------------------------------------ */

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static size_t eth(uint8_t *b, const uint16_t *tags, int ntags, uint16_t type)
{
    uint8_t *p = b;
    static const uint8_t macs[12] = {0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10};
    memcpy(p, macs, 12);
    p += 12;
    for (int i = 0; i < ntags; i++) {
        p = put16(p, i == 0 && ntags > 1 ? 0x88a8 : 0x8100);
        p = put16(p, tags[i]);
    }
    p = put16(p, type);
    return (size_t)(p - b);
}

static void parse4(const char *s, uint8_t out[4])
{
    cs_ip a = ip(s);
    memcpy(out, a.addr, 4);
}

/* Ethernet (+tags) + IPv4 + l4 bytes. frag = flags/offset field. */
static size_t ipv4_frame(uint8_t *b, const uint16_t *tags, int ntags, const char *src, const char *dst,
                         uint8_t proto, uint16_t id, uint16_t frag, const uint8_t *l4, size_t l4len)
{
    size_t off = eth(b, tags, ntags, 0x0800);
    uint8_t *ip4 = b + off;
    memset(ip4, 0, 20);
    ip4[0] = 0x45;
    put16(ip4 + 2, (uint16_t)(20 + l4len));
    put16(ip4 + 4, id);
    put16(ip4 + 6, frag);
    ip4[8] = 64;
    ip4[9] = proto;
    parse4(src, ip4 + 12);
    parse4(dst, ip4 + 16);
    memcpy(ip4 + 20, l4, l4len);
    return off + 20 + l4len;
}

static size_t tcp_seg(uint8_t *b, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags,
                      const char *payload)
{
    size_t n = payload ? strlen(payload) : 0;
    memset(b, 0, 20);
    put16(b, sp);
    put16(b + 2, dp);
    b[4] = (uint8_t)(seq >> 24);
    b[5] = (uint8_t)(seq >> 16);
    b[6] = (uint8_t)(seq >> 8);
    b[7] = (uint8_t)seq;
    b[8] = (uint8_t)(ack >> 24);
    b[9] = (uint8_t)(ack >> 16);
    b[10] = (uint8_t)(ack >> 8);
    b[11] = (uint8_t)ack;
    b[12] = 0x50;
    b[13] = flags;
    put16(b + 14, 65535);
    if (n > 0) {
        memcpy(b + 20, payload, n);
    }
    return 20 + n;
}

static size_t udp_dgram(uint8_t *b, uint16_t sp, uint16_t dp, const uint8_t *payload, size_t n)
{
    put16(b, sp);
    put16(b + 2, dp);
    put16(b + 4, (uint16_t)(8 + n));
    put16(b + 6, 0);
    memcpy(b + 8, payload, n);
    return 8 + n;
}

/* DNS message for name (one question, type qtype); response when rcode >= 0. */
static size_t dns_msg(uint8_t *b, uint16_t txid, const char *name, uint16_t qtype, int rcode)
{
    uint8_t *p = b;
    const char *s = name;
    p = put16(p, txid);
    p = put16(p, rcode < 0 ? 0x0100 : (uint16_t)(0x8180 | (rcode & 0xf)));
    p = put16(p, 1);
    p = put16(p, 0);
    p = put16(p, rcode < 0 ? 0 : 1);   /* a reply carries an SOA in authority */
    p = put16(p, 0);
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        *p++ = (uint8_t)l;
        memcpy(p, s, l);
        p += l;
        s += l + (dot ? 1 : 0);
    }
    *p++ = 0;
    p = put16(p, qtype);
    p = put16(p, 1);
    if (rcode >= 0) {
        /* authority: SOA for the zone, compressed name pointer */
        static const uint8_t soa[] = {0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01, 0, 0, 0x0e, 0x10, 0x00, 0x1a,
                                      0x01, 'a', 0x00, 0x01, 'b', 0x00, 0, 0, 0, 1, 0, 0, 0, 1,
                                      0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
        memcpy(p, soa, sizeof soa);
        p += sizeof soa;
    }
    return (size_t)(p - b);
}

typedef struct pcapw {
    FILE *f;
} pcapw;

static void pw_open(pcapw *w, const char *path, uint32_t linktype)
{
    uint32_t hdr[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, linktype};
    w->f = fopen(path, "wb");
    assert_non_null(w->f);
    assert_int_equal(fwrite(hdr, sizeof hdr, 1, w->f), 1);
}

static void pw_add(pcapw *w, int64_t ts_us, const uint8_t *d, size_t caplen, size_t len)
{
    uint32_t rec[4];
    rec[0] = (uint32_t)(ts_us / 1000000);
    rec[1] = (uint32_t)(ts_us % 1000000);
    rec[2] = (uint32_t)caplen;
    rec[3] = (uint32_t)len;
    assert_int_equal(fwrite(rec, sizeof rec, 1, w->f), 1);
    if (caplen > 0) {
        assert_int_equal(fwrite(d, caplen, 1, w->f), 1);
    }
}

static void pw_close(pcapw *w)
{
    assert_int_equal(fclose(w->f), 0);
}

static void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "/tmp/cs_test_packet_%ld_%s", (long)getpid(), name);
}

#define T0 1600000000000000ll   /* 2020-09-13, packet time base */

/* ---- 2. synthetic captures ---------------------------------------------------- */

static void test_synthetic_tcp_http_vlan(void **state)
{
    const cs_event *a;
    char path[256];
    pcapw w;
    uint8_t f[2048], l4[1500];
    size_t n;
    collect c = {0};
    cs_packet_stats st;
    cs_packet_opts o;
    const uint16_t tags[2] = {100, 200};
    const char *cli = "128.232.110.120", *srv = "66.35.250.204";
    const char *get = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test-agent/1.0\r\n"
                      "Accept: */*\r\n\r\n";
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";
    cs_event *e;
    (void)state;

    tmp_path(path, sizeof path, "http.pcap");
    pw_open(&w, path, 1);
    /* QinQ-tagged HTTP exchange, full handshake and close, then a trailing ACK. */
#define ADD(ts, s, d, sp, dp, seq, ack, fl, pl) ADDT(2, ts, s, d, sp, dp, seq, ack, fl, pl)
#define ADDT(ntags, ts, s, d, sp, dp, seq, ack, fl, pl)                                             \
    do {                                                                                           \
        size_t l4n_ = tcp_seg(l4, sp, dp, seq, ack, fl, pl);                                       \
        n = ipv4_frame(f, tags, ntags, s, d, 6, 1, 0x4000, l4, l4n_);                              \
        pw_add(&w, T0 + (ts), f, n, n);                                                            \
    } while (0)
    ADD(0, cli, srv, 34855, 80, 1000, 0, CS_TCP_SYN, NULL);
    ADD(1000, srv, cli, 80, 34855, 5000, 1001, CS_TCP_SYN | CS_TCP_ACK, NULL);
    ADD(2000, cli, srv, 34855, 80, 1001, 5001, CS_TCP_ACK, NULL);
    ADD(3000, cli, srv, 34855, 80, 1001, 5001, CS_TCP_ACK | CS_TCP_PSH, get);
    ADD(4000, srv, cli, 80, 34855, 5001, 1001 + (uint32_t)strlen(get), CS_TCP_ACK | CS_TCP_PSH, resp);
    ADD(5000, cli, srv, 34855, 80, 1001 + (uint32_t)strlen(get), 5001 + (uint32_t)strlen(resp),
        CS_TCP_ACK | CS_TCP_FIN, NULL);
    ADD(6000, srv, cli, 80, 34855, 5001 + (uint32_t)strlen(resp), 1002 + (uint32_t)strlen(get),
        CS_TCP_ACK | CS_TCP_FIN, NULL);
    ADD(7000, cli, srv, 34855, 80, 1002 + (uint32_t)strlen(get), 5002 + (uint32_t)strlen(resp), CS_TCP_ACK,
        NULL);
    /* A flow whose SYN we missed: the SYN/ACK sender is the server. */
    ADDT(0, 8000, "10.0.0.3", "10.0.0.4", 443, 5555, 1, 2, CS_TCP_SYN | CS_TCP_ACK, NULL);
    ADDT(0, 9000, "10.0.0.4", "10.0.0.3", 5555, 443, 2, 2, CS_TCP_ACK | CS_TCP_RST, NULL);
#undef ADD
#undef ADDT
    pw_close(&w);

    memset(&o, 0, sizeof o);
    o.sensor_name = "sensor-1";
    assert_int_equal(cs_packet_replay_file(path, &o, flow_sink, &c, &st), CS_OK);
    assert_int_equal(st.packets, 10);
    assert_int_equal(st.flows_created, 2);
    assert_int_equal(st.flows_emitted, 2);
    assert_int_equal(c.n, 2);
    assert_int_equal(st.decode_errors + st.non_ip + st.truncated, 0);

    e = c.ev[0];
    assert_int_equal(e->kind, CS_KIND_FLOW);
    assert_int_equal(e->ts_us, T0);
    assert_true(ev_ip_is(e, CS_F_SOURCE_IP, cli));
    assert_int_equal(ev_int(e, CS_F_SOURCE_PORT), 34855);
    assert_true(ev_ip_is(e, CS_F_DESTINATION_IP, srv));
    assert_int_equal(ev_int(e, CS_F_DESTINATION_PORT), 80);
    assert_int_equal(ev_int(e, CS_F_SOURCE_PACKETS), 5);   /* SYN, ACK, GET, FIN, last ACK */
    assert_int_equal(ev_int(e, CS_F_DESTINATION_PACKETS), 3);
    assert_int_equal(ev_int(e, CS_F_NETWORK_PACKETS), 8);
    assert_int_equal(ev_int(e, CS_F_NETWORK_BYTES), ev_int(e, CS_F_SOURCE_BYTES) + ev_int(e, CS_F_DESTINATION_BYTES));
    assert_int_equal(ev_int(e, CS_F_EVENT_DURATION), 7000 * 1000);
    assert_int_equal(ev_int(e, CS_F_NETWORK_VLAN_ID), 100);   /* the outer tag */
    assert_string_equal(ev_str(e, CS_F_NETWORK_TRANSPORT), "tcp");
    assert_string_equal(ev_str(e, CS_F_NETWORK_TYPE), "ipv4");
    assert_int_equal(ev_int(e, CS_F_NETWORK_IANA_NUMBER), 6);
    assert_string_equal(ev_str(e, CS_F_NETWORK_COMMUNITY_ID), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    assert_string_equal(ev_str(e, CS_F_CS_FLOW_END_REASON), "fin");
    assert_string_equal(ev_str(e, CS_F_NETWORK_PROTOCOL), "http");
    assert_string_equal(ev_str(e, CS_F_CS_NDPI_PROTOCOL), "HTTP");
    /* the HTTP metadata is the http event's, not repeated on the flow */
    assert_null(cs_event_find(e, CS_F_HTTP_REQUEST_METHOD));
    assert_null(cs_event_find(e, CS_F_URL_DOMAIN));
    a = app_event(e, CS_KIND_HTTP);
    assert_true(ev_ip_is(a, CS_F_SOURCE_IP, cli));
    assert_int_equal(ev_int(a, CS_F_DESTINATION_PORT), 80);
    assert_string_equal(ev_str(a, CS_F_NETWORK_TRANSPORT), "tcp");
    assert_int_equal(ev_int(a, CS_F_NETWORK_VLAN_ID), 100);
    assert_string_equal(ev_str(a, CS_F_NETWORK_PROTOCOL), "http");
    assert_string_equal(ev_str(a, CS_F_HTTP_REQUEST_METHOD), "GET");
    assert_string_equal(ev_str(a, CS_F_URL_ORIGINAL), "/index.html?q=1");
    assert_string_equal(ev_str(a, CS_F_URL_DOMAIN), "example.com");
    assert_string_equal(ev_str(a, CS_F_USER_AGENT_ORIGINAL), "test-agent/1.0");
    assert_int_equal(ev_int(a, CS_F_HTTP_RESPONSE_STATUS_CODE), 200);
    assert_string_equal(ev_str(a, CS_F_OBSERVER_NAME), "sensor-1");
    assert_string_equal(ev_str(e, CS_F_OBSERVER_NAME), "sensor-1");
    assert_non_null(ev_str(e, CS_F_CS_NDPI_CATEGORY));
    assert_non_null(ev_str(e, CS_F_CS_NDPI_CONFIDENCE));
    assert_int_equal(ev_int(e, CS_F_CS_FLOW_ID), 1);

    e = c.ev[1];
    assert_true(ev_ip_is(e, CS_F_SOURCE_IP, "10.0.0.4"));   /* initiator = the SYN/ACK's receiver */
    assert_int_equal(ev_int(e, CS_F_SOURCE_PORT), 5555);
    assert_string_equal(ev_str(e, CS_F_CS_FLOW_END_REASON), "rst");
    assert_int_equal(ev_int(e, CS_F_CS_FLOW_ID), 2);
    assert_null(cs_event_find(e, CS_F_NETWORK_VLAN_ID));
    collect_free(&c);

    /* Same file, deterministic: a second run gives identical events. */
    {
        collect c2 = {0};
        collect c3 = {0};
        assert_int_equal(cs_packet_replay_file(path, &o, flow_sink, &c2, NULL), CS_OK);
        assert_int_equal(cs_packet_replay_file(path, &o, flow_sink, &c3, NULL), CS_OK);
        assert_int_equal(c2.n, c3.n);
        for (size_t i = 0; i < c2.n; i++) {
            assert_int_equal(cs_event_nfields(c2.ev[i]), cs_event_nfields(c3.ev[i]));
            for (size_t j = 0; j < cs_event_nfields(c2.ev[i]); j++) {
                char b1[128], b2[128];
                size_t l1, l2;
                const char *t1 = cs_field_text(c2.ev[i], &cs_event_fields(c2.ev[i])[j], b1, sizeof b1, &l1);
                const char *t2 = cs_field_text(c3.ev[i], &cs_event_fields(c3.ev[i])[j], b2, sizeof b2, &l2);
                assert_int_equal(l1, l2);
                assert_memory_equal(t1, t2, l1);
            }
        }
        collect_free(&c2);
        collect_free(&c3);
    }
    /* linger < 0: the closed flow goes at once, so the trailing ACK opens a new one. */
    o.tcp_close_linger_us = -1;
    assert_int_equal(cs_packet_replay_file(path, &o, flow_sink, &c, &st), CS_OK);
    assert_int_equal(c.n, 3);
    assert_string_equal(ev_str(c.ev[0], CS_F_CS_FLOW_END_REASON), "fin");
    assert_int_equal(ev_int(c.ev[0], CS_F_NETWORK_PACKETS), 7);
    collect_free(&c);
    unlink(path);
}

static void test_synthetic_udp_icmp_frag_v6(void **state)
{
    const cs_event *a;
    char path[256];
    pcapw w;
    uint8_t f[2048], l4[1500], dns[512];
    size_t n, dn;
    collect c = {0};
    cs_packet_stats st;
    cs_event *e;
    (void)state;

    tmp_path(path, sizeof path, "udp.pcap");
    pw_open(&w, path, 1);
    /* DNS query and NXDOMAIN answer, the spec's UDP tuple. */
    dn = dns_msg(dns, 0x1234, "example.com", 1, -1);
    n = ipv4_frame(f, NULL, 0, "192.168.1.52", "8.8.8.8", 17, 7, 0, l4, udp_dgram(l4, 54585, 53, dns, dn));
    pw_add(&w, T0, f, n, n);
    dn = dns_msg(dns, 0x1234, "example.com", 1, 3);
    n = ipv4_frame(f, NULL, 0, "8.8.8.8", "192.168.1.52", 17, 8, 0, l4, udp_dgram(l4, 53, 54585, dns, dn));
    pw_add(&w, T0 + 100, f, n, n);
    /* ICMP echo request/reply, the spec's ICMP tuple. */
    memset(l4, 0, 16);
    l4[0] = 8;
    n = ipv4_frame(f, NULL, 0, "192.168.0.89", "192.168.0.1", 1, 9, 0, l4, 16);
    pw_add(&w, T0 + 200, f, n, n);
    l4[0] = 0;
    n = ipv4_frame(f, NULL, 0, "192.168.0.1", "192.168.0.89", 1, 10, 0, l4, 16);
    pw_add(&w, T0 + 300, f, n, n);
    /* A UDP datagram in two fragments (first carries the header), then an orphan fragment. */
    memset(dns, 'x', 64);
    udp_dgram(l4, 4000, 5000, dns, 64);
    n = ipv4_frame(f, NULL, 0, "10.1.1.1", "10.1.1.2", 17, 0x77, 0x2000, l4, 40);
    pw_add(&w, T0 + 400, f, n, n);
    n = ipv4_frame(f, NULL, 0, "10.1.1.1", "10.1.1.2", 17, 0x77, 5, l4 + 40, 32);
    pw_add(&w, T0 + 500, f, n, n);
    n = ipv4_frame(f, NULL, 0, "10.9.9.9", "10.1.1.2", 17, 0x99, 5, l4 + 40, 32);
    pw_add(&w, T0 + 600, f, n, n);
    /* IPv6 UDP behind hop-by-hop and a (first) fragment header. */
    {
        size_t off = eth(f, NULL, 0, 0x86dd);
        uint8_t *v6 = f + off;
        size_t ul = udp_dgram(l4, 1111, 2222, (const uint8_t *)"hello", 5);
        memset(v6, 0, 40 + 16);
        v6[0] = 0x60;
        put16(v6 + 4, (uint16_t)(8 + 8 + ul));
        v6[6] = 0;   /* hop-by-hop */
        v6[7] = 64;
        v6[8] = 0x20;
        v6[8 + 15] = 1;
        v6[24] = 0x20;
        v6[24 + 15] = 2;
        v6[40] = 44;   /* -> fragment */
        v6[48] = 17;   /* -> UDP */
        v6[51] = 1;    /* offset 0, M set */
        v6[52] = 0xab;
        memcpy(v6 + 56, l4, ul);
        n = off + 56 + ul;
        pw_add(&w, T0 + 700, f, n, n);
    }
    /* ARP (not IP), a runt frame, and a frame cut by the snaplen. */
    n = eth(f, NULL, 0, 0x0806);
    memset(f + n, 0, 28);
    pw_add(&w, T0 + 800, f, n + 28, n + 28);
    pw_add(&w, T0 + 900, f, 10, 10);
    n = ipv4_frame(f, NULL, 0, "10.2.2.2", "10.3.3.3", 17, 1, 0, l4, udp_dgram(l4, 1, 2, dns, 64));
    pw_add(&w, T0 + 1000, f, 50, n);
    pw_close(&w);

    assert_int_equal(cs_packet_replay_file(path, NULL, flow_sink, &c, &st), CS_OK);
    assert_int_equal(st.packets, 11);
    assert_int_equal(st.non_ip, 1);
    assert_int_equal(st.decode_errors, 1);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.fragments, 2);
    assert_int_equal(st.frag_orphans, 1);
    assert_int_equal(c.n, 5);

    e = c.ev[0];
    assert_string_equal(ev_str(e, CS_F_NETWORK_COMMUNITY_ID), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    assert_string_equal(ev_str(e, CS_F_NETWORK_PROTOCOL), "dns");
    a = app_event(e, CS_KIND_DNS);
    assert_string_equal(ev_str(a, CS_F_DNS_QUESTION_NAME), "example.com");
    assert_string_equal(ev_str(a, CS_F_DNS_QUESTION_TYPE), "A");
    assert_string_equal(ev_str(a, CS_F_DNS_RESPONSE_CODE), "NXDOMAIN");
    assert_null(cs_event_find(e, CS_F_DNS_QUESTION_NAME));
    assert_string_equal(ev_str(e, CS_F_CS_FLOW_END_REASON), "eof");

    e = c.ev[1];
    assert_string_equal(ev_str(e, CS_F_NETWORK_TRANSPORT), "icmp");
    assert_string_equal(ev_str(e, CS_F_NETWORK_COMMUNITY_ID), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    assert_int_equal(ev_int(e, CS_F_NETWORK_PACKETS), 2);
    assert_null(cs_event_find(e, CS_F_SOURCE_PORT));

    e = c.ev[2];   /* the fragmented datagram: both fragments accounted */
    assert_int_equal(ev_int(e, CS_F_SOURCE_PORT), 4000);
    assert_int_equal(ev_int(e, CS_F_SOURCE_PACKETS), 2);

    e = c.ev[3];
    assert_string_equal(ev_str(e, CS_F_NETWORK_TYPE), "ipv6");
    assert_true(ev_ip_is(e, CS_F_SOURCE_IP, "2000::1"));
    assert_int_equal(ev_int(e, CS_F_SOURCE_PORT), 1111);
    assert_int_equal(ev_int(e, CS_F_DESTINATION_PORT), 2222);

    e = c.ev[4];   /* snaplen-cut packet: a flow, not given to nDPI */
    assert_int_equal(ev_int(e, CS_F_DESTINATION_PORT), 2);
    assert_string_equal(ev_str(e, CS_F_CS_NDPI_PROTOCOL), "Unknown");
    collect_free(&c);
    unlink(path);
}

static void test_synthetic_timeouts_eviction_stop(void **state)
{
    char path[256];
    pcapw w;
    uint8_t f[512], l4[256];
    size_t n;
    collect c = {0};
    cs_packet_stats st;
    cs_packet_opts o;
    char src[32];
    size_t evicted = 0;
    (void)state;

    tmp_path(path, sizeof path, "timeouts.pcap");
    pw_open(&w, path, 1);
    /* One UDP conversation: a packet every 3 s for 30 s, a 120 s gap, one more packet. */
    for (int i = 0; i <= 10; i++) {
        n = ipv4_frame(f, NULL, 0, "10.0.0.1", "10.0.0.2", 17, 1, 0, l4, udp_dgram(l4, 1000, 2000, l4, 0));
        pw_add(&w, T0 + (int64_t)i * 3000000, f, n, n);
    }
    n = ipv4_frame(f, NULL, 0, "10.0.0.1", "10.0.0.2", 17, 1, 0, l4, udp_dgram(l4, 1000, 2000, l4, 0));
    pw_add(&w, T0 + 150000000, f, n, n);
    /* Five one-packet flows at the same time, plus one stamped in the past. */
    for (int i = 0; i < 5; i++) {
        snprintf(src, sizeof src, "10.1.0.%d", i + 1);
        n = ipv4_frame(f, NULL, 0, src, "10.0.0.2", 17, 1, 0, l4, udp_dgram(l4, 1000, 53, l4, 0));
        pw_add(&w, T0 + 150000001, f, n, n);
    }
    n = ipv4_frame(f, NULL, 0, "10.1.0.9", "10.0.0.2", 17, 1, 0, l4, udp_dgram(l4, 1000, 53, l4, 0));
    pw_add(&w, T0, f, n, n);
    pw_close(&w);

    /* Defaults: idle 60 s splits the conversation in two. */
    assert_int_equal(cs_packet_replay_file(path, NULL, flow_sink, &c, &st), CS_OK);
    assert_int_equal(c.n, 8);
    assert_string_equal(ev_str(c.ev[0], CS_F_CS_FLOW_END_REASON), "idle");
    assert_int_equal(ev_int(c.ev[0], CS_F_NETWORK_PACKETS), 11);
    assert_int_equal(ev_int(c.ev[0], CS_F_EVENT_DURATION), 30000000000ll);
    /* the back-dated packet is taken at the current packet time */
    assert_int_equal(c.ev[7]->ts_us, T0 + 150000001);
    collect_free(&c);

    /* Active timeout 10 s: the conversation comes out in 10 s records with one flow id. */
    memset(&o, 0, sizeof o);
    o.active_timeout_us = 10000000;
    assert_int_equal(cs_packet_replay_file(path, &o, flow_sink, &c, &st), CS_OK);
    assert_string_equal(ev_str(c.ev[0], CS_F_CS_FLOW_END_REASON), "active");
    assert_int_equal(ev_int(c.ev[0], CS_F_NETWORK_PACKETS), 4);   /* t = 0, 3, 6, 9 */
    assert_int_equal(ev_int(c.ev[1], CS_F_CS_FLOW_ID), ev_int(c.ev[0], CS_F_CS_FLOW_ID));
    assert_int_equal(ev_int(c.ev[1], CS_F_EVENT_START), T0 + 12000000);
    assert_int_equal(st.flows_created, 8);
    collect_free(&c);

    /* Table of 2 flows: the least recently seen go, and are counted. */
    memset(&o, 0, sizeof o);
    o.max_flows = 2;
    assert_int_equal(cs_packet_replay_file(path, &o, flow_sink, &c, &st), CS_OK);
    for (size_t i = 0; i < c.n; i++) {
        evicted += strcmp(ev_str(c.ev[i], CS_F_CS_FLOW_END_REASON), "evicted") == 0;
    }
    assert_int_equal(st.flows_evicted, 5);   /* 7 flows at t=150 s through a table of 2 */
    assert_int_equal(evicted, 5);
    assert_int_equal(st.flows_emitted, c.n);
    assert_int_equal(c.n, 8);
    collect_free(&c);

    /* A sink that says stop: replay stops with its code, nothing leaks. */
    c.stop_after = 3;
    assert_int_equal(cs_packet_replay_file(path, NULL, flow_sink, &c, &st), CS_ERR_CLOSED);
    assert_int_equal(c.n, 3);
    assert_non_null(strstr(cs_err_msg(), "enough"));
    collect_free(&c);
    unlink(path);
}

/* Truncations and mutations of valid frames never read out of bounds (ASan)
 * and never report a payload outside the frame. */
static void test_decode_robustness(void **state)
{
    uint8_t frames[6][256];
    size_t lens[6];
    uint8_t l4[128];
    uint8_t buf[256];
    const uint16_t tags[2] = {1, 2};
    uint32_t rnd = 12345;
    cs_pkt p;
    int links[] = {1, 113, 12, 0, 9, 104, 228, 229, 276};
    (void)state;

    lens[0] = ipv4_frame(frames[0], tags, 2, "1.2.3.4", "5.6.7.8", 6, 1, 0, l4,
                         tcp_seg(l4, 1, 2, 3, 4, CS_TCP_SYN, "payload"));
    lens[1] = ipv4_frame(frames[1], NULL, 0, "1.2.3.4", "5.6.7.8", 17, 1, 0x2000, l4,
                         udp_dgram(l4, 1, 2, (const uint8_t *)"abc", 3));
    lens[2] = ipv4_frame(frames[2], NULL, 0, "1.2.3.4", "5.6.7.8", 4, 1, 0, frames[1] + 14, lens[1] - 14);
    memset(l4, 0, 8);
    lens[3] = ipv4_frame(frames[3], NULL, 0, "1.2.3.4", "5.6.7.8", 1, 1, 0, l4, 8);
    lens[4] = eth(frames[4], NULL, 0, 0x8847);
    frames[4][lens[4]] = 0;
    frames[4][lens[4] + 2] = 1;   /* bottom of stack */
    lens[4] += 4;
    memcpy(frames[4] + lens[4], frames[1] + 14, lens[1] - 14);
    lens[4] += lens[1] - 14;
    lens[5] = eth(frames[5], NULL, 0, 0x86dd);
    memset(frames[5] + lens[5], 0, 48);
    frames[5][lens[5]] = 0x60;
    frames[5][lens[5] + 5] = 8;
    frames[5][lens[5] + 6] = 60;   /* destination options, then nothing */
    lens[5] += 48;

    assert_int_equal(cs_decode(1, frames[0], (uint32_t)lens[0], &p), CS_DEC_OK);
    assert_int_equal(p.has_vlan, 1);
    assert_int_equal(p.vlan_id, 1);
    assert_int_equal(p.payload_len, 7);
    assert_memory_equal(p.payload, "payload", 7);
    assert_int_equal(cs_decode(1, frames[2], (uint32_t)lens[2], &p), CS_DEC_OK);   /* IP-in-IP: inner used */
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.first_frag, 1);
    assert_int_equal(cs_decode(1, frames[4], (uint32_t)lens[4], &p), CS_DEC_OK);   /* MPLS */
    assert_int_equal(p.dport, 2);

    for (int fi = 0; fi < 6; fi++) {
        for (size_t li = 0; li < sizeof links / sizeof links[0]; li++) {
            for (size_t cut = 0; cut <= lens[fi]; cut++) {
                for (int m = 0; m < 8; m++) {
                    uint8_t *heap;
                    cs_dec_rc rc;
                    memcpy(buf, frames[fi], lens[fi]);
                    if (m > 0 && cut > 0) {   /* flip a few bytes */
                        for (int k = 0; k < m; k++) {
                            rnd = rnd * 1103515245u + 12345u;
                            buf[(rnd >> 8) % cut] ^= (uint8_t)(rnd >> 16);
                        }
                    }
                    /* exact-size heap copy so ASan sees any overread */
                    heap = malloc(cut ? cut : 1);
                    assert_non_null(heap);
                    memcpy(heap, buf, cut);
                    rc = cs_decode(links[li], heap, (uint32_t)cut, &p);
                    if (rc == CS_DEC_OK && p.payload != NULL) {
                        assert_true(p.payload >= heap && p.payload + p.payload_len <= heap + cut);
                    }
                    if (rc == CS_DEC_OK || rc == CS_DEC_FRAG) {
                        assert_true(p.l3 >= heap && p.l3 + p.l3_caplen == heap + cut);
                        assert_true(p.ipver == 4 || p.ipver == 6);
                    }
                    free(heap);
                }
            }
        }
    }
}

/* The open-addressing table against a plain array: random inserts, removals
 * (backward-shift deletion) and lookups through several growths. */
static void test_flow_table_random(void **state)
{
    enum { N = 20000 };
    cs_flow_table t;
    cs_flow_key *keys = calloc(N, sizeof *keys);
    uint32_t *idx = calloc(N, sizeof *idx);
    uint32_t rnd = 7;
    size_t live = 0;
    (void)state;
    assert_non_null(keys);
    assert_non_null(idx);
    assert_int_equal(cs_flow_table_init(&t, N), CS_OK);
    for (int i = 0; i < N; i++) {
        /* many keys differ only in a port: the shape of a port scan */
        keys[i].a[0] = 10;
        keys[i].a[3] = (uint8_t)(i % 3);
        keys[i].b[0] = 10;
        keys[i].b[3] = 99;
        keys[i].pa = (uint16_t)(i / 3);
        keys[i].pb = 80;
        keys[i].proto = 6;
        keys[i].ipver = 4;
        keys[i].vlan = 0xffff;
    }
    for (int round = 0; round < 200000; round++) {
        int i;
        rnd = rnd * 1103515245u + 12345u;
        i = (int)((rnd >> 8) % N);
        if (idx[i] == 0) {
            idx[i] = cs_flow_insert(&t, &keys[i], cs_flow_hash(&keys[i]));
            assert_true(idx[i] != 0);
            live++;
        } else if ((rnd >> 4) & 1) {
            cs_flow_remove(&t, idx[i]);
            idx[i] = 0;
            live--;
        }
        if (round % 1000 == 0) {
            for (int j = 0; j < N; j++) {
                assert_int_equal(cs_flow_lookup(&t, &keys[j], cs_flow_hash(&keys[j])), idx[j]);
            }
            assert_int_equal(t.count, live);
        }
    }
    /* The recency list holds every live record once, oldest first. */
    {
        size_t n = 0;
        for (uint32_t k = t.head[CS_FLOW_LIST_ACTIVE]; k != 0; k = cs_flow_at(&t, k)->lru_next) {
            n++;
        }
        assert_int_equal(n, live);
    }
    cs_flow_table_free(&t);
    free(keys);
    free(idx);
}

/* ---- 3. real captures --------------------------------------------------------- */

typedef struct ref_flow {
    int proto;
    cs_ip a, b;
    int pa, pb;
    char name[80];
} ref_flow;

static int parse_ep(const char *s, size_t len, cs_ip *ipo, int *port)
{
    const char *colon;
    if (len > 2 && s[0] == '[') {
        const char *end = memchr(s, ']', len);
        if (end == NULL || end + 1 >= s + len || end[1] != ':') {
            return 0;
        }
        *port = atoi(end + 2);
        return cs_ip_parse(s + 1, (size_t)(end - s - 1), ipo);
    }
    colon = NULL;
    for (const char *q = s; q < s + len; q++) {
        if (*q == ':') {
            colon = q;
        }
    }
    if (colon == NULL) {
        return 0;
    }
    *port = atoi(colon + 1);
    return cs_ip_parse(s, (size_t)(colon - s), ipo);
}

/* Flow lines of an ndpiReader -v 2 result file. */
static size_t load_ref(const char *path, ref_flow **out, size_t *unparsed)
{
    FILE *fp = fopen(path, "rb");
    char line[8192];
    size_t n = 0, cap = 0;
    ref_flow *v = NULL;
    *unparsed = 0;
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp) != NULL) {
        char *p = line, *tok, *a, *b, *pr, *slash, *end;
        ref_flow r;
        if (p[0] != '\t' || p[1] < '0' || p[1] > '9') {
            continue;
        }
        p = strchr(p + 1, '\t');
        if (p == NULL || strstr(p, " [proto: ") == NULL ||
            (strstr(p, " <-> ") == NULL && strstr(p, " -> ") == NULL)) {
            continue;
        }
        memset(&r, 0, sizeof r);
        tok = p + 1;
        a = strchr(tok, ' ');
        if (a == NULL) {
            continue;
        }
        *a++ = '\0';
        if (strcmp(tok, "TCP") == 0) {
            r.proto = 6;
        } else if (strcmp(tok, "UDP") == 0) {
            r.proto = 17;
        } else if (strcmp(tok, "ICMP") == 0) {
            r.proto = 1;
        } else if (strcmp(tok, "ICMPV6") == 0) {
            r.proto = 58;
        } else if (strcmp(tok, "IGMP") == 0) {
            r.proto = 2;
        } else if (strcmp(tok, "VRRP") == 0) {
            r.proto = 112;
        } else {
            r.proto = atoi(tok);
        }
        b = strchr(a, ' ');
        if (b == NULL) {
            continue;
        }
        pr = strstr(b, "[proto: ");
        slash = pr ? strchr(pr, '/') : NULL;
        end = slash ? strchr(slash, ']') : NULL;
        if (end == NULL) {
            continue;
        }
        snprintf(r.name, sizeof r.name, "%.*s", (int)(end - slash - 1), slash + 1);
        {
            char *bstart = strchr(b + 1, ' ');   /* skip "<->" / "->" */
            char *bend;
            if (bstart == NULL) {
                continue;
            }
            bstart++;
            bend = strchr(bstart, ' ');
            if (bend == NULL || !parse_ep(a, (size_t)(b - a), &r.a, &r.pa) ||
                !parse_ep(bstart, (size_t)(bend - bstart), &r.b, &r.pb)) {
                (*unparsed)++;   /* ndpiReader's ":0:" -> "::" rewrite can yield invalid IPv6 text */
                continue;
            }
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, cap * sizeof *v);
            assert_non_null(v);
        }
        v[n++] = r;
    }
    fclose(fp);
    *out = v;
    return n;
}

static int ep_match(const cs_event *e, const cs_ip *ipo, int port, cs_fid ipf, cs_fid portf, int ports)
{
    cs_ip x;
    int64_t p = 0;
    if (!cs_event_get_ip(e, ipf, &x) || !cs_ip_equal(&x, ipo)) {
        return 0;
    }
    if (!ports) {
        return 1;
    }
    cs_event_get_int(e, portf, &p);
    return p == port;
}

static const cs_event *find_flow(const collect *c, const ref_flow *r)
{
    int ports = r->proto == 6 || r->proto == 17;
    for (size_t i = 0; i < c->n; i++) {
        const cs_event *e = c->ev[i];
        if (ev_int(e, CS_F_NETWORK_IANA_NUMBER) != r->proto) {
            continue;
        }
        if ((ep_match(e, &r->a, r->pa, CS_F_SOURCE_IP, CS_F_SOURCE_PORT, ports) &&
             ep_match(e, &r->b, r->pb, CS_F_DESTINATION_IP, CS_F_DESTINATION_PORT, ports)) ||
            (ep_match(e, &r->b, r->pb, CS_F_SOURCE_IP, CS_F_SOURCE_PORT, ports) &&
             ep_match(e, &r->a, r->pa, CS_F_DESTINATION_IP, CS_F_DESTINATION_PORT, ports))) {
            return e;
        }
    }
    return NULL;
}

/* Replay pcap (with or without ndpiReader's list files) and require the same
 * number of flows as result/<pcap>.out and the same protocol name on each. */
static void check_against_ndpireader(const char *pcap, int with_lists, collect *c)
{
    char path[512], ref[512], cfg[5][512];
    ref_flow *rf = NULL;
    size_t nref, unparsed;
    cs_packet_opts o;
    cs_packet_stats st;
    cs_rc rc;

    snprintf(path, sizeof path, "%s/ndpi/pcap/%s", data_dir(), pcap);
    snprintf(ref, sizeof ref, "%s/ndpi/result/%s.out", data_dir(), pcap);
    memset(&o, 0, sizeof o);
    if (with_lists) {
        snprintf(cfg[0], sizeof cfg[0], "%s/ndpi/config/protos.txt", data_dir());
        snprintf(cfg[1], sizeof cfg[1], "%s/ndpi/config/categories.txt", data_dir());
        snprintf(cfg[2], sizeof cfg[2], "%s/ndpi/config/risky_domains.txt", data_dir());
        snprintf(cfg[3], sizeof cfg[3], "%s/ndpi/config/ja3_fingerprints.csv", data_dir());
        snprintf(cfg[4], sizeof cfg[4], "%s/ndpi/config/sha1_fingerprints.csv", data_dir());
        o.ndpi_protos_file = cfg[0];
        o.ndpi_categories_file = cfg[1];
        o.ndpi_risky_domains_file = cfg[2];
        o.ndpi_ja3_file = cfg[3];
        o.ndpi_sha1_file = cfg[4];
    }
    rc = cs_packet_replay_file(path, &o, flow_sink, c, &st);
    if (rc != CS_OK) {
        fail_msg("%s: %s", pcap, cs_err_msg());
    }
    nref = load_ref(ref, &rf, &unparsed);
    assert_int_equal(unparsed, 0);
    if (c->n != nref) {
        fail_msg("%s: %zu flows, ndpiReader has %zu", pcap, c->n, nref);
    }
    assert_int_equal(st.flows_emitted, c->n);
    for (size_t i = 0; i < nref; i++) {
        const cs_event *e = find_flow(c, &rf[i]);
        const char *name;
        if (e == NULL) {
            fail_msg("%s: ndpiReader flow %zu (%s) not found", pcap, i + 1, rf[i].name);
        }
        name = ev_str(e, CS_F_CS_NDPI_PROTOCOL);
        if (name == NULL || strcmp(name, rf[i].name) != 0) {
            fail_msg("%s: flow %zu is %s, ndpiReader says %s", pcap, i + 1, name ? name : "(none)", rf[i].name);
        }
    }
    free(rf);
}

static const cs_event *find_by_port(const collect *c, int proto, int port)
{
    for (size_t i = 0; i < c->n; i++) {
        if (ev_int(c->ev[i], CS_F_NETWORK_IANA_NUMBER) == proto &&
            (ev_int(c->ev[i], CS_F_SOURCE_PORT) == port || ev_int(c->ev[i], CS_F_DESTINATION_PORT) == port)) {
            return c->ev[i];
        }
    }
    return NULL;
}

static void test_real_ipv6_tls_quic(void **state)
{
    collect c = {0};
    const cs_event *e, *a;
    (void)state;
    NEED_DATA();
    check_against_ndpireader("http_ipv6.pcap", 0, &c);
    assert_int_equal(c.n, 15);
    /* 1 TCP [2a00:d40:1:3:7aac:c0ff:fea7:d4c]:37506 <-> [2a03:b0c0:3:d0::70:1001]:443 [proto: 91.26/TLS.ntop] */
    e = find_by_port(&c, 6, 37506);
    assert_non_null(e);
    assert_string_equal(ev_str(e, CS_F_CS_NDPI_PROTOCOL), "TLS.ntop");
    assert_string_equal(ev_str(e, CS_F_NETWORK_PROTOCOL), "tls");
    assert_string_equal(ev_str(e, CS_F_NETWORK_TYPE), "ipv6");
    a = app_event(e, CS_KIND_TLS);
    assert_string_equal(ev_str(a, CS_F_TLS_CLIENT_SERVER_NAME), "www.ntop.org");
    assert_string_equal(ev_str(a, CS_F_TLS_CLIENT_JA3), "d3e627f423a33ea41841c19b8af79293");
    assert_string_equal(ev_str(a, CS_F_TLS_VERSION), "1.2");
    assert_string_equal(ev_str(e, CS_F_CS_NDPI_CONFIDENCE), "DPI");
    assert_string_equal(ev_str(e, CS_F_CS_NDPI_CATEGORY), "Network");
    assert_int_equal(ev_int(e, CS_F_SOURCE_PACKETS), 14);
    assert_int_equal(ev_int(e, CS_F_SOURCE_BYTES), 3969);
    assert_int_equal(ev_int(e, CS_F_DESTINATION_PACKETS), 12);
    assert_int_equal(ev_int(e, CS_F_DESTINATION_BYTES), 11648);
    /* ... [proto: 188.126/QUIC.Google] ... [Hostname/SNI: www.google.it] */
    e = find_by_port(&c, 17, 45931);
    assert_non_null(e);
    assert_string_equal(ev_str(e, CS_F_CS_NDPI_PROTOCOL), "QUIC.Google");
    assert_string_equal(ev_str(app_event(e, CS_KIND_TLS), CS_F_TLS_CLIENT_SERVER_NAME), "www.google.it");
    assert_int_equal(ev_int(e, CS_F_NETWORK_PACKETS), 62);
    collect_free(&c);
}

static void test_real_dns(void **state)
{
    collect c = {0};
    const cs_event *e;
    (void)state;
    NEED_DATA();
    /* 1 UDP 10.0.2.30:44639 <-> 10.0.2.20:53 [proto: 5/DNS] ... [222 pkts/26136 bytes <-> 212 pkts/44116 bytes]
     * [Hostname/SNI: vaaaakardli.pirate.sea] [Risk: ** Suspicious DGA Domain name **...] */
    check_against_ndpireader("dns-tunnel-iodine.pcap", 0, &c);
    assert_int_equal(c.n, 1);
    e = c.ev[0];
    assert_true(ev_ip_is(e, CS_F_SOURCE_IP, "10.0.2.30"));
    assert_int_equal(ev_int(e, CS_F_SOURCE_PACKETS), 222);
    assert_int_equal(ev_int(e, CS_F_SOURCE_BYTES), 26136);
    assert_int_equal(ev_int(e, CS_F_DESTINATION_PACKETS), 212);
    assert_int_equal(ev_int(e, CS_F_DESTINATION_BYTES), 44116);
    assert_string_equal(ev_str(e, CS_F_NETWORK_PROTOCOL), "dns");
    assert_string_equal(ev_str(app_event(e, CS_KIND_DNS), CS_F_DNS_QUESTION_NAME), "vaaaakardli.pirate.sea");
    assert_true(count_field(e, CS_F_CS_NDPI_RISKS) >= 1);
    assert_true(ev_int(e, CS_F_CS_NDPI_RISK_SCORE) > 0);
    collect_free(&c);
}

static void test_real_http(void **state)
{
    collect c = {0};
    const cs_event *e = NULL;
    (void)state;
    NEED_DATA();
    check_against_ndpireader("1kxun.pcap", 0, &c);
    assert_int_equal(c.n, 129);
    /* [URL: pic.1kxun.com/video_kankan/images/videos/18283-jfyj3.jpg] */
    for (size_t i = 0; i < g_app.n; i++) {
        const char *u = ev_str(g_app.ev[i], CS_F_URL_ORIGINAL);
        if (u != NULL && strcmp(u, "/video_kankan/images/videos/18283-jfyj3.jpg") == 0) {
            e = g_app.ev[i];
        }
    }
    assert_non_null(e);
    assert_int_equal(e->kind, CS_KIND_HTTP);
    assert_string_equal(ev_str(e, CS_F_URL_DOMAIN), "pic.1kxun.com");
    assert_string_equal(ev_str(e, CS_F_NETWORK_PROTOCOL), "http");
    assert_string_equal(ev_str(e, CS_F_HTTP_REQUEST_METHOD), "GET");
    collect_free(&c);
}

static void test_real_tunnels_and_lists(void **state)
{
    collect c = {0};
    (void)state;
    NEED_DATA();
    check_against_ndpireader("6in4tunnel.pcap", 0, &c);   /* IPv6 in IPv4, inner flows */
    assert_int_equal(c.n, 10);
    collect_free(&c);
    check_against_ndpireader("ftp.pcap", 0, &c);
    assert_int_equal(c.n, 3);
    collect_free(&c);
    /* synscan needs protos.txt (custom port rules) to agree everywhere. */
    check_against_ndpireader("synscan.pcap", 1, &c);
    assert_int_equal(c.n, 1994);
    collect_free(&c);
}

static void test_real_bad_files(void **state)
{
    char path[512], cut[256], txt[256];
    collect c = {0};
    cs_packet_stats st;
    cs_rc rc;
    FILE *fp;
    struct stat sb;
    char *buf;
    (void)state;

    /* Not a capture / missing / empty / a directory: no data needed. */
    tmp_path(txt, sizeof txt, "notpcap.txt");
    fp = fopen(txt, "w");
    assert_non_null(fp);
    fputs("this is not a capture file\n", fp);
    fclose(fp);
    assert_int_equal(cs_packet_replay_file(txt, NULL, flow_sink, &c, &st), CS_ERR_PARSE);
    assert_non_null(strstr(cs_err_msg(), txt));
    assert_non_null(strstr(cs_err_msg(), "not a pcap or pcapng capture ("));
    assert_int_equal(c.n, 0);
    fp = fopen(txt, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(cs_packet_replay_file(txt, NULL, flow_sink, &c, &st), CS_ERR_PARSE);
    unlink(txt);
    assert_int_equal(cs_packet_replay_file("/nonexistent/dir/x.pcap", NULL, flow_sink, &c, &st), CS_ERR_IO);
    assert_non_null(strstr(cs_err_msg(), "/nonexistent/dir/x.pcap"));
    assert_int_equal(cs_packet_replay_file("/tmp", NULL, flow_sink, &c, &st), CS_ERR_IO);
    assert_int_equal(cs_packet_replay_file(NULL, NULL, flow_sink, &c, &st), CS_ERR_INVAL);

    NEED_DATA();
    /* An nDPI list file that cannot be loaded is a configuration error. */
    {
        cs_packet_opts o;
        memset(&o, 0, sizeof o);
        o.ndpi_protos_file = "/nonexistent/protos.txt";
        snprintf(path, sizeof path, "%s/ndpi/pcap/ftp.pcap", data_dir());
        assert_int_equal(cs_packet_replay_file(path, &o, flow_sink, &c, &st), CS_ERR_CONFIG);
        assert_non_null(strstr(cs_err_msg(), "/nonexistent/protos.txt"));
        assert_int_equal(c.n, 0);
    }
    /* The truncated fuzz capture: its one packet is read (a malformed TCP
     * header, counted as a decode error), the second record is cut. */
    snprintf(path, sizeof path, "%s/ndpi/pcap/fuzz-2021-10-13.pcap", data_dir());
    rc = cs_packet_replay_file(path, NULL, flow_sink, &c, &st);
    assert_int_equal(rc, CS_ERR_PARSE);
    assert_non_null(strstr(cs_err_msg(), path));
    assert_non_null(strstr(cs_err_msg(), "packet 2"));
    assert_int_equal(st.packets, 1);
    assert_int_equal(st.flows_emitted, c.n);
    collect_free(&c);

    /* A real capture cut in the middle of a record: every flow seen so far
     * reaches the sink, then the error names the file and the packet. */
    snprintf(path, sizeof path, "%s/ndpi/pcap/http_ipv6.pcap", data_dir());
    assert_int_equal(stat(path, &sb), 0);
    buf = malloc((size_t)sb.st_size);
    assert_non_null(buf);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(buf, 1, (size_t)sb.st_size, fp), (size_t)sb.st_size);
    fclose(fp);
    tmp_path(cut, sizeof cut, "cut.pcap");
    fp = fopen(cut, "wb");
    assert_non_null(fp);
    fwrite(buf, 1, (size_t)sb.st_size / 2, fp);
    fclose(fp);
    free(buf);
    rc = cs_packet_replay_file(cut, NULL, flow_sink, &c, &st);
    assert_int_equal(rc, CS_ERR_PARSE);
    assert_non_null(strstr(cs_err_msg(), cut));
    assert_non_null(strstr(cs_err_msg(), "packet "));
    assert_true(c.n > 0);
    assert_int_equal(c.n, st.flows_emitted);
    assert_int_equal(st.flows_created, st.flows_emitted);
    for (size_t i = 0; i < c.n; i++) {
        assert_true(ev_int(c.ev[i], CS_F_NETWORK_PACKETS) > 0);
    }
    collect_free(&c);
    unlink(cut);
}

/* Replays on several threads at once are independent (each has its own nDPI
 * module; module set-up is serialised inside). */
typedef struct thr_arg {
    const char *path;
    size_t flows;
    cs_rc rc;
} thr_arg;

static void *replay_thread(void *p)
{
    thr_arg *a = p;
    collect c = {0};
    for (int i = 0; i < 3 && a->rc == CS_OK; i++) {
        a->rc = cs_packet_replay_file(a->path, NULL, flow_sink, &c, NULL);
        a->flows += c.n;
        collect_free(&c);
    }
    return NULL;
}

static void test_concurrent_replays(void **state)
{
    char p1[512], p2[512];
    pthread_t th[4];
    thr_arg args[4];
    (void)state;
    NEED_DATA();
    snprintf(p1, sizeof p1, "%s/ndpi/pcap/http_ipv6.pcap", data_dir());
    snprintf(p2, sizeof p2, "%s/ndpi/pcap/1kxun.pcap", data_dir());
    for (int i = 0; i < 4; i++) {
        args[i].path = i % 2 ? p2 : p1;
        args[i].flows = 0;
        args[i].rc = CS_OK;
        assert_int_equal(pthread_create(&th[i], NULL, replay_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].rc, CS_OK);
        assert_int_equal(args[i].flows, 3 * (i % 2 ? 129 : 15));
    }
}

/* ---- every capture, no crash --------------------------------------------------- */

typedef struct corpus {
    size_t files, parse_errors, flows, apps;
    uint64_t packets;
} corpus;

/* Checking sink: invariants every flow event must hold. */
static cs_rc check_sink(cs_event *ev, void *ud)
{
    corpus *k = ud;
    int64_t s = ev_int(ev, CS_F_EVENT_START), e = ev_int(ev, CS_F_EVENT_END);
    int64_t sp = ev_int(ev, CS_F_SOURCE_PACKETS), dp = ev_int(ev, CS_F_DESTINATION_PACKETS);
    const char *cid = ev_str(ev, CS_F_NETWORK_COMMUNITY_ID);
    if (ev->kind == CS_KIND_DNS || ev->kind == CS_KIND_HTTP || ev->kind == CS_KIND_TLS || ev->kind == CS_KIND_SSH) {
        /* a protocol event: the flow's endpoints and ids, and its own fields */
        int ok = cid != NULL && strncmp(cid, "1:", 2) == 0 && cs_event_find(ev, CS_F_SOURCE_IP) != NULL &&
                 ev_str(ev, CS_F_CS_NDPI_PROTOCOL) != NULL && ev_int(ev, CS_F_CS_FLOW_ID) >= 1 &&
                 cs_event_find(ev, CS_F_NETWORK_BYTES) == NULL && cs_event_nfields(ev) > 9;
        cs_event_free(ev);
        k->apps++;
        return ok ? CS_OK : cs_err_set(CS_ERR_INTERNAL, "protocol event breaks an invariant");
    }
    if (ev->kind != CS_KIND_FLOW || s != ev->ts_us || e < s || sp < 0 || dp < 0 || sp + dp < 1 ||
        ev_int(ev, CS_F_NETWORK_PACKETS) != sp + dp || cid == NULL || strncmp(cid, "1:", 2) != 0 ||
        ev_str(ev, CS_F_CS_NDPI_PROTOCOL) == NULL || ev_str(ev, CS_F_CS_FLOW_END_REASON) == NULL ||
        ev_int(ev, CS_F_CS_FLOW_ID) < 1) {
        cs_event_free(ev);
        return cs_err_set(CS_ERR_INTERNAL, "flow event breaks an invariant");
    }
    k->flows++;
    cs_event_free(ev);
    return CS_OK;
}

static int wanted(const char *name)
{
    size_t n = strlen(name);
    return strstr(name, ".pcap") != NULL || (n > 4 && strcmp(name + n - 4, ".cap") == 0);
}

static void replay_tree(const char *dir, int depth, corpus *k)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = realloc(names, cap * sizeof *names);
            assert_non_null(names);
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        char p[1024];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode) && depth > 0) {
            replay_tree(p, depth - 1, k);
        } else if (S_ISREG(sb.st_mode) && wanted(names[i])) {
            cs_packet_stats st;
            cs_rc rc = cs_packet_replay_file(p, NULL, check_sink, k, &st);
            k->files++;
            k->packets += st.packets;
            if (rc == CS_ERR_PARSE) {
                k->parse_errors++;   /* truncated/corrupt captures are expected here */
            } else if (rc != CS_OK) {
                fail_msg("%s: %s", p, cs_err_msg());
            }
            assert_true(st.decode_errors + st.non_ip <= st.packets);
        }
        free(names[i]);
    }
    free(names);
}

static void test_replay_every_capture(void **state)
{
    char p[512];
    corpus k = {0};
    (void)state;
    NEED_DATA();
    snprintf(p, sizeof p, "%s/ndpi/pcap", data_dir());
    replay_tree(p, 0, &k);
    snprintf(p, sizeof p, "%s/suricata-verify", data_dir());
    replay_tree(p, 1, &k);
    snprintf(p, sizeof p, "%s/attack-pcaps", data_dir());
    replay_tree(p, 8, &k);
    print_message("replayed %zu captures, %llu packets, %zu flows, %zu dns/http/tls/ssh events, %zu truncated/corrupt\n",
                  k.files, (unsigned long long)k.packets, k.flows, k.apps, k.parse_errors);
    assert_true(k.files >= 179);
    assert_true(k.apps > 1000);   /* 2781 when written */
    assert_true(k.parse_errors <= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_vectors),
        cmocka_unit_test(test_community_id_vectors),
        cmocka_unit_test(test_decode_robustness),
        cmocka_unit_test(test_flow_table_random),
        cmocka_unit_test(test_synthetic_tcp_http_vlan),
        cmocka_unit_test(test_synthetic_udp_icmp_frag_v6),
        cmocka_unit_test(test_synthetic_timeouts_eviction_stop),
        cmocka_unit_test(test_real_ipv6_tls_quic),
        cmocka_unit_test(test_real_dns),
        cmocka_unit_test(test_real_http),
        cmocka_unit_test(test_real_tunnels_and_lists),
        cmocka_unit_test(test_real_bad_files),
        cmocka_unit_test(test_concurrent_replays),
        cmocka_unit_test(test_replay_every_capture),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    collect_free(&g_app);
    return failed;
}
