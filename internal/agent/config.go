package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// ConfigSchema names version 1 of the configuration the server pushes to
// enrolled agents.
const ConfigSchema = "vigil.agent.config/v1"

// Bounds of a pushed configuration, checked by Validate on the server
// when it is saved and again on the agent when it arrives.
const (
	MaxConfigBytes    = 64 << 10
	MaxConfigPaths    = 64
	MaxConfigUnits    = 32
	maxConfigPathLen  = 1024
	maxConfigUnitLen  = 256
	DefaultFIMFiles   = 10_000
	MaxFIMFiles       = 200_000
	DefaultFIMBytes   = 32 << 20
	MaxFIMBytes       = 1 << 30
	minHeartbeat      = 5 * time.Second
	maxHeartbeat      = time.Hour
	minInventory      = time.Minute
	maxInventory      = 7 * 24 * time.Hour
	minFIMInterval    = 10 * time.Second
	maxFIMInterval    = 24 * time.Hour
	defaultHeartbeat  = time.Minute
	defaultFIMRescan  = 5 * time.Minute
	defaultJournalCmd = "journalctl"
)

// Duration is a time.Duration written in JSON as text ("90s", "5m").
type Duration time.Duration

// String is the duration as time.Duration writes it.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want text such as \"5m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// RemoteConfig is what the server pushes to an agent on its heartbeat:
// the log files to tail, the journald units to read, the paths under
// file integrity monitoring and the intervals. Zero values mean the
// agent's own setting (its command line) or the default.
type RemoteConfig struct {
	Schema string `json:"schema"`
	// Tail lists log files to follow, added to those of the command line.
	Tail []string `json:"tail,omitempty"`
	// Journald reads the systemd journal.
	Journald JournaldConfig `json:"journald,omitzero"`
	// FIM watches files for changes.
	FIM FIMConfig `json:"fim,omitzero"`
	// Baseline names a policy to run every inventory interval.
	Baseline string `json:"baseline,omitempty"`
	// HeartbeatInterval is how often the agent reports and fetches its
	// configuration (5s to 1h; default 1m).
	HeartbeatInterval Duration `json:"heartbeat_interval,omitempty"`
	// InventoryInterval is how often inventory and baseline are sent
	// (1m to 7 days).
	InventoryInterval Duration `json:"inventory_interval,omitempty"`
}

// JournaldConfig configures the journal reader.
type JournaldConfig struct {
	Enabled bool `json:"enabled,omitempty"`
	// Units limits the journal to these systemd units; empty reads all.
	Units []string `json:"units,omitempty"`
}

// FIMConfig configures file integrity monitoring.
type FIMConfig struct {
	// Paths are files or directories (walked, links not followed).
	Paths []string `json:"paths,omitempty"`
	// Interval between scans (10s to 24h; default 5m).
	Interval Duration `json:"interval,omitempty"`
	// MaxFiles bounds the files watched (default 10,000, at most 200,000).
	MaxFiles int `json:"max_files,omitempty"`
	// MaxFileBytes: larger files are watched by size, mode, owner and
	// time but not hashed (default 32 MiB, at most 1 GiB).
	MaxFileBytes int64 `json:"max_file_bytes,omitempty"`
}

