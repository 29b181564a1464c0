/* inventory.c - load the system inventory and map events to systems.
 *
 * A city has tens to hundreds of systems and a few ranges each: a linear scan
 * keeping the longest prefix is simpler than a trie and fast enough here; the
 * scan is per event only on the correlator thread.
 */
#include "inventory.h"

#include <stdio.h>
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

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
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
    free(s->range_line);
    free_list(s->hosts, s->nhosts);
    free_list(s->sensors, s->nsensors);
    free_list(s->log_sources, s->nlog_sources);
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

/* A text value that must not be empty (nor only blanks); `what` names it. */
static cs_rc dup_text(const cs_yaml_file *f, const cs_yaml_node *n, const char *what, char **out)
{
    const char *s;
    cs_rc rc = cs_yaml_str(f, n, &s);
    if (rc != CS_OK) {
        return rc;
    }
    if (s[strspn(s, " \t")] == '\0') {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: %s is empty", f->path, n->line, what);
    }
    *out = strdup(s);
    return *out ? CS_OK : cs_err_set(CS_ERR_NOMEM, "out of memory");
}

/* A list of non-empty names (hosts, sensors, log_sources); null or absent is
 * an empty list. */
static cs_rc load_names(const cs_yaml_file *f, const cs_yaml_node *n, const char *key, char ***out, size_t *nout)
{
    const cs_yaml_node *v = cs_yaml_get(n, key);
    char what[64];
    cs_rc rc;
    if (v == NULL || cs_yaml_is_null(v)) {
        return CS_OK;
    }
    if (v->type != CS_YAML_SEQ) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: %s must be a list, found %s", f->path, v->line, key,
                          cs_yaml_type_name(v->type));
    }
    *out = calloc(v->n + 1, sizeof **out);
    if (*out == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    snprintf(what, sizeof what, "an entry of %s", key);
    for (size_t i = 0; i < v->n; i++) {
        if ((rc = dup_text(f, v->items[i], what, &(*out)[i])) != CS_OK) {
            return rc;
        }
        (*nout)++;
    }
    return CS_OK;
}

static bool id_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

static cs_rc load_name(const cs_yaml_file *f, const cs_yaml_node *n, cs_system *s)
{
    static const char *const name_keys[] = {"vi", "en", NULL};
    const cs_yaml_node *v = cs_yaml_get(n, "name");
    const cs_yaml_node *vi, *en;
    cs_rc rc;
    if (v == NULL || cs_yaml_is_null(v)) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: system '%s' needs a name (name: {vi: ..., en: ...})", f->path,
                          v ? v->line : n->line, s->id);
    }
    if (v->type == CS_YAML_SCALAR) {
        return dup_text(f, v, "the name", &s->name_en);
    }
    if ((rc = cs_config_check_keys(f, v, "name", name_keys)) != CS_OK) {
        return rc;
    }
    vi = cs_yaml_get(v, "vi");
    en = cs_yaml_get(v, "en");
    if (vi == NULL && en == NULL) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: the name of system '%s' needs vi or en (or both)", f->path, v->line,
                          s->id);
    }
    if (vi != NULL && (rc = dup_text(f, vi, "the Vietnamese name (vi)", &s->name_vi)) != CS_OK) {
        return rc;
    }
    if (en != NULL && (rc = dup_text(f, en, "the English name (en)", &s->name_en)) != CS_OK) {
        return rc;
    }
    return CS_OK;
}

