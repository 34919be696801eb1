package exposure_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// importFile opens one of the discovery package's hand-written import
// inputs (see its testdata/imports/README.md).
func importFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "asset", "discovery", "testdata", "imports", name)) // #nosec G304 -- test data
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func TestImportMergesInScopeObservations(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	svc := exposure.NewService(e.Store, e.Audit, exposure.Options{Now: func() time.Time { return now }})

	// Nothing is imported before the tenant declares its space.
	_, err := svc.Import(ctx, e.TenantA.ID, exposure.ImportInput{FileName: "shodan.jsonl", File: importFile(t, "shodan.jsonl")})
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Code != store.CodeRequired {
		t.Fatalf("import without a scope: %v", err)
	}
	for _, in := range []asset.Input{{Kind: "ip", Name: "dmz", Address: "192.0.2.0/28"}, {Kind: "domain", Name: "web", Address: "example.com"}} {
		if _, err := e.Assets.Create(ctx, e.TenantA.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	// Vigil's own scan saw SSH on 192.0.2.10 (as merge records it).
	web, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "host", Name: "web-1", Address: "192.0.2.10"})
	if err != nil {
		t.Fatal(err)
	}
	web.Attributes = map[string]string{"open_ports": "22/ssh"}
	web.LastSeenAt = now.Add(-60 * 24 * time.Hour)
	if err := e.Store.Assets().Update(ctx, &web); err != nil {
		t.Fatal(err)
	}

	// A read-only user may not import; another tenant's user neither.
	for _, u := range []store.User{e.CustomerB} {
		if _, err := svc.Import(e.As(t.Context(), u), e.TenantA.ID, exposure.ImportInput{File: importFile(t, "shodan.jsonl")}); !errors.Is(err, auth.ErrForbidden) {
			t.Fatalf("import as %s: %v", u.Username, err)
		}
	}

	// Shodan: 192.0.2.10 ports 22 and 443 in scope, 198.51.100.7 outside.
	run, err := svc.Import(ctx, e.TenantA.ID, exposure.ImportInput{FileName: `C:\exports\shodan.jsonl`, File: importFile(t, "shodan.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	if run.Targets != "import:shodan shodan.jsonl" || run.Ports != exposure.ImportPorts || run.Status != exposure.StatusDone || !exposure.IsImport(run) {
		t.Fatalf("run %+v", run)
	}
	_, res, err := svc.Get(ctx, e.TenantA.ID, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Observations) != 2 || res.Observations[0].Port != 22 || !res.Observations[0].Known || res.Observations[1].Port != 443 || res.Observations[1].Known {
		t.Fatalf("observations %+v: want 22 (known from Vigil's scan) and 443 (new)", res.Observations)
	}
	if len(res.OutOfScope) != 1 || res.OutOfScope[0].Host != "198.51.100.7" {
		t.Fatalf("out of scope %+v", res.OutOfScope)
	}
	if len(res.New) != 0 || len(res.Known) != 1 || res.Known[0].AssetID != web.ID || res.Summary["already_known"] != 1 {
		t.Fatalf("new %+v known %+v summary %v", res.New, res.Known, res.Summary)
	}
	got, err := e.Store.Assets().Get(ctx, e.TenantA.ID, web.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Shodan's latest sighting of the host: 2026-10-04 10:00 UTC.
	if got.Attributes["open_ports"] != "22/ssh,443/https" || got.Attributes["seen_by"] != "shodan" ||
		!strings.Contains(got.Attributes["hostnames"], "www.example.com") || !got.LastSeenAt.Equal(time.Date(2026, 10, 4, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("asset after import: %v last seen %s", got.Attributes, got.LastSeenAt)
	}

	// FOFA: 443 on .10 is now known, .11 is a new asset, 203.0.113.5 is outside.
	run, err = svc.Import(ctx, e.TenantA.ID, exposure.ImportInput{Format: "fofa", FileName: "fofa.csv", File: importFile(t, "fofa.csv")})
	if err != nil {
		t.Fatal(err)
	}
	_, res, _ = svc.Get(ctx, e.TenantA.ID, run.ID)
	if len(res.New) != 1 || res.New[0].Address != "192.0.2.11" || len(res.OutOfScope) != 1 || res.OutOfScope[0].Host != "203.0.113.5" ||
		!res.Observations[0].Known {
		t.Fatalf("fofa: new %+v out %+v obs %+v", res.New, res.OutOfScope, res.Observations)
	}
	added, err := e.Store.Assets().Get(ctx, e.TenantA.ID, res.New[0].AssetID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(added.Tags, ",") != "discovered,imported,unknown" || added.Attributes["open_ports"] != "8080/http" || added.Attributes["seen_by"] != "fofa" {
		t.Fatalf("new asset %+v", added)
	}

	// Certificate transparency names: all under example.com, no address,
	// so listed and not merged; a name under another domain is outside.
	run, err = svc.Import(ctx, e.TenantA.ID, exposure.ImportInput{FileName: "crtsh.json", File: importFile(t, "crtsh.json")})
	if err != nil {
		t.Fatal(err)
	}
	_, res, _ = svc.Get(ctx, e.TenantA.ID, run.ID)
	if len(res.Observations) != 3 || len(res.OutOfScope) != 0 || len(res.New)+len(res.Known) != 0 || res.Source != "pdns" {
		t.Fatalf("crt.sh: %+v", res)
	}

	// A bad file is refused whole: no run, no asset change.
	before, _ := svc.List(ctx, e.TenantA.ID, store.Page{Limit: 100})
	_, err = svc.Import(ctx, e.TenantA.ID, exposure.ImportInput{Format: "shodan", FileName: "x.json", File: strings.NewReader(`{"ip_str":"192.0.2.13"}`)})
	if !errors.As(err, &fe) || fe.Field != "file" || !strings.Contains(fe.Error(), "record 1") {
		t.Fatalf("bad file: %v", err)
	}
	_, err = svc.Import(ctx, e.TenantA.ID, exposure.ImportInput{Format: "nessus", File: strings.NewReader("x")})
	if !errors.As(err, &fe) || fe.Code != store.CodeOneOf {
		t.Fatalf("bad format: %v", err)
	}
	after, _ := svc.List(ctx, e.TenantA.ID, store.Page{Limit: 100})
	if len(after) != len(before) {
		t.Fatalf("runs %d → %d after refused imports", len(before), len(after))
	}
}
