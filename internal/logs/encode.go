package logs

import (
	"encoding/json"
	"strconv"
	"time"
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

// appendJSONString appends s quoted; strings of plain printable ASCII
// are copied, anything else is left to encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			raw, _ := json.Marshal(s) // a string always marshals
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
