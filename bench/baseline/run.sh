#!/bin/sh
# bench/baseline: the corpus CIS Debian 12 policy evaluated on this host by
# "vigil baseline check" (local target, commands allowed), and Lynis
# ("lynis audit system --quick") in the same run. Prints wall time, checks
# (Lynis: tests performed), time per check for each, and the ratio.
# It asserts nothing. Run from the repository: sh bench/baseline/run.sh
# Needs: go, lynis (apt-get install lynis); root gives both tools the same
# view of the host.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
policy=${POLICY:-$repo/../shared/corpus/wazuh-sca/debian/cis_debian12.yml}
runs=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-baseline.XXXXXX")
trap 'rm -rf "$work"' EXIT

[ -f "$policy" ] || { echo "policy not found: $policy (set POLICY=)" >&2; exit 1; }
command -v lynis >/dev/null 2>&1 || [ -x /usr/sbin/lynis ] || { echo "lynis not installed (apt-get install -y lynis)" >&2; exit 1; }
PATH=$PATH:/usr/sbin:/sbin

(cd "$repo" && go build -o "$work/vigil" ./cmd/vigil)

now() { date +%s.%N; }

# vigil: best of $runs runs (the first also warms the page cache).
best=
i=0
while [ "$i" -lt "$runs" ]; do
  t0=$(now)
  "$work/vigil" baseline check --policy "$policy" --target local --allow-commands --force \
    > "$work/vigil.jsonl" 2> "$work/vigil.err"
  t1=$(now)
  el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  if [ -z "$best" ] || awk -v x="$el" -v y="$best" 'BEGIN { exit !(x < y) }'; then best=$el; fi
  i=$((i + 1))
done
vchecks=$(wc -l < "$work/vigil.jsonl" | tr -d ' ')
vsummary=$(tail -n 1 "$work/vigil.err")

# Lynis: one run (it takes about a minute).
t0=$(now)
lynis audit system --quick --no-colors --no-log --report-file "$work/lynis-report.dat" \
  > "$work/lynis.out" 2>&1 || true
t1=$(now)
lel=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
ltests=$(sed -n 's/.*Tests performed *: *\([0-9][0-9]*\).*/\1/p' "$work/lynis.out" | tail -n 1)
lver=$(lynis --version 2>/dev/null || echo '?')
[ -n "$ltests" ] || { echo "could not read the number of Lynis tests; output:" >&2; tail -n 20 "$work/lynis.out" >&2; exit 1; }

awk -v vt="$best" -v vc="$vchecks" -v lt="$lel" -v lc="$ltests" -v runs="$runs" -v lv="$lver" -v vs="$vsummary" 'BEGIN {
  vper = 1000 * vt / vc; lper = 1000 * lt / lc
  printf "policy: CIS Debian 12 (Wazuh SCA corpus), %d checks\n", vc
  printf "vigil baseline check: %7.3f s total (best of %d), %8.3f ms per check   [%s]\n", vt, runs, vper, vs
  printf "lynis %s --quick:     %7.3f s total, %d tests,      %8.3f ms per test\n", lv, lt, lc, lper
  printf "ratio (lynis per test / vigil per check): %.1fx; whole run: %.1fx\n", lper / vper, lt / vt
}'
