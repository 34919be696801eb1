package scan_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"testing/fstest"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// osvDoc writes an OSV document (schema 1.6) for one package of one
// ecosystem, affected from its first version up to fixed.
func osvDoc(t *testing.T, id string, aliases []string, eco, pkg, fixed, severity string) []byte {
	t.Helper()
	doc := map[string]any{
		"schema_version": "1.6.0", "id": id, "aliases": aliases, "modified": "2026-01-01T00:00:00Z",
		"summary": "test advisory " + id,
		"affected": []any{map[string]any{
			"package": map[string]any{"ecosystem": eco, "name": pkg},
			"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": []any{
				map[string]any{"introduced": "0"}, map[string]any{"fixed": fixed}}}},
		}},
	}
	if severity != "" {
		doc["database_specific"] = map[string]any{"severity": severity}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// installedPackages is this machine's dpkg database, read by the agent's
// parser.
func installedPackages(t *testing.T) []scan.InstalledPackage {
	t.Helper()
	f, err := os.Open("/var/lib/dpkg/status")
	if err != nil {
		testenv.Missing(t, "a dpkg database (/var/lib/dpkg/status)")
	}
	defer func() { _ = f.Close() }()
	ps, err := agent.ParseDpkgStatus(f, agent.MaxPackages)
	if err != nil {
		t.Fatal(err)
	}
	var out []scan.InstalledPackage
	for _, p := range ps {
		out = append(out, scan.InstalledPackage{Name: p.Name, Version: p.Version, Source: p.Source, Manager: p.Manager})
	}
	return out
}

// TestInventoryAgreesWithDpkg matches this machine's installed packages
// against advisories whose fixed version is another installed package's
// version (so the pairs are real Debian versions of every shape), and
// checks each verdict against dpkg --compare-versions: a package is
// affected exactly when dpkg says its version is lower than the fix.
func TestInventoryAgreesWithDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		testenv.Missing(t, "dpkg")
	}
	pkgs := installedPackages(t)
	if len(pkgs) > 300 {
		pkgs = pkgs[:300]
	}
	files := fstest.MapFS{}
	want := map[string]bool{} // fingerprint-free key: package name
	for i, p := range pkgs {
		name := p.Name
		if p.Source != "" {
			name = p.Source
		}
		fixed := pkgs[(i*7+3)%len(pkgs)].Version
		id := fmt.Sprintf("DEBIAN-CVE-2099-%05d", i)
		files[id+".json"] = &fstest.MapFile{Data: osvDoc(t, id, []string{fmt.Sprintf("CVE-2099-%05d", i)}, "Debian:12", name, fixed, "")}
		err := exec.Command(dpkg, "--compare-versions", p.Version, "lt", fixed).Run() // #nosec G204 -- versions from the dpkg database
		if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
			t.Fatal(err)
		}
		want[fmt.Sprintf("CVE-2099-%05d %s", i, p.Name)] = err == nil
	}
	db, err := scan.LoadOSV(files)
	if err != nil {
		t.Fatal(err)
	}
	fs, ok := scan.InventoryFindings(db, scan.InventoryHost{Hostname: "h1", IP: "192.0.2.7", OSID: "debian", OSVersion: "12"}, pkgs)
	if !ok {
		t.Fatal("debian 12 not recognised")
	}
	got := map[string]bool{}
	for _, f := range fs {
		if len(f.CVEs) != 1 {
			t.Fatalf("finding %q has CVEs %v", f.Title, f.CVEs)
		}
		got[f.CVEs[0]+" "+f.Asset.Package] = true
	}
	affected := 0
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: matched %v, dpkg --compare-versions says affected %v", k, got[k], w)
		}
		if w {
			affected++
		}
	}
	if affected == 0 || affected == len(want) {
		t.Fatalf("%d of %d affected: the table does not test both sides", affected, len(want))
	}
	t.Logf("%d packages, %d affected per dpkg", len(want), affected)
}

