package alerting_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

func TestDigestWeek(t *testing.T) {
	// Worked out by hand: 2026-11-29 is a Sunday, so the last complete
	// ISO week is Monday 2026-11-16 to Monday 2026-11-23 (week 47); on
	// Monday 2026-11-30 00:00 the week of 2026-11-23 (48) is complete.
	for _, c := range []struct {
		now        time.Time
		from, name string
	}{
		{time.Date(2026, 11, 29, 23, 59, 0, 0, time.UTC), "2026-11-16", "2026-W47"},
		{time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), "2026-11-23", "2026-W48"},
		{time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC), "2026-12-28", "2026-W53"},
	} {
		from, to, name := alerting.DigestWeek(c.now)
		if from.Format(time.DateOnly) != c.from || to.Sub(from) != 7*24*time.Hour || name != c.name {
			t.Errorf("DigestWeek(%s) = %s, %s, %s", c.now, from, to, name)
		}
	}
}

// TestWeeklyDigestOnceAcrossNodes: two nodes (two services on one store)
// run the weekly job at once; the tenant's digest goes out once, by
// e-mail to each of its own contacts alone and to its webhook, and says
// what the fixture data says, counted here independently.
func TestWeeklyDigestOnceAcrossNodes(t *testing.T) {
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	sys := auth.WithPrincipal(t.Context(), &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
	// The store stamps cases with its own clock (now): the digest is the
	// one of the week holding now, sent an hour after that week ended.
	real := time.Now().UTC()
	day := time.Date(real.Year(), real.Month(), real.Day(), 0, 0, 0, 0, time.UTC)
	monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	clock := &setClock{now: monday.AddDate(0, 0, 7).Add(time.Hour)}
	from, to := monday, monday.AddDate(0, 0, 7)
	in := func(at time.Time) bool { return !at.Before(from) && at.Before(to) }

	var nodes []*alerting.Service
	for range 2 {
		svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example", Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		defer svc.Close()
		nodes = append(nodes, svc)
	}
	addr, box := startMailbox(t)
	emailChannel(t, nodes[0], admin, e.TenantA.ID, addr)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	settings, _ := json.Marshal(map[string]string{"url": srv.URL})
	if _, err := nodes[0].Create(admin, e.TenantA.ID, alerting.Input{Name: "soar", Kind: "webhook", Settings: settings,
		Secrets: map[string]string{"signing_secret": "hook-secret"}, MinLevel: "critical", AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.Contact{
		{TenantID: e.TenantA.ID, Kind: "security-owner", Name: "Zhang", Email: "zhang@acme.example"},
		{TenantID: e.TenantA.ID, Kind: "management", Name: "Li", Email: "li@acme.example"},
		{TenantID: e.TenantA.ID, Kind: "vendor-support", Name: "Vendor", Email: "support@vendor.example"},
		{TenantID: e.TenantA.ID, Kind: "ops", Name: "No mail", Phone: "+8613800000000"},
		{TenantID: e.TenantB.ID, Kind: "security-owner", Name: "Other", Email: "other@beta.example"},
	} {
		if err := e.Store.Contacts().Create(admin, &c); err != nil {
			t.Fatal(err)
		}
	}

	// Alerts: first seen at an offset from the week's start, closed at
	// another (zero: still open).
	type alertSpec struct {
		first, closed time.Duration
		status        string
	}
	alerts := []alertSpec{
		{time.Hour, 0, ""}, {30 * time.Hour, 40 * time.Hour, "closed"}, {50 * time.Hour, 51 * time.Hour, "false-positive"},
		{-10 * time.Hour, 0, ""}, {-20 * time.Hour, 2 * time.Hour, "closed"}, {-30 * time.Hour, -25 * time.Hour, "closed"},
		{8 * 24 * time.Hour, 0, ""},
	}
	for i, a := range alerts {
		al := store.Alert{TenantID: e.TenantA.ID, GroupKey: fmt.Sprintf("r|h%d", i), RuleID: "r", RuleTitle: "Brute force", Level: "high",
			Host: fmt.Sprintf("h%d", i), EventIDs: []string{fmt.Sprint(i)}, Status: "new", LastSeen: from.Add(a.first)}
		if _, err := e.Store.Alerts().Raise(admin, &al, time.Minute, []string{"new"}, 3); err != nil {
			t.Fatal(err)
		}
		if a.status != "" {
			if err := e.Store.Alerts().SetStatus(admin, e.TenantA.ID, al.ID, a.status, "", "u", from.Add(a.closed)); err != nil {
				t.Fatal(err)
			}
		}
	}
	other := store.Alert{TenantID: e.TenantB.ID, GroupKey: "x", RuleID: "r", RuleTitle: "B", Level: "high", Host: "b", Status: "new", LastSeen: from.Add(time.Hour)}
	if _, err := e.Store.Alerts().Raise(admin, &other, time.Minute, []string{"new"}, 3); err != nil {
		t.Fatal(err)
	}
	// Cases: opened now (in the week), some closed at an offset.
	type caseSpec struct {
		title  string
		closed time.Duration // 0: open
	}
	cases := []caseSpec{{"Webshell <b>shop</b>", 0}, {"Phishing wave", 3 * time.Hour}, {"Closed next week", 9 * 24 * time.Hour}}
	for _, c := range cases {
		inc := store.Incident{TenantID: e.TenantA.ID, Title: c.title, Severity: "high", TLP: "amber", PAP: "amber", Category: "malware", Phase: "detect"}
		if c.closed != 0 {
			inc.Phase, inc.ClosedAt = "closed", from.Add(c.closed)
		}
		if err := e.Store.Incidents().Create(admin, &inc); err != nil {
			t.Fatal(err)
		}
	}
	// Findings: imported at an offset.
	type findingSpec struct {
		at       time.Duration
		severity string
		kev      bool
	}
	findings := []findingSpec{{2 * time.Hour, "critical", true}, {3 * time.Hour, "critical", false}, {4 * time.Hour, "high", true},
		{-48 * time.Hour, "critical", false}}
	for i, f := range findings {
		sc := &store.VulnScan{TenantID: e.TenantA.ID, Scanner: "nuclei", Format: "nuclei", Filename: "scan.jsonl"}
		vf := store.VulnFinding{Fingerprint: fmt.Sprint("fp", i), AssetKey: fmt.Sprint("10.0.0.", i), IP: fmt.Sprint("10.0.0.", i),
			Scanner: "nuclei", RuleID: fmt.Sprint("rule", i), Title: fmt.Sprint("Finding ", i), Severity: f.severity, Layer: "application", KEV: f.kev}
		if err := e.Store.Vulns().Import(admin, store.VulnImport{Scan: sc, Findings: []store.VulnFinding{vf}, Initial: "new", Reopened: "reopened",
			AbsentTo: "fixed-pending-verification", At: from.Add(f.at)}); err != nil {
			t.Fatal(err)
		}
	}
	hit := []hunt.AssetHit{{AssetID: e.AssetA.ID, Name: e.AssetA.Name, Reason: "attribute"}}
	warnings := func(_ context.Context, tenantID string) ([]hunt.AdvisoryMatch, error) {
		if tenantID != e.TenantA.ID {
			return nil, nil
		}
		return []hunt.AdvisoryMatch{
			{Advisory: hunt.Advisory{ID: "CVE-2024-3400", Title: "PAN-OS", Severity: "critical", Source: "cisa-kev", Exploited: true, Published: from.Add(time.Hour)}, Assets: hit},
			{Advisory: hunt.Advisory{ID: "CVE-2021-44228", Title: "Log4Shell", Severity: "critical", Source: "cisa-kev", Exploited: true, Published: from.Add(-time.Hour)}, Assets: hit},
			{Advisory: hunt.Advisory{ID: "VENDOR-1", Title: "Vendor <i>fix</i>", Severity: "high", Source: "stix", Published: from.Add(2 * time.Hour)}, Assets: hit},
			{Advisory: hunt.Advisory{ID: "VENDOR-2", Title: "Matches nothing", Severity: "high", Published: from.Add(2 * time.Hour)}},
		}, nil
	}
	analyst := e.As(t.Context(), e.AnalystA)
	if _, err := nodes[0].AddDigestSection(analyst, e.TenantA.ID, "行业态势 <b>本周</b>", "Ransomware <script>alert(1)</script> & phishing"); err != nil {
		t.Fatal(err)
	}

	// Counted independently from the specs above.
	var newAlerts, closedAlerts, closedCases, newCritical, newKEV, openCritical int
	for _, a := range alerts {
		if in(from.Add(a.first)) {
			newAlerts++
		}
		if a.status != "" && in(from.Add(a.closed)) {
			closedAlerts++
		}
	}
	for _, c := range cases {
		if c.closed != 0 && in(from.Add(c.closed)) {
			closedCases++
		}
	}
	for _, f := range findings {
		if f.severity == "critical" {
			openCritical++
			if in(from.Add(f.at)) {
				newCritical++
			}
		}
		if f.kev && in(from.Add(f.at)) {
			newKEV++
		}
	}

	var wg sync.WaitGroup
	sent := make([]int, len(nodes))
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() { sent[i], errs[i] = n.SendDueDigests(sys, warnings) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if sent[0]+sent[1] != 1 {
		t.Fatalf("digests sent by the two nodes: %v", sent)
	}
	for _, n := range nodes { // a later run finds the week sent
		if again, err := n.SendDueDigests(sys, warnings); err != nil || again != 0 {
			t.Fatalf("sent again: %d, %v", again, err)
		}
	}
	runs, err := nodes[1].DigestRuns(admin, e.TenantA.ID, store.Page{})
	if err != nil || len(runs) != 1 || runs[0].Status != store.DigestSent || runs[0].Messages != 3 || !runs[0].From.Equal(from) {
		t.Fatalf("runs of A %+v, %v", runs, err)
	}
	// B has no channel: its week is recorded as skipped, with the reason,
	// and nothing is composed or sent.
	if runs, err := nodes[1].DigestRuns(admin, e.TenantB.ID, store.Page{}); err != nil || len(runs) != 1 ||
		runs[0].Status != store.DigestSkipped || runs[0].Error != alerting.DigestNoChannel || runs[0].Messages != 0 {
		t.Fatalf("runs of B (no channel) %+v, %v", runs, err)
	}

	if waitN(func() int { return len(box.all()) }, 2) != 2 || waitN(func() int { return len(rc.got()) }, 1) != 1 {
		t.Fatalf("mails %d, webhook %d", len(box.all()), len(rc.got()))
	}
	got := map[string]bool{}
	for _, m := range box.all() {
		if len(m.to) != 1 {
			t.Errorf("a digest e-mail went to %v", m.to)
			continue
		}
		got[m.to[0]] = true
		if !strings.Contains(m.subj, "Weekly security digest") {
			t.Errorf("subject %q", m.subj)
		}
		for _, want := range []string{
			fmt.Sprintf("New alerts: %d", newAlerts), fmt.Sprintf("Alerts closed: %d", closedAlerts),
			fmt.Sprintf("Cases opened: %d", len(cases)), fmt.Sprintf("Cases closed: %d", closedCases),
			fmt.Sprintf("New critical findings: %d", newCritical), fmt.Sprintf("New findings of exploited vulnerabilities: %d", newKEV),
			fmt.Sprintf("Critical findings still open: %d", openCritical),
			"CVE-2024-3400 PAN-OS", "VENDOR-1", "Phishing wave", "Ransomware <script>alert(1)</script> & phishing",
		} {
			if !strings.Contains(m.body, want) {
				t.Errorf("digest to %s lacks %q:\n%s", m.to[0], want, m.body)
			}
		}
		for _, not := range []string{"CVE-2021-44228", "VENDOR-2", "other@beta"} {
			if strings.Contains(m.body, not) {
				t.Errorf("digest carries %q", not)
			}
		}
		for _, want := range []string{"行业态势 &lt;b&gt;本周&lt;/b&gt;", "Webshell &lt;b&gt;shop&lt;/b&gt;", "Vendor &lt;i&gt;fix&lt;/i&gt;"} {
			if !strings.Contains(m.html, want) {
				t.Errorf("digest HTML lacks %q", want)
			}
		}
		if strings.Contains(m.html, "<script>") || strings.Contains(m.html, "<b>shop") {
			t.Error("digest HTML carries markup from the data")
		}
	}
	if !got["zhang@acme.example"] || !got["li@acme.example"] {
		t.Errorf("digest recipients %v", got)
	}
	if !strings.Contains(rc.got()[0], "CVE-2024-3400") || rc.bad != 0 {
		t.Errorf("webhook got %q (bad %d)", rc.got()[0], rc.bad)
	}
	secs, err := nodes[0].DigestSections(analyst, e.TenantA.ID, store.Page{})
	if err != nil || len(secs) != 1 || secs[0].SentAt.IsZero() || secs[0].SentIn != "digest:"+runs[0].Period {
		t.Fatalf("section after the digest %+v, %v", secs, err)
	}
}

// TestDigestPreviewAndSendNow: the preview needs report.read in the
// tenant and sends nothing; "send now" needs incident.write, is audited
// and is a run of its own.
func TestDigestPreviewAndSendNow(t *testing.T) {
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	clock := &setClock{now: time.Now().UTC()}
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	addr, box := startMailbox(t)
	emailChannel(t, svc, admin, e.TenantA.ID, addr)
	customerB := e.As(t.Context(), e.CustomerB)
	if _, _, err := svc.PreviewDigest(customerB, e.TenantA.ID, nil); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("B's customer previewing A's digest: %v", err)
	}
	if _, err := svc.SendDigestNow(customerB, e.TenantB.ID, nil); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("a customer sending a digest: %v", err)
	}
	analyst := e.As(t.Context(), e.AnalystA)
	inc := store.Incident{TenantID: e.TenantA.ID, Title: "Opened today", Severity: "low", TLP: "amber", PAP: "amber", Category: "other", Phase: "detect"}
	if err := e.Store.Incidents().Create(admin, &inc); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Minute)
	d, msg, err := svc.PreviewDigest(analyst, e.TenantA.ID, nil)
	if err != nil || d.Counts.NewCases != 1 || !strings.Contains(msg.Text, "Opened today") || !strings.Contains(msg.HTML, "Opened today") {
		t.Fatalf("preview %+v, %v:\n%s", d.Counts, err, msg.Text)
	}
	if runs, _ := svc.DigestRuns(admin, e.TenantA.ID, store.Page{}); len(runs) != 0 {
		t.Fatalf("a preview made a run: %+v", runs)
	}
	run, err := svc.SendDigestNow(analyst, e.TenantA.ID, nil)
	if err != nil || run.Status != store.DigestSent || run.Messages != 1 || run.SentBy != e.AnalystA.ID {
		t.Fatalf("send now: %+v, %v", run, err)
	}
	// No contact has an address: the e-mail channel's own list gets it.
	if waitN(func() int { return len(box.all()) }, 1) != 1 || !strings.Contains(box.all()[0].body, "Opened today") {
		t.Fatalf("mails %+v", box.all())
	}
	evs, err := e.Store.Audit().List(admin, store.AuditFilter{TenantID: e.TenantA.ID, Action: "digest.send"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("audit %+v, %v", evs, err)
	}
	for _, lang := range []string{notify.LangEN, notify.LangZH} {
		r, err := alerting.RenderDigest(d, lang)
		if err != nil || r.Text == "" || r.Markdown == "" || !strings.Contains(r.HTML, "Opened today") {
			t.Fatalf("render %s: %+v, %v", lang, r, err)
		}
	}
}
