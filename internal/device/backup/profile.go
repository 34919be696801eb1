// Package backup fetches security devices' configurations over SSH and
// compares versions.
//
// Vendor knowledge (prompt, pager-off and show-config commands, noise to
// strip, secrets to mask) is data: one embedded YAML file per vendor under
// profiles/. Fetch drives an interactive SSH shell with a pinned host key,
// Mask hides secrets and Diff gives a bounded line diff of two masked texts.
package backup

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed profiles/*.yaml
var embedded embed.FS

// maxProfileSize bounds one profile file.
const maxProfileSize = 64 << 10

// Support says how well a profile is tested against a device transcript.
const (
	SupportFull    = "full"    // replayed from a vendor transcript in tests
	SupportMinimal = "minimal" // best-effort commands, exercised on a synthetic device
)

// MaskText replaces each secret value.
const MaskText = "<masked>"

// Example is a masking example that a profile carries and tests check.
type Example struct {
	In  string `yaml:"in"`
	Out string `yaml:"out"`
}

// Profile describes how to back up one vendor's devices.
type Profile struct {
	Name          string    `yaml:"name"`
	Vendor        string    `yaml:"vendor"`
	Support       string    `yaml:"support"`
	Prompt        string    `yaml:"prompt"`
	PagerOff      []string  `yaml:"pager_off"`
	ShowConfig    string    `yaml:"show_config"`
	Noise         []string  `yaml:"noise"`
	Secrets       []string  `yaml:"secrets"`
	ExamplePrompt string    `yaml:"example_prompt"`
	Examples      []Example `yaml:"examples"`
	// ConfigChanges recognise the device's log lines that say its
	// configuration changed; Traps name its vendor SNMP notifications.
	ConfigChanges []ChangeRule `yaml:"config_changes"`
	Traps         []TrapRule   `yaml:"traps"`

	prompt  *regexp.Regexp
	noise   []*regexp.Regexp
	secrets []*regexp.Regexp
}

// ChangeRule recognises a configuration-change log line: Text is a
// literal every such line holds (what a log search looks for), Match
// finds it, User (optional, one capture group) picks who made the change.
// Examples are checked by tests.
type ChangeRule struct {
	Text     string          `yaml:"text"`
	Match    string          `yaml:"match"`
	User     string          `yaml:"user"`
	Examples []ChangeExample `yaml:"examples"`

	match, user *regexp.Regexp
}

// ChangeExample is a log line and the user a ChangeRule finds in it.
type ChangeExample struct {
	Line string `yaml:"line"`
	User string `yaml:"user"`
}

// TrapRule names a vendor SNMP notification by its OID. Alert raises an
// alert of Severity (low, medium, high) when it arrives; ConfigChange
// means the device's configuration changed, so a backup follows.
type TrapRule struct {
	OID          string `yaml:"oid"`
	Name         string `yaml:"name"`
	Severity     string `yaml:"severity"`
	Alert        bool   `yaml:"alert"`
	ConfigChange bool   `yaml:"config_change"`
}

// MatchChange reports whether line says the configuration changed, and
// who changed it when the rule knows ("" otherwise).
func (p *Profile) MatchChange(line string) (user string, ok bool) {
	for i := range p.ConfigChanges {
		r := &p.ConfigChanges[i]
		if !strings.Contains(line, r.Text) || !r.match.MatchString(line) {
			continue
		}
		if r.user != nil {
			if m := r.user.FindStringSubmatch(line); m != nil {
				// A user name ends at a line break.
				user, _, _ = strings.Cut(m[1], "\n")
				user, _, _ = strings.Cut(user, "\r")
			}
		}
		return user, true
	}
	return "", false
}

var oidRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+){1,127}$`)

func (p *Profile) compileChanges() error {
	for i := range p.ConfigChanges {
		r := &p.ConfigChanges[i]
		var err error
		if r.match, err = regexp.Compile(r.Match); err != nil || r.Match == "" {
			return fmt.Errorf("config_changes[%d].match: %q: %v", i, r.Match, err)
		}
		if len(r.Text) < 3 {
			return fmt.Errorf("config_changes[%d].text: a literal of at least 3 characters every change line holds", i)
		}
		if r.User != "" {
			if r.user, err = regexp.Compile(r.User); err != nil {
				return fmt.Errorf("config_changes[%d].user: %w", i, err)
			}
			if r.user.NumSubexp() != 1 {
				return fmt.Errorf("config_changes[%d].user: needs one capture group around the user", i)
			}
		}
	}
	for i, t := range p.Traps {
		if !oidRE.MatchString(t.OID) || t.Name == "" {
			return fmt.Errorf("traps[%d]: needs a dotted oid and a name", i)
		}
		switch t.Severity {
		case "", "info", "low", "medium", "high":
		default:
			return fmt.Errorf("traps[%d]: severity %q: want info, low, medium or high", i, t.Severity)
		}
	}
	return nil
}

// genericSecrets apply to every profile on top of its own patterns.
var genericSecrets = []string{
	`(?i)\bsnmp-server community (\S+)`,
	`(?i)\bpre-shared-key (?:\d+ |ascii-text |hexadecimal |hex |ENC |cipher |simple |key )?"?([^"\s;]+)"?`,
}

// ParseProfile decodes and compiles one profile.
func ParseProfile(data []byte) (*Profile, error) {
	if len(data) > maxProfileSize {
		return nil, fmt.Errorf("profile is %d bytes, limit %d", len(data), maxProfileSize)
	}
	var p Profile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode profile: %w", err)
	}
	if err := p.compile(); err != nil {
		return nil, fmt.Errorf("profile %q: %w", p.Name, err)
	}
	return &p, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

func (p *Profile) compile() error {
	if !nameRE.MatchString(p.Name) {
		return errors.New("name must be lower-case letters, digits and dashes")
	}
	if p.Support != SupportFull && p.Support != SupportMinimal {
		return fmt.Errorf("support %q: want %q or %q", p.Support, SupportFull, SupportMinimal)
	}
	if strings.TrimSpace(p.ShowConfig) == "" {
		return errors.New("show_config is empty")
	}
	for _, c := range append([]string{p.ShowConfig}, p.PagerOff...) {
		if strings.ContainsAny(c, "\r\n") {
			return fmt.Errorf("command %q holds a line break", c)
		}
	}
	var err error
	if p.Prompt == "" {
		return errors.New("prompt is empty")
	}
	if p.prompt, err = regexp.Compile(p.Prompt); err != nil {
		return fmt.Errorf("prompt: %w", err)
	}
	if p.prompt.MatchString("") {
		return errors.New("prompt matches an empty line")
	}
	for i, s := range p.Noise {
		re, err := regexp.Compile(s)
		if err != nil {
			return fmt.Errorf("noise[%d]: %w", i, err)
		}
		p.noise = append(p.noise, re)
	}
	for i, s := range append(append([]string(nil), p.Secrets...), genericSecrets...) {
		re, err := regexp.Compile(s)
		if err != nil {
			return fmt.Errorf("secrets[%d]: %w", i, err)
		}
		if re.NumSubexp() < 1 {
			return fmt.Errorf("secrets[%d]: needs a capture group around the secret", i)
		}
		p.secrets = append(p.secrets, re)
	}
	if p.ExamplePrompt != "" && !p.prompt.MatchString(p.ExamplePrompt) {
		return fmt.Errorf("prompt does not match example_prompt %q", p.ExamplePrompt)
	}
	return p.compileChanges()
}

// LoadProfiles reads every *.yaml file in fsys's root. Names must be unique.
func LoadProfiles(fsys fs.FS) (map[string]*Profile, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	sort.Strings(names)
	out := make(map[string]*Profile, len(names))
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("read profile %s: %w", n, err)
		}
		p, err := ParseProfile(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if _, dup := out[p.Name]; dup {
			return nil, fmt.Errorf("%s: duplicate profile name %q", n, p.Name)
		}
		out[p.Name] = p
	}
	return out, nil
}

// Builtin returns the embedded vendor profiles by name.
func Builtin() (map[string]*Profile, error) {
	sub, err := fs.Sub(embedded, path.Clean("profiles"))
	if err != nil {
		return nil, fmt.Errorf("embedded profiles: %w", err)
	}
	return LoadProfiles(sub)
}
