// Package om runs the security device O&M service (安全产品运行维护): the
// tenant's device inventory with management settings and support dates,
// SNMP health polls judged against per-role thresholds, scheduled and
// on-demand configuration backups over SSH with masked diffs, expiry and
// silent-log-source warnings, the per-device O&M record sheet, and the
// monthly O&M report. Credentials live in the secret vault and are
// decrypted only for the poll or backup that uses them. Problems become
// alerts in the tenant's alert queue.
package om

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/health"
	"github.com/vigil-sec/vigil/internal/device/trap"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
)

// ServiceCode is the catalogue code of the device O&M service.
const ServiceCode = "device-om"

// Defaults of Options' zero fields.
const (
	DefaultPollTimeout     = 3 * time.Second
	DefaultBackupTimeout   = 30 * time.Second
	DefaultExpiryWarning   = 30 * 24 * time.Hour
	DefaultSilentAfter     = 24 * time.Hour
	DefaultHealthRetention = 90 * 24 * time.Hour
	DefaultBackupEvery     = 24 * time.Hour
	DefaultConcurrency     = 4
	DefaultReachTimeout    = 2 * time.Second
	DefaultChangeDelay     = 30 * time.Second
	// MaxConfigBytes bounds one fetched configuration.
	MaxConfigBytes = 4 << 20
	// MaxDiffLines bounds the changed lines kept with one backup.
	MaxDiffLines = 5000
	maxText      = 200
	maxLongText  = 4000
)

// Roles are the device roles, in display order.
func Roles() []string {
	return []string{"firewall", "ips", "waf", "av", "vpn", "bastion", "log-collector", "other"}
}

// RecordKinds are the kinds of O&M record sheet entries.
func RecordKinds() []string { return []string{"inspection", "change", "fault", "vendor-case", "other"} }

// Options configure a Service.
type Options struct {
	Logger *slog.Logger
	// OnAlert is called for each new alert (the notification channels).
	OnAlert func(ctx context.Context, a store.Alert) error
	// Profiles are the backup vendor profiles; default backup.Builtin().
	Profiles        map[string]*backup.Profile
	PollTimeout     time.Duration // per SNMP request
	BackupTimeout   time.Duration // per SSH step
	ExpiryWarning   time.Duration // warn this long before an expiry
	SilentAfter     time.Duration // a log source silent this long is reported
	HealthRetention time.Duration // samples older than this are pruned
	BackupEvery     time.Duration // scheduled backups run when the last is older
	Concurrency     int           // devices worked on at once by RunScheduled
	Now             func() time.Time
	// Box seals each backup's unmasked configuration for restore; nil
	// keeps none.
	Box *secret.Box
	// Reach is how each poll checks that a device answers: ReachAuto
	// (default), ReachTCP or ReachOff; ReachTimeout bounds one probe.
	Reach        string
	ReachTimeout time.Duration
	// ChangeDelay is how long after a configuration-change trap its
	// backup runs, so the device has finished writing (default 30s).
	ChangeDelay time.Duration
	// ChangeDebounce is how long after the last configuration-change log
	// line its scan and backup run (default DefaultChangeDebounce).
	ChangeDebounce time.Duration
	// APIRoots are the CAs trusted for devices' HTTPS APIs without a
	// pinned fingerprint; nil: the system roots.
	APIRoots *x509.CertPool
}

// Service is the device O&M service.
type Service struct {
	st     store.Store
	vault  *secret.Vault
	assets *asset.Service
	audit  *audit.Log
	opts   Options
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	prev    map[string]health.Sample // last poll per tenant/asset, for Judge
	running sync.Mutex               // held by RunScheduled

	traps trapIndex   // trap senders by address
	live  liveChanges // change lines waiting for their scan
}

