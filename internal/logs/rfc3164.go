package logs

import (
	"strconv"
	"strings"
	"time"
)

// rfc3164Parser reads BSD syslog (RFC 3164) and the same layout as written
// to files by syslog daemons:
//
//	[<PRI>]Mmm dd hh:mm:ss HOST TAG[PID]: MSG
//
// The timestamp may also be RFC 3339 (rsyslog's high-precision template).
// BSD timestamps carry no year or zone: the zone is taken as UTC and the
// year is the receive year, or the previous one when that would put the
// record more than a day in the future (December records read in January).
type rfc3164Parser struct{}

var _ Parser = rfc3164Parser{}

// Name implements Parser.
func (rfc3164Parser) Name() string { return "rfc3164" }

// Sniff implements sniffer.
func (rfc3164Parser) Sniff(line []byte) bool {
	s := string(line[:min(len(line), 48)])
	if _, rest, ok := parsePRI(s); ok {
		return !strings.HasPrefix(rest, "1 ")
	}
	_, _, ok := bsdTime(s, time.Time{})
	return ok
}

// Parse implements Parser.
func (p rfc3164Parser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	ev := newEvent(p.Name(), line, meta)
	h, err := parseBSD(ev.Original, ev.Received, true)
	if err != nil {
		return Event{}, err
	}
	h.apply(&ev)
	enrichMessage(&ev, h.app, h.msg)
	return ev, nil
}

// bsdHeader is a parsed BSD syslog header.
type bsdHeader struct {
	pri              int // -1 when absent
	time             time.Time
	host, app, msg   string
	pid              int
	hasTime, hasProc bool
}

func (h *bsdHeader) apply(ev *Event) {
	f := ev.Fields
	if h.pri >= 0 {
		setPRI(f, h.pri)
	}
	if h.hasTime {
		ev.Time = h.time
	}
	setHostOrIP(f, "host.ip", "host.name", h.host)
	if h.app != "" {
		f["process.name"] = h.app
		f["log.syslog.appname"] = h.app
	}
	if h.hasProc {
		f["process.pid"] = h.pid
	}
	setStr(f, "message", h.msg)
}

// parseBSD splits a BSD syslog line. needTime makes a missing timestamp an
// error (the rfc3164 format); parsers that only use the header when
// present pass false.
func parseBSD(s string, rcv time.Time, needTime bool) (bsdHeader, error) {
	h := bsdHeader{pri: -1}
	if pri, rest, ok := parsePRI(s); ok {
		h.pri, s = pri, rest
	}
	t, rest, ok := bsdTime(s, rcv)
	if !ok {
		if needTime {
			return h, errSyntax("rfc3164", "no timestamp")
		}
		h.msg = s
		return h, nil
	}
	h.time, h.hasTime, s = t, true, strings.TrimLeft(rest, " ")
	// HOST, unless the next word is already the tag ("app:").
	if sp := strings.IndexByte(s, ' '); sp > 0 && !strings.HasSuffix(s[:sp], ":") {
		h.host, s = s[:sp], s[sp+1:]
	}
	// TAG[PID]: — the tag is at most 48 printable characters.
	end := strings.IndexAny(s[:min(len(s), 64)], "[: ")
	if end > 0 && isTag(s[:end]) {
		app, rest := s[:end], s[end:]
		if strings.HasPrefix(rest, "[") {
			if cl := strings.Index(rest, "]"); cl > 0 {
				if n, err := strconv.Atoi(rest[1:cl]); err == nil {
					h.pid, h.hasProc = n, true
					rest = rest[cl+1:]
				}
			}
		}
		if strings.HasPrefix(rest, ":") {
			h.app = app
			s = strings.TrimPrefix(rest[1:], " ")
		}
	}
	h.msg = s
	return h, nil
}

func isTag(s string) bool {
	if len(s) > 48 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == ':' || c == '[' || c == ']' {
			return false
		}
	}
	return true
}

// bsdTime reads "Mmm dd hh:mm:ss" (day space- or zero-padded, optional
// fractional seconds) or an RFC 3339 timestamp at the start of s.
func bsdTime(s string, rcv time.Time) (time.Time, string, bool) {
	if len(s) >= 19 && s[4] == '-' && s[10] == 'T' {
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		if t, err := time.Parse(time.RFC3339Nano, s[:end]); err == nil {
			return t, s[end:], true
		}
		return time.Time{}, s, false
	}
	if len(s) < 15 || s[3] != ' ' || s[9] != ':' || s[12] != ':' {
		return time.Time{}, s, false
	}
	end := 15
	if end < len(s) && s[end] == '.' {
		end++
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
	}
	if rcv.IsZero() {
		rcv = time.Now().UTC()
	}
	year := rcv.Year()
	stamp := strings.Replace(s[:end], "  ", " 0", 1)
	t, err := time.Parse("Jan 02 15:04:05.999999999 2006", stamp+" "+strconv.Itoa(year))
	if err != nil {
		return time.Time{}, s, false
	}
	if t.After(rcv.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t, s[end:], true
}
