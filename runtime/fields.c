/* fields.c - interned field names (see fields.h).
 *
 * Open-addressing hash from name to id, behind a mutex; id to name is a flat
 * array published with release stores so readers need no lock. The table is
 * sized for CS_FIELD_MAX so it never rehashes (ids and name pointers stay put).
 * Each name also gets its dot-segment shape (fields.h), computed before the id
 * is published and stored in the same block as an interned name.
 */
#include "fields.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HASH_SLOTS (CS_FIELD_MAX * 2)

static const char *const canon_names[CS_F__CANONICAL_END] = {
    [CS_F_NONE] = "",
#define X(id, name, type) [CS_F_##id] = name,
#include "fields.def"
#undef X
};

static const cs_type canon_types[CS_F__CANONICAL_END] = {
    [CS_F_NONE] = CS_T_ANY,
#define X(id, name, type) [CS_F_##id] = type,
#include "fields.def"
#undef X
};

static _Atomic(const char *) g_names[CS_FIELD_MAX];
static _Atomic(const cs_field_shape *) g_shapes[CS_FIELD_MAX];
static cs_field_shape g_canon_shapes[CS_F__CANONICAL_END];
/* canonical names again, each followed by CS_FIELD_SHAPE_PAD zero bytes */
enum {
    CANON_POOL = 0
#define X(id, name, type) +sizeof(name) + CS_FIELD_SHAPE_PAD
#include "fields.def"
#undef X
};
static char g_canon_pool[CANON_POOL];
static const char g_empty_name[1 + CS_FIELD_SHAPE_PAD];
static const cs_field_shape g_empty_shape = {g_empty_name, 0, 1, 1, {0}, {0}};
static atomic_size_t g_count;
static cs_fid g_slots[HASH_SLOTS];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static uint32_t hash_name(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Split exactly like the JSON writer always did: at most CS_FIELD_SEG_MAX
 * segments, the last one running to the end of the name. */
static void make_shape(cs_field_shape *sh, const char *name, size_t len)
{
    size_t start = 0;
    int n = 0;
    memset(sh, 0, sizeof *sh);
    sh->name = name;
    sh->len = (uint16_t)len;
    sh->plain = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
            sh->plain = 0;
        }
        if (c == '.' && n < CS_FIELD_SEG_MAX - 1) {
            sh->off[n] = (uint16_t)start;
            sh->slen[n] = (uint16_t)(i - start);
            n++;
            start = i + 1;
        }
    }
    sh->off[n] = (uint16_t)start;
    sh->slen[n] = (uint16_t)(len - start);
    sh->nseg = (uint8_t)(n + 1);
}

/* Caller holds g_lock (or is the once-initialiser). */
static size_t find_slot(const char *name, size_t len)
{
    size_t i = hash_name(name, len) % HASH_SLOTS;
    for (;;) {
        cs_fid id = g_slots[i];
        if (id == CS_F_NONE) {
            return i;
        }
        const char *n = atomic_load_explicit(&g_names[id], memory_order_relaxed);
        if (strncmp(n, name, len) == 0 && n[len] == '\0') {
            return i;
        }
        i = (i + 1) % HASH_SLOTS;
    }
}

static void init_registry(void)
{
    size_t pool = 0;
    for (size_t id = 1; id < CS_F__CANONICAL_END; id++) {
        const char *n = canon_names[id];
        size_t len = strlen(n);
        atomic_store_explicit(&g_names[id], n, memory_order_relaxed);
        g_slots[find_slot(n, len)] = (cs_fid)id;
        memcpy(g_canon_pool + pool, n, len + 1);
        make_shape(&g_canon_shapes[id], g_canon_pool + pool, len);
        pool += len + 1 + CS_FIELD_SHAPE_PAD;
        atomic_store_explicit(&g_shapes[id], &g_canon_shapes[id], memory_order_relaxed);
    }
    atomic_store_explicit(&g_names[0], "", memory_order_relaxed);
    atomic_store_explicit(&g_shapes[0], &g_empty_shape, memory_order_relaxed);
    atomic_store_explicit(&g_count, CS_F__CANONICAL_END, memory_order_release);
}

cs_fid cs_field_lookup(const char *name, size_t len)
{
    cs_fid id;
    pthread_once(&g_once, init_registry);
    if (len == 0 || len > CS_FIELD_NAME_MAX) {
        return CS_F_NONE;
    }
    pthread_mutex_lock(&g_lock);
    id = g_slots[find_slot(name, len)];
    pthread_mutex_unlock(&g_lock);
    return id;
}

cs_fid cs_field_intern(const char *name, size_t len)
{
    cs_fid id = CS_F_NONE;
    size_t slot;
    pthread_once(&g_once, init_registry);
    if (len == 0 || len > CS_FIELD_NAME_MAX || memchr(name, '\0', len) != NULL) {
        return CS_F_NONE;
    }
    pthread_mutex_lock(&g_lock);
    slot = find_slot(name, len);
    id = g_slots[slot];
    if (id == CS_F_NONE) {
        size_t n = atomic_load_explicit(&g_count, memory_order_relaxed);
        cs_field_shape *sh;
        char *copy;
        /* one block: the shape, then the padded name (never freed) */
        if (n >= CS_FIELD_MAX || (sh = malloc(sizeof *sh + len + 1 + CS_FIELD_SHAPE_PAD)) == NULL) {
            goto out;
        }
        copy = (char *)(sh + 1);
        memcpy(copy, name, len);
        memset(copy + len, 0, 1 + CS_FIELD_SHAPE_PAD);
        make_shape(sh, copy, len);
        atomic_store_explicit(&g_shapes[n], sh, memory_order_release);
        atomic_store_explicit(&g_names[n], copy, memory_order_release);
        g_slots[slot] = (cs_fid)n;
        atomic_store_explicit(&g_count, n + 1, memory_order_release);
        id = (cs_fid)n;
    }
out:
    pthread_mutex_unlock(&g_lock);
    return id;
}

