/* cmd_rules.c - `citysoc rules check PATH...`: validate rules. */
#include <string.h>

#include "../correlator/correlation.h"
#include "cli.h"

static const char usage[] =
    "usage: citysoc rules check PATH...\n"
    "\n"
    "Load every Sigma rule and correlation rule under each PATH (file or\n"
    "directory) and report each refused rule with file, line and reason.\n"
    "Exit 1 if any was refused.\n";

static void report(const char *msg, void *ud)
{
    size_t *bad = ud;
    (*bad)++;
    fprintf(stderr, "%s\n", msg);
}

int cs_cmd_rules(int argc, char **argv)
{
    cs_ruleset *rs = NULL;
    cs_corrset *cs = NULL;
    size_t bad = 0;
    int status = CS_EXIT_OK;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return CS_EXIT_OK;
    }
    if (argc < 3 || strcmp(argv[1], "check") != 0) {
        fputs(usage, stderr);
        return CS_EXIT_USAGE;
    }
    if (cs_ruleset_new(&rs) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        return CS_EXIT_FAIL;
    }
    for (int i = 2; i < argc; i++) {
        cs_rc rc = cs_ruleset_load_path(rs, argv[i], report, &bad);
        if (rc == CS_ERR_IO) {
            cs_cli_error("%s", cs_err_msg());
            status = CS_EXIT_FAIL;
        }
    }
    /* correlations refer to rules by id or name: load them once all rules are in */
    if (cs_corrset_new(rs, &cs) == CS_OK) {
        for (int i = 2; i < argc; i++) {
            cs_corrset_load_path(cs, argv[i], report, &bad);
        }
    }
    printf("%zu rules loaded, %zu correlation rules loaded, %zu refused\n", cs_ruleset_count(rs),
           cs ? cs_corrset_count(cs) : 0, bad);
    cs_corrset_free(cs);
    if (bad > 0) {
        status = CS_EXIT_FAIL;
    }
    cs_ruleset_free(rs);
    return status;
}
