/* tail.c - file tail and fd/stdin line inputs (see tail.h for the contract).
 *
 * Design note
 * -----------
 * One thread per cs_tail runs a poll loop:
 *
 *   rescan (glob every rescan_ms, or at once when a followed path no longer
 *   names its inode / a vanished path reappears)
 *   -> read pass (per file: fstat, pread up to the size seen, frame lines)
 *   -> reap (close rotated-away files quiet for rotate_wait_ms)
 *   -> save state if changed and the last save is >= 1 s old
 *   -> sleep poll_ms on a condition variable (stop wakes it) if idle.
 *
 * Every followed file (cs_tail_file) keeps its fd open, so a renamed or
 * deleted file can still be read to its end. Two positions per file:
 * read_pos (next byte to read) and offset (committed: the byte after the last
 * line the sink accepted). The bytes between them are the held partial line
 * in the file's line buffer. Only offset is ever persisted, so a line is
 * either before the saved offset (delivered) or after it (read again).
 *
 * Acknowledged offsets (cs_tail_opts.ack_*): a line the sink accepted may
 * still sit in the pipeline's queue when the process dies. With an ack
 * source, what is persisted is not offset but acked: at each save the
 * current offset of every file is noted with a ticket (the pipeline's count
 * of events accepted so far, taken after this tail's lines went in), and
 * becomes acked once the pipeline reports that count as durable (processed,
 * and its alerts committed). A crash then re-reads at most the lines after
 * the last durable checkpoint: nothing accepted is lost. At stop the tail
 * waits (up to drain_ms) for its last checkpoint to become durable.
 *
 * Framing is shared with cs_fd_read_lines through cs_linebuf: it keeps at most
 * max_line + 1 bytes of the current line (the extra byte lets a '\r' before
 * the '\n' be stripped without counting a line of exactly max_line bytes as
 * cut) and remembers that more was skipped. Lines of any length cost
 * O(max_line) memory, as in cs_logfile_replay.
 *
 * The sink is called only from the tail thread. The counters are the only
 * state shared with other threads (mutex); the file table, state, line
 * buffers and the read chunk belong to the thread (and to cs_tail_start
 * before the thread exists, and to cs_tail_stop after the join).
 */
#include "tail.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "../../runtime/log.h"
#include "../../runtime/timeutil.h"

#define CS_TAIL_COMP "tail"
#define CS_TAIL_CHUNK ((size_t)64 * 1024)
#define CS_TAIL_PASS_CHUNKS 16              /* per file per pass: 1 MiB, then the next file */
#define CS_TAIL_SAVE_US ((int64_t)1000000)
#define CS_TAIL_CHECKPOINTS 16u  /* state saved at most this often while changing */
#define CS_TAIL_STATE_HEADER "citysoc-tail-state 1"
#define CS_TAIL_STATE_MAX_BYTES ((off_t)64 * 1024 * 1024)
#define CS_TAIL_STATE_LINE_MAX 16384

/* ---- line framing ------------------------------------------------------ */

typedef struct cs_linebuf {
    char *buf;          /* max_line + 1 bytes */
    size_t max_line;
    size_t have;        /* bytes of the current line kept */
    bool overlong;      /* bytes beyond max_line + 1 were skipped */
    bool open;          /* a line has started and not been delivered */
    uint64_t start;     /* stream offset of the line's first byte */
} cs_linebuf;

static cs_rc cs_lb_init(cs_linebuf *lb, size_t max_line)
{
    memset(lb, 0, sizeof *lb);
    lb->buf = malloc(max_line + 1);
    if (lb->buf == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory for a %zu-byte line buffer", max_line + 1);
    }
    lb->max_line = max_line;
    return CS_OK;
}

static void cs_lb_reset(cs_linebuf *lb)
{
    lb->have = 0;
    lb->overlong = false;
    lb->open = false;
}

static void cs_lb_free(cs_linebuf *lb)
{
    free(lb->buf);
    lb->buf = NULL;
}

/* Take bytes of p (n > 0, at stream position pos) up to and including the
 * first '\n'. Returns the bytes consumed; *complete when a '\n' ended the line. */
static size_t cs_lb_feed(cs_linebuf *lb, const char *p, size_t n, uint64_t pos, bool *complete)
{
    const char *nl = memchr(p, '\n', n);
    size_t take = nl != NULL ? (size_t)(nl - p) : n;
    size_t room = lb->max_line + 1 - lb->have;
    size_t keep = take < room ? take : room;

    if (!lb->open) {
        lb->open = true;
        lb->start = pos;
    }
    if (take > room) {
        lb->overlong = true;
    }
    memcpy(lb->buf + lb->have, p, keep);
    lb->have += keep;
    *complete = nl != NULL;
    return nl != NULL ? take + 1 : take;
}

/* Length of the line to deliver; *cut when it was longer than max_line. A
 * '\r' before the '\n' is dropped; a held partial line is passed as it is. */
static size_t cs_lb_line(const cs_linebuf *lb, bool at_newline, bool *cut)
{
    size_t len = lb->have;
    *cut = lb->overlong;
    if (at_newline && !lb->overlong && len > 0 && lb->buf[len - 1] == '\r') {
        len--;
    }
    if (len > lb->max_line) {
        len = lb->max_line;
        *cut = true;
    }
    return len;
}

static cs_rc cs_line_limit(size_t *max_line)
{
    if (*max_line == 0) {
        *max_line = CS_LINE_MAX_DEFAULT;
    }
    if (*max_line > CS_TAIL_LINE_MAX_LIMIT) {
        return cs_err_set(CS_ERR_INVAL, "max_line %zu is above the limit of %u bytes", *max_line,
                          (unsigned)CS_TAIL_LINE_MAX_LIMIT);
    }
    return CS_OK;
}

