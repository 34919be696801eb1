package discovery

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// fingerprintsYAML is Vigil's service fingerprint data: the probes sent to
// silent ports and the rules that name a service from its answer.
//
//go:embed fingerprints.yaml
var fingerprintsYAML []byte

// Answer sources that are not probes of fingerprints.yaml.
const (
	answerBanner = "banner" // what the server sent unasked
	answerHTTP   = "http"   // the answer to the HEAD request
)

// Bounds on fingerprint data.
const (
	maxProbes    = 64
	maxRules     = 512
	maxProbeSend = 1024
)

// svcProbe is something to send to a port that stays silent.
type svcProbe struct {
	Name string `yaml:"name"`
	// Send is the payload; every character stands for one byte (Latin-1).
	Send string `yaml:"send"`
	// Ports are where the service usually listens: these ports get the
	// probe first.
	Ports []uint16 `yaml:"ports"`
	// BeforeHTTP sends the probe to every silent port before the HTTP
	// request.
	BeforeHTTP bool `yaml:"before_http"`

	payload []byte
}

// svcRule names a service from an answer.
type svcRule struct {
	Name    string   `yaml:"name"`
	Product string   `yaml:"product"`
	Probes  []string `yaml:"probes"`
	Pattern string   `yaml:"pattern"`
	// Binary: the banner kept is the version, not the answer's bytes.
	Binary bool `yaml:"binary"`

	re                  *regexp.Regexp
	productIdx, versIdx int
}

// fingerprints is the compiled fingerprint data.
type fingerprints struct {
	Probes []*svcProbe `yaml:"probes"`
	Rules  []*svcRule  `yaml:"services"`
}

// parseFingerprints reads and checks fingerprint data.
func parseFingerprints(data []byte) (*fingerprints, error) {
	var fp fingerprints
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&fp); err != nil {
		return nil, fmt.Errorf("discovery: fingerprints: %w", err)
	}
	if len(fp.Probes) > maxProbes || len(fp.Rules) > maxRules {
		return nil, fmt.Errorf("discovery: fingerprints: more than %d probes or %d rules", maxProbes, maxRules)
	}
	names := map[string]bool{answerBanner: true, answerHTTP: true}
	for i, p := range fp.Probes {
		if p == nil || p.Name == "" || names[p.Name] {
			return nil, fmt.Errorf("discovery: fingerprints: probe %d: missing or repeated name", i+1)
		}
		names[p.Name] = true
		b, err := latin1(p.Send)
		if err != nil || len(b) == 0 || len(b) > maxProbeSend {
			return nil, fmt.Errorf("discovery: fingerprints: probe %s: send must be 1 to %d bytes: %v", p.Name, maxProbeSend, err)
		}
		p.payload = b
		if slices.Contains(p.Ports, 0) {
			return nil, fmt.Errorf("discovery: fingerprints: probe %s: port 0", p.Name)
		}
	}
	for i, r := range fp.Rules {
		if r == nil || r.Name == "" || r.Pattern == "" {
			return nil, fmt.Errorf("discovery: fingerprints: rule %d: name and pattern are required", i+1)
		}
		for _, n := range r.Probes {
			if !names[n] {
				return nil, fmt.Errorf("discovery: fingerprints: rule %d (%s): unknown probe %q", i+1, r.Name, n)
			}
		}
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("discovery: fingerprints: rule %d (%s): %w", i+1, r.Name, err)
		}
		r.re, r.productIdx, r.versIdx = re, re.SubexpIndex("product"), re.SubexpIndex("version")
	}
	return &fp, nil
}

// latin1 turns a string whose characters are all below U+0100 into those
// bytes.
func latin1(s string) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, errors.New("a character above \\xff")
		}
		b = append(b, byte(r)) // #nosec G115 -- r is at most 0xff, checked above
	}
	return b, nil
}

// asLatin1 reads bytes as Latin-1 text, one character per byte, so that
// patterns match bytes whatever they are.
func asLatin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// fromLatin1 undoes asLatin1 on a matched group, keeping printable ASCII.
func fromLatin1(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f && r != utf8.RuneError {
			sb.WriteRune(r)
		}
	}
	return bound(sb.String(), maxFieldLen)
}

// forPort returns the probes hinted for port, then the before_http ones,
// then the rest, each probe once.
func (fp *fingerprints) forPort(port uint16) (hinted, beforeHTTP, rest []*svcProbe) {
	for _, p := range fp.Probes {
		switch {
		case slices.Contains(p.Ports, port):
			hinted = append(hinted, p)
		case p.BeforeHTTP:
			beforeHTTP = append(beforeHTTP, p)
		default:
			rest = append(rest, p)
		}
	}
	return hinted, beforeHTTP, rest
}

// identify names the service that answered b to the probe called source.
// ok is false when no rule matched; the service is then "unknown" with
// the answer's first line as its banner.
func (fp *fingerprints) identify(source string, b []byte) (svc *Service, ok bool) {
	first := b
	if i := bytesIndexNL(first); i >= 0 {
		first = first[:i]
	}
	if n := len(first); n > 0 && first[n-1] == '\r' {
		first = first[:n-1]
	}
	svc = &Service{Name: "unknown", Banner: sanitize(first, maxBannerLen)}
	if len(b) == 0 {
		return svc, false
	}
	text := asLatin1(b[:min(len(b), maxRead)])
	for _, r := range fp.Rules {
		if len(r.Probes) > 0 && !slices.Contains(r.Probes, source) {
			continue
		}
		m := r.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		svc.Name, svc.Product = r.Name, r.Product
		if r.productIdx >= 0 && m[r.productIdx] != "" {
			svc.Product = fromLatin1(m[r.productIdx])
		}
		if r.versIdx >= 0 {
			svc.Version = fromLatin1(m[r.versIdx])
		}
		if r.Binary {
			svc.Banner = svc.Version
		}
		if svc.Name == "http" {
			svc.HTTP = parseHTTP(b)
			svc.Product, svc.Version = serverProduct(svc.HTTP.Server)
		}
		return svc, true
	}
	return svc, false
}

func bytesIndexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// serverProduct splits an HTTP Server header like "nginx/1.22.1 (Debian)"
// into product and version.
func serverProduct(server string) (string, string) {
	first, _, _ := strings.Cut(server, " ")
	p, v, _ := strings.Cut(first, "/")
	return p, v
}
