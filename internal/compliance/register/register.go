// Package register owns a tenant's risk register and remediation tracking:
// GB/T 20984 risk assessments kept as the risk engine's input (assets with
// C/I/A, threats, vulnerabilities from findings or entered by hand with
// their existing controls, scenarios and treatment decisions) whose risks,
// roll-ups and heat map are computed by package risk on every read; the
// remediation items (整改) raised from non-conforming assessment items and
// high risks, with their owner, due date, work order and re-verifications
// (复核); and the risk and remediation verification reports. Every change
// is written to the audit log.
//
// Permissions: reading needs assessment.read in the tenant, changing
// needs assessment.write; opening a work order needs what package ops
// asks of a requester.
package register

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of what a risk assessment holds. Text is counted in characters.
const (
	MaxName = 200
	MaxText = 1000 // names, owners, sources, measures of the entries
	MaxID   = 100
	// MaxDocBytes bounds the stored input of one assessment; entries
	// beyond it are refused (the engine's own limits are far larger).
	MaxDocBytes = 4 << 20
)

// Methods are the risk methods an assessment may use.
func Methods() []string { return []string{"formula", "matrix"} }

// Treatments are the risk treatment choices.
func Treatments() []string {
	return []string{string(risk.Reduce), string(risk.Transfer), string(risk.Avoid), string(risk.Accept)}
}

// Tiers are the asset tiers, highest first.
func Tiers() []string {
	return []string{string(risk.TierBusiness), string(risk.TierSystem), string(risk.TierComponent)}
}

// ControlKinds are the kinds of existing controls.
func ControlKinds() []string { return []string{string(risk.Preventive), string(risk.Protective)} }

// method returns the risk method of a name.
func method(name string) (risk.RiskMethod, error) {
	switch name {
	case "formula":
		return risk.Formula{}, nil
	case "matrix":
		return risk.MatrixMethod{Matrix: risk.DefaultMatrix()}, nil
	}
	return nil, invalid("method", store.CodeOneOf, map[string]any{"allowed": Methods()}, "the method must be formula or matrix")
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
}

// Service keeps risk assessments and remediation items.
type Service struct {
	store  store.Store
	audit  *audit.Log
	logger *slog.Logger
	now    func() time.Time
}

// NewService returns a Service.
func NewService(st store.Store, a *audit.Log, opts Options) *Service {
	s := &Service{store: st, audit: a, logger: opts.Logger, now: opts.Now}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

func invalid(field, code string, a map[string]any, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

// checkText bounds a text field: valid UTF-8, at most maxLen characters,
// present when required, one line when oneLine.
func checkText(field, s string, maxLen int, required, oneLine bool) error {
	if !utf8.ValidString(s) {
		return invalid(field, store.CodeInvalidUTF8, nil, "%s must be UTF-8 text", field)
	}
	if required && strings.TrimSpace(s) == "" {
		return invalid(field, store.CodeRequired, nil, "%s is required", field)
	}
	if n := utf8.RuneCountInString(s); n > maxLen {
		return invalid(field, store.CodeTooLong, map[string]any{"max": maxLen}, "%s has %d characters, at most %d", field, n, maxLen)
	}
	if oneLine && strings.ContainsFunc(s, unicode.IsControl) {
		return invalid(field, store.CodeInvalidAttribute, nil, "%s is one line of text without control characters", field)
	}
	return nil
}

func (s *Service) record(ctx context.Context, tenantID, action, object string, detail any) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: action, Object: object, Detail: detail})
}

// Register is a stored risk assessment with its input and the risks the
// engine computed from it.
type Register struct {
	Meta   store.RiskAssessment
	Input  *risk.Assessment
	Result *risk.Result
}

// High counts the register's high and very high risks.
func (r *Register) High() int {
	return r.Result.ByLevel[risk.High] + r.Result.ByLevel[risk.VeryHigh]
}

