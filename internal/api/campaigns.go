package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/gate"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
	"github.com/vigil-sec/vigil/internal/store"
)

// CampaignSummary is a campaign in a list.
type CampaignSummary struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind" enum:"golive,keyperiod"`
	Name      string    `json:"name"`
	AssetID   string    `json:"asset_id,omitempty" doc:"The system of a go-live gate"`
	PeriodID  string    `json:"period_id,omitempty" doc:"The calendar period of a key-period campaign"`
	Phase     string    `json:"phase"`
	Outcome   string    `json:"outcome,omitempty" doc:"Latest recorded gate decision: pass, conditional-pass or fail"`
	Closed    bool      `json:"closed"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

func campaignSummaryDTO(c store.Campaign) CampaignSummary {
	return CampaignSummary{ID: c.ID, Kind: c.Kind, Name: c.Name, AssetID: c.AssetID, PeriodID: c.PeriodID, Phase: c.Phase, Outcome: c.Outcome,
		Closed: c.Closed, Start: c.Start, End: c.End, Version: c.Version, UpdatedAt: c.UpdatedAt}
}

// CampaignFinding is a problem a check found.
type CampaignFinding struct {
	Key      string   `json:"key"`
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	Score    float64  `json:"score,omitempty"`
	Evidence []string `json:"evidence"`
}

// CampaignResult is the latest result of a task on a target or of a
// checklist item.
type CampaignResult struct {
	AssetID  string            `json:"asset_id,omitempty"`
	ItemID   string            `json:"item_id,omitempty"`
	Status   string            `json:"status" enum:"pending,passed,failed,errored,not-applicable"`
	Run      int               `json:"run" doc:"1 for the first run, 2 and up for re-tests; 0 when pending"`
	Findings []CampaignFinding `json:"findings"`
	Error    string            `json:"error,omitempty" doc:"Why a check could not run"`
	Evidence []string          `json:"evidence"`
	By       string            `json:"by,omitempty"`
	At       *time.Time        `json:"at,omitempty"`
}

// CampaignTask is a task with its latest results.
type CampaignTask struct {
	ID      string           `json:"id"`
	Phase   string           `json:"phase"`
	Kind    string           `json:"kind"`
	Title   string           `json:"title"`
	Owner   string           `json:"owner,omitempty"`
	Due     *time.Time       `json:"due,omitempty"`
	Results []CampaignResult `json:"results"`
}

// CampaignPhase is one phase.
type CampaignPhase struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// GateItem is an open item of a gate decision.
type GateItem struct {
	TaskID   string     `json:"task_id"`
	AssetID  string     `json:"asset_id,omitempty"`
	Key      string     `json:"key"`
	Title    string     `json:"title"`
	Severity string     `json:"severity"`
	Action   string     `json:"action" enum:"fail,accept,note,ignore"`
	Due      *time.Time `json:"due,omitempty" doc:"Fix deadline"`
	Accepted *time.Time `json:"accepted_until,omitempty"`
}

// GateDecision is the gate's decision now.
type GateDecision struct {
	Outcome  string     `json:"outcome" enum:"pass,conditional-pass,fail"`
	Reasons  []string   `json:"reasons"`
	Blocking []GateItem `json:"blocking"`
	Accepted []GateItem `json:"accepted"`
	Noted    []GateItem `json:"noted"`
}

// Campaign is a campaign with its tasks and latest results.
type Campaign struct {
	CampaignSummary
	Phases   []CampaignPhase `json:"phases"`
	Tasks    []CampaignTask  `json:"tasks"`
	Decision *GateDecision   `json:"decision,omitempty" doc:"Go-live gates: the decision the rules give now"`
	// AckFactor is set for a key-period campaign.
	AckFactor float64 `json:"ack_factor,omitempty" doc:"Key-period campaigns: the factor on the tenant's alert acknowledgement waits during the watch"`
}

func campaignDTO(svc *manager.Service, l *manager.Loaded) Campaign {
	c := Campaign{CampaignSummary: campaignSummaryDTO(l.Record), Phases: []CampaignPhase{}, Tasks: []CampaignTask{}}
	for _, p := range l.Campaign.Phases {
		c.Phases = append(c.Phases, CampaignPhase{ID: p.ID, Name: p.Name, Start: p.Start, End: p.End})
	}
	res := func(r campaign.Result, ok bool, asset, item string) CampaignResult {
		if !ok {
			return CampaignResult{AssetID: asset, ItemID: item, Status: string(campaign.StatusPending), Findings: []CampaignFinding{}, Evidence: []string{}}
		}
		out := CampaignResult{AssetID: asset, ItemID: item, Status: string(r.Status), Run: r.Run, Findings: []CampaignFinding{}, Error: r.Error,
			Evidence: nonNilStrings(r.Evidence), By: r.By, At: optTime(r.At)}
		for _, f := range r.Findings {
			out.Findings = append(out.Findings, CampaignFinding{Key: f.Key, Title: f.Title, Severity: string(f.Severity), Score: f.Score, Evidence: nonNilStrings(f.Evidence)})
		}
		return out
	}
	for _, t := range l.Campaign.Tasks {
		ct := CampaignTask{ID: t.ID, Phase: t.Phase, Kind: string(t.Kind), Title: t.Title, Owner: t.Owner, Due: optTime(t.Due), Results: []CampaignResult{}}
		if t.Kind.Automated() {
			for _, tg := range l.Campaign.Targets {
				r, ok := l.Campaign.Latest(t.ID, tg.AssetID, "")
				ct.Results = append(ct.Results, res(r, ok, tg.AssetID, ""))
			}
		} else {
			for _, it := range t.Items {
				r, ok := l.Campaign.Latest(t.ID, "", it.ID)
				ct.Results = append(ct.Results, res(r, ok, "", it.ID))
			}
		}
		c.Tasks = append(c.Tasks, ct)
	}
	if l.Gate != nil {
		d := svc.Decision(l)
		gd := &GateDecision{Outcome: string(d.Outcome), Reasons: nonNilStrings(d.Reasons), Blocking: []GateItem{}, Accepted: []GateItem{}, Noted: []GateItem{}}
		conv := func(dst *[]GateItem, src []gate.Item) {
			for _, it := range src {
				g := GateItem{TaskID: it.TaskID, AssetID: it.AssetID, Key: it.Key, Title: it.Title, Severity: string(it.Severity), Action: string(it.Action),
					Due: optTime(it.Due)}
				if it.Acceptance != nil {
					g.Accepted = optTime(it.Acceptance.Expires)
				}
				*dst = append(*dst, g)
			}
		}
		conv(&gd.Blocking, d.Blocking)
		conv(&gd.Accepted, d.Accepted)
		conv(&gd.Noted, d.Noted)
		c.Decision = gd
	}
	if l.KeyPeriod != nil {
		c.AckFactor = svc.WatchAckFactor(l)
	}
	return c
}

// GoLiveInput opens a go-live gate.
type GoLiveInput struct {
	AssetID       string    `json:"asset_id" minLength:"1" maxLength:"100" doc:"The system going live"`
	Version       string    `json:"version" minLength:"1" maxLength:"200"`
	Change        string    `json:"change,omitempty" maxLength:"4000"`
	Owner         string    `json:"owner" minLength:"1" maxLength:"200"`
	Planned       time.Time `json:"planned"`
	NewSystem     bool      `json:"new_system,omitempty"`
	ASVSLevel     int       `json:"asvs_level" minimum:"1" maximum:"3"`
	MLPSLevel     int       `json:"mlps_level,omitempty" minimum:"0" maximum:"5"`
	DeclaredPorts []uint16  `json:"declared_ports,omitempty" maxItems:"64"`
	TLSPorts      []uint16  `json:"tls_ports,omitempty" maxItems:"64"`
	ServerName    string    `json:"server_name,omitempty" maxLength:"200"`
	URLs          []string  `json:"urls,omitempty" maxItems:"16" doc:"Web entry points on the system's own address"`
	RiskyPorts    []uint16  `json:"risky_ports,omitempty" maxItems:"64" doc:"Replaces the template's risky ports"`
}

// KeyPeriodInput plans a key-period campaign.
type KeyPeriodInput struct {
	PeriodID  string   `json:"period_id" minLength:"1" maxLength:"100" doc:"A period of the key-period calendar"`
	Name      string   `json:"name,omitempty" maxLength:"200"`
	AssetIDs  []string `json:"asset_ids,omitempty" maxItems:"200" doc:"Empty (and no systems): every asset of the tenant"`
	Systems   []string `json:"systems,omitempty" maxItems:"200" doc:"Business system IDs whose member assets join the scope"`
	AckFactor float64  `json:"ack_factor,omitempty" minimum:"0" maximum:"1" doc:"Factor on the tenant's alert acknowledgement waits during the watch; 0 means the default (0.5)"`
}

// AnswerInput answers a checklist item.
type AnswerInput struct {
	Task     string   `json:"task" minLength:"1" maxLength:"100"`
	Item     string   `json:"item" minLength:"1" maxLength:"100"`
	Status   string   `json:"status" enum:"passed,failed,not-applicable"`
	Evidence []string `json:"evidence,omitempty" maxItems:"20"`
	Note     string   `json:"note,omitempty" maxLength:"4000"`
}

// AcceptanceInput risk-accepts an open gate item; the approver is the
// caller.
type AcceptanceInput struct {
	AssetID string    `json:"asset_id,omitempty" maxLength:"100"`
	Key     string    `json:"key" minLength:"1" maxLength:"300"`
	Reason  string    `json:"reason" minLength:"1" maxLength:"4000"`
	Expires time.Time `json:"expires"`
}

// DecisionInput records a gate decision.
type DecisionInput struct {
	SignOff bool `json:"sign_off,omitempty" doc:"Sign the decision off; a failing gate cannot be signed off"`
}

// CampaignDecision is a recorded gate decision.
type CampaignDecision struct {
	Seq        int        `json:"seq"`
	Outcome    string     `json:"outcome"`
	Reasons    []string   `json:"reasons"`
	NextExpiry *time.Time `json:"next_expiry,omitempty"`
	DecidedBy  string     `json:"decided_by"`
	SignedOff  bool       `json:"signed_off"`
	At         time.Time  `json:"at"`
}

// DutyShiftInput is one shift of a duty roster.
type DutyShiftInput struct {
	Start   time.Time     `json:"start"`
	End     time.Time     `json:"end"`
	Lead    DutyContact   `json:"lead"`
	Members []DutyContact `json:"members,omitempty" maxItems:"50"`
}

// DutyContact is a person on duty.
type DutyContact struct {
	Name  string `json:"name" minLength:"1" maxLength:"200"`
	Role  string `json:"role,omitempty" maxLength:"200"`
	Phone string `json:"phone,omitempty" maxLength:"200"`
}

// RosterInput replaces a duty roster.
type RosterInput struct {
	Shifts []DutyShiftInput `json:"shifts" maxItems:"500"`
}

// DailyReport is a key-period daily report.
type DailyReport struct {
	Day      string `json:"day" doc:"YYYY-MM-DD in the period's zone"`
	Quiet    bool   `json:"quiet" doc:"Nothing to report (零报告)"`
	ReportID string `json:"report_id,omitempty" doc:"The archived report"`
}

type campaignParamIn struct {
	TenantParam
	Campaign string `path:"campaign" maxLength:"100" doc:"Campaign ID"`
}

type campaignListIn struct {
	TenantParam
	Kind   string `query:"kind" enum:"golive,keyperiod,"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int    `query:"offset" minimum:"0"`
}

