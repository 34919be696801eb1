package detect

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CorrelationType is the type of a Sigma correlation rule.
type CorrelationType string

// The correlation types the Correlator evaluates.
const (
	EventCount      CorrelationType = "event_count"
	ValueCount      CorrelationType = "value_count"
	Temporal        CorrelationType = "temporal"
	TemporalOrdered CorrelationType = "temporal_ordered"
	ValueSum        CorrelationType = "value_sum"
	ValueAvg        CorrelationType = "value_avg"
)

// maxTimespan bounds a correlation's timespan (and so the state it keeps).
const maxTimespan = 366 * 24 * time.Hour

// Comparison is one criterion of a correlation condition: the aggregate
// compared with Value by Op (gt, gte, lt, lte, eq or neq).
type Comparison struct {
	Op    string
	Value float64
}

func (c Comparison) holds(x float64) bool {
	switch c.Op {
	case "gt":
		return x > c.Value
	case "gte":
		return x >= c.Value
	case "lt":
		return x < c.Value
	case "lte":
		return x <= c.Value
	case "eq":
		return x == c.Value
	case "neq":
		return x != c.Value
	}
	return false
}

// Correlation is a compiled Sigma correlation (meta) rule. It refers to
// detection rules or other correlations by id or name; those references
// are bound by ResolveCorrelations once the whole rule set is loaded.
type Correlation struct {
	ID          string
	Name        string
	Title       string
	Status      string
	Level       string
	Description string
	Tags        []string
	// Path is the file the rule came from, relative to the loaded root.
	Path string

	Type CorrelationType
	// Rules are the referenced rule ids or names, as written.
	Rules   []string
	GroupBy []string
	// Timespan is the window within which the referenced rules must
	// match.
	Timespan time.Duration
	// Field is the aggregated field of value_count, value_sum and
	// value_avg.
	Field string
	// Condition holds the criteria, all of which must hold. For temporal
	// it compares the number of distinct referenced rules seen in the
	// window and defaults to all of them; temporal_ordered takes none.
	Condition []Comparison
	// Aliases maps an alias name to, per referenced rule (by the name or
	// id used in Rules), the event field it stands for.
	Aliases map[string]map[string]string
	// Generate says the referenced rules also alert on their own.
	Generate bool

	// srcs are the resolved references, parallel to Rules: a *Rule or a
	// *Correlation.
	srcs []any
}

// ParseCorrelation compiles one Sigma correlation rule document. Every
// construct it cannot evaluate is an error naming the reason. References
// stay unresolved until ResolveCorrelations.
func ParseCorrelation(data []byte) (c *Correlation, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("internal error parsing correlation: %v", p)
		}
	}()
	doc, err := decodeDoc(data)
	if err != nil {
		return nil, err
	}
	corr, ok := doc["correlation"].(map[string]any)
	if !ok {
		return nil, errors.New("correlation is missing or not a mapping")
	}
	if _, ok := doc["detection"]; ok {
		return nil, errors.New("a correlation rule must not have a detection section")
	}
	h, err := readHeader(doc)
	if err != nil {
		return nil, err
	}
	c = &Correlation{ID: h.id, Name: h.name, Title: h.title, Status: h.status, Level: h.level,
		Description: h.description, Tags: h.tags}
	for _, k := range sortedKeys(corr) {
		switch k {
		case "type", "rules", "group-by", "timespan", "timeframe", "condition", "aliases", "generate":
		default:
			return nil, fmt.Errorf("correlation: unknown attribute %q", k)
		}
	}
	if g, ok := doc["generate"]; ok {
		// generate sits at the top level in the specification; some
		// writers put it under correlation, which is accepted too.
		if c.Generate, ok = g.(bool); !ok {
			return nil, errors.New("generate is not a boolean")
		}
	}
	if g, ok := corr["generate"]; ok {
		if c.Generate, ok = g.(bool); !ok {
			return nil, errors.New("correlation: generate is not a boolean")
		}
	}
	typ, _ := corr["type"].(string)
	c.Type = CorrelationType(typ)
	switch c.Type {
	case EventCount, ValueCount, Temporal, TemporalOrdered, ValueSum, ValueAvg:
	case "value_percentile", "value_median":
		return nil, fmt.Errorf("correlation type %s is not supported", typ)
	case "":
		return nil, errors.New("correlation has no type")
	default:
		return nil, fmt.Errorf("unknown correlation type %q", typ)
	}
	if c.Rules, err = stringsOf(corr["rules"], "rules"); err != nil {
		return nil, err
	}
	if len(c.Rules) == 0 {
		return nil, errors.New("correlation: rules is empty")
	}
	if c.Type != TemporalOrdered {
		for i, r := range c.Rules {
			if slices.Contains(c.Rules[:i], r) {
				return nil, fmt.Errorf("correlation: rule %q is listed twice", r)
			}
		}
	}
	if (c.Type == Temporal || c.Type == TemporalOrdered) && len(c.Rules) < 2 {
		return nil, fmt.Errorf("correlation: %s needs at least two rules", c.Type)
	}
	if gb, ok := corr["group-by"]; ok {
		if c.GroupBy, err = stringsOf(gb, "group-by"); err != nil {
			return nil, err
		}
	}
	ts, ok := corr["timespan"]
	if !ok {
		ts = corr["timeframe"]
	}
	tss, ok := ts.(string)
	if !ok {
		return nil, errors.New("correlation: timespan is missing or not a string")
	}
	if c.Timespan, err = parseTimespan(tss); err != nil {
		return nil, err
	}
	if err := c.parseCondition(corr["condition"]); err != nil {
		return nil, err
	}
	if err := c.parseAliases(corr["aliases"]); err != nil {
		return nil, err
	}
	return c, nil
}

