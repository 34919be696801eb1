package discovery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/vuln"
)

// Import formats: other scanners' reports and exports of internet search
// engines and passive DNS / certificate transparency services.
const (
	FormatNmap    = "nmap"    // nmap -oX
	FormatMasscan = "masscan" // masscan -oJ, or -oL lists
	FormatNaabu   = "naabu"   // naabu -json
	FormatShodan  = "shodan"  // shodan download / shodan parse JSON lines
	FormatFOFA    = "fofa"    // FOFA CSV or JSON export
	FormatCensys  = "censys"  // Censys hosts JSON
	FormatZoomEye = "zoomeye" // ZoomEye host search JSON
	FormatPDNS    = "pdns"    // passive DNS or crt.sh: name → address
)

// ImportFormats lists the formats ParseImport reads.
var ImportFormats = []string{FormatNmap, FormatMasscan, FormatNaabu, FormatShodan, FormatFOFA, FormatCensys, FormatZoomEye, FormatPDNS}

// Import limits.
const (
	// MaxImportSize bounds the bytes of one imported file.
	MaxImportSize = 64 << 20
	// MaxObservations bounds the observations of one import.
	MaxObservations = 200_000
	// importDetectSize is how much of the head DetectImport looks at.
	importDetectSize = 4096
	maxLineLen       = 1 << 20
)

// Import errors.
var (
	ErrImportFormat   = errors.New("unrecognised import format")
	ErrImportTooLarge = fmt.Errorf("import exceeds %d MiB", MaxImportSize>>20)
	ErrImportTooMany  = fmt.Errorf("import holds more than %d observations", MaxObservations)
)

// ParseImport reads a whole file of the given format ("" detects it from
// name and content) into deduplicated observations. On error it returns
// none: a bad file is refused whole, never half imported.
func ParseImport(ctx context.Context, format, name string, r io.Reader) ([]Sighting, string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportSize+1))
	if err != nil {
		return nil, format, err
	}
	if len(data) > MaxImportSize {
		return nil, format, ErrImportTooLarge
	}
	format = strings.ToLower(strings.TrimSpace(format))
	if format == "" {
		if format = DetectImport(name, data[:min(len(data), importDetectSize)]); format == "" {
			return nil, "", fmt.Errorf("%w: choose one of %s", ErrImportFormat, strings.Join(ImportFormats, ", "))
		}
	}
	var obs []Sighting
	switch format {
	case FormatNmap, FormatNaabu:
		obs, err = readOpenPorts(ctx, format, data)
	case FormatMasscan:
		if t := bytes.TrimLeft(trimBOM(data), " \t\r\n"); len(t) > 0 && t[0] != '[' {
			obs, err = parseMasscanList(ctx, data)
		} else {
			obs, err = readOpenPorts(ctx, format, data)
		}
	case FormatShodan:
		obs, err = parseShodan(ctx, data)
	case FormatFOFA:
		obs, err = parseFOFA(ctx, data)
	case FormatCensys:
		obs, err = parseCensys(ctx, data)
	case FormatZoomEye:
		obs, err = parseZoomEye(ctx, data)
	case FormatPDNS:
		obs, err = parsePDNS(ctx, data)
	default:
		return nil, format, fmt.Errorf("%w %q: choose one of %s", ErrImportFormat, format, strings.Join(ImportFormats, ", "))
	}
	if err != nil {
		return nil, format, err
	}
	kept := obs[:0]
	for _, o := range obs {
		o.Source = format
		if o.normalise() {
			kept = append(kept, o)
		}
	}
	if len(kept) > MaxObservations {
		return nil, format, ErrImportTooMany
	}
	return Dedupe(kept), format, nil
}

func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }

var jsonKeyRE = regexp.MustCompile(`"([A-Za-z_][A-Za-z0-9_-]*)"\s*:`)

