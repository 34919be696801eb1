package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// users implements store.UserStore. Usernames are unique and looked up
// regardless of case.
type users struct{ s *Store }

const userCols = `id, username, display_name, email, password_hash, locale, global_role, disabled,
	must_change_password, created_at, updated_at, last_login_at`

func scanUser(r rowScanner) (store.User, error) {
	var u store.User
	err := r.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.PasswordHash, &u.Locale, &u.GlobalRole,
		&u.Disabled, &u.MustChangePassword, timeDest{&u.CreatedAt}, timeDest{&u.UpdatedAt}, timeDest{&u.LastLoginAt})
	return u, err
}

// Create inserts u, setting its ID (when empty) and timestamps. A username
// taken in any case gives store.ErrConflict.
func (x users) Create(ctx context.Context, u *store.User) error {
	s := x.s
	if err := ensureID(&u.ID); err != nil {
		return err
	}
	now := s.stamp()
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = now, now, norm(u.LastLoginAt)
	_, err := s.conn().exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, u.DisplayName, u.Email, u.PasswordHash, u.Locale, u.GlobalRole, u.Disabled,
		u.MustChangePassword, s.t(now), s.t(now), s.t(u.LastLoginAt))
	return s.wrap("create user", err)
}

// Get returns the user with the given ID.
func (x users) Get(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(x.s.conn().queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	return u, x.s.wrap("get user", err)
}

// GetByUsername returns the user with the given username, ignoring case.
func (x users) GetByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(x.s.conn().queryRow(ctx, `SELECT `+userCols+` FROM users WHERE lower(username) = lower(?)`, username))
	return u, x.s.wrap("get user by username", err)
}

// List returns every user ordered by username.
func (x users) List(ctx context.Context) ([]store.User, error) {
	us, err := collect(ctx, x.s.conn(), scanUser, `SELECT `+userCols+` FROM users ORDER BY lower(username), id`)
	return us, x.s.wrap("list users", err)
}

// Count returns the number of users.
func (x users) Count(ctx context.Context) (int, error) {
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, x.s.wrap("count users", err)
}

// Update writes u's fields, sets UpdatedAt and reloads CreatedAt.
func (x users) Update(ctx context.Context, u *store.User) error {
	s := x.s
	now := s.stamp()
	u.LastLoginAt = norm(u.LastLoginAt)
	err := s.conn().queryRow(ctx, `UPDATE users SET username = ?, display_name = ?, email = ?, password_hash = ?,
		locale = ?, global_role = ?, disabled = ?, must_change_password = ?, updated_at = ?, last_login_at = ?
		WHERE id = ? RETURNING created_at`,
		u.Username, u.DisplayName, u.Email, u.PasswordHash, u.Locale, u.GlobalRole, u.Disabled,
		u.MustChangePassword, s.t(now), s.t(u.LastLoginAt), u.ID).Scan(timeDest{&u.CreatedAt})
	if err != nil {
		return s.wrap("update user", err)
	}
	u.UpdatedAt = now
	return nil
}

// Delete removes a user; the foreign keys cascade to the user's
// memberships, team memberships, sessions and API tokens.
func (x users) Delete(ctx context.Context, id string) error {
	return x.s.wrap("delete user", affected(x.s.conn().exec(ctx, `DELETE FROM users WHERE id = ?`, id)))
}

const membershipCols = "user_id, tenant_id, role, created_at"

func scanMembership(r rowScanner) (store.Membership, error) {
	var m store.Membership
	err := r.Scan(&m.UserID, &m.TenantID, &m.Role, timeDest{&m.CreatedAt})
	return m, err
}

// SetMembership creates the membership or replaces its role, keeping the
// original CreatedAt. An unknown user or tenant gives store.ErrNotFound.
func (x users) SetMembership(ctx context.Context, m store.Membership) error {
	s := x.s
	_, err := s.conn().exec(ctx, `INSERT INTO memberships (`+membershipCols+`) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = excluded.role`,
		m.UserID, m.TenantID, m.Role, s.t(s.stamp()))
	return s.wrap("set membership", err)
}

// RemoveMembership deletes the user's membership of the tenant.
func (x users) RemoveMembership(ctx context.Context, userID, tenantID string) error {
	return x.s.wrap("remove membership", affected(x.s.conn().exec(ctx,
		`DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?`, tenantID, userID)))
}

// Memberships returns the user's memberships ordered by tenant ID.
func (x users) Memberships(ctx context.Context, userID string) ([]store.Membership, error) {
	ms, err := collect(ctx, x.s.conn(), scanMembership,
		`SELECT `+membershipCols+` FROM memberships WHERE user_id = ? ORDER BY tenant_id`, userID)
	return ms, x.s.wrap("list memberships", err)
}

// TenantMembers returns the tenant's memberships ordered by user ID.
func (x users) TenantMembers(ctx context.Context, tenantID string) ([]store.Membership, error) {
	ms, err := collect(ctx, x.s.conn(), scanMembership,
		`SELECT `+membershipCols+` FROM memberships WHERE tenant_id = ? ORDER BY user_id`, tenantID)
	return ms, x.s.wrap("list tenant members", err)
}
