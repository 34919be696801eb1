package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/intel/desk"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/vuln/enrich"
)

// feedTimeout bounds one download of a threat feed.
const feedTimeout = 2 * time.Minute

// openSource opens a feed: an http(s) URL or a file path.
func openSource(ctx context.Context, src string) (io.ReadCloser, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", "vigil/"+Version)
		resp, err := (&http.Client{Timeout: feedTimeout}).Do(req) // #nosec G107 -- the administrator configures the feed URL
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			_ = resp.Body.Close()
			return nil, fmt.Errorf("%s: HTTP %d", src, resp.StatusCode)
		}
		return resp.Body, nil
	}
	return os.Open(src) // #nosec G304 -- the administrator configures the feed file
}

// LoadFeeds loads the configured KEV, EPSS, intelligence and advisory
// feeds into the vulnerability service, the pipeline's matcher and the
// intelligence desk, recording each feed's health. A feed that fails keeps
// the previous one and is reported.
func (a *App) LoadFeeds(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, feedTimeout)
	defer cancel()
	var errs []error
	var kev *enrich.KEV
	var epss *enrich.EPSS
	if src := a.Config.KEVSource; src != "" {
		started := time.Now()
		r, err := openSource(ctx, src)
		if err == nil {
			kev, err = enrich.LoadKEV(r, enrich.Options{})
			_ = r.Close()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("kev_source: %w", err))
			a.Desk.Record(desk.KindKEV, src, "", started, 0, 0, err)
		} else {
			a.Logger.Info("KEV catalogue loaded", "entries", kev.Len(), "source", src)
			a.Desk.Record(desk.KindKEV, src, "cisa-kev", started, kev.Len(), 0, nil)
		}
	}
	if src := a.Config.EPSSSource; src != "" {
		started := time.Now()
		r, err := openSource(ctx, src)
		if err == nil {
			epss, err = enrich.LoadEPSS(r, enrich.Options{})
			_ = r.Close()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("epss_source: %w", err))
			a.Desk.Record(desk.KindEPSS, src, "", started, 0, 0, err)
		} else {
			a.Logger.Info("EPSS scores loaded", "scores", epss.Len(), "source", src)
			a.Desk.Record(desk.KindEPSS, src, "first-epss", started, epss.Len(), 0, nil)
		}
	}
	a.Vulns.SetFeeds(kev, epss)
	var ins []intel.Indicator
	if len(a.Config.IntelFeeds) > 0 {
		m, all, err := a.loadIntel(ctx)
		if err != nil {
			errs = append(errs, err)
		} else {
			a.Pipeline.SetIntel(m)
			a.Traffic.SetIntel(m)
			// Indicators new since the last load are looked for in the
			// events already stored (RetroHunt); the first load has no
			// "since".
			if a.intelLoaded {
				a.freshIntel = append(a.freshIntel, hunt.Fresh(a.intelIndicators, all)...)
			}
			a.intelIndicators, a.intelLoaded = all, true
			ins = all
		}
	}
	advs, err := a.loadAdvisories(ctx, kev)
	if err != nil {
		errs = append(errs, err)
	}
	a.Desk.SetIntel(advs, ins)
	if err := a.Desk.LoadAnalyst(ctx); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("feeds: %v", errs)
	}
	return nil
}

