package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testCampaigns checks campaigns: tasks kept in order, runs numbered per
// slot (re-tests keep the earlier runs), decisions numbered and listed
// newest first, the duty roster replaced as a whole, one daily report per
// day, optimistic updates and the tenant scope.
func testCampaigns(t *testing.T, s store.Store) {
	t.Run("calendar", func(t *testing.T) { testCampaignCalendar(t, s) })
	ctx := t.Context()
	cs := s.Campaigns()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	c := store.Campaign{TenantID: a.ID, Kind: store.CampaignGoLive, Name: "网上营业厅 v2.1 <script>", AssetID: "asset-1", Phase: "prepare",
		Start: at(0), End: at(60 * 24), Doc: []byte(`{"release": {"system": "网上营业厅", "version": "2.1"}}`), CreatedBy: "u1"}
	tasks := []store.CampaignTask{
		{ID: "ports", Phase: "check", Kind: "exposed-ports", Title: "Exposed ports", Owner: "sec", Due: at(10), Params: map[string]string{"risky_ports": "445,3389"}},
		{ID: "asvs", Phase: "check", Kind: "manual", Title: "ASVS", Items: []store.CampaignItem{{ID: "asvs-6.2.1", Ref: "v5.0.0-6.2.1", Text: "口令", Severity: "high"}}},
		{ID: "baseline", Phase: "check", Kind: "baseline", Title: "Baseline"},
	}
	ok(t, cs.Create(ctx, &c, tasks))
	if c.ID == "" || c.Version != 1 {
		t.Fatalf("created %+v", c)
	}
	stamped(t, "created", c.CreatedAt)
	if !c.Start.Equal(micro(at(0))) {
		t.Fatalf("start = %v", c.Start)
	}
	got, err := cs.Get(ctx, a.ID, c.ID)
	ok(t, err)
	var wantDoc, gotDoc map[string]any
	ok(t, json.Unmarshal(c.Doc, &wantDoc))
	ok(t, json.Unmarshal(got.Doc, &gotDoc))
	same(t, "doc", wantDoc, gotDoc)
	got.Doc, c.Doc = nil, nil
	same(t, "campaign", c, got)

	gotTasks, err := cs.Tasks(ctx, a.ID, c.ID)
	ok(t, err)
	tasks[0].Due = micro(tasks[0].Due)
	same(t, "tasks in order", tasks, gotTasks)
	if ts, err := cs.Tasks(ctx, b.ID, c.ID); err != nil || len(ts) != 0 {
		t.Fatalf("tenant B sees tasks %v %v", ts, err)
	}

	dup := store.Campaign{TenantID: a.ID, Kind: store.CampaignKeyPeriod, Name: c.Name}
	isErr(t, cs.Create(ctx, &dup, nil), store.ErrConflict)
	other := store.Campaign{TenantID: b.ID, Kind: store.CampaignKeyPeriod, Name: c.Name, PeriodID: "national-day-2027"}
	ok(t, cs.Create(ctx, &other, nil))
	noTenant := store.Campaign{TenantID: "missing", Kind: store.CampaignGoLive, Name: "x"}
	isErr(t, cs.Create(ctx, &noTenant, nil), store.ErrNotFound)
	bad := store.Campaign{TenantID: a.ID, Kind: store.CampaignGoLive, Name: "bad doc", Doc: []byte("{not json")}
	isErr(t, cs.Create(ctx, &bad, nil), store.ErrInvalid)
	_, err = cs.Get(ctx, b.ID, c.ID)
	isErr(t, err, store.ErrNotFound)

	// Results: runs are numbered per slot; a re-test adds a run.
	first := []store.CampaignResult{
		{TaskID: "ports", AssetID: "asset-1", Status: "failed", At: at(5),
			Findings: []store.CampaignFinding{{Key: "port/3389", Title: "RDP open", Severity: "high", Score: 7.5, Evidence: []string{"127.0.0.1:3389"}, Ref: "risky-port"}}},
		{TaskID: "baseline", AssetID: "asset-1", Status: "errored", Error: "unreachable", At: at(5)},
		{TaskID: "asvs", ItemID: "asvs-6.2.1", Status: "passed", Evidence: []string{"doc-1"}, By: "张三", At: at(6)},
	}
	ok(t, cs.AddResults(ctx, a.ID, c.ID, first))
	for _, r := range first {
		if r.Run != 1 || r.CampaignID != c.ID || r.TenantID != a.ID {
			t.Fatalf("first run %+v", r)
		}
	}
	retest := []store.CampaignResult{{TaskID: "ports", AssetID: "asset-1", Status: "passed", At: at(30)}}
	ok(t, cs.AddResults(ctx, a.ID, c.ID, retest))
	if retest[0].Run != 2 {
		t.Fatalf("re-test run = %d, want 2", retest[0].Run)
	}
	isErr(t, cs.AddResults(ctx, b.ID, c.ID, retest), store.ErrNotFound)
	rs, err := cs.Results(ctx, a.ID, c.ID)
	ok(t, err)
	want := []store.CampaignResult{first[2], first[1], first[0], retest[0]} // by task, asset, item, run
	for i := range want {
		want[i].At = micro(want[i].At)
	}
	same(t, "results", want, rs)
	if rs, err := cs.Results(ctx, b.ID, c.ID); err != nil || len(rs) != 0 {
		t.Fatalf("tenant B sees results %v %v", rs, err)
	}

	// Optimistic update; the results touched UpdatedAt and not Version.
	got, err = cs.Get(ctx, a.ID, c.ID)
	ok(t, err)
	if got.Version != 1 {
		t.Fatalf("version after results = %d", got.Version)
	}
	stale := got
	got.Phase, got.Outcome, got.Doc = "decide", "conditional-pass", []byte(`{"acceptances": []}`)
	ok(t, cs.Update(ctx, &got))
	if got.Version != 2 {
		t.Fatalf("version = %d, want 2", got.Version)
	}
	stale.Closed = true
	isErr(t, cs.Update(ctx, &stale), store.ErrConflict)
	foreign := got
	foreign.TenantID = b.ID
	isErr(t, cs.Update(ctx, &foreign), store.ErrNotFound)
	reread, err := cs.Get(ctx, a.ID, c.ID)
	ok(t, err)
	if reread.Phase != "decide" || reread.Outcome != "conditional-pass" || reread.Closed || reread.Version != 2 {
		t.Fatalf("reread %+v", reread)
	}

	// Decisions: numbered, newest first.
	d1 := store.CampaignDecision{TenantID: a.ID, CampaignID: c.ID, Outcome: "fail", Reasons: []string{"1 open item"}, DecidedBy: "张三", At: at(7)}
	ok(t, cs.AddDecision(ctx, &d1))
	d2 := store.CampaignDecision{TenantID: a.ID, CampaignID: c.ID, Outcome: "conditional-pass", Reasons: []string{"accepted"}, DecidedBy: "李四", SignedOff: true,
		NextExpiry: at(90), At: at(40), Conditions: []store.CampaignCondition{{AssetID: "asset-1", Key: "port/8080", Title: "8080", Severity: "medium",
			Approver: "王五", Reason: "维护窗口", Expires: micro(at(90))}}}
	ok(t, cs.AddDecision(ctx, &d2))
	if d1.Seq != 1 || d2.Seq != 2 {
		t.Fatalf("seqs %d %d", d1.Seq, d2.Seq)
	}
	ds, err := cs.Decisions(ctx, a.ID, c.ID, 10)
	ok(t, err)
	same(t, "decisions", []store.CampaignDecision{d2, d1}, ds)
	if ds, err := cs.Decisions(ctx, a.ID, c.ID, 1); err != nil || len(ds) != 1 || ds[0].Seq != 2 {
		t.Fatalf("limit 1: %v %v", ds, err)
	}
	_, err = cs.Decisions(ctx, a.ID, c.ID, 0)
	isErr(t, err, store.ErrInvalid)
	wrongTenant := d1
	wrongTenant.TenantID = b.ID
	isErr(t, cs.AddDecision(ctx, &wrongTenant), store.ErrNotFound)

	// Roster: replaced as a whole, listed by start.
	day := time.Date(2027, 10, 1, 0, 0, 0, 0, time.UTC)
	roster := []store.DutyShift{
		{Start: day.Add(12 * time.Hour), End: day.Add(24 * time.Hour), Lead: store.DutyContact{Name: "李四", Role: "lead", Phone: "138"}},
		{Start: day, End: day.Add(12 * time.Hour), Lead: store.DutyContact{Name: "张三"}, Members: []store.DutyContact{{Name: "王五", Role: "analyst"}}},
	}
	ok(t, cs.SetRoster(ctx, a.ID, c.ID, roster))
	sh, err := cs.Roster(ctx, a.ID, c.ID)
	ok(t, err)
	same(t, "roster by start", []store.DutyShift{roster[1], roster[0]}, sh)
	ok(t, cs.SetRoster(ctx, a.ID, c.ID, roster[:1]))
	if sh, err := cs.Roster(ctx, a.ID, c.ID); err != nil || len(sh) != 1 {
		t.Fatalf("after replace: %v %v", sh, err)
	}
	isErr(t, cs.SetRoster(ctx, b.ID, c.ID, roster), store.ErrNotFound)

	// Daily reports: one per day.
	r1 := store.CampaignDailyReport{TenantID: a.ID, CampaignID: c.ID, Day: "2027-10-02", Quiet: true, ReportID: "rep-2", Figures: []byte(`{"alerts": 0}`)}
	r0 := store.CampaignDailyReport{TenantID: a.ID, CampaignID: c.ID, Day: "2027-10-01", ReportID: "rep-1", Figures: []byte(`{"alerts": 3}`)}
	ok(t, cs.AddDailyReport(ctx, &r1))
	ok(t, cs.AddDailyReport(ctx, &r0))
	stamped(t, "daily report", r1.CreatedAt)
	again := r1
	isErr(t, cs.AddDailyReport(ctx, &again), store.ErrConflict)
	wrong := r1
	wrong.TenantID, wrong.Day = b.ID, "2027-10-03"
	isErr(t, cs.AddDailyReport(ctx, &wrong), store.ErrNotFound)
	drs, err := cs.DailyReports(ctx, a.ID, c.ID)
	ok(t, err)
	if len(drs) != 2 || drs[0].Day != "2027-10-01" || drs[1].Day != "2027-10-02" || !drs[1].Quiet || drs[0].Quiet || drs[1].ReportID != "rep-2" {
		t.Fatalf("daily reports %+v", drs)
	}
	var figs map[string]int
	ok(t, json.Unmarshal(drs[0].Figures, &figs))
	if figs["alerts"] != 3 {
		t.Fatalf("figures %s", drs[0].Figures)
	}

	// Lists: by kind, open only, tenant scope.
	closed := store.Campaign{TenantID: a.ID, Kind: store.CampaignKeyPeriod, Name: "国庆 2027", PeriodID: "national-day-2027", Closed: true}
	ok(t, cs.Create(ctx, &closed, nil))
	all, err := cs.List(ctx, a.ID, store.CampaignFilter{})
	ok(t, err)
	if len(all) != 2 || all[0].ID != closed.ID {
		t.Fatalf("list of A = %+v", all)
	}
	gl, err := cs.List(ctx, a.ID, store.CampaignFilter{Kind: store.CampaignGoLive})
	ok(t, err)
	if len(gl) != 1 || gl[0].ID != c.ID {
		t.Fatalf("go-live list = %+v", gl)
	}
	open, err := cs.List(ctx, a.ID, store.CampaignFilter{OpenOnly: true})
	ok(t, err)
	if len(open) != 1 || open[0].ID != c.ID {
		t.Fatalf("open list = %+v", open)
	}
	bl, err := cs.List(ctx, b.ID, store.CampaignFilter{})
	ok(t, err)
	if len(bl) != 1 || bl[0].ID != other.ID {
		t.Fatalf("list of B = %+v", bl)
	}

	// Deleting the tenant deletes its campaigns and everything under them.
	ok(t, s.Tenants().Delete(ctx, a.ID))
	_, err = cs.Get(ctx, a.ID, c.ID)
	isErr(t, err, store.ErrNotFound)
	if rs, err := cs.Results(ctx, a.ID, c.ID); err != nil || len(rs) != 0 {
		t.Fatalf("%d results survive their tenant (%v)", len(rs), err)
	}
}