// NewService returns a Service.
func NewService(st store.Store, v *secret.Vault, assets *asset.Service, a *audit.Log, opts Options) (*Service, error) {
	if opts.Profiles == nil {
		ps, err := backup.Builtin()
		if err != nil {
			return nil, fmt.Errorf("device profiles: %w", err)
		}
		opts.Profiles = ps
	}
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&opts.PollTimeout, DefaultPollTimeout)
	set(&opts.BackupTimeout, DefaultBackupTimeout)
	set(&opts.ExpiryWarning, DefaultExpiryWarning)
	set(&opts.SilentAfter, DefaultSilentAfter)
	set(&opts.HealthRetention, DefaultHealthRetention)
	set(&opts.BackupEvery, DefaultBackupEvery)
	set(&opts.ReachTimeout, DefaultReachTimeout)
	set(&opts.ChangeDelay, DefaultChangeDelay)
	set(&opts.ChangeDebounce, DefaultChangeDebounce)
	switch opts.Reach {
	case "":
		opts.Reach = ReachAuto
	case ReachAuto, ReachTCP, ReachOff:
	default:
		return nil, fmt.Errorf("device reachability probe %q: want auto, tcp or off", opts.Reach)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Service{st: st, vault: v, assets: assets, audit: a, opts: opts, log: l, now: now, prev: map[string]health.Sample{},
		traps: trapIndex{pending: map[string]bool{}}}
	s.traps.idle.L = &s.traps.mu
	return s, nil
}

// Profiles lists the backup profile names.
func (s *Service) Profiles() []string {
	out := make([]string, 0, len(s.opts.Profiles))
	for n := range s.opts.Profiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Input is a device as entered. Credentials are plain values that go to
// the vault; an empty one keeps the stored secret.
type Input struct {
	AssetID string // an existing asset of kind device; "" creates one named Name
	Name    string

	Vendor, Model, Firmware, Role string
	MgmtAddress                   string
	SSHPort, SNMPPort             int
	SNMPVersion, SNMPUser         string
	SSHUser                       string
	Profile                       string
	SSHPassword                   string
	SNMPCommunity                 string // or the SNMPv3 passphrase
	// SNMPv3: protocols ("" for SHA and AES; PrivNone for no privacy)
	// and a privacy passphrase ("" keeps the stored one, or uses the
	// auth passphrase when none is stored).
	SNMPAuthProto, SNMPPrivProto string
	SNMPPrivPass                 string
	// BackupMethod is "", "ssh", "fortios-api" or "panos-api"; APIToken
	// the API token or key ("" keeps the stored one); APIFingerprint the
	// pinned SHA-256 of the device's certificate ("" verifies the chain).
	BackupMethod   string
	APIPort        int
	APIToken       string
	APIFingerprint string

	SupportExpires, LicenceExpires, SignatureExpires time.Time
	ContactID                                        string
}

func invalid(field, code string, args map[string]any, format string, a ...any) error {
	return store.NewFieldError(field, code, args, format, a...)
}

var hostnameRE = regexp.MustCompile(`^(?i)[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?)*\.?$`)

// checkText refuses invalid UTF-8, control characters and long values.
func checkText(field, v string, limit int) error {
	switch {
	case !utf8.ValidString(v):
		return invalid(field, store.CodeInvalidUTF8, nil, "%s is not valid UTF-8", field)
	case utf8.RuneCountInString(v) > limit:
		return invalid(field, store.CodeTooLong, map[string]any{"max": limit}, "%s must be at most %d characters", field, limit)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' && r != '\r' || r == 0x7f }):
		return invalid(field, store.CodeInvalidAttribute, nil, "%s contains control characters", field)
	}
	return nil
}

func (in *Input) check(profiles map[string]*backup.Profile) error {
	in.Vendor, in.Model, in.Firmware = strings.TrimSpace(in.Vendor), strings.TrimSpace(in.Model), strings.TrimSpace(in.Firmware)
	in.MgmtAddress, in.SSHUser, in.SNMPUser = strings.TrimSpace(in.MgmtAddress), strings.TrimSpace(in.SSHUser), strings.TrimSpace(in.SNMPUser)
	var errs []error
	for _, f := range []struct{ name, v string }{{"vendor", in.Vendor}, {"model", in.Model}, {"firmware", in.Firmware},
		{"ssh_user", in.SSHUser}, {"snmp_user", in.SNMPUser}} {
		if err := checkText(f.name, f.v, maxText); err != nil {
			errs = append(errs, err)
		}
	}
	if in.Role == "" {
		in.Role = "firewall"
	}
	if !slices.Contains(Roles(), in.Role) {
		errs = append(errs, invalid("role", store.CodeOneOf, map[string]any{"allowed": Roles()}, "role must be one of %s", strings.Join(Roles(), ", ")))
	}
	if in.MgmtAddress != "" {
		if _, err := netip.ParseAddr(in.MgmtAddress); err != nil && (len(in.MgmtAddress) > 253 || !hostnameRE.MatchString(in.MgmtAddress)) {
			errs = append(errs, invalid("mgmt_address", store.CodeInvalidHost, map[string]any{"value": in.MgmtAddress},
				"%q is not an IP address or host name", in.MgmtAddress))
		}
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"ssh_port", in.SSHPort}, {"snmp_port", in.SNMPPort}} {
		if p.v < 0 || p.v > 65535 {
			errs = append(errs, invalid(p.name, store.CodeOutOfRange, map[string]any{"min": 0, "max": 65535}, "%s must be 0 to 65535", p.name))
		}
	}
	if in.SNMPVersion == "" {
		in.SNMPVersion = "2c"
	}
	if in.SNMPVersion != "2c" && in.SNMPVersion != "3" {
		errs = append(errs, invalid("snmp_version", store.CodeOneOf, map[string]any{"allowed": []string{"2c", "3"}}, "SNMP version must be 2c or 3"))
	}
	if in.SNMPVersion == "3" && in.SNMPUser == "" {
		errs = append(errs, invalid("snmp_user", store.CodeRequired, nil, "SNMPv3 needs a user name"))
	}
	if in.Profile != "" {
		if _, ok := profiles[in.Profile]; !ok {
			names := make([]string, 0, len(profiles))
			for n := range profiles {
				names = append(names, n)
			}
			sort.Strings(names)
			errs = append(errs, invalid("profile", store.CodeOneOf, map[string]any{"allowed": names}, "unknown backup profile %q", in.Profile))
		}
	}
	errs = append(errs, in.check3()...)
	for _, c := range []struct{ name, v string }{{"ssh_password", in.SSHPassword}, {"snmp_community", in.SNMPCommunity},
		{"snmp_priv_pass", in.SNMPPrivPass}, {"api_token", in.APIToken}} {
		if len(c.v) > 1024 || !utf8.ValidString(c.v) {
			errs = append(errs, invalid(c.name, store.CodeTooLong, map[string]any{"max": 1024}, "%s must be at most 1024 bytes of text", c.name))
		}
	}
	return errors.Join(errs...)
}

