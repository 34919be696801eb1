package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSTIXIndicatorRoundTrip writes every indicator the corpus examples
// and the CSV and MISP samples give as STIX 2.1 indicator objects, checks
// each object against the STIX JSON schemas, and reads the bundle back:
// the same indicators (type, value, TLP, confidence) come out.
func TestSTIXIndicatorRoundTrip(t *testing.T) {
	schemas := loadSchemas(t)
	var in []Indicator
	err := filepath.WalkDir(filepath.Join(stixDir, "examples"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		data, err := os.ReadFile(p) // #nosec G304 -- corpus file
		if err != nil {
			return err
		}
		f, err := stixParser{}.Parse(context.Background(), bytes.NewReader(data), ParseOptions{Observables: true})
		if err != nil {
			return err
		}
		in = append(in, f.Indicators...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	for _, p := range []string{"testdata/feed.csv", "testdata/misp-event.json"} {
		f, err := reg.LoadPath(context.Background(), p, "", ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, f.Indicators...)
	}
	types := map[Type]bool{}
	for _, x := range in {
		types[x.Type] = true
	}
	if len(in) < 20 || len(types) < 5 {
		t.Fatalf("only %d indicators of %d types to write", len(in), len(types))
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var objs []json.RawMessage
	for i := range in {
		obj, err := in[i].STIXIndicator(now)
		if err != nil {
			t.Fatalf("%s %q: %v", in[i].Type, in[i].Value, err)
		}
		objs = append(objs, obj)
	}
	bundle, err := json.Marshal(map[string]any{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objs})
	if err != nil {
		t.Fatal(err)
	}
	back, err := stixParser{}.Parse(context.Background(), bytes.NewReader(bundle), ParseOptions{Schemas: schemas})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range back.Rejected {
		t.Errorf("written object refused: %s %s: %s", r.Where, r.ID, r.Reason)
	}
	key := func(x Indicator) string {
		return fmt.Sprintf("%s|%s|%s|%d", x.Type, x.Value, x.TLP, x.Confidence)
	}
	var want, got []string
	for _, x := range in {
		want = append(want, key(x))
	}
	for _, x := range back.Indicators {
		got = append(got, key(x))
	}
	slices.Sort(want)
	slices.Sort(got)
	want, got = slices.Compact(want), slices.Compact(got)
	if !slices.Equal(want, got) {
		t.Errorf("round trip differs:\nwant %q\n got %q", want, got)
	}
}

// TestSTIXIndicatorIDStable: the id depends on type and value only, and a
// value with quotes and backslashes survives the pattern literal.
func TestSTIXIndicatorIDStable(t *testing.T) {
	a := Indicator{Type: TypeFilename, Value: `it's\evil.exe`, Source: "a", Confidence: 10}
	b := Indicator{Type: TypeFilename, Value: `it's\evil.exe`, Source: "b", Confidence: 90}
	if a.STIXID() != b.STIXID() {
		t.Error("same indicator, different ids")
	}
	c := Indicator{Type: TypeDomain, Value: `it's\evil.exe`}
	if a.STIXID() == c.STIXID() {
		t.Error("different types, same id")
	}
	p, err := a.STIXPattern()
	if err != nil {
		t.Fatal(err)
	}
	pat, err := ParsePattern(p)
	if err != nil {
		t.Fatal(err)
	}
	vals, ok := pat.Simple()
	if !ok || len(vals) != 1 || vals[0].Value != a.Value {
		t.Errorf("pattern %s reads back as %+v", p, vals)
	}
	for _, tlp := range []TLP{TLPClear, TLPGreen, TLPAmber, ""} {
		if x := (Indicator{TLP: tlp}); !x.Shareable() {
			t.Errorf("TLP %q not shareable", tlp)
		}
	}
	for _, tlp := range []TLP{TLPAmberStrict, TLPRed} {
		if x := (Indicator{TLP: tlp}); x.Shareable() {
			t.Errorf("TLP %q shareable", tlp)
		}
	}
}
