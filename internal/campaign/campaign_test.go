package campaign

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestBuiltinTemplates(t *testing.T) {
	tpls, err := BuiltinTemplates()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tp := range tpls {
		ids = append(ids, tp.ID)
	}
	if !slices.Equal(ids, []string{"go-live", "key-period"}) {
		t.Fatalf("templates %v", ids)
	}
}

func TestTemplateErrorsHaveLines(t *testing.T) {
	// Each case names the line the error must point at.
	cases := []struct {
		name, doc string
		line      int
		msg       string
	}{
		{"unknown key", "id: x\nname: X\nkind: general\nphases:\n  - id: a\n    name: A\n    duration: 1d\n    colour: red\n", 8, "colour"},
		{"bad kind", "id: x\nname: X\nkind: audit\nphases:\n  - id: a\n    name: A\n    duration: 1d\n", 3, "kind"},
		{"undeclared phase", "id: x\nname: X\nkind: general\nphases:\n  - id: a\n    name: A\n    duration: 1d\ntasks:\n  - id: t\n    phase: b\n    kind: tls\n    title: T\n", 10, "phase"},
		{"bad duration", "id: x\nname: X\nkind: general\nphases:\n  - id: a\n    name: A\n    duration: soon\n", 7, "duration"},
		{"manual without items", "id: x\nname: X\nkind: general\nphases:\n  - id: a\n    name: A\n    duration: 1d\ntasks:\n  - id: t\n    phase: a\n    kind: manual\n    title: T\n", 9, "no items"},
		{"duplicate item", "id: x\nname: X\nkind: general\nphases:\n  - id: a\n    name: A\n    duration: 1d\ntasks:\n  - id: t\n    phase: a\n    kind: manual\n    title: T\n    items:\n      - {id: i, text: one}\n      - {id: i, text: two}\n", 15, "repeats"},
		{"bad severity", "id: x\nname: X\nkind: general\nphases:\n  - id: a\n    name: A\n    duration: 1d\ntasks:\n  - id: t\n    phase: a\n    kind: manual\n    title: T\n    items:\n      - id: i\n        text: one\n        severity: urgent\n", 16, "severity"},
		{"alias", "id: &a x\nname: X\nkind: general\nphases: []\n", 1, "alias"},
		{"syntax", "id: x\nname: [X\n", 1, "did not find"},
		{"type", "id: x\nname: X\nkind: general\nphases: 5\n", 4, ""},
	}
	for _, c := range cases {
		_, err := ParseTemplate(strings.NewReader(c.doc), "tpl.yaml")
		var le *LineError
		if !errors.As(err, &le) {
			t.Errorf("%s: error %v is not a *LineError", c.name, err)
			continue
		}
		if le.Line != c.line || !strings.Contains(le.Msg, c.msg) || !strings.HasPrefix(err.Error(), "tpl.yaml:") {
			t.Errorf("%s: %v; want line %d mentioning %q", c.name, err, c.line, c.msg)
		}
	}
	if _, err := ParseTemplate(strings.NewReader(strings.Repeat("#", MaxTemplateSize+1)), "big.yaml"); err == nil {
		t.Error("an oversized template was accepted")
	}
}

