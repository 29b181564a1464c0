/* Unit tests: file tail (appends, partial lines, rename and copytruncate
 * rotation, globs, restart with a state file, long/CRLF/binary lines, a
 * corrupt state file, back-pressure) and cs_fd_read_lines over a pipe. All on
 * real files in a mkdtemp folder, with poll_ms 20. */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/log.h"
#include "sensors/logs/tail.h"

#define WAIT_MS 8000

/* ---- a recording sink --------------------------------------------------- */

typedef struct rec_line {
    char *text;          /* NUL added after len bytes */
    size_t len;
    char source[256];
    char transport[8];
    uint64_t offset;
    bool truncated;
} rec_line;

typedef struct rec {
    pthread_mutex_t mu;
    rec_line *v;
    size_t n;
    size_t cap;
    unsigned full_every;   /* answer CS_ERR_FULL on every k-th call (0: never) */
    unsigned calls;
    size_t stop_at;        /* answer CS_ERR_CLOSED when asked for line number stop_at + 1 (0: never) */
} rec;

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
}

static void rec_free(rec *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].text);
    }
    free(r->v);
    pthread_mutex_destroy(&r->mu);
}

static cs_rc rec_sink(const char *line, size_t len, const cs_line_meta *m, void *ud)
{
    rec *r = ud;
    rec_line *l;
    cs_rc rc = CS_OK;
    pthread_mutex_lock(&r->mu);
    r->calls++;
    if (r->full_every != 0 && r->calls % r->full_every == 0) {
        rc = CS_ERR_FULL;
        goto out;
    }
    if (r->stop_at != 0 && r->n >= r->stop_at) {
        rc = CS_ERR_CLOSED;
        goto out;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        assert_non_null(r->v);
    }
    l = &r->v[r->n++];
    memset(l, 0, sizeof *l);
    l->text = malloc(len + 1);
    assert_non_null(l->text);
    memcpy(l->text, line, len);
    l->text[len] = '\0';
    l->len = len;
    snprintf(l->source, sizeof l->source, "%s", m->source);
    snprintf(l->transport, sizeof l->transport, "%s", m->transport);
    l->offset = m->offset;
    l->truncated = m->truncated;
out:
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static size_t rec_count(rec *r)
{
    size_t n;
    pthread_mutex_lock(&r->mu);
    n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Wait until at least n lines arrived; returns the count. */
static size_t rec_wait(rec *r, size_t n)
{
    for (int waited = 0; waited < WAIT_MS; waited += 5) {
        if (rec_count(r) >= n) {
            break;
        }
        sleep_ms(5);
    }
    return rec_count(r);
}

/* The lines starting with prefix are prefix%04d for first..last, in order, once each. */
static void expect_seq(rec *r, const char *prefix, int first, int last)
{
    int next = first;
    size_t plen = strlen(prefix);
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) {
        char want[64];
        if (strncmp(r->v[i].text, prefix, plen) != 0) {
            continue;
        }
        snprintf(want, sizeof want, "%s%04d", prefix, next);
        if (strcmp(r->v[i].text, want) != 0) {
            fail_msg("line %zu: got \"%s\", expected \"%s\"", i, r->v[i].text, want);
        }
        next++;
    }
    pthread_mutex_unlock(&r->mu);
    if (next != last + 1) {
        fail_msg("prefix %s: got up to %d, expected up to %d", prefix, next - 1, last);
    }
}

/* ---- files -------------------------------------------------------------- */

typedef struct tdir {
    char path[200];
} tdir;

static void tdir_make(tdir *d)
{
    int n = snprintf(d->path, sizeof d->path, "%s/cs_tail_XXXXXX", test_env("TMPDIR", "/tmp"));
    assert_true(n > 0 && (size_t)n < sizeof d->path);
    assert_non_null(mkdtemp(d->path));
}

static void rm_tree(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *e;
    assert_non_null(dir);
    while ((e = readdir(dir)) != NULL) {
        char p[512];
        struct stat sb;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            rm_tree(p);
        } else {
            unlink(p);
        }
    }
    closedir(dir);
    rmdir(path);
}

