// Package enrich adds threat context to vulnerability findings: membership
// of CISA's Known Exploited Vulnerabilities (KEV) catalogue, FIRST's EPSS
// exploit probability, and a priority score combining them with the CVSS
// base score and the asset's importance and exposure.
//
// The loaders read the published formats directly (the KEV JSON catalogue
// and the EPSS CSV, plain or gzip-compressed). Both bound the input size,
// validate every record and report errors with a byte offset (KEV) or a
// line number (EPSS); a file with any bad record gives an error and no data.
package enrich

import (
	"errors"
	"io"
	"regexp"
	"strings"
)

// Options bounds what a loader accepts. The zero value uses the defaults.
type Options struct {
	// MaxBytes is the largest input accepted, after decompression for
	// gzip-compressed EPSS files. 0 means the loader's default
	// (DefaultMaxKEVBytes or DefaultMaxEPSSBytes).
	MaxBytes int64
}

// ErrTooLarge is returned (wrapped) when an input exceeds Options.MaxBytes.
var ErrTooLarge = errors.New("input exceeds size limit")

// cveRE is the CVE id pattern of the KEV schema: CVE-YYYY-NNNN with four to
// nineteen digits in the sequence number.
var cveRE = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,19}$`)

// ValidCVE reports whether id is a well-formed, upper-case CVE identifier.
func ValidCVE(id string) bool { return cveRE.MatchString(id) }

// NormalizeCVE trims and upper-cases a CVE id so "cve-2021-44228 " and
// "CVE-2021-44228" look up the same entry.
func NormalizeCVE(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

// limitReader reads at most max bytes from r and fails with ErrTooLarge
// when r holds more.
type limitReader struct {
	r   io.Reader
	n   int64 // bytes still allowed
	err error // sticky ErrTooLarge, so callers that retry see it again
}

func newLimitReader(r io.Reader, max int64) *limitReader {
	return &limitReader{r: r, n: max}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.n <= 0 {
		// Probe one byte: exactly max bytes is fine, more is not.
		var b [1]byte
		n, err := l.r.Read(b[:])
		if n > 0 {
			l.err = ErrTooLarge
			return 0, l.err
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
