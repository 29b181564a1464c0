/* cs_syslog_bench.c - citysoc's side of the syslog benchmark.
 *
 * Design. One cs_net_input (tcp or udp) on a loopback port, arranged as
 * `citysoc run` is: the input thread parses each line into an event with
 * the collectors' parser (cs_log_parse_line: syslog plus the program
 * normalisers) and hands it over a bounded queue (full = back-pressure on
 * TCP, exactly as the pipeline's try-submit); a second thread, standing for
 * the correlator, writes each event as ECS JSON (cs_json_write_event) to
 * /dev/null in 256 KiB writes and counts it. `--sink json1` does parse and
 * JSON on the input thread alone (one core), `--sink parse` skips the JSON,
 * `--sink count` is the input alone, so the figures can be taken apart.
 *
 * It prints "port=P" as soon as it listens (the driver script reads it),
 * then waits until `--expect` lines are accounted for (UDP: received plus
 * drops), or until nothing has moved for `--idle` seconds, or `--timeout`.
 * It stops the input (which delivers what it had read) and prints one line:
 *   received=N kernel_drops=K sink_full_drops=F truncated=T json_bytes=B
 *   first_to_last_s=S lines_per_s=R done_realtime_us=U
 * Exit 0 when received + drops == expect, 1 otherwise, 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "runtime/json.h"
#include "runtime/queue.h"
#include "runtime/timeutil.h"
#include "sensors/logs/logparse.h"
#include "sensors/logs/net_input.h"

#define OUT_CHUNK (256u * 1024u)

typedef enum { SINK_COUNT, SINK_PARSE, SINK_JSON1, SINK_PIPELINE } sink_mode;

typedef struct bench_state {
    sink_mode mode;
    cs_log_ctx parse;
    cs_queue *q;
    pthread_t writer;
    cs_buf out;
    int devnull;
    uint64_t json_bytes;
    uint64_t parse_errors;
    _Atomic uint64_t lines;
    _Atomic int64_t first_us;    /* monotonic */
    _Atomic int64_t last_us;
} bench_state;

static void bench_flush(bench_state *b)
{
    size_t off = 0;
    while (off < b->out.len) {
        ssize_t w = write(b->devnull, b->out.data + off, b->out.len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    b->json_bytes += b->out.len;
    cs_buf_reset(&b->out);
}

static void mark_done(bench_state *b)
{
    int64_t now = cs_monotonic_us();
    if (atomic_load_explicit(&b->first_us, memory_order_relaxed) == 0) {
        atomic_store_explicit(&b->first_us, now, memory_order_relaxed);
    }
    atomic_store_explicit(&b->last_us, now, memory_order_relaxed);
    atomic_fetch_add_explicit(&b->lines, 1, memory_order_release);
}

static void write_json(bench_state *b, cs_event *ev)
{
    if (cs_json_write_event(&b->out, ev) != CS_OK) {
        b->parse_errors++;
    }
    cs_buf_putc(&b->out, '\n');
    cs_event_free(ev);
    if (b->out.len >= OUT_CHUNK) {
        bench_flush(b);
    }
}

/* the correlator's stand-in: JSON out, counted when written */
static void *writer_main(void *arg)
{
    bench_state *b = arg;
    void *items[256];
    for (;;) {
        cs_rc rc;
        size_t n = cs_queue_pop_batch(b->q, items, 256, -1, &rc);
        if (n == 0) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            write_json(b, items[i]);
            mark_done(b);
        }
    }
    return NULL;
}

static cs_rc bench_sink(const char *line, size_t len, const cs_line_meta *meta, void *ud)
{
    bench_state *b = ud;
    cs_event *ev = NULL;
    (void)meta;
    if (b->mode == SINK_COUNT) {
        mark_done(b);
        return CS_OK;
    }
    if (cs_log_parse_line(CS_LOGFMT_SYSLOG, line, len, &b->parse, &ev) != CS_OK) {
        b->parse_errors++;
        mark_done(b);
        return CS_OK;
    }
    switch (b->mode) {
    case SINK_PARSE:
        cs_event_free(ev);
        break;
    case SINK_JSON1:
        write_json(b, ev);
        break;
    default:
        if (cs_queue_try_push(b->q, ev) != CS_OK) {
            cs_event_free(ev);
            return CS_ERR_FULL;   /* the input retries this line later (TCP) or counts a drop (UDP) */
        }
        return CS_OK;             /* counted by the writer */
    }
    mark_done(b);
    return CS_OK;
}

static bool bench_num(const char *s, long long lo, long long hi, long long *v)
{
    char *end;
    long long x;
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || x < lo || x > hi) {
        return false;
    }
    *v = x;
    return true;
}

static void bench_usage(void)
{
    fprintf(stderr, "usage: cs_syslog_bench [--transport tcp|udp] [--listen 127.0.0.1] [--port P] --expect N\n"
                    "                       [--rcvbuf BYTES] [--idle S] [--timeout S] [--sink json|json1|parse|count]\n");
}

