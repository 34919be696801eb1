package detect

import (
	"encoding/json"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default bounds of a Correlator's state.
const (
	DefaultMaxGroups  = 10000
	DefaultMaxEntries = 10000
)

// CorrelatorOptions configure a Correlator.
type CorrelatorOptions struct {
	// MaxGroups caps the group-by value combinations kept per
	// correlation (default DefaultMaxGroups). A match that would open a
	// group beyond the cap, after expired groups are swept, is dropped
	// and counted.
	MaxGroups int
	// MaxEntries caps the matches kept per group for event_count,
	// value_count, value_sum and value_avg (default DefaultMaxEntries);
	// beyond it the oldest are dropped and counted.
	MaxEntries int
	// Logger receives a warning the first time a correlation drops
	// state. Nil discards.
	Logger *slog.Logger
}

// CorrelationAlert is one firing of a correlation rule.
type CorrelationAlert struct {
	RuleID    string          `json:"rule_id"`
	RuleTitle string          `json:"rule_title"`
	Level     string          `json:"level"`
	Type      CorrelationType `json:"type"`
	Tags      []string        `json:"tags"`
	// Group holds the group-by values, by group-by name.
	Group map[string]string `json:"group"`
	// Rules are the ids (or names, or titles, when a rule has none) of
	// the referenced rules whose matches contributed, in reference order.
	Rules []string `json:"rules"`
	// Count is the aggregate the condition was checked on: events for
	// event_count, distinct values for value_count, distinct rules for
	// temporal and temporal_ordered, matches for value_sum and value_avg.
	Count int `json:"count"`
	// Values are the distinct values of value_count, sorted.
	Values []string `json:"values,omitempty"`
	// Value is the sum or average of value_sum and value_avg.
	Value *float64  `json:"value,omitempty"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`

	corr *Correlation
}

// CorrelatorStats are counters of a Correlator.
type CorrelatorStats struct {
	// Groups is the number of live groups over all correlations.
	Groups int
	// DroppedMatches counts matches dropped because a correlation had
	// MaxGroups live groups.
	DroppedMatches uint64
	// DroppedEntries counts matches evicted from a full group.
	DroppedEntries uint64
	// LateEvents counts events whose time was before an earlier event's;
	// they are taken at the latest time seen.
	LateEvents uint64
	// NonNumeric counts value_sum and value_avg matches whose field was
	// missing or not a number; they are not aggregated.
	NonNumeric uint64
	// Replayed counts matches of an event ID the group had already
	// counted (a batch delivered again); they change nothing.
	Replayed uint64
}

// Correlator evaluates correlation rules over the matches of their
// referenced rules. Feed it every event's matches in time order with
// Process; it keeps, per correlation and combination of group-by values,
// the matches inside the correlation's timespan and reports a
// CorrelationAlert when the condition holds, then forgets that group's
// state (so a burst alerts once per threshold crossing, not once per
// further event). Conditions are checked whenever a match arrives, so lt,
// lte and neq criteria can hold on the first match of a group.
//
// The window is sliding: a match at time t sees the matches at times in
// [t-timespan, t]. Missing group-by fields group as the empty string. An
// event counts once per group for the counting types even when it matches
// several referenced rules; for temporal it counts for each rule it
// matches; for temporal_ordered every referenced rule needs its own
// event, in the listed order (an event matching two steps advances the
// chain by one).
// A correlation alert is itself a match for correlations that refer to
// its correlation (chaining), with its group values as fields and its
// last time as time.
//
// State lives in memory; Snapshot and Restore carry it over a restart. A
// Correlator is safe for concurrent use, but matches must arrive in time
// order.
type Correlator struct {
	mu    sync.Mutex
	opts  CorrelatorOptions
	corrs []*Correlation
	// refs maps a *Rule or *Correlation to the correlations referring to
	// it, with the index of the reference.
	refs  map[any][]corrRef
	state map[*Correlation]*corrState
	quiet map[any]bool
	clock time.Time
	stats CorrelatorStats
}

type corrRef struct {
	c *Correlation
	i int
}

type corrState struct {
	groups    map[string]*group
	lastSweep time.Time
	warned    bool
}

// group is the window of one correlation and group-by value combination.
type group struct {
	values []string
	last   time.Time
	// entries, oldest first (event_count and value_* types).
	entries  []entry
	distinct map[string]int // value_count: value -> entries holding it
	sum      float64
	// seen is, per referenced rule, the time of its latest match
	// (temporal) or the latest start of a chain through it
	// (temporal_ordered); zero means none.
	seen []time.Time
	// counted remembers the event IDs (with the reference index) this
	// group counted inside the window, so that a replayed event is not
	// counted twice; see replay.go.
	counted idSet
}

type entry struct {
	t    time.Time
	rule int
	s    string
	f    float64
}

// NewCorrelator builds a Correlator for resolved correlations (see
// ResolveCorrelations); unresolved ones are skipped.
func NewCorrelator(corrs []*Correlation, opts CorrelatorOptions) *Correlator {
	if opts.MaxGroups <= 0 {
		opts.MaxGroups = DefaultMaxGroups
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cr := &Correlator{
		opts:  opts,
		refs:  make(map[any][]corrRef),
		state: make(map[*Correlation]*corrState),
		quiet: make(map[any]bool),
	}
	generated := make(map[any]bool)
	for _, c := range corrs {
		if len(c.srcs) != len(c.Rules) {
			continue
		}
		cr.corrs = append(cr.corrs, c)
		cr.state[c] = &corrState{groups: make(map[string]*group)}
		for i, s := range c.srcs {
			cr.refs[s] = append(cr.refs[s], corrRef{c, i})
			if c.Generate {
				generated[s] = true
			} else {
				cr.quiet[s] = true
			}
		}
	}
	for s := range generated {
		delete(cr.quiet, s)
	}
	return cr
}

// Correlations returns the correlations the Correlator evaluates.
func (cr *Correlator) Correlations() []*Correlation { return cr.corrs }

// Standalone reports whether matches of rule r (or alerts of correlation
// r) should be reported on their own: false when r is referenced only by
// correlations that do not set generate.
func (cr *Correlator) Standalone(r any) bool { return !cr.quiet[r] }

// Stats returns the counters.
func (cr *Correlator) Stats() CorrelatorStats {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	st := cr.stats
	for _, s := range cr.state {
		st.Groups += len(s.groups)
	}
	return st
}

// Process takes the rules that matched ev at time t and returns the
// correlation alerts that fire, chained ones included (a chained alert
// follows the alert that fed it). t earlier than a previous call's time
// is taken as that time and counted as late.
func (cr *Correlator) Process(ev *Event, t time.Time, matched []*Rule) []*CorrelationAlert {
	return cr.ProcessEvent("", ev, t, matched)
}

// ProcessEvent is Process for an event with an ID: a group that already
// counted the ID inside its window (the same event delivered again, as
// when a batch is retried) ignores it, so replaying events changes no
// count and raises no alert. An empty id is never deduplicated.
func (cr *Correlator) ProcessEvent(id string, ev *Event, t time.Time, matched []*Rule) []*CorrelationAlert {
	if len(matched) == 0 {
		return nil
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if t.Before(cr.clock) {
		t = cr.clock
		cr.stats.LateEvents++
	}
	cr.clock = t
	srcs := make([]any, 0, len(matched))
	for _, r := range matched {
		srcs = append(srcs, r)
	}
	return cr.feed(id, ev, t, srcs, nil)
}

// feed applies one event, matched by srcs, to every correlation referring
// to one of them, and recursively feeds the alerts to chained ones.
func (cr *Correlator) feed(id string, ev *Event, t time.Time, srcs []any, out []*CorrelationAlert) []*CorrelationAlert {
	// Collect, per correlation, the reference indices this event hits.
	var order []*Correlation
	hits := make(map[*Correlation][]int)
	for _, s := range srcs {
		for _, ref := range cr.refs[s] {
			if _, ok := hits[ref.c]; !ok {
				order = append(order, ref.c)
			}
			hits[ref.c] = append(hits[ref.c], ref.i)
		}
	}
	for _, c := range order {
		idx := hits[c]
		// Highest index first, so one event never advances a
		// temporal_ordered chain by two steps.
		slices.Sort(idx)
		slices.Reverse(idx)
		// The same event counts once per group.
		done := make(map[string]bool, 1)
		for _, i := range idx {
			vals := make([]string, len(c.GroupBy))
			for g, name := range c.GroupBy {
				vals[g] = fieldString(ev, c.fieldFor(name, i))
			}
			key := strings.Join(vals, "\x00")
			once := c.Type != Temporal && c.Type != TemporalOrdered
			if once && done[key] {
				continue
			}
			done[key] = true
			if a := cr.apply(c, key, vals, i, id, ev, t); a != nil {
				out = append(out, a)
				if len(cr.refs[c]) > 0 {
					fields := make(map[string]any, len(a.Group))
					for k, v := range a.Group {
						fields[k] = v
					}
					out = cr.feed("", NewEvent(fields), a.Last, []any{c}, out)
				}
			}
		}
	}
	return out
}

// apply adds one match of the i-th reference of c to the group key and
// returns an alert when the condition holds.
func (cr *Correlator) apply(c *Correlation, key string, vals []string, i int, id string, ev *Event, t time.Time) *CorrelationAlert {
	st := cr.state[c]
	horizon := t.Add(-c.Timespan)
	if t.Sub(st.lastSweep) >= c.Timespan {
		st.sweep(horizon)
		st.lastSweep = t
	}
	g := st.groups[key]
	if g == nil {
		if len(st.groups) >= cr.opts.MaxGroups {
			st.sweep(horizon)
			st.lastSweep = t
		}
		if len(st.groups) >= cr.opts.MaxGroups {
			cr.stats.DroppedMatches++
			cr.warn(c, st, "correlation group limit reached; dropping matches")
			return nil
		}
		g = &group{values: vals}
		switch c.Type {
		case Temporal, TemporalOrdered:
			g.seen = make([]time.Time, len(c.Rules))
		case ValueCount:
			g.distinct = make(map[string]int)
		}
		st.groups[key] = g
	}
	if id != "" {
		g.counted.expire(horizon)
		if !g.counted.add(countedKey(id, i), t, cr.opts.MaxEntries) {
			cr.stats.Replayed++
			return nil
		}
	}
	g.last = t
	var a *CorrelationAlert
	switch c.Type {
	case Temporal:
		a = cr.applyTemporal(c, g, i, t, horizon)
	case TemporalOrdered:
		a = cr.applyOrdered(c, g, i, t, horizon)
	default:
		a = cr.applyWindow(c, st, g, i, ev, t, horizon)
	}
	if a != nil {
		if g.counted.len() == 0 {
			delete(st.groups, key)
		} else {
			// The group starts over but remembers the events it
			// counted, so a replay of them cannot fire it again.
			g.reset()
		}
	}
	return a
}

func (st *corrState) sweep(horizon time.Time) {
	for k, g := range st.groups {
		if g.last.Before(horizon) {
			delete(st.groups, k)
		}
	}
}

func (cr *Correlator) warn(c *Correlation, st *corrState, msg string) {
	if !st.warned {
		st.warned = true
		cr.opts.Logger.Warn(msg, "correlation", c.String(), "path", c.Path)
	}
}

func (cr *Correlator) applyWindow(c *Correlation, st *corrState, g *group, i int, ev *Event, t, horizon time.Time) *CorrelationAlert {
	e := entry{t: t, rule: i}
	switch c.Type {
	case ValueCount:
		e.s = fieldString(ev, c.fieldFor(c.Field, i))
	case ValueSum, ValueAvg:
		f, ok := fieldNumber(ev, c.fieldFor(c.Field, i))
		if !ok {
			cr.stats.NonNumeric++
			return nil
		}
		e.f = f
	}
	g.entries = append(g.entries, e)
	g.add(e)
	// Expire, then enforce the cap.
	n := 0
	for n < len(g.entries) && (g.entries[n].t.Before(horizon) || len(g.entries)-n > cr.opts.MaxEntries) {
		if !g.entries[n].t.Before(horizon) {
			cr.stats.DroppedEntries++
			cr.warn(c, st, "correlation group entry limit reached; dropping oldest matches")
		}
		g.remove(g.entries[n])
		n++
	}
	if n > 0 {
		g.entries = slices.Delete(g.entries, 0, n)
	}
	if len(g.entries) == 0 {
		return nil
	}
	var x float64
	switch c.Type {
	case EventCount, ValueSum, ValueAvg:
		x = float64(len(g.entries))
		if c.Type == ValueSum {
			x = g.sum
		} else if c.Type == ValueAvg {
			x = g.sum / float64(len(g.entries))
		}
	case ValueCount:
		x = float64(len(g.distinct))
	}
	if !conditionHolds(c.Condition, x) {
		return nil
	}
	a := cr.alert(c, g, g.entries[0].t, t)
	used := make([]bool, len(c.Rules))
	for _, e := range g.entries {
		used[e.rule] = true
	}
	a.Rules = c.ruleNames(used)
	a.Count = len(g.entries)
	switch c.Type {
	case ValueCount:
		a.Count = len(g.distinct)
		for v := range g.distinct {
			a.Values = append(a.Values, v)
		}
		slices.Sort(a.Values)
	case ValueSum, ValueAvg:
		v := x
		a.Value = &v
	}
	return a
}

func (g *group) add(e entry) {
	if g.distinct != nil {
		g.distinct[e.s]++
	}
	g.sum += e.f
}

func (g *group) remove(e entry) {
	if g.distinct != nil {
		if g.distinct[e.s]--; g.distinct[e.s] <= 0 {
			delete(g.distinct, e.s)
		}
	}
	g.sum -= e.f
}

func (cr *Correlator) applyTemporal(c *Correlation, g *group, i int, t, horizon time.Time) *CorrelationAlert {
	g.seen[i] = t
	used := make([]bool, len(c.Rules))
	n := 0
	first := t
	for j, s := range g.seen {
		if !s.IsZero() && !s.Before(horizon) {
			used[j] = true
			n++
			if s.Before(first) {
				first = s
			}
		}
	}
	cond := c.Condition
	if cond == nil {
		cond = []Comparison{{Op: "gte", Value: float64(len(c.Rules))}}
	}
	if !conditionHolds(cond, float64(n)) {
		return nil
	}
	a := cr.alert(c, g, first, t)
	a.Rules = c.ruleNames(used)
	a.Count = n
	return a
}

// applyOrdered keeps in seen[j] the latest start time of a chain of
// matches of references 0..j, in that order, inside the window; a later
// start is always at least as good, so one time per step suffices.
func (cr *Correlator) applyOrdered(c *Correlation, g *group, i int, t, horizon time.Time) *CorrelationAlert {
	for j, s := range g.seen {
		if !s.IsZero() && s.Before(horizon) {
			g.seen[j] = time.Time{}
		}
	}
	if i == 0 {
		g.seen[0] = t
	} else if start := g.seen[i-1]; !start.IsZero() && (g.seen[i].IsZero() || start.After(g.seen[i])) {
		g.seen[i] = start
	}
	if i != len(c.Rules)-1 || g.seen[i].IsZero() {
		return nil
	}
	a := cr.alert(c, g, g.seen[i], t)
	a.Rules = c.ruleNames(nil)
	a.Count = len(c.Rules)
	return a
}

func conditionHolds(cond []Comparison, x float64) bool {
	for _, cmp := range cond {
		if !cmp.holds(x) {
			return false
		}
	}
	return true
}

func (cr *Correlator) alert(c *Correlation, g *group, first, last time.Time) *CorrelationAlert {
	a := &CorrelationAlert{
		RuleID: c.ID, RuleTitle: c.Title, Level: c.Level, Type: c.Type, Tags: c.Tags,
		Group: make(map[string]string, len(c.GroupBy)),
		First: first, Last: last, corr: c,
	}
	for k, name := range c.GroupBy {
		a.Group[name] = g.values[k]
	}
	return a
}

// Correlation returns the rule that fired.
func (a *CorrelationAlert) Correlation() *Correlation { return a.corr }

// ruleNames lists the referenced rules marked in used (all when nil), by
// id, else name, else title.
func (c *Correlation) ruleNames(used []bool) []string {
	var out []string
	for i, s := range c.srcs {
		if used != nil && !used[i] {
			continue
		}
		var n string
		switch x := s.(type) {
		case *Rule:
			n = firstNonEmpty(x.ID, x.Name, x.Title)
		case *Correlation:
			n = firstNonEmpty(x.ID, x.Name, x.Title)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func fieldString(ev *Event, name string) string {
	v := ev.lookup(name)
	if v == nil || v.null {
		return ""
	}
	if v.elems != nil {
		b, _ := json.Marshal(v.raw)
		return string(b)
	}
	return v.s
}

func fieldNumber(ev *Event, name string) (float64, bool) {
	v := ev.lookup(name)
	if v == nil || v.null || v.elems != nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// timeFields are the event fields EventTime looks at, in order.
var timeFields = []string{
	"@timestamp", "timestamp", "UtcTime", "TimeCreated_SystemTime", "SystemTime", "TimeCreated", "EventTime", "time",
}

// EventTime returns an event's time from the first of its @timestamp,
// timestamp, UtcTime (Sysmon), TimeCreated (Windows, also as the
// SystemTime attribute), EventTime and time fields that holds a time:
// RFC 3339 text, "2006-01-02 15:04:05.999" (taken as UTC) or a number of
// Unix seconds (milliseconds when above 1e11).
func EventTime(ev *Event) (time.Time, bool) {
	for _, f := range timeFields {
		v := ev.lookup(f)
		if v == nil || v.null || v.elems != nil || v.s == "" {
			continue
		}
		if t, ok := parseEventTime(v); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

func parseEventTime(v *value) (time.Time, bool) {
	s := strings.TrimSpace(v.s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e15 {
		return time.Time{}, false
	}
	if f > 1e11 {
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}
