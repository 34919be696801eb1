package logs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files from the parsers' output")

// testReceived is the receive time used by tests, so year inference and
// default times are reproducible.
var testReceived = time.Date(2024, 3, 2, 12, 0, 0, 0, time.UTC)

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// goldenView is the deterministic part of an event.
type goldenView struct {
	Format    string         `json:"format"`
	Time      time.Time      `json:"@timestamp"`
	LogSource LogSource      `json:"logsource,omitzero"`
	Fields    map[string]any `json:"fields"`
	Truncated bool           `json:"truncated,omitempty"`
}

func TestParsersGolden(t *testing.T) {
	reg := NewRegistry()
	samples, err := filepath.Glob("testdata/samples/*.log")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, path := range samples {
		name := strings.TrimSuffix(filepath.Base(path), ".log")
		t.Run(name, func(t *testing.T) {
			p, err := reg.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			for i, line := range readLines(t, path) {
				ev, err := p.Parse(line, Meta{Source: path, Received: testReceived})
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if ev.ID == "" || ev.Original != string(line) {
					t.Errorf("line %d: id %q, original %q", i+1, ev.ID, ev.Original)
				}
				b, err := json.Marshal(goldenView{ev.Format, ev.Time, ev.LogSource, ev.Fields, ev.Truncated})
				if err != nil {
					t.Fatal(err)
				}
				got.Write(b)
				got.WriteByte('\n')
			}
			golden := filepath.Join("testdata", "golden", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o750); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got.String(), "\n")); d != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", golden, d)
			}
		})
	}
}

func TestParsersRejectMalformed(t *testing.T) {
	reg := NewRegistry()
	bad, _ := filepath.Glob("testdata/samples/*.bad")
	for _, path := range bad {
		name := strings.TrimSuffix(filepath.Base(path), ".bad")
		p, err := reg.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range readLines(t, path) {
			if ev, err := p.Parse(line, Meta{Received: testReceived}); err == nil {
				t.Errorf("%s line %d: accepted %q as %+v", path, i+1, line, ev.Fields)
			} else if !strings.HasPrefix(err.Error(), name+":") {
				t.Errorf("%s line %d: error %q does not name the format", path, i+1, err)
			}
		}
	}
}

func TestAutoDetectsSamples(t *testing.T) {
	auto, _ := NewRegistry().Lookup("auto")
	samples, _ := filepath.Glob("testdata/samples/*.log")
	for _, path := range samples {
		name := strings.TrimSuffix(filepath.Base(path), ".log")
		for i, line := range readLines(t, path) {
			ev, err := auto.Parse(line, Meta{Received: testReceived})
			if err != nil {
				t.Errorf("%s line %d: auto: %v", path, i+1, err)
				continue
			}
			base, _, _ := strings.Cut(ev.Format, "+")
			// Syslog samples may be claimed by the payload's parser
			// (auth, netfilter) or carry it as a suffix (+cef).
			if base != name && !strings.HasPrefix(name, "rfc") {
				t.Errorf("%s line %d: auto chose %q, want %q", path, i+1, ev.Format, name)
			}
		}
	}
}

func TestSpecificMappings(t *testing.T) {
	reg := NewRegistry()
	parse := func(format, line string) Event {
		t.Helper()
		p, err := reg.Lookup(format)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := p.Parse([]byte(line), Meta{Received: testReceived})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		return ev
	}
	// RFC 3164 year inference: a December record read in early January
	// belongs to the previous year.
	ev := parse("rfc3164", "Dec 31 23:59:58 h app: x")
	ev2, _ := rfc3164Parser{}.Parse([]byte("Dec 31 23:59:58 h app: x"), Meta{Received: time.Date(2025, 1, 1, 0, 0, 5, 0, time.UTC)})
	if ev.Time.Year() != 2023 || ev2.Time.Year() != 2024 {
		t.Errorf("year inference: %v, %v", ev.Time, ev2.Time)
	}
	// EXECVE arguments given in hex are decoded.
	ev = parse("auditd", `type=EXECVE msg=audit(1709374501.123:812): argc=2 a0="ls" a1=2D6C61`)
	if got := ev.Fields["process.command_line"]; got != "ls -la" {
		t.Errorf("EXECVE command line %q", got)
	}
	// LEEF 2.0 with a custom delimiter.
	ev = parse("leef", "LEEF:2.0|V|P|1|e|^|src=192.0.2.1^usrName=x y")
	if ev.Fields["source.ip"] != "192.0.2.1" || ev.Fields["user.name"] != "x y" {
		t.Errorf("LEEF 2.0: %v", ev.Fields)
	}
	// CEF escapes in header and extension.
	ev = parse("cef", `CEF:0|V\|x|P|1|s|n|5|msg=a\=b c\\d cs1=v`)
	if ev.Fields["observer.vendor"] != "V|x" || ev.Fields["message"] != `a=b c\d` {
		t.Errorf("CEF escapes: %v", ev.Fields)
	}
}

func TestTruncatedRecordKept(t *testing.T) {
	p, _ := NewRegistry().Lookup("json")
	big := []byte(`{"message":"` + strings.Repeat("x", MaxRecordSize) + `"}`)
	ev, err := ParseRecord(p, big, Meta{Received: testReceived}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Truncated || len(ev.Original) != MaxRecordSize || ev.Format != "raw" {
		t.Errorf("truncated=%v len=%d format=%s", ev.Truncated, len(ev.Original), ev.Format)
	}
	kv, _ := NewRegistry().Lookup("kv")
	long := []byte("a=1 b=2 c=" + strings.Repeat("y", MaxRecordSize))
	ev, err = ParseRecord(kv, long, Meta{}, false)
	if err != nil || !ev.Truncated || ev.Format != "kv" || ev.Fields["a"] != "1" {
		t.Errorf("kv truncated: %v %+v", err, ev.Fields["a"])
	}
}
