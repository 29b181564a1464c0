/* inventory.c - load the system inventory and map events to systems.
 *
 * A city has tens to hundreds of systems and a few ranges each: a linear scan
 * keeping the longest prefix is simpler than a trie and fast enough here; the
 * scan is per event only on the correlator thread.
 */
#include "inventory.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../runtime/config.h"
#include "../runtime/yamltree.h"

struct cs_inventory {
    cs_system *systems;
    size_t n;
};

bool cs_cidr_parse(const char *s, cs_ip *net, uint8_t *prefix)
{
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    long p;
    char *end;
    if (!cs_ip_parse(s, alen, net)) {
        return false;
    }
    if (slash == NULL) {
        *prefix = net->family == 4 ? 32 : 128;
        return true;
    }
    p = strtol(slash + 1, &end, 10);
    if (end == slash + 1 || *end != '\0' || p < 0 || p > (net->family == 4 ? 32 : 128)) {
        return false;
    }
    *prefix = (uint8_t)p;
    return true;
}

bool cs_cidr_contains(const cs_ip *net, uint8_t prefix, const cs_ip *ip)
{
    size_t full = prefix / 8;
    uint8_t rem = prefix % 8;
    if (net->family != ip->family) {
        return false;
    }
    if (memcmp(net->addr, ip->addr, full) != 0) {
        return false;
    }
    if (rem) {
        uint8_t mask = (uint8_t)(0xFF << (8 - rem));
        return (net->addr[full] & mask) == (ip->addr[full] & mask);
    }
    return true;
}

static void system_free(cs_system *s)
{
    free(s->id);
    free(s->name_vi);
    free(s->name_en);
    free(s->owner);
    free(s->contact);
    free(s->nets);
    free(s->prefix);
    for (size_t i = 0; i < s->nhosts; i++) {
        free(s->hosts[i]);
    }
    free(s->hosts);
}

void cs_inventory_free(cs_inventory *inv)
{
    if (inv == NULL) {
        return;
    }
    for (size_t i = 0; i < inv->n; i++) {
        system_free(&inv->systems[i]);
    }
    free(inv->systems);
    free(inv);
}

cs_rc cs_inventory_empty(cs_inventory **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? CS_OK : cs_err_set(CS_ERR_NOMEM, "out of memory");
}

static cs_rc dup_str(const cs_yaml_file *f, const cs_yaml_node *n, char **out)
{
    const char *s;
    cs_rc rc = cs_yaml_str(f, n, &s);
    if (rc != CS_OK) {
        return rc;
    }
    *out = strdup(s);
    return *out ? CS_OK : cs_err_set(CS_ERR_NOMEM, "out of memory");
}

static cs_rc load_system(const cs_yaml_file *f, const cs_yaml_node *n, cs_system *s)
{
    static const char *const keys[] = {"id", "name", "owner", "contact", "security_level", "asset_value",
                                       "ranges", "hosts", "sensors", "log_sources", NULL};
    static const char *const name_keys[] = {"vi", "en", NULL};
    const cs_yaml_node *v;
    int64_t num;
    cs_rc rc;

    if ((rc = cs_config_check_keys(f, n, "a system", keys)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "id")) == NULL) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: a system needs an id", f->path, n->line);
    }
    if ((rc = dup_str(f, v, &s->id)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "name")) != NULL) {
        if (v->type == CS_YAML_SCALAR) {
            rc = dup_str(f, v, &s->name_en);
        } else if ((rc = cs_config_check_keys(f, v, "name", name_keys)) == CS_OK) {
            const cs_yaml_node *vi = cs_yaml_get(v, "vi");
            const cs_yaml_node *en = cs_yaml_get(v, "en");
            if (vi != NULL) {
                rc = dup_str(f, vi, &s->name_vi);
            }
            if (rc == CS_OK && en != NULL) {
                rc = dup_str(f, en, &s->name_en);
            }
        }
        if (rc != CS_OK) {
            return rc;
        }
    }
    if ((v = cs_yaml_get(n, "owner")) != NULL && (rc = dup_str(f, v, &s->owner)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "contact")) != NULL && (rc = dup_str(f, v, &s->contact)) != CS_OK) {
        return rc;
    }
    s->security_level = 3;
    s->asset_value = 2;
    if ((v = cs_yaml_get(n, "security_level")) != NULL) {
        if ((rc = cs_yaml_int(f, v, 1, 5, &num)) != CS_OK) {
            return rc;
        }
        s->security_level = (int)num;
    }
    if ((v = cs_yaml_get(n, "asset_value")) != NULL) {
        if ((rc = cs_yaml_int(f, v, 0, 5, &num)) != CS_OK) {
            return rc;
        }
        s->asset_value = (int)num;
    }
    if ((v = cs_yaml_get(n, "ranges")) != NULL && !cs_yaml_is_null(v)) {
        if (v->type != CS_YAML_SEQ) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: ranges must be a list", f->path, v->line);
        }
        s->nets = calloc(v->n + 1, sizeof *s->nets);
        s->prefix = calloc(v->n + 1, 1);
        if (s->nets == NULL || s->prefix == NULL) {
            return cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < v->n; i++) {
            const char *txt;
            if ((rc = cs_yaml_str(f, v->items[i], &txt)) != CS_OK) {
                return rc;
            }
            if (!cs_cidr_parse(txt, &s->nets[i], &s->prefix[i])) {
                return cs_err_set(CS_ERR_CONFIG, "%s:%d: '%s' is not an address range like 10.1.0.0/16", f->path,
                                  v->items[i]->line, txt);
            }
            s->nnets++;
        }
    }
    if ((v = cs_yaml_get(n, "hosts")) != NULL && !cs_yaml_is_null(v)) {
        if (v->type != CS_YAML_SEQ) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: hosts must be a list", f->path, v->line);
        }
        s->hosts = calloc(v->n + 1, sizeof *s->hosts);
        if (s->hosts == NULL) {
            return cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < v->n; i++) {
            if ((rc = dup_str(f, v->items[i], &s->hosts[i])) != CS_OK) {
                return rc;
            }
            s->nhosts++;
        }
    }
    return CS_OK;
}

