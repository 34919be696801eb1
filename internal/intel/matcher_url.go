package intel

// canonicalURL reports whether s is a URL that NormalizeURL returns
// unchanged, judged conservatively without parsing it: a lower-case scheme
// and "://", a lower-case host name or IPv4 address without user info,
// an optional port other than the scheme's default, a path, an optional
// query, and only characters that need no escaping or case change (no
// "%", "#", spaces or non-ASCII). A false answer only means the caller
// must normalise s the slow way. FuzzCanonicalURL checks the claim.
func canonicalURL(s string) bool {
	if len(s) > maxValueLen {
		return false
	}
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
		i++
	}
	if i == 0 || len(s) < i+3 || s[i:i+3] != "://" {
		return false
	}
	scheme := s[:i]
	i += 3
	host := i
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == '-' || s[i] == '_') {
		i++
	}
	if i == host {
		return false
	}
	if i < len(s) && s[i] == ':' {
		i++
		port := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == port || s[port:i] == defaultPort[scheme] {
			return false
		}
	}
	if i == len(s) || s[i] != '/' {
		return false
	}
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == '~', c == '$', c == '&', c == '+', c == ',', c == '/', c == ':', c == ';', c == '=', c == '@', c == '?':
		default:
			return false
		}
	}
	return true
}
