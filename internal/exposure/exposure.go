// Package exposure owns the asset discovery service of a tenant: scans of
// the address space the tenant declared (its "ip" assets: addresses and
// CIDR blocks), merged into the inventory. A host found with open ports
// that the inventory did not know is a new, unknown asset; a known asset
// in the scanned ranges that answered on no port and was not seen for
// ZombieAfter is a zombie (forgotten) asset. Each run keeps its findings
// for the exposure report.
package exposure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Run states.
const (
	StatusPending = "pending"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Defaults.
const (
	// DefaultPorts is scanned when a run names none.
	DefaultPorts = "top:100"
	// ZombieAfter is how long a known asset may go unseen before a scan
	// that covers it and finds nothing calls it a zombie.
	ZombieAfter = 30 * 24 * time.Hour
	// MaxAddrs bounds the addresses one run may scan.
	MaxAddrs = 1 << 16
	// maxOpen bounds the open ports one run keeps.
	maxOpen = 100_000
	maxSpec = 4096
)

// Service runs discovery for tenants.
type Service struct {
	store    store.Store
	audit    *audit.Log
	logger   *slog.Logger
	now      func() time.Time
	rate     float64
	timeout  time.Duration
	enqueue  func(ctx context.Context, tenantID, runID string) error
	resolver discovery.Resolver
	mu       sync.Mutex
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Rate (connection attempts per second) and Timeout tune the scanner.
	Rate    float64
	Timeout time.Duration
	// Enqueue hands a new run to a worker; nil runs it in a goroutine of
	// the caller's process.
	Enqueue func(ctx context.Context, tenantID, runID string) error
	// Resolver answers the DNS lookups of subdomain enumeration; nil
	// means the system resolver.
	Resolver discovery.Resolver
}

// NewService returns an exposure Service.
func NewService(s store.Store, a *audit.Log, opts Options) *Service {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	res := opts.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	return &Service{store: s, audit: a, logger: l, now: now, rate: opts.Rate, timeout: opts.Timeout, enqueue: opts.Enqueue, resolver: res}
}

// Port is one open port a run found.
type Port struct {
	Host    string `json:"host"`
	Port    uint16 `json:"port"`
	Service string `json:"service,omitempty"`
	// Product and Version name the software when the service's answer
	// (or the imported record) tells them.
	Product string `json:"product,omitempty"`
	Version string `json:"version,omitempty"`
	Banner  string `json:"banner,omitempty"`
	HTTP    string `json:"http,omitempty"` // status and Server header
	// Title is a web service's page title (after its redirects within
	// scope), FaviconHash the hash of its icon as Shodan and FOFA compute
	// it (http.favicon.hash, icon_hash).
	Title       string `json:"title,omitempty"`
	FaviconHash *int32 `json:"favicon_hash,omitempty"`
	// Redirect is where the port's answer to GET / finally sent the
	// client, when it redirected.
	Redirect string `json:"redirect,omitempty"`
	TLS      string `json:"tls,omitempty"`      // certificate subject
	TLSEnds  string `json:"tls_ends,omitempty"` // certificate expiry, RFC 3339
	Risky    string `json:"risky,omitempty"`    // why this exposure matters
}

// ProductVersion is the product and version, as one string.
func (p Port) ProductVersion() string { return strings.TrimSpace(p.Product + " " + p.Version) }

// portOfService fills a port's service fields from what fingerprinting
// found.
func portOfService(pt *Port, sv *discovery.Service) {
	pt.Service, pt.Banner, pt.Product, pt.Version = sv.Name, sv.Banner, sv.Product, sv.Version
	if h := sv.HTTP; h != nil {
		pt.HTTP = strings.TrimSpace(h.Status + " " + h.Server)
		pt.Title, pt.FaviconHash = h.Title, h.FaviconHash
		if n := len(h.Redirects); n > 0 {
			pt.Redirect = h.Redirects[n-1].Location
		}
	}
	if sv.TLS != nil {
		pt.TLS, pt.TLSEnds = sv.TLS.Subject, sv.TLS.NotAfter.UTC().Format(time.RFC3339)
	}
}

// AssetChange is what a run did to one asset.
type AssetChange struct {
	AssetID    string   `json:"asset_id"`
	Name       string   `json:"name"`
	Address    string   `json:"address"`
	Ports      []uint16 `json:"ports,omitempty"`
	Importance int      `json:"importance,omitempty"`
	LastSeen   string   `json:"last_seen,omitempty"`
}

// RunResult is what a run found, kept with the run.
type RunResult struct {
	Scope    []string       `json:"scope"`
	Hosts    uint64         `json:"hosts"`
	Probed   uint64         `json:"probed"`
	Open     []Port         `json:"open"`
	Known    []AssetChange  `json:"known"`   // inventory assets seen with open ports
	New      []AssetChange  `json:"new"`     // unknown before: added to the inventory
	Zombies  []AssetChange  `json:"zombies"` // known, covered, silent and unseen for ZombieAfter
	Elapsed  time.Duration  `json:"elapsed_ns"`
	Summary  map[string]int `json:"summary"`
	Finished time.Time      `json:"finished"`
	// Import runs only (see Import): the source format, the observations
	// in the tenant's scope (merged into the inventory) and those outside
	// it (listed, not merged).
	Source       string               `json:"source,omitempty"`
	Observations []discovery.Sighting `json:"observations,omitempty"`
	OutOfScope   []discovery.Sighting `json:"out_of_scope,omitempty"`
	// Subdomains are the names subdomain enumeration resolved, with the
	// addresses scanned and those outside the tenant's space.
	Subdomains []SubdomainFound `json:"subdomains,omitempty"`
	// HostDiscovery is what host discovery found, when the run asked
	// for it.
	HostDiscovery *HostDiscoveryResult `json:"host_discovery,omitempty"`
}

// Input is a discovery run as a user asks for it.
type Input struct {
	Targets string // addresses, CIDRs or ranges, separated by spaces, commas or new lines
	Ports   string // nmap-style spec; "" means DefaultPorts
	// Subdomains asks for subdomain enumeration under the tenant's
	// declared domains (see subdomains.go).
	Subdomains Subdomains
	// HostDiscovery asks which targets are up first (ARP on local
	// Ethernet segments, ICMP echo, TCP ping; see hostdisc.go) and
	// port-scans only those.
	HostDiscovery bool
}

func invalid(field, code string, a map[string]any, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

// Scope is the tenant's declared address space: its "ip" assets.
func (s *Service) Scope(ctx context.Context, tenantID string) (discovery.Scope, []string, error) {
	var prefixes []netip.Prefix
	var names []string
	for off := 0; ; off += store.MaxPageSize {
		as, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Kind: "ip", Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return discovery.Scope{}, nil, err
		}
		for _, a := range as {
			if p, err := netip.ParsePrefix(a.Address); err == nil {
				prefixes = append(prefixes, p.Masked())
				names = append(names, p.Masked().String())
			} else if ip, err := netip.ParseAddr(a.Address); err == nil {
				prefixes = append(prefixes, netip.PrefixFrom(ip, ip.BitLen()))
				names = append(names, ip.String())
			}
		}
		if len(as) < store.MaxPageSize {
			break
		}
	}
	return discovery.NewScope(prefixes...), names, nil
}

func splitSpecs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// Start checks a run against the tenant's scope, stores it as pending and
// hands it to a worker.
func (s *Service) Start(ctx context.Context, tenantID string, in Input) (store.DiscoveryRun, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.DiscoveryRun{}, err
	}
	in.Targets, in.Ports = strings.TrimSpace(in.Targets), strings.TrimSpace(in.Ports)
	if in.Ports == "" {
		in.Ports = DefaultPorts
	}
	if len(in.Targets) > maxSpec || len(in.Ports) > maxSpec {
		return store.DiscoveryRun{}, invalid("targets", store.CodeTooLong, map[string]any{"max": maxSpec}, "at most %d characters", maxSpec)
	}
	if _, err := s.prepare(ctx, tenantID, in); err != nil {
		return store.DiscoveryRun{}, err
	}
	sd, err := s.checkSubdomains(ctx, tenantID, in.Subdomains)
	if err != nil {
		return store.DiscoveryRun{}, err
	}
	opts, err := encodeOptions(sd, in.HostDiscovery)
	if err != nil {
		return store.DiscoveryRun{}, err
	}
	run := store.DiscoveryRun{TenantID: tenantID, Targets: in.Targets, Ports: in.Ports, Options: opts, Status: StatusPending,
		CreatedBy: auth.FromContext(ctx).UserID}
	if err := s.store.DiscoveryRuns().Create(ctx, &run); err != nil {
		return store.DiscoveryRun{}, fmt.Errorf("discovery run: %w", err)
	}
	detail := map[string]string{"targets": run.Targets, "ports": run.Ports}
	if sd.Enabled() {
		detail["subdomains"] = fmt.Sprintf("%d domain(s), %d word(s), certificates %v", len(sd.Domains), len(sd.Words), sd.Certificates)
	}
	if in.HostDiscovery {
		detail["host_discovery"] = "on"
	}
	if err := s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "discovery.start", Object: "discovery_run:" + run.ID,
		Detail: detail}); err != nil {
		return run, err
	}
	if s.enqueue != nil {
		return run, s.enqueue(ctx, tenantID, run.ID)
	}
	go func() {
		rctx := auth.WithPrincipal(context.WithoutCancel(ctx), auth.FromContext(ctx))
		if err := s.Run(rctx, tenantID, run.ID); err != nil {
			s.logger.Warn("discovery run failed", "run", run.ID, "err", err)
		}
	}()
	return run, nil
}

