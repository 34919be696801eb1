package scan

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/vuln"
	"github.com/vigil-sec/vigil/internal/vuln/versions"
)

//go:embed checks/*.yaml
var checksFS embed.FS

// Limits of the check catalogues.
const (
	MaxCatalogueBytes = 1 << 20
	maxChecks         = 2000
	maxPatternLen     = 512
)

// Layers a finding belongs to.
const (
	LayerNetwork       = "network"
	LayerOS            = "os"
	LayerApplication   = "application"
	LayerConfiguration = "configuration"
)

func validLayer(l string) bool {
	return l == LayerNetwork || l == LayerOS || l == LayerApplication || l == LayerConfiguration
}

// HTTPCheck is one exposed-panel or default-page check: a request for Path
// whose answer matches every matcher.
type HTTPCheck struct {
	ID            string            `yaml:"id"`
	Path          string            `yaml:"path"`
	Title         string            `yaml:"title"`
	Severity      string            `yaml:"severity"`
	Layer         string            `yaml:"layer"`
	Status        []int             `yaml:"status"`
	Body          []string          `yaml:"body"`
	Header        map[string]string `yaml:"header"`
	TitleContains string            `yaml:"title_contains"`
	Remediation   string            `yaml:"remediation"`
	Baseline      string            `yaml:"baseline"`
}

// ParseHTTPChecks reads an HTTP check catalogue (YAML, unknown keys
// refused).
func ParseHTTPChecks(data []byte) ([]HTTPCheck, error) {
	var doc struct {
		Checks []HTTPCheck `yaml:"checks"`
	}
	if err := decodeStrict(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Checks) > maxChecks {
		return nil, fmt.Errorf("more than %d checks", maxChecks)
	}
	seen := map[string]bool{}
	for i, c := range doc.Checks {
		where := fmt.Sprintf("checks[%d] (%s)", i, c.ID)
		switch {
		case !validID(c.ID):
			return nil, fmt.Errorf("%s: id must be 1-64 letters, digits, '-', '_' or '.'", where)
		case seen[c.ID]:
			return nil, fmt.Errorf("%s: duplicate id", where)
		case !strings.HasPrefix(c.Path, "/") || len(c.Path) > 1024 || strings.ContainsAny(c.Path, " \r\n\t#"):
			return nil, fmt.Errorf("%s: path must start with / and hold no spaces or fragment", where)
		case c.Title == "":
			return nil, fmt.Errorf("%s: title is required", where)
		case vuln.ParseSeverity(c.Severity) == "":
			return nil, fmt.Errorf("%s: severity %q is not critical, high, medium, low or info", where, c.Severity)
		case !validLayer(c.Layer):
			return nil, fmt.Errorf("%s: layer %q is not network, os, application or configuration", where, c.Layer)
		case len(c.Status) == 0 && len(c.Body) == 0 && len(c.Header) == 0 && c.TitleContains == "":
			return nil, fmt.Errorf("%s: at least one matcher is required", where)
		case c.Remediation == "":
			return nil, fmt.Errorf("%s: remediation is required", where)
		}
		for _, st := range c.Status {
			if st < 100 || st > 599 {
				return nil, fmt.Errorf("%s: status %d is not an HTTP status", where, st)
			}
		}
		seen[c.ID] = true
	}
	return doc.Checks, nil
}

// Product recognises a product and its version in a banner or Server
// header: the first submatch of Pattern is the version.
type Product struct {
	CPE      string `yaml:"cpe"` // vendor:product
	Name     string `yaml:"name"`
	Pattern  string `yaml:"pattern"`
	Baseline string `yaml:"baseline"`
	re       *regexp.Regexp
}

// ProductAdvisory is an advisory on product versions, as CPE-style
// ranges.
type ProductAdvisory struct {
	ID          string            `yaml:"id"`
	CPE         string            `yaml:"cpe"`
	Title       string            `yaml:"title"`
	Severity    string            `yaml:"severity"`
	CVSS        string            `yaml:"cvss"`
	Ranges      []versions.Bounds `yaml:"ranges"`
	Remediation string            `yaml:"remediation"`
}

