package drill

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseLayerRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"syntax":        "{\n  \"name\": \"x\",\n  \"domain\": \n}",
		"type":          `{"name": "x", "domain": "enterprise-attack", "techniques": [{"techniqueID": 5}]}`,
		"domain":        `{"name": "x", "domain": "mobile-attack", "techniques": []}`,
		"version":       `{"name": "x", "versions": {"layer": "3.0"}, "domain": "enterprise-attack"}`,
		"no name":       `{"domain": "enterprise-attack"}`,
		"technique id":  `{"name": "x", "domain": "enterprise-attack", "techniques": [{"techniqueID": "T12345"}]}`,
		"trailing data": `{"name": "x", "domain": "enterprise-attack"} {}`,
		"empty":         ``,
		"two layers":    `[{"name": "x", "domain": "enterprise-attack"}, {"name": "y", "domain": "enterprise-attack"}]`,
		"list of junk":  `[1]`,
	} {
		_, err := ParseLayer(strings.NewReader(in))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
		if name == "syntax" && !strings.Contains(err.Error(), "line 4:") {
			t.Errorf("syntax error does not name its line: %v", err)
		}
	}
	var b strings.Builder
	b.WriteString(`{"name": "x", "domain": "enterprise-attack", "techniques": [`)
	for i := range MaxLayerTechniques + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"techniqueID": "T1001"}`)
	}
	b.WriteString("]}")
	if _, err := ParseLayer(strings.NewReader(b.String())); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many techniques: %v", err)
	}
}

func TestParseLayerList(t *testing.T) {
	l, err := ParseLayer(strings.NewReader(` [{"name": "x", "domain": "enterprise-attack", "techniques": [{"techniqueID": "t1046"}]}]`))
	must(t, err)
	if len(l.Techniques) != 1 || l.Techniques[0].TechniqueID != "T1046" {
		t.Fatalf("%+v", l)
	}
}

func TestLayerExportShape(t *testing.T) {
	d := newTestDrill(t)
	lib, err := DefaultLibrary()
	must(t, err)
	for _, id := range []string{"lib-t1046-service-scan", "lib-t1021.001-rdp"} {
		c, _ := lib.Get(id)
		must(t, d.AddCase(c))
	}
	data, err := MarshalLayer(d.Layer())
	must(t, err)
	// The fields the Navigator reads, by their layer-format names.
	for _, key := range []string{`"versions"`, `"attack"`, `"navigator"`, `"layer": "4.5"`, `"domain": "enterprise-attack"`,
		`"techniqueID": "T1046"`, `"tactic": "discovery"`, `"color"`, `"comment"`, `"gradient"`, `"minValue"`, `"maxValue"`, `"legendItems"`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("layer lacks %s:\n%s", key, data)
		}
	}
	if bytes.Contains(data, []byte(`"score"`)) {
		t.Error("cases not run carry a score")
	}
}

func FuzzParseLayer(f *testing.F) {
	data, err := os.ReadFile("testdata/navigator/plan.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"name":"x","domain":"enterprise-attack","techniques":[{"techniqueID":"t1059.001","score":-1,"enabled":false}]}`))
	lib, err := DefaultLibrary()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := ParseLayer(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		plan := PlanFromLayer(l, lib)
		for _, c := range plan.Cases {
			if err := c.Validate(); err != nil {
				t.Fatalf("planned case does not validate: %v", err)
			}
		}
	})
}
