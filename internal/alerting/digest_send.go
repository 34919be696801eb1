package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// The weekly digest of a tenant, sent on its own schedule.
//
// Every Monday, in the tenant's time zone (UTC when it has none), each
// enabled tenant gets the digest of the ISO week that just ended there:
// its key figures (alerts raised and closed, cases opened and closed,
// critical and KEV findings, SLA breaches), the new cases and critical
// findings, the KEV entries and advisories published that week that match
// its assets or findings, the patches among them (digest_patch.go), the
// findings past their due date and the case timers breached that week
// (digest_sla.go), and the analysts' pending sections (digest.go).
// It goes by e-mail to each of the tenant's own contacts (to each alone,
// through the tenant's e-mail channel; to the channel's own list when no
// contact has an address) and to the tenant's chat and webhook channels.
//
// Every node runs the weekly job; a node sends a tenant's week only after
// claiming it in the store (DigestRunStore.ClaimDigest), so the digest
// goes out once however many nodes run. A tenant with no channel that can
// carry a digest gets a run recorded as skipped, with the reason, and
// nothing is composed or sent. "Send now" sends the last seven days at
// once, as its own run.

// Bounds of a digest.
const (
	// MaxDigestItems bounds each list of a digest (cases, findings, KEV
	// entries, advisories).
	MaxDigestItems = 10
	// DigestClaimLease is how long a scheduled run may stay "sending"
	// before another node takes it over (its node died while sending; a
	// recipient may then get the digest twice rather than never).
	DigestClaimLease = time.Hour
	// MaxDigestRecipients bounds the personal e-mails of one digest.
	MaxDigestRecipients = 200
	digestScanCases     = 500
	digestScanFindings  = store.MaxPageSize
	maxEmailAddress     = 254
	week                = 7 * 24 * time.Hour
)

// DigestCase is a case opened in the period.
type DigestCase struct {
	Ref, Title, Severity, Phase string
}

// DigestFinding is a critical finding first seen in the period.
type DigestFinding struct {
	Title, Host string
	KEV         bool
}

// DigestAdvisory is a KEV entry or advisory of the period that matched
// the tenant's assets or findings.
type DigestAdvisory struct {
	ID, Title, Severity string
	Published           time.Time
	Assets, Findings    int
}

// Digest is what one digest of a tenant says.
type Digest struct {
	Tenant       store.Tenant
	Period       string
	From, To     time.Time
	Counts       store.DigestCounts
	OpenCritical int // critical findings still open at the end
	Cases        []DigestCase
	Critical     []DigestFinding
	KEV          []DigestAdvisory
	KEVTotal     int
	Advisories   []DigestAdvisory
	AdviseTotal  int
	Sections     []store.DigestSection
	Link         string // the tenant's digest page ("" without a base URL)
	// Zone is the tenant's time zone the period is told in.
	Zone *time.Location
	// Patches are the matched advisories of the period that state a fix
	// (digest_patch.go); PatchTotal counts them all.
	Patches    []DigestPatch
	PatchTotal int
	// SLA is what broke the service levels (digest_sla.go).
	SLA DigestSLA
}

// DigestWeek returns the last complete ISO week (Monday to Monday, UTC)
// before now and its name ("2026-W48").
func DigestWeek(now time.Time) (from, to time.Time, period string) {
	return DigestWeekIn(now, time.UTC)
}

