package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/store"
)

// DrillScope is what the attacking teams may touch.
type DrillScope struct {
	CIDRs           []string `json:"cidrs,omitempty" maxItems:"10000"`
	Hosts           []string `json:"hosts,omitempty" maxItems:"10000" doc:"Host names; *.domain covers every name below it"`
	AssetIDs        []string `json:"asset_ids,omitempty" maxItems:"10000"`
	ExcludeCIDRs    []string `json:"exclude_cidrs,omitempty" maxItems:"10000"`
	ExcludeHosts    []string `json:"exclude_hosts,omitempty" maxItems:"10000"`
	ExcludeAssetIDs []string `json:"exclude_asset_ids,omitempty" maxItems:"10000"`
}

func (s DrillScope) engine() drill.Scope {
	return drill.Scope{CIDRs: s.CIDRs, Hosts: s.Hosts, AssetIDs: s.AssetIDs, ExcludeCIDRs: s.ExcludeCIDRs, ExcludeHosts: s.ExcludeHosts,
		ExcludeAssetIDs: s.ExcludeAssetIDs}
}

// DrillTeam is one side of a drill.
type DrillTeam struct {
	Name    string   `json:"name" minLength:"1" maxLength:"200"`
	Role    string   `json:"role" enum:"attacker,defender,director"`
	Unit    string   `json:"unit,omitempty" maxLength:"200" doc:"The organisation a defending team protects"`
	Members []string `json:"members,omitempty" maxItems:"500" doc:"Usernames; when a role lists members, only they act for it"`
}

// DrillCase is a planned test case.
type DrillCase struct {
	ID        string   `json:"id"`
	Technique string   `json:"technique"`
	Tactic    string   `json:"tactic,omitempty"`
	Name      string   `json:"name"`
	Layers    []string `json:"layers" doc:"Defence layers expected to block or see it"`
	Source    string   `json:"source,omitempty"`
}

// DrillStateChange is one entry of the state history.
type DrillStateChange struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// DrillBoard is the director's live view.
type DrillBoard struct {
	Planned  int `json:"planned"`
	Executed int `json:"executed"`
	Alerted  int `json:"alerted" doc:"Executed cases alerted or blocked"`
	Blocked  int `json:"blocked"`
	Records  int `json:"records"`
}

// Drill is an attack/defence drill.
type Drill struct {
	ID                string             `json:"id"`
	Name              string             `json:"name"`
	State             string             `json:"state" enum:"planned,running,paused,finished"`
	Start             time.Time          `json:"start"`
	End               time.Time          `json:"end"`
	RulesOfEngagement string             `json:"rules_of_engagement,omitempty"`
	Scope             DrillScope         `json:"scope"`
	Teams             []DrillTeam        `json:"teams"`
	Cases             []DrillCase        `json:"cases"`
	Board             DrillBoard         `json:"board"`
	Scores            map[string]int     `json:"scores" doc:"Points per attacking and defending team"`
	StateLog          []DrillStateChange `json:"state_log"`
	Version           int                `json:"version" doc:"Pass it back on transitions; a stale version is a conflict"`
	CreatedAt         time.Time          `json:"created_at"`
	UpdatedAt         time.Time          `json:"updated_at"`
}

