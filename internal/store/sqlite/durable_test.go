package sqlite

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// TestConnectionSettings checks what every pooled connection runs with:
// a new database gets the large pages (the driver must apply page_size
// before WAL mode fixes the page size), and WAL, synchronous=NORMAL and
// the larger page cache hold on each connection.
func TestConnectionSettings(t *testing.T) {
	ctx := t.Context()
	st := open(t, filepath.Join(t.TempDir(), "vigil.db"))
	db := st.(*sqliteStore).DB()
	// Hold several connections at once so that more than one is checked.
	var conns []*sql.Conn
	for range 3 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var page, cache, sync int
		var mode string
		for _, q := range []struct {
			pragma string
			dest   any
		}{{"page_size", &page}, {"cache_size", &cache}, {"synchronous", &sync}, {"journal_mode", &mode}} {
			if err := c.QueryRowContext(ctx, "PRAGMA "+q.pragma).Scan(q.dest); err != nil {
				t.Fatalf("connection %d: PRAGMA %s: %v", i, q.pragma, err)
			}
		}
		if page != pageSize || cache != -cacheKiB || sync != 1 || mode != "wal" {
			t.Errorf("connection %d: page_size %d, cache_size %d, synchronous %d, journal_mode %s; want %d, %d, 1 (NORMAL), wal",
				i, page, cache, sync, mode, pageSize, -cacheKiB)
		}
		_ = c.Close()
	}
}

// TestExistingPageSizeKept opens a database made with SQLite's default
// page size, as earlier versions made them: it is migrated and used as
// it is, with its pages unchanged; its backup gets the new page size.
func TestExistingPageSizeKept(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`PRAGMA page_size = 4096`, `PRAGMA journal_mode = WAL`, `CREATE TABLE keep (x INTEGER)`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	st := open(t, path)
	tn := store.Tenant{Slug: "old", Name: "Old"}
	if err := st.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Events().Append(ctx, []store.Event{{ID: "e1", TenantID: tn.ID, Time: time.Now(), Received: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	var page int
	if err := st.(*sqliteStore).DB().QueryRowContext(ctx, `PRAGMA page_size`).Scan(&page); err != nil {
		t.Fatal(err)
	}
	if page != 4096 {
		t.Errorf("page_size of the existing database became %d", page)
	}

	// Its backup (VACUUM INTO) has the new page size: backup and restore
	// convert an older database.
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := st.(*sqliteStore).Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	b, err := sql.Open("sqlite", "file:"+filepath.ToSlash(backup))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	if err := b.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&page); err != nil {
		t.Fatal(err)
	}
	if page != pageSize {
		t.Errorf("backup page_size %d, want %d", page, pageSize)
	}
}

// TestAppendSyncsWAL checks that an event append ends with an fsync of
// the database's own WAL file, and that an append whose fsync fails is
// not reported as stored.
func TestAppendSyncsWAL(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "vigil.db")
	st := open(t, path).(*sqliteStore)
	tn := store.Tenant{Slug: "alpha", Name: "Alpha"}
	if err := st.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ev := func(id string) []store.Event {
		return []store.Event{{ID: id, TenantID: tn.ID, Time: now, Received: now, Message: "m"}}
	}
	if _, err := st.Events().Append(ctx, ev("e1")); err != nil {
		t.Fatal(err)
	}
	wal, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatalf("no WAL file beside the database: %v", err)
	}
	if st.wal.entry == nil || !os.SameFile(st.wal.entry, wal) {
		t.Fatalf("append did not sync the database's WAL file %s", path+"-wal")
	}
	loader, ok := st.Events().(store.EventLoader)
	if !ok {
		t.Fatal("the SQLite event store lost its multi-row loader")
	}
	if n, err := loader.Load(ctx, ev("e2")); err != nil || n != 1 {
		t.Fatalf("Load: %d, %v", n, err)
	}

	// A WAL that cannot be synced (here: its name is a directory) fails
	// the append and the load.
	st.wal = &walSyncer{path: t.TempDir()}
	if _, err := st.Events().Append(ctx, ev("e3")); err == nil {
		t.Error("append succeeded although the WAL could not be synced")
	}
	if _, err := st.Events().(store.EventLoader).Load(ctx, ev("e4")); err == nil {
		t.Error("load succeeded although the WAL could not be synced")
	}
}
