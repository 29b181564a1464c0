/* syslog.h - syslog lines (RFC 3164 and RFC 5424) to log events, and the
 * bounded line reader that feeds them from files.
 *
 * Every event keeps the raw line in event.original (keyword rules need it),
 * plus message, host.name, process.name, process.pid and the priority when
 * present. A line that is not syslog is still an event (message = the line),
 * never dropped.
 *
 * Time policy for RFC 3164, which has no year and no zone: the zone is
 * tz_offset_s (default UTC); the year is the one that puts the stamp no more
 * than 31 days after reference_us (the file's modification time when reading
 * a file), so December lines read in January land in the previous year.
 *
 * Ownership: cs_syslog_parse() returns a new event the caller owns.
 */
#ifndef CS_SYSLOG_H
#define CS_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "../../runtime/err.h"
#include "../../runtime/event.h"

#define CS_LOG_LINE_MAX (1024u * 1024u)   /* longer lines are cut here and tagged */

typedef struct cs_syslog_opts {
    int64_t reference_us;   /* 0 = now */
    int tz_offset_s;        /* zone of RFC 3164 stamps, seconds east of UTC */
} cs_syslog_opts;

cs_rc cs_syslog_parse(const char *line, size_t len, const cs_syslog_opts *opts, cs_event **out);

typedef struct cs_logfile_stats {
    uint64_t lines, bytes, unparsed, truncated;
} cs_logfile_stats;

/* Read a log file line by line (any line ending; a final line without a
 * newline counts), parse each and hand it to sink. format: "syslog".
 * CS_ERR_IO names the file when it cannot be opened or read. */
cs_rc cs_logfile_replay(const char *path, const char *format, const cs_syslog_opts *opts, cs_event_sink sink,
                        void *ud, cs_logfile_stats *stats);

#endif
