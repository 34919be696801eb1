package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/posture"
	"github.com/vigil-sec/vigil/internal/store"
)

// postureRefresh is how often the dashboard tiles reload themselves.
const postureRefresh = "every 30s"

// postureTrendDays is the span of the score trend.
const postureTrendDays = 30

// svgBar is one bar of a small server-side chart.
type svgBar struct {
	X, Y, W, H float64
	Title      string
}

// componentRow is one line of the score breakdown.
type componentRow struct {
	posture.Component
	Terms string // "1×10 + 2×5"
}

// postureView is the posture part of the dashboard; it is also the htmx
// fragment that refreshes itself.
type postureView struct {
	Slug      string
	Refresh   string
	At        time.Time
	ShowScore bool
	Score     posture.Score
	Breakdown []componentRow
	Trend     string // SVG polyline points of the score trend
	TrendDays int

	CanEvents   bool
	Alerts      posture.Alerts
	AlertRows   []countRow
	EventBars   []svgBar
	EventsMax   int
	IntelURL    string
	Logs        posture.Logs
	SilentHours int
	Incidents   posture.Incidents
	PhaseRows   []countRow

	CanAssets    bool
	Vulns        posture.Vulns
	VulnRows     []countRow
	VulnURL      string
	Exposure     posture.Exposure
	ExposureURL  string
	DiscoveryURL string

	CanBaseline bool
	Baseline    posture.Baseline
	BaselineURL string
}

// incidentPhases are the phases of an incident, in order.
func incidentPhases() []string {
	return []string{"detect", "contain", "eradicate", "recover", "summarise"}
}

