package logs

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// leefParser reads IBM QRadar LEEF 1.0 and 2.0, alone or after a syslog
// header:
//
//	LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v…
//	LEEF:2.0|Vendor|Product|Version|EventID|DELIM|k=vDELIMk=v…
//
// In 2.0 DELIM is one character or its hex code (x09, 0x5E, ^). Attributes
// are kept as leef.attributes.<key>; src, dst, srcPort, dstPort, usrName,
// proto, sev, cat and devTime (with devTimeFormat) map to ECS.
type leefParser struct{}

var _ Parser = leefParser{}

// Name implements Parser.
func (leefParser) Name() string { return "leef" }

// Sniff implements sniffer.
func (leefParser) Sniff(line []byte) bool { return bytes.Contains(line, []byte("LEEF:")) }

// Parse implements Parser.
func (p leefParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	ev := newEvent(p.Name(), line, meta)
	s := ev.Original
	i := strings.Index(s, "LEEF:")
	if i < 0 {
		return Event{}, errSyntax(p.Name(), "no LEEF: header")
	}
	if i > 0 {
		if h, err := parseBSD(s[:i], ev.Received, false); err == nil {
			h.msg = ""
			h.apply(&ev)
		}
	}
	if err := leefFields(ev.Fields, s[i:]); err != nil {
		return Event{}, err
	}
	if t, ok := ev.Fields["@timestamp"].(time.Time); ok {
		ev.Time = t
		delete(ev.Fields, "@timestamp")
	}
	return ev, nil
}

// leefFields decodes a LEEF record (starting at "LEEF:") into f.
func leefFields(f map[string]any, s string) error {
	s = strings.TrimPrefix(s, "LEEF:")
	ver, _, _ := strings.Cut(s, "|")
	n := 5
	if strings.HasPrefix(ver, "2") {
		n = 6
	}
	hdr, attrs, ok := splitHeader(s, n)
	if !ok {
		return errSyntax("leef", "header has %d of %d fields", len(hdr), n)
	}
	delim := "\t"
	if n == 6 {
		d, err := leefDelimiter(hdr[5])
		if err != nil {
			return err
		}
		delim = d
	}
	f["leef.version"] = hdr[0]
	setStr(f, "observer.vendor", hdr[1])
	setStr(f, "observer.product", hdr[2])
	setStr(f, "observer.version", hdr[3])
	setStr(f, "event.code", hdr[4])
	kv := map[string]string{}
	for _, part := range strings.Split(attrs, delim) {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			continue
		}
		k = strings.TrimSpace(k)
		kv[k] = v
		f["leef.attributes."+k] = v
	}
	for k, v := range kv {
		switch k {
		case "src":
			setIP(f, "source.ip", v)
		case "dst":
			setIP(f, "destination.ip", v)
		case "srcPort":
			setPort(f, "source.port", v)
		case "dstPort":
			setPort(f, "destination.port", v)
		case "usrName":
			setStr(f, "user.name", v)
		case "proto":
			setStr(f, "network.transport", protoName(v))
		case "sev":
			if n, err := strconv.Atoi(v); err == nil {
				f["event.severity"] = n
			}
		case "cat":
			setStr(f, "event.category", v)
		case "url":
			setStr(f, "url.original", v)
		case "userAgent":
			setStr(f, "user_agent.original", v)
		case "action":
			setStr(f, "event.action", v)
		case "devTime":
			if t, ok := leefTime(v, kv["devTimeFormat"]); ok {
				f["@timestamp"] = t
			}
		}
	}
	return nil
}

// leefDelimiter decodes LEEF 2.0's delimiter field.
func leefDelimiter(s string) (string, error) {
	switch {
	case s == "":
		return "\t", nil
	case len(s) == 1:
		return s, nil
	default:
		h := strings.ToLower(s)
		h = strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "x")
		n, err := strconv.ParseUint(h, 16, 8)
		if err != nil || n == 0 {
			return "", errSyntax("leef", "bad delimiter %q", s)
		}
		return string(rune(n)), nil
	}
}

// leefTime reads devTime with the Java-style devTimeFormat commonly used
// (MMM dd yyyy HH:mm:ss[.SSS] [z]) or milliseconds since the epoch.
func leefTime(v, format string) (time.Time, bool) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC(), true
	}
	layouts := []string{"Jan 02 2006 15:04:05.000 MST", "Jan 02 2006 15:04:05 MST", "Jan 02 2006 15:04:05.000", "Jan 02 2006 15:04:05", time.RFC3339Nano}
	if format != "" {
		r := strings.NewReplacer("yyyy", "2006", "MMM", "Jan", "dd", "02", "HH", "15", "mm", "04", "ss", "05", "SSS", "000", "z", "MST", "Z", "-0700", "MM", "01")
		layouts = append([]string{r.Replace(format)}, layouts...)
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
