package policy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// genRuleSet writes a random small filter table: INPUT with a random policy
// and a user chain U, over a few /24s of the documentation ranges.
func genRuleSet(rng *rand.Rand) string {
	srcs := []string{"", "-s 192.0.2.0/24 ", "-s 192.0.2.0/25 ", "-s 192.0.2.128/25 ", "-s 192.0.2.10 ",
		"-s 198.51.100.0/24 ", "! -s 192.0.2.0/24 ", "-s 192.0.2.0/25,198.51.100.0/24 ",
		"-m iprange --src-range 192.0.2.5-192.0.2.130 "}
	dsts := []string{"", "", "-d 198.51.100.1 ", "! -d 198.51.100.0/24 "}
	protos := []string{"", "-p tcp ", "-p udp ", "-p tcp ", "! -p udp "}
	ports := []string{"", "--dport 22 ", "--dport 80 ", "--dport 20:25 ", "-m multiport --dports 22,80 ", "! --dport 22 "}
	ifaces := []string{"", "", "-i eth0 ", "-i eth+ ", "! -i eth0 "}
	states := []string{"", "", "-m conntrack --ctstate NEW ", "-m state --state ESTABLISHED,RELATED "}
	var sb strings.Builder
	pol := []string{"ACCEPT", "DROP"}[rng.IntN(2)]
	fmt.Fprintf(&sb, "*filter\n:INPUT %s [0:0]\n:U - [0:0]\n", pol)
	rule := func(chain string) {
		fmt.Fprintf(&sb, "-A %s ", chain)
		sb.WriteString(srcs[rng.IntN(len(srcs))])
		sb.WriteString(dsts[rng.IntN(len(dsts))])
		p := protos[rng.IntN(len(protos))]
		sb.WriteString(p)
		if p == "-p tcp " || p == "-p udp " {
			sb.WriteString(ports[rng.IntN(len(ports))])
		}
		sb.WriteString(ifaces[rng.IntN(len(ifaces))])
		sb.WriteString(states[rng.IntN(len(states))])
		targets := []string{"ACCEPT", "DROP", "REJECT", "ACCEPT", "DROP", "LOG"}
		if chain == "INPUT" {
			targets = append(targets, "U")
		} else {
			targets = append(targets, "RETURN")
		}
		fmt.Fprintf(&sb, "-j %s\n", targets[rng.IntN(len(targets))])
	}
	for range 2 + rng.IntN(7) {
		rule("INPUT")
	}
	for range rng.IntN(4) {
		rule("U")
	}
	sb.WriteString("COMMIT\n")
	return sb.String()
}

func sampleFlows() []Flow {
	var out []Flow
	srcs := []string{"192.0.2.1", "192.0.2.5", "192.0.2.10", "192.0.2.127", "192.0.2.128", "192.0.2.131", "198.51.100.5", "203.0.113.1"}
	dsts := []string{"198.51.100.1", "198.51.100.2", "203.0.113.9"}
	for _, s := range srcs {
		for _, d := range dsts {
			for _, proto := range []uint8{6, 17, 1} {
				for _, port := range []uint16{19, 22, 25, 80} {
					for _, st := range []ConnState{StateNew, StateEstablished} {
						for _, in := range []string{"eth0", "eth1", "wlan0"} {
							out = append(out, Flow{Proto: proto, Src: netip.MustParseAddr(s), Dst: netip.MustParseAddr(d),
								SrcPort: 40000, DstPort: port, In: in, State: st})
						}
					}
				}
			}
		}
	}
	return out
}

