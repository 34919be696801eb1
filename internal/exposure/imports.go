package exposure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// ImportPorts is the Ports of an import run: it scanned nothing.
const ImportPorts = "import"

// ImportPrefix starts the Targets of an import run: "import:<format> <file>".
const ImportPrefix = "import:"

// Bounds of the inventory attributes an import maintains.
const (
	maxAttr     = 1024
	maxFileName = 200
)

// ImportInput is a file of another scanner or an outside view (internet
// search engine, passive DNS) to merge into a tenant's inventory.
type ImportInput struct {
	Format   string // one of discovery.ImportFormats; "" detects it
	FileName string
	File     io.Reader
}

// IsImport reports whether a run is an import rather than a scan.
func IsImport(run store.DiscoveryRun) bool {
	return run.Ports == ImportPorts && strings.HasPrefix(run.Targets, ImportPrefix)
}

// cleanFileName keeps the base name of an upload, printable and bounded.
func cleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return '_'
		}
		return r
	}, strings.ToValidUTF8(name, "_"))
	if name == "." || name == "/" {
		name = ""
	}
	for len(name) > maxFileName {
		_, size := lastRune(name)
		name = name[:len(name)-size]
	}
	return name
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

// Import reads a file of observations and merges the ones inside the
// tenant's declared space into the inventory as one finished run. A file
// that cannot be read whole is refused and nothing is stored.
// Observations outside the space are listed in the result and not merged:
// an address outside the tenant's "ip" assets, a name (without address)
// under none of its "domain" assets. Ports the inventory already listed
// for a host (Vigil's own scans or an earlier import saw them) are marked
// Known, so what outsiders see and what Vigil saw end in one list.
func (s *Service) Import(ctx context.Context, tenantID string, in ImportInput) (store.DiscoveryRun, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.DiscoveryRun{}, err
	}
	if in.Format != "" && !slices.Contains(discovery.ImportFormats, in.Format) {
		return store.DiscoveryRun{}, invalid("format", store.CodeOneOf, map[string]any{"allowed": strings.Join(discovery.ImportFormats, ", ")},
			"format must be one of %s", strings.Join(discovery.ImportFormats, ", "))
	}
	if in.File == nil {
		return store.DiscoveryRun{}, invalid("file", store.CodeRequired, nil, "choose a file")
	}
	scope, names, err := s.Scope(ctx, tenantID)
	if err != nil {
		return store.DiscoveryRun{}, err
	}
	domains, err := s.domains(ctx, tenantID)
	if err != nil {
		return store.DiscoveryRun{}, err
	}
	if len(names) == 0 && len(domains) == 0 {
		return store.DiscoveryRun{}, invalid("file", store.CodeRequired, nil,
			"declare the organisation's address space first: add its addresses and CIDR blocks as assets of kind ip")
	}
	file := cleanFileName(in.FileName)
	obs, format, err := discovery.ParseImport(ctx, in.Format, file, in.File)
	switch {
	case errors.Is(err, discovery.ErrImportTooLarge):
		return store.DiscoveryRun{}, invalid("file", store.CodeTooLarge, map[string]any{"max": discovery.MaxImportSize}, "%s", err.Error())
	case err != nil:
		return store.DiscoveryRun{}, invalid("file", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
	}
	targets := strings.TrimSpace(ImportPrefix + format + " " + file)
	run := store.DiscoveryRun{TenantID: tenantID, Targets: targets, Ports: ImportPorts, Status: StatusPending,
		CreatedBy: auth.FromContext(ctx).UserID}
	if err := s.store.DiscoveryRuns().Create(ctx, &run); err != nil {
		return store.DiscoveryRun{}, fmt.Errorf("discovery run: %w", err)
	}
	if err := s.store.DiscoveryRuns().Start(ctx, tenantID, run.ID); err != nil {
		return run, err
	}
	res := RunResult{Summary: map[string]int{}, Source: format, Scope: append(names, domains...)}
	status, errText := StatusDone, ""
	if err := s.mergeImport(ctx, tenantID, scope, domains, obs, &res); err != nil {
		status, errText = StatusFailed, err.Error()
	}
	blob, err := json.Marshal(res)
	if err != nil {
		return run, err
	}
	fctx := context.WithoutCancel(ctx)
	if err := s.store.DiscoveryRuns().Finish(fctx, tenantID, run.ID, status, errText, blob, s.now()); err != nil {
		return run, err
	}
	if err := s.audit.Record(fctx, audit.Event{TenantID: tenantID, Action: "discovery.import", Object: "discovery_run:" + run.ID,
		Detail: map[string]any{"format": format, "file": file, "status": status, "observations": len(res.Observations),
			"out_of_scope": len(res.OutOfScope), "new": len(res.New), "error": errText}}); err != nil {
		return run, err
	}
	if errText != "" {
		return run, fmt.Errorf("import %s: %s", run.ID, errText)
	}
	return s.store.DiscoveryRuns().Get(ctx, tenantID, run.ID)
}

