/* syslog.c - RFC 3164 / RFC 5424 parsing and the file reader (see syslog.h).
 *
 * The parser never copies the line more than once (into the event arena) and
 * never allocates besides the event. It accepts what real senders write:
 * optional <PRI>, "Mmm dd hh:mm:ss" (day space-padded, zero-padded or not
 * padded at all) or an RFC 3339 stamp, a host, then "program[pid]: message"
 * or "program: message"; anything else becomes a message-only event.
 *
 * Header quirks seen in real logs (loghub Linux/OpenSSH, OSSEC's decoder
 * cases) and handled on purpose:
 *   - "syslogd 1.4.1: restart." (sysklogd puts its version after its name):
 *     program "syslogd", message "restart.";
 *   - "host  -- root[2421]: ROOT LOGIN ON tty2" (an ident with spaces, as
 *     login writes it): program "-- root", pid 2421;
 *   - Solaris "[ID 800047 auth.notice] " message ids are header, not
 *     message: they are cut from the message (event.original keeps them);
 *   - trailing blanks of the message are dropped (same reason).
 */
#include "syslog.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../runtime/timeutil.h"

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int two(const char *s)
{
    return (s[0] == ' ' ? 0 : (s[0] - '0') * 10) + (s[1] - '0');
}

/* "Mmm dd hh:mm:ss" at s: 15 bytes, or 14 when the day is not padded
 * ("Aug 1 15:44:10", which some senders write). *used gets the length. */
static bool parse_3164_time(const char *s, size_t len, const cs_syslog_opts *o, int64_t *us, size_t *used)
{
    int mon = -1, day, h, m, sec;
    int64_t ref = o->reference_us ? o->reference_us : cs_now_us();
    int64_t ref_s = ref / 1000000 + o->tz_offset_s;
    int year;
    int64_t t;
    const char *tm;

    if (len < 14 || s[3] != ' ') {
        return false;
    }
    for (int i = 0; i < 12; i++) {
        if (memcmp(s, months[i], 3) == 0) {
            mon = i + 1;
            break;
        }
    }
    if (mon < 0) {
        return false;
    }
    if (is_digit(s[4]) && s[5] == ' ') {
        day = s[4] - '0';
        tm = s + 6;
        *used = 14;
    } else if (len >= 15 && (is_digit(s[4]) || s[4] == ' ') && is_digit(s[5]) && s[6] == ' ') {
        day = two(s + 4);
        tm = s + 7;
        *used = 15;
    } else {
        return false;
    }
    if (tm[2] != ':' || tm[5] != ':' || !is_digit(tm[0]) || !is_digit(tm[1]) || !is_digit(tm[3]) ||
        !is_digit(tm[4]) || !is_digit(tm[6]) || !is_digit(tm[7])) {
        return false;
    }
    h = two(tm);
    m = two(tm + 3);
    sec = two(tm + 6);
    if (day < 1 || day > 31 || h > 23 || m > 59 || sec > 60) {
        return false;
    }
    {
        /* year of the reference instant, in the configured zone */
        int64_t days = ref_s / 86400;
        int64_t z = days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        year = (int)(yoe + era * 400 + ((mp < 10 ? mp + 3 : mp - 9) <= 2));
    }
    t = cs_time_from_civil(year, mon, day, h, m, sec);
    if (t > ref_s + 31 * 86400) {
        t = cs_time_from_civil(year - 1, mon, day, h, m, sec);
    }
    *us = (t - o->tz_offset_s) * 1000000;
    return true;
}

static size_t span_token(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && s[i] != ' ') {
        i++;
    }
    return i;
}

static cs_rc add_tok(cs_event **ev, cs_fid id, const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '-')) {
        return CS_OK;   /* RFC 5424 nil value */
    }
    return cs_event_add_str(ev, id, s, n);
}

/* "[digits]:" at s[i] (i at the '['): index just past the ':' or 0. */
static size_t pid_suffix(const char *s, size_t len, size_t i, int64_t *pid, bool *has_pid)
{
    size_t p = i + 1;
    int64_t v = 0;
    while (p < len && is_digit(s[p]) && p - i < 12) {
        v = v * 10 + (s[p] - '0');
        p++;
    }
    if (p >= len || s[p] != ']' || p + 1 >= len || s[p + 1] != ':') {
        return 0;
    }
    *pid = v;
    *has_pid = p > i + 1;
    return p + 2;
}

