/* pipeline.c - the correlator thread and its outputs (see pipeline.h).
 *
 * Per event, in order: enrich with GeoIP/ASN and the owning system, match
 * Sigma rules (informational ones only tag the event, as Sigma's levels
 * say: "no case or alerting"), write it to the event outputs, hand it to
 * plugins, then advance plugin time.
 * Alerts from rules and plugins go through one alerter, so aggregation and
 * risk are the same whoever detected. Alert outputs receive the final state
 * of every alert at finish (one line per alert, count included); the store
 * receives every new alert and every update as they happen.
 */
#include "pipeline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/json.h"
#include "../runtime/log.h"
#include "../runtime/plugin_host.h"
#include "../runtime/queue.h"
#include "../store/store.h"
#include "alert.h"

#define BATCH 256
#define TICK_US 1000000

struct cs_pipeline {
    atomic_uint_least64_t processed;   /* queue items handled (events and markers), in queue order */
    cs_pipeline_opts o;
    cs_queue *q;
    pthread_t thread;
    bool started;
    cs_plugin_host *plugins;
    cs_alerter *alerter;
    cs_store_writer *writer;
    cs_buf line;
    int64_t last_tick;
    cs_rc first_error;
    char error_msg[1024];
    pthread_mutex_t stats_lock;
    cs_pipeline_stats st;
    /* a rule swap travels through the queue as this marker, so every event
     * submitted before it meets the old rules and every one after the new */
    char swap_marker;
    pthread_mutex_t swap_lock;
    pthread_cond_t swap_done;
    struct swap_req *swap;
    /* informational rules that matched the event being processed: they tag
     * it (added after matching: the matcher still reads the event) */
    const cs_rule *info_hits[16];
    size_t ninfo;
};

typedef struct swap_req {
    const cs_ruleset *rules;
    cs_corrset *correlations;
    size_t kept, groups;
    bool done;
} swap_req;

static void note_error(cs_pipeline *p, cs_rc rc)
{
    pthread_mutex_lock(&p->stats_lock);
    if (p->first_error == CS_OK) {
        p->first_error = rc;
        snprintf(p->error_msg, sizeof p->error_msg, "%s", cs_err_msg());
    }
    pthread_mutex_unlock(&p->stats_lock);
    CS_ERROR("correlator", "%s", cs_err_msg());
}

static void on_alert(const cs_event *alert, const cs_event *evidence, bool is_new, void *ud)
{
    cs_pipeline *p = ud;
    pthread_mutex_lock(&p->stats_lock);
    if (is_new) {
        p->st.alerts++;
    } else {
        p->st.alert_updates++;
    }
    pthread_mutex_unlock(&p->stats_lock);
    if (p->writer != NULL) {
        cs_rc rc = cs_store_writer_put_alert(p->writer, alert, is_new ? evidence : NULL);
        if (rc != CS_OK) {
            note_error(p, rc);
        }
    }
}

static int sigma_reliability(const char *status)
{
    if (strcmp(status, "stable") == 0) {
        return 8;
    }
    if (strcmp(status, "test") == 0) {
        return 7;
    }
    if (strcmp(status, "experimental") == 0) {
        return 5;
    }
    return 6;
}

static void on_correlation(const cs_corr_info *ci, const cs_event *last, const char *group_key, int64_t value,
                           void *ud)
{
    cs_pipeline *p = ud;
    cs_alert_src src;
    char key[512];
    cs_rc rc;
    (void)value;
    if (ci->suppressed || strcmp(ci->level, "informational") == 0) {
        return;   /* an inner link of a chain: the outer correlation alerts; informational: no alert */
    }
    memset(&src, 0, sizeof src);
    src.rule_id = ci->id && ci->id[0] ? ci->id : ci->title;
    src.title = ci->title;
    src.level = ci->level && ci->level[0] ? ci->level : "high";
    src.detector = "sigma-correlation";
    src.tags = ci->tags;
    src.ntags = ci->ntags;
    /* a correlation sees many events: the group is the key */
    snprintf(key, sizeof key, "%s", group_key && group_key[0] ? group_key : "-");
    for (char *k = key; *k != '\0'; k++) {
        if (*k == '\x1f') {
            *k = '|';   /* the engine joins group-by values with 0x1f; show them readably */
        }
    }
    src.key = key;
    src.reliability = 9;   /* several independent events agree */
    pthread_mutex_lock(&p->stats_lock);
    p->st.correlations_fired++;
    pthread_mutex_unlock(&p->stats_lock);
    rc = cs_alerter_raise(p->alerter, &src, last);
    if (rc != CS_OK) {
        note_error(p, rc);
    }
}

