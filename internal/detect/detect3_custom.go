package detect

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/store"
)

// Custom correlation rules: a tenant uploads Sigma correlation rules next
// to its detection rules. They refer to built-in rules, built-in
// correlations and the tenant's own custom rules and correlations by id
// or name, and are re-resolved whenever any of those change.

// brokenCorr is a custom correlation that no longer resolves (a rule it
// refers to is gone from the built-in set).
type brokenCorr struct {
	c   *Correlation
	err error
}

// compileAny parses an uploaded rule: a detection rule through the
// pipelines, or a correlation (references not yet resolved). Exactly one
// of the results is non-nil when err is nil.
func (s *Service) compileAny(src []byte) (*Rule, *Correlation, error) {
	if len(src) > MaxCustomRuleSize {
		return nil, nil, &RuleError{Reason: fmt.Sprintf("rule is %d bytes, the limit is %d", len(src), MaxCustomRuleSize)}
	}
	r, err := s.opts.Pipelines.ParseRule(src)
	if errors.Is(err, ErrCorrelation) {
		c, err := ParseCorrelation(src)
		if err != nil {
			return nil, nil, &RuleError{Line: errorLine(src, err), Reason: err.Error()}
		}
		if c.ID == "" {
			return nil, nil, &RuleError{Line: 1, Reason: "the rule needs an id"}
		}
		if c.Title == "" {
			return nil, nil, &RuleError{Line: 1, Reason: "the rule needs a title"}
		}
		c.Path = "custom/" + c.ID + ".yml"
		return nil, c, nil
	}
	if err != nil {
		return nil, nil, &RuleError{Line: errorLine(src, err), Reason: err.Error()}
	}
	if r.ID == "" {
		return nil, nil, &RuleError{Line: 1, Reason: "the rule needs an id"}
	}
	if r.Title == "" {
		return nil, nil, &RuleError{Line: 1, Reason: "the rule needs a title"}
	}
	r.Path = "custom/" + r.ID + ".yml"
	return r, nil, nil
}

// resolveCustom parses the custom correlations in srcs afresh and binds
// them to the built-in rules and correlations and to custom (the
// tenant's detection rules). It returns those that resolve and, by id,
// those that do not. Call with s.mu held.
func (s *Service) resolveCustom(custom []*Rule, srcs map[string][]byte) ([]*Correlation, map[string]*brokenCorr) {
	broken := map[string]*brokenCorr{}
	var parsed []*Correlation
	for _, id := range slices.Sorted(maps.Keys(srcs)) {
		c, err := ParseCorrelation(srcs[id])
		if err != nil {
			// It parsed when it was uploaded; only a code change can
			// make it fail now.
			broken[id] = &brokenCorr{c: &Correlation{ID: id, Title: id, Path: "custom/" + id + ".yml"}, err: err}
			continue
		}
		c.Path = "custom/" + id + ".yml"
		parsed = append(parsed, c)
	}
	ok, errs := resolveCorrelations(slices.Concat(s.base, custom), s.corrs, parsed)
	for _, le := range errs {
		for _, c := range parsed {
			if c.Path == le.Path {
				broken[c.ID] = &brokenCorr{c: c, err: le.Reason}
			}
		}
	}
	return ok, broken
}

// resolveTenant rebinds a tenant's custom correlations after the rules
// changed, logging those that no longer resolve. Call with s.mu held.
func (s *Service) resolveTenant(tenantID string, t *tenantRules) {
	if len(t.corrSrcs) == 0 && len(t.corrs) == 0 {
		return
	}
	ok, broken := s.resolveCustom(t.custom, t.corrSrcs)
	for id, b := range broken {
		s.log.Warn("custom sigma correlation not loaded", "tenant", tenantID, "rule", id, "err", b.err)
	}
	t.corrs, t.broken = ok, broken
}

// customCorrInfos describes a tenant's custom correlations, those that
// do not resolve with the reason in Problem. Call with s.mu held.
func (s *Service) customCorrInfos(t *tenantRules) []RuleInfo {
	var out []RuleInfo
	info := func(c *Correlation) RuleInfo {
		ri := RuleInfo{Key: corrKey(c), ID: c.ID, Title: c.Title, Level: c.Level, Status: c.Status, Description: c.Description,
			Tags: c.Tags, Path: c.Path, Custom: true, Correlation: true, Enabled: !t.disabled[corrKey(c)]}
		if ri.Tags == nil {
			ri.Tags = []string{}
		}
		return ri
	}
	for _, c := range t.corrs {
		out = append(out, info(c))
	}
	for _, id := range slices.Sorted(maps.Keys(t.broken)) {
		ri := info(t.broken[id].c)
		ri.Enabled = false
		ri.Problem = t.broken[id].err.Error()
		out = append(out, ri)
	}
	return out
}

