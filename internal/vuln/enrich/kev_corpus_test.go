package enrich

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// kevCorpus is the real CISA catalogue kept beside the repository.
var kevCorpus = filepath.Join("..", "..", "..", "..", "shared", "corpus", "kev", "known_exploited_vulnerabilities.json")

func TestKEVCorpus(t *testing.T) {
	f, err := os.Open(kevCorpus)
	if os.IsNotExist(err) {
		testenv.Missing(t, "KEV corpus "+kevCorpus)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k, err := LoadKEV(f, Options{})
	if err != nil {
		t.Fatalf("%s: %v", kevCorpus, err)
	}
	ransomware := 0
	for _, e := range k.Entries() {
		if !ValidCVE(e.CVE) {
			t.Errorf("malformed CVE id %q", e.CVE)
		}
		if e.Ransomware {
			ransomware++
		}
		if e.DateAdded.IsZero() || e.DueDate.IsZero() || e.Vendor == "" || e.RequiredAction == "" {
			t.Errorf("%s: incomplete entry %+v", e.CVE, e)
		}
		if got, ok := k.Lookup(e.CVE); !ok || got.CVE != e.CVE {
			t.Errorf("%s: lookup failed", e.CVE)
		}
	}
	// The catalogue states its own size in "count".
	if k.Len() != k.DeclaredCount || k.Len() == 0 {
		t.Errorf("loaded %d entries, catalogue count says %d", k.Len(), k.DeclaredCount)
	}
	if ransomware == 0 || ransomware >= k.Len() {
		t.Errorf("implausible ransomware count %d of %d", ransomware, k.Len())
	}
	t.Logf("KEV %s: %d entries (count field %d), %d with known ransomware use", k.Version, k.Len(), k.DeclaredCount, ransomware)
}