// DetectImport names the format of a file from its name and first bytes,
// or "" when it cannot tell.
func DetectImport(name string, head []byte) string {
	head = bytes.TrimLeft(trimBOM(head), " \t\r\n")
	if len(head) == 0 {
		return ""
	}
	switch head[0] {
	case '<':
		if bytes.Contains(head, []byte("<nmaprun")) {
			return FormatNmap
		}
		return ""
	case '[', '{':
		keys := map[string]bool{}
		for _, m := range jsonKeyRE.FindAllSubmatch(head, -1) {
			keys[string(m[1])] = true
		}
		has := func(ks ...string) bool {
			for _, k := range ks {
				if keys[k] {
					return true
				}
			}
			return false
		}
		switch {
		case has("ip_str"):
			return FormatShodan
		case has("portinfo", "matches"):
			return FormatZoomEye
		case has("services") || has("hits"):
			return FormatCensys
		case has("name_value", "rrname"):
			return FormatPDNS
		case head[0] == '[' && keys["ports"] && keys["ip"]:
			return FormatMasscan
		case has("results"), keys["port"] && has("title", "server", "domain", "lastupdatetime"):
			return FormatFOFA
		case keys["port"] && has("ip", "host"):
			return FormatNaabu
		case has(pdnsNameKeys...):
			return FormatPDNS
		}
		return ""
	case '#':
		if bytes.HasPrefix(head, []byte("#masscan")) {
			return FormatMasscan
		}
	}
	line, _, _ := bytes.Cut(head, []byte("\n"))
	if f := strings.Fields(string(line)); len(f) >= 5 && (f[0] == "open" || f[0] == "banner" || f[0] == "closed") {
		return FormatMasscan
	}
	rec, err := csv.NewReader(bytes.NewReader(line)).Read()
	if err != nil || len(rec) < 2 {
		return ""
	}
	cols := headerIndex(rec)
	switch {
	case cols.has("port") && cols.has("ip", "host"):
		return FormatFOFA
	case cols.has(pdnsNameKeys...) && cols.has(pdnsAddrKeys...):
		return FormatPDNS
	}
	if _, err := netip.ParseAddr(strings.TrimSpace(rec[1])); err == nil && cleanHostname(rec[0]) != "" {
		return FormatPDNS
	}
	return ""
}

// readOpenPorts converts the vulnerability importers' port scan reading
// (one parser per format) into observations.
func readOpenPorts(ctx context.Context, format string, data []byte) ([]Sighting, error) {
	ports, err := vuln.ReadOpenPorts(ctx, format, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out := make([]Sighting, 0, len(ports))
	for _, p := range ports {
		o := Sighting{Host: p.IP, Port: uint16(p.Port), Transport: p.Protocol, Service: p.Service, // #nosec G115 -- ReadOpenPorts returns ports 1-65535
			Product: p.Product, Version: p.Version, Banner: strings.TrimSpace(p.Extra + " " + p.Banner),
			Hostnames: p.Hostnames, Seen: p.Seen}
		if p.TLS && o.Service != "" && !strings.Contains(o.Service, "ssl") && !strings.HasSuffix(o.Service, "s") {
			o.Service = "ssl/" + o.Service
		}
		out = append(out, o)
	}
	return out, nil
}

// lineError locates a problem on a line of a text format.
func lineError(format string, n int, err error) error {
	return fmt.Errorf("%s: line %d: %w", format, n, err)
}

func recordError(format string, n int, err error) error {
	return fmt.Errorf("%s: record %d: %w", format, n, err)
}

func lines(data []byte) *bufio.Scanner {
	sc := bufio.NewScanner(bytes.NewReader(trimBOM(data)))
	sc.Buffer(make([]byte, 0, 64<<10), maxLineLen)
	return sc
}

// parseMasscanList reads masscan -oL: "open tcp 80 192.0.2.1 1700000000"
// and "banner tcp 80 192.0.2.1 1700000000 http <banner>" lines, with "#"
// comments.
func parseMasscanList(ctx context.Context, data []byte) ([]Sighting, error) {
	var out []Sighting
	banners := map[string]int{}
	sc := lines(data)
	for n := 1; sc.Scan(); n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " ", 7)
		if len(f) < 5 || (f[0] != "open" && f[0] != "closed" && f[0] != "banner") {
			return nil, lineError(FormatMasscan, n, errors.New(`not a masscan list line: want "open tcp PORT ADDRESS TIME"`))
		}
		port, err := strconv.ParseUint(f[2], 10, 16)
		ip, ierr := netip.ParseAddr(f[3])
		if err != nil || port == 0 || ierr != nil {
			return nil, lineError(FormatMasscan, n, fmt.Errorf("invalid port %q or address %q", f[2], f[3]))
		}
		o := Sighting{Host: ip.String(), Port: uint16(port), Transport: f[1], Seen: unixSeconds(f[4])}
		switch f[0] {
		case "closed":
			continue
		case "banner":
			if len(f) >= 6 {
				o.Service = f[5]
			}
			if len(f) == 7 {
				o.Banner = f[6]
			}
			k := o.key()
			if i, ok := banners[k]; ok {
				out[i].Banner = strings.TrimSpace(out[i].Banner + " " + o.Banner)
				continue
			}
			banners[k] = len(out)
		}
		out = append(out, o)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", FormatMasscan, err)
	}
	return out, nil
}

