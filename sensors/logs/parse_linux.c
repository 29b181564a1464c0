/* parse_linux.c - program normalisers for Linux syslog events (see
 * cs_log_normalize() in logparse.h).
 *
 * Design note. cs_syslog_parse() has already split the header; here we look
 * at process.name and the message and add what a rule needs: the logsource
 * (product linux, a Sigma service, category firewall for packet logs), the
 * ECS fields (event.category/action/outcome, user.*, source.*, process.*)
 * and, where SigmaHQ rules use other names, those too (sudo's USER/COMMAND,
 * the legacy pam_* names, the firewall src_ip/dst_ip/src_port/dst_port/
 * action). Parsing is plain prefix tests and memmem/memchr over the message;
 * there is no regex and no heap use in the normal path.
 *
 * The message lives in the event's own arena, and every add may move the
 * event. So scanning works on positions (offsets from the message start),
 * never on pointers kept across an add, and a substring of the message is
 * added through put_span(), which copies it out first (a stack buffer; the
 * heap only for a value over 4 KiB).
 *
 * Content never makes this fail: a message that matches no known shape gets
 * the logsource only. Only memory and event limits are errors.
 *
 * event.action vocabulary (stable, used by rules and the console):
 *   sshd : ssh_login, ssh_invalid_user, ssh_auth_request, ssh_connection_closed,
 *          ssh_disconnect, ssh_max_auth_attempts, ssh_reverse_mapping_failed,
 *          ssh_no_identification, ssh_bad_protocol, ssh_negotiation_failed,
 *          ssh_refused_connect, ssh_timeout, ssh_connection
 *   PAM  : pam_auth_failure, pam_user_unknown, session_opened,
 *          session_closed, password_changed
 *   sudo : sudo_command, sudo_auth_failure, sudo_denied
 *   su   : su
 *   cron : cron_command, crontab_<verb> (crontab_replace, crontab_list, ...)
 *   iam  : user_created, group_created, user_deleted, group_deleted,
 *          user_added_to_group, user_removed_from_group, user_modified,
 *          password_changed
 *   firewall: block, allow, audit (from the UFW tag or the log prefix)
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logparse.h"

#define NPOS SIZE_MAX
#define SL(lit) (sizeof(lit) - 1)   /* length of a string literal */

/* ---- names that are not in fields.def, interned once ---- */

enum {
    XF_SSH_METHOD,
    XF_PAM_MESSAGE,
    XF_PAM_RHOST,
    XF_PAM_USER,
    XF_PAM_RUSER,
    XF_SUDO_USER,
    XF_SUDO_COMMAND,
    XF_SUDO_PWD,
    XF_SUDO_TTY,
    XF_SUDO_GROUP,
    XF_GROUP_ID,
    XF_SRC_IP,
    XF_DST_IP,
    XF_SRC_PORT,
    XF_DST_PORT,
    XF_ACTION,
    XF_BLOCKED,
    XF__COUNT
};

static const char *const xf_names[XF__COUNT] = {
    [XF_SSH_METHOD] = "system.auth.ssh.method",   /* Filebeat's name for it */
    [XF_PAM_MESSAGE] = "pam_message",             /* legacy SigmaHQ linux auth rules */
    [XF_PAM_RHOST] = "pam_rhost",
    [XF_PAM_USER] = "pam_user",
    [XF_PAM_RUSER] = "pam_ruser",
    [XF_SUDO_USER] = "USER",                      /* SigmaHQ sudo rules (CVE-2019-14287) */
    [XF_SUDO_COMMAND] = "COMMAND",
    [XF_SUDO_PWD] = "PWD",
    [XF_SUDO_TTY] = "TTY",
    [XF_SUDO_GROUP] = "GROUP",
    [XF_GROUP_ID] = "group.id",
    [XF_SRC_IP] = "src_ip",                       /* SigmaHQ category firewall */
    [XF_DST_IP] = "dst_ip",
    [XF_SRC_PORT] = "src_port",
    [XF_DST_PORT] = "dst_port",
    [XF_ACTION] = "action",
    [XF_BLOCKED] = "blocked",
};

static cs_fid g_xf[XF__COUNT];
static pthread_once_t g_xf_once = PTHREAD_ONCE_INIT;

static void xf_init(void)
{
    for (int i = 0; i < XF__COUNT; i++) {
        g_xf[i] = cs_field_intern(xf_names[i], strlen(xf_names[i]));
    }
}

static cs_fid xf(int which)
{
    pthread_once(&g_xf_once, xf_init);
    return g_xf[which];
}

/* ---- pure scanning helpers over (m, n) ---- */

typedef struct span {
    size_t off, len;   /* len 0 = absent */
} span;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* First occurrence of lit in m[from, n), or NPOS. */
static size_t find(const char *m, size_t n, size_t from, const char *lit)
{
    size_t ll = strlen(lit);
    const char *p;
    if (from > n || n - from < ll) {
        return NPOS;
    }
    p = memmem(m + from, n - from, lit, ll);
    return p ? (size_t)(p - m) : NPOS;
}

/* Last occurrence of lit starting in m[from, n), or NPOS. */
static size_t rfind(const char *m, size_t n, size_t from, const char *lit)
{
    size_t ll = strlen(lit);
    if (from > n || n - from < ll) {
        return NPOS;
    }
    for (size_t i = n - ll + 1; i-- > from;) {
        if (m[i] == lit[0] && memcmp(m + i, lit, ll) == 0) {
            return i;
        }
    }
    return NPOS;
}

static bool at(const char *m, size_t n, size_t pos, const char *lit)
{
    size_t ll = strlen(lit);
    return pos <= n && n - pos >= ll && memcmp(m + pos, lit, ll) == 0;
}

static bool ends(const char *m, size_t n, const char *lit)
{
    size_t ll = strlen(lit);
    return n >= ll && memcmp(m + n - ll, lit, ll) == 0;
}

/* The token at pos, up to a space or end. */
static span token(const char *m, size_t n, size_t pos)
{
    span s = {pos, 0};
    while (pos + s.len < n && m[pos + s.len] != ' ') {
        s.len++;
    }
    return s;
}

static span mkspan(size_t b, size_t e)
{
    span s = {b, e > b ? e - b : 0};
    return s;
}

/* Trim blanks on both sides. */
static span trim(const char *m, span s)
{
    while (s.len > 0 && (m[s.off] == ' ' || m[s.off] == '\t')) {
        s.off++;
        s.len--;
    }
    while (s.len > 0 && (m[s.off + s.len - 1] == ' ' || m[s.off + s.len - 1] == '\t')) {
        s.len--;
    }
    return s;
}

static bool all_digits(const char *m, span s)
{
    if (s.len == 0 || s.len > 18) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (!is_digit(m[s.off + i])) {
            return false;
        }
    }
    return true;
}

static int64_t to_int(const char *m, span s)
{
    int64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        v = v * 10 + (m[s.off + i] - '0');
    }
    return v;
}

/* Digits at pos (a port number): its span, or len 0. */
static span digits_at(const char *m, size_t n, size_t pos)
{
    span s = {pos, 0};
    while (pos + s.len < n && s.len < 8 && is_digit(m[pos + s.len])) {
        s.len++;
    }
    return s;
}

/* An address token as sshd writes it: cut a trailing ':' or ','. */
static span addr_token(const char *m, size_t n, size_t pos)
{
    span s = token(m, n, pos);
    while (s.len > 0 && (m[s.off + s.len - 1] == ':' || m[s.off + s.len - 1] == ',')) {
        s.len--;
    }
    return s;
}

/* Does this look like an IP address or a host name (no spaces, no quotes)? */
static bool addr_like(const char *m, span s)
{
    if (s.len == 0 || s.len > 255) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        char c = m[s.off + i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '-' ||
              c == ':' || c == '_' || c == '%')) {
            return false;
        }
    }
    return true;
}

