package om

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/trap"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/store"
)

// Defaults of the live change detection.
const (
	// DefaultChangeDebounce is how long after the last configuration-change
	// line of a device its scan and backup run, so a burst of changes
	// makes one backup.
	DefaultChangeDebounce = 15 * time.Second
	// changeMaxWait bounds how long a steady stream of change lines can
	// put the backup off.
	changeMaxWait = 10
	// maxLiveHosts bounds the hosts remembered per pending tenant.
	maxLiveHosts = 256
)

// apiMethod reports whether a device is backed up over an HTTPS API.
func apiMethod(d store.Device) bool {
	return d.BackupMethod == backup.MethodFortiOS || d.BackupMethod == backup.MethodPANOS
}

// canBackup reports whether a device has what a backup needs.
func (s *Service) canBackup(d store.Device) bool {
	if d.MgmtAddress == "" || s.opts.Profiles[d.Profile] == nil {
		return false
	}
	if apiMethod(d) {
		return d.APISecretID != ""
	}
	return d.SSHSecretID != "" && d.SSHUser != ""
}

// fetchConfig fetches a device's configuration by its backup method.
// For SSH it returns the pinned host key (nil when none was pinned yet).
func (s *Service) fetchConfig(ctx context.Context, d store.Device) (backup.Config, error) {
	p := s.opts.Profiles[d.Profile]
	if !apiMethod(d) {
		return s.fetchSSH(ctx, d, p)
	}
	if !s.canBackup(d) {
		return backup.Config{}, fmt.Errorf("%w: API backups need a management address, an API token and a backup profile", ErrNotConfigured)
	}
	tok, err := s.vault.Open(ctx, d.TenantID, d.APISecretID, "config backup of device "+d.AssetID)
	if err != nil {
		return backup.Config{}, fmt.Errorf("api token: %w", err)
	}
	tg := backup.APITarget{Method: d.BackupMethod, Addr: net.JoinHostPort(d.MgmtAddress, port(d.APIPort, 443)), Token: string(tok),
		Fingerprint: d.APIFingerprint, RootCAs: s.opts.APIRoots, Timeout: s.opts.BackupTimeout, MaxOutput: MaxConfigBytes}
	return backup.FetchAPI(ctx, tg, p)
}

// TrapUsers returns the SNMPv3 users of the devices managed at addr with
// the USM user name: the trap receiver's Users lookup. The context's
// principal must be the system (the index reads passphrases from the
// vault).
func (s *Service) TrapUsers(ctx context.Context, addr netip.Addr, name string) []trap.User {
	var out []trap.User
	for _, t := range s.trapTargets(ctx, addr.Unmap()) {
		if t.v3 != nil && t.v3.Name == name {
			out = append(out, *t.v3)
		}
	}
	return out
}

// v3User is the trap receiver's user of a v3 device.
func (s *Service) v3User(ctx context.Context, d store.Device) (*trap.User, error) {
	auth, err := s.vault.Open(ctx, d.TenantID, d.SNMPSecretID, "snmp trap check of device "+d.AssetID)
	if err != nil {
		return nil, err
	}
	u, err := s.snmpV3Auth(ctx, d, string(auth))
	if err != nil {
		return nil, err
	}
	u.ID = d.TenantID + "/" + d.AssetID
	return u, nil
}

// PrivNone is the SNMPv3 privacy setting of a device that does not
// encrypt (authNoPriv).
const PrivNone = "none"

// snmpV3Auth is the SNMPv3 security of a device's polls: its protocols
// (SHA and AES when unset) and passphrases (the auth one for privacy too
// when no privacy passphrase is kept).
func (s *Service) snmpV3Auth(ctx context.Context, d store.Device, authPass string) (*trap.User, error) {
	u := &trap.User{Name: d.SNMPUser, AuthProto: cmpOr(d.SNMPAuthProto, "SHA"), AuthPass: authPass}
	if d.SNMPPrivProto == PrivNone {
		return u, nil
	}
	u.PrivProto, u.PrivPass = cmpOr(d.SNMPPrivProto, "AES"), authPass
	if d.SNMPPrivSecretID != "" {
		priv, err := s.vault.Open(ctx, d.TenantID, d.SNMPPrivSecretID, "snmp poll of device "+d.AssetID)
		if err != nil {
			return nil, fmt.Errorf("snmp privacy passphrase: %w", err)
		}
		u.PrivPass = string(priv)
	}
	return u, nil
}

