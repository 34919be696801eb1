package agent

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// testdata/journal/journalctl-252.json is what `journalctl --file=F -o
// json` (systemd 252) printed for a journal file that
// systemd-journal-remote (252) wrote from testdata/journal/entries.export:
// six entries in the journal export format, written for this test
// (documentation addresses, a made-up host, boot and machine id); the
// fourth has a binary MESSAGE with the bytes 0xff 0xfe. Cursors, field
// order and the byte-array form of the binary message are journalctl's.
const (
	journalRealSample = "testdata/journal/journalctl-252.json"
	journalExport     = "testdata/journal/entries.export"
)

// The expectations below are read off entries.export by hand: times
// start at 1764403200000000 µs (2025-11-29T08:00:00Z) and step 1.5 s.
var realJournalWant = []struct {
	msg, process, unit string
	pid                int
	level              string
}{
	{"Accepted publickey for deploy from 192.0.2.10 port 52814 ssh2: ED25519 SHA256:AAAAexampleexampleexampleexampleexampleexam", "sshd", "ssh.service", 2231, "informational"},
	{"Failed password for invalid user admin from 198.51.100.23 port 40022 ssh2", "sshd", "ssh.service", 2240, "informational"},
	{"deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx", "sudo", "", 2302, "notice"},
	// The run of invalid bytes 0xff 0xfe becomes one U+FFFD.
	{"upstream sent invalid header \uFFFD while reading response", "nginx", "nginx.service", 1187, "error"},
	{"Started nginx.service - A high performance web server and a reverse proxy server.", "systemd", "init.scope", 1, "informational"},
	{"[UFW BLOCK] IN=eth0 OUT= MAC= SRC=203.0.113.5 DST=192.0.2.20 LEN=60 PROTO=TCP SPT=51515 DPT=23 SYN", "kernel", "", -1, "warning"},
}

func TestRealJournalctlSample(t *testing.T) {
	b, err := os.ReadFile(journalRealSample)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) != len(realJournalWant) {
		t.Fatalf("%d entries, want %d", len(lines), len(realJournalWant))
	}
	start := time.Date(2025, 11, 29, 8, 0, 0, 0, time.UTC)
	ids := map[string]bool{}
	for i, line := range lines {
		e, err := ParseJournalEntry(line)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		w := realJournalWant[i]
		ev := e.Event(time.Now())
		f := ev.Fields
		if want := start.Add(time.Duration(i) * 1500 * time.Millisecond); !ev.Time.Equal(want) {
			t.Errorf("entry %d: time %v, want %v", i, ev.Time, want)
		}
		if f["message"] != w.msg || f["process.name"] != w.process || f["host.name"] != "web-01" || f["log.level"] != w.level {
			t.Errorf("entry %d: %v", i, f)
		}
		if u, _ := f["systemd.unit"].(string); u != w.unit {
			t.Errorf("entry %d: unit %q, want %q", i, u, w.unit)
		}
		if pid, ok := f["process.pid"].(int); (w.pid < 0 && ok) || (w.pid >= 0 && pid != w.pid) {
			t.Errorf("entry %d: pid %v, want %d", i, f["process.pid"], w.pid)
		}
		if f["journald.boot_id"] != "3c1f0e9a7b2d4c6e8f1a2b3c4d5e6f70" || !strings.Contains(e.Cursor, ";i="+string(rune('1'+i))+";") {
			t.Errorf("entry %d: boot %v cursor %q", i, f["journald.boot_id"], e.Cursor)
		}
		if ids[ev.ID] {
			t.Errorf("entry %d: ID %s repeated", i, ev.ID)
		}
		ids[ev.ID] = true
	}
}

// TestRealJournalctlFollow runs the reader with the real journalctl on a
// journal file systemd-journal-remote writes from entries.export, from
// the cursor of the first entry: the other five arrive, in order, and the
// cursor of the last is saved. It needs both programs (Debian: systemd,
// systemd-journal-remote) and is skipped without them.
func TestRealJournalctlFollow(t *testing.T) {
	jctl, err := exec.LookPath("journalctl")
	if err != nil {
		testenv.Missing(t, "journalctl")
	}
	remote := ""
	for _, p := range []string{"/usr/lib/systemd/systemd-journal-remote", "/lib/systemd/systemd-journal-remote"} {
		if _, err := os.Stat(p); err == nil {
			remote = p
			break
		}
	}
	if remote == "" {
		testenv.Missing(t, "systemd-journal-remote")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "sample.journal")
	in, err := os.Open(journalExport)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	cmd := exec.Command(remote, "--output="+file, "-") // #nosec G204 -- a fixed system program
	cmd.Stdin = in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote: %v: %s", err, out)
	}
	b, err := os.ReadFile(journalRealSample)
	if err != nil {
		t.Fatal(err)
	}
	first, err := ParseJournalEntry(bytes.SplitN(b, []byte("\n"), 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	cursorPath := filepath.Join(dir, "journal.cursor")
	// The file's cursors differ from the sample's (a new file gets a new
	// seqnum id), so the first entry's cursor is the file's own.
	out, err := exec.Command(jctl, "--file="+file, "-o", "json", "-n", "6", "--no-pager").Output() // #nosec G204 -- fixed arguments
	if err != nil {
		t.Fatalf("journalctl: %v", err)
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	e0, err := ParseJournalEntry(lines[0])
	if err != nil || e0.Fields["MESSAGE"] != first.Fields["MESSAGE"] {
		t.Fatalf("first entry of the new file: %v %v", e0.Fields["MESSAGE"], err)
	}
	if err := os.WriteFile(cursorPath, []byte(e0.Cursor+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sink := &collectSink{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- RunJournal(ctx, JournalOptions{Command: []string{jctl, "--file=" + file}, CursorPath: cursorPath, Sink: sink,
			FlushInterval: 10 * time.Millisecond})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for len(sink.events()) < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	evs := sink.events()
	if len(evs) != 5 {
		t.Fatalf("%d events, want 5", len(evs))
	}
	for i, ev := range evs {
		if ev.Fields["message"] != realJournalWant[i+1].msg {
			t.Errorf("event %d: %q", i, ev.Fields["message"])
		}
	}
	last, err := ParseJournalEntry(lines[5])
	if err != nil {
		t.Fatal(err)
	}
	if got := ReadCursor(cursorPath); got != last.Cursor {
		t.Errorf("saved cursor %q, want the last entry's %q", got, last.Cursor)
	}
}
