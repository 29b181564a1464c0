/* cs_sigma_bench - events per second through cs_ruleset_match() on one thread.
 *
 * Rules: every SigmaHQ rule for Linux, web and network that loads, from
 * rules/{linux,web,network}, rules-threat-hunting/{linux,web,network} and the
 * rules-emerging-threats files whose logsource is Linux, web or network (see
 * keep_rule()); then a second ruleset with ten of those files, spread evenly
 * over the sorted list (so linux, web and network rules alike).
 * Events: a fixed mix built once, before timing: syslog lines (sshd, sudo,
 * cron) and web access lines through the real parser (cs_log_parse_line),
 * plus synthetic flow events (CS_KIND_FLOW, no logsource, ECS fields).
 *
 * Correlation state: an event_count correlation grouped by source.ip is fed
 * one event per address; the heap growth (mallinfo2) over the live groups
 * is the state per group, printed with the feed rate.
 *
 * usage: cs_sigma_bench [-d SHARED_DATA] [-m MAPPINGS_DIR] [-s SECONDS] [-n EVENTS] [-a] [-k]
 */
#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <malloc.h>

#include "correlator/correlation.h"
#include "correlator/sigma.h"
#include "sensors/logs/logparse.h"

static cs_ruleset *g_all, *g_ten;
static const char *g_maps;
static size_t g_files, g_refused, g_cap;
static char **g_paths;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_err(const char *msg, void *ud)
{
    (void)msg;
    (void)ud;
    g_refused++;
}

