/* config.c - load and validate the citysoc configuration (see config.h).
 *
 * Shape:
 *   log_level: info
 *   store:     { path: citysoc.db }
 *   rules:     [ path, ... ]
 *   inventory: path
 *   run_as:    user          (citysoc run: after opening the capture interfaces)
 *   inputs:    { pcap: [path...], logs: [ {path, format} ... ],
 *                capture: [ {interface, filter, snaplen, promisc, workers, buffer_mb} ... ],
 *                yara: { rules: [path...], max_bytes: n, timeout: seconds } }
 *   plugins:   { dir: path, load: [ {name | path, config: {...}} ... ] }
 *   http:      { listen: 127.0.0.1, port: 8088, static_dir: path }
 *   alerts:    { aggregate_window: seconds }
 *   pipeline:  { queue_capacity: n }
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

cs_rc cs_config_check_keys(const cs_yaml_file *f, const cs_yaml_node *map, const char *where,
                           const char *const *allowed)
{
    if (map->type != CS_YAML_MAP) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: %s must be a mapping, found %s", f->path, map->line, where,
                          cs_yaml_type_name(map->type));
    }
    for (size_t i = 0; i < map->n; i++) {
        bool ok = false;
        for (size_t a = 0; allowed[a] != NULL; a++) {
            if (strcmp(map->keys[i]->str, allowed[a]) == 0) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            cs_buf list;
            cs_rc rc;
            cs_buf_init(&list);
            for (size_t a = 0; allowed[a] != NULL; a++) {
                cs_buf_printf(&list, "%s%s", a ? ", " : "", allowed[a]);
            }
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: unknown key '%s' in %s (allowed: %s)", f->path,
                            map->keys[i]->line, map->keys[i]->str, where, list.data ? list.data : "");
            cs_buf_free(&list);
            return rc;
        }
    }
    return CS_OK;
}

char *cs_config_resolve(const char *dir, const char *path)
{
    size_t dl, pl;
    char *out;
    if (path[0] == '/' || dir == NULL || dir[0] == '\0') {
        return strdup(path);
    }
    dl = strlen(dir);
    pl = strlen(path);
    out = malloc(dl + pl + 2);
    if (out != NULL) {
        memcpy(out, dir, dl);
        out[dl] = '/';
        memcpy(out + dl + 1, path, pl + 1);
    }
    return out;
}

static cs_rc path_value(cs_config *c, const cs_yaml_node *n, char **out)
{
    const char *s;
    cs_rc rc = cs_yaml_str(c->yaml, n, &s);
    if (rc != CS_OK) {
        return rc;
    }
    if (s[0] == '\0') {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: empty path", c->path, n->line);
    }
    free(*out);
    *out = cs_config_resolve(c->dir, s);
    return *out ? CS_OK : cs_err_set(CS_ERR_NOMEM, "out of memory");
}

/* A list of paths; a single scalar is accepted as a list of one. */
static cs_rc path_list(cs_config *c, const cs_yaml_node *n, char ***out, size_t *count)
{
    size_t k = n->type == CS_YAML_SEQ ? n->n : 1;
    char **v;
    if (n->type == CS_YAML_MAP) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: expected a list of paths", c->path, n->line);
    }
    v = calloc(k ? k : 1, sizeof *v);
    if (v == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    *out = v;
    *count = 0;
    for (size_t i = 0; i < k; i++) {
        cs_rc rc = path_value(c, n->type == CS_YAML_SEQ ? n->items[i] : n, &v[i]);
        if (rc != CS_OK) {
            return rc;
        }
        (*count)++;
    }
    return CS_OK;
}

static cs_rc dup_scalar(cs_config *c, const cs_yaml_node *n, char **out)
{
    const char *s;
    cs_rc rc = cs_yaml_str(c->yaml, n, &s);
    if (rc != CS_OK) {
        return rc;
    }
    free(*out);
    *out = strdup(s);
    return *out ? CS_OK : cs_err_set(CS_ERR_NOMEM, "out of memory");
}