/* ---- the event being normalised ---- */

enum {
    HAVE_USER = 1u << 0,
    HAVE_SIP = 1u << 1,
    HAVE_SPORT = 1u << 2,
    HAVE_OUTCOME = 1u << 3,
    HAVE_ACTION = 1u << 4,
    HAVE_CATEGORY = 1u << 5,
    HAVE_TARGET = 1u << 6,
    HAVE_SDOMAIN = 1u << 7,
};

typedef struct nz {
    cs_event **ev;
    uint32_t off;    /* message offset in the arena */
    size_t len;      /* message length */
    unsigned have;   /* HAVE_* already added */
} nz;

/* The message text; valid until the next add. */
static const char *msg(const nz *z)
{
    const cs_event *ev = *z->ev;
    return (const char *)(cs_event_fields(ev) + ev->cap_fields) + z->off;
}

/* Add a substring of the message. The source is copied out first because
 * the add may move the arena it lives in. */
static cs_rc put_span(nz *z, cs_fid id, span s)
{
    char buf[4096];
    char *heap = NULL;
    char *p = buf;
    cs_rc rc;
    if (id == CS_F_NONE || s.len == 0) {
        return CS_OK;
    }
    if (s.len > sizeof buf) {
        heap = malloc(s.len);
        if (heap == NULL) {
            return cs_err_set(CS_ERR_NOMEM, "out of memory normalising a log line");
        }
        p = heap;
    }
    memcpy(p, msg(z) + s.off, s.len);
    rc = cs_event_add_str(z->ev, id, p, s.len);
    free(heap);
    return rc;
}

static cs_rc put_lit(nz *z, cs_fid id, const char *s)
{
    return id == CS_F_NONE ? CS_OK : cs_event_add_cstr(z->ev, id, s);
}

static cs_rc put_int(nz *z, cs_fid id, int64_t v)
{
    return id == CS_F_NONE ? CS_OK : cs_event_add_int(z->ev, id, v);
}

/* Category, action, outcome (NULL = leave out), each at most once. */
static cs_rc put_cao(nz *z, const char *category, const char *action, const char *outcome)
{
    cs_rc rc = CS_OK;
    if (category != NULL && !(z->have & HAVE_CATEGORY)) {
        z->have |= HAVE_CATEGORY;
        rc = put_lit(z, CS_F_EVENT_CATEGORY, category);
    }
    if (rc == CS_OK && action != NULL && !(z->have & HAVE_ACTION)) {
        z->have |= HAVE_ACTION;
        rc = put_lit(z, CS_F_EVENT_ACTION, action);
    }
    if (rc == CS_OK && outcome != NULL && !(z->have & HAVE_OUTCOME)) {
        z->have |= HAVE_OUTCOME;
        rc = put_lit(z, CS_F_EVENT_OUTCOME, outcome);
    }
    return rc;
}

static cs_rc put_user(nz *z, span s)
{
    if (s.len == 0 || (z->have & HAVE_USER)) {
        return CS_OK;
    }
    z->have |= HAVE_USER;
    return put_span(z, CS_F_USER_NAME, s);
}

static cs_rc put_target(nz *z, span s)
{
    if (s.len == 0 || (z->have & HAVE_TARGET)) {
        return CS_OK;
    }
    z->have |= HAVE_TARGET;
    return put_span(z, CS_F_USER_TARGET_NAME, s);
}

/* Parse an address span as IP (IPv6 zone ids dropped, "::ffff:a.b.c.d" kept
 * as written); false if it is not one. */
static bool span_ip(const char *m, span s, cs_ip *ip)
{
    const char *pct;
    if (s.len == 0) {
        return false;
    }
    pct = memchr(m + s.off, '%', s.len);
    if (pct != NULL) {
        s.len = (size_t)(pct - (m + s.off));
    }
    if (s.len >= 2 && m[s.off] == '[' && m[s.off + s.len - 1] == ']') {
        s.off++;
        s.len -= 2;
    }
    return cs_ip_parse(m + s.off, s.len, ip);
}

/* An address: an IP goes to ipf (typed), anything else host-like to domf. */
static cs_rc put_addr(nz *z, cs_fid ipf, cs_fid domf, span s)
{
    cs_ip ip;
    const char *m = msg(z);
    if (s.len == 0) {
        return CS_OK;
    }
    if (span_ip(m, s, &ip)) {
        if (ipf == CS_F_SOURCE_IP) {
            if (z->have & HAVE_SIP) {
                return CS_OK;
            }
            z->have |= HAVE_SIP;
        }
        return cs_event_add_ip(z->ev, ipf, &ip);
    }
    if (domf == CS_F_NONE || !addr_like(m, s) || (s.len == 1 && m[s.off] == '?')) {
        return CS_OK;
    }
    if (domf == CS_F_SOURCE_DOMAIN) {
        if (z->have & HAVE_SDOMAIN) {
            return CS_OK;
        }
        z->have |= HAVE_SDOMAIN;
    }
    return put_span(z, domf, s);
}

static cs_rc put_port(nz *z, cs_fid id, span s)
{
    const char *m = msg(z);
    int64_t v;
    if (!all_digits(m, s) || (v = to_int(m, s)) > 65535) {
        return CS_OK;
    }
    if (id == CS_F_SOURCE_PORT) {
        if (z->have & HAVE_SPORT) {
            return CS_OK;
        }
        z->have |= HAVE_SPORT;
    }
    return cs_event_add_int(z->ev, id, v);
}

/* Who/where of an authentication line. */
typedef struct who {
    span user, addr, port;
} who;

static cs_rc put_who(nz *z, const who *w)
{
    cs_rc rc = put_user(z, w->user);
    rc = rc ? rc : put_addr(z, CS_F_SOURCE_IP, CS_F_SOURCE_DOMAIN, w->addr);
    return rc ? rc : put_port(z, CS_F_SOURCE_PORT, w->port);
}

/* " port N" right after pos: the digits, or len 0. */
static span port_after(const char *m, size_t n, size_t pos)
{
    span none = {pos, 0};
    return at(m, n, pos, " port ") ? digits_at(m, n, pos + SL(" port ")) : none;
}

/* "[invalid user |illegal user ]USER from ADDR[ port N[ sshN[: key]]]" from
 * pos to n. A user name is chosen by the client and may itself hold
 * " from 6.6.6.6 port 1 ssh2"; sshd writes the real address after it, so the
 * rightmost " from " whose tail has sshd's own shape wins: first one that
 * ends the text ("from ADDR", "from ADDR port N", "... port N ssh2"), then
 * one followed by key details ("port N ssh2: RSA SHA256:..."), then any. */
static bool from_at(const char *m, size_t n, size_t pos, size_t f, int pass, who *w)
{
    span a = addr_token(m, n, f + SL(" from "));
    span port;
    size_t t;
    bool ends_here, key_info = false;
    if (!addr_like(m, a)) {
        return false;
    }
    port = port_after(m, n, a.off + a.len);
    t = port.len > 0 ? port.off + port.len : a.off + a.len;
    if (port.len > 0 && at(m, n, t, " ssh") && t + 5 <= n && is_digit(m[t + 4])) {
        t += 5;
        key_info = at(m, n, t, ": ");
    }
    ends_here = t == n;
    if ((pass == 0 && !ends_here) || (pass == 1 && !key_info)) {
        return false;
    }
    w->user = mkspan(pos, f);
    w->addr = a;
    w->port = port;
    return true;
}

static void scan_user_from(const char *m, size_t n, size_t pos, who *w)
{
    memset(w, 0, sizeof *w);
    if (at(m, n, pos, "invalid user ")) {
        pos += SL("invalid user ");
    } else if (at(m, n, pos, "illegal user ")) {
        pos += SL("illegal user ");
    }
    for (int pass = 0; pass < 3; pass++) {
        size_t end = n;
        while (end > pos) {
            size_t f = rfind(m, end, pos, " from ");
            if (f == NPOS) {
                break;
            }
            if (from_at(m, n, pos, f, pass, w)) {
                return;
            }
            end = f + SL(" from ") - 1;   /* an earlier one must start before f */
        }
    }
    w->user = trim(m, mkspan(pos, n));
}

