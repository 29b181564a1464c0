#!/bin/sh
# bench/sigma/run.sh - build (Release, in build-bench) and run the Sigma
# matching benchmark. Usage: bench/sigma/run.sh [cs_sigma_bench options]
# e.g. -s 5 (seconds per run), -n 50000 (events), -d /work/shared/data,
# -m DIR (field mappings; default rules/mappings, as citysoc loads them),
# -k (rates per kind of event too).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${CS_BENCH_BUILD:-$root/build-bench}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target cs_sigma_bench -j2 >/dev/null
data=${CS_SHARED_DATA:-/work/shared/data}
echo "host: $(uname -m), $(nproc) cpus; $(date -u +%Y-%m-%dT%H:%M:%SZ); one matching thread"
exec "$build/bench/sigma/cs_sigma_bench" -d "$data" -m "$root/rules/mappings" "$@"