// CreateRisk opens an empty risk assessment.
func (s *Service) CreateRisk(ctx context.Context, tenantID, name, methodName string) (store.RiskAssessment, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.RiskAssessment{}, err
	}
	name = strings.TrimSpace(name)
	if err := checkText("name", name, MaxName, true, true); err != nil {
		return store.RiskAssessment{}, err
	}
	if methodName == "" {
		methodName = "formula"
	}
	if _, err := method(methodName); err != nil {
		return store.RiskAssessment{}, err
	}
	doc, err := json.Marshal(risk.Assessment{Name: name})
	if err != nil {
		return store.RiskAssessment{}, err
	}
	r := store.RiskAssessment{TenantID: tenantID, Name: name, Method: methodName, Doc: doc, CreatedBy: auth.FromContext(ctx).ActorID()}
	if err := s.store.Compliance().CreateRiskAssessment(ctx, &r); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return r, invalid("name", store.CodeOneOf, nil, "a risk assessment of this organisation already has this name")
		}
		return r, err
	}
	return r, s.record(ctx, tenantID, "risk.create", "risk_assessment:"+r.ID, map[string]any{"name": name, "method": methodName})
}

// ListRisks returns a page of the tenant's risk assessments (without
// their input), most recently updated first.
func (s *Service) ListRisks(ctx context.Context, tenantID string, pg store.Page) ([]store.RiskAssessment, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Compliance().ListRiskAssessments(ctx, tenantID, pg)
}

