package gmp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of a tenant's connection settings.
const (
	maxField     = 200      // user name, server name
	maxAddress   = 1024     // socket path or host:port
	maxPassword  = 1024     // bytes
	maxCAPEM     = 64 << 10 // bytes
	maxHosts     = 4096     // hosts in one scan target
	maxRunErrors = 100      // errors kept in one run's history
	defaultPoll  = 30 * time.Second
	defaultWait  = 24 * time.Hour
	passwordKind = "password"
)

// ErrNotConfigured means the tenant has no OpenVAS connection.
var ErrNotConfigured = errors.New("openvas: no gvmd connection is set for the tenant")

type withoutScanKey struct{}

// WithoutScan marks ctx so that the tenant's OpenVAS scan is left out of
// the vulnerability scan run under it. A scan started by hand runs within
// one request, which an OpenVAS scan (minutes to hours) would outlive;
// OpenVAS runs with the scheduled scans.
func WithoutScan(ctx context.Context) context.Context {
	return context.WithValue(ctx, withoutScanKey{}, true)
}

// ScanLeftOut reports whether ctx was marked by WithoutScan.
func ScanLeftOut(ctx context.Context) bool {
	v, _ := ctx.Value(withoutScanKey{}).(bool)
	return v
}

// uuidRE matches the IDs gvmd gives its objects.
var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Input is a tenant's connection as a form or the API sends it. An empty
// Password keeps the stored one; empty IDs are the stock defaults.
type Input struct {
	Address    string
	Username   string
	Password   string
	CAPEM      string
	ServerName string
	ConfigID   string
	PortListID string
	ScannerID  string
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Logger *slog.Logger
	// Poll is the time between two get_tasks (default 30 seconds);
	// MaxWait bounds a whole scan, from connecting to the report (default
	// 24 hours): a task still running then is an error of the run.
	Poll    time.Duration
	MaxWait time.Duration
	// Timeout bounds each command (default DefaultTimeout).
	Timeout time.Duration
	// Now is the clock of the run history (default time.Now).
	Now func() time.Time
}

// Service keeps tenants' gvmd connections (the password in the vault),
// runs their OpenVAS scans and keeps the history of vulnerability scan
// runs.
type Service struct {
	store store.Store
	vault *secret.Vault
	audit *audit.Log
	opts  ServiceOptions
}

// NewService returns a Service.
func NewService(st store.Store, vault *secret.Vault, a *audit.Log, o ServiceOptions) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = defaultPoll
	}
	if o.MaxWait <= 0 {
		o.MaxWait = defaultWait
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{store: st, vault: vault, audit: a, opts: o}
}

// requireAdmin checks that the principal may set a tenant's scanner
// account: it changes what scans run and holds a credential.
func requireAdmin(ctx context.Context, tenantID string) error {
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return err
	}
	return auth.Require(ctx, auth.PermSecretWrite, tenantID)
}

// Get returns the tenant's connection (without its password);
// store.ErrNotFound when there is none.
func (s *Service) Get(ctx context.Context, tenantID string) (store.VulnGMP, error) {
	if err := requireAdmin(ctx, tenantID); err != nil {
		return store.VulnGMP{}, err
	}
	return s.store.VulnScanRuns().GetGMP(ctx, tenantID)
}

// Put validates and stores the tenant's connection; the password goes
// to the vault, encrypted.
func (s *Service) Put(ctx context.Context, tenantID string, in Input) (store.VulnGMP, error) {
	if err := requireAdmin(ctx, tenantID); err != nil {
		return store.VulnGMP{}, err
	}
	old, err := s.store.VulnScanRuns().GetGMP(ctx, tenantID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.VulnGMP{}, err
	}
	g, err := in.check(old.SecretID != "")
	if err != nil {
		return store.VulnGMP{}, err
	}
	g.TenantID, g.SecretID = tenantID, old.SecretID
	if in.Password != "" {
		sec := secret.Input{Name: "OpenVAS (gvmd) account " + g.Username, Kind: passwordKind, Value: []byte(in.Password)}
		if g.SecretID != "" {
			if _, err := s.vault.Replace(ctx, tenantID, g.SecretID, sec); err != nil && !errors.Is(err, store.ErrNotFound) {
				return store.VulnGMP{}, err
			} else if err != nil {
				g.SecretID = ""
			}
		}
		if g.SecretID == "" {
			v, err := s.vault.Create(ctx, tenantID, sec)
			if err != nil {
				return store.VulnGMP{}, err
			}
			g.SecretID = v.ID
		}
	}
	if err := s.store.VulnScanRuns().PutGMP(ctx, &g); err != nil {
		return store.VulnGMP{}, err
	}
	return g, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "vuln.openvas.save", Object: "tenant:" + tenantID,
		Detail: map[string]string{"address": g.Address, "username": g.Username, "config": g.ConfigID,
			"port_list": g.PortListID, "scanner": g.ScannerID, "password_changed": strconv.FormatBool(in.Password != "")}})
}

