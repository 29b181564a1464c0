/* event.c - the event model (see event.h for the layout and ownership).
 *
 * Layout of the single block: [struct cs_event][cs_field x cap][arena bytes].
 * Growing fields moves the arena up inside the block; growing the arena just
 * reallocs. Capacity doubles, so building an event is amortised O(1) per add.
 *
 * Blocks are recycled: events are made on input threads and freed on the
 * correlator thread, and glibc's free of another thread's chunk costs about
 * a microsecond (arena lock). Freed blocks of ordinary size go to a
 * thread-local list, move to a global pool 64 at a time under one lock, and
 * come back to allocating threads the same way. Sanitizer builds bypass the
 * pool so use-after-free stays visible.
 */
#include "event.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

#define DEFAULT_FIELDS 16
#define DEFAULT_ARENA 256

static const char *const kind_names[CS_KIND__COUNT] = {
    [CS_KIND_NONE] = "none", [CS_KIND_FLOW] = "flow",   [CS_KIND_DNS] = "dns",
    [CS_KIND_HTTP] = "http", [CS_KIND_TLS] = "tls",     [CS_KIND_FILE] = "file",
    [CS_KIND_LOG] = "log",   [CS_KIND_ALERT] = "alert", [CS_KIND_RISK] = "risk",
    [CS_KIND_STATS] = "stats", [CS_KIND_JSON] = "json",
    [CS_KIND_YARA] = "yara",  [CS_KIND_SSH] = "ssh",
};

const char *cs_kind_name(cs_kind kind)
{
    return (unsigned)kind < CS_KIND__COUNT ? kind_names[kind] : "none";
}

cs_kind cs_kind_parse(const char *name, size_t len)
{
    for (int k = 1; k < CS_KIND__COUNT; k++) {
        if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0) {
            return (cs_kind)k;
        }
    }
    return CS_KIND_NONE;
}

static size_t block_size(size_t cap_fields, size_t arena_cap)
{
    return sizeof(struct cs_event) + cap_fields * sizeof(cs_field) + arena_cap;
}

static char *arena_of(cs_event *ev)
{
    return (char *)((cs_field *)(void *)(ev + 1) + ev->cap_fields);
}

#if defined(__SANITIZE_ADDRESS__)
#define CS_EVENT_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CS_EVENT_POOL 0
#endif
#endif
#ifndef CS_EVENT_POOL
#define CS_EVENT_POOL 1
#endif

#define POOL_BATCH 64
#define POOL_MAX 16384
#define POOL_BLOCK_MAX 16384   /* larger blocks (huge lines) go back to malloc */

#if CS_EVENT_POOL
typedef struct pool_node {
    struct pool_node *next;
} pool_node;

typedef struct tl_pool {
    pool_node *freed;   /* blocks this thread freed, not yet handed back */
    size_t nfreed;
    pool_node *ready;   /* blocks this thread may allocate from */
    size_t nready;
    bool registered;
} tl_pool;

static pthread_mutex_t g_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pool_node *g_pool;
static size_t g_pool_n;
static pthread_key_t g_pool_key;
static pthread_once_t g_pool_once = PTHREAD_ONCE_INIT;
static _Thread_local tl_pool tl;

/* Give a whole list back to the global pool (or to malloc past the cap). */
static void pool_give(pool_node *head, size_t n)
{
    pool_node *tail;
    if (head == NULL) {
        return;
    }
    pthread_mutex_lock(&g_pool_lock);
    if (g_pool_n + n <= POOL_MAX) {
        for (tail = head; tail->next != NULL; tail = tail->next) {
        }
        tail->next = g_pool;
        g_pool = head;
        g_pool_n += n;
        head = NULL;
    }
    pthread_mutex_unlock(&g_pool_lock);
    while (head != NULL) {
        pool_node *next = head->next;
        free(head);
        head = next;
    }
}

/* A thread that ends hands its cached blocks back (nothing is lost or leaked). */
static void pool_thread_exit(void *arg)
{
    tl_pool *t = arg;
    pool_give(t->freed, t->nfreed);
    pool_give(t->ready, t->nready);
    t->freed = t->ready = NULL;
    t->nfreed = t->nready = 0;
}

static void pool_init(void)
{
    pthread_key_create(&g_pool_key, pool_thread_exit);
}

static void pool_register(void)
{
    if (!tl.registered) {
        pthread_once(&g_pool_once, pool_init);
        pthread_setspecific(g_pool_key, &tl);
        tl.registered = true;
    }
}

