package om

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/trap"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/workorder"
)

// Device event kinds.
const (
	EventTrap         = "trap"
	EventConfigChange = "config_change"
)

// Bounds of the change-log scan and the trap index.
const (
	// changeOverlap re-reads this much of a device's logs before its
	// cursor, for events that arrive late; repeats are stored once.
	changeOverlap = 10 * time.Minute
	// firstScan is how far back the first scan of a device reads.
	firstScan = 24 * time.Hour
	// maxChangeEvents bounds the log events read per device and query.
	maxChangeEvents = 2000
	// trapIndexAge is how long the trap sender index is trusted; a trap
	// from an unknown address rebuilds it at most once per trapMissAge.
	trapIndexAge = 10 * time.Minute
	trapMissAge  = 30 * time.Second
	// orderGrace is the clock skew allowed at a change order's window ends.
	orderGrace = 5 * time.Minute
	maxOrders  = 5000
)

// trapTarget is a device that may send traps from an address, with the
// digest of its community.
type trapTarget struct {
	tenantID, assetID string
	community         [32]byte
	v3                *trap.User // the device's SNMPv3 user (nil for v2c)
}

// trapIndex maps sender addresses to devices.
type trapIndex struct {
	mu      sync.Mutex
	built   time.Time
	stale   bool
	byAddr  map[netip.Addr][]trapTarget
	pending map[string]bool // devices with a change backup waiting
	running int             // change backups scheduled or running
	idle    sync.Cond       // signalled when running drops to zero (L is &mu)
}

func (x *trapIndex) invalidate() {
	x.mu.Lock()
	x.stale = true
	x.mu.Unlock()
}

// buildTrapIndex lists every tenant's devices with an IP management
// address and an SNMPv2c community or an SNMPv3 user.
func (s *Service) buildTrapIndex(ctx context.Context) (map[netip.Addr][]trapTarget, error) {
	tenants, err := s.st.Tenants().List(ctx)
	if err != nil {
		return nil, err
	}
	idx := map[netip.Addr][]trapTarget{}
	for _, t := range tenants {
		for off := 0; off < maxDevices; off += store.MaxPageSize {
			ds, err := s.st.Devices().ListDevices(ctx, t.ID, store.Page{Limit: store.MaxPageSize, Offset: off})
			if err != nil {
				return nil, err
			}
			for _, d := range ds {
				a, err := netip.ParseAddr(d.MgmtAddress)
				if err != nil || d.SNMPSecretID == "" {
					continue
				}
				if d.SNMPVersion == "3" {
					u, err := s.v3User(ctx, d)
					if err != nil {
						s.log.WarnContext(ctx, "snmp trap: device SNMPv3 user not readable", "device", d.AssetID, "err", err)
						continue
					}
					idx[a.Unmap()] = append(idx[a.Unmap()], trapTarget{tenantID: d.TenantID, assetID: d.AssetID, v3: u})
					continue
				}
				c, err := s.vault.Open(ctx, d.TenantID, d.SNMPSecretID, "snmp trap check of device "+d.AssetID)
				if err != nil {
					s.log.WarnContext(ctx, "snmp trap: device community not readable", "device", d.AssetID, "err", err)
					continue
				}
				idx[a.Unmap()] = append(idx[a.Unmap()], trapTarget{tenantID: d.TenantID, assetID: d.AssetID, community: sha256.Sum256(c)})
			}
			if len(ds) < store.MaxPageSize {
				break
			}
		}
	}
	return idx, nil
}

// trapTargets returns the devices that may send from addr.
func (s *Service) trapTargets(ctx context.Context, addr netip.Addr) []trapTarget {
	x := &s.traps
	x.mu.Lock()
	defer x.mu.Unlock()
	now := s.now()
	ts, known := x.byAddr[addr]
	age := now.Sub(x.built)
	if x.byAddr == nil || x.stale || age > trapIndexAge || (!known && age > trapMissAge) {
		idx, err := s.buildTrapIndex(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "snmp trap: device index", "err", err)
			return ts
		}
		x.byAddr, x.built, x.stale = idx, now, false
		ts = idx[addr]
	}
	return ts
}

