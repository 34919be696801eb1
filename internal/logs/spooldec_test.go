package logs

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkDecode compares the spool's decoder with json.Unmarshal, the
// oracle: when the fast path accepts a record, encoding/json must accept
// it too and give the same events; decodeEvents as a whole must always
// agree with it.
func checkDecode(t *testing.T, data []byte) (fast bool) {
	t.Helper()
	var want []Event
	werr := json.Unmarshal(data, &want)
	d := spoolDecoder{data: data}
	got, ok := d.events()
	if ok {
		if werr != nil {
			t.Fatalf("fast path accepted %q, encoding/json refused it: %v", data, werr)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("fast path on %q (-encoding/json +fast):\n%s", data, cmp.Diff(want, got))
		}
	}
	all, err := decodeEvents(data)
	if (err != nil) != (werr != nil) {
		t.Fatalf("%q: decodeEvents error %v, encoding/json error %v", data, err, werr)
	}
	if werr == nil && !reflect.DeepEqual(want, all) {
		t.Fatalf("decodeEvents on %q (-encoding/json +got):\n%s", data, cmp.Diff(want, all))
	}
	return ok
}

// sampleEvents parses every sample line of every parser.
func sampleEvents(t testing.TB) []Event {
	t.Helper()
	reg := NewRegistry()
	auto, err := reg.Lookup("auto")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "samples", "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	var evs []Event
	for _, f := range files {
		b, err := os.ReadFile(f) // #nosec G304 -- test samples
		if err != nil {
			t.Fatal(err)
		}
		p, err := reg.Lookup(strings.TrimSuffix(filepath.Base(f), ".log"))
		if err != nil {
			p = auto
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if ev, err := ParseRecord(p, line, Meta{Source: "192.0.2.1:514", Tenant: "t1", Received: testReceived}, false); err == nil {
				evs = append(evs, ev)
			}
		}
	}
	return evs
}

func TestDecodeEventsMatchesEncodingJSON(t *testing.T) {
	evs := sampleEvents(t)
	rec, err := appendEventsJSON(nil, evs)
	if err != nil {
		t.Fatal(err)
	}
	// Records as the spool writes them take the fast path.
	if !checkDecode(t, rec) {
		t.Fatalf("fast path refused a record of %d parsed sample events", len(evs))
	}
	for i := range evs {
		one, err := appendEventsJSON(nil, evs[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		if !checkDecode(t, one) {
			t.Errorf("fast path refused %s", one)
		}
	}
	for _, s := range []string{
		`[]`, ` [ ] `, `null`, ``, `[`, `[{}]`, `[{},{}]`, `[{}] x`, "[{}]\x00", `[{"id":"a","id":"b"}]`,
		`[{"ID":"a"}]`, `[{"id":null}]`, `[{"fields":null}]`, `[{"fields":{"a":1,"a":2}}]`, `[{"extra":1}]`,
		`[{"@timestamp":"2026-11-29T08:00:00.123456789+01:00","received":"2026-11-29T07:00:00Z"}]`,
		`[{"@timestamp":"2026-13-29T08:00:00Z"}]`, `[{"@timestamp":"2026-11-29T08:00:00\u005a"}]`,
		`[{"logsource":{"product":"linux","service":"sshd"}}]`, `[{"logsource":{"x":"y"}}]`, `[{"logsource":null}]`,
		`[{"truncated":true}]`, `[{"truncated":"yes"}]`, `[{"truncated":null}]`,
		`[{"fields":{"n":[0,-0,1.5e-7,1E+3,-12.25e2,123456789012345678901234567890,1e400,01,1.,-,2e]}}]`,
		`[{"fields":{"n":1e400}}]`, `[{"fields":{"n":01}}]`, `[{"fields":{"n":-0.0}}]`,
		`[{"fields":{"s":"\"\\\/\b\f\n\r\t\u0000\u00e9\u2028 \ud83d\ude00 \ud83d x \ude00 \ud83d\u0041 \ud83dx"}}]`, `[{"fields":{"s":"\uZZZZ"}}]`, `[{"fields":{"s":"\ud83d\uZZZZ"}}]`,
		`[{"fields":{"s":"\ud83d\ude00"}}]`, `[{"fields":{"s":"\ud83d"}}]`, `[{"fields":{"s":"\ud83d\u0041"}}]`,
		"[{\"fields\":{\"s\":\"caf\xc3\xa9 \xff\xfe\"}}]", "[{\"fields\":{\"s\":\"tab\there\"}}]",
		"[{\"fields\":{\"\xff\":\"k\"}}]", `[{"fields":{"\u0041":"k"}}]`, `[{"original":"a\"b"}]`,
		`[{"fields":{"l":[],"m":{},"x":[true,false,null,{"a":[1,{"b":"c"}]}],"t":tru}}]`,
		`[{"fields":{"t":true,"f":false,"z":null}}]`, `[{"fields":{"a":1,}}]`, `[{"fields":{,}}]`, `[{},]`,
		"[{\"fields\":{\"a\":" + strings.Repeat("[", 1100) + strings.Repeat("]", 1100) + "}}]",
	} {
		checkDecode(t, []byte(s))
	}
}

// FuzzDecodeEvents checks the spool decoder against encoding/json on
// arbitrary records; the seeds in testdata/fuzz/FuzzDecodeEvents are
// records the spool writes.
func FuzzDecodeEvents(f *testing.F) {
	evs := sampleEvents(f)
	for i := 0; i < len(evs); i += 7 {
		rec, err := appendEventsJSON(nil, evs[i:min(i+2, len(evs))])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec)
	}
	f.Add([]byte(`[{"fields":{"s":"\ud83d\u0041","n":[1e400]}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
	})
}

// BenchmarkDecodeEvents compares the spool's decoder with encoding/json
// on records of parsed sample events.
func BenchmarkDecodeEvents(b *testing.B) {
	evs := sampleEvents(b)
	rec, err := appendEventsJSON(nil, evs)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("spool", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			if _, err := decodeEvents(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			var out []Event
			if err := json.Unmarshal(rec, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
