package vuln

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// strList decodes a JSON string, array of strings or null. A string holding
// several lines (nuclei's "- a\n- b" references) is split into lines.
type strList []string

func (l *strList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*l = nil
	case len(b) > 0 && b[0] == '[':
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		out := make([]string, 0, len(raw))
		for _, r := range raw {
			var s flexString
			if err := s.UnmarshalJSON(r); err != nil {
				return err
			}
			if s != "" {
				out = append(out, string(s))
			}
		}
		*l = out
	default:
		var s flexString
		if err := s.UnmarshalJSON(b); err != nil {
			return err
		}
		var out []string
		for _, line := range strings.FieldsFunc(string(s), func(r rune) bool { return r == '\n' || r == ',' }) {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "- "))
			if line != "" {
				out = append(out, line)
			}
		}
		*l = out
	}
	return nil
}

// flexString decodes a JSON string, number, boolean or null as text.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*s = ""
		return nil
	}
	if b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	if b[0] == '{' || b[0] == '[' {
		return errors.New("expected a string or number, got " + string(b[:1]))
	}
	*s = flexString(b)
	return nil
}

// flexFloat decodes a JSON number or numeric string; nil when absent.
type flexFloat struct{ v *float64 }

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64)
	if err != nil {
		return nil // tools write "N/A" and similar; treat as absent
	}
	f.v = &v
	return nil
}

// jsonError converts an encoding/json error into a ParseError located in
// data; base is the offset of the decoded fragment within data.
func jsonError(format string, data []byte, base int64, err error) *ParseError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return errAt(format, data, base+syn.Offset, err)
	case errors.As(err, &typ):
		return errAt(format, data, base+typ.Offset, err)
	}
	return errAt(format, data, base, err)
}

// errTruncatedJSON replaces encoding/json's "unexpected end of JSON input".
var errTruncatedJSON = errors.New("truncated JSON: unexpected end of input")

// decodeJSON unmarshals data into v, turning errors into ParseErrors.
func decodeJSON(format string, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		// encoding/json reports a truncated document as a SyntaxError
		// with this message and no useful offset.
		if err.Error() == "unexpected end of JSON input" {
			return errAt(format, data, int64(len(data)), errTruncatedJSON)
		}
		return jsonError(format, data, 0, err)
	}
	return nil
}

// headLooksJSON reports whether head starts (after whitespace and a BOM)
// with one of the given bytes.
func headLooksJSON(head []byte, starts string) bool {
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(head) > 0 && strings.IndexByte(starts, head[0]) >= 0
}
