/* cmd_demo.c - `citysoc demo-data DIR`: the project's own demo capture and
 * logs (see demo/demo_gen.h). */
#include <stdlib.h>
#include <string.h>

#include "../demo/demo_gen.h"
#include "../runtime/timeutil.h"
#include "cli.h"

static const char usage[] =
    "usage: citysoc demo-data DIR [--start TIME]\n"
    "\n"
    "Write the demo capture and logs of the demo city into DIR: demo.pcap,\n"
    "auth.log, syslog, nginx-access.log. Ordinary traffic to the city systems,\n"
    "an SSH brute force, a port scan from outside and attacks on the\n"
    "public-service portal. TIME (ISO 8601, UTC) fixes the first packet; the\n"
    "default is one hour ago, so RFC 3164 log stamps fall in the current year.\n";

int cs_cmd_demo_data(int argc, char **argv)
{
    const char *dir = NULL;
    int64_t start = (cs_now_us() / 1000000 - 3600) * 1000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return CS_EXIT_OK;
        }
        if (strcmp(argv[i], "--start") == 0) {
            if (i + 1 >= argc || !cs_time_parse(argv[i + 1], strlen(argv[i + 1]), &start)) {
                cs_cli_error("--start needs an ISO 8601 time such as 2026-03-12T08:00:00Z");
                return CS_EXIT_USAGE;
            }
            i++;
        } else if (argv[i][0] == '-') {
            cs_cli_error("unknown option '%s'", argv[i]);
            fputs(usage, stderr);
            return CS_EXIT_USAGE;
        } else if (dir == NULL) {
            dir = argv[i];
        } else {
            cs_cli_error("unexpected argument '%s'", argv[i]);
            return CS_EXIT_USAGE;
        }
    }
    if (dir == NULL) {
        fputs(usage, stderr);
        return CS_EXIT_USAGE;
    }
    if (cs_demo_generate(dir, start) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        return CS_EXIT_FAIL;
    }
    printf("demo data written to %s\n", dir);
    return CS_EXIT_OK;
}