// Delete removes the tenant's connection and its password.
func (s *Service) Delete(ctx context.Context, tenantID string) error {
	if err := requireAdmin(ctx, tenantID); err != nil {
		return err
	}
	g, err := s.store.VulnScanRuns().GetGMP(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := s.store.VulnScanRuns().DeleteGMP(ctx, tenantID); err != nil {
		return err
	}
	if err := s.vault.Delete(ctx, tenantID, g.SecretID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "vuln.openvas.delete", Object: "tenant:" + tenantID})
}

// check validates in into a connection; hasPassword says whether one is
// stored already.
func (in Input) check(hasPassword bool) (store.VulnGMP, error) {
	g := store.VulnGMP{Address: strings.TrimSpace(in.Address), Username: strings.TrimSpace(in.Username),
		CAPEM: strings.TrimSpace(in.CAPEM), ServerName: strings.TrimSpace(in.ServerName),
		ConfigID: strings.ToLower(strings.TrimSpace(in.ConfigID)), PortListID: strings.ToLower(strings.TrimSpace(in.PortListID)),
		ScannerID: strings.ToLower(strings.TrimSpace(in.ScannerID))}
	network, err := checkAddress(g.Address)
	if err != nil {
		return g, err
	}
	if err := checkText("username", g.Username, true); err != nil {
		return g, err
	}
	switch {
	case in.Password == "" && !hasPassword:
		return g, store.NewFieldError("password", store.CodeRequired, nil, "the gvmd account's password is required")
	case len(in.Password) > maxPassword:
		return g, store.NewFieldError("password", store.CodeTooLarge, map[string]any{"max": maxPassword},
			"the password must be at most %d bytes", maxPassword)
	}
	if err := checkText("server_name", g.ServerName, false); err != nil {
		return g, err
	}
	if network == "unix" && (g.CAPEM != "" || g.ServerName != "") {
		return g, store.NewFieldError("ca_pem", store.CodeInvalidConfig, map[string]any{"reason": "unix socket"},
			"a CA certificate and server name apply to a host:port (TLS) address only")
	}
	if g.CAPEM != "" {
		if len(g.CAPEM) > maxCAPEM {
			return g, store.NewFieldError("ca_pem", store.CodeTooLarge, map[string]any{"max": maxCAPEM},
				"the CA certificate must be at most %d bytes", maxCAPEM)
		}
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(g.CAPEM)) {
			return g, store.NewFieldError("ca_pem", store.CodeInvalidConfig, map[string]any{"reason": "no certificate"},
				"the CA certificate must be PEM (-----BEGIN CERTIFICATE-----)")
		}
	}
	for _, f := range []struct {
		name string
		v    *string
		def  string
	}{{"config_id", &g.ConfigID, ConfigFullAndFast}, {"port_list_id", &g.PortListID, PortListAllTCPNmapUDP},
		{"scanner_id", &g.ScannerID, ScannerOpenVAS}} {
		if *f.v == "" {
			*f.v = f.def
		}
		if !uuidRE.MatchString(*f.v) {
			return g, store.NewFieldError(f.name, store.CodeInvalidConfig, map[string]any{"reason": "not a UUID"},
				"%s must be a gvmd UUID such as %s", f.name, f.def)
		}
	}
	return g, nil
}

// checkAddress accepts an absolute socket path or host:port and returns
// the network.
func checkAddress(a string) (string, error) {
	bad := func() (string, error) {
		return "", store.NewFieldError("address", store.CodeInvalidHostPort, nil,
			"the address must be gvmd's Unix socket path (/run/gvmd/gvmd.sock) or host:port (gvmd.example:9390)")
	}
	if a == "" || len(a) > maxAddress || strings.ContainsFunc(a, unicode.IsControl) {
		return bad()
	}
	if strings.HasPrefix(a, "/") {
		if path.Clean(a) != a {
			return bad()
		}
		return "unix", nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" || len(host) > 253 || strings.ContainsAny(host, " /") {
		return bad()
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return bad()
	}
	return "tcp", nil
}