type goLiveCreateIn struct {
	TenantParam
	Body GoLiveInput
}

type keyPeriodCreateIn struct {
	TenantParam
	Body KeyPeriodInput
}

type campaignRunIn struct {
	TenantParam
	Campaign string `path:"campaign" maxLength:"100" doc:"Campaign ID"`
	Task     string `path:"task" maxLength:"100" doc:"Task ID"`
}

type campaignAnswerIn struct {
	TenantParam
	Campaign string `path:"campaign" maxLength:"100" doc:"Campaign ID"`
	Body     AnswerInput
}

type campaignAcceptIn struct {
	TenantParam
	Campaign string `path:"campaign" maxLength:"100" doc:"Campaign ID"`
	Body     AcceptanceInput
}

type campaignDecideIn struct {
	TenantParam
	Campaign string `path:"campaign" maxLength:"100" doc:"Campaign ID"`
	Body     DecisionInput
}

type campaignRosterIn struct {
	TenantParam
	Campaign string `path:"campaign" maxLength:"100" doc:"Campaign ID"`
	Body     RosterInput
}

func (s *server) registerCampaigns() {
	if s.opts.Campaigns == nil {
		return
	}
	tags := []string{"campaigns"}
	base := "/tenants/{tenant}/campaigns"
	read, write := inTenant(auth.PermAssessRead), inTenant(auth.PermAssessWrite)
	register(s, read, huma.Operation{OperationID: "list-campaigns", Method: http.MethodGet, Path: base,
		Summary: "List go-live gates and key-period campaigns", Description: "Most recently updated first.", Tags: tags}, s.listCampaigns)
	register(s, write, huma.Operation{OperationID: "create-golive-gate", Method: http.MethodPost, Path: base + "/golive",
		Summary: "Open the go-live gate of a system version", DefaultStatus: http.StatusCreated, Tags: tags}, s.createGoLive)
	register(s, write, huma.Operation{OperationID: "create-keyperiod-campaign", Method: http.MethodPost, Path: base + "/keyperiod",
		Summary: "Plan a key-period campaign from the calendar", DefaultStatus: http.StatusCreated, Tags: tags}, s.createKeyPeriod)
	register(s, read, huma.Operation{OperationID: "get-campaign", Method: http.MethodGet, Path: base + "/{campaign}",
		Summary: "Get a campaign with its tasks, latest results and (for a gate) the decision now", Tags: tags}, s.getCampaign)
	register(s, write, huma.Operation{OperationID: "run-campaign-task", Method: http.MethodPost, Path: base + "/{campaign}/tasks/{task}/run",
		Summary:     "Run an automated task on the campaign's targets (again: a re-test)",
		Description: "A check that cannot run is recorded as errored, never as passed.", Tags: tags}, s.runCampaignTask)
	register(s, write, huma.Operation{OperationID: "answer-campaign-item", Method: http.MethodPost, Path: base + "/{campaign}/answers",
		Summary: "Answer a checklist item", Tags: tags}, s.answerCampaignItem)
	register(s, write, huma.Operation{OperationID: "accept-gate-risk", Method: http.MethodPost, Path: base + "/{campaign}/acceptances",
		Summary: "Risk-accept an open item of a go-live gate", DefaultStatus: http.StatusNoContent, Tags: tags}, s.acceptGateRisk)
	register(s, write, huma.Operation{OperationID: "decide-gate", Method: http.MethodPost, Path: base + "/{campaign}/decisions",
		Summary: "Record (and optionally sign off) the decision of a go-live gate", DefaultStatus: http.StatusCreated, Tags: tags}, s.decideGate)
	register(s, read, huma.Operation{OperationID: "list-gate-decisions", Method: http.MethodGet, Path: base + "/{campaign}/decisions",
		Summary: "List the recorded decisions of a go-live gate", Description: "Newest first.", Tags: tags}, s.listGateDecisions)
	register(s, write, huma.Operation{OperationID: "set-duty-roster", Method: http.MethodPut, Path: base + "/{campaign}/roster",
		Summary: "Replace the duty roster of a key-period campaign", DefaultStatus: http.StatusNoContent, Tags: tags}, s.setDutyRoster)
	register(s, read, huma.Operation{OperationID: "list-daily-reports", Method: http.MethodGet, Path: base + "/{campaign}/daily-reports",
		Summary: "List the daily reports of a key-period campaign", Tags: tags}, s.listDailyReports)
	s.registerKeyPeriodCalendar()
	s.registerCampaign3()
}