static void tdir_file(const tdir *d, const char *name, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/%s", d->path, name);
    assert_true(n > 0 && (size_t)n < outsz);
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

static int open_append(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    return fd;
}

static void append_str(const char *path, const char *s)
{
    int fd = open_append(path);
    write_all(fd, s, strlen(s));
    close(fd);
}

/* Write prefix%04d\n for first..last, a few lines per write, pausing now and then. */
static void write_seq(int fd, const char *prefix, int first, int last, int pause_every)
{
    for (int i = first; i <= last; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "%s%04d\n", prefix, i);
        write_all(fd, line, (size_t)n);
        if (pause_every > 0 && (i - first + 1) % pause_every == 0) {
            sleep_ms(7);
        }
    }
}

static void append_seq(const char *path, const char *prefix, int first, int last, int pause_every)
{
    int fd = open_append(path);
    write_seq(fd, prefix, first, last, pause_every);
    close(fd);
}

static cs_tail_opts opts_for(const char *const *patterns, size_t n)
{
    cs_tail_opts o;
    memset(&o, 0, sizeof o);
    o.patterns = patterns;
    o.npatterns = n;
    o.poll_ms = 20;
    o.rescan_ms = 100;
    o.rotate_wait_ms = 300;
    o.drain_ms = 500;
    return o;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 65536);
    assert_non_null(f);
    assert_non_null(buf);
    (void)fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

/* ---- tests -------------------------------------------------------------- */

static void test_append_partial_stop(void **state)
{
    tdir d;
    char path[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    cs_tail_stats st;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "a.log", path, sizeof path);
    pats[0] = path;
    append_str(path, "old1\nold2\n");   /* 10 bytes before the tail starts */
    rec_init(&r);
    o = opts_for(pats, 1);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    append_seq(path, "l-", 0, 99, 10);
    assert_int_equal(rec_wait(&r, 100), 100);
    expect_seq(&r, "l-", 0, 99);
    assert_int_equal(r.v[0].offset, 10);   /* the old lines were skipped, like tail -f */
    assert_int_equal(r.v[1].offset, 17);
    assert_string_equal(r.v[0].source, path);
    assert_string_equal(r.v[0].transport, "file");
    assert_false(r.v[0].truncated);
    /* a partial line waits for its newline */
    append_str(path, "part");
    sleep_ms(150);
    assert_int_equal(rec_count(&r), 100);
    append_str(path, "ial\n");
    assert_int_equal(rec_wait(&r, 101), 101);
    assert_string_equal(r.v[100].text, "partial");
    assert_int_equal(r.v[100].offset, 10 + 100 * 7);
    sleep_ms(100);
    assert_int_equal(rec_count(&r), 101);
    cs_tail_stats_get(t, &st);
    assert_int_equal(st.lines, 101);
    assert_int_equal(st.files_opened, 1);
    assert_int_equal(st.bytes, 100 * 7 + 8);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    assert_int_equal(rec_count(&r), 101);
    rec_free(&r);

    /* from_start: the whole file; a partial last line is delivered at stop */
    rec_init(&r);
    o.from_start = true;
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    assert_int_equal(rec_wait(&r, 103), 103);
    assert_string_equal(r.v[0].text, "old1");
    append_str(path, "no-newline-yet");
    sleep_ms(100);
    assert_int_equal(rec_count(&r), 103);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    assert_int_equal(rec_count(&r), 104);
    assert_string_equal(r.v[103].text, "no-newline-yet");
    rec_free(&r);
    rm_tree(d.path);
}

/* logrotate's default: rename, the daemon keeps writing to the old file for a
 * while, then writes to a new file at the same path. */
static void test_rotate_rename(void **state)
{
    tdir d;
    char path[256], moved[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    cs_tail_stats st;
    int oldfd, newfd;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "a.log", path, sizeof path);
    tdir_file(&d, "a.log.1", moved, sizeof moved);
    pats[0] = path;   /* the rotated name is NOT matched: the old inode is finished through its open fd */
    oldfd = open_append(path);
    rec_init(&r);
    o = opts_for(pats, 1);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    write_seq(oldfd, "old-", 0, 199, 25);
    assert_int_equal(rename(path, moved), 0);
    write_seq(oldfd, "old-", 200, 219, 5);   /* daemon not reopened yet */
    sleep_ms(50);
    newfd = open_append(path);
    write_seq(newfd, "new-", 0, 99, 20);
    write_seq(oldfd, "old-", 220, 229, 0);   /* a late write to the old file */
    write_seq(newfd, "new-", 100, 199, 20);
    write_all(oldfd, "tail-of-old", 11);      /* partial: delivered when the old file is finished */
    close(oldfd);
    close(newfd);
    assert_int_equal(rec_wait(&r, 431), 431);
    sleep_ms(200);
    assert_int_equal(rec_count(&r), 431);
    expect_seq(&r, "new-", 0, 199);
    expect_seq(&r, "old-", 0, 229);
    assert_string_equal(r.v[430].text, "tail-of-old");
    cs_tail_stats_get(t, &st);
    assert_int_equal(st.rotations, 1);
    assert_int_equal(st.files_opened, 2);
    assert_int_equal(st.files_closed, 1);
    assert_int_equal(st.truncations, 0);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    assert_int_equal(rec_count(&r), 431);
    rec_free(&r);
    rm_tree(d.path);
}

