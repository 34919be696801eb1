package storetest

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testBaseline checks baseline runs with their checks, the latest run per
// asset and policy, check filters, hardening items (one open item per
// check, optimistic updates), schedules and the tenant scope of each.
func testBaseline(t *testing.T, s store.Store) {
	ctx := t.Context()
	bs := s.Baseline()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	web, db := mkAsset(t, s, a.ID, "web-01"), mkAsset(t, s, a.ID, "db-01")
	foreign := mkAsset(t, s, b.ID, "gw-01")

	run := func(asset store.Asset, policy string, finished time.Time, results ...string) store.BaselineRun {
		t.Helper()
		r := store.BaselineRun{TenantID: asset.TenantID, AssetID: asset.ID, PolicyID: policy, PolicyTitle: "Policy " + policy,
			PolicyVersion: "v1", Source: store.BaselineSourceSSH, StartedAt: finished.Add(-time.Minute), FinishedAt: finished,
			CreatedBy: "u1"}
		var cs []store.BaselineCheck
		for i, res := range results {
			cs = append(cs, store.BaselineCheck{CheckID: policy + "-" + string(rune('a'+i)), Title: "<script>x</script> check",
				Result: res, Reason: "r", Remediation: "fix it", Evidence: []string{"line 1", "配置"}})
			switch res {
			case "passed":
				r.Passed++
			case "failed":
				r.Failed++
			default:
				r.NotApplicable++
			}
		}
		if d := r.Passed + r.Failed; d > 0 {
			r.Score, r.Scored = 100*float64(r.Passed)/float64(d), true
		}
		ok(t, bs.CreateRun(ctx, &r, cs))
		if r.ID == "" {
			t.Fatal("CreateRun did not set ID")
		}
		for i := range cs {
			if cs[i].RunID != r.ID || cs[i].Seq != i {
				t.Fatalf("check %d: run %q seq %d", i, cs[i].RunID, cs[i].Seq)
			}
		}
		return r
	}
	r1 := run(web, "ssh", at(0), "passed", "failed", "not-applicable")
	r2 := run(web, "ssh", at(10), "passed", "passed", "not-applicable")
	r3 := run(db, "pg", at(5), "failed")
	r4 := run(web, "debian", at(1), "passed")
	// An older run stored late (an offline bundle imported after a
	// scheduled check) does not become the latest.
	late := run(web, "ssh", at(3), "failed", "failed")

	got, err := bs.GetRun(ctx, a.ID, r1.ID)
	ok(t, err)
	if !got.FinishedAt.Equal(micro(at(0))) || got.FinishedAt.Location() != time.UTC {
		t.Errorf("finished = %v, want %v in UTC", got.FinishedAt, micro(at(0)))
	}
	same(t, "run", r1, got)
	_, err = bs.GetRun(ctx, b.ID, r1.ID)
	isErr(t, err, store.ErrNotFound)

	// An asset of another tenant, or none, cannot have runs here.
	bad := store.BaselineRun{TenantID: a.ID, AssetID: foreign.ID, PolicyID: "x", Source: store.BaselineSourceAgent, StartedAt: at(0), FinishedAt: at(0)}
	isErr(t, bs.CreateRun(ctx, &bad, nil), store.ErrNotFound)

	list, err := bs.ListRuns(ctx, a.ID, store.BaselineRunFilter{})
	ok(t, err)
	same(t, "runs newest first", []string{r2.ID, r3.ID, late.ID, r4.ID, r1.ID}, ids(list, func(r store.BaselineRun) string { return r.ID }))
	list, err = bs.ListRuns(ctx, a.ID, store.BaselineRunFilter{AssetID: web.ID, PolicyID: "ssh"})
	ok(t, err)
	same(t, "runs of web/ssh", []string{r2.ID, late.ID, r1.ID}, ids(list, func(r store.BaselineRun) string { return r.ID }))
	list, err = bs.ListRuns(ctx, b.ID, store.BaselineRunFilter{})
	ok(t, err)
	same(t, "other tenant's runs", 0, len(list))

	latest, err := bs.LatestRuns(ctx, a.ID)
	ok(t, err)
	want := map[string]bool{r2.ID: true, r3.ID: true, r4.ID: true}
	if len(latest) != 3 {
		t.Fatalf("latest runs = %d, want 3", len(latest))
	}
	for _, r := range latest {
		if !want[r.ID] {
			t.Errorf("run %s of %s/%s is not the latest", r.ID, r.AssetID, r.PolicyID)
		}
	}
	// The totals are the sums of the latest runs, added up here.
	var sum store.BaselineTotals
	covered := map[string]bool{}
	for _, r := range latest {
		covered[r.AssetID] = true
		sum.Runs++
		sum.Passed += r.Passed
		sum.Failed += r.Failed
	}
	sum.Assets = len(covered)
	totals, err := bs.LatestTotals(ctx, a.ID)
	ok(t, err)
	same(t, "latest totals", sum, totals)
	totals, err = bs.LatestTotals(ctx, b.ID)
	ok(t, err)
	same(t, "other tenant's totals", store.BaselineTotals{}, totals)

	checks, err := bs.Checks(ctx, a.ID, r1.ID, store.BaselineCheckFilter{Limit: 100})
	ok(t, err)
	if len(checks) != 3 || checks[1].CheckID != "ssh-b" || checks[1].Result != "failed" ||
		len(checks[1].Evidence) != 2 || checks[1].Evidence[1] != "配置" {
		t.Fatalf("checks = %+v", checks)
	}
	failed, err := bs.Checks(ctx, a.ID, r1.ID, store.BaselineCheckFilter{Result: "failed", Limit: 100})
	ok(t, err)
	same(t, "failed checks", []string{"ssh-b"}, ids(failed, func(c store.BaselineCheck) string { return c.CheckID }))
	q, err := bs.Checks(ctx, a.ID, r1.ID, store.BaselineCheckFilter{Query: "SSH-C", Limit: 100})
	ok(t, err)
	same(t, "query", []string{"ssh-c"}, ids(q, func(c store.BaselineCheck) string { return c.CheckID }))
	q, err = bs.Checks(ctx, a.ID, r1.ID, store.BaselineCheckFilter{Query: "%", Limit: 100})
	ok(t, err)
	same(t, "wildcard is literal", 0, len(q))
	other, err := bs.Checks(ctx, b.ID, r1.ID, store.BaselineCheckFilter{Limit: 100})
	ok(t, err)
	same(t, "other tenant's checks", 0, len(other))
	_, err = bs.Checks(ctx, a.ID, r1.ID, store.BaselineCheckFilter{})
	isErr(t, err, store.ErrInvalid)

	// Hardening: one open item per check; a rejected one lets a new
	// proposal in.
	h := store.HardeningItem{TenantID: a.ID, AssetID: web.ID, PolicyID: "ssh", CheckID: "ssh-b", Title: "t", RunID: r1.ID,
		Remediation: "set X", Fix: "sed -i s/yes/no/ /etc/ssh/sshd_config", State: store.HardeningProposed, ProposedBy: "u1"}
	ok(t, bs.CreateHardening(ctx, &h))
	if h.ID == "" || h.Version != 1 {
		t.Fatalf("created %+v", h)
	}
	stamped(t, "hardening created", h.CreatedAt)
	dup := h
	dup.ID = ""
	isErr(t, bs.CreateHardening(ctx, &dup), store.ErrConflict)
	hb := h
	hb.ID, hb.TenantID, hb.AssetID = "", b.ID, web.ID
	isErr(t, bs.CreateHardening(ctx, &hb), store.ErrNotFound)

	gotH, err := bs.GetHardening(ctx, a.ID, h.ID)
	ok(t, err)
	same(t, "hardening item", h, gotH)
	_, err = bs.GetHardening(ctx, b.ID, h.ID)
	isErr(t, err, store.ErrNotFound)

	stale := gotH
	gotH.State, gotH.DecidedBy, gotH.DecidedAt, gotH.Reason = store.HardeningRejected, "u2", at(20), "not in the window"
	ok(t, bs.UpdateHardening(ctx, &gotH))
	if gotH.Version != 2 {
		t.Fatalf("version = %d", gotH.Version)
	}
	stale.State = store.HardeningApproved
	isErr(t, bs.UpdateHardening(ctx, &stale), store.ErrConflict)
	fh := gotH
	fh.TenantID = b.ID
	isErr(t, bs.UpdateHardening(ctx, &fh), store.ErrNotFound)
	reread, err := bs.GetHardening(ctx, a.ID, h.ID)
	ok(t, err)
	same(t, "updated hardening item", gotH, reread)

	again := store.HardeningItem{TenantID: a.ID, AssetID: web.ID, PolicyID: "ssh", CheckID: "ssh-b", State: store.HardeningProposed, ProposedBy: "u1"}
	ok(t, bs.CreateHardening(ctx, &again)) // the first one is closed
	hs, err := bs.ListHardening(ctx, a.ID, store.HardeningFilter{State: store.HardeningProposed})
	ok(t, err)
	same(t, "proposed items", []string{again.ID}, ids(hs, func(h store.HardeningItem) string { return h.ID }))
	hs, err = bs.ListHardening(ctx, a.ID, store.HardeningFilter{AssetID: web.ID})
	ok(t, err)
	same(t, "items of web", 2, len(hs))
	hs, err = bs.ListHardening(ctx, b.ID, store.HardeningFilter{})
	ok(t, err)
	same(t, "other tenant's items", 0, len(hs))

	// Schedules need the tenant's asset and credential.
	key := store.Secret{TenantID: a.ID, Name: "ssh", Kind: "ssh", Ciphertext: []byte{1}}
	ok(t, s.Secrets().Put(ctx, &key))
	keyB := store.Secret{TenantID: b.ID, Name: "ssh", Kind: "ssh", Ciphertext: []byte{1}}
	ok(t, s.Secrets().Put(ctx, &keyB))
	sc := store.BaselineSchedule{TenantID: a.ID, AssetID: web.ID, Policy: "openssh", Interval: 24 * time.Hour, SecretID: key.ID,
		Username: "audit", Port: 22, HostKey: "SHA256:abc", Enabled: true, NextAt: at(30), CreatedBy: "u1"}
	ok(t, bs.SaveSchedule(ctx, &sc))
	stamped(t, "schedule created", sc.CreatedAt)
	gotS, err := bs.GetSchedule(ctx, a.ID, sc.ID)
	ok(t, err)
	same(t, "schedule", sc, gotS)
	dupS := sc
	dupS.ID = ""
	isErr(t, bs.SaveSchedule(ctx, &dupS), store.ErrConflict)
	badS := sc
	badS.ID, badS.Policy, badS.SecretID = "", "other", keyB.ID
	isErr(t, bs.SaveSchedule(ctx, &badS), store.ErrNotFound)
	_, err = bs.GetSchedule(ctx, b.ID, sc.ID)
	isErr(t, err, store.ErrNotFound)

	sc.Interval, sc.Username = time.Hour, "auditor"
	ok(t, bs.SaveSchedule(ctx, &sc))
	db2 := store.BaselineSchedule{TenantID: a.ID, AssetID: db.ID, Policy: "postgresql", Interval: time.Hour, SecretID: key.ID,
		Username: "audit", Port: 2222, HostKey: "SHA256:def", Enabled: false, NextAt: at(0)}
	ok(t, bs.SaveSchedule(ctx, &db2))
	scs, err := bs.ListSchedules(ctx, a.ID)
	ok(t, err)
	same(t, "schedules", 2, len(scs))

	due, err := bs.DueSchedules(ctx, at(30), 10)
	ok(t, err)
	same(t, "due at 30 (the disabled one is never due)", []string{sc.ID}, ids(due, func(s store.BaselineSchedule) string { return s.ID }))
	due, err = bs.DueSchedules(ctx, at(29), 10)
	ok(t, err)
	same(t, "due at 29", 0, len(due))
	ok(t, bs.MarkScheduleRun(ctx, a.ID, sc.ID, at(31), at(91), "dial: refused"))
	isErr(t, bs.MarkScheduleRun(ctx, b.ID, sc.ID, at(31), at(91), ""), store.ErrNotFound)
	gotS, err = bs.GetSchedule(ctx, a.ID, sc.ID)
	ok(t, err)
	if !gotS.LastAt.Equal(micro(at(31))) || !gotS.NextAt.Equal(micro(at(91))) || gotS.LastError != "dial: refused" ||
		gotS.Interval != time.Hour || gotS.Username != "auditor" {
		t.Errorf("after run: %+v", gotS)
	}
	isErr(t, bs.DeleteSchedule(ctx, b.ID, sc.ID), store.ErrNotFound)
	ok(t, bs.DeleteSchedule(ctx, a.ID, sc.ID))
	isErr(t, bs.DeleteSchedule(ctx, a.ID, sc.ID), store.ErrNotFound)

	// Deleting an asset deletes its runs, items and schedules.
	ok(t, s.Assets().Delete(ctx, a.ID, db.ID))
	_, err = bs.GetRun(ctx, a.ID, r3.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = bs.GetSchedule(ctx, a.ID, db2.ID)
	isErr(t, err, store.ErrNotFound)
}
