package exercise_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// TestReportsEvidenceRemediation stores defender reports and scores the
// accepted ones as the default scheme says, keeps evidence on an attack
// record, and turns the drill's gap into one remediation work order
// linked both ways.
func TestReportsEvidenceRemediation(t *testing.T) {
	t.Parallel()
	env, _, clk := setup(t)
	svc := exercise.NewService(env.Store, env.Audit, exercise.Options{Archive: env.Archive, Now: clk.now, Files: env.Attachments,
		WorkOrders: env.Ops})
	ctx := env.AdminCtx(context.Background())
	actx := env.As(context.Background(), env.AnalystA)
	cctx := env.As(context.Background(), env.CustomerB)
	tn := env.TenantA.ID

	d, err := svc.Create(ctx, tn, plan())
	ok(t, err)
	// A planned drill takes no reports.
	_, _, err = svc.SubmitReport(actx, tn, d.ID, exercise.ReportInput{Team: "blue", Kind: drill.ReportAnalysis, Title: "early"})
	if !errors.Is(err, drill.ErrState) {
		t.Fatalf("report on a planned drill: %v", err)
	}
	clk.t = start.Add(time.Minute)
	d, err = svc.Transition(ctx, tn, d.ID, d.Version, drill.StateRunning, "")
	ok(t, err)
	clk.t = start.Add(10 * time.Minute)
	_, rec, err := svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "SSH password spraying", Technique: "T1110.001",
		From: "198.51.100.9", Target: drill.Target{Host: "jump.corp.example", Address: "10.20.1.5"}, Result: drill.Result{Foothold: true},
		Achievement: drill.AchieveBoundary, Unit: "HQ"})
	ok(t, err)
	_, rec2, err := svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "second host", Technique: "T1110.001",
		Target: drill.Target{Address: "10.20.1.6"}, Unit: "HQ"})
	ok(t, err)

	// Reports: the analyst (event.triage) submits; the customer of another
	// tenant and an unknown record or team are refused.
	submit := func(c context.Context, in exercise.ReportInput) drill.DefenceReport {
		t.Helper()
		clk.t = clk.t.Add(time.Minute)
		_, rp, err := svc.SubmitReport(c, tn, d.ID, in)
		ok(t, err)
		return rp
	}
	tr1 := submit(actx, exercise.ReportInput{Team: "blue", Kind: drill.ReportTracing, Title: "Traced 198.51.100.9 <b>", Text: "Whois, passive DNS.",
		RecordID: rec.ID, Related: []string{rec2.ID}})
	if tr1.By != "analyst-a" || tr1.Accepted || !slices.Equal(tr1.Records(), []string{rec.ID, rec2.ID}) || !strings.HasPrefix(tr1.ID, "R-") {
		t.Fatalf("submitted %+v", tr1)
	}
	tr2 := submit(actx, exercise.ReportInput{Team: "blue", Kind: drill.ReportTracing, Title: "Traced again", RecordID: rec.ID})
	tr3 := submit(actx, exercise.ReportInput{Team: "blue", Kind: drill.ReportTracing, Title: "And again", RecordID: rec.ID})
	an := submit(actx, exercise.ReportInput{Team: "blue", Kind: drill.ReportAnalysis, Title: "Spraying analysis"})
	rejected := submit(actx, exercise.ReportInput{Team: "blue", Kind: drill.ReportResponse, Title: "Blocked the source", RecordID: rec2.ID})
	for _, bad := range []exercise.ReportInput{
		{Team: "blue", Kind: drill.ReportTracing, Title: "x", RecordID: "A-NOPE"},
		{Team: "red", Kind: drill.ReportTracing, Title: "x"},
		{Team: "blue", Kind: "gossip", Title: "x"},
		{Team: "blue", Kind: drill.ReportAnalysis, Title: ""},
	} {
		if _, _, err := svc.SubmitReport(actx, tn, d.ID, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("report %+v: %v", bad, err)
		}
	}
	if _, _, err := svc.SubmitReport(cctx, tn, d.ID, exercise.ReportInput{Team: "blue", Kind: drill.ReportAnalysis, Title: "x"}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer of B submits: %v", err)
	}

	// Nothing scores before the director accepts.
	got, err := svc.Get(ctx, tn, d.ID)
	ok(t, err)
	sc, err := got.Score()
	ok(t, err)
	if sc.Defenders["blue"] != 0 || len(got.Reports) != 5 || got.Board().Reports != 5 || got.Board().ReportsAccepted != 0 {
		t.Fatalf("before acceptance: %v, %d reports", sc.Defenders, len(got.Reports))
	}
	// The analyst may not accept; the director does.
	if _, err := svc.DecideReport(actx, tn, d.ID, tr1.ID, true); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst accepts: %v", err)
	}
	for _, id := range []string{tr1.ID, tr2.ID, tr3.ID, an.ID, rejected.ID} {
		_, err := svc.DecideReport(ctx, tn, d.ID, id, true)
		ok(t, err)
	}
	_, err = svc.DecideReport(ctx, tn, d.ID, rejected.ID, false)
	ok(t, err)
	if _, err := svc.DecideReport(ctx, tn, d.ID, "R-NONE", true); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("deciding an unknown report: %v", err)
	}
	got, err = svc.Get(ctx, tn, d.ID)
	ok(t, err)
	sc, err = got.Score()
	ok(t, err)
	// Default scheme (scoring/default.yaml): tracing 100 with repeats on one
	// record at 100%, 50%, 0% → 100 + 50 + 0; analysis 30 on no record;
	// the rejected response nothing; no detection points.
	if want := 100 + 50 + 0 + 30; sc.Defenders["blue"] != want {
		t.Fatalf("defender points %d, want %d (%+v)", sc.Defenders["blue"], want, sc.Lines)
	}
	if b := got.Board(); b.ReportsAccepted != 4 {
		t.Fatalf("board: %+v", b)
	}
	stored, _ := got.Report(tr1.ID)
	if !stored.Accepted || stored.Text != "Whois, passive DNS." || stored.By != "analyst-a" || !stored.At.Equal(tr1.At) {
		t.Fatalf("stored report %+v", stored)
	}
	doc, err := got.Summary("en", clk.t)
	ok(t, err)
	var html bytes.Buffer
	ok(t, report.Render(ctx, doc, report.FormatHTML, &html, report.Options{}))
	for _, want := range []string{"Defender reports", "Traced 198.51.100.9 &lt;b&gt;", "Spraying analysis", rec2.ID} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}

	// Evidence on the record: the analyst uploads a screenshot, anyone
	// reading the drill lists and downloads it; B's customer cannot.
	png := []byte("\x89PNG\r\n\x1a\n screenshot bytes")
	a, err := svc.AddFile(actx, tn, d.ID, rec.ID, attach.Input{Name: "../alert.png", Content: bytes.NewReader(png), Note: "SIEM view"})
	ok(t, err)
	if a.Name != "alert.png" || a.SniffedType != "image/png" || a.OwnerKind != exercise.FileKindRecord {
		t.Fatalf("uploaded %+v", a)
	}
	if _, err := svc.AddFile(actx, tn, d.ID, "A-NOPE", attach.Input{Name: "x", Content: strings.NewReader("x")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("file on an unknown record: %v", err)
	}
	if _, err := svc.AddFile(cctx, tn, d.ID, rec.ID, attach.Input{Name: "x", Content: strings.NewReader("x")}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer of B uploads: %v", err)
	}
	files, err := svc.Files(ctx, tn, d.ID, rec.ID)
	ok(t, err)
	if len(files) != 1 || files[0].ID != a.ID {
		t.Fatalf("files %+v", files)
	}
	if other, err := svc.Files(ctx, tn, d.ID, rec2.ID); err != nil || len(other) != 0 {
		t.Fatalf("files of the other record: %v %v", other, err)
	}
	_, data, err := svc.OpenFile(ctx, tn, d.ID, rec.ID, a.ID)
	ok(t, err)
	if !bytes.Equal(data, png) {
		t.Fatal("downloaded bytes differ")
	}
	if _, _, err := svc.OpenFile(ctx, tn, d.ID, rec2.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("file through another record: %v", err)
	}

	// Remediation: the undetected spraying is a gap; its work order is
	// made once and both sides name each other.
	clk.t = start.Add(2 * time.Hour)
	_, err = svc.Transition(ctx, tn, d.ID, 0, drill.StateFinished, "")
	ok(t, err)
	got, err = svc.Get(ctx, tn, d.ID)
	ok(t, err)
	rows := got.RemediationRows("en")
	if len(rows) != 1 || rows[0].WorkOrderID != "" {
		t.Fatalf("remediation rows %+v", rows)
	}
	caseID := rows[0].CaseID
	if _, err := svc.Remediate(actx, tn, d.ID, caseID, "en"); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst (no assessment.write) remediates: %v", err)
	}
	if _, err := svc.Remediate(ctx, tn, d.ID, "no-such-case", "en"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unknown gap: %v", err)
	}
	o, err := svc.Remediate(ctx, tn, d.ID, caseID, "en")
	ok(t, err)
	if o.Type != workorder.TypeRemediation || o.State != workorder.StateDraft || !strings.Contains(o.Title, "T1110.001") ||
		!slices.Contains(o.Hosts, "10.20.1.5") {
		t.Fatalf("order %+v", o.Order)
	}
	if did, cid, found := exercise.ParseSourceRef(o.SourceRef); !found || did != d.ID || cid != caseID {
		t.Fatalf("order source %q", o.SourceRef)
	}
	if _, err := svc.Remediate(ctx, tn, d.ID, caseID, "en"); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), o.ID) {
		t.Fatalf("second order for the gap: %v", err)
	}
	got, err = svc.Get(ctx, tn, d.ID)
	ok(t, err)
	if rows := got.RemediationRows("en"); rows[0].WorkOrderID != o.ID {
		t.Fatalf("drill side of the link: %+v", rows)
	}
	orders, n, err := env.Ops.List(ctx, tn, store.WorkOrderFilter{})
	ok(t, err)
	if n != 1 || orders[0].ID != o.ID {
		t.Fatalf("%d orders", n)
	}
	acts := auditActions(t, env, tn)
	for _, want := range []string{"drill.report.submit", "drill.report.decide", "drill.remediate"} {
		if !slices.Contains(acts, want) {
			t.Errorf("audit lacks %s: %v", want, acts)
		}
	}
}

