/* geoip.c - GeoIP and ASN enrichment (see geoip.h).
 *
 * Design note.
 * - Each database is one MMDB_s opened with MMDB_MODE_MMAP and never written
 *   after open, so the handle is shared by all workers without a lock:
 *   libmaxminddb lookups and MMDB_aget_value only read the mapping and the
 *   metadata (the library is thread-safe given a thread-safe malloc).
 * - Lookups go through MMDB_lookup_sockaddr, never MMDB_lookup_string, which
 *   would run getaddrinfo per event. IPv4-mapped and IPv4-compatible IPv6
 *   addresses are looked up as IPv4, so the answer does not depend on the
 *   database carrying the ::ffff:0:0/96 alias.
 * - Strings in the database are not NUL-terminated: they are copied into the
 *   event with their length (cs_event_add_str), never through a C string.
 * - database_type is checked at open so that a City file given where the ASN
 *   file belongs (or the reverse) is refused at startup instead of silently
 *   enriching nothing for the whole run.
 * - No cache: a lookup is a walk of at most 128 tree nodes in mapped memory
 *   plus a few map decodes; callers should enrich once per flow, not per
 *   packet. A cache would need a lock or per-thread state for little gain.
 */
#include "geoip.h"

#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct geo_db {
    MMDB_s mmdb;
    char *path;   /* NULL while the slot is unused; owned */
} geo_db;

struct cs_geoip {
    geo_db geo;   /* City or Country */
    geo_db asn;
};

/* The field ids of one side of a connection. */
typedef struct side_fields {
    cs_fid ip, country_iso, country_name, city_name, lat, lon, as_number, as_org;
} side_fields;

static const side_fields k_sides[] = {
    {CS_F_SOURCE_IP, CS_F_SOURCE_GEO_COUNTRY, CS_F_SOURCE_GEO_COUNTRY_NAME, CS_F_SOURCE_GEO_CITY_NAME,
     CS_F_SOURCE_GEO_LAT, CS_F_SOURCE_GEO_LON, CS_F_SOURCE_AS_NUMBER, CS_F_SOURCE_AS_ORG_NAME},
    {CS_F_DESTINATION_IP, CS_F_DESTINATION_GEO_COUNTRY, CS_F_DESTINATION_GEO_COUNTRY_NAME,
     CS_F_DESTINATION_GEO_CITY_NAME, CS_F_DESTINATION_GEO_LAT, CS_F_DESTINATION_GEO_LON,
     CS_F_DESTINATION_AS_NUMBER, CS_F_DESTINATION_AS_ORG_NAME},
};

/* Record paths (GeoIP2/GeoLite2 layouts), NULL-terminated for MMDB_aget_value. */
static const char *const k_country_iso[] = {"country", "iso_code", NULL};
/* ip-location-db (CC0, what the demo installs) keeps a flat record */
static const char *const k_country_code[] = {"country_code", NULL};
static const char *const k_country_name[] = {"country", "names", "en", NULL};
static const char *const k_city_name[] = {"city", "names", "en", NULL};
static const char *const k_latitude[] = {"location", "latitude", NULL};
static const char *const k_longitude[] = {"location", "longitude", NULL};
static const char *const k_as_number[] = {"autonomous_system_number", NULL};
static const char *const k_as_org[] = {"autonomous_system_organization", NULL};

/* ---- open / free ---- */

/* Plausible database_type for the slot. Names are MaxMind's ("GeoIP2-City",
 * "GeoLite2-Country", "GeoLite2-ASN", ...) and compatible vendors' ("DBIP-City-
 * Lite", ip-location-db's "country ipvAll" / "asn ipvAll"), compared
 * case-insensitively; Enterprise and ISP files carry the same keys as City
 * and ASN. */
