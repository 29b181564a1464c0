/* tail.h - file tail and stdin inputs: raw lines to a cs_line_sink (input.h).
 *
 * Design note
 * -----------
 * cs_tail follows every regular file matched by a list of paths or glob(3)
 * patterns, on its own thread, by polling (fstat + pread every poll_ms, glob
 * re-expanded every rescan_ms). A file is identified by (st_dev, st_ino), not
 * by its name, and has one committed offset: the end of the last line the
 * sink accepted. That offset is what the state file persists, so after
 * stop + start with the same state file no line is skipped or repeated.
 *
 * Framing (shared with cs_fd_read_lines): a line ends at '\n'; the '\n' and
 * one '\r' just before it are not part of the delivered line. Lines longer
 * than max_line are cut to their first max_line bytes (meta.truncated, stats
 * truncated) and the rest up to the newline is skipped; the next line arrives
 * intact. Bytes are passed as they are (NUL and invalid UTF-8 included: the
 * length, not a terminator, delimits the line). Empty lines are delivered.
 *
 * Partial last line: bytes after the last newline of a file are held and not
 * delivered until their newline arrives, EXCEPT when the file is finished
 * (rotated away and quiet for rotate_wait_ms, truncated under us, or the
 * input stops): then they are delivered as one line so nothing is lost. If
 * the writer later completes that line, the continuation arrives as its own
 * line (nothing lost, nothing repeated, but split in two).
 *
 * Rotation:
 *  - rename (logrotate's default): the old inode stays open and is read to
 *    its end, including lines a daemon writes to it after the rename; once it
 *    is no longer reachable through the patterns and has not grown for
 *    rotate_wait_ms it is closed. The new file at the path is read from its
 *    start. If the old file was renamed to a name the patterns still match
 *    (auth.log -> auth.log.1 with "auth.log*") it simply keeps being followed
 *    under its new name (meta.source is the latest matching name). Each
 *    pass reads files in discovery order (old before new), so while a lagging
 *    daemon still writes to both, their lines may interleave; each file's own
 *    lines keep their order.
 *  - copytruncate / truncation: a size smaller than what was read counts a
 *    truncation and reading restarts at offset 0. (A file truncated and
 *    regrown past the old size between two polls cannot be told apart.)
 *  - while stopped: offsets are keyed by inode (the path is kept too). An
 *    inode found again under any matching name resumes at its saved offset;
 *    a file at a saved path with another inode is read from its start. Lines
 *    of an old inode that is no longer matched by any pattern are not read.
 *
 * Where a file seen for the first time starts:
 *  - files matched when cs_tail_start runs, with no usable saved state (no
 *    state_path, no state file yet, or a corrupt one): at the start when
 *    from_start, else after the last complete line (like tail -f);
 *  - every other new file (appearing later, or new since the run that wrote
 *    the state file): at its start, so that nothing written while we were not
 *    looking is lost.
 * Files matched when cs_tail_start returns are already positioned: every
 * line appended after that is delivered.
 *
 * Back-pressure: a sink answering CS_ERR_FULL is retried with the same line
 * (back-off up to poll_ms); file inputs never drop. Any other non-OK answer
 * stops the input: that line is not committed (it is read again on the next
 * start) and cs_tail_stop returns the code.
 *
 * State file: text, written atomically (temp file + fsync + rename) once by
 * cs_tail_start (an unwritable state path fails the start), then at least
 * every second while offsets change, and at stop:
 *     citysoc-tail-state 1
 *     <dev> <ino> <offset> <path>        (path with '\\' and '\n' escaped)
 * A corrupt state file is reported (path:line: reason), counted in
 * state_errors and ignored: the input starts fresh. The state file and its
 * temporaries are never followed even if a pattern matches them. Use one
 * state file per cs_tail. Offsets are keyed by inode: an inode number reused
 * by a new file while we were stopped resumes at the old offset (or at 0 when
 * the new file is shorter), as in other inode-based tailers.
 *
 * Resources: one open fd and one max_line + 1 buffer per followed file (a
 * rotated-away file until it is finished); patterns should not match
 * compressed archives (auth.log.2.gz would be read as a new file).
 *
 * Threads and ownership: cs_tail_start copies the options (patterns and
 * state_path included); the caller's strings may be freed after it returns.
 * The sink runs on the tail's thread only, never on the caller's; the line
 * and meta (meta.source included) are borrowed for the call. cs_tail_stats_get
 * may be called from any thread. cs_tail_stop must be called exactly once,
 * from one thread; it frees the cs_tail and, on failure, sets the thread's
 * error sentence (cs_err_msg) on the calling thread.
 */
