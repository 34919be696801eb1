package logs

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// cefParser reads ArcSight Common Event Format, alone or after a syslog
// header:
//
//	CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|k=v k=v …
//
// Header fields go to observer.*, event.code, message and event.severity;
// every extension is kept as cef.extensions.<key> and the well-known ones
// (src, dst, spt, dpt, suser, duser, act, request, outcome, rt, …) are
// mapped to ECS. The escapes \| \\ (header) and \= \\ \n \r (extension)
// are decoded.
type cefParser struct{}

var _ Parser = cefParser{}

// Name implements Parser.
func (cefParser) Name() string { return "cef" }

// Sniff implements sniffer.
func (cefParser) Sniff(line []byte) bool { return bytes.Contains(line, []byte("CEF:")) }

// Parse implements Parser.
func (p cefParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	ev := newEvent(p.Name(), line, meta)
	s := ev.Original
	i := strings.Index(s, "CEF:")
	if i < 0 {
		return Event{}, errSyntax(p.Name(), "no CEF: header")
	}
	if i > 0 {
		if h, err := parseBSD(s[:i], ev.Received, false); err == nil {
			h.msg = ""
			h.apply(&ev)
		}
	}
	if err := cefFields(ev.Fields, s[i:]); err != nil {
		return Event{}, err
	}
	if t, ok := ev.Fields["@timestamp"].(time.Time); ok {
		ev.Time = t
		delete(ev.Fields, "@timestamp")
	}
	return ev, nil
}

// splitHeader splits n pipe-separated header fields off s, decoding \| and
// \\, and returns them and the rest.
func splitHeader(s string, n int) ([]string, string, bool) {
	out := make([]string, 0, n)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == '|' || s[i+1] == '\\') {
			b.WriteByte(s[i+1])
			i++
			continue
		}
		if c == '|' {
			out = append(out, b.String())
			b.Reset()
			if len(out) == n {
				return out, s[i+1:], true
			}
			continue
		}
		b.WriteByte(c)
	}
	return out, "", false
}

// cefFields decodes a CEF record (starting at "CEF:") into f. A parsed
// rt/end/start timestamp is left under "@timestamp" as a time.Time.
func cefFields(f map[string]any, s string) error {
	hdr, ext, ok := splitHeader(strings.TrimPrefix(s, "CEF:"), 7)
	if !ok {
		// Severity may be the last field when there is no extension.
		if len(hdr) == 6 {
			hdr = append(hdr, "")
		} else {
			return errSyntax("cef", "header has %d of 7 fields", len(hdr))
		}
	}
	f["cef.version"] = hdr[0]
	setStr(f, "observer.vendor", hdr[1])
	setStr(f, "observer.product", hdr[2])
	setStr(f, "observer.version", hdr[3])
	setStr(f, "event.code", hdr[4])
	setStr(f, "message", hdr[5])
	if sev := cefSeverity(hdr[6]); sev >= 0 {
		f["event.severity"] = sev
	}
	for k, v := range cefExtension(ext) {
		f["cef.extensions."+k] = v
		cefMap(f, k, v)
	}
	return nil
}

// cefSeverity reads 0-10 or Low/Medium/High/Very-High; -1 if neither.
func cefSeverity(s string) int {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 && n <= 10 {
		return n
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "low":
		return 3
	case "medium":
		return 6
	case "high":
		return 8
	case "very-high":
		return 10
	}
	return -1
}

// cefExtension splits "k=v k=v" where values may hold spaces: a value
// runs until the last space before the next unescaped key=.
func cefExtension(s string) map[string]string {
	out := map[string]string{}
	type kv struct{ kStart, kEnd, vStart int }
	var keys []kv
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] != '=' {
			continue
		}
		j := i
		for j > 0 && isKeyByte(s[j-1]) {
			j--
		}
		if j == i || (j > 0 && s[j-1] != ' ') {
			continue
		}
		keys = append(keys, kv{j, i, i + 1})
	}
	for n, k := range keys {
		end := len(s)
		if n+1 < len(keys) {
			end = keys[n+1].kStart
		}
		v := strings.TrimRight(s[k.vStart:end], " ")
		out[s[k.kStart:k.kEnd]] = cefUnescape(v)
	}
	return out
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func cefUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cefMap maps one well-known CEF extension key to ECS.
func cefMap(f map[string]any, k, v string) {
	switch k {
	case "src":
		setIP(f, "source.ip", v)
	case "dst":
		setIP(f, "destination.ip", v)
	case "spt":
		setPort(f, "source.port", v)
	case "dpt":
		setPort(f, "destination.port", v)
	case "shost":
		setStr(f, "source.domain", v)
	case "dhost":
		setStr(f, "destination.domain", v)
	case "suser":
		setStr(f, "source.user.name", v)
		setStr(f, "user.name", v)
	case "duser":
		setStr(f, "destination.user.name", v)
	case "proto":
		setStr(f, "network.transport", protoName(v))
	case "act":
		setStr(f, "event.action", v)
	case "outcome":
		setStr(f, "event.outcome", strings.ToLower(v))
	case "request":
		setStr(f, "url.original", v)
	case "requestMethod":
		setStr(f, "http.request.method", v)
	case "requestClientApplication":
		setStr(f, "user_agent.original", v)
	case "msg":
		setStr(f, "message", v)
	case "sproc":
		setStr(f, "process.name", v)
	case "dvchost":
		setStr(f, "observer.hostname", v)
	case "dvc":
		setIP(f, "observer.ip", v)
	case "fname":
		setStr(f, "file.name", v)
	case "filePath":
		setStr(f, "file.path", v)
	case "cat":
		setStr(f, "event.category", v)
	case "rt", "end":
		if t, ok := cefTime(v); ok {
			if _, set := f["@timestamp"]; !set || k == "rt" {
				f["@timestamp"] = t
			}
		}
	}
}

// cefTime reads milliseconds since the epoch or "MMM dd yyyy HH:mm:ss".
func cefTime(v string) (time.Time, bool) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC(), true
	}
	for _, layout := range []string{"Jan 02 2006 15:04:05.000", "Jan 02 2006 15:04:05", "Jan 02 2006 15:04:05.000 MST", "Jan 02 2006 15:04:05 MST"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
