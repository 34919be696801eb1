package logs

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEventsJSON appends events as a JSON array, equivalent to
// json.Marshal(events) for decoding but without reflection or key
// sorting: the spool's hot path. Field values of types it does not know
// go through json.Marshal.
func appendEventsJSON(b []byte, events []Event) ([]byte, error) {
	b = append(b, '[')
	for i := range events {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendEventJSON(b, &events[i]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

func appendEventJSON(b []byte, e *Event) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"@timestamp":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","received":"`...)
	b = e.Received.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	for _, kv := range [...]struct{ k, v string }{{"tenant", e.Tenant}, {"source", e.Source}, {"format", e.Format}} {
		if kv.v != "" {
			b = append(b, `,"`...)
			b = append(b, kv.k...)
			b = append(b, `":`...)
			b = appendJSONString(b, kv.v)
		}
	}
	if e.LogSource != (LogSource{}) {
		b = append(b, `,"logsource":{"product":`...)
		b = appendJSONString(b, e.LogSource.Product)
		b = append(b, `,"category":`...)
		b = appendJSONString(b, e.LogSource.Category)
		b = append(b, `,"service":`...)
		b = appendJSONString(b, e.LogSource.Service)
		b = append(b, '}')
	}
	b = append(b, `,"fields":{`...)
	first := true
	for k, v := range e.Fields {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendJSONValue(b, v); err != nil {
			return nil, err
		}
	}
	b = append(b, `},"original":`...)
	b = appendJSONString(b, e.Original)
	if e.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	return append(b, '}'), nil
}

func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendJSONString(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case nil:
		return append(b, "null"...), nil
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return append(b, ']'), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

// appendJSONString appends s as a JSON string: runs of printable ASCII
// and valid UTF-8 are copied, quotes, backslashes and control characters
// escaped, and each invalid UTF-8 byte replaced by U+FFFD (as
// encoding/json does). DEL and U+2028/U+2029 are escaped too, so that
// the text is safe wherever JSON is embedded.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
