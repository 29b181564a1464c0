#!/usr/bin/env bash
# Rules reload on SIGHUP in a running `citysoc run`: a new rule starts to
# detect, a broken rule file is refused while the others keep running, the
# SSH brute-force correlation keeps its count across a reload when it is
# unchanged and starts afresh when it was edited, and a configuration that
# does not load leaves the running rules in place.
. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "curl missing (tools/citysoc-setup installs it)"; exit 1; }

mkdir -p "$TMP/logs" "$TMP/var" "$TMP/rules"
cp "$CS_SOURCE_DIR/rules/sigma/linux/sshd_auth_failure.yml" "$CS_SOURCE_DIR/rules/sigma/linux/sshd_bruteforce.yml" \
    "$TMP/rules/"
cat >"$TMP/citysoc.yaml" <<YAML
store: {path: var/citysoc.db}
rules: [rules]
inputs:
  tail:
    - paths: ["logs/*.log"]
      format: auto
      from_start: true
http: {listen: 127.0.0.1, port: 0}
YAML
cp "$TMP/citysoc.yaml" "$TMP/citysoc.good.yaml"
n=0
ssh_fail() { # count: that many failures from one source against popdb01, one second apart
    for _ in $(seq 1 "$1"); do
        n=$((n + 1))
        printf 'Mar 12 08:%02d:%02d popdb01 sshd[%d]: Failed password for root from 203.0.113.77 port %d ssh2\n' \
            $((10 + n / 60)) $((n % 60)) $((100 + n)) $((40000 + n))
    done >>"$TMP/logs/auth.log"
}
health() { curl -fsS "${url}health" -o "$TMP/health.json" 2>/dev/null; }
wait_for() { # grep pattern on /health
    for _ in $(seq 1 100); do
        health && grep -qE "$1" "$TMP/health.json" && return 0
        sleep 0.1
    done
    echo "waited in vain for $1 in: $(cat "$TMP/health.json" 2>/dev/null)"
    return 1
}
hup() { # expected reload count
    kill -HUP "$pid"
    wait_for "\"rule_reloads\":$1,"
}

ssh_fail 6
start_run "$TMP/citysoc.yaml"
check "run serves http ($url)" test -n "$url"
check "six failures read" wait_for '"events":6,'

# a new rule and a broken file appear; SIGHUP
cat >"$TMP/rules/sudo_su.yml" <<'YAML'
title: su to root through sudo (reload test)
id: 0f6f4bb2-52a9-4bd4-9a6b-6d1b8f0e6a01
status: test
logsource: {product: linux, service: sudo}
detection:
  sel:
    message|contains: 'COMMAND=/usr/bin/su'
  condition: sel
level: medium
YAML
printf 'title: broken\ndetection:\n  sel: [unclosed\n' >"$TMP/rules/broken.yml"
check "SIGHUP reloads the rules" hup 1
check "the broken file is refused and named" grep -q 'rule refused: .*broken.yml' "$TMP/run.err"
check "the unchanged correlation kept its state" grep -qE 'state kept for 1 unchanged correlation\(s\), 1 live group' \
    "$TMP/run.err"
ssh_fail 4
check "6 failures before and 4 after the reload make the brute force fire" wait_for '"correlations_fired":1,'
printf 'Mar 12 09:00:00 popdb01 sudo:    bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/su -\n' \
    >>"$TMP/logs/auth.log"
check "the new rule detects" wait_for '"events":11,.*"rule_matches":11,'
for _ in $(seq 1 50); do   # the store writer commits in batches
    sqlite3 "$TMP/var/citysoc.db" \
        "select count(*) from alerts where rule_id='0f6f4bb2-52a9-4bd4-9a6b-6d1b8f0e6a01'" >"$TMP/new.txt" 2>&1
    grep -qx 1 "$TMP/new.txt" && break
    sleep 0.1
done
check "its alert is in the store" grep -qx 1 "$TMP/new.txt"

# an edited correlation starts afresh: 5 failures, edit, reload, 5 more: no fire
ssh_fail 5
check "five more failures read" wait_for '"events":16,'
sed -i 's/^title: .*/title: SSH brute force (edited)/' "$TMP/rules/sshd_bruteforce.yml"
check "SIGHUP after the edit" hup 2
check "the edited correlation did not keep its state" grep -qE 'state kept for 0 unchanged correlation' "$TMP/run.err"
ssh_fail 5
check "five failures after the reload read" wait_for '"events":21,'
sleep 0.5
health
check "5 before an edit and 5 after do not fire" grep -q '"correlations_fired":1,' "$TMP/health.json"

# a configuration that does not load: the running rules stay
printf 'rules: [rules\n' >"$TMP/citysoc.yaml"
check "SIGHUP with a broken configuration is counted as a failed reload" hup 3
check "and is reported" grep -q 'reload failed, the running rules stay' "$TMP/run.err"
check "the failure is in /health" grep -q '"rule_reload_failures":1,' "$TMP/health.json"
cp "$TMP/citysoc.good.yaml" "$TMP/citysoc.yaml"
ssh_fail 5
check "the rules still run: 10 failures since the edit fire" wait_for '"correlations_fired":2,'

kill -TERM "$pid"
wait "$pid"
RC=$?
ERR=$TMP/run.err
check "run exits cleanly after the reloads (rc $RC)" test "$RC" -eq 0
check "no sanitizer report" no_crash
finish
