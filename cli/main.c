/* main.c - the citysoc binary: subcommands in the style of git. */
#include <stdio.h>
#include <string.h>

#include "../runtime/log.h"
#include "cli.h"

static const char help[] =
    "citysoc " CS_VERSION " - security operations center for a city\n"
    "\n"
    "usage: citysoc <command> [options]   (citysoc <command> --help for details)\n"
    "\n"
    "commands:\n"
    "  run -c FILE            the whole center: inputs, detection, store, API and console\n"
    "  replay --pcap F --log F [--rules DIR] [--events OUT] [--alerts OUT] [--db FILE]\n"
    "                         offline analysis of captures and logs\n"
    "  demo-data DIR          write the project's own demo capture and logs\n"
    "  alerts [list|show|ack|assign|close|reopen|suppress|suppressions|unsuppress]\n"
    "                         the alert queue and its triage\n"
    "  incidents list|show|open|assign|transition|comment|link|observable|merge|board|sla\n"
    "                         incident tickets\n"
    "  systems list|show ... the city's information systems (inventory)\n"
    "  notify test -c CONFIG  send a test notification through every configured channel\n"
    "  rules check PATH...    validate Sigma rules\n"
    "  rules test PATH...     run the tests beside each rule (X.tests.yml)\n"
    "  plugin info SO         check a plugin and show its configuration keys\n"
    "  help                   this text\n"
    "\n"
    "options for every command: -c FILE names the configuration, --db FILE the store.\n"
    "exit status: 0 success, 1 failure (explained on stderr), 2 usage error.\n";

int main(int argc, char **argv)
{
    const char *cmd;
    if (argc < 2) {
        fputs(help, stderr);
        return CS_EXIT_USAGE;
    }
    cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("citysoc %s\n", CS_VERSION);
        return CS_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(help, stdout);
        return CS_EXIT_OK;
    }
    cs_log_set_level(CS_LOG_WARN);
    if (strcmp(cmd, "replay") == 0) {
        return cs_cmd_replay(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "run") == 0) {
        return cs_cmd_run(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "alerts") == 0) {
        return cs_cmd_alerts(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "incidents") == 0) {
        return cs_cmd_incidents(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "systems") == 0) {
        return cs_cmd_systems(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "notify") == 0) {
        return cs_cmd_notify(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "rules") == 0) {
        return cs_cmd_rules(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "demo-data") == 0) {
        return cs_cmd_demo_data(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "plugin") == 0) {
        return cs_cmd_plugin(argc - 1, argv + 1);
    }
    fprintf(stderr, "citysoc: unknown command '%s'\n\n", cmd);
    fputs(help, stderr);
    return CS_EXIT_USAGE;
}
