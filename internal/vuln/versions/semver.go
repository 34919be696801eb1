package versions

import (
	"fmt"
	"strings"
)

type semver struct {
	core [3]string
	pre  []string
}

// parseSemver accepts MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] with an
// optional leading "v" (Go modules write one).
func parseSemver(v string) (semver, error) {
	var s semver
	in := strings.TrimPrefix(v, "v")
	if i := strings.IndexByte(in, '+'); i >= 0 {
		if err := identifiers(v, in[i+1:], false); err != nil {
			return s, err
		}
		in = in[:i]
	}
	if i := strings.IndexByte(in, '-'); i >= 0 {
		pre := in[i+1:]
		if err := identifiers(v, pre, true); err != nil {
			return s, err
		}
		s.pre = strings.Split(pre, ".")
		in = in[:i]
	}
	parts := strings.Split(in, ".")
	if len(parts) != 3 {
		return s, fmt.Errorf("%w: %q is not MAJOR.MINOR.PATCH", ErrInvalid, v)
	}
	for k, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" || (len(p) > 1 && p[0] == '0') {
			return s, fmt.Errorf("%w: %q: %q is not a number without leading zeros", ErrInvalid, v, p)
		}
		s.core[k] = p
	}
	return s, nil
}

func identifiers(v, list string, pre bool) error {
	for id := range strings.SplitSeq(list, ".") {
		if id == "" {
			return fmt.Errorf("%w: %q: empty identifier", ErrInvalid, v)
		}
		for i := 0; i < len(id); i++ {
			if !isAlnum(id[i]) && id[i] != '-' {
				return fmt.Errorf("%w: %q: %q is not allowed in an identifier", ErrInvalid, v, id[i])
			}
		}
		if pre && len(id) > 1 && id[0] == '0' && strings.Trim(id, "0123456789") == "" {
			return fmt.Errorf("%w: %q: numeric identifier %q has a leading zero", ErrInvalid, v, id)
		}
	}
	return nil
}

// CompareSemver orders two versions by Semantic Versioning 2.0.0
// precedence (section 11): build metadata is ignored.
func CompareSemver(a, b string) (int, error) {
	sa, err := parseSemver(a)
	if err != nil {
		return 0, err
	}
	sb, err := parseSemver(b)
	if err != nil {
		return 0, err
	}
	for k := range sa.core {
		if c := compareNumeric(sa.core[k], sb.core[k]); c != 0 {
			return c, nil
		}
	}
	switch {
	case len(sa.pre) == 0 && len(sb.pre) == 0:
		return 0, nil
	case len(sa.pre) == 0:
		return 1, nil
	case len(sb.pre) == 0:
		return -1, nil
	}
	for k := 0; k < len(sa.pre) && k < len(sb.pre); k++ {
		x, y := sa.pre[k], sb.pre[k]
		nx, ny := strings.Trim(x, "0123456789") == "", strings.Trim(y, "0123456789") == ""
		var c int
		switch {
		case nx && ny:
			c = compareNumeric(x, y)
		case nx:
			c = -1
		case ny:
			c = 1
		default:
			c = sign(strings.Compare(x, y))
		}
		if c != 0 {
			return c, nil
		}
	}
	return sign(len(sa.pre) - len(sb.pre)), nil
}
