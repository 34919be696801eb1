package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/vuln"
	"github.com/vigil-sec/vigil/internal/vuln/gmp"
	"github.com/vigil-sec/vigil/internal/vuln/gmp/gmptest"
)

// TestScheduledOpenVASScan runs the scheduled vulnerability scan of
// tenants with a gvmd connection against the GMP server of gmptest
// (gvmd itself is not installable here), serving a real OpenVAS report:
// the report's findings are imported as an OpenVAS scan, and the run is
// in the scan history. The failures (a wrong password, gvmd unreachable,
// a task that ends interrupted) are errors naming the cause in the
// history, and lose nothing: Vigil's own checks are imported all the
// same and the OpenVAS findings of an earlier run stay open.
func TestScheduledOpenVASScan(t *testing.T) {
	report, err := os.ReadFile(testenv.RequireCorpus(t, filepath.Join("..", "..", "..", "shared", "corpus", "defectdojo",
		"scans", "openvas", "many_vuln.xml")))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := vuln.DefaultRegistry().Lookup("openvas")
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := imp.Import(t.Context(), bytes.NewReader(report))
	if err != nil || len(fromFile) == 0 {
		t.Fatalf("the report file itself: %d findings, %v", len(fromFile), err)
	}

	t.Setenv("PATH", t.TempDir()) // no nmap or nuclei: OpenVAS is the only external scanner
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	a.GMP = gmp.NewService(a.Store, a.Secrets, a.Audit, gmp.ServiceOptions{Poll: time.Millisecond, MaxWait: time.Minute})
	actx, acme := adminAndTenant(t, a)

	// A service for Vigil's own checks: a port that accepts and closes.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	port := uint16(l.Addr().(*net.TCPAddr).Port)

	dir := t.TempDir()
	gvmd := func(name, end string) (*gmptest.Server, string) {
		srv := gmptest.New(report, "admin", "s3cret<&>")
		srv.End = end
		sock := filepath.Join(dir, name+".sock")
		gl, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = gl.Close() })
		srv.Serve(gl)
		return srv, sock
	}
	// prepare subscribes the tenant, puts 127.0.0.1 in its scope and a
	// finished discovery run with the listener's port, and sets its gvmd.
	prepare := func(tn store.Tenant, in gmp.Input) {
		t.Helper()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(a.Store.Services().Put(actx, &store.Subscription{TenantID: tn.ID, Service: "vuln-lifecycle", Enabled: true}))
		must(a.Store.Assets().Create(actx, &store.Asset{TenantID: tn.ID, Kind: "ip", Name: "loopback", Address: "127.0.0.1"}))
		b, err := json.Marshal(exposure.RunResult{Open: []exposure.Port{{Host: "127.0.0.1", Port: port}}})
		must(err)
		run := store.DiscoveryRun{TenantID: tn.ID, Targets: "127.0.0.1", Status: "pending"}
		must(a.Store.DiscoveryRuns().Create(actx, &run))
		must(a.Store.DiscoveryRuns().Finish(actx, tn.ID, run.ID, "done", "", b, time.Now()))
		_, err = a.GMP.Put(actx, tn.ID, in)
		must(err)
	}
	okSrv, okSock := gvmd("ok", "Done")
	prepare(acme, gmp.Input{Address: okSock, Username: "admin", Password: "s3cret<&>"})
	others := map[string]string{} // tenant ID → the error its run must name
	for _, c := range []struct{ slug, want string }{
		{"unreachable", "connect"},
		{"interrupted", "ended Interrupted"},
	} {
		tn, err := a.Tenants.CreateTenant(actx, tenant.TenantInput{Slug: c.slug, Name: c.slug})
		if err != nil {
			t.Fatal(err)
		}
		addr := filepath.Join(dir, "nobody-listens.sock")
		if c.slug == "interrupted" {
			_, addr = gvmd(c.slug, "Interrupted")
		}
		prepare(tn, gmp.Input{Address: addr, Username: "admin", Password: "s3cret<&>"})
		others[tn.ID] = c.want
	}

	// The password is in the vault, encrypted, and nowhere in the
	// connection.
	g, err := a.GMP.Get(actx, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := a.Store.Secrets().Get(actx, acme.ID, g.SecretID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.Ciphertext) == 0 || bytes.Contains(sec.Ciphertext, []byte("s3cret")) {
		t.Fatalf("the stored password is not encrypted (%d bytes)", len(sec.Ciphertext))
	}
	if gj, _ := json.Marshal(g); bytes.Contains(gj, []byte("s3cret")) {
		t.Fatalf("the connection holds the password: %s", gj)
	}

	now := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	if err := a.RunDueVulnScans(t.Context(), now); err != nil {
		t.Fatal(err)
	}
	runs, err := a.GMP.Runs(actx, acme.ID, 10)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs of acme: %+v, %v", runs, err)
	}
	r := runs[0]
	t.Logf("run of acme: %+v", r)
	if r.Kind != "scheduled" || r.Targets != 1 || slices.ContainsFunc(r.Errors, func(e string) bool { return strings.Contains(e, "openvas") }) {
		t.Fatalf("run %+v", r)
	}
	ov := openVASScan(t, a, actx, acme.ID, r.ScanIDs)
	if ov.Total != len(fromFile) {
		t.Errorf("the OpenVAS import of the run has %d findings, the report file %d", ov.Total, len(fromFile))
	}
	open := openFindings(t, a, actx, acme.ID)
	if open != len(fromFile) {
		t.Errorf("%d open OpenVAS findings, the report has %d", open, len(fromFile))
	}
	want := "authenticate create_target create_task start_task get_tasks get_tasks get_reports"
	if log := okSrv.Log(); strings.Join(log, " ") != want {
		t.Errorf("commands %v, want %s", log, want)
	}
	for _, tk := range okSrv.Tasks() {
		if strings.Join(tk.Hosts, ",") != "127.0.0.1" || tk.Config != gmp.ConfigFullAndFast || tk.Scanner != gmp.ScannerOpenVAS ||
			tk.PortList != gmp.PortListAllTCPNmapUDP {
			t.Errorf("task %+v", tk)
		}
	}
	for id, want := range others {
		checkFailedRun(t, a, actx, id, want)
	}

	// A wrong password a week later: the error is in the history, Vigil's
	// own checks are imported, and the OpenVAS findings stay open.
	if _, err := a.GMP.Put(actx, acme.ID, gmp.Input{Address: okSock, Username: "admin", Password: "wrong"}); err != nil {
		t.Fatal(err)
	}
	if err := a.RunDueVulnScans(t.Context(), now.Add(8*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	checkFailedRun(t, a, actx, acme.ID, "Authentication failed")
	if n := openFindings(t, a, actx, acme.ID); n != open {
		t.Errorf("after the failed OpenVAS scan %d OpenVAS findings are open, %d before", n, open)
	}
}

// openVASScan returns the OpenVAS import among scan IDs.
func openVASScan(t *testing.T, a *app.App, ctx context.Context, tenantID string, ids []string) store.VulnScan {
	t.Helper()
	scans, err := a.Store.Vulns().Scans(ctx, tenantID, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scans {
		if sc.Format == "openvas" && slices.Contains(ids, sc.ID) {
			return sc
		}
	}
	t.Fatalf("no OpenVAS import among %v", ids)
	return store.VulnScan{}
}

func openFindings(t *testing.T, a *app.App, ctx context.Context, tenantID string) int {
	t.Helper()
	n, err := a.Store.Vulns().Count(ctx, tenantID, store.VulnFilter{Scanner: "openvas", States: []string{"new", "reopened"}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkFailedRun checks the tenant's newest run names want in an OpenVAS
// error, still imported Vigil's own checks and made no OpenVAS import.
func checkFailedRun(t *testing.T, a *app.App, ctx context.Context, tenantID, want string) {
	t.Helper()
	runs, err := a.GMP.Runs(ctx, tenantID, 1)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %+v, %v", runs, err)
	}
	r := runs[0]
	t.Logf("failed run: %+v", r)
	if r.Status != "partial" || !slices.ContainsFunc(r.Errors, func(e string) bool {
		return strings.HasPrefix(e, "openvas") && strings.Contains(e, want)
	}) {
		t.Errorf("run %+v: want a partial run with an OpenVAS error naming %q", r, want)
	}
	scans, err := a.Store.Vulns().Scans(ctx, tenantID, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	formats := map[string]bool{}
	for _, sc := range scans {
		if slices.Contains(r.ScanIDs, sc.ID) {
			formats[sc.Format] = true
		}
	}
	if formats["openvas"] || len(r.ScanIDs) == 0 {
		t.Errorf("run %+v imported %v: want Vigil's checks and no OpenVAS import", r, formats)
	}
}