// trapKind is what Vigil makes of a notification.
type trapKind struct {
	name, severity string
	alert, change  bool
}

func (s *Service) classify(d store.Device, oid string) trapKind {
	switch oid {
	case trap.OIDLinkDown:
		return trapKind{name: "linkDown", severity: "medium", alert: true}
	case trap.OIDColdStart:
		return trapKind{name: "coldStart", severity: "high", alert: true}
	case trap.OIDAuthFailure:
		return trapKind{name: "authenticationFailure", severity: "medium", alert: true}
	}
	if n := trap.StandardName(oid); n != "" {
		return trapKind{name: n, severity: "info"}
	}
	// The device's own profile first, then any: vendor OIDs are unique.
	profiles := []*backup.Profile{s.opts.Profiles[d.Profile]}
	for _, n := range s.Profiles() {
		profiles = append(profiles, s.opts.Profiles[n])
	}
	for _, p := range profiles {
		if p == nil {
			continue
		}
		for _, r := range p.Traps {
			if r.OID == oid {
				return trapKind{name: r.Name, severity: cmpOr(r.Severity, "info"), alert: r.Alert, change: r.ConfigChange}
			}
		}
	}
	return trapKind{name: oid, severity: "info"}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// HandleTrap takes a notification from addr: it is accepted when a
// device with that management address has the notification's community.
// It becomes a device event; link-down, cold-start, authentication
// failures and vendor traps mapped as alerts raise an alert, and a
// configuration-change trap schedules a backup. The context's principal
// must be the system (it reads communities from the vault).
func (s *Service) HandleTrap(ctx context.Context, addr netip.Addr, t *trap.Trap) bool {
	got := sha256.Sum256([]byte(t.Community))
	var target *trapTarget
	for _, c := range s.trapTargets(ctx, addr.Unmap()) {
		if t.Version == "3" {
			// The receiver authenticated it with this device's keys.
			if c.v3 != nil && c.v3.ID == t.UserID {
				target = &c
				break
			}
			continue
		}
		if c.v3 == nil && subtle.ConstantTimeCompare(got[:], c.community[:]) == 1 {
			target = &c
			break
		}
	}
	if target == nil {
		s.log.DebugContext(ctx, "snmp trap refused: unknown sender or wrong community", "from", addr.String())
		return false
	}
	d, err := s.st.Devices().GetDevice(ctx, target.tenantID, target.assetID)
	if err != nil {
		s.log.WarnContext(ctx, "snmp trap: device", "device", target.assetID, "err", err)
		return false
	}
	k := s.classify(d, t.OID)
	ev := store.DeviceEvent{TenantID: d.TenantID, AssetID: d.AssetID, At: s.now().UTC(), Kind: EventTrap, Name: clip(k.name, maxText),
		Severity: k.severity, Summary: trapSummary(d, t, k)}
	ev.Detail = append(ev.Detail, store.DeviceEventField{Name: "snmpTrapOID", Value: t.OID},
		store.DeviceEventField{Name: "version", Value: t.Version})
	if t.Version == "3" {
		ev.Detail = append(ev.Detail, store.DeviceEventField{Name: "user", Value: t.User},
			store.DeviceEventField{Name: "engine_id", Value: t.EngineID})
	}
	for _, v := range t.Vars {
		ev.Detail = append(ev.Detail, store.DeviceEventField{Name: cmpOr(v.Name, v.OID), Value: v.Value})
	}
	if k.change {
		// A configuration change reported by trap is checked against the
		// change orders like one found in the logs.
		ev.Kind = EventConfigChange
		orders, useOrders, err := s.changeOrders(ctx, d.TenantID)
		if err != nil {
			s.log.WarnContext(ctx, "snmp trap: work orders", "tenant", d.TenantID, "err", err)
		} else if useOrders {
			if o := covering(orders, d, ev.At); o != nil {
				ev.Authorised, ev.WorkOrderID, ev.WorkOrderRef = "yes", o.ID, o.Ref
			} else {
				ev.Authorised, ev.Severity = "no", "high"
			}
		}
	}
	if err := s.st.Devices().AddDeviceEvent(ctx, &ev); err != nil {
		s.log.WarnContext(ctx, "snmp trap: event not stored", "device", d.AssetID, "err", err)
		return false
	}
	if ev.Authorised == "no" {
		s.raise(ctx, d, "unauthorised_change", ev.ID, "high", fmt.Sprintf("Device %s: configuration changed (SNMP %s) at %s with no approved change work order",
			d.Name, k.name, ev.At.Format("2006-01-02 15:04 UTC")), time.Minute)
	}
	if k.alert {
		key := k.name
		if i := t.Value("ifIndex"); i != "" {
			key += "/" + i
		}
		s.raise(ctx, d, "trap_"+strings.ToLower(k.name), key, k.severity, ev.Summary, time.Hour)
	}
	if k.change {
		s.changeSoon(ctx, d)
	}
	return true
}

func trapSummary(d store.Device, t *trap.Trap, k trapKind) string {
	switch t.OID {
	case trap.OIDLinkDown, trap.OIDLinkUp:
		ifName := cmpOr(t.Value("ifDescr"), cmpOr(t.Value("ifName"), t.Value("ifIndex")))
		state := "down"
		if t.OID == trap.OIDLinkUp {
			state = "up"
		}
		return clip(fmt.Sprintf("Device %s: interface %s went %s (SNMP trap)", d.Name, ifName, state), 500)
	case trap.OIDColdStart:
		return clip(fmt.Sprintf("Device %s restarted (SNMP coldStart)", d.Name), 500)
	case trap.OIDAuthFailure:
		return clip(fmt.Sprintf("Device %s refused an SNMP request with a wrong community (authenticationFailure)", d.Name), 500)
	}
	return clip(fmt.Sprintf("Device %s sent SNMP trap %s", d.Name, k.name), 500)
}

// changeSoon backs a device up ChangeDelay from now, once however many
// change traps arrive meanwhile.
func (s *Service) changeSoon(ctx context.Context, d store.Device) {
	if !s.canBackup(d) {
		return
	}
	key := d.TenantID + "/" + d.AssetID
	x := &s.traps
	x.mu.Lock()
	if x.pending[key] {
		x.mu.Unlock()
		return
	}
	x.pending[key] = true
	x.running++
	x.mu.Unlock()
	go func() {
		defer func() {
			x.mu.Lock()
			delete(x.pending, key)
			if x.running--; x.running == 0 {
				x.idle.Broadcast()
			}
			x.mu.Unlock()
		}()
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.opts.ChangeDelay):
		}
		cur, err := s.st.Devices().GetDevice(ctx, d.TenantID, d.AssetID)
		if err != nil {
			return
		}
		res, err := s.backup(ctx, cur, "system", "")
		if err != nil {
			s.log.WarnContext(ctx, "change backup failed", "device", d.AssetID, "err", err)
			return
		}
		s.linkChanges(ctx, cur, res)
	}()
}