static cs_event *pool_take(size_t nfields, size_t arena)
{
    pool_node *n;
    cs_event *ev;
    if (tl.ready == NULL) {
        pthread_mutex_lock(&g_pool_lock);
        for (size_t i = 0; i < POOL_BATCH && g_pool != NULL; i++) {
            n = g_pool;
            g_pool = n->next;
            g_pool_n--;
            n->next = tl.ready;
            tl.ready = n;
            tl.nready++;
        }
        pthread_mutex_unlock(&g_pool_lock);
        if (tl.ready == NULL) {
            return NULL;
        }
        pool_register();
    }
    n = tl.ready;
    tl.ready = n->next;
    tl.nready--;
    ev = (cs_event *)(void *)n;
    /* the header below the link still says how big the block is */
    if (ev->cap_fields < nfields || ev->arena_cap < arena) {
        free(ev);
        return NULL;
    }
    return ev;
}
#endif

cs_event *cs_event_new_sized(cs_kind kind, int64_t ts_us, size_t nfields, size_t arena)
{
    cs_event *ev = NULL;
    uint32_t cap_f, cap_a;
    if (nfields == 0) {
        nfields = DEFAULT_FIELDS;
    }
    if (arena == 0) {
        arena = DEFAULT_ARENA;
    }
    if (nfields > CS_EVENT_MAX_FIELDS || arena > CS_EVENT_MAX_BYTES) {
        return NULL;
    }
    cap_f = (uint32_t)nfields;
    cap_a = (uint32_t)arena;
#if CS_EVENT_POOL
    ev = pool_take(nfields, arena);
    if (ev != NULL) {
        cap_f = ev->cap_fields;   /* keep the block's own, larger capacity */
        cap_a = ev->arena_cap;
    }
#endif
    if (ev == NULL) {
        ev = malloc(block_size(nfields, arena));
        if (ev == NULL) {
            return NULL;
        }
    }
    memset(ev, 0, sizeof *ev);
    ev->ts_us = ts_us;
    ev->kind = (uint16_t)kind;
    ev->cap_fields = cap_f;
    ev->arena_cap = cap_a;
    return ev;
}

cs_event *cs_event_new(cs_kind kind, int64_t ts_us)
{
    return cs_event_new_sized(kind, ts_us, 0, 0);
}

cs_event *cs_event_clone(const cs_event *ev)
{
    size_t sz = block_size(ev->cap_fields, ev->arena_cap);
    cs_event *c = malloc(sz);
    if (c != NULL) {
        memcpy(c, ev, sz);
    }
    return c;
}

void cs_event_free(cs_event *ev)
{
#if CS_EVENT_POOL
    pool_node *n;
    if (ev == NULL) {
        return;
    }
    if (block_size(ev->cap_fields, ev->arena_cap) > POOL_BLOCK_MAX) {
        free(ev);
        return;
    }
    n = (pool_node *)(void *)ev;
    /* the link overwrites ts_us only; cap_fields/arena_cap stay readable */
    n->next = tl.freed;
    tl.freed = n;
    if (++tl.nfreed >= POOL_BATCH) {
        pool_give(tl.freed, tl.nfreed);
        tl.freed = NULL;
        tl.nfreed = 0;
    } else {
        pool_register();
    }
#else
    free(ev);
#endif
}

/* Make room for one more field and `need` arena bytes. */
static cs_rc reserve(cs_event **pev, size_t need)
{
    cs_event *ev = *pev;
    size_t cap_f = ev->cap_fields;
    size_t cap_a = ev->arena_cap;
    cs_event *n;

    if (ev->nfields + 1 > cap_f) {
        if (cap_f >= CS_EVENT_MAX_FIELDS) {
            return cs_err_set(CS_ERR_LIMIT, "event has more than %d fields", CS_EVENT_MAX_FIELDS);
        }
        cap_f *= 2;
        if (cap_f > CS_EVENT_MAX_FIELDS) {
            cap_f = CS_EVENT_MAX_FIELDS;
        }
    }
    if ((size_t)ev->arena_used + need > cap_a) {
        if ((size_t)ev->arena_used + need > CS_EVENT_MAX_BYTES) {
            return cs_err_set(CS_ERR_LIMIT, "event strings exceed %u bytes", CS_EVENT_MAX_BYTES);
        }
        while ((size_t)ev->arena_used + need > cap_a) {
            cap_a *= 2;
        }
        if (cap_a > CS_EVENT_MAX_BYTES) {
            cap_a = CS_EVENT_MAX_BYTES;
        }
    }
    if (cap_f == ev->cap_fields && cap_a == ev->arena_cap) {
        return CS_OK;
    }
    n = realloc(ev, block_size(cap_f, cap_a));
    if (n == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory growing an event");
    }
    if (cap_f != n->cap_fields) {
        char *old_arena = (char *)((cs_field *)(void *)(n + 1) + n->cap_fields);
        char *new_arena = (char *)((cs_field *)(void *)(n + 1) + cap_f);
        memmove(new_arena, old_arena, n->arena_used);
        n->cap_fields = (uint32_t)cap_f;
    }
    n->arena_cap = (uint32_t)cap_a;
    *pev = n;
    return CS_OK;
}

