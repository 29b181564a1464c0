/* timeutil.c - UTC time without the libc time-zone machinery (which is slow
 * and process-global). Civil-date arithmetic after Howard Hinnant's algorithm. */
#include "timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t cs_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t cs_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t cs_time_from_civil(int year, int mon, int day, int h, int m, int s)
{
    int64_t y = year - (mon <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (mon + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + h * 3600 + m * 60 + s;
}

static void civil_from_days(int64_t z, int *year, int *mon, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(y + (m <= 2));
    *mon = (int)m;
    *day = (int)d;
}

static char *put_digits(char *o, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

/* Hand-written digits: this runs for every event written as JSON. */
size_t cs_time_format(int64_t us, char *buf, size_t bufsz)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int y, mo, d;
    char *o = buf;
    civil_from_days(days, &y, &mo, &d);
    if (bufsz < 28 || y < 0 || y > 9999) {
        if (bufsz > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    o = put_digits(o, y, 4);
    *o++ = '-';
    o = put_digits(o, mo, 2);
    *o++ = '-';
    o = put_digits(o, d, 2);
    *o++ = 'T';
    o = put_digits(o, rem / 3600, 2);
    *o++ = ':';
    o = put_digits(o, rem / 60 % 60, 2);
    *o++ = ':';
    o = put_digits(o, rem % 60, 2);
    *o++ = '.';
    o = put_digits(o, frac, 6);
    *o++ = 'Z';
    *o = '\0';
    return (size_t)(o - buf);
}

static bool digits(const char *s, size_t len, size_t at, int n, int *out)
{
    int v = 0;
    if (at + (size_t)n > len) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        char c = s[at + (size_t)i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
}

bool cs_time_parse(const char *s, size_t len, int64_t *us)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    int64_t frac = 0;
    int64_t off = 0;
    size_t p = 10;

    if (!digits(s, len, 0, 4, &y) || len < 10 || s[4] != '-' || !digits(s, len, 5, 2, &mo) ||
        s[7] != '-' || !digits(s, len, 8, 2, &d)) {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31) {
        return false;
    }
    if (p < len && (s[p] == 'T' || s[p] == 't' || s[p] == ' ')) {
        if (!digits(s, len, p + 1, 2, &h) || p + 3 >= len || s[p + 3] != ':' ||
            !digits(s, len, p + 4, 2, &mi)) {
            return false;
        }
        p += 6;
        if (p < len && s[p] == ':') {
            if (!digits(s, len, p + 1, 2, &se)) {
                return false;
            }
            p += 3;
        }
        if (h > 23 || mi > 59 || se > 60) {
            return false;
        }
        if (p < len && (s[p] == '.' || s[p] == ',')) {
            int64_t scale = 100000;
            p++;
            if (p >= len || s[p] < '0' || s[p] > '9') {
                return false;
            }
            while (p < len && s[p] >= '0' && s[p] <= '9') {
                frac += (s[p] - '0') * scale;
                scale /= 10;
                p++;
            }
        }
        if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
            p++;
        } else if (p < len && (s[p] == '+' || s[p] == '-')) {
            int oh, om;
            int sign = s[p] == '-' ? -1 : 1;
            if (!digits(s, len, p + 1, 2, &oh)) {
                return false;
            }
            p += 3;
            if (p < len && s[p] == ':') {
                p++;
            }
            if (!digits(s, len, p, 2, &om)) {
                return false;
            }
            p += 2;
            off = sign * (oh * 3600 + om * 60);
        }
    }
    if (p != len) {
        return false;
    }
    *us = (cs_time_from_civil(y, mo, d, h, mi, se) - off) * 1000000 + frac;
    return true;
}
