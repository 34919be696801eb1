package api

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/vuln/gmp"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

func TestVulnSLAAndScan(t *testing.T) {
	h := newHarness(t)
	svc, err := scan.New(h.env.Store, h.env.Vulns, h.env.Exposure, scan.Options{NmapPath: "-", NucleiPath: "-"})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.opts.VulnScan = svc
	base := "/api/v1/tenants/acme/vulnerabilities"
	var v VulnSLAView
	h.want(http.StatusOK, get, base+"/sla", h.analystA, nil, &v)
	if v.Effective != (VulnSLA{Critical: 7, High: 30, Medium: 90, Low: 120}) || v.Defaults != v.Effective {
		t.Fatalf("default SLA %+v", v)
	}
	h.want(http.StatusOK, put, base+"/sla", h.adminA, VulnSLA{Critical: 3, High: 14}, &v)
	if v.Effective != (VulnSLA{Critical: 3, High: 14, Medium: 90, Low: 120}) {
		t.Fatalf("after PUT %+v", v)
	}
	h.wantProblem(http.StatusUnprocessableEntity, put, base+"/sla", h.adminA, VulnSLA{Critical: 5000})
	// Other tenants and read-only roles are refused.
	h.wantProblem(http.StatusNotFound, get, base+"/sla", h.customer, nil)
	h.wantProblem(http.StatusForbidden, put, "/api/v1/tenants/globex/vulnerabilities/sla", h.customer, VulnSLA{Critical: 1})
	h.wantProblem(http.StatusForbidden, pst, "/api/v1/tenants/globex/vulnerabilities/scans", h.customer, nil)

	// New findings are due by the tenant's SLA.
	var data []byte
	data, err = os.ReadFile("../vuln/testdata/golden/nuclei-jsonl.in")
	if err != nil {
		t.Fatal(err)
	}
	h.want(http.StatusCreated, pst, base+"/imports", h.adminA, ScanImportInput{Filename: "n.jsonl", Content: string(data)}, nil)
	var l VulnerabilityList
	h.want(http.StatusOK, get, base+"?severity=critical", h.analystA, nil, &l)
	if l.Total == 0 {
		t.Fatal("no critical finding imported")
	}
	f := l.Items[0]
	if days := f.DueAt.Sub(f.FirstSeen).Hours() / 24; days < 2.99 || days > 3.01 {
		t.Errorf("critical finding due after %.2f days, want the tenant's 3", days)
	}

	// A scan without discovery results checks nothing and says so.
	var run VulnScanRun
	h.want(http.StatusOK, pst, base+"/scans", h.adminA, nil, &run)
	if run.Targets != 0 || len(run.Scans) != 1 {
		t.Fatalf("scan %+v", run)
	}
	// A nuclei finding cannot be verified without nuclei: a clear 422.
	h.wantProblem(http.StatusUnprocessableEntity, pst, base+"/"+f.ID+"/verify", h.adminA, nil)
	h.wantProblem(http.StatusNotFound, pst, "/api/v1/tenants/globex/vulnerabilities/"+f.ID+"/verify", h.admin, nil)
}

