package baseline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestManualChecks(t *testing.T) {
	const doc = `
policy:
  id: "m"
checks:
  - id: 1
    title: "Physical access is controlled."
    type: manual
  - id: 2
    title: "Manual with rules: rules and condition are ignored."
    type: Manual
    condition: whatever
    rules:
      - 'f:/nonexistent'
  - id: 3
    title: "Automated."
    condition: all
    rules:
      - 'not f:/nonexistent/file'
  - id: 4
    title: "Unknown type."
    type: scripted
    condition: all
    rules:
      - 'f:/x'
`
	p, err := Parse([]byte(doc), "m.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Checks) != 3 || len(p.Problems) != 1 {
		t.Fatalf("checks %d, problems %v", len(p.Checks), p.Problems)
	}
	if got := p.Problems[0].String(); got != `m.yml:19 check 4: check type "scripted" is not manual` {
		t.Errorf("problem %q", got)
	}
	root := fakeRoot(t, nil)
	rep, err := Evaluate(t.Context(), p, Options{FS: root.FS()})
	if err != nil {
		t.Fatal(err)
	}
	got := []Result{rep.Checks[0].Result, rep.Checks[1].Result, rep.Checks[2].Result}
	if got[0] != Manual || got[1] != Manual || got[2] != Passed || rep.Manual != 2 || rep.Score != 100 {
		t.Errorf("results %v, manual %d, score %.1f", got, rep.Manual, rep.Score)
	}
}

// TestCheckLineInProblems: check-level problems carry the check's line.
func TestCheckLineInProblems(t *testing.T) {
	p, err := Parse([]byte("policy:\n  id: x\nchecks:\n  - id: 1\n    condition: some\n    rules: ['f:/x']\n"), "x.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) != 1 || p.Problems[0].Line != 4 {
		t.Errorf("problems %v", p.Problems)
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, name := range []string{"redis_example.yml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(testPolicy))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz.yml")
		if err != nil {
			return
		}
		for _, c := range p.Checks {
			if !c.Manual && len(c.Rules) == 0 {
				t.Fatalf("automated check %s without rules", c.ID)
			}
		}
		var b strings.Builder
		if err := WriteCollector(&b, p, true); err != nil {
			t.Fatal(err)
		}
	})
}