type prepared struct {
	scope   discovery.Scope
	names   []string
	targets *discovery.Targets
	ports   []uint16
	// hostnames are the names subdomain enumeration resolved to each
	// in-scope address.
	hostnames map[string][]string
}

func (s *Service) prepare(ctx context.Context, tenantID string, in Input) (prepared, error) {
	scope, names, err := s.Scope(ctx, tenantID)
	if err != nil {
		return prepared{}, err
	}
	if len(names) == 0 {
		return prepared{}, invalid("targets", store.CodeRequired, nil,
			"declare the organisation's address space first: add its addresses and CIDR blocks as assets of kind ip")
	}
	specs := splitSpecs(in.Targets)
	if len(specs) == 0 {
		specs = names // the whole declared space
	}
	targets, err := discovery.ParseTargets(ctx, specs, discovery.TargetOptions{Scope: scope, MaxAddrs: MaxAddrs})
	if err != nil {
		reason := err.Error()
		code := store.CodeInvalidConfig
		if errors.Is(err, discovery.ErrOutOfScope) {
			code = store.CodeNotInTenant
		}
		return prepared{}, invalid("targets", code, map[string]any{"reason": reason}, "%s", reason)
	}
	ports, err := discovery.ParsePorts(in.Ports)
	if err != nil {
		return prepared{}, invalid("ports", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
	}
	return prepared{scope: scope, names: names, targets: targets, ports: ports}, nil
}

// riskyPorts are exposures worth a line in the report and more importance.
var riskyPorts = map[uint16]string{
	21: "FTP", 23: "Telnet", 135: "MS RPC", 139: "NetBIOS", 445: "SMB", 1433: "SQL Server", 1521: "Oracle",
	2375: "Docker API without TLS", 3306: "MySQL", 3389: "RDP", 5432: "PostgreSQL", 5900: "VNC", 6379: "Redis",
	9200: "Elasticsearch", 11211: "memcached", 27017: "MongoDB",
}

// importanceOf rates an asset found by discovery from what it exposes.
func importanceOf(ports []Port) int {
	imp := 2
	for _, p := range ports {
		if p.Risky != "" {
			return 4
		}
		if p.Service == "http" || p.Service == "https" || p.Service == "tls" {
			imp = 3
		}
	}
	return imp
}

// Run executes a pending run: scans, merges into the inventory and stores
// the result. A run already started elsewhere is left alone.
func (s *Service) Run(ctx context.Context, tenantID, runID string) error {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return err
	}
	if err := s.store.DiscoveryRuns().Start(ctx, tenantID, runID); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil // another worker has it, or it is finished
		}
		return err
	}
	run, err := s.store.DiscoveryRuns().Get(ctx, tenantID, runID)
	if err != nil {
		return err
	}
	o, err := decodeRunOptions(run.Options)
	var res RunResult
	if err == nil {
		res, err = s.scan(ctx, tenantID, Input{Targets: run.Targets, Ports: run.Ports, Subdomains: o.subdomains(),
			HostDiscovery: o.HostDiscovery})
	}
	status, errText := StatusDone, ""
	if err != nil {
		status, errText = StatusFailed, err.Error()
	}
	blob, jerr := json.Marshal(res)
	if jerr != nil {
		return jerr
	}
	if ferr := s.store.DiscoveryRuns().Finish(context.WithoutCancel(ctx), tenantID, runID, status, errText, blob, s.now()); ferr != nil {
		return ferr
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "discovery.finish", Object: "discovery_run:" + runID,
		Detail: map[string]any{"status": status, "open": len(res.Open), "new": len(res.New), "zombies": len(res.Zombies), "error": errText}})
}

