package desk

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
	"github.com/vigil-sec/vigil/internal/vuln/enrich"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

const kevPath = "../../../../shared/corpus/kev/known_exploited_vulnerabilities.json"

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"), sqlite.Options{})
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newTenant(t testing.TB, st store.Store, slug string) store.Tenant {
	t.Helper()
	tn := store.Tenant{Slug: slug, Name: slug}
	must(t, st.Tenants().Create(context.Background(), &tn))
	return tn
}

func kevAdvisories(t *testing.T) []hunt.Advisory {
	t.Helper()
	f, err := os.Open(kevPath)
	must(t, err)
	defer f.Close()
	k, err := enrich.LoadKEV(f, enrich.Options{})
	must(t, err)
	return hunt.FromKEV(k)
}

func TestSourceName(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:secret@feeds.example.org/kev.json?key=abc": "feeds.example.org/kev.json",
		"http://intel.example/misp/feed#x":                       "intel.example/misp/feed",
		"/srv/feeds/blocklist.csv":                               "blocklist.csv",
		`C:\feeds\list.txt`:                                      "list.txt",
		"list.txt":                                               "list.txt",
	} {
		if got := SourceName(in); got != want {
			t.Errorf("SourceName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFeedHealth(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	d := New(openStore(t), Options{Now: func() time.Time { return now }})
	d.Record(KindIndicators, "https://x:pw@feeds.example/a.json", "stix", now.Add(-time.Second), 120, 3, nil)
	d.Record(KindKEV, "/data/kev.json", "", now.Add(-2*time.Second), 1404, 0, nil)
	// A later failure keeps the last success and its counts.
	d.Record(KindIndicators, "https://x:pw@feeds.example/a.json", "", now, 0, 0, errors.New("HTTP 503"))
	fs := d.Feeds()
	if len(fs) != 2 {
		t.Fatalf("feeds %+v", fs)
	}
	a := fs[0]
	if a.Kind != KindIndicators || a.Name != "feeds.example/a.json" || a.Healthy() || a.Items != 120 || a.Rejected != 3 ||
		a.Format != "stix" || !a.LastSuccess.Equal(now.Add(-time.Second)) || a.Error != "HTTP 503" {
		t.Errorf("indicators feed %+v", a)
	}
	if k := fs[1]; !k.Healthy() || k.Items != 1404 || k.Name != "kev.json" {
		t.Errorf("kev feed %+v", k)
	}
	if fs[1].Stale(now, time.Hour) || !fs[1].Stale(now.Add(3*time.Hour), time.Hour) {
		t.Error("staleness wrong")
	}
	for _, f := range fs {
		if strings.Contains(f.Name, "pw") {
			t.Errorf("credentials shown: %q", f.Name)
		}
	}
}

// TestWarnings loads the real KEV catalogue and checks that a tenant
// running Git hears of the Git KEV entry while it is recent, that the
// tenant without Git does not, and that older entries are not warnings.
func TestWarnings(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	acme, other := newTenant(t, st, "acme"), newTenant(t, st, "other")
	advs := kevAdvisories(t)
	var git hunt.Advisory
	for _, a := range advs {
		if a.ID == "CVE-2025-48384" {
			git = a
		}
	}
	if git.ID == "" || git.Published.IsZero() {
		t.Fatal("CVE-2025-48384 with its date is not in the KEV corpus")
	}
	build := store.Asset{TenantID: acme.ID, Kind: "host", Name: "build-01", Attributes: map[string]string{"software": "Git 2.43.0"}}
	must(t, st.Assets().Create(ctx, &build))
	web := store.Asset{TenantID: other.ID, Kind: "host", Name: "web-01", Attributes: map[string]string{"product": "nginx"}}
	must(t, st.Assets().Create(ctx, &web))

	now := git.Published.Add(24 * time.Hour)
	d := New(st, Options{Now: func() time.Time { return now }})
	d.SetIntel(advs, nil)
	ws, err := d.Warnings(ctx, acme.ID)
	must(t, err)
	var ids []string
	for _, w := range ws {
		ids = append(ids, w.Advisory.ID)
		if w.Advisory.Published.Before(now.Add(-d.Window())) {
			t.Errorf("%s published %s is older than the window", w.Advisory.ID, w.Advisory.Published)
		}
		if len(w.Assets) == 0 && len(w.Findings) == 0 {
			t.Errorf("%s listed without a match", w.Advisory.ID)
		}
	}
	if !slices.Contains(ids, git.ID) {
		t.Errorf("warnings %v lack %s", ids, git.ID)
	}
	ows, err := d.Warnings(ctx, other.ID)
	must(t, err)
	for _, w := range ows {
		if w.Advisory.ID == git.ID {
			t.Error("tenant without Git warned about Git")
		}
	}
	// Once the entry is older than the window it is no warning.
	later := git.Published.Add(d.Window() + 48*time.Hour)
	d2 := New(st, Options{Now: func() time.Time { return later }})
	d2.SetIntel(advs, nil)
	ws2, err := d2.Warnings(ctx, acme.ID)
	must(t, err)
	for _, w := range ws2 {
		if w.Advisory.ID == git.ID {
			t.Error("old advisory still a warning")
		}
	}
	// A finding naming a recent KEV CVE is a warning even without a
	// product attribute.
	must(t, st.Vulns().Import(ctx, store.VulnImport{Scan: &store.VulnScan{TenantID: other.ID, Scanner: "test"}, Initial: lifecycle.StateNew,
		Findings: []store.VulnFinding{{Fingerprint: "f1", AssetID: web.ID, AssetKey: "web-01", Title: "git on web", Severity: "high", CVEs: []string{git.ID}}}}))
	ows, err = d.Warnings(ctx, other.ID) // cached: the finding is not seen yet
	must(t, err)
	if slices.ContainsFunc(ows, func(w hunt.AdvisoryMatch) bool { return w.Advisory.ID == git.ID }) {
		t.Error("cache not used")
	}
	d.SetIntel(advs, nil) // a feed load clears the cache
	ows, err = d.Warnings(ctx, other.ID)
	must(t, err)
	if !slices.ContainsFunc(ows, func(w hunt.AdvisoryMatch) bool { return w.Advisory.ID == git.ID && len(w.Findings) == 1 }) {
		t.Error("finding with a recent KEV CVE not warned")
	}
}

// TestTAXII serves the desk's collections through the TAXII server and
// reads them with the TAXII client: the curated collection has exactly
// the shareable indicators, added_after polling returns only what a later
// load added, and a tenant's sightings are its own.
func TestTAXII(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	acme, other := newTenant(t, st, "acme"), newTenant(t, st, "other")
	reg := intel.NewRegistry()
	f, err := reg.LoadPath(ctx, "../testdata/feed.csv", "", intel.ParseOptions{})
	must(t, err)
	ins := append(slices.Clone(f.Indicators),
		intel.Indicator{Type: intel.TypeDomain, Value: "red.example", TLP: intel.TLPRed, Confidence: 80},
		intel.Indicator{Type: intel.TypeIPv4, Value: "192.0.2.200", TLP: intel.TLPAmberStrict, Confidence: 80})
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	clock := now
	d := New(st, Options{Now: func() time.Time { return clock }})
	d.SetIntel(nil, ins)

	srv, err := intel.NewTAXIIServer(intel.TAXIIServerOptions{Title: "Vigil", APIRoot: "taxii2/vigil", MaxPageSize: 3, Source: d,
		Auth: func(r *http.Request) (string, error) {
			switch r.Header.Get("Authorization") {
			case "Bearer acme":
				return acme.ID, nil
			case "Bearer other":
				return other.ID, nil
			}
			return "", intel.ErrUnauthorized
		}})
	must(t, err)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := func(tok string) *intel.TAXIIClient {
		return &intel.TAXIIClient{BaseURL: ts.URL, Token: tok, HTTP: ts.Client()}
	}
	want := map[string]bool{}
	for _, in := range ins {
		if in.TLP != intel.TLPRed && in.TLP != intel.TLPAmberStrict {
			want[string(in.Type)+" "+in.Value] = true
		}
	}
	got := func(fd *intel.Feed) map[string]bool {
		m := map[string]bool{}
		for _, in := range fd.Indicators {
			m[string(in.Type)+" "+in.Value] = true
		}
		return m
	}
	fd, err := client("acme").FetchFeed(ctx, "/taxii2/vigil/", CuratedID, time.Time{}, intel.ParseOptions{})
	must(t, err)
	if g := got(fd); len(g) != len(want) || len(want) < 4 {
		t.Errorf("curated: got %v, want %v", g, want)
	} else {
		for k := range want {
			if !g[k] {
				t.Errorf("curated lacks %s", k)
			}
		}
	}

	// A later load adds one indicator: polling after the first load gets it alone.
	clock = now.Add(time.Hour)
	d.SetIntel(nil, append(slices.Clone(ins), intel.Indicator{Type: intel.TypeDomain, Value: "new-c2.example", Confidence: 70}))
	fd, err = client("acme").FetchFeed(ctx, "/taxii2/vigil/", CuratedID, now, intel.ParseOptions{})
	must(t, err)
	if g := got(fd); len(g) != 1 || !g["domain new-c2.example"] {
		t.Errorf("added_after: got %v", g)
	}

	// Sightings: acme's events matched one indicator.
	al := store.Alert{TenantID: acme.ID, GroupKey: "k", RuleID: hunt.RuleID(intel.TypeDomain, "evil.example"), RuleTitle: "intel",
		Level: "high", Host: "pc-1", FirstSeen: clock.Add(-time.Hour), LastSeen: clock.Add(-time.Hour)}
	_, err = st.Alerts().Raise(ctx, &al, time.Minute, []string{"new"}, 10)
	must(t, err)
	fd, err = client("acme").FetchFeed(ctx, "/taxii2/vigil/", SightingsID(acme.ID), time.Time{}, intel.ParseOptions{})
	must(t, err)
	if g := got(fd); len(g) != 1 || !g["domain evil.example"] {
		t.Errorf("sightings: got %v", g)
	}
	cols, err := client("other").Collections(ctx, "/taxii2/vigil/")
	must(t, err)
	for _, c := range cols {
		if c.ID == SightingsID(acme.ID) || strings.Contains(c.Title, "acme") {
			t.Errorf("other tenant sees %+v", c)
		}
	}
	if _, err := client("other").FetchFeed(ctx, "/taxii2/vigil/", SightingsID(acme.ID), time.Time{}, intel.ParseOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("other tenant reads acme's sightings: %v", err)
	}
	if _, err := client("nobody").Collections(ctx, "/taxii2/vigil/"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("no token: %v", err)
	}
	resp, err := ts.Client().Get(ts.URL + "/taxii2/vigil/collections/" + CuratedID + "/objects/?next=999999") // #nosec G107 -- test server
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated objects: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/taxii2/vigil/collections/"+CuratedID+"/objects/?next=999999", nil)
	req.Header.Set("Authorization", "Bearer acme")
	resp, err = ts.Client().Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad next token: %d", resp.StatusCode)
	}
}
