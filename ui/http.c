/* http.c - libmicrohttpd server for the API and the console (see http.h).
 *
 * Limits: a small thread pool, a connection cap, per-connection timeouts and
 * no request bodies accepted yet (every route is GET), so a hostile client
 * can hold a few sockets but not memory.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/timeutil.h"
#include "../store/store.h"

#define MAX_STATIC (4u * 1024u * 1024u)

struct cs_http {
    struct MHD_Daemon *d;
    char *listen;
    char *db_path;
    char *static_dir;
    void (*health)(cs_buf *out, void *ud);
    void *ud;
    int port;
};

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type, const char *data,
                                size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy", "default-src 'self'");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    cs_buf b;
    enum MHD_Result ret;
    cs_buf_init(&b);
    cs_buf_append_cstr(&b, "{\"error\":");
    cs_buf_json_str(&b, msg, strlen(msg));
    cs_buf_append_cstr(&b, "}\n");
    ret = b.failed ? MHD_NO : send_buf(c, status, "application/json", b.data, b.len);
    cs_buf_free(&b);
    return ret;
}

static void put_time(cs_buf *b, int64_t us)
{
    char t[40];
    size_t n = cs_time_format(us, t, sizeof t);
    cs_buf_json_str(b, t, n);
}

typedef struct list_ctx {
    cs_buf *b;
    size_t n;
} list_ctx;

static void put_kv_str(cs_buf *b, const char *k, const char *v, bool comma)
{
    if (comma) {
        cs_buf_putc(b, ',');
    }
    cs_buf_json_str(b, k, strlen(k));
    cs_buf_putc(b, ':');
    if (v == NULL || v[0] == '\0') {
        cs_buf_append_cstr(b, "null");
    } else {
        cs_buf_json_str(b, v, strlen(v));
    }
}

static void list_row(const cs_alert_row *r, void *ud)
{
    list_ctx *c = ud;
    cs_buf *b = c->b;
    if (c->n++ > 0) {
        cs_buf_putc(b, ',');
    }
    cs_buf_putc(b, '{');
    put_kv_str(b, "id", r->id, false);
    put_kv_str(b, "rule_id", r->rule_id, true);
    put_kv_str(b, "title", r->title, true);
    put_kv_str(b, "level", r->level, true);
    put_kv_str(b, "detector", r->detector, true);
    put_kv_str(b, "status", r->status, true);
    put_kv_str(b, "system_id", r->system_id, true);
    put_kv_str(b, "source_ip", r->source_ip, true);
    put_kv_str(b, "destination_ip", r->destination_ip, true);
    put_kv_str(b, "host_name", r->host_name, true);
    cs_buf_printf(b, ",\"risk\":%.2f,\"count\":%lld,\"first_seen\":", r->risk, (long long)r->count);
    put_time(b, r->first_seen);
    cs_buf_append_cstr(b, ",\"last_seen\":");
    put_time(b, r->last_seen);
    cs_buf_append_cstr(b, ",\"doc\":");
    cs_buf_append_cstr(b, r->doc[0] ? r->doc : "null");
    cs_buf_putc(b, '}');
}

static enum MHD_Result serve_alerts(cs_http *h, struct MHD_Connection *c)
{
    const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    long limit = 100;
    cs_store *s = NULL;
    cs_buf b;
    list_ctx ctx;
    int64_t total = 0;
    enum MHD_Result ret;
    cs_rc rc;

    if (lim != NULL) {
        char *end;
        errno = 0;
        limit = strtol(lim, &end, 10);
        if (errno != 0 || *end != '\0' || limit < 1 || limit > 1000) {
            return send_error(c, MHD_HTTP_BAD_REQUEST, "limit must be a whole number from 1 to 1000");
        }
    }
    if (h->db_path == NULL) {
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no store is configured");
    }
    rc = cs_store_open(h->db_path, true, &s);
    if (rc != CS_OK) {
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, cs_err_msg());
    }
    cs_buf_init(&b);
    ctx.b = &b;
    ctx.n = 0;
    cs_buf_append_cstr(&b, "{\"alerts\":[");
    rc = cs_store_foreach_alert(s, (size_t)limit, list_row, &ctx);
    if (rc == CS_OK) {
        rc = cs_store_count_alerts(s, &total);
    }
    cs_store_close(s);
    if (rc != CS_OK) {
        cs_buf_free(&b);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, cs_err_msg());
    }
    cs_buf_printf(&b, "],\"returned\":%zu,\"total\":%lld}\n", ctx.n, (long long)total);
    ret = b.failed ? send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory")
                   : send_buf(c, MHD_HTTP_OK, "application/json", b.data, b.len);
    cs_buf_free(&b);
    return ret;
}

static enum MHD_Result serve_health(cs_http *h, struct MHD_Connection *c)
{
    cs_buf b;
    enum MHD_Result ret;
    cs_buf_init(&b);
    cs_buf_append_cstr(&b, "{\"status\":\"ok\",\"version\":\"" CS_VERSION "\",\"time\":");
    put_time(&b, cs_now_us());
    cs_buf_append_cstr(&b, ",\"ingest\":{");
    if (h->health != NULL) {
        h->health(&b, h->ud);
    }
    cs_buf_append_cstr(&b, "}}\n");
    ret = b.failed ? MHD_NO : send_buf(c, MHD_HTTP_OK, "application/json", b.data, b.len);
    cs_buf_free(&b);
    return ret;
}

static const char *mime_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL) {
        return "application/octet-stream";
    }
    if (strcmp(dot, ".html") == 0) {
        return "text/html; charset=utf-8";
    }
    if (strcmp(dot, ".js") == 0) {
        return "text/javascript; charset=utf-8";
    }
    if (strcmp(dot, ".css") == 0) {
        return "text/css; charset=utf-8";
    }
    if (strcmp(dot, ".json") == 0) {
        return "application/json";
    }
    if (strcmp(dot, ".svg") == 0) {
        return "image/svg+xml";
    }
    return "application/octet-stream";
}

static enum MHD_Result serve_static(cs_http *h, struct MHD_Connection *c, const char *url)
{
    const char *name = url[1] == '\0' ? "index.html" : url + 1;
    char path[4096];
    struct stat sb;
    char *data;
    int fd;
    ssize_t got;
    enum MHD_Result ret;

    if (h->static_dir == NULL) {
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such resource");
    }
    /* plain file names only: no directories, no dot files, so no traversal */
    if (name[0] == '.' || strlen(name) > 128 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                              "0123456789._-") != strlen(name)) {
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such resource");
    }
    snprintf(path, sizeof path, "%s/%s", h->static_dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such resource");
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)MAX_STATIC) {
        close(fd);
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such resource");
    }
    data = malloc((size_t)sb.st_size + 1);
    if (data == NULL) {
        close(fd);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    got = read(fd, data, (size_t)sb.st_size);
    close(fd);
    if (got != (ssize_t)sb.st_size) {
        free(data);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the file");
    }
    ret = send_buf(c, MHD_HTTP_OK, mime_of(name), data, (size_t)got);
    free(data);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
    cs_http *h = cls;
    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (*upload_size != 0) {
        *upload_size = 0;   /* no route takes a body yet */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is served here");
    }
    if (strcmp(url, "/health") == 0) {
        return serve_health(h, c);
    }
    if (strcmp(url, "/api/v1/alerts") == 0) {
        return serve_alerts(h, c);
    }
    if (strncmp(url, "/api/", 5) == 0) {
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such API resource");
    }
    return serve_static(h, c, url);
}

