package drill

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDefaultLibrary(t *testing.T) {
	lib, err := DefaultLibrary()
	must(t, err)
	cases := lib.Cases()
	if len(cases) < 30 {
		t.Fatalf("library has %d cases, want at least 30", len(cases))
	}
	tactics := map[string]int{}
	for _, c := range cases {
		tactics[c.Tactic]++
		if len(c.Layers) == 0 || c.Procedure == "" || c.NameZH == "" || len(c.Commands) != 0 {
			t.Errorf("%s: needs layers, a procedure and a Chinese name, and no commands", c.ID)
		}
	}
	for _, tac := range Tactics() {
		if tactics[tac] == 0 {
			t.Errorf("no case for tactic %s", tac)
		}
	}
	t.Logf("library: %d cases over %d tactics", len(cases), len(tactics))
	if got := lib.ForTechnique("T1003.001"); len(got) != 1 || got[0].ID != "lib-t1003.001-lsass" {
		t.Errorf("T1003.001: %+v", got)
	}
	// A sub-technique without a case falls back to its parent's case, and
	// a technique without a case to its sub-techniques'.
	if got := lib.ForTechnique("T1078.002"); len(got) != 1 || got[0].Technique != "T1078" {
		t.Errorf("T1078.002: %+v", got)
	}
	if got := lib.ForTechnique("T1003"); len(got) != 2 {
		t.Errorf("T1003: %+v", got)
	}
	if got := lib.ForTechnique("T1059.005"); len(got) != 0 {
		t.Errorf("T1059.005 (siblings only): %+v", got)
	}
}

func TestParseLibraryRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"unknown field": "cases:\n  - id: a\n    technique: T1001\n    name: x\n    colour: red\n",
		"bad technique": "cases:\n  - id: a\n    technique: T1\n    name: x\n",
		"bad tactic":    "cases:\n  - id: a\n    technique: T1001\n    tactic: hacking\n    name: x\n",
		"bad layer":     "cases:\n  - id: a\n    technique: T1001\n    name: x\n    layers: [antivirus]\n",
		"duplicate":     "cases:\n  - {id: a, technique: T1001, name: x}\n  - {id: a, technique: T1002, name: y}\n",
		"alias":         "cases:\n  - &c {id: a, technique: T1001, name: x}\n  - *c\n",
		"empty":         "",
	} {
		if _, err := ParseLibrary(strings.NewReader(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	lib, err := ParseLibrary(strings.NewReader("cases:\n  - {id: a, technique: T1001, tactic: command-and-control, name: x, layers: [firewall]}\n"))
	must(t, err)
	if !slices.Equal(lib.Cases()[0].Layers, []Layer{LayerFirewall}) {
		t.Fatalf("%+v", lib.Cases())
	}
}
