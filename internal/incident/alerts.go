package incident

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Alert statuses this package reads and writes (those of internal/triage).
const (
	alertEscalated = "escalated"
)

// openAlertStatuses are the alert statuses grouping suggestions look at.
func openAlertStatuses() []string { return []string{"new", "acknowledged"} }

// maxEventsPerAlert bounds the events read per promoted alert.
const maxEventsPerAlert = 20

// severityOf maps the highest alert level to a case severity.
func severityOf(alerts []store.Alert) string {
	best := 0
	for _, a := range alerts {
		best = max(best, store.SeverityRank(a.Level))
	}
	switch best {
	case 4:
		return SeverityCritical
	case 3:
		return SeverityHigh
	case 2:
		return SeverityMedium
	}
	return SeverityLow
}

// techniquesOf reads ATT&CK technique tags (Sigma's attack.t1059.001).
func techniquesOf(tags []string) []string {
	var out []string
	for _, t := range tags {
		low := strings.ToLower(t)
		if !strings.HasPrefix(low, "attack.t") {
			continue
		}
		id := strings.ToUpper(strings.TrimPrefix(low, "attack."))
		if techniqueRE.MatchString(id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// alertsFor reads alerts of the tenant for promotion: each must exist and
// not be linked to a case yet.
func (s *Service) alertsFor(ctx context.Context, tenantID string, ids []string) ([]store.Alert, error) {
	switch {
	case len(ids) == 0:
		return nil, invalid("alerts", store.CodeRequired, nil, "choose at least one alert")
	case len(ids) > MaxBulk:
		return nil, invalid("alerts", store.CodeTooMany, map[string]any{"max": MaxBulk}, "at most %d alerts at once", MaxBulk)
	}
	var out []store.Alert
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		a, err := s.store.Alerts().Get(ctx, tenantID, id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, invalid("alerts", store.CodeNotInTenant, nil, "an alert is not one of this organisation's")
			}
			return nil, err
		}
		caseID, err := s.store.Incidents().CaseOfAlert(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		if caseID != "" {
			return nil, fmt.Errorf("%w: alert %s is already in a case", store.ErrConflict, id)
		}
		out = append(out, a)
	}
	return out, nil
}

// Promote opens a case from alerts. Empty fields of in are derived from
// the alerts: the title from the first alert's rule and host, the
// severity from the highest level, the assets, ATT&CK techniques and
// observables (host addresses, source addresses and users of the alerts'
// events) from them.
func (s *Service) Promote(ctx context.Context, tenantID string, alertIDs []string, in Input) (store.Incident, error) {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return store.Incident{}, err
	}
	alerts, err := s.alertsFor(ctx, tenantID, alertIDs)
	if err != nil {
		return store.Incident{}, err
	}
	if in.Title == "" {
		in.Title = alerts[0].RuleTitle
		if alerts[0].Host != "" {
			in.Title += " on " + alerts[0].Host
		}
		if r := []rune(in.Title); len(r) > MaxTitle {
			in.Title = string(r[:MaxTitle])
		}
		in.Title = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, strings.ToValidUTF8(in.Title, "\uFFFD"))
	}
	if in.Severity == "" {
		in.Severity = severityOf(alerts)
	}
	for _, a := range alerts {
		if a.AssetID != "" && !slices.Contains(in.AssetIDs, a.AssetID) && len(in.AssetIDs) < MaxAssets {
			in.AssetIDs = append(in.AssetIDs, a.AssetID)
		}
		for _, t := range techniquesOf(a.Tags) {
			if !slices.Contains(in.Techniques, t) && len(in.Techniques) < MaxTechniques {
				in.Techniques = append(in.Techniques, t)
			}
		}
	}
	if in.GBClass == "" && in.Category != "" {
		in.GBClass = DefaultGBClass(in.Category)
	}
	if err := s.check(ctx, tenantID, &in); err != nil {
		return store.Incident{}, err
	}
	c, err := s.create(ctx, tenantID, in)
	if err != nil {
		return c, err
	}
	if err := s.record(ctx, tenantID, "incident.create", c.ID, map[string]any{"ref": c.Ref, "title": c.Title,
		"severity": c.Severity, "alerts": ids(alerts)}); err != nil {
		return c, err
	}
	return c, s.attach(ctx, c, alerts)
}

