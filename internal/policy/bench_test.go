package policy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// genLarge writes a filter table of n INPUT rules in the shape of a real
// perimeter policy: per-host and per-subnet service rules over 10.0.0.0/8,
// some duplicated or covered by broader rules.
func genLarge(n int) string {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	var sb strings.Builder
	sb.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	sb.WriteString("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n")
	services := []string{"22", "80", "443", "8080:8090", "3306", "5432", "25", "53", "123", "1024:65535"}
	actions := []string{"ACCEPT", "ACCEPT", "ACCEPT", "DROP", "REJECT"}
	type subnetRule struct {
		a, b            int
		dst, proto, svc string
	}
	var subnets []subnetRule
	for range n - 1 {
		a, c := rng.IntN(64), rng.IntN(256)
		src := fmt.Sprintf("10.%d.%d.0/24", a, c)
		dst := fmt.Sprintf("172.16.%d.%d", rng.IntN(16), rng.IntN(256))
		proto := []string{"tcp", "udp"}[rng.IntN(2)]
		svc := services[rng.IntN(len(services))]
		switch {
		case len(subnets) > 0 && rng.IntN(10) == 0:
			// A host rule inside an earlier subnet rule: shadowed.
			p := subnets[rng.IntN(len(subnets))]
			src, dst, proto, svc = fmt.Sprintf("10.%d.%d.%d", p.a, p.b, rng.IntN(256)), p.dst, p.proto, p.svc
		case rng.IntN(4) == 0:
			src = fmt.Sprintf("10.%d.%d.%d", a, c, rng.IntN(256))
		default:
			subnets = append(subnets, subnetRule{a, c, dst, proto, svc})
		}
		fmt.Fprintf(&sb, "-A INPUT -s %s -d %s -p %s --dport %s -j %s\n",
			src, dst, proto, svc, actions[rng.IntN(len(actions))])
	}
	sb.WriteString("COMMIT\n")
	return sb.String()
}

func BenchmarkAnalyze10k(b *testing.B) {
	rs := mustParse(b, genLarge(10_000))
	ctx := context.Background()
	b.ResetTimer()
	var findings int
	start := time.Now()
	for b.Loop() {
		fs, err := Analyze(ctx, rs, Options{})
		if err != nil {
			b.Fatal(err)
		}
		findings = len(fs)
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/analysis")
	b.ReportMetric(float64(rs.NumRules()), "rules")
	b.ReportMetric(float64(findings), "findings")
}

// BenchmarkPairwise10k is the naive peer: a rule counts as shadowed only
// when one earlier terminal rule contains it. It misses rules covered by a
// union of earlier rules and says nothing on redundancy; it is here to put
// the exact analysis time in proportion.
func BenchmarkPairwise10k(b *testing.B) {
	rs := mustParse(b, genLarge(10_000))
	rules := rs.Chain("INPUT").Rules
	spaces := make([]box, len(rules))
	for i, r := range rules {
		spaces[i] = rs.spaces[r]
	}
	var shadowed int
	start := time.Now()
	for b.Loop() {
		shadowed = 0
		for k := range spaces {
			for j := range k {
				if rules[j].Action.terminal() && spaces[j].containsBox(&spaces[k]) {
					shadowed++
					break
				}
			}
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/analysis")
	b.ReportMetric(float64(shadowed), "shadowed")
}

func BenchmarkParse10k(b *testing.B) {
	text := genLarge(10_000)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := ParseIptablesSave(strings.NewReader(text), IPv4); err != nil {
			b.Fatal(err)
		}
	}
}
