/* test_sigma_regression.c - SigmaHQ's regression_data against our engine.
 *
 * Each case folder under $CS_SHARED_DATA/sigma/regression_data holds
 * info.yml (the rule id under rule_metadata, match_count under
 * regression_tests_info, 1 when absent) and the case's events: JSON files
 * rendered from EVTX (several pretty-printed objects may follow each other
 * in one file) or, for the one non-Windows case, a .raw log line. Every
 * case is positive: the rule (found by id among the rules in
 * sigma/rules, sigma/rules-emerging-threats, sigma/rules-threat-hunting)
 * must match at least match_count of the case's events, as SigmaHQ's own
 * runner (tests/regression_tests_runner.py) checks; cases with more matches
 * are listed as notes (their folders hold extra events: several JSON objects).
 *
 * The EVTX rendering is flattened as Hayabusa and Chainsaw do it, so the
 * rule's field names apply as they are: children of Event.System and
 * Event.EventData by their own name (EventID, Channel, Image, ...), XML
 * attributes as <element>_<attribute> (Provider_Name, TimeCreated_SystemTime,
 * Execution_ProcessID, Security_UserID), an element's #text by the element
 * name, JSON null as an absent field; a name with spaces also without them
 * (Defender's "Threat Name" is the rules' ThreatName). A .raw line becomes the event's
 * `message` (keyword rules search it). Routing by logsource is not done:
 * the case's rule alone is evaluated.
 *
 * Cases the engine fails are listed in the output; the test asserts the pass
 * rate does not drop below CS_REGRESSION_MIN_PERMILLE (the rate reached when
 * this test was written), so any new failure is a test failure.
 */
#include "test_util.h"

#include <dirent.h>
#include <jansson.h>
#include <sys/stat.h>

#include "correlator/sigma.h"
#include "runtime/json.h"
#include "runtime/yamltree.h"

/* Pass rate (per mille) reached when this test was written: 142 of 142 cases
 * (136 of them with exactly match_count matches). */
#ifndef CS_REGRESSION_MIN_PERMILLE
#define CS_REGRESSION_MIN_PERMILLE 1000
#endif

static char g_data[1024];

static const char *sigma_dir(void)
{
    snprintf(g_data, sizeof g_data, "%s/sigma", test_env("CS_SHARED_DATA", "/work/shared/data"));
    return g_data;
}

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Add one flattened leaf to the flat object (first value of a name wins).
 * A name with spaces ("Threat Name", as Defender writes them) is also given
 * without them ("ThreatName", as the rules name it). */
static void put(json_t *flat, const char *name, json_t *v)
{
    char squeezed[512];
    size_t n = 0;
    if (json_is_null(v) || json_is_object(v) || json_is_array(v)) {
        return;
    }
    if (json_object_get(flat, name) == NULL) {
        json_object_set(flat, name, v);
    }
    if (strchr(name, ' ') != NULL) {
        for (const char *c = name; *c != '\0' && n + 1 < sizeof squeezed; c++) {
            if (*c != ' ') {
                squeezed[n++] = *c;
            }
        }
        squeezed[n] = '\0';
        if (n > 0 && json_object_get(flat, squeezed) == NULL) {
            json_object_set(flat, squeezed, v);
        }
    }
}

/* One child of System or EventData: a scalar by its name; an element with
 * attributes as name_attr, its #text as name; deeper elements by leaf. */
static void flatten_child(json_t *flat, const char *name, json_t *v, int depth)
{
    const char *k;
    json_t *c;
    if (!json_is_object(v)) {
        if (json_is_array(v)) {
            size_t i;
            json_array_foreach(v, i, c)
            {
                flatten_child(flat, name, c, depth + 1);
            }
        } else {
            put(flat, name, v);
        }
        return;
    }
    if (depth > 8) {
        return;
    }
    json_object_foreach(v, k, c)
    {
        if (strcmp(k, "#attributes") == 0 && json_is_object(c)) {
            const char *ak;
            json_t *av;
            json_object_foreach(c, ak, av)
            {
                char n[512];
                snprintf(n, sizeof n, "%s_%s", name, ak);
                put(flat, n, av);
            }
        } else if (strcmp(k, "#text") == 0) {
            put(flat, name, c);
        } else {
            flatten_child(flat, k, c, depth + 1);
        }
    }
}

