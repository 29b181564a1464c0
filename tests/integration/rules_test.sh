#!/usr/bin/env bash
# rules_test.sh - `citysoc rules test`: the bundled rules pass their tests,
# and a broken tests file is caught (exit 1, the rule named).
. "$(dirname "$0")/lib.bash"

# the demo configuration gives the placeholders (home_countries) and mappings
run_cs rules test -c "$CS_SOURCE_DIR/etc/citysoc.yaml" "$CS_SOURCE_DIR/rules/sigma"
check "bundled rule tests pass (exit 0)" test "$RC" -eq 0
check "every bundled rule has tests" bash -c "! grep -q 'no tests for' '$ERR'"
check "summary line" grep -qE '^[0-9]+ rules tested, [0-9]+ passed, 0 failed$' "$OUT"
check "the correlation rule is tested" grep -q '^ok   .*sshd_bruteforce.yml' "$OUT"
check "the GeoIP placeholder rule is tested" grep -q '^ok   .*popdb_access_from_abroad.yml' "$OUT"
check "no crash" no_crash
# without the configuration, the placeholder rule is refused with the way out named
run_cs rules test "$CS_SOURCE_DIR/rules/sigma/network/popdb_access_from_abroad.yml"
check "no placeholder values: refused, naming rule_placeholders" \
    bash -c "[ $RC -eq 1 ] && grep -q \"unknown placeholder '%home_countries%'.*rule_placeholders\" '$ERR'"

# A copy where a match event no longer matches.
cp -r "$CS_SOURCE_DIR/rules/sigma" "$TMP/rules"
sed -i 's#/static/../../../../etc/passwd#/static/css/site.css#' "$TMP/rules/web/web_path_traversal_url.tests.yml"
run_cs rules test -c "$CS_SOURCE_DIR/etc/citysoc.yaml" "$TMP/rules"
check "broken tests file: exit 1" test "$RC" -eq 1
check "broken tests file: the rule is named" grep -q '^FAIL .*web_path_traversal_url.yml: .*web_path_traversal_url.tests.yml:[0-9]*: match event 1 did not match' "$OUT"
check "broken tests file: the others still pass" grep -q '^ok   .*web_sql_injection_url.yml' "$OUT"
check "broken tests file: summary" grep -qE '^[0-9]+ rules tested, [0-9]+ passed, 1 failed$' "$OUT"

# A correlation scenario that expects the wrong count.
sed -i '0,/^expect_fire: 1$/s//expect_fire: 3/' "$TMP/rules/linux/sshd_bruteforce.tests.yml"
run_cs rules test "$TMP/rules/linux"
check "wrong expect_fire: exit 1 and the rule named" bash -c "[ $RC -eq 1 ] && grep -q '^FAIL .*sshd_bruteforce.yml: .*fired 1 time(s), expected 3' '$OUT'"

# A no_match event that matches, and a tests file with an unknown key.
printf 'no_match:\n  - {user_agent.original: sqlmap}\n' >"$TMP/rules/web/web_attack_tool_user_agent.tests.yml"
printf 'matches:\n  - {a: b}\n' >"$TMP/rules/web/web_sql_injection_url.tests.yml"
run_cs rules test "$TMP/rules/web"
check "no_match that matches: the rule named" grep -q "^FAIL .*web_attack_tool_user_agent.yml: .*no_match event 1 matched rule 'Web attack tool user agent'" "$OUT"
check "unknown key: file:line" grep -q "^FAIL .*web_sql_injection_url.yml: .*web_sql_injection_url.tests.yml:1: unknown key 'matches'" "$OUT"
check "failures: exit 1" test "$RC" -eq 1

# Usage and I/O errors.
run_cs rules test
check "no PATH: usage error (exit 2)" test "$RC" -eq 2
run_cs rules test --bogus "$TMP/rules"
check "unknown option: usage error (exit 2)" test "$RC" -eq 2
mkdir -p "$TMP/empty"
run_cs rules test "$TMP/empty"
check "no tests found: exit 1" test "$RC" -eq 1

# rules check skips tests files.
run_cs rules check -c "$CS_SOURCE_DIR/etc/citysoc.yaml" "$CS_SOURCE_DIR/rules/sigma"
check "rules check ignores *.tests.yml" bash -c "[ $RC -eq 0 ] && grep -q ' 0 refused' '$OUT'"
finish