static bool is_one_of(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(s, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* A Linux, web or network logsource. */
static bool keep_rule(const cs_rule_info *in)
{
    static const char *const products[] = {"linux", "zeek", "cisco", "fortigate", "fortios", "huawei", "juniper",
                                           "paloalto", "apache", "nginx", NULL};
    static const char *const categories[] = {"webserver", "proxy", "dns", "firewall", "network", NULL};
    if (in->product[0] != '\0') {
        return is_one_of(in->product, products);
    }
    return is_one_of(in->category, categories);
}

static cs_ruleset *new_set(void)
{
    cs_ruleset *rs = NULL;
    if (cs_ruleset_new(&rs) != CS_OK) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    if (g_maps != NULL && cs_ruleset_load_mappings(rs, g_maps) != CS_OK) {
        fprintf(stderr, "mappings: %s\n", cs_err_msg());
        exit(1);
    }
    return rs;
}

/* One rule file: into the big set if its rules are kept, and into the
 * ten-rule set while that has fewer than ten. */
static int visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    size_t n = strlen(path);
    cs_ruleset *probe;
    bool keep = false;
    (void)sb;
    (void)ftw;
    if (type != FTW_F || !((n > 4 && strcmp(path + n - 4, ".yml") == 0) || (n > 5 && strcmp(path + n - 5, ".yaml") == 0))) {
        return 0;
    }
    probe = new_set();
    (void)cs_ruleset_load_path(probe, path, NULL, NULL);
    for (size_t i = 0; i < cs_ruleset_count(probe); i++) {
        keep = keep || keep_rule(cs_rule_get_info(cs_ruleset_rule(probe, i)));
    }
    cs_ruleset_free(probe);
    if (!keep) {
        return 0;
    }
    if (g_files == g_cap) {
        g_cap = g_cap ? g_cap * 2 : 256;
        g_paths = realloc(g_paths, g_cap * sizeof *g_paths);
        if (g_paths == NULL) {
            exit(1);
        }
    }
    if ((g_paths[g_files++] = strdup(path)) == NULL) {
        exit(1);
    }
    return 0;
}

static cs_event *parse(cs_log_format fmt, const char *line)
{
    cs_event *ev = NULL;
    cs_log_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.received_us = 1700000000000000LL;
    if (cs_log_parse_line(fmt, line, strlen(line), &ctx, &ev) != CS_OK) {
        fprintf(stderr, "parse failed: %s\n", line);
        exit(1);
    }
    return ev;
}

static cs_event *flow(unsigned r)
{
    cs_event *ev = cs_event_new(CS_KIND_FLOW, 1700000000000000LL);
    char ip[64];
    cs_ip a;
    static const char *const proto[] = {"tcp", "udp", "tcp", "tcp"};
    static const int ports[] = {443, 80, 53, 22, 445, 8080, 3389, 123};
    snprintf(ip, sizeof ip, "10.%u.%u.%u", (r >> 3) % 8, (r >> 7) % 250, 1 + (r >> 11) % 250);
    cs_ip_parse(ip, strlen(ip), &a);
    cs_event_add_ip(&ev, CS_F_SOURCE_IP, &a);
    snprintf(ip, sizeof ip, "203.0.%u.%u", (r >> 5) % 250, 1 + (r >> 13) % 250);
    cs_ip_parse(ip, strlen(ip), &a);
    cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &a);
    cs_event_add_int(&ev, CS_F_SOURCE_PORT, 32768 + (int64_t)(r % 28000));
    cs_event_add_int(&ev, CS_F_DESTINATION_PORT, ports[(r >> 9) % 8]);
    cs_event_add_cstr(&ev, CS_F_NETWORK_TRANSPORT, proto[r % 4]);
    cs_event_add_int(&ev, CS_F_NETWORK_BYTES, 60 + (int64_t)(r % 90000));
    cs_event_add_int(&ev, CS_F_NETWORK_PACKETS, 1 + (int64_t)(r % 70));
    cs_event_add_cstr(&ev, CS_F_NETWORK_COMMUNITY_ID, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    return ev;
}

/* The event mix: 25% sshd, 10% sudo, 5% cron, 35% access log, 25% flows. */
static cs_event **make_events(size_t n)
{
    static const char *const users[] = {"root", "admin", "bob", "alice", "oracle", "ubuntu", "test", "git"};
    static const char *const paths[] = {
        "/", "/index.html", "/static/app.js", "/api/v1/items?page=2", "/login", "/images/logo.png",
        "/search?q=city+council", "/wp-login.php", "/.env", "/index.php?id=1%27%20union%20select%201,2--",
        "/cgi-bin/../../etc/passwd", "/favicon.ico", "/api/v1/users/42", "/robots.txt",
    };
    static const char *const agents[] = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "curl/8.4.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "sqlmap/1.7.2#stable (https://sqlmap.org)", "Googlebot/2.1 (+http://www.google.com/bot.html)",
    };
    static const int status[] = {200, 200, 200, 304, 404, 301, 500, 403};
    cs_event **evs = calloc(n, sizeof *evs);
    unsigned r = 2463534242u;
    char line[1024];
    if (evs == NULL) {
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned k;
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        k = (unsigned)(i % 20);
        if (k < 5) {
            static const char *const what[] = {"Failed password for", "Accepted publickey for",
                                               "Disconnected from authenticating user"};
            snprintf(line, sizeof line, "<38>Mar  3 10:%02u:%02u web1 sshd[%u]: %s %s%s from 198.51.100.%u port %u%s",
                     r % 60, (r >> 6) % 60, 1000 + r % 30000, what[r % 3], (r >> 3) % 4 == 0 ? "invalid user " : "",
                     users[(r >> 8) % 8], 1 + (r >> 12) % 250, 1024 + (r >> 4) % 60000,
                     r % 3 == 2 ? " [preauth]" : " ssh2");
            evs[i] = parse(CS_LOGFMT_SYSLOG, line);
        } else if (k < 7) {
            snprintf(line, sizeof line,
                     "<85>Mar  3 10:%02u:%02u web1 sudo:   %s : TTY=pts/%u ; PWD=/home/%s ; USER=root ; "
                     "COMMAND=/usr/bin/systemctl restart nginx",
                     r % 60, (r >> 6) % 60, users[(r >> 8) % 8], r % 5, users[(r >> 8) % 8]);
            evs[i] = parse(CS_LOGFMT_SYSLOG, line);
        } else if (k < 8) {
            snprintf(line, sizeof line,
                     "<78>Mar  3 10:%02u:01 web1 CRON[%u]: (root) CMD (cd / && run-parts --report /etc/cron.hourly)",
                     r % 60, 1000 + r % 30000);
            evs[i] = parse(CS_LOGFMT_SYSLOG, line);
        } else if (k < 15) {
            snprintf(line, sizeof line,
                     "192.0.2.%u - - [03/Mar/2024:10:%02u:%02u +0000] \"%s %s HTTP/1.1\" %d %u \"-\" \"%s\"",
                     1 + r % 250, (r >> 3) % 60, (r >> 9) % 60, (r >> 5) % 7 == 0 ? "POST" : "GET",
                     paths[(r >> 11) % (sizeof paths / sizeof paths[0])], status[(r >> 17) % 8], 100 + (r >> 7) % 90000,
                     agents[(r >> 21) % (sizeof agents / sizeof agents[0])]);
            evs[i] = parse(CS_LOGFMT_ACCESS, line);
        } else {
            evs[i] = flow(r);
        }
    }
    return evs;
}

static double rate(const cs_ruleset *rs, cs_event **evs, size_t n, double secs, double *per_event)
{
    size_t done = 0, hits = 0;
    double t0 = now_s(), t;
    do {
        for (size_t i = 0; i < n; i++) {
            hits += cs_ruleset_match(rs, evs[i], NULL, NULL);
        }
        done += n;
        t = now_s();
    } while (t - t0 < secs);
    *per_event = (double)hits / (double)done;
    return (double)done / (t - t0);
}