/* "[authenticating |invalid ]user USER ADDR port N" or "ADDR[ port N]" from
 * pos to n (Connection closed by, Disconnected from, Disconnecting ...). */
static void scan_user_addr_port(const char *m, size_t n, size_t pos, who *w)
{
    size_t p;
    memset(w, 0, sizeof *w);
    if (at(m, n, pos, "authenticating user ")) {
        pos += 20;
    } else if (at(m, n, pos, "invalid user ")) {
        pos += 13;
    } else if (at(m, n, pos, "user ")) {
        pos += 5;
    } else {
        w->addr = addr_token(m, n, pos);
        w->port = port_after(m, n, w->addr.off + w->addr.len);
        return;
    }
    p = rfind(m, n, pos, " port ");
    if (p != NPOS && p > pos) {
        size_t b = p;
        while (b > pos && m[b - 1] != ' ') {
            b--;
        }
        w->addr = mkspan(b, p);
        w->port = digits_at(m, n, p + SL(" port "));
        w->user = b > pos ? mkspan(pos, b - 1) : mkspan(pos, pos);
        return;
    }
    /* no port: the last token is the address */
    p = n;
    while (p > pos && m[p - 1] != ' ') {
        p--;
    }
    w->addr = mkspan(p, n);
    w->user = p > pos ? mkspan(pos, p - 1) : mkspan(pos, pos);
}

/* ---- PAM ---- */

/* "pam_MODULE(SERVICE:TYPE): " at the start of the message, or right after
 * a leading "ident[pid]: " (the "pam:" program puts one first). Nowhere
 * else: text further on may come from a client (an sshd user name) and
 * must not be able to pose as a PAM record. Sets svc and the text start. */
static bool find_pam(const char *m, size_t n, span *svc, size_t *text)
{
    size_t starts[2] = {0, NPOS};
    size_t lead = find(m, n < 64 ? n : 64, 0, "]: ");
    if (lead != NPOS && memchr(m, ' ', lead) == NULL) {
        starts[1] = lead + SL("]: ");
    }
    for (int k = 0; k < 2; k++) {
        size_t p = starts[k], i, open, colon, close;
        if (p == NPOS || !at(m, n, p, "pam_")) {
            continue;
        }
        i = p + SL("pam_");
        while (i < n && ((m[i] >= 'a' && m[i] <= 'z') || is_digit(m[i]) || m[i] == '_')) {
            i++;
        }
        if (i >= n || m[i] != '(') {
            continue;
        }
        open = i;
        close = find(m, n < open + 80 ? n : open + 80, open, "): ");
        if (close == NPOS) {
            continue;
        }
        colon = open;
        while (colon < close && m[colon] != ':') {
            colon++;
        }
        *svc = mkspan(open + 1, colon);
        *text = close + SL("): ");
        return true;
    }
    return false;
}

/* "key=value" where key starts a token; value up to the next space. */
static span kv_value(const char *m, size_t n, size_t from, const char *key)
{
    span none = {0, 0};
    size_t p = from;
    while ((p = find(m, n, p, key)) != NPOS) {
        if (p == from || m[p - 1] == ' ' || m[p - 1] == ';') {
            return token(m, n, p + strlen(key));
        }
        p++;
    }
    return none;
}

/* rhost= of "... ruser=R rhost=H[  user=U]". R and U may be chosen by a
 * client (dovecot passes the login name) and hold " rhost=6.6.6.6": the
 * real one is the first whose value ends the text or is followed by
 * " user=". */
static span pam_rhost(const char *m, size_t n, size_t from)
{
    span none = {0, 0};
    size_t p = from;
    while ((p = find(m, n, p, " rhost=")) != NPOS) {
        span v = token(m, n, p + SL(" rhost="));
        size_t e = v.off + v.len;
        while (e < n && m[e] == ' ') {
            e++;
        }
        if (e == n || at(m, n, e, "user=")) {
            return v;
        }
        p++;
    }
    return none;
}

/* PAM services where one user becomes another (su, su-l, sudo). */
static bool is_su_service(const char *m, span svc)
{
    return (svc.len == 2 && memcmp(m + svc.off, "su", 2) == 0) ||
           (svc.len == 4 && memcmp(m + svc.off, "su-l", 4) == 0) ||
           (svc.len == 4 && memcmp(m + svc.off, "sudo", 4) == 0);
}

/* One PAM text: "authentication failure; logname= uid=0 ... rhost=H  user=U",
 * "N more authentication failures; ...", "check pass; user unknown",
 * "session opened for user X[(uid=N)] by [Y][(uid=N)]", "session closed for
 * user X", "password changed for X". su_like: the PAM service is su or sudo
 * (one user becomes another). */
static cs_rc norm_pam_text(nz *z, size_t t, bool su_like)
{
    const char *m = msg(z);
    size_t n = z->len;
    cs_rc rc = CS_OK;

    if (at(m, n, t, "session opened for user ") || at(m, n, t, "session closed for user ")) {
        bool opened = at(m, n, t, "session opened");
        size_t u = t + SL("session opened for user "), e = u, by;   /* same length as "closed" */
        span user, byuser = {0, 0};
        while (e < n && m[e] != ' ' && m[e] != '(') {
            e++;
        }
        user = mkspan(u, e);
        by = find(m, n, e, " by ");
        if (by != NPOS) {
            size_t b = by + SL(" by "), be = b;
            while (be < n && m[be] != ' ' && m[be] != '(') {
                be++;
            }
            byuser = mkspan(b, be);
        }
        if (byuser.len > 0 && su_like) {
            /* su/sudo: Y became X */
            rc = put_user(z, byuser);
            rc = rc ? rc : put_target(z, user);
        } else {
            rc = put_user(z, user);
        }
        rc = rc ? rc : put_cao(z, "session", opened ? "session_opened" : "session_closed", "success");
        return rc ? rc : put_lit(z, CS_F_EVENT_TYPE, opened ? "start" : "end");
    }
    if (at(m, n, t, "password changed for ")) {
        span user = token(m, n, t + SL("password changed for "));
        rc = put_target(z, user);
        rc = rc ? rc : put_user(z, user);
        return rc ? rc : put_cao(z, "iam", "password_changed", "success");
    }
    if (at(m, n, t, "check pass; user unknown")) {
        rc = put_lit(z, xf(XF_PAM_MESSAGE), "check pass; user unknown");
        return rc ? rc : put_cao(z, "authentication", "pam_user_unknown", "failure");
    }
    {
        size_t semi = find(m, n, t, "; ");
        span head, user, ruser, rhost;
        if (semi == NPOS || find(m, semi, t, "authentication failure") == NPOS) {
            return CS_OK;
        }
        head = mkspan(t, semi);
        ruser = kv_value(m, n, semi, "ruser=");
        rhost = pam_rhost(m, n, semi);
        user = kv_value(m, n, rhost.len > 0 ? rhost.off : semi, "user=");
        rc = put_span(z, xf(XF_PAM_MESSAGE), head);
        rc = rc ? rc : put_span(z, xf(XF_PAM_RHOST), rhost);
        rc = rc ? rc : put_span(z, xf(XF_PAM_USER), user);
        rc = rc ? rc : put_span(z, xf(XF_PAM_RUSER), ruser);
        if (rc == CS_OK && ruser.len > 0 && user.len > 0) {
            /* su/sudo: ruser asked to become user */
            rc = put_user(z, ruser);
            rc = rc ? rc : put_target(z, user);
        } else if (rc == CS_OK) {
            rc = put_user(z, user.len > 0 ? user : ruser);
        }
        rc = rc ? rc : put_addr(z, CS_F_SOURCE_IP, CS_F_SOURCE_DOMAIN, rhost);
        return rc ? rc : put_cao(z, "authentication", "pam_auth_failure", "failure");
    }
}

