package runner

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/campaign"
)

// Interface guards.
var (
	_ campaign.Runner = (*AdminPages)(nil)
	_ campaign.Runner = (*DefaultCreds)(nil)
)

// LabelURLs is the target label holding the system's web entry points,
// separated by spaces. The web runners probe these URLs only, and only
// when their host is the target's own host.
const LabelURLs = "urls"

// ParamPaths overrides the admin paths an admin-pages task probes
// (comma-separated, each starting with "/").
const ParamPaths = "paths"

// Bounds of the web runners.
const (
	maxURLs      = 16
	maxPaths     = 100
	maxBodyProbe = 64 << 10
)

// HTTPOptions configure the web runners.
type HTTPOptions struct {
	// Timeout bounds each request (default 5s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// webClient is an HTTP client that never follows redirects (a redirect
// could leave the target) and accepts any certificate (the TLS check
// reports certificate problems; these checks look at what is served).
func webClient(o HTTPOptions) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	tr := &http.Transport{
		// #nosec G402 -- probing a declared target's pages; certificate trust is the TLS runner's finding, not this check's
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10},
		Proxy:               nil,
		MaxIdleConnsPerHost: 2,
		DisableKeepAlives:   false,
	}
	return &http.Client{Timeout: o.Timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// targetURLs returns the target's URLs whose host is the target's host.
func targetURLs(target campaign.Target) ([]*url.URL, error) {
	var out []*url.URL
	for _, raw := range strings.Fields(target.Labels[LabelURLs]) {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("target URL %q is not an http(s) URL", raw)
		}
		if target.Host == "" || !strings.EqualFold(u.Hostname(), target.Host) {
			return nil, fmt.Errorf("target URL %q is not on the target's host %q", raw, target.Host)
		}
		u.User, u.RawQuery, u.Fragment = nil, "", ""
		out = append(out, u)
		if len(out) > maxURLs {
			return nil, fmt.Errorf("more than %d target URLs", maxURLs)
		}
	}
	return out, nil
}

// page is what one probe got.
type page struct {
	status int
	header http.Header
	body   []byte
}

func fetch(ctx context.Context, c *http.Client, u string, user, pass string) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("User-Agent", "Vigil campaign check")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req) // #nosec G704 -- the URL is one of the campaign's declared target URLs, on the target's host
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyProbe))
	if err != nil {
		return page{}, err
	}
	return page{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// join puts path p under the URL's root.
func join(u *url.URL, p string) string {
	v := *u
	v.Path = p
	return v.String()
}

// DefaultAdminPaths are the management and admin paths probed by default.
func DefaultAdminPaths() []string {
	return []string{"/admin", "/admin/", "/administrator/", "/manager/html", "/console", "/phpmyadmin/", "/wp-admin/",
		"/wp-login.php", "/actuator", "/actuator/env", "/druid/index.html", "/jmx-console/", "/web-console/", "/solr/",
		"/server-status", "/nacos/", "/swagger-ui.html", "/api-docs", "/.git/config", "/.env"}
}

// defaultPages are markers of a web server's default page: a server put
// in production without its own content.
var defaultPages = []struct{ marker, what string }{
	{"Welcome to nginx!", "nginx default page"},
	{"Apache2 Ubuntu Default Page", "Apache default page"},
	{"Apache2 Debian Default Page", "Apache default page"},
	{"It works!", "Apache default page"},
	{"IIS Windows Server", "IIS default page"},
	{"If you're seeing this, you've successfully installed Tomcat", "Tomcat default page"},
	{"Test Page for the Apache HTTP Server", "Apache test page"},
}

// AdminPages probes the target's URLs for exposed admin and management
// pages and for web servers' default pages. A path that answers 200 with
// content other than the site's answer for a path that cannot exist is
// exposed (medium, 5.3; high, 7.5, for source and configuration files); a
// default server page is low (3.7). Paths behind authentication (401,
// 403) and redirects are not findings. A target without URLs is not
// applicable; a target none of whose URLs answers is an error.
type AdminPages struct {
	client *http.Client
}

// NewAdminPages returns an AdminPages runner.
func NewAdminPages(o HTTPOptions) *AdminPages { return &AdminPages{client: webClient(o)} }

// Run implements campaign.Runner.
func (a *AdminPages) Run(ctx context.Context, task campaign.Task, target campaign.Target) (campaign.Result, error) {
	urls, err := targetURLs(target)
	if err != nil {
		return campaign.Result{}, err
	}
	if len(urls) == 0 {
		return campaign.Result{Status: campaign.StatusNotApplicable, Evidence: []string{"the target declares no web URL"}}, nil
	}
	paths := DefaultAdminPaths()
	if p := strings.TrimSpace(task.Params[ParamPaths]); p != "" {
		paths = nil
		for _, s := range strings.Split(p, ",") {
			s = strings.TrimSpace(s)
			if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t\r\n") {
				return campaign.Result{}, fmt.Errorf("admin path %q must start with / and hold no spaces", s)
			}
			paths = append(paths, s)
		}
		if len(paths) > maxPaths {
			return campaign.Result{}, fmt.Errorf("%d admin paths, limit %d", len(paths), maxPaths)
		}
	}
	res := campaign.Result{Status: campaign.StatusPassed}
	reached := 0
	var lastErr error
	for _, u := range urls {
		// What the site answers for a path that cannot exist: a site that
		// answers 200 to everything must not make every path a finding.
		miss, err := fetch(ctx, a.client, join(u, "/vigil-probe-"+fmt.Sprintf("%x", sha256.Sum256([]byte(u.String())))[:16]), "", "")
		if err != nil {
			lastErr = err
			continue
		}
		reached++
		missSum := sha256.Sum256(miss.body)
		root, err := fetch(ctx, a.client, u.String(), "", "")
		if err == nil && root.status == http.StatusOK {
			for _, d := range defaultPages {
				if strings.Contains(string(root.body), d.marker) {
					res.Findings = append(res.Findings, campaign.Finding{Key: "default-page/" + u.Host, Title: "Web server default page: " + d.what,
						Severity: campaign.SeverityLow, Score: 3.7, Evidence: []string{u.String()}})
					break
				}
			}
		}
		for _, p := range paths {
			if err := ctx.Err(); err != nil {
				return campaign.Result{}, err
			}
			pg, err := fetch(ctx, a.client, join(u, p), "", "")
			if err != nil || pg.status != http.StatusOK {
				continue
			}
			if miss.status == http.StatusOK && sha256.Sum256(pg.body) == missSum {
				continue
			}
			sev, score := campaign.SeverityMedium, 5.3
			if strings.HasPrefix(p, "/.") || strings.Contains(p, "actuator/env") {
				sev, score = campaign.SeverityHigh, 7.5
			}
			res.Findings = append(res.Findings, campaign.Finding{Key: "admin-page/" + u.Host + p, Title: "Admin or management page reachable: " + p,
				Severity: sev, Score: score, Evidence: []string{join(u, p) + " answered 200 without authentication"}})
		}
	}
	if reached == 0 {
		return campaign.Result{}, fmt.Errorf("admin pages: no target URL answered: %w", lastErr)
	}
	if len(res.Findings) > 0 {
		res.Status = campaign.StatusFailed
	}
	return res, nil
}

