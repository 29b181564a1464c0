/* collect.h - for unit tests: a cs_event_sink that keeps every event, and
 * small typed readers of event fields. Header-only (static functions), one
 * copy per test program; include after cmocka and the event headers. */
#ifndef CS_TEST_COLLECT_H
#define CS_TEST_COLLECT_H

#include <stdlib.h>
#include <string.h>

#include "runtime/err.h"
#include "runtime/event.h"

/* A sink that keeps every event (owned here until collect_free). */
typedef struct collect {
    cs_event **ev;
    size_t n, cap;
    size_t stop_after;   /* 0 = never stop */
} collect;

static inline cs_rc collect_sink(cs_event *ev, void *ud)
{
    collect *c = ud;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 32;
        cs_event **nv = realloc(c->ev, ncap * sizeof *nv);
        if (nv == NULL) {
            cs_event_free(ev);
            return cs_err_set(CS_ERR_NOMEM, "test sink out of memory");
        }
        c->ev = nv;
        c->cap = ncap;
    }
    c->ev[c->n++] = ev;
    if (c->stop_after != 0 && c->n >= c->stop_after) {
        return cs_err_set(CS_ERR_CLOSED, "test sink: enough");
    }
    return CS_OK;
}

static inline void collect_free(collect *c)
{
    for (size_t i = 0; i < c->n; i++) {
        cs_event_free(c->ev[i]);
    }
    free(c->ev);
    memset(c, 0, sizeof *c);
}

static inline const char *ev_str(const cs_event *ev, cs_fid id)
{
    const char *s;
    size_t len;
    return cs_event_get_str(ev, id, &s, &len) ? s : NULL;
}

static inline int64_t ev_int(const cs_event *ev, cs_fid id)
{
    int64_t v = -1;
    cs_event_get_int(ev, id, &v);
    return v;
}

static inline int ev_ip_is(const cs_event *ev, cs_fid id, const char *text)
{
    cs_ip a, b;
    if (!cs_event_get_ip(ev, id, &a) || !cs_ip_parse(text, strlen(text), &b)) {
        return 0;
    }
    return cs_ip_equal(&a, &b);
}

static inline size_t count_field(const cs_event *ev, cs_fid id)
{
    size_t n = 0;
    const cs_field *fs = cs_event_fields(ev);
    for (size_t i = 0; i < cs_event_nfields(ev); i++) {
        n += fs[i].id == id;
    }
    return n;
}

#endif
