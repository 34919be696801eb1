// Package versions orders package versions the way their ecosystems do —
// Debian (dpkg), RPM (rpmvercmp) and Semantic Versioning 2.0.0, with a
// lenient dotted order for everything else — and tests versions against
// advisory ranges (introduced / fixed / last affected, as OSV writes them).
package versions

import (
	"errors"
	"fmt"
	"strings"
)

// Scheme names a version order.
type Scheme string

// Version schemes.
const (
	Debian Scheme = "deb"
	RPM    Scheme = "rpm"
	Semver Scheme = "semver"
	// Generic orders dotted versions part by part, numbers numerically and
	// words lexically; PyPI, Packagist, Maven and product versions from
	// service banners ("2.4.49", "8.9p1") use it.
	Generic Scheme = "generic"
	// PEP440 is Generic where the single letters a, b and c (PyPI's
	// alpha, beta and release candidate) are pre-releases too.
	PEP440 Scheme = "pep440"
)

// MaxLen bounds a version string.
const MaxLen = 256

// ErrInvalid is wrapped by every error about a malformed version.
var ErrInvalid = errors.New("invalid version")

// SchemeFor returns the order of an OSV ecosystem name ("Debian:12",
// "Red Hat", "npm", ...).
func SchemeFor(ecosystem string) Scheme {
	eco, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(ecosystem)), ":")
	switch eco {
	case "debian", "ubuntu":
		return Debian
	case "red hat", "redhat", "almalinux", "rocky linux", "opensuse", "suse", "mageia", "openeuler", "centos", "fedora", "oracle linux":
		return RPM
	case "npm", "go", "crates.io", "nuget", "hex", "pub", "semver":
		return Semver
	case "pypi":
		return PEP440
	}
	return Generic
}

// Compare orders a and b under s: -1, 0 or +1.
func Compare(s Scheme, a, b string) (int, error) {
	for _, v := range []string{a, b} {
		if err := check(v); err != nil {
			return 0, err
		}
	}
	switch s {
	case Debian:
		return CompareDebian(a, b)
	case RPM:
		return CompareRPM(a, b), nil
	case Semver:
		return CompareSemver(a, b)
	case Generic, "":
		return CompareGeneric(a, b), nil
	case PEP440:
		return compareDotted(a, b, true), nil
	}
	return 0, fmt.Errorf("%w: unknown scheme %q", ErrInvalid, s)
}

func check(v string) error {
	if v == "" {
		return fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(v) > MaxLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxLen)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: %q: byte %d is not printable ASCII", ErrInvalid, v, i)
		}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// compareNumeric orders two digit strings numerically, of any length.
func compareNumeric(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

// CompareGeneric orders dotted versions: a leading "v" is ignored, parts
// split at non-alphanumerics and at digit/letter boundaries, numbers
// compare numerically and before words, a missing part counts as 0 — so
// "1.2" = "1.2.0" < "1.2.1" and "8.9p1" < "8.9p2" — and a part that is a
// pre-release word (alpha, beta, rc, dev, pre) sorts before the release,
// while other letters are patch levels ("1.3.6b" > "1.3.6").
func CompareGeneric(a, b string) int { return compareDotted(a, b, false) }

func compareDotted(a, b string, letterPre bool) int {
	pa, pb := genericParts(a), genericParts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if c := compareGenericPart(x, y, letterPre); c != 0 {
			return c
		}
	}
	return 0
}

func isPre(w string, letterPre bool) bool {
	switch strings.ToLower(w) {
	case "a", "b", "c":
		return letterPre
	case "alpha", "beta", "rc", "pre", "preview", "dev", "snapshot", "milestone":
		return true
	}
	return false
}

func compareGenericPart(x, y string, letterPre bool) int {
	dx, dy := isDigit(x[0]), isDigit(y[0])
	switch {
	case dx && dy:
		return compareNumeric(x, y)
	case dx: // number against word: a pre-release word is lower
		if isPre(y, letterPre) {
			return 1
		}
		return -1
	case dy:
		if isPre(x, letterPre) {
			return -1
		}
		return 1
	}
	return sign(strings.Compare(strings.ToLower(x), strings.ToLower(y)))
}

func genericParts(v string) []string {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "v"), "V")
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i] // build metadata
	}
	var parts []string
	for i := 0; i < len(v); {
		switch c := v[i]; {
		case isDigit(c):
			j := i
			for j < len(v) && isDigit(v[j]) {
				j++
			}
			parts = append(parts, v[i:j])
			i = j
		case isAlpha(c):
			j := i
			for j < len(v) && isAlpha(v[j]) {
				j++
			}
			parts = append(parts, v[i:j])
			i = j
		default:
			i++
		}
	}
	// Trailing zero parts do not change the order ("1.2" = "1.2.0").
	for len(parts) > 1 && strings.Trim(parts[len(parts)-1], "0") == "" && isDigit(parts[len(parts)-1][0]) {
		parts = parts[:len(parts)-1]
	}
	return parts
}
