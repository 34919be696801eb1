package exercise_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var start = time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)

func plan() exercise.Plan {
	return exercise.Plan{Name: "重点时期演练 <script>alert(1)</script>", RulesOfEngagement: "No DoS. {{.X}}",
		Window: drill.Window{Start: start, End: start.Add(72 * time.Hour)},
		Scope:  drill.Scope{CIDRs: []string{"10.20.0.0/16"}, Hosts: []string{"*.corp.example"}, ExcludeCIDRs: []string{"10.20.99.0/24"}},
		Teams: []drill.Team{{Name: "red", Role: drill.RoleAttacker}, {Name: "blue", Role: drill.RoleDefender, Unit: "HQ"},
			{Name: "control", Role: drill.RoleDirector, Members: []string{"admin"}}},
		LibraryCases: []string{"lib-t1110.001-password-guessing"}}
}

func setup(t *testing.T) (*fixture.Env, *exercise.Service, *clock) {
	t.Helper()
	env := fixture.New(t)
	clk := &clock{t: start.Add(-time.Hour)}
	return env, exercise.NewService(env.Store, env.Audit, exercise.Options{Archive: env.Archive, Now: clk.now}), clk
}

func auditActions(t *testing.T, env *fixture.Env, tenantID string) []string {
	t.Helper()
	es, err := env.Store.Audit().List(context.Background(), store.AuditFilter{TenantID: tenantID, Page: store.Page{Limit: 100}})
	ok(t, err)
	var out []string
	for _, e := range es {
		if strings.HasPrefix(e.Action, "drill.") {
			out = append(out, e.Action)
		}
	}
	slices.Reverse(out)
	return out
}

