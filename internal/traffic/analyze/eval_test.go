package analyze

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/traffic"
)

// labelled keeps the ground-truth label of each conn; the analyses never
// see this recorder.
type labelled struct {
	traffic.Nop
	conns []traffic.Conn
}

func (l *labelled) Conn(c *traffic.Conn) { l.conns = append(l.conns, *c) }

// flowFlagged: a flow is predicted malicious when a finding (at or above
// minScore) has its source and, when the finding names them, its
// destination address and port.
func flowFlagged(c *traffic.Conn, fs []Finding, minScore float64) bool {
	for _, f := range fs {
		if f.Score < minScore || f.Src != c.Src {
			continue
		}
		if f.Dst.IsValid() && f.Dst != c.Dst {
			continue
		}
		if f.DstPort != 0 && f.DstPort != c.DstPort {
			continue
		}
		if f.Domain != "" && !f.Dst.IsValid() && f.DstPort == 0 {
			continue // DNS findings say nothing about conn.log flows
		}
		return true
	}
	return false
}

// TestEvaluateSlipsLabelled compares the analyses' verdicts with the
// label columns of the Slips CTU-SME-11 sample: precision and recall of
// "malicious flow" and of "compromised host" (a host whose own flows are
// labelled Malicious).
func TestEvaluateSlipsLabelled(t *testing.T) {
	dir := filepath.Join(corpus, "slips/test18-malicious-ctu-sme-11-win/zeek-labeled")
	fs, a := analyzeDir(t, dir, Options{})
	var truth labelled
	if _, err := traffic.ReadZeekDir(context.Background(), dir, &truth); err != nil {
		t.Fatal(err)
	}
	const minScore = 0.5
	var tp, fp, fn, tn int
	badHosts := map[netip.Addr]bool{}
	for i := range truth.conns {
		c := &truth.conns[i]
		mal := c.Label == "Malicious"
		if mal {
			badHosts[c.Src] = true
		}
		switch pred := flowFlagged(c, fs, minScore); {
		case pred && mal:
			tp++
		case pred && !mal:
			fp++
		case !pred && mal:
			fn++
		default:
			tn++
		}
	}
	prec := float64(tp) / float64(max(tp+fp, 1))
	rec := float64(tp) / float64(max(tp+fn, 1))
	fmt.Printf("slips test18 malicious flow (score >= %.1f): precision %.3f recall %.3f (tp %d fp %d fn %d tn %d)\n", minScore, prec, rec, tp, fp, fn, tn)

	ranked := RankHosts(fs, a.Zones())
	var htp, hfp int
	for _, h := range ranked {
		if h.Score < minScore {
			continue
		}
		if badHosts[h.Host] {
			htp++
		} else {
			hfp++
		}
	}
	hprec := float64(htp) / float64(max(htp+hfp, 1))
	hrec := float64(htp) / float64(max(len(badHosts), 1))
	fmt.Printf("slips test18 compromised host (score >= %.1f): precision %.3f recall %.3f over %d ranked hosts\n", minScore, hprec, hrec, len(ranked))
	for i, h := range ranked[:min(len(ranked), 3)] {
		fmt.Printf("  host %d: %s score %.3f labelled-malicious=%v: %s\n", i+1, h.Host, h.Score, badHosts[h.Host], h.Explanation)
	}
	if tp+fp+fn+tn != len(truth.conns) || len(truth.conns) == 0 {
		t.Fatal("evaluation did not cover the flows")
	}
	// The labelled-malicious host is the first of the ranking.
	if len(ranked) == 0 || !badHosts[ranked[0].Host] {
		t.Errorf("the first ranked host is not a labelled-malicious one: %+v", ranked)
	}
}

// TestMixedZeekDir runs the analyses over the unlabelled JSON sample; it
// has no labels, so only the run and its findings are shown.
func TestMixedZeekDir(t *testing.T) {
	fs, a := analyzeDir(t, filepath.Join(corpus, "slips/test9-mixed-zeek-dir"), Options{})
	for _, f := range fs[:min(len(fs), 5)] {
		t.Logf("%s %s %.2f %s", f.Class, f.Src, f.Score, f.Explanation)
	}
	for _, h := range RankHosts(fs, a.Zones()) {
		t.Logf("host %s %.3f", h.Host, h.Score)
	}
}