static bool type_fits(const char *type, bool want_asn)
{
    if (type == NULL) {
        return false;
    }
    if (want_asn) {
        return strcasestr(type, "ASN") != NULL || strcasestr(type, "ISP") != NULL;
    }
    return strcasestr(type, "City") != NULL || strcasestr(type, "Country") != NULL ||
           strcasestr(type, "Enterprise") != NULL;
}

static cs_rc open_db(geo_db *db, const char *path, bool want_asn)
{
    int st = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    cs_rc rc = CS_OK;
    if (st != MMDB_SUCCESS) {
        int e = errno;   /* meaningful for the open/read failures only */
        if (st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR) {
            return cs_err_set(CS_ERR_IO, "%s: cannot read GeoIP database: %s (%s)", path, MMDB_strerror(st),
                              strerror(e));
        }
        if (st == MMDB_OUT_OF_MEMORY_ERROR) {
            return cs_err_set(CS_ERR_NOMEM, "%s: out of memory opening GeoIP database", path);
        }
        return cs_err_set(CS_ERR_PARSE, "%s: not a valid MaxMind database: %s", path, MMDB_strerror(st));
    }
    /* from here on the mapping is open: every failure goes through fail */
    if (!type_fits(db->mmdb.metadata.database_type, want_asn)) {
        rc = cs_err_set(CS_ERR_CONFIG, "%s: database type '%s' is not %s", path,
                        db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "(none)",
                        want_asn ? "an ASN database" : "a City or Country database");
        goto fail;
    }
    db->path = strdup(path);
    if (db->path == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory opening GeoIP database", path);
        goto fail;
    }
    return CS_OK;
fail:
    MMDB_close(&db->mmdb);
    return rc;
}

static void close_db(geo_db *db)
{
    if (db->path != NULL) {
        MMDB_close(&db->mmdb);
        free(db->path);
        db->path = NULL;
    }
}

cs_rc cs_geoip_open(const char *city_or_country_path, const char *asn_path, cs_geoip **out)
{
    cs_geoip *g = NULL;
    cs_rc rc = CS_OK;
    if (out == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_geoip_open: no output handle");
    }
    *out = NULL;
    if (city_or_country_path == NULL && asn_path == NULL) {
        return cs_err_set(CS_ERR_INVAL, "GeoIP: neither a City/Country nor an ASN database was given");
    }
    g = calloc(1, sizeof *g);
    if (g == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory opening GeoIP databases");
    }
    if (city_or_country_path != NULL) {
        rc = open_db(&g->geo, city_or_country_path, false);
        if (rc != CS_OK) {
            goto fail;
        }
    }
    if (asn_path != NULL) {
        rc = open_db(&g->asn, asn_path, true);
        if (rc != CS_OK) {
            goto fail;
        }
    }
    *out = g;
    return CS_OK;
fail:
    cs_geoip_free(g);
    return rc;
}

void cs_geoip_free(cs_geoip *g)
{
    if (g == NULL) {
        return;
    }
    close_db(&g->geo);
    close_db(&g->asn);
    free(g);
}

/* ---- address classification ---- */

static bool v4_public(const uint8_t *a)
{
    if (a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224) {
        return false;   /* this network, private, loopback, multicast, reserved, broadcast */
    }
    if (a[0] == 100 && (a[1] & 0xC0) == 64) {
        return false;   /* CGNAT 100.64/10: the subscriber is behind the carrier, not there */
    }
    if ((a[0] == 169 && a[1] == 254) || (a[0] == 172 && (a[1] & 0xF0) == 16) || (a[0] == 192 && a[1] == 168)) {
        return false;
    }
    if (a[0] == 198 && (a[1] & 0xFE) == 18) {
        return false;   /* benchmarking 198.18/15 */
    }
    return true;
}

/* An IPv6 address that carries an IPv4 one (::ffff:a.b.c.d or ::a.b.c.d). */
static bool v6_embeds_v4(const uint8_t *a)
{
    static const uint8_t zero[10];
    return memcmp(a, zero, 10) == 0 && ((a[10] == 0xFF && a[11] == 0xFF) || (a[10] == 0 && a[11] == 0));
}