// loadAdvisories builds the advisories: the KEV catalogue's entries (when
// it loaded) and every advisory feed. A feed that fails is reported and
// the others are kept; nil means nothing to replace.
func (a *App) loadAdvisories(ctx context.Context, kev *enrich.KEV) ([]hunt.Advisory, error) {
	if kev == nil && len(a.Config.AdvisoryFeeds) == 0 {
		return nil, nil
	}
	var advs []hunt.Advisory
	if kev != nil {
		advs = hunt.FromKEV(kev)
	} else if a.Config.KEVSource != "" {
		// The KEV load failed: keep the KEV advisories of the last load.
		for _, adv := range a.Desk.Advisories() {
			if adv.Source == "cisa-kev" {
				advs = append(advs, adv)
			}
		}
	}
	var errs []error
	for _, src := range a.Config.AdvisoryFeeds {
		started := time.Now()
		got, rejected, format, err := readAdvisories(ctx, src)
		if err != nil {
			errs = append(errs, fmt.Errorf("advisory_feeds %s: %w", src, err))
			a.Desk.Record(desk.KindAdvisories, src, "", started, 0, 0, err)
			continue
		}
		for _, r := range rejected {
			a.Logger.Debug("advisory refused", "feed", src, "where", r.Where, "reason", r.Reason)
		}
		a.Desk.Record(desk.KindAdvisories, src, format, started, len(got), len(rejected), nil)
		advs = append(advs, got...)
	}
	return advs, errors.Join(errs...)
}

// readAdvisories reads one advisory feed: a STIX 2.1 bundle or Vigil's
// advisory JSON, told apart by the bundle's "type".
func readAdvisories(ctx context.Context, src string) ([]hunt.Advisory, []intel.Rejection, string, error) {
	r, err := openSource(ctx, src)
	if err != nil {
		return nil, nil, "", err
	}
	defer r.Close()
	br := bufio.NewReader(r)
	head, _ := br.Peek(4096)
	if bytes.Contains(head, []byte(`"bundle"`)) || bytes.Contains(head, []byte(`"spec_version"`)) {
		advs, rej, err := hunt.ParseSTIX(ctx, br)
		return advs, rej, "stix", err
	}
	advs, rej, err := hunt.DecodeAdvisories(ctx, br)
	return advs, rej, "vigil-advisory", err
}

