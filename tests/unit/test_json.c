/* Unit tests: ECS JSON writer and reader, round trips and hostile input. */
#include "test_util.h"

#include "runtime/json.h"

#include <pthread.h>
#include <stdatomic.h>

#include "runtime/timeutil.h"

static char *write_one(const cs_event *ev)
{
    cs_buf b;
    cs_buf_init(&b);
    assert_int_equal(cs_json_write_event(&b, ev), CS_OK);
    return b.data;
}

static cs_event *sample(void)
{
    cs_event *ev = cs_event_new(CS_KIND_FLOW, 1773302400123456LL);
    cs_ip a, b;
    cs_ip_parse("10.20.1.11", 10, &a);
    cs_ip_parse("2001:db8::53", 12, &b);
    cs_event_add_ip(&ev, CS_F_SOURCE_IP, &a);
    cs_event_add_int(&ev, CS_F_SOURCE_PORT, 51514);
    cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &b);
    cs_event_add_int(&ev, CS_F_DESTINATION_PORT, 53);
    cs_event_add_cstr(&ev, CS_F_NETWORK_TRANSPORT, "udp");
    cs_event_add_cstr(&ev, CS_F_NETWORK_COMMUNITY_ID, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    cs_event_add_cstr(&ev, CS_F_CS_NDPI_PROTOCOL, "DNS");
    cs_event_add_cstr(&ev, CS_F_CS_NDPI_RISKS, "Known Protocol on Non Standard Port");
    cs_event_add_cstr(&ev, CS_F_CS_NDPI_RISKS, "Suspicious DNS Traffic");
    cs_event_add_float(&ev, CS_F_CS_RISK, 4.0);
    cs_event_add_float(&ev, CS_F_EVENT_RISK_SCORE, 12.5);
    cs_event_add_bool(&ev, cs_field_intern("citysoc.test.flag", 17), false);
    cs_event_add_time(&ev, CS_F_EVENT_END, 1773302401000000LL);
    cs_event_add_cstr(&ev, CS_F_MESSAGE, "quote \" backslash \\ tab \t nl \n ctl \x01 viet Hà Nội");
    /* a leaf and an object that share a key */
    cs_event_add_cstr(&ev, cs_field_intern("zeek.id", 7), "leaf");
    cs_event_add_cstr(&ev, cs_field_intern("zeek.id.orig_h", 14), "10.0.0.1");
    return ev;
}

static void test_write_shape(void **state)
{
    cs_event *ev = sample();
    char *j = write_one(ev);
    (void)state;
    assert_contains(j, "{\"@timestamp\":\"2026-03-12T08:00:00.123456Z\"");
    assert_contains(j, "\"source\":{\"ip\":\"10.20.1.11\",\"port\":51514}");
    assert_contains(j, "\"destination\":{\"ip\":\"2001:db8::53\",\"port\":53}");
    assert_contains(j, "\"risks\":[\"Known Protocol on Non Standard Port\",\"Suspicious DNS Traffic\"]");
    assert_contains(j, "\"risk\":4.0");
    assert_contains(j, "\"kind\":\"event\"");
    assert_contains(j, "\"dataset\":\"citysoc.flow\"");
    assert_contains(j, "\\\" backslash \\\\ tab \\t nl \\n ctl \\u0001 viet Hà Nội");
    assert_contains(j, "\"zeek\":{\"id\":\"leaf\",\"id.orig_h\":\"10.0.0.1\"}");
    free(j);
    cs_event_free(ev);
}

static void test_round_trip(void **state)
{
    cs_event *ev = sample();
    cs_event *back = NULL;
    char *j1 = write_one(ev);
    char *j2;
    cs_ip ip;
    int64_t v;
    (void)state;
    assert_int_equal(cs_json_read_event(j1, strlen(j1), "test", 1, &back), CS_OK);
    assert_int_equal(back->kind, CS_KIND_FLOW);
    assert_int_equal(back->ts_us, ev->ts_us);
    assert_true(cs_event_get_ip(back, CS_F_DESTINATION_IP, &ip));   /* typed back to an IP */
    assert_true(cs_event_get_int(back, CS_F_EVENT_END, &v));        /* and a time */
    assert_int_equal(v, 1773302401000000LL);
    assert_null(cs_event_find(back, CS_F_EVENT_DATASET));           /* derived, not stored */
    j2 = write_one(back);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    cs_event_free(ev);
    cs_event_free(back);
}

