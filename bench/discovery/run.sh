#!/bin/sh
# bench/discovery: "vigil discover" (SYN and connect) against nmap -sS and
# nmap -sT on the same target, at the same packet rate, in one run. The
# target lives in a network namespace of its own, joined to a scanner
# namespace by a veth pair; addresses come from 10.79.0.0/16 and exist
# only inside the two namespaces. Prints wall time of each scan, the
# vigil/nmap ratio for each method, and whether the open-port sets agree.
# It asserts nothing.
#
#   sh bench/discovery/run.sh                 # one host, all 65535 ports
#   sh bench/discovery/run.sh -m net          # 254 hosts (a /24 of aliases) x 200 ports
#   sh bench/discovery/run.sh -r 50000 -o 2000
#
# Options: -m host|net (shape), -r RATE (packets/s for every scanner,
# default 20000), -o OPEN (open ports per target host, spread evenly over
# the scanned ports; default 1000 in host mode, 20 in net mode), -t TIMEOUT (vigil per-probe timeout,
# default 1s), -n RUNS (runs of each scan, the fastest counts; default 1),
# -f FILTERED (ports per host the target's nftables drops, spread evenly
# and offset from the open ones; default 0: every other port is closed).
# -M syn|connect|both (default both) picks the scan methods.
# KEEP=1 keeps the scan outputs; VIGIL=path uses that binary instead of
# building one; BASE=path adds a second vigil binary (an older build, say)
# that takes its turn in every round and is reported beside the first, so
# old and new are compared back to back. Needs root, go, ip, nmap,
# /usr/bin/time; nft with -f.
set -eu
mode=host
rate=20000
nopen=
timeout=1s
runs=1
nfilt=0
methods=both
while getopts "m:r:o:t:n:f:M:" o; do
	case $o in
	m) mode=$OPTARG ;;
	r) rate=$OPTARG ;;
	o) nopen=$OPTARG ;;
	t) timeout=$OPTARG ;;
	n) runs=$OPTARG ;;
	f) nfilt=$OPTARG ;;
	M) methods=$OPTARG ;;
	*) echo "usage: $0 [-m host|net] [-M syn|connect|both] [-r rate] [-o open] [-f filtered] [-t timeout] [-n runs]" >&2; exit 2 ;;
	esac
