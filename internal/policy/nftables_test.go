package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The samples in testdata/nft: sample.nft is a hand-written ruleset in nft's
// input syntax; sample.txt and sample.json are what nft 1.0.6 printed for it
// with "nft list ruleset" and "nft -j list ruleset" in a fresh namespace.

func parseNftFile(t testing.TB, path string, fam Family) *RuleSet {
	t.Helper()
	data, err := os.ReadFile(path) // #nosec G304 -- test samples
	if err != nil {
		t.Fatal(err)
	}
	var rs *RuleSet
	if strings.HasSuffix(path, ".json") {
		rs, err = ParseNftJSON(bytes.NewReader(data), fam)
	} else {
		rs, err = ParseNftText(bytes.NewReader(data), fam)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rs
}

// ruleKey names a rule by its chain and position, the same in every format
// of one ruleset, where lines differ.
func ruleKey(rs *RuleSet, chain string, line int) string {
	c := rs.Chain(chain)
	if c == nil {
		return fmt.Sprintf("%s:?%d", chain, line)
	}
	if line == c.PolicyLine && c.Builtin() {
		return chain + ":policy"
	}
	for i, r := range c.Rules {
		if r.Line == line {
			return fmt.Sprintf("%s:%d", chain, i)
		}
	}
	return fmt.Sprintf("%s:?%d", chain, line)
}

func nftFlows(fam Family) []Flow {
	srcs := []string{"192.0.2.1", "192.0.2.200", "198.51.100.15", "203.0.113.7", "10.1.1.1", "203.0.113.99"}
	dsts := []string{"192.0.2.5", "192.0.2.50"}
	if fam == IPv6 {
		srcs = []string{"2001:db8::1", "2001:db9::1"}
		dsts = []string{"2001:db8::5"}
	}
	var out []Flow
	for _, s := range srcs {
		for _, d := range dsts {
			for _, proto := range []uint8{6, 17, 1} {
				for _, port := range []uint16{22, 25, 53, 200, 1500, 9999} {
					for _, st := range []ConnState{StateNew, StateEstablished, StateInvalid} {
						for _, in := range []string{"eth0", "lo", "wlan0"} {
							for _, o := range []string{"", "lo"} {
								out = append(out, Flow{Proto: proto, Src: netip.MustParseAddr(s), Dst: netip.MustParseAddr(d),
									SrcPort: 53, DstPort: port, In: in, Out: o, State: st})
							}
						}
					}
				}
			}
		}
	}
	return out
}

// summary is what must agree between two parses of one ruleset: every
// chain's decision for the flows and the analysis findings, with rules
// named by position.
func summary(t *testing.T, rs *RuleSet, flows []Flow) []string {
	t.Helper()
	var out []string
	for _, c := range rs.Chains {
		if !c.Builtin() {
			continue
		}
		for _, f := range flows {
			d, err := rs.Decide(c.Name, f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %v -> %s by %s", c.Name, f, d.Action, ruleKey(rs, d.Chain, d.Line)))
		}
	}
	fs, err := Analyze(context.Background(), rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, f := range fs {
		if f.Kind == KindNotModeled {
			found = append(found, "not-analysed")
			continue
		}
		found = append(found, fmt.Sprintf("%s %s", f.Kind, ruleKey(rs, f.Chain, f.Line)))
	}
	slices.Sort(found)
	return append(out, found...)
}

func TestNftSampleFormsAgree(t *testing.T) {
	for _, fam := range []Family{IPv4, IPv6} {
		t.Run(fmt.Sprintf("IPv%d", fam), func(t *testing.T) {
			flows := nftFlows(fam)
			want := summary(t, parseNftFile(t, "testdata/nft/sample.nft", fam), flows)
			for _, f := range []string{"testdata/nft/sample.txt", "testdata/nft/sample.json"} {
				got := summary(t, parseNftFile(t, f, fam), flows)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s disagrees with sample.nft (-nft +%s):\n%s", f, f, diff)
				}
			}
			t.Logf("%d decisions and findings agree across the three forms", len(want))
		})
	}
}

func TestNftSampleModel(t *testing.T) {
	rs := parseNftFile(t, "testdata/nft/sample.json", IPv4)
	if rs.Format != "nft-json" || parseNftFile(t, "testdata/nft/sample.txt", IPv4).Format != "nft" {
		t.Errorf("formats = %q", rs.Format)
	}
	in := rs.Chain("INPUT")
	if in == nil || in.Policy != Drop || rs.Chain("FORWARD").Policy != Accept || rs.Chain("sub") == nil || rs.Chain("sub").Builtin() {
		t.Fatalf("chains = %+v", rs.Chains)
	}
	flow := func(src, dst string, proto uint8, dport uint16, in, out string, st ConnState) Flow {
		return Flow{Proto: proto, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: 40000, DstPort: dport, In: in, Out: out, State: st}
	}
	tests := []struct {
		f      Flow
		action Action
		rule   string
	}{
		{flow("192.0.2.9", "192.0.2.50", 6, 443, "eth1", "", StateNew), Accept, "INPUT:2"},           // @allowed, @ports, eth*
		{flow("198.51.100.21", "192.0.2.50", 6, 50, "eth1", "", StateNew), Drop, "INPUT:policy"},     // outside the interval set
		{flow("198.51.100.21", "192.0.2.50", 6, 443, "eth1", "", StateNew), Drop, "INPUT:12"},        // tcp dport != 1-100
		{flow("10.0.0.1", "192.0.2.50", 6, 1500, "wlan0", "", StateNew), Drop, "INPUT:3"},            // log + drop
		{flow("10.0.0.1", "192.0.2.50", 6, 25, "wlan0", "", StateNew), Reject, "INPUT:5"},            // reject with tcp reset
		{flow("10.0.0.1", "192.0.2.50", 17, 25, "wlan0", "", StateNew), Reject, "INPUT:4"},           // udp sport != 53
		{flow("192.0.2.7", "192.0.2.50", 6, 9999, "wlan0", "", StateNew), Drop, "sub:1"},             // jump, tcp part
		{flow("192.0.2.7", "192.0.2.50", 6, 50, "wlan0", "lo", StateUntracked), Accept, "INPUT:11"},  // oif lo
		{flow("192.0.2.7", "192.0.2.5", 6, 50, "wlan0", "lo", StateUntracked), Drop, "INPUT:policy"}, // goto: sub falls through, INPUT is left
	}
	for _, tc := range tests {
		d, err := rs.Decide("INPUT", tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if got := ruleKey(rs, d.Chain, d.Line); d.Action != tc.action || got != tc.rule {
			t.Errorf("%+v: %s by %s, want %s by %s", tc.f, d.Action, got, tc.action, tc.rule)
		}
	}
	// goto is a jump and a return under one match, as two parts of a rule.
	var parts []Action
	for _, r := range in.Rules {
		if strings.Contains(r.Text, "goto sub") {
			parts = append(parts, r.Action)
		}
	}
	if diff := cmp.Diff([]Action{Jump, Return}, parts); diff != "" {
		t.Errorf("goto parts (-want +got):\n%s", diff)
	}
}

func TestNftErrors(t *testing.T) {
	head := "table inet f {\n\tset s { type ipv4_addr . inet_service; elements = { 1.2.3.4 . 80 } }\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n"
	tests := []struct {
		rule, msg string
	}{
		{"meta mark 0x1 accept", "meta mark: unsupported match"},
		{"fib daddr type local accept", `unsupported expression "fib"`},
		{"limit rate 10/second accept", `unsupported expression "limit"`},
		{"tcp dport vmap { 22 : accept }", "vmap"},
		{"ip saddr . tcp dport { 1.2.3.4 . 22 } accept", `"."`},
		{"ip saddr @s accept", "concatenation"},
		{"th dport 53 accept", "th port match"},
		{"tcp dport > 1024 accept", "operator"},
		{"log ip saddr 1.2.3.4 drop", "log before a match"},
		{"jump nowhere", "unknown chain"},
		{"accept counter", "after the verdict"},
		{"ip6 nexthdr tcp accept", "unsupported match"},
		{"tcp dport http accept", "service names"},
		{"iifname \"e*th\" accept", "not modelled"},
		{"meta l4proto != { tcp, udp } accept", "protocol condition"},
		{"iif 3 accept", "interface index"},
		{"ip saddr 10.0.0.0/33 accept", "bad prefix"},
		{"tcp dport 80-22 accept", "reversed"},
	}
	for _, tc := range tests {
		in := head + "\t\t" + tc.rule + "\n\t}\n}\n"
		_, err := ParseNftText(strings.NewReader(in), IPv4)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 5 || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: err = %v, want line 5 and %q", tc.rule, err, tc.msg)
		}
	}
	jsonTests := []struct{ in, msg string }{
		{`{"nftables":[{"table":{"family":"ip","name":"f"}},{"chain":{"family":"ip","table":"f","name":"in","handle":1,"type":"filter","hook":"input","prio":0,"policy":"drop"}},` +
			`{"rule":{"family":"ip","table":"f","chain":"in","handle":7,"expr":[{"match":{"op":"==","left":{"meta":{"key":"mark"}},"right":1}},{"accept":null}]}}]}`, "chain ip f in rule handle 7: meta mark: unsupported match"},
		{`{"nftables":[{"table":{"family":"ip","name":"f"}},{"chain":{"family":"ip","table":"f","name":"in","handle":1,"type":"filter","hook":"input","prio":0}},` +
			`{"rule":{"family":"ip","table":"f","chain":"in","handle":9,"expr":[{"limit":{"rate":1,"per":"second"}},{"accept":null}]}}]}`, `handle 9: unsupported statement "limit"`},
		{`{"nftables":[{"table":{"family":"inet","name":"a"}},{"table":{"family":"ip","name":"b"}},` +
			`{"chain":{"family":"inet","table":"a","name":"i","handle":1,"type":"filter","hook":"input","prio":0,"policy":"drop"}},` +
			`{"chain":{"family":"ip","table":"b","name":"i","handle":1,"type":"filter","hook":"input","prio":0,"policy":"drop"}}]}`, "several filter base chains on hook input"},
		{`{"nftables":[{"rule":{"family":"ip","table":"f","chain":"in","expr":[]}}]}`, "undeclared chain"},
		{`{"nftables":`, "nft-json"},
		{`[]`, "nft-json"},
	}
	for _, tc := range jsonTests {
		_, err := ParseNftJSON(strings.NewReader(tc.in), IPv4)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("json %.60q: err = %v, want %q", tc.in, err, tc.msg)
		}
	}
}

func TestNftFamilies(t *testing.T) {
	in := `table ip v4 {
	chain input {
		type filter hook input priority filter; policy drop;
		tcp dport 22 accept
	}
}
table ip6 v6 {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 53 drop
	}
}
table inet both {
	chain output {
		type filter hook output priority filter; policy accept;
		ip6 daddr ::1 drop
		meta nfproto ipv4 tcp dport 25 reject
		ip daddr 127.0.0.1 accept
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
	}
}
table ip nat {
	chain forward {
		type filter hook forward priority filter; policy accept;
	}
}
`
	for _, fam := range []Family{IPv4, IPv6} {
		rs, err := ParseNftText(strings.NewReader(in), fam)
		if err != nil {
			t.Fatalf("IPv%d: %v", fam, err)
		}
		input, output := rs.Chain("INPUT"), rs.Chain("OUTPUT")
		var outActions []Action
		for _, r := range output.Rules {
			outActions = append(outActions, r.Action)
		}
		if fam == IPv4 {
			if input.Policy != Drop || input.PolicyLine != 3 || len(output.Rules) != 2 || cmp.Diff([]Action{Reject, Accept}, outActions) != "" {
				t.Errorf("IPv4: input %+v output %v", input, outActions)
			}
		} else {
			if input.Policy != Accept || len(output.Rules) != 1 || output.Rules[0].Action != Drop {
				t.Errorf("IPv6: input %+v output %v", input, outActions)
			}
		}
		if rs.Chain("FORWARD") == nil || len(rs.Skipped) < 3 {
			t.Errorf("IPv%d: forward %v skipped %v", fam, rs.Chain("FORWARD"), rs.Skipped)
		}
	}
}

// FuzzParseNftText checks that the text parser never panics, that every
// error names a line (or is a size error), and that what parses analyses.
func FuzzParseNftText(f *testing.F) {
	for _, p := range []string{"testdata/nft/sample.nft", "testdata/nft/sample.txt"} {
		if b, err := os.ReadFile(p); err == nil { // #nosec G304 -- fuzz seeds from testdata
			f.Add(b)
		}
	}
	f.Add([]byte("table ip f {\n\tchain c {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tct state established,related accept # handle 3\n\t}\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		rs, err := ParseNftText(bytes.NewReader(data), IPv4)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrLoop) {
				t.Fatalf("error without a line: %v", err)
			}
			if pe != nil && pe.Line < 1 {
				t.Fatalf("line %d < 1: %v", pe.Line, err)
			}
			return
		}
		if _, err := Analyze(context.Background(), rs, Options{MaxEntries: 10_000}); err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("analyze: %v", err)
		}
	})
}

