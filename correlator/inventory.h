/* inventory.h - the city's information systems, and which one an event
 * belongs to.
 *
 * Loaded from YAML (etc/inventory.yaml). An event is assigned the system of
 * its destination address first (the asset being reached), then its source
 * address, then its host name; the most specific address range wins. Events
 * that match nothing are counted as unassigned.
 *
 * Loading refuses, with file:line: unknown keys, a missing or empty id or
 * name, an id used twice, a security_level or asset_value out of range, an
 * address range that does not parse or has host bits set, and two systems
 * whose ranges overlap (identical or nested) or who list the same host: an
 * address or a host belongs to one system. Nested ranges inside one system
 * are allowed.
 *
 * Ownership: cs_inventory_load() returns an inventory the caller frees with
 * cs_inventory_free(); system pointers stay valid until then. Lookups are
 * read-only and safe from several threads.
 */
#ifndef CS_INVENTORY_H
#define CS_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/err.h"
#include "../runtime/event.h"

typedef struct cs_system {
    char *id;
    char *name_vi;
    char *name_en;
    char *owner;
    char *contact;
    int security_level;   /* 1..5 */
    int asset_value;      /* 0..5, OSSIM's asset value */
    cs_ip *nets;          /* network addresses */
    uint8_t *prefix;      /* prefix lengths */
    size_t nnets;
    char **hosts;
    size_t nhosts;
    /* appended fields (keep the ones above in place) */
    char **sensors;       /* names of the packet sensors that watch it */
    size_t nsensors;
    char **log_sources;   /* the log sources that speak about it, "host:log" by convention */
    size_t nlog_sources;
    int line;             /* where the system starts in its file (0: not from a file) */
    int *range_line;      /* line of each range (nnets entries) */
} cs_system;

typedef struct cs_inventory cs_inventory;

cs_rc cs_inventory_load(const char *path, cs_inventory **out);
/* An empty inventory (no systems): every event is unassigned. */
cs_rc cs_inventory_empty(cs_inventory **out);
void cs_inventory_free(cs_inventory *inv);

size_t cs_inventory_count(const cs_inventory *inv);
const cs_system *cs_inventory_get(const cs_inventory *inv, size_t i);
const cs_system *cs_inventory_find(const cs_inventory *inv, const char *id);
/* The system of the most specific range that holds ip, or NULL. */
const cs_system *cs_inventory_by_ip(const cs_inventory *inv, const cs_ip *ip);
const cs_system *cs_inventory_by_host(const cs_inventory *inv, const char *host, size_t len);

/* The system an event belongs to, by the same order as cs_inventory_enrich()
 * (destination address, source address, host name), without changing the
 * event; NULL when unassigned or when inv is NULL. */
const cs_system *cs_inventory_system_for_event(const cs_inventory *inv, const cs_event *ev);

/* The system's name in a language ("vi" or "en"), falling back to the other
 * language, then to the id. Never NULL. */
const char *cs_system_name(const cs_system *s, const char *lang);

/* Add citysoc.system.id / citysoc.system.name to ev if a system owns it.
 * Returns the system, or NULL (unassigned). */
const cs_system *cs_inventory_enrich(const cs_inventory *inv, cs_event **ev);

/* Parse "a.b.c.d/n" or "x::/n" (a bare address is a /32 or /128). */
bool cs_cidr_parse(const char *s, cs_ip *net, uint8_t *prefix);
bool cs_cidr_contains(const cs_ip *net, uint8_t prefix, const cs_ip *ip);

#endif
