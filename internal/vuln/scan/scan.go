// Package scan runs Vigil's own vulnerability checks on a tenant's
// services found by asset discovery — exposed risky ports, TLS weaknesses
// (with the campaign TLS checker), exposed admin panels and default pages
// (a YAML catalogue of HTTP probes), and product versions from banners
// against advisories (CPE-style ranges, and OSV documents for packages) —
// and orchestrates nmap and nuclei when they are installed. Findings go
// through the lifecycle import as scanner "vigil" (external tools under
// their own importers), each with its layer, remediation advice and, where
// one exists, the baseline check that fixes it. Verify re-runs the check
// that produced one finding and closes or reopens it.
package scan

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign/runner"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// ServiceCode is the catalogue service whose subscription enables
// scheduled scans.
const ServiceCode = "vuln-lifecycle"

// maxTargets bounds the services one scan checks.
const maxTargets = 5000

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Timeout bounds each probe (default 5s); ToolTimeout each external
	// scanner run (default 30 minutes).
	Timeout     time.Duration
	ToolTimeout time.Duration
	// HTTPChecks and Products replace the embedded catalogues.
	HTTPChecks []HTTPCheck
	Products   *Products
	// Roots are the CAs trusted by the TLS check; nil means the system
	// pool.
	Roots *x509.CertPool
	// NmapPath and NucleiPath name the binaries: "" looks them up on PATH,
	// "-" disables the tool.
	NmapPath, NucleiPath string
	// RiskyPorts adds ports (port → service name) whose exposure is a
	// finding, to the built-in list.
	RiskyPorts map[int]string
	// Targets, when set, replaces discovery results as the source of
	// services to check (tests, offline use).
	Targets func(ctx context.Context, tenantID string) ([]Target, error)
	// OpenVAS, when set, scans the in-scope hosts through the tenant's
	// gvmd (internal/vuln/gmp) and returns the XML report, which is
	// imported as an OpenVAS scan; a nil report without error means the
	// tenant has no gvmd connection (the scanner is skipped).
	OpenVAS func(ctx context.Context, tenantID string, hosts []string) ([]byte, error)
}

// Service scans tenants and verifies findings.
type Service struct {
	store    store.Store
	vulns    *lifecycle.Service
	exposure *exposure.Service
	opts     Options
	log      *slog.Logger
	checks   []HTTPCheck
	products *Products
	tls      *runner.TLS
	client   *http.Client
	nmap     Tool
	nuclei   Tool
}

// New returns a scan Service.
func New(s store.Store, vulns *lifecycle.Service, exp *exposure.Service, opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.ToolTimeout <= 0 {
		opts.ToolTimeout = 30 * time.Minute
	}
	svc := &Service{store: s, vulns: vulns, exposure: exp, opts: opts, log: opts.Logger, checks: opts.HTTPChecks,
		products: opts.Products, client: newHTTPClient(opts.Timeout),
		nmap: findTool("nmap", opts.NmapPath), nuclei: findTool("nuclei", opts.NucleiPath)}
	var err error
	if svc.checks == nil {
		if svc.checks, err = DefaultHTTPChecks(); err != nil {
			return nil, fmt.Errorf("http checks: %w", err)
		}
	}
	if svc.products == nil {
		if svc.products, err = DefaultProducts(); err != nil {
			return nil, fmt.Errorf("products: %w", err)
		}
	}
	svc.tls = runner.NewTLS(runner.TLSOptions{Timeout: opts.Timeout, Now: opts.Now, Roots: opts.Roots, Logger: opts.Logger})
	return svc, nil
}

// Result says what one scan did.
type Result struct {
	Targets  int              `json:"targets"`
	Findings int              `json:"findings"`
	Scans    []store.VulnScan `json:"-"`
	ScanIDs  []string         `json:"scans"`
	Skipped  []string         `json:"skipped,omitempty"` // external tools not installed
	Errors   []string         `json:"errors,omitempty"`  // targets a check could not reach
}

// Scan checks every service of the tenant's latest discovery run that is
// in the tenant's scope and imports the findings.
func (s *Service) Scan(ctx context.Context, tenantID string) (Result, error) {
	var res Result
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return res, err
	}
	targets, err := s.targets(ctx, tenantID)
	if err != nil {
		return res, err
	}
	res.Targets = len(targets)
	var found []lifecycle.ScannedFinding
	for _, t := range targets {
		fs, errs := s.check(ctx, t)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		for _, f := range fs {
			found = append(found, lifecycle.ScannedFinding{Finding: f.Finding, Layer: f.Layer})
		}
		res.Errors = append(res.Errors, errs...)
	}
	sc, err := s.vulns.ImportScanned(ctx, tenantID, Scanner, fmt.Sprintf("vigil scan of %d services", len(targets)), found, true)
	if err != nil {
		return res, err
	}
	res.Findings += sc.Total
	res.Scans = append(res.Scans, sc)
	s.external(ctx, tenantID, targets, &res)
	for _, sc := range res.Scans {
		res.ScanIDs = append(res.ScanIDs, sc.ID)
	}
	return res, nil
}

