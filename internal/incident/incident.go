// Package incident owns incident response cases: alerts promoted or merged
// into a case, the PICERL phases a case moves through (detect, contain,
// eradicate, recover, summarise, then closed with a resolution), SLA timers
// per severity, tasks created by hand or from playbooks with checklists and
// work logs, observables with sightings across cases and an enrichment hook,
// evidence kept by SHA-256 with a chain of custody, the case timeline, and
// the IR report document. Every change is written to the audit log.
//
// Permissions: reading needs event.read in the case's tenant, changing
// needs incident.write, the report needs report.read. Downloading evidence
// needs event.read and, in addition, the caller's explicit grant (see
// Download).
package incident

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/incident/playbook"
	"github.com/vigil-sec/vigil/internal/store"
)

// Severities, lowest first.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Severities returns the case severities, lowest first.
func Severities() []string {
	return []string{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
}

// TLPs returns the Traffic Light Protocol 2.0 labels.
func TLPs() []string { return []string{"clear", "green", "amber", "amber+strict", "red"} }

// PAPs returns the Permissible Actions Protocol labels.
func PAPs() []string { return []string{"white", "green", "amber", "red"} }

// Categories returns the case categories (the playbook categories).
func Categories() []string { return playbook.Categories() }

// Phases of a case. The open phases are those of playbook.Phases.
const (
	PhaseDetect    = playbook.PhaseDetect
	PhaseContain   = playbook.PhaseContain
	PhaseEradicate = playbook.PhaseEradicate
	PhaseRecover   = playbook.PhaseRecover
	PhaseSummarise = playbook.PhaseSummarise
	PhaseClosed    = "closed"
)

// Phases returns the open phases in order; PhaseClosed follows them.
func Phases() []string { return playbook.Phases() }

// Resolutions of a closed case.
const (
	TruePositive  = "true_positive"
	FalsePositive = "false_positive"
	Duplicate     = "duplicate"
	Benign        = "benign"
)

// Resolutions returns the resolutions a case can be closed with.
func Resolutions() []string { return []string{TruePositive, FalsePositive, Duplicate, Benign} }

// Bounds on what one case holds. Text is counted in characters (runes).
const (
	MaxTitle        = 200
	MaxDescription  = 20_000 // also the bound of each report section
	MaxTags         = 32
	MaxTag          = 64
	MaxTechniques   = 64
	MaxAssets       = 100
	MaxNote         = 4000 // task logs, manual timeline entries, reasons
	MaxTasks        = 500  // per case
	MaxTaskDesc     = 4000
	MaxChecklist    = 50
	MaxChecklistLen = 500
	MaxObservables  = 10_000 // per case
	MaxObsBatch     = 1000   // per call
	MaxObsValue     = 2048
	MaxObsTags      = 16
	MaxEvidence     = 1000 // files per case
	MaxBulk         = 1000 // alerts per promote or merge
	// DefaultMaxUpload bounds one evidence file unless Options says otherwise.
	DefaultMaxUpload = 50 << 20
)

// Service runs incident response.
type Service struct {
	store     store.Store
	audit     *audit.Log
	logger    *slog.Logger
	now       func() time.Time
	sla       SLAPolicy
	tenantSLA map[string]SLAPolicy
	maxUpload int64
	playbooks []playbook.Playbook
	enricher  Enricher
	onChange  func(ctx context.Context, c store.Incident, change string) error
	slaFactor func(ctx context.Context, tenantID string, at time.Time) float64
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	// Now overrides the clock (tests).
	Now func() time.Time
	// SLA overrides DefaultSLA per severity; TenantSLA overrides it again
	// for one tenant (by tenant ID), per severity.
	SLA       SLAPolicy
	TenantSLA map[string]SLAPolicy
	// MaxUpload bounds one evidence file (default DefaultMaxUpload).
	MaxUpload int64
	// Playbooks are the playbooks ApplyPlaybook knows; nil means
	// playbook.Builtin().
	Playbooks []playbook.Playbook
	// Enricher looks observables up in threat intelligence; nil for none.
	Enricher Enricher
	// OnChange is told of each change of a case's state (created, merge,
	// acknowledge, phase, close, reopen, report.final) after it is stored
	// and audited; its error is logged, never returned.
	OnChange func(ctx context.Context, c store.Incident, change string) error
	// SLAFactor, when set, tells the factor in (0, 1) that shortens a
	// tenant's SLA targets for a case created at a moment (a key-period
	// campaign's watch); 1 or any other value leaves them as they are.
	SLAFactor func(ctx context.Context, tenantID string, at time.Time) float64
}

// NewService returns an incident Service.
func NewService(s store.Store, a *audit.Log, opts Options) (*Service, error) {
	svc := &Service{store: s, audit: a, logger: opts.Logger, now: opts.Now, sla: DefaultSLA(), tenantSLA: opts.TenantSLA,
		maxUpload: opts.MaxUpload, playbooks: opts.Playbooks, enricher: opts.Enricher, onChange: opts.OnChange,
		slaFactor: opts.SLAFactor}
	if svc.logger == nil {
		svc.logger = slog.New(slog.DiscardHandler)
	}
	if svc.now == nil {
		svc.now = time.Now
	}
	for k, v := range opts.SLA {
		svc.sla[k] = v
	}
	if svc.maxUpload <= 0 {
		svc.maxUpload = DefaultMaxUpload
	}
	if svc.playbooks == nil {
		pbs, err := playbook.Builtin()
		if err != nil {
			return nil, fmt.Errorf("load built-in playbooks: %w", err)
		}
		svc.playbooks = pbs
	}
	return svc, nil
}

func invalid(field, code string, a map[string]any, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

// checkText bounds a text field: valid UTF-8, at most max characters, and
// present when required.
func checkText(field, s string, maxLen int, required bool) error {
	if !utf8.ValidString(s) {
		return invalid(field, store.CodeInvalidUTF8, nil, "%s must be UTF-8 text", field)
	}
	if required && strings.TrimSpace(s) == "" {
		return invalid(field, store.CodeRequired, nil, "%s is required", field)
	}
	if n := utf8.RuneCountInString(s); n > maxLen {
		return invalid(field, store.CodeTooLong, map[string]any{"max": maxLen}, "%s has %d characters, at most %d", field, n, maxLen)
	}
	return nil
}

func oneOf(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return invalid(field, store.CodeOneOf, map[string]any{"allowed": allowed, "value": v},
			"%s must be one of %s", field, strings.Join(allowed, ", "))
	}
	return nil
}

// checkTags bounds a tag list: at most maxN tags of 1 to MaxTag printable
// characters without commas; duplicates are dropped.
func checkTags(field string, tags []string, maxN int) ([]string, error) {
	if len(tags) > maxN {
		return nil, invalid(field, store.CodeTooMany, map[string]any{"max": maxN}, "at most %d %s", maxN, field)
	}
	var out []string
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !utf8.ValidString(t) || utf8.RuneCountInString(t) > MaxTag || strings.ContainsFunc(t, func(r rune) bool {
			return r == ',' || !unicode.IsPrint(r)
		}) {
			return nil, invalid(field, store.CodeInvalidTag, map[string]any{"max": MaxTag},
				"a tag is 1 to %d printable characters without commas", MaxTag)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

var techniqueRE = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// checkTechniques validates MITRE ATT&CK technique IDs (T1059, T1059.001).
func checkTechniques(ts []string) ([]string, error) {
	if len(ts) > MaxTechniques {
		return nil, invalid("techniques", store.CodeTooMany, map[string]any{"max": MaxTechniques}, "at most %d techniques", MaxTechniques)
	}
	var out []string
	for _, t := range ts {
		t = strings.ToUpper(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if !techniqueRE.MatchString(t) {
			return nil, invalid("techniques", store.CodeOneOf, map[string]any{"value": quoteValue(t)},
				"an ATT&CK technique ID looks like T1059 or T1059.001")
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// quoteValue shortens a value quoted back in an error.
func quoteValue(s string) string {
	if utf8.RuneCountInString(s) > 64 {
		return string([]rune(s)[:64]) + "…"
	}
	return s
}

// Input is what an analyst writes on a case; Create and Update take it.
type Input struct {
	Title       string
	Description string
	Severity    string
	TLP         string // default amber
	PAP         string // default amber
	Category    string
	GBClass     string // "" or a code of GBClasses
	Assignee    string // a user ID or ""
	Tags        []string
	Techniques  []string
	AssetIDs    []string
}

// check validates and normalises in for the tenant.
func (s *Service) check(ctx context.Context, tenantID string, in *Input) error {
	in.Title = strings.TrimSpace(in.Title)
	if err := checkText("title", in.Title, MaxTitle, true); err != nil {
		return err
	}
	if strings.ContainsFunc(in.Title, unicode.IsControl) {
		return invalid("title", store.CodeInvalidAttribute, nil, "the title is one line of text without control characters")
	}
	if err := checkText("description", in.Description, MaxDescription, false); err != nil {
		return err
	}
	if in.TLP == "" {
		in.TLP = "amber"
	}
	if in.PAP == "" {
		in.PAP = "amber"
	}
	if in.Category == "" {
		in.Category = playbook.CategoryOther
	}
	for _, c := range []struct {
		field, v string
		allowed  []string
	}{{"severity", in.Severity, Severities()}, {"tlp", in.TLP, TLPs()}, {"pap", in.PAP, PAPs()}, {"category", in.Category, Categories()}} {
		if err := oneOf(c.field, c.v, c.allowed); err != nil {
			return err
		}
	}
	if in.GBClass != "" {
		if _, ok := GBClassByCode(in.GBClass); !ok {
			return oneOf("gb_class", in.GBClass, gbCodes())
		}
	}
	var err error
	if in.Tags, err = checkTags("tags", in.Tags, MaxTags); err != nil {
		return err
	}
	if in.Techniques, err = checkTechniques(in.Techniques); err != nil {
		return err
	}
	if len(in.AssetIDs) > MaxAssets {
		return invalid("assets", store.CodeTooMany, map[string]any{"max": MaxAssets}, "at most %d affected assets", MaxAssets)
	}
	var assets []string
	for _, id := range in.AssetIDs {
		if id == "" || slices.Contains(assets, id) {
			continue
		}
		if _, err := s.store.Assets().Get(ctx, tenantID, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return invalid("assets", store.CodeNotInTenant, nil, "choose assets of this organisation")
			}
			return err
		}
		assets = append(assets, id)
	}
	in.AssetIDs = assets
	if in.Assignee != "" {
		if err := s.checkUser(ctx, tenantID, "assignee", in.Assignee); err != nil {
			return err
		}
	}
	return nil
}

// checkUser checks a user exists and may work in the tenant (a member or a
// holder of a global role).
func (s *Service) checkUser(ctx context.Context, tenantID, field, userID string) error {
	u, err := s.store.Users().Get(ctx, userID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return invalid(field, store.CodeNotInTenant, nil, "choose a user who works for this organisation")
		}
		return err
	}
	if u.Disabled {
		return invalid(field, store.CodeNotInTenant, nil, "the user is disabled")
	}
	if u.GlobalRole != "" && auth.RoleHas(u.GlobalRole, auth.PermIncidentWrite) {
		return nil
	}
	ms, err := s.store.Users().Memberships(ctx, userID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.TenantID == tenantID && auth.RoleHas(m.Role, auth.PermIncidentWrite) {
			return nil
		}
	}
	return invalid(field, store.CodeNotInTenant, nil, "choose a user who works on this organisation's incidents")
}

// Create opens a case in the detect phase with its SLA due times.
func (s *Service) Create(ctx context.Context, tenantID string, in Input) (store.Incident, error) {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return store.Incident{}, err
	}
	if err := s.check(ctx, tenantID, &in); err != nil {
		return store.Incident{}, err
	}
	c, err := s.create(ctx, tenantID, in)
	if err != nil {
		return c, err
	}
	return c, s.record(ctx, tenantID, "incident.create", c.ID, map[string]any{"ref": c.Ref, "title": c.Title, "severity": c.Severity})
}

func (s *Service) create(ctx context.Context, tenantID string, in Input) (store.Incident, error) {
	now := s.now().UTC()
	c := store.Incident{TenantID: tenantID, Title: in.Title, Description: in.Description, Severity: in.Severity, TLP: in.TLP,
		PAP: in.PAP, Category: in.Category, GBClass: in.GBClass, Phase: PhaseDetect, Assignee: in.Assignee, Tags: in.Tags,
		Techniques: in.Techniques, AssetIDs: in.AssetIDs, CreatedBy: auth.FromContext(ctx).ActorID()}
	if c.Assignee != "" {
		c.AcknowledgedAt = now
	}
	s.setDue(ctx, &c, now)
	if err := s.store.Incidents().Create(ctx, &c); err != nil {
		return c, err
	}
	return c, nil
}

// Get returns a case.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.Incident, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return store.Incident{}, err
	}
	return s.store.Incidents().Get(ctx, tenantID, id)
}

// Filter narrows List. Query is matched against titles (substring),
// references and observable values (exact, after the observable
// normalisation of each type).
type Filter struct {
	Phases   []string
	Severity string
	Assignee string
	Category string
	Tag      string
	Query    string
	Breached bool
	store.Page
}

// MaxCount is where List stops counting: a larger total is reported as
// MaxCount (surfaces show "10000+").
const MaxCount = 10_000

// List returns a page of the tenant's cases, most recently updated first,
// and the number of matching cases up to MaxCount.
func (s *Service) List(ctx context.Context, tenantID string, f Filter) ([]store.Incident, int, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, 0, err
	}
	if err := checkText("q", f.Query, MaxObsValue, false); err != nil {
		return nil, 0, err
	}
	for _, p := range f.Phases {
		if err := oneOf("phase", p, append(Phases(), PhaseClosed)); err != nil {
			return nil, 0, err
		}
	}
	sf := store.IncidentFilter{Phases: f.Phases, Severity: f.Severity, Assignee: f.Assignee, Category: f.Category, Tag: f.Tag,
		Breached: f.Breached, Now: s.now(), CountCap: MaxCount, Page: f.Page}
	if q := strings.TrimSpace(f.Query); q != "" {
		sf.Query = searchValue(q)
	}
	cs, err := s.store.Incidents().List(ctx, tenantID, sf)
	if err != nil {
		return nil, 0, err
	}
	if limit, offset := min(sf.Limit, store.MaxPageSize), max(sf.Offset, 0); len(cs) < limit && (len(cs) > 0 || offset == 0) {
		// A page that is not full (of an explicit limit) is the last:
		// the count is what came before it and what it holds, with no
		// second pass over the cases (text found nowhere, or in few
		// cases, was read twice).
		return cs, min(offset+len(cs), MaxCount), nil
	}
	n, err := s.store.Incidents().Count(ctx, tenantID, sf)
	return cs, n, err
}

// Update rewrites what an analyst edits on a case. version is the
// Version the analyst saw; a case changed since is ErrConflict. A
// severity change recomputes the SLA due times from the creation time.
func (s *Service) Update(ctx context.Context, tenantID, id string, version int, in Input) (store.Incident, error) {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return store.Incident{}, err
	}
	if err := s.check(ctx, tenantID, &in); err != nil {
		return store.Incident{}, err
	}
	c, err := s.store.Incidents().Get(ctx, tenantID, id)
	if err != nil {
		return c, err
	}
	if version != 0 && version != c.Version {
		return c, fmt.Errorf("%w: the case was changed by someone else; reload it", store.ErrConflict)
	}
	before := c
	c.Title, c.Description, c.TLP, c.PAP, c.Category, c.GBClass = in.Title, in.Description, in.TLP, in.PAP, in.Category, in.GBClass
	c.Tags, c.Techniques, c.AssetIDs = in.Tags, in.Techniques, in.AssetIDs
	if c.Assignee != in.Assignee {
		c.Assignee = in.Assignee
		if c.Assignee != "" && c.AcknowledgedAt.IsZero() {
			c.AcknowledgedAt = s.now()
		}
	}
	if c.Severity != in.Severity {
		c.Severity = in.Severity
		s.setDue(ctx, &c, c.CreatedAt)
	}
	if err := s.store.Incidents().Update(ctx, &c, nil); err != nil {
		return c, err
	}
	return c, s.record(ctx, tenantID, "incident.update", id, changes(before, c))
}

