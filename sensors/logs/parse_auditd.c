/* parse_auditd.c - one Linux audit record line to one event (see
 * cs_parse_auditd() in logparse.h).
 *
 * Design note. A record is "[node=H ]type=T msg=audit(SEC.MS:SEQ): k=v ...".
 * Every k=v pair is added under its own name, as SigmaHQ's auditd rules
 * expect (type, a0..aN, exe, comm, key, name, syscall, success, uid, ...),
 * with the value unquoted; a msg='...' value (USER_* records) is opened and
 * its pairs added the same way; the ENRICHED format's interpreted part
 * (after a 0x1d byte: UID="root" SYSCALL=openat ...) is read too. Values
 * auditd hex-encodes (strings with blanks, quotes or control bytes: argv,
 * proctitle, comm, exe, name, cwd, key, ...) are decoded; proctitle's NUL
 * separators become spaces, key's 0x01 separators split it into several
 * key values. The event's message is the line with those values decoded and
 * quoted, so keyword rules see what the command really was. ECS fields are
 * added next to the raw ones (auditd.log.*, process.*, user.*, file.path,
 * source.ip, event.outcome).
 *
 * Field names come from a fixed table interned once; a0..a1023 are interned
 * on first use and cached; any other key is interned only while a small
 * budget lasts, so hostile lines cannot fill the process-wide registry
 * (later unknown keys stay in message and event.original only).
 *
 * Scratch space (decoded values, the joined argv, the rendered message) is
 * on the stack; it moves to the heap only for lines over a few KiB.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/timeutil.h"
#include "logparse.h"

#define DYN_KEY_BUDGET 256   /* unknown auditd keys interned per process */
#define ARG_CACHE 1024       /* a0..a1023 */

/* ---- field names ---- */

enum ecs {
    E_NONE,
    E_PID,
    E_PPID,
    E_EXE,
    E_COMM,
    E_UID,
    E_SUCCESS,
    E_RES,
    E_ACCT,
    E_ADDR,
    E_CWD,
    E_NAME,
    E_PROCTITLE,
    E_KEY,
};

enum { K_HEX = 1 };   /* auditd hex-encodes this field when needed */

typedef struct kdef {
    const char *name;
    uint8_t flags;
    uint8_t ecs;
} kdef;

