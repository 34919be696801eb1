package alerting

import (
	"context"
	"strings"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Analyst-written sections of a tenant's weekly digest: the industry
// situation, a campaign to watch, in plain text. A section waits for the
// tenant's next weekly digest (digest_send.go), goes out in it and is
// then marked sent with the digest run that carried it. The text is only
// ever template data: e-mail shows it HTML-escaped.

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
