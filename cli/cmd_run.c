/* cmd_run.c - `citysoc run -c FILE`: the whole center on one machine.
 *
 * Threads: the main thread waits for SIGINT/SIGTERM/SIGHUP (blocked
 * everywhere else, taken with sigwait); an input thread feeds the configured
 * capture files and logs into the pipeline; the live captures' workers
 * (inputs.capture); the pipeline's correlator and store writer; the HTTP
 * server's pool. On SIGINT/SIGTERM: the HTTP server stops, the live inputs
 * stop (the captures emit their open flows), the pipeline drains what it
 * accepted, and the store is committed before exit. On SIGHUP: the
 * configuration is read again and the rules (with their placeholders and
 * mappings) rebuilt and swapped in between two events; unchanged
 * correlations keep their state, inputs are untouched, and a configuration
 * that does not load leaves everything as it was.
 *
 * Privileges: the capture interfaces are opened first, while the process
 * is alone on its thread; then `run_as` (if set) makes it that user, so
 * the store, rules, listeners and every packet parser run without root.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "../runtime/log.h"
#include "../sensors/logs/collect.h"
#include "../sensors/packet/live.h"
#include "../sensors/packet/packet.h"
#include "../sensors/packet/yara_scan.h"
#include "../correlator/incident_policy.h"
#include "../correlator/notify.h"
#include "../ui/http.h"
#include "cli.h"

static const char usage[] =
    "usage: citysoc run -c CONFIG [--db FILE] [--port N] [--events OUT]...\n"
    "\n"
    "Run the security center: ingest the configured captures, interfaces and\n"
    "logs, detect with the configured rules and plugins, keep alerts in the\n"
    "SQLite store and serve the API and console until SIGINT or SIGTERM.\n"
    "SIGHUP reloads the rules (state of unchanged correlation rules kept).\n"
    "Live interfaces (inputs.capture) need root or CAP_NET_RAW; with run_as\n"
    "citysoc becomes that user once they are open.\n"
    "\n"
    "  -c, --config FILE  the configuration (see etc/citysoc.yaml)\n"
    "  --db FILE          the SQLite store (overrides store.path)\n"
    "  --port N           HTTP port (overrides http.port; 0 picks a free one)\n"
    "  --events OUT       write every event as one ECS JSON line, as it is processed\n"
    "                     ('-' = standard output; may repeat)\n";

typedef struct run_state {
    cs_config *cfg;
    cs_engine eng;
    pthread_t inputs;
    atomic_bool inputs_done;
    atomic_ullong failed_inputs;
    cs_input_stats ist;
    cs_collector *collector;
    cs_packet_live **captures;   /* one per inputs.capture entry, opened before run_as */
    size_t ncaptures;
    size_t ncaptures_started;
    cs_yara_rules *yara;         /* compiled once for the captures and the capture files */
    atomic_ullong reloads, reload_failures;
    cs_notify_conf notify_conf;   /* the notify: section */
    cs_notifier *notifier;        /* NULL: no notify: section */
    cs_policy *policy;            /* incidents by policy; NULL: no store */
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
    pko.yara_compiled = r->yara;   /* NULL: cs_feed_inputs compiles them itself */
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
    cs_buf_append_cstr(b, ",\"captures\":[");
    for (size_t i = 0; i < r->ncaptures; i++) {
        if (i > 0) {
            cs_buf_putc(b, ',');
        }
        cs_packet_live_stats_json(r->captures[i], b);
    }
    cs_buf_putc(b, ']');
    if (r->policy != NULL) {
        cs_buf_putc(b, ',');
        cs_policy_stats_json(r->policy, b);
    }
    if (r->notifier != NULL) {
        cs_notify_stats ns;
        cs_notify_get_stats(r->notifier, &ns);
        cs_buf_printf(b, ",\"notify\":{\"queued\":%llu,\"dropped\":%llu", (unsigned long long)ns.queued,
                      (unsigned long long)ns.dropped);
        for (int ch = 0; ch < CS_NOTIFY_CH__COUNT; ch++) {
            if (ns.ch[ch].enabled) {
                cs_buf_printf(b, ",\"%s\":{\"sent\":%llu,\"failed\":%llu,\"last_error\":",
                              cs_notify_channel_str((cs_notify_channel)ch), (unsigned long long)ns.ch[ch].sent,
                              (unsigned long long)ns.ch[ch].failed);
                cs_buf_json_str(b, ns.ch[ch].last_error, strlen(ns.ch[ch].last_error));
                cs_buf_putc(b, '}');
            }
        }
        cs_buf_putc(b, '}');
    }
}

