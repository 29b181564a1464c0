/* cmd_notify.c - `citysoc notify test -c CONFIG`: send one test
 * notification through every channel of the configuration's `notify:`
 * section (webhook, syslog, SMTP) and say, per channel, whether it arrived.
 * Admins run it after changing the section, before an incident needs it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../correlator/notify.h"
#include "../runtime/config.h"
#include "cli.h"

static const char usage[] =
    "usage: citysoc notify test -c CONFIG [--timeout S]\n"
    "\n"
    "Send a test notification through every channel configured under\n"
    "`notify:` (webhook, syslog, smtp) and report each channel's outcome.\n"
    "Exit status 0 when every configured channel delivered it, 1 otherwise.\n";

int cs_cmd_notify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    long timeout_s = 60;
    cs_config *cfg = NULL;
    cs_notify_conf nc;
    cs_notifier *n = NULL;
    cs_notify_stats st;
    cs_notification note;
    int status = CS_EXIT_OK, enabled = 0, c;
    cs_rc rc;

    if (argc < 2 || strcmp(argv[1], "test") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            fputs(usage, stdout);
            return CS_EXIT_OK;
        }
        fputs(usage, stderr);
        return CS_EXIT_USAGE;
    }
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 't':
            if (!cs_cli_parse_long("--timeout", optarg, 1, 3600, &timeout_s)) {
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
        cs_cli_error(config == NULL ? "notify test needs a configuration: -c FILE" : "unexpected argument '%s'",
                     optind < argc ? argv[optind] : "");
        fputs(usage, stderr);
        return CS_EXIT_USAGE;
    }
    if ((rc = cs_config_load(config, &cfg)) != CS_OK || (rc = cs_notify_conf_load(cfg, &nc)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        cs_config_free(cfg);
        return CS_EXIT_FAIL;
    }
    if (cfg->notify == NULL) {
        cs_cli_error("%s: no notify: section, nothing to test", config);
        cs_config_free(cfg);
        return CS_EXIT_FAIL;
    }
    if ((rc = cs_notify_new(&nc.opts, &n)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    memset(&note, 0, sizeof note);
    note.kind = CS_NOTIFY_TEST;
    note.incident_id = "TEST";
    note.title = "Thử nghiệm thông báo / notification test";
    note.severity = "low";
    note.state = "new";
    note.url = nc.console_url;
    note.text = "citysoc notify test: if you read this, the channel works.";
    if ((rc = cs_notify_send(n, &note)) != CS_OK || (rc = cs_notify_close(n, (int)timeout_s * 1000)) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
    }
    cs_notify_get_stats(n, &st);
    for (int ch = 0; ch < CS_NOTIFY_CH__COUNT; ch++) {
        if (!st.ch[ch].enabled) {
            continue;
        }
        enabled++;
        if (st.ch[ch].sent == 1) {
            printf("%-8s delivered (%llu attempt%s)\n", cs_notify_channel_str((cs_notify_channel)ch),
                   (unsigned long long)st.ch[ch].attempts, st.ch[ch].attempts == 1 ? "" : "s");
        } else {
            printf("%-8s FAILED: %s\n", cs_notify_channel_str((cs_notify_channel)ch),
                   st.ch[ch].last_error[0] ? st.ch[ch].last_error : "not delivered");
            status = CS_EXIT_FAIL;
        }
    }
    if (enabled == 0) {
        cs_cli_error("%s: the notify: section configures no channel (webhook, syslog or smtp)", config);
        status = CS_EXIT_FAIL;
    }
out:
    cs_notify_free(n);
    cs_notify_conf_free(&nc);
    cs_config_free(cfg);
    return status;
}
