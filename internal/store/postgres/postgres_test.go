package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/storetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// freshDB creates a uniquely named empty database on the test server and
// drops it when t ends; it returns the database's connection string.
func freshDB(t *testing.T) string {
	t.Helper()
	server := testenv.RequirePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := uniqueName()
	dbURL, err := CreateDatabase(ctx, server, name)
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	dropAtEnd(t, server, name)
	return fastCommits(t, dbURL)
}

// migratedDB is freshDB already migrated: a copy of a template database
// migrated once per test binary, which is much quicker than migrating
// every database.
func migratedDB(t *testing.T) string {
	t.Helper()
	server := testenv.RequirePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tpl.mu.Lock()
	defer tpl.mu.Unlock()
	if tpl.name == "" {
		name := uniqueName()
		dbURL, err := CreateDatabase(ctx, server, name)
		if err != nil {
			t.Fatalf("create template database: %v", err)
		}
		tpl.server, tpl.name = server, name // dropped by TestMain
		st, err := Open(ctx, dbURL, Options{})
		if err != nil {
			t.Fatalf("migrate template database: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Copies are made one at a time: CREATE DATABASE refuses a template
	// that another session is using.
	name := uniqueName()
	db, err := openDB(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+
		` TEMPLATE `+pgx.Identifier{tpl.name}.Sanitize()); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	dropAtEnd(t, server, name)
	dbURL, err := withDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	return fastCommits(t, dbURL)
}

// tpl is the migrated template database of this test binary.
var tpl struct {
	mu           sync.Mutex
	server, name string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tpl.name != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := DropDatabase(ctx, tpl.server, tpl.name); err != nil {
			fmt.Fprintln(os.Stderr, "drop template database:", err)
			code = 1
		}
		cancel()
	}
	os.Exit(code)
}

func uniqueName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "vigil_t_" + hex.EncodeToString(b)
}

func dropAtEnd(t *testing.T, server, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := DropDatabase(ctx, server, name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
}

// fastCommits turns off synchronous_commit for the test's sessions: the
// tests need no durability and commits not waiting for the disk keeps
// them quick.
func fastCommits(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		return dbURL // a key=value connection string: leave it alone
	}
	q := u.Query()
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, dbURL string) store.Store {
	t.Helper()
	st, err := Open(t.Context(), dbURL, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, migratedDB(t)) })
}

func TestBackupUnsupported(t *testing.T) {
	st := open(t, migratedDB(t))
	if err := st.Backup(t.Context(), t.TempDir()+"/x"); !errors.Is(err, store.ErrUnsupported) {
		t.Fatalf("Backup: %v, want ErrUnsupported", err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	ctx := t.Context()
	dbURL := freshDB(t)
	st, err := Open(ctx, dbURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := openDB(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, TRUE)`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	st, err = Open(ctx, dbURL, Options{})
	if !errors.Is(err, store.ErrSchemaTooNew) {
		if st != nil {
			_ = st.Close()
		}
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// TestConcurrentOpen starts several nodes on one empty database at once:
// the migration lock lets exactly one migrate and all of them open.
func TestConcurrentOpen(t *testing.T) {
	dbURL := freshDB(t)
	const nodes = 4
	var wg sync.WaitGroup
	errs := make(chan error, nodes)
	for range nodes {
		wg.Go(func() {
			st, err := Open(t.Context(), dbURL, Options{})
			if err != nil {
				errs <- err
				return
			}
			errs <- st.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := len(mustSources(t)); n != want {
		t.Fatalf("%d migrations recorded, want %d", n, want)
	}
}

func mustSources(t *testing.T) []string {
	t.Helper()
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDatabaseNames(t *testing.T) {
	for _, bad := range []string{"", "Vigil", "a-b", `x"; DROP DATABASE postgres; --`, "1abc"} {
		if _, err := CreateDatabase(t.Context(), "postgres://127.0.0.1:1/postgres", bad); err == nil {
			t.Errorf("CreateDatabase accepted %q", bad)
		}
		if err := DropDatabase(t.Context(), "postgres://127.0.0.1:1/postgres", bad); err == nil {
			t.Errorf("DropDatabase accepted %q", bad)
		}
	}
	for in, want := range map[string]string{
		"postgres://u@h:5432/postgres?sslmode=disable": "postgres://u@h:5432/vigil_x?sslmode=disable",
		"postgresql://h/db":                            "postgresql://h/vigil_x",
		"host=h user=u dbname=postgres":                "host=h user=u dbname=postgres dbname=vigil_x",
	} {
		got, err := withDatabase(in, "vigil_x")
		if err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestCreateIfMissing(t *testing.T) {
	server := testenv.RequirePostgres(t)
	ctx := context.Background()
	name := uniqueName()
	dbURL, err := withDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	dropAtEnd(t, server, name)
	if _, err := Open(ctx, dbURL, Options{}); sqlState(err) != invalidCatalogName {
		t.Fatalf("without CreateIfMissing: %v", err)
	}
	st, err := Open(ctx, dbURL, Options{CreateIfMissing: true})
	if err != nil {
		t.Fatalf("with CreateIfMissing: %v", err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	// A second open finds it.
	st, err = Open(ctx, dbURL, Options{CreateIfMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
}
