/* net_input.h - syslog over the network: UDP (RFC 5426), TCP (RFC 6587) and
 * TLS (RFC 5425) listeners that hand raw lines to a cs_line_sink (input.h).
 *
 * Design. One input = one listening socket + one thread running an epoll
 * loop. The thread owns every socket, buffer and TLS session of the input;
 * the sink is called on that thread only, one line at a time, with a
 * borrowed pointer (valid during the call). Nothing here parses formats.
 *
 * Framing.
 *   UDP: one datagram is one message; a trailing LF/CRLF/NUL is stripped and
 *        a datagram holding several LF-separated lines gives one line each.
 *        Batches come from recvmmsg(). Kernel drops are exact: SO_RXQ_OVFL
 *        gives the socket's cumulative drop counter with each datagram, and
 *        SO_MEMINFO reads it when no datagram follows the last drops (each
 *        housekeeping tick and at stop). A sink that answers CS_ERR_FULL
 *        loses the line (UDP cannot wait): counted in sink_full_drops. With
 *        one line per datagram, datagrams sent == lines + kernel_drops +
 *        sink_full_drops, exactly (the kernel counts datagrams, the sink
 *        lines; empty datagrams carry no line and are not counted).
 *   TCP and TLS: per message, octet counting ("LEN SP MSG", LEN 1..10
 *        digits) when the message starts with a digit, else newline framing
 *        (LF, CRLF, or NUL as a trailer). Digits not followed by a space
 *        within 10 digits are a framing error (counted); that message is
 *        then read as newline-framed. Empty lines between messages are
 *        skipped. A message longer than max_line is cut: the first max_line
 *        bytes go out with meta.truncated set (counted in truncated), the rest
 *        of the line (or of the declared length) is discarded. A close inside
 *        a counted frame delivers what came, truncated, as a framing error.
 *   TLS: the same framing inside the session (RFC 5425 senders use octet
 *        counting); TLS 1.2 or later, handshake non-blocking in the loop.
 *
 * Bounds. A connection buffer never exceeds max_line + 64 KiB whatever the
 * client sends; at most max_connections are open (more are accepted and
 * closed at once, counted in rejected_connections); a connection that sends
 * nothing for idle_timeout_s, or whose current message stays incomplete for
 * idle_timeout_s (a slow "slowloris" sender, a stalled TLS handshake), is
 * closed and counted in idle_closed. A partial message pending at close is
 * delivered (nothing the kernel accepted is lost).
 *
 * Back-pressure. TCP/TLS never drop a line: when the sink answers
 * CS_ERR_FULL, that connection stops being read (TCP flow control pushes
 * back to the sender) and the same line is offered again about 10 ms later.
 * Any other code from the sink stops the input (it closes everything; stop()
 * must still be called).
 *
 * Stop. cs_net_input_stop() wakes the loop (eventfd), reads what the kernel
 * already holds, delivers every complete and partial message buffered,
 * retrying a full sink, all within about 2 s (lines a sink still refuses
 * then are counted in sink_full_drops; UDP drains for at most 1 s), closes
 * everything, joins the thread and frees the input. Never call it from the
 * sink (the sink runs on the thread it joins).
 *
 * Ownership: options are copied by cs_net_input_start(); *out belongs to the
 * caller until cs_net_input_stop(). stats_get() and port() are thread-safe.
 */
#ifndef CS_NET_INPUT_H
#define CS_NET_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "../../runtime/err.h"
#include "input.h"

#define CS_NET_MAX_CONNECTIONS_DEFAULT 256
#define CS_NET_IDLE_TIMEOUT_DEFAULT 300          /* seconds */
#define CS_NET_LINE_MAX_LIMIT (16u * 1024u * 1024u) /* largest accepted max_line */

typedef struct cs_net_input cs_net_input;

/* Zero means "default" for every numeric field, so a memset() struct with
 * transport, listen and port set is a valid configuration. */
typedef struct cs_net_input_opts {
    const char *name;       /* meta->source and log lines, e.g. "syslog-tcp"; NULL = transport */
    const char *transport;  /* "udp", "tcp" or "tls" */
    const char *listen;     /* IPv4 or IPv6 literal; NULL = "127.0.0.1" */
    int port;               /* 0 = any free port (see cs_net_input_port) */
    size_t max_line;        /* cut longer messages; 0 = CS_LINE_MAX_DEFAULT, at most CS_NET_LINE_MAX_LIMIT */
    int max_connections;    /* TCP/TLS; 0 = 256 */
    int idle_timeout_s;     /* TCP/TLS; 0 = 300, negative = never */
    int rcvbuf;             /* SO_RCVBUF request (UDP, also TCP); 0 = system default */
    const char *tls_cert;   /* tls: PEM certificate (chain) file */
    const char *tls_key;    /* tls: PEM private key file */
    const char *tls_ca;     /* tls: PEM CA file; set = clients must present a certificate it signed */
} cs_net_input_opts;

typedef struct cs_net_input_stats {
    uint64_t lines;                /* lines the sink accepted */
    uint64_t bytes;                /* bytes read from sockets (after TLS decryption) */
    uint64_t truncated;            /* lines cut at max_line */
    uint64_t sink_full_drops;      /* lines lost because the sink was full (UDP; TCP only at stop) */
    uint64_t kernel_drops;         /* UDP datagrams the kernel dropped (socket buffer full) */
    uint64_t connections;          /* TCP/TLS connections accepted and kept */
    uint64_t rejected_connections; /* closed at once: max_connections reached */
    uint64_t idle_closed;          /* closed for idleness or an incomplete message too old */
    uint64_t framing_errors;       /* malformed octet counts, frames cut short by a close */
    uint64_t tls_errors;           /* failed handshakes and TLS read errors */
    int open_connections;
} cs_net_input_stats;

/* Validate options, bind, and start the input's thread. On failure nothing
 * is left running and the reason is in cs_err_msg() (CS_ERR_CONFIG for bad
 * options, CS_ERR_IO for socket/TLS setup). */
cs_rc cs_net_input_start(const cs_net_input_opts *o, cs_line_sink sink, void *ud, cs_net_input **out);

/* The bound port (useful with port 0). */
int cs_net_input_port(const cs_net_input *in);

/* A consistent-enough snapshot of the counters; callable from any thread. */
void cs_net_input_stats_get(cs_net_input *in, cs_net_input_stats *st);

/* Stop the loop, deliver what was read, close, join, free. NULL is a no-op. */
void cs_net_input_stop(cs_net_input *in);

/* The same, and *final receives the counters as they stand once everything
 * is delivered and closed (the books after the last line; final may be NULL). */
void cs_net_input_stop_stats(cs_net_input *in, cs_net_input_stats *final);

#endif
