package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// TailOptions configures a Tailer.
type TailOptions struct {
	Options
	// Path is the file to follow.
	Path string
	// StatePath is where the tailer keeps the file identity (inode) and
	// the offset of the first line not yet written to the Sink. Required.
	StatePath string
	// PollInterval is how often the file is checked for growth, rotation
	// and truncation; zero means 250ms.
	PollInterval time.Duration
}

// Tailer follows a log file the way log shippers do, safely across
// rotation and restarts:
//
//   - Only complete (newline-terminated) lines are read; a line longer
//     than MaxRecordSize is cut (Truncated) and its rest skipped.
//   - The offset is saved to StatePath (write, fsync, rename) only after
//     the Sink accepted the lines before it, so after a crash or restart
//     the tailer resumes exactly there: no line is lost, none repeated
//     (unless the Sink accepted a batch and the process died before the
//     state was saved; then that one batch is repeated).
//   - Rotation by rename is noticed when Path names a new inode: the old
//     file is read to its end first, then the new one from its start.
//     Truncation in place (size below the offset) restarts at 0.
//   - On restart, a state for another inode (the file was rotated while
//     the tailer was down) starts the new file at 0; the rest of the old
//     file is not looked for.
type Tailer struct {
	opts TailOptions
}

// NewTailer returns a tailer; Sink, Path and StatePath are required.
func NewTailer(opts TailOptions) *Tailer {
	opts.defaults()
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	return &Tailer{opts: opts}
}

// Counters returns the tailer's counters.
func (t *Tailer) Counters() *Counters { return t.opts.Counters }

type tailState struct {
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
}

func inodeOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

func (t *Tailer) loadState() (tailState, error) {
	var st tailState
	b, err := os.ReadFile(t.opts.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("tail state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("tail state %s: %w", t.opts.StatePath, err)
	}
	return st, nil
}

func (t *Tailer) saveState(st tailState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("tail state: %w", err)
	}
	tmp := t.opts.StatePath + ".tmp"
	if err := writeFileSync(tmp, b); err != nil {
		return fmt.Errorf("tail state: %w", err)
	}
	if err := os.Rename(tmp, t.opts.StatePath); err != nil {
		return fmt.Errorf("tail state: %w", err)
	}
	return nil
}

// Run follows the file until ctx is cancelled, then returns nil.
func (t *Tailer) Run(ctx context.Context) error {
	st, err := t.loadState()
	if err != nil {
		return err
	}
	var f *os.File
	defer func() {
		if f != nil {
			_ = f.Close()
		}
	}()
	b := newBatcher(&t.opts.Options, t.opts.Path, t.opts.Tenant)
	buf := make([]byte, 4*MaxRecordSize)
	skipping := false
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(t.opts.PollInterval):
			return true
		}
	}
	for {
		if f == nil {
			nf, err := os.Open(t.opts.Path)
			if err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					t.opts.Logger.Warn("tail: open", "path", t.opts.Path, "err", err)
				}
				if !wait() {
					return nil
				}
				continue
			}
			fi, err := nf.Stat()
			if err != nil {
				_ = nf.Close()
				return fmt.Errorf("tail: %w", err)
			}
			ino := inodeOf(fi)
			if ino != st.Inode || fi.Size() < st.Offset {
				st = tailState{Inode: ino}
			}
			f = nf
		}
		// Read what is there from the saved offset.
		n, rerr := f.ReadAt(buf, st.Offset)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return fmt.Errorf("tail read %s: %w", t.opts.Path, rerr)
		}
		chunk := buf[:n]
		consumed := 0
		for consumed < len(chunk) {
			rest := chunk[consumed:]
			nl := bytes.IndexByte(rest, '\n')
			if nl < 0 {
				if len(rest) < MaxRecordSize {
					break
				}
				// An over-long line: keep its head, skip to its end.
				if !skipping {
					b.add(ctx, rest[:MaxRecordSize], true)
				}
				skipping = true
				consumed += len(rest)
				continue
			}
			line := rest[:nl]
			if !skipping && len(bytes.TrimSpace(line)) > 0 {
				rec := line
				tr := false
				if len(rec) > MaxRecordSize {
					rec, tr = rec[:MaxRecordSize], true
				}
				b.add(ctx, trimRecord(rec), tr)
			}
			skipping = false
			consumed += nl + 1
		}
		if consumed > 0 {
			if err := b.flush(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				t.opts.Logger.Warn("tail: sink refused batch; retrying", "path", t.opts.Path, "err", err)
				clear(b.events)
				b.events = b.events[:0]
				if !wait() {
					return nil
				}
				continue
			}
			st.Offset += int64(consumed)
			if err := t.saveState(st); err != nil {
				return err
			}
			continue // read on; rotation is checked only once caught up
		}
		// Caught up: check for rotation or truncation.
		fi, err := os.Stat(t.opts.Path)
		switch {
		case err == nil && inodeOf(fi) != st.Inode:
			_ = f.Close()
			f = nil
			st = tailState{}
			continue
		case err == nil && fi.Size() < st.Offset:
			st.Offset = 0
			if err := t.saveState(st); err != nil {
				return err
			}
			continue
		}
		if !wait() {
			return nil
		}
	}
}