// Save creates or updates a device. With no AssetID it creates the asset
// (kind device) too. New credential values are stored in the vault.
func (s *Service) Save(ctx context.Context, tenantID string, in Input) (store.Device, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.Device{}, err
	}
	if err := in.check(s.opts.Profiles); err != nil {
		return store.Device{}, err
	}
	if in.ContactID != "" {
		if _, err := s.st.Contacts().Get(ctx, tenantID, in.ContactID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return store.Device{}, invalid("contact", store.CodeNotInTenant, nil, "the vendor contact is not one of the tenant's contacts")
			}
			return store.Device{}, err
		}
	}
	if (in.SSHPassword != "" || in.SNMPCommunity != "" || in.SNMPPrivPass != "" || in.APIToken != "") &&
		!auth.FromContext(ctx).Can(auth.PermSecretWrite, tenantID) {
		return store.Device{}, auth.ErrForbidden
	}
	var d store.Device
	if in.AssetID == "" {
		a, err := s.assets.Create(ctx, tenantID, asset.Input{Kind: "device", Name: in.Name, Address: in.MgmtAddress})
		if err != nil {
			return store.Device{}, err
		}
		in.AssetID = a.ID
	} else {
		a, err := s.st.Assets().Get(ctx, tenantID, in.AssetID)
		if err != nil {
			return store.Device{}, fmt.Errorf("device asset: %w", err)
		}
		if a.Kind != "device" {
			return store.Device{}, invalid("asset", store.CodeOneOf, map[string]any{"allowed": []string{"device"}}, "the asset is a %s, not a device", a.Kind)
		}
		old, err := s.st.Devices().GetDevice(ctx, tenantID, in.AssetID)
		switch {
		case err == nil:
			d = old
		case !errors.Is(err, store.ErrNotFound):
			return store.Device{}, err
		}
		d.Name = a.Name
	}
	d.TenantID, d.AssetID = tenantID, in.AssetID
	d.Vendor, d.Model, d.Firmware, d.Role = in.Vendor, in.Model, in.Firmware, in.Role
	d.MgmtAddress, d.SSHPort, d.SNMPPort = in.MgmtAddress, in.SSHPort, in.SNMPPort
	d.SNMPVersion, d.SNMPUser, d.SSHUser, d.Profile = in.SNMPVersion, in.SNMPUser, in.SSHUser, in.Profile
	d.SupportExpires, d.LicenceExpires, d.SignatureExpires = in.SupportExpires, in.LicenceExpires, in.SignatureExpires
	d.ContactID = in.ContactID
	d.SNMPAuthProto, d.SNMPPrivProto, d.BackupMethod, d.APIPort, d.APIFingerprint =
		in.SNMPAuthProto, in.SNMPPrivProto, in.BackupMethod, in.APIPort, in.APIFingerprint
	var err error
	if d.SSHSecretID, err = s.keep(ctx, tenantID, d.SSHSecretID, in.SSHPassword, "device "+in.AssetID+" ssh", "password"); err != nil {
		return store.Device{}, err
	}
	if d.SNMPSecretID, err = s.keep(ctx, tenantID, d.SNMPSecretID, in.SNMPCommunity, "device "+in.AssetID+" snmp", "snmp-community"); err != nil {
		return store.Device{}, err
	}
	if d.SNMPPrivSecretID, err = s.keep(ctx, tenantID, d.SNMPPrivSecretID, in.SNMPPrivPass, "device "+in.AssetID+" snmp privacy", "password"); err != nil {
		return store.Device{}, err
	}
	if d.APISecretID, err = s.keep(ctx, tenantID, d.APISecretID, in.APIToken, "device "+in.AssetID+" api token", "api-token"); err != nil {
		return store.Device{}, err
	}
	if err := s.st.Devices().PutDevice(ctx, &d); err != nil {
		return store.Device{}, fmt.Errorf("save device: %w", err)
	}
	s.traps.invalidate()
	return d, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "device.save", Object: "asset:" + d.AssetID,
		Detail: map[string]string{"vendor": d.Vendor, "model": d.Model, "role": d.Role, "address": d.MgmtAddress,
			"backup_method": d.BackupMethod, "api_fingerprint": d.APIFingerprint}})
}

