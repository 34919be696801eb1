package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/store"
)

// Limits of the rule management surface.
const (
	// MaxCustomRuleSize bounds an uploaded rule's YAML.
	MaxCustomRuleSize = 64 << 10
	// MaxCustomRules bounds the custom rules of one tenant.
	MaxCustomRules = 500
	// DefaultSnapshotEvery is how often correlation state is saved.
	DefaultSnapshotEvery = time.Minute
)

// Errors of the Service.
var (
	// ErrUnknownRule matches store.ErrNotFound.
	ErrUnknownRule = fmt.Errorf("unknown rule: %w", store.ErrNotFound)
	ErrInvalidRule = errors.New("invalid rule")
)

// RuleError is why an uploaded rule was refused, with the line of the
// YAML it concerns (0 when no line applies).
type RuleError struct {
	Line   int
	Reason string
}

func (e *RuleError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return e.Reason
}

// Unwrap makes a RuleError match ErrInvalidRule.
func (e *RuleError) Unwrap() error { return ErrInvalidRule }

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Logger *slog.Logger
	// Store keeps custom rules, rule settings and correlation state; nil
	// keeps everything in memory.
	Store store.DetectionStore
	// Pipelines compile custom rules as the built-in ones were.
	Pipelines *PipelineSet
	// Correlator bounds each tenant's correlation state.
	Correlator CorrelatorOptions
	// MaxSnapshotEntries bounds a tenant's saved correlation state
	// (DefaultMaxSnapshotEntries).
	MaxSnapshotEntries int
	// Audit records rule changes; nil records nothing.
	Audit Auditor
	// Sample reads the lines pasted into "test this rule"; nil reads
	// them as JSON (ParseJSONSample).
	Sample SampleParser
	// NodeID names this node's correlation snapshots, so that several
	// ingest nodes sharing a store each keep their own; a node restores
	// its own snapshots at Load.
	NodeID string
}

// Auditor records who changed what (audit.Log).
type Auditor interface {
	Record(ctx context.Context, ev audit.Event) error
}

func (s *Service) audit(ctx context.Context, tenantID, action, object string, detail any) error {
	if s.opts.Audit == nil {
		return nil
	}
	return s.opts.Audit.Record(ctx, audit.Event{TenantID: tenantID, Action: action, Object: object, Detail: detail})
}

// Service is the detection content of a running Vigil: the built-in rule
// set, each tenant's custom rules and rule settings, and each tenant's
// correlation state, which it saves to the store and restores at start.
// It is safe for concurrent use.
type Service struct {
	opts ServiceOptions
	log  *slog.Logger

	// edit serialises the changes of custom rules (check, store, apply).
	edit    sync.Mutex
	mu      sync.Mutex
	base    []*Rule
	corrs   []*Correlation
	baseEng *Engine
	tenants map[string]*tenantRules
}

// tenantRules is one tenant's view of the rules.
type tenantRules struct {
	custom []*Rule
	// corrSrcs are the YAML of the tenant's custom correlations by id,
	// also those that do not resolve (broken says why).
	corrSrcs map[string][]byte
	broken   map[string]*brokenCorr
	// corrs are the tenant's custom correlations that resolved, built
	// from their sources by resolveCustom.
	corrs    []*Correlation
	sources  map[string]store.CustomRule // by rule id, detection or correlation
	disabled map[string]bool             // by RuleKey
	engine   *Engine                     // nil until needed
	corr     *Correlator
}

// NewService returns a Service over the built-in rules and resolved
// correlations (see LoadResult.Resolve).
func NewService(rules []*Rule, corrs []*Correlation, opts ServiceOptions) *Service {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	if opts.Pipelines == nil {
		opts.Pipelines = NewPipelineSet()
	}
	return &Service{opts: opts, log: l, base: rules, corrs: corrs, baseEng: NewEngine(rules), tenants: make(map[string]*tenantRules)}
}

// SetBase replaces the built-in rules and correlations. Tenants' engines
// are rebuilt; their correlation windows are carried over through a
// snapshot, so correlations that are still loaded keep their state.
func (s *Service) SetBase(rules []*Rule, corrs []*Correlation) {
	eng := NewEngine(rules)
	s.edit.Lock()
	defer s.edit.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base, s.corrs, s.baseEng = rules, corrs, eng
	for id, t := range s.tenants {
		t.engine = nil
		s.resolveTenant(id, t)
		s.resetCorrelator(id, t)
	}
}

