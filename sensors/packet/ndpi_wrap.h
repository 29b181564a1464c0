/* ndpi_wrap.h - the one place that talks to nDPI 4.2 (see ndpi_wrap.c).
 *
 * The rest of the sensor sees only this header (no nDPI types leak out):
 * a per-replay detector (cs_dpi) and a small per-flow record (cs_dpi_flow)
 * embedded in the flow. The per-flow record holds the live nDPI flow while
 * detection runs, then only the compact result: protocol ids, category,
 * confidence, risk bitmask and an optional heap blob with the copied strings.
 * Not thread-safe: one cs_dpi per thread.
 */
#ifndef CS_PACKET_NDPI_WRAP_H
#define CS_PACKET_NDPI_WRAP_H

#include <stdint.h>

#include "../../runtime/event.h"

typedef struct cs_dpi cs_dpi;
typedef struct cs_dpi_meta cs_dpi_meta;

typedef struct cs_dpi_flow {
    void *nf;            /* struct ndpi_flow_struct * while detecting, else NULL */
    cs_dpi_meta *meta;   /* copied metadata (heap), NULL when there was none */
    uint64_t risk;       /* ndpi_risk bitmask */
    uint16_t master;     /* ndpi_protocol.master_protocol */
    uint16_t app;        /* ndpi_protocol.app_protocol */
    uint16_t category;   /* ndpi_protocol_category_t */
    uint16_t pkts;       /* packets given to nDPI */
    uint8_t confidence;  /* ndpi_confidence_t */
    uint8_t done;        /* detection finished, result final */
} cs_dpi_flow;

typedef struct cs_dpi_files {
    const char *protos, *categories, *risky_domains, *ja3, *sha1;
} cs_dpi_files;

/* Build the detection module (files may be NULL). CS_ERR_CONFIG when a list
 * file cannot be loaded, CS_ERR_NOMEM when nDPI cannot initialise. */
cs_rc cs_dpi_open(cs_dpi **out, const cs_dpi_files *files);
void cs_dpi_close(cs_dpi *d);

/* Give one packet (l3 = IP header, l3_len = captured bytes from it) to nDPI
 * and apply ndpiReader's stop rule; l4proto selects the packet budget.
 * No-op once done. */
void cs_dpi_packet(cs_dpi *d, cs_dpi_flow *f, const uint8_t *l3, uint32_t l3_len, uint64_t ts_ms,
                   uint8_t l4proto);

/* End detection now (ndpi_detection_giveup with guessing when it was still
 * running) and release the nDPI flow state. Idempotent. */
void cs_dpi_finish(cs_dpi *d, cs_dpi_flow *f);

/* A provisional copy of the current verdict and metadata in out, detection
 * going on (used for active-timeout records). out owns its metadata: release
 * it with cs_dpi_flow_clear(). */
void cs_dpi_snapshot(cs_dpi *d, const cs_dpi_flow *f, cs_dpi_flow *out);

/* Free everything the record holds (live state and result); leaves it zeroed. */
void cs_dpi_flow_clear(cs_dpi *d, cs_dpi_flow *f);

/* Append network.protocol, citysoc.ndpi.* and the metadata that has no
 * event kind of its own (host names of DHCP, NetBIOS, ...; DHCP
 * fingerprints). Call after cs_dpi_finish(). */
cs_rc cs_dpi_add_fields(cs_dpi *d, const cs_dpi_flow *f, cs_event **ev);

/* network.protocol and citysoc.ndpi.protocol only (the first two fields
 * cs_dpi_add_fields() writes). */
cs_rc cs_dpi_add_protocol(cs_dpi *d, const cs_dpi_flow *f, cs_event **ev);

/* The event kind the flow's protocol metadata makes (CS_KIND_DNS, _HTTP,
 * _TLS, _SSH), or CS_KIND_NONE when it has none of these. */
cs_kind cs_dpi_meta_kind(const cs_dpi_flow *f);

/* Append that metadata (dns.*, http.*, url.*, user_agent.*, tls.*,
 * citysoc.ssh.*). */
cs_rc cs_dpi_add_meta(const cs_dpi_flow *f, cs_event **ev);

/* Free the copied metadata once its event is out (the record keeps the
 * verdict and risks). */
void cs_dpi_meta_release(cs_dpi_flow *f);

#endif