func (s *Service) scan(ctx context.Context, tenantID string, in Input) (RunResult, error) {
	res := RunResult{Summary: map[string]int{}}
	p, err := s.prepare(ctx, tenantID, in)
	if err != nil {
		return res, err
	}
	res.Scope = p.names
	dopts := discovery.Options{Scope: p.scope, Rate: s.rate, Timeout: s.timeout, Fingerprint: true, Logger: s.logger}
	if in.HostDiscovery {
		res.HostDiscovery = &HostDiscoveryResult{}
		dopts.Ping, dopts.ARP, dopts.OnHost = true, true, res.HostDiscovery.add
	}
	sc, err := discovery.New(dopts)
	if err != nil {
		return res, err
	}
	byHost := map[string][]Port{}
	var sans []string
	emit := func(r discovery.Result) {
		if r.State != discovery.Open || len(res.Open) >= maxOpen {
			return
		}
		if r.Service != nil && r.Service.TLS != nil && len(sans) < discovery.DefaultMaxSubdomains {
			sans = append(sans, r.Service.TLS.SANs...)
		}
		pt := Port{Host: r.Host.String(), Port: r.Port, Risky: riskyPorts[r.Port]}
		if sv := r.Service; sv != nil {
			portOfService(&pt, sv)
		}
		res.Open = append(res.Open, pt)
		byHost[pt.Host] = append(byHost[pt.Host], pt)
	}
	scanned := []*discovery.Targets{p.targets}
	scanOnce := func(t *discovery.Targets) error {
		sum, err := sc.Scan(ctx, t, p.ports, emit)
		res.Hosts, res.Probed, res.Elapsed = res.Hosts+sum.Hosts, res.Probed+sum.Probed, res.Elapsed+sum.Elapsed
		res.HostDiscovery.summarise(sum.Discovery)
		return err
	}
	// scanNames scans the in-scope addresses enumeration found outside
	// what the run scanned so far.
	p.hostnames = map[string][]string{}
	scanNames := func(sans []string) error {
		extra, err := s.enumerate(ctx, p, in.Subdomains, sans, func(a netip.Addr) bool {
			return slices.ContainsFunc(scanned, func(t *discovery.Targets) bool { return covered(t, a) })
		}, p.hostnames, &res)
		if err != nil || len(extra) == 0 {
			return err
		}
		more, err := discovery.ParseTargets(ctx, extra, discovery.TargetOptions{Scope: p.scope, MaxAddrs: MaxAddrs})
		if err != nil {
			return err
		}
		scanned = append(scanned, more)
		return scanOnce(more)
	}
	if len(in.Subdomains.Words) > 0 {
		if err := scanNames(nil); err != nil {
			return res, err
		}
	}
	if err := scanOnce(p.targets); err != nil {
		return res, err
	}
	if in.Subdomains.Certificates && len(sans) > 0 {
		if err := scanNames(sans); err != nil {
			return res, err
		}
	}
	slices.SortFunc(res.Open, func(a, b Port) int {
		if c := strings.Compare(a.Host, b.Host); c != 0 {
			return c
		}
		return int(a.Port) - int(b.Port)
	})
	if err := s.merge(ctx, tenantID, p, byHost, &res); err != nil {
		return res, err
	}
	res.Finished = s.now().UTC()
	res.Summary = map[string]int{"hosts_up": len(byHost), "open_ports": len(res.Open), "new": len(res.New),
		"known": len(res.Known), "zombies": len(res.Zombies)}
	return res, nil
}

