package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// teams implements store.TeamStore. Teams belong to the service provider,
// not to a tenant.
type teams struct{ s *Store }

const teamCols = "id, name, kind, description, created_at, updated_at"

func scanTeam(r rowScanner) (store.Team, error) {
	var t store.Team
	err := r.Scan(&t.ID, &t.Name, &t.Kind, &t.Description, timeDest{&t.CreatedAt}, timeDest{&t.UpdatedAt})
	return t, err
}

// Create inserts t, setting its ID (when empty) and timestamps.
func (x teams) Create(ctx context.Context, t *store.Team) error {
	s := x.s
	if err := ensureID(&t.ID); err != nil {
		return err
	}
	now := s.stamp()
	t.CreatedAt, t.UpdatedAt = now, now
	_, err := s.conn().exec(ctx, `INSERT INTO teams (`+teamCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Kind, t.Description, s.t(now), s.t(now))
	return s.wrap("create team", err)
}

// Get returns the team with the given ID.
func (x teams) Get(ctx context.Context, id string) (store.Team, error) {
	t, err := scanTeam(x.s.conn().queryRow(ctx, `SELECT `+teamCols+` FROM teams WHERE id = ?`, id))
	return t, x.s.wrap("get team", err)
}

// List returns every team ordered by name.
func (x teams) List(ctx context.Context) ([]store.Team, error) {
	ts, err := collect(ctx, x.s.conn(), scanTeam, `SELECT `+teamCols+` FROM teams ORDER BY lower(name), id`)
	return ts, x.s.wrap("list teams", err)
}

// Update writes t's fields, sets UpdatedAt and reloads CreatedAt.
func (x teams) Update(ctx context.Context, t *store.Team) error {
	s := x.s
	now := s.stamp()
	err := s.conn().queryRow(ctx, `UPDATE teams SET name = ?, kind = ?, description = ?, updated_at = ?
		WHERE id = ? RETURNING created_at`, t.Name, t.Kind, t.Description, s.t(now), t.ID).Scan(timeDest{&t.CreatedAt})
	if err != nil {
		return s.wrap("update team", err)
	}
	t.UpdatedAt = now
	return nil
}

// Delete removes a team and its member list.
func (x teams) Delete(ctx context.Context, id string) error {
	return x.s.wrap("delete team", affected(x.s.conn().exec(ctx, `DELETE FROM teams WHERE id = ?`, id)))
}

// SetMember adds a user to a team or updates their lead flag. An unknown
// team or user gives store.ErrNotFound.
func (x teams) SetMember(ctx context.Context, m store.TeamMember) error {
	_, err := x.s.conn().exec(ctx, `INSERT INTO team_members (team_id, user_id, lead) VALUES (?, ?, ?)
		ON CONFLICT (team_id, user_id) DO UPDATE SET lead = excluded.lead`, m.TeamID, m.UserID, m.Lead)
	return x.s.wrap("set team member", err)
}

// RemoveMember takes a user out of a team.
func (x teams) RemoveMember(ctx context.Context, teamID, userID string) error {
	return x.s.wrap("remove team member", affected(x.s.conn().exec(ctx,
		`DELETE FROM team_members WHERE team_id = ? AND user_id = ?`, teamID, userID)))
}

// Members returns a team's members ordered by user ID.
func (x teams) Members(ctx context.Context, teamID string) ([]store.TeamMember, error) {
	ms, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.TeamMember, error) {
		var m store.TeamMember
		err := r.Scan(&m.TeamID, &m.UserID, &m.Lead)
		return m, err
	}, `SELECT team_id, user_id, lead FROM team_members WHERE team_id = ? ORDER BY user_id`, teamID)
	return ms, x.s.wrap("list team members", err)
}