func unixSeconds(s string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// parseTime reads the time layouts the sources use; the zero time for
// anything else.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return unixSeconds(s)
}

// flex is a JSON scalar read as text: a string, number or boolean.
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(s)
	case b[0] == '{' || b[0] == '[':
		return fmt.Errorf("want a string or number, got %s", b[:1])
	default:
		*f = flex(b)
	}
	return nil
}

func (f flex) port() (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(string(f)), 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q", string(f))
	}
	return uint16(n), nil
}

// flexList is a JSON string, a list of strings or null, read as a list.
type flexList []string

func (l *flexList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var fs []flex
		if err := json.Unmarshal(b, &fs); err != nil {
			return err
		}
		*l = make(flexList, 0, len(fs))
		for _, f := range fs {
			*l = append(*l, string(f))
		}
		return nil
	}
	var f flex
	if err := f.UnmarshalJSON(b); err != nil {
		return err
	}
	*l = nil
	if f != "" {
		*l = flexList{string(f)}
	}
	return nil
}

// jsonValues decodes a JSON array, a stream of values (JSON lines) or a
// single value, calling fn with each top-level record. unwrap, when not
// nil, may replace an object by the records it wraps (an API response).
func jsonValues(ctx context.Context, format string, data []byte, unwrap func(json.RawMessage) ([]json.RawMessage, bool), fn func(n int, raw json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(trimBOM(data)))
	n := 0
	emit := func(raw json.RawMessage) error {
		if unwrap != nil {
			if inner, ok := unwrap(raw); ok {
				for _, r := range inner {
					n++
					if err := fn(n, r); err != nil {
						return recordError(format, n, err)
					}
				}
				return nil
			}
		}
		n++
		if err := fn(n, raw); err != nil {
			return recordError(format, n, err)
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = errors.New("truncated JSON: unexpected end of input")
			}
			return fmt.Errorf("%s: after record %d (byte %d): %w", format, n, dec.InputOffset(), err)
		}
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
			var items []json.RawMessage
			if err := json.Unmarshal(t, &items); err != nil {
				return fmt.Errorf("%s: %w", format, err)
			}
			for _, it := range items {
				if err := emit(it); err != nil {
					return err
				}
			}
			continue
		}
		if err := emit(raw); err != nil {
			return err
		}
	}
	if n == 0 && len(bytes.TrimSpace(data)) > 0 && !bytes.Equal(bytes.TrimSpace(data), []byte("[]")) {
		return fmt.Errorf("%s: no records", format)
	}
	return nil
}

// decodeObject decodes one record, which must be a JSON object.
func decodeObject(raw json.RawMessage, v any) error {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(raw, v)
}