static void test_alert_kind_round_trip(void **state)
{
    cs_event *ev = cs_event_new(CS_KIND_ALERT, 0);
    cs_event *back = NULL;
    char *j;
    (void)state;
    cs_event_add_cstr(&ev, CS_F_RULE_ID, "r1");
    j = write_one(ev);
    assert_contains(j, "\"kind\":\"alert\"");
    assert_int_equal(cs_json_read_event(j, strlen(j), "t", 1, &back), CS_OK);
    assert_int_equal(back->kind, CS_KIND_ALERT);
    free(j);
    cs_event_free(ev);
    cs_event_free(back);
}

static void test_foreign_json(void **state)
{
    const char *in = "{\"ts\":1.5,\"id.orig_h\":\"10.0.0.1\",\"uid\":\"C1\",\"answers\":[\"a\",\"b\"],"
                     "\"nested\":{\"deep\":{\"x\":null,\"y\":true}},\"event\":{\"kind\":\"alert\"}}";
    cs_event *ev = NULL;
    const char *s;
    size_t n;
    (void)state;
    assert_int_equal(cs_json_read_event(in, strlen(in), "zeek.log", 7, &ev), CS_OK);
    assert_int_equal(ev->kind, CS_KIND_JSON);
    assert_true(cs_event_get_str(ev, cs_field_lookup("id.orig_h", 9), &s, &n));
    assert_string_equal(s, "10.0.0.1");
    assert_non_null(cs_event_find(ev, cs_field_lookup("nested.deep.y", 13)));
    assert_null(cs_event_find(ev, cs_field_intern("nested.deep.x", 13)));   /* null = absent */
    assert_true(cs_event_get_str(ev, CS_F_EVENT_KIND, &s, &n));             /* foreign: kept */
    assert_string_equal(s, "alert");
    cs_event_free(ev);
}

static void test_bad_json(void **state)
{
    cs_event *ev = NULL;
    char deep[400];
    (void)state;
    assert_int_equal(cs_json_read_event("{\"a\":", 5, "in.json", 3, &ev), CS_ERR_PARSE);
    assert_contains(cs_err_msg(), "in.json:3");
    assert_null(ev);
    assert_int_equal(cs_json_read_event("[1,2]", 5, "in.json", 4, &ev), CS_ERR_PARSE);
    assert_contains(cs_err_msg(), "expected a JSON object");
    assert_int_equal(cs_json_read_event("{\"@timestamp\":\"noon\"}", 21, "in.json", 5, &ev), CS_ERR_PARSE);
    assert_contains(cs_err_msg(), "@timestamp");
    /* nesting deeper than the limit */
    memset(deep, 0, sizeof deep);
    for (int i = 0; i < 40; i++) {
        strcat(deep, "{\"a\":");
    }
    strcat(deep, "1");
    for (int i = 0; i < 40; i++) {
        strcat(deep, "}");
    }
    assert_int_equal(cs_json_read_event(deep, strlen(deep), "in.json", 6, &ev), CS_ERR_LIMIT);
}

static void test_invalid_utf8_is_replaced(void **state)
{
    cs_event *ev = cs_event_new(CS_KIND_LOG, 0);
    cs_event *back = NULL;
    char *j;
    (void)state;
    cs_event_add_str(&ev, CS_F_MESSAGE, "a\xff\xc3(b", 5);
    j = write_one(ev);
    assert_contains(j, "a\xEF\xBF\xBD\xEF\xBF\xBD(b");
    assert_int_equal(cs_json_read_event(j, strlen(j), "t", 1, &back), CS_OK);   /* valid JSON */
    free(j);
    cs_event_free(ev);
    cs_event_free(back);
}

/* ---- the fast writer: exact bytes, first write and repeats ----
 * The expected texts were produced by the writer before its speed-up; the
 * writer caches each thread's JSON skeleton per field sequence, so every
 * event is written several times (the first records, the rest replay), and
 * once more after text already in the buffer. */