/* Renamed to a name the glob still matches: followed under the new name. */
static void test_rotate_glob(void **state)
{
    tdir d;
    char path[256], moved[256], pat[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    cs_tail_stats st;
    int oldfd, newfd;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "b.log", path, sizeof path);
    tdir_file(&d, "b.log.1", moved, sizeof moved);
    tdir_file(&d, "b.log*", pat, sizeof pat);
    pats[0] = pat;
    oldfd = open_append(path);
    rec_init(&r);
    o = opts_for(pats, 1);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    write_seq(oldfd, "old-", 0, 99, 20);
    assert_int_equal(rename(path, moved), 0);
    newfd = open_append(path);
    write_seq(oldfd, "old-", 100, 149, 10);
    write_seq(newfd, "new-", 0, 99, 10);
    write_seq(oldfd, "old-", 150, 159, 0);
    close(oldfd);
    close(newfd);
    assert_int_equal(rec_wait(&r, 260), 260);
    sleep_ms(150);
    assert_int_equal(rec_count(&r), 260);
    expect_seq(&r, "old-", 0, 159);
    expect_seq(&r, "new-", 0, 99);
    cs_tail_stats_get(t, &st);
    assert_int_equal(st.rotations, 1);
    assert_int_equal(st.files_opened, 2);
    assert_int_equal(st.files_closed, 0);
    for (size_t i = 0; i < r.n; i++) {
        if (strcmp(r.v[i].text, "old-0159") == 0) {
            assert_string_equal(r.v[i].source, moved);   /* read under its new name */
        }
    }
    assert_int_equal(cs_tail_stop(t), CS_OK);
    rec_free(&r);
    rm_tree(d.path);
}

static void test_copytruncate(void **state)
{
    tdir d;
    char path[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    cs_tail_stats st;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "c.log", path, sizeof path);
    pats[0] = path;
    append_seq(path, "c-", 0, 49, 0);
    rec_init(&r);
    o = opts_for(pats, 1);
    o.from_start = true;
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    assert_int_equal(rec_wait(&r, 50), 50);
    assert_int_equal(truncate(path, 0), 0);   /* logrotate copytruncate */
    append_seq(path, "t-", 0, 4, 0);
    assert_int_equal(rec_wait(&r, 55), 55);
    sleep_ms(100);
    assert_int_equal(rec_count(&r), 55);
    expect_seq(&r, "c-", 0, 49);
    expect_seq(&r, "t-", 0, 4);
    assert_int_equal(r.v[50].offset, 0);
    assert_int_equal(r.v[51].offset, 7);
    cs_tail_stats_get(t, &st);
    assert_int_equal(st.truncations, 1);
    assert_int_equal(st.rotations, 0);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    rec_free(&r);
    rm_tree(d.path);
}