typedef struct tag_split {
    size_t name_off, name_len;   /* program */
    size_t msg_off;              /* where the message starts */
    int64_t pid;
    bool has_pid;
} tag_split;

/* Split "program[pid]: msg" or "program: msg", and after a time stamp
 * (quirks) also "program 1.2.3: msg" and "an ident[pid]: msg"; false if the
 * text has none of those shapes. */
static bool split_tag(const char *s, size_t len, bool quirks, tag_split *t)
{
    size_t i = 0;
    memset(t, 0, sizeof *t);
    while (i < len && i < 64 && s[i] != '[' && s[i] != ':' && s[i] != ' ') {
        i++;
    }
    if (i > 0 && i < len) {
        if (s[i] == '[') {
            size_t end = pid_suffix(s, len, i, &t->pid, &t->has_pid);
            if (end != 0) {
                t->name_len = i;
                t->msg_off = end;
                return true;
            }
        } else if (s[i] == ':') {
            t->name_len = i;
            t->msg_off = i + 1;
            return true;
        } else if (quirks && i + 1 < len && is_digit(s[i + 1])) {
            /* sysklogd writes "syslogd 1.4.1: restart." */
            size_t v = i + 1;
            while (v < len && v < i + 17 && (is_digit(s[v]) || s[v] == '.')) {
                v++;
            }
            if (v < len && s[v] == ':') {
                t->name_len = i;
                t->msg_off = v + 1;
                return true;
            }
        }
    }
    /* an ident with spaces ("-- root[2421]: ..."): only before any ':' */
    for (size_t k = 1; quirks && k < len && k < 64 && s[k] != ':'; k++) {
        size_t end, b = 0, e = k;
        if (s[k] != '[' || (end = pid_suffix(s, len, k, &t->pid, &t->has_pid)) == 0) {
            continue;
        }
        while (b < e && s[b] == ' ') {
            b++;
        }
        while (e > b && s[e - 1] == ' ') {
            e--;
        }
        if (e == b) {
            return false;
        }
        t->name_off = b;
        t->name_len = e - b;
        t->msg_off = end;
        return true;
    }
    return false;
}

/* The message without trailing blanks and, when asked, without a leading
 * Solaris message id ("[ID 800047 auth.notice] "). */
static cs_rc add_message(cs_event **ev, const char *s, size_t n, bool solaris)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    if (solaris && n > 6 && memcmp(s, "[ID ", 4) == 0 && is_digit(s[4])) {
        size_t i = 4;
        while (i < n && is_digit(s[i])) {
            i++;
        }
        if (i < n && s[i] == ' ') {
            i++;
            while (i < n && s[i] != ']' && s[i] != ' ' && s[i] != '[') {
                i++;
            }
            if (i < n && s[i] == ']') {
                i++;
                while (i < n && s[i] == ' ') {
                    i++;
                }
                s += i;
                n -= i;
            }
        }
    }
    return cs_event_add_str(ev, CS_F_MESSAGE, s, n);
}

/* Add program, pid and message when the text has a tag; *matched says so. */
static cs_rc parse_tag(cs_event **ev, const char *s, size_t len, bool quirks, bool *matched)
{
    tag_split t;
    size_t i;
    cs_rc rc;
    *matched = false;
    if (!split_tag(s, len, quirks, &t)) {
        return CS_OK;
    }
    if ((rc = cs_event_add_str(ev, CS_F_PROCESS_NAME, s + t.name_off, t.name_len)) != CS_OK) {
        return rc;
    }
    if (t.has_pid && (rc = cs_event_add_int(ev, CS_F_PROCESS_PID, t.pid)) != CS_OK) {
        return rc;
    }
    i = t.msg_off;
    while (i < len && s[i] == ' ') {
        i++;
    }
    *matched = true;
    return add_message(ev, s + i, len - i, true);
}

#define SD_MAX_PARAMS 64
#define SD_NAME_MAX 32

