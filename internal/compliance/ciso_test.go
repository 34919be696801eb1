package compliance

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCISOSampleImport(t *testing.T) {
	fh, err := os.Open("testdata/ciso-sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	lib, err := ParseCISOLibrary(fh)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := lib.Framework()
	if err != nil {
		t.Fatal(err)
	}
	n := fw.Count()
	if n.Top != 2 || n.Requirements != 3 || fw.ID != "vigil-test-policy" || fw.Name != "示例内部安全制度" {
		t.Fatalf("imported %s %q: %+v", fw.ID, fw.Name, n)
	}
	r := fw.Node("1.1")
	if r == nil || r.TextEn != "Every administrator account belongs to one named person." || r.Text != "每个管理员账户对应一名具体人员。" || !r.Assessable {
		t.Errorf("node 1.1 = %+v", r)
	}
	if fw.Node("1").NameEn != "Accounts" || fw.Node("1").Name != "账户" || fw.Node("1").Assessable {
		t.Errorf("node 1 = %+v", fw.Node("1"))
	}
	if len(lib.Objects.RiskMatrix) != 1 {
		t.Fatal("matrix not read")
	}
	mx, err := lib.Objects.RiskMatrix[0].RiskMatrix()
	if err != nil {
		t.Fatal(err)
	}
	if len(mx.Grid) != 3 || mx.Levels[mx.Grid[2][2]] != "High" || mx.Levels[mx.Grid[0][0]] != "Low" {
		t.Errorf("matrix = %+v", mx)
	}
	back, err := ExportRiskMatrix("vigil-test-3x3", mx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lib.Objects.RiskMatrix[0].Grid, back.Grid); diff != "" {
		t.Errorf("matrix grid round trip (-in +out):\n%s", diff)
	}
}

// shape is what a CISO round trip must keep of a framework.
type shape struct {
	ID, Name, NameEn, Text, TextEn string
	Assessable                     bool
	Depth                          int
	Parent                         string
}

func shapeOf(f *Framework) []shape {
	var out []shape
	f.Walk(func(n, p *Node, d int) bool {
		s := shape{n.ID, n.Name, n.NameEn, n.Text, n.TextEn, n.Assessable, d, ""}
		if p != nil {
			s.Parent = p.ID
		}
		out = append(out, s)
		return true
	})
	return out
}

func TestCISORoundTripBuiltins(t *testing.T) {
	c := builtin(t)
	for _, id := range c.IDs() {
		f := c.Framework(id)
		lib, err := ExportCISO(f)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		var buf bytes.Buffer
		if err := WriteCISO(&buf, lib); err != nil {
			t.Fatal(err)
		}
		lib2, err := ParseCISOLibrary(&buf)
		if err != nil {
			t.Fatalf("%s: re-read: %v", id, err)
		}
		f2, err := lib2.Framework()
		if err != nil {
			t.Fatalf("%s: import: %v", id, err)
		}
		if f2.ID != f.ID || f2.Name != f.Name {
			t.Errorf("%s: imported as %s %q", id, f2.ID, f2.Name)
		}
		if diff := cmp.Diff(shapeOf(f), shapeOf(f2)); diff != "" {
			t.Errorf("%s: round trip (-exported +imported):\n%s", id, diff)
		}
	}
}

func TestCISORejects(t *testing.T) {
	head := "urn: urn:x:risk:library:t\nlocale: en\nref_id: t\nname: T\nobjects:\n  framework:\n    urn: urn:x:risk:framework:t\n    ref_id: T\n    name: T\n    requirement_nodes:\n"
	cases := map[string]string{
		"parent missing":  head + "    - {urn: 'urn:x:a', depth: 2, parent_urn: 'urn:x:zz', assessable: true, name: A}\n",
		"depth mismatch":  head + "    - {urn: 'urn:x:a', depth: 1, name: A}\n    - {urn: 'urn:x:b', depth: 3, parent_urn: 'urn:x:a', assessable: true, name: B}\n",
		"duplicate urn":   head + "    - {urn: 'urn:x:a', depth: 1, assessable: true, name: A}\n    - {urn: 'urn:x:a', depth: 1, assessable: true, name: B}\n",
		"no urn":          strings.Replace(head, "urn: urn:x:risk:library:t\n", "", 1) + "    - {urn: 'urn:x:a', depth: 1, assessable: true, name: A}\n",
		"empty objects":   "urn: u\nlocale: en\nname: T\nobjects: {}\n",
		"bad matrix":      "urn: u\nlocale: en\nname: T\nobjects:\n  risk_matrix:\n  - {urn: m, name: M, probability: [{id: 0, name: a}, {id: 1, name: b}], impact: [{id: 0, name: a}, {id: 1, name: b}], risk: [{id: 0, name: a}, {id: 1, name: b}], grid: [[0, 5], [1, 1]]}\n",
		"alias":           "urn: &u u\nlocale: *u\nname: T\nobjects: {}\n",
		"not a framework": "- 1\n- 2\n",
	}
	for name, src := range cases {
		if _, err := ParseCISOLibrary(strings.NewReader(src)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}