static cs_rc load_logs(cs_config *c, const cs_yaml_node *v)
{
    static const char *const log_keys[] = {"path", "format", "host", NULL};
    cs_rc rc = CS_OK;
    if (v->type != CS_YAML_SEQ) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: inputs.logs must be a list", c->path, v->line);
    }
    c->logs = calloc(v->n ? v->n : 1, sizeof *c->logs);
    if (c->logs == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < v->n && rc == CS_OK; i++) {
        const cs_yaml_node *item = v->items[i];
        const cs_yaml_node *p, *fmt;
        cs_log_input *li = &c->logs[c->nlogs++];
        li->line = item->line;
        if (item->type == CS_YAML_SCALAR) {
            rc = path_value(c, item, &li->path);
        } else if ((rc = cs_config_check_keys(c->yaml, item, "inputs.logs[]", log_keys)) == CS_OK) {
            if ((p = cs_yaml_get(item, "path")) == NULL) {
                rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: a log input needs a path", c->path, item->line);
            } else {
                rc = path_value(c, p, &li->path);
            }
            if (rc == CS_OK && (fmt = cs_yaml_get(item, "format")) != NULL) {
                rc = dup_scalar(c, fmt, &li->format);
                li->line = fmt->line;
            }
            if (rc == CS_OK && (p = cs_yaml_get(item, "host")) != NULL) {
                rc = dup_scalar(c, p, &li->host);
            }
        }
        if (rc == CS_OK && li->format == NULL && (li->format = strdup("auto")) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
    }
    return rc;
}

static cs_rc load_tails(cs_config *c, const cs_yaml_node *v)
{
    static const char *const keys[] = {"paths", "format", "from_start", "host", NULL};
    cs_rc rc = CS_OK;
    if (v->type != CS_YAML_SEQ) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: inputs.tail must be a list", c->path, v->line);
    }
    c->tails = calloc(v->n ? v->n : 1, sizeof *c->tails);
    if (c->tails == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < v->n && rc == CS_OK; i++) {
        const cs_yaml_node *item = v->items[i];
        const cs_yaml_node *w;
        cs_tail_input *t = &c->tails[c->ntails++];
        t->line = item->line;
        if ((rc = cs_config_check_keys(c->yaml, item, "inputs.tail[]", keys)) != CS_OK) {
            break;
        }
        if ((w = cs_yaml_get(item, "paths")) == NULL) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: a tail input needs paths", c->path, item->line);
            break;
        }
        if ((rc = path_list(c, w, &t->paths, &t->npaths)) != CS_OK) {
            break;
        }
        if ((w = cs_yaml_get(item, "format")) != NULL) {
            rc = dup_scalar(c, w, &t->format);
            t->line = w->line;
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "from_start")) != NULL) {
            rc = cs_yaml_bool(c->yaml, w, &t->from_start);
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "host")) != NULL) {
            rc = dup_scalar(c, w, &t->host);
        }
        if (rc == CS_OK && t->format == NULL && (t->format = strdup("auto")) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
    }
    return rc;
}

