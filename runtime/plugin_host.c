/* plugin_host.c - dlopen loader and hook dispatch (see plugin_host.h).
 *
 * Order of checks when loading, each with its own sentence:
 *   dlopen -> entry symbol -> descriptor not NULL -> size >= ABI 1.0 size
 *   -> major equal -> minor not newer than ours -> name present
 *   -> configuration validated -> init -> configure.
 * Only after the ABI checks does the host read name, hooks or keys.
 */
#include "plugin_host.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fields.h"
#include "log.h"

/* The smallest descriptor a 1.x plugin may have: up to and including destroy. */
#define MIN_DESC_SIZE (offsetof(cs_plugin, destroy) + sizeof(void (*)(void *)))
#define MAX_KEYS 64

struct cs_plugin_config {
    size_t n;
    const cs_plugin_cfg_key *keys;
    int64_t ints[MAX_KEYS];
    char *strs[MAX_KEYS];
    bool bools[MAX_KEYS];
};

struct cs_plugin_ctx {
    cs_plugin_host *host;
    char *path;
    void *dl;
    cs_plugin desc;           /* copy of what we may read (size-limited) */
    void *state;
    cs_plugin_config cfg;
    bool initialised;
    uint64_t events, alerts, errors;
};

struct cs_plugin_host {
    cs_plugin_alert_fn on_alert;
    void *ud;
    cs_plugin_ctx **plugins;
    size_t n;
};

static void api_log(cs_plugin_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void api_log(cs_plugin_ctx *ctx, int level, const char *fmt, ...)
{
    char msg[1024];
    char comp[80];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(comp, sizeof comp, "plugin:%s", ctx->desc.name ? ctx->desc.name : "?");
    if (level < CS_PLOG_ERROR || level > CS_PLOG_DEBUG) {
        level = CS_PLOG_INFO;
    }
    cs_log((cs_log_level)level, comp, "%s", msg);
}

static int find_key(const cs_plugin_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->keys[i].name, key) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int64_t api_cfg_int(const cs_plugin_config *cfg, const char *key)
{
    int i = find_key(cfg, key);
    return i >= 0 ? cfg->ints[i] : 0;
}

static const char *api_cfg_str(const cs_plugin_config *cfg, const char *key)
{
    int i = find_key(cfg, key);
    return i >= 0 && cfg->strs[i] != NULL ? cfg->strs[i] : "";
}

static bool api_cfg_bool(const cs_plugin_config *cfg, const char *key)
{
    int i = find_key(cfg, key);
    return i >= 0 ? cfg->bools[i] : false;
}

static cs_fid api_field_id(const char *name)
{
    return cs_field_intern(name, strlen(name));
}

static int api_event_kind(const cs_event *ev)
{
    return ev->kind;
}

static int64_t api_event_time(const cs_event *ev)
{
    return ev->ts_us;
}

static int api_emit_alert(cs_plugin_ctx *ctx, const cs_plugin_alert *a)
{
    if (a == NULL || a->rule_id == NULL || a->title == NULL) {
        ctx->errors++;
        return CS_PLUGIN_ERROR;
    }
    ctx->alerts++;
    if (ctx->host->on_alert != NULL) {
        ctx->host->on_alert(ctx->desc.name, a, ctx->host->ud);
    }
    return CS_PLUGIN_OK;
}

static void api_metric_add(cs_plugin_ctx *ctx, const char *name, int64_t delta)
{
    CS_DEBUG("plugin", "%s metric %s += %" PRId64, ctx->desc.name, name, delta);
}

static const cs_host_api host_api = {
    .size = sizeof(cs_host_api),
    .abi_major = CS_PLUGIN_ABI_MAJOR,
    .abi_minor = CS_PLUGIN_ABI_MINOR,
    .log = api_log,
    .cfg_int = api_cfg_int,
    .cfg_str = api_cfg_str,
    .cfg_bool = api_cfg_bool,
    .field_id = api_field_id,
    .event_kind = api_event_kind,
    .event_time_us = api_event_time,
    .event_get_int = cs_event_get_int,
    .event_get_str = cs_event_get_str,
    .event_get_ip = cs_event_get_ip,
    .ip_format = cs_ip_format,
    .emit_alert = api_emit_alert,
    .metric_add = api_metric_add,
    .alloc = malloc,
    .free = free,
};

cs_rc cs_plugin_host_new(cs_plugin_alert_fn on_alert, void *ud, cs_plugin_host **out)
{
    cs_plugin_host *h = calloc(1, sizeof *h);
    *out = NULL;
    if (h == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory creating the plugin host");
    }
    h->on_alert = on_alert;
    h->ud = ud;
    *out = h;
    return CS_OK;
}

static void cfg_clear(cs_plugin_config *cfg)
{
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->strs[i]);
        cfg->strs[i] = NULL;
    }
}

