package logs

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const spoolChildEnv = "VIGIL_LOGS_SPOOL_CHILD"

// TestMain lets the spool crash test re-execute this binary as a writer.
func TestMain(m *testing.M) {
	if dir := os.Getenv(spoolChildEnv); dir != "" {
		spoolChild(dir)
		return
	}
	os.Exit(m.Run())
}

// spoolChild writes numbered batches forever, printing "acked N" after
// each Write that returned nil, until it is killed.
func spoolChild(dir string) {
	s, err := OpenSpool(dir, SpoolOptions{SegmentSize: 64 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for n := 0; ; n++ {
		if err := s.Write(context.Background(), testBatch(n, 5)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Fprintf(os.Stdout, "acked %d\n", n)
	}
}

func testBatch(n, size int) []Event {
	out := make([]Event, size)
	for i := range out {
		out[i] = Event{ID: newID(), Format: "test", Fields: map[string]any{"batch": strconv.Itoa(n), "i": strconv.Itoa(i)}, Original: strings.Repeat("x", 100)}
	}
	return out
}

// readAllBatches returns the batch numbers in spool order.
func readAllBatches(t *testing.T, s *Spool) []int {
	t.Helper()
	r := s.ReaderAt(Position{Segment: 1})
	defer func() { _ = r.Close() }()
	var out []int
	for {
		evs, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(evs[0].Fields["batch"].(string))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Fields["batch"] != evs[0].Fields["batch"] {
				t.Fatalf("batch %d mixes events of %v", n, e.Fields["batch"])
			}
		}
		out = append(out, n)
	}
}

func TestSpoolSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$") // #nosec G204 -- this test binary
	cmd.Env = append(os.Environ(), spoolChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "acked "))
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		acked = n
		if n == 400 {
			// Kill mid-stream: the child is writing batch 401 now.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	_ = cmd.Wait()
	if acked < 400 {
		t.Fatalf("child stopped after %d acks", acked)
	}
	s, err := OpenSpool(dir, SpoolOptions{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	got := readAllBatches(t, s)
	// Every acknowledged batch present exactly once, in order. Batches the
	// child made durable after its last ack line was read (the pipe lags
	// the kill) may follow; they too must be whole and in sequence.
	if len(got) < acked+1 {
		t.Fatalf("recovered %d batches, acknowledged %d", len(got), acked+1)
	}
	for i, n := range got {
		if n != i {
			t.Fatalf("batch %d at position %d", n, i)
		}
	}
	segs, _ := s.segments()
	if len(segs) < 2 {
		t.Errorf("expected segment rotation, have %d segments", len(segs))
	}
	// The recovered spool takes new writes after the old tail.
	if err := s.Write(context.Background(), testBatch(len(got), 5)); err != nil {
		t.Fatal(err)
	}
	if again := readAllBatches(t, s); len(again) != len(got)+1 || again[len(got)] != len(got) {
		t.Errorf("after recovery and one write: %d batches", len(again))
	}
}

func TestSpoolTruncatesTornTail(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for n := range 3 {
		if err := s.Write(context.Background(), testBatch(n, 2)); err != nil {
			t.Fatal(err)
		}
	}
	end := s.End()
	_ = s.Close()
	// A torn write: a header promising more bytes than follow.
	seg := filepath.Join(dir, fmt.Sprintf("%020d.wal", end.Segment))
	f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, '[', '{'})
	_ = f.Close()
	s, err = OpenSpool(dir, SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if s.End() != end {
		t.Errorf("end after recovery %+v, want %+v", s.End(), end)
	}
	if got := readAllBatches(t, s); len(got) != 3 {
		t.Errorf("batches %v", got)
	}
}

func TestSpoolCommitResumes(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{SegmentSize: 2048})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for n := range 10 {
		if err := s.Write(context.Background(), testBatch(n, 3)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := s.Reader()
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	r2, err := s.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r2.Close() }()
	evs, err := r2.Next()
	if err != nil || evs[0].Fields["batch"] != "6" {
		t.Fatalf("resumed at %v, %v", evs, err)
	}
	c, err := s.Committed()
	if err != nil {
		t.Fatal(err)
	}
	segs, _ := s.segments()
	if c.Segment < 2 || segs[0] != c.Segment {
		t.Errorf("consumed segments kept: first %d, committed %+v", segs[0], c)
	}
}

// TestSpoolEncodingRoundTrip checks the spool's encoder against
// encoding/json on events from every sample file.
func TestSpoolEncodingRoundTrip(t *testing.T) {
	auto, _ := NewRegistry().Lookup("auto")
	var evs []Event
	samples, _ := filepath.Glob("testdata/samples/*.log")
	for _, path := range samples {
		for _, line := range readLines(t, path) {
			ev, err := auto.Parse(line, Meta{Tenant: "t", Source: "s\x01\"x\"", Received: testReceived})
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
	}
	evs[0].Truncated = true
	evs[0].Fields["odd"] = "tab\tquote\" bad\xff utf8 ünïcode"
	b, err := appendEventsJSON(nil, evs)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if err := json.Unmarshal(ref, &want); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("spool encoding differs from encoding/json (-want +got):\n%s", d)
	}
}

func TestSpoolRecoversTornEarlierSegment(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{SegmentSize: 1500})
	if err != nil {
		t.Fatal(err)
	}
	for n := range 6 {
		if err := s.Write(context.Background(), testBatch(n, 2)); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	segs, _ := s.segments()
	if len(segs) < 2 {
		t.Fatalf("want several segments, have %v", segs)
	}
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%020d.wal", segs[0])), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte{9, 9, 0, 0, 1})
	_ = f.Close()
	s, err = OpenSpool(dir, SpoolOptions{SegmentSize: 1500, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if got := readAllBatches(t, s); len(got) != 6 {
		t.Errorf("batches after recovery %v", got)
	}
}