// merge records the scan in the inventory: known assets get LastSeenAt and
// their open ports, unknown hosts become assets tagged discovered and
// unknown, silent covered assets unseen for ZombieAfter are tagged zombie.
func (s *Service) merge(ctx context.Context, tenantID string, p prepared, byHost map[string][]Port, res *RunResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	byAddr := map[string]store.Asset{}
	for off := 0; ; off += store.MaxPageSize {
		as, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return err
		}
		for _, a := range as {
			if ip, err := netip.ParseAddr(a.Address); err == nil && (a.Kind == "host" || a.Kind == "ip" || a.Kind == "device") {
				byAddr[ip.String()] = a
			}
		}
		if len(as) < store.MaxPageSize {
			break
		}
	}
	hosts := make([]string, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	for _, h := range hosts {
		ports := byHost[h]
		nums := make([]uint16, 0, len(ports))
		var desc []string
		for _, pt := range ports {
			nums = append(nums, pt.Port)
			d := strconv.Itoa(int(pt.Port))
			if pt.Service != "" {
				d += "/" + pt.Service
			}
			desc = append(desc, d)
		}
		openAttr := strings.Join(desc, ",")
		if len(openAttr) > 1024 {
			openAttr = openAttr[:1024]
		}
		svcAttr := servicesAttr(ports)
		names := p.hostnames[h]
		if a, ok := byAddr[h]; ok {
			a.LastSeenAt = now
			if a.Attributes == nil {
				a.Attributes = map[string]string{}
			}
			a.Attributes["open_ports"] = openAttr
			setAttr(a.Attributes, "services", svcAttr)
			if len(names) > 0 {
				a.Attributes["hostnames"] = unionAttr(a.Attributes["hostnames"], names...)
			}
			a.Tags = slices.DeleteFunc(a.Tags, func(t string) bool { return t == "zombie" })
			if err := s.store.Assets().Update(ctx, &a); err != nil {
				return fmt.Errorf("update asset %s: %w", a.ID, err)
			}
			res.Known = append(res.Known, AssetChange{AssetID: a.ID, Name: a.Name, Address: h, Ports: nums, Importance: a.Importance})
			continue
		}
		a := store.Asset{TenantID: tenantID, Kind: "host", Name: h, Address: h, Importance: importanceOf(ports),
			Tags: []string{"discovered", "unknown"}, LastSeenAt: now,
			Description: "Found by asset discovery; not in the inventory before.",
			Attributes:  map[string]string{"open_ports": openAttr, "discovered_at": now.Format(time.RFC3339)}}
		if len(names) > 0 {
			a.Name, a.Attributes["hostnames"] = names[0], unionAttr("", names...)
		}
		setAttr(a.Attributes, "services", svcAttr)
		if err := s.store.Assets().Create(ctx, &a); err != nil {
			return fmt.Errorf("add discovered asset %s: %w", h, err)
		}
		res.New = append(res.New, AssetChange{AssetID: a.ID, Name: a.Name, Address: h, Ports: nums, Importance: a.Importance})
	}
	for addr, a := range byAddr {
		ip, _ := netip.ParseAddr(addr)
		if _, up := byHost[addr]; up || !covered(p.targets, ip) || a.Kind == "ip" && strings.Contains(a.Address, "/") {
			continue
		}
		if !a.LastSeenAt.IsZero() && now.Sub(a.LastSeenAt) < ZombieAfter {
			continue
		}
		if !slices.Contains(a.Tags, "zombie") {
			a.Tags = append(a.Tags, "zombie")
			slices.Sort(a.Tags)
			if err := s.store.Assets().Update(ctx, &a); err != nil {
				return fmt.Errorf("mark zombie %s: %w", a.ID, err)
			}
		}
		last := ""
		if !a.LastSeenAt.IsZero() {
			last = a.LastSeenAt.UTC().Format(time.RFC3339)
		}
		res.Zombies = append(res.Zombies, AssetChange{AssetID: a.ID, Name: a.Name, Address: addr, Importance: a.Importance, LastSeen: last})
	}
	slices.SortFunc(res.Zombies, func(a, b AssetChange) int { return strings.Compare(a.Address, b.Address) })
	return nil
}