// composeDigest gathers a tenant's digest of [from, to). Sections are
// given: the pending ones for a preview, the claimed ones for a send.
func (s *Service) composeDigest(ctx context.Context, t store.Tenant, from, to time.Time, period string, warnings WarningsFunc,
	sections []store.DigestSection) (Digest, error) {
	d := Digest{Tenant: t, Period: period, From: from, To: to, Sections: sections, Zone: TenantZone(t)}
	var err error
	if d.Counts, err = s.store.Desk().DigestCounts(ctx, t.ID, from, to); err != nil {
		return d, err
	}
	if d.OpenCritical, err = s.store.Vulns().Count(ctx, t.ID, store.VulnFilter{Severity: "critical", States: lifecycle.OpenStates()}); err != nil {
		return d, err
	}
	in := func(at time.Time) bool { return !at.Before(from) && at.Before(to) }
	cases, err := s.store.Incidents().List(ctx, t.ID, store.IncidentFilter{Page: store.Page{Limit: digestScanCases}})
	if err != nil {
		return d, err
	}
	for _, c := range cases { // newest update first
		if in(c.CreatedAt) && len(d.Cases) < MaxDigestItems {
			d.Cases = append(d.Cases, DigestCase{Ref: c.Ref, Title: c.Title, Severity: c.Severity, Phase: c.Phase})
		}
	}
	fs, err := s.store.Vulns().List(ctx, t.ID, store.VulnFilter{Severity: "critical", Page: store.Page{Limit: digestScanFindings}})
	if err != nil {
		return d, err
	}
	for _, f := range fs { // highest priority first
		if in(f.FirstSeen) && len(d.Critical) < MaxDigestItems {
			host := f.Host
			if host == "" {
				host = f.AssetKey
			}
			d.Critical = append(d.Critical, DigestFinding{Title: f.Title, Host: host, KEV: f.KEV})
		}
	}
	if warnings != nil {
		ms, err := warnings(ctx, t.ID)
		if err != nil {
			return d, fmt.Errorf("early warnings: %w", err)
		}
		for _, m := range ms {
			a := m.Advisory
			if a.Published.IsZero() || !in(a.Published) || (len(m.Assets) == 0 && len(m.Findings) == 0) {
				continue
			}
			if p, ok := patchOf(m); ok {
				d.PatchTotal++
				if len(d.Patches) < MaxDigestItems {
					d.Patches = append(d.Patches, p)
				}
			}
			item := DigestAdvisory{ID: a.ID, Title: a.Title, Severity: a.Severity, Published: a.Published, Assets: len(m.Assets),
				Findings: len(m.Findings)}
			if isKEV(a) {
				d.KEVTotal++
				if len(d.KEV) < MaxDigestItems {
					d.KEV = append(d.KEV, item)
				}
				continue
			}
			d.AdviseTotal++
			if len(d.Advisories) < MaxDigestItems {
				d.Advisories = append(d.Advisories, item)
			}
		}
	}
	if d.SLA, err = s.digestSLA(ctx, t.ID, from, to); err != nil {
		return d, err
	}
	if s.baseURL != "" {
		d.Link = s.baseURL + "/t/" + t.Slug + "/notifications/digest"
	}
	return d, nil
}

// PreviewDigest composes the tenant's digest of the last seven days as
// "send now" would send it, with its rendered message; nothing is sent
// or claimed.
func (s *Service) PreviewDigest(ctx context.Context, tenantID string, warnings WarningsFunc) (Digest, notify.Message, error) {
	if err := auth.Require(ctx, auth.PermReportRead, tenantID); err != nil {
		return Digest{}, notify.Message{}, err
	}
	t, err := s.store.Tenants().Get(ctx, tenantID)
	if err != nil {
		return Digest{}, notify.Message{}, err
	}
	pending, err := s.pendingSections(ctx, tenantID)
	if err != nil {
		return Digest{}, notify.Message{}, err
	}
	now := s.clock.Now().UTC()
	d, err := s.composeDigest(ctx, t, now.Add(-week), now, "preview", warnings, pending)
	if err != nil {
		return d, notify.Message{}, err
	}
	msg, err := s.digestMessage("preview", d)
	return d, msg, err
}