// AddCustom validates an uploaded rule, a detection rule or a Sigma
// correlation rule, and stores it for the tenant, replacing the tenant's
// custom rule with the same id. It is refused with a RuleError naming the
// line when it does not compile, when its id is a built-in rule's, when a
// correlation refers to a rule (by id or name; built-in or the tenant's
// custom ones) that does not exist or is ambiguous, or when replacing a
// rule would leave another of the tenant's correlations without a rule
// it refers to.
func (s *Service) AddCustom(ctx context.Context, tenantID string, src []byte, by string) (RuleInfo, error) {
	r, c, err := s.compileAny(src)
	if err != nil {
		return RuleInfo{}, err
	}
	id, title := "", ""
	if r != nil {
		id, title = r.ID, r.Title
	} else {
		id, title = c.ID, c.Title
	}
	s.edit.Lock()
	defer s.edit.Unlock()

	s.mu.Lock()
	clash := slices.ContainsFunc(s.base, func(b *Rule) bool { return b.ID == id }) ||
		slices.ContainsFunc(s.corrs, func(b *Correlation) bool { return b.ID == id })
	t := s.tenant(tenantID)
	_, replace := t.sources[id]
	count := len(t.sources)
	custom := slices.DeleteFunc(slices.Clone(t.custom), func(x *Rule) bool { return x.ID == id })
	srcs := maps.Clone(t.corrSrcs)
	delete(srcs, id)
	if r != nil {
		custom = append(custom, r)
	} else {
		srcs[id] = src
	}
	var ok []*Correlation
	var broken map[string]*brokenCorr
	if !clash {
		ok, broken = s.resolveCustom(custom, srcs)
	}
	wasBroken := maps.Clone(t.broken)
	s.mu.Unlock()

	if clash {
		return RuleInfo{}, &RuleError{Line: keyLine(src, "id"), Reason: fmt.Sprintf("id %s is a built-in rule's id", id)}
	}
	if !replace && count >= MaxCustomRules {
		return RuleInfo{}, &RuleError{Reason: fmt.Sprintf("the tenant has %d custom rules, the limit", MaxCustomRules)}
	}
	if b := broken[id]; b != nil {
		return RuleInfo{}, refusal(src, b.err)
	}
	if err := newlyBroken(broken, wasBroken, "replacing this rule"); err != nil {
		return RuleInfo{}, err
	}
	cr := store.CustomRule{TenantID: tenantID, ID: id, Title: title, Source: src, CreatedBy: by}
	if s.opts.Store != nil {
		if err := s.opts.Store.PutCustomRule(ctx, &cr); err != nil {
			return RuleInfo{}, err
		}
	}
	s.mu.Lock()
	t = s.tenant(tenantID)
	t.custom, t.corrSrcs, t.corrs, t.broken = custom, srcs, ok, broken
	t.sources[id] = cr
	t.engine = nil
	s.resetCorrelator(tenantID, t)
	s.mu.Unlock()
	ri, _, err := s.Rule(tenantID, id)
	if err != nil {
		return RuleInfo{}, err
	}
	return ri, s.audit(ctx, tenantID, "detect.rule.upload", "rule:"+id, map[string]string{"title": title})
}

