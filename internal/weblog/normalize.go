package weblog

import (
	"strings"
	"unicode/utf8"
)

// maxDecodeLayers bounds how many times the decoders are applied to one
// value: enough for double and triple encodings, bounded for hostile input.
const maxDecodeLayers = 4

// The normalisation pipeline mirrors the CRS transformations
// (t:urlDecodeUni, t:htmlEntityDecode, t:escapeSeqDecode, t:utf8toUnicode,
// t:lowercase, t:normalizePath...) so that the signatures see one canonical
// text whatever encoding an attacker chose:
//
//  1. up to maxDecodeLayers rounds of URL decoding (%HH, %uHHHH, "+"),
//     HTML entity decoding (&#NN; &#xHH; with or without ";", named
//     entities), C/JavaScript escape decoding (\xHH, \uHHHH, \u{H..}) and
//     overlong UTF-8 decoding (%c0%ae, %e0%80%ae, the IIS %c1%1c), until a
//     round changes nothing;
//  2. invalid UTF-8 replaced;
//  3. lower case, full-width and look-alike slashes folded to ASCII, the hex
//     literals 0x2e 0x2f 0x5c turned into "." "/" "\";
//  4. for the path view, "\" turned into "/"; for the shell view, quoting,
//     escaping and $IFS tricks removed (see shellView).

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

// entityDecode undoes HTML character references: numeric ones in decimal
// or hex with any number of leading zeros and an optional ";" (browsers
// accept both), and the named entities of characters that matter to
// injections (the ";" is required there, so "&lt=1" in a query string
// stays a parameter).
func entityDecode(s string) (string, bool) {
	if strings.IndexByte(s, '&') < 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	changed := false
	for i := 0; i < len(s); i++ {
		if s[i] != '&' {
			b.WriteByte(s[i])
			continue
		}
		if r, n := entityAt(s[i:]); n > 0 {
			b.WriteRune(foldWide(r))
			i += n - 1
			changed = true
			continue
		}
		b.WriteByte('&')
	}
	return b.String(), changed
}

// entityAt decodes the character reference at the start of s ("&...")
// and returns it with its length, or a zero length.
func entityAt(s string) (rune, int) {
	if len(s) > 2 && s[1] == '#' {
		j, base := 2, rune(10)
		if s[j]|0x20 == 'x' {
			j, base = 3, 16
		}
		start := j
		for j < len(s) && s[j] == '0' && j-start < 64 {
			j++
		}
		var v rune
		for n := 0; j < len(s) && n < 8; n++ {
			d := digitValue(s[j], base)
			if d < 0 {
				break
			}
			v = v*base + d
			j++
		}
		if j == start {
			return 0, 0
		}
		if j < len(s) && s[j] == ';' {
			j++
		}
		if v > utf8.MaxRune {
			v = utf8.RuneError
		}
		return v, j
	}
	j := 1
	for j < len(s) && j <= 16 && (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') {
		j++
	}
	if j < len(s) && s[j] == ';' {
		if r := namedEntity(strings.ToLower(s[1:j])); r != 0 {
			return r, j + 1
		}
	}
	return 0, 0
}

// digitValue is the value of the digit c in base 10 or 16, or -1.
func digitValue(c byte, base rune) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case base == 16 && ishex(c):
		return rune(unhex(c))
	}
	return -1
}

// namedEntity maps the HTML named references of ASCII punctuation and
// white space (the ones that build markup, paths and commands).
func namedEntity(name string) rune {
	switch name {
	case "lt":
		return '<'
	case "gt":
		return '>'
	case "quot":
		return '"'
	case "apos":
		return '\''
	case "amp":
		return '&'
	case "sol":
		return '/'
	case "bsol":
		return '\\'
	case "period":
		return '.'
	case "colon":
		return ':'
	case "semi":
		return ';'
	case "lpar":
		return '('
	case "rpar":
		return ')'
	case "lsqb", "lbrack":
		return '['
	case "rsqb", "rbrack":
		return ']'
	case "lcub", "lbrace":
		return '{'
	case "rcub", "rbrace":
		return '}'
	case "equals":
		return '='
	case "excl":
		return '!'
	case "num":
		return '#'
	case "dollar":
		return '$'
	case "percnt":
		return '%'
	case "plus":
		return '+'
	case "comma":
		return ','
	case "verbar", "vert":
		return '|'
	case "grave":
		return '`'
	case "tab":
		return '\t'
	case "newline":
		return '\n'
	case "nbsp":
		return ' '
	case "ast", "midast":
		return '*'
	case "quest":
		return '?'
	case "commat":
		return '@'
	case "hat":
		return '^'
	case "lowbar":
		return '_'
	case "tilde":
		return '~'
	}
	return 0
}

// escapeDecode undoes C and JavaScript escapes: \xHH, \uHHHH and \u{H...}.
func escapeDecode(s string) (string, bool) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch n := s[i+1]; {
		case (n == 'x' || n == 'X') && i+3 < len(s) && ishex(s[i+2]) && ishex(s[i+3]):
			b.WriteByte(unhex(s[i+2])<<4 | unhex(s[i+3]))
			i += 3
			changed = true
		case (n == 'u' || n == 'U') && i+5 < len(s) && ishex(s[i+2]) && ishex(s[i+3]) && ishex(s[i+4]) && ishex(s[i+5]):
			r := rune(unhex(s[i+2]))<<12 | rune(unhex(s[i+3]))<<8 | rune(unhex(s[i+4]))<<4 | rune(unhex(s[i+5]))
			b.WriteRune(foldWide(r))
			i += 5
			changed = true
		case (n == 'u' || n == 'U') && i+3 < len(s) && s[i+2] == '{':
			j, v := i+3, rune(0)
			for j < len(s) && j < i+3+6 && ishex(s[j]) {
				v = v<<4 | rune(unhex(s[j]))
				j++
			}
			if j > i+3 && j < len(s) && s[j] == '}' {
				b.WriteRune(foldWide(v))
				i = j
				changed = true
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), changed
}