// TestDrillLifecycle runs a drill through the service: plan, start, an
// out-of-scope attack refused and not stored, an in-scope attack recorded,
// an alert raised on the target linked and confirmed by the analyst, the
// emergency stop with its reason, finish, score and the archived summary.
func TestDrillLifecycle(t *testing.T) {
	t.Parallel()
	env, svc, clk := setup(t)
	ctx := env.AdminCtx(context.Background())
	tn := env.TenantA.ID
	lib, err := svc.Library()
	ok(t, err)
	if _, found := lib.Get("lib-t1110.001-password-guessing"); !found {
		t.Fatal("the library lost its password guessing case")
	}

	d, err := svc.Create(ctx, tn, plan())
	ok(t, err)
	if d.State != drill.StatePlanned || d.Version != 1 || len(d.Cases) != 1 {
		t.Fatalf("created: state %s version %d cases %d", d.State, d.Version, len(d.Cases))
	}
	_, err = svc.Create(ctx, tn, plan())
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("duplicate name: %v", err)
	}

	// An attack before the start is refused by the state machine.
	_, _, err = svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "scan", Technique: "T1046", Target: drill.Target{Address: "10.20.1.5"}})
	if !errors.Is(err, drill.ErrState) || !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("attack while planned: %v", err)
	}

	clk.t = start.Add(time.Minute)
	_, err = svc.Transition(ctx, tn, d.ID, d.Version+5, drill.StateRunning, "")
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale version: %v", err)
	}
	d, err = svc.Transition(ctx, tn, d.ID, d.Version, drill.StateRunning, "")
	ok(t, err)

	// Out of scope: refused, nothing stored, the refusal audited.
	clk.t = start.Add(10 * time.Minute)
	_, _, err = svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "brute force", Technique: "T1110.001",
		Target: drill.Target{Address: "10.20.99.7"}})
	if !errors.Is(err, drill.ErrOutOfScope) {
		t.Fatalf("out of scope: %v", err)
	}
	got, err := svc.Get(ctx, tn, d.ID)
	ok(t, err)
	if len(got.Records) != 0 || got.Version != d.Version {
		t.Fatalf("refused record stored: %d records, version %d→%d", len(got.Records), d.Version, got.Version)
	}

	_, rec, err := svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "SSH password spraying <img src=x>",
		Technique: "t1110.001", From: "198.51.100.9", Target: drill.Target{Host: "jump.corp.example", Address: "10.20.1.5"},
		Result: drill.Result{Foothold: true}, Achievement: drill.AchieveBoundary, Unit: "HQ"})
	ok(t, err)
	if rec.Technique != "T1110.001" || rec.CaseID != "" || !strings.HasPrefix(rec.ID, "A-") {
		t.Fatalf("record = %+v", rec)
	}

	// An alert on the target 12 minutes later, and one on another host.
	for _, al := range []store.Alert{
		{TenantID: tn, GroupKey: "r1|jump", RuleID: "r1", RuleTitle: "SSH brute force", Level: "high", Host: "jump",
			Tags: []string{"attack.credential-access", "attack.t1110.001"}, FirstSeen: start.Add(22 * time.Minute), LastSeen: start.Add(22 * time.Minute), Count: 1, Status: "new"},
		{TenantID: tn, GroupKey: "r1|db", RuleID: "r1", RuleTitle: "SSH brute force", Level: "high", Host: "db.other.example",
			Tags: []string{"attack.t1110.001"}, FirstSeen: start.Add(23 * time.Minute), LastSeen: start.Add(23 * time.Minute), Count: 1, Status: "new"},
	} {
		_, err := env.Store.Alerts().Raise(ctx, &al, time.Minute, []string{"new"}, 3)
		ok(t, err)
	}
	sugs, err := svc.Suggestions(ctx, tn, d.ID)
	ok(t, err)
	if len(sugs) != 1 || sugs[0].RecordID != rec.ID || sugs[0].Delay != 12*time.Minute || sugs[0].Technique != drill.TechniqueExact {
		t.Fatalf("suggestions = %+v", sugs)
	}

	// The analyst (event.triage, no assessment.write) confirms; they may
	// not record attacks.
	actx := env.As(context.Background(), env.AnalystA)
	_, _, err = svc.RecordAttack(actx, tn, d.ID, drill.AttackRecord{Team: "red", What: "x", Technique: "T1046", Target: drill.Target{Address: "10.20.1.6"}})
	if !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst records an attack: %v", err)
	}
	_, err = svc.Confirm(actx, tn, d.ID, rec.ID, "nope", time.Time{})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("confirm of a link not proposed: %v", err)
	}
	_, err = svc.Confirm(actx, tn, d.ID, rec.ID, sugs[0].AlertID, start.Add(40*time.Minute))
	ok(t, err)
	if sugs, err = svc.Suggestions(ctx, tn, d.ID); err != nil || len(sugs) != 0 {
		t.Fatalf("suggestions after the confirmation: %v %+v", err, sugs)
	}

	// Emergency stop needs a reason; the other tenant sees nothing.
	_, err = svc.Transition(ctx, tn, d.ID, 0, drill.StatePaused, " ")
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("pause without a reason: %v", err)
	}
	clk.t = start.Add(time.Hour)
	d, err = svc.Transition(ctx, tn, d.ID, 0, drill.StatePaused, "production latency")
	ok(t, err)
	if last := d.StateLog[len(d.StateLog)-1]; last.By != "admin" || last.Reason != "production latency" {
		t.Fatalf("emergency stop logged as %+v", last)
	}
	_, _, err = svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "x", Technique: "T1046", Target: drill.Target{Address: "10.20.1.6"}})
	if !errors.Is(err, drill.ErrState) {
		t.Fatalf("attack while paused: %v", err)
	}
	_, err = svc.Get(ctx, env.TenantB.ID, d.ID)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant: %v", err)
	}
	_, err = svc.Announce(ctx, tn, d.ID, drill.RoleAttacker, "stand down until 03:00")
	ok(t, err)
	d, err = svc.Transition(ctx, tn, d.ID, 0, drill.StateFinished, "")
	ok(t, err)

	// Scores: the default scheme's boundary points for red, detection
	// points for blue (read from the scheme, not from the code's output).
	scheme, err := drill.DefaultScheme()
	ok(t, err)
	sc, err := d.Score()
	ok(t, err)
	if want := scheme.Attacker.Points[drill.AchieveBoundary]; sc.Attackers["red"] != min(want, scheme.Attacker.CapPerUnit) {
		t.Fatalf("red scored %d, want %d", sc.Attackers["red"], want)
	}
	wantBlue := scheme.Defender.Detection["alerted"]
	if 12*time.Minute <= time.Duration(scheme.Defender.FastWithin) {
		wantBlue += scheme.Defender.FastPoints
	}
	if sc.Defenders["blue"] != wantBlue {
		t.Fatalf("blue scored %d, want %d", sc.Defenders["blue"], wantBlue)
	}

	rep, err := svc.Report(ctx, tn, d.ID, "zh-CN", report.FormatHTML)
	ok(t, err)
	body := string(rep.Content)
	if rep.Service != exercise.ServiceCode || !strings.Contains(body, "攻防演练总结报告") || strings.Contains(body, "<script>alert(1)") ||
		strings.Contains(body, "<img src=x>") {
		t.Fatalf("report %s/%s:\n%.2000s", rep.Service, rep.Kind, body)
	}

	want := []string{"drill.create", "drill.start", "drill.record.refused", "drill.record", "drill.confirm", "drill.pause",
		"drill.announce", "drill.finish", "drill.report"}
	if got := auditActions(t, env, tn); !slices.Equal(got, want) {
		t.Fatalf("audit = %v, want %v", got, want)
	}
}

