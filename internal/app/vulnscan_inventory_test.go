package app_test

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
)

const osvCurl = `{"schema_version":"1.6.0","id":"DSA-9-1","aliases":["CVE-2024-9999"],"modified":"2026-01-01T00:00:00Z",
"affected":[{"package":{"ecosystem":"Debian:12","name":"curl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"7.88.1-10+deb12u5"}]}]}],
"database_specific":{"severity":"high"}}`

const osvBash = `{"schema_version":"1.6.0","id":"DEBIAN-CVE-2024-8888","aliases":["CVE-2024-8888"],"modified":"2026-01-01T00:00:00Z",
"affected":[{"package":{"ecosystem":"Debian:12","name":"bash"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"5.2.15-2+b3"}]}]}]}`

// TestVulnInventory matches an agent's packages against the OSV exports
// the operator put in the data directory (a JSON document and a zip).
func TestVulnInventory(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "t", Username: "t", GlobalRole: auth.RoleAdmin})
	ten := store.Tenant{Slug: "acme", Name: "Acme"}
	if err := a.Store.Tenants().Create(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	inv := agent.Inventory{AgentID: "a1", Host: agent.Host{Hostname: "web1", OSID: "debian", OSVersion: "12"},
		Packages: []agent.Package{{Name: "curl", Version: "7.88.1-10+deb12u4", Manager: "dpkg"},
			{Name: "bash", Version: "5.2.15-2+b2", Manager: "dpkg"}}}
	if _, ok, err := a.VulnInventory(ctx, ten.ID, "192.0.2.5", inv); err != nil || ok {
		t.Fatalf("without an OSV directory: %v %v", ok, err)
	}
	dir := filepath.Join(cfg.DataDir, app.OSVDirName)
	if err := os.MkdirAll(filepath.Join(dir, "debian"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "debian", "DSA-9-1.json"), []byte(osvCurl), 0o600); err != nil {
		t.Fatal(err)
	}
	zf, err := os.Create(filepath.Join(dir, "Debian.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(zf)
	w, err := zw.Create("DEBIAN-CVE-2024-8888.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(osvBash)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zf.Close(); err != nil {
		t.Fatal(err)
	}
	sc, ok, err := a.VulnInventory(ctx, ten.ID, "192.0.2.5", inv)
	if err != nil || !ok || sc.Added != 2 || sc.Scanner != "vigil-packages" {
		t.Fatalf("inventory scan: %+v %v %v", sc, ok, err)
	}
	fs, err := a.Store.Vulns().List(ctx, ten.ID, store.VulnFilter{Scanner: "vigil-packages"})
	if err != nil || len(fs) != 2 {
		t.Fatalf("%d findings, %v", len(fs), err)
	}
	for _, f := range fs {
		if f.AssetKey != "192.0.2.5" || f.Layer != "os" {
			t.Errorf("%s: asset %q layer %q", f.Title, f.AssetKey, f.Layer)
		}
	}

	// An agent's inventory post runs the same match for its host.
	inv2 := inv
	inv2.AgentID, inv2.Host.Hostname = "a2", "web2"
	inv2.Interfaces = []agent.Interface{{Name: "eth0", Up: true, Addresses: []string{"198.51.100.7/24"}}}
	if err := a.RecordAgentInventory(ctx, ten.ID, inv2); err != nil {
		t.Fatal(err)
	}
	fs, err = a.Store.Vulns().List(ctx, ten.ID, store.VulnFilter{Scanner: "vigil-packages"})
	if err != nil {
		t.Fatal(err)
	}
	second := 0
	for _, f := range fs {
		if f.AssetKey == "198.51.100.7" {
			second++
		}
	}
	// The same packages as the first host: as many findings as it got.
	if second != sc.Added {
		t.Fatalf("after the agent's inventory: %d findings for its host, the first host got %d", second, sc.Added)
	}
}
