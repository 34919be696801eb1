package playbook

import (
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestBuiltinFilesLoad loads every embedded file on its own, then as a set.
func TestBuiltinFilesLoad(t *testing.T) {
	names, err := fs.Glob(embedded, "playbooks/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 9 {
		t.Fatalf("%d embedded playbooks, want at least 9", len(names))
	}
	for _, n := range names {
		f, err := embedded.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Load(f, n)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if path.Base(n) != p.ID+".yaml" {
			t.Errorf("%s: id %q does not match the file name", n, p.ID)
		}
	}
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(names) {
		t.Fatalf("Builtin gave %d playbooks for %d files", len(all), len(names))
	}
}

// TestBuiltinCoverage checks the content rules the built-in set promises:
// every playbook walks all five phases with checklists, and the scenarios
// the product documents are present.
func TestBuiltinCoverage(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"webshell", "ransomware", "phishing", "account-compromise", "ddos",
		"web-defacement", "data-leak", "cryptomining", "insider-misuse"} {
		if _, ok := Find(all, id); !ok {
			t.Errorf("built-in playbook %q is missing", id)
		}
	}
	for _, p := range all {
		seen := map[string]bool{}
		for _, task := range p.Tasks {
			seen[task.Phase] = true
			if len(task.Checklist) == 0 {
				t.Errorf("%s: task %q has no checklist", p.ID, task.Title)
			}
			if task.DueAfter == 0 {
				t.Errorf("%s: task %q has no due time", p.ID, task.Title)
			}
		}
		for _, ph := range Phases() {
			if !seen[ph] {
				t.Errorf("%s: no task in phase %s", p.ID, ph)
			}
		}
	}
	ws, _ := Find(all, "webshell")
	if ws.Category != CategoryIntrusion || ws.Tasks[0].Phase != PhaseDetect || ws.Tasks[0].DueAfter != time.Hour {
		t.Errorf("webshell: category %q, first task %+v", ws.Category, ws.Tasks[0])
	}
	if got := len(ForCategory(all, CategoryMalware)); got != 2 {
		t.Errorf("malware playbooks = %d, want 2 (ransomware, cryptomining)", got)
	}
}

const good = `id: sample
name: Sample
category: other
description: Line one.
tasks:
  - title: Look
    phase: detect
    due_after: 2d
    checklist:
      - one
  - title: Close
    phase: summarise
    due_after: 1d12h
`

func TestLoadGood(t *testing.T) {
	p, err := Load(strings.NewReader(good), "sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if due := p.Tasks[0].Due(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)); !due.Equal(time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("Due = %v", due)
	}
	if p.ID != "sample" || len(p.Tasks) != 2 || p.Tasks[0].DueAfter != 48*time.Hour ||
		p.Tasks[1].DueAfter != 36*time.Hour || p.Tasks[0].Checklist[0] != "one" {
		t.Fatalf("got %+v", p)
	}
}

