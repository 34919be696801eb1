package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	riskreg "github.com/vigil-sec/vigil/internal/compliance/register"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
	"github.com/vigil-sec/vigil/internal/store"
)

// The risk register (GB/T 20984 risk assessments) and remediation
// tracking of a tenant.

// RiskAsset is an asset of a risk assessment.
type RiskAsset struct {
	ID         string `json:"id" maxLength:"100"`
	Name       string `json:"name" maxLength:"1000"`
	Tier       string `json:"tier" enum:"business,system,component"`
	Parent     string `json:"parent,omitempty" maxLength:"100"`
	Importance int    `json:"importance,omitempty" minimum:"0" maximum:"5" doc:"Business importance 1-5 (business assets)"`
	C          int    `json:"c,omitempty" minimum:"0" maximum:"5"`
	I          int    `json:"i,omitempty" minimum:"0" maximum:"5"`
	A          int    `json:"a,omitempty" minimum:"0" maximum:"5"`
	Owner      string `json:"owner,omitempty" maxLength:"1000"`
}

// RiskThreat is a threat with its GB/T 20984 attributes.
type RiskThreat struct {
	ID        string `json:"id" maxLength:"100"`
	Name      string `json:"name" maxLength:"1000"`
	Source    string `json:"source,omitempty" maxLength:"1000"`
	Actor     string `json:"actor,omitempty" maxLength:"1000"`
	Type      string `json:"type,omitempty" maxLength:"1000"`
	Motive    string `json:"motive,omitempty" maxLength:"1000"`
	Timing    string `json:"timing,omitempty" maxLength:"1000"`
	Frequency int    `json:"frequency" minimum:"1" maximum:"5"`
}

// RiskControl is an existing control against a vulnerability.
type RiskControl struct {
	Name      string `json:"name" maxLength:"1000"`
	Kind      string `json:"kind" enum:"preventive,protective"`
	Effective bool   `json:"effective"`
}

// RiskVulnerability is a weakness of an asset.
type RiskVulnerability struct {
	ID       string        `json:"id" maxLength:"100"`
	Name     string        `json:"name" maxLength:"1000"`
	Asset    string        `json:"asset" maxLength:"100"`
	Severity int           `json:"severity" minimum:"1" maximum:"5"`
	Source   string        `json:"source,omitempty" maxLength:"1000" doc:"\"manual\" or \"finding:<id>\""`
	Controls []RiskControl `json:"controls,omitempty" maxItems:"50"`
}

// RiskScenario pairs a threat with a vulnerability.
type RiskScenario struct {
	ID            string `json:"id" maxLength:"100"`
	Threat        string `json:"threat" maxLength:"100"`
	Vulnerability string `json:"vulnerability" maxLength:"100"`
}

// RiskDecision is the treatment of a scenario's risk.
type RiskDecision struct {
	Scenario  string     `json:"scenario" maxLength:"100"`
	Treatment string     `json:"treatment" enum:"reduce,transfer,avoid,accept"`
	Owner     string     `json:"owner,omitempty" maxLength:"1000"`
	Due       *time.Time `json:"due,omitempty"`
	Measure   string     `json:"measure,omitempty" maxLength:"1000" doc:"The security requirement it yields"`
}

// RiskInput is the whole input of a risk assessment.
type RiskInput struct {
	Assets          []RiskAsset         `json:"assets" maxItems:"10000"`
	Threats         []RiskThreat        `json:"threats" maxItems:"2000"`
	Vulnerabilities []RiskVulnerability `json:"vulnerabilities" maxItems:"50000"`
	Scenarios       []RiskScenario      `json:"scenarios" maxItems:"100000"`
	Decisions       []RiskDecision      `json:"decisions,omitempty" maxItems:"100000"`
}