static void cs_sleep_ms(int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- the tail ---------------------------------------------------------- */

typedef struct cs_tail_file {
    char *path;              /* latest name matching a pattern */
    dev_t dev;
    ino_t ino;
    int fd;
    uint64_t offset;         /* committed: after the last line the sink accepted */
    uint64_t read_pos;       /* next byte to read */
    uint64_t acked;          /* with an ack source: what is persisted (see the design note) */
    struct {
        uint64_t ticket, offset;
    } ck[CS_TAIL_CHECKPOINTS];   /* offsets waiting to become durable, oldest first */
    unsigned nck;
    cs_linebuf lb;
    bool gone;               /* no pattern reaches this inode any more */
    bool seen;               /* during a rescan */
    bool err_logged;
    int64_t quiet_since_us;  /* last growth, or when it went gone */
} cs_tail_file;

typedef struct cs_tail_saved {
    uint64_t dev;
    uint64_t ino;
    uint64_t offset;
    char *path;
} cs_tail_saved;

typedef struct cs_tail_cand {
    char *path;
    struct stat sb;
    size_t order;
} cs_tail_cand;

typedef struct cs_strbuf {
    char *p;
    size_t len;
    size_t cap;
} cs_strbuf;

struct cs_tail {
    char **patterns;
    size_t npatterns;
    bool *glob_logged;
    char *state_path;
    size_t max_line;
    int poll_ms;
    int rescan_ms;
    int rotate_wait_ms;
    int drain_ms;
    bool from_start;
    cs_line_sink sink;
    void *ud;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool mu_ok;
    bool cv_ok;
    bool stopping;               /* mu */
    int64_t drain_deadline_us;   /* mu */
    cs_tail_stats st;            /* mu */
    pthread_t thread;
    cs_rc rc;                    /* the thread's result, read after join */
    char errmsg[512];            /* its sentence, handed to the caller's thread by cs_tail_stop */

    cs_tail_file **files;        /* discovery order: rotated files come before their successors */
    size_t nfiles;
    size_t capfiles;
    cs_tail_saved *saved;        /* loaded state, used by the first scan only */
    size_t nsaved;
    bool have_state;             /* a valid state file was loaded */
    bool first_scan;
    char **failed;               /* paths whose open failed (logged once) */
    size_t nfailed;
    char *chunk;
    bool dirty;
    uint64_t (*ack_ticket)(void *ud);    /* NULL: persist what the sink accepted */
    uint64_t (*ack_durable)(void *ud);
    void *ack_ud;
    bool save_err_logged;
    int64_t last_save_us;
    int64_t next_rescan_us;
};

#define CS_TAIL_COUNT(t, field, n)                                                                 \
    do {                                                                                           \
        pthread_mutex_lock(&(t)->mu);                                                              \
        (t)->st.field += (n);                                                                      \
        pthread_mutex_unlock(&(t)->mu);                                                            \
    } while (0)

static bool tail_stopping(cs_tail *t)
{
    bool s;
    pthread_mutex_lock(&t->mu);
    s = t->stopping;
    pthread_mutex_unlock(&t->mu);
    return s;
}

/* Sleep ms; when wake_on_stop, return at once on (or as soon as) stop. */
static void tail_sleep(cs_tail *t, int ms, bool wake_on_stop)
{
    struct timespec ts;
    bool stopping;

    pthread_mutex_lock(&t->mu);
    stopping = t->stopping;
    if (!stopping) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);   /* early wake-ups are harmless */
    }
    pthread_mutex_unlock(&t->mu);
    if (stopping && !wake_on_stop) {
        cs_sleep_ms(ms);
    }
}

static cs_tail_file *tail_find(cs_tail *t, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        if (t->files[i]->dev == dev && t->files[i]->ino == ino) {
            return t->files[i];
        }
    }
    return NULL;
}

