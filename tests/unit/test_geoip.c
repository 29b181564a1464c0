/* Unit tests: GeoIP/ASN enrichment (correlator/geoip.c) against MaxMind's
 * test databases. Expected values are read from the databases' own source
 * records (geoip/source-data/<name>.json, see the data README), not hard-coded:
 * every address inside a listed network must return that network's record. */
#include "test_util.h"

#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <maxminddb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <unistd.h>

#include "correlator/geoip.h"
#include "runtime/err.h"
#include "runtime/event.h"
#include "runtime/fields.h"

static char g_dir[2048];   /* <CS_SHARED_DATA>/geoip */

static bool have_data(void)
{
    char probe[2200];
    snprintf(g_dir, sizeof g_dir, "%s/geoip", test_env("CS_SHARED_DATA", "/work/shared/data"));
    snprintf(probe, sizeof probe, "%s/test-data/GeoIP2-City-Test.mmdb", g_dir);
    return access(probe, R_OK) == 0;
}

#define NEED_DATA()                                                                                   \
    do {                                                                                              \
        if (!have_data()) {                                                                           \
            print_message("skipped: GeoIP test data not found under %s (set CS_SHARED_DATA)\n", g_dir); \
            skip();                                                                                   \
        }                                                                                             \
    } while (0)

static const char *db_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/test-data/%s.mmdb", g_dir, name);
    return buf;
}

static json_t *load_source(const char *name)
{
    char path[2200];
    json_error_t jerr;
    json_t *arr;
    snprintf(path, sizeof path, "%s/source-data/%s.json", g_dir, name);
    arr = json_load_file(path, 0, &jerr);
    if (arr == NULL || !json_is_array(arr)) {
        fail_msg("%s: %s", path, jerr.text);
    }
    return arr;
}

static cs_ip ip_of(const char *s)
{
    cs_ip ip;
    if (!cs_ip_parse(s, strlen(s), &ip)) {
        fail_msg("bad address in test: %s", s);
    }
    return ip;
}

/* ---- networks from the JSON keys, compared in MaxMind's tree space where
 * IPv4 a.b.c.d lives at ::a.b.c.d (the enricher folds ::ffff:a.b.c.d there too) ---- */

typedef struct net {
    uint8_t a[16];
    int prefix;   /* 0..128 */
} net;

static void to_tree(const cs_ip *ip, uint8_t out[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    memset(out, 0, 16);
    if (ip->family == 4) {
        memcpy(out + 12, ip->addr, 4);
    } else if (memcmp(ip->addr, mapped, 12) == 0) {
        memcpy(out + 12, ip->addr + 12, 4);
    } else {
        memcpy(out, ip->addr, 16);
    }
}

static bool parse_net(const char *key, net *n, cs_ip *first, cs_ip *last)
{
    const char *slash = strchr(key, '/');
    cs_ip ip;
    if (slash == NULL || !cs_ip_parse(key, (size_t)(slash - key), &ip)) {
        return false;
    }
    n->prefix = atoi(slash + 1) + (ip.family == 4 ? 96 : 0);
    to_tree(&ip, n->a);
    for (int bit = n->prefix; bit < 128; bit++) {
        n->a[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));   /* some keys carry host bits */
    }
    *first = ip;
    *last = ip;
    for (int bit = n->prefix; bit < 128; bit++) {
        int b = ip.family == 4 ? bit - 96 : bit;
        first->addr[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
        last->addr[b / 8] |= (uint8_t)(0x80u >> (b % 8));
    }
    return true;
}

static bool net_contains(const net *n, const cs_ip *ip)
{
    uint8_t a[16];
    to_tree(ip, a);
    for (int bit = 0; bit < n->prefix; bit++) {
        uint8_t m = (uint8_t)(0x80u >> (bit % 8));
        if ((a[bit / 8] & m) != (n->a[bit / 8] & m)) {
            return false;
        }
    }
    return true;
}

/* The record the database must return for ip: the most specific listed
 * network holding it (a later duplicate wins), or NULL. */
static json_t *expected(json_t *arr, const cs_ip *ip)
{
    json_t *best = NULL;
    int best_prefix = -1;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        const char *key;
        json_t *rec;
        json_object_foreach(e, key, rec) {
            net n;
            cs_ip f, l;
            if (parse_net(key, &n, &f, &l) && net_contains(&n, ip) && n.prefix >= best_prefix) {
                best = rec;
                best_prefix = n.prefix;
            }
        }
    }
    return best;
}

