#!/usr/bin/env bash
# Throughput of "vigil traffic analyze --zeek" on a generated conn.log day:
# N flows (default 10,000,000) from 2,000 internal hosts to 50,000
# external addresses, with 200 planted beacons and one port scan. Prints
# flows/second and peak RSS (from /usr/bin/time -v).
#
#   bench/traffic/run.sh            # 10M flows
#   bench/traffic/run.sh -n 1000000 # smaller
set -euo pipefail

n=10000000
while getopts "n:" o; do
	case $o in
	n) n=$OPTARG ;;
	*) echo "usage: $0 [-n flows]" >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/zeek"

(cd "$root" && go build -o "$work/vigil" ./cmd/vigil)

echo "generating $n flows..." >&2
awk -v n="$n" 'BEGIN {
	srand(42)
	OFS = "\t"
	print "#separator \\x09"
	print "#set_separator\t,"
	print "#empty_field\t(empty)"
	print "#unset_field\t-"
	print "#path\tconn"
	print "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents"
	print "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]"
	split("443 80 53 22 445 8080 123 3389", ports, " ")
	split("ssl http dns ssh smb http ntp rdp", svcs, " ")
	split("SF SF SF SF SF SF SF SF SF SF SF SF SF SF SF SF SF SF SF S0", states, " ")
	t0 = 1700000000
	for (i = 0; i < n; i++) {
		ts = t0 + i * 86400.0 / n
		if (i % 1000 == 0) {
			# planted beacons: host b talks to 198.51.100.b every ~5 minutes
			b = int(i / 1000) % 200
			src = "10.9.0." b; dst = "198.51.100." b; p = 443; svc = "ssl"; st = "SF"; ob = 512; rb = 1024; d = 0.4
		} else {
			h = int(rand() * 2000); src = "10.0." int(h / 250) "." h % 250
			e = int(rand() * 50000); dst = (100 + int(e / 65536)) "." int(e / 256) % 256 "." e % 256 ".1"
			k = 1 + int(rand() * 8); p = ports[k]; svc = svcs[k]; st = states[1 + int(rand() * 20)]
			ob = int(rand() * 4000); rb = int(rand() * 40000); d = rand() * 30
		}
		printf "%.6f\tC%d\t%s\t%d\t%s\t%d\ttcp\t%s\t%.6f\t%d\t%d\t%s\tT\tF\t0\tShADadFf\t5\t700\t5\t1300\t-\n", ts, i, src, 1024 + i % 60000, dst, p, svc, d, ob, rb, st
	}
	# a horizontal scan
	for (j = 1; j <= 200; j++) printf "%.6f\tS%d\t10.0.0.66\t40000\t203.0.113.%d\t23\ttcp\t-\t-\t-\t-\tS0\tT\tF\t0\tS\t1\t60\t0\t0\t-\n", t0 + 50000 + j, j, j
}' > "$work/zeek/conn.log"
size=$(du -h "$work/zeek/conn.log" | cut -f1)

/usr/bin/time -v "$work/vigil" traffic analyze --zeek "$work/zeek" --internal 10.0.0.0/8 --min-score 0.5 \
	> "$work/findings.jsonl" 2> "$work/stderr"
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/stderr")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/stderr")
secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
flows=$((n + 200))
echo "conn.log: $flows flows, $size"
echo "wall: ${secs}s  flows/s: $(awk -v f="$flows" -v s="$secs" 'BEGIN { printf "%.0f", f / s }')"
echo "peak RSS: $((rss / 1024)) MiB"
echo "findings: $(wc -l < "$work/findings.jsonl") ($(grep -c '"class":"beacon"' "$work/findings.jsonl" || true) beacons, $(grep -c '"class":"scan_horizontal"' "$work/findings.jsonl" || true) horizontal scans)"
grep '^{' "$work/stderr" >&2 || true
