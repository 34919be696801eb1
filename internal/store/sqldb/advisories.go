package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/store"
)

type advisories struct{ s *Store }

// Advisories returns the analyst advisory store.
func (s *Store) Advisories() store.AdvisoryStore { return advisories{s} }

const advisoryCols = `id, title, severity, state, doc, author, published_at, created_at, updated_at, version`

func scanAdvisory(r rowScanner) (store.AnalystAdvisory, error) {
	var a store.AnalystAdvisory
	var doc string
	err := r.Scan(&a.ID, &a.Title, &a.Severity, &a.State, &doc, &a.Author, timeDest{&a.PublishedAt}, timeDest{&a.CreatedAt},
		timeDest{&a.UpdatedAt}, &a.Version)
	a.Doc = []byte(doc)
	return a, err
}

// Create stores a new advisory with Version 1.
func (x advisories) Create(ctx context.Context, a *store.AnalystAdvisory) error {
	s := x.s
	if err := ensureID(&a.ID); err != nil {
		return err
	}
	now := s.stamp()
	if _, err := s.conn().exec(ctx, `INSERT INTO analyst_advisories (`+advisoryCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		a.ID, a.Title, a.Severity, a.State, string(a.Doc), a.Author, s.t(a.PublishedAt), s.t(now), s.t(now)); err != nil {
		return s.wrap("create advisory", err)
	}
	a.CreatedAt, a.UpdatedAt, a.Version = now, now, 1
	return nil
}

// Update writes the advisory when its version is current.
func (x advisories) Update(ctx context.Context, a *store.AnalystAdvisory) error {
	s := x.s
	now := s.stamp()
	res, err := s.conn().exec(ctx, `UPDATE analyst_advisories SET title = ?, severity = ?, state = ?, doc = ?, published_at = ?,
		updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
		a.Title, a.Severity, a.State, string(a.Doc), s.t(a.PublishedAt), s.t(now), a.ID, a.Version)
	if err := affected(res, err); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return s.wrap("update advisory", err)
		}
		if _, gerr := x.Get(ctx, a.ID); gerr != nil {
			return gerr
		}
		return fmt.Errorf("update advisory: %w: it was changed by someone else", store.ErrConflict)
	}
	a.UpdatedAt = now
	a.Version++
	return nil
}

// Get returns one advisory.
func (x advisories) Get(ctx context.Context, id string) (store.AnalystAdvisory, error) {
	a, err := scanAdvisory(x.s.conn().queryRow(ctx, `SELECT `+advisoryCols+` FROM analyst_advisories WHERE id = ?`, id))
	return a, x.s.wrap("get advisory", err)
}

// List returns advisories, the most recently changed first.
func (x advisories) List(ctx context.Context, f store.AdvisoryFilter) ([]store.AnalystAdvisory, error) {
	limit, offset := PageBounds(f.Page)
	where, args := "1 = 1", []any{}
	if f.State != "" {
		where, args = "state = ?", append(args, f.State)
	}
	as, err := collect(ctx, x.s.conn(), scanAdvisory, `SELECT `+advisoryCols+` FROM analyst_advisories WHERE `+where+`
		ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	return as, x.s.wrap("list advisories", err)
}
