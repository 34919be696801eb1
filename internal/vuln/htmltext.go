package vuln

import (
	"html"
	"regexp"
	"slices"
	"strings"
)

var (
	htmlBreak = regexp.MustCompile(`(?i)<br\s*/?>|</p>|</li>|</div>|</h[1-6]>|</tr>|<li[^>]*>`)
	htmlTag   = regexp.MustCompile(`<[^>]*>`)
	htmlHref  = regexp.MustCompile(`(?i)href\s*=\s*["']?(https?://[^"'\s>]+)`)
	cweNumber = regexp.MustCompile(`(?i)\bCWE-(\d{1,6})\b`)
)

// htmlToText turns the HTML fragments web scanners put in their reports
// (paragraphs, lists, links) into plain text: block ends become line
// breaks, tags are dropped, entities decoded, lines trimmed.
func htmlToText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return tidyText(s)
	}
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, "")
	return tidyText(html.UnescapeString(s))
}

// htmlLinks returns the distinct http(s) links of an HTML fragment.
func htmlLinks(s string) []string {
	var out []string
	for _, m := range htmlHref.FindAllStringSubmatch(s, -1) {
		u := html.UnescapeString(m[1])
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// cweIDs returns the distinct "CWE-n" ids named in s, in order.
func cweIDs(s string) []string {
	var out []string
	for _, m := range cweNumber.FindAllStringSubmatch(s, -1) {
		id := "CWE-" + strings.TrimLeft(m[1], "0")
		if id != "CWE-" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// severityRank orders severities, info lowest.
func severityRank(s Severity) int {
	return len(Severities()) - slices.Index(Severities(), s)
}

// maxMergedEvidence bounds the evidence a finding collects from the
// records merged into it; later records are only counted.
const maxMergedEvidence = 64 << 10

// appendEvidence adds one merged record's evidence on a new line unless
// the evidence is already at maxMergedEvidence.
func appendEvidence(ev, more string) string {
	switch {
	case more == "" || len(ev) >= maxMergedEvidence:
		return ev
	case len(ev) > maxMergedEvidence-len(more)-1:
		return ev + "\n…"
	case ev == "":
		return more
	}
	return ev + "\n" + more
}
