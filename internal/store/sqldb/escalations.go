package sqldb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// escalations implements store.EscalationStore.
type escalations struct{ s *Store }

var _ store.EscalationStore = escalations{}

const escalationRuleCols = `tenant_id, name, spec, enabled, updated_by, updated_at, enabled_at, kev_pending, kev_skipped`

func scanEscalationRule(r rowScanner) (store.EscalationRule, error) {
	var e store.EscalationRule
	var spec string
	err := r.Scan(&e.TenantID, &e.Name, &spec, &e.Enabled, &e.UpdatedBy, timeDest{&e.UpdatedAt}, timeDest{&e.EnabledAt},
		&e.KEVPending, &e.KEVSkipped)
	e.Spec = []byte(spec)
	return e, err
}

// PutRule creates or replaces a rule. A restart (a rule newly enabled)
// stamps it and resets its KEV backlog; otherwise the stored stamp stays.
func (x escalations) PutRule(ctx context.Context, r *store.EscalationRule) error {
	s := x.s
	now := s.stamp()
	keep := `, enabled_at = escalation_rules.enabled_at, kev_pending = escalation_rules.kev_pending, kev_skipped = escalation_rules.kev_skipped`
	enabledAt := time.Time{}
	if r.Restart {
		keep, enabledAt = `, enabled_at = excluded.enabled_at, kev_pending = excluded.kev_pending, kev_skipped = 0`, now
		if !r.EnabledAt.IsZero() {
			enabledAt = norm(r.EnabledAt)
		}
	}
	_, err := s.conn().exec(ctx, `INSERT INTO escalation_rules (`+escalationRuleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (tenant_id, name) DO UPDATE SET spec = excluded.spec, enabled = excluded.enabled,
		updated_by = excluded.updated_by, updated_at = excluded.updated_at`+keep,
		r.TenantID, r.Name, string(r.Spec), r.Enabled, r.UpdatedBy, s.t(now), s.t(enabledAt), r.Restart)
	if err != nil {
		return s.wrap("put escalation rule", err)
	}
	r.UpdatedAt = now
	if r.Restart {
		r.EnabledAt, r.KEVPending, r.KEVSkipped, r.Restart = enabledAt, true, 0, false
	}
	return nil
}

// SkipKEVBacklog counts a rule's skipped KEV backlog, while the rule is
// still at the enable time the caller read.
func (x escalations) SkipKEVBacklog(ctx context.Context, tenantID, name string, enabledAt time.Time, skipped int) error {
	s := x.s
	if _, err := scanEscalationRule(s.conn().queryRow(ctx, `SELECT `+escalationRuleCols+` FROM escalation_rules
		WHERE tenant_id = ? AND name = ?`, tenantID, name)); err != nil {
		return s.wrap("skip kev backlog", err)
	}
	_, err := s.conn().exec(ctx, `UPDATE escalation_rules SET kev_pending = ?, kev_skipped = kev_skipped + ?
		WHERE tenant_id = ? AND name = ? AND enabled_at = ?`, false, max(skipped, 0), tenantID, name, s.t(enabledAt))
	return s.wrap("skip kev backlog", err)
}

// DeleteRule removes a rule; an unknown one is ErrNotFound.
func (x escalations) DeleteRule(ctx context.Context, tenantID, name string) error {
	res, err := x.s.conn().exec(ctx, `DELETE FROM escalation_rules WHERE tenant_id = ? AND name = ?`, tenantID, name)
	return x.s.wrap("delete escalation rule", affected(res, err))
}

// Rules lists a tenant's rules by name.
func (x escalations) Rules(ctx context.Context, tenantID string) ([]store.EscalationRule, error) {
	rs, err := collect(ctx, x.s.conn(), scanEscalationRule, `SELECT `+escalationRuleCols+` FROM escalation_rules
		WHERE tenant_id = ? ORDER BY name`, tenantID)
	return rs, x.s.wrap("list escalation rules", err)
}

// EnabledRules lists every tenant's enabled rules.
func (x escalations) EnabledRules(ctx context.Context) ([]store.EscalationRule, error) {
	rs, err := collect(ctx, x.s.conn(), scanEscalationRule, `SELECT `+escalationRuleCols+` FROM escalation_rules
		WHERE enabled = ? ORDER BY tenant_id, name`, true)
	return rs, x.s.wrap("list enabled escalation rules", err)
}

const escalationCols = `id, tenant_id, rule, state, next_at, done, rev, raised_at`

func scanEscalation(r rowScanner) (store.EscalationState, error) {
	var e store.EscalationState
	var state string
	err := r.Scan(&e.ID, &e.TenantID, &e.Rule, &state, timeDest{&e.NextAt}, &e.Done, &e.Rev, timeDest{&e.RaisedAt})
	e.State = []byte(state)
	return e, err
}

// Put writes an escalation over the revision it was read at.
func (x escalations) Put(ctx context.Context, e store.EscalationState) error {
	s := x.s
	if e.Rev == 0 {
		_, err := s.conn().exec(ctx, `INSERT INTO escalations (`+escalationCols+`) VALUES (?, ?, ?, ?, ?, ?, 1, ?)`,
			e.ID, e.TenantID, e.Rule, string(e.State), s.t(norm(e.NextAt)), e.Done, s.t(norm(e.RaisedAt)))
		return s.wrap("insert escalation", err) // a second insert is ErrConflict

	}
	res, err := s.conn().exec(ctx, `UPDATE escalations SET state = ?, next_at = ?, done = ?, rev = rev + 1
		WHERE id = ? AND rev = ?`, string(e.State), s.t(norm(e.NextAt)), e.Done, e.ID, e.Rev)
	if err := affected(res, err); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: escalation %s changed meanwhile", store.ErrConflict, e.ID)
		}
		return s.wrap("update escalation", err)
	}
	return nil
}

// Get returns one escalation.
func (x escalations) Get(ctx context.Context, id string) (store.EscalationState, error) {
	e, err := scanEscalation(x.s.conn().queryRow(ctx, `SELECT `+escalationCols+` FROM escalations WHERE id = ?`, id))
	return e, x.s.wrap("get escalation", err)
}

// Due lists open escalations due at now.
func (x escalations) Due(ctx context.Context, now time.Time, limit int) ([]store.EscalationState, error) {
	limit = min(max(limit, 1), store.MaxPageSize)
	es, err := collect(ctx, x.s.conn(), scanEscalation, `SELECT `+escalationCols+` FROM escalations
		WHERE done = ? AND next_at <= ? ORDER BY next_at, id LIMIT ?`, false, x.s.t(norm(now)), limit)
	return es, x.s.wrap("due escalations", err)
}

// List returns a page of a tenant's escalations, newest first.
func (x escalations) List(ctx context.Context, tenantID string, p store.Page) ([]store.EscalationState, error) {
	limit, offset := PageBounds(p)
	es, err := collect(ctx, x.s.conn(), scanEscalation, `SELECT `+escalationCols+` FROM escalations
		WHERE tenant_id = ? ORDER BY raised_at DESC, id DESC LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return es, x.s.wrap("list escalations", err)
}
