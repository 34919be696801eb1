package storetest

import (
	"fmt"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testVulnImportLarge imports more findings than one statement of the
// store writes, with a fingerprint repeated within the scan, then a full
// rescan that reopens some and leaves others out; and checks the CVSS v4.0
// score column, the severity filter of unranked severities and the list
// order on priority ties.
func testVulnImportLarge(t *testing.T, s store.Store) {
	ctx := t.Context()
	vs := s.Vulns()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	const n = 1000 // findings 0..998 distinct; 999 repeats 0's fingerprint
	mk := func(i int) store.VulnFinding {
		f := vf(fmt.Sprintf("fp-%04d", i), fmt.Sprintf("10.1.0.%d", i%50), "medium", fmt.Sprintf("finding %d", i))
		f.Priority = 1
		return f
	}
	first := make([]store.VulnFinding, n)
	for i := range n - 1 {
		first[i] = mk(i)
	}
	first[n-1] = mk(0)
	first[n-1].Title = "finding 0, seen twice"
	v4 := 9.3
	first[1].CVSS4Vector, first[1].CVSS4Score = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", &v4
	sc := importScan(t, s, a.ID, true, at(0), first...)
	same(t, "first import: total, added, updated, absent", [4]int{n, n - 1, 1, 0}, [4]int{sc.Total, sc.Added, sc.Updated, sc.Absent})
	same(t, "repeated fingerprint is one finding", first[0].ID, first[n-1].ID)
	got, err := vs.Get(ctx, a.ID, first[0].ID)
	ok(t, err)
	same(t, "the later record's title", "finding 0, seen twice", got.Title)
	got, err = vs.Get(ctx, a.ID, first[1].ID)
	ok(t, err)
	if got.CVSS4Score == nil || *got.CVSS4Score != 9.3 || got.CVSS4Vector != first[1].CVSS4Vector {
		t.Fatalf("CVSS v4.0 of a stored finding: %v %q", got.CVSS4Score, got.CVSS4Vector)
	}
	got, err = vs.Get(ctx, a.ID, first[2].ID)
	ok(t, err)
	if got.CVSS4Score != nil {
		t.Fatalf("a finding without a v4.0 vector has the score %v", *got.CVSS4Score)
	}
	// The same fingerprints in another tenant are other findings.
	sc = importScan(t, s, b.ID, false, at(0), mk(0), mk(1))
	same(t, "other tenant added", 2, sc.Added)

	// Three findings were fixed and verified; the rescan sees 0..899 again.
	closed := []int{5, 450, 950}
	for _, i := range closed {
		ok(t, vs.Change(ctx, a.ID, first[i].ID, store.VulnChange{From: "new", To: "verified-closed", At: at(10)}))
	}
	second := make([]store.VulnFinding, 0, 900)
	for i := range 900 {
		second = append(second, mk(i))
	}
	sc = importScan(t, s, a.ID, true, at(100), second...)
	// 5 and 450 reopen; 950 is closed and not seen (absent applies to
	// open states only); 900..998 but 950 are absent.
	same(t, "rescan: total, added, updated, reopened, absent", [5]int{900, 0, 898, 2, 98},
		[5]int{sc.Total, sc.Added, sc.Updated, sc.Reopened, sc.Absent})
	for i, want := range map[int]string{5: "reopened", 450: "reopened", 950: "verified-closed", 920: "fixed-pending-verification", 7: "new"} {
		got, err := vs.Get(ctx, a.ID, first[i].ID)
		ok(t, err)
		same(t, fmt.Sprintf("state of finding %d", i), want, got.State)
		if want == "reopened" && (got.StateNote != "seen again by nuclei" || !got.StateAt.Equal(micro(at(100)))) {
			t.Fatalf("reopened finding %d: note %q at %v", i, got.StateNote, got.StateAt)
		}
		if want == "new" && (!got.StateAt.Equal(micro(at(0))) || !got.LastSeen.Equal(micro(at(100)))) {
			t.Fatalf("seen-again finding %d: state at %v, last seen %v", i, got.StateAt, got.LastSeen)
		}
	}
	evs, err := vs.Events(ctx, a.ID, first[450].ID)
	ok(t, err)
	same(t, "reopened timeline", []string{"imported:new", "state:verified-closed", "reopened:reopened"},
		ids(evs, func(e store.VulnEvent) string { return e.Kind + ":" + e.To }))
	evs, err = vs.Events(ctx, a.ID, first[920].ID)
	ok(t, err)
	same(t, "absent timeline", []string{"imported:new", "absent:fixed-pending-verification"},
		ids(evs, func(e store.VulnEvent) string { return e.Kind + ":" + e.To }))
	nb, err := vs.Count(ctx, b.ID, store.VulnFilter{States: []string{"new"}})
	ok(t, err)
	same(t, "other tenant untouched by the rescan", 2, nb)

	// Severities without a rank are filtered by name; ties on priority
	// are broken by severity, most severe first.
	c := mkTenant(t, s, "gamma")
	importScan(t, s, c.ID, false, at(0), vf("i1", "h", "info", "t"), vf("w1", "h", "weird", "t"), vf("l1", "h", "low", "t"),
		vf("c1", "h", "critical", "t"))
	for sev, want := range map[string]int{"info": 1, "weird": 1, "low": 1, "critical": 1, "high": 0} {
		n, err := vs.Count(ctx, c.ID, store.VulnFilter{Severity: sev})
		ok(t, err)
		same(t, "count of severity "+sev, want, n)
	}
	list, err := vs.List(ctx, c.ID, store.VulnFilter{})
	ok(t, err)
	same(t, "order on equal priority", []string{"critical", "low", "info", "weird"},
		ids(list, func(v store.VulnFinding) string { return v.Severity }))
}
