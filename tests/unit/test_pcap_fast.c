/* test_pcap_fast.c - the fast classic-pcap reader gives what libpcap gives.
 *
 * Every record of every capture in the shared data (nDPI's suite, the
 * Suricata captures, the attack captures, the bench captures) is read both
 * ways and compared: return codes, stamps, lengths, bytes, and the error
 * sentence of a truncated or corrupt file. Hand-made files cover what the
 * corpus may not: both byte orders, nanosecond stamps, a record cut in its
 * header and in its frame, caplen above the snaplen (cut, as libpcap does)
 * and above the sane maximum (an error).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../pcap_compare.h"

static const char *data_dir(void)
{
    const char *d = getenv("CS_SHARED_DATA");
    return d != NULL && d[0] != '\0' ? d : "/work/shared/data";
}

/* 1 when the fast reader took the file and agreed, 0 when it left it to
 * libpcap; a difference fails the test. */
static int compare(const char *path, size_t *records)
{
    char why[1024];
    int r = pcap_compare_file(path, records, why, sizeof why);
    if (r < 0) {
        fail_msg("%s", why);
    }
    return r;
}

static void walk(const char *dir, int depth, size_t *files, size_t *taken, size_t *records)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char p[2048];
        struct stat sb;
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &sb) != 0) {
            continue;
        }
        if (S_ISDIR(sb.st_mode) && depth > 0) {
            walk(p, depth - 1, files, taken, records);
        } else if (S_ISREG(sb.st_mode) && (strstr(de->d_name, ".pcap") != NULL || strstr(de->d_name, ".cap") != NULL)) {
            (*files)++;
            *taken += (size_t)compare(p, records);
        }
    }
    closedir(d);
}

static void test_corpus(void **state)
{
    char p[512];
    size_t files = 0, taken = 0, records = 0;
    struct stat sb;
    (void)state;
    snprintf(p, sizeof p, "%s/ndpi/pcap", data_dir());
    if (stat(p, &sb) != 0) {
        print_message("skipped: %s is absent (set CS_SHARED_DATA)\n", p);
        skip();
    }
    walk(p, 0, &files, &taken, &records);
    snprintf(p, sizeof p, "%s/suricata-verify", data_dir());
    walk(p, 2, &files, &taken, &records);
    snprintf(p, sizeof p, "%s/attack-pcaps", data_dir());
    walk(p, 8, &files, &taken, &records);
    snprintf(p, sizeof p, "%s/bench-pcaps", data_dir());
    walk(p, 0, &files, &taken, &records);
    print_message("%zu captures, %zu read by the fast reader too (%zu records, identical)\n", files, taken, records);
    assert_true(taken >= 150);
    assert_true(records >= 200000);
}

/* ---- hand-made files ------------------------------------------------------ */

static void put32(FILE *fp, uint32_t v, int swap)
{
    v = swap ? __builtin_bswap32(v) : v;
    fwrite(&v, 4, 1, fp);
}

static void put16(FILE *fp, uint16_t v, int swap)
{
    v = swap ? __builtin_bswap16(v) : v;
    fwrite(&v, 2, 1, fp);
}

typedef struct rec {
    uint32_t sec, frac, caplen, len, write;   /* write: frame bytes actually written */
} rec;

static void make(const char *path, int swap, int nano, uint32_t snaplen, const rec *r, size_t n, size_t cut_tail)
{
    FILE *fp = fopen(path, "wb");
    uint8_t frame[4096];
    long size;
    assert_non_null(fp);
    for (size_t i = 0; i < sizeof frame; i++) {
        frame[i] = (uint8_t)(i * 7 + 3);
    }
    put32(fp, nano ? 0xa1b23c4du : 0xa1b2c3d4u, swap);
    put16(fp, 2, swap);
    put16(fp, 4, swap);
    put32(fp, 0, swap);
    put32(fp, 0, swap);
    put32(fp, snaplen, swap);
    put32(fp, 1, swap);   /* Ethernet */
    for (size_t i = 0; i < n; i++) {
        put32(fp, r[i].sec, swap);
        put32(fp, r[i].frac, swap);
        put32(fp, r[i].caplen, swap);
        put32(fp, r[i].len, swap);
        fwrite(frame, 1, r[i].write, fp);
    }
    size = ftell(fp);
    fclose(fp);
    if (cut_tail > 0) {
        assert_int_equal(truncate(path, size - (long)cut_tail), 0);
    }
}

static void test_handmade(void **state)
{
    char path[256];
    size_t records = 0;
    const rec good[] = {
        {1700000000, 123456, 60, 60, 60},
        {1700000001, 999999, 1500, 1514, 1500},
        {1700000002, 5, 64, 64, 64},
    };
    const rec nano[] = {
        {1700000000, 123456789, 60, 60, 60},
        {1700000001, 999999999, 100, 100, 100},
    };
    const rec over_snap[] = {   /* snaplen 100: the second record is cut to 100, the third still read */
        {1700000000, 1, 60, 60, 60},
        {1700000000, 2, 300, 300, 300},
        {1700000000, 3, 80, 80, 80},
    };
    const rec insane[] = {
        {1700000000, 1, 60, 60, 60},
        {1700000000, 2, 300000, 300000, 0},
    };
    (void)state;
    snprintf(path, sizeof path, "/tmp/cs-test-pcap-fast-%d.pcap", (int)getpid());
    for (int swap = 0; swap < 2; swap++) {
        make(path, swap, 0, 65535, good, 3, 0);
        assert_true(compare(path, &records));
        make(path, swap, 1, 65535, nano, 2, 0);
        assert_true(compare(path, &records));
        make(path, swap, 0, 100, over_snap, 3, 0);
        assert_true(compare(path, &records));
        make(path, swap, 0, 65535, insane, 2, 0);
        assert_true(compare(path, &records));
        make(path, swap, 0, 100, over_snap, 3, 250);   /* cut inside the over-long record */
        assert_true(compare(path, &records));
        make(path, swap, 0, 65535, good, 3, 30);   /* cut inside the last frame */
        assert_true(compare(path, &records));
        make(path, swap, 0, 65535, good, 3, 64 + 9);   /* cut inside the last record's header */
        assert_true(compare(path, &records));
    }
    assert_int_equal(records, 2 * (3 + 2 + 3 + 1 + 1 + 2 + 2));
    /* pcapng and old versions stay with libpcap */
    {
        FILE *fp = fopen(path, "wb");
        const uint8_t v23[] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0};
        assert_non_null(fp);
        fwrite(v23, 1, sizeof v23, fp);
        fclose(fp);
        assert_false(compare(path, &records));
    }
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handmade),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
