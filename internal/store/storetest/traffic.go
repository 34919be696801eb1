package storetest

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

func testTraffic(t *testing.T, s store.Store) {
	ctx := t.Context()
	ts := s.Traffic()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	an := store.TrafficAnalysis{TenantID: a.ID, Name: "conn.log, dns.log", Kind: "zeek", CreatedBy: "u"}
	ok(t, ts.CreateAnalysis(ctx, &an, []store.TrafficInput{{Name: "conn.log", Data: []byte("#fields\tts\n")}, {Name: "dns.log", Data: []byte{0, 1, 2}}}))
	if an.ID == "" || an.Status != store.TrafficPending {
		t.Fatalf("created %+v", an)
	}
	stamped(t, "CreatedAt", an.CreatedAt)
	got, err := ts.GetAnalysis(ctx, a.ID, an.ID)
	ok(t, err)
	same(t, "GetAnalysis", an, got)
	_, err = ts.GetAnalysis(ctx, b.ID, an.ID)
	isErr(t, err, store.ErrNotFound)
	ins, err := ts.Inputs(ctx, a.ID, an.ID)
	ok(t, err)
	same(t, "Inputs", []store.TrafficInput{{Name: "conn.log", Data: []byte("#fields\tts\n")}, {Name: "dns.log", Data: []byte{0, 1, 2}}}, ins)
	_, err = ts.Inputs(ctx, b.ID, an.ID)
	isErr(t, err, store.ErrNotFound)

	// Start is taken once; another tenant's start is not found.
	isErr(t, ts.Start(ctx, b.ID, an.ID), store.ErrNotFound)
	ok(t, ts.Start(ctx, a.ID, an.ID))
	isErr(t, ts.Start(ctx, a.ID, an.ID), store.ErrConflict)

	beacon := store.TrafficFinding{Key: "beacon|10.0.0.5|203.0.113.9|443||", Class: "beacon", Category: "compromised", Severity: "critical",
		Score: 0.979, Src: "10.0.0.5", Dst: "203.0.113.9", DstPort: 443, Proto: "tcp", Domain: "c2.example", Technique: "T1071",
		Summary: "regular <script> intervals", Detail: []byte(`{"sub_scores":[]}`), Count: 357, Bytes: 1 << 40, Distinct: 1,
		FirstSeen: at(0), LastSeen: at(600), AlertID: "alert-1"}
	scan := store.TrafficFinding{Key: "scan_horizontal|198.51.100.7||22||", Class: "scan_horizontal", Category: "external-attack",
		Severity: "medium", Score: 0.6, Src: "198.51.100.7", DstPort: 22, FirstSeen: at(10), LastSeen: at(20)}
	done := an
	done.Status, done.From, done.To, done.Lines, done.Records, done.Skipped, done.Alerts = store.TrafficDone, at(0), at(600), 1000, 990, 10, 1
	done.Summary = []byte(`{"hosts":[]}`)
	ok(t, ts.Finish(ctx, &done, []store.TrafficFinding{scan, beacon}))
	got, err = ts.GetAnalysis(ctx, a.ID, an.ID)
	ok(t, err)
	if got.Status != store.TrafficDone || got.Findings != 2 || got.Alerts != 1 || got.Records != 990 || got.Skipped != 10 ||
		!got.From.Equal(micro(at(0))) || !got.To.Equal(micro(at(600))) || string(got.Summary) != `{"hosts":[]}` || got.FinishedAt.IsZero() {
		t.Fatalf("finished %+v", got)
	}
	other := store.TrafficAnalysis{ID: an.ID, TenantID: b.ID, Status: store.TrafficDone}
	isErr(t, ts.Finish(ctx, &other, nil), store.ErrNotFound)

	fs, err := ts.ListFindings(ctx, a.ID, store.TrafficFindingFilter{AnalysisID: an.ID})
	ok(t, err)
	if len(fs) != 2 || fs[0].Class != "beacon" || fs[1].Class != "scan_horizontal" || fs[0].Detail != nil {
		t.Fatalf("findings %+v", fs)
	}
	if fs[0].State != store.TrafficNew || fs[0].Bytes != 1<<40 || fs[0].Count != 357 || !fs[0].LastSeen.Equal(micro(at(600))) {
		t.Fatalf("beacon %+v", fs[0])
	}
	f, err := ts.GetFinding(ctx, a.ID, fs[0].ID)
	ok(t, err)
	if string(f.Detail) != `{"sub_scores":[]}` || f.Summary != beacon.Summary || f.Score != 0.979 {
		t.Fatalf("GetFinding %+v", f)
	}
	_, err = ts.GetFinding(ctx, b.ID, fs[0].ID)
	isErr(t, err, store.ErrNotFound)
	fs, err = ts.ListFindings(ctx, b.ID, store.TrafficFindingFilter{})
	ok(t, err)
	same(t, "findings of another tenant", 0, len(fs))

	// Filters: category, window.
	n, err := ts.CountFindings(ctx, a.ID, store.TrafficFindingFilter{Category: "external-attack"})
	ok(t, err)
	same(t, "external attacks", 1, n)
	n, err = ts.CountFindings(ctx, a.ID, store.TrafficFindingFilter{Since: at(100), Until: at(700)})
	ok(t, err)
	same(t, "findings active in the window", 1, n)

	// Marks, and the state filter.
	ok(t, ts.MarkFinding(ctx, a.ID, f.ID, store.TrafficFalsePositive, "backup job", "v", at(5)))
	isErr(t, ts.MarkFinding(ctx, b.ID, f.ID, store.TrafficConfirmed, "", "v", at(5)), store.ErrNotFound)
	f, err = ts.GetFinding(ctx, a.ID, f.ID)
	ok(t, err)
	if f.State != store.TrafficFalsePositive || f.Note != "backup job" || f.MarkedBy != "v" || !f.MarkedAt.Equal(micro(at(5))) {
		t.Fatalf("marked %+v", f)
	}
	n, err = ts.CountFindings(ctx, a.ID, store.TrafficFindingFilter{States: []string{store.TrafficNew, store.TrafficConfirmed}})
	ok(t, err)
	same(t, "findings not false positive", 1, n)

	// The alert of a key is found from any analysis of the tenant only.
	id, err := ts.AlertForKey(ctx, a.ID, beacon.Key)
	ok(t, err)
	same(t, "alert for key", "alert-1", id)
	id, err = ts.AlertForKey(ctx, a.ID, scan.Key)
	ok(t, err)
	same(t, "no alert for key", "", id)
	id, err = ts.AlertForKey(ctx, b.ID, beacon.Key)
	ok(t, err)
	same(t, "alert for key of another tenant", "", id)

	// Finish again replaces the findings.
	ok(t, ts.Finish(ctx, &done, []store.TrafficFinding{scan}))
	n, err = ts.CountFindings(ctx, a.ID, store.TrafficFindingFilter{AnalysisID: an.ID})
	ok(t, err)
	same(t, "findings after a second finish", 1, n)

	list, err := ts.ListAnalyses(ctx, a.ID, store.Page{})
	ok(t, err)
	if len(list) != 1 || list[0].Summary != nil || list[0].Findings != 1 {
		t.Fatalf("ListAnalyses %+v", list)
	}
	list, err = ts.ListAnalyses(ctx, b.ID, store.Page{})
	ok(t, err)
	same(t, "analyses of another tenant", 0, len(list))
}
