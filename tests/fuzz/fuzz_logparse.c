/* fuzz_logparse.c - libFuzzer target for one log parser, chosen at build
 * time with -DCS_FUZZ_FORMAT=CS_LOGFMT_<NAME> (AUTO exercises detection and
 * every parser). The event is also written as JSON, so the writer sees
 * whatever the parser produced. */
#include <stddef.h>
#include <stdint.h>

#include "runtime/json.h"
#include "sensors/logs/logparse.h"

#ifndef CS_FUZZ_FORMAT
#define CS_FUZZ_FORMAT CS_LOGFMT_AUTO
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_log_ctx ctx = {{1773302400000000LL, 0}, 1773302400000000LL, "fuzz.log", NULL};
    cs_event *ev = NULL;
    if (cs_log_parse_line(CS_FUZZ_FORMAT, (const char *)data, size, &ctx, &ev) == CS_OK) {
        cs_buf b;
        cs_buf_init(&b);
        cs_json_write_event(&b, ev);
        cs_buf_free(&b);
    }
    cs_event_free(ev);
    return 0;
}
