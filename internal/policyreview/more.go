package policyreview

import (
	"bytes"
	"context"
	"fmt"

	"github.com/vigil-sec/vigil/internal/policy"
)

// inputError is a problem with one of the optional inputs (hits, require),
// reported on that field.
type inputError struct {
	field string
	err   error
}

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// moreFindings adds to the exact analysis what needs more than the rule
// set: conflicting overlaps, logging and profile hygiene with the parser's
// observations, unused and stale rules from hit counters, and required
// statements.
func moreFindings(ctx context.Context, rs *policy.RuleSet, in Input) ([]policy.Finding, *policy.RequireReport, error) {
	var out []policy.Finding
	add := func(ds []policy.Detail) {
		for _, d := range ds {
			f := d.Finding
			if d.Evidence != nil && d.Evidence.Example != nil {
				f.Reason += " (e.g. " + exampleText(d.Evidence.Example) + ")"
			}
			out = append(out, f)
		}
	}
	cp, err := policy.Compile(ctx, rs, 0)
	if err != nil {
		return nil, nil, err
	}
	conflicts, err := cp.Conflicts(ctx)
	if err != nil {
		return nil, nil, err
	}
	add(conflicts)
	add(policy.Hygiene(rs))
	var hits *policy.Hits
	switch {
	case len(in.Hits) > 0:
		if hits, err = policy.ParseHitsCSV(bytes.NewReader(in.Hits)); err != nil {
			return nil, nil, &inputError{"hits", err}
		}
	case rs.Format == "iptables-save" && bytes.Contains(in.Config, []byte("\n[")):
		if hits, err = policy.ParseIptablesCounters(bytes.NewReader(in.Config)); err != nil {
			hits = nil // counters are optional; the rule set itself parsed
		}
	}
	if hits != nil {
		add(policy.Usage(rs, hits, policy.UsageOptions{Window: in.Window}))
	}
	var report *policy.RequireReport
	if len(in.Require) > 0 {
		reqs, err := policy.ParseRequirements(bytes.NewReader(in.Require))
		if err != nil {
			return nil, nil, &inputError{"require", err}
		}
		if report, err = cp.Check(ctx, reqs); err != nil {
			return nil, nil, err
		}
		add(report.Findings)
	}
	return out, report, nil
}

// exampleText is a flow in a few words: "tcp 10.0.0.1:40000 → 10.0.0.2:22 NEW".
func exampleText(e *policy.Example) string {
	s := fmt.Sprintf("%s %s:%d → %s:%d %s", e.Proto, e.Src, e.SrcPort, e.Dst, e.DstPort, e.State)
	if e.In != "" {
		s += " in " + e.In
	}
	if e.Out != "" {
		s += " out " + e.Out
	}
	return s
}
