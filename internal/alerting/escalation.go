package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// Escalation of unacknowledged alerts.
//
// A tenant's escalation rules (notify.Rule, stored as JSON) say which new
// alerts escalate: their minimum level, the steps (channels to notify,
// then how long to wait for an acknowledgement before the next step),
// quiet hours and an on-call rotation. Every message of a step carries a
// signed acknowledgement link; acknowledging through it, or triaging the
// alert in Vigil, stops the escalation. State is kept in the store with a
// revision check, so nodes ticking at the same time send each step once.

// Limits of the escalation rules.
const (
	MaxEscalationRules = 20
	maxRuleName        = 100
	dueBatch           = 500
	// AckPath is the public page that acknowledges by link.
	AckPath = "/ack"
)

// ErrEscalationOff is returned when escalation has no signing key.
var ErrEscalationOff = errors.New("alert escalation is not configured")

// escStore adapts the store to notify.EscalationStore.
type escStore struct{ st store.EscalationStore }

var _ notify.EscalationStore = escStore{}

func (e escStore) Put(ctx context.Context, esc notify.Escalation) error {
	b, err := json.Marshal(esc)
	if err != nil {
		return err
	}
	tenantID, _, _ := strings.Cut(esc.Rule, "/")
	err = e.st.Put(ctx, store.EscalationState{ID: esc.ID, TenantID: tenantID, Rule: esc.Rule, State: b, NextAt: esc.NextAt,
		Done: esc.Done, Rev: esc.Rev, RaisedAt: esc.Raised})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: %w", notify.ErrEscalationConflict, err)
	}
	return err
}

func (e escStore) Get(ctx context.Context, id string) (notify.Escalation, error) {
	row, err := e.st.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return notify.Escalation{}, fmt.Errorf("%w: %s", notify.ErrEscalationNotFound, id)
	}
	if err != nil {
		return notify.Escalation{}, err
	}
	return decodeEscalation(row)
}

func (e escStore) Due(ctx context.Context, now time.Time) ([]notify.Escalation, error) {
	rows, err := e.st.Due(ctx, now, dueBatch)
	if err != nil {
		return nil, err
	}
	out := make([]notify.Escalation, 0, len(rows))
	for _, r := range rows {
		esc, err := decodeEscalation(r)
		if err != nil {
			return nil, err
		}
		out = append(out, esc)
	}
	return out, nil
}

func decodeEscalation(row store.EscalationState) (notify.Escalation, error) {
	var esc notify.Escalation
	if err := json.Unmarshal(row.State, &esc); err != nil {
		return esc, fmt.Errorf("escalation %s: %w", row.ID, err)
	}
	esc.Rev = row.Rev
	return esc, nil
}

// EscalationRule is a tenant's rule as the UI and API edit it.
type EscalationRule struct {
	Name    string
	Enabled bool
	Rule    notify.Rule
	// EnabledAt, KEVPending and KEVSkipped tell (read only) when the rule
	// was last enabled and the KEV backlog it skipped then (triggers.go).
	EnabledAt  time.Time
	KEVPending bool
	KEVSkipped int
}

// TakesKEV reports whether the rule escalates KEV matches.
func (r EscalationRule) TakesKEV() bool { return takesKEV(r.Rule, "") }

