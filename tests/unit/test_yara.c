/* test_yara.c - YARA payload scanning in the packet sensor (yara_scan.h).
 *
 *   - the 78 shared rule files compile together, one namespace per file;
 *   - a rule file that does not compile is refused naming file:line, both by
 *     cs_yara_compile() and by cs_packet_replay_file();
 *   - a synthetic capture (libpcap pcap_open_dead + pcap_dump) with a tiny
 *     rule set: a string inside the first N bytes of a direction matches,
 *     one beyond N (or straddling N) does not; the direction, flow fields,
 *     time and event order are right; flows without payload allocate
 *     nothing; buffers are freed (the suite runs under ASan);
 *   - the payload buffer grows by doubling and stops at N.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sensors/packet/packet.h"
#include "sensors/packet/yara_scan.h"
#include "test_util.h"

#define T0 1600000000000000ll

static const char *data_dir(void)
{
    return test_env("CS_SHARED_DATA", "/work/shared/data");
}

static void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "/tmp/cs_test_yara_%ld_%s", (long)getpid(), name);
}

/* ---- events --------------------------------------------------------------- */

#include "collect.h"

/* Index of the YARA event for rule, or -1. */
static long find_rule(const collect *c, const char *rule)
{
    for (size_t i = 0; i < c->n; i++) {
        const char *r = ev_str(c->ev[i], CS_F_CS_YARA_RULE);
        if (c->ev[i]->kind == CS_KIND_YARA && r != NULL && strcmp(r, rule) == 0) {
            return (long)i;
        }
    }
    return -1;
}


/* ---- a synthetic capture ------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* Ethernet + IPv4 + TCP (or UDP when flags < 0) carrying payload. */
static void dump_pkt(pcap_dumper_t *d, int64_t ts, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, int flags,
                     uint32_t seq, const uint8_t *payload, size_t n)
{
    uint8_t b[2048];
    struct pcap_pkthdr h;
    size_t l4 = flags < 0 ? 8 : 20;
    size_t len = 14 + 20 + l4 + n;
    uint8_t *ip = b + 14, *t = ip + 20;

    assert_true(len <= sizeof b);
    memset(b, 0, 14 + 20 + l4);
    b[12] = 0x08;   /* IPv4 */
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + l4 + n));
    ip[8] = 64;
    ip[9] = flags < 0 ? 17 : 6;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(t, sp);
    put16(t + 2, dp);
    if (flags < 0) {
        put16(t + 4, (uint16_t)(8 + n));
    } else {
        put32(t + 4, seq);
        t[12] = 0x50;
        t[13] = (uint8_t)flags;
        put16(t + 14, 65535);
    }
    if (n > 0) {
        memcpy(t + l4, payload, n);
    }
    h.ts.tv_sec = (time_t)(ts / 1000000);
    h.ts.tv_usec = (suseconds_t)(ts % 1000000);
    h.caplen = h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)d, &h, b);
}

/* Filler that no rule matches, with `mark` written at offset `at`. */
static void fill(uint8_t *buf, size_t n, const char *mark, size_t at)
{
    for (size_t i = 0; i < n; i++) {
        buf[i] = (uint8_t)('a' + i % 23);
    }
    if (mark != NULL) {
        memcpy(buf + at, mark, strlen(mark));
    }
}

#define CLI 0x0a000001u   /* 10.0.0.1 */
#define SRV 0x0a000002u   /* 10.0.0.2 */
#define OTHER 0x0a000003u

/* Flow 1 (TCP 10.0.0.1:40000 -> 10.0.0.2:80):
 *   client payload: 1000 bytes with MARK_IN at 100, then 1000 bytes with
 *   MARK_OUT at 300 (stream offset 1300) and MARK_EDGE at 20 (offset 1020,
 *   straddling N = 1024); server payload: 200 bytes with SRV_MARK at 50;
 *   then FIN both ways.
 * Flow 2: a bare SYN/SYN-ACK (no payload: no buffer).
 * Flow 3: UDP 10.0.0.3:5000 -> 10.0.0.2:53, one datagram with UDP_MARK. */
