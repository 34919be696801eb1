// Package exercise runs attack/defence drills in the product: it keeps a
// drill and its log in the store, lets the directing team plan, start,
// pause (the emergency stop, with who and why), resume and finish it, takes
// attack records through the drill engine's scope guard (an out-of-scope
// target is refused and nothing is stored), proposes links from the
// tenant's alerts and incidents to attack records for the defenders to
// confirm, and archives the summary report. Every change is audited.
//
// Permissions: reading a drill needs assessment.read; planning, running,
// recording attacks and announcing need assessment.write; confirming a
// defence outcome needs event.triage (the monitoring desk confirms what it
// saw). When a drill's teams list members (usernames), only members act
// for their role: attack records for a team come from its members or the
// directing team's, confirmations from defending or directing members, and
// state changes and announcements from directing members. A role whose
// teams list nobody is open to anyone holding the permission.
package exercise

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Catalogue code and archived report kind of drills.
const (
	ServiceCode = "drill"
	ReportKind  = "drill-summary"
)

// Archiver stores a rendered report; *archive.Service is one.
type Archiver interface {
	Generate(ctx context.Context, req archive.Request) (store.Report, error)
}

// Service runs drills.
type Service struct {
	store   store.Store
	audit   *audit.Log
	archive Archiver
	logger  *slog.Logger
	now     func() time.Time
	link    drill.LinkOptions

	files  *attach.Service
	orders WorkOrders

	libOnce sync.Once
	lib     *drill.Library
	libErr  error
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	// Archive stores summary reports; nil refuses report generation.
	Archive Archiver
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Link tunes how alerts and incidents are matched to attack records.
	Link drill.LinkOptions
	// Files keeps evidence uploaded to drills and attack records; nil
	// refuses uploads.
	Files *attach.Service
	// WorkOrders makes remediation work orders of a drill's gaps; nil
	// refuses them.
	WorkOrders WorkOrders
}

// NewService returns a drill Service.
func NewService(s store.Store, a *audit.Log, opts Options) *Service {
	svc := &Service{store: s, audit: a, archive: opts.Archive, logger: opts.Logger, now: opts.Now, link: opts.Link,
		files: opts.Files, orders: opts.WorkOrders}
	if svc.logger == nil {
		svc.logger = slog.New(slog.DiscardHandler)
	}
	if svc.now == nil {
		svc.now = time.Now
	}
	return svc
}

// Library returns the embedded test-case library.
func (s *Service) Library() (*drill.Library, error) {
	s.libOnce.Do(func() { s.lib, s.libErr = drill.DefaultLibrary() })
	return s.lib, s.libErr
}

