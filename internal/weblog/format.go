package weblog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Built-in format names accepted by NewParser and returned by Detect.
const (
	FormatCombined      = "combined"
	FormatCommon        = "common"
	FormatVHostCombined = "vhost_combined"
	FormatW3C           = "w3c"
	FormatJSON          = "json"
	FormatTomcat        = "tomcat"
)

// Apache LogFormat strings of the built-in line formats.
const (
	layoutCombined      = `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"`
	layoutCommon        = `%h %l %u %t "%r" %>s %b`
	layoutVHostCombined = `%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"`
	// layoutTomcatTimed is Tomcat's "common" pattern followed by %D
	// (milliseconds), a frequent AccessLogValve configuration.
	layoutTomcatTimed = `%h %l %u %t "%r" %s %b %D`
)

// Formats lists the built-in format names. A custom format is given as an
// Apache LogFormat string (containing "%") or an nginx log_format string
// (containing "$").
func Formats() []string {
	return []string{FormatCombined, FormatCommon, FormatVHostCombined, FormatW3C, FormatJSON, FormatTomcat}
}

// ParseError says why a line was not turned into a Record. Reason is a short
// stable key used for coverage counts.
type ParseError struct {
	Reason string
	Msg    string
}

func (e *ParseError) Error() string { return e.Reason + ": " + e.Msg }