// external runs nmap and nuclei when installed and imports their output.
func (s *Service) external(ctx context.Context, tenantID string, targets []Target, res *Result) {
	if len(targets) == 0 {
		return
	}
	var hosts, urls []string
	var ports []int
	for _, t := range targets {
		if !slices.Contains(hosts, t.Host) {
			hosts = append(hosts, t.Host)
		}
		if !slices.Contains(ports, t.Port) {
			ports = append(ports, t.Port)
		}
		if t.isHTTP() {
			urls = append(urls, t.baseURL())
		}
	}
	slices.Sort(ports)
	type job struct {
		tool   Tool
		format string
		args   []string
	}
	if s.opts.OpenVAS != nil {
		s.openVAS(ctx, tenantID, hosts, res)
	}
	jobs := []job{{s.nmap, "nmap", nmapArgs(hosts, ports)}, {s.nuclei, "nuclei", nucleiArgs(urls, "")}}
	for _, j := range jobs {
		if !j.tool.Installed() {
			res.Skipped = append(res.Skipped, j.tool.Name)
			continue
		}
		if j.format == "nuclei" && len(urls) == 0 {
			continue
		}
		out, err := j.tool.run(ctx, s.opts.ToolTimeout, j.args...)
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		if len(strings.TrimSpace(string(out))) == 0 {
			continue // nuclei prints nothing when it finds nothing
		}
		sc, err := s.vulns.Import(ctx, tenantID, lifecycle.ImportInput{Filename: j.format + "-scan", Format: j.format, Data: out})
		if err != nil {
			res.Errors = append(res.Errors, j.format+": "+err.Error())
			continue
		}
		res.Findings += sc.Total
		res.Scans = append(res.Scans, sc)
	}
}

// openVAS runs the tenant's OpenVAS scan of hosts and imports its report.
func (s *Service) openVAS(ctx context.Context, tenantID string, hosts []string, res *Result) {
	rep, err := s.opts.OpenVAS(ctx, tenantID, hosts)
	switch {
	case err != nil:
		res.Errors = append(res.Errors, err.Error())
		return
	case rep == nil:
		res.Skipped = append(res.Skipped, "openvas")
		return
	}
	sc, err := s.vulns.Import(ctx, tenantID, lifecycle.ImportInput{Filename: "openvas-gmp-scan", Format: "openvas", Data: rep})
	if err != nil {
		res.Errors = append(res.Errors, "openvas: "+err.Error())
		return
	}
	res.Findings += sc.Total
	res.Scans = append(res.Scans, sc)
}

// check runs every applicable check on one service.
func (s *Service) check(ctx context.Context, t Target) ([]Finding, []string) {
	var out []Finding
	var errs []string
	if f, ok := portFinding(t, s.opts.RiskyPorts); ok {
		out = append(out, f)
	}
	if t.isTLS() {
		fs, err := tlsFindings(ctx, s.tls, t)
		if err != nil {
			errs = append(errs, err.Error())
		}
		out = append(out, fs...)
	}
	if t.isHTTP() {
		for _, c := range s.checks {
			ok, ev, err := httpMatch(ctx, s.client, t.baseURL(), c)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s %s: %v", t.addr(), c.ID, err))
				break // the service does not answer HTTP: skip its other paths
			}
			if ok {
				out = append(out, httpFinding(t, c, ev))
			}
		}
	}
	out = append(out, s.versionFindings(t, t.Banner)...)
	return out, errs
}

// versionFindings matches the products of a banner against advisories.
func (s *Service) versionFindings(t Target, banner string) []Finding {
	var out []Finding
	for _, d := range s.products.Detect(banner) {
		for _, a := range s.products.Affecting(d.Product.CPE, d.Version) {
			u := ""
			if t.isHTTP() {
				u = t.baseURL() + "/"
			}
			f := finding(ruleVersion+a.ID, t, u, d.Product.Name+" "+d.Version+": "+a.Title, a.Severity, LayerApplication,
				a.Remediation+" Distribution packages may carry the fix without changing the version: check the package changelog.",
				d.Product.Baseline)
			f.Asset.Component, f.Asset.Version = d.Product.Name, d.Version
			f.CVSSVector = a.CVSS
			if strings.HasPrefix(a.ID, "CVE-") {
				f.CVEs = []string{a.ID}
				f.References = append(f.References, "https://nvd.nist.gov/vuln/detail/"+a.ID)
			}
			f.Evidence = fmt.Sprintf("banner %q names %s %s (cpe:2.3:a:%s:%s)", clipStr(banner, 200), d.Product.Name, d.Version,
				d.Product.CPE, d.Version)
			out = append(out, Finding{Finding: f, Layer: LayerApplication})
		}
	}
	return out
}

