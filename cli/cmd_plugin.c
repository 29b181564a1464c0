/* cmd_plugin.c - `citysoc plugin info SO`: check a plugin's ABI and print
 * the help generated from its declared configuration keys. */
#include <string.h>

#include "../runtime/plugin_host.h"
#include "cli.h"

int cs_cmd_plugin(int argc, char **argv)
{
    cs_buf b;
    int status = CS_EXIT_OK;
    if (argc != 3 || strcmp(argv[1], "info") != 0) {
        fputs("usage: citysoc plugin info PLUGIN.so\n", argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? CS_EXIT_OK : CS_EXIT_USAGE;
    }
    cs_buf_init(&b);
    if (cs_plugin_describe(argv[2], &b) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
    } else {
        fputs(b.data ? b.data : "", stdout);
    }
    cs_buf_free(&b);
    return status;
}
