/* logparse.h - every log line format citysoc reads, behind one call.
 *
 * Inputs (files, tail, stdin, syslog over UDP/TCP/TLS) hand raw lines here;
 * `citysoc replay` and `citysoc run` use the same entry point, so a line is
 * parsed the same way whichever way it arrived.
 *
 * Every event that comes out, whatever the format:
 *   - keeps the raw line in event.original (keyword rules need it);
 *   - has a time: the line's own stamp when it has one (time-zone policy in
 *     syslog.h), else the received time; and event.created = received time;
 *   - says where it came from: log.file.path (file inputs) or
 *     observer/source address (network inputs, set by the input), and its
 *     logsource as Sigma knows it: citysoc.logsource.{product,category,service}
 *     (e.g. linux/-/sshd, -/webserver/-, linux/-/auditd, -/firewall/-);
 *   - carries canonical ECS fields (source.ip, user.name, event.outcome, ...)
 *     AND, where SigmaHQ rules for that logsource use other names, those
 *     names too (web: c-ip, cs-method, cs-uri-query, sc-status, ...);
 *   - is never dropped: a line no parser understands is a message-only log
 *     event tagged citysoc.unparsed.
 *
 * Ownership: *out is a new event owned by the caller.
 */
#ifndef CS_LOGPARSE_H
#define CS_LOGPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "../../runtime/err.h"
#include "../../runtime/event.h"
#include "syslog.h"

typedef enum cs_log_format {
    CS_LOGFMT_AUTO = 0,     /* decided per line (see cs_log_detect) */
    CS_LOGFMT_SYSLOG,       /* RFC 3164 / 5424, then the program normalisers */
    CS_LOGFMT_ACCESS,       /* nginx / Apache combined access log */
    CS_LOGFMT_NGINX_ERROR,
    CS_LOGFMT_APACHE_ERROR,
    CS_LOGFMT_AUDITD,
    CS_LOGFMT_JSON,         /* JSON lines; Suricata EVE and Zeek recognised and mapped */
    CS_LOGFMT_CEF,
    CS_LOGFMT_KV,           /* key=value pairs */
    CS_LOGFMT__COUNT
} cs_log_format;

/* "auto", "syslog", "sshd" (= syslog), "nginx"/"apache"/"access",
 * "nginx-error", "apache-error", "auditd", "json"/"eve"/"zeek", "cef", "kv".
 * Returns -1 for an unknown name. */
int cs_log_format_parse(const char *name);
const char *cs_log_format_name(cs_log_format fmt);
/* Comma-separated list of accepted names, for usage messages. */
const char *cs_log_format_names(void);

typedef struct cs_log_ctx {
    cs_syslog_opts time;      /* year/zone policy for stamps without them */
    int64_t received_us;      /* 0 = now */
    const char *file_path;    /* set as log.file.path when not NULL */
    const char *host;         /* inputs: host.name for lines that name none (set by collect.c) */
} cs_log_ctx;

/* Guess the format of one line (never returns AUTO). */
cs_log_format cs_log_detect(const char *line, size_t len);

/* Parse one line (without its line ending) in the given format. */
cs_rc cs_log_parse_line(cs_log_format fmt, const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out);

/* ---- the parsers behind it, one per format (same contract) ---- */
cs_rc cs_parse_access(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out);
cs_rc cs_parse_nginx_error(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out);
cs_rc cs_parse_apache_error(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out);
cs_rc cs_parse_auditd(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out);
cs_rc cs_parse_json_line(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out);
cs_rc cs_parse_cef(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out);
cs_rc cs_parse_kv(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out);

/* Program normalisers for syslog events: look at process.name and message
 * (sshd, sudo, su, PAM, cron, useradd/groupadd/usermod/userdel, kernel
 * firewall lines from iptables/nftables/ufw) and add what they find,
 * including the logsource. Unknown programs: unchanged except the logsource
 * product linux. (A CEF payload behind a syslog header is detected by
 * cs_log_detect and parsed as CEF.) Never fails on content; only on memory
 * or event limits. */
cs_rc cs_log_normalize(cs_event **ev);

/* Helper for all parsers: add event.original, event.created, log.file.path,
 * citysoc.log.format and the logsource (NULL parts are skipped). */
cs_rc cs_log_common(cs_event **ev, const char *line, size_t len, const cs_log_ctx *ctx, cs_log_format fmt,
                    const char *product, const char *category, const char *service);

#endif