// shodanBanner is one record of `shodan download` / `shodan parse`, by the
// field names of Shodan's banner specification.
type shodanBanner struct {
	IPStr     flex     `json:"ip_str"`
	Port      flex     `json:"port"`
	Transport flex     `json:"transport"`
	Product   flex     `json:"product"`
	Version   flex     `json:"version"`
	Hostnames flexList `json:"hostnames"`
	Domains   flexList `json:"domains"`
	Data      flex     `json:"data"`
	Timestamp flex     `json:"timestamp"`
	HTTP      *struct {
		Title  flex `json:"title"`
		Server flex `json:"server"`
	} `json:"http"`
	SSL *struct {
		Cert struct {
			Subject map[string]flex `json:"subject"`
		} `json:"cert"`
	} `json:"ssl"`
	Location *struct {
		Country flex `json:"country_name"`
		City    flex `json:"city"`
	} `json:"location"`
	Shodan struct {
		Module flex `json:"module"`
	} `json:"_shodan"`
}

func parseShodan(ctx context.Context, data []byte) ([]Sighting, error) {
	var out []Sighting
	err := jsonValues(ctx, FormatShodan, data, nil, func(_ int, raw json.RawMessage) error {
		var b shodanBanner
		if err := decodeObject(raw, &b); err != nil {
			return err
		}
		port, err := b.Port.port()
		if err != nil || b.IPStr == "" {
			return errors.New("not a Shodan banner: want ip_str and port")
		}
		o := Sighting{Host: string(b.IPStr), Port: port, Transport: string(b.Transport), Product: string(b.Product),
			Version: string(b.Version), Banner: string(b.Data), Seen: parseTime(string(b.Timestamp)),
			Hostnames: append(slices.Clone([]string(b.Hostnames)), b.Domains...)}
		o.Service, _, _ = strings.Cut(string(b.Shodan.Module), "-")
		if b.HTTP != nil {
			o.Title = string(b.HTTP.Title)
		}
		if b.SSL != nil {
			if cn := b.SSL.Cert.Subject["CN"]; cn != "" {
				o.TLS = "CN=" + string(cn)
			}
		}
		if l := b.Location; l != nil {
			o.Location = strings.Trim(string(l.Country)+", "+string(l.City), ", ")
		}
		out = append(out, o)
		return nil
	})
	return out, err
}

// fofaFields is the column order of FOFA API result rows: the fields the
// documentation lists first (host, ip, port are the API's default).
var fofaFields = []string{"host", "ip", "port", "protocol", "title", "server", "domain"}

func fofaObservation(get func(string) string) (Sighting, error) {
	port, err := flex(get("port")).port()
	if err != nil {
		return Sighting{}, err
	}
	host := get("host")
	o := Sighting{Host: get("ip"), Port: port, Transport: "tcp", Service: get("protocol"), Title: get("title"),
		Product: first(get("product"), get("server")), Version: get("version"), Seen: parseTime(get("lastupdatetime"))}
	if o.Host == "" {
		return Sighting{}, errors.New("not a FOFA result: want ip and port")
	}
	if c := get("country_name"); c != "" {
		o.Location = strings.Trim(c+", "+get("city"), ", ")
	}
	if s := get("server"); s != "" {
		o.Banner = "Server: " + s
	}
	// host is "name", "name:port" or a URL.
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		host = u.Hostname()
	} else if h, _, ok := strings.Cut(host, ":"); ok && !strings.Contains(host, "::") {
		host = h
	}
	o.Hostnames = []string{host, get("domain")}
	return o, nil
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func parseFOFA(ctx context.Context, data []byte) ([]Sighting, error) {
	t := bytes.TrimLeft(trimBOM(data), " \t\r\n")
	if len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		var out []Sighting
		unwrap := func(raw json.RawMessage) ([]json.RawMessage, bool) {
			var resp struct {
				Error   bool              `json:"error"`
				Results []json.RawMessage `json:"results"`
			}
			if json.Unmarshal(raw, &resp) != nil || resp.Results == nil {
				return nil, false
			}
			return resp.Results, true
		}
		err := jsonValues(ctx, FormatFOFA, data, unwrap, func(_ int, raw json.RawMessage) error {
			var rec map[string]flex
			if r := bytes.TrimSpace(raw); len(r) > 0 && r[0] == '[' {
				var row []flex
				if err := json.Unmarshal(r, &row); err != nil {
					return err
				}
				rec = map[string]flex{}
				for i, v := range row {
					if i < len(fofaFields) {
						rec[fofaFields[i]] = v
					}
				}
			} else if err := decodeObject(raw, &rec); err != nil {
				return err
			}
			o, err := fofaObservation(func(k string) string { return strings.TrimSpace(string(rec[k])) })
			if err != nil {
				return err
			}
			out = append(out, o)
			return nil
		})
		return out, err
	}
	return csvRecords(ctx, FormatFOFA, data, func(cols columns, rec []string) (Sighting, bool, error) {
		o, err := fofaObservation(func(k string) string { return cols.get(rec, k) })
		return o, true, err
	})
}

