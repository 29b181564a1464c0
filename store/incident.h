/* incident.h - incident tickets in the store: lifecycle, SLA, timeline,
 * linked alerts, observables, merge.
 *
 * States and the only transitions allowed (cs_incident_transition_allowed()
 * is the one place that enforces this table; anything else is refused with
 * CS_ERR_INVAL and a sentence naming both states and the allowed next ones):
 *
 *   from \ to       assigned investigating contained resolved closed false_positive
 *   new                x          x                                     x
 *   assigned                      x                                     x
 *   investigating                            x         x                x
 *   contained                                          x
 *   resolved                      x (reopen)                   x
 *   false_positive                                             x
 *   closed                        x (reopen, explicit)
 *
 * Side effects of states: entering closed sets closed_at, leaving it
 * (reopen) clears it. An incident whose state is resolved, closed or
 * false_positive has no SLA to breach. A merge is the one way into closed
 * outside the table: the merged incident (B) goes to closed from any state
 * but closed, with merged_into = A.
 *
 * SLA: sla_due = created_at + the severity's time (cs_sla_policy; defaults
 * critical 4 h, high 24 h, medium 72 h, low 7 days), set at open and kept
 * when severity changes later.
 *
 * Every change writes one timeline row (incident_timeline) and one audit row
 * (audit, object_type 'incident') with the actor, the time, and the from and
 * to states, in the same transaction as the change. An observable seen again
 * only moves its first/last seen: that is not a timeline event.
 *
 * Times are int64 microseconds since the epoch (UTC) passed in by the caller
 * (now_us), so tests run on a fixed clock. Actors are user names or
 * "rule:<id>" (cs_actor_check() in triage.h).
 *
 * Ownership: every function borrows its arguments; strings in rows handed to
 * callbacks are valid only during the callback. Changes need a writable
 * connection and run in their own transaction, or in a savepoint of the
 * caller's. Reads work on read-only connections (readers see what writers
 * have committed: WAL).
 */
#ifndef CS_STORE_INCIDENT_H
#define CS_STORE_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Longest comment accepted; a longer one is refused, never truncated. */
#define CS_INCIDENT_COMMENT_MAX (64 * 1024)
#define CS_INCIDENT_TITLE_MAX 1024
#define CS_OBSERVABLE_VALUE_MAX 2048
/* Most alerts linked in one call (open or link). */
#define CS_INCIDENT_LINK_MAX 10000

typedef enum cs_incident_state {
    CS_INC_NEW,
    CS_INC_ASSIGNED,
    CS_INC_INVESTIGATING,
    CS_INC_CONTAINED,
    CS_INC_RESOLVED,
    CS_INC_CLOSED,
    CS_INC_FALSE_POSITIVE,
    CS_INC__STATE_COUNT
} cs_incident_state;

typedef enum cs_severity { CS_SEV_LOW, CS_SEV_MEDIUM, CS_SEV_HIGH, CS_SEV_CRITICAL, CS_SEV__COUNT } cs_severity;

typedef enum cs_observable_type {
    CS_OBS_IP,
    CS_OBS_DOMAIN,
    CS_OBS_HASH,
    CS_OBS_USER,
    CS_OBS_URL,
    CS_OBS_EMAIL,
    CS_OBS__COUNT
} cs_observable_type;

const char *cs_incident_state_name(cs_incident_state st);   /* "new", ..., "?" if out of range */
bool cs_incident_state_parse(const char *name, cs_incident_state *out);
const char *cs_severity_name(cs_severity sev);
bool cs_severity_parse(const char *name, cs_severity *out);
const char *cs_observable_type_name(cs_observable_type t);
bool cs_observable_type_parse(const char *name, cs_observable_type *out);

/* The transition table above. */
bool cs_incident_transition_allowed(cs_incident_state from, cs_incident_state to);
/* "assigned, investigating, false_positive" (or "none") into buf. */
void cs_incident_next_states(cs_incident_state from, char *buf, size_t bufsz);
/* CS_OK, or CS_ERR_INVAL with the sentence, for a transition of incident id. */
cs_rc cs_incident_transition_check(int64_t id, cs_incident_state from, cs_incident_state to);

/* SLA time per severity, in microseconds, indexed by cs_severity. */
typedef struct cs_sla_policy {
    int64_t due_us[CS_SEV__COUNT];
} cs_sla_policy;
/* critical 4 h, high 24 h, medium 72 h, low 7 days. */
cs_sla_policy cs_sla_policy_default(void);

/* ---- changes ---- */

typedef struct cs_incident_new {
    const char *title;     /* required */
    cs_severity severity;
    const char *system_id; /* may be NULL */
    const char *actor;     /* required */
    const char *const *alert_ids; /* alerts to link (must exist), may be NULL */
    size_t n_alerts;
    const cs_sla_policy *sla;     /* NULL = cs_sla_policy_default() */
} cs_incident_new;