bool cs_geoip_ip_is_public(const cs_ip *ip)
{
    const uint8_t *a;
    if (ip == NULL) {
        return false;
    }
    a = ip->addr;
    if (ip->family == 4) {
        return v4_public(a);
    }
    if (ip->family != 6) {
        return false;
    }
    if (v6_embeds_v4(a)) {
        return v4_public(a + 12);   /* also covers :: and ::1 (0.0.0.0, 0.0.0.1) */
    }
    if (a[0] == 0xFF || (a[0] & 0xFE) == 0xFC) {
        return false;   /* multicast, unique local */
    }
    if (a[0] == 0xFE && (a[1] & 0x80) == 0x80) {
        return false;   /* link-local fe80::/10, old site-local fec0::/10 */
    }
    return true;
}

/* ---- lookups ---- */

/* *ss for ip; IPv4 carried in IPv6 becomes AF_INET (see the design note). */
static void to_sockaddr(const cs_ip *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (ip->family == 4 || v6_embeds_v4(ip->addr)) {
        struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, ip->family == 4 ? ip->addr : ip->addr + 12, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, ip->addr, 16);
    }
}

/* One lookup context: the database, its record for the address, the address
 * as text for messages. */
typedef struct lookup {
    const geo_db *db;
    MMDB_entry_s entry;
    const cs_ip *ip;
} lookup;

static cs_rc corrupt(const lookup *lk, int st)
{
    char text[64];
    cs_ip_format(lk->ip, text, sizeof text);
    return cs_err_set(CS_ERR_PARSE, "%s: lookup of %s failed: %s", lk->db->path, text, MMDB_strerror(st));
}

/* Find the record for ss; *found false (and CS_OK) when the database has none. */
static cs_rc find_record(lookup *lk, const struct sockaddr_storage *ss, bool *found)
{
    int st = MMDB_SUCCESS;
    MMDB_lookup_result_s res;
    *found = false;
    /* an IPv4-only database cannot answer for IPv6: not covered, not an error */
    if (ss->ss_family == AF_INET6 && lk->db->mmdb.metadata.ip_version == 4) {
        return CS_OK;
    }
    res = MMDB_lookup_sockaddr(&lk->db->mmdb, (const struct sockaddr *)(const void *)ss, &st);
    if (st == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
        return CS_OK;
    }
    if (st != MMDB_SUCCESS) {
        return corrupt(lk, st);
    }
    if (res.found_entry) {
        lk->entry = res.entry;
        *found = true;
    }
    return CS_OK;
}

/* One value of the record; *d->has_data false (and CS_OK) when the record
 * lacks it. */
static cs_rc get_value(lookup *lk, const char *const *path, MMDB_entry_data_s *d)
{
    int st = MMDB_aget_value(&lk->entry, d, path);
    if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
        d->has_data = false;   /* e.g. no "city" map in a Country record */
        return CS_OK;
    }
    if (st != MMDB_SUCCESS) {
        return corrupt(lk, st);
    }
    return CS_OK;
}

/* Add the value at path as field id, typed as the database stores it
 * (strings, doubles, unsigned ints); nothing when the event already has the
 * field (e.g. from a remote sensor) or the record lacks the value. */
