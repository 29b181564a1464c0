#!/usr/bin/env bash
# The command line contract: --version, help, exit codes 0/1/2.
. "$(dirname "$0")/lib.bash"

run_cs --version
check "--version prints the version" grep -qE '^citysoc [0-9]+\.[0-9]+\.[0-9]+$' "$OUT"
check "--version exits 0" test "$RC" -eq 0
run_cs help
check "help lists replay" grep -q 'replay --pcap' "$OUT"
check "help exits 0" test "$RC" -eq 0
run_cs frobnicate
check "unknown command exits 2" test "$RC" -eq 2
check "unknown command is named" grep -q "unknown command 'frobnicate'" "$ERR"
run_cs replay
check "replay without inputs exits 2" test "$RC" -eq 2
run_cs replay --pcap
check "replay with a missing argument exits 2" test "$RC" -eq 2
for cmd in replay run alerts incidents systems notify rules demo-data; do
    run_cs "$cmd" --help
    check "$cmd --help exits 0 with usage" bash -c "[ $RC -eq 0 ] && grep -q usage '$OUT'"
done
run_cs alerts --db "$TMP/none.db"
check "alerts on a missing store exits 1" test "$RC" -eq 1
check "alerts names the store" grep -q "$TMP/none.db" "$ERR"
finish