// Risk reads a risk assessment and computes its register.
func (s *Service) Risk(ctx context.Context, tenantID, id string) (*Register, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	meta, err := s.store.Compliance().GetRiskAssessment(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return evaluate(meta)
}

// evaluate decodes the stored input and runs the engine.
func evaluate(meta store.RiskAssessment) (*Register, error) {
	var as risk.Assessment
	if err := json.Unmarshal(meta.Doc, &as); err != nil {
		return nil, fmt.Errorf("risk assessment %s: decode: %w", meta.ID, err)
	}
	m, err := method(meta.Method)
	if err != nil {
		return nil, fmt.Errorf("risk assessment %s: %w", meta.ID, err)
	}
	res, err := risk.Evaluate(&as, m)
	if err != nil {
		return nil, fmt.Errorf("risk assessment %s: %w", meta.ID, err)
	}
	meta.Doc = nil
	return &Register{Meta: meta, Input: &as, Result: res}, nil
}

// engineError turns the engine's validation error into a field error the
// user reads.
func engineError(err error) error {
	if errors.Is(err, risk.ErrInvalid) {
		reason := strings.TrimSpace(strings.TrimPrefix(err.Error(), risk.ErrInvalid.Error()+":"))
		return invalid("assessment", store.CodeInvalidConfig, map[string]any{"reason": reason}, "%s", reason)
	}
	return err
}

// checkEntries bounds every text of an assessment's entries.
func checkEntries(as *risk.Assessment) error {
	type field struct {
		name, v string
		maxLen  int
	}
	var fs []field
	fs = append(fs, field{"name", as.Name, MaxName})
	for _, a := range as.Assets {
		fs = append(fs, field{"asset.id", a.ID, MaxID}, field{"asset.name", a.Name, MaxText}, field{"asset.owner", a.Owner, MaxText},
			field{"asset.parent", a.Parent, MaxID})
	}
	for _, t := range as.Threats {
		fs = append(fs, field{"threat.id", t.ID, MaxID}, field{"threat.name", t.Name, MaxText}, field{"threat.source", t.Source, MaxText},
			field{"threat.actor", t.Actor, MaxText}, field{"threat.type", t.Type, MaxText}, field{"threat.motive", t.Motive, MaxText},
			field{"threat.timing", t.Timing, MaxText})
	}
	for _, v := range as.Vulnerabilities {
		fs = append(fs, field{"vulnerability.id", v.ID, MaxID}, field{"vulnerability.name", v.Name, MaxText},
			field{"vulnerability.source", v.Source, MaxText})
		if len(v.Controls) > 50 {
			return invalid("control", store.CodeTooMany, map[string]any{"max": 50}, "a vulnerability has at most 50 controls")
		}
		for _, c := range v.Controls {
			fs = append(fs, field{"control.name", c.Name, MaxText})
		}
	}
	for _, sc := range as.Scenarios {
		fs = append(fs, field{"scenario.id", sc.ID, MaxID})
	}
	for _, d := range as.Decisions {
		fs = append(fs, field{"decision.owner", d.Owner, MaxText}, field{"decision.measure", d.Measure, MaxText})
	}
	for _, f := range fs {
		if err := checkText(f.name, f.v, f.maxLen, false, true); err != nil {
			return err
		}
	}
	return nil
}

// edit applies fn to the input of a risk assessment read at version (0:
// the current one), validates the result with the engine and stores it.
func (s *Service) edit(ctx context.Context, tenantID, id string, version int, action string, detail map[string]any,
	fn func(as *risk.Assessment) error) (*Register, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	meta, err := s.store.Compliance().GetRiskAssessment(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if version != 0 && version != meta.Version {
		return nil, fmt.Errorf("%w: the risk assessment was changed by someone else", store.ErrConflict)
	}
	var as risk.Assessment
	if err := json.Unmarshal(meta.Doc, &as); err != nil {
		return nil, fmt.Errorf("risk assessment %s: decode: %w", meta.ID, err)
	}
	if err := fn(&as); err != nil {
		return nil, err
	}
	as.Name = meta.Name
	if err := checkEntries(&as); err != nil {
		return nil, err
	}
	m, err := method(meta.Method)
	if err != nil {
		return nil, err
	}
	if _, err := risk.Evaluate(&as, m); err != nil {
		return nil, engineError(err)
	}
	doc, err := json.Marshal(&as)
	if err != nil {
		return nil, err
	}
	if len(doc) > MaxDocBytes {
		return nil, invalid("assessment", store.CodeTooLarge, map[string]any{"max": MaxDocBytes}, "a risk assessment holds at most %d bytes of entries", MaxDocBytes)
	}
	meta.Doc = doc
	if err := s.store.Compliance().UpdateRiskAssessment(ctx, &meta); err != nil {
		return nil, err
	}
	if err := s.record(ctx, tenantID, action, "risk_assessment:"+meta.ID, detail); err != nil {
		return nil, err
	}
	return evaluate(meta)
}

// nextID returns prefix followed by the lowest number not yet used.
func nextID(prefix string, used func(string) bool) string {
	for n := 1; ; n++ {
		if id := prefix + strconv.Itoa(n); !used(id) {
			return id
		}
	}
}

// AddAsset adds an asset; an empty ID becomes A<n>.
func (s *Service) AddAsset(ctx context.Context, tenantID, id string, version int, a risk.Asset) (*Register, error) {
	return s.edit(ctx, tenantID, id, version, "risk.asset", map[string]any{"asset": a.ID, "name": a.Name}, func(as *risk.Assessment) error {
		a.ID, a.Name, a.Parent, a.Owner = strings.TrimSpace(a.ID), strings.TrimSpace(a.Name), strings.TrimSpace(a.Parent), strings.TrimSpace(a.Owner)
		if err := checkText("name", a.Name, MaxText, true, true); err != nil {
			return err
		}
		if a.ID == "" {
			a.ID = nextID("A", func(x string) bool {
				return slices.ContainsFunc(as.Assets, func(y risk.Asset) bool { return y.ID == x })
			})
		}
		if a.Tier == risk.TierBusiness {
			a.C, a.I, a.A = 0, 0, 0
		} else {
			a.Importance = 0
		}
		as.Assets = append(as.Assets, a)
		return nil
	})
}

// AddThreat adds a threat; an empty ID becomes T<n>.
func (s *Service) AddThreat(ctx context.Context, tenantID, id string, version int, t risk.Threat) (*Register, error) {
	return s.edit(ctx, tenantID, id, version, "risk.threat", map[string]any{"threat": t.ID, "name": t.Name}, func(as *risk.Assessment) error {
		t.ID, t.Name = strings.TrimSpace(t.ID), strings.TrimSpace(t.Name)
		if err := checkText("name", t.Name, MaxText, true, true); err != nil {
			return err
		}
		if t.ID == "" {
			t.ID = nextID("T", func(x string) bool {
				return slices.ContainsFunc(as.Threats, func(y risk.Threat) bool { return y.ID == x })
			})
		}
		as.Threats = append(as.Threats, t)
		return nil
	})
}

// AddVulnerability adds a vulnerability entered by hand (Source "manual"
// when empty); an empty ID becomes V<n>.
func (s *Service) AddVulnerability(ctx context.Context, tenantID, id string, version int, v risk.Vulnerability) (*Register, error) {
	return s.edit(ctx, tenantID, id, version, "risk.vulnerability", map[string]any{"vulnerability": v.ID, "name": v.Name, "asset": v.Asset},
		func(as *risk.Assessment) error { return addVuln(as, v) })
}

func addVuln(as *risk.Assessment, v risk.Vulnerability) error {
	v.ID, v.Name, v.Asset, v.Source = strings.TrimSpace(v.ID), strings.TrimSpace(v.Name), strings.TrimSpace(v.Asset), strings.TrimSpace(v.Source)
	if err := checkText("name", v.Name, MaxText, true, true); err != nil {
		return err
	}
	if v.Source == "" {
		v.Source = "manual"
	}
	if v.ID == "" {
		v.ID = nextID("V", func(x string) bool {
			return slices.ContainsFunc(as.Vulnerabilities, func(y risk.Vulnerability) bool { return y.ID == x })
		})
	}
	as.Vulnerabilities = append(as.Vulnerabilities, v)
	return nil
}

// FindingSeverity is the vulnerability severity (1-5) of a finding's
// severity: critical 5, high 4, medium 3, low 2, anything else 1.
func FindingSeverity(sev string) int {
	switch strings.ToLower(sev) {
	case "critical":
		return 5
	case "high":
		return 4
	case "medium":
		return 3
	case "low":
		return 2
	}
	return 1
}

// AddFinding adds a vulnerability of asset from a stored finding of the
// tenant: its title, its severity mapped by FindingSeverity and the source
// "finding:<id>". A finding already in the assessment is refused.
func (s *Service) AddFinding(ctx context.Context, tenantID, id string, version int, asset, findingID string) (*Register, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	f, err := s.store.Vulns().Get(ctx, tenantID, strings.TrimSpace(findingID))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalid("finding", store.CodeNotInTenant, nil, "the finding is not one of this organisation's")
		}
		return nil, err
	}
	src := "finding:" + f.ID
	title := report.Shorten(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, f.Title), MaxText)
	return s.edit(ctx, tenantID, id, version, "risk.vulnerability", map[string]any{"finding": f.ID, "asset": asset}, func(as *risk.Assessment) error {
		if slices.ContainsFunc(as.Vulnerabilities, func(v risk.Vulnerability) bool { return v.Source == src }) {
			return invalid("finding", store.CodeOneOf, nil, "the finding is already a vulnerability of this assessment")
		}
		return addVuln(as, risk.Vulnerability{Name: title, Asset: asset, Severity: FindingSeverity(f.Severity), Source: src})
	})
}

