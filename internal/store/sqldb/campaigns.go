package sqldb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/store"
)

// campaignStore implements store.CampaignStore; every query is scoped by
// tenant.
type campaignStore struct{ s *Store }

const campaignCols = `id, tenant_id, kind, name, asset_id, period_id, phase, outcome, closed, starts_at, ends_at, doc, created_by, created_at, updated_at, version`

func scanCampaign(r rowScanner) (store.Campaign, error) {
	var c store.Campaign
	var doc json.RawMessage
	err := r.Scan(&c.ID, &c.TenantID, &c.Kind, &c.Name, &c.AssetID, &c.PeriodID, &c.Phase, &c.Outcome, &c.Closed,
		timeDest{&c.Start}, timeDest{&c.End}, jsonDest{&doc}, &c.CreatedBy, timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt}, &c.Version)
	c.Doc = []byte(doc)
	return c, err
}

// docArg is a campaign document as a JSON column value ("{}" when empty).
func docArg(b []byte) (string, error) {
	if len(b) == 0 {
		return "{}", nil
	}
	if !json.Valid(b) {
		return "", fmt.Errorf("%w: the campaign document is not JSON", store.ErrInvalid)
	}
	return string(b), nil
}

// Create stores a new campaign with its tasks.
func (x campaignStore) Create(ctx context.Context, c *store.Campaign, tasks []store.CampaignTask) error {
	s := x.s
	if err := ensureID(&c.ID); err != nil {
		return err
	}
	doc, err := docArg(c.Doc)
	if err != nil {
		return err
	}
	now := s.stamp()
	err = s.inTx(ctx, func(cn conn) error {
		if _, err := cn.exec(ctx, `INSERT INTO campaigns (`+campaignCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			c.ID, c.TenantID, c.Kind, c.Name, c.AssetID, c.PeriodID, c.Phase, c.Outcome, c.Closed, s.t(c.Start), s.t(c.End), doc,
			c.CreatedBy, s.t(now), s.t(now)); err != nil {
			return err
		}
		for i, t := range tasks {
			params, err := attrsArg(t.Params)
			if err != nil {
				return err
			}
			items := t.Items
			if items == nil {
				items = []store.CampaignItem{}
			}
			its, err := jsonArg(items)
			if err != nil {
				return err
			}
			if _, err := cn.exec(ctx, `INSERT INTO campaign_tasks (tenant_id, campaign_id, seq, task, phase, kind, title, owner, due, params, items)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.TenantID, c.ID, i+1, t.ID, t.Phase, t.Kind, t.Title, t.Owner, s.t(t.Due), params, its); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap("create campaign", err)
	}
	c.Start, c.End = norm(c.Start), norm(c.End)
	c.CreatedAt, c.UpdatedAt, c.Version = now, now, 1
	return nil
}

// Get returns one campaign.
func (x campaignStore) Get(ctx context.Context, tenantID, id string) (store.Campaign, error) {
	c, err := scanCampaign(x.s.conn().queryRow(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return c, x.s.wrap("get campaign", err)
}

// List returns a page of campaigns, most recently updated first.
func (x campaignStore) List(ctx context.Context, tenantID string, f store.CampaignFilter) ([]store.Campaign, error) {
	limit, offset := PageBounds(f.Page)
	var w where
	w.add("tenant_id = ?", tenantID)
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	if f.OpenOnly {
		w.add("closed = ?", false)
	}
	cs, err := collect(ctx, x.s.conn(), scanCampaign, `SELECT `+campaignCols+` FROM campaigns`+w.String()+
		` ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`, append(w.args, limit, offset)...)
	return cs, x.s.wrap("list campaigns", err)
}

// campaignExists checks a campaign is the tenant's.
func campaignExists(ctx context.Context, c conn, tenantID, id string) error {
	var n int
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM campaigns WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Update writes a campaign if it was not changed since it was read.
func (x campaignStore) Update(ctx context.Context, c *store.Campaign) error {
	s := x.s
	doc, err := docArg(c.Doc)
	if err != nil {
		return err
	}
	now := s.stamp()
	err = s.inTx(ctx, func(cn conn) error {
		res, err := cn.exec(ctx, `UPDATE campaigns SET name = ?, phase = ?, outcome = ?, closed = ?, starts_at = ?, ends_at = ?, doc = ?,
			updated_at = ?, version = version + 1 WHERE tenant_id = ? AND id = ? AND version = ?`,
			c.Name, c.Phase, c.Outcome, c.Closed, s.t(c.Start), s.t(c.End), doc, s.t(now), c.TenantID, c.ID, c.Version)
		if err := affected(res, err); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := campaignExists(ctx, cn, c.TenantID, c.ID); err != nil {
				return err
			}
			return fmt.Errorf("%w: the campaign was changed by someone else", store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return s.wrap("update campaign", err)
	}
	c.Start, c.End = norm(c.Start), norm(c.End)
	c.UpdatedAt = now
	c.Version++
	return nil
}

// Tasks returns the campaign's tasks in order.
func (x campaignStore) Tasks(ctx context.Context, tenantID, campaignID string) ([]store.CampaignTask, error) {
	ts, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.CampaignTask, error) {
		var t store.CampaignTask
		err := r.Scan(&t.ID, &t.Phase, &t.Kind, &t.Title, &t.Owner, timeDest{&t.Due}, jsonDest{&t.Params}, jsonDest{&t.Items})
		if len(t.Items) == 0 {
			t.Items = nil
		}
		return t, err
	}, `SELECT task, phase, kind, title, owner, due, params, items FROM campaign_tasks WHERE tenant_id = ? AND campaign_id = ? ORDER BY seq`,
		tenantID, campaignID)
	return ts, x.s.wrap("list campaign tasks", err)
}

// AddResults appends runs, each as the next run of its slot.
func (x campaignStore) AddResults(ctx context.Context, tenantID, campaignID string, rs []store.CampaignResult) error {
	s := x.s
	type enc struct{ findings, evidence string }
	encs := make([]enc, len(rs))
	for i, r := range rs {
		fs := r.Findings
		if fs == nil {
			fs = []store.CampaignFinding{}
		}
		f, err := jsonArg(fs)
		if err != nil {
			return err
		}
		e, err := tagsArg(r.Evidence)
		if err != nil {
			return err
		}
		encs[i] = enc{f, e}
	}
	now := s.stamp()
	runs := make([]int, len(rs))
	err := s.inTx(ctx, func(c conn) error {
		if err := campaignExists(ctx, c, tenantID, campaignID); err != nil {
			return err
		}
		for i, r := range rs {
			var last int
			if err := c.queryRow(ctx, `SELECT COALESCE(MAX(run), 0) FROM campaign_results WHERE campaign_id = ? AND task = ? AND asset_id = ? AND item = ?`,
				campaignID, r.TaskID, r.AssetID, r.ItemID).Scan(&last); err != nil {
				return err
			}
			runs[i] = last + 1
			at := r.At
			if at.IsZero() {
				at = now
			}
			if _, err := c.exec(ctx, `INSERT INTO campaign_results (tenant_id, campaign_id, task, asset_id, item, run, status, findings, error, evidence, by_name, at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, tenantID, campaignID, r.TaskID, r.AssetID, r.ItemID, runs[i], r.Status,
				encs[i].findings, r.Error, encs[i].evidence, r.By, s.t(at)); err != nil {
				return err
			}
		}
		_, err := c.exec(ctx, `UPDATE campaigns SET updated_at = ? WHERE tenant_id = ? AND id = ?`, s.t(now), tenantID, campaignID)
		return err
	})
	if err != nil {
		return s.wrap("add campaign results", err)
	}
	for i := range rs {
		rs[i].TenantID, rs[i].CampaignID, rs[i].Run = tenantID, campaignID, runs[i]
		if rs[i].At.IsZero() {
			rs[i].At = now
		}
		rs[i].At = norm(rs[i].At)
	}
	return nil
}

// Results returns every run of the campaign.
func (x campaignStore) Results(ctx context.Context, tenantID, campaignID string) ([]store.CampaignResult, error) {
	rs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.CampaignResult, error) {
		var c store.CampaignResult
		err := r.Scan(&c.TenantID, &c.CampaignID, &c.TaskID, &c.AssetID, &c.ItemID, &c.Run, &c.Status, jsonDest{&c.Findings}, &c.Error,
			jsonDest{&c.Evidence}, &c.By, timeDest{&c.At})
		if len(c.Findings) == 0 {
			c.Findings = nil
		}
		return c, err
	}, `SELECT tenant_id, campaign_id, task, asset_id, item, run, status, findings, error, evidence, by_name, at FROM campaign_results
		WHERE tenant_id = ? AND campaign_id = ? ORDER BY task, asset_id, item, run`, tenantID, campaignID)
	return rs, x.s.wrap("list campaign results", err)
}