// ParseRemoteConfig decodes and validates a pushed configuration: at most
// MaxConfigBytes, one JSON object with no unknown fields.
func ParseRemoteConfig(b []byte) (RemoteConfig, error) {
	var c RemoteConfig
	if len(b) > MaxConfigBytes {
		return c, fmt.Errorf("agent config: %d bytes, limit %d", len(b), MaxConfigBytes)
	}
	if err := decodeStrict(b, &c); err != nil {
		return c, fmt.Errorf("agent config: %w", err)
	}
	// An empty list is no list, so equal configurations have equal tags.
	for _, l := range []*[]string{&c.Tail, &c.Journald.Units, &c.FIM.Paths} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Validate checks a configuration's schema, paths, unit names, sizes and
// intervals. Paths must be absolute, clean and free of control
// characters.
func (c *RemoteConfig) Validate() error {
	if c.Schema != ConfigSchema {
		return fmt.Errorf("agent config: schema: want %q, got %q", ConfigSchema, clipForError(c.Schema))
	}
	if err := validPaths("tail", c.Tail); err != nil {
		return err
	}
	if err := validPaths("fim.paths", c.FIM.Paths); err != nil {
		return err
	}
	if len(c.Journald.Units) > MaxConfigUnits {
		return fmt.Errorf("agent config: journald.units: %d entries, limit %d", len(c.Journald.Units), MaxConfigUnits)
	}
	for i, u := range c.Journald.Units {
		if !validUnit(u) {
			return fmt.Errorf("agent config: journald.units[%d] %q: not a systemd unit name", i, clipForError(u))
		}
	}
	if c.Baseline != "" && (len(c.Baseline) > maxConfigPathLen || strings.ContainsFunc(c.Baseline, isControl) || strings.HasPrefix(c.Baseline, "-")) {
		return errors.New("agent config: baseline: not a policy name or file")
	}
	if c.FIM.MaxFiles < 0 || c.FIM.MaxFiles > MaxFIMFiles {
		return fmt.Errorf("agent config: fim.max_files %d: out of 0..%d", c.FIM.MaxFiles, MaxFIMFiles)
	}
	if c.FIM.MaxFileBytes < 0 || c.FIM.MaxFileBytes > MaxFIMBytes {
		return fmt.Errorf("agent config: fim.max_file_bytes %d: out of 0..%d", c.FIM.MaxFileBytes, MaxFIMBytes)
	}
	for _, d := range []struct {
		name     string
		v        Duration
		min, max time.Duration
	}{
		{"heartbeat_interval", c.HeartbeatInterval, minHeartbeat, maxHeartbeat},
		{"inventory_interval", c.InventoryInterval, minInventory, maxInventory},
		{"fim.interval", c.FIM.Interval, minFIMInterval, maxFIMInterval},
	} {
		if v := time.Duration(d.v); v != 0 && (v < d.min || v > d.max) {
			return fmt.Errorf("agent config: %s %v: out of %v..%v", d.name, v, d.min, d.max)
		}
	}
	return nil
}

// ETag is a digest of the configuration's canonical JSON: equal
// configurations have equal tags.
func (c *RemoteConfig) ETag() string {
	b, _ := json.Marshal(c) // #nosec G117 -- no secret in the configuration
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// Canonical is the configuration as indented JSON, as the server stores it.
func (c *RemoteConfig) Canonical() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(c)
	return buf.Bytes()
}

func validPaths(field string, ps []string) error {
	if len(ps) > MaxConfigPaths {
		return fmt.Errorf("agent config: %s: %d entries, limit %d", field, len(ps), MaxConfigPaths)
	}
	seen := map[string]bool{}
	for i, p := range ps {
		switch {
		case p == "" || len(p) > maxConfigPathLen || !utf8.ValidString(p) || strings.ContainsFunc(p, isControl):
			return fmt.Errorf("agent config: %s[%d]: empty, too long or with control characters", field, i)
		case !filepath.IsAbs(p) || !strings.HasPrefix(p, "/"):
			return fmt.Errorf("agent config: %s[%d] %q: not an absolute path", field, i, clipForError(p))
		case filepath.Clean(p) != p:
			return fmt.Errorf("agent config: %s[%d] %q: not a clean path", field, i, clipForError(p))
		case seen[p]:
			return fmt.Errorf("agent config: %s[%d] %q: listed twice", field, i, clipForError(p))
		}
		seen[p] = true
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// validUnit accepts systemd unit names: letters, digits and ":-_.\@",
// not starting with "-".
func validUnit(u string) bool {
	if u == "" || len(u) > maxConfigUnitLen || strings.HasPrefix(u, "-") {
		return false
	}
	for _, r := range u {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(":-_.\\@", r):
		default:
			return false
		}
	}
	return true
}
