package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"

	"github.com/vigil-sec/vigil/internal/store"
)

// Migrations describes a driver's embedded goose migrations.
type Migrations struct {
	// Dialect is the goose dialect of the database.
	Dialect goose.Dialect
	// FS holds the *.sql migration files at its root.
	FS fs.FS
	// Options are extra provider options, such as a session locker.
	Options []goose.ProviderOption
}

// provider returns a goose provider for db that keeps no global state.
func (m Migrations) provider(db *sql.DB, logger *slog.Logger) (*goose.Provider, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := append([]goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(logger),
	}, m.Options...)
	p, err := goose.NewProvider(m.Dialect, db, m.FS, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// Versions returns the schema version of db and the newest version among
// the migrations. It creates goose's version table when it is missing.
func (m Migrations) Versions(ctx context.Context, db *sql.DB) (current, latest int64, err error) {
	p, err := m.provider(db, nil)
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	return current, latest, nil
}

// CheckVersion returns an error wrapping store.ErrSchemaTooNew when the
// schema of db is newer than the migrations know.
func (m Migrations) CheckVersion(ctx context.Context, db *sql.DB) error {
	current, latest, err := m.Versions(ctx, db)
	if err != nil {
		return err
	}
	return tooNew(current, latest)
}

func tooNew(current, latest int64) error {
	if current > latest {
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d", store.ErrSchemaTooNew, current, latest)
	}
	return nil
}

// Up applies the pending migrations to db. It refuses, with an error
// wrapping store.ErrSchemaTooNew, a database migrated by a newer binary,
// checking again after migrating in case a newer node migrated meanwhile.
func (m Migrations) Up(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	p, err := m.provider(db, logger)
	if err != nil {
		return err
	}
	current, latest, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if err := tooNew(current, latest); err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	return tooNew(current, latest)
}
