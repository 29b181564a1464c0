/* fuzz_sigma.c - libFuzzer target for the Sigma loaders: the input is YAML
 * text loaded as Sigma rules (cs_ruleset_load_string: YAML, rule attributes,
 * modifiers, the condition grammar) and as correlation rules on top of them
 * (cs_corrset_load_string). Whatever loads is matched against a few fixed
 * events, and every match is fed to the correlations, so the compiled
 * matchers and the correlation state run too. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "correlator/correlation.h"
#include "correlator/sigma.h"
#include "runtime/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const event_json[] = {
    ("{\"@timestamp\":\"2026-03-12T10:00:00Z\",\"process\":{\"name\":\"sshd\",\"pid\":812},"
     "\"message\":\"Failed password for root from 203.0.113.7 port 52144 ssh2\",\"source\":{\"ip\":\"203.0.113.7\","
     "\"port\":52144},\"host\":{\"name\":\"popdb01\"},\"user\":{\"name\":\"root\"}}"),
    ("{\"@timestamp\":\"2026-03-12T10:00:30Z\",\"url\":{\"original\":\"/search?q=1%20union%20select%20*\"},"
     "\"user_agent\":{\"original\":\"sqlmap/1.7\"},\"http\":{\"response\":{\"status_code\":200}},"
     "\"source\":{\"ip\":\"2001:db8::7\"},\"cs-uri-query\":\"/search?q=../../etc/passwd\",\"sc-status\":404,"
     "\"host\":{\"name\":\"portal-web01\"}}"),
    ("{\"@timestamp\":\"2026-03-12T10:01:00Z\",\"EventID\":4688,\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\","
     "\"CommandLine\":\"cmd.exe /c whoami -all\",\"ParentImage\":\"C:\\\\Windows\\\\explorer.exe\","
     "\"Initiated\":true,\"Provider_Name\":\"Microsoft-Windows-Security-Auditing\",\"ratio\":0.5,"
     "\"message\":\"cG93ZXJzaGVsbCAtZW5j\"}"),
    ("{\"@timestamp\":\"2026-03-12T10:01:30Z\",\"message\":\"sudo: alice : TTY=pts/0 ; USER=root ; COMMAND=/bin/sh\","
     "\"process\":{\"name\":\"sudo\"},\"empty\":\"\",\"tags\":[\"a\",\"b\"]}"),
};
#define NEVENTS (sizeof event_json / sizeof event_json[0])

static cs_event *events[NEVENTS];
static bool ready;

static void setup(void)
{
    for (size_t i = 0; i < NEVENTS; i++) {
        if (cs_json_read_event(event_json[i], strlen(event_json[i]), "fuzz", (long)i + 1, &events[i]) != CS_OK) {
            events[i] = NULL;
        }
    }
    ready = true;
}

static void on_fire(const cs_corr_info *corr, const cs_event *last_event, const char *group_key,
                    int64_t count_or_value, void *ud)
{
    (void)corr;
    (void)last_event;
    (void)group_key;
    (void)count_or_value;
    (void)ud;
}

static void on_match(const cs_rule *rule, const cs_event *ev, void *ud)
{
    cs_corrset *cs = ud;
    if (cs != NULL) {
        cs_corrset_feed(cs, rule, ev, on_fire, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const admins[] = {"root", "admin"};
    cs_ruleset *rs = NULL;
    cs_corrset *cs = NULL;
    if (!ready) {
        setup();
    }
    if (cs_ruleset_new(&rs) != CS_OK) {
        return 0;
    }
    cs_ruleset_set_placeholder(rs, "admins", admins, 2);
    cs_ruleset_load_string(rs, "fuzz.yml", (const char *)data, size, NULL, NULL);
    for (size_t i = 0; i < cs_ruleset_count(rs); i++) {
        (void)cs_rule_get_info(cs_ruleset_rule(rs, i));
    }
    if (cs_corrset_new(rs, &cs) == CS_OK) {
        cs_corrset_load_string(cs, "fuzz.yml", (const char *)data, size, NULL, NULL);
        if (cs_corrset_count(cs) == 0) {
            cs_corrset_free(cs);
            cs = NULL;
        }
    }
    if (cs_ruleset_count(rs) > 0) {
        for (int round = 0; round < 2; round++) {   /* twice: correlations see repeats */
            for (size_t i = 0; i < NEVENTS; i++) {
                if (events[i] != NULL) {
                    cs_ruleset_match(rs, events[i], on_match, cs);
                }
            }
        }
    }
    cs_corrset_free(cs);
    cs_ruleset_free(rs);
    return 0;
}
