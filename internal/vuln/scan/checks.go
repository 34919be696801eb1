package scan

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/runner"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// Scanner is the name of Vigil's own checks in the lifecycle.
const Scanner = "vigil"

// Rule id prefixes: a finding's RuleID says which check produced it, so
// verify can run it again.
const (
	rulePort    = "port/"
	ruleTLS     = "tls/"
	ruleHTTP    = "http/"
	ruleVersion = "version/"
)

// Target is one open service to check.
type Target struct {
	Host    string // IP address
	Port    int
	Service string // discovery's protocol name: http, https, tls, ssh, ...
	Banner  string // the banner or the HTTP Server header
	// ServerName is sent as SNI and checked against the certificate.
	ServerName string
}

func (t Target) addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

func (t Target) isTLS() bool { return t.Service == "https" || t.Service == "tls" }

func (t Target) isHTTP() bool { return t.Service == "http" || t.Service == "https" }

func (t Target) baseURL() string {
	scheme := "http"
	if t.Service == "https" {
		scheme = "https"
	}
	return scheme + "://" + t.addr()
}

// finding builds a Vigil finding with its fingerprint: scanner + rule +
// host + port (+ URL for HTTP checks).
func finding(rule string, t Target, url, title, severity, _, remediation, baseline string) vuln.Finding {
	f := vuln.Finding{Scanner: Scanner, RuleID: rule, Title: title, Severity: vuln.ParseSeverity(severity),
		Asset: vuln.Asset{IP: t.Host, Port: t.Port, Protocol: "tcp", URL: url}, Remediation: remediation, Occurrences: 1}
	if baseline != "" {
		f.References = append(f.References, BaselineRef(baseline))
		f.Remediation += " Baseline check: " + baseline + "."
	}
	f.Fingerprint = fingerprint(rule, t.Host, strconv.Itoa(t.Port), url)
	return f
}

// fingerprint is the importers' rule (first 128 bits of SHA-256 over the
// scanner name and the trimmed, lower-cased parts) over rule id + host +
// port + URL.
func fingerprint(parts ...string) string {
	h := sha256.New()
	h.Write([]byte(Scanner))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(strings.ToLower(strings.TrimSpace(p))))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// BaselinePrefix marks a finding reference that names a baseline check
// ("policy/check id") rather than a URL.
const BaselinePrefix = "baseline:"

// BaselineRef is the reference naming a baseline check.
func BaselineRef(check string) string { return BaselinePrefix + check }

// Finding is a Vigil check result with the layer the lifecycle records.
type Finding struct {
	vuln.Finding
	Layer string
}

// riskyPort is a service that should not be reachable from where the scan
// runs.
type riskyPort struct {
	name, severity, remediation, baseline string
}

var riskyPorts = map[int]riskyPort{
	23:    {"Telnet", "high", "Disable telnet and administer the host over SSH.", "vigil_debian_ubuntu"},
	21:    {"FTP", "medium", "Replace FTP with SFTP, or restrict the FTP service to the networks that need it.", ""},
	445:   {"SMB", "high", "Block SMB (445/tcp) at the perimeter and between zones that do not need file sharing.", ""},
	3389:  {"RDP", "high", "Put RDP behind a VPN or a bastion with multi-factor sign-in; do not expose it directly.", ""},
	2375:  {"Docker API without TLS", "critical", "Never expose the Docker daemon without TLS client authentication; bind it to the local socket.", ""},
	5900:  {"VNC", "high", "Tunnel VNC through SSH or a VPN and require a password.", ""},
	6379:  {"Redis", "high", "Bind Redis to internal addresses, turn protected mode on and require a password.", "vigil_redis/70403"},
	9200:  {"Elasticsearch", "high", "Bind Elasticsearch to internal addresses and enable its security features.", ""},
	11211: {"memcached", "high", "Bind memcached to localhost or internal addresses and disable UDP.", ""},
	27017: {"MongoDB", "high", "Bind MongoDB to internal addresses and enable authorisation.", ""},
	3306:  {"MySQL", "medium", "Bind MySQL to internal addresses or restrict 3306/tcp to the application servers.", "vigil_mariadb_mysql"},
	5432:  {"PostgreSQL", "medium", "Restrict 5432/tcp to the application servers (listen_addresses, pg_hba.conf, firewall).", "vigil_postgresql"},
}

// portFinding reports an exposed risky service.
func portFinding(t Target, extra map[int]string) (Finding, bool) {
	rp, ok := riskyPorts[t.Port]
	if name, more := extra[t.Port]; more && !ok {
		rp, ok = riskyPort{name, "high", "Restrict " + name + " to the networks that need it.", ""}, true
	}
	if !ok {
		return Finding{}, false
	}
	f := finding(rulePort+strconv.Itoa(t.Port), t, "", fmt.Sprintf("%s (%d/tcp) is reachable", rp.name, t.Port),
		rp.severity, LayerNetwork, rp.remediation, rp.baseline)
	f.Evidence = "TCP connection to " + t.addr() + " accepted"
	return Finding{Finding: f, Layer: LayerNetwork}, true
}

