package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/posture"
	"github.com/vigil-sec/vigil/internal/store"
)

// Incident is a security incident (case) and its SLA timers.
type Incident struct {
	ID          string     `json:"id"`
	Ref         string     `json:"ref" doc:"Per-tenant reference, e.g. IR-2026-0042"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty" doc:"Markdown source as written; render it sanitised"`
	Severity    string     `json:"severity" enum:"low,medium,high,critical"`
	TLP         string     `json:"tlp"`
	PAP         string     `json:"pap"`
	Category    string     `json:"category"`
	GBClass     string     `json:"gb_class,omitempty" doc:"GB/T 20986 class code"`
	Phase       string     `json:"phase" enum:"detect,contain,eradicate,recover,summarise,closed"`
	Resolution  string     `json:"resolution,omitempty"`
	Assignee    string     `json:"assignee,omitempty"`
	Tags        []string   `json:"tags"`
	Techniques  []string   `json:"techniques" doc:"MITRE ATT&CK technique IDs"`
	AssetIDs    []string   `json:"asset_ids"`
	Version     int        `json:"version" doc:"Pass it back on changes; a stale version is a conflict"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	Timers      []SLATimer `json:"sla"`
}

// SLATimer is one SLA timer of a case.
type SLATimer struct {
	Name  string     `json:"name" enum:"acknowledge,contain,close"`
	Due   *time.Time `json:"due,omitempty"`
	Done  *time.Time `json:"done,omitempty"`
	State string     `json:"state"`
}

func incidentDTO(c store.Incident, now time.Time) Incident {
	d := Incident{ID: c.ID, Ref: c.Ref, Title: c.Title, Description: c.Description, Severity: c.Severity, TLP: c.TLP, PAP: c.PAP,
		Category: c.Category, GBClass: c.GBClass, Phase: c.Phase, Resolution: c.Resolution, Assignee: c.Assignee,
		Tags: nonNilStrings(c.Tags), Techniques: nonNilStrings(c.Techniques), AssetIDs: nonNilStrings(c.AssetIDs), Version: c.Version,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, ClosedAt: optTime(c.ClosedAt)}
	for _, t := range incident.Timers(c, now) {
		d.Timers = append(d.Timers, SLATimer{Name: t.Name, Due: optTime(t.Due), Done: optTime(t.Done), State: t.State})
	}
	return d
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// IncidentList is a page of cases.
type IncidentList struct {
	Items  []Incident `json:"items"`
	Total  int        `json:"total" doc:"Capped at 10000"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
}

// IncidentInput opens or edits a case.
type IncidentInput struct {
	Title       string   `json:"title" minLength:"1" maxLength:"300"`
	Description string   `json:"description,omitempty" maxLength:"20000"`
	Severity    string   `json:"severity,omitempty" enum:"low,medium,high,critical"`
	TLP         string   `json:"tlp,omitempty" maxLength:"20"`
	PAP         string   `json:"pap,omitempty" maxLength:"20"`
	Category    string   `json:"category,omitempty" maxLength:"40"`
	Tags        []string `json:"tags,omitempty" maxItems:"50"`
	Techniques  []string `json:"techniques,omitempty" maxItems:"50"`
}

func (in IncidentInput) service() incident.Input {
	return incident.Input{Title: in.Title, Description: in.Description, Severity: in.Severity, TLP: in.TLP, PAP: in.PAP,
		Category: in.Category, Tags: in.Tags, Techniques: in.Techniques}
}

// PromoteInput turns alerts into a new case, or adds them to Case.
type PromoteInput struct {
	AlertIDs []string `json:"alert_ids" minItems:"1" maxItems:"500"`
	Case     string   `json:"case,omitempty" maxLength:"100" doc:"ID of an open case to merge into; empty opens a new one"`
	Title    string   `json:"title,omitempty" maxLength:"300"`
}

// PhaseInput moves a case to another phase or closes it.
type PhaseInput struct {
	Phase      string `json:"phase,omitempty" enum:"detect,contain,eradicate,recover,summarise"`
	Resolution string `json:"resolution,omitempty" enum:"true_positive,false_positive,duplicate,benign" doc:"Closes the case"`
	Reason     string `json:"reason,omitempty" maxLength:"2000"`
	Version    int    `json:"version" minimum:"0"`
}

