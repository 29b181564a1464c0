/* notify_config.c - the `notify:` section of the configuration into
 * cs_notify_opts (see notify.h for the channels).
 *
 * Kept apart from notify.c (delivery) so the runtime's configuration loader
 * stays free of libcurl: config.c only checks that `notify` is a mapping
 * and keeps the node; `citysoc run` and `citysoc notify test` call this.
 * Strings point into the YAML tree (alive as long as the cs_config); the
 * two lists (webhook headers, smtp recipients) are allocated here and
 * freed by cs_notify_conf_free().
 */
#include "notify.h"

#include <stdlib.h>
#include <string.h>

#include "../runtime/config.h"

static cs_rc str_of(const cs_yaml_file *f, const cs_yaml_node *map, const char *key, const char **out)
{
    const cs_yaml_node *v = cs_yaml_get(map, key);
    if (v == NULL || cs_yaml_is_null(v)) {
        return CS_OK;
    }
    return cs_yaml_str(f, v, out);
}

static cs_rc int_of(const cs_yaml_file *f, const cs_yaml_node *map, const char *key, int64_t min, int64_t max,
                    int64_t *out, bool *set)
{
    const cs_yaml_node *v = cs_yaml_get(map, key);
    *set = false;
    if (v == NULL || cs_yaml_is_null(v)) {
        return CS_OK;
    }
    *set = true;
    return cs_yaml_int(f, v, min, max, out);
}

static cs_rc bool_of(const cs_yaml_file *f, const cs_yaml_node *map, const char *key, bool *out)
{
    const cs_yaml_node *v = cs_yaml_get(map, key);
    return v == NULL || cs_yaml_is_null(v) ? CS_OK : cs_yaml_bool(f, v, out);
}

/* A list of strings (a single string is a list of one). */
static cs_rc list_of(const cs_yaml_file *f, const cs_yaml_node *map, const char *key, const char ***out, size_t *n)
{
    const cs_yaml_node *v = cs_yaml_get(map, key);
    const char **a;
    size_t cnt;
    cs_rc rc = CS_OK;
    if (v == NULL || cs_yaml_is_null(v)) {
        return CS_OK;
    }
    cnt = v->type == CS_YAML_SEQ ? v->n : 1;
    if ((a = calloc(cnt ? cnt : 1, sizeof *a)) == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < cnt && rc == CS_OK; i++) {
        rc = cs_yaml_str(f, v->type == CS_YAML_SEQ ? v->items[i] : v, &a[i]);
    }
    if (rc != CS_OK) {
        free(a);
        return rc;
    }
    *out = a;
    *n = cnt;
    return CS_OK;
}

static cs_rc seconds_ms(const cs_yaml_file *f, const cs_yaml_node *map, int *ms)
{
    int64_t s;
    bool set;
    cs_rc rc = int_of(f, map, "timeout", 1, 600, &s, &set);
    if (rc == CS_OK && set) {
        *ms = (int)(s * 1000);
    }
    return rc;
}