/* rec/k1/k2/... or NULL */
static json_t *jget(json_t *rec, ...)
{
    va_list ap;
    const char *k;
    va_start(ap, rec);
    while (rec != NULL && (k = va_arg(ap, const char *)) != NULL) {
        rec = json_object_get(rec, k);
    }
    va_end(ap);
    return rec;
}

/* ---- checks on one side of an event ---- */

typedef struct side {
    cs_fid ip, iso, name, city, lat, lon, asn, org;
} side;

static const side SRC = {CS_F_SOURCE_IP, CS_F_SOURCE_GEO_COUNTRY, CS_F_SOURCE_GEO_COUNTRY_NAME,
                         CS_F_SOURCE_GEO_CITY_NAME, CS_F_SOURCE_GEO_LAT, CS_F_SOURCE_GEO_LON,
                         CS_F_SOURCE_AS_NUMBER, CS_F_SOURCE_AS_ORG_NAME};
static const side DST = {CS_F_DESTINATION_IP, CS_F_DESTINATION_GEO_COUNTRY, CS_F_DESTINATION_GEO_COUNTRY_NAME,
                         CS_F_DESTINATION_GEO_CITY_NAME, CS_F_DESTINATION_GEO_LAT, CS_F_DESTINATION_GEO_LON,
                         CS_F_DESTINATION_AS_NUMBER, CS_F_DESTINATION_AS_ORG_NAME};

static size_t count_id(const cs_event *ev, cs_fid id)
{
    size_t n = 0;
    for (size_t i = 0; i < cs_event_nfields(ev); i++) {
        n += cs_event_fields(ev)[i].id == id;
    }
    return n;
}

static void check_str(const cs_event *ev, cs_fid id, json_t *want, const char *where)
{
    const char *w = json_string_value(want);
    const char *s = "(absent or not a string)";
    size_t len = 0;
    if (w == NULL || w[0] == '\0') {
        if (cs_event_find(ev, id) != NULL) {
            fail_msg("%s: %s added but the record has none", where, cs_field_name(id));
        }
        return;
    }
    if (!cs_event_get_str(ev, id, &s, &len) || len != strlen(w) || memcmp(s, w, len) != 0) {
        fail_msg("%s: %s is \"%s\", want \"%s\"", where, cs_field_name(id),
                 s, w);
    }
    assert_int_equal(count_id(ev, id), 1);
}

static void check_float(const cs_event *ev, cs_fid id, json_t *want, const char *where)
{
    const cs_field *f = cs_event_find(ev, id);
    if (want == NULL) {
        if (f != NULL) {
            fail_msg("%s: %s added but the record has none", where, cs_field_name(id));
        }
        return;
    }
    if (f == NULL || f->type != CS_T_FLOAT || fabs(f->v.f - json_number_value(want)) > 1e-9) {
        fail_msg("%s: %s is %f, want %f", where, cs_field_name(id), f ? f->v.f : NAN, json_number_value(want));
    }
    assert_int_equal(count_id(ev, id), 1);
}

static void check_int(const cs_event *ev, cs_fid id, json_t *want, const char *where)
{
    int64_t v = -1;
    if (want == NULL) {
        if (cs_event_find(ev, id) != NULL) {
            fail_msg("%s: %s added but the record has none", where, cs_field_name(id));
        }
        return;
    }
    if (!cs_event_get_int(ev, id, &v) || v != (int64_t)json_integer_value(want)) {
        fail_msg("%s: %s is %" PRId64 ", want %" PRId64, where, cs_field_name(id), v,
                 (int64_t)json_integer_value(want));
    }
    assert_int_equal(count_id(ev, id), 1);
}