static cs_rc load_syslogs(cs_config *c, const cs_yaml_node *v)
{
    static const char *const keys[] = {"name", "transport", "listen", "port", "format", "tls_cert", "tls_key",
                                       "tls_ca", "max_connections", "idle_timeout", NULL};
    cs_rc rc = CS_OK;
    if (v->type != CS_YAML_SEQ) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: inputs.syslog must be a list", c->path, v->line);
    }
    c->syslogs = calloc(v->n ? v->n : 1, sizeof *c->syslogs);
    if (c->syslogs == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < v->n && rc == CS_OK; i++) {
        const cs_yaml_node *item = v->items[i];
        const cs_yaml_node *w;
        cs_syslog_input *s = &c->syslogs[c->nsyslogs++];
        int64_t num;
        s->line = item->line;
        s->max_connections = 256;
        s->idle_timeout_s = 300;
        if ((rc = cs_config_check_keys(c->yaml, item, "inputs.syslog[]", keys)) != CS_OK) {
            break;
        }
        if ((w = cs_yaml_get(item, "transport")) == NULL) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: a syslog input needs a transport (udp, tcp or tls)", c->path,
                            item->line);
            break;
        }
        if ((rc = dup_scalar(c, w, &s->transport)) != CS_OK) {
            break;
        }
        if (strcmp(s->transport, "udp") != 0 && strcmp(s->transport, "tcp") != 0 && strcmp(s->transport, "tls") != 0) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: transport '%s' is not udp, tcp or tls", c->path, w->line,
                            s->transport);
            break;
        }
        if ((w = cs_yaml_get(item, "port")) == NULL) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: a syslog input needs a port", c->path, item->line);
            break;
        }
        if ((rc = cs_yaml_int(c->yaml, w, 0, 65535, &num)) != CS_OK) {
            break;
        }
        s->port = (int)num;
        if ((w = cs_yaml_get(item, "listen")) != NULL) {
            rc = dup_scalar(c, w, &s->listen);
        } else if ((s->listen = strdup("127.0.0.1")) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "name")) != NULL) {
            rc = dup_scalar(c, w, &s->name);
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "format")) != NULL) {
            rc = dup_scalar(c, w, &s->format);
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "tls_cert")) != NULL) {
            rc = path_value(c, w, &s->tls_cert);
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "tls_key")) != NULL) {
            rc = path_value(c, w, &s->tls_key);
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "tls_ca")) != NULL) {
            rc = path_value(c, w, &s->tls_ca);
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "max_connections")) != NULL) {
            rc = cs_yaml_int(c->yaml, w, 1, 65536, &num);
            s->max_connections = (int)num;
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "idle_timeout")) != NULL) {
            rc = cs_yaml_int(c->yaml, w, 1, 86400, &num);
            s->idle_timeout_s = (int)num;
        }
        if (rc == CS_OK && strcmp(s->transport, "tls") == 0 && (s->tls_cert == NULL || s->tls_key == NULL)) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: a tls syslog input needs tls_cert and tls_key", c->path,
                            item->line);
        }
        if (rc == CS_OK && s->format == NULL && (s->format = strdup("syslog")) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
        if (rc == CS_OK && s->name == NULL) {
            char nm[64];
            snprintf(nm, sizeof nm, "syslog-%s-%d", s->transport, s->port);
            if ((s->name = strdup(nm)) == NULL) {
                rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
            }
        }
    }
    return rc;
}

/* "+07:00", "-0530", "UTC", "Z" -> seconds east of UTC */
static bool parse_tz(const char *s, int *out)
{
    int sign, h, m;
    size_t n = strlen(s);
    if (strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0) {
        *out = 0;
        return true;
    }
    if ((n != 6 && n != 5) || (s[0] != '+' && s[0] != '-')) {
        return false;
    }
    sign = s[0] == '-' ? -1 : 1;
    if (s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9') {
        return false;
    }
    h = (s[1] - '0') * 10 + (s[2] - '0');
    s += n == 6 ? 4 : 3;
    if (n == 6 && s[-1] != ':') {
        return false;
    }
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') {
        return false;
    }
    m = (s[0] - '0') * 10 + (s[1] - '0');
    if (h > 14 || m > 59) {
        return false;
    }
    *out = sign * (h * 3600 + m * 60);
    return true;
}

static cs_rc load_yara(cs_config *c, const cs_yaml_node *v)
{
    static const char *const keys[] = {"rules", "max_bytes", "timeout", NULL};
    const cs_yaml_node *w;
    cs_rc rc = cs_config_check_keys(c->yaml, v, "inputs.yara", keys);
    if (rc != CS_OK) {
        return rc;
    }
    if ((w = cs_yaml_get(v, "rules")) == NULL || cs_yaml_is_null(w)) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: inputs.yara needs rules (YARA rule files or directories)", c->path,
                          v->line);
    }
    if ((rc = path_list(c, w, &c->yara_rules, &c->nyara_rules)) != CS_OK) {
        return rc;
    }
    if ((w = cs_yaml_get(v, "max_bytes")) != NULL &&
        (rc = cs_yaml_int(c->yaml, w, 1, 64 * 1024 * 1024, &c->yara_max_bytes)) != CS_OK) {
        return rc;
    }
    if ((w = cs_yaml_get(v, "timeout")) != NULL &&
        (rc = cs_yaml_int(c->yaml, w, 1, 3600, &c->yara_timeout_s)) != CS_OK) {
        return rc;
    }
    return CS_OK;
}