func stringsOf(x any, what string) ([]string, error) {
	switch v := x.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("correlation: %s holds a non-string or empty entry", what)
			}
			out = append(out, s)
		}
		return out, nil
	case nil:
		return nil, fmt.Errorf("correlation: %s is missing", what)
	}
	return nil, fmt.Errorf("correlation: %s is not a list of strings", what)
}

// parseTimespan reads a number followed by s, m, h or d.
func parseTimespan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("correlation: invalid timespan %q", s)
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	default:
		return 0, fmt.Errorf("correlation: timespan %q: unit must be s, m, h or d", s)
	}
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("correlation: invalid timespan %q", s)
	}
	if n > uint64(maxTimespan/unit) {
		return 0, fmt.Errorf("correlation: timespan %q longer than %v", s, maxTimespan)
	}
	return time.Duration(n) * unit, nil // #nosec G115 -- bounded by maxTimespan above
}

func (c *Correlation) parseCondition(raw any) error {
	if raw == nil {
		switch c.Type {
		case Temporal, TemporalOrdered:
			return nil
		}
		return errors.New("correlation: condition is missing")
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return errors.New("correlation: condition is not a mapping")
	}
	if c.Type == TemporalOrdered {
		return errors.New("correlation: a condition on temporal_ordered is not supported (every rule must match in order)")
	}
	for _, k := range sortedKeys(m) {
		switch k {
		case "field":
			f, ok := m[k].(string)
			if !ok || f == "" {
				return errors.New("correlation: condition field is not a string")
			}
			c.Field = f
		case "gt", "gte", "lt", "lte", "eq", "neq":
			var x float64
			switch v := m[k].(type) {
			case int:
				x = float64(v)
			case float64:
				x = v
			default:
				return fmt.Errorf("correlation: condition %s is not a number", k)
			}
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("correlation: condition %s is not a finite number", k)
			}
			c.Condition = append(c.Condition, Comparison{Op: k, Value: x})
		case "percentile":
			return errors.New("correlation: condition percentile is not supported")
		default:
			return fmt.Errorf("correlation: unknown condition key %q", k)
		}
	}
	if len(c.Condition) == 0 {
		return errors.New("correlation: condition has no comparison")
	}
	switch c.Type {
	case ValueCount, ValueSum, ValueAvg:
		if c.Field == "" {
			return fmt.Errorf("correlation: %s needs a condition field", c.Type)
		}
	default:
		if c.Field != "" {
			return fmt.Errorf("correlation: condition field is not allowed for %s", c.Type)
		}
	}
	return nil
}

func (c *Correlation) parseAliases(raw any) error {
	if raw == nil {
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return errors.New("correlation: aliases is not a mapping")
	}
	c.Aliases = make(map[string]map[string]string, len(m))
	for _, alias := range sortedKeys(m) {
		per, ok := m[alias].(map[string]any)
		if !ok || len(per) == 0 {
			return fmt.Errorf("correlation: alias %q is not a mapping of rule to field", alias)
		}
		fields := make(map[string]string, len(per))
		for _, rule := range sortedKeys(per) {
			f, ok := per[rule].(string)
			if !ok || f == "" {
				return fmt.Errorf("correlation: alias %q: field for %q is not a string", alias, rule)
			}
			if !slices.Contains(c.Rules, rule) {
				return fmt.Errorf("correlation: alias %q names rule %q, which the correlation does not reference", alias, rule)
			}
			fields[rule] = f
		}
		c.Aliases[alias] = fields
	}
	return nil
}

// fieldFor is the event field behind a group-by name (or the condition
// field) for events of the i-th referenced rule, after aliases.
func (c *Correlation) fieldFor(name string, i int) string {
	if per, ok := c.Aliases[name]; ok {
		if f, ok := per[c.Rules[i]]; ok {
			return f
		}
	}
	return name
}

