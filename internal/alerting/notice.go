package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// Notice is an urgent vulnerability or event notice an analyst publishes to
// one or many tenants at once.
type Notice struct {
	Title    string
	Severity string // critical, high, medium, low
	Harm     string // what it is and what an attacker can do
	Plan     string // what to do now
	// Match finds each tenant's own affected scope: assets whose name or
	// address contains it and open findings whose title, rule or CVEs do
	// (a product name or a CVE ID); "" leaves the scope out.
	Match string
	// RemindHours is how long a recipient has to acknowledge before a
	// reminder (0: none); Reminders how many at most (1-3).
	RemindHours int
	Reminders   int
}

// Bounds of a notice.
const (
	MaxNoticeTitle   = 300
	MaxNoticeText    = 8000
	MaxNoticeMatch   = 200
	MaxNoticeTenants = 500
	// maxScopeListed bounds the affected assets a notice names per tenant.
	maxScopeListed = 20
)

// NoticeResult is what publishing did for one tenant.
type NoticeResult struct {
	Tenant   store.Tenant
	Assets   []store.Asset // the tenant's matching assets, the first few
	AssetsN  int
	Findings int // open findings matching
	Channels int // channels the notice was queued on
	// Recipients is how many contacts got a personal message to acknowledge.
	Recipients int
	Err        error
}

func (n *Notice) check() error {
	n.Title, n.Match = strings.TrimSpace(n.Title), strings.TrimSpace(n.Match)
	text := func(field, v string, limit int, required bool) error {
		switch {
		case !utf8.ValidString(v):
			return invalid(field, store.CodeInvalidUTF8, nil, "%s must be UTF-8 text", field)
		case required && strings.TrimSpace(v) == "":
			return invalid(field, store.CodeRequired, nil, "%s is required", field)
		case utf8.RuneCountInString(v) > limit:
			return invalid(field, store.CodeTooLong, map[string]any{"max": limit}, "%s is longer than %d characters", field, limit)
		}
		return nil
	}
	if err := errors.Join(text("title", n.Title, MaxNoticeTitle, true), text("harm", n.Harm, MaxNoticeText, true),
		text("plan", n.Plan, MaxNoticeText, false), text("match", n.Match, MaxNoticeMatch, false)); err != nil {
		return err
	}
	if n.RemindHours < 0 || n.RemindHours > MaxRemindHours || n.Reminders < 0 || n.Reminders > MaxNoticeReminders ||
		(n.RemindHours > 0) != (n.Reminders > 0) {
		return invalid("remind_hours", store.CodeOutOfRange, map[string]any{"max_hours": MaxRemindHours, "max_reminders": MaxNoticeReminders},
			"reminders: every 1 to %d hours, 1 to %d times (or none)", MaxRemindHours, MaxNoticeReminders)
	}
	if !slices.Contains([]string{"critical", "high", "medium", "low"}, n.Severity) {
		return invalid("severity", store.CodeOneOf, map[string]any{"allowed": []string{"critical", "high", "medium", "low"}},
			"severity must be critical, high, medium or low")
	}
	return nil
}

// PublishNotice sends an urgent notice to every enabled channel of each
// tenant, whatever the channels' lowest alert level, with the tenant's own
// affected assets and findings. The caller must hold incident.write in
// every tenant; a tenant where it does not is refused, the others go
// ahead. Delivery is asynchronous: each channel's delivery log shows it.
func (s *Service) PublishNotice(ctx context.Context, tenantIDs []string, n Notice) ([]NoticeResult, error) {
	if err := n.check(); err != nil {
		return nil, err
	}
	if len(tenantIDs) == 0 {
		return nil, invalid("tenants", store.CodeRequired, nil, "choose at least one tenant")
	}
	if len(tenantIDs) > MaxNoticeTenants {
		return nil, invalid("tenants", store.CodeTooMany, map[string]any{"max": MaxNoticeTenants}, "at most %d tenants at once", MaxNoticeTenants)
	}
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return nil, err
	}
	noticeID := "notice-" + hex.EncodeToString(idb[:])
	var out []NoticeResult
	for _, id := range slices.Compact(slices.Sorted(slices.Values(tenantIDs))) {
		// A tenant the caller may not publish to is refused before it is
		// read: its name is not the caller's to see.
		r := NoticeResult{Tenant: store.Tenant{ID: id}}
		err := auth.Require(ctx, auth.PermIncidentWrite, id)
		if err == nil {
			if r.Tenant, err = s.store.Tenants().Get(ctx, id); err == nil {
				err = s.publish(ctx, noticeID, r.Tenant, n, &r)
			}
		}
		r.Err = err
		out = append(out, r)
	}
	return out, nil
}

func (s *Service) publish(ctx context.Context, noticeID string, t store.Tenant, n Notice, r *NoticeResult) error {
	data := notify.TemplateData{Tenant: t.Name, Title: n.Title, Severity: severityOf(n.Severity), Summary: n.Harm,
		Time: time.Now().UTC()}
	if n.Plan != "" {
		data.Lines = append(data.Lines, "Response plan: "+n.Plan)
	}
	if n.Match != "" {
		assets, total, err := s.scope(ctx, t.ID, n.Match)
		if err != nil {
			return err
		}
		r.Assets, r.AssetsN = assets, total
		if r.Findings, err = s.store.Vulns().Count(ctx, t.ID, store.VulnFilter{States: lifecycle.OpenStates(), Query: n.Match}); err != nil {
			return err
		}
		data.Fields = append(data.Fields, notify.Field{Name: "affected assets", Value: fmt.Sprint(total)},
			notify.Field{Name: "open findings", Value: fmt.Sprint(r.Findings)})
		for _, a := range assets {
			data.Items = append(data.Items, notify.Item{Title: a.Name, Note: a.Address})
		}
	}
	if s.baseURL != "" {
		data.Link = s.baseURL + "/t/" + t.Slug + "/vulnerabilities?state=open&q=" + url.QueryEscape(n.Match)
	}
	chans, err := s.store.NotifyChannels().List(ctx, t.ID)
	if err != nil {
		return err
	}
	// The caller may publish but not read channel secrets: the channels
	// are opened as Vigil itself, as for alerts.
	sys := auth.WithPrincipal(ctx, &auth.Principal{Username: "system", UserID: "system", GlobalRole: auth.RoleAdmin})
	var errs []error
	for _, c := range chans {
		if !c.Enabled {
			continue
		}
		msg, err := s.templates.Message(noticeID+"-"+c.ID, notify.KindUrgentNotice, s.lang, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msg.Tenant = t.ID
		if err := s.deliver(sys, c, msg); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Channels++
	}
	if r.Recipients, err = s.afterPublish(ctx, sys, noticeID, t, n, data); err != nil {
		errs = append(errs, err)
	}
	if err := s.audit.Record(ctx, audit.Event{TenantID: t.ID, Action: "notice.publish", Object: "notice:" + noticeID,
		Detail: map[string]any{"title": n.Title, "severity": n.Severity, "match": n.Match, "assets": r.AssetsN,
			"findings": r.Findings, "channels": r.Channels}}); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// scope finds a tenant's assets matching a notice.
func (s *Service) scope(ctx context.Context, tenantID, match string) ([]store.Asset, int, error) {
	f := store.AssetFilter{Query: match, Page: store.Page{Limit: maxScopeListed}}
	list, err := s.store.Assets().List(ctx, tenantID, f)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.store.Assets().Count(ctx, tenantID, f)
	return list, n, err
}