// startFeedRefresh loads the feeds now and every FeedRefresh until ctx
// ends; every node keeps its own copy.
func (a *App) startFeedRefresh(ctx context.Context) func() error {
	noFeeds := a.Config.KEVSource == "" && a.Config.EPSSSource == "" && len(a.Config.IntelFeeds) == 0 && len(a.Config.AdvisoryFeeds) == 0
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(a.Config.FeedRefresh)
		defer t.Stop()
		for {
			if noFeeds {
				// Only the analysts' advisories, which another node may
				// have changed.
				if err := a.Desk.LoadAnalyst(ctx); err != nil && ctx.Err() == nil {
					a.Logger.Warn("analyst advisories not reloaded", "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				continue
			}
			if err := a.LoadFeeds(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("threat feeds not refreshed", "err", err)
			}
			if err := a.RetroHunt(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("retro-hunt", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() error { cancel(); wg.Wait(); return nil }
}

// expireDecisions reopens every tenant's risk acceptances and mitigations
// whose expiry has passed.
func (a *App) expireDecisions(ctx context.Context) error {
	ts, err := a.Store.Tenants().List(ctx)
	if err != nil {
		return err
	}
	ctx = asSystem(ctx)
	total := 0
	for _, t := range ts {
		n, err := a.Vulns.Expire(ctx, t.ID)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", t.Slug, err)
		}
		total += n
	}
	if total > 0 {
		a.Logger.Info("expired vulnerability decisions reopened", "count", total)
	}
	return nil
}

// discoveryJob is the payload of a discovery run job.
type discoveryJob struct {
	Tenant string `json:"tenant"`
	Run    string `json:"run"`
}

// enqueueDiscovery hands a discovery run to the workers.
func (a *App) enqueueDiscovery(ctx context.Context, tenantID, runID string) error {
	b, err := json.Marshal(discoveryJob{Tenant: tenantID, Run: runID})
	if err != nil {
		return err
	}
	return a.Bus.Enqueue(ctx, JobsQueue, bus.Message{Subject: JobDiscoveryRun, Data: b})
}

// runDiscovery runs one queued discovery run; a redelivered job finds the
// run started and does nothing.
func (a *App) runDiscovery(ctx context.Context, data []byte) error {
	var j discoveryJob
	if err := json.Unmarshal(data, &j); err != nil || j.Tenant == "" || j.Run == "" {
		a.Logger.Warn("malformed discovery job dropped", "err", err)
		return nil
	}
	ctx = asSystem(ctx)
	return a.Exposure.Run(ctx, j.Tenant, j.Run)
}

// loadIntel builds a matcher from every configured intelligence feed;
// objects a feed rejects are logged with their reason and left out. A feed
// that fails fails the load, so the previous matcher stays in place.
func (a *App) loadIntel(ctx context.Context) (*intel.Matcher, []intel.Indicator, error) {
	reg := intel.NewRegistry()
	m := intel.NewMatcher(intel.MatcherOptions{})
	var all []intel.Indicator
	for _, path := range a.Config.IntelFeeds {
		started := time.Now()
		f, err := reg.LoadPath(ctx, path, "", intel.ParseOptions{})
		if err != nil {
			a.Desk.Record(desk.KindIndicators, path, "", started, 0, 0, err)
			return nil, nil, fmt.Errorf("intel_feeds %s: %w", path, err)
		}
		for _, r := range f.Rejected {
			a.Logger.Debug("intel: object refused", "feed", path, "where", r.Where, "reason", r.Reason)
		}
		added := 0
		for _, in := range f.Indicators {
			if err := m.Add(in); err == nil {
				added++
				all = append(all, in)
			}
		}
		a.Desk.Record(desk.KindIndicators, path, f.Format, started, added, len(f.Rejected), nil)
		a.Logger.Info("intel feed loaded", "feed", path, "format", f.Format, "indicators", added, "rejected", len(f.Rejected))
	}
	// Building a large matcher leaves its growing tables behind as garbage
	// (about as much again as the matcher at 10M indicators); hand those
	// pages back now rather than when the background scavenger gets to
	// them, so a reload does not hold twice the memory.
	debug.FreeOSMemory()
	return m, all, nil
}

// retroHuntWindow is how far back new indicators are looked for.
const retroHuntWindow = 30 * 24 * time.Hour

// RetroHunt looks for the indicators the last feed loads added in every
// tenant's events of the past 30 days and raises alerts for what it finds
// (tagged retro-hunt; a sighting already alerted is not raised again).
func (a *App) RetroHunt(ctx context.Context) error {
	fresh := a.freshIntel
	a.freshIntel = nil
	if len(fresh) == 0 {
		return nil
	}
	m, skipped := hunt.MatcherFor(fresh, intel.MatcherOptions{})
	ctx = asSystem(ctx)
	ts, err := a.Store.Tenants().List(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	var errs []error
	for _, t := range ts {
		if t.Disabled {
			continue
		}
		res, err := hunt.Hunt(ctx, a.Store, t.ID, m, now.Add(-retroHuntWindow), now, hunt.Options{Raise: true, Logger: a.Logger})
		if err != nil {
			errs = append(errs, fmt.Errorf("retro-hunt %s: %w", t.Slug, err))
			continue
		}
		a.Logger.Info("retro-hunt", "tenant", t.Slug, "indicators", len(fresh)-skipped, "events", res.Scanned,
			"hits", len(res.Hits), "alerts", res.AlertsRaised)
	}
	return errors.Join(errs...)
}

// TAXIIHandler serves the intelligence desk's collections over TAXII 2.1
// at /taxii2/: a tenant's API token whose role may read its events reads
// the curated indicators and the tenant's own sightings. A token without
// that permission, or for a disabled tenant, is refused.
func (a *App) TAXIIHandler() (http.Handler, error) {
	return intel.NewTAXIIServer(intel.TAXIIServerOptions{Title: "Vigil", APIRoot: "taxii2/vigil", Source: a.Desk, Logger: a.Logger,
		Auth: func(r *http.Request) (string, error) {
			id, err := a.tokenFor(r, auth.PermEventRead)
			if err != nil {
				return "", fmt.Errorf("%w: %w", intel.ErrUnauthorized, err)
			}
			t, err := a.Store.Tenants().Get(r.Context(), id)
			if err != nil || t.Disabled {
				return "", intel.ErrUnauthorized
			}
			return id, nil
		}})
}
