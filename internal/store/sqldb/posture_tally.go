package sqldb

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// severityNames names the severity ranks as VulnStore.CountBy does.
var severityNames = map[int]string{4: "critical", 3: "high", 2: "medium", 1: "low", 0: "info"}

// VulnTally reads the vulnerability tile from the running totals of
// migration 00056 (vuln_tallies and vuln_due_tallies, kept by triggers as
// findings are inserted, changed and deleted) in one statement: the
// tallies by state, rank and KEV flag; the open findings due on a day
// before today's; and, by the (tenant, due_at, state) index, the open
// findings due today before q.Now.
func (x postures) VulnTally(ctx context.Context, tenantID string, q store.VulnTallyQuery) (store.VulnTally, error) {
	s := x.s
	out := store.VulnTally{ByState: map[[2]string]int{}}
	query := `SELECT 'c', state, severity_rank, CASE WHEN kev THEN 1 ELSE 0 END, n FROM vuln_tallies WHERE tenant_id = ? AND n <> 0`
	args := []any{tenantID}
	if len(q.Open) > 0 {
		now := norm(q.Now)
		day := now.Truncate(24 * time.Hour)
		open := make([]any, 0, len(q.Open))
		for _, st := range q.Open {
			open = append(open, st)
		}
		query += ` UNION ALL SELECT 'd', '', 0, 0, COALESCE(SUM(n), 0) FROM vuln_due_tallies WHERE tenant_id = ? AND state IN (` +
			placeholders(len(open)) + `) AND due_day < ?
			UNION ALL SELECT 'd', '', 0, 0, COUNT(*) FROM vuln_findings WHERE tenant_id = ? AND due_at >= ? AND due_at < ?
			AND state IN (` + placeholders(len(open)) + `)`
		args = append(args, tenantID)
		args = append(args, open...)
		args = append(args, day.Format(time.DateOnly), tenantID, s.t(day), s.t(now))
		args = append(args, open...)
	}
	type row struct {
		kind, state string
		rank, kev   int
		n           int64
	}
	rows, err := collect(ctx, s.conn(), func(r rowScanner) (row, error) {
		var v row
		return v, r.Scan(&v.kind, &v.state, &v.rank, &v.kev, &v.n)
	}, query, args...)
	if err != nil {
		return out, s.wrap("vulnerability tally", err)
	}
	for _, r := range rows {
		if r.kind == "d" {
			out.Overdue += int(r.n)
			continue
		}
		out.ByState[[2]string{r.state, severityNames[r.rank]}] += int(r.n)
		if r.kev == 1 && containsStr(q.Open, r.state) {
			out.KEVOpen += int(r.n)
		}
	}
	return out, nil
}

// IncidentTally counts the open cases of each phase of q (an index-only
// count by the (tenant, phase) index) and the open cases with a breached
// SLA timer, in one statement.
func (x postures) IncidentTally(ctx context.Context, tenantID string, q store.IncidentTallyQuery) (store.IncidentTally, error) {
	s := x.s
	out := store.IncidentTally{ByPhase: make(map[string]int, len(q.Phases))}
	for _, ph := range q.Phases {
		out.ByPhase[ph] = 0
	}
	now := s.t(norm(q.Now))
	query := `SELECT 'b', '', COUNT(*) FROM incidents WHERE tenant_id = ? AND closed_at IS NULL AND ((acknowledged_at IS NULL AND ack_due < ?)
		OR (contained_at IS NULL AND contain_due < ?) OR close_due < ?)`
	args := []any{tenantID, now, now, now}
	if len(q.Phases) > 0 {
		query += ` UNION ALL SELECT 'p', phase, COUNT(*) FROM incidents WHERE tenant_id = ? AND phase IN (` +
			placeholders(len(q.Phases)) + `) GROUP BY phase`
		args = append(args, tenantID)
		for _, ph := range q.Phases {
			args = append(args, ph)
		}
	}
	type row struct {
		kind, phase string
		n           int64
	}
	rows, err := collect(ctx, s.conn(), func(r rowScanner) (row, error) {
		var v row
		return v, r.Scan(&v.kind, &v.phase, &v.n)
	}, query, args...)
	if err != nil {
		return out, s.wrap("incident tally", err)
	}
	for _, r := range rows {
		if r.kind == "b" {
			out.Breached = int(r.n)
			continue
		}
		out.ByPhase[r.phase] += int(r.n)
	}
	return out, nil
}