static cs_event *seq_event(int variant)
{
    cs_fid ab = cs_field_intern("t.a.b", 5);
    cs_fid abc = cs_field_intern("t.a.b.c", 7);
    cs_fid abx = cs_field_intern("t.a.b-x", 7);
    cs_fid ta = cs_field_intern("t.a", 3);
    cs_fid q = cs_field_intern("t.q\"k.z", 7);
    cs_fid ee = cs_field_intern("t..e", 4);
    cs_ip a, d;
    cs_event *ev;
    cs_ip_parse("192.168.0.1", 11, &a);
    cs_ip_parse("2001:db8::1", 11, &d);
    if (variant == 0) {
        ev = cs_event_new(CS_KIND_DNS, 1773302400123456LL);
        cs_event_add_cstr(&ev, ab, "leaf");
        cs_event_add_int(&ev, abc, 1);
        cs_event_add_cstr(&ev, CS_F_TAGS, "one");
        cs_event_add_cstr(&ev, abx, "x");
        cs_event_add_int(&ev, ta, 2);
        cs_event_add_bool(&ev, q, true);
        cs_event_add_cstr(&ev, CS_F_TAGS, "two");
        cs_event_add_float(&ev, CS_F_CS_RISK, 0.1);
        cs_event_add_ip(&ev, CS_F_SOURCE_IP, &a);
        cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &d);
        cs_event_add_time(&ev, CS_F_EVENT_END, 1773302401000001LL);
        cs_event_add_str(&ev, CS_F_MESSAGE, "tab\t\"q\" \x01 \xc3\xa9 \xff", 14);
        cs_event_add_int(&ev, ee, INT64_MIN);
        return ev;
    }
    /* the same field sequence: other values, types and kind */
    ev = cs_event_new(CS_KIND_ALERT, -1);
    cs_event_add_int(&ev, ab, 7);
    cs_event_add_cstr(&ev, abc, "");
    cs_event_add_cstr(&ev, CS_F_TAGS, "\\");
    cs_event_add_float(&ev, abx, 3.0);
    cs_event_add_cstr(&ev, ta, "a\nb");
    cs_event_add_bool(&ev, q, false);
    cs_event_add_int(&ev, CS_F_TAGS, 3);
    cs_event_add_float(&ev, CS_F_CS_RISK, -0.0);
    cs_event_add_ip(&ev, CS_F_SOURCE_IP, &d);
    cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &a);
    cs_event_add_time(&ev, CS_F_EVENT_END, 0);
    cs_event_add_cstr(&ev, CS_F_MESSAGE, "0123456789abcdef\"0123456789abcdef");
    cs_event_add_int(&ev, ee, 0);
    return ev;
}

static const char *const seq_expected[2] = {
    "{\"@timestamp\":\"2026-03-12T08:00:00.123456Z\",\"citysoc\":{\"risk\":0.1},\"destination\":{\"ip\":"
    "\"2001:db8::1\"},\"event\":{\"dataset\":\"citysoc.dns\",\"end\":\"2026-03-12T08:00:01.000001Z\","
    "\"kind\":\"event\"},\"message\":\"tab\\t\\\"q\\\" \\u0001 \xc3\xa9 \xef\xbf\xbd\",\"source\":{\"ip\":"
    "\"192.168.0.1\"},\"t\":{\"\":{\"e\":-9223372036854775808},\"a\":2,\"a.b\":\"leaf\",\"a.b.c\":1,"
    "\"a.b-x\":\"x\",\"q\\\"k\":{\"z\":true}},\"tags\":[\"one\",\"two\"]}",
    "{\"@timestamp\":\"1969-12-31T23:59:59.999999Z\",\"citysoc\":{\"risk\":-0.0},\"destination\":{\"ip\":"
    "\"192.168.0.1\"},\"event\":{\"dataset\":\"citysoc.alert\",\"end\":\"1970-01-01T00:00:00.000000Z\","
    "\"kind\":\"alert\"},\"message\":\"0123456789abcdef\\\"0123456789abcdef\",\"source\":{\"ip\":"
    "\"2001:db8::1\"},\"t\":{\"\":{\"e\":0},\"a\":\"a\\nb\",\"a.b\":7,\"a.b.c\":\"\",\"a.b-x\":3.0,"
    "\"q\\\"k\":{\"z\":false}},\"tags\":[\"\\\\\",3]}",
};