// Wait waits for the backups that change traps scheduled and for the
// change scans that are running.
func (s *Service) Wait() {
	x := &s.traps
	x.mu.Lock()
	for x.running > 0 {
		x.idle.Wait()
	}
	x.mu.Unlock()
	s.live.running.Wait()
}

func (s *Service) linkChanges(ctx context.Context, d store.Device, res BackupResult) {
	if res.Backup.ID == "" {
		return
	}
	if _, err := s.st.Devices().LinkChangeBackup(ctx, d.TenantID, d.AssetID, res.Backup.ID, s.now().UTC()); err != nil {
		s.log.WarnContext(ctx, "link change events", "device", d.AssetID, "err", err)
	}
}

// changeRules are the configuration-change rules tried on a device's
// logs: its profile's, or every profile's when it has none.
func (s *Service) changeRules(d store.Device) []*backup.Profile {
	if p := s.opts.Profiles[d.Profile]; p != nil {
		return []*backup.Profile{p}
	}
	var out []*backup.Profile
	for _, n := range s.Profiles() {
		out = append(out, s.opts.Profiles[n])
	}
	return out
}

// changeTexts are the literal texts whose events may be changes: each
// rule's Text, which the store searches for.
func changeTexts(ps []*backup.Profile) []string {
	var out []string
	for _, p := range ps {
		for _, r := range p.ConfigChanges {
			if r.Text != "" && !slices.Contains(out, r.Text) {
				out = append(out, r.Text)
			}
		}
	}
	return out
}