static json_t *flatten_event(json_t *doc)
{
    json_t *flat = json_object();
    json_t *ev = json_object_get(doc, "Event");
    const char *sections[] = {"System", "EventData", "UserData"};
    if (!json_is_object(ev)) {
        ev = doc;
    }
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        json_t *sec = json_object_get(ev, sections[s]);
        const char *k;
        json_t *c;
        if (!json_is_object(sec)) {
            continue;
        }
        json_object_foreach(sec, k, c)
        {
            if (strcmp(k, "#attributes") == 0) {
                continue;   /* the section's own attributes (xmlns, Name) */
            }
            flatten_child(flat, k, c, 0);
        }
    }
    return flat;
}

static int match_json(const cs_rule *r, json_t *doc, const char *path, int *events)
{
    json_t *flat = flatten_event(doc);
    char *text = json_dumps(flat, JSON_COMPACT);
    cs_event *ev = NULL;
    int hit = 0;
    if (text != NULL && cs_json_read_event(text, strlen(text), path, 1, &ev) == CS_OK) {
        hit = cs_rule_match(r, ev) ? 1 : 0;
        (*events)++;
    } else {
        print_message("  %s: cannot read the flattened event: %s\n", path, cs_err_msg());
    }
    cs_event_free(ev);
    free(text);
    json_decref(flat);
    return hit;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)n, f);
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

/* Matches of r over every event of one file; counts events in *events. */
static int match_file(const cs_rule *r, const char *path, bool raw, int *events)
{
    size_t len = 0, off = 0;
    char *buf = slurp(path, &len);
    int hits = 0;
    if (buf == NULL) {
        return 0;
    }
    if (raw) {
        char *line = buf, *nl;
        while (line < buf + len) {
            json_t *o;
            char *text;
            cs_event *ev = NULL;
            size_t ll;
            nl = memchr(line, '\n', (size_t)(buf + len - line));
            ll = nl ? (size_t)(nl - line) : (size_t)(buf + len - line);
            while (ll > 0 && (line[ll - 1] == '\r' || line[ll - 1] == ' ')) {
                ll--;
            }
            if (ll > 0) {
                o = json_pack("{s:s%}", "message", line, ll);
                text = json_dumps(o, JSON_COMPACT);
                if (text != NULL && cs_json_read_event(text, strlen(text), path, 1, &ev) == CS_OK) {
                    hits += cs_rule_match(r, ev) ? 1 : 0;
                    (*events)++;
                }
                cs_event_free(ev);
                free(text);
                json_decref(o);
            }
            line = nl ? nl + 1 : buf + len;
        }
        free(buf);
        return hits;
    }
    while (off < len) {
        json_error_t err;
        json_t *doc;
        while (off < len && (buf[off] == ' ' || buf[off] == '\n' || buf[off] == '\r' || buf[off] == '\t')) {
            off++;
        }
        if (off >= len) {
            break;
        }
        doc = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &err);
        if (doc == NULL || err.position <= 0) {
            print_message("  %s: JSON error at %zu: %s\n", path, off, err.text);
            json_decref(doc);
            break;
        }
        off += (size_t)err.position;
        if (json_is_array(doc)) {
            size_t i;
            json_t *e;
            json_array_foreach(doc, i, e)
            {
                hits += match_json(r, e, path, events);
            }
        } else {
            hits += match_json(r, doc, path, events);
        }
        json_decref(doc);
    }
    free(buf);
    return hits;
}

typedef struct results {
    int cases, passed, failed, no_rule, no_events;
    int exact;   /* passed with exactly match_count matches (not more) */
} results;

static const cs_rule *find_rule(const cs_ruleset *rs, const char *id)
{
    for (size_t i = 0; i < cs_ruleset_count(rs); i++) {
        const cs_rule *r = cs_ruleset_rule(rs, i);
        if (strcmp(cs_rule_get_info(r)->id, id) == 0) {
            return r;
        }
    }
    return NULL;
}

