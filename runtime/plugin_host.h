/* plugin_host.h - loads detection plugins (dlopen) and drives their hooks.
 *
 * The host checks the ABI before it reads any other member of a plugin's
 * descriptor, validates the plugin's configuration against the keys the
 * plugin declares (unknown keys and wrong types are refused with file:line),
 * and hands the plugin the const service table of citysoc/plugin.h.
 *
 * Threading: one host is driven from one thread (the correlator's). Alerts a
 * plugin emits reach the alert callback synchronously, on that thread.
 *
 * Ownership: the host owns every loaded plugin and closes it in
 * cs_plugin_host_free(). Evidence events in callbacks are borrowed.
 */
#ifndef CS_PLUGIN_HOST_H
#define CS_PLUGIN_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "citysoc/plugin.h"
#include "err.h"
#include "json.h"
#include "yamltree.h"

typedef struct cs_plugin_host cs_plugin_host;

typedef void (*cs_plugin_alert_fn)(const char *plugin_name, const cs_plugin_alert *alert, void *ud);

cs_rc cs_plugin_host_new(cs_plugin_alert_fn on_alert, void *ud, cs_plugin_host **out);
void cs_plugin_host_free(cs_plugin_host *h);

/* Load one plugin. cfg is the plugin's `config:` mapping (NULL = defaults);
 * yf names the file for messages. On error nothing is kept and the sentence
 * names the plugin path and the problem. */
cs_rc cs_plugin_host_load(cs_plugin_host *h, const char *path, const cs_yaml_file *yf, const cs_yaml_node *cfg);

void cs_plugin_host_on_event(cs_plugin_host *h, const cs_event *ev);
void cs_plugin_host_tick(cs_plugin_host *h, int64_t now_us);

size_t cs_plugin_host_count(const cs_plugin_host *h);
const cs_plugin *cs_plugin_host_plugin(const cs_plugin_host *h, size_t i);

typedef struct cs_plugin_stats {
    const char *name;
    uint64_t events, alerts, errors;
} cs_plugin_stats;
void cs_plugin_host_stats(const cs_plugin_host *h, size_t i, cs_plugin_stats *st);

/* Check a plugin file without running it: ABI, then its help text generated
 * from its declared configuration keys, appended to out. */
cs_rc cs_plugin_describe(const char *path, cs_buf *out);

#endif