// naiveMatch matches a flow against a rule's fields directly, without the
// interval machinery.
func naiveMatch(r *Rule, f Flow) bool {
	if !r.Proto.Any && (f.Proto == r.Proto.Num) == r.Proto.Negate {
		return false
	}
	addr := func(ms []AddrMatch, a netip.Addr) bool {
		for _, m := range ms {
			in := false
			for _, p := range m.Prefixes {
				in = in || p.Contains(a)
			}
			for _, rg := range m.Ranges {
				in = in || (rg.From.Compare(a) <= 0 && a.Compare(rg.To) <= 0)
			}
			if in == m.Negate {
				return false
			}
		}
		return true
	}
	port := func(ms []PortMatch, p uint16) bool {
		for _, m := range ms {
			in := false
			for _, rg := range m.Ranges {
				in = in || (rg.From <= p && p <= rg.To)
			}
			if in == m.Negate {
				return false
			}
		}
		return true
	}
	iface := func(m *IfaceMatch, name string) bool {
		if m == nil {
			return true
		}
		var in bool
		if p, ok := strings.CutSuffix(m.Name, "+"); ok {
			in = strings.HasPrefix(name, p)
		} else {
			in = name == m.Name
		}
		return in != m.Negate
	}
	for _, m := range r.State {
		in := false
		for _, s := range m.States {
			in = in || s == f.State
		}
		if in == m.Negate {
			return false
		}
	}
	return addr(r.Src, f.Src) && addr(r.Dst, f.Dst) && port(r.SrcPort, f.SrcPort) && port(r.DstPort, f.DstPort) &&
		iface(r.In, f.In) && iface(r.Out, f.Out)
}

// naiveDecide is a plain first-match loop with jumps and returns.
func naiveDecide(rs *RuleSet, c *Chain, f Flow) (Action, int, bool) {
	for _, r := range c.Rules {
		if !naiveMatch(r, f) {
			continue
		}
		switch r.Action {
		case Accept, Drop, Reject:
			return r.Action, r.Line, true
		case Return:
			return "", 0, false
		case Jump:
			if a, l, ok := naiveDecide(rs, rs.Chain(r.Target), f); ok {
				return a, l, true
			}
		}
	}
	return "", 0, false
}

func decideAll(t *testing.T, rs *RuleSet, flows []Flow) []Decision {
	t.Helper()
	out := make([]Decision, len(flows))
	for i, f := range flows {
		d, err := rs.Decide("INPUT", f)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = d
	}
	return out
}

func removeLine(text string, line int) string {
	lines := strings.Split(text, "\n")
	lines[line-1] = "# removed"
	return strings.Join(lines, "\n")
}

func TestAnalyzeAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	flows := sampleFlows()
	checked := map[string]int{}
	for iter := range 400 {
		text := genRuleSet(rng)
		rs := mustParse(t, text)
		base := decideAll(t, rs, flows)
		input := rs.Chain("INPUT")
		for i, f := range flows {
			a, l, ok := naiveDecide(rs, input, f)
			if !ok {
				a, l = input.Policy, input.PolicyLine
			}
			if a != base[i].Action || l != base[i].Line {
				t.Fatalf("set %d flow %+v: Decide = %s@%d, naive = %s@%d\n%s", iter, f, base[i].Action, base[i].Line, a, l, text)
			}
		}
		findings, err := Analyze(context.Background(), rs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range findings {
			if fd.Kind != KindShadowed && fd.Kind != KindRedundant {
				continue
			}
			checked[fd.Kind]++
			if fd.Kind == KindShadowed {
				for i, d := range base {
					if d.Line == fd.Line || containsInt(d.Logged, fd.Line) {
						t.Fatalf("set %d: line %d flagged shadowed but matches flow %+v\n%s", iter, fd.Line, flows[i], text)
					}
				}
			}
			after := decideAll(t, mustParse(t, removeLine(text, fd.Line)), flows)
			for i := range base {
				if base[i].Action != after[i].Action {
					t.Fatalf("set %d: removing %s line %d changes flow %+v from %s to %s\n%s",
						iter, fd.Kind, fd.Line, flows[i], base[i].Action, after[i].Action, text)
				}
			}
		}
	}
	if checked[KindShadowed] < 20 || checked[KindRedundant] < 20 {
		t.Errorf("too few findings exercised: %v", checked)
	}
	t.Logf("findings checked: %v", checked)
}

func containsInt(v []int, x int) bool {
	for _, y := range v {
		if y == x {
			return true
		}
	}
	return false
}
