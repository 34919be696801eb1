package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/openapi.golden.json from the generated document")

// TestOpenAPIGolden keeps the generated OpenAPI document under review: any
// change to a route, DTO, validation rule or permission shows up as a diff
// of testdata/openapi.golden.json. Run `go test ./internal/api -run
// OpenAPIGolden -update` to accept a change.
func TestOpenAPIGolden(t *testing.T) {
	got, err := OpenAPI(Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	got = append(bytes.TrimSpace(got), '\n')
	golden := filepath.Join("testdata", "openapi.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	if !json.Valid(want) {
		t.Fatalf("golden file is not JSON (rerun with -update)")
	}
	// The document is indented JSON with sorted keys, so a line diff is a
	// readable, stable review of what changed.
	diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n"))
	t.Errorf("OpenAPI document changed (-golden +generated); review and rerun with -update:\n%s", diff)
}

// TestOpenAPIDocument checks properties of the document that must hold
// whatever the routes are.
func TestOpenAPIDocument(t *testing.T) {
	b, err := OpenAPI(Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string            `json:"operationId"`
			Perm        map[string]string `json:"x-vigil-permission"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if len(doc.Paths) < 10 {
		t.Fatalf("only %d paths documented", len(doc.Paths))
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.OperationID == "" || op.Perm["scope"] == "" {
				t.Errorf("%s %s: operationId %q, x-vigil-permission %v", method, path, op.OperationID, op.Perm)
			}
		}
	}
	// No DTO may carry a secret at rest.
	for name, s := range doc.Components.Schemas {
		for _, banned := range []string{"password_hash", "PasswordHash", "hash_hex", "csrf_token", "CSRFToken", "ciphertext", "Ciphertext"} {
			if _, ok := s.Properties[banned]; ok {
				t.Errorf("schema %s exposes %s", name, banned)
			}
		}
	}
}
