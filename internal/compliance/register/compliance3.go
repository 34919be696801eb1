package register

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/compliance/risk"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// EntryEdit is the whole editable state of one risk register entry (a
// scenario): which threat and vulnerability it pairs, the asset the
// vulnerability lies on, the likelihood inputs (threat frequency T and
// vulnerability severity V), the impact values C/I/A of the asset and the
// treatment decision. Frequency, severity and C/I/A belong to the threat,
// vulnerability and asset, so they change for every entry sharing them.
// The risk itself (L, F, R, level) is always recomputed by the engine.
type EntryEdit struct {
	Threat        string
	Vulnerability string
	Asset         string
	Frequency     int // T, 1-5
	Severity      int // V, 1-5
	C, I, A       int // 1-5
	// Treatment "" removes the decision; Owner, Due and Measure go with it.
	Treatment risk.Treatment
	Owner     string
	Due       time.Time
	Measure   string
}

// checkValue checks a 1-5 value of an entry.
func checkValue(field string, v int) error {
	if v < 1 || v > 5 {
		return invalid(field, store.CodeOutOfRange, map[string]any{"min": 1, "max": 5}, "%s must be between 1 and 5", field)
	}
	return nil
}

// EditEntry changes one register entry of a risk assessment read at
// version (a stale version is store.ErrConflict) and returns the register
// the engine recomputed. An edit the engine refuses stores nothing.
func (s *Service) EditEntry(ctx context.Context, tenantID, id string, version int, scenario string, e EntryEdit) (*Register, error) {
	e.Threat, e.Vulnerability, e.Asset = strings.TrimSpace(e.Threat), strings.TrimSpace(e.Vulnerability), strings.TrimSpace(e.Asset)
	e.Owner, e.Measure = strings.TrimSpace(e.Owner), strings.TrimSpace(e.Measure)
	for _, f := range []struct {
		name string
		v    int
	}{{"frequency", e.Frequency}, {"severity", e.Severity}, {"c", e.C}, {"i", e.I}, {"a", e.A}} {
		if err := checkValue(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if e.Treatment != "" && !slices.Contains(Treatments(), string(e.Treatment)) {
		return nil, invalid("treatment", store.CodeOneOf, map[string]any{"allowed": Treatments()}, "the treatment must be reduce, transfer, avoid or accept")
	}
	if e.Treatment == "" && (e.Owner != "" || e.Measure != "" || !e.Due.IsZero()) {
		return nil, invalid("treatment", store.CodeRequired, nil, "an owner, due date or measure needs a treatment")
	}
	for _, f := range []struct{ name, v string }{{"owner", e.Owner}, {"measure", e.Measure}} {
		if err := checkText(f.name, f.v, MaxText, false, true); err != nil {
			return nil, err
		}
	}
	detail := map[string]any{"scenario": scenario, "threat": e.Threat, "vulnerability": e.Vulnerability, "asset": e.Asset,
		"frequency": e.Frequency, "severity": e.Severity, "c": e.C, "i": e.I, "a": e.A, "treatment": e.Treatment, "owner": e.Owner}
	return s.edit(ctx, tenantID, id, version, "risk.entry", detail, func(as *risk.Assessment) error {
		si := slices.IndexFunc(as.Scenarios, func(x risk.Scenario) bool { return x.ID == scenario })
		if si < 0 {
			return invalid("scenario", store.CodeOneOf, nil, "no entry %q in this assessment", report.Shorten(scenario, 64))
		}
		ti := slices.IndexFunc(as.Threats, func(x risk.Threat) bool { return x.ID == e.Threat })
		if ti < 0 {
			return invalid("threat", store.CodeOneOf, nil, "no threat %q in this assessment", report.Shorten(e.Threat, 64))
		}
		vi := slices.IndexFunc(as.Vulnerabilities, func(x risk.Vulnerability) bool { return x.ID == e.Vulnerability })
		if vi < 0 {
			return invalid("vulnerability", store.CodeOneOf, nil, "no vulnerability %q in this assessment", report.Shorten(e.Vulnerability, 64))
		}
		if e.Asset == "" {
			e.Asset = as.Vulnerabilities[vi].Asset
		}
		ai := slices.IndexFunc(as.Assets, func(x risk.Asset) bool { return x.ID == e.Asset })
		if ai < 0 {
			return invalid("asset", store.CodeOneOf, nil, "no asset %q in this assessment", report.Shorten(e.Asset, 64))
		}
		if as.Assets[ai].Tier == risk.TierBusiness {
			return invalid("asset", store.CodeOneOf, nil, "a vulnerability lies on a system asset or a component, not on a business asset")
		}
		as.Scenarios[si].Threat, as.Scenarios[si].Vulnerability = e.Threat, e.Vulnerability
		as.Threats[ti].Frequency = e.Frequency
		as.Vulnerabilities[vi].Asset, as.Vulnerabilities[vi].Severity = e.Asset, e.Severity
		as.Assets[ai].C, as.Assets[ai].I, as.Assets[ai].A = e.C, e.I, e.A
		as.Decisions = slices.DeleteFunc(as.Decisions, func(x risk.Decision) bool { return x.Scenario == scenario })
		if e.Treatment != "" {
			d := risk.Decision{Scenario: scenario, Treatment: e.Treatment, Owner: e.Owner, Measure: e.Measure}
			if !e.Due.IsZero() {
				d.Due = e.Due.UTC()
			}
			as.Decisions = append(as.Decisions, d)
		}
		return nil
	})
}