static void test_write_exact_repeated(void **state)
{
    cs_event *ev[2] = {seq_event(0), seq_event(1)};
    cs_buf b;
    (void)state;
    cs_buf_init(&b);
    for (int round = 0; round < 4; round++) {
        for (int v = 0; v < 2; v++) {
            cs_buf_reset(&b);
            assert_int_equal(cs_json_write_event(&b, ev[v]), CS_OK);
            assert_string_equal(b.data, seq_expected[v]);
            assert_int_equal(b.len, strlen(seq_expected[v]));
            /* after other text: appended, nothing before it touched */
            cs_buf_reset(&b);
            cs_buf_append_cstr(&b, "prefix ");
            assert_int_equal(cs_json_write_event(&b, ev[v]), CS_OK);
            assert_int_equal(strncmp(b.data, "prefix ", 7), 0);
            assert_string_equal(b.data + 7, seq_expected[v]);
        }
    }
    cs_buf_free(&b);
    cs_event_free(ev[0]);
    cs_event_free(ev[1]);
}

/* One special token at every position of strings of every length up to 40
 * (the escape scan goes 8 and 16 bytes at a time), in cs_buf_json_str and
 * as an event's string, that last one with an arena that fits exactly. */
static void test_escape_at_every_position(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } tok[] = {
        {"\"", "\\\""},        {"\\", "\\\\"},         {"\n", "\\n"},        {"\r", "\\r"},
        {"\t", "\\t"},         {"\x01", "\\u0001"},    {"\x1f", "\\u001f"},  {"\x7f", "\x7f"},
        {"\xff", "\xef\xbf\xbd"}, {"\xc3\xa9", "\xc3\xa9"}, {"\xc3", "\xef\xbf\xbd"},
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"}, {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\x20", " "},
    };
    char in[64];
    char want[128];
    cs_buf b;
    (void)state;
    cs_buf_init(&b);
    for (size_t t = 0; t < sizeof tok / sizeof tok[0]; t++) {
        size_t tl = strlen(tok[t].in);
        for (size_t n = tl; n <= 40; n++) {
            for (size_t at = 0; at + tl <= n; at++) {
                cs_event *ev = cs_event_new_sized(CS_KIND_LOG, 0, 1, n + 1);
                size_t w = 0;
                memset(in, 'a', n);
                memcpy(in + at, tok[t].in, tl);
                want[w++] = '"';
                memset(want + w, 'a', at);
                w += at;
                memcpy(want + w, tok[t].out, strlen(tok[t].out));
                w += strlen(tok[t].out);
                memset(want + w, 'a', n - at - tl);
                w += n - at - tl;
                want[w++] = '"';
                want[w] = '\0';
                cs_buf_reset(&b);
                cs_buf_json_str(&b, in, n);
                assert_string_equal(b.data, want);
                assert_non_null(ev);
                assert_int_equal(cs_event_add_str(&ev, CS_F_MESSAGE, in, n), CS_OK);
#if defined(__SANITIZE_ADDRESS__)
                /* exact fit, so ASan sees any overread (the event pool is off there) */
                assert_int_equal(ev->arena_used, ev->arena_cap);
#endif
                cs_buf_reset(&b);
                assert_int_equal(cs_json_write_event(&b, ev), CS_OK);
                assert_contains(b.data, want);
                cs_event_free(ev);
            }
        }
    }
    cs_buf_free(&b);
}

/* Times written one after another within a day, across midnight and before
 * 1970 give cs_time_format()'s text (the writer caches the date part). */
