package notify

import (
	"strings"
	"unicode/utf8"
)

// markdownEscaper backslash-escapes the characters Markdown gives meaning
// to and turns angle brackets and ampersands into entities, so user data
// (alert titles, log lines) shows as typed in a Markdown-rendering robot.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `{`, `\{`, `}`, `\}`,
	`[`, `\[`, `]`, `\]`, `(`, `\(`, `)`, `\)`, `#`, `\#`, `+`, `\+`,
	`-`, `\-`, `.`, `\.`, `!`, `\!`, `|`, `\|`, `~`, `\~`, `>`, `&gt;`,
	`<`, `&lt;`, `&`, `&amp;`, "\r", "",
)

// EscapeMarkdown returns s with Markdown-significant characters escaped.
func EscapeMarkdown(s string) string { return markdownEscaper.Replace(s) }

// markdownOf returns the Markdown body of m, escaping the plain text when the
// message carries no Markdown rendering.
func markdownOf(m Message) string {
	if m.Markdown != "" {
		return m.Markdown
	}
	return "**" + EscapeMarkdown(m.Subject) + "**\n\n" + EscapeMarkdown(m.Text)
}

// textOf returns the plain-text body of m, with the subject on top.
func textOf(m Message) string {
	if m.Text != "" {
		return m.Subject + "\n\n" + m.Text
	}
	return m.Subject
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n < 1 {
		return ""
	}
	return string(r[:n-1]) + "…"
}