static const kdef known[] = {
    {"type", 0, E_NONE},      {"arch", 0, E_NONE},          {"syscall", 0, E_NONE},
    {"success", 0, E_SUCCESS}, {"exit", 0, E_NONE},         {"items", 0, E_NONE},
    {"ppid", 0, E_PPID},      {"pid", 0, E_PID},            {"auid", 0, E_NONE},
    {"uid", 0, E_UID},        {"gid", 0, E_NONE},           {"euid", 0, E_NONE},
    {"suid", 0, E_NONE},      {"fsuid", 0, E_NONE},         {"egid", 0, E_NONE},
    {"sgid", 0, E_NONE},      {"fsgid", 0, E_NONE},         {"tty", 0, E_NONE},
    {"ses", 0, E_NONE},       {"comm", K_HEX, E_COMM},      {"exe", K_HEX, E_EXE},
    {"subj", 0, E_NONE},      {"key", K_HEX, E_KEY},        {"argc", 0, E_NONE},
    {"item", 0, E_NONE},      {"name", K_HEX, E_NAME},      {"inode", 0, E_NONE},
    {"dev", 0, E_NONE},       {"mode", 0, E_NONE},          {"ouid", 0, E_NONE},
    {"ogid", 0, E_NONE},      {"rdev", 0, E_NONE},          {"obj", 0, E_NONE},
    {"nametype", 0, E_NONE},  {"cap_fp", 0, E_NONE},        {"cap_fi", 0, E_NONE},
    {"cap_fe", 0, E_NONE},    {"cap_fver", 0, E_NONE},      {"cap_frootid", 0, E_NONE},
    {"cwd", K_HEX, E_CWD},    {"proctitle", K_HEX, E_PROCTITLE},
    {"op", 0, E_NONE},        {"acct", K_HEX, E_ACCT},
    {"hostname", 0, E_NONE},  {"addr", 0, E_ADDR},          {"terminal", 0, E_NONE},
    {"res", 0, E_RES},        {"grantors", 0, E_NONE},      {"id", 0, E_NONE},
    {"saddr", 0, E_NONE},     {"fam", 0, E_NONE},           {"laddr", 0, E_NONE},
    {"lport", 0, E_NONE},     {"cmd", K_HEX, E_NONE},       {"data", K_HEX, E_NONE},
    {"dir", K_HEX, E_NONE},   {"file", K_HEX, E_NONE},      {"path", K_HEX, E_NONE},
    {"ocomm", K_HEX, E_NONE}, {"watch", K_HEX, E_NONE},     {"vm", K_HEX, E_NONE},
    {"unit", 0, E_NONE},      {"old-auid", 0, E_NONE},      {"old-ses", 0, E_NONE},
    {"ver", 0, E_NONE},       {"format", 0, E_NONE},        {"kernel", 0, E_NONE},
    {"auditd_pid", 0, E_NONE}, {"audit_enabled", 0, E_NONE}, {"old", 0, E_NONE},
    {"new", 0, E_NONE},       {"list", 0, E_NONE},          {"table", 0, E_NONE},
    {"family", 0, E_NONE},    {"entries", 0, E_NONE},       {"scontext", 0, E_NONE},
    {"tcontext", 0, E_NONE},  {"tclass", 0, E_NONE},        {"permissive", 0, E_NONE},
    {"sig", 0, E_NONE},       {"proto", 0, E_NONE},         {"ino", 0, E_NONE},
    {"opid", 0, E_NONE},      {"oauid", 0, E_NONE},
    {"oses", 0, E_NONE},      {"reason", 0, E_NONE},        {"per", 0, E_NONE},
    {"node", 0, E_NONE},      {"nlnk-fam", 0, E_NONE},
    {"nlnk-grp", 0, E_NONE},  {"nlnk-pid", 0, E_NONE},      {"direction", 0, E_NONE},
    {"cipher", 0, E_NONE},    {"ksize", 0, E_NONE},         {"mac", 0, E_NONE},
    {"pfs", 0, E_NONE},       {"spid", 0, E_NONE},
    {"rport", 0, E_NONE},     {"new-enabled", 0, E_NONE},
    {"old-enabled", 0, E_NONE}, {"new_gid", 0, E_NONE},     {"new_pe", 0, E_NONE},
    {"new_pi", 0, E_NONE},    {"new_pp", 0, E_NONE},        {"old_pa", 0, E_NONE},
    {"old_pe", 0, E_NONE},    {"old_pi", 0, E_NONE},        {"old_pp", 0, E_NONE},
    {"pa", 0, E_NONE},        {"pe", 0, E_NONE},            {"pi", 0, E_NONE},
    {"pp", 0, E_NONE},        {"fe", 0, E_NONE},            {"fi", 0, E_NONE},
    {"fp", 0, E_NONE},        {"fver", 0, E_NONE},          {"frootid", 0, E_NONE},
    {"sauid", 0, E_NONE},     {"ARCH", 0, E_NONE},          {"SYSCALL", 0, E_NONE},
    {"AUID", 0, E_NONE},      {"UID", 0, E_NONE},           {"GID", 0, E_NONE},
    {"EUID", 0, E_NONE},      {"SUID", 0, E_NONE},          {"FSUID", 0, E_NONE},
    {"EGID", 0, E_NONE},      {"SGID", 0, E_NONE},          {"FSGID", 0, E_NONE},
    {"OUID", 0, E_NONE},      {"OGID", 0, E_NONE},          {"SADDR", 0, E_NONE},
};
#define NKNOWN (sizeof known / sizeof known[0])