/* RFC 5424 structured data, [id name="value" ...][id2 ...], into fields
 * log.syslog.structured_data.<id>.<name> (ECS keeps it there). Names follow
 * the RFC (1-32 printable ASCII, no '=', ' ', ']' or '"'); a malformed
 * element ends the parse, the raw line stays in event.original. */
static bool sd_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > SD_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 32 || c >= 127 || c == '=' || c == ']' || c == '"') {
            return false;
        }
    }
    return true;
}

static cs_rc parse_sd(cs_event **ev, const char *s, size_t n)
{
    static const char prefix[] = "log.syslog.structured_data.";
    char name[sizeof prefix + 2 * SD_NAME_MAX + 2];
    char value[1024];
    size_t i = 0;
    int params = 0;
    while (i < n && s[i] == '[' && params < SD_MAX_PARAMS) {
        size_t id0 = ++i, idl;
        while (i < n && s[i] != ' ' && s[i] != ']') {
            i++;
        }
        idl = i - id0;
        if (!sd_name_ok(s + id0, idl)) {
            return CS_OK;
        }
        while (i < n && s[i] == ' ' && params < SD_MAX_PARAMS) {
            size_t k0 = ++i, kl, vl = 0;
            size_t nl;
            cs_fid id;
            cs_rc rc;
            while (i < n && s[i] != '=') {
                i++;
            }
            kl = i - k0;
            if (i + 1 >= n || s[i + 1] != '"' || !sd_name_ok(s + k0, kl)) {
                return CS_OK;
            }
            i += 2;
            while (i < n && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == ']')) {
                    i++;   /* RFC 5424 escapes */
                }
                if (vl < sizeof value) {
                    value[vl++] = s[i];
                }
                i++;
            }
            if (i >= n) {
                return CS_OK;
            }
            i++;   /* closing quote */
            nl = sizeof prefix - 1;
            memcpy(name, prefix, nl);
            memcpy(name + nl, s + id0, idl);
            nl += idl;
            name[nl++] = '.';
            memcpy(name + nl, s + k0, kl);
            nl += kl;
            id = cs_field_intern(name, nl);
            if (id != CS_F_NONE && (rc = cs_event_add_str(ev, id, value, vl)) != CS_OK) {
                return rc;
            }
            params++;
        }
        if (i >= n || s[i] != ']') {
            return CS_OK;
        }
        i++;
    }
    return CS_OK;
}

