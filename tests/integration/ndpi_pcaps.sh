#!/usr/bin/env bash
# Every capture of nDPI's test suite replays without a crash (run under the
# sanitizer build too); truncated captures end with a clear error.
. "$(dirname "$0")/lib.bash"
need_shared ndpi/pcap

count=0
for p in "$CS_SHARED_DATA"/ndpi/pcap/*; do
    [ -f "$p" ] || continue
    count=$((count + 1))
    run_cs replay --pcap "$p" --events - -q
    if ! no_crash; then
        not_ok "$(basename "$p"): crashed (exit $RC): $(grep -m3 -E 'ERROR|runtime error' "$ERR")"
    elif [ "$RC" -eq 0 ]; then
        if [ ! -s "$OUT" ]; then
            # a capture without a single IP flow is possible but rare; say so
            echo "# $(basename "$p"): no flows"
        fi
        ok "$(basename "$p")"
    elif [ "$RC" -eq 1 ] && grep -q "$(basename "$p")" "$ERR"; then
        ok "$(basename "$p"): refused with a message: $(head -n1 "$ERR")"
    else
        not_ok "$(basename "$p"): exit $RC: $(head -n2 "$ERR")"
    fi
done
check "replayed the whole nDPI suite ($count captures)" test "$count" -ge 150
run_cs replay --pcap "$CS_SHARED_DATA/ndpi/pcap/fuzz-2021-10-13.pcap" --events "$TMP/trunc.jsonl" -q
check "truncated capture exits 1" test "$RC" -eq 1
check "truncated capture is named in the error" grep -q 'fuzz-2021-10-13.pcap' "$ERR"
finish
