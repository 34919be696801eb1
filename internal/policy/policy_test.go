package policy

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(t testing.TB, text string) *RuleSet {
	t.Helper()
	rs, err := ParseIptablesSave(strings.NewReader(text), IPv4)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return rs
}

func loadSample(t *testing.T) *RuleSet {
	t.Helper()
	b, err := os.ReadFile("testdata/host.rules")
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, string(b))
}

func TestParseSample(t *testing.T) {
	rs := loadSample(t)
	if got := rs.NumRules(); got != 11 {
		t.Errorf("rules = %d, want 11", got)
	}
	if c := rs.Chain("INPUT"); c == nil || c.Policy != Drop || c.PolicyLine != 7 {
		t.Fatalf("INPUT = %+v", c)
	}
	if diff := cmp.Diff([]Skipped{{Line: 2, Reason: "table nat does not filter packets; not analysed"}}, rs.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	r := rs.Chain("INPUT").Rules[6]
	if r.Comment != `legacy "db" access` || r.Line != 17 || r.Action != Accept {
		t.Errorf("rule 17 = %+v", r)
	}
	if j := rs.Chain("INPUT").Rules[2]; j.Action != Jump || j.Target != "SSH" {
		t.Errorf("jump = %+v", j)
	}
}

func TestParseErrors(t *testing.T) {
	head := "*filter\n:INPUT ACCEPT [0:0]\n:U - [0:0]\n"
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"unknown option", head + "-A INPUT --tcp-flags SYN SYN -j ACCEPT\nCOMMIT\n", 4, "unsupported option"},
		{"unknown module", head + "-A INPUT -m recent --rcheck -j DROP\nCOMMIT\n", 4, "unsupported match module"},
		{"unknown target", head + "-A INPUT -j MARK --set-mark 1\nCOMMIT\n", 4, "unsupported target"},
		{"undeclared chain", head + "-A NOPE -j ACCEPT\nCOMMIT\n", 4, "undeclared chain"},
		{"jump to unknown", head + "-A INPUT -j NOPE\nCOMMIT\n", 4, "unknown chain"},
		{"dport without proto", head + "-A INPUT --dport 22 -j ACCEPT\nCOMMIT\n", 4, "needs -p"},
		{"bad address", head + "-A INPUT -s 300.1.1.1 -j ACCEPT\nCOMMIT\n", 4, "bad address"},
		{"v6 in v4", head + "-A INPUT -s 2001:db8::/32 -j ACCEPT\nCOMMIT\n", 4, "not IPv4"},
		{"reversed ports", head + "-A INPUT -p tcp --dport 90:80 -j ACCEPT\nCOMMIT\n", 4, "reversed"},
		{"garbage", head + "hello\nCOMMIT\n", 4, "unsupported line"},
		{"loop", head + ":V - [0:0]\n-A INPUT -j U\n-A U -j V\n-A V -j U\nCOMMIT\n", 7, "loop"},
		{"no commit", head, 3, "no COMMIT"},
		{"no filter", "*nat\nCOMMIT\n", 2, "no *filter"},
		{"unterminated quote", head + "-A INPUT -m comment --comment \"x -j ACCEPT\nCOMMIT\n", 4, "unterminated"},
		{"goto", head + "-A INPUT -g U\nCOMMIT\n", 4, "goto"},
		{"ctstate snat", head + "-A INPUT -m conntrack --ctstate SNAT -j ACCEPT\nCOMMIT\n", 4, "conntrack state"},
		{"bad policy", "*filter\n:INPUT RETURN [0:0]\nCOMMIT\n", 2, "bad policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIptablesSave(strings.NewReader(tt.in), IPv4)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want ParseError", err)
			}
			if pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("err = %v, want line %d containing %q", err, tt.line, tt.msg)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("*filter\n:INPUT ACCEPT [0:0]\n")
	for range MaxRules + 1 {
		sb.WriteString("-A INPUT -j ACCEPT\n")
	}
	sb.WriteString("COMMIT\n")
	if _, err := ParseIptablesSave(strings.NewReader(sb.String()), IPv4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestParseIPv6(t *testing.T) {
	rs, err := ParseIptablesSave(strings.NewReader("*filter\n:INPUT DROP [0:0]\n-A INPUT -s 2001:db8::/32 -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"), IPv6)
	if err != nil {
		t.Fatal(err)
	}
	d, err := rs.Decide("INPUT", Flow{Proto: 6, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), DstPort: 22})
	if err != nil || d.Action != Accept || d.Line != 3 {
		t.Fatalf("decide = %+v, %v", d, err)
	}
}

