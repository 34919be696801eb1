package sqldb

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// fieldsEncoder writes an event's fields as JSON for the fields column:
// the same text as json.Marshal (keys sorted, HTML characters and
// U+2028/U+2029 escaped, invalid UTF-8 replaced) for the value types
// parsers and the spool produce, without reflection. Values of other
// types go through json.Marshal. It reuses its buffers, so one encoder
// serves one batch at a time.
type fieldsEncoder struct {
	buf  []byte
	keys []string
	// sets are the sorted key sets of recent objects, most recently used
	// first: events of one format share theirs, so most objects of a
	// batch are written without iterating and sorting their keys.
	sets [maxKeySets][]string
}

// maxKeySets bounds the key sets a fieldsEncoder remembers.
const maxKeySets = 8

// knownKeys returns the remembered sorted key set that equals m's keys:
// as long as m and with every one of its keys in m.
func (e *fieldsEncoder) knownKeys(m map[string]any) ([]string, bool) {
next:
	for i, set := range e.sets {
		if len(set) != len(m) {
			continue
		}
		for _, k := range set {
			if _, ok := m[k]; !ok {
				continue next
			}
		}
		// Move it to the front so the sets used most are tried first.
		copy(e.sets[1:i+1], e.sets[:i])
		e.sets[0] = set
		return set, true
	}
	return nil, false
}

// remember keeps a copy of a sorted key set, forgetting the least recent.
func (e *fieldsEncoder) remember(keys []string) {
	copy(e.sets[1:], e.sets[:maxKeySets-1])
	e.sets[0] = slices.Clone(keys)
}

// encode returns the JSON of m, valid until the next call.
func (e *fieldsEncoder) encode(m map[string]any) ([]byte, error) {
	var err error
	e.buf, err = e.appendObject(e.buf[:0], m)
	return e.buf, err
}

func (e *fieldsEncoder) appendObject(b []byte, m map[string]any) ([]byte, error) {
	if len(m) == 0 {
		return append(b, '{', '}'), nil
	}
	// Nested objects reuse the tail of the key buffer.
	base := len(e.keys)
	keys, known := e.knownKeys(m)
	if !known {
		for k := range m {
			e.keys = append(e.keys, k)
		}
		keys = e.keys[base:]
		slices.Sort(keys)
		e.remember(keys)
	}
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONText(b, k)
		b = append(b, ':')
		if b, err = e.appendValue(b, m[k]); err != nil {
			break
		}
	}
	clear(e.keys[base:])
	e.keys = e.keys[:base]
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func (e *fieldsEncoder) appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendJSONText(b, x), nil
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			break // json.Marshal's error
		}
		return appendJSONFloat(b, x), nil
	case []string:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONText(b, s)
		}
		return append(b, ']'), nil
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, el := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = e.appendValue(b, el); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		return e.appendObject(b, x)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

// appendJSONFloat formats f as encoding/json does: shortest
// representation, exponent form only below 1e-6 or from 1e21, and a
// two-digit negative exponent without its leading zero.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONText appends s as a JSON string the way encoding/json does:
// quotes, backslashes and control characters escaped (\n, \r, \t, \b,
// \f by name), <, > and & as \u00XX, U+2028 and U+2029 escaped, and each
// invalid UTF-8 byte replaced by U+FFFD.
func appendJSONText(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
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
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
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