/* ---- sshd ---- */

static cs_rc norm_sshd(nz *z)
{
    const char *m = msg(z);
    size_t n = z->len;
    size_t s = 0;
    who w;
    cs_rc rc;

    if (ends(m, n, " [preauth]")) {
        n -= SL(" [preauth]");
    }
    if (at(m, n, 0, "error: ") || at(m, n, 0, "fatal: ")) {
        s = SL("error: ");
    }
    if (at(m, n, s, "Accepted ") || at(m, n, s, "Failed ") || at(m, n, s, "Postponed ") ||
        at(m, n, s, "Partial ")) {
        size_t ms = find(m, n, s, " ") + 1;
        size_t f = find(m, n, ms, " for ");
        size_t who_at = f + SL(" for ");
        const char *outcome = m[s] == 'A' ? "success" : m[s] == 'F' ? "failure" : NULL;
        if (f == NPOS) {
            return put_cao(z, "authentication", "ssh_login", outcome);
        }
        if (outcome == NULL && (at(m, n, who_at, "invalid user ") || at(m, n, who_at, "illegal user "))) {
            outcome = "failure";   /* postponed for a user that does not exist: cannot succeed */
        }
        scan_user_from(m, n, who_at, &w);
        rc = put_span(z, xf(XF_SSH_METHOD), mkspan(ms, f));
        rc = rc ? rc : put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_login", outcome);
    }
    if (at(m, n, s, "Invalid user ") || at(m, n, s, "Illegal user ")) {
        scan_user_from(m, n, s + SL("Invalid user "), &w);
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_invalid_user", "failure");
    }
    if (at(m, n, s, "input_userauth_request: invalid user ")) {
        /* the echo of an "Invalid user" line: not a second attempt */
        rc = put_user(z, trim(m, mkspan(s + SL("input_userauth_request: invalid user "), n)));
        return rc ? rc : put_cao(z, "authentication", "ssh_auth_request", NULL);
    }
    if (at(m, n, s, "User ") && find(m, n, s, " not allowed because ") != NPOS) {
        size_t na = find(m, n, s, " not allowed because ");
        scan_user_from(m, na, s + SL("User "), &w);
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_login", "failure");
    }
    if (at(m, n, s, "maximum authentication attempts exceeded for ")) {
        scan_user_from(m, n, s + SL("maximum authentication attempts exceeded for "), &w);
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_max_auth_attempts", "failure");
    }
    if (at(m, n, s, "Disconnecting: Too many authentication failures")) {
        size_t f = find(m, n, s, " for ");
        if (f != NPOS) {
            rc = put_user(z, trim(m, mkspan(f + SL(" for "), n)));
            if (rc != CS_OK) {
                return rc;
            }
        }
        return put_cao(z, "authentication", "ssh_max_auth_attempts", "failure");
    }
    if (at(m, n, s, "Disconnecting ") && find(m, n, s, "Too many authentication failures") != NPOS) {
        /* "Disconnecting authenticating user X IP port N: Too many ..." */
        size_t colon = find(m, n, s, ": Too many");
        if (colon == NPOS) {
            colon = n;
        }
        scan_user_addr_port(m, colon, s + SL("Disconnecting "), &w);
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_max_auth_attempts", "failure");
    }
    if (at(m, n, s, "Connection closed by ") || at(m, n, s, "Connection reset by ")) {
        size_t p = s + (at(m, n, s, "Connection closed by ") ? SL("Connection closed by ")
                                                              : SL("Connection reset by "));
        scan_user_addr_port(m, n, p, &w);
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_connection_closed", NULL);
    }
    if (at(m, n, s, "Disconnected from ")) {
        scan_user_addr_port(m, n, s + SL("Disconnected from "), &w);
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_disconnect", NULL);
    }
    if (at(m, n, s, "Received disconnect from ")) {
        /* "from IP port N:11: text" or the older "from IP: 11: text" */
        span a = addr_token(m, n, s + SL("Received disconnect from "));
        span port = port_after(m, n, a.off + a.len);
        rc = put_addr(z, CS_F_SOURCE_IP, CS_F_SOURCE_DOMAIN, a);
        rc = rc ? rc : put_port(z, CS_F_SOURCE_PORT, port);
        return rc ? rc : put_cao(z, "authentication", "ssh_disconnect", NULL);
    }
    if (at(m, n, s, "reverse mapping checking getaddrinfo for ")) {
        span host = token(m, n, s + SL("reverse mapping checking getaddrinfo for "));
        size_t lb = find(m, n, host.off + host.len, " [");
        size_t rb = lb == NPOS ? NPOS : find(m, n, lb, "]");
        rc = put_span(z, CS_F_SOURCE_DOMAIN, host);
        z->have |= HAVE_SDOMAIN;
        if (rc == CS_OK && rb != NPOS) {
            rc = put_addr(z, CS_F_SOURCE_IP, CS_F_NONE, mkspan(lb + 2, rb));
        }
        return rc ? rc : put_cao(z, "authentication", "ssh_reverse_mapping_failed", NULL);
    }
    if (at(m, n, s, "Address ") && find(m, n, s, " maps to ") != NPOS) {
        /* "Address IP maps to HOST, but this does not map back ... BREAK-IN ATTEMPT!" */
        span a = token(m, n, s + SL("Address "));
        span host = addr_token(m, n, a.off + a.len + SL(" maps to "));
        rc = put_addr(z, CS_F_SOURCE_IP, CS_F_NONE, a);
        rc = rc ? rc : put_span(z, CS_F_SOURCE_DOMAIN, host);
        z->have |= HAVE_SDOMAIN;
        return rc ? rc : put_cao(z, "authentication", "ssh_reverse_mapping_failed", NULL);
    }
    if (at(m, n, s, "Did not receive identification string from ")) {
        scan_user_addr_port(m, n, s + SL("Did not receive identification string from "), &w);
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_no_identification", NULL);
    }
    if (at(m, n, s, "Bad protocol version identification ")) {
        scan_user_from(m, n, s + SL("Bad protocol version identification "), &w);
        w.user.len = 0;   /* the quoted banner is not a user */
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_bad_protocol", NULL);
    }
    if (at(m, n, s, "Unable to negotiate with ")) {
        scan_user_addr_port(m, n, s + SL("Unable to negotiate with "), &w);
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_negotiation_failed", "failure");
    }
    if (at(m, n, s, "refused connect from ")) {
        /* tcp wrappers: "refused connect from HOST (IP)" */
        span host = token(m, n, s + SL("refused connect from "));
        size_t lp = find(m, n, host.off + host.len, " (");
        size_t rp = lp == NPOS ? NPOS : find(m, n, lp, ")");
        rc = rp != NPOS ? put_addr(z, CS_F_SOURCE_IP, CS_F_NONE, mkspan(lp + 2, rp)) : CS_OK;
        rc = rc ? rc : put_addr(z, CS_F_SOURCE_IP, CS_F_SOURCE_DOMAIN, host);
        return rc ? rc : put_cao(z, "authentication", "ssh_refused_connect", "failure");
    }
    if (at(m, n, s, "Timeout before authentication for ")) {
        scan_user_addr_port(m, n, s + SL("Timeout before authentication for "), &w);
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_timeout", "failure");
    }
    if (at(m, n, s, "PAM: ") && find(m, n, s, " for ") != NPOS) {
        /* "PAM: Authentication failure for [illegal user ]X from HOST" */
        scan_user_from(m, n, find(m, n, s, " for ") + SL(" for "), &w);
        rc = put_who(z, &w);
        return rc ? rc : put_cao(z, "authentication", "ssh_login", "failure");
    }
    if (at(m, n, s, "PAM ") && find(m, n, s, " more authentication failure") != NPOS) {
        return norm_pam_text(z, s + SL("PAM "), false);
    }
    if (at(m, n, s, "Connection from ")) {
        /* "Connection from IP port N on IP port N" */
        span a = addr_token(m, n, s + SL("Connection from "));
        span port = port_after(m, n, a.off + a.len);
        size_t on = find(m, n, a.off + a.len, " on ");
        span d = {0, 0}, dport = {0, 0};
        if (on != NPOS) {
            d = addr_token(m, n, on + SL(" on "));
            dport = port_after(m, n, d.off + d.len);
        }
        /* m is not used past this point: the adds below may move it */
        rc = put_addr(z, CS_F_SOURCE_IP, CS_F_SOURCE_DOMAIN, a);
        rc = rc ? rc : put_port(z, CS_F_SOURCE_PORT, port);
        rc = rc ? rc : put_addr(z, CS_F_DESTINATION_IP, CS_F_NONE, d);
        rc = rc ? rc : put_port(z, CS_F_DESTINATION_PORT, dport);
        return rc ? rc : put_cao(z, "network", "ssh_connection", NULL);
    }
    if (at(m, n, s, "subsystem request for ") && find(m, n, s, " by user ") != NPOS) {
        span u = token(m, n, find(m, n, s, " by user ") + SL(" by user "));
        return put_user(z, u);
    }
    /* anything else: an address after " from " / "remote host " if there is one */
    {
        size_t f = find(m, n, s, " from ");
        size_t r = find(m, n, s, "remote host ");
        span a = {0, 0};
        if (r != NPOS) {
            a = addr_token(m, n, r + SL("remote host "));
        } else if (f != NPOS) {
            a = addr_token(m, n, f + SL(" from "));
        }
        if (a.len > 0) {
            cs_ip ip;
            if (span_ip(m, a, &ip)) {
                span port = port_after(m, n, a.off + a.len);
                rc = put_addr(z, CS_F_SOURCE_IP, CS_F_NONE, a);
                return rc ? rc : put_port(z, CS_F_SOURCE_PORT, port);
            }
        }
    }
    return CS_OK;
}

