package api

import (
	"net/http"
	"os"
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
	svc, err := scan.New(h.env.Store, h.env.Vulns, h.env.Exposure, scan.Options{NmapPath: "-", NucleiPath: "-"})
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

	// A manual scan (gvmd at the socket is not there): the run is in the
	// history with the OpenVAS error, which the analyst may read.
	var run VulnScanRun
	h.want(http.StatusOK, pst, base+"/scans", h.adminA, nil, &run)
	var runs []VulnScanRunView
	h.want(http.StatusOK, get, base+"/scan-runs", h.analystA, nil, &runs)
	if len(runs) != 1 || runs[0].Kind != "manual" {
		t.Fatalf("runs %+v", runs)
	}
	h.wantProblem(http.StatusNotFound, get, base+"/scan-runs", h.customer, nil)

	h.want(http.StatusNoContent, del, base+"/openvas", h.adminA, nil, nil)
	h.wantProblem(http.StatusNotFound, get, base+"/openvas", h.adminA, nil)
}
