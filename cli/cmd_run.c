/* cmd_run.c - `citysoc run -c FILE`: the whole center on one machine.
 *
 * Threads: the main thread waits for SIGINT/SIGTERM/SIGHUP (blocked
 * everywhere else, taken with sigwait); an input thread feeds the configured
 * captures and logs into the pipeline; the pipeline's correlator and store
 * writer; the HTTP server's pool. On SIGINT/SIGTERM: the HTTP server stops,
 * the pipeline drains what it accepted, and the store is committed before
 * exit. On SIGHUP: the configuration is read again and the rules (with
 * their placeholders and mappings) rebuilt and swapped in between two
 * events; unchanged correlations keep their state, inputs are untouched,
 * and a configuration that does not load leaves everything as it was.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/log.h"
#include "../sensors/logs/collect.h"
#include "../sensors/packet/packet.h"
#include "../ui/http.h"
#include "cli.h"

static const char usage[] =
    "usage: citysoc run -c CONFIG [--db FILE] [--port N]\n"
    "\n"
    "Run the security center: ingest the configured captures and logs, detect\n"
    "with the configured rules and plugins, keep alerts in the SQLite store and\n"
    "serve the API and console until SIGINT or SIGTERM. SIGHUP reloads the\n"
    "rules (state of unchanged correlation rules kept).\n"
    "\n"
    "  -c, --config FILE  the configuration (see etc/citysoc.yaml)\n"
    "  --db FILE          the SQLite store (overrides store.path)\n"
    "  --port N           HTTP port (overrides http.port; 0 picks a free one)\n";

typedef struct run_state {
    cs_config *cfg;
    cs_engine eng;
    pthread_t inputs;
    atomic_bool inputs_done;
    atomic_ullong failed_inputs;
    cs_input_stats ist;
    cs_collector *collector;
    atomic_ullong reloads, reload_failures;
} run_state;

static void *inputs_main(void *arg)
{
    run_state *r = arg;
    char **logs = calloc(r->cfg->nlogs + 1, sizeof *logs);
    const char **formats = calloc(r->cfg->nlogs + 1, sizeof *formats);
    const char **hosts = calloc(r->cfg->nlogs + 1, sizeof *hosts);
    cs_feed feed;
    cs_packet_opts pko;
    size_t failed;
    if (logs == NULL || formats == NULL || hosts == NULL) {
        free(logs);
        free(formats);
        free(hosts);
        cs_cli_error("out of memory");
        atomic_store(&r->failed_inputs, 1);
        atomic_store(&r->inputs_done, true);
        return NULL;
    }
    for (size_t i = 0; i < r->cfg->nlogs; i++) {
        logs[i] = r->cfg->logs[i].path;
        formats[i] = r->cfg->logs[i].format;
        hosts[i] = r->cfg->logs[i].host;
    }
    memset(&feed, 0, sizeof feed);
    feed.pcaps = r->cfg->pcaps;
    feed.npcaps = r->cfg->npcaps;
    feed.logs = logs;
    feed.formats = formats;
    feed.hosts = hosts;
    feed.nlogs = r->cfg->nlogs;
    feed.max_line = (size_t)r->cfg->max_line;
    feed.tz_offset_s = r->cfg->tz_offset_s;
    memset(&pko, 0, sizeof pko);
    pko.yara_rules = (const char *const *)r->cfg->yara_rules;
    pko.nyara_rules = r->cfg->nyara_rules;
    pko.yara_max_bytes = (size_t)r->cfg->yara_max_bytes;
    pko.yara_timeout_s = (int)r->cfg->yara_timeout_s;
    feed.packet_opts = &pko;
    failed = cs_feed_inputs(&feed, cs_pipeline_submit, r->eng.pipeline, &r->ist);
    free(logs);
    free(formats);
    free(hosts);
    atomic_store(&r->failed_inputs, failed);
    atomic_store(&r->inputs_done, true);
    CS_INFO("run", "configured inputs read: %llu packets, %llu flows, %llu log lines", r->ist.packets,
            r->ist.flows, r->ist.lines);
    return NULL;
}

static void health(cs_buf *b, void *ud)
{
    run_state *r = ud;
    cs_pipeline_stats st;
    cs_pipeline_get_stats(r->eng.pipeline, &st);
    cs_buf_printf(b,
                  "\"inputs_done\":%s,\"failed_inputs\":%llu,\"events\":%llu,\"alerts\":%llu,"
                  "\"alert_updates\":%llu,\"rule_matches\":%llu,\"unassigned_events\":%llu,"
                  "\"queue_waits\":%llu,\"output_errors\":%llu",
                  atomic_load(&r->inputs_done) ? "true" : "false", atomic_load(&r->failed_inputs),
                  (unsigned long long)st.events, (unsigned long long)st.alerts,
                  (unsigned long long)st.alert_updates, (unsigned long long)st.rule_matches,
                  (unsigned long long)st.unassigned, (unsigned long long)st.queue_waits,
                  (unsigned long long)st.output_errors);
    cs_buf_printf(b, ",\"queue_drops\":%llu,\"geoip_errors\":%llu,\"correlations_fired\":%llu,"
                  "\"rule_reloads\":%llu,\"rule_reload_failures\":%llu,",
                  (unsigned long long)st.queue_drops, (unsigned long long)st.geoip_errors,
                  (unsigned long long)st.correlations_fired,
                  atomic_load(&r->reloads), atomic_load(&r->reload_failures));
    cs_collector_stats_json(r->collector, b);
}

int cs_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    const char *db = NULL;
    long port = -1;
    run_state r;
    cs_pipeline_opts po;
    cs_http_opts ho;
    cs_http *http = NULL;
    sigset_t set;
    int sig = 0;
    int c;
    int status = CS_EXIT_OK;
    bool inputs_started = false;
    cs_rc rc;

    memset(&r, 0, sizeof r);
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'p':
            if (!cs_cli_parse_long("--port", optarg, 0, 65535, &port)) {
                return CS_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return CS_EXIT_OK;
        default:
            fputs(usage, stderr);
            return CS_EXIT_USAGE;
        }
    }
    if (config == NULL || optind < argc) {
        cs_cli_error(config == NULL ? "run needs a configuration: -c FILE" : "unexpected argument '%s'",
                     optind < argc ? argv[optind] : "");
        fputs(usage, stderr);
        return CS_EXIT_USAGE;
    }
    /* every thread started from here on inherits the blocked signals */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if ((rc = cs_config_load(config, &r.cfg)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        return CS_EXIT_FAIL;
    }
    cs_log_set_level(r.cfg->log_level >= 0 ? (cs_log_level)r.cfg->log_level : CS_LOG_INFO);
    memset(&po, 0, sizeof po);
    po.db_path = db ? db : r.cfg->store_path;
    po.aggregate_window_us = r.cfg->aggregate_window_s * 1000000;
    po.queue_capacity = (size_t)r.cfg->queue_capacity;
    rc = cs_engine_open(&r.eng, r.cfg, r.cfg->rule_paths, r.cfg->nrule_paths, r.cfg->inventory_path, NULL, 0, &po);
    if (rc == CS_OK) {
        rc = cs_pipeline_start(r.eng.pipeline);
    }
    if (rc != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    if ((rc = cs_collector_start(r.cfg, cs_pipeline_submit, cs_pipeline_try_submit, r.eng.pipeline,
                                 &r.collector)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < r.cfg->nsyslogs; i++) {  /* listeners may have picked their port */
        fprintf(stdout, "citysoc: %s listening on %s %s port %d\n", r.cfg->syslogs[i].name,
                r.cfg->syslogs[i].transport, r.cfg->syslogs[i].listen, cs_collector_syslog_port(r.collector, i));
    }
    memset(&ho, 0, sizeof ho);
    ho.listen = r.cfg->http_listen;
    ho.port = port >= 0 ? (int)port : r.cfg->http_port;
    ho.db_path = po.db_path;
    ho.static_dir = r.cfg->http_static_dir;
    ho.health = health;
    ho.ud = &r;
    if ((rc = cs_http_start(&ho, &http)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    /* A line scripts can wait for (the port may have been picked by the OS). */
    fprintf(stdout, "citysoc: serving http://%s%s%s:%d/ (store %s)\n", strchr(ho.listen, ':') ? "[" : "",
            ho.listen, strchr(ho.listen, ':') ? "]" : "", cs_http_port(http), po.db_path);
    fflush(stdout);
    if (pthread_create(&r.inputs, NULL, inputs_main, &r) != 0) {
        cs_cli_error("cannot start the input thread");
        status = CS_EXIT_FAIL;
        goto out;
    }
    inputs_started = true;
    fflush(stdout);
    for (;;) {
        cs_config *fresh = NULL;
        sigwait(&set, &sig);
        if (sig != SIGHUP) {
            break;
        }
        CS_INFO("run", "SIGHUP: reloading the rules from %s", config);
        if ((rc = cs_config_load(config, &fresh)) != CS_OK || (rc = cs_engine_reload(&r.eng, fresh)) != CS_OK) {
            CS_ERROR("run", "reload failed, the running rules stay: %s", cs_err_msg());
            atomic_fetch_add(&r.reloads, 1);
            atomic_fetch_add(&r.reload_failures, 1);
        } else {
            atomic_fetch_add(&r.reloads, 1);
        }
        cs_config_free(fresh);
    }
    CS_INFO("run", "signal %d: stopping", sig);
out:
    cs_http_stop(http);
    cs_collector_stop(r.collector);   /* lines already read are delivered */
    r.collector = NULL;
    if (inputs_started) {
        pthread_join(r.inputs, NULL);   /* file inputs finish; nothing accepted is dropped */
    }
    if (r.eng.pipeline != NULL && (rc = cs_pipeline_finish(r.eng.pipeline)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
    }
    cs_engine_close(&r.eng);
    cs_config_free(r.cfg);
    return status;
}