// Merge adds alerts to an open case: they are linked and escalated, their
// assets and observables join the case.
func (s *Service) Merge(ctx context.Context, tenantID, caseID string, alertIDs []string) (store.Incident, error) {
	c, err := s.load(ctx, tenantID, caseID, 0)
	if err != nil {
		return c, err
	}
	if c.Phase == PhaseClosed {
		return c, fmt.Errorf("%w: the case is closed; reopen it first", ErrTransition)
	}
	alerts, err := s.alertsFor(ctx, tenantID, alertIDs)
	if err != nil {
		return c, err
	}
	changed := false
	for _, a := range alerts {
		if a.AssetID != "" && !slices.Contains(c.AssetIDs, a.AssetID) && len(c.AssetIDs) < MaxAssets {
			c.AssetIDs, changed = append(c.AssetIDs, a.AssetID), true
		}
		for _, t := range techniquesOf(a.Tags) {
			if !slices.Contains(c.Techniques, t) && len(c.Techniques) < MaxTechniques {
				c.Techniques, changed = append(c.Techniques, t), true
			}
		}
	}
	if changed {
		if err := s.store.Incidents().Update(ctx, &c, nil); err != nil {
			return c, err
		}
	}
	if err := s.record(ctx, tenantID, "incident.merge", c.ID, map[string]any{"ref": c.Ref, "alerts": ids(alerts)}); err != nil {
		return c, err
	}
	return c, s.attach(ctx, c, alerts)
}

func ids(alerts []store.Alert) []string {
	out := make([]string, len(alerts))
	for i, a := range alerts {
		out[i] = a.ID
	}
	return out
}

