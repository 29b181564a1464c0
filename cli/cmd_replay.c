/* cmd_replay.c - `citysoc replay`: offline analysis of captures and logs. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/log.h"
#include "../sensors/logs/logparse.h"
#include "../sensors/packet/packet.h"
#include "../correlator/incident_policy.h"
#include "../runtime/timeutil.h"
#include "cli.h"

#define MAX_ARGS 256

/* long-only options */
enum { OPT_NDPI_PROTOS = 256, OPT_NDPI_CATEGORIES, OPT_NDPI_RISKY, OPT_NDPI_JA3, OPT_NDPI_SHA1,
       OPT_YARA, OPT_YARA_MAX_BYTES, OPT_YARA_TIMEOUT, OPT_WORKERS };

static const char usage[] =
    "usage: citysoc replay [--pcap FILE]... [--log-format NAME] [--host NAME] [--log FILE]...\n"
    "                      [--max-line N] [--rules PATH]... [--inventory FILE] [--plugin SO]...\n"
    "                      [--events OUT]... [--alerts OUT]... [--db FILE] [-c CONFIG]\n"
    "                      [--ndpi-protos FILE] [--ndpi-categories FILE] [--ndpi-risky-domains FILE]\n"
    "                      [--ndpi-ja3 FILE] [--ndpi-sha1 FILE]\n"
    "                      [--yara PATH]... [--yara-max-bytes N] [--yara-timeout S] [--workers N]\n"
    "\n"
    "Analyse captures and log files offline: every flow and log line becomes an\n"
    "ECS JSON event, Sigma rules and plugins raise alerts. OUT may be '-' for\n"
    "standard output; every option may repeat. With -c, rules, inventory and\n"
    "plugins come from the configuration (the inputs still come from here).\n"
    "\n"
    "  --pcap FILE        a pcap or pcapng capture\n"
    "  --log FILE         a log file ('-' = standard input)\n"
    "  --log-format NAME  format of the --log files that follow it: auto (default: decided\n"
    "                     per line), syslog, sshd, nginx, apache, nginx-error, apache-error,\n"
    "                     auditd, json (Suricata EVE and Zeek recognised), cef, kv\n"
    "  --host NAME        host.name for lines of the --log files that follow that name no\n"
    "                     host (web access logs), so they map to their system\n"
    "  --max-line N       cut log lines longer than N bytes (default 65536; counted)\n"
    "  --rules PATH       a Sigma rule file or a directory of them\n"
    "  --inventory FILE   the city's information systems (YAML)\n"
    "  --plugin SO        a detection plugin to load\n"
    "  --events OUT       write every event as one JSON line\n"
    "  --alerts OUT       write every alert as one JSON line (final counts)\n"
    "  --db FILE          store alerts in this SQLite file\n"
    "  -c, --config FILE  take rules, inventory and plugins from a configuration\n"
    "  --ndpi-protos FILE, --ndpi-categories FILE, --ndpi-risky-domains FILE,\n"
    "  --ndpi-ja3 FILE, --ndpi-sha1 FILE\n"
    "                     nDPI list files for the --pcap inputs, as ndpiReader's\n"
    "                     -p, -c, -r, -j and -S take them\n"
    "  --yara PATH        YARA rules (a file, or a directory of .yar/.yara files) to scan\n"
    "                     the --pcap payloads with; one namespace per file\n"
    "  --yara-max-bytes N scan the first N payload bytes of each flow direction\n"
    "                     (default 4096, or inputs.yara.max_bytes)\n"
    "  --yara-timeout S   give up a scan after S seconds (default 10)\n"
    "  --workers N        packet workers per capture (default 1): flows are dealt to N\n"
    "                     threads by a symmetric hash, each with its own nDPI module\n"
    "  -q, --quiet        only errors on stderr\n";

typedef struct list {
    char *v[MAX_ARGS];
    size_t n;
} list;

