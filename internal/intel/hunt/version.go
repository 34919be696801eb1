package hunt

import (
	"errors"
	"fmt"
	"strings"
)

// Scheme names how the versions of a product are ordered.
type Scheme string

// Version schemes.
const (
	// SchemeDotted orders dotted release numbers ("1.2.10" > "1.2.9"; a
	// missing part counts as 0, so "1.2" = "1.2.0"); an optional leading
	// "v" and "+build" metadata are ignored, and a "-pre.release" suffix
	// sorts before the release, with the precedence rules of Semantic
	// Versioning 2.0.0 for its identifiers.
	SchemeDotted Scheme = "dotted"
	// SchemeDebian orders Debian package versions ([epoch:]upstream[-revision])
	// as dpkg does: "~" sorts before anything, even the end of the string.
	SchemeDebian Scheme = "debian"
)

// Bounds of versions and ranges.
const (
	MaxVersionLen   = 256  // bytes in one version
	MaxRangeLen     = 1024 // bytes in one range expression
	maxAlternatives = 16   // "||"-separated alternatives in a range
	maxConditions   = 8    // comma-separated conditions in one alternative
)

// ErrBadVersion is wrapped by every version and range error.
var ErrBadVersion = errors.New("bad version")

func checkVersion(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: empty", ErrBadVersion)
	case len(v) > MaxVersionLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrBadVersion, MaxVersionLen)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: %q: byte %d is not a printable ASCII character", ErrBadVersion, v, i)
		}
	}
	return nil
}

// CompareVersions orders a and b under scheme s: -1, 0 or +1. Versions must
// be printable ASCII without spaces and at most MaxVersionLen bytes.
func CompareVersions(s Scheme, a, b string) (int, error) {
	if err := checkVersion(a); err != nil {
		return 0, err
	}
	if err := checkVersion(b); err != nil {
		return 0, err
	}
	switch s {
	case SchemeDebian:
		return compareDebian(a, b)
	case SchemeDotted, "":
		if err := checkDotted(a); err != nil {
			return 0, err
		}
		if err := checkDotted(b); err != nil {
			return 0, err
		}
		return compareDotted(a, b), nil
	}
	return 0, fmt.Errorf("%w: unknown scheme %q", ErrBadVersion, s)
}

// checkDotted accepts versions that start with a letter or digit and hold
// only letters, digits and ". - + _ ~".
func checkDotted(v string) error {
	if !isAlnum(v[0]) {
		return fmt.Errorf("%w: %q does not start with a letter or digit", ErrBadVersion, v)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isAlnum(c) && strings.IndexByte(".-+_~", c) < 0 {
			return fmt.Errorf("%w: %q has %q", ErrBadVersion, v, c)
		}
	}
	return nil
}

func isAlnum(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// compareDigits orders two runs of decimal digits by value without
// converting them, so long runs cannot overflow.
func compareDigits(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// leadDigits splits s into its leading digits and the rest.
func leadDigits(s string) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func compareDotted(a, b string) int {
	ra, pa := splitDotted(a)
	rb, pb := splitDotted(b)
	sa, sb := strings.Split(ra, "."), strings.Split(rb, ".")
	for i := range max(len(sa), len(sb)) {
		x, y := "0", "0"
		if i < len(sa) && sa[i] != "" {
			x = sa[i]
		}
		if i < len(sb) && sb[i] != "" {
			y = sb[i]
		}
		nx, tx := leadDigits(x)
		ny, ty := leadDigits(y)
		if nx == "" {
			nx = "0"
		}
		if ny == "" {
			ny = "0"
		}
		if c := compareDigits(nx, ny); c != 0 {
			return c
		}
		if c := strings.Compare(tx, ty); c != 0 {
			return c
		}
	}
	// A release sorts after its pre-releases.
	switch {
	case pa == "" && pb == "":
		return 0
	case pa == "":
		return 1
	case pb == "":
		return -1
	}
	ia, ib := strings.Split(pa, "."), strings.Split(pb, ".")
	for i := range min(len(ia), len(ib)) {
		x, y := ia[i], ib[i]
		dx, dy := allDigits(x), allDigits(y)
		var c int
		switch {
		case dx && dy:
			c = compareDigits(x, y)
		case dx:
			c = -1 // numeric identifiers sort before alphanumeric ones
		case dy:
			c = 1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	return sign(len(ia) - len(ib))
}

// splitDotted drops a leading "v" and "+build" metadata and splits the
// release from the pre-release.
func splitDotted(v string) (release, pre string) {
	if len(v) > 1 && (v[0] == 'v' || v[0] == 'V') && isDigit(v[1]) {
		v = v[1:]
	}
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i]
	}
	if i := strings.IndexByte(v, '-'); i >= 0 {
		return v[:i], v[i+1:]
	}
	return v, ""
}

type debVersion struct{ epoch, upstream, revision string }

func parseDebian(v string) (debVersion, error) {
	var d debVersion
	if i := strings.IndexByte(v, ':'); i >= 0 {
		d.epoch, v = v[:i], v[i+1:]
		if !allDigits(d.epoch) {
			return d, fmt.Errorf("%w: epoch %q is not a number", ErrBadVersion, d.epoch)
		}
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v, d.revision = v[:i], v[i+1:]
		if d.revision == "" {
			return d, fmt.Errorf("%w: empty revision", ErrBadVersion)
		}
	}
	if v == "" {
		return d, fmt.Errorf("%w: empty upstream version", ErrBadVersion)
	}
	if !isDigit(v[0]) {
		return d, fmt.Errorf("%w: upstream version %q does not start with a digit", ErrBadVersion, v)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte(".+-~:", c) >= 0) {
			return d, fmt.Errorf("%w: upstream version %q has %q", ErrBadVersion, v, c)
		}
	}
	for i := 0; i < len(d.revision); i++ {
		c := d.revision[i]
		if !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte(".+~", c) >= 0) {
			return d, fmt.Errorf("%w: revision %q has %q", ErrBadVersion, d.revision, c)
		}
	}
	if d.epoch == "" {
		d.epoch = "0"
	}
	d.upstream = v
	return d, nil
}