// Drill is a stored drill with the engine's view of it.
type Drill struct {
	*drill.Drill
	Version   int       `json:"version"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Remediations link the drill's gaps (by case) to their work orders.
	Remediations []store.DrillRemediation `json:"-"`
	// Viewer is the tenant the drill was opened from: the organiser sees
	// the whole drill, a participant tenant only its part (see Shared).
	Viewer string `json:"-"`
}

// userErr turns an engine refusal into a store.ErrInvalid the surfaces
// show to the user (the engine's messages are written for users); the
// engine sentinel still matches with errors.Is.
func userErr(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{drill.ErrInvalid, drill.ErrOutOfScope, drill.ErrState, drill.ErrNotFound} {
		if errors.Is(err, e) {
			return fmt.Errorf("%w: %w", store.ErrInvalid, err)
		}
	}
	return err
}

// toStore writes the plan of d as a store row.
func toStore(d *drill.Drill) (store.Drill, error) {
	row := store.Drill{ID: d.ID, TenantID: d.TenantID, Name: d.Name, State: string(d.State), Start: d.Window.Start, End: d.Window.End,
		RulesOfEngagement: d.RulesOfEngagement}
	var err error
	if row.Scope, err = json.Marshal(d.Scope); err != nil {
		return row, err
	}
	if row.Teams, err = json.Marshal(d.Teams); err != nil {
		return row, err
	}
	if d.Scheme != nil {
		if row.Scheme, err = json.Marshal(d.Scheme); err != nil {
			return row, err
		}
	}
	for _, p := range d.Participants {
		sc, err := json.Marshal(p.Scope)
		if err != nil {
			return row, err
		}
		row.Participants = append(row.Participants, store.DrillParticipant{TenantID: p.TenantID, Scope: sc})
	}
	cases := d.Cases
	if cases == nil {
		cases = []drill.TestCase{}
	}
	row.Cases, err = json.Marshal(cases)
	return row, err
}

// fromStore rebuilds the engine's drill from its row and log.
func fromStore(row store.Drill, log store.DrillLog) (*Drill, error) {
	d := &drill.Drill{ID: row.ID, TenantID: row.TenantID, Name: row.Name, State: drill.State(row.State),
		RulesOfEngagement: row.RulesOfEngagement, Window: drill.Window{Start: row.Start, End: row.End}}
	dec := func(what string, b []byte, v any) error {
		if len(b) == 0 {
			return nil
		}
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("drill %s: stored %s: %w", row.ID, what, err)
		}
		return nil
	}
	errs := []error{dec("scope", row.Scope, &d.Scope), dec("teams", row.Teams, &d.Teams), dec("cases", row.Cases, &d.Cases)}
	for _, p := range row.Participants {
		part := drill.Participant{TenantID: p.TenantID}
		errs = append(errs, dec("participant scope", p.Scope, &part.Scope))
		d.Participants = append(d.Participants, part)
	}
	if len(row.Scheme) > 0 {
		d.Scheme = &drill.Scheme{}
		errs = append(errs, dec("scheme", row.Scheme, d.Scheme))
	}
	for _, r := range log.Records {
		var rec drill.AttackRecord
		errs = append(errs, dec("record", r.Body, &rec))
		d.Records = append(d.Records, rec)
	}
	for _, o := range log.Observations {
		var ob drill.Observation
		errs = append(errs, dec("observation", o.Body, &ob))
		d.Observed = append(d.Observed, ob)
	}
	for _, a := range log.Announcements {
		d.Announcements = append(d.Announcements, drill.Announcement{At: a.At, By: a.By, To: drill.Role(a.To), Text: a.Text})
	}
	for _, c := range log.StateChanges {
		d.StateLog = append(d.StateLog, drill.StateChange{From: drill.State(c.From), To: drill.State(c.To), At: c.At, By: c.By, Reason: c.Reason})
	}
	for _, r := range log.Reports {
		var rp drill.DefenceReport
		errs = append(errs, dec("report", r.Body, &rp))
		// The row's columns are the truth; the decision changes in place.
		rp.ID, rp.At, rp.Accepted = r.ID, r.At, r.Accepted
		d.Reports = append(d.Reports, rp)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Drill{Drill: d, Version: row.Version, CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
		Remediations: log.Remediations}, nil
}

// load reads a drill and its log.
func (s *Service) load(ctx context.Context, tenantID, id string) (*Drill, error) {
	row, err := s.store.Drills().Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	log, err := s.store.Drills().Log(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return fromStore(row, log)
}

// Plan is what a new drill is made of.
type Plan struct {
	Name              string           `json:"name"`
	RulesOfEngagement string           `json:"rules_of_engagement,omitempty"`
	Window            drill.Window     `json:"window"`
	Scope             drill.Scope      `json:"scope"`
	Teams             []drill.Team     `json:"teams"`
	Scheme            *drill.Scheme    `json:"scheme,omitempty"`
	Cases             []drill.TestCase `json:"cases,omitempty"`
	// LibraryCases names cases of the embedded library to plan.
	LibraryCases []string `json:"library_cases,omitempty"`
	// Participants are the other tenants the drill covers, each with its
	// scope; the caller needs assessment.write in each.
	Participants []drill.Participant `json:"participants,omitempty"`
}

// actor is who acts, as the drill's logs name them.
func actor(ctx context.Context) string { return auth.FromContext(ctx).Name() }

// Create plans a new drill.
func (s *Service) Create(ctx context.Context, tenantID string, p Plan) (*Drill, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	if err := s.checkParticipants(ctx, p.Participants); err != nil {
		return nil, err
	}
	d := &drill.Drill{ID: id.String(), TenantID: tenantID, Name: strings.TrimSpace(p.Name), Scope: p.Scope, Window: p.Window,
		Teams: p.Teams, State: drill.StatePlanned, Participants: p.Participants, RulesOfEngagement: p.RulesOfEngagement, Scheme: p.Scheme}
	if err := d.Validate(); err != nil {
		return nil, userErr(err)
	}
	cases, err := s.resolveCases(p.Cases, p.LibraryCases)
	if err != nil {
		return nil, err
	}
	for _, c := range cases {
		if err := d.AddCase(c); err != nil {
			return nil, userErr(err)
		}
	}
	if err := d.Validate(); err != nil {
		return nil, userErr(err)
	}
	row, err := toStore(d)
	if err != nil {
		return nil, err
	}
	row.CreatedBy = auth.FromContext(ctx).ActorID()
	if err := s.store.Drills().Create(ctx, &row); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, store.NewFieldError("name", store.CodeOneOf, nil, "a drill of this organisation already has this name")
		}
		return nil, err
	}
	out := &Drill{Drill: d, Version: row.Version, CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, Viewer: tenantID}
	return out, s.record(ctx, tenantID, "drill.create", d.ID, map[string]any{"name": d.Name, "cases": len(d.Cases),
		"start": d.Window.Start, "end": d.Window.End})
}

// resolveCases adds the named library cases to cases.
func (s *Service) resolveCases(cases []drill.TestCase, ids []string) ([]drill.TestCase, error) {
	if len(ids) == 0 {
		return cases, nil
	}
	lib, err := s.Library()
	if err != nil {
		return nil, err
	}
	out := slices.Clone(cases)
	for _, id := range ids {
		c, ok := lib.Get(strings.TrimSpace(id))
		if !ok {
			return nil, store.NewFieldError("cases", store.CodeOneOf, nil, "the library has no case %q", drillText(id))
		}
		out = append(out, c)
	}
	return out, nil
}

// drillText cuts user text quoted back in a message.
func drillText(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// Get returns a drill with its log.
func (s *Service) Get(ctx context.Context, tenantID, id string) (*Drill, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	d, err := s.open(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return d.part(), nil
}

// List returns a page of the tenant's drills (plans without their logs),
// latest start first.
func (s *Service) List(ctx context.Context, tenantID string, pg store.Page) ([]store.Drill, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	ds, err := s.store.Drills().List(ctx, tenantID, pg)
	for i := range ds {
		if ds[i].TenantID != tenantID {
			// A participant does not see the organiser's scope.
			ds[i].Scope, ds[i].Participants = nil, nil
		}
	}
	return ds, err
}

// maxRetries bounds how often an addition is retried when another one
// moved the drill on first.
const maxRetries = 5

// change loads the drill, runs fn on it and retries on a version conflict
// when the caller gave no version (version 0: "whatever is current"); a
// version the caller read is checked and a stale one is store.ErrConflict.
func (s *Service) change(ctx context.Context, tenantID, id string, version int, fn func(d *Drill) error) (*Drill, error) {
	for attempt := 0; ; attempt++ {
		d, err := s.open(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		if version != 0 && version != d.Version {
			return nil, fmt.Errorf("%w: the drill was changed by someone else; reload it", store.ErrConflict)
		}
		err = fn(d)
		if version == 0 && errors.Is(err, store.ErrConflict) && attempt < maxRetries {
			continue
		}
		return d, err
	}
}

// members returns the usernames listed on the teams of a role.
func members(d *drill.Drill, role drill.Role) []string {
	var out []string
	for _, t := range d.Teams {
		if t.Role == role {
			out = append(out, t.Members...)
		}
	}
	return out
}

// mayAct checks the caller may act for role (and, when team is given, for
// that team): a role (team) that lists no members is open; otherwise the
// caller must be listed there or on a directing team.
func mayAct(ctx context.Context, d *drill.Drill, role drill.Role, team string) error {
	p := auth.FromContext(ctx)
	name := p.Username
	listed := members(d, role)
	if team != "" {
		if t, ok := d.Team(team); ok && len(t.Members) > 0 {
			listed = t.Members
		}
	}
	if len(listed) == 0 {
		return nil
	}
	if name != "" && (slices.Contains(listed, name) || slices.Contains(members(d, drill.RoleDirector), name)) {
		return nil
	}
	return fmt.Errorf("%w: only members of the drill's %s teams may do this", auth.ErrForbidden, role)
}

// Transition moves a drill to a new state: start (running), pause (the
// emergency stop: reason required), resume (running) or finish.
func (s *Service) Transition(ctx context.Context, tenantID, id string, version int, to drill.State, reason string) (*Drill, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	var from drill.State
	d, err := s.change(ctx, tenantID, id, version, func(d *Drill) error {
		if err := organiser(ctx, d, drill.RoleDirector, ""); err != nil {
			return err
		}
		from = d.State
		if err := d.Transition(to, actor(ctx), strings.TrimSpace(reason), s.now()); err != nil {
			return userErr(err)
		}
		c := d.StateLog[len(d.StateLog)-1]
		sc := store.DrillStateChange{From: string(c.From), To: string(c.To), At: c.At, By: c.By, Reason: c.Reason}
		v, err := s.store.Drills().ChangeState(ctx, d.TenantID, id, d.Version, &sc)
		d.Version = v
		return err
	})
	if err != nil {
		return nil, err
	}
	action := map[drill.State]string{drill.StateRunning: "drill.start", drill.StatePaused: "drill.pause", drill.StateFinished: "drill.finish"}[to]
	if from == drill.StatePaused && to == drill.StateRunning {
		action = "drill.resume"
	}
	return d, s.record(ctx, tenantID, action, id, map[string]any{"from": from, "to": to, "reason": reason})
}

// AddCases plans more cases: given ones and named library cases.
func (s *Service) AddCases(ctx context.Context, tenantID, id string, version int, cases []drill.TestCase, libraryIDs []string) (*Drill, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	all, err := s.resolveCases(cases, libraryIDs)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, store.NewFieldError("cases", store.CodeRequired, nil, "choose at least one case")
	}
	d, err := s.change(ctx, tenantID, id, version, func(d *Drill) error {
		if err := organiser(ctx, d, drill.RoleDirector, ""); err != nil {
			return err
		}
		for _, c := range all {
			if err := d.AddCase(c); err != nil {
				return userErr(err)
			}
		}
		row, err := toStore(d.Drill)
		if err != nil {
			return err
		}
		row.Version = d.Version
		if err := s.store.Drills().Update(ctx, &row); err != nil {
			return err
		}
		d.Version, d.UpdatedAt = row.Version, row.UpdatedAt
		return nil
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(all))
	for i, c := range all {
		ids[i] = c.ID
	}
	return d, s.record(ctx, tenantID, "drill.plan", id, map[string]any{"cases": ids})
}

// CasesFromLayer reads an ATT&CK Navigator layer and returns the library
// cases it asks for (manual cases for techniques the library lacks).
func (s *Service) CasesFromLayer(r io.Reader) (drill.Plan, error) {
	l, err := drill.ParseLayer(r)
	if err != nil {
		return drill.Plan{}, userErr(err)
	}
	lib, err := s.Library()
	if err != nil {
		return drill.Plan{}, err
	}
	return drill.PlanFromLayer(l, lib), nil
}

// RecordAttack records an attack action. The scope guard refuses a target
// outside the drill's scope (the error matches drill.ErrOutOfScope) and
// nothing is stored; the refusal is audited.
func (s *Service) RecordAttack(ctx context.Context, tenantID, id string, r drill.AttackRecord) (*Drill, drill.AttackRecord, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, r, err
	}
	if r.ID == "" {
		rid, err := uuid.NewV7()
		if err != nil {
			return nil, r, err
		}
		r.ID = "A-" + strings.ToUpper(rid.String()[24:])
	}
	if r.At.IsZero() {
		r.At = s.now()
	}
	d, err := s.change(ctx, tenantID, id, 0, func(d *Drill) error {
		if err := organiser(ctx, d, drill.RoleAttacker, r.Team); err != nil {
			return err
		}
		if err := d.RecordAttack(r); err != nil {
			return userErr(err)
		}
		stored := d.Records[len(d.Records)-1]
		body, err := json.Marshal(stored)
		if err != nil {
			return err
		}
		row := store.DrillRecord{ID: stored.ID, At: stored.At, Team: stored.Team, Technique: stored.Technique, Body: body}
		v, err := s.store.Drills().AddRecord(ctx, d.TenantID, id, d.Version, &row)
		d.Version = v
		return err
	})
	if errors.Is(err, drill.ErrOutOfScope) {
		_ = s.record(ctx, tenantID, "drill.record.refused", id, map[string]any{"record": r.ID, "team": r.Team, "target": r.Target.String(),
			"technique": r.Technique})
		return nil, r, err
	}
	if err != nil {
		return nil, r, err
	}
	rec, _ := d.Record(r.ID)
	return d, rec, s.record(ctx, tenantID, "drill.record", id, map[string]any{"record": rec.ID, "team": rec.Team,
		"target": rec.Target.String(), "technique": rec.Technique, "achievement": rec.Achievement})
}

// Announce sends the directing team's message to the teams of a role
// ("" for everyone).
func (s *Service) Announce(ctx context.Context, tenantID, id string, to drill.Role, text string) (*Drill, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	d, err := s.change(ctx, tenantID, id, 0, func(d *Drill) error {
		if err := organiser(ctx, d, drill.RoleDirector, ""); err != nil {
			return err
		}
		if err := d.Announce(drill.Announcement{At: s.now(), By: actor(ctx), To: to, Text: strings.TrimSpace(text)}); err != nil {
			return userErr(err)
		}
		a := d.Announcements[len(d.Announcements)-1]
		row := store.DrillAnnouncement{At: a.At, By: a.By, To: string(a.To), Text: a.Text}
		v, err := s.store.Drills().AddAnnouncement(ctx, d.TenantID, id, d.Version, &row)
		d.Version = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, s.record(ctx, tenantID, "drill.announce", id, map[string]any{"to": to})
}

// Link bounds: alerts and incidents read to propose links.
const (
	maxLinkAlerts    = 10_000
	maxLinkIncidents = 5_000
)

// Suggestions proposes links from the tenant's alerts and incidents raised
// in the drill window to its attack records, strongest first per record.
func (s *Service) Suggestions(ctx context.Context, tenantID, id string) ([]drill.Suggestion, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	d, err := s.open(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return s.suggest(ctx, d)
}

// suggest proposes links for the records against each tenant of the drill
// from that tenant's own alerts and incidents; a participant viewer gets
// those of its part only.
func (s *Service) suggest(ctx context.Context, d *Drill) ([]drill.Suggestion, error) {
	tenants := d.Tenants()
	if d.Shared() {
		tenants = []string{d.Viewer}
	}
	var out []drill.Suggestion
	for _, tid := range tenants {
		sugs, err := s.suggestFor(ctx, d.Part(tid), tid)
		if err != nil {
			return nil, err
		}
		out = append(out, sugs...)
	}
	slices.SortStableFunc(out, func(a, b drill.Suggestion) int { return cmp.Compare(a.RecordID, b.RecordID) })
	return out, nil
}

// suggestFor links the alerts and incidents of tenantID to the records of
// part, the drill cut to that tenant.
func (s *Service) suggestFor(ctx context.Context, d *drill.Drill, tenantID string) ([]drill.Suggestion, error) {
	if len(d.Records) == 0 {
		return nil, nil
	}
	after := cmp.Or(s.link.After, drill.DefaultLinkAfter)
	var alerts []store.Alert
	for off := 0; off < maxLinkAlerts; off += store.MaxPageSize {
		page, err := s.store.Alerts().List(ctx, tenantID, store.AlertFilter{Since: d.Window.Start, Until: d.Window.End.Add(after),
			Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, err
		}
		alerts = append(alerts, page...)
		if len(page) < store.MaxPageSize {
			break
		}
	}
	var incidents []store.Incident
	for off := 0; off < maxLinkIncidents; off += store.MaxPageSize {
		page, err := s.store.Incidents().List(ctx, tenantID, store.IncidentFilter{Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, err
		}
		for _, in := range page {
			if !in.CreatedAt.Before(d.Window.Start.Add(-time.Hour)) && in.CreatedAt.Before(d.Window.End.Add(after)) {
				incidents = append(incidents, in)
			}
		}
		if len(page) < store.MaxPageSize {
			break
		}
	}
	out := d.Link(alerts, s.link)
	return append(out, d.LinkIncidents(incidents, s.link)...), nil
}

// Confirm accepts a proposed link: the alert (or "incident:<id>") detected
// the attack record. respondedAt is when the response began (zero: none
// yet, or the incident's containment).
func (s *Service) Confirm(ctx context.Context, tenantID, id, recordID, alertID string, respondedAt time.Time) (*Drill, error) {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return nil, err
	}
	d, err := s.change(ctx, tenantID, id, 0, func(d *Drill) error {
		if err := mayAct(ctx, d.Drill, drill.RoleDefender, ""); err != nil {
			return err
		}
		if err := d.sees(recordID); err != nil {
			return err
		}
		sugs, err := s.suggest(ctx, d)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(sugs, func(x drill.Suggestion) bool { return x.RecordID == recordID && x.AlertID == alertID })
		if i < 0 {
			return fmt.Errorf("%w: %s is not a proposed link for record %s", store.ErrInvalid, drillText(alertID), drillText(recordID))
		}
		if err := d.Confirm(sugs[i], actor(ctx), respondedAt); err != nil {
			return userErr(err)
		}
		return s.addObservation(ctx, d)
	})
	if err != nil {
		return nil, err
	}
	return d.part(), s.record(ctx, tenantID, "drill.confirm", id, map[string]any{"record": recordID, "alert": alertID})
}

// Observe records what a defence layer did against an attack record, as
// the defenders confirm it without an alert in Vigil (a firewall block, a
// WAF log).
func (s *Service) Observe(ctx context.Context, tenantID, id string, o drill.Observation) (*Drill, error) {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return nil, err
	}
	o.By = actor(ctx)
	if o.At.IsZero() {
		o.At = s.now()
	}
	d, err := s.change(ctx, tenantID, id, 0, func(d *Drill) error {
		if err := mayAct(ctx, d.Drill, drill.RoleDefender, ""); err != nil {
			return err
		}
		if err := d.sees(o.RecordID); err != nil {
			return err
		}
		if err := d.Observe(o); err != nil {
			return userErr(err)
		}
		return s.addObservation(ctx, d)
	})
	if err != nil {
		return nil, err
	}
	return d.part(), s.record(ctx, tenantID, "drill.observe", id, map[string]any{"record": o.RecordID, "layer": o.Layer, "level": o.Level})
}

// addObservation stores the drill's last observation.
func (s *Service) addObservation(ctx context.Context, d *Drill) error {
	o := d.Observed[len(d.Observed)-1]
	body, err := json.Marshal(o)
	if err != nil {
		return err
	}
	row := store.DrillObservation{RecordID: o.RecordID, AlertID: o.AlertID, At: o.At, By: o.By, Body: body}
	v, err := s.store.Drills().AddObservation(ctx, d.TenantID, d.ID, d.Version, &row)
	d.Version = v
	return err
}

// Report builds the drill's summary report and archives it in format.
func (s *Service) Report(ctx context.Context, tenantID, id, lang string, format report.Format) (store.Report, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return store.Report{}, err
	}
	if err := auth.Require(ctx, auth.PermReportRead, tenantID); err != nil {
		return store.Report{}, err
	}
	if s.archive == nil {
		return store.Report{}, errors.New("drill reports: no report archive configured")
	}
	d, err := s.open(ctx, tenantID, id)
	if err != nil {
		return store.Report{}, err
	}
	// A participant's report covers its part and is archived with it.
	doc, err := d.part().Summary(lang, s.now())
	if err != nil {
		return store.Report{}, userErr(err)
	}
	rep, err := s.archive.Generate(ctx, archive.Request{TenantID: tenantID, Service: ServiceCode, Kind: ReportKind, SourceID: id,
		Format: format, Doc: doc})
	if err != nil {
		return rep, err
	}
	return rep, s.record(ctx, tenantID, "drill.report", id, map[string]any{"report": rep.ID, "format": format, "lang": lang})
}

// Delete removes a drill that has not started.
func (s *Service) Delete(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	d, err := s.load(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if err := mayAct(ctx, d.Drill, drill.RoleDirector, ""); err != nil {
		return err
	}
	if d.State != drill.StatePlanned {
		return fmt.Errorf("%w: only a drill that has not started can be deleted", store.ErrInvalid)
	}
	// A planned drill has no records; its own files go with it.
	if s.files != nil {
		files, err := s.files.List(ctx, auth.PermAssessWrite, fileOwner(d, ""))
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := s.files.Delete(ctx, auth.PermAssessWrite, fileOwner(d, ""), f.ID); err != nil {
				return err
			}
		}
	}
	if err := s.store.Drills().Delete(ctx, tenantID, id); err != nil {
		return err
	}
	return s.record(ctx, tenantID, "drill.delete", id, map[string]any{"name": d.Name})
}

func (s *Service) record(ctx context.Context, tenantID, action, id string, detail any) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: action, Object: "drill:" + id, Detail: detail})
}
