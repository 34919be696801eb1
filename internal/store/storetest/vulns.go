package storetest

import (
	"slices"
	"strconv"
	"strings"
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
	t.Run("Search", func(t *testing.T) { testVulnSearch(t, s) })
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

// testVulnSearch checks the findings list's text search: a substring of
// the title, asset key, rule ID or CVE list, case-insensitive for ASCII
// letters, which an index answers for text of three characters or more
// and a scan for shorter text: both must find the same findings.
func testVulnSearch(t *testing.T, s store.Store) {
	ctx := t.Context()
	vs := s.Vulns()
	ten, other := mkTenant(t, s, "vsearch"), mkTenant(t, s, "vsearch-other")
	mk := func(fp, key, rule, title string, cves ...string) store.VulnFinding {
		f := vf(fp, key, "high", title)
		f.RuleID, f.CVEs = rule, cves
		return f
	}
	fs := []store.VulnFinding{
		mk("s1", "10.0.0.1", "CVE-2021-44228", "Apache Log4j RCE", "CVE-2021-44228", "CVE-2021-45046"),
		mk("s2", "web-01.example:443", "dir_traversal", "目录遍历漏洞 (路径)"),
		mk("s3", "registry/app:1.2", "cpu-exhaust", "100% CPU on parse", "CVE-2023-0001"),
		mk("s4", "10.0.0.2", "q!1", `Quote "injection" in FORM`),
	}
	importScan(t, s, ten.ID, false, at(0), fs...)
	importScan(t, s, other.ID, false, at(0), mk("o1", "10.0.0.1", "CVE-2021-44228", "Apache Log4j RCE", "CVE-2021-44228"))

	search := func(tenantID, q string) []string {
		t.Helper()
		f := store.VulnFilter{Query: q}
		list, err := vs.List(ctx, tenantID, f)
		ok(t, err)
		n, err := vs.Count(ctx, tenantID, f)
		ok(t, err)
		if n != len(list) {
			t.Fatalf("query %q: Count %d, List %d", q, n, len(list))
		}
		got := ids(list, func(v store.VulnFinding) string { return v.Fingerprint })
		slices.Sort(got)
		return got
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"log4j", []string{"s1"}},
		{"APACHE LOG4J rce", []string{"s1"}},
		{"45046", []string{"s1"}},        // the CVE list only
		{"cve-2021", []string{"s1"}},     // rule ID and CVE list of one finding
		{"CVE-20", []string{"s1", "s3"}}, // CVE lists
		{"10.0.0", []string{"s1", "s4"}}, // asset keys
		{"0.0.2", []string{"s4"}},        // asset key
		{"app:1", []string{"s3"}},        // asset key
		{"exhaust", []string{"s3"}},      // rule ID
		{"目录遍历", []string{"s2"}},         // Chinese title
		{"遍历", []string{"s2"}},           // two characters: a scan
		{"漏", []string{"s2"}},            // one
		{"遍历漏洞 (路", []string{"s2"}},      // with ASCII
		{"路径)", []string{"s2"}},
		{"漏洞遍历", nil},
		{"dir_tr", []string{"s2"}}, // underscore is a character
		{"r_t", []string{"s2"}},
		{"r%t", nil},
		{"_", []string{"s2"}},
		{"100%", []string{"s3"}}, // percent is a character
		{"%", []string{"s3"}},
		{"%%", nil},
		{"q!1", []string{"s4"}}, // so is the escape character
		{"!", []string{"s4"}},
		{"!1", []string{"s4"}},
		{"!!", nil},
		{`"injection" in`, []string{"s4"}}, // FTS5 syntax is plain text
		{"injection OR log4j", nil},
		{"FORM", []string{"s4"}},
		{"no such finding", nil},
		// Across the end of a title and the start of its asset key,
		// with the separator PostgreSQL's index joins them by: in no
		// column.
		{"RCE\x1f10.0.0", nil},
	} {
		same(t, "search "+strconv.Quote(c.q), c.want, search(ten.ID, c.q))
	}
	// Every substring of every title, asset key and rule ID, in both
	// cases, finds what a substring test of the ASCII-lowered columns
	// finds (the CVE lists are left to the cases above: their JSON text
	// differs between the drivers).
	oracle := func(q string) []string {
		var out []string
		lq := strings.ToLower(q)
		for _, f := range fs {
			hit := false
			for _, col := range append([]string{f.Title, f.AssetKey, f.RuleID}, f.CVEs...) {
				hit = hit || strings.Contains(asciiLower(col), lq)
			}
			if hit {
				out = append(out, f.Fingerprint)
			}
		}
		return out
	}
	for _, f := range fs {
		for _, col := range []string{f.Title, f.AssetKey, f.RuleID} {
			r := []rune(col)
			for i := range r {
				for j := i + 1; j <= len(r) && j <= i+4; j++ {
					for _, q := range []string{string(r[i:j]), strings.ToUpper(string(r[i:j]))} {
						if strings.ContainsAny(q, `"[],`) {
							continue // would match the CVE lists' JSON text
						}
						same(t, "search "+strconv.Quote(q), oracle(q), search(ten.ID, q))
					}
				}
			}
		}
	}
	same(t, "another tenant's findings", []string{"o1"}, search(other.ID, "LOG4J"))

	// A reimport that changes a finding's text is found by the new text
	// only; one that keeps it stays found.
	changed := fs[0]
	changed.Title, changed.AssetKey, changed.CVEs = "Apache Log4Shell", "10.9.9.9", []string{"CVE-2021-45105"}
	importScan(t, s, ten.ID, false, at(10), changed, fs[1])
	same(t, "old title", []string(nil), search(ten.ID, "log4j"))
	same(t, "old CVE", []string(nil), search(ten.ID, "45046"))
	same(t, "new title", []string{"s1"}, search(ten.ID, "log4shell"))
	same(t, "new asset key", []string{"s1"}, search(ten.ID, "10.9.9"))
	same(t, "new CVE", []string{"s1"}, search(ten.ID, "45105"))
	same(t, "unchanged finding", []string{"s2"}, search(ten.ID, "目录遍历"))
	checkTextIndex(t, s, "vuln_findings_fts")

	// A state change leaves the text alone.
	list, err := vs.List(ctx, ten.ID, store.VulnFilter{Query: "log4shell"})
	ok(t, err)
	ok(t, vs.Change(ctx, ten.ID, list[0].ID, store.VulnChange{From: "new", To: "confirmed", At: at(20)}))
	same(t, "after a state change", []string{"s1"}, search(ten.ID, "log4shell"))

	// Deleting a tenant deletes its findings and their index entries.
	ok(t, s.Tenants().Delete(ctx, other.ID))
	checkTextIndex(t, s, "vuln_findings_fts")
	importScan(t, s, ten.ID, false, at(30), mk("s5", "10.0.0.5", "brute", "SSH brute force"))
	same(t, "finding imported after a delete", []string{"s5"}, search(ten.ID, "brute force"))
	checkTextIndex(t, s, "vuln_findings_fts")
}