/* Not root, allowed to capture by a file capability (setcap cap_net_raw):
 * CAP_NET_RAW goes once the interfaces are open. Other capabilities stay
 * (e.g. CAP_NET_BIND_SERVICE for a syslog port below 1024). */
static cs_rc drop_net_raw(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    const uint32_t bit = 1u << CAP_NET_RAW;   /* CAP_NET_RAW < 32: the first word */

    if (syscall(SYS_capget, &h, d) != 0) {
        return cs_err_set(CS_ERR_IO, "cannot read the process capabilities: %s", strerror(errno));
    }
    if (((d[0].permitted | d[0].effective | d[0].inheritable) & bit) == 0) {
        return CS_OK;
    }
    d[0].permitted &= ~bit;
    d[0].effective &= ~bit;
    d[0].inheritable &= ~bit;
    if (syscall(SYS_capset, &h, d) != 0) {
        return cs_err_set(CS_ERR_IO, "cannot give up CAP_NET_RAW after opening the interfaces: %s", strerror(errno));
    }
    return CS_OK;
}

/* Once the interfaces are open (DESIGN, Security): root becomes the run_as
 * user (its own groups replace root's); a process that is not root gives up
 * CAP_NET_RAW. Called while the process has one thread, so the change
 * covers all of it. */
static cs_rc drop_privileges(const cs_config *cfg, size_t ncaptures)
{
    struct passwd pwd, *pw = NULL;
    char buf[16384];
    int e;

    if (cfg->run_as == NULL) {
        return geteuid() != 0 && ncaptures > 0 ? drop_net_raw() : CS_OK;
    }
    e = getpwnam_r(cfg->run_as, &pwd, buf, sizeof buf, &pw);
    if (pw == NULL) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: run_as: there is no user '%s' on this system%s%s", cfg->path,
                          cfg->run_as_line, cfg->run_as, e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
    }
    if (geteuid() != 0) {
        if (pw->pw_uid != geteuid()) {
            CS_WARN("run", "run_as %s: citysoc is not running as root, so it stays uid %u", cfg->run_as,
                    (unsigned)geteuid());
        }
        return ncaptures > 0 ? drop_net_raw() : CS_OK;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        return cs_err_set(CS_ERR_IO, "run_as %s: cannot become that user: %s", cfg->run_as, strerror(errno));
    }
    if (pw->pw_uid != 0 && setuid(0) == 0) {
        return cs_err_set(CS_ERR_INTERNAL, "run_as %s: root could be taken back; not going on", cfg->run_as);
    }
    CS_INFO("run", "running as %s (uid %u, gid %u) from here on", cfg->run_as, (unsigned)pw->pw_uid,
            (unsigned)pw->pw_gid);
    return CS_OK;
}

/* Open every configured interface (root or CAP_NET_RAW); nothing is read
 * yet. Errors name the configuration line. */
static cs_rc open_captures(run_state *r)
{
    if (r->cfg->ncaptures == 0) {
        return CS_OK;
    }
    if ((r->captures = calloc(r->cfg->ncaptures, sizeof *r->captures)) == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->cfg->ncaptures; i++) {
        const cs_capture_input *ci = &r->cfg->captures[i];
        cs_live_opts lo;
        cs_rc rc;
        cs_live_opts_init(&lo);
        lo.interface = ci->interface;
        lo.filter = ci->filter;
        lo.promisc = ci->promisc;
        lo.workers = (unsigned)ci->workers;
        if (ci->snaplen > 0) {
            lo.snaplen = ci->snaplen;
        }
        if (ci->buffer_mb > 0) {
            lo.buffer_mb = (unsigned)ci->buffer_mb;
        }
        if ((rc = cs_packet_live_open(&lo, &r->captures[i])) != CS_OK) {
            return cs_err_wrap(rc, "%s:%d", r->cfg->path, ci->line);
        }
        r->ncaptures++;
    }
    return CS_OK;
}