/* inputs.capture: live interfaces. The ranges match sensors/packet/live.h
 * (workers: CS_PACKET_MAX_WORKERS), which the runtime does not include. */
static cs_rc load_captures(cs_config *c, const cs_yaml_node *v)
{
    static const char *const keys[] = {"interface", "filter", "snaplen", "promisc", "workers", "buffer_mb", NULL};
    cs_rc rc = CS_OK;
    if (v->type != CS_YAML_SEQ) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: inputs.capture must be a list of interfaces", c->path, v->line);
    }
    c->captures = calloc(v->n ? v->n : 1, sizeof *c->captures);
    if (c->captures == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < v->n && rc == CS_OK; i++) {
        const cs_yaml_node *item = v->items[i];
        const cs_yaml_node *w;
        cs_capture_input *ci = &c->captures[c->ncaptures++];
        int64_t num;
        ci->line = item->line;
        ci->promisc = true;
        ci->workers = 1;
        if ((rc = cs_config_check_keys(c->yaml, item, "inputs.capture[]", keys)) != CS_OK) {
            break;
        }
        if ((w = cs_yaml_get(item, "interface")) == NULL || cs_yaml_is_null(w)) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: a capture needs an interface (eth0, ...)", c->path, item->line);
            break;
        }
        if ((rc = dup_scalar(c, w, &ci->interface)) != CS_OK) {
            break;
        }
        if (ci->interface[0] == '\0' || strlen(ci->interface) > 15 || strchr(ci->interface, '/') != NULL) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: interface '%s' is not an interface name (1-15 characters, no '/')",
                            c->path, w->line, ci->interface);
            break;
        }
        for (size_t k = 0; k + 1 < c->ncaptures; k++) {
            if (strcmp(c->captures[k].interface, ci->interface) == 0) {
                rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: interface '%s' is already captured (line %d); one capture "
                                "per interface (its filter can take several kinds of traffic)", c->path, w->line,
                                ci->interface, c->captures[k].line);
                break;
            }
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "filter")) != NULL && !cs_yaml_is_null(w)) {
            rc = dup_scalar(c, w, &ci->filter);
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "snaplen")) != NULL) {
            rc = cs_yaml_int(c->yaml, w, 64, 262144, &num);
            ci->snaplen = (int)num;
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "promisc")) != NULL) {
            rc = cs_yaml_bool(c->yaml, w, &ci->promisc);
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "workers")) != NULL) {
            rc = cs_yaml_int(c->yaml, w, 1, 64, &num);
            ci->workers = (int)num;
        }
        if (rc == CS_OK && (w = cs_yaml_get(item, "buffer_mb")) != NULL) {
            rc = cs_yaml_int(c->yaml, w, 1, 1024, &num);
            ci->buffer_mb = (int)num;
        }
    }
    return rc;
}