// changes lists the fields an update changed, for the audit detail.
func changes(a, b store.Incident) map[string]any {
	d := map[string]any{"ref": b.Ref}
	add := func(k string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			d[k] = map[string]any{"from": x, "to": y}
		}
	}
	add("title", a.Title, b.Title)
	add("severity", a.Severity, b.Severity)
	add("tlp", a.TLP, b.TLP)
	add("pap", a.PAP, b.PAP)
	add("category", a.Category, b.Category)
	add("gb_class", a.GBClass, b.GBClass)
	add("assignee", a.Assignee, b.Assignee)
	add("tags", a.Tags, b.Tags)
	add("techniques", a.Techniques, b.Techniques)
	add("assets", a.AssetIDs, b.AssetIDs)
	if a.Description != b.Description {
		d["description"] = "changed"
	}
	return d
}

// record writes one audit entry about a case.
func (s *Service) record(ctx context.Context, tenantID, action, caseID string, detail any) error {
	if err := s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: action, Object: "incident:" + caseID, Detail: detail}); err != nil {
		return err
	}
	if s.onChange != nil && stateChanges[action] {
		c, err := s.store.Incidents().Get(ctx, tenantID, caseID)
		if err != nil {
			return err
		}
		if err := s.onChange(ctx, c, strings.TrimPrefix(action, "incident.")); err != nil {
			s.logger.Warn("case change not announced", "case", c.Ref, "err", err)
		}
	}
	return nil
}

// stateChanges are the audited actions announced through OnChange.
var stateChanges = map[string]bool{"incident.create": true, "incident.merge": true, "incident.acknowledge": true,
	"incident.phase": true, "incident.close": true, "incident.reopen": true, "incident.report.final": true}
