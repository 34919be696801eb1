package logs

import (
	"bytes"
	"encoding/json"
	"path"
	"slices"
	"strings"
	"time"
)

// windowsParser reads a Windows event rendered as JSON in the shape
// {"Event":{"System":{…},"EventData":{…}}} (as evtx tools and the Sigma
// regression data write it). Every System, EventData and UserData leaf
// keeps its Windows name (EventID, Channel, Image, CommandLine, …) because
// Sigma rules use those names; XML attributes become Parent_Attr
// (Provider_Name) and, when free, the bare attribute name. ECS aliases are
// added alongside (event.code, host.name, process.executable, user.name,
// …). EventData given as a list of {"#attributes":{"Name":…},"#text":…}
// items is read as name/value pairs.
type windowsParser struct{}

var _ Parser = windowsParser{}

// Name implements Parser.
func (windowsParser) Name() string { return "windows" }

// Sniff implements sniffer.
func (windowsParser) Sniff(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("{")) && bytes.Contains(line, []byte(`"System"`))
}

// Parse implements Parser.
func (p windowsParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	obj, err := decodeObject(line)
	if err != nil {
		return Event{}, errSyntax(p.Name(), "%v", err)
	}
	root, _ := obj["Event"].(map[string]any)
	if root == nil {
		root = obj
	}
	sys, _ := root["System"].(map[string]any)
	if sys == nil {
		return Event{}, errSyntax(p.Name(), "no Event.System object")
	}
	ev := newEvent(p.Name(), line, meta)
	f := ev.Fields
	w := winWalker{f: f}
	w.walk(sys, "")
	for _, k := range []string{"EventData", "UserData"} {
		if m, ok := root[k].(map[string]any); ok {
			w.walk(dataPairs(m), "")
		}
	}
	w.flushAttrs()
	if st, ok := f["TimeCreated_SystemTime"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, st); err == nil {
			ev.Time = t
		}
	}
	winAliases(f)
	return ev, nil
}

// winWalker flattens a Windows event the way the Sigma engine names
// fields: leaves by name, attributes as Parent_Attr and, last, by name.
type winWalker struct {
	f     map[string]any
	attrs [][2]any
}

func (w *winWalker) walk(m map[string]any, parent string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m[k]
		if k == "#attributes" {
			am, _ := v.(map[string]any)
			for _, ak := range sortedKeysOf(am) {
				if parent != "" {
					w.set(parent+"_"+ak, am[ak])
				}
				w.attrs = append(w.attrs, [2]any{ak, am[ak]})
			}
			continue
		}
		if cm, ok := v.(map[string]any); ok {
			w.walk(cm, k)
			continue
		}
		w.set(k, v)
		if strings.Contains(k, " ") {
			w.set(strings.ReplaceAll(k, " ", ""), v)
		}
	}
}

func (w *winWalker) set(k string, v any) {
	if _, ok := w.f[k]; !ok {
		w.f[k] = v
	}
}

func (w *winWalker) flushAttrs() {
	for _, a := range w.attrs {
		w.set(a[0].(string), a[1])
	}
}

func sortedKeysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// dataPairs turns {"Data":[{"#attributes":{"Name":"X"},"#text":"v"},…]}
// into {"X":"v",…}; other shapes are returned unchanged.
func dataPairs(m map[string]any) map[string]any {
	list, ok := m["Data"].([]any)
	if !ok {
		return m
	}
	out := make(map[string]any, len(m)+len(list))
	for k, v := range m {
		if k != "Data" {
			out[k] = v
		}
	}
	for _, it := range list {
		im, ok := it.(map[string]any)
		if !ok {
			continue
		}
		attrs, _ := im["#attributes"].(map[string]any)
		name, _ := attrs["Name"].(string)
		if name == "" {
			continue
		}
		out[name] = im["#text"]
	}
	return out
}

// winAliases adds ECS names for well-known Windows fields.
func winAliases(f map[string]any) {
	str := func(k string) string {
		switch v := f[k].(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		}
		return ""
	}
	alias := func(ecs string, names ...string) {
		for _, n := range names {
			if v := str(n); v != "" && v != "-" {
				f[ecs] = v
				return
			}
		}
	}
	alias("event.code", "EventID")
	alias("winlog.channel", "Channel")
	alias("winlog.provider_name", "Provider_Name")
	alias("winlog.record_id", "EventRecordID")
	alias("host.name", "Computer")
	alias("process.executable", "Image", "NewProcessName", "ProcessName")
	alias("process.command_line", "CommandLine")
	alias("process.pid", "ProcessId", "NewProcessId")
	alias("process.parent.executable", "ParentImage", "ParentProcessName")
	alias("process.parent.command_line", "ParentCommandLine")
	alias("user.name", "TargetUserName", "User", "SubjectUserName")
	alias("user.domain", "TargetDomainName", "SubjectDomainName")
	alias("source.ip", "IpAddress", "SourceIp", "SourceAddress")
	alias("source.port", "IpPort", "SourcePort")
	alias("destination.ip", "DestinationIp", "DestAddress")
	alias("destination.port", "DestinationPort", "DestPort")
	alias("destination.domain", "DestinationHostname")
	alias("dns.question.name", "QueryName")
	alias("file.path", "TargetFilename")
	alias("registry.path", "TargetObject")
	alias("file.hash.imphash", "Imphash")
	if exe, ok := f["process.executable"].(string); ok {
		f["process.name"] = path.Base(strings.ReplaceAll(exe, `\`, "/"))
	}
	if exe, ok := f["process.parent.executable"].(string); ok {
		f["process.parent.name"] = path.Base(strings.ReplaceAll(exe, `\`, "/"))
	}
	for _, k := range []string{"source.ip", "destination.ip"} {
		if s, ok := f[k].(string); ok {
			delete(f, k)
			setIP(f, k, s)
		}
	}
	for _, k := range []string{"source.port", "destination.port", "process.pid"} {
		if s, ok := f[k].(string); ok {
			delete(f, k)
			setInt(f, k, s)
		}
	}
}