/* geo/asn: the expected records (NULL: none, so nothing may be added). */
static void check_side(const cs_event *ev, const side *sd, json_t *geo, json_t *asn, const char *where)
{
    check_str(ev, sd->iso, jget(geo, "country", "iso_code", NULL), where);
    check_str(ev, sd->name, jget(geo, "country", "names", "en", NULL), where);
    check_str(ev, sd->city, jget(geo, "city", "names", "en", NULL), where);
    check_float(ev, sd->lat, jget(geo, "location", "latitude", NULL), where);
    check_float(ev, sd->lon, jget(geo, "location", "longitude", NULL), where);
    check_int(ev, sd->asn, jget(asn, "autonomous_system_number", NULL), where);
    check_str(ev, sd->org, jget(asn, "autonomous_system_organization", NULL), where);
}

static bool embeds_v4(const cs_ip *ip)
{
    uint8_t a[16];
    static const uint8_t zero[12];
    if (ip->family == 4) {
        return true;
    }
    to_tree(ip, a);
    return memcmp(a, zero, 12) == 0;
}

/* Every network in source-data/<name>.json: its first address as source.ip
 * and its last as destination.ip must get exactly that record's values. */
static void check_db(const char *name, bool is_asn)
{
    char path[2200], where[256];
    cs_geoip *g = NULL;
    json_t *arr = load_source(name);
    size_t i, v4 = 0, v6 = 0, skipped = 0;
    json_t *e;
    db_path(path, sizeof path, name);
    assert_int_equal(is_asn ? cs_geoip_open(NULL, path, &g) : cs_geoip_open(path, NULL, &g), CS_OK);
    json_array_foreach(arr, i, e) {
        const char *key;
        json_t *rec;
        json_object_foreach(e, key, rec) {
            net n;
            cs_ip first, last;
            cs_event *ev;
            assert_true(parse_net(key, &n, &first, &last));
            if (!cs_geoip_ip_is_public(&first) || !cs_geoip_ip_is_public(&last)) {
                skipped++;
                continue;
            }
            ev = cs_event_new(CS_KIND_FLOW, 0);
            assert_non_null(ev);
            assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &first), CS_OK);
            assert_int_equal(cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &last), CS_OK);
            if (cs_geoip_enrich(g, &ev) != CS_OK) {
                fail_msg("%s %s: %s", name, key, cs_err_msg());
            }
            snprintf(where, sizeof where, "%s %s first", name, key);
            check_side(ev, &SRC, is_asn ? NULL : expected(arr, &first), is_asn ? expected(arr, &first) : NULL,
                       where);
            snprintf(where, sizeof where, "%s %s last", name, key);
            check_side(ev, &DST, is_asn ? NULL : expected(arr, &last), is_asn ? expected(arr, &last) : NULL,
                       where);
            if (embeds_v4(&first)) {
                v4++;
            } else {
                v6++;
            }
            cs_event_free(ev);
        }
    }
    print_message("%s: %zu networks checked (%zu IPv4, %zu IPv6), %zu skipped as non-public\n", name, v4 + v6, v4,
                  v6, skipped);
    assert_true(v4 > 0);
    assert_true(v6 > 0);
    json_decref(arr);
    cs_geoip_free(g);
}

static void test_city_matches_source(void **state)
{
    (void)state;
    NEED_DATA();
    check_db("GeoIP2-City-Test", false);
    check_db("GeoLite2-City-Test", false);
}

static void test_country_matches_source(void **state)
{
    (void)state;
    NEED_DATA();
    check_db("GeoIP2-Country-Test", false);
    check_db("GeoLite2-Country-Test", false);
}

static void test_asn_matches_source(void **state)
{
    (void)state;
    NEED_DATA();
    check_db("GeoLite2-ASN-Test", true);
}

/* Both databases on one handle; IPv4 given as plain, mapped and compatible
 * IPv6 gives the same answer. */
