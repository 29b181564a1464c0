/* correlation.h - Sigma correlation rules evaluated as a stream on event time.
 *
 * A correlation set sits on top of a loaded single-event ruleset (sigma.h).
 * The caller feeds it every base-rule match (rule, event); the set keeps, per
 * correlation, a hash table of groups and fires a callback when a group's
 * window satisfies the condition. A fired correlation is itself fed to the
 * correlations that reference it (chaining).
 *
 * Supported: types event_count, value_count, temporal, temporal_ordered,
 * value_sum, value_avg, value_percentile; `rules` by id or name (base rules
 * and other correlations, across documents and load calls: a reference must
 * name something already loaded or in the same load call); `group-by` with
 * several fields or none (one global group); `timespan` Ns|m|h|d|w (integer);
 * `condition` maps of gt gte lt lte eq neq AND-ed (ranges), plus `field` for
 * value_count/value_* and `percentile` (0..100; see below) for
 * value_percentile; `aliases` (alias -> {rule name or id: event field});
 * `generate` at the top level or under `correlation` (either true wins);
 * `level`, `tags`, `title`, `id`, `name`.
 * Refused at load with file:line (reported through cb, document skipped):
 * unknown type, missing/invalid timespan, unknown condition key, missing
 * condition for event_count/value_*, a missing/list `field`, unresolvable
 * rule references, reference cycles (every correlation on the cycle), and a
 * correlation referencing a refused one.
 * Not supported: `field` as a list, boolean temporal conditions (SEP #198,
 * the *_extended types), value_median, timespan units M/y, fractional
 * timespans.
 *
 * Semantics (after pySigma-backend-sqlite):
 *  - The window is [T - timespan, T], inclusive, per group, sliding
 *    (evaluated on every fed event), where T is the newest entry time of the
 *    group: the fed event's time for an in-order stream; for an event that
 *    arrives out of order (but not late) the window still ends at the group's
 *    newest entry, which is what a batch evaluation of that newest row sees.
 *  - Group key = the group-by values (rendered as text, ASCII-lowercased)
 *    joined with 0x1f. An event missing any group-by field (after aliases) is
 *    excluded. Distinct values for value_count are compared lowercased too.
 *  - event_count: entries in the window. value_count: distinct values of
 *    `field`. temporal: number of distinct referenced rules seen (default
 *    condition: all of them). temporal_ordered: length of the longest prefix
 *    of `rules` seen with strictly increasing timestamps (ties do not order;
 *    default condition: all). value_sum/avg: over numeric `field` values
 *    (ints, floats, numeric strings; events whose value is missing or not
 *    numeric are excluded). value_percentile, as the specification's example
 *    reads ("a process name rarer than 1% of all the processes": field:
 *    image, lte: 1): the share, in percent, of the group's events in the
 *    window whose `field` value (as text, lowercased) equals the current
 *    event's; with `percentile: P` (0..100, our extension) instead the P-th
 *    percentile of the numeric `field` values, by linear interpolation.
 *  - An event fed twice in a row for the same correlation (same event pointer
 *    and time: it matched two referenced rules) counts once for the non
 *    temporal types.
 *  - Late events: an event older than (newest event time seen by that
 *    correlation - timespan) is counted in stats.late and dropped.
 *  - After firing, the group's window is cleared, so one burst fires once;
 *    the next firing needs a fresh set of entries satisfying the condition.
 *  - count_or_value passed to the fire callback is the count, or the value
 *    (sum/avg/percentile) truncated toward zero.
 *
 * State and limits: each group holds a ring of entries (16 B: time + value,
 * value hash or rule index) that grows by doubling up to max_entries
 * (default CS_CORR_MAX_ENTRIES, rounded up to a power of two; when full the oldest entry is dropped and
 * counted in stats.overflow). Groups whose newest entry leaves the window are
 * freed as time advances. At most max_groups groups live per correlation
 * (default CS_CORR_MAX_GROUPS); a new group beyond that evicts the least
 * recently updated one (stats.evicted). A live group costs
 * cs_corrset_group_bytes() bytes (one allocation: struct, first ring slot
 * and key; 80 B for an IPv4 key on 64-bit, 96 B with malloc's rounding),
 * then 16 B per ring slot once it grows past one (to 4, 8, ...), plus its
 * hash table slot. bench/sigma measures it on the heap.
 *
 * Ownership and threading: the caller owns the set (cs_corrset_free); it
 * borrows `base`, which must outlive it. Strings in a cs_corr_info belong to
 * the set. The event and group key given to the callback are valid only
 * during the call. Nothing here is thread-safe: load, then feed from one
 * thread (or serialise calls). The callback must not call back into the set.
 */
