package exercise_test

import (
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
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// member creates a user holding role in one tenant only.
func member(t *testing.T, env *fixture.Env, name, tenantID, role string) context.Context {
	t.Helper()
	actx := env.AdminCtx(context.Background())
	u, err := env.Tenants.CreateUser(actx, tenant.UserInput{Username: name, Password: fixture.Password})
	ok(t, err)
	ok(t, env.Tenants.SetMembership(actx, u.ID, tenantID, role))
	return env.As(context.Background(), u)
}

// multiPlan is a drill run by a regulator's tenant over two customers,
// with nothing of its own in scope.
func multiPlan(a, b string) exercise.Plan {
	return exercise.Plan{Name: "regional drill", Window: drill.Window{Start: start, End: start.Add(72 * time.Hour)},
		Participants: []drill.Participant{{TenantID: a, Scope: drill.Scope{CIDRs: []string{"10.1.0.0/16"}}},
			{TenantID: b, Scope: drill.Scope{CIDRs: []string{"10.2.0.0/16"}}}},
		Teams: []drill.Team{{Name: "red", Role: drill.RoleAttacker}, {Name: "blue-a", Role: drill.RoleDefender, TenantID: a},
			{Name: "blue-b", Role: drill.RoleDefender, TenantID: b}, {Name: "control", Role: drill.RoleDirector}},
		LibraryCases: []string{"lib-t1110.001-password-guessing"}}
}

func recordIDs(rs []drill.AttackRecord) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

// TestDrillAcrossTenants runs a drill a regulator's tenant organises over
// two customers and checks that each customer's users see and act on
// their own part only: records, observations, reports, teams, scope and
// evidence files of the other customer are out of reach; the scope guard
// checks each target against the scope of the organisation attacked; and
// only the organiser directs.
func TestDrillAcrossTenants(t *testing.T) {
	t.Parallel()
	env, _, clk := setup(t)
	svc := exercise.NewService(env.Store, env.Audit, exercise.Options{Archive: env.Archive, Now: clk.now, Files: env.Attachments})
	ctx := env.AdminCtx(context.Background())
	reg, err := env.Tenants.CreateTenant(ctx, tenant.TenantInput{Slug: "regulator", Name: "Regulator"})
	ok(t, err)
	outsiderT, err := env.Tenants.CreateTenant(ctx, tenant.TenantInput{Slug: "outsider", Name: "Outsider"})
	ok(t, err)
	ta, tb := env.TenantA.ID, env.TenantB.ID
	ea := member(t, env, "expert-a", ta, auth.RoleExpert)
	eb := member(t, env, "expert-b", tb, auth.RoleExpert)
	eo := member(t, env, "expert-o", outsiderT.ID, auth.RoleExpert)

	// Enrolling another organisation needs assessment.write there.
	if _, err := svc.Create(ea, ta, exercise.Plan{Name: "grab", Window: drill.Window{Start: start, End: start.Add(time.Hour)},
		Scope:        drill.Scope{CIDRs: []string{"10.1.0.0/16"}},
		Participants: []drill.Participant{{TenantID: tb, Scope: drill.Scope{CIDRs: []string{"10.2.0.0/16"}}}},
		Teams: []drill.Team{{Name: "r", Role: drill.RoleAttacker}, {Name: "b", Role: drill.RoleDefender},
			{Name: "c", Role: drill.RoleDirector}}}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an expert of A enrols B: %v", err)
	}

	d, err := svc.Create(ctx, reg.ID, multiPlan(ta, tb))
	ok(t, err)
	clk.t = start.Add(time.Minute)
	d, err = svc.Transition(ctx, reg.ID, d.ID, d.Version, drill.StateRunning, "")
	ok(t, err)
	attack := func(tenantID, addr string) (drill.AttackRecord, error) {
		clk.t = clk.t.Add(time.Minute)
		_, rec, err := svc.RecordAttack(ctx, reg.ID, d.ID, drill.AttackRecord{Team: "red", What: "spray " + addr, Technique: "T1110.001",
			Target: drill.Target{Address: addr}, TenantID: tenantID, Achievement: drill.AchieveBoundary, Unit: tenantID})
		return rec, err
	}
	recA, err := attack(ta, "10.1.0.5")
	ok(t, err)
	recB, err := attack(tb, "10.2.0.5")
	ok(t, err)
	// The scope guard checks the organisation attacked: B's range is not
	// A's, the organiser has nothing in scope, an outsider takes no part.
	for _, bad := range []struct{ tenant, addr string }{{ta, "10.2.0.5"}, {"", "10.1.0.5"}, {reg.ID, "10.1.0.5"}, {outsiderT.ID, "10.1.0.5"}} {
		if _, err := attack(bad.tenant, bad.addr); !errors.Is(err, drill.ErrOutOfScope) {
			t.Fatalf("attack on %q %s: %v, want out of scope", bad.tenant, bad.addr, err)
		}
	}

	// The organiser sees everything.
	full, err := svc.Get(ctx, reg.ID, d.ID)
	ok(t, err)
	if got := recordIDs(full.Records); !slices.Equal(got, recordIDs([]drill.AttackRecord{recA, recB})) {
		t.Fatalf("organiser sees records %v", got)
	}

	// Each customer sees its own part only.
	see := func(c context.Context, tn string, want drill.AttackRecord, other drill.AttackRecord, team, otherTeam, cidr string) {
		t.Helper()
		part, err := svc.Get(c, tn, d.ID)
		ok(t, err)
		if got := recordIDs(part.Records); !slices.Equal(got, []string{want.ID}) {
			t.Fatalf("%s sees records %v, want only %s", tn, got, want.ID)
		}
		if _, found := part.Record(other.ID); found {
			t.Fatalf("%s sees the other customer's record", tn)
		}
		if _, found := part.Team(otherTeam); found {
			t.Fatalf("%s sees the other customer's defending team", tn)
		}
		if _, found := part.Team(team); !found {
			t.Fatalf("%s lost its own defending team", tn)
		}
		if !slices.Equal(part.Scope.CIDRs, []string{cidr}) || len(part.Participants) != 1 {
			t.Fatalf("%s sees scope %+v and participants %+v", tn, part.Scope, part.Participants)
		}
		list, err := svc.List(c, tn, store.Page{})
		ok(t, err)
		if len(list) != 1 || list[0].ID != d.ID || len(list[0].Scope) != 0 {
			t.Fatalf("%s lists %+v", tn, list)
		}
	}
	see(ea, ta, recA, recB, "blue-a", "blue-b", "10.1.0.0/16")
	see(eb, tb, recB, recA, "blue-b", "blue-a", "10.2.0.0/16")

	// Defending acts on one's own records only.
	clk.t = clk.t.Add(time.Minute)
	_, err = svc.Observe(ea, ta, d.ID, drill.Observation{RecordID: recA.ID, Layer: drill.LayerIDSIPS, Level: drill.LevelAlerted})
	ok(t, err)
	if _, err := svc.Observe(ea, ta, d.ID, drill.Observation{RecordID: recB.ID, Layer: drill.LayerIDSIPS, Level: drill.LevelAlerted}); !errors.Is(err, drill.ErrNotFound) {
		t.Fatalf("A observes B's record: %v", err)
	}
	if _, _, err := svc.SubmitReport(ea, ta, d.ID, exercise.ReportInput{Team: "blue-b", Kind: drill.ReportAnalysis, Title: "x"}); err == nil {
		t.Fatal("A reports for B's team")
	}
	if _, _, err := svc.SubmitReport(ea, ta, d.ID, exercise.ReportInput{Team: "blue-a", Kind: drill.ReportAnalysis, Title: "x", RecordID: recB.ID}); err == nil {
		t.Fatal("A reports on B's record")
	}
	_, rpA, err := svc.SubmitReport(ea, ta, d.ID, exercise.ReportInput{Team: "blue-a", Kind: drill.ReportAnalysis, Title: "spray seen", RecordID: recA.ID})
	ok(t, err)
	if rpA.TenantID != ta {
		t.Fatalf("report concerns %q, want A", rpA.TenantID)
	}
	partB, err := svc.Get(eb, tb, d.ID)
	ok(t, err)
	if len(partB.Observed) != 0 || len(partB.Reports) != 0 {
		t.Fatalf("B sees A's observations %+v or reports %+v", partB.Observed, partB.Reports)
	}
	if sc, err := partB.Score(); err != nil || sc.Defenders["blue-a"] != 0 || len(sc.Defenders) != 1 {
		t.Fatalf("B's scores %+v, %v", sc, err)
	}

	// Evidence: A adds to its record; B cannot list or open it, nor the
	// organiser's own documents.
	f, err := svc.AddFile(ea, ta, d.ID, recA.ID, attach.Input{Name: "ids.png", Content: strings.NewReader("\x89PNG screenshot")})
	ok(t, err)
	if _, err := svc.Files(eb, tb, d.ID, recA.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("B lists A's evidence: %v", err)
	}
	if _, _, err := svc.OpenFile(eb, tb, d.ID, recA.ID, f.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("B opens A's evidence: %v", err)
	}
	if _, _, err := svc.OpenFile(eb, tb, d.ID, recB.ID, f.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("B opens A's evidence through its own record: %v", err)
	}
	if _, err := svc.Files(ea, ta, d.ID, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("A lists the organiser's files: %v", err)
	}
	if _, data, err := svc.OpenFile(ea, ta, d.ID, recA.ID, f.ID); err != nil || string(data) != "\x89PNG screenshot" {
		t.Fatalf("A opens its evidence: %q, %v", data, err)
	}
	if _, data, err := svc.OpenFile(ctx, reg.ID, d.ID, recA.ID, f.ID); err != nil || len(data) == 0 {
		t.Fatalf("organiser opens A's evidence: %v", err)
	}

	// Outsiders and other tenants' paths.
	if _, err := svc.Get(eo, outsiderT.ID, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("outsider reads the drill: %v", err)
	}
	if _, err := svc.Get(ea, tb, d.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("A reads through B's path: %v", err)
	}
	if s, err := svc.Suggestions(eo, outsiderT.ID, d.ID); !errors.Is(err, store.ErrNotFound) || s != nil {
		t.Fatalf("outsider suggestions %v, %v", s, err)
	}

	// Only the organiser directs, records and deletes.
	if _, err := svc.Transition(ea, ta, d.ID, 0, drill.StatePaused, "stop"); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("A pauses: %v", err)
	}
	if _, _, err := svc.RecordAttack(ea, ta, d.ID, drill.AttackRecord{Team: "red", What: "x", Technique: "T1046",
		Target: drill.Target{Address: "10.1.0.9"}}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("A records an attack: %v", err)
	}
	if err := svc.DeleteRecord(ea, ta, d.ID, recA.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("A deletes its record: %v", err)
	}

	// The organiser's per-organisation breakdown counts each part.
	parts, err := full.TenantBreakdown()
	ok(t, err)
	if len(parts) != 3 || parts[0].TenantID != reg.ID || parts[1].Records != 1 || parts[2].Records != 1 || parts[0].Records != 0 {
		t.Fatalf("breakdown %+v", parts)
	}
	if parts[1].Name != env.TenantA.Name {
		t.Fatalf("participant name %q, want %q", parts[1].Name, env.TenantA.Name)
	}
}

