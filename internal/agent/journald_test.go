package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/logs"
)

// testdata/journal/sample.json holds six entries in the form `journalctl
// -o json` prints (systemd 252): one JSON object per line, every value a
// string, binary values (MESSAGE of entry 4, with a 0xff byte) as arrays of
// byte values, a field present twice as an array of strings, and a null.
const journalSample = "testdata/journal/sample.json"

// fakeJournalEnv makes the test binary act as journalctl: it prints the
// recorded entries of the named file that come after --after-cursor (all
// with --lines=0 absent), then waits like --follow until it is killed.
const (
	fakeJournalEnv     = "VIGIL_FAKE_JOURNALCTL"
	fakeJournalArgsEnv = "VIGIL_FAKE_JOURNALCTL_ARGS"
)

// TestFakeJournalctl is not a test: it is the fake journalctl the
// journal tests start (it does nothing unless fakeJournalEnv is set).
func TestFakeJournalctl(t *testing.T) {
	file := os.Getenv(fakeJournalEnv)
	if file == "" {
		return
	}
	var args []string
	for i, a := range os.Args {
		if a == "--" {
			args = os.Args[i+1:]
		}
	}
	if p := os.Getenv(fakeJournalArgsEnv); p != "" {
		_ = os.WriteFile(p, []byte(strings.Join(args, "\n")), 0o600)
	}
	after := ""
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--after-cursor="); ok {
			after = v
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		os.Exit(2)
	}
	printing := after == ""
	w := bufio.NewWriter(os.Stdout)
	for line := range bytes.Lines(b) {
		if printing {
			_, _ = w.Write(line)
		} else if bytes.Contains(line, []byte(`"__CURSOR":"`+after+`"`)) {
			printing = true
		}
	}
	_ = w.Flush()
	time.Sleep(time.Minute) // --follow
	os.Exit(0)
}

// collectSink keeps what it is given.
type collectSink struct {
	mu  sync.Mutex
	evs []logs.Event
}

func (c *collectSink) Write(_ context.Context, evs []logs.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evs = append(c.evs, evs...)
	return nil
}

func (c *collectSink) events() []logs.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logs.Event(nil), c.evs...)
}

func fakeJournal(t *testing.T, sample string) ([]string, string) {
	t.Helper()
	abs, err := filepath.Abs(sample)
	if err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(t.TempDir(), "args")
	t.Setenv(fakeJournalEnv, abs)
	t.Setenv(fakeJournalArgsEnv, argsFile)
	return []string{os.Args[0], "-test.run=^TestFakeJournalctl$", "--"}, argsFile
}

