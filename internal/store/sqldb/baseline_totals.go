package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// LatestTotals sums the latest run of each policy on each asset. The
// dashboard asks on every load, so the latest runs are kept apart as runs
// are stored (table baseline_latest, maintained by triggers): the sums
// read one row per asset and policy, not every run.
func (x baselineStore) LatestTotals(ctx context.Context, tenantID string) (store.BaselineTotals, error) {
	var t store.BaselineTotals
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(DISTINCT asset_id), COUNT(*), COALESCE(SUM(passed), 0), COALESCE(SUM(failed), 0)
		FROM baseline_latest WHERE tenant_id = ?`, tenantID).Scan(&t.Assets, &t.Runs, &t.Passed, &t.Failed)
	return t, x.s.wrap("latest baseline totals", err)
}
