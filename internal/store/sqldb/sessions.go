package sqldb

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// sessions implements store.SessionStore.
type sessions struct{ s *Store }

const sessionCols = "id, user_id, tenant_id, csrf_token, created_at, expires_at, last_seen_at, ip, user_agent"

func scanSession(r rowScanner) (store.Session, error) {
	var v store.Session
	err := r.Scan(&v.ID, &v.UserID, strDest{&v.TenantID}, &v.CSRFToken, timeDest{&v.CreatedAt},
		timeDest{&v.ExpiresAt}, timeDest{&v.LastSeenAt}, &v.IP, &v.UserAgent)
	return v, err
}

// Create inserts v, setting its ID (when empty) and CreatedAt (when zero).
func (x sessions) Create(ctx context.Context, v *store.Session) error {
	s := x.s
	if err := ensureID(&v.ID); err != nil {
		return err
	}
	v.CreatedAt, v.ExpiresAt, v.LastSeenAt = norm(v.CreatedAt), norm(v.ExpiresAt), norm(v.LastSeenAt)
	if v.CreatedAt.IsZero() {
		v.CreatedAt = s.stamp()
	}
	_, err := s.conn().exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.UserID, nullable(v.TenantID), v.CSRFToken, s.t(v.CreatedAt), s.t(v.ExpiresAt),
		s.t(v.LastSeenAt), v.IP, v.UserAgent)
	return s.wrap("create session", err)
}

// Get returns the session with the given ID.
func (x sessions) Get(ctx context.Context, id string) (store.Session, error) {
	v, err := scanSession(x.s.conn().queryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
	return v, x.s.wrap("get session", err)
}

// Update writes the mutable fields of v (everything but the user and
// CreatedAt, which is reloaded).
func (x sessions) Update(ctx context.Context, v *store.Session) error {
	s := x.s
	v.ExpiresAt, v.LastSeenAt = norm(v.ExpiresAt), norm(v.LastSeenAt)
	err := s.conn().queryRow(ctx, `UPDATE sessions SET tenant_id = ?, csrf_token = ?, expires_at = ?, last_seen_at = ?,
		ip = ?, user_agent = ? WHERE id = ? RETURNING user_id, created_at`,
		nullable(v.TenantID), v.CSRFToken, s.t(v.ExpiresAt), s.t(v.LastSeenAt), v.IP, v.UserAgent, v.ID).
		Scan(&v.UserID, timeDest{&v.CreatedAt})
	return s.wrap("update session", err)
}

// Delete removes one session.
func (x sessions) Delete(ctx context.Context, id string) error {
	return x.s.wrap("delete session", affected(x.s.conn().exec(ctx, `DELETE FROM sessions WHERE id = ?`, id)))
}

// DeleteForUser removes every session of a user.
func (x sessions) DeleteForUser(ctx context.Context, userID string) error {
	_, err := x.s.conn().exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return x.s.wrap("delete user sessions", err)
}

// DeleteExpired removes the sessions that expired at or before now and
// returns how many.
func (x sessions) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := x.s.conn().exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, x.s.t(now))
	if err != nil {
		return 0, x.s.wrap("delete expired sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), x.s.wrap("delete expired sessions", err)
}
