package sqldb

import (
	"context"
	"fmt"

	"github.com/vigil-sec/vigil/internal/store"
)

// impliedSQL is the importance business system eb implies for its member
// assets, the rule of internal/asset/bizsys.Implied in SQL that both
// drivers run: the highest of the C/I/A needs, at least 4 for
// confidential data or MLPS level 3, 5 for secret data or MLPS 4 and 5,
// within 1 to 5.
const impliedSQL = `(CASE
	WHEN eb.data_sensitivity = 'secret' OR eb.mlps_level >= 4 THEN 5
	WHEN (eb.data_sensitivity = 'confidential' OR eb.mlps_level = 3) AND ` + needSQL + ` < 4 THEN 4
	WHEN ` + needSQL + ` > 5 THEN 5
	WHEN ` + needSQL + ` < 1 THEN 1
	ELSE ` + needSQL + ` END)`

// needSQL is the highest of eb's confidentiality, integrity and
// availability needs (GREATEST is PostgreSQL's and MAX(a, b, c) SQLite's,
// so it is spelt out).
const needSQL = `(CASE WHEN eb.confidentiality >= eb.integrity AND eb.confidentiality >= eb.availability THEN eb.confidentiality
	WHEN eb.integrity >= eb.availability THEN eb.integrity ELSE eb.availability END)`

// effectiveAtLeast is the asset filter condition "effective importance at
// least ?" (the argument given twice), on the unaliased assets table: the
// asset's own importance, or a system it belongs to implying that much.
// The membership index on (tenant_id, asset_id) keeps it one lookup per
// asset; nothing is loaded into Go.
const effectiveAtLeast = `(importance >= ? OR EXISTS (SELECT 1 FROM business_system_members em
	JOIN business_systems eb ON eb.id = em.system_id
	WHERE em.tenant_id = assets.tenant_id AND em.asset_id = assets.id AND ` + impliedSQL + ` >= ?))`

// Implied returns the highest importance the systems of each of assetIDs
// imply; assets in no system are absent from the map.
func (x bizSystems) Implied(ctx context.Context, tenantID string, assetIDs []string) (map[string]int, error) {
	out := map[string]int{}
	if len(assetIDs) == 0 {
		return out, nil
	}
	if len(assetIDs) > store.MaxPageSize {
		return nil, fmt.Errorf("implied importance: %d assets, at most %d", len(assetIDs), store.MaxPageSize)
	}
	w := &where{}
	w.add("em.tenant_id = ?", tenantID)
	w.add("eb.tenant_id = ?", tenantID)
	w.in("em.asset_id", assetIDs)
	type row struct {
		id string
		n  int
	}
	rows, err := collect(ctx, x.s.conn(), func(r rowScanner) (row, error) {
		var v row
		err := r.Scan(&v.id, &v.n)
		return v, err
	}, `SELECT em.asset_id, MAX(`+impliedSQL+`) FROM business_system_members em
		JOIN business_systems eb ON eb.id = em.system_id`+w.String()+` GROUP BY em.asset_id`, w.args...)
	if err != nil {
		return nil, x.s.wrap("implied importance", err)
	}
	for _, r := range rows {
		out[r.id] = r.n
	}
	return out, nil
}
