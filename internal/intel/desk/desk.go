// Package desk is the threat intelligence desk of a running Vigil: what
// the feeds last gave (indicators, advisories) with each feed's health,
// the early warnings of one tenant (recent advisories matched against its
// assets and findings, and indicators sighted in its events), and the
// TAXII 2.1 collections Vigil shares with its customers' tools.
//
// The application loads the feeds and hands the results to the desk; the
// desk keeps them in memory on every node, like the matcher.
package desk

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/store"
)

// Feed kinds.
const (
	KindIndicators = "indicators" // intel_feeds
	KindAdvisories = "advisories" // advisory_feeds
	KindKEV        = "kev"        // kev_source
	KindEPSS       = "epss"       // epss_source
)

// FeedStatus is the health of one configured feed.
type FeedStatus struct {
	Name        string // the source as shown: a URL's host and path, or a file name
	Kind        string
	Format      string
	LastAttempt time.Time
	LastSuccess time.Time
	Took        time.Duration
	Items       int // indicators, advisories, KEV entries or EPSS scores kept
	Rejected    int // objects refused at the last success
	Error       string
}

// Healthy reports whether the last attempt succeeded.
func (s FeedStatus) Healthy() bool { return s.Error == "" && !s.LastSuccess.IsZero() }

// Stale reports whether the feed has not loaded for more than twice the
// refresh interval.
func (s FeedStatus) Stale(now time.Time, refresh time.Duration) bool {
	return s.LastSuccess.IsZero() || now.Sub(s.LastSuccess) > 2*refresh
}

// Options configure a Desk.
type Options struct {
	// Window is how far back an advisory counts as an early warning and
	// sightings are listed (default 30 days).
	Window time.Duration
	// MaxWarnings bounds the recent advisories matched per tenant, newest
	// first (default 200): matching costs assets × advisories.
	MaxWarnings int
	// CacheFor keeps a tenant's warnings this long (default 5 minutes);
	// a feed load clears the cache.
	CacheFor time.Duration
	// Now is the clock (tests).
	Now func() time.Time
	// Audit records analyst advisories being written, published and
	// withdrawn; nil records nothing.
	Audit *audit.Log
}

// Desk holds the loaded intelligence; it is safe for concurrent use.
type Desk struct {
	opts Options
	st   store.Store

	mu         sync.RWMutex
	feeds      map[string]FeedStatus // by kind + "\x00" + name
	advisories []hunt.Advisory       // feeds' and analysts', newest first
	fromFeeds  []hunt.Advisory       // the last feed load's
	analyst    []hunt.Advisory       // published analyst advisories
	indicators []intel.Indicator
	shared     []sharedEntry // the curated TAXII collection
	loadedAt   time.Time
	gen        int
	cache      map[string]cached
}

type cached struct {
	gen      int
	at       time.Time
	warnings []hunt.AdvisoryMatch
}