/* ---- sudo ---- */

/* "  hanh : [REASON ; ]TTY=pts/0 ; PWD=/home/hanh ; USER=root ; COMMAND=cmd".
 * COMMAND is the rest of the line (a command may contain " ; "). */
static cs_rc norm_sudo(nz *z)
{
    static const struct {
        const char *key;
        int xf;
        cs_fid canon;
    } keys[] = {
        {"TTY=", XF_SUDO_TTY, CS_F_NONE},
        {"PWD=", XF_SUDO_PWD, CS_F_PROCESS_WORKING_DIRECTORY},
        {"USER=", XF_SUDO_USER, CS_F_USER_EFFECTIVE_NAME},
        {"GROUP=", XF_SUDO_GROUP, CS_F_NONE},
    };
    const char *m = msg(z);
    size_t n = z->len;
    size_t sep = find(m, n, 0, " : ");
    size_t p, cmd = NPOS;
    span reason = {0, 0};
    bool any_key = false;
    const char *action, *category, *outcome;
    cs_rc rc;

    if (sep == NPOS) {
        return CS_OK;
    }
    rc = put_user(z, trim(m, mkspan(0, sep)));
    if (rc != CS_OK) {
        return rc;
    }
    p = sep + SL(" : ");
    while (p < n) {
        size_t e;
        bool known = false;
        m = msg(z);
        if (at(m, n, p, "COMMAND=")) {
            cmd = p + SL("COMMAND=");
            any_key = true;
            break;
        }
        e = find(m, n, p, " ; ");
        if (e == NPOS) {
            e = n;
        }
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t kl = strlen(keys[k].key);
            if (at(m, n, p, keys[k].key)) {
                span v = mkspan(p + kl, e);
                known = any_key = true;
                rc = put_span(z, xf(keys[k].xf), v);
                rc = rc ? rc : put_span(z, keys[k].canon, v);
                if (rc != CS_OK) {
                    return rc;
                }
                break;
            }
        }
        if (!known && !any_key && reason.len == 0) {
            reason = trim(m, mkspan(p, e));
        }
        p = e + SL(" ; ");
    }
    if (cmd != NPOS) {
        span c = trim(msg(z), mkspan(cmd, n));
        span exe = token(msg(z), n, c.off);
        rc = put_span(z, xf(XF_SUDO_COMMAND), c);
        rc = rc ? rc : put_span(z, CS_F_PROCESS_COMMAND_LINE, c);
        if (rc == CS_OK && exe.len > 0 && msg(z)[exe.off] == '/') {
            rc = put_span(z, CS_F_PROCESS_EXECUTABLE, exe);
        }
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (!any_key) {
        return CS_OK;   /* "hanh : unable to resolve host ..." and the like */
    }
    m = msg(z);
    if (reason.len == 0) {
        action = "sudo_command";
        category = "process";
        outcome = "success";
    } else {
        bool auth = find(m, reason.off + reason.len, reason.off, "password") != NPOS ||
                    find(m, reason.off + reason.len, reason.off, "authentication") != NPOS;
        action = auth ? "sudo_auth_failure" : "sudo_denied";
        category = auth ? "authentication" : "process";
        outcome = "failure";
        rc = put_span(z, CS_F_EVENT_REASON, reason);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return put_cao(z, category, action, outcome);
}

/* ---- su ---- */

static cs_rc put_su(nz *z, span user, span target, bool ok)
{
    cs_rc rc = put_user(z, user);
    rc = rc ? rc : put_target(z, target);
    return rc ? rc : put_cao(z, "authentication", "su", ok ? "success" : "failure");
}

static cs_rc norm_su(nz *z)
{
    const char *m = msg(z);
    size_t n = z->len;
    size_t p;

    if (at(m, n, 0, "Successful su for ") || at(m, n, 0, "FAILED su for ")) {
        /* "Successful su for root by hanh" */
        size_t s = m[0] == 'S' ? SL("Successful su for ") : SL("FAILED su for ");
        size_t by = rfind(m, n, s, " by ");
        if (by == NPOS) {
            return CS_OK;
        }
        return put_su(z, trim(m, mkspan(by + SL(" by "), n)), mkspan(s, by), m[0] == 'S');
    }
    if ((m[0] == '+' || m[0] == '-') && n > 2 && m[1] == ' ') {
        /* "+ pts/0 hanh:root" (util-linux) or "+ pts/4 dcid-root" (older) */
        span tty = token(m, n, 2);
        span pair = trim(m, mkspan(tty.off + tty.len, n));
        const char *sep;
        if (pair.len == 0) {
            return CS_OK;
        }
        sep = memchr(m + pair.off, ':', pair.len);
        if (sep == NULL) {
            for (size_t i = pair.len; i-- > 0;) {
                if (m[pair.off + i] == '-') {
                    sep = m + pair.off + i;
                    break;
                }
            }
        }
        if (sep == NULL) {
            return CS_OK;
        }
        p = (size_t)(sep - m);
        return put_su(z, mkspan(pair.off, p), mkspan(p + 1, pair.off + pair.len), m[0] == '+');
    }
    if ((p = find(m, n, 0, "(to ")) != NPOS && p < 16) {
        /* "[FAILED SU ](to root) hanh on pts/0" */
        size_t close = find(m, n, p, ") ");
        size_t on;
        if (close == NPOS) {
            return CS_OK;
        }
        on = find(m, n, close + 2, " on ");
        return put_su(z, mkspan(close + 2, on == NPOS ? n : on), mkspan(p + SL("(to "), close), p == 0);
    }
    if (at(m, n, 0, "failed: ") && (p = find(m, n, 0, " changing from ")) != NPOS) {
        /* "failed: ttyq4 changing from ldap to root" */
        size_t to = find(m, n, p + SL(" changing from "), " to ");
        if (to == NPOS) {
            return CS_OK;
        }
        return put_su(z, mkspan(p + SL(" changing from "), to), trim(m, mkspan(to + SL(" to "), n)), false);
    }
    {
        /* BSD: "ericx to root on /dev/ttyu0", "BAD SU ger to fwmaster on /dev/ttyp0" */
        bool bad = at(m, n, 0, "BAD SU ");
        size_t s = bad ? SL("BAD SU ") : 0;
        span user = token(m, n, s);
        size_t on;
        if (user.len == 0 || !at(m, n, user.off + user.len, " to ")) {
            return CS_OK;
        }
        on = find(m, n, user.off + user.len + SL(" to "), " on ");
        if (on == NPOS) {
            return CS_OK;
        }
        return put_su(z, user, mkspan(user.off + user.len + SL(" to "), on), !bad);
    }
}

/* ---- cron ---- */

/* "(root) CMD (command)", crontab's "(root) REPLACE (root)", "(root) BEGIN
 * EDIT (root)"... */
static cs_rc norm_cron(nz *z)
{
    const char *m = msg(z);
    size_t n = z->len;
    size_t close, verb, vend;
    char action[40];
    size_t al;
    cs_rc rc;

    if (n < 4 || m[0] != '(' || (close = find(m, n, 1, ") ")) == NPOS) {
        return CS_OK;
    }
    verb = close + 2;
    if (at(m, n, verb, "CMD (")) {
        span cmd = trim(m, mkspan(verb + SL("CMD ("), ends(m, n, ")") ? n - 1 : n));
        rc = put_user(z, mkspan(1, close));
        rc = rc ? rc : put_span(z, CS_F_PROCESS_COMMAND_LINE, cmd);
        return rc ? rc : put_cao(z, "process", "cron_command", NULL);
    }
    vend = find(m, n, verb, " (");
    if (vend == NPOS) {
        vend = n;
    }
    if (vend - verb == 0 || vend - verb > 24) {
        return CS_OK;
    }
    memcpy(action, "crontab_", 8);
    al = 8;
    for (size_t i = verb; i < vend; i++) {
        char c = m[i];
        if (!((c >= 'A' && c <= 'Z') || c == ' ')) {
            return CS_OK;   /* "(CRON) info (...)" and such: no verb */
        }
        action[al++] = c == ' ' ? '_' : lower(c);
    }
    action[al] = '\0';
    rc = put_user(z, mkspan(1, close));
    return rc ? rc : put_cao(z, "configuration", action, "success");
}

/* ---- useradd, groupadd, usermod, userdel, passwd, gpasswd, ... ---- */

/* "key=value" in a ", "-separated list (useradd), key matched without case. */
static span list_value(const char *m, size_t n, size_t from, const char *key)
{
    span none = {0, 0};
    size_t kl = strlen(key);
    for (size_t p = from; p + kl <= n; p++) {
        if ((p == from || m[p - 1] == ' ') && strncasecmp(m + p, key, kl) == 0) {
            size_t e = p + kl;
            while (e < n && m[e] != ',' && m[e] != ' ') {
                e++;
            }
            return mkspan(p + kl, e);
        }
    }
    return none;
}

/* The text between the quotes of the k-th '...' of m[from, n). */
static span quoted(const char *m, size_t n, size_t from, int k)
{
    span none = {0, 0};
    size_t p = from;
    for (int i = 0; i <= k; i++) {
        size_t b = find(m, n, p, "'"), e;
        if (b == NPOS || (e = find(m, n, b + 1, "'")) == NPOS) {
            return none;
        }
        if (i == k) {
            return mkspan(b + 1, e);
        }
        p = e + 1;
    }
    return none;
}

static cs_rc put_iam(nz *z, const char *action, const char *type, span target, span actor, span group,
                     const char *outcome)
{
    cs_rc rc = put_target(z, target);
    rc = rc ? rc : put_user(z, actor.len > 0 ? actor : target);
    rc = rc ? rc : put_span(z, CS_F_GROUP_NAME, group);
    rc = rc ? rc : put_cao(z, "iam", action, outcome);
    return rc ? rc : put_lit(z, CS_F_EVENT_TYPE, type);
}

static cs_rc norm_iam(nz *z)
{
    const char *m = msg(z);
    size_t n = z->len;
    span none = {0, 0};
    cs_rc rc;

    if (at(m, n, 0, "new user: ")) {
        span name = list_value(m, n, SL("new user: "), "name=");
        span uid = list_value(m, n, SL("new user: "), "UID=");
        span gid = list_value(m, n, SL("new user: "), "GID=");
        rc = put_span(z, CS_F_USER_ID, uid);
        rc = rc ? rc : put_span(z, xf(XF_GROUP_ID), gid);
        return rc ? rc : put_iam(z, "user_created", "creation", name, none, none, "success");
    }
    if (at(m, n, 0, "new group: ")) {
        span name = list_value(m, n, SL("new group: "), "name=");
        span gid = list_value(m, n, SL("new group: "), "GID=");
        rc = put_span(z, xf(XF_GROUP_ID), gid);
        rc = rc ? rc : put_span(z, CS_F_GROUP_NAME, name);
        rc = rc ? rc : put_cao(z, "iam", "group_created", "success");
        return rc ? rc : put_lit(z, CS_F_EVENT_TYPE, "creation");
    }
    if (at(m, n, 0, "add '") && find(m, n, 0, "group '") != NPOS) {
        /* "add 'bob' to group 'sudo'", "add 'bob' to shadow group 'sudo'" */
        return put_iam(z, "user_added_to_group", "change", quoted(m, n, 0, 0), none, quoted(m, n, 0, 1),
                       "success");
    }
    if (at(m, n, 0, "delete '") && find(m, n, 0, "group '") != NPOS) {
        return put_iam(z, "user_removed_from_group", "change", quoted(m, n, 0, 0), none, quoted(m, n, 0, 1),
                       "success");
    }
    if (at(m, n, 0, "delete user '")) {
        return put_iam(z, "user_deleted", "deletion", quoted(m, n, 0, 0), none, none, "success");
    }
    if (at(m, n, 0, "removed group '") || at(m, n, 0, "removed shadow group '") ||
        (at(m, n, 0, "group '") && find(m, n, 0, "' removed") != NPOS)) {
        rc = put_span(z, CS_F_GROUP_NAME, quoted(m, n, 0, 0));
        rc = rc ? rc : put_cao(z, "iam", "group_deleted", "success");
        return rc ? rc : put_lit(z, CS_F_EVENT_TYPE, "deletion");
    }
    if (at(m, n, 0, "user ") && (find(m, n, 0, " added by ") != NPOS || find(m, n, 0, " removed by ") != NPOS)) {
        /* gpasswd: "user bob added by root to group sudo" */
        bool add = find(m, n, 0, " added by ") != NPOS;
        span target = token(m, n, SL("user "));
        span actor = token(m, n, target.off + target.len + (add ? SL(" added by ") : SL(" removed by ")));
        size_t g = find(m, n, actor.off + actor.len, " group ");
        span group = g == NPOS ? none : token(m, n, g + SL(" group "));
        return put_iam(z, add ? "user_added_to_group" : "user_removed_from_group", "change", target, actor, group,
                       "success");
    }
    if (at(m, n, 0, "password for '") && find(m, n, 0, "changed by '") != NPOS) {
        return put_iam(z, "password_changed", "change", quoted(m, n, 0, 0), quoted(m, n, 0, 1), none, "success");
    }
    if (at(m, n, 0, "change user '") && find(m, n, 0, "' password") != NPOS) {
        return put_iam(z, "password_changed", "change", quoted(m, n, 0, 0), none, none, "success");
    }
    if (at(m, n, 0, "change user ") || at(m, n, 0, "lock user '") || at(m, n, 0, "unlock user '") ||
        at(m, n, 0, "changed password expiry for ")) {
        span target = quoted(m, n, 0, 0);
        if (target.len == 0 && at(m, n, 0, "changed password expiry for ")) {
            target = token(m, n, SL("changed password expiry for "));
        }
        return put_iam(z, "user_modified", "change", target, none, none, "success");
    }
    if (at(m, n, 0, "failed adding user '")) {
        return put_iam(z, "user_created", "creation", quoted(m, n, 0, 0), none, none, "failure");
    }
    return CS_OK;
}

/* ---- kernel packet logs: iptables LOG, ufw, firewalld, nftables ---- */

/* The value of " KEY=" (token start) in the IN=... part, or len 0. */
static span fw_value(const char *m, size_t n, size_t from, const char *key)
{
    span none = {0, 0};
    size_t kl = strlen(key);
    size_t p = from;
    while ((p = find(m, n, p, key)) != NPOS) {
        if (p == from || m[p - 1] == ' ') {
            return token(m, n, p + kl);
        }
        p += kl;
    }
    return none;
}

static bool has_word(const char *m, span s, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= s.len; i++) {
        if (strncasecmp(m + s.off + i, w, wl) == 0) {
            return true;
        }
    }
    return false;
}

