package runner

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
)

// Task parameter read by the TLS runner when the target names no TLS port.
const ParamPort = "port"

// TLSOptions configure the TLS runner.
type TLSOptions struct {
	// Timeout bounds each connection and handshake (default 5s).
	Timeout time.Duration
	// Now is the clock certificates are checked against; nil means
	// time.Now.
	Now func() time.Time
	// Roots are the trusted certificate authorities; nil means the
	// system pool. An internal CA or a pinned self-signed certificate
	// belongs here.
	Roots *x509.CertPool
	// ExpiryWarning is how soon before expiry a certificate is flagged
	// (default 30 days).
	ExpiryWarning time.Duration
	Logger        *slog.Logger
}

// TLS checks the TLS configuration of a target's TLS ports: which protocol
// versions the server accepts, whether it accepts weak cipher suites, and
// its certificate's validity, trust, key size and host name. It completes
// real handshakes with crypto/tls, one per version and per weak suite.
type TLS struct {
	opts TLSOptions
}

// NewTLS returns a TLS runner.
func NewTLS(opts TLSOptions) *TLS {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ExpiryWarning <= 0 {
		opts.ExpiryWarning = 30 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &TLS{opts: opts}
}

// Scores of the TLS findings (CVSS-like, set by Vigil).
const (
	scoreNoModernTLS   = 7.5
	scoreOldTLS        = 5.3
	scoreBrokenCipher  = 7.5
	scoreWeakCipher    = 5.3
	scoreNoFS          = 3.7
	scoreExpired       = 7.5
	scoreNotYetValid   = 7.5
	scoreExpiring      = 3.1
	scoreSelfSigned    = 5.3
	scoreUntrusted     = 5.3
	scoreHostMismatch  = 5.3
	scoreWeakKey       = 5.9
	minRSABits         = 2048
	maxTLSPortsPerHost = 64
)

// TLSReport is what the TLS check learned about one endpoint.
type TLSReport struct {
	Address string `json:"address"`
	// Versions are the protocol versions the server accepted.
	Versions []string `json:"versions"`
	// WeakSuites are the weak cipher suites the server accepted.
	WeakSuites []string           `json:"weak_suites,omitempty"`
	Subject    string             `json:"subject,omitempty"`
	Issuer     string             `json:"issuer,omitempty"`
	NotAfter   time.Time          `json:"not_after,omitzero"`
	Findings   []campaign.Finding `json:"findings,omitempty"`
}

var probeVersions = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// Run implements campaign.Runner over each of the target's TLS ports (or
// the task's "port" parameter, default 443).
func (t *TLS) Run(ctx context.Context, task campaign.Task, target campaign.Target) (campaign.Result, error) {
	if target.Host == "" {
		return campaign.Result{}, errors.New("tls: target has no host")
	}
	ports := slices.Clone(target.TLSPorts)
	if len(ports) == 0 {
		p := task.Params[ParamPort]
		if p == "" {
			p = "443"
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return campaign.Result{}, fmt.Errorf("tls: port parameter %q is not a port", p)
		}
		ports = []uint16{uint16(n)}
	}
	if len(ports) > maxTLSPortsPerHost {
		return campaign.Result{}, fmt.Errorf("tls: %d TLS ports, limit %d", len(ports), maxTLSPortsPerHost)
	}
	res := campaign.Result{Status: campaign.StatusPassed}
	for _, port := range ports {
		addr := net.JoinHostPort(target.Host, strconv.Itoa(int(port)))
		rep, err := t.Inspect(ctx, addr, target.ServerName)
		if err != nil {
			return campaign.Result{}, err
		}
		res.Evidence = append(res.Evidence, fmt.Sprintf("%s: versions %s; weak suites %d; certificate %q valid until %s",
			addr, strings.Join(rep.Versions, ", "), len(rep.WeakSuites), rep.Subject, rep.NotAfter.UTC().Format(time.DateOnly)))
		for _, f := range rep.Findings {
			if len(ports) > 1 {
				f.Key = strings.Replace(f.Key, "tls/", "tls/"+strconv.Itoa(int(port))+"/", 1)
			}
			res.Findings = append(res.Findings, f)
		}
	}
	for _, f := range res.Findings {
		if f.Severity != campaign.SeverityInfo {
			res.Status = campaign.StatusFailed
		}
	}
	return res, nil
}

// Inspect checks one TLS endpoint. serverName is sent as SNI and checked
// against the certificate when set. It fails when the address cannot be
// reached or no handshake succeeds at any version.
func (t *TLS) Inspect(ctx context.Context, addr, serverName string) (*TLSReport, error) {
	rep := &TLSReport{Address: addr}
	var leafState *tls.ConnectionState
	var lastErr error
	for _, v := range probeVersions {
		st, err := t.handshake(ctx, addr, serverName, v, nil)
		if err != nil {
			// A failed dial means the endpoint cannot be reached; a
			// failed handshake means the version is not accepted.
			var oe *net.OpError
			if errors.As(err, &oe) && oe.Op == "dial" {
				return nil, fmt.Errorf("tls: %s: %w", addr, err)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
			continue
		}
		rep.Versions = append(rep.Versions, tls.VersionName(v))
		leafState = st
	}
	if leafState == nil {
		return nil, fmt.Errorf("tls: %s: no handshake succeeded at any version: %w", addr, lastErr)
	}
	hasModern := slices.Contains(rep.Versions, tls.VersionName(tls.VersionTLS12)) || slices.Contains(rep.Versions, tls.VersionName(tls.VersionTLS13))
	if !hasModern {
		rep.Findings = append(rep.Findings, campaign.Finding{Key: "tls/no-modern-version", Severity: campaign.SeverityHigh, Score: scoreNoModernTLS,
			Title: "Neither TLS 1.2 nor TLS 1.3 is accepted", Evidence: []string{"accepted: " + strings.Join(rep.Versions, ", ")}, Ref: "v5.0.0-12.1.1"})
	}
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		if slices.Contains(rep.Versions, tls.VersionName(v)) {
			rep.Findings = append(rep.Findings, campaign.Finding{Key: "tls/version/" + strings.ReplaceAll(strings.ToLower(tls.VersionName(v)), " ", ""),
				Severity: campaign.SeverityMedium, Score: scoreOldTLS, Title: "Obsolete protocol " + tls.VersionName(v) + " is accepted", Ref: "v5.0.0-12.1.1"})
		}
	}
	t.weakSuites(ctx, addr, serverName, rep)
	t.certificate(leafState, serverName, rep)
	campaign.SortFindings(rep.Findings)
	return rep, nil
}

// weakSuites tries, at each accepted version up to TLS 1.2, every cipher
// suite Go knows as insecure and every suite without forward secrecy.
func (t *TLS) weakSuites(ctx context.Context, addr, serverName string, rep *TLSReport) {
	type weak struct {
		suite *tls.CipherSuite
		sev   campaign.Severity
		score float64
		why   string
	}
	var cands []weak
	for _, s := range tls.InsecureCipherSuites() {
		name := s.Name
		switch {
		case strings.Contains(name, "RC4") || strings.Contains(name, "3DES") || strings.Contains(name, "NULL"):
			cands = append(cands, weak{s, campaign.SeverityHigh, scoreBrokenCipher, "broken cipher"})
		default:
			cands = append(cands, weak{s, campaign.SeverityMedium, scoreWeakCipher, "weak cipher suite"})
		}
	}
	for _, s := range tls.CipherSuites() {
		if strings.HasPrefix(s.Name, "TLS_RSA_") {
			cands = append(cands, weak{s, campaign.SeverityLow, scoreNoFS, "no forward secrecy"})
		}
	}
	seen := map[string]bool{}
	for _, v := range probeVersions[:3] {
		if !slices.Contains(rep.Versions, tls.VersionName(v)) {
			continue
		}
		for _, c := range cands {
			if seen[c.suite.Name] || !slices.Contains(c.suite.SupportedVersions, v) {
				continue
			}
			if _, err := t.handshake(ctx, addr, serverName, v, []uint16{c.suite.ID}); err != nil {
				continue
			}
			seen[c.suite.Name] = true
			rep.WeakSuites = append(rep.WeakSuites, c.suite.Name)
			rep.Findings = append(rep.Findings, campaign.Finding{Key: "tls/suite/" + c.suite.Name, Severity: c.sev, Score: c.score,
				Title: fmt.Sprintf("Cipher suite %s is accepted (%s)", c.suite.Name, c.why), Ref: "v5.0.0-12.1.2",
				Evidence: []string{"accepted with " + tls.VersionName(v)}})
		}
	}
}

func (t *TLS) certificate(st *tls.ConnectionState, serverName string, rep *TLSReport) {
	if len(st.PeerCertificates) == 0 {
		rep.Findings = append(rep.Findings, campaign.Finding{Key: "tls/no-certificate", Severity: campaign.SeverityHigh, Score: scoreUntrusted,
			Title: "The server sent no certificate"})
		return
	}
	leaf := st.PeerCertificates[0]
	now := t.opts.Now()
	rep.Subject, rep.Issuer, rep.NotAfter = leaf.Subject.String(), leaf.Issuer.String(), leaf.NotAfter
	ev := []string{fmt.Sprintf("subject %q, issuer %q, valid %s to %s", leaf.Subject.String(), leaf.Issuer.String(),
		leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))}
	add := func(key string, sev campaign.Severity, score float64, ref, title string) {
		rep.Findings = append(rep.Findings, campaign.Finding{Key: key, Severity: sev, Score: score, Title: title, Evidence: ev, Ref: ref})
	}
	switch {
	case now.After(leaf.NotAfter):
		add("tls/cert-expired", campaign.SeverityHigh, scoreExpired, "v5.0.0-12.2.2",
			fmt.Sprintf("The certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly)))
	case now.Before(leaf.NotBefore):
		add("tls/cert-not-yet-valid", campaign.SeverityHigh, scoreNotYetValid, "v5.0.0-12.2.2", "The certificate is not valid yet")
	case leaf.NotAfter.Sub(now) < t.opts.ExpiryWarning:
		add("tls/cert-expiring", campaign.SeverityLow, scoreExpiring, "",
			fmt.Sprintf("The certificate expires on %s", leaf.NotAfter.UTC().Format(time.DateOnly)))
	}
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	// Validity is reported above on its own; the chain is checked at a
	// time inside the certificate's validity so an expired certificate
	// is not also reported as untrusted.
	at := now
	if at.After(leaf.NotAfter) || at.Before(leaf.NotBefore) {
		at = leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: t.opts.Roots, Intermediates: inter, CurrentTime: at}); err != nil {
		if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
			add("tls/self-signed", campaign.SeverityMedium, scoreSelfSigned, "v5.0.0-12.2.2", "The certificate is self-signed and not trusted")
		} else {
			add("tls/untrusted", campaign.SeverityMedium, scoreUntrusted, "v5.0.0-12.2.2", "The certificate chain is not trusted: "+err.Error())
		}
	}
	if serverName != "" {
		if err := leaf.VerifyHostname(serverName); err != nil {
			add("tls/hostname-mismatch", campaign.SeverityMedium, scoreHostMismatch, "v5.0.0-12.2.2",
				fmt.Sprintf("The certificate is not valid for %s", serverName))
		}
	}
	if k, ok := leaf.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		add("tls/weak-key", campaign.SeverityMedium, scoreWeakKey, "v5.0.0-11.2.3",
			fmt.Sprintf("The certificate's RSA key has %d bits (fewer than %d)", k.N.BitLen(), minRSABits))
	}
}

// handshake completes one TLS handshake at exactly version v, with only
// the given suites when set (TLS 1.2 and older).
func (t *TLS) handshake(ctx context.Context, addr, serverName string, v uint16, suites []uint16) (*tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	if suites == nil {
		for _, s := range tls.CipherSuites() {
			suites = append(suites, s.ID)
		}
		for _, s := range tls.InsecureCipherSuites() {
			suites = append(suites, s.ID)
		}
	}
	cfg := &tls.Config{
		ServerName: serverName,
		MinVersion: v,
		MaxVersion: v,
		// The check inspects what the server offers, weak or not, and
		// verifies the certificate itself (see certificate).
		InsecureSkipVerify: true, // #nosec G402 -- inspection client: the certificate is verified explicitly afterwards
		CipherSuites:       suites,
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	st := tc.ConnectionState()
	return &st, nil
}
