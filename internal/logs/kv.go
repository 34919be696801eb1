package logs

import (
	"bytes"
	"strings"
	"time"
)

// kvParser reads key=value records (k=v k="quoted value" k='v'), as many
// firewalls and appliances write them. Keys are kept as they are; common
// ones are also mapped to ECS (src/srcip → source.ip, dst → destination.ip,
// sport/dport, user → user.name, action → event.action, msg → message,
// proto → network.transport, date+time or timestamp → the event time).
// A record needs at least two pairs.
type kvParser struct{}

var _ Parser = kvParser{}

// Name implements Parser.
func (kvParser) Name() string { return "kv" }

// Sniff implements sniffer.
func (kvParser) Sniff(line []byte) bool { return bytes.Count(line, []byte("=")) >= 2 }

// Parse implements Parser.
func (p kvParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	ev := newEvent(p.Name(), line, meta)
	pairs, err := splitKV(ev.Original)
	if err != nil {
		return Event{}, errSyntax(p.Name(), "%v", err)
	}
	if len(pairs) < 2 {
		return Event{}, errSyntax(p.Name(), "fewer than two key=value pairs")
	}
	f := ev.Fields
	kv := make(map[string]string, len(pairs))
	for _, pr := range pairs {
		f[pr.k] = pr.v
		kv[strings.ToLower(pr.k)] = pr.v
	}
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := kv[k]; v != "" {
				return v
			}
		}
		return ""
	}
	setIP(f, "source.ip", first("src", "srcip", "src_ip", "source_ip", "client_ip"))
	setIP(f, "destination.ip", first("dst", "dstip", "dst_ip", "dest_ip", "destination_ip"))
	setPort(f, "source.port", first("sport", "srcport", "src_port", "spt"))
	setPort(f, "destination.port", first("dport", "dstport", "dst_port", "dest_port", "dpt"))
	setStr(f, "user.name", first("user", "username", "usrname", "srcuser"))
	setStr(f, "event.action", first("action", "act"))
	setStr(f, "message", first("msg", "message"))
	setStr(f, "host.name", first("devname", "hostname", "host"))
	if pr := first("proto", "protocol"); pr != "" {
		f["network.transport"] = protoName(pr)
	}
	if d, t := kv["date"], kv["time"]; d != "" && t != "" {
		if ts, err := time.Parse("2006-01-02 15:04:05", d+" "+t); err == nil {
			ev.Time = ts
		}
	} else if ts, ok := jsonTime(first("timestamp", "@timestamp", "time")); ok {
		ev.Time = ts
	}
	return ev, nil
}

type kvPair struct{ k, v string }

// splitKV tokenises k=v pairs separated by whitespace; values may be
// double- or single-quoted (with backslash escapes in double quotes).
// Words without '=' are skipped.
func splitKV(s string) ([]kvPair, error) {
	var out []kvPair
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			continue
		}
		key := s[start:i]
		i++
		if key == "" {
			continue
		}
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			q := s[i]
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && q == '"' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == q {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return nil, errSyntax("kv", "unterminated quote in value of %q", key)
			}
			out = append(out, kvPair{key, b.String()})
			continue
		}
		vs := i
		for i < len(s) && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		out = append(out, kvPair{key, s[vs:i]})
	}
	return out, nil
}
