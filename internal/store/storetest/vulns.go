package storetest

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

func vf(fp, key, sev, title string) store.VulnFinding {
	score := 9.8
	return store.VulnFinding{Fingerprint: fp, AssetKey: key, IP: key, Scanner: "nuclei", RuleID: "rule-" + fp,
		Title: title, Severity: sev, Layer: "application", CVEs: []string{"CVE-2021-44228"}, CVSSScore: &score,
		Priority: float64(len(title)), DueAt: at(60 * 24 * 7)}
}

var (
	reopenFrom = []string{"verified-closed", "fixed-pending-verification"}
	absentFrom = []string{"new", "confirmed", "assigned", "fixing", "reopened"}
	openStates = []string{"new", "confirmed", "assigned", "fixing", "fixed-pending-verification", "reopened"}
)

func importScan(t *testing.T, s store.Store, tenantID string, full bool, when time.Time, fs ...store.VulnFinding) *store.VulnScan {
	t.Helper()
	sc := &store.VulnScan{TenantID: tenantID, Scanner: "nuclei", Format: "nuclei", Filename: "scan.jsonl", Full: full}
	ok(t, s.Vulns().Import(t.Context(), store.VulnImport{Scan: sc, Findings: fs, ReopenStates: reopenFrom,
		AbsentStates: absentFrom, AbsentTo: "fixed-pending-verification", Initial: "new", Reopened: "reopened", At: when}))
	return sc
}

