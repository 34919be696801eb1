package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReviewGolden runs the extended analyses (conflicts, hygiene, the
// required policy in testdata/analysis/NAME.require, the proposal and the
// summary) on every testdata/*.rules sample and compares the JSON lines
// with testdata/analysis/NAME.golden; -update rewrites them.
func TestReviewGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.rules")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	ctx := context.Background()
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".rules")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in) // #nosec G304 -- test samples
			if err != nil {
				t.Fatal(err)
			}
			rs := mustParse(t, string(data))
			cp, err := Compile(ctx, rs, 0)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			enc := json.NewEncoder(&out)
			var all []Detail
			cs, err := cp.Conflicts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, cs...)
			all = append(all, Hygiene(rs)...)
			reqText, err := os.ReadFile(filepath.Join("testdata", "analysis", name+".require")) // #nosec G304 -- test samples
			if err == nil {
				reqs, err := ParseRequirements(bytes.NewReader(reqText))
				if err != nil {
					t.Fatal(err)
				}
				rep, err := cp.Check(ctx, reqs)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, rep.Findings...)
				if err := enc.Encode(map[string]any{"require": map[string]int{"statements": rep.Statements, "satisfied": rep.Satisfied}}); err != nil {
					t.Fatal(err)
				}
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			for _, f := range all {
				if err := enc.Encode(f); err != nil {
					t.Fatal(err)
				}
			}
			p, err := Propose(ctx, rs, ProposeOptions{Compiled: cp})
			if err != nil {
				t.Fatal(err)
			}
			rendered, err := p.RenderIptablesSave(data)
			if err != nil {
				t.Fatal(err)
			}
			if d, err := Diff(ctx, rs, mustParse(t, string(rendered)), DiffOptions{}); err != nil || !d.Equivalent {
				t.Fatalf("rendered proposal not equivalent: %+v %v", d, err)
			}
			if err := enc.Encode(map[string]any{"summary": Summarize(rs, all, p)}); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "analysis", name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden) // #nosec G304 -- test samples
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
			}
		})
	}
}
