package om

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/health"
	"github.com/vigil-sec/vigil/internal/store"
)

// Health states of a device.
const (
	StateUnknown     = "unknown"
	StateOK          = "ok"
	StateWarning     = "warning"
	StateCritical    = "critical"
	StateUnreachable = "unreachable"
)

// ErrNotConfigured means the device lacks what the operation needs (an
// address, a credential, a profile); the message says what. It is an
// input error (store.ErrInvalid).
var ErrNotConfigured = fmt.Errorf("%w: device not configured", store.ErrInvalid)

// rulePrefix starts the rule ID of every alert this service raises.
const rulePrefix = "device-om:"

// openStatuses are the alert statuses a repeat joins.
var openStatuses = []string{"new", "acknowledged"}

// maxAlertEvents bounds the event IDs kept on an alert (none here).
const maxAlertEvents = 10

// maxErrorText bounds an error kept on a sample or device.
const maxErrorText = 500

// PollNow polls a device's health over SNMP now.
func (s *Service) PollNow(ctx context.Context, tenantID, assetID string) (store.HealthSample, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.HealthSample{}, err
	}
	d, err := s.st.Devices().GetDevice(ctx, tenantID, assetID)
	if err != nil {
		return store.HealthSample{}, err
	}
	return s.poll(ctx, d)
}

func port(p, def int) string {
	if p <= 0 {
		p = def
	}
	return strconv.Itoa(p)
}

// clip bounds a text kept from a device or an error, as valid UTF-8.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

func (s *Service) poll(ctx context.Context, d store.Device) (store.HealthSample, error) {
	if d.MgmtAddress == "" || (d.SNMPSecretID == "" && s.opts.Reach == ReachOff) {
		return store.HealthSample{}, fmt.Errorf("%w: health polls need a management address and an SNMP community", ErrNotConfigured)
	}
	h := store.HealthSample{TenantID: d.TenantID, AssetID: d.AssetID, At: s.now().UTC()}
	var reachErr error
	if s.opts.Reach != ReachOff {
		h.Probe, h.RTT, reachErr = s.probe(ctx, d.MgmtAddress, sshPort(d))
	}
	if d.SNMPSecretID == "" {
		// Reachability only.
		if reachErr != nil {
			h.State, h.Error = StateUnreachable, clip(reachErr.Error(), maxErrorText)
		} else {
			h.Reachable, h.State = true, StateOK
		}
		if err := s.st.Devices().AddHealth(ctx, &h); err != nil {
			return h, fmt.Errorf("store health sample: %w", err)
		}
		if reachErr != nil {
			s.raise(ctx, d, "unreachable", "", "high", fmt.Sprintf("Device %s does not answer: %s", d.Name, h.Error), time.Hour)
		}
		return h, nil
	}
	cred, err := s.vault.Open(ctx, d.TenantID, d.SNMPSecretID, "snmp poll of device "+d.AssetID)
	if err != nil {
		return store.HealthSample{}, fmt.Errorf("snmp credential: %w", err)
	}
	tg := health.Target{Addr: net.JoinHostPort(d.MgmtAddress, port(d.SNMPPort, 161)), Version: d.SNMPVersion,
		Timeout: s.opts.PollTimeout, Retries: 0}
	if d.SNMPVersion == "3" {
		u, err := s.snmpV3Auth(ctx, d, string(cred))
		if err != nil {
			return store.HealthSample{}, err
		}
		tg.V3 = snmpV3(u)
	} else {
		tg.Community = string(cred)
	}
	// A walk is several requests: bound the whole poll too.
	pctx, cancel := context.WithTimeout(ctx, 20*s.opts.PollTimeout)
	defer cancel()
	smp, perr := health.Poll(pctx, tg, vendorKey(d))
	key := d.TenantID + "/" + d.AssetID
	var problems []health.Problem
	probed := s.opts.Reach != ReachOff && reachErr == nil
	switch {
	case perr != nil && probed:
		// It answers the probe but not SNMP: up, but not watched.
		h.Reachable, h.State = true, StateCritical
		h.Error = clip(perr.Error(), maxErrorText)
		h.Problems = []string{clip(fmt.Sprintf("answers %s but not SNMP: %s", h.Probe, perr), maxErrorText)}
	case perr != nil:
		h.State, h.Error = StateUnreachable, clip(perr.Error(), maxErrorText)
		if reachErr != nil {
			h.Error = clip(perr.Error()+"; "+reachErr.Error(), maxErrorText)
		}
	default:
		h.Reachable, h.UpTime = true, smp.UpTime
		h.CPU, h.HasCPU, h.Memory, h.HasMemory = smp.CPU, smp.HasCPU, smp.Memory, smp.HasMemory
		h.Sessions, h.HasSessions = int64(min(smp.Sessions, 1<<62)), smp.HasSessions // #nosec G115 -- bounded above
		for _, i := range smp.Interfaces {
			if i.Up() {
				h.IfUp++
			} else {
				h.IfDown++
			}
		}
		th, _ := health.DefaultThresholds(d.Role)
		s.mu.Lock()
		prev := s.prev[key]
		s.prev[key] = smp
		s.mu.Unlock()
		problems = health.Judge(prev, smp, th)
		h.State = StateOK
		for _, p := range problems {
			h.Problems = append(h.Problems, clip(p.Message, maxErrorText))
			if p.Severity == health.SeverityCritical {
				h.State = StateCritical
			} else if h.State != StateCritical {
				h.State = StateWarning
			}
		}
	}
	if err := s.st.Devices().AddHealth(ctx, &h); err != nil {
		return h, fmt.Errorf("store health sample: %w", err)
	}
	switch {
	case perr != nil && probed:
		s.raise(ctx, d, "snmp_failed", "", "high", fmt.Sprintf("Device %s answers %s but not SNMP: %s", d.Name, h.Probe, h.Error), time.Hour)
		return h, nil
	case perr != nil:
		s.raise(ctx, d, "unreachable", "", "high", fmt.Sprintf("Device %s does not answer SNMP: %s", d.Name, h.Error), time.Hour)
		return h, nil
	}
	for _, p := range problems {
		s.raise(ctx, d, string(p.Kind), "", string(p.Severity), fmt.Sprintf("Device %s: %s", d.Name, p.Message), time.Hour)
	}
	return h, nil
}

