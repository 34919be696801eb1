package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/intel/desk"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// maxIntelSightings bounds the sightings listed on the page.
const maxIntelSightings = 50

type intelPage struct {
	Base
	URL         string
	Feeds       []desk.FeedStatus
	Stale       map[string]bool // by feed name
	LoadedAt    time.Time
	Indicators  int
	Advisories  int
	WindowDays  int
	Warnings    []hunt.AdvisoryMatch
	KEVOpen     int
	Sightings   []store.Alert
	SightingsN  int
	CanPublish  bool
	CanReport   bool
	Published   string // advisory ID just published
	Results     []alerting.NoticeResult
	TAXIIRoot   string
	CuratedID   string
	SightingsID string
	From, To    string
}

// registerIntel adds the threat intelligence desk's pages.
func (s *server) registerIntel(t string) {
	if s.opts.Intel == nil {
		return
	}
	ti := t + "/operations/threat-intel"
	s.handle(http.MethodGet, ti, inTenant(auth.PermEventRead), s.intelDesk)
	s.handle(http.MethodPost, ti+"/publish", inTenant(auth.PermIncidentWrite), s.intelPublish)
}

// intelDesk shows a tenant's early warnings, its sightings, the feeds'
// health and how its tools pull the TAXII collections.
func (s *server) intelDesk(w http.ResponseWriter, r *http.Request) error {
	v, err := s.intelView(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "intel", v)
	return nil
}

func (s *server) intelView(r *http.Request) (*intelPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	p := auth.FromContext(ctx)
	d := s.opts.Intel
	now := time.Now()
	v := &intelPage{URL: "/t/" + t.Slug + "/operations/threat-intel", Feeds: d.Feeds(), Stale: map[string]bool{},
		WindowDays: int(d.Window().Hours() / 24), CanPublish: p.Can(auth.PermIncidentWrite, t.ID),
		CanReport: p.Can(auth.PermReportRead, t.ID) && s.opts.Reports != nil,
		TAXIIRoot: "/taxii2/vigil/", CuratedID: desk.CuratedID, SightingsID: desk.SightingsID(t.ID),
		From: now.AddDate(0, 0, -7).Format(time.DateOnly), To: now.Format(time.DateOnly)}
	for _, f := range v.Feeds {
		v.Stale[f.Name] = f.Stale(now, s.opts.FeedRefresh)
	}
	v.LoadedAt, v.Indicators, v.Advisories = d.Loaded()
	var err error
	if v.Warnings, err = d.Warnings(ctx, t.ID); err != nil {
		return nil, err
	}
	if p.Can(auth.PermAssetRead, t.ID) {
		if _, v.KEVOpen, err = s.opts.Vulns.List(ctx, t.ID, lifecycle.Filter{State: "open", KEV: true, Page: store.Page{Limit: 1}}); err != nil {
			return nil, err
		}
	}
	if v.Sightings, v.SightingsN, err = d.Sightings(ctx, t.ID, maxIntelSightings); err != nil {
		return nil, err
	}
	return v, nil
}

// intelPublish sends one of the tenant's early warnings to the tenant as
// an urgent notice on all its channels.
func (s *server) intelPublish(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	v, err := s.intelView(r)
	if err != nil {
		return err
	}
	id := r.PostFormValue("advisory")
	i := slices.IndexFunc(v.Warnings, func(m hunt.AdvisoryMatch) bool { return m.Advisory.ID == id })
	if i < 0 {
		// Only the tenant's own warnings can be published from here.
		return store.NewFieldError("advisory", store.CodeOneOf, nil, "choose one of the warnings on this page")
	}
	n := noticeOf(v.Warnings[i].Advisory)
	if v.Results, err = s.opts.Alerting.PublishNotice(r.Context(), []string{t.ID}, n); err != nil {
		return err
	}
	v.Published = id
	s.render(w, r, http.StatusOK, "intel", v)
	return nil
}

// noticeOf writes an advisory as an urgent notice: what it is, what to do,
// and its first CVE (or product) to find the tenant's affected scope.
func noticeOf(a hunt.Advisory) alerting.Notice {
	harm := a.Description
	if harm == "" {
		harm = a.Title
	}
	if a.Exploited {
		harm = "Known to be exploited in the wild. " + harm
	}
	match := a.ID
	if len(a.CVEs) > 0 {
		match = a.CVEs[0]
	} else if len(a.Affected) > 0 {
		match = a.Affected[0].Product
	}
	return alerting.Notice{Title: clipText(a.ID+" "+a.Title, alerting.MaxNoticeTitle-1), Severity: a.Severity,
		Harm: clipText(harm, alerting.MaxNoticeText-1), Plan: clipText(a.Action, alerting.MaxNoticeText-1), Match: clipText(match, alerting.MaxNoticeMatch-1)}
}