cs_rc cs_syslog_parse(const char *line, size_t len, const cs_syslog_opts *opts, cs_event **out)
{
    static const cs_syslog_opts defaults = {0, 0};
    const cs_syslog_opts *o = opts ? opts : &defaults;
    cs_event *ev;
    const char *s = line;
    size_t n = len;
    int pri = -1;
    int64_t ts = 0;
    bool have_ts = false;
    bool tagged = false;
    cs_rc rc;

    *out = NULL;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) {
        n--;
    }
    ev = cs_event_new_sized(CS_KIND_LOG, 0, 12, n * 2 + 64);
    if (ev == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory parsing a log line");
    }
    if ((rc = cs_event_add_str(&ev, CS_F_EVENT_ORIGINAL, s, n)) != CS_OK) {
        goto fail;
    }
    if (n > 2 && s[0] == '<') {
        size_t i = 1;
        int v = 0;
        while (i < n && i < 5 && is_digit(s[i])) {
            v = v * 10 + (s[i] - '0');
            i++;
        }
        if (i > 1 && i < n && s[i] == '>' && v <= 191) {
            pri = v;
            s += i + 1;
            n -= i + 1;
        }
    }
    if (pri >= 0) {
        if ((rc = cs_event_add_int(&ev, CS_F_LOG_SYSLOG_PRIORITY, pri)) != CS_OK ||
            (rc = cs_event_add_int(&ev, CS_F_LOG_SYSLOG_FACILITY, pri / 8)) != CS_OK ||
            (rc = cs_event_add_int(&ev, CS_F_LOG_SYSLOG_SEVERITY, pri % 8)) != CS_OK) {
            goto fail;
        }
    }
    if (n > 2 && s[0] == '1' && s[1] == ' ') {
        /* RFC 5424: VERSION SP TIMESTAMP SP HOST SP APP SP PROCID SP MSGID SP SD [SP MSG] */
        const char *p = s + 2;
        size_t left = n - 2;
        size_t t;
        const char *tok[5];
        size_t tl[5];
        for (int k = 0; k < 5; k++) {
            t = span_token(p, left);
            tok[k] = p;
            tl[k] = t;
            if (t >= left) {
                left = 0;
                p += t;
                for (int z = k + 1; z < 5; z++) {
                    tok[z] = p;
                    tl[z] = 0;
                }
                break;
            }
            p += t + 1;
            left -= t + 1;
        }
        if (cs_time_parse(tok[0], tl[0], &ts)) {
            have_ts = true;
        }
        if ((rc = add_tok(&ev, CS_F_HOST_NAME, tok[1], tl[1])) != CS_OK ||
            (rc = add_tok(&ev, CS_F_PROCESS_NAME, tok[2], tl[2])) != CS_OK ||
            (rc = add_tok(&ev, CS_F_LOG_SYSLOG_APPNAME, tok[2], tl[2])) != CS_OK ||
            (rc = add_tok(&ev, cs_field_intern("log.syslog.msgid", 16), tok[4], tl[4])) != CS_OK) {
            goto fail;
        }
        if (tl[3] > 0 && tl[3] < 12 && is_digit(tok[3][0])) {
            int64_t pid = 0;
            for (size_t k = 0; k < tl[3] && is_digit(tok[3][k]); k++) {
                pid = pid * 10 + (tok[3][k] - '0');
            }
            if ((rc = cs_event_add_int(&ev, CS_F_PROCESS_PID, pid)) != CS_OK) {
                goto fail;
            }
        }
        /* structured data: "-" or [..]..; each param becomes a field */
        if (left > 0 && p[0] == '[') {
            const char *sd = p;
            bool in_q = false;
            while (left > 0) {
                char c = p[0];
                if (c == '\\' && left > 1) {
                    p += 2;
                    left -= 2;
                    continue;
                }
                if (c == '"') {
                    in_q = !in_q;
                } else if (c == ']' && !in_q && (left == 1 || p[1] != '[')) {
                    p++;
                    left--;
                    break;
                }
                p++;
                left--;
            }
            if ((rc = parse_sd(&ev, sd, (size_t)(p - sd))) != CS_OK) {
                goto fail;
            }
        } else if (left > 0 && p[0] == '-') {
            p++;
            left--;
        }
        if (left > 0 && p[0] == ' ') {
            p++;
            left--;
        }
        if (left >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF) {
            p += 3;
            left -= 3;
        }
        tagged = true;
        if ((rc = add_message(&ev, p, left, false)) != CS_OK) {
            goto fail;
        }
    } else {
        size_t skip = 0;
        if (parse_3164_time(s, n, o, &ts, &skip)) {
            have_ts = true;
        } else {
            size_t t = span_token(s, n);
            if (t > 0 && cs_time_parse(s, t, &ts)) {
                have_ts = true;
                skip = t;
            }
        }
        if (have_ts) {
            size_t h;
            s += skip;
            n -= skip;
            while (n > 0 && s[0] == ' ') {
                s++;
                n--;
            }
            h = span_token(s, n);
            if (h > 0 && h < n && s[h - 1] != ':') {
                if ((rc = cs_event_add_str(&ev, CS_F_HOST_NAME, s, h)) != CS_OK) {
                    goto fail;
                }
                s += h + 1;
                n -= h + 1;
                while (n > 0 && s[0] == ' ') {
                    s++;
                    n--;
                }
            }
        }
        if ((rc = parse_tag(&ev, s, n, have_ts, &tagged)) != CS_OK) {
            goto fail;
        }
        if (!tagged && (rc = add_message(&ev, s, n, false)) != CS_OK) {
            goto fail;
        }
    }
    if (!have_ts) {
        ts = o->reference_us ? o->reference_us : cs_now_us();
        if ((rc = cs_event_add_cstr(&ev, CS_F_TAGS, "citysoc.no_timestamp")) != CS_OK) {
            goto fail;
        }
    }
    ev->ts_us = ts;
    if ((rc = cs_event_add_cstr(&ev, CS_F_EVENT_MODULE, "syslog")) != CS_OK) {
        goto fail;
    }
    *out = ev;
    return CS_OK;
