package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/store"
)

// Device is a security device under O&M. Credentials are never returned:
// has_ssh_password and has_snmp_community say whether they are stored.
type Device struct {
	AssetID          string     `json:"asset_id" doc:"The inventory asset (kind device) this device is"`
	TenantID         string     `json:"tenant_id"`
	Name             string     `json:"name"`
	Vendor           string     `json:"vendor"`
	Model            string     `json:"model"`
	Firmware         string     `json:"firmware"`
	Role             string     `json:"role"`
	MgmtAddress      string     `json:"mgmt_address"`
	SSHPort          int        `json:"ssh_port,omitempty"`
	SNMPPort         int        `json:"snmp_port,omitempty"`
	SNMPVersion      string     `json:"snmp_version"`
	SNMPUser         string     `json:"snmp_user,omitempty"`
	SSHUser          string     `json:"ssh_user,omitempty"`
	Profile          string     `json:"profile,omitempty" doc:"Backup vendor profile"`
	HasSSHPassword   bool       `json:"has_ssh_password"`
	HasSNMPCommunity bool       `json:"has_snmp_community"`
	HostKeyPinned    bool       `json:"host_key_pinned"`
	SNMPAuthProto    string     `json:"snmp_auth_proto,omitempty" doc:"SNMPv3 authentication protocol (SHA when empty)"`
	SNMPPrivProto    string     `json:"snmp_priv_proto,omitempty" doc:"SNMPv3 privacy protocol (AES when empty; none for no privacy)"`
	HasSNMPPrivPass  bool       `json:"has_snmp_priv_pass"`
	BackupMethod     string     `json:"backup_method,omitempty" doc:"ssh (when empty), fortios-api or panos-api"`
	APIPort          int        `json:"api_port,omitempty"`
	HasAPIToken      bool       `json:"has_api_token"`
	APIFingerprint   string     `json:"api_fingerprint,omitempty" doc:"Pinned SHA-256 fingerprint of the device's TLS certificate"`
	SupportExpires   *time.Time `json:"support_expires,omitempty"`
	LicenceExpires   *time.Time `json:"licence_expires,omitempty"`
	SignatureExpires *time.Time `json:"signature_expires,omitempty"`
	ContactID        string     `json:"contact_id,omitempty" doc:"Vendor support contact"`
	HealthState      string     `json:"health_state" enum:"unknown,ok,warning,critical,unreachable"`
	HealthNote       string     `json:"health_note,omitempty"`
	LastPolledAt     *time.Time `json:"last_polled_at,omitempty"`
	LastBackupAt     *time.Time `json:"last_backup_at,omitempty"`
	BackupError      string     `json:"backup_error,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

func deviceDTO(d store.Device) Device {
	return Device{AssetID: d.AssetID, TenantID: d.TenantID, Name: d.Name, Vendor: d.Vendor, Model: d.Model, Firmware: d.Firmware,
		Role: d.Role, MgmtAddress: d.MgmtAddress, SSHPort: d.SSHPort, SNMPPort: d.SNMPPort, SNMPVersion: d.SNMPVersion,
		SNMPUser: d.SNMPUser, SSHUser: d.SSHUser, Profile: d.Profile, HasSSHPassword: d.SSHSecretID != "",
		HasSNMPCommunity: d.SNMPSecretID != "", HostKeyPinned: d.HostKey != "", SupportExpires: optTime(d.SupportExpires),
		LicenceExpires: optTime(d.LicenceExpires), SignatureExpires: optTime(d.SignatureExpires), ContactID: d.ContactID,
		HealthState: d.HealthState, HealthNote: d.HealthNote, LastPolledAt: optTime(d.LastPolledAt), LastBackupAt: optTime(d.LastBackupAt),
		BackupError: d.BackupError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		SNMPAuthProto: d.SNMPAuthProto, SNMPPrivProto: d.SNMPPrivProto, HasSNMPPrivPass: d.SNMPPrivSecretID != "",
		BackupMethod: d.BackupMethod, APIPort: d.APIPort, HasAPIToken: d.APISecretID != "", APIFingerprint: d.APIFingerprint}
}

// DeviceInput is a device to add. Credentials are write-only: they go to
// the tenant's vault and are never returned.
type DeviceInput struct {
	AssetID          string `json:"asset_id,omitempty" maxLength:"100" doc:"An existing asset of kind device; omitted creates one named name"`
	Name             string `json:"name,omitempty" maxLength:"200"`
	Vendor           string `json:"vendor,omitempty" maxLength:"200"`
	Model            string `json:"model,omitempty" maxLength:"200"`
	Firmware         string `json:"firmware,omitempty" maxLength:"200"`
	Role             string `json:"role,omitempty" doc:"Default firewall"`
	MgmtAddress      string `json:"mgmt_address,omitempty" maxLength:"253"`
	SSHPort          int    `json:"ssh_port,omitempty" minimum:"0" maximum:"65535"`
	SNMPPort         int    `json:"snmp_port,omitempty" minimum:"0" maximum:"65535"`
	SNMPVersion      string `json:"snmp_version,omitempty" enum:"2c,3"`
	SNMPUser         string `json:"snmp_user,omitempty" maxLength:"200"`
	SSHUser          string `json:"ssh_user,omitempty" maxLength:"200"`
	Profile          string `json:"profile,omitempty" maxLength:"64"`
	SSHPassword      string `json:"ssh_password,omitempty" maxLength:"1024" writeOnly:"true"`
	SNMPCommunity    string `json:"snmp_community,omitempty" maxLength:"1024" writeOnly:"true" doc:"Community (v2c) or passphrase (v3)"`
	SNMPAuthProto    string `json:"snmp_auth_proto,omitempty" enum:"SHA,SHA224,SHA256,SHA384,SHA512,MD5" doc:"SNMPv3; SHA when empty"`
	SNMPPrivProto    string `json:"snmp_priv_proto,omitempty" enum:"AES,AES192,AES256,DES,none" doc:"SNMPv3; AES when empty"`
	SNMPPrivPass     string `json:"snmp_priv_pass,omitempty" maxLength:"1024" writeOnly:"true" doc:"SNMPv3 privacy passphrase; the auth passphrase when never set"`
	BackupMethod     string `json:"backup_method,omitempty" enum:"ssh,fortios-api,panos-api" doc:"ssh when empty"`
	APIPort          int    `json:"api_port,omitempty" minimum:"0" maximum:"65535" doc:"HTTPS port of the device API; 443 when 0"`
	APIToken         string `json:"api_token,omitempty" maxLength:"1024" writeOnly:"true" doc:"FortiOS REST API token or PAN-OS API key"`
	APIFingerprint   string `json:"api_fingerprint,omitempty" maxLength:"100" doc:"Pinned SHA-256 fingerprint of the device's TLS certificate (hex)"`
	SupportExpires   string `json:"support_expires,omitempty" format:"date"`
	LicenceExpires   string `json:"licence_expires,omitempty" format:"date"`
	SignatureExpires string `json:"signature_expires,omitempty" format:"date"`
	ContactID        string `json:"contact_id,omitempty" maxLength:"100"`
}

// TransformSchema takes the role enum from the service.
func (DeviceInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "role", om.Roles(), false)
	return s
}

// DeviceList is one page of a tenant's devices, by name.
type DeviceList struct {
	Items  []Device `json:"items"`
	Total  int      `json:"total"`
	Limit  int      `json:"limit"`
	Offset int      `json:"offset"`
}

// ConfigBackup is one stored configuration version (without content).
type ConfigBackup struct {
	ID      string    `json:"id"`
	TakenAt time.Time `json:"taken_at"`
	SHA256  string    `json:"sha256" doc:"SHA-256 of the configuration as fetched (secrets included)"`
	Size    int       `json:"size" doc:"Bytes of the masked configuration"`
	Changed bool      `json:"changed" doc:"It differs from the previous version"`
	Added   int       `json:"added"`
	Removed int       `json:"removed"`
	TakenBy string    `json:"taken_by"`
	// ChangedBy is who changed the configuration, from the device's
	// config-change events.
	ChangedBy string `json:"changed_by,omitempty"`
	HasRaw    bool   `json:"has_raw" doc:"An encrypted copy with secrets is kept for restore"`
}

// HealthSample is one health poll of a device.
type HealthSample struct {
	At        time.Time `json:"at"`
	Reachable bool      `json:"reachable"`
	State     string    `json:"state"`
	UpTimeSec int64     `json:"uptime_seconds"`
	CPU       *float64  `json:"cpu_percent,omitempty"`
	Memory    *float64  `json:"memory_percent,omitempty"`
	Sessions  *int64    `json:"sessions,omitempty"`
	IfUp      int       `json:"interfaces_up"`
	IfDown    int       `json:"interfaces_down"`
	Problems  []string  `json:"problems,omitempty"`
	Error     string    `json:"error,omitempty"`
	Probe     string    `json:"probe,omitempty" doc:"How reachability was checked: icmp or tcp"`
	RTTMicros int64     `json:"rtt_us,omitempty" doc:"Round trip of the reachability probe, microseconds"`
}

type deviceListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size"`
	Offset int `query:"offset" minimum:"0" doc:"Devices to skip"`
}