// attach links alerts to a case, escalates them and adds their
// observables.
func (s *Service) attach(ctx context.Context, c store.Incident, alerts []store.Alert) error {
	p := auth.FromContext(ctx)
	now := s.now()
	if err := s.store.Incidents().LinkAlerts(ctx, c.TenantID, c.ID, ids(alerts), p.ActorID(), now); err != nil {
		return err
	}
	var obs []store.IncidentObservable
	add := func(typ, value, desc string, first, last time.Time) {
		v, err := Normalize(typ, value)
		if err != nil || len(obs) >= MaxObsBatch {
			return
		}
		obs = append(obs, store.IncidentObservable{Type: typ, Value: v, Description: desc, FirstSeen: first, LastSeen: last,
			CreatedBy: p.ActorID()})
	}
	for _, a := range alerts {
		note := "escalated to " + c.Ref
		if a.Note != "" {
			note = a.Note + "\n" + note
		}
		if err := s.store.Alerts().SetStatus(ctx, c.TenantID, a.ID, alertEscalated, note, p.ActorID(), now); err != nil {
			return err
		}
		if ip, err := netip.ParseAddr(a.Host); err == nil {
			add(ObsIP, ip.String(), "alert host", a.FirstSeen, a.LastSeen)
		}
		for i, eid := range a.EventIDs {
			if i == maxEventsPerAlert {
				break
			}
			ev, err := s.store.Events().Get(ctx, c.TenantID, eid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if ev.SourceIP != "" {
				add(ObsIP, ev.SourceIP, "source address of "+a.RuleTitle, ev.Time, ev.Time)
			}
			if ev.User != "" {
				add(ObsUser, ev.User, "user in "+a.RuleTitle, ev.Time, ev.Time)
			}
		}
	}
	if len(obs) > 0 {
		if err := s.store.Incidents().AddObservables(ctx, c.TenantID, c.ID, obs); err != nil {
			return err
		}
	}
	return nil
}

// Suggestion proposes alerts to handle together: merged into an open case
// (CaseID set) or promoted as one new case.
type Suggestion struct {
	CaseID   string
	CaseRef  string
	AlertIDs []string
	Reasons  []string // e.g. "host web01", "asset <id>", "rule <id>", "observable ip 203.0.113.9"
}

// maxSuggestCases bounds the open cases Suggest compares alerts with.
const maxSuggestCases = 200

// Suggest groups the tenant's open alerts last seen within window: those
// sharing a host, asset or observable with an open case are proposed for
// that case; the others are grouped when they share a host, an asset or a
// rule.
func (s *Service) Suggest(ctx context.Context, tenantID string, window time.Duration) ([]Suggestion, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	since := s.now().Add(-window)
	all, err := s.store.Alerts().List(ctx, tenantID, store.AlertFilter{Statuses: openAlertStatuses(), Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	var alerts []store.Alert
	for _, a := range all {
		if !a.LastSeen.Before(since) {
			alerts = append(alerts, a)
		}
	}
	if len(alerts) == 0 {
		return nil, nil
	}
	// Keys of each open case: its assets, the hosts of its alerts and its
	// address observables.
	cases, err := s.store.Incidents().List(ctx, tenantID, store.IncidentFilter{Phases: Phases(), Page: store.Page{Limit: maxSuggestCases}})
	if err != nil {
		return nil, err
	}
	caseOf := map[string]int{} // key -> index in cases
	for i, c := range cases {
		for _, id := range c.AssetIDs {
			setKey(caseOf, "asset "+id, i)
		}
		links, err := s.store.Incidents().CaseAlerts(ctx, tenantID, c.ID)
		if err != nil {
			return nil, err
		}
		for j, l := range links {
			if j == 50 {
				break
			}
			a, err := s.store.Alerts().Get(ctx, tenantID, l.AlertID)
			if err != nil {
				continue
			}
			if a.Host != "" {
				setKey(caseOf, "host "+strings.ToLower(a.Host), i)
			}
		}
		obs, err := s.store.Incidents().Observables(ctx, tenantID, c.ID)
		if err != nil {
			return nil, err
		}
		for _, o := range obs {
			if o.Type == ObsIP || o.Type == ObsDomain {
				setKey(caseOf, "observable "+o.Type+" "+o.Value, i)
			}
		}
	}
	keysOf := func(a store.Alert) []string {
		var ks []string
		if a.Host != "" {
			ks = append(ks, "host "+strings.ToLower(a.Host))
			if ip, err := netip.ParseAddr(a.Host); err == nil {
				ks = append(ks, "observable ip "+ip.String())
			}
		}
		if a.AssetID != "" {
			ks = append(ks, "asset "+a.AssetID)
		}
		return ks
	}
	byCase := map[int]*Suggestion{}
	var rest []store.Alert
	for _, a := range alerts {
		matched := false
		for _, k := range keysOf(a) {
			i, ok := caseOf[k]
			if !ok {
				continue
			}
			sg := byCase[i]
			if sg == nil {
				sg = &Suggestion{CaseID: cases[i].ID, CaseRef: cases[i].Ref}
				byCase[i] = sg
			}
			sg.AlertIDs = append(sg.AlertIDs, a.ID)
			if !slices.Contains(sg.Reasons, k) {
				sg.Reasons = append(sg.Reasons, k)
			}
			matched = true
			break
		}
		if !matched {
			rest = append(rest, a)
		}
	}
	var out []Suggestion
	for i := range cases {
		if sg := byCase[i]; sg != nil {
			out = append(out, *sg)
		}
	}
	// Group the rest: union of alerts sharing a host, an asset or a rule.
	parent := make([]int, len(rest))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	first := map[string]int{}
	reasons := map[string]bool{}
	for i, a := range rest {
		ks := keysOf(a)
		ks = append(ks, "rule "+a.RuleID)
		for _, k := range ks {
			if j, ok := first[k]; ok {
				parent[find(i)] = find(j)
				reasons[k] = true
			} else {
				first[k] = i
			}
		}
	}
	groups := map[int]*Suggestion{}
	var order []int
	for i, a := range rest {
		r := find(i)
		g := groups[r]
		if g == nil {
			g = &Suggestion{}
			groups[r] = g
			order = append(order, r)
		}
		g.AlertIDs = append(g.AlertIDs, a.ID)
		ks := append(keysOf(a), "rule "+a.RuleID)
		for _, k := range ks {
			if reasons[k] && !slices.Contains(g.Reasons, k) {
				g.Reasons = append(g.Reasons, k)
			}
		}
	}
	for _, r := range order {
		if g := groups[r]; len(g.AlertIDs) > 1 {
			out = append(out, *g)
		}
	}
	return out, nil
}

// setKey remembers the first (most recently updated) case of a key.
func setKey(m map[string]int, k string, i int) {
	if _, ok := m[k]; !ok {
		m[k] = i
	}
}

// CaseOfAlert returns the case an alert was promoted or merged to, or
// ErrNotFound when it is in none.
func (s *Service) CaseOfAlert(ctx context.Context, tenantID, alertID string) (store.Incident, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return store.Incident{}, err
	}
	id, err := s.store.Incidents().CaseOfAlert(ctx, tenantID, alertID)
	if err != nil {
		return store.Incident{}, err
	}
	if id == "" {
		return store.Incident{}, fmt.Errorf("case of alert %s: %w", alertID, store.ErrNotFound)
	}
	return s.store.Incidents().Get(ctx, tenantID, id)
}

// Alerts returns the alerts of a case, in the order they were added
// (alerts since deleted are left out).
func (s *Service) Alerts(ctx context.Context, tenantID, caseID string) ([]store.Alert, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	links, err := s.store.Incidents().CaseAlerts(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	out := make([]store.Alert, 0, len(links))
	for _, l := range links {
		a, err := s.store.Alerts().Get(ctx, tenantID, l.AlertID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