func (s *server) listCampaigns(ctx context.Context, in *campaignListIn) (*out[[]CampaignSummary], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := s.opts.Campaigns.List(ctx, t.ID, in.Kind, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(items(cs, campaignSummaryDTO))
}

func (s *server) createGoLive(ctx context.Context, in *goLiveCreateIn) (*out[Campaign], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	l, err := s.opts.Campaigns.CreateGoLive(ctx, t.ID, manager.GoLiveInput{AssetID: b.AssetID, Version: b.Version, Change: b.Change, Owner: b.Owner,
		Planned: b.Planned, NewSystem: b.NewSystem, ASVSLevel: b.ASVSLevel, MLPSLevel: b.MLPSLevel, DeclaredPorts: b.DeclaredPorts,
		TLSPorts: b.TLSPorts, ServerName: b.ServerName, URLs: b.URLs, RiskyPorts: b.RiskyPorts})
	if err != nil {
		return nil, err
	}
	return reply(campaignDTO(s.opts.Campaigns, l))
}

func (s *server) createKeyPeriod(ctx context.Context, in *keyPeriodCreateIn) (*out[Campaign], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	l, err := s.opts.Campaigns.CreateKeyPeriod(ctx, t.ID, manager.KeyPeriodInput{PeriodID: in.Body.PeriodID, Name: in.Body.Name, AssetIDs: in.Body.AssetIDs,
		Systems: in.Body.Systems, AckFactor: in.Body.AckFactor})
	if err != nil {
		return nil, err
	}
	return reply(campaignDTO(s.opts.Campaigns, l))
}

func (s *server) getCampaign(ctx context.Context, in *campaignParamIn) (*out[Campaign], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	l, err := s.opts.Campaigns.Get(ctx, t.ID, in.Campaign)
	if err != nil {
		return nil, err
	}
	return reply(campaignDTO(s.opts.Campaigns, l))
}

func (s *server) runCampaignTask(ctx context.Context, in *campaignRunIn) (*out[Campaign], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.opts.Campaigns.RunTask(ctx, t.ID, in.Campaign, in.Task); err != nil {
		return nil, err
	}
	return s.getCampaign(ctx, &campaignParamIn{TenantParam: in.TenantParam, Campaign: in.Campaign})
}

func (s *server) answerCampaignItem(ctx context.Context, in *campaignAnswerIn) (*out[Campaign], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	if _, err := s.opts.Campaigns.RecordItem(ctx, t.ID, in.Campaign, b.Task, b.Item, manager.Answer{Status: b.Status, Evidence: b.Evidence, Note: b.Note}); err != nil {
		return nil, err
	}
	return s.getCampaign(ctx, &campaignParamIn{TenantParam: in.TenantParam, Campaign: in.Campaign})
}

func (s *server) acceptGateRisk(ctx context.Context, in *campaignAcceptIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	return nil, s.opts.Campaigns.Accept(ctx, t.ID, in.Campaign, manager.AcceptInput{AssetID: b.AssetID, Key: b.Key, Reason: b.Reason, Expires: b.Expires})
}

func decisionDTO(d store.CampaignDecision) CampaignDecision {
	return CampaignDecision{Seq: d.Seq, Outcome: d.Outcome, Reasons: nonNilStrings(d.Reasons), NextExpiry: optTime(d.NextExpiry), DecidedBy: d.DecidedBy,
		SignedOff: d.SignedOff, At: d.At}
}

func (s *server) decideGate(ctx context.Context, in *campaignDecideIn) (*out[CampaignDecision], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Campaigns.Decide(ctx, t.ID, in.Campaign, in.Body.SignOff)
	if err != nil {
		return nil, err
	}
	return reply(decisionDTO(d))
}

func (s *server) listGateDecisions(ctx context.Context, in *campaignParamIn) (*out[[]CampaignDecision], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := s.opts.Campaigns.Decisions(ctx, t.ID, in.Campaign, 100)
	if err != nil {
		return nil, err
	}
	return reply(items(ds, decisionDTO))
}

func (s *server) setDutyRoster(ctx context.Context, in *campaignRosterIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	var shifts []keyperiod.Shift
	for _, sh := range in.Body.Shifts {
		k := keyperiod.Shift{Start: sh.Start, End: sh.End, Lead: keyperiod.Contact(sh.Lead)}
		for _, m := range sh.Members {
			k.Members = append(k.Members, keyperiod.Contact(m))
		}
		shifts = append(shifts, k)
	}
	return nil, s.opts.Campaigns.SetRoster(ctx, t.ID, in.Campaign, shifts)
}

func (s *server) listDailyReports(ctx context.Context, in *campaignParamIn) (*out[[]DailyReport], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	drs, err := s.opts.Campaigns.DailyReports(ctx, t.ID, in.Campaign)
	if err != nil {
		return nil, err
	}
	return reply(items(drs, func(d store.CampaignDailyReport) DailyReport {
		return DailyReport{Day: d.Day, Quiet: d.Quiet, ReportID: d.ReportID}
	}))
}
