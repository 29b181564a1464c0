/* relit.h - literals a regular expression cannot match without.
 *
 * The Sigma prefilter (sigma.c) skips a rule unless one of its "witness"
 * literals occurs in the event. For a `|re` value the witnesses come from
 * here: a set of alternatives such that every subject the PCRE2 pattern
 * matches contains at least one of them, compared ASCII case-insensitively.
 * Anything this parser does not understand yields no set (the rule is then
 * always evaluated), never a wrong one.
 */
#ifndef CS_RELIT_H
#define CS_RELIT_H

#include <stdbool.h>
#include <stddef.h>

#define CS_RELIT_MAX 16        /* more alternatives than this: no set */

typedef struct cs_relit {
    size_t off;                /* into the caller's buffer */
    size_t len;                /* >= 1 */
} cs_relit;

/* Fills out[0..n) and buf (the caller's, at least len bytes; the literal
 * bytes, escapes decoded) and returns n, 0 when no set can be proved.
 * caseless: the pattern is compiled with PCRE2_CASELESS (an inline (?i) is
 * detected here); under it, bytes whose case folding leaves ASCII (k, s and
 * every non-ASCII byte, folded by Unicode in UTF mode) end a literal. */
size_t cs_relit_extract(const char *pat, size_t len, bool caseless, unsigned char *buf, cs_relit *out);

#endif