static void tail_file_free(cs_tail_file *f)
{
    if (f == NULL) {
        return;
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    cs_lb_free(&f->lb);
    free(f->path);
    free(f);
}

static void tail_free_saved(cs_tail *t)
{
    for (size_t i = 0; i < t->nsaved; i++) {
        free(t->saved[i].path);
    }
    free(t->saved);
    t->saved = NULL;
    t->nsaved = 0;
}

static void tail_maybe_save(cs_tail *t);

/* Hand one line to the sink; CS_ERR_FULL is retried until accepted, or, once
 * stop was requested, until drain_ms has passed. */
static cs_rc tail_deliver(cs_tail *t, const char *line, size_t len, const cs_line_meta *m)
{
    int wait_ms = 1;
    for (;;) {
        cs_rc rc;
        bool give_up;
        cs_err_clear();   /* so a stopping code's sentence is the sink's own, if it set one */
        rc = t->sink(line, len, m, t->ud);
        if (rc != CS_ERR_FULL) {
            return rc;
        }
        pthread_mutex_lock(&t->mu);
        t->st.sink_full++;
        give_up = t->stopping && cs_monotonic_us() >= t->drain_deadline_us;
        pthread_mutex_unlock(&t->mu);
        if (give_up) {
            return cs_err_set(CS_ERR_FULL, "%s: the sink stayed full at stop; the rest is read on the next start",
                              m->source);
        }
        tail_sleep(t, wait_ms, false);
        tail_maybe_save(t);   /* lines delivered before the stall are still saved */
        if (wait_ms < t->poll_ms) {
            wait_ms = wait_ms * 2 < t->poll_ms ? wait_ms * 2 : t->poll_ms;
        }
    }
}

static cs_rc tail_emit(cs_tail *t, cs_tail_file *f, bool at_newline)
{
    cs_line_meta m;
    bool cut;
    size_t len = cs_lb_line(&f->lb, at_newline, &cut);
    cs_rc rc;

    memset(&m, 0, sizeof m);
    m.transport = "file";
    m.source = f->path;
    m.received_us = cs_now_us();
    m.truncated = cut;
    m.offset = f->lb.start;
    rc = tail_deliver(t, f->lb.buf, len, &m);
    if (rc != CS_OK) {
        return rc;
    }
    pthread_mutex_lock(&t->mu);
    t->st.lines++;
    if (cut) {
        t->st.truncated++;
    }
    pthread_mutex_unlock(&t->mu);
    cs_lb_reset(&f->lb);
    return CS_OK;
}

/* Deliver the held partial line (the file is finished, truncated or we stop). */
static cs_rc tail_flush(cs_tail *t, cs_tail_file *f)
{
    cs_rc rc;
    if (!f->lb.open) {
        return CS_OK;
    }
    rc = tail_emit(t, f, false);
    if (rc != CS_OK) {
        return rc;
    }
    f->offset = f->read_pos;
    t->dirty = true;
    return CS_OK;
}

/* ---- state file -------------------------------------------------------- */

static bool cs_sb_add(cs_strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (b->len + n + 1 > cap) {
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            return false;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

static bool tail_state_text(cs_tail *t, cs_strbuf *b)
{
    if (!cs_sb_add(b, CS_TAIL_STATE_HEADER "\n", strlen(CS_TAIL_STATE_HEADER) + 1)) {
        return false;
    }
    for (size_t i = 0; i < t->nfiles; i++) {
        const cs_tail_file *f = t->files[i];
        char num[80];
        int n = snprintf(num, sizeof num, "%llu %llu %llu ", (unsigned long long)f->dev,
                         (unsigned long long)f->ino,
                         (unsigned long long)(t->ack_durable != NULL ? f->acked : f->offset));
        if (n < 0 || (size_t)n >= sizeof num || !cs_sb_add(b, num, (size_t)n)) {
            return false;
        }
        for (const char *p = f->path; *p != '\0'; p++) {
            bool ok = *p == '\\' ? cs_sb_add(b, "\\\\", 2) : *p == '\n' ? cs_sb_add(b, "\\n", 2) : cs_sb_add(b, p, 1);
            if (!ok) {
                return false;
            }
        }
        if (!cs_sb_add(b, "\n", 1)) {
            return false;
        }
    }
    return true;
}

/* Write the state atomically: temp file in the same folder, fsync, rename,
 * fsync of the folder (best effort). */
static cs_rc tail_save(cs_tail *t)
{
    cs_strbuf b = {NULL, 0, 0};
    char *tmp = NULL;
    char *dir = NULL;
    size_t plen = strlen(t->state_path);
    int fd = -1;
    bool tmp_made = false;
    cs_rc rc = CS_OK;

    if (!tail_state_text(t, &b)) {
        rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory writing the tail state", t->state_path);
        goto out;
    }
    tmp = malloc(plen + 12);
    if (tmp == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory writing the tail state", t->state_path);
        goto out;
    }
    memcpy(tmp, t->state_path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = cs_err_set(CS_ERR_IO, "%s: cannot create the temporary state file: %s", tmp, strerror(errno));
        goto out;
    }
    tmp_made = true;
    for (size_t done = 0; done < b.len;) {
        ssize_t w = write(fd, b.p + done, b.len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            rc = cs_err_set(CS_ERR_IO, "%s: cannot write the tail state: %s", tmp, strerror(errno));
            goto out;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        rc = cs_err_set(CS_ERR_IO, "%s: cannot sync the tail state: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = cs_err_set(CS_ERR_IO, "%s: cannot close the tail state: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, t->state_path) != 0) {
        rc = cs_err_set(CS_ERR_IO, "%s: cannot replace the tail state: %s", t->state_path, strerror(errno));
        goto out;
    }
    tmp_made = false;
    {
        const char *slash = strrchr(t->state_path, '/');
        size_t dlen = slash == NULL ? 1 : slash == t->state_path ? 1 : (size_t)(slash - t->state_path);
        dir = malloc(dlen + 1);
        if (dir != NULL) {
            int dfd;
            memcpy(dir, slash == NULL ? "." : t->state_path, dlen);
            dir[dlen] = '\0';
            dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                (void)fsync(dfd);
                close(dfd);
            }
        }
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    if (tmp_made) {
        unlink(tmp);
    }
    pthread_mutex_lock(&t->mu);
    if (rc == CS_OK) {
        t->st.state_saves++;
    } else {
        t->st.state_errors++;
    }
    pthread_mutex_unlock(&t->mu);
    if (rc == CS_OK) {
        t->dirty = false;
    }
    free(dir);
    free(tmp);
    free(b.p);
    return rc;
}

/* Note every file's offset with a ticket, and move acked up to the newest
 * checkpoint the pipeline reports durable. True when every file is acked
 * up to its offset. */
static bool tail_checkpoint(cs_tail *t)
{
    uint64_t ticket, durable;
    bool all = true;
    if (t->ack_durable == NULL) {
        return true;
    }
    ticket = t->ack_ticket(t->ack_ud);
    durable = t->ack_durable(t->ack_ud);
    for (size_t i = 0; i < t->nfiles; i++) {
        cs_tail_file *f = t->files[i];
        uint64_t last = f->nck > 0 ? f->ck[f->nck - 1].offset : f->acked;
        if (f->offset != last) {
            if (f->nck == CS_TAIL_CHECKPOINTS) {
                f->nck--;   /* full: the newest one stands for both (coarser, still safe) */
            }
            f->ck[f->nck].ticket = ticket;
            f->ck[f->nck].offset = f->offset;
            f->nck++;
        }
        while (f->nck > 0 && f->ck[0].ticket <= durable) {
            if (f->acked != f->ck[0].offset) {
                f->acked = f->ck[0].offset;
                t->dirty = true;
            }
            memmove(&f->ck[0], &f->ck[1], (f->nck - 1) * sizeof f->ck[0]);
            f->nck--;
        }
        all = all && f->nck == 0;
    }
    return all;
}

static void tail_maybe_save(cs_tail *t)
{
    int64_t now;
    bool pending;
    if (t->state_path == NULL) {
        return;
    }
    pending = !tail_checkpoint(t);
    if (!t->dirty) {
        return;
    }
    now = cs_monotonic_us();
    if (now - t->last_save_us < CS_TAIL_SAVE_US) {
        return;
    }
    t->last_save_us = now;
    if (tail_save(t) == CS_OK) {   /* counted either way; retried in a second */
        t->save_err_logged = false;
        t->dirty = t->dirty || pending;   /* checkpoints still to become durable */
    } else if (!t->save_err_logged) {
        t->save_err_logged = true;
        CS_ERROR(CS_TAIL_COMP, "%s (retried every second)", cs_err_msg());
    }
}

/* Decimal digits at *p, then one space (unless last); no sign, no overflow. */
static bool cs_state_u64(char **p, uint64_t *v, bool last)
{
    char *s = *p;
    uint64_t x = 0;
    if (*s < '0' || *s > '9') {
        return false;
    }
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10) {
            return false;
        }
        x = x * 10 + d;
        s++;
    }
    if (!last) {
        if (*s != ' ') {
            return false;
        }
        s++;
    }
    *v = x;
    *p = s;
    return true;
}

/* One "dev ino offset path" line (newline already removed); NULL or the reason. */
static const char *tail_state_entry(char *line, cs_tail_saved *e)
{
    char *p = line;
    size_t n;
    char *out;

    if (!cs_state_u64(&p, &e->dev, false) || !cs_state_u64(&p, &e->ino, false) ||
        !cs_state_u64(&p, &e->offset, false)) {
        return "expected '<dev> <ino> <offset> <path>' with decimal numbers";
    }
    if (*p == '\0') {
        return "empty path";
    }
    n = strlen(p);
    out = malloc(n + 1);
    if (out == NULL) {
        return "out of memory";
    }
    e->path = out;
    for (; *p != '\0'; p++) {
        if (*p == '\\') {
            p++;
            if (*p == '\\') {
                *out++ = '\\';
            } else if (*p == 'n') {
                *out++ = '\n';
            } else {
                return "bad escape in path (only \\\\ and \\n)";
            }
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
    return NULL;
}

/* Load the saved offsets. A missing file is a first run; a corrupt one is
 * reported, counted and ignored; only an unreadable one is an error. */
static cs_rc tail_load_state(cs_tail *t)
{
    FILE *fp = NULL;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    long lineno = 0;
    size_t cap = 0;
    const char *why = NULL;
    struct stat sb;
    cs_rc rc = CS_OK;

    fp = fopen(t->state_path, "r");
    if (fp == NULL) {
        if (errno == ENOENT) {
            return CS_OK;
        }
        return cs_err_set(CS_ERR_IO, "%s: cannot read the tail state: %s", t->state_path, strerror(errno));
    }
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = cs_err_set(CS_ERR_IO, "%s: the tail state is not a regular file", t->state_path);
        goto out;
    }
    if (sb.st_size > CS_TAIL_STATE_MAX_BYTES) {
        why = "file too large";
        goto out;
    }
    while ((n = getline(&line, &lcap, fp)) >= 0) {
        lineno++;
        if (n == 0 || line[n - 1] != '\n') {
            why = "last line not terminated (torn write?)";
            goto out;
        }
        line[--n] = '\0';
        if ((size_t)n != strlen(line)) {
            why = "NUL byte in line";
            goto out;
        }
        if (n > CS_TAIL_STATE_LINE_MAX) {
            why = "line too long";
            goto out;
        }
        if (lineno == 1) {
            if (strcmp(line, CS_TAIL_STATE_HEADER) != 0) {
                why = "not a citysoc tail state file (expected '" CS_TAIL_STATE_HEADER "')";
                goto out;
            }
            continue;
        }
        if (t->nsaved == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            cs_tail_saved *s = realloc(t->saved, ncap * sizeof *s);
            if (s == NULL) {
                rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory reading the tail state", t->state_path);
                goto out;
            }
            t->saved = s;
            cap = ncap;
        }
        memset(&t->saved[t->nsaved], 0, sizeof t->saved[t->nsaved]);
        why = tail_state_entry(line, &t->saved[t->nsaved]);
        t->nsaved++;   /* counted even on failure, so its path is freed */
        if (why != NULL) {
            goto out;
        }
    }
    if (ferror(fp)) {
        rc = cs_err_set(CS_ERR_IO, "%s: cannot read the tail state: %s", t->state_path, strerror(errno));
        goto out;
    }
    if (lineno == 0) {
        why = "empty file";
        lineno = 1;
        goto out;
    }
    t->have_state = true;
out:
    if (why != NULL || rc != CS_OK) {
        tail_free_saved(t);
    }
    if (why != NULL) {
        CS_WARN(CS_TAIL_COMP, "%s:%ld: corrupt tail state: %s; ignoring it and starting fresh", t->state_path,
                lineno, why);
        pthread_mutex_lock(&t->mu);
        t->st.state_errors++;
        pthread_mutex_unlock(&t->mu);
        t->dirty = true;   /* replace it with a valid one soon */
    }
    free(line);
    fclose(fp);
    return rc;
}

/* ---- discovery --------------------------------------------------------- */

static bool tail_failed_has(cs_tail *t, const char *path, bool remove)
{
    for (size_t i = 0; i < t->nfailed; i++) {
        if (strcmp(t->failed[i], path) == 0) {
            if (remove) {
                free(t->failed[i]);
                t->failed[i] = t->failed[--t->nfailed];
            }
            return true;
        }
    }
    return false;
}

static void tail_failed_add(cs_tail *t, const char *path)
{
    char **p = realloc(t->failed, (t->nfailed + 1) * sizeof *p);
    char *s = strdup(path);
    if (p != NULL) {
        t->failed = p;
    }
    if (p == NULL || s == NULL) {
        free(s);
        return;   /* it will only be logged again */
    }
    t->failed[t->nfailed++] = s;
}

/* Where tail -f would start: after the last '\n' of the last chunk. */
static uint64_t tail_end_pos(cs_tail *t, int fd, uint64_t size)
{
    size_t n = size < CS_TAIL_CHUNK ? (size_t)size : CS_TAIL_CHUNK;
    ssize_t got;
    if (n == 0) {
        return 0;
    }
    got = pread(fd, t->chunk, n, (off_t)(size - n));
    if (got != (ssize_t)n) {
        return size;
    }
    for (size_t i = n; i > 0; i--) {
        if (t->chunk[i - 1] == '\n') {
            return size - n + i;
        }
    }
    return n == size ? 0 : size;
}

static const cs_tail_saved *tail_saved_find(cs_tail *t, uint64_t dev, uint64_t ino, const char *path)
{
    for (size_t i = 0; i < t->nsaved; i++) {
        const cs_tail_saved *s = &t->saved[i];
        if (path != NULL ? strcmp(s->path, path) == 0 : (s->dev == dev && s->ino == ino)) {
            return s;
        }
    }
    return NULL;
}

/* Open a newly matched file and decide where reading starts. */
static cs_rc tail_open(cs_tail *t, const char *path, int64_t now)
{
    cs_tail_file *f = NULL;
    struct stat sb;
    uint64_t pos = 0;
    const cs_tail_saved *s;
    cs_tail_file **grown;
    int fd;
    cs_rc rc = CS_OK;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (!tail_failed_has(t, path, false)) {
            CS_WARN(CS_TAIL_COMP, "%s: cannot open log: %s (retried at each rescan)", path, strerror(errno));
            tail_failed_add(t, path);
        }
        CS_TAIL_COUNT(t, read_errors, 1);
        goto out;
    }
    if (!S_ISREG(sb.st_mode) || tail_find(t, sb.st_dev, sb.st_ino) != NULL) {
        goto out;   /* replaced by something else, or a name of a file already followed */
    }
    tail_failed_has(t, path, true);
    s = t->first_scan ? tail_saved_find(t, (uint64_t)sb.st_dev, (uint64_t)sb.st_ino, NULL) : NULL;
    if (s != NULL) {
        pos = s->offset;
        if (pos > (uint64_t)sb.st_size) {
            CS_INFO(CS_TAIL_COMP, "%s: shorter than its saved offset %llu: truncated, reading from the start",
                    path, (unsigned long long)pos);
            CS_TAIL_COUNT(t, truncations, 1);
            pos = 0;
        }
        if (strcmp(s->path, path) != 0) {
            CS_INFO(CS_TAIL_COMP, "%s: was %s before the restart; resuming at its saved offset", path, s->path);
            CS_TAIL_COUNT(t, rotations, 1);
        } else if (pos > 0) {
            CS_INFO(CS_TAIL_COMP, "%s: resuming at its saved offset %llu of %llu bytes", path,
                    (unsigned long long)pos, (unsigned long long)sb.st_size);
        }
    } else if (t->first_scan && t->have_state && tail_saved_find(t, 0, 0, path) != NULL) {
        CS_INFO(CS_TAIL_COMP, "%s: replaced by a new file since the last run; reading it from the start", path);
        CS_TAIL_COUNT(t, rotations, 1);
        pos = 0;
    } else if (t->first_scan && !t->have_state && !t->from_start) {
        pos = tail_end_pos(t, fd, (uint64_t)sb.st_size);
    }
    f = calloc(1, sizeof *f);
    if (f == NULL || (f->path = strdup(path)) == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory following the file", path);
        goto out;
    }
    if ((rc = cs_lb_init(&f->lb, t->max_line)) != CS_OK) {
        goto out;
    }
    if (t->nfiles == t->capfiles) {
        size_t ncap = t->capfiles ? t->capfiles * 2 : 8;
        grown = realloc(t->files, ncap * sizeof *grown);
        if (grown == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory following the file", path);
            goto out;
        }
        t->files = grown;
        t->capfiles = ncap;
    }
    f->dev = sb.st_dev;
    f->ino = sb.st_ino;
    f->fd = fd;
    fd = -1;
    f->offset = pos;
    f->acked = pos;
    f->read_pos = pos;
    f->quiet_since_us = now;
    f->seen = true;
    t->files[t->nfiles++] = f;
    f = NULL;
    t->dirty = true;
    CS_TAIL_COUNT(t, files_opened, 1);
    CS_DEBUG(CS_TAIL_COMP, "%s: following from offset %llu", path, (unsigned long long)pos);
out:
    if (f != NULL) {
        f->fd = -1;
        tail_file_free(f);
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

/* Our own state file (or its temporary) matched by a broad pattern. */
static bool tail_is_state_file(const cs_tail *t, const char *path)
{
    size_t n;
    if (t->state_path == NULL) {
        return false;
    }
    n = strlen(t->state_path);
    return strncmp(path, t->state_path, n) == 0 && (path[n] == '\0' || strncmp(path + n, ".tmp.", 5) == 0);
}

static int tail_cand_cmp(const void *a, const void *b)
{
    const cs_tail_cand *x = a;
    const cs_tail_cand *y = b;
    if (x->sb.st_mtim.tv_sec != y->sb.st_mtim.tv_sec) {
        return x->sb.st_mtim.tv_sec < y->sb.st_mtim.tv_sec ? -1 : 1;
    }
    if (x->sb.st_mtim.tv_nsec != y->sb.st_mtim.tv_nsec) {
        return x->sb.st_mtim.tv_nsec < y->sb.st_mtim.tv_nsec ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Re-expand the patterns: follow renames, open new files (oldest first),
 * mark files no pattern reaches any more as gone. */
static void tail_rescan(cs_tail *t, int64_t now)
{
    cs_tail_cand *cands = NULL;
    size_t ncands = 0;
    size_t capc = 0;

    for (size_t i = 0; i < t->nfiles; i++) {
        t->files[i]->seen = false;
    }
    for (size_t p = 0; p < t->npatterns; p++) {
        glob_t g;
        int r = glob(t->patterns[p], 0, NULL, &g);
        if (r != 0 && r != GLOB_NOMATCH) {
            if (!t->glob_logged[p]) {
                t->glob_logged[p] = true;
                CS_WARN(CS_TAIL_COMP, "%s: cannot expand the pattern (%s)", t->patterns[p],
                        r == GLOB_NOSPACE ? "out of memory" : "read error");
            }
            CS_TAIL_COUNT(t, read_errors, 1);
        }
        for (size_t k = 0; r == 0 && k < g.gl_pathc; k++) {
            const char *path = g.gl_pathv[k];
            struct stat sb;
            cs_tail_file *f;
            bool dup = false;
            if (tail_is_state_file(t, path) || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
                continue;
            }
            f = tail_find(t, sb.st_dev, sb.st_ino);
            if (f != NULL) {
                struct stat old;
                f->seen = true;
                f->gone = false;
                if (strcmp(f->path, path) != 0 &&
                    (stat(f->path, &old) != 0 || old.st_dev != f->dev || old.st_ino != f->ino)) {
                    char *np = strdup(path);
                    if (np != NULL) {
                        CS_INFO(CS_TAIL_COMP, "%s: renamed to %s; still following it", f->path, path);
                        free(f->path);
                        f->path = np;
                        t->dirty = true;
                        CS_TAIL_COUNT(t, rotations, 1);
                    }
                }
                continue;
            }
            for (size_t c = 0; c < ncands && !dup; c++) {
                dup = cands[c].sb.st_dev == sb.st_dev && cands[c].sb.st_ino == sb.st_ino;
            }
            if (dup) {
                continue;
            }
            if (ncands == capc) {
                size_t ncap = capc ? capc * 2 : 8;
                cs_tail_cand *nc = realloc(cands, ncap * sizeof *nc);
                if (nc == NULL) {
                    continue;   /* picked up at the next rescan */
                }
                cands = nc;
                capc = ncap;
            }
            cands[ncands].path = strdup(path);
            if (cands[ncands].path == NULL) {
                continue;
            }
            cands[ncands].sb = sb;
            cands[ncands].order = ncands;
            ncands++;
        }
        if (r == 0) {
            t->glob_logged[p] = false;
        }
        globfree(&g);   /* glibc leaves g valid whatever glob returned */
    }
    if (ncands > 1) {
        qsort(cands, ncands, sizeof *cands, tail_cand_cmp);
    }
    for (size_t c = 0; c < ncands; c++) {
        if (tail_open(t, cands[c].path, now) != CS_OK) {
            CS_ERROR(CS_TAIL_COMP, "%s", cs_err_msg());
            CS_TAIL_COUNT(t, read_errors, 1);
        }
        free(cands[c].path);
    }
    free(cands);
    for (size_t i = 0; i < t->nfiles; i++) {
        cs_tail_file *f = t->files[i];
        struct stat sb;
        if (!f->seen && !f->gone &&
            (stat(f->path, &sb) != 0 || sb.st_dev != f->dev || sb.st_ino != f->ino)) {
            /* (a path still naming its inode was only missed by a failing glob) */
            f->gone = true;
            f->quiet_since_us = now;
            CS_INFO(CS_TAIL_COMP, "%s: rotated away or removed; reading the old file to its end", f->path);
            CS_TAIL_COUNT(t, rotations, 1);
        }
    }
    if (t->first_scan) {
        t->first_scan = false;
        tail_free_saved(t);
    }
    t->next_rescan_us = now + (int64_t)t->rescan_ms * 1000;
}

/* Cheap check between rescans: does every followed path still name its
 * inode, and has a vanished path come back? */
static bool tail_need_rescan(cs_tail *t)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        const cs_tail_file *f = t->files[i];
        struct stat sb;
        int r = stat(f->path, &sb);
        if (!f->gone) {
            if (r != 0 || sb.st_dev != f->dev || sb.st_ino != f->ino) {
                return true;
            }
        } else if (r == 0 && S_ISREG(sb.st_mode) && tail_find(t, sb.st_dev, sb.st_ino) == NULL &&
                   !tail_failed_has(t, f->path, false)) {
            return true;
        }
    }
    return false;
}

/* ---- reading ----------------------------------------------------------- */

/* Read what the file holds now (at most CS_TAIL_PASS_CHUNKS chunks unless
 * final) and deliver its complete lines. */
static cs_rc tail_read_file(cs_tail *t, cs_tail_file *f, bool final, bool *progress)
{
    struct stat sb;
    uint64_t size;
    int budget = CS_TAIL_PASS_CHUNKS;
    cs_rc rc;

    if (fstat(f->fd, &sb) != 0) {
        if (!f->err_logged) {
            f->err_logged = true;
            CS_WARN(CS_TAIL_COMP, "%s: cannot stat: %s", f->path, strerror(errno));
        }
        CS_TAIL_COUNT(t, read_errors, 1);
        return CS_OK;
    }
    size = (uint64_t)sb.st_size;
    if (size < f->read_pos) {
        CS_INFO(CS_TAIL_COMP, "%s: truncated (size %llu < offset %llu); reading from the start", f->path,
                (unsigned long long)size, (unsigned long long)f->read_pos);
        CS_TAIL_COUNT(t, truncations, 1);
        if ((rc = tail_flush(t, f)) != CS_OK) {
            return rc;
        }
        cs_lb_reset(&f->lb);
        f->offset = 0;
        f->read_pos = 0;
        t->dirty = true;
        *progress = true;
    }
    while (f->read_pos < size && (final || budget-- > 0)) {
        uint64_t left = size - f->read_pos;
        size_t want = left < CS_TAIL_CHUNK ? (size_t)left : CS_TAIL_CHUNK;
        ssize_t got = pread(f->fd, t->chunk, want, (off_t)f->read_pos);
        size_t i = 0;
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            if (!f->err_logged) {
                f->err_logged = true;
                CS_WARN(CS_TAIL_COMP, "%s: read error at offset %llu: %s", f->path,
                        (unsigned long long)f->read_pos, strerror(errno));
            }
            CS_TAIL_COUNT(t, read_errors, 1);
            return CS_OK;
        }
        if (got == 0) {
            break;   /* shrank since the fstat; seen at the next pass */
        }
        f->err_logged = false;
        f->quiet_since_us = cs_monotonic_us();
        *progress = true;
        CS_TAIL_COUNT(t, bytes, (uint64_t)got);
        while (i < (size_t)got) {
            bool complete;
            i += cs_lb_feed(&f->lb, t->chunk + i, (size_t)got - i, f->read_pos + i, &complete);
            if (!complete) {
                continue;
            }
            if ((rc = tail_emit(t, f, true)) != CS_OK) {
                f->read_pos = f->offset;   /* not committed: read again next start */
                cs_lb_reset(&f->lb);
                return rc;
            }
            f->offset = f->read_pos + i;
            t->dirty = true;
        }
        f->read_pos += (uint64_t)got;
    }
    return CS_OK;
}

static cs_rc tail_read_all(cs_tail *t, bool final, bool *progress)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        cs_rc rc = tail_read_file(t, t->files[i], final, progress);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

/* Close the rotated-away files that stayed quiet for rotate_wait_ms, after a
 * last read to their end. */
static cs_rc tail_reap(cs_tail *t)
{
    size_t i = 0;
    while (i < t->nfiles) {
        cs_tail_file *f = t->files[i];
        bool grew = false;
        cs_rc rc;
        if (!f->gone || cs_monotonic_us() - f->quiet_since_us < (int64_t)t->rotate_wait_ms * 1000) {
            i++;
            continue;
        }
        if ((rc = tail_read_file(t, f, true, &grew)) != CS_OK) {
            return rc;
        }
        if (grew) {
            i++;   /* written to again: wait another rotate_wait_ms */
            continue;
        }
        if ((rc = tail_flush(t, f)) != CS_OK) {
            return rc;
        }
        CS_INFO(CS_TAIL_COMP, "%s: rotated file finished at offset %llu", f->path, (unsigned long long)f->offset);
        memmove(&t->files[i], &t->files[i + 1], (t->nfiles - i - 1) * sizeof *t->files);
        t->nfiles--;
        tail_file_free(f);
        t->dirty = true;
        CS_TAIL_COUNT(t, files_closed, 1);
    }
    return CS_OK;
}

static void *tail_main(void *arg)
{
    cs_tail *t = arg;
    cs_rc rc = CS_OK;

    for (;;) {
        int64_t now = cs_monotonic_us();
        bool progress = false;
        if (tail_stopping(t)) {
            break;
        }
        if (now >= t->next_rescan_us || tail_need_rescan(t)) {
            tail_rescan(t, now);
        }
        rc = tail_read_all(t, false, &progress);
        if (rc == CS_OK) {
            rc = tail_reap(t);
        }
        if (rc != CS_OK) {
            break;
        }
        tail_maybe_save(t);
        if (!progress) {
            tail_sleep(t, t->poll_ms, true);
        }
    }
    if (rc == CS_OK) {
        /* stop: everything already written, then the held partial lines */
        int64_t now = cs_monotonic_us();
        bool progress = false;
        tail_rescan(t, now);
        rc = tail_read_all(t, true, &progress);
        for (size_t i = 0; rc == CS_OK && i < t->nfiles; i++) {
            rc = tail_flush(t, t->files[i]);
        }
    }
    if (rc == CS_ERR_FULL) {
        snprintf(t->errmsg, sizeof t->errmsg, "%s", cs_err_msg());
    } else if (rc != CS_OK) {
        const char *sm = cs_err_msg();
        if (strcmp(sm, cs_rc_str(CS_OK)) == 0) {
            sm = cs_rc_str(rc);
        }
        snprintf(t->errmsg, sizeof t->errmsg,
                 "tail: the sink stopped the input (%s); the refused line is read again on the next start", sm);
    }
    if (rc != CS_OK) {
        CS_WARN(CS_TAIL_COMP, "%s", t->errmsg);
    }
    if (t->state_path != NULL && t->ack_durable != NULL) {
        /* what this tail handed over becomes durable within a moment while
         * the pipeline still runs; whatever is not by then is read again */
        int64_t deadline = cs_monotonic_us() + (int64_t)t->drain_ms * 1000;
        while (!tail_checkpoint(t) && cs_monotonic_us() < deadline) {
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (t->state_path != NULL && tail_save(t) != CS_OK) {
        CS_ERROR(CS_TAIL_COMP, "%s", cs_err_msg());
        if (rc == CS_OK) {
            rc = CS_ERR_IO;
            snprintf(t->errmsg, sizeof t->errmsg, "%s", cs_err_msg());
        }
    }
    t->rc = rc;
    return NULL;
}

static void tail_free(cs_tail *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->nfiles; i++) {
        tail_file_free(t->files[i]);
    }
    free(t->files);
    for (size_t i = 0; i < t->npatterns && t->patterns != NULL; i++) {
        free(t->patterns[i]);
    }
    free(t->patterns);
    free(t->glob_logged);
    free(t->state_path);
    tail_free_saved(t);
    for (size_t i = 0; i < t->nfailed; i++) {
        free(t->failed[i]);
    }
    free(t->failed);
    free(t->chunk);
    if (t->cv_ok) {
        pthread_cond_destroy(&t->cv);
    }
    if (t->mu_ok) {
        pthread_mutex_destroy(&t->mu);
    }
    free(t);
}

static int cs_ms_opt(int v, int dflt)
{
    return v > 0 ? v : dflt;
}

cs_rc cs_tail_start(const cs_tail_opts *o, cs_line_sink sink, void *ud, cs_tail **out)
{
    cs_tail *t = NULL;
    pthread_condattr_t ca;
    size_t max_line;
    int err;
    cs_rc rc = CS_OK;

    if (out != NULL) {
        *out = NULL;
    }
    if (o == NULL || sink == NULL || out == NULL) {
        return cs_err_set(CS_ERR_INVAL, "tail: options, sink and result are required");
    }
    if (o->patterns == NULL || o->npatterns == 0) {
        return cs_err_set(CS_ERR_INVAL, "tail: no file or pattern to follow");
    }
    for (size_t i = 0; i < o->npatterns; i++) {
        if (o->patterns[i] == NULL || o->patterns[i][0] == '\0') {
            return cs_err_set(CS_ERR_INVAL, "tail: pattern %zu is empty", i + 1);
        }
    }
    if (o->poll_ms < 0 || o->rescan_ms < 0 || o->rotate_wait_ms < 0 || o->drain_ms < 0) {
        return cs_err_set(CS_ERR_INVAL, "tail: negative poll_ms, rescan_ms, rotate_wait_ms or drain_ms");
    }
    if (o->state_path != NULL && o->state_path[0] == '\0') {
        return cs_err_set(CS_ERR_INVAL, "tail: empty state_path (use NULL for no persistence)");
    }
    max_line = o->max_line;
    if ((rc = cs_line_limit(&max_line)) != CS_OK) {
        return rc;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "tail: out of memory");
    }
    t->max_line = max_line;
    t->poll_ms = cs_ms_opt(o->poll_ms, CS_TAIL_POLL_MS_DEFAULT);
    t->rescan_ms = cs_ms_opt(o->rescan_ms, CS_TAIL_RESCAN_MS_DEFAULT);
    t->rotate_wait_ms = cs_ms_opt(o->rotate_wait_ms, CS_TAIL_ROTATE_WAIT_MS_DEFAULT);
    t->drain_ms = cs_ms_opt(o->drain_ms, CS_TAIL_DRAIN_MS_DEFAULT);
    if (o->ack_ticket != NULL && o->ack_durable != NULL) {
        t->ack_ticket = o->ack_ticket;
        t->ack_durable = o->ack_durable;
        t->ack_ud = o->ack_ud;
    }
    t->from_start = o->from_start;
    t->sink = sink;
    t->ud = ud;
    t->first_scan = true;
    t->patterns = calloc(o->npatterns, sizeof *t->patterns);
    t->glob_logged = calloc(o->npatterns, sizeof *t->glob_logged);
    t->chunk = malloc(CS_TAIL_CHUNK);
    if (t->patterns == NULL || t->glob_logged == NULL || t->chunk == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "tail: out of memory");
        goto fail;
    }
    t->npatterns = o->npatterns;
    for (size_t i = 0; i < o->npatterns; i++) {
        if ((t->patterns[i] = strdup(o->patterns[i])) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "tail: out of memory");
            goto fail;
        }
    }
    if (o->state_path != NULL && (t->state_path = strdup(o->state_path)) == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "tail: out of memory");
        goto fail;
    }
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        rc = cs_err_set(CS_ERR_INTERNAL, "tail: cannot create a mutex");
        goto fail;
    }
    t->mu_ok = true;
    if (pthread_condattr_init(&ca) != 0) {
        rc = cs_err_set(CS_ERR_INTERNAL, "tail: cannot create a condition variable");
        goto fail;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    t->cv_ok = pthread_cond_init(&t->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!t->cv_ok) {
        rc = cs_err_set(CS_ERR_INTERNAL, "tail: cannot create a condition variable");
        goto fail;
    }
    if (t->state_path != NULL && (rc = tail_load_state(t)) != CS_OK) {
        goto fail;
    }
    tail_rescan(t, cs_monotonic_us());   /* position now: lines appended after we return are delivered */
    if (t->state_path != NULL && (rc = tail_save(t)) != CS_OK) {
        goto fail;   /* an unwritable state file is a configuration error: say it now */
    }
    t->last_save_us = cs_monotonic_us();
    if ((err = pthread_create(&t->thread, NULL, tail_main, t)) != 0) {
        rc = cs_err_set(CS_ERR_INTERNAL, "tail: cannot start the thread: %s", strerror(err));
        goto fail;
    }
    *out = t;
    return CS_OK;
fail:
    tail_free(t);
    return rc;
}

