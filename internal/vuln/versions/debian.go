package versions

import (
	"fmt"
	"strconv"
	"strings"
)

// debVersion is [epoch:]upstream[-revision].
type debVersion struct {
	epoch              uint64
	upstream, revision string
}

func parseDebian(v string) (debVersion, error) {
	var d debVersion
	rest := v
	if e, r, ok := strings.Cut(v, ":"); ok {
		n, err := strconv.ParseUint(e, 10, 32)
		if err != nil {
			return d, fmt.Errorf("%w: %q: epoch %q is not a number", ErrInvalid, v, e)
		}
		d.epoch, rest = n, r
	}
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		d.upstream, d.revision = rest[:i], rest[i+1:]
		if d.revision == "" {
			return d, fmt.Errorf("%w: %q: empty revision", ErrInvalid, v)
		}
	} else {
		d.upstream = rest
	}
	if d.upstream == "" || !isDigit(d.upstream[0]) {
		return d, fmt.Errorf("%w: %q: the upstream version must start with a digit", ErrInvalid, v)
	}
	for i := 0; i < len(d.upstream); i++ {
		if c := d.upstream[i]; !isDigit(c) && !isAlpha(c) && !strings.ContainsRune(".+~-:", rune(c)) {
			return d, fmt.Errorf("%w: %q: %q is not allowed in the upstream version", ErrInvalid, v, c)
		}
	}
	return d, nil
}

// CompareDebian orders two Debian package versions as
// `dpkg --compare-versions` does.
func CompareDebian(a, b string) (int, error) {
	da, err := parseDebian(a)
	if err != nil {
		return 0, err
	}
	db, err := parseDebian(b)
	if err != nil {
		return 0, err
	}
	if da.epoch != db.epoch {
		if da.epoch < db.epoch {
			return -1, nil
		}
		return 1, nil
	}
	if c := verrevcmp(da.upstream, db.upstream); c != 0 {
		return c, nil
	}
	return verrevcmp(da.revision, db.revision), nil
}

// debOrder is dpkg's order of one character of a non-digit run: "~" before
// the end of the string, letters before other characters.
func debOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

// verrevcmp is dpkg's comparison: alternating non-digit runs (compared
// character by character with debOrder) and digit runs (numerically).
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := debOrder(a, i), debOrder(b, j)
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		si := i
		for i < len(a) && isDigit(a[i]) {
			i++
		}
		sj := j
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if c := compareNumeric(a[si:i], b[sj:j]); c != 0 {
			return c
		}
	}
	return 0
}
