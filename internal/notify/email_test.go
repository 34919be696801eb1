package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpCapture is what the test SMTP server received.
type smtpCapture struct {
	mu       sync.Mutex
	authUser string
	authTLS  bool
	from     string
	rcpts    []string
	data     [][]byte
}

type smtpBackend struct {
	c        *smtpCapture
	user     string
	password string
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{b: b, conn: c}, nil
}

type smtpSession struct {
	b      *smtpBackend
	conn   *smtp.Conn
	authed bool
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (s *smtpSession) AuthMechanisms() []string {
	if s.b.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.b.user || pass != s.b.password {
			return smtp.ErrAuthFailed
		}
		_, isTLS := s.conn.TLSConnectionState()
		s.b.c.mu.Lock()
		s.b.c.authUser, s.b.c.authTLS = user, isTLS
		s.b.c.mu.Unlock()
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.b.c.mu.Lock()
	s.b.c.from = from
	s.b.c.mu.Unlock()
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.b.c.mu.Lock()
	s.b.c.rcpts = append(s.b.c.rcpts, to)
	s.b.c.mu.Unlock()
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.c.mu.Lock()
	s.b.c.data = append(s.b.c.data, b)
	s.b.c.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// selfSigned returns a TLS certificate for 127.0.0.1 and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vigil-test-smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// startSMTP runs a go-smtp server on 127.0.0.1; with user set it offers
// AUTH PLAIN only after STARTTLS.
func startSMTP(t *testing.T, cert *tls.Certificate, user, password string) (string, *smtpCapture) {
	t.Helper()
	c := &smtpCapture{}
	s := smtp.NewServer(&smtpBackend{c: c, user: user, password: password})
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.MaxMessageBytes = 20 << 20
	if cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().String(), c
}

type mailPart struct {
	contentType string
	disposition string
	body        []byte
}

// walkParts flattens a MIME tree, decoding transfer encodings.
func walkParts(t *testing.T, header map[string][]string, body io.Reader) []mailPart {
	t.Helper()
	get := func(k string) string {
		if v := header[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	mt, params, err := mime.ParseMediaType(get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", get("Content-Type"), err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		var out []mailPart
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, walkParts(t, p.Header, p)...)
		}
	}
	var r io.Reader = body
	switch strings.ToLower(get("Content-Transfer-Encoding")) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return []mailPart{{contentType: mt, disposition: get("Content-Disposition"), body: b}}
}

func emailConfig(t *testing.T, addr, tlsMode, auth, caPEM string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	settings := map[string]any{"host": host, "port": json.Number(port), "tls": tlsMode, "auth": auth,
		"from": "Vigil <vigil@soc.example>", "to": []string{"oncall@acme.example"}, "cc": []string{"lead@acme.example"}}
	cfg := map[string]any{"kind": "email", "name": "mail", "allow_private": true, "timeout": "10s", "settings": settings}
	if auth != "none" {
		settings["username"] = "vigil"
		cfg["secrets"] = map[string]string{"password": "s3cret"}
	}
	if caPEM != "" {
		settings["ca_pem"] = caPEM
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEmailSTARTTLSAuthPlain(t *testing.T) {
	cert, caPEM := selfSigned(t)
	addr, got := startSMTP(t, &cert, "vigil", "s3cret")
	ch := buildChannel(t, emailConfig(t, addr, "mandatory", "plain", caPEM))

	attachment := []byte("%PDF-1.4\x00\x01\x02 binary report bytes \xff\xfe")
	msg := testMessage()
	msg.Subject = "告警: Brute force on web-1"
	msg.Text = "5 failed logins\nfrom 203.0.113.9"
	msg.HTML = "<p>5 failed logins from <b>203.0.113.9</b></p>"
	msg.Attachments = []Attachment{{Name: "report.pdf", ContentType: "application/pdf", Data: attachment}}
	rc, err := ch.Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderID != "<msg-1@soc.example>" {
		t.Errorf("receipt provider id %q", rc.ProviderID)
	}

	got.mu.Lock()
	defer got.mu.Unlock()
	if got.authUser != "vigil" || !got.authTLS {
		t.Errorf("auth user %q over TLS %v", got.authUser, got.authTLS)
	}
	if got.from != "vigil@soc.example" || strings.Join(got.rcpts, ",") != "oncall@acme.example,lead@acme.example" {
		t.Errorf("envelope from %q to %v", got.from, got.rcpts)
	}
	if len(got.data) != 1 {
		t.Fatalf("%d messages", len(got.data))
	}
	m, err := mail.ReadMessage(bytes.NewReader(got.data[0]))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Message-ID": "<msg-1@soc.example>", "X-Vigil-Message-ID": "msg-1",
		"To": "<oncall@acme.example>", "Cc": "<lead@acme.example>",
	} {
		if v := m.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if subj != msg.Subject {
		t.Errorf("subject %q", subj)
	}
	if from, err := m.Header.AddressList("From"); err != nil || from[0].Address != "vigil@soc.example" || from[0].Name != "Vigil" {
		t.Errorf("from %v %v", from, err)
	}
	parts := walkParts(t, m.Header, m.Body)
	var plain, html, att *mailPart
	for i := range parts {
		switch p := &parts[i]; {
		case p.contentType == "text/plain":
			plain = p
		case p.contentType == "text/html":
			html = p
		case strings.HasPrefix(p.disposition, "attachment"):
			att = p
		}
	}
	if plain == nil || html == nil || att == nil {
		t.Fatalf("parts %+v", parts)
	}
	if s := strings.ReplaceAll(string(plain.body), "\r\n", "\n"); !strings.Contains(s, "5 failed logins\nfrom 203.0.113.9") || !strings.Contains(s, msg.Link) {
		t.Errorf("plain body %q", s)
	}
	if !strings.Contains(string(html.body), msg.HTML) {
		t.Errorf("html body %q", html.body)
	}
	if !bytes.Equal(att.body, attachment) || att.contentType != "application/pdf" || !strings.Contains(att.disposition, "report.pdf") {
		t.Errorf("attachment %q %q %q", att.contentType, att.disposition, att.body)
	}
}

func TestEmailPlainNoAuth(t *testing.T) {
	addr, got := startSMTP(t, nil, "", "")
	ch := buildChannel(t, emailConfig(t, addr, "none", "none", ""))
	msg := testMessage()
	if _, err := ch.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.data) != 1 {
		t.Fatalf("%d messages", len(got.data))
	}
	m, err := mail.ReadMessage(bytes.NewReader(got.data[0]))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("X-Vigil-Message-ID") != "msg-1" || m.Header.Get("Subject") != msg.Subject {
		t.Errorf("headers %v", m.Header)
	}
	parts := walkParts(t, m.Header, m.Body)
	if len(parts) != 1 || parts[0].contentType != "text/plain" || !strings.Contains(string(parts[0].body), "5 failed logins *root*") {
		t.Errorf("parts %+v", parts)
	}
}

// STARTTLS mandatory against a server without it fails, and the password is
// never offered in clear.
func TestEmailMandatoryTLSRefusesPlainServer(t *testing.T) {
	addr, got := startSMTP(t, nil, "", "")
	ch := buildChannel(t, emailConfig(t, addr, "mandatory", "none", ""))
	if _, err := ch.Send(context.Background(), testMessage()); err == nil {
		t.Fatal("sent without TLS")
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.data) != 0 {
		t.Error("server received a message")
	}
}

func TestEmailWrongPasswordIsPermanent(t *testing.T) {
	cert, caPEM := selfSigned(t)
	addr, _ := startSMTP(t, &cert, "vigil", "other")
	ch := buildChannel(t, emailConfig(t, addr, "mandatory", "plain", caPEM))
	_, err := ch.Send(context.Background(), testMessage())
	if err == nil || IsTransient(err) {
		t.Fatalf("err = %v, transient %v", err, IsTransient(err))
	}
	t.Logf("error: %v", err)
	if strings.Contains(err.Error(), "s3cret") {
		t.Error("error leaks the password")
	}
}

func TestEmailSSRFAtDial(t *testing.T) {
	addr, got := startSMTP(t, nil, "", "")
	_, port, _ := net.SplitHostPort(addr)
	ch := buildChannel(t, strings.Replace(strings.Replace(emailConfig(t, addr, "none", "none", ""), `"allow_private":true,`, "", 1), `"127.0.0.1"`, `"localhost"`, 1))
	_, err := ch.Send(context.Background(), testMessage())
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("err = %v (port %s)", err, port)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.data) != 0 {
		t.Error("server received a message")
	}
}

func TestEmailImplicitTLS(t *testing.T) {
	cert, caPEM := selfSigned(t)
	c := &smtpCapture{}
	s := smtp.NewServer(&smtpBackend{c: c, user: "vigil", password: "s3cret"})
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	ch := buildChannel(t, emailConfig(t, l.Addr().String(), "implicit", "plain", caPEM))
	if _, err := ch.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.authUser != "vigil" || !c.authTLS || len(c.data) != 1 {
		t.Errorf("auth %q tls %v messages %d", c.authUser, c.authTLS, len(c.data))
	}
}
