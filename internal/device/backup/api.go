package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Configuration backups over a vendor's HTTPS API, for devices that have
// one: FortiOS's REST API and PAN-OS's XML API. The fetched text goes
// through the same cleaning and masking as an SSH backup.

// API backup methods.
const (
	MethodSSH     = "ssh"
	MethodFortiOS = "fortios-api"
	MethodPANOS   = "panos-api"
)

// Methods are the backup methods, in display order.
func Methods() []string { return []string{MethodSSH, MethodFortiOS, MethodPANOS} }

// Errors of FetchAPI, checked with errors.Is.
var (
	// ErrFingerprint means the device's certificate is not the pinned one.
	ErrFingerprint = errors.New("device TLS certificate does not match the pinned fingerprint")
	// ErrAPIRefused means the device answered with an error (bad token,
	// no permission, unknown endpoint).
	ErrAPIRefused = errors.New("device API refused the request")
)

// APITarget is one device to back up over its HTTPS API.
type APITarget struct {
	Method string // MethodFortiOS or MethodPANOS
	Addr   string // host:port
	Token  string // FortiOS REST API token, or PAN-OS API key
	// Fingerprint is the pinned SHA-256 of the device certificate (hex,
	// colons allowed). When set it replaces certificate-chain checks
	// (devices mostly present self-signed certificates); when empty the
	// chain and host name are verified against RootCAs.
	Fingerprint string
	RootCAs     *x509.CertPool // nil: the system roots
	// Timeout bounds the whole request (DefaultTimeout when zero);
	// MaxOutput the body (DefaultMaxOutput when zero).
	Timeout   time.Duration
	MaxOutput int
}

// NormalizeFingerprint returns a certificate fingerprint as 64 lower-case
// hex digits, or an error when it is not a SHA-256 fingerprint.
func NormalizeFingerprint(s string) (string, error) {
	f := strings.ToLower(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s)))
	if b, err := hex.DecodeString(f); err != nil || len(b) != sha256.Size {
		return "", errors.New("a certificate fingerprint is 64 hex digits (SHA-256), colons allowed")
	}
	return f, nil
}

// Fingerprint is the SHA-256 fingerprint of a DER certificate, as hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func (t APITarget) client() (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: t.RootCAs}
	if t.Fingerprint != "" {
		pin, err := NormalizeFingerprint(t.Fingerprint)
		if err != nil {
			return nil, err
		}
		want, _ := hex.DecodeString(pin)
		// The pin is the check: the chain is not verified by name or CA.
		cfg.InsecureSkipVerify = true // #nosec G402 -- VerifyConnection checks the pinned certificate instead
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrFingerprint
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(got[:], want) != 1 {
				return fmt.Errorf("%w: presented %s", ErrFingerprint, hex.EncodeToString(got[:]))
			}
			return nil
		}
	}
	tr := &http.Transport{TLSClientConfig: cfg, Proxy: nil, DisableKeepAlives: true,
		DialContext: (&net.Dialer{}).DialContext}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a device API does not redirect; never follow one with the token
	}}, nil
}