// RiskEntry is one computed risk of the register.
type RiskEntry struct {
	Scenario      string        `json:"scenario"`
	Asset         string        `json:"asset"`
	Threat        string        `json:"threat"`
	Vulnerability string        `json:"vulnerability"`
	Likelihood    float64       `json:"likelihood" doc:"L"`
	Loss          float64       `json:"loss" doc:"F"`
	R             int           `json:"r" doc:"Risk value 1-25"`
	Level         string        `json:"level" doc:"很低, 低, 中, 高 or 很高"`
	Decision      *RiskDecision `json:"decision,omitempty"`
}

// RiskRollup is the highest risk at or below an asset.
type RiskRollup struct {
	Asset string `json:"asset"`
	R     int    `json:"r"`
	Level string `json:"level,omitempty"`
	Count int    `json:"count"`
}

// RiskAssessment is a risk assessment; the register, roll-ups and heat map
// are computed from its input on every read and absent in lists.
type RiskAssessment struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Method    string         `json:"method" enum:"formula,matrix"`
	Version   int            `json:"version" doc:"Pass it back on changes; a stale version is a conflict"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	Input     *RiskInput     `json:"input,omitempty"`
	Register  []RiskEntry    `json:"register,omitempty" doc:"By R, highest first"`
	Systems   []RiskRollup   `json:"systems,omitempty"`
	Business  []RiskRollup   `json:"business,omitempty"`
	HeatMap   *[5][5]int     `json:"heat_map,omitempty" doc:"heat_map[l-1][f-1] counts risks of likelihood rank l and loss rank f"`
	ByLevel   map[string]int `json:"by_level,omitempty"`
}

func riskMetaDTO(r store.RiskAssessment) RiskAssessment {
	return RiskAssessment{ID: r.ID, Name: r.Name, Method: r.Method, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func riskDecisionDTO(d risk.Decision) RiskDecision {
	out := RiskDecision{Scenario: d.Scenario, Treatment: string(d.Treatment), Owner: d.Owner, Measure: d.Measure}
	if !d.Due.IsZero() {
		due := d.Due
		out.Due = &due
	}
	return out
}

func riskDTO(reg *riskreg.Register) RiskAssessment {
	d := riskMetaDTO(reg.Meta)
	in := &RiskInput{Assets: []RiskAsset{}, Threats: []RiskThreat{}, Vulnerabilities: []RiskVulnerability{}, Scenarios: []RiskScenario{}}
	for _, a := range reg.Input.Assets {
		in.Assets = append(in.Assets, RiskAsset{ID: a.ID, Name: a.Name, Tier: string(a.Tier), Parent: a.Parent, Importance: a.Importance,
			C: a.C, I: a.I, A: a.A, Owner: a.Owner})
	}
	for _, t := range reg.Input.Threats {
		in.Threats = append(in.Threats, RiskThreat{ID: t.ID, Name: t.Name, Source: t.Source, Actor: t.Actor, Type: t.Type, Motive: t.Motive,
			Timing: t.Timing, Frequency: t.Frequency})
	}
	for _, v := range reg.Input.Vulnerabilities {
		rv := RiskVulnerability{ID: v.ID, Name: v.Name, Asset: v.Asset, Severity: v.Severity, Source: v.Source}
		for _, c := range v.Controls {
			rv.Controls = append(rv.Controls, RiskControl{Name: c.Name, Kind: string(c.Kind), Effective: c.Effective})
		}
		in.Vulnerabilities = append(in.Vulnerabilities, rv)
	}
	for _, s := range reg.Input.Scenarios {
		in.Scenarios = append(in.Scenarios, RiskScenario(s))
	}
	for _, x := range reg.Input.Decisions {
		in.Decisions = append(in.Decisions, riskDecisionDTO(x))
	}
	d.Input = in
	d.Register = []RiskEntry{}
	for _, e := range reg.Result.Register {
		re := RiskEntry{Scenario: e.Scenario.ID, Asset: e.Asset.ID, Threat: e.Threat.ID, Vulnerability: e.Vulnerability.ID,
			Likelihood: e.Eval.Likelihood, Loss: e.Eval.Loss, R: e.Eval.R, Level: string(e.Eval.Level)}
		if e.Decision != nil {
			dd := riskDecisionDTO(*e.Decision)
			re.Decision = &dd
		}
		d.Register = append(d.Register, re)
	}
	roll := func(rs []risk.Rollup) []RiskRollup {
		out := []RiskRollup{}
		for _, r := range rs {
			out = append(out, RiskRollup{Asset: r.Asset.ID, R: r.R, Level: string(r.Level), Count: r.Count})
		}
		return out
	}
	d.Systems, d.Business = roll(reg.Result.Systems), roll(reg.Result.Business)
	hm := reg.Result.HeatMap
	d.HeatMap = &hm
	d.ByLevel = map[string]int{}
	for l, n := range reg.Result.ByLevel {
		d.ByLevel[string(l)] = n
	}
	return d
}

// engineInput converts the API input to the engine's.
func engineInput(in RiskInput) *risk.Assessment {
	as := &risk.Assessment{}
	for _, a := range in.Assets {
		as.Assets = append(as.Assets, risk.Asset{ID: a.ID, Name: a.Name, Tier: risk.Tier(a.Tier), Parent: a.Parent, Importance: a.Importance,
			C: a.C, I: a.I, A: a.A, Owner: a.Owner})
	}
	for _, t := range in.Threats {
		as.Threats = append(as.Threats, risk.Threat{ID: t.ID, Name: t.Name, Source: t.Source, Actor: t.Actor, Type: t.Type, Motive: t.Motive,
			Timing: t.Timing, Frequency: t.Frequency})
	}
	for _, v := range in.Vulnerabilities {
		ev := risk.Vulnerability{ID: v.ID, Name: v.Name, Asset: v.Asset, Severity: v.Severity, Source: v.Source}
		for _, c := range v.Controls {
			ev.Controls = append(ev.Controls, risk.Control{Name: c.Name, Kind: risk.ControlKind(c.Kind), Effective: c.Effective})
		}
		as.Vulnerabilities = append(as.Vulnerabilities, ev)
	}
	for _, s := range in.Scenarios {
		as.Scenarios = append(as.Scenarios, risk.Scenario(s))
	}
	for _, d := range in.Decisions {
		as.Decisions = append(as.Decisions, engineDecision(d))
	}
	return as
}

func engineDecision(d RiskDecision) risk.Decision {
	out := risk.Decision{Scenario: d.Scenario, Treatment: risk.Treatment(d.Treatment), Owner: d.Owner, Measure: d.Measure}
	if d.Due != nil {
		out.Due = d.Due.UTC()
	}
	return out
}

// RiskCreateInput opens a risk assessment.
type RiskCreateInput struct {
	Name   string `json:"name" minLength:"1" maxLength:"200"`
	Method string `json:"method,omitempty" enum:"formula,matrix" default:"formula"`
}

// RiskReplaceInput sets the whole input of a risk assessment.
type RiskReplaceInput struct {
	Version int       `json:"version" minimum:"0" doc:"The version read; 0 skips the check"`
	Input   RiskInput `json:"input"`
}

// RiskDecisionInput records the treatment of a risk.
type RiskDecisionInput struct {
	Version int `json:"version" minimum:"0"`
	RiskDecision
}

// RiskFindingInput adds a vulnerability from a finding.
type RiskFindingInput struct {
	Version int    `json:"version" minimum:"0"`
	Asset   string `json:"asset" minLength:"1" maxLength:"100" doc:"System asset or component of the assessment"`
	Finding string `json:"finding" minLength:"1" maxLength:"100" doc:"Finding ID of the vulnerability lifecycle"`
}

// RemediationItem is a gap or risk to be fixed.
type RemediationItem struct {
	ID            string                    `json:"id"`
	SourceKind    string                    `json:"source_kind" enum:"assessment_item,risk"`
	SourceID      string                    `json:"source_id" doc:"The assessment project or risk assessment"`
	SourceRef     string                    `json:"source_ref" doc:"item@object or scenario id"`
	Title         string                    `json:"title"`
	Detail        string                    `json:"detail,omitempty"`
	Level         string                    `json:"level" doc:"What was found: a result code or a risk level"`
	State         string                    `json:"state" enum:"open,in_progress,verified,closed"`
	Owner         string                    `json:"owner,omitempty"`
	Due           *time.Time                `json:"due,omitempty"`
	WorkOrderID   string                    `json:"work_order_id,omitempty"`
	Version       int                       `json:"version"`
	CreatedAt     time.Time                 `json:"created_at"`
	UpdatedAt     time.Time                 `json:"updated_at"`
	Verifications []RemediationVerification `json:"verifications,omitempty" doc:"Oldest first; absent in lists"`
}

// RemediationVerification is one re-verification, before and after.
type RemediationVerification struct {
	ID         string    `json:"id"`
	Before     string    `json:"before"`
	After      string    `json:"after"`
	Passed     bool      `json:"passed"`
	Note       string    `json:"note,omitempty"`
	VerifiedBy string    `json:"verified_by,omitempty"`
	VerifiedAt time.Time `json:"verified_at"`
}

func remediationDTO(it store.RemediationItem) RemediationItem {
	d := RemediationItem{ID: it.ID, SourceKind: it.SourceKind, SourceID: it.SourceID, SourceRef: it.SourceRef, Title: it.Title, Detail: it.Detail,
		Level: it.Level, State: it.State, Owner: it.Owner, WorkOrderID: it.WorkOrderID, Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
	if !it.Due.IsZero() {
		due := it.Due
		d.Due = &due
	}
	return d
}

func verificationDTO(v store.RemediationVerification) RemediationVerification {
	return RemediationVerification{ID: v.ID, Before: v.Before, After: v.After, Passed: v.Passed, Note: v.Note, VerifiedBy: v.VerifiedBy,
		VerifiedAt: v.VerifiedAt}
}

// RemediationUpdateInput changes an item.
type RemediationUpdateInput struct {
	Version int        `json:"version" minimum:"0"`
	State   string     `json:"state" enum:"open,in_progress,closed" doc:"verified comes only from a passing re-verification"`
	Owner   string     `json:"owner,omitempty" maxLength:"200"`
	Due     *time.Time `json:"due,omitempty"`
}

// RemediationVerifyInput is a re-verification.
type RemediationVerifyInput struct {
	After  string `json:"after" minLength:"1" maxLength:"200" doc:"What the verifier found"`
	Passed bool   `json:"passed"`
	Note   string `json:"note,omitempty" maxLength:"4000"`
}

type riskIn struct {
	TenantParam
	Risk string `path:"risk" maxLength:"100" doc:"Risk assessment ID"`
}

type riskCreateIn struct {
	TenantParam
	Body RiskCreateInput
}

type riskReplaceIn struct {
	TenantParam
	Risk string `path:"risk" maxLength:"100"`
	Body RiskReplaceInput
}

type riskDecideIn struct {
	TenantParam
	Risk string `path:"risk" maxLength:"100"`
	Body RiskDecisionInput
}

type riskFindingIn struct {
	TenantParam
	Risk string `path:"risk" maxLength:"100"`
	Body RiskFindingInput
}

type remListIn struct {
	TenantParam
	State  string `query:"state" maxLength:"20" doc:"open, in_progress, verified or closed"`
	Source string `query:"source" maxLength:"100" doc:"Project or risk assessment ID"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int    `query:"offset" minimum:"0"`
}

