/* sigma.h - the Sigma single-event rule engine.
 *
 * Design note. A ruleset is loaded once (from files, directories or strings)
 * and is then immutable: every rule is compiled at load time into a small
 * tree whose leaves are pre-built matchers (field ids already interned,
 * patterns already lowercased and split at their wildcards, regexes already
 * compiled and JIT-ed, CIDR ranges already parsed). Matching an event walks
 * those trees and never hashes a string or allocates (a regex uses one
 * match-data block per thread, created on that thread's first regex match
 * and freed when the thread exits).
 *
 * What is supported: every rule attribute, maps, lists, keywords,
 * null/empty, wildcards with pySigma escapes, every Sigma v2.1 modifier
 * (contains, startswith, endswith, all, exists, cased, neq, windash, re with
 * i/m/s, base64, base64offset, utf16le/wide, utf16be, utf16, lt, lte, gt,
 * gte, cidr for IPv4 and IPv6, expand with values from
 * cs_ruleset_set_placeholder(), fieldref, minute/hour/day/week/month/year),
 * all compiled at load time, and the full condition grammar (and, or, not,
 * parentheses, 1|any|all of X|them). Unknown modifiers and `|` aggregations
 * are refused at load with a file:line sentence; the rules that loaded keep
 * working. Choices where the specification is silent (sigma.c has them
 * all): `a|neq: x` needs `a` present; numeric and time comparisons never
 * match a field that is not a number / a time or ISO 8601 string; fieldref
 * never matches when the other field is absent.
 *
 * Routing by logsource is NOT done here: cs_ruleset_match() evaluates every
 * rule against every event. A caller that routes by product/category/service
 * reads them from cs_rule_get_info().
 *
 * Ownership: the caller owns a ruleset from cs_ruleset_new() and frees it with
 * cs_ruleset_free(), which frees every rule in it. cs_rule pointers and every
 * string reachable from a cs_rule_info belong to the ruleset and live until
 * cs_ruleset_free(). Loading is not thread-safe (one loader, no matchers
 * running); matching is (many threads may match on one loaded ruleset).
 */
#ifndef CS_SIGMA_H
#define CS_SIGMA_H

#include <stdbool.h>
#include <stddef.h>

#include "../runtime/err.h"
#include "../runtime/event.h"

/* Limits against hostile rules (file size and nesting are the YAML loader's). */
#define CS_SIGMA_MAX_VALUES 4096     /* values in one detection item */
#define CS_SIGMA_MAX_COND_DEPTH 64   /* nesting of parentheses / not in a condition */
#define CS_SIGMA_MAX_IDENTS 1024     /* detection identifiers in one rule */
#define CS_SIGMA_MAX_DIR_DEPTH 32    /* directory recursion in cs_ruleset_load_path() */

typedef struct cs_ruleset cs_ruleset;
typedef struct cs_rule cs_rule;

typedef struct cs_rule_info {
    /* Never NULL: "" when absent. level is lowercased and one of
     * informational|low|medium|high|critical (or ""). */
    const char *id, *name, *title, *description, *author, *status, *level;
    const char *const *tags;    /* e.g. attack.t1110.001 */
    size_t ntags;
    const char *const *references;
    size_t nreferences;
    const char *product, *category, *service;   /* logsource, "" when absent */
    const char *path;                           /* file (or load_string name) */
    int line;                                   /* line of the rule document */
} cs_rule_info;

/* message names file:line and the reason; it is valid only during the call. */
typedef void (*cs_rule_error_cb)(const char *message, void *ud);

cs_rc cs_ruleset_new(cs_ruleset **out);
void cs_ruleset_free(cs_ruleset *rs);

/* path: a .yml/.yaml file or a directory walked recursively (entries sorted
 * bytewise; names starting with '.' skipped; only .yml/.yaml files read).
 * Each bad rule (or unreadable / non-YAML file inside a directory) is reported
 * through cb (may be NULL) and skipped; good ones are kept. Returns CS_OK if
 * all loaded, CS_ERR_RULE if any was refused (cs_err_msg() then holds the
 * first problem), CS_ERR_IO if the path itself (or a file under it) cannot be
 * read (CS_ERR_NOMEM if memory ran out). A path naming a file is read
 * whatever its extension. */
cs_rc cs_ruleset_load_path(cs_ruleset *rs, const char *path, cs_rule_error_cb cb, void *ud);

/* Same for YAML text in memory; name stands for the path in messages. */
cs_rc cs_ruleset_load_string(cs_ruleset *rs, const char *name, const char *yaml, size_t len,
                             cs_rule_error_cb cb, void *ud);

size_t cs_ruleset_count(const cs_ruleset *rs);
/* The i-th rule in load order (NULL when i >= count). */
const cs_rule *cs_ruleset_rule(const cs_ruleset *rs, size_t i);
const cs_rule_info *cs_rule_get_info(const cs_rule *r);

/* Values of the placeholder %name% for |expand (name: letters, digits, '_'),
 * copied; call before loading the rules that use it (setting a name again
 * replaces its values). A value becomes the OR of the placeholder's values
 * (several placeholders in one value: every combination); a rule using an
 * unknown placeholder is refused with file:line naming it. n == 0 makes a
 * value using it stand for nothing (the rule is refused). */
cs_rc cs_ruleset_set_placeholder(cs_ruleset *rs, const char *name, const char *const *values, size_t n);

/* Does this one rule match ev? */
bool cs_rule_match(const cs_rule *r, const cs_event *ev);

typedef void (*cs_rule_match_cb)(const cs_rule *rule, const cs_event *ev, void *ud);

/* Calls cb (may be NULL) for every rule matching ev, in load order; returns
 * the number of matches. Thread-safe for concurrent calls on the same
 * (immutable after load) ruleset. */
size_t cs_ruleset_match(const cs_ruleset *rs, const cs_event *ev, cs_rule_match_cb cb, void *ud);

#endif