static void test_glob_new_file(void **state)
{
    tdir d;
    char pat[256], x[256], y[256], z[256], sp[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    cs_tail_stats st;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "*.log", pat, sizeof pat);
    tdir_file(&d, "x.log", x, sizeof x);
    tdir_file(&d, "y.txt", y, sizeof y);
    tdir_file(&d, "z.log", z, sizeof z);
    tdir_file(&d, "tail-state.log", sp, sizeof sp);
    pats[0] = pat;
    rec_init(&r);
    o = opts_for(pats, 1);
    o.rescan_ms = 50;
    o.state_path = sp;   /* matched by the glob: never followed */
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);   /* nothing matches yet */
    sleep_ms(60);
    append_str(y, "not-matched\n");
    append_str(x, "x-0000\nx-0001\n");   /* new since start: read from its start */
    assert_int_equal(rec_wait(&r, 2), 2);
    append_seq(z, "z-", 0, 9, 0);
    append_seq(x, "x-", 2, 5, 0);
    assert_int_equal(rec_wait(&r, 16), 16);
    sleep_ms(150);
    assert_int_equal(rec_count(&r), 16);
    expect_seq(&r, "x-", 0, 5);
    expect_seq(&r, "z-", 0, 9);
    cs_tail_stats_get(t, &st);
    assert_int_equal(st.files_opened, 2);
    assert_true(st.state_saves >= 1);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    rec_free(&r);
    rm_tree(d.path);
}

/* Like tail -f, but a partial last line present at start is not cut in two. */
static void test_tail_f_partial_start(void **state)
{
    tdir d;
    char path[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "p.log", path, sizeof path);
    pats[0] = path;
    append_str(path, "done-1\ndone-2\nhalf-");
    rec_init(&r);
    o = opts_for(pats, 1);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    append_str(path, "written\nnew\n");
    assert_int_equal(rec_wait(&r, 2), 2);
    assert_string_equal(r.v[0].text, "half-written");
    assert_int_equal(r.v[0].offset, 14);
    assert_string_equal(r.v[1].text, "new");
    assert_int_equal(cs_tail_stop(t), CS_OK);
    assert_int_equal(rec_count(&r), 2);
    rec_free(&r);
    rm_tree(d.path);
}

static void run_until(const cs_tail_opts *o, rec *r, size_t n)
{
    cs_tail *t = NULL;
    assert_int_equal(cs_tail_start(o, rec_sink, r, &t), CS_OK);
    assert_int_equal(rec_wait(r, n), n);
    sleep_ms(120);
    assert_int_equal(rec_count(r), n);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    assert_int_equal(rec_count(r), n);
}

static void test_restart_state(void **state)
{
    tdir d;
    char path[256], moved[256], extra[256], pat[256], sp[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    cs_tail_stats st;
    char *text;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "d.log", path, sizeof path);
    tdir_file(&d, "d.log.1", moved, sizeof moved);
    tdir_file(&d, "d.log.2", extra, sizeof extra);
    tdir_file(&d, "d.log*", pat, sizeof pat);
    tdir_file(&d, "tail.state", sp, sizeof sp);
    pats[0] = pat;
    append_str(path, "before-first-run\n");
    o = opts_for(pats, 1);
    o.state_path = sp;

    /* first run: no state yet, like tail -f */
    rec_init(&r);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    append_seq(path, "d-", 0, 49, 10);
    assert_int_equal(rec_wait(&r, 50), 50);
    sleep_ms(1100);   /* offsets are saved within a second while running */
    text = read_text(sp);
    assert_contains(text, "citysoc-tail-state 1\n");
    assert_contains(text, path);
    free(text);
    cs_tail_stats_get(t, &st);
    assert_true(st.state_saves >= 1);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    expect_seq(&r, "d-", 0, 49);
    rec_free(&r);

    /* appended while stopped: exactly those */
    append_seq(path, "d-", 50, 79, 0);
    rec_init(&r);
    run_until(&o, &r, 30);
    expect_seq(&r, "d-", 50, 79);
    rec_free(&r);

    /* rotated while stopped: the old inode (now d.log.1) is finished from its
     * saved offset, the new d.log is read from its start, and a file new since
     * the last run (d.log.2) is read from its start too */
    append_seq(path, "d-", 80, 89, 0);
    assert_int_equal(rename(path, moved), 0);
    append_seq(path, "e-", 0, 14, 0);
    append_seq(extra, "f-", 0, 2, 0);
    rec_init(&r);
    run_until(&o, &r, 28);
    expect_seq(&r, "d-", 80, 89);
    expect_seq(&r, "e-", 0, 14);
    expect_seq(&r, "f-", 0, 2);
    rec_free(&r);

    /* nothing new: nothing delivered */
    rec_init(&r);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    sleep_ms(150);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    assert_int_equal(rec_count(&r), 0);
    rec_free(&r);

    /* replaced while stopped with only the exact path followed: the new file from its start */
    {
        const char *exact[1] = {path};
        cs_tail_opts o2 = o;
        o2.patterns = exact;
        assert_int_equal(unlink(path), 0);
        append_seq(path, "g-", 0, 3, 0);
        rec_init(&r);
        run_until(&o2, &r, 4);
        expect_seq(&r, "g-", 0, 3);
        rec_free(&r);
    }
    rm_tree(d.path);
}

