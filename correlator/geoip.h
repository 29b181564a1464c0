/* geoip.h - GeoIP and ASN enrichment of events (libmaxminddb).
 *
 * One cs_geoip holds up to two MaxMind DB files opened read-only (mmap): a
 * City or Country database and an ASN database. cs_geoip_enrich() looks up
 * source.ip and destination.ip when they are public addresses and adds ECS
 * fields for each side:
 *
 *   <side>.geo.country_iso_code   CS_T_STR    country/iso_code
 *   <side>.geo.country_name       CS_T_STR    country/names/en
 *   <side>.geo.city_name          CS_T_STR    city/names/en (City databases)
 *   <side>.geo.location.lat       CS_T_FLOAT  location/latitude
 *   <side>.geo.location.lon       CS_T_FLOAT  location/longitude
 *   <side>.as.number              CS_T_INT    autonomous_system_number
 *   <side>.as.organization.name   CS_T_STR    autonomous_system_organization
 *
 * A field the event already carries (a remote sensor may have enriched it)
 * is left alone and not added again; a value the record lacks is not added.
 *
 * Ownership: cs_geoip_open() returns a handle the caller owns and releases
 * with cs_geoip_free(). The handle keeps its own copies of the paths; the
 * caller's strings may go away after open.
 *
 * Thread safety: after open the handle is immutable. Any number of threads
 * may call cs_geoip_enrich() on the same handle at once (each on its own
 * event); libmaxminddb lookups only read the shared MMDB_s. cs_geoip_free()
 * must not race with lookups. To reload, open a new handle and swap pointers.
 * Replace database files with rename(), never in place: they are mmap()ed.
 */
#ifndef CS_GEOIP_H
#define CS_GEOIP_H

#include <stdbool.h>

#include "runtime/err.h"
#include "runtime/event.h"

typedef struct cs_geoip cs_geoip;

/* Open the databases. Either path may be NULL, not both (CS_ERR_INVAL).
 * Refused, with a message naming the file (cs_err_msg()):
 *   CS_ERR_IO      the file is missing or unreadable;
 *   CS_ERR_PARSE   libmaxminddb rejects it as corrupt (its reason is quoted);
 *   CS_ERR_CONFIG  its database_type does not fit the slot (City/Country
 *                  expected for the first, ASN for the second);
 *   CS_ERR_NOMEM.
 * On error *out is NULL and nothing is left open. */
cs_rc cs_geoip_open(const char *city_or_country_path, const char *asn_path, cs_geoip **out);

/* Close the databases and free the handle. NULL is fine. */
void cs_geoip_free(cs_geoip *g);

/* Add the fields above to *ev for source.ip and destination.ip (fields of
 * type CS_T_IP; a missing or differently typed field is skipped). Addresses
 * that are not public (see cs_geoip_ip_is_public) and addresses the database
 * does not cover add nothing and are not errors. May move *ev (adders
 * realloc). Errors: CS_ERR_INVAL for NULL arguments, CS_ERR_PARSE when the
 * database is corrupt at that address, or what cs_event_add_* returned; the
 * event stays valid and keeps the fields added before the error. */
cs_rc cs_geoip_enrich(const cs_geoip *g, cs_event **ev);

/* True for addresses worth a lookup: false for unspecified, "this network"
 * 0/8, private 10/8, 172.16/12, 192.168/16, CGNAT 100.64/10, loopback,
 * link-local, benchmarking 198.18/15, multicast, reserved 240/4 and
 * broadcast; IPv6 ::, ::1, fe80::/10, fec0::/10, fc00::/7 and ff00::/8.
 * IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) IPv6 addresses
 * are judged by their IPv4 part. Documentation ranges count as public. */
bool cs_geoip_ip_is_public(const cs_ip *ip);

#endif
