/* pcap_fast.c - classic pcap records straight from a large read buffer.
 *
 * Design note
 * -----------
 * Profiles of the offline reader showed a third of the reading thread in
 * stdio: libpcap reads every record with two fread() calls (16-byte header,
 * then the frame) through a FILE buffer, so each byte is copied twice and
 * each packet pays two locked stdio calls. Here the file is read in 1 MiB
 * slabs with read(2) and records are handed out where they lie; a record
 * cut by the end of the slab is moved to the front before the next read.
 *
 * The semantics are libpcap's (sf-pcap.c), checked against it on every
 * capture of the shared data by tests/unit/test_packet.c:
 *   - a short record header at the end is "truncated dump file; tried to
 *     read 16 header bytes, only got N"; a short frame is "... tried to read
 *     C captured bytes, only got N";
 *   - caplen above the link type's maximum (262144) is an error naming the
 *     snaplen or that maximum; caplen above the file's snaplen (but sane)
 *     is cut to the snaplen and the rest skipped;
 *   - swapped files are byte-swapped, nanosecond stamps scaled to micro
 *     (stamps read as libpcap reads them, fuzz/fuzz_pcapfile.c compares).
 * Only version 2.4 files of link types without pseudo-headers that depend
 * on byte order are taken (Ethernet, Linux cooked v1/v2, raw IP); libpcap
 * keeps the rest, and anything it found odd in the header.
 */
#include "pcap_fast.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLAB (1u << 20)
#define MAX_SNAPLEN 262144u    /* libpcap's MAXIMUM_SNAPLEN for these link types */
#define REC_HDR 16u
#define FILE_HDR 24u

struct cs_pcap_fast {
    int fd;
    int swapped;
    int nano;
    uint32_t snapshot;
    uint8_t *buf;        /* SLAB + MAX_SNAPLEN + REC_HDR: a whole record always fits */
    size_t cap;
    size_t pos, len;     /* unread bytes are buf[pos, len) */
    int eof;
    int err;             /* errno of a failed read */
};

static uint32_t u32(const uint8_t *p, int swapped)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

static int64_t stamp(const uint8_t *p, int swapped)
{
    uint32_t v = u32(p, swapped);
    return swapped ? (int64_t)v : (int64_t)(int32_t)v;
}

cs_pcap_fast *cs_pcap_fast_open(const char *path, pcap_t *pc)
{
    uint8_t hdr[FILE_HDR];
    cs_pcap_fast *r;
    struct stat sb;
    uint32_t magic;
    int fd, dlt = pcap_datalink(pc);

    if ((dlt != DLT_EN10MB && dlt != DLT_LINUX_SLL && dlt != DLT_LINUX_SLL2 && dlt != DLT_RAW &&
         dlt != DLT_IPV4 && dlt != DLT_IPV6) ||
        pcap_major_version(pc) != 2 || pcap_minor_version(pc) != 4 || pcap_snapshot(pc) <= 0 ||
        (uint32_t)pcap_snapshot(pc) > MAX_SNAPLEN) {
        return NULL;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || read(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr) {
        close(fd);
        return NULL;
    }
    memcpy(&magic, hdr, 4);
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        close(fd);
        return NULL;
    }
    switch (magic) {
    case 0xa1b2c3d4u: break;
    case 0xd4c3b2a1u: r->swapped = 1; break;
    case 0xa1b23c4du: r->nano = 1; break;
    case 0x4d3cb2a1u: r->swapped = 1; r->nano = 1; break;
    default:   /* pcapng, or a patched/odd format: libpcap's */
        free(r);
        close(fd);
        return NULL;
    }
    if (r->swapped != pcap_is_swapped(pc)) {
        free(r);
        close(fd);
        return NULL;
    }
    r->cap = SLAB + MAX_SNAPLEN + REC_HDR;
    if ((r->buf = malloc(r->cap)) == NULL) {
        free(r);
        close(fd);
        return NULL;
    }
    r->fd = fd;
    r->snapshot = (uint32_t)pcap_snapshot(pc);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return r;
}

/* At least want unread bytes in the buffer unless the file ends first. */
static void fill(cs_pcap_fast *r, size_t want)
{
    if (r->len - r->pos >= want || r->eof) {
        return;
    }
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    while (r->len < want && !r->eof) {
        size_t room = r->cap - r->len;
        ssize_t n = read(r->fd, r->buf + r->len, room < SLAB ? room : SLAB);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            r->err = errno;
            r->eof = 1;
        } else if (n == 0) {
            r->eof = 1;
        } else {
            r->len += (size_t)n;
        }
    }
}

int cs_pcap_fast_next(cs_pcap_fast *r, struct pcap_pkthdr *h, const uint8_t **data, char *err, size_t errcap)
{
    const uint8_t *p;
    uint32_t caplen, keep;
    size_t have;

    fill(r, REC_HDR);
    have = r->len - r->pos;
    if (have < REC_HDR) {
        if (r->err != 0) {
            snprintf(err, errcap, "error reading dump file: %s", strerror(r->err));
            return -1;
        }
        if (have == 0) {
            return 0;
        }
        snprintf(err, errcap, "truncated dump file; tried to read %u header bytes, only got %zu", REC_HDR, have);
        return -1;
    }
    p = r->buf + r->pos;
    /* libpcap's stamps are signed 32-bit in the file's own order, and come
     * out unsigned once byte-swapped: the same here */
    h->ts.tv_sec = (time_t)stamp(p, r->swapped);
    h->ts.tv_usec = (suseconds_t)stamp(p + 4, r->swapped);
    if (r->nano) {
        h->ts.tv_usec /= 1000;
    }
    caplen = u32(p + 8, r->swapped);
    h->len = u32(p + 12, r->swapped);
    if (caplen > MAX_SNAPLEN) {
        if (caplen > r->snapshot) {
            snprintf(err, errcap, "invalid packet capture length %u, bigger than snaplen of %u", caplen, r->snapshot);
        } else {
            snprintf(err, errcap, "invalid packet capture length %u, bigger than maximum of %u", caplen, MAX_SNAPLEN);
        }
        return -1;
    }
    keep = caplen > r->snapshot ? r->snapshot : caplen;
    fill(r, REC_HDR + (size_t)caplen);
    have = r->len - r->pos - REC_HDR;
    if (have < caplen) {
        if (r->err != 0) {
            snprintf(err, errcap, "error reading dump file: %s", strerror(r->err));
        } else {
            /* libpcap names the snaplen when it stopped short of it, else the caplen */
            snprintf(err, errcap, "truncated dump file; tried to read %u captured bytes, only got %zu",
                     have < keep ? keep : caplen, have);
        }
        return -1;
    }
    h->caplen = keep;
    *data = r->buf + r->pos + REC_HDR;
    r->pos += REC_HDR + (size_t)caplen;
    return 1;
}

void cs_pcap_fast_close(cs_pcap_fast *r)
{
    if (r == NULL) {
        return;
    }
    close(r->fd);
    free(r->buf);
    free(r);
}