// resetCorrelator rebuilds a tenant's Correlator after its correlations
// changed, carrying the windows of the correlations still loaded over
// through a snapshot. Call with s.mu held.
func (s *Service) resetCorrelator(tenantID string, t *tenantRules) {
	if t.corr == nil {
		return
	}
	snap, err := t.corr.Snapshot(s.opts.MaxSnapshotEntries)
	t.corr = nil
	if err != nil {
		s.log.Warn("correlation state dropped on rule change", "tenant", tenantID, "err", err)
		return
	}
	if _, err := s.correlator(t).Restore(snap); err != nil {
		s.log.Warn("correlation state dropped on rule change", "tenant", tenantID, "err", err)
	}
}

// RuleKey identifies a rule for settings and in URLs: its id, or, for a
// rule without one, "p-" and a hash of its path.
func RuleKey(r *Rule) string { return ruleKey(r.ID, r.Path) }

func corrKey(c *Correlation) string { return ruleKey(c.ID, c.Path) }

func ruleKey(id, path string) string {
	if id != "" {
		return id
	}
	sum := sha256.Sum256([]byte(path))
	return "p-" + hex.EncodeToString(sum[:12])
}

func (s *Service) tenant(id string) *tenantRules {
	t := s.tenants[id]
	if t == nil {
		t = &tenantRules{sources: map[string]store.CustomRule{}, disabled: map[string]bool{}, corrSrcs: map[string][]byte{}}
		s.tenants[id] = t
	}
	return t
}

// Load reads every tenant's custom rules and settings and restores the
// saved correlation state. A custom rule that no longer compiles is
// logged and left out.
func (s *Service) Load(ctx context.Context) error {
	if s.opts.Store == nil {
		return nil
	}
	customs, err := s.opts.Store.CustomRules(ctx, "")
	if err != nil {
		return err
	}
	settings, err := s.opts.Store.RuleSettings(ctx, "")
	if err != nil {
		return err
	}
	states, err := s.opts.Store.CorrelationStates(ctx)
	if err != nil {
		return err
	}
	s.edit.Lock()
	defer s.edit.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range customs {
		r, corr, err := s.compileAny(c.Source)
		if err != nil {
			s.log.Warn("custom sigma rule not loaded", "tenant", c.TenantID, "rule", c.ID, "err", err)
			continue
		}
		t := s.tenant(c.TenantID)
		if r != nil {
			t.custom = append(t.custom, r)
		} else {
			t.corrSrcs[corr.ID] = c.Source
		}
		t.sources[c.ID] = c
	}
	for id, t := range s.tenants {
		s.resolveTenant(id, t)
	}
	for _, st := range settings {
		if !st.Enabled {
			s.tenant(st.TenantID).disabled[st.RuleID] = true
		}
	}
	for _, st := range s.ownStates(states) {
		t := s.tenant(st.TenantID)
		rs, err := s.correlator(t).Restore(st.State)
		if err != nil {
			s.log.Warn("correlation state not restored", "tenant", st.TenantID, "err", err)
			continue
		}
		s.log.Info("correlation state restored", "tenant", st.TenantID, "groups", rs.Groups, "skipped", rs.Skipped, "saved", st.SavedAt)
	}
	return nil
}

// compile parses an uploaded detection rule through the pipelines; a
// correlation is refused (see compileAny).
func (s *Service) compile(src []byte) (*Rule, error) {
	r, _, err := s.compileAny(src)
	if err == nil && r == nil {
		return nil, &RuleError{Line: keyLine(src, "correlation"), Reason: "a correlation rule is not a detection rule"}
	}
	return r, err
}

// Validate compiles a rule as an upload would, storing nothing.
func (s *Service) Validate(src []byte) (*Rule, error) { return s.compile(src) }

// engine returns the tenant's engine: the built-in one when the tenant
// changed nothing.
func (s *Service) engine(t *tenantRules) *Engine {
	if t == nil || len(t.custom) == 0 && len(t.disabled) == 0 {
		return s.baseEng
	}
	if t.engine == nil {
		rules := make([]*Rule, 0, len(s.base)+len(t.custom))
		for _, r := range s.base {
			if !t.disabled[RuleKey(r)] {
				rules = append(rules, r)
			}
		}
		for _, r := range t.custom {
			if !t.disabled[RuleKey(r)] {
				rules = append(rules, r)
			}
		}
		t.engine = NewEngine(rules)
	}
	return t.engine
}

func (s *Service) correlator(t *tenantRules) *Correlator {
	if t.corr == nil {
		var corrs []*Correlation
		for _, c := range slices.Concat(s.corrs, t.corrs) {
			if !t.disabled[corrKey(c)] {
				corrs = append(corrs, c)
			}
		}
		t.corr = NewCorrelator(corrs, s.opts.Correlator)
	}
	return t.corr
}

// Detection is what one event raised.
type Detection struct {
	// Rules fired on the event and are reported on their own.
	Rules []*Rule
	// Correlations fired with this event.
	Correlations []*CorrelationAlert
}

