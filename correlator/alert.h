/* alert.h - alerts: built from a detection and its evidence, scored, and
 * aggregated.
 *
 * Risk (OSSIM's formula, kept on a 0..10 scale):
 *     risk = priority x asset_value x reliability / 25
 * priority 1..5 comes from the rule level (informational 1, low 2, medium 3,
 * high 4, critical 5), asset_value 0..5 from the system in the inventory (2
 * when unassigned), reliability 0..10 from the detector (Sigma rules: by
 * status, stable 8, test 7, experimental 5, other 6; plugins say their own).
 * 5 x 5 x 10 / 25 = 10 is the ceiling.
 *
 * Aggregation: a detection of the same rule on the same key (the pair of
 * addresses, else the host, else the user) within window_us of the previous
 * one updates that alert (count, last seen) instead of making a new one.
 * Aggregation state is bounded (CS_ALERT_MAX_OPEN); the stalest is closed
 * when full.
 *
 * Ownership: the alerter owns its alert events; the output callback gets a
 * borrowed pointer valid during the call.
 */
#ifndef CS_ALERT_H
#define CS_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/err.h"
#include "../runtime/event.h"
#include "inventory.h"

#define CS_ALERT_MAX_OPEN 100000

typedef struct cs_alert_src {
    const char *rule_id;
    const char *title;
    const char *level;          /* informational..critical */
    const char *description;    /* may be NULL */
    const char *detector;       /* "sigma", "plugin:portscan", ... */
    const char *const *tags;
    size_t ntags;
    const char *key;            /* NULL: derived from the evidence */
    int reliability;            /* 0..10 */
} cs_alert_src;

int cs_level_priority(const char *level);
double cs_risk_score(int priority, int asset_value, int reliability);

typedef struct cs_alerter cs_alerter;
/* is_new: first detection of this alert; otherwise an update of count/last seen. */
typedef void (*cs_alert_out_fn)(const cs_event *alert, const cs_event *evidence, bool is_new, void *ud);

cs_rc cs_alerter_new(const cs_inventory *inv, int64_t window_us, cs_alert_out_fn fn, void *ud, cs_alerter **out);
void cs_alerter_free(cs_alerter *a);
cs_rc cs_alerter_raise(cs_alerter *a, const cs_alert_src *src, const cs_event *evidence);
/* Every alert made so far (latest state), in order of creation. */
void cs_alerter_foreach(const cs_alerter *a, void (*fn)(const cs_event *alert, void *ud), void *ud);
size_t cs_alerter_count(const cs_alerter *a);

#endif
