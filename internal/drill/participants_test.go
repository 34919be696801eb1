package drill

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// multiDrill is a drill run by tenant "org" over tenants "a" and "b", with
// nothing of its own in scope.
func multiDrill(t *testing.T) *Drill {
	t.Helper()
	d := &Drill{ID: "d1", TenantID: "org", Name: "Regional", State: StatePlanned, Window: Window{Start: t0, End: t0.Add(30 * time.Hour)},
		Participants: []Participant{{TenantID: "a", Name: "Alpha", Scope: Scope{CIDRs: []string{"10.1.0.0/16"}, AssetIDs: []string{"asset-1"}}},
			{TenantID: "b", Name: "Beta", Scope: Scope{CIDRs: []string{"10.2.0.0/16"}}}},
		Teams: []Team{{Name: "red", Role: RoleAttacker}, {Name: "blue-a", Role: RoleDefender, Unit: "A", TenantID: "a"},
			{Name: "blue-b", Role: RoleDefender, Unit: "B", TenantID: "b"}, {Name: "ctl", Role: RoleDirector}}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := d.AddCase(TestCase{ID: "c1", Technique: "T1046", Name: "scan", Layers: []Layer{LayerIDSIPS}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Transition(StateRunning, "ctl", "", t0); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParticipantsValidate(t *testing.T) {
	for name, mod := range map[string]func(d *Drill){
		"own tenant listed": func(d *Drill) { d.Participants[0].TenantID = "org" },
		"twice":             func(d *Drill) { d.Participants[1].TenantID = "a" },
		"empty scope":       func(d *Drill) { d.Participants[1].Scope = Scope{} },
		"bad range":         func(d *Drill) { d.Participants[0].Scope.CIDRs = []string{"10.1.0.0/99"} },
		"team of outsider":  func(d *Drill) { d.Teams[1].TenantID = "zzz" },
		"no scope at all":   func(d *Drill) { d.Participants = nil },
	} {
		d := multiDrill(t)
		mod(d)
		if err := d.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

// TestScopeGuardPerTenant: each target is checked against the scope of the
// tenant attacked only; a tenant with nothing in scope, or not taking
// part, is refused.
func TestScopeGuardPerTenant(t *testing.T) {
	d := multiDrill(t)
	rec := func(id, tenant string, tg Target) AttackRecord {
		return AttackRecord{ID: id, Team: "red", What: "x", At: t0.Add(time.Hour), Technique: "T1046", Target: tg, TenantID: tenant}
	}
	for _, r := range []AttackRecord{rec("ok-a", "a", Target{Address: "10.1.2.3"}), rec("ok-a2", "a", Target{AssetID: "asset-1"}),
		rec("ok-b", "b", Target{Address: "10.2.2.3"})} {
		if err := d.RecordAttack(r); err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
	}
	for _, r := range []AttackRecord{rec("b-in-a", "a", Target{Address: "10.2.2.3"}), rec("a-asset-in-b", "b", Target{AssetID: "asset-1"}),
		rec("own", "", Target{Address: "10.1.2.3"}), rec("own2", "org", Target{Address: "10.1.2.3"}), rec("stranger", "zzz", Target{Address: "10.1.2.3"})} {
		if err := d.RecordAttack(r); !errors.Is(err, ErrOutOfScope) {
			t.Errorf("%s: %v, want out of scope", r.ID, err)
		}
	}
	if len(d.Records) != 3 {
		t.Fatalf("%d records kept", len(d.Records))
	}
}

// TestForTenantAndBreakdown cuts each tenant's part and checks the
// per-tenant figures, worked out by hand from the default scheme:
// Alpha: one record scoring boundary_breached (100) alerted by IDS (40,
// plus 20 for detection within 30 minutes) and an accepted analysis
// report (30), so 100 attacker and 90 defender points; Beta: one record
// with no achievement and nothing observed, 0 and 0.
func TestForTenantAndBreakdown(t *testing.T) {
	d := multiDrill(t)
	for _, r := range []AttackRecord{
		{ID: "ra", Team: "red", What: "scan A", At: t0.Add(time.Hour), Technique: "T1046", Target: Target{Address: "10.1.0.1"}, TenantID: "a",
			Achievement: AchieveBoundary, Unit: "A"},
		{ID: "rb", Team: "red", What: "scan B", At: t0.Add(time.Hour), Technique: "T1046", Target: Target{Address: "10.2.0.1"}, TenantID: "b", Unit: "B"},
	} {
		if err := d.RecordAttack(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Observe(Observation{RecordID: "ra", Layer: LayerIDSIPS, Level: LevelAlerted, At: t0.Add(time.Hour + 5*time.Minute), By: "bob"}); err != nil {
		t.Fatal(err)
	}
	// A report of Alpha's team on Beta's record is refused.
	if err := d.SubmitReport(DefenceReport{ID: "x", Team: "blue-a", Kind: ReportAnalysis, Title: "t", RecordID: "rb", At: t0.Add(2 * time.Hour)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("cross-tenant report: %v", err)
	}
	if err := d.SubmitReport(DefenceReport{ID: "rp", Team: "blue-a", Kind: ReportAnalysis, Title: "t", RecordID: "ra", At: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := d.DecideReport("rp", true); err != nil {
		t.Fatal(err)
	}
	if d.Reports[0].TenantID != "a" {
		t.Fatalf("report tenant %q", d.Reports[0].TenantID)
	}

	pa := d.ForTenant("a")
	if len(pa.Records) != 1 || pa.Records[0].ID != "ra" || len(pa.Observed) != 1 || len(pa.Reports) != 1 {
		t.Fatalf("A's part: %+v", pa)
	}
	pb := d.ForTenant("b")
	if len(pb.Records) != 1 || pb.Records[0].ID != "rb" || len(pb.Observed) != 0 || len(pb.Reports) != 0 {
		t.Fatalf("B's part: %+v", pb)
	}
	if _, ok := pb.Team("blue-a"); ok || len(pb.Participants) != 1 || pb.Scope.CIDRs[0] != "10.2.0.0/16" {
		t.Fatalf("B's part shows A: teams %+v participants %+v", pb.Teams, pb.Participants)
	}
	if d.ForTenant("org") != d {
		t.Fatal("the organiser's view is not the whole drill")
	}

	parts, err := d.TenantBreakdown()
	if err != nil {
		t.Fatal(err)
	}
	want := []TenantPart{{TenantID: "org", Name: "org"},
		{TenantID: "a", Name: "Alpha", Records: 1, Executed: 1, Detected: 1, AttackPoints: 100, DefencePoints: 90},
		{TenantID: "b", Name: "Beta", Records: 1, Executed: 1}}
	if len(parts) != len(want) {
		t.Fatalf("breakdown %+v", parts)
	}
	for i := range want {
		if parts[i] != want[i] {
			t.Errorf("part %d = %+v, want %+v", i, parts[i], want[i])
		}
	}
	doc, err := d.Summary("en", t0.Add(40*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range doc.Sections {
		if s.Heading == "Per organisation" {
			found = len(s.Tables) == 1 && len(s.Tables[0].Rows) == 3 && strings.Contains(s.Tables[0].Rows[1][0], "Alpha") &&
				s.Tables[0].Rows[1][4] == "100" && s.Tables[0].Rows[1][5] == "90"
		}
	}
	if !found {
		t.Fatalf("summary lacks the per-organisation table: %+v", doc.Sections)
	}
}

func TestDeleteRecord(t *testing.T) {
	d := multiDrill(t)
	for _, id := range []string{"r1", "r2"} {
		if err := d.RecordAttack(AttackRecord{ID: id, Team: "red", What: "x", At: t0.Add(time.Hour), Technique: "T1046",
			Target: Target{Address: "10.1.0.1"}, TenantID: "a"}); err != nil {
			t.Fatal(err)
		}
		if err := d.Observe(Observation{RecordID: id, Layer: LayerWAF, Level: LevelLogged, At: t0.Add(2 * time.Hour), By: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.DeleteRecord("r1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Record("r1"); ok || len(d.Records) != 1 || len(d.Observed) != 1 || d.Observed[0].RecordID != "r2" {
		t.Fatalf("after delete: %+v %+v", d.Records, d.Observed)
	}
	if err := d.DeleteRecord("r1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("again: %v", err)
	}
	if err := d.Transition(StateFinished, "ctl", "", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteRecord("r2"); !errors.Is(err, ErrState) {
		t.Fatalf("finished: %v", err)
	}
}