// TestVulnOpenVAS sets a tenant's gvmd connection: the password is
// stored, never returned; only a tenant administrator (secret.write) of
// the tenant may see or change it; bad values are refused; a manual scan
// is in the history.
func TestVulnOpenVAS(t *testing.T) {
	h := newHarness(t)
	// The app's OpenVAS step runs the tenant's gvmd scan unless the
	// context leaves it out (internal/app's openVAS); a scan started by
	// hand must leave it out.
	openVAS := func(ctx context.Context, _ string, _ []string) ([]byte, error) {
		if !gmp.ScanLeftOut(ctx) {
			t.Error("a manual scan asked for an OpenVAS scan")
		}
		return nil, nil
	}
	svc, err := scan.New(h.env.Store, h.env.Vulns, h.env.Exposure, scan.Options{NmapPath: "-", NucleiPath: "-", OpenVAS: openVAS,
		Targets: func(context.Context, string) ([]scan.Target, error) {
			return []scan.Target{{Host: "127.0.0.1", Port: 9, Service: "ssh", Banner: "SSH-2.0-OpenSSH_9.2p1"}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.opts.VulnScan = svc
	h.srv.opts.GMP = gmp.NewService(h.env.Store, h.env.Secrets, h.env.Audit, gmp.ServiceOptions{})
	base := "/api/v1/tenants/acme/vulnerabilities"
	in := VulnOpenVASInput{Address: "gvmd.example:9390", Username: "vigil", Password: "pa<ss>"}
	h.wantProblem(http.StatusNotFound, get, base+"/openvas", h.adminA, nil)
	var v VulnOpenVAS
	h.want(http.StatusOK, put, base+"/openvas", h.adminA, in, &v)
	if !v.PasswordSet || v.ConfigID != gmp.ConfigFullAndFast || v.PortListID != gmp.PortListAllTCPNmapUDP ||
		v.ScannerID != gmp.ScannerOpenVAS || v.Address != in.Address {
		t.Fatalf("after PUT %+v", v)
	}
	raw := h.want(http.StatusOK, get, base+"/openvas", h.adminA, nil, &v)
	if strings.Contains(string(raw.Body), "pa<ss>") || strings.Contains(string(raw.Body), `pa\u003css`) {
		t.Fatalf("the password is returned: %s", raw)
	}
	// An empty password keeps the stored one; a first one is required.
	in.Password, in.Address = "", "/run/gvmd/gvmd.sock"
	h.want(http.StatusOK, put, base+"/openvas", h.adminA, in, &v)
	if !v.PasswordSet || v.Address != "/run/gvmd/gvmd.sock" {
		t.Fatalf("after a PUT without password %+v", v)
	}
	for _, bad := range []VulnOpenVASInput{
		{Address: "gvmd.example", Username: "u", Password: "p"},           // no port
		{Address: "relative/gvmd.sock", Username: "u", Password: "p"},     // neither
		{Address: "/run/../gvmd.sock", Username: "u", Password: "p"},      // not clean
		{Address: "gvmd.example:9390", Username: "", Password: "p"},       // no user
		{Address: "gvmd.example:9390", Username: "u", ConfigID: "x"},      // not a UUID
		{Address: "gvmd.example:9390", Username: "u", CAPEM: "not a pem"}, // not PEM
		{Address: "/run/gvmd/gvmd.sock", Username: "u", ServerName: "g"},  // TLS name on a socket
	} {
		h.wantProblem(http.StatusUnprocessableEntity, put, base+"/openvas", h.adminA, bad)
	}
	// An analyst (no secret.write), another tenant's customer: refused.
	h.wantProblem(http.StatusForbidden, get, base+"/openvas", h.analystA, nil)
	h.wantProblem(http.StatusForbidden, put, base+"/openvas", h.analystA, in)
	h.wantProblem(http.StatusNotFound, get, base+"/openvas", h.customer, nil)
	h.wantProblem(http.StatusForbidden, put, "/api/v1/tenants/globex/vulnerabilities/openvas", h.customer, in)

	// The scan target's address is in the tenant's declared scope.
	h.want(http.StatusCreated, pst, "/api/v1/tenants/acme/assets", h.adminA, AssetInput{Kind: "ip", Address: "127.0.0.1"}, nil)
	// A manual scan: the run is in the history, which the analyst may
	// read. OpenVAS is left out of it (it runs with the scheduled scans),
	// so the gvmd that is not at the socket is never dialled.
	var run VulnScanRun
	h.want(http.StatusOK, pst, base+"/scans", h.adminA, nil, &run)
	var runs []VulnScanRunView
	h.want(http.StatusOK, get, base+"/scan-runs", h.analystA, nil, &runs)
	if len(runs) != 1 || runs[0].Kind != "manual" {
		t.Fatalf("runs %+v", runs)
	}
	if !slices.Contains(runs[0].Skipped, "openvas") {
		t.Fatalf("manual run should list OpenVAS as skipped: skipped %q errors %q", runs[0].Skipped, runs[0].Errors)
	}
	h.wantProblem(http.StatusNotFound, get, base+"/scan-runs", h.customer, nil)

	h.want(http.StatusNoContent, del, base+"/openvas", h.adminA, nil, nil)
	h.wantProblem(http.StatusNotFound, get, base+"/openvas", h.adminA, nil)
}