static cs_rc add_value(cs_event **ev, cs_fid id, lookup *lk, const char *const *path)
{
    MMDB_entry_data_s d;
    cs_rc rc;
    if (cs_event_find(*ev, id) != NULL) {
        return CS_OK;
    }
    rc = get_value(lk, path, &d);
    if (rc != CS_OK || !d.has_data) {
        return rc;
    }
    switch (d.type) {
    case MMDB_DATA_TYPE_UTF8_STRING:
        return d.data_size > 0 ? cs_event_add_str(ev, id, d.utf8_string, d.data_size) : CS_OK;
    case MMDB_DATA_TYPE_DOUBLE:
        return cs_event_add_float(ev, id, d.double_value);
    case MMDB_DATA_TYPE_FLOAT:
        return cs_event_add_float(ev, id, (double)d.float_value);
    case MMDB_DATA_TYPE_UINT16:
        return cs_event_add_int(ev, id, d.uint16);
    case MMDB_DATA_TYPE_UINT32:
        return cs_event_add_int(ev, id, d.uint32);
    case MMDB_DATA_TYPE_INT32:
        return cs_event_add_int(ev, id, d.int32);
    case MMDB_DATA_TYPE_UINT64:
        return d.uint64 <= INT64_MAX ? cs_event_add_int(ev, id, (int64_t)d.uint64) : CS_OK;
    default:
        return CS_OK;
    }
}

static bool has_all(const cs_event *ev, const cs_fid *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (cs_event_find(ev, ids[i]) == NULL) {
            return false;
        }
    }
    return true;
}

static cs_rc enrich_geo(const geo_db *db, cs_event **ev, const side_fields *sf, const cs_ip *ip,
                        const struct sockaddr_storage *ss)
{
    const cs_fid ids[] = {sf->country_iso, sf->country_name, sf->city_name, sf->lat, sf->lon};
    lookup lk = {.db = db, .ip = ip};
    bool found = false;
    cs_rc rc;
    if (db->path == NULL || has_all(*ev, ids, sizeof ids / sizeof ids[0])) {
        return CS_OK;   /* no database, or a sensor already did it all: skip the walk */
    }
    rc = find_record(&lk, ss, &found);
    if (rc != CS_OK || !found) {
        return rc;
    }
    rc = add_value(ev, sf->country_iso, &lk, k_country_iso);
    if (rc == CS_OK) {
        rc = add_value(ev, sf->country_iso, &lk, k_country_code);   /* no-op once set */
    }
    if (rc == CS_OK) {
        rc = add_value(ev, sf->country_name, &lk, k_country_name);
    }
    if (rc == CS_OK) {
        rc = add_value(ev, sf->city_name, &lk, k_city_name);
    }
    if (rc == CS_OK) {
        rc = add_value(ev, sf->lat, &lk, k_latitude);
    }
    if (rc == CS_OK) {
        rc = add_value(ev, sf->lon, &lk, k_longitude);
    }
    return rc;
}

static cs_rc enrich_asn(const geo_db *db, cs_event **ev, const side_fields *sf, const cs_ip *ip,
                        const struct sockaddr_storage *ss)
{
    const cs_fid ids[] = {sf->as_number, sf->as_org};
    lookup lk = {.db = db, .ip = ip};
    bool found = false;
    cs_rc rc;
    if (db->path == NULL || has_all(*ev, ids, sizeof ids / sizeof ids[0])) {
        return CS_OK;
    }
    rc = find_record(&lk, ss, &found);
    if (rc != CS_OK || !found) {
        return rc;
    }
    rc = add_value(ev, sf->as_number, &lk, k_as_number);
    if (rc == CS_OK) {
        rc = add_value(ev, sf->as_org, &lk, k_as_org);
    }
    return rc;
}

cs_rc cs_geoip_enrich(const cs_geoip *g, cs_event **ev)
{
    if (g == NULL || ev == NULL || *ev == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_geoip_enrich: no handle or no event");
    }
    for (size_t i = 0; i < sizeof k_sides / sizeof k_sides[0]; i++) {
        const side_fields *sf = &k_sides[i];
        struct sockaddr_storage ss;
        cs_ip ip;
        cs_rc rc;
        if (!cs_event_get_ip(*ev, sf->ip, &ip) || !cs_geoip_ip_is_public(&ip)) {
            continue;
        }
        to_sockaddr(&ip, &ss);
        rc = enrich_geo(&g->geo, ev, sf, &ip, &ss);
        if (rc == CS_OK) {
            rc = enrich_asn(&g->asn, ev, sf, &ip, &ss);
        }
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}
