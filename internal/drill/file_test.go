package drill

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func loadOffline(t *testing.T) *Drill {
	t.Helper()
	lib, err := DefaultLibrary()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/offline/plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := ParsePlan(f, lib)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestOfflineFiles scores the offline sample. Expected points follow the
// default scheme (scoring/default.yaml) by hand: red breaches the boundary
// once (100); blue is alerted on A1 within 30 minutes (40 + 20 fast), only
// logged A2 (10) and has one accepted tracing report (100).
func TestOfflineFiles(t *testing.T) {
	d := loadOffline(t)
	if len(d.Cases) != 3 || d.State != StatePlanned {
		t.Fatalf("plan: %d cases, state %s", len(d.Cases), d.State)
	}
	log, err := os.ReadFile("testdata/offline/log.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ApplyLog(bytes.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	sc, err := d.Score()
	if err != nil {
		t.Fatal(err)
	}
	if sc.Attackers["red"] != 100 || sc.Defenders["blue"] != 170 {
		t.Fatalf("scores = %v %v", sc.Attackers, sc.Defenders)
	}
}

func TestOfflineRefusals(t *testing.T) {
	lib, err := DefaultLibrary()
	if err != nil {
		t.Fatal(err)
	}
	for name, plan := range map[string]string{
		"unknown field": "name: x\nbogus: 1\n",
		"unknown case":  "name: x\nwindow: {start: 2026-01-01T00:00:00Z, end: 2026-01-02T00:00:00Z}\nscope: {cidrs: [10.0.0.0/8]}\nteams: [{name: a, role: attacker}, {name: b, role: defender}, {name: c, role: director}]\nlibrary_cases: [nope]\n",
		"no director":   "name: x\nwindow: {start: 2026-01-01T00:00:00Z, end: 2026-01-02T00:00:00Z}\nscope: {cidrs: [10.0.0.0/8]}\nteams: [{name: a, role: attacker}, {name: b, role: defender}]\n",
		"alias":         "name: &n x\nrules_of_engagement: *n\n",
		"empty":         "",
	} {
		if _, err := ParsePlan(strings.NewReader(plan), lib); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	d := loadOffline(t)
	out := `{"records": [{"id": "A1", "team": "red", "what": "x", "at": "2026-11-30T02:00:00Z", "target": {"address": "10.20.99.1"}, "technique": "T1046"}]}`
	if err := d.ApplyLog(strings.NewReader(out)); !errors.Is(err, ErrOutOfScope) || !strings.Contains(err.Error(), "records[0]") {
		t.Errorf("out of scope: %v", err)
	}
	if len(d.Records) != 0 {
		t.Errorf("a refused log left %d records", len(d.Records))
	}
	for _, bad := range []string{`{"records": [}`, `{"records": [], "extra": 1}`, `{"records": []} {}`} {
		if err := d.ApplyLog(strings.NewReader(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}