static cs_rc load_inputs(cs_config *c, const cs_yaml_node *n)
{
    static const char *const keys[] = {"pcap", "capture", "logs", "tail", "syslog", "stdin", "max_line",
                                       "state_dir", "syslog_timezone", "yara", NULL};
    const cs_yaml_node *v;
    cs_rc rc = cs_config_check_keys(c->yaml, n, "inputs", keys);
    if (rc != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "pcap")) != NULL && !cs_yaml_is_null(v) &&
        (rc = path_list(c, v, &c->pcaps, &c->npcaps)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "capture")) != NULL && !cs_yaml_is_null(v) && (rc = load_captures(c, v)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "logs")) != NULL && !cs_yaml_is_null(v) && (rc = load_logs(c, v)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "yara")) != NULL && !cs_yaml_is_null(v) && (rc = load_yara(c, v)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "tail")) != NULL && !cs_yaml_is_null(v) && (rc = load_tails(c, v)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "syslog")) != NULL && !cs_yaml_is_null(v) && (rc = load_syslogs(c, v)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "stdin")) != NULL && !cs_yaml_is_null(v)) {
        static const char *const stdin_keys[] = {"format", NULL};
        const cs_yaml_node *f;
        if ((rc = cs_config_check_keys(c->yaml, v, "inputs.stdin", stdin_keys)) != CS_OK) {
            return rc;
        }
        f = cs_yaml_get(v, "format");
        if (f != NULL) {
            rc = dup_scalar(c, f, &c->stdin_format);
        } else if ((c->stdin_format = strdup("auto")) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
        if (rc != CS_OK) {
            return rc;
        }
    }
    if ((v = cs_yaml_get(n, "max_line")) != NULL &&
        (rc = cs_yaml_int(c->yaml, v, 256, 64 * 1024 * 1024, &c->max_line)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "state_dir")) != NULL && (rc = path_value(c, v, &c->state_dir)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "syslog_timezone")) != NULL) {
        const char *tz;
        if ((rc = cs_yaml_str(c->yaml, v, &tz)) != CS_OK) {
            return rc;
        }
        if (!parse_tz(tz, &c->tz_offset_s)) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: syslog_timezone '%s' is not UTC or an offset like +07:00",
                              c->path, v->line, tz);
        }
    }
    return CS_OK;
}

static cs_rc load_plugins(cs_config *c, const cs_yaml_node *n)
{
    static const char *const keys[] = {"dir", "load", NULL};
    static const char *const item_keys[] = {"name", "path", "config", NULL};
    const cs_yaml_node *v;
    cs_rc rc = cs_config_check_keys(c->yaml, n, "plugins", keys);
    if (rc != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "dir")) != NULL) {
        rc = path_value(c, v, &c->plugin_dir);
        if (rc != CS_OK) {
            return rc;
        }
    }
    v = cs_yaml_get(n, "load");
    if (v == NULL || cs_yaml_is_null(v)) {
        return CS_OK;
    }
    if (v->type != CS_YAML_SEQ) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: plugins.load must be a list", c->path, v->line);
    }
    c->plugins = calloc(v->n ? v->n : 1, sizeof *c->plugins);
    if (c->plugins == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < v->n; i++) {
        const cs_yaml_node *item = v->items[i];
        const cs_yaml_node *name, *path;
        cs_plugin_conf *pc = &c->plugins[c->nplugins++];
        const char *s;
        rc = cs_config_check_keys(c->yaml, item, "plugins.load[]", item_keys);
        if (rc != CS_OK) {
            return rc;
        }
        name = cs_yaml_get(item, "name");
        path = cs_yaml_get(item, "path");
        if ((name == NULL) == (path == NULL)) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: a plugin needs exactly one of 'name' or 'path'", c->path,
                              item->line);
        }
        if (name != NULL) {
            rc = cs_yaml_str(c->yaml, name, &s);
            if (rc != CS_OK) {
                return rc;
            }
            if (s[0] == '\0' || strchr(s, '/') != NULL) {
                return cs_err_set(CS_ERR_CONFIG, "%s:%d: plugin name '%s' must be a plain name", c->path,
                                  name->line, s);
            }
            pc->name = strdup(s);
            if (pc->name == NULL) {
                return cs_err_set(CS_ERR_NOMEM, "out of memory");
            }
        } else {
            rc = path_value(c, path, &pc->path);
            if (rc != CS_OK) {
                return rc;
            }
        }
        pc->config = cs_yaml_get(item, "config");
    }
    return CS_OK;
}

/* rule_placeholders: {name: value | [values]}, names as Sigma writes them
 * between % signs (letters, digits, _ - .). */
static cs_rc check_placeholders(cs_config *c, const cs_yaml_node *v)
{
    if (v->type != CS_YAML_MAP) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: rule_placeholders must map placeholder names to values", c->path,
                          v->line);
    }
    for (size_t i = 0; i < v->n; i++) {
        const cs_yaml_node *k = v->keys[i], *val = v->items[i];
        if (k->len == 0 || k->len > 64 || strspn(k->str, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                        "0123456789_-.") != k->len) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: placeholder name '%.64s' must be 1-64 letters, digits, _ - or .",
                              c->path, k->line, k->str);
        }
        if (val->type == CS_YAML_MAP) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: placeholder '%s' takes a value or a list of values", c->path,
                              val->line, k->str);
        }
        for (size_t j = 0; val->type == CS_YAML_SEQ && j < val->n; j++) {
            if (val->items[j]->type != CS_YAML_SCALAR) {
                return cs_err_set(CS_ERR_CONFIG, "%s:%d: placeholder '%s': values must be scalars", c->path,
                                  val->items[j]->line, k->str);
            }
        }
    }
    return CS_OK;
}

