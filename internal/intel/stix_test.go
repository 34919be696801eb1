package intel

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// stixDir is the shared STIX corpus, relative to this package.
const stixDir = "../../../shared/corpus/stix"

func requireSTIXCorpus(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(stixDir); err != nil {
		testenv.Missing(tb, "STIX corpus at "+stixDir)
	}
}

func loadSchemas(tb testing.TB) *SchemaSet {
	tb.Helper()
	requireSTIXCorpus(tb)
	s, err := LoadSchemas(filepath.Join(stixDir, "schemas"))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestSTIXCorpus parses every example bundle with schema validation: no
// object may be rejected except indicators whose pattern is parsed but
// not evaluated, and every indicator object's pattern must either give
// indicators or be rejected with a reason.
func TestSTIXCorpus(t *testing.T) {
	schemas := loadSchemas(t)
	var files []string
	err := filepath.WalkDir(filepath.Join(stixDir, "examples"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("found %d example files, want at least 8", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f) // #nosec G304 -- corpus file
		if err != nil {
			t.Fatal(err)
		}
		feed, err := stixParser{}.Parse(context.Background(), bytes.NewReader(data), ParseOptions{Schemas: schemas, Observables: true})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		rel, _ := filepath.Rel(stixDir, f)
		t.Logf("%s: objects %v; %d indicators; %d rejected", rel, SortedCounts(feed.Counts), len(feed.Indicators), len(feed.Rejected))
		total := 0
		for _, n := range feed.Counts {
			total += n
		}
		if want := bytes.Count(data, []byte(`"spec_version"`)); total < want {
			t.Errorf("%s: counted %d objects, file has %d spec_version properties", rel, total, want)
		}
		for _, r := range feed.Rejected {
			t.Logf("  rejected %s %s: %s", r.Where, r.ID, r.Reason)
			if !strings.HasPrefix(r.ID, "indicator--") || r.Reason == "" {
				t.Errorf("%s: unexpected rejection of %s %s: %s", rel, r.Where, r.ID, r.Reason)
			}
		}
		// every indicator object is accounted for: it produced an indicator or a rejection
		ids := map[string]bool{}
		for _, in := range feed.Indicators {
			for _, r := range in.Refs {
				ids[r] = true
			}
		}
		for _, r := range feed.Rejected {
			ids[r.ID] = true
		}
		if got, want := countPrefix(ids, "indicator--"), feed.Counts["indicator"]; got != want {
			t.Errorf("%s: %d indicator objects accounted for, %d parsed", rel, got, want)
		}
	}
}

func countPrefix(m map[string]bool, p string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, p) {
			n++
		}
	}
	return n
}
