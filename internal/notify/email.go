package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// EmailSettings are the non-secret options of an SMTP channel. The secret is
// "password".
type EmailSettings struct {
	Host string `json:"host"`
	// Port defaults to 587, or 465 with implicit TLS.
	Port int `json:"port,omitempty"`
	// TLS is "mandatory" (STARTTLS required, default), "opportunistic"
	// (STARTTLS when offered), "none" or "implicit" (TLS from the first byte).
	TLS string `json:"tls,omitempty"`
	// Auth is "none" (default), "plain", "login" or "cram-md5".
	Auth     string   `json:"auth,omitempty"`
	Username string   `json:"username,omitempty"`
	From     string   `json:"from"`
	To       []string `json:"to"`
	Cc       []string `json:"cc,omitempty"`
	// HELO overrides the name sent in EHLO.
	HELO string `json:"helo,omitempty"`
	// ServerName overrides the name checked in the server certificate.
	ServerName string `json:"server_name,omitempty"`
	// CAPEM adds trusted roots for a private relay, in PEM.
	CAPEM string `json:"ca_pem,omitempty"`
}

type emailChannel struct {
	name     string
	settings EmailSettings
	password string
	tlsConf  *tls.Config
	dial     gomail.DialContextFunc
	timeout  time.Duration
	now      func() time.Time
}

var _ Channel = (*emailChannel)(nil)

const maxRecipients = 100

func newEmailChannel(cfg ChannelConfig, env Env) (Channel, error) {
	var s EmailSettings
	if err := settingsInto(cfg, &s); err != nil {
		return nil, err
	}
	sec, err := secretsFor(cfg, "password")
	if err != nil {
		return nil, err
	}
	if s.Host == "" || strings.ContainsAny(s.Host, "/ \r\n") {
		return nil, fmt.Errorf("email: host %q missing or malformed", s.Host)
	}
	switch s.TLS {
	case "":
		s.TLS = "mandatory"
	case "mandatory", "opportunistic", "none", "implicit":
	default:
		return nil, fmt.Errorf("email: tls %q: want mandatory, opportunistic, none or implicit", s.TLS)
	}
	switch s.Auth {
	case "":
		s.Auth = "none"
	case "none":
	case "plain", "login", "cram-md5":
		if s.Username == "" || sec["password"] == "" {
			return nil, fmt.Errorf("email: auth %s needs a username and the password secret", s.Auth)
		}
	default:
		return nil, fmt.Errorf("email: auth %q: want none, plain, login or cram-md5", s.Auth)
	}
	if s.Port == 0 {
		s.Port = 587
		if s.TLS == "implicit" {
			s.Port = 465
		}
	}
	if s.Port < 1 || s.Port > 65535 {
		return nil, fmt.Errorf("email: port %d out of range", s.Port)
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		return nil, fmt.Errorf("email: from %q: %w", s.From, err)
	}
	if len(s.To) == 0 || len(s.To)+len(s.Cc) > maxRecipients {
		return nil, fmt.Errorf("email: want 1-%d recipients", maxRecipients)
	}
	for _, a := range append(append([]string{}, s.To...), s.Cc...) {
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("email: recipient %q: %w", a, err)
		}
	}
	if !cfg.AllowPrivate {
		if a, err := netipParse(s.Host); err == nil {
			if err := CheckAddr(a); err != nil {
				return nil, fmt.Errorf("email: %w", err)
			}
		}
	}
	tc := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	if s.ServerName != "" {
		tc.ServerName = s.ServerName
	}
	if s.CAPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(s.CAPEM)) {
			return nil, errors.New("email: ca_pem holds no certificate")
		}
		tc.RootCAs = pool
	}
	to, err := cfg.timeout()
	if err != nil {
		return nil, err
	}
	d := newDialer(cfg.AllowPrivate, to)
	c := &emailChannel{name: cfg.Name, settings: s, password: sec["password"], tlsConf: tc, timeout: to, now: env.now}
	c.dial = d.DialContext
	if s.TLS == "implicit" {
		c.dial = func(ctx context.Context, network, address string) (net.Conn, error) {
			td := &tls.Dialer{NetDialer: d, Config: tc}
			return td.DialContext(ctx, network, address)
		}
	}
	return c, nil
}

var safeIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// messageIDFor returns a Message-ID local part for the Vigil message id.
func messageIDFor(id, from string) string {
	local := id
	if !safeIDPattern.MatchString(id) {
		sum := sha256.Sum256([]byte(id))
		local = hex.EncodeToString(sum[:16])
	}
	domain := "vigil.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i+1 < len(a.Address) {
			domain = a.Address[i+1:]
		}
	}
	return local + "@" + domain
}

// Send delivers msg over one SMTP session: HTML with a plain-text
// alternative when both exist, attachments, and Message-ID and
// X-Vigil-Message-ID headers for threading and tracing.
func (c *emailChannel) Send(ctx context.Context, msg Message) (Receipt, error) {
	if err := prepare(c.name, &msg); err != nil {
		return Receipt{}, err
	}
	m, mid, err := c.build(msg)
	if err != nil {
		return Receipt{}, &SendError{Channel: c.name, Err: err}
	}
	opts := []gomail.Option{
		gomail.WithPort(c.settings.Port),
		gomail.WithTimeout(c.timeout),
		gomail.WithTLSConfig(c.tlsConf),
		gomail.WithDialContextFunc(c.dial),
	}
	switch c.settings.TLS {
	case "mandatory":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case "implicit":
		opts = append(opts, gomail.WithSSL())
	}
	if c.settings.HELO != "" {
		opts = append(opts, gomail.WithHELO(c.settings.HELO))
	}
	if c.settings.Auth != "none" {
		mech := map[string]gomail.SMTPAuthType{"plain": gomail.SMTPAuthPlain, "login": gomail.SMTPAuthLogin, "cram-md5": gomail.SMTPAuthCramMD5}[c.settings.Auth]
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(c.settings.Username), gomail.WithPassword(c.password))
	}
	client, err := gomail.NewClient(c.settings.Host, opts...)
	if err != nil {
		return Receipt{}, &SendError{Channel: c.name, Err: fmt.Errorf("smtp client: %w", err)}
	}
	if err := client.DialAndSendWithContext(ctx, m); err != nil {
		return Receipt{}, &SendError{Channel: c.name, Transient: smtpTransient(err), Err: fmt.Errorf("smtp: %w", err)}
	}
	return Receipt{Channel: c.name, Kind: "email", MessageID: msg.ID, ProviderID: "<" + mid + ">", At: c.now().UTC()}, nil
}

func (c *emailChannel) build(msg Message) (*gomail.Msg, string, error) {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := m.From(c.settings.From); err != nil {
		return nil, "", fmt.Errorf("from: %w", err)
	}
	if err := m.To(c.settings.To...); err != nil {
		return nil, "", fmt.Errorf("to: %w", err)
	}
	if len(c.settings.Cc) > 0 {
		if err := m.Cc(c.settings.Cc...); err != nil {
			return nil, "", fmt.Errorf("cc: %w", err)
		}
	}
	m.Subject(strings.Join(strings.Fields(msg.Subject), " "))
	mid := messageIDFor(msg.ID, c.settings.From)
	m.SetMessageIDWithValue(mid)
	m.SetGenHeader(gomail.Header(HeaderMessageID), strings.Join(strings.Fields(msg.ID), " "))
	m.SetDateWithValue(c.now())
	text := msg.Text
	if text == "" {
		text = msg.Subject
	}
	if msg.Link != "" {
		text += "\n\n" + msg.Link
	}
	if msg.AckURL != "" {
		text += "\n" + msg.AckURL
	}
	m.SetBodyString(gomail.TypeTextPlain, text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	for _, a := range msg.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := m.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, "", fmt.Errorf("attachment %q: %w", a.Name, err)
		}
	}
	return m, mid, nil
}

// smtpTransient reports whether an SMTP failure may succeed later: 4xx
// replies and network errors, not 5xx or authentication failures.
func smtpTransient(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 400 && code < 500 {
			return true
		}
		if se.IsTemp() {
			return true
		}
		if se.ErrorCode() >= 500 {
			return false
		}
	}
	return transientNetErr(err)
}
