package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the analyser's output")

// TestGolden analyses every testdata/*.rules file and compares the JSON-lines
// findings with the .golden file next to it.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.rules")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in) // #nosec G304 -- test samples
			if err != nil {
				t.Fatal(err)
			}
			rs, err := ParseIptablesSave(bytes.NewReader(data), IPv4)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := Analyze(context.Background(), rs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			enc := json.NewEncoder(&got)
			for _, f := range fs {
				if err := enc.Encode(f); err != nil {
					t.Fatal(err)
				}
			}
			golden := strings.TrimSuffix(in, ".rules") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden) // #nosec G304 -- test samples
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("findings (-want +got), rerun with -update if intended:\n%s", diff)
			}
		})
	}
}