static void write_capture(const char *path)
{
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d;
    uint8_t pl[1000];

    assert_non_null(p);
    d = pcap_dump_open(p, path);
    assert_non_null(d);
    dump_pkt(d, T0, CLI, SRV, 40000, 80, 0x02, 1, NULL, 0);
    dump_pkt(d, T0 + 1000, SRV, CLI, 80, 40000, 0x12, 1, NULL, 0);
    dump_pkt(d, T0 + 2000, CLI, SRV, 40000, 80, 0x10, 2, NULL, 0);
    fill(pl, sizeof pl, "MARK_IN", 100);
    dump_pkt(d, T0 + 3000, CLI, SRV, 40000, 80, 0x18, 2, pl, sizeof pl);
    fill(pl, 200, "SRV_MARK", 50);
    dump_pkt(d, T0 + 4000, SRV, CLI, 80, 40000, 0x18, 2, pl, 200);
    fill(pl, sizeof pl, "MARK_OUT", 300);
    memcpy(pl + 20, "MARK_EDGE", 9);
    dump_pkt(d, T0 + 5000, CLI, SRV, 40000, 80, 0x18, 1002, pl, sizeof pl);
    dump_pkt(d, T0 + 6000, OTHER, SRV, 41000, 443, 0x02, 1, NULL, 0);
    dump_pkt(d, T0 + 7000, SRV, OTHER, 443, 41000, 0x12, 1, NULL, 0);
    fill(pl, 64, "UDP_MARK", 10);
    dump_pkt(d, T0 + 8000, OTHER, SRV, 5000, 53, -1, 0, pl, 64);
    dump_pkt(d, T0 + 9000, CLI, SRV, 40000, 80, 0x11, 2002, NULL, 0);
    dump_pkt(d, T0 + 10000, SRV, CLI, 80, 40000, 0x11, 202, NULL, 0);
    pcap_dump_close(d);
    pcap_close(p);
}

static const char tiny_rules[] =
    "rule in_first_n : tagA tagB { strings: $a = \"MARK_IN\" condition: $a }\n"
    "rule beyond_n { strings: $a = \"MARK_OUT\" condition: $a }\n"
    "rule at_edge { strings: $a = \"MARK_EDGE\" condition: $a }\n"
    "rule server_side { strings: $a = \"SRV_MARK\" condition: $a }\n"
    "rule udp_side { strings: $a = \"UDP_MARK\" condition: $a }\n";

static void check_flow_fields(const cs_event *y, const cs_event *flow)
{
    const char *a = ev_str(y, CS_F_NETWORK_COMMUNITY_ID), *b = ev_str(flow, CS_F_NETWORK_COMMUNITY_ID);
    assert_int_equal(ev_int(y, CS_F_CS_FLOW_ID), ev_int(flow, CS_F_CS_FLOW_ID));
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    assert_string_equal(ev_str(y, CS_F_NETWORK_TRANSPORT), ev_str(flow, CS_F_NETWORK_TRANSPORT));
    assert_int_equal(ev_int(y, CS_F_SOURCE_PORT), ev_int(flow, CS_F_SOURCE_PORT));
    assert_int_equal(ev_int(y, CS_F_DESTINATION_PORT), ev_int(flow, CS_F_DESTINATION_PORT));
    assert_string_equal(ev_str(y, CS_F_EVENT_MODULE), "yara");
}

static long find_flow(const collect *c, int port)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->ev[i]->kind == CS_KIND_FLOW && ev_int(c->ev[i], CS_F_DESTINATION_PORT) == port) {
            return (long)i;
        }
    }
    return -1;
}