// TestLoadErrors feeds broken variants of the good file; each error must
// name the file and the line of the offending value.
func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"unknown top key", good + "owner: bob\n", "line 14: field owner not found"},
		{"unknown task key", strings.Replace(good, "    phase: detect\n", "    phase: detect\n    owner: bob\n", 1), "line 8: field owner not found"},
		{"bad phase", strings.Replace(good, "phase: detect", "phase: triage", 1), "sample.yaml: line 7: task \"Look\": phase \"triage\""},
		{"bad category", strings.Replace(good, "category: other", "category: spam", 1), "line 3: category \"spam\""},
		{"bad id", strings.Replace(good, "id: sample", "id: Sample One", 1), "line 1: id"},
		{"phase order", strings.Replace(good, "phase: summarise", "phase: contain", 1) + "  - title: Again\n    phase: detect\n", "line 15: task \"Again\": phase detect comes after contain"},
		{"duplicate title", strings.Replace(good, "title: Close", "title: Look", 1), "line 11: task title \"Look\" repeats task 1"},
		{"bad duration", strings.Replace(good, "due_after: 2d", "due_after: soon", 1), "line 8: task \"Look\" due_after"},
		{"too long duration", strings.Replace(good, "due_after: 2d", "due_after: 400d", 1), "longer than 365d"},
		{"negative duration", strings.Replace(good, "due_after: 2d", "due_after: -4h", 1), "must be positive"},
		{"empty checklist item", strings.Replace(good, "- one", "- ''", 1), "line 10: task \"Look\" checklist item 1: empty"},
		{"no tasks", "id: x\nname: X\ncategory: other\ntasks: []\n", "line 4: no tasks"},
		{"empty", "", "empty document"},
		{"two docs", good + "---\nid: y\n", "more than one YAML document"},
		{"alias", "id: &a x\nname: *a\n", "line 1: anchors and aliases"},
		{"syntax", "id: [\n", "sample.yaml: line "},
		{"line break in title", strings.Replace(good, "title: Look", "title: \"Lo\\nok\"", 1), "holds a line break"},
		{"wrong type", strings.Replace(good, "checklist:\n      - one", "checklist: one", 1), "line 9: cannot unmarshal !!str `one`\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(c.in), "sample.yaml")
			if err == nil {
				t.Fatalf("no error for\n%s", c.in)
			}
			if !strings.Contains(err.Error()+"\n", c.want) || !strings.HasPrefix(err.Error(), "sample.yaml: ") || strings.Contains(err.Error(), "playbook.") {
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestLoadTooLarge(t *testing.T) {
	big := good + "# " + strings.Repeat("x", MaxFileSize) + "\n"
	if _, err := Load(strings.NewReader(big), "big.yaml"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
	many := "id: x\nname: X\ncategory: other\ntasks:\n"
	for i := range MaxTasks + 1 {
		many += "  - title: T" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "\n    phase: detect\n"
	}
	if _, err := Load(strings.NewReader(many), "many.yaml"); err == nil || !strings.Contains(err.Error(), "101 tasks, limit 100") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadDir(t *testing.T) {
	other := strings.Replace(good, "id: sample", "id: other", 1)
	fsys := fstest.MapFS{
		"sample.yaml": {Data: []byte(good)},
		"other.yaml":  {Data: []byte(other)},
		"README.md":   {Data: []byte("not a playbook")},
	}
	pbs, err := LoadDir(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(pbs) != 2 || pbs[0].ID != "other" || pbs[1].ID != "sample" {
		t.Fatalf("got %d playbooks: %+v", len(pbs), pbs)
	}
	// A copy under another name would duplicate the id; the file name rule
	// refuses it.
	fsys["copy.yaml"] = &fstest.MapFile{Data: []byte(good)}
	if _, err := LoadDir(fsys); err == nil || !strings.Contains(err.Error(), "copy.yaml: file name must be sample.yaml") {
		t.Fatalf("duplicate id: err = %v", err)
	}
	delete(fsys, "copy.yaml")
	fsys["misnamed.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(good, "id: sample", "id: third", 1))}
	if _, err := LoadDir(fsys); err == nil || !strings.Contains(err.Error(), "file name must be third.yaml") {
		t.Fatalf("misnamed: err = %v", err)
	}
}

// TestLoadDirOnDisk reads the source directory through os.DirFS, the way an
// operator's playbook directory is read.
func TestLoadDirOnDisk(t *testing.T) {
	pbs, err := LoadDir(os.DirFS("playbooks"))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := Builtin()
	if len(pbs) != len(all) {
		t.Fatalf("disk %d, embedded %d", len(pbs), len(all))
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30m": 30 * time.Minute, "4h": 4 * time.Hour, "2d": 48 * time.Hour,
		"1d12h": 36 * time.Hour, "365d": MaxDueAfter,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ParseDuration(FormatDuration(got)); err != nil || back != got {
			t.Errorf("FormatDuration(%v) = %q does not read back", got, FormatDuration(got))
		}
	}
	for _, bad := range []string{"", "0h", "d", "1dd", "-1d", "1d-48h", "366d", "9999999999d", "4x"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}