// columns maps lower-cased CSV header names to their index.
type columns map[string]int

func headerIndex(rec []string) columns {
	c := columns{}
	for i, h := range rec {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := c[h]; !dup {
			c[h] = i
		}
	}
	return c
}

func (c columns) has(names ...string) bool {
	for _, n := range names {
		if _, ok := c[n]; ok {
			return true
		}
	}
	return false
}

func (c columns) get(rec []string, names ...string) string {
	for _, n := range names {
		if i, ok := c[n]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
	}
	return ""
}

// csvRecords reads a CSV file whose first line is a header; fn turns each
// row into an observation (keep false skips it).
func csvRecords(ctx context.Context, format string, data []byte, fn func(columns, []string) (Sighting, bool, error)) ([]Sighting, error) {
	r := csv.NewReader(bytes.NewReader(trimBOM(data)))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	head, err := r.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", format, err)
	}
	cols := headerIndex(head)
	var out []Sighting
	for n := 2; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", format, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		o, keep, err := fn(cols, rec)
		if err != nil {
			return nil, lineError(format, n, err)
		}
		if keep {
			out = append(out, o)
		}
	}
	return out, nil
}

// censysHost is one host of Censys Search 2.0 (a hit of /v2/hosts/search
// or the result of /v2/hosts/{ip}), by its documented field names.
type censysHost struct {
	IP       flex `json:"ip"`
	Services []struct {
		Port                flex `json:"port"`
		ServiceName         flex `json:"service_name"`
		ExtendedServiceName flex `json:"extended_service_name"`
		TransportProtocol   flex `json:"transport_protocol"`
		Banner              flex `json:"banner"`
		ObservedAt          flex `json:"observed_at"`
		Software            []struct {
			Vendor  flex `json:"vendor"`
			Product flex `json:"product"`
			Version flex `json:"version"`
		} `json:"software"`
		HTTP *struct {
			Response struct {
				HTMLTitle flex `json:"html_title"`
			} `json:"response"`
		} `json:"http"`
	} `json:"services"`
	DNS *struct {
		Names      flexList `json:"names"`
		ReverseDNS *struct {
			Names flexList `json:"names"`
		} `json:"reverse_dns"`
	} `json:"dns"`
	Location *struct {
		Country flex `json:"country"`
		City    flex `json:"city"`
	} `json:"location"`
	LastUpdatedAt flex `json:"last_updated_at"`
}

