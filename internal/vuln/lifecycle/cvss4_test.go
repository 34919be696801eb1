package lifecycle_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// TestImportStoresCVSS4Score imports a Trivy report with CVSS v4.0
// vectors and checks that each stored finding carries Vigil's v4.0 score,
// against the scores the report itself gives for the same vectors.
func TestImportStoresCVSS4Score(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "shared", "corpus", "defectdojo", "scans", "trivy", "cvssv4_severity_source.json")
	data, err := os.ReadFile(path) // #nosec G304 -- a corpus sample
	if err != nil {
		testenv.Missing(t, "DefectDojo Trivy samples: "+err.Error())
	}
	// The report's own V40Score by vector.
	var rep struct {
		Results []struct {
			Vulnerabilities []struct {
				CVSS map[string]struct {
					V40Vector string
					V40Score  float64
				}
			}
		}
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, r := range rep.Results {
		for _, v := range r.Vulnerabilities {
			for _, c := range v.CVSS {
				if c.V40Vector != "" {
					want[c.V40Vector] = c.V40Score
				}
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("the sample has no CVSS v4.0 vectors")
	}

	e, s, _ := newService(t)
	ctx := e.AdminCtx(t.Context())
	if _, err := s.Import(ctx, e.TenantA.ID, lifecycle.ImportInput{Filename: "trivy.json", Data: data, Format: "trivy"}); err != nil {
		t.Fatal(err)
	}
	list, _, err := s.List(ctx, e.TenantA.ID, lifecycle.Filter{Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, f := range list {
		score, ok := want[f.CVSS4Vector]
		if !ok {
			continue
		}
		got++
		if f.CVSS4Score == nil || *f.CVSS4Score != score {
			t.Errorf("%s: stored v4.0 score %v, the report says %.1f for %s", f.RuleID, f.CVSS4Score, score, f.CVSS4Vector)
		}
	}
	if got != len(want) {
		t.Fatalf("%d stored findings with the report's %d v4.0 vectors", got, len(want))
	}
}