// ScanChanges reads each of the tenant's devices' logs since the last
// scan for configuration changes (Cisco %SYS-5-CONFIG_I, FortiGate
// config logids, H3C/Huawei config-change logs, PAN-OS CONFIG logs,
// ...). Each new change becomes a device event with who made it; when
// the tenant keeps work orders it is checked against the approved change
// orders covering the device, linked to the one that covers it or raised
// as an unauthorised change. A device with new changes is backed up at
// once, the backup naming who changed it.
func (s *Service) ScanChanges(ctx context.Context, tenantID string) error {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return err
	}
	var devs []store.Device
	for off := 0; off < maxDevices; off += store.MaxPageSize {
		ds, err := s.st.Devices().ListDevices(ctx, tenantID, store.Page{Limit: store.MaxPageSize, Offset: off})
		if err != nil {
			return err
		}
		devs = append(devs, ds...)
		if len(ds) < store.MaxPageSize {
			break
		}
	}
	if len(devs) == 0 {
		return nil
	}
	orders, useOrders, err := s.changeOrders(ctx, tenantID)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range devs {
		if err := s.scanDevice(ctx, d, orders, useOrders); err != nil {
			errs = append(errs, fmt.Errorf("device %s: %w", d.AssetID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) scanDevice(ctx context.Context, d store.Device, orders []workorder.Order, useOrders bool) error {
	now := s.now().UTC()
	since := d.LogScanAt.Add(-changeOverlap)
	if d.LogScanAt.IsZero() {
		since = now.Add(-firstScan)
	}
	profiles := s.changeRules(d)
	var terms []store.FieldTerm
	for _, h := range []struct{ f, v string }{{"host", d.MgmtAddress}, {"host", d.Name}, {"source_ip", d.MgmtAddress}} {
		if h.v != "" {
			terms = append(terms, store.FieldTerm{Field: h.f, Value: h.v})
		}
	}
	seen := map[string]bool{}
	var users []string
	found := 0
	for _, text := range changeTexts(profiles) {
		for _, term := range terms {
			q := store.EventQuery{Since: since, Until: now.Add(time.Second), Terms: []store.FieldTerm{term}, Text: text,
				Page: store.Page{Limit: store.MaxPageSize}}
			for q.Offset < maxChangeEvents {
				evs, err := s.st.Events().Search(ctx, d.TenantID, q)
				if err != nil {
					return fmt.Errorf("search logs: %w", err)
				}
				for _, e := range evs {
					if seen[e.ID] {
						continue
					}
					seen[e.ID] = true
					ok, user, err := s.change(ctx, d, profiles, e, orders, useOrders)
					if err != nil {
						return err
					}
					if ok {
						found++
						if user != "" && !slices.Contains(users, user) {
							users = append(users, user)
						}
					}
				}
				if len(evs) < q.Limit {
					break
				}
				q.Offset += len(evs)
			}
		}
	}
	if err := s.st.Devices().SetLogScan(ctx, d.TenantID, d.AssetID, now); err != nil {
		return err
	}
	if found == 0 || !s.canBackup(d) {
		return nil
	}
	res, err := s.backup(ctx, d, "system", strings.Join(users, ", "))
	if err != nil {
		s.log.WarnContext(ctx, "change backup failed", "device", d.AssetID, "err", err)
		return nil
	}
	s.linkChanges(ctx, d, res)
	return nil
}

// change stores a log event that says the device's configuration
// changed; it reports false for one that is not a change or was stored
// before.
func (s *Service) change(ctx context.Context, d store.Device, ps []*backup.Profile, e store.Event, orders []workorder.Order,
	useOrders bool) (bool, string, error) {
	line := cmpOr(e.Original, e.Message)
	var user string
	var ok bool
	var tag string
	for _, p := range ps {
		if user, ok = p.MatchChange(line); ok {
			tag = p.Name
			break
		}
	}
	if !ok {
		return false, "", nil
	}
	user = clip(strings.Join(strings.Fields(sanitize(cmpOr(user, e.User))), " "), maxText)
	ev := store.DeviceEvent{TenantID: d.TenantID, AssetID: d.AssetID, At: e.Time.UTC(), Kind: EventConfigChange, SourceID: e.ID,
		Name: tag, Severity: "low", User: user, Summary: clip(cmpOr(e.Message, line), 500),
		Detail: []store.DeviceEventField{{Name: "log", Value: clip(line, 2000)}}}
	if ev.At.IsZero() {
		ev.At = s.now().UTC()
	}
	if useOrders {
		if o := covering(orders, d, ev.At); o != nil {
			ev.Authorised, ev.WorkOrderID, ev.WorkOrderRef = "yes", o.ID, o.Ref
		} else {
			ev.Authorised, ev.Severity = "no", "high"
		}
	}
	if err := s.st.Devices().AddDeviceEvent(ctx, &ev); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return false, "", nil
		}
		return false, "", err
	}
	if ev.Authorised == "no" {
		who := cmpOr(user, "an unknown user")
		s.raise(ctx, d, "unauthorised_change", ev.ID, "high", fmt.Sprintf("Device %s: configuration changed by %s at %s with no approved change work order",
			d.Name, who, ev.At.Format("2006-01-02 15:04 UTC")), time.Minute)
	}
	return true, user, nil
}

// changeOrders reads the tenant's change orders; useOrders is false when
// the tenant keeps no work orders at all, so changes are not checked.
func (s *Service) changeOrders(ctx context.Context, tenantID string) ([]workorder.Order, bool, error) {
	n, err := s.st.WorkOrders().Count(ctx, tenantID, store.WorkOrderFilter{})
	if err != nil || n == 0 {
		return nil, false, err
	}
	var out []workorder.Order
	f := store.WorkOrderFilter{Type: string(workorder.TypeChange), Page: store.Page{Limit: store.MaxPageSize}}
	for f.Offset < maxOrders {
		rows, err := s.st.WorkOrders().List(ctx, tenantID, f)
		if err != nil {
			return nil, false, err
		}
		for _, r := range rows {
			var o workorder.Order
			if err := json.Unmarshal(r.Doc, &o); err != nil {
				return nil, false, fmt.Errorf("work order %s: %w", r.ID, err)
			}
			o.ID, o.Ref, o.Tenant = r.ID, r.Ref, r.TenantID
			out = append(out, o)
		}
		if len(rows) < f.Limit {
			break
		}
		f.Offset += len(rows)
	}
	return out, true, nil
}

// covering returns the approved change order that covers device d at t:
// it names the device's asset, name or address, and t falls in its
// window (the order's window when set, else from approval to completion),
// with orderGrace at both ends.
func covering(orders []workorder.Order, d store.Device, t time.Time) *workorder.Order {
	for i := range orders {
		o := &orders[i]
		if o.Type != workorder.TypeChange || !o.Authorising() || !names(o, d) {
			continue
		}
		from, to := o.WindowStart, o.WindowEnd
		if from.IsZero() {
			from, to = o.DecidedAt, cmpTime(o.DoneAt, o.ClosedAt)
		}
		if from.IsZero() || t.Before(from.Add(-orderGrace)) || (!to.IsZero() && t.After(to.Add(orderGrace))) {
			continue
		}
		return o
	}
	return nil
}

func cmpTime(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

func names(o *workorder.Order, d store.Device) bool {
	if slices.Contains(o.AssetIDs, d.AssetID) {
		return true
	}
	for _, h := range o.Hosts {
		if (d.Name != "" && strings.EqualFold(h, d.Name)) || (d.MgmtAddress != "" && strings.EqualFold(h, d.MgmtAddress)) {
			return true
		}
	}
	return false
}

// Events lists a device's events (traps, configuration changes), newest
// first; assetID "" lists the tenant's.
func (s *Service) Events(ctx context.Context, tenantID string, f store.DeviceEventFilter) ([]store.DeviceEvent, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	if f.AssetID != "" {
		if _, err := s.st.Devices().GetDevice(ctx, tenantID, f.AssetID); err != nil {
			return nil, err
		}
	}
	return s.st.Devices().DeviceEvents(ctx, tenantID, f)
}

// rawAAD binds a sealed configuration to its tenant and backup.
func rawAAD(tenantID, id string) []byte { return []byte("device-config/" + tenantID + "/" + id) }

func ensureBackupID(b *store.ConfigBackup) error {
	if b.ID != "" {
		return nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	b.ID = id.String()
	return nil
}

// ErrNoRaw means a backup kept no sealed configuration (taken before
// sealing was on, or without a key).
var ErrNoRaw = fmt.Errorf("%w: no restorable copy of this configuration was kept", store.ErrNotFound)

// RawConfig returns a backup's configuration as fetched, secrets
// included, for a restore. It needs secret.write, and every download is
// audited.
func (s *Service) RawConfig(ctx context.Context, tenantID, assetID, id string) (store.ConfigBackup, []byte, error) {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return store.ConfigBackup{}, nil, err
	}
	b, err := s.Backup(ctx, tenantID, assetID, id)
	if err != nil {
		return store.ConfigBackup{}, nil, err
	}
	sealed, err := s.st.Devices().BackupSealed(ctx, tenantID, id)
	if err != nil {
		return store.ConfigBackup{}, nil, err
	}
	if sealed == nil || s.opts.Box == nil {
		return store.ConfigBackup{}, nil, ErrNoRaw
	}
	raw, err := s.opts.Box.Open(sealed, rawAAD(tenantID, id))
	if err != nil {
		return store.ConfigBackup{}, nil, fmt.Errorf("open configuration: %w", err)
	}
	if err := s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "device.config.download", Object: "asset:" + assetID,
		Detail: map[string]string{"backup": id, "sha256": b.SHA256}}); err != nil {
		return store.ConfigBackup{}, nil, err
	}
	return b, raw, nil
}

