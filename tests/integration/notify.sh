#!/usr/bin/env bash
# `citysoc notify test -c CONFIG` through real local receivers on 127.0.0.1:
# a webhook (HTTP), a syslog UDP listener and an SMTP relay, all written in
# python3 by this test. Each gets the test notification (Vietnamese title
# intact); a channel whose server is down is reported FAILED with exit 1;
# configuration mistakes name file:line. And end to end in `citysoc run`: a
# brute force in a followed log opens an incident and the webhook hears of it.
. "$(dirname "$0")/lib.bash"
command -v python3 >/dev/null || { echo "SKIP: python3 is missing"; exit 77; }

cat >"$TMP/recv.py" <<'PY'
import base64, email, email.header, json, socket, sys, threading, http.server
out = sys.argv[1]
def save(name, data):
    with open(out + "/" + name, "wb") as f:
        f.write(data)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        save("webhook.json", body)
        save("webhook.ctype", self.headers.get("Content-Type", "").encode())
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
web = http.server.HTTPServer(("127.0.0.1", 0), H)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
smtp = socket.socket(); smtp.bind(("127.0.0.1", 0)); smtp.listen(2)
def udp_loop():
    data, _ = udp.recvfrom(65536); save("syslog.txt", data)
def smtp_loop():
    c, _ = smtp.accept(); f = c.makefile("rwb")
    def say(s): f.write(s.encode() + b"\r\n"); f.flush()
    say("220 test ESMTP"); rcpt = []; mail = b""
    while True:
        line = f.readline()
        if not line: break
        cmd = line.strip().upper()
        if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"): say("250 test")
        elif cmd.startswith(b"MAIL FROM"): save("smtp.from", line.strip()); say("250 ok")
        elif cmd.startswith(b"RCPT TO"): rcpt.append(line.strip()); say("250 ok")
        elif cmd == b"DATA":
            say("354 go")
            while True:
                l = f.readline()
                if l in (b".\r\n", b".\n", b""): break
                mail += l
            save("smtp.rcpt", b"\n".join(rcpt)); save("smtp.eml", mail); say("250 queued")
        elif cmd == b"QUIT": say("221 bye"); break
        else: say("250 ok")
    c.close()
for t in (web.serve_forever, udp_loop, smtp_loop):
    threading.Thread(target=t, daemon=True).start()
save("ports", ("%d %d %d" % (web.server_address[1], udp.getsockname()[1], smtp.getsockname()[1])).encode())
threading.Event().wait(60)
PY
mkdir -p "$TMP/got"
python3 "$TMP/recv.py" "$TMP/got" &
rpid=$!
trap 'kill $rpid 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 100); do [ -s "$TMP/got/ports" ] && break; sleep 0.05; done
read -r wport uport sport <"$TMP/got/ports"
cat >"$TMP/notify.yaml" <<YML
log_level: warn
notify:
  attempts: 2
  backoff_ms: 50
  console_url: http://127.0.0.1:8088/
  webhook: {url: "http://127.0.0.1:$wport/hook", headers: ["Authorization: Bearer t0ken"], timeout: 5}
  syslog: {host: 127.0.0.1, port: $uport, transport: udp, facility: local3, app_name: citysoc}
  smtp:
    url: smtp://127.0.0.1:$sport
    from: "citysoc <soc@city.example>"
    to: [oncall@city.example, ciso@city.example]
    starttls: off
    timeout: 10
YML
run_cs notify test -c "$TMP/notify.yaml" --timeout 20
check "notify test exits 0 (exit $RC: $(cat "$ERR" | head -c 300))" test "$RC" -eq 0
check "no crash" no_crash
for ch in webhook syslog smtp; do
    check "$ch reported delivered" grep -qE "^$ch +delivered" "$OUT"
done
check "webhook: JSON body with the incident fields and the Vietnamese title" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
inc = d["citysoc"]["incident"]
assert inc["id"] == "TEST" and inc["title"] == "Thử nghiệm thông báo / notification test", inc
' "$TMP/got/webhook.json"
check "webhook: Content-Type application/json" grep -q "application/json" "$TMP/got/webhook.ctype"
# local3 (19) * 8 + severity of "low" (5) = 157
check "syslog: RFC 5424 line with PRI 157 from citysoc" grep -qE '^<157>1 [0-9T:.-]+Z? [^ ]+ citysoc ' "$TMP/got/syslog.txt"
check "smtp: two recipients" test "$(grep -c 'RCPT TO' "$TMP/got/smtp.rcpt")" -eq 2
check "smtp: the Vietnamese subject decodes exactly" python3 -c '
import email, email.header, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read())
s = str(email.header.make_header(email.header.decode_header(m["Subject"])))
assert "Thử nghiệm thông báo" in s, s
' "$TMP/got/smtp.eml"