/* The ten-rule and all-rule rates, rounds alternating, the best of each. */
static void best_of(cs_event **evs, size_t n, int rounds, double secs, double *r_ten, double *m_ten, double *r_all,
                    double *m_all)
{
    *r_ten = *r_all = 0;
    for (int round = 0; round < rounds; round++) {
        double x = rate(g_ten, evs, n, secs / rounds, m_ten);
        *r_ten = x > *r_ten ? x : *r_ten;
        x = rate(g_all, evs, n, secs / rounds, m_all);
        *r_all = x > *r_all ? x : *r_all;
    }
}

/* Heap bytes per live correlation group, measured, and the feed rate. */
static void corr_bench(size_t ngroups)
{
    static const char base[] = "title: tcp flow\nid: 5d0a1c1e-0000-4000-8000-00000000be01\nname: tcp_flow\n"
                               "logsource:\n  product: citysoc\ndetection:\n  sel:\n    network.transport: tcp\n"
                               "  condition: sel\n";
    static const char corr[] = "title: many flows\nname: many_flows\ncorrelation:\n  type: event_count\n"
                               "  rules:\n    - tcp_flow\n  group-by:\n    - source.ip\n  timespan: 1h\n"
                               "  condition:\n    gte: 1000000\n";
    cs_ruleset *rs = NULL;
    cs_corrset *cs = NULL;
    cs_event **evs = calloc(ngroups, sizeof *evs);
    const cs_rule *rule;
    cs_corr_stats st;
    struct mallinfo2 m0, m1;
    double t0, t;
    if (evs == NULL || cs_ruleset_new(&rs) != CS_OK ||
        cs_ruleset_load_string(rs, "base", base, sizeof base - 1, NULL, NULL) != CS_OK ||
        cs_corrset_new(rs, &cs) != CS_OK || cs_corrset_load_string(cs, "corr", corr, sizeof corr - 1, NULL, NULL) != CS_OK) {
        fprintf(stderr, "correlation bench: set-up failed\n");
        goto out;
    }
    rule = cs_ruleset_rule(rs, 0);
    for (size_t i = 0; i < ngroups; i++) {
        char ip[32];
        cs_ip a;
        evs[i] = cs_event_new(CS_KIND_FLOW, 1700000000000000LL + (int64_t)i * 1000);
        snprintf(ip, sizeof ip, "10.%zu.%zu.%zu", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        cs_ip_parse(ip, strlen(ip), &a);
        cs_event_add_ip(&evs[i], CS_F_SOURCE_IP, &a);
        cs_event_add_cstr(&evs[i], CS_F_NETWORK_TRANSPORT, "tcp");
    }
    m0 = mallinfo2();
    t0 = now_s();
    for (size_t i = 0; i < ngroups; i++) {
        cs_corrset_feed(cs, rule, evs[i], NULL, NULL);
    }
    t = now_s() - t0;
    m1 = mallinfo2();
    cs_corrset_stats(cs, &st);
    /* uordblks: chunks in use; hblkhd: mmapped blocks (the hash table) */
    printf("correlation state: %zu live groups (event_count by source.ip, one event each): %.1f heap bytes per "
           "group, goal <= 128 (the group allocation asks %zu; malloc rounding and the hash table slot make the "
           "rest); %.0f events/s fed\n",
           (size_t)st.groups,
           st.groups ? (double)((m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd)) / (double)st.groups : 0.0,
           cs_corrset_group_bytes(strlen("10.1.2.3")), (double)ngroups / t);
out:
    for (size_t i = 0; evs != NULL && i < ngroups; i++) {
        cs_event_free(evs[i]);
    }
    free(evs);
    cs_corrset_free(cs);
    cs_ruleset_free(rs);
}

int main(int argc, char **argv)
{
    static const char *const dirs[] = {"rules/linux", "rules/web", "rules/network", "rules-threat-hunting/linux",
                                       "rules-threat-hunting/web", "rules-threat-hunting/network",
                                       "rules-emerging-threats"};
    const char *base = "/work/shared/data";
    double secs = 3.0, m_all, m_ten, m_off, r_all, r_ten, r_off;
    size_t n = 20000;
    cs_event **evs;
    int c;
    bool only_all = false, by_kind = false;
    while ((c = getopt(argc, argv, "d:m:s:n:ak")) != -1) {
        if (c == 'd') {
            base = optarg;
        } else if (c == 'm') {
            g_maps = optarg;
        } else if (c == 's') {
            secs = atof(optarg);
        } else if (c == 'k') {
            by_kind = true;   /* also the rates per kind of event */
        } else if (c == 'a') {
            only_all = true;   /* for profiling: the all-rules run only */
        } else if (c == 'n') {
            n = (size_t)strtoul(optarg, NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [-d SHARED_DATA] [-m MAPPINGS_DIR] [-s SECONDS] [-n EVENTS] [-a] [-k]\n", argv[0]);
            return 2;
        }
    }
    if (n == 0) {
        n = 1;
    }
    g_all = new_set();
    g_ten = new_set();
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/sigma/%s", base, dirs[i]);
        if (nftw(path, visit, 16, FTW_PHYS) != 0) {
            fprintf(stderr, "%s: cannot walk\n", path);
        }
    }
    /* all kept files into the big set; ten files spread evenly over them
     * (linux, web and network alike) into the small one */
    for (size_t i = 0; i < g_files; i++) {
        (void)cs_ruleset_load_path(g_all, g_paths[i], count_err, NULL);
    }
    for (size_t k = 0; k < 10 && k < g_files; k++) {
        (void)cs_ruleset_load_path(g_ten, g_paths[k * g_files / 10 + g_files / 20], NULL, NULL);
    }
    for (size_t i = 0; i < g_files; i++) {
        free(g_paths[i]);
    }
    free(g_paths);
    if (cs_ruleset_count(g_all) == 0) {
        fprintf(stderr, "no rules under %s/sigma\n", base);
        return 1;
    }
    evs = make_events(n);
    printf("rules: %zu loaded from %zu files (%zu refused), %zu with prefilter witnesses; ten-rule set: %zu\n",
           cs_ruleset_count(g_all), g_files, g_refused, cs_ruleset_prefiltered(g_all), cs_ruleset_count(g_ten));
    printf("events: %zu (25%% sshd, 10%% sudo, 5%% cron, 35%% web access, 25%% flows), %.1f s per run\n", n, secs);
    corr_bench(100000);
    if (only_all) {
        /* profiling one kind: CS_BENCH_ONLY=sshd|web (see make_events) */
        const char *only = getenv("CS_BENCH_ONLY");
        if (only != NULL) {
            size_t m = 0;
            bool web = strcmp(only, "web") == 0;
            for (size_t i = 0; i < n; i++) {
                if (web ? (i % 20 >= 8 && i % 20 < 15) : i % 20 < 5) {
                    cs_event *t = evs[m];
                    evs[m++] = evs[i];
                    evs[i] = t;
                }
            }
            n = m;
        }
        r_all = rate(g_all, evs, n, secs, &m_all);
        printf("all rules:            %10.0f events/s  (%.3f matches/event)\n", r_all, m_all);
        goto out;
    }
    /* ten and all alternate, five rounds each, best of each kept: a noisy
     * neighbour on a shared machine slows one round, not the comparison */
    best_of(evs, n, 5, secs, &r_ten, &m_ten, &r_all, &m_all);
    cs_ruleset_set_prefilter(g_all, false);
    r_off = rate(g_all, evs, n, secs, &m_off);
    cs_ruleset_set_prefilter(g_all, true);
    printf("(best of 5 alternating rounds for ten and all)\n");
    printf("ten rules:            %10.0f events/s  (%.3f matches/event)\n", r_ten, m_ten);
    printf("all rules:            %10.0f events/s  (%.3f matches/event)\n", r_all, m_all);
    printf("all rules, no filter: %10.0f events/s  (%.3f matches/event)\n", r_off, m_off);
    printf("ratio all/ten: %.2f   prefilter speed-up: %.2fx\n", r_all / r_ten, r_all / r_off);
    if (by_kind) {
        /* make_events() gives event i the kind of i % 20 */
        static const struct {
            const char *name;
            unsigned lo, hi;
        } kinds[] = {{"sshd", 0, 5}, {"sudo", 5, 7}, {"cron", 7, 8}, {"web access", 8, 15}, {"flow", 15, 20}};
        cs_event **sub = calloc(n, sizeof *sub);
        for (size_t k = 0; sub != NULL && k < sizeof kinds / sizeof kinds[0]; k++) {
            size_t m = 0;
            double a, t, x;
            for (size_t i = 0; i < n; i++) {
                if (i % 20 >= kinds[k].lo && i % 20 < kinds[k].hi) {
                    sub[m++] = evs[i];
                }
            }
            best_of(sub, m, 3, secs / 4, &t, &x, &a, &x);
            printf("  %-11s ten %10.0f/s  all %10.0f/s  (%.0f ns vs %.0f ns per event)\n", kinds[k].name, t, a,
                   1e9 / t, 1e9 / a);
        }
        free(sub);
    }
out:
    for (size_t i = 0; i < n; i++) {
        cs_event_free(evs[i]);
    }
    free(evs);
    cs_ruleset_free(g_all);
    cs_ruleset_free(g_ten);
    return 0;
}