static void test_city_and_asn_together(void **state)
{
    static const char *const addrs[] = {"81.2.69.160", "::ffff:81.2.69.160", "::81.2.69.160", "1.128.0.1",
                                        "2.125.160.216", "216.160.83.58", "2001:218::1", "12.81.92.7"};
    char cpath[2200], apath[2200];
    cs_geoip *g = NULL;
    json_t *city, *asn;
    (void)state;
    NEED_DATA();
    city = load_source("GeoIP2-City-Test");
    asn = load_source("GeoLite2-ASN-Test");
    assert_int_equal(cs_geoip_open(db_path(cpath, sizeof cpath, "GeoIP2-City-Test"),
                                   db_path(apath, sizeof apath, "GeoLite2-ASN-Test"), &g),
                     CS_OK);
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        cs_ip ip = ip_of(addrs[i]);
        cs_event *ev = cs_event_new(CS_KIND_FLOW, 0);
        assert_int_equal(cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &ip), CS_OK);
        assert_int_equal(cs_geoip_enrich(g, &ev), CS_OK);
        check_side(ev, &DST, expected(city, &ip), expected(asn, &ip), addrs[i]);
        check_side(ev, &SRC, NULL, NULL, addrs[i]);   /* no source.ip: nothing on that side */
        cs_event_free(ev);
    }
    /* spot-check the oracle itself so a bug in expected() cannot hide one here */
    {
        cs_ip ip = ip_of("81.2.69.160");
        cs_event *ev = cs_event_new(CS_KIND_FLOW, 0);
        const char *s;
        size_t len;
        int64_t asnum;
        assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip), CS_OK);
        ip = ip_of("1.128.0.1");
        assert_int_equal(cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &ip), CS_OK);
        assert_int_equal(cs_geoip_enrich(g, &ev), CS_OK);
        assert_true(cs_event_get_str(ev, CS_F_SOURCE_GEO_COUNTRY, &s, &len));
        assert_string_equal(s, "GB");
        assert_true(cs_event_get_str(ev, CS_F_SOURCE_GEO_CITY_NAME, &s, &len));
        assert_string_equal(s, "London");
        assert_true(cs_event_get_int(ev, CS_F_DESTINATION_AS_NUMBER, &asnum));
        assert_int_equal(asnum, 1221);
        assert_true(cs_event_get_str(ev, CS_F_DESTINATION_AS_ORG_NAME, &s, &len));
        assert_string_equal(s, "Telstra Pty Ltd");
        cs_event_free(ev);
    }
    json_decref(city);
    json_decref(asn);
    cs_geoip_free(g);
}

static void test_non_public_get_nothing(void **state)
{
    static const char *const private_addrs[] = {
        "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1", "127.0.0.1", "169.254.10.1", "100.64.0.1",
        "100.127.255.254", "0.0.0.0", "224.0.0.251", "239.255.255.250", "255.255.255.255", "240.0.0.1",
        "198.18.0.1", "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:10.0.0.1",
        "::ffff:192.168.0.1", "::ffff:127.0.0.1"};
    static const char *const public_addrs[] = {"8.8.8.8", "81.2.69.160", "100.63.255.255", "100.128.0.1",
                                               "172.32.0.1", "192.0.2.1", "198.51.100.7", "203.0.113.9",
                                               "2001:db8::1", "2001:218::1", "::ffff:81.2.69.160"};
    char cpath[2200], apath[2200];
    cs_geoip *g = NULL;
    (void)state;
    for (size_t i = 0; i < sizeof public_addrs / sizeof public_addrs[0]; i++) {
        cs_ip ip = ip_of(public_addrs[i]);
        if (!cs_geoip_ip_is_public(&ip)) {
            fail_msg("%s should count as public", public_addrs[i]);
        }
    }
    for (size_t i = 0; i < sizeof private_addrs / sizeof private_addrs[0]; i++) {
        cs_ip ip = ip_of(private_addrs[i]);
        if (cs_geoip_ip_is_public(&ip)) {
            fail_msg("%s should not count as public", private_addrs[i]);
        }
    }
    NEED_DATA();
    assert_int_equal(cs_geoip_open(db_path(cpath, sizeof cpath, "GeoIP2-City-Test"),
                                   db_path(apath, sizeof apath, "GeoLite2-ASN-Test"), &g),
                     CS_OK);
    for (size_t i = 0; i < sizeof private_addrs / sizeof private_addrs[0]; i++) {
        cs_ip ip = ip_of(private_addrs[i]);
        cs_event *ev = cs_event_new(CS_KIND_FLOW, 0);
        assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip), CS_OK);
        assert_int_equal(cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &ip), CS_OK);
        assert_int_equal(cs_geoip_enrich(g, &ev), CS_OK);
        assert_int_equal(cs_event_nfields(ev), 2);
        cs_event_free(ev);
    }
    cs_geoip_free(g);
}

