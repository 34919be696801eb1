package policy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// naiveReq reports whether the statement describes the flow (anySrc: with
// any source, for the second half of "only"), from its fields directly.
func naiveReq(q Requirement, f Flow, anySrc bool) bool {
	addr := func(m AddrMatch, a netip.Addr) bool {
		if len(m.Prefixes) == 0 && len(m.Ranges) == 0 {
			return true
		}
		for _, p := range m.Prefixes {
			if p.Contains(a) {
				return true
			}
		}
		for _, r := range m.Ranges {
			if r.From.Compare(a) <= 0 && a.Compare(r.To) <= 0 {
				return true
			}
		}
		return false
	}
	port := func(m *PortMatch, p uint16) bool {
		if m == nil || len(m.Ranges) == 0 {
			return true
		}
		for _, r := range m.Ranges {
			if r.From <= p && p <= r.To {
				return true
			}
		}
		return false
	}
	if q.Protos != nil && !slices.Contains(q.Protos, f.Proto) {
		return false
	}
	if !anySrc && !addr(q.Src, f.Src) {
		return false
	}
	if !anySrc && q.Except != nil && addr(*q.Except, f.Src) {
		return false
	}
	if q.In != nil && f.In != q.In.Name {
		return false
	}
	return addr(q.Dst, f.Dst) && port(q.Dport, f.DstPort) && port(q.Sport, f.SrcPort) && slices.Contains(q.States, f.State)
}

func genStatement(rng *rand.Rand) string {
	pick := func(v ...string) string { return v[rng.IntN(len(v))] }
	s := fmt.Sprintf("%s %s from %s to %s", pick("allow", "deny", "only"), pick("tcp", "udp", "any"),
		pick("any", "192.0.2.0/24", "192.0.2.0/25", "192.0.2.10", "198.51.100.0/24", "192.0.2.1-192.0.2.127"),
		pick("any", "198.51.100.1", "198.51.100.0/24"))
	s += pick("", " port 22", " port 80", " port 20-25", " port 22,80")
	s += pick("", "", " state NEW,ESTABLISHED")
	s += pick("", "", " in eth0")
	s += pick("", "", " except from 192.0.2.10")
	return s + " chain INPUT"
}

func TestRequireAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	flows := sampleFlows()
	ctx := context.Background()
	counts := map[string]int{}
	for iter := range 300 {
		text := genRuleSet(rng)
		rs := mustParse(t, text)
		cp, err := Compile(ctx, rs, 0)
		if err != nil {
			t.Fatal(err)
		}
		dec := decideAll(t, rs, flows)
		for range 5 {
			st := genStatement(rng)
			reqs, err := ParseRequirements(strings.NewReader(st))
			if err != nil {
				t.Fatalf("%q: %v", st, err)
			}
			q := reqs[0]
			rep, err := cp.Check(ctx, reqs)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]bool{}
			for _, f := range rep.Findings {
				kinds[f.Kind] = true
				counts[f.Kind]++
				fl := f.Evidence.Example.flow
				d := f.Evidence.Example.Decision
				in := naiveReq(q, fl, false)
				switch {
				case f.Kind == KindMissing && (!in || d.Action == Accept):
					t.Fatalf("set %d %q: missing example %+v in=%v decided %s", iter, st, fl, in, d.Action)
				case f.Kind == KindViolation && q.Verb == "deny" && (!in || d.Action != Accept):
					t.Fatalf("set %d %q: violation example %+v in=%v decided %s", iter, st, fl, in, d.Action)
				case f.Kind == KindViolation && q.Verb == "only" && (!naiveReq(q, fl, true) || naiveReq(q, fl, false) && q.Except == nil || d.Action != Accept):
					t.Fatalf("set %d %q: only-violation example %+v decided %s", iter, st, fl, d.Action)
				}
			}
			if len(rep.Findings) == 0 {
				counts["satisfied"]++
			}
			for i, f := range flows {
				acc := dec[i].Action == Accept
				in := naiveReq(q, f, false)
				if q.Verb != "deny" && in && !acc && !kinds[KindMissing] {
					t.Fatalf("set %d %q: flow %+v is not accepted but no missing finding\n%s", iter, st, f, text)
				}
				if q.Verb == "deny" && in && acc && !kinds[KindViolation] {
					t.Fatalf("set %d %q: flow %+v is accepted but no violation\n%s", iter, st, f, text)
				}
				q2 := q
				q2.Except = nil
				if q.Verb == "only" && acc && naiveReq(q, f, true) && !naiveReq(q2, f, false) && !kinds[KindViolation] {
					t.Fatalf("set %d %q: flow %+v from elsewhere accepted but no violation\n%s", iter, st, f, text)
				}
			}
		}
	}
	if counts[KindMissing] < 20 || counts[KindViolation] < 20 || counts["satisfied"] < 20 {
		t.Errorf("too few outcomes exercised: %v", counts)
	}
	t.Logf("outcomes: %v", counts)
}

func TestParseRequirementsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"allow tcp from any to any port 22\npermit tcp from any to any", "line 2: unknown verb"},
		{"allow tcp from 10.0.0.0/33 to any", "line 1: bad prefix"},
		{"allow icmp from any to any port 22", "line 1: protocol icmp has no ports"},
		{"allow tcp from any to any port 22 port 23", "line 1: clause \"port\" given twice"},
		{"allow tcp from any to any frob 1", "line 1: unknown clause"},
		{"\n\nchain", "line 3: want: chain NAME"},
		{"deny any from any to 10.2.0.0/24 port 5432 except 10.1.0.0/24", "line 1: want: except from ADDRS"},
		{"allow tcp from any to any port 30-20", "line 1: bad port"},
		{"allow tcp from any", "line 1: want:"},
	} {
		_, err := ParseRequirements(strings.NewReader(tc.in))
		var pe *ParseError
		if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestRequireDBExample(t *testing.T) {
	rules := `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -s 10.1.0.0/24 -d 10.2.0.0/24 -p tcp --dport 5432 -j ACCEPT
-A FORWARD -s 10.9.0.7 -d 10.2.0.5 -p tcp --dport 5432 -j ACCEPT
COMMIT
`
	req := `# DB subnet reachable only from the app subnet on 5432
chain FORWARD
allow tcp from 10.1.0.0/24 to 10.2.0.5 port 5432
deny any from any to 10.2.0.0/24 port 5432 except from 10.1.0.0/24
only tcp from 10.1.0.0/24 to 10.2.0.0/24 port 5432
`
	rs := mustParse(t, rules)
	reqs, err := ParseRequirements(strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := Compile(context.Background(), rs, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := cp.Check(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Statements != 3 || rep.Satisfied != 1 || len(rep.Findings) != 2 {
		t.Fatalf("report = %+v", rep)
	}
	for _, f := range rep.Findings {
		ex := f.Evidence.Example
		if f.Kind != KindViolation || f.Line != 6 || ex.Src != "10.9.0.7" || ex.Dst != "10.2.0.5" || ex.DstPort != 5432 {
			t.Errorf("finding = %+v example %+v", f.Finding, ex)
		}
	}
}

func FuzzParseRequirements(f *testing.F) {
	f.Add("chain FORWARD\nallow tcp from 10.1.0.0/24 to 10.2.0.5 port 5432\n")
	f.Add("deny any from any to 10.2.0.0/24 port 5432 except from 10.1.0.0/24 # db\n")
	f.Add("only tcp from 2001:db8::/64,192.0.2.1-192.0.2.9 to any port 1:2,3 sport 9 in eth+ out x state NEW,RELATED chain C\n")
	f.Fuzz(func(t *testing.T, in string) {
		reqs, err := ParseRequirements(strings.NewReader(in))
		if err != nil {
			return
		}
		rs := mustParse(t, "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")
		cp, err := Compile(context.Background(), rs, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cp.Check(context.Background(), reqs); err != nil && !strings.Contains(err.Error(), "requirement line") {
			t.Fatalf("check: %v", err)
		}
	})
}
