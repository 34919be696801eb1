package project

import (
	"context"
	"strings"

	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/store"
)

// Assessed objects bound to assets: a result whose object is one of the
// tenant's assets is stored with the asset's ID, so evidence and coverage
// follow the asset (renaming it changes nothing); any other object — a
// document, a room, a process — stays free text.

// maxObjectAssets bounds the assets read to resolve objects.
const maxObjectAssets = 10000

// objectIndex resolves assessed objects of one tenant to asset IDs and
// asset IDs back to names.
type objectIndex struct {
	names  map[string]string   // asset ID → name
	byText map[string][]string // name or address → asset IDs
}

func (s *Service) objectIndex(ctx context.Context, tenantID string) (*objectIndex, error) {
	assets, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: maxObjectAssets}})
	if err != nil {
		return nil, err
	}
	ix := &objectIndex{names: make(map[string]string, len(assets)), byText: map[string][]string{}}
	for _, a := range assets {
		ix.names[a.ID] = a.Name
		for _, k := range []string{a.Name, a.Address} {
			if k = strings.TrimSpace(k); k != "" && !containsStr(ix.byText[k], a.ID) {
				ix.byText[k] = append(ix.byText[k], a.ID)
			}
		}
	}
	return ix, nil
}

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// bind returns the asset ID for an object that is an asset's ID, or the
// name or address of exactly one asset; otherwise the object unchanged.
func (ix *objectIndex) bind(object string) string {
	if _, ok := ix.names[object]; ok {
		return object
	}
	if ids := ix.byText[strings.TrimSpace(object)]; len(ids) == 1 {
		return ids[0]
	}
	return object
}

// ObjectNames maps the tenant's asset IDs to their names, for showing
// bound objects.
func (s *Service) ObjectNames(ctx context.Context, tenantID string) (map[string]string, error) {
	ix, err := s.objectIndex(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return ix.names, nil
}

// IsAssetObject reports whether an object is bound to an asset (an asset
// ID of the tenant, as ObjectNames gives them).
func IsAssetObject(names map[string]string, object string) bool {
	_, ok := names[object]
	return ok
}

// nameObjects replaces bound objects in a scorecard with the assets'
// names, for reports.
func nameObjects(card *compliance.Scorecard, names map[string]string) {
	for _, list := range [][]compliance.ScoredItem{card.Items, card.HighRisks} {
		for i := range list {
			if n, ok := names[list[i].Object]; ok {
				list[i].Object = n
			}
		}
	}
}
