// Package alerting tells a tenant's people about its new alerts, on the
// channels the tenant uses: e-mail, WeCom, DingTalk, Feishu, webhooks or an
// SMS gateway. Channel configurations are kept per tenant with their
// secrets encrypted in the vault; each channel has the lowest alert level
// it receives; every delivery attempt is logged.
package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
)

// Levels are the alert levels a channel may start at, lowest first.
func Levels() []string { return []string{"informational", "low", "medium", "high", "critical"} }

func levelRank(l string) int { return slices.Index(Levels(), l) }

// severityOf maps an alert level to a notification severity.
func severityOf(level string) notify.Severity {
	switch level {
	case "critical":
		return notify.SeverityCritical
	case "high":
		return notify.SeverityHigh
	case "medium":
		return notify.SeverityMedium
	case "low":
		return notify.SeverityLow
	}
	return notify.SeverityInfo
}

// Service manages channels and sends alerts through them.
type Service struct {
	store     store.Store
	vault     *secret.Vault
	audit     *audit.Log
	registry  *notify.Registry
	templates *notify.Templates
	disp      *notify.Dispatcher
	baseURL   string
	lang      string
	logger    *slog.Logger
	env       notify.Env

	mu    sync.Mutex
	added map[string]bool // channel IDs known to the dispatcher

	ackKey []byte       // signs acknowledgement links; nil: no escalation
	clock  notify.Clock // escalation timing
	// ackFactor scales a tenant's acknowledgement waits; see Options.
	ackFactor func(ctx context.Context, tenantID string, at time.Time) float64
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	// BaseURL makes links to the alert in messages ("" leaves them out).
	BaseURL string
	// Lang is the language of messages: "zh-CN" or "en" (default).
	Lang string
	// Retry and Clock tune the dispatcher (tests).
	Retry notify.RetryPolicy
	Clock notify.Clock
	// AckKey (at least 32 bytes) signs the acknowledgement links of
	// escalations; without it tenants' escalation rules are not run.
	AckKey []byte
	// AckFactor, when set, tells the factor applied to a tenant's
	// acknowledgement waits (the wait of each escalation step) at a
	// moment: one in (0, 1) tightens them, as a key-period campaign does
	// during its watch; any other value leaves them as they are.
	AckFactor func(ctx context.Context, tenantID string, at time.Time) float64
}

// NewService returns an alerting Service; Close stops its dispatcher.
func NewService(s store.Store, v *secret.Vault, a *audit.Log, opts Options) (*Service, error) {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	t, err := notify.NewTemplates()
	if err != nil {
		return nil, err
	}
	svc := &Service{store: s, vault: v, audit: a, registry: notify.DefaultRegistry(), templates: t,
		baseURL: strings.TrimSuffix(opts.BaseURL, "/"), lang: opts.Lang, logger: l, added: map[string]bool{}, clock: opts.Clock}
	if svc.clock == nil {
		svc.clock = notify.SystemClock{}
	}
	svc.ackFactor = opts.AckFactor
	if len(opts.AckKey) > 0 {
		if len(opts.AckKey) < 32 {
			return nil, errors.New("alerting: the acknowledgement key must be at least 32 bytes")
		}
		svc.ackKey = opts.AckKey
	}
	retry := opts.Retry
	if retry.MaxAttempts == 0 {
		retry = notify.DefaultRetryPolicy()
	}
	svc.disp = notify.NewDispatcher(notify.DispatcherOptions{Clock: opts.Clock, Log: deliveryLog{svc}, Retry: retry, Logger: l})
	return svc, nil
}

// Close stops the dispatcher after the queued messages' current attempts.
func (s *Service) Close() { s.disp.Close() }

// Kinds lists the channel kinds.
func (s *Service) Kinds() []string { return s.registry.Kinds() }

// deliveryLog records the dispatcher's attempts in the store. The
// dispatcher's channel name is "tenantID/channelID".
type deliveryLog struct{ s *Service }

func (l deliveryLog) Record(ctx context.Context, d notify.Delivery) error {
	tenantID, channelID, _ := strings.Cut(d.Channel, "/")
	channelID, _, _ = strings.Cut(channelID, "/") // a channel's personal queue (noticeack.go) logs as the channel
	return l.s.store.NotifyChannels().Record(context.WithoutCancel(ctx), &store.NotifyDelivery{TenantID: tenantID,
		ChannelID: channelID, MessageID: d.MessageID, Attempt: d.Attempt, Status: d.Status, Error: d.Error, At: d.At})
}

