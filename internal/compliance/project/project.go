// Package project owns MLPS 2.0 (等级保护) assessment projects: a tenant's
// system (定级对象) assessed at level 2 or 3 against the matching framework
// of package compliance, the GB/T 28449-2018 activity the project is in,
// the result of each requirement item on each assessed object with its
// evidence, notes and high-risk flag, the score and conclusion of the
// documented weighted method, the assessment report document and the XLSX
// exchange of items with assessors. Every change is written to the audit
// log.
//
// Permissions: reading needs assessment.read in the project's tenant,
// changing needs assessment.write.
package project

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/compliance/register"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Phases of a project: the four GB/T 28449-2018 activities, then done.
const (
	PhasePreparation = "preparation" // 测评准备
	PhasePlan        = "plan"        // 方案编制
	PhaseOnsite      = "onsite"      // 现场测评
	PhaseReport      = "report"      // 报告编制
	PhaseDone        = "done"
)

// Phases returns the project phases in order.
func Phases() []string {
	return []string{PhasePreparation, PhasePlan, PhaseOnsite, PhaseReport, PhaseDone}
}

// Levels returns the protection levels a project may assess.
func Levels() []int { return []int{2, 3} }

// Results returns the stored result codes in display order.
func Results() []string {
	return []string{store.ItemConform, store.ItemPartial, store.ItemNonConform, store.ItemNA}
}

// Bounds on what one project holds. Text is counted in characters (runes).
const (
	MaxName        = 200
	MaxSystem      = 200
	MaxAgency      = 200
	MaxObject      = 200
	MaxEvidence    = 8000
	MaxNote        = 4000
	MaxRemediation = 4000
	MaxMeasure     = 1000
	MaxLinks       = 20
	MaxLink        = 2048
	// MaxItems bounds the item results of one project (objects × items).
	MaxItems = 20_000
	// MaxImportBytes bounds an uploaded XLSX workbook.
	MaxImportBytes = compliance.MaxXLSXBytes
)

// Service runs assessment projects.
type Service struct {
	store   store.Store
	audit   *audit.Log
	logger  *slog.Logger
	scorer  compliance.Scorer
	process *compliance.ProcessTemplate
	// catalog is loaded on first use when Options gave none: parsing the
	// embedded frameworks takes tens of milliseconds.
	catalogOnce sync.Once
	catalog     *compliance.Catalog
	catalogErr  error
	// register keeps the tenant's risk register and remediation items.
	register *register.Service
	// now is the clock of commissions (their status and period).
	now func() time.Time
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	// Catalog holds the frameworks; nil means compliance.Builtin(),
	// loaded on first use.
	Catalog *compliance.Catalog
	// Scorer scores projects; nil means compliance.WeightedScorer{}.
	Scorer compliance.Scorer
	// Now is the clock of commissions; nil means time.Now.
	Now func() time.Time
}

// NewService returns a project Service.
func NewService(s store.Store, a *audit.Log, opts Options) (*Service, error) {
	svc := &Service{store: s, audit: a, logger: opts.Logger, scorer: opts.Scorer, now: opts.Now}
	if svc.now == nil {
		svc.now = time.Now
	}
	if svc.logger == nil {
		svc.logger = slog.New(slog.DiscardHandler)
	}
	svc.register = register.NewService(s, a, register.Options{Logger: svc.logger})
	if svc.scorer == nil {
		svc.scorer = compliance.WeightedScorer{}
	}
	process, err := compliance.MLPSProcess()
	if err != nil {
		return nil, fmt.Errorf("load the assessment process: %w", err)
	}
	svc.process = process
	if opts.Catalog != nil {
		if err := checkCatalog(opts.Catalog); err != nil {
			return nil, err
		}
		svc.catalogOnce.Do(func() { svc.catalog = opts.Catalog })
	}
	return svc, nil
}

// checkCatalog checks a catalogue has the framework of every level.
func checkCatalog(c *compliance.Catalog) error {
	for _, l := range Levels() {
		if c.Framework(FrameworkID(l)) == nil {
			return fmt.Errorf("the catalogue has no framework %s", FrameworkID(l))
		}
	}
	return nil
}

