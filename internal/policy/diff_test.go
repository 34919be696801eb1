package policy

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

// inDiff reports whether the flow lies in one of the chain's difference
// boxes.
func inDiff(t *testing.T, res *DiffResult, chain string, fam Family, f Flow) bool {
	t.Helper()
	p, err := f.point(fam)
	if err != nil {
		t.Fatal(err)
	}
	for _, cd := range res.Chains {
		if cd.Chain != chain {
			continue
		}
		for _, c := range cd.Changes {
			if c.b.containsPoint(&p) {
				return true
			}
		}
	}
	return false
}

func TestDiffAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	flows := sampleFlows()
	ctx := context.Background()
	var equal, differ int
	for iter := range 300 {
		ta, tb := genRuleSet(rng), genRuleSet(rng)
		if iter%3 == 0 {
			// A small edit of the same set: drop one rule.
			lines := strings.Split(ta, "\n")
			i := 3 + rng.IntN(len(lines)-5)
			tb = removeLine(ta, i+1)
		}
		a, b := mustParse(t, ta), mustParse(t, tb)
		res, err := Diff(ctx, a, b, DiffOptions{Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		da, db := decideAll(t, a, flows), decideAll(t, b, flows)
		sampledDiff := false
		for i, f := range flows {
			changed := da[i].Action != db[i].Action
			sampledDiff = sampledDiff || changed
			if got := inDiff(t, res, "INPUT", IPv4, f); got != changed {
				t.Fatalf("set %d flow %+v: in diff = %v, decisions %s -> %s\n%s\n----\n%s", iter, f, got, da[i].Action, db[i].Action, ta, tb)
			}
		}
		if sampledDiff && res.Equivalent {
			t.Fatalf("set %d: equivalent, but sampled flows differ", iter)
		}
		// Every reported box really differs: replay its example.
		for _, cd := range res.Chains {
			for _, c := range cd.Changes {
				f := exampleFlow(IPv4, &c.b)
				x, err1 := a.Decide(cd.Chain, f)
				y, err2 := b.Decide(cd.Chain, f)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if x.Action == y.Action || string(x.Action) != c.Before || string(y.Action) != c.After {
					t.Fatalf("set %d: change %+v example %+v decided %s -> %s", iter, c, f, x.Action, y.Action)
				}
			}
		}
		if res.Equivalent {
			equal++
		} else {
			differ++
		}
	}
	if equal < 10 || differ < 10 {
		t.Errorf("too few cases of each outcome: equal %d, differ %d", equal, differ)
	}
	t.Logf("equivalent %d, different %d", equal, differ)
}

func TestDiffRendering(t *testing.T) {
	a := mustParse(t, "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")
	b := mustParse(t, "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 192.0.2.0/25 -p tcp --dport 22 -j ACCEPT\n-A INPUT -i eth+ -p udp --dport 53 -j ACCEPT\nCOMMIT\n")
	res, err := Diff(context.Background(), a, b, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Equivalent || len(res.Chains) != 1 {
		t.Fatalf("res = %+v", res)
	}
	var got []string
	for _, c := range res.Chains[0].Changes {
		got = append(got, c.Effect+": "+c.Flows.String())
	}
	want := []string{
		"blocked: proto tcp from 192.0.2.128/25 dport 22",
		"allowed: proto udp dport 53 in eth+",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	same, err := Diff(context.Background(), a, a, DiffOptions{})
	if err != nil || !same.Equivalent || len(same.Chains) != 0 {
		t.Errorf("self diff = %+v, %v", same, err)
	}
}

func TestDiffMoreFlag(t *testing.T) {
	a := mustParse(t, "*filter\n:INPUT DROP [0:0]\nCOMMIT\n")
	b := mustParse(t, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 1 -j DROP\n-A INPUT -p tcp --dport 3 -j DROP\n-A INPUT -p tcp --dport 5 -j DROP\nCOMMIT\n")
	res, err := Diff(context.Background(), a, b, DiffOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chains) != 1 || len(res.Chains[0].Changes) != 2 || !res.Chains[0].More {
		t.Fatalf("res = %+v", res)
	}
}
