package compliance

import (
	"bytes"
	"context"
	"os"
	"testing"
)

func FuzzParseFramework(f *testing.F) {
	for _, p := range []string{"frameworks/mlps2-l3-iot.yaml", "frameworks/gbt39204-2022.yaml"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("id: x\nname: X\nnodes:\n  - {id: a, name: A, children: [{id: a1, zh: 甲}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fw, err := ParseFramework(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := fw.Validate(); err != nil {
			t.Fatalf("parsed framework does not validate: %v", err)
		}
		var rs []ItemResult
		for i, n := range fw.Requirements() {
			rs = append(rs, ItemResult{Item: n.ID, Result: []Result{Conform, PartlyConform, NotConform, NotApplicable}[i%4]})
		}
		card, err := (WeightedScorer{}).Score(context.Background(), fw, rs)
		if err != nil {
			return // e.g. duplicate-looking weights are fine to refuse
		}
		if card.Overall < 0 || card.Overall > 100 {
			t.Fatalf("overall %v out of range", card.Overall)
		}
		if _, err := ExportCISO(fw); err != nil {
			return
		}
	})
}

func FuzzParseMappings(f *testing.F) {
	if data, err := os.ReadFile("frameworks/mappings-mlps2-l3.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("source: a\ntarget: b\nitems:\n  - {id: x, target: [y]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ParseMappings(bytes.NewReader(data))
		if err != nil {
			return
		}
		c := &Catalog{Frameworks: map[string]*Framework{}, Mappings: ms}
		if len(ms) > 0 && c.CheckMappings() == nil {
			t.Fatal("mappings to missing frameworks accepted")
		}
	})
}

func FuzzParseCISOLibrary(f *testing.F) {
	if data, err := os.ReadFile("testdata/ciso-sample.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("urn: u\nlocale: zh\nname: n\nobjects:\n  framework:\n    urn: f\n    name: n\n    requirement_nodes:\n    - {urn: a, depth: 1, assessable: true, name: A}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lib, err := ParseCISOLibrary(bytes.NewReader(data))
		if err != nil {
			return
		}
		if lib.Objects.Framework != nil {
			if fw, err := lib.Framework(); err == nil {
				if _, err := ExportCISO(fw); err != nil {
					t.Fatalf("imported framework does not export: %v", err)
				}
			}
		}
		for _, m := range lib.Objects.RiskMatrix {
			if _, err := m.RiskMatrix(); err != nil {
				t.Fatalf("checked matrix does not convert: %v", err)
			}
		}
	})
}

func FuzzParseFrameworkXLSX(f *testing.F) {
	f.Add(workbook(f, frameworkRows, nil))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fw, err := ParseFrameworkXLSX(bytes.NewReader(data), "fz", "Fuzz")
		if err != nil {
			return
		}
		if err := fw.Validate(); err != nil {
			t.Fatalf("imported framework does not validate: %v", err)
		}
	})
}

func FuzzParseItemsXLSX(f *testing.F) {
	fw, err := Builtin()
	if err != nil {
		f.Fatal(err)
	}
	l3 := fw.Framework("mlps2-l3")
	var buf bytes.Buffer
	if err := WriteItemsXLSX(&buf, l3, []ItemResult{{Item: "L3-CES1-01", Object: "a", Result: PartlyConform, Compensation: &Compensation{Measure: "m", Adjustment: 0.2}}}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseItemsXLSX(bytes.NewReader(data), l3)
		if err != nil {
			return
		}
		if _, err := (WeightedScorer{}).Score(context.Background(), l3, rs); err != nil {
			t.Fatalf("imported results do not score: %v", err)
		}
	})
}
