/* triage.h - alert triage, suppressions (allow-lists) and the audit trail.
 *
 * Alert status (column alerts.status), and the only changes allowed:
 *
 *   action        from                          to
 *   acknowledge   new                           acknowledged
 *   assign(user)  new, acknowledged, assigned   assigned (assignee = user)
 *   close         new, acknowledged, assigned   closed (+ resolution, reason)
 *   reopen        closed                        new (resolution, closed_at,
 *                                                    assignee cleared)
 *
 * Every change takes the actor (a user name, or "rule:<id>" for automation)
 * and writes one audit row in the same transaction as the change. An unknown
 * alert is CS_ERR_NOTFOUND; a change that is not allowed is CS_ERR_INVAL with
 * a sentence naming the alert, its status and what the action needs.
 *
 * Times are int64 microseconds since the epoch (UTC), passed in by the
 * caller (cs_now_us() in production, a fixed clock in tests).
 *
 * Ownership: every function borrows its arguments; nothing returned needs
 * freeing. Row strings handed to callbacks are valid during the callback.
 * All functions need a connection from cs_store_open(); changes need a
 * writable one. They run in their own transaction, or in a savepoint of the
 * caller's (cs_store_begin ... cs_store_commit).
 */
#ifndef CS_STORE_TRIAGE_H
#define CS_STORE_TRIAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Longest actor, user or owner name accepted. */
#define CS_ACTOR_MAX 256
/* Longest reason (alert close, suppression) accepted. */
#define CS_REASON_MAX 4096

/* ---- the audit trail ---- */

/* object_type: "alert", "incident", "suppression", "rule", "system", "user".
 * from_state, to_state and detail (JSON text) may be NULL. */
typedef struct cs_audit_entry {
    int64_t at;
    const char *actor, *object_type, *object_id, *action, *from_state, *to_state, *detail;
} cs_audit_entry;

typedef struct cs_audit_row {
    int64_t id, at;
    const char *actor, *object_type, *object_id, *action, *from_state, *to_state, *detail; /* NULL if unset */
} cs_audit_row;

cs_rc cs_audit_write(cs_store *s, const cs_audit_entry *e);
/* Oldest first; object_type / object_id NULL = any; limit 0 = all. */
cs_rc cs_audit_foreach(cs_store *s, const char *object_type, const char *object_id, size_t limit,
                       void (*fn)(const cs_audit_row *row, void *ud), void *ud);
cs_rc cs_audit_count(cs_store *s, const char *object_type, const char *object_id, int64_t *n);

/* CS_ERR_INVAL naming what unless text is valid UTF-8. */
cs_rc cs_utf8_check(const char *text, const char *what);

/* Checks an actor: 1..CS_ACTOR_MAX bytes of UTF-8, no control characters;
 * "rule:" must be followed by a rule id. what names the argument. */
cs_rc cs_actor_check(const char *actor, const char *what);

/* ---- alert triage ---- */

typedef enum cs_alert_status {
    CS_ALERT_NEW,
    CS_ALERT_ACKNOWLEDGED,
    CS_ALERT_ASSIGNED,
    CS_ALERT_CLOSED,
    CS_ALERT__COUNT
} cs_alert_status;

typedef enum cs_alert_resolution {
    CS_RESOLUTION_NONE,
    CS_RESOLUTION_RESOLVED,
    CS_RESOLUTION_FALSE_POSITIVE
} cs_alert_resolution;

const char *cs_alert_status_name(cs_alert_status st);   /* "new", ... */
bool cs_alert_status_parse(const char *name, cs_alert_status *out);
const char *cs_alert_resolution_name(cs_alert_resolution r);   /* NULL for NONE */

typedef enum cs_triage_op { CS_TRIAGE_ACK, CS_TRIAGE_ASSIGN, CS_TRIAGE_CLOSE, CS_TRIAGE_REOPEN } cs_triage_op;

/* One triage change. assignee for ASSIGN; resolution (not NONE) and reason
 * (optional, at most CS_REASON_MAX bytes) for CLOSE. */
typedef struct cs_triage_change {
    cs_triage_op op;
    const char *actor;
    const char *assignee;
    cs_alert_resolution resolution;
    const char *reason;
    int64_t now_us;
} cs_triage_change;

cs_rc cs_alert_triage(cs_store *s, const char *alert_id, const cs_triage_change *c);
/* All or nothing: the same change to every alert in one transaction; the
 * first refusal rolls all of them back and names that alert. */
cs_rc cs_alert_triage_many(cs_store *s, const char *const *alert_ids, size_t n, const cs_triage_change *c);

cs_rc cs_alert_acknowledge(cs_store *s, const char *alert_id, const char *actor, int64_t now_us);
cs_rc cs_alert_assign(cs_store *s, const char *alert_id, const char *user, const char *actor, int64_t now_us);
cs_rc cs_alert_close(cs_store *s, const char *alert_id, cs_alert_resolution resolution, const char *reason,
                     const char *actor, int64_t now_us);
cs_rc cs_alert_reopen(cs_store *s, const char *alert_id, const char *actor, int64_t now_us);

/* The triage state of one alert. Strings are copied into the caller's struct. */
typedef struct cs_alert_triage_state {
    cs_alert_status status;
    cs_alert_resolution resolution;
    char assignee[CS_ACTOR_MAX + 1];   /* "" if none */
    int64_t acknowledged_at, closed_at; /* 0 if unset */
} cs_alert_triage_state;
cs_rc cs_alert_get_triage(cs_store *s, const char *alert_id, cs_alert_triage_state *out);

/* ---- suppressions (allow-lists) ----
 * A suppression matches an alert when its rule_id is NULL or equal to the
 * alert's, it has not expired (now < expires_at), and every field of its
 * conditions (a JSON object of field -> exact string value, fields among
 * source_ip, destination_ip, host_name, user, system_id) equals the
 * alert's field of that name. A suppression must name a rule or at least
 * one condition: an empty one would silence everything. */

typedef struct cs_suppression_new {
    const char *rule_id;         /* NULL = any rule */
    const char *conditions_json; /* NULL or "{}" = no field condition */
    const char *owner;           /* required */
    const char *reason;          /* required */
    int64_t expires_at;          /* required, after now */
} cs_suppression_new;

typedef struct cs_suppression_row {
    int64_t id;
    const char *rule_id; /* NULL = any rule */
    const char *conditions, *owner, *reason;
    int64_t created_at, expires_at, hits, last_hit; /* last_hit 0 = never */
} cs_suppression_row;

typedef struct cs_field_value {
    const char *name, *value;
} cs_field_value;

cs_rc cs_suppression_add(cs_store *s, const cs_suppression_new *req, const char *actor, int64_t now_us,
                         int64_t *id_out);
/* CS_ERR_NOTFOUND if there is no such suppression. */
cs_rc cs_suppression_delete(cs_store *s, int64_t id, const char *actor, int64_t now_us);
/* By id; expired ones only when include_expired. */
cs_rc cs_suppression_foreach(cs_store *s, bool include_expired, int64_t now_us,
                             void (*fn)(const cs_suppression_row *row, void *ud), void *ud);
/* Decides whether an alert is suppressed: *matched_id is the matching
 * suppression with the lowest id, or 0. A match counts a hit (hits + 1,
 * last_hit = now), so it needs a writable connection. Fields with a NULL
 * value are treated as absent. */
cs_rc cs_suppression_match(cs_store *s, const char *rule_id, const cs_field_value *fields, size_t n_fields,
                           int64_t now_us, int64_t *matched_id);

#endif
