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
echo
echo "Wall clock of whole processes (start-up included):"
printf '%-44s %9s %12s %12s %9s\n' file packets "citysoc pps" "ndpiReader" "vs nDPI"
: >"$tmp/net.txt"
for f in "$data"/bench-pcaps/*.pcap "$tmp/ndpi-merged.pcap"; do
    [ -f "$f" ] || continue
    set -- $("$tool" loop "$f" "$runs")
    pkts=$1
    loop_s=$2
    # start-up and exit cost of each tool: the same run over the file's first packet
    "$tool" head "$tmp/one.pcap" "$f" 1
    cs_s=$(best "$cs" replay -c "$tmp/cfg.yaml" --pcap "$f" --events /dev/null -q)
    cs0_s=$(best "$cs" replay -c "$tmp/cfg.yaml" --pcap "$tmp/one.pcap" --events /dev/null -q)
    cs2_s=$(best "$cs" replay -c "$tmp/cfg.yaml" --pcap "$f" --workers 2 --events /dev/null -q)
    cs20_s=$(best "$cs" replay -c "$tmp/cfg.yaml" --pcap "$tmp/one.pcap" --workers 2 --events /dev/null -q)
    nd_s=$(best ndpiReader -i "$f" -q)
    nd0_s=$(best ndpiReader -i "$tmp/one.pcap" -q)
    echo "$(basename "$f") $pkts $cs_s $nd_s" | awk '{
        printf "%-44s %9d %12.0f %12.0f %8.2fx\n", $1, $2, $2 / $3, $2 / $4, $4 / $3 }'
    echo "$(basename "$f") $pkts $cs_s $cs0_s $cs2_s $cs20_s $nd_s $nd0_s $loop_s" >>"$tmp/net.txt"
done
echo
echo "Net of start-up (each tool's time on the file minus its time on the file's first packet alone;"
echo "the bare loop is timed in process, so it has none):"
printf '%-44s %12s %12s %12s %12s %9s %8s %8s\n' file "citysoc pps" "2 workers" "ndpiReader" "bare loop" "vs nDPI" "vs loop" "2w / 1w"
awk '{
    cs = $3 - $4; cs2 = $5 - $6; nd = $7 - $8; lp = $9;
    if (cs <= 0) cs = 1e-9; if (cs2 <= 0) cs2 = 1e-9; if (nd <= 0) nd = 1e-9;
    printf "%-44s %12.0f %12.0f %12.0f %12.0f %8.2fx %8.2f %7.2fx\n", $1, $2 / cs, $2 / cs2, $2 / nd, $2 / lp,
        nd / cs, lp / cs, cs / cs2 }' "$tmp/net.txt"
set -- $("$tool" flowsize)
echo
echo "bytes per tracked flow: $1 (flow record and its hash slots) + nDPI state $2 while detecting, released when detection ends"
echo "2 workers: --workers 2 (the reading thread deals packets to two workers, each with its own flow table and nDPI module)"

# YARA: the same payloads (first 4096 bytes of each flow direction of the
# merged file) scanned by Debian's yara (compiled rules, one thread, net of
# its start-up on an empty folder) and by citysoc (its own time in scans).
ydir=$data/yara
if command -v yara >/dev/null && command -v yarac >/dev/null && [ -d "$ydir" ]; then
    set --
    i=0
    for y in $(find "$ydir" -name '*.yar' -o -name '*.yara' | sort); do
        i=$((i + 1))
        set -- "$@" "n$i:$y"
    done
    yarac "$@" "$tmp/rules.yarc" 2>/dev/null
    set -- $("$tool" payloads "$tmp/ndpi-merged.pcap" "$tmp/payloads" 4096)
    pf=$1
    pb=$2
    mkdir -p "$tmp/empty"
    y_s=$(best yara -p 1 -C -r "$tmp/rules.yarc" "$tmp/payloads")
    y0_s=$(best yara -p 1 -C -r "$tmp/rules.yarc" "$tmp/empty")
    printf 'log_level: info\n' >"$tmp/cfg-info.yaml"
    line=$("$cs" replay -c "$tmp/cfg-info.yaml" --yara "$ydir" --yara-max-bytes 4096 --pcap "$tmp/ndpi-merged.pcap" \
        --events /dev/null 2>&1 | grep -o '[0-9]* scans ([0-9]* bytes in [0-9.]* s' | head -n1)
    echo "$line $pf $pb $y_s $y0_s" | awk '{
        gsub(/\(/, "", $3); csb = $3; css = $6; ymb = $9 / ($10 - $11) / 1e6; cmb = csb / css / 1e6;
        printf "\nYARA, the rule files of yara/ over the first 4096 payload bytes per flow direction of ndpi-merged.pcap:\n";
        printf "  yara CLI: %d files, %d bytes, %.2f MB/s;  citysoc: %d scans, %d bytes, %.2f MB/s;  ratio %.2f\n",
            $8, $9, ymb, $1, csb, cmb, cmb / ymb }'
else
    echo "YARA comparison skipped: yara/yarac (apt-get install yara) or $ydir missing"
fi
