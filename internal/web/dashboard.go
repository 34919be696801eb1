package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// countRow is one bar of a dashboard breakdown.
type countRow struct {
	Label string
	Count int
	Max   int
	URL   string
}

// placeholder is a dashboard card for an area still being built.
type placeholder struct {
	Name  string
	About string
	URL   string
}

type dashboardPage struct {
	Base
	CanAssets    bool
	AssetTotal   int
	ByKind       []countRow
	ByImportance []countRow
	CanServices  bool
	Services     []store.Subscription
	CanAudit     bool
	Audit        []store.AuditEntry
	Coming       []placeholder
	Posture      *postureView
}

// dashboardComing are the areas with a placeholder card on the dashboard.
func dashboardComing() []string { return []string{"events", "incidents", "vulnerabilities"} }

// postureAreas are the placeholder areas the posture tiles replace.
func postureAreas() []string { return []string{"events", "vulnerabilities"} }

// dashboard is a tenant's overview: its inventory, contracted services,
// recent activity and the areas that are on their way.
func (s *server) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := state(r)
	t := st.tenant
	p := auth.FromContext(ctx)
	base := "/t/" + t.Slug
	v := &dashboardPage{}
	if v.CanAssets = p.Can(auth.PermAssetRead, t.ID); v.CanAssets {
		count := func(f store.AssetFilter) (int, error) {
			f.Limit = 1
			_, n, err := s.opts.Assets.List(ctx, t.ID, f)
			return n, err
		}
		var err error
		if v.AssetTotal, err = count(store.AssetFilter{}); err != nil {
			return err
		}
		for _, k := range asset.Kinds() {
			n, err := count(store.AssetFilter{Kind: k})
			if err != nil {
				return err
			}
			v.ByKind = append(v.ByKind, countRow{Label: s.msgs.Tk(st.locale, "kind", k), Count: n,
				Max: max(v.AssetTotal, 1), URL: base + "/assets?kind=" + k})
		}
		above := 0 // assets more important than the level in hand
		levels := importanceLevels()
		for i := len(levels) - 1; i >= 0; i-- {
			atLeast, err := count(store.AssetFilter{MinImportance: levels[i]})
			if err != nil {
				return err
			}
			row := countRow{Label: s.msgs.T(st.locale, "importance."+strconv.Itoa(levels[i])), Count: atLeast - above,
				Max: max(v.AssetTotal, 1), URL: base + "/assets?min=" + strconv.Itoa(levels[i])}
			v.ByImportance = append(v.ByImportance, row)
			above = atLeast
		}
	}
	if v.CanServices = p.Can(auth.PermServiceRead, t.ID); v.CanServices {
		subs, err := s.opts.Tenants.ListSubscriptions(ctx, t.ID)
		if err != nil {
			return err
		}
		for _, sub := range subs {
			if sub.Enabled {
				v.Services = append(v.Services, sub)
			}
		}
	}
	if v.CanAudit = p.Can(auth.PermAuditRead, t.ID); v.CanAudit {
		entries, err := s.opts.Audit.List(ctx, store.AuditFilter{TenantID: t.ID, Page: store.Page{Limit: 10}})
		if err != nil {
			return err
		}
		v.Audit = entries
	}
	var err error
	if v.Posture, err = s.postureFor(r, *t); err != nil {
		return err
	}
	for _, a := range s.areas {
		if v.Posture != nil && (slices.Contains(postureAreas(), a.Key) || (a.Key == "incidents" && v.Posture.Incidents.Measured)) {
			continue // the posture tiles cover it
		}
		if slices.Contains(dashboardComing(), a.Key) && p.Can(a.Perm, t.ID) {
			v.Coming = append(v.Coming, placeholder{Name: s.areaName(st.locale, a),
				About: s.msgs.T(st.locale, "upcoming."+a.Key), URL: base + a.Path})
		}
	}
	s.render(w, r, http.StatusOK, "dashboard", v)
	return nil
}
