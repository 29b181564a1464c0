/* pipeline.h - the correlator stage and everything after it.
 *
 *   sources --(bounded queue)--> correlator thread: enrich (GeoIP, inventory),
 *   write events, Sigma rules, plugins, alerts (risk, aggregation)
 *   --> store writer thread (SQLite) and alert outputs.
 *
 * Sources call cs_pipeline_submit() (a cs_event_sink), which blocks while the
 * queue is full, so file and pcap inputs lose nothing.
 *
 * Ownership: the pipeline borrows the ruleset, GeoIP and inventory (they must outlive
 * it) and the output FILE streams (it writes, never closes them). It owns its
 * plugin host, alerter, threads and store writer. Submitted events become the
 * pipeline's.
 */
#ifndef CS_PIPELINE_H
#define CS_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../runtime/err.h"
#include "../runtime/event.h"
#include "../runtime/yamltree.h"
#include "correlation.h"
#include "geoip.h"
#include "inventory.h"
#include "sigma.h"

#define CS_PIPELINE_MAX_OUT 8

typedef struct cs_pipeline_opts {
    const cs_ruleset *rules;        /* may be NULL: no Sigma rules */
    cs_corrset *correlations;       /* may be NULL; fed from the correlator thread only */
    const cs_inventory *inventory;  /* may be NULL */
    const cs_geoip *geoip;          /* may be NULL: no GeoIP/ASN enrichment */
    FILE *events_out[CS_PIPELINE_MAX_OUT];
    size_t nevents_out;
    FILE *alerts_out[CS_PIPELINE_MAX_OUT];
    size_t nalerts_out;
    const char *db_path;            /* may be NULL: no store */
    int64_t aggregate_window_us;
    size_t queue_capacity;
} cs_pipeline_opts;

typedef struct cs_pipeline_stats {
    uint64_t events, alerts, alert_updates, unassigned, rule_matches, output_errors, correlations_fired;
    uint64_t geoip_errors;          /* lookups that failed (a corrupt database record) */
    uint64_t queue_waits, queue_high_water, queue_drops;
    bool finished;
} cs_pipeline_stats;

typedef struct cs_pipeline cs_pipeline;

cs_rc cs_pipeline_new(const cs_pipeline_opts *opts, cs_pipeline **out);
/* Before start: load a plugin (see plugin_host.h). */
cs_rc cs_pipeline_load_plugin(cs_pipeline *p, const char *path, const cs_yaml_file *yf, const cs_yaml_node *cfg);
cs_rc cs_pipeline_start(cs_pipeline *p);
/* cs_event_sink: ud is the pipeline. Takes ownership of ev. */
cs_rc cs_pipeline_submit(cs_event *ev, void *ud);
/* Non-blocking variant for live inputs: CS_ERR_FULL when the queue is full
 * (the event is NOT taken; the caller counts the drop and frees or retries). */
cs_rc cs_pipeline_try_submit(cs_event *ev, void *ud);
/* Rule reload: *rules and *correlations (built by the caller, correlations
 * over those rules) replace the pipeline's between two events: every event
 * submitted before the call meets the old rules, every one after it the new.
 * Unchanged correlations keep their live state (cs_corrset_adopt). Blocks
 * until the correlator thread has switched; on return *rules and
 * *correlations hold the OLD ones, which the caller now owns and frees (the
 * pipeline borrows the new ones like the first). kept/groups (may be NULL):
 * correlations whose state was kept, and their groups. Called from one
 * thread at a time, never from the correlator thread. */
cs_rc cs_pipeline_swap_rules(cs_pipeline *p, const cs_ruleset **rules, cs_corrset **correlations, size_t *kept,
                             size_t *groups);
/* Acknowledgement for inputs that can re-read (the file tails): ticket is
 * how many events the pipeline has accepted so far (from every producer);
 * durable how many of them are processed and their alerts committed to the
 * store. An input that notes the ticket after handing over its lines knows
 * them durable once durable >= ticket. ud is the pipeline. */
uint64_t cs_pipeline_ticket(void *ud);
uint64_t cs_pipeline_durable(void *ud);
/* No more input: drain, flush alerts, stop threads. Returns the first error. */
cs_rc cs_pipeline_finish(cs_pipeline *p);
void cs_pipeline_get_stats(cs_pipeline *p, cs_pipeline_stats *st);
void cs_pipeline_free(cs_pipeline *p);

#endif