static void test_synthetic_first_n(void **state)
{
    char cap[256], rules[256];
    const char *paths[1];
    cs_packet_opts o;
    cs_packet_stats st;
    collect c = {0};
    long i_in, i_srv, i_udp, f1, f3;
    (void)state;

    tmp_path(cap, sizeof cap, "syn.pcap");
    tmp_path(rules, sizeof rules, "tiny.yar");
    write_capture(cap);
    test_write_file(rules, tiny_rules);
    paths[0] = rules;
    memset(&o, 0, sizeof o);
    o.yara_rules = paths;
    o.nyara_rules = 1;
    o.yara_max_bytes = 1024;
    assert_int_equal(cs_packet_replay_file(cap, &o, collect_sink, &c, &st), CS_OK);

    assert_int_equal(st.flows_emitted, 3);
    assert_int_equal(st.yara_buffers, 3);   /* client + server of flow 1, client of flow 3; none for flow 2 */
    assert_int_equal(st.yara_scans, 3);
    assert_int_equal(st.yara_matches, 3);
    assert_int_equal(st.yara_timeouts, 0);
    assert_int_equal(st.yara_bytes, 1024 + 200 + 64);
    assert_true(st.yara_peak_bytes >= 1024 && st.yara_peak_bytes <= 1024 + 512 + 512);

    i_in = find_rule(&c, "in_first_n");
    i_srv = find_rule(&c, "server_side");
    i_udp = find_rule(&c, "udp_side");
    f1 = find_flow(&c, 80);
    f3 = find_flow(&c, 53);
    assert_true(i_in >= 0 && i_srv >= 0 && i_udp >= 0 && f1 >= 0 && f3 >= 0);
    assert_int_equal(find_rule(&c, "beyond_n"), -1);
    assert_int_equal(find_rule(&c, "at_edge"), -1);

    /* client side: namespace = file name, tags, completed by the packet at T0+5000 */
    {
        const cs_event *y = c.ev[i_in];
        const char *ns = ev_str(y, CS_F_CS_YARA_NAMESPACE);
        char want_ns[300];
        snprintf(want_ns, sizeof want_ns, "cs_test_yara_%ld_tiny", (long)getpid());
        assert_non_null(ns);
        assert_string_equal(ns, want_ns);
        assert_string_equal(ev_str(y, CS_F_CS_YARA_DIRECTION), "client");
        assert_int_equal(count_field(y, CS_F_CS_YARA_TAGS), 2);
        assert_string_equal(ev_str(y, CS_F_CS_YARA_TAGS), "tagA");
        assert_true(ev_ip_is(y, CS_F_SOURCE_IP, "10.0.0.1"));
        assert_true(ev_ip_is(y, CS_F_DESTINATION_IP, "10.0.0.2"));
        assert_int_equal(y->ts_us, T0 + 5000);
        check_flow_fields(y, c.ev[f1]);
    }
    /* server side: scanned at flow end (its last packet), before the flow event */
    {
        const cs_event *y = c.ev[i_srv];
        assert_string_equal(ev_str(y, CS_F_CS_YARA_DIRECTION), "server");
        assert_true(ev_ip_is(y, CS_F_SOURCE_IP, "10.0.0.1"));   /* the initiator stays the source */
        assert_int_equal(y->ts_us, T0 + 10000);
        assert_int_equal(count_field(y, CS_F_CS_YARA_TAGS), 0);
        assert_true(i_srv < f1);
        check_flow_fields(y, c.ev[f1]);
    }
    {
        const cs_event *y = c.ev[i_udp];
        assert_string_equal(ev_str(y, CS_F_CS_YARA_DIRECTION), "client");
        assert_string_equal(ev_str(y, CS_F_NETWORK_TRANSPORT), "udp");
        assert_true(i_udp < f3);
        check_flow_fields(y, c.ev[f3]);
    }
    collect_free(&c);

    /* Raise N: the bytes beyond 1024 are now scanned too, once per direction. */
    o.yara_max_bytes = 4096;
    assert_int_equal(cs_packet_replay_file(cap, &o, collect_sink, &c, &st), CS_OK);
    assert_true(find_rule(&c, "beyond_n") >= 0);
    assert_true(find_rule(&c, "at_edge") >= 0);
    assert_int_equal(st.yara_scans, 3);
    assert_int_equal(st.yara_bytes, 2000 + 200 + 64);
    collect_free(&c);

    /* No rules: no YARA work at all. */
    memset(&o, 0, sizeof o);
    assert_int_equal(cs_packet_replay_file(cap, &o, collect_sink, &c, &st), CS_OK);
    assert_int_equal(st.yara_buffers, 0);
    assert_int_equal(st.yara_scans, 0);
    assert_int_equal(find_rule(&c, "in_first_n"), -1);
    collect_free(&c);
    unlink(cap);
    unlink(rules);
}

/* A precompiled set is shared by several replays and scanners. */
static void test_precompiled_shared(void **state)
{
    char cap[256], rules[256];
    const char *paths[1];
    cs_yara_rules *yr = NULL;
    cs_packet_opts o;
    cs_packet_stats st;
    (void)state;

    tmp_path(cap, sizeof cap, "pre.pcap");
    tmp_path(rules, sizeof rules, "pre.yara");
    write_capture(cap);
    test_write_file(rules, tiny_rules);
    paths[0] = rules;
    assert_int_equal(cs_yara_compile(paths, 1, &yr), CS_OK);
    assert_int_equal(cs_yara_rules_count(yr), 5);
    assert_int_equal(cs_yara_rules_files(yr), 1);
    memset(&o, 0, sizeof o);
    o.yara_compiled = yr;
    o.yara_max_bytes = 1024;
    for (int round = 0; round < 3; round++) {
        collect c = {0};
        assert_int_equal(cs_packet_replay_file(cap, &o, collect_sink, &c, &st), CS_OK);
        assert_int_equal(st.yara_matches, 3);
        collect_free(&c);
    }
    cs_yara_rules_free(yr);
    unlink(cap);
    unlink(rules);
}

