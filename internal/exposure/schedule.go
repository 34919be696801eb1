package exposure

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// ServiceCode is the catalogue service whose subscription schedules scans.
const ServiceCode = "asset-discovery"

// ScanInterval is how often a tenant's whole declared space is scanned
// for a subscription's frequency; per-engagement subscriptions are not
// scheduled.
func ScanInterval(frequency string) (time.Duration, bool) {
	switch frequency {
	case "daily":
		return 24 * time.Hour, true
	case "weekly":
		return 7 * 24 * time.Hour, true
	case "monthly":
		return 30 * 24 * time.Hour, true
	case "quarterly":
		return 91 * 24 * time.Hour, true
	case "yearly":
		return 365 * 24 * time.Hour, true
	}
	return 0, false
}

// StartDue starts a scan of the whole declared address space (default
// ports, and subdomains of the declared domains) for every enabled tenant whose asset discovery subscription is
// in force and whose latest run is older than the subscription's interval.
// Tenants that declared no address space are skipped. It returns the runs
// started. ctx must act for a principal that may write assets in every
// tenant (the scheduler's system principal).
func (s *Service) StartDue(ctx context.Context) (int, error) {
	ts, err := s.store.Tenants().List(ctx)
	if err != nil {
		return 0, err
	}
	now := s.now()
	started := 0
	var errs []error
	for _, t := range ts {
		if t.Disabled {
			continue
		}
		sub, err := s.store.Services().Get(ctx, t.ID, ServiceCode)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Slug, err))
			continue
		}
		every, ok := ScanInterval(sub.ReportFrequency)
		if !sub.Enabled || !ok || (!sub.StartsOn.IsZero() && now.Before(sub.StartsOn)) || (!sub.EndsOn.IsZero() && now.After(sub.EndsOn.Add(24*time.Hour))) {
			continue
		}
		runs, err := s.store.DiscoveryRuns().List(ctx, t.ID, store.Page{Limit: 1})
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Slug, err))
			continue
		}
		if len(runs) > 0 && now.Sub(runs[0].CreatedAt) < every {
			continue
		}
		// With declared domains, the run also looks for their subdomains
		// (built-in wordlist and certificate names).
		in := Input{}
		if ds, err := s.declaredDomains(ctx, t.ID); err == nil && len(ds) > 0 {
			in.Subdomains = Subdomains{Words: DefaultSubdomainWords(), Certificates: true}
		}
		// Host discovery is kept from the tenant's latest run: a tenant
		// that asked for it once keeps it in its scheduled runs.
		if len(runs) > 0 {
			in.HostDiscovery = RunHostDiscovery(runs[0])
		}
		if _, err := s.Start(ctx, t.ID, in); err != nil {
			var fe *store.FieldError
			if errors.As(err, &fe) && fe.Code == store.CodeRequired {
				s.logger.Debug("scheduled discovery skipped: no declared address space", "tenant", t.Slug)
				continue
			}
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Slug, err))
			continue
		}
		started++
		s.logger.Info("scheduled discovery started", "tenant", t.Slug, "every", every)
	}
	return started, errors.Join(errs...)
}
