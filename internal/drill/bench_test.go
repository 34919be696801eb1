package drill

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// benchDrill is a drill of 1,000 records over 48 hosts and 30 hours, with
// 10,000 alerts on the same hosts (one in ten naming the record's
// technique).
func benchDrill(b *testing.B) (*Drill, []store.Alert) {
	b.Helper()
	d, err := New("d", "tenant-a", "bench", Scope{Hosts: []string{"*.corp.example"}}, Window{Start: t0, End: t0.Add(30 * time.Hour)}, testTeams())
	if err != nil {
		b.Fatal(err)
	}
	lib, err := DefaultLibrary()
	if err != nil {
		b.Fatal(err)
	}
	cases := lib.Cases()
	for _, c := range cases {
		if err := d.AddCase(c); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.Transition(StateRunning, "dave", "", t0); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		c := cases[i%len(cases)]
		if err := d.RecordAttack(AttackRecord{ID: fmt.Sprint("r", i), Team: "red-1", What: "x", At: t0.Add(time.Duration(i) * 100 * time.Second),
			Target: Target{Host: fmt.Sprintf("h%d.corp.example", i%48)}, Technique: c.Technique}); err != nil {
			b.Fatal(err)
		}
	}
	alerts := make([]store.Alert, 10_000)
	for i := range alerts {
		tech := "attack.t1059.001"
		if i%10 == 0 {
			tech = "attack." + cases[(i/10)%len(cases)].Technique
		}
		alerts[i] = store.Alert{ID: fmt.Sprint("a", i), TenantID: "tenant-a", Host: fmt.Sprintf("h%d.corp.example", i%48),
			Tags: []string{tech}, FirstSeen: t0.Add(time.Duration(i) * 10 * time.Second)}
	}
	return d, alerts
}

func BenchmarkLink(b *testing.B) {
	d, alerts := benchDrill(b)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n = len(d.Link(alerts, LinkOptions{}))
	}
	b.ReportMetric(float64(n), "suggestions")
}

func BenchmarkSummary(b *testing.B) {
	d, alerts := benchDrill(b)
	for _, s := range d.Link(alerts, LinkOptions{}) {
		if err := d.Confirm(s, "bob", time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Summary("en", t0); err != nil {
			b.Fatal(err)
		}
	}
}