/* The sink stops the input: the refused line is read again on the next start. */
static void test_sink_stop_restart(void **state)
{
    tdir d;
    char path[256], sp[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "s.log", path, sizeof path);
    tdir_file(&d, "state", sp, sizeof sp);
    pats[0] = path;
    append_seq(path, "s-", 0, 19, 0);
    o = opts_for(pats, 1);
    o.state_path = sp;
    o.from_start = true;
    rec_init(&r);
    r.stop_at = 10;
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    assert_int_equal(rec_wait(&r, 10), 10);
    sleep_ms(100);
    assert_int_equal(cs_tail_stop(t), CS_ERR_CLOSED);
    assert_contains(cs_err_msg(), "sink stopped the input");
    expect_seq(&r, "s-", 0, 9);
    rec_free(&r);
    rec_init(&r);
    run_until(&o, &r, 10);
    expect_seq(&r, "s-", 10, 19);
    rec_free(&r);
    rm_tree(d.path);
}

static void test_long_line(void **state)
{
    const size_t big = (size_t)10 * 1024 * 1024;
    tdir d;
    char path[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    cs_tail_stats st;
    char *blob;
    int fd;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "big.log", path, sizeof path);
    pats[0] = path;
    blob = malloc(big);
    assert_non_null(blob);
    memset(blob, 'A', big);
    append_str(path, "first\n");
    rec_init(&r);
    o = opts_for(pats, 1);   /* default max_line */
    o.from_start = true;
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    assert_int_equal(rec_wait(&r, 1), 1);
    fd = open_append(path);
    write_all(fd, blob, big / 2);   /* longer than max_line and still no newline: held */
    sleep_ms(120);
    assert_int_equal(rec_count(&r), 1);
    write_all(fd, blob, big - big / 2);
    write_all(fd, "\nnext\n", 6);
    close(fd);
    assert_int_equal(rec_wait(&r, 3), 3);
    assert_int_equal(r.v[1].len, CS_LINE_MAX_DEFAULT);
    assert_true(r.v[1].truncated);
    assert_int_equal(r.v[1].offset, 6);
    for (size_t i = 0; i < r.v[1].len; i++) {
        if (r.v[1].text[i] != 'A') {
            fail_msg("byte %zu of the cut line is %d", i, r.v[1].text[i]);
        }
    }
    assert_string_equal(r.v[2].text, "next");
    assert_false(r.v[2].truncated);
    assert_int_equal(r.v[2].offset, 6 + big + 1);
    cs_tail_stats_get(t, &st);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.lines, 3);
    assert_int_equal(st.bytes, 6 + big + 6);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    free(blob);
    rec_free(&r);
    rm_tree(d.path);
}

static void test_crlf_cut_edges(void **state)
{
    static const char text[] = "a\r\n"
                               "b\r\r\n"
                               "12345678\r\n"   /* 8 bytes + CRLF: not cut */
                               "123456789\n"    /* 9 bytes: cut to 8 */
                               "123456789\r\n"  /* 9 bytes + CRLF: cut to 8 */
                               "\r\n"
                               "\n"
                               "\x00\xff\x01\x80\n"
                               "\r";           /* partial, delivered at stop as it is */
    tdir d;
    char path[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    cs_tail_stats st;
    int fd;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "crlf.log", path, sizeof path);
    pats[0] = path;
    fd = open_append(path);
    write_all(fd, text, sizeof text - 1);
    close(fd);
    rec_init(&r);
    o = opts_for(pats, 1);
    o.from_start = true;
    o.max_line = 8;
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    assert_int_equal(rec_wait(&r, 8), 8);
    sleep_ms(60);
    assert_int_equal(rec_count(&r), 8);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    assert_int_equal(rec_count(&r), 9);
    assert_string_equal(r.v[0].text, "a");
    assert_int_equal(r.v[1].len, 2);
    assert_memory_equal(r.v[1].text, "b\r", 2);
    assert_string_equal(r.v[2].text, "12345678");
    assert_false(r.v[2].truncated);
    assert_string_equal(r.v[3].text, "12345678");
    assert_true(r.v[3].truncated);
    assert_string_equal(r.v[4].text, "12345678");
    assert_true(r.v[4].truncated);
    assert_int_equal(r.v[5].len, 0);
    assert_int_equal(r.v[6].len, 0);
    assert_int_equal(r.v[7].len, 4);
    assert_memory_equal(r.v[7].text, "\x00\xff\x01\x80", 4);
    assert_int_equal(r.v[8].len, 1);
    assert_int_equal(r.v[8].text[0], '\r');
    assert_int_equal(r.v[3].offset, 3 + 4 + 10);
    (void)st;
    rec_free(&r);
    rm_tree(d.path);
}

