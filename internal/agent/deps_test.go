package agent

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// badDeps are packages the agent must not pull in: the store drivers, the
// web UI, the API, the CLI, the headless browser and the report renderers.
var badDeps = []string{
	"github.com/vigil-sec/vigil/internal/web", "github.com/vigil-sec/vigil/internal/api",
	"github.com/vigil-sec/vigil/internal/cli", "github.com/vigil-sec/vigil/internal/app",
	"github.com/vigil-sec/vigil/internal/store", "github.com/vigil-sec/vigil/internal/report",
	"github.com/jackc/pgx", "modernc.org/sqlite", "github.com/go-sql-driver/mysql",
	"github.com/chromedp", "github.com/xuri/excelize", "github.com/nats-io", "github.com/danielgtaylor/huma",
}

// listDeps returns the entries of badDeps that pkg depends on.
func listDeps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Skipf("go list %s: %v", pkg, err)
	}
	deps := map[string]bool{}
	for _, d := range strings.Fields(string(out)) {
		for _, b := range badDeps {
			if d == b || strings.HasPrefix(d, b+"/") {
				deps[b] = true
			}
		}
	}
	return deps
}

// TestDeps keeps the agent light. A heavy dependency the agent reaches
// only through the baseline engine is reported as a skip naming it: the
// fix is in internal/baseline (its remote, database and report code in
// packages of their own), not here.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	agent := listDeps(t, ".")
	viaBaseline := listDeps(t, "github.com/vigil-sec/vigil/internal/baseline")
	var inherited []string
	for d := range agent {
		if viaBaseline[d] {
			inherited = append(inherited, d)
			continue
		}
		t.Errorf("the agent depends on %s", d)
	}
	slices.Sort(inherited)
	if len(inherited) > 0 {
		t.Skipf("internal/baseline pulls %d kinds of heavy package into the agent: %s", len(inherited), strings.Join(inherited, ", "))
	}
}