// maxExportVersions bounds one history export.
const maxExportVersions = 500

// History returns a device's configuration versions, oldest first, with
// their masked content and diffs, for an export; the export is audited.
func (s *Service) History(ctx context.Context, tenantID, assetID string) (store.Device, []store.ConfigBackup, error) {
	d, err := s.Get(ctx, tenantID, assetID)
	if err != nil {
		return store.Device{}, nil, err
	}
	var heads []store.ConfigBackup
	for off := 0; off < maxExportVersions; off += store.MaxPageSize {
		bs, err := s.st.Devices().Backups(ctx, tenantID, assetID, store.Page{Limit: min(store.MaxPageSize, maxExportVersions-off), Offset: off})
		if err != nil {
			return store.Device{}, nil, err
		}
		heads = append(heads, bs...)
		if len(bs) < store.MaxPageSize {
			break
		}
	}
	out := make([]store.ConfigBackup, 0, len(heads))
	for _, h := range heads {
		b, err := s.st.Devices().GetBackup(ctx, tenantID, h.ID)
		if err != nil {
			return store.Device{}, nil, err
		}
		out = append(out, b)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].TakenAt.Before(out[j].TakenAt) })
	return d, out, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "device.config.export", Object: "asset:" + assetID,
		Detail: map[string]string{"versions": strconv.Itoa(len(out))}})
}