// sshPort is the device's management (SSH) port, the TCP probe's target.
func sshPort(d store.Device) int {
	if d.SSHPort > 0 {
		return d.SSHPort
	}
	return 22
}

// raise records an alert about a device; repeats within window join it.
// Failures are logged: an alert that cannot be stored must not stop polls.
func (s *Service) raise(ctx context.Context, d store.Device, kind, key, level, title string, window time.Duration) {
	host := d.MgmtAddress
	if host == "" {
		host = d.Name
	}
	now := s.now().UTC()
	rule := rulePrefix + kind
	a := store.Alert{TenantID: d.TenantID, GroupKey: rule + "|" + d.AssetID + "|" + key, RuleID: rule, RuleTitle: clip(title, 500),
		Level: level, Tags: []string{ServiceCode, kind}, Host: host, AssetID: d.AssetID, Status: "new", FirstSeen: now, LastSeen: now}
	created, err := s.st.Alerts().Raise(ctx, &a, window, openStatuses, maxAlertEvents)
	if err != nil {
		s.log.WarnContext(ctx, "device alert not stored", "tenant", d.TenantID, "device", d.AssetID, "kind", kind, "err", err)
		return
	}
	if created && s.opts.OnAlert != nil {
		if err := s.opts.OnAlert(ctx, a); err != nil {
			s.log.WarnContext(ctx, "device alert not notified", "alert", a.ID, "err", err)
		}
	}
}

// BackupResult is what a backup run did.
type BackupResult struct {
	Backup  store.ConfigBackup
	Stored  bool // a new version was stored (first or changed)
	Changed bool // it differs from the previous version
}

// BackupNow fetches a device's configuration now.
func (s *Service) BackupNow(ctx context.Context, tenantID, assetID string) (BackupResult, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return BackupResult{}, err
	}
	d, err := s.st.Devices().GetDevice(ctx, tenantID, assetID)
	if err != nil {
		return BackupResult{}, err
	}
	res, err := s.backup(ctx, d, auth.FromContext(ctx).UserID, "")
	if err != nil {
		return res, err
	}
	return res, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "device.backup", Object: "asset:" + assetID,
		Detail: map[string]any{"stored": res.Stored, "changed": res.Changed, "sha256": res.Backup.SHA256}})
}

