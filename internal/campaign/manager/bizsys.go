package manager

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/store"
)

// systemAssets resolves the business systems of a campaign scope into
// their member assets: every system must be of the tenant, duplicates are
// dropped, and the assets (each once, in system order) number at most
// MaxTargets less have, the assets the scope already holds. It returns the
// assets and the system IDs as resolved.
func (s *Service) systemAssets(ctx context.Context, tenantID string, systemIDs []string, have int) ([]store.Asset, []string, error) {
	if len(systemIDs) > MaxTargets {
		return nil, nil, invalid("systems", store.CodeTooMany, map[string]any{"max": MaxTargets}, "at most %d business systems", MaxTargets)
	}
	var ids []string
	var out []store.Asset
	for _, id := range systemIDs {
		id = strings.TrimSpace(id)
		if id == "" || slices.Contains(ids, id) {
			continue
		}
		members, err := bizsys.MemberAssets(ctx, s.store, tenantID, id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, nil, invalid("systems", store.CodeNotInTenant, nil, "choose business systems of this organisation")
			}
			return nil, nil, err
		}
		ids = append(ids, id)
		for _, a := range members {
			if slices.ContainsFunc(out, func(o store.Asset) bool { return o.ID == a.ID }) {
				continue
			}
			if have+len(out) >= MaxTargets {
				return nil, nil, invalid("systems", store.CodeTooMany, map[string]any{"max": MaxTargets},
					"the business systems hold more than %d assets", MaxTargets)
			}
			out = append(out, a)
		}
	}
	return out, ids, nil
}
