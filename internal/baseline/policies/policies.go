// Package policies owns Vigil's own baseline policies: Wazuh SCA YAML files
// embedded in the binary for Debian/Ubuntu hosts, the OpenSSH server,
// PostgreSQL, MariaDB/MySQL, Redis, nginx, Apache httpd, Tomcat and the
// running configurations of Cisco IOS, Huawei VRP and H3C Comware devices,
// each check carrying MLPS 2.0 (等保2.0) control references.
//
// A policy's directory is its platform: host, database, middleware or
// network. Network policies are evaluated on captured configuration text
// with baseline.EvaluateConfig. A check may carry a "fix" key with a
// hardening snippet (shell commands for hosts, CLI commands for devices);
// the SCA loader ignores the key, Fixes returns it, and nothing in Vigil
// runs it.
package policies

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/baseline"
)

//go:embed host/*.yml database/*.yml middleware/*.yml network/*.yml
var files embed.FS

// Platforms, named after the directories the policies live in.
const (
	PlatformHost       = "host"
	PlatformDatabase   = "database"
	PlatformMiddleware = "middleware"
	PlatformNetwork    = "network"
)

// ErrUnknown is returned by Open and Fixes for a name no policy has.
var ErrUnknown = errors.New("no such built-in policy")

// Info describes one built-in policy.
type Info struct {
	Name     string `json:"name"`     // file name without extension, e.g. "cisco-ios"
	ID       string `json:"id"`       // the policy's SCA id, e.g. "vigil_cisco_ios"
	Title    string `json:"title"`    // the policy's name
	Platform string `json:"platform"` // host, database, middleware or network
	Checks   int    `json:"checks"`
	File     string `json:"file"` // path inside the package, e.g. "network/cisco-ios.yml"
}

// List returns the built-in policies sorted by platform and name. A file
// that does not load is left out (the package tests load every file).
func List() []Info {
	names, _ := fs.Glob(files, "*/*.yml")
	out := make([]Info, 0, len(names))
	for _, f := range names {
		p, err := load(f)
		if err != nil {
			continue
		}
		out = append(out, Info{
			Name: strings.TrimSuffix(path.Base(f), ".yml"), ID: p.ID, Title: p.Name,
			Platform: path.Dir(f), Checks: len(p.Checks), File: f,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Platform != out[j].Platform {
			return out[i].Platform < out[j].Platform
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Open loads the built-in policy with the given name (as in Info.Name) or
// SCA id (as in Info.ID).
func Open(name string) (*baseline.Policy, error) {
	f, err := find(name)
	if err != nil {
		return nil, err
	}
	return load(f)
}

// Fixes returns the hardening snippets of a built-in policy by check id.
// Checks without a fix are absent. The snippets are data for people to
// review and apply; nothing runs them.
func Fixes(name string) (map[string]string, error) {
	f, err := find(name)
	if err != nil {
		return nil, err
	}
	data, err := files.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	return ParseFixes(data)
}

// maxFixBytes bounds one fix snippet.
const maxFixBytes = 64 << 10

// ParseFixes extracts the "fix" keys of an SCA policy document by check
// id. It accepts any policy, built-in or not.
func ParseFixes(data []byte) (map[string]string, error) {
	var doc struct {
		Checks []struct {
			ID  string `yaml:"id"`
			Fix string `yaml:"fix"`
		} `yaml:"checks"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("policies: fixes: %w", err)
	}
	out := make(map[string]string)
	for _, c := range doc.Checks {
		if c.ID == "" || strings.TrimSpace(c.Fix) == "" {
			continue
		}
		if len(c.Fix) > maxFixBytes {
			return nil, fmt.Errorf("policies: fix of check %s is larger than %d bytes", c.ID, maxFixBytes)
		}
		out[c.ID] = c.Fix
	}
	return out, nil
}

func find(name string) (string, error) {
	names, err := fs.Glob(files, "*/*.yml")
	if err != nil {
		return "", fmt.Errorf("policies: %w", err)
	}
	for _, f := range names {
		if strings.TrimSuffix(path.Base(f), ".yml") == name {
			return f, nil
		}
	}
	for _, f := range names {
		p, err := load(f)
		if err == nil && p.ID == name {
			return f, nil
		}
	}
	return "", fmt.Errorf("policies: %q: %w", name, ErrUnknown)
}

func load(f string) (*baseline.Policy, error) {
	data, err := files.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	p, err := baseline.Parse(data, f)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	return p, nil
}

// FS returns the embedded policy files, for callers that load them with
// baseline.LoadDir.
func FS() fs.FS { return files }
