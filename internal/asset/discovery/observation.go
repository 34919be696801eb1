package discovery

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sighting is one thing a source saw of a host: an open port with
// what answered on it, or (Port 0) only that a name points at an
// address. Imports of other scanners' reports and of internet search
// engine exports all become observations, so what outsiders see of a
// tenant lands in the same list as Vigil's own scans.
type Sighting struct {
	Host      string    `json:"host,omitempty"` // IP address; "" for a name seen without one
	Port      uint16    `json:"port,omitempty"`
	Transport string    `json:"transport,omitempty"` // tcp, udp
	Service   string    `json:"service,omitempty"`
	Product   string    `json:"product,omitempty"`
	Version   string    `json:"version,omitempty"`
	Banner    string    `json:"banner,omitempty"`
	Title     string    `json:"title,omitempty"` // HTTP page title
	TLS       string    `json:"tls,omitempty"`   // certificate subject
	Hostnames []string  `json:"hostnames,omitempty"`
	Location  string    `json:"location,omitempty"` // country and city, when the source says
	Source    string    `json:"source"`             // format name; several joined by "," after Dedupe
	Seen      time.Time `json:"seen,omitzero"`
	// Known is set by the inventory merge: the inventory already listed
	// this port on this host (Vigil's own scan or an earlier import saw it).
	Known bool `json:"known,omitempty"`
}

// Bounds of one observation's fields.
const (
	maxObsField    = 256
	maxObsBanner   = 1024
	maxObsNames    = 32
	maxHostnameLen = 253
)

// Addr is the observation's address, invalid when it has none.
func (o Sighting) Addr() netip.Addr {
	a, _ := netip.ParseAddr(o.Host)
	return a
}

// key identifies what an observation is about for deduplication.
func (o Sighting) key() string {
	if o.Port == 0 {
		return o.Host + "|0|" + strings.Join(o.Hostnames, ",")
	}
	return o.Host + "|" + strconv.Itoa(int(o.Port)) + "|" + o.Transport
}

// cleanText keeps valid UTF-8 without control characters (each becomes a
// space; invalid bytes become U+FFFD) and bounds it to n bytes on a rune
// boundary, so a hostile banner is stored inert and bounded.
func cleanText(s string, n int) string {
	if len(s) > 4*n {
		s = s[:4*n]
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// cleanHostname lowercases a DNS name, drops a trailing dot and a leading
// wildcard label, and returns "" for anything that is not a host name.
func cleanHostname(s string) string {
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > maxHostnameLen || !validHostname(s) {
		return ""
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return ""
	}
	return s
}

// normalise cleans every field; ok is false for an observation that says
// nothing usable (no valid address and no name).
func (o *Sighting) normalise() bool {
	if h := strings.Trim(strings.TrimSpace(o.Host), "[]"); h != "" {
		a, err := netip.ParseAddr(h)
		if err != nil {
			// A host name where an address belongs is a name.
			o.Hostnames = append(o.Hostnames, h)
			o.Host = ""
		} else {
			o.Host = a.Unmap().WithZone("").String()
		}
	}
	o.Transport = strings.ToLower(strings.TrimSpace(o.Transport))
	if o.Port != 0 && o.Transport == "" {
		o.Transport = "tcp"
	}
	if o.Port == 0 {
		o.Transport = ""
	}
	o.Transport = cleanText(o.Transport, 8)
	o.Service = strings.ToLower(cleanText(o.Service, maxObsField))
	o.Product = cleanText(o.Product, maxObsField)
	o.Version = cleanText(o.Version, maxObsField)
	o.Banner = cleanText(o.Banner, maxObsBanner)
	o.Title = cleanText(o.Title, maxObsField)
	o.TLS = cleanText(o.TLS, maxObsField)
	o.Location = cleanText(o.Location, maxObsField)
	o.Source = cleanText(o.Source, maxObsField)
	names := make([]string, 0, len(o.Hostnames))
	for _, n := range o.Hostnames {
		if n = cleanHostname(n); n != "" && !slices.Contains(names, n) && len(names) < maxObsNames {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	o.Hostnames = names
	if len(o.Hostnames) == 0 {
		o.Hostnames = nil
	}
	if !o.Seen.IsZero() {
		o.Seen = o.Seen.UTC().Truncate(time.Second)
	}
	return o.Host != "" || len(o.Hostnames) > 0
}

// Dedupe merges observations of the same host, port and transport (for a
// name-only observation: the same address and names): names and sources
// are united, the latest Seen is kept, and empty fields are filled from
// the others. The result is sorted by address, port and names.
func Dedupe(obs []Sighting) []Sighting {
	idx := map[string]int{}
	out := make([]Sighting, 0, len(obs))
	for _, o := range obs {
		k := o.key()
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, o)
			continue
		}
		m := &out[i]
		for _, f := range []struct {
			dst *string
			src string
		}{{&m.Service, o.Service}, {&m.Product, o.Product},
			{&m.Version, o.Version}, {&m.Banner, o.Banner}, {&m.Title, o.Title}, {&m.TLS, o.TLS}, {&m.Location, o.Location}} {
			if *f.dst == "" {
				*f.dst = f.src
			}
		}
		for _, n := range o.Hostnames {
			if !slices.Contains(m.Hostnames, n) && len(m.Hostnames) < maxObsNames {
				m.Hostnames = append(m.Hostnames, n)
			}
		}
		slices.Sort(m.Hostnames)
		srcs := strings.Split(m.Source, ",")
		for _, s := range strings.Split(o.Source, ",") {
			if s != "" && !slices.Contains(srcs, s) {
				srcs = append(srcs, s)
			}
		}
		slices.Sort(srcs)
		m.Source = strings.Join(slices.DeleteFunc(srcs, func(s string) bool { return s == "" }), ",")
		if o.Seen.After(m.Seen) {
			m.Seen = o.Seen
		}
		m.Known = m.Known || o.Known
	}
	slices.SortFunc(out, CompareObservations)
	return out
}

// CompareObservations orders by address (numerically; name-only last),
// port, transport and names.
func CompareObservations(a, b Sighting) int {
	aa, ba := a.Addr(), b.Addr()
	switch {
	case aa.IsValid() && !ba.IsValid():
		return -1
	case !aa.IsValid() && ba.IsValid():
		return 1
	}
	if c := aa.Compare(ba); c != 0 {
		return c
	}
	if a.Port != b.Port {
		return int(a.Port) - int(b.Port)
	}
	if c := strings.Compare(a.Transport, b.Transport); c != 0 {
		return c
	}
	return slices.Compare(a.Hostnames, b.Hostnames)
}
