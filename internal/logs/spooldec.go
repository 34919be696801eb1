package logs

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeEvents decodes a spool record (a JSON array of events, as
// appendEventsJSON writes it) into events, with the same result as
// json.Unmarshal into []Event: field values as string, float64, bool,
// nil, []any and map[string]any. It is the spool reader's hot path and
// needs no reflection. Anything outside what the writer produces (an
// unknown or repeated key, a null where an event member is expected, a
// number out of range, invalid JSON) makes it hand the whole record to
// json.Unmarshal, which then decides.
func decodeEvents(data []byte) ([]Event, error) {
	d := spoolDecoder{data: data}
	if evs, ok := d.events(); ok {
		return evs, nil
	}
	var evs []Event
	if err := json.Unmarshal(data, &evs); err != nil {
		return nil, err
	}
	return evs, nil
}

// errFallback stops the fast decoder; decodeEvents then uses
// encoding/json.
var errFallback = errors.New("spool decode: fall back to encoding/json")

type spoolDecoder struct {
	data []byte
	i    int
	err  error
}

func (d *spoolDecoder) fail() { d.err = errFallback }

func (d *spoolDecoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (d *spoolDecoder) peek() byte {
	d.ws()
	if d.i >= len(d.data) {
		return 0
	}
	return d.data[d.i]
}

func (d *spoolDecoder) expect(c byte) {
	if d.err != nil {
		return
	}
	if d.peek() != c {
		d.fail()
		return
	}
	d.i++
}

// more is called after a value inside an array or object closed by
// end: it consumes a comma and reports true, or consumes end and
// reports false.
func (d *spoolDecoder) more(end byte) bool {
	if d.err != nil {
		return false
	}
	switch d.peek() {
	case ',':
		d.i++
		return true
	case end:
		d.i++
		return false
	}
	d.fail()
	return false
}

func (d *spoolDecoder) events() ([]Event, bool) {
	d.expect('[')
	evs := []Event{}
	if d.err == nil && d.peek() == ']' {
		d.i++
	} else {
		for d.err == nil {
			evs = append(evs, Event{})
			d.event(&evs[len(evs)-1])
			if !d.more(']') {
				break
			}
		}
	}
	if d.ws(); d.err != nil || d.i != len(d.data) {
		return nil, false
	}
	return evs, true
}

func (d *spoolDecoder) event(e *Event) {
	d.expect('{')
	if d.err != nil {
		return
	}
	if d.peek() == '}' {
		d.i++
		return
	}
	var seen uint16
	for d.err == nil {
		key, ok := d.rawString()
		if !ok {
			d.fail()
			return
		}
		d.expect(':')
		var bit uint16
		switch string(key) {
		case "id":
			bit, e.ID = 1, d.stringValue()
		case "@timestamp":
			bit = 2
			d.timeValue(&e.Time)
		case "received":
			bit = 4
			d.timeValue(&e.Received)
		case "tenant":
			bit, e.Tenant = 8, d.stringValue()
		case "source":
			bit, e.Source = 16, d.stringValue()
		case "format":
			bit, e.Format = 32, d.stringValue()
		case "logsource":
			bit = 64
			d.logSource(&e.LogSource)
		case "fields":
			bit = 128
			if d.peek() != '{' {
				d.fail()
				return
			}
			m, _ := d.value().(map[string]any)
			e.Fields = m
		case "original":
			bit, e.Original = 256, d.stringValue()
		case "truncated":
			bit = 512
			switch v := d.value().(type) {
			case bool:
				e.Truncated = v
			default:
				d.fail()
			}
		default:
			d.fail()
		}
		if seen&bit != 0 {
			d.fail()
		}
		seen |= bit
		if !d.more('}') {
			return
		}
	}
}

func (d *spoolDecoder) logSource(ls *LogSource) {
	d.expect('{')
	if d.err != nil {
		return
	}
	if d.peek() == '}' {
		d.i++
		return
	}
	var seen uint8
	for d.err == nil {
		key, ok := d.rawString()
		if !ok {
			d.fail()
			return
		}
		d.expect(':')
		var bit uint8
		switch string(key) {
		case "product":
			bit, ls.Product = 1, d.stringValue()
		case "category":
			bit, ls.Category = 2, d.stringValue()
		case "service":
			bit, ls.Service = 4, d.stringValue()
		default:
			d.fail()
		}
		if seen&bit != 0 {
			d.fail()
		}
		seen |= bit
		if !d.more('}') {
			return
		}
	}
}

// stringValue decodes a string member; anything else (null included)
// falls back.
func (d *spoolDecoder) stringValue() string {
	if d.err != nil || d.peek() != '"' {
		d.fail()
		return ""
	}
	return d.str()
}

func (d *spoolDecoder) timeValue(t *time.Time) {
	if d.err != nil || d.peek() != '"' {
		d.fail()
		return
	}
	start := d.i
	if _, ok := d.rawString(); !ok {
		d.fail()
		return
	}
	if err := t.UnmarshalJSON(d.data[start:d.i]); err != nil {
		d.fail()
	}
}

// rawString consumes a string token and returns its contents when they
// need no unescaping; ok is false for an escaped or invalid string (the
// position is then unchanged).
func (d *spoolDecoder) rawString() ([]byte, bool) {
	if d.peek() != '"' {
		return nil, false
	}
	for j := d.i + 1; j < len(d.data); j++ {
		switch c := d.data[j]; {
		case c == '"':
			s := d.data[d.i+1 : j]
			if !utf8.Valid(s) {
				return nil, false
			}
			d.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// str decodes a string token at d.i as encoding/json does: escapes
// resolved, invalid UTF-8 and unpaired surrogates replaced by U+FFFD.
func (d *spoolDecoder) str() string {
	if s, ok := d.rawString(); ok {
		return string(s)
	}
	b := make([]byte, 0, 64)
	j := d.i + 1
	for j < len(d.data) {
		c := d.data[j]
		switch {
		case c == '"':
			d.i = j + 1
			return string(b)
		case c < 0x20:
			d.fail()
			return ""
		case c == '\\':
			if j+1 >= len(d.data) {
				d.fail()
				return ""
			}
			j++
			switch d.data[j] {
			case '"', '\\', '/':
				b = append(b, d.data[j])
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := d.hex4(j + 1)
				if !ok {
					d.fail()
					return ""
				}
				j += 4
				if utf16.IsSurrogate(r) {
					r2, ok := rune(-1), false
					if j+6 < len(d.data) && d.data[j+1] == '\\' && d.data[j+2] == 'u' {
						r2, ok = d.hex4(j + 3)
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						j += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				d.fail()
				return ""
			}
			j++
		case c < utf8.RuneSelf:
			b = append(b, c)
			j++
		default:
			r, size := utf8.DecodeRune(d.data[j:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, d.data[j:j+size]...)
			}
			j += size
		}
	}
	d.fail()
	return ""
}

func (d *spoolDecoder) hex4(j int) (rune, bool) {
	if j+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[j : j+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// maxDecodeDepth bounds the nesting of field values the fast decoder
// takes (well below encoding/json's own limit); deeper records fall back.
const maxDecodeDepth = 1000

// value decodes any JSON value into the types encoding/json uses for
// interface{}.
func (d *spoolDecoder) value() any {
	return d.valueDepth(0)
}

func (d *spoolDecoder) valueDepth(depth int) any {
	if d.err != nil {
		return nil
	}
	if depth > maxDecodeDepth {
		d.fail()
		return nil
	}
	switch c := d.peek(); {
	case c == '"':
		return d.str()
	case c == '{':
		d.i++
		m := make(map[string]any, 16)
		if d.peek() == '}' {
			d.i++
			return m
		}
		for d.err == nil {
			if d.peek() != '"' {
				d.fail()
				return nil
			}
			k := d.str()
			d.expect(':')
			m[k] = d.valueDepth(depth + 1)
			if !d.more('}') {
				break
			}
		}
		return m
	case c == '[':
		d.i++
		l := []any{}
		if d.peek() == ']' {
			d.i++
			return l
		}
		for d.err == nil {
			l = append(l, d.valueDepth(depth+1))
			if !d.more(']') {
				break
			}
		}
		return l
	case c == 't':
		return d.literal("true", true)
	case c == 'f':
		return d.literal("false", false)
	case c == 'n':
		return d.literal("null", nil)
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	d.fail()
	return nil
}

func (d *spoolDecoder) literal(word string, v any) any {
	if len(d.data)-d.i < len(word) || string(d.data[d.i:d.i+len(word)]) != word {
		d.fail()
		return nil
	}
	d.i += len(word)
	return v
}

// number decodes a number with JSON's grammar into a float64.
func (d *spoolDecoder) number() any {
	start, j := d.i, d.i
	digits := func() bool {
		k := j
		for j < len(d.data) && d.data[j] >= '0' && d.data[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(d.data) && d.data[j] == '-' {
		j++
	}
	switch {
	case j < len(d.data) && d.data[j] == '0':
		j++
	case !digits():
		d.fail()
		return nil
	}
	if j < len(d.data) && d.data[j] == '.' {
		j++
		if !digits() {
			d.fail()
			return nil
		}
	}
	if j < len(d.data) && (d.data[j] == 'e' || d.data[j] == 'E') {
		j++
		if j < len(d.data) && (d.data[j] == '+' || d.data[j] == '-') {
			j++
		}
		if !digits() {
			d.fail()
			return nil
		}
	}
	f, err := strconv.ParseFloat(string(d.data[start:j]), 64)
	if err != nil {
		d.fail() // out of range: encoding/json reports it
		return nil
	}
	d.i = j
	return f
}
