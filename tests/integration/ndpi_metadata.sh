#!/usr/bin/env bash
# nDPI metadata on dns/http/tls/ssh events (and DHCP on flow events), checked on nDPI's own captures against what
# ndpiReader 4.2 printed for them (ndpi/result): TLS SNI/version/JA3/JA3S and
# the certificate (subject, issuer, validity), SSH banners and HASSH, DNS
# query/type/response code, HTTP method/host/URL/user agent/status, DHCP
# fingerprint and class identifier, risk severity next to the score.
. "$(dirname "$0")/lib.bash"
need_shared ndpi/pcap
D=$CS_SHARED_DATA/ndpi/pcap

replay() { # capture -> $TMP/<capture>.jsonl
    run_cs replay --pcap "$D/$1" --events "$TMP/$1.all.jsonl" -q
    grep -F '"dataset":"citysoc.flow"' "$TMP/$1.all.jsonl" >"$TMP/$1.jsonl"   # flow events (risks come on their own)
    grep -E '"dataset":"citysoc.(dns|http|tls|ssh)"' "$TMP/$1.all.jsonl" >"$TMP/$1.app.jsonl" || true
    check "$1 replays (exit $RC)" test "$RC" -eq 0
    check "$1: no crash" no_crash
}
# flow NAME SELECTOR TEXT...: the first flow event of capture NAME matching
# the fixed string SELECTOR contains every TEXT (fixed strings).
flow() {
    local cap=$1 sel=$2 line
    shift 2
    line=$(grep -F -m1 -- "$sel" "$TMP/$cap.jsonl")
    for t in "$@"; do
        check "$cap [$sel]: $t" grep -qF -- "$t" <<<"$line"
    done
}
# app KIND NAME SELECTOR TEXT...: the same for the capture's KIND event
# (dns, http, tls, ssh), which must carry the Community ID of a flow event
# that does not repeat any TEXT.
app() {
    local kind=$1 cap=$2 sel=$3 line cid fl
    shift 3
    line=$(grep -F -- "\"dataset\":\"citysoc.$kind\"" "$TMP/$cap.app.jsonl" | grep -F -m1 -- "$sel")
    for t in "$@"; do
        check "$cap $kind event [$sel]: $t" grep -qF -- "$t" <<<"$line"
    done
    cid=$(grep -oE '"community_id":"[^"]+"' <<<"$line")
    fl=$(grep -F -m1 -- "$cid" "$TMP/$cap.jsonl")
    check "$cap $kind event [$sel]: its flow event is there ($cid)" test -n "$cid" -a -n "$fl"
    check "$cap $kind event [$sel]: the flow event does not repeat it" bash -c '! grep -qF -- "$1" <<<"$2"' _ "$1" "$fl"
}

# TLS: ndpiReader prints TLSv1.2, JA3C 2a26b1a6..., JA3S 0debd385..., issuer and
# subject "C=IT, ST=Some-State, O=ntop.org", validity 2015-10-10 15:55:47 - 2016-10-09 15:55:47
replay selfsigned.pcap
app tls selfsigned.pcap '"port":51607' \
    '"server_name":"localhost"' '"version":"1.2"' \
    '"ja3":"2a26b1a62e40d25d4de3babc9d532f30"' '"ja3s":"0debd3853f330c574b05e0b6d882dc27"' \
    '"subject":"C=IT, ST=Some-State, O=ntop.org"' '"issuer":"C=IT, ST=Some-State, O=ntop.org"' \
    '"not_before":"2015-10-10T15:55:47.000000Z"' '"not_after":"2016-10-09T15:55:47.000000Z"'
flow selfsigned.pcap '"port":51607' '"risks":["Known Protocol on Non Standard Port","Self-signed Certificate","TLS Expired Certificate"]' \
    '"risk_severity":"High"'

# SSH: banners and HASSH (ndpiReader: HASSH-C 21B457A3..., HASSH-S B1C6C0D5...)
replay ssh.pcap
app ssh ssh.pcap '"id":1}' \
    '"client_banner":"SSH-2.0-OpenSSH_5.3"' '"server_banner":"SSH-2.0-OpenSSH_5.6"' \
    '"hassh_client":"21b457a327ce7a2d4fce5ef2c42400bd"' '"hassh_server":"b1c6c0d56317555b85c7005a3de29325"'
flow ssh.pcap '"port":58395' '"risk_score":150' '"risk_severity":"High"'
check "ssh.pcap: the banner is not taken for a domain" bash -c "! grep -q '\"url\"' '$TMP/ssh.pcap.jsonl'"

# DNS: query, type and a non-zero response code
replay dns_ambiguous_names.pcap
app dns dns_ambiguous_names.pcap '"_.teams.microsoft.com"' '"type":"A"' '"response_code":"NXDOMAIN"'

# HTTP: method, host, request target, user agent, status
replay http-manipulated.pcap
app http http-manipulated.pcap '"port":33632' \
    '"method":"GET"' '"status_code":200' '"domain":"wwww.lan"' '"original":"/"' \
    '"user_agent":{"original":"curl/7.64.0"}'
flow http-manipulated.pcap '"port":33632' '"risks":"Known Protocol on Non Standard Port"' '"risk_severity":"Medium"'

# DHCP: fingerprint (ndpiReader: "DHCP Fingerprint: 1,3") and vendor class
replay teams.pcap
flow teams.pcap '"dhcp":' '"class_ident":"TL-SG116E"' '"fingerprint":"1,3"'

# The URL check ndpiReader adds when it prints a flow: a path climbing with "../"
replay WebattackRCE.pcap
flow WebattackRCE.pcap '"port":50562' '"HTTP Suspicious URL"'
# nDPI risks also come as events of their own, one per risk of a flow
risky=$(grep -c '"dataset":"citysoc.risk"' "$TMP/WebattackRCE.pcap.all.jsonl")
# a flow with one risk writes "risks":"name", with several "risks":["a","b"]
single=$(grep -o '"risks":"[^"]*"' "$TMP/WebattackRCE.pcap.jsonl" | wc -l)
multi=$(grep -o '"risks":\[[^]]*\]' "$TMP/WebattackRCE.pcap.jsonl" | sed 's/^"risks"://' | grep -o '"[^"]*"' | wc -l)
flowrisks=$((single + multi))
check "WebattackRCE: one risk event per risk of a flow ($risky events, $flowrisks risks on flows)" \
    bash -c "[ '$risky' -gt 0 ] && [ '$risky' -eq '$flowrisks' ]"
check "a risk event names its risk and flow" \
    grep -qE '"risk":"[^"]+".*"module":"ndpi".*"message":"nDPI risk ' "$TMP/WebattackRCE.pcap.all.jsonl"
finish
