package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset/bizsys"
	"github.com/vigil-sec/vigil/internal/store"
)

// testEffectiveImportance checks the store's effective importance (the
// AssetFilter.MinEffective filter and BusinessSystems().Implied) against
// the Go rule of internal/asset/bizsys on random systems and memberships,
// every sensitivity and MLPS level included.
func testEffectiveImportance(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	rng := rand.New(rand.NewPCG(5, 44)) // #nosec G404 -- test data
	sens := []string{"public", "internal", "confidential", "secret"}
	var systems []store.BusinessSystem
	for i := range 24 {
		sy := store.BusinessSystem{TenantID: a.ID, Name: fmt.Sprintf("sys-%02d", i), DataSensitivity: sens[i%4],
			MLPSLevel: (i / 4) % 6, Confidentiality: 1 + rng.IntN(5), Integrity: 1 + rng.IntN(5), Availability: 1 + rng.IntN(5)}
		ok(t, s.BusinessSystems().Create(ctx, &sy))
		systems = append(systems, sy)
	}
	// A secret system of the other tenant, with its own asset: never seen from alpha.
	secret := store.BusinessSystem{TenantID: b.ID, Name: "vault", DataSensitivity: "secret", Confidentiality: 5, Integrity: 5, Availability: 5}
	ok(t, s.BusinessSystems().Create(ctx, &secret))
	bx := mkAsset(t, s, b.ID, "beta-host")
	ok(t, s.BusinessSystems().AddMember(ctx, b.ID, secret.ID, bx.ID))

	want := map[string]int{}    // effective importance, by the Go rule
	implied := map[string]int{} // highest implied, assets in a system only
	var assetIDs []string
	for i := range 60 {
		as := store.Asset{TenantID: a.ID, Kind: []string{"host", "domain"}[i%2], Name: fmt.Sprintf("asset-%02d", i),
			Address: fmt.Sprintf("a%02d.example", i), Importance: 1 + rng.IntN(5)}
		ok(t, s.Assets().Create(ctx, &as))
		var in []store.BusinessSystem
		for range rng.IntN(4) { // 0 to 3 systems, maybe the same twice
			sy := systems[rng.IntN(len(systems))]
			ok(t, s.BusinessSystems().AddMember(ctx, a.ID, sy.ID, as.ID))
			if !slices.ContainsFunc(in, func(x store.BusinessSystem) bool { return x.ID == sy.ID }) {
				in = append(in, sy)
			}
		}
		want[as.ID] = bizsys.EffectiveImportance(as.Importance, in).Importance
		for _, sy := range in {
			implied[as.ID] = max(implied[as.ID], bizsys.Implied(sy))
		}
		assetIDs = append(assetIDs, as.ID)
	}

	got, err := s.BusinessSystems().Implied(ctx, a.ID, append(slices.Clone(assetIDs), bx.ID))
	ok(t, err)
	same(t, "Implied", implied, got)
	got, err = s.BusinessSystems().Implied(ctx, a.ID, nil)
	ok(t, err)
	same(t, "Implied of no asset", map[string]int{}, got)

	for min := 1; min <= 5; min++ {
		for _, kind := range []string{"", "domain"} {
			var exp []string
			for i, id := range assetIDs {
				if want[id] >= min && (kind == "" || i%2 == 1) {
					exp = append(exp, id)
				}
			}
			f := store.AssetFilter{Kind: kind, MinEffective: min, Page: store.Page{Limit: store.MaxPageSize}}
			list, err := s.Assets().List(ctx, a.ID, f)
			ok(t, err)
			gotIDs := ids(list, assetID)
			slices.Sort(gotIDs)
			slices.Sort(exp)
			same(t, fmt.Sprintf("List MinEffective %d kind %q", min, kind), exp, gotIDs)
			n, err := s.Assets().Count(ctx, a.ID, f)
			ok(t, err)
			same(t, fmt.Sprintf("Count MinEffective %d kind %q", min, kind), len(exp), n)
		}
	}
	// The other tenant's secret system raises only its own asset.
	list, err := s.Assets().List(ctx, b.ID, store.AssetFilter{MinEffective: 5})
	ok(t, err)
	same(t, "beta MinEffective 5", []string{bx.ID}, ids(list, assetID))
}

func assetID(a store.Asset) string { return a.ID }