/* Public addresses in no listed network, and events without usable IPs. */
static void test_not_in_db_gets_nothing(void **state)
{
    static const char *const addrs[] = {"8.8.8.8", "192.0.2.1", "2001:db8::1", "2a00:1450::1", "9.9.9.9"};
    char cpath[2200], apath[2200];
    cs_geoip *g = NULL;
    json_t *city, *asn;
    cs_event *ev;
    (void)state;
    NEED_DATA();
    city = load_source("GeoIP2-City-Test");
    asn = load_source("GeoLite2-ASN-Test");
    assert_int_equal(cs_geoip_open(db_path(cpath, sizeof cpath, "GeoIP2-City-Test"),
                                   db_path(apath, sizeof apath, "GeoLite2-ASN-Test"), &g),
                     CS_OK);
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        cs_ip ip = ip_of(addrs[i]);
        assert_null(expected(city, &ip));   /* the premise of this test */
        assert_null(expected(asn, &ip));
        ev = cs_event_new(CS_KIND_FLOW, 0);
        assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip), CS_OK);
        assert_int_equal(cs_geoip_enrich(g, &ev), CS_OK);
        assert_int_equal(cs_event_nfields(ev), 1);
        cs_event_free(ev);
    }
    /* no IPs at all; source.ip as a string (not CS_T_IP) is not ours to parse */
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_int_equal(cs_geoip_enrich(g, &ev), CS_OK);
    assert_int_equal(cs_event_add_cstr(&ev, CS_F_SOURCE_IP, "81.2.69.160"), CS_OK);
    assert_int_equal(cs_geoip_enrich(g, &ev), CS_OK);
    assert_int_equal(cs_event_nfields(ev), 1);
    assert_int_equal(cs_geoip_enrich(NULL, &ev), CS_ERR_INVAL);
    assert_int_equal(cs_geoip_enrich(g, NULL), CS_ERR_INVAL);
    cs_event_free(ev);
    json_decref(city);
    json_decref(asn);
    cs_geoip_free(g);
}

static void expect_refused(const char *city, const char *asnp, cs_rc want, const char *needle, const char *reason)
{
    cs_geoip *g = (cs_geoip *)(uintptr_t)1;   /* must be reset to NULL */
    cs_rc rc;
    cs_err_clear();
    rc = cs_geoip_open(city, asnp, &g);
    if (rc == CS_OK || (want != CS_OK && rc != want)) {
        fail_msg("open(%s, %s): rc %s, want %s (%s)", city ? city : "NULL", asnp ? asnp : "NULL", cs_rc_str(rc),
                 want == CS_OK ? "an error" : cs_rc_str(want), cs_err_msg());
    }
    assert_null(g);
    if (needle != NULL) {
        assert_contains(cs_err_msg(), needle);
    }
    if (reason != NULL) {
        assert_contains(cs_err_msg(), reason);
    }
}