/* "[UFW BLOCK] IN=eth0 OUT= MAC=... SRC=1.2.3.4 DST=10.0.0.1 ... PROTO=TCP
 * SPT=51234 DPT=22 ...": false if the message is not a packet log. */
static bool fw_start(const char *m, size_t n, size_t *in)
{
    size_t p = 0;
    while ((p = find(m, n, p, "IN=")) != NPOS) {
        if (p == 0 || m[p - 1] == ' ' || m[p - 1] == ']' || m[p - 1] == ':') {
            break;
        }
        p += 3;
    }
    if (p == NPOS || find(m, n, p, " SRC=") == NPOS || find(m, n, p, " DST=") == NPOS) {
        return false;
    }
    *in = p;
    return true;
}

static cs_rc norm_firewall(nz *z, size_t in)
{
    const char *m = msg(z);
    size_t n = z->len;
    span prefix = {0, 0};
    span src = fw_value(m, n, in, "SRC="), dst = fw_value(m, n, in, "DST=");
    span spt = fw_value(m, n, in, "SPT="), dpt = fw_value(m, n, in, "DPT=");
    span proto = fw_value(m, n, in, "PROTO="), iif = fw_value(m, n, in, "IN="), oif = fw_value(m, n, in, "OUT=");
    span mac = fw_value(m, n, in, "MAC=");
    const char *disp = NULL;
    char tr[16];
    size_t tl = 0;
    cs_ip sip, dip;
    bool have_sip = span_ip(m, src, &sip), have_dip = span_ip(m, dst, &dip);
    cs_rc rc = CS_OK;

    /* the log prefix: text before IN=, minus a "[ 123.456789] " kernel stamp */
    {
        size_t b = 0;
        if (n > 0 && m[0] == '[' && in > 0) {
            size_t close = find(m, in, 0, "]");
            if (close != NPOS && close < 20) {
                bool stamp = true;
                for (size_t i = 1; i < close; i++) {
                    if (!(is_digit(m[i]) || m[i] == '.' || m[i] == ' ')) {
                        stamp = false;
                    }
                }
                if (stamp) {
                    b = close + 1;
                }
            }
        }
        prefix = trim(m, mkspan(b, in));
        while (prefix.len > 0 && m[prefix.off + prefix.len - 1] == ':') {
            prefix.len--;
        }
        if (prefix.len >= 2 && m[prefix.off] == '[' && m[prefix.off + prefix.len - 1] == ']') {
            prefix.off++;
            prefix.len -= 2;
        }
        prefix = trim(m, prefix);
    }
    if (prefix.len > 0) {
        if (has_word(m, prefix, "BLOCK") || has_word(m, prefix, "DROP") || has_word(m, prefix, "DENY") ||
            has_word(m, prefix, "REJECT") || has_word(m, prefix, "DENIED")) {
            disp = "block";
        } else if (has_word(m, prefix, "ALLOW") || has_word(m, prefix, "ACCEPT") || has_word(m, prefix, "PASS") ||
                   has_word(m, prefix, "PERMIT")) {
            disp = "allow";
        } else if (has_word(m, prefix, "AUDIT")) {
            disp = "audit";
        }
    }
    for (size_t i = 0; i < proto.len && tl + 1 < sizeof tr; i++) {
        tr[tl++] = lower(m[proto.off + i]);
    }
    tr[tl] = '\0';

    rc = put_span(z, CS_F_RULE_NAME, prefix);
    if (rc == CS_OK && have_sip) {
        z->have |= HAVE_SIP;
        rc = cs_event_add_ip(z->ev, CS_F_SOURCE_IP, &sip);
        rc = rc ? rc : cs_event_add_ip(z->ev, xf(XF_SRC_IP), &sip);
    }
    if (rc == CS_OK && have_dip) {
        rc = cs_event_add_ip(z->ev, CS_F_DESTINATION_IP, &dip);
        rc = rc ? rc : cs_event_add_ip(z->ev, xf(XF_DST_IP), &dip);
        rc = rc ? rc : put_lit(z, CS_F_NETWORK_TYPE, dip.family == 6 ? "ipv6" : "ipv4");
    }
    rc = rc ? rc : put_port(z, CS_F_SOURCE_PORT, spt);
    rc = rc ? rc : put_port(z, xf(XF_SRC_PORT), spt);
    rc = rc ? rc : put_port(z, CS_F_DESTINATION_PORT, dpt);
    rc = rc ? rc : put_port(z, xf(XF_DST_PORT), dpt);
    if (rc == CS_OK && tl > 0) {
        rc = put_lit(z, CS_F_NETWORK_TRANSPORT, tr);
    }
    rc = rc ? rc : put_span(z, CS_F_OBSERVER_INGRESS_INTERFACE, iif);
    rc = rc ? rc : put_span(z, CS_F_OBSERVER_EGRESS_INTERFACE, oif);
    if (rc == CS_OK && mac.len == 41) {
        /* MAC= is destination(17):source(17):ethertype(5) */
        rc = put_span(z, CS_F_DESTINATION_MAC, mkspan(mac.off, mac.off + 17));
        rc = rc ? rc : put_span(z, CS_F_SOURCE_MAC, mkspan(mac.off + 18, mac.off + 35));
    }
    if (rc == CS_OK && disp != NULL) {
        bool block = disp[0] == 'b';
        rc = put_cao(z, "network", disp, NULL);
        if (rc == CS_OK && strcmp(disp, "audit") != 0) {
            /* Sigma firewall rules say action accept|denied and blocked true|false */
            rc = put_lit(z, xf(XF_ACTION), block ? "denied" : "accept");
            rc = rc ? rc : put_lit(z, xf(XF_BLOCKED), block ? "true" : "false");
        }
    }
    rc = rc ? rc : put_cao(z, "network", NULL, NULL);
    rc = rc ? rc : put_lit(z, CS_F_EVENT_TYPE, "connection");
    if (rc == CS_OK && cs_event_find(*z->ev, CS_F_CS_LOGSOURCE_CATEGORY) == NULL) {
        rc = put_lit(z, CS_F_CS_LOGSOURCE_CATEGORY, "firewall");
    }
    return rc;
}

