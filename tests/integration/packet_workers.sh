#!/usr/bin/env bash
# Several packet workers (--workers N) see the same flows as one: every
# capture of nDPI's suite replayed with 1 and with 3 workers gives the same
# events (flow ids and order aside: each worker numbers its own flows, and
# workers emit concurrently). nDPI keeps some caches per detection module
# (e.g. a server's protocol learned from an earlier flow, "DPI (cache)"), so
# a few flows may get another verdict (protocol, confidence); those captures
# must still have the very same flows, and must stay rare.
. "$(dirname "$0")/lib.bash"
need_shared ndpi/pcap

norm() { # events.jsonl -> sorted, ids and run times taken out; stats are per worker
    grep -vF '"dataset":"citysoc.stats"' "$1" | sed 's/"created":"[^"]*",//; s/"id":[0-9]*}/"id":X}/; s/"id":[0-9]*,/"id":X,/; s/on flow [0-9]*/on flow X/; s/payload of flow [0-9]*/payload of flow X/' | sort
}
flows_only() { # the flow records (time, end reason, both ends with their counters), not nDPI's verdict or metadata
    grep -F '"dataset":"citysoc.flow"' "$1" | awk '{
        out = ""
        n = split("\"@timestamp\":\"[^\"]*\" \"end_reason\":\"[a-z]*\" \"destination\":\\{[^}]*\\} \"source\":\\{[^}]*\\} \"end\":\"[^\"]*\" \"transport\":\"[a-z0-9]*\"", re, " ")
        for (i = 1; i <= n; i++) if (match($0, re[i])) out = out substr($0, RSTART, RLENGTH) " "
        print out
    }' | sort
}
total=0 same=0 conf_only=0 flows1=0 flows3=0
for p in "$CS_SHARED_DATA"/ndpi/pcap/*; do
    [ -f "$p" ] || continue
    total=$((total + 1))
    "$CS_BIN" replay --pcap "$p" --workers 1 --events "$TMP/w1.jsonl" -q 2>/dev/null
    "$CS_BIN" replay --pcap "$p" --workers 3 --events "$TMP/w3.jsonl" -q 2>"$TMP/w3.err"
    RC=$?
    ERR=$TMP/w3.err
    if ! no_crash; then
        not_ok "$(basename "$p"): 3 workers crashed (exit $RC)"
        continue
    fi
    flows1=$((flows1 + $(grep -c '"dataset":"citysoc.flow"' "$TMP/w1.jsonl")))
    flows3=$((flows3 + $(grep -c '"dataset":"citysoc.flow"' "$TMP/w3.jsonl")))
    norm "$TMP/w1.jsonl" >"$TMP/n1.txt"
    norm "$TMP/w3.jsonl" >"$TMP/n3.txt"
    if cmp -s "$TMP/n1.txt" "$TMP/n3.txt"; then
        same=$((same + 1))
    elif cmp -s <(flows_only "$TMP/n1.txt") <(flows_only "$TMP/n3.txt"); then
        conf_only=$((conf_only + 1))
        echo "# $(basename "$p"): the same flows; nDPI's verdict differs (per-module cache)"
    else
        not_ok "$(basename "$p"): 3 workers give other events than 1"
        diff "$TMP/n1.txt" "$TMP/n3.txt" | head -4 | cut -c1-300
    fi
done
echo "# $total captures: $same identical, $conf_only with the same flows but another nDPI verdict; flows $flows1 (1 worker) vs $flows3 (3 workers)"
check "replayed the suite with 1 and 3 workers ($total captures)" test "$total" -ge 150
check "the same number of flows either way ($flows1 / $flows3)" test "$flows1" -eq "$flows3"
check "at least 97% of the captures give identical events ($same of $total)" test $((same * 100)) -ge $((total * 97))
ECHO=$CS_SHARED_DATA/bench-pcaps/zeek-echo-connections.pcap
if [ -f "$ECHO" ]; then
    # the workers' periodic counters add up to the packets of the capture
    "$CS_BIN" replay --pcap "$CS_SHARED_DATA/bench-pcaps/zeek-echo-connections.pcap" --workers 3 --events "$TMP/st.jsonl" -q \
        2>/dev/null
    total_pkts=$(grep -F '"dataset":"citysoc.stats"' "$TMP/st.jsonl" | awk '
        { match($0, /"worker":[0-9]+/); w = substr($0, RSTART + 9, RLENGTH - 9)
          match($0, /"packets":[0-9]+/); last[w] = substr($0, RSTART + 10, RLENGTH - 10) }
        END { for (w in last) s += last[w]; print s + 0 }')
    check "3 workers' last stats events add up to the capture's 82582 packets ($total_pkts)" test "$total_pkts" -eq 82582
else
    echo "# $ECHO absent: the stats check is skipped"
fi
finish
