/* Unit tests: ECS JSON writer and reader, round trips and hostile input. */
#include "test_util.h"

#include "runtime/json.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_shape),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_alert_kind_round_trip),
        cmocka_unit_test(test_foreign_json),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_invalid_utf8_is_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
