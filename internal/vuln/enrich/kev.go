package enrich

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// DefaultMaxKEVBytes bounds a KEV catalogue (the real one is about 1.3 MB).
const DefaultMaxKEVBytes = 32 << 20

// KEVEntry is one catalogue entry, in the fields Vigil uses.
type KEVEntry struct {
	CVE            string   `json:"cve"`
	Vendor         string   `json:"vendor"`
	Product        string   `json:"product"`
	Name           string   `json:"name"`
	DateAdded      Date     `json:"date_added"`
	DueDate        Date     `json:"due_date"`
	Ransomware     bool     `json:"ransomware"` // knownRansomwareCampaignUse == "Known"
	RequiredAction string   `json:"required_action"`
	Notes          string   `json:"notes,omitempty"`
	CWEs           []string `json:"cwes,omitempty"`
}

// KEV is a loaded catalogue, looked up by CVE id.
type KEV struct {
	// Version, Released and DeclaredCount are the catalogue's own
	// catalogVersion, dateReleased and count fields.
	Version       string
	Released      time.Time
	DeclaredCount int

	entries []KEVEntry
	byCVE   map[string]int
}

// Lookup returns the entry for a CVE id (case and surrounding space ignored).
func (k *KEV) Lookup(cve string) (KEVEntry, bool) {
	if k == nil {
		return KEVEntry{}, false
	}
	i, ok := k.byCVE[NormalizeCVE(cve)]
	if !ok {
		return KEVEntry{}, false
	}
	return k.entries[i], true
}

// Len is the number of entries loaded.
func (k *KEV) Len() int {
	if k == nil {
		return 0
	}
	return len(k.entries)
}

// Entries returns the entries in catalogue order. The slice is shared; do
// not modify it.
func (k *KEV) Entries() []KEVEntry { return k.entries }

// kevRecord mirrors a catalogue entry; pointers tell a missing required
// field from an empty one.
type kevRecord struct {
	CVEID             *string  `json:"cveID"`
	VendorProject     *string  `json:"vendorProject"`
	Product           *string  `json:"product"`
	VulnerabilityName *string  `json:"vulnerabilityName"`
	DateAdded         *string  `json:"dateAdded"`
	ShortDescription  *string  `json:"shortDescription"`
	RequiredAction    *string  `json:"requiredAction"`
	DueDate           *string  `json:"dueDate"`
	Ransomware        *string  `json:"knownRansomwareCampaignUse"`
	Notes             *string  `json:"notes"`
	CWEs              []string `json:"cwes"`
}

// KEVError is a catalogue error at a byte offset of the input.
type KEVError struct {
	Offset int64
	Msg    string
	Err    error
}

func (e *KEVError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("kev: offset %d: %s: %v", e.Offset, e.Msg, e.Err)
	}
	return fmt.Sprintf("kev: offset %d: %s", e.Offset, e.Msg)
}

func (e *KEVError) Unwrap() error { return e.Err }

// LoadKEV reads a CISA KEV catalogue in its published JSON format and
// validates it against the catalogue schema: the top-level catalogVersion,
// dateReleased, count and vulnerabilities are required, every entry must
// have the schema's required fields, cveID must match CVE-YYYY-NNNN,
// dateAdded and dueDate must be YYYY-MM-DD dates and cwes must look like
// CWE-N. A CVE listed twice is an error too. Unknown fields are ignored.
func LoadKEV(r io.Reader, opts Options) (*KEV, error) {
	max := opts.MaxBytes
	if max <= 0 {
		max = DefaultMaxKEVBytes
	}
	dec := json.NewDecoder(newLimitReader(r, max))
	k := &KEV{byCVE: map[string]int{}}
	seen := map[string]bool{}
	fail := func(msg string, err error) error {
		if errors.Is(err, ErrTooLarge) {
			return fmt.Errorf("kev: more than %d bytes: %w", max, ErrTooLarge)
		}
		off := dec.InputOffset()
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			off = se.Offset
		case errors.As(err, &te):
			off = te.Offset
		case errors.Is(err, io.EOF):
			err = io.ErrUnexpectedEOF
		}
		return &KEVError{Offset: off, Msg: msg, Err: err}
	}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, fail("catalogue must be a JSON object", err)
	}
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("reading key", err)
		}
		key, _ := tok.(string)
		seen[key] = true
		switch key {
		case "catalogVersion":
			if err := dec.Decode(&k.Version); err != nil {
				return nil, fail("catalogVersion", err)
			}
		case "dateReleased":
			var s string
			if err := dec.Decode(&s); err != nil {
				return nil, fail("dateReleased", err)
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, &KEVError{Offset: start, Msg: fmt.Sprintf("dateReleased %q is not a date-time", s)}
			}
			k.Released = t
		case "count":
			if err := dec.Decode(&k.DeclaredCount); err != nil {
				return nil, fail("count", err)
			}
		case "vulnerabilities":
			if err := k.readEntries(dec, fail); err != nil {
				return nil, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fail(fmt.Sprintf("field %q", key), err)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, fail("end of catalogue", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("trailing data")
		}
		return nil, fail("after catalogue", err)
	}
	for _, req := range []string{"catalogVersion", "dateReleased", "count", "vulnerabilities"} {
		if !seen[req] {
			return nil, &KEVError{Offset: 0, Msg: "missing required field " + req}
		}
	}
	return k, nil
}