#ifndef CS_CORRELATION_H
#define CS_CORRELATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/err.h"
#include "../runtime/event.h"
#include "sigma.h"

#define CS_CORR_MAX_GROUPS 100000u   /* live groups per correlation */
#define CS_CORR_MAX_ENTRIES 65536u   /* ring entries per group */
#define CS_CORR_MAX_CHAIN 32         /* chaining depth guard (cycles are refused anyway) */

typedef struct cs_corrset cs_corrset;

/* base: borrowed, must outlive the set; may be NULL (only correlations then). */
cs_rc cs_corrset_new(const cs_ruleset *base, cs_corrset **out);
void cs_corrset_free(cs_corrset *cs);

/* Limits for groups created from now on (0 keeps the current value). */
void cs_corrset_set_limits(cs_corrset *cs, size_t max_groups, size_t max_entries);

/* Load correlation documents (multi-document YAML; documents without
 * `correlation:` are ignored). path: a file, or a directory walked
 * recursively (.yml/.yaml, sorted, dot-names skipped). Bad documents are
 * reported through cb (may be NULL) with file:line and skipped. Returns CS_OK,
 * CS_ERR_RULE if any document was refused (cs_err_msg() = the first problem),
 * CS_ERR_IO / CS_ERR_PARSE / CS_ERR_NOMEM. */
cs_rc cs_corrset_load_path(cs_corrset *cs, const char *path, cs_rule_error_cb cb, void *ud);
cs_rc cs_corrset_load_string(cs_corrset *cs, const char *name, const char *yaml, size_t len,
                             cs_rule_error_cb cb, void *ud);

size_t cs_corrset_count(const cs_corrset *cs);

typedef struct cs_corr_info {
    /* Never NULL: "" when absent. */
    const char *id, *name, *title, *level, *type;
    const char *const *tags;
    size_t ntags;
    const char *path;
    int line;
    bool generate;    /* generate: true (either placement) */
    bool suppressed;  /* referenced by another correlation, none of which says generate */
} cs_corr_info;

const cs_corr_info *cs_corrset_info(const cs_corrset *cs, size_t i);

typedef void (*cs_corr_fire_cb)(const cs_corr_info *corr, const cs_event *last_event, const char *group_key,
                                int64_t count_or_value, void *ud);

/* Feed one base-rule match (rule = the matching cs_rule, ev = the event, time
 * = ev->ts_us). May fire correlations (and chained ones) through cb (may be
 * NULL). Every firing is reported, inner chain links included (see
 * cs_corr_info.suppressed). */
void cs_corrset_feed(cs_corrset *cs, const cs_rule *rule, const cs_event *ev, cs_corr_fire_cb cb, void *ud);

/* Rule reload: move the live groups of every correlation of src that is
 * unchanged in dst (same id and name, same document, and everything it
 * references unchanged: base rules by cs_rule_info.fingerprint) into dst;
 * a changed, new or removed correlation starts from nothing. Returns the
 * correlations kept (and the groups moved in *groups, may be NULL). src
 * keeps its rules and loses that state; both sets stay valid. Called by the
 * thread that feeds both (or while neither is fed). */
size_t cs_corrset_adopt(cs_corrset *dst, cs_corrset *src, size_t *groups);

/* true if the base rule is referenced by some correlation and none of them
 * says generate: true (the caller then does not alert on the rule alone). */
bool cs_corrset_suppresses(const cs_corrset *cs, const cs_rule *rule);

typedef struct cs_corr_stats {
    uint64_t groups;    /* live groups, all correlations */
    uint64_t evicted;   /* groups evicted by the max_groups cap */
    uint64_t fired;
    uint64_t late;      /* events dropped as older than newest - timespan */
    uint64_t overflow;  /* ring entries dropped by the max_entries cap */
    uint64_t expired;   /* groups freed because their window emptied */
} cs_corr_stats;

void cs_corrset_stats(const cs_corrset *cs, cs_corr_stats *st);

/* Bytes of one live group excluding ring slots, for a key of keylen bytes. */
size_t cs_corrset_group_bytes(size_t keylen);

#endif
