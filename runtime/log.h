/* log.h - process logging to stderr, with a level and a component name.
 *
 * Lines look like `2026-03-12T08:00:00Z citysoc[component] error: sentence`.
 * Safe from any thread (one write(2) per line). Repeats are not suppressed
 * here; callers that can loop on an error count instead of logging each one.
 */
#ifndef CS_LOG_H
#define CS_LOG_H

typedef enum cs_log_level {
    CS_LOG_ERROR = 0,
    CS_LOG_WARN,
    CS_LOG_INFO,
    CS_LOG_DEBUG
} cs_log_level;

void cs_log_set_level(cs_log_level level);
cs_log_level cs_log_get_level(void);
/* Parse "error|warn|info|debug"; returns -1 when unknown. */
int cs_log_level_parse(const char *name);

void cs_log(cs_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CS_ERROR(comp, ...) cs_log(CS_LOG_ERROR, (comp), __VA_ARGS__)
#define CS_WARN(comp, ...) cs_log(CS_LOG_WARN, (comp), __VA_ARGS__)
#define CS_INFO(comp, ...)                                                                         \
    do {                                                                                           \
        if (cs_log_get_level() >= CS_LOG_INFO) {                                                   \
            cs_log(CS_LOG_INFO, (comp), __VA_ARGS__);                                              \
        }                                                                                          \
    } while (0)
#define CS_DEBUG(comp, ...)                                                                        \
    do {                                                                                           \
        if (cs_log_get_level() >= CS_LOG_DEBUG) {                                                  \
            cs_log(CS_LOG_DEBUG, (comp), __VA_ARGS__);                                             \
        }                                                                                          \
    } while (0)

#endif