// overlongDecode maps overlong UTF-8 sequences (never valid, used to hide
// "." "/" "\" from path checks) onto the ASCII character they spell:
// two-byte C0/C1 xx (including the lax IIS reading of %c1%1c and
// %c0%2e), three-byte E0 xx xx other than a valid E0 A0-BF xx (so also
// %e0%40%ae) and four-byte F0 80-8F xx xx.
func overlongDecode(s string) (string, bool) {
	if !hasOverlongLead(s) {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case (c == 0xc0 || c == 0xc1) && i+1 < len(s):
			b.WriteByte((c&1)<<6 | s[i+1]&0x3f)
			i++
			changed = true
		case c == 0xe0 && i+2 < len(s) && (s[i+1] < 0xa0 || s[i+1] > 0xbf):
			// Valid E0 sequences continue with A0-BF; anything else is
			// overlong (E0 80-9F xx) or the lax reading of E0 40 AE.
			b.WriteRune(rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f))
			i += 2
			changed = true
		case c == 0xf0 && i+3 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x8f && s[i+2]&0xc0 == 0x80 && s[i+3]&0xc0 == 0x80:
			b.WriteRune(rune(s[i+1]&0x3f)<<12 | rune(s[i+2]&0x3f)<<6 | rune(s[i+3]&0x3f))
			i += 3
			changed = true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), changed
}

// hasOverlongLead reports a byte that can start an overlong sequence.
func hasOverlongLead(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0xc0 || c == 0xc1 || c == 0xe0 || c == 0xf0 {
			return true
		}
	}
	return false
}

// foldWide maps full-width and a few look-alike runes used for evasion onto
// ASCII.
func foldWide(r rune) rune {
	switch {
	case r >= 0xff01 && r <= 0xff5e:
		return r - 0xff01 + '!'
	case r == 0x2215 || r == 0x2044 || r == 0x29f8:
		return '/'
	case r == 0x2216 || r == 0xfe68 || r == 0x29f9:
		return '\\'
	case r == 0x2024 || r == 0xfe52:
		return '.'
	case r == 0x2039 || r == 0x3008 || r == 0xfe64:
		return '<'
	case r == 0x203a || r == 0x3009 || r == 0xfe65:
		return '>'
	}
	return r
}

// foldWideText applies foldWide to decoded UTF-8 text.
func foldWideText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	return strings.Map(foldWide, s)
}

// hexLiterals maps the 0xHH spellings of "." "/" "\" that traversal
// payloads use.
var hexLiterals = strings.NewReplacer("0x2e", ".", "0x2f", "/", "0x5c", "\\")

// decode runs the decoding rounds and the case and look-alike folding
// (steps 1-3 of the pipeline) and returns the canonical lower-case text.
func decode(s string) string {
	for range maxDecodeLayers {
		var c1, c2, c3, c4 bool
		s, c1 = decodeOnce(s)
		s, c2 = entityDecode(s)
		s, c3 = escapeDecode(s)
		s, c4 = overlongDecode(s)
		if !c1 && !c2 && !c3 && !c4 {
			break
		}
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	s = strings.ToLower(foldWideText(s))
	if strings.Contains(s, "0x") {
		s = hexLiterals.Replace(s)
	}
	return s
}

// normalize fully decodes s (see decode) and turns "\" into "/": the path
// view every signature and prefilter works on.
func normalize(s string) string {
	return pathView(decode(s))
}

// pathView turns Windows separators into "/".
func pathView(dec string) string {
	return strings.ReplaceAll(dec, "\\", "/")
}

// shellNoise are the shell constructs that change nothing for the shell
// but split a command name for a pattern: quotes and escapes inside words
// (c'a't, c\at), empty positional parameters ($@, $1) and the field
// separator variable used instead of a space ($IFS, ${IFS}).
var shellNoise = strings.NewReplacer(
	"${ifs}", " ", "$ifs", " ", "${@}", "", "${*}", "", "$@", "", "$*", "",
	"$0", "", "$1", "", "$2", "", "$3", "", "$4", "", "$5", "", "$6", "", "$7", "", "$8", "", "$9", "",
	"\\", "", "'", "", "\"", "", "\x00", "",
)

// shellView is the decoded text as a shell would read the words of a
// command: see shellNoise. It returns dec itself when nothing applies.
func shellView(dec string) string {
	if !strings.ContainsAny(dec, "$\\'\"\x00") {
		return dec
	}
	return shellNoise.Replace(dec)
}

// suspiciousText is the cheap prefilter: true when the normalised text holds
// a character or keyword that any payload rule needs. Only such requests
// reach the (slow) CRS evaluation.
func suspiciousText(n string) bool {
	if strings.ContainsAny(n, "'\"<>;|`$(){}[]*!\x00\n\r\t") || strings.Contains(n, "..") || strings.Contains(n, "/./") || strings.Contains(n, "///") || strings.Contains(n, "--") || strings.Contains(n, "%") || strings.Contains(n, "?/") {
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