func TestTraceRITA(t *testing.T) {
	dir := filepath.Join(corpus, "rita-proxy")
	host := netip.MustParseAddr("10.136.0.18")
	around := time.Unix(1672845160, 0)
	ev, truncated, err := Trace(context.Background(), host, around, 10*time.Minute, func(ctx context.Context, h traffic.Handler) error {
		_, err := traffic.ReadZeekDir(ctx, dir, h)
		return err
	})
	if err != nil || truncated {
		t.Fatal(err, truncated)
	}
	kinds := map[string]int{}
	for i, e := range ev {
		kinds[e.Kind]++
		if i > 0 && e.Time.Before(ev[i-1].Time) {
			t.Fatal("timeline not sorted")
		}
		if e.Time.Before(around.Add(-10*time.Minute)) || e.Time.After(around.Add(10*time.Minute)) {
			t.Fatalf("event outside the window: %+v", e)
		}
	}
	if kinds["conn"] == 0 || kinds["http"] == 0 || kinds["tls"] == 0 {
		t.Errorf("timeline kinds %v", kinds)
	}
}

func TestPolicyValidation(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"rules:\n- name: x\n  action: allow\n  ports: [1]\n", `action "allow"`},
		{"rules:\n- name: x\n  action: deny\n  ports: [\"9-1\"]\n", `port "9-1"`},
		{"rules:\n- name: x\n  action: deny\n", "matches every flow"},
		{"rules:\n- name: x\n  action: deny\n  src: {zone: dmz}\n", `src zone "dmz"`},
		{"rules:\n- name: x\n  action: deny\n  dst: {cidrs: [nope]}\n", `dst cidr "nope"`},
		{"rules:\n- name: x\n  actoin: deny\n", "actoin"},
	} {
		_, err := ParsePolicy(strings.NewReader(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestPolicyExample(t *testing.T) {
	f, err := openTestFile("policy.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePolicy(f)
	if err != nil {
		t.Fatal(err)
	}
	z := NewZones([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16")})
	mk := func(src, dst string, port uint16, svc string) *traffic.Conn {
		return &traffic.Conn{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), DstPort: port, Proto: "tcp", Service: svc}
	}
	for _, tc := range []struct {
		c    *traffic.Conn
		rule string
	}{
		{mk("10.1.1.1", "198.51.100.1", 2121, "ftp"), "no plaintext protocols to the internet"},
		{mk("192.168.5.5", "10.2.2.2", 3306, ""), "no direct DB access from office subnets"},
		{mk("10.1.1.1", "198.51.100.1", 3334, ""), "no mining pool ports"},
		{mk("10.1.1.1", "198.51.100.1", 443, "ssl"), ""},
	} {
		got := ""
		for i := range p.Rules {
			if p.Rules[i].Match(tc.c, z.Internal(tc.c.Src), z.Internal(tc.c.Dst)) {
				got = p.Rules[i].Name
				break
			}
		}
		if got != tc.rule {
			t.Errorf("%v:%d %s: rule %q, want %q", tc.c.Dst, tc.c.DstPort, tc.c.Service, got, tc.rule)
		}
	}
}

// TestDGAOnPlainDomains prints how many popular domains the DGA model
// calls DGA-like, and checks that random labels score above words.
func TestDGAOnPlainDomains(t *testing.T) {
	m, err := newDGAModel()
	if err != nil {
		t.Fatal(err)
	}
	names := readQNames(t, "plain.csv")
	seen := map[string]bool{}
	n, hit := 0, 0
	for _, q := range names {
		reg, _, ok := registered(strings.ToLower(q))
		if !ok || seen[reg] {
			continue
		}
		seen[reg] = true
		n++
		if m.score(reg) >= dgaDomainThreshold {
			hit++
		}
	}
	fmt.Printf("DGA-like among %d registered domains of plain.csv: %d (%.3f)\n", n, hit, float64(hit)/float64(max(n, 1)))
	if m.score("xkqzvbtrwplm.com") <= m.score("weatherforecast.com") {
		t.Error("random label scores no higher than words")
	}
}

// BenchmarkConn measures the per-flow cost of the analyses on a mix of
// many hosts and destinations.
func BenchmarkConn(b *testing.B) {
	a, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c := traffic.Conn{Proto: "tcp", State: "SF", OrigBytes: 500, RespBytes: 1500, Duration: time.Second}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		x := splitmix(uint64(i))
		c.TS = base.Add(time.Duration(i) * time.Millisecond)
		c.Src = netip.AddrFrom4([4]byte{10, 0, byte(x >> 8 & 3), byte(x)})
		c.Dst = netip.AddrFrom4([4]byte{203, 0, byte(x >> 16), byte(x >> 24 & 63)})
		c.DstPort = []uint16{443, 80, 53, 22}[x>>32&3]
		a.Conn(&c)
	}
}