func (s *Service) pendingSections(ctx context.Context, tenantID string) ([]store.DigestSection, error) {
	all, err := s.store.Desk().Sections(ctx, tenantID, store.Page{Limit: MaxPendingSections + 1})
	if err != nil {
		return nil, err
	}
	var out []store.DigestSection
	for _, d := range all {
		if d.SentAt.IsZero() && len(out) < MaxPendingSections {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b store.DigestSection) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// SendDigestNow sends the tenant's digest of the last seven days at once,
// to the same recipients as the weekly one, and records who asked.
func (s *Service) SendDigestNow(ctx context.Context, tenantID string, warnings WarningsFunc) (store.DigestRun, error) {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return store.DigestRun{}, err
	}
	t, err := s.store.Tenants().Get(ctx, tenantID)
	if err != nil {
		return store.DigestRun{}, err
	}
	if n, err := s.digestCarriers(ctx, t.ID); err != nil {
		return store.DigestRun{}, err
	} else if n == 0 {
		return store.DigestRun{}, invalid("channel", store.CodeRequired, nil, "%s", DigestNoChannel)
	}
	now := s.clock.Now().UTC()
	run := store.DigestRun{TenantID: t.ID, Period: "manual-" + now.Format("20060102T150405.000000Z"), From: now.Add(-week), To: now,
		SentBy: auth.FromContext(ctx).ActorID()}
	if err := s.store.Desk().ClaimDigest(ctx, &run, time.Time{}); err != nil {
		return run, err
	}
	serr := s.runDigest(ctx, t, &run, warnings)
	if err := s.audit.Record(ctx, audit.Event{TenantID: t.ID, Action: "digest.send", Object: "digest:" + run.Period,
		Detail: map[string]any{"messages": run.Messages, "status": run.Status}}); err != nil {
		return run, errors.Join(serr, err)
	}
	return run, serr
}

// SendDueDigests sends, for every enabled tenant, the digest of the last
// complete week in its time zone unless a node has claimed it already. A
// tenant with no channel for it gets a skipped run (DigestSkipped). The
// periodic jobs call it on every node with a system principal. It
// returns the number of digests this node sent.
func (s *Service) SendDueDigests(ctx context.Context, warnings WarningsFunc) (int, error) {
	now := s.clock.Now()
	ts, err := s.store.Tenants().List(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, t := range ts {
		if t.Disabled {
			continue
		}
		from, to, period := DigestWeekIn(now, TenantZone(t))
		run := store.DigestRun{TenantID: t.ID, Period: period, From: from, To: to}
		if n, err := s.digestCarriers(ctx, t.ID); err != nil {
			errs = append(errs, err)
			continue
		} else if n == 0 {
			if err := s.skipDigest(ctx, &run, DigestNoChannel); err != nil && !errors.Is(err, store.ErrConflict) {
				errs = append(errs, err)
			}
			continue
		}
		if err := s.store.Desk().ClaimDigest(ctx, &run, time.Now().Add(-DigestClaimLease)); errors.Is(err, store.ErrConflict) {
			continue // sent (or being sent) by this node or another
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.runDigest(ctx, t, &run, warnings); err != nil {
			errs = append(errs, fmt.Errorf("digest of %s: %w", t.Slug, err))
		}
		if run.Status == store.DigestSent {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// runDigest composes and sends a claimed run and records its end. The
// sections it carries are claimed for it, and put back when nothing
// could be sent.
func (s *Service) runDigest(ctx context.Context, t store.Tenant, run *store.DigestRun, warnings WarningsFunc) error {
	sys := auth.WithPrincipal(ctx, &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
	sentIn := "digest:" + run.Period
	finish := func(status string, n int, err error) error {
		run.Status, run.Messages = status, n
		if err != nil {
			run.Error = clip(err.Error(), 500)
		}
		run.FinishedAt = s.clock.Now()
		ferr := s.store.Desk().FinishDigest(context.WithoutCancel(ctx), t.ID, run.Period, status, n, run.Error, run.FinishedAt)
		if status != store.DigestSent {
			if rerr := s.store.Desk().ReleaseSections(context.WithoutCancel(ctx), t.ID, sentIn); rerr != nil {
				ferr = errors.Join(ferr, rerr)
			}
		}
		return errors.Join(err, ferr)
	}
	sections, err := s.store.Desk().ClaimSections(ctx, t.ID, sentIn, s.clock.Now(), MaxPendingSections)
	if err != nil {
		return finish(store.DigestFailed, 0, err)
	}
	d, err := s.composeDigest(ctx, t, run.From, run.To, run.Period, warnings, sections)
	if err != nil {
		return finish(store.DigestFailed, 0, err)
	}
	msg, err := s.digestMessage("digest-"+t.ID+"-"+run.Period, d)
	if err != nil {
		return finish(store.DigestFailed, 0, err)
	}
	n, total, err := s.sendDigest(sys, t, msg)
	switch {
	case total == 0:
		return finish(store.DigestEmpty, 0, err)
	case n == 0:
		if err == nil {
			err = errors.New("no channel took the digest")
		}
		return finish(store.DigestFailed, 0, err)
	}
	return finish(store.DigestSent, n, err)
}

// digestRecipients are the e-mail addresses of the tenant's own contacts
// (not a vendor's support line), each once.
func (s *Service) digestRecipients(ctx context.Context, tenantID string) ([]store.Contact, error) {
	cs, err := s.store.Contacts().List(ctx, tenantID, store.ContactFilter{})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []store.Contact
	for _, c := range cs {
		addr := strings.TrimSpace(c.Email)
		if c.Kind == "vendor-support" || addr == "" || len(addr) > maxEmailAddress || len(out) >= MaxDigestRecipients {
			continue
		}
		if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || seen[strings.ToLower(addr)] {
			continue
		}
		seen[strings.ToLower(addr)] = true
		c.Email = addr
		out = append(out, c)
	}
	return out, nil
}

// sendDigest queues the digest to the tenant's recipients: by e-mail to
// each contact alone (or to the e-mail channel's list when no contact has
// an address), and to every enabled chat and webhook channel. It returns
// the messages queued and the messages it tried.
func (s *Service) sendDigest(ctx context.Context, t store.Tenant, msg notify.Message) (queued, tried int, err error) {
	chans, err := s.store.NotifyChannels().List(ctx, t.ID)
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	try := func(c store.NotifyChannel, m notify.Message, personal bool) {
		tried++
		var err error
		if personal {
			err = s.queueDigestMail(ctx, c, m)
		} else {
			err = s.deliver(ctx, c, m)
		}
		if err != nil {
			errs = append(errs, err)
			return
		}
		queued++
	}
	mailDone := false
	for _, c := range chans {
		if !c.Enabled {
			continue
		}
		switch c.Kind {
		case "email":
			if mailDone {
				continue // one e-mail channel carries the digest
			}
			mailDone = true
			rcpts, err := s.digestRecipients(ctx, t.ID)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if len(rcpts) == 0 {
				m := msg
				m.ID += "-" + c.ID
				try(c, m, false)
				continue
			}
			for _, r := range rcpts {
				m := msg
				m.ID = digestMailID(msg.ID, r.ID)
				try(c, m, true)
			}
		case "sms":
			// A digest is no text message.
		default:
			m := msg
			m.ID += "-" + c.ID
			try(c, m, false)
		}
	}
	return queued, tried, errors.Join(errs...)
}

// digestMailID is the message ID of a digest to one contact; the digest
// queue reads the contact from it.
func digestMailID(id, contactID string) string { return id + "~" + contactID }

// queueDigestMail queues a personal digest e-mail on the channel's digest
// queue.
func (s *Service) queueDigestMail(ctx context.Context, c store.NotifyChannel, msg notify.Message) error {
	name := c.TenantID + "/" + c.ID + "/digest"
	if err := s.ensureDigestQueue(ctx, c, name); err != nil {
		return fmt.Errorf("channel %s: %w", c.Name, err)
	}
	if err := s.disp.Enqueue(ctx, name, msg); err != nil {
		return fmt.Errorf("channel %s: %w", c.Name, err)
	}
	return nil
}

// ensureDigestQueue adds the digest queue of an e-mail channel to the
// dispatcher on first use, at the channel's own rate.
func (s *Service) ensureDigestQueue(ctx context.Context, c store.NotifyChannel, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.added[name] {
		return nil
	}
	cfg, limit, err := s.channelConfig(ctx, c)
	if err != nil {
		return err
	}
	if err := s.disp.AddChannel(name, &digestChannel{s: s, tenantID: c.TenantID, cfg: cfg}, limit); err != nil {
		return err
	}
	s.added[name] = true
	return nil
}

// channelConfig opens a channel's configuration with its secrets and
// checks it.
func (s *Service) channelConfig(ctx context.Context, c store.NotifyChannel) (notify.ChannelConfig, notify.RateLimit, error) {
	cfg, err := notify.ParseChannelConfig(c.Config)
	if err != nil {
		return cfg, notify.RateLimit{}, err
	}
	if c.SecretID != "" {
		b, err := s.vault.Open(ctx, c.TenantID, c.SecretID, "notification channel "+c.ID)
		if err != nil {
			return cfg, notify.RateLimit{}, err
		}
		if err := json.Unmarshal(b, &cfg.SecretValues); err != nil {
			return cfg, notify.RateLimit{}, err
		}
	}
	_, limit, err := s.registry.Build(cfg, s.env)
	return cfg, limit, err
}

// digestChannel sends each digest e-mail to the one contact its ID names.
type digestChannel struct {
	s        *Service
	tenantID string
	cfg      notify.ChannelConfig
}

var _ notify.Channel = (*digestChannel)(nil)

func (p *digestChannel) Send(ctx context.Context, msg notify.Message) (notify.Receipt, error) {
	fail := func(err error) (notify.Receipt, error) {
		return notify.Receipt{}, &notify.SendError{Channel: p.cfg.Name, Err: err}
	}
	i := strings.LastIndexByte(msg.ID, '~')
	if i < 0 {
		return fail(errors.New("not a digest e-mail"))
	}
	c, err := p.s.store.Contacts().Get(ctx, p.tenantID, msg.ID[i+1:])
	if err != nil {
		return fail(fmt.Errorf("contact: %w", err))
	}
	addr := strings.TrimSpace(c.Email)
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
		return fail(errors.New("the contact has no valid e-mail address"))
	}
	cfg, err := addressed(p.cfg, "email", addr)
	if err != nil {
		return fail(err)
	}
	ch, _, err := p.s.registry.Build(cfg, p.s.env)
	if err != nil {
		return fail(err)
	}
	return ch.Send(ctx, msg)
}

// DigestRuns lists the tenant's digest runs, newest first.
func (s *Service) DigestRuns(ctx context.Context, tenantID string, p store.Page) ([]store.DigestRun, error) {
	if err := auth.Require(ctx, auth.PermReportRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Desk().DigestRuns(ctx, tenantID, p)
}
