package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// LatestTotals sums the latest run of each policy on each asset. The
// dashboard asks on every load, so the sums are kept as runs are stored:
// table baseline_latest holds the latest run of each asset and policy
// (migration 00040) and baseline_totals its per-tenant sums with the
// number of assets (migration 00056), both maintained by triggers. The
// read is one row.
func (x baselineStore) LatestTotals(ctx context.Context, tenantID string) (store.BaselineTotals, error) {
	var t store.BaselineTotals
	err := x.s.conn().queryRow(ctx, `SELECT assets, runs, passed, failed FROM baseline_totals WHERE tenant_id = ?`,
		tenantID).Scan(&t.Assets, &t.Runs, &t.Passed, &t.Failed)
	if isNoRows(err) {
		return store.BaselineTotals{}, nil
	}
	return t, x.s.wrap("latest baseline totals", err)
}
