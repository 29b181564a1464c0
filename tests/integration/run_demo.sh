#!/usr/bin/env bash
# `citysoc run` on the demo: ingests, raises the alerts, serves /health and
# /api/v1/alerts on 127.0.0.1 until SIGTERM, then exits 0.
. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "curl missing (tools/citysoc-setup installs it)"; exit 1; }

mkdir -p "$TMP/etc" "$TMP/var"
"$CS_BIN" demo-data "$TMP/var/demo" >/dev/null || exit 1
cp "$CS_SOURCE_DIR/etc/inventory.yaml" "$TMP/etc/"
sed -e "s#\.\./rules/sigma#$CS_SOURCE_DIR/rules/sigma#" -e "s#\.\./rules/mappings#$CS_SOURCE_DIR/rules/mappings#" -e "s#\.\./ui/static#$CS_SOURCE_DIR/ui/static#" \
    -e "s#port: 5514#port: 0#" \
    "$CS_SOURCE_DIR/etc/citysoc.yaml" >"$TMP/etc/citysoc.yaml"
"$CS_BIN" run -c "$TMP/etc/citysoc.yaml" --port 0 >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
url=""
for _ in $(seq 1 100); do
    url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+/' "$TMP/run.out" | head -n1)
    [ -n "$url" ] && break
    sleep 0.1
done
check "run announces its address" test -n "$url"
done_ingest=0
for _ in $(seq 1 300); do
    if curl -fsS "${url}health" -o "$TMP/health.json" 2>/dev/null && grep -q '"inputs_done":true' "$TMP/health.json"; then
        ev=$(grep -oE '"events":[0-9]+' "$TMP/health.json" | cut -d: -f2)
        sleep 0.5
        curl -fsS "${url}health" -o "$TMP/health.json"
        ev2=$(grep -oE '"events":[0-9]+' "$TMP/health.json" | cut -d: -f2)
        if [ "$ev" = "$ev2" ]; then done_ingest=1; break; fi
    fi
    sleep 0.2
done
check "health reports the inputs ingested" test "$done_ingest" -eq 1
check "health says ok" grep -q '"status":"ok"' "$TMP/health.json"
curl -fsS "${url}api/v1/alerts?limit=50" -o "$TMP/alerts.json"
check "alerts API answers" test -s "$TMP/alerts.json"
n=$(grep -o '"rule_id":' "$TMP/alerts.json" | wc -l)
check "alerts API lists at least three alerts ($n)" test "$n" -ge 3
check "alerts API has the port scan" grep -q 'cs-plugin-portscan' "$TMP/alerts.json"
check "alerts API has the SSH failures on popdb" grep -q '"system_id":"popdb"' "$TMP/alerts.json"
code=$(curl -s -o /dev/null -w '%{http_code}' "${url}api/v1/alerts?limit=abc")
check "bad limit is a 400" test "$code" = 400
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${url}api/v1/alerts")
check "POST is a 405" test "$code" = 405
code=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "${url}../../etc/passwd")
check "path traversal is a 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' "${url}")
check "console page is served" test "$code" = 200
kill -TERM "$pid"
wait "$pid"
rc=$?
check "run exits 0 on SIGTERM" test "$rc" -eq 0
check "run left no sanitizer report" bash -c "! grep -qE 'runtime error|Sanitizer' '$TMP/run.err'"
run_cs alerts --db "$TMP/var/citysoc.db"
check "the store outlives the run" grep -q 'Port scan against a city host' "$OUT"
finish