// frameworks returns the catalogue, loading the built-in one on first use.
func (s *Service) frameworks() (*compliance.Catalog, error) {
	s.catalogOnce.Do(func() {
		c, err := compliance.Builtin()
		if err == nil {
			err = checkCatalog(c)
		}
		if err != nil {
			s.catalogErr = fmt.Errorf("load built-in frameworks: %w", err)
			return
		}
		s.catalog = c
	})
	return s.catalog, s.catalogErr
}

// Activity returns the GB/T 28449-2018 activity of a phase with its tasks
// and outputs, or nil (PhaseDone).
func (s *Service) Activity(phase string) *compliance.PhaseTemplate {
	for i := range s.process.Phases {
		if s.process.Phases[i].ID == phase {
			return &s.process.Phases[i]
		}
	}
	return nil
}

// FrameworkID is the id of the MLPS 2.0 general requirements framework of
// a level: mlps2-l2 or mlps2-l3.
func FrameworkID(level int) string { return fmt.Sprintf("mlps2-l%d", level) }

// Framework returns the framework of a project.
func (s *Service) Framework(p store.AssessmentProject) (*compliance.Framework, error) {
	cat, err := s.frameworks()
	if err != nil {
		return nil, err
	}
	fw := cat.Framework(p.Framework)
	if fw == nil {
		return nil, fmt.Errorf("project %s: framework %q is not in the catalogue", p.ID, p.Framework)
	}
	return fw, nil
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

func oneOf(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return invalid(field, store.CodeOneOf, map[string]any{"allowed": allowed, "value": quoteValue(v)},
			"%s must be one of %s", field, strings.Join(allowed, ", "))
	}
	return nil
}

// quoteValue shortens a value quoted back in an error.
func quoteValue(s string) string {
	if utf8.RuneCountInString(s) > 64 {
		return string([]rune(s)[:64]) + "…"
	}
	return s
}

// ProjectInput is what Create takes.
type ProjectInput struct {
	Name   string
	System string // 定级对象
	Level  int    // 2 or 3
	Agency string
}

// Create opens a project in the preparation phase; its framework follows
// from the level.
func (s *Service) Create(ctx context.Context, tenantID string, in ProjectInput) (store.AssessmentProject, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.AssessmentProject{}, err
	}
	in.Name, in.System, in.Agency = strings.TrimSpace(in.Name), strings.TrimSpace(in.System), strings.TrimSpace(in.Agency)
	for _, c := range []struct {
		field, v string
		maxLen   int
		required bool
	}{{"name", in.Name, MaxName, true}, {"system", in.System, MaxSystem, true}, {"agency", in.Agency, MaxAgency, false}} {
		if err := checkText(c.field, c.v, c.maxLen, c.required, true); err != nil {
			return store.AssessmentProject{}, err
		}
	}
	if !slices.Contains(Levels(), in.Level) {
		return store.AssessmentProject{}, invalid("level", store.CodeOneOf, map[string]any{"allowed": []string{"2", "3"}},
			"the level must be 2 or 3")
	}
	p := store.AssessmentProject{TenantID: tenantID, Name: in.Name, System: in.System, Level: in.Level,
		Framework: FrameworkID(in.Level), Agency: in.Agency, Phase: PhasePreparation, CreatedBy: auth.FromContext(ctx).ActorID()}
	if err := s.store.Compliance().CreateProject(ctx, &p); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return p, invalid("name", store.CodeOneOf, nil, "a project of this organisation already has this name")
		}
		return p, err
	}
	// Every asset of the tenant starts in scope; the assessor removes
	// what is out.
	scoped, err := s.defaultScope(ctx, tenantID, p.ID)
	if err != nil {
		return p, err
	}
	return p, s.record(ctx, tenantID, "assessment.create", p.ID, map[string]any{"name": p.Name, "system": p.System, "level": p.Level,
		"scope": scoped})
}

// Get returns a project.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.AssessmentProject, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return store.AssessmentProject{}, err
	}
	return s.store.Compliance().GetProject(ctx, tenantID, id)
}