// engine builds an escalation engine over every tenant's enabled rules;
// a rule's engine name is "<tenant ID>/<name>" so tenants never share one.
func (s *Service) engine(ctx context.Context) (*notify.Engine, error) {
	if len(s.ackKey) == 0 {
		return nil, ErrEscalationOff
	}
	rows, err := s.store.Escalations().EnabledRules(ctx)
	if err != nil {
		return nil, err
	}
	var rules []notify.Rule
	limits := map[string]time.Duration{} // per tenant, see escalation_sla.go
	for _, row := range rows {
		var r notify.Rule
		if err := json.Unmarshal(row.Spec, &r); err != nil {
			s.logger.Warn("escalation rule unreadable", "tenant", row.TenantID, "rule", row.Name, "err", err)
			continue
		}
		r.Name, r.Tenant = row.TenantID+"/"+row.Name, row.TenantID
		if err := r.Check(); err != nil {
			s.logger.Warn("escalation rule invalid", "tenant", row.TenantID, "rule", row.Name, "err", err)
			continue
		}
		if takesAlerts(r) {
			limit, ok := limits[row.TenantID]
			if !ok {
				if limit, err = s.responseLimit(ctx, row.TenantID, s.clock.Now()); err != nil {
					s.logger.Warn("service level unreadable", "tenant", row.TenantID, "err", err)
					limit = 0
				}
				limits[row.TenantID] = limit
			}
			if limit > 0 {
				capWaits(r.Steps, limit)
			}
		}
		if s.ackFactor != nil {
			tighten(r.Steps, s.ackFactor(ctx, row.TenantID, s.clock.Now()))
		}
		rules = append(rules, r)
	}
	ack := ""
	if s.baseURL != "" {
		ack = s.baseURL + AckPath
	}
	return notify.NewEngine(notify.EngineOptions{Rules: rules, Store: escStore{s.store.Escalations()}, Clock: s.clock,
		Key: s.ackKey, AckBaseURL: ack, Fire: s.fire, Logger: s.logger, OnShift: s.onShiftName})
}

// tighten scales the waits of steps by f when f is in (0, 1).
func tighten(steps []notify.Step, f float64) {
	if f <= 0 || f >= 1 {
		return
	}
	for i := range steps {
		steps[i].After = time.Duration(float64(steps[i].After) * f)
	}
}

// escalate starts the escalations a new alert matches.
func (s *Service) escalate(ctx context.Context, a store.Alert, t store.Tenant) error {
	if len(s.ackKey) == 0 {
		return nil
	}
	e, err := s.engine(ctx)
	if err != nil {
		return err
	}
	msg := notify.Message{ID: a.ID, Tenant: a.TenantID, Kind: notify.KindAlert, Severity: severityOf(a.Level),
		Subject: clip(t.Name+": "+a.RuleTitle, 200), Text: clip(fmt.Sprintf("%s on %s (%d events). Rule %s.", a.RuleTitle, a.Host, a.Count, a.RuleID), 2000)}
	if s.baseURL != "" {
		msg.Link = s.baseURL + "/t/" + t.Slug + "/events/alerts/" + a.ID
	}
	_, err = e.Raise(ctx, msg)
	return err
}

// raise starts the escalations of another kind of message (a case opened,
// an SLA breach) that the tenant's rules match.
func (s *Service) raise(ctx context.Context, msg notify.Message) error {
	if len(s.ackKey) == 0 {
		return nil
	}
	e, err := s.engine(ctx)
	if err != nil {
		return err
	}
	_, err = e.Raise(ctx, msg)
	return err
}

// TickEscalations sends every escalation step that is due. The scheduler
// calls it every minute or so on each node.
func (s *Service) TickEscalations(ctx context.Context) error {
	if len(s.ackKey) == 0 {
		return nil
	}
	e, err := s.engine(ctx)
	if err != nil {
		return err
	}
	return e.Tick(ctx)
}

