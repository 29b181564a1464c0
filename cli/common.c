/* common.c - what replay and run share: loading the engine and feeding
 * inputs. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/log.h"
#include "../sensors/logs/collect.h"
#include "../sensors/packet/packet.h"
#include "../sensors/packet/yara_scan.h"

void cs_cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("citysoc: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

bool cs_cli_parse_long(const char *opt, const char *arg, long min, long max, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
        cs_cli_error("%s must be a whole number from %ld to %ld, not '%s'", opt, min, max, arg);
        return false;
    }
    *out = v;
    return true;
}

char *cs_self_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    char *slash;
    if (n <= 0) {
        return strdup(".");
    }
    buf[n] = '\0';
    slash = strrchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    return strdup(buf);
}

static void report_bad_rule(const char *msg, void *ud)
{
    size_t *n = ud;
    (*n)++;
    cs_cli_error("rule refused: %s", msg);
}

cs_rc cs_rules_prepare(cs_ruleset *rs, const cs_config *cfg)
{
    cs_rc rc;
    /* placeholders and field mappings first: rules use them when they load */
    for (size_t i = 0; cfg != NULL && cfg->placeholders != NULL && i < cfg->placeholders->n; i++) {
        const cs_yaml_node *k = cfg->placeholders->keys[i], *v = cfg->placeholders->items[i];
        size_t n = v->type == CS_YAML_SEQ ? v->n : 1;
        const char **vals = calloc(n + 1, sizeof *vals);
        if (vals == NULL) {
            return cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
        for (size_t j = 0; j < n; j++) {
            vals[j] = v->type == CS_YAML_SEQ ? v->items[j]->str : v->str;
        }
        rc = cs_ruleset_set_placeholder(rs, k->str, vals, n);
        free(vals);
        if (rc != CS_OK) {
            return rc;
        }
    }
    for (size_t i = 0; cfg != NULL && i < cfg->nmapping_paths; i++) {
        if ((rc = cs_ruleset_load_mappings(rs, cfg->mapping_paths[i])) != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

cs_rc cs_rules_build(const cs_config *cfg, char **rule_paths, size_t nrules, cs_ruleset **rs_out,
                     cs_corrset **cs_out, size_t *bad_out)
{
    cs_ruleset *rs = NULL;
    cs_corrset *cs = NULL;
    size_t bad = 0;
    cs_rc rc;
    *rs_out = NULL;
    *cs_out = NULL;
    if ((rc = cs_ruleset_new(&rs)) != CS_OK) {
        goto fail;
    }
    if ((rc = cs_rules_prepare(rs, cfg)) != CS_OK) {
        goto fail;
    }
    for (size_t i = 0; i < nrules; i++) {
        rc = cs_ruleset_load_path(rs, rule_paths[i], report_bad_rule, &bad);
        if (rc == CS_ERR_IO) {
            goto fail;
        }
    }
    if ((rc = cs_corrset_new(rs, &cs)) != CS_OK) {
        goto fail;
    }
    for (size_t i = 0; i < nrules; i++) {
        rc = cs_corrset_load_path(cs, rule_paths[i], report_bad_rule, &bad);
        if (rc == CS_ERR_IO) {
            goto fail;
        }
    }
    if (bad > 0) {
        CS_WARN("rules", "%zu rule(s) refused; the %zu others are active", bad, cs_ruleset_count(rs));
    }
    CS_INFO("rules", "%zu Sigma rules and %zu correlation rules loaded", cs_ruleset_count(rs), cs_corrset_count(cs));
    *rs_out = rs;
    *cs_out = cs;
    if (bad_out != NULL) {
        *bad_out = bad;
    }
    return CS_OK;
fail:
    cs_corrset_free(cs);
    cs_ruleset_free(rs);
    return rc;
}

cs_rc cs_engine_reload(cs_engine *e, const cs_config *cfg)
{
    cs_ruleset *rs;
    cs_corrset *cs;
    const cs_ruleset *old_rs;
    cs_corrset *old_cs;
    size_t kept = 0, groups = 0, bad = 0;
    cs_rc rc = cs_rules_build(cfg, cfg->rule_paths, cfg->nrule_paths, &rs, &cs, &bad);
    if (rc != CS_OK) {
        return rc;   /* the running rules stay */
    }
    old_rs = rs;
    old_cs = cs;
    if ((rc = cs_pipeline_swap_rules(e->pipeline, &old_rs, &old_cs, &kept, &groups)) != CS_OK) {
        cs_corrset_free(cs);
        cs_ruleset_free(rs);
        return rc;
    }
    /* old_* are what the pipeline ran until now: the engine's */
    cs_corrset_free(old_cs);
    cs_ruleset_free(e->rules);
    e->rules = rs;
    e->correlations = cs;
    CS_INFO("rules", "reloaded: %zu Sigma rules, %zu correlation rules (%zu refused); state kept for %zu unchanged "
            "correlation(s), %zu live group(s)", cs_ruleset_count(rs), cs_corrset_count(cs), bad, kept, groups);
    return CS_OK;
}

cs_rc cs_engine_open(cs_engine *e, const cs_config *cfg, char **rule_paths, size_t nrules, const char *inventory,
                     char **plugin_paths, size_t nplugins, const cs_pipeline_opts *opts)
{
    cs_pipeline_opts o = *opts;
    cs_rc rc;

    memset(e, 0, sizeof *e);
    if ((rc = cs_rules_build(cfg, rule_paths, nrules, &e->rules, &e->correlations, NULL)) != CS_OK) {
        goto fail;
    }
    rc = inventory ? cs_inventory_load(inventory, &e->inventory) : cs_inventory_empty(&e->inventory);
    if (rc != CS_OK) {
        goto fail;
    }
    if (cfg != NULL && (cfg->geoip_city != NULL || cfg->geoip_asn != NULL)) {
        rc = cs_geoip_open(cfg->geoip_city, cfg->geoip_asn, &e->geoip);
        if (rc == CS_ERR_IO && cfg->geoip_optional) {
            CS_WARN("geoip", "%s; going on without GeoIP (geoip.optional)", cs_err_msg());
        } else if (rc != CS_OK) {
            goto fail;
        } else {
            CS_INFO("geoip", "enriching with%s%s%s%s", cfg->geoip_city ? " " : "",
                    cfg->geoip_city ? cfg->geoip_city : "", cfg->geoip_asn ? " " : "",
                    cfg->geoip_asn ? cfg->geoip_asn : "");
        }
    }
    o.rules = e->rules;
    o.correlations = e->correlations;
    o.inventory = e->inventory;
    o.geoip = e->geoip;
    if ((rc = cs_pipeline_new(&o, &e->pipeline)) != CS_OK) {
        goto fail;
    }
    for (size_t i = 0; cfg != NULL && i < cfg->nplugins; i++) {
        const cs_plugin_conf *pc = &cfg->plugins[i];
        char *path = NULL;
        if (pc->path != NULL) {
            path = strdup(pc->path);
        } else {
            char *dir = cfg->plugin_dir ? strdup(cfg->plugin_dir) : NULL;
            size_t len;
            if (dir == NULL) {
                char *self = cs_self_dir();
                len = self ? strlen(self) + 9 : 0;
                dir = self ? malloc(len) : NULL;
                if (dir != NULL) {
                    snprintf(dir, len, "%s/plugins", self);
                }
                free(self);
            }
            len = dir ? strlen(dir) + strlen(pc->name) + 8 : 0;
            path = dir ? malloc(len) : NULL;
            if (path != NULL) {
                snprintf(path, len, "%s/cs_%s.so", dir, pc->name);
            }
            free(dir);
        }
        if (path == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
            goto fail;
        }
        rc = cs_pipeline_load_plugin(e->pipeline, path, cfg->yaml, pc->config);
        free(path);
        if (rc != CS_OK) {
            goto fail;
        }
    }
    for (size_t i = 0; i < nplugins; i++) {
        if ((rc = cs_pipeline_load_plugin(e->pipeline, plugin_paths[i], NULL, NULL)) != CS_OK) {
            goto fail;
        }
    }
    return CS_OK;
fail:
    cs_engine_close(e);
    return rc;
}

void cs_engine_close(cs_engine *e)
{
    cs_pipeline_free(e->pipeline);
    cs_corrset_free(e->correlations);
    cs_inventory_free(e->inventory);
    cs_geoip_free(e->geoip);
    cs_ruleset_free(e->rules);
    memset(e, 0, sizeof *e);
}

/* One capture into the sink; returns 1 when it failed (reported). */
static size_t replay_one(const char *path, const cs_packet_opts *po, cs_event_sink sink, void *ud,
                         cs_input_stats *st)
{
    cs_packet_stats ps;
    cs_rc rc = cs_packet_replay_file(path, po, sink, ud, &ps);
    st->packets += ps.packets;
    st->flows += ps.flows_emitted;
    if (rc != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        return 1;
    }
    CS_INFO("packet", "%s: %llu packets, %llu flows", path, (unsigned long long)ps.packets,
            (unsigned long long)ps.flows_emitted);
    if (po->yara_compiled != NULL) {
        CS_INFO("yara", "%s: %llu scans (%llu bytes in %.3f s, %.1f MB/s), %llu matches, %llu timeouts", path,
                (unsigned long long)ps.yara_scans, (unsigned long long)ps.yara_bytes, (double)ps.yara_ns / 1e9,
                ps.yara_ns > 0 ? (double)ps.yara_bytes / ((double)ps.yara_ns / 1e9) / 1e6 : 0.0,
                (unsigned long long)ps.yara_matches, (unsigned long long)ps.yara_timeouts);
    }
    return 0;
}

static bool capture_name(const char *n)
{
    size_t l = strlen(n);
    return (l > 5 && strcmp(n + l - 5, ".pcap") == 0) || (l > 7 && strcmp(n + l - 7, ".pcapng") == 0) ||
           (l > 4 && strcmp(n + l - 4, ".cap") == 0);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* path itself when it is not a directory; else the captures (.pcap, .pcapng,
 * .cap) under it, recursively, sorted by path; dot files skipped. Appends
 * to *out (malloc'ed strings). */
static cs_rc capture_files(const char *path, int depth, char ***out, size_t *n)
{
    struct stat sb;
    DIR *d;
    struct dirent *de;
    size_t first = *n;
    cs_rc rc = CS_OK;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        char **p = realloc(*out, (*n + 1) * sizeof *p);
        if (p == NULL || (p[*n] = strdup(path)) == NULL) {
            if (p != NULL) {
                *out = p;
            }
            return cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
        *out = p;
        (*n)++;
        return CS_OK;   /* a file (or nothing: the replay says so) */
    }
    if (depth > 16) {
        return cs_err_set(CS_ERR_LIMIT, "%s: capture directories nested too deep", path);
    }
    if ((d = opendir(path)) == NULL) {
        return cs_err_set(CS_ERR_IO, "%s: cannot read the directory: %s", path, strerror(errno));
    }
    while (rc == CS_OK && (de = readdir(d)) != NULL) {
        char sub[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.' ||
            (size_t)snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= sizeof sub || stat(sub, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = capture_files(sub, depth + 1, out, n);
        } else if (S_ISREG(st.st_mode) && capture_name(de->d_name)) {
            rc = capture_files(sub, depth + 1, out, n);
        }
    }
    closedir(d);
    if (rc == CS_OK && *n > first) {
        qsort(*out + first, *n - first, sizeof **out, name_cmp);
    }
    return rc;
}

size_t cs_feed_inputs(const cs_feed *f, cs_event_sink sink, void *ud, cs_input_stats *st)
{
    size_t failed = 0;
    size_t pcaps = f->npcaps;
    cs_packet_opts po;
    cs_yara_rules *yr = NULL;
    memset(st, 0, sizeof *st);
    if (f->packet_opts != NULL) {
        po = *f->packet_opts;
    } else {
        memset(&po, 0, sizeof po);
    }
    po.risk_events = 1;   /* rules and analysts take nDPI risks one at a time */
    if (po.stats_interval_us == 0) {
        po.stats_interval_us = 60 * 1000000LL;   /* the sensor's counters, every minute of packet time */
    }
    if (pcaps > 0 && po.yara_compiled == NULL && po.nyara_rules > 0) {
        /* Compile the YARA rules once for all captures. */
        if (cs_yara_compile(po.yara_rules, po.nyara_rules, &yr) != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            failed += pcaps;   /* no capture runs without the rules asked for */
            pcaps = 0;
        } else {
            po.yara_compiled = yr;
            CS_INFO("yara", "%zu rules compiled from %zu files", cs_yara_rules_count(yr), cs_yara_rules_files(yr));
        }
    }
    for (size_t i = 0; i < pcaps; i++) {
        char **files = NULL;
        size_t nfiles = 0;
        /* a directory stands for its captures, in name order */
        if (capture_files(f->pcaps[i], 0, &files, &nfiles) != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            failed++;
        } else if (nfiles == 0) {
            CS_WARN("packet", "%s: no captures (.pcap, .pcapng, .cap) in this directory", f->pcaps[i]);
        }
        for (size_t k = 0; k < nfiles; k++) {
            failed += replay_one(files[k], &po, sink, ud, st);
            free(files[k]);
        }
        free(files);
    }
    cs_yara_rules_free(yr);
    for (size_t i = 0; i < f->nlogs; i++) {
        cs_collect_file_stats ls;
        cs_rc rc = cs_collect_file(f->logs[i], f->formats[i], f->hosts ? f->hosts[i] : NULL, f->max_line, f->tz_offset_s, sink, ud, &ls);
        st->lines += ls.lines;
        if (rc != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            failed++;
        } else if (ls.truncated > 0) {
            CS_WARN("logs", "%s: %llu line(s) longer than %zu bytes were cut and tagged citysoc.truncated",
                    f->logs[i], (unsigned long long)ls.truncated, f->max_line);
        }
    }
    return failed;
}