static void test_open_refusals(void **state)
{
    char city[2200], asn[2200], bad[2200], missing[2200], dirpath[2200];
    DIR *top;
    struct dirent *de;
    size_t nbad = 0;
    (void)state;
    expect_refused(NULL, NULL, CS_ERR_INVAL, NULL, NULL);
    NEED_DATA();
    db_path(city, sizeof city, "GeoIP2-City-Test");
    db_path(asn, sizeof asn, "GeoLite2-ASN-Test");
    db_path(missing, sizeof missing, "No-Such-Database");
    expect_refused(missing, NULL, CS_ERR_IO, missing, MMDB_strerror(MMDB_FILE_OPEN_ERROR));
    expect_refused(NULL, missing, CS_ERR_IO, missing, "No such file");
    expect_refused(city, missing, CS_ERR_IO, missing, NULL);   /* the City half is closed again */

    snprintf(bad, sizeof bad, "%s/bad-data/libmaxminddb/libmaxminddb-offset-integer-overflow.mmdb", g_dir);
    expect_refused(bad, NULL, CS_ERR_PARSE, bad, MMDB_strerror(MMDB_INVALID_DATA_ERROR));
    db_path(bad, sizeof bad, "GeoIP2-City-Test-Invalid-Node-Count");
    expect_refused(bad, NULL, CS_ERR_PARSE, bad, MMDB_strerror(MMDB_INVALID_METADATA_ERROR));

    /* the wrong kind of database in a slot */
    expect_refused(NULL, city, CS_ERR_CONFIG, city, "GeoIP2-City");
    expect_refused(asn, NULL, CS_ERR_CONFIG, asn, "GeoLite2-ASN");
    expect_refused(city, city, CS_ERR_CONFIG, city, NULL);
    db_path(bad, sizeof bad, "GeoIP2-Anonymous-IP-Test");
    expect_refused(bad, NULL, CS_ERR_CONFIG, bad, NULL);
    expect_refused(NULL, bad, CS_ERR_CONFIG, bad, NULL);
    snprintf(dirpath, sizeof dirpath, "%s/test-data", g_dir);
    expect_refused(dirpath, NULL, CS_OK, dirpath, NULL);

    /* every corrupt file in bad-data/, in either slot: refused, file named */
    snprintf(dirpath, sizeof dirpath, "%s/bad-data", g_dir);
    top = opendir(dirpath);
    assert_non_null(top);
    while ((de = readdir(top)) != NULL) {
        char sub[2500];
        DIR *d;
        struct dirent *fe;
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(sub, sizeof sub, "%s/%s", dirpath, de->d_name);
        d = opendir(sub);
        if (d == NULL) {
            continue;   /* README.md */
        }
        while ((fe = readdir(d)) != NULL) {
            char file[2800];
            size_t n = strlen(fe->d_name);
            if (n < 5 || strcmp(fe->d_name + n - 5, ".mmdb") != 0) {
                continue;
            }
            snprintf(file, sizeof file, "%s/%s", sub, fe->d_name);
            expect_refused(file, NULL, CS_OK, file, NULL);
            expect_refused(NULL, file, CS_OK, file, NULL);
            nbad++;
        }
        closedir(d);
    }
    closedir(top);
    print_message("bad-data: %zu corrupt databases refused in both slots\n", nbad);
    assert_true(nbad > 0);
}

/* A database that opens but holds a broken double: lookups either work or
 * fail with CS_ERR_PARSE naming the file; never a crash, never a bad value. */
static void test_corrupt_records(void **state)
{
    char path[2200];
    cs_geoip *g = NULL;
    json_t *arr;
    json_t *e;
    size_t i, errors = 0, ok = 0;
    (void)state;
    NEED_DATA();
    db_path(path, sizeof path, "GeoIP2-City-Test-Broken-Double-Format");
    assert_int_equal(cs_geoip_open(path, NULL, &g), CS_OK);
    arr = load_source("GeoIP2-City-Test");
    json_array_foreach(arr, i, e) {
        const char *key;
        json_t *rec;
        json_object_foreach(e, key, rec) {
            net n;
            cs_ip first, last;
            cs_event *ev = cs_event_new(CS_KIND_FLOW, 0);
            cs_rc rc;
            assert_true(parse_net(key, &n, &first, &last));
            assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &first), CS_OK);
            rc = cs_geoip_enrich(g, &ev);
            if (rc == CS_OK) {
                ok++;
            } else {
                assert_int_equal(rc, CS_ERR_PARSE);
                assert_contains(cs_err_msg(), path);
                errors++;
            }
            cs_event_free(ev);
        }
    }
    print_message("broken-double database: %zu lookups fine, %zu refused as corrupt\n", ok, errors);
    json_decref(arr);
    cs_geoip_free(g);
}

