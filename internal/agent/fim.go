package agent

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/logs"
)

// FileState is what file integrity monitoring records of one file.
type FileState struct {
	Type string `json:"type"` // file, dir, symlink or other
	// SHA256 is the content digest of a regular file no larger than the
	// limit; "" otherwise.
	SHA256 string    `json:"sha256,omitempty"`
	Mode   uint32    `json:"mode"` // permission and special bits
	UID    int       `json:"uid"`
	GID    int       `json:"gid"`
	Size   int64     `json:"size"`
	MTime  time.Time `json:"mtime"`
	Target string    `json:"target,omitempty"` // a link's target
	// Unhashed says the file was larger than the limit.
	Unhashed bool `json:"unhashed,omitempty"`
}

// FIMScan is the state of the watched paths at one scan.
type FIMScan struct {
	Roots []string             `json:"roots"`
	Files map[string]FileState `json:"files"`
	// Truncated says the file limit stopped the walk.
	Truncated bool `json:"truncated,omitempty"`
}

// FIMChange is one difference between two scans.
type FIMChange struct {
	Action string // added, modified or removed
	Path   string
	Old    *FileState
	New    *FileState
	// Changed names the attributes that differ for a modification: type,
	// hash, mode, owner, size, mtime, target.
	Changed []string
}

// ScanFIM records every file under roots (a root may be a file), without
// following links, up to maxFiles entries; regular files of at most
// maxBytes are hashed. A root that does not exist is simply empty.
func ScanFIM(ctx context.Context, roots []string, maxFiles int, maxBytes int64) (FIMScan, error) {
	if maxFiles <= 0 {
		maxFiles = DefaultFIMFiles
	}
	if maxBytes <= 0 {
		maxBytes = DefaultFIMBytes
	}
	sc := FIMScan{Roots: slices.Clone(roots), Files: map[string]FileState{}}
	errFull := errors.New("full")
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
					return nil
				}
				return err
			}
			if _, dup := sc.Files[p]; dup {
				return nil
			}
			if len(sc.Files) >= maxFiles {
				sc.Truncated = true
				return errFull
			}
			fi, err := d.Info()
			if err != nil {
				return nil // gone since it was listed
			}
			sc.Files[p] = fileState(p, fi, maxBytes)
			return nil
		})
		if errors.Is(err, errFull) {
			break
		}
		if err != nil {
			return sc, fmt.Errorf("fim: %s: %w", root, err)
		}
	}
	return sc, nil
}

func fileState(p string, fi fs.FileInfo, maxBytes int64) FileState {
	st := FileState{Mode: uint32(fi.Mode().Perm() | fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)), Size: fi.Size(),
		MTime: fi.ModTime().UTC().Truncate(time.Microsecond)}
	st.UID, st.GID = fileOwner(fi)
	switch {
	case fi.Mode().IsRegular():
		st.Type = "file"
		if fi.Size() > maxBytes {
			st.Unhashed = true
			break
		}
		if sum, err := hashFile(p, maxBytes); err == nil {
			st.SHA256 = sum
		} else {
			st.Unhashed = true
		}
	case fi.IsDir():
		st.Type, st.Size = "dir", 0
	case fi.Mode()&fs.ModeSymlink != 0:
		st.Type = "symlink"
		st.Target, _ = os.Readlink(p)
	default:
		st.Type = "other"
	}
	return st
}

