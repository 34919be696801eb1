package backup

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ansiRE matches CSI and OSC escape sequences and lone two-byte escapes.
var ansiRE = regexp.MustCompile(`\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])`)

// cleanTerminal removes terminal escapes, backspace overstrikes, carriage
// returns and other control bytes, and drops invalid UTF-8.
func cleanTerminal(s string) string {
	s = ansiRE.ReplaceAllString(s, "")
	s = strings.ToValidUTF8(s, "")
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r == '\b':
			if len(out) > 0 && out[len(out)-1] != '\n' {
				_, n := utf8.DecodeLastRune(out)
				out = out[:len(out)-n]
			}
		case r == '\n' || r == '\t':
			out = append(out, byte(r))
		case r == '\r' || r == utf8.RuneError:
		case unicode.IsControl(r):
		default:
			out = utf8.AppendRune(out, r)
		}
	}
	return string(out)
}

// normalize turns the raw output of the show-config command into the
// stored text: echo and trailing prompt removed, noise lines dropped,
// trailing blanks trimmed.
func normalize(raw, command string, p *Profile) string {
	lines := strings.Split(cleanTerminal(raw), "\n")
	// Drop the echoed command line (the device echoes our input first).
	if len(lines) > 0 && strings.HasSuffix(strings.TrimSpace(lines[0]), strings.TrimSpace(command)) {
		lines = lines[1:]
	}
	// Drop the final prompt.
	if n := len(lines); n > 0 && p.prompt.MatchString(strings.TrimRight(lines[n-1], " ")) {
		lines = lines[:n-1]
	}
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if isNoise(l, p) {
			continue
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}

func isNoise(l string, p *Profile) bool {
	for _, re := range p.noise {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}