func drillDTO(d *exercise.Drill) Drill {
	sc := d.Scope
	out := Drill{ID: d.ID, Name: d.Name, State: string(d.State), Start: d.Window.Start, End: d.Window.End, RulesOfEngagement: d.RulesOfEngagement,
		Scope: DrillScope{CIDRs: sc.CIDRs, Hosts: sc.Hosts, AssetIDs: sc.AssetIDs, ExcludeCIDRs: sc.ExcludeCIDRs, ExcludeHosts: sc.ExcludeHosts,
			ExcludeAssetIDs: sc.ExcludeAssetIDs}, Teams: []DrillTeam{}, Cases: []DrillCase{}, Scores: map[string]int{},
		StateLog: []DrillStateChange{}, Version: d.Version, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	for _, t := range d.Teams {
		out.Teams = append(out.Teams, DrillTeam{Name: t.Name, Role: string(t.Role), Unit: t.Unit, Members: t.Members})
	}
	for _, c := range d.Cases {
		dc := DrillCase{ID: c.ID, Technique: c.Technique, Tactic: c.Tactic, Name: c.Name, Layers: []string{}, Source: c.Source}
		for _, l := range c.Layers {
			dc.Layers = append(dc.Layers, string(l))
		}
		out.Cases = append(out.Cases, dc)
	}
	for _, c := range d.StateLog {
		out.StateLog = append(out.StateLog, DrillStateChange{From: string(c.From), To: string(c.To), At: c.At, By: c.By, Reason: c.Reason})
	}
	b := d.Board()
	out.Board = DrillBoard{Planned: b.Planned, Executed: b.Executed, Alerted: b.Alerted, Blocked: b.Blocked, Records: b.Records}
	if scores, err := d.Score(); err == nil {
		for k, v := range scores.Attackers {
			out.Scores[k] = v
		}
		for k, v := range scores.Defenders {
			out.Scores[k] = v
		}
	}
	return out
}

// DrillSummary is a drill in a list.
type DrillSummary struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DrillInput plans a drill.
type DrillInput struct {
	Name              string      `json:"name" minLength:"1" maxLength:"200"`
	RulesOfEngagement string      `json:"rules_of_engagement,omitempty" maxLength:"20000"`
	Start             time.Time   `json:"start"`
	End               time.Time   `json:"end"`
	Scope             DrillScope  `json:"scope"`
	Teams             []DrillTeam `json:"teams" minItems:"3" maxItems:"100"`
	LibraryCases      []string    `json:"library_cases,omitempty" maxItems:"2000" doc:"IDs of cases of the built-in library (vigil drill library)"`
}

// DrillRecordInput is one attack action the attacking team reports.
type DrillRecordInput struct {
	Team        string    `json:"team" minLength:"1" maxLength:"200"`
	What        string    `json:"what" minLength:"1" maxLength:"20000"`
	At          time.Time `json:"at,omitzero" doc:"Defaults to now"`
	Technique   string    `json:"technique" maxLength:"12" doc:"ATT&CK technique, e.g. T1110.001"`
	CaseID      string    `json:"case_id,omitempty" maxLength:"200"`
	From        string    `json:"from,omitempty" maxLength:"200"`
	Host        string    `json:"host,omitempty" maxLength:"200"`
	Address     string    `json:"address,omitempty" maxLength:"200"`
	AssetID     string    `json:"asset_id,omitempty" maxLength:"200"`
	Evidence    []string  `json:"evidence,omitempty" maxItems:"50" doc:"References to stored files; never rendered as markup"`
	Foothold    bool      `json:"foothold,omitempty"`
	Privilege   bool      `json:"privilege,omitempty"`
	Data        bool      `json:"data,omitempty"`
	Achievement string    `json:"achievement,omitempty" enum:"boundary_breached,target_system,important_data,other_system,"`
	Unit        string    `json:"unit,omitempty" maxLength:"200" doc:"Defending unit that owns the target"`
}

// DrillRecord is a recorded attack action.
type DrillRecord struct {
	ID          string    `json:"id"`
	CaseID      string    `json:"case_id,omitempty"`
	Team        string    `json:"team"`
	What        string    `json:"what"`
	At          time.Time `json:"at"`
	From        string    `json:"from,omitempty"`
	Target      string    `json:"target"`
	Technique   string    `json:"technique"`
	Evidence    []string  `json:"evidence"`
	Foothold    bool      `json:"foothold"`
	Privilege   bool      `json:"privilege"`
	Data        bool      `json:"data"`
	Achievement string    `json:"achievement,omitempty"`
	Unit        string    `json:"unit,omitempty"`
}

func recordDTO(r drill.AttackRecord) DrillRecord {
	return DrillRecord{ID: r.ID, CaseID: r.CaseID, Team: r.Team, What: r.What, At: r.At, From: r.From, Target: r.Target.String(),
		Technique: r.Technique, Evidence: nonNilStrings(r.Evidence), Foothold: r.Result.Foothold, Privilege: r.Result.Privilege,
		Data: r.Result.Data, Achievement: string(r.Achievement), Unit: r.Unit}
}

// DrillTransitionInput starts, pauses (the emergency stop), resumes or finishes
// a drill.
type DrillTransitionInput struct {
	To      string `json:"to" enum:"running,paused,finished"`
	Reason  string `json:"reason,omitempty" maxLength:"20000" doc:"Required for the emergency stop (running → paused)"`
	Version int    `json:"version" minimum:"0" doc:"The version read; 0 takes the current one"`
}

// DrillSuggestion proposes that an alert or incident detected a record.
type DrillSuggestion struct {
	RecordID  string    `json:"record_id"`
	AlertID   string    `json:"alert_id" doc:"An alert ID, or incident:<id>"`
	Rule      string    `json:"rule"`
	Layer     string    `json:"layer"`
	At        time.Time `json:"at"`
	DelayMS   int64     `json:"delay_ms"`
	Matched   string    `json:"matched"`
	Technique string    `json:"technique" enum:"exact,related,unknown"`
}

// DrillConfirmInput accepts a proposed link.
type DrillConfirmInput struct {
	RecordID    string    `json:"record_id" minLength:"1" maxLength:"200"`
	AlertID     string    `json:"alert_id" minLength:"1" maxLength:"300"`
	RespondedAt time.Time `json:"responded_at,omitzero" doc:"When the response began, if it did"`
}

type drillParamIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
}

type drillListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0"`
}

type drillCreateIn struct {
	TenantParam
	Body DrillInput
}

type drillRecordIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Body  DrillRecordInput
}

type drillTransitionIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Body  DrillTransitionInput
}

type drillConfirmIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Body  DrillConfirmInput
}

