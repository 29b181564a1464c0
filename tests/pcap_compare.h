/* pcap_compare.h - for tests and fuzz targets: read one capture file with
 * libpcap and with the fast classic-pcap reader (sensors/packet/pcap_fast.h)
 * and compare them record by record. Header-only (static functions). */
#ifndef CS_TEST_PCAP_COMPARE_H
#define CS_TEST_PCAP_COMPARE_H

#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "sensors/packet/pcap_fast.h"

/* 1: the fast reader took the file and agreed on every record (return
 * codes, stamps, lengths, bytes, error sentence); 0: it left the file to
 * libpcap (or libpcap cannot open it); -1: they differ, why says where.
 * *records (may be NULL) gets the records read. */
static int pcap_compare_file(const char *path, size_t *records, char *why, size_t whycap)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *ref = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, err);
    pcap_t *hdr = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, err);
    cs_pcap_fast *f = ref != NULL && hdr != NULL ? cs_pcap_fast_open(path, hdr) : NULL;
    int result = f != NULL ? 1 : 0;
    size_t n = 0;
    while (f != NULL && n < 10000000) {
        struct pcap_pkthdr *rh, fh;
        const u_char *rd;
        const uint8_t *fd;
        char ferr[PCAP_ERRBUF_SIZE + 1] = "";
        int rrc = pcap_next_ex(ref, &rh, &rd);
        int frc = cs_pcap_fast_next(f, &fh, &fd, ferr, sizeof ferr);
        rrc = rrc == PCAP_ERROR_BREAK ? 0 : rrc == PCAP_ERROR ? -1 : rrc;
        if (rrc != frc || (rrc < 0 && strcmp(pcap_geterr(ref), ferr) != 0)) {
            snprintf(why, whycap, "%s: record %zu: libpcap %d \"%s\", fast reader %d \"%s\"", path, n + 1, rrc,
                     rrc < 0 ? pcap_geterr(ref) : "", frc, ferr);
            result = -1;
            break;
        }
        if (rrc <= 0) {
            break;
        }
        if (rh->ts.tv_sec != fh.ts.tv_sec || rh->ts.tv_usec != fh.ts.tv_usec || rh->caplen != fh.caplen ||
            rh->len != fh.len || memcmp(rd, fd, rh->caplen) != 0) {
            snprintf(why, whycap, "%s: record %zu differs (ts %ld.%06ld/%ld.%06ld caplen %u/%u len %u/%u)", path,
                     n + 1, (long)rh->ts.tv_sec, (long)rh->ts.tv_usec, (long)fh.ts.tv_sec, (long)fh.ts.tv_usec,
                     rh->caplen, fh.caplen, rh->len, fh.len);
            result = -1;
            break;
        }
        n++;
    }
    cs_pcap_fast_close(f);
    if (ref != NULL) {
        pcap_close(ref);
    }
    if (hdr != NULL) {
        pcap_close(hdr);
    }
    if (records != NULL) {
        *records += n;
    }
    return result;
}

#endif