/* ---- dispatch ---- */

enum fam { FAM_OTHER, FAM_SSHD, FAM_SUDO, FAM_SU, FAM_CRON, FAM_IAM, FAM_KERNEL };

static const struct {
    const char *prog;      /* lowercase */
    const char *service;   /* Sigma logsource service */
    enum fam fam;
} progs[] = {
    {"sshd", "sshd", FAM_SSHD},
    {"sshd-session", "sshd", FAM_SSHD},   /* OpenSSH >= 9.8 */
    {"sshd-auth", "sshd", FAM_SSHD},
    {"sudo", "sudo", FAM_SUDO},
    /* Sigma has no su service: su logs to auth.log, i.e. service auth */
    {"su", "auth", FAM_SU},
    {"su-l", "auth", FAM_SU},
    {"cron", "cron", FAM_CRON},
    {"crond", "cron", FAM_CRON},
    {"anacron", "cron", FAM_CRON},
    {"crontab", "cron", FAM_CRON},
    {"useradd", "auth", FAM_IAM},
    {"adduser", "auth", FAM_IAM},
    {"groupadd", "auth", FAM_IAM},
    {"addgroup", "auth", FAM_IAM},
    {"usermod", "auth", FAM_IAM},
    {"groupmod", "auth", FAM_IAM},
    {"userdel", "auth", FAM_IAM},
    {"deluser", "auth", FAM_IAM},
    {"groupdel", "auth", FAM_IAM},
    {"delgroup", "auth", FAM_IAM},
    {"passwd", "auth", FAM_IAM},
    {"chpasswd", "auth", FAM_IAM},
    {"gpasswd", "auth", FAM_IAM},
    {"chage", "auth", FAM_IAM},
    {"newusers", "auth", FAM_IAM},
    {"login", "auth", FAM_OTHER},
    {"pkexec", "auth", FAM_OTHER},
    {"polkitd", "auth", FAM_OTHER},
    {"systemd-logind", "auth", FAM_OTHER},
    {"unix_chkpwd", "auth", FAM_OTHER},
    {"pam", "auth", FAM_OTHER},
    {"auth", "auth", FAM_OTHER},
    {"authpriv", "auth", FAM_OTHER},
    {"gdm-password", "auth", FAM_OTHER},
    {"gdm", "auth", FAM_OTHER},
    {"lightdm", "auth", FAM_OTHER},
    {"sddm", "auth", FAM_OTHER},
    {"kernel", "kernel", FAM_KERNEL},
    {"ulogd", "ulogd", FAM_KERNEL},
    {"syslogd", "syslog", FAM_OTHER},
    {"rsyslogd", "syslog", FAM_OTHER},
    {"syslog-ng", "syslog", FAM_OTHER},
    {"syslog", "syslog", FAM_OTHER},
    {"vsftpd", "vsftpd", FAM_OTHER},
    {"clamd", "clamav", FAM_OTHER},
    {"freshclam", "clamav", FAM_OTHER},
    {"clamav", "clamav", FAM_OTHER},
    {"guacd", "guacamole", FAM_OTHER},
};

