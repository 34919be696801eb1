package register_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/register"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestEditEntry edits one register entry of the worked example of
// buildRegister and checks the risks the engine recomputes, worked out by
// hand:
//
//	S1 re-paired with T2 (frequency kept at 5), V1 severity 4 → 2, A2
//	C/I/A 4/3/2 → 2/2/2 (value 2): L = √(5·2) ≈ 3.162, F = √(2·2) = 2,
//	R = 6.32 → 6 → 低.
//	A2 is shared, so S2 (T1 4 × V2 5): L = √20 ≈ 4.472, F = √(2·5) ≈ 3.162,
//	R = 14.14 → 14 → 中; S3 (T2 5 × V3 5): L = 5, F = √10 ≈ 3.162,
//	R = 15.81 → 16 → 高.
func TestEditEntry(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	svc := env.Assessments.Register()
	tn := env.TenantA.ID
	id, r := buildRegister(t, env, ctx)
	version := r.Meta.Version
	due := time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
	edit := register.EntryEdit{Threat: "T2", Vulnerability: "V1", Asset: "A2", Frequency: 5, Severity: 2, C: 2, I: 2, A: 2,
		Treatment: risk.Reduce, Owner: "张三", Due: due, Measure: "启用口令复杂度策略"}
	r = must[*register.Register](t)(svc.EditEntry(ctx, tn, id, version, "S1", edit))
	if r.Meta.Version != version+1 {
		t.Errorf("version %d after one edit of %d", r.Meta.Version, version)
	}
	for _, c := range []struct {
		id   string
		l, f float64
		r    int
		lv   risk.Level
	}{{"S1", math.Sqrt(10), 2, 6, risk.Low}, {"S2", math.Sqrt(20), math.Sqrt(10), 14, risk.Medium}, {"S3", 5, math.Sqrt(10), 16, risk.High}} {
		e := entry(t, r, c.id)
		if math.Abs(e.Eval.Likelihood-c.l) > 1e-9 || math.Abs(e.Eval.Loss-c.f) > 1e-9 || e.Eval.R != c.r || e.Eval.Level != c.lv {
			t.Errorf("%s: L %.3f F %.3f R %d %s, want %.3f %.3f %d %s", c.id, e.Eval.Likelihood, e.Eval.Loss, e.Eval.R, e.Eval.Level, c.l, c.f, c.r, c.lv)
		}
	}
	e := entry(t, r, "S1")
	if e.Threat.ID != "T2" || e.Vulnerability.Severity != 2 || e.Asset.ID != "A2" || e.Decision == nil ||
		e.Decision.Treatment != risk.Reduce || e.Decision.Owner != "张三" || !e.Decision.Due.Equal(due) || e.Decision.Measure != "启用口令复杂度策略" {
		t.Fatalf("S1 after the edit: threat %+v vulnerability %+v decision %+v", e.Threat, e.Vulnerability, e.Decision)
	}
	// The read register matches what the edit returned.
	read := must[*register.Register](t)(svc.Risk(ctx, tn, id))
	if got := entry(t, read, "S1"); got.Eval.R != 6 {
		t.Errorf("stored S1 R %d", got.Eval.R)
	}
	// No treatment removes the decision.
	edit.Treatment, edit.Owner, edit.Due, edit.Measure = "", "", time.Time{}, ""
	r = must[*register.Register](t)(svc.EditEntry(ctx, tn, id, r.Meta.Version, "S1", edit))
	if d := entry(t, r, "S1").Decision; d != nil {
		t.Errorf("decision %+v after removing the treatment", d)
	}
	entries, err := env.Store.Audit().List(ctx, store.AuditFilter{TenantID: tn, Action: "risk.entry"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || !strings.Contains(entries[0].Detail, `"scenario":"S1"`) {
		t.Fatalf("audit %+v", entries)
	}

	// Refused edits store nothing.
	before := r.Meta.Version
	good := edit
	for name, c := range map[string]struct {
		scenario string
		mod      func(e *register.EntryEdit)
		field    string
	}{
		"frequency 0":       {"S1", func(e *register.EntryEdit) { e.Frequency = 0 }, "frequency"},
		"severity 6":        {"S1", func(e *register.EntryEdit) { e.Severity = 6 }, "severity"},
		"C 9":               {"S1", func(e *register.EntryEdit) { e.C = 9 }, "c"},
		"unknown threat":    {"S1", func(e *register.EntryEdit) { e.Threat = "T9" }, "threat"},
		"unknown vuln":      {"S1", func(e *register.EntryEdit) { e.Vulnerability = "V9" }, "vulnerability"},
		"business asset":    {"S1", func(e *register.EntryEdit) { e.Asset = "A1" }, "asset"},
		"unknown scenario":  {"S9", func(e *register.EntryEdit) {}, "scenario"},
		"bad treatment":     {"S1", func(e *register.EntryEdit) { e.Treatment = "ignore" }, "treatment"},
		"owner, no treat":   {"S1", func(e *register.EntryEdit) { e.Owner = "x" }, "treatment"},
		"owner two lines":   {"S1", func(e *register.EntryEdit) { e.Treatment, e.Owner = risk.Accept, "a\nb" }, "owner"},
		"measure too long":  {"S1", func(e *register.EntryEdit) { e.Treatment, e.Measure = risk.Accept, strings.Repeat("长", 1001) }, "measure"},
		"unknown asset":     {"S1", func(e *register.EntryEdit) { e.Asset = "A9" }, "asset"},
		"everything blank":  {"S1", func(e *register.EntryEdit) { *e = register.EntryEdit{} }, "frequency"},
		"blank vuln and th": {"S1", func(e *register.EntryEdit) { e.Threat, e.Vulnerability = "", "" }, "threat"},
	} {
		in := good
		c.mod(&in)
		if _, err := svc.EditEntry(ctx, tn, id, 0, c.scenario, in); fieldOf(err) != c.field {
			t.Errorf("%s: %v, want a field error on %s", name, err, c.field)
		}
	}
	if _, err := svc.EditEntry(ctx, tn, id, before-1, "S1", good); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale version: %v", err)
	}
	if _, err := svc.EditEntry(ctx, env.TenantB.ID, id, 0, "S1", good); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant B edits A's register: %v", err)
	}
	if _, err := svc.EditEntry(env.As(t.Context(), env.AnalystA), tn, id, 0, "S1", good); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("an analyst edits the register: %v", err)
	}
	if after := must[*register.Register](t)(svc.Risk(ctx, tn, id)); after.Meta.Version != before {
		t.Errorf("refused edits moved the version from %d to %d", before, after.Meta.Version)
	}
}
