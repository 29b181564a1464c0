/* notify.h - notifications when an incident opens or breaches its SLA.
 *
 * Three channels, each optional: a webhook (HTTP POST of a JSON document,
 * libcurl), syslog forwarding (one RFC 5424 line over UDP, or over TCP with
 * RFC 6587 octet counting) and email through an SMTP relay (libcurl, one
 * RFC 5322 message to every recipient). cs_notify_send() copies the
 * notification into a bounded queue and returns at once; one worker thread
 * delivers it to every configured channel, retrying what failed for a
 * transient reason (max_attempts tries, waiting backoff_ms, then 4x that,
 * ...). Every attempt that fails is logged with the channel and the reason
 * (HTTP status, curl error, SMTP reply); every outcome is counted per channel.
 * Transient (retried): connection errors and timeouts, HTTP 429 and 5xx, SMTP
 * 4xx replies. Permanent (not retried): other HTTP statuses outside 2xx
 * (redirects are not followed), SMTP 5xx replies, a refused login, STARTTLS
 * required but not offered, a malformed URL.
 *
 * Ownership: cs_notify_new() copies everything it needs from the options
 * (the caller may free them as soon as it returns). cs_notify_send() copies
 * the notification (strings longer than the limits below are cut at a UTF-8
 * boundary). The notifier belongs to its creator: cs_notify_close() drains
 * and stops the worker, cs_notify_free() releases it (closing first if
 * needed). cs_notify_send() and cs_notify_get_stats() are safe from any
 * thread; close and free are called once, by the owner.
 *
 * libcurl: cs_notify_new() calls curl_global_init() once per process (it is
 * never cleaned up; the process exit does that).
 *
 * Configuration (notify_config.c: cs_notify_conf_load(); keys map one to
 * one onto cs_notify_opts; timeouts in seconds):
 *
 *   notify:
 *     queue: 256              # notifications waiting; more are dropped, counted and logged
 *     attempts: 3             # tries per channel, the first included (1..10)
 *     backoff_ms: 500         # wait before the 2nd try, then x4 (0.5 s, 2 s, ...)
 *     console_url: https://soc.city.example/   # base of the incident links
 *     webhook:
 *       url: https://chat.city.example/hooks/soc    # http:// or https://
 *       headers: ["Authorization: Bearer s3cr3t"]    # optional, "Name: value" each
 *       timeout: 5
 *       ca_file: /etc/citysoc/ca.pem                 # optional
 *       insecure: false                              # true: do not verify the TLS peer
 *     syslog:
 *       host: siem.city.example
 *       port: 514
 *       transport: udp        # udp | tcp (tcp: RFC 6587 octet counting)
 *       facility: local0      # kern is refused; see cs_notify_facility_parse()
 *       app_name: citysoc
 *       hostname: soc01       # optional; default gethostname()
 *       timeout: 5            # tcp connect and send
 *     smtp:
 *       url: smtp://relay.city.example:587           # or smtps://relay.city.example:465
 *       from: "citysoc <soc@city.example>"
 *       to: [soc-oncall@city.example, ciso@city.example]
 *       user: soc                                    # optional
 *       password: "..."                              # optional
 *       starttls: required    # required | optional | off (ignored with smtps://)
 *       ca_file: /etc/citysoc/ca.pem
 *       insecure: false
 *       timeout: 15
 */
#ifndef CS_NOTIFY_H
#define CS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/err.h"

/* Limits on what one notification carries (longer strings are cut). */
#define CS_NOTIFY_MAX_FIELD 512u    /* id, title, severity, state, system, assignee */
#define CS_NOTIFY_MAX_URL 2048u
#define CS_NOTIFY_MAX_TEXT 4096u
#define CS_NOTIFY_MAX_UDP 2048u     /* a UDP syslog datagram (RFC 5426 SHOULD) */
#define CS_NOTIFY_MAX_ERROR 256u

typedef enum cs_notify_kind {
    CS_NOTIFY_INCIDENT_OPENED = 0,
    CS_NOTIFY_SLA_BREACHED,
    CS_NOTIFY_TEST
} cs_notify_kind;

typedef enum cs_notify_channel {
    CS_NOTIFY_CH_WEBHOOK = 0,
    CS_NOTIFY_CH_SYSLOG,
    CS_NOTIFY_CH_SMTP,
    CS_NOTIFY_CH__COUNT
} cs_notify_channel;

typedef enum cs_syslog_transport {
    CS_SYSLOG_UDP = 0,
    CS_SYSLOG_TCP
} cs_syslog_transport;

typedef enum cs_smtp_starttls {
    CS_SMTP_STARTTLS_REQUIRED = 0,   /* fail unless the relay offers STARTTLS */
    CS_SMTP_STARTTLS_OPTIONAL,       /* use it when offered */
    CS_SMTP_STARTTLS_OFF             /* plain text (a relay on the same host) */
} cs_smtp_starttls;

/* Any pointer may be NULL; a channel is off while its url/host is NULL.
 * Zero for a number means its default (in brackets). */
typedef struct cs_notify_webhook_opts {
    const char *url;                 /* http:// or https:// */
    const char *const *headers;      /* "Name: value", e.g. "Authorization: Bearer X" */
    size_t nheaders;
    int timeout_ms;                  /* whole request [5000] */
    const char *ca_file;
    bool insecure;                   /* skip TLS peer and host verification */
} cs_notify_webhook_opts;