type remIn struct {
	TenantParam
	Item string `path:"item" maxLength:"100" doc:"Remediation item ID"`
}

type remUpdateIn struct {
	TenantParam
	Item string `path:"item" maxLength:"100"`
	Body RemediationUpdateInput
}

type remVerifyIn struct {
	TenantParam
	Item string `path:"item" maxLength:"100"`
	Body RemediationVerifyInput
}

func (s *server) registerRisks() {
	if s.opts.Assessments == nil {
		return
	}
	tags := []string{"risks"}
	base := "/tenants/{tenant}/risks"
	read, write := inTenant(auth.PermAssessRead), inTenant(auth.PermAssessWrite)
	register(s, read, huma.Operation{OperationID: "list-risk-assessments", Method: http.MethodGet, Path: base,
		Summary: "List risk assessments", Tags: tags}, s.listRisks)
	register(s, write, huma.Operation{OperationID: "create-risk-assessment", Method: http.MethodPost, Path: base,
		Summary: "Open a risk assessment", DefaultStatus: http.StatusCreated, Tags: tags}, s.createRisk)
	register(s, read, huma.Operation{OperationID: "get-risk-assessment", Method: http.MethodGet, Path: base + "/{risk}",
		Summary: "Get a risk assessment with its computed register", Description: "Risks are computed by the documented method " +
			"(docs/compliance.md): L = √(T·V), F = √(A·V), R = L·F, or the risk matrix.", Tags: tags}, s.getRisk)
	register(s, write, huma.Operation{OperationID: "replace-risk-assessment", Method: http.MethodPut, Path: base + "/{risk}",
		Summary: "Set the whole input of a risk assessment", Description: "Validated by the risk engine; an invalid input stores nothing.",
		Tags: tags}, s.replaceRisk)
	register(s, write, huma.Operation{OperationID: "decide-risk", Method: http.MethodPost, Path: base + "/{risk}/decisions",
		Summary: "Record the treatment of a risk", Tags: tags}, s.decideRisk)
	register(s, write, huma.Operation{OperationID: "add-risk-finding", Method: http.MethodPost, Path: base + "/{risk}/findings",
		Summary: "Add a vulnerability from a finding", Description: "Severity: critical 5, high 4, medium 3, low 2, other 1.", Tags: tags}, s.addRiskFinding)
	register(s, write, huma.Operation{OperationID: "remediate-risks", Method: http.MethodPost, Path: base + "/{risk}/remediate",
		Summary: "Raise remediation items from the high risks", Description: "High and very high risks not accepted, once each.",
		Tags: tags}, s.remediateRisks)

	rem := "/tenants/{tenant}/remediation"
	rtags := []string{"remediation"}
	register(s, read, huma.Operation{OperationID: "list-remediation", Method: http.MethodGet, Path: rem,
		Summary: "List remediation items", Description: "Most recently updated first.", Tags: rtags}, s.listRemediation)
	register(s, read, huma.Operation{OperationID: "get-remediation", Method: http.MethodGet, Path: rem + "/{item}",
		Summary: "Get a remediation item with its re-verifications", Tags: rtags}, s.getRemediation)
	register(s, write, huma.Operation{OperationID: "update-remediation", Method: http.MethodPut, Path: rem + "/{item}",
		Summary: "Change a remediation item's state, owner or due date", Tags: rtags}, s.updateRemediation)
	register(s, write, huma.Operation{OperationID: "verify-remediation", Method: http.MethodPost, Path: rem + "/{item}/verifications",
		Summary: "Record a re-verification", Description: "Before is what was found last; a passing one verifies the item.",
		DefaultStatus: http.StatusCreated, Tags: rtags}, s.verifyRemediation)
	if s.opts.Ops != nil {
		register(s, write, huma.Operation{OperationID: "open-remediation-work-order", Method: http.MethodPost, Path: rem + "/{item}/work-order",
			Summary: "Open a remediation work order for an item", Description: "Also needs asset.write or incident.write, like any work order request.",
			Tags: rtags}, s.openRemediationWorkOrder)
	}
}

