package alerting

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// Per-recipient acknowledgement of urgent notices.
//
// Besides the tenant's channels, an urgent notice goes to each of the
// tenant's contacts on their own: by e-mail through the tenant's e-mail
// channel, by SMS through its SMS gateway, each message with a signed link
// of its own. Opening the link marks the notice read for that person;
// confirming on the page acknowledges it. Who has not acknowledged gets a
// reminder every N hours, at most three times, sent by the escalation
// ticker. The links are signed like escalation acknowledgement links but
// with a key derived for notices, so neither kind of link works as the
// other.

// Bounds of per-recipient acknowledgement.
const (
	// NoticeAckPath is the public page of a notice's personal link.
	NoticeAckPath      = "/notice-ack"
	MaxNoticeReminders = 3
	MaxRemindHours     = 7 * 24
	// MaxNoticeRecipients bounds the personal messages of one notice per
	// tenant.
	MaxNoticeRecipients = 200
	noticeLinkTTL       = 30 * 24 * time.Hour
	reminderBatch       = 200
)

var phoneRE = regexp.MustCompile(`^\+[1-9][0-9]{5,14}$`)

// noticeSigner signs and checks notice links with a key derived from the
// acknowledgement key.
func (s *Service) noticeSigner() (*notify.Engine, error) {
	if len(s.ackKey) == 0 {
		return nil, ErrEscalationOff
	}
	mac := hmac.New(sha256.New, s.ackKey)
	mac.Write([]byte("vigil: urgent notice acknowledgement links"))
	return notify.NewEngine(notify.EngineOptions{Key: mac.Sum(nil), Clock: s.clock,
		Fire: func(context.Context, notify.Firing) error { return nil }})
}

// noticeLink is a recipient's personal link ("" without a base URL).
func (s *Service) noticeLink(tenantID, recipientID string) (string, error) {
	if s.baseURL == "" {
		return "", nil
	}
	sg, err := s.noticeSigner()
	if err != nil {
		return "", err
	}
	tok := sg.AckToken(tenantID+"/"+recipientID, s.clock.Now().Add(noticeLinkTTL))
	return s.baseURL + NoticeAckPath + "?token=" + url.QueryEscape(tok), nil
}

// normPhone keeps a phone number's + and digits, so "+86 138-0000-0000"
// is an E.164 number; "" when it is not one.
func normPhone(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r == '+' || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	if !phoneRE.MatchString(b.String()) {
		return ""
	}
	return b.String()
}

