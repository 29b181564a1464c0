/* fuzz_decode.c - libFuzzer target for the packet decoder: the first input
 * byte picks one of the link types cs_decode() supports, the rest is the
 * frame. Besides the sanitizers, the result must stay inside the frame: l3
 * and the payload point into it, the tunnel count stays under its limit.
 * A trap (not an assert) so release builds check it too. */
#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensors/packet/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = {
    DLT_EN10MB, DLT_LINUX_SLL, 276 /* LINUX_SLL2 */, DLT_RAW, 228 /* IPV4 */, 229 /* IPV6 */,
    DLT_NULL,   DLT_LOOP,      DLT_PPP,           DLT_C_HDLC, DLT_PPP_SERIAL,
};
#define NLINKS (sizeof linktypes / sizeof linktypes[0])

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *f;
    uint32_t n;
    uint8_t *copy;
    cs_pkt p;
    cs_dec_rc rc;
    int lt;

    if (size < 1 || size > 65536) {
        return 0;
    }
    lt = linktypes[data[0] % NLINKS];
    n = (uint32_t)(size - 1);
    /* an exact-size copy: any read past the frame is a heap overflow */
    copy = malloc(n ? n : 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data + 1, n);
    f = copy;
    CHECK(cs_decode_linktype_supported(lt));
    rc = cs_decode(lt, f, n, &p);
    CHECK(rc == CS_DEC_OK || rc == CS_DEC_FRAG || rc == CS_DEC_NON_IP || rc == CS_DEC_ERROR);
    if (rc == CS_DEC_OK || rc == CS_DEC_FRAG) {
        CHECK(p.ipver == 4 || p.ipver == 6);
        CHECK(p.l3 >= f && p.l3 < f + n && p.l3 + p.l3_caplen == f + n);
        CHECK(p.tunnel_depth <= CS_DEC_MAX_TUNNELS);
        CHECK((p.tunnel == CS_TUN_NONE) == (p.tunnel_depth == 0));
    }
    if (rc == CS_DEC_OK && p.payload != NULL) {
        CHECK(p.payload >= p.l3 && p.payload + p.payload_len <= f + n);
    }
    free(copy);
    return 0;
}