// List returns a page of the tenant's projects, most recently updated
// first.
func (s *Service) List(ctx context.Context, tenantID string, pg store.Page) ([]store.AssessmentProject, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Compliance().ListProjects(ctx, tenantID, pg)
}

// SetPhase moves a project to a phase; version is the version the caller
// read (a stale one is store.ErrConflict).
func (s *Service) SetPhase(ctx context.Context, tenantID, id, phase string, version int) (store.AssessmentProject, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.AssessmentProject{}, err
	}
	if err := oneOf("phase", phase, Phases()); err != nil {
		return store.AssessmentProject{}, err
	}
	p, err := s.store.Compliance().GetProject(ctx, tenantID, id)
	if err != nil {
		return p, err
	}
	if version != 0 && version != p.Version {
		return p, fmt.Errorf("%w: the project was changed by someone else", store.ErrConflict)
	}
	from := p.Phase
	if from == phase {
		return p, nil
	}
	p.Phase = phase
	if err := s.store.Compliance().UpdateProject(ctx, &p); err != nil {
		return p, err
	}
	return p, s.record(ctx, tenantID, "assessment.phase", p.ID, map[string]any{"from": from, "to": phase})
}

// ItemInput is an assessor's result of one item on one object.
type ItemInput struct {
	Item   string // requirement id of the project's framework
	Object string // assessed object, "" for the system as a whole
	// Asset, when set, is the asset of the tenant assessed: the object is
	// bound to its ID (Object is then ignored).
	Asset    string
	Result   string // a code of Results, or a name compliance.ParseResult accepts
	HighRisk bool
	Resolved bool
	// Compensation is a compensating measure and Adjustment (0 to 1) what
	// it adds to the item's value.
	Compensation string
	Adjustment   float64
	Evidence     string
	Links        []string
	Note         string
	Remediation  string
}

// resultCode turns a result code or name into its stored code.
func resultCode(s string) (string, error) {
	s = strings.TrimSpace(s)
	if slices.Contains(Results(), s) {
		return s, nil
	}
	r, err := compliance.ParseResult(s)
	if err != nil {
		return "", oneOf("result", s, Results())
	}
	return codeOf(r), nil
}

func codeOf(r compliance.Result) string {
	switch r {
	case compliance.Conform:
		return store.ItemConform
	case compliance.PartlyConform:
		return store.ItemPartial
	case compliance.NotConform:
		return store.ItemNonConform
	}
	return store.ItemNA
}

// ResultOf returns the compliance result of a stored code.
func ResultOf(code string) compliance.Result {
	switch code {
	case store.ItemConform:
		return compliance.Conform
	case store.ItemPartial:
		return compliance.PartlyConform
	case store.ItemNonConform:
		return compliance.NotConform
	}
	return compliance.NotApplicable
}

// checkLinks bounds evidence links: http(s) URLs or paths of this site.
func checkLinks(links []string) ([]string, error) {
	var out []string
	for _, l := range links {
		l = strings.TrimSpace(l)
		if l == "" || slices.Contains(out, l) {
			continue
		}
		if len(out) == MaxLinks {
			return nil, invalid("links", store.CodeTooMany, map[string]any{"max": MaxLinks}, "at most %d evidence links", MaxLinks)
		}
		if len(l) > MaxLink || strings.ContainsFunc(l, unicode.IsControl) || !utf8.ValidString(l) {
			return nil, invalid("links", store.CodeInvalidURL, nil, "an evidence link is an http(s) URL or a path of this site")
		}
		u, err := url.Parse(l)
		site := err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "//")
		web := err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
		if !site && !web {
			return nil, invalid("links", store.CodeInvalidURL, nil, "an evidence link is an http(s) URL or a path of this site")
		}
		out = append(out, l)
	}
	return out, nil
}

