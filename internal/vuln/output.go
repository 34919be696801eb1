package vuln

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSONLines writes one JSON object per finding.
func WriteJSONLines(w io.Writer, fs []Finding) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range fs {
		if err := enc.Encode(&fs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Summary returns a one-line count of findings by severity, most severe
// first, e.g. "12 findings: critical 1, high 3, medium 8, low 0, info 0".
func Summary(fs []Finding) string {
	counts := map[Severity]int{}
	for _, f := range fs {
		counts[f.Severity]++
	}
	parts := make([]string, 0, 5)
	for _, s := range Severities() {
		parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
	}
	noun := "findings"
	if len(fs) == 1 {
		noun = "finding"
	}
	return fmt.Sprintf("%d %s: %s", len(fs), noun, strings.Join(parts, ", "))
}
