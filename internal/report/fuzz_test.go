package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// FuzzDecodeRenderHTML feeds arbitrary bytes through Decode, Validate and
// RenderHTML (and RenderXLSX when small): no panic, every rejection wraps ErrInvalid, every accepted
// document renders, and the output never carries a script element.
func FuzzDecodeRenderHTML(f *testing.F) {
	if data, err := os.ReadFile("testdata/small.json"); err == nil {
		f.Add(data)
	}
	if data, err := json.Marshal(bilingualDoc()); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"title":"t","sections":[{"heading":"h","charts":[{"kind":"pie","labels":["a"],"series":[{"name":"s","values":[0]}]}]}]}`))
	f.Add([]byte(`{"title":"t","sections":[{"heading":"h","charts":[{"kind":"line","labels":["a","b"],"series":[{"name":"s","values":[-1e15,1e15]}]}]}]}`))
	f.Add([]byte(`{"title":"<script>x</script>","lang":"zh-CN","sections":[{"heading":"h","tables":[{"columns":["c"],"rows":[["=1+2"]],"emphasis":["high"]}]}]}`))
	f.Add([]byte(`{"title":"t","sections":[{"heading":"h","sections":[{"heading":"h","sections":[{"heading":"h"}]}]}]}`))
	f.Add([]byte(`{"title": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		d, err := Decode(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := RenderHTML(context.Background(), d, &buf, Options{}); err != nil {
			t.Fatalf("a valid document failed to render: %v", err)
		}
		if strings.Contains(strings.ToLower(buf.String()), "<script") {
			t.Fatal("output contains a script element")
		}
		// The workbook path too, for small inputs (it costs milliseconds).
		if len(data) < 4096 {
			if err := RenderXLSX(context.Background(), d, io.Discard, Options{}); err != nil {
				t.Fatalf("a valid document failed to render as XLSX: %v", err)
			}
		}
	})
}