// Detect matches an event of a tenant at time t against the tenant's
// rules and feeds the matches to its correlations.
func (s *Service) Detect(tenantID string, ev *Event, t time.Time) Detection {
	return s.DetectEvent(tenantID, "", ev, t)
}

// DetectEvent is Detect for an event with an ID: correlations count the
// event once however often it is delivered (see
// Correlator.ProcessEvent), so a batch retried after a failure does not
// inflate their counts.
func (s *Service) DetectEvent(tenantID, eventID string, ev *Event, t time.Time) Detection {
	s.mu.Lock()
	tr := s.tenant(tenantID)
	eng := s.engine(tr)
	cr := s.correlator(tr)
	s.mu.Unlock()
	matched := eng.Match(ev, nil)
	var d Detection
	for _, r := range matched {
		if cr.Standalone(r) {
			d.Rules = append(d.Rules, r)
		}
	}
	for _, a := range cr.ProcessEvent(eventID, ev, t, matched) {
		if cr.Standalone(a.Correlation()) {
			d.Correlations = append(d.Correlations, a)
		}
	}
	return d
}

// RuleInfo describes a rule for the management surfaces.
type RuleInfo struct {
	Key         string    `json:"key"`
	ID          string    `json:"id,omitempty"`
	Title       string    `json:"title"`
	Level       string    `json:"level,omitempty"`
	Status      string    `json:"status,omitempty"`
	Description string    `json:"description,omitempty"`
	Tags        []string  `json:"tags"`
	LogSource   LogSource `json:"logsource"`
	Path        string    `json:"path"`
	Custom      bool      `json:"custom"`
	Correlation bool      `json:"correlation"`
	Enabled     bool      `json:"enabled"`
	// Problem says why a custom correlation does not run (a rule it
	// refers to is gone); empty when it runs.
	Problem string `json:"problem,omitempty"`
}

// RuleFilter narrows List. Empty members match everything; text matches
// are case-insensitive substrings.
type RuleFilter struct {
	// Query matches the title, id or path.
	Query string
	// Tag matches one tag (attack.t1059, attack.execution).
	Tag string
	// Level is one level exactly.
	Level string
	// LogSource matches the product, category or service.
	LogSource string
	// Custom keeps only custom rules; Disabled only disabled ones.
	Custom, Disabled bool
}

func (f RuleFilter) keep(ri *RuleInfo) bool {
	has := func(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
	if f.Query != "" && !has(ri.Title, f.Query) && !has(ri.ID, f.Query) && !has(ri.Path, f.Query) {
		return false
	}
	if f.Tag != "" && !slices.ContainsFunc(ri.Tags, func(t string) bool { return has(t, f.Tag) }) {
		return false
	}
	if f.Level != "" && !strings.EqualFold(ri.Level, f.Level) {
		return false
	}
	if f.LogSource != "" && !has(ri.LogSource.Product, f.LogSource) && !has(ri.LogSource.Category, f.LogSource) && !has(ri.LogSource.Service, f.LogSource) {
		return false
	}
	return (!f.Custom || ri.Custom) && (!f.Disabled || !ri.Enabled)
}

// List returns the tenant's rules (built-in, correlations, custom)
// matching f, sorted by title, and the number that match.
func (s *Service) List(tenantID string, f RuleFilter) []RuleInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[tenantID]
	disabled := func(k string) bool { return t != nil && t.disabled[k] }
	var out []RuleInfo
	add := func(r *Rule, custom bool) {
		ri := RuleInfo{Key: RuleKey(r), ID: r.ID, Title: r.Title, Level: r.Level, Status: r.Status, Description: r.Description,
			Tags: r.Tags, LogSource: r.LogSource, Path: r.Path, Custom: custom}
		ri.Enabled = !disabled(ri.Key)
		if ri.Tags == nil {
			ri.Tags = []string{}
		}
		if f.keep(&ri) {
			out = append(out, ri)
		}
	}
	for _, r := range s.base {
		add(r, false)
	}
	for _, c := range s.corrs {
		ri := RuleInfo{Key: corrKey(c), ID: c.ID, Title: c.Title, Level: c.Level, Status: c.Status, Description: c.Description,
			Tags: c.Tags, Path: c.Path, Correlation: true, Enabled: !disabled(corrKey(c))}
		if ri.Tags == nil {
			ri.Tags = []string{}
		}
		if f.keep(&ri) {
			out = append(out, ri)
		}
	}
	if t != nil {
		for _, r := range t.custom {
			add(r, true)
		}
		for _, ri := range s.customCorrInfos(t) {
			if f.keep(&ri) {
				out = append(out, ri)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b RuleInfo) int {
		return strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title))
	})
	return out
}