int main(int argc, char **argv)
{
    cs_net_input_opts o;
    cs_net_input *in = NULL;
    cs_net_input_stats st;
    bench_state b;
    long long expect = 0, idle_s = 3, timeout_s = 300;
    int64_t start, last_change, done_rt;
    uint64_t last_total = 0;
    double secs;
    int rc = 1;

    memset(&o, 0, sizeof o);
    memset(&b, 0, sizeof b);
    b.mode = SINK_PIPELINE;
    o.name = "bench-syslog";
    o.transport = "tcp";
    o.listen = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        long long v;
        bool has = i + 1 < argc;
        if (strcmp(argv[i], "--transport") == 0 && has) {
            o.transport = argv[++i];
        } else if (strcmp(argv[i], "--sink") == 0 && has) {
            const char *m = argv[++i];
            if (strcmp(m, "json") == 0) {
                b.mode = SINK_PIPELINE;
            } else if (strcmp(m, "json1") == 0) {
                b.mode = SINK_JSON1;
            } else if (strcmp(m, "parse") == 0) {
                b.mode = SINK_PARSE;
            } else if (strcmp(m, "count") == 0) {
                b.mode = SINK_COUNT;
            } else {
                bench_usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--listen") == 0 && has) {
            o.listen = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && has && bench_num(argv[i + 1], 0, 65535, &v)) {
            o.port = (int)v;
            i++;
        } else if (strcmp(argv[i], "--expect") == 0 && has && bench_num(argv[i + 1], 1, 1000000000, &v)) {
            expect = v;
            i++;
        } else if (strcmp(argv[i], "--rcvbuf") == 0 && has && bench_num(argv[i + 1], 0, 1 << 30, &v)) {
            o.rcvbuf = (int)v;
            i++;
        } else if (strcmp(argv[i], "--idle") == 0 && has && bench_num(argv[i + 1], 1, 3600, &v)) {
            idle_s = v;
            i++;
        } else if (strcmp(argv[i], "--timeout") == 0 && has && bench_num(argv[i + 1], 1, 3600, &v)) {
            timeout_s = v;
            i++;
        } else {
            bench_usage();
            return 2;
        }
    }
    if (expect == 0) {
        bench_usage();
        return 2;
    }
    cs_buf_init(&b.out);
    b.parse.time.reference_us = cs_now_us();
    if (cs_queue_new(4096, &b.q) != CS_OK || pthread_create(&b.writer, NULL, writer_main, &b) != 0) {
        fprintf(stderr, "cs_syslog_bench: cannot start the writer\n");
        return 1;
    }
    b.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (b.devnull < 0) {
        fprintf(stderr, "cs_syslog_bench: /dev/null: %s\n", strerror(errno));
        return 1;
    }
    if (cs_net_input_start(&o, bench_sink, &b, &in) != CS_OK) {
        fprintf(stderr, "cs_syslog_bench: %s\n", cs_err_msg());
        close(b.devnull);
        return 1;
    }
    printf("port=%d\n", cs_net_input_port(in));
    fflush(stdout);

    start = cs_monotonic_us();
    last_change = start;
    for (;;) {
        struct timespec ts = {0, 1000000};
        uint64_t total;
        int64_t now;
        nanosleep(&ts, NULL);
        cs_net_input_stats_get(in, &st);
        total = st.lines + st.kernel_drops + st.sink_full_drops;
        now = cs_monotonic_us();
        if (total >= (uint64_t)expect) {
            break;
        }
        if (total != last_total) {
            last_total = total;
            last_change = now;
        }
        if ((total > 0 && now - last_change > idle_s * 1000000) || now - start > timeout_s * 1000000) {
            break;
        }
    }
    /* wall-clock time of the last line, for the driver's end-to-end figure */
    cs_net_input_stop_stats(in, &st);
    cs_queue_close(b.q);   /* the writer drains what was accepted, then ends */
    pthread_join(b.writer, NULL);
    cs_queue_free(b.q);
    bench_flush(&b);
    done_rt = cs_now_us() - (cs_monotonic_us() - atomic_load(&b.last_us));
    secs = (double)(atomic_load(&b.last_us) - atomic_load(&b.first_us)) / 1e6;
    printf("received=%llu kernel_drops=%llu sink_full_drops=%llu truncated=%llu parse_errors=%llu json_bytes=%llu "
           "first_to_last_s=%.3f lines_per_s=%.0f done_realtime_us=%lld\n",
           (unsigned long long)st.lines, (unsigned long long)st.kernel_drops, (unsigned long long)st.sink_full_drops,
           (unsigned long long)st.truncated, (unsigned long long)b.parse_errors, (unsigned long long)b.json_bytes,
           secs, secs > 0 ? (double)st.lines / secs : 0.0, (long long)done_rt);
    if (st.lines + st.kernel_drops + st.sink_full_drops == (uint64_t)expect && st.lines == atomic_load(&b.lines)) {
        rc = 0;
    }
    cs_buf_free(&b.out);
    close(b.devnull);
    return rc;
}