// AddDecision appends a decision.
func (x campaignStore) AddDecision(ctx context.Context, d *store.CampaignDecision) error {
	s := x.s
	reasons, err := tagsArg(d.Reasons)
	if err != nil {
		return err
	}
	conds := d.Conditions
	if conds == nil {
		conds = []store.CampaignCondition{}
	}
	cj, err := jsonArg(conds)
	if err != nil {
		return err
	}
	at := d.At
	if at.IsZero() {
		at = s.stamp()
	}
	var seq int
	err = s.inTx(ctx, func(c conn) error {
		if err := campaignExists(ctx, c, d.TenantID, d.CampaignID); err != nil {
			return err
		}
		if err := c.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM campaign_decisions WHERE campaign_id = ?`, d.CampaignID).Scan(&seq); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO campaign_decisions (tenant_id, campaign_id, seq, outcome, reasons, conditions, next_expiry, decided_by, signed_off, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.TenantID, d.CampaignID, seq, d.Outcome, reasons, cj, s.t(d.NextExpiry), d.DecidedBy, d.SignedOff, s.t(at))
		return err
	})
	if err != nil {
		return s.wrap("add campaign decision", err)
	}
	d.Seq, d.At, d.NextExpiry = seq, norm(at), norm(d.NextExpiry)
	return nil
}

// Decisions returns at most limit decisions, newest first.
func (x campaignStore) Decisions(ctx context.Context, tenantID, campaignID string, limit int) ([]store.CampaignDecision, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("campaign decisions: %w: limit must be positive", store.ErrInvalid)
	}
	ds, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.CampaignDecision, error) {
		var d store.CampaignDecision
		err := r.Scan(&d.TenantID, &d.CampaignID, &d.Seq, &d.Outcome, jsonDest{&d.Reasons}, jsonDest{&d.Conditions}, timeDest{&d.NextExpiry},
			&d.DecidedBy, &d.SignedOff, timeDest{&d.At})
		if len(d.Conditions) == 0 {
			d.Conditions = nil
		}
		for i := range d.Conditions {
			d.Conditions[i].Expires = norm(d.Conditions[i].Expires)
		}
		return d, err
	}, `SELECT tenant_id, campaign_id, seq, outcome, reasons, conditions, next_expiry, decided_by, signed_off, at FROM campaign_decisions
		WHERE tenant_id = ? AND campaign_id = ? ORDER BY seq DESC LIMIT ?`, tenantID, campaignID, limit)
	return ds, x.s.wrap("list campaign decisions", err)
}

// SetRoster replaces the duty roster.
func (x campaignStore) SetRoster(ctx context.Context, tenantID, campaignID string, shifts []store.DutyShift) error {
	s := x.s
	err := s.inTx(ctx, func(c conn) error {
		if err := campaignExists(ctx, c, tenantID, campaignID); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM campaign_duty WHERE tenant_id = ? AND campaign_id = ?`, tenantID, campaignID); err != nil {
			return err
		}
		for i, sh := range shifts {
			lead, err := jsonArg(sh.Lead)
			if err != nil {
				return err
			}
			ms := sh.Members
			if ms == nil {
				ms = []store.DutyContact{}
			}
			members, err := jsonArg(ms)
			if err != nil {
				return err
			}
			if _, err := c.exec(ctx, `INSERT INTO campaign_duty (tenant_id, campaign_id, seq, starts_at, ends_at, lead, members) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				tenantID, campaignID, i+1, s.t(sh.Start), s.t(sh.End), lead, members); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("set duty roster", err)
}

// Roster returns the shifts by start.
func (x campaignStore) Roster(ctx context.Context, tenantID, campaignID string) ([]store.DutyShift, error) {
	ss, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.DutyShift, error) {
		var sh store.DutyShift
		err := r.Scan(timeDest{&sh.Start}, timeDest{&sh.End}, jsonDest{&sh.Lead}, jsonDest{&sh.Members})
		if len(sh.Members) == 0 {
			sh.Members = nil
		}
		return sh, err
	}, `SELECT starts_at, ends_at, lead, members FROM campaign_duty WHERE tenant_id = ? AND campaign_id = ? ORDER BY starts_at, seq`, tenantID, campaignID)
	return ss, x.s.wrap("list duty roster", err)
}

// AddDailyReport stores the report of a day.
func (x campaignStore) AddDailyReport(ctx context.Context, r *store.CampaignDailyReport) error {
	s := x.s
	figs, err := docArg(r.Figures)
	if err != nil {
		return err
	}
	now := s.stamp()
	err = s.inTx(ctx, func(c conn) error {
		if err := campaignExists(ctx, c, r.TenantID, r.CampaignID); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO campaign_daily_reports (tenant_id, campaign_id, day, quiet, report_id, figures, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			r.TenantID, r.CampaignID, r.Day, r.Quiet, r.ReportID, figs, s.t(now))
		return err
	})
	if err != nil {
		return s.wrap("add daily report", err)
	}
	r.CreatedAt = now
	return nil
}

// DailyReports returns the campaign's daily reports by day.
func (x campaignStore) DailyReports(ctx context.Context, tenantID, campaignID string) ([]store.CampaignDailyReport, error) {
	rs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.CampaignDailyReport, error) {
		var d store.CampaignDailyReport
		var figs json.RawMessage
		err := r.Scan(&d.TenantID, &d.CampaignID, &d.Day, &d.Quiet, &d.ReportID, jsonDest{&figs}, timeDest{&d.CreatedAt})
		d.Figures = []byte(figs)
		return d, err
	}, `SELECT tenant_id, campaign_id, day, quiet, report_id, figures, created_at FROM campaign_daily_reports
		WHERE tenant_id = ? AND campaign_id = ? ORDER BY day`, tenantID, campaignID)
	return rs, x.s.wrap("list daily reports", err)
}
