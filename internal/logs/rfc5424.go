package logs

import (
	"strconv"
	"strings"
	"time"
)

// rfc5424Parser reads RFC 5424 syslog:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID PARAM="v"…] MSG
//
// Structured data becomes log.syslog.structured_data.<SD-ID>.<PARAM>; the
// message goes through enrichMessage.
type rfc5424Parser struct{}

var _ Parser = rfc5424Parser{}

// Name implements Parser.
func (rfc5424Parser) Name() string { return "rfc5424" }

// Sniff implements sniffer: a PRI followed by version 1.
func (rfc5424Parser) Sniff(line []byte) bool {
	_, rest, ok := parsePRI(string(line[:min(len(line), 8)]))
	return ok && strings.HasPrefix(rest, "1 ")
}

// Parse implements Parser.
func (p rfc5424Parser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	ev := newEvent(p.Name(), line, meta)
	s := ev.Original
	pri, rest, ok := parsePRI(s)
	if !ok {
		return Event{}, errSyntax(p.Name(), "missing or invalid <PRI>")
	}
	if !strings.HasPrefix(rest, "1 ") {
		return Event{}, errSyntax(p.Name(), "version is not 1")
	}
	rest = rest[2:]
	var hdr [5]string // timestamp, host, app, procid, msgid
	for i := range hdr {
		sp := strings.IndexByte(rest, ' ')
		if sp <= 0 {
			return Event{}, errSyntax(p.Name(), "header field %d missing", i+2)
		}
		hdr[i], rest = rest[:sp], rest[sp+1:]
	}
	f := ev.Fields
	setPRI(f, pri)
	if hdr[0] != "-" {
		t, err := time.Parse(time.RFC3339Nano, hdr[0])
		if err != nil {
			return Event{}, errSyntax(p.Name(), "bad timestamp %q", hdr[0])
		}
		ev.Time = t
	}
	if hdr[1] != "-" {
		setHostOrIP(f, "host.ip", "host.name", hdr[1])
	}
	if hdr[2] != "-" {
		f["process.name"] = hdr[2]
		f["log.syslog.appname"] = hdr[2]
	}
	if hdr[3] != "-" {
		if n, err := strconv.Atoi(hdr[3]); err == nil {
			f["process.pid"] = n
		} else {
			f["log.syslog.procid"] = hdr[3]
		}
	}
	if hdr[4] != "-" {
		f["log.syslog.msgid"] = hdr[4]
	}
	rest, err := parseSD(f, rest)
	if err != nil {
		return Event{}, errSyntax(p.Name(), "structured data: %v", err)
	}
	msg := strings.TrimPrefix(rest, " ")
	msg = strings.TrimPrefix(msg, "\xef\xbb\xbf")
	if msg != "" {
		f["message"] = msg
		enrichMessage(&ev, hdr[2], msg)
	}
	return ev, nil
}

// parseSD reads the STRUCTURED-DATA part ("-" or one or more [ID k="v"])
// into f and returns what follows it.
func parseSD(f map[string]any, s string) (string, error) {
	if strings.HasPrefix(s, "-") {
		return s[1:], nil
	}
	if !strings.HasPrefix(s, "[") {
		return "", errSyntax("rfc5424", "expected '-' or '['")
	}
	for strings.HasPrefix(s, "[") {
		s = s[1:]
		end := strings.IndexAny(s, " ]")
		if end <= 0 {
			return "", errSyntax("rfc5424", "unterminated SD-ID")
		}
		id := s[:end]
		s = s[end:]
		for {
			s = strings.TrimLeft(s, " ")
			if s == "" {
				return "", errSyntax("rfc5424", "unterminated element %q", id)
			}
			if s[0] == ']' {
				s = s[1:]
				break
			}
			eq := strings.Index(s, `="`)
			if eq <= 0 {
				return "", errSyntax("rfc5424", "bad parameter in %q", id)
			}
			name := s[:eq]
			s = s[eq+2:]
			var b strings.Builder
			closed := false
			for i := 0; i < len(s); i++ {
				c := s[i]
				if c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
					b.WriteByte(s[i+1])
					i++
					continue
				}
				if c == '"' {
					s = s[i+1:]
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return "", errSyntax("rfc5424", "unterminated value of %s", name)
			}
			f["log.syslog.structured_data."+id+"."+name] = b.String()
		}
	}
	return s, nil
}