// checkItem validates and normalises an item result against a framework.
func checkItem(fw *compliance.Framework, in *ItemInput) (store.AssessmentItem, error) {
	in.Item, in.Object = strings.TrimSpace(in.Item), strings.TrimSpace(in.Object)
	n := fw.Node(in.Item)
	if n == nil || !n.Assessable {
		return store.AssessmentItem{}, invalid("item", store.CodeOneOf, map[string]any{"value": quoteValue(in.Item)},
			"%q is not a requirement item of %s", quoteValue(in.Item), fw.ID)
	}
	code, err := resultCode(in.Result)
	if err != nil {
		return store.AssessmentItem{}, err
	}
	for _, c := range []struct {
		field, v string
		maxLen   int
		oneLine  bool
	}{{"object", in.Object, MaxObject, true}, {"compensation", in.Compensation, MaxMeasure, false},
		{"evidence", in.Evidence, MaxEvidence, false}, {"note", in.Note, MaxNote, false},
		{"remediation", in.Remediation, MaxRemediation, false}} {
		if err := checkText(c.field, c.v, c.maxLen, false, c.oneLine); err != nil {
			return store.AssessmentItem{}, err
		}
	}
	if math.IsNaN(in.Adjustment) || in.Adjustment < 0 || in.Adjustment > 1 {
		return store.AssessmentItem{}, invalid("adjustment", store.CodeOutOfRange, map[string]any{"min": 0, "max": 1},
			"the adjustment of a compensating measure is between 0 and 1")
	}
	if strings.TrimSpace(in.Compensation) == "" {
		in.Adjustment = 0
	}
	links, err := checkLinks(in.Links)
	if err != nil {
		return store.AssessmentItem{}, err
	}
	return store.AssessmentItem{Item: in.Item, Object: in.Object, Result: code, HighRisk: in.HighRisk, Resolved: in.Resolved,
		Compensation: strings.TrimSpace(in.Compensation), Adjustment: in.Adjustment, Evidence: in.Evidence, Links: links,
		Note: in.Note, Remediation: in.Remediation}, nil
}

// SetItem records the result of one item on one object, replacing an
// earlier one of the same item and object.
func (s *Service) SetItem(ctx context.Context, tenantID, projectID string, in ItemInput) (store.AssessmentItem, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.AssessmentItem{}, err
	}
	p, fw, err := s.project(ctx, tenantID, projectID)
	if err != nil {
		return store.AssessmentItem{}, err
	}
	ix, err := s.objectIndex(ctx, tenantID)
	if err != nil {
		return store.AssessmentItem{}, err
	}
	if in.Asset = strings.TrimSpace(in.Asset); in.Asset != "" {
		if _, ok := ix.names[in.Asset]; !ok {
			return store.AssessmentItem{}, invalid("asset", store.CodeNotInTenant, nil, "the asset is not one of this organisation's assets")
		}
		in.Object = in.Asset
	}
	it, err := checkItem(fw, &in)
	if err != nil {
		return it, err
	}
	it.Object = ix.bind(it.Object)
	if err := s.checkCapacity(ctx, p, []store.AssessmentItem{it}); err != nil {
		return it, err
	}
	it.Assessor = auth.FromContext(ctx).ActorID()
	items := []store.AssessmentItem{it}
	if err := s.store.Compliance().PutItems(ctx, tenantID, p.ID, items); err != nil {
		return it, err
	}
	return items[0], s.record(ctx, tenantID, "assessment.item", p.ID, map[string]any{"item": it.Item, "object": it.Object,
		"result": it.Result, "high_risk": it.HighRisk})
}

// checkCapacity refuses new item results beyond MaxItems. Only a project
// near the bound reads its keys to tell new results from replaced ones.
func (s *Service) checkCapacity(ctx context.Context, p store.AssessmentProject, add []store.AssessmentItem) error {
	n, err := s.store.Compliance().CountItems(ctx, p.TenantID, p.ID)
	if err != nil {
		return err
	}
	if n+len(add) <= MaxItems {
		return nil
	}
	have, err := s.store.Compliance().Items(ctx, p.TenantID, p.ID, MaxItems)
	if err != nil {
		return err
	}
	keys := make(map[[2]string]bool, len(have)+len(add))
	for _, it := range have {
		keys[[2]string{it.Item, it.Object}] = true
	}
	for _, it := range add {
		keys[[2]string{it.Item, it.Object}] = true
	}
	if len(keys) > MaxItems {
		return invalid("item", store.CodeTooMany, map[string]any{"max": MaxItems}, "a project holds at most %d item results", MaxItems)
	}
	return nil
}

