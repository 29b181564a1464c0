#!/usr/bin/env bash
# Live log inputs through `citysoc run`: a tailed file (with rotation), syslog
# over UDP and TCP on 127.0.0.1, each line parsed and matched by the rules;
# counters in /health; lines from every input reach the alerts.
. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "curl missing (tools/citysoc-setup installs it)"; exit 1; }

mkdir -p "$TMP/logs" "$TMP/var"
cat >"$TMP/citysoc.yaml" <<YAML
store: {path: var/citysoc.db}
rules: [$CS_SOURCE_DIR/rules/sigma]
inventory: $CS_SOURCE_DIR/etc/inventory.yaml
inputs:
  tail:
    - paths: ["logs/*.log"]
      format: auto
      from_start: true
  syslog:
    - {name: udp-in, transport: udp, listen: 127.0.0.1, port: 0}
    - {name: tcp-in, transport: tcp, listen: 127.0.0.1, port: 0}
  max_line: 4096
http: {listen: 127.0.0.1, port: 0}
alerts: {aggregate_window: 3600}
YAML
ssh_fail() { # host n
    printf 'Mar 12 08:%02d:%02d %s sshd[%d]: Failed password for invalid user admin from 203.0.113.45 port %d ssh2\n' \
        $((10 + $2 / 60)) $(($2 % 60)) "$1" $((100 + $2)) $((40000 + $2))
}
for i in $(seq 1 5); do ssh_fail popdb01 "$i"; done >"$TMP/logs/auth.log"
printf '198.51.100.23 - - [12/Mar/2026:08:20:00 +0000] "GET /a?id=1%%27%%20UNION%%20SELECT%%201 HTTP/1.1" 500 10 "-" "curl/8"\n' \
    >"$TMP/logs/access.log"

start_run "$TMP/citysoc.yaml"
udp=$(sed -nE 's/.*udp-in listening on udp 127\.0\.0\.1 port ([0-9]+).*/\1/p' "$TMP/run.out")
tcp=$(sed -nE 's/.*tcp-in listening on tcp 127\.0\.0\.1 port ([0-9]+).*/\1/p' "$TMP/run.out")
check "run serves http ($url) and listens on udp ($udp) and tcp ($tcp)" bash -c "[ -n '$url' ] && [ -n '$udp' ] && [ -n '$tcp' ]"

# syslog over TCP: newline framing and octet counting on one connection
msg1=$(ssh_fail hotline01 1)
msg2=$(ssh_fail hotline01 2)
exec 3<>"/dev/tcp/127.0.0.1/$tcp"
printf '%s\n%d %s' "$msg1" "${#msg2}" "$msg2" >&3
for i in $(seq 3 10); do ssh_fail hotline01 "$i"; done >&3
exec 3>&-
# syslog over UDP: one datagram per message
for i in $(seq 1 10); do ssh_fail school01 "$i" >"/dev/udp/127.0.0.1/$udp"; done
# the tailed file grows, then is rotated by rename and written again
# (tail lines: 5 + 5 + 5 + 1 long in auth.log, 1 in access.log = 17)
for i in $(seq 6 10); do ssh_fail popdb01 "$i"; done >>"$TMP/logs/auth.log"
sleep 1
mv "$TMP/logs/auth.log" "$TMP/logs/auth.log.1"
for i in $(seq 11 15); do ssh_fail popdb01 "$i"; done >>"$TMP/logs/auth.log"
# a line longer than max_line is cut and counted, not lost
{ printf 'Mar 12 08:30:00 popdb01 app: '; head -c 20000 /dev/zero | tr '\0' 'x'; printf '\n'; } >>"$TMP/logs/auth.log"

ok_counts=0
for _ in $(seq 1 100); do
    curl -fsS "${url}health" -o "$TMP/health.json" 2>/dev/null || true
    if grep -q '"type":"syslog","name":"udp-in".*"events":10,' "$TMP/health.json" &&
       grep -q '"type":"syslog","name":"tcp-in".*"events":10,' "$TMP/health.json" &&
       grep -q '"type":"tail","lines":17,' "$TMP/health.json"; then
        ok_counts=1
        break
    fi
    sleep 0.2
done
check "health counts every line of every input" test "$ok_counts" -eq 1
[ "$ok_counts" -eq 1 ] || cat "$TMP/health.json"
check "the long line was cut and counted" grep -q '"type":"tail".*"truncated":1' "$TMP/health.json"
curl -fsS "${url}api/v1/alerts?limit=100" -o "$TMP/alerts.json"
# ten failures or more from one source on one server: the brute-force correlation
rows=$(grep -oE '\{"id":"[0-9a-f]+","rule_id":"6b1f7c2e-9a4d-4e8b-b3c5-0d2e8f6a7c10"[^}]*' "$TMP/alerts.json")
for sys in popdb hotline school; do
    check "SSH brute force from the $sys input became a correlation alert" \
        grep -q "\"system_id\":\"$sys\"" <<<"$rows"
done
check "single SSH failures stayed evidence (generate: false)" \
    bash -c "! grep -q '4f0c2a57-1d7e-4c52-9b0e-3a6d5e8f1c01' '$TMP/alerts.json'"
check "the access log line in the tailed folder raised the SQL injection alert" \
    grep -q '7a1e3b90-5c2d-4e61-8f47-2b9c0d6a4e02' "$TMP/alerts.json"
kill -TERM "$pid"
wait "$pid"
check "run exits 0 on SIGTERM" test $? -eq 0
check "no sanitizer report" bash -c "! grep -qE 'runtime error|Sanitizer' '$TMP/run.err'"
finish
