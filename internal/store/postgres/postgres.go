// Package postgres is the store driver for a shared PostgreSQL database,
// used when several Vigil nodes serve the same data. It talks to the server
// with pgx through database/sql so the queries of package sqldb serve it as
// they serve SQLite; this package adds opening and migrations (serialised
// across nodes by an advisory lock), plus helpers that create and drop
// databases for tests. Backups are pg_dump's job: Backup returns
// store.ErrUnsupported.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options configures Open.
type Options struct {
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
	// CreateIfMissing creates the database when the server says it does
	// not exist (the role needs CREATEDB), connecting to the server's
	// "postgres" database to do so.
	CreateIfMissing bool
}

// Pool limits; the server's max_connections is shared by every node.
const (
	maxOpenConns    = 20
	maxIdleConns    = 5
	connMaxIdleTime = 5 * time.Minute
)

// PostgreSQL error codes (SQLSTATE) the store maps to sentinels.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
	invalidCatalogName  = "3D000" // the database does not exist
)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string), applies the embedded migrations and returns the
// store. It fails with an error wrapping store.ErrSchemaTooNew if the
// database was migrated by a newer Vigil.
func Open(ctx context.Context, url string, opts Options) (store.Store, error) {
	db, err := openDB(ctx, url)
	if err != nil && opts.CreateIfMissing && sqlState(err) == invalidCatalogName {
		if db, err = createAndOpen(ctx, url, opts.Logger); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	m, err := migrations()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := m.Up(ctx, db, opts.Logger); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return sqldb.New(db, dialect), nil
}

// createAndOpen creates the database that url names, through the server's
// maintenance database, then opens it.
func createAndOpen(ctx context.Context, url string, logger *slog.Logger) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse connection string: %w", err)
	}
	name := cfg.Database
	server, err := withDatabase(url, "postgres")
	if err != nil {
		return nil, err
	}
	if _, err := CreateDatabase(ctx, server, name); err != nil && sqlState(err) != "42P04" { // 42P04: created meanwhile
		return nil, err
	}
	if logger != nil {
		logger.Info("created PostgreSQL database", "database", name)
	}
	return openDB(ctx, url)
}

// openDB opens and checks a connection pool.
func openDB(ctx context.Context, connString string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse connection string: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: connect to %s@%s/%s: %w", cfg.User, cfg.Host, cfg.Database, err)
	}
	return db, nil
}

// migrations returns the embedded PostgreSQL migrations, run under a
// session advisory lock so nodes starting together migrate one at a time.
func migrations() (sqldb.Migrations, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return sqldb.Migrations{}, fmt.Errorf("postgres migrations: %w", err)
	}
	// Retry every second for up to five minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return sqldb.Migrations{}, fmt.Errorf("postgres migration lock: %w", err)
	}
	return sqldb.Migrations{
		Dialect: goose.DialectPostgres,
		FS:      sub,
		Options: []goose.ProviderOption{goose.WithSessionLocker(locker)},
	}, nil
}

// dialect is PostgreSQL's flavour of the shared queries.
var dialect = sqldb.Dialect{
	Name:                  "postgres",
	NumberedParams:        true,
	IsUniqueViolation:     func(err error) bool { return sqlState(err) == uniqueViolation },
	IsForeignKeyViolation: func(err error) bool { return sqlState(err) == foreignKeyViolation },
	JSONArrayHas: func(column string) string {
		return column + " @> jsonb_build_array(?::text)"
	},
	// pg_advisory_xact_lock returns a void value, which database/sql
	// cannot scan but may discard.
	KeyLock:  "SELECT pg_advisory_xact_lock(hashtextextended(?::text, 0))",
	CopyFrom: copyFrom,
}

// sqlState returns the SQLSTATE of a server error, or "".
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// ---- test databases ----

// dbNameRE is what CreateDatabase and DropDatabase accept as a name.
var dbNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CreateDatabase creates the database name (lower-case letters, digits and
// underscores) on the server that serverURL connects to, and returns the
// connection string of the new database. It is meant for tests, which
// should use a fresh, uniquely named database each.
func CreateDatabase(ctx context.Context, serverURL, name string) (string, error) {
	if !dbNameRE.MatchString(name) {
		return "", fmt.Errorf("create database: invalid name %q", name)
	}
	dbURL, err := withDatabase(serverURL, name)
	if err != nil {
		return "", err
	}
	db, err := openDB(ctx, serverURL)
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return dbURL, nil
}

// DropDatabase terminates the connections to the database name on the
// server that serverURL connects to and drops it, if it exists.
func DropDatabase(ctx context.Context, serverURL, name string) error {
	if !dbNameRE.MatchString(name) {
		return fmt.Errorf("drop database: invalid name %q", name)
	}
	db, err := openDB(ctx, serverURL)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(ctx,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
		return fmt.Errorf("drop database %s: terminate connections: %w", name, err)
	}
	if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// withDatabase returns connString pointed at database name.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse server url: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// A key=value connection string: a later dbname wins.
	return connString + " dbname=" + name, nil
}
