#!/usr/bin/env bash
# The inventory of city information systems: `citysoc systems list/show`, and
# the demo inventory resolving every demo address of the city's address plan
# to its system (the most specific range's) in the replayed events.
. "$(dirname "$0")/lib.bash"

command -v python3 >/dev/null || { echo "SKIP: python3 missing (the checks parse JSON with it)"; exit 77; }
INV=$CS_SOURCE_DIR/etc/inventory.yaml
CONF=$CS_SOURCE_DIR/etc/citysoc.yaml

# ---- systems list / show ----------------------------------------------------
run_cs systems list --inventory "$INV"
check "systems list exits 0" test "$RC" -eq 0
no_crash && ok "systems list did not crash" || not_ok "systems list did not crash: $(head -c 2000 "$ERR")"
check "systems list has a header" grep -qE '^ID +NAME +OWNER +LEVEL +VALUE +RANGES$' "$OUT"
check "systems list has the 8 demo systems" test "$(grep -cE '^[a-z-]+ ' "$OUT")" -eq 8
check "systems list shows the portal (English by default)" \
    grep -qE '^portal +Public-service portal +Sở Thông tin và Truyền thông +3 +4 +10\.10\.1\.0/24$' "$OUT"

run_cs systems list -c "$CONF" --lang vi
check "systems list -c CONFIG --lang vi exits 0" test "$RC" -eq 0
check "Vietnamese names print exactly" \
    grep -qE '^popdb +Cơ sở dữ liệu dân cư +Công an thành phố +4 +5 +10\.10\.2\.0/24$' "$OUT"
check "... every one of them" grep -qF 'Dịch vụ mạng lõi (DNS, NTP)' "$OUT"

run_cs systems list --inventory "$INV" --json
check "systems list --json exits 0" test "$RC" -eq 0
cp "$OUT" "$TMP/systems.jsonl"
check "systems list --json: one object per line, every field, Vietnamese exact" python3 - "$TMP/systems.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(rows) == 8, len(rows)
keys = {"id", "name", "owner", "contact", "security_level", "asset_value", "ranges", "hosts", "sensors", "log_sources"}
for r in rows:
    assert set(r) == keys, r
    assert r["sensors"], r
by = {r["id"]: r for r in rows}
assert by["hotline"]["name"] == {"vi": "Tổng đài tiếp nhận phản ánh", "en": "Citizen hotline"}, by["hotline"]
assert by["popdb"]["ranges"] == ["10.10.2.0/24"] and by["popdb"]["asset_value"] == 5
assert "portal-web01:nginx" in by["portal"]["log_sources"], by["portal"]
EOF

run_cs systems show popdb -c "$CONF"
check "systems show exits 0" test "$RC" -eq 0
for line in 'id:             popdb' 'name (vi):      Cơ sở dữ liệu dân cư' \
    'name (en):      Population database' \
    'owner:          Công an thành phố' 'contact:        dba-popdb@city.example' 'security level: 4' \
    'asset value:    5' 'ranges:         10.10.2.0/24' 'hosts:          popdb01' 'sensors:        city-tap' \
    'log sources:    popdb01:auth, popdb01:syslog'; do
    check "systems show prints '$line'" grep -qxF "$line" "$OUT"
done
run_cs systems show ehealth --inventory "$INV" --json
check "systems show --json prints one object" python3 -c '
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 1
d = json.loads(lines[0])
assert d["id"] == "ehealth" and d["name"]["vi"] == "Hồ sơ sức khỏe điện tử", d' "$OUT"

run_cs systems show nosuch --inventory "$INV"
check "an unknown id exits 1" test "$RC" -eq 1
check "... saying so" grep -qF "no system 'nosuch' in $INV" "$ERR"
run_cs systems list
check "no inventory is a usage error (2)" test "$RC" -eq 2
run_cs systems show --inventory "$INV"
check "show without an id is a usage error (2)" test "$RC" -eq 2
run_cs systems frob --inventory "$INV"
check "an unknown systems command is a usage error (2)" test "$RC" -eq 2
run_cs systems list --inventory "$INV" --lang fr
check "--lang fr is a usage error (2)" test "$RC" -eq 2
run_cs systems list --inventory "$INV" -c "$CONF"
check "--inventory with -c is a usage error (2)" test "$RC" -eq 2