static void ctx_free(cs_plugin_ctx *c)
{
    if (c == NULL) {
        return;
    }
    if (c->initialised) {
        if (c->desc.stop != NULL) {
            c->desc.stop(c->state);
        }
        if (c->desc.destroy != NULL) {
            c->desc.destroy(c->state);
        }
    }
    cfg_clear(&c->cfg);
    if (c->dl != NULL) {
        dlclose(c->dl);
    }
    free(c->path);
    free(c);
}

void cs_plugin_host_free(cs_plugin_host *h)
{
    if (h == NULL) {
        return;
    }
    for (size_t i = 0; i < h->n; i++) {
        ctx_free(h->plugins[i]);
    }
    free(h->plugins);
    free(h);
}

/* Set one value from its text form; msg says where it came from. */
static cs_rc set_value(cs_plugin_config *cfg, size_t i, const char *text, const char *where)
{
    const cs_plugin_cfg_key *k = &cfg->keys[i];
    char *end;
    long long v;
    switch (k->type) {
    case CS_PCFG_INT:
        errno = 0;
        v = strtoll(text, &end, 10);
        if (errno != 0 || *text == '\0' || *end != '\0') {
            return cs_err_set(CS_ERR_CONFIG, "%s: '%s' must be a whole number, not '%s'", where, k->name, text);
        }
        if ((k->min != 0 || k->max != 0) && (v < k->min || v > k->max)) {
            return cs_err_set(CS_ERR_CONFIG, "%s: '%s' = %lld is outside %" PRId64 "..%" PRId64, where, k->name,
                              v, k->min, k->max);
        }
        cfg->ints[i] = v;
        return CS_OK;
    case CS_PCFG_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0) {
            cfg->bools[i] = true;
        } else if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0) {
            cfg->bools[i] = false;
        } else {
            return cs_err_set(CS_ERR_CONFIG, "%s: '%s' must be true or false, not '%s'", where, k->name, text);
        }
        return CS_OK;
    case CS_PCFG_STR:
        free(cfg->strs[i]);
        cfg->strs[i] = strdup(text);
        return cfg->strs[i] ? CS_OK : cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    return cs_err_set(CS_ERR_CONFIG, "%s: key '%s' has an unknown type in the plugin", where, k->name);
}