/* Start reading: the same packet options as the capture files get. */
static cs_rc start_captures(run_state *r)
{
    cs_packet_opts pko;
    memset(&pko, 0, sizeof pko);
    pko.risk_events = 1;
    pko.stats_interval_us = 60 * 1000000LL;
    pko.yara_compiled = r->yara;
    pko.yara_max_bytes = (size_t)r->cfg->yara_max_bytes;
    pko.yara_timeout_s = (int)r->cfg->yara_timeout_s;
    for (size_t i = 0; i < r->ncaptures; i++) {
        cs_rc rc = cs_packet_live_start(r->captures[i], &pko, cs_pipeline_submit, cs_pipeline_try_submit,
                                        r->eng.pipeline);
        if (rc != CS_OK) {
            return rc;
        }
        r->ncaptures_started++;
        fprintf(stdout, "citysoc: capturing on %s (%u worker%s)\n", r->cfg->captures[i].interface,
                (unsigned)r->cfg->captures[i].workers, r->cfg->captures[i].workers == 1 ? "" : "s");
    }
    return CS_OK;
}

/* Stop every started capture (open flows emitted); returns the number
 * that failed. The others were never read: free_captures() closes them. */
static int stop_captures(run_state *r)
{
    int failed = 0;
    for (size_t i = 0; i < r->ncaptures_started; i++) {
        cs_live_stats st;
        if (cs_packet_live_stop(r->captures[i]) != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            failed++;
        }
        cs_packet_live_stats(r->captures[i], &st);
        CS_INFO("run", "capture on %s: %llu packets, %llu flows; dropped: %llu by the kernel, %llu by the "
                "interface, %llu events by a full queue", cs_packet_live_interface(r->captures[i]),
                (unsigned long long)st.packets, (unsigned long long)st.flows, (unsigned long long)st.kernel_drops,
                (unsigned long long)st.if_drops, (unsigned long long)st.queue_drops);
    }
    return failed;
}

static void free_captures(run_state *r)
{
    for (size_t i = 0; i < r->ncaptures; i++) {
        cs_packet_live_free(r->captures[i]);
    }
    free(r->captures);
    r->captures = NULL;
    r->ncaptures = 0;
}

static int close_events(FILE **files, size_t n, char **paths)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (files[i] == stdout ? fflush(stdout) != 0 : fclose(files[i]) != 0) {
            cs_cli_error("%s: write failed: %s", paths[i], strerror(errno));
            bad = 1;
        }
    }
    return bad;
}

