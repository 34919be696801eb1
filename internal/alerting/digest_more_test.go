package alerting_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones without the host's zoneinfo

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/vuln/enrich"
)

const kevCorpus = "../../../shared/corpus/kev/known_exploited_vulnerabilities.json"

func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestDigestWeekInZones: the digest's week runs Monday to Monday on the
// tenant's clock. Worked out by hand: 2026-11-30 is a Monday, and
// 00:30 that day in Shanghai (UTC+8) is 16:30 UTC on the Sunday; in
// Berlin summer time ends on 2026-10-25 (the week before is 169 hours
// long); in New York it starts on 2026-03-08 (167 hours).
func TestDigestWeekInZones(t *testing.T) {
	sh, berlin, ny := loadZone(t, "Asia/Shanghai"), loadZone(t, "Europe/Berlin"), loadZone(t, "America/New_York")
	for _, c := range []struct {
		now      string
		loc      *time.Location
		from, to string // UTC
		name     string
		hours    float64
	}{
		{"2026-11-29T16:30:00Z", sh, "2026-11-22T16:00:00Z", "2026-11-29T16:00:00Z", "2026-W48", 168},
		{"2026-11-29T15:59:00Z", sh, "2026-11-15T16:00:00Z", "2026-11-22T16:00:00Z", "2026-W47", 168},
		{"2026-11-29T16:30:00Z", time.UTC, "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z", "2026-W47", 168},
		{"2026-10-26T10:00:00Z", berlin, "2026-10-18T22:00:00Z", "2026-10-25T23:00:00Z", "2026-W43", 169},
		{"2026-03-09T12:00:00Z", ny, "2026-03-02T05:00:00Z", "2026-03-09T04:00:00Z", "2026-W10", 167},
		{"2026-03-09T03:59:00Z", ny, "2026-02-23T05:00:00Z", "2026-03-02T05:00:00Z", "2026-W09", 168},
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		from, to, name := alerting.DigestWeekIn(now, c.loc)
		if got := from.UTC().Format(time.RFC3339); got != c.from {
			t.Errorf("%s in %s: from %s, want %s", c.now, c.loc, got, c.from)
		}
		if got := to.UTC().Format(time.RFC3339); got != c.to {
			t.Errorf("%s in %s: to %s, want %s", c.now, c.loc, got, c.to)
		}
		if name != c.name || to.Sub(from).Hours() != c.hours {
			t.Errorf("%s in %s: %s, %v hours", c.now, c.loc, name, to.Sub(from).Hours())
		}
		if from.In(c.loc).Weekday() != time.Monday || from.In(c.loc).Hour() != 0 {
			t.Errorf("%s in %s: the week starts %s", c.now, c.loc, from.In(c.loc))
		}
	}
}

// TestUpdateActionOnKEVCatalogue reads every required action of the real
// KEV catalogue: those that start "Apply updates" are patches, the
// mitigation-only and end-of-life ones are not.
func TestUpdateActionOnKEVCatalogue(t *testing.T) {
	f, err := os.Open(testenv.RequireCorpus(t, kevCorpus))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k, err := enrich.LoadKEV(f, enrich.Options{})
	if err != nil {
		t.Fatal(err)
	}
	updates, mitigations, eol, patches := 0, 0, 0, 0
	for _, e := range k.Entries() {
		a := strings.ToLower(strings.TrimSpace(e.RequiredAction))
		got := alerting.UpdateAction(e.RequiredAction)
		if got {
			patches++
		}
		switch {
		case strings.HasPrefix(a, "apply updates"):
			updates++
			if !got {
				t.Errorf("%s: %q is not read as an update", e.CVE, e.RequiredAction)
			}
		case strings.HasPrefix(a, "apply mitigations per vendor instructions or discontinue use"):
			mitigations++
			if got {
				t.Errorf("%s: %q is read as an update", e.CVE, e.RequiredAction)
			}
		case strings.HasPrefix(a, "the impacted product is end-of-life"):
			eol++
			if got {
				t.Errorf("%s: %q is read as an update", e.CVE, e.RequiredAction)
			}
		}
	}
	if updates == 0 || mitigations == 0 || eol == 0 {
		t.Fatalf("catalogue: %d updates, %d mitigations, %d end of life", updates, mitigations, eol)
	}
	t.Logf("%d KEV entries: %d patches (%d start \"Apply updates\"), %d mitigation only, %d end of life",
		k.Len(), patches, updates, mitigations, eol)
}

