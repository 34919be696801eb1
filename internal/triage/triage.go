// Package triage owns what analysts do with events and alerts: search a
// tenant's events with field:value terms over a time range, work the alert
// queue (acknowledge, mark false positive, escalate, close), with every
// change audited.
package triage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Alert statuses.
const (
	StatusNew           = "new"
	StatusAcknowledged  = "acknowledged"
	StatusFalsePositive = "false-positive"
	StatusEscalated     = "escalated"
	StatusClosed        = "closed"
)

// Statuses lists the alert statuses.
func Statuses() []string {
	return []string{StatusNew, StatusAcknowledged, StatusEscalated, StatusFalsePositive, StatusClosed}
}

// Limits.
const (
	maxQuery = 1000
	maxTerms = 16
	maxBulk  = 1000
)

// Service searches events and triages alerts.
type Service struct {
	store store.Store
	audit *audit.Log
	now   func() time.Time
}

// NewService returns a triage Service.
func NewService(s store.Store, a *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, audit: a, now: now}
}

func invalid(field, code string, a map[string]any, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

// ParseQuery reads a search: field:value terms (value quoted when it has
// spaces) and free text (a substring of the original record, quoted
// phrases kept whole).
func ParseQuery(q string) ([]store.FieldTerm, string, error) {
	if len(q) > maxQuery || !utf8.ValidString(q) {
		return nil, "", invalid("q", store.CodeTooLong, map[string]any{"max": maxQuery}, "the search must be at most %d characters of text", maxQuery)
	}
	var terms []store.FieldTerm
	var text []string
	for rest := strings.TrimSpace(q); rest != ""; rest = strings.TrimSpace(rest) {
		tok, r, err := nextToken(rest)
		if err != nil {
			return nil, "", invalid("q", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
		}
		rest = r
		if f, v, ok := strings.Cut(tok, ":"); ok && f != "" && !strings.HasPrefix(tok, `"`) && !strings.HasPrefix(v, "//") && validField(f) {
			terms = append(terms, store.FieldTerm{Field: f, Value: strings.Trim(v, `"`)})
			continue
		}
		text = append(text, strings.Trim(tok, `"`))
	}
	if len(terms) > maxTerms {
		return nil, "", invalid("q", store.CodeTooMany, map[string]any{"max": maxTerms}, "at most %d field terms", maxTerms)
	}
	return terms, strings.Join(text, " "), nil
}

func validField(f string) bool {
	for _, r := range f {
		if !(r == '.' || r == '_' || r == '@' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return len(f) <= 128
}

// nextToken splits off one token; quotes group words, also after "field:".
func nextToken(s string) (string, string, error) {
	inQuote := false
	for i, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
		case r == ' ' && !inQuote:
			return s[:i], s[i+1:], nil
		}
	}
	if inQuote {
		return "", "", fmt.Errorf("unclosed quote in the search")
	}
	return s, "", nil
}

// Search returns a page of a tenant's events matching the query in
// [since, until), newest first, and the total count.
func (s *Service) Search(ctx context.Context, tenantID, q string, since, until time.Time, p store.Page) ([]store.Event, int, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, 0, err
	}
	terms, text, err := ParseQuery(q)
	if err != nil {
		return nil, 0, err
	}
	eq := store.EventQuery{Since: since, Until: until, Terms: terms, Text: text, Page: p}
	list, err := s.store.Events().Search(ctx, tenantID, eq)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.store.Events().Count(ctx, tenantID, eq)
	return list, n, err
}

// Histogram counts the matching events per step over [since, until).
func (s *Service) Histogram(ctx context.Context, tenantID, q string, since, until time.Time, step time.Duration) ([]int, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	terms, text, err := ParseQuery(q)
	if err != nil {
		return nil, err
	}
	return s.store.Events().Histogram(ctx, tenantID, store.EventQuery{Since: since, Until: until, Terms: terms, Text: text}, step)
}

// Event returns one event.
func (s *Service) Event(ctx context.Context, tenantID, id string) (store.Event, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return store.Event{}, err
	}
	return s.store.Events().Get(ctx, tenantID, id)
}

// Alerts returns a page of a tenant's alerts and the total count.
func (s *Service) Alerts(ctx context.Context, tenantID string, f store.AlertFilter) ([]store.Alert, int, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, 0, err
	}
	if len(f.Query) > 200 {
		return nil, 0, invalid("q", store.CodeTooLong, map[string]any{"max": 200}, "search text must be at most 200 characters")
	}
	list, err := s.store.Alerts().List(ctx, tenantID, f)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.store.Alerts().Count(ctx, tenantID, f)
	return list, n, err
}

// Alert returns one alert with its first events.
func (s *Service) Alert(ctx context.Context, tenantID, id string) (store.Alert, []store.Event, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return store.Alert{}, nil, err
	}
	a, err := s.store.Alerts().Get(ctx, tenantID, id)
	if err != nil {
		return a, nil, err
	}
	var evs []store.Event
	for i, eid := range a.EventIDs {
		if i == 20 {
			break
		}
		if e, err := s.store.Events().Get(ctx, tenantID, eid); err == nil {
			evs = append(evs, e)
		}
	}
	return a, evs, nil
}

// SetStatus moves alerts to a status; each succeeds or fails on its own.
// It returns how many changed.
func (s *Service) SetStatus(ctx context.Context, tenantID string, ids []string, status, note string) (int, error) {
	if err := auth.Require(ctx, auth.PermEventTriage, tenantID); err != nil {
		return 0, err
	}
	if !slices.Contains(Statuses(), status) {
		return 0, invalid("status", store.CodeOneOf, map[string]any{"values": strings.Join(Statuses(), ", ")},
			"status must be one of %s", strings.Join(Statuses(), ", "))
	}
	if len(ids) > maxBulk {
		return 0, invalid("ids", store.CodeTooMany, map[string]any{"max": maxBulk}, "at most %d alerts at once", maxBulk)
	}
	if utf8.RuneCountInString(note) > 4000 {
		return 0, invalid("note", store.CodeTooLong, map[string]any{"max": 4000}, "at most 4000 characters")
	}
	p := auth.FromContext(ctx)
	n := 0
	for _, id := range ids {
		if err := s.store.Alerts().SetStatus(ctx, tenantID, id, status, note, p.UserID, s.now()); err != nil {
			continue
		}
		n++
		if err := s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "alert.status", Object: "alert:" + id,
			Detail: map[string]string{"status": status, "note": note}}); err != nil {
			return n, err
		}
	}
	return n, nil
}
