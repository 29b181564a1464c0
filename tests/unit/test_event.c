/* Unit tests: the event model and the field registry. */
#include "test_util.h"

#include "runtime/event.h"
#include "runtime/fields.h"
#include "runtime/timeutil.h"

static void test_registry_canonical(void **state)
{
    (void)state;
    assert_int_equal(cs_field_lookup("source.ip", 9), CS_F_SOURCE_IP);
    assert_string_equal(cs_field_name(CS_F_NETWORK_COMMUNITY_ID), "network.community_id");
    assert_int_equal(cs_field_type(CS_F_SOURCE_IP), CS_T_IP);
    assert_int_equal(cs_field_lookup("no.such.field", 13), CS_F_NONE);
}

static void test_registry_intern(void **state)
{
    cs_fid a, b;
    (void)state;
    a = cs_field_intern("cs-uri-query", 12);
    assert_true(a >= CS_F__CANONICAL_END);
    b = cs_field_intern("cs-uri-query", 12);
    assert_int_equal(a, b);
    assert_string_equal(cs_field_name(a), "cs-uri-query");
    assert_int_equal(cs_field_type(a), CS_T_ANY);
    /* same id for the canonical name: no duplicate registration */
    assert_int_equal(cs_field_intern("source.port", 11), CS_F_SOURCE_PORT);
    assert_int_equal(cs_field_intern("", 0), CS_F_NONE);
    assert_int_equal(cs_field_intern("a\0b", 3), CS_F_NONE);
}

static void test_event_growth_and_getters(void **state)
{
    cs_event *ev = cs_event_new(CS_KIND_LOG, 42);
    const char *s;
    size_t len;
    int64_t v;
    cs_ip ip, got;
    (void)state;
    assert_non_null(ev);
    /* enough fields and bytes to force several reallocs that move the arena */
    for (int i = 0; i < 200; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "value-%03d", i);
        assert_int_equal(cs_event_add_cstr(&ev, CS_F_TAGS, buf), CS_OK);
        assert_int_equal(cs_event_add_int(&ev, CS_F_SOURCE_PORT, i), CS_OK);
    }
    assert_int_equal(cs_event_nfields(ev), 400);
    assert_true(cs_event_get_str(ev, CS_F_TAGS, &s, &len));
    assert_string_equal(s, "value-000");
    assert_int_equal(len, 9);
    assert_string_equal(cs_event_strval(ev, &cs_event_fields(ev)[398]), "value-199");
    assert_true(cs_event_get_int(ev, CS_F_SOURCE_PORT, &v));
    assert_int_equal(v, 0);
    assert_false(cs_event_get_int(ev, CS_F_TAGS, &v));   /* wrong type */
    assert_false(cs_event_get_str(ev, CS_F_MESSAGE, &s, &len));   /* absent */
    assert_true(cs_ip_parse("2001:db8::1", 11, &ip));
    assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip), CS_OK);
    assert_true(cs_event_get_ip(ev, CS_F_SOURCE_IP, &got));
    assert_true(cs_ip_equal(&ip, &got));
    cs_event_remove(ev, CS_F_TAGS);
    assert_int_equal(cs_event_nfields(ev), 201);
    assert_false(cs_event_get_str(ev, CS_F_TAGS, &s, &len));
    assert_int_equal(ev->ts_us, 42);
    assert_int_equal(ev->kind, CS_KIND_LOG);
    cs_event_free(ev);
}

static void test_event_binary_string_and_clone(void **state)
{
    static const char bin[] = {'a', '\0', 'b'};
    cs_event *ev = cs_event_new(CS_KIND_FLOW, 1);
    cs_event *c;
    const char *s;
    size_t len;
    (void)state;
    assert_int_equal(cs_event_add_str(&ev, CS_F_MESSAGE, bin, 3), CS_OK);
    c = cs_event_clone(ev);
    assert_non_null(c);
    cs_event_free(ev);
    assert_true(cs_event_get_str(c, CS_F_MESSAGE, &s, &len));
    assert_int_equal(len, 3);
    assert_memory_equal(s, bin, 3);
    cs_event_free(c);
}