// ClearItem removes the result of one item on one object.
func (s *Service) ClearItem(ctx context.Context, tenantID, projectID, item, object string) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	if err := s.store.Compliance().DeleteItem(ctx, tenantID, projectID, item, object); err != nil {
		return err
	}
	return s.record(ctx, tenantID, "assessment.item_clear", projectID, map[string]any{"item": item, "object": object})
}

// Items returns a project's item results by item id and object.
func (s *Service) Items(ctx context.Context, tenantID, projectID string) ([]store.AssessmentItem, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	if _, err := s.store.Compliance().GetProject(ctx, tenantID, projectID); err != nil {
		return nil, err
	}
	return s.store.Compliance().Items(ctx, tenantID, projectID, MaxItems)
}

// project reads a project and its framework.
func (s *Service) project(ctx context.Context, tenantID, id string) (store.AssessmentProject, *compliance.Framework, error) {
	p, err := s.store.Compliance().GetProject(ctx, tenantID, id)
	if err != nil {
		return p, nil, err
	}
	fw, err := s.Framework(p)
	return p, fw, err
}

// ItemResults converts stored item results to the scorer's input.
func ItemResults(items []store.AssessmentItem) []compliance.ItemResult {
	out := make([]compliance.ItemResult, 0, len(items))
	for _, it := range items {
		r := compliance.ItemResult{Item: it.Item, Object: it.Object, Result: ResultOf(it.Result), HighRisk: it.HighRisk,
			Resolved: it.Resolved, Evidence: evidenceText(it), Note: it.Note, Remediation: it.Remediation}
		if it.Compensation != "" {
			r.Compensation = &compliance.Compensation{Measure: it.Compensation, Adjustment: it.Adjustment}
		}
		out = append(out, r)
	}
	return out
}

// evidenceText is the evidence of an item with its links, one per line.
func evidenceText(it store.AssessmentItem) string {
	parts := append([]string{}, strings.TrimSpace(it.Evidence))
	parts = append(parts, it.Links...)
	return strings.TrimSpace(strings.Join(parts, "\n"))
}

// Assessment is a project with its framework, item results and score.
type Assessment struct {
	Project   store.AssessmentProject
	Framework *compliance.Framework
	Items     []store.AssessmentItem
	Card      *compliance.Scorecard
}

// Assess reads a project, its items and scores them with the service's
// scorer.
func (s *Service) Assess(ctx context.Context, tenantID, projectID string) (*Assessment, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	p, fw, err := s.project(ctx, tenantID, projectID)
	if err != nil {
		return nil, err
	}
	items, err := s.store.Compliance().Items(ctx, tenantID, projectID, MaxItems)
	if err != nil {
		return nil, err
	}
	card, err := s.scorer.Score(ctx, fw, ItemResults(items))
	if err != nil {
		return nil, fmt.Errorf("score project %s: %w", p.ID, err)
	}
	return &Assessment{Project: p, Framework: fw, Items: items, Card: card}, nil
}

// Report builds the assessment report document of a project in lang
// ("zh-CN", the default, or "en").
func (s *Service) Report(ctx context.Context, tenantID, projectID, lang string) (*report.Document, error) {
	a, err := s.Assess(ctx, tenantID, projectID)
	if err != nil {
		return nil, err
	}
	t, err := s.store.Tenants().Get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	names, err := s.ObjectNames(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	nameObjects(a.Card, names)
	author := auth.FromContext(ctx).Name()
	return compliance.AssessmentReport(a.Framework, a.Card, compliance.ReportOptions{System: a.Project.System, Tenant: t.Name,
		Lang: lang, Author: author}), nil
}

// ExportXLSX writes every requirement item of the project with its results
// as a workbook for assessors (compliance.WriteItemsXLSXWith): an object
// bound to an asset shows the asset's name and address, with its ID in
// the column an import binds by.
func (s *Service) ExportXLSX(ctx context.Context, tenantID, projectID string, w io.Writer) error {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return err
	}
	p, fw, err := s.project(ctx, tenantID, projectID)
	if err != nil {
		return err
	}
	items, err := s.store.Compliance().Items(ctx, tenantID, p.ID, MaxItems)
	if err != nil {
		return err
	}
	labels, err := s.objectLabels(ctx, tenantID, items)
	if err != nil {
		return err
	}
	if err := compliance.WriteItemsXLSXWith(w, fw, ItemResults(items), labels); err != nil {
		return fmt.Errorf("export project %s: %w", p.ID, err)
	}
	return nil
}

