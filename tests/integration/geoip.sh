#!/usr/bin/env bash
# GeoIP and ASN enrichment in the pipeline (MaxMind's test databases): events
# carry source.geo.* and source.as.* before rules run, so the bundled rule
# "Population database reached from outside the country" fires on a login
# attempt from abroad and not on one from a private address; a database that
# cannot be opened stops the start with a sentence naming the file.
. "$(dirname "$0")/lib.bash"
need_shared geoip
DB=$CS_SHARED_DATA/geoip/test-data

cat >"$TMP/citysoc.yaml" <<YAML
rules: [$CS_SOURCE_DIR/rules/sigma]
rule_mappings: [$CS_SOURCE_DIR/rules/mappings]
rule_placeholders: {home_countries: [VN]}
inventory: $CS_SOURCE_DIR/etc/inventory.yaml
geoip:
  city: $DB/GeoIP2-City-Test.mmdb
  asn: $DB/GeoLite2-ASN-Test.mmdb
YAML
{
    # 81.2.69.160 is London, GB in the City test database; 1.128.0.1 is AS1221
    printf 'Mar 12 08:10:01 popdb01 sshd[101]: Failed password for root from 81.2.69.160 port 40001 ssh2\n'
    printf 'Mar 12 08:10:02 popdb01 sshd[102]: Failed password for root from 10.20.1.5 port 40002 ssh2\n'
    printf 'Mar 12 08:10:03 hotline01 sshd[103]: Failed password for root from 1.128.0.1 port 40003 ssh2\n'
} >"$TMP/auth.log"

run_cs replay -c "$TMP/citysoc.yaml" --log "$TMP/auth.log" --events "$TMP/events.jsonl" --alerts "$TMP/alerts.jsonl"
check "replay with GeoIP exits 0" test "$RC" -eq 0
[ "$RC" -eq 0 ] || cat "$ERR"
check "no crash" no_crash
check "the London address is located (country, city)" \
    grep -q '"source":{"geo":{"city_name":"London","country_iso_code":"GB","country_name":"United Kingdom"' \
    "$TMP/events.jsonl"
check "the ASN database gives the AS of 1.128.0.1" \
    grep -qE '"as":\{"number":1221,"organization":\{"name":"Telstra Pty Ltd"\}\}' "$TMP/events.jsonl"
check "the private address gets no geo fields" \
    bash -c "! grep '10.20.1.5' '$TMP/events.jsonl' | grep -q '\"geo\"'"
popdb=$(grep -c '"476d6d72-a64b-4d0a-954d-27733ac979d7"' "$TMP/alerts.jsonl")
check "population database reached from GB: one alert ($popdb)" test "$popdb" -eq 1
check "the alert names the source address" \
    bash -c "grep '476d6d72-a64b-4d0a-954d-27733ac979d7' '$TMP/alerts.jsonl' | grep -q '81.2.69.160'"

# the country placeholder decides what is home
sed -i 's/home_countries: \[VN\]/home_countries: [VN, GB]/' "$TMP/citysoc.yaml"
run_cs replay -c "$TMP/citysoc.yaml" --log "$TMP/auth.log" --alerts "$TMP/alerts2.jsonl"
check "with GB at home, no alert" bash -c "[ $RC -eq 0 ] && ! grep -q '476d6d72' '$TMP/alerts2.jsonl'"

# a database that cannot be used stops the start, naming the file
sed -i "s#GeoLite2-ASN-Test.mmdb#GeoIP2-City-Test.mmdb#" "$TMP/citysoc.yaml"
run_cs replay -c "$TMP/citysoc.yaml" --log "$TMP/auth.log"
check "a City database given as ASN is refused (exit 1)" test "$RC" -eq 1
check "... with the file named" grep -q 'GeoIP2-City-Test.mmdb' "$ERR"
sed -i "s#asn: .*#asn: $TMP/missing.mmdb#" "$TMP/citysoc.yaml"
run_cs replay -c "$TMP/citysoc.yaml" --log "$TMP/auth.log"
check "a missing database is refused with its path" bash -c "[ $RC -eq 1 ] && grep -q 'missing.mmdb' '$ERR'"
check "no crash on refusal" no_crash
# the CC0 country database the demo set-up fetches (ip-location-db: a flat
# country_code record and database_type "country ipvAll"), when it is there
CC0=$CS_SOURCE_DIR/var/geoip/country.mmdb
if [ -s "$CC0" ]; then
    printf 'geoip: {city: %s}\n' "$CC0" >"$TMP/cc0.yaml"
    printf 'Mar 12 08:25:00 popdb01 sshd[3101]: Failed password for root from 45.33.32.156 port 51514 ssh2\n' \
        >"$TMP/cc0.log"
    run_cs replay -c "$TMP/cc0.yaml" --log "$TMP/cc0.log" --events "$TMP/cc0.jsonl"
    check "the demo's CC0 database locates 45.33.32.156 in the US" \
        grep -q '"source":{"geo":{"country_iso_code":"US"}' "$TMP/cc0.jsonl"
else
    echo "# $CC0 absent (tools/citysoc-setup demo fetches it): CC0 database check skipped"
fi
# optional: a missing database is a warning, not a stop
printf 'geoip: {city: %s, optional: true}\n' "$TMP/none.mmdb" >"$TMP/opt.yaml"
run_cs replay -c "$TMP/opt.yaml" --log "$TMP/auth.log" --events "$TMP/opt.jsonl"
check "geoip.optional: a missing database only warns" bash -c "[ $RC -eq 0 ] && grep -q 'without GeoIP' '$ERR'"
finish