static cs_rc load_ranges(const cs_yaml_file *f, const cs_yaml_node *n, cs_system *s)
{
    const cs_yaml_node *v = cs_yaml_get(n, "ranges");
    cs_rc rc;
    if (v == NULL || cs_yaml_is_null(v)) {
        return CS_OK;
    }
    if (v->type != CS_YAML_SEQ) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: ranges must be a list, found %s", f->path, v->line,
                          cs_yaml_type_name(v->type));
    }
    s->nets = calloc(v->n + 1, sizeof *s->nets);
    s->prefix = calloc(v->n + 1, 1);
    s->range_line = calloc(v->n + 1, sizeof *s->range_line);
    if (s->nets == NULL || s->prefix == NULL || s->range_line == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < v->n; i++) {
        const cs_yaml_node *it = v->items[i];
        const char *txt;
        cs_ip net;
        uint8_t p;
        if ((rc = cs_yaml_str(f, it, &txt)) != CS_OK) {
            return rc;
        }
        if (!cs_cidr_parse(txt, &net, &p)) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: '%s' is not an address range like 10.1.0.0/16", f->path,
                              it->line, txt);
        }
        {
            /* host bits set (10.10.1.5/24) is a typo more often than not: say what was meant */
            cs_ip masked = net;
            size_t bytes = net.family == 4 ? 4 : 16;
            for (size_t b = 0; b < bytes; b++) {
                unsigned keep = p >= (b + 1) * 8 ? 8u : (p > b * 8 ? (unsigned)(p - b * 8) : 0u);
                masked.addr[b] &= (uint8_t)(0xFF00u >> keep);
            }
            if (memcmp(masked.addr, net.addr, bytes) != 0) {
                char a[64];
                cs_ip_format(&masked, a, sizeof a);
                return cs_err_set(CS_ERR_CONFIG, "%s:%d: address range '%s' has bits set after its /%u prefix "
                                  "(did you mean %s/%u?)", f->path, it->line, txt, (unsigned)p, a, (unsigned)p);
            }
        }
        s->nets[s->nnets] = net;
        s->prefix[s->nnets] = p;
        s->range_line[s->nnets] = it->line;
        s->nnets++;
    }
    return CS_OK;
}

/* Add what the value means to the number error cs_yaml_int() just set. */
static cs_rc explain_number(cs_rc rc, const char *key, const char *id)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", cs_err_msg());
    return cs_err_set(rc, "%s (the %s of system '%s')", msg, key, id);
}

static cs_rc load_system(const cs_yaml_file *f, const cs_yaml_node *n, cs_system *s)
{
    static const char *const keys[] = {"id", "name", "owner", "contact", "security_level", "asset_value",
                                       "ranges", "hosts", "sensors", "log_sources", NULL};
    const cs_yaml_node *v;
    int64_t num;
    cs_rc rc;

    s->line = n->line;
    if ((rc = cs_config_check_keys(f, n, "a system", keys)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "id")) == NULL || cs_yaml_is_null(v)) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: a system needs an id", f->path, v ? v->line : n->line);
    }
    if ((rc = dup_text(f, v, "the system id", &s->id)) != CS_OK) {
        return rc;
    }
    for (const char *c = s->id; *c; c++) {
        if (!id_char_ok((unsigned char)*c)) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: system id '%s' may hold only letters, digits, '-', '_' and '.'",
                              f->path, v->line, s->id);
        }
    }
    if ((v = cs_yaml_get(n, "owner")) != NULL && !cs_yaml_is_null(v) &&
        (rc = dup_text(f, v, "the owner", &s->owner)) != CS_OK) {
        return rc;
    }
    if ((v = cs_yaml_get(n, "contact")) != NULL && !cs_yaml_is_null(v) &&
        (rc = dup_text(f, v, "the contact", &s->contact)) != CS_OK) {
        return rc;
    }
    s->security_level = 3;
    s->asset_value = 2;
    if ((v = cs_yaml_get(n, "security_level")) != NULL) {
        if ((rc = cs_yaml_int(f, v, 1, 5, &num)) != CS_OK) {
            return explain_number(rc, "security_level", s->id);
        }
        s->security_level = (int)num;
    }
    if ((v = cs_yaml_get(n, "asset_value")) != NULL) {
        if ((rc = cs_yaml_int(f, v, 0, 5, &num)) != CS_OK) {
            return explain_number(rc, "asset_value", s->id);
        }
        s->asset_value = (int)num;
    }
    if ((rc = load_ranges(f, n, s)) != CS_OK || (rc = load_names(f, n, "hosts", &s->hosts, &s->nhosts)) != CS_OK ||
        (rc = load_names(f, n, "sensors", &s->sensors, &s->nsensors)) != CS_OK ||
        (rc = load_names(f, n, "log_sources", &s->log_sources, &s->nlog_sources)) != CS_OK) {
        return rc;
    }
    /* last, so that an error in a field above is reported at its own line first */
    return load_name(f, n, s);
}

