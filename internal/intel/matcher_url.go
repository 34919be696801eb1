package intel

import "strings"

// The matcher normalises the URLs and e-mail addresses of events into a
// buffer on the stack, without building strings, for the values whose
// normal form it can tell for sure by scanning them once. Other values
// (user info, IPv6 hosts, non-ASCII, spaces, quoted local parts, …) go
// through Normalize. FuzzAppendURL and FuzzAppendEmail check that both
// ways give the same answer.

// appendURL appends the normal form of URL s, as NormalizeURL gives it,
// to dst. It answers for URLs of printable ASCII without spaces: a scheme
// followed by "://", a host of letters, digits, '.', '-' and '_' without
// user info, an optional port, a path of characters that url.Parse keeps
// as they are with well-formed percent escapes, any query, and a fragment
// without '%'. ok false means the caller must use NormalizeURL; it is not
// a verdict on s. dst must have room for len(s)+1 bytes, or appendURL
// answers false rather than growing it. Each part of s is read once, by
// the loop that copies it.
func appendURL(dst []byte, s string) (out []byte, ok bool) {
	s = strings.TrimSpace(s)
	if len(s) > maxValueLen || cap(dst)-len(dst) < len(s)+1 {
		return dst, false
	}
	// url.Parse cuts the fragment off first; a fragment with an invalid
	// escape fails the whole URL, so one with '%' is left to it.
	if j := strings.IndexByte(s, '#'); j >= 0 {
		for _, c := range []byte(s[j:]) {
			if c <= ' ' || c >= 0x7f || c == '%' {
				return dst, false
			}
		}
		s = s[:j]
	}
	start := len(dst)
	// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), lower-cased.
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		} else if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			break
		}
		dst = append(dst, c)
	}
	if i == 0 || len(s) < i+3 || s[i:i+3] != "://" {
		return dst[:start], false
	}
	scheme := dst[start:]
	dst = append(dst, "://"...)
	i += 3
	// host [":" port], up to the path or the query, lower-cased.
	host := i
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		} else if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			break
		}
		dst = append(dst, c)
	}
	if i == host {
		return dst[:start], false
	}
	if i < len(s) && s[i] == ':' {
		i++
		port := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if p := s[port:i]; p != "" && p != defaultPort[string(scheme)] {
			dst = append(dst, ':')
			dst = append(dst, p...)
		}
	}
	if i < len(s) && s[i] != '/' && s[i] != '?' {
		return dst[:start], false
	}
	// path: the characters for which EscapedPath gives the path as it was
	// written, escapes decoded or upper-cased as normalizeEscapes does.
	path := i
	for ; i < len(s) && s[i] != '?'; i++ {
		switch c := s[i]; {
		case pathChars[c]:
		case c == '%':
			if i+2 >= len(s) || !isHexDigit(s[i+1]) || !isHexDigit(s[i+2]) {
				return dst[:start], false
			}
		default:
			return dst[:start], false
		}
	}
	if i == path {
		dst = append(dst, '/')
	} else {
		dst = appendEscapes(dst, s[path:i])
	}
	if i < len(s) { // s[i] == '?': the query is kept as written
		q := s[i+1:]
		for _, c := range []byte(q) {
			if c <= ' ' || c >= 0x7f {
				return dst[:start], false
			}
		}
		dst = append(dst, '?')
		dst = appendEscapes(dst, q)
	}
	if len(dst)-start > maxValueLen {
		return dst[:start], false
	}
	return dst, true
}

// pathChars are the characters that url.URL.EscapedPath keeps as they are
// written (with '%' for escapes, checked apart).
var pathChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlpha(byte(c)) || c >= '0' && c <= '9' || strings.IndexByte("-_.~!$&'()*+,;=:@[]/", byte(c)) >= 0
	}
	return t
}()

// appendEscapes is normalizeEscapes appending to dst: percent-encoded
// unreserved characters decoded, other escapes upper-cased, a '%' that
// starts no escape kept.
func appendEscapes(dst []byte, s string) []byte {
	if strings.IndexByte(s, '%') < 0 {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]) {
			v := hexVal(s[i+1])<<4 | hexVal(s[i+2])
			if isAlpha(v) || v >= '0' && v <= '9' || v == '-' || v == '.' || v == '_' || v == '~' {
				dst = append(dst, v)
			} else {
				dst = append(dst, '%', upperHex(s[i+1]), upperHex(s[i+2]))
			}
			i += 2
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendEmail appends the normal form of e-mail address s, as Normalize
// gives it, to dst, for the plain addresses whose form it can tell: one
// '@' between two dot-atoms of ASCII characters (net/mail reads those as
// the address itself, with no name), lower-cased. ok false means the
// caller must use Normalize.
func appendEmail(dst []byte, s string) (out []byte, ok bool) {
	s = strings.TrimSpace(s)
	at := strings.IndexByte(s, '@')
	if at < 0 || cap(dst)-len(dst) < len(s) || !dotAtom(s[:at]) || !dotAtom(s[at+1:]) {
		return dst, false
	}
	return appendLower(dst, s), true
}

// dotAtom reports whether s is an RFC 5322 dot-atom of ASCII characters:
// atext characters, with dots only between them.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>[]:;@\,"`, c) >= 0 {
			return false
		}
	}
	return true
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isHexDigit(c byte) bool {
	_, _, ok := fromHex(c)
	return ok
}

func hexVal(c byte) byte {
	v, _, _ := fromHex(c)
	return v
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}