static void run_case(const cs_ruleset *rs, const char *dir, results *res)
{
    char p[2048];
    cs_yaml_file *yf = NULL;
    const cs_yaml_node *meta, *info;
    const char *id = NULL;
    int64_t want = 1;
    const cs_rule *r;
    struct dirent **list = NULL;
    int n, hits = 0, events = 0;
    const char *rel = dir + strlen(sigma_dir()) + strlen("/regression_data/");

    snprintf(p, sizeof p, "%s/info.yml", dir);
    if (cs_yaml_load_file(p, &yf) != CS_OK || yf->ndocs == 0) {
        print_message("FAIL %s: info.yml: %s\n", rel, cs_err_msg());
        res->cases++;
        res->failed++;
        cs_yaml_free(yf);
        return;
    }
    meta = cs_yaml_get(yf->docs[0], "rule_metadata");
    if (meta != NULL && meta->type == CS_YAML_SEQ && meta->n > 0) {
        const cs_yaml_node *idn = cs_yaml_get(meta->items[0], "id");
        if (idn != NULL && cs_yaml_str(yf, idn, &id) != CS_OK) {
            id = NULL;
        }
    }
    info = cs_yaml_get(yf->docs[0], "regression_tests_info");
    if (info != NULL && info->type == CS_YAML_SEQ && info->n > 0) {
        const cs_yaml_node *mc = cs_yaml_get(info->items[0], "match_count");
        if (mc != NULL) {
            assert_int_equal(cs_yaml_int(yf, mc, 0, 1000000, &want), CS_OK);
        }
    }
    res->cases++;
    if (id == NULL) {
        print_message("FAIL %s: info.yml names no rule id\n", rel);
        res->failed++;
        cs_yaml_free(yf);
        return;
    }
    if ((r = find_rule(rs, id)) == NULL) {
        print_message("FAIL %s: rule %s not loaded (absent or refused)\n", rel, id);
        res->failed++;
        res->no_rule++;
        cs_yaml_free(yf);
        return;
    }
    n = scandir(dir, &list, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        size_t nl = strlen(name);
        if (name[0] != '.' && nl > 5 && strcmp(name + nl - 5, ".json") == 0) {
            snprintf(p, sizeof p, "%s/%s", dir, name);
            hits += match_file(r, p, false, &events);
        } else if (name[0] != '.' && nl > 4 && strcmp(name + nl - 4, ".raw") == 0) {
            snprintf(p, sizeof p, "%s/%s", dir, name);
            hits += match_file(r, p, true, &events);
        }
        free(list[i]);
    }
    free(list);
    if (events == 0) {
        print_message("FAIL %s: no events\n", rel);
        res->failed++;
        res->no_events++;
    } else if (hits < want) {
        print_message("FAIL %s: rule %s (%s) matched %d of %d event(s), expected %lld\n", rel, id,
                      cs_rule_get_info(r)->title, hits, events, (long long)want);
        res->failed++;
    } else {
        res->passed++;
        if (hits == want) {
            res->exact++;
        } else {
            print_message("note %s: rule %s matched %d of %d event(s) (match_count %lld: at least, as SigmaHQ's "
                          "runner counts)\n", rel, id, hits, events, (long long)want);
        }
    }
    cs_yaml_free(yf);
}

static void walk_cases(const cs_ruleset *rs, const char *dir, int depth, results *res)
{
    struct dirent **list = NULL;
    char p[2048];
    struct stat sb;
    int n;
    snprintf(p, sizeof p, "%s/info.yml", dir);
    if (stat(p, &sb) == 0) {
        run_case(rs, dir, res);
        return;
    }
    if (depth > 16 || (n = scandir(dir, &list, NULL, alphasort)) < 0) {
        return;
    }
    for (int i = 0; i < n; i++) {
        if (list[i]->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, list[i]->d_name);
            if (is_dir(p)) {
                walk_cases(rs, p, depth + 1, res);
            }
        }
        free(list[i]);
    }
    free(list);
}

static void test_regression_data(void **state)
{
    const char *roots[] = {"rules", "rules-emerging-threats", "rules-threat-hunting"};
    char p[2048];
    cs_ruleset *rs = NULL;
    results res = {0, 0, 0, 0, 0, 0};
    (void)state;

    snprintf(p, sizeof p, "%s/regression_data", sigma_dir());
    if (!is_dir(p)) {
        print_message("SKIP: %s is absent (the shared test data is not here)\n", p);
        skip();
    }
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", sigma_dir(), roots[i]);
        if (is_dir(p)) {
            cs_ruleset_load_path(rs, p, NULL, NULL);   /* refused rules show up as "not loaded" cases */
        }
    }
    snprintf(p, sizeof p, "%s/regression_data", sigma_dir());
    walk_cases(rs, p, 0, &res);
    print_message("regression_data: %d cases, %d passed (%d with exactly match_count matches), %d failed "
                  "(%d rule not loaded, %d without events)\n",
                  res.cases, res.passed, res.exact, res.failed, res.no_rule, res.no_events);
    cs_ruleset_free(rs);
    assert_true(res.cases > 0);
    if ((long)res.passed * 1000 < (long)res.cases * CS_REGRESSION_MIN_PERMILLE) {
        fail_msg("%d of %d regression cases passed, below the %d per mille reached before", res.passed, res.cases,
                 CS_REGRESSION_MIN_PERMILLE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regression_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
