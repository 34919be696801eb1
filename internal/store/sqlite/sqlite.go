// Package sqlite is the embedded store driver: a single SQLite file opened
// with the pure-Go modernc.org/sqlite driver, in WAL mode with foreign keys
// on and write transactions started with BEGIN IMMEDIATE. Queries are the
// shared ones of package sqldb; this package adds opening, migrations,
// online backup (VACUUM INTO) and offline restore.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options configures Open.
type Options struct {
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
}

// maxOpenConns bounds the pool: WAL lets readers run beside the one
// writer, and writers queue on the busy timeout.
var maxOpenConns = max(4, min(runtime.GOMAXPROCS(0), 8))

// Open opens (creating if needed) the database file at path, applies the
// embedded migrations and returns the store. It fails with an error
// wrapping store.ErrSchemaTooNew if the file was migrated by a newer Vigil.
func Open(ctx context.Context, path string, opts Options) (store.Store, error) {
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := migrations().Up(ctx, db, opts.Logger); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return &sqliteStore{Store: sqldb.New(db, dialect), wal: newWALSyncer(path)}, nil
}

// sqliteStore is the shared store with SQLite's online backup, and event
// appends that are durable when they return (durable.go).
type sqliteStore struct {
	*sqldb.Store
	wal *walSyncer
}

// Events returns the event store whose appends fsync the WAL.
func (s *sqliteStore) Events() store.EventStore {
	return durableEvents{EventStore: s.Store.Events(), wal: s.wal}
}

// Backup writes a consistent copy of the live database to path with
// VACUUM INTO. The file is created with mode 0600 and must not exist.
func (s *sqliteStore) Backup(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- operator-chosen path
	if err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	// VACUUM INTO accepts an empty existing file; it reads one snapshot,
	// so writers carry on meanwhile.
	if _, err := s.DB().ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("sqlite backup to %s: %w", path, err)
	}
	return nil
}

// Restore replaces the database at dbPath with the backup at backupPath.
// The backup must be a Vigil database that passes PRAGMA integrity_check
// and whose schema is not newer than this binary (else the error wraps
// store.ErrSchemaTooNew); older schemas are migrated at the next Open. The
// copy is verified before it replaces dbPath, atomically, and stale -wal
// and -shm files of the old database are removed. The caller must make
// sure nothing has dbPath open.
func Restore(ctx context.Context, backupPath, dbPath string) (err error) {
	dir := filepath.Dir(dbPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sqlite restore: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(dbPath)+".restore-*")
	if err != nil {
		return fmt.Errorf("sqlite restore: %w", err)
	}
	tmpPath := tmp.Name()
	defer func() {
		if err != nil {
			removeDB(tmpPath)
		}
	}()
	if err := copyInto(tmp, backupPath); err != nil {
		return fmt.Errorf("sqlite restore: %w", err)
	}
	if err := verify(ctx, tmpPath); err != nil {
		return fmt.Errorf("sqlite restore from %s: %w", backupPath, err)
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sqlite restore: %w", err)
		}
	}
	if err := os.Rename(tmpPath, dbPath); err != nil {
		return fmt.Errorf("sqlite restore: %w", err)
	}
	return syncDir(dir)
}

// copyInto copies the file at src into dst, syncs and closes dst.
func copyInto(dst *os.File, src string) error {
	in, err := os.Open(src) // #nosec G304 -- operator-chosen path
	if err != nil {
		_ = dst.Close()
		return err
	}
	defer func() { _ = in.Close() }()
	if _, err := io.Copy(dst, in); err != nil {
		_ = dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}

// verify checks the database file at path is sound and not too new, and
// leaves it self-contained (rollback journal mode, no -wal file).
func verify(ctx context.Context, path string) (err error) {
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	db.SetMaxOpenConns(1)
	var result string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&result); err != nil {
		return fmt.Errorf("not a readable SQLite database: %w", err)
	}
	if result != "ok" {
		return fmt.Errorf("integrity check failed: %s", result)
	}
	var n int
	if err := db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('goose_db_version', 'audit_head')`).Scan(&n); err != nil {
		return err
	}
	if n != 2 {
		return errors.New("not a Vigil database")
	}
	if err := migrations().CheckVersion(ctx, db); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `PRAGMA journal_mode = DELETE`); err != nil {
		return fmt.Errorf("leave WAL mode: %w", err)
	}
	return nil
}

// removeDB removes a database file and its companions, ignoring errors.
func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		_ = os.Remove(path + suffix)
	}
}

// syncDir flushes a directory entry change (a rename) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- the database directory
	if err != nil {
		return fmt.Errorf("sqlite restore: %w", err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("sqlite restore: %w", err)
	}
	return nil
}

// openDB opens and configures the pool for the file at path.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return db, nil
}

// Page and cache sizes. Ingest writes rows of about a kilobyte at a
// high rate: 16 KiB pages split about a quarter as often as SQLite's
// default of 4 KiB and take a quarter of the writes per byte into the
// WAL and at checkpoints (SQLite writes each WAL frame with its own
// calls). A
// 32 MiB page cache per connection (SQLite's default is 2 MiB) keeps the
// inner pages and the hot leaves of the event indexes in memory across
// the ingest transactions. See docs/detection.md, "Ingest".
const (
	pageSize = 16 << 10
	cacheKiB = 32 << 10
)

// dsn returns the connection string of the file at path: a file: URI (so
// any character in the path is safe) with the per-connection settings.
// wal selects WAL journal mode.
func dsn(path string, wal bool) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	// The driver runs the _pragma list (sorted by name) before the
	// _journal_mode and _synchronous keys, so page_size reaches a new,
	// empty file before WAL mode fixes its page size; on an existing
	// file it changes nothing.
	q.Add("_pragma", fmt.Sprintf("page_size(%d)", pageSize))
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cacheKiB))
	if wal {
		q.Set("_journal_mode", "WAL")
		// NORMAL: a commit reaches the WAL file without an fsync, so it
		// survives a crash of the process but not a power loss; Append
		// (durable.go) fsyncs the WAL before it returns.
		q.Set("_synchronous", "NORMAL")
	}
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
}

// migrations returns the embedded SQLite migrations.
func migrations() sqldb.Migrations {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sqldb.Migrations{Dialect: goose.DialectSQLite3, FS: sub}
}

// dialect is SQLite's flavour of the shared queries.
var dialect = sqldb.Dialect{
	Name:       "sqlite",
	TimeAsText: true,
	IsUniqueViolation: func(err error) bool {
		if code, ok := errCode(err); ok {
			return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		}
		return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
	},
	IsForeignKeyViolation: func(err error) bool {
		if code, ok := errCode(err); ok {
			return code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
		}
		return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
	},
	JSONArrayHas: func(column string) string {
		return "EXISTS (SELECT 1 FROM json_each(" + column + ") WHERE json_each.value = ?)"
	},
}

// errCode returns the extended result code of a SQLite error.
func errCode(err error) (int, bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return 0, false
	}
	return se.Code(), true
}
