/* store.h - the embedded SQLite store.
 *
 * One file, WAL mode, so the single writer (the store writer thread) never
 * blocks readers (the API, the CLI, reports), each of which opens its own
 * connection. Every statement is prepared with bound parameters.
 *
 * Ownership: cs_store_open() returns a connection the caller closes with
 * cs_store_close(); a connection belongs to one thread at a time.
 * The writer (cs_store_writer) owns its own connection and thread; events
 * handed to it are copied.
 */
#ifndef CS_STORE_H
#define CS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/err.h"
#include "../runtime/event.h"
#include "../runtime/json.h"

#define CS_STORE_SCHEMA_VERSION 1

typedef struct cs_store cs_store;

/* readonly: never creates or migrates; fails if the file does not exist. */
cs_rc cs_store_open(const char *path, bool readonly, cs_store **out);
void cs_store_close(cs_store *s);

cs_rc cs_store_begin(cs_store *s);
cs_rc cs_store_commit(cs_store *s);
/* Insert an alert, or update count/last seen/document of the same id. */
cs_rc cs_store_upsert_alert(cs_store *s, const cs_event *alert, const char *evidence_json);

typedef struct cs_alert_row {
    const char *id, *rule_id, *title, *level, *detector, *system_id, *source_ip, *destination_ip, *host_name,
        *status, *doc;
    double risk;
    int64_t first_seen, last_seen, count;
} cs_alert_row;

/* Newest first (by last seen); limit 0 = all. Row strings are valid during the callback. */
cs_rc cs_store_foreach_alert(cs_store *s, size_t limit, void (*fn)(const cs_alert_row *row, void *ud), void *ud);
cs_rc cs_store_count_alerts(cs_store *s, int64_t *n);

/* ---- the writer thread ---- */
typedef struct cs_store_writer cs_store_writer;
typedef struct cs_store_writer_stats {
    uint64_t alerts_written, transactions, errors;
} cs_store_writer_stats;

cs_rc cs_store_writer_start(const char *path, size_t queue_capacity, cs_store_writer **out);
/* Copies alert (and evidence, may be NULL); blocks when the queue is full. */
cs_rc cs_store_writer_put_alert(cs_store_writer *w, const cs_event *alert, const cs_event *evidence);
/* Drains, commits, joins and frees. Returns the first write error, if any. */
cs_rc cs_store_writer_finish(cs_store_writer *w, cs_store_writer_stats *st);

#endif
