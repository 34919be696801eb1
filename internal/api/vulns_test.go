package api

import (
	"net/http"
	"os"
	"testing"
	"time"
)

func TestVulnerabilities(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/acme/vulnerabilities"
	scan, err := os.ReadFile("../vuln/testdata/golden/nuclei-jsonl.in")
	if err != nil {
		t.Fatal(err)
	}
	var imp ScanImport
	h.want(http.StatusCreated, pst, base+"/imports", h.adminA, ScanImportInput{Filename: "n.jsonl", Content: string(scan), Full: true}, &imp)
	if imp.Added == 0 || imp.Scanner != "nuclei" || !imp.Full {
		t.Fatalf("import %+v", imp)
	}
	var l VulnerabilityList
	h.want(http.StatusOK, get, base+"?state=open&severity=critical", h.analystA, nil, &l)
	if l.Total == 0 || l.Items[0].Severity != "critical" || l.Items[0].CVSSScore == nil || l.Items[0].DueAt == nil {
		t.Fatalf("list %+v", l)
	}
	id := l.Items[0].ID
	var d VulnerabilityDetail
	exp := time.Now().Add(30 * 24 * time.Hour)
	h.want(http.StatusOK, pst, base+"/"+id+"/state", h.analystA, StateChange{State: "mitigated", Note: "no fix yet",
		Control: "reverse proxy blocks /cgi-bin", ExpiresAt: &exp}, &d)
	if d.State != "mitigated" || d.Control == "" || len(d.Timeline) != 2 {
		t.Fatalf("after change %+v", d)
	}
	h.wantProblem(http.StatusUnprocessableEntity, pst, base+"/"+id+"/state", h.analystA, StateChange{State: "verified-closed"})
	var br BulkResult
	h.want(http.StatusOK, pst, base+"/bulk", h.analystA, BulkStateChange{StateChange: StateChange{State: "reopened"},
		IDs: []string{id, "missing"}}, &br)
	if br.Changed != 1 || br.Failed["missing"] == "" {
		t.Fatalf("bulk %+v", br)
	}
	// Bad input imports nothing; other tenants and read-only roles are refused.
	h.wantProblem(http.StatusUnprocessableEntity, pst, base+"/imports", h.adminA, ScanImportInput{Format: "nuclei", Content: string(scan[:40])})
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/globex/vulnerabilities/"+id, h.admin, nil)
	h.wantProblem(http.StatusForbidden, pst, "/api/v1/tenants/globex/vulnerabilities/imports", h.customer, ScanImportInput{Content: string(scan)})
	var scans []ScanImport
	h.want(http.StatusOK, get, base+"/imports", h.analystA, nil, &scans)
	if len(scans) != 1 {
		t.Fatalf("scans %+v", scans)
	}
}