// testCampaignCalendar checks a tenant's key-period calendar: none at
// first, created once, replaced only from the version read, kept apart
// from other tenants, and the text kept byte for byte.
func testCampaignCalendar(t *testing.T, s store.Store) {
	ctx := t.Context()
	cs := s.Campaigns()
	a, b := mkTenant(t, s, "cal-alpha"), mkTenant(t, s, "cal-beta")
	_, err := cs.Calendar(ctx, a.ID)
	isErr(t, err, store.ErrNotFound)
	doc := []byte("zone: \"+08:00\"\nperiods:\n  - id: expo-2027\n    name: 进博会 <b>\n")
	c := store.CampaignCalendar{TenantID: a.ID, Doc: doc, UpdatedBy: "u1"}
	ok(t, cs.SetCalendar(ctx, &c))
	if c.Version != 1 {
		t.Fatalf("created version %d", c.Version)
	}
	stamped(t, "calendar updated", c.UpdatedAt)
	got, err := cs.Calendar(ctx, a.ID)
	ok(t, err)
	same(t, "calendar", c, got)
	// A second creation, or a write from a stale version, conflicts.
	isErr(t, cs.SetCalendar(ctx, &store.CampaignCalendar{TenantID: a.ID, Doc: []byte("x")}), store.ErrConflict)
	next := got
	next.Doc, next.UpdatedBy = []byte("zone: \"+08:00\"\n"), "u2"
	ok(t, cs.SetCalendar(ctx, &next))
	if next.Version != 2 {
		t.Fatalf("replaced version %d", next.Version)
	}
	stale := got
	stale.Doc = []byte("stale")
	isErr(t, cs.SetCalendar(ctx, &stale), store.ErrConflict)
	got, err = cs.Calendar(ctx, a.ID)
	ok(t, err)
	same(t, "replaced calendar", next, got)
	// Tenant B has none, and cannot replace A's.
	_, err = cs.Calendar(ctx, b.ID)
	isErr(t, err, store.ErrNotFound)
	isErr(t, cs.SetCalendar(ctx, &store.CampaignCalendar{TenantID: b.ID, Doc: []byte("b"), Version: 2}), store.ErrConflict)
}