/* Random bytes: every line arrives byte for byte, split where the '\n' are. */
static void test_binary_garbage(void **state)
{
    const size_t size = 300000;
    tdir d;
    char path[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    unsigned char *blob;
    uint32_t x = 12345;
    size_t nexp = 0, start = 0, k = 0;
    int fd;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "bin.log", path, sizeof path);
    pats[0] = path;
    blob = malloc(size);
    assert_non_null(blob);
    for (size_t i = 0; i < size; i++) {
        x = x * 1103515245u + 12345u;
        blob[i] = (unsigned char)(x >> 16);
    }
    blob[size - 1] = '\n';
    for (size_t i = 0; i < size; i++) {
        nexp += blob[i] == '\n';
    }
    rec_init(&r);
    o = opts_for(pats, 1);
    fd = open_append(path);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    for (size_t off = 0; off < size; off += 7001) {   /* odd-sized writes: lines split across reads */
        size_t n = size - off < 7001 ? size - off : 7001;
        write_all(fd, blob + off, n);
    }
    close(fd);
    assert_int_equal(rec_wait(&r, nexp), nexp);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    assert_int_equal(rec_count(&r), nexp);
    for (size_t i = 0; i < size; i++) {
        if (blob[i] == '\n') {
            size_t len = i - start;
            if (len > 0 && blob[i - 1] == '\r') {
                len--;
            }
            assert_int_equal(r.v[k].offset, start);
            assert_int_equal(r.v[k].len, len);
            assert_memory_equal(r.v[k].text, blob + start, len);
            k++;
            start = i + 1;
        }
    }
    free(blob);
    rec_free(&r);
    rm_tree(d.path);
}

static void test_corrupt_state(void **state)
{
    static const char *const bad[] = {
        "hello\n",
        "citysoc-tail-state 1\n1 2 x /var/log/x\n",
        "citysoc-tail-state 1\n1 2 3 /var/log/x",            /* torn */
        "citysoc-tail-state 1\n1 2 3\n",
        "citysoc-tail-state 1\n1 2 99999999999999999999 /x\n",
        "citysoc-tail-state 1\n1 2 3 /bad\\escape\n",
        "",
    };
    tdir d;
    char path[256], sp[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    cs_tail_stats st;
    char *text;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "k.log", path, sizeof path);
    tdir_file(&d, "state", sp, sizeof sp);
    pats[0] = path;
    append_str(path, "existing\n");
    o = opts_for(pats, 1);
    o.state_path = sp;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[32];
        test_write_file(sp, bad[i]);
        rec_init(&r);
        assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
        cs_tail_stats_get(t, &st);
        assert_int_equal(st.state_errors, 1);
        snprintf(line, sizeof line, "k-%zu-", i);
        append_seq(path, line, 0, 1, 0);
        assert_int_equal(rec_wait(&r, 2), 2);   /* started fresh, like tail -f: "existing" skipped */
        expect_seq(&r, line, 0, 1);
        assert_int_equal(cs_tail_stop(t), CS_OK);
        assert_int_equal(rec_count(&r), 2);
        rec_free(&r);
        text = read_text(sp);   /* replaced by a valid one */
        assert_true(strncmp(text, "citysoc-tail-state 1\n", 21) == 0);
        free(text);
        /* and it is read back without complaint */
        rec_init(&r);
        assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
        cs_tail_stats_get(t, &st);
        assert_int_equal(st.state_errors, 0);
        assert_int_equal(cs_tail_stop(t), CS_OK);
        assert_int_equal(rec_count(&r), 0);
        rec_free(&r);
    }
    /* a state path that cannot be read is an error, not a silent fresh start */
    o.state_path = d.path;
    rec_init(&r);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_ERR_IO);
    assert_null(t);
    assert_contains(cs_err_msg(), d.path);
    /* nor is one that cannot be written */
    tdir_file(&d, "no/such/dir/state", sp, sizeof sp);
    o.state_path = sp;
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_ERR_IO);
    assert_null(t);
    assert_contains(cs_err_msg(), "no/such/dir/state");
    rec_free(&r);
    rm_tree(d.path);
}