// domains lists the tenant's "domain" assets, lower case.
func (s *Service) domains(ctx context.Context, tenantID string) ([]string, error) {
	var out []string
	for off := 0; ; off += store.MaxPageSize {
		as, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Kind: "domain", Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(a.Address)), "."); d != "" {
				out = append(out, d)
			}
		}
		if len(as) < store.MaxPageSize {
			break
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func underDomain(name string, domains []string) bool {
	for _, d := range domains {
		if name == d || strings.HasSuffix(name, "."+d) {
			return true
		}
	}
	return false
}

// inventoryByAddr maps the addresses of the tenant's host, ip and device
// assets to them.
func (s *Service) inventoryByAddr(ctx context.Context, tenantID string) (map[string]store.Asset, error) {
	byAddr := map[string]store.Asset{}
	for off := 0; ; off += store.MaxPageSize {
		as, err := s.store.Assets().List(ctx, tenantID, store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, err
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
	return byAddr, nil
}

// openPortsAttr reads an "open_ports" attribute: "22/ssh,80,443/https".
func openPortsAttr(v string) map[uint16]string {
	out := map[uint16]string{}
	for _, e := range strings.Split(v, ",") {
		num, svc, _ := strings.Cut(strings.TrimSpace(e), "/")
		if n, err := strconv.ParseUint(num, 10, 16); err == nil && n > 0 {
			out[uint16(n)] = svc
		}
	}
	return out
}

func formatOpenPorts(m map[uint16]string) string {
	nums := make([]int, 0, len(m))
	for p := range m {
		nums = append(nums, int(p))
	}
	slices.Sort(nums)
	var b strings.Builder
	for _, p := range nums {
		e := strconv.Itoa(p)
		if svc := m[uint16(p)]; svc != "" { // #nosec G115 -- p came from a uint16 key
			e += "/" + svc
		}
		if b.Len()+len(e)+1 > maxAttr {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e)
	}
	return b.String()
}

// mergeServicesAttr updates a "services" attribute (see servicesAttr)
// with the ports that name their software, keeping the entries of other
// ports.
func mergeServicesAttr(cur string, ports []Port) string {
	byPort := map[uint16]string{}
	for _, e := range strings.Split(cur, "; ") {
		num, _, _ := strings.Cut(e, "/")
		if n, err := strconv.ParseUint(num, 10, 16); err == nil && n > 0 {
			byPort[uint16(n)] = e
		}
	}
	for _, p := range ports {
		if e := servicesAttr([]Port{p}); e != "" {
			byPort[p.Port] = e
		}
	}
	nums := make([]int, 0, len(byPort))
	for p := range byPort {
		nums = append(nums, int(p))
	}
	slices.Sort(nums)
	var b strings.Builder
	for _, p := range nums {
		e := byPort[uint16(p)] // #nosec G115 -- p came from a uint16 key
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

// unionAttr adds items to a comma-separated attribute, bounded.
func unionAttr(cur string, items ...string) string {
	var list []string
	for _, e := range strings.Split(cur, ",") {
		if e = strings.TrimSpace(e); e != "" {
			list = append(list, e)
		}
	}
	for _, it := range items {
		for _, e := range strings.Split(it, ",") {
			if e != "" && !slices.Contains(list, e) {
				list = append(list, e)
			}
		}
	}
	slices.Sort(list)
	out := ""
	for _, e := range list {
		if len(out)+len(e)+1 > maxAttr {
			break
		}
		if out != "" {
			out += ","
		}
		out += e
	}
	return out
}

// portOf turns an observation into the run's open-port row.
func portOf(o discovery.Sighting) Port {
	p := Port{Host: o.Host, Port: o.Port, Service: o.Service, Product: o.Product, Version: o.Version, Banner: o.Banner,
		Title: o.Title, TLS: o.TLS}
	if o.Transport == "tcp" {
		p.Risky = riskyPorts[o.Port]
	}
	return p
}

// mergeImport splits observations by scope and records the in-scope ones
// in the inventory.
func (s *Service) mergeImport(ctx context.Context, tenantID string, scope discovery.Scope, domains []string, obs []discovery.Sighting, res *RunResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	byHost := map[string][]int{}
	for _, o := range obs {
		a := o.Addr()
		in := a.IsValid() && scope.ContainsAddr(a)
		if !a.IsValid() {
			in = true
			for _, n := range o.Hostnames {
				in = in && underDomain(n, domains)
			}
		}
		if !in {
			if len(res.OutOfScope) < maxOpen {
				res.OutOfScope = append(res.OutOfScope, o)
			}
			continue
		}
		if len(res.Observations) >= maxOpen {
			continue
		}
		if a.IsValid() {
			byHost[o.Host] = append(byHost[o.Host], len(res.Observations))
		}
		res.Observations = append(res.Observations, o)
	}
	inv, err := s.inventoryByAddr(ctx, tenantID)
	if err != nil {
		return err
	}
	hosts := make([]string, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	slices.SortFunc(hosts, compareHosts)
	for _, h := range hosts {
		idx := byHost[h]
		var ports []Port
		var nums []uint16
		var names, sources []string
		var latest time.Time
		found := map[uint16]string{}
		for _, i := range idx {
			o := res.Observations[i]
			if o.Port != 0 {
				p := portOf(o)
				ports = append(ports, p)
				nums = append(nums, o.Port)
				if _, dup := found[o.Port]; !dup || found[o.Port] == "" {
					found[o.Port] = o.Service
				}
				res.Open = append(res.Open, p)
			}
			names = append(names, o.Hostnames...)
			sources = append(sources, o.Source)
			if o.Seen.After(latest) && !o.Seen.After(now) {
				latest = o.Seen
			}
		}
		if latest.IsZero() {
			latest = now
		}
		slices.Sort(names)
		names = slices.Compact(names)
		if a, ok := inv[h]; ok {
			if a.Attributes == nil {
				a.Attributes = map[string]string{}
			}
			known := openPortsAttr(a.Attributes["open_ports"])
			for _, i := range idx {
				if _, k := known[res.Observations[i].Port]; k && res.Observations[i].Port != 0 {
					res.Observations[i].Known = true
				}
			}
			for p, svc := range found {
				if known[p] == "" {
					known[p] = svc
				}
			}
			if len(known) > 0 {
				a.Attributes["open_ports"] = formatOpenPorts(known)
			}
			setAttr(a.Attributes, "services", mergeServicesAttr(a.Attributes["services"], ports))
			a.Attributes["seen_by"] = unionAttr(a.Attributes["seen_by"], sources...)
			if len(names) > 0 {
				a.Attributes["hostnames"] = unionAttr(a.Attributes["hostnames"], names...)
			}
			if latest.After(a.LastSeenAt) {
				a.LastSeenAt = latest
			}
			if now.Sub(a.LastSeenAt) < ZombieAfter {
				a.Tags = slices.DeleteFunc(a.Tags, func(t string) bool { return t == "zombie" })
			}
			if err := s.store.Assets().Update(ctx, &a); err != nil {
				return fmt.Errorf("update asset %s: %w", a.ID, err)
			}
			res.Known = append(res.Known, AssetChange{AssetID: a.ID, Name: a.Name, Address: h, Ports: nums, Importance: a.Importance})
			continue
		}
		name := h
		if len(names) > 0 {
			name = names[0]
		}
		a := store.Asset{TenantID: tenantID, Kind: "host", Name: name, Address: h, Importance: importanceOf(ports),
			Tags: []string{"discovered", "imported", "unknown"}, LastSeenAt: latest,
			Description: "Found in an import of " + res.Source + " data; not in the inventory before.",
			Attributes:  map[string]string{"discovered_at": now.Format(time.RFC3339), "seen_by": unionAttr("", sources...)}}
		if len(found) > 0 {
			a.Attributes["open_ports"] = formatOpenPorts(found)
		}
		setAttr(a.Attributes, "services", servicesAttr(ports))
		if len(names) > 0 {
			a.Attributes["hostnames"] = unionAttr("", names...)
		}
		if err := s.store.Assets().Create(ctx, &a); err != nil {
			return fmt.Errorf("add discovered asset %s: %w", h, err)
		}
		inv[h] = a
		res.New = append(res.New, AssetChange{AssetID: a.ID, Name: a.Name, Address: h, Ports: nums, Importance: a.Importance})
	}
	known := 0
	for _, o := range res.Observations {
		if o.Known {
			known++
		}
	}
	res.Hosts = uint64(len(byHost))
	res.Finished = now
	res.Summary = map[string]int{"observations": len(res.Observations), "out_of_scope": len(res.OutOfScope),
		"already_known": known, "hosts_up": len(byHost), "open_ports": len(res.Open), "new": len(res.New), "known": len(res.Known)}
	return nil
}
