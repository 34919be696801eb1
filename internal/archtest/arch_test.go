// Package archtest enforces Vigil's dependency rules: domain packages never
// import the HTTP surfaces or the CLI, and only the wiring packages may.
package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/vigil-sec/vigil"

// surfaces are the packages only wiring code may import.
var surfaces = []string{"internal/web", "internal/api", "internal/cli", "internal/httpserver", "internal/app"}

// wiring may import surfaces.
var wiring = map[string][]string{
	"cmd/vigil":           {"internal/cli"},
	"internal/cli":        {"internal/app", "internal/api"},
	"internal/app":        {"internal/web", "internal/api", "internal/httpserver"},
	"internal/httpserver": {},
	"internal/e2e":        {"internal/app", "internal/cli"},
	// Benchmarks that run whole nodes set them up as the CLI would.
	"bench": {"internal/app"},
}

func under(pkg, dir string) bool {
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

func TestDomainPackagesDoNotImportSurfaces(t *testing.T) {
	out, err := exec.Command("go", "list", "-test", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		// Test variants print as "pkg [pkg.test]"; the bracket field is
		// not a module import and is skipped below.
		pkg := strings.TrimPrefix(fields[0], module+"/")
		if strings.HasSuffix(pkg, ".test") {
			continue
		}
		// An external test package (pkg_test) is held to its package's rules.
		pkg = strings.TrimSuffix(pkg, "_test")
		checked++
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			for _, s := range surfaces {
				if !under(dep, s) || under(pkg, s) {
					continue
				}
				allowed := false
				for w, deps := range wiring {
					if under(pkg, w) {
						for _, d := range deps {
							if under(dep, d) {
								allowed = true
							}
						}
					}
				}
				if !allowed {
					t.Errorf("%s imports %s: domain packages must not depend on web, api, cli or the wiring", pkg, dep)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages listed; the check did not run", checked)
	}
}
