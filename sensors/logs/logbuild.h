/* logbuild.h - small helpers the log parsers share (internal to
 * sensors/logs): a span of the input line, and an event builder whose error
 * is sticky, so a parser adds fields in a row and checks once at the end. */
#ifndef CS_LOGBUILD_H
#define CS_LOGBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../../runtime/event.h"

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct bld {
    cs_event *ev;
    cs_rc rc;
    /* the bytes the event's message field holds (or will), when the parser
     * knows: strings cut from there are flagged CS_FIELD_IN_MESSAGE */
    const char *msg_lo, *msg_hi;
} bld;

static inline void add_str(bld *b, cs_fid id, const char *s, size_t n)
{
    if (b->rc == CS_OK && id != CS_F_NONE) {
        b->rc = cs_event_add_str(&b->ev, id, s, n);
        if (b->rc == CS_OK && b->msg_lo != NULL && id != CS_F_MESSAGE && (uintptr_t)s >= (uintptr_t)b->msg_lo &&
            (uintptr_t)s + n <= (uintptr_t)b->msg_hi) {
            cs_event_flag_last(b->ev, CS_FIELD_IN_MESSAGE);
        }
    }
}

static inline void add_cstr(bld *b, cs_fid id, const char *s)
{
    add_str(b, id, s, strlen(s));
}

static inline void add_int(bld *b, cs_fid id, int64_t v)
{
    if (b->rc == CS_OK && id != CS_F_NONE) {
        b->rc = cs_event_add_int(&b->ev, id, v);
    }
}

static inline void add_time(bld *b, cs_fid id, int64_t v)
{
    if (b->rc == CS_OK && id != CS_F_NONE) {
        b->rc = cs_event_add_time(&b->ev, id, v);
    }
}

static inline void add_ip(bld *b, cs_fid id, const cs_ip *ip)
{
    if (b->rc == CS_OK && id != CS_F_NONE) {
        b->rc = cs_event_add_ip(&b->ev, id, ip);
    }
}

static inline bool span_is(span v, const char *lit)
{
    size_t n = strlen(lit);
    return v.p != NULL && v.n == n && memcmp(v.p, lit, n) == 0;
}

static inline bool span_icase(span v, const char *lit)
{
    size_t n = strlen(lit);
    return v.p != NULL && v.n == n && strncasecmp(v.p, lit, n) == 0;
}

/* Decimal digits only, at most 18 (no overflow). */
static inline bool span_uint(span v, int64_t *out)
{
    int64_t x = 0;
    if (v.p == NULL || v.n == 0 || v.n > 18) {
        return false;
    }
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') {
            return false;
        }
        x = x * 10 + (v.p[i] - '0');
    }
    *out = x;
    return true;
}

/* Names a line may not set: cs_log_common() owns them (no forged logsource). */
static inline bool reserved_key(span k)
{
    return (k.n >= 8 && memcmp(k.p, "citysoc.", 8) == 0) || span_is(k, "event.original") ||
           span_is(k, "event.created");
}

/* A protocol given by name or IANA number -> network.transport (lowercase)
 * and network.iana_number. */
static inline void map_transport_span(bld *b, span v)
{
    static const struct {
        const char *name;
        int num;
    } protos[] = {{"icmp", 1}, {"igmp", 2}, {"tcp", 6}, {"udp", 17}, {"gre", 47},
                  {"esp", 50}, {"ah", 51},  {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132}};
    char low[16];
    int64_t num = -1;
    if (v.n == 0 || v.n >= sizeof low) {
        return;
    }
    for (size_t i = 0; i < v.n; i++) {
        low[i] = (char)(v.p[i] >= 'A' && v.p[i] <= 'Z' ? v.p[i] - 'A' + 'a' : v.p[i]);
    }
    if (!span_uint(v, &num)) {
        num = -1;
    }
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        if (span_is((span){low, v.n}, protos[i].name) || num == protos[i].num) {
            add_cstr(b, CS_F_NETWORK_TRANSPORT, protos[i].name);
            add_int(b, CS_F_NETWORK_IANA_NUMBER, protos[i].num);
            return;
        }
    }
    if (num < 0) {
        add_str(b, CS_F_NETWORK_TRANSPORT, low, v.n);
    }
}

#endif
