package vuln

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// MaxInputSize bounds how much of a scan file an importer reads.
const MaxInputSize = 256 << 20

// DetectSize is how many leading bytes Detect looks at.
const DetectSize = 4096

// ErrUnknownFormat is returned when no importer matches a format name or
// a file's content.
var ErrUnknownFormat = errors.New("unknown scan format")

// ErrTooLarge is returned for inputs over MaxInputSize.
var ErrTooLarge = fmt.Errorf("scan input exceeds %d MiB", MaxInputSize>>20)

// Importer turns one scanner's output into findings.
type Importer interface {
	// Format is the registry name, e.g. "nuclei".
	Format() string
	// Detect reports whether a file with this name starting with head
	// (at most DetectSize bytes) looks like this importer's format.
	Detect(filename string, head []byte) bool
	// Import parses the whole input. On error it returns no findings.
	Import(ctx context.Context, r io.Reader) ([]Finding, error)
}

// Registry holds importers by format name.
type Registry struct {
	byName map[string]Importer
	order  []Importer
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byName: map[string]Importer{}} }

// DefaultRegistry returns a new registry holding every built-in importer.
func DefaultRegistry() *Registry {
	r := NewRegistry()
	for _, imp := range []Importer{&sarifImporter{}, &nucleiImporter{}, &trivyImporter{}, &nmapImporter{}, &openvasImporter{}, &openvasCSVImporter{},
		&tenableImporter{}, &tenableCSVImporter{}, &zapImporter{}, &niktoImporter{}, &testsslImporter{},
		&osvImporter{}, &govulncheckImporter{}, &grypeImporter{}, &qualysImporter{},
		&openscapImporter{}, &burpImporter{}, &acunetixImporter{}, &masscanImporter{}, &naabuImporter{}, &gitleaksImporter{}, &semgrepImporter{},
		&wazuhImporter{}, &lynisImporter{}} {
		if err := r.Register(imp); err != nil {
			panic(err) // built-in names are distinct; a clash is a programming error
		}
	}
	return r
}

// Register adds an importer; registering a format name twice is an error.
func (r *Registry) Register(imp Importer) error {
	name := imp.Format()
	if _, dup := r.byName[name]; dup {
		return fmt.Errorf("importer %q already registered", name)
	}
	r.byName[name] = imp
	r.order = append(r.order, imp)
	return nil
}

// Formats lists the registered format names, sorted.
func (r *Registry) Formats() []string {
	names := make([]string, 0, len(r.order))
	for _, imp := range r.order {
		names = append(names, imp.Format())
	}
	slices.Sort(names)
	return names
}

// Lookup returns the importer for a format name.
func (r *Registry) Lookup(format string) (Importer, error) {
	if imp, ok := r.byName[strings.ToLower(format)]; ok {
		return imp, nil
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownFormat, format, strings.Join(r.Formats(), ", "))
}

// Detect returns the first registered importer that recognises the file.
func (r *Registry) Detect(filename string, head []byte) (Importer, error) {
	if len(head) > DetectSize {
		head = head[:DetectSize]
	}
	for _, imp := range r.order {
		if imp.Detect(filename, head) {
			return imp, nil
		}
	}
	return nil, fmt.Errorf("%s: %w: could not detect the format, pass it explicitly (known: %s)", filename, ErrUnknownFormat, strings.Join(r.Formats(), ", "))
}

// ParseFile imports a file with the named format, or the detected one when
// format is empty. Errors name the file.
func (r *Registry) ParseFile(ctx context.Context, format, path string) ([]Finding, Importer, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	var imp Importer
	if format == "" {
		imp, err = r.Detect(filepath.Base(path), data)
	} else {
		imp, err = r.Lookup(format)
	}
	if err != nil {
		return nil, nil, err
	}
	fs, err := imp.Import(ctx, bytes.NewReader(data))
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) && pe.File == "" {
			pe.File = path
			return nil, imp, pe
		}
		return nil, imp, fmt.Errorf("%s: %w", path, err)
	}
	return fs, imp, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path) // #nosec G304 -- the user names the file to parse
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := readAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// readAll reads at most MaxInputSize bytes and fails beyond that.
func readAll(r io.Reader) ([]byte, error) { return readAtMost(r, MaxInputSize) }

func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, ErrTooLarge
	}
	return data, nil
}

// ParseError locates a problem in a scan file.
type ParseError struct {
	File   string // filled by ParseFile
	Format string
	Line   int   // 1-based, 0 when unknown
	Offset int64 // byte offset, -1 when unknown
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Format != "" {
		fmt.Fprintf(&b, "%s: ", e.Format)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d", e.Line)
		if e.Offset >= 0 {
			fmt.Fprintf(&b, " (offset %d)", e.Offset)
		}
		b.WriteString(": ")
	} else if e.Offset >= 0 {
		fmt.Fprintf(&b, "offset %d: ", e.Offset)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// errAt builds a ParseError at a byte offset of data, computing the line.
func errAt(format string, data []byte, offset int64, err error) *ParseError {
	if offset < 0 {
		return &ParseError{Format: format, Offset: -1, Err: err}
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line := bytes.Count(data[:offset], []byte{'\n'}) + 1
	return &ParseError{Format: format, Line: line, Offset: offset, Err: err}
}

var errTruncatedRecord = errorString("truncated record: unexpected end of input")

type errorString string

func (e errorString) Error() string { return string(e) }
