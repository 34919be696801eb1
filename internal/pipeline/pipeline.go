// Package pipeline owns what happens to log events after ingest: each
// batch is stored (once: a redelivered event is skipped), the new events
// are matched against the Sigma rules and the threat indicators, and every
// match raises an alert or
// joins the open alert of the same rule and host within the grouping
// window. It is a logs.Sink, so listeners can write to it directly or a
// durable spool can feed it.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/store"
)

// Defaults.
const (
	// DefaultWindow groups repeats of one rule on one host into one alert.
	DefaultWindow = 10 * time.Minute
	// maxAlertEvents bounds the event IDs one alert keeps.
	maxAlertEvents = 100
	maxMessage     = 2048
)

// OpenAlertStatuses are the alert states new matches may join.
func OpenAlertStatuses() []string { return []string{"new", "acknowledged"} }

// ErrNoTenant is a batch with an event no tenant owns.
var ErrNoTenant = errors.New("pipeline: event without a tenant")

// Pipeline stores events and raises alerts.
type Pipeline struct {
	store   store.Store
	rules   atomic.Pointer[detect.Engine]
	intel   atomic.Pointer[intel.Matcher]
	window  time.Duration
	onAlert func(ctx context.Context, a store.Alert) error
	logger  *slog.Logger
	now     func() time.Time

	stored, alerts, matched atomic.Int64
}

// Options configures a Pipeline.
type Options struct {
	Logger *slog.Logger
	// Rules is the detection engine; nil stores events without detection.
	Rules *detect.Engine
	// Intel matches events against threat indicators; nil skips it.
	Intel *intel.Matcher
	// OnAlert is told of every new alert (not of repeats joining one), to
	// notify people; its error is logged, never fails the batch.
	OnAlert func(ctx context.Context, a store.Alert) error
	Window  time.Duration
	Now     func() time.Time
}

// New returns a Pipeline.
func New(s store.Store, opts Options) *Pipeline {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	w := opts.Window
	if w <= 0 {
		w = DefaultWindow
	}
	p := &Pipeline{store: s, window: w, logger: l, now: now, onAlert: opts.OnAlert}
	if opts.Rules != nil {
		p.rules.Store(opts.Rules)
	}
	if opts.Intel != nil {
		p.intel.Store(opts.Intel)
	}
	return p
}

// SetIntel replaces the threat indicator matcher for the batches that
// follow.
func (p *Pipeline) SetIntel(m *intel.Matcher) { p.intel.Store(m) }

// SetRules replaces the detection engine for the batches that follow.
func (p *Pipeline) SetRules(e *detect.Engine) { p.rules.Store(e) }

// Stats are the pipeline's counters since start.
type Stats struct{ Stored, Matched, Alerts int64 }

// Stats returns the counters.
func (p *Pipeline) Stats() Stats {
	return Stats{Stored: p.stored.Load(), Matched: p.matched.Load(), Alerts: p.alerts.Load()}
}

var _ logs.Sink = (*Pipeline)(nil)

// clean makes text storable everywhere: PostgreSQL refuses NUL bytes and
// invalid UTF-8 in text and JSON.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

func cleanValue(v any) any {
	switch x := v.(type) {
	case string:
		return clean(x)
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = clean(s)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cleanValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[clean(k)] = cleanValue(e)
		}
		return out
	}
	return v
}

