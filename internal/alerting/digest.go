package alerting

import (
	"context"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// Analyst-written sections of a tenant's weekly digest: the industry
// situation, a campaign to watch, in plain text. A section waits for the
// tenant's next weekly digest (a weekly report sent to its channels),
// goes out in it and is then marked sent with the report that carried
// it. The text is only ever template data: e-mail shows it HTML-escaped.

// Bounds of digest sections.
const (
	MaxSectionTitle = 200
	MaxSectionBody  = 4000
	// MaxPendingSections bounds what waits for one digest.
	MaxPendingSections = 10
)

// AddDigestSection adds a section to the tenant's next weekly digest.
func (s *Service) AddDigestSection(ctx context.Context, tenantID, title, body string) (store.DigestSection, error) {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return store.DigestSection{}, err
	}
	title = strings.TrimSpace(title)
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	if err := textField("title", title, MaxSectionTitle, true); err != nil {
		return store.DigestSection{}, err
	}
	if err := textField("body", body, MaxSectionBody, true); err != nil {
		return store.DigestSection{}, err
	}
	pending, err := s.store.Desk().Sections(ctx, tenantID, store.Page{Limit: MaxPendingSections + 1})
	if err != nil {
		return store.DigestSection{}, err
	}
	n := 0
	for _, d := range pending {
		if d.SentAt.IsZero() {
			n++
		}
	}
	if n >= MaxPendingSections {
		return store.DigestSection{}, invalid("title", store.CodeTooMany, map[string]any{"max": MaxPendingSections},
			"at most %d sections wait for the next digest", MaxPendingSections)
	}
	p := auth.FromContext(ctx)
	d := store.DigestSection{TenantID: tenantID, Title: title, Body: body, CreatedBy: p.ActorID(), CreatedByName: p.Name()}
	if err := s.store.Desk().CreateSection(ctx, &d); err != nil {
		return store.DigestSection{}, err
	}
	return d, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "digest_section.create", Object: "digest_section:" + d.ID,
		Detail: map[string]any{"title": title, "chars": len([]rune(body))}})
}

// DigestSections lists the tenant's sections, pending first.
func (s *Service) DigestSections(ctx context.Context, tenantID string, p store.Page) ([]store.DigestSection, error) {
	if err := auth.Require(ctx, auth.PermReportRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Desk().Sections(ctx, tenantID, p)
}

// DeleteDigestSection withdraws a section that has not been sent.
func (s *Service) DeleteDigestSection(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return err
	}
	if err := s.store.Desk().DeleteSection(ctx, tenantID, id); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "digest_section.delete", Object: "digest_section:" + id})
}

// isWeekly reports whether a report covers one week: its source is the
// period key of a scheduled weekly report ("2026-11-16..2026-11-23").
func isWeekly(r store.Report) bool {
	from, to, ok := strings.Cut(r.SourceID, "..")
	if !ok {
		return false
	}
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	return err1 == nil && err2 == nil && t.Sub(f) == 7*24*time.Hour
}

// digestSections claims the tenant's pending sections for a weekly
// report being sent and adds them to the message. The returned release
// puts them back when no channel took the message.
func (s *Service) digestSections(ctx context.Context, r store.Report, data *notify.TemplateData) (release func(sent bool), err error) {
	none := func(bool) {}
	if !isWeekly(r) {
		return none, nil
	}
	ds, err := s.store.Desk().ClaimSections(ctx, r.TenantID, r.ID, s.clock.Now(), MaxPendingSections)
	if err != nil || len(ds) == 0 {
		return none, err
	}
	for _, d := range ds {
		data.Items = append(data.Items, notify.Item{Title: d.Title, Note: d.Body})
	}
	return func(sent bool) {
		if sent {
			return
		}
		if err := s.store.Desk().ReleaseSections(context.WithoutCancel(ctx), r.TenantID, r.ID); err != nil {
			s.logger.Warn("digest sections not released", "tenant", r.TenantID, "report", r.ID, "err", err)
		}
	}, nil
}