typedef struct cs_notify_syslog_opts {
    const char *host;
    uint16_t port;                   /* [514] */
    cs_syslog_transport transport;
    int facility;                    /* 1..23 (RFC 5424 numbers) [16, local0] */
    const char *app_name;            /* [citysoc]; printable ASCII, at most 48 */
    const char *hostname;            /* [gethostname()] */
    int timeout_ms;                  /* tcp connect and send [5000] */
} cs_notify_syslog_opts;

typedef struct cs_notify_smtp_opts {
    const char *url;                 /* smtp://host[:port] or smtps://host[:port] */
    const char *from;                /* "addr@x" or "Name <addr@x>" */
    const char *const *to;           /* the same forms; at least one */
    size_t nto;
    const char *user;
    const char *password;
    cs_smtp_starttls starttls;
    const char *ca_file;
    bool insecure;
    int timeout_ms;                  /* whole transaction [15000] */
} cs_notify_smtp_opts;

typedef struct cs_notify_opts {
    cs_notify_webhook_opts webhook;
    cs_notify_syslog_opts syslog;
    cs_notify_smtp_opts smtp;
    size_t queue_size;               /* [256] */
    int max_attempts;                /* per channel, 1..10 [3] */
    int backoff_ms;                  /* before the 2nd try; x4 each next [500] */
} cs_notify_opts;

/* One notification. Strings are borrowed for the duration of
 * cs_notify_send() only; NULL means absent (JSON null, "-" in text). */
typedef struct cs_notification {
    cs_notify_kind kind;
    const char *incident_id;
    const char *title;
    const char *severity;            /* informational|low|medium|high|critical */
    const char *state;               /* new, assigned, ... */
    const char *system_id;
    const char *system_name;
    const char *assignee;
    int64_t sla_due_us;              /* 0: none */
    int64_t ts_us;                   /* when it happened [now] */
    const char *url;                 /* the incident in the console */
    const char *text;                /* a short human text */
} cs_notification;

typedef struct cs_notify_channel_stats {
    bool enabled;
    uint64_t sent;                   /* notifications delivered */
    uint64_t failed;                 /* given up: permanent error or out of attempts */
    uint64_t attempts;               /* every try, retries included */
    char last_error[CS_NOTIFY_MAX_ERROR];   /* "" if none yet */
} cs_notify_channel_stats;

typedef struct cs_notify_stats {
    uint64_t queued;                 /* accepted by cs_notify_send() */
    uint64_t dropped;                /* refused: queue full, or notifier closing */
    uint64_t abandoned;              /* still queued when the close deadline passed */
    size_t depth;                    /* waiting now */
    cs_notify_channel_stats ch[CS_NOTIFY_CH__COUNT];
} cs_notify_stats;

typedef struct cs_notifier cs_notifier;

/* Validate the options (CS_ERR_CONFIG with a sentence naming the key),
 * copy them and start the worker. No channel at all is allowed (everything
 * sent is then only counted). */
cs_rc cs_notify_new(const cs_notify_opts *opts, cs_notifier **out);

/* Queue a copy of *note; never waits for delivery. CS_ERR_FULL when the
 * queue is full (dropped, counted, logged), CS_ERR_CLOSED once closing,
 * CS_ERR_INVAL for a NULL note or an unknown kind. */
cs_rc cs_notify_send(cs_notifier *n, const cs_notification *note);

void cs_notify_get_stats(cs_notifier *n, cs_notify_stats *st);

/* Stop accepting, deliver what is queued for at most timeout_ms, then abort
 * whatever is in flight and stop the worker. CS_ERR_LIMIT (with a sentence)
 * when some notifications were abandoned; CS_OK otherwise or when already
 * closed. Stats stay readable until cs_notify_free(). */
cs_rc cs_notify_close(cs_notifier *n, int timeout_ms);

/* Closes (with no grace) if not closed yet, then frees. NULL is fine. */
void cs_notify_free(cs_notifier *n);

/* "incident_opened", "sla_breached", "test". */
const char *cs_notify_kind_str(cs_notify_kind kind);
/* "webhook", "syslog", "smtp". */
const char *cs_notify_channel_str(cs_notify_channel ch);
/* RFC 5424 facility by name ("auth", "authpriv", "daemon", "local0".."local7",
 * "user", ...); -1 when unknown. */
int cs_notify_facility_parse(const char *name);
/* RFC 5424 severity for an incident severity: critical 2, high 3, medium 4,
 * low 5, informational 6; anything else 4 (warning). */
int cs_notify_syslog_severity(const char *severity);

/* ---- configuration (notify_config.c) ---- */

struct cs_config;

/* The `notify:` section as options; the strings point into the
 * configuration's YAML (keep the cs_config alive), the lists are owned
 * here: free with cs_notify_conf_free(). No section: all channels off. */
typedef struct cs_notify_conf {
    cs_notify_opts opts;
    const char *console_url;         /* NULL: none */
    const char **headers;
    const char **to;
} cs_notify_conf;

/* CS_ERR_CONFIG with file:line for an unknown key, a bad value or a channel
 * missing what it needs. */
cs_rc cs_notify_conf_load(const struct cs_config *cfg, cs_notify_conf *out);
void cs_notify_conf_free(cs_notify_conf *c);

#endif
