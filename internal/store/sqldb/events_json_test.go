package sqldb

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// checkFieldsJSON compares the encoder with json.Marshal, the oracle:
// same bytes, or the same failure. Events without fields are stored as
// {}, as Append always did.
func checkFieldsJSON(t *testing.T, enc *fieldsEncoder, m map[string]any) {
	t.Helper()
	oracle := m
	if oracle == nil {
		oracle = map[string]any{}
	}
	want, werr := json.Marshal(oracle)
	got, gerr := enc.encode(m)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%#v: json.Marshal error %v, encoder error %v", m, werr, gerr)
	}
	if werr == nil && string(got) != string(want) {
		t.Fatalf("%#v:\n got %s\nwant %s", m, got, want)
	}
}

func TestFieldsEncoderMatchesEncodingJSON(t *testing.T) {
	var enc fieldsEncoder
	for _, m := range []map[string]any{
		nil,
		{},
		{"message": "Failed password for root from 203.0.113.9 port 22 ssh2", "host.name": "web-01", "source.port": 22},
		{"s": "<script>alert(1)</script> & \"q\" \\ \n\r\t\b\f\x00\x1f\x7f", "u": "caf\xc3\xa9 \xff\xfe \u2028\u2029 日本"},
		{"n": 0.0, "neg": -1.5, "big": 1e21, "small": 1e-7, "tiny": 5e-324, "max": math.MaxFloat64, "int": 42, "i64": int64(-7),
			"f": 123456789.0, "e": 1e20, "frac": 0.000001, "x": 1.0 / 3},
		{"list": []string{"a", "<b>"}, "nil list": []string(nil), "anys": []any{"x", 1.0, true, nil, []any{}, map[string]any{"k": "v"}},
			"obj": map[string]any{"z": 1.0, "a": map[string]any{"deep": []string{}}}, "null": nil, "nilmap": map[string]any(nil)},
		{"number": json.Number("12.5"), "uint": uint(3), "strs": map[string]string{"b": "1", "a": "2"}},
		{"nan": math.NaN()},
		{"inf": []any{math.Inf(1)}},
		{"ch": make(chan int)},
		{"\xff key <&>": "v", "": ""},
	} {
		checkFieldsJSON(t, &enc, m)
	}
}

// FuzzFieldsEncoder feeds arbitrary text as keys and values, plain and
// nested, and numbers made from it.
func FuzzFieldsEncoder(f *testing.F) {
	f.Add("message", "Nov 29 08:00:00 web-01 sshd[1]: Failed password", 22.0)
	f.Add("a\u2028", "<\xff&>\x00", 1e-7)
	f.Add("", "", math.Copysign(0, -1))
	f.Fuzz(func(t *testing.T, k, v string, n float64) {
		var enc fieldsEncoder
		checkFieldsJSON(t, &enc, map[string]any{k: v, "n": n, strings.ToUpper(k) + "x": []any{v, n, map[string]any{v: k}}, "l": []string{k, v}})
	})
}

// TestFieldsEncoderKeySets runs one encoder over objects whose key sets
// repeat, differ in one key at the same size, nest, and outnumber the
// sets it remembers: every result must still be json.Marshal's.
func TestFieldsEncoderKeySets(t *testing.T) {
	var enc fieldsEncoder
	var ms []map[string]any
	for round := range 3 {
		for n := range maxKeySets + 3 {
			// n+3 keys; the key set of each n differs from every other.
			m := map[string]any{"message": fmt.Sprint("line ", round), "host.name": "web-01"}
			for j := range n + 1 {
				m[fmt.Sprintf("k%d.%d", n, j)] = round*100 + j
			}
			ms = append(ms, m)
			// Same size, one key swapped for one sorting elsewhere.
			swapped := map[string]any{"message": "x", "host.name": "y", "a-first": 1}
			for j := range n {
				swapped[fmt.Sprintf("k%d.%d", n, j)] = j
			}
			ms = append(ms, swapped)
			// The same keys one level down.
			ms = append(ms, map[string]any{"nested": m, "also": swapped})
		}
	}
	for _, m := range ms {
		checkFieldsJSON(t, &enc, m)
	}
}

// FuzzFieldsEncoderKeySets encodes, with one encoder, objects of the
// same size whose key sets may or may not be equal.
func FuzzFieldsEncoderKeySets(f *testing.F) {
	f.Add("a", "b", "c")
	f.Add("same", "same", "other")
	f.Add("", "x", "")
	f.Fuzz(func(t *testing.T, k1, k2, k3 string) {
		var enc fieldsEncoder
		for _, m := range []map[string]any{
			{k1: 1, k2: 2}, {k2: "v", k3: "w"}, {k1: 3, k3: 4}, {k1: 5, k2: 6}, {k3: map[string]any{k1: 1, k2: 2}, k1: nil},
		} {
			checkFieldsJSON(t, &enc, m)
		}
	})
}
