/* input.h - what every log input hands on: one raw line and where it came
 * from. Inputs (file tail, stdin, syslog over UDP/TCP/TLS) know framing,
 * sockets and files; they know nothing of formats. The glue that owns an
 * input parses each line (logparse.h) and submits the event.
 *
 * The line pointer is borrowed: valid during the call only. A sink returns
 * CS_OK, or CS_ERR_FULL when the next stage is full and the line was not
 * taken (live inputs count it as a drop; file inputs wait and retry), or
 * another code to stop the input.
 */
#ifndef CS_LOG_INPUT_H
#define CS_LOG_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../runtime/err.h"
#include "../../runtime/event.h"

#define CS_LINE_MAX_DEFAULT (64u * 1024u)   /* default cut for one line; configurable */

typedef struct cs_line_meta {
    const char *transport;    /* "file", "stdin", "udp", "tcp", "tls" */
    const char *source;       /* file path, or the listener's name */
    cs_ip peer;               /* network inputs: sender address (family 0 otherwise) */
    uint16_t peer_port;
    int64_t received_us;
    bool truncated;           /* the line was longer than the limit and was cut */
    uint64_t offset;          /* file inputs: byte offset of the line's start */
} cs_line_meta;

typedef cs_rc (*cs_line_sink)(const char *line, size_t len, const cs_line_meta *meta, void *ud);

#endif