const char *cs_field_name(cs_fid id)
{
    const char *n;
    pthread_once(&g_once, init_registry);
    if (id >= atomic_load_explicit(&g_count, memory_order_acquire)) {
        return "";
    }
    n = atomic_load_explicit(&g_names[id], memory_order_acquire);
    return n ? n : "";
}

const cs_field_shape *cs_field_shape_of(cs_fid id)
{
    const cs_field_shape *sh;
    pthread_once(&g_once, init_registry);
    if (id >= CS_FIELD_MAX) {
        return &g_empty_shape;
    }
    sh = atomic_load_explicit(&g_shapes[id], memory_order_acquire);
    return sh ? sh : &g_empty_shape;
}

void cs_field_shapes(const cs_fid *ids, const cs_field_shape **shapes, size_t n)
{
    pthread_once(&g_once, init_registry);
    for (size_t i = 0; i < n; i++) {
        /* acquire pairs with the release store in cs_field_intern(): the
         * shape's contents are visible once its pointer is */
        const cs_field_shape *sh =
            ids[i] < CS_FIELD_MAX ? atomic_load_explicit(&g_shapes[ids[i]], memory_order_acquire) : NULL;
        shapes[i] = sh ? sh : &g_empty_shape;
    }
}

cs_type cs_field_type(cs_fid id)
{
    return id < CS_F__CANONICAL_END ? canon_types[id] : CS_T_ANY;
}

size_t cs_field_count(void)
{
    pthread_once(&g_once, init_registry);
    return atomic_load_explicit(&g_count, memory_order_acquire);
}

/* ---- ranks in dot-segment order (see fields.h) ----
 * A seqlock guards the rank array: re-ranking (under g_rank_lock) makes the
 * sequence odd while it writes; readers retry if the sequence moved, so one
 * event never mixes two rankings. */
static atomic_uint g_rank[CS_FIELD_MAX];
static atomic_size_t g_ranked;
static atomic_uint g_rank_seq;
static pthread_mutex_t g_rank_lock = PTHREAD_MUTEX_INITIALIZER;

static int seg_cmp(const char *a, const char *b)
{
    for (;;) {
        unsigned char ca = (unsigned char)*a;
        unsigned char cb = (unsigned char)*b;
        if (ca == cb) {
            if (ca == '\0') {
                return 0;
            }
            a++;
            b++;
            continue;
        }
        if (ca == '\0') {
            return -1;
        }
        if (cb == '\0') {
            return 1;
        }
        if (ca == '.') {
            return -1;
        }
        if (cb == '.') {
            return 1;
        }
        return ca < cb ? -1 : 1;
    }
}

static int cmp_ids(const void *pa, const void *pb)
{
    return seg_cmp(cs_field_name(*(const cs_fid *)pa), cs_field_name(*(const cs_fid *)pb));
}

static bool rerank(void)
{
    size_t n = cs_field_count();
    cs_fid *ids;
    pthread_mutex_lock(&g_rank_lock);
    if (atomic_load(&g_ranked) >= n) {
        pthread_mutex_unlock(&g_rank_lock);
        return true;
    }
    ids = malloc(n * sizeof *ids);
    if (ids != NULL) {
        for (size_t i = 0; i < n; i++) {
            ids[i] = (cs_fid)i;
        }
        qsort(ids, n, sizeof *ids, cmp_ids);
        atomic_fetch_add(&g_rank_seq, 1);   /* odd: writing */
        for (size_t i = 0; i < n; i++) {
            atomic_store_explicit(&g_rank[ids[i]], (unsigned)i, memory_order_relaxed);
        }
        atomic_store(&g_ranked, n);
        atomic_fetch_add(&g_rank_seq, 1);   /* even: stable */
        free(ids);
    }
    pthread_mutex_unlock(&g_rank_lock);
    return ids != NULL;
}

bool cs_field_ranks_exact(const cs_fid *ids, uint32_t *ranks, size_t n)
{
    for (;;) {
        unsigned s1 = atomic_load_explicit(&g_rank_seq, memory_order_acquire);
        size_t ranked = atomic_load_explicit(&g_ranked, memory_order_acquire);
        bool need = (s1 & 1u) != 0;
        for (size_t i = 0; i < n && !need; i++) {
            if (ids[i] >= ranked) {
                if (ids[i] >= cs_field_count()) {
                    /* an id nobody interned (a corrupt event): no name to rank by */
                    for (size_t k = 0; k < n; k++) {
                        ranks[k] = ids[k];
                    }
                    return false;
                }
                need = true;
            } else {
                ranks[i] = atomic_load_explicit(&g_rank[ids[i]], memory_order_relaxed);
            }
        }
        if (need) {
            if (!rerank()) {
                for (size_t i = 0; i < n; i++) {
                    ranks[i] = ids[i];   /* out of memory: id order, still deterministic */
                }
                return false;
            }
            continue;
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&g_rank_seq, memory_order_relaxed) == s1) {
            return true;
        }
    }
}

void cs_field_ranks(const cs_fid *ids, uint32_t *ranks, size_t n)
{
    (void)cs_field_ranks_exact(ids, ranks, n);
}
