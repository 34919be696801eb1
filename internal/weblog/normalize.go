package weblog

import (
	"strings"
	"unicode/utf8"
)

// decodeOnce undoes one layer of URL encoding (%HH, %uHHHH, "+"), reporting
// whether anything changed.
func decodeOnce(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
			changed = true
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			changed = true
		case c == '%' && i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') && ishex(s[i+2]) && ishex(s[i+3]) && ishex(s[i+4]) && ishex(s[i+5]):
			r := rune(unhex(s[i+2]))<<12 | rune(unhex(s[i+3]))<<8 | rune(unhex(s[i+4]))<<4 | rune(unhex(s[i+5]))
			b.WriteRune(foldWide(r))
			i += 5
			changed = true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), changed
}

// foldWide maps full-width and a few look-alike runes used for evasion onto
// ASCII.
func foldWide(r rune) rune {
	switch {
	case r >= 0xff01 && r <= 0xff5e:
		return r - 0xff01 + '!'
	case r == 0x2215 || r == 0x2044:
		return '/'
	case r == 0x2216:
		return '\\'
	}
	return r
}

// overlong maps the overlong UTF-8 encodings of "." "/" "\" that old IIS
// and Tomcat traversal exploits use.
var overlong = strings.NewReplacer(
	"\xc0\xae", ".", "\xc0\xaf", "/", "\xc1\x9c", "\\", "\xc1\x1c", "/", "\xe0\x80\xae", ".",
	"0x2e", ".", "0x2f", "/", "0x5c", "\\",
	"&#46;", ".", "&#x2e;", ".", "&#47;", "/", "&#x2f;", "/", "&#92;", "\\", "&#x5c;", "\\",
	"&lt;", "<", "&gt;", ">", "&quot;", "\"", "&#39;", "'", "&#x27;", "'", "&apos;", "'", "&amp;", "&",
)

// normalize fully decodes s (up to four URL-decoding layers, hex-literal
// and overlong encodings, HTML entities), lower-cases it and turns "\"
// into "/".
func normalize(s string) string {
	for range 4 {
		var changed bool
		if s, changed = decodeOnce(s); !changed {
			break
		}
	}
	s = strings.ToLower(s)
	s = overlong.Replace(s)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	return strings.ReplaceAll(s, "\\", "/")
}

// suspiciousURI is the cheap prefilter: true when the normalised text holds
// a character or keyword that any payload rule needs. Only such requests
// reach the (slow) CRS evaluation.
func suspiciousText(n string) bool {
	if strings.ContainsAny(n, "'\"<>;|`$(){}[]*!\x00\n\r\t") || strings.Contains(n, "..") || strings.Contains(n, "/./") || strings.Contains(n, "///") || strings.Contains(n, "--") || strings.Contains(n, "%") {
		return true
	}
	for _, kw := range prefilterKeywords {
		if strings.Contains(n, kw) {
			return true
		}
	}
	return false
}

// prefilterKeywords are words without special characters that still
// carry attacks (e.g. "1 or 1=1", "etc/passwd", "union select").
var prefilterKeywords = []string{
	"select", "union", "insert", "sleep", "benchmark", "waitfor", "delay", " or ", " and ", "order by", "having",
	"script", "javascript", "vbscript", "onerror", "onload", "onmouse", "alert", "eval", "expression",
	"passwd", "shadow", "win.ini", "boot.ini", "system32", "web-inf", "meta-inf", "/proc/", "/etc/", "/bin/", "/usr/",
	"cmd", "exec", "wget", "curl", "whoami", "uname", "netstat", "dir ", "jndi", "ldap:", "rmi:", "file:", "php:", "data:", "expect:",
	"base64", "0x", "char", "concat", "xp_", "information_schema", "sysobjects", "null", "drop ", "delete ", "update ",
	".ht", ".git", ".env", ".bak", "phpinfo", "://", "ping ", "ping.exe", "inetpub", "wwwroot", ".asa", "& ", "web.xml",
}

// suspiciousUA is the prefilter for header values that normally hold
// parentheses and semicolons (User-Agent).
func suspiciousUA(n string) bool {
	if strings.ContainsAny(n, "'\"<>`$|{}\x00") {
		return true
	}
	for _, kw := range []string{"select", "union", "sleep(", "script", "jndi", "passwd", "/bin/", "eval(", "() {", "base64"} {
		if strings.Contains(n, kw) {
			return true
		}
	}
	return false
}
