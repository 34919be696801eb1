package logs

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// accessParser reads web server access logs in the NCSA common and
// combined formats (Apache's default, nginx's "combined"):
//
//	HOST IDENT USER [dd/Mon/yyyy:HH:MM:SS -0700] "METHOD URI PROTO" STATUS BYTES ["REFERER" "USER-AGENT"]
//
// Extra trailing fields are ignored. Fields are ECS (source.ip,
// http.request.method, url.original, http.response.status_code, …) plus
// the W3C names Sigma webserver rules use (c-ip, cs-method, cs-uri-stem,
// cs-uri-query, sc-status, cs-referer, c-useragent).
type accessParser struct{}

var _ Parser = accessParser{}

// Name implements Parser.
func (accessParser) Name() string { return "access" }

// Sniff implements sniffer.
func (accessParser) Sniff(line []byte) bool {
	return bytes.Contains(line, []byte(" [")) && bytes.Contains(line, []byte(`] "`))
}

// Parse implements Parser.
func (p accessParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	ev := newEvent(p.Name(), line, meta)
	s := ev.Original
	var host, ident, user string
	var ok bool
	if host, s, ok = word(s); !ok {
		return Event{}, errSyntax(p.Name(), "missing host")
	}
	if ident, s, ok = word(s); !ok {
		return Event{}, errSyntax(p.Name(), "missing ident")
	}
	_ = ident
	if !strings.HasPrefix(s, "[") {
		// The user may contain no spaces; the timestamp follows it.
		if user, s, ok = word(s); !ok || !strings.HasPrefix(s, "[") {
			return Event{}, errSyntax(p.Name(), "missing [time]")
		}
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return Event{}, errSyntax(p.Name(), "unterminated [time]")
	}
	t, err := time.Parse("02/Jan/2006:15:04:05 -0700", s[1:end])
	if err != nil {
		return Event{}, errSyntax(p.Name(), "bad time %q", s[1:end])
	}
	ev.Time = t
	s = strings.TrimLeft(s[end+1:], " ")
	req, s, ok := quoted(s)
	if !ok {
		return Event{}, errSyntax(p.Name(), "missing quoted request")
	}
	s = strings.TrimLeft(s, " ")
	var status, size string
	if status, s, ok = word(s); !ok {
		status, s = s, ""
	}
	if _, err := strconv.Atoi(status); err != nil {
		return Event{}, errSyntax(p.Name(), "bad status %q", status)
	}
	size, s, _ = word(s)
	if size == "" {
		size, s = strings.TrimSpace(s), ""
	}
	f := ev.Fields
	if !setIP(f, "source.ip", host) {
		setStr(f, "source.domain", host)
	}
	f["c-ip"] = host
	if user != "-" {
		setStr(f, "user.name", user)
	}
	if parts := strings.Split(req, " "); len(parts) == 3 {
		f["http.request.method"] = parts[0]
		f["cs-method"] = parts[0]
		f["url.original"] = parts[1]
		stem, query, _ := strings.Cut(parts[1], "?")
		f["url.path"] = stem
		f["cs-uri-stem"] = stem
		if query != "" {
			f["url.query"] = query
			f["cs-uri-query"] = query
		}
		f["http.version"] = strings.TrimPrefix(parts[2], "HTTP/")
	} else {
		setStr(f, "url.original", req)
	}
	code, _ := strconv.Atoi(status)
	f["http.response.status_code"] = code
	f["sc-status"] = code
	if n, err := strconv.ParseInt(size, 10, 64); err == nil {
		f["http.response.body.bytes"] = n
	}
	if ref, rest, ok := quoted(strings.TrimLeft(s, " ")); ok {
		if ref != "-" {
			f["http.request.referrer"] = ref
			f["cs-referer"] = ref
		}
		if ua, _, ok := quoted(strings.TrimLeft(rest, " ")); ok && ua != "-" {
			f["user_agent.original"] = ua
			f["c-useragent"] = ua
		}
	}
	f["event.category"] = "web"
	if code >= 400 {
		f["event.outcome"] = "failure"
	} else {
		f["event.outcome"] = "success"
	}
	ev.LogSource = LogSource{Category: "webserver"}
	return ev, nil
}

// word splits off a space-terminated word.
func word(s string) (string, string, bool) {
	sp := strings.IndexByte(s, ' ')
	if sp <= 0 {
		return "", s, false
	}
	return s[:sp], strings.TrimLeft(s[sp+1:], " "), true
}

// quoted reads a double-quoted string with backslash escapes (\" and \\,
// as nginx and Apache write them) at the start of s.
func quoted(s string) (string, string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
			b.WriteByte(s[i+1])
			i++
			continue
		}
		if c == '"' {
			return b.String(), s[i+1:], true
		}
		b.WriteByte(c)
	}
	return "", s, false
}