func hashFile(p string, maxBytes int64) (string, error) {
	f, err := os.Open(p) // #nosec G304 -- a path the operator put under integrity monitoring
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, maxBytes+1))
	if err != nil {
		return "", err
	}
	if n > maxBytes {
		return "", errors.New("grew past the limit")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// DiffFIM compares two scans. Files under a root that old did not watch
// are taken in silently (a new root is a new baseline, not a flood of
// additions), and files under roots no longer watched are forgotten.
// Changes come sorted by path.
func DiffFIM(old, cur FIMScan) []FIMChange {
	under := func(roots []string, p string) bool {
		for _, r := range roots {
			if p == r || strings.HasPrefix(p, strings.TrimSuffix(r, "/")+"/") {
				return true
			}
		}
		return false
	}
	var out []FIMChange
	for p, n := range cur.Files {
		o, ok := old.Files[p]
		switch {
		case !ok && under(old.Roots, p):
			out = append(out, FIMChange{Action: "added", Path: p, New: &n})
		case ok:
			if ch := changedAttrs(o, n); len(ch) > 0 {
				out = append(out, FIMChange{Action: "modified", Path: p, Old: &o, New: &n, Changed: ch})
			}
		}
	}
	if !cur.Truncated {
		for p, o := range old.Files {
			if _, ok := cur.Files[p]; !ok && under(cur.Roots, p) {
				out = append(out, FIMChange{Action: "removed", Path: p, Old: &o})
			}
		}
	}
	slices.SortFunc(out, func(a, b FIMChange) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func changedAttrs(o, n FileState) []string {
	var ch []string
	add := func(name string, diff bool) {
		if diff {
			ch = append(ch, name)
		}
	}
	add("type", o.Type != n.Type)
	add("hash", o.SHA256 != n.SHA256 || o.Unhashed != n.Unhashed)
	add("mode", o.Mode != n.Mode)
	add("owner", o.UID != n.UID || o.GID != n.GID)
	add("size", o.Type == "file" && o.Size != n.Size)
	add("mtime", o.Type != "dir" && !o.MTime.Equal(n.MTime))
	add("target", o.Target != n.Target)
	return ch
}

// fimNamespace makes event IDs of FIM changes.
var fimNamespace = uuid.MustParse("5b0f3c56-8f1e-4f59-9d55-61a3f0c1e0a4")

// Event turns a change into the event shipped to the server: ECS file.*
// fields of the new state (of the old for a removal), the old state under
// fim.old.*, the changed attributes under fim.changed.
func (c FIMChange) Event(now time.Time) logs.Event {
	typ := map[string]string{"added": "creation", "modified": "change", "removed": "deletion"}[c.Action]
	f := map[string]any{
		"event.kind": "event", "event.category": "file", "event.type": typ, "event.action": "fim." + c.Action,
		"event.module": "fim", "file.path": c.Path, "file.name": filepath.Base(c.Path),
	}
	put := func(prefix string, s *FileState) {
		if s == nil {
			return
		}
		f[prefix+"type"] = s.Type
		f[prefix+"mode"] = fmt.Sprintf("%04o", s.Mode)
		f[prefix+"uid"] = s.UID
		f[prefix+"gid"] = s.GID
		f[prefix+"size"] = s.Size
		f[prefix+"mtime"] = s.MTime.Format(time.RFC3339Nano)
		if s.SHA256 != "" {
			f[prefix+"hash.sha256"] = s.SHA256
		}
		if s.Target != "" {
			f[prefix+"target_path"] = s.Target
		}
	}
	if c.New != nil {
		put("file.", c.New)
	} else {
		put("file.", c.Old)
	}
	if c.Action == "modified" {
		put("fim.old.", c.Old)
		f["fim.changed"] = c.Changed
	}
	msg := fmt.Sprintf("file %s: %s", c.Action, c.Path)
	if len(c.Changed) > 0 {
		msg += " (" + strings.Join(c.Changed, ", ") + ")"
	}
	f["message"] = msg
	// The same change seen twice (a crash before the state was saved)
	// gets the same ID, so the server can drop the repeat.
	var newSum, stamp string
	if c.New != nil {
		newSum, stamp = c.New.SHA256, c.New.MTime.String()
	}
	id := uuid.NewSHA1(fimNamespace, []byte(c.Action+"\x00"+c.Path+"\x00"+newSum+"\x00"+stamp)).String()
	return logs.Event{ID: id, Time: now, Received: now, Source: "fim", Format: "fim",
		LogSource: logs.LogSource{Product: "linux", Category: "file_change"}, Fields: f, Original: msg}
}

// FIMOptions configures a FIM watcher.
type FIMOptions struct {
	Config FIMConfig
	// StatePath keeps the last scan between runs. Required.
	StatePath string
	Sink      logs.Sink
	Now       func() time.Time
	Logger    *slog.Logger
}

// FIMOnce scans, writes the changes since the saved scan to the sink and
// then saves the new scan. The first scan (no saved one) is the baseline
// and yields no events. It returns the changes written.
func FIMOnce(ctx context.Context, opts FIMOptions) ([]FIMChange, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cur, err := ScanFIM(ctx, opts.Config.Paths, opts.Config.MaxFiles, opts.Config.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	if cur.Truncated && opts.Logger != nil {
		opts.Logger.Warn("fim: file limit reached; files beyond it are not watched", "limit", cmp.Or(opts.Config.MaxFiles, DefaultFIMFiles))
	}
	old, err := loadFIMState(opts.StatePath)
	if err != nil {
		return nil, err
	}
	var changes []FIMChange
	if old != nil {
		changes = DiffFIM(*old, cur)
	}
	if len(changes) > 0 {
		now := opts.Now().UTC()
		evs := make([]logs.Event, len(changes))
		for i, c := range changes {
			evs[i] = c.Event(now)
		}
		if err := opts.Sink.Write(ctx, evs); err != nil {
			return nil, fmt.Errorf("fim: %w", err)
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return nil, fmt.Errorf("fim: %w", err)
	}
	if err := writeFileAtomic(opts.StatePath, b); err != nil {
		return nil, fmt.Errorf("fim: save state: %w", err)
	}
	return changes, nil
}

// maxFIMState bounds the saved scan read back.
const maxFIMState = 256 << 20

func loadFIMState(p string) (*FIMScan, error) {
	f, err := os.Open(p) // #nosec G304 -- inside the agent's data directory
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fim: %w", err)
	}
	defer func() { _ = f.Close() }()
	var sc FIMScan
	if err := json.NewDecoder(io.LimitReader(f, maxFIMState)).Decode(&sc); err != nil {
		return nil, nil //nolint:nilerr // a damaged state is replaced by a new baseline
	}
	return &sc, nil
}

// RunFIM scans every interval until ctx ends.
func RunFIM(ctx context.Context, opts FIMOptions) {
	iv := time.Duration(opts.Config.Interval)
	if iv <= 0 {
		iv = defaultFIMRescan
	}
	for {
		changes, err := FIMOnce(ctx, opts)
		switch {
		case err != nil && ctx.Err() == nil && opts.Logger != nil:
			opts.Logger.Warn("fim: scan failed", "err", err)
		case len(changes) > 0 && opts.Logger != nil:
			opts.Logger.Info("fim: changes", "count", len(changes))
		}
		if !sleep(ctx, iv) {
			return
		}
	}
}
