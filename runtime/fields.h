/* fields.h - the registry of interned field names.
 *
 * Canonical ECS names (fields.def) have fixed ids known at compile time as
 * CS_F_<NAME>. Other names (a JSON source's own keys, Sigma field names that
 * map to nothing canonical, a plugin's fields) are interned on first sight and
 * keep their id for the life of the process. Rules resolve names to ids when
 * they load, so matching never hashes a string per event.
 *
 * Thread safety: cs_field_name()/cs_field_type() are lock-free and may be
 * called from any thread; lookup/intern take a lock and belong to load time or
 * to input decoding. Names returned are owned by the registry (never freed).
 */
#ifndef CS_FIELDS_H
#define CS_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "citysoc/event.h"

enum {
    CS_F_NONE = 0,
#define X(id, name, type) CS_F_##id,
#include "fields.def"
#undef X
    CS_F__CANONICAL_END
};

#define CS_FIELD_MAX 8192  /* at most this many distinct names per process */
#define CS_FIELD_NAME_MAX 256

/* Id of an already known name, or CS_F_NONE. */
cs_fid cs_field_lookup(const char *name, size_t len);
/* Id of name, registering it (type CS_T_ANY) if new. CS_F_NONE when the name
 * is empty, longer than CS_FIELD_NAME_MAX or the registry is full. */
cs_fid cs_field_intern(const char *name, size_t len);
/* "" for an unknown id. */
const char *cs_field_name(cs_fid id);
/* Declared type; CS_T_ANY for interned names. */
cs_type cs_field_type(cs_fid id);
/* Number of ids in use (canonical + interned), for iteration in tests. */
size_t cs_field_count(void);

/* Position of each id's name in dot-segment order ("a.b" < "a.b.c" < "a.b-x"),
 * for writers that nest dotted names: ranks[i] for ids[i]. Cheap and
 * lock-free once every id has been ranked; new names re-rank all (rare). */
void cs_field_ranks(const cs_fid *ids, uint32_t *ranks, size_t n);
/* The same, telling whether the ranks are the real order: false when
 * re-ranking ran out of memory and id order stood in (never cache those). */
bool cs_field_ranks_exact(const cs_fid *ids, uint32_t *ranks, size_t n);

/* The dot-segment split of a name, computed once when the name is registered
 * (names never change or go away), so writers that nest dotted names never
 * scan a name per event. Segments are split exactly as "a.b.c" -> a, b, c
 * (empty segments kept: ".a." -> "", a, ""); a name with more than
 * CS_FIELD_SEG_MAX segments keeps the rest, dots included, in its last one. */
#define CS_FIELD_SEG_MAX 32
#define CS_FIELD_SHAPE_PAD 16   /* readable bytes after the end of a shape's name */
typedef struct cs_field_shape {
    const char *name;                  /* same text as cs_field_name(), padded: copy it in blocks */
    uint16_t len;                      /* strlen(name) */
    uint8_t nseg;                      /* 1..CS_FIELD_SEG_MAX */
    uint8_t plain;                     /* 1: no byte needs escaping in a JSON string */
    uint16_t off[CS_FIELD_SEG_MAX];    /* segment k: name + off[k], slen[k] bytes */
    uint16_t slen[CS_FIELD_SEG_MAX];   /* the last segment always runs to the end */
} cs_field_shape;

/* Shape of id's name ("" for an unknown id). Lock-free: a shape is published
 * before its id can be returned by cs_field_intern(). */
const cs_field_shape *cs_field_shape_of(cs_fid id);
/* shapes[i] = cs_field_shape_of(ids[i]), for a whole event at once. */
void cs_field_shapes(const cs_fid *ids, const cs_field_shape **shapes, size_t n);

#endif
