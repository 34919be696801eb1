package scan

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/vuln/versions"
)

// Limits of the OSV loader.
const (
	// MaxAdvisoryBytes bounds one OSV JSON document.
	MaxAdvisoryBytes = 4 << 20
	// MaxAdvisories bounds the documents of one database.
	MaxAdvisories = 500_000
	maxAffected   = 1000
	maxEvents     = 1000
	maxVersions   = 20000
)

// Advisory is the part of an OSV document (schema 1.x) the version check
// uses.
type Advisory struct {
	ID         string        `json:"id"`
	Summary    string        `json:"summary,omitempty"`
	Details    string        `json:"details,omitempty"`
	Aliases    []string      `json:"aliases,omitempty"`
	Withdrawn  string        `json:"withdrawn,omitempty"`
	Affected   []OSVAffected `json:"affected,omitempty"`
	Severity   []OSVSeverity `json:"severity,omitempty"`
	References []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"references,omitempty"`
	DatabaseSpecific struct {
		Severity string `json:"severity,omitempty"`
	} `json:"database_specific,omitzero"`
}

// OSVSeverity is one severity score of an advisory.
type OSVSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// OSVAffected is one affected package with its ranges and versions.
type OSVAffected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
		PURL      string `json:"purl,omitempty"`
	} `json:"package"`
	Ranges []struct {
		Type   string           `json:"type"`
		Events []versions.Event `json:"events"`
	} `json:"ranges,omitempty"`
	Versions []string `json:"versions,omitempty"`
}

// ParseOSV decodes and checks one OSV document.
func ParseOSV(data []byte) (Advisory, error) {
	var a Advisory
	if len(data) > MaxAdvisoryBytes {
		return a, fmt.Errorf("advisory larger than %d bytes", MaxAdvisoryBytes)
	}
	if err := json.Unmarshal(data, &a); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return a, fmt.Errorf("offset %d: %w", se.Offset, err)
		}
		return a, err
	}
	switch {
	case strings.TrimSpace(a.ID) == "":
		return a, errors.New("advisory has no id")
	case len(a.ID) > 200:
		return a, errors.New("advisory id longer than 200 bytes")
	case len(a.Affected) > maxAffected:
		return a, fmt.Errorf("advisory %s: more than %d affected packages", a.ID, maxAffected)
	}
	for _, af := range a.Affected {
		n := len(af.Versions)
		for _, r := range af.Ranges {
			n += len(r.Events)
			if len(r.Events) > maxEvents {
				return a, fmt.Errorf("advisory %s: more than %d events in a range", a.ID, maxEvents)
			}
		}
		if n > maxVersions {
			return a, fmt.Errorf("advisory %s: more than %d versions", a.ID, maxVersions)
		}
	}
	return a, nil
}

// CVEs returns the advisory's CVE ids (its id or aliases).
func (a *Advisory) CVEs() []string {
	var out []string
	for _, id := range append([]string{a.ID}, a.Aliases...) {
		if strings.HasPrefix(id, "CVE-") && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// CVSSVector returns the advisory's CVSS v3 vector, if any.
func (a *Advisory) CVSSVector() string {
	for _, s := range a.Severity {
		if s.Type == "CVSS_V3" {
			return s.Score
		}
	}
	return ""
}

type pkgKey struct{ ecosystem, name string }

// OSVDB is an in-memory OSV advisory database indexed by package.
type OSVDB struct {
	byPkg map[pkgKey][]*Advisory
	n     int
}

// NewOSVDB returns an empty database.
func NewOSVDB() *OSVDB { return &OSVDB{byPkg: map[pkgKey][]*Advisory{}} }

// Len is the number of advisories held.
func (db *OSVDB) Len() int { return db.n }

// ecosystemBase is an OSV ecosystem without its release ("Debian:12" →
// "debian").
func ecosystemBase(e string) string {
	b, _, _ := strings.Cut(strings.TrimSpace(e), ":")
	return strings.ToLower(b)
}

// Add indexes an advisory; withdrawn advisories are left out.
func (db *OSVDB) Add(a Advisory) error {
	if a.Withdrawn != "" {
		return nil
	}
	if db.n >= MaxAdvisories {
		return fmt.Errorf("more than %d advisories", MaxAdvisories)
	}
	p := &a
	seen := map[pkgKey]bool{}
	for _, af := range a.Affected {
		k := pkgKey{ecosystemBase(af.Package.Ecosystem), strings.ToLower(af.Package.Name)}
		if k.name == "" || seen[k] {
			continue
		}
		seen[k] = true
		db.byPkg[k] = append(db.byPkg[k], p)
	}
	db.n++
	return nil
}

// Match returns the advisories affecting version of package name in an
// ecosystem (OSV names: "Debian:12", "PyPI", "npm", ...). Explicit
// versions lists and ECOSYSTEM/SEMVER ranges count; GIT ranges (commits)
// do not. Advisories whose ranges cannot be evaluated are skipped.
func (db *OSVDB) Match(ecosystem, name, version string) []*Advisory {
	k := pkgKey{ecosystemBase(ecosystem), strings.ToLower(name)}
	var out []*Advisory
	for _, a := range db.byPkg[k] {
		if affects(a, k, ecosystem, version) {
			out = append(out, a)
		}
	}
	return out
}

func affects(a *Advisory, k pkgKey, ecosystem, version string) bool {
	for _, af := range a.Affected {
		if ecosystemBase(af.Package.Ecosystem) != k.ecosystem || !strings.EqualFold(af.Package.Name, k.name) {
			continue
		}
		// A release-specific entry ("Debian:12") applies only to that
		// release when the caller names one.
		// ("Ubuntu:22.04:LTS" is the release "Ubuntu:22.04").
		if strings.Contains(af.Package.Ecosystem, ":") && strings.Contains(ecosystem, ":") &&
			!releaseMatches(af.Package.Ecosystem, ecosystem) {
			continue
		}
		if slices.Contains(af.Versions, version) {
			return true
		}
		scheme := versions.SchemeFor(af.Package.Ecosystem)
		for _, r := range af.Ranges {
			s := scheme
			switch r.Type {
			case "SEMVER":
				s = versions.Semver
			case "ECOSYSTEM":
			default:
				continue
			}
			if ok, err := versions.InEvents(s, version, r.Events); err == nil && ok {
				return true
			}
		}
	}
	return false
}

// LoadOSV reads every *.json file under root of fsys (a directory tree,
// or an opened zip as OSV publishes them per ecosystem). A file that does
// not parse is an error naming it.
func LoadOSV(fsys fs.FS) (*OSVDB, error) {
	db := NewOSVDB()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".json" {
			return nil
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(f, MaxAdvisoryBytes+1))
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		a, err := ParseOSV(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := db.Add(a); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("osv database: %w", err)
	}
	return db, nil
}

// LoadOSVZip reads an OSV zip archive held in memory.
func LoadOSVZip(data []byte) (*OSVDB, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("osv database: %w", err)
	}
	if len(zr.File) > MaxAdvisories {
		return nil, fmt.Errorf("osv database: more than %d files", MaxAdvisories)
	}
	return LoadOSV(zr)
}

// Merge adds the advisories of other (another ecosystem's export).
func (db *OSVDB) Merge(other *OSVDB) error {
	if db.n+other.n > MaxAdvisories {
		return fmt.Errorf("more than %d advisories", MaxAdvisories)
	}
	for k, as := range other.byPkg {
		db.byPkg[k] = append(db.byPkg[k], as...)
	}
	db.n += other.n
	return nil
}
