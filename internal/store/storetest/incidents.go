package storetest

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

func mkIncident(t *testing.T, s store.Store, tenantID, title string, mod func(*store.Incident)) store.Incident {
	t.Helper()
	c := store.Incident{TenantID: tenantID, Title: title, Severity: "medium", TLP: "amber", PAP: "amber", Category: "malware",
		Phase: "detect"}
	if mod != nil {
		mod(&c)
	}
	ok(t, s.Incidents().Create(t.Context(), &c))
	return c
}

func testIncidents(t *testing.T, s store.Store) {
	ctx := t.Context()
	is := s.Incidents()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	t.Run("Cases", func(t *testing.T) {
		c1 := mkIncident(t, s, a.ID, "Webshell on shop", func(c *store.Incident) {
			c.Tags, c.Techniques, c.AssetIDs = []string{"web", "pci"}, []string{"T1505.003"}, []string{"asset-1"}
			c.ReportSections = map[string]string{"summary": "draft"}
			c.AckDue, c.CloseDue = at(10), at(60*24)
			c.CreatedBy = "u1"
		})
		c2 := mkIncident(t, s, a.ID, "Phishing wave", nil)
		cb := mkIncident(t, s, b.ID, "Other tenant", nil)
		if c1.Seq != 1 || c2.Seq != 2 || cb.Seq != 1 {
			t.Fatalf("seqs %d %d %d, want 1 2 1 (per tenant)", c1.Seq, c2.Seq, cb.Seq)
		}
		if want := "IR-" + c1.CreatedAt.Format("2006") + "-0002"; c2.Ref != want {
			t.Fatalf("ref %q, want %q", c2.Ref, want)
		}
		stamped(t, "CreatedAt", c1.CreatedAt)
		if c1.Version != 1 {
			t.Fatalf("version %d", c1.Version)
		}
		got, err := is.Get(ctx, a.ID, c1.ID)
		ok(t, err)
		same(t, "Get", c1, got)
		_, err = is.Get(ctx, b.ID, c1.ID)
		isErr(t, err, store.ErrNotFound)
		got, err = is.GetByRef(ctx, a.ID, " "+strings.ToLower(c1.Ref))
		ok(t, err)
		same(t, "GetByRef", c1.ID, got.ID)
		_, err = is.GetByRef(ctx, b.ID, c2.Ref)
		isErr(t, err, store.ErrNotFound)
		dup := c1
		isErr(t, is.Create(ctx, &dup), store.ErrConflict)

		// Update with the version read; a stale copy is refused.
		upd := got
		upd.Phase, upd.ContainedAt = "eradicate", at(30)
		ok(t, is.Update(ctx, &upd, []store.IncidentEntry{{Kind: "phase", Actor: "u1", Text: "detect → eradicate", At: at(30)}}))
		if upd.Version != 2 {
			t.Fatalf("version after update %d", upd.Version)
		}
		stale := got
		stale.Title = "lost update"
		isErr(t, is.Update(ctx, &stale, nil), store.ErrConflict)
		other := upd
		other.TenantID = b.ID
		isErr(t, is.Update(ctx, &other, nil), store.ErrNotFound)
		got, err = is.Get(ctx, a.ID, c1.ID)
		ok(t, err)
		same(t, "after update", upd, got)
		es, err := is.Entries(ctx, a.ID, c1.ID)
		ok(t, err)
		if len(es) != 1 || es[0].Kind != "phase" || !es[0].At.Equal(micro(at(30))) {
			t.Fatalf("entries %+v", es)
		}
		note := store.IncidentEntry{TenantID: a.ID, CaseID: c1.ID, Kind: "note", Text: "called the customer", At: at(5)}
		ok(t, is.AddEntry(ctx, &note))
		isErr(t, is.AddEntry(ctx, &store.IncidentEntry{TenantID: b.ID, CaseID: c1.ID, Kind: "note"}), store.ErrNotFound)
		es, err = is.Entries(ctx, a.ID, c1.ID)
		ok(t, err)
		same(t, "entries by fact time", []string{"note", "phase"}, ids(es, func(e store.IncidentEntry) string { return e.Kind }))
		es, err = is.Entries(ctx, b.ID, c1.ID)
		ok(t, err)
		same(t, "entries of another tenant", 0, len(es))
	})

	t.Run("Filters", func(t *testing.T) {
		ten := mkTenant(t, s, "filters")
		u := mkIncident(t, s, ten.ID, "Ransomware at HQ", func(c *store.Incident) {
			c.Severity, c.Category, c.Assignee, c.Tags = "critical", "malware", "alice", []string{"ransom"}
			c.AckDue = at(-60) // overdue, never acknowledged
		})
		v := mkIncident(t, s, ten.ID, "DDoS on portal", func(c *store.Incident) {
			c.Severity, c.Category, c.Phase = "high", "dos", "contain"
			c.AckDue, c.AcknowledgedAt = at(-60), at(-90) // acknowledged in time
		})
		w := mkIncident(t, s, ten.ID, "Closed phish", func(c *store.Incident) {
			c.Phase, c.Resolution, c.ClosedAt, c.Category = "closed", "benign", at(-1), "phishing"
		})
		obs := []store.IncidentObservable{{Type: "ip", Value: "203.0.113.9", IOC: true}}
		ok(t, is.AddObservables(ctx, ten.ID, v.ID, obs))
		list := func(f store.IncidentFilter) []string {
			t.Helper()
			cs, err := is.List(ctx, ten.ID, f)
			ok(t, err)
			n, err := is.Count(ctx, ten.ID, f)
			ok(t, err)
			if f.Limit == 0 && n != len(cs) {
				t.Fatalf("Count %d, List %d for %+v", n, len(cs), f)
			}
			return ids(cs, func(c store.Incident) string { return c.Title })
		}
		// Sorted by update, newest first: v gained nothing, so creation order reversed.
		same(t, "all", []string{w.Title, v.Title, u.Title}, list(store.IncidentFilter{}))
		same(t, "phases", []string{v.Title, u.Title}, list(store.IncidentFilter{Phases: []string{"detect", "contain"}}))
		same(t, "severity", []string{u.Title}, list(store.IncidentFilter{Severity: "critical"}))
		same(t, "assignee", []string{u.Title}, list(store.IncidentFilter{Assignee: "alice"}))
		same(t, "category", []string{w.Title}, list(store.IncidentFilter{Category: "phishing"}))
		same(t, "tag", []string{u.Title}, list(store.IncidentFilter{Tag: "ransom"}))
		same(t, "title", []string{u.Title}, list(store.IncidentFilter{Query: "RANSOM"}))
		same(t, "ref", []string{v.Title}, list(store.IncidentFilter{Query: strings.ToLower(v.Ref)}))
		same(t, "observable", []string{v.Title}, list(store.IncidentFilter{Query: "203.0.113.9"}))
		same(t, "wildcards are literal", 0, len(list(store.IncidentFilter{Query: "%"})))
		same(t, "breached", []string{u.Title}, list(store.IncidentFilter{Breached: true, Now: at(0)}))
		same(t, "nothing due yet", 0, len(list(store.IncidentFilter{Breached: true, Now: at(-120)})))
		same(t, "page", []string{v.Title}, list(store.IncidentFilter{Page: store.Page{Limit: 1, Offset: 1}}))
		n, err := is.Count(ctx, ten.ID, store.IncidentFilter{CountCap: 2})
		ok(t, err)
		same(t, "capped count", 2, n)
		same(t, "another tenant sees none", 0, len(mustList(t, is, a.ID, store.IncidentFilter{Query: "ransom"})))
		// An update moves a case to the top.
		ok(t, is.Update(ctx, &u, nil))
		same(t, "after update", []string{u.Title, w.Title, v.Title}, list(store.IncidentFilter{}))
	})

	t.Run("Search", func(t *testing.T) { testIncidentSearch(t, s) })

	t.Run("Alerts", func(t *testing.T) {
		c := mkIncident(t, s, a.ID, "alerts", nil)
		c2 := mkIncident(t, s, a.ID, "alerts 2", nil)
		ok(t, is.LinkAlerts(ctx, a.ID, c.ID, []string{"al-1", "al-2"}, "u", at(1)))
		isErr(t, is.LinkAlerts(ctx, a.ID, c2.ID, []string{"al-3", "al-2"}, "u", at(2)), store.ErrConflict)
		isErr(t, is.LinkAlerts(ctx, b.ID, c.ID, []string{"al-9"}, "u", at(2)), store.ErrNotFound)
		got, err := is.CaseOfAlert(ctx, a.ID, "al-3")
		ok(t, err)
		same(t, "nothing linked from the refused call", "", got)
		got, err = is.CaseOfAlert(ctx, a.ID, "al-2")
		ok(t, err)
		same(t, "case of alert", c.ID, got)
		got, err = is.CaseOfAlert(ctx, b.ID, "al-2")
		ok(t, err)
		same(t, "case of alert, other tenant", "", got)
		as, err := is.CaseAlerts(ctx, a.ID, c.ID)
		ok(t, err)
		same(t, "case alerts", []string{"al-1", "al-2"}, ids(as, func(x store.IncidentAlert) string { return x.AlertID }))
	})

	t.Run("Tasks", func(t *testing.T) {
		c := mkIncident(t, s, a.ID, "tasks", nil)
		tasks := []store.IncidentTask{
			{TenantID: a.ID, CaseID: c.ID, Title: "Isolate host", Phase: "contain", Status: "todo", DueAt: at(60),
				Checklist: []store.ChecklistItem{{Text: "pull cable"}, {Text: "tell owner"}}, Source: "webshell"},
			{TenantID: a.ID, CaseID: c.ID, Title: "Collect image", Phase: "contain", Status: "todo"},
		}
		ok(t, is.CreateTasks(ctx, tasks))
		isErr(t, is.CreateTasks(ctx, []store.IncidentTask{{TenantID: b.ID, CaseID: c.ID, Title: "x", Status: "todo"}}), store.ErrNotFound)
		list, err := is.Tasks(ctx, a.ID, c.ID)
		ok(t, err)
		same(t, "tasks", tasks, list)
		tk := list[0]
		tk.Status, tk.DoneAt, tk.Owner = "done", at(70), "bob"
		tk.Checklist[0].Done = true
		ok(t, is.UpdateTask(ctx, &tk))
		got, err := is.GetTask(ctx, a.ID, tk.ID)
		ok(t, err)
		same(t, "updated task", tk, got)
		_, err = is.GetTask(ctx, b.ID, tk.ID)
		isErr(t, err, store.ErrNotFound)
		stolen := tk
		stolen.TenantID = b.ID
		isErr(t, is.UpdateTask(ctx, &stolen), store.ErrNotFound)
		l := store.IncidentTaskLog{TenantID: a.ID, TaskID: tk.ID, Author: "bob", Text: "unplugged", At: at(65)}
		ok(t, is.AddTaskLog(ctx, &l))
		if l.CaseID != c.ID {
			t.Fatalf("log case %q", l.CaseID)
		}
		isErr(t, is.AddTaskLog(ctx, &store.IncidentTaskLog{TenantID: b.ID, TaskID: tk.ID, Text: "x"}), store.ErrNotFound)
		logs, err := is.TaskLogs(ctx, a.ID, c.ID)
		ok(t, err)
		same(t, "logs", []store.IncidentTaskLog{l}, logs)
	})

	t.Run("Observables", func(t *testing.T) {
		c1 := mkIncident(t, s, a.ID, "obs 1", nil)
		c2 := mkIncident(t, s, a.ID, "obs 2", nil)
		cb := mkIncident(t, s, b.ID, "obs b", nil)
		first := []store.IncidentObservable{{Type: "domain", Value: "evil.example", Tags: []string{"c2"}, FirstSeen: at(5), LastSeen: at(6)},
			{Type: "ip", Value: "198.51.100.7"}}
		ok(t, is.AddObservables(ctx, a.ID, c1.ID, first))
		again := []store.IncidentObservable{{Type: "domain", Value: "evil.example", IOC: true, Tags: []string{"c2", "apt"},
			FirstSeen: at(1), LastSeen: at(3), Description: "beacon"}}
		ok(t, is.AddObservables(ctx, a.ID, c1.ID, again))
		if again[0].ID != first[0].ID || !again[0].IOC || len(again[0].Tags) != 2 || !again[0].FirstSeen.Equal(micro(at(1))) ||
			!again[0].LastSeen.Equal(micro(at(6))) || again[0].Description != "beacon" {
			t.Fatalf("merged %+v", again[0])
		}
		isErr(t, is.AddObservables(ctx, b.ID, c1.ID, first), store.ErrNotFound)
		list, err := is.Observables(ctx, a.ID, c1.ID)
		ok(t, err)
		same(t, "observables", []store.IncidentObservable{again[0], first[1]}, list)
		ok(t, is.AddObservables(ctx, a.ID, c2.ID, []store.IncidentObservable{{Type: "domain", Value: "evil.example"}}))
		ok(t, is.AddObservables(ctx, b.ID, cb.ID, []store.IncidentObservable{{Type: "domain", Value: "evil.example"}}))
		sig, err := is.Sightings(ctx, a.ID, c1.ID, "domain", "evil.example", 10)
		ok(t, err)
		same(t, "sightings on other cases of the tenant", []string{c2.ID}, ids(sig, func(o store.IncidentObservable) string { return o.CaseID }))
		o := list[1]
		o.IOC, o.Description = true, "scanner"
		ok(t, is.UpdateObservable(ctx, &o))
		stolen := o
		stolen.TenantID = b.ID
		isErr(t, is.UpdateObservable(ctx, &stolen), store.ErrNotFound)
		list, err = is.Observables(ctx, a.ID, c1.ID)
		ok(t, err)
		same(t, "updated observable", o, list[1])
	})

	t.Run("Evidence", func(t *testing.T) {
		c := mkIncident(t, s, a.ID, "evidence", nil)
		cb := mkIncident(t, s, b.ID, "evidence b", nil)
		content := []byte("MZ\x90\x00 binary sample")
		sum := "0f0e" // the store trusts the caller's hash; the service computes it
		e1 := store.IncidentEvidence{TenantID: a.ID, CaseID: c.ID, SHA256: sum, Name: "a.exe", Size: int64(len(content)),
			SniffedType: "application/octet-stream", CreatedBy: "u"}
		ok(t, is.AddEvidence(ctx, &e1, content, store.IncidentCustody{Actor: "u", Action: "added", At: at(1)}))
		e2 := store.IncidentEvidence{TenantID: a.ID, CaseID: c.ID, SHA256: sum, Name: "copy.exe", Size: int64(len(content))}
		ok(t, is.AddEvidence(ctx, &e2, content, store.IncidentCustody{Actor: "u", Action: "added", At: at(2)}))
		eb := store.IncidentEvidence{TenantID: b.ID, CaseID: cb.ID, SHA256: sum, Name: "b.exe", Size: int64(len(content))}
		ok(t, is.AddEvidence(ctx, &eb, content, store.IncidentCustody{Actor: "v", Action: "added"}))
		isErr(t, is.AddEvidence(ctx, &store.IncidentEvidence{TenantID: b.ID, CaseID: c.ID, SHA256: "x", Name: "n"}, nil,
			store.IncidentCustody{Action: "added"}), store.ErrNotFound)
		got, err := is.GetEvidence(ctx, a.ID, e1.ID)
		ok(t, err)
		same(t, "GetEvidence", e1, got)
		_, err = is.GetEvidence(ctx, b.ID, e1.ID)
		isErr(t, err, store.ErrNotFound)
		data, err := is.EvidenceContent(ctx, a.ID, e2.ID)
		ok(t, err)
		same(t, "content", content, data)
		_, err = is.EvidenceContent(ctx, b.ID, e2.ID)
		isErr(t, err, store.ErrNotFound)
		list, err := is.Evidence(ctx, a.ID, c.ID)
		ok(t, err)
		same(t, "evidence", []string{e1.ID, e2.ID}, ids(list, func(e store.IncidentEvidence) string { return e.ID }))
		ok(t, is.AddCustody(ctx, &store.IncidentCustody{TenantID: a.ID, EvidenceID: e1.ID, Actor: "w", Action: "downloaded", At: at(3)}))
		isErr(t, is.AddCustody(ctx, &store.IncidentCustody{TenantID: b.ID, EvidenceID: e1.ID, Action: "downloaded"}), store.ErrNotFound)
		ks, err := is.Custody(ctx, a.ID, e1.ID)
		ok(t, err)
		same(t, "custody", []string{"added", "downloaded"}, ids(ks, func(k store.IncidentCustody) string { return k.Action }))
		ks, err = is.Custody(ctx, b.ID, e1.ID)
		ok(t, err)
		same(t, "custody of another tenant", 0, len(ks))
	})

	t.Run("TenantDelete", func(t *testing.T) {
		gone := mkTenant(t, s, "gone")
		c := mkIncident(t, s, gone.ID, "to be deleted", nil)
		ok(t, is.AddObservables(ctx, gone.ID, c.ID, []store.IncidentObservable{{Type: "ip", Value: "192.0.2.1"}}))
		e := store.IncidentEvidence{TenantID: gone.ID, CaseID: c.ID, SHA256: "ab", Name: "f", Size: 1}
		ok(t, is.AddEvidence(ctx, &e, []byte("x"), store.IncidentCustody{Action: "added"}))
		ok(t, is.CreateTasks(ctx, []store.IncidentTask{{TenantID: gone.ID, CaseID: c.ID, Title: "t", Status: "todo", Phase: "detect"}}))
		ok(t, is.LinkAlerts(ctx, gone.ID, c.ID, []string{"al"}, "u", time.Time{}))
		ok(t, s.Tenants().Delete(ctx, gone.ID))
		_, err := is.Get(ctx, gone.ID, c.ID)
		isErr(t, err, store.ErrNotFound)
		_, err = is.GetEvidence(ctx, gone.ID, e.ID)
		isErr(t, err, store.ErrNotFound)
	})
}