// FetchAPI fetches a device's configuration over its HTTPS API and
// returns it cleaned and masked with the profile's rules.
func FetchAPI(ctx context.Context, t APITarget, p *Profile) (Config, error) {
	if p == nil || p.prompt == nil {
		return Config{}, errors.New("backup: profile not loaded")
	}
	if t.Token == "" {
		return Config{}, fmt.Errorf("backup %s: no API token given", t.Addr)
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	limit := t.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	c, err := t.client()
	if err != nil {
		return Config{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var text string
	switch t.Method {
	case MethodFortiOS:
		text, err = fetchFortiOS(ctx, c, t, limit)
	case MethodPANOS:
		text, err = fetchPANOS(ctx, c, t, limit)
	default:
		return Config{}, fmt.Errorf("backup %s: unknown API method %q", t.Addr, t.Method)
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ErrTooLarge) {
			err = fmt.Errorf("%w: %w", ErrTimeout, err)
		}
		return Config{}, fmt.Errorf("backup %s (%s): %w", t.Addr, t.Method, err)
	}
	text = cleanAPI(text, p)
	if text == "" {
		return Config{}, fmt.Errorf("backup %s (%s): %w: empty configuration", t.Addr, t.Method, ErrAPIRefused)
	}
	sum := sha256.Sum256([]byte(text))
	return Config{Text: text, Masked: Mask(text, p), SHA256: hex.EncodeToString(sum[:]), Fetched: time.Now().UTC()}, nil
}

// do sends a request and reads a bounded body; a non-2xx status is
// ErrAPIRefused with what the device said.
func do(c *http.Client, req *http.Request, limit int) (int, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if len(body) > limit {
		return resp.StatusCode, nil, fmt.Errorf("more than %d bytes: %w", limit, ErrTooLarge)
	}
	return resp.StatusCode, body, nil
}

func apiURL(addr, path string, q url.Values) string {
	u := url.URL{Scheme: "https", Host: addr, Path: path, RawQuery: q.Encode()}
	return u.String()
}

// fetchFortiOS downloads the FortiOS configuration file: GET
// /api/v2/monitor/system/config/backup?scope=global with the token as a
// bearer token; FortiOS releases that take the backup by POST (a JSON
// body {"scope":"global"}) answer the GET with 405 and are asked again.
func fetchFortiOS(ctx context.Context, c *http.Client, t APITarget, limit int) (string, error) {
	const path = "/api/v2/monitor/system/config/backup"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL(t.Addr, path, url.Values{"scope": {"global"}}), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+t.Token)
	status, body, err := do(c, req, limit)
	if err != nil {
		return "", err
	}
	if status == http.StatusMethodNotAllowed {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, apiURL(t.Addr, path, nil), strings.NewReader(`{"scope":"global"}`))
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+t.Token)
		req.Header.Set("Content-Type", "application/json")
		if status, body, err = do(c, req, limit); err != nil {
			return "", err
		}
	}
	if status/100 != 2 {
		return "", fmt.Errorf("%w: HTTP %d%s", ErrAPIRefused, status, fortiError(body))
	}
	// A configuration file starts with its #config-version header; an
	// error comes back as JSON even with a 200 on some releases.
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '{' {
		return "", fmt.Errorf("%w:%s", ErrAPIRefused, fortiError(body))
	}
	return string(body), nil
}

// fortiError summarises a FortiOS JSON error body.
func fortiError(body []byte) string {
	var e struct {
		Status     string `json:"status"`
		HTTPStatus int    `json:"http_status"`
		Error      int    `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Status == "" {
		return ""
	}
	s := " status " + clipAPI(e.Status)
	if e.HTTPStatus != 0 {
		s += " http_status " + strconv.Itoa(e.HTTPStatus)
	}
	if e.Error != 0 {
		s += " error " + strconv.Itoa(e.Error)
	}
	return s
}

// fetchPANOS exports the running configuration: GET
// /api/?type=export&category=configuration with the API key in the
// X-PAN-KEY header (never in the URL, where it would be logged). The
// answer is the <config> document, or a <response status="error">.
func fetchPANOS(ctx context.Context, c *http.Client, t APITarget, limit int) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		apiURL(t.Addr, "/api/", url.Values{"type": {"export"}, "category": {"configuration"}}), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-PAN-KEY", t.Token)
	status, body, err := do(c, req, limit)
	if err != nil {
		return "", err
	}
	if msg, isErr := panosError(body); isErr || status/100 != 2 {
		return "", fmt.Errorf("%w: HTTP %d%s", ErrAPIRefused, status, msg)
	}
	return string(body), nil
}

// panosError reports whether a PAN-OS answer is a <response> whose
// status is not success, with its message.
func panosError(body []byte) (string, bool) {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return "", false
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local != "response" {
			return "", false // the <config> document
		}
		var r struct {
			Status string   `xml:"status,attr"`
			Code   string   `xml:"code,attr"`
			Msgs   []string `xml:"result>msg"`
			Msg    []string `xml:"msg>line"`
		}
		if err := d.DecodeElement(&r, &se); err != nil {
			return "", true
		}
		if r.Status == "success" {
			return " (no configuration in the answer)", true
		}
		msg := " " + clipAPI(strings.TrimSpace(strings.Join(append(r.Msgs, r.Msg...), "; ")))
		if r.Code != "" {
			msg += " (code " + clipAPI(r.Code) + ")"
		}
		return msg, true
	}
}

// clipAPI bounds a device's error text kept in a message.
func clipAPI(s string) string {
	s = cleanTerminal(s)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

// cleanAPI turns an API's configuration text into the stored text: no
// control characters but newlines and tabs, noise lines dropped, trailing
// blanks trimmed.
func cleanAPI(raw string, p *Profile) string {
	lines := strings.Split(cleanTerminal(raw), "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if isNoise(l, p) {
			continue
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}