cs_rc cs_notify_conf_load(const cs_config *cfg, cs_notify_conf *out)
{
    static const char *const keys[] = {"queue", "attempts", "backoff_ms", "console_url", "webhook", "syslog",
                                       "smtp", NULL};
    static const char *const wh_keys[] = {"url", "headers", "timeout", "ca_file", "insecure", NULL};
    static const char *const sl_keys[] = {"host", "port", "transport", "facility", "app_name", "hostname",
                                          "timeout", NULL};
    static const char *const sm_keys[] = {"url", "from", "to", "user", "password", "starttls", "ca_file",
                                          "insecure", "timeout", NULL};
    const cs_yaml_file *f = cfg->yaml;
    const cs_yaml_node *n = cfg->notify, *w;
    cs_notify_opts *o = &out->opts;
    int64_t num;
    bool set;
    const char *s = NULL;
    cs_rc rc;

    memset(out, 0, sizeof *out);
    if (n == NULL) {
        return CS_OK;
    }
    if ((rc = cs_config_check_keys(f, n, "notify", keys)) != CS_OK) {
        goto fail;
    }
    if ((rc = int_of(f, n, "queue", 1, 1000000, &num, &set)) != CS_OK) {
        goto fail;
    }
    o->queue_size = set ? (size_t)num : 0;
    if ((rc = int_of(f, n, "attempts", 1, 10, &num, &set)) != CS_OK) {
        goto fail;
    }
    o->max_attempts = set ? (int)num : 0;
    if ((rc = int_of(f, n, "backoff_ms", 1, 600000, &num, &set)) != CS_OK) {
        goto fail;
    }
    o->backoff_ms = set ? (int)num : 0;
    if ((rc = str_of(f, n, "console_url", &out->console_url)) != CS_OK) {
        goto fail;
    }
    if ((w = cs_yaml_get(n, "webhook")) != NULL && !cs_yaml_is_null(w)) {
        if ((rc = cs_config_check_keys(f, w, "notify.webhook", wh_keys)) != CS_OK ||
            (rc = str_of(f, w, "url", &o->webhook.url)) != CS_OK ||
            (rc = list_of(f, w, "headers", &out->headers, &o->webhook.nheaders)) != CS_OK ||
            (rc = seconds_ms(f, w, &o->webhook.timeout_ms)) != CS_OK ||
            (rc = str_of(f, w, "ca_file", &o->webhook.ca_file)) != CS_OK ||
            (rc = bool_of(f, w, "insecure", &o->webhook.insecure)) != CS_OK) {
            goto fail;
        }
        o->webhook.headers = out->headers;
        if (o->webhook.url == NULL) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: notify.webhook needs a url", f->path, w->line);
            goto fail;
        }
    }
    if ((w = cs_yaml_get(n, "syslog")) != NULL && !cs_yaml_is_null(w)) {
        s = NULL;
        if ((rc = cs_config_check_keys(f, w, "notify.syslog", sl_keys)) != CS_OK ||
            (rc = str_of(f, w, "host", &o->syslog.host)) != CS_OK ||
            (rc = int_of(f, w, "port", 1, 65535, &num, &set)) != CS_OK) {
            goto fail;
        }
        o->syslog.port = set ? (uint16_t)num : 0;
        if ((rc = str_of(f, w, "transport", &s)) != CS_OK) {
            goto fail;
        }
        if (s != NULL && strcmp(s, "udp") != 0 && strcmp(s, "tcp") != 0) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: notify.syslog.transport is udp or tcp, not '%s'", f->path,
                            cs_yaml_get(w, "transport")->line, s);
            goto fail;
        }
        o->syslog.transport = s != NULL && strcmp(s, "tcp") == 0 ? CS_SYSLOG_TCP : CS_SYSLOG_UDP;
        s = NULL;
        if ((rc = str_of(f, w, "facility", &s)) != CS_OK) {
            goto fail;
        }
        if (s != NULL && (o->syslog.facility = cs_notify_facility_parse(s)) <= 0) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: notify.syslog.facility '%s' is not one of user, daemon, auth, "
                            "local0..local7, ...", f->path, cs_yaml_get(w, "facility")->line, s);
            goto fail;
        }
        if ((rc = str_of(f, w, "app_name", &o->syslog.app_name)) != CS_OK ||
            (rc = str_of(f, w, "hostname", &o->syslog.hostname)) != CS_OK ||
            (rc = seconds_ms(f, w, &o->syslog.timeout_ms)) != CS_OK) {
            goto fail;
        }
        if (o->syslog.host == NULL) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: notify.syslog needs a host", f->path, w->line);
            goto fail;
        }
    }
    if ((w = cs_yaml_get(n, "smtp")) != NULL && !cs_yaml_is_null(w)) {
        s = NULL;
        if ((rc = cs_config_check_keys(f, w, "notify.smtp", sm_keys)) != CS_OK ||
            (rc = str_of(f, w, "url", &o->smtp.url)) != CS_OK || (rc = str_of(f, w, "from", &o->smtp.from)) != CS_OK ||
            (rc = list_of(f, w, "to", &out->to, &o->smtp.nto)) != CS_OK ||
            (rc = str_of(f, w, "user", &o->smtp.user)) != CS_OK ||
            (rc = str_of(f, w, "password", &o->smtp.password)) != CS_OK ||
            (rc = str_of(f, w, "starttls", &s)) != CS_OK || (rc = str_of(f, w, "ca_file", &o->smtp.ca_file)) != CS_OK ||
            (rc = bool_of(f, w, "insecure", &o->smtp.insecure)) != CS_OK ||
            (rc = seconds_ms(f, w, &o->smtp.timeout_ms)) != CS_OK) {
            goto fail;
        }
        o->smtp.to = out->to;
        if (s != NULL) {
            if (strcmp(s, "required") == 0) {
                o->smtp.starttls = CS_SMTP_STARTTLS_REQUIRED;
            } else if (strcmp(s, "optional") == 0) {
                o->smtp.starttls = CS_SMTP_STARTTLS_OPTIONAL;
            } else if (strcmp(s, "off") == 0) {
                o->smtp.starttls = CS_SMTP_STARTTLS_OFF;
            } else {
                rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: notify.smtp.starttls is required, optional or off, not '%s'",
                                f->path, cs_yaml_get(w, "starttls")->line, s);
                goto fail;
            }
        }
        if (o->smtp.url == NULL || o->smtp.from == NULL || o->smtp.nto == 0) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: notify.smtp needs url, from and to", f->path, w->line);
            goto fail;
        }
    }
    return CS_OK;
fail:
    cs_notify_conf_free(out);
    return rc;
}

void cs_notify_conf_free(cs_notify_conf *c)
{
    free(c->headers);
    free(c->to);
    memset(c, 0, sizeof *c);
}