static void on_rule_match(const cs_rule *rule, const cs_event *ev, void *ud)
{
    cs_pipeline *p = ud;
    const cs_rule_info *ri = cs_rule_get_info(rule);
    cs_alert_src src;
    cs_rc rc;
    if (p->o.correlations != NULL) {
        cs_corrset_feed(p->o.correlations, rule, ev, on_correlation, p);
        if (cs_corrset_suppresses(p->o.correlations, rule)) {
            pthread_mutex_lock(&p->stats_lock);
            p->st.rule_matches++;
            pthread_mutex_unlock(&p->stats_lock);
            return;   /* only evidence for a correlation (generate: false) */
        }
    }
    if (strcmp(ri->level, "informational") == 0) {
        /* Sigma: "intended for enrichment of events, e.g. by tagging them.
         * No case or alerting should be triggered" */
        pthread_mutex_lock(&p->stats_lock);
        p->st.rule_matches++;
        pthread_mutex_unlock(&p->stats_lock);
        if (p->ninfo < sizeof p->info_hits / sizeof p->info_hits[0]) {
            p->info_hits[p->ninfo++] = rule;
        }
        return;
    }
    memset(&src, 0, sizeof src);
    src.rule_id = ri->id[0] ? ri->id : ri->title;
    src.title = ri->title;
    src.level = ri->level[0] ? ri->level : "medium";
    src.description = ri->description;
    src.detector = "sigma";
    src.tags = ri->tags;
    src.ntags = ri->ntags;
    src.reliability = sigma_reliability(ri->status);
    pthread_mutex_lock(&p->stats_lock);
    p->st.rule_matches++;
    pthread_mutex_unlock(&p->stats_lock);
    rc = cs_alerter_raise(p->alerter, &src, ev);
    if (rc != CS_OK) {
        note_error(p, rc);
    }
}

static void on_plugin_alert(const char *plugin, const cs_plugin_alert *a, void *ud)
{
    cs_pipeline *p = ud;
    char detector[96];
    cs_alert_src src;
    cs_rc rc;
    snprintf(detector, sizeof detector, "plugin:%s", plugin);
    memset(&src, 0, sizeof src);
    src.rule_id = a->rule_id;
    src.title = a->title;
    src.level = a->level ? a->level : "medium";
    src.description = a->description;
    src.detector = detector;
    src.tags = a->tags;
    src.ntags = a->ntags;
    src.key = a->key;
    src.reliability = a->reliability;
    rc = cs_alerter_raise(p->alerter, &src, a->evidence);
    if (rc != CS_OK) {
        note_error(p, rc);
    }
}

static void write_line(cs_pipeline *p, FILE *const *outs, size_t n, const cs_event *ev)
{
    cs_rc rc;
    if (n == 0) {
        return;
    }
    cs_buf_reset(&p->line);
    rc = cs_json_write_event(&p->line, ev);
    if (rc != CS_OK) {
        note_error(p, rc);
        return;
    }
    cs_buf_putc(&p->line, '\n');
    for (size_t i = 0; i < n; i++) {
        if (fwrite(p->line.data, 1, p->line.len, outs[i]) != p->line.len) {
            pthread_mutex_lock(&p->stats_lock);
            p->st.output_errors++;
            pthread_mutex_unlock(&p->stats_lock);
        }
    }
}

static void process(cs_pipeline *p, cs_event *ev)
{
    const cs_system *sys;
    bool geo_failed = p->o.geoip != NULL && cs_geoip_enrich(p->o.geoip, &ev) != CS_OK;
    sys = cs_inventory_enrich(p->o.inventory, &ev);
    pthread_mutex_lock(&p->stats_lock);
    p->st.events++;
    if (geo_failed) {
        p->st.geoip_errors++;   /* the event goes on with what the lookup gave */
    }
    if (sys == NULL && cs_event_find(ev, CS_F_CS_SYSTEM_ID) == NULL) {
        p->st.unassigned++;
    }
    pthread_mutex_unlock(&p->stats_lock);
    p->ninfo = 0;
    if (p->o.rules != NULL) {
        cs_ruleset_match(p->o.rules, ev, on_rule_match, p);
    }
    for (size_t i = 0; i < p->ninfo; i++) {
        const cs_rule_info *ri = cs_rule_get_info(p->info_hits[i]);
        char tag[160];
        snprintf(tag, sizeof tag, "sigma:%s", ri->name[0] ? ri->name : ri->id[0] ? ri->id : ri->title);
        if (cs_event_add_cstr(&ev, CS_F_TAGS, tag) != CS_OK) {
            break;   /* a tag is a nicety: the event goes on without it */
        }
    }
    write_line(p, p->o.events_out, p->o.nevents_out, ev);
    cs_plugin_host_on_event(p->plugins, ev);
    if (ev->ts_us - p->last_tick >= TICK_US) {
        p->last_tick = ev->ts_us;
        cs_plugin_host_tick(p->plugins, ev->ts_us);
    }
    cs_event_free(ev);
}