// TestJournalReader follows the recorded journal through the fake
// journalctl: every entry becomes one event with the fields mapped, the
// cursor of the last entry is saved, and a second run starts after it and
// reads only what the journal gained since.
func TestJournalReader(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "journal.json")
	sample, err := os.ReadFile(journalSample)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(sample, []byte("\n"))
	// The first run sees the first four entries.
	if err := os.WriteFile(journal, bytes.Join(lines[:4], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, argsFile := fakeJournal(t, journal)
	sink := &collectSink{}
	cursorPath := filepath.Join(dir, "journal.cursor")
	run := func(want int) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- RunJournal(ctx, JournalOptions{Command: cmd, Units: []string{"ssh.service", "nginx.service"},
				CursorPath: cursorPath, Sink: sink, FlushInterval: 10 * time.Millisecond, Logger: testLogger(t)})
		}()
		waitFor(t, "journal entries", func() bool { return len(sink.events()) >= want })
		waitFor(t, "the cursor", func() bool { return strings.Contains(ReadCursor(cursorPath), ";i=4ece"+string(rune('0'+want-1))+";") })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	run(4)
	args, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(args); got != "--output=json\n--follow\n--no-pager\n--quiet\n--lines=0\n--unit=ssh.service\n--unit=nginx.service" {
		t.Errorf("first journalctl arguments:\n%s", got)
	}

	evs := sink.events()
	if len(evs) != 4 {
		t.Fatalf("%d events, want 4", len(evs))
	}
	failed := evs[1]
	if failed.Time != time.Date(2025, 11, 29, 2, 0, 1, 500_000_000, time.UTC) || failed.Format != "journald" ||
		failed.Fields["message"] != "Failed password for root from 203.0.113.7 port 52214 ssh2" ||
		failed.Fields["process.name"] != "sshd" || failed.Fields["process.pid"] != 8123 || failed.Fields["host.name"] != "web-01" ||
		failed.Fields["systemd.unit"] != "ssh.service" || failed.Fields["log.level"] != "informational" ||
		failed.Original != "sshd: Failed password for root from 203.0.113.7 port 52214 ssh2" {
		t.Errorf("sshd entry: %+v", failed)
	}
	if got := evs[3].Fields["message"]; got != "nginx: bad request from \uFFFD client" {
		t.Errorf("binary MESSAGE decoded as %q", got)
	}
	if evs[3].Fields["log.level"] != "error" {
		t.Errorf("PRIORITY 3 is %v", evs[3].Fields["log.level"])
	}
	if _, ok := evs[0].Fields["process.pid"]; !ok {
		t.Error("systemd entry lost its pid")
	}

	// The journal grows by two entries; the next run starts after the
	// saved cursor.
	if err := os.WriteFile(journal, sample, 0o600); err != nil {
		t.Fatal(err)
	}
	run(6)
	args, _ = os.ReadFile(argsFile)
	if !strings.Contains(string(args), "--after-cursor=s=739ad463348b4ceca5a9e69c95a3c93f;i=4ece3;") || strings.Contains(string(args), "--lines=0") {
		t.Errorf("second journalctl arguments:\n%s", args)
	}
	evs = sink.events()
	if len(evs) != 6 {
		t.Fatalf("%d events after the second run, want 6", len(evs))
	}
	ids := map[string]bool{}
	for _, ev := range evs {
		ids[ev.ID] = true
	}
	if len(ids) != 6 {
		t.Errorf("%d distinct event IDs for 6 entries", len(ids))
	}
	if evs[4].Fields["process.name"] != "kernel" || evs[4].Fields["log.level"] != "warning" {
		t.Errorf("kernel entry: %+v", evs[4].Fields)
	}
}

// TestJournalAbsent: without journalctl the reader says so at once.
func TestJournalAbsent(t *testing.T) {
	err := RunJournal(t.Context(), JournalOptions{Command: []string{filepath.Join(t.TempDir(), "journalctl")},
		CursorPath: filepath.Join(t.TempDir(), "c"), Sink: &collectSink{}})
	if !errors.Is(err, ErrNoJournalctl) {
		t.Fatalf("err = %v, want ErrNoJournalctl", err)
	}
}

func TestParseJournalEntryErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"not json", `MESSAGE=hello`, "journal entry"},
		{"no cursor", `{"MESSAGE":"x"}`, "__CURSOR"},
		{"number", `{"__CURSOR":"c","PRIORITY":6}`, "JSON type"},
		{"object", `{"__CURSOR":"c","X":{}}`, "JSON type"},
		{"bad byte", `{"__CURSOR":"c","MESSAGE":[300]}`, "byte value"},
		{"bad time", `{"__CURSOR":"c","__REALTIME_TIMESTAMP":"soon"}`, "__REALTIME_TIMESTAMP"},
		{"cursor control", `{"__CURSOR":"a\nb"}`, "__CURSOR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJournalEntry([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one about %s", err, tc.want)
			}
		})
	}
}

// FuzzParseJournalEntry: no input panics, and an entry that parses has a
// clean cursor and yields an event with the cursor's ID every time.
func FuzzParseJournalEntry(f *testing.F) {
	b, err := os.ReadFile(journalSample)
	if err != nil {
		f.Fatal(err)
	}
	for line := range bytes.Lines(b) {
		f.Add(bytes.TrimSpace(line))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := ParseJournalEntry(in)
		if err != nil {
			return
		}
		if e.Cursor == "" || strings.ContainsFunc(e.Cursor, isControl) {
			t.Fatalf("cursor %q", e.Cursor)
		}
		a, b := e.Event(time.Unix(0, 0).UTC()), e.Event(time.Unix(3600, 0).UTC())
		if a.ID != b.ID {
			t.Fatal("event ID depends on when the entry was read")
		}
	})
}