func (s *server) listRisks(ctx context.Context, in *assessListIn) (*out[[]RiskAssessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.opts.Assessments.Register().ListRisks(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(items(rs, riskMetaDTO))
}

func (s *server) createRisk(ctx context.Context, in *riskCreateIn) (*out[RiskAssessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.opts.Assessments.Register().CreateRisk(ctx, t.ID, in.Body.Name, in.Body.Method)
	if err != nil {
		return nil, err
	}
	return reply(riskMetaDTO(r))
}

func (s *server) getRisk(ctx context.Context, in *riskIn) (*out[RiskAssessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.opts.Assessments.Register().Risk(ctx, t.ID, in.Risk)
	if err != nil {
		return nil, err
	}
	return reply(riskDTO(r))
}

func (s *server) replaceRisk(ctx context.Context, in *riskReplaceIn) (*out[RiskAssessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.opts.Assessments.Register().Replace(ctx, t.ID, in.Risk, in.Body.Version, engineInput(in.Body.Input))
	if err != nil {
		return nil, err
	}
	return reply(riskDTO(r))
}

func (s *server) decideRisk(ctx context.Context, in *riskDecideIn) (*out[RiskAssessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.opts.Assessments.Register().Decide(ctx, t.ID, in.Risk, in.Body.Version, engineDecision(in.Body.RiskDecision))
	if err != nil {
		return nil, err
	}
	return reply(riskDTO(r))
}

func (s *server) addRiskFinding(ctx context.Context, in *riskFindingIn) (*out[RiskAssessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.opts.Assessments.Register().AddFinding(ctx, t.ID, in.Risk, in.Body.Version, in.Body.Asset, in.Body.Finding)
	if err != nil {
		return nil, err
	}
	return reply(riskDTO(r))
}

func (s *server) remediateRisks(ctx context.Context, in *riskIn) (*out[RaisedItems], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.opts.Assessments.Register().RaiseFromRisks(ctx, t.ID, in.Risk)
	if err != nil {
		return nil, err
	}
	return reply(RaisedItems{Created: n})
}

func (s *server) listRemediation(ctx context.Context, in *remListIn) (*out[[]RemediationItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	its, err := s.opts.Assessments.Register().Remediations(ctx, t.ID, store.RemediationFilter{State: in.State, SourceID: in.Source,
		Page: store.Page{Limit: in.Limit, Offset: in.Offset}})
	if err != nil {
		return nil, err
	}
	return reply(items(its, remediationDTO))
}

func (s *server) getRemediation(ctx context.Context, in *remIn) (*out[RemediationItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	it, vs, err := s.opts.Assessments.Register().Remediation(ctx, t.ID, in.Item)
	if err != nil {
		return nil, err
	}
	d := remediationDTO(it)
	d.Verifications = items(vs, verificationDTO)
	return reply(d)
}

func (s *server) updateRemediation(ctx context.Context, in *remUpdateIn) (*out[RemediationItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	u := riskreg.RemediationUpdate{State: in.Body.State, Owner: in.Body.Owner}
	if in.Body.Due != nil {
		u.Due = in.Body.Due.UTC()
	}
	it, err := s.opts.Assessments.Register().UpdateRemediation(ctx, t.ID, in.Item, in.Body.Version, u)
	if err != nil {
		return nil, err
	}
	return reply(remediationDTO(it))
}

func (s *server) verifyRemediation(ctx context.Context, in *remVerifyIn) (*out[RemediationVerification], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.opts.Assessments.Register().Verify(ctx, t.ID, in.Item, riskreg.VerifyInput{After: in.Body.After, Passed: in.Body.Passed,
		Note: in.Body.Note})
	if err != nil {
		return nil, err
	}
	return reply(verificationDTO(v))
}

func (s *server) openRemediationWorkOrder(ctx context.Context, in *remIn) (*out[RemediationItem], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	it, _, err := s.opts.Assessments.Register().OpenWorkOrder(ctx, t.ID, in.Item, s.opts.Ops)
	if err != nil {
		return nil, err
	}
	return reply(remediationDTO(it))
}
