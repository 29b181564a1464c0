#!/usr/bin/env bash
# A directory given as a capture stands for every capture under it (.pcap,
# .pcapng, .cap, recursively, in path order): the same flows as naming the
# files one by one; an empty directory is said to be empty.
. "$(dirname "$0")/lib.bash"
need_shared bench-pcaps
mkdir -p "$TMP/caps/sub" "$TMP/empty"
cp "$CS_SHARED_DATA/bench-pcaps/zeek-echo-connections.pcap" "$TMP/caps/b.pcap"
cp "$CS_SHARED_DATA/ndpi/pcap/dns_invert_query.pcapng" "$TMP/caps/sub/a.pcapng" 2>/dev/null ||
    cp "$CS_SHARED_DATA/bench-pcaps/zeek-echo-connections.pcap" "$TMP/caps/sub/a.pcapng"
printf 'not a capture\n' >"$TMP/caps/notes.txt"
run_cs replay --pcap "$TMP/caps" --events "$TMP/dir.jsonl"
check "a directory of captures replays (exit 0)" test "$RC" -eq 0
run_cs replay --pcap "$TMP/caps/b.pcap" --pcap "$TMP/caps/sub/a.pcapng" --events "$TMP/files.jsonl"
check "the files one by one replay (exit 0)" test "$RC" -eq 0
sed 's/"created":"[^"]*",//' "$TMP/dir.jsonl" | sort >"$TMP/d.txt"
sed 's/"created":"[^"]*",//' "$TMP/files.jsonl" | sort >"$TMP/f.txt"
check "the same flows either way ($(wc -l <"$TMP/d.txt") events)" cmp -s "$TMP/d.txt" "$TMP/f.txt"
check "other files in the directory are left alone" bash -c "! grep -q notes.txt '$ERR'"
run_cs replay --pcap "$TMP/empty" --events "$TMP/none.jsonl"
check "an empty directory is said to be empty" grep -q 'no captures' "$ERR"
check "no crash" no_crash
finish