// TestDeletePlannedDrillTakesItsFiles: the directing team's file on a
// planned drill goes when the drill is deleted; an analyst may read but
// not add drill files.
func TestDeletePlannedDrillTakesItsFiles(t *testing.T) {
	t.Parallel()
	env, _, clk := setup(t)
	svc := exercise.NewService(env.Store, env.Audit, exercise.Options{Archive: env.Archive, Now: clk.now, Files: env.Attachments})
	ctx := env.AdminCtx(context.Background())
	actx := env.As(context.Background(), env.AnalystA)
	tn := env.TenantA.ID
	d, err := svc.Create(ctx, tn, plan())
	ok(t, err)
	a, err := svc.AddFile(ctx, tn, d.ID, "", attach.Input{Name: "rules-of-engagement.pdf", Content: strings.NewReader("%PDF-1.7 signed")})
	ok(t, err)
	if _, err := svc.AddFile(actx, tn, d.ID, "", attach.Input{Name: "x.txt", Content: strings.NewReader("x")}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst adds a drill file: %v", err)
	}
	if files, err := svc.Files(actx, tn, d.ID, ""); err != nil || len(files) != 1 || files[0].ID != a.ID {
		t.Fatalf("analyst lists %+v, %v", files, err)
	}
	ok(t, svc.Delete(ctx, tn, d.ID))
	if _, err := env.Store.Attachments().Get(ctx, tn, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the drill's file outlived it: %v", err)
	}
}
