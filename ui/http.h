/* http.h - the HTTP API server (libmicrohttpd) and the static console.
 *
 * Serves, on the configured address only:
 *   GET /health             liveness and ingest counters (JSON)
 *   GET /api/v1/alerts      newest alerts from the store (JSON), ?limit=1..1000
 *   GET /, /<file>          the web console from static_dir (plain names only)
 * Anything else is a JSON 404/405. Each request opens its own read-only store
 * connection (WAL lets it read while the writer writes).
 *
 * Ownership: cs_http_start() returns a server the caller stops with
 * cs_http_stop(). Option strings are copied.
 */
#ifndef CS_HTTP_H
#define CS_HTTP_H

#include "../runtime/err.h"
#include "../runtime/json.h"

typedef struct cs_http cs_http;

typedef struct cs_http_opts {
    const char *listen;       /* IPv4 or IPv6 literal */
    int port;                 /* 0: pick a free port (see cs_http_port) */
    const char *db_path;
    const char *static_dir;   /* may be NULL */
    /* fills the "ingest" object of /health (without braces); may be NULL */
    void (*health)(cs_buf *out, void *ud);
    void *ud;
} cs_http_opts;

cs_rc cs_http_start(const cs_http_opts *opts, cs_http **out);
int cs_http_port(const cs_http *h);
void cs_http_stop(cs_http *h);

#endif