static cs_field *push(cs_event **pev, cs_fid id, cs_type type, size_t need)
{
    cs_field *f;
    if (id == CS_F_NONE) {
        cs_err_set(CS_ERR_INVAL, "field id 0 is not a field");
        return NULL;
    }
    if (reserve(pev, need) != CS_OK) {
        return NULL;
    }
    f = (cs_field *)(void *)(*pev + 1) + (*pev)->nfields++;
    memset(f, 0, sizeof *f);
    f->id = id;
    f->type = (uint8_t)type;
    return f;
}

cs_rc cs_event_add_int(cs_event **ev, cs_fid id, int64_t v)
{
    cs_field *f = push(ev, id, CS_T_INT, 0);
    if (f == NULL) {
        return CS_ERR_LIMIT;
    }
    f->v.i = v;
    return CS_OK;
}

cs_rc cs_event_add_time(cs_event **ev, cs_fid id, int64_t us)
{
    cs_field *f = push(ev, id, CS_T_TIME, 0);
    if (f == NULL) {
        return CS_ERR_LIMIT;
    }
    f->v.i = us;
    return CS_OK;
}

cs_rc cs_event_add_float(cs_event **ev, cs_fid id, double v)
{
    cs_field *f = push(ev, id, CS_T_FLOAT, 0);
    if (f == NULL) {
        return CS_ERR_LIMIT;
    }
    f->v.f = v;
    return CS_OK;
}

cs_rc cs_event_add_bool(cs_event **ev, cs_fid id, bool v)
{
    cs_field *f = push(ev, id, CS_T_BOOL, 0);
    if (f == NULL) {
        return CS_ERR_LIMIT;
    }
    f->v.b = v;
    return CS_OK;
}

cs_rc cs_event_add_ip(cs_event **ev, cs_fid id, const cs_ip *ip)
{
    cs_field *f = push(ev, id, CS_T_IP, 0);
    if (f == NULL) {
        return CS_ERR_LIMIT;
    }
    f->v.ip = *ip;
    return CS_OK;
}

cs_rc cs_event_add_str(cs_event **ev, cs_fid id, const char *s, size_t len)
{
    cs_field *f;
    char *arena;
    bool inside;
    size_t off;
    if (len >= CS_EVENT_MAX_BYTES) {
        return cs_err_set(CS_ERR_LIMIT, "string of %zu bytes exceeds the event limit", len);
    }
    /* s may point into this very event (copying one of its own strings):
     * remember where, since growing the event moves its arena */
    arena = arena_of(*ev);
    inside = s >= arena && s < arena + (*ev)->arena_used;
    off = inside ? (size_t)(s - arena) : 0;
    f = push(ev, id, CS_T_STR, len + 1);
    if (f == NULL) {
        return CS_ERR_LIMIT;
    }
    arena = arena_of(*ev);
    if (inside) {
        s = arena + off;
    }
    f->v.off = (*ev)->arena_used;
    f->len = (uint32_t)len;
    if (len > 0) {
        memcpy(arena + f->v.off, s, len);
    }
    arena[f->v.off + len] = '\0';
    (*ev)->arena_used += (uint32_t)len + 1;
    return CS_OK;
}

cs_rc cs_event_add_cstr(cs_event **ev, cs_fid id, const char *s)
{
    return cs_event_add_str(ev, id, s, strlen(s));
}

