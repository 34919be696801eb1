package sqldb

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// traffics implements store.TrafficStore; every query is scoped by tenant.
type traffics struct{ s *Store }

const trafficAnalysisCols = `id, tenant_id, name, kind, status, error, period_from, period_to, lines, records, skipped,
	findings, alerts, created_by, created_at, finished_at`

func scanTrafficAnalysis(r rowScanner, withSummary bool) (store.TrafficAnalysis, error) {
	var v store.TrafficAnalysis
	dest := []any{&v.ID, &v.TenantID, &v.Name, &v.Kind, &v.Status, &v.Error, timeDest{&v.From}, timeDest{&v.To},
		&v.Lines, &v.Records, &v.Skipped, &v.Findings, &v.Alerts, &v.CreatedBy, timeDest{&v.CreatedAt}, timeDest{&v.FinishedAt}}
	if withSummary {
		dest = append(dest, &v.Summary)
	}
	return v, r.Scan(dest...)
}

// CreateAnalysis inserts an analysis and its inputs.
func (x traffics) CreateAnalysis(ctx context.Context, a *store.TrafficAnalysis, inputs []store.TrafficInput) error {
	s := x.s
	if err := ensureID(&a.ID); err != nil {
		return err
	}
	a.CreatedAt = s.stamp()
	a.From, a.To, a.FinishedAt = norm(a.From), norm(a.To), norm(a.FinishedAt)
	if a.Status == "" {
		a.Status = store.TrafficPending
	}
	err := s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO traffic_analyses (`+trafficAnalysisCols+`, summary)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.TenantID, a.Name, a.Kind, a.Status, a.Error, s.t(a.From), s.t(a.To), a.Lines, a.Records, a.Skipped,
			a.Findings, a.Alerts, a.CreatedBy, s.t(a.CreatedAt), s.t(a.FinishedAt), nonNil(a.Summary)); err != nil {
			return err
		}
		for i, in := range inputs {
			if _, err := c.exec(ctx, `INSERT INTO traffic_inputs (analysis_id, seq, name, data) VALUES (?, ?, ?, ?)`,
				a.ID, i, in.Name, nonNil(in.Data)); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("create traffic analysis", err)
}

// GetAnalysis returns one analysis with its summary.
func (x traffics) GetAnalysis(ctx context.Context, tenantID, id string) (store.TrafficAnalysis, error) {
	v, err := scanTrafficAnalysis(x.s.conn().queryRow(ctx, `SELECT `+trafficAnalysisCols+`, summary FROM traffic_analyses
		WHERE tenant_id = ? AND id = ?`, tenantID, id), true)
	return v, x.s.wrap("get traffic analysis", err)
}

// ListAnalyses returns a page of analyses, newest first.
func (x traffics) ListAnalyses(ctx context.Context, tenantID string, p store.Page) ([]store.TrafficAnalysis, error) {
	limit, offset := PageBounds(p)
	vs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.TrafficAnalysis, error) { return scanTrafficAnalysis(r, false) },
		`SELECT `+trafficAnalysisCols+` FROM traffic_analyses WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		tenantID, limit, offset)
	return vs, x.s.wrap("list traffic analyses", err)
}

// Inputs returns an analysis's files in upload order.
func (x traffics) Inputs(ctx context.Context, tenantID, analysisID string) ([]store.TrafficInput, error) {
	if _, err := x.GetAnalysis(ctx, tenantID, analysisID); err != nil {
		return nil, err
	}
	ins, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.TrafficInput, error) {
		var in store.TrafficInput
		return in, r.Scan(&in.Name, &in.Data)
	}, `SELECT i.name, i.data FROM traffic_inputs i JOIN traffic_analyses a ON a.id = i.analysis_id
		WHERE a.tenant_id = ? AND i.analysis_id = ? ORDER BY i.seq`, tenantID, analysisID)
	return ins, x.s.wrap("list traffic inputs", err)
}

// Start moves a pending analysis to running.
func (x traffics) Start(ctx context.Context, tenantID, id string) error {
	s := x.s
	res, err := s.conn().exec(ctx, `UPDATE traffic_analyses SET status = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
		store.TrafficRunning, tenantID, id, store.TrafficPending)
	if err != nil {
		return s.wrap("start traffic analysis", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if _, gerr := x.GetAnalysis(ctx, tenantID, id); gerr != nil {
			return gerr
		}
		return s.wrap("start traffic analysis", store.ErrConflict)
	}
	return nil
}