void cs_tail_stats_get(cs_tail *t, cs_tail_stats *st)
{
    if (t == NULL || st == NULL) {
        return;
    }
    pthread_mutex_lock(&t->mu);
    *st = t->st;
    pthread_mutex_unlock(&t->mu);
}

cs_rc cs_tail_stop(cs_tail *t)
{
    cs_rc rc;
    if (t == NULL) {
        return CS_OK;
    }
    pthread_mutex_lock(&t->mu);
    t->stopping = true;
    t->drain_deadline_us = cs_monotonic_us() + (int64_t)t->drain_ms * 1000;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    rc = t->rc;
    if (rc != CS_OK) {
        cs_err_set(rc, "%s", t->errmsg);
    }
    tail_free(t);
    return rc;
}

/* ---- fd / stdin -------------------------------------------------------- */

static cs_rc fd_emit(cs_linebuf *lb, bool at_newline, const char *source, cs_line_sink sink, void *ud,
                     uint64_t *lines)
{
    cs_line_meta m;
    bool cut;
    size_t len = cs_lb_line(lb, at_newline, &cut);
    int wait_ms = 1;
    cs_rc rc;

    memset(&m, 0, sizeof m);
    m.transport = "stdin";
    m.source = source;
    m.received_us = cs_now_us();
    m.truncated = cut;
    m.offset = lb->start;
    while ((rc = sink(lb->buf, len, &m, ud)) == CS_ERR_FULL) {
        cs_sleep_ms(wait_ms);
        wait_ms = wait_ms < 64 ? wait_ms * 2 : 100;
    }
    if (rc == CS_OK) {
        (*lines)++;
        cs_lb_reset(lb);
    }
    return rc;
}

