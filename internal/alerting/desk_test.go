package alerting_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// ---- a real SMTP server that keeps every message with its recipients ----

type mailMsg struct {
	to   []string
	body string // every text part, decoded
	html string // the HTML part, decoded
	subj string
}

type mailbox struct {
	mu   sync.Mutex
	msgs []mailMsg
}

func (m *mailbox) all() []mailMsg {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mailMsg(nil), m.msgs...)
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: m}, nil }

type mailSession struct {
	box *mailbox
	to  []string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Reset()        { s.to = nil }
func (s *mailSession) Logout() error { return nil }

func (s *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	msg := mailMsg{to: append([]string(nil), s.to...), subj: subj}
	var walk func(h map[string][]string, body io.Reader) error
	walk = func(h map[string][]string, body io.Reader) error {
		get := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		mt, params, _ := mime.ParseMediaType(get("Content-Type"))
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
				if err := walk(p.Header, p); err != nil {
					return err
				}
			}
		}
		if strings.EqualFold(get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		if mt == "text/html" {
			msg.html += string(b)
		}
		msg.body += string(b)
		return nil
	}
	if err := walk(m.Header, m.Body); err != nil {
		return err
	}
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, msg)
	s.box.mu.Unlock()
	return nil
}

func startMailbox(t *testing.T) (string, *mailbox) {
	t.Helper()
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String(), box
}

// waitN waits (bounded) until n() reaches want and returns n().
func waitN(n func() int, want int) int {
	deadline := time.Now().Add(20 * time.Second)
	for n() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return n()
}

