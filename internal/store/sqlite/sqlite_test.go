package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/storetest"
)

func open(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "vigil.db"))
	})
}

func TestPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "vigil.db")
	st := open(t, path)
	if err := st.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the given path: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "vigil.db")
	st, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tn := store.Tenant{Slug: "alpha", Name: "Alpha"}
	if err := st.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, path)
	if _, err := st.Tenants().Get(ctx, tn.ID); err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "vigil.db")
	st, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	bumpVersion(t, path)
	st, err = Open(ctx, path, Options{})
	if !errors.Is(err, store.ErrSchemaTooNew) {
		if st != nil {
			_ = st.Close()
		}
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// bumpVersion records a migration newer than any this binary has, as a
// newer Vigil would.
func bumpVersion(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`); err != nil {
		t.Fatal(err)
	}
}

func TestBackupRestoreWhileWriting(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.db")
	st := open(t, path)
	tn := store.Tenant{Slug: "alpha", Name: "Alpha"}
	if err := st.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		a := store.Asset{TenantID: tn.ID, Kind: "host", Name: fmt.Sprintf("before-%02d", i)}
		if err := st.Assets().Create(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}

	// A writer keeps appending assets and audit entries during the backup.
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			a := store.Asset{TenantID: tn.ID, Kind: "host", Name: fmt.Sprintf("during-%04d", i)}
			if err := st.Assets().Create(ctx, &a); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			e := store.AuditEntry{Action: "asset.create", Object: "asset:" + a.ID}
			if err := st.Audit().Append(ctx, &e, storetest.Chain); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			written.Add(1)
		}
	})
	for written.Load() < 5 && !t.Failed() {
		// Let the writer get going.
		if _, err := st.Assets().Count(ctx, tn.ID, store.AssetFilter{}); err != nil {
			t.Fatal(err)
		}
	}
	backup := filepath.Join(dir, "backup.db")
	err := st.Backup(ctx, backup)
	for written.Load() < 10 && !t.Failed() && err == nil {
		if _, err := st.Assets().Count(ctx, tn.ID, store.AssetFilter{}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if info, err := os.Stat(backup); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v; want mode 0600", info, err)
	}
	if err := st.Backup(ctx, backup); err == nil {
		t.Fatal("Backup overwrote an existing file")
	}

	// Restore the backup over a live-looking copy and check the snapshot
	// is consistent: every audited asset exists and the chain verifies.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Restore(ctx, backup, path); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			// A leftover would be replayed into the restored file.
			t.Fatalf("stale %s file left after Restore", suffix)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "vigil.db.restore-*"))
	if len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
	restored := open(t, path)
	n, err := restored.Assets().Count(ctx, tn.ID, store.AssetFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 || int64(n) > 50+written.Load() {
		t.Fatalf("restored %d assets, want 50..%d", n, 50+written.Load())
	}
	var entries int
	prev := ""
	err = restored.Audit().Walk(ctx, 1, func(e store.AuditEntry) error {
		entries++
		if e.PrevHash != prev || e.Hash != storetest.Chain(&e) {
			return fmt.Errorf("chain broken at %d", e.Seq)
		}
		prev = e.Hash
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each writer step creates the asset before its entry, so a snapshot
	// holds every audited asset and at most one unaudited one.
	if during := n - 50; entries != during && entries != during-1 {
		t.Fatalf("snapshot has %d new assets but %d audit entries", during, entries)
	}
	// The restored database takes writes and continues the chain.
	e := store.AuditEntry{Action: "after.restore"}
	if err := restored.Audit().Append(ctx, &e, storetest.Chain); err != nil {
		t.Fatal(err)
	}
	if e.Seq != int64(entries+1) || e.PrevHash != prev {
		t.Fatalf("append after restore: Seq %d PrevHash %q", e.Seq, e.PrevHash)
	}
}

func TestRestoreRefusals(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.db")
	st := open(t, path)
	tn := store.Tenant{Slug: "live", Name: "Live"}
	if err := st.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer.db")
	if err := st.Backup(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	bumpVersion(t, newer)
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("this is not a database, not even close, but long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	fdb, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fdb.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	_ = fdb.Close()

	for name, tc := range map[string]struct {
		from string
		want error
	}{
		"newer schema": {newer, store.ErrSchemaTooNew},
		"not sqlite":   {garbage, nil},
		"not vigil":    {foreign, nil},
		"missing":      {filepath.Join(dir, "missing.db"), os.ErrNotExist},
	} {
		err := Restore(ctx, tc.from, path)
		if err == nil {
			t.Fatalf("%s: Restore succeeded", name)
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Fatalf("%s: Restore: %v, want %v", name, err, tc.want)
		}
	}
	// The live database is untouched and no temporary file is left.
	st = open(t, path)
	if _, err := st.Tenants().Get(ctx, tn.ID); err != nil {
		t.Fatalf("live database damaged by refused restores: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "vigil.db.restore-*"))
	if len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
}

func TestOpenRefusesGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	if err := os.WriteFile(path, []byte("definitely not a sqlite database file, padded out a bit more"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), path, Options{})
	if err == nil {
		_ = st.Close()
		t.Fatal("Open of a non-database succeeded")
	}
}