// Input is a channel as a user configures it.
type Input struct {
	Name     string
	Kind     string
	Settings json.RawMessage   // kind-specific, non-secret
	Secrets  map[string]string // kind-specific secrets (robot keys, passwords)
	MinLevel string
	// AllowPrivate lets the channel reach loopback or private addresses
	// (an internal relay); only platform admins may set it.
	AllowPrivate bool
}

func invalid(field, code string, a map[string]any, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

func (in Input) config() notify.ChannelConfig {
	return notify.ChannelConfig{Kind: in.Kind, Name: configName(in.Name), AllowPrivate: in.AllowPrivate,
		Settings: in.Settings, SecretValues: in.Secrets}
}

// configName is the channel's display name reduced to what a channel
// configuration accepts (1-64 letters, digits, '.', '_' or '-').
func configName(name string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(name) {
		switch {
		case b.Len() >= 64:
		case r < 128 && (r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "channel"
	}
	return b.String()
}

// Create checks a channel by building it, stores its secrets in the vault
// and the rest in the store.
func (s *Service) Create(ctx context.Context, tenantID string, in Input) (store.NotifyChannel, error) {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return store.NotifyChannel{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 200 {
		return store.NotifyChannel{}, invalid("name", store.CodeRequired, nil, "a name of 1 to 200 characters is required")
	}
	if !slices.Contains(Levels(), in.MinLevel) {
		return store.NotifyChannel{}, invalid("min_level", store.CodeOneOf, map[string]any{"values": strings.Join(Levels(), ", ")},
			"the level must be one of %s", strings.Join(Levels(), ", "))
	}
	if in.AllowPrivate && !auth.FromContext(ctx).Can(auth.PermTenantAdmin, "") {
		return store.NotifyChannel{}, invalid("allow_private", store.CodeOneOf, nil, "only a platform administrator may allow private addresses")
	}
	cfg := in.config()
	if len(in.Settings) == 0 {
		cfg.Settings = json.RawMessage("{}")
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return store.NotifyChannel{}, err
	}
	parsed, err := notify.ParseChannelConfig(raw)
	if err == nil {
		_, _, err = s.registry.Build(parsed, s.env)
	}
	if err != nil {
		return store.NotifyChannel{}, invalid("settings", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
	}
	c := store.NotifyChannel{TenantID: tenantID, Name: name, Kind: cfg.Kind, MinLevel: in.MinLevel, Enabled: true}
	if len(in.Secrets) > 0 {
		b, _ := json.Marshal(in.Secrets)
		sec, err := s.vault.Create(ctx, tenantID, secret.Input{Name: "notification channel " + name, Kind: "webhook-secret", Value: b})
		if err != nil {
			return store.NotifyChannel{}, err
		}
		c.SecretID = sec.ID
	}
	cfg.SecretValues = nil
	if c.Config, err = json.Marshal(cfg); err != nil {
		return store.NotifyChannel{}, err
	}
	if err := s.store.NotifyChannels().Create(ctx, &c); err != nil {
		return store.NotifyChannel{}, fmt.Errorf("notification channel: %w", err)
	}
	return c, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "notify_channel.create", Object: "notify_channel:" + c.ID,
		Detail: map[string]string{"name": c.Name, "kind": c.Kind, "min_level": c.MinLevel}})
}

// List returns a tenant's channels.
func (s *Service) List(ctx context.Context, tenantID string) ([]store.NotifyChannel, error) {
	if err := auth.Require(ctx, auth.PermServiceRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.NotifyChannels().List(ctx, tenantID)
}

// Deliveries returns a tenant's latest delivery attempts.
func (s *Service) Deliveries(ctx context.Context, tenantID string, p store.Page) ([]store.NotifyDelivery, error) {
	if err := auth.Require(ctx, auth.PermServiceRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.NotifyChannels().Deliveries(ctx, tenantID, p)
}

// Delete removes a channel and its secrets.
func (s *Service) Delete(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return err
	}
	c, err := s.store.NotifyChannels().Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if err := s.store.NotifyChannels().Delete(ctx, tenantID, id); err != nil {
		return err
	}
	if c.SecretID != "" {
		if err := s.vault.Delete(ctx, tenantID, c.SecretID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "notify_channel.delete", Object: "notify_channel:" + id,
		Detail: map[string]string{"name": c.Name}})
}

// build opens a stored channel: its configuration with the secrets from
// the vault.
func (s *Service) build(ctx context.Context, c store.NotifyChannel) (notify.Channel, notify.RateLimit, error) {
	cfg, err := notify.ParseChannelConfig(c.Config)
	if err != nil {
		return nil, notify.RateLimit{}, err
	}
	if c.SecretID != "" {
		b, err := s.vault.Open(ctx, c.TenantID, c.SecretID, "notification channel "+c.ID)
		if err != nil {
			return nil, notify.RateLimit{}, err
		}
		if err := json.Unmarshal(b, &cfg.SecretValues); err != nil {
			return nil, notify.RateLimit{}, err
		}
	}
	return s.registry.Build(cfg, s.env)
}

// Test sends a test message through one channel now and records it.
func (s *Service) Test(ctx context.Context, tenantID, id string) (notify.Receipt, error) {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return notify.Receipt{}, err
	}
	c, err := s.store.NotifyChannels().Get(ctx, tenantID, id)
	if err != nil {
		return notify.Receipt{}, err
	}
	ch, _, err := s.build(ctx, c)
	if err != nil {
		return notify.Receipt{}, err
	}
	msg, err := s.templates.Message(fmt.Sprintf("test-%d", time.Now().UnixNano()), notify.KindTest, s.lang,
		notify.TemplateData{Title: "Vigil test message for " + c.Name, Severity: notify.SeverityInfo})
	if err != nil {
		return notify.Receipt{}, err
	}
	r, serr := ch.Send(ctx, msg)
	d := store.NotifyDelivery{TenantID: tenantID, ChannelID: id, MessageID: msg.ID, Subject: msg.Subject, Attempt: 1, Status: "sent"}
	if serr != nil {
		d.Status, d.Error = "failed", serr.Error()
	}
	if err := s.store.NotifyChannels().Record(ctx, &d); err != nil {
		return r, err
	}
	return r, serr
}

// Alerted sends a new alert to every enabled channel of its tenant whose
// lowest level it reaches. It runs without a user (the ingest pipeline):
// the caller passes a system principal. Delivery is asynchronous.
func (s *Service) Alerted(ctx context.Context, a store.Alert) error {
	chans, err := s.store.NotifyChannels().List(ctx, a.TenantID)
	if err != nil {
		return err
	}
	if len(chans) == 0 && len(s.ackKey) == 0 {
		return nil
	}
	t, err := s.store.Tenants().Get(ctx, a.TenantID)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range chans {
		if !c.Enabled || levelRank(a.Level) < levelRank(c.MinLevel) {
			continue
		}
		data := notify.TemplateData{Tenant: t.Name, Title: a.RuleTitle, Severity: severityOf(a.Level),
			Summary: fmt.Sprintf("%s on %s", a.RuleTitle, a.Host), Source: a.Host, Time: a.LastSeen,
			Fields: []notify.Field{{Name: "rule", Value: a.RuleID}, {Name: "host", Value: a.Host}, {Name: "count", Value: fmt.Sprint(a.Count)}}}
		if s.baseURL != "" {
			data.Link = s.baseURL + "/t/" + t.Slug + "/events/alerts/" + a.ID
		}
		msg, err := s.templates.Message(a.ID+"-"+c.ID, notify.KindAlert, s.lang, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msg.Tenant = a.TenantID
		if err := s.deliver(ctx, c, msg); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.escalate(ctx, a, t); err != nil {
		errs = append(errs, fmt.Errorf("escalation: %w", err))
	}
	return errors.Join(errs...)
}

// SendReport delivers an archived report to every enabled channel of its
// tenant, whatever the channel's lowest alert level: a contracted report is
// not an alert. E-mail carries the file when it fits the attachment limit;
// every channel gets the link. Delivery is asynchronous.
func (s *Service) SendReport(ctx context.Context, r store.Report, summary string) error {
	chans, err := s.store.NotifyChannels().List(ctx, r.TenantID)
	if err != nil || len(chans) == 0 {
		return err
	}
	t, err := s.store.Tenants().Get(ctx, r.TenantID)
	if err != nil {
		return err
	}
	data := notify.TemplateData{Tenant: t.Name, Title: r.Title, Severity: notify.SeverityInfo, Summary: summary,
		Time: r.CreatedAt, Fields: []notify.Field{{Name: "format", Value: r.Format}, {Name: "sha256", Value: r.SHA256}}}
	if s.baseURL != "" {
		data.Link = s.baseURL + "/t/" + t.Slug + "/reports/" + r.ID
	}
	var errs []error
	for _, c := range chans {
		if !c.Enabled {
			continue
		}
		msg, err := s.templates.Message("report-"+r.ID+"-"+c.ID, notify.KindDigest, s.lang, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msg.Tenant = r.TenantID
		if len(r.Content) > 0 && len(r.Content) <= notify.MaxAttachmentBytes {
			msg.Attachments = []notify.Attachment{{Name: reportFileName(r), ContentType: archive.ContentType(r.Format), Data: r.Content}}
		}
		if err := s.deliver(ctx, c, msg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SLABreached tells the case's tenant, on every enabled channel whose
// lowest level the case's severity reaches, that an SLA timer of the case
// (acknowledge, contain or close) passed its due time. Delivery is
// asynchronous.
func (s *Service) SLABreached(ctx context.Context, c store.Incident, timer string, due time.Time) error {
	chans, err := s.store.NotifyChannels().List(ctx, c.TenantID)
	if err != nil || (len(chans) == 0 && len(s.ackKey) == 0) {
		return err
	}
	t, err := s.store.Tenants().Get(ctx, c.TenantID)
	if err != nil {
		return err
	}
	data := notify.TemplateData{Tenant: t.Name, Title: c.Ref + " " + c.Title, Severity: severityOf(c.Severity),
		Summary: fmt.Sprintf("The %s deadline of %s passed at %s (phase: %s).", timer, c.Ref, due.UTC().Format("2006-01-02 15:04 UTC"), c.Phase),
		Time:    due, Fields: []notify.Field{{Name: "case", Value: c.Ref}, {Name: "timer", Value: timer}, {Name: "phase", Value: c.Phase}}}
	if s.baseURL != "" {
		data.Link = s.baseURL + "/t/" + t.Slug + "/incidents/" + c.ID
	}
	var errs []error
	for _, ch := range chans {
		if !ch.Enabled || levelRank(c.Severity) < levelRank(ch.MinLevel) {
			continue
		}
		msg, err := s.templates.Message("sla-"+c.ID+"-"+timer+"-"+ch.ID, notify.KindSLABreach, s.lang, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msg.Tenant = c.TenantID
		if err := s.deliver(ctx, ch, msg); err != nil {
			errs = append(errs, err)
		}
	}
	esc := notify.Message{ID: "sla-" + c.ID + "-" + timer, Tenant: c.TenantID, Kind: notify.KindSLABreach, Severity: severityOf(c.Severity),
		Subject: clip(t.Name+": "+c.Ref+" "+c.Title, 200), Text: clip(data.Summary, 2000), Link: data.Link}
	if err := s.raise(ctx, esc); err != nil {
		errs = append(errs, fmt.Errorf("escalation: %w", err))
	}
	return errors.Join(errs...)
}

// reportFileName names an attached report: its kind, day and format.
func reportFileName(r store.Report) string {
	return r.Kind + "-" + r.CreatedAt.UTC().Format("20060102") + "." + r.Format
}

// deliver queues msg on a channel of the tenant, opening the channel for
// the dispatcher on first use.
func (s *Service) deliver(ctx context.Context, c store.NotifyChannel, msg notify.Message) error {
	name := c.TenantID + "/" + c.ID
	if err := s.ensure(ctx, c, name); err != nil {
		return fmt.Errorf("channel %s: %w", c.Name, err)
	}
	if err := s.disp.Enqueue(ctx, name, msg); err != nil {
		return fmt.Errorf("channel %s: %w", c.Name, err)
	}
	return nil
}

func (s *Service) ensure(ctx context.Context, c store.NotifyChannel, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.added[name] {
		return nil
	}
	ch, limit, err := s.build(ctx, c)
	if err != nil {
		return err
	}
	if err := s.disp.AddChannel(name, ch, limit); err != nil {
		return err
	}
	s.added[name] = true
	return nil
}