// servicesAttr is the "services" attribute of a host: each open port
// whose software is known with its product and version ("22/ssh OpenSSH
// 9.2p1; 80/http nginx 1.22.1"), in port order, bounded.
func servicesAttr(ports []Port) string {
	ports = slices.Clone(ports)
	slices.SortFunc(ports, func(a, b Port) int { return int(a.Port) - int(b.Port) })
	var b strings.Builder
	for _, p := range ports {
		pv := p.ProductVersion()
		if pv == "" {
			continue
		}
		e := strconv.Itoa(int(p.Port)) + "/" + p.Service + " " + pv
		if b.Len()+len(e)+2 > maxAttr {
			break
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e)
	}
	return b.String()
}

// setAttr sets attrs[k] to v, or removes it when v is empty.
func setAttr(attrs map[string]string, k, v string) {
	if v == "" {
		delete(attrs, k)
		return
	}
	attrs[k] = v
}

func covered(t *discovery.Targets, ip netip.Addr) bool {
	for _, r := range t.Ranges() {
		if r.First.Compare(ip) <= 0 && ip.Compare(r.Last) <= 0 {
			return true
		}
	}
	return false
}

// Get returns a run and its decoded result.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.DiscoveryRun, RunResult, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return store.DiscoveryRun{}, RunResult{}, err
	}
	run, err := s.store.DiscoveryRuns().Get(ctx, tenantID, id)
	if err != nil {
		return run, RunResult{}, err
	}
	var res RunResult
	if len(run.Result) > 0 {
		if err := json.Unmarshal(run.Result, &res); err != nil {
			return run, RunResult{}, fmt.Errorf("discovery run %s: %w", id, err)
		}
	}
	return run, res, nil
}

// List returns the tenant's latest runs.
func (s *Service) List(ctx context.Context, tenantID string, p store.Page) ([]store.DiscoveryRun, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.DiscoveryRuns().List(ctx, tenantID, p)
}