// Observable is an observable of a case.
type Observable struct {
	ID    string   `json:"id"`
	Type  string   `json:"type"`
	Value string   `json:"value"`
	IOC   bool     `json:"ioc"`
	Tags  []string `json:"tags"`
}

// ObservableInput adds an observable to a case.
type ObservableInput struct {
	Type        string `json:"type" enum:"ip,domain,url,hash,email,file,user,process,other"`
	Value       string `json:"value" minLength:"1" maxLength:"2000"`
	IOC         bool   `json:"ioc,omitempty"`
	Description string `json:"description,omitempty" maxLength:"2000"`
}

// TimelineItem is one entry of a case's timeline.
type TimelineItem struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Source string    `json:"source,omitempty"`
	Actor  string    `json:"actor,omitempty"`
	Text   string    `json:"text"`
}

type caseParamIn struct {
	TenantParam
	Case string `path:"case" maxLength:"100" doc:"Case ID"`
}

type caseListIn struct {
	TenantParam
	Phase    string `query:"phase" enum:"detect,contain,eradicate,recover,summarise,closed,"`
	Severity string `query:"severity" enum:"low,medium,high,critical,"`
	Q        string `query:"q" maxLength:"200" doc:"Substring of the title or reference, or an observable value"`
	Breached bool   `query:"breached" doc:"Only cases with a breached SLA timer"`
	Limit    int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset   int    `query:"offset" minimum:"0"`
}

type caseCreateIn struct {
	TenantParam
	Body IncidentInput
}

type casePromoteIn struct {
	TenantParam
	Body PromoteInput
}

type casePhaseIn struct {
	TenantParam
	Case string `path:"case" maxLength:"100" doc:"Case ID"`
	Body PhaseInput
}

type caseObservablesIn struct {
	TenantParam
	Case string            `path:"case" maxLength:"100" doc:"Case ID"`
	Body []ObservableInput `maxItems:"100"`
}

func (s *server) registerIncidents() {
	tags := []string{"incidents"}
	base := "/tenants/{tenant}/incidents"
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "list-incidents", Method: http.MethodGet, Path: base,
		Summary: "List cases", Description: "Most recently updated first.", Tags: tags}, s.listCases)
	register(s, inTenant(auth.PermIncidentWrite), huma.Operation{OperationID: "create-incident", Method: http.MethodPost, Path: base,
		Summary: "Open a case", DefaultStatus: http.StatusCreated, Tags: tags}, s.createCase)
	register(s, inTenant(auth.PermIncidentWrite), huma.Operation{OperationID: "promote-alerts", Method: http.MethodPost, Path: base + "/promote",
		Summary: "Turn alerts into a case", Description: "Opens a case from the alerts, or adds them to an open case; the alerts become escalated.",
		Tags: tags}, s.promoteAlerts)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "get-incident", Method: http.MethodGet, Path: base + "/{case}",
		Summary: "Get a case with its SLA timers", Tags: tags}, s.getCase)
	register(s, inTenant(auth.PermIncidentWrite), huma.Operation{OperationID: "move-incident", Method: http.MethodPost, Path: base + "/{case}/phase",
		Summary: "Move a case to another phase, or close it with a resolution", Tags: tags}, s.moveCase)
	register(s, inTenant(auth.PermIncidentWrite), huma.Operation{OperationID: "add-observables", Method: http.MethodPost,
		Path: base + "/{case}/observables", Summary: "Add observables to a case", Tags: tags}, s.addObservables)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "incident-timeline", Method: http.MethodGet,
		Path: base + "/{case}/timeline", Summary: "The case's timeline: alerts, events, tasks, phase changes, notes, operators' actions", Tags: tags},
		s.caseTimeline)
	register(s, inTenant(auth.PermTenantRead), huma.Operation{OperationID: "get-posture", Method: http.MethodGet, Path: "/tenants/{tenant}/posture",
		Summary: "The tenant's security posture", Description: "The dashboard's figures (alerts, vulnerabilities, exposure, log health, " +
			"incidents) and the posture score with its breakdown; see docs/posture.md. Needs event.read and asset.read in the tenant.",
		Tags: []string{"posture"}}, s.getPosture)
}

