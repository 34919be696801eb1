package agent

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// BundleSchema names version 1 of the offline collection bundle.
const BundleSchema = "vigil.agent.bundle/v1"

// Bounds of a bundle, applied when it is written and when it is read.
const (
	// MaxBundleEntry bounds one file of a bundle: 32 MiB.
	MaxBundleEntry = 32 << 20
	// MaxBundleBytes bounds the decompressed bundle: 256 MiB.
	MaxBundleBytes = 256 << 20
	// MaxBundleFiles bounds the files of a bundle.
	MaxBundleFiles = 1024
	// manifestName is the first entry of every bundle.
	manifestName = "manifest.json"
	// maxManifest bounds the manifest.
	maxManifest = 1 << 20
)

// Manifest lists a bundle's files with their sizes and SHA-256 digests.
type Manifest struct {
	Schema   string         `json:"schema"`
	AgentID  string         `json:"agent_id"`
	Hostname string         `json:"hostname"`
	Created  time.Time      `json:"created"`
	Files    []ManifestFile `json:"files"`
}

// ManifestFile is one file of a bundle.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Kind is inventory, baseline or log.
	Kind string `json:"kind"`
	// Source is the host path a log file was read from.
	Source string `json:"source,omitempty"`
	// Truncated says the log file was longer and only its end was kept.
	Truncated bool `json:"truncated,omitempty"`
}

// BundleFile is a file to put in a bundle.
type BundleFile struct {
	ManifestFile
	Data []byte
}

// WriteBundle writes a gzip-compressed tar of files, preceded by
// manifest.json describing them, and returns the manifest: m with its
// schema set and its Files filled in from files.
func WriteBundle(w io.Writer, m Manifest, files []BundleFile) (*Manifest, error) {
	if len(files) > MaxBundleFiles-1 {
		return nil, fmt.Errorf("bundle: %d files, limit %d", len(files), MaxBundleFiles-1)
	}
	m.Schema = BundleSchema
	m.Files = make([]ManifestFile, 0, len(files))
	seen := map[string]bool{manifestName: true}
	for _, f := range files {
		if err := checkEntryName(f.Path); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("bundle: %s: duplicate path", f.Path)
		}
		seen[f.Path] = true
		if len(f.Data) > MaxBundleEntry {
			return nil, fmt.Errorf("bundle: %s: %d bytes, limit %d", f.Path, len(f.Data), MaxBundleEntry)
		}
		sum := sha256.Sum256(f.Data)
		mf := f.ManifestFile
		mf.Size, mf.SHA256 = int64(len(f.Data)), hex.EncodeToString(sum[:])
		m.Files = append(m.Files, mf)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bundle: manifest: %w", err)
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	mod := m.Created.UTC()
	add := func(name string, data []byte) error {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: mod, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("bundle: %s: %w", name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("bundle: %s: %w", name, err)
		}
		return nil
	}
	if err := add(manifestName, mb); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := add(f.Path, f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return &m, nil
}

// checkEntryName refuses names that are absolute, not clean, climb out
// with "..", hold a backslash, NUL or control character, or are too long.
func checkEntryName(name string) error {
	switch {
	case name == "" || len(name) > 255:
		return fmt.Errorf("entry name %q: empty or longer than 255 bytes", clipForError(name))
	case strings.HasPrefix(name, "/") || path.Clean(name) != name || name == "." ||
		name == ".." || strings.HasPrefix(name, "../"):
		return fmt.Errorf("entry name %q: not a clean relative path", clipForError(name))
	case strings.ContainsAny(name, "\\:"):
		return fmt.Errorf("entry name %q: backslash or colon", clipForError(name))
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("entry name %q: control character", clipForError(name))
		}
	}
	return nil
}

// Bundle is a bundle read back and verified.
type Bundle struct {
	Manifest Manifest
	// Inventory is the bundle's inventory, when it has one.
	Inventory *Inventory
	// Baselines are the bundle's baseline results.
	Baselines []BaselineResult
	// Files holds every file's content by path, manifest excluded.
	Files map[string][]byte
}

