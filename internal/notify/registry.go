package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"time"
)

// MaxConfigBytes bounds a channel configuration document.
const MaxConfigBytes = 64 << 10

// ChannelConfig is the stored form of one channel. Settings may be shown to
// users; SecretValues holds the keys, passwords and signing secrets, which the
// caller encrypts at rest (internal/secret) and never shows: use Redacted to
// display a configuration and Secrets to hand the values to the vault.
type ChannelConfig struct {
	// Kind selects the channel implementation: email, wecom, dingtalk,
	// feishu, webhook or sms.
	Kind string `json:"kind"`
	// Name identifies the channel in escalation steps and delivery logs.
	Name string `json:"name"`
	// AllowPrivate lets an administrator point the channel at loopback or
	// private addresses (an internal relay); off by default.
	AllowPrivate bool `json:"allow_private,omitempty"`
	// RatePerMinute overrides the channel kind's default send rate.
	RatePerMinute int `json:"rate_per_minute,omitempty"`
	// Timeout bounds one delivery attempt, as a Go duration ("10s").
	Timeout string `json:"timeout,omitempty"`
	// Settings are the kind-specific, non-secret options.
	Settings json.RawMessage `json:"settings,omitempty"`
	// SecretValues are the kind-specific secrets by name.
	SecretValues map[string]string `json:"secrets,omitempty"`
}

// redactedValue replaces each secret in Redacted output.
const redactedValue = "[redacted]"

// Secrets returns a copy of the secret values by name.
func (c ChannelConfig) Secrets() map[string]string {
	return maps.Clone(c.SecretValues)
}

// Redacted returns a copy of c safe to show or log: every secret value is
// replaced, the names stay so a user sees which secrets are set.
func (c ChannelConfig) Redacted() ChannelConfig {
	out := c
	out.Settings = bytes.Clone(c.Settings)
	if c.SecretValues != nil {
		out.SecretValues = make(map[string]string, len(c.SecretValues))
		for k := range c.SecretValues {
			out.SecretValues[k] = redactedValue
		}
	}
	return out
}

// LogValue keeps secrets out of structured logs.
func (c ChannelConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", c.Kind), slog.String("name", c.Name),
		slog.Bool("allow_private", c.AllowPrivate), slog.Any("secrets", slices.Sorted(maps.Keys(c.SecretValues))))
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ParseChannelConfig decodes and checks one channel configuration. Unknown
// fields are errors, so a misspelt option is never silently ignored.
func ParseChannelConfig(data []byte) (ChannelConfig, error) {
	var c ChannelConfig
	if len(data) > MaxConfigBytes {
		return c, fmt.Errorf("channel config: larger than %d bytes", MaxConfigBytes)
	}
	if err := decodeStrict(data, &c); err != nil {
		return ChannelConfig{}, fmt.Errorf("channel config: %w", err)
	}
	if err := c.check(); err != nil {
		return ChannelConfig{}, fmt.Errorf("channel config: %w", err)
	}
	return c, nil
}

func (c ChannelConfig) check() error {
	switch {
	case c.Kind == "":
		return errors.New("missing kind")
	case !namePattern.MatchString(c.Name):
		return fmt.Errorf("name %q: want 1-64 letters, digits, '.', '_' or '-'", c.Name)
	case c.RatePerMinute < 0 || c.RatePerMinute > 10000:
		return fmt.Errorf("rate_per_minute %d out of range 0-10000", c.RatePerMinute)
	case len(c.SecretValues) > 16:
		return errors.New("more than 16 secrets")
	}
	if _, err := c.timeout(); err != nil {
		return err
	}
	return nil
}

func (c ChannelConfig) timeout() (time.Duration, error) {
	if c.Timeout == "" {
		return defaultHTTPTimeout, nil
	}
	d, err := time.ParseDuration(c.Timeout)
	if err != nil || d <= 0 || d > 5*time.Minute {
		return 0, fmt.Errorf("timeout %q: want a duration between 0 and 5m", c.Timeout)
	}
	return d, nil
}

