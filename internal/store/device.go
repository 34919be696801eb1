package store

import (
	"context"
	"time"
)

// Device is a security device of a tenant under O&M: an asset of kind
// "device" (AssetID; its name and address live on the asset) with what it
// takes to watch it, back it up and keep it supported. Credentials are
// never stored here: SNMPSecretID and SSHSecretID name secrets of the
// tenant's vault.
type Device struct {
	TenantID string
	AssetID  string
	Name     string // the asset's name, read only (filled by reads)

	Vendor   string
	Model    string
	Firmware string
	Role     string // firewall, ips, waf, av, vpn, bastion, log-collector, other
	// MgmtAddress is the management IP or host name; SSHPort and SNMPPort
	// the ports there (0: the protocol's default).
	MgmtAddress string
	SSHPort     int
	SNMPPort    int
	SNMPVersion string // "2c" or "3"
	SNMPUser    string // SNMPv3 user name ("" for v2c)
	SSHUser     string
	// SNMPSecretID is the community (v2c) or the auth passphrase (v3);
	// SSHSecretID the login password. "" when not set.
	SNMPSecretID string
	SSHSecretID  string
	Profile      string // backup profile name, e.g. "fortios"
	// SNMPAuthProto and SNMPPrivProto are the SNMPv3 protocols (MD5,
	// SHA, SHA224, SHA256, SHA384, SHA512; AES, AES192, AES256; "" for
	// SHA and AES);
	// SNMPPrivSecretID names the privacy passphrase ("": the auth one).
	SNMPAuthProto    string
	SNMPPrivProto    string
	SNMPPrivSecretID string
	// BackupMethod is how the configuration is fetched: "" or "ssh",
	// "fortios-api" or "panos-api"; APIPort is the HTTPS port (0: 443),
	// APISecretID names the API token or key, APIFingerprint is the
	// pinned SHA-256 fingerprint of the device's TLS certificate (hex;
	// "" verifies the certificate the usual way).
	BackupMethod   string
	APIPort        int
	APISecretID    string
	APIFingerprint string
	// HostKey is the pinned SSH host key in authorized_keys form; ""
	// until the first backup pins it.
	HostKey string

	SupportExpires   time.Time // zero: not tracked
	LicenceExpires   time.Time
	SignatureExpires time.Time
	ContactID        string // the vendor support contact ("" for none)

	// Written by polls and backups.
	HealthState  string // unknown, ok, warning, critical, unreachable
	HealthNote   string
	LastPolledAt time.Time
	LastBackupAt time.Time
	BackupError  string // the last failed backup's reason, "" after a success
	// LogScanAt is how far the device's logs were read for configuration
	// changes (zero: never).
	LogScanAt time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// HealthSample is one poll of a device.
type HealthSample struct {
	TenantID    string
	AssetID     string
	At          time.Time
	Reachable   bool
	UpTime      time.Duration
	CPU         float64 // percent; valid when HasCPU
	HasCPU      bool
	Memory      float64
	HasMemory   bool
	Sessions    int64
	HasSessions bool
	IfUp        int
	IfDown      int
	// Probe is how reachability was checked: "icmp", "tcp" or "" (not
	// probed); RTT is the round trip when it answered.
	Probe    string
	RTT      time.Duration
	State    string   // the device's health state after this poll
	Problems []string // what the judge found, plain text
	Error    string   // why the poll failed, when not Reachable
}

// ConfigBackup is one fetched configuration of a device. Content is the
// configuration with its secrets masked (what is shown and diffed); SHA256
// is the digest of the unmasked text, so a changed secret is a change too.
// Diff is the masked line diff against the previous backup ("" for the
// first). Content and Diff are left empty by Backups.
type ConfigBackup struct {
	ID       string
	TenantID string
	AssetID  string
	TakenAt  time.Time
	SHA256   string
	Size     int // bytes of Content
	Changed  bool
	Added    int // lines added since the previous backup
	Removed  int
	Content  string
	Diff     string
	TakenBy  string // user ID, or "system" for a scheduled backup
	// ChangedBy names who changed the configuration, as the device's
	// config-change events named them ("" when unknown).
	ChangedBy string
	// Sealed is the unmasked configuration encrypted with the secret
	// key; written by AddBackup, read only by BackupSealed. HasRaw is
	// set by reads when a sealed copy exists.
	Sealed []byte
	HasRaw bool
}

// DeviceRecord is one entry of a device's O&M record sheet (运维记录单).
type DeviceRecord struct {
	ID         string
	TenantID   string
	AssetID    string
	Kind       string // inspection, change, fault, vendor-case, other
	At         time.Time
	Author     string // user ID
	AuthorName string
	Summary    string
	Resolution string
	WorkRef    string // a linked work order or ticket reference
	CreatedAt  time.Time
}

// DeviceStore persists devices, their health history, configuration
// backups and O&M records. Every method is scoped by tenant; another
// tenant's device is ErrNotFound.
type DeviceStore interface {
	DeviceEventStore
	// PutDevice creates or replaces the device of an asset. The asset must
	// be the tenant's (ErrNotFound otherwise). Poll and backup fields are
	// kept on replace; CreatedAt and UpdatedAt are set.
	PutDevice(ctx context.Context, d *Device) error
	GetDevice(ctx context.Context, tenantID, assetID string) (Device, error)
	// ListDevices returns a page of the tenant's devices by name.
	ListDevices(ctx context.Context, tenantID string, p Page) ([]Device, error)
	CountDevices(ctx context.Context, tenantID string) (int, error)
	// AddHealth stores a sample and sets the device's health state, note
	// and LastPolledAt from it.
	AddHealth(ctx context.Context, h *HealthSample) error
	// Health returns a device's samples taken at or after since, newest
	// first, at most limit.
	Health(ctx context.Context, tenantID, assetID string, since time.Time, limit int) ([]HealthSample, error)
	// PruneHealth deletes the tenant's samples older than before.
	PruneHealth(ctx context.Context, tenantID string, before time.Time) (int64, error)
	// AddBackup stores a backup (ID set when empty) and sets the device's
	// LastBackupAt, clearing BackupError.
	AddBackup(ctx context.Context, b *ConfigBackup) error
	// SetBackupStatus records a backup run that stored nothing: a
	// non-zero at is a success that found the configuration unchanged
	// (LastBackupAt = at); reason is why it failed ("" clears it).
	SetBackupStatus(ctx context.Context, tenantID, assetID string, at time.Time, reason string) error
	// SetHostKey pins a device's SSH host key.
	SetHostKey(ctx context.Context, tenantID, assetID, key string) error
	// Backups lists a device's backups newest first, without Content and Diff.
	Backups(ctx context.Context, tenantID, assetID string, p Page) ([]ConfigBackup, error)
	// GetBackup returns one backup with its content and diff.
	GetBackup(ctx context.Context, tenantID, id string) (ConfigBackup, error)
	// LatestBackup returns a device's newest backup with its content.
	LatestBackup(ctx context.Context, tenantID, assetID string) (ConfigBackup, error)
	// CountBackups counts the tenant's backups taken in [since, until),
	// and how many of them changed the configuration.
	CountBackups(ctx context.Context, tenantID string, since, until time.Time) (total, changed int, err error)
	// AddRecord stores an O&M record (ID and CreatedAt set).
	AddRecord(ctx context.Context, r *DeviceRecord) error
	// Records lists records of one device (assetID "" for all the
	// tenant's) dated in [since, until) (zero: unbounded), newest first.
	Records(ctx context.Context, tenantID, assetID string, since, until time.Time, p Page) ([]DeviceRecord, error)
}

// DeviceEvent is something a device told Vigil of itself: an SNMP trap or
// a configuration change found in its logs. SourceID identifies the
// event it came from (the log event's ID; "" for traps): a device event
// is stored once per source.
type DeviceEvent struct {
	ID       string
	TenantID string
	AssetID  string
	At       time.Time
	Kind     string // trap, config_change
	SourceID string
	Name     string // trap name (linkDown, ciscoConfigManEvent, ...) or the change message's vendor tag
	Severity string // info, low, medium, high
	User     string // who made a configuration change, as the device named them
	Summary  string
	// Detail holds the trap's variable bindings or the log line, as
	// name/value pairs in order.
	Detail []DeviceEventField
	// WorkOrderID and WorkOrderRef name the approved change order that
	// covers a configuration change; Authorised is "yes" when one does,
	// "no" when the tenant has work orders and none does, "" when not
	// checked.
	WorkOrderID  string
	WorkOrderRef string
	Authorised   string
	// BackupID is the backup taken because of this change ("" until then).
	BackupID string
}

// DeviceEventField is one name/value pair of a device event's detail.
type DeviceEventField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// DeviceEventFilter narrows a device event listing.
type DeviceEventFilter struct {
	AssetID      string // "" for all the tenant's devices
	Kind         string // "" for every kind
	Since, Until time.Time
	Page
}

// DeviceEventStore persists device events, the change-log cursor and the
// sealed raw configurations; DeviceStore embeds it.
type DeviceEventStore interface {
	// AddDeviceEvent stores an event (ID set when empty). The device must
	// be the tenant's (ErrNotFound otherwise); a second event with the
	// same non-empty SourceID is ErrConflict.
	AddDeviceEvent(ctx context.Context, e *DeviceEvent) error
	// DeviceEvents lists events newest first.
	DeviceEvents(ctx context.Context, tenantID string, f DeviceEventFilter) ([]DeviceEvent, error)
	// LinkChangeBackup sets BackupID on the device's configuration change
	// events that have none and happened at or before at.
	LinkChangeBackup(ctx context.Context, tenantID, assetID, backupID string, at time.Time) (int64, error)
	// SetLogScan records how far a device's logs were read for
	// configuration changes.
	SetLogScan(ctx context.Context, tenantID, assetID string, at time.Time) error
	// BackupSealed returns a backup's encrypted raw configuration, nil
	// when none was kept.
	BackupSealed(ctx context.Context, tenantID, id string) ([]byte, error)
}