# a bad inventory: overlapping ranges name both systems and both ranges
cat >"$TMP/overlap.yaml" <<'EOF'
systems:
  - id: city
    name: {vi: "Mạng thành phố", en: "City network"}
    ranges: [10.10.0.0/16]
  - id: popdb
    name: {vi: "Cơ sở dữ liệu dân cư", en: "Population database"}
    ranges: [10.10.2.0/24]
EOF
run_cs systems list --inventory "$TMP/overlap.yaml"
check "overlapping ranges exit 1" test "$RC" -eq 1
no_crash && ok "overlapping ranges did not crash" || not_ok "overlapping ranges did not crash"
check "... naming both systems and ranges with file:line ($(head -c 300 "$ERR"))" grep -qF \
    "overlap.yaml:7: range 10.10.2.0/24 of system 'popdb' overlaps range 10.10.0.0/16 of system 'city' (line 4)" "$ERR"

# ---- every demo address of the city's plan resolves to its system ----------
run_cs demo-data "$TMP/demo" --start 2026-03-12T08:00:00Z
check "demo-data exits 0" test "$RC" -eq 0
run_cs replay -c "$CONF" --pcap "$TMP/demo/demo.pcap" \
    --log "$TMP/demo/auth.log" --log "$TMP/demo/syslog" \
    --log-format nginx --host portal-web01 --log "$TMP/demo/nginx-access.log" \
    --events "$TMP/events.jsonl" --db "$TMP/citysoc.db"
check "replay exits 0" test "$RC" -eq 0
no_crash && ok "replay did not crash" || not_ok "replay did not crash: $(head -c 2000 "$ERR")"

check "every event with an address in a configured range carries that range's system" \
    python3 - "$TMP/systems.jsonl" "$TMP/events.jsonl" <<'EOF'
import ipaddress, json, sys
ranges = []
for line in open(sys.argv[1], encoding="utf-8"):
    s = json.loads(line)
    ranges += [(ipaddress.ip_network(r), s["id"]) for r in s["ranges"]]
plan = ipaddress.ip_network("10.10.0.0/16")
assert ranges and all(n.subnet_of(plan) for n, _ in ranges), "the demo inventory is the 10.10.0.0/16 plan"

def owner(ip):
    best = None
    for n, sid in ranges:
        if ip.version == n.version and ip in n and (best is None or n.prefixlen > best[0]):
            best = (n.prefixlen, sid)
    return best[1] if best else None

def get(d, dotted):
    for k in dotted.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d

checked, seen, bad, unplanned = 0, set(), [], set()
for n, line in enumerate(open(sys.argv[2], encoding="utf-8"), 1):
    ev = json.loads(line)
    want = None
    for field in ("destination.ip", "source.ip"):   # the inventory's order: destination first
        v = get(ev, field)
        if v is None:
            continue
        ip = ipaddress.ip_address(v)
        if ip in plan:
            seen.add(str(ip))
            if owner(ip) is None:
                unplanned.add(str(ip))
        if want is None:
            want = owner(ip)
    if want is None:
        continue
    checked += 1
    got = get(ev, "citysoc.system.id")
    if got != want:
        bad.append("line %d (%s): system %s, expected %s" % (n, get(ev, "event.dataset"), got, want))
print("%d events with a city address checked; city addresses seen: %s" % (checked, " ".join(sorted(seen))))
assert not unplanned, "city addresses in no range: %s" % sorted(unplanned)
assert not bad, "\n".join(bad[:20])
# every demo server (demo/demo_gen.h) was seen and checked
for ip in ("10.10.1.10", "10.10.2.20", "10.10.3.15", "10.10.4.30", "10.10.5.40", "10.10.6.50", "10.10.7.60",
           "10.10.0.53"):
    assert ip in seen, "demo address %s not in the events" % ip
assert checked > 100, checked
EOF
finish
