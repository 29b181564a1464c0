/* collect.c - log inputs + parsers -> events (see collect.h).
 *
 * One line handler serves every input: it parses the line with the input's
 * format, adds what the input knows, and submits. The handler runs on the
 * input's own thread (tail thread, listener thread, stdin thread), so parsing
 * is spread over the inputs rather than done by the correlator.
 */
#include "collect.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/log.h"
#include "../../runtime/timeutil.h"
#include "input.h"
#include "net_input.h"
#include "tail.h"

typedef struct line_ctx {
    cs_log_format fmt;
    cs_log_ctx lctx;
    cs_event_sink sink;
    void *ud;
    bool nonblocking;
    atomic_ullong lines, events, truncated, drops, errors;
} line_ctx;

static cs_rc add_peer(cs_event **ev, const cs_line_meta *m)
{
    char ip[64];
    char addr[80];
    cs_rc rc;
    if (m->peer.family == 0) {
        return CS_OK;
    }
    cs_ip_format(&m->peer, ip, sizeof ip);
    snprintf(addr, sizeof addr, m->peer.family == 6 ? "[%s]:%u" : "%s:%u", ip, m->peer_port);
    rc = cs_event_add_cstr(ev, cs_field_intern("log.source.address", 18), addr);
    if (rc == CS_OK && cs_event_find(*ev, CS_F_OBSERVER_NAME) == NULL && m->source != NULL) {
        rc = cs_event_add_cstr(ev, CS_F_OBSERVER_NAME, m->source);
    }
    return rc;
}

/* cs_line_sink for every input */
static cs_rc on_line(const char *line, size_t len, const cs_line_meta *m, void *ud)
{
    line_ctx *lc = ud;
    cs_log_ctx ctx = lc->lctx;
    cs_event *ev = NULL;
    cs_rc rc;

    ctx.received_us = m->received_us ? m->received_us : cs_now_us();
    if (strcmp(m->transport, "file") == 0 && m->source != NULL) {
        ctx.file_path = m->source;
    }
    rc = cs_log_parse_line(lc->fmt, line, len, &ctx, &ev);
    if (rc == CS_OK) {
        rc = add_peer(&ev, m);
    }
    if (rc == CS_OK && ctx.host != NULL && cs_event_find(ev, CS_F_HOST_NAME) == NULL) {
        rc = cs_event_add_cstr(&ev, CS_F_HOST_NAME, ctx.host);
    }
    if (rc == CS_OK && m->truncated) {
        rc = cs_event_add_cstr(&ev, CS_F_TAGS, "citysoc.truncated");
    }
    if (rc != CS_OK) {
        /* only memory or event limits get here: count, report, keep going */
        atomic_fetch_add(&lc->errors, 1);
        CS_WARN("logs", "%s: line dropped: %s", m->source ? m->source : m->transport, cs_err_msg());
        cs_event_free(ev);
        return CS_OK;
    }
    if (lc->nonblocking) {
        rc = lc->sink(ev, lc->ud);
        if (rc == CS_ERR_FULL) {
            cs_event_free(ev);   /* not taken: the input drops (UDP) or retries (TCP) */
            return CS_ERR_FULL;
        }
    } else {
        rc = lc->sink(ev, lc->ud);
    }
    if (rc != CS_OK) {
        return rc;
    }
    atomic_fetch_add(&lc->lines, 1);
    atomic_fetch_add(&lc->events, 1);
    if (m->truncated) {
        atomic_fetch_add(&lc->truncated, 1);
    }
    return CS_OK;
}

static cs_rc format_of(const char *name, const char *where, cs_log_format *out)
{
    int f = cs_log_format_parse(name ? name : "auto");
    if (f < 0) {
        return cs_err_set(CS_ERR_CONFIG, "%s: unknown log format '%s' (known: %s)", where, name,
                          cs_log_format_names());
    }
    *out = (cs_log_format)f;
    return CS_OK;
}