func checkText(field, v string, required bool) error {
	switch {
	case v == "" && required:
		return store.NewFieldError(field, store.CodeRequired, nil, "%s is required", field)
	case utf8.RuneCountInString(v) > maxField:
		return store.NewFieldError(field, store.CodeTooLong, map[string]any{"max": maxField},
			"%s must be at most %d characters", field, maxField)
	case strings.ContainsFunc(v, unicode.IsControl):
		return store.NewFieldError(field, store.CodeInvalidConfig, map[string]any{"reason": "control character"},
			"%s holds a control character", field)
	}
	return nil
}

// Configured reports whether the tenant has a connection.
func (s *Service) Configured(ctx context.Context, tenantID string) (bool, error) {
	_, err := s.store.VulnScanRuns().GetGMP(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Scan runs an OpenVAS scan of hosts through the tenant's gvmd and
// returns its report in the XML format; ErrNotConfigured when the tenant
// has no connection. The principal must be allowed to open the tenant's
// secrets (the scheduler's is). The whole scan is bounded by MaxWait.
func (s *Service) Scan(ctx context.Context, tenantID string, hosts []string) ([]byte, error) {
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return nil, err
	}
	g, err := s.store.VulnScanRuns().GetGMP(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotConfigured
	}
	if err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		return nil, errors.New("openvas: no host to scan")
	}
	if len(hosts) > maxHosts {
		return nil, fmt.Errorf("openvas: %d hosts, at most %d in one scan", len(hosts), maxHosts)
	}
	pw, err := s.vault.Open(ctx, tenantID, g.SecretID, "openvas scan through gvmd "+g.Address)
	if err != nil {
		return nil, fmt.Errorf("openvas: password: %w", err)
	}
	o := Options{Network: "tcp", Address: g.Address, Username: g.Username, Password: string(pw), Timeout: s.opts.Timeout}
	if strings.HasPrefix(g.Address, "/") {
		o.Network = "unix"
	} else {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: g.ServerName}
		if g.CAPEM != "" {
			cfg.RootCAs = x509.NewCertPool()
			cfg.RootCAs.AppendCertsFromPEM([]byte(g.CAPEM))
		}
		o.TLS = cfg
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.MaxWait)
	defer cancel()
	c, err := Dial(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("openvas at %s: %w", g.Address, s.waited(ctx, err))
	}
	defer func() { _ = c.Close() }()
	name := fmt.Sprintf("Vigil %s %s", tenantID, s.opts.Now().UTC().Format(time.RFC3339))
	rep, err := c.Scan(ctx, ScanOptions{Name: name, Hosts: hosts, ConfigID: g.ConfigID, ScannerID: g.ScannerID,
		PortListID: g.PortListID, Poll: s.opts.Poll})
	if err != nil {
		return nil, fmt.Errorf("openvas at %s: %w", g.Address, s.waited(ctx, err))
	}
	return rep, nil
}

// waited names the bound when the scan outlived MaxWait.
func (s *Service) waited(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no report within %v: %w", s.opts.MaxWait, err)
	}
	return err
}

// Outcome is what a scan run did, as the scan service reports it.
type Outcome struct {
	Targets, Findings        int
	ScanIDs, Skipped, Errors []string
}

// Record adds a run to the tenant's scan history: kind is "scheduled" or
// "manual", runErr the error that ended it early (nil when it ran to the
// end). A run with errors is "partial", one ended by runErr "failed".
func (s *Service) Record(ctx context.Context, tenantID, kind string, started time.Time, o Outcome, runErr error) (store.VulnScanRun, error) {
	r := store.VulnScanRun{TenantID: tenantID, Kind: kind, Status: "ok", StartedAt: started, FinishedAt: s.opts.Now(),
		Targets: o.Targets, Findings: o.Findings, ScanIDs: o.ScanIDs, Skipped: o.Skipped, Errors: o.Errors}
	if len(r.Errors) > maxRunErrors {
		r.Errors = append(r.Errors[:maxRunErrors:maxRunErrors], fmt.Sprintf("and %d more", len(o.Errors)-maxRunErrors))
	}
	switch {
	case runErr != nil:
		r.Status, r.Errors = "failed", append(r.Errors, runErr.Error())
	case len(r.Errors) > 0:
		r.Status = "partial"
	}
	if err := auth.Require(ctx, auth.PermVulnWrite, tenantID); err != nil {
		return r, err
	}
	return r, s.store.VulnScanRuns().AddRun(ctx, &r)
}

// Runs returns the tenant's newest scan runs.
func (s *Service) Runs(ctx context.Context, tenantID string, limit int) ([]store.VulnScanRun, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.VulnScanRuns().Runs(ctx, tenantID, limit)
}
