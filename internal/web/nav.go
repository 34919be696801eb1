package web

import (
	"net/http"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// navGroup is a section of the left navigation.
type navGroup struct {
	Label string
	Items []navItem
	// Fold groups are collapsible; Open when the current page is inside.
	Fold bool
	Open bool
}

// navItem is one link. Mark flags a catalogue service the tenant has
// contracted.
type navItem struct {
	Label  string
	URL    string
	Active bool
	Mark   bool
}

// nav builds the navigation for the request's principal: the areas of the
// tenant in view (cur, may be nil) it may open, then platform pages.
func (s *server) nav(r *http.Request, cur *store.Tenant) ([]navGroup, error) {
	ctx := r.Context()
	p := auth.FromContext(ctx)
	tag := state(r).locale
	here := r.URL.Path
	T := func(id string) string { return s.msgs.T(tag, id) }
	item := func(label, url string, exact bool) navItem {
		active := here == url || (!exact && strings.HasPrefix(here, url+"/"))
		return navItem{Label: label, URL: url, Active: active}
	}
	var groups []navGroup
	add := func(g navGroup) {
		if len(g.Items) == 0 {
			return
		}
		for _, it := range g.Items {
			g.Open = g.Open || it.Active
		}
		groups = append(groups, g)
	}
	if cur != nil {
		base := "/t/" + cur.Slug
		can := func(perm auth.Perm) bool { return p.Can(perm, cur.ID) }
		contracted := map[string]bool{}
		if can(auth.PermServiceRead) {
			subs, err := s.opts.Tenants.ListSubscriptions(ctx, cur.ID)
			if err != nil {
				return nil, err
			}
			for _, sub := range subs {
				contracted[sub.Service] = sub.Enabled
			}
		}
		g := navGroup{Label: T("nav.group.overview")}
		g.Items = append(g.Items, item(T("nav.dashboard"), base, true))
		if can(auth.PermAssetRead) {
			g.Items = append(g.Items, item(T("nav.assets"), base+"/assets", false))
		}
		if can(auth.PermContactRead) {
			g.Items = append(g.Items, item(T("nav.contacts"), base+"/contacts", false))
		}
		if can(auth.PermServiceRead) {
			g.Items = append(g.Items, item(T("nav.services"), base+"/services", false))
		}
		add(g)
		for _, name := range areaGroups() {
			g := navGroup{Label: T("nav.group." + name), Fold: name != "secops"}
			for _, a := range s.areas {
				if a.Group == name && can(a.Perm) {
					it := item(s.areaName(tag, a), base+a.Path, false)
					it.Mark = contracted[a.Service]
					g.Items = append(g.Items, it)
				}
			}
			add(g)
		}
		g = navGroup{Label: T("nav.group.tenant_admin")}
		if s.opts.Agents != nil && can(auth.PermAssetRead) {
			g.Items = append(g.Items, item(T("agents.title"), base+"/agents", false))
		}
		if can(auth.PermTokenAdmin) {
			g.Items = append(g.Items, item(T("nav.tokens"), base+"/tokens", false))
		}
		if can(auth.PermAuditRead) {
			g.Items = append(g.Items, item(T("nav.tenant_audit"), base+"/audit", false))
		}
		add(g)
	}
	g := navGroup{Label: T("nav.group.platform")}
	if s.opts.Posture != nil {
		g.Items = append(g.Items, item(T("nav.wall"), "/soc", true))
	}
	if s.opts.Alerting != nil && p.CanAny(auth.PermIncidentWrite) {
		g.Items = append(g.Items, item(T("nav.notices"), "/notices", true))
	}
	if s.opts.Intel != nil && p.CanAny(auth.PermIncidentWrite) {
		g.Items = append(g.Items, item(T("advisory.list_title"), "/advisories", true))
	}
	if s.opts.Alerting != nil && p.CanAny(auth.PermEventTriage) {
		g.Items = append(g.Items, item(T("desk.title"), deskPath, false))
	}
	if s.opts.Assessments != nil && p.CanAny(auth.PermAssessRead) {
		// The compliance summary of every organisation the user may see:
		// a regulator's own page.
		g.Items = append(g.Items, item(T("c4.supervision"), supervisionPath, false))
	}
	if p.Can(auth.PermTenantAdmin, "") {
		g.Items = append(g.Items, item(T("nav.tenants"), "/admin/tenants", false))
	}
	if p.Can(auth.PermUserAdmin, "") {
		g.Items = append(g.Items, item(T("nav.users"), "/admin/users", false))
	}
	if p.Can(auth.PermTeamRead, "") {
		g.Items = append(g.Items, item(T("nav.teams"), "/admin/teams", false))
	}
	if p.Can(auth.PermAuditRead, "") {
		g.Items = append(g.Items, item(T("nav.audit"), "/audit", false))
	}
	add(g)
	return groups, nil
}
