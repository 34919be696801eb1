package api

import (
	"net/http"
	"os"
	"testing"

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