// AddControl records an existing control against a vulnerability.
func (s *Service) AddControl(ctx context.Context, tenantID, id string, version int, vulnID string, c risk.Control) (*Register, error) {
	return s.edit(ctx, tenantID, id, version, "risk.control", map[string]any{"vulnerability": vulnID, "control": c.Name}, func(as *risk.Assessment) error {
		c.Name = strings.TrimSpace(c.Name)
		if err := checkText("name", c.Name, MaxText, true, true); err != nil {
			return err
		}
		i := slices.IndexFunc(as.Vulnerabilities, func(v risk.Vulnerability) bool { return v.ID == vulnID })
		if i < 0 {
			return invalid("vulnerability", store.CodeOneOf, nil, "no vulnerability %q in this assessment", report.Shorten(vulnID, 64))
		}
		as.Vulnerabilities[i].Controls = append(as.Vulnerabilities[i].Controls, c)
		return nil
	})
}

// AddScenario pairs a threat with a vulnerability; an empty ID becomes
// S<n>.
func (s *Service) AddScenario(ctx context.Context, tenantID, id string, version int, sc risk.Scenario) (*Register, error) {
	return s.edit(ctx, tenantID, id, version, "risk.scenario", map[string]any{"scenario": sc.ID, "threat": sc.Threat, "vulnerability": sc.Vulnerability},
		func(as *risk.Assessment) error {
			sc.ID, sc.Threat, sc.Vulnerability = strings.TrimSpace(sc.ID), strings.TrimSpace(sc.Threat), strings.TrimSpace(sc.Vulnerability)
			if sc.ID == "" {
				sc.ID = nextID("S", func(x string) bool {
					return slices.ContainsFunc(as.Scenarios, func(y risk.Scenario) bool { return y.ID == x })
				})
			}
			as.Scenarios = append(as.Scenarios, sc)
			return nil
		})
}

