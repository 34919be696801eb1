package weblog

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// DefaultMaxLine is the longest line parsed; longer lines are counted as
// skipped ("too-long") and never held whole in memory.
const DefaultMaxLine = 64 << 10

// ReaderOptions configures a Reader.
type ReaderOptions struct {
	// Format is a built-in name, a custom format string, or "" to detect.
	Format string
	// MaxLine bounds a line in bytes (default DefaultMaxLine).
	MaxLine int
	// Examples is how many skipped lines are kept as examples (default 10).
	Examples int
}

// SkipExample is one skipped line kept for the coverage report.
type SkipExample struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
	Text   string `json:"text"`
}

// Coverage counts what a Reader did with every line.
type Coverage struct {
	File     string         `json:"file,omitempty"`
	Format   string         `json:"format"`
	Lines    int            `json:"lines"`
	Parsed   int            `json:"parsed"`
	Skipped  map[string]int `json:"skipped,omitempty"`
	Examples []SkipExample  `json:"examples,omitempty"`
}

// SkippedTotal is the number of lines not parsed.
func (c Coverage) SkippedTotal() int {
	n := 0
	for _, v := range c.Skipped {
		n += v
	}
	return n
}

// Reasons returns the skip reasons in a stable order.
func (c Coverage) Reasons() []string {
	r := make([]string, 0, len(c.Skipped))
	for k := range c.Skipped {
		r = append(r, k)
	}
	sort.Strings(r)
	return r
}

// Reader streams Records from an access log, plain or gzip-compressed.
type Reader struct {
	br      *bufio.Reader
	parser  LineParser
	opt     ReaderOptions
	pending []string // lines read for format detection, not yet parsed
	pendLen []bool   // whether each pending line was cut
	cov     Coverage
	err     error
	eof     bool
}

// NewReader wraps r. name is used in errors and coverage. A gzip stream is
// recognised by its magic bytes.
func NewReader(r io.Reader, name string, opt ReaderOptions) (*Reader, error) {
	if opt.MaxLine <= 0 {
		opt.MaxLine = DefaultMaxLine
	}
	if opt.Examples <= 0 {
		opt.Examples = 10
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	rd := &Reader{br: br, opt: opt, cov: Coverage{File: name, Skipped: map[string]int{}}}
	format := opt.Format
	if format == "" {
		for len(rd.pending) < 50 {
			line, cut, err := rd.readLine()
			if err != nil {
				break
			}
			rd.pending = append(rd.pending, line)
			rd.pendLen = append(rd.pendLen, cut)
		}
		if rd.err != nil {
			return nil, rd.err
		}
		var sample []string
		for i, l := range rd.pending {
			if !rd.pendLen[i] {
				sample = append(sample, l)
			}
		}
		f, err := Detect(sample)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		format = f
	}
	p, err := NewParser(format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rd.parser = p
	rd.cov.Format = format
	return rd, nil
}

// readLine returns the next line without its newline, cut to MaxLine.
func (r *Reader) readLine() (string, bool, error) {
	if r.eof {
		return "", false, io.EOF
	}
	var buf []byte
	cut := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !cut {
			room := r.opt.MaxLine - len(buf)
			if len(chunk) > room {
				buf = append(buf, chunk[:room]...)
				cut = true
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			r.eof = true
			if !errors.Is(err, io.EOF) {
				r.err = fmt.Errorf("%s: line %d: %w", r.cov.File, r.cov.Lines+1, err)
				return "", false, r.err
			}
			if len(buf) == 0 {
				return "", false, io.EOF
			}
		}
		break
	}
	if n := len(buf); n > 0 && buf[n-1] == '\n' {
		buf = buf[:n-1]
	}
	if n := len(buf); n > 0 && buf[n-1] == '\r' {
		buf = buf[:n-1]
	}
	return string(buf), cut, nil
}

// Next parses the next record into rec; false at the end or on a read
// error (see Err). Lines that do not parse are counted, not returned.
func (r *Reader) Next(rec *Record) bool {
	for {
		var line string
		var cut bool
		if len(r.pending) > 0 {
			line, cut = r.pending[0], r.pendLen[0]
			r.pending, r.pendLen = r.pending[1:], r.pendLen[1:]
		} else {
			var err error
			line, cut, err = r.readLine()
			if err != nil {
				return false
			}
		}
		r.cov.Lines++
		n := r.cov.Lines
		switch {
		case cut:
			r.skip(n, "too-long", fmt.Sprintf("longer than %d bytes", r.opt.MaxLine), line)
			continue
		case len(line) == 0 || line == " ":
			r.skip(n, "blank", "empty line", line)
			continue
		}
		*rec = Record{Line: n}
		if err := r.parser.Parse(line, rec); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				r.skip(n, pe.Reason, pe.Msg, line)
			} else {
				r.skip(n, "malformed", err.Error(), line)
			}
			continue
		}
		rec.Raw = line
		r.cov.Parsed++
		return true
	}
}

func (r *Reader) skip(n int, reason, detail, line string) {
	r.cov.Skipped[reason]++
	if reason == "directive" || len(r.cov.Examples) >= r.opt.Examples {
		return
	}
	r.cov.Examples = append(r.cov.Examples, SkipExample{Line: n, Reason: reason, Detail: detail, Text: clip(line, 200)})
}

// Err is the read error that ended Next, if any.
func (r *Reader) Err() error { return r.err }

// Coverage reports the lines read so far.
func (r *Reader) Coverage() Coverage { return r.cov }

// Format is the format in use (given or detected).
func (r *Reader) Format() string { return r.cov.Format }

// readFile calls fn for every record of a file.
func readFile(path string, opt ReaderOptions, fn func(*Record) error) (Coverage, error) {
	f, err := os.Open(path) // #nosec G304 -- the analyst names the log file to read.
	if err != nil {
		return Coverage{}, fmt.Errorf("weblog: %w", err)
	}
	defer f.Close()
	rd, err := NewReader(f, path, opt)
	if err != nil {
		return Coverage{}, fmt.Errorf("weblog: %w", err)
	}
	var rec Record
	for rd.Next(&rec) {
		if err := fn(&rec); err != nil {
			return rd.Coverage(), err
		}
	}
	return rd.Coverage(), rd.Err()
}