#ifndef CS_LOG_TAIL_H
#define CS_LOG_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../runtime/err.h"
#include "input.h"

#define CS_TAIL_POLL_MS_DEFAULT 250
#define CS_TAIL_RESCAN_MS_DEFAULT 2000
#define CS_TAIL_ROTATE_WAIT_MS_DEFAULT 5000
#define CS_TAIL_DRAIN_MS_DEFAULT 2000
#define CS_TAIL_LINE_MAX_LIMIT (256u * 1024u * 1024u)   /* largest accepted max_line */

typedef struct cs_tail_opts {
    const char *const *patterns;  /* paths or glob(3) patterns, re-expanded every rescan */
    size_t npatterns;
    const char *state_path;       /* where offsets persist; NULL = no persistence */
    size_t max_line;              /* 0 = CS_LINE_MAX_DEFAULT; longer lines are cut */
    int poll_ms;                  /* 0 = CS_TAIL_POLL_MS_DEFAULT */
    int rescan_ms;                /* 0 = CS_TAIL_RESCAN_MS_DEFAULT */
    int rotate_wait_ms;           /* a rotated-away file is closed after this long without growth;
                                     0 = CS_TAIL_ROTATE_WAIT_MS_DEFAULT */
    int drain_ms;                 /* at stop, how long a sink answering CS_ERR_FULL is retried
                                     before giving up (undelivered lines stay after the saved
                                     offset and are read on the next start); 0 = default */
    bool from_start;              /* see "Where a file seen for the first time starts" */
    /* Acknowledged offsets (optional, both or neither): ack_ticket returns
     * how many events the sink has accepted so far from every producer,
     * ack_durable how many of them are durable (processed, their alerts
     * committed); both non-decreasing, called from the tail's thread. The
     * persisted offset of a file then only covers lines known durable. */
    uint64_t (*ack_ticket)(void *ud);
    uint64_t (*ack_durable)(void *ud);
    void *ack_ud;
} cs_tail_opts;

typedef struct cs_tail_stats {
    uint64_t lines;          /* lines accepted by the sink */
    uint64_t bytes;          /* bytes read from files */
    uint64_t truncated;      /* lines cut at max_line */
    uint64_t rotations;      /* followed files renamed or removed (path no longer theirs) */
    uint64_t truncations;    /* files found shorter than what was read (copytruncate) */
    uint64_t files_opened;
    uint64_t files_closed;   /* rotated-away files finished */
    uint64_t read_errors;    /* failed open/stat/read/glob */
    uint64_t state_saves;    /* state files written */
    uint64_t state_errors;   /* corrupt state files ignored + failed saves */
    uint64_t sink_full;      /* CS_ERR_FULL answers (each retried) */
} cs_tail_stats;

typedef struct cs_tail cs_tail;

/* Validate the options, load the state file, position the files matched now,
 * and start the thread. CS_ERR_INVAL on bad options, CS_ERR_IO when the state
 * file exists but cannot be read, CS_ERR_NOMEM; the message says which. */
cs_rc cs_tail_start(const cs_tail_opts *o, cs_line_sink sink, void *ud, cs_tail **out);

/* A consistent snapshot of the counters; any thread. */
void cs_tail_stats_get(cs_tail *t, cs_tail_stats *st);

/* Deliver the complete lines already written (and then the held partial
 * lines), save the state, join the thread and free t. Returns CS_OK, the
 * code a sink used to stop the input, CS_ERR_FULL when the sink stayed full
 * past drain_ms, or CS_ERR_IO when the final state save failed. NULL is a
 * no-op returning CS_OK. */
cs_rc cs_tail_stop(cs_tail *t);

/* Read fd (stdin, a pipe, a socket) until EOF on the calling thread with the
 * same framing and cut as cs_tail; a final line without a newline is
 * delivered at EOF. meta: transport "stdin", source = source (or "-" when
 * NULL), offset = byte offset of the line in the stream. CS_ERR_FULL from the
 * sink is retried (nothing dropped). Returns CS_OK at EOF, CS_ERR_IO on a
 * read error, or the sink's stopping code. *lines (may be NULL) = lines the
 * sink accepted. max_line 0 = CS_LINE_MAX_DEFAULT. fd is not closed. */
cs_rc cs_fd_read_lines(int fd, const char *source, size_t max_line, cs_line_sink sink, void *ud,
                       uint64_t *lines);

#endif