done
case $mode in host | net) ;; *) echo "-m host or -m net" >&2; exit 2 ;; esac
case $methods in syn | connect | both) ;; *) echo "-M syn, connect or both" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, raw sockets)" >&2; exit 1; }
command -v nmap >/dev/null 2>&1 || { echo "nmap not installed (apt-get install -y nmap)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not installed (apt-get install -y time)" >&2; exit 1; }
PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-discovery.XXXXXX")
tag=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
scan=vigil-bench-$tag-s
target=vigil-bench-$tag-t
lpid=
cleanup() {
	[ -n "$lpid" ] && kill "$lpid" 2>/dev/null || true
	[ -n "$lpid" ] && wait "$lpid" 2>/dev/null || true
	ip netns del "$scan" 2>/dev/null || true
	ip netns del "$target" 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

if [ -n "${VIGIL:-}" ]; then cp "$VIGIL" "$work/vigil"; else (cd "$repo" && go build -o "$work/vigil" ./cmd/vigil); fi
[ -z "${BASE:-}" ] || cp "$BASE" "$work/base"
(cd "$repo" && go build -o "$work/listener" ./bench/discovery/listener)

# The network: scanner 10.79.0.1/16, target 10.79.0.2 (host mode) or
# 10.79.1.1-254 (net mode).
ip netns add "$scan"
ip netns add "$target"
ip -n "$scan" link set lo up
ip -n "$target" link set lo up
ip -n "$scan" link add vb0 type veth peer name vb1 netns "$target"
ip -n "$scan" addr add 10.79.0.1/16 dev vb0
if [ "$mode" = host ]; then
	ip -n "$target" addr add 10.79.0.2/16 dev vb1
	targets=10.79.0.2
	ports=-
	span=65535
	nhosts=1
	: "${nopen:=1000}"
else
	i=1
	while [ $i -le 254 ]; do echo "addr add 10.79.1.$i/16 dev vb1"; i=$((i + 1)); done > "$work/aliases"
	ip -n "$target" -batch "$work/aliases"
	targets=10.79.1.1-254
	ports=1-200
	span=200
	nhosts=254
	: "${nopen:=20}"
fi
ip -n "$scan" link set vb0 up
ip -n "$target" link set vb1 up
# Answer every probe: no ICMP or RST rate limit gets in the way.
ip netns exec "$target" sysctl -q -w net.ipv4.icmp_ratelimit=0 2>/dev/null || true
ip netns exec "$target" sysctl -q -w net.core.somaxconn=4096 2>/dev/null || true

# Open ports: nopen of them spread evenly over the scanned span.
[ "$nopen" -le "$span" ] || nopen=$span
open=$(awk -v n="$nopen" -v span="$span" 'BEGIN {
	step = span / n; sep = ""
	for (i = 0; i < n; i++) { printf "%s%d", sep, 1 + int(i * step); sep = "," }
}')
if [ "$nfilt" -gt 0 ]; then
	command -v nft >/dev/null 2>&1 || { echo "-f needs nft (apt-get install -y nftables)" >&2; exit 1; }
	filtered=$(awk -v n="$nfilt" -v span="$span" -v open="$open" 'BEGIN {
		split(open, o, ","); for (k in o) isopen[o[k]] = 1
		step = span / n; sep = ""; got = 0
		for (i = 0; i < n; i++) {
			p = 1 + int(i * step + step / 2)
			while ((p in isopen || p in done) && p < span) p++
			if (p in isopen || p in done) continue
			done[p] = 1; got++; printf "%s%d", sep, p; sep = ", "
		}
		if (got < n) { print "cannot place " n " filtered ports beside the open ones" > "/dev/stderr"; exit 1 }
	}')
	printf 'table inet bench {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport { %s } drop\n\t}\n}\n' "$filtered" |
		ip netns exec "$target" nft -f -
fi
mkfifo "$work/lin"
ip netns exec "$target" "$work/listener" -ports "$open" < "$work/lin" > "$work/lout" &
lpid=$!
exec 3> "$work/lin" # keeps the listener's stdin open until the script ends
for _ in $(seq 50); do grep -q ready "$work/lout" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/lout" || { echo "listener did not start" >&2; exit 1; }
# Neighbour entries first, so no scanner pays for ARP.
ip netns exec "$scan" nmap -sn -n "$targets" > /dev/null

now() { date +%s.%N; }
probes=$((nhosts * span))

# run NAME CMD...: times the command, wall clock and CPU (user + system),
# and keeps the output and figures of its fastest run.
run() {
	name=$1
	shift
	t0=$(now)
	ip netns exec "$scan" /usr/bin/time -f '%U %S' -o "$work/$name.cpu" "$@" > "$work/$name.out" 2> "$work/$name.err" || { echo "$name failed:" >&2; cat "$work/$name.err" >&2; exit 1; }
	t1=$(now)
	el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	if [ ! -f "$work/$name.time" ] || awk -v x="$el" -v y="$(cat "$work/$name.time")" 'BEGIN { exit !(x < y) }'; then
		echo "$el" > "$work/$name.time"
		mv "$work/$name.out" "$work/$name.best"
		mv "$work/$name.cpu" "$work/$name.bestcpu"
	fi
}

vigil_open() { sed -n 's/.*"host":"\([^"]*\)","port":\([0-9]*\),"state":"open".*/\1:\2/p' "$work/$1.best" | sort; }
nmap_open() {
	awk '/<address addr=.*addrtype="ipv[46]"/ { match($0, /addr="[^"]*"/); a = substr($0, RSTART + 6, RLENGTH - 7) }
	/<port / && /state="open"/ { match($0, /portid="[0-9]*"/); print a ":" substr($0, RSTART + 8, RLENGTH - 9) }' "$work/$1.best" | sort
}

vflags="--scope 10.79.0.0/16 -p $ports --rate $rate --timeout $timeout --no-fingerprint"
nflags="-Pn -n --min-rate $rate --max-rate $rate --max-retries 1 -p $ports -oX -"
echo "bench/discovery: $mode mode, $nhosts host(s) x $span ports = $probes probes, $nopen open and $nfilt filtered port(s) per host, rate $rate/s, best of $runs run(s)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
syn=yes connect=yes
[ "$methods" = connect ] && syn=
[ "$methods" = syn ] && connect=
# The four scans take turns, so that load from elsewhere on the machine
# falls on all of them; each one's fastest run counts.
i=0
while [ $i -lt "$runs" ]; do
	if [ -n "$syn" ]; then
		# shellcheck disable=SC2086
		[ -z "${BASE:-}" ] || run base-syn "$work/base" discover $targets $vflags --method syn
		# shellcheck disable=SC2086
		run vigil-syn "$work/vigil" discover $targets $vflags --method syn
		# shellcheck disable=SC2086
		run nmap-sS nmap -sS $nflags $targets
	fi
	if [ -n "$connect" ]; then
		# shellcheck disable=SC2086
		[ -z "${BASE:-}" ] || run base-connect "$work/base" discover $targets $vflags --method connect
		# shellcheck disable=SC2086
		run vigil-connect "$work/vigil" discover $targets $vflags --method connect
		# shellcheck disable=SC2086
		run nmap-sT nmap -sT $nflags $targets
	fi
	i=$((i + 1))
done

want=$((nopen * nhosts))
line() {
	printf '%-14s %8ss  %8.0f probes/s  CPU %6.2fs  %6s open (planted %s)\n' "$1" "$2" \
		"$(awk -v p=$probes -v t="$2" 'BEGIN { print p / t }')" "$(awk '{ print $1 + $2 }' "$work/$1.bestcpu")" "$3" "$want"
}
report() {
	v=$1 n=$2
	vigil_open "$v" > "$work/$v.open"
	nmap_open "$n" > "$work/$n.open"
	vt=$(cat "$work/$v.time") nt=$(cat "$work/$n.time")
	vc=$(wc -l < "$work/$v.open" | tr -d ' ') nc=$(wc -l < "$work/$n.open" | tr -d ' ')
	if cmp -s "$work/$v.open" "$work/$n.open"; then agree=yes; else agree=no; fi
	line "$v" "$vt" "$vc"
	line "$n" "$nt" "$nc"
	printf '%-14s %8s   open sets agree: %s\n' "ratio" "$(awk -v a="$vt" -v b="$nt" 'BEGIN { printf "%.2f", a / b }')" "$agree"
}
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
vs= ns=
for m in syn:sS connect:sT; do
	# report sets v and n: this loop's names differ.
	meth=${m%%:*} nm=nmap-${m#*:}
	[ "$meth" = syn ] && [ -z "$syn" ] && continue
	[ "$meth" = connect ] && [ -z "$connect" ] && continue
	vs="$vs vigil-$meth" ns="$ns $nm"
	report "vigil-$meth" "$nm"
	if [ -n "${BASE:-}" ]; then
		report "base-$meth" "$nm"
		printf '%-14s %8s   (vigil-%s / base-%s, wall)  CPU %s\n' "new/base" \
			"$(awk -v a="$(cat "$work/vigil-$meth.time")" -v b="$(cat "$work/base-$meth.time")" 'BEGIN { printf "%.2f", a / b }')" "$meth" "$meth" \
			"$(awk -v a="$(awk '{ print $1 + $2 }' "$work/vigil-$meth.bestcpu")" -v b="$(awk '{ print $1 + $2 }' "$work/base-$meth.bestcpu")" 'BEGIN { printf "%.2f", a / b }')"
		vs="$vs base-$meth"
	fi
done
echo "summaries:"
for v in $vs; do sed -n "s/^discover: /  $v (last run): /p" "$work/$v.err"; done
for n in $ns; do
	printf '  %s: %s\n' "$n" "$(awk '{ while (match($0, /<(extraports|state) state="[a-z|]*"( count="[0-9]*")?/)) {
		m = substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH)
		match(m, /state="[a-z|]*"/); st = substr(m, RSTART + 7, RLENGTH - 8)
		c = 1; if (match(m, /count="[0-9]*"/)) c = substr(m, RSTART + 7, RLENGTH - 8)
		n[st] += c } } END { for (s in n) printf "%d %s, ", n[s], s }' "$work/$n.best" | sed 's/, $//')"
done