static cs_fid g_known_fid[NKNOWN];
static uint16_t g_sorted[NKNOWN];   /* indexes of known[], by name */
static _Atomic cs_fid g_arg_fid[ARG_CACHE];
static atomic_int g_dyn_budget = DYN_KEY_BUDGET;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int cmp_known(const void *a, const void *b)
{
    return strcmp(known[*(const uint16_t *)a].name, known[*(const uint16_t *)b].name);
}

static void names_init(void)
{
    for (size_t i = 0; i < NKNOWN; i++) {
        g_known_fid[i] = cs_field_intern(known[i].name, strlen(known[i].name));
        g_sorted[i] = (uint16_t)i;
    }
    qsort(g_sorted, NKNOWN, sizeof g_sorted[0], cmp_known);
}

/* Index in known[] of the key s[0..n), or -1. */
static int known_index(const char *s, size_t n)
{
    size_t lo = 0, hi = NKNOWN;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *k = known[g_sorted[mid]].name;
        size_t kl = strlen(k);
        /* lengths, not strncmp: the line may hold NUL bytes */
        int c = memcmp(k, s, kl < n ? kl : n);
        if (c == 0) {
            c = (kl > n) - (kl < n);
        }
        if (c == 0) {
            return g_sorted[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "a<N>" with N < ARG_CACHE, no leading zero: N, else -1. */
static int arg_number(const char *s, size_t n)
{
    int v = 0;
    if (n < 2 || n > 5 || s[0] != 'a' || (s[1] == '0' && n > 2)) {
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        if (!is_digit(s[i])) {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v < ARG_CACHE ? v : -1;
}

static bool key_chars_ok(const char *s, size_t n)
{
    if (n == 0 || n > 32 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* Field id for a key, or CS_F_NONE when it is not to be added. */
static cs_fid key_fid(const char *s, size_t n, int *kidx)
{
    int a;
    cs_fid id;
    *kidx = known_index(s, n);
    if (*kidx >= 0) {
        return g_known_fid[*kidx];
    }
    if ((a = arg_number(s, n)) >= 0) {
        id = atomic_load_explicit(&g_arg_fid[a], memory_order_acquire);
        if (id == CS_F_NONE) {
            id = cs_field_intern(s, n);   /* same id whichever thread wins */
            atomic_store_explicit(&g_arg_fid[a], id, memory_order_release);
        }
        return id;
    }
    if (!key_chars_ok(s, n)) {
        return CS_F_NONE;
    }
    id = cs_field_lookup(s, n);
    if (id == CS_F_NONE && atomic_fetch_sub(&g_dyn_budget, 1) > 0) {
        id = cs_field_intern(s, n);
    }
    return id;
}

/* ---- scratch buffers: stack first, heap when a line is large ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    char *heap;
} sbuf;

static void sb_init(sbuf *b, char *stack, size_t cap)
{
    b->p = stack;
    b->len = 0;
    b->cap = cap;
    b->heap = NULL;
}

static cs_rc sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t nc = b->cap * 2;
        char *np;
        while (nc < b->len + n) {
            nc *= 2;
        }
        np = realloc(b->heap, nc);
        if (np == NULL) {
            return cs_err_set(CS_ERR_NOMEM, "out of memory parsing an audit record");
        }
        if (b->heap == NULL) {
            memcpy(np, b->p, b->len);
        }
        b->heap = b->p = np;
        b->cap = nc;
    }
    if (n > 0) {
        memcpy(b->p + b->len, s, n);
    }
    b->len += n;
    return CS_OK;
}

static void sb_free(sbuf *b)
{
    free(b->heap);
    b->heap = NULL;
}

/* ---- the record being parsed ---- */

enum {
    HAVE_PID = 1u << 0,
    HAVE_PPID = 1u << 1,
    HAVE_EXE = 1u << 2,
    HAVE_COMM = 1u << 3,
    HAVE_UID = 1u << 4,
    HAVE_OUTCOME = 1u << 5,
    HAVE_USER = 1u << 6,
    HAVE_SIP = 1u << 7,
    HAVE_CWD = 1u << 8,
    HAVE_CMD = 1u << 9,
};

typedef struct ad {
    cs_event **ev;
    const char *line;
    size_t len;
    const char *type;   /* record type (in line) */
    size_t type_len;
    bool execve, path, proctitle;
    unsigned have;
    sbuf dec;           /* one decoded value */
    sbuf cmd;           /* EXECVE argv joined with spaces */
    sbuf msg;           /* the line with decoded values */
    size_t copied;      /* line bytes already in msg */
    bool decoded_any;
    int arg_open;       /* chunked argument being gathered (aN[k]), -1 none */
    sbuf arg;
} ad;

static bool type_is(const ad *a, const char *t)
{
    size_t n = strlen(t);
    return a->type_len == n && memcmp(a->type, t, n) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static bool is_hex(const char *s, size_t n)
{
    if (n < 2 || n % 2 != 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (hexval(s[i]) < 0) {
            return false;
        }
    }
    return true;
}

/* Decode hex into a->dec (replacing its content); NUL bytes become spaces,
 * trailing ones are dropped (proctitle ends its argv with one). */
static cs_rc decode_hex(ad *a, const char *s, size_t n)
{
    cs_rc rc;
    a->dec.len = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        char c = (char)(hexval(s[i]) * 16 + hexval(s[i + 1]));
        if (c == '\0') {
            c = ' ';
        }
        if ((rc = sb_put(&a->dec, &c, 1)) != CS_OK) {
            return rc;
        }
    }
    while (a->dec.len > 0 && a->dec.p[a->dec.len - 1] == ' ' && n >= 2 && s[n - 1] == '0' && s[n - 2] == '0') {
        a->dec.len--;
        n -= 2;
    }
    return CS_OK;
}

/* Copy the line up to vstart into msg, then the decoded value quoted. */
static cs_rc render_decoded(ad *a, size_t vstart, size_t vend)
{
    cs_rc rc = sb_put(&a->msg, a->line + a->copied, vstart - a->copied);
    rc = rc ? rc : sb_put(&a->msg, "\"", 1);
    rc = rc ? rc : sb_put(&a->msg, a->dec.p, a->dec.len);
    rc = rc ? rc : sb_put(&a->msg, "\"", 1);
    a->copied = vend;
    a->decoded_any = true;
    return rc;
}

static bool is_nil(const char *v, size_t n)
{
    return n == 0 || (n == 1 && v[0] == '?') || (n >= 2 && v[0] == '(' && v[n - 1] == ')');
}

static cs_rc add_arg(ad *a, cs_fid fid, const char *v, size_t n)
{
    cs_rc rc = cs_event_add_str(a->ev, fid, v, n);
    if (rc == CS_OK && a->execve) {
        rc = cs_event_add_str(a->ev, CS_F_PROCESS_ARGS, v, n);
        if (rc == CS_OK && a->cmd.len > 0) {
            rc = sb_put(&a->cmd, " ", 1);
        }
        rc = rc ? rc : sb_put(&a->cmd, v, n);
    }
    return rc;
}

/* ECS fields for one value. */
static cs_rc add_ecs(ad *a, int ecs, const char *v, size_t n)
{
    cs_ip ip;
    int64_t iv = 0;
    bool num = n > 0 && n < 19;
    for (size_t i = 0; i < n && num; i++) {
        num = is_digit(v[i]);
        iv = iv * 10 + (v[i] - '0');
    }
    switch ((enum ecs)ecs) {
    case E_PID:
        if (num && !(a->have & HAVE_PID)) {
            a->have |= HAVE_PID;
            return cs_event_add_int(a->ev, CS_F_PROCESS_PID, iv);
        }
        break;
    case E_PPID:
        if (num && !(a->have & HAVE_PPID)) {
            a->have |= HAVE_PPID;
            return cs_event_add_int(a->ev, CS_F_PROCESS_PARENT_PID, iv);
        }
        break;
    case E_EXE:
        if (!is_nil(v, n) && !(a->have & HAVE_EXE)) {
            a->have |= HAVE_EXE;
            return cs_event_add_str(a->ev, CS_F_PROCESS_EXECUTABLE, v, n);
        }
        break;
    case E_COMM:
        if (!is_nil(v, n) && !(a->have & HAVE_COMM)) {
            a->have |= HAVE_COMM;
            return cs_event_add_str(a->ev, CS_F_PROCESS_NAME, v, n);
        }
        break;
    case E_UID:
        if (num && !(a->have & HAVE_UID)) {
            a->have |= HAVE_UID;
            return cs_event_add_str(a->ev, CS_F_USER_ID, v, n);
        }
        break;
    case E_SUCCESS:
    case E_RES:
        if (!(a->have & HAVE_OUTCOME)) {
            bool ok = (n == 3 && memcmp(v, "yes", 3) == 0) || (n == 7 && memcmp(v, "success", 7) == 0) ||
                      (n == 1 && v[0] == '1');
            bool bad = (n == 2 && memcmp(v, "no", 2) == 0) || (n == 6 && memcmp(v, "failed", 6) == 0) ||
                       (n == 1 && v[0] == '0');
            if (ok || bad) {
                a->have |= HAVE_OUTCOME;
                return cs_event_add_cstr(a->ev, CS_F_EVENT_OUTCOME, ok ? "success" : "failure");
            }
        }
        break;
    case E_ACCT:
        if (!is_nil(v, n) && !(a->have & HAVE_USER)) {
            a->have |= HAVE_USER;
            return cs_event_add_str(a->ev, CS_F_USER_NAME, v, n);
        }
        break;
    case E_ADDR:
        if (!(a->have & HAVE_SIP) && cs_ip_parse(v, n, &ip)) {
            a->have |= HAVE_SIP;
            return cs_event_add_ip(a->ev, CS_F_SOURCE_IP, &ip);
        }
        break;
    case E_CWD:
        if (!is_nil(v, n) && !(a->have & HAVE_CWD)) {
            a->have |= HAVE_CWD;
            return cs_event_add_str(a->ev, CS_F_PROCESS_WORKING_DIRECTORY, v, n);
        }
        break;
    case E_NAME:
        if (a->path && !is_nil(v, n)) {
            const char *slash = memrchr(v, '/', n);
            cs_rc rc = cs_event_add_str(a->ev, CS_F_FILE_PATH, v, n);
            if (rc == CS_OK && slash != NULL && (size_t)(slash - v) + 1 < n) {
                rc = cs_event_add_str(a->ev, CS_F_FILE_NAME, slash + 1, n - (size_t)(slash - v) - 1);
            }
            return rc;
        }
        break;
    case E_PROCTITLE:
        if (a->proctitle && !is_nil(v, n) && !(a->have & HAVE_CMD)) {
            a->have |= HAVE_CMD;
            return cs_event_add_str(a->ev, CS_F_PROCESS_COMMAND_LINE, v, n);
        }
        break;
    case E_KEY:
    case E_NONE:
        break;
    }
    return CS_OK;
}

/* Add the gathered chunks of a long EXECVE argument (a1[0]=.. a1[1]=..). */
static cs_rc flush_arg(ad *a)
{
    char name[8];
    size_t nl = 0;
    int v = a->arg_open, div = 1000;
    cs_fid fid;
    int kidx;
    cs_rc rc;
    if (a->arg_open < 0) {
        return CS_OK;
    }
    a->arg_open = -1;
    name[nl++] = 'a';
    while (div > v && div > 1) {
        div /= 10;
    }
    for (; div > 0; div /= 10) {
        name[nl++] = (char)('0' + (v / div) % 10);
    }
    fid = key_fid(name, nl, &kidx);
    rc = fid != CS_F_NONE ? add_arg(a, fid, a->arg.p, a->arg.len) : CS_OK;
    a->arg.len = 0;
    return rc;
}

/* "aN[k]": N, else -1. */
static int chunk_arg(const char *k, size_t kn)
{
    const char *br = memchr(k, '[', kn);
    if (br == NULL || k[kn - 1] != ']') {
        return -1;
    }
    return arg_number(k, (size_t)(br - k));
}

static cs_rc parse_pairs(ad *a, size_t pos, size_t end, bool nested);

/* One key=value; value spans line[vs, ve) (without quotes). */
static cs_rc add_pair(ad *a, const char *k, size_t kn, size_t vs, size_t ve, bool quoted)
{
    const char *v = a->line + vs;
    size_t vn = ve - vs;
    int kidx, chunk;
    cs_fid fid;
    bool hex;
    cs_rc rc;

    if ((chunk = chunk_arg(k, kn)) >= 0 && a->execve) {
        if (chunk != a->arg_open && (rc = flush_arg(a)) != CS_OK) {
            return rc;
        }
        a->arg_open = chunk;
        if (!quoted && is_hex(v, vn)) {
            if ((rc = decode_hex(a, v, vn)) != CS_OK || (rc = render_decoded(a, vs, ve)) != CS_OK) {
                return rc;
            }
            return sb_put(&a->arg, a->dec.p, a->dec.len);
        }
        return sb_put(&a->arg, v, vn);
    }
    if ((rc = flush_arg(a)) != CS_OK) {
        return rc;
    }
    if (kn > 4 && memcmp(k + kn - 4, "_len", 4) == 0 && arg_number(k, kn - 4) >= 0) {
        return CS_OK;   /* a1_len=N: the length of a chunked argument */
    }
    fid = key_fid(k, kn, &kidx);
    if (fid == CS_F_NONE) {
        return CS_OK;
    }
    /* auditd quotes a clean string and hex-encodes any other; an unquoted
     * string-typed value is hex (syscall a0..a3 are numbers: not decoded) */
    hex = !quoted && is_hex(v, vn) &&
          ((kidx >= 0 && (known[kidx].flags & K_HEX)) || (a->execve && arg_number(k, kn) >= 0));
    if (hex) {
        if ((rc = decode_hex(a, v, vn)) != CS_OK || (rc = render_decoded(a, vs, ve)) != CS_OK) {
            return rc;
        }
        v = a->dec.p;
        vn = a->dec.len;
    }
    if (a->execve && arg_number(k, kn) >= 0) {
        return add_arg(a, fid, v, vn);
    }
    if (kidx >= 0 && known[kidx].ecs == E_KEY && hex) {
        /* several keys: separated by 0x01 */
        size_t b = 0;
        for (size_t i = 0; i <= vn; i++) {
            if (i == vn || v[i] == '\x01') {
                if (i > b && (rc = cs_event_add_str(a->ev, fid, v + b, i - b)) != CS_OK) {
                    return rc;
                }
                b = i + 1;
            }
        }
        return CS_OK;
    }
    if ((rc = cs_event_add_str(a->ev, fid, v, vn)) != CS_OK) {
        return rc;
    }
    return kidx >= 0 ? add_ecs(a, known[kidx].ecs, v, vn) : CS_OK;
}

static bool is_sep(char c)
{
    return c == ' ' || c == '\x1d' || c == '\t';
}

/* Pairs in line[pos, end). Tokens without '=' (AVC's "avc:  denied  {
 * read } for") are skipped. */
static cs_rc parse_pairs(ad *a, size_t pos, size_t end, bool nested)
{
    const char *s = a->line;
    cs_rc rc;
    while (pos < end) {
        size_t ks, ke, vs, ve;
        bool quoted = false;
        while (pos < end && is_sep(s[pos])) {
            pos++;
        }
        ks = pos;
        while (pos < end && !is_sep(s[pos]) && s[pos] != '=') {
            pos++;
        }
        ke = pos;
        if (pos >= end || s[pos] != '=' || ke == ks) {
            while (pos < end && !is_sep(s[pos])) {
                pos++;
            }
            continue;
        }
        pos++;
        if (pos < end && (s[pos] == '"' || s[pos] == '\'')) {
            char q = s[pos];
            const char *close = memchr(s + pos + 1, q, end - pos - 1);
            vs = pos + 1;
            ve = close ? (size_t)(close - s) : end;
            pos = close ? ve + 1 : end;
            if (q == '\'' && !nested) {
                /* msg='op=PAM:authentication acct="root" ... res=failed' */
                if ((rc = parse_pairs(a, vs, ve, true)) != CS_OK) {
                    return rc;
                }
                continue;
            }
            quoted = true;
        } else {
            vs = pos;
            while (pos < end && !is_sep(s[pos])) {
                pos++;
            }
            ve = pos;
        }
        if ((rc = add_pair(a, s + ks, ke - ks, vs, ve, quoted)) != CS_OK) {
            return rc;
        }
    }
    return flush_arg(a);
}

static const struct {
    const char *type;
    const char *category;
} categories[] = {
    {"EXECVE", "process"},           {"PROCTITLE", "process"},      {"PATH", "file"},
    {"CWD", "file"},                 {"USER_LOGIN", "authentication"}, {"USER_AUTH", "authentication"},
    {"USER_ACCT", "authentication"}, {"USER_ERR", "authentication"}, {"USER_START", "session"},
    {"USER_END", "session"},         {"CRED_ACQ", "authentication"}, {"CRED_DISP", "authentication"},
    {"ANOM_LOGIN_FAILURES", "authentication"}, {"ADD_USER", "iam"}, {"DEL_USER", "iam"},
    {"ADD_GROUP", "iam"},            {"DEL_GROUP", "iam"},          {"USER_MGMT", "iam"},
    {"GRP_MGMT", "iam"},             {"USER_CHAUTHTOK", "iam"},     {"NETFILTER_PKT", "network"},
};

/* "msg=audit(1364481363.243:24287):" at p: time and sequence; index after. */
static size_t parse_stamp(const char *s, size_t n, size_t p, int64_t *us, int64_t *seq)
{
    int64_t sec = 0, frac = 0, scale = 1000000, q = 0;
    size_t d;
    if (n - p < 11 || memcmp(s + p, "msg=audit(", 10) != 0) {
        return 0;
    }
    p += 10;
    for (d = 0; p < n && is_digit(s[p]) && d < 12; d++, p++) {
        sec = sec * 10 + (s[p] - '0');
    }
    if (d == 0 || p >= n || s[p] != '.') {
        return 0;
    }
    p++;
    for (d = 0; p < n && is_digit(s[p]); d++, p++) {
        if (d < 6) {
            scale /= 10;
            frac = frac * 10 + (s[p] - '0');
        }
    }
    if (p >= n || s[p] != ':') {
        return 0;
    }
    p++;
    for (d = 0; p < n && is_digit(s[p]) && d < 18; d++, p++) {
        q = q * 10 + (s[p] - '0');
    }
    if (d == 0 || p + 1 >= n || s[p] != ')' || s[p + 1] != ':') {
        return 0;
    }
    *us = sec * 1000000 + frac * scale;
    *seq = q;
    return p + 2;
}

cs_rc cs_parse_auditd(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out)
{
    char s_dec[2048], s_cmd[2048], s_msg[4096], s_arg[1024];
    int64_t now = ctx && ctx->received_us ? ctx->received_us : cs_now_us();
    int64_t ts = 0, seq = 0;
    size_t p = 0, body, tb;
    size_t node_b = 0, node_e = 0;
    cs_event *ev = NULL;
    ad a;
    cs_rc rc = CS_OK;

    *out = NULL;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }
    memset(&a, 0, sizeof a);
    sb_init(&a.dec, s_dec, sizeof s_dec);
    sb_init(&a.cmd, s_cmd, sizeof s_cmd);
    sb_init(&a.msg, s_msg, sizeof s_msg);
    sb_init(&a.arg, s_arg, sizeof s_arg);
    a.arg_open = -1;
    a.line = line;
    a.len = len;
    pthread_once(&g_once, names_init);

    ev = cs_event_new_sized(CS_KIND_LOG, now, 32, len * 2 + 256);
    if (ev == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory parsing an audit record");
    }
    a.ev = &ev;
    while (p < len && line[p] == ' ') {
        p++;
    }
    if (len - p > 5 && memcmp(line + p, "node=", 5) == 0) {
        node_b = p + 5;
        node_e = node_b;
        while (node_e < len && line[node_e] != ' ') {
            node_e++;
        }
        p = node_e;
        while (p < len && line[p] == ' ') {
            p++;
        }
    }
    if (len - p <= 5 || memcmp(line + p, "type=", 5) != 0) {
        /* not an audit record: keep it as a message */
        rc = cs_event_add_str(&ev, CS_F_MESSAGE, line, len);
        rc = rc ? rc : cs_event_add_cstr(&ev, CS_F_TAGS, "citysoc.unparsed");
        goto common;
    }
    tb = p + 5;
    p = tb;
    while (p < len && line[p] != ' ') {
        p++;
    }
    a.type = line + tb;
    a.type_len = p - tb;
    a.execve = type_is(&a, "EXECVE");
    a.path = type_is(&a, "PATH");
    a.proctitle = type_is(&a, "PROCTITLE");
    while (p < len && line[p] == ' ') {
        p++;
    }
    body = parse_stamp(line, len, p, &ts, &seq);
    if (body != 0) {
        ev->ts_us = ts;
    } else {
        body = p;
        rc = cs_event_add_cstr(&ev, CS_F_TAGS, "citysoc.no_timestamp");
    }
    {
        int kidx;
        cs_fid tf = key_fid("type", 4, &kidx);
        rc = rc ? rc : cs_event_add_str(&ev, tf, a.type, a.type_len);
        rc = rc ? rc : cs_event_add_str(&ev, CS_F_AUDITD_TYPE, a.type, a.type_len);
        if (rc == CS_OK && body != p) {
            rc = cs_event_add_int(&ev, CS_F_AUDITD_SEQUENCE, seq);
        }
        if (rc == CS_OK && node_e > node_b) {
            cs_fid nf = key_fid("node", 4, &kidx);
            rc = cs_event_add_str(&ev, nf, line + node_b, node_e - node_b);
            rc = rc ? rc : cs_event_add_str(&ev, CS_F_HOST_NAME, line + node_b, node_e - node_b);
        }
    }
    rc = rc ? rc : parse_pairs(&a, body, len, false);
    if (rc == CS_OK && a.execve && a.cmd.len > 0) {
        a.have |= HAVE_CMD;
        rc = cs_event_add_str(&ev, CS_F_PROCESS_COMMAND_LINE, a.cmd.p, a.cmd.len);
    }
    for (size_t i = 0; rc == CS_OK && i < sizeof categories / sizeof categories[0]; i++) {
        if (type_is(&a, categories[i].type)) {
            rc = cs_event_add_cstr(&ev, CS_F_EVENT_CATEGORY, categories[i].category);
        }
    }
    if (rc == CS_OK && a.decoded_any) {
        rc = sb_put(&a.msg, line + a.copied, len - a.copied);
        rc = rc ? rc : cs_event_add_str(&ev, CS_F_MESSAGE, a.msg.p, a.msg.len);
    } else if (rc == CS_OK) {
        rc = cs_event_add_str(&ev, CS_F_MESSAGE, line, len);
    }
    rc = rc ? rc : cs_event_add_cstr(&ev, CS_F_EVENT_MODULE, "auditd");
common:
    rc = rc ? rc : cs_log_common(&ev, line, len, ctx, CS_LOGFMT_AUDITD, "linux", NULL, "auditd");
    sb_free(&a.dec);
    sb_free(&a.cmd);
    sb_free(&a.msg);
    sb_free(&a.arg);
    if (rc != CS_OK) {
        cs_event_free(ev);
        return rc;
    }
    *out = ev;
    return CS_OK;
}
