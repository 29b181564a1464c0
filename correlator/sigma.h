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
 * Logsource routing. cs_ruleset_match() evaluates a rule only on events whose
 * citysoc.logsource.{product,category,service} are compatible with the rule's
 * logsource (compared case-insensitively; lowercased copies are made at load,
 * and an event's three strings are read once per cs_ruleset_match() call):
 * - a part the rule leaves out accepts anything (`product: linux` alone sees
 *   every Linux event, sshd, sudo, cron or auditd, like pySigma / RSigma);
 * - an event carrying NO logsource part at all has an unknown logsource and is
 *   matched against every rule (events built by hand, JSON without a
 *   mapping); except that the packet sensor's events (kinds flow, dns, http,
 *   tls, file, risk, yara, stats), which carry none and stand for network traffic, reach only
 *   rules naming no product and no service, and no category or one of
 *   network, firewall, dns, proxy, webserver (a service is one program's or
 *   product's own log, e.g. zeek rdp or linux sshd: SigmaHQ's zeek `not
 *   selection` rules would otherwise fire on every flow; a product names
 *   a host's own logs, e.g. linux process_creation). They also reach the
 *   bundled `product: citysoc` rules (below);
 * - an event carrying some part: each part the rule names must be present in
 *   the event and equal. So an event with a product but no service does NOT
 *   match a rule naming that product and a service (its program is unknown,
 *   e.g. a linux line from an unrecognised program has service = program
 *   name); an nginx access event (category webserver only) never reaches a
 *   `product: linux, service: sshd` rule.
 * - two exceptions: a rule with `service: syslog` (SigmaHQ's "any syslog
 *   file") accepts every event whose product is linux; and a rule with
 *   `product: citysoc` (our own rules, rules/sigma, written on the canonical
 *   ECS fields every normaliser and the packet sensor emit, e.g. url.original)
 *   is not routed at all: it sees every event, flow and access log alike.
 * cs_rule_match() tests the detection only (no routing); cs_rule_applies()
 * is the routing test alone.
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
    /* The rule's YAML document and the ruleset's mappings and placeholders,
     * hashed: equal across loads when nothing the rule compiles from changed
     * (rule reloads keep correlation state by it). */
    uint64_t fingerprint;
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
/* Sigma meta filters (documents with `filter:` instead of `detection:`,
 * sigma-filters-specification): each names rules by id or name in
 * filter.rules; such a rule then matches only when its detection is true and
 * the filter's condition is not (pySigma: `and not filter`). Filters load
 * like rules, before or after the rules they name; they are not matched on
 * their own and not counted by cs_ruleset_count(). */
size_t cs_ruleset_filter_count(const cs_ruleset *rs);
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

/* Field mappings (like a pySigma processing pipeline), from path: one YAML
 * file or a directory of .yml/.yaml files (sorted bytewise, not recursive,
 * names starting with '.' skipped), e.g. rules/mappings:
 *
 *   name: linux           # optional, with description
 *   mappings:
 *     - logsource: {product: linux, category: process_creation}
 *       fields:
 *         Image: process.executable     # Sigma name: event field
 *
 * Call it BEFORE loading the rules: names are resolved when a rule is
 * compiled. A rule field (and a fieldref target) uses the first mapping, in
 * load order, whose Sigma name is the field's (case-sensitive) and whose
 * logsource parts are each named by the rule with the same value (a part the
 * entry leaves out = any); a field without a mapping keeps its own name, so
 * events carrying SigmaHQ names match as they are. A file with an unknown
 * key, a non-string name or a name with '|' is refused whole with
 * CS_ERR_CONFIG and "file:line: ..." in cs_err_msg() (files loaded before it
 * stay); CS_ERR_IO when path cannot be read. */
cs_rc cs_ruleset_load_mappings(cs_ruleset *rs, const char *path);

/* Is this file name a rule file when walking a directory? .yml/.yaml, but
 * not X.tests.yml (the tests `citysoc rules test` runs for rule X). */
bool cs_rule_file_name(const char *name);
size_t cs_ruleset_mapping_count(const cs_ruleset *rs);   /* (logsource, Sigma name) entries loaded */

/* Does this one rule match ev? (the detection only: logsource not checked) */
bool cs_rule_match(const cs_rule *r, const cs_event *ev);

/* Is rule r meant for ev's logsource (the routing cs_ruleset_match() does)? */
bool cs_rule_applies(const cs_rule *r, const cs_event *ev);

typedef void (*cs_rule_match_cb)(const cs_rule *rule, const cs_event *ev, void *ud);

/* Calls cb (may be NULL) for every rule whose logsource is compatible with
 * ev's (see above) and whose detection matches ev, in load order; returns
 * the number of matches. Thread-safe for concurrent calls on the same
 * (immutable after load) ruleset. */
size_t cs_ruleset_match(const cs_ruleset *rs, const cs_event *ev, cs_rule_match_cb cb, void *ud);

/* Literal prefilter (sigma.c has the design): rules whose detection needs one
 * of a set of literals are evaluated only on events where one of them occurs
 * (ASCII case-insensitively) in some field's text; one Aho-Corasick scan per
 * event. It never changes results; it is on by default and is rebuilt by
 * the first match after a load (that call pays for it; loading n files one
 * by one costs one build). set_prefilter(rs, false) evaluates every rule
 * (tests, benchmarks); call it while no thread is matching. */
void cs_ruleset_set_prefilter(cs_ruleset *rs, bool on);
/* How many loaded rules have witnesses (are skipped when none occurs). */
size_t cs_ruleset_prefiltered(const cs_ruleset *rs);

#endif