// liveChanges is the live configuration-change detection: the change
// lines seen in ingested events, per tenant, waiting for their debounce.
type liveChanges struct {
	mu      sync.Mutex
	pending map[string]*livePending // by tenant
	running sync.WaitGroup
	stopped bool
}

type livePending struct {
	hosts map[string]bool
	first time.Time
	timer *time.Timer
	ctx   context.Context
}

// changeHosts are the fields naming the host an event came from, the
// ones the pipeline stores as the event's host and source IP (which the
// change scan searches).
var changeHosts = []string{"host.name", "host.hostname", "Computer", "observer.hostname", "source.ip", "client.ip"}

// ObserveEvents is told of each batch of ingested events once stored. A
// line that a backup profile's rules call a configuration change
// schedules the scan of the devices it names: after ChangeDebounce
// without another change line from the tenant (at most ten debounces
// after the first), ScanChanges' per-device scan stores the change events
// and takes one backup. It does not block: the scan runs later, with
// ctx's principal (the system) and without its cancellation.
func (s *Service) ObserveEvents(ctx context.Context, events []logs.Event) {
	var hits map[string][]string // tenant -> hosts
	for i := range events {
		e := &events[i]
		line := e.Original
		if line == "" {
			line, _ = e.Fields["message"].(string)
		}
		if e.Tenant == "" || line == "" || !s.isChangeLine(line) {
			continue
		}
		if hits == nil {
			hits = map[string][]string{}
		}
		for _, k := range changeHosts {
			if v, ok := e.Fields[k].(string); ok && v != "" {
				hits[e.Tenant] = append(hits[e.Tenant], v)
			}
		}
	}
	for tenant, hosts := range hits {
		s.changeSeen(ctx, tenant, hosts)
	}
}

func (s *Service) isChangeLine(line string) bool {
	for _, n := range s.Profiles() {
		if _, ok := s.opts.Profiles[n].MatchChange(line); ok {
			return true
		}
	}
	return false
}

// changeSeen (re)arms the tenant's debounce timer.
func (s *Service) changeSeen(ctx context.Context, tenant string, hosts []string) {
	x := &s.live
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.stopped {
		return
	}
	if x.pending == nil {
		x.pending = map[string]*livePending{}
	}
	p := x.pending[tenant]
	now := s.now()
	if p == nil {
		p = &livePending{hosts: map[string]bool{}, first: now, ctx: context.WithoutCancel(ctx)}
		x.pending[tenant] = p
		p.timer = time.AfterFunc(s.opts.ChangeDebounce, func() { s.fireChanges(tenant) })
	} else if now.Sub(p.first) < changeMaxWait*s.opts.ChangeDebounce {
		p.timer.Reset(s.opts.ChangeDebounce)
	}
	for _, h := range hosts {
		if len(p.hosts) < maxLiveHosts {
			p.hosts[h] = true
		}
	}
}

// fireChanges scans the tenant's devices the pending change lines named.
func (s *Service) fireChanges(tenant string) {
	x := &s.live
	x.mu.Lock()
	p := x.pending[tenant]
	delete(x.pending, tenant)
	if p == nil || x.stopped {
		x.mu.Unlock()
		return
	}
	x.running.Add(1)
	x.mu.Unlock()
	defer x.running.Done()
	if err := s.scanHosts(p.ctx, tenant, p.hosts); err != nil {
		s.log.WarnContext(p.ctx, "live config-change scan", "tenant", tenant, "err", err)
	}
}

// FlushChanges runs the pending change scans now instead of after their
// debounce, and waits for them.
func (s *Service) FlushChanges() {
	x := &s.live
	x.mu.Lock()
	var tenants []string
	for t, p := range x.pending {
		if p.timer.Stop() {
			tenants = append(tenants, t)
		}
	}
	x.mu.Unlock()
	for _, t := range tenants {
		s.fireChanges(t)
	}
	x.running.Wait()
}

