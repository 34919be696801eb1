// Package hunt owns the threat intelligence work that looks back and
// around rather than at the live event stream: the retro-hunt (stored
// events of a tenant matched against indicators that arrived after them),
// advisories (vulnerability and campaign notices from CISA KEV, STIX
// bundles or analysts) matched against a tenant's assets and findings, the
// version-range comparator those matches use, and the per-tenant
// intelligence report.
package hunt

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/store"
)

// Defaults and bounds of a retro-hunt.
const (
	// DefaultMaxEvents bounds the events one hunt reads.
	DefaultMaxEvents = 1_000_000
	// DefaultMaxSamples bounds the event IDs kept per indicator.
	DefaultMaxSamples = 10
	// maxHosts bounds the hosts listed per indicator.
	maxHosts = 100
	// maxIndicators bounds the indicators one hunt reports.
	maxIndicators = 10_000
	// maxAlertEvents bounds the event IDs one alert keeps, as the
	// pipeline does.
	maxAlertEvents = 100
	// maxAlertLookups bounds the alerts read to keep raising idempotent.
	maxAlertLookups = 5 * store.MaxPageSize
	// storeTimeStep is the resolution of stored event times.
	storeTimeStep = time.Microsecond
)

// Tag marks the alerts a retro-hunt raises.
const Tag = "retro-hunt"

// RulePrefix starts the rule ID of every threat intelligence alert, live or
// retro-hunt: "intel:<type>:<value>".
const RulePrefix = "intel:"

// RuleID is the alert rule ID of an indicator, the same as the pipeline's.
func RuleID(t intel.Type, value string) string {
	id := RulePrefix + string(t) + ":" + value
	if len(id) > 512 {
		id = id[:512]
	}
	return id
}

// Options configure a retro-hunt.
type Options struct {
	Logger *slog.Logger
	// PageSize is the events read per query (default and cap
	// store.MaxPageSize).
	PageSize int
	// MaxEvents bounds the events read (default DefaultMaxEvents); a hunt
	// that reaches it stops with Result.Truncated.
	MaxEvents int
	// MaxSamples bounds the event IDs kept per indicator (default
	// DefaultMaxSamples).
	MaxSamples int
	// Raise records each indicator's sightings on each host as one alert
	// tagged "retro-hunt". Raising the same window again changes nothing,
	// and sightings already in a live alert of the indicator are not
	// raised again.
	Raise bool
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PageSize <= 0 || o.PageSize > store.MaxPageSize {
		o.PageSize = store.MaxPageSize
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	return o
}

// IndicatorHits are the past sightings of one indicator.
type IndicatorHits struct {
	RuleID     string     `json:"rule_id"`
	Type       intel.Type `json:"type"`
	Value      string     `json:"value"`
	Sources    []string   `json:"sources,omitempty"`
	Tags       []string   `json:"tags,omitempty"`
	TLP        intel.TLP  `json:"tlp,omitempty"`
	Confidence int        `json:"confidence"` // highest after decay
	FirstSeen  time.Time  `json:"first_seen"`
	LastSeen   time.Time  `json:"last_seen"`
	Count      int        `json:"count"` // events it was seen in
	// Hosts are the hosts (or source addresses when the event names no
	// host) it was seen on, sorted, at most 100.
	Hosts []string `json:"hosts"`
	// HostEvents counts the events per host in Hosts.
	HostEvents     map[string]int `json:"host_events"`
	Fields         []string       `json:"fields"`
	SampleEventIDs []string       `json:"sample_event_ids"`

	byHost map[string]*hostHits
}

type hostHits struct {
	first, last time.Time
	count       int
	ids         []string
}

// Result is what a retro-hunt found.
type Result struct {
	TenantID string    `json:"tenant_id"`
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	// Scanned counts the events read; Matched those with a hit.
	Scanned int `json:"scanned"`
	Matched int `json:"matched"`
	// Hits are per indicator, most sightings first.
	Hits []IndicatorHits `json:"hits"`
	// Truncated is set when the hunt stopped at MaxEvents (the newest
	// events were read) or at 10,000 indicators.
	Truncated bool `json:"truncated,omitempty"`
	// AlertsRaised counts new alerts; AlertsKept counts indicator and
	// host pairs already raised for this window or covered by a live
	// alert.
	AlertsRaised int `json:"alerts_raised"`
	AlertsKept   int `json:"alerts_kept"`
}

// Hunt reads the tenant's events stored in [since, until), newest first, in
// pages, and matches each with m exactly as the pipeline does (the stored
// fields flattened with intel.FlattenEvent). Validity, decay and the
// allow-list are the matcher's, judged at the matcher's own clock. It
// stops at opts.MaxEvents or when ctx ends (returning ctx's error).
//
// Pages are read by time: each page ends where the previous one stopped,
// and the events of the boundary instant are read on their own, so events
// arriving during the hunt neither repeat nor hide others.
func Hunt(ctx context.Context, st store.Store, tenantID string, m *intel.Matcher, since, until time.Time, opts Options) (Result, error) {
	opts = opts.withDefaults()
	since, until = since.UTC(), until.UTC()
	res := Result{TenantID: tenantID, Since: since, Until: until}
	if tenantID == "" || m == nil {
		return res, fmt.Errorf("retro-hunt: %w: tenant and matcher are required", store.ErrInvalid)
	}
	if !until.After(since) {
		return res, fmt.Errorf("retro-hunt: %w: the window ends before it starts", store.ErrInvalid)
	}
	h := &hunter{m: m, opts: opts, res: &res, by: map[string]*IndicatorHits{}}
	evs := st.Events()
	cur := until
	for !h.full() {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("retro-hunt: %w", err)
		}
		page, err := evs.Search(ctx, tenantID, store.EventQuery{Since: since, Until: cur, Page: store.Page{Limit: opts.PageSize}})
		if err != nil {
			return res, fmt.Errorf("retro-hunt: %w", err)
		}
		if len(page) < opts.PageSize {
			h.scan(page)
			break
		}
		oldest := page[len(page)-1].Time
		i := len(page)
		for i > 0 && !page[i-1].Time.After(oldest) {
			i--
		}
		h.scan(page[:i])
		// Every event of the boundary instant, however many.
		for off := 0; !h.full(); off += opts.PageSize {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("retro-hunt: %w", err)
			}
			at, err := evs.Search(ctx, tenantID, store.EventQuery{Since: oldest, Until: oldest.Add(storeTimeStep),
				Page: store.Page{Limit: opts.PageSize, Offset: off}})
			if err != nil {
				return res, fmt.Errorf("retro-hunt: %w", err)
			}
			h.scan(at)
			if len(at) < opts.PageSize {
				break
			}
		}
		if !oldest.After(since) {
			break
		}
		cur = oldest
	}
	res.Hits = h.sorted()
	opts.Logger.InfoContext(ctx, "retro-hunt done", "tenant", tenantID, "since", since, "until", until,
		"scanned", res.Scanned, "matched", res.Matched, "indicators", len(res.Hits), "truncated", res.Truncated)
	if opts.Raise {
		if err := raise(ctx, st, &res, opts); err != nil {
			return res, err
		}
	}
	return res, nil
}

