package hardening_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestRecordManual checks the rules of the manual results: only pending
// checks, each once, with a known result and a bounded note, by someone
// who may write; the automated results of the completed run are kept.
func TestRecordManual(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.admin
	cfg, err := os.ReadFile("../policies/testdata/devices/cisco-ios-weak.cfg")
	if err != nil {
		t.Fatal(err)
	}
	sw, err := e.Assets.Create(ctx, e.TenantA.ID, assetInput("acc-sw07"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := e.svc.Upload(ctx, e.TenantA.ID, sw.ID, "cisco-ios", bytes.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ManualSheet(e.viewer, e.TenantA.ID, "", base.ID, ""); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("viewer sheet: %v", err)
	}
	if _, err := e.svc.ManualSheet(ctx, e.TenantB.ID, "", base.ID, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant's run: %v", err)
	}
	sh, err := e.svc.ManualSheet(ctx, e.TenantA.ID, "", base.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Pending) != base.Manual || len(sh.Pending) == 0 {
		t.Fatalf("%d pending checks, the run has %d manual", len(sh.Pending), base.Manual)
	}
	pending := sh.Pending[0].ID
	_, checks, err := e.svc.Run(ctx, e.TenantA.ID, base.ID, store.BaselineCheckFilter{Result: "failed", Limit: 1})
	if err != nil || len(checks) != 1 {
		t.Fatalf("a failed check: %v %d", err, len(checks))
	}
	for name, res := range map[string][]hardening.ManualResult{
		"none":          nil,
		"not pending":   {{CheckID: checks[0].CheckID, Result: "passed"}},
		"unknown check": {{CheckID: "nope", Result: "passed"}},
		"twice":         {{CheckID: pending, Result: "passed"}, {CheckID: pending, Result: "failed"}},
		"bad result":    {{CheckID: pending, Result: "manual"}},
		"long note":     {{CheckID: pending, Result: "failed", Note: strings.Repeat("x", hardening.MaxManualNote+1)}},
	} {
		if _, err := e.svc.RecordManual(ctx, e.TenantA.ID, sh, res); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := e.svc.RecordManual(e.viewer, e.TenantA.ID, sh, []hardening.ManualResult{{CheckID: pending, Result: "passed"}}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("viewer record: %v", err)
	}
	run, err := e.svc.RecordManual(ctx, e.TenantA.ID, sh, []hardening.ManualResult{{CheckID: pending, Result: "passed", Note: "badge reader logs reviewed"}})
	if err != nil {
		t.Fatal(err)
	}
	if run.Source != store.BaselineSourceManual || run.Passed != base.Passed+1 || run.Failed != base.Failed || run.Manual != base.Manual-1 {
		t.Errorf("manual run %+v after %+v", run, base)
	}
	_, got, err := e.svc.Run(ctx, e.TenantA.ID, run.ID, store.BaselineCheckFilter{})
	if err != nil {
		t.Fatal(err)
	}
	_, was, err := e.svc.Run(ctx, e.TenantA.ID, base.ID, store.BaselineCheckFilter{})
	if err != nil || len(was) != len(got) {
		t.Fatalf("checks %d vs %d: %v", len(got), len(was), err)
	}
	for i := range got {
		if got[i].CheckID == pending {
			if got[i].Result != "passed" || !strings.Contains(strings.Join(got[i].Evidence, " "), "badge reader logs reviewed") {
				t.Errorf("assessed check: %+v", got[i])
			}
			continue
		}
		if got[i].CheckID != was[i].CheckID || got[i].Result != was[i].Result || got[i].Reason != was[i].Reason {
			t.Errorf("automated check %s changed: %s → %s", was[i].CheckID, was[i].Result, got[i].Result)
		}
	}
	// A whole asset by hand: every check pending.
	whole, err := e.svc.ManualSheet(ctx, e.TenantA.ID, sw.ID, "", "cisco-ios")
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Pending) != base.Passed+base.Failed+base.NotApplicable+base.Errors+base.Manual {
		t.Errorf("whole sheet: %d checks", len(whole.Pending))
	}
	if _, err := e.svc.ManualSheet(ctx, e.TenantB.ID, sw.ID, "", "cisco-ios"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("another tenant's asset: %v", err)
	}
}