func (s *server) registerDrills() {
	if s.opts.Drills == nil {
		return
	}
	tags := []string{"drills"}
	base := "/tenants/{tenant}/drills"
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-drills", Method: http.MethodGet, Path: base,
		Summary: "List attack/defence drills", Description: "Latest start first.", Tags: tags}, s.listDrills)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "create-drill", Method: http.MethodPost, Path: base,
		Summary: "Plan a drill", DefaultStatus: http.StatusCreated, Tags: tags}, s.createDrill)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-drill", Method: http.MethodGet, Path: base + "/{drill}",
		Summary: "Get a drill with its board, scores and state history", Tags: tags}, s.getDrill)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-drill-records", Method: http.MethodGet,
		Path: base + "/{drill}/records", Summary: "List a drill's attack records", Tags: tags}, s.listDrillRecords)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "record-drill-attack", Method: http.MethodPost,
		Path: base + "/{drill}/records", Summary: "Record an attack action",
		Description: "The scope guard refuses a target outside the drill's scope (422) and nothing is stored.", DefaultStatus: http.StatusCreated,
		Tags: tags}, s.recordDrillAttack)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "transition-drill", Method: http.MethodPost,
		Path: base + "/{drill}/transitions", Summary: "Start, pause (emergency stop), resume or finish a drill", Tags: tags}, s.transitionDrill)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "drill-suggestions", Method: http.MethodGet,
		Path: base + "/{drill}/suggestions", Summary: "Alerts and incidents that may have detected attack records", Tags: tags}, s.drillSuggestions)
	register(s, inTenant(auth.PermEventTriage), huma.Operation{OperationID: "confirm-drill-detection", Method: http.MethodPost,
		Path: base + "/{drill}/confirmations", Summary: "Confirm that an alert or incident detected an attack record", Tags: tags}, s.confirmDrill)
}

func (s *server) listDrills(ctx context.Context, in *drillListIn) (*out[[]DrillSummary], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := s.opts.Drills.List(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(items(ds, func(d store.Drill) DrillSummary {
		return DrillSummary{ID: d.ID, Name: d.Name, State: d.State, Start: d.Start, End: d.End, Version: d.Version, UpdatedAt: d.UpdatedAt}
	}))
}

func (s *server) createDrill(ctx context.Context, in *drillCreateIn) (*out[Drill], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	p := exercise.Plan{Name: b.Name, RulesOfEngagement: b.RulesOfEngagement, Window: drill.Window{Start: b.Start, End: b.End},
		Scope: b.Scope.engine(), LibraryCases: b.LibraryCases}
	for _, tm := range b.Teams {
		p.Teams = append(p.Teams, drill.Team{Name: tm.Name, Role: drill.Role(tm.Role), Unit: tm.Unit, Members: tm.Members})
	}
	d, err := s.opts.Drills.Create(ctx, t.ID, p)
	if err != nil {
		return nil, err
	}
	return reply(drillDTO(d))
}

func (s *server) getDrill(ctx context.Context, in *drillParamIn) (*out[Drill], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.Get(ctx, t.ID, in.Drill)
	if err != nil {
		return nil, err
	}
	return reply(drillDTO(d))
}

func (s *server) listDrillRecords(ctx context.Context, in *drillParamIn) (*out[[]DrillRecord], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.Get(ctx, t.ID, in.Drill)
	if err != nil {
		return nil, err
	}
	return reply(items(d.Records, recordDTO))
}

func (s *server) recordDrillAttack(ctx context.Context, in *drillRecordIn) (*out[DrillRecord], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	_, rec, err := s.opts.Drills.RecordAttack(ctx, t.ID, in.Drill, drill.AttackRecord{Team: b.Team, What: b.What, At: b.At,
		Technique: b.Technique, CaseID: b.CaseID, From: b.From, Target: drill.Target{Host: b.Host, Address: b.Address, AssetID: b.AssetID},
		Evidence: b.Evidence, Result: drill.Result{Foothold: b.Foothold, Privilege: b.Privilege, Data: b.Data},
		Achievement: drill.Achievement(b.Achievement), Unit: b.Unit})
	if err != nil {
		return nil, err
	}
	return reply(recordDTO(rec))
}

func (s *server) transitionDrill(ctx context.Context, in *drillTransitionIn) (*out[Drill], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.Transition(ctx, t.ID, in.Drill, in.Body.Version, drill.State(in.Body.To), in.Body.Reason)
	if err != nil {
		return nil, err
	}
	return reply(drillDTO(d))
}

func (s *server) drillSuggestions(ctx context.Context, in *drillParamIn) (*out[[]DrillSuggestion], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	sugs, err := s.opts.Drills.Suggestions(ctx, t.ID, in.Drill)
	if err != nil {
		return nil, err
	}
	return reply(items(sugs, func(x drill.Suggestion) DrillSuggestion {
		return DrillSuggestion{RecordID: x.RecordID, AlertID: x.AlertID, Rule: x.Rule, Layer: string(x.Layer), At: x.At,
			DelayMS: x.Delay.Milliseconds(), Matched: x.Matched, Technique: x.Technique}
	}))
}

func (s *server) confirmDrill(ctx context.Context, in *drillConfirmIn) (*out[Drill], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.Confirm(ctx, t.ID, in.Drill, in.Body.RecordID, in.Body.AlertID, in.Body.RespondedAt)
	if err != nil {
		return nil, err
	}
	return reply(drillDTO(d))
}