fail:
    cs_event_free(ev);
    return rc;
}

cs_rc cs_logfile_replay(const char *path, const char *format, const cs_syslog_opts *opts, cs_event_sink sink,
                        void *ud, cs_logfile_stats *stats)
{
    FILE *fp = NULL;
    char *buf = NULL;
    size_t have = 0;        /* bytes of the current line kept */
    bool overlong = false;  /* current line passed CS_LOG_LINE_MAX */
    char chunk[65536];
    cs_syslog_opts o = opts ? *opts : (cs_syslog_opts){0, 0};
    cs_logfile_stats st;
    struct stat sb;
    size_t got;
    long lineno = 0;
    uint64_t pos = 0;          /* file offset of chunk[0] */
    uint64_t line_start = 0;   /* file offset of the current line */
    cs_rc rc = CS_OK;

    memset(&st, 0, sizeof st);
    if (format != NULL && strcmp(format, "syslog") != 0) {
        return cs_err_set(CS_ERR_USAGE, "%s: unknown log format '%s' (known: syslog)", path, format);
    }
    fp = fopen(path, "rb");
    if (fp == NULL) {
        return cs_err_set(CS_ERR_IO, "%s: cannot open log: %s", path, strerror(errno));
    }
    if (fstat(fileno(fp), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(fp);
        return cs_err_set(CS_ERR_IO, "%s: is a directory, not a log file", path);
    }
    if (o.reference_us == 0 && fstat(fileno(fp), &sb) == 0) {
        o.reference_us = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
    }
    buf = malloc(CS_LOG_LINE_MAX);
    if (buf == NULL) {
        fclose(fp);
        return cs_err_set(CS_ERR_NOMEM, "out of memory reading %s", path);
    }
    for (;;) {
        size_t i = 0;
        bool eof;
        got = fread(chunk, 1, sizeof chunk, fp);
        eof = got < sizeof chunk;
        if (got == 0 && ferror(fp)) {
            rc = cs_err_set(CS_ERR_IO, "%s: read error after line %ld: %s", path, lineno, strerror(errno));
            break;
        }
        st.bytes += got;
        while (i < got || (eof && i == got && (have > 0 || overlong))) {
            const char *nl = i < got ? memchr(chunk + i, '\n', got - i) : NULL;
            size_t take = nl ? (size_t)(nl - (chunk + i)) : got - i;
            size_t room = CS_LOG_LINE_MAX - have;
            cs_event *ev;
            if (have == 0 && !overlong) {
                line_start = pos + i;
            }
            if (take > room) {
                overlong = true;
            }
            memcpy(buf + have, chunk + i, take < room ? take : room);
            have += take < room ? take : room;
            i += take;
            if (nl == NULL && !(eof && i == got)) {
                break;   /* line continues in the next chunk */
            }
            if (nl != NULL) {
                i++;
            }
            lineno++;
            st.lines++;
            rc = cs_syslog_parse(buf, have, &o, &ev);
            if (rc == CS_OK && overlong) {
                st.truncated++;
                rc = cs_event_add_cstr(&ev, CS_F_TAGS, "citysoc.truncated");
            }
            if (rc == CS_OK) {
                rc = cs_event_add_cstr(&ev, CS_F_LOG_FILE_PATH, path);
            }
            if (rc == CS_OK) {
                rc = cs_event_add_int(&ev, CS_F_LOG_OFFSET, (int64_t)line_start);
            }
            if (rc != CS_OK) {
                cs_event_free(ev);
                cs_err_wrap(rc, "%s:%ld", path, lineno);
                goto out;
            }
            rc = sink(ev, ud);
            if (rc != CS_OK) {
                goto out;
            }
            have = 0;
            overlong = false;
            if (eof && i == got) {
                break;
            }
        }
        pos += got;
        if (eof) {
            break;
        }
    }
out:
    free(buf);
    fclose(fp);
    if (stats != NULL) {
        *stats = st;
    }
    return rc;
}
