package policy

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const countedRules = `*filter
:INPUT DROP [10:600]
:OUTPUT ACCEPT [0:0]
[120:7200] -A INPUT -p tcp --dport 22 -j ACCEPT
[0:0] -A INPUT -p tcp --dport 23 -j ACCEPT
[5:300] -A INPUT -p udp --dport 53 -j ACCEPT
COMMIT
`

func kindsByLine(ds []Detail) map[int]string {
	out := map[int]string{}
	for _, d := range ds {
		out[d.Line] = d.Kind
	}
	return out
}

func TestUsageFromCounters(t *testing.T) {
	rs := mustParse(t, countedRules)
	h, err := ParseIptablesCounters(strings.NewReader(countedRules))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.ByKey["4"]; got.Packets != 120 || got.Bytes != 7200 {
		t.Errorf("line 4 counters = %+v", got)
	}
	ds := Usage(rs, h, UsageOptions{Window: 30 * 24 * time.Hour, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if diff := cmp.Diff(map[int]string{5: KindUnused}, kindsByLine(ds)); diff != "" {
		t.Error(diff)
	}
	if !strings.Contains(ds[0].Reason, "30 days") {
		t.Errorf("reason %q lacks the window", ds[0].Reason)
	}
	_, err = ParseIptablesCounters(strings.NewReader("*filter\n[1:x] -A INPUT -j ACCEPT\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Errorf("bad counters: err = %v", err)
	}
}

func TestUsageFromCSV(t *testing.T) {
	rs := mustParse(t, countedRules)
	csv := "rule_id_or_line,hits,last_hit\n4,100,2025-12-30T10:00:00Z\n5,0,\n6,3,2025-06-01T00:00:00Z\n"
	h, err := ParseHitsCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	ds := Usage(rs, h, UsageOptions{Window: 90 * 24 * time.Hour, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if diff := cmp.Diff(map[int]string{5: KindUnused, 6: KindStale}, kindsByLine(ds)); diff != "" {
		t.Error(diff)
	}
	for _, bad := range []struct{ in, want string }{
		{"4,x\n5,y\n", "line 2"},
		{"4,1,yesterday\n", "line 1: last hit"},
		{"4,1\n4,2\n", "line 2: rule \"4\" listed twice"},
		{"4\n", "line 1: want"},
	} {
		if _, err := ParseHitsCSV(strings.NewReader(bad.in)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err = %v, want %q", bad.in, err, bad.want)
		}
	}
}

func TestUsageFromLog(t *testing.T) {
	rs := mustParse(t, countedRules)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	flow := func(port uint16, proto uint8, ago time.Duration) LoggedFlow {
		return LoggedFlow{Time: now.Add(-ago), Chain: "INPUT", Flow: Flow{Proto: proto, Src: netip.MustParseAddr("192.0.2.1"),
			Dst: netip.MustParseAddr("198.51.100.1"), SrcPort: 40000, DstPort: port}}
	}
	day := 24 * time.Hour
	flows := []LoggedFlow{flow(22, 6, day), flow(22, 6, 2*day), flow(53, 17, 200*day), flow(161, 17, day)}
	h, err := CountLogHits(rs, flows, now.Add(-90*day), now)
	if err != nil {
		t.Fatal(err)
	}
	if h.ByKey["4"].Packets != 2 {
		t.Errorf("line 4 = %+v", h.ByKey["4"])
	}
	ds := Usage(rs, h, UsageOptions{Window: 90 * day, Now: now})
	// Line 6 was last hit 200 days ago: no hit in the window.
	if diff := cmp.Diff(map[int]string{5: KindUnused, 6: KindUnused}, kindsByLine(ds)); diff != "" {
		t.Error(diff)
	}
}

func TestParseWindow(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "36h": 36 * time.Hour} {
		if got, err := ParseWindow(in); err != nil || got != want {
			t.Errorf("%s = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0d", "-1h", "d", "x"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestHygiene(t *testing.T) {
	rs, err := NewRuleSet(IPv4, "test")
	if err != nil {
		t.Fatal(err)
	}
	rs.HasProfiles = true
	if _, err := rs.AddChain("P", Drop, 1); err != nil {
		t.Fatal(err)
	}
	for i, r := range []*Rule{
		{Chain: "P", Line: 2, Action: Accept, Logging: LogOff, Proto: ProtoMatch{Any: true}},
		{Chain: "P", Line: 3, Action: Accept, Logging: LogOn, Profiles: []string{"ips:default"}, Proto: ProtoMatch{Any: true}},
		{Chain: "P", Line: 4, Action: Drop, Logging: LogOff, Proto: ProtoMatch{Any: true}},
	} {
		if err := rs.AddRule(r); err != nil {
			t.Fatal(i, err)
		}
	}
	rs.Observe(7, "ips-detect-only", "medium", "IPS profile only detects")
	var got []string
	for _, d := range Hygiene(rs) {
		got = append(got, d.Kind)
	}
	if diff := cmp.Diff([]string{KindLoggingDisabled, KindNoSecProfile, "ips-detect-only"}, got); diff != "" {
		t.Error(diff)
	}
}

func FuzzParseHitsCSV(f *testing.F) {
	f.Add("rule_id_or_line,hits,last_hit\n4,100,2025-12-30T10:00:00Z\n5,0,\n")
	f.Add("\"a,b\",1\n")
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = ParseHitsCSV(strings.NewReader(in))
		_, _ = ParseIptablesCounters(strings.NewReader(in))
	})
}