/* On the correlator thread, between two events: the new rules take over,
 * with the state of the unchanged correlations; the old ones go back to the
 * caller of cs_pipeline_swap_rules(). */
static void do_swap(cs_pipeline *p)
{
    swap_req *r;
    const cs_ruleset *rules;
    cs_corrset *corrs;
    pthread_mutex_lock(&p->swap_lock);
    r = p->swap;
    pthread_mutex_unlock(&p->swap_lock);
    if (r == NULL) {
        return;
    }
    r->kept = cs_corrset_adopt(r->correlations, p->o.correlations, &r->groups);
    rules = p->o.rules;
    corrs = p->o.correlations;
    p->o.rules = r->rules;
    p->o.correlations = r->correlations;
    r->rules = rules;
    r->correlations = corrs;
    pthread_mutex_lock(&p->swap_lock);
    r->done = true;
    p->swap = NULL;
    pthread_cond_broadcast(&p->swap_done);
    pthread_mutex_unlock(&p->swap_lock);
}

static void *correlator_main(void *arg)
{
    cs_pipeline *p = arg;
    void *items[BATCH];
    pthread_setname_np(pthread_self(), "cs-correlator");   /* top -H, perf */
    for (;;) {
        cs_rc rc;
        size_t n = cs_queue_pop_batch(p->q, items, BATCH, -1, &rc);
        if (n == 0) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (items[i] == &p->swap_marker) {
                do_swap(p);
            } else {
                process(p, items[i]);
            }
        }
        atomic_fetch_add(&p->processed, n);
    }
    /* end of input: one last tick so windowed plugins can conclude */
    cs_plugin_host_tick(p->plugins, p->last_tick + TICK_US);
    return NULL;
}

uint64_t cs_pipeline_ticket(void *ud)
{
    cs_pipeline *p = ud;
    cs_queue_stats st;
    cs_queue_get_stats(p->q, &st);
    return st.pushed;
}

uint64_t cs_pipeline_durable(void *ud)
{
    /* the queue is FIFO and the correlator takes it in order: the count of
     * items handled is the ticket of the last one */
    cs_pipeline *p = ud;
    return atomic_load(&p->processed);
}