/* Ranges of two different systems must not share an address (with prefixes
 * a network either holds the other or they are disjoint), nor may two
 * systems list the same host name. */
static cs_rc check_overlaps(const char *path, const cs_inventory *inv, size_t j)
{
    const cs_system *b = &inv->systems[j];
    for (size_t i = 0; i < j; i++) {
        const cs_system *a = &inv->systems[i];
        for (size_t ha = 0; ha < a->nhosts; ha++) {
            for (size_t hb = 0; hb < b->nhosts; hb++) {
                if (strcasecmp(a->hosts[ha], b->hosts[hb]) == 0) {
                    return cs_err_set(CS_ERR_CONFIG,
                                      "%s:%d: host '%s' of system '%s' is also a host of system '%s' (line %d): "
                                      "a host belongs to one system",
                                      path, b->line, b->hosts[hb], b->id, a->id, a->line);
                }
            }
        }
        for (size_t ka = 0; ka < a->nnets; ka++) {
            for (size_t kb = 0; kb < b->nnets; kb++) {
                const cs_ip *na = &a->nets[ka], *nb = &b->nets[kb];
                uint8_t pa = a->prefix[ka], pb = b->prefix[kb];
                bool hit = pa <= pb ? cs_cidr_contains(na, pa, nb) : cs_cidr_contains(nb, pb, na);
                if (hit) {
                    char ta[64], tb[64];
                    cs_ip_format(na, ta, sizeof ta);
                    cs_ip_format(nb, tb, sizeof tb);
                    return cs_err_set(CS_ERR_CONFIG,
                                      "%s:%d: range %s/%u of system '%s' overlaps range %s/%u of system '%s' "
                                      "(line %d): an address must belong to one system",
                                      path, b->range_line[kb], tb, (unsigned)pb, b->id, ta, (unsigned)pa, a->id,
                                      a->range_line[ka]);
                }
            }
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
        rc = cs_err_set(CS_ERR_CONFIG, "%s: expected one YAML document, found %zu", path, f->ndocs);
        goto fail;
    }
    root = f->docs[0];
    if ((rc = cs_config_check_keys(f, root, "the inventory", top_keys)) != CS_OK) {
        goto fail;
    }
    list = cs_yaml_get(root, "systems");
    if (list == NULL || list->type != CS_YAML_SEQ) {
        rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: 'systems' must be a list", path, list ? list->line : root->line);
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
                rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: system id '%s' is used twice (first at line %d)", path,
                                list->items[i]->line, inv->systems[i].id, inv->systems[j].line);
                goto fail;
            }
        }
        if ((rc = check_overlaps(path, inv, i)) != CS_OK) {
            goto fail;
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

const cs_system *cs_inventory_system_for_event(const cs_inventory *inv, const cs_event *ev)
{
    const cs_system *s = NULL;
    cs_ip ip;
    const char *h;
    size_t hl;
    if (inv == NULL || inv->n == 0) {
        return NULL;
    }
    if (cs_event_get_ip(ev, CS_F_DESTINATION_IP, &ip)) {
        s = cs_inventory_by_ip(inv, &ip);
    }
    if (s == NULL && cs_event_get_ip(ev, CS_F_SOURCE_IP, &ip)) {
        s = cs_inventory_by_ip(inv, &ip);
    }
    if (s == NULL && cs_event_get_str(ev, CS_F_HOST_NAME, &h, &hl)) {
        s = cs_inventory_by_host(inv, h, hl);
    }
    return s;
}

const char *cs_system_name(const cs_system *s, const char *lang)
{
    bool vi = lang != NULL && strcmp(lang, "vi") == 0;
    const char *first = vi ? s->name_vi : s->name_en;
    const char *second = vi ? s->name_en : s->name_vi;
    return first ? first : second ? second : s->id;
}

const cs_system *cs_inventory_enrich(const cs_inventory *inv, cs_event **ev)
{
    const cs_system *s;
    if (inv == NULL || inv->n == 0) {
        return NULL;
    }
    if (cs_event_find(*ev, CS_F_CS_SYSTEM_ID) != NULL) {
        return NULL;   /* already assigned upstream (e.g. a remote sensor) */
    }
    s = cs_inventory_system_for_event(inv, *ev);
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
