package logs

import (
	"bytes"
	"encoding/json"
	"strings"
)

// eveParser reads Suricata EVE JSON. Every EVE key is kept under
// suricata.eve.<dotted key>; the common header and the alert, dns, http,
// flow and tls records are also mapped to ECS (source.*, destination.*,
// network.transport, rule.*, dns.*, url.*, http.*, tls.*).
type eveParser struct{}

var _ Parser = eveParser{}

// Name implements Parser.
func (eveParser) Name() string { return "suricata" }

// Sniff implements sniffer.
func (eveParser) Sniff(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("{")) && bytes.Contains(line, []byte(`"event_type"`))
}

// Parse implements Parser.
func (p eveParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	obj, err := decodeObject(line)
	if err != nil {
		return Event{}, errSyntax(p.Name(), "%v", err)
	}
	typ, _ := obj["event_type"].(string)
	if typ == "" {
		return Event{}, errSyntax(p.Name(), "no event_type")
	}
	ev := newEvent(p.Name(), line, meta)
	f := ev.Fields
	flatten(f, "suricata.eve", obj)
	if t, ok := jsonTime(obj["timestamp"]); ok {
		ev.Time = t
	}
	f["event.module"] = "suricata"
	f["event.dataset"] = "suricata.eve"
	f["event.type"] = typ
	f["event.category"] = "network"
	s := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	n := func(m map[string]any, k string) string {
		if v, ok := m[k].(json.Number); ok {
			return v.String()
		}
		return ""
	}
	setIP(f, "source.ip", s(obj, "src_ip"))
	setIP(f, "destination.ip", s(obj, "dest_ip"))
	setPort(f, "source.port", n(obj, "src_port"))
	setPort(f, "destination.port", n(obj, "dest_port"))
	if pr := s(obj, "proto"); pr != "" {
		f["network.transport"] = protoName(pr)
	}
	setStr(f, "network.protocol", strings.ToLower(s(obj, "app_proto")))
	setStr(f, "observer.hostname", s(obj, "host"))
	sub := func(k string) map[string]any { m, _ := obj[k].(map[string]any); return m }
	if a := sub("alert"); a != nil && typ == "alert" {
		f["event.kind"] = "alert"
		setInt(f, "rule.id", n(a, "signature_id"))
		setStr(f, "rule.name", s(a, "signature"))
		setStr(f, "rule.category", s(a, "category"))
		setInt(f, "event.severity", n(a, "severity"))
		setStr(f, "event.action", s(a, "action"))
		setStr(f, "message", s(a, "signature"))
	}
	if d := sub("dns"); d != nil {
		setStr(f, "dns.type", s(d, "type"))
		setStr(f, "dns.question.name", s(d, "rrname"))
		setStr(f, "dns.question.type", s(d, "rrtype"))
		setStr(f, "dns.response_code", s(d, "rcode"))
		setInt(f, "dns.id", n(d, "id"))
		if qs, ok := d["queries"].([]any); ok && len(qs) > 0 {
			if q, ok := qs[0].(map[string]any); ok {
				setStr(f, "dns.question.name", s(q, "rrname"))
				setStr(f, "dns.question.type", s(q, "rrtype"))
			}
		}
	}
	if h := sub("http"); h != nil {
		setStr(f, "url.domain", s(h, "hostname"))
		setStr(f, "url.original", s(h, "url"))
		setStr(f, "url.path", strings.SplitN(s(h, "url"), "?", 2)[0])
		setStr(f, "http.request.method", s(h, "http_method"))
		setInt(f, "http.response.status_code", n(h, "status"))
		setStr(f, "user_agent.original", s(h, "http_user_agent"))
		setStr(f, "http.request.referrer", s(h, "http_refer"))
		setStr(f, "http.version", strings.TrimPrefix(s(h, "protocol"), "HTTP/"))
		setInt(f, "http.response.body.bytes", n(h, "length"))
	}
	if fl := sub("flow"); fl != nil {
		setInt(f, "source.packets", n(fl, "pkts_toserver"))
		setInt(f, "destination.packets", n(fl, "pkts_toclient"))
		setInt(f, "source.bytes", n(fl, "bytes_toserver"))
		setInt(f, "destination.bytes", n(fl, "bytes_toclient"))
		setStr(f, "event.start", s(fl, "start"))
		setStr(f, "event.end", s(fl, "end"))
	}
	if t := sub("tls"); t != nil {
		setStr(f, "tls.server.subject", s(t, "subject"))
		setStr(f, "tls.server.issuer", s(t, "issuerdn"))
		setStr(f, "tls.client.server_name", s(t, "sni"))
		setStr(f, "tls.server.hash.sha1", strings.ToUpper(strings.ReplaceAll(s(t, "fingerprint"), ":", "")))
		if v := s(t, "version"); v != "" {
			proto, ver, _ := strings.Cut(v, " ")
			f["tls.version_protocol"] = strings.ToLower(proto)
			setStr(f, "tls.version", ver)
		}
		if j, ok := t["ja3"].(map[string]any); ok {
			setStr(f, "tls.client.ja3", s(j, "hash"))
		}
		if j, ok := t["ja3s"].(map[string]any); ok {
			setStr(f, "tls.server.ja3s", s(j, "hash"))
		}
	}
	return ev, nil
}
