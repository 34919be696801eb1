package sqldb

import (
	"context"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// countTallied counts f from the running totals of migration 00056 when
// they can answer it: filters by state, severity rank and KEV flag sum
// rows of vuln_tallies; the overdue filter (with states, nothing else)
// sums the days before today of vuln_due_tallies and counts today's
// overdue findings by the (tenant, due_at, state) index, as the dashboard
// does. ok is false for other filters (asset, scanner, text, a severity
// without a rank). A positive f.CountLimit caps the total as Count does.
// At a million findings an exact count of most of them read a million
// index entries (a second or more); the totals are a few dozen rows.
func (x vulns) countTallied(ctx context.Context, tenantID string, f store.VulnFilter) (int, bool, error) {
	rank := store.SeverityRank(f.Severity)
	if f.AssetID != "" || f.Scanner != "" || f.Query != "" || (f.Severity != "" && rank == 0) {
		return 0, false, nil
	}
	s := x.s
	w := &where{}
	w.add("tenant_id = ?", tenantID)
	var query string
	if f.Overdue && len(f.OpenStates) > 0 {
		if f.Severity != "" || f.KEV {
			return 0, false, nil
		}
		states := f.OpenStates
		if len(f.States) > 0 {
			states = slices.DeleteFunc(slices.Clone(f.OpenStates), func(st string) bool { return !slices.Contains(f.States, st) })
			if len(states) == 0 {
				return 0, true, nil
			}
		}
		now := norm(f.Now)
		day := now.Truncate(24 * time.Hour)
		w.in("state", states)
		today := &where{}
		today.add("tenant_id = ?", tenantID)
		today.add("due_at >= ? AND due_at < ?", s.t(day), s.t(now))
		today.in("state", states)
		query = `SELECT COALESCE(SUM(n), 0) FROM vuln_due_tallies` + w.String() + ` AND due_day < ?
			UNION ALL SELECT COUNT(*) FROM vuln_findings` + today.String()
		w.args = append(append(w.args, day.Format(time.DateOnly)), today.args...)
	} else {
		w.in("state", f.States)
		if rank > 0 {
			w.add("severity_rank = ?", rank)
		}
		if f.KEV {
			w.add("kev = ?", true)
		}
		query = `SELECT COALESCE(SUM(n), 0) FROM vuln_tallies` + w.String()
	}
	parts, err := collect(ctx, s.conn(), func(r rowScanner) (int64, error) {
		var n int64
		return n, r.Scan(&n)
	}, query, w.args...)
	if err != nil {
		return 0, true, err
	}
	var n int64
	for _, p := range parts {
		n += p
	}
	if f.CountLimit > 0 && n > int64(f.CountLimit) {
		n = int64(f.CountLimit)
	}
	return int(n), true, nil
}
