/* fuzz_pcapfile.c - differential libFuzzer target for the fast classic-pcap
 * reader: the input is a capture file; when the fast reader takes it, every
 * record (return code, stamps, lengths, bytes, error sentence) must equal
 * what libpcap's pcap_next_ex() gives. A difference or a sanitizer report
 * aborts. Seeds in fuzz/corpus-pcapfile (made by hand, no third-party data). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../pcap_compare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    char why[1024];
    FILE *fp;
    int r;

    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/cs-fuzz-pcapfile-%d.pcap", (int)getpid());
    }
    if ((fp = fopen(path, "wb")) == NULL) {
        return 0;
    }
    fwrite(data, 1, size, fp);
    fclose(fp);
    r = pcap_compare_file(path, NULL, why, sizeof why);
    unlink(path);
    if (r < 0) {
        fprintf(stderr, "%s\n", why);
        abort();
    }
    return 0;
}
