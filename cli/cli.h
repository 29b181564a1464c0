/* cli.h - the subcommands of the citysoc binary and what they share.
 *
 * Exit codes everywhere: 0 success, 1 a failure or finding that was
 * explained on stderr, 2 a usage error.
 */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../correlator/inventory.h"
#include "../correlator/pipeline.h"
#include "../correlator/sigma.h"
#include "../runtime/config.h"

#define CS_EXIT_OK 0
#define CS_EXIT_FAIL 1
#define CS_EXIT_USAGE 2

int cs_cmd_replay(int argc, char **argv);
int cs_cmd_run(int argc, char **argv);
int cs_cmd_alerts(int argc, char **argv);
int cs_cmd_incidents(int argc, char **argv);
int cs_cmd_systems(int argc, char **argv);
int cs_cmd_notify(int argc, char **argv);
int cs_cmd_rules(int argc, char **argv);
int cs_cmd_demo_data(int argc, char **argv);
int cs_cmd_plugin(int argc, char **argv);

/* Print "citysoc: <sentence>" to stderr. */
void cs_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Everything a run or a replay needs besides its inputs. */
typedef struct cs_engine {
    cs_ruleset *rules;
    cs_corrset *correlations;
    cs_inventory *inventory;
    cs_geoip *geoip;
    cs_pipeline *pipeline;
} cs_engine;

/* Load rules (each path a file or directory; bad rules reported and
 * skipped), the inventory (NULL path: empty), create the pipeline and load
 * plugins: from the config (may be NULL) and from extra plugin paths. */
cs_rc cs_engine_open(cs_engine *e, const cs_config *cfg, char **rule_paths, size_t nrules, const char *inventory,
                     char **plugin_paths, size_t nplugins, const cs_pipeline_opts *opts);
void cs_engine_close(cs_engine *e);

/* Give an empty ruleset the placeholders and field mappings of cfg (may be
 * NULL), as rules must see them when they load. */
cs_rc cs_rules_prepare(cs_ruleset *rs, const cs_config *cfg);
/* A fresh ruleset and its correlations from cfg (placeholders and field
 * mappings; cfg may be NULL) and rule paths; bad rules are reported on
 * stderr and skipped (their count in *bad, may be NULL). The caller owns
 * both. Fails only when a path cannot be read or memory runs out. */
cs_rc cs_rules_build(const cs_config *cfg, char **rule_paths, size_t nrules, cs_ruleset **rs, cs_corrset **cs,
                     size_t *bad);
/* SIGHUP: rebuild the rules from cfg and swap them into the running
 * pipeline (cs_pipeline_swap_rules), keeping the state of unchanged
 * correlations. On error the running rules stay. */
cs_rc cs_engine_reload(cs_engine *e, const cs_config *cfg);

/* Feed captures and logs into a sink, in order. Each input that fails is
 * reported; the others still run. Returns the number of failed inputs. */
typedef struct cs_input_stats {
    unsigned long long packets, flows, lines;
} cs_input_stats;
typedef struct cs_feed {
    char **pcaps;
    size_t npcaps;
    char **logs;             /* "-" = standard input */
    const char **formats;    /* one per log */
    const char **hosts;      /* one per log, may be NULL entries */
    size_t nlogs;
    size_t max_line;
    int tz_offset_s;
    const struct cs_packet_opts *packet_opts;   /* NULL: defaults */
} cs_feed;
size_t cs_feed_inputs(const cs_feed *f, cs_event_sink sink, void *ud, cs_input_stats *st);

/* Parse a whole number option in [min, max]; prints the usage error itself. */
bool cs_cli_parse_long(const char *opt, const char *arg, long min, long max, long *out);

/* Directory of the running binary (for plugins/ next to it). Caller frees. */
char *cs_self_dir(void);

#endif