func (k *KEV) readEntries(dec *json.Decoder, fail func(string, error) error) error {
	if err := expectDelim(dec, '['); err != nil {
		return fail("vulnerabilities must be an array", err)
	}
	for dec.More() {
		// InputOffset is the end of the previous token; the entry starts
		// after the separating comma and white space, close enough to find.
		off := dec.InputOffset()
		var rec kevRecord
		if err := dec.Decode(&rec); err != nil {
			return fail(fmt.Sprintf("vulnerabilities[%d]", len(k.entries)), err)
		}
		e, err := rec.entry()
		if err != nil {
			return &KEVError{Offset: off, Msg: fmt.Sprintf("vulnerabilities[%d]", len(k.entries)), Err: err}
		}
		if _, dup := k.byCVE[e.CVE]; dup {
			return &KEVError{Offset: off, Msg: fmt.Sprintf("vulnerabilities[%d]: %s listed twice", len(k.entries), e.CVE)}
		}
		k.byCVE[e.CVE] = len(k.entries)
		k.entries = append(k.entries, e)
	}
	if err := expectDelim(dec, ']'); err != nil {
		return fail("end of vulnerabilities", err)
	}
	return nil
}

func (rec *kevRecord) entry() (KEVEntry, error) {
	req := []struct {
		name string
		v    *string
	}{
		{"cveID", rec.CVEID}, {"vendorProject", rec.VendorProject}, {"product", rec.Product},
		{"vulnerabilityName", rec.VulnerabilityName}, {"dateAdded", rec.DateAdded},
		{"shortDescription", rec.ShortDescription}, {"requiredAction", rec.RequiredAction},
		{"dueDate", rec.DueDate},
	}
	for _, f := range req {
		if f.v == nil {
			return KEVEntry{}, fmt.Errorf("missing required field %s", f.name)
		}
	}
	if !ValidCVE(*rec.CVEID) {
		return KEVEntry{}, fmt.Errorf("cveID %q is not CVE-YYYY-NNNN", *rec.CVEID)
	}
	added, err := time.Parse(time.DateOnly, *rec.DateAdded)
	if err != nil {
		return KEVEntry{}, fmt.Errorf("%s: dateAdded %q is not YYYY-MM-DD", *rec.CVEID, *rec.DateAdded)
	}
	due, err := time.Parse(time.DateOnly, *rec.DueDate)
	if err != nil {
		return KEVEntry{}, fmt.Errorf("%s: dueDate %q is not YYYY-MM-DD", *rec.CVEID, *rec.DueDate)
	}
	for _, c := range rec.CWEs {
		if !validCWE(c) {
			return KEVEntry{}, fmt.Errorf("%s: cwe %q is not CWE-N", *rec.CVEID, c)
		}
	}
	e := KEVEntry{
		CVE:            *rec.CVEID,
		Vendor:         *rec.VendorProject,
		Product:        *rec.Product,
		Name:           *rec.VulnerabilityName,
		DateAdded:      Date{added},
		DueDate:        Date{due},
		RequiredAction: *rec.RequiredAction,
		CWEs:           rec.CWEs,
	}
	if rec.Ransomware != nil {
		e.Ransomware = strings.EqualFold(strings.TrimSpace(*rec.Ransomware), "Known")
	}
	if rec.Notes != nil {
		e.Notes = *rec.Notes
	}
	return e, nil
}

func validCWE(s string) bool {
	d, ok := strings.CutPrefix(s, "CWE-")
	if !ok || d == "" {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("got %v, want %q", tok, string(want))
	}
	return nil
}

// Date is a calendar date, written in JSON as "YYYY-MM-DD".
type Date struct{ time.Time }

// MarshalJSON writes the date as "YYYY-MM-DD", or null when zero.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.Format(time.DateOnly) + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return err
	}
	*d = Date{t}
	return nil
}
