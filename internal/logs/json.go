package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// jsonParser reads one JSON object per record. Nested objects are
// flattened to dotted names (a.b.c), arrays are kept; a few common names
// are mapped to the schema: @timestamp, timestamp, time or ts (RFC 3339 or
// Unix seconds) → the event time; msg → message; level → log.level; a
// string host → host.name.
type jsonParser struct{}

var _ Parser = jsonParser{}

// Name implements Parser.
func (jsonParser) Name() string { return "json" }

// Sniff implements sniffer.
func (jsonParser) Sniff(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("{"))
}

// Parse implements Parser.
func (p jsonParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	obj, err := decodeObject(line)
	if err != nil {
		return Event{}, errSyntax(p.Name(), "%v", err)
	}
	ev := newEvent(p.Name(), line, meta)
	flatten(ev.Fields, "", obj)
	f := ev.Fields
	for _, k := range []string{"@timestamp", "timestamp", "time", "ts"} {
		if t, ok := jsonTime(f[k]); ok {
			ev.Time = t
			break
		}
	}
	if _, ok := f["message"]; !ok {
		if m, ok := f["msg"].(string); ok {
			f["message"] = m
		}
	}
	if _, ok := f["log.level"]; !ok {
		if l, ok := f["level"].(string); ok {
			f["log.level"] = strings.ToLower(l)
		}
	}
	if h, ok := f["host"].(string); ok {
		if _, ok := f["host.name"]; !ok {
			f["host.name"] = h
		}
	}
	return ev, nil
}

// decodeObject decodes exactly one JSON object, numbers as json.Number.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if obj == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	return obj, nil
}

// flatten copies obj into f with nested object keys joined by dots.
func flatten(f map[string]any, prefix string, obj map[string]any) {
	for k, v := range obj {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			flatten(f, key, m)
			continue
		}
		f[key] = v
	}
}

// jsonTime reads an RFC 3339 string (or Suricata's -0700 zone form) or a
// Unix time in seconds.
func jsonTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
	case json.Number:
		if fl, err := x.Float64(); err == nil && fl > 0 && fl < 1e11 {
			sec := int64(fl)
			return time.Unix(sec, int64((fl-float64(sec))*1e9)).UTC(), true
		}
	}
	return time.Time{}, false
}
