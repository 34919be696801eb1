package policy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

func TestProposeEquivalent(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	flows := sampleFlows()
	ctx := context.Background()
	removed := map[string]int{}
	for iter := range 400 {
		text := genRuleSet(rng)
		rs := mustParse(t, text)
		p, err := Propose(ctx, rs, ProposeOptions{Merge: iter%2 == 0})
		if err != nil {
			t.Fatalf("set %d: %v\n%s", iter, err, text)
		}
		if !p.Proof.Equivalent {
			t.Fatalf("set %d: proof not equivalent", iter)
		}
		out, err := p.RenderIptablesSave([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		again := mustParse(t, string(out))
		if again.NumRules() != rs.NumRules()-len(p.Removed()) {
			t.Fatalf("set %d: rendered %d rules, want %d", iter, again.NumRules(), rs.NumRules()-len(p.Removed()))
		}
		// The rendered text is proven equivalent too, and agrees on
		// sampled flows with the original.
		d, err := Diff(ctx, rs, again, DiffOptions{})
		if err != nil || !d.Equivalent {
			t.Fatalf("set %d: rendered proposal differs: %+v %v", iter, d, err)
		}
		before, after := decideAll(t, rs, flows), decideAll(t, again, flows)
		for i := range flows {
			if before[i].Action != after[i].Action {
				t.Fatalf("set %d: flow %+v %s -> %s\n%s\n----\n%s", iter, flows[i], before[i].Action, after[i].Action, text, out)
			}
		}
		// Every shadowed rule Analyze finds is removed.
		fs, err := Analyze(ctx, rs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		gone := map[int]bool{}
		for _, l := range p.Removed() {
			gone[l] = true
		}
		for _, f := range fs {
			if f.Kind == KindShadowed && !gone[f.Line] {
				t.Fatalf("set %d: shadowed line %d kept", iter, f.Line)
			}
		}
		for _, c := range p.Changes {
			removed[c.Kind]++
		}
	}
	if removed[KindShadowed] < 20 || removed[KindRedundant] < 20 {
		t.Errorf("too few removals exercised: %v", removed)
	}
	t.Logf("removals: %v", removed)
}

// TestProposeDuplicates checks removals interact: of two identical rules
// each redundant alone, only one goes.
func TestProposeDuplicates(t *testing.T) {
	text := "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n"
	rs := mustParse(t, text)
	p, err := Propose(context.Background(), rs, ProposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.Removed()); got != "[4 5]" {
		t.Errorf("removed lines %s, want [4 5] (line 5 shadowed, line 4 redundant)", got)
	}
	if !p.Proof.Equivalent {
		t.Error("not equivalent")
	}
	if len(p.Plan()) != 2 {
		t.Errorf("plan = %q", p.Plan())
	}
}

func TestProposeMerge(t *testing.T) {
	text := `*filter
:INPUT DROP [0:0]
-A INPUT -s 192.0.2.0/25 -p tcp -m tcp --dport 22 -m comment --comment "ssh a" -j ACCEPT
-A INPUT -s 192.0.2.128/25 -p tcp -m tcp --dport 22 -m comment --comment "ssh a" -j ACCEPT
-A INPUT -p udp --dport 53 -j ACCEPT
-A INPUT -p udp --dport 54:60 -j ACCEPT
-A INPUT -p udp --dport 61 -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
-A INPUT -p tcp --dport 443 -j ACCEPT
COMMIT
`
	rs := mustParse(t, text)
	p, err := Propose(context.Background(), rs, ProposeOptions{Merge: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.RenderIptablesSave([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := `*filter
:INPUT DROP [0:0]
-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -m comment --comment "ssh a" -j ACCEPT
-A INPUT -p udp --dport 53:61 -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
-A INPUT -p tcp --dport 443 -j ACCEPT
COMMIT
`
	if string(out) != want {
		t.Errorf("rendered:\n%s\nwant:\n%s", out, want)
	}
	d, err := Diff(context.Background(), rs, mustParse(t, string(out)), DiffOptions{})
	if err != nil || !d.Equivalent || !p.Proof.Equivalent {
		t.Fatalf("not equivalent: %+v %v", d, err)
	}
}

func TestProposeUserChainRecompute(t *testing.T) {
	// U is reached twice; removing a rule of INPUT between the jumps
	// changes what the second instance of U sees.
	text := `*filter
:INPUT DROP [0:0]
:U - [0:0]
-A INPUT -p tcp --dport 80 -j U
-A INPUT -s 192.0.2.0/24 -p tcp -j ACCEPT
-A INPUT -s 192.0.2.0/25 -p tcp -j U
-A INPUT -p tcp -j ACCEPT
-A U -s 192.0.2.0/24 -j ACCEPT
-A U -j DROP
COMMIT
`
	rs := mustParse(t, text)
	p, err := Propose(context.Background(), rs, ProposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.RenderIptablesSave([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Diff(context.Background(), rs, mustParse(t, string(out)), DiffOptions{})
	if err != nil || !d.Equivalent {
		t.Fatalf("not equivalent: %+v %v\n%s", d, err, out)
	}
	t.Logf("removed %v", p.Removed())
}

// BenchmarkPropose10k is the proposal with its equivalence proof on the
// 10k-rule perimeter set; it reports time and the heap in use after.
func BenchmarkPropose10k(b *testing.B) {
	rs := mustParse(b, genLarge(10_000))
	ctx := context.Background()
	var removed int
	start := time.Now()
	for b.Loop() {
		p, err := Propose(ctx, rs, ProposeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if !p.Proof.Equivalent {
			b.Fatal("not equivalent")
		}
		removed = len(p.Changes)
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/proposal")
	b.ReportMetric(float64(removed), "removed")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap")
}

// BenchmarkConflicts10k times the conflict analysis on the same set.
func BenchmarkConflicts10k(b *testing.B) {
	rs := mustParse(b, genLarge(10_000))
	ctx := context.Background()
	var n int
	for b.Loop() {
		cp, err := Compile(ctx, rs, 0)
		if err != nil {
			b.Fatal(err)
		}
		fs, err := cp.Conflicts(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n = len(fs)
	}
	b.ReportMetric(float64(n), "conflicts")
}

// BenchmarkReview10k is what "vigil policy analyze --propose" computes on
// the 10k-rule set: Analyze, the conflicts, hygiene and the proposal with
// its proof.
func BenchmarkReview10k(b *testing.B) {
	rs := mustParse(b, genLarge(10_000))
	ctx := context.Background()
	start := time.Now()
	for b.Loop() {
		if _, err := Analyze(ctx, rs, Options{}); err != nil {
			b.Fatal(err)
		}
		cp, err := Compile(ctx, rs, 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cp.Conflicts(ctx); err != nil {
			b.Fatal(err)
		}
		_ = Hygiene(rs)
		if _, err := Propose(ctx, rs, ProposeOptions{Compiled: cp}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/review")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap")
}
