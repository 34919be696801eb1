package web

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestEvidenceLinks checks a result's references become links to the
// records of the tenant, once each, and that other text stays text.
func TestEvidenceLinks(t *testing.T) {
	ten := &store.Tenant{Slug: "acme"}
	r := campaign.Result{Evidence: []string{"discovery run 01a2-b3: 1 hosts", "policy p: 3 of 4 checks decided", "discovery run 01a2-b3: again"},
		Findings: []campaign.Finding{
			{Key: "vuln/f1", Ref: "vuln-finding:f1"},
			{Key: "baseline/p/1126", Ref: "baseline-run:r9#1126"},
			{Key: "baseline/p/score", Ref: "baseline-run:r9"},
			{Key: "weblog/compromised", Ref: "weblog-run:w/1"},
			{Key: "discovery/127.0.0.1/3389", Ref: campaign.RefRiskyPort, Evidence: []string{"discovery run d7"}},
			{Key: "item/x", Ref: "v5.0.0-6.2.1"},
		}}
	var got []string
	for _, l := range evidenceLinks(ten, r) {
		got = append(got, l.URL)
	}
	want := []string{"/t/acme/operations/asset-discovery/01a2-b3", "/t/acme/vulnerabilities/f1", "/t/acme/operations/baseline/runs/r9",
		"/t/acme/operations/app-compromise/w%2F1", "/t/acme/operations/asset-discovery/d7"}
	if !slices.Equal(got, want) {
		t.Errorf("links\n got %v\nwant %v", got, want)
	}
}