static void test_copy_own_string_while_growing(void **state)
{
    cs_event *ev = cs_event_new_sized(CS_KIND_LOG, 0, 1, 16);
    const char *s;
    size_t n;
    (void)state;
    assert_int_equal(cs_event_add_cstr(&ev, CS_F_MESSAGE, "0123456789abc"), CS_OK);
    /* the source string lives in the arena that this add must grow */
    for (int i = 0; i < 10; i++) {
        assert_true(cs_event_get_str(ev, CS_F_MESSAGE, &s, &n));
        assert_int_equal(cs_event_add_str(&ev, CS_F_TAGS, s, n), CS_OK);
    }
    assert_int_equal(cs_event_add_field(&ev, ev, cs_event_find(ev, CS_F_MESSAGE)), CS_OK);
    assert_string_equal(cs_event_strval(ev, &cs_event_fields(ev)[11]), "0123456789abc");
    assert_string_equal(cs_event_strval(ev, &cs_event_fields(ev)[10]), "0123456789abc");
    cs_event_free(ev);
}

static void test_event_limits(void **state)
{
    cs_event *ev = cs_event_new(CS_KIND_LOG, 0);
    (void)state;
    assert_int_equal(cs_event_add_int(&ev, CS_F_NONE, 1), CS_ERR_LIMIT);
    for (int i = 0; i < CS_EVENT_MAX_FIELDS; i++) {
        assert_int_equal(cs_event_add_int(&ev, CS_F_SOURCE_PORT, i), CS_OK);
    }
    assert_int_not_equal(cs_event_add_int(&ev, CS_F_SOURCE_PORT, 1), CS_OK);
    assert_int_equal(cs_event_nfields(ev), CS_EVENT_MAX_FIELDS);
    cs_event_free(ev);
}

static void test_field_text(void **state)
{
    cs_event *ev = cs_event_new(CS_KIND_FLOW, 0);
    char buf[64];
    size_t n;
    cs_ip ip;
    (void)state;
    cs_ip_parse("10.1.2.3", 8, &ip);
    cs_event_add_int(&ev, CS_F_SOURCE_PORT, -5);
    cs_event_add_bool(&ev, cs_field_intern("x.flag", 6), true);
    cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip);
    cs_event_add_time(&ev, CS_F_EVENT_START, 1773302400000001LL);
    assert_string_equal(cs_field_text(ev, &cs_event_fields(ev)[0], buf, sizeof buf, &n), "-5");
    assert_string_equal(cs_field_text(ev, &cs_event_fields(ev)[1], buf, sizeof buf, &n), "true");
    assert_string_equal(cs_field_text(ev, &cs_event_fields(ev)[2], buf, sizeof buf, &n), "10.1.2.3");
    assert_string_equal(cs_field_text(ev, &cs_event_fields(ev)[3], buf, sizeof buf, &n),
                        "2026-03-12T08:00:00.000001Z");
    cs_event_free(ev);
}

static void test_time(void **state)
{
    int64_t us;
    char buf[40];
    (void)state;
    assert_true(cs_time_parse("2026-03-12T08:00:00Z", 20, &us));
    assert_int_equal(us, 1773302400000000LL);
    assert_true(cs_time_parse("2026-03-12T15:00:00.5+07:00", 27, &us));
    assert_int_equal(us, 1773302400500000LL);
    assert_true(cs_time_parse("2026-03-12", 10, &us));
    assert_int_equal(us, 1773273600000000LL);
    assert_false(cs_time_parse("2026-13-01T00:00:00Z", 20, &us));
    assert_false(cs_time_parse("yesterday", 9, &us));
    assert_false(cs_time_parse("2026-03-12T08:00:00Zjunk", 24, &us));
    cs_time_format(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
}

static void test_kind_names(void **state)
{
    (void)state;
    for (int k = 1; k < CS_KIND__COUNT; k++) {
        const char *n = cs_kind_name((cs_kind)k);
        assert_int_equal(cs_kind_parse(n, strlen(n)), k);
    }
    assert_int_equal(cs_kind_parse("bogus", 5), CS_KIND_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_canonical),
        cmocka_unit_test(test_registry_intern),
        cmocka_unit_test(test_event_growth_and_getters),
        cmocka_unit_test(test_event_binary_string_and_clone),
        cmocka_unit_test(test_copy_own_string_while_growing),
        cmocka_unit_test(test_event_limits),
        cmocka_unit_test(test_field_text),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
