/* log.c - see log.h. One formatted buffer, one write(2): lines from several
 * threads never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = CS_LOG_WARN;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void cs_log_set_level(cs_log_level level)
{
    atomic_store(&g_level, (int)level);
}

cs_log_level cs_log_get_level(void)
{
    return (cs_log_level)atomic_load(&g_level);
}

int cs_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void cs_log(cs_log_level level, const char *component, const char *fmt, ...)
{
    char line[2048];
    struct tm tm;
    time_t now = time(NULL);
    size_t n;
    int w;
    va_list ap;

    if ((int)level > atomic_load(&g_level)) {
        return;
    }
    gmtime_r(&now, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ", &tm);
    w = snprintf(line + n, sizeof line - n, " citysoc[%s] %s: ", component ? component : "main",
                 level_names[level]);
    if (w > 0 && (size_t)w < sizeof line - n) {
        n += (size_t)w;
        va_start(ap, fmt);
        w = vsnprintf(line + n, sizeof line - n, fmt, ap);
        va_end(ap);
        if (w > 0) {
            n += (size_t)w < sizeof line - n ? (size_t)w : sizeof line - n - 1;
        }
    }
    if (n >= sizeof line - 1) {
        n = sizeof line - 2;
    }
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report a failed log write */
    }
}