func TestInventoryFindingsRules(t *testing.T) {
	files := fstest.MapFS{
		// A DSA and the DEBIAN-CVE entry of the same CVE make one finding.
		"a/DSA-1.json":            {Data: osvDoc(t, "DSA-5555-1", []string{"CVE-2024-0001"}, "Debian:12", "openssl", "3.0.13-1~deb12u1", "high")},
		"a/DEBIAN-CVE.json":       {Data: osvDoc(t, "DEBIAN-CVE-2024-0001", []string{"CVE-2024-0001"}, "Debian:12", "openssl", "3.0.13-1~deb12u1", "")},
		"b/other-release.json":    {Data: osvDoc(t, "DEBIAN-CVE-2024-0002", []string{"CVE-2024-0002"}, "Debian:11", "openssl", "9.9", "")},
		"c/fixed-already.json":    {Data: osvDoc(t, "DEBIAN-CVE-2024-0003", []string{"CVE-2024-0003"}, "Debian:12", "openssl", "3.0.11-1~deb12u2", "")},
		"d/ubuntu.json":           {Data: osvDoc(t, "UBUNTU-CVE-2024-0004", []string{"CVE-2024-0004"}, "Ubuntu:22.04:LTS", "openssl", "3.0.2-0ubuntu1.15", "")},
		"e/tilde-before-fix.json": {Data: osvDoc(t, "DEBIAN-CVE-2024-0005", nil, "Debian:12", "zlib", "1:1.2.13.dfsg-1", "")},
	}
	db, err := scan.LoadOSV(files)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := []scan.InstalledPackage{
		{Name: "libssl3", Source: "openssl", Version: "3.0.11-1~deb12u2", Manager: "dpkg"},
		{Name: "openssl", Version: "3.0.11-1~deb12u2", Manager: "dpkg"},
		{Name: "zlib1g", Source: "zlib", Version: "1:1.2.13.dfsg-1~rc1", Manager: "dpkg"},
	}
	h1 := scan.InventoryHost{Hostname: "h1", IP: "192.0.2.7", OSID: "debian", OSVersion: "12.5"}
	fs, _ := scan.InventoryFindings(db, h1, pkgs)
	var titles []string
	fps := map[string]bool{}
	for _, f := range fs {
		titles = append(titles, f.Title+" ["+f.RuleID+"] "+string(f.Severity)+" fixed "+f.FixedIn)
		fps[f.Fingerprint] = true
	}
	want := []string{
		"CVE-2024-0001 in libssl3 3.0.11-1~deb12u2 [DEBIAN-CVE-2024-0001 DSA-5555-1] high fixed 3.0.13-1~deb12u1",
		"CVE-2024-0001 in openssl 3.0.11-1~deb12u2 [DEBIAN-CVE-2024-0001 DSA-5555-1] high fixed 3.0.13-1~deb12u1",
		"DEBIAN-CVE-2024-0005 in zlib1g 1:1.2.13.dfsg-1~rc1 [DEBIAN-CVE-2024-0005] medium fixed 1:1.2.13.dfsg-1",
	}
	if fmt.Sprint(titles) != fmt.Sprint(want) {
		t.Errorf("findings\n%q\nwant\n%q", titles, want)
	}
	if len(fps) != len(fs) {
		t.Error("two findings share a fingerprint")
	}
	// Another host: other fingerprints for the same CVE and package.
	fs2, _ := scan.InventoryFindings(db, scan.InventoryHost{Hostname: "h2", IP: "192.0.2.8", OSID: "debian", OSVersion: "12"}, pkgs)
	for _, f := range fs2 {
		if fps[f.Fingerprint] {
			t.Errorf("%s: same fingerprint on two hosts", f.Title)
		}
	}
	// Ubuntu 22.04 takes the "Ubuntu:22.04:LTS" entries.
	fs3, _ := scan.InventoryFindings(db, scan.InventoryHost{Hostname: "u", OSID: "ubuntu", OSVersion: "22.04"},
		[]scan.InstalledPackage{{Name: "openssl", Version: "3.0.2-0ubuntu1.10", Manager: "dpkg"}})
	if len(fs3) != 1 || fs3[0].CVEs[0] != "CVE-2024-0004" {
		t.Errorf("ubuntu: %+v", fs3)
	}
	if _, ok := scan.InventoryFindings(db, scan.InventoryHost{OSID: "plan9"}, pkgs); ok {
		t.Error("an unknown distribution was matched")
	}
}

func TestOSVEcosystem(t *testing.T) {
	for _, c := range [][3]string{
		{"debian", "12", "Debian:12"}, {"ubuntu", "22.04", "Ubuntu:22.04"}, {"alpine", "3.19.1", "Alpine:v3.19"},
		{"rocky", "9.3", "Rocky Linux:9"}, {"almalinux", "8.9", "AlmaLinux:8"}, {"rhel", "9.3", "Red Hat"}, {"arch", "", ""},
	} {
		if got := scan.OSVEcosystem(c[0], c[1]); got != c[2] {
			t.Errorf("OSVEcosystem(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// TestScanInventoryLifecycle imports a host's package findings, then the
// inventory after an upgrade: the fixed finding becomes
// fixed-pending-verification.
func TestScanInventoryLifecycle(t *testing.T) {
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	svc, err := scan.New(env.Store, env.Vulns, env.Exposure, scan.Options{NmapPath: "-", NucleiPath: "-"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := scan.LoadOSV(fstest.MapFS{
		"x.json": {Data: osvDoc(t, "DSA-1-1", []string{"CVE-2024-1111"}, "Debian:12", "curl", "7.88.1-10+deb12u5", "critical")},
		"y.json": {Data: osvDoc(t, "DSA-2-1", []string{"CVE-2024-2222"}, "Debian:12", "bash", "5.2.15-2+b3", "low")},
	})
	if err != nil {
		t.Fatal(err)
	}
	host := scan.InventoryHost{Hostname: "web1", IP: "192.0.2.20", OSID: "debian", OSVersion: "12"}
	old := []scan.InstalledPackage{{Name: "curl", Version: "7.88.1-10+deb12u4", Manager: "dpkg"},
		{Name: "bash", Version: "5.2.15-2+b2", Manager: "dpkg"}}
	sc, ok, err := svc.ScanInventory(ctx, env.TenantA.ID, db, host, old)
	if err != nil || !ok || sc.Added != 2 {
		t.Fatalf("first inventory: %+v %v %v", sc, ok, err)
	}
	upgraded := []scan.InstalledPackage{{Name: "curl", Version: "7.88.1-10+deb12u5", Manager: "dpkg"},
		{Name: "bash", Version: "5.2.15-2+b2", Manager: "dpkg"}}
	sc, _, err = svc.ScanInventory(ctx, env.TenantA.ID, db, host, upgraded)
	if err != nil || sc.Updated != 1 || sc.Absent != 1 {
		t.Fatalf("after the upgrade: %+v %v", sc, err)
	}
	list, _, err := env.Vulns.List(ctx, env.TenantA.ID, lifecycle.Filter{Scanner: scan.PackageScanner, Page: store.Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, f := range list {
		states[f.CVEs[0]] = f.State
		if f.Layer != "os" || f.AssetKey != "192.0.2.20" {
			t.Errorf("%s: layer %q asset %q", f.Title, f.Layer, f.AssetKey)
		}
	}
	if states["CVE-2024-1111"] != lifecycle.StateFixedPending || states["CVE-2024-2222"] != lifecycle.StateNew {
		t.Errorf("states %v", states)
	}
}