// TestDeleteRecordTakesItsFiles: the directing team deletes an attack
// record; its observations and evidence files go with it, a content the
// drill's own file shares survives, the deletion is audited, and a
// finished drill keeps its records.
func TestDeleteRecordTakesItsFiles(t *testing.T) {
	t.Parallel()
	env, _, clk := setup(t)
	svc := exercise.NewService(env.Store, env.Audit, exercise.Options{Archive: env.Archive, Now: clk.now, Files: env.Attachments})
	ctx := env.AdminCtx(context.Background())
	actx := env.As(context.Background(), env.AnalystA)
	tn := env.TenantA.ID
	d, err := svc.Create(ctx, tn, plan())
	ok(t, err)
	clk.t = start.Add(time.Minute)
	d, err = svc.Transition(ctx, tn, d.ID, d.Version, drill.StateRunning, "")
	ok(t, err)
	clk.t = start.Add(5 * time.Minute)
	_, rec, err := svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "scan", Technique: "T1046", Target: drill.Target{Address: "10.20.1.5"}})
	ok(t, err)
	_, keep, err := svc.RecordAttack(ctx, tn, d.ID, drill.AttackRecord{Team: "red", What: "scan 2", Technique: "T1046", Target: drill.Target{Address: "10.20.1.6"}})
	ok(t, err)
	clk.t = start.Add(6 * time.Minute)
	for _, r := range []string{rec.ID, keep.ID} {
		_, err = svc.Observe(actx, tn, d.ID, drill.Observation{RecordID: r, Layer: drill.LayerIDSIPS, Level: drill.LevelAlerted})
		ok(t, err)
	}
	shared := "the same screenshot bytes"
	unique, err := svc.AddFile(ctx, tn, d.ID, rec.ID, attach.Input{Name: "only-here.txt", Content: strings.NewReader("bytes only this record has")})
	ok(t, err)
	dup, err := svc.AddFile(ctx, tn, d.ID, rec.ID, attach.Input{Name: "copy.txt", Content: strings.NewReader(shared)})
	ok(t, err)
	kept, err := svc.AddFile(ctx, tn, d.ID, "", attach.Input{Name: "original.txt", Content: strings.NewReader(shared)})
	ok(t, err)
	if dup.SHA256 != kept.SHA256 {
		t.Fatal("the two files do not share their content")
	}

	// The analyst (no assessment.write) may not delete.
	if err := svc.DeleteRecord(actx, tn, d.ID, rec.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst deletes: %v", err)
	}
	ok(t, svc.DeleteRecord(ctx, tn, d.ID, rec.ID))
	if err := svc.DeleteRecord(ctx, tn, d.ID, rec.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting again: %v", err)
	}
	got, err := svc.Get(ctx, tn, d.ID)
	ok(t, err)
	if _, found := got.Record(rec.ID); found || len(got.Records) != 1 {
		t.Fatalf("records after delete: %v", recordIDs(got.Records))
	}
	for _, o := range got.Observed {
		if o.RecordID == rec.ID {
			t.Fatal("an observation of the deleted record is left")
		}
	}
	if len(got.Observed) != 1 {
		t.Fatalf("observations after delete: %+v", got.Observed)
	}
	for _, id := range []string{unique.ID, dup.ID} {
		if _, err := env.Store.Attachments().Get(ctx, tn, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("file %s outlived its record: %v", id, err)
		}
		if _, err := env.Store.Attachments().Content(ctx, tn, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("content of %s outlived its record: %v", id, err)
		}
	}
	if _, data, err := svc.OpenFile(ctx, tn, d.ID, "", kept.ID); err != nil || string(data) != shared {
		t.Fatalf("the drill's file with the shared content: %q, %v", data, err)
	}
	if acts := auditActions(t, env, tn); !slices.Contains(acts, "drill.record.delete") {
		t.Fatalf("deletion not audited: %v", acts)
	}

	clk.t = start.Add(time.Hour)
	_, err = svc.Transition(ctx, tn, d.ID, 0, drill.StateFinished, "")
	ok(t, err)
	if err := svc.DeleteRecord(ctx, tn, d.ID, keep.ID); !errors.Is(err, drill.ErrState) {
		t.Fatalf("deleting from a finished drill: %v", err)
	}
}
