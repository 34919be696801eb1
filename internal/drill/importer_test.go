package drill

import (
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func open(t testing.TB, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestImportAtomic(t *testing.T) {
	cases, err := ImportAtomic(open(t, "testdata/atomic/T1003.001.yaml"))
	must(t, err)
	if len(cases) != 3 {
		t.Fatalf("%d cases, want the file's 3 atomic tests", len(cases))
	}
	c := cases[0]
	if c.ID != "art-5f3e2c1a-0000-4000-8000-000000000001" || c.Technique != "T1003.001" || c.Source != "atomic-red-team" ||
		!slices.Equal(c.Platforms, []string{"windows"}) || len(c.Commands) != 1 || c.Commands[0].Executor != "command_prompt" ||
		!strings.Contains(c.Commands[0].Text, "#{dumper_exe}") || !strings.Contains(c.Procedure, "LSASS") {
		t.Fatalf("first case: %+v", c)
	}
	if len(c.Arguments) != 2 || c.Arguments[0].Name != "dump_path" || c.Arguments[0].Default != `C:\Windows\Temp\vigil-drill.dmp` {
		t.Fatalf("arguments: %+v", c.Arguments)
	}
	// A numeric default stays text; a manual test keeps its steps.
	if a := cases[1].Arguments; len(a) != 1 || a[0].Default != "3" || a[0].Type != "integer" {
		t.Fatalf("second case arguments: %+v", a)
	}
	if cm := cases[2].Commands; len(cm) != 1 || cm[0].Executor != "manual" || !strings.Contains(cm[0].Text, "Task Manager") {
		t.Fatalf("manual case: %+v", cases[2])
	}
	if cases[2].ID != "art-t1003.001-3" {
		t.Fatalf("case without guid: id %q", cases[2].ID)
	}
}

func TestImportCaldera(t *testing.T) {
	cases, err := ImportCaldera(open(t, "testdata/caldera/abilities.yml"))
	must(t, err)
	if len(cases) != 2 {
		t.Fatalf("%d cases, want 2", len(cases))
	}
	if c := cases[0]; c.Technique != "T1482" || c.Tactic != "discovery" || len(c.Commands) != 1 || c.Commands[0].Executor != "psh,cmd" || c.Commands[0].Text != "nltest /domain_trusts" {
		t.Fatalf("first ability: %+v", c)
	}
	if c := cases[1]; !slices.Equal(c.Platforms, []string{"linux", "darwin", "windows"}) || len(c.Commands) != 3 ||
		!strings.Contains(c.Commands[2].Text, "#{server}/file/download tool.exe") {
		t.Fatalf("second ability: %+v", c)
	}
	one, err := ImportCaldera(open(t, "testdata/caldera/ability-executors.yml"))
	must(t, err)
	if len(one) != 1 || one[0].Technique != "T1087.001" || len(one[0].Commands) != 2 || one[0].Commands[1].Platform != "windows" {
		t.Fatalf("executor list form: %+v", one)
	}
}

func TestImportRefuses(t *testing.T) {
	atomic := map[string]string{
		"not yaml":      "attack_technique: [",
		"no technique":  "display_name: x\natomic_tests: [{name: a}]\n",
		"bad technique": "attack_technique: T99\natomic_tests: [{name: a}]\n",
		"no tests":      "attack_technique: T1001\n",
		"unnamed test":  "attack_technique: T1001\natomic_tests: [{description: a}]\n",
		"alias bomb":    "a: &a [x, x]\nb: &b [*a, *a]\nattack_technique: T1001\n",
		"wrong type":    "attack_technique: T1001\natomic_tests: {name: a}\n",
		"scalar":        "hello",
		"too many args": "attack_technique: T1001\natomic_tests:\n- name: a\n  input_arguments: {" + strings.Repeat("x", 0) + manyArgs(60) + "}\n",
	}
	for name, in := range atomic {
		if _, err := ImportAtomic(strings.NewReader(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("atomic %s: got %v, want ErrInvalid", name, err)
		}
	}
	caldera := map[string]string{
		"scalar":        "hello",
		"no technique":  "- {id: a, name: b}\n",
		"bad platforms": "- {id: a, name: b, technique: {attack_id: T1001}, platforms: [linux]}\n",
		"bad executors": "- {id: a, name: b, technique: {attack_id: T1001}, platforms: {linux: sh}}\n",
		"no id":         "- {name: b, technique: {attack_id: T1001}}\n",
		"empty list":    "[]\n",
	}
	for name, in := range caldera {
		if _, err := ImportCaldera(strings.NewReader(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("caldera %s: got %v, want ErrInvalid", name, err)
		}
	}
	big := strings.NewReader(strings.Repeat("#", MaxImportBytes+1))
	if _, err := ImportAtomic(big); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized input: %v", err)
	}
}

func manyArgs(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("a")
		b.WriteString(strings.Repeat("b", i))
		b.WriteString(": {default: 1}")
	}
	return b.String()
}

// Imported text never carries control characters into a case, and a case
// always validates.
func checkImported(t *testing.T, cases []TestCase) {
	t.Helper()
	for _, c := range cases {
		if err := c.Validate(); err != nil {
			t.Fatalf("imported case does not validate: %v", err)
		}
	}
}

func FuzzImportAtomic(f *testing.F) {
	data, err := os.ReadFile("testdata/atomic/T1003.001.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("attack_technique: T1001\natomic_tests: [{name: \"\\x01\", executor: {command: \"\\u0000\"}}]\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cases, err := ImportAtomic(strings.NewReader(string(in)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		checkImported(t, cases)
	})
}

func FuzzImportCaldera(f *testing.F) {
	for _, p := range []string{"testdata/caldera/abilities.yml", "testdata/caldera/ability-executors.yml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cases, err := ImportCaldera(strings.NewReader(string(in)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		checkImported(t, cases)
	})
}

// TestNeverExecutes checks the engine cannot run what it imports: no
// non-test file of the package imports a way to start processes or open
// connections.
func TestNeverExecutes(t *testing.T) {
	files, err := filepath.Glob("*.go")
	must(t, err)
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		must(t, err)
		for _, im := range af.Imports {
			switch p := strings.Trim(im.Path.Value, `"`); p {
			case "os/exec", "syscall", "net/http", "plugin":
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