static void test_backpressure(void **state)
{
    tdir d;
    char path[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    cs_tail_stats st;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "bp.log", path, sizeof path);
    pats[0] = path;
    append_str(path, "");
    rec_init(&r);
    r.full_every = 3;
    o = opts_for(pats, 1);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    append_seq(path, "bp-", 0, 1999, 200);
    assert_int_equal(rec_wait(&r, 2000), 2000);
    sleep_ms(100);
    assert_int_equal(rec_count(&r), 2000);
    expect_seq(&r, "bp-", 0, 1999);
    cs_tail_stats_get(t, &st);
    assert_true(st.sink_full >= 600);
    assert_int_equal(st.lines, 2000);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    rec_free(&r);
    rm_tree(d.path);
}

/* At stop, a sink that stays full is given up on after drain_ms; the lines
 * are read again on the next start. */
static void test_full_at_stop(void **state)
{
    tdir d;
    char path[256], sp[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    rec r;
    (void)state;
    tdir_make(&d);
    tdir_file(&d, "f.log", path, sizeof path);
    tdir_file(&d, "state", sp, sizeof sp);
    pats[0] = path;
    append_seq(path, "f-", 0, 4, 0);
    o = opts_for(pats, 1);
    o.state_path = sp;
    o.from_start = true;
    o.drain_ms = 100;
    rec_init(&r);
    r.full_every = 1;   /* always full */
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    sleep_ms(100);
    assert_int_equal(cs_tail_stop(t), CS_ERR_FULL);
    assert_contains(cs_err_msg(), "f.log");
    assert_int_equal(rec_count(&r), 0);
    rec_free(&r);
    rec_init(&r);
    run_until(&o, &r, 5);
    expect_seq(&r, "f-", 0, 4);
    rec_free(&r);
    rm_tree(d.path);
}

static void test_idle_cpu(void **state)
{
    tdir d;
    char pat[256];
    const char *pats[1];
    cs_tail_opts o;
    cs_tail *t = NULL;
    struct timespec a, b;
    int64_t used_us;
    rec r;
    (void)state;
    tdir_make(&d);
    for (int i = 0; i < 8; i++) {
        char name[32], p[256];
        snprintf(name, sizeof name, "idle%d.log", i);
        tdir_file(&d, name, p, sizeof p);
        append_str(p, "x\n");
    }
    tdir_file(&d, "*.log", pat, sizeof pat);
    pats[0] = pat;
    rec_init(&r);
    o = opts_for(pats, 1);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    sleep_ms(50);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    sleep_ms(600);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    used_us = (int64_t)(b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
    assert_int_equal(cs_tail_stop(t), CS_OK);
    assert_int_equal(rec_count(&r), 0);
    if (used_us > 120000) {   /* 8 files, poll 20 ms, under sanitizers: a few ms expected */
        fail_msg("idle tail used %lld us of CPU in 600 ms", (long long)used_us);
    }
    rec_free(&r);
    rm_tree(d.path);
}

typedef struct pipe_writer {
    int fd;
} pipe_writer;

static void *pipe_write_main(void *arg)
{
    pipe_writer *w = arg;
    char longline[100];
    memset(longline, 'L', sizeof longline);
    write_all(w->fd, "one\n", 4);
    sleep_ms(10);
    write_all(w->fd, "tw", 2);
    sleep_ms(10);
    write_all(w->fd, "o\r\n", 3);
    write_all(w->fd, longline, sizeof longline);
    write_all(w->fd, "\n\nlast", 6);
    close(w->fd);
    return NULL;
}

static void test_fd_pipe(void **state)
{
    int fds[2];
    pthread_t th;
    pipe_writer w;
    uint64_t n = 99;
    int dfd;
    rec r;
    (void)state;
    assert_int_equal(pipe(fds), 0);
    w.fd = fds[1];
    rec_init(&r);
    r.full_every = 2;
    assert_int_equal(pthread_create(&th, NULL, pipe_write_main, &w), 0);
    assert_int_equal(cs_fd_read_lines(fds[0], "stdin", 16, rec_sink, &r, &n), CS_OK);
    pthread_join(th, NULL);
    close(fds[0]);
    assert_int_equal(n, 5);
    assert_int_equal(r.n, 5);
    assert_string_equal(r.v[0].text, "one");
    assert_string_equal(r.v[0].transport, "stdin");
    assert_string_equal(r.v[0].source, "stdin");
    assert_int_equal(r.v[0].offset, 0);
    assert_string_equal(r.v[1].text, "two");
    assert_int_equal(r.v[1].offset, 4);
    assert_int_equal(r.v[2].len, 16);
    assert_true(r.v[2].truncated);
    assert_int_equal(r.v[2].offset, 9);
    assert_int_equal(r.v[3].len, 0);
    assert_string_equal(r.v[4].text, "last");   /* no newline: delivered at EOF */
    assert_false(r.v[4].truncated);
    rec_free(&r);

    /* errors */
    rec_init(&r);
    assert_int_equal(cs_fd_read_lines(-1, NULL, 0, rec_sink, &r, &n), CS_ERR_INVAL);
    assert_int_equal(cs_fd_read_lines(0, NULL, (size_t)CS_TAIL_LINE_MAX_LIMIT + 1, rec_sink, &r, &n), CS_ERR_INVAL);
    dfd = open("/tmp", O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(cs_fd_read_lines(dfd, "dir", 0, rec_sink, &r, &n), CS_ERR_IO);
    assert_contains(cs_err_msg(), "dir");
    close(dfd);
    /* the sink stops the stream */
    assert_int_equal(pipe(fds), 0);
    write_all(fds[1], "a\nb\nc\n", 6);
    close(fds[1]);
    r.stop_at = 1;
    assert_int_equal(cs_fd_read_lines(fds[0], NULL, 0, rec_sink, &r, &n), CS_ERR_CLOSED);
    assert_int_equal(n, 1);
    assert_string_equal(r.v[0].source, "-");
    close(fds[0]);
    rec_free(&r);
}

static void test_invalid(void **state)
{
    const char *pats[1] = {"/nonexistent/*.log"};
    const char *empty[1] = {""};
    cs_tail_opts o = opts_for(pats, 1);
    cs_tail *t = NULL;
    rec r;
    (void)state;
    rec_init(&r);
    assert_int_equal(cs_tail_start(NULL, rec_sink, &r, &t), CS_ERR_INVAL);
    assert_int_equal(cs_tail_start(&o, NULL, &r, &t), CS_ERR_INVAL);
    o.npatterns = 0;
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_ERR_INVAL);
    o = opts_for(empty, 1);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_ERR_INVAL);
    o = opts_for(pats, 1);
    o.max_line = (size_t)CS_TAIL_LINE_MAX_LIMIT + 1;
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_ERR_INVAL);
    o = opts_for(pats, 1);
    o.poll_ms = -1;
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_ERR_INVAL);
    assert_null(t);
    assert_int_equal(cs_tail_stop(NULL), CS_OK);
    /* a pattern matching nothing is fine: files may appear later */
    o = opts_for(pats, 1);
    assert_int_equal(cs_tail_start(&o, rec_sink, &r, &t), CS_OK);
    assert_int_equal(cs_tail_stop(t), CS_OK);
    rec_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_partial_stop),
        cmocka_unit_test(test_rotate_rename),
        cmocka_unit_test(test_rotate_glob),
        cmocka_unit_test(test_copytruncate),
        cmocka_unit_test(test_glob_new_file),
        cmocka_unit_test(test_tail_f_partial_start),
        cmocka_unit_test(test_restart_state),
        cmocka_unit_test(test_sink_stop_restart),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_crlf_cut_edges),
        cmocka_unit_test(test_binary_garbage),
        cmocka_unit_test(test_corrupt_state),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_full_at_stop),
        cmocka_unit_test(test_idle_cpu),
        cmocka_unit_test(test_fd_pipe),
        cmocka_unit_test(test_invalid),
    };
    cs_log_set_level(getenv("CS_TEST_LOG") ? CS_LOG_DEBUG : CS_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