static int push(list *l, char *s, const char *opt)
{
    if (l->n >= MAX_ARGS) {
        cs_cli_error("too many %s options (at most %d)", opt, MAX_ARGS);
        return -1;
    }
    l->v[l->n++] = s;
    return 0;
}

static int open_outputs(const list *paths, FILE **files, size_t *n, bool *used_stdout)
{
    for (size_t i = 0; i < paths->n; i++) {
        if (strcmp(paths->v[i], "-") == 0) {
            files[i] = stdout;
            *used_stdout = true;
        } else {
            files[i] = fopen(paths->v[i], "w");
            if (files[i] == NULL) {
                cs_cli_error("%s: cannot write: %s", paths->v[i], strerror(errno));
                return -1;
            }
        }
        (*n)++;
    }
    return 0;
}

static int close_outputs(FILE **files, size_t n, const list *paths)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (files[i] == stdout) {
            if (fflush(stdout) != 0) {
                cs_cli_error("standard output: write failed: %s", strerror(errno));
                bad = 1;
            }
        } else if (fclose(files[i]) != 0) {
            cs_cli_error("%s: write failed: %s", paths->v[i], strerror(errno));
            bad = 1;
        }
    }
    return bad;
}

int cs_cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pcap", required_argument, NULL, 'p'},   {"log", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'}, {"rules", required_argument, NULL, 'r'},
        {"inventory", required_argument, NULL, 'i'}, {"plugin", required_argument, NULL, 'P'},
        {"events", required_argument, NULL, 'e'}, {"alerts", required_argument, NULL, 'a'},
        {"db", required_argument, NULL, 'd'},     {"config", required_argument, NULL, 'c'},
        {"max-line", required_argument, NULL, 'm'}, {"host", required_argument, NULL, 'H'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"ndpi-protos", required_argument, NULL, OPT_NDPI_PROTOS},
        {"ndpi-categories", required_argument, NULL, OPT_NDPI_CATEGORIES},
        {"ndpi-risky-domains", required_argument, NULL, OPT_NDPI_RISKY},
        {"ndpi-ja3", required_argument, NULL, OPT_NDPI_JA3},
        {"ndpi-sha1", required_argument, NULL, OPT_NDPI_SHA1},
        {"yara", required_argument, NULL, OPT_YARA},
        {"yara-max-bytes", required_argument, NULL, OPT_YARA_MAX_BYTES},
        {"yara-timeout", required_argument, NULL, OPT_YARA_TIMEOUT},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {NULL, 0, NULL, 0},
    };
    list pcaps = {0}, logs = {0}, rules = {0}, plugins = {0}, events = {0}, alerts = {0}, yara = {0};
    long yara_max = 0, yara_timeout = 0, workers = 1;
    const char *log_format = "auto";
    const char *formats[MAX_ARGS];
    const char *hosts[MAX_ARGS];
    const char *log_host = NULL;
    long max_line = 65536;
    cs_feed feed;
    cs_packet_opts pko;
    const char *inventory = NULL;
    const char *db = NULL;
    const char *config = NULL;
    cs_config *cfg = NULL;
    cs_pipeline_opts po;
    cs_engine eng;
    cs_input_stats ist;
    bool used_stdout = false;
    bool quiet = false;
    size_t failed;
    int c;
    int status = CS_EXIT_OK;
    cs_rc rc;

    memset(&po, 0, sizeof po);
    memset(&pko, 0, sizeof pko);
    memset(&eng, 0, sizeof eng);
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:qh", opts, NULL)) != -1) {
        int r = 0;
        switch (c) {
        case 'p':
            r = push(&pcaps, optarg, "--pcap");
            break;
        case 'l':
            formats[logs.n < MAX_ARGS ? logs.n : 0] = log_format;
            hosts[logs.n < MAX_ARGS ? logs.n : 0] = log_host;
            r = push(&logs, optarg, "--log");
            break;
        case 'f':
            if (cs_log_format_parse(optarg) < 0) {
                cs_cli_error("unknown --log-format '%s' (known: %s)", optarg, cs_log_format_names());
                return CS_EXIT_USAGE;
            }
            log_format = optarg;
            break;
        case 'H':
            log_host = optarg;
            break;
        case 'm':
            if (!cs_cli_parse_long("--max-line", optarg, 256, 64L * 1024 * 1024, &max_line)) {
                return CS_EXIT_USAGE;
            }
            break;
        case 'r':
            r = push(&rules, optarg, "--rules");
            break;
        case 'i':
            inventory = optarg;
            break;
        case 'P':
            r = push(&plugins, optarg, "--plugin");
            break;
        case 'e':
            r = push(&events, optarg, "--events");
            if (r == 0 && events.n > CS_PIPELINE_MAX_OUT) {
                cs_cli_error("at most %d --events outputs", CS_PIPELINE_MAX_OUT);
                r = -1;
            }
            break;
        case 'a':
            r = push(&alerts, optarg, "--alerts");
            if (r == 0 && alerts.n > CS_PIPELINE_MAX_OUT) {
                cs_cli_error("at most %d --alerts outputs", CS_PIPELINE_MAX_OUT);
                r = -1;
            }
            break;
        case 'd':
            db = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case OPT_NDPI_PROTOS:
            pko.ndpi_protos_file = optarg;
            break;
        case OPT_NDPI_CATEGORIES:
            pko.ndpi_categories_file = optarg;
            break;
        case OPT_NDPI_RISKY:
            pko.ndpi_risky_domains_file = optarg;
            break;
        case OPT_NDPI_JA3:
            pko.ndpi_ja3_file = optarg;
            break;
        case OPT_NDPI_SHA1:
            pko.ndpi_sha1_file = optarg;
            break;
        case OPT_YARA:
            r = push(&yara, optarg, "--yara");
            break;
        case OPT_YARA_MAX_BYTES:
            if (!cs_cli_parse_long("--yara-max-bytes", optarg, 1, 64L * 1024 * 1024, &yara_max)) {
                return CS_EXIT_USAGE;
            }
            break;
        case OPT_WORKERS:
            if (!cs_cli_parse_long("--workers", optarg, 1, CS_PACKET_MAX_WORKERS, &workers)) {
                return CS_EXIT_USAGE;
            }
            break;
        case OPT_YARA_TIMEOUT:
            if (!cs_cli_parse_long("--yara-timeout", optarg, 1, 3600, &yara_timeout)) {
                return CS_EXIT_USAGE;
            }
            break;
        case 'q':
            quiet = true;
            cs_log_set_level(CS_LOG_ERROR);
            break;
        case 'h':
            fputs(usage, stdout);
            return CS_EXIT_OK;
        default:
            fputs(usage, stderr);
            return CS_EXIT_USAGE;
        }
        if (r != 0) {
            return CS_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cs_cli_error("unexpected argument '%s' (inputs are given with --pcap and --log)", argv[optind]);
        return CS_EXIT_USAGE;
    }
    if (pcaps.n == 0 && logs.n == 0) {
        cs_cli_error("nothing to replay: give at least one --pcap or --log");
        fputs(usage, stderr);
        return CS_EXIT_USAGE;
    }
    if (config != NULL) {
        if ((rc = cs_config_load(config, &cfg)) != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            return CS_EXIT_FAIL;
        }
        if (cfg->log_level >= 0 && !quiet) {
            cs_log_set_level((cs_log_level)cfg->log_level);
        }
        for (size_t i = 0; i < cfg->nrule_paths; i++) {
            if (push(&rules, cfg->rule_paths[i], "rules") != 0) {
                status = CS_EXIT_USAGE;
                goto out;
            }
        }
        if (inventory == NULL) {
            inventory = cfg->inventory_path;
        }
        po.aggregate_window_us = cfg->aggregate_window_s * 1000000;
    } else {
        po.aggregate_window_us = 300 * 1000000LL;
    }
    if (open_outputs(&events, po.events_out, &po.nevents_out, &used_stdout) != 0 ||
        open_outputs(&alerts, po.alerts_out, &po.nalerts_out, &used_stdout) != 0) {
        status = CS_EXIT_FAIL;
        goto out;
    }
    po.db_path = db;
    rc = cs_engine_open(&eng, cfg, rules.v, rules.n, inventory, plugins.v, plugins.n, &po);
    if (rc == CS_OK) {
        rc = cs_pipeline_start(eng.pipeline);
    }
    if (rc != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    memset(&feed, 0, sizeof feed);
    feed.pcaps = pcaps.v;
    feed.npcaps = pcaps.n;
    feed.logs = logs.v;
    feed.formats = formats;
    feed.hosts = hosts;
    feed.nlogs = logs.n;
    feed.max_line = (size_t)max_line;
    feed.tz_offset_s = cfg != NULL ? cfg->tz_offset_s : 0;
    /* YARA: the command line wins over inputs.yara of the configuration. */
    if (yara.n > 0) {
        pko.yara_rules = (const char *const *)yara.v;
        pko.nyara_rules = yara.n;
    } else if (cfg != NULL) {
        pko.yara_rules = (const char *const *)cfg->yara_rules;
        pko.nyara_rules = cfg->nyara_rules;
    }
    pko.yara_max_bytes = yara_max > 0 ? (size_t)yara_max : cfg != NULL ? (size_t)cfg->yara_max_bytes : 0;
    pko.yara_timeout_s = yara_timeout > 0 ? (int)yara_timeout : cfg != NULL ? (int)cfg->yara_timeout_s : 0;
    pko.workers = (unsigned)workers;
    feed.packet_opts = &pko;
    failed = cs_feed_inputs(&feed, cs_pipeline_submit, eng.pipeline, &ist);
    rc = cs_pipeline_finish(eng.pipeline);
    if (rc != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
    }
    if (failed > 0) {
        status = CS_EXIT_FAIL;
    }
    {
        cs_pipeline_stats st;
        cs_pipeline_get_stats(eng.pipeline, &st);
        CS_INFO("replay", "%llu packets, %llu flows, %llu log lines -> %llu events, %llu alerts (%llu repeats)",
                ist.packets, ist.flows, ist.lines, (unsigned long long)st.events, (unsigned long long)st.alerts,
                (unsigned long long)st.alert_updates);
    }
    if (db != NULL && rc == CS_OK) {
        /* the stored alerts meet the incident policy once, as in `run`
         * (notifications are for live operation, not for a replay) */
        cs_store *s = NULL;
        cs_policy_opts pol;
        cs_policy_stats ps;
        memset(&ps, 0, sizeof ps);
        if (cfg != NULL) {
            cs_policy_opts_from_config(cfg, &pol);
        } else {
            memset(&pol, 0, sizeof pol);
            pol.open_at_risk = 7.0;
        }
        if ((rc = cs_store_open(db, false, &s)) != CS_OK ||
            (rc = cs_policy_run_once(s, &pol, NULL, cs_now_us(), &ps)) != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            status = CS_EXIT_FAIL;
        } else {
            CS_INFO("replay", "incident policy: %llu alerts seen, %llu suppressed, %llu incidents opened, "
                    "%llu alerts linked", (unsigned long long)ps.alerts_seen, (unsigned long long)ps.suppressed,
                    (unsigned long long)ps.incidents_opened, (unsigned long long)ps.alerts_linked);
        }
        cs_store_close(s);
    }
out:
    if (close_outputs(po.events_out, po.nevents_out, &events) != 0 ||
        close_outputs(po.alerts_out, po.nalerts_out, &alerts) != 0) {
        status = CS_EXIT_FAIL;
    }
    cs_engine_close(&eng);
    cs_config_free(cfg);
    (void)used_stdout;
    return status;
}