type deviceParamIn struct {
	TenantParam
	Asset string `path:"asset" maxLength:"100" doc:"Device (asset) ID"`
}

type deviceBackupsIn struct {
	TenantParam
	Asset  string `path:"asset" maxLength:"100" doc:"Device (asset) ID"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size"`
	Offset int    `query:"offset" minimum:"0" doc:"Versions to skip"`
}

type deviceHealthIn struct {
	TenantParam
	Asset string    `path:"asset" maxLength:"100" doc:"Device (asset) ID"`
	Since time.Time `query:"since" doc:"Only samples taken at or after this time (RFC 3339)"`
	Limit int       `query:"limit" minimum:"1" maximum:"10000" default:"500" doc:"At most this many samples, newest first"`
}

type deviceCreateIn struct {
	TenantParam
	Body DeviceInput
}

func (s *server) registerDevices() {
	if s.opts.Devices == nil {
		return
	}
	tags := []string{"devices"}
	read, write := inTenant(auth.PermAssetRead), inTenant(auth.PermAssetWrite)
	base := "/tenants/{tenant}/devices"
	register(s, read, huma.Operation{OperationID: "list-devices", Method: http.MethodGet, Path: base,
		Summary: "List a tenant's security devices", Tags: tags}, s.listDevices)
	register(s, write, huma.Operation{OperationID: "create-device", Method: http.MethodPost, Path: base,
		Summary: "Add a security device",
		Description: "Adds the O&M settings of an asset of kind device, creating the asset when asset_id is omitted. " +
			"Credentials go to the tenant's vault (needs secret.write as well) and are never returned.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.createDevice)
	register(s, read, huma.Operation{OperationID: "get-device", Method: http.MethodGet, Path: base + "/{asset}",
		Summary: "Get a security device", Tags: tags}, s.getDevice)
	register(s, read, huma.Operation{OperationID: "list-device-backups", Method: http.MethodGet, Path: base + "/{asset}/backups",
		Summary: "List a device's configuration versions, newest first", Tags: tags}, s.listDeviceBackups)
	register(s, read, huma.Operation{OperationID: "list-device-health", Method: http.MethodGet, Path: base + "/{asset}/health",
		Summary: "List a device's health samples, newest first", Tags: tags}, s.listDeviceHealth)
	s.registerDeviceEvents(tags, base)
}

func (s *server) listDevices(ctx context.Context, in *deviceListIn) (*out[DeviceList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ds, total, err := s.opts.Devices.List(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(DeviceList{Items: items(ds, deviceDTO), Total: total, Limit: in.Limit, Offset: in.Offset})
}

// day parses an optional YYYY-MM-DD date field.
func day(field, v string) (time.Time, error) {
	if strings.TrimSpace(v) == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, store.NewFieldError(field, store.CodeInvalidDate, nil, "%s is not a date (YYYY-MM-DD)", field)
	}
	return d, nil
}

func (s *server) createDevice(ctx context.Context, in *deviceCreateIn) (*out[Device], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	di := om.Input{AssetID: b.AssetID, Name: b.Name, Vendor: b.Vendor, Model: b.Model, Firmware: b.Firmware, Role: b.Role,
		MgmtAddress: b.MgmtAddress, SSHPort: b.SSHPort, SNMPPort: b.SNMPPort, SNMPVersion: b.SNMPVersion, SNMPUser: b.SNMPUser,
		SSHUser: b.SSHUser, Profile: b.Profile, SSHPassword: b.SSHPassword, SNMPCommunity: b.SNMPCommunity, ContactID: b.ContactID,
		SNMPAuthProto: b.SNMPAuthProto, SNMPPrivProto: b.SNMPPrivProto, SNMPPrivPass: b.SNMPPrivPass, BackupMethod: b.BackupMethod,
		APIPort: b.APIPort, APIToken: b.APIToken, APIFingerprint: b.APIFingerprint}
	if di.SupportExpires, err = day("support_expires", b.SupportExpires); err != nil {
		return nil, err
	}
	if di.LicenceExpires, err = day("licence_expires", b.LicenceExpires); err != nil {
		return nil, err
	}
	if di.SignatureExpires, err = day("signature_expires", b.SignatureExpires); err != nil {
		return nil, err
	}
	d, err := s.opts.Devices.Save(ctx, t.ID, di)
	if err != nil {
		return nil, err
	}
	return reply(deviceDTO(d))
}

func (s *server) getDevice(ctx context.Context, in *deviceParamIn) (*out[Device], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Devices.Get(ctx, t.ID, in.Asset)
	if err != nil {
		return nil, err
	}
	return reply(deviceDTO(d))
}

func (s *server) listDeviceBackups(ctx context.Context, in *deviceBackupsIn) (*out[[]ConfigBackup], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	bs, err := s.opts.Devices.Backups(ctx, t.ID, in.Asset, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(items(bs, func(b store.ConfigBackup) ConfigBackup {
		return ConfigBackup{ID: b.ID, TakenAt: b.TakenAt, SHA256: b.SHA256, Size: b.Size, Changed: b.Changed, Added: b.Added,
			Removed: b.Removed, TakenBy: b.TakenBy, ChangedBy: b.ChangedBy, HasRaw: b.HasRaw}
	}))
}

func (s *server) listDeviceHealth(ctx context.Context, in *deviceHealthIn) (*out[[]HealthSample], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	hs, err := s.opts.Devices.Health(ctx, t.ID, in.Asset, in.Since, in.Limit)
	if err != nil {
		return nil, err
	}
	return reply(items(hs, func(h store.HealthSample) HealthSample {
		v := HealthSample{At: h.At, Reachable: h.Reachable, State: h.State, UpTimeSec: int64(h.UpTime / time.Second),
			IfUp: h.IfUp, IfDown: h.IfDown, Problems: h.Problems, Error: h.Error, Probe: h.Probe, RTTMicros: h.RTT.Microseconds()}
		if h.HasCPU {
			v.CPU = &h.CPU
		}
		if h.HasMemory {
			v.Memory = &h.Memory
		}
		if h.HasSessions {
			v.Sessions = &h.Sessions
		}
		return v
	}))
}
