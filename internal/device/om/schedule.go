package om

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Expiry is one dated support item of a device.
type Expiry struct {
	Kind string // support, licence, signature
	At   time.Time
	Days int  // days left, negative when expired
	Soon bool // within the warning period (or expired)
}

// Expiries lists a device's dated items, with their warning flag.
func (s *Service) Expiries(d store.Device, now time.Time) []Expiry {
	var out []Expiry
	for _, e := range []struct {
		kind string
		at   time.Time
	}{{"support", d.SupportExpires}, {"licence", d.LicenceExpires}, {"signature", d.SignatureExpires}} {
		if e.at.IsZero() {
			continue
		}
		left := e.at.Sub(now)
		days := int(left.Hours() / 24)
		if left < 0 {
			days = -int((-left).Hours()/24) - 1
		}
		out = append(out, Expiry{Kind: e.kind, At: e.at, Days: days, Soon: left < s.opts.ExpiryWarning})
	}
	return out
}

// Status is a device as the inventory shows it.
type Status struct {
	store.Device
	Expiries []Expiry
	// LogLastSeen is the last event from the device's address or name
	// (zero when it never sent one); Silent is set when that is longer
	// ago than the silence limit.
	LogLastSeen time.Time
	Silent      bool
}

// maxSources bounds the event sources read to match devices.
const maxSources = 5000

// logSeen maps lower-cased hosts to the last event received from them.
func (s *Service) logSeen(ctx context.Context, tenantID string) (map[string]time.Time, error) {
	seen := map[string]time.Time{}
	for off := 0; off < maxSources; off += store.MaxPageSize {
		src, err := s.st.Events().Sources(ctx, tenantID, store.Page{Limit: store.MaxPageSize, Offset: off})
		if err != nil {
			return nil, fmt.Errorf("event sources: %w", err)
		}
		for _, e := range src {
			h := strings.ToLower(e.Host)
			if e.LastSeen.After(seen[h]) {
				seen[h] = e.LastSeen
			}
		}
		if len(src) < store.MaxPageSize {
			break
		}
	}
	return seen, nil
}

func (s *Service) status(d store.Device, seen map[string]time.Time, now time.Time) Status {
	st := Status{Device: d, Expiries: s.Expiries(d, now)}
	for _, k := range []string{d.MgmtAddress, d.Name} {
		if t := seen[strings.ToLower(k)]; k != "" && t.After(st.LogLastSeen) {
			st.LogLastSeen = t
		}
	}
	st.Silent = !st.LogLastSeen.IsZero() && now.Sub(st.LogLastSeen) > s.opts.SilentAfter
	return st
}

// Inventory lists a page of the tenant's devices with their expiries and
// log-source state, and the total.
func (s *Service) Inventory(ctx context.Context, tenantID string, p store.Page) ([]Status, int, error) {
	ds, total, err := s.List(ctx, tenantID, p)
	if err != nil {
		return nil, 0, err
	}
	seen, err := s.logSeen(ctx, tenantID)
	if err != nil {
		return nil, 0, err
	}
	now := s.now().UTC()
	out := make([]Status, 0, len(ds))
	for _, d := range ds {
		out = append(out, s.status(d, seen, now))
	}
	return out, total, nil
}

// Status returns one device as the inventory shows it.
func (s *Service) Status(ctx context.Context, tenantID, assetID string) (Status, error) {
	d, err := s.Get(ctx, tenantID, assetID)
	if err != nil {
		return Status{}, err
	}
	seen, err := s.logSeen(ctx, tenantID)
	if err != nil {
		return Status{}, err
	}
	return s.status(d, seen, s.now().UTC()), nil
}

// maxDevices bounds the devices of one tenant worked on per run.
const maxDevices = 10_000