// keep stores value in the vault under id (a new secret when id is "")
// and returns the id; an empty value keeps id as it is.
func (s *Service) keep(ctx context.Context, tenantID, id, value, name, kind string) (string, error) {
	if value == "" {
		return id, nil
	}
	in := secret.Input{Name: name, Kind: kind, Value: []byte(value)}
	if id != "" {
		if _, err := s.vault.Replace(ctx, tenantID, id, in); err == nil {
			return id, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	sec, err := s.vault.Create(ctx, tenantID, in)
	if err != nil {
		return "", err
	}
	return sec.ID, nil
}

// Get returns one device.
func (s *Service) Get(ctx context.Context, tenantID, assetID string) (store.Device, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return store.Device{}, err
	}
	return s.st.Devices().GetDevice(ctx, tenantID, assetID)
}

// List returns a page of the tenant's devices and their total.
func (s *Service) List(ctx context.Context, tenantID string, p store.Page) ([]store.Device, int, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, 0, err
	}
	ds, err := s.st.Devices().ListDevices(ctx, tenantID, p)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.st.Devices().CountDevices(ctx, tenantID)
	return ds, n, err
}

// Health returns a device's samples since a time, newest first.
func (s *Service) Health(ctx context.Context, tenantID, assetID string, since time.Time, limit int) ([]store.HealthSample, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	if _, err := s.st.Devices().GetDevice(ctx, tenantID, assetID); err != nil {
		return nil, err
	}
	return s.st.Devices().Health(ctx, tenantID, assetID, since, limit)
}

// Backups lists a device's configuration versions, newest first.
func (s *Service) Backups(ctx context.Context, tenantID, assetID string, p store.Page) ([]store.ConfigBackup, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	if _, err := s.st.Devices().GetDevice(ctx, tenantID, assetID); err != nil {
		return nil, err
	}
	return s.st.Devices().Backups(ctx, tenantID, assetID, p)
}

