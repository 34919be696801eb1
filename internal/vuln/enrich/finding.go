package enrich

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/vigil-sec/vigil/internal/vuln"
)

// Finding is a vuln.Finding with its threat context and priority; its JSON
// is the finding's own fields plus kev, epss, priority and priority_reason.
type Finding struct {
	vuln.Finding
	KEV            *KEVEntry  `json:"kev,omitempty"`
	EPSS           *EPSSScore `json:"epss,omitempty"`
	Priority       float64    `json:"priority"`
	PriorityReason string     `json:"priority_reason"`
}

// Enricher adds KEV, EPSS and priority to findings. KEV and EPSS may be
// nil. Importance and InternetFacing describe the asset the findings are on
// (see Factors).
type Enricher struct {
	KEV            *KEV
	EPSS           *EPSS
	Importance     int
	InternetFacing bool
}

// Enrich looks up the finding's CVEs (its CVEs list, and its RuleID when
// that is a CVE id). Of several CVEs, the KEV entry used is the first
// listed one with known ransomware use, else the first listed one; the
// EPSS score used is the highest probability. The CVSS part uses Vigil's
// computed CVSSScore, falling back to the tool's own score when the
// finding has no scoreable vector.
func (en *Enricher) Enrich(f vuln.Finding) Finding {
	out := Finding{Finding: f}
	for _, id := range findingCVEs(f) {
		if k, ok := en.KEV.Lookup(id); ok && (out.KEV == nil || (!out.KEV.Ransomware && k.Ransomware)) {
			out.KEV = &k
		}
		if s, ok := en.EPSS.Lookup(id); ok && (out.EPSS == nil || s.Probability > out.EPSS.Probability) {
			out.EPSS = &s
		}
	}
	cvss := f.CVSSScore
	if cvss == nil {
		cvss = f.CVSS4Score
	}
	if cvss == nil {
		cvss = f.ToolScore
	}
	out.Priority, out.PriorityReason = Priority(Factors{
		CVSS:           cvss,
		KEV:            out.KEV,
		EPSS:           out.EPSS,
		Importance:     en.Importance,
		InternetFacing: en.InternetFacing,
	})
	return out
}

func findingCVEs(f vuln.Finding) []string {
	ids := make([]string, 0, len(f.CVEs)+1)
	ids = append(ids, f.CVEs...)
	if r := NormalizeCVE(f.RuleID); ValidCVE(r) {
		ids = append(ids, r)
	}
	return ids
}

// MaxLineBytes bounds one JSON line read by Stream.
const MaxLineBytes = 16 << 20

// Stream reads findings as JSON lines (the output of "vigil vuln parse"),
// enriches each and writes it as a JSON line. Blank lines are skipped. It
// returns the number of findings written; an invalid line stops it with an
// error naming the line.
func (en *Enricher) Stream(ctx context.Context, r io.Reader, w io.Writer) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	line, n := 0, 0
	for sc.Scan() {
		line++
		if err := ctx.Err(); err != nil {
			return n, err
		}
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var f vuln.Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		out := en.Enrich(f)
		if err := enc.Encode(&out); err != nil {
			return n, fmt.Errorf("line %d: writing: %w", line, err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("line %d: %w", line+1, err)
	}
	return n, nil
}
