package logs

import (
	"bytes"
	"strings"
)

// zeekParser reads Zeek logs written as JSON lines (LogAscii::use_json or
// a shipper's JSON): conn, dns, http and ssl records, which carry a
// connection uid and its endpoints (id.orig_h...). The fields are kept
// under their Zeek names, as the json parser keeps them, with
// zeek.log set to the log's kind (told from the keys), the event time
// from ts and the ECS endpoint fields (source.ip, source.port,
// destination.ip, destination.port, network.transport) added. The
// traffic analysis of collected events reads these events as Zeek logs.
type zeekParser struct{}

var _ Parser = zeekParser{}

// Name implements Parser.
func (zeekParser) Name() string { return "zeek" }

// Sniff implements sniffer.
func (zeekParser) Sniff(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("{")) &&
		bytes.Contains(line, []byte(`"id.orig_h"`)) && bytes.Contains(line, []byte(`"uid"`))
}

// zeekKind tells a Zeek record's log from the keys it has.
func zeekKind(f map[string]any) string {
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := f[k]; ok {
				return true
			}
		}
		return false
	}
	switch {
	case has("conn_state") || (has("orig_bytes") && has("proto")):
		return "conn"
	case has("query", "qtype", "qtype_name"):
		return "dns"
	case has("method", "uri", "status_code"):
		return "http"
	case has("server_name", "established", "cert_chain_fuids", "cert_chain_fps", "ja3"):
		return "ssl"
	}
	return ""
}

// Parse implements Parser.
func (p zeekParser) Parse(line []byte, meta Meta) (Event, error) {
	ev, err := jsonParser{}.Parse(line, meta)
	if err != nil {
		return Event{}, errSyntax(p.Name(), "%v", err)
	}
	ev.Format = p.Name()
	f := ev.Fields
	if _, ok := f["uid"].(string); !ok {
		return Event{}, errSyntax(p.Name(), "no connection uid")
	}
	kind := zeekKind(f)
	if kind == "" {
		return Event{}, errSyntax(p.Name(), "not a conn, dns, http or ssl record")
	}
	f["zeek.log"] = kind
	text := func(k string) string {
		switch v := f[k].(type) {
		case string:
			return v
		case interface{ String() string }:
			return v.String()
		}
		return ""
	}
	if !setIP(f, "source.ip", text("id.orig_h")) || !setIP(f, "destination.ip", text("id.resp_h")) {
		return Event{}, errSyntax(p.Name(), "id.orig_h and id.resp_h must be addresses")
	}
	setPort(f, "source.port", text("id.orig_p"))
	setPort(f, "destination.port", text("id.resp_p"))
	if proto := strings.ToLower(text("proto")); proto != "" {
		f["network.transport"] = proto
	}
	f["event.category"] = "network"
	return ev, nil
}
