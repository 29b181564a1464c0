/* cs_pcap_tool - helpers for bench/packet/run.sh.
 *
 *   cs_pcap_tool merge OUT FILE...   every Ethernet capture among FILEs into
 *                                    one pcap, one after the other in time
 *                                    (each file's packets keep their spacing;
 *                                    the next file starts 1 s after the last
 *                                    packet), so flows of different files do
 *                                    not interleave; other link types are
 *                                    skipped and named on stderr.
 *   cs_pcap_tool loop FILE [N]       the bare libpcap read loop the packet
 *                                    sensor is compared with: pcap_next_ex()
 *                                    over FILE N times (default 3), touching
 *                                    the bytes; prints "packets seconds"
 *                                    for the fastest pass.
 *   cs_pcap_tool flowsize            the bytes one tracked flow costs in the
 *                                    sensor, during and after detection.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ndpi/ndpi_api.h>

#include "sensors/packet/flow.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int merge(const char *out, char **files, int n)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    pcap_dumper_t *d = dead ? pcap_dump_open(dead, out) : NULL;
    int64_t base_us = 1700000000LL * 1000000, next_us = base_us;
    uint64_t total = 0;
    if (d == NULL) {
        fprintf(stderr, "%s: cannot create: %s\n", out, dead ? pcap_geterr(dead) : "pcap_open_dead failed");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        pcap_t *p = pcap_open_offline(files[i], err);
        struct pcap_pkthdr *h;
        const u_char *data;
        int64_t first = -1, last = 0;
        int rc;
        if (p == NULL) {
            fprintf(stderr, "skipped %s: %s\n", files[i], err);
            continue;
        }
        if (pcap_datalink(p) != DLT_EN10MB) {
            fprintf(stderr, "skipped %s: link type %d is not Ethernet\n", files[i], pcap_datalink(p));
            pcap_close(p);
            continue;
        }
        while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
            int64_t t = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
            struct pcap_pkthdr o = *h;
            if (first < 0) {
                first = t;
            }
            t = t < first ? first : t;   /* keep time non-decreasing within a file */
            last = next_us + (t - first);
            o.ts.tv_sec = (time_t)(last / 1000000);
            o.ts.tv_usec = (suseconds_t)(last % 1000000);
            pcap_dump((u_char *)d, &o, data);
            total++;
        }
        pcap_close(p);
        if (first >= 0) {
            next_us = last + 1000000;
        }
    }
    pcap_dump_close(d);
    pcap_close(dead);
    printf("%llu packets\n", (unsigned long long)total);
    return 0;
}

static int loop(const char *file, int passes)
{
    char err[PCAP_ERRBUF_SIZE];
    double best = 1e30;
    uint64_t pkts = 0, sum = 0;
    for (int k = 0; k < passes; k++) {
        pcap_t *p = pcap_open_offline(file, err);
        struct pcap_pkthdr *h;
        const u_char *data;
        double t0;
        if (p == NULL) {
            fprintf(stderr, "%s: %s\n", file, err);
            return 1;
        }
        pkts = 0;
        t0 = now_s();
        while (pcap_next_ex(p, &h, &data) == 1) {
            pkts++;
            sum += data[0] + data[h->caplen - 1];   /* read the frame, as a decoder would */
        }
        t0 = now_s() - t0;
        best = t0 < best ? t0 : best;
        pcap_close(p);
    }
    printf("%llu %.6f\n", (unsigned long long)pkts, best);
    return sum == 0xffffffffffffffffULL;   /* keeps the reads */
}

static int flowsize(void)
{
    /* a record in the pool plus its share of the hash slots (the table keeps
     * slots >= 2 x records); nDPI's flow state exists only until detection */
    size_t rec = sizeof(cs_flow) + 2 * sizeof(cs_flow_slot);
    printf("%zu %u\n", rec, ndpi_detection_get_sizeof_ndpi_flow_struct());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "merge") == 0) {
        return merge(argv[2], argv + 3, argc - 3);
    }
    if (argc >= 3 && strcmp(argv[1], "loop") == 0) {
        return loop(argv[2], argc >= 4 ? atoi(argv[3]) : 3);
    }
    if (argc == 2 && strcmp(argv[1], "flowsize") == 0) {
        return flowsize();
    }
    fprintf(stderr, "usage: %s merge OUT FILE... | loop FILE [N] | flowsize\n", argv[0]);
    return 2;
}