// objectLabels returns the name and address of the assets the items'
// objects are bound to, by asset ID.
func (s *Service) objectLabels(ctx context.Context, tenantID string, items []store.AssessmentItem) (map[string]compliance.ObjectLabel, error) {
	used := map[string]bool{}
	for _, it := range items {
		if it.Object != "" {
			used[it.Object] = true
		}
	}
	if len(used) == 0 {
		return nil, nil
	}
	assets, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: maxObjectAssets}})
	if err != nil {
		return nil, err
	}
	out := map[string]compliance.ObjectLabel{}
	for _, a := range assets {
		if used[a.ID] {
			out[a.ID] = compliance.ObjectLabel{Name: a.Name, Address: a.Address}
		}
	}
	return out, nil
}

// ImportXLSX reads item results from a workbook written by ExportXLSX (at
// most MaxImportBytes; formulas and macros refused, bad rows reported by
// row number) and stores them, all or none. Per-row weights are ignored:
// a project scores with the framework's weights. It returns the number of
// results stored.
func (s *Service) ImportXLSX(ctx context.Context, tenantID, projectID string, r io.Reader) (int, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return 0, err
	}
	p, fw, err := s.project(ctx, tenantID, projectID)
	if err != nil {
		return 0, err
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return 0, fmt.Errorf("read workbook: %w", err)
	}
	if len(data) > MaxImportBytes {
		return 0, invalid("file", store.CodeTooLarge, map[string]any{"max": MaxImportBytes}, "the workbook is larger than %d bytes", MaxImportBytes)
	}
	results, err := compliance.ParseItemsXLSX(bytes.NewReader(data), fw)
	if err != nil {
		if errors.Is(err, compliance.ErrInvalid) {
			return 0, invalid("file", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
		}
		return 0, fmt.Errorf("import workbook: %w", err)
	}
	ix, err := s.objectIndex(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	actor := auth.FromContext(ctx).ActorID()
	items := make([]store.AssessmentItem, 0, len(results))
	seen := map[[2]string]int{}
	for i, res := range results {
		in := ItemInput{Item: res.Item, Object: res.Object, Result: string(res.Result), HighRisk: res.HighRisk, Resolved: res.Resolved,
			Evidence: res.Evidence, Note: res.Note, Remediation: res.Remediation}
		if res.Compensation != nil {
			in.Compensation, in.Adjustment = res.Compensation.Measure, res.Compensation.Adjustment
		}
		it, err := checkItem(fw, &in)
		if err != nil {
			return 0, fmt.Errorf("result %d (%s): %w", i+1, res.Item, err)
		}
		it.Assessor, it.Object = actor, ix.bind(it.Object)
		k := [2]string{it.Item, it.Object}
		if j, dup := seen[k]; dup { // a later row of the same item and object wins
			items[j] = it
			continue
		}
		seen[k] = len(items)
		items = append(items, it)
	}
	if len(items) == 0 {
		return 0, nil
	}
	if err := s.checkCapacity(ctx, p, items); err != nil {
		return 0, err
	}
	if err := s.store.Compliance().PutItems(ctx, tenantID, p.ID, items); err != nil {
		return 0, err
	}
	return len(items), s.record(ctx, tenantID, "assessment.import", p.ID, map[string]any{"results": len(items)})
}

func (s *Service) record(ctx context.Context, tenantID, action, projectID string, detail any) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: action, Object: "assessment:" + projectID, Detail: detail})
}
