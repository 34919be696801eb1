#!/bin/sh
# bench/vuln: import and dedupe of generated nuclei and Trivy scans
# (1,000,000 findings over 50,000 assets by default) through the
# vulnerability lifecycle, on SQLite and on PostgreSQL, then the findings
# page's queries at that size. Prints findings/s, CPU time and peak RSS of
# each import, p50/p95 per query shape, and the SQLite/PostgreSQL ratio of
# the import times. Generated files and the databases live in a temporary
# directory and a fresh PostgreSQL database, removed at the end. It
# asserts nothing but the import's counters against the generator's.
#
#   sh bench/vuln/run.sh                       # both drivers, 1M findings
#   sh bench/vuln/run.sh -d sqlite -f 100000 -a 5000
#
# Options: -d sqlite|postgres|both (default both), -f FINDINGS, -a ASSETS,
# -q QUERIES per shape (default 200), -p DIR (CPU profiles per phase).
# PG=URL names the PostgreSQL server (default the local trust-auth one);
# the role needs CREATEDB.
set -eu
drivers="sqlite postgres"
findings=1000000
assets=50000
queries=200
profile=
while getopts "d:f:a:q:p:" o; do
	case $o in
	d) [ "$OPTARG" = both ] || drivers=$OPTARG ;;
	f) findings=$OPTARG ;;
	a) assets=$OPTARG ;;
	q) queries=$OPTARG ;;
	p) profile=$OPTARG ;;
	*) echo "usage: $0 [-d sqlite|postgres|both] [-f findings] [-a assets] [-q queries] [-p profile-dir]" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-vuln-run.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
(cd "$repo" && go build -o "$work/vuln-bench" ./bench/vuln)
for d in $drivers; do
	set -- -driver "$d" -findings "$findings" -assets "$assets" -queries "$queries"
	if [ -n "$profile" ]; then mkdir -p "$profile/$d" && set -- "$@" -profile "$profile/$d"; fi
	"$work/vuln-bench" -pg "${PG:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}" "$@" | tee "$work/$d.out"
	echo
done
# The ratio of the import wall times, when both drivers ran.
if [ -f "$work/sqlite.out" ] && [ -f "$work/postgres.out" ]; then
	for phase in "import (all new)" "reimport"; do
		s=$(grep "^$phase" "$work/sqlite.out" | awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "findings/s") print $i }')
		p=$(grep "^$phase" "$work/postgres.out" | awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "findings/s") print $i }')
		printf '%-18s sqlite %s findings/s, postgres %s findings/s, ratio sqlite/postgres %s\n' "$phase" "$s" "$p" \
			"$(awk -v a="$s" -v b="$p" 'BEGIN { printf "%.2f", a / b }')"
	done
fi
