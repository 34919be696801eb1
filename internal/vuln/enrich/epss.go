package enrich

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// DefaultMaxEPSSBytes bounds an EPSS file after decompression (the full
// daily file is about 10 MB uncompressed).
const DefaultMaxEPSSBytes = 128 << 20

// EPSSScore is one CVE's EPSS values.
type EPSSScore struct {
	CVE string `json:"cve"`
	// Probability is the chance of exploitation activity in the next 30
	// days, 0..1; Percentile the share of scored CVEs with a lower or equal
	// probability, 0..1.
	Probability float64 `json:"probability"`
	Percentile  float64 `json:"percentile"`
}

// EPSS is a loaded EPSS file, looked up by CVE id.
type EPSS struct {
	// ModelVersion and ScoreDate come from the leading comment line
	// ("#model_version:v2023.03.01,score_date:2023-06-12T00:00:00+0000");
	// both are empty when the file has none.
	ModelVersion string
	ScoreDate    string

	scores map[string]EPSSScore
}

// Lookup returns the scores for a CVE id (case and surrounding space ignored).
func (e *EPSS) Lookup(cve string) (EPSSScore, bool) {
	if e == nil {
		return EPSSScore{}, false
	}
	s, ok := e.scores[NormalizeCVE(cve)]
	return s, ok
}

// Len is the number of CVEs loaded.
func (e *EPSS) Len() int {
	if e == nil {
		return 0
	}
	return len(e.scores)
}

// EPSSError is an EPSS file error at a line (1-based) of the decompressed text.
type EPSSError struct {
	Line int
	Msg  string
	Err  error
}

func (e *EPSSError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("epss: line %d: %s: %v", e.Line, e.Msg, e.Err)
	}
	return fmt.Sprintf("epss: line %d: %s", e.Line, e.Msg)
}

func (e *EPSSError) Unwrap() error { return e.Err }

// LoadEPSS reads FIRST's EPSS CSV: an optional leading comment line
// "#model_version:...,score_date:...", then the header "cve,epss,percentile"
// and one row per CVE. The input may be gzip-compressed (detected from its
// magic bytes). Every row must have a well-formed CVE id, listed once, and
// both numbers within 0..1.
func LoadEPSS(r io.Reader, opts Options) (*EPSS, error) {
	max := opts.MaxBytes
	if max <= 0 {
		max = DefaultMaxEPSSBytes
	}
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &EPSSError{Line: 0, Msg: "gzip header", Err: err}
		}
		defer zr.Close()
		src = zr
	}
	// The limit applies to the decompressed text, so a small gzip bomb
	// cannot exhaust memory.
	er := &errReader{r: newLimitReader(src, max)}
	sc := bufio.NewScanner(er)
	e := &EPSS{scores: map[string]EPSSScore{}}
	line := 0
	header := false
	// bufio.Scanner hands over a partial last line before reporting a read
	// error (a truncated gzip stream); report the read error, not the row.
	readErr := func() error {
		if errors.Is(er.err, ErrTooLarge) {
			return fmt.Errorf("epss: more than %d bytes: %w", max, ErrTooLarge)
		}
		return &EPSSError{Line: line, Msg: "reading", Err: er.err}
	}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if !header {
			if line == 1 && strings.HasPrefix(text, "#") {
				e.parseComment(text)
				continue
			}
			if !isEPSSHeader(text) {
				if er.err != nil {
					return nil, readErr()
				}
				return nil, &EPSSError{Line: line, Msg: fmt.Sprintf("header %q, want \"cve,epss,percentile\"", text)}
			}
			header = true
			continue
		}
		s, err := parseEPSSRow(text)
		if err != nil {
			if er.err != nil {
				return nil, readErr()
			}
			return nil, &EPSSError{Line: line, Msg: err.Error()}
		}
		if _, dup := e.scores[s.CVE]; dup {
			return nil, &EPSSError{Line: line, Msg: s.CVE + " listed twice"}
		}
		e.scores[s.CVE] = s
	}
	if err := sc.Err(); err != nil {
		if er.err == nil {
			er.err = err // e.g. bufio.ErrTooLong
		}
		return nil, readErr()
	}
	if !header {
		return nil, &EPSSError{Line: line, Msg: "no \"cve,epss,percentile\" header"}
	}
	return e, nil
}

func (e *EPSS) parseComment(text string) {
	for _, kv := range strings.Split(strings.TrimPrefix(text, "#"), ",") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model_version":
			e.ModelVersion = strings.TrimSpace(v)
		case "score_date":
			e.ScoreDate = strings.TrimSpace(v)
		}
	}
}

func isEPSSHeader(text string) bool {
	f := strings.Split(text, ",")
	if len(f) != 3 {
		return false
	}
	for i, want := range []string{"cve", "epss", "percentile"} {
		if !strings.EqualFold(strings.TrimSpace(f[i]), want) {
			return false
		}
	}
	return true
}

func parseEPSSRow(text string) (EPSSScore, error) {
	f := strings.Split(text, ",")
	if len(f) != 3 {
		return EPSSScore{}, fmt.Errorf("%d fields, want 3", len(f))
	}
	s := EPSSScore{CVE: NormalizeCVE(f[0])}
	if !ValidCVE(s.CVE) {
		return EPSSScore{}, fmt.Errorf("cve %q is not CVE-YYYY-NNNN", f[0])
	}
	var err error
	if s.Probability, err = unitFloat(f[1]); err != nil {
		return EPSSScore{}, fmt.Errorf("%s: epss: %w", s.CVE, err)
	}
	if s.Percentile, err = unitFloat(f[2]); err != nil {
		return EPSSScore{}, fmt.Errorf("%s: percentile: %w", s.CVE, err)
	}
	return s, nil
}

// unitFloat parses a number that must lie in 0..1.
func unitFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(v) || v < 0 || v > 1 {
		return 0, fmt.Errorf("%s is outside 0..1", strings.TrimSpace(s))
	}
	return v, nil
}

// errReader remembers the first read error other than io.EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}