// Rule returns one of the tenant's rules by key, with the YAML of a
// custom rule.
func (s *Service) Rule(tenantID, key string) (RuleInfo, []byte, error) {
	for _, ri := range s.List(tenantID, RuleFilter{}) {
		if ri.Key == key {
			var src []byte
			if ri.Custom {
				s.mu.Lock()
				src = s.tenants[tenantID].sources[ri.ID].Source
				s.mu.Unlock()
			}
			return ri, src, nil
		}
	}
	return RuleInfo{}, nil, fmt.Errorf("%w: %s", ErrUnknownRule, key)
}

func (s *Service) known(t *tenantRules, key string) bool {
	for _, r := range s.base {
		if RuleKey(r) == key {
			return true
		}
	}
	for _, c := range s.corrs {
		if corrKey(c) == key {
			return true
		}
	}
	return t != nil && (slices.ContainsFunc(t.custom, func(r *Rule) bool { return RuleKey(r) == key }) ||
		slices.ContainsFunc(t.corrs, func(c *Correlation) bool { return corrKey(c) == key }))
}

// SetEnabled turns a rule on or off for a tenant and stores the choice.
// A correlation turned off or on starts with empty windows.
func (s *Service) SetEnabled(ctx context.Context, tenantID, key string, enabled bool, by string) error {
	s.mu.Lock()
	known := s.known(s.tenants[tenantID], key)
	s.mu.Unlock()
	if !known {
		return fmt.Errorf("%w: %s", ErrUnknownRule, key)
	}
	if s.opts.Store != nil {
		if err := s.opts.Store.SetRuleEnabled(ctx, &store.RuleSetting{TenantID: tenantID, RuleID: key, Enabled: enabled, UpdatedBy: by}); err != nil {
			return err
		}
	}
	s.mu.Lock()
	t := s.tenant(tenantID)
	if enabled {
		delete(t.disabled, key)
	} else {
		t.disabled[key] = true
	}
	t.engine = nil
	if slices.ContainsFunc(slices.Concat(s.corrs, t.corrs), func(c *Correlation) bool { return corrKey(c) == key }) {
		s.resetCorrelator(tenantID, t)
	}
	s.mu.Unlock()
	action := "detect.rule.disable"
	if enabled {
		action = "detect.rule.enable"
	}
	return s.audit(ctx, tenantID, action, "rule:"+key, nil)
}

// Snapshot saves every tenant's correlation state to the store.
func (s *Service) Snapshot(ctx context.Context) error {
	if s.opts.Store == nil {
		return nil
	}
	s.mu.Lock()
	crs := make(map[string]*Correlator, len(s.tenants))
	for id, t := range s.tenants {
		if t.corr != nil {
			crs[id] = t.corr
		}
	}
	s.mu.Unlock()
	var errs []error
	for id, cr := range crs {
		data, err := cr.Snapshot(s.opts.MaxSnapshotEntries)
		if err == nil && len(data) > store.MaxCorrelationState {
			err = fmt.Errorf("snapshot of %d bytes over the store's limit", len(data))
		}
		if err == nil {
			err = s.opts.Store.SaveCorrelationState(ctx, &store.CorrelationState{TenantID: id, NodeID: s.opts.NodeID, State: data})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Run saves the correlation state every interval (DefaultSnapshotEvery
// when <= 0) until ctx ends, then once more with a fresh context.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultSnapshotEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if err := s.Snapshot(sctx); err != nil {
				s.log.Warn("correlation state not saved at shutdown", "err", err)
			}
			cancel()
			return
		case <-tick.C:
			if err := s.Snapshot(ctx); err != nil {
				s.log.Warn("correlation state not saved", "err", err)
			}
		}
	}
}

// ResetCorrelation drops the tenant's correlation state, for a node that
// takes the tenant over from another and rebuilds the state (the event
// replay of a partition takeover): windows held from an earlier spell
// would miss what the other node counted meanwhile.
func (s *Service) ResetCorrelation(tenantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenants[tenantID]; t != nil {
		t.corr = nil
	}
}

// RestoreCorrelation adds a saved snapshot (Correlator.Snapshot) to the
// tenant's correlation state.
func (s *Service) RestoreCorrelation(tenantID string, data []byte) (RestoreStats, error) {
	s.mu.Lock()
	cr := s.correlator(s.tenant(tenantID))
	s.mu.Unlock()
	return cr.Restore(data)
}

// LongestTimespan is the longest timespan of the correlations that run
// for the tenant, 0 when none does: how far back its events must be
// replayed to rebuild its correlation state.
func (s *Service) LongestTimespan(tenantID string) time.Duration {
	s.mu.Lock()
	cr := s.correlator(s.tenant(tenantID))
	s.mu.Unlock()
	var d time.Duration
	for _, c := range cr.Correlations() {
		d = max(d, c.Timespan)
	}
	return d
}
