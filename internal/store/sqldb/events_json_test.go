package sqldb

import (
	"encoding/json"
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