func parseCensys(ctx context.Context, data []byte) ([]Sighting, error) {
	unwrap := func(raw json.RawMessage) ([]json.RawMessage, bool) {
		var resp struct {
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal(raw, &resp) != nil || len(resp.Result) == 0 {
			return nil, false
		}
		var page struct {
			Hits []json.RawMessage `json:"hits"`
		}
		if json.Unmarshal(resp.Result, &page) == nil && page.Hits != nil {
			return page.Hits, true
		}
		return []json.RawMessage{resp.Result}, true
	}
	var out []Sighting
	err := jsonValues(ctx, FormatCensys, data, unwrap, func(_ int, raw json.RawMessage) error {
		var h censysHost
		if err := decodeObject(raw, &h); err != nil {
			return err
		}
		if h.IP == "" {
			return errors.New("not a Censys host: want ip")
		}
		var names []string
		loc := ""
		if h.DNS != nil {
			names = append(names, h.DNS.Names...)
			if h.DNS.ReverseDNS != nil {
				names = append(names, h.DNS.ReverseDNS.Names...)
			}
		}
		if h.Location != nil {
			loc = strings.Trim(string(h.Location.Country)+", "+string(h.Location.City), ", ")
		}
		if len(h.Services) == 0 {
			out = append(out, Sighting{Host: string(h.IP), Hostnames: names, Location: loc, Seen: parseTime(string(h.LastUpdatedAt))})
		}
		for _, s := range h.Services {
			port, err := s.Port.port()
			if err != nil {
				return err
			}
			o := Sighting{Host: string(h.IP), Port: port, Transport: string(s.TransportProtocol),
				Service: first(string(s.ExtendedServiceName), string(s.ServiceName)), Banner: string(s.Banner),
				Hostnames: names, Location: loc, Seen: parseTime(first(string(s.ObservedAt), string(h.LastUpdatedAt)))}
			if strings.EqualFold(o.Service, "unknown") {
				o.Service = ""
			}
			for _, sw := range s.Software {
				if sw.Product != "" {
					o.Product, o.Version = strings.TrimSpace(string(sw.Vendor)+" "+string(sw.Product)), string(sw.Version)
					break
				}
			}
			if s.HTTP != nil {
				o.Title = string(s.HTTP.Response.HTMLTitle)
			}
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// zoomEyeMatch is one match of ZoomEye's host search, by its documented
// field names.
type zoomEyeMatch struct {
	IP       flexList `json:"ip"` // a string, or a list for some records
	RDNS     flexList `json:"rdns"`
	Portinfo *struct {
		Port     flex     `json:"port"`
		Service  flex     `json:"service"`
		App      flex     `json:"app"`
		Version  flex     `json:"version"`
		Banner   flex     `json:"banner"`
		Title    flexList `json:"title"`
		Hostname flex     `json:"hostname"`
		Trans    flex     `json:"transport"`
	} `json:"portinfo"`
	Geoinfo *struct {
		Country struct {
			Names map[string]flex `json:"names"`
		} `json:"country"`
		City struct {
			Names map[string]flex `json:"names"`
		} `json:"city"`
	} `json:"geoinfo"`
	Timestamp flex `json:"timestamp"`
}

func parseZoomEye(ctx context.Context, data []byte) ([]Sighting, error) {
	unwrap := func(raw json.RawMessage) ([]json.RawMessage, bool) {
		var resp struct {
			Matches []json.RawMessage `json:"matches"`
		}
		if json.Unmarshal(raw, &resp) != nil || resp.Matches == nil {
			return nil, false
		}
		return resp.Matches, true
	}
	var out []Sighting
	err := jsonValues(ctx, FormatZoomEye, data, unwrap, func(_ int, raw json.RawMessage) error {
		var m zoomEyeMatch
		if err := decodeObject(raw, &m); err != nil {
			return err
		}
		if len(m.IP) == 0 || m.Portinfo == nil {
			return errors.New("not a ZoomEye match: want ip and portinfo")
		}
		p := m.Portinfo
		port, err := p.Port.port()
		if err != nil {
			return err
		}
		o := Sighting{Host: m.IP[0], Port: port, Transport: string(p.Trans), Service: string(p.Service),
			Product: string(p.App), Version: string(p.Version), Banner: string(p.Banner),
			Hostnames: append(slices.Clone([]string(m.RDNS)), string(p.Hostname)), Seen: parseTime(string(m.Timestamp))}
		if len(p.Title) > 0 {
			o.Title = p.Title[0]
		}
		if g := m.Geoinfo; g != nil {
			o.Location = strings.Trim(string(g.Country.Names["en"])+", "+string(g.City.Names["en"]), ", ")
		}
		out = append(out, o)
		return nil
	})
	return out, err
}

// Passive DNS column and key names: the record's name and its address.
var (
	pdnsNameKeys = []string{"name_value", "rrname", "name", "domain", "hostname", "query", "fqdn", "subdomain"}
	pdnsAddrKeys = []string{"address", "ip", "rdata", "value", "answer", "a"}
)

// pdnsObservations turns one name and its answers into observations: an
// address answer gives the address, any other (a CNAME, or none as in
// certificate transparency) gives the name alone.
func pdnsObservations(names string, answers []string, seen time.Time) []Sighting {
	var out []Sighting
	for _, name := range strings.FieldsFunc(names, func(r rune) bool { return r == '\n' || r == ',' || r == ' ' }) {
		got := false
		for _, a := range answers {
			if ip, err := netip.ParseAddr(strings.TrimSpace(a)); err == nil {
				out = append(out, Sighting{Host: ip.String(), Hostnames: []string{name}, Seen: seen})
				got = true
			}
		}
		if !got {
			out = append(out, Sighting{Hostnames: []string{name}, Seen: seen})
		}
	}
	return out
}

func parsePDNS(ctx context.Context, data []byte) ([]Sighting, error) {
	t := bytes.TrimLeft(trimBOM(data), " \t\r\n")
	if len(t) == 0 {
		return nil, nil
	}
	if t[0] == '[' || t[0] == '{' {
		var out []Sighting
		err := jsonValues(ctx, FormatPDNS, data, nil, func(_ int, raw json.RawMessage) error {
			var rec map[string]json.RawMessage
			if err := decodeObject(raw, &rec); err != nil {
				return err
			}
			str := func(keys ...string) (string, []string) {
				for _, k := range keys {
					if v, ok := rec[k]; ok {
						var l flexList
						if json.Unmarshal(v, &l) == nil && len(l) > 0 {
							return k, l
						}
					}
				}
				return "", nil
			}
			_, names := str(pdnsNameKeys...)
			if len(names) == 0 {
				return errors.New("not a passive DNS record: want a name (name_value, rrname, name, domain)")
			}
			if _, rrtype := str("rrtype", "type"); len(rrtype) > 0 && rrtype[0] != "A" && rrtype[0] != "AAAA" {
				_, answers := str()
				out = append(out, pdnsObservations(names[0], answers, time.Time{})...)
				return nil
			}
			_, answers := str(pdnsAddrKeys...)
			_, when := str("time_last", "last_seen", "entry_timestamp", "timestamp", "not_before")
			var seen time.Time
			if len(when) > 0 {
				seen = parseTime(when[0])
			}
			out = append(out, pdnsObservations(strings.Join(names, "\n"), answers, seen)...)
			return nil
		})
		return out, err
	}
	first, _, _ := bytes.Cut(t, []byte("\n"))
	if rec, err := csv.NewReader(bytes.NewReader(first)).Read(); err == nil && len(rec) >= 2 {
		if _, err := netip.ParseAddr(strings.TrimSpace(rec[1])); err == nil {
			// No header: name,address rows.
			data = append([]byte("name,address\n"), t...)
		}
	}
	var out []Sighting
	_, err := csvRecords(ctx, FormatPDNS, data, func(cols columns, rec []string) (Sighting, bool, error) {
		name := cols.get(rec, pdnsNameKeys...)
		if name == "" {
			return Sighting{}, false, errors.New("no name: want a column named name, domain, hostname or rrname")
		}
		out = append(out, pdnsObservations(name, []string{cols.get(rec, pdnsAddrKeys...)}, parseTime(cols.get(rec, "last_seen", "time_last", "timestamp")))...)
		return Sighting{}, false, nil
	})
	return out, err
}