static void test_times_in_sequence(void **state)
{
    static const int64_t starts[] = {1773302400000000LL - 3, 86399999990LL, -86400000000LL - 5, -7, 0,
                                     951868800000000LL - 2, 253402300799999990LL};
    static const int64_t steps[] = {1, 999999, 1000000, 59999999, 3600000000LL};
    cs_buf b;
    (void)state;
    cs_buf_init(&b);
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
            int64_t t = starts[s];
            for (int i = 0; i < 12; i++, t += steps[k]) {
                char ts[40];
                char te[40];
                char want[256];
                cs_event *ev = cs_event_new(CS_KIND_LOG, t);
                cs_event_add_time(&ev, CS_F_EVENT_END, t + 1);
                cs_time_format(t, ts, sizeof ts);
                cs_time_format(t + 1, te, sizeof te);
                snprintf(want, sizeof want,
                         "{\"@timestamp\":\"%s\",\"event\":{\"dataset\":\"citysoc.log\",\"end\":\"%s\","
                         "\"kind\":\"event\"}}",
                         ts, te);
                cs_buf_reset(&b);
                assert_int_equal(cs_json_write_event(&b, ev), CS_OK);
                assert_string_equal(b.data, want);
                cs_event_free(ev);
            }
        }
    }
    cs_buf_free(&b);
}

/* Events around the writer's size limits (skeleton cache, stack arrays):
 * repeats give the same bytes and read back to the same event. */
static void test_many_fields_repeated(void **state)
{
    static const size_t counts[] = {46, 47, 48, 49, 61, 62, 63, 64, 65, 66, 200};
    cs_buf b;
    (void)state;
    cs_buf_init(&b);
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        cs_event *ev = cs_event_new(CS_KIND_FLOW, 1773302400000000LL);
        cs_event *back = NULL;
        char *first;
        for (size_t i = 0; i < counts[c]; i++) {
            char name[32];
            int n = snprintf(name, sizeof name, "many.f%zu.v", i % 37);
            cs_event_add_int(&ev, cs_field_intern(name, (size_t)n), (int64_t)i);
        }
        assert_int_equal(cs_json_write_event(&b, ev), CS_OK);
        first = strdup(b.data);
        for (int round = 0; round < 3; round++) {
            cs_buf_reset(&b);
            assert_int_equal(cs_json_write_event(&b, ev), CS_OK);
            assert_string_equal(b.data, first);
        }
        assert_int_equal(cs_json_read_event(first, strlen(first), "t", 1, &back), CS_OK);
        cs_buf_reset(&b);
        assert_int_equal(cs_json_write_event(&b, back), CS_OK);
        assert_string_equal(b.data, first);
        free(first);
        cs_buf_reset(&b);
        cs_event_free(ev);
        cs_event_free(back);
    }
    cs_buf_free(&b);
}

/* The registry's precomputed split of a name into segments. */
static void test_field_shapes(void **state)
{
    char deep[200];
    size_t n = 0;
    const cs_field_shape *sh;
    (void)state;
    sh = cs_field_shape_of(cs_field_intern("a..b", 4));
    assert_string_equal(sh->name, "a..b");
    assert_int_equal(sh->nseg, 3);
    assert_int_equal(sh->slen[0], 1);
    assert_int_equal(sh->slen[1], 0);
    assert_int_equal(sh->off[2], 3);
    assert_int_equal(sh->slen[2], 1);
    assert_true(sh->plain);
    sh = cs_field_shape_of(CS_F_SOURCE_IP);
    assert_string_equal(sh->name, "source.ip");
    assert_int_equal(sh->nseg, 2);
    assert_int_equal(sh->len, 9);
    assert_false(cs_field_shape_of(cs_field_intern("q\"x", 3))->plain);
    assert_false(cs_field_shape_of(cs_field_intern("\xc3\xa9t\xc3\xa9", 5))->plain);
    sh = cs_field_shape_of(CS_F_NONE);
    assert_string_equal(sh->name, "");
    assert_int_equal(sh->nseg, 1);
    /* 40 segments: the last of CS_FIELD_SEG_MAX runs to the end */
    for (int k = 0; k < 40; k++) {
        n += (size_t)snprintf(deep + n, sizeof deep - n, k ? ".s%d" : "s%d", k);
    }
    sh = cs_field_shape_of(cs_field_intern(deep, n));
    assert_int_equal(sh->nseg, CS_FIELD_SEG_MAX);
    assert_int_equal(sh->off[CS_FIELD_SEG_MAX - 1] + sh->slen[CS_FIELD_SEG_MAX - 1], n);
    assert_int_equal(strncmp(sh->name + sh->off[CS_FIELD_SEG_MAX - 1], "s31.s32.", 8), 0);
}