// isClean reports whether cleanValue would return v unchanged, so that
// the common case (valid UTF-8 without NUL) copies nothing.
func isClean(v any) bool {
	switch x := v.(type) {
	case string:
		return cleanString(x)
	case []string:
		for _, s := range x {
			if !cleanString(s) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !isClean(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range x {
			if !cleanString(k) || !isClean(e) {
				return false
			}
		}
	}
	return true
}

func cleanString(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func str(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if s, ok := v.(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

// toStore turns a parsed event into its stored form.
func toStore(e *logs.Event) store.Event {
	f := e.Fields
	if !isClean(f) {
		f = cleanValue(f).(map[string]any)
	}
	if f == nil {
		f = map[string]any{}
	}
	msg := str(f, "message", "event.original")
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	return store.Event{ID: e.ID, TenantID: e.Tenant, Time: e.Time, Received: e.Received, Source: clean(e.Source),
		Format: e.Format, Host: str(f, "host.name", "host.hostname", "Computer", "observer.hostname"),
		SourceIP: str(f, "source.ip", "client.ip"), User: str(f, "user.name", "User", "SubjectUserName"),
		Message: clean(msg), Fields: f, Original: clean(e.Original), Truncated: e.Truncated}
}

// Write stores a batch and raises the alerts of its new events. Nothing
// is acknowledged to the sender unless it returns nil.
func (p *Pipeline) Write(ctx context.Context, events []logs.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]store.Event, len(events))
	for i := range events {
		if events[i].Tenant == "" {
			return fmt.Errorf("%w (from %s)", ErrNoTenant, events[i].Source)
		}
		rows[i] = toStore(&events[i])
	}
	added, err := p.store.Events().Append(ctx, rows)
	if err != nil {
		return err
	}
	p.stored.Add(int64(len(added)))
	eng, ti := p.rules.Load(), p.intel.Load()
	if (eng == nil && ti == nil) || len(added) == 0 {
		return nil
	}
	fresh := make(map[string]bool, len(added))
	for _, id := range added {
		fresh[id] = true
	}
	var matched []*detect.Rule
	for i := range events {
		e := &events[i]
		if !fresh[e.ID] {
			continue
		}
		if ti != nil {
			for _, h := range ti.Match(intel.FlattenEvent(rows[i].Fields)) {
				p.matched.Add(1)
				if err := p.raiseIntel(ctx, e, &rows[i], h); err != nil {
					return err
				}
			}
		}
		if eng == nil {
			continue
		}
		matched = eng.MatchRaw(e.DetectFields(), matched[:0])
		for _, r := range matched {
			p.matched.Add(1)
			if err := p.raise(ctx, e, &rows[i], r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Pipeline) raise(ctx context.Context, e *logs.Event, row *store.Event, r *detect.Rule) error {
	level := strings.ToLower(r.Level)
	if level == "" {
		level = "medium"
	}
	return p.raiseAlert(ctx, e, row, r.ID, r.Title, level, slices.Clone(r.Tags))
}

// raiseIntel raises the alert of a threat indicator seen in an event: the
// rule is the indicator, its level follows the (decayed) confidence.
func (p *Pipeline) raiseIntel(ctx context.Context, e *logs.Event, row *store.Event, h intel.Hit) error {
	in := h.Indicator
	level := "low"
	switch {
	case h.Confidence >= 80:
		level = "high"
	case h.Confidence >= 50:
		level = "medium"
	}
	title := fmt.Sprintf("Threat intelligence: %s %s seen in %s", in.Type, clean(h.Value), h.Field)
	if in.Source != "" {
		title += " (" + clean(in.Source) + ")"
	}
	tags := append([]string{"intel", "tlp:" + strings.ToLower(string(in.TLP))}, in.Tags...)
	return p.raiseAlert(ctx, e, row, "intel:"+string(in.Type)+":"+clean(in.Value), title, level, tags)
}

func (p *Pipeline) raiseAlert(ctx context.Context, e *logs.Event, row *store.Event, ruleID, title, level string, tags []string) error {
	host := row.Host
	if host == "" {
		host = row.SourceIP
	}
	if len(ruleID) > 512 {
		ruleID = ruleID[:512]
	}
	a := store.Alert{TenantID: e.Tenant, GroupKey: ruleID + "|" + host, RuleID: ruleID, RuleTitle: title, Level: level,
		Tags: tags, Host: host, EventIDs: []string{e.ID}, Status: "new", FirstSeen: e.Time, LastSeen: e.Time}
	created, err := p.store.Alerts().Raise(ctx, &a, p.window, OpenAlertStatuses(), maxAlertEvents)
	if err != nil {
		return fmt.Errorf("raise alert for %s: %w", ruleID, err)
	}
	if created {
		p.alerts.Add(1)
		p.logger.InfoContext(ctx, "alert raised", "tenant", e.Tenant, "rule", title, "level", level, "host", host)
		if p.onAlert != nil {
			if err := p.onAlert(ctx, a); err != nil {
				p.logger.WarnContext(ctx, "alert not notified", "alert", a.ID, "err", err)
			}
		}
	}
	return nil
}