// DefaultCredential is one user name and password pair tried.
type DefaultCredential struct{ User, Password string }

// DefaultCredentials are the pairs tried against HTTP basic
// authentication: vendor defaults seen on management interfaces.
func DefaultCredentials() []DefaultCredential {
	return []DefaultCredential{{"admin", "admin"}, {"admin", "password"}, {"admin", "123456"}, {"admin", ""}, {"root", "root"},
		{"tomcat", "tomcat"}, {"manager", "manager"}, {"admin", "admin123"}, {"test", "test"}, {"guest", "guest"}}
}

// DefaultCreds tries default credentials on the target URLs that ask for
// HTTP basic authentication. A pair that is accepted is a high finding
// (8.8). A target without URLs, or whose URLs ask for no basic
// authentication, is not applicable; one whose URLs do not answer is an
// error.
type DefaultCreds struct {
	client *http.Client
	creds  []DefaultCredential
}

// NewDefaultCreds returns a DefaultCreds runner.
func NewDefaultCreds(o HTTPOptions) *DefaultCreds {
	return &DefaultCreds{client: webClient(o), creds: DefaultCredentials()}
}

// Run implements campaign.Runner.
func (d *DefaultCreds) Run(ctx context.Context, _ campaign.Task, target campaign.Target) (campaign.Result, error) {
	urls, err := targetURLs(target)
	if err != nil {
		return campaign.Result{}, err
	}
	if len(urls) == 0 {
		return campaign.Result{Status: campaign.StatusNotApplicable, Evidence: []string{"the target declares no web URL"}}, nil
	}
	res := campaign.Result{Status: campaign.StatusPassed}
	reached, prompted := 0, 0
	var errs []error
	for _, u := range urls {
		first, err := fetch(ctx, d.client, u.String(), "", "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		reached++
		if first.status != http.StatusUnauthorized || !strings.HasPrefix(strings.ToLower(first.header.Get("WWW-Authenticate")), "basic") {
			continue
		}
		prompted++
		for _, c := range d.creds {
			pg, err := fetch(ctx, d.client, u.String(), c.User, c.Password)
			if err != nil {
				if ctx.Err() != nil {
					return campaign.Result{}, ctx.Err()
				}
				continue
			}
			if pg.status >= 200 && pg.status < 400 {
				pw := "empty password"
				if c.Password != "" {
					pw = "the vendor default password"
				}
				res.Findings = append(res.Findings, campaign.Finding{Key: "default-credentials/" + u.Host + u.Path, Title: "Default credentials accepted: user " + c.User + " with " + pw,
					Severity: campaign.SeverityHigh, Score: 8.8, Evidence: []string{u.String() + " accepted HTTP basic authentication as " + c.User}})
				break
			}
		}
	}
	if reached == 0 {
		return campaign.Result{}, fmt.Errorf("default credentials: no target URL answered: %w", errors.Join(errs...))
	}
	if prompted == 0 {
		return campaign.Result{Status: campaign.StatusNotApplicable, Evidence: []string{"no target URL asks for HTTP basic authentication"}}, nil
	}
	if len(res.Findings) > 0 {
		res.Status = campaign.StatusFailed
	}
	return res, nil
}