func perr(reason, format string, args ...any) error {
	return &ParseError{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// LineParser turns one line into a Record. Parsers may keep state between
// lines (the W3C #Fields header), so one parser serves one file.
type LineParser interface {
	Parse(line string, rec *Record) error
}

// NewParser returns the parser of a built-in format name or of a custom
// Apache/nginx format string.
func NewParser(format string) (LineParser, error) {
	switch format {
	case FormatCombined:
		return compileApache(layoutCombined)
	case FormatCommon:
		return compileApache(layoutCommon)
	case FormatVHostCombined:
		return compileApache(layoutVHostCombined)
	case FormatTomcat:
		timed, err := compileApache(layoutTomcatTimed)
		if err != nil {
			return nil, err
		}
		plain, err := compileApache(layoutCommon)
		if err != nil {
			return nil, err
		}
		timed.durUnit = time.Millisecond
		return &eitherParser{timed, plain}, nil
	case FormatW3C:
		return &w3cParser{}, nil
	case FormatJSON:
		return jsonParser{}, nil
	}
	switch {
	case strings.Contains(format, "%"):
		return compileApache(format)
	case strings.Contains(format, "$"):
		return compileNginx(format)
	}
	return nil, fmt.Errorf("unknown log format %q (known: %s, or an Apache/nginx format string)", format, strings.Join(Formats(), ", "))
}

// eitherParser tries a then b.
type eitherParser struct{ a, b LineParser }

func (p *eitherParser) Parse(line string, rec *Record) error {
	if err := p.a.Parse(line, rec); err == nil {
		return nil
	}
	*rec = Record{Line: rec.Line}
	return p.b.Parse(line, rec)
}

type fieldKind uint8

const (
	fIgnore fieldKind = iota
	fClient
	fTimeCLF
	fTimeISO
	fTimeEpoch
	fRequest
	fStatus
	fSize
	fReferer
	fUA
	fHost
	fDurMicro
	fDurMilli
	fDurSec
	fMethod
	fURI
	fPath
	fQuery
	fProto
)

// token is a literal (kind ignored, lit set) or a field.
type token struct {
	lit    string
	field  bool
	kind   fieldKind
	quoted bool
}

// template matches lines against a compiled format string.
type template struct {
	toks    []token
	durUnit time.Duration // unit of a %D field (Apache: µs)
}

func (t *template) add(tok token) error {
	if tok.field {
		if n := len(t.toks); n > 0 && t.toks[n-1].field {
			return errors.New("two fields with no separator between them")
		}
		if n := len(t.toks); n > 0 && strings.HasSuffix(t.toks[n-1].lit, `"`) {
			tok.quoted = true
		}
		t.toks = append(t.toks, tok)
		return nil
	}
	if n := len(t.toks); n > 0 && !t.toks[n-1].field {
		t.toks[n-1].lit += tok.lit
		return nil
	}
	t.toks = append(t.toks, tok)
	return nil
}

// compileApache compiles an Apache LogFormat string.
func compileApache(f string) (*template, error) {
	t := &template{durUnit: time.Microsecond}
	for i := 0; i < len(f); {
		c := f[i]
		if c != '%' {
			j := strings.IndexByte(f[i:], '%')
			if j < 0 {
				j = len(f) - i
			}
			if err := t.add(token{lit: f[i : i+j]}); err != nil {
				return nil, err
			}
			i += j
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			_ = t.add(token{lit: "%"})
			i++
			continue
		}
		// Modifiers: <, >, status conditions like !200,304.
		for i < len(f) && strings.IndexByte("<>!0123456789,", f[i]) >= 0 {
			i++
		}
		arg := ""
		if i < len(f) && f[i] == '{' {
			j := strings.IndexByte(f[i:], '}')
			if j < 0 {
				return nil, fmt.Errorf("format %q: unclosed %%{ at offset %d", f, i)
			}
			arg = f[i+1 : i+j]
			i += j + 1
		}
		if i >= len(f) {
			return nil, fmt.Errorf("format %q: dangling %%", f)
		}
		letter := f[i]
		i++
		kind := fIgnore
		switch letter {
		case 'h', 'a':
			kind = fClient
		case 't':
			if arg == "" {
				if err := t.add(token{lit: "["}); err != nil {
					return nil, err
				}
				if err := t.add(token{field: true, kind: fTimeCLF}); err != nil {
					return nil, err
				}
				_ = t.add(token{lit: "]"})
				continue
			}
		case 'r':
			kind = fRequest
		case 's':
			kind = fStatus
		case 'b', 'B', 'O':
			kind = fSize
		case 'i':
			switch strings.ToLower(arg) {
			case "referer", "referrer":
				kind = fReferer
			case "user-agent":
				kind = fUA
			case "host":
				kind = fHost
			}
		case 'D':
			kind = fDurMicro
		case 'T':
			switch arg {
			case "ms":
				kind = fDurMilli
			case "us":
				kind = fDurMicro
			default:
				kind = fDurSec
			}
		case 'v', 'V':
			kind = fHost
		case 'U':
			kind = fPath
		case 'q':
			kind = fQuery
		case 'm':
			kind = fMethod
		case 'H':
			kind = fProto
		}
		if err := t.add(token{field: true, kind: kind}); err != nil {
			return nil, fmt.Errorf("format %q: %w", f, err)
		}
	}
	return t, nil
}

var nginxVars = map[string]fieldKind{
	"remote_addr": fClient, "realip_remote_addr": fClient,
	"time_local": fTimeCLF, "time_iso8601": fTimeISO, "msec": fTimeEpoch,
	"request": fRequest, "status": fStatus,
	"body_bytes_sent": fSize, "bytes_sent": fSize,
	"http_referer": fReferer, "http_user_agent": fUA,
	"host": fHost, "http_host": fHost, "server_name": fHost,
	"request_time": fDurSec, "request_method": fMethod,
	"request_uri": fURI, "uri": fPath, "args": fQuery, "query_string": fQuery,
	"server_protocol": fProto,
}

func isVarChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// compileNginx compiles an nginx log_format string.
func compileNginx(f string) (*template, error) {
	t := &template{durUnit: time.Microsecond}
	for i := 0; i < len(f); {
		if f[i] != '$' {
			j := strings.IndexByte(f[i:], '$')
			if j < 0 {
				j = len(f) - i
			}
			if err := t.add(token{lit: f[i : i+j]}); err != nil {
				return nil, err
			}
			i += j
			continue
		}
		i++
		var name string
		if i < len(f) && f[i] == '{' {
			j := strings.IndexByte(f[i:], '}')
			if j < 0 {
				return nil, fmt.Errorf("format %q: unclosed ${", f)
			}
			name, i = f[i+1:i+j], i+j+1
		} else {
			j := i
			for j < len(f) && isVarChar(f[j]) {
				j++
			}
			name, i = f[i:j], j
		}
		if name == "" {
			return nil, fmt.Errorf("format %q: empty variable name", f)
		}
		if err := t.add(token{field: true, kind: nginxVars[name]}); err != nil {
			return nil, fmt.Errorf("format %q: %w", f, err)
		}
	}
	return t, nil
}

// scanTo finds lit in s, skipping backslash escapes when quoted.
func scanTo(s, lit string, quoted bool) int {
	if !quoted {
		return strings.Index(s, lit)
	}
	for j := 0; j < len(s); j++ {
		if s[j] == '\\' {
			j++
			continue
		}
		if strings.HasPrefix(s[j:], lit) {
			return j
		}
	}
	return -1
}

// Parse implements LineParser.
func (t *template) Parse(line string, rec *Record) error {
	line = strings.TrimRight(line, " \t\r")
	pos := 0
	for i, tok := range t.toks {
		if !tok.field {
			if !strings.HasPrefix(line[pos:], tok.lit) {
				return perr("malformed", "expected %q at column %d", tok.lit, pos+1)
			}
			pos += len(tok.lit)
			continue
		}
		var val string
		if i+1 < len(t.toks) {
			next := t.toks[i+1].lit
			j := scanTo(line[pos:], next, tok.quoted)
			if j < 0 {
				return perr("malformed", "missing %q after column %d", next, pos+1)
			}
			val, pos = line[pos:pos+j], pos+j
		} else {
			val, pos = line[pos:], len(line)
			if !tok.quoted && strings.ContainsAny(val, " \t") {
				return perr("malformed", "unexpected trailing fields at column %d", pos+1)
			}
		}
		if err := t.set(rec, tok, val); err != nil {
			return err
		}
	}
	if pos != len(line) {
		return perr("malformed", "unexpected text at column %d", pos+1)
	}
	if rec.Status == 0 {
		return perr("bad-status", "no status code")
	}
	return nil
}

func (t *template) set(rec *Record, tok token, val string) error {
	if tok.quoted {
		val = unescapeLog(val)
	}
	switch tok.kind {
	case fClient:
		if val == "" || strings.ContainsAny(val, " \"") {
			return perr("malformed", "bad client address %q", clip(val, 60))
		}
		rec.ClientIP = val
	case fTimeCLF:
		tm, err := time.Parse("02/Jan/2006:15:04:05 -0700", val)
		if err != nil {
			return perr("bad-time", "time %q", clip(val, 60))
		}
		rec.Time = tm
	case fTimeISO:
		tm, err := time.Parse(time.RFC3339, val)
		if err != nil {
			return perr("bad-time", "time %q", clip(val, 60))
		}
		rec.Time = tm
	case fTimeEpoch:
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return perr("bad-time", "time %q", clip(val, 60))
		}
		rec.Time = time.UnixMilli(int64(f * 1000)).UTC()
	case fRequest:
		rec.setRequest(val)
	case fStatus:
		n, err := strconv.Atoi(val)
		if err != nil || n < 100 || n > 999 {
			return perr("bad-status", "status %q", clip(val, 20))
		}
		rec.Status = n
	case fSize:
		if val != "-" {
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return perr("malformed", "size %q", clip(val, 20))
			}
			rec.Size = n
		}
	case fReferer:
		rec.Referer = dash(val)
	case fUA:
		rec.UA = dash(val)
	case fHost:
		rec.Host = dash(val)
	case fDurMicro:
		rec.Duration = parseDur(val, t.durUnit)
	case fDurMilli:
		rec.Duration = parseDur(val, time.Millisecond)
	case fDurSec:
		rec.Duration = parseDur(val, time.Second)
	case fMethod:
		rec.Method = val
	case fURI:
		rec.setURI(val)
	case fPath:
		rec.Path = val
		rec.URI = val + prefixQ(rec.Query)
	case fQuery:
		rec.Query = strings.TrimPrefix(dash(val), "?")
		rec.URI = rec.Path + prefixQ(rec.Query)
	case fProto:
		rec.Proto = val
	}
	return nil
}

func prefixQ(q string) string {
	if q == "" {
		return ""
	}
	return "?" + q
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func parseDur(s string, unit time.Duration) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e12 {
		return 0
	}
	return time.Duration(f * float64(unit))
}

// unescapeLog undoes the escaping Apache (\" \\ \xHH) and nginx (\xHH)
// apply to quoted fields.
func unescapeLog(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch n := s[i+1]; n {
		case '"', '\\':
			b.WriteByte(n)
			i++
		case 'x':
			if i+3 < len(s) && ishex(s[i+2]) && ishex(s[i+3]) {
				b.WriteByte(unhex(s[i+2])<<4 | unhex(s[i+3]))
				i += 3
			} else {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func ishex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
