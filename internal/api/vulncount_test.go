package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// nucleiLines is a nuclei JSON lines scan of n distinct findings on one
// host, every tenth of them critical.
func nucleiLines(n int) string {
	var b strings.Builder
	for i := range n {
		sev := "low"
		if i%10 == 0 {
			sev = "critical"
		}
		fmt.Fprintf(&b, `{"template-id":"tpl-%d","info":{"name":"Finding %d","severity":"%s"},"type":"http",`+
			`"host":"https://shop.example","matched-at":"https://shop.example/p/%d","ip":"192.0.2.20","port":"443"}`+"\n", i%97, i, sev, i)
	}
	return b.String()
}

// TestVulnerabilityListCappedTotal checks the list's count stops at
// 10,000 and says so, and is exact below.
func TestVulnerabilityListCappedTotal(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/acme/vulnerabilities"
	const n = 10_050
	var imp ScanImport
	h.want(http.StatusCreated, pst, base+"/imports", h.adminA, ScanImportInput{Filename: "big.jsonl", Content: nucleiLines(n)}, &imp)
	if imp.Added != n {
		t.Fatalf("import added %d, want %d", imp.Added, n)
	}
	var l VulnerabilityList
	h.want(http.StatusOK, get, base+"?limit=10", h.analystA, nil, &l)
	if l.Total != 10_000 || !l.TotalCapped || len(l.Items) != 10 {
		t.Fatalf("all findings: total %d, capped %v, %d items", l.Total, l.TotalCapped, len(l.Items))
	}
	// Every tenth is critical: 1,005, counted exactly.
	l = VulnerabilityList{}
	h.want(http.StatusOK, get, base+"?severity=critical&limit=10", h.analystA, nil, &l)
	if l.Total != (n+9)/10 || l.TotalCapped {
		t.Fatalf("critical findings: total %d, capped %v, want %d exact", l.Total, l.TotalCapped, (n+9)/10)
	}
}
