#!/bin/sh
# bench/packet/run.sh - packets per second of the packet sensor (one worker:
# decode, flows, nDPI, GeoIP, events written to /dev/null) against Debian's
# ndpiReader on the same file and against a bare libpcap read loop, on the
# captures in $CS_SHARED_DATA/bench-pcaps and on one file merged from every
# Ethernet capture in ndpi/pcap. Each tool runs 3 times per file; the
# fastest run counts. Usage: bench/packet/run.sh [RUNS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${CS_BENCH_BUILD:-$root/build-bench}
data=${CS_SHARED_DATA:-/work/shared/data}
runs=${1:-3}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target citysoc cs_pcap_tool -j2 >/dev/null
tool=$build/bench/packet/cs_pcap_tool
cs=$build/citysoc
command -v ndpiReader >/dev/null || { echo "ndpiReader missing (apt-get install libndpi-bin)"; exit 1; }
tmp=$(mktemp -d /tmp/cs-packet-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

geo=""
if [ -f "$data/geoip/test-data/GeoIP2-City-Test.mmdb" ]; then
    geo="geoip: {city: $data/geoip/test-data/GeoIP2-City-Test.mmdb, asn: $data/geoip/test-data/GeoLite2-ASN-Test.mmdb}"
fi
printf 'log_level: error\n%s\n' "$geo" >"$tmp/cfg.yaml"

# four rounds of every Ethernet capture: enough packets that start-up costs
# (the nDPI modules) do not hide the per-packet work
"$tool" merge "$tmp/ndpi-merged.pcap" "$data"/ndpi/pcap/*.pcap "$data"/ndpi/pcap/*.pcap "$data"/ndpi/pcap/*.pcap \
    "$data"/ndpi/pcap/*.pcap 2>/dev/null >"$tmp/merge.txt"

best() { # command...: prints the fastest wall time of $runs runs
    b=""
    for _ in $(seq 1 "$runs"); do
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || true
        t1=$(date +%s.%N)
        b=$(echo "$t0 $t1 ${b:-999999}" | awk '{d = $2 - $1; print (d < $3) ? d : $3}')
    done
    echo "$b"
}

echo "host: $(uname -m), $(nproc) cpus; $(date -u +%Y-%m-%dT%H:%M:%SZ); ndpiReader $(ndpiReader -h 2>&1 | sed -n 's/.*nDPI \([0-9.]*\).*/\1/p' | head -n1); best of $runs runs"
printf '%-44s %9s %12s %12s %12s %12s %8s %8s %8s\n' file packets "citysoc pps" "2 workers" "ndpiReader" "bare loop" "vs nDPI" "vs loop" "2w / 1w"
for f in "$data"/bench-pcaps/*.pcap "$tmp/ndpi-merged.pcap"; do
    [ -f "$f" ] || continue
    set -- $("$tool" loop "$f" "$runs")
    pkts=$1
    loop_s=$2
    cs_s=$(best "$cs" replay -c "$tmp/cfg.yaml" --pcap "$f" --events /dev/null -q)
    cs2_s=$(best "$cs" replay -c "$tmp/cfg.yaml" --pcap "$f" --workers 2 --events /dev/null -q)
    nd_s=$(best ndpiReader -i "$f" -q)
    echo "$(basename "$f") $pkts $cs_s $cs2_s $nd_s $loop_s" | awk '{
        cs = $2 / $3; cs2 = $2 / $4; nd = $2 / $5; lp = $2 / $6;
        printf "%-44s %9d %12.0f %12.0f %12.0f %12.0f %7.2fx %7.2f %7.2fx\n", $1, $2, cs, cs2, nd, lp, cs / nd, cs / lp, cs2 / cs }'
done
set -- $("$tool" flowsize)
echo "bytes per tracked flow: $1 (flow record and its hash slots) + nDPI state $2 while detecting, released when detection ends"
echo "2 workers: --workers 2 (the reading thread deals packets to two workers, each with its own flow table and nDPI module)"