// StopChanges drops the pending change scans (the scheduled scan will
// find them) and waits for running ones.
func (s *Service) StopChanges() {
	x := &s.live
	x.mu.Lock()
	x.stopped = true
	for t, p := range x.pending {
		p.timer.Stop()
		delete(x.pending, t)
	}
	x.mu.Unlock()
	x.running.Wait()
}

// scanHosts scans the tenant's devices whose management address or name
// is one of hosts.
func (s *Service) scanHosts(ctx context.Context, tenant string, hosts map[string]bool) error {
	var devs []store.Device
	for off := 0; off < maxDevices; off += store.MaxPageSize {
		ds, err := s.st.Devices().ListDevices(ctx, tenant, store.Page{Limit: store.MaxPageSize, Offset: off})
		if err != nil {
			return err
		}
		for _, d := range ds {
			if (d.MgmtAddress != "" && hosts[d.MgmtAddress]) || (d.Name != "" && hosts[d.Name]) {
				devs = append(devs, d)
			}
		}
		if len(ds) < store.MaxPageSize {
			break
		}
	}
	if len(devs) == 0 {
		return nil
	}
	orders, useOrders, err := s.changeOrders(ctx, tenant)
	if err != nil {
		return err
	}
	for _, d := range devs {
		if err := s.scanDevice(ctx, d, orders, useOrders); err != nil {
			return fmt.Errorf("device %s: %w", d.AssetID, err)
		}
	}
	return nil
}

// check3 checks the SNMPv3 and HTTPS-API backup settings of a device.
func (in *Input) check3() []error {
	var errs []error
	in.SNMPAuthProto, in.SNMPPrivProto = strings.ToUpper(strings.TrimSpace(in.SNMPAuthProto)), strings.ToLower(strings.TrimSpace(in.SNMPPrivProto))
	if in.SNMPAuthProto != "" && !slices.Contains(trap.AuthProtocols(), in.SNMPAuthProto) {
		errs = append(errs, invalid("snmp_auth_proto", store.CodeOneOf, map[string]any{"allowed": trap.AuthProtocols()},
			"SNMPv3 authentication must be one of %s", strings.Join(trap.AuthProtocols(), ", ")))
	}
	if in.SNMPPrivProto != "" && in.SNMPPrivProto != PrivNone {
		in.SNMPPrivProto = strings.ToUpper(in.SNMPPrivProto)
		if !slices.Contains(trap.PrivProtocols(), in.SNMPPrivProto) {
			allowed := append(trap.PrivProtocols(), PrivNone)
			errs = append(errs, invalid("snmp_priv_proto", store.CodeOneOf, map[string]any{"allowed": allowed},
				"SNMPv3 privacy must be one of %s", strings.Join(allowed, ", ")))
		}
	}
	in.BackupMethod = strings.TrimSpace(in.BackupMethod)
	if in.BackupMethod != "" && !slices.Contains(backup.Methods(), in.BackupMethod) {
		errs = append(errs, invalid("backup_method", store.CodeOneOf, map[string]any{"allowed": backup.Methods()},
			"backup method must be one of %s", strings.Join(backup.Methods(), ", ")))
	}
	switch {
	case in.BackupMethod == backup.MethodFortiOS && in.Profile == "":
		in.Profile = "fortios"
	case in.BackupMethod == backup.MethodPANOS && in.Profile == "":
		in.Profile = "panos"
	}
	if in.APIPort < 0 || in.APIPort > 65535 {
		errs = append(errs, invalid("api_port", store.CodeOutOfRange, map[string]any{"min": 0, "max": 65535}, "api_port must be 0 to 65535"))
	}
	if in.APIFingerprint = strings.TrimSpace(in.APIFingerprint); in.APIFingerprint != "" {
		f, err := backup.NormalizeFingerprint(in.APIFingerprint)
		if err != nil {
			errs = append(errs, invalid("api_fingerprint", store.CodeInvalidAttribute, nil, "%s", err.Error()))
		}
		in.APIFingerprint = f
	}
	return errs
}