func (s *server) listCases(ctx context.Context, in *caseListIn) (*out[IncidentList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	f := incident.Filter{Severity: in.Severity, Query: in.Q, Breached: in.Breached, Page: store.Page{Limit: in.Limit, Offset: in.Offset}}
	if in.Phase != "" {
		f.Phases = []string{in.Phase}
	}
	cs, total, err := s.opts.Incidents.List(ctx, t.ID, f)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return reply(IncidentList{Items: items(cs, func(c store.Incident) Incident { return incidentDTO(c, now) }), Total: total,
		Limit: in.Limit, Offset: in.Offset})
}

func (s *server) createCase(ctx context.Context, in *caseCreateIn) (*out[Incident], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.opts.Incidents.Create(ctx, t.ID, in.Body.service())
	if err != nil {
		return nil, err
	}
	return reply(incidentDTO(c, time.Now()))
}

func (s *server) promoteAlerts(ctx context.Context, in *casePromoteIn) (*out[Incident], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	var c store.Incident
	if in.Body.Case != "" {
		c, err = s.opts.Incidents.Merge(ctx, t.ID, in.Body.Case, in.Body.AlertIDs)
	} else {
		c, err = s.opts.Incidents.Promote(ctx, t.ID, in.Body.AlertIDs, incident.Input{Title: in.Body.Title})
	}
	if err != nil {
		return nil, err
	}
	return reply(incidentDTO(c, time.Now()))
}

func (s *server) getCase(ctx context.Context, in *caseParamIn) (*out[Incident], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.opts.Incidents.Get(ctx, t.ID, in.Case)
	if err != nil {
		return nil, err
	}
	return reply(incidentDTO(c, time.Now()))
}

func (s *server) moveCase(ctx context.Context, in *casePhaseIn) (*out[Incident], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	var c store.Incident
	switch b := in.Body; {
	case b.Resolution != "":
		c, err = s.opts.Incidents.Close(ctx, t.ID, in.Case, b.Version, b.Resolution, b.Reason)
	case b.Phase != "":
		c, err = s.opts.Incidents.SetPhase(ctx, t.ID, in.Case, b.Version, b.Phase, b.Reason)
	default:
		return nil, store.NewFieldError("phase", store.CodeRequired, nil, "give a phase or a resolution")
	}
	if err != nil {
		return nil, err
	}
	return reply(incidentDTO(c, time.Now()))
}

func (s *server) addObservables(ctx context.Context, in *caseObservablesIn) (*out[[]Observable], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ins := make([]incident.ObservableInput, 0, len(in.Body))
	for _, o := range in.Body {
		ins = append(ins, incident.ObservableInput{Type: o.Type, Value: o.Value, IOC: o.IOC, Description: o.Description})
	}
	obs, err := s.opts.Incidents.AddObservables(ctx, t.ID, in.Case, ins)
	if err != nil {
		return nil, err
	}
	return reply(items(obs, func(o store.IncidentObservable) Observable {
		return Observable{ID: o.ID, Type: o.Type, Value: o.Value, IOC: o.IOC, Tags: nonNilStrings(o.Tags)}
	}))
}

func (s *server) caseTimeline(ctx context.Context, in *caseParamIn) (*out[[]TimelineItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	tl, err := s.opts.Incidents.Timeline(ctx, t.ID, in.Case)
	if err != nil {
		return nil, err
	}
	return reply(items(tl, func(i incident.Item) TimelineItem {
		return TimelineItem{At: i.At, Kind: i.Kind, Source: i.Source, Actor: i.Actor, Text: i.Text}
	}))
}

// Posture is a tenant's security posture.
type Posture struct {
	At        time.Time         `json:"at"`
	Score     posture.Score     `json:"score"`
	Alerts    posture.Alerts    `json:"alerts"`
	Vulns     posture.Vulns     `json:"vulnerabilities"`
	Exposure  posture.Exposure  `json:"exposure"`
	Logs      posture.Logs      `json:"logs"`
	Incidents posture.Incidents `json:"incidents"`
}

func (s *server) getPosture(ctx context.Context, in *TenantParam) (*out[Posture], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	if !p.Can(auth.PermEventRead, t.ID) || !p.Can(auth.PermAssetRead, t.ID) {
		return nil, auth.ErrForbidden
	}
	snap, err := s.opts.Posture.Tenant(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(Posture{At: snap.At, Score: snap.Score, Alerts: snap.Alerts, Vulns: snap.Vulns, Exposure: snap.Exposure,
		Logs: snap.Logs, Incidents: snap.Incidents})
}
