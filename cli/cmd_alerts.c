/* cmd_alerts.c - `citysoc alerts`: the alert queue from a terminal. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/timeutil.h"
#include "../store/store.h"
#include "cli.h"

static const char usage[] =
    "usage: citysoc alerts [--db FILE] [-c CONFIG] [--limit N] [--json]\n"
    "\n"
    "List stored alerts, newest first.\n"
    "  --db FILE      the SQLite store (default: store.path of -c, else citysoc.db)\n"
    "  -c FILE        take the store path from a configuration\n"
    "  --limit N      at most N alerts (default 50, 0 = all)\n"
    "  --json         one JSON document per line instead of a table\n";

static void print_row(const cs_alert_row *r, void *ud)
{
    bool json = *(bool *)ud;
    char t[40];
    if (json) {
        printf("%s\n", r->doc);
        return;
    }
    cs_time_format(r->last_seen, t, sizeof t);
    t[19] = '\0';
    printf("%-16s %-19s %-8s %5.2f %6lld %-10s %-15s %-15s %s\n", r->id, t, r->level, r->risk, (long long)r->count,
           r->system_id[0] ? r->system_id : "-", r->source_ip[0] ? r->source_ip : "-",
           r->destination_ip[0] ? r->destination_ip : (r->host_name[0] ? r->host_name : "-"), r->title);
}

int cs_cmd_alerts(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},    {"config", required_argument, NULL, 'c'},
        {"limit", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    const char *config = NULL;
    cs_config *cfg = NULL;
    cs_store *s = NULL;
    long limit = 50;
    bool json = false;
    int c;
    int status = CS_EXIT_OK;
    cs_rc rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'l':
            if (!cs_cli_parse_long("--limit", optarg, 0, 1000000000L, &limit)) {
                return CS_EXIT_USAGE;
            }
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return CS_EXIT_OK;
        default:
            fputs(usage, stderr);
            return CS_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cs_cli_error("unexpected argument '%s'", argv[optind]);
        return CS_EXIT_USAGE;
    }
    if (db == NULL && config != NULL) {
        if ((rc = cs_config_load(config, &cfg)) != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            return CS_EXIT_FAIL;
        }
        db = cfg->store_path;
    }
    if (db == NULL) {
        db = "citysoc.db";
    }
    if ((rc = cs_store_open(db, true, &s)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    if (!json) {
        printf("%-16s %-19s %-8s %5s %6s %-10s %-15s %-15s %s\n", "ID", "LAST SEEN (UTC)", "LEVEL", "RISK", "COUNT",
               "SYSTEM", "SOURCE", "TARGET", "TITLE");
    }
    if ((rc = cs_store_foreach_alert(s, (size_t)limit, print_row, &json)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
    }
out:
    cs_store_close(s);
    cs_config_free(cfg);
    return status;
}
