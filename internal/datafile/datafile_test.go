package datafile

import (
	"errors"
	"strings"
	"testing"
)

type doc struct {
	Name  string   `yaml:"name"`
	Items []string `yaml:"items"`
}

func TestDecode(t *testing.T) {
	var d doc
	root, err := Decode([]byte("name: x\nitems:\n  - a\n  - b\n"), "f.yaml", 1<<10, &d)
	if err != nil || d.Name != "x" || len(d.Items) != 2 {
		t.Fatalf("%+v %v", d, err)
	}
	if l := LineOf(root, "items", 1); l != 4 {
		t.Errorf("LineOf items[1] = %d, want 4", l)
	}
	if l := LineOf(root, "items", 9); l != 3 {
		t.Errorf("LineOf of a missing index = %d, want the sequence's line 3", l)
	}
	for name, c := range map[string]struct {
		in   string
		max  int
		want string
	}{
		"unknown key": {"name: x\nowner: y\n", 1 << 10, "f.yaml:2: field owner not found"},
		"anchor":      {"name: &a x\nitems: [*a]\n", 1 << 10, "f.yaml:1: anchors and aliases are not allowed"},
		"two docs":    {"name: x\n---\nname: y\n", 1 << 10, "more than one YAML document"},
		"too large":   {"name: x\n", 4, "f.yaml: larger than 4 bytes"},
		"empty":       {"", 1 << 10, "f.yaml: empty document"},
		"not utf-8":   {"name: \xff\n", 1 << 10, "not valid UTF-8"},
		"deep":        {strings.Repeat("[", 20) + strings.Repeat("]", 20), 1 << 10, "nested deeper than"},
	} {
		_, err := Decode([]byte(c.in), "f.yaml", c.max, &doc{})
		var le *LineError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a LineError with %q", name, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"name: x\nitems: [a, b]\n", "name: &a x\n", "- [[[[", "name: x\n---\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d doc
		root, err := Decode(data, "fuzz.yaml", 1<<16, &d)
		if err == nil && root == nil {
			t.Fatal("no tree without an error")
		}
		var le *LineError
		if err != nil && !errors.As(err, &le) {
			t.Fatalf("not a LineError: %v", err)
		}
	})
}
