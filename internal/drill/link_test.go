package drill

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

func TestLink(t *testing.T) {
	d := newTestDrill(t)
	must(t, d.Transition(StateRunning, "dave", "", t0))
	at := t0.Add(2 * time.Hour)
	must(t, d.RecordAttack(AttackRecord{ID: "r1", Team: "red-1", What: "guess", At: at, Target: Target{Address: "10.20.1.5"}, Technique: "T1110"}))
	must(t, d.RecordAttack(AttackRecord{ID: "r2", Team: "red-1", What: "dump", At: at, Target: Target{Host: "ar-win-dc.attackrange.local", AssetID: "asset-dc"}, Technique: "T1003.001"}))
	alert := func(id, host, asset string, after time.Duration, tags ...string) store.Alert {
		return store.Alert{ID: id, TenantID: "tenant-a", RuleTitle: "rule " + id, Host: host, AssetID: asset, Tags: tags, FirstSeen: at.Add(after)}
	}
	alerts := []store.Alert{
		alert("sub", "10.20.1.5", "", 10*time.Minute, "attack.credential-access", "attack.t1110.001"), // sub-technique of r1
		alert("short", "AR-WIN-DC", "", 30*time.Minute, "attack.t1003.001"),                           // host without domain
		alert("asset", "", "asset-dc", time.Hour, "attack.t1003"),                                     // parent technique, by asset
		alert("untagged", "ar-win-dc.attackrange.local", "", -3*time.Minute),                          // no technique: weak, clock behind
		alert("other-tech", "ar-win-dc.attackrange.local", "", 5*time.Minute, "attack.t1059.001"),     // another technique
		alert("late", "ar-win-dc.attackrange.local", "", 3*time.Hour, "attack.t1003.001"),             // after the window
		alert("early", "10.20.1.5", "", -time.Hour, "attack.t1110"),                                   // before the record
		alert("other-host", "10.20.1.6", "", time.Minute, "attack.t1110"),
		alert("sibling", "10.20.1.5", "", time.Minute, "attack.t1003.002"),
	}
	foreign := alert("foreign", "10.20.1.5", "", time.Minute, "attack.t1110")
	foreign.TenantID = "tenant-b"
	alerts = append(alerts, foreign)
	got := d.Link(alerts, LinkOptions{})
	type pair struct{ rec, alert, tech, how string }
	want := []pair{
		{"r1", "sub", TechniqueRelated, "address"},
		{"r2", "short", TechniqueExact, "host"},
		{"r2", "asset", TechniqueRelated, "asset"},
		{"r2", "untagged", TechniqueUnknown, "host"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d suggestions, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.RecordID != w.rec || g.AlertID != w.alert || g.Technique != w.tech || g.Matched != w.how || g.Layer != LayerSIEMRule || g.Level != LevelAlerted {
			t.Errorf("suggestion %d: %+v, want %+v", i, g, w)
		}
	}
	// A longer window takes the late alert; a confirmed alert is not
	// suggested again.
	if n := len(d.Link(alerts, LinkOptions{After: 4 * time.Hour})); n != len(want)+1 {
		t.Errorf("4h window: %d suggestions, want %d", n, len(want)+1)
	}
	must(t, d.Confirm(got[1], "bob", time.Time{}))
	if n := len(d.Link(alerts, LinkOptions{})); n != len(want)-1 {
		t.Errorf("after confirming: %d suggestions, want %d", n, len(want)-1)
	}
	if err := d.Confirm(got[1], "bob", time.Time{}); err == nil {
		t.Error("the same alert confirmed twice")
	}
}

func TestLinkIncidents(t *testing.T) {
	d := newTestDrill(t)
	must(t, d.Transition(StateRunning, "dave", "", t0))
	at := t0.Add(2 * time.Hour)
	must(t, d.RecordAttack(AttackRecord{ID: "r1", Team: "red-1", What: "dump", At: at, Target: Target{AssetID: "asset-dc"}, Technique: "T1003.001"}))
	must(t, d.RecordAttack(AttackRecord{ID: "r2", Team: "red-1", What: "scan", At: at, Target: Target{Address: "10.20.1.1"}, Technique: "T1046"}))
	incidents := []store.Incident{
		{ID: "i1", TenantID: "tenant-a", Title: "Credential theft on the DC", Techniques: []string{"T1003"}, AssetIDs: []string{"asset-portal", "asset-dc"},
			CreatedAt: at.Add(40 * time.Minute), ContainedAt: at.Add(90 * time.Minute)},
		{ID: "i2", TenantID: "tenant-a", Title: "Other technique", Techniques: []string{"T1486"}, AssetIDs: []string{"asset-dc"}, CreatedAt: at.Add(time.Minute)},
		{ID: "i3", TenantID: "tenant-a", Title: "Late", AssetIDs: []string{"asset-dc"}, CreatedAt: at.Add(5 * time.Hour)},
		{ID: "i4", TenantID: "tenant-b", Title: "Other tenant", AssetIDs: []string{"asset-dc"}, CreatedAt: at.Add(time.Minute)},
	}
	got := d.LinkIncidents(incidents, LinkOptions{})
	if len(got) != 1 || got[0].IncidentID != "i1" || got[0].RecordID != "r1" || got[0].Technique != TechniqueRelated || got[0].Layer != LayerManual {
		t.Fatalf("suggestions %+v", got)
	}
	must(t, d.Confirm(got[0], "bob", time.Time{}))
	var o CaseOutcome
	d.Cases = []TestCase{{ID: "c1", Technique: "T1003.001", Name: "dump", Layers: []Layer{LayerEDR, LayerManual}}}
	o = d.Outcomes()[0]
	if o.Layer(LayerManual).Level != LevelAlerted || o.Detect != 40*time.Minute || o.Respond != 90*time.Minute {
		t.Fatalf("outcome %+v", o)
	}
	if again := d.LinkIncidents(incidents, LinkOptions{}); len(again) != 0 {
		t.Fatalf("linked twice: %+v", again)
	}
}
