package logs

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Parser turns one log record into an Event. Parse must not panic on any
// input and must not keep line after it returns.
type Parser interface {
	// Name is the format's name, as used by --format.
	Name() string
	// Parse decodes one record.
	Parse(line []byte, meta Meta) (Event, error)
}

// sniffer is implemented by parsers the auto chain may pick: Sniff reports
// cheaply whether line looks like the parser's format.
type sniffer interface {
	Sniff(line []byte) bool
}

// ErrUnrecognised is returned by the auto parser when no format claims a
// record.
var ErrUnrecognised = errors.New("no parser recognised the record")

// Registry holds the parsers by name.
type Registry struct {
	parsers []Parser
	byName  map[string]Parser
}

// NewRegistry returns a registry with every built-in parser and "auto".
func NewRegistry() *Registry {
	r := &Registry{byName: map[string]Parser{}}
	for _, p := range []Parser{
		rfc5424Parser{}, rfc3164Parser{}, jsonParser{}, cefParser{}, leefParser{},
		kvParser{}, accessParser{}, eveParser{}, authParser{}, auditdParser{},
		windowsParser{}, netfilterParser{}, zeekParser{},
	} {
		r.parsers = append(r.parsers, p)
		r.byName[p.Name()] = p
	}
	auto := &autoParser{chain: []Parser{
		// Most specific first: a JSON record is EVE or Windows before
		// plain JSON; RFC 5424 (strictly recognised, and reading CEF,
		// LEEF, auth and netfilter payloads itself) before the payload
		// parsers; a BSD-syslog-shaped line is auth or netfilter before
		// generic 3164; key=value is the last resort.
		windowsParser{}, eveParser{}, zeekParser{}, jsonParser{}, rfc5424Parser{},
		cefParser{}, leefParser{}, auditdParser{},
		authParser{}, netfilterParser{}, rfc3164Parser{},
		accessParser{}, kvParser{},
	}}
	r.parsers = append(r.parsers, auto)
	r.byName[auto.Name()] = auto
	return r
}

// Lookup returns the parser with the given name.
func (r *Registry) Lookup(name string) (Parser, error) {
	p, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("unknown log format %q (known: %s)", name, strings.Join(r.Names(), ", "))
	}
	return p, nil
}

// Names lists the registered formats in sorted order.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// autoParser tries each parser whose Sniff accepts the record, in order,
// and returns the first success.
type autoParser struct{ chain []Parser }

var _ Parser = (*autoParser)(nil)

// Name implements Parser.
func (*autoParser) Name() string { return "auto" }

// Parse implements Parser.
func (a *autoParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	var first error
	for _, p := range a.chain {
		if s, ok := p.(sniffer); ok && !s.Sniff(line) {
			continue
		}
		ev, err := p.Parse(line, meta)
		if err == nil {
			return ev, nil
		}
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return Event{}, first
	}
	return Event{}, ErrUnrecognised
}

// trimRecord drops a trailing newline (and CR) and a leading UTF-8 BOM.
func trimRecord(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// setIP stores s under key when it is an IP address; it reports whether it
// did.
func setIP(f map[string]any, key, s string) bool {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	f[key] = a.Unmap().String()
	return true
}

// setPort stores s under key when it is a port number.
func setPort(f map[string]any, key, s string) bool {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil {
		return false
	}
	f[key] = int(n)
	return true
}

// setInt stores s under key when it is a decimal integer, else as text.
func setInt(f map[string]any, key, s string) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		f[key] = n
		return
	}
	if s != "" {
		f[key] = s
	}
}

// setStr stores s under key when it is not empty.
func setStr(f map[string]any, key, s string) {
	if s != "" {
		f[key] = s
	}
}

// setHostOrIP stores an address under ipKey, or a name under nameKey.
func setHostOrIP(f map[string]any, ipKey, nameKey, s string) {
	if s == "" || s == "-" {
		return
	}
	if !setIP(f, ipKey, s) {
		f[nameKey] = s
	}
}

// protoName maps IANA protocol numbers and names to ECS network.transport.
func protoName(s string) string {
	switch strings.ToLower(s) {
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	case "58", "ipv6-icmp", "icmpv6":
		return "ipv6-icmp"
	}
	return strings.ToLower(s)
}

// syntaxError describes why a record is not in a parser's format.
type syntaxError struct {
	format string
	reason string
}

func (e *syntaxError) Error() string { return e.format + ": " + e.reason }

func errSyntax(format, reason string, args ...any) error {
	return &syntaxError{format: format, reason: fmt.Sprintf(reason, args...)}
}