// Decide records (or replaces) the treatment of a scenario's risk.
func (s *Service) Decide(ctx context.Context, tenantID, id string, version int, d risk.Decision) (*Register, error) {
	return s.edit(ctx, tenantID, id, version, "risk.decide", map[string]any{"scenario": d.Scenario, "treatment": d.Treatment, "owner": d.Owner},
		func(as *risk.Assessment) error {
			d.Owner, d.Measure = strings.TrimSpace(d.Owner), strings.TrimSpace(d.Measure)
			if !slices.Contains(Treatments(), string(d.Treatment)) {
				return invalid("treatment", store.CodeOneOf, map[string]any{"allowed": Treatments()}, "the treatment must be reduce, transfer, avoid or accept")
			}
			if !d.Due.IsZero() {
				d.Due = d.Due.UTC()
			}
			as.Decisions = slices.DeleteFunc(as.Decisions, func(x risk.Decision) bool { return x.Scenario == d.Scenario })
			as.Decisions = append(as.Decisions, d)
			return nil
		})
}

// Replace sets the whole input of a risk assessment (the API's PUT, an
// imported file); the assessment's name stays.
func (s *Service) Replace(ctx context.Context, tenantID, id string, version int, in *risk.Assessment) (*Register, error) {
	if in == nil {
		return nil, invalid("assessment", store.CodeRequired, nil, "the assessment is missing")
	}
	return s.edit(ctx, tenantID, id, version, "risk.replace", map[string]any{"assets": len(in.Assets), "threats": len(in.Threats),
		"vulnerabilities": len(in.Vulnerabilities), "scenarios": len(in.Scenarios)}, func(as *risk.Assessment) error {
		*as = *in
		return nil
	})
}

// Import reads an assessment YAML document (risk.ParseAssessment: at most
// risk.MaxAssessmentBytes, unknown fields and anchors refused) and
// replaces the input with it.
func (s *Service) Import(ctx context.Context, tenantID, id string, version int, data []byte) (*Register, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	as, err := risk.ParseAssessment(bytes.NewReader(data))
	if err != nil {
		return nil, engineError(err)
	}
	return s.Replace(ctx, tenantID, id, version, as)
}

// RiskReport builds the risk assessment report of a register in lang.
func (s *Service) RiskReport(ctx context.Context, t store.Tenant, id, lang string) (*report.Document, error) {
	r, err := s.Risk(ctx, t.ID, id)
	if err != nil {
		return nil, err
	}
	return risk.ReportDocument(r.Input, r.Result, t.Name, lang), nil
}