cs_rc cs_event_add_field(cs_event **ev, const cs_event *from, const cs_field *f)
{
    switch ((cs_type)f->type) {
    case CS_T_STR:
        return cs_event_add_str(ev, f->id, cs_event_strval(from, f), f->len);
    case CS_T_INT:
        return cs_event_add_int(ev, f->id, f->v.i);
    case CS_T_TIME:
        return cs_event_add_time(ev, f->id, f->v.i);
    case CS_T_FLOAT:
        return cs_event_add_float(ev, f->id, f->v.f);
    case CS_T_BOOL:
        return cs_event_add_bool(ev, f->id, f->v.b);
    case CS_T_IP:
        return cs_event_add_ip(ev, f->id, &f->v.ip);
    default:
        return cs_err_set(CS_ERR_INTERNAL, "field of unknown type %u", f->type);
    }
}

void cs_event_flag_last(cs_event *ev, uint8_t flags)
{
    if (ev != NULL && ev->nfields > 0) {
        ((cs_field *)(void *)(ev + 1))[ev->nfields - 1].flags |= flags;
    }
}

void cs_event_remove(cs_event *ev, cs_fid id)
{
    cs_field *fs = (cs_field *)(void *)(ev + 1);
    uint32_t w = 0;
    for (uint32_t r = 0; r < ev->nfields; r++) {
        if (fs[r].id != id) {
            fs[w++] = fs[r];
        }
    }
    ev->nfields = w;
}

const cs_field *cs_event_find(const cs_event *ev, cs_fid id)
{
    const cs_field *fs = cs_event_fields(ev);
    for (uint32_t i = 0; i < ev->nfields; i++) {
        if (fs[i].id == id) {
            return &fs[i];
        }
    }
    return NULL;
}

bool cs_event_get_str(const cs_event *ev, cs_fid id, const char **s, size_t *len)
{
    const cs_field *f = cs_event_find(ev, id);
    if (f == NULL || f->type != CS_T_STR) {
        return false;
    }
    *s = cs_event_strval(ev, f);
    if (len != NULL) {
        *len = f->len;
    }
    return true;
}

bool cs_event_get_int(const cs_event *ev, cs_fid id, int64_t *v)
{
    const cs_field *f = cs_event_find(ev, id);
    if (f == NULL || (f->type != CS_T_INT && f->type != CS_T_TIME)) {
        return false;
    }
    *v = f->v.i;
    return true;
}

bool cs_event_get_ip(const cs_event *ev, cs_fid id, cs_ip *ip)
{
    const cs_field *f = cs_event_find(ev, id);
    if (f == NULL || f->type != CS_T_IP) {
        return false;
    }
    *ip = f->v.ip;
    return true;
}

const char *cs_field_text(const cs_event *ev, const cs_field *f, char *buf, size_t bufsz, size_t *len)
{
    int n = 0;
    switch ((cs_type)f->type) {
    case CS_T_STR:
        *len = f->len;
        return cs_event_strval(ev, f);
    case CS_T_INT:
        n = snprintf(buf, bufsz, "%" PRId64, f->v.i);
        break;
    case CS_T_FLOAT:
        for (int prec = 15; prec <= 17; prec++) {
            n = snprintf(buf, bufsz, "%.*g", prec, f->v.f);
            if (n > 0 && (size_t)n < bufsz && strtod(buf, NULL) == f->v.f) {
                break;
            }
        }
        break;
    case CS_T_BOOL:
        n = snprintf(buf, bufsz, "%s", f->v.b ? "true" : "false");
        break;
    case CS_T_IP:
        n = (int)cs_ip_format(&f->v.ip, buf, bufsz);
        break;
    case CS_T_TIME:
        n = (int)cs_time_format(f->v.i, buf, bufsz);
        break;
    default:
        buf[0] = '\0';
        break;
    }
    if (n < 0) {
        n = 0;
    }
    *len = (size_t)n < bufsz ? (size_t)n : bufsz - 1;
    return buf;
}

bool cs_ip_parse(const char *s, size_t len, cs_ip *ip)
{
    char tmp[64];
    if (len == 0 || len >= sizeof tmp) {
        return false;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    memset(ip, 0, sizeof *ip);
    if (inet_pton(AF_INET, tmp, ip->addr) == 1) {
        ip->family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, tmp, ip->addr) == 1) {
        ip->family = 6;
        return true;
    }
    return false;
}

size_t cs_ip_format(const cs_ip *ip, char *buf, size_t bufsz)
{
    if (inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->addr, buf, (socklen_t)bufsz) == NULL) {
        if (bufsz > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    return strlen(buf);
}

bool cs_ip_equal(const cs_ip *a, const cs_ip *b)
{
    return a->family == b->family && memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}
