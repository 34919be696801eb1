package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/vigil-sec/vigil/internal/store"
)

// The database runs with synchronous=NORMAL: a commit is written to the
// WAL file but not fsynced, so it survives a crash of the process and may
// be lost in a power cut. That is enough for most writes, but not for the
// events a listener acknowledged: the ingest spool forgets a batch once
// the store took it. Event appends therefore end with an fsync of the WAL
// file (walSyncer), which makes that commit and every earlier one durable
// without making every other transaction pay for an fsync
// (synchronous=FULL would). docs/detection.md ("What acknowledged means")
// gives the argument.

// durableEvents is the event store whose Append and Load return only
// once what they committed is on disk.
type durableEvents struct {
	store.EventStore
	wal *walSyncer
}

var (
	_ store.EventStore  = durableEvents{}
	_ store.EventLoader = durableEvents{}
)

// Append implements store.EventStore. The WAL is synced even when every
// event was already stored: a batch redelivered after a crash of the
// process may find its events committed by the first attempt but not
// yet on disk.
func (d durableEvents) Append(ctx context.Context, evs []store.Event) ([]string, error) {
	added, err := d.EventStore.Append(ctx, evs)
	if err != nil {
		return nil, err
	}
	if err := d.wal.sync(); err != nil {
		return nil, err
	}
	return added, nil
}

// Load implements store.EventLoader like Append.
func (d durableEvents) Load(ctx context.Context, evs []store.Event) (int, error) {
	l, ok := d.EventStore.(store.EventLoader)
	if !ok {
		return 0, errors.New("sqlite: the event store cannot load")
	}
	n, err := l.Load(ctx, evs)
	if err != nil {
		return 0, err
	}
	if err := d.wal.sync(); err != nil {
		return 0, err
	}
	return n, nil
}

// walSyncer fsyncs the database's WAL file. An fsync through any
// descriptor of a file flushes all of its written data, so one of our own
// covers the frames SQLite's connections wrote. The frames of a commit
// are either still in the WAL file when it is synced, or a checkpoint
// copied them into the database file, and SQLite fsyncs the database
// file after a checkpoint and before the WAL is reused from its start; so
// after sync every commit made before it is durable either way.
type walSyncer struct {
	path string // the -wal file
	mu   sync.Mutex
	// entry is the WAL file whose directory entry is known durable: a
	// WAL file created since needs the directory synced too.
	entry os.FileInfo
}

func newWALSyncer(dbPath string) *walSyncer {
	if abs, err := filepath.Abs(dbPath); err == nil {
		dbPath = abs
	}
	return &walSyncer{path: dbPath + "-wal"}
}

// sync makes every transaction committed before the call durable.
func (w *walSyncer) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, err := os.OpenFile(w.path, os.O_RDWR, 0) // #nosec G304 -- the database's own WAL file
	if errors.Is(err, fs.ErrNotExist) {
		// SQLite removes the WAL only after checkpointing all of it into
		// the database file, which it then synced.
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: sync wal: %w", err)
	}
	err = f.Sync()
	st, serr := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("sqlite: sync wal: %w", err)
	}
	if w.entry == nil || !os.SameFile(w.entry, st) {
		if err := syncDirEntry(filepath.Dir(w.path)); err != nil {
			return fmt.Errorf("sqlite: sync wal: %w", err)
		}
		w.entry = st
	}
	return nil
}

// syncDirEntry flushes a directory's entries (a created file) to disk.
// Windows cannot sync a directory and needs not.
func syncDirEntry(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir) // #nosec G304 -- the database directory
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
