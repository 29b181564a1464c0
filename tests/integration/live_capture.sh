#!/usr/bin/env bash
# Live capture (inputs.capture) through `citysoc run`, in a private network
# namespace this script makes (unshare -n): its loopback carries only the
# test's own traffic, and nothing can leave the host. Real traffic (a DNS
# query and answer, HTTP with python's http.server and curl, plain TCP
# connections) must come out of --events as flows with the right endpoints,
# packet counts and nDPI protocol; two fanout workers never split a
# connection; a BPF filter, a short snaplen, the kernel counters, /health,
# SIGTERM (open flows flushed), the errors (bad filter, unknown interface,
# unknown key, unknown run_as user), run_as itself and a non-root run with
# `setcap cap_net_raw` (the capability given up once the interface is open)
# are checked. Not root: unshare --map-root-user still lets the capture run
# (run_as and setcap are then not tried); no namespace at all: skipped.

if [ -z "${CS_LIVE_NETNS:-}" ]; then
    command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) is missing"; exit 77; }
    command -v ip >/dev/null || { echo "SKIP: ip (iproute2) is missing"; exit 77; }
    command -v python3 >/dev/null || { echo "SKIP: python3 is missing (it makes the test traffic)"; exit 77; }
    if [ "$(id -u)" -eq 0 ]; then
        ns=(unshare --net)
    else
        ns=(unshare --map-root-user --net)   # root of a user namespace owns the new network namespace
    fi
    if ! "${ns[@]}" true 2>/dev/null; then
        echo "SKIP: cannot make a private network namespace (${ns[*]}): needs root or unprivileged user namespaces"
        exit 77
    fi
    CS_LIVE_NETNS=1 exec "${ns[@]}" bash "$0" "$@"
fi

. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "curl missing (tools/citysoc-setup installs it)"; exit 1; }
ip link set lo up || { echo "SKIP: cannot bring up lo in the private namespace"; exit 77; }
[ "$(ip -o link show | grep -vc ': lo:')" -eq 0 ] || { echo "not a private namespace: other interfaces are here"; exit 1; }

# ------------------------------------------------------------------ helpers --
cat >"$TMP/traffic.py" <<'PY'
"""Test traffic on the namespace's loopback; every socket has a timeout,
every loop a count.
  dns           one DNS query 127.0.0.2 -> 127.0.0.1:53 and its answer; prints the client port
  tcp N PORT    N TCP connections 127.0.0.3:40000+i -> 127.0.0.1:PORT, one exchange each; prints the client ports
  hold PORT S   one TCP connection 127.0.0.5 -> 127.0.0.1:PORT left open S seconds; prints the client port
"""
import socket, struct, sys, threading

def dns():
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); srv.settimeout(5); srv.bind(("127.0.0.1", 53))
    cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); cli.settimeout(5); cli.bind(("127.0.0.2", 0))
    qname = b"".join(bytes([len(p)]) + p for p in b"portal.city.example".split(b".")) + b"\0"
    question = qname + struct.pack("!HH", 1, 1)
    cli.sendto(struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + question, ("127.0.0.1", 53))
    _, peer = srv.recvfrom(512)
    answer = struct.pack("!HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0) + question
    answer += struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton("10.10.1.10")
    srv.sendto(answer, peer)
    cli.recvfrom(512)
    print(cli.getsockname()[1])

def listener(port, backlog):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(10); s.bind(("127.0.0.1", port)); s.listen(backlog)
    return s

def serve(ls, n):
    for _ in range(n):
        c, _ = ls.accept(); c.settimeout(5)
        if c.recv(64):
            c.sendall(b"pong\n")
        c.close()

def tcp(n, port):
    ls = listener(port, 64)
    t = threading.Thread(target=serve, args=(ls, n), daemon=True); t.start()
    ports = []
    for i in range(n):   # distinct client ports: an ephemeral one may come back
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM); c.settimeout(5); c.bind(("127.0.0.3", 40000 + i))
        c.connect(("127.0.0.1", port)); ports.append(c.getsockname()[1])
        c.sendall(b"ping\n"); c.recv(64); c.close()
    t.join(10)
    print("\n".join(map(str, ports)))

def hold(port, seconds):
    ls = listener(port, 1)
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM); c.settimeout(5); c.bind(("127.0.0.5", 0))
    c.connect(("127.0.0.1", port)); s, _ = ls.accept()
    c.sendall(b"hello CITYSOC-LIVE-MARKER\n"); s.recv(64)
    print(c.getsockname()[1], flush=True); sys.stdout.close()
    threading.Event().wait(seconds)