/* Writers on several threads while another interns names they then use
 * (new shapes, re-ranking): each output equals a later single-threaded one. */
#define MT_WRITERS 3
#define MT_EVENTS 1500
#define MT_NAMES 600

static cs_fid g_mt_ids[MT_NAMES];
static atomic_size_t g_mt_count;

static void *mt_intern(void *arg)
{
    (void)arg;
    for (size_t k = 0; k < MT_NAMES; k++) {
        char name[64];
        int n = snprintf(name, sizeof name, k % 3 == 2 ? "mt.g%zu.n%zu.x" : k % 3 ? "mt.g%zu.n%zu" : "mt.g%zu",
                         k % 20, k - k % 3 + 1);
        g_mt_ids[k] = cs_field_intern(name, (size_t)n);
        atomic_store_explicit(&g_mt_count, k + 1, memory_order_release);
    }
    return NULL;
}

typedef struct mt_writer {
    cs_event *ev[MT_EVENTS];
    char *out[MT_EVENTS];
    unsigned seed;
} mt_writer;

static void *mt_write(void *arg)
{
    mt_writer *w = arg;
    cs_buf b;
    cs_buf_init(&b);
    for (size_t i = 0; i < MT_EVENTS; i++) {
        size_t have = atomic_load_explicit(&g_mt_count, memory_order_acquire);
        cs_event *ev = cs_event_new(CS_KIND_LOG, 1773302400000000LL + (int64_t)i);
        cs_event_add_cstr(&ev, CS_F_HOST_NAME, "web01");
        cs_event_add_int(&ev, CS_F_PROCESS_PID, (int64_t)i);
        for (size_t k = 0; have > 0 && k < 4; k++) {
            w->seed = w->seed * 1103515245u + 12345u;
            cs_event_add_int(&ev, g_mt_ids[have - 1 - (w->seed >> 8) % (have < 8 ? have : 8)], (int64_t)k);
        }
        cs_buf_reset(&b);
        if (cs_json_write_event(&b, ev) != CS_OK) {
            abort();
        }
        w->ev[i] = ev;
        w->out[i] = strdup(b.data);
    }
    cs_buf_free(&b);
    return NULL;
}

static void test_write_while_interning(void **state)
{
    static mt_writer ws[MT_WRITERS];
    pthread_t th[MT_WRITERS + 1];
    cs_buf b;
    (void)state;
    assert_int_equal(pthread_create(&th[MT_WRITERS], NULL, mt_intern, NULL), 0);
    for (int t = 0; t < MT_WRITERS; t++) {
        ws[t].seed = (unsigned)t + 1;
        assert_int_equal(pthread_create(&th[t], NULL, mt_write, &ws[t]), 0);
    }
    for (int t = 0; t <= MT_WRITERS; t++) {
        pthread_join(th[t], NULL);
    }
    cs_buf_init(&b);
    for (int t = 0; t < MT_WRITERS; t++) {
        for (size_t i = 0; i < MT_EVENTS; i++) {
            cs_buf_reset(&b);
            assert_int_equal(cs_json_write_event(&b, ws[t].ev[i]), CS_OK);
            assert_string_equal(b.data, ws[t].out[i]);
            cs_event_free(ws[t].ev[i]);
            free(ws[t].out[i]);
        }
    }
    cs_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_shape),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_alert_kind_round_trip),
        cmocka_unit_test(test_foreign_json),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_invalid_utf8_is_replaced),
        cmocka_unit_test(test_write_exact_repeated),
        cmocka_unit_test(test_escape_at_every_position),
        cmocka_unit_test(test_times_in_sequence),
        cmocka_unit_test(test_many_fields_repeated),
        cmocka_unit_test(test_field_shapes),
        cmocka_unit_test(test_write_while_interning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
