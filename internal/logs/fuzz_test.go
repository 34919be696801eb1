package logs

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// fuzzParser seeds f with the parser's samples and malformed lines and
// checks that Parse never panics and that what it accepts is a complete
// event with a bounded original.
func fuzzParser(f *testing.F, name string, extra ...string) {
	for _, ext := range []string{".log", ".bad"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "samples", name+ext)); err == nil {
			for _, line := range bytes.Split(b, []byte("\n")) {
				f.Add(line)
			}
		}
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
	p, err := NewRegistry().Lookup(name)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := ParseRecord(p, line, Meta{Received: testReceived}, false)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if ev.ID == "" || ev.Fields == nil || len(ev.Original) > MaxRecordSize {
			t.Fatalf("incomplete event %+v", ev)
		}
		_ = ev.DetectFields()
	})
}

func FuzzRFC5424(f *testing.F) { fuzzParser(f, "rfc5424", "<1>1 - - - - - -", "<1>1 - - - - - [a") }
func FuzzRFC3164(f *testing.F) {
	fuzzParser(f, "rfc3164", "<0>Jan  1 00:00:00 h t[: m", `<190>Nov 29 09:00:00 web nginx: 1.2.3.4 - - [29/Nov/2026:09:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"`)
}
func FuzzJSON(f *testing.F) {
	fuzzParser(f, "json", `{"a":{"b":{"c":[1,{"d":null}]}}}`, `{"ts":1e300}`)
}
func FuzzCEF(f *testing.F) { fuzzParser(f, "cef", `CEF:0|a|b|c|d|e|f|=x \=y k=`, "CEF:|||||||") }
func FuzzLEEF(f *testing.F) {
	fuzzParser(f, "leef", "LEEF:2.0|a|b|c|d|0x|k=v", "LEEF:2.0|a|b|c|d|xff|k=v")
}
func FuzzKV(f *testing.F) { fuzzParser(f, "kv", `a="\`, `a='' b=""`) }
func FuzzAccess(f *testing.F) {
	fuzzParser(f, "access", `h i u [x] "" 1`, `h i [01/Jan/2000:00:00:00 +0000] "\" 200`)
}
func FuzzAuth(f *testing.F) { fuzzParser(f, "auth", "Jan  1 00:00:00 h sshd[1]: Failed  for  from ") }
func FuzzAuditd(f *testing.F) {
	fuzzParser(f, "auditd", "type=EXECVE msg=audit(1:1): argc=99999999 a0=0", "type= msg=audit(")
}
func FuzzNetfilter(f *testing.F) { fuzzParser(f, "netfilter", "IN= SRC=::1 SPT=99999", "[] IN=") }
func FuzzAuto(f *testing.F)      { fuzzParser(f, "auto", "{", "<", "CEF:", "LEEF:", "type=") }

func FuzzSuricata(f *testing.F) {
	if fh, err := os.Open(filepath.Join(corpusDir, "traffic/slips/test6-malicious.suricata.json")); err == nil {
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for i := 0; i < 20 && sc.Scan(); i++ {
			f.Add(append([]byte(nil), sc.Bytes()...))
		}
		_ = fh.Close()
	}
	fuzzParser(f, "suricata", `{"event_type":"dns","dns":{"queries":[{"rrname":1}]}}`)
}

func FuzzWindows(f *testing.F) {
	fuzzParser(f, "windows",
		`{"Event":{"System":{"EventID":1,"Channel":"Security","TimeCreated":{"#attributes":{"SystemTime":"x"}}},"EventData":{"Data":[{"#attributes":{"Name":"Image"},"#text":"C:\\a.exe"}]}}}`,
		`{"Event":{"System":{"#attributes":1},"UserData":{"a":{"b":"c"}}}}`)
}

// FuzzStreamFraming feeds arbitrary bytes to the TCP framing reader.
func FuzzStreamFraming(f *testing.F) {
	f.Add([]byte("5 hello3 abc"))
	f.Add([]byte("line one\nline two\r\n"))
	f.Add([]byte("999999999 x"))
	f.Add([]byte("12"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sink := &MemorySink{}
		o := Options{Sink: sink, Parser: kvParser{}, Logger: quietLogger()}
		o.defaults()
		b := newBatcher(&o, "fuzz", "")
		w := newStreamWriter(context.Background(), sink, o.BatchSize, func() {})
		_ = readStream(context.Background(), bufio.NewReaderSize(bytes.NewReader(data), MaxRecordSize+16), b, w)
		if err := w.close(b); err != nil {
			t.Fatal(err)
		}
		if sink.Len()+int(o.Counters.DeadLettered.Load()) > len(data) {
			t.Fatalf("more records than bytes")
		}
	})
}

// FuzzSpoolRecovery opens a spool whose segment holds arbitrary bytes:
// recovery must not fail or panic, and what it keeps must read back.
func FuzzSpoolRecovery(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0, '[', ']'})
	f.Add([]byte{255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "00000000000000000001.wal"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenSpool(dir, SpoolOptions{Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		r := s.ReaderAt(Position{Segment: 1})
		defer func() { _ = r.Close() }()
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	})
}