// decodeStrict decodes one JSON value refusing unknown fields and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// secretsFor returns the secrets of c, refusing names the kind does not know.
func secretsFor(c ChannelConfig, known ...string) (map[string]string, error) {
	for k := range c.SecretValues {
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("unknown secret %q for kind %s (known: %v)", k, c.Kind, known)
		}
	}
	return c.Secrets(), nil
}

// settingsInto decodes the kind-specific settings strictly; absent settings
// leave dst at its zero value.
func settingsInto(c ChannelConfig, dst any) error {
	if len(bytes.TrimSpace(c.Settings)) == 0 {
		return nil
	}
	if err := decodeStrict(c.Settings, dst); err != nil {
		return fmt.Errorf("%s settings: %w", c.Kind, err)
	}
	return nil
}

// Env is what channel constructors may use besides their configuration.
type Env struct {
	// Now returns the current time; signatures and receipts use it.
	Now func() time.Time
	// Logger receives debug output; nil discards.
	Logger *slog.Logger
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Constructor builds a channel from its checked configuration.
type Constructor func(cfg ChannelConfig, env Env) (Channel, error)

// ChannelKind describes one registered channel implementation.
type ChannelKind struct {
	// Name is the value of ChannelConfig.Kind.
	Name string
	// New builds the channel.
	New Constructor
	// RatePerMinute is the default send rate; 0 means unlimited.
	RatePerMinute int
}

// Registry maps channel kind names to constructors.
type Registry struct {
	kinds map[string]ChannelKind
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{kinds: map[string]ChannelKind{}} }

// DefaultRegistry returns a new registry holding the built-in channel kinds.
func DefaultRegistry() *Registry {
	r := NewRegistry()
	for _, k := range []ChannelKind{
		{Name: "email", New: newEmailChannel, RatePerMinute: 60},
		{Name: "wecom", New: newWeComChannel, RatePerMinute: 20},
		{Name: "dingtalk", New: newDingTalkChannel, RatePerMinute: 20},
		{Name: "feishu", New: newFeishuChannel, RatePerMinute: 100},
		{Name: "webhook", New: newWebhookChannel, RatePerMinute: 0},
		{Name: "sms", New: newSMSChannel, RatePerMinute: 30},
	} {
		// The built-in names are distinct; Register cannot fail here.
		_ = r.Register(k)
	}
	return r
}

// Register adds a channel kind; a duplicate name is an error.
func (r *Registry) Register(k ChannelKind) error {
	if k.Name == "" || k.New == nil {
		return errors.New("notify: channel kind needs a name and a constructor")
	}
	if _, dup := r.kinds[k.Name]; dup {
		return fmt.Errorf("notify: channel kind %q already registered", k.Name)
	}
	r.kinds[k.Name] = k
	return nil
}

// Kinds returns the registered kind names, sorted.
func (r *Registry) Kinds() []string { return slices.Sorted(maps.Keys(r.kinds)) }

// Build checks cfg and constructs its channel. It returns the rate limit the
// dispatcher should apply: the config's override or the kind's default.
func (r *Registry) Build(cfg ChannelConfig, env Env) (Channel, RateLimit, error) {
	if err := cfg.check(); err != nil {
		return nil, RateLimit{}, fmt.Errorf("channel %q: %w", cfg.Name, err)
	}
	k, ok := r.kinds[cfg.Kind]
	if !ok {
		return nil, RateLimit{}, fmt.Errorf("channel %q: unknown kind %q (known: %v)", cfg.Name, cfg.Kind, r.Kinds())
	}
	ch, err := k.New(cfg, env)
	if err != nil {
		return nil, RateLimit{}, fmt.Errorf("channel %q: %w", cfg.Name, err)
	}
	rate := k.RatePerMinute
	if cfg.RatePerMinute > 0 {
		rate = cfg.RatePerMinute
	}
	return ch, RateLimit{Count: rate, Per: time.Minute}, nil
}
