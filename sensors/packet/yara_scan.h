/* yara_scan.h - YARA 4.2 payload scanning for the packet sensor.
 *
 * Three pieces (design note in yara_scan.c):
 *   - cs_yara_rules: the rule files compiled once, one namespace per file,
 *     then shared read-only by any number of threads;
 *   - cs_yara_scanner: one per thread (per replay), scans a memory buffer and
 *     reports the matching rules;
 *   - cs_yara_buf: the first N bytes of one direction of one flow, allocated
 *     at the first payload byte and freed as soon as it has been scanned.
 */
#ifndef CS_PACKET_YARA_SCAN_H
#define CS_PACKET_YARA_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "../../runtime/err.h"

#define CS_YARA_DEFAULT_MAX_BYTES 4096u
#define CS_YARA_DEFAULT_TIMEOUT_S 10
#define CS_YARA_MAX_TAGS 16     /* tags reported per match; more are dropped */

typedef struct cs_yara_rules cs_yara_rules;
typedef struct cs_yara_scanner cs_yara_scanner;

/* Compile every path (a .yar/.yara file, or a directory searched
 * recursively for them, in name order) into one rule set; each file gets
 * the namespace of its name without extension (a clash gets "_2", "_3"...).
 * A rule that does not compile gives CS_ERR_CONFIG "<file>:<line>: YARA
 * rule does not compile: <message>"; an unreadable path CS_ERR_IO; no rule
 * file at all CS_ERR_CONFIG. Safe to call from any thread (library
 * initialisation is serialised inside). */
cs_rc cs_yara_compile(const char *const *paths, size_t npaths, cs_yara_rules **out);
void cs_yara_rules_free(cs_yara_rules *r);
size_t cs_yara_rules_count(const cs_yara_rules *r);   /* rules compiled */
size_t cs_yara_rules_files(const cs_yara_rules *r);   /* files (= namespaces) */

typedef struct cs_yara_match {
    const char *rule;                     /* rule identifier */
    const char *ns;                       /* namespace */
    const char *tags[CS_YARA_MAX_TAGS];
    size_t ntags;
} cs_yara_match;

/* Called once per matching rule, after the scan; non-zero stops the others
 * and is returned by cs_yara_scan(). Strings live as long as the rules. */
typedef cs_rc (*cs_yara_match_fn)(const cs_yara_match *m, void *ud);

/* timeout_s: 0 = CS_YARA_DEFAULT_TIMEOUT_S, < 0 = none. */
cs_rc cs_yara_scanner_new(const cs_yara_rules *r, int timeout_s, cs_yara_scanner **out);
void cs_yara_scanner_free(cs_yara_scanner *s);

typedef enum cs_yara_outcome {
    CS_YARA_SCANNED = 0,
    CS_YARA_TIMEOUT,      /* gave up after the timeout: no match is reported */
} cs_yara_outcome;

/* Scan buf; fn (may be NULL) gets each matching rule. *outcome (may be
 * NULL) tells a complete scan from a timeout, which is not an error. */
cs_rc cs_yara_scan(cs_yara_scanner *s, const uint8_t *buf, size_t len, cs_yara_match_fn fn, void *ud,
                   cs_yara_outcome *outcome);

/* ---------------------------------------------------- payload buffers -- */

typedef struct cs_yara_buf {
    uint32_t len, cap;
    uint8_t data[];
} cs_yara_buf;

/* Append up to max - len bytes of data to *b, creating or growing it as
 * needed (capacity doubles, never beyond max). *grown_by gets the bytes
 * newly allocated (for accounting). Returns 1 when the buffer now holds max
 * bytes, 0 when not yet, -1 when out of memory (the buffer is kept). */
int cs_yara_buf_append(cs_yara_buf **b, const uint8_t *data, size_t n, size_t max, size_t *grown_by);
void cs_yara_buf_free(cs_yara_buf **b);

#endif