func compareDebian(a, b string) (int, error) {
	x, err := parseDebian(a)
	if err != nil {
		return 0, err
	}
	y, err := parseDebian(b)
	if err != nil {
		return 0, err
	}
	if c := compareDigits(x.epoch, y.epoch); c != 0 {
		return c, nil
	}
	if c := verrevcmp(x.upstream, y.upstream); c != 0 {
		return c, nil
	}
	return verrevcmp(x.revision, y.revision), nil
}

// debOrder is the weight of a character in the non-digit parts of a
// Debian version: "~" before the end, the end before letters, letters
// before everything else.
func debOrder(c byte) int {
	switch {
	case c == '~':
		return -1
	case isDigit(c):
		return 0
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return int(c)
	}
	return int(c) + 256
}

// verrevcmp is the comparison of dpkg's policy: alternate non-digit runs
// (compared character by character with debOrder) and digit runs
// (compared by value).
func verrevcmp(a, b string) int {
	for a != "" || b != "" {
		for (a != "" && !isDigit(a[0])) || (b != "" && !isDigit(b[0])) {
			ac, bc := 0, 0
			if a != "" {
				ac = debOrder(a[0])
			}
			if b != "" {
				bc = debOrder(b[0])
			}
			if ac != bc {
				return sign(ac - bc)
			}
			a, b = a[1:], b[1:]
		}
		na, ra := leadDigits(a)
		nb, rb := leadDigits(b)
		if c := compareDigits(na, nb); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return 0
}

// Range is a set of versions: alternatives separated by "||", each a
// comma-separated list of conditions that must all hold. A condition is an
// operator (=, ==, !=, <, <=, >, >=; none means =) and a version. "*" or an
// empty range holds every version. Example: ">=2.4.0, <2.4.58 || =2.2.34".
type Range struct {
	Scheme Scheme
	text   string
	alts   [][]condition
}

type condition struct {
	op string
	v  string
}

// ParseRange reads a range expression for versions of scheme s.
func ParseRange(s Scheme, expr string) (Range, error) {
	if s == "" {
		s = SchemeDotted
	}
	if s != SchemeDotted && s != SchemeDebian {
		return Range{}, fmt.Errorf("%w: unknown scheme %q", ErrBadVersion, s)
	}
	expr = strings.TrimSpace(expr)
	r := Range{Scheme: s, text: expr}
	if len(expr) > MaxRangeLen {
		return Range{}, fmt.Errorf("%w: range longer than %d bytes", ErrBadVersion, MaxRangeLen)
	}
	if expr == "" || expr == "*" {
		return r, nil
	}
	alts := strings.Split(expr, "||")
	if len(alts) > maxAlternatives {
		return Range{}, fmt.Errorf("%w: more than %d alternatives", ErrBadVersion, maxAlternatives)
	}
	for ai, alt := range alts {
		conds := strings.Split(alt, ",")
		if len(conds) > maxConditions {
			return Range{}, fmt.Errorf("%w: alternative %d: more than %d conditions", ErrBadVersion, ai+1, maxConditions)
		}
		var cs []condition
		for _, c := range conds {
			c = strings.TrimSpace(c)
			op := ""
			for _, o := range []string{"==", "!=", "<=", ">=", "<", ">", "="} {
				if strings.HasPrefix(c, o) {
					op = o
					break
				}
			}
			v := strings.TrimSpace(c[len(op):])
			if op == "" || op == "==" {
				op = "="
			}
			if err := checkVersion(v); err != nil {
				return Range{}, fmt.Errorf("alternative %d, condition %q: %w", ai+1, c, err)
			}
			if _, err := CompareVersions(s, v, v); err != nil {
				return Range{}, fmt.Errorf("alternative %d, condition %q: %w", ai+1, c, err)
			}
			cs = append(cs, condition{op: op, v: v})
		}
		r.alts = append(r.alts, cs)
	}
	return r, nil
}

// String returns the range as written ("*" for every version).
func (r Range) String() string {
	if r.text == "" {
		return "*"
	}
	return r.text
}

// All reports whether the range holds every version.
func (r Range) All() bool { return len(r.alts) == 0 }

// Contains reports whether version v is in the range.
func (r Range) Contains(v string) (bool, error) {
	if err := checkVersion(v); err != nil {
		return false, err
	}
	if r.All() {
		return true, nil
	}
	for _, alt := range r.alts {
		ok := true
		for _, c := range alt {
			cmp, err := CompareVersions(r.Scheme, v, c.v)
			if err != nil {
				return false, err
			}
			switch c.op {
			case "=":
				ok = cmp == 0
			case "!=":
				ok = cmp != 0
			case "<":
				ok = cmp < 0
			case "<=":
				ok = cmp <= 0
			case ">":
				ok = cmp > 0
			case ">=":
				ok = cmp >= 0
			}
			if !ok {
				break
			}
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}