// sanitize makes device output safe to store as text: valid UTF-8, no
// NUL or other C0 controls but tab and newline.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// backup fetches and stores a device's configuration; by is who asked
// (a user ID or "system"), changedBy who changed it when a change event
// said so.
func (s *Service) backup(ctx context.Context, d store.Device, by, changedBy string) (BackupResult, error) {
	cfg, err := s.fetchConfig(ctx, d)
	if errors.Is(err, ErrNotConfigured) {
		return BackupResult{}, err
	}
	if err != nil {
		reason := clip(err.Error(), maxErrorText)
		if serr := s.st.Devices().SetBackupStatus(ctx, d.TenantID, d.AssetID, time.Time{}, reason); serr != nil {
			s.log.WarnContext(ctx, "backup status not stored", "device", d.AssetID, "err", serr)
		}
		switch {
		case errors.Is(err, backup.ErrHostKeyChanged):
			s.raise(ctx, d, "host_key_changed", "", "high",
				fmt.Sprintf("Device %s presented a different SSH host key; backups stop until an admin accepts it", d.Name), 24*time.Hour)
		case errors.Is(err, backup.ErrFingerprint):
			s.raise(ctx, d, "tls_certificate_changed", "", "high",
				fmt.Sprintf("Device %s presented a TLS certificate other than the pinned one; API backups stop until an admin updates the fingerprint", d.Name), 24*time.Hour)
		default:
			s.raise(ctx, d, "backup_failed", "", "medium", fmt.Sprintf("Configuration backup of %s failed: %s", d.Name, reason), 24*time.Hour)
		}
		return BackupResult{}, err
	}
	if d.HostKey == "" && cfg.HostKey != nil {
		key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cfg.HostKey)))
		if err := s.st.Devices().SetHostKey(ctx, d.TenantID, d.AssetID, key); err != nil {
			return BackupResult{}, fmt.Errorf("pin host key: %w", err)
		}
	}
	now := s.now().UTC()
	content := sanitize(cfg.Masked)
	prev, perr := s.st.Devices().LatestBackup(ctx, d.TenantID, d.AssetID)
	first := errors.Is(perr, store.ErrNotFound)
	if perr != nil && !first {
		return BackupResult{}, perr
	}
	if !first && prev.SHA256 == cfg.SHA256 {
		if err := s.st.Devices().SetBackupStatus(ctx, d.TenantID, d.AssetID, now, ""); err != nil {
			return BackupResult{}, err
		}
		return BackupResult{Backup: prev}, nil
	}
	b := store.ConfigBackup{TenantID: d.TenantID, AssetID: d.AssetID, TakenAt: now, SHA256: cfg.SHA256, Content: content,
		Changed: !first, TakenBy: by, ChangedBy: clip(changedBy, maxText)}
	if s.opts.Box != nil {
		if err := ensureBackupID(&b); err != nil {
			return BackupResult{}, err
		}
		sealed, err := s.opts.Box.Seal([]byte(cfg.Text), rawAAD(b.TenantID, b.ID))
		if err != nil {
			return BackupResult{}, fmt.Errorf("seal configuration: %w", err)
		}
		b.Sealed = sealed
	}
	if !first {
		b.Diff, b.Added, b.Removed = diffText(prev.Content, content)
	}
	if err := s.st.Devices().AddBackup(ctx, &b); err != nil {
		return BackupResult{}, fmt.Errorf("store config backup: %w", err)
	}
	if !first {
		title := fmt.Sprintf("Configuration of %s changed: %d lines added, %d removed", d.Name, b.Added, b.Removed)
		if b.Added == 0 && b.Removed == 0 {
			title = fmt.Sprintf("Configuration of %s changed: secret values only", d.Name)
		}
		if b.ChangedBy != "" {
			title += " (by " + b.ChangedBy + ")"
		}
		s.raise(ctx, d, "config_changed", b.ID, "medium", title, time.Minute)
	}
	return BackupResult{Backup: b, Stored: true, Changed: !first}, nil
}

// fetchSSH fetches a device's configuration over SSH, pinning the host
// key on first use.
func (s *Service) fetchSSH(ctx context.Context, d store.Device, p *backup.Profile) (backup.Config, error) {
	if d.MgmtAddress == "" || d.SSHSecretID == "" || d.SSHUser == "" || p == nil {
		return backup.Config{}, fmt.Errorf("%w: backups need a management address, an SSH user and password, and a backup profile", ErrNotConfigured)
	}
	var pinned ssh.PublicKey
	if d.HostKey != "" {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(d.HostKey))
		if err != nil {
			return backup.Config{}, fmt.Errorf("pinned host key: %w", err)
		}
		pinned = k
	}
	pw, err := s.vault.Open(ctx, d.TenantID, d.SSHSecretID, "config backup of device "+d.AssetID)
	if err != nil {
		return backup.Config{}, fmt.Errorf("ssh credential: %w", err)
	}
	tg := backup.Target{Addr: net.JoinHostPort(d.MgmtAddress, port(d.SSHPort, 22)), User: d.SSHUser, Password: string(pw),
		HostKey: pinned, TOFU: pinned == nil, Timeout: s.opts.BackupTimeout, MaxOutput: MaxConfigBytes}
	return backup.Fetch(ctx, tg, p)
}

// diffText is the changed lines turning a into b, one per line as "+ x"
// or "- x", at most MaxDiffLines, with the counts of added and removed
// lines.
func diffText(a, b string) (string, int, int) {
	var sb strings.Builder
	added, removed, n := 0, 0, 0
	for _, l := range backup.Changes(backup.Diff(a, b)) {
		switch l.Op {
		case backup.Insert:
			added++
		case backup.Delete:
			removed++
		}
		if n < MaxDiffLines {
			sb.WriteString(l.String())
			sb.WriteByte('\n')
			n++
		}
	}
	return sb.String(), added, removed
}

// DiffLine is one line of a stored diff, for display.
type DiffLine struct {
	Op   string // "+" or "-"
	Text string
}

// ParseDiff splits a stored diff into lines.
func ParseDiff(diff string) []DiffLine {
	var out []DiffLine
	for l := range strings.SplitSeq(strings.TrimSuffix(diff, "\n"), "\n") {
		if len(l) < 2 {
			continue
		}
		out = append(out, DiffLine{Op: l[:1], Text: l[2:]})
	}
	return out
}
