/* json.h - ECS JSON: the one wire format for events (files, sensor->core,
 * Elasticsearch, golden tests).
 *
 * Writing is on the hot path, so it is our own streaming writer into a
 * growable buffer (no DOM, no allocation once the buffer and the calling
 * thread's cache of event skeletons are warm; see json.c). Dotted field names
 * are written as nested objects; fields sharing an id become an array.
 * cs_json_write_event() may run on any number of threads at once, each with
 * its own cs_buf, while other threads intern new field names. Reading uses
 * jansson and flattens nested objects back to dotted names, so
 * write -> read -> write is stable.
 *
 * Ownership: a cs_buf belongs to its creator (cs_buf_free). cs_json_read_event
 * returns a new event the caller frees with cs_event_free().
 */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"

#define CS_JSON_MAX_LINE (16u * 1024u * 1024u)

typedef struct cs_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;     /* an append ran out of memory; contents are incomplete */
} cs_buf;

void cs_buf_init(cs_buf *b);
void cs_buf_free(cs_buf *b);
void cs_buf_reset(cs_buf *b);
void cs_buf_append(cs_buf *b, const char *s, size_t n);
void cs_buf_append_cstr(cs_buf *b, const char *s);
bool cs_buf_grow(cs_buf *b, size_t need);
static inline void cs_buf_putc(cs_buf *b, char c)
{
    if (b->len + 2 <= b->cap || cs_buf_grow(b, 1)) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
    }
}
/* Decimal integer, without printf. */
void cs_buf_int(cs_buf *b, int64_t v);
void cs_buf_printf(cs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (quotes included). Invalid UTF-8 bytes
 * become U+FFFD so the output is always valid JSON. */
void cs_buf_json_str(cs_buf *b, const char *s, size_t n);

/* Append one event as a single JSON object (no newline). */
cs_rc cs_json_write_event(cs_buf *b, const cs_event *ev);

/* Parse one JSON object into an event. `name`/`line` are used in messages.
 * @timestamp gives ts_us (missing: ts_us = 0); event.dataset "citysoc.<kind>"
 * gives the kind (else CS_KIND_JSON). Unknown keys are interned. */
cs_rc cs_json_read_event(const char *text, size_t len, const char *name, long line, cs_event **out);

#endif