// postureFor builds the posture view of tenant t for the request's
// principal: tiles it may not see stay empty.
func (s *server) postureFor(r *http.Request, t store.Tenant) (*postureView, error) {
	if s.opts.Posture == nil {
		return nil, nil
	}
	ctx := r.Context()
	p := auth.FromContext(ctx)
	v := &postureView{Slug: t.Slug, Refresh: postureRefresh, TrendDays: postureTrendDays,
		CanEvents: p.Can(auth.PermEventRead, t.ID), CanAssets: p.Can(auth.PermAssetRead, t.ID),
		CanBaseline: p.Can(auth.PermAssessRead, t.ID)}
	if !v.CanEvents && !v.CanAssets {
		return nil, nil
	}
	snap, err := s.opts.Posture.Tenant(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	v.At = snap.At
	base := "/t/" + t.Slug
	if v.ShowScore = v.CanEvents && v.CanAssets; v.ShowScore {
		v.Score = snap.Score
		for _, c := range snap.Score.Components {
			row := componentRow{Component: c}
			var terms []string
			for _, tm := range c.Terms {
				terms = append(terms, fmt.Sprintf("%d×%d", tm.Count, tm.Points))
			}
			row.Terms = strings.Join(terms, " + ")
			v.Breakdown = append(v.Breakdown, row)
		}
		days, err := s.opts.Posture.Trend(ctx, t.ID, postureTrendDays)
		if err != nil {
			return nil, err
		}
		v.Trend = trendPoints(days)
	}
	if v.CanEvents {
		v.Alerts = snap.Alerts
		alertsURL := base + "/events/alerts"
		for _, l := range posture.AlertLevels() {
			v.AlertRows = append(v.AlertRows, countRow{Label: l, Count: snap.Alerts.Open[l], Max: max(snap.Alerts.OpenTotal, 1),
				URL: withQuery(alertsURL, url.Values{"status": {"open"}, "level": {l}})})
		}
		v.IntelURL = withQuery(alertsURL, url.Values{"status": {"open"}, "q": {"Threat intelligence"}})
		v.EventBars, v.EventsMax = hourBars(snap.Alerts.EventsHours, snap.At)
		v.Logs = snap.Logs
		v.SilentHours = int(snap.Logs.SilentAfter / time.Hour)
		v.Incidents = snap.Incidents
		for _, ph := range incidentPhases() {
			v.PhaseRows = append(v.PhaseRows, countRow{Label: ph, Count: snap.Incidents.OpenByPhase[ph],
				Max: max(snap.Incidents.Open, 1), URL: withQuery(base+"/incidents", url.Values{"phase": {ph}})})
		}
	}
	if v.CanAssets {
		v.Vulns = snap.Vulns
		v.VulnURL = vulnBase(&t)
		for _, sev := range posture.VulnSeverities() {
			v.VulnRows = append(v.VulnRows, countRow{Label: sev, Count: snap.Vulns.Open[sev], Max: max(snap.Vulns.OpenTotal, 1),
				URL: withQuery(v.VulnURL, url.Values{"state": {"open"}, "severity": {sev}})})
		}
		v.Exposure = snap.Exposure
		v.DiscoveryURL = base + "/operations/asset-discovery"
		if snap.Exposure.RunID != "" {
			v.ExposureURL = v.DiscoveryURL + "/" + url.PathEscape(snap.Exposure.RunID)
		}
	}
	if v.CanBaseline {
		v.Baseline, v.BaselineURL = snap.Baseline, baselineBase(&t)
	}
	return v, nil
}

// trendPoints draws the score trend in a 300×60 box, one point per day
// with a snapshot.
func trendPoints(days []posture.Day) string {
	var pts []string
	step := 300.0 / float64(max(len(days)-1, 1))
	for i, d := range days {
		if !d.Known {
			continue
		}
		pts = append(pts, strconv.FormatFloat(float64(i)*step, 'f', 1, 64)+","+
			strconv.FormatFloat(60-float64(d.Score)*0.6, 'f', 1, 64))
	}
	return strings.Join(pts, " ")
}

// hourBars draws events per hour in a 300×60 box, oldest first.
func hourBars(hours []int, at time.Time) ([]svgBar, int) {
	top := 0
	for _, n := range hours {
		top = max(top, n)
	}
	if len(hours) == 0 {
		return nil, 0
	}
	w := 300.0 / float64(len(hours))
	first := at.UTC().Truncate(time.Hour).Add(-time.Duration(len(hours)-1) * time.Hour)
	bars := make([]svgBar, 0, len(hours))
	for i, n := range hours {
		h := 0.0
		if top > 0 {
			h = 58 * float64(n) / float64(top)
		}
		bars = append(bars, svgBar{X: float64(i) * w, Y: 60 - h, W: w * 0.8, H: h,
			Title: first.Add(time.Duration(i)*time.Hour).Format("15:04") + " UTC: " + strconv.Itoa(n)})
	}
	return bars, top
}

// postureTiles serves the dashboard's posture tiles alone, for htmx to
// refresh them in place.
func (s *server) postureTiles(w http.ResponseWriter, r *http.Request) error {
	v, err := s.postureFor(r, *state(r).tenant)
	if err != nil {
		return err
	}
	if v == nil {
		return store.ErrNotFound
	}
	w.Header().Set("Cache-Control", "no-store")
	s.renderPartial(w, r, "dashboard", "posture_tiles", &dashboardPage{Posture: v})
	return nil
}

// wallRow is one tenant on the SOC wall.
type wallRow struct {
	Tenant   store.Tenant
	Snap     *posture.Snapshot
	Critical int
	High     int
}

type wallPage struct {
	Base
	Rows    []wallRow
	Refresh string
	Partial bool
	Omitted int
	// Desk is the monitoring desk's workload, for those who may read it.
	Desk *wallDesk
}

// wallDesk is the 7×24 desk's workload beside the wall: who is on shift,
// handover notes not yet acknowledged, and the open and new alerts of the
// tenants on the wall.
type wallDesk struct {
	OnDuty     []store.Shift
	Unacked    int
	OpenAlerts int
	Alerts24h  int
}

// maxWallHandovers bounds the handover notes read for the unacknowledged count.
const maxWallHandovers = 200

// wallDesk reads the desk's workload when the node has the desk and the
// principal may read it (a global role); nil otherwise.
func (s *server) wallDesk(r *http.Request, rows []wallRow) (*wallDesk, error) {
	if s.opts.Alerting == nil || !auth.FromContext(r.Context()).Can(auth.PermEventRead, "") {
		return nil, nil
	}
	ctx := r.Context()
	on, err := s.opts.Alerting.OnDuty(ctx)
	if err != nil {
		return nil, err
	}
	hs, err := s.opts.Alerting.Handovers(ctx, store.Page{Limit: maxWallHandovers})
	if err != nil {
		return nil, err
	}
	d := &wallDesk{OnDuty: on}
	for _, h := range hs {
		if h.AckedAt.IsZero() {
			d.Unacked++
		}
	}
	for _, row := range rows {
		d.OpenAlerts += row.Snap.Alerts.OpenTotal
		d.Alerts24h += row.Snap.Alerts.Last24h
	}
	return d, nil
}

// maxWallTenants bounds the tenants one wall computes.
const maxWallTenants = 200

// socWall shows the posture of every tenant the user may see, worst first.
func (s *server) socWall(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := auth.FromContext(ctx)
	if s.opts.Posture == nil {
		return store.ErrNotFound
	}
	ts, err := s.opts.Tenants.ListTenants(ctx)
	if err != nil {
		return err
	}
	v := &wallPage{Refresh: postureRefresh}
	for _, t := range ts {
		if t.Disabled || !p.Can(auth.PermEventRead, t.ID) || !p.Can(auth.PermAssetRead, t.ID) {
			continue
		}
		if len(v.Rows) == maxWallTenants {
			v.Omitted++
			continue
		}
		snap, err := s.opts.Posture.Tenant(ctx, t.ID)
		if err != nil {
			return err
		}
		v.Rows = append(v.Rows, wallRow{Tenant: t, Snap: snap, Critical: snap.Alerts.Open["critical"], High: snap.Alerts.Open["high"]})
	}
	slices.SortStableFunc(v.Rows, func(a, b wallRow) int { return a.Snap.Score.Value - b.Snap.Score.Value })
	if v.Desk, err = s.wallDesk(r, v.Rows); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.Header.Get("HX-Request") == "true" {
		s.renderPartial(w, r, "wall", "wall_rows", v)
		return nil
	}
	s.render(w, r, http.StatusOK, "wall", v)
	return nil
}
