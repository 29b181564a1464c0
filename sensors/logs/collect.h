/* collect.h - log collection: inputs + parsers, feeding an event sink.
 *
 * Ties the line inputs (tail.h, net_input.h, stdin, one-shot files) to the
 * parsers (logparse.h). Every line becomes an event: parsed per its input's
 * format, with the input's facts added (log.file.path, log.source.address
 * for network peers, citysoc.truncated when cut), then handed on:
 *   - file, tail and stdin lines with the blocking sink: nothing is lost;
 *   - TCP/TLS lines with the non-blocking sink; when full the input stops
 *     reading that connection (back-pressure), nothing is lost;
 *   - UDP lines with the non-blocking sink; when full the line is dropped
 *     and counted (UDP cannot wait), as are the kernel's own drops.
 *
 * Ownership: a collector owns its inputs and threads; sinks take ownership
 * of each event. The configuration must outlive the collector.
 */
#ifndef CS_COLLECT_H
#define CS_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "../../runtime/config.h"
#include "../../runtime/err.h"
#include "../../runtime/json.h"
#include "logparse.h"

typedef struct cs_collect_file_stats {
    uint64_t lines, events, truncated, bytes;
} cs_collect_file_stats;

/* Read one log file from the start to its end (replay and `inputs.logs`).
 * format: a name accepted by cs_log_format_parse(). host (may be NULL): the
 * host.name of lines that name none. RFC 3164 stamps take their year from
 * the file's modification time. */
cs_rc cs_collect_file(const char *path, const char *format, const char *host, size_t max_line, int tz_offset_s,
                      cs_event_sink sink, void *ud, cs_collect_file_stats *st);

typedef struct cs_collector cs_collector;

/* Start the live inputs of a configuration: tails, syslog listeners, stdin.
 * `sink` blocks when full; `try_sink` returns CS_ERR_FULL without taking the
 * event. Errors name the configuration file and line. */
cs_rc cs_collector_start(const cs_config *cfg, cs_event_sink sink, cs_event_sink try_sink, void *ud,
                         cs_collector **out);
/* The same, with an acknowledgement source for the file tails (tail.h,
 * cs_tail_opts.ack_*; called with ud): their persisted offsets then only
 * cover lines the pipeline reports durable. ack may be NULL. */
typedef struct cs_collector_ack {
    uint64_t (*ticket)(void *ud);
    uint64_t (*durable)(void *ud);
} cs_collector_ack;
cs_rc cs_collector_start_acked(const cs_config *cfg, cs_event_sink sink, cs_event_sink try_sink, void *ud,
                               const cs_collector_ack *ack, cs_collector **out);
/* Port a syslog listener got (port 0 in the configuration), by index. */
int cs_collector_syslog_port(const cs_collector *c, size_t i);
/* Counters of every input as JSON members ("inputs":[...]), for /health. */
void cs_collector_stats_json(cs_collector *c, cs_buf *out);
/* Stop every input: lines already read are delivered first. */
void cs_collector_stop(cs_collector *c);

#endif