static void test_existing_fields_kept(void **state)
{
    char cpath[2200], apath[2200];
    cs_geoip *g = NULL;
    cs_event *ev;
    cs_ip ip = ip_of("81.2.69.160");
    const char *s;
    size_t len, n;
    int64_t asnum;
    (void)state;
    NEED_DATA();
    assert_int_equal(cs_geoip_open(db_path(cpath, sizeof cpath, "GeoIP2-City-Test"),
                                   db_path(apath, sizeof apath, "GeoLite2-ASN-Test"), &g),
                     CS_OK);
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip), CS_OK);
    /* a remote sensor already said where it is (differently, on purpose) */
    assert_int_equal(cs_event_add_cstr(&ev, CS_F_SOURCE_GEO_COUNTRY, "VN"), CS_OK);
    assert_int_equal(cs_event_add_int(&ev, CS_F_SOURCE_AS_NUMBER, 7552), CS_OK);
    assert_int_equal(cs_geoip_enrich(g, &ev), CS_OK);
    assert_int_equal(count_id(ev, CS_F_SOURCE_GEO_COUNTRY), 1);
    assert_true(cs_event_get_str(ev, CS_F_SOURCE_GEO_COUNTRY, &s, &len));
    assert_string_equal(s, "VN");
    assert_int_equal(count_id(ev, CS_F_SOURCE_AS_NUMBER), 1);
    assert_true(cs_event_get_int(ev, CS_F_SOURCE_AS_NUMBER, &asnum));
    assert_int_equal(asnum, 7552);
    /* the missing ones were still filled in */
    assert_true(cs_event_get_str(ev, CS_F_SOURCE_GEO_CITY_NAME, &s, &len));
    assert_string_equal(s, "London");
    assert_non_null(cs_event_find(ev, CS_F_SOURCE_GEO_LAT));
    /* enriching again adds nothing */
    n = cs_event_nfields(ev);
    assert_int_equal(cs_geoip_enrich(g, &ev), CS_OK);
    assert_int_equal(cs_event_nfields(ev), n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(count_id(ev, cs_event_fields(ev)[i].id), 1);
    }
    cs_event_free(ev);
    cs_geoip_free(g);
}

/* ---- concurrency: one handle, 4 threads x 10,000 lookups ---- */

#define N_THREADS 4
#define N_LOOKUPS 10000
#define N_ADDRS 96

typedef struct mt_ctx {
    const cs_geoip *g;
    cs_ip addrs[N_ADDRS];
    char want[N_ADDRS][1024];
    size_t naddrs;
} mt_ctx;

typedef struct mt_arg {
    const mt_ctx *ctx;
    unsigned tid;
    size_t mismatches;
    size_t errors;
} mt_arg;

/* All fields of an event as "name=value;..." (insertion order is fixed). */
static void render(const cs_event *ev, char *out, size_t outsz)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cs_event_nfields(ev) && used < outsz; i++) {
        const cs_field *f = &cs_event_fields(ev)[i];
        char buf[128];
        size_t len;
        const char *t = cs_field_text(ev, f, buf, sizeof buf, &len);
        int w = snprintf(out + used, outsz - used, "%s=%.*s;", cs_field_name(f->id), (int)len, t);
        if (w < 0) {
            break;
        }
        used += (size_t)w;
    }
}

static cs_rc enrich_one(const cs_geoip *g, const cs_ip *ip, char *out, size_t outsz)
{
    cs_event *ev = cs_event_new(CS_KIND_FLOW, 0);
    cs_rc rc = ev ? cs_event_add_ip(&ev, CS_F_SOURCE_IP, ip) : CS_ERR_NOMEM;
    if (rc == CS_OK) {
        rc = cs_event_add_ip(&ev, CS_F_DESTINATION_IP, ip);
    }
    if (rc == CS_OK) {
        rc = cs_geoip_enrich(g, &ev);
    }
    if (rc == CS_OK) {
        render(ev, out, outsz);
    }
    cs_event_free(ev);
    return rc;
}

