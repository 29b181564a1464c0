/* event.h - the event model: the one hot structure of citysoc.
 *
 * An event is a timestamp, a kind and a small array of typed fields
 * (field id, type, value). Strings live in the event's own arena, stored
 * NUL-terminated at an offset, so the whole event is ONE allocation that can
 * grow by realloc without invalidating anything but the event pointer itself.
 * That is why every adder takes `cs_event **`: it may move the event.
 *
 * Several fields may carry the same id: that is a list (JSON arrays, tags,
 * nDPI risks). cs_event_find() returns the first.
 *
 * Ownership: cs_event_new()/cs_event_clone() return an event the caller owns
 * and frees with cs_event_free(). Pointers returned by getters point into the
 * event and die with it (or with the next add, which may move it).
 */
#ifndef CS_EVENT_H
#define CS_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "citysoc/event.h"
#include "err.h"
#include "fields.h"

#define CS_EVENT_MAX_FIELDS 4096
#define CS_EVENT_MAX_BYTES (64u * 1024u * 1024u)   /* arena cap: a hostile 10 MB line fits */

/* CS_T_STR only: the text is a substring of this event's message field (set
 * by a parser that cut it from there; a copy to another event drops it).
 * The Sigma prefilter then finds its literals in the message and need not
 * search the field again. */
#define CS_FIELD_IN_MESSAGE 0x01

typedef struct cs_field {
    cs_fid id;
    uint8_t type;        /* cs_type */
    uint8_t flags;       /* CS_FIELD_* */
    uint32_t len;        /* CS_T_STR: byte length (excluding NUL) */
    union {
        int64_t i;       /* CS_T_INT, CS_T_TIME */
        double f;
        bool b;
        cs_ip ip;
        uint32_t off;    /* CS_T_STR: offset into the arena */
    } v;
} cs_field;

struct cs_event {
    int64_t ts_us;       /* event time, UTC microseconds */
    uint16_t kind;       /* cs_kind */
    uint16_t reserved;
    uint32_t nfields;
    uint32_t cap_fields;
    uint32_t arena_used;
    uint32_t arena_cap;
    /* followed by cs_field[cap_fields] and then the arena */
};

/* Where a stage hands events on. The sink takes ownership of ev (it frees it
 * or passes it on); a non-zero return tells the producer to stop. */
typedef cs_rc (*cs_event_sink)(cs_event *ev, void *ud);

cs_event *cs_event_new(cs_kind kind, int64_t ts_us);
/* Pre-size for callers that know roughly what they will add. */
cs_event *cs_event_new_sized(cs_kind kind, int64_t ts_us, size_t nfields, size_t arena);
cs_event *cs_event_clone(const cs_event *ev);
void cs_event_free(cs_event *ev);

cs_rc cs_event_add_int(cs_event **ev, cs_fid id, int64_t v);
cs_rc cs_event_add_float(cs_event **ev, cs_fid id, double v);
cs_rc cs_event_add_bool(cs_event **ev, cs_fid id, bool v);
cs_rc cs_event_add_ip(cs_event **ev, cs_fid id, const cs_ip *ip);
cs_rc cs_event_add_time(cs_event **ev, cs_fid id, int64_t us);
cs_rc cs_event_add_str(cs_event **ev, cs_fid id, const char *s, size_t len);
cs_rc cs_event_add_cstr(cs_event **ev, cs_fid id, const char *s);
/* Copy one field (with its string) from another event. */
cs_rc cs_event_add_field(cs_event **ev, const cs_event *from, const cs_field *f);
/* Remove every field with this id (keeps arena bytes; cheap). */
void cs_event_remove(cs_event *ev, cs_fid id);
/* OR flags (CS_FIELD_*) into the last field added. */
void cs_event_flag_last(cs_event *ev, uint8_t flags);

static inline size_t cs_event_nfields(const cs_event *ev)
{
    return ev->nfields;
}
static inline const cs_field *cs_event_fields(const cs_event *ev)
{
    return (const cs_field *)(const void *)(ev + 1);
}
static inline const char *cs_event_strval(const cs_event *ev, const cs_field *f)
{
    return (const char *)(cs_event_fields(ev) + ev->cap_fields) + f->v.off;
}

const cs_field *cs_event_find(const cs_event *ev, cs_fid id);
/* Typed getters: false when absent or of another type. */
bool cs_event_get_str(const cs_event *ev, cs_fid id, const char **s, size_t *len);
bool cs_event_get_int(const cs_event *ev, cs_fid id, int64_t *v);
bool cs_event_get_ip(const cs_event *ev, cs_fid id, cs_ip *ip);

/* Render any field value as text (numbers, IPs, bools, times) into buf.
 * Returns the text (buf, or the arena string itself for CS_T_STR) and sets *len. */
const char *cs_field_text(const cs_event *ev, const cs_field *f, char *buf, size_t bufsz, size_t *len);

const char *cs_kind_name(cs_kind kind);
cs_kind cs_kind_parse(const char *name, size_t len);   /* CS_KIND_NONE if unknown */

/* IP helpers. */
bool cs_ip_parse(const char *s, size_t len, cs_ip *ip);
/* Writes text form into buf (>= 46 bytes); returns length. */
size_t cs_ip_format(const cs_ip *ip, char *buf, size_t bufsz);
bool cs_ip_equal(const cs_ip *a, const cs_ip *b);

#endif