type hunter struct {
	m    *intel.Matcher
	opts Options
	res  *Result
	by   map[string]*IndicatorHits
}

func (h *hunter) full() bool { return h.res.Truncated }

func (h *hunter) scan(page []store.Event) {
	for i := range page {
		if h.res.Scanned >= h.opts.MaxEvents {
			h.res.Truncated = true
			return
		}
		h.res.Scanned++
		hits := h.m.Match(intel.FlattenEvent(page[i].Fields))
		if len(hits) == 0 {
			continue
		}
		h.res.Matched++
		h.record(&page[i], hits)
	}
}

// record adds an event's hits: one sighting per indicator per event, even
// when it matched several fields.
func (h *hunter) record(e *store.Event, hits []intel.Hit) {
	host := e.Host
	if host == "" {
		host = e.SourceIP
	}
	seen := map[string]bool{}
	for _, hit := range hits {
		in := hit.Indicator
		id := RuleID(in.Type, in.Value)
		ih := h.by[id]
		if ih == nil {
			if len(h.by) >= maxIndicators {
				h.res.Truncated = true
				continue
			}
			ih = &IndicatorHits{RuleID: id, Type: in.Type, Value: in.Value, TLP: in.TLP, byHost: map[string]*hostHits{}}
			h.by[id] = ih
		}
		ih.Confidence = max(ih.Confidence, hit.Confidence)
		if in.Source != "" && !slices.Contains(ih.Sources, in.Source) && len(ih.Sources) < 20 {
			ih.Sources = append(ih.Sources, in.Source)
		}
		for _, t := range in.Tags {
			if !slices.Contains(ih.Tags, t) && len(ih.Tags) < 20 {
				ih.Tags = append(ih.Tags, t)
			}
		}
		if !slices.Contains(ih.Fields, hit.Field) && len(ih.Fields) < 20 {
			ih.Fields = append(ih.Fields, hit.Field)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		ih.Count++
		if ih.FirstSeen.IsZero() || e.Time.Before(ih.FirstSeen) {
			ih.FirstSeen = e.Time
		}
		if e.Time.After(ih.LastSeen) {
			ih.LastSeen = e.Time
		}
		if len(ih.SampleEventIDs) < h.opts.MaxSamples {
			ih.SampleEventIDs = append(ih.SampleEventIDs, e.ID)
		}
		hh := ih.byHost[host]
		if hh == nil {
			if len(ih.byHost) >= maxHosts {
				continue
			}
			hh = &hostHits{first: e.Time, last: e.Time}
			ih.byHost[host] = hh
		}
		hh.count++
		hh.first = minTime(hh.first, e.Time)
		if e.Time.After(hh.last) {
			hh.last = e.Time
		}
		if len(hh.ids) < maxAlertEvents {
			hh.ids = append(hh.ids, e.ID)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (h *hunter) sorted() []IndicatorHits {
	out := make([]IndicatorHits, 0, len(h.by))
	for _, ih := range h.by {
		ih.HostEvents = make(map[string]int, len(ih.byHost))
		for host, hh := range ih.byHost {
			ih.Hosts = append(ih.Hosts, host)
			ih.HostEvents[host] = hh.count
		}
		slices.Sort(ih.Hosts)
		slices.Sort(ih.Fields)
		slices.Sort(ih.Sources)
		out = append(out, *ih)
	}
	slices.SortFunc(out, func(a, b IndicatorHits) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.RuleID, b.RuleID))
	})
	return out
}

// levelOf maps a confidence to an alert level, as the pipeline does.
func levelOf(conf int) string {
	switch {
	case conf >= 80:
		return "high"
	case conf >= 50:
		return "medium"
	}
	return "low"
}

// raise records the hunt's sightings as alerts: one per indicator and
// host, with the group key of the indicator, the host and the window, so
// a second hunt of the same window finds it and raises nothing.
func raise(ctx context.Context, st store.Store, res *Result, opts Options) error {
	window := fmt.Sprintf("%s/%s", res.Since.Format(time.RFC3339Nano), res.Until.Format(time.RFC3339Nano))
	for i := range res.Hits {
		ih := &res.Hits[i]
		existing, err := alertsOf(ctx, st, res.TenantID, ih.RuleID)
		if err != nil {
			return err
		}
		hosts := make([]string, 0, len(ih.byHost))
		for host := range ih.byHost {
			hosts = append(hosts, host)
		}
		slices.Sort(hosts)
		for _, host := range hosts {
			hh := ih.byHost[host]
			key := ih.RuleID + "|" + host + "|" + Tag + ":" + window
			ids := uncovered(existing, key, host, hh.ids)
			if ids == nil {
				res.AlertsKept++
				continue
			}
			title := fmt.Sprintf("Threat intelligence (retro-hunt): %s %s seen in past events", ih.Type, ih.Value)
			if len(ih.Sources) > 0 {
				title += " (" + strings.Join(ih.Sources, ", ") + ")"
			}
			tags := append([]string{"intel", Tag, "tlp:" + strings.ToLower(string(ih.TLP))}, ih.Tags...)
			a := store.Alert{TenantID: res.TenantID, GroupKey: key, RuleID: ih.RuleID, RuleTitle: clean(title),
				Level: levelOf(ih.Confidence), Tags: tags, Host: host, EventIDs: ids, Count: hh.count - (len(hh.ids) - len(ids)),
				Status: "new", FirstSeen: hh.first, LastSeen: hh.last}
			// The key is unique to this window: the raise cannot join an
			// alert of another one.
			created, err := st.Alerts().Raise(ctx, &a, res.Until.Sub(res.Since), []string{"new", "acknowledged"}, maxAlertEvents)
			if err != nil {
				return fmt.Errorf("retro-hunt: raise alert for %s: %w", ih.RuleID, err)
			}
			if created {
				res.AlertsRaised++
			} else {
				res.AlertsKept++
			}
		}
	}
	return nil
}

// alertsOf lists the tenant's alerts of one rule, any status.
func alertsOf(ctx context.Context, st store.Store, tenantID, ruleID string) ([]store.Alert, error) {
	var out []store.Alert
	for off := 0; off < maxAlertLookups; off += store.MaxPageSize {
		as, err := st.Alerts().List(ctx, tenantID, store.AlertFilter{RuleID: ruleID, Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, fmt.Errorf("retro-hunt: alerts of %s: %w", ruleID, err)
		}
		out = append(out, as...)
		if len(as) < store.MaxPageSize {
			break
		}
	}
	return out, nil
}

// uncovered returns the event IDs not yet in an alert of the indicator on
// host, or nil when the window's alert exists or every event is covered.
func uncovered(existing []store.Alert, key, host string, ids []string) []string {
	covered := map[string]bool{}
	for _, a := range existing {
		if a.GroupKey == key {
			return nil
		}
		if a.Host == host {
			for _, id := range a.EventIDs {
				covered[id] = true
			}
		}
	}
	var out []string
	for _, id := range ids {
		if !covered[id] {
			out = append(out, id)
		}
	}
	return out
}

// clean keeps text storable in both drivers: no NUL, valid UTF-8.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