// FuzzParseNftJSON checks that the JSON parser never panics and that what
// parses analyses.
func FuzzParseNftJSON(f *testing.F) {
	if b, err := os.ReadFile("testdata/nft/sample.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"nftables":[{"table":{"family":"inet","name":"f"}},{"set":{"family":"inet","table":"f","name":"s","type":"ipv4_addr","elem":[{"prefix":{"addr":"10.0.0.0","len":8}}]}},` +
		`{"chain":{"family":"inet","table":"f","name":"i","type":"filter","hook":"input","prio":0,"policy":"drop"}},` +
		`{"rule":{"family":"inet","table":"f","chain":"i","handle":2,"expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@s"}},{"accept":null}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		rs, err := ParseNftJSON(bytes.NewReader(data), IPv4)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if _, err := Analyze(context.Background(), rs, Options{MaxEntries: 10_000}); err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("analyze: %v", err)
		}
	})
}

// TestNftListedByKernel loads the hand-written sample into a fresh network
// namespace with the real nft and checks that what nft lists back, as text
// and as JSON, gives the same decisions and findings as the sample itself.
func TestNftListedByKernel(t *testing.T) {
	requireNetnsTools(t, "ip", "nft")
	ns := newNetns(t, "nft")
	src, err := os.ReadFile("testdata/nft/sample.nft")
	if err != nil {
		t.Fatal(err)
	}
	runCmd(t, string(src), inNS(ns, "nft", "-f", "-")...)
	text := runCmd(t, "", inNS(ns, "nft", "list", "ruleset")...)
	handles := runCmd(t, "", inNS(ns, "nft", "-a", "list", "ruleset")...)
	js := runCmd(t, "", inNS(ns, "nft", "-j", "list", "ruleset")...)
	for _, fam := range []Family{IPv4, IPv6} {
		flows := nftFlows(fam)
		want := summary(t, parseNftFile(t, "testdata/nft/sample.nft", fam), flows)
		for name, parse := range map[string]func() (*RuleSet, error){
			"nft list":    func() (*RuleSet, error) { return ParseNftText(strings.NewReader(text), fam) },
			"nft -a list": func() (*RuleSet, error) { return ParseNftText(strings.NewReader(handles), fam) },
			"nft -j list": func() (*RuleSet, error) { return ParseNftJSON(strings.NewReader(js), fam) },
		} {
			rs, err := parse()
			if err != nil {
				t.Fatalf("IPv%d %s: %v", fam, name, err)
			}
			if diff := cmp.Diff(want, summary(t, rs, flows)); diff != "" {
				t.Errorf("IPv%d %s disagrees with sample.nft (-want +got):\n%s", fam, name, diff)
			}
		}
	}
	rs, err := ParseNftText(strings.NewReader(handles), IPv4)
	if err != nil {
		t.Fatal(err)
	}
	if id := rs.Chain("INPUT").Rules[0].ID; !strings.HasPrefix(id, "handle ") {
		t.Errorf("rule ID from nft -a = %q", id)
	}
}