// afterPublish runs for each tenant an urgent notice was published to: it
// raises the tenant's "advisory published" escalations, records the
// notice and sends each contact a personal message. ctx is the
// publisher's, sys Vigil's own (to open channel secrets).
func (s *Service) afterPublish(ctx, sys context.Context, noticeID string, t store.Tenant, n Notice, data notify.TemplateData) (int, error) {
	var errs []error
	esc := notify.Message{ID: noticeID, Tenant: t.ID, Kind: notify.KindAdvisory, Severity: severityOf(n.Severity),
		Subject: clip(t.Name+": "+n.Title, 200), Text: clip(n.Harm, 2000), Link: data.Link}
	if err := s.raise(sys, esc); err != nil {
		errs = append(errs, fmt.Errorf("escalation: %w", err))
	}
	now := s.clock.Now()
	dn := store.DeskNotice{ID: noticeID, TenantID: t.ID, Title: n.Title, Severity: n.Severity, Summary: n.Harm,
		RemindEvery: time.Duration(n.RemindHours) * time.Hour, MaxReminders: n.Reminders, CreatedBy: auth.FromContext(ctx).UserID}
	if dn.RemindEvery == 0 {
		dn.MaxReminders = 0
	}
	var rs []store.NoticeRecipient
	if len(s.ackKey) > 0 {
		contacts, err := s.store.Contacts().List(ctx, t.ID, store.ContactFilter{})
		if err != nil {
			return 0, errors.Join(append(errs, err)...)
		}
		chans, err := s.store.NotifyChannels().List(ctx, t.ID)
		if err != nil {
			return 0, errors.Join(append(errs, err)...)
		}
		first := func(kind string) string {
			for _, c := range chans {
				if c.Enabled && c.Kind == kind {
					return c.ID
				}
			}
			return ""
		}
		via := map[string]string{"email": first("email"), "sms": first("sms")}
		add := func(c store.Contact, kind, addr string) {
			if addr == "" || len(rs) >= MaxNoticeRecipients {
				return
			}
			r := store.NoticeRecipient{ContactID: c.ID, Name: c.Name, Via: kind, Address: addr, ChannelID: via[kind], Status: "queued"}
			if r.ChannelID == "" {
				r.Status = "no-channel"
			} else if dn.MaxReminders > 0 {
				r.NextRemindAt = now.Add(dn.RemindEvery)
			}
			rs = append(rs, r)
		}
		for _, c := range contacts {
			if c.Kind == "vendor-support" {
				continue // a vendor's support line is not the tenant's own people
			}
			add(c, "email", strings.TrimSpace(c.Email))
			add(c, "sms", normPhone(c.Phone))
		}
	}
	if err := s.store.Desk().CreateNotice(ctx, &dn, rs); err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	sent := 0
	for _, r := range rs {
		if r.Status != "queued" {
			continue
		}
		if err := s.sendPersonal(sys, t, r, data, 0); err != nil {
			errs = append(errs, err)
			if serr := s.store.Desk().SetRecipientStatus(ctx, t.ID, r.ID, "failed", clip(err.Error(), 500)); serr != nil {
				errs = append(errs, serr)
			}
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}

// personalID is the message ID of the nth message (0 the notice, then the
// reminders) to a recipient; the personal channel reads the recipient
// from it.
func personalID(noticeID, recipientID string, n int) string {
	return fmt.Sprintf("%s~%s~%d", noticeID, recipientID, n)
}

// sendPersonal queues one personal message to a recipient through the
// tenant channel it was assigned.
func (s *Service) sendPersonal(ctx context.Context, t store.Tenant, r store.NoticeRecipient, data notify.TemplateData, n int) error {
	link, err := s.noticeLink(t.ID, r.ID)
	if err != nil {
		return err
	}
	data.AckURL = link
	msg, err := s.templates.Message(personalID(r.NoticeID, r.ID, n), notify.KindUrgentNotice, s.lang, data)
	if err != nil {
		return err
	}
	msg.Tenant = t.ID
	c, err := s.store.NotifyChannels().Get(ctx, t.ID, r.ChannelID)
	if err != nil {
		return fmt.Errorf("notice to %s: channel: %w", r.Name, err)
	}
	if !c.Enabled {
		return fmt.Errorf("notice to %s: channel %s is disabled", r.Name, c.Name)
	}
	name := c.TenantID + "/" + c.ID + "/personal"
	if err := s.ensurePersonal(ctx, c, name); err != nil {
		return fmt.Errorf("channel %s: %w", c.Name, err)
	}
	if err := s.disp.Enqueue(ctx, name, msg); err != nil {
		return fmt.Errorf("channel %s: %w", c.Name, err)
	}
	return nil
}

// ensurePersonal adds the personal queue of a tenant channel to the
// dispatcher on first use: one queue per channel, whatever the number of
// recipients, at the channel's own rate.
func (s *Service) ensurePersonal(ctx context.Context, c store.NotifyChannel, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.added[name] {
		return nil
	}
	cfg, limit, err := s.channelConfig(ctx, c) // checks the configuration
	if err != nil {
		return err
	}
	if err := s.disp.AddChannel(name, &personalChannel{s: s, tenantID: c.TenantID, cfg: cfg}, limit); err != nil {
		return err
	}
	s.added[name] = true
	return nil
}

// personalChannel sends each message to the one recipient its ID names,
// through a copy of the tenant channel addressed to that recipient alone.
type personalChannel struct {
	s        *Service
	tenantID string
	cfg      notify.ChannelConfig
}

var _ notify.Channel = (*personalChannel)(nil)

func (p *personalChannel) Send(ctx context.Context, msg notify.Message) (notify.Receipt, error) {
	fail := func(err error) (notify.Receipt, error) {
		return notify.Receipt{}, &notify.SendError{Channel: p.cfg.Name, Err: err}
	}
	parts := strings.Split(msg.ID, "~")
	if len(parts) != 3 {
		return fail(errors.New("not a personal message"))
	}
	r, err := p.s.store.Desk().GetRecipient(ctx, p.tenantID, parts[1])
	if err != nil {
		return fail(fmt.Errorf("recipient: %w", err))
	}
	if r.Via != p.cfg.Kind {
		return fail(fmt.Errorf("recipient %s is reached by %s, not %s", r.ID, r.Via, p.cfg.Kind))
	}
	cfg, err := addressed(p.cfg, r.Via, r.Address)
	if err != nil {
		return fail(err)
	}
	ch, _, err := p.s.registry.Build(cfg, p.s.env)
	if err != nil {
		return fail(err)
	}
	return ch.Send(ctx, msg)
}

// addressed returns a copy of an e-mail or SMS channel configuration that
// reaches addr only.
func addressed(cfg notify.ChannelConfig, via, addr string) (notify.ChannelConfig, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(cfg.Settings, &m); err != nil {
		return cfg, fmt.Errorf("settings: %w", err)
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	to, err := json.Marshal([]string{addr})
	if err != nil {
		return cfg, err
	}
	switch via {
	case "email":
		m["to"] = to
		delete(m, "cc")
	case "sms":
		m["numbers"] = to
	default:
		return cfg, fmt.Errorf("cannot address a %s channel", via)
	}
	out := cfg
	if out.Settings, err = json.Marshal(m); err != nil {
		return cfg, err
	}
	return out, nil
}

// TickNoticeReminders sends the reminders that are due to recipients who
// have not acknowledged their notice. Each reminder is claimed in the
// store first, so nodes ticking together send it once.
func (s *Service) TickNoticeReminders(ctx context.Context) error {
	if len(s.ackKey) == 0 {
		return nil
	}
	now := s.clock.Now()
	due, err := s.store.Desk().DueReminders(ctx, now, reminderBatch)
	if err != nil {
		return err
	}
	notices := map[string]store.DeskNotice{}
	tenants := map[string]store.Tenant{}
	var errs []error
	for _, r := range due {
		key := r.TenantID + "/" + r.NoticeID
		n, ok := notices[key]
		if !ok {
			if n, err = s.store.Desk().GetNotice(ctx, r.TenantID, r.NoticeID); err != nil {
				errs = append(errs, err)
				continue
			}
			notices[key] = n
		}
		t, ok := tenants[r.TenantID]
		if !ok {
			if t, err = s.store.Tenants().Get(ctx, r.TenantID); err != nil {
				errs = append(errs, err)
				continue
			}
			tenants[r.TenantID] = t
		}
		nth := r.Reminders + 1
		var next time.Time
		if nth < min(n.MaxReminders, MaxNoticeReminders) && n.RemindEvery > 0 {
			next = now.Add(n.RemindEvery)
		}
		if err := s.store.Desk().ClaimReminder(ctx, r.TenantID, r.ID, r.Reminders, next); errors.Is(err, store.ErrConflict) {
			continue // another node sent it, or it was acknowledged meanwhile
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		data := notify.TemplateData{Tenant: t.Name, Title: s.reminderTitle(nth, n.MaxReminders, n.Title), Severity: severityOf(n.Severity),
			Summary: n.Summary, Time: n.CreatedAt}
		if err := s.sendPersonal(ctx, t, r, data, nth); err != nil {
			errs = append(errs, fmt.Errorf("notice reminder: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) reminderTitle(n, of int, title string) string {
	if s.lang == notify.LangZH {
		return clip(fmt.Sprintf("提醒 %d/%d：%s", n, of, title), MaxNoticeTitle+20)
	}
	return clip(fmt.Sprintf("Reminder %d/%d: %s", n, of, title), MaxNoticeTitle+20)
}

// NoticeAck is what a personal notice link names.
type NoticeAck struct {
	Tenant    store.Tenant
	Notice    store.DeskNotice
	Recipient store.NoticeRecipient
	// First is set when this confirmation acknowledged it.
	First bool
}

func (s *Service) noticeFromToken(ctx context.Context, token string) (NoticeAck, error) {
	sg, err := s.noticeSigner()
	if err != nil {
		return NoticeAck{}, err
	}
	id, err := sg.Verify(token)
	if err != nil {
		return NoticeAck{}, err
	}
	tenantID, rid, ok := strings.Cut(id, "/")
	if !ok {
		return NoticeAck{}, notify.ErrBadAckToken
	}
	var res NoticeAck
	if res.Recipient, err = s.store.Desk().GetRecipient(ctx, tenantID, rid); err != nil {
		return res, err
	}
	if res.Notice, err = s.store.Desk().GetNotice(ctx, tenantID, res.Recipient.NoticeID); err != nil {
		return res, err
	}
	res.Tenant, err = s.store.Tenants().Get(ctx, tenantID)
	return res, err
}

// OpenNotice is the page a personal link opens: it marks the notice read
// for its recipient (never acknowledged: a GET may be a mail client's
// preview) and tells what it is.
func (s *Service) OpenNotice(ctx context.Context, token string) (NoticeAck, error) {
	res, err := s.noticeFromToken(ctx, token)
	if err != nil {
		return res, err
	}
	if err := s.store.Desk().MarkRecipientRead(ctx, res.Tenant.ID, res.Recipient.ID, s.clock.Now()); err != nil {
		return res, err
	}
	return res, nil
}

// AckNotice acknowledges a notice for the recipient a signed link names,
// in the name of by (what the person typed, bounded; their contact name
// when empty). It needs no session: the signature is the authority.
func (s *Service) AckNotice(ctx context.Context, token, by string) (NoticeAck, error) {
	res, err := s.noticeFromToken(ctx, token)
	if err != nil {
		return res, err
	}
	by = clip(strings.TrimSpace(by), 100)
	if by == "" {
		by = res.Recipient.Name
	}
	if res.First, err = s.store.Desk().AckRecipient(ctx, res.Tenant.ID, res.Recipient.ID, by, s.clock.Now()); err != nil {
		return res, err
	}
	if !res.First {
		return res, nil
	}
	sys := auth.WithPrincipal(ctx, &auth.Principal{Username: "acknowledgement link", UserID: "system"})
	return res, s.audit.Record(sys, audit.Event{TenantID: res.Tenant.ID, Action: "notice.ack_link", Object: "notice:" + res.Notice.ID,
		Detail: map[string]string{"by": by, "recipient": res.Recipient.ID, "contact": res.Recipient.ContactID, "via": res.Recipient.Via}})
}

// DeskNotices lists a tenant's urgent notices with how many recipients
// read and acknowledged each.
func (s *Service) DeskNotices(ctx context.Context, tenantID string, p store.Page) ([]store.DeskNotice, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Desk().Notices(ctx, tenantID, p)
}

// NoticeStatus is one notice of a tenant with its recipients: who read
// and acknowledged it and who has not. Addresses are shown to those who
// may read contacts only.
func (s *Service) NoticeStatus(ctx context.Context, tenantID, id string) (store.DeskNotice, []store.NoticeRecipient, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return store.DeskNotice{}, nil, err
	}
	n, err := s.store.Desk().GetNotice(ctx, tenantID, id)
	if err != nil {
		return n, nil, err
	}
	rs, err := s.store.Desk().Recipients(ctx, tenantID, id)
	if err != nil {
		return n, nil, err
	}
	if !auth.FromContext(ctx).Can(auth.PermContactRead, tenantID) {
		for i := range rs {
			rs[i].Address = ""
		}
	}
	return n, rs, nil
}
