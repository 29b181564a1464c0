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
 *   cs_pcap_tool head OUT FILE N     the first N packets of FILE.
 *   cs_pcap_tool payloads FILE DIR N the first N TCP/UDP payload bytes of
 *                                    each flow direction (5-tuple), in order
 *                                    of arrival as the sensor takes them, one
 *                                    file each in DIR: what `yara` scans for
 *                                    the YARA comparison; prints "files bytes".
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ndpi/ndpi_api.h>

#include <sys/stat.h>

#include "sensors/packet/decode.h"
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

static int head(const char *out, const char *file, long n)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(file, err);
    pcap_dumper_t *d;
    struct pcap_pkthdr *h;
    const u_char *data;
    if (p == NULL || (d = pcap_dump_open(p, out)) == NULL) {
        fprintf(stderr, "%s: %s\n", p ? out : file, p ? pcap_geterr(p) : err);
        return 1;
    }
    for (long i = 0; i < n && pcap_next_ex(p, &h, &data) == 1; i++) {
        pcap_dump((u_char *)d, h, data);
    }
    pcap_dump_close(d);
    pcap_close(p);
    return 0;
}

/* One direction of one 5-tuple and its first bytes. */
typedef struct pdir {
    uint8_t key[37];
    uint8_t used;
    uint32_t len;
    uint8_t *buf;
} pdir;

static int payloads(const char *file, const char *dir, long max)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(file, err);
    size_t cap = 1u << 20, files = 0;
    uint64_t bytes = 0;
    pdir *t = calloc(cap, sizeof *t);
    struct pcap_pkthdr *h;
    const u_char *data;
    int lt;
    if (p == NULL || t == NULL || max <= 0) {
        fprintf(stderr, "%s: %s\n", file, p ? "out of memory" : err);
        return 1;
    }
    mkdir(dir, 0755);
    lt = pcap_datalink(p);
    while (pcap_next_ex(p, &h, &data) == 1) {
        cs_pkt k;
        uint8_t key[37];
        uint32_t hv = 2166136261u;
        size_t i;
        if (cs_decode(lt, data, h->caplen, &k) != CS_DEC_OK || (k.proto != 6 && k.proto != 17) ||
            k.payload_len == 0) {
            continue;
        }
        memcpy(key, k.src, 16);
        memcpy(key + 16, k.dst, 16);
        memcpy(key + 32, &k.sport, 2);
        memcpy(key + 34, &k.dport, 2);
        key[36] = k.proto;
        for (i = 0; i < sizeof key; i++) {
            hv = (hv ^ key[i]) * 16777619u;
        }
        for (i = hv & (cap - 1); t[i].used && memcmp(t[i].key, key, sizeof key) != 0; i = (i + 1) & (cap - 1)) {
        }
        if (!t[i].used) {
            if (files + 1 >= cap / 2) {
                continue;   /* table full: enough directions for a benchmark */
            }
            t[i].used = 1;
            memcpy(t[i].key, key, sizeof key);
            if ((t[i].buf = malloc((size_t)max)) == NULL) {
                return 1;
            }
            files++;
        }
        if (t[i].len < (uint32_t)max) {
            uint32_t n = k.payload_len < (uint32_t)max - t[i].len ? k.payload_len : (uint32_t)max - t[i].len;
            memcpy(t[i].buf + t[i].len, k.payload, n);
            t[i].len += n;
        }
    }
    pcap_close(p);
    files = 0;
    for (size_t i = 0; i < cap; i++) {
        char path[4096];
        FILE *fp;
        if (!t[i].used) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%zu.bin", dir, files++);
        if ((fp = fopen(path, "wb")) == NULL || fwrite(t[i].buf, 1, t[i].len, fp) != t[i].len) {
            fprintf(stderr, "%s: cannot write\n", path);
            return 1;
        }
        fclose(fp);
        bytes += t[i].len;
        free(t[i].buf);
    }
    free(t);
    printf("%zu %llu\n", files, (unsigned long long)bytes);
    return 0;
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
    if (argc == 5 && strcmp(argv[1], "head") == 0) {
        return head(argv[2], argv[3], atol(argv[4]));
    }
    if (argc == 5 && strcmp(argv[1], "payloads") == 0) {
        return payloads(argv[2], argv[3], atol(argv[4]));
    }
    if (argc >= 3 && strcmp(argv[1], "loop") == 0) {
        return loop(argv[2], argc >= 4 ? atoi(argv[3]) : 3);
    }
    if (argc == 2 && strcmp(argv[1], "flowsize") == 0) {
        return flowsize();
    }
    fprintf(stderr, "usage: %s merge OUT FILE... | loop FILE [N] | head OUT FILE N | payloads FILE DIR N | flowsize\n", argv[0]);
    return 2;
}