// ReadBundle reads a bundle written by WriteBundle and verifies it: the
// first entry is the manifest; every other entry is a regular file with a
// clean relative name, listed in the manifest once, within the size
// bounds, with the size and SHA-256 the manifest states; every listed
// file is present. The inventory and baseline documents are decoded and
// validated. Links, directories, devices and anything else are refused.
func ReadBundle(r io.Reader) (*Bundle, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("bundle: gzip: %w", err)
	}
	defer func() { _ = zr.Close() }()
	zr.Multistream(false)
	tr := tar.NewReader(&boundedReader{r: zr, n: MaxBundleBytes})
	b := &Bundle{Files: map[string][]byte{}}
	var want map[string]ManifestFile
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bundle: entry %d: %w", i+1, err)
		}
		if i >= MaxBundleFiles {
			return nil, fmt.Errorf("bundle: more than %d entries", MaxBundleFiles)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("bundle: entry %d %q: type %q is not a regular file", i+1, clipForError(hdr.Name), hdr.Typeflag)
		}
		if err := checkEntryName(hdr.Name); err != nil {
			return nil, fmt.Errorf("bundle: entry %d: %w", i+1, err)
		}
		if i == 0 {
			if hdr.Name != manifestName {
				return nil, fmt.Errorf("bundle: first entry is %q, want %s", clipForError(hdr.Name), manifestName)
			}
			if want, err = readManifest(tr, hdr, &b.Manifest); err != nil {
				return nil, err
			}
			continue
		}
		mf, ok := want[hdr.Name]
		if !ok {
			return nil, fmt.Errorf("bundle: entry %q: not in the manifest, or repeated", clipForError(hdr.Name))
		}
		delete(want, hdr.Name)
		if hdr.Size != mf.Size || hdr.Size < 0 || hdr.Size > MaxBundleEntry {
			return nil, fmt.Errorf("bundle: %s: size %d, manifest says %d (limit %d)", hdr.Name, hdr.Size, mf.Size, MaxBundleEntry)
		}
		data, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
		if err != nil {
			return nil, fmt.Errorf("bundle: %s: %w", hdr.Name, err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != mf.SHA256 {
			return nil, fmt.Errorf("bundle: %s: SHA-256 does not match the manifest", hdr.Name)
		}
		b.Files[hdr.Name] = data
		if err := b.decode(mf, data); err != nil {
			return nil, err
		}
	}
	if want == nil {
		return nil, errors.New("bundle: empty archive, no manifest")
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for p := range want {
			missing = append(missing, p)
		}
		slices.Sort(missing)
		return nil, fmt.Errorf("bundle: files in the manifest but not in the archive: %s", clipForError(strings.Join(missing, ", ")))
	}
	return b, nil
}

func readManifest(tr io.Reader, hdr *tar.Header, m *Manifest) (map[string]ManifestFile, error) {
	if hdr.Size < 0 || hdr.Size > maxManifest {
		return nil, fmt.Errorf("bundle: manifest of %d bytes, limit %d", hdr.Size, maxManifest)
	}
	data, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
	if err != nil {
		return nil, fmt.Errorf("bundle: manifest: %w", err)
	}
	if err := decodeStrict(data, m); err != nil {
		return nil, fmt.Errorf("bundle: manifest: %w", err)
	}
	if m.Schema != BundleSchema {
		return nil, fmt.Errorf("bundle: manifest schema %q, want %q", clipForError(m.Schema), BundleSchema)
	}
	if err := validAgentID(m.AgentID); err != nil {
		return nil, fmt.Errorf("bundle: manifest: %w", err)
	}
	if len(m.Files) > MaxBundleFiles-1 {
		return nil, fmt.Errorf("bundle: manifest lists %d files, limit %d", len(m.Files), MaxBundleFiles-1)
	}
	want := make(map[string]ManifestFile, len(m.Files))
	for i, f := range m.Files {
		if err := checkEntryName(f.Path); err != nil {
			return nil, fmt.Errorf("bundle: manifest file %d: %w", i+1, err)
		}
		if _, dup := want[f.Path]; dup || f.Path == manifestName {
			return nil, fmt.Errorf("bundle: manifest file %d: %s listed twice", i+1, f.Path)
		}
		if len(f.SHA256) != 64 {
			return nil, fmt.Errorf("bundle: manifest file %d: sha256 is not 64 hex digits", i+1)
		}
		switch f.Kind {
		case "inventory", "baseline", "log":
		default:
			return nil, fmt.Errorf("bundle: manifest file %d: kind %q", i+1, clipForError(f.Kind))
		}
		want[f.Path] = f
	}
	return want, nil
}

func (b *Bundle) decode(mf ManifestFile, data []byte) error {
	switch mf.Kind {
	case "inventory":
		if b.Inventory != nil {
			return errors.New("bundle: more than one inventory")
		}
		var inv Inventory
		if err := decodeStrict(data, &inv); err != nil {
			return fmt.Errorf("bundle: %s: %w", mf.Path, err)
		}
		if err := inv.Validate(); err != nil {
			return fmt.Errorf("bundle: %s: %w", mf.Path, err)
		}
		if inv.AgentID != b.Manifest.AgentID {
			return fmt.Errorf("bundle: %s: agent_id differs from the manifest's", mf.Path)
		}
		b.Inventory = &inv
	case "baseline":
		var res BaselineResult
		if err := decodeStrict(data, &res); err != nil {
			return fmt.Errorf("bundle: %s: %w", mf.Path, err)
		}
		if err := res.Validate(); err != nil {
			return fmt.Errorf("bundle: %s: %w", mf.Path, err)
		}
		if res.AgentID != b.Manifest.AgentID {
			return fmt.Errorf("bundle: %s: agent_id differs from the manifest's", mf.Path)
		}
		b.Baselines = append(b.Baselines, res)
	}
	return nil
}

// TailFile returns at most limit bytes from the end of data, starting
// after a newline when it had to cut, and whether it cut.
func TailFile(data []byte, limit int) ([]byte, bool) {
	if len(data) <= limit {
		return data, false
	}
	cut := data[len(data)-limit:]
	if i := bytes.IndexByte(cut, '\n'); i >= 0 && i+1 < len(cut) {
		cut = cut[i+1:]
	}
	return cut, true
}