// New returns an empty desk over the store.
func New(st store.Store, opts Options) *Desk {
	if opts.Window <= 0 {
		opts.Window = 30 * 24 * time.Hour
	}
	if opts.MaxWarnings <= 0 {
		opts.MaxWarnings = 200
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Desk{opts: opts, st: st, feeds: map[string]FeedStatus{}, cache: map[string]cached{}}
}

// Window is how far back warnings and sightings reach.
func (d *Desk) Window() time.Duration { return d.opts.Window }

// SourceName shows a configured source without credentials or query: a
// URL's host and path, or a file's base name.
func SourceName(src string) string {
	if rest, ok := strings.CutPrefix(src, "https://"); ok {
		src = rest
	} else if rest, ok := strings.CutPrefix(src, "http://"); ok {
		src = rest
	} else if i := strings.LastIndexAny(src, `/\`); i >= 0 {
		return src[i+1:]
	}
	if at := strings.LastIndex(src, "@"); at >= 0 && at < strings.IndexByte(src+"/", '/') {
		src = src[at+1:]
	}
	if i := strings.IndexAny(src, "?#"); i >= 0 {
		src = src[:i]
	}
	return src
}

// Record notes the outcome of one feed load; err nil is a success with
// items kept and rejected refused.
func (d *Desk) Record(kind, source, format string, started time.Time, items, rejected int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := SourceName(source)
	k := kind + "\x00" + name
	s := d.feeds[k]
	s.Name, s.Kind, s.LastAttempt, s.Took = name, kind, started, d.opts.Now().Sub(started)
	if err != nil {
		s.Error = clip(err.Error(), 300)
	} else {
		s.Error, s.LastSuccess, s.Items, s.Rejected = "", started, items, rejected
		if format != "" {
			s.Format = format
		}
	}
	d.feeds[k] = s
}

// Feeds lists the feeds' health, by kind then name.
func (d *Desk) Feeds() []FeedStatus {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]FeedStatus, 0, len(d.feeds))
	for _, s := range d.feeds {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b FeedStatus) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name))
	})
	return out
}

// SetIntel replaces the loaded advisories and indicators (nil keeps what
// was there, so a failed feed keeps serving the last good load) and clears
// the tenants' cached warnings.
func (d *Desk) SetIntel(advisories []hunt.Advisory, indicators []intel.Indicator) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if advisories != nil {
		d.fromFeeds = slices.Clone(advisories)
		d.mergeAdvisories()
	}
	d.loadedAt = d.opts.Now()
	if indicators != nil {
		d.indicators = indicators
		d.shareIndicators(indicators, d.loadedAt)
	}
	d.gen++
	clear(d.cache)
}

// Advisories returns the loaded advisories, newest first.
func (d *Desk) Advisories() []hunt.Advisory {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.advisories
}

// Advisory returns one loaded advisory by id.
func (d *Desk) Advisory(id string) (hunt.Advisory, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i := slices.IndexFunc(d.advisories, func(a hunt.Advisory) bool { return a.ID == id })
	if i < 0 {
		return hunt.Advisory{}, false
	}
	return d.advisories[i], true
}

// Warnings are the recent advisories (published within the window, at
// most MaxWarnings, newest first) that concern the tenant: each with the
// findings and assets it matched. The result is cached per tenant.
func (d *Desk) Warnings(ctx context.Context, tenantID string) ([]hunt.AdvisoryMatch, error) {
	now := d.opts.Now()
	d.mu.RLock()
	c, ok := d.cache[tenantID]
	gen := d.gen
	var recent []hunt.Advisory
	if !ok || c.gen != gen || now.Sub(c.at) > d.opts.CacheFor {
		since := now.Add(-d.opts.Window)
		for _, a := range d.advisories {
			if len(recent) >= d.opts.MaxWarnings || (!a.Published.IsZero() && a.Published.Before(since)) {
				break // newest first: the rest is older
			}
			recent = append(recent, a)
		}
	}
	d.mu.RUnlock()
	if ok && c.gen == gen && now.Sub(c.at) <= d.opts.CacheFor {
		return c.warnings, nil
	}
	ms, err := hunt.MatchMany(ctx, d.st, tenantID, recent, hunt.MatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("intel desk: warnings: %w", err)
	}
	out := []hunt.AdvisoryMatch{}
	for _, m := range ms {
		if len(m.Findings) > 0 || len(m.Assets) > 0 {
			out = append(out, m)
		}
	}
	d.mu.Lock()
	if d.gen == gen {
		d.cache[tenantID] = cached{gen: gen, at: now, warnings: out}
	}
	d.mu.Unlock()
	return out, nil
}

// Sightings are the tenant's threat intelligence alerts (live matches and
// retro-hunts) active within the window, newest first, at most limit.
func (d *Desk) Sightings(ctx context.Context, tenantID string, limit int) ([]store.Alert, int, error) {
	f := store.AlertFilter{RulePrefix: hunt.RulePrefix, Since: d.opts.Now().Add(-d.opts.Window),
		Page: store.Page{Limit: min(max(limit, 1), store.MaxPageSize)}}
	as, err := d.st.Alerts().List(ctx, tenantID, f)
	if err != nil {
		return nil, 0, fmt.Errorf("intel desk: sightings: %w", err)
	}
	n, err := d.st.Alerts().Count(ctx, tenantID, f)
	if err != nil {
		return nil, 0, fmt.Errorf("intel desk: sightings: %w", err)
	}
	return as, n, nil
}

// Loaded tells when the intelligence was last replaced and how many
// indicators and advisories it holds.
func (d *Desk) Loaded() (at time.Time, indicators, advisories int) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.loadedAt, len(d.indicators), len(d.advisories)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