// fire sends one escalation step to its channels, unless the alert was
// triaged in Vigil meanwhile: then the escalation is stopped instead.
func (s *Service) fire(ctx context.Context, f notify.Firing) error {
	m := f.Message
	if m.Kind == notify.KindAlert {
		al, err := s.store.Alerts().Get(ctx, m.Tenant, m.ID)
		if err == nil && al.Status != "new" {
			return s.stop(ctx, f.EscalationID, "triaged: "+al.Status)
		}
	}
	chans, err := s.store.NotifyChannels().List(ctx, m.Tenant)
	if err != nil {
		return err
	}
	m.ID = fmt.Sprintf("%s-esc%d", m.ID, f.Step)
	m.Subject = clip(fmt.Sprintf("[%d] %s", f.Step, m.Subject), 200)
	if f.OnCall != "" {
		m.Text = clip(m.Text+" On call: "+f.OnCall+".", 4000)
	}
	var errs []error
	for _, id := range f.Channels {
		i := slices.IndexFunc(chans, func(c store.NotifyChannel) bool { return c.ID == id })
		if i < 0 || !chans[i].Enabled {
			errs = append(errs, fmt.Errorf("escalation %s: channel %s is gone or disabled", f.EscalationID, id))
			continue
		}
		cm := m
		cm.ID += "-" + id
		if err := s.deliver(ctx, chans[i], cm); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stop ends an escalation without acknowledgement.
func (s *Service) stop(ctx context.Context, id, why string) error {
	st := escStore{s.store.Escalations()}
	for range 5 {
		esc, err := st.Get(ctx, id)
		if err != nil {
			return err
		}
		if esc.Done {
			return nil
		}
		esc.Done, esc.AckedBy = true, why
		if err := st.Put(ctx, esc); !errors.Is(err, notify.ErrEscalationConflict) {
			return err
		}
	}
	return nil
}

// AckLink is the acknowledgement link of an escalation, valid until expiry.
func (s *Service) AckLink(escalationID string, expiry time.Time) (string, error) {
	if len(s.ackKey) == 0 {
		return "", ErrEscalationOff
	}
	e, err := notify.NewEngine(notify.EngineOptions{Key: s.ackKey, Fire: func(context.Context, notify.Firing) error { return nil }})
	if err != nil {
		return "", err
	}
	return s.baseURL + AckPath + "?token=" + url.QueryEscape(e.AckToken(escalationID, expiry)), nil
}

// AckResult is what an acknowledgement link acknowledged: the message's
// subject, and the alert when the escalation was an alert's.
type AckResult struct {
	Tenant  store.Tenant
	Subject string
	Alert   store.Alert
}

// Acknowledge stops the escalation a signed link names and acknowledges
// its alert, in the name of by (what the person typed, bounded). It needs
// no session: the link's signature is the authority, and it can do
// nothing but this.
func (s *Service) Acknowledge(ctx context.Context, token, by string) (AckResult, error) {
	e, err := s.engine(ctx)
	if err != nil {
		return AckResult{}, err
	}
	by = clip(strings.TrimSpace(by), 100)
	if by == "" {
		by = "link"
	}
	id, err := e.Ack(ctx, token, "link: "+by)
	if err != nil {
		return AckResult{}, err
	}
	esc, err := escStore{s.store.Escalations()}.Get(ctx, id)
	if err != nil {
		return AckResult{}, err
	}
	t, err := s.store.Tenants().Get(ctx, esc.Message.Tenant)
	if err != nil {
		return AckResult{}, err
	}
	res := AckResult{Tenant: t, Subject: esc.Message.Subject}
	object := "escalation:" + id
	if esc.Message.Kind == notify.KindAlert {
		al, err := s.store.Alerts().Get(ctx, t.ID, esc.Message.ID)
		if err != nil {
			return AckResult{}, err
		}
		if al.Status == "new" {
			if err := s.store.Alerts().SetStatus(ctx, t.ID, al.ID, "acknowledged", "acknowledged by link: "+by, "", s.clock.Now()); err != nil {
				return AckResult{}, err
			}
			al.Status = "acknowledged"
		}
		res.Alert, object = al, "alert:"+al.ID
	}
	sys := auth.WithPrincipal(ctx, &auth.Principal{Username: "acknowledgement link", UserID: "system"})
	if err := s.audit.Record(sys, audit.Event{TenantID: t.ID, Action: "escalation.ack_link", Object: object,
		Detail: map[string]string{"by": by, "escalation": id, "kind": string(esc.Message.Kind)}}); err != nil {
		return AckResult{}, err
	}
	return res, nil
}

// PeekAck tells what an acknowledgement link would acknowledge, without
// doing it (the page that asks for confirmation).
func (s *Service) PeekAck(ctx context.Context, token string) (AckResult, error) {
	e, err := s.engine(ctx)
	if err != nil {
		return AckResult{}, err
	}
	id, err := e.Verify(token)
	if err != nil {
		return AckResult{}, err
	}
	esc, err := escStore{s.store.Escalations()}.Get(ctx, id)
	if err != nil {
		return AckResult{}, err
	}
	t, err := s.store.Tenants().Get(ctx, esc.Message.Tenant)
	if err != nil {
		return AckResult{}, err
	}
	res := AckResult{Tenant: t, Subject: esc.Message.Subject}
	if esc.Message.Kind == notify.KindAlert {
		res.Alert, err = s.store.Alerts().Get(ctx, t.ID, esc.Message.ID)
	}
	return res, err
}

// EscalationRules lists a tenant's rules.
func (s *Service) EscalationRules(ctx context.Context, tenantID string) ([]EscalationRule, error) {
	if err := auth.Require(ctx, auth.PermServiceRead, tenantID); err != nil {
		return nil, err
	}
	rows, err := s.store.Escalations().Rules(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]EscalationRule, 0, len(rows))
	for _, row := range rows {
		var r notify.Rule
		if err := json.Unmarshal(row.Spec, &r); err != nil {
			return nil, fmt.Errorf("escalation rule %s: %w", row.Name, err)
		}
		out = append(out, EscalationRule{Name: row.Name, Enabled: row.Enabled, Rule: r, EnabledAt: row.EnabledAt,
			KEVPending: row.KEVPending, KEVSkipped: row.KEVSkipped})
	}
	return out, nil
}

// SaveEscalationRule creates or replaces a tenant's rule after checking it
// and that every channel it names is the tenant's.
func (s *Service) SaveEscalationRule(ctx context.Context, tenantID string, in EscalationRule) error {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > maxRuleName || strings.ContainsAny(in.Name, "/\x00") {
		return invalid("name", store.CodeTooLong, map[string]any{"max": maxRuleName}, "a rule needs a name of at most %d characters without /", maxRuleName)
	}
	r := in.Rule
	r.Name, r.Tenant = in.Name, tenantID
	if err := r.Check(); err != nil {
		return invalid("steps", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
	}
	chans, err := s.store.NotifyChannels().List(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, st := range r.Steps {
		for _, id := range st.Channels {
			if !slices.ContainsFunc(chans, func(c store.NotifyChannel) bool { return c.ID == id }) {
				return invalid("steps", store.CodeNotInTenant, nil, "a step names a channel that is not this organisation's")
			}
		}
	}
	existing, err := s.store.Escalations().Rules(ctx, tenantID)
	if err != nil {
		return err
	}
	if len(existing) >= MaxEscalationRules && !slices.ContainsFunc(existing, func(e store.EscalationRule) bool { return e.Name == in.Name }) {
		return invalid("name", store.CodeTooMany, map[string]any{"max": MaxEscalationRules}, "at most %d rules", MaxEscalationRules)
	}
	spec, err := json.Marshal(r)
	if err != nil {
		return err
	}
	row := store.EscalationRule{TenantID: tenantID, Name: in.Name, Spec: spec, Enabled: in.Enabled, UpdatedBy: auth.FromContext(ctx).UserID,
		Restart: in.Enabled && restarts(existing, in.Name, r), EnabledAt: s.clock.Now()}
	if err := s.store.Escalations().PutRule(ctx, &row); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "escalation_rule.save", Object: "escalation_rule:" + in.Name,
		Detail: map[string]any{"steps": len(r.Steps), "enabled": in.Enabled}})
}

// restarts reports whether saving r (enabled or not) starts it anew for
// KEV matches: it is enabled and was unknown, disabled, or did not take
// KEV matches before. A restarted rule skips the KEV backlog.
func restarts(existing []store.EscalationRule, name string, r notify.Rule) bool {
	i := slices.IndexFunc(existing, func(e store.EscalationRule) bool { return e.Name == name })
	if i < 0 || !existing[i].Enabled {
		return true
	}
	var old notify.Rule
	if err := json.Unmarshal(existing[i].Spec, &old); err != nil {
		return true
	}
	return takesKEV(r, "") && !takesKEV(old, "")
}

// DeleteEscalationRule removes a tenant's rule.
func (s *Service) DeleteEscalationRule(ctx context.Context, tenantID, name string) error {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return err
	}
	if err := s.store.Escalations().DeleteRule(ctx, tenantID, name); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "escalation_rule.delete", Object: "escalation_rule:" + name})
}

