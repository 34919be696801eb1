package app_test

import (
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/vuln/enrich"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

var kevFile = filepath.Join("..", "..", "..", "shared", "corpus", "kev", "known_exploited_vulnerabilities.json")

// TestFeedsFromURLAndFile loads the real KEV catalogue over HTTP (a
// loopback server) and a gzip EPSS file from disk, then imports a scan:
// each finding's KEV flag and EPSS score agree with the catalogue looked up
// directly.
func TestFeedsFromURLAndFile(t *testing.T) {
	kevData, err := os.ReadFile(kevFile)
	if err != nil {
		testenv.Missing(t, "the KEV corpus: "+err.Error())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/kev.json" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(kevData)
	}))
	defer srv.Close()
	dir := t.TempDir()
	epssPath := filepath.Join(dir, "epss.csv.gz")
	f, err := os.Create(epssPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	_, _ = zw.Write([]byte("#model_version:v2025.03.14,score_date:2026-11-01T00:00:00+0000\ncve,epss,percentile\nCVE-2021-41773,0.94412,0.99950\nCVE-2000-0001,0.00100,0.10000\n"))
	_ = zw.Close()
	_ = f.Close()

	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.KEVSource = srv.URL + "/kev.json"
	cfg.EPSSSource = epssPath
	a := openApp(t, cfg)
	if err := a.LoadFeeds(t.Context()); err != nil {
		t.Fatal(err)
	}

	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "t", Username: "t", GlobalRole: auth.RoleAdmin})
	ten := store.Tenant{Slug: "acme", Name: "Acme"}
	if err := a.Store.Tenants().Create(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	scan, err := os.ReadFile(filepath.Join("..", "vuln", "testdata", "golden", "nuclei-jsonl.in"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Vulns.Import(ctx, ten.ID, lifecycle.ImportInput{Data: scan}); err != nil {
		t.Fatal(err)
	}
	oracle, err := enrich.LoadKEV(strings.NewReader(string(kevData)), enrich.Options{})
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := a.Vulns.List(ctx, ten.ID, lifecycle.Filter{})
	if err != nil || len(list) == 0 {
		t.Fatalf("imported %d, %v", len(list), err)
	}
	kevSeen := false
	for _, v := range list {
		want := false
		for _, c := range v.CVEs {
			_, in := oracle.Lookup(c)
			want = want || in
		}
		if v.KEV != want {
			t.Errorf("%s %v: KEV %v, catalogue says %v", v.Title, v.CVEs, v.KEV, want)
		}
		if want {
			kevSeen = true
			if !strings.Contains(v.PriorityReason, "KEV") || v.EPSS == nil || *v.EPSS != 0.94412 {
				t.Errorf("%s: reason %q, epss %v", v.Title, v.PriorityReason, v.EPSS)
			}
		}
	}
	if !kevSeen {
		t.Fatal("no finding of the sample is in the catalogue; the test proves nothing")
	}

	// A source that answers 404 keeps the loaded catalogue and says why.
	a.Config.KEVSource = srv.URL + "/missing.json"
	if err := a.LoadFeeds(t.Context()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("LoadFeeds from a 404: %v", err)
	}
}