func TestInstantiate(t *testing.T) {
	f, err := os.Open(filepath.Join("templates", "go-live.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tpl, err := ParseTemplate(f, "go-live.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tpl.Instantiate(Instance{ID: "c1", Tenant: "acme", Start: t0, Owners: map[string]string{"security-engineer": "zhang.min"},
		Targets: []Target{{AssetID: "a1"}, {AssetID: "a2"}}, Params: map[string]map[string]string{"baseline": {"policy": "p"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Phases follow each other from the start, with the template's durations.
	at := t0
	for i, p := range c.Phases {
		if !p.Start.Equal(at) || !p.End.Equal(at.Add(tpl.Phases[i].Duration)) {
			t.Errorf("phase %s: %s–%s", p.ID, p.Start, p.End)
		}
		at = p.End
	}
	ports, _ := c.Task("ports")
	if ports.Owner != "zhang.min" || !ports.Due.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("ports task %+v", ports)
	}
	design, _ := c.Task("design")
	if !design.Due.Equal(c.Phases[0].End) {
		t.Errorf("a task without due_after is due at its phase end: %s", design.Due)
	}
	if b, _ := c.Task("baseline"); b.Params["policy"] != "p" {
		t.Errorf("params not applied: %v", b.Params)
	}
	if _, err := tpl.Instantiate(Instance{ID: "c1", Tenant: "acme", Start: t0, Params: map[string]map[string]string{"nope": {}}}); err == nil {
		t.Error("params for an unknown task were accepted")
	}
	if _, err := tpl.Instantiate(Instance{ID: "c1", Tenant: "acme", Start: t0, Targets: []Target{{AssetID: "a"}, {AssetID: "a"}}}); err == nil {
		t.Error("repeated targets were accepted")
	}
}

func testCampaign() *Campaign {
	return &Campaign{ID: "c", Tenant: "acme", Start: t0,
		Phases:  []Phase{{ID: "check", Start: t0, End: t0.Add(48 * time.Hour)}},
		Targets: []Target{{AssetID: "a1"}, {AssetID: "a2"}},
		Tasks: []Task{
			{ID: "scan", Phase: "check", Kind: TaskVulnScan, Due: t0.Add(24 * time.Hour)},
			{ID: "list", Phase: "check", Kind: TaskManual, Items: []Item{{ID: "i1", Text: "one", Severity: SeverityHigh}, {ID: "i2", Text: "two", Severity: SeverityLow}}},
		}}
}

func TestEngineNeverPassesWhatDidNotRun(t *testing.T) {
	c := testCampaign()
	calls := 0
	runners := map[TaskKind]Runner{TaskVulnScan: RunnerFunc(func(_ context.Context, _ Task, tg Target) (Result, error) {
		calls++
		switch tg.AssetID {
		case "a1":
			return Result{}, errors.New("dial tcp 192.0.2.1:443: connect: no route to host")
		default:
			panic("scanner bug")
		}
	})}
	e := NewEngine(Options{Runners: runners, Now: func() time.Time { return t0 }, Concurrency: 1})
	rs, err := e.RunTask(context.Background(), c, "scan")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status != StatusErrored || r.Error == "" {
			t.Errorf("%s: %+v, want errored with a reason", r.AssetID, r)
		}
	}
	// A runner returning an unknown status or "pending" is an error too.
	e = NewEngine(Options{Runners: map[TaskKind]Runner{TaskVulnScan: RunnerFunc(func(context.Context, Task, Target) (Result, error) {
		return Result{Status: StatusPending}, nil
	})}})
	rs, _ = e.RunTask(context.Background(), c, "scan", "a2")
	if rs[0].Status != StatusErrored {
		t.Errorf("pending from a runner: %s", rs[0].Status)
	}
	// No runner at all.
	rs, _ = NewEngine(Options{}).RunTask(context.Background(), c, "scan", "a1")
	if rs[0].Status != StatusErrored || !strings.Contains(rs[0].Error, ErrNoRunner.Error()) {
		t.Errorf("no runner: %+v", rs[0])
	}
	// A passed result carrying a non-info finding is counted as failed.
	e = NewEngine(Options{Runners: map[TaskKind]Runner{TaskVulnScan: RunnerFunc(func(context.Context, Task, Target) (Result, error) {
		return Result{Status: StatusPassed, Findings: []Finding{{Key: "k", Severity: SeverityMedium}}}, nil
	})}})
	rs, _ = e.RunTask(context.Background(), c, "scan", "a1")
	if rs[0].Status != StatusFailed {
		t.Errorf("passed with a medium finding: %s", rs[0].Status)
	}
	if r, _ := c.Latest("scan", "a1", ""); r.Run != 3 || len(c.History) != 3 {
		t.Errorf("latest run %d, history %d; want run 3 of a1 and 3 earlier results kept", r.Run, len(c.History))
	}
	if _, err := e.RunTask(context.Background(), c, "scan", "zz"); err == nil {
		t.Error("an unknown asset was accepted")
	}
	if _, err := e.RunTask(context.Background(), c, "list"); err == nil {
		t.Error("a manual task was run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.RunTask(ctx, c, "scan"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

func TestManualAndRollup(t *testing.T) {
	c := testCampaign()
	e := NewEngine(Options{Now: func() time.Time { return t0 }})
	if _, err := e.RecordManual(c, "list", "i1", Answer{Status: StatusPassed, By: "li"}); err == nil {
		t.Error("a passed item without evidence was accepted")
	}
	if _, err := e.RecordManual(c, "list", "i1", Answer{Status: StatusFailed, Evidence: []string{"x"}}); err == nil {
		t.Error("an answer without who gave it was accepted")
	}
	if _, err := e.RecordManual(c, "list", "i9", Answer{Status: StatusPassed, By: "li", Evidence: []string{"x"}}); err == nil {
		t.Error("an unknown item was accepted")
	}
	r, err := e.RecordManual(c, "list", "i1", Answer{Status: StatusFailed, By: "li", Note: "no MFA for admins"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 1 || r.Findings[0].Severity != SeverityHigh || r.Findings[0].Key != "item/i1" {
		t.Errorf("failed item finding %+v", r.Findings)
	}
	if _, err := e.RecordManual(c, "list", "i2", Answer{Status: StatusPassed, By: "li", Evidence: []string{"doc-17"}}); err != nil {
		t.Fatal(err)
	}
	// Two scan slots never ran and are past due; one manual item failed.
	ro := c.Rollup(t0.Add(25 * time.Hour))
	if ro.All.Total != 4 || ro.All.Status[StatusPending] != 2 || ro.All.Status[StatusFailed] != 1 || ro.All.Status[StatusPassed] != 1 {
		t.Errorf("rollup %+v", ro.All)
	}
	if ro.All.Overdue != 2 || ro.ByAsset["a1"].Status[StatusPending] != 1 || ro.ByAsset[""].Findings[SeverityHigh] != 1 || ro.ByPhase["check"].Total != 4 {
		t.Errorf("rollup per asset/phase: %+v", ro)
	}
	if ro.All.Done() {
		t.Error("a campaign with pending slots is not done")
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"24h": 24 * time.Hour, "14d": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, "30m": 30 * time.Minute} {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "0h", "-1d", "401d", "d", "1x", "99999999999999999d"} {
		if _, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) accepted", s)
		}
	}
}

func TestSeverityForScore(t *testing.T) {
	// CVSS v3.1 qualitative rating bands.
	for score, want := range map[float64]Severity{10: SeverityCritical, 9.0: SeverityCritical, 8.9: SeverityHigh, 7.0: SeverityHigh, 6.9: SeverityMedium, 4.0: SeverityMedium, 3.9: SeverityLow, 0.1: SeverityLow, 0: SeverityInfo} {
		if got := SeverityForScore(score); got != want {
			t.Errorf("SeverityForScore(%.1f) = %s, want %s", score, got, want)
		}
	}
}
