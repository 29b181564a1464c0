# lib.bash - helpers for the integration scripts (sourced, not a test).
set -uo pipefail

CS_BIN=${CS_BIN:-$PWD/build/citysoc}
CS_SOURCE_DIR=${CS_SOURCE_DIR:-$PWD}
CS_SHARED_DATA=${CS_SHARED_DATA:-$CS_SOURCE_DIR/../shared/data}
# A sanitizer report must be told apart from citysoc's own exit 1.
export ASAN_OPTIONS="exitcode=86:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="exitcode=86:halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"

TMP=$(mktemp -d /tmp/citysoc-it.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
FAILS=0
CHECKS=0

ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
not_ok() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check() { # description, command...
    local d=$1
    shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}
finish() {
    echo "$((CHECKS - FAILS)) passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
}
need_shared() { # subfolder
    if [ ! -d "$CS_SHARED_DATA/$1" ]; then
        echo "SKIP: $CS_SHARED_DATA/$1 is absent (the shared test data is not here)"
        exit 77
    fi
}
# Run citysoc; sets RC, OUT (stdout file) and ERR (stderr file).
run_cs() {
    OUT=$TMP/out.$$.txt
    ERR=$TMP/err.$$.txt
    "$CS_BIN" "$@" >"$OUT" 2>"$ERR"
    RC=$?
}
no_crash() { # after run_cs: not a signal, not a sanitizer report
    [ "$RC" -lt 128 ] && [ "$RC" -ne 86 ] && ! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$ERR"
}
# Start `citysoc run -c CONFIG` in the background and wait until it serves
# HTTP; sets pid and url (empty when it did not come up).
start_run() { # config
    "$CS_BIN" run -c "$1" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    for _ in $(seq 1 100); do
        grep -q 'serving http' "$TMP/run.out" && break
        sleep 0.1
    done
    url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+/' "$TMP/run.out" | head -n1)
}