{"dns": lambda: dns(), "tcp": lambda: tcp(int(sys.argv[2]), int(sys.argv[3])),
 "hold": lambda: hold(int(sys.argv[2]), float(sys.argv[3]))}[sys.argv[1]]()
PY
cat >"$TMP/ev.py" <<'PY'
"""ev.py EVENTS EXPR: print EXPR over the events of an --events file.
In EXPR: ev (all events), flows, stats (by dataset), v(e, "a.b.c") a field or None."""
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def v(e, path):
    for k in path.split("."):
        if not isinstance(e, dict) or k not in e:
            return None
        e = e[k]
    return e
def ds(name):
    return [e for e in ev if v(e, "event.dataset") == "citysoc." + name]
flows, stats = ds("flow"), ds("stats")
print(eval(sys.argv[2]))
PY
q() { python3 "$TMP/ev.py" "$@"; }

mkdir -p "$TMP/www" "$TMP/var"
chmod 755 "$TMP"   # run_as nobody below must reach its store
printf '<html><body>%s</body></html>\n' "$(head -c 3000 /dev/zero | tr '\0' 'x')" >"$TMP/www/page.html"
# the web server is up before any capture starts, so its probes are not in the captures
python3 -m http.server 8080 --bind 127.0.0.1 --directory "$TMP/www" >/dev/null 2>&1 &
web=$!
hold_pid=
cleanup() { kill "$web" ${hold_pid:+"$hold_pid"} 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
for _ in $(seq 1 50); do curl -fsS -o /dev/null http://127.0.0.1:8080/page.html 2>/dev/null && break; sleep 0.1; done

config() { # name capture-yaml [extra top-level yaml] [extra inputs yaml]
    printf 'store: {path: %s}\nhttp: {listen: 127.0.0.1, port: 0}\n%s\ninputs:\n  capture:\n%s\n%s\n' \
        "${STORE:-$TMP/var/$1.db}" "${3:-}" "$2" "${4:-}" >"$TMP/$1.yaml"
}
# run_live NAME: start `citysoc run` with --events; sets pid, url, EV
run_live() {
    EV=${EV_DIR:-$TMP}/$1.events.jsonl
    "${LIVE_BIN:-$CS_BIN}" run -c "$TMP/$1.yaml" --events "$EV" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    url=
    for _ in $(seq 1 100); do
        grep -q 'serving http' "$TMP/run.out" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+/' "$TMP/run.out" | head -n1)
}
clean_exit() { [ "$RC" -eq 0 ] && no_crash; }
# stop_live: SIGTERM, wait (at most 10 s); sets RC, ERR and STOP_MS
stop_live() {
    local t0 t1
    sleep 0.3   # the last packets reach the ring
    t0=$(date +%s%N)
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    wait "$pid"
    RC=$?
    t1=$(date +%s%N)
    STOP_MS=$(((t1 - t0) / 1000000))
    ERR=$TMP/run.err
}

# the probe: can this process capture at all?
config probe '    - {interface: lo}'
run_live probe
if [ -z "$url" ]; then
    if grep -q 'permission denied' "$TMP/run.err"; then
        echo "SKIP: no capture permission here (root or CAP_NET_RAW): $(head -c 300 "$TMP/run.err")"
        exit 77
    fi
    not_ok "citysoc run with a capture on lo starts"
    cat "$TMP/run.err"
    kill "$pid" 2>/dev/null
    finish
    exit 1
fi
stop_live

# ------------------------------------------ one worker: DNS, HTTP, SIGTERM --
printf 'rule live_marker { strings: $a = "CITYSOC-LIVE-MARKER" condition: $a }\n' >"$TMP/marker.yar"
config one '    - {interface: lo}' '' "  yara: {rules: [$TMP/marker.yar]}"
run_live one
check "run starts with a capture on lo ($url)" test -n "$url"
check "it says it captures on lo" grep -q 'capturing on lo (1 worker)' "$TMP/run.out"
dns_port=$(python3 "$TMP/traffic.py" dns)
curl -fsS --interface 127.0.0.4 -o /dev/null http://127.0.0.1:8080/page.html
http_port=$(python3 - <<'PY'
import socket
s = socket.socket(); s.settimeout(5); s.bind(("127.0.0.6", 0)); s.connect(("127.0.0.1", 8080))
s.sendall(b"GET /page.html HTTP/1.0\r\nHost: portal.city.example\r\n\r\n")
while s.recv(65536):
    pass
print(s.getsockname()[1]); s.close()
PY
)
python3 "$TMP/traffic.py" hold 7000 30 >"$TMP/hold.port" &
hold_pid=$!
for _ in $(seq 1 50); do [ -s "$TMP/hold.port" ] && break; sleep 0.1; done
hold_port=$(cat "$TMP/hold.port")
health_ok() { # the capture's counters in /health (the kernel's reach it once a second)
    curl -fsS "${url}health" -o "$TMP/health.json" && python3 - "$TMP/health.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["ingest"]["captures"]
ok = len(c) == 1 and c[0]["interface"] == "lo" and c[0]["running"] == 1 and c[0]["packets"] >= 20
ok = ok and c[0]["kernel_received"] >= 20 and all(k in c[0] for k in ("kernel_drops", "if_drops", "queue_drops", "flows"))
sys.exit(0 if ok else 1)
PY
}
for _ in $(seq 1 50); do health_ok && break; sleep 0.1; done
check "/health has the capture's counters (interface, packets, kernel and queue drops)" health_ok
echo "# $(cat "$TMP/health.json" | grep -oE '"captures":\[[^]]*\]')"
stop_live
check "SIGTERM: exit 0 without a crash (exit $RC)" clean_exit
check "SIGTERM ends the run promptly (${STOP_MS} ms)" test "$STOP_MS" -lt 3000
kill "$hold_pid" 2>/dev/null
hold_pid=
dns_flow="[e for e in flows if v(e,'source.port')==$dns_port and v(e,'destination.port')==53]"
check "DNS: one flow 127.0.0.2:$dns_port -> 127.0.0.1:53 udp, 1 packet each way, nDPI DNS" test "$(q "$TMP/one.events.jsonl" \
    "[(v(e,'source.ip'),v(e,'destination.ip'),v(e,'network.transport'),v(e,'source.packets'),v(e,'destination.packets'),v(e,'citysoc.ndpi.protocol')) for e in $dns_flow]")" \
    = "[('127.0.0.2', '127.0.0.1', 'udp', 1, 1, 'DNS')]"
check "DNS: the query's name is in a dns event" test "$(q "$TMP/one.events.jsonl" \
    "sorted(set(v(e,'dns.question.name') for e in ds('dns') if v(e,'source.port')==$dns_port))")" = "['portal.city.example']"
check "DNS: the open UDP flow was flushed at SIGTERM (end_reason eof)" test "$(q "$TMP/one.events.jsonl" \
    "[v(e,'citysoc.flow.end_reason') for e in $dns_flow]")" = "['eof']"
check "HTTP (curl): a fin flow 127.0.0.4 -> 127.0.0.1:8080, packets both ways, nDPI HTTP" test "$(q "$TMP/one.events.jsonl" \
    "[(v(e,'source.ip'),v(e,'citysoc.ndpi.protocol'),v(e,'citysoc.flow.end_reason'),v(e,'source.packets')>=4,v(e,'destination.packets')>=4,v(e,'source.packets')+v(e,'destination.packets')==v(e,'network.packets'),v(e,'destination.bytes')>3000) for e in flows if v(e,'destination.port')==8080 and v(e,'source.ip')=='127.0.0.4']")" \
    = "[('127.0.0.4', 'HTTP', 'fin', True, True, True, True)]"
check "HTTP: the request's host and path are in an http event" test "$(q "$TMP/one.events.jsonl" \
    "[(v(e,'url.domain'),v(e,'url.original'),v(e,'http.request.method'),v(e,'http.response.status_code')) for e in ds('http') if v(e,'source.port')==$http_port]")" \
    = "[('portal.city.example', '/page.html', 'GET', 200)]"
check "the TCP connection still open at SIGTERM is flushed (end_reason eof, 127.0.0.5:$hold_port)" test "$(q "$TMP/one.events.jsonl" \
    "[(v(e,'citysoc.flow.end_reason'),v(e,'source.ip'),v(e,'source.packets')>=2) for e in flows if v(e,'source.port')==$hold_port]")" \
    = "[('eof', '127.0.0.5', True)]"
check "YARA (inputs.yara) scanned the open connection's payload when it was flushed" test "$(q "$TMP/one.events.jsonl" \
    "[(v(e,'citysoc.yara.rule'),v(e,'citysoc.yara.direction')) for e in ds('yara') if v(e,'source.port')==$hold_port]")" \
    = "[('live_marker', 'client')]"
check "the last stats event carries the kernel's counters" test "$(q "$TMP/one.events.jsonl" \
    "[(v(s,'citysoc.stats.kernel_received')>=v(s,'citysoc.stats.packets')>0, v(s,'citysoc.stats.kernel_drops'), v(s,'citysoc.stats.truncated')) for s in stats[-1:]]")" \
    = "[(True, 0, 0)]"

# --------------------------------- two fanout workers, a BPF filter (tcp) --
config two '    - {interface: lo, workers: 2, filter: "tcp", buffer_mb: 4}'
run_live two
check "run starts with 2 workers and filter tcp" grep -q 'capturing on lo (2 workers)' "$TMP/run.out"
python3 "$TMP/traffic.py" dns >/dev/null
python3 "$TMP/traffic.py" tcp 200 7100 >"$TMP/ports.txt"
stop_live
check "2 workers: exit 0 without a crash (exit $RC)" clean_exit
check "200 connections made" test "$(sort -u "$TMP/ports.txt" | wc -l)" -eq 200
ports=$(paste -sd, "$TMP/ports.txt")
check "each of the 200 connections is exactly one flow, closed by FIN both ways (not split across workers)" test "$(q "$TMP/two.events.jsonl" \
    "sorted(set(len([e for e in flows if v(e,'source.port')==p and v(e,'destination.port')==7100 and v(e,'citysoc.flow.end_reason')=='fin' and v(e,'source.packets')>=3 and v(e,'destination.packets')>=3]) for p in [$ports]))")" = "[1]"
check "no other flow to port 7100" test "$(q "$TMP/two.events.jsonl" "len([e for e in flows if v(e,'destination.port')==7100])")" -eq 200
check "both workers got some of them (odd and even flow ids)" test "$(q "$TMP/two.events.jsonl" \
    "sorted(set(v(e,'citysoc.flow.id')%2 for e in flows if v(e,'destination.port')==7100))")" = "[0, 1]"
check "both workers report stats" test "$(q "$TMP/two.events.jsonl" "sorted(set(v(s,'citysoc.stats.worker') for s in stats))")" = "[0, 1]"
check "the filter 'tcp' leaves no UDP flow" test "$(q "$TMP/two.events.jsonl" "len([e for e in flows if v(e,'network.transport')!='tcp'])")" -eq 0

# --------------------------------------------------------- snaplen 96 --
config short '    - {interface: lo, snaplen: 96, promisc: false}'
run_live short
curl -fsS --interface 127.0.0.4 -o /dev/null http://127.0.0.1:8080/page.html
stop_live
check "snaplen 96: exit 0 (exit $RC)" clean_exit
check "snaplen 96: the last stats event counts truncated packets" test "$(q "$TMP/short.events.jsonl" \
    "[v(s,'citysoc.stats.truncated')>0 for s in stats[-1:]]")" = "[True]"
check "snaplen 96: the flow still has its whole byte counts" test "$(q "$TMP/short.events.jsonl" \
    "[v(e,'destination.bytes')>3000 for e in flows if v(e,'destination.port')==8080]")" = "[True]"

# ----------------------------------------------------------------- errors --
bad_start() { # name capture-yaml pattern [extra]: the run refuses to start, says why
    config "$1" "$2" "${4:-}"
    run_cs run -c "$TMP/$1.yaml"
    no_crash && [ "$RC" -eq 1 ] && grep -qF -- "$3" "$ERR" || { cat "$ERR"; false; }
}
check "a filter that does not compile is refused (file:line, the filter, pcap's reason)" \
    bad_start badfilter '    - {interface: lo, filter: "tcp and and"}' "badfilter.yaml:6: capture on 'lo': the filter \"tcp and and\" does not compile: "
check "an unknown interface is refused" bad_start noif '    - {interface: nosuch0}' "capture on 'nosuch0': no such interface"
check "an unknown key is refused with its line" bad_start badkey '    - {interface: lo, promiscuous: true}' \
    "badkey.yaml:6: unknown key 'promiscuous' in inputs.capture[]"
check "a snaplen out of range is refused" bad_start badsnap '    - {interface: lo, snaplen: 10}' "badsnap.yaml:6"
check "one interface twice is refused" bad_start twice "$(printf '    - {interface: lo}\n    - {interface: lo, filter: udp}')" \
    "interface 'lo' is already captured (line 6)"
check "an unknown run_as user is refused" bad_start nouser '    - {interface: lo}' \
    "nouser.yaml:3: run_as: there is no user 'cs-no-such-user' on this system" 'run_as: cs-no-such-user'

# ------------------------------------ an interface down, one that goes away --
if ip link add cs-v0 type veth peer name cs-v1 2>/dev/null; then
    check "an interface that is down is refused" bad_start down '    - {interface: cs-v0}' "capture on 'cs-v0': the interface is down"
    ip link set cs-v0 up && ip link set cs-v1 up
    config gone '    - {interface: cs-v0, workers: 2}'
    run_live gone
    check "capture on a veth starts ($url)" test -n "$url"
    ip link del cs-v0
    gone_ok() {
        curl -fsS "${url}health" -o "$TMP/health.json" &&
            grep -q '"captures":\[{"interface":"cs-v0","workers":2,"running":0,.*"error":"capture on .cs-v0.: The interface disappeared"' "$TMP/health.json"
    }
    for _ in $(seq 1 30); do gone_ok && break; sleep 0.1; done
    check "the interface goes away: its workers stop, /health says why, the run goes on" gone_ok
    stop_live
    check "... and the run exits 1 at the end, saying why" bash -c "[ $RC -eq 1 ] && grep -q \"^citysoc: capture on 'cs-v0': The interface disappeared\" '$ERR'"
    check "... without a crash" no_crash
else
    echo "# no veth in this kernel: the interface down/gone cases are not tried"
fi

# ----------------------------------------------------------------- run_as --
if [ "$(id -u)" -eq 0 ] && awk '$1 == 0 && $3 > 65534 { f = 1 } END { exit !f }' /proc/self/uid_map && id nobody >/dev/null 2>&1; then
    # the store is opened after the switch: it must be the run_as user's to write
    mkdir -p "$TMP/nobody-store" "$TMP/root-store"
    chown nobody "$TMP/nobody-store"
    STORE=$TMP/nobody-store/citysoc.db config asnobody '    - {interface: lo}' 'run_as: nobody'
    run_live asnobody
    check "run_as nobody: runs ($url)" test -n "$url"
    uid=$(awk '/^Uid:/ { print $2 "," $3 "," $4 "," $5 }' "/proc/$pid/status" 2>/dev/null)
    check "run_as nobody: every uid of the process is 65534 ($uid)" test "$uid" = "65534,65534,65534,65534"
    check "run_as nobody: no capability left" test "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" = "0000000000000000"
    dns_port=$(python3 "$TMP/traffic.py" dns)
    stop_live
    check "run_as nobody: exit 0 (exit $RC)" clean_exit
    check "run_as nobody: packets are still captured after the switch" test "$(q "$TMP/asnobody.events.jsonl" \
        "len([e for e in flows if v(e,'source.port')==$dns_port])")" -eq 1
    check "run_as nobody: the store belongs to nobody" test "$(stat -c %U "$TMP/nobody-store/citysoc.db")" = nobody
    STORE=$TMP/root-store/citysoc.db config rootstore '    - {interface: lo}' 'run_as: nobody'
    run_cs run -c "$TMP/rootstore.yaml"
    check "run_as nobody with a store nobody cannot write: refused, saying so" \
        bash -c "[ $RC -eq 1 ] && grep -q 'root-store/citysoc.db: cannot open the store.*citysoc is run_as user nobody by now' '$ERR'"
    cat "$ERR"
    # not root, allowed to capture by a file capability: CAP_NET_RAW goes once the interface is open
    cp "$CS_BIN" "$TMP/citysoc-cap"
    if command -v setcap >/dev/null && command -v setpriv >/dev/null && setcap cap_net_raw+ep "$TMP/citysoc-cap" 2>/dev/null; then
        printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups %s "$@"\n' "$TMP/citysoc-cap" >"$TMP/nobody.sh"
        chmod 755 "$TMP/nobody.sh"
        STORE=$TMP/nobody-store/cap.db config withcap '    - {interface: lo}'
        LIVE_BIN=$TMP/nobody.sh EV_DIR=$TMP/nobody-store run_live withcap
        if [ -z "$url" ] && grep -q 'permission denied' "$TMP/run.err"; then
            echo "# file capabilities do not work on $TMP (nosuid?): the setcap case is not tried"
        else
            check "setcap cap_net_raw, user nobody: runs ($url)" test -n "$url"
            check "setcap cap_net_raw: no capability left once the interface is open" \
                test "$(awk '/^CapPrm:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" = "0000000000000000"
            dns_port=$(python3 "$TMP/traffic.py" dns)
            stop_live
            check "setcap cap_net_raw: exit 0 (exit $RC)" clean_exit
            check "setcap cap_net_raw: packets are captured" test "$(q "$TMP/nobody-store/withcap.events.jsonl" \
                "len([e for e in flows if v(e,'source.port')==$dns_port])")" -eq 1
        fi
    else
        echo "# setcap or setpriv missing: the file-capability case is not tried"
    fi
else
    echo "# not root in the initial user namespace (or no user nobody): the run_as switch itself is not tried"
fi
finish