void cs_http_stop(cs_http *h)
{
    if (h == NULL) {
        return;
    }
    if (h->d != NULL) {
        MHD_stop_daemon(h->d);
    }
    free(h->listen);
    free(h->db_path);
    free(h->static_dir);
    free(h);
}

int cs_http_port(const cs_http *h)
{
    return h->port;
}

cs_rc cs_http_start(const cs_http_opts *o, cs_http **out)
{
    cs_http *h = calloc(1, sizeof *h);
    struct sockaddr_storage ss;
    socklen_t sl;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    cs_rc rc;

    *out = NULL;
    memset(&ss, 0, sizeof ss);
    if (h == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    if (inet_pton(AF_INET, o->listen, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)o->port);
        sl = sizeof *a;
    } else if (inet_pton(AF_INET6, o->listen, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)o->port);
        sl = sizeof *a;
        flags |= MHD_USE_IPv6;
    } else {
        free(h);
        return cs_err_set(CS_ERR_CONFIG, "http.listen '%s' is not an IP address", o->listen);
    }
    (void)sl;
    h->listen = strdup(o->listen);
    h->db_path = o->db_path ? strdup(o->db_path) : NULL;
    h->static_dir = o->static_dir ? strdup(o->static_dir) : NULL;
    h->health = o->health;
    h->ud = o->ud;
    h->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &ss,
                            MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, 256u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t)65536, MHD_OPTION_END);
    if (h->d == NULL) {
        rc = cs_err_set(CS_ERR_IO, "cannot listen on %s port %d (in use, or not an address of this machine)",
                        o->listen, o->port);
        cs_http_stop(h);
        return rc;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : o->port;
    *out = h;
    return CS_OK;
}
