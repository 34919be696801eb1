package sqldb

import (
	"context"
	"fmt"

	"github.com/vigil-sec/vigil/internal/store"
)

// detection implements store.DetectionStore.
type detection struct{ s *Store }

var _ store.DetectionStore = detection{}

const customRuleCols = `tenant_id, id, title, source, created_by, created_at, updated_at`

func scanCustomRule(r rowScanner) (store.CustomRule, error) {
	var c store.CustomRule
	var src string
	err := r.Scan(&c.TenantID, &c.ID, &c.Title, &src, &c.CreatedBy, timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt})
	c.Source = []byte(src)
	return c, err
}

// PutCustomRule creates or replaces a rule; a replaced rule keeps its
// creator and creation time.
func (x detection) PutCustomRule(ctx context.Context, r *store.CustomRule) error {
	s := x.s
	if r.TenantID == "" || r.ID == "" {
		return store.NewFieldError("id", store.CodeRequired, nil, "a custom rule needs a tenant and an id")
	}
	now := s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO detection_custom_rules (`+customRuleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, id) DO UPDATE SET title = excluded.title, source = excluded.source,
		updated_at = excluded.updated_at`,
		r.TenantID, r.ID, r.Title, string(r.Source), r.CreatedBy, s.t(now), s.t(now))
	if err != nil {
		return s.wrap("put custom rule", err)
	}
	got, err := scanCustomRule(s.conn().queryRow(ctx, `SELECT `+customRuleCols+` FROM detection_custom_rules
		WHERE tenant_id = ? AND id = ?`, r.TenantID, r.ID))
	if err != nil {
		return s.wrap("get custom rule", err)
	}
	*r = got
	return nil
}

// DeleteCustomRule removes a rule.
func (x detection) DeleteCustomRule(ctx context.Context, tenantID, id string) error {
	res, err := x.s.conn().exec(ctx, `DELETE FROM detection_custom_rules WHERE tenant_id = ? AND id = ?`, tenantID, id)
	return x.s.wrap("delete custom rule", affected(res, err))
}

// CustomRules lists a tenant's rules, or every tenant's.
func (x detection) CustomRules(ctx context.Context, tenantID string) ([]store.CustomRule, error) {
	q := `SELECT ` + customRuleCols + ` FROM detection_custom_rules`
	var args []any
	if tenantID != "" {
		q += ` WHERE tenant_id = ?`
		args = append(args, tenantID)
	}
	rs, err := collect(ctx, x.s.conn(), scanCustomRule, q+` ORDER BY tenant_id, title, id`, args...)
	return rs, x.s.wrap("list custom rules", err)
}

const ruleSettingCols = `tenant_id, rule_id, enabled, updated_by, updated_at`

func scanRuleSetting(r rowScanner) (store.RuleSetting, error) {
	var rs store.RuleSetting
	err := r.Scan(&rs.TenantID, &rs.RuleID, &rs.Enabled, &rs.UpdatedBy, timeDest{&rs.UpdatedAt})
	return rs, err
}

// SetRuleEnabled records a tenant's setting for a rule.
func (x detection) SetRuleEnabled(ctx context.Context, rs *store.RuleSetting) error {
	s := x.s
	if rs.TenantID == "" || rs.RuleID == "" {
		return store.NewFieldError("rule", store.CodeRequired, nil, "a rule setting needs a tenant and a rule id")
	}
	now := s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO detection_rule_settings (`+ruleSettingCols+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, rule_id) DO UPDATE SET enabled = excluded.enabled,
		updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		rs.TenantID, rs.RuleID, rs.Enabled, rs.UpdatedBy, s.t(now))
	if err != nil {
		return s.wrap("set rule enabled", err)
	}
	rs.UpdatedAt = now
	return nil
}

// RuleSettings lists a tenant's settings, or every tenant's.
func (x detection) RuleSettings(ctx context.Context, tenantID string) ([]store.RuleSetting, error) {
	q := `SELECT ` + ruleSettingCols + ` FROM detection_rule_settings`
	var args []any
	if tenantID != "" {
		q += ` WHERE tenant_id = ?`
		args = append(args, tenantID)
	}
	rs, err := collect(ctx, x.s.conn(), scanRuleSetting, q+` ORDER BY tenant_id, rule_id`, args...)
	return rs, x.s.wrap("list rule settings", err)
}

// SaveCorrelationState replaces the snapshot of a tenant and node.
func (x detection) SaveCorrelationState(ctx context.Context, cs *store.CorrelationState) error {
	s := x.s
	if len(cs.State) > store.MaxCorrelationState {
		return store.NewFieldError("state", store.CodeTooLarge, map[string]any{"max": store.MaxCorrelationState},
			"correlation state of %d bytes exceeds %d", len(cs.State), store.MaxCorrelationState)
	}
	if len(cs.NodeID) > store.MaxNodeID {
		return store.NewFieldError("node_id", store.CodeTooLarge, map[string]any{"max": store.MaxNodeID},
			"node id of %d bytes exceeds %d", len(cs.NodeID), store.MaxNodeID)
	}
	now := s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO detection_correlation_state (tenant_id, node_id, state, saved_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, node_id) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at`,
		cs.TenantID, cs.NodeID, string(cs.State), s.t(now))
	if err != nil {
		return s.wrap("save correlation state", err)
	}
	cs.SavedAt = now
	return nil
}

// CorrelationStates returns every tenant's and node's snapshot.
func (x detection) CorrelationStates(ctx context.Context) ([]store.CorrelationState, error) {
	cs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.CorrelationState, error) {
		var c store.CorrelationState
		var st string
		err := r.Scan(&c.TenantID, &c.NodeID, &st, timeDest{&c.SavedAt})
		c.State = []byte(st)
		return c, err
	}, `SELECT tenant_id, node_id, state, saved_at FROM detection_correlation_state ORDER BY tenant_id, node_id`)
	return cs, x.s.wrap("list correlation state", err)
}

// DeleteCorrelationState drops a tenant's snapshots, of every node.
func (x detection) DeleteCorrelationState(ctx context.Context, tenantID string) error {
	_, err := x.s.conn().exec(ctx, `DELETE FROM detection_correlation_state WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return x.s.wrap(fmt.Sprintf("delete correlation state of %s", tenantID), err)
	}
	return nil
}