// TestTeamMembers checks that listed members act for their role only.
func TestTeamMembers(t *testing.T) {
	t.Parallel()
	env, svc, clk := setup(t)
	ctx := env.AdminCtx(context.Background())
	tn := env.TenantA.ID
	p := plan()
	p.Teams[0].Members = []string{"red-1"}
	p.Teams[2].Members = []string{"director-1"}
	d, err := svc.Create(ctx, tn, p)
	ok(t, err)
	clk.t = start.Add(time.Minute)
	_, err = svc.Transition(ctx, tn, d.ID, 0, drill.StateRunning, "")
	if !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("admin is not a director of this drill: %v", err)
	}
	_, _, err = svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "x", Technique: "T1046", Target: drill.Target{Address: "10.20.1.6"}})
	if !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("admin is not on the red team: %v", err)
	}
	// The defenders list nobody: anyone with event.triage confirms.
	_, err = svc.Observe(env.As(context.Background(), env.AnalystA), tn, d.ID, drill.Observation{RecordID: "none", Layer: drill.LayerWAF, Level: drill.LevelBlocked})
	if !errors.Is(err, drill.ErrNotFound) {
		t.Fatalf("observation of a missing record: %v", err)
	}
}

// TestConcurrentRecords records attacks from several goroutines: every one
// is stored (conflicting versions are retried) and versions count them.
func TestConcurrentRecords(t *testing.T) {
	t.Parallel()
	env, svc, clk := setup(t)
	ctx := env.AdminCtx(context.Background())
	tn := env.TenantA.ID
	d, err := svc.Create(ctx, tn, plan())
	ok(t, err)
	clk.t = start.Add(time.Minute)
	d, err = svc.Transition(ctx, tn, d.ID, 0, drill.StateRunning, "")
	ok(t, err)
	const n = 4
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, _, err := svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "scan", Technique: "T1046",
				Target: drill.Target{Address: "10.20.1." + string(rune('1'+i))}})
			errs <- err
		}()
	}
	for range n {
		ok(t, <-errs)
	}
	got, err := svc.Get(ctx, tn, d.ID)
	ok(t, err)
	if len(got.Records) != n || got.Version != d.Version+n {
		t.Fatalf("%d records, version %d (from %d)", len(got.Records), got.Version, d.Version)
	}
}

// TestIncidentLink links an incident the monitoring desk opened on the
// attacked asset to the attack record, and the analyst confirms it as a
// manual-monitoring detection.
func TestIncidentLink(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	now := time.Now().UTC()
	svc := exercise.NewService(env.Store, env.Audit, exercise.Options{Archive: env.Archive})
	ctx := env.AdminCtx(context.Background())
	tn := env.TenantA.ID
	p := plan()
	p.Window = drill.Window{Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour)}
	p.Scope = drill.Scope{AssetIDs: []string{env.AssetA.ID}}
	d, err := svc.Create(ctx, tn, p)
	ok(t, err)
	_, err = svc.Transition(ctx, tn, d.ID, 0, drill.StateRunning, "")
	ok(t, err)
	_, rec, err := svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "password guessing", Technique: "T1110.001",
		At: now.Add(-10 * time.Minute), Target: drill.Target{AssetID: env.AssetA.ID}})
	ok(t, err)
	in := store.Incident{TenantID: tn, Title: "Brute force on the portal", Severity: "high", TLP: "amber", PAP: "amber",
		Category: "intrusion", Phase: "detect", Techniques: []string{"T1110"}, AssetIDs: []string{env.AssetA.ID}}
	ok(t, env.Store.Incidents().Create(ctx, &in))
	sugs, err := svc.Suggestions(ctx, tn, d.ID)
	ok(t, err)
	if len(sugs) != 1 || sugs[0].IncidentID != in.ID || sugs[0].Layer != drill.LayerManual || sugs[0].Technique != drill.TechniqueRelated {
		t.Fatalf("suggestions = %+v", sugs)
	}
	got, err := svc.Confirm(env.As(context.Background(), env.AnalystA), tn, d.ID, rec.ID, sugs[0].AlertID, time.Time{})
	ok(t, err)
	if len(got.Observed) != 1 || got.Observed[0].Layer != drill.LayerManual || got.Observed[0].By != "analyst-a" {
		t.Fatalf("observations = %+v", got.Observed)
	}
}
