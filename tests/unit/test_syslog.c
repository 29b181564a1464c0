/* Unit tests: syslog parsing (RFC 3164 and 5424) and the line reader. */
#include "test_util.h"

#include <unistd.h>

#include "runtime/timeutil.h"
#include "sensors/logs/syslog.h"

static const cs_syslog_opts march = {1773302400000000LL /* 2026-03-12T08:00:00Z */, 0};

static const char *str(const cs_event *ev, cs_fid id)
{
    const char *s;
    size_t n;
    return cs_event_get_str(ev, id, &s, &n) ? s : NULL;
}

static void test_rfc3164_sshd(void **state)
{
    const char *line = "Mar 12 08:14:03 popdb01 sshd[2411]: Failed password for invalid user admin from "
                       "203.0.113.45 port 51514 ssh2\n";
    cs_event *ev = NULL;
    int64_t pid;
    (void)state;
    assert_int_equal(cs_syslog_parse(line, strlen(line), &march, &ev), CS_OK);
    assert_int_equal(ev->kind, CS_KIND_LOG);
    assert_int_equal(ev->ts_us, cs_time_from_civil(2026, 3, 12, 8, 14, 3) * 1000000);
    assert_string_equal(str(ev, CS_F_HOST_NAME), "popdb01");
    assert_string_equal(str(ev, CS_F_PROCESS_NAME), "sshd");
    assert_true(cs_event_get_int(ev, CS_F_PROCESS_PID, &pid));
    assert_int_equal(pid, 2411);
    assert_string_equal(str(ev, CS_F_MESSAGE),
                        "Failed password for invalid user admin from 203.0.113.45 port 51514 ssh2");
    assert_string_equal(str(ev, CS_F_EVENT_ORIGINAL), "Mar 12 08:14:03 popdb01 sshd[2411]: Failed password for "
                                                      "invalid user admin from 203.0.113.45 port 51514 ssh2");
    cs_event_free(ev);
}

static void test_rfc3164_year_policy(void **state)
{
    const char *line = "Dec 31 23:59:59 h cron: x";
    cs_syslog_opts jan = {cs_time_from_civil(2027, 1, 2, 0, 0, 0) * 1000000, 0};
    cs_syslog_opts tz = {1773302400000000LL, 7 * 3600};
    cs_event *ev = NULL;
    (void)state;
    assert_int_equal(cs_syslog_parse(line, strlen(line), &jan, &ev), CS_OK);
    assert_int_equal(ev->ts_us, cs_time_from_civil(2026, 12, 31, 23, 59, 59) * 1000000);   /* last year */
    cs_event_free(ev);
    line = "Mar  2 15:00:00 h prog: y";   /* space-padded day, local time UTC+7 */
    assert_int_equal(cs_syslog_parse(line, strlen(line), &tz, &ev), CS_OK);
    assert_int_equal(ev->ts_us, cs_time_from_civil(2026, 3, 2, 8, 0, 0) * 1000000);
    assert_string_equal(str(ev, CS_F_PROCESS_NAME), "prog");
    cs_event_free(ev);
}

static void test_pri_and_5424(void **state)
{
    const char *l1 = "<34>1 2026-03-12T08:00:00.5+07:00 mymachine su 77 ID47 [exampleSDID@32473 iut=\"3\" "
                     "eventSource=\"App]\"] 'su root' failed for lonvick";
    const char *l2 = "<13>Mar 12 08:00:00 host tag: hello";
    cs_event *ev = NULL;
    int64_t v;
    (void)state;
    assert_int_equal(cs_syslog_parse(l1, strlen(l1), &march, &ev), CS_OK);
    assert_int_equal(ev->ts_us, 1773277200500000LL);
    assert_string_equal(str(ev, CS_F_HOST_NAME), "mymachine");
    assert_string_equal(str(ev, CS_F_PROCESS_NAME), "su");
    assert_true(cs_event_get_int(ev, CS_F_PROCESS_PID, &v));
    assert_int_equal(v, 77);
    assert_true(cs_event_get_int(ev, CS_F_LOG_SYSLOG_FACILITY, &v));
    assert_int_equal(v, 4);
    assert_true(cs_event_get_int(ev, CS_F_LOG_SYSLOG_SEVERITY, &v));
    assert_int_equal(v, 2);
    assert_string_equal(str(ev, CS_F_MESSAGE), "'su root' failed for lonvick");
    /* structured data becomes fields (the ] inside the quoted value is data) */
    assert_string_equal(str(ev, cs_field_intern("log.syslog.structured_data.exampleSDID@32473.iut", 48)), "3");
    assert_string_equal(str(ev, cs_field_intern("log.syslog.structured_data.exampleSDID@32473.eventSource", 56)),
                        "App]");
    assert_string_equal(str(ev, cs_field_intern("log.syslog.msgid", 16)), "ID47");
    assert_string_equal(str(ev, CS_F_LOG_SYSLOG_APPNAME), "su");
    cs_event_free(ev);
    {
        /* two elements, escapes, a malformed third one: the good params stay */
        const char *l3 = "<165>1 2026-03-12T08:00:00Z h app - - [a@1 x=\"q\\\"d\" y=\"\"][b@2 z=\"1\"][bad k=v] msg";
        assert_int_equal(cs_syslog_parse(l3, strlen(l3), &march, &ev), CS_OK);
        assert_string_equal(str(ev, cs_field_intern("log.syslog.structured_data.a@1.x", 32)), "q\"d");
        assert_string_equal(str(ev, cs_field_intern("log.syslog.structured_data.a@1.y", 32)), "");
        assert_string_equal(str(ev, cs_field_intern("log.syslog.structured_data.b@2.z", 32)), "1");
        cs_event_free(ev);
    }
    assert_int_equal(cs_syslog_parse(l2, strlen(l2), &march, &ev), CS_OK);
    assert_string_equal(str(ev, CS_F_PROCESS_NAME), "tag");
    assert_string_equal(str(ev, CS_F_MESSAGE), "hello");
    cs_event_free(ev);
}

