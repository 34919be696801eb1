package web

import (
	"errors"
	"net/http"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// area is a service area of a tenant with a place in the navigation. Areas
// whose pages are not built yet are served by one generic page that says
// what the area will do (message area.<Key>.about).
type area struct {
	Key     string
	Group   string // one of areaGroups
	Path    string // under /t/{tenant}
	Perm    auth.Perm
	Service string // catalogue code, "" for platform areas
}

// areaGroups are the navigation groups of areas, in order.
func areaGroups() []string { return []string{"secops", "compliance", "operations"} }

// areas lists every service area: the security operations desks, then the
// twenty catalogue services grouped compliance / operations.
func areas() []area {
	as := []area{
		{Key: "events", Group: "secops", Path: "/events", Perm: auth.PermEventRead},
		{Key: "incidents", Group: "secops", Path: "/incidents", Perm: auth.PermEventRead},
		{Key: "vulnerabilities", Group: "secops", Path: "/vulnerabilities", Perm: auth.PermAssetRead},
		{Key: "reports", Group: "secops", Path: "/reports", Perm: auth.PermReportRead},
	}
	for _, o := range tenant.Catalogue() {
		a := area{Key: o.Code, Group: o.Area, Path: "/" + o.Area + "/" + o.Code,
			Perm: auth.PermTenantRead, Service: o.Code}
		if o.Code == "policy-optimisation" {
			a.Perm = auth.PermAssessRead // the review pages need it
		}
		as = append(as, a)
	}
	return as
}

// offerName is a catalogue service's name in the locale.
func offerName(tag, code string) string {
	o, ok := tenant.Offer(code)
	switch {
	case !ok:
		return code
	case tag == "zh-CN":
		return o.NameZH
	}
	return o.NameEN
}

// areaName is an area's name in the locale.
func (s *server) areaName(tag string, a area) string {
	if a.Service != "" {
		return offerName(tag, a.Service)
	}
	return s.msgs.T(tag, "area."+a.Key+".name")
}

type comingPage struct {
	Base
	Name  string
	About string
	// Service is set for catalogue services; Subscribed tells whether the
	// tenant has contracted it (only when the user may see contracts).
	Service      string
	CanSeeSub    bool
	Subscribed   bool
	Subscription store.Subscription
}

// comingSoon serves an area whose pages are still being built.
func (s *server) comingSoon(a area) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		st := state(r)
		v := &comingPage{Name: s.areaName(st.locale, a), About: s.msgs.T(st.locale, "area."+a.Key+".about"),
			Service: a.Service}
		t := st.tenant
		if a.Service != "" && auth.FromContext(r.Context()).Can(auth.PermServiceRead, t.ID) {
			subs, err := s.opts.Tenants.ListSubscriptions(r.Context(), t.ID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			v.CanSeeSub = true
			for _, sub := range subs {
				if sub.Service == a.Service {
					v.Subscribed, v.Subscription = sub.Enabled, sub
				}
			}
		}
		s.render(w, r, http.StatusOK, "coming", v)
		return nil
	}
}