// Products is a product catalogue.
type Products struct {
	Products   []Product         `yaml:"products"`
	Advisories []ProductAdvisory `yaml:"advisories"`
}

// ParseProducts reads a product catalogue (YAML, unknown keys refused).
func ParseProducts(data []byte) (*Products, error) {
	var p Products
	if err := decodeStrict(data, &p); err != nil {
		return nil, err
	}
	if len(p.Products)+len(p.Advisories) > maxChecks {
		return nil, fmt.Errorf("more than %d entries", maxChecks)
	}
	known := map[string]bool{}
	for i := range p.Products {
		pr := &p.Products[i]
		where := fmt.Sprintf("products[%d] (%s)", i, pr.CPE)
		if !strings.Contains(pr.CPE, ":") || pr.Name == "" {
			return nil, fmt.Errorf("%s: cpe (vendor:product) and name are required", where)
		}
		if len(pr.Pattern) > maxPatternLen {
			return nil, fmt.Errorf("%s: pattern longer than %d bytes", where, maxPatternLen)
		}
		re, err := regexp.Compile(pr.Pattern)
		if err != nil {
			return nil, fmt.Errorf("%s: pattern: %w", where, err)
		}
		if re.NumSubexp() < 1 {
			return nil, fmt.Errorf("%s: pattern must capture the version", where)
		}
		pr.re = re
		known[pr.CPE] = true
	}
	for i, a := range p.Advisories {
		where := fmt.Sprintf("advisories[%d] (%s)", i, a.ID)
		switch {
		case !validID(a.ID):
			return nil, fmt.Errorf("%s: id must be 1-64 letters, digits, '-', '_' or '.'", where)
		case !known[a.CPE]:
			return nil, fmt.Errorf("%s: cpe %q is not a listed product", where, a.CPE)
		case a.Title == "" || a.Remediation == "":
			return nil, fmt.Errorf("%s: title and remediation are required", where)
		case vuln.ParseSeverity(a.Severity) == "":
			return nil, fmt.Errorf("%s: severity %q is not known", where, a.Severity)
		case len(a.Ranges) == 0:
			return nil, fmt.Errorf("%s: at least one range is required", where)
		}
	}
	return &p, nil
}

// Detect returns the products found in a banner or header with their
// versions.
func (p *Products) Detect(text string) []Detected {
	var out []Detected
	for i := range p.Products {
		pr := &p.Products[i]
		if m := pr.re.FindStringSubmatch(text); m != nil && m[1] != "" {
			out = append(out, Detected{Product: pr, Version: strings.TrimRight(m[1], ".")})
		}
	}
	return out
}

// Detected is a product seen with its version.
type Detected struct {
	Product *Product
	Version string
}

// Affecting returns the advisories whose ranges hold the version.
func (p *Products) Affecting(cpe, version string) []ProductAdvisory {
	var out []ProductAdvisory
	for _, a := range p.Advisories {
		if a.CPE != cpe {
			continue
		}
		for _, r := range a.Ranges {
			if ok, err := r.Contains(versions.Generic, version); err == nil && ok {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func decodeStrict(data []byte, v any) error {
	if len(data) > MaxCatalogueBytes {
		return fmt.Errorf("catalogue larger than %d bytes", MaxCatalogueBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty catalogue")
		}
		return err
	}
	return nil
}

// DefaultHTTPChecks returns the embedded HTTP check catalogue.
func DefaultHTTPChecks() ([]HTTPCheck, error) {
	b, err := checksFS.ReadFile("checks/http.yaml")
	if err != nil {
		return nil, err
	}
	return ParseHTTPChecks(b)
}

// DefaultProducts returns the embedded product catalogue.
func DefaultProducts() (*Products, error) {
	b, err := checksFS.ReadFile("checks/products.yaml")
	if err != nil {
		return nil, err
	}
	return ParseProducts(b)
}
