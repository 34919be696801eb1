package project

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/store"
)

// The default scope of a new project and evidence per assessed object.

// defaultScope puts every asset of the tenant (at most MaxScope of them)
// in the scope of a new project; the assessor removes what is out. It
// returns the number of assets put in scope.
func (s *Service) defaultScope(ctx context.Context, tenantID, projectID string) (int, error) {
	assets, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: MaxScope}})
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(assets))
	for _, a := range assets {
		ids = append(ids, a.ID)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := s.store.Compliance().SetProjectAssets(ctx, tenantID, projectID, ids); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// ScopeSummary says how much of the tenant's assets a project covers.
type ScopeSummary struct {
	InScope      int  // assets in the project's scope
	TenantAssets int  // assets of the tenant
	All          bool // every asset of the tenant is in scope
}

// SummarizeScope compares a project's scope with the tenant's assets.
func (s *Service) SummarizeScope(ctx context.Context, tenantID string, scope []store.Asset) (ScopeSummary, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return ScopeSummary{}, err
	}
	n, err := s.store.Assets().Count(ctx, tenantID, store.AssetFilter{})
	if err != nil {
		return ScopeSummary{}, err
	}
	return ScopeSummary{InScope: len(scope), TenantAssets: n, All: n > 0 && len(scope) >= n}, nil
}

// objectSep separates the item from the asset in the owner of an object's
// evidence files: "<project>/<item>@<asset>".
const objectSep = "@"

// ObjectEvidenceOwner returns the attachment owner of the evidence files of
// an item on one assessed object, an asset in the project's scope. The
// project must be the tenant's, the item one of its framework's items and
// the asset in scope (store.ErrNotFound otherwise).
func (s *Service) ObjectEvidenceOwner(ctx context.Context, tenantID, projectID, item, assetID string) (attach.Owner, error) {
	o, err := s.EvidenceOwner(ctx, tenantID, projectID, item)
	if err != nil {
		return o, err
	}
	ids, err := s.store.Compliance().ProjectAssets(ctx, tenantID, projectID)
	if err != nil {
		return attach.Owner{}, err
	}
	if assetID == "" || !slices.Contains(ids, assetID) {
		return attach.Owner{}, fmt.Errorf("asset %q is not in the project's scope: %w", quoteValue(assetID), store.ErrNotFound)
	}
	o.ID += objectSep + assetID
	return o, nil
}

// ObjectCoverage is the evidence of the results recorded on one assessed
// object of the scope.
type ObjectCoverage struct {
	Asset        store.Asset
	Results      int            // recorded results on the object
	Counted      int            // of them, other than 不适用
	WithEvidence int            // counted results with evidence text, links or a file on the item for this object
	Files        int            // evidence files attached for this object
	ItemFiles    map[string]int // files for this object per item
	Percent      float64        // 100 × WithEvidence / Counted, 0 when nothing is counted
}

// objectMatches reports whether a result's assessed object is bound to
// the asset (its ID; see objects.go).
func objectMatches(object string, a store.Asset) bool {
	return strings.TrimSpace(object) == a.ID
}

// CoverageByObject counts, for each asset of the scope, the results
// recorded on it (the assessed object is bound to the asset's ID) and how
// many of them carry evidence: evidence text, links, or a file attached to
// the item for that asset.
func (s *Service) CoverageByObject(ctx context.Context, a *Assessment, scope []store.Asset) ([]ObjectCoverage, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, a.Project.TenantID); err != nil {
		return nil, err
	}
	files, err := s.store.Compliance().EvidenceCounts(ctx, a.Project.TenantID, a.Project.ID)
	if err != nil {
		return nil, err
	}
	out := make([]ObjectCoverage, 0, len(scope))
	for _, as := range scope {
		c := ObjectCoverage{Asset: as, ItemFiles: map[string]int{}}
		for key, n := range files {
			item, asset, ok := strings.Cut(key, objectSep)
			if ok && asset == as.ID {
				c.ItemFiles[item] += n
				c.Files += n
			}
		}
		for _, it := range a.Items {
			if !objectMatches(it.Object, as) {
				continue
			}
			c.Results++
			if it.Result == store.ItemNA {
				continue
			}
			c.Counted++
			if strings.TrimSpace(it.Evidence) != "" || len(it.Links) > 0 || c.ItemFiles[it.Item] > 0 {
				c.WithEvidence++
			}
		}
		if c.Counted > 0 {
			c.Percent = 100 * float64(c.WithEvidence) / float64(c.Counted)
		}
		out = append(out, c)
	}
	return out, nil
}

// Library returns the frameworks Vigil knows (the standards library) with
// their mappings. It needs assessment.read in the tenant asking.
func (s *Service) Library(ctx context.Context, tenantID string) (*compliance.Catalog, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	return s.frameworks()
}