static cs_rc build_config(cs_plugin_ctx *c, const cs_yaml_file *yf, const cs_yaml_node *node)
{
    cs_plugin_config *cfg = &c->cfg;
    char where[512];
    cs_rc rc;

    if (c->desc.nconfig_keys > MAX_KEYS) {
        return cs_err_set(CS_ERR_CONFIG, "%s: plugin declares %zu configuration keys, at most %d", c->path,
                          c->desc.nconfig_keys, MAX_KEYS);
    }
    cfg->n = c->desc.nconfig_keys;
    cfg->keys = c->desc.config_keys;
    for (size_t i = 0; i < cfg->n; i++) {
        snprintf(where, sizeof where, "%s: default of", c->path);
        if (cfg->keys[i].name == NULL) {
            return cs_err_set(CS_ERR_CONFIG, "%s: configuration key %zu has no name", c->path, i);
        }
        if (cfg->keys[i].default_value != NULL) {
            rc = set_value(cfg, i, cfg->keys[i].default_value, where);
            if (rc != CS_OK) {
                return rc;
            }
        }
    }
    if (node == NULL || cs_yaml_is_null(node)) {
        return CS_OK;
    }
    if (node->type != CS_YAML_MAP) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: plugin config must be a mapping", yf ? yf->path : "?",
                          node->line);
    }
    for (size_t j = 0; j < node->n; j++) {
        const cs_yaml_node *k = node->keys[j];
        const cs_yaml_node *v = node->items[j];
        int i = find_key(cfg, k->str);
        snprintf(where, sizeof where, "%s:%d", yf ? yf->path : "?", k->line);
        if (i < 0) {
            cs_buf known;
            cs_buf_init(&known);
            for (size_t x = 0; x < cfg->n; x++) {
                cs_buf_printf(&known, "%s%s", x ? ", " : "", cfg->keys[x].name);
            }
            rc = cs_err_set(CS_ERR_CONFIG, "%s: unknown key '%s' for plugin %s (known: %s)", where, k->str,
                            c->desc.name, known.data ? known.data : "none");
            cs_buf_free(&known);
            return rc;
        }
        if (v->type != CS_YAML_SCALAR) {
            return cs_err_set(CS_ERR_CONFIG, "%s: '%s' must be a single value", where, k->str);
        }
        rc = set_value(cfg, (size_t)i, v->str, where);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

/* dlopen + ABI checks; fills c->dl and c->desc. */
static cs_rc open_checked(cs_plugin_ctx *c)
{
    cs_plugin_entry_fn entry;
    const cs_plugin *d;
    void *sym;

    c->dl = dlopen(c->path, RTLD_NOW | RTLD_LOCAL);
    if (c->dl == NULL) {
        return cs_err_set(CS_ERR_IO, "%s: cannot load plugin: %s", c->path, dlerror());
    }
    sym = dlsym(c->dl, CS_PLUGIN_ENTRY_SYMBOL);
    if (sym == NULL) {
        return cs_err_set(CS_ERR_ABI, "%s: not a citysoc plugin: no '%s' symbol", c->path,
                          CS_PLUGIN_ENTRY_SYMBOL);
    }
    memcpy(&entry, &sym, sizeof entry);
    d = entry();
    if (d == NULL) {
        return cs_err_set(CS_ERR_ABI, "%s: %s() returned no descriptor", c->path, CS_PLUGIN_ENTRY_SYMBOL);
    }
    if (d->abi_major != CS_PLUGIN_ABI_MAJOR) {
        return cs_err_set(CS_ERR_ABI, "%s: built for plugin ABI %u.%u, this citysoc speaks %d.%d: rebuild it",
                          c->path, d->abi_major, d->abi_minor, CS_PLUGIN_ABI_MAJOR, CS_PLUGIN_ABI_MINOR);
    }
    if (d->abi_minor > CS_PLUGIN_ABI_MINOR) {
        return cs_err_set(CS_ERR_ABI, "%s: needs plugin ABI %u.%u, this citysoc provides %d.%d: upgrade citysoc",
                          c->path, d->abi_major, d->abi_minor, CS_PLUGIN_ABI_MAJOR, CS_PLUGIN_ABI_MINOR);
    }
    if (d->size < MIN_DESC_SIZE) {
        return cs_err_set(CS_ERR_ABI, "%s: descriptor of %u bytes is smaller than ABI %d.0's %zu bytes",
                          c->path, d->size, CS_PLUGIN_ABI_MAJOR, (size_t)MIN_DESC_SIZE);
    }
    memset(&c->desc, 0, sizeof c->desc);
    memcpy(&c->desc, d, d->size < sizeof c->desc ? d->size : sizeof c->desc);
    if (c->desc.name == NULL || c->desc.name[0] == '\0') {
        return cs_err_set(CS_ERR_ABI, "%s: plugin descriptor has no name", c->path);
    }
    if (c->desc.nconfig_keys > 0 && c->desc.config_keys == NULL) {
        return cs_err_set(CS_ERR_ABI, "%s: plugin declares %zu keys but no key table", c->path,
                          c->desc.nconfig_keys);
    }
    return CS_OK;
}

cs_rc cs_plugin_host_load(cs_plugin_host *h, const char *path, const cs_yaml_file *yf, const cs_yaml_node *cfg)
{
    cs_plugin_ctx *c = calloc(1, sizeof *c);
    void *p;
    cs_rc rc;

    if (c == NULL || (c->path = strdup(path)) == NULL) {
        free(c);
        return cs_err_set(CS_ERR_NOMEM, "out of memory loading %s", path);
    }
    c->host = h;
    rc = open_checked(c);
    if (rc != CS_OK) {
        goto fail;
    }
    rc = build_config(c, yf, cfg);
    if (rc != CS_OK) {
        goto fail;
    }
    if (c->desc.init != NULL && c->desc.init(&host_api, c, &c->state) != CS_PLUGIN_OK) {
        rc = cs_err_set(CS_ERR_CONFIG, "%s: plugin %s failed to start", path, c->desc.name);
        goto fail;
    }
    c->initialised = true;
    if (c->desc.configure != NULL && c->desc.configure(c->state, &c->cfg) != CS_PLUGIN_OK) {
        rc = cs_err_set(CS_ERR_CONFIG, "%s: plugin %s refused its configuration", path, c->desc.name);
        goto fail;
    }
    p = realloc(h->plugins, (h->n + 1) * sizeof *h->plugins);
    if (p == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory loading %s", path);
        goto fail;
    }
    h->plugins = p;
    h->plugins[h->n++] = c;
    CS_INFO("plugin", "loaded %s %s from %s", c->desc.name, c->desc.version ? c->desc.version : "", path);
    return CS_OK;
fail:
    ctx_free(c);
    return rc;
}

void cs_plugin_host_on_event(cs_plugin_host *h, const cs_event *ev)
{
    for (size_t i = 0; i < h->n; i++) {
        cs_plugin_ctx *c = h->plugins[i];
        if (c->desc.on_event == NULL) {
            continue;
        }
        c->events++;
        if (c->desc.on_event(c->state, ev) != CS_PLUGIN_OK) {
            c->errors++;
        }
    }
}

void cs_plugin_host_tick(cs_plugin_host *h, int64_t now_us)
{
    for (size_t i = 0; i < h->n; i++) {
        cs_plugin_ctx *c = h->plugins[i];
        if (c->desc.on_tick != NULL && c->desc.on_tick(c->state, now_us) != CS_PLUGIN_OK) {
            c->errors++;
        }
    }
}

size_t cs_plugin_host_count(const cs_plugin_host *h)
{
    return h->n;
}

const cs_plugin *cs_plugin_host_plugin(const cs_plugin_host *h, size_t i)
{
    return i < h->n ? &h->plugins[i]->desc : NULL;
}

void cs_plugin_host_stats(const cs_plugin_host *h, size_t i, cs_plugin_stats *st)
{
    memset(st, 0, sizeof *st);
    if (i < h->n) {
        st->name = h->plugins[i]->desc.name;
        st->events = h->plugins[i]->events;
        st->alerts = h->plugins[i]->alerts;
        st->errors = h->plugins[i]->errors;
    }
}

static const char *type_name(cs_plugin_cfg_type t)
{
    switch (t) {
    case CS_PCFG_INT:
        return "integer";
    case CS_PCFG_STR:
        return "text";
    case CS_PCFG_BOOL:
        return "true/false";
    }
    return "?";
}

cs_rc cs_plugin_describe(const char *path, cs_buf *out)
{
    cs_plugin_ctx c;
    cs_rc rc;
    memset(&c, 0, sizeof c);
    c.path = (char *)path;
    rc = open_checked(&c);
    if (rc == CS_OK) {
        cs_buf_printf(out, "%s %s (plugin ABI %u.%u)\n  %s\n", c.desc.name, c.desc.version ? c.desc.version : "",
                      c.desc.abi_major, c.desc.abi_minor, c.desc.description ? c.desc.description : "");
        cs_buf_printf(out, "configuration keys:\n");
        for (size_t i = 0; i < c.desc.nconfig_keys; i++) {
            const cs_plugin_cfg_key *k = &c.desc.config_keys[i];
            cs_buf_printf(out, "  %-20s %-10s default %-8s %s\n", k->name, type_name(k->type),
                          k->default_value ? k->default_value : "-", k->doc ? k->doc : "");
        }
    }
    if (c.dl != NULL) {
        dlclose(c.dl);
    }
    return rc;
}