func TestFixedVersions(t *testing.T) {
	for _, c := range []struct {
		versions string
		want     []string
	}{
		{">=2.4.0, <2.4.58", []string{"2.4.58"}},
		{">=3.0.0, <3.0.8 || >=1.1.1, <1.1.1t", []string{"3.0.8", "1.1.1t"}},
		{"<=2.4.57", nil},
		{"*", nil},
		{"", nil},
		{"=1.0 || <2.0 || <2.0", []string{"2.0"}},
	} {
		if got := alerting.FixedVersions(hunt.Affected{Product: "p", Versions: c.versions}); !slices.Equal(got, c.want) {
			t.Errorf("FixedVersions(%q) = %q, want %q", c.versions, got, c.want)
		}
	}
}

// section returns the lines of a plain-text digest from the heading to
// the next blank line.
func section(body, heading string) []string {
	i := strings.Index(body, "\n"+heading+"\n")
	if i < 0 {
		return nil
	}
	rest := body[i+len(heading)+2:]
	if j := strings.Index(rest, "\n\n"); j >= 0 {
		rest = rest[:j]
	}
	return strings.Split(rest, "\n")
}

var itemIDRE = regexp.MustCompile(`^  - (\S+)`)

// TestDigestPatchesAndSLAInTenantZone: a tenant in Shanghai gets the
// digest of its own week, with the patches released that week for the
// products its inventory names (real KEV entries and vendor advisories,
// matched by the intelligence desk's matcher) and its SLA breaches; every
// figure is counted here from the specs.
func TestDigestPatchesAndSLAInTenantZone(t *testing.T) {
	f, err := os.Open(testenv.RequireCorpus(t, kevCorpus))
	if err != nil {
		t.Fatal(err)
	}
	k, err := enrich.LoadKEV(f, enrich.Options{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	sys := auth.WithPrincipal(t.Context(), &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
	sh := loadZone(t, "Asia/Shanghai")
	ta := e.TenantA
	ta.TimeZone = "Asia/Shanghai"
	if err := e.Store.Tenants().Update(admin, &ta); err != nil {
		t.Fatal(err)
	}
	// The store stamps cases with its own clock: the week is the one
	// holding now in Shanghai, sent an hour after it ended there.
	real := time.Now().In(sh)
	day := time.Date(real.Year(), real.Month(), real.Day(), 0, 0, 0, 0, sh)
	from := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	to := from.AddDate(0, 0, 7)
	clock := &setClock{now: to.Add(time.Hour)}
	if f, tt, _ := alerting.DigestWeekIn(clock.Now(), sh); !f.Equal(from) || !tt.Equal(to) {
		t.Fatalf("week %s – %s, want %s – %s", f, tt, from, to)
	}
	in := func(at time.Time) bool { return !at.Before(from) && at.Before(to) }
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	addr, box := startMailbox(t)
	emailChannel(t, svc, admin, ta.ID, addr)

	// Two real KEV entries, one asking for updates and one for
	// mitigations only; the tenant runs both products.
	var kevUpdate, kevMitigate, kevOld hunt.Advisory
	for _, a := range hunt.FromKEV(k) {
		switch act := strings.ToLower(a.Action); {
		case kevUpdate.ID == "" && strings.HasPrefix(act, "apply updates"):
			kevUpdate = a
		case kevOld.ID == "" && strings.HasPrefix(act, "apply updates"):
			kevOld = a
		case kevMitigate.ID == "" && strings.HasPrefix(act, "apply mitigations per vendor instructions or discontinue"):
			kevMitigate = a
		}
	}
	if kevUpdate.ID == "" || kevMitigate.ID == "" || kevOld.ID == "" {
		t.Fatal("the catalogue lacks the entries this test needs")
	}
	// Published in the week, except kevOld (the week before).
	kevUpdate.Published, kevMitigate.Published, kevOld.Published = from.Add(time.Hour), from.Add(2*time.Hour), from.Add(-time.Hour)
	named := func(a hunt.Advisory) string { return a.Affected[0].Vendor + " " + a.Affected[0].Product }
	for i, attrs := range []map[string]string{
		{"product": "Apache HTTP Server", "version": "2.4.57"},
		{"software": named(kevUpdate)},
		{"software": named(kevMitigate)},
		{"software": named(kevOld)},
	} {
		a := store.Asset{TenantID: ta.ID, Kind: "host", Name: fmt.Sprintf("srv-%d", i), Address: fmt.Sprintf("10.1.0.%d", i+1), Attributes: attrs}
		if err := e.Store.Assets().Create(admin, &a); err != nil {
			t.Fatal(err)
		}
	}
	type advSpec struct {
		adv  hunt.Advisory
		runs bool // the tenant's inventory names the product
	}
	advs := []advSpec{
		{kevUpdate, true}, {kevMitigate, true}, {kevOld, true},
		{hunt.Advisory{ID: "VND-FIX", Title: "HTTP Server request smuggling", Severity: "high", Published: from.Add(3 * time.Hour),
			Affected: []hunt.Affected{{Vendor: "Apache", Product: "HTTP Server", Versions: ">=2.4.0, <2.4.58"}}}, true},
		{hunt.Advisory{ID: "VND-NOFIX", Title: "HTTP Server, no fix yet", Severity: "high", Published: from.Add(4 * time.Hour),
			Action: "Restrict access to the server status page.", Affected: []hunt.Affected{{Product: "HTTP Server", Versions: "<=2.4.57"}}}, true},
		{hunt.Advisory{ID: "VND-PKG", Title: "OpenSSL X.400 confusion", Severity: "high", Published: from.Add(5 * time.Hour),
			Affected: []hunt.Affected{{Product: "openssl", Versions: ">=3.0.0, <3.0.8 || >=1.1.1, <1.1.1t"}}}, true},
		{hunt.Advisory{ID: "VND-ELSEWHERE", Title: "Exchange", Severity: "critical", Published: from.Add(6 * time.Hour),
			Affected: []hunt.Affected{{Product: "Exchange Server", Versions: "<15.2.1544"}}}, false},
	}
	var list []hunt.Advisory
	for _, a := range advs {
		list = append(list, a.adv)
	}
	warnings := func(ctx context.Context, tenantID string) ([]hunt.AdvisoryMatch, error) {
		ms, err := hunt.MatchMany(ctx, e.Store, tenantID, list, hunt.MatchOptions{})
		var out []hunt.AdvisoryMatch
		for _, m := range ms {
			if len(m.Assets) > 0 || len(m.Findings) > 0 {
				out = append(out, m)
			}
		}
		return out, err
	}

	// Findings: a due date at an offset from the week's start (0: none).
	type findingSpec struct {
		due          time.Duration
		state        string
		pkg, version string
	}
	findings := []findingSpec{
		{-48 * time.Hour, "new", "openssl", "3.0.7"}, {24 * time.Hour, "confirmed", "", ""}, {9 * 24 * time.Hour, "new", "", ""},
		{24 * time.Hour, "verified-closed", "", ""}, {0, "new", "", ""}, {100 * time.Hour, "risk-accepted", "", ""},
		{150 * time.Hour, "fixing", "", ""},
	}
	for i, fs := range findings {
		vf := store.VulnFinding{Fingerprint: fmt.Sprint("sla", i), AssetKey: fmt.Sprint("10.2.0.", i), IP: fmt.Sprint("10.2.0.", i),
			Host: fmt.Sprint("host-", i), Scanner: "nuclei", RuleID: fmt.Sprint("r", i), Title: fmt.Sprint("Finding ", i), Severity: "high",
			Layer: "os", Package: fs.pkg, Version: fs.version}
		if fs.due != 0 {
			vf.DueAt = from.Add(fs.due)
		}
		sc := &store.VulnScan{TenantID: ta.ID, Scanner: "nuclei", Format: "nuclei", Filename: "scan.jsonl"}
		if err := e.Store.Vulns().Import(admin, store.VulnImport{Scan: sc, Findings: []store.VulnFinding{vf}, Initial: fs.state,
			Reopened: "reopened", AbsentTo: "fixed-pending-verification", At: from.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// Cases: each timer's due time and done time at offsets from the
	// week's start (0: none / not done).
	type timerSpec struct{ due, done time.Duration }
	type caseSpec struct {
		ack, contain, close timerSpec
	}
	cases := []caseSpec{
		{ack: timerSpec{2 * time.Hour, time.Hour}, contain: timerSpec{10 * time.Hour, 20 * time.Hour}, close: timerSpec{200 * time.Hour, 0}},
		{ack: timerSpec{3 * time.Hour, 0}, contain: timerSpec{-5 * time.Hour, 0}},
		{ack: timerSpec{4 * time.Hour, 0}, close: timerSpec{100 * time.Hour, 3 * time.Hour}},
		{ack: timerSpec{time.Hour, 30 * time.Minute}, close: timerSpec{50 * time.Hour, 60 * time.Hour}},
		{ack: timerSpec{140 * time.Hour, 150 * time.Hour}, contain: timerSpec{160 * time.Hour, 0}},
	}
	at := func(d time.Duration) time.Time {
		if d == 0 {
			return time.Time{}
		}
		return from.Add(d)
	}
	for i, c := range cases {
		inc := store.Incident{TenantID: ta.ID, Title: fmt.Sprint("SLA case ", i), Severity: "high", TLP: "amber", PAP: "amber",
			Category: "intrusion", Phase: "detect", AckDue: at(c.ack.due), AcknowledgedAt: at(c.ack.done), ContainDue: at(c.contain.due),
			ContainedAt: at(c.contain.done), CloseDue: at(c.close.due), ClosedAt: at(c.close.done)}
		if c.close.done != 0 {
			inc.Phase = "closed"
		}
		if err := e.Store.Incidents().Create(admin, &inc); err != nil {
			t.Fatal(err)
		}
	}

	// Counted from the specs.
	overdue := 0
	open := map[string]bool{"new": true, "confirmed": true, "assigned": true, "fixing": true, "fixed-pending-verification": true, "reopened": true}
	for _, fs := range findings {
		if fs.due != 0 && open[fs.state] && from.Add(fs.due).Before(to) {
			overdue++
		}
	}
	breached, breachCases := 0, 0
	for _, c := range cases {
		closed := at(c.close.done)
		n := 0
		for _, tm := range []timerSpec{c.ack, c.contain, c.close} {
			if tm.due == 0 || !in(from.Add(tm.due)) {
				continue
			}
			due, done := from.Add(tm.due), at(tm.done)
			late := (!done.IsZero() && done.After(due)) || (done.IsZero() && !closed.IsZero() && closed.After(due)) ||
				(done.IsZero() && closed.IsZero() && to.After(due))
			if late {
				n++
			}
		}
		breached += n
		if n > 0 {
			breachCases++
		}
	}
	var wantPatches, notPatches []string
	upperRE := regexp.MustCompile(`<\s*[0-9]`)
	for _, a := range advs {
		fix := strings.HasPrefix(strings.ToLower(a.adv.Action), "apply updates")
		for _, af := range a.adv.Affected {
			fix = fix || upperRE.MatchString(af.Versions)
		}
		if a.runs && in(a.adv.Published) && fix {
			wantPatches = append(wantPatches, a.adv.ID)
		} else {
			notPatches = append(notPatches, a.adv.ID)
		}
	}
	if overdue == 0 || breached == 0 || len(wantPatches) < 3 || len(notPatches) < 3 {
		t.Fatalf("the specs test too little: %d overdue, %d breached, patches %v, not %v", overdue, breached, wantPatches, notPatches)
	}

	if n, err := svc.SendDueDigests(sys, warnings); err != nil || n != 1 {
		t.Fatalf("sent %d, %v", n, err)
	}
	_, _, period := alerting.DigestWeekIn(clock.Now(), sh)
	runs, err := svc.DigestRuns(admin, ta.ID, store.Page{})
	if err != nil || len(runs) != 1 || runs[0].Period != period || !runs[0].From.Equal(from) || !runs[0].To.Equal(to) {
		t.Fatalf("runs %+v, %v (want %s from %s)", runs, err, period, from)
	}
	if waitN(func() int { return len(box.all()) }, 1) != 1 {
		t.Fatalf("mails %d", len(box.all()))
	}
	body := strings.ReplaceAll(box.all()[0].body, "\r\n", "\n")
	for _, want := range []string{
		fmt.Sprintf("%s – %s (Asia/Shanghai)", from.Format(time.DateOnly), to.Format(time.DateOnly)),
		fmt.Sprintf("Findings past their due date: %d", overdue),
		fmt.Sprintf("Case timers breached this week: %d", breached),
		fmt.Sprintf("Case timers breached: %d", breached),
		"fixed in Apache HTTP Server 2.4.58", "fixed in openssl 3.0.8; openssl 1.1.1t", "openssl 3.0.7 on host-0",
		"Apache HTTP Server on srv-0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("digest lacks %q:\n%s", want, body)
		}
	}
	var gotPatches []string
	for _, l := range section(body, "Patches released for products you run") {
		if m := itemIDRE.FindStringSubmatch(l); m != nil {
			gotPatches = append(gotPatches, m[1])
		}
	}
	slices.Sort(gotPatches)
	slices.Sort(wantPatches)
	if !slices.Equal(gotPatches, wantPatches) {
		t.Errorf("patches %v, want %v:\n%s", gotPatches, wantPatches, body)
	}
	refs := map[string]bool{}
	for _, l := range section(body, fmt.Sprintf("Case timers breached: %d", breached)) {
		if m := itemIDRE.FindStringSubmatch(l); m != nil {
			refs[m[1]] = true
		}
	}
	if len(refs) != breachCases {
		t.Errorf("breached timers of %d cases listed, want %d:\n%s", len(refs), breachCases, body)
	}
}
