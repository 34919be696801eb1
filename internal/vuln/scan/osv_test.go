package scan

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// corpusDir is DefectDojo's sample scans, shared by the project outside
// the module.
var corpusDir = filepath.Join("..", "..", "..", "..", "shared", "corpus", "defectdojo")

// osvScannerOutput is the shape of an OSV-Scanner report: packages with
// the advisories (full OSV documents) the scanner found for them.
type osvScannerOutput struct {
	Results []struct {
		Packages []struct {
			Package struct {
				Name, Version, Ecosystem string
			} `json:"package"`
			Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
		} `json:"packages"`
	} `json:"results"`
}

// TestOSVMatchAgreesWithOSVScanner loads every advisory of a real
// OSV-Scanner report into a database and checks that each scanned package
// version is matched by exactly the advisories the scanner reported for it.
func TestOSVMatchAgreesWithOSVScanner(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpusDir, "scans", "osv_scanner", "many_findings.json"))
	if os.IsNotExist(err) {
		testenv.Missing(t, "DefectDojo sample corpus")
	}
	if err != nil {
		t.Fatal(err)
	}
	var out osvScannerOutput
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{}
	for _, r := range out.Results {
		for _, p := range r.Packages {
			for _, raw := range p.Vulnerabilities {
				a, err := ParseOSV(raw)
				if err != nil {
					t.Fatal(err)
				}
				files["advisories/"+a.ID+".json"] = &fstest.MapFile{Data: raw}
			}
		}
	}
	db, err := LoadOSV(files)
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() != len(files) {
		t.Fatalf("loaded %d advisories of %d files", db.Len(), len(files))
	}
	checked := 0
	for _, r := range out.Results {
		for _, p := range r.Packages {
			if p.Package.Name == "" { // a git commit, not a package version
				continue
			}
			var want []string
			for _, raw := range p.Vulnerabilities {
				var v struct{ ID string }
				_ = json.Unmarshal(raw, &v)
				want = append(want, v.ID)
			}
			var got []string
			for _, a := range db.Match(p.Package.Ecosystem, p.Package.Name, p.Package.Version) {
				got = append(got, a.ID)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s %s: matched %v, OSV-Scanner reported %v", p.Package.Ecosystem, p.Package.Name, p.Package.Version, got, want)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked", checked)
	}
	// A version past every fix is not matched.
	if got := db.Match("PyPI", "django", "99.0"); len(got) != 0 {
		t.Errorf("django 99.0 matched %d advisories", len(got))
	}

	// The same advisories as a zip archive.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, f := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(f.Data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zdb, err := LoadOSVZip(buf.Bytes())
	if err != nil || zdb.Len() != db.Len() {
		t.Fatalf("zip: %d advisories, %v", zdb.Len(), err)
	}
}

func TestOSVBadInput(t *testing.T) {
	for name, doc := range map[string]string{
		"truncated": `{"id":"X-1","affected":[`,
		"no id":     `{"summary":"x"}`,
		"not json":  `<xml/>`,
	} {
		_, err := LoadOSV(fstest.MapFS{"a/" + name + ".json": {Data: []byte(doc)}})
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := LoadOSVZip([]byte("not a zip")); err == nil {
		t.Error("LoadOSVZip accepted garbage")
	}
}