// RunScheduled is the periodic job: for every tenant's device it reads
// new configuration-change logs (ScanChanges), polls health and
// reachability, backs up the configuration when the last backup is older than
// BackupEvery, and warns of expiries and silent log sources; then it
// prunes old health samples. Devices are worked on concurrently, each
// operation bounded by its timeout, so a hung device delays nobody. The
// caller's principal must hold the rights of the work (the system). A
// call while another is running returns at once.
// Per-device failures are logged and recorded on the device; the error
// returned is about the store.
func (s *Service) RunScheduled(ctx context.Context) error {
	// A run outlasting the job's redelivery must not overlap the next.
	if !s.running.TryLock() {
		s.log.InfoContext(ctx, "device O&M run skipped: the previous one is still running")
		return nil
	}
	defer s.running.Unlock()
	tenants, err := s.st.Tenants().List(ctx)
	if err != nil {
		return fmt.Errorf("device O&M: tenants: %w", err)
	}
	var errs []error
	for _, t := range tenants {
		if err := auth.Require(ctx, auth.PermAssetWrite, t.ID); err != nil {
			return err
		}
		// Configuration changes in the logs first: their backups are then
		// not due again in this run.
		if err := s.ScanChanges(ctx, t.ID); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: config changes: %w", t.Slug, err))
		}
		if err := s.runTenant(ctx, t.ID); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Slug, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) runTenant(ctx context.Context, tenantID string) error {
	var devs []store.Device
	for off := 0; off < maxDevices; off += store.MaxPageSize {
		ds, err := s.st.Devices().ListDevices(ctx, tenantID, store.Page{Limit: store.MaxPageSize, Offset: off})
		if err != nil {
			return err
		}
		devs = append(devs, ds...)
		if len(ds) < store.MaxPageSize {
			break
		}
	}
	if len(devs) == 0 {
		return nil
	}
	seen, err := s.logSeen(ctx, tenantID)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	sem := make(chan struct{}, s.opts.Concurrency)
	var wg sync.WaitGroup
	for _, d := range devs {
		st := s.status(d, seen, now)
		for _, e := range st.Expiries {
			if e.Soon {
				s.raiseExpiry(ctx, d, e)
			}
		}
		if st.Silent {
			s.raise(ctx, d, "log_silent", "", "medium", fmt.Sprintf("Device %s sent no log event since %s",
				d.Name, st.LogLastSeen.Format("2006-01-02 15:04 UTC")), s.opts.SilentAfter)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.runDevice(ctx, d, now)
		}()
	}
	wg.Wait()
	_, err = s.st.Devices().PruneHealth(ctx, tenantID, now.Add(-s.opts.HealthRetention))
	return err
}

func (s *Service) runDevice(ctx context.Context, d store.Device, now time.Time) {
	if d.MgmtAddress != "" && (d.SNMPSecretID != "" || s.opts.Reach != ReachOff) {
		if _, err := s.poll(ctx, d); err != nil {
			s.log.WarnContext(ctx, "device poll failed", "tenant", d.TenantID, "device", d.AssetID, "err", err)
		}
	}
	if d.MgmtAddress != "" && d.SSHSecretID != "" && d.Profile != "" && now.Sub(d.LastBackupAt) >= s.opts.BackupEvery {
		if _, err := s.backup(ctx, d, "system", ""); err != nil {
			s.log.WarnContext(ctx, "device backup failed", "tenant", d.TenantID, "device", d.AssetID, "err", err)
		}
	}
}

// raiseExpiry warns of one expiry: high when expired or a week away.
func (s *Service) raiseExpiry(ctx context.Context, d store.Device, e Expiry) {
	level := "medium"
	if e.Days < 7 {
		level = "high"
	}
	day := e.At.UTC().Format(time.DateOnly)
	title := fmt.Sprintf("Device %s: %s expires on %s (%d days left)", d.Name, e.Kind, day, e.Days)
	if e.Days < 0 {
		title = fmt.Sprintf("Device %s: %s expired on %s", d.Name, e.Kind, day)
	}
	// One alert per item and date for the whole warning period.
	s.raise(ctx, d, "expiry_"+e.Kind, day, level, title, s.opts.ExpiryWarning+24*time.Hour)
}