cs_rc cs_pipeline_new(const cs_pipeline_opts *opts, cs_pipeline **out)
{
    cs_pipeline *p = calloc(1, sizeof *p);
    cs_rc rc;
    *out = NULL;
    if (p == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    p->o = *opts;
    pthread_mutex_init(&p->stats_lock, NULL);
    pthread_mutex_init(&p->swap_lock, NULL);
    pthread_cond_init(&p->swap_done, NULL);
    cs_buf_init(&p->line);
    if ((rc = cs_queue_new(opts->queue_capacity ? opts->queue_capacity : 4096, &p->q)) != CS_OK ||
        (rc = cs_alerter_new(opts->inventory, opts->aggregate_window_us, on_alert, p, &p->alerter)) != CS_OK ||
        (rc = cs_plugin_host_new(on_plugin_alert, p, &p->plugins)) != CS_OK) {
        cs_pipeline_free(p);
        return rc;
    }
    *out = p;
    return CS_OK;
}

cs_rc cs_pipeline_load_plugin(cs_pipeline *p, const char *path, const cs_yaml_file *yf, const cs_yaml_node *cfg)
{
    if (p->started) {
        return cs_err_set(CS_ERR_INVAL, "plugins must be loaded before the pipeline starts");
    }
    return cs_plugin_host_load(p->plugins, path, yf, cfg);
}

cs_rc cs_pipeline_start(cs_pipeline *p)
{
    cs_rc rc;
    if (p->o.db_path != NULL) {
        rc = cs_store_writer_start(p->o.db_path, 4096, &p->writer);
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (pthread_create(&p->thread, NULL, correlator_main, p) != 0) {
        return cs_err_set(CS_ERR_INTERNAL, "cannot start the correlator thread");
    }
    p->started = true;
    return CS_OK;
}

cs_rc cs_pipeline_submit(cs_event *ev, void *ud)
{
    cs_pipeline *p = ud;
    cs_rc rc = cs_queue_push(p->q, ev);
    if (rc != CS_OK) {
        cs_event_free(ev);
        return cs_err_set(rc, "the correlator is no longer accepting events");
    }
    return CS_OK;
}

cs_rc cs_pipeline_try_submit(cs_event *ev, void *ud)
{
    cs_pipeline *p = ud;
    cs_rc rc = cs_queue_try_push(p->q, ev);
    if (rc == CS_ERR_CLOSED) {
        return cs_err_set(rc, "the correlator is no longer accepting events");
    }
    return rc;
}

cs_rc cs_pipeline_swap_rules(cs_pipeline *p, const cs_ruleset **rules, cs_corrset **correlations, size_t *kept,
                             size_t *groups)
{
    swap_req r = {*rules, *correlations, 0, 0, false};
    cs_rc rc;
    if (!p->started) {
        /* no thread yet (or any more): swap here */
        r.kept = cs_corrset_adopt(r.correlations, p->o.correlations, &r.groups);
        *rules = p->o.rules;
        *correlations = p->o.correlations;
        p->o.rules = r.rules;
        p->o.correlations = r.correlations;
    } else {
        pthread_mutex_lock(&p->swap_lock);
        if (p->swap != NULL) {
            pthread_mutex_unlock(&p->swap_lock);
            return cs_err_set(CS_ERR_INVAL, "a rule reload is already in progress");
        }
        p->swap = &r;
        pthread_mutex_unlock(&p->swap_lock);
        if ((rc = cs_queue_push(p->q, &p->swap_marker)) != CS_OK) {
            pthread_mutex_lock(&p->swap_lock);
            p->swap = NULL;
            pthread_mutex_unlock(&p->swap_lock);
            return cs_err_set(rc, "the correlator is no longer running: rules not reloaded");
        }
        pthread_mutex_lock(&p->swap_lock);
        while (!r.done) {
            pthread_cond_wait(&p->swap_done, &p->swap_lock);
        }
        pthread_mutex_unlock(&p->swap_lock);
        *rules = r.rules;
        *correlations = r.correlations;
    }
    if (kept != NULL) {
        *kept = r.kept;
    }
    if (groups != NULL) {
        *groups = r.groups;
    }
    return CS_OK;
}

typedef struct alert_out_ctx {
    cs_pipeline *p;
} alert_out_ctx;

static void write_alert(const cs_event *alert, void *ud)
{
    alert_out_ctx *c = ud;
    write_line(c->p, c->p->o.alerts_out, c->p->o.nalerts_out, alert);
}

cs_rc cs_pipeline_finish(cs_pipeline *p)
{
    cs_queue_stats qs;
    alert_out_ctx ctx = {p};
    cs_rc rc;
    if (!p->started) {
        return CS_OK;
    }
    cs_queue_close(p->q);
    pthread_join(p->thread, NULL);
    p->started = false;
    cs_alerter_foreach(p->alerter, write_alert, &ctx);
    for (size_t i = 0; i < p->o.nevents_out; i++) {
        fflush(p->o.events_out[i]);
    }
    for (size_t i = 0; i < p->o.nalerts_out; i++) {
        fflush(p->o.alerts_out[i]);
    }
    rc = cs_store_writer_finish(p->writer, NULL);
    p->writer = NULL;
    if (rc != CS_OK) {
        note_error(p, rc);
    }
    cs_queue_get_stats(p->q, &qs);
    pthread_mutex_lock(&p->stats_lock);
    p->st.queue_waits = qs.waits;
    p->st.queue_high_water = qs.high_water;
    p->st.finished = true;
    rc = p->first_error;
    pthread_mutex_unlock(&p->stats_lock);
    if (rc != CS_OK) {
        cs_err_set(rc, "%s", p->error_msg);
    } else if (p->st.output_errors > 0) {
        rc = cs_err_set(CS_ERR_IO, "%llu lines could not be written to an output",
                        (unsigned long long)p->st.output_errors);
    }
    return rc;
}

void cs_pipeline_get_stats(cs_pipeline *p, cs_pipeline_stats *st)
{
    cs_queue_stats qs;
    cs_queue_get_stats(p->q, &qs);
    pthread_mutex_lock(&p->stats_lock);
    *st = p->st;
    pthread_mutex_unlock(&p->stats_lock);
    st->queue_waits = qs.waits;
    st->queue_high_water = qs.high_water;
    st->queue_drops = qs.dropped;
}

void cs_pipeline_free(cs_pipeline *p)
{
    if (p == NULL) {
        return;
    }
    if (p->started) {
        cs_pipeline_finish(p);
    }
    cs_store_writer_finish(p->writer, NULL);
    cs_plugin_host_free(p->plugins);
    cs_alerter_free(p->alerter);
    cs_queue_free(p->q);
    cs_buf_free(&p->line);
    pthread_mutex_destroy(&p->stats_lock);
    pthread_mutex_destroy(&p->swap_lock);
    pthread_cond_destroy(&p->swap_done);
    free(p);
}
