/* syslog.c - RFC 3164 / RFC 5424 parsing and the file reader (see syslog.h).
 *
 * The parser never copies the line more than once (into the event arena) and
 * never allocates besides the event. It accepts what real senders write:
 * optional <PRI>, "Mmm dd hh:mm:ss" or an RFC 3339 stamp, a host, then
 * "program[pid]: message" or "program: message"; anything else becomes a
 * message-only event.
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

/* "Mmm dd hh:mm:ss" at s (15 bytes). */
static bool parse_3164_time(const char *s, size_t len, const cs_syslog_opts *o, int64_t *us)
{
    int mon = -1, day, h, m, sec;
    int64_t ref = o->reference_us ? o->reference_us : cs_now_us();
    int64_t ref_s = ref / 1000000 + o->tz_offset_s;
    int year;
    int64_t t;

    if (len < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':') {
        return false;
    }
    for (int i = 0; i < 12; i++) {
        if (memcmp(s, months[i], 3) == 0) {
            mon = i + 1;
            break;
        }
    }
    if (mon < 0 || !(is_digit(s[4]) || s[4] == ' ') || !is_digit(s[5]) || !is_digit(s[7]) || !is_digit(s[8]) ||
        !is_digit(s[10]) || !is_digit(s[11]) || !is_digit(s[13]) || !is_digit(s[14])) {
        return false;
    }
    day = two(s + 4);
    h = two(s + 7);
    m = two(s + 10);
    sec = two(s + 13);
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

/* "program[pid]: msg" or "program: msg"; returns false if not that shape. */
static cs_rc parse_tag(cs_event **ev, const char *s, size_t len, bool *matched)
{
    size_t i = 0;
    cs_rc rc;
    *matched = false;
    while (i < len && i < 64 && s[i] != '[' && s[i] != ':' && s[i] != ' ') {
        i++;
    }
    if (i == 0 || i >= len) {
        return CS_OK;
    }
    if (s[i] == '[') {
        size_t p = i + 1;
        int64_t pid = 0;
        while (p < len && is_digit(s[p]) && p - i < 12) {
            pid = pid * 10 + (s[p] - '0');
            p++;
        }
        if (p >= len || s[p] != ']' || p + 1 >= len || s[p + 1] != ':') {
            return CS_OK;
        }
        if ((rc = cs_event_add_str(ev, CS_F_PROCESS_NAME, s, i)) != CS_OK) {
            return rc;
        }
        if (p > i + 1 && (rc = cs_event_add_int(ev, CS_F_PROCESS_PID, pid)) != CS_OK) {
            return rc;
        }
        i = p + 2;
    } else if (s[i] == ':') {
        if ((rc = cs_event_add_str(ev, CS_F_PROCESS_NAME, s, i)) != CS_OK) {
            return rc;
        }
        i++;
    } else {
        return CS_OK;
    }
    while (i < len && s[i] == ' ') {
        i++;
    }
    *matched = true;
    return cs_event_add_str(ev, CS_F_MESSAGE, s + i, len - i);
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
            (rc = add_tok(&ev, CS_F_PROCESS_NAME, tok[2], tl[2])) != CS_OK) {
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
        /* structured data: "-" or [..]..; skip it, keep the message */
        if (left > 0 && p[0] == '[') {
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
        if ((rc = cs_event_add_str(&ev, CS_F_MESSAGE, p, left)) != CS_OK) {
            goto fail;
        }
    } else {
        size_t skip = 0;
        if (parse_3164_time(s, n, o, &ts)) {
            have_ts = true;
            skip = 15;
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
            }
        }
        if ((rc = parse_tag(&ev, s, n, &tagged)) != CS_OK) {
            goto fail;
        }
        if (!tagged && (rc = cs_event_add_str(&ev, CS_F_MESSAGE, s, n)) != CS_OK) {
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