cs_rc cs_inventory_load(const char *path, cs_inventory **out)
{
    static const char *const top_keys[] = {"systems", NULL};
    cs_yaml_file *f = NULL;
    cs_inventory *inv = NULL;
    const cs_yaml_node *root, *list;
    cs_rc rc;

    *out = NULL;
    if ((rc = cs_yaml_load_file(path, &f)) != CS_OK) {
        return rc;
    }
    if (f->ndocs != 1) {
        rc = cs_err_set(CS_ERR_CONFIG, "%s: expected one YAML document", path);
        goto fail;
    }
    root = f->docs[0];
    if ((rc = cs_config_check_keys(f, root, "the inventory", top_keys)) != CS_OK) {
        goto fail;
    }
    list = cs_yaml_get(root, "systems");
    if (list == NULL || list->type != CS_YAML_SEQ) {
        rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: 'systems' must be a list", path, root->line);
        goto fail;
    }
    inv = calloc(1, sizeof *inv);
    if (inv == NULL || (inv->systems = calloc(list->n + 1, sizeof *inv->systems)) == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < list->n; i++) {
        rc = load_system(f, list->items[i], &inv->systems[i]);
        inv->n++;
        if (rc != CS_OK) {
            goto fail;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(inv->systems[j].id, inv->systems[i].id) == 0) {
                rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: system id '%s' is used twice", path, list->items[i]->line,
                                inv->systems[i].id);
                goto fail;
            }
        }
    }
    cs_yaml_free(f);
    *out = inv;
    return CS_OK;
fail:
    cs_yaml_free(f);
    cs_inventory_free(inv);
    return rc;
}

size_t cs_inventory_count(const cs_inventory *inv)
{
    return inv->n;
}

const cs_system *cs_inventory_get(const cs_inventory *inv, size_t i)
{
    return i < inv->n ? &inv->systems[i] : NULL;
}

const cs_system *cs_inventory_find(const cs_inventory *inv, const char *id)
{
    for (size_t i = 0; i < inv->n; i++) {
        if (strcmp(inv->systems[i].id, id) == 0) {
            return &inv->systems[i];
        }
    }
    return NULL;
}

const cs_system *cs_inventory_by_ip(const cs_inventory *inv, const cs_ip *ip)
{
    const cs_system *best = NULL;
    int best_len = -1;
    for (size_t i = 0; i < inv->n; i++) {
        const cs_system *s = &inv->systems[i];
        for (size_t k = 0; k < s->nnets; k++) {
            if (s->prefix[k] > best_len && cs_cidr_contains(&s->nets[k], s->prefix[k], ip)) {
                best = s;
                best_len = s->prefix[k];
            }
        }
    }
    return best;
}

const cs_system *cs_inventory_by_host(const cs_inventory *inv, const char *host, size_t len)
{
    for (size_t i = 0; i < inv->n; i++) {
        const cs_system *s = &inv->systems[i];
        for (size_t k = 0; k < s->nhosts; k++) {
            if (strlen(s->hosts[k]) == len && strncasecmp(s->hosts[k], host, len) == 0) {
                return s;
            }
        }
    }
    return NULL;
}

const cs_system *cs_inventory_enrich(const cs_inventory *inv, cs_event **ev)
{
    const cs_system *s = NULL;
    cs_ip ip;
    const char *h;
    size_t hl;
    if (inv == NULL || inv->n == 0) {
        return NULL;
    }
    if (cs_event_find(*ev, CS_F_CS_SYSTEM_ID) != NULL) {
        return NULL;   /* already assigned upstream (e.g. a remote sensor) */
    }
    if (cs_event_get_ip(*ev, CS_F_DESTINATION_IP, &ip)) {
        s = cs_inventory_by_ip(inv, &ip);
    }
    if (s == NULL && cs_event_get_ip(*ev, CS_F_SOURCE_IP, &ip)) {
        s = cs_inventory_by_ip(inv, &ip);
    }
    if (s == NULL && cs_event_get_str(*ev, CS_F_HOST_NAME, &h, &hl)) {
        s = cs_inventory_by_host(inv, h, hl);
    }
    if (s == NULL) {
        return NULL;
    }
    if (cs_event_add_cstr(ev, CS_F_CS_SYSTEM_ID, s->id) != CS_OK) {
        return NULL;
    }
    if (s->name_en != NULL && cs_event_add_cstr(ev, CS_F_CS_SYSTEM_NAME, s->name_en) != CS_OK) {
        return NULL;
    }
    return s;
}