# a channel that cannot be reached: FAILED and exit 1
sed "s/port: $uport/port: $uport/; s|http://127.0.0.1:$wport/hook|http://127.0.0.1:1/hook|" "$TMP/notify.yaml" \
    | grep -v "smtp\|url: smtp\|from:\|to: \[\|starttls\|timeout: 10" >"$TMP/down.yaml"
run_cs notify test -c "$TMP/down.yaml" --timeout 10
check "an unreachable webhook: exit 1 (exit $RC)" test "$RC" -eq 1
check "an unreachable webhook is reported FAILED with the reason" grep -qE "^webhook +FAILED: .*curl error 7" "$OUT"

# end to end in `citysoc run`: a brute force appended to a followed log
# raises an alert (the bundled correlation, risk 7.2), the incident policy
# opens a ticket from the stored alert, and the webhook hears of it
mkdir -p "$TMP/live" "$TMP/state"
: >"$TMP/live/auth.log"
rm -f "$TMP/got/webhook.json"
cat >"$TMP/run.yaml" <<YML
log_level: info
store: {path: $TMP/run.db}
rules: [$CS_SOURCE_DIR/rules/sigma/linux]
inventory: $CS_SOURCE_DIR/etc/inventory.yaml
inputs:
  tail:
    - paths: ["$TMP/live/*.log"]
      format: syslog
  state_dir: $TMP/state
incidents: {open_at_risk: 7, interval: 1}
notify:
  webhook: {url: "http://127.0.0.1:$wport/hook", timeout: 5}
http: {listen: 127.0.0.1, port: 0}
YML
start_run "$TMP/run.yaml"
check "citysoc run came up with notify: and incidents: ($url)" test -n "$url"
for i in $(seq 1 12); do
    echo "$(date -u '+%b %e %H:%M:%S') popdb01 sshd[$((4000 + i))]: Failed password for root from 203.0.113.45 port $((50000 + i)) ssh2" >>"$TMP/live/auth.log"
done
for _ in $(seq 1 100); do [ -s "$TMP/got/webhook.json" ] && break; sleep 0.1; done
check "the webhook heard of the incident the brute force opened" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["event"]["action"] == "incident_opened", d["event"]
assert d["citysoc"]["incident"]["severity"] == "high" and d["citysoc"]["system"]["id"] == "popdb", d
' "$TMP/got/webhook.json"
health=$(curl -s "${url}health")
check "/health counts the opened incident and the sent notification" \
    bash -c "grep -q '\"incidents_opened\":1' <<<'$health' && grep -q '\"webhook\":{\"sent\":1' <<<'$health'"
kill -TERM "$pid"
wait "$pid"
check "run stops cleanly (exit $?)" test "$?" -eq 0
check "the incident is in the store" \
    test "$(sqlite3 -batch -noheader "$TMP/run.db" "SELECT count(*) FROM incidents WHERE system_id='popdb'")" = 1

# configuration mistakes
printf 'notify:\n  webhook: {urll: x}\n' >"$TMP/bad1.yaml"
run_cs notify test -c "$TMP/bad1.yaml"
check "unknown key: exit 1 with file:line" bash -c "[ $RC -eq 1 ] && grep -q 'bad1.yaml:2' '$ERR' && grep -q \"unknown key 'urll'\" '$ERR'"
printf 'notify:\n  syslog: {host: 127.0.0.1, transport: sctp}\n' >"$TMP/bad2.yaml"
run_cs notify test -c "$TMP/bad2.yaml"
check "bad transport: exit 1 naming it" bash -c "[ $RC -eq 1 ] && grep -q \"udp or tcp, not 'sctp'\" '$ERR'"
printf 'log_level: warn\n' >"$TMP/none.yaml"
run_cs notify test -c "$TMP/none.yaml"
check "no notify section: exit 1" test "$RC" -eq 1
run_cs notify
check "usage: exit 2" test "$RC" -eq 2
finish