// ResolveCorrelations binds the references of corrs to the rules and
// correlations by id or name. It returns the correlations that resolved
// and a load error for each that did not: an unknown or ambiguous
// reference, a reference to a rejected correlation, a cycle, or (for a
// chained correlation) a group-by or field the referenced correlation
// does not produce. Call it once the whole rule set is loaded.
func ResolveCorrelations(rules []*Rule, corrs []*Correlation) ([]*Correlation, []*LoadError) {
	return resolveCorrelations(rules, nil, corrs)
}

// resolveCorrelations is ResolveCorrelations where corrs may also refer
// to the fixed correlations, which are already resolved and are left
// as they are.
func resolveCorrelations(rules []*Rule, fixed, corrs []*Correlation) ([]*Correlation, []*LoadError) {
	byKey := make(map[string][]any)
	add := func(k string, x any) {
		if k != "" && !slices.Contains(byKey[k], x) {
			byKey[k] = append(byKey[k], x)
		}
	}
	for _, r := range rules {
		add(r.ID, r)
		add(r.Name, r)
	}
	for _, c := range fixed {
		add(c.ID, c)
		add(c.Name, c)
	}
	for _, c := range corrs {
		add(c.ID, c)
		add(c.Name, c)
	}
	bad := make(map[*Correlation]error)
	for _, c := range corrs {
		c.srcs = make([]any, len(c.Rules))
		for i, ref := range c.Rules {
			cands := byKey[ref]
			switch {
			case len(cands) == 0:
				bad[c] = &RefError{Ref: ref, msg: fmt.Sprintf("correlation: unknown rule %q", ref)}
			case len(cands) > 1:
				bad[c] = &RefError{Ref: ref, msg: fmt.Sprintf("correlation: rule %q is ambiguous (%d rules have that id or name)", ref, len(cands))}
			case cands[0] == any(c):
				bad[c] = fmt.Errorf("correlation: refers to itself")
			default:
				c.srcs[i] = cands[0]
			}
			if bad[c] != nil {
				break
			}
		}
	}
	// Cycles: depth-first over correlation references.
	const (
		unseen = iota
		active
		done
	)
	state := make(map[*Correlation]int)
	for _, c := range fixed {
		state[c] = done
	}
	var visit func(c *Correlation) bool
	visit = func(c *Correlation) bool {
		switch state[c] {
		case active:
			return false
		case done:
			return true
		}
		state[c] = active
		ok := true
		for _, s := range c.srcs {
			if sc, isCorr := s.(*Correlation); isCorr && !visit(sc) {
				ok = false
			}
		}
		state[c] = done
		if !ok && bad[c] == nil {
			bad[c] = errors.New("correlation: references form a cycle")
		}
		return ok
	}
	for _, c := range corrs {
		visit(c)
	}
	// Chained correlations only see the group-by values of the
	// correlation they refer to.
	for _, c := range corrs {
		for i, s := range c.srcs {
			sc, isCorr := s.(*Correlation)
			if !isCorr || bad[c] != nil {
				continue
			}
			for _, g := range c.GroupBy {
				if f := c.fieldFor(g, i); !slices.Contains(sc.GroupBy, f) {
					bad[c] = fmt.Errorf("correlation: group-by %q: referenced correlation %q does not group by %q", g, c.Rules[i], f)
				}
			}
			if c.Field != "" && !slices.Contains(sc.GroupBy, c.fieldFor(c.Field, i)) {
				bad[c] = fmt.Errorf("correlation: field %q: referenced correlation %q does not group by it", c.Field, c.Rules[i])
			}
		}
	}
	// A correlation referring to a rejected one is rejected too.
	for changed := true; changed; {
		changed = false
		for _, c := range corrs {
			if bad[c] != nil {
				continue
			}
			for i, s := range c.srcs {
				if sc, isCorr := s.(*Correlation); isCorr && bad[sc] != nil {
					bad[c] = fmt.Errorf("correlation: referenced correlation %q was rejected", c.Rules[i])
					changed = true
					break
				}
			}
		}
	}
	var ok []*Correlation
	var errs []*LoadError
	for _, c := range corrs {
		if err := bad[c]; err != nil {
			c.srcs = nil
			errs = append(errs, &LoadError{Path: c.Path, Reason: err})
			continue
		}
		ok = append(ok, c)
	}
	return ok, errs
}

// String names the correlation for messages.
func (c *Correlation) String() string {
	var b strings.Builder
	b.WriteString(string(c.Type))
	b.WriteString(" ")
	if c.ID != "" {
		b.WriteString(c.ID)
	} else {
		b.WriteString(c.Title)
	}
	return b.String()
}
