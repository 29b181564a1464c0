/* citysoc/plugin.h - the plugin ABI. The only header a plugin includes.
 *
 * A plugin is a shared object that exports ONE symbol, cs_plugin_entry,
 * returning a pointer to a const cs_plugin descriptor. The host reads the
 * first three members (size, abi_major, abi_minor) before anything else and
 * refuses the plugin if the major differs, if the plugin needs a newer minor
 * than the host provides, or if the descriptor is smaller than ABI 1.0's.
 * Descriptors and the host table only ever grow at the end; `size` tells
 * each side how much of the other it may read.
 *
 * A plugin never links against citysoc: everything it may do goes through
 * the const cs_host_api table handed to init(). Build plugins with
 * -fvisibility=hidden; CS_PLUGIN_EXPORT marks the entry point.
 *
 * Lifecycle: init -> configure -> (on_event | on_tick)* -> stop -> destroy.
 * The host calls one plugin's hooks from one thread at a time. Events passed
 * to on_event are borrowed: valid only during the call.
 */
#ifndef CITYSOC_PLUGIN_H
#define CITYSOC_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "citysoc/event.h"

#define CS_PLUGIN_ABI_MAJOR 1
#define CS_PLUGIN_ABI_MINOR 0
#define CS_PLUGIN_ENTRY_SYMBOL "cs_plugin_entry"
#define CS_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Hook results. */
#define CS_PLUGIN_OK 0
#define CS_PLUGIN_ERROR (-1)

/* ---- configuration: each plugin declares its keys; the host validates ---- */
typedef enum cs_plugin_cfg_type {
    CS_PCFG_INT = 1,
    CS_PCFG_STR,
    CS_PCFG_BOOL
} cs_plugin_cfg_type;

typedef struct cs_plugin_cfg_key {
    const char *name;
    cs_plugin_cfg_type type;
    const char *default_value;   /* text form, used when the key is absent */
    int64_t min, max;            /* for CS_PCFG_INT */
    const char *doc;             /* one sentence for --help */
} cs_plugin_cfg_key;

typedef struct cs_plugin_config cs_plugin_config;   /* validated values, owned by the host */
typedef struct cs_plugin_ctx cs_plugin_ctx;         /* the host's handle for this plugin instance */

/* ---- what a plugin reports ---- */
typedef struct cs_plugin_alert {
    const char *rule_id;          /* stable id, e.g. "cs-plugin-portscan" */
    const char *title;
    const char *level;            /* informational|low|medium|high|critical */
    const char *description;      /* may be NULL */
    const char *const *tags;      /* ATT&CK style, e.g. "attack.t1046"; may be NULL */
    size_t ntags;
    const char *key;              /* aggregation key (e.g. source address); NULL: host derives one */
    int reliability;              /* 0..10, how sure the detector is */
    const cs_event *evidence;     /* the event that completed the detection; may be NULL */
} cs_plugin_alert;

enum { CS_PLOG_ERROR = 0, CS_PLOG_WARN, CS_PLOG_INFO, CS_PLOG_DEBUG };

/* ---- services the host offers (Redis-style: a table, never link symbols) ---- */
typedef struct cs_host_api {
    uint32_t size;
    uint16_t abi_major;
    uint16_t abi_minor;

    void (*log)(cs_plugin_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

    /* configuration values (validated against the declared keys) */
    int64_t (*cfg_int)(const cs_plugin_config *cfg, const char *key);
    const char *(*cfg_str)(const cs_plugin_config *cfg, const char *key);
    bool (*cfg_bool)(const cs_plugin_config *cfg, const char *key);

    /* events: resolve field names once at configure time, then read by id */
    cs_fid (*field_id)(const char *name);
    int (*event_kind)(const cs_event *ev);
    int64_t (*event_time_us)(const cs_event *ev);
    bool (*event_get_int)(const cs_event *ev, cs_fid id, int64_t *out);
    bool (*event_get_str)(const cs_event *ev, cs_fid id, const char **s, size_t *len);
    bool (*event_get_ip)(const cs_event *ev, cs_fid id, cs_ip *out);
    size_t (*ip_format)(const cs_ip *ip, char *buf, size_t bufsz);

    /* results */
    int (*emit_alert)(cs_plugin_ctx *ctx, const cs_plugin_alert *alert);
    void (*metric_add)(cs_plugin_ctx *ctx, const char *name, int64_t delta);

    /* memory the host can account for */
    void *(*alloc)(size_t n);
    void (*free)(void *p);
} cs_host_api;

/* ---- the descriptor a plugin returns ---- */
typedef struct cs_plugin {
    uint32_t size;                 /* sizeof(cs_plugin) as the plugin was built */
    uint16_t abi_major;            /* CS_PLUGIN_ABI_MAJOR */
    uint16_t abi_minor;            /* CS_PLUGIN_ABI_MINOR */
    const char *name;
    const char *version;
    const char *description;
    const cs_plugin_cfg_key *config_keys;
    size_t nconfig_keys;

    /* NULL = not used */
    int (*init)(const cs_host_api *host, cs_plugin_ctx *ctx, void **state);
    int (*configure)(void *state, const cs_plugin_config *cfg);
    int (*on_event)(void *state, const cs_event *ev);
    int (*on_tick)(void *state, int64_t now_us);   /* event time moved on; also once at end of input */
    int (*stop)(void *state);
    void (*destroy)(void *state);
    void *reserved[8];
} cs_plugin;

typedef const cs_plugin *(*cs_plugin_entry_fn)(void);

/* The one symbol a plugin exports (declared here so its definition is checked). */
CS_PLUGIN_EXPORT const cs_plugin *cs_plugin_entry(void);

/* Convenience for plugin authors: fills the three ABI members. */
#define CS_PLUGIN_HEADER                                                                           \
    .size = sizeof(cs_plugin), .abi_major = CS_PLUGIN_ABI_MAJOR, .abi_minor = CS_PLUGIN_ABI_MINOR

#endif