// probePort reports whether a TCP connection to addr is accepted.
func probePort(ctx context.Context, addr string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// tlsRemediation is the advice per TLS check key (the campaign TLS
// runner's keys, without the suite or version suffix).
var tlsRemediation = map[string]struct{ text, baseline string }{
	"tls/no-modern-version":  {"Enable TLS 1.2 and TLS 1.3 on the service.", "vigil_nginx/70502"},
	"tls/version":            {"Disable TLS 1.0 and 1.1 (nginx ssl_protocols TLSv1.2 TLSv1.3; Apache SSLProtocol -all +TLSv1.2 +TLSv1.3).", "vigil_nginx/70502"},
	"tls/suite":              {"Allow only AEAD cipher suites with forward secrecy (ECDHE with AES-GCM or ChaCha20-Poly1305).", "vigil_nginx/70503"},
	"tls/cert-expired":       {"Renew the certificate and automate renewal (ACME or the internal CA's enrolment).", ""},
	"tls/cert-not-yet-valid": {"Check the server's clock and the certificate's validity dates; install a valid certificate.", ""},
	"tls/cert-expiring":      {"Renew the certificate before it expires.", ""},
	"tls/self-signed":        {"Install a certificate issued by a public or the organisation's internal CA.", ""},
	"tls/untrusted":          {"Install the full certificate chain of a trusted CA.", ""},
	"tls/hostname-mismatch":  {"Issue a certificate whose subject alternative names include the service's host name.", ""},
	"tls/weak-key":           {"Reissue the certificate with an RSA key of at least 2048 bits or an ECDSA P-256 key.", ""},
	"tls/no-certificate":     {"Configure a certificate on the TLS service.", ""},
}

func tlsAdvice(key string) (string, string) {
	k := key
	for _, p := range []string{"tls/version/", "tls/suite/"} {
		if strings.HasPrefix(key, p) {
			k = strings.TrimSuffix(p, "/")
		}
	}
	a, ok := tlsRemediation[k]
	if !ok {
		return "Review the service's TLS configuration.", ""
	}
	return a.text, a.baseline
}

var campaignSeverity = map[campaign.Severity]string{
	campaign.SeverityCritical: "critical", campaign.SeverityHigh: "high", campaign.SeverityMedium: "medium",
	campaign.SeverityLow: "low", campaign.SeverityInfo: "info",
}

// tlsFindings runs the TLS check (the campaign TLS runner's Inspect) on
// one TLS service.
func tlsFindings(ctx context.Context, checker *runner.TLS, t Target) ([]Finding, error) {
	rep, err := checker.Inspect(ctx, t.addr(), t.ServerName)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, cf := range rep.Findings {
		text, base := tlsAdvice(cf.Key)
		layer := LayerConfiguration
		f := finding(ruleTLS+strings.TrimPrefix(cf.Key, "tls/"), t, "", cf.Title, campaignSeverity[cf.Severity], layer, text, base)
		f.Evidence = strings.Join(append([]string{t.addr() + ": versions " + strings.Join(rep.Versions, ", ")}, cf.Evidence...), "; ")
		f.CWEs = []string{"CWE-326"}
		if strings.HasPrefix(cf.Key, "tls/cert") || cf.Key == "tls/self-signed" || cf.Key == "tls/untrusted" || cf.Key == "tls/hostname-mismatch" {
			f.CWEs = []string{"CWE-295"}
		}
		out = append(out, Finding{Finding: f, Layer: layer})
	}
	return out, nil
}

// maxBody bounds the response body an HTTP check reads.
const maxBody = 256 << 10

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// httpMatch requests the check's path and reports whether every matcher
// holds, with the evidence.
func httpMatch(ctx context.Context, client *http.Client, base string, c HTTPCheck) (bool, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+c.Path, nil)
	if err != nil {
		return false, "", err
	}
	req.Header.Set("User-Agent", "vigil-vuln-scan")
	resp, err := client.Do(req)
	if err != nil {
		return false, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return false, "", err
	}
	if len(c.Status) > 0 && !containsInt(c.Status, resp.StatusCode) {
		return false, "", nil
	}
	lower := strings.ToLower(string(body))
	for _, b := range c.Body {
		if !strings.Contains(lower, strings.ToLower(b)) {
			return false, "", nil
		}
	}
	for name, want := range c.Header {
		if !strings.Contains(strings.ToLower(resp.Header.Get(name)), strings.ToLower(want)) {
			return false, "", nil
		}
	}
	if c.TitleContains != "" {
		m := titleRE.FindStringSubmatch(string(body))
		if m == nil || !strings.Contains(strings.ToLower(m[1]), strings.ToLower(c.TitleContains)) {
			return false, "", nil
		}
	}
	return true, fmt.Sprintf("GET %s answered %s", req.URL.Path, resp.Status), nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func httpFinding(t Target, c HTTPCheck, evidence string) Finding {
	url := t.baseURL() + c.Path
	f := finding(ruleHTTP+c.ID, t, url, c.Title, c.Severity, c.Layer, c.Remediation, c.Baseline)
	f.Evidence = evidence
	return Finding{Finding: f, Layer: c.Layer}
}

// newHTTPClient does not follow redirects (a login redirect is not the
// panel) and inspects TLS services whatever their certificate.
func newHTTPClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		// The scan inspects the tenant's services, including those with
		// the self-signed certificates it reports.
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // #nosec G402 -- inspection client, certificates are checked by the TLS check
		DisableKeepAlives:   true,
		TLSHandshakeTimeout: timeout,
		Proxy:               nil,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