func clipStr(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// targets returns the in-scope services of the tenant's latest finished
// discovery run.
func (s *Service) targets(ctx context.Context, tenantID string) ([]Target, error) {
	var ts []Target
	var err error
	if s.opts.Targets != nil {
		ts, err = s.opts.Targets(ctx, tenantID)
	} else {
		ts, err = s.discovered(ctx, tenantID)
	}
	if err != nil {
		return nil, err
	}
	scope, err := s.scope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := ts[:0]
	for _, t := range ts {
		if inScope(scope, t.Host) && len(out) < maxTargets {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Service) scope(ctx context.Context, tenantID string) (discovery.Scope, error) {
	if s.exposure == nil {
		return discovery.Scope{}, errors.New("vulnerability scan: no exposure service for the tenant's scope")
	}
	sc, _, err := s.exposure.Scope(ctx, tenantID)
	return sc, err
}

func inScope(sc discovery.Scope, host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && sc.ContainsAddr(a.Unmap())
}

func (s *Service) discovered(ctx context.Context, tenantID string) ([]Target, error) {
	if s.exposure == nil {
		return nil, nil
	}
	runs, err := s.exposure.List(ctx, tenantID, store.Page{Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if r.Status != exposure.StatusDone {
			continue
		}
		_, res, err := s.exposure.Get(ctx, tenantID, r.ID)
		if err != nil {
			return nil, err
		}
		var ts []Target
		for _, p := range res.Open {
			banner := p.Banner
			if p.HTTP != "" {
				banner = strings.TrimSpace(banner + " " + p.HTTP)
			}
			ts = append(ts, Target{Host: p.Host, Port: int(p.Port), Service: p.Service, Banner: banner})
		}
		return ts, nil
	}
	return nil, nil
}

// ErrNoCheck is returned by Verify for a finding no check can re-run.
var ErrNoCheck = errors.New("no check can verify this finding")

// Verification is the outcome of Verify.
type Verification struct {
	FindingID string `json:"finding"`
	Present   bool   `json:"present"`
	State     string `json:"state"`
	Evidence  string `json:"evidence"`
}

// Verify re-runs the check that produced a finding (port probe, TLS
// check, HTTP matcher, version check or nuclei template) on its target,
// which must be in the tenant's scope, and records the outcome through the
// lifecycle: gone → verified-closed, still there → reopened.
func (s *Service) Verify(ctx context.Context, tenantID, findingID string) (Verification, error) {
	v := Verification{FindingID: findingID}
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return v, err
	}
	f, _, err := s.vulns.Get(ctx, tenantID, findingID)
	if err != nil {
		return v, err
	}
	t, err := s.findingTarget(f)
	if err != nil {
		return v, err
	}
	scope, err := s.scope(ctx, tenantID)
	if err != nil {
		return v, err
	}
	if !inScope(scope, t.Host) {
		return v, store.NewFieldError("finding", store.CodeNotInTenant, nil, "%s is outside the tenant's declared address space", t.Host)
	}
	v.Present, v.Evidence, err = s.recheck(ctx, f, t)
	if err != nil {
		return v, err
	}
	v.State, err = s.vulns.Verified(ctx, tenantID, findingID, v.Present, v.Evidence)
	return v, err
}

// CanVerify reports whether Verify has a check for the finding.
func (s *Service) CanVerify(f store.VulnFinding) bool {
	if _, err := s.findingTarget(f); err != nil {
		return false
	}
	switch f.Scanner {
	case Scanner:
		for _, p := range []string{rulePort, ruleTLS, ruleHTTP, ruleVersion} {
			if strings.HasPrefix(f.RuleID, p) {
				return true
			}
		}
	case "nmap":
		return f.RuleID == "open-port"
	case "nuclei":
		return f.RuleID != "" && s.nuclei.Installed()
	}
	return false
}

// findingTarget rebuilds the service a finding was found on.
func (s *Service) findingTarget(f store.VulnFinding) (Target, error) {
	t := Target{Host: f.IP, Port: f.Port}
	if f.URL != "" {
		u, err := url.Parse(f.URL)
		if err == nil && u.Hostname() != "" {
			if t.Host == "" {
				t.Host = u.Hostname()
			}
			t.Service = u.Scheme
			if p, err := strconv.Atoi(u.Port()); err == nil && t.Port == 0 {
				t.Port = p
			} else if t.Port == 0 {
				t.Port = map[string]int{"http": 80, "https": 443}[u.Scheme]
			}
		}
	}
	if t.Host == "" {
		t.Host = f.Host
	}
	if _, err := netip.ParseAddr(t.Host); err != nil || t.Port <= 0 || t.Port > 65535 {
		return t, fmt.Errorf("%w: it names no IP address and port", ErrNoCheck)
	}
	if t.Service == "" && strings.HasPrefix(f.RuleID, ruleTLS) {
		t.Service = "tls"
	}
	return t, nil
}

// recheck runs the finding's check and reports whether the problem is
// still there, with evidence.
func (s *Service) recheck(ctx context.Context, f store.VulnFinding, t Target) (bool, string, error) {
	switch {
	case f.Scanner == Scanner && strings.HasPrefix(f.RuleID, rulePort), f.Scanner == "nmap" && f.RuleID == "open-port":
		if probePort(ctx, t.addr(), s.opts.Timeout) {
			return true, "TCP connection to " + t.addr() + " accepted", nil
		}
		return false, "TCP connection to " + t.addr() + " refused or timed out", nil
	case f.Scanner == Scanner && strings.HasPrefix(f.RuleID, ruleTLS):
		fs, err := tlsFindings(ctx, s.tls, t)
		if err != nil {
			return false, "", err
		}
		for _, x := range fs {
			if x.RuleID == f.RuleID {
				return true, x.Title + " (" + x.Evidence + ")", nil
			}
		}
		return false, "TLS check of " + t.addr() + " no longer reports " + f.RuleID, nil
	case f.Scanner == Scanner && strings.HasPrefix(f.RuleID, ruleHTTP):
		id := strings.TrimPrefix(f.RuleID, ruleHTTP)
		i := slices.IndexFunc(s.checks, func(c HTTPCheck) bool { return c.ID == id })
		if i < 0 {
			return false, "", fmt.Errorf("%w: HTTP check %q is no longer in the catalogue", ErrNoCheck, id)
		}
		ok, ev, err := httpMatch(ctx, s.client, t.baseURL(), s.checks[i])
		if err != nil {
			return false, "", err
		}
		if ok {
			return true, ev, nil
		}
		return false, "GET " + s.checks[i].Path + " on " + t.addr() + " no longer matches", nil
	case f.Scanner == Scanner && strings.HasPrefix(f.RuleID, ruleVersion):
		banner, err := grabBanner(ctx, t, s.client, s.opts.Timeout)
		if err != nil {
			return false, "", err
		}
		for _, x := range s.versionFindings(t, banner) {
			if x.RuleID == f.RuleID {
				return true, x.Evidence, nil
			}
		}
		return false, fmt.Sprintf("banner %q no longer names an affected version", clipStr(banner, 200)), nil
	case f.Scanner == "nuclei" && f.RuleID != "":
		if !s.nuclei.Installed() {
			return false, "", fmt.Errorf("%w: nuclei is not installed", ErrNoCheck)
		}
		target := f.URL
		if target == "" {
			target = t.addr()
		}
		out, err := s.nuclei.run(ctx, s.opts.ToolTimeout, nucleiArgs([]string{target}, f.RuleID)...)
		if err != nil {
			return false, "", err
		}
		if strings.TrimSpace(string(out)) != "" {
			return true, "nuclei template " + f.RuleID + " matched " + target + " again", nil
		}
		return false, "nuclei template " + f.RuleID + " no longer matches " + target, nil
	}
	return false, "", fmt.Errorf("%w (scanner %s, rule %s)", ErrNoCheck, f.Scanner, f.RuleID)
}

// grabBanner reads what a service says about itself: the HTTP Server
// header of a web service, else the first line it sends.
func grabBanner(ctx context.Context, t Target, client *http.Client, timeout time.Duration) (string, error) {
	if t.isHTTP() {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, t.baseURL()+"/", nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		_ = resp.Body.Close()
		return resp.Header.Get("Server"), nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", t.addr())
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(&limitedReader{c, 1024}).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("banner of %s: %w", t.addr(), err)
	}
	return strings.TrimSpace(line), nil
}

type limitedReader struct {
	c net.Conn
	n int
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("banner too long")
	}
	if len(p) > r.n {
		p = p[:r.n]
	}
	n, err := r.c.Read(p)
	r.n -= n
	return n, err
}
