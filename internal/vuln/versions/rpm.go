package versions

import "strings"

// CompareRPM orders two RPM [epoch:]version[-release] strings as rpm
// does: epochs (missing = 0), then versions with Rpmvercmp, then releases
// — only when both have one.
func CompareRPM(a, b string) int {
	ea, va, ra := splitEVR(a)
	eb, vb, rb := splitEVR(b)
	if c := Rpmvercmp(ea, eb); c != 0 {
		return c
	}
	if c := Rpmvercmp(va, vb); c != 0 {
		return c
	}
	if ra != "" && rb != "" {
		return Rpmvercmp(ra, rb)
	}
	return 0
}

func splitEVR(s string) (epoch, version, release string) {
	epoch = "0"
	if e, rest, ok := strings.Cut(s, ":"); ok && e != "" && strings.Trim(e, "0123456789") == "" {
		epoch, s = e, rest
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		return epoch, s[:i], s[i+1:]
	}
	return epoch, s, ""
}

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// Rpmvercmp is rpm's segment comparison of one version or release
// string: segments are runs of digits or of letters, separators are
// ignored, "~" sorts before everything (even the end) and "^" after the
// end but before any other segment; a numeric segment is newer than an
// alphabetic one.
func Rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isAlnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isAlnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		at, bt := i < len(a) && a[i] == '~', j < len(b) && b[j] == '~'
		if at || bt {
			if !at {
				return 1
			}
			if !bt {
				return -1
			}
			i++
			j++
			continue
		}
		ac, bc := i < len(a) && a[i] == '^', j < len(b) && b[j] == '^'
		if ac || bc {
			switch {
			case i >= len(a):
				return -1
			case j >= len(b):
				return 1
			case !ac:
				return 1
			case !bc:
				return -1
			}
			i++
			j++
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		si, sj := i, j
		num := isDigit(a[i])
		if num {
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
		} else {
			for i < len(a) && isAlpha(a[i]) {
				i++
			}
			for j < len(b) && isAlpha(b[j]) {
				j++
			}
		}
		if j == sj { // segments of different kinds: numeric is newer
			if num {
				return 1
			}
			return -1
		}
		var c int
		if num {
			c = compareNumeric(a[si:i], b[sj:j])
		} else {
			c = sign(strings.Compare(a[si:i], b[sj:j]))
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case i >= len(a) && j >= len(b):
		return 0
	case i < len(a):
		return 1
	}
	return -1
}