// Backup returns one configuration version (masked) with its diff.
func (s *Service) Backup(ctx context.Context, tenantID, assetID, id string) (store.ConfigBackup, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return store.ConfigBackup{}, err
	}
	b, err := s.st.Devices().GetBackup(ctx, tenantID, id)
	if err != nil {
		return store.ConfigBackup{}, err
	}
	if b.AssetID != assetID {
		return store.ConfigBackup{}, fmt.Errorf("config backup: %w", store.ErrNotFound)
	}
	return b, nil
}

// RecordInput is an O&M record sheet entry as entered.
type RecordInput struct {
	Kind       string
	At         time.Time // zero: now
	Summary    string
	Resolution string
	WorkRef    string
}

// AddRecord adds an entry to a device's O&M record sheet, written by the
// caller.
func (s *Service) AddRecord(ctx context.Context, tenantID, assetID string, in RecordInput) (store.DeviceRecord, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.DeviceRecord{}, err
	}
	in.Summary, in.Resolution, in.WorkRef = strings.TrimSpace(in.Summary), strings.TrimSpace(in.Resolution), strings.TrimSpace(in.WorkRef)
	var errs []error
	if !slices.Contains(RecordKinds(), in.Kind) {
		errs = append(errs, invalid("kind", store.CodeOneOf, map[string]any{"allowed": RecordKinds()}, "kind must be one of %s", strings.Join(RecordKinds(), ", ")))
	}
	if in.Summary == "" {
		errs = append(errs, invalid("summary", store.CodeRequired, nil, "say what was done"))
	}
	for _, f := range []struct{ name, v string }{{"summary", in.Summary}, {"resolution", in.Resolution}} {
		if err := checkText(f.name, f.v, maxLongText); err != nil {
			errs = append(errs, err)
		}
	}
	if err := checkText("work_ref", in.WorkRef, maxText); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return store.DeviceRecord{}, err
	}
	if in.At.IsZero() {
		in.At = s.now()
	}
	if in.At.After(s.now().Add(24 * time.Hour)) {
		return store.DeviceRecord{}, invalid("at", store.CodeOutOfRange, nil, "a record cannot be dated in the future")
	}
	p := auth.FromContext(ctx)
	r := store.DeviceRecord{TenantID: tenantID, AssetID: assetID, Kind: in.Kind, At: in.At, Author: p.UserID, AuthorName: p.Username,
		Summary: in.Summary, Resolution: in.Resolution, WorkRef: in.WorkRef}
	if err := s.st.Devices().AddRecord(ctx, &r); err != nil {
		return store.DeviceRecord{}, fmt.Errorf("add O&M record: %w", err)
	}
	return r, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "device.record", Object: "asset:" + assetID,
		Detail: map[string]string{"kind": r.Kind, "record": r.ID}})
}

// Records lists a device's O&M records, newest first.
func (s *Service) Records(ctx context.Context, tenantID, assetID string, p store.Page) ([]store.DeviceRecord, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	return s.st.Devices().Records(ctx, tenantID, assetID, time.Time{}, time.Time{}, p)
}

// ResetHostKey forgets a device's pinned SSH host key, so that the next
// backup pins the key the device presents: the admin's acceptance of a
// changed key.
func (s *Service) ResetHostKey(ctx context.Context, tenantID, assetID string) error {
	if err := auth.Require(ctx, auth.PermSecretWrite, tenantID); err != nil {
		return err
	}
	if err := s.st.Devices().SetHostKey(ctx, tenantID, assetID, ""); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "device.hostkey.reset", Object: "asset:" + assetID})
}

// vendorKey maps a device to the health package's vendor table.
func vendorKey(d store.Device) string {
	v := strings.ToLower(d.Vendor)
	if strings.Contains(v, "fortinet") || strings.Contains(v, "fortigate") || d.Profile == "fortios" {
		return "fortigate"
	}
	return v
}

// snmpV3 is a device's SNMPv3 security for polls.
func snmpV3(u *trap.User) *health.V3Auth {
	return &health.V3Auth{User: u.Name, AuthProtocol: u.AuthProto, AuthPass: u.AuthPass, PrivProtocol: u.PrivProto, PrivPass: u.PrivPass}
}