func testVulns(t *testing.T, s store.Store) {
	ctx := t.Context()
	vs := s.Vulns()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	sc := importScan(t, s, a.ID, true, at(0),
		vf("f1", "10.0.0.1", "critical", "Log4Shell"), vf("f2", "10.0.0.1", "low", "Banner"), vf("f3", "10.0.0.2", "high", "Old TLS"))
	same(t, "first scan counts", [4]int{3, 3, 0, 0}, [4]int{sc.Total, sc.Added, sc.Updated, sc.Absent})
	importScan(t, s, b.ID, false, at(0), vf("f1", "10.0.0.1", "critical", "Other tenant"))

	list, err := vs.List(ctx, a.ID, store.VulnFilter{})
	ok(t, err)
	same(t, "list order (priority desc)", []string{"Log4Shell", "Old TLS", "Banner"}, ids(list, func(v store.VulnFinding) string { return v.Title }))
	f1 := list[0]
	if f1.State != "new" || !f1.FirstSeen.Equal(micro(at(0))) || f1.CVSSScore == nil || *f1.CVSSScore != 9.8 || f1.EPSS != nil ||
		len(f1.CVEs) != 1 || f1.TenantID != a.ID {
		t.Fatalf("stored finding %+v", f1)
	}
	got, err := vs.Get(ctx, a.ID, f1.ID)
	ok(t, err)
	same(t, "Get", f1, got)
	_, err = vs.Get(ctx, b.ID, f1.ID)
	isErr(t, err, store.ErrNotFound)

	// State changes are optimistic: the finding must still be in From.
	ok(t, vs.Change(ctx, a.ID, f1.ID, store.VulnChange{From: "new", To: "confirmed", Note: "reproduced", ActorID: "u1", At: at(10)}))
	isErr(t, vs.Change(ctx, a.ID, f1.ID, store.VulnChange{From: "new", To: "false-positive", At: at(11)}), store.ErrConflict)
	isErr(t, vs.Change(ctx, b.ID, f1.ID, store.VulnChange{From: "confirmed", To: "fixing"}), store.ErrNotFound)
	who := "u2"
	ok(t, vs.Change(ctx, a.ID, f1.ID, store.VulnChange{From: "confirmed", To: "assigned", Assignee: &who, ActorID: "u1", At: at(12)}))
	ctrl, exp := "WAF virtual patch", at(60*24*30)
	f3 := list[1]
	ok(t, vs.Change(ctx, a.ID, f3.ID, store.VulnChange{From: "new", To: "mitigated", Control: &ctrl, ExpiresAt: &exp, ActorID: "u1", At: at(13)}))
	got, err = vs.Get(ctx, a.ID, f3.ID)
	ok(t, err)
	if got.State != "mitigated" || got.Control != ctrl || !got.ExpiresAt.Equal(micro(exp)) || got.StateBy != "u1" {
		t.Fatalf("mitigated finding %+v", got)
	}

	// A full rescan of 10.0.0.1 that no longer sees f2: f2 becomes
	// fixed-pending-verification; f1 (assigned) is seen again and stays;
	// 10.0.0.2 was not covered, so f3 is untouched.
	sc = importScan(t, s, a.ID, true, at(100), vf("f1", "10.0.0.1", "critical", "Log4Shell"))
	same(t, "rescan counts", [4]int{1, 0, 1, 1}, [4]int{sc.Total, sc.Added, sc.Updated, sc.Absent})
	f2, err := vs.Get(ctx, a.ID, list[2].ID)
	ok(t, err)
	same(t, "absent finding state", "fixed-pending-verification", f2.State)
	got, err = vs.Get(ctx, a.ID, f1.ID)
	ok(t, err)
	if got.State != "assigned" || got.Assignee != "u2" || !got.LastSeen.Equal(micro(at(100))) || !got.FirstSeen.Equal(micro(at(0))) {
		t.Fatalf("seen-again finding %+v", got)
	}
	got, err = vs.Get(ctx, a.ID, f3.ID)
	ok(t, err)
	same(t, "uncovered key untouched", "mitigated", got.State)

	// f2 reappears: reopened.
	ok(t, vs.Change(ctx, a.ID, f2.ID, store.VulnChange{From: "fixed-pending-verification", To: "verified-closed", At: at(110)}))
	sc = importScan(t, s, a.ID, false, at(200), vf("f2", "10.0.0.1", "low", "Banner"))
	same(t, "reopened count", 1, sc.Reopened)
	got, err = vs.Get(ctx, a.ID, f2.ID)
	ok(t, err)
	same(t, "reappeared state", "reopened", got.State)

	evs, err := vs.Events(ctx, a.ID, f2.ID)
	ok(t, err)
	same(t, "timeline", []string{"imported:new", "absent:fixed-pending-verification", "state:verified-closed", "reopened:reopened"},
		ids(evs, func(e store.VulnEvent) string { return e.Kind + ":" + e.To }))
	evs, err = vs.Events(ctx, b.ID, f2.ID)
	ok(t, err)
	same(t, "other tenant's timeline", 0, len(evs))

	// Filters.
	count := func(f store.VulnFilter) int {
		n, err := vs.Count(ctx, a.ID, f)
		ok(t, err)
		return n
	}
	same(t, "severity", 1, count(store.VulnFilter{Severity: "critical"}))
	same(t, "states", 2, count(store.VulnFilter{States: []string{"reopened", "mitigated"}}))
	same(t, "query by CVE", 3, count(store.VulnFilter{Query: "cve-2021-44228"}))
	same(t, "query by title", 1, count(store.VulnFilter{Query: "tls"}))
	same(t, "overdue (open, due before now)", 2, count(store.VulnFilter{Overdue: true, OpenStates: openStates, Now: at(60 * 24 * 8)}))
	same(t, "not yet due", 0, count(store.VulnFilter{Overdue: true, OpenStates: openStates, Now: at(60)}))
	same(t, "kev", 0, count(store.VulnFilter{KEV: true}))
	page, err := vs.List(ctx, a.ID, store.VulnFilter{Page: store.Page{Limit: 1, Offset: 2}})
	ok(t, err)
	same(t, "page", 1, len(page))

	scans, err := vs.Scans(ctx, a.ID, store.Page{})
	ok(t, err)
	same(t, "scans", 3, len(scans))
	by, err := vs.CountBy(ctx, a.ID)
	ok(t, err)
	same(t, "count by", map[[2]string]int{{"assigned", "critical"}: 1, {"reopened", "low"}: 1, {"mitigated", "high"}: 1}, by)

	ok(t, s.Tenants().Delete(ctx, a.ID))
	_, err = vs.Get(ctx, a.ID, f1.ID)
	isErr(t, err, store.ErrNotFound)
	n, err := vs.Count(ctx, b.ID, store.VulnFilter{})
	ok(t, err)
	same(t, "other tenant kept", 1, n)
}
