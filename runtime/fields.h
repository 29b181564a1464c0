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

#endif