cs_rc cs_incident_open(cs_store *s, const cs_incident_new *req, int64_t now_us, int64_t *id_out);
/* Sets the assignee; an incident in state new also moves to assigned. */
cs_rc cs_incident_assign(cs_store *s, int64_t id, const char *assignee, const char *actor, int64_t now_us);
/* note may be NULL; it is kept in the timeline row and the audit detail. */
cs_rc cs_incident_transition(cs_store *s, int64_t id, cs_incident_state to, const char *note, const char *actor,
                             int64_t now_us);
/* 1..CS_INCIDENT_COMMENT_MAX bytes, else CS_ERR_INVAL / CS_ERR_LIMIT. */
cs_rc cs_incident_comment(cs_store *s, int64_t id, const char *text, const char *actor, int64_t now_us);
/* Links existing alerts; already linked ones are skipped (*linked counts the
 * new links, may be NULL). An unknown alert refuses the whole call. */
cs_rc cs_incident_link_alerts(cs_store *s, int64_t id, const char *const *alert_ids, size_t n, const char *actor,
                              int64_t now_us, size_t *linked);
/* Adds an observable seen at seen_us, or widens the first/last seen of the
 * same (type, value). *created (may be NULL) tells which. */
cs_rc cs_incident_add_observable(cs_store *s, int64_t id, cs_observable_type type, const char *value,
                                 int64_t seen_us, const char *actor, int64_t now_us, bool *created);
/* Merges B into A: B's alert links and observables are copied to A (B keeps
 * its own rows, as history), B's timeline is read with A's (cs_incident_get),
 * B goes to closed with merged_into = A; a 'merge' timeline row on both.
 * A must not be closed or merged; B must not be closed; A != B. */
cs_rc cs_incident_merge(cs_store *s, int64_t into_a, int64_t from_b, const char *actor, int64_t now_us);

/* ---- reads ---- */

typedef struct cs_incident_row {
    int64_t id;
    const char *title;
    cs_severity severity;
    cs_incident_state state;
    const char *assignee, *system_id; /* NULL if unset */
    int64_t created_at, updated_at, sla_due, closed_at, merged_into; /* 0 if unset */
} cs_incident_row;

/* kind: comment, state, assign, link, observable, merge. from_state and
 * to_state are states for 'state' and 'merge' rows, and the previous and
 * new assignee for 'assign' rows (the audit row of an assignment likewise);
 * text is the comment, the transition note, the title (open), the alert id
 * (link) or "type value" (observable). */
typedef struct cs_timeline_row {
    int64_t id, incident_id, at; /* incident_id differs from the one asked for when merged in */
    const char *actor, *kind, *text, *from_state, *to_state; /* NULL if unset */
} cs_timeline_row;

typedef struct cs_observable_row {
    int64_t id, incident_id;
    cs_observable_type type;
    const char *value;
    int64_t first_seen, last_seen;
} cs_observable_row;

/* Callbacks for cs_incident_get; any may be NULL. Order: the incident, then
 * its timeline (oldest first, merged incidents' entries included), then its
 * linked alerts (by link time), then its observables (by type, value). */
typedef struct cs_incident_visitor {
    void (*incident)(const cs_incident_row *row, void *ud);
    void (*timeline)(const cs_timeline_row *row, void *ud);
    void (*alert)(const char *alert_id, int64_t linked_at, const char *linked_by, void *ud);
    void (*observable)(const cs_observable_row *row, void *ud);
} cs_incident_visitor;

/* CS_ERR_NOTFOUND for an unknown id. */
cs_rc cs_incident_get(cs_store *s, int64_t id, const cs_incident_visitor *v, void *ud);

/* Filter for cs_incident_list: has_state / has_severity select the filters
 * used; assignee NULL = any. Newest first (by id). before_id is the keyset
 * cursor: 0 for the first page, else the next_cursor of the previous page. */
typedef struct cs_incident_filter {
    bool has_state, has_severity;
    cs_incident_state state;
    cs_severity severity;
    const char *assignee;
    size_t limit; /* 0 = 50; at most 1000 */
    int64_t before_id;
} cs_incident_filter;

/* *next_cursor (may be NULL) is the before_id for the next page, or 0 when
 * this page was the last. */
cs_rc cs_incident_list(cs_store *s, const cs_incident_filter *f, void (*fn)(const cs_incident_row *row, void *ud),
                       void *ud, int64_t *next_cursor);
/* Open incidents (not resolved, closed or false_positive) with now > sla_due,
 * most overdue first; limit 0 = all. */
cs_rc cs_incident_sla_breached(cs_store *s, int64_t now_us, size_t limit,
                               void (*fn)(const cs_incident_row *row, void *ud), void *ud);
/* Number of incidents in each state, indexed by cs_incident_state. */
cs_rc cs_incident_board(cs_store *s, int64_t counts[CS_INC__STATE_COUNT]);

#endif