static cs_rc load_root(cs_config *c, const cs_yaml_node *root)
{
    static const char *const keys[] = {"log_level", "store", "rules", "rule_mappings", "rule_placeholders",
                                       "inventory", "geoip", "inputs", "plugins", "http", "alerts", "pipeline",
                                       "run_as", "notify", "incidents", NULL};
    static const char *const geoip_keys[] = {"city", "asn", "optional", NULL};
    static const char *const store_keys[] = {"path", NULL};
    static const char *const http_keys[] = {"listen", "port", "static_dir", NULL};
    static const char *const alert_keys[] = {"aggregate_window", NULL};
    static const char *const inc_keys[] = {"open_at_risk", "tag", "sla_minutes", "interval", NULL};
    static const char *const sla_keys[] = {"low", "medium", "high", "critical", NULL};
    static const char *const pipe_keys[] = {"queue_capacity", NULL};
    const cs_yaml_node *v, *w;
    const char *s;
    int64_t num;
    cs_rc rc;

    rc = cs_config_check_keys(c->yaml, root, "the configuration", keys);
    if (rc != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(root, "notify")) != NULL && !cs_yaml_is_null(v)) {
        if (v->type != CS_YAML_MAP) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: notify must be a mapping", c->path, v->line);
        }
        c->notify = v;   /* read by cs_notify_opts_from_yaml() (correlator/notify.h) */
    }
    if ((v = cs_yaml_get(root, "log_level")) != NULL) {
        if ((rc = cs_yaml_str(c->yaml, v, &s)) != CS_OK) {
            return rc;
        }
        c->log_level = cs_log_level_parse(s);
        if (c->log_level < 0) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: log_level '%s' is not one of error, warn, info, debug",
                              c->path, v->line, s);
        }
    }
    if ((v = cs_yaml_get(root, "store")) != NULL) {
        if ((rc = cs_config_check_keys(c->yaml, v, "store", store_keys)) != CS_OK) {
            return rc;
        }
        if ((w = cs_yaml_get(v, "path")) != NULL && (rc = path_value(c, w, &c->store_path)) != CS_OK) {
            return rc;
        }
    }
    if ((v = cs_yaml_get(root, "rules")) != NULL && !cs_yaml_is_null(v)) {
        if ((rc = path_list(c, v, &c->rule_paths, &c->nrule_paths)) != CS_OK) {
            return rc;
        }
    }
    if ((v = cs_yaml_get(root, "rule_mappings")) != NULL && !cs_yaml_is_null(v)) {
        if ((rc = path_list(c, v, &c->mapping_paths, &c->nmapping_paths)) != CS_OK) {
            return rc;
        }
    }
    if ((v = cs_yaml_get(root, "rule_placeholders")) != NULL && !cs_yaml_is_null(v)) {
        if ((rc = check_placeholders(c, v)) != CS_OK) {
            return rc;
        }
        c->placeholders = v;
    }
    if ((v = cs_yaml_get(root, "geoip")) != NULL && !cs_yaml_is_null(v)) {
        if ((rc = cs_config_check_keys(c->yaml, v, "geoip", geoip_keys)) != CS_OK) {
            return rc;
        }
        if ((w = cs_yaml_get(v, "city")) != NULL && !cs_yaml_is_null(w) &&
            (rc = path_value(c, w, &c->geoip_city)) != CS_OK) {
            return rc;
        }
        if ((w = cs_yaml_get(v, "asn")) != NULL && !cs_yaml_is_null(w) &&
            (rc = path_value(c, w, &c->geoip_asn)) != CS_OK) {
            return rc;
        }
        if ((w = cs_yaml_get(v, "optional")) != NULL && (rc = cs_yaml_bool(c->yaml, w, &c->geoip_optional)) != CS_OK) {
            return rc;
        }
    }
    if ((v = cs_yaml_get(root, "inventory")) != NULL && !cs_yaml_is_null(v)) {
        if ((rc = path_value(c, v, &c->inventory_path)) != CS_OK) {
            return rc;
        }
    }
    if ((v = cs_yaml_get(root, "run_as")) != NULL && !cs_yaml_is_null(v)) {
        if ((rc = dup_scalar(c, v, &c->run_as)) != CS_OK) {
            return rc;
        }
        if (c->run_as[0] == '\0') {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: run_as needs a user name", c->path, v->line);
        }
        c->run_as_line = v->line;
    }
    if ((v = cs_yaml_get(root, "inputs")) != NULL && (rc = load_inputs(c, v)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(root, "plugins")) != NULL && (rc = load_plugins(c, v)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(root, "http")) != NULL) {
        if ((rc = cs_config_check_keys(c->yaml, v, "http", http_keys)) != CS_OK) {
            return rc;
        }
        if ((w = cs_yaml_get(v, "listen")) != NULL) {
            if ((rc = cs_yaml_str(c->yaml, w, &s)) != CS_OK) {
                return rc;
            }
            free(c->http_listen);
            if ((c->http_listen = strdup(s)) == NULL) {
                return cs_err_set(CS_ERR_NOMEM, "out of memory");
            }
        }
        if ((w = cs_yaml_get(v, "port")) != NULL) {
            if ((rc = cs_yaml_int(c->yaml, w, 0, 65535, &num)) != CS_OK) {
                return rc;
            }
            c->http_port = (int)num;
        }
        if ((w = cs_yaml_get(v, "static_dir")) != NULL && (rc = path_value(c, w, &c->http_static_dir)) != CS_OK) {
            return rc;
        }
    }
    if ((v = cs_yaml_get(root, "incidents")) != NULL && !cs_yaml_is_null(v)) {
        if ((rc = cs_config_check_keys(c->yaml, v, "incidents", inc_keys)) != CS_OK) {
            return rc;
        }
        if ((w = cs_yaml_get(v, "open_at_risk")) != NULL) {
            char *end = NULL;
            double r;
            if ((rc = cs_yaml_str(c->yaml, w, &s)) != CS_OK) {
                return rc;
            }
            r = strtod(s, &end);
            if (end == s || *end != '\0' || !(r >= 0.0 && r <= 11.0)) {
                return cs_err_set(CS_ERR_CONFIG, "%s:%d: incidents.open_at_risk is a risk 0-10 (above 10: only "
                                  "tagged rules open incidents), not '%s'", c->path, w->line, s);
            }
            c->incident_open_at_risk = r;
        }
        if ((w = cs_yaml_get(v, "tag")) != NULL && (rc = dup_scalar(c, w, &c->incident_tag)) != CS_OK) {
            return rc;
        }
        if ((w = cs_yaml_get(v, "interval")) != NULL &&
            (rc = cs_yaml_int(c->yaml, w, 1, 3600, &c->incident_interval_s)) != CS_OK) {
            return rc;
        }
        if ((w = cs_yaml_get(v, "sla_minutes")) != NULL) {
            if ((rc = cs_config_check_keys(c->yaml, w, "incidents.sla_minutes", sla_keys)) != CS_OK) {
                return rc;
            }
            for (int i = 0; sla_keys[i] != NULL; i++) {
                const cs_yaml_node *m = cs_yaml_get(w, sla_keys[i]);
                if (m != NULL && (rc = cs_yaml_int(c->yaml, m, 1, 525600, &c->incident_sla_min[i])) != CS_OK) {
                    return rc;
                }
            }
        }
    }
    if ((v = cs_yaml_get(root, "alerts")) != NULL) {
        if ((rc = cs_config_check_keys(c->yaml, v, "alerts", alert_keys)) != CS_OK) {
            return rc;
        }
        if ((w = cs_yaml_get(v, "aggregate_window")) != NULL &&
            (rc = cs_yaml_int(c->yaml, w, 0, 86400 * 30, &c->aggregate_window_s)) != CS_OK) {
            return rc;
        }
    }
    if ((v = cs_yaml_get(root, "pipeline")) != NULL) {
        if ((rc = cs_config_check_keys(c->yaml, v, "pipeline", pipe_keys)) != CS_OK) {
            return rc;
        }
        if ((w = cs_yaml_get(v, "queue_capacity")) != NULL &&
            (rc = cs_yaml_int(c->yaml, w, 1, 10000000, &c->queue_capacity)) != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

cs_rc cs_config_load(const char *path, cs_config **out)
{
    cs_config *c = calloc(1, sizeof *c);
    const char *slash;
    cs_rc rc;

    *out = NULL;
    if (c == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    c->log_level = -1;
    c->http_port = 0;
    c->aggregate_window_s = 300;
    c->incident_open_at_risk = 7.0;
    c->queue_capacity = 4096;
    c->max_line = 64 * 1024;
    c->path = strdup(path);
    slash = strrchr(path, '/');
    c->dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    c->http_listen = strdup("127.0.0.1");
    if (c->path == NULL || c->dir == NULL || c->http_listen == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (c->dir[0] == '\0') {
        free(c->dir);
        c->dir = strdup("/");
    }
    rc = cs_yaml_load_file(path, &c->yaml);
    if (rc != CS_OK) {
        goto fail;
    }
    if (c->yaml->ndocs != 1) {
        rc = cs_err_set(CS_ERR_CONFIG, "%s: expected one YAML document, found %zu", path, c->yaml->ndocs);
        goto fail;
    }
    rc = load_root(c, c->yaml->docs[0]);
    if (rc != CS_OK) {
        goto fail;
    }
    if (c->store_path == NULL && (c->store_path = cs_config_resolve(c->dir, "citysoc.db")) == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = c;
    return CS_OK;
fail:
    cs_config_free(c);
    return rc;
}

void cs_config_free(cs_config *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->nrule_paths; i++) {
        free(c->rule_paths[i]);
    }
    free(c->rule_paths);
    for (size_t i = 0; i < c->nmapping_paths; i++) {
        free(c->mapping_paths[i]);
    }
    free(c->mapping_paths);
    for (size_t i = 0; i < c->npcaps; i++) {
        free(c->pcaps[i]);
    }
    free(c->pcaps);
    for (size_t i = 0; i < c->ncaptures; i++) {
        free(c->captures[i].interface);
        free(c->captures[i].filter);
    }
    free(c->captures);
    free(c->run_as);
    for (size_t i = 0; i < c->nyara_rules; i++) {
        free(c->yara_rules[i]);
    }
    free(c->yara_rules);
    for (size_t i = 0; i < c->nlogs; i++) {
        free(c->logs[i].path);
        free(c->logs[i].format);
        free(c->logs[i].host);
    }
    free(c->logs);
    for (size_t i = 0; i < c->ntails; i++) {
        for (size_t k = 0; k < c->tails[i].npaths; k++) {
            free(c->tails[i].paths[k]);
        }
        free(c->tails[i].paths);
        free(c->tails[i].format);
        free(c->tails[i].host);
    }
    free(c->tails);
    for (size_t i = 0; i < c->nsyslogs; i++) {
        cs_syslog_input *s = &c->syslogs[i];
        free(s->name);
        free(s->transport);
        free(s->listen);
        free(s->format);
        free(s->tls_cert);
        free(s->tls_key);
        free(s->tls_ca);
    }
    free(c->syslogs);
    free(c->stdin_format);
    free(c->state_dir);
    for (size_t i = 0; i < c->nplugins; i++) {
        free(c->plugins[i].name);
        free(c->plugins[i].path);
    }
    free(c->plugins);
    free(c->plugin_dir);
    free(c->inventory_path);
    free(c->geoip_city);
    free(c->geoip_asn);
    free(c->store_path);
    free(c->http_listen);
    free(c->incident_tag);
    free(c->http_static_dir);
    free(c->dir);
    free(c->path);
    cs_yaml_free(c->yaml);
    free(c);
}
