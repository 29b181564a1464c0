/* logcommon.c - what every log parser adds to its events, and the format
 * names (see logparse.h). Kept apart from the dispatcher so each parser can
 * be built and fuzzed alone. */
#include <string.h>

#include "../../runtime/timeutil.h"
#include "logparse.h"

static const char *const fmt_names[CS_LOGFMT__COUNT] = {
    [CS_LOGFMT_AUTO] = "auto",         [CS_LOGFMT_SYSLOG] = "syslog",
    [CS_LOGFMT_ACCESS] = "access",     [CS_LOGFMT_NGINX_ERROR] = "nginx-error",
    [CS_LOGFMT_APACHE_ERROR] = "apache-error", [CS_LOGFMT_AUDITD] = "auditd",
    [CS_LOGFMT_JSON] = "json",         [CS_LOGFMT_CEF] = "cef",
    [CS_LOGFMT_KV] = "kv",
};

static const struct {
    const char *name;
    cs_log_format fmt;
} aliases[] = {
    {"sshd", CS_LOGFMT_SYSLOG}, {"nginx", CS_LOGFMT_ACCESS}, {"apache", CS_LOGFMT_ACCESS},
    {"eve", CS_LOGFMT_JSON},    {"zeek", CS_LOGFMT_JSON},    {"suricata", CS_LOGFMT_JSON},
};

int cs_log_format_parse(const char *name)
{
    for (int i = 0; i < CS_LOGFMT__COUNT; i++) {
        if (strcmp(name, fmt_names[i]) == 0) {
            return i;
        }
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(name, aliases[i].name) == 0) {
            return (int)aliases[i].fmt;
        }
    }
    return -1;
}

const char *cs_log_format_name(cs_log_format fmt)
{
    return (unsigned)fmt < CS_LOGFMT__COUNT ? fmt_names[fmt] : "?";
}

const char *cs_log_format_names(void)
{
    return "auto, syslog, sshd, nginx, apache, access, nginx-error, apache-error, auditd, json, eve, zeek, "
           "suricata, cef, kv";
}

cs_rc cs_log_common(cs_event **ev, const char *line, size_t len, const cs_log_ctx *ctx, cs_log_format fmt,
                    const char *product, const char *category, const char *service)
{
    cs_rc rc = CS_OK;
    int64_t now = ctx && ctx->received_us ? ctx->received_us : cs_now_us();
    if (cs_event_find(*ev, CS_F_EVENT_ORIGINAL) == NULL) {
        rc = cs_event_add_str(ev, CS_F_EVENT_ORIGINAL, line, len);
    }
    rc = rc ? rc : cs_event_add_time(ev, CS_F_EVENT_CREATED, now);
    if (rc == CS_OK && ctx != NULL && ctx->file_path != NULL) {
        rc = cs_event_add_cstr(ev, CS_F_LOG_FILE_PATH, ctx->file_path);
    }
    rc = rc ? rc : cs_event_add_cstr(ev, CS_F_CS_LOG_FORMAT, cs_log_format_name(fmt));
    if (rc == CS_OK && product != NULL) {
        rc = cs_event_add_cstr(ev, CS_F_CS_LOGSOURCE_PRODUCT, product);
    }
    if (rc == CS_OK && category != NULL) {
        rc = cs_event_add_cstr(ev, CS_F_CS_LOGSOURCE_CATEGORY, category);
    }
    if (rc == CS_OK && service != NULL) {
        rc = cs_event_add_cstr(ev, CS_F_CS_LOGSOURCE_SERVICE, service);
    }
    return rc;
}
