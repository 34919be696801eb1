#!/usr/bin/env bash
# Throughput of "vigil traffic analyze --zeek" on a generated conn.log day
# of N flows (default 10,000,000). The day is shaped like a mid-size
# office network: 2,000 internal hosts whose web traffic goes to 50,000
# external addresses with a heavy-headed (log-uniform) popularity, DNS to
# two internal resolvers, SMB to ten file servers, SSH/RDP to two jump
# hosts and NTP to one server; 1 web connection in 50 goes unanswered
# (S0), as in real traffic. Planted: 200 beacons (host 10.9.0.b talks to
# 198.51.100.b every ~29 minutes at N=10M), one horizontal scan
# (10.0.0.66, 200 hosts on port 23) and one vertical scan (10.0.0.77, 300
# ports of 203.0.113.250). Prints flows/second (wall and CPU), peak RSS
# (from /usr/bin/time -v) and how many planted things were found, and
# how many scans were reported from other sources (false positives).
#
#   bench/traffic/run.sh            # 10M flows
#   bench/traffic/run.sh -n 1000000 # smaller
#   bench/traffic/run.sh -b ./vigil  # a vigil binary already built
#   bench/traffic/run.sh -k          # keep the generated logs and findings
set -euo pipefail

n=10000000
bin=
keep=
while getopts "n:b:k" o; do
	case $o in
	n) n=$OPTARG ;;
	b) bin=$(realpath "$OPTARG") ;;
	k) keep=1 ;;
	*) echo "usage: $0 [-n flows] [-b vigil-binary] [-k]" >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
if [ -z "$keep" ]; then
	trap 'rm -rf "$work"' EXIT
else
	echo "keeping $work" >&2
fi
mkdir -p "$work/zeek"

if [ -n "$bin" ]; then
	cp "$bin" "$work/vigil"
else
	(cd "$root" && go build -o "$work/vigil" ./cmd/vigil)
fi

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
	t0 = 1700000000
	lnext = log(50000)
	for (i = 0; i < n; i++) {
		ts = t0 + i * 86400.0 / n
		proto = "tcp"; st = "SF"; hist = "ShADadFf"
		if (i % 1000 == 0) {
			# planted beacons: host b talks to 198.51.100.b at a fixed period
			b = int(i / 1000) % 200
			src = "10.9.0." b; dst = "198.51.100." b; p = 443; svc = "ssl"; ob = 512; rb = 1024; d = 0.4
		} else {
			h = int(rand() * 2000); src = "10.0." int(h / 250) "." h % 250
			r = rand()
			if (r < 0.6) {
				# web: log-uniform popularity over 50,000 external addresses
				e = int(exp(rand() * lnext)) - 1
				dst = (100 + int(e / 65536)) "." int(e / 256) % 256 "." e % 256 ".1"
				if (rand() < 0.8) { p = 443; svc = "ssl" } else { p = 80; svc = "http" }
				ob = int(rand() * 4000); rb = int(rand() * 40000); d = rand() * 30
				if (rand() < 0.02) { st = "S0"; hist = "S"; svc = "-"; ob = 0; rb = 0; d = 0 }
			} else if (r < 0.8) {
				dst = "10.1.0." (53 + int(rand() * 2)); p = 53; proto = "udp"; svc = "dns"; hist = "Dd"
				ob = 40 + int(rand() * 40); rb = 80 + int(rand() * 200); d = rand() * 0.05
			} else if (r < 0.9) {
				dst = "10.1.0." (10 + int(rand() * 10)); p = 445; svc = "smb"
				ob = int(rand() * 20000); rb = int(rand() * 200000); d = rand() * 120
			} else if (r < 0.95) {
				dst = "10.1.0." (20 + int(rand() * 2)); if (rand() < 0.5) { p = 22; svc = "ssh" } else { p = 3389; svc = "rdp" }
				ob = 2000 + int(rand() * 20000); rb = 5000 + int(rand() * 100000); d = 60 + rand() * 1800
			} else {
				dst = "10.1.0.123"; p = 123; proto = "udp"; svc = "ntp"; hist = "Dd"; ob = 48; rb = 48; d = 0.01
			}
		}
		printf "%.6f\tC%d\t%s\t%d\t%s\t%d\t%s\t%s\t%.6f\t%d\t%d\t%s\tT\tF\t0\t%s\t5\t700\t5\t1300\t-\n", ts, i, src, 1024 + i % 60000, dst, p, proto, svc, d, ob, rb, st, hist
	}
	# a horizontal scan and a vertical scan
	for (j = 1; j <= 200; j++) printf "%.6f\tS%d\t10.0.0.66\t40000\t203.0.113.%d\t23\ttcp\t-\t-\t-\t-\tS0\tT\tF\t0\tS\t1\t60\t0\t0\t-\n", t0 + 50000 + j, j, j
	for (j = 1; j <= 300; j++) printf "%.6f\tV%d\t10.0.0.77\t41000\t203.0.113.250\t%d\ttcp\t-\t-\t-\t-\tREJ\tT\tF\t0\tSr\t1\t60\t1\t40\t-\n", t0 + 60000 + j / 10, j, j
}' > "$work/zeek/conn.log"
size=$(du -h "$work/zeek/conn.log" | cut -f1)

/usr/bin/time -v "$work/vigil" traffic analyze --zeek "$work/zeek" --internal 10.0.0.0/8 --min-score 0.5 \
	> "$work/findings.jsonl" 2> "$work/stderr"
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/stderr")
user=$(awk -F': ' '/User time/ {print $2}' "$work/stderr")
sys=$(awk -F': ' '/System time/ {print $2}' "$work/stderr")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/stderr")
secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
flows=$((n + 500))
f="$work/findings.jsonl"
beacons=$(grep '"class":"beacon"' "$f" | grep -c '"src":"10.9.0.[0-9]*","src_zone":"internal","dst":"198.51.100.' || true)
hscan=$(grep '"class":"scan_horizontal"' "$f" | grep -c '"src":"10.0.0.66"' || true)
vscan=$(grep '"class":"scan_vertical"' "$f" | grep -c '"src":"10.0.0.77"' || true)
otherscans=$(grep -E '"class":"scan_(horizontal|vertical)"' "$f" | grep -vcE '"src":"10.0.0.(66|77)"' || true)
echo "conn.log: $flows flows, $size"
echo "wall: ${secs}s  flows/s: $(awk -v f="$flows" -v s="$secs" 'BEGIN { printf "%.0f", f / s }')"
echo "cpu: ${cpu}s (user ${user}s, system ${sys}s)  flows per CPU second: $(awk -v f="$flows" -v s="$cpu" 'BEGIN { printf "%.0f", f / s }')"
echo "peak RSS: $((rss / 1024)) MiB"
echo "findings (score >= 0.5): $(wc -l < "$f"); planted beacons found: $beacons of 200; planted horizontal scan found: $hscan; planted vertical scan found: $vscan; scans reported from other sources: $otherscans"
echo "findings by class: $(grep -o '"class":"[a-z_]*"' "$f" | cut -d'"' -f4 | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//')"
grep '^{' "$work/stderr" >&2 || true