// Finish records the outcome and replaces the findings.
func (x traffics) Finish(ctx context.Context, a *store.TrafficAnalysis, findings []store.TrafficFinding) error {
	s := x.s
	a.From, a.To, a.FinishedAt = norm(a.From), norm(a.To), norm(a.FinishedAt)
	if a.FinishedAt.IsZero() {
		a.FinishedAt = s.stamp()
	}
	err := s.inTx(ctx, func(c conn) error {
		if err := affected(c.exec(ctx, `UPDATE traffic_analyses SET status = ?, error = ?, period_from = ?, period_to = ?,
			lines = ?, records = ?, skipped = ?, findings = ?, alerts = ?, summary = ?, finished_at = ?
			WHERE tenant_id = ? AND id = ?`, a.Status, a.Error, s.t(a.From), s.t(a.To), a.Lines, a.Records, a.Skipped,
			len(findings), a.Alerts, nonNil(a.Summary), s.t(a.FinishedAt), a.TenantID, a.ID)); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM traffic_findings WHERE tenant_id = ? AND analysis_id = ?`, a.TenantID, a.ID); err != nil {
			return err
		}
		for i := range findings {
			f := &findings[i]
			if err := ensureID(&f.ID); err != nil {
				return err
			}
			f.TenantID, f.AnalysisID = a.TenantID, a.ID
			f.FirstSeen, f.LastSeen, f.MarkedAt = norm(f.FirstSeen), norm(f.LastSeen), norm(f.MarkedAt)
			if f.State == "" {
				f.State = store.TrafficNew
			}
			if _, err := c.exec(ctx, `INSERT INTO traffic_findings (id, tenant_id, analysis_id, finding_key, class, category,
				severity, score, src, dst, dst_port, proto, domain, rule, indicator, technique, summary, detail, count, bytes,
				distinct_n, first_seen, last_seen, state, note, marked_by, marked_at, alert_id)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				f.ID, f.TenantID, f.AnalysisID, f.Key, f.Class, f.Category, f.Severity, f.Score, f.Src, f.Dst, f.DstPort,
				f.Proto, f.Domain, f.Rule, f.Indicator, f.Technique, f.Summary, nonNil(f.Detail), f.Count, f.Bytes,
				f.Distinct, s.t(f.FirstSeen), s.t(f.LastSeen), f.State, f.Note, f.MarkedBy, s.t(f.MarkedAt), f.AlertID); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		a.Findings = len(findings)
	}
	return s.wrap("finish traffic analysis", err)
}

const trafficFindingCols = `id, tenant_id, analysis_id, finding_key, class, category, severity, score, src, dst, dst_port,
	proto, domain, rule, indicator, technique, summary, count, bytes, distinct_n, first_seen, last_seen, state, note,
	marked_by, marked_at, alert_id`

func scanTrafficFinding(r rowScanner, withDetail bool) (store.TrafficFinding, error) {
	var f store.TrafficFinding
	dest := []any{&f.ID, &f.TenantID, &f.AnalysisID, &f.Key, &f.Class, &f.Category, &f.Severity, &f.Score, &f.Src, &f.Dst,
		&f.DstPort, &f.Proto, &f.Domain, &f.Rule, &f.Indicator, &f.Technique, &f.Summary, &f.Count, &f.Bytes, &f.Distinct,
		timeDest{&f.FirstSeen}, timeDest{&f.LastSeen}, &f.State, &f.Note, &f.MarkedBy, timeDest{&f.MarkedAt}, &f.AlertID}
	if withDetail {
		dest = append(dest, &f.Detail)
	}
	return f, r.Scan(dest...)
}

func (x traffics) findingWhere(tenantID string, f store.TrafficFindingFilter) *where {
	w := &where{}
	w.add("tenant_id = ?", tenantID)
	if f.AnalysisID != "" {
		w.add("analysis_id = ?", f.AnalysisID)
	}
	if f.Category != "" {
		w.add("category = ?", f.Category)
	}
	if f.Class != "" {
		w.add("class = ?", f.Class)
	}
	w.in("state", f.States)
	if !f.Since.IsZero() {
		w.add("last_seen >= ?", x.s.t(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("first_seen < ?", x.s.t(f.Until))
	}
	return w
}

// ListFindings returns a page of findings, highest score first.
func (x traffics) ListFindings(ctx context.Context, tenantID string, f store.TrafficFindingFilter) ([]store.TrafficFinding, error) {
	limit, offset := PageBounds(f.Page)
	w := x.findingWhere(tenantID, f)
	fs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.TrafficFinding, error) { return scanTrafficFinding(r, false) },
		`SELECT `+trafficFindingCols+` FROM traffic_findings`+w.String()+` ORDER BY score DESC, id LIMIT ? OFFSET ?`,
		append(w.args, limit, offset)...)
	return fs, x.s.wrap("list traffic findings", err)
}

// CountFindings counts the matching findings.
func (x traffics) CountFindings(ctx context.Context, tenantID string, f store.TrafficFindingFilter) (int, error) {
	w := x.findingWhere(tenantID, f)
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM traffic_findings`+w.String(), w.args...).Scan(&n)
	return n, x.s.wrap("count traffic findings", err)
}

// GetFinding returns one finding with its detail.
func (x traffics) GetFinding(ctx context.Context, tenantID, id string) (store.TrafficFinding, error) {
	f, err := scanTrafficFinding(x.s.conn().queryRow(ctx, `SELECT `+trafficFindingCols+`, detail FROM traffic_findings
		WHERE tenant_id = ? AND id = ?`, tenantID, id), true)
	return f, x.s.wrap("get traffic finding", err)
}

// MarkFinding records an analyst's state and note.
func (x traffics) MarkFinding(ctx context.Context, tenantID, id, state, note, userID string, at time.Time) error {
	s := x.s
	err := affected(s.conn().exec(ctx, `UPDATE traffic_findings SET state = ?, note = ?, marked_by = ?, marked_at = ?
		WHERE tenant_id = ? AND id = ?`, state, note, userID, s.t(norm(at)), tenantID, id))
	return s.wrap("mark traffic finding", err)
}

// AlertForKey returns the alert raised for a finding key, or "".
func (x traffics) AlertForKey(ctx context.Context, tenantID, key string) (string, error) {
	var id string
	err := x.s.conn().queryRow(ctx, `SELECT alert_id FROM traffic_findings WHERE tenant_id = ? AND finding_key = ? AND alert_id <> ''
		ORDER BY id LIMIT 1`, tenantID, key).Scan(&id)
	if isNoRows(err) {
		return "", nil
	}
	return id, x.s.wrap("traffic alert for key", err)
}
