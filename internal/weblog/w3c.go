package weblog

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// w3cParser reads IIS/W3C extended logs. Every "#Fields:" directive remaps
// the columns of the lines that follow it.
type w3cParser struct {
	fields []string
}

func (p *w3cParser) Parse(line string, rec *Record) error {
	line = strings.TrimRight(line, "\r")
	if strings.HasPrefix(line, "#") {
		if rest, ok := strings.CutPrefix(line, "#Fields:"); ok {
			p.fields = strings.Fields(rest)
		}
		return perr("directive", "W3C directive")
	}
	if p.fields == nil {
		return perr("no-fields", "data line before any #Fields directive")
	}
	vals := strings.Fields(line)
	if len(vals) != len(p.fields) {
		return perr("malformed", "%d values for %d #Fields", len(vals), len(p.fields))
	}
	var date, clock string
	for i, f := range p.fields {
		v := vals[i]
		if v == "-" {
			continue
		}
		switch strings.ToLower(f) {
		case "date":
			date = v
		case "time":
			clock = v
		case "c-ip":
			rec.ClientIP = v
		case "cs-method":
			rec.Method = v
		case "cs-uri-stem":
			rec.Path = v
		case "cs-uri-query":
			rec.Query = v
		case "cs-uri":
			rec.setURI(v)
		case "cs-version":
			rec.Proto = v
		case "sc-status":
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > 999 {
				return perr("bad-status", "status %q", clip(v, 20))
			}
			rec.Status = n
		case "sc-bytes":
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil && n >= 0 {
				rec.Size = n
			}
		case "cs(user-agent)":
			rec.UA = strings.ReplaceAll(v, "+", " ")
		case "cs(referer)":
			rec.Referer = v
		case "cs-host", "cs(host)":
			rec.Host = v
		case "time-taken":
			rec.Duration = parseDur(v, time.Millisecond)
		}
	}
	if rec.URI == "" {
		rec.URI = rec.Path + prefixQ(rec.Query)
	}
	if date != "" && clock != "" {
		tm, err := time.Parse("2006-01-02 15:04:05", date+" "+clock)
		if err != nil {
			return perr("bad-time", "time %q", clip(date+" "+clock, 60))
		}
		rec.Time = tm
	}
	if rec.Status == 0 {
		return perr("bad-status", "no sc-status")
	}
	return nil
}

// jsonParser reads one JSON object per line with the key names nginx
// log_format escape=json configurations commonly use.
type jsonParser struct{}

func (jsonParser) Parse(line string, rec *Record) error {
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return perr("bad-json", "%v", err)
	}
	str := func(keys ...string) string {
		for _, k := range keys {
			switch v := m[k].(type) {
			case string:
				if v != "" && v != "-" {
					return v
				}
			case json.Number:
				return v.String()
			}
		}
		return ""
	}
	rec.ClientIP = str("remote_addr", "client_ip", "clientip", "client", "remote_ip", "ip", "realip_remote_addr")
	if req := str("request"); req != "" {
		rec.setRequest(req)
	}
	if m := str("request_method", "method"); m != "" {
		rec.Method = m
	}
	if u := str("request_uri", "uri", "url"); u != "" && rec.URI == "" {
		rec.setURI(u)
	}
	if p := str("path"); p != "" && rec.URI == "" {
		rec.Path = p
		rec.Query = strings.TrimPrefix(str("args", "query_string", "query"), "?")
		rec.URI = rec.Path + prefixQ(rec.Query)
	}
	if p := str("server_protocol", "protocol"); p != "" {
		rec.Proto = p
	}
	st := str("status", "status_code", "response")
	n, err := strconv.Atoi(st)
	if err != nil || n < 100 || n > 999 {
		return perr("bad-status", "status %q", clip(st, 20))
	}
	rec.Status = n
	if s := str("body_bytes_sent", "bytes_sent", "bytes", "size", "response_size"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			rec.Size = n
		}
	}
	rec.Referer = str("http_referer", "referer", "referrer")
	rec.UA = str("http_user_agent", "user_agent", "useragent", "ua")
	rec.Host = str("host", "http_host", "server_name", "vhost")
	if s := str("request_time", "duration"); s != "" {
		rec.Duration = parseDur(s, time.Second)
	}
	if t := str("time_iso8601", "@timestamp", "timestamp", "time"); t != "" {
		tm, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			tm, err = time.Parse("02/Jan/2006:15:04:05 -0700", t)
		}
		if err != nil {
			return perr("bad-time", "time %q", clip(t, 60))
		}
		rec.Time = tm
	} else if t := str("time_local"); t != "" {
		tm, err := time.Parse("02/Jan/2006:15:04:05 -0700", t)
		if err != nil {
			return perr("bad-time", "time %q", clip(t, 60))
		}
		rec.Time = tm
	}
	if rec.ClientIP == "" {
		return perr("malformed", "no client address key")
	}
	return nil
}

// Detect picks the format of a log from its first lines: W3C by its
// directives, JSON by a leading "{", otherwise the line format that parses
// the most sample lines (more specific formats win ties).
func Detect(sample []string) (string, error) {
	var lines []string
	for _, l := range sample {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "", perr("empty", "no lines to detect the format from")
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "#Fields:") || strings.HasPrefix(l, "#Software:") || strings.HasPrefix(l, "#Version:") {
			return FormatW3C, nil
		}
	}
	if bytes.HasPrefix(bytes.TrimSpace([]byte(lines[0])), []byte("{")) {
		return FormatJSON, nil
	}
	best, bestN := "", 0
	for _, name := range []string{FormatVHostCombined, FormatCombined, FormatCommon, FormatTomcat} {
		p, err := NewParser(name)
		if err != nil {
			return "", err
		}
		n := 0
		for _, l := range lines {
			var r Record
			if p.Parse(l, &r) == nil {
				n++
			}
		}
		if n > bestN {
			best, bestN = name, n
		}
	}
	if bestN*2 < len(lines) {
		return "", perr("unknown-format", "no known format parses most of the first %d lines; give --format", len(lines))
	}
	return best, nil
}
