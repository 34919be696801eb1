#!/bin/sh
# bench/discovery/services.sh: Vigil's service identification ("vigil
# discover" with fingerprints, a connect scan) against nmap -sT -sV on
# the same real services, in one run. The services run in a network
# namespace of their own (10.81.0.2), joined to a scanner namespace
# (10.81.0.1) by a veth pair; the addresses exist only inside the two
# namespaces. Services: OpenSSH (22), nginx over HTTP (80) and HTTPS with a
# self-signed certificate (443), Redis (6379, and 7000 where no port hint
# applies), memcached (11211), Mosquitto (1883), OpenLDAP (389), NATS
# (4222), and a Go HTTP server (8080). Prints the wall and CPU time of each tool, the
# vigil/nmap ratio, and per port both tools' service names and products
# and whether they agree. It asserts nothing.
#
#   sh bench/discovery/services.sh           # best of 1 run
#   sh bench/discovery/services.sh -n 3      # best of 3 runs each
#
# KEEP=1 keeps the outputs; VIGIL=path uses that binary instead of
# building one. Needs root, go, ip, nmap, /usr/bin/time, openssl, sshd
# (openssh-server), nginx, redis-server, memcached, mosquitto, slapd and
# nats-server; a missing service is left out and said so.
set -eu
runs=1
while getopts "n:" o; do
	case $o in
	n) runs=$OPTARG ;;
	*) echo "usage: $0 [-n runs]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
command -v nmap >/dev/null 2>&1 || { echo "nmap not installed (apt-get install -y nmap)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not installed (apt-get install -y time)" >&2; exit 1; }
PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-services.XXXXXX")
chmod 755 "$work"
tag=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
scan=vigil-bench-$tag-s
target=vigil-bench-$tag-t
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	ip netns del "$scan" 2>/dev/null || true
	ip netns del "$target" 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

if [ -n "${VIGIL:-}" ]; then cp "$VIGIL" "$work/vigil"; else (cd "$repo" && go build -o "$work/vigil" ./cmd/vigil); fi
(cd "$repo" && go build -o "$work/svccompare" ./bench/discovery/svccompare && go build -o "$work/gohttp" ./bench/discovery/gohttp)

ip netns add "$scan"
ip netns add "$target"
ip -n "$scan" link set lo up
ip -n "$target" link set lo up
ip -n "$scan" link add vb0 type veth peer name vb1 netns "$target"
ip -n "$scan" addr add 10.81.0.1/24 dev vb0
ip -n "$target" addr add 10.81.0.2/24 dev vb1
ip -n "$scan" link set vb0 up
ip -n "$target" link set vb1 up
addr=10.81.0.2

# start NAME CMD...: runs a service in the target namespace.
ports=
start() {
	port=$1
	shift
	ip netns exec "$target" "$@" > "$work/svc-$port.log" 2>&1 &
	pids="$pids $!"
	ports="$ports${ports:+,}$port"
}
if [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null 2>&1; then
	mkdir -p /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$work/ssh_host_ed25519_key"
	printf 'Port 22\nListenAddress %s\nHostKey %s/ssh_host_ed25519_key\nPidFile none\nUsePAM no\n' "$addr" "$work" > "$work/sshd_config"
	start 22 /usr/sbin/sshd -D -e -f "$work/sshd_config"
else echo "no sshd: port 22 left out" >&2; fi
if command -v nginx >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=bench.vigil.test" -addext "subjectAltName=DNS:bench.vigil.test" \
		-keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
	cat > "$work/nginx.conf" <<EOC
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $work/nginx-body;
	proxy_temp_path $work/nginx-proxy;
	fastcgi_temp_path $work/nginx-fastcgi;
	uwsgi_temp_path $work/nginx-uwsgi;
	scgi_temp_path $work/nginx-scgi;
	server { listen $addr:80; location / { return 200 "bench\n"; } }
	server { listen $addr:443 ssl; ssl_certificate $work/tls.crt; ssl_certificate_key $work/tls.key; location / { return 200 "bench\n"; } }
}
EOC
	start 80 nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;'
	ports="$ports,443"
else echo "no nginx or openssl: ports 80 and 443 left out" >&2; fi
if command -v redis-server >/dev/null 2>&1; then
	start 6379 redis-server --bind "$addr" --port 6379 --save '' --appendonly no --protected-mode no --dir "$work"
else echo "no redis-server: port 6379 left out" >&2; fi
if command -v redis-server >/dev/null 2>&1; then
	# A second Redis away from its usual port: no port hint applies.
	start 7000 redis-server --bind "$addr" --port 7000 --save '' --appendonly no --protected-mode no --dir "$work"
fi
if command -v memcached >/dev/null 2>&1; then
	start 11211 memcached -l "$addr" -p 11211 -U 0 -u root
else echo "no memcached: port 11211 left out" >&2; fi
if [ -x /usr/sbin/mosquitto ]; then
	printf 'listener 1883 %s\nallow_anonymous true\n' "$addr" > "$work/mosquitto.conf"
	start 1883 /usr/sbin/mosquitto -c "$work/mosquitto.conf"
else echo "no mosquitto: port 1883 left out" >&2; fi
if [ -x /usr/sbin/slapd ]; then
	printf 'pidfile %s/slapd.pid\nargsfile %s/slapd.args\n' "$work" "$work" > "$work/slapd.conf"
	start 389 /usr/sbin/slapd -d 0 -f "$work/slapd.conf" -h "ldap://$addr:389/"
else echo "no slapd: port 389 left out" >&2; fi
if command -v nats-server >/dev/null 2>&1; then
	start 4222 nats-server -a "$addr" -p 4222
else echo "no nats-server: port 4222 left out" >&2; fi
start 8080 "$work/gohttp" -addr "$addr:8080"
[ -n "$ports" ] || { echo "no service to scan" >&2; exit 1; }
# Wait until every port answers.
for p in $(echo "$ports" | tr , ' '); do
	for _ in $(seq 100); do
		ip netns exec "$scan" nmap -sT -Pn -n -p "$p" "$addr" 2>/dev/null | grep -q "^$p/tcp *open" && break
		sleep 0.1
	done
done

now() { date +%s.%N; }
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

echo "bench/discovery/services: $addr ports $ports, best of $runs run(s); load: $(uptime | sed 's/.*load average: //')"
i=0
while [ $i -lt "$runs" ]; do
	run vigil "$work/vigil" discover "$addr" --scope 10.81.0.0/24 -p "$ports" --method connect
	run nmap-sV nmap -sT -sV -Pn -n -p "$ports" -oX - "$addr"
	i=$((i + 1))
done
vt=$(cat "$work/vigil.time") nt=$(cat "$work/nmap-sV.time")
printf '%-10s %8ss  CPU %6.2fs\n' vigil "$vt" "$(awk '{ print $1 + $2 }' "$work/vigil.bestcpu")"
printf '%-10s %8ss  CPU %6.2fs\n' nmap-sV "$nt" "$(awk '{ print $1 + $2 }' "$work/nmap-sV.bestcpu")"
printf '%-10s %8s   (vigil time / nmap -sV time)\n' ratio "$(awk -v a="$vt" -v b="$nt" 'BEGIN { printf "%.3f", a / b }')"
"$work/svccompare" -vigil "$work/vigil.best" -nmap "$work/nmap-sV.best"
