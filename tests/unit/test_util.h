/* test_util.h - small helpers shared by the unit tests. */
#ifndef CS_TEST_UTIL_H
#define CS_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *test_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

/* Write text to a fresh temporary file; returns its path (static buffer per call site). */
static inline void test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

#define assert_contains(hay, needle)                                                              \
    do {                                                                                          \
        const char *h_ = (hay);                                                                   \
        if (strstr(h_, (needle)) == NULL) {                                                       \
            fail_msg("expected \"%s\" to contain \"%s\"", h_, (needle));                          \
        }                                                                                         \
    } while (0)

#endif