static void *mt_worker(void *p)
{
    mt_arg *a = p;
    char got[1024];
    for (size_t i = 0; i < N_LOOKUPS; i++) {
        size_t k = (i * 7 + a->tid * 13) % a->ctx->naddrs;   /* threads walk the list out of step */
        if (enrich_one(a->ctx->g, &a->ctx->addrs[k], got, sizeof got) != CS_OK) {
            a->errors++;
        } else if (strcmp(got, a->ctx->want[k]) != 0) {
            a->mismatches++;
        }
    }
    return NULL;
}

static void test_threads_agree(void **state)
{
    char cpath[2200], apath[2200];
    cs_geoip *g = NULL;
    mt_ctx *ctx;
    mt_arg args[N_THREADS];
    pthread_t th[N_THREADS];
    json_t *src[2];
    size_t enriched = 0;
    (void)state;
    NEED_DATA();
    ctx = calloc(1, sizeof *ctx);
    assert_non_null(ctx);
    assert_int_equal(cs_geoip_open(db_path(cpath, sizeof cpath, "GeoIP2-City-Test"),
                                   db_path(apath, sizeof apath, "GeoLite2-ASN-Test"), &g),
                     CS_OK);
    ctx->g = g;
    /* half the addresses from each database's networks, plus misses */
    src[0] = load_source("GeoIP2-City-Test");
    src[1] = load_source("GeoLite2-ASN-Test");
    for (size_t s = 0; s < 2; s++) {
        for (size_t i = 0; i < json_array_size(src[s]) && ctx->naddrs < (s + 1) * (N_ADDRS / 2) - 2; i += 3) {
            const char *key;
            json_t *rec;
            json_object_foreach(json_array_get(src[s], i), key, rec) {
                net n;
                cs_ip last;
                assert_true(parse_net(key, &n, &ctx->addrs[ctx->naddrs], &last));
                ctx->naddrs++;
            }
        }
        ctx->addrs[ctx->naddrs++] = ip_of(s == 0 ? "8.8.8.8" : "2001:db8::5");
        ctx->addrs[ctx->naddrs++] = ip_of(s == 0 ? "10.0.0.1" : "fe80::1");
    }
    for (size_t k = 0; k < ctx->naddrs; k++) {
        assert_int_equal(enrich_one(g, &ctx->addrs[k], ctx->want[k], sizeof ctx->want[k]), CS_OK);
        enriched += strstr(ctx->want[k], ".geo.") != NULL || strstr(ctx->want[k], ".as.") != NULL;
    }
    assert_true(enriched > ctx->naddrs / 2);
    for (unsigned t = 0; t < N_THREADS; t++) {
        args[t] = (mt_arg){.ctx = ctx, .tid = t};
        assert_int_equal(pthread_create(&th[t], NULL, mt_worker, &args[t]), 0);
    }
    for (unsigned t = 0; t < N_THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
    }
    for (unsigned t = 0; t < N_THREADS; t++) {
        if (args[t].mismatches != 0 || args[t].errors != 0) {
            fail_msg("thread %u: %zu mismatches, %zu errors", t, args[t].mismatches, args[t].errors);
        }
    }
    print_message("threads: %d x %d lookups over %zu addresses (%zu enriched), all identical\n", N_THREADS,
                  N_LOOKUPS, ctx->naddrs, enriched);
    json_decref(src[0]);
    json_decref(src[1]);
    cs_geoip_free(g);
    free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_city_matches_source),
        cmocka_unit_test(test_country_matches_source),
        cmocka_unit_test(test_asn_matches_source),
        cmocka_unit_test(test_city_and_asn_together),
        cmocka_unit_test(test_non_public_get_nothing),
        cmocka_unit_test(test_not_in_db_gets_nothing),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_corrupt_records),
        cmocka_unit_test(test_existing_fields_kept),
        cmocka_unit_test(test_threads_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
