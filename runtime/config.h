/* config.h - the citysoc configuration file (YAML).
 *
 * Every key is known: an unknown key, a wrong type or an out-of-range value
 * is refused with file:line and the list of keys that are allowed there.
 * Relative paths are resolved against the directory of the configuration
 * file, so a configuration works from any working directory.
 *
 * Ownership: cs_config_load() returns a config the caller frees with
 * cs_config_free(); all strings and the kept YAML tree (plugin sections are
 * validated later by the plugin host) belong to it.
 */
#ifndef CS_CONFIG_H
#define CS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "yamltree.h"

typedef struct cs_log_input {
    char *path;
    char *format;    /* a log format name (see sensors/logs/logparse.h); checked when the input starts */
    char *host;      /* host.name for lines that do not name their host (access logs), or NULL */
    int line;        /* where it was configured, for messages */
} cs_log_input;

typedef struct cs_tail_input {
    char **paths;    /* files or globs */
    size_t npaths;
    char *format;
    char *host;
    bool from_start;
    int line;
} cs_tail_input;

typedef struct cs_syslog_input {
    char *name;
    char *transport;  /* udp, tcp or tls */
    char *listen;
    int port;
    char *format;
    char *tls_cert, *tls_key, *tls_ca;
    int max_connections;
    int idle_timeout_s;
    int line;
} cs_syslog_input;

/* inputs.capture[]: a live interface (sensors/packet/live.h). */
typedef struct cs_capture_input {
    char *interface;
    char *filter;     /* BPF expression; NULL: every packet */
    int snaplen;      /* 0: the capture's default (65535) */
    bool promisc;     /* default true */
    int workers;      /* default 1 */
    int buffer_mb;    /* kernel ring per worker, MiB (1..1024); 0: the capture's default (16) */
    int line;
} cs_capture_input;

typedef struct cs_plugin_conf {
    char *name;               /* plugin name: <plugin_dir>/cs_<name>.so */
    char *path;               /* explicit path (resolved), or NULL */
    const cs_yaml_node *config;   /* points into cs_config.yaml; may be NULL */
} cs_plugin_conf;

typedef struct cs_config {
    cs_yaml_file *yaml;
    char *path;
    char *dir;
    int log_level;            /* cs_log_level */
    char *store_path;
    char **rule_paths;
    size_t nrule_paths;
    char **mapping_paths;      /* Sigma field mapping tables (rules/mappings) */
    size_t nmapping_paths;
    /* Sigma |expand placeholders: rule_placeholders maps each name (without
     * the %) to one value or a list; checked at load, points into yaml */
    const cs_yaml_node *placeholders;
    /* notify: incident notifications (correlator/notify.h); points into
     * yaml, checked in full by cs_notify_opts_from_yaml(); NULL: none */
    const cs_yaml_node *notify;
    char *inventory_path;     /* may be NULL */
    char *geoip_city;         /* geoip.city: a City or Country MaxMind DB, may be NULL */
    char *geoip_asn;          /* geoip.asn: an ASN MaxMind DB, may be NULL */
    bool geoip_optional;      /* geoip.optional: a missing file is a warning, not an error */
    char **pcaps;
    size_t npcaps;
    cs_capture_input *captures;   /* inputs.capture: live interfaces */
    size_t ncaptures;
    char *run_as;              /* run_as: the user `citysoc run` becomes once its interfaces are open; NULL: stay */
    int run_as_line;
    /* inputs.yara: YARA scanning of the pcap inputs' payloads (packet.h) */
    char **yara_rules;         /* rule files or directories; none: no scanning */
    size_t nyara_rules;
    int64_t yara_max_bytes;    /* first N payload bytes per flow direction; 0 = default (4096) */
    int64_t yara_timeout_s;    /* per scan; 0 = default (10) */
    cs_log_input *logs;        /* read once, from the start */
    size_t nlogs;
    cs_tail_input *tails;      /* followed: rotation, offsets kept in state_dir */
    size_t ntails;
    cs_syslog_input *syslogs;  /* network listeners */
    size_t nsyslogs;
    char *stdin_format;        /* NULL: stdin is not an input */
    int64_t max_line;          /* cut longer log lines here */
    char *state_dir;           /* input offsets; NULL: <store dir> */
    int tz_offset_s;           /* zone of RFC 3164 stamps */
    char *plugin_dir;         /* NULL: next to the binary */
    cs_plugin_conf *plugins;
    size_t nplugins;
    char *http_listen;
    int http_port;            /* 0 = no HTTP server */
    char *http_static_dir;    /* NULL: none */
    int64_t aggregate_window_s;
    /* incidents: opened by policy (correlator/incident_policy.h) */
    double incident_open_at_risk;   /* default 7.0 */
    char *incident_tag;             /* NULL: citysoc.incident */
    int64_t incident_interval_s;    /* 0: 2 s */
    int64_t incident_sla_min[4];    /* low, medium, high, critical; 0: the default */
    int64_t queue_capacity;
} cs_config;

cs_rc cs_config_load(const char *path, cs_config **out);
void cs_config_free(cs_config *c);

/* Join a path to the config directory unless absolute. Caller frees. */
char *cs_config_resolve(const char *dir, const char *path);

/* Generic check for any YAML mapping: every key must be in `allowed`
 * (NULL-terminated). Sets "file:line: unknown key 'x' in <where> (allowed: ...)". */
cs_rc cs_config_check_keys(const cs_yaml_file *f, const cs_yaml_node *map, const char *where,
                           const char *const *allowed);

#endif