func TestAnalyzeSample(t *testing.T) {
	got, err := Analyze(context.Background(), loadSample(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	type brief struct {
		Kind        string
		Line        int
		Related     []int
		Conflicting bool
	}
	var b []brief
	for _, f := range got {
		b = append(b, brief{f.Kind, f.Line, f.Related, f.Conflicting})
	}
	want := []brief{
		{KindNotModeled, 2, nil, false},
		{KindShadowed, 15, []int{11, 12, 14}, true},
		{KindOverBroad, 17, nil, false},
		{KindRedundant, 18, []int{7}, false},
	}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestFindingKinds(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		want  map[int]string // line -> kind
	}{
		{"duplicate: first redundant, second shadowed",
			"-A INPUT -p tcp --dport 80 -j ACCEPT\n-A INPUT -p tcp --dport 80 -j ACCEPT\n",
			map[int]string{4: KindRedundant, 5: KindShadowed}},
		{"union of two earlier rules shadows",
			"-A INPUT -s 192.0.2.0/25 -j DROP\n-A INPUT -s 192.0.2.128/25 -j DROP\n-A INPUT -s 192.0.2.0/24 -j ACCEPT\n",
			map[int]string{6: KindShadowed}},
		{"partial overlap is not shadowed",
			"-A INPUT -s 192.0.2.0/25 -j DROP\n-A INPUT -s 192.0.2.0/24 -j ACCEPT\n",
			map[int]string{}},
		{"negation",
			"-A INPUT ! -s 192.0.2.0/24 -j DROP\n-A INPUT -s 198.51.100.1 -j ACCEPT\n",
			map[int]string{5: KindShadowed}},
		{"drop same as policy is redundant",
			"-A INPUT -p udp --dport 53 -j ACCEPT\n-A INPUT -s 198.51.100.0/24 -j DROP\n",
			map[int]string{5: KindRedundant}},
		{"drop before accept is not redundant",
			"-A INPUT -s 198.51.100.0/24 -j DROP\n-A INPUT -p udp --dport 53 -j ACCEPT\n",
			map[int]string{}},
		{"any any accept",
			"-A INPUT -j ACCEPT\n",
			map[int]string{4: KindOverBroad}},
		{"established only is fine",
			"-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT\n",
			map[int]string{}},
		{"rdp in a range",
			"-A INPUT -p tcp --dport 3000:4000 -j ACCEPT\n",
			map[int]string{4: KindOverBroad}},
		{"unreferenced user chain",
			"-A U -j ACCEPT\n",
			map[int]string{4: KindShadowed}},
		{"rule after return in user chain",
			"-A INPUT -p tcp -j U\n-A U -j RETURN\n-A U -s 192.0.2.1 -j ACCEPT\n",
			map[int]string{6: KindShadowed}},
		{"returned packets reach later drop",
			"-A INPUT -p tcp -j U\n-A INPUT -p tcp -j DROP\n-A U -s 192.0.2.1 -j RETURN\n-A U -p tcp -j DROP\n",
			map[int]string{5: KindRedundant, 7: KindRedundant}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := mustParse(t, "*filter\n:INPUT DROP [0:0]\n:U - [0:0]\n"+tt.rules+"COMMIT\n")
			fs, err := Analyze(context.Background(), rs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[int]string{}
			for _, f := range fs {
				got[f.Line] = f.Kind
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%+v", diff, fs)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	rs := loadSample(t)
	ip := netip.MustParseAddr
	tests := []struct {
		name string
		f    Flow
		want Decision
	}{
		{"loopback", Flow{Proto: 6, Src: ip("127.0.0.1"), Dst: ip("127.0.0.1"), DstPort: 5, In: "lo"},
			Decision{Action: Accept, Chain: "INPUT", Line: 11}},
		{"ssh returned", Flow{Proto: 6, Src: ip("198.51.100.7"), Dst: ip("192.0.2.1"), DstPort: 22, In: "eth0"},
			Decision{Action: Drop, Chain: "INPUT", Line: 7, Policy: true}},
		{"ssh accepted in user chain", Flow{Proto: 6, Src: ip("203.0.113.99"), Dst: ip("192.0.2.1"), DstPort: 22, In: "eth0"},
			Decision{Action: Accept, Chain: "SSH", Line: 21}},
		{"https", Flow{Proto: 6, Src: ip("192.0.2.10"), Dst: ip("192.0.2.1"), DstPort: 443, In: "eth0"},
			Decision{Action: Accept, Chain: "INPUT", Line: 14}},
		{"logged then policy", Flow{Proto: 17, Src: ip("203.0.113.2"), Dst: ip("192.0.2.1"), DstPort: 53, In: "eth0"},
			Decision{Action: Drop, Chain: "INPUT", Line: 7, Policy: true, Logged: []int{19}}},
		{"established", Flow{Proto: 17, Src: ip("203.0.113.200"), Dst: ip("192.0.2.1"), DstPort: 9, In: "eth0", State: StateEstablished},
			Decision{Action: Accept, Chain: "INPUT", Line: 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rs.Decide("INPUT", tt.f)
			if err != nil {
				t.Fatal(err)
			}
			got.Rule = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := rs.Decide("SSH", Flow{}); err == nil {
		t.Error("Decide on a user chain: want error")
	}
}