// Escalations lists a tenant's recent escalations.
func (s *Service) Escalations(ctx context.Context, tenantID string, p store.Page) ([]notify.Escalation, error) {
	if err := auth.Require(ctx, auth.PermServiceRead, tenantID); err != nil {
		return nil, err
	}
	rows, err := s.store.Escalations().List(ctx, tenantID, p)
	if err != nil {
		return nil, err
	}
	out := make([]notify.Escalation, 0, len(rows))
	for _, r := range rows {
		esc, err := decodeEscalation(r)
		if err != nil {
			return nil, err
		}
		esc.Rule = strings.TrimPrefix(esc.Rule, tenantID+"/")
		out = append(out, esc)
	}
	return out, nil
}

// clip cuts s to at most n runes.
func clip(s string, n int) string { return report.Shorten(s, n) }

// StateChange is a change of a case's or work order's state, told to the
// tenant's webhook channels so its own tools can follow (a ticketing
// system, a SOAR): chat and e-mail channels are not bothered with it.
type StateChange struct {
	TenantID string
	Kind     string // "case" or "work-order"
	ID       string
	Ref      string
	Title    string
	State    string
	Change   string // what happened: created, phase, close, approve, …
	Severity string // critical, high, medium, low, or "" for work orders
	Path     string // the object's page under the base URL
	At       time.Time
}

