package enrich

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStreamKeepsParseOutput feeds the vuln package's golden "vuln parse"
// output through Stream: every field of every finding must come back
// unchanged, with only the enrichment fields added.
func TestStreamKeepsParseOutput(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*.golden"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files (%v)", err)
	}
	en := testEnricher(t)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			in, err := os.ReadFile(file) // #nosec G304 -- test data path from Glob
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			n, err := en.Stream(context.Background(), bytes.NewReader(in), &out)
			if err != nil {
				t.Fatal(err)
			}
			inSc, outSc := bufio.NewScanner(bytes.NewReader(in)), bufio.NewScanner(&out)
			inSc.Buffer(nil, MaxLineBytes)
			outSc.Buffer(nil, MaxLineBytes)
			lines := 0
			for inSc.Scan() {
				if len(bytes.TrimSpace(inSc.Bytes())) == 0 {
					continue
				}
				if !outSc.Scan() {
					t.Fatalf("output ends after %d lines", lines)
				}
				lines++
				var want, got map[string]any
				if err := json.Unmarshal(inSc.Bytes(), &want); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(outSc.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if _, ok := got["priority_reason"]; !ok {
					t.Fatalf("line %d: no priority_reason", lines)
				}
				for _, k := range []string{"kev", "epss", "priority", "priority_reason"} {
					delete(got, k)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("line %d changed (-in +out):\n%s", lines, d)
				}
			}
			if lines != n || lines == 0 {
				t.Fatalf("%d input lines, %d written", lines, n)
			}
		})
	}
}