// DeleteCustom removes a tenant's custom rule or correlation. A rule one
// of the tenant's correlations refers to is not deleted (RuleError).
func (s *Service) DeleteCustom(ctx context.Context, tenantID, id string) error {
	s.edit.Lock()
	defer s.edit.Unlock()
	s.mu.Lock()
	t := s.tenants[tenantID]
	var (
		ok     bool
		custom []*Rule
		srcs   map[string][]byte
		corrs  []*Correlation
		broken map[string]*brokenCorr
		was    map[string]*brokenCorr
	)
	if t != nil {
		_, ok = t.sources[id]
	}
	if ok {
		custom = slices.DeleteFunc(slices.Clone(t.custom), func(x *Rule) bool { return x.ID == id })
		srcs = maps.Clone(t.corrSrcs)
		delete(srcs, id)
		corrs, broken = s.resolveCustom(custom, srcs)
		was = maps.Clone(t.broken)
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownRule, id)
	}
	if err := newlyBroken(broken, was, "deleting this rule"); err != nil {
		return err
	}
	if s.opts.Store != nil {
		if err := s.opts.Store.DeleteCustomRule(ctx, tenantID, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	s.mu.Lock()
	t.custom, t.corrSrcs, t.corrs, t.broken = custom, srcs, corrs, broken
	delete(t.sources, id)
	t.engine = nil
	s.resetCorrelator(tenantID, t)
	s.mu.Unlock()
	return s.audit(ctx, tenantID, "detect.rule.delete", "rule:"+id, nil)
}

// newlyBroken refuses a change that leaves a correlation that resolved
// before without a rule it refers to.
func newlyBroken(now, before map[string]*brokenCorr, what string) error {
	for _, id := range slices.Sorted(maps.Keys(now)) {
		if _, was := before[id]; was {
			continue
		}
		return &RuleError{Reason: fmt.Sprintf("%s would break correlation %s (%s): %v", what, id, now[id].c.Title, now[id].err)}
	}
	return nil
}

// refusal is the RuleError of a correlation that does not resolve: on
// the line of the reference that failed when there is one.
func refusal(src []byte, err error) *RuleError {
	line := keyLine(src, "rules")
	var re *RefError
	if errors.As(err, &re) {
		if n := refLine(src, re.Ref); n > 0 {
			line = n
		}
	} else if n := errorLine(src, err); n > 1 {
		line = n
	}
	return &RuleError{Line: max(line, 1), Reason: err.Error()}
}

// refLine is the line of the correlation's reference to ref in its rules
// list, 0 when not found.
func refLine(src []byte, ref string) int {
	var root yaml.Node
	if yaml.Unmarshal(src, &root) != nil || len(root.Content) == 0 {
		return 0
	}
	_, corr := findKey(root.Content[0], "correlation", 0)
	if corr == nil {
		return 0
	}
	k, rules := findKey(corr, "rules", 0)
	if rules == nil {
		return 0
	}
	if rules.Kind == yaml.ScalarNode && rules.Value == ref {
		return rules.Line
	}
	for _, n := range rules.Content {
		if n.Kind == yaml.ScalarNode && n.Value == ref {
			return n.Line
		}
	}
	return k.Line
}

// corrClosure is c with every correlation it refers to, directly or
// through others, and the detection rules at the end of the chains.
func corrClosure(c *Correlation) ([]*Correlation, []*Rule) {
	var (
		corrs []*Correlation
		rules []*Rule
	)
	var walk func(c *Correlation)
	walk = func(c *Correlation) {
		if slices.Contains(corrs, c) {
			return
		}
		corrs = append(corrs, c)
		for _, src := range c.srcs {
			switch x := src.(type) {
			case *Rule:
				if !slices.Contains(rules, x) {
					rules = append(rules, x)
				}
			case *Correlation:
				walk(x)
			}
		}
	}
	walk(c)
	return corrs, rules
}

// testCorrelation resolves a pasted correlation against the tenant's
// rules for a test run. Call with s.mu held.
func (s *Service) testCorrelation(tenantID string, c *Correlation, src []byte) (*Correlation, error) {
	var custom []*Rule
	var fixed []*Correlation
	if t := s.tenants[tenantID]; t != nil {
		custom = t.custom
		fixed = slices.DeleteFunc(slices.Clone(t.corrs), func(x *Correlation) bool { return x.ID == c.ID })
	}
	ok, errs := resolveCorrelations(slices.Concat(s.base, custom), slices.Concat(s.corrs, fixed), []*Correlation{c})
	if len(errs) > 0 {
		return nil, refusal(src, errs[0].Reason)
	}
	return ok[0], nil
}

// ownStates picks the snapshots this node restores: its own (NodeID),
// and, for a tenant it has none of, the one saved before snapshots were
// kept per node (node "").
func (s *Service) ownStates(states []store.CorrelationState) []store.CorrelationState {
	own := map[string]bool{}
	for _, st := range states {
		if st.NodeID == s.opts.NodeID {
			own[st.TenantID] = true
		}
	}
	var out []store.CorrelationState
	for _, st := range states {
		if st.NodeID == s.opts.NodeID || st.NodeID == "" && !own[st.TenantID] {
			out = append(out, st)
		}
	}
	return out
}

// customCorr is the tenant's custom correlation with the key, or nil.
// Call with s.mu held.
func customCorr(t *tenantRules, key string) *Correlation {
	if t == nil {
		return nil
	}
	for _, c := range t.corrs {
		if corrKey(c) == key {
			return c
		}
	}
	return nil
}