int cs_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"port", required_argument, NULL, 'p'},
        {"events", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    const char *db = NULL;
    long port = -1;
    char *events[CS_PIPELINE_MAX_OUT];
    size_t nevents = 0;
    run_state r;
    cs_pipeline_opts po;
    cs_http_opts ho;
    cs_http *http = NULL;
    sigset_t set;
    int sig = 0;
    int c;
    int status = CS_EXIT_OK;
    bool inputs_started = false;
    static const cs_collector_ack ack = {cs_pipeline_ticket, cs_pipeline_durable};
    cs_rc rc;

    memset(&r, 0, sizeof r);
    memset(&po, 0, sizeof po);
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
        case 'e':
            if (nevents == CS_PIPELINE_MAX_OUT) {
                cs_cli_error("at most %d --events outputs", CS_PIPELINE_MAX_OUT);
                return CS_EXIT_USAGE;
            }
            events[nevents++] = optarg;
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
    /* the invoker's files, opened as the invoker (like a shell redirection) */
    for (size_t i = 0; i < nevents; i++) {
        FILE *f = strcmp(events[i], "-") == 0 ? stdout : fopen(events[i], "w");
        if (f == NULL) {
            cs_cli_error("%s: cannot write: %s", events[i], strerror(errno));
            status = CS_EXIT_FAIL;
            goto out;
        }
        setvbuf(f, NULL, _IOLBF, 0);   /* whole lines as they come, for whoever follows the file */
        po.events_out[po.nevents_out++] = f;
    }
    if ((rc = open_captures(&r)) != CS_OK || (rc = drop_privileges(r.cfg, r.ncaptures)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    if (r.ncaptures > 0 && r.cfg->nyara_rules > 0) {
        if ((rc = cs_yara_compile((const char *const *)r.cfg->yara_rules, r.cfg->nyara_rules, &r.yara)) != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            status = CS_EXIT_FAIL;
            goto out;
        }
        CS_INFO("yara", "%zu rules compiled from %zu files", cs_yara_rules_count(r.yara), cs_yara_rules_files(r.yara));
    }
    po.db_path = db ? db : r.cfg->store_path;
    po.aggregate_window_us = r.cfg->aggregate_window_s * 1000000;
    po.queue_capacity = (size_t)r.cfg->queue_capacity;
    rc = cs_engine_open(&r.eng, r.cfg, r.cfg->rule_paths, r.cfg->nrule_paths, r.cfg->inventory_path, NULL, 0, &po);
    if (rc == CS_OK) {
        rc = cs_pipeline_start(r.eng.pipeline);
    }
    if (rc != CS_OK) {
        if (r.cfg->run_as != NULL) {
            cs_cli_error("%s (citysoc is run_as user %s by now: that user must be able to read it, and to write "
                         "the store's directory)", cs_err_msg(), r.cfg->run_as);
        } else {
            cs_cli_error("%s", cs_err_msg());
        }
        status = CS_EXIT_FAIL;
        goto out;
    }
    /* notifications and the incident policy: tickets from what the store committed */
    if ((rc = cs_notify_conf_load(r.cfg, &r.notify_conf)) != CS_OK ||
        (r.cfg->notify != NULL && (rc = cs_notify_new(&r.notify_conf.opts, &r.notifier)) != CS_OK)) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    if (po.db_path != NULL) {
        cs_policy_opts pol;
        cs_policy_opts_from_config(r.cfg, &pol);
        pol.console_url = r.notify_conf.console_url;
        if ((rc = cs_policy_start(po.db_path, &pol, r.notifier, &r.policy)) != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            status = CS_EXIT_FAIL;
            goto out;
        }
    }
    if ((rc = cs_collector_start_acked(r.cfg, cs_pipeline_submit, cs_pipeline_try_submit, r.eng.pipeline,
                                       &ack, &r.collector)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < r.cfg->nsyslogs; i++) {  /* listeners may have picked their port */
        fprintf(stdout, "citysoc: %s listening on %s %s port %d\n", r.cfg->syslogs[i].name,
                r.cfg->syslogs[i].transport, r.cfg->syslogs[i].listen, cs_collector_syslog_port(r.collector, i));
    }
    if ((rc = start_captures(&r)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
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
    if (stop_captures(&r) > 0) {   /* their open flows go into the pipeline before it drains */
        status = CS_EXIT_FAIL;
    }
    cs_collector_stop(r.collector);   /* lines already read are delivered */
    r.collector = NULL;
    if (inputs_started) {
        pthread_join(r.inputs, NULL);   /* file inputs finish; nothing accepted is dropped */
    }
    if (r.eng.pipeline != NULL && (rc = cs_pipeline_finish(r.eng.pipeline)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
    }
    cs_policy_stop(r.policy);   /* its last pass sees every alert the pipeline committed */
    r.policy = NULL;
    if (r.notifier != NULL && cs_notify_close(r.notifier, 5000) != CS_OK) {
        CS_WARN("run", "%s", cs_err_msg());
    }
    cs_notify_free(r.notifier);
    cs_notify_conf_free(&r.notify_conf);
    free_captures(&r);
    if (close_events(po.events_out, po.nevents_out, events) != 0) {
        status = CS_EXIT_FAIL;
    }
    cs_engine_close(&r.eng);
    cs_yara_rules_free(r.yara);
    cs_config_free(r.cfg);
    return status;
}
