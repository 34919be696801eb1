package intel

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Plain CSV and TXT lists.
//
// Each line holds one value in CSVMapping.Column (0-based; a TXT list is a
// one-column CSV). Lines starting with the comment character (default '#')
// and blank lines are skipped. The type is CSVMapping.Type, or detected
// per value with DetectType when empty or "auto". A bad value rejects its
// line only.

// CSVMapping says how to read a CSV/TXT feed.
type CSVMapping struct {
	Column    int    // 0-based column holding the value
	Type      Type   // fixed type; empty or "auto" detects it per value
	Delimiter rune   // default ','
	Comment   rune   // default '#'
	Header    bool   // first record is a header
	Tag       string // added to every indicator when set
}

// csvParser reads CSV/TXT lists.
type csvParser struct{}

func (csvParser) Format() string { return "csv" }

// Detect accepts anything: csv is the fallback format.
func (csvParser) Detect([]byte) bool { return true }

func (csvParser) Parse(ctx context.Context, r io.Reader, opts ParseOptions) (*Feed, error) {
	opts = opts.withDefaults()
	m := opts.CSV
	if m.Delimiter == 0 {
		m.Delimiter = ','
	}
	if m.Comment == 0 {
		m.Comment = '#'
	}
	if m.Column < 0 {
		return nil, fmt.Errorf("csv: negative column %d", m.Column)
	}
	auto := m.Type == "" || m.Type == "auto"
	cr := csv.NewReader(io.LimitReader(r, opts.MaxBytes+1))
	cr.Comma = m.Delimiter
	cr.Comment = m.Comment
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	feed := newFeed("csv")
	first := true
	now := opts.Now().UTC()
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("csv: %w", err)
			}
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				feed.reject(fmt.Sprintf("line %d", pe.Line), "", "%v", pe.Err)
				continue
			}
			return nil, fmt.Errorf("csv: line %d: %w", line, err)
		}
		if cr.InputOffset() > opts.MaxBytes {
			return nil, fmt.Errorf("csv: %w: more than %d bytes", ErrTooLarge, opts.MaxBytes)
		}
		if n >= MaxFeedObjects {
			return nil, fmt.Errorf("csv: %w: more than %d records", ErrTooLarge, MaxFeedObjects)
		}
		if first && m.Header {
			first = false
			continue
		}
		first = false
		where := fmt.Sprintf("line %d", line)
		if m.Column >= len(rec) {
			feed.reject(where, "", "no column %d", m.Column)
			continue
		}
		v := strings.TrimSpace(rec[m.Column])
		if v == "" {
			continue
		}
		t := m.Type
		if auto {
			var ok bool
			if t, ok = DetectType(v); !ok {
				feed.reject(where, "", "cannot tell the type of %q", clip(v))
				continue
			}
		}
		in, err := NewIndicator(t, v, opts.Confidence, opts.Source)
		if err != nil {
			feed.reject(where, "", "%v", err)
			continue
		}
		in.TLP = opts.TLP
		in.FirstSeen, in.LastSeen = now, now
		if m.Tag != "" {
			in.Tags = []string{m.Tag}
		}
		feed.Counts[string(in.Type)]++
		feed.Indicators = append(feed.Indicators, in)
	}
	return feed, nil
}
