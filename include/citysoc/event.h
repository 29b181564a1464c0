/* citysoc/event.h - the public vocabulary of events (part of the plugin SDK).
 *
 * An event is opaque to plugins: they read and build it through the host
 * services table in citysoc/plugin.h. This header only fixes the small enums
 * both sides must agree on. Values here are part of the ABI: append only.
 */
#ifndef CITYSOC_EVENT_H
#define CITYSOC_EVENT_H

#include <stdint.h>

/* What an event is. Written to JSON as event.dataset "citysoc.<name>". */
typedef enum cs_kind {
    CS_KIND_NONE = 0,
    CS_KIND_FLOW,
    CS_KIND_DNS,
    CS_KIND_HTTP,
    CS_KIND_TLS,
    CS_KIND_FILE,
    CS_KIND_LOG,
    CS_KIND_ALERT,
    CS_KIND_RISK,   /* a network risk found by nDPI */
    CS_KIND_STATS,  /* a sensor's periodic counters */
    CS_KIND_JSON,   /* an event read from a foreign JSON source */
    CS_KIND_YARA,   /* a YARA rule matched a flow's payload (packet sensor) */
    CS_KIND_SSH,    /* an SSH session's banners and HASSH (packet sensor) */
    CS_KIND__COUNT
} cs_kind;

/* Type of one field value. */
typedef enum cs_type {
    CS_T_ANY = 0,   /* registry only: a field with no declared type */
    CS_T_INT,
    CS_T_FLOAT,
    CS_T_BOOL,
    CS_T_IP,
    CS_T_STR,
    CS_T_TIME,      /* microseconds since the epoch, UTC; ISO 8601 in JSON */
    CS_T__COUNT
} cs_type;

/* An IPv4 or IPv6 address. IPv4 uses addr[0..3] in network order. */
typedef struct cs_ip {
    uint8_t family;  /* 4 or 6 */
    uint8_t addr[16];
} cs_ip;

typedef uint16_t cs_fid;   /* interned field name id; 0 = none */

typedef struct cs_event cs_event;

#endif