cs_rc cs_collect_file(const char *path, const char *format, const char *host, size_t max_line, int tz_offset_s,
                      cs_event_sink sink, void *ud, cs_collect_file_stats *st)
{
    line_ctx lc;
    struct stat sb;
    uint64_t lines = 0;
    int fd;
    cs_rc rc;

    memset(&lc, 0, sizeof lc);
    if (st != NULL) {
        memset(st, 0, sizeof *st);
    }
    if ((rc = format_of(format, path, &lc.fmt)) != CS_OK) {
        return rc;
    }
    fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return cs_err_set(CS_ERR_IO, "%s: cannot open log: %s", path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0 || S_ISDIR(sb.st_mode)) {
        close(fd);
        return cs_err_set(CS_ERR_IO, "%s: is a directory, not a log file", path);
    }
    /* a regular file's stamps without a year belong near its last write; a
     * pipe's near now */
    lc.lctx.time.reference_us =
        S_ISREG(sb.st_mode) ? (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000 : 0;
    lc.lctx.time.tz_offset_s = tz_offset_s;
    lc.lctx.host = host;
    lc.lctx.file_path = strcmp(path, "-") == 0 ? NULL : path;   /* cs_fd_read_lines says "stdin" */
    lc.sink = sink;
    lc.ud = ud;
    rc = cs_fd_read_lines(fd, strcmp(path, "-") == 0 ? "stdin" : path, max_line ? max_line : CS_LINE_MAX_DEFAULT,
                          on_line, &lc, &lines);
    close(fd);
    if (st != NULL) {
        st->lines = lines;
        st->events = atomic_load(&lc.events);
        st->truncated = atomic_load(&lc.truncated);
        st->bytes = (uint64_t)sb.st_size;
    }
    return rc;
}

/* ---- live inputs ---- */

/* stdin: a relay thread copies stdin into a pipe while watching a stop
 * pipe, so stopping never waits on a terminal that does not close; the
 * reader thread frames lines from the pipe and sees EOF when the relay ends. */
typedef struct stdin_input {
    pthread_t reader, relay;
    bool started;
    int data[2];
    int stop[2];
    line_ctx lc;
    size_t max_line;
    cs_rc rc;
} stdin_input;

struct cs_collector {
    const cs_config *cfg;
    cs_tail **tails;
    line_ctx *tail_lc;
    size_t ntails;
    cs_net_input **nets;
    line_ctx *net_lc;
    size_t nnets;
    stdin_input in;
};

static void *stdin_reader(void *arg)
{
    stdin_input *s = arg;
    uint64_t lines = 0;
    s->rc = cs_fd_read_lines(s->data[0], "stdin", s->max_line, on_line, &s->lc, &lines);
    CS_INFO("logs", "stdin closed after %llu lines", (unsigned long long)lines);
    return NULL;
}

static void *stdin_relay(void *arg)
{
    stdin_input *s = arg;
    char buf[65536];
    for (;;) {
        struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
        ssize_t n, off = 0;
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (p[1].revents != 0) {
            break;
        }
        n = read(STDIN_FILENO, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        while (off < n) {
            ssize_t w = write(s->data[1], buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                goto out;
            }
            off += w;
        }
    }
out:
    close(s->data[1]);   /* the reader sees EOF after the last bytes */
    return NULL;
}

static void line_ctx_init(line_ctx *lc, const cs_config *cfg, cs_log_format fmt, cs_event_sink sink, void *ud,
                          bool nonblocking)
{
    memset(lc, 0, sizeof *lc);
    lc->fmt = fmt;
    lc->lctx.time.tz_offset_s = cfg->tz_offset_s;
    lc->sink = sink;
    lc->ud = ud;
    lc->nonblocking = nonblocking;
}

cs_rc cs_collector_start(const cs_config *cfg, cs_event_sink sink, cs_event_sink try_sink, void *ud,
                         cs_collector **out)
{
    return cs_collector_start_acked(cfg, sink, try_sink, ud, NULL, out);
}

cs_rc cs_collector_start_acked(const cs_config *cfg, cs_event_sink sink, cs_event_sink try_sink, void *ud,
                               const cs_collector_ack *ack, cs_collector **out)
{
    cs_collector *c = calloc(1, sizeof *c);
    char where[600];
    char *state_dir = NULL;
    cs_rc rc = CS_OK;

    *out = NULL;
    if (c == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    c->cfg = cfg;
    c->tails = calloc(cfg->ntails + 1, sizeof *c->tails);
    c->tail_lc = calloc(cfg->ntails + 1, sizeof *c->tail_lc);
    c->nets = calloc(cfg->nsyslogs + 1, sizeof *c->nets);
    c->net_lc = calloc(cfg->nsyslogs + 1, sizeof *c->net_lc);
    if (c->tails == NULL || c->tail_lc == NULL || c->nets == NULL || c->net_lc == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (cfg->ntails > 0) {
        /* offsets live beside the store unless a state_dir is given */
        const char *base = cfg->state_dir;
        char *dup = NULL;
        if (base == NULL) {
            char *slash;
            dup = strdup(cfg->store_path);
            if (dup == NULL) {
                rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
                goto fail;
            }
            slash = strrchr(dup, '/');
            if (slash != NULL) {
                *slash = '\0';
                base = dup;
            } else {
                base = ".";
            }
        }
        state_dir = strdup(base);
        free(dup);
        if (state_dir == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
            goto fail;
        }
        if (mkdir(state_dir, 0750) != 0 && errno != EEXIST) {
            rc = cs_err_set(CS_ERR_IO, "%s: cannot create the input state directory: %s", state_dir,
                            strerror(errno));
            goto fail;
        }
    }
    for (size_t i = 0; i < cfg->ntails; i++) {
        const cs_tail_input *t = &cfg->tails[i];
        cs_tail_opts o;
        char state[4096];
        cs_log_format fmt = CS_LOGFMT_AUTO;
        snprintf(where, sizeof where, "%s:%d", cfg->path, t->line);
        if ((rc = format_of(t->format, where, &fmt)) != CS_OK) {
            goto fail;
        }
        line_ctx_init(&c->tail_lc[i], cfg, fmt, sink, ud, false);
        c->tail_lc[i].lctx.host = t->host;
        memset(&o, 0, sizeof o);
        o.patterns = (const char *const *)t->paths;
        o.npatterns = t->npaths;
        snprintf(state, sizeof state, "%s/tail-%zu.state", state_dir, i);
        o.state_path = state;
        o.max_line = (size_t)cfg->max_line;
        o.from_start = t->from_start;
        if (ack != NULL) {
            o.ack_ticket = ack->ticket;
            o.ack_durable = ack->durable;
            o.ack_ud = ud;
        }
        if ((rc = cs_tail_start(&o, on_line, &c->tail_lc[i], &c->tails[i])) != CS_OK) {
            cs_err_wrap(rc, "%s", where);
            goto fail;
        }
        c->ntails++;
    }
    for (size_t i = 0; i < cfg->nsyslogs; i++) {
        const cs_syslog_input *s = &cfg->syslogs[i];
        cs_net_input_opts o;
        cs_log_format fmt = CS_LOGFMT_AUTO;
        snprintf(where, sizeof where, "%s:%d", cfg->path, s->line);
        if ((rc = format_of(s->format, where, &fmt)) != CS_OK) {
            goto fail;
        }
        line_ctx_init(&c->net_lc[i], cfg, fmt, try_sink, ud, true);
        memset(&o, 0, sizeof o);
        o.name = s->name;
        o.transport = s->transport;
        o.listen = s->listen;
        o.port = s->port;
        o.max_line = (size_t)cfg->max_line;
        o.max_connections = s->max_connections;
        o.idle_timeout_s = s->idle_timeout_s;
        o.tls_cert = s->tls_cert;
        o.tls_key = s->tls_key;
        o.tls_ca = s->tls_ca;
        if ((rc = cs_net_input_start(&o, on_line, &c->net_lc[i], &c->nets[i])) != CS_OK) {
            cs_err_wrap(rc, "%s", where);
            goto fail;
        }
        c->nnets++;
        CS_INFO("logs", "%s listening on %s port %d", s->name, s->listen, cs_net_input_port(c->nets[i]));
    }
    if (cfg->stdin_format != NULL) {
        cs_log_format fmt = CS_LOGFMT_AUTO;
        snprintf(where, sizeof where, "%s: inputs.stdin", cfg->path);
        if ((rc = format_of(cfg->stdin_format, where, &fmt)) != CS_OK) {
            goto fail;
        }
        line_ctx_init(&c->in.lc, cfg, fmt, sink, ud, false);
        c->in.max_line = (size_t)cfg->max_line;
        if (pipe2(c->in.data, O_CLOEXEC) != 0 || pipe2(c->in.stop, O_CLOEXEC) != 0) {
            rc = cs_err_set(CS_ERR_IO, "cannot create the stdin pipes: %s", strerror(errno));
            goto fail;
        }
        if (pthread_create(&c->in.reader, NULL, stdin_reader, &c->in) != 0) {
            rc = cs_err_set(CS_ERR_INTERNAL, "cannot start the stdin input thread");
            goto fail;
        }
        if (pthread_create(&c->in.relay, NULL, stdin_relay, &c->in) != 0) {
            close(c->in.data[1]);
            pthread_join(c->in.reader, NULL);
            rc = cs_err_set(CS_ERR_INTERNAL, "cannot start the stdin input thread");
            goto fail;
        }
        c->in.started = true;
    }
    free(state_dir);
    *out = c;
    return CS_OK;
fail:
    free(state_dir);
    cs_collector_stop(c);
    return rc;
}

int cs_collector_syslog_port(const cs_collector *c, size_t i)
{
    return i < c->nnets ? cs_net_input_port(c->nets[i]) : -1;
}

static void put_lc(cs_buf *b, line_ctx *lc)
{
    cs_buf_printf(b, "\"events\":%llu,\"truncated\":%llu,\"errors\":%llu", atomic_load(&lc->events),
                  atomic_load(&lc->truncated), atomic_load(&lc->errors));
}

void cs_collector_stats_json(cs_collector *c, cs_buf *b)
{
    bool first = true;
    cs_buf_append_cstr(b, "\"log_inputs\":[");
    for (size_t i = 0; c != NULL && i < c->ntails; i++) {
        cs_tail_stats st;
        cs_tail_stats_get(c->tails[i], &st);
        cs_buf_printf(b, "%s{\"type\":\"tail\",\"lines\":%llu,\"rotations\":%llu,\"truncations\":%llu,"
                         "\"read_errors\":%llu,",
                      first ? "" : ",", (unsigned long long)st.lines, (unsigned long long)st.rotations,
                      (unsigned long long)st.truncations, (unsigned long long)st.read_errors);
        put_lc(b, &c->tail_lc[i]);
        cs_buf_putc(b, '}');
        first = false;
    }
    for (size_t i = 0; c != NULL && i < c->nnets; i++) {
        cs_net_input_stats st;
        cs_net_input_stats_get(c->nets[i], &st);
        cs_buf_printf(b, "%s{\"type\":\"syslog\",\"name\":", first ? "" : ",");
        cs_buf_json_str(b, c->cfg->syslogs[i].name, strlen(c->cfg->syslogs[i].name));
        cs_buf_printf(b, ",\"transport\":\"%s\",\"port\":%d,\"lines\":%llu,\"kernel_drops\":%llu,"
                         "\"queue_drops\":%llu,\"connections\":%llu,\"rejected_connections\":%llu,"
                         "\"idle_closed\":%llu,\"framing_errors\":%llu,\"tls_errors\":%llu,",
                      c->cfg->syslogs[i].transport, cs_net_input_port(c->nets[i]), (unsigned long long)st.lines,
                      (unsigned long long)st.kernel_drops, (unsigned long long)st.sink_full_drops,
                      (unsigned long long)st.connections, (unsigned long long)st.rejected_connections,
                      (unsigned long long)st.idle_closed, (unsigned long long)st.framing_errors,
                      (unsigned long long)st.tls_errors);
        put_lc(b, &c->net_lc[i]);
        cs_buf_putc(b, '}');
        first = false;
    }
    if (c != NULL && c->in.started) {
        cs_buf_printf(b, "%s{\"type\":\"stdin\",", first ? "" : ",");
        put_lc(b, &c->in.lc);
        cs_buf_putc(b, '}');
    }
    cs_buf_putc(b, ']');
}

void cs_collector_stop(cs_collector *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->nnets; i++) {
        cs_net_input_stop(c->nets[i]);
    }
    for (size_t i = 0; i < c->ntails; i++) {
        cs_rc rc = cs_tail_stop(c->tails[i]);
        if (rc != CS_OK) {
            CS_WARN("logs", "%s", cs_err_msg());
        }
    }
    if (c->in.started) {
        if (write(c->in.stop[1], "x", 1) < 0) {
            CS_WARN("logs", "cannot signal the stdin relay: %s", strerror(errno));
        }
        pthread_join(c->in.relay, NULL);
        pthread_join(c->in.reader, NULL);
        close(c->in.data[0]);
        close(c->in.stop[0]);
        close(c->in.stop[1]);
    }
    free(c->tails);
    free(c->tail_lc);
    free(c->nets);
    free(c->net_lc);
    free(c);
}