static void test_not_syslog_kept(void **state)
{
    const char *line = "just some text: with a colon";
    cs_event *ev = NULL;
    (void)state;
    assert_int_equal(cs_syslog_parse(line, strlen(line), &march, &ev), CS_OK);
    assert_string_equal(str(ev, CS_F_EVENT_ORIGINAL), line);
    assert_non_null(str(ev, CS_F_MESSAGE));
    assert_string_equal(str(ev, CS_F_TAGS), "citysoc.no_timestamp");
    assert_int_equal(ev->ts_us, march.reference_us);
    cs_event_free(ev);
    /* a malformed PRI is not a priority: the line is kept whole */
    {
        const char *bad[] = {"<999>Mar 12 08:00:00 h p: x", "<13Mar 12 08:00:00 h p: x", "<>x", "<-1>y",
                             "<0000000013>z"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            int64_t pri;
            assert_int_equal(cs_syslog_parse(bad[i], strlen(bad[i]), &march, &ev), CS_OK);
            assert_string_equal(str(ev, CS_F_EVENT_ORIGINAL), bad[i]);
            assert_false(cs_event_get_int(ev, CS_F_LOG_SYSLOG_PRIORITY, &pri));
            cs_event_free(ev);
        }
    }
    /* empty and whitespace lines never crash */
    assert_int_equal(cs_syslog_parse("", 0, &march, &ev), CS_OK);
    cs_event_free(ev);
    assert_int_equal(cs_syslog_parse("<", 1, &march, &ev), CS_OK);
    cs_event_free(ev);
    assert_int_equal(cs_syslog_parse("1 ", 2, &march, &ev), CS_OK);
    cs_event_free(ev);
}

typedef struct collect {
    int n;
    char last[128];
    int64_t offset;
} collect;

static cs_rc sink(cs_event *ev, void *ud)
{
    collect *c = ud;
    const char *m = str(ev, CS_F_MESSAGE);
    c->n++;
    snprintf(c->last, sizeof c->last, "%s", m ? m : "");
    cs_event_get_int(ev, CS_F_LOG_OFFSET, &c->offset);
    cs_event_free(ev);
    return CS_OK;
}

static void test_file_reader(void **state)
{
    char path[] = "/tmp/cs_test_syslog_XXXXXX";
    int fd = mkstemp(path);
    const char *text = "Mar 12 08:00:00 h a: one\r\nMar 12 08:00:01 h a: two\n\nMar 12 08:00:02 h a: three";
    collect c = {0};
    cs_logfile_stats st;
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(cs_logfile_replay(path, "syslog", &march, sink, &c, &st), CS_OK);
    assert_int_equal(c.n, 4);   /* the empty line is an event too: nothing silently dropped */
    assert_string_equal(c.last, "three");   /* last line without a newline */
    assert_int_equal(c.offset, 52);   /* "three" starts after 26 + 25 + 1 bytes */
    assert_int_equal(st.lines, 4);
    unlink(path);
    assert_int_equal(cs_logfile_replay("/nonexistent/x.log", "syslog", NULL, sink, &c, &st), CS_ERR_IO);
    assert_contains(cs_err_msg(), "/nonexistent/x.log: cannot open log");
    assert_int_equal(cs_logfile_replay(path, "csv", NULL, sink, &c, &st), CS_ERR_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3164_sshd),
        cmocka_unit_test(test_rfc3164_year_policy),
        cmocka_unit_test(test_pri_and_5424),
        cmocka_unit_test(test_not_syslog_kept),
        cmocka_unit_test(test_file_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
