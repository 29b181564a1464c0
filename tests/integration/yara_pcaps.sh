#!/usr/bin/env bash
# YARA payload scanning on real captures: with all 78 shared rule files (one
# namespace per file) each capture of the "Observed matches" table in
# shared/data/yara/README.md yields its listed non-generic rules. The README
# ran the yara CLI over whole pcap files; we scan the first N payload bytes
# of each flow direction, so the few matches that sit deep inside a flow
# need a larger N (--yara-max-bytes 1048576, said per row). Then the bundled
# Sigma rule turns a YARA event into the "YARA" alert, and a broken rule
# file is refused naming file:line.
. "$(dirname "$0")/lib.bash"
need_shared yara
need_shared ndpi/pcap

Y=$CS_SHARED_DATA/yara

# capture (under shared/data) | N | rules expected (space-separated)
while IFS='|' read -r cap n rules; do
    [ -n "$cap" ] || continue
    p=$CS_SHARED_DATA/$cap
    if [ ! -f "$p" ]; then
        echo "# $cap: absent, not checked"
        continue
    fi
    run_cs replay --pcap "$p" --yara "$Y" --yara-max-bytes "$n" --events - -q
    if ! no_crash || [ "$RC" -ne 0 ]; then
        not_ok "$cap: exit $RC: $(head -n2 "$ERR")"
        continue
    fi
    found=$(grep -o '"yara":{[^}]*}' "$OUT" | grep -o '"rule":"[^"]*"' | sort -u | sed 's/"rule":"\(.*\)"/\1/' | tr '\n' ' ')
    for r in $rules; do
        check "$cap (N=$n): $r" grep -qw -- "$r" <<<"$found"
    done
done <<'EOF'
ndpi/pcap/log4j-webapp-exploit.pcap|4096|EXPL_Log4j_CallBackDomain_IOCs_Dec21_1 Misc_Suspicious_Strings
ndpi/pcap/WebattackRCE.pcap|4096|Misc_Suspicious_Strings
zeek/scripts.policy.protocols.http.sql-injection-plus-dvwa2/cooper-grill-dvwa.pcapng|4096|Misc_Suspicious_Strings
attack-pcaps/evilfingers-exploits/CVE-2007-5815_sonicwall_ssl_vpn_bo.pcap|4096|Misc_Suspicious_Strings
ndpi/pcap/smtp.pcap|4096|network_smtp_raw
suricata-verify/bug-3616-smtp/input.pcap|4096|network_smtp_raw
suricata-verify/smtp-file-data-01/input.pcap|4096|network_smtp_raw
attack-pcaps/forensicscontest/evidence02.pcap|4096|network_smtp_raw
attack-pcaps/evilfingers-xscan/xscan_capture.pcap|4096|Dropper_Strings
attack-pcaps/evilfingers-xscan/xscan_capture.pcap|1048576|VMWare_Detection
ndpi/pcap/webex.pcap|1048576|Qemu_Detection
suricata-verify/output-eve-ftp-data/input.pcap|1048576|VMWare_Detection
attack-pcaps/evilfingers-exploits/CVE-2007-1868_IBM_GET_Authorization_metasploit.pcap|4096|spreading_file
EOF

# Event shape: module, namespace = file name, direction, the flow's id.
run_cs replay --pcap "$CS_SHARED_DATA/ndpi/pcap/log4j-webapp-exploit.pcap" --yara "$Y" --events - -q
line=$(grep -m1 '"rule":"EXPL_Log4j_CallBackDomain_IOCs_Dec21_1"' "$OUT")
check "YARA event has event.module yara" grep -q '"module":"yara"' <<<"$line"
check "YARA event has the namespace of its file" grep -q '"namespace":"expl_log4j_cve_2021_44228"' <<<"$line"
check "YARA event has a direction" grep -qE '"direction":"(client|server)"' <<<"$line"
check "YARA event carries the flow id and Community ID" grep -qE '"flow":\{"id":[0-9]+\}.*"community_id":"1:' <<<"$line"

# The bundled Sigma rules raise the YARA alert (and the nDPI escalation).
run_cs replay -c "$CS_SOURCE_DIR/etc/citysoc.yaml" --yara "$Y" \
    --pcap "$CS_SHARED_DATA/ndpi/pcap/log4j-webapp-exploit.pcap" --alerts - -q
check "replay with -c and --yara exits 0" test "$RC" -eq 0
check "the YARA alert is raised" grep -q '"name":"YARA rule matched network content"' "$OUT"
check "the YARA + nDPI escalation is raised" grep -q '"name":"YARA match and a high-risk nDPI flow from the same source"' "$OUT"

# The configuration key does the same as the option.
cat >"$TMP/yara.yaml" <<EOF
rules: [$CS_SOURCE_DIR/rules/sigma]
inputs:
  yara: {rules: [$Y], max_bytes: 8192, timeout: 5}
EOF
run_cs replay -c "$TMP/yara.yaml" --pcap "$CS_SHARED_DATA/ndpi/pcap/smtp.pcap" --events - -q
check "inputs.yara in the configuration scans" grep -q '"rule":"network_smtp_raw"' "$OUT"
cat >"$TMP/yara-bad-key.yaml" <<EOF
inputs:
  yara: {rules: [$Y], max_byte: 10}
EOF
run_cs replay -c "$TMP/yara-bad-key.yaml" --pcap "$CS_SHARED_DATA/ndpi/pcap/smtp.pcap" -q
check "an unknown inputs.yara key is refused with file:line" grep -q "yara-bad-key.yaml:2: unknown key 'max_byte'" "$ERR"

# A rule file that does not compile: exit 1, file and line named.
mkdir -p "$TMP/badrules"
printf 'rule ok { condition: true }\nrule bad { condition: nothing_here }\n' >"$TMP/badrules/broken.yar"
run_cs replay --pcap "$CS_SHARED_DATA/ndpi/pcap/smtp.pcap" --yara "$TMP/badrules" --events - -q
check "a broken YARA file fails the replay" test "$RC" -eq 1
check "the error names file:line" grep -q 'broken.yar:2: YARA rule does not compile' "$ERR"
check "no crash on a broken YARA file" no_crash
finish
