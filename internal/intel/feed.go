package intel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// DefaultMaxFeedBytes bounds one feed file (and each file of a MISP feed).
const DefaultMaxFeedBytes = 256 << 20

// MaxFeedObjects bounds the objects (STIX objects, MISP attributes, CSV
// rows) read from one feed.
const MaxFeedObjects = 10_000_000

// ErrTooLarge is wrapped when an input exceeds its size bound.
var ErrTooLarge = errors.New("input too large")

// Rejection is one object, attribute or line left out of a feed, with the
// reason. Where locates it: "objects[3]", "line 12", "event <uuid>
// attribute <uuid>".
type Rejection struct {
	Where  string `json:"where"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

// Feed is what a parser read from one feed.
type Feed struct {
	Format     string         `json:"format"`
	Indicators []Indicator    `json:"indicators"`
	Rejected   []Rejection    `json:"rejected,omitempty"`
	Counts     map[string]int `json:"counts"` // objects read, by STIX type, MISP attribute type or CSV type
}

func newFeed(format string) *Feed { return &Feed{Format: format, Counts: map[string]int{}} }

func (f *Feed) reject(where, id, format string, args ...any) {
	f.Rejected = append(f.Rejected, Rejection{Where: where, ID: id, Reason: fmt.Sprintf(format, args...)})
}

// ParseOptions apply to every parser.
type ParseOptions struct {
	// Source names the feed in every indicator (default: the file name).
	Source string
	// Confidence is used when the feed states none (default 50).
	Confidence int
	// TLP is used when the feed states none.
	TLP TLP
	// MaxBytes bounds the input (default DefaultMaxFeedBytes).
	MaxBytes int64
	// Schemas validates STIX objects against the STIX JSON schemas when set.
	Schemas *SchemaSet
	// Observables turns standalone STIX cyber-observable objects
	// (ipv4-addr, domain-name, url, file, email-addr) into indicators.
	Observables bool
	// CSV maps the columns of CSV/TXT feeds.
	CSV CSVMapping
	// Now stamps FirstSeen where a feed gives no time (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

func (o ParseOptions) withDefaults() ParseOptions {
	if o.Confidence == 0 {
		o.Confidence = 50
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxFeedBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Parser reads one feed format.
type Parser interface {
	// Format is the name used with --format.
	Format() string
	// Detect reports whether the first bytes of a file look like this format.
	Detect(head []byte) bool
	// Parse reads a whole feed; only input-level failures (unreadable,
	// too large, not the format at all) are errors, bad objects are
	// Rejections.
	Parse(ctx context.Context, r io.Reader, opts ParseOptions) (*Feed, error)
}

// Registry holds the parsers by format name.
type Registry struct {
	parsers []Parser
}

// NewRegistry returns a registry with every built-in parser: stix,
// misp-event and csv (detection tries them in that order; csv accepts
// anything). MISP feed directories are read by LoadPath.
func NewRegistry() *Registry {
	return &Registry{parsers: []Parser{stixParser{}, mispEventParser{}, csvParser{}}}
}

var (
	_ Parser = stixParser{}
	_ Parser = mispEventParser{}
	_ Parser = csvParser{}
)

// Formats lists the registered format names.
func (r *Registry) Formats() []string {
	var out []string
	for _, p := range r.parsers {
		out = append(out, p.Format())
	}
	return append(out, "misp-feed")
}

// Lookup returns the parser for a format name.
func (r *Registry) Lookup(format string) (Parser, bool) {
	for _, p := range r.parsers {
		if p.Format() == format {
			return p, true
		}
	}
	return nil, false
}

// Detect returns the first parser whose Detect accepts head.
func (r *Registry) Detect(head []byte) Parser {
	for _, p := range r.parsers {
		if p.Detect(head) {
			return p
		}
	}
	return csvParser{}
}

// LoadPath reads a feed file, or a MISP feed directory (one holding
// manifest.json). format may be empty to detect it.
func (r *Registry) LoadPath(ctx context.Context, path, format string, opts ParseOptions) (*Feed, error) {
	if opts.Source == "" {
		opts.Source = filepath.Base(path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("intel: %w", err)
	}
	if st.IsDir() || format == "misp-feed" {
		if format != "" && format != "misp-feed" {
			return nil, fmt.Errorf("intel: %s is a directory, not a %s file", path, format)
		}
		return ParseMISPFeedDir(ctx, path, opts)
	}
	f, err := os.Open(path) // #nosec G304 -- the operator names the feed
	if err != nil {
		return nil, fmt.Errorf("intel: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var p Parser
	if format == "" {
		head, _ := br.Peek(4096)
		p = r.Detect(head)
	} else {
		var ok bool
		if p, ok = r.Lookup(format); !ok {
			return nil, fmt.Errorf("intel: unknown feed format %q (known: %v)", format, r.Formats())
		}
	}
	feed, err := p.Parse(ctx, br, opts)
	if err != nil {
		return nil, fmt.Errorf("intel: %s: %w", path, err)
	}
	return feed, nil
}

// readBounded reads all of r, failing when it is longer than max.
func readBounded(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return b, nil
}

// firstNonSpace returns the first byte of b that is not white space.
func firstNonSpace(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// SortedCounts renders counts as "type=n" in name order.
func SortedCounts(c map[string]int) []string {
	var out []string
	for k, v := range c {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}