func mustList(t *testing.T, is store.IncidentStore, tenantID string, f store.IncidentFilter) []store.Incident {
	t.Helper()
	cs, err := is.List(t.Context(), tenantID, f)
	ok(t, err)
	return cs
}

// testIncidentSearch checks the case list's text search (a substring of
// the title, case-insensitive for ASCII letters, or an observable value
// exactly), which an index answers for text of three characters or more
// and a scan for shorter text: both must find the same cases.
func testIncidentSearch(t *testing.T, s store.Store) {
	ctx := t.Context()
	is := s.Incidents()
	ten, other := mkTenant(t, s, "search"), mkTenant(t, s, "search-other")
	titles := []string{
		"Webshell on SHOP-01 (100% CPU)",
		"Phish_kit found: a_b!c",
		"勒索软件攻击 财务服务器",
		"Ransomware 勒索 at HQ",
		"Ab",
		`Beacon to evil.example.net, "quoted" word`,
		"éclair ÉCLAIR",
	}
	byTitle := map[string]store.Incident{}
	for _, title := range titles {
		byTitle[title] = mkIncident(t, s, ten.ID, title, nil)
	}
	mkIncident(t, s, other.ID, "Webshell on SHOP-01 of another tenant", nil)
	mkIncident(t, s, other.ID, "勒索软件攻击 of another tenant", nil)
	ok(t, is.AddObservables(ctx, ten.ID, byTitle[titles[3]].ID, []store.IncidentObservable{{Type: "domain", Value: "evil.example"}}))
	ok(t, is.AddObservables(ctx, ten.ID, byTitle[titles[5]].ID, []store.IncidentObservable{{Type: "domain", Value: "evil.example"}}))

	search := func(tenantID, q string) []string {
		t.Helper()
		f := store.IncidentFilter{Query: q}
		cs, err := is.List(ctx, tenantID, f)
		ok(t, err)
		n, err := is.Count(ctx, tenantID, f)
		ok(t, err)
		if n != len(cs) {
			t.Fatalf("query %q: Count %d, List %d", q, n, len(cs))
		}
		got := ids(cs, func(c store.Incident) string { return c.Title })
		slices.Sort(got)
		return got
	}
	want := func(ts ...string) []string {
		slices.Sort(ts)
		return ts
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"webshell", want(titles[0])},
		{"WEBSHELL ON shop", want(titles[0])},
		{"shop-01 (", want(titles[0])},
		// LIKE's wildcards and escape character are plain characters.
		{"100%", want(titles[0])},
		{"0% c", want(titles[0])},
		{"%", want(titles[0])},
		{"%%", nil},
		{"h_k", want(titles[1])},
		{"h%k", nil},
		{"_", want(titles[1])},
		{"a_b!c", want(titles[1])},
		{"!", want(titles[1])},
		{"!!", nil},
		{"b!", want(titles[1])},
		// Chinese: no case, one character, two (shorter than a trigram)
		// and more.
		{"软", want(titles[2])},
		{"勒索", want(titles[2], titles[3])},
		{"勒索软件", want(titles[2])},
		{"财务服务器", want(titles[2])},
		{"软件攻击 财", want(titles[2])},
		{"攻击财务", nil},
		// Short text.
		{"ab", want(titles[4])},
		{"AB", want(titles[4])},
		{"q", want(titles[3], titles[5])},
		// FTS5 query syntax is plain text too.
		{`"quoted" word`, want(titles[5])},
		{`d" w`, want(titles[5])},
		{"NEAR(a b)", nil},
		{"evil OR shop", nil},
		// An observable value exactly, or a title containing the text:
		// each case once.
		{"evil.example", want(titles[3], titles[5])},
		{"evil.example.net", want(titles[5])},
		{"no such text", nil},
	} {
		same(t, "search "+strconv.Quote(c.q), c.want, search(ten.ID, c.q))
	}
	// Every substring of every title, in both cases, finds what a plain
	// substring test of the ASCII-lowered title finds: the index changes
	// nothing in what is found.
	for _, title := range titles {
		r := []rune(title)
		for i := range r {
			for j := i + 1; j <= len(r) && j <= i+4; j++ {
				for _, q := range []string{string(r[i:j]), strings.ToUpper(string(r[i:j]))} {
					if strings.TrimSpace(q) != q || q == "" {
						continue // the service trims queries
					}
					same(t, "search "+strconv.Quote(q), titlesContaining(titles, q), search(ten.ID, q))
				}
			}
		}
	}
	same(t, "another tenant's cases", want("Webshell on SHOP-01 of another tenant"), search(other.ID, "webshell"))
	same(t, "another tenant's observables", []string(nil), search(other.ID, "evil.example"))

	// An update of the title is found at once, the old title no more.
	c := byTitle[titles[0]]
	c.Title = "Defacement of the portal"
	ok(t, is.Update(ctx, &c, nil))
	same(t, "old title", []string(nil), search(ten.ID, "webshell"))
	same(t, "new title", want(c.Title), search(ten.ID, "DEFACEMENT"))
	same(t, "new title, short text", want(c.Title), search(ten.ID, "de"))
	// An update that keeps the title keeps it found.
	c.Phase = "contain"
	ok(t, is.Update(ctx, &c, nil))
	same(t, "title kept", want(c.Title), search(ten.ID, "portal"))
	checkTextIndex(t, s, "incidents_fts")

	// Deleting a tenant deletes its cases and their index entries; a
	// case created after it is found by its own title only.
	ok(t, s.Tenants().Delete(ctx, other.ID))
	checkTextIndex(t, s, "incidents_fts")
	later := mkIncident(t, s, ten.ID, "Brute force on VPN", nil)
	same(t, "case created after a delete", want(later.Title), search(ten.ID, "brute force"))
	same(t, "deleted tenant's title", []string(nil), search(ten.ID, "another tenant"))
	checkTextIndex(t, s, "incidents_fts")
}

// titlesContaining is the oracle of the case search by title: the titles
// whose ASCII-lowered text contains the lower-cased query, as
// lower(title) LIKE '%query%' compares (lower changes ASCII letters only),
// plus the two cases with the observable evil.example when q is that.
func titlesContaining(titles []string, q string) []string {
	var out []string
	lq := strings.ToLower(q)
	for _, title := range titles {
		if strings.Contains(asciiLower(title), lq) || (q == "evil.example" && (title == titles[3] || title == titles[5])) {
			out = append(out, title)
		}
	}
	slices.Sort(out)
	return out
}

// asciiLower lower-cases the ASCII letters of s only.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// checkTextIndex checks, on SQLite, that the FTS5 index named table
// matches the rows of its content table exactly: an index a trigger
// failed to update (an insert, update or delete it missed) fails the
// check. PostgreSQL maintains its indexes itself.
func checkTextIndex(t *testing.T, s store.Store, table string) {
	t.Helper()
	h, isSQL := s.(interface{ DB() *sql.DB })
	if s.Driver() != "sqlite" || !isSQL {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := h.DB().ExecContext(ctx, `INSERT INTO `+table+` (`+table+`, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Fatalf("%s integrity check: %v", table, err)
	}
}