cs_rc cs_fd_read_lines(int fd, const char *source, size_t max_line, cs_line_sink sink, void *ud, uint64_t *lines)
{
    cs_linebuf lb = {NULL, 0, 0, false, false, 0};
    char *chunk = NULL;
    const char *src = source != NULL ? source : "-";
    uint64_t pos = 0;
    uint64_t n = 0;
    cs_rc rc;

    if (lines != NULL) {
        *lines = 0;
    }
    if (fd < 0 || sink == NULL) {
        return cs_err_set(CS_ERR_INVAL, "read lines: a valid fd and a sink are required");
    }
    if ((rc = cs_line_limit(&max_line)) != CS_OK || (rc = cs_lb_init(&lb, max_line)) != CS_OK) {
        return rc;
    }
    chunk = malloc(CS_TAIL_CHUNK);
    if (chunk == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory", src);
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, chunk, CS_TAIL_CHUNK);
        size_t i = 0;
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {fd, POLLIN, 0};
            (void)poll(&pfd, 1, -1);   /* non-blocking stdin: wait for data */
            continue;
        }
        if (got < 0) {
            rc = cs_err_set(CS_ERR_IO, "%s: read error after %llu bytes: %s", src, (unsigned long long)pos,
                            strerror(errno));
            goto out;
        }
        if (got == 0) {
            if (lb.open) {
                rc = fd_emit(&lb, false, src, sink, ud, &n);
            }
            goto out;
        }
        while (i < (size_t)got) {
            bool complete;
            i += cs_lb_feed(&lb, chunk + i, (size_t)got - i, pos + i, &complete);
            if (complete && (rc = fd_emit(&lb, true, src, sink, ud, &n)) != CS_OK) {
                goto out;
            }
        }
        pos += (uint64_t)got;
    }
out:
    if (lines != NULL) {
        *lines = n;
    }
    free(chunk);
    cs_lb_free(&lb);
    return rc;
}
