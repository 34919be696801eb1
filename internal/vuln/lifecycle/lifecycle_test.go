package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/vuln"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

var nucleiDir = filepath.Join("..", "..", "..", "..", "shared", "corpus", "defectdojo", "scans", "nuclei")

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(nucleiDir, name))
	if err != nil {
		testenv.Missing(t, "DefectDojo nuclei samples: "+err.Error())
	}
	return b
}

// parsed is what the importer itself makes of a sample: the oracle the
// lifecycle's counts are checked against.
func parsed(t *testing.T, data []byte) map[string]string {
	t.Helper()
	imp, err := vuln.DefaultRegistry().Lookup("nuclei")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := imp.Import(context.Background(), bytesReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range fs {
		key := f.Asset.IP
		if key == "" {
			key = f.Asset.Host
		}
		out[f.Fingerprint] = key
	}
	return out
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T) (*fixture.Env, *lifecycle.Service, *clock) {
	e := fixture.New(t)
	c := &clock{t: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)}
	return e, lifecycle.NewService(e.Store, e.Audit, lifecycle.Options{Now: c.now}), c
}

func TestReimportLifecycle(t *testing.T) {
	e, s, c := newService(t)
	ctx := e.AdminCtx(t.Context())
	first, second := sample(t, "many_findings.json"), sample(t, "many_findings_new.json")
	a, b := parsed(t, first), parsed(t, second)

	sc, err := s.Import(ctx, e.TenantA.ID, lifecycle.ImportInput{Filename: "many_findings.json", Data: first, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Added != len(a) || sc.Total != len(a) || sc.Scanner != "nuclei" {
		t.Fatalf("first import %+v, parser found %d", sc, len(a))
	}
	list, n, err := s.List(ctx, e.TenantA.ID, lifecycle.Filter{State: "open"})
	if err != nil || n != len(a) {
		t.Fatalf("open findings %d (%v), want %d", n, err, len(a))
	}
	for _, f := range list {
		if f.DueAt.IsZero() != (s.SLA(f.Severity) == 0) {
			t.Fatalf("%s (%s): due %v", f.Title, f.Severity, f.DueAt)
		}
	}

	// The oracle for the full rescan: added = new fingerprints; updated =
	// seen in both; absent = fingerprints of the first scan missing from
	// the second whose asset the second covers.
	covered := map[string]bool{}
	for _, k := range b {
		covered[k] = true
	}
	var wantAdded, wantUpdated, wantAbsent int
	for fp := range b {
		if _, ok := a[fp]; ok {
			wantUpdated++
		} else {
			wantAdded++
		}
	}
	for fp, k := range a {
		if _, ok := b[fp]; !ok && covered[k] {
			wantAbsent++
		}
	}
	c.t = c.t.Add(24 * time.Hour)
	sc, err = s.Import(ctx, e.TenantA.ID, lifecycle.ImportInput{Filename: "many_findings_new.json", Data: second, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Added != wantAdded || sc.Updated != wantUpdated || sc.Absent != wantAbsent || sc.Reopened != 0 {
		t.Fatalf("rescan %+v, want added %d updated %d absent %d", sc, wantAdded, wantUpdated, wantAbsent)
	}
	t.Logf("rescan: %+v", sc)
	if wantAbsent+wantAdded == 0 {
		t.Fatal("the samples do not differ; the test proves nothing")
	}
	_, fixedN, err := s.List(ctx, e.TenantA.ID, lifecycle.Filter{State: lifecycle.StateFixedPending})
	if err != nil || fixedN != wantAbsent {
		t.Fatalf("fixed-pending %d (%v), want %d", fixedN, err, wantAbsent)
	}

	// Importing the first file again reopens what the rescan marked fixed.
	c.t = c.t.Add(24 * time.Hour)
	sc, err = s.Import(ctx, e.TenantA.ID, lifecycle.ImportInput{Filename: "again.json", Data: first})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Reopened != wantAbsent {
		t.Fatalf("reimport reopened %d, want %d", sc.Reopened, wantAbsent)
	}
	scans, err := s.Scans(ctx, e.TenantA.ID, store.Page{})
	if err != nil || len(scans) != 3 {
		t.Fatalf("scans %d, %v", len(scans), err)
	}
}

func TestStateMachine(t *testing.T) {
	e, s, c := newService(t)
	ctx := e.AdminCtx(t.Context())
	if _, err := s.Import(ctx, e.TenantA.ID, lifecycle.ImportInput{Filename: "f.json", Data: sample(t, "many_findings.json")}); err != nil {
		t.Fatal(err)
	}
	list, _, err := s.List(ctx, e.TenantA.ID, lifecycle.Filter{Page: store.Page{Limit: 3}})
	if err != nil || len(list) != 3 {
		t.Fatal(err)
	}
	id, id2, id3 := list[0].ID, list[1].ID, list[2].ID
	fieldErr := func(err error, field string) {
		t.Helper()
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Fatalf("err = %v, want a field error on %s", err, field)
		}
	}
	fieldErr(s.Change(ctx, e.TenantA.ID, id, lifecycle.ChangeInput{To: lifecycle.StateClosed}), "state") // new → closed skips steps
	fieldErr(s.Change(ctx, e.TenantA.ID, id, lifecycle.ChangeInput{To: "done"}), "state")
	fieldErr(s.Change(ctx, e.TenantA.ID, id, lifecycle.ChangeInput{To: lifecycle.StateFalsePos}), "note")
	fieldErr(s.Change(ctx, e.TenantA.ID, id, lifecycle.ChangeInput{To: lifecycle.StateMitigated, Note: "waf", Expires: c.t.Add(time.Hour)}), "control")
	fieldErr(s.Change(ctx, e.TenantA.ID, id, lifecycle.ChangeInput{To: lifecycle.StateMitigated, Note: "waf", Control: "WAF rule 942100"}), "expires")
	fieldErr(s.Change(ctx, e.TenantA.ID, id, lifecycle.ChangeInput{To: lifecycle.StateAssigned, Assignee: e.CustomerB.ID}), "assignee")

	step := func(id string, in lifecycle.ChangeInput) {
		t.Helper()
		if err := s.Change(ctx, e.TenantA.ID, id, in); err != nil {
			t.Fatalf("%s: %v", in.To, err)
		}
	}
	// The whole path to verified-closed, audited and on the timeline.
	step(id, lifecycle.ChangeInput{To: lifecycle.StateConfirmed, Note: "reproduced by hand"})
	step(id, lifecycle.ChangeInput{To: lifecycle.StateAssigned, Assignee: e.AnalystA.ID})
	step(id, lifecycle.ChangeInput{To: lifecycle.StateFixing})
	step(id, lifecycle.ChangeInput{To: lifecycle.StateFixedPending})
	step(id, lifecycle.ChangeInput{To: lifecycle.StateClosed, Note: "rescan clean"})
	f, evs, err := s.Get(ctx, e.TenantA.ID, id)
	if err != nil || f.State != lifecycle.StateClosed || f.Assignee != e.AnalystA.ID || len(evs) != 6 {
		t.Fatalf("closed finding %+v, %d events, %v", f, len(evs), err)
	}

	// Unfixed but protected: mitigated with its control until the expiry,
	// then reopened by the expiry job.
	step(id2, lifecycle.ChangeInput{To: lifecycle.StateMitigated, Note: "vendor patch not released",
		Control: "WAF virtual patch 942100, blocking", Expires: c.t.Add(72 * time.Hour)})
	step(id3, lifecycle.ChangeInput{To: lifecycle.StateRiskAccepted, Note: "legacy, decommissioned in Q1", Expires: c.t.Add(24 * time.Hour)})
	f, _, _ = s.Get(ctx, e.TenantA.ID, id2)
	if f.State != lifecycle.StateMitigated || f.Control == "" || f.ExpiresAt.IsZero() {
		t.Fatalf("mitigated %+v", f)
	}
	if n, _, _ := s.List(ctx, e.TenantA.ID, lifecycle.Filter{Overdue: true}); len(n) != 0 {
		t.Fatalf("overdue before any due date: %d", len(n))
	}
	c.t = c.t.Add(48 * time.Hour)
	n, err := s.Expire(ctx, e.TenantA.ID)
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v (want the risk acceptance only)", n, err)
	}
	c.t = c.t.Add(48 * time.Hour)
	if n, err = s.Expire(ctx, e.TenantA.ID); err != nil || n != 1 {
		t.Fatalf("expired %d, %v (want the mitigation)", n, err)
	}
	f, _, _ = s.Get(ctx, e.TenantA.ID, id2)
	if f.State != lifecycle.StateReopened || f.Control != "" || !f.ExpiresAt.IsZero() {
		t.Fatalf("after expiry %+v", f)
	}

	// SLA: thirty-one days later every open high finding is overdue.
	c.t = c.t.Add(31 * 24 * time.Hour)
	over, _, err := s.List(ctx, e.TenantA.ID, lifecycle.Filter{Overdue: true, Severity: "high"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range over {
		if !s.Overdue(f) {
			t.Fatalf("%s listed overdue but not", f.ID)
		}
	}

	// Bulk: each finding on its own.
	res, err := s.Bulk(ctx, e.TenantA.ID, []string{id2, id, "nope"}, lifecycle.ChangeInput{To: lifecycle.StateConfirmed})
	if err != nil || res.Changed != 1 || len(res.Failed) != 2 {
		t.Fatalf("bulk %+v, %v", res, err)
	}
	actions, err := e.Audit.List(ctx, store.AuditFilter{TenantID: e.TenantA.ID, Action: "vuln.change"})
	if err != nil || len(actions) < 8 {
		t.Fatalf("audit %d, %v", len(actions), err)
	}
}

func TestBadFilesAndAccess(t *testing.T) {
	e, s, _ := newService(t)
	ctx := e.AdminCtx(t.Context())
	data := sample(t, "many_findings.json")
	var fe *store.FieldError
	_, err := s.Import(ctx, e.TenantA.ID, lifecycle.ImportInput{Filename: "cut.json", Data: data[:len(data)/2], Format: "nuclei"})
	if !errors.As(err, &fe) || fe.Field != "file" {
		t.Fatalf("truncated file: %v", err)
	}
	_, err = s.Import(ctx, e.TenantA.ID, lifecycle.ImportInput{Filename: "x.bin", Data: []byte("\x00\x01garbage")})
	if !errors.As(err, &fe) || fe.Field != "format" {
		t.Fatalf("unknown file: %v", err)
	}
	if _, n, _ := s.List(ctx, e.TenantA.ID, lifecycle.Filter{}); n != 0 {
		t.Fatalf("a failed import stored %d findings", n)
	}
	cust := e.As(t.Context(), e.CustomerB)
	if _, err := s.Import(cust, e.TenantB.ID, lifecycle.ImportInput{Data: data}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer import: %v", err)
	}
	if _, err := s.Import(ctx, e.TenantA.ID, lifecycle.ImportInput{Data: data}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.List(cust, e.TenantA.ID, lifecycle.Filter{}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer B lists A: %v", err)
	}
	list, _, err := s.List(ctx, e.TenantA.ID, lifecycle.Filter{Page: store.Page{Limit: 1}})
	if err != nil || len(list) != 1 {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, e.TenantB.ID, list[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("A's finding through B: %v", err)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