func emailChannel(t *testing.T, svc *alerting.Service, ctx context.Context, tenantID, addr string) store.NotifyChannel {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	settings, _ := json.Marshal(map[string]any{"host": host, "port": json.Number(port), "tls": "none",
		"from": "Vigil <vigil@soc.example>", "to": []string{"soc-list@acme.example"}, "cc": []string{"cc@acme.example"}})
	c, err := svc.Create(ctx, tenantID, alerting.Input{Name: "mail", Kind: "email", Settings: settings, MinLevel: "critical", AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var noticeLinkRE = regexp.MustCompile(`https://soc\.example/notice-ack\?token=([A-Za-z0-9_.%-]+)`)

func linkToken(t *testing.T, s string) string {
	t.Helper()
	m := noticeLinkRE.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no notice link in %q", s)
	}
	tok, err := url.QueryUnescape(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestNoticeRecipientsAcknowledgeAndReminders: an urgent notice reaches
// each of the tenant's own contacts by e-mail (to them alone) and SMS,
// each with a personal link; opening a link marks it read, confirming
// acknowledges it; an escalation link or a forged one does not; those who
// have not acknowledged are reminded every four hours, twice at most.
func TestNoticeRecipientsAcknowledgeAndReminders(t *testing.T) {
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	clock := &setClock{now: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example", Clock: clock,
		AckKey: []byte("0123456789abcdef0123456789abcdef-ack")})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	addr, box := startMailbox(t)
	mailCh := emailChannel(t, svc, admin, e.TenantA.ID, addr)
	gw := &receiver{}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	settings, _ := json.Marshal(map[string]any{"url": srv.URL + "/sms", "numbers": []string{"+8613800000000"}, "max_runes": 500})
	smsCh, err := svc.Create(admin, e.TenantA.ID, alerting.Input{Name: "sms", Kind: "sms", Settings: settings,
		Secrets: map[string]string{"signing_secret": "hook-secret"}, MinLevel: "critical", AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.Contact{
		{TenantID: e.TenantA.ID, Kind: "security-owner", Name: "张三", Email: "zs@acme.example", Phone: "+86 139-0000-0001"},
		{TenantID: e.TenantA.ID, Kind: "management", Name: "李四", Email: "ls@acme.example", Phone: "010-12345678"},
		{TenantID: e.TenantA.ID, Kind: "vendor-support", Name: "Vendor", Email: "support@vendor.example"},
	} {
		if err := e.Store.Contacts().Create(admin, &c); err != nil {
			t.Fatal(err)
		}
	}
	analyst := e.As(t.Context(), e.AnalystA)
	n := alerting.Notice{Title: "Struts RCE <exploited>", Severity: "critical", Harm: "Remote code execution", RemindHours: 4, Reminders: 2}
	bad := n
	bad.Reminders = 4
	if _, err := svc.PublishNotice(analyst, []string{e.TenantA.ID}, bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("four reminders: %v", err)
	}
	bad.RemindHours, bad.Reminders = 4, 0
	if _, err := svc.PublishNotice(analyst, []string{e.TenantA.ID}, bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("hours without reminders: %v", err)
	}
	res, err := svc.PublishNotice(analyst, []string{e.TenantA.ID}, n)
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("publish %+v, %v", res, err)
	}
	// 张三 by e-mail and SMS, 李四 by e-mail (his number is not E.164);
	// not the vendor.
	if res[0].Recipients != 3 {
		t.Fatalf("%d personal messages, want 3", res[0].Recipients)
	}
	// The channel's own message plus one per e-mail recipient; the
	// gateway gets the channel's message and 张三's.
	if got := waitN(func() int { return len(box.all()) }, 3); got != 3 {
		t.Fatalf("%d mails, want 3", got)
	}
	if got := waitN(func() int { return len(gw.got()) }, 2); got != 2 {
		t.Fatalf("%d SMS posts, want 2", got)
	}
	personal := map[string]string{} // address → token
	for _, m := range box.all() {
		switch strings.Join(m.to, ",") {
		case "soc-list@acme.example,cc@acme.example":
			if noticeLinkRE.MatchString(m.body) {
				t.Errorf("the channel's message carries a personal link")
			}
		case "zs@acme.example", "ls@acme.example":
			if !strings.Contains(m.html, "Struts RCE &lt;exploited&gt;") {
				t.Errorf("personal mail HTML %q", m.html)
			}
			personal[m.to[0]] = linkToken(t, m.body)
		default:
			t.Errorf("mail to %v", m.to)
		}
	}
	var smsToken string
	for _, b := range gw.got() {
		var p struct {
			To   []string `json:"to"`
			Text string   `json:"text"`
		}
		if err := json.Unmarshal([]byte(b), &p); err != nil {
			t.Fatal(err)
		}
		if len(p.To) == 1 && p.To[0] == "+8613900000001" {
			smsToken = linkToken(t, p.Text)
		}
	}
	if len(personal) != 2 || smsToken == "" || personal["zs@acme.example"] == personal["ls@acme.example"] || smsToken == personal["zs@acme.example"] {
		t.Fatalf("personal links %v, sms %q", personal, smsToken)
	}

	notices, err := svc.DeskNotices(analyst, e.TenantA.ID, store.Page{})
	if err != nil || len(notices) != 1 || notices[0].Recipients != 3 || notices[0].Read != 0 {
		t.Fatalf("notices %+v, %v", notices, err)
	}
	noticeID := notices[0].ID
	if _, _, err := svc.NoticeStatus(e.As(t.Context(), e.CustomerB), e.TenantA.ID, noticeID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("B's customer reading A's notice: %v", err)
	}

	// 张三 opens his e-mail link (read), then confirms (acknowledged).
	zs := personal["zs@acme.example"]
	opened, err := svc.OpenNotice(t.Context(), zs)
	if err != nil || opened.Recipient.Name != "张三" || opened.Recipient.Via != "email" || opened.Tenant.ID != e.TenantA.ID {
		t.Fatalf("open %+v, %v", opened, err)
	}
	if _, err := svc.AckNotice(t.Context(), zs[:len(zs)-2]+"xx", ""); err == nil {
		t.Fatal("a forged link acknowledged")
	}
	// An escalation acknowledgement link naming the same recipient is not
	// a notice link: the keys differ.
	escLink, err := svc.AckLink(e.TenantA.ID+"/"+opened.Recipient.ID, clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(escLink)
	if _, err := svc.AckNotice(t.Context(), u.Query().Get("token"), ""); !errors.Is(err, notify.ErrBadAckToken) {
		t.Fatalf("escalation link used as a notice link: %v", err)
	}
	acked, err := svc.AckNotice(t.Context(), zs, "")
	if err != nil || !acked.First {
		t.Fatalf("ack %+v, %v", acked, err)
	}
	again, err := svc.AckNotice(t.Context(), zs, "someone else")
	if err != nil || again.First || again.Recipient.AckedBy != "张三" {
		t.Fatalf("second ack %+v, %v", again, err)
	}
	if _, err := svc.OpenNotice(t.Context(), personal["ls@acme.example"]); err != nil {
		t.Fatal(err)
	}

	tick := func(d time.Duration) {
		t.Helper()
		clock.add(d)
		if err := svc.TickNoticeReminders(admin); err != nil {
			t.Fatal(err)
		}
	}
	tick(4*time.Hour - time.Minute)
	time.Sleep(100 * time.Millisecond) // a reminder sent too early would have arrived by now
	if len(box.all()) != 3 || len(gw.got()) != 2 {
		t.Fatalf("reminded before four hours: %d mails, %d SMS", len(box.all()), len(gw.got()))
	}
	// At four hours: 李四 (read, not acknowledged) by mail and 张三's SMS
	// recipient; not 张三's acknowledged e-mail.
	tick(time.Minute)
	if waitN(func() int { return len(box.all()) }, 4) != 4 || waitN(func() int { return len(gw.got()) }, 3) != 3 {
		t.Fatalf("first reminders: %d mails, %d SMS", len(box.all()), len(gw.got()))
	}
	last := box.all()[3]
	if strings.Join(last.to, ",") != "ls@acme.example" || !strings.Contains(last.subj, "Reminder 1/2") {
		t.Fatalf("reminder to %v: %q", last.to, last.subj)
	}
	if linkToken(t, last.body) == "" {
		t.Fatal("reminder without link")
	}
	tick(4 * time.Hour)
	if waitN(func() int { return len(box.all()) }, 5) != 5 || waitN(func() int { return len(gw.got()) }, 4) != 4 {
		t.Fatalf("second reminders: %d mails, %d SMS", len(box.all()), len(gw.got()))
	}
	tick(4 * time.Hour)
	tick(24 * time.Hour)
	time.Sleep(100 * time.Millisecond)
	if len(box.all()) != 5 || len(gw.got()) != 4 {
		t.Fatalf("more than two reminders: %d mails, %d SMS", len(box.all()), len(gw.got()))
	}

	n2, rs, err := svc.NoticeStatus(analyst, e.TenantA.ID, noticeID)
	if err != nil || n2.Read != 2 || n2.Acked != 1 || len(rs) != 3 {
		t.Fatalf("status %+v %+v, %v", n2, rs, err)
	}
	for _, r := range rs {
		want := 2
		if r.Via == "email" && r.Name == "张三" {
			want = 0
		}
		if r.Reminders != want || r.Status != "queued" {
			t.Errorf("recipient %s/%s: %d reminders, status %s", r.Name, r.Via, r.Reminders, r.Status)
		}
		if r.Address == "" {
			t.Errorf("the analyst may read contacts but got no address for %s", r.Name)
		}
	}
	// Personal deliveries are logged under their channel.
	ds, err := svc.Deliveries(admin, e.TenantA.ID, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.ChannelID != mailCh.ID && d.ChannelID != smsCh.ID {
			t.Errorf("delivery logged under %q", d.ChannelID)
		}
	}
}

// TestDigestSectionsGoOutInTheNextWeeklyDigest: an analyst's section
// waits for the tenant's next weekly digest, appears in it HTML-escaped,
// and is then sent: the following digest does not carry it again, and a
// report (daily or weekly) never does.
func TestDigestSectionsGoOutInTheNextWeeklyDigest(t *testing.T) {
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	addr, box := startMailbox(t)
	emailChannel(t, svc, admin, e.TenantA.ID, addr)
	analyst := e.As(t.Context(), e.AnalystA)
	if _, err := svc.AddDigestSection(e.As(t.Context(), e.CustomerB), e.TenantA.ID, "t", "b"); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("B's customer writing A's digest: %v", err)
	}
	if _, err := svc.AddDigestSection(analyst, e.TenantA.ID, "t", strings.Repeat("长", alerting.MaxSectionBody+1)); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("body too long: %v", err)
	}
	if _, err := svc.AddDigestSection(analyst, e.TenantA.ID, "  ", "b"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("no title: %v", err)
	}
	sec, err := svc.AddDigestSection(analyst, e.TenantA.ID, "行业态势 <b>本周</b>", "Ransomware <script>alert(1)</script> & phishing\r\nsecond line")
	if err != nil {
		t.Fatal(err)
	}
	report := func(id, source string) {
		t.Helper()
		r := store.Report{ID: id, TenantID: e.TenantA.ID, Service: "monitoring", Kind: "monitoring", SourceID: source,
			Title: "Security monitoring report", Format: "html", CreatedAt: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)}
		if err := svc.SendReport(admin, r, source); err != nil {
			t.Fatal(err)
		}
	}
	report("daily-1", "2026-11-22..2026-11-23")
	report("weekly-1", "2026-11-16..2026-11-23")
	if waitN(func() int { return len(box.all()) }, 2) != 2 || strings.Contains(box.all()[0].body, "Ransomware") || strings.Contains(box.all()[1].body, "Ransomware") {
		t.Fatalf("a report carried the section: %+v", box.all())
	}
	// The weekly digest (digest_send.go) carries it.
	if _, err := svc.SendDigestNow(analyst, e.TenantA.ID, nil); err != nil {
		t.Fatal(err)
	}
	if waitN(func() int { return len(box.all()) }, 3) != 3 {
		t.Fatal("no weekly digest")
	}
	html := box.all()[2].html
	for _, want := range []string{"行业态势 &lt;b&gt;本周&lt;/b&gt;", "Ransomware &lt;script&gt;alert(1)&lt;/script&gt; &amp; phishing"} {
		if !strings.Contains(html, want) {
			t.Errorf("digest HTML lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "<b>本周") {
		t.Errorf("digest HTML carries markup from the section:\n%s", html)
	}
	if !strings.Contains(box.all()[2].body, "second line") {
		t.Error("the text part lacks the section")
	}
	secs, err := svc.DigestSections(analyst, e.TenantA.ID, store.Page{})
	if err != nil || len(secs) != 1 || secs[0].ID != sec.ID || !strings.HasPrefix(secs[0].SentIn, "digest:manual-") || secs[0].SentAt.IsZero() {
		t.Fatalf("sections after the digest %+v, %v", secs, err)
	}
	if err := svc.DeleteDigestSection(analyst, e.TenantA.ID, sec.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a sent section: %v", err)
	}
	if _, err := svc.SendDigestNow(analyst, e.TenantA.ID, nil); err != nil {
		t.Fatal(err)
	}
	if waitN(func() int { return len(box.all()) }, 4) != 4 || strings.Contains(box.all()[3].body, "Ransomware") {
		t.Fatal("the next digest carried the section again")
	}
}

// TestKEVMatchAndAdvisoryEscalate: a rule for KEV matches escalates a
// known exploited vulnerability among the tenant's early warnings once,
// not advisories that are not KEV nor KEV entries matching nothing; a
// rule for advisories escalates an urgent notice published to the tenant.
func TestKEVMatchAndAdvisoryEscalate(t *testing.T) {
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	clock := &setClock{now: time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)}
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example", Clock: clock,
		AckKey: []byte("0123456789abcdef0123456789abcdef-ack")})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	settings, _ := json.Marshal(map[string]string{"url": srv.URL})
	hook, err := svc.Create(admin, e.TenantA.ID, alerting.Input{Name: "duty", Kind: "webhook", Settings: settings,
		Secrets: map[string]string{"signing_secret": "hook-secret"}, MinLevel: "critical", AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	rule := alerting.EscalationRule{Name: "intel", Enabled: true, Rule: notify.Rule{Kinds: []notify.Kind{notify.KindKEVMatch},
		Steps: []notify.Step{{Channels: []string{hook.ID}}}}}
	if err := svc.SaveEscalationRule(admin, e.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}
	asked := map[string]int{}
	warnings := func(_ context.Context, tenantID string) ([]hunt.AdvisoryMatch, error) {
		asked[tenantID]++
		hit := []hunt.AssetHit{{AssetID: e.AssetA.ID, Name: e.AssetA.Name, Reason: "attribute"}}
		return []hunt.AdvisoryMatch{
			{Advisory: hunt.Advisory{ID: "CVE-2024-3400", Title: "PAN-OS GlobalProtect command injection", Severity: "critical",
				Source: "cisa-kev", Exploited: true, Action: "Apply mitigations", Published: clock.Now().Add(time.Hour)}, Assets: hit},
			{Advisory: hunt.Advisory{ID: "VENDOR-2026-1", Title: "Vendor advisory", Severity: "high", Source: "stix"}, Assets: hit},
			{Advisory: hunt.Advisory{ID: "CVE-2021-44228", Title: "Log4Shell", Severity: "critical", Source: "cisa-kev", Exploited: true}},
		}, nil
	}
	clock.add(2 * time.Hour) // published after the rule was enabled: it escalates (see digest_kev_test.go for the backlog)
	n, err := svc.RaiseKEVMatches(admin, warnings)
	if err != nil || n != 1 {
		t.Fatalf("raised %d, %v", n, err)
	}
	if asked[e.TenantB.ID] != 0 {
		t.Error("a tenant without a KEV rule was matched")
	}
	if waitN(func() int { return len(rc.got()) }, 1) != 1 || !strings.Contains(rc.got()[0], "CVE-2024-3400") {
		t.Fatalf("hook got %q", rc.got())
	}
	n, err = svc.RaiseKEVMatches(admin, warnings)
	if err != nil || n != 0 {
		t.Fatalf("raised again: %d, %v", n, err)
	}

	rule.Rule.Kinds = []notify.Kind{notify.KindAdvisory}
	rule.Name = "advisories"
	if err := svc.SaveEscalationRule(admin, e.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PublishNotice(admin, []string{e.TenantA.ID}, alerting.Notice{Title: "Citrix Bleed", Severity: "high", Harm: "session theft"}); err != nil {
		t.Fatal(err)
	}
	escs, err := svc.Escalations(admin, e.TenantA.ID, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[notify.Kind]int{}
	for _, x := range escs {
		kinds[x.Message.Kind]++
	}
	if len(escs) != 2 || kinds[notify.KindKEVMatch] != 1 || kinds[notify.KindAdvisory] != 1 {
		t.Fatalf("escalations %+v", escs)
	}
	// The notice itself and its escalation step both reach the hook.
	if waitN(func() int { return len(rc.got()) }, 3) != 3 {
		t.Fatalf("hook got %d messages", len(rc.got()))
	}
	if rc.bad != 0 {
		t.Fatal("bad signatures")
	}
}

// TestShiftsHandoversAndOnCall: the person on the desk's shift is the
// one an escalation step names as on call; handover notes point at
// alerts that exist, and the next shift (not the author) acknowledges
// them once.
func TestShiftsHandoversAndOnCall(t *testing.T) {
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	clock := &setClock{now: time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)}
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example", Clock: clock,
		AckKey: []byte("0123456789abcdef0123456789abcdef-ack")})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	night := store.User{Username: "wang.night", DisplayName: "Wang", PasswordHash: "x", GlobalRole: auth.RoleAnalyst}
	if err := e.Store.Users().Create(admin, &night); err != nil {
		t.Fatal(err)
	}
	day := store.User{Username: "li.day", DisplayName: "Li", PasswordHash: "x", GlobalRole: auth.RoleAnalyst}
	if err := e.Store.Users().Create(admin, &day); err != nil {
		t.Fatal(err)
	}
	nightCtx, dayCtx := e.As(t.Context(), night), e.As(t.Context(), day)

	now := clock.Now()
	if _, err := svc.AddShift(dayCtx, alerting.ShiftInput{User: "li.day", StartsAt: now, EndsAt: now.Add(8 * time.Hour)}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an analyst planning shifts: %v", err)
	}
	if _, err := svc.AddShift(admin, alerting.ShiftInput{User: "li.day", StartsAt: now, EndsAt: now}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty shift: %v", err)
	}
	if _, err := svc.AddShift(admin, alerting.ShiftInput{User: "nobody", StartsAt: now, EndsAt: now.Add(time.Hour)}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unknown user: %v", err)
	}
	ns, err := svc.AddShift(admin, alerting.ShiftInput{User: "wang.night", StartsAt: now.Add(-8 * time.Hour), EndsAt: now, Note: "夜班"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddShift(admin, alerting.ShiftInput{User: day.ID, StartsAt: now, EndsAt: now.Add(8 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	duty, err := svc.OnDuty(nightCtx)
	if err != nil || len(duty) != 1 || duty[0].Username != "li.day" {
		t.Fatalf("on duty at 14:00: %+v, %v", duty, err)
	}
	if _, err := svc.OnDuty(e.As(t.Context(), e.AnalystA)); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("a tenant's analyst reading the SOC's desk: %v", err)
	}

	// The night shift hands over, pointing at an alert of tenant A.
	al := store.Alert{ID: "al-1", TenantID: e.TenantA.ID, GroupKey: "g", RuleID: "r", RuleTitle: "Beaconing to known C2", Level: "high",
		Host: "ws-7", Count: 1, Status: "new", FirstSeen: now, LastSeen: now}
	if _, err := e.Store.Alerts().Raise(admin, &al, time.Minute, []string{"new"}, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.WriteHandover(nightCtx, alerting.HandoverInput{OpenItems: "x",
		Refs: []store.HandoverRef{{TenantID: e.TenantA.Slug, Kind: "alert", ID: "missing"}}}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("reference to a missing alert: %v", err)
	}
	h, err := svc.WriteHandover(nightCtx, alerting.HandoverInput{ShiftID: ns.ID, OpenItems: "Beaconing on ws-7 under analysis",
		Watch: "VPN logins from new countries", Refs: []store.HandoverRef{{TenantID: e.TenantA.Slug, Kind: "alert", ID: "al-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	var fe *store.FieldError
	if err := svc.AckHandover(nightCtx, h.ID); !errors.As(err, &fe) || fe.Code != store.CodeSelfChange {
		t.Fatalf("author acknowledging: %v", err)
	}
	views, err := svc.Handovers(dayCtx, store.Page{})
	if err != nil || len(views) != 1 || !views[0].CanAck || len(views[0].Refs) != 1 || views[0].Refs[0].Title != "Beaconing to known C2" ||
		views[0].Refs[0].Tenant.ID != e.TenantA.ID {
		t.Fatalf("handovers for the day shift %+v, %v", views, err)
	}
	if err := svc.AckHandover(dayCtx, h.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.AckHandover(admin, h.ID); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("second acknowledgement: %v", err)
	}
	views, _ = svc.Handovers(dayCtx, store.Page{})
	if views[0].AckedBy != "li.day" || views[0].CanAck {
		t.Fatalf("acknowledged handover %+v", views[0])
	}

	// Escalation names whoever is on shift, not the rotation.
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	settings, _ := json.Marshal(map[string]string{"url": srv.URL})
	hook, err := svc.Create(admin, e.TenantA.ID, alerting.Input{Name: "duty", Kind: "webhook", Settings: settings,
		Secrets: map[string]string{"signing_secret": "hook-secret"}, MinLevel: "critical", AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	rule := alerting.EscalationRule{Name: "desk", Enabled: true, Rule: notify.Rule{Kinds: []notify.Kind{notify.KindAlert},
		Steps: []notify.Step{{Channels: []string{hook.ID}, NotifyOnCall: true}}, OnCallShift: true,
		OnCall: &notify.Rotation{People: []string{"rota-person"}, Period: 24 * time.Hour, Start: now.Add(-time.Hour)}}}
	if err := svc.SaveEscalationRule(admin, e.TenantA.ID, rule); err != nil {
		t.Fatal(err)
	}
	raise := func(id string) {
		a := store.Alert{ID: id, TenantID: e.TenantA.ID, GroupKey: id, RuleID: "r", RuleTitle: "Web shell", Level: "critical",
			Host: "web-01", Count: 1, Status: "new", FirstSeen: clock.Now(), LastSeen: clock.Now()}
		if _, err := e.Store.Alerts().Raise(admin, &a, time.Minute, []string{"new"}, 10); err != nil {
			t.Fatal(err)
		}
		if err := svc.Alerted(admin, a); err != nil {
			t.Fatal(err)
		}
	}
	raise("a-day")
	if waitN(func() int { return len(rc.got()) }, 2) != 2 {
		t.Fatalf("hook got %q", rc.got())
	}
	if !strings.Contains(strings.Join(rc.got(), ""), "On call: li.day") {
		t.Fatalf("the step does not name the shift: %q", rc.got())
	}
	// After the day shift nobody is on the desk: the rotation answers.
	clock.add(9 * time.Hour)
	raise("a-evening")
	if waitN(func() int { return len(rc.got()) }, 4) != 4 || !strings.Contains(strings.Join(rc.got()[2:], ""), "On call: rota-person") {
		t.Fatalf("hook got %q", rc.got())
	}
}
