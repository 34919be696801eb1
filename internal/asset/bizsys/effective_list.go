package bizsys

import (
	"context"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// EffectiveOf returns the effective importance of each of as (one page of
// an asset list, at most store.MaxPageSize), by asset ID, in one query:
// the higher of the asset's own importance and the highest its systems
// imply. Filtering a list by it is store.AssetFilter.MinEffective.
func (s *Service) EffectiveOf(ctx context.Context, tenantID string, as []store.Asset) (map[string]int, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(as))
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	implied, err := s.store.BusinessSystems().Implied(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(as))
	for _, a := range as {
		out[a.ID] = max(a.Importance, implied[a.ID])
	}
	return out, nil
}