// StateChanged sends a state change to every enabled webhook channel of
// the tenant, whatever the channel's lowest alert level. Delivery is
// asynchronous and logged like every message.
func (s *Service) StateChanged(ctx context.Context, c StateChange) error {
	var t *store.Tenant // read once, when first needed
	tenant := func() (store.Tenant, error) {
		if t == nil {
			got, err := s.store.Tenants().Get(ctx, c.TenantID)
			if err != nil {
				return got, err
			}
			t = &got
		}
		return *t, nil
	}
	if c.Kind == "case" && c.Change == "create" && len(s.ackKey) > 0 {
		// A new case may escalate like an alert, if the tenant's rules say so.
		t, err := tenant()
		if err != nil {
			return err
		}
		msg := notify.Message{ID: "case-" + c.ID, Tenant: c.TenantID, Kind: notify.KindCase, Severity: severityOf(c.Severity),
			Subject: clip(t.Name+": "+c.Ref+" "+c.Title, 200), Text: clip("A new incident case was opened: "+c.Ref+" "+c.Title, 2000)}
		if s.baseURL != "" && c.Path != "" {
			msg.Link = s.baseURL + "/t/" + t.Slug + c.Path
		}
		if err := s.raise(ctx, msg); err != nil {
			return fmt.Errorf("escalation: %w", err)
		}
	}
	chans, err := s.store.NotifyChannels().List(ctx, c.TenantID)
	if err != nil {
		return err
	}
	var hooks []store.NotifyChannel
	for _, ch := range chans {
		if ch.Enabled && ch.Kind == "webhook" {
			hooks = append(hooks, ch)
		}
	}
	if len(hooks) == 0 {
		return nil
	}
	ten, err := tenant()
	if err != nil {
		return err
	}
	sev := notify.SeverityInfo
	if c.Severity != "" {
		sev = severityOf(c.Severity)
	}
	data := notify.TemplateData{Tenant: ten.Name, Title: clip(c.Ref+" "+c.Title, 300), Severity: sev,
		Summary: clip(fmt.Sprintf("%s %s: %s, now %s", c.Kind, c.Ref, c.Change, c.State), 500), Time: c.At,
		Fields: []notify.Field{{Name: "kind", Value: c.Kind}, {Name: "id", Value: c.ID}, {Name: "ref", Value: c.Ref},
			{Name: "state", Value: c.State}, {Name: "change", Value: c.Change}}}
	if s.baseURL != "" && c.Path != "" {
		data.Link = s.baseURL + "/t/" + ten.Slug + c.Path
	}
	var errs []error
	for _, ch := range hooks {
		msg, err := s.templates.Message(fmt.Sprintf("%s-%s-%d-%s", c.ID, c.Change, c.At.UnixNano(), ch.ID), notify.KindCase, s.lang, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msg.Tenant = c.TenantID
		if err := s.deliver(ctx, ch, msg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
