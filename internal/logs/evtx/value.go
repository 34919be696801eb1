package evtx

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Substitution value types.
const (
	typeNull     = 0x00
	typeString   = 0x01
	typeAnsi     = 0x02
	typeInt8     = 0x03
	typeUInt8    = 0x04
	typeInt16    = 0x05
	typeUInt16   = 0x06
	typeInt32    = 0x07
	typeUInt32   = 0x08
	typeInt64    = 0x09
	typeUInt64   = 0x0a
	typeReal32   = 0x0b
	typeReal64   = 0x0c
	typeBool     = 0x0d
	typeBinary   = 0x0e
	typeGUID     = 0x0f
	typeSizeT    = 0x10
	typeFileTime = 0x11
	typeSysTime  = 0x12
	typeSID      = 0x13
	typeHex32    = 0x14
	typeHex64    = 0x15
	typeHandle   = 0x20
	typeBinXML   = 0x21
	typeEvtXML   = 0x23
	typeArray    = 0x80
)

// fixedSize is the size of one value of a fixed-size type, 0 for others.
func fixedSize(t byte) int {
	switch t {
	case typeInt8, typeUInt8:
		return 1
	case typeInt16, typeUInt16:
		return 2
	case typeInt32, typeUInt32, typeReal32, typeBool, typeHex32:
		return 4
	case typeInt64, typeUInt64, typeReal64, typeFileTime, typeHex64:
		return 8
	case typeGUID, typeSysTime:
		return 16
	}
	return 0
}

// decodeValue turns a substitution value into a JSON-ready scalar (or a
// []any for array types): numbers as int64/uint64/float64, booleans,
// everything else as text in the notation evtx tools use (GUIDs upper
// case without braces, hex integers as 0x…, times as RFC 3339 UTC).
func decodeValue(t byte, b []byte) (any, error) {
	if t&typeArray != 0 {
		return decodeArray(t&^typeArray, b)
	}
	if n := fixedSize(t); n != 0 && len(b) != n {
		return nil, fmt.Errorf("value of type 0x%02x has %d bytes, want %d", t, len(b), n)
	}
	le := binary.LittleEndian
	switch t {
	case typeNull:
		return nil, nil
	case typeString:
		return utf16String(b), nil
	case typeAnsi:
		return strings.TrimRight(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00"), nil
	case typeInt8:
		return int64(int8(b[0])), nil // #nosec G115 -- reinterpreting the stored bits is the format
	case typeUInt8:
		return uint64(b[0]), nil
	case typeInt16:
		return int64(int16(le.Uint16(b))), nil // #nosec G115 -- reinterpreting the stored bits is the format
	case typeUInt16:
		return uint64(le.Uint16(b)), nil
	case typeInt32:
		return int64(int32(le.Uint32(b))), nil // #nosec G115 -- as above
	case typeUInt32:
		return uint64(le.Uint32(b)), nil
	case typeInt64:
		return int64(le.Uint64(b)), nil // #nosec G115 -- as above
	case typeUInt64:
		return le.Uint64(b), nil
	case typeReal32:
		return finite(float64(math.Float32frombits(le.Uint32(b)))), nil
	case typeReal64:
		return finite(math.Float64frombits(le.Uint64(b))), nil
	case typeBool:
		return le.Uint32(b) != 0, nil
	case typeBinary, typeHandle, typeEvtXML:
		return strings.ToUpper(hex.EncodeToString(b)), nil
	case typeGUID:
		return guid(b), nil
	case typeSizeT:
		switch len(b) {
		case 4:
			return "0x" + strconv.FormatUint(uint64(le.Uint32(b)), 16), nil
		case 8:
			return "0x" + strconv.FormatUint(le.Uint64(b), 16), nil
		}
		return nil, fmt.Errorf("size_t value of %d bytes", len(b))
	case typeFileTime:
		return formatTime(filetime(le.Uint64(b))), nil
	case typeSysTime:
		return systemTime(b)
	case typeSID:
		return sid(b)
	case typeHex32:
		return "0x" + strconv.FormatUint(uint64(le.Uint32(b)), 16), nil
	case typeHex64:
		return "0x" + strconv.FormatUint(le.Uint64(b), 16), nil
	}
	return nil, fmt.Errorf("unknown value type 0x%02x", t)
}

func decodeArray(t byte, b []byte) (any, error) {
	var out []any
	switch t {
	case typeString:
		// NUL-terminated UTF-16 strings.
		start := 0
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] == 0 && b[i+1] == 0 {
				out = append(out, utf16String(b[start:i]))
				start = i + 2
			}
		}
		if start+1 < len(b) {
			out = append(out, utf16String(b[start:]))
		}
		return out, nil
	case typeAnsi:
		for s := range strings.SplitSeq(strings.TrimRight(string(b), "\x00"), "\x00") {
			out = append(out, strings.ToValidUTF8(s, "\uFFFD"))
		}
		return out, nil
	case typeSID:
		for len(b) >= 8 {
			n := 8 + 4*int(b[1])
			if n > len(b) {
				break
			}
			s, err := sid(b[:n])
			if err != nil {
				return nil, err
			}
			out = append(out, s)
			b = b[n:]
		}
		return out, nil
	}
	n := fixedSize(t)
	if n == 0 {
		return nil, fmt.Errorf("array of value type 0x%02x", t)
	}
	if len(b)%n != 0 {
		return nil, fmt.Errorf("array of type 0x%02x has %d bytes, not a multiple of %d", t, len(b), n)
	}
	for i := 0; i < len(b); i += n {
		v, err := decodeValue(t, b[i:i+n])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// finite keeps NaN and infinities, which JSON cannot hold, as text.
func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

func guid(b []byte) string {
	le := binary.LittleEndian
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%s-%s",
		le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), hex.EncodeToString(b[8:10]), hex.EncodeToString(b[10:16])))
}

func sid(b []byte) (string, error) {
	if len(b) < 8 {
		return "", fmt.Errorf("SID of %d bytes", len(b))
	}
	n := int(b[1])
	if len(b) < 8+4*n {
		return "", fmt.Errorf("SID with %d sub-authorities in %d bytes", n, len(b))
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var s strings.Builder
	s.WriteString("S-")
	s.WriteString(strconv.Itoa(int(b[0])))
	s.WriteString("-")
	s.WriteString(strconv.FormatUint(auth, 10))
	for i := range n {
		s.WriteString("-")
		s.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return s.String(), nil
}

func systemTime(b []byte) (any, error) {
	le := binary.LittleEndian
	f := func(i int) int { return int(le.Uint16(b[2*i:])) }
	year, month, day := f(0), f(1), f(3)
	h, m, s, ms := f(4), f(5), f(6), f(7)
	if month < 1 || month > 12 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60 || ms > 999 {
		return nil, fmt.Errorf("invalid SYSTEMTIME %d-%d-%d %d:%d:%d.%d", year, month, day, h, m, s, ms)
	}
	return formatTime(time.Date(year, time.Month(month), day, h, m, s, ms*1_000_000, time.UTC)), nil
}

// formatTime writes a time as RFC 3339 UTC with microseconds, the
// fraction in groups of three digits (none, milli- or microseconds), as
// the JSON exports of the evtx tools do.
func formatTime(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	us := t.Nanosecond() / 1000
	switch {
	case us == 0:
		return t.Format("2006-01-02T15:04:05Z")
	case us%1000 == 0:
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000Z")
}
