package agent

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testAgentID = "0b0e6f8e-3d4a-4c1e-9a55-3f2b8c1d2e3f"

// testPolicy is a policy file whose checks testdata/root decides.
const testPolicy = "testdata/policies/essentials.yml"

func collectTestBundle(t testing.TB) ([]byte, *Manifest) {
	t.Helper()
	dir := t.TempDir()
	small := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(small, []byte("line one\nline two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.log")
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(lineOf(i) + "\n")
	}
	if err := os.WriteFile(big, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	m, err := CollectOffline(context.Background(), &out, CollectOfflineOptions{
		FS: fakeRoot(t), AgentID: testAgentID, Logs: []string{small, big, filepath.Join(dir, "missing.log")},
		MaxLogBytes: 4096, Policies: []string{testPolicy},
		Now: func() time.Time { return time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), m
}

func TestBundleRoundTrip(t *testing.T) {
	data, m := collectTestBundle(t)
	b, err := ReadBundle(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b.Inventory == nil || b.Inventory.Host.Hostname != "web01" || len(b.Baselines) != 1 || b.Baselines[0].Policy.ID != "vigil_linux_essentials" {
		t.Fatalf("bundle: inventory %v, baselines %d", b.Inventory != nil, len(b.Baselines))
	}
	if len(b.Manifest.Files) != 4 || len(m.Files) != 4 {
		t.Fatalf("manifest files %+v", b.Manifest.Files)
	}
	// Each manifest digest is the SHA-256 of the file as read back.
	for _, f := range b.Manifest.Files {
		sum := sha256.Sum256(b.Files[f.Path])
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s: digest", f.Path)
		}
	}
	small := b.Files["logs/001-auth.log"]
	if string(small) != "line one\nline two\n" {
		t.Errorf("small log %q", small)
	}
	big := b.Files["logs/002-big.log"]
	if len(big) > 4096 || !strings.HasSuffix(string(big), lineOf(999)+"\n") || !b.Manifest.Files[2].Truncated {
		t.Errorf("big log: %d bytes, ends %q", len(big), big[max(0, len(big)-80):])
	}
	// The tail starts at a line boundary.
	first, _, _ := strings.Cut(string(big), "\n")
	found := false
	for i := range 1000 {
		found = found || first == lineOf(i)
	}
	if !found {
		t.Errorf("tail starts mid-line: %q", first)
	}
	var missing bool
	for _, e := range b.Inventory.Errors {
		missing = missing || e.Section == "logs" && strings.Contains(e.Error, "missing.log")
	}
	if !missing {
		t.Errorf("the unreadable log is not noted: %+v", b.Inventory.Errors)
	}
}

type entry struct {
	hdr  tar.Header
	data []byte
}

func rawBundle(t testing.TB, entries []entry) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = int64(len(e.data))
		}
		h.Mode = 0o600
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = tw.Close()
	_ = zw.Close()
	return out.Bytes()
}

func manifestFor(t testing.TB, files map[string][]byte) []byte {
	m := Manifest{Schema: BundleSchema, AgentID: testAgentID, Hostname: "h", Created: time.Unix(0, 0).UTC()}
	for p, d := range files {
		sum := sha256.Sum256(d)
		m.Files = append(m.Files, ManifestFile{Path: p, Size: int64(len(d)), SHA256: hex.EncodeToString(sum[:]), Kind: "log"})
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadBundleRefuses(t *testing.T) {
	log := []byte("hello\n")
	man := manifestFor(t, map[string][]byte{"logs/a.log": log})
	hdr := func(name string) tar.Header { return tar.Header{Name: name} }
	for _, tc := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"traversal", []entry{{hdr(manifestName), manifestFor(t, map[string][]byte{"../etc/cron.d/x": log})}, {hdr("../etc/cron.d/x"), log}}, "not a clean relative path"},
		{"absolute", []entry{{hdr(manifestName), man}, {hdr("/etc/passwd"), log}}, "not a clean relative path"},
		{"symlink", []entry{{hdr(manifestName), man}, {tar.Header{Name: "logs/a.log", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}, nil}}, "not a regular file"},
		{"hard link", []entry{{hdr(manifestName), man}, {tar.Header{Name: "logs/a.log", Typeflag: tar.TypeLink, Linkname: manifestName}, nil}}, "not a regular file"},
		{"directory", []entry{{hdr(manifestName), man}, {tar.Header{Name: "logs", Typeflag: tar.TypeDir}, nil}}, "not a regular file"},
		{"manifest not first", []entry{{hdr("logs/a.log"), log}, {hdr(manifestName), man}}, "first entry"},
		{"hash mismatch", []entry{{hdr(manifestName), man}, {hdr("logs/a.log"), []byte("hellO\n")}}, "SHA-256 does not match"},
		{"size mismatch", []entry{{hdr(manifestName), man}, {hdr("logs/a.log"), []byte("hello!\n")}}, "size 7, manifest says 6"},
		{"unlisted", []entry{{hdr(manifestName), man}, {hdr("logs/a.log"), log}, {hdr("logs/b.log"), log}}, "not in the manifest"},
		{"repeated", []entry{{hdr(manifestName), man}, {hdr("logs/a.log"), log}, {hdr("logs/a.log"), log}}, "not in the manifest, or repeated"},
		{"missing", []entry{{hdr(manifestName), man}}, "not in the archive: logs/a.log"},
		{"backslash", []entry{{hdr(manifestName), manifestFor(t, map[string][]byte{`logs\..\x`: log})}}, "backslash"},
		{"bad manifest", []entry{{hdr(manifestName), []byte(`{"schema":"other"}`)}}, "manifest schema"},
		{"empty", nil, "no manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadBundle(bytes.NewReader(rawBundle(t, tc.entries)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// An entry header larger than the limit is refused before reading it.
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	_ = tw.WriteHeader(&tar.Header{Name: manifestName, Typeflag: tar.TypeReg, Size: int64(len(man)), Mode: 0o600})
	_, _ = tw.Write(man)
	_ = tw.WriteHeader(&tar.Header{Name: "logs/a.log", Typeflag: tar.TypeReg, Size: MaxBundleEntry + 1, Mode: 0o600})
	_ = zw.Close()
	if _, err := ReadBundle(&out); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversize entry: %v", err)
	}
	if _, err := ReadBundle(strings.NewReader("not gzip")); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("not gzip: %v", err)
	}
}

func FuzzReadBundle(f *testing.F) {
	good, _ := collectTestBundle(f)
	f.Add(good)
	log := []byte("hello\n")
	man := manifestFor(f, map[string][]byte{"logs/a.log": log})
	f.Add(rawBundle(f, []entry{{tar.Header{Name: manifestName}, man}, {tar.Header{Name: "logs/a.log"}, log}}))
	f.Add(rawBundle(f, []entry{{tar.Header{Name: manifestName}, man}, {tar.Header{Name: "logs/a.log", Typeflag: tar.TypeSymlink, Linkname: "/"}, nil}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBundle(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, mf := range b.Manifest.Files {
			d, ok := b.Files[mf.Path]
			sum := sha256.Sum256(d)
			if !ok || int64(len(d)) != mf.Size || hex.EncodeToString(sum[:]) != mf.SHA256 || checkEntryName(mf.Path) != nil {
				t.Fatalf("accepted a bundle whose file %q does not match its manifest", mf.Path)
			}
		}
		if len(b.Files) != len(b.Manifest.Files) {
			t.Fatalf("%d files for %d manifest entries", len(b.Files), len(b.Manifest.Files))
		}
	})
}
