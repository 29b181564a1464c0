/* incident_policy.h - what happens to an alert after it is stored:
 * allow-lists, incident tickets by rule policy, notifications, SLA watch.
 *
 * A pass (cs_policy_run_once) takes the alerts stored since the previous
 * pass that are still new, in the order they were stored:
 *   1. an alert an active suppression matches (store/triage.h) is closed
 *      as a false positive with the suppression named, and counts a hit;
 *   2. an alert whose risk is at least open_at_risk, or whose rule carries
 *      the tag `tag` (default citysoc.incident), joins the open incident of
 *      the same rule, system and source address, or opens one (title from
 *      the rule and the system, severity from the rule level, SLA due from
 *      the policy, the alert's addresses as observables), actor
 *      "rule:<rule id>"; an opened incident is notified (notify.h);
 *   3. open incidents past their SLA due time are notified once each (an
 *      audit row, action sla_breached, actor "policy:sla", remembers it
 *      across restarts).
 * `citysoc run` runs passes on a thread of its own with its own store
 * connection (cs_policy_start); `citysoc replay --db` runs one at the end.
 *
 * Ownership: the policy borrows the notifier (may be NULL) and the
 * strings of its options for its whole life.
 */
#ifndef CS_INCIDENT_POLICY_H
#define CS_INCIDENT_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "../runtime/err.h"
#include "../runtime/json.h"
#include "../store/incident.h"
#include "../store/store.h"
#include "notify.h"

typedef struct cs_policy_opts {
    double open_at_risk;        /* alerts at or above this risk open incidents; > 10: only tagged rules */
    const char *tag;            /* rule tag that always opens one; NULL = "citysoc.incident" */
    cs_sla_policy sla;          /* zero: cs_sla_policy_default() */
    int interval_ms;            /* between passes on the thread [2000] */
    const char *console_url;    /* base of the incident links in notifications, may be NULL */
} cs_policy_opts;

struct cs_config;
/* The configuration's incidents: section (and notify.console_url is the
 * caller's). Strings point into cfg. */
void cs_policy_opts_from_config(const struct cs_config *cfg, cs_policy_opts *o);

typedef struct cs_policy_stats {
    uint64_t passes, alerts_seen, suppressed, incidents_opened, alerts_linked, sla_breaches, errors;
    uint64_t last_rowid;        /* the newest alert taken so far */
} cs_policy_stats;

/* One pass over store s (a writable connection) at now_us. st (in/out)
 * carries the position between passes: zero it before the first. */
cs_rc cs_policy_run_once(cs_store *s, const cs_policy_opts *o, cs_notifier *n, int64_t now_us, cs_policy_stats *st);

typedef struct cs_policy cs_policy;

/* Opens its own connection to db_path and runs a pass every interval. */
cs_rc cs_policy_start(const char *db_path, const cs_policy_opts *o, cs_notifier *n, cs_policy **out);
/* One last pass, then stops and frees. */
void cs_policy_stop(cs_policy *p);
void cs_policy_stats_get(cs_policy *p, cs_policy_stats *st);
/* "incident_policy":{...} members for /health. */
void cs_policy_stats_json(cs_policy *p, cs_buf *b);

#endif
