/* timeutil.h - time in citysoc is int64 microseconds since the epoch, UTC. */
#ifndef CS_TIMEUTIL_H
#define CS_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t cs_now_us(void);
int64_t cs_monotonic_us(void);
/* "2026-03-12T08:14:03.123456Z"; returns length (0 if bufsz < 28). */
size_t cs_time_format(int64_t us, char *buf, size_t bufsz);
/* ISO 8601 / RFC 3339: date, 'T' or ' ', time, optional fraction, Z or +hh:mm.
 * A bare date means midnight UTC. */
bool cs_time_parse(const char *s, size_t len, int64_t *us);
/* Days-from-civil: UTC seconds for a broken-down date, no libc time zone. */
int64_t cs_time_from_civil(int year, int mon, int day, int h, int m, int s);

#endif