static int prog_index(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
        if (strlen(progs[i].prog) == len && memcmp(progs[i].prog, name, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static bool plain_name(const char *s, size_t n)
{
    if (n == 0 || n > 32) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* "message repeated N times: [ text ]" (rsyslog): count N, parse the text. */
static cs_rc unwrap_repeated(nz *z)
{
    const char *m = msg(z);
    size_t n = z->len;
    span cnt;
    size_t b;
    if (!at(m, n, 0, "message repeated ")) {
        return CS_OK;
    }
    cnt = digits_at(m, n, SL("message repeated "));
    if (cnt.len == 0 || !at(m, n, cnt.off + cnt.len, " times: [")) {
        return CS_OK;
    }
    b = cnt.off + cnt.len + SL(" times: [");
    while (b < n && m[b] == ' ') {
        b++;
    }
    while (n > b && (m[n - 1] == ' ' || m[n - 1] == ']')) {
        n--;
        if (m[n] == ']') {
            break;
        }
    }
    while (n > b && m[n - 1] == ' ') {
        n--;
    }
    z->off += (uint32_t)b;
    z->len = n - b;
    return put_int(z, CS_F_EVENT_COUNT, to_int(m, cnt));
}

cs_rc cs_log_normalize(cs_event **ev)
{
    char prog[65];
    size_t plen = 0, base = 0;
    bool pam_prog = false;
    const char *s;
    size_t sl;
    const cs_field *mf;
    int pi = -1;
    enum fam fam = FAM_OTHER;
    const char *service = NULL;
    nz z;
    cs_rc rc = CS_OK;
    size_t text, in;
    span svc;

    if (ev == NULL || *ev == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_log_normalize: no event");
    }
    memset(&z, 0, sizeof z);
    z.ev = ev;
    if (cs_event_get_str(*ev, CS_F_PROCESS_NAME, &s, &sl) && sl < sizeof prog) {
        plen = sl;
        for (size_t i = 0; i < sl; i++) {
            prog[i] = lower(s[i]);
        }
        prog[plen] = '\0';
        /* "sshd(pam_unix)": the program is sshd, the line comes from PAM */
        base = plen;
        if (plen > 2 && prog[plen - 1] == ')') {
            char *open = memchr(prog, '(', plen);
            if (open != NULL && open > prog) {
                base = (size_t)(open - prog);
                pam_prog = memmem(open, plen - base, "pam", 3) != NULL;
            }
        }
        if ((pi = prog_index(prog, base)) < 0 && base > 2) {
            /* "rsyslogd-2177": rsyslog tags its own errors with a number */
            size_t d = base;
            while (d > 0 && is_digit(prog[d - 1])) {
                d--;
            }
            if (d < base && d > 1 && prog[d - 1] == '-') {
                pi = prog_index(prog, d - 1);
            }
        }
        if (pi >= 0) {
            fam = progs[pi].fam;
            service = progs[pi].service;
        } else if (pam_prog) {
            service = "auth";
        }
    }
    mf = cs_event_find(*ev, CS_F_MESSAGE);
    if (mf != NULL && mf->type == CS_T_STR) {
        z.off = mf->v.off;
        z.len = mf->len;
    }

    if (cs_event_find(*ev, CS_F_CS_LOGSOURCE_PRODUCT) == NULL) {
        rc = put_lit(&z, CS_F_CS_LOGSOURCE_PRODUCT, "linux");
    }
    if (rc == CS_OK && cs_event_find(*ev, CS_F_CS_LOGSOURCE_SERVICE) == NULL) {
        if (service != NULL) {
            rc = put_lit(&z, CS_F_CS_LOGSOURCE_SERVICE, service);
        } else if (plen > 0 && !pam_prog && plain_name(prog, plen)) {
            rc = cs_event_add_str(ev, CS_F_CS_LOGSOURCE_SERVICE, prog, plen);
        }
    }
    if (rc != CS_OK || mf == NULL || z.len == 0) {
        return rc;
    }
    if ((rc = unwrap_repeated(&z)) != CS_OK) {
        return rc;
    }
    /* PAM lines first: any program may carry them */
    if (find_pam(msg(&z), z.len, &svc, &text)) {
        return norm_pam_text(&z, text, is_su_service(msg(&z), svc));
    }
    if (pam_prog) {
        /* "su(pam_unix)[1]: session opened for user news by (uid=0)" */
        return norm_pam_text(&z, at(msg(&z), z.len, 0, "PAM ") ? SL("PAM ") : 0, fam == FAM_SU || fam == FAM_SUDO);
    }
    /* packet logs come from the kernel (or ulogd) only: elsewhere such text
     * may have been written by a client to pose as a firewall record */
    if (fam == FAM_KERNEL && fw_start(msg(&z), z.len, &in)) {
        return norm_firewall(&z, in);
    }
    switch (fam) {
    case FAM_SSHD:
        return norm_sshd(&z);
    case FAM_SUDO:
        return norm_sudo(&z);
    case FAM_SU:
        return norm_su(&z);
    case FAM_CRON:
        return norm_cron(&z);
    case FAM_IAM:
        return norm_iam(&z);
    case FAM_KERNEL:
    case FAM_OTHER:
        break;
    }
    return CS_OK;
}
