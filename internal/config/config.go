// Package config defines Vigil's one typed configuration and loads it from,
// in increasing precedence, built-in defaults, a YAML file (vigil.yaml),
// VIGIL_* environment variables and command-line flags. Validate reports
// every problem at once, in words a user can act on.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Roles a node can run.
const (
	RoleAll    = "all"
	RoleAPI    = "api"
	RoleWorker = "worker"
	RoleIngest = "ingest"
	// RoleScheduler queues the housekeeping jobs; of the nodes running it
	// one leads at a time (role all includes it).
	RoleScheduler = "scheduler"
)

// Config is the whole configuration. Field tags name the YAML key; the
// environment variable is VIGIL_ plus the key in upper case.
type Config struct {
	Addr    string `yaml:"addr"`     // listen address of the HTTP server
	DataDir string `yaml:"data_dir"` // SQLite database, bus queue, secret key
	// DB is "" for SQLite in DataDir, or a postgres:// URL.
	DB string `yaml:"db"`
	// Bus is "" for the in-process bus, or a nats:// URL (JetStream).
	Bus string `yaml:"bus"`
	// BusPrefix names this deployment's JetStream streams, so several
	// deployments can share one NATS server.
	BusPrefix string `yaml:"bus_prefix"`
	// BusReplicas is how many NATS servers hold a copy of the events
	// stream (1-5); 0 picks 3 when Bus lists at least three servers, else
	// 1. BusMaxBytes bounds the stream (0: the server's limit), after which
	// ingest answers "retry"; BusMaxAge drops batches no worker took within
	// it (0: never).
	BusReplicas int           `yaml:"bus_replicas"`
	BusMaxBytes int64         `yaml:"bus_max_bytes"`
	BusMaxAge   time.Duration `yaml:"bus_max_age"`
	Role        string        `yaml:"role"` // all, api, worker, ingest, scheduler

	LogLevel  string `yaml:"log_level"`  // debug, info, warn, error
	LogFormat string `yaml:"log_format"` // text, json

	// BaseURL is the external URL users reach Vigil at (links in mail,
	// cookie security). Default http://Addr.
	BaseURL string `yaml:"base_url"`
	// SecureCookies forces the Secure cookie flag; default: when BaseURL
	// is https.
	SecureCookies  *bool    `yaml:"secure_cookies"`
	TrustedProxies []string `yaml:"trusted_proxies"` // CIDRs whose X-Forwarded-For is believed

	SessionTTL      time.Duration `yaml:"session_ttl"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`

	// KEVSource and EPSSSource are where the CISA KEV catalogue (JSON) and
	// the FIRST EPSS scores (CSV, optionally gzip) come from: a file path
	// or an http(s) URL; empty disables that input of the priority. Every
	// node reloads them each FeedRefresh.
	// RulesDir is a directory of Sigma rules (SigmaHQ layout) every new
	// event is matched against; empty stores events without detection.
	RulesDir string `yaml:"rules_dir"`
	// NodeID names this node's detection correlation snapshots when
	// several ingest nodes share a database; empty: an id kept in
	// DataDir (file node-id), created on first start.
	NodeID string `yaml:"node_id"`
	// SyslogTCP and SyslogUDP are listen addresses for syslog (RFC 5424 and
	// 3164; octet-counting or newline framing on TCP); empty is off.
	// Syslog carries no credentials, so SyslogTenant (a tenant slug) owns
	// what arrives there.
	SyslogTCP    string `yaml:"syslog_tcp"`
	SyslogUDP    string `yaml:"syslog_udp"`
	SyslogTenant string `yaml:"syslog_tenant"`
	// NetFlowUDP is the listen address of the flow collector (NetFlow v5
	// and v9, IPFIX, sFlow v5); empty is off. Exporters are mapped to
	// tenants by the platform's exporter map; NetFlowTenant (a tenant
	// slug, optional) owns the flows of exporters not mapped.
	NetFlowUDP    string `yaml:"netflow_udp"`
	NetFlowTenant string `yaml:"netflow_tenant"`
	// SNMPTrapUDP is the listen address of the SNMP trap receiver (v1 and
	// v2c traps and informs from the tenants' devices, each checked
	// against its device's community); empty is off.
	SNMPTrapUDP string `yaml:"snmp_trap_udp"`
	// AgentAddr is the listen address of the host agents' own HTTPS
	// listener (the agent endpoints only), with the server certificate
	// AgentTLSCert and key AgentTLSKey (PEM files); empty is off. With
	// AgentMTLS it requires every agent request but enrolment to present
	// the client certificate the node issued the agent at enrolment.
	AgentAddr    string `yaml:"agent_addr"`
	AgentTLSCert string `yaml:"agent_tls_cert"`
	AgentTLSKey  string `yaml:"agent_tls_key"`
	AgentMTLS    bool   `yaml:"agent_mtls"`
	// AgentCertLifetime is the lifetime of the client certificates issued
	// to agents at enrolment and renewal (agents renew at two thirds of
	// it); between MinAgentCertLifetime and MaxAgentCertLifetime.
	AgentCertLifetime time.Duration `yaml:"agent_cert_lifetime"`

	// Chromium is the browser binary for PDF reports; empty looks up
	// chromium, chromium-browser and google-chrome on PATH.
	Chromium string `yaml:"chromium"`

	// IntelFeeds are threat intelligence feeds (STIX 2.1 bundles, MISP
	// event exports or feed directories, CSV/TXT lists) every new event is
	// matched against; reloaded each FeedRefresh.
	IntelFeeds []string `yaml:"intel_feeds"`
	// AdvisoryFeeds are vulnerability and campaign advisories (Vigil's
	// advisory JSON or STIX 2.1 bundles with vulnerability objects) that
	// are matched against every tenant's assets next to the KEV catalogue;
	// reloaded each FeedRefresh.
	AdvisoryFeeds []string `yaml:"advisory_feeds"`

	KEVSource   string        `yaml:"kev_source"`
	EPSSSource  string        `yaml:"epss_source"`
	FeedRefresh time.Duration `yaml:"feed_refresh"`

	// EventRetention is how long log events are kept (0: for ever). On
	// PostgreSQL whole days of events are dropped once all of the day is
	// older; SQLite deletes the rows.
	EventRetention time.Duration `yaml:"event_retention"`

	// SecretKey (base64, 32 bytes) encrypts secrets at rest; default a key
	// file in DataDir. Only from the environment (VIGIL_SECRET_KEY).
	SecretKey string `yaml:"-"`
	// AdminPassword sets the first admin's password on first start
	// (VIGIL_ADMIN_PASSWORD); otherwise a one-time password is printed.
	AdminPassword string `yaml:"-"`
}

var busPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DataDir:         "./vigil-data",
		Role:            RoleAll,
		BusPrefix:       "VIGIL",
		LogLevel:        "info",
		LogFormat:       "text",
		SessionTTL:      12 * time.Hour,
		ShutdownTimeout: 30 * time.Second,
		MaxBodyBytes:    1 << 20,
		FeedRefresh:     24 * time.Hour,
		// Two years, as before the setting existed.
		AgentCertLifetime: 2 * 365 * 24 * time.Hour,
	}
}

// Bounds of AgentCertLifetime.
const (
	MinAgentCertLifetime = 24 * time.Hour
	MaxAgentCertLifetime = 5 * 365 * 24 * time.Hour
)

// MaxConfigFile bounds the config file size.
const MaxConfigFile = 1 << 20

// LoadFile merges a YAML file into c. Unknown keys are errors so typos do
// not pass silently.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path) // #nosec G304 -- the operator names the file
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	if len(b) > MaxConfigFile {
		return fmt.Errorf("config file %s: larger than %d bytes", path, MaxConfigFile)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// LoadEnv merges VIGIL_* variables from lookup (os.LookupEnv in production).
// A variable set to the empty string counts as unset.
func (c *Config) LoadEnv(lookup func(string) (string, bool)) error {
	var errs []error
	get := lookup
	lookup = func(k string) (string, bool) {
		v, ok := get(k)
		return v, ok && v != ""
	}
	str := func(key string, dst *string) {
		if v, ok := lookup(key); ok {
			*dst = v
		}
	}
	dur := func(key string, dst *time.Duration) {
		if v, ok := lookup(key); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 30s, 12h)", key, v))
				return
			}
			*dst = d
		}
	}
	str("VIGIL_ADDR", &c.Addr)
	str("VIGIL_DATA_DIR", &c.DataDir)
	str("VIGIL_DB", &c.DB)
	str("VIGIL_BUS", &c.Bus)
	str("VIGIL_ROLE", &c.Role)
	str("VIGIL_BUS_PREFIX", &c.BusPrefix)
	dur("VIGIL_BUS_MAX_AGE", &c.BusMaxAge)
	if v, ok := lookup("VIGIL_BUS_MAX_BYTES"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("VIGIL_BUS_MAX_BYTES: %q is not a number", v))
		} else {
			c.BusMaxBytes = n
		}
	}
	if v, ok := lookup("VIGIL_BUS_REPLICAS"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("VIGIL_BUS_REPLICAS: %q is not a number", v))
		} else {
			c.BusReplicas = n
		}
	}
	str("VIGIL_LOG_LEVEL", &c.LogLevel)
	str("VIGIL_LOG_FORMAT", &c.LogFormat)
	str("VIGIL_BASE_URL", &c.BaseURL)
	str("VIGIL_SECRET_KEY", &c.SecretKey)
	str("VIGIL_ADMIN_PASSWORD", &c.AdminPassword)
	str("VIGIL_KEV_SOURCE", &c.KEVSource)
	str("VIGIL_CHROMIUM", &c.Chromium)
	str("VIGIL_RULES_DIR", &c.RulesDir)
	str("VIGIL_NODE_ID", &c.NodeID)
	if v, ok := lookup("VIGIL_INTEL_FEEDS"); ok {
		c.IntelFeeds = splitList(v)
	}
	if v, ok := lookup("VIGIL_ADVISORY_FEEDS"); ok {
		c.AdvisoryFeeds = splitList(v)
	}
	str("VIGIL_SYSLOG_TCP", &c.SyslogTCP)
	str("VIGIL_SYSLOG_UDP", &c.SyslogUDP)
	str("VIGIL_SYSLOG_TENANT", &c.SyslogTenant)
	str("VIGIL_NETFLOW_UDP", &c.NetFlowUDP)
	str("VIGIL_NETFLOW_TENANT", &c.NetFlowTenant)
	str("VIGIL_SNMP_TRAP_UDP", &c.SNMPTrapUDP)
	str("VIGIL_AGENT_ADDR", &c.AgentAddr)
	str("VIGIL_AGENT_TLS_CERT", &c.AgentTLSCert)
	str("VIGIL_AGENT_TLS_KEY", &c.AgentTLSKey)
	if v, ok := lookup("VIGIL_AGENT_MTLS"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("VIGIL_AGENT_MTLS: %q is not true or false", v))
		} else {
			c.AgentMTLS = b
		}
	}
	str("VIGIL_EPSS_SOURCE", &c.EPSSSource)
	dur("VIGIL_FEED_REFRESH", &c.FeedRefresh)
	dur("VIGIL_AGENT_CERT_LIFETIME", &c.AgentCertLifetime)
	dur("VIGIL_EVENT_RETENTION", &c.EventRetention)
	dur("VIGIL_SESSION_TTL", &c.SessionTTL)
	dur("VIGIL_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	if v, ok := lookup("VIGIL_SECURE_COOKIES"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("VIGIL_SECURE_COOKIES: %q is not true or false", v))
		} else {
			c.SecureCookies = &b
		}
	}
	if v, ok := lookup("VIGIL_TRUSTED_PROXIES"); ok {
		c.TrustedProxies = splitList(v)
	}
	if v, ok := lookup("VIGIL_MAX_BODY_BYTES"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("VIGIL_MAX_BODY_BYTES: %q is not a number", v))
		} else {
			c.MaxBodyBytes = n
		}
	}
	return errors.Join(errs...)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate checks every field and returns all problems joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr %q must be host:port, e.g. 127.0.0.1:8080", c.Addr)
	}
	if c.DB == "" && strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir is required when db is not set (SQLite lives there)")
	}
	if c.DB != "" {
		u, err := url.Parse(c.DB)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("db must be a postgres:// URL (or empty for SQLite in data_dir)")
		}
	}
	if c.Bus != "" {
		u, err := url.Parse(c.Bus)
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") {
			bad("bus must be a nats:// URL (or empty for the in-process bus)")
		}
	}
	if c.BusReplicas < 0 || c.BusReplicas > 5 {
		bad("bus_replicas %d must be between 1 and 5 (0: 3 with three or more NATS servers, else 1)", c.BusReplicas)
	}
	if c.BusMaxBytes < 0 || c.BusMaxAge < 0 {
		bad("bus_max_bytes and bus_max_age must not be negative (0: no limit)")
	}
	if !busPrefixRE.MatchString(c.BusPrefix) {
		bad("bus_prefix %q must be 1-32 letters, digits, '-' or '_'", c.BusPrefix)
	}
	if !slices.Contains([]string{RoleAll, RoleAPI, RoleWorker, RoleIngest, RoleScheduler}, c.Role) {
		bad("role %q must be one of all, api, worker, ingest, scheduler", c.Role)
	}
	if c.Role != RoleAll && (c.DB == "" || c.Bus == "") {
		bad("role %q needs a shared db (postgres://) and bus (nats://); the embedded SQLite and in-process bus serve role all only", c.Role)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("log_level %q must be debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format %q must be text or json", c.LogFormat)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("base_url %q must be an http(s) URL", c.BaseURL)
		}
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			bad("trusted_proxies: %q is not a CIDR", p)
		}
	}
	if c.AgentAddr != "" {
		if _, _, err := net.SplitHostPort(c.AgentAddr); err != nil {
			bad("agent_addr %q must be host:port", c.AgentAddr)
		}
		if c.AgentTLSCert == "" || c.AgentTLSKey == "" {
			bad("agent_addr needs agent_tls_cert and agent_tls_key (the agent listener speaks only HTTPS)")
		}
	} else if c.AgentMTLS {
		bad("agent_mtls needs agent_addr (the agent listener)")
	}
	if c.SessionTTL < time.Minute || c.SessionTTL > 30*24*time.Hour {
		bad("session_ttl must be between 1m and 720h")
	}
	if c.ShutdownTimeout < time.Second || c.ShutdownTimeout > 10*time.Minute {
		bad("shutdown_timeout must be between 1s and 10m")
	}
	for name, src := range map[string]string{"kev_source": c.KEVSource, "epss_source": c.EPSSSource} {
		if strings.Contains(src, "://") {
			if u, err := url.Parse(src); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("%s %q must be a file path or an http(s) URL", name, src)
			}
		}
	}
	for name, addr := range map[string]string{"syslog_tcp": c.SyslogTCP, "syslog_udp": c.SyslogUDP} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s %q must be host:port", name, addr)
		}
		if c.SyslogTenant == "" {
			bad("%s needs syslog_tenant: the tenant that owns what arrives there", name)
		}
	}
	if c.NetFlowUDP != "" {
		if _, _, err := net.SplitHostPort(c.NetFlowUDP); err != nil {
			bad("netflow_udp %q must be host:port, e.g. 0.0.0.0:2055", c.NetFlowUDP)
		}
	}
	if _, _, err := net.SplitHostPort(c.SNMPTrapUDP); c.SNMPTrapUDP != "" && err != nil {
		bad("snmp_trap_udp %q must be host:port, e.g. 0.0.0.0:162", c.SNMPTrapUDP)
	}
	if c.FeedRefresh < time.Minute || c.FeedRefresh > 30*24*time.Hour {
		bad("feed_refresh must be between 1m and 720h")
	}
	if c.AgentCertLifetime < MinAgentCertLifetime || c.AgentCertLifetime > MaxAgentCertLifetime {
		bad("agent_cert_lifetime %v must be between 24h (a day) and 43800h (five years)", c.AgentCertLifetime)
	}
	if c.EventRetention != 0 && (c.EventRetention < 24*time.Hour || c.EventRetention > 100*366*24*time.Hour) {
		bad("event_retention must be 0 (keep) or between 24h and 876600h")
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 1<<30 {
		bad("max_body_bytes must be between 1024 and 1073741824")
	}
	return errors.Join(errs...)
}

// Prefixes parses TrustedProxies (call after Validate).
func (c *Config) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range c.TrustedProxies {
		if pr, err := netip.ParsePrefix(p); err == nil {
			out = append(out, pr)
		}
	}
	return out
}

// ExternalURL is BaseURL or one derived from Addr.
func (c *Config) ExternalURL() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	return "http://" + c.Addr
}

// CookieSecure reports whether cookies carry the Secure flag.
func (c *Config) CookieSecure() bool {
	if c.SecureCookies != nil {
		return *c.SecureCookies
	}
	return strings.HasPrefix(c.BaseURL, "https://")
}

// Redacted returns a copy safe to log or print.
func (c Config) Redacted() Config {
	if c.SecretKey != "" {
		c.SecretKey = "REDACTED"
	}
	if c.AdminPassword != "" {
		c.AdminPassword = "REDACTED"
	}
	if u, err := url.Parse(c.DB); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
			c.DB = u.String()
		}
	}
	return c
}