static void test_bad_rule_file(void **state)
{
    char dir[256], good[300], bad[300], cap[256];
    const char *paths[1];
    cs_yara_rules *yr = NULL;
    cs_packet_opts o;
    collect c = {0};
    (void)state;

    tmp_path(dir, sizeof dir, "rules");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(good, sizeof good, "%s/a_good.yar", dir);
    snprintf(bad, sizeof bad, "%s/b_bad.yar", dir);
    test_write_file(good, "rule fine { condition: true }\n");
    test_write_file(bad, "rule also_fine { condition: true }\n\nrule broken { condition: no_such_thing }\n");
    paths[0] = dir;
    assert_int_equal(cs_yara_compile(paths, 1, &yr), CS_ERR_CONFIG);
    assert_null(yr);
    assert_contains(cs_err_msg(), bad);
    assert_contains(cs_err_msg(), "b_bad.yar:3:");

    /* Through the replay: CS_ERR_CONFIG, nothing emitted. */
    tmp_path(cap, sizeof cap, "bad.pcap");
    write_capture(cap);
    memset(&o, 0, sizeof o);
    o.yara_rules = paths;
    o.nyara_rules = 1;
    assert_int_equal(cs_packet_replay_file(cap, &o, collect_sink, &c, NULL), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "b_bad.yar:3:");
    assert_int_equal(c.n, 0);

    /* A directory without rule files, and a missing path. */
    unlink(bad);
    unlink(good);
    assert_int_equal(cs_yara_compile(paths, 1, &yr), CS_ERR_CONFIG);
    rmdir(dir);
    assert_int_equal(cs_yara_compile(paths, 1, &yr), CS_ERR_IO);
    unlink(cap);
}

static void test_shared_rule_sets(void **state)
{
    char dir[512];
    struct stat sb;
    const char *paths[1];
    cs_yara_rules *yr = NULL;
    (void)state;

    snprintf(dir, sizeof dir, "%s/yara", data_dir());
    if (stat(dir, &sb) != 0) {
        print_message("skipped: %s is absent (set CS_SHARED_DATA)\n", dir);
        skip();
    }
    paths[0] = dir;
    if (cs_yara_compile(paths, 1, &yr) != CS_OK) {
        fail_msg("%s", cs_err_msg());
    }
    assert_int_equal(cs_yara_rules_files(yr), 78);
    assert_true(cs_yara_rules_count(yr) > 78);
    print_message("%zu rules from %zu files\n", cs_yara_rules_count(yr), cs_yara_rules_files(yr));
    cs_yara_rules_free(yr);
}

static void test_buffer_growth(void **state)
{
    cs_yara_buf *b = NULL;
    uint8_t data[3000];
    size_t grown, total = 0;
    (void)state;
    memset(data, 'x', sizeof data);
    assert_int_equal(cs_yara_buf_append(&b, data, 10, 2000, &grown), 0);
    assert_non_null(b);
    assert_int_equal(b->len, 10);
    assert_int_equal(b->cap, 512);
    total += grown;
    assert_int_equal(cs_yara_buf_append(&b, data, 600, 2000, &grown), 0);
    total += grown;
    assert_int_equal(b->cap, 1024);
    assert_int_equal(cs_yara_buf_append(&b, data, 3000, 2000, &grown), 1);
    total += grown;
    assert_int_equal(b->len, 2000);
    assert_int_equal(b->cap, 2000);
    assert_int_equal(total, 2000);
    assert_int_equal(cs_yara_buf_append(&b, data, 5, 2000, &grown), 1);
    assert_int_equal(grown, 0);
    cs_yara_buf_free(&b);
    assert_null(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffer_growth),
        cmocka_unit_test(test_synthetic_first_n),
        cmocka_unit_test(test_precompiled_shared),
        cmocka_unit_test(test_bad_rule_file),
        cmocka_unit_test(test_shared_rule_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
