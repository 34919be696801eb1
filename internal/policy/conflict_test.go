package policy

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestConflictsAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	ctx := context.Background()
	n := 0
	for iter := range 300 {
		text := genRuleSet(rng)
		rs := mustParse(t, text)
		cp, err := Compile(ctx, rs, 0)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := cp.Conflicts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := Analyze(ctx, rs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		excluded := map[int]bool{}
		for _, f := range fs {
			if f.Kind == KindShadowed || f.Kind == KindRedundant {
				excluded[f.Line] = true
			}
		}
		byLine := map[int]*Rule{}
		for _, c := range rs.Chains {
			for _, r := range c.Rules {
				byLine[r.Line] = r
			}
		}
		pairs := map[[2]int]bool{}
		for _, c := range cs {
			n++
			later, earlier := byLine[c.Line], byLine[c.Related[0]]
			key := [2]int{c.Related[0], c.Line}
			if pairs[key] {
				t.Fatalf("set %d: pair %v reported twice", iter, key)
			}
			pairs[key] = true
			if excluded[c.Line] {
				t.Fatalf("set %d: line %d is shadowed or redundant but reported as a conflict", iter, c.Line)
			}
			if later.Action == earlier.Action || !later.Action.terminal() || !earlier.Action.terminal() {
				t.Fatalf("set %d: conflict %d/%d actions %s/%s", iter, c.Related[0], c.Line, earlier.Action, later.Action)
			}
			ex := c.Evidence.Example
			flow := ex.flow
			if !naiveMatch(later, flow) || !naiveMatch(earlier, flow) {
				t.Fatalf("set %d: example %+v does not match both lines %d and %d\n%s", iter, ex, c.Related[0], c.Line, text)
			}
			if ex.Decision == nil || ex.Decision.Line != earlier.Line {
				t.Fatalf("set %d: example decided by %+v, want line %d", iter, ex.Decision, earlier.Line)
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d conflicts exercised", n)
	}
	t.Logf("conflicts checked: %d", n)
}

func TestConflictReason(t *testing.T) {
	rs := mustParse(t, "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 192.0.2.10 -p tcp -j DROP\n-A INPUT -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")
	cp, err := Compile(context.Background(), rs, 0)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cp.Conflicts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Line != 4 || cs[0].Related[0] != 3 {
		t.Fatalf("conflicts = %+v", cs)
	}
	if got := cs[0].Evidence.Boxes[0].String(); got != "proto tcp from 192.0.2.10 dport 22" {
		t.Errorf("overlap = %q", got)
	}
	if !strings.Contains(cs[0].Reason, "get DROP from line 3") {
		t.Errorf("reason = %q", cs[0].Reason)
	}
}
